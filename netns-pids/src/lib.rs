//! `netns-pids [--json] NAME`: the processes in a named network namespace,
//! as `ip netns pids NAME` prints them (ip-netns(8)).

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use netns_cli::{Parsed, Place, Ui, Value};
use netns_core::rootless::Keeper;
use netns_core::{Name, Netns};

pub const USAGE: &str = concat!(
    "\
Usage: netns-pids [OPTIONS] NAME

Print the processes in the network namespace NAME, one PID a line,
ascending, as `ip netns pids NAME` does: every process whose
/proc/PID/ns/net is that namespace (processes, not their threads). A
process that exits during the scan is left out. Nothing is printed when
the namespace has no process in it.

    netns-pids blue | xargs -r kill     # before netns-del, to free it

Options:
",
    netns_cli::place_help!(),
    "  -j, --json         print a JSON array of PIDs: [1234,1240]
  -h, --help         print this help
  -V, --version      print the version
"
);

pub struct Args {
    place: Place,
    json: bool,
    name: OsString,
}

pub fn run(args: Vec<OsString>) -> ExitCode {
    netns_cli::run("netns-pids", USAGE, args, parse, &mut execute)
}

fn parse(args: Vec<OsString>) -> Result<Parsed<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut place = Place::default();
    let mut json = false;
    let mut name = None;
    let mut parser = lexopt::Parser::from_iter(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("run-dir") => place.run_dir = Some(parser.value()?.into()),
            Long("rootless") => place.rootless = true,
            Short('j') | Long("json") => json = true,
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            Value(value) if name.is_none() => name = Some(value),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Parsed::Run(Args {
        place,
        json,
        name: name.ok_or("missing argument NAME")?,
    }))
}

fn execute(args: &Args, ui: &mut Ui) -> std::io::Result<()> {
    let Some(here) = args.place.enter(ui, Keeper::IfRunning) else {
        return Ok(());
    };
    let pids = Name::new(args.name.clone())
        .and_then(|name| Netns::open(&here.run_dir, &name))
        .and_then(|ns| netns_core::pids(ns.id()));
    let Some(pids) = ui.ok(pids) else {
        return Ok(());
    };
    if args.json {
        netns_cli::write_json(ui.out(), &Value::from(pids))?;
        return writeln!(ui.out());
    }
    for pid in pids {
        writeln!(ui.out(), "{pid}")?;
    }
    Ok(())
}
