//! `netns-attach [--json] NAME PID|PATH`: name the network namespace of a
//! process, as `ip netns attach NAME PID` does (ip-netns(8)).

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use netns_cli::{Parsed, Place, Ui, Value};
use netns_core::rootless::Keeper;
use netns_core::{Name, Netns};

pub const USAGE: &str = concat!(
    "\
Usage: netns-attach [OPTIONS] NAME PID
       netns-attach [OPTIONS] NAME PATH

Give the network namespace of process PID the name NAME, as `ip netns
attach NAME PID` does: a new file in the run dir with the namespace
mounted on it, which keeps the namespace alive after the process exits.
Instead of a PID, a PATH (with a `/` in it) names any network namespace
file: /proc/PID/ns/net, or another tool's (/var/run/docker/netns/...); a
PATH that is not a file of nsfs (a FIFO, a device) is refused unopened.
NAME must be new; on any failure nothing is left behind. Silent on success.

Options:
",
    netns_cli::place_help!(),
    "  -j, --json         print what was made: {\"name\":..,\"path\":..}
  -h, --help         print this help
  -V, --version      print the version
"
);

pub struct Args {
    place: Place,
    json: bool,
    name: OsString,
    source: Source,
}

/// Where the namespace to name is found.
enum Source {
    Pid(u32),
    Path(PathBuf),
}

pub fn run(args: Vec<OsString>) -> ExitCode {
    netns_cli::run("netns-attach", USAGE, args, parse, &mut execute)
}

fn parse(args: Vec<OsString>) -> Result<Parsed<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut place = Place::default();
    let mut json = false;
    let mut name = None;
    let mut source = None;
    let mut parser = lexopt::Parser::from_iter(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("run-dir") => place.run_dir = Some(parser.value()?.into()),
            Long("rootless") => place.rootless = true,
            Short('j') | Long("json") => json = true,
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            Value(value) if name.is_none() => name = Some(value),
            Value(value) if source.is_none() => {
                source = Some(match value.as_encoded_bytes().contains(&b'/') {
                    true => Source::Path(value.into()),
                    false => Source::Pid(netns_cli::parse_pid(&value)?),
                });
            }
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Parsed::Run(Args {
        place,
        json,
        name: name.ok_or("missing argument NAME")?,
        source: source.ok_or("missing argument PID")?,
    }))
}

fn execute(args: &Args, ui: &mut Ui) -> std::io::Result<()> {
    // The name and a PID's namespace first: a bad name or a PID that is
    // gone changes nothing, not even the run dir (nor starts a rootless
    // keeper), and a process that exits meanwhile is still named. A path
    // is opened once in the run dir's mount namespace, where it may be
    // another name.
    let early = Name::for_new(args.name.clone()).and_then(|name| match &args.source {
        Source::Pid(pid) => Ok((name, Some(Netns::of_process(*pid)?))),
        Source::Path(_) => Ok((name, None)),
    });
    let Some((name, ns)) = ui.ok(early) else {
        return Ok(());
    };
    let Some(here) = args.place.enter(ui, Keeper::Start) else {
        return Ok(());
    };
    let ns = match (ns, &args.source) {
        (Some(ns), _) => Ok(ns),
        (None, Source::Path(path)) => Netns::open_path(path),
        (None, Source::Pid(pid)) => Netns::of_process(*pid),
    };
    let attached = ns.and_then(|ns| Ok((netns_core::attach(&here.run_dir, &name, &ns)?, name)));
    match ui.ok(attached) {
        Some((path, name)) if args.json => {
            let name = netns_cli::json_name(ui, &name);
            let path = Value::from(path.to_string_lossy());
            netns_cli::write_object(ui.out(), &[("name", name), ("path", path)])?;
            writeln!(ui.out())
        }
        _ => Ok(()),
    }
}
