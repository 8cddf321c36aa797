//! `netns-del [--json] NAME... | - | --all`: remove named network
//! namespaces, as `ip netns delete NAME` and `ip -all netns delete` do
//! (ip-netns(8)), but `--all` goes on past a failure and reports it.

use std::ffi::OsString;
use std::ops::ControlFlow::Continue;
use std::process::ExitCode;

use netns_cli::{Entered, Here, JsonArray, Parsed, Place, Shared, Ui, Value};
use netns_core::quote::InQuotes;
use netns_core::rootless::Keeper;
use netns_core::{Deleter, Name, Removed};

pub const USAGE: &str = concat!(
    "\
Usage: netns-del [OPTIONS] NAME...
       netns-del [OPTIONS] -
       netns-del [OPTIONS] --all

Remove each named namespace from the run dir, as `ip netns delete NAME`
does: its mount and its file. The namespace itself lives on while a
process is in it. A stale file (empty, with no namespace on it, as a
crashed add leaves) is removed with a warning. A symlink is removed as a
symlink: what it points to is not unmounted. Anything else (a file with
data, a directory, another kind of mount) is refused and left as it is,
and with --all a symlink too unless it leads to a namespace. With `-`,
names are read from stdin, one a line, as netns-list prints them: a line
in double quotes is decoded as netns-list quotes names (C escapes, as git
quotes paths), and a trailing \" (id: N)\" is an nsid and left out, so
`netns-list | netns-del -` takes every name. Goes on past a failing name
and exits 1 if any failed.

Options:
  -a, --all          remove every name in the run dir
",
    netns_cli::place_help!(),
    "  -j, --json         print what was removed: [{\"name\":..,\"path\":..}],
                     with \"stale\":true for a stale file, \"symlink\":true
                     for a symlink
  -h, --help         print this help
  -V, --version      print the version
"
);

pub struct Args {
    place: Place,
    json: bool,
    all: bool,
    names: Vec<OsString>,
}

pub fn run(args: Vec<OsString>) -> ExitCode {
    netns_cli::run("netns-del", USAGE, args, parse, &mut execute)
}

/// What the del lines of a batch keep from one to the next: the Deleter
/// of the batch's shared place, which holds the namespaces of every line
/// until the batch ends, as it holds a batch's of `netns-del -` (see
/// netns_core::Deleter::delete: a line's teardown would slow the next
/// line's unmount).
#[derive(Default)]
pub struct Kept<'s> {
    deleter: Option<Deleter<'s>>,
}

/// [`run`] for a line of a batch (the multicall's `-batch`): the same, in
/// the batch's shared place with the Deleter the earlier del lines there
/// made (but for --all, which has one of its own).
pub fn run_in<'s>(args: Vec<OsString>, shared: &'s Shared, kept: &mut Kept<'s>) -> ExitCode {
    netns_cli::run(
        "netns-del",
        USAGE,
        args,
        parse,
        &mut |args, ui| match shared.enter(&args.place, ui, Keeper::IfRunning) {
            None => Ok(()),
            Some(Entered::Shared(here)) if !args.all => {
                if kept.deleter.is_none() {
                    kept.deleter = deleter(args, ui, here)?;
                }
                match kept.deleter.as_mut() {
                    Some(deleter) => remove(args, ui, here, deleter),
                    None => Ok(()),
                }
            }
            Some(here) => match deleter(args, ui, &here)? {
                Some(mut deleter) => remove(args, ui, &here, &mut deleter),
                None => Ok(()),
            },
        },
    )
}

fn parse(args: Vec<OsString>) -> Result<Parsed<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut place = Place::default();
    let mut json = false;
    let mut all = false;
    let mut names = Vec::new();
    let mut parser = lexopt::Parser::from_iter(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Short('a') | Long("all") => all = true,
            Long("run-dir") => place.run_dir = Some(parser.value()?.into()),
            Long("rootless") => place.rootless = true,
            Short('j') | Long("json") => json = true,
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            Value(name) => names.push(name),
            _ => return Err(arg.unexpected()),
        }
    }
    match (all, names.is_empty()) {
        (true, false) => return Err("--all takes no NAME".into()),
        (false, true) => return Err("missing argument NAME (or --all)".into()),
        _ => {}
    }
    Ok(Parsed::Run(Args {
        place,
        json,
        all,
        names,
    }))
}

fn execute(args: &Args, ui: &mut Ui) -> std::io::Result<()> {
    let Some(here) = args.place.enter(ui, Keeper::IfRunning) else {
        return Ok(());
    };
    match deleter(args, ui, &here)? {
        Some(mut deleter) => remove(args, ui, &here, &mut deleter),
        None => Ok(()),
    }
}

