//! `netns-list [--dev DEV | --ids] [--json]`: the named network
//! namespaces, as `ip netns list` and `ip -j netns list` print them
//! (ip-netns(8)), sorted by name; with `--dev`, those that hold a device
//! DEV (the card's `list dev DEV`); with `--ids`, the kernel's nsid table
//! as `ip netns list-id`.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use netns_cli::{JsonArray, Parsed, Place, Ui, Value};
use netns_core::quote::InQuotes;
use netns_core::rootless::Keeper;
use netns_core::{Entry, Name, NsidDump};

pub const USAGE: &str = concat!(
    "\
Usage: netns-list [OPTIONS]

Print the named network namespaces of the run dir, sorted, one a line, as
`ip netns list` does: the name, then \" (id: N)\" when the current namespace
has an nsid for it. Files that hold no namespace (stale files left by a
crashed add) are not listed; a line on stderr names each, but for one an
add may still be making: younger than a moment, or any while an add of
ours is making names (it holds the run dir's lock).

A name with a control character (C0, DEL or C1), a byte that is not
UTF-8 or a backslash, that starts with a double quote or that ends as an
nsid does (\" (id: N)\"), is printed in double quotes with C escapes, as
git quotes paths (\"a\\nb\", \"bad\\377\"), so that each stays one line
and `netns-list | netns-del -` takes each back. JSON has the name itself
(U+FFFD for bytes that are not UTF-8, with a warning).

With --dev DEV, print only the namespaces that hold a network device DEV,
by its name or an altname, as `ip -n NAME link show DEV` would find it
(the card's `ip netns list dev DEV`); nothing, and exit 0, when none does.
Each namespace is asked through a netlink socket made in it: no process
is started, but entering it takes root, as `ip -n` does. A name longer
than any device's (127 bytes) is no device. A namespace that cannot be
entered is reported and the others listed (exit 1).

With --ids, print the current namespace's nsid table instead, as `ip netns
list-id` does: \"nsid N\" a line, ascending, then \" (iproute2 netns name:
NAME)\" when a name in the run dir refers to that namespace (the first in
order when several do). Ids the kernel gave on its own (to the peer of a
veth, say) are listed too.

Options:
      --dev DEV      only the namespaces that hold the device DEV
      --ids          print the nsid table (`ip netns list-id`)
",
    netns_cli::place_help!(),
    "  -j, --json         print as `ip -j netns list`: [{\"name\":..,\"id\":..}];
                     with --ids as `ip -j netns list-id`:
                     [{\"nsid\":..,\"name\":..}]
  -h, --help         print this help
  -V, --version      print the version
"
);

pub struct Args {
    place: Place,
    json: bool,
    ids: bool,
    dev: Option<OsString>,
}

pub fn run(args: Vec<OsString>) -> ExitCode {
    netns_cli::run("netns-list", USAGE, args, parse, &mut execute)
}

fn parse(args: Vec<OsString>) -> Result<Parsed<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut place = Place::default();
    let mut json = false;
    let mut ids = false;
    let mut dev = None;
    let mut parser = lexopt::Parser::from_iter(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("dev") => dev = Some(parser.value()?),
            Long("ids") => ids = true,
            Long("run-dir") => place.run_dir = Some(parser.value()?.into()),
            Long("rootless") => place.rootless = true,
            Short('j') | Long("json") => json = true,
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            _ => return Err(arg.unexpected()),
        }
    }
    if ids && dev.is_some() {
        return Err("--dev and --ids do not go together".into());
    }
    if dev.as_ref().is_some_and(|dev| dev.is_empty()) {
        return Err("--dev takes a device name, not an empty one".into());
    }
    Ok(Parsed::Run(Args {
        place,
        json,
        ids,
        dev,
    }))
}

fn execute(args: &Args, ui: &mut Ui) -> std::io::Result<()> {
    let Some(here) = args.place.enter(ui, Keeper::IfRunning) else {
        return Ok(());
    };
    let listed = here
        .run_dir
        .entries()
        .and_then(|entries| match &args.dev {
            Some(dev) => netns_core::holding(&here.run_dir, entries, dev),
            None => Ok((entries, Vec::new())),
        })
        .and_then(|(entries, failed)| {
            Ok((netns_core::nsids(&here.run_dir, &entries)?, entries, failed))
        });
    let Some(((dump, nsids), entries, failed)) = ui.ok(listed) else {
        return Ok(());
    };
    // A namespace that could not be asked (one it cannot enter): said,
    // and the others listed; exit 1.
    for err in failed {
        ui.error(err);
    }
    if args.ids {
        return print_ids(args, ui, &dump, &entries, &nsids);
    }
    let mut array = JsonArray::default();
    // Asked once, at the first file with no namespace on it.
    let mut adding = None;
    for (entry, nsid) in entries.iter().zip(nsids) {
        if entry.symlink {
            ui.warn(format_args!(
                "{} is a symlink, not a name of its own (netns-del removes the link, and \
                 leaves what it points to)",
                InQuotes::new(&here.run_dir.file(&entry.name))
            ));
            continue;
        }
        if let Some(what) = entry.not_a_name {
            ui.warn(format_args!(
                "{} is no name an add made ({what}); netns-del leaves it",
                InQuotes::new(&here.run_dir.file(&entry.name))
            ));
            continue;
        }
        if entry.inode.is_none() {
            // An add may be about to mount onto it: stale only when none
            // of ours is under way and it is older than a moment.
            if *adding.get_or_insert_with(|| here.run_dir.adding())
                || here.run_dir.just_made(&entry.name)
            {
                continue;
            }
            ui.warn(format_args!(
                "{} holds no namespace (a stale file, as a crashed add leaves); \
                 remove it with netns-del",
                InQuotes::new(&here.run_dir.file(&entry.name))
            ));
            continue;
        }
        if args.json {
            let name = ("name", netns_cli::json_name(ui, &entry.name));
            match nsid {
                None => array.push(ui.out(), &[name]),
                Some(id) => array.push(ui.out(), &[name, ("id", Value::from(id))]),
            }
            continue;
        }
        // ip's format; the name quoted when it needs it (see Name's Display).
        match nsid {
            None => writeln!(ui.out(), "{}", entry.name)?,
            Some(id) => writeln!(ui.out(), "{} (id: {id})", entry.name)?,
        }
    }
    if args.json {
        array.finish(ui.out())?;
    }
    Ok(())
}

/// The nsid table: the kernel's dump, with the ids of named namespaces
/// added should the dump have been cut short, each with its first name.
fn print_ids(
    args: &Args,
    ui: &mut Ui,
    dump: &NsidDump,
    entries: &[Entry],
    nsids: &[Option<u32>],
) -> std::io::Result<()> {
    // Ascending, as the dump's ids are. A Vec, not a BTreeMap: collecting
    // into a map brings a stable sort along, 6 KB of the multicall.
    let mut table: Vec<(u32, Option<&Name>)> = dump.ids.iter().map(|&id| (id, None)).collect();
    for (entry, &nsid) in entries.iter().zip(nsids) {
        let Some(id) = nsid else { continue };
        match table.binary_search_by_key(&id, |&(id, _)| id) {
            Ok(at) => {
                table[at].1.get_or_insert(&entry.name);
            }
            Err(at) => table.insert(at, (id, Some(&entry.name))),
        }
    }
    if dump.cut_short {
        ui.warn(format_args!(
            "the kernel ended its list of nsids after {} of them (it stops an nsid \
             dump after one part): ids of namespaces with no name may be missing",
            dump.ids.len()
        ));
    }
    let mut array = JsonArray::default();
    for (id, name) in table {
        if args.json {
            let nsid = ("nsid", Value::from(id));
            match name {
                None => array.push(ui.out(), &[nsid]),
                Some(name) => {
                    let name = netns_cli::json_name(ui, name);
                    array.push(ui.out(), &[nsid, ("name", name)])
                }
            }
            continue;
        }
        // ip's format, trailing space included.
        write!(ui.out(), "nsid {id} ")?;
        if let Some(name) = name {
            write!(ui.out(), "(iproute2 netns name: {name})")?;
        }
        writeln!(ui.out())?;
    }
    if args.json {
        array.finish(ui.out())?;
    }
    Ok(())
}
