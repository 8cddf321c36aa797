//! `netns-add [--json] NAME... | -`: make named network namespaces, as
//! `ip netns add NAME` does (ip-netns(8)), many in one process.

use std::cell::Cell;
use std::ffi::OsString;
use std::ops::ControlFlow::{self, Break, Continue};
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;

use netns_cli::{Entered, JsonArray, Parsed, Place, Shared, Ui, Value};
use netns_core::quote::InQuotes;
use netns_core::rootless::Keeper;
use netns_core::{Creator, Name, RunDir};

pub const USAGE: &str = concat!(
    "\
Usage: netns-add [OPTIONS] NAME...
       netns-add [OPTIONS] -

Make a network namespace for each NAME and name it: a file in the run dir
with the namespace mounted on it, as `ip netns add NAME` does. With `-`,
names are read from stdin, one a line, as netns-list prints them: a line
in double quotes is decoded as netns-list quotes names (C escapes, as
git quotes paths), a trailing \" (id: N)\" is an nsid and left out, and a
space at either end of a name is warned of. Goes on past a failing name
and exits 1 if any failed. Silent on success.

A name is what `ip netns add` takes (not empty, not . or .., no /, at
most 255 bytes), but without control characters (bytes 0x01 to 0x1f and
0x7f, and U+0080 to U+009F) and only in UTF-8: ip takes those, and a
name with a newline is two lines in every listing, a \\r from a file with
CRLF line ends cannot be typed back, and an escape sequence reaches the
terminal. Such names made by others still work.

Options:
      --lo-up        bring up each new namespace's loopback device (lo),
                     which a new namespace has down
      --exist-ok     a NAME that is a namespace already (made by ip, say)
                     is no error: it is left as it is
",
    netns_cli::place_help!(),
    "  -j, --json         print what was made: [{\"name\":..,\"path\":..}]
  -h, --help         print this help
  -V, --version      print the version
"
);

pub struct Args {
    place: Place,
    json: bool,
    lo_up: bool,
    exist_ok: bool,
    names: Vec<OsString>,
}

pub fn run(args: Vec<OsString>) -> ExitCode {
    netns_cli::run("netns-add", USAGE, args, parse, &mut execute)
}

/// What the add lines of a batch keep from one to the next: the Creator
/// of the batch's shared place, so that its run dir is checked and
/// prepared once, not once a line.
#[derive(Default)]
pub struct Kept<'s> {
    lo_up: bool,
    creator: Option<Creator<'s>>,
}

/// [`run`] for a line of a batch (the multicall's `-batch`): the same, in
/// the batch's shared place with the Creator the earlier add lines there
/// made.
pub fn run_in<'s>(args: Vec<OsString>, shared: &'s Shared, kept: &mut Kept<'s>) -> ExitCode {
    netns_cli::run(
        "netns-add",
        USAGE,
        args,
        parse,
        &mut |args, ui| match shared.enter(&args.place, ui, Keeper::Start) {
            None => Ok(()),
            Some(Entered::Shared(here)) => {
                if kept.lo_up != args.lo_up {
                    kept.lo_up = args.lo_up;
                    kept.creator = None;
                }
                add(args, ui, &here.run_dir, &mut kept.creator)
            }
            Some(Entered::Own(here)) => add(args, ui, &here.run_dir, &mut None),
        },
    )
}

