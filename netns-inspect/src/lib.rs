//! `netns-inspect [--json] [NAME|PID|PATH...]`: every network namespace
//! on the host, named or not, and what keeps each alive. No `ip netns`
//! verb does this; lsns(8) knows only namespaces with a process in them.

use std::borrow::Cow;
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;

use netns_cli::{Parsed, Place, Ui, Value};
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
in the mount namespace of process PID. A process is in a namespace when
any of its threads is; for one whose main thread is not (another thread
joined it, or the main one has exited), PID is the id of the first
thread that is. Only nsfs mounts of network namespaces count. An item
with a space or a comma, or that needs quoting, is quoted as git quotes
paths.

Options:
",
    netns_cli::place_help!(),
    "  -j, --json         print a JSON array, an object a namespace:
                     {\"ns\": INODE, \"names\": [..], \"nsid\": N,
                     \"current\": BOOL, \"processes\": [{\"pid\": N,
                     \"comm\": \"..\"}], \"mounts\": [{\"path\": \"..\",
                     \"pid\": N}], \"fds\": [{\"pid\": N, \"fd\": N}],
                     \"devices\": [..]} (\"nsid\" and a mount's \"pid\" only
                     when there is one)
  -h, --help         print this help
  -V, --version      print the version
"
);

pub struct Args {
    place: Place,
    json: bool,
    wanted: Vec<Wanted>,
}

/// An argument: a PID (digits), a PATH (with a /), else a name in the run
/// dir.
enum Wanted {
    Pid(u32),
    Path(PathBuf),
    Name(OsString),
}

pub fn run(args: Vec<OsString>) -> ExitCode {
    netns_cli::run("netns-inspect", USAGE, args, parse, &mut execute)
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
            Value(value) => wanted.push(wanted_of(value)?),
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
    // One the scan missed (its last holder went meanwhile) is held here,
    // and printed with what is known.
    let missed: Vec<Found> = wanted
        .iter()
        .filter(|ns| !found.iter().any(|f| f.inode == ns.id().inode))
        .map(|ns| Found {
            inode: ns.id().inode,
            ..Found::default()
        })
        .collect();
    let chosen: Vec<&Found> = match args.wanted.is_empty() {
        true => found.iter().collect(),
        false => wanted
            .iter()
            .filter_map(|ns| {
                let inode = ns.id().inode;
                found.iter().chain(&missed).find(|f| f.inode == inode)
            })
            .collect(),
    };
    if !args.json {
        return chosen.iter().try_for_each(|f| line(ui.out(), f));
    }
    for (i, f) in chosen.iter().enumerate() {
        let names: Vec<Value> = f
            .names
            .iter()
            .map(|n| netns_cli::json_name(ui, n))
            .collect();
        ui.out().write_all(if i == 0 { b"[" } else { b"," })?;
        object(ui.out(), f, names)?;
    }
    ui.out()
        .write_all(if chosen.is_empty() { b"[]\n" } else { b"]\n" })
}

/// What an argument names; digits too many for a PID are a usage error,
/// as in the other verbs.
fn wanted_of(arg: OsString) -> Result<Wanted, lexopt::Error> {
    let bytes = arg.as_bytes();
    Ok(
        if !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit) {
            Wanted::Pid(netns_cli::parse_pid(&arg)?)
        } else if bytes.contains(&b'/') {
            Wanted::Path(PathBuf::from(arg))
        } else {
            Wanted::Name(arg)
        },
    )
}

/// An argument's namespace.
fn open(run_dir: &RunDir, arg: &Wanted) -> netns_core::Result<Netns> {
    match arg {
        Wanted::Pid(pid) => Netns::of_process(*pid),
        Wanted::Path(path) => Netns::open_path(path),
        Wanted::Name(name) => Netns::open(run_dir, &Name::new(name.clone())?),
    }
}

