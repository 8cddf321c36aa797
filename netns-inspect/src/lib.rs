//! `netns-inspect [--json] [NAME|PID|PATH...]`: every network namespace
//! on the host, named or not, and what keeps each alive. No `ip netns`
//! verb does this; lsns(8) knows only namespaces with a process in them.

use std::borrow::Cow;
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;

use netns_cli::{JsonArray, Parsed, Place, Ui, Value, json};
use netns_core::quote::{InQuotes, quote};
use netns_core::rootless::Keeper;
use netns_core::{Found, Name, Netns, RunDir};

pub const USAGE: &str = concat!(
    "\
Usage: netns-inspect [OPTIONS] [NAME|PID|PATH...]

Print every network namespace on the host, named or not, and what keeps
it alive: the processes in it, the bind mounts of it (in every mount
namespace a process is in), the descriptors open on it, and its names in
the run dir; with its nsid here and its network devices. A namespace with
no name and no process, only a mount or a descriptor, is one that `ip
netns` and lsns do not show: a leak, as often as not.

With arguments, only their namespaces, in the order given: a NAME in the
run dir, a PID (its namespace), or a PATH (anything with a /, such as
/var/run/docker/netns/ID). An argument that is none of these is reported
and the others are still printed (exit 1).

One line a namespace, ascending by inode, fields left out when empty:
  net:[INODE] [current] [nsid=N] [names=A,B] [processes=PID:COMM,...]
      [mounts=PATH,PATH@PID,...] [fds=PID:FD,...] [devices=DEV,...]
`current` marks the caller's own namespace; PATH@PID is a mount seen only
in the mount namespace of process PID. An item with a space or a comma,
or that needs quoting, is quoted as git quotes paths.

Options:
",
    netns_cli::place_help!(),
    "  -j, --json         print a JSON array, an object a namespace:
                     {\"ns\":INODE,\"names\":[..],\"nsid\":N,\"current\":BOOL,
                     \"processes\":[{\"pid\":N,\"comm\":\"..\"}],
                     \"mounts\":[{\"path\":\"..\",\"pid\":N}],
                     \"fds\":[{\"pid\":N,\"fd\":N}],\"devices\":[..]}
                     (\"nsid\" and a mount's \"pid\" only when there is one)
  -h, --help         print this help
  -V, --version      print the version
"
);

pub struct Args {
    place: Place,
    json: bool,
    wanted: Vec<OsString>,
}

pub fn run(args: Vec<OsString>) -> ExitCode {
    netns_cli::run("netns-inspect", USAGE, args, parse, execute)
}

fn parse(args: Vec<OsString>) -> Result<Parsed<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut place = Place::default();
    let mut json = false;
    let mut wanted = Vec::new();
    let mut parser = lexopt::Parser::from_iter(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("run-dir") => place.run_dir = Some(parser.value()?.into()),
            Long("rootless") => place.rootless = true,
            Short('j') | Long("json") => json = true,
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            Value(value) => wanted.push(value),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Parsed::Run(Args {
        place,
        json,
        wanted,
    }))
}

fn execute(args: &Args, ui: &mut Ui) -> std::io::Result<()> {
    let Some(here) = args.place.enter(ui, Keeper::IfRunning) else {
        return Ok(());
    };
    // The arguments' namespaces, held open through the scan (the scan
    // leaves this process's own descriptors out).
    let mut wanted = Vec::new();
    for arg in &args.wanted {
        if let Some(ns) = ui.ok(open(&here.run_dir, arg)) {
            wanted.push(ns);
        }
    }
    let Some(found) = ui.ok(netns_core::inspect(&here.run_dir)) else {
        return Ok(());
    };
    let chosen: Vec<Cow<'_, Found>> = match args.wanted.is_empty() {
        true => found.iter().map(Cow::Borrowed).collect(),
        // One the scan missed (its last holder went meanwhile) is held
        // here, and printed with what is known.
        false => wanted
            .iter()
            .map(|ns| match found.iter().find(|f| f.inode == ns.id().inode) {
                Some(f) => Cow::Borrowed(f),
                None => Cow::Owned(Found {
                    inode: ns.id().inode,
                    ..Found::default()
                }),
            })
            .collect(),
    };
    match args.json {
        true => {
            let mut array = JsonArray::default();
            for f in chosen {
                let fields = fields(ui, &f);
                array.push(ui.out(), &fields);
            }
            array.finish(ui.out())
        }
        false => chosen.iter().try_for_each(|f| line(ui.out(), f)),
    }
}

