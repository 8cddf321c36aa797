//! `netns-link [OPTIONS] NETNS [END] NETNS [END]`: wires named network
//! namespaces together with veth pairs, each made with both ends placed
//! straight into their namespaces; `-` for a link a line, thousands in
//! one process; `--delete` removes a link by one of its ends.

use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::process::ExitCode;

use netns_cli::{JsonArray, Parsed, Place, Ui, Value};
use netns_core::quote::{self, InQuotes, quote};
use netns_core::rootless::Keeper;
use netns_core::{Addr, End, Link, Made, MadeEnd, Name, Netns, RunDir, Wirer};

pub const USAGE: &str = concat!(
    "\
Usage: netns-link [OPTIONS] NETNS [END-OPTIONS] NETNS [END-OPTIONS]
       netns-link [OPTIONS] -
       netns-link [OPTIONS] --delete NETNS IFNAME
       netns-link [OPTIONS] --delete -

Link two named network namespaces with a veth pair: one request makes
both ends, each straight in its namespace, brings them up (and lo in
each namespace), and adds their addresses. A NETNS of `.` is the
namespace this command runs in (the host's; with --rootless the
keeper's): no name can be `.`. Both ends may be in one namespace.

`--netns NAME` is a NETNS too, for a NAME that starts with `-`. The
options after a NETNS are its end's:
  -n, --name IFNAME   its interface name (default: the first ethN that
                      the namespace has no device of)
  -a, --addr ADDR[/LEN]  an address, IPv4 or IPv6 (LEN defaults to 32
                      or 128); repeat it for more. One the namespace
                      has already, on any device and with any LEN,
                      fails the link (but IPv6 link-local ones, fe80::/10,
                      which are each device's own)
      --mtu MTU       its MTU (default: the kernel's, 1500)
  -b, --bridge BRIDGE  join the bridge BRIDGE of its namespace, made
                      (and brought up, but with --no-up) if there is none

With `-`, stdin has a link a line, in the words of a command line's link
(`NETNS [END-OPTIONS] NETNS [END-OPTIONS]`, or with --delete `NETNS
IFNAME`), a word in double quotes read as netns-list quotes names; empty
lines are skipped. A 1000-namespace chain with a /31 on each link:
  seq 999 | awk '{print \"n\"$1, \"-a 10.\"int($1/256)\".\"$1%256\".0/31\",
    \"n\"$1+1, \"-a 10.\"int($1/256)\".\"$1%256\".1/31\"}' | netns-link -

A link that fails at any step is removed again and reported (with its
line number), and the others are still made (exit 1). A link is removed
with --delete by either end; a namespace deleted takes its links along.

One line a link made:
  netns NETNS dev IFNAME index N [addr ADDR/LEN]... peer netns NETNS dev ..

Options:
",
    netns_cli::place_help!(),
    "      --delete       remove the links whose ends are given
      --no-up        leave down all it makes (the ends, the bridges),
                     and lo
      --nodad        add IPv6 addresses without duplicate address
                     detection (IFA_F_NODAD): usable at once. Without it
                     an address is tentative for a second or two, as on a
                     real network, where a duplicate must be found
  -j, --json         print a JSON array, an object a link made:
                     {\"a\": {\"netns\": \"..\", \"ifname\": \"..\",
                     \"ifindex\": N, \"addresses\": [\"ADDR/LEN\"]},
                     \"b\": {..}} (\"netns\" is null for `.`)
  -h, --help         print this help
  -V, --version      print the version
"
);

pub struct Args {
    place: Place,
    json: bool,
    delete: bool,
    up: bool,
    nodad: bool,
    /// The link (or with --delete the end) of the command line, or
    /// `None` for `-`.
    link: Option<Words>,
}

/// A link's words, parsed; with --delete its first end alone, with
/// IFNAME as its name.
#[derive(Clone, Debug, Default)]
struct Words {
    ends: Vec<EndWords>,
}

#[derive(Clone, Debug, Default)]
struct EndWords {
    /// `None` for `.`.
    netns: Option<OsString>,
    ifname: Option<OsString>,
    addrs: Vec<Addr>,
    mtu: Option<u32>,
    bridge: Option<OsString>,
}

pub fn run(args: Vec<OsString>) -> ExitCode {
    netns_cli::run("netns-link", USAGE, args, parse, &mut execute)
}

fn parse(argv: Vec<OsString>) -> Result<Parsed<Args>, lexopt::Error> {
    let mut args = Args {
        place: Place::default(),
        json: false,
        delete: false,
        up: true,
        nodad: false,
        link: None,
    };
    let mut parser = lexopt::Parser::from_iter(argv);
    let said = words(&mut parser, false, Some(&mut args))?;
    match said {
        Said::Help => Ok(Parsed::Help),
        Said::Version => Ok(Parsed::Version),
        Said::Stdin => Ok(Parsed::Run(args)),
        Said::Link(words) => {
            args.link = Some(words);
            Ok(Parsed::Run(args))
        }
    }
}

/// What the words of a command line, or of a line of `-`, say.
enum Said {
    Link(Words),
    /// `-`.
    Stdin,
    Help,
    Version,
}

/// Reads the words of one link (with `delete`, of one end: NETNS
/// IFNAME): a command line's, whose own options (anywhere, after the
/// link's words too, as other verbs take theirs after their names) are
/// set into `args`, or a line of `-`'s (`args` is `None`: they are not
/// a line's).
fn words(
    parser: &mut lexopt::Parser,
    delete: bool,
    mut args: Option<&mut Args>,
) -> Result<Said, lexopt::Error> {
    use lexopt::prelude::*;
    let mut ends: Vec<EndWords> = Vec::new();
    let mut stdin = false;
    let deleting = |args: &Option<&mut Args>| args.as_ref().map_or(delete, |a| a.delete);
    while let Some(arg) = parser.next()? {
        let delete = deleting(&args);
        let room = !stdin && ends.len() < if delete { 1 } else { 2 };
        let netns = match (arg, args.as_deref_mut()) {
            (Value(dash), Some(_)) if dash == "-" && ends.is_empty() && !stdin => {
                stdin = true;
                continue;
            }
            (Value(word), _) if room => netns_of(word),
            // A name that starts with `-`, which would be read as options.
            (Long("netns"), _) if room => Some(parser.value()?),
            (Long("run-dir"), Some(args)) => {
                args.place.run_dir = Some(parser.value()?.into());
                continue;
            }
            (Long("rootless"), Some(args)) => {
                args.place.rootless = true;
                continue;
            }
            (Short('j') | Long("json"), Some(args)) => {
                args.json = true;
                continue;
            }
            (Long("no-up"), Some(args)) => {
                args.up = false;
                continue;
            }
            (Long("nodad"), Some(args)) => {
                args.nodad = true;
                continue;
            }
            (Long("delete"), Some(args)) if ends.is_empty() && !stdin => {
                args.delete = true;
                continue;
            }
            (Short('h') | Long("help"), Some(_)) => return Ok(Said::Help),
            (Short('V') | Long("version"), Some(_)) => return Ok(Said::Version),
            (arg, args) => {
                let option = match arg {
                    Short('n') | Long("name") => 'n',
                    Short('a') | Long("addr") => 'a',
                    Long("mtu") => 'm',
                    Short('b') | Long("bridge") => 'b',
                    _ => return Err(misplaced(arg, args.is_none(), false)),
                };
                match ends.last_mut() {
                    Some(end) if !delete => end_option(parser, end, option)?,
                    end => return Err(misplaced(arg, args.is_none(), end.is_some())),
                }
                continue;
            }
        };
        let mut end = EndWords {
            netns,
            ..EndWords::default()
        };
        if delete {
            let ifname = parser.value().map_err(|_| "--delete takes NETNS IFNAME")?;
            ifname_ok(&ifname)?;
            end.ifname = Some(ifname);
        }
        ends.push(end);
    }
    let delete = deleting(&args);
    match ends.len() {
        _ if stdin => Ok(Said::Stdin),
        1 if delete => Ok(Said::Link(Words { ends })),
        2 => Ok(Said::Link(Words { ends })),
        0 if args.is_some() => Err("no link given (NETNS NETNS, or - for stdin)".into()),
        _ if delete => Err("--delete takes NETNS IFNAME".into()),
        _ => Err("a link needs two NETNS".into()),
    }
}

/// The words of a line of `-`: a link's (or with `delete` an end's).
fn words_of(parser: &mut lexopt::Parser, delete: bool) -> Result<Words, lexopt::Error> {
    match words(parser, delete, None)? {
        Said::Link(words) => Ok(words),
        _ => Err("a link needs two NETNS".into()),
    }
}

/// An interface name the kernel would refuse is a usage error (on a line
/// of `-`, a failing line): said before anything is made.
fn ifname_ok(name: &OsStr) -> Result<(), lexopt::Error> {
    netns_core::check_ifname(name).map_err(|err| err.to_string().into())
}

/// One of an end's options (`n`ame, `a`ddr, `m`tu, `b`ridge) and its
/// value, into `end`.
fn end_option(
    parser: &mut lexopt::Parser,
    end: &mut EndWords,
    option: char,
) -> Result<(), lexopt::Error> {
    let value = parser.value()?;
    match option {
        'n' => {
            ifname_ok(&value)?;
            end.ifname = Some(value);
        }
        'a' => {
            let text = value.to_str().unwrap_or_default();
            let addr = Addr::parse(text).map_err(|why| match text {
                "" => format!("invalid address {}", InQuotes::new(&value)),
                _ => why,
            })?;
            end.addrs.push(addr);
        }
        'm' => {
            let mtu = value.to_str().and_then(|v| v.parse().ok());
            end.mtu = Some(mtu.ok_or_else(|| format!("invalid MTU {}", InQuotes::new(&value)))?);
        }
        _ => {
            ifname_ok(&value)?;
            end.bridge = Some(value);
        }
    }
    Ok(())
}

/// An option where it does not belong, said so: an end's before any
/// NETNS or with --delete (`after` its NETNS), `--delete` after the
/// words it changes, the command's on a `line` of `-`.
fn misplaced(arg: lexopt::Arg<'_>, line: bool, after: bool) -> lexopt::Error {
    use lexopt::prelude::*;
    let option = match arg {
        Short(c) => format!("-{c}"),
        Long(name) => format!("--{name}"),
        Value(_) => return arg.unexpected(),
    };
    let why = match arg {
        Short('n' | 'a' | 'b') | Long("name" | "addr" | "mtu" | "bridge") if after => {
            "is no option of --delete's"
        }
        Short('n' | 'a' | 'b') | Long("name" | "addr" | "mtu" | "bridge") => {
            "comes before any NETNS"
        }
        Long("delete") if !line => "comes before the link's words",
        Short('j' | 'h' | 'V')
        | Long(
            "run-dir" | "rootless" | "json" | "delete" | "no-up" | "nodad" | "help" | "version",
        ) if line => "is the command's, not a line's",
        _ => return arg.unexpected(),
    };
    format!("{option} {why}").into()
}

/// A NETNS word: `.` is this process's namespace.
fn netns_of(word: OsString) -> Option<OsString> {
    (word != ".").then_some(word)
}

fn execute(args: &Args, ui: &mut Ui) -> io::Result<()> {
    let Some(here) = args.place.enter(ui, Keeper::IfRunning) else {
        return Ok(());
    };
    let Some(wirer) = ui.ok(Wirer::new()) else {
        return Ok(());
    };
    let mut work = Work {
        run_dir: &here.run_dir,
        wirer: wirer.up(args.up).nodad(args.nodad),
        opened: Vec::new(),
        batch: Vec::new(),
        json: args.json.then(JsonArray::default),
        delete: args.delete,
    };
    match &args.link {
        Some(words) => work.take(ui, None, Ok(words)),
        None => {
            // Reads of a buffer this large bypass stdin's own, so that
            // what is buffered is all in this one.
            let mut stdin = io::BufReader::with_capacity(1 << 16, io::stdin().lock());
            let mut line = Vec::new();
            for number in 1.. {
                line.clear();
                // What has come is made before waiting for more: a name
                // opened now still holds the namespace it names when its
                // link is sent, whatever the writer does meanwhile.
                if !netns_cli::line_at_hand(&stdin) {
                    if !work.batch.is_empty() {
                        work.flush(ui);
                    }
                    // What the namespaces hold is read again after the
                    // wait: `ip` or another tool may change it meanwhile.
                    work.wirer.forget();
                }
                let len = match netns_cli::read_bounded_line(&mut stdin, &mut line, MAX_LINE) {
                    Ok(Some(len)) => len,
                    Ok(None) => break,
                    Err(err) => {
                        ui.error(netns_core::Error::io_sys("read stdin", &err));
                        break;
                    }
                };
                if len > MAX_LINE {
                    let why = format!("{len} bytes, longer than a link's line can be");
                    work.take(ui, Some(number), Err(why));
                    continue;
                }
                let parsed = split(&line).and_then(|words| match words.is_empty() {
                    true => Ok(None),
                    false => {
                        let mut parser = lexopt::Parser::from_args(words);
                        match words_of(&mut parser, args.delete) {
                            Ok(words) => Ok(Some(words)),
                            Err(err) => Err(err.to_string()),
                        }
                    }
                });
                match parsed {
                    Ok(Some(words)) => work.take(ui, Some(number), Ok(&words)),
                    Ok(None) => {}
                    Err(why) => work.take(ui, Some(number), Err(why)),
                }
            }
        }
    }
    work.flush(ui);
    if let Some(array) = work.json.take() {
        array.finish(ui.out())?;
    }
    Ok(())
}

/// The longest line of `-` that is kept: room for two names quoted at
/// their longest (1,022 bytes each) and a few hundred addresses; a longer
/// one is counted, reported and skipped, not held in memory.
const MAX_LINE: usize = 64 * 1024;

/// A run's state: the namespaces opened (each once), the links waiting
/// to be sent, the output.
struct Work<'r> {
    run_dir: &'r RunDir,
    wirer: Wirer,
    /// At most a few batches' worth (a Vec, not a map: size).
    opened: Vec<(OsString, Netns)>,
    /// Links waiting: their line, and their words, or why the line is
    /// refused (reported in its turn, so that messages come in line
    /// order).
    batch: Vec<(Option<usize>, Result<Words, String>)>,
    json: Option<JsonArray>,
    delete: bool,
}

impl Work<'_> {
    /// Takes one link (or end to delete): its namespaces opened, then
    /// queued, and the queue sent when full.
    fn take(&mut self, ui: &mut Ui, line: Option<usize>, words: Result<&Words, String>) {
        let words = match words {
            Ok(words) => words,
            Err(why) => return self.queue(ui, line, Err(why)),
        };
        for end in &words.ends {
            let Some(name) = &end.netns else { continue };
            if self.opened.iter().any(|(n, _)| n == name) {
                continue;
            }
            let opened = Name::new(name.clone()).and_then(|n| Netns::open(self.run_dir, &n));
            match opened {
                Ok(ns) => {
                    self.opened.push((name.clone(), ns));
                }
                Err(err) => return self.queue(ui, line, Err(err.to_string())),
            }
        }
        self.queue(ui, line, Ok(words.clone()));
    }

    fn queue(&mut self, ui: &mut Ui, line: Option<usize>, words: Result<Words, String>) {
        self.batch.push((line, words));
        // Each a line's namespaces held open until it is sent: as many
        // as the open-file limit has room for.
        if self.batch.len() >= self.wirer.links_at_once() {
            self.flush(ui);
        }
    }

    /// Sends the links waiting, and reports each.
    fn flush(&mut self, ui: &mut Ui) {
        let batch = std::mem::take(&mut self.batch);
        if self.delete {
            for (line, words) in &batch {
                let words = match words {
                    Ok(words) => words,
                    Err(why) => {
                        netns_cli::refuse(ui, *line, format_args!("{why}"));
                        continue;
                    }
                };
                let end = &words.ends[0];
                let ns = end.netns.as_ref().map(|n| opened(&self.opened, n));
                let ifname = end.ifname.as_deref().unwrap_or_default();
                if let Err(err) = self.wirer.delete(ns, ifname) {
                    netns_cli::refuse(ui, *line, err);
                }
            }
        } else {
            let end = |e: &EndWords| End {
                ns: e.netns.as_ref().map(|n| opened(&self.opened, n)),
                ifname: e.ifname.clone(),
                addrs: e.addrs.clone(),
                mtu: e.mtu,
                bridge: e.bridge.clone(),
            };
            let links: Vec<Link<'_>> = batch
                .iter()
                .filter_map(|(_, w)| w.as_ref().ok())
                .map(|w| Link {
                    a: end(&w.ends[0]),
                    b: end(&w.ends[1]),
                })
                .collect();
            let made = self.wirer.make(&links);
            let mut made = made.into_iter();
            for (line, words) in &batch {
                let words = match words {
                    Ok(words) => words,
                    Err(why) => {
                        netns_cli::refuse(ui, *line, format_args!("{why}"));
                        continue;
                    }
                };
                match made.next().expect("a result a link") {
                    Ok(made) => self.report(ui, words, &made),
                    Err(err) => netns_cli::refuse(ui, *line, err),
                }
            }
        }
        // Each batch opens its names afresh: a name deleted and made again
        // meanwhile is the new namespace (links made in the old one went
        // with it, reported made), and descriptors stay a batch's.
        self.opened.clear();
        // Printed as each batch is made, not when stdin ends: a slow
        // writer sees its links, and a ^C during the next batch (it ends
        // the process there) leaves none made unreported. A failed write
        // stays in the buffer and is reported by the last flush.
        let _ = ui.out().flush();
    }

    fn report(&mut self, ui: &mut Ui, words: &Words, made: &Made) {
        let ends = [(&words.ends[0], &made.a), (&words.ends[1], &made.b)];
        match &mut self.json {
            Some(array) => {
                let (a, b) = (
                    json_end(ui, ends[0].0, ends[0].1),
                    json_end(ui, ends[1].0, ends[1].1),
                );
                array.push_nested(ui.out(), &[("a", &a), ("b", &b)]);
            }
            None => {
                let mut text = String::new();
                for (i, (e, m)) in ends.into_iter().enumerate() {
                    if i == 1 {
                        text.push_str(" peer ");
                    }
                    let netns = e.netns.as_deref().unwrap_or(OsStr::new("."));
                    text.push_str(&format!(
                        "netns {} dev {} index {}",
                        quote(netns.as_bytes()),
                        quote(m.ifname.as_bytes()),
                        m.ifindex
                    ));
                    for addr in &m.addrs {
                        text.push_str(&format!(" addr {addr}"));
                    }
                }
                let _ = writeln!(ui.out(), "{text}");
            }
        }
    }
}

/// The namespace opened for `name` (every name of a batch is).
fn opened<'o>(opened: &'o [(OsString, Netns)], name: &OsStr) -> &'o Netns {
    let found = opened.iter().find(|(n, _)| n == name);
    &found.expect("opened before it was queued").1
}

