//! `netns-watch [--names] [--ids] [--json] [--existing] [--count N]`:
//! namespaces added to and deleted from the run dir, a line each as it
//! happens, as `ip netns monitor` prints them (ip-netns(8)), but flushed
//! at once and only once a namespace is usable; and the nsids the current
//! namespace gains and loses (the card's `monitor [all | name | id]`).

use std::ffi::OsString;
use std::io::Write;
use std::os::fd::AsFd;
use std::process::ExitCode;

use netns_cli::{Parsed, Place, Ui, Value};
use netns_core::rootless::Keeper;
use netns_core::{Event, Kinds, Watch, Woken};

pub const USAGE: &str = concat!(
    "\
Usage: netns-watch [OPTIONS]

Print a line for every namespace added to or deleted from the run dir, by
any tool, as `ip netns monitor` does: \"add NAME\" and \"delete NAME\"; and
for every nsid the current namespace gets for another namespace or loses
(by netns-set, `ip netns set`, or the kernel itself, as when a veth's peer
goes there): \"add-nsid N NAME\" and \"delete-nsid N NAME\", NAME being the
name in the run dir that refers to that namespace (left out when none
does; a delete names the name the nsid had, as the namespace is gone by
then). Each line is written out as it happens, into a pipe too. An add is
reported once the namespace is usable (mounted on its file), so
`netns-exec NAME` works as soon as the line is read; a file that never
gets a namespace on it (an add that crashed) is reported neither when it
appears nor when it goes; a name renamed over by another file is a
delete. A missing run dir is made, as netns-add makes it; nothing is held
open on it (it can be unmounted meanwhile), and once it is removed the
watch says so and exits 1. Runs until interrupted, or until the reader
of its output goes away (exit 0).

Options:
      --names        name events only: exactly what `ip netns monitor`
                     prints (the card's `monitor name`)
      --ids          nsid events only (`monitor id`); both or neither: all
  -e, --existing     first an add for each namespace already there (and
                     an add-nsid for each nsid set)
  -c, --count N      exit after N events (not counting --existing ones)
",
    netns_cli::place_help!(),
    "  -j, --json         JSON Lines: {\"event\":\"add\",\"name\":\"blue\"},
                     {\"event\":\"add-nsid\",\"nsid\":2,\"name\":\"blue\"}
                     (no \"name\" when none refers to it)
  -h, --help         print this help
  -V, --version      print the version
"
);

pub struct Args {
    place: Place,
    json: bool,
    existing: bool,
    count: Option<u64>,
    kinds: Kinds,
}

pub fn run(args: Vec<OsString>) -> ExitCode {
    netns_cli::run("netns-watch", USAGE, args, parse, &mut execute)
}

fn parse(args: Vec<OsString>) -> Result<Parsed<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut place = Place::default();
    let mut json = false;
    let mut existing = false;
    let mut count = None;
    let (mut names, mut ids) = (false, false);
    let mut parser = lexopt::Parser::from_iter(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("names") => names = true,
            Long("ids") => ids = true,
            Short('e') | Long("existing") => existing = true,
            Short('c') | Long("count") => count = Some(parser.value()?.parse()?),
            Long("run-dir") => place.run_dir = Some(parser.value()?.into()),
            Long("rootless") => place.rootless = true,
            Short('j') | Long("json") => json = true,
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Parsed::Run(Args {
        place,
        json,
        existing,
        count,
        // Both or neither: all.
        kinds: Kinds {
            names: names || !ids,
            ids: ids || !names,
        },
    }))
}

fn execute(args: &Args, ui: &mut Ui) -> std::io::Result<()> {
    let Some(here) = args.place.enter(ui, Keeper::Start) else {
        return Ok(());
    };
    let Some((mut watch, existing)) = ui.ok(Watch::new(&here.run_dir, args.kinds)) else {
        return Ok(());
    };
    if args.existing {
        for event in &existing {
            print(args, ui, event)?;
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
            print(args, ui, event)?;
            left = left.map(|n| n - 1);
        }
    }
    Ok(())
}

/// One event, flushed at once: a reader waits for each line.
fn print(args: &Args, ui: &mut Ui, event: &Event) -> std::io::Result<()> {
    let (word, nsid, name) = match event {
        Event::Add(name) => ("add", None, Some(name)),
        Event::Delete(name) => ("delete", None, Some(name)),
        Event::AddNsid { nsid, name } => ("add-nsid", Some(*nsid), name.as_ref()),
        Event::DeleteNsid { nsid, name } => ("delete-nsid", Some(*nsid), name.as_ref()),
    };
    if args.json {
        let mut fields = vec![("event", Value::from(word))];
        fields.extend(nsid.map(|nsid| ("nsid", Value::from(nsid))));
        fields.extend(name.map(|name| ("name", netns_cli::json_name(ui, name))));
        netns_cli::write_object(ui.out(), &fields)?;
        writeln!(ui.out())?;
    } else {
        // ip's words; the name quoted when it needs it.
        write!(ui.out(), "{word}")?;
        if let Some(nsid) = nsid {
            write!(ui.out(), " {nsid}")?;
        }
        if let Some(name) = name {
            write!(ui.out(), " {name}")?;
        }
        writeln!(ui.out())?;
    }
    ui.out().flush()
}