/// The `add NAME` lines of a batch (ip's form: a name and no option),
/// made as `netns-add -` makes its names: many a task, at its cost, not
/// a task a line. `each` is told, in order, whether each line's name was
/// made, after the line's messages; without `force` the first line that
/// fails is the last one made, as ip's batch stops there. Returns how
/// many lines it told of: all, but for a stop, or when the run dir
/// cannot be entered (then the first line failed; the caller goes on
/// with the rest, or not, as each line alone would).
pub fn run_names<'s>(
    names: &[OsString],
    shared: &'s Shared,
    kept: &mut Kept<'s>,
    force: bool,
    each: &mut dyn FnMut(bool),
) -> usize {
    let mut told = 0;
    let mut execute = |args: &Args, ui: &mut Ui| {
        told = match shared.enter(&args.place, ui, Keeper::Start) {
            None => {
                each(false);
                1
            }
            Some(Entered::Shared(here)) => {
                if kept.lo_up {
                    kept.lo_up = false;
                    kept.creator = None;
                }
                add_names(
                    args,
                    names,
                    ui,
                    &here.run_dir,
                    &mut kept.creator,
                    force,
                    each,
                )
            }
            Some(Entered::Own(here)) => {
                add_names(args, names, ui, &here.run_dir, &mut None, force, each)
            }
        };
        Ok(())
    };
    // An `add NAME` line's: its name aside, no option.
    let args = Args {
        place: Place::default(),
        json: false,
        lo_up: false,
        exist_ok: false,
        names: Vec::new(),
    };
    netns_cli::run_with("netns-add", USAGE, &mut |ui| execute(&args, ui));
    told
}

/// [`run_names`] in `run_dir`: the names a batch at a time, each checked
/// when its batch is made, so that a bad name comes after the lines
/// before it.
fn add_names<'r>(
    args: &Args,
    names: &[OsString],
    ui: &mut Ui,
    run_dir: &'r RunDir,
    creator: &mut Option<Creator<'r>>,
    force: bool,
    each: &mut dyn FnMut(bool),
) -> usize {
    let mut adds = Adds::new(args, run_dir, creator);
    // Counted as `each` is told, which `make` does as it goes.
    let told = Cell::new(0);
    let stopped = Cell::new(false);
    let mut tell = |made: bool| {
        each(made);
        told.set(told.get() + 1);
        if !made && !force {
            stopped.set(true);
        }
    };
    while told.get() < names.len() && !stopped.get() {
        let mut bad = None;
        for given in &names[told.get()..] {
            if adds.names.len() == BATCH {
                break;
            }
            match Name::for_new(given.clone()) {
                Ok(name) => {
                    adds.names.push(name);
                    adds.lines.push(None);
                }
                Err(err) => {
                    bad = Some(err);
                    break;
                }
            }
        }
        if adds.make(ui, !force, &mut tell).is_break() {
            // No Creator: said once, for the first line.
            adds.names.clear();
            adds.lines.clear();
            tell(false);
            break;
        }
        if let Some(err) = bad.filter(|_| !stopped.get()) {
            netns_cli::refuse(ui, None, err);
            tell(false);
        }
    }
    told.get()
}

fn parse(args: Vec<OsString>) -> Result<Parsed<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut place = Place::default();
    let mut json = false;
    let mut lo_up = false;
    let mut exist_ok = false;
    let mut names = Vec::new();
    let mut parser = lexopt::Parser::from_iter(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("run-dir") => place.run_dir = Some(parser.value()?.into()),
            Long("rootless") => place.rootless = true,
            Short('j') | Long("json") => json = true,
            Long("lo-up") => lo_up = true,
            Long("exist-ok") => exist_ok = true,
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            Value(name) => names.push(name),
            _ => return Err(arg.unexpected()),
        }
    }
    if names.is_empty() {
        return Err("missing argument NAME".into());
    }
    Ok(Parsed::Run(Args {
        place,
        json,
        lo_up,
        exist_ok,
        names,
    }))
}

fn execute(args: &Args, ui: &mut Ui) -> std::io::Result<()> {
    match args.place.enter(ui, Keeper::Start) {
        Some(here) => add(args, ui, &here.run_dir, &mut None),
        None => Ok(()),
    }
}

/// Makes the names of `args` in `run_dir` with `creator`, which is set up
/// on the first valid name if it is not yet, so that bad names alone
/// touch nothing.
fn add<'r>(
    args: &Args,
    ui: &mut Ui,
    run_dir: &'r RunDir,
    creator: &mut Option<Creator<'r>>,
) -> std::io::Result<()> {
    let mut adds = Adds::new(args, run_dir, creator);
    netns_cli::for_each_batch(ui, &args.names, BATCH, &mut |ui, batch| {
        for given in batch.drain(..) {
            match Name::for_new(given.name) {
                Ok(name) => {
                    adds.names.push(name);
                    adds.lines.push(given.line);
                }
                Err(err) => {
                    // After the names before it, as they came.
                    adds.make(ui, false, &mut |_| {})?;
                    netns_cli::refuse(ui, given.line, err);
                }
            }
        }
        adds.make(ui, false, &mut |_| {})
    })?;
    if args.json {
        adds.made.finish(ui.out())?;
    }
    Ok(())
}

