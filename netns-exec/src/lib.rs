//! `netns-exec NAME CMD [ARG...]` and `netns-exec --all CMD [ARG...]`: run a
//! command inside a named network namespace, as `ip netns exec` does
//! (ip-netns(8)), keeping the host's mounts below /sys.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use netns_cli::{Parsed, Ui};
use netns_core::quote::InQuotes;
use netns_core::{Enter, Exit, Name, RunDir, Sysfs};

pub const USAGE: &str = "\
Usage: netns-exec [OPTIONS] NAME CMD [ARG...]
       netns-exec [OPTIONS] --all CMD [ARG...]

Run CMD in the named network namespace, as `ip netns exec` does: enter the
namespace, then a private mount namespace in which /sys shows the
namespace's devices (the mounts below /sys, such as /sys/fs/cgroup, stay)
and each /etc/netns/NAME/FILE lies over /etc/FILE. CMD replaces this
process: its pid, exit status and signals are its own. Everything after
NAME belongs to CMD, options included.

With --all, CMD runs in each namespace of the run dir in turn, after a
`netns: NAME` line; the exit status is 1 if it failed in any.

Exit status: CMD's own; 127 if CMD is not found, 126 if it cannot be run;
1 if the namespace cannot be entered; 2 for a usage error.

Options:
  -a, --all          run CMD in every namespace of the run dir
      --run-dir DIR  the run dir (default: $NETNS_RUN_DIR, else /run/netns)
  -h, --help         print this help
  -V, --version      print the version
";

pub struct Args {
    run_dir: RunDir,
    /// `None` with --all.
    name: Option<OsString>,
    command: Vec<OsString>,
}

pub fn run(args: Vec<OsString>) -> ExitCode {
    netns_cli::run("netns-exec", USAGE, args, parse, execute)
}

fn parse(args: Vec<OsString>) -> Result<Parsed<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut run_dir: Option<PathBuf> = None;
    let mut all = false;
    let mut words = Vec::new();
    let mut parser = lexopt::Parser::from_iter(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Short('a') | Long("all") => all = true,
            Long("run-dir") => run_dir = Some(parser.value()?.into()),
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            Value(word) => {
                words.push(word);
                // NAME (unless --all) then CMD: the rest is CMD's, verbatim.
                if words.len() == usize::from(!all) + 1 {
                    words.extend(parser.raw_args()?);
                    break;
                }
            }
            _ => return Err(arg.unexpected()),
        }
    }
    let name = match all {
        true => None,
        false if words.is_empty() => return Err("missing argument NAME".into()),
        false => Some(words.remove(0)),
    };
    if words.is_empty() {
        return Err("missing argument CMD".into());
    }
    Ok(Parsed::Run(Args {
        run_dir: RunDir::resolve(run_dir),
        name,
        command: words,
    }))
}

fn execute(args: &Args, ui: &mut Ui) -> std::io::Result<()> {
    let Some(name) = &args.name else {
        return run_in_all(args, ui);
    };
    let enter =
        Name::new(name.clone()).and_then(|name| Enter::new(&args.run_dir, &name, Sysfs::read()?));
    let err = match enter {
        Ok(enter) => {
            ui.out().flush()?;
            enter.exec(&args.command)
        }
        Err(err) => err,
    };
    let status = err.exit_status();
    ui.error_with_status(err, status);
    Ok(())
}

/// `--all`: CMD in each namespace in turn, each in a child that enters it.
fn run_in_all(args: &Args, ui: &mut Ui) -> std::io::Result<()> {
    // The host's /sys is the same for every namespace: read it once.
    let read = args.run_dir.entries().and_then(|e| Ok((e, Sysfs::read()?)));
    let Some((entries, sysfs)) = ui.ok(read) else {
        return Ok(());
    };
    for entry in &entries {
        if entry.inode.is_none() {
            ui.warn(format_args!(
                "skipped {}: it holds no namespace (a stale file)",
                InQuotes::new(&args.run_dir.file(&entry.name))
            ));
            continue;
        }
        writeln!(ui.out(), "netns: {}", entry.name)?;
        // The command writes to the same stdout: ours must be out first.
        ui.out().flush()?;
        let Some(enter) = ui.ok(Enter::new(&args.run_dir, &entry.name, sysfs.clone())) else {
            continue;
        };
        match enter.run(&args.command) {
            Ok(Exit::Code(0)) => {}
            Ok(exit) => ui.error(format_args!(
                "{} failed in {}: {}",
                InQuotes::new(&args.command[0]),
                entry.name,
                match exit {
                    Exit::Signal(signal) => format!("killed by signal {signal}"),
                    Exit::Code(code) => format!("exit status {code}"),
                }
            )),
            Err(err) => ui.error(format_args!("in {}: {err}", entry.name)),
        }
    }
    Ok(())
}