/// The Deleter for `args` in `here`. A run dir that is not safe to change:
/// one message, nothing removed (an empty array for --json).
fn deleter<'h>(args: &Args, ui: &mut Ui, here: &'h Here) -> std::io::Result<Option<Deleter<'h>>> {
    let deleter = Deleter::new(&here.run_dir).map(|d| match args.all {
        true => d.every_name(),
        false => d,
    });
    let deleter = ui.ok(deleter);
    if deleter.is_none() && args.json {
        JsonArray::default().finish(ui.out())?;
    }
    Ok(deleter)
}

/// Removes the names of `args` from `here` with `deleter`.
fn remove(args: &Args, ui: &mut Ui, here: &Here, deleter: &mut Deleter) -> std::io::Result<()> {
    let mut removed = JsonArray::default();
    let mut delete = |name: Name, ui: &mut Ui| {
        let json = args.json.then_some(&mut removed);
        delete_name(ui, here, deleter, &name, json);
    };
    if args.all {
        match here.run_dir.names() {
            Ok(names) => names.into_iter().for_each(|name| delete(name, ui)),
            Err(err) => ui.error(err),
        }
    } else {
        netns_cli::for_each_name(ui, &args.names, |ui, given| {
            match Name::new(given.name) {
                Ok(name) => delete(name, ui),
                Err(err) => netns_cli::refuse(ui, given.line, err),
            }
            Continue(())
        })?;
    }
    if args.json {
        removed.finish(ui.out())?;
    }
    Ok(())
}

/// Removes `name` from `here` with `deleter`, and says what came of it
/// (into `json`, if given); false if it failed.
fn delete_name(
    ui: &mut Ui,
    here: &Here,
    deleter: &mut Deleter,
    name: &Name,
    json: Option<&mut JsonArray>,
) -> bool {
    match deleter.delete(name) {
        Ok(what) => {
            if what == Removed::StaleFile {
                let path = here.run_dir.file(name);
                ui.warn(format_args!(
                    "{} held no namespace (a stale file); removed it",
                    InQuotes::new(&path)
                ));
            }
            if let Some(removed) = json {
                let path = here.run_dir.file(name);
                let mut fields = vec![
                    ("name", netns_cli::json_name(ui, name)),
                    ("path", Value::from(path.to_string_lossy())),
                ];
                match what {
                    Removed::StaleFile => fields.push(("stale", Value::from(true))),
                    Removed::Symlink => fields.push(("symlink", Value::from(true))),
                    Removed::Namespace => {}
                }
                removed.push(ui.out(), &fields);
            }
            true
        }
        // Removed already, with the dead keeper's other names.
        Err(err) if err.is_missing() && here.removed_stale().contains(name) => true,
        Err(err) => {
            ui.error(err);
            false
        }
    }
}

/// The `del NAME` lines of a batch (ip's `netns delete NAME`: a name and
/// no option), run as `netns-del -` runs its names: in one verb's run,
/// not one a line. `each` is told, in order, whether each line's name
/// was removed, after the line's messages; without `force` the first
/// line that fails is the last one run, as ip's batch stops there.
/// Returns how many lines it told of: all, but for a stop, or when the
/// run dir cannot be entered or changed (then the first line failed, as
/// each line alone would; the caller goes on with the rest, or not).
pub fn run_names<'s>(
    names: &[OsString],
    shared: &'s Shared,
    kept: &mut Kept<'s>,
    force: bool,
    each: &mut dyn FnMut(bool),
) -> usize {
    let mut told = 1;
    let mut execute = |args: &Args, ui: &mut Ui| {
        match shared.enter(&args.place, ui, Keeper::IfRunning) {
            Some(Entered::Shared(here)) => {
                if kept.deleter.is_none() {
                    kept.deleter = deleter(args, ui, here)?;
                }
                match kept.deleter.as_mut() {
                    Some(deleter) => told = delete_names(names, ui, here, deleter, force, each),
                    None => each(false),
                }
            }
            Some(Entered::Own(here)) => match deleter(args, ui, &here)? {
                Some(mut deleter) => {
                    told = delete_names(names, ui, &here, &mut deleter, force, each);
                }
                None => each(false),
            },
            None => each(false),
        }
        Ok(())
    };
    // A `del NAME` line's: its name aside, no option.
    let args = Args {
        place: Place::default(),
        json: false,
        all: false,
        names: Vec::new(),
    };
    netns_cli::run_with("netns-del", USAGE, &mut |ui| execute(&args, ui));
    told
}

/// [`run_names`] in `here`: how many lines it told of.
fn delete_names(
    names: &[OsString],
    ui: &mut Ui,
    here: &Here,
    deleter: &mut Deleter,
    force: bool,
    each: &mut dyn FnMut(bool),
) -> usize {
    let mut told = 0;
    for given in names {
        let done = match Name::new(given.clone()) {
            Ok(name) => delete_name(ui, here, deleter, &name, None),
            Err(err) => {
                netns_cli::refuse(ui, None, err);
                false
            }
        };
        each(done);
        told += 1;
        if !done && !force {
            break;
        }
    }
    told
}
