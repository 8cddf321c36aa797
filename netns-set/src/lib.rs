//! `netns-set [--json] NAME NSID|auto`: give a named network namespace an
//! nsid, as `ip netns set NAME NETNSID` does (ip-netns(8)).

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::process::ExitCode;

use netns_cli::{Entered, Parsed, Place, Shared, Ui, Value};
use netns_core::quote::InQuotes;
use netns_core::rootless::Keeper;
use netns_core::{Name, Netns, NsidSocket, RunDir};

pub const USAGE: &str = concat!(
    "\
Usage: netns-set [OPTIONS] NAME NSID
       netns-set [OPTIONS] NAME auto

Give the namespace NAME the nsid NSID in the current network namespace,
as `ip netns set` does: the number the current namespace uses for NAME's
(`netns-list` shows it as \" (id: N)\", `ip link` as link-netnsid). With
`auto` the kernel picks the lowest free one. An nsid cannot be changed
once given; the kernel refuses a second one, and an nsid another namespace
has. NSID is 0 to 2147483647, written as ip takes it (strtol with base 0):
decimal, 0x or 0X hex, 0 octal, with a sign or white space before it.
Silent on success.

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
    netns_cli::run("netns-set", USAGE, args, parse, &mut execute)
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
            // A negative NSID reads as an option (`-1`): taken whole, to be
            // refused as ip refuses it (and `-0` taken, as ip takes it).
            Short(digit) if digit.is_ascii_digit() && name.is_some() && nsid.is_none() => {
                let mut text = OsString::from(format!("-{digit}"));
                text.push(parser.optional_value().unwrap_or_default());
                nsid = Some(parse_nsid(&text)?);
            }
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

/// `auto`, or an nsid as ip reads it (iproute2's get_integer: strtol(3)
/// with base 0, all of it, into an int): white space before it, a sign,
/// 0x or 0X for hex, a leading 0 for octal. A negative one is refused with
/// ip's reason.
fn parse_nsid(value: &OsStr) -> Result<Option<u32>, lexopt::Error> {
    if value == "auto" {
        return Ok(None);
    }
    let why = match strtol(value.as_encoded_bytes()) {
        Some(nsid) if (0..=i64::from(i32::MAX)).contains(&nsid) => return Ok(Some(nsid as u32)),
        Some(nsid) if nsid >= i64::from(i32::MIN) => "the nsid should be >= 0 (or auto)",
        _ => "0 to 2147483647, or auto",
    };
    Err(format!("invalid NSID {}: {why}", InQuotes::new(value)).into())
}

/// strtol(3) with base 0 over the whole of `text`: `None` for no digits,
/// anything after them, or more than an i64 holds.
fn strtol(text: &[u8]) -> Option<i64> {
    let start = text.iter().position(|b| !b" \t\n\x0b\x0c\r".contains(b))?;
    let (negative, rest) = match &text[start..] {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        rest => (false, rest),
    };
    let (radix, digits) = match rest {
        [b'0', b'x' | b'X', hex @ ..] if hex.first().is_some_and(u8::is_ascii_hexdigit) => {
            (16, hex)
        }
        [b'0', octal @ ..] if !octal.is_empty() => (8, octal),
        _ => (10, rest),
    };
    let mut n: i64 = 0;
    for &b in digits {
        let digit = char::from(b).to_digit(radix)?;
        n = n
            .checked_mul(i64::from(radix))?
            .checked_add(i64::from(digit))?;
    }
    match (digits.is_empty(), negative) {
        (true, _) => None,
        (false, true) => Some(-n),
        (false, false) => Some(n),
    }
}

/// What a run of set lines of a batch keeps from one to the next: the
/// netlink socket of the namespace the batch runs in, opened once.
#[derive(Default)]
pub struct Kept {
    socket: Option<NsidSocket>,
}

/// [`run`] for a line of a batch (the multicall's `-batch`): the same, in
/// the batch's shared place, on the socket the earlier set lines there
/// opened.
pub fn run_in(args: Vec<OsString>, shared: &Shared, kept: &mut Kept) -> ExitCode {
    netns_cli::run(
        "netns-set",
        USAGE,
        args,
        parse,
        &mut |args, ui| match shared.enter(&args.place, ui, Keeper::IfRunning) {
            None => Ok(()),
            Some(Entered::Shared(here)) => set(args, ui, &here.run_dir, &mut kept.socket),
            Some(Entered::Own(here)) => set(args, ui, &here.run_dir, &mut None),
        },
    )
}

fn execute(args: &Args, ui: &mut Ui) -> std::io::Result<()> {
    match args.place.enter(ui, Keeper::IfRunning) {
        Some(here) => set(args, ui, &here.run_dir, &mut None),
        None => Ok(()),
    }
}

/// Gives the nsid, on `socket` (opened first if it is not yet).
fn set(
    args: &Args,
    ui: &mut Ui,
    run_dir: &RunDir,
    socket: &mut Option<NsidSocket>,
) -> std::io::Result<()> {
    let set = Name::new(args.name.clone()).and_then(|name| {
        let ns = Netns::open(run_dir, &name)?;
        let socket = match socket {
            Some(socket) => socket,
            None => socket.insert(NsidSocket::open()?),
        };
        Ok((socket.assign(&ns, args.nsid)?, name))
    });
    match ui.ok(set) {
        Some((nsid, name)) if args.json => {
            let name = netns_cli::json_name(ui, &name);
            netns_cli::write_object(ui.out(), &[("name", name), ("nsid", Value::from(nsid))])?;
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
        for (text, n) in [
            ("7", 7),
            ("0", 0),
            ("00", 0),
            ("-0", 0),
            ("0x10", 16),
            ("0X10", 16),
            ("010", 8),
            ("+1", 1),
            (" 3", 3),
            ("\t\n3", 3),
            ("2147483647", 2147483647),
        ] {
            assert_eq!(nsid(text), Some(Some(n)), "{text:?}");
        }
        for bad in [
            "2147483648",
            "-1",
            "-2147483649",
            "0x+1",
            "0+1",
            "+-1",
            "--1",
            "+",
            "",
            " ",
            "x",
            "0x",
            "08",
            "1.0",
            "3 ",
            "AUTO",
            "99999999999999999999",
        ] {
            assert_eq!(nsid(bad), None, "{bad:?}");
        }
        let why = |s: &str| parse_nsid(OsStr::new(s)).unwrap_err().to_string();
        assert!(why("-1").ends_with("should be >= 0 (or auto)"));
        assert!(why("-2147483649").ends_with("0 to 2147483647, or auto"));
    }
}