/// An argument's namespace: a PID (digits), a PATH (with a /), else a
/// name in the run dir.
fn open(run_dir: &RunDir, arg: &OsString) -> netns_core::Result<Netns> {
    let bytes = arg.as_bytes();
    if !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit) {
        let pid = arg
            .to_str()
            .and_then(|p| p.parse().ok())
            .unwrap_or(u32::MAX);
        return Netns::of_process(pid);
    }
    if bytes.contains(&b'/') {
        return Netns::open_path(&PathBuf::from(arg));
    }
    Netns::open(run_dir, &Name::new(arg.clone())?)
}

/// One namespace as a line: see the usage.
fn line(out: &mut impl Write, f: &Found) -> std::io::Result<()> {
    write!(out, "net:[{}]", f.inode)?;
    if f.current {
        write!(out, " current")?;
    }
    if let Some(nsid) = f.nsid {
        write!(out, " nsid={nsid}")?;
    }
    let names = f.names.iter().map(|n| item(n.as_os_str().as_bytes()));
    let processes = f
        .processes
        .iter()
        .map(|(pid, comm)| format!("{pid}:{}", item(comm.as_bytes())).into());
    let mounts = f.mounts.iter().map(|(path, pid)| {
        let path = item(path.as_os_str().as_bytes());
        match pid {
            None => path,
            Some(pid) => format!("{path}@{pid}").into(),
        }
    });
    let fds = f.fds.iter().map(|(pid, fd)| format!("{pid}:{fd}").into());
    let devices = f.devices.iter().map(|d| item(d.as_bytes()));
    let lists: [(&str, Vec<Cow<'_, str>>); 5] = [
        ("names", names.collect()),
        ("processes", processes.collect()),
        ("mounts", mounts.collect()),
        ("fds", fds.collect()),
        ("devices", devices.collect()),
    ];
    for (key, items) in lists.iter().filter(|(_, items)| !items.is_empty()) {
        write!(out, " {key}={}", items.join(","))?;
    }
    writeln!(out)
}

/// One item of a list: as it is, or quoted when it needs it, or when it
/// holds a space or a comma (which end fields and items).
fn item(bytes: &[u8]) -> Cow<'_, str> {
    match quote(bytes) {
        Cow::Borrowed(text) if text.contains([' ', ',']) => InQuotes(bytes)
            .to_string()
            .replace(' ', "\\040")
            .replace(',', "\\054")
            .into(),
        quoted => quoted,
    }
}

/// One namespace as JSON, in the usage's key order.
fn fields(ui: &mut Ui, f: &Found) -> Vec<(&'static str, Value)> {
    let lossy = |bytes: &[u8]| Value::from(String::from_utf8_lossy(bytes));
    let names: Vec<Value> = f
        .names
        .iter()
        .map(|n| netns_cli::json_name(ui, n))
        .collect();
    let mut fields = vec![("ns", json!(f.inode)), ("names", json!(names))];
    fields.extend(f.nsid.map(|nsid| ("nsid", json!(nsid))));
    let processes: Vec<Value> = f
        .processes
        .iter()
        .map(|(pid, comm)| json!({"pid": pid, "comm": lossy(comm.as_bytes())}))
        .collect();
    let mounts: Vec<Value> = f
        .mounts
        .iter()
        .map(|(path, pid)| match pid {
            None => json!({"path": lossy(path.as_os_str().as_bytes())}),
            Some(pid) => json!({"path": lossy(path.as_os_str().as_bytes()), "pid": pid}),
        })
        .collect();
    let fds: Vec<Value> = f
        .fds
        .iter()
        .map(|(pid, fd)| json!({"pid": pid, "fd": fd}))
        .collect();
    let devices: Vec<Value> = f.devices.iter().map(|d| lossy(d.as_bytes())).collect();
    fields.extend([
        ("current", json!(f.current)),
        ("processes", json!(processes)),
        ("mounts", json!(mounts)),
        ("fds", json!(fds)),
        ("devices", json!(devices)),
    ]);
    fields
}
