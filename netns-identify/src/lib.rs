//! `netns-identify [--json] [PID]`: the names of a process's network
//! namespace, as `ip netns identify [PID]` prints (ip-netns(8)), but every
//! name where ip prints one.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use netns_cli::{Parsed, Place, Ui, Value};
use netns_core::Netns;
use netns_core::rootless::Keeper;

pub const USAGE: &str = concat!(
    "\
Usage: netns-identify [OPTIONS] [PID]

Print the names in the run dir that refer to the network namespace of
process PID (default: this process, so the caller's namespace; for a
process whose main thread has exited, its first thread's), one a line,
sorted, as `ip netns identify PID` does; where several names refer to the
namespace, ip prints one of them, this prints all. Nothing is printed, and
the exit status is 0, when no name refers to it.

Options:
",
    netns_cli::place_help!(),
    "  -j, --json         print a JSON array of names: [\"blue\"]
  -h, --help         print this help
  -V, --version      print the version
"
);

pub struct Args {
    place: Place,
    json: bool,
    pid: u32,
}

pub fn run(args: Vec<OsString>) -> ExitCode {
    netns_cli::run("netns-identify", USAGE, args, parse, &mut execute)
}

fn parse(args: Vec<OsString>) -> Result<Parsed<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut place = Place::default();
    let mut json = false;
    let mut pid = None;
    let mut parser = lexopt::Parser::from_iter(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("run-dir") => place.run_dir = Some(parser.value()?.into()),
            Long("rootless") => place.rootless = true,
            Short('j') | Long("json") => json = true,
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            Value(value) if pid.is_none() => pid = Some(netns_cli::parse_pid(&value)?),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Parsed::Run(Args {
        place,
        json,
        pid: pid.unwrap_or_else(std::process::id),
    }))
}

fn execute(args: &Args, ui: &mut Ui) -> std::io::Result<()> {
    // The process's namespace first: in rootless mode this process is
    // about to join the keeper's.
    let Some(ns) = ui.ok(Netns::of_process(args.pid)) else {
        return Ok(());
    };
    let Some(here) = args.place.enter(ui, Keeper::IfRunning) else {
        return Ok(());
    };
    let names = here.run_dir.names_of(ns.id());
    let Some(names) = ui.ok(names) else {
        return Ok(());
    };
    if args.json {
        let names: Vec<_> = names
            .iter()
            .map(|name| netns_cli::json_name(ui, name))
            .collect();
        netns_cli::write_json(ui.out(), &Value::from(names))?;
        return writeln!(ui.out());
    }
    for name in names {
        writeln!(ui.out(), "{name}")?;
    }
    Ok(())
}
