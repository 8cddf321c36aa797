//! `netns-exec NAME CMD [ARG...]` and `netns-exec --all CMD [ARG...]`: run a
//! command inside a named network namespace, as `ip netns exec` does
//! (ip-netns(8)), keeping the host's mounts below /sys.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use netns_cli::{Parsed, Place, Ui};
use netns_core::quote::InQuotes;
use netns_core::rootless::Keeper;
use netns_core::{Enter, Error, Exit, Name, RunDir, Sysfs};
use nix::errno::Errno;

pub const USAGE: &str = concat!(
    "\
Usage: netns-exec [OPTIONS] NAME CMD [ARG...]
       netns-exec [OPTIONS] --all CMD [ARG...]

Run CMD in the named network namespace, as `ip netns exec` does: enter the
namespace, then a private mount namespace in which /sys shows the
namespace's devices (the mounts below /sys, such as /sys/fs/cgroup, stay)
and each /etc/netns/NAME/FILE lies over /etc/FILE. CMD replaces this
process (but with --user, below): its pid, exit status and signals are
its own. Everything after NAME belongs to CMD, options included.

With --all, CMD runs in each namespace of the run dir in turn, after a
blank line and a `netns: NAME` line, as ip prints them; the exit status is
1 if it failed in any. A name with no namespace when its turn comes (a
stale file, or removed meanwhile) is skipped with a warning.

With --user, CMD runs as USER once inside, as `runuser -u USER -- CMD`
would: USER's uid, its group and the groups that list it (GROUP alone
with :GROUP, as runuser -g), no capability left, so CMD cannot leave
the namespace. USER and GROUP are names (looked for first) or numbers,
from /etc/passwd and /etc/group, or the namespace's /etc/netns/NAME/passwd
and group. HOME, USER and LOGNAME are set as runuser sets them. CMD runs
in a child, in a session of its own: it has no controlling terminal to
push input into for root's shell. netns-exec passes signals on to it and
ends as it ends. Not with --rootless, where CMD runs as root of the user
namespace (the caller, as `unshare -r` has it), and /run/netns shows the
rootless names when /run/netns exists.

Exit status: CMD's own; 127 if CMD is not found, 126 if it cannot be run;
1 if the namespace cannot be entered; 2 for a usage error.

Options:
  -a, --all          run CMD in every namespace of the run dir
  -u, --user USER[:GROUP]
                     run CMD as USER (and GROUP), without capabilities
",
    netns_cli::place_help!(),
    "  -h, --help         print this help
  -V, --version      print the version
"
);

pub struct Args {
    place: Place,
    /// `None` with --all.
    name: Option<OsString>,
    command: Vec<OsString>,
    user: Option<OsString>,
}

pub fn run(args: Vec<OsString>) -> ExitCode {
    netns_cli::run("netns-exec", USAGE, args, parse, &mut execute)
}

/// [`run`], but CMD runs in a child that this process waits for, as
/// `ip -batch` forks for an exec line: for the multicall's batches, which
/// go on after it. A CMD that fails is reported, as under --all.
pub fn run_waiting(args: Vec<OsString>) -> ExitCode {
    netns_cli::run("netns-exec", USAGE, args, parse, &mut execute_waiting)
}

fn parse(args: Vec<OsString>) -> Result<Parsed<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut place = Place::default();
    let mut all = false;
    let mut user = None;
    let mut words = Vec::new();
    let mut parser = lexopt::Parser::from_iter(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Short('a') | Long("all") => all = true,
            Short('u') | Long("user") => user = Some(parser.value()?),
            Long("run-dir") => place.run_dir = Some(parser.value()?.into()),
            Long("rootless") => place.rootless = true,
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
    if user.is_some() && place.rootless() {
        return Err("--user is for root's namespaces: with --rootless, CMD runs as you".into());
    }
    Ok(Parsed::Run(Args {
        place,
        name,
        command: words,
        user,
    }))
}

fn execute(args: &Args, ui: &mut Ui) -> std::io::Result<()> {
    execute_in(args, ui, false)
}