/// How many names are made at once, when that many are at hand (see
/// `Creator::create_each`).
pub const BATCH: usize = 64;

/// The adds of one run: names checked and waiting, made a batch at a time.
struct Adds<'a, 'r> {
    args: &'a Args,
    run_dir: &'r RunDir,
    creator: &'a mut Option<Creator<'r>>,
    made: JsonArray,
    names: Vec<Name>,
    /// The line of stdin each of `names` came from.
    lines: Vec<Option<usize>>,
}

impl<'a, 'r> Adds<'a, 'r> {
    fn new(args: &'a Args, run_dir: &'r RunDir, creator: &'a mut Option<Creator<'r>>) -> Self {
        Adds {
            args,
            run_dir,
            creator,
            made: JsonArray::default(),
            names: Vec::with_capacity(BATCH),
            lines: Vec::with_capacity(BATCH),
        }
    }

    /// Makes the names waiting, and says what came of each; `each` is
    /// told of each name tried, after its message, whether it was made.
    /// With `until_failure` the first name that fails is the last tried
    /// (see `Creator::create_each_until_failure`); the others are dropped.
    fn make(
        &mut self,
        ui: &mut Ui,
        until_failure: bool,
        each: &mut dyn FnMut(bool),
    ) -> ControlFlow<()> {
        if self.names.is_empty() {
            return Continue(());
        }
        if self.creator.is_none() {
            let made = Creator::new(self.run_dir).map(|c| match self.args.lo_up {
                true => c.loopback_up(),
                false => c,
            });
            match made {
                Ok(new) => *self.creator = Some(new),
                // Nothing can be made: one message, not one a name.
                Err(err) => {
                    ui.error(err);
                    return Break(());
                }
            }
        }
        let Some(creator) = self.creator.as_mut() else {
            return Break(());
        };
        let created: Vec<_> = match (self.args.exist_ok, until_failure) {
            (true, _) => creator.create_or_keep_each(&self.names),
            (false, false) => creator
                .create_each(&self.names)
                .into_iter()
                .map(|made| made.map(Some))
                .collect(),
            (false, true) => creator
                .create_each_until_failure(&self.names)
                .into_iter()
                .map(|made| made.map(Some))
                .collect(),
        };
        let lines = self.lines.drain(..);
        for ((name, line), created) in self.names.drain(..).zip(lines).zip(created) {
            match created {
                // A namespace there already, left as it was.
                Ok(None) => {}
                Ok(Some(path)) => {
                    if let Some(line) = line {
                        warn_of_spaces(ui, &name, line);
                    }
                    if self.args.json {
                        let fields = [
                            ("name", netns_cli::json_name(ui, &name)),
                            ("path", Value::from(path.to_string_lossy())),
                        ];
                        self.made.push(ui.out(), &fields);
                    }
                }
                Err(err) => {
                    ui.error(err);
                    each(false);
                    continue;
                }
            }
            each(true);
        }
        self.names.clear();
        self.lines.clear();
        Continue(())
    }
}

/// A space at either end of a name read from stdin is legal (ip takes it)
/// but more often a stray one than a wish: made, and said.
fn warn_of_spaces(ui: &mut Ui, name: &Name, line: usize) {
    let bytes = name.as_os_str().as_bytes();
    let end = match (bytes.first(), bytes.last()) {
        (Some(b' '), Some(b' ')) => "starts and ends",
        (Some(b' '), _) => "starts",
        (_, Some(b' ')) => "ends",
        _ => return,
    };
    ui.warn(format_args!(
        "line {line} of stdin: made {}, whose name {end} with a space",
        InQuotes(bytes)
    ));
}