/// One namespace as a line: see the usage.
fn line(out: &mut impl Write, f: &Found) -> std::io::Result<()> {
    write!(out, "net:[{}]", f.inode)?;
    if f.current {
        out.write_all(b" current")?;
    }
    if let Some(nsid) = f.nsid {
        write!(out, " nsid={nsid}")?;
    }
    for (i, name) in f.names.iter().enumerate() {
        separate(out, "names", i)?;
        out.write_all(item(name.as_os_str().as_bytes()).as_bytes())?;
    }
    for (i, (pid, comm)) in f.processes.iter().enumerate() {
        separate(out, "processes", i)?;
        write!(out, "{pid}:{}", item(comm.as_bytes()))?;
    }
    for (i, (path, pid)) in f.mounts.iter().enumerate() {
        separate(out, "mounts", i)?;
        out.write_all(item(path.as_os_str().as_bytes()).as_bytes())?;
        if let Some(pid) = pid {
            write!(out, "@{pid}")?;
        }
    }
    for (i, (pid, fd)) in f.fds.iter().enumerate() {
        separate(out, "fds", i)?;
        write!(out, "{pid}:{fd}")?;
    }
    for (i, device) in f.devices.iter().enumerate() {
        separate(out, "devices", i)?;
        out.write_all(item(device.as_bytes()).as_bytes())?;
    }
    writeln!(out)
}

/// Before the `i`th item of the list `key`: ` key=` or a comma.
fn separate(out: &mut impl Write, key: &str, i: usize) -> std::io::Result<()> {
    match i {
        0 => write!(out, " {key}="),
        _ => out.write_all(b","),
    }
}

/// One item of a list: as it is, or quoted when it needs it, or when it
/// holds a space or a comma (which end fields and items).
fn item(bytes: &[u8]) -> Cow<'_, str> {
    match quote(bytes) {
        Cow::Borrowed(text) if text.contains([' ', ',']) => InQuotes(bytes).to_string().into(),
        quoted => quoted,
    }
}

/// One namespace as a JSON object, keys in the usage's order, written as
/// it goes (serde_json's maps would sort the keys, and cost the multicall
/// their code).
fn object<W: Write>(out: &mut W, f: &Found, names: Vec<Value>) -> std::io::Result<()> {
    let string = |out: &mut W, bytes: &[u8]| {
        netns_cli::write_json(out, &Value::from(String::from_utf8_lossy(bytes)))
    };
    write!(out, "{{\"ns\":{},\"names\":", f.inode)?;
    netns_cli::write_json(out, &Value::from(names))?;
    if let Some(nsid) = f.nsid {
        write!(out, ",\"nsid\":{nsid}")?;
    }
    write!(out, ",\"current\":{}", f.current)?;
    array(out, "processes", &f.processes, |out, (pid, comm)| {
        write!(out, "{{\"pid\":{pid},\"comm\":")?;
        string(out, comm.as_bytes())?;
        out.write_all(b"}")
    })?;
    array(out, "mounts", &f.mounts, |out, (path, pid)| {
        out.write_all(b"{\"path\":")?;
        string(out, path.as_os_str().as_bytes())?;
        if let Some(pid) = pid {
            write!(out, ",\"pid\":{pid}")?;
        }
        out.write_all(b"}")
    })?;
    array(out, "fds", &f.fds, |out, (pid, fd)| {
        write!(out, "{{\"pid\":{pid},\"fd\":{fd}}}")
    })?;
    array(out, "devices", &f.devices, |out, device| {
        string(out, device.as_bytes())
    })?;
    out.write_all(b"}")
}

/// `,"key":[...]`, each item written by `each`, with commas between.
fn array<W: Write, T>(
    out: &mut W,
    key: &str,
    items: &[T],
    each: impl Fn(&mut W, &T) -> std::io::Result<()>,
) -> std::io::Result<()> {
    write!(out, ",\"{key}\":[")?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        each(out, item)?;
    }
    out.write_all(b"]")
}