fn execute_waiting(args: &Args, ui: &mut Ui) -> std::io::Result<()> {
    execute_in(args, ui, true)
}

/// CMD in place of this process, or in a child waited for (`wait`).
fn execute_in(args: &Args, ui: &mut Ui, wait: bool) -> std::io::Result<()> {
    let Some(here) = args.place.enter(ui, Keeper::IfRunning) else {
        return Ok(());
    };
    let Some(name) = &args.name else {
        return run_in_all(args, &here.run_dir, ui);
    };
    let enter = Name::new(name.clone()).and_then(|name| {
        let enter = Enter::new(&here.run_dir, &name, Sysfs::read()?)?;
        Ok((prepare(args, enter)?, name))
    });
    let err = match enter {
        Ok((enter, name)) if wait => {
            ui.out().flush()?;
            match enter.run(&args.command) {
                Ok(exit) => {
                    failed(ui, &args.command[0], &name, exit);
                    return Ok(());
                }
                Err(err) => err,
            }
        }
        Ok((enter, _)) => {
            ui.out().flush()?;
            enter.exec(&args.command)
        }
        Err(err) => err,
    };
    let status = exit_status(&err);
    ui.error_with_status(err, status);
    Ok(())
}

/// The exit status for a command that stopped on `err`: 1, but for a
/// command that could not be started the shell's 127 (not found) and 126
/// (found, cannot be run).
fn exit_status(err: &Error) -> u8 {
    match err {
        Error::Exec {
            errno: Errno::ENOENT,
            ..
        } => 127,
        Error::Exec { .. } => 126,
        _ => 1,
    }
}

/// The user, looked up in the files the namespace binds over /etc's,
/// before anything is entered.
fn prepare(args: &Args, mut enter: Enter) -> netns_core::Result<Enter> {
    if let Some(user) = &args.user {
        enter.as_user(user)?;
    }
    Ok(enter)
}

/// `--all`: CMD in each namespace in turn, each in a child that enters it,
/// after a blank line and a `netns: NAME` line, as ip prints them. One
/// rule for a name that holds no namespace when its turn comes, whether a
/// stale file from the start or removed while CMD ran in another: it is
/// skipped with a warning, and the exit status stays as it is.
fn run_in_all(args: &Args, run_dir: &RunDir, ui: &mut Ui) -> std::io::Result<()> {
    // The host's /sys is the same for every namespace: read it once.
    let read = run_dir
        .names()
        .and_then(|names| Ok((names, Sysfs::read()?)));
    let Some((names, sysfs)) = ui.ok(read) else {
        return Ok(());
    };
    for name in &names {
        let ready = match Enter::new(run_dir, name, sysfs.clone()) {
            Err(Error::NotANamespace { .. }) => Err("it holds no namespace (a stale file)"),
            Err(err) if err.is_missing() => Err("it is gone (removed since the run dir was read)"),
            opened => Ok(opened.and_then(|enter| prepare(args, enter))),
        };
        let ran = match ready {
            Err(why) => {
                let file = run_dir.file(name);
                ui.warn(format_args!("skipped {}: {why}", InQuotes::new(&file)));
                continue;
            }
            Ok(Ok(enter)) => {
                writeln!(ui.out(), "\nnetns: {name}")?;
                // The command writes to the same stdout: ours must be out
                // first.
                ui.out().flush()?;
                enter.run(&args.command)
            }
            Ok(Err(err)) => Err(err),
        };
        match ran {
            Ok(exit) => failed(ui, &args.command[0], name, exit),
            Err(err) => {
                let err = ui.worded(err);
                ui.error(format_args!("in {name}: {err}"))
            }
        }
    }
    Ok(())
}

/// Reports a CMD that ran in a child and failed in namespace `name`.
fn failed(ui: &mut Ui, command: &OsString, name: &Name, exit: Exit) {
    let how = match exit {
        Exit::Code(0) => return,
        Exit::Signal(signal) => format!("killed by signal {signal}"),
        Exit::Code(code) => format!("exit status {code}"),
    };
    ui.error(format_args!(
        "{} failed in {name}: {how}",
        InQuotes::new(command)
    ));
}