fn json_end(ui: &mut Ui, e: &EndWords, m: &MadeEnd) -> [(&'static str, Value); 4] {
    let text = |ui: &mut Ui, s: &OsStr| match s.to_str() {
        Some(s) => Value::from(s),
        None => {
            ui.warn(format_args!(
                "{} is not UTF-8: its JSON string has U+FFFD in place of the bytes that are not",
                InQuotes::new(s)
            ));
            Value::from(s.to_string_lossy())
        }
    };
    let netns = match &e.netns {
        Some(n) => text(ui, n),
        None => Value::Null,
    };
    let addrs: Vec<Value> = m.addrs.iter().map(|a| Value::from(a.to_string())).collect();
    [
        ("netns", netns),
        ("ifname", text(ui, &m.ifname)),
        ("ifindex", Value::from(m.ifindex)),
        ("addresses", Value::from(addrs)),
    ]
}

/// The words of a line of `-`: split at white space, a word in double
/// quotes decoded as netns-list quotes names.
fn split(line: &[u8]) -> Result<Vec<OsString>, String> {
    let mut words = Vec::new();
    let mut rest = line;
    loop {
        let start = rest.iter().position(|b| !b.is_ascii_whitespace());
        let Some(start) = start else { break };
        rest = &rest[start..];
        let len = match rest[0] {
            b'"' => {
                let mut at = 1;
                loop {
                    match rest.get(at) {
                        None => return Err("a double quote is not closed".into()),
                        Some(b'\\') => at += 2,
                        // `"a"b` is no word netns-list writes: not
                        // taken as two.
                        Some(b'"') => match rest.get(at + 1) {
                            Some(b) if !b.is_ascii_whitespace() => {
                                return Err("a word goes on after its closing double quote".into());
                            }
                            _ => break at + 1,
                        },
                        Some(_) => at += 1,
                    }
                }
            }
            _ => rest
                .iter()
                .position(|b| b.is_ascii_whitespace())
                .unwrap_or(rest.len()),
        };
        let word = quote::unquote(&rest[..len.min(rest.len())])?;
        words.push(OsString::from_vec(word.into_owned()));
        rest = &rest[len.min(rest.len())..];
    }
    Ok(words)
}
