//! `netns-watch [--json] [--existing] [--count N]`: namespaces added to and
//! deleted from the run dir, a line each as it happens, as `ip netns
//! monitor` prints them (ip-netns(8)), but flushed at once and only once a
//! namespace is usable.

use std::ffi::OsString;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;

use netns_cli::{Parsed, Ui, json};
use netns_core::{Event, Name, RunDir, Watch, Woken};

pub const USAGE: &str = "\
Usage: netns-watch [OPTIONS]

Print a line for every namespace added to or deleted from the run dir, by
any tool, as `ip netns monitor` does: \"add NAME\" and \"delete NAME\". Each
line is written out as it happens, into a pipe too. An add is reported once
the namespace is usable (mounted on its file), so `netns-exec NAME` works
as soon as the line is read; a file that never gets a namespace on it (an
add that crashed) is reported neither when it appears nor when it goes. A
missing run dir is made, as netns-add makes it. Runs until interrupted, or
until the reader of its output goes away (exit 0).

Options:
  -e, --existing     first an add for each namespace already there
  -c, --count N      exit after N events (not counting --existing ones)
      --run-dir DIR  the run dir (default: $NETNS_RUN_DIR, else /run/netns)
  -j, --json         JSON Lines: {\"event\":\"add\",\"name\":\"blue\"}
  -h, --help         print this help
  -V, --version      print the version
";

pub struct Args {
    run_dir: RunDir,
    json: bool,
    existing: bool,
    count: Option<u64>,
}

pub fn run(args: Vec<OsString>) -> ExitCode {
    netns_cli::run("netns-watch", USAGE, args, parse, execute)
}

fn parse(args: Vec<OsString>) -> Result<Parsed<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut run_dir: Option<PathBuf> = None;
    let mut json = false;
    let mut existing = false;
    let mut count = None;
    let mut parser = lexopt::Parser::from_iter(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Short('e') | Long("existing") => existing = true,
            Short('c') | Long("count") => count = Some(parser.value()?.parse()?),
            Long("run-dir") => run_dir = Some(parser.value()?.into()),
            Short('j') | Long("json") => json = true,
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Parsed::Run(Args {
        run_dir: RunDir::resolve(run_dir),
        json,
        existing,
        count,
    }))
}

fn execute(args: &Args, ui: &mut Ui) -> std::io::Result<()> {
    let Some((mut watch, existing)) = ui.ok(Watch::new(&args.run_dir)) else {
        return Ok(());
    };
    if args.existing {
        for name in existing {
            print(args, ui, "add", &name)?;
        }
    }
    let mut left = args.count;
    let stdout = std::io::stdout();
    while left != Some(0) {
        let Some(woken) = ui.ok(watch.wait(stdout.as_fd())) else {
            return Ok(());
        };
        let Woken::Events(events) = woken else {
            // The reader went away: nothing more can be said.
            return Ok(());
        };
        for event in events.iter().take(left.map_or(usize::MAX, |n| n as usize)) {
            match event {
                Event::Add(name) => print(args, ui, "add", name)?,
                Event::Delete(name) => print(args, ui, "delete", name)?,
            }
            left = left.map(|n| n - 1);
        }
    }
    Ok(())
}

/// One event, flushed at once: a reader waits for each line.
fn print(args: &Args, ui: &mut Ui, event: &str, name: &Name) -> std::io::Result<()> {
    if args.json {
        writeln!(
            ui.out(),
            "{}",
            json!({"event": event, "name": name.to_string()})
        )?;
    } else {
        // The name's bytes, as `ip netns monitor` prints them.
        write!(ui.out(), "{event} ")?;
        ui.out().write_all(name.as_os_str().as_bytes())?;
        writeln!(ui.out())?;
    }
    ui.out().flush()
}
