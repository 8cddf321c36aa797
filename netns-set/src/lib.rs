//! `netns-set [--json] NAME NSID|auto`: give a named network namespace an
//! nsid, as `ip netns set NAME NETNSID` does (ip-netns(8)).

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::process::ExitCode;

use netns_cli::{Parsed, Place, Ui, json};
use netns_core::quote::InQuotes;
use netns_core::rootless::Keeper;
use netns_core::{Name, Netns, NsidSocket};

pub const USAGE: &str = concat!(
    "\
Usage: netns-set [OPTIONS] NAME NSID
       netns-set [OPTIONS] NAME auto

Give the namespace NAME the nsid NSID in the current network namespace,
as `ip netns set` does: the number the current namespace uses for NAME's
(`netns-list` shows it as \" (id: N)\", `ip link` as link-netnsid). With
`auto` the kernel picks the lowest free one. An nsid cannot be changed
once given; the kernel refuses a second one, and an nsid another namespace
has. NSID is 0 to 2147483647, written as ip takes it: decimal, 0x hex, or
0 octal. Silent on success.

Options:
",
    netns_cli::place_help!(),
    "  -j, --json         print the nsid given: {\"name\":..,\"nsid\":..}
  -h, --help         print this help
  -V, --version      print the version
"
);

pub struct Args {
    place: Place,
    json: bool,
    name: OsString,
    /// `None` for auto.
    nsid: Option<u32>,
}

pub fn run(args: Vec<OsString>) -> ExitCode {
    netns_cli::run("netns-set", USAGE, args, parse, execute)
}

fn parse(args: Vec<OsString>) -> Result<Parsed<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut place = Place::default();
    let mut json = false;
    let mut name = None;
    let mut nsid = None;
    let mut parser = lexopt::Parser::from_iter(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("run-dir") => place.run_dir = Some(parser.value()?.into()),
            Long("rootless") => place.rootless = true,
            Short('j') | Long("json") => json = true,
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            Value(value) if name.is_none() => name = Some(value),
            Value(value) if nsid.is_none() => nsid = Some(parse_nsid(&value)?),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Parsed::Run(Args {
        place,
        json,
        name: name.ok_or("missing argument NAME")?,
        nsid: nsid.ok_or("missing argument NSID")?,
    }))
}

/// `auto`, or an nsid as ip reads it (strtol with base 0): 0x for hex, a
/// leading 0 for octal, and no more than an s32 holds.
fn parse_nsid(value: &OsStr) -> Result<Option<u32>, lexopt::Error> {
    let text = value.to_string_lossy();
    if text == "auto" {
        return Ok(None);
    }
    let parsed = match (text.strip_prefix("0x"), text.strip_prefix('0')) {
        (Some(hex), _) => u32::from_str_radix(hex, 16),
        (None, Some(octal)) if !octal.is_empty() => u32::from_str_radix(octal, 8),
        _ => text.parse(),
    };
    match parsed {
        Ok(nsid) if nsid <= i32::MAX as u32 && !text.contains('+') => Ok(Some(nsid)),
        _ => Err(format!(
            "invalid NSID {}: 0 to 2147483647, or auto",
            InQuotes::new(value)
        )
        .into()),
    }
}

fn execute(args: &Args, ui: &mut Ui) -> std::io::Result<()> {
    let Some(here) = args.place.enter(ui, Keeper::IfRunning) else {
        return Ok(());
    };
    let set = Name::new(args.name.clone()).and_then(|name| {
        let ns = Netns::open(&here.run_dir, &name)?;
        Ok((NsidSocket::open()?.assign(&ns, args.nsid)?, name))
    });
    match ui.ok(set) {
        Some((nsid, name)) if args.json => {
            let name = netns_cli::json_name(ui, &name);
            netns_cli::write_object(ui.out(), &[("name", name), ("nsid", json!(nsid))])?;
            writeln!(ui.out())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nsids_as_ip_does() {
        let nsid = |s: &str| parse_nsid(OsStr::new(s)).ok();
        assert_eq!(nsid("auto"), Some(None));
        assert_eq!(nsid("7"), Some(Some(7)));
        assert_eq!(nsid("0"), Some(Some(0)));
        assert_eq!(nsid("0x10"), Some(Some(16)));
        assert_eq!(nsid("010"), Some(Some(8)));
        assert_eq!(nsid("2147483647"), Some(Some(2147483647)));
        for bad in [
            "2147483648",
            "-1",
            "+1",
            "0x+1",
            "",
            "x",
            "0x",
            "08",
            "1.0",
            "AUTO",
        ] {
            assert_eq!(nsid(bad), None, "{bad}");
        }
    }
}
