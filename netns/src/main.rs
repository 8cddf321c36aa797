//! `netns`: every verb in one binary, for minimal images. It runs the verb
//! named by the link it was run through (`netns-add`, busybox-style) or by
//! its first argument (`netns add`), and takes `ip netns`'s words and
//! options too (`netns -all delete`, `netns -j list`, `netns monitor`) and
//! ip's batch files (`netns -batch FILE`: see batch.rs), so that it can
//! stand in for `ip netns` in scripts. The verbs are the same library
//! functions the single binaries call.

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

mod batch;

/// A verb's entry point: its argv, argv[0] first.
type Run = fn(Vec<OsString>) -> ExitCode;

/// Our verbs, as the single binaries are named after them.
const VERBS: &[(&str, Run)] = &[
    ("add", netns_add::run),
    ("attach", netns_attach::run),
    ("del", netns_del::run),
    ("exec", netns_exec::run),
    ("identify", netns_identify::run),
    ("inspect", netns_inspect::run),
    ("link", netns_link::run),
    ("list", netns_list::run),
    ("pids", netns_pids::run),
    ("set", netns_set::run),
    ("watch", netns_watch::run),
];

/// `ip netns`'s words, in the order ip tries them, with our verb for each
/// and the options that make it mean the same (`list-id` is `list
/// --ids`). As in ip, a word may be shortened to any prefix, the first
/// match winning: `s` is `show`, `a` is `add`, `d` is `delete`.
const IP_WORDS: &[(&str, &str, &[&str])] = &[
    ("list", "list", &[]),
    ("show", "list", &[]),
    ("lst", "list", &[]),
    ("list-id", "list", &["--ids"]),
    ("help", "help", &[]),
    ("add", "add", &[]),
    ("set", "set", &[]),
    ("delete", "del", &[]),
    ("identify", "identify", &[]),
    ("pids", "pids", &[]),
    ("exec", "exec", &[]),
    ("monitor", "watch", &[]),
    ("attach", "attach", &[]),
];

const USAGE: &str = "\
Usage: netns VERB [ARGS...]
       netns-VERB [ARGS...]          (run through a link of that name)
       netns [-j|-json] [-all] IP-NETNS-VERB [ARGS...]
       netns [-force] -b|-batch FILE

Named network namespaces, as `ip netns` keeps them. Verbs (each has --help):
  add NAME...           make namespaces and name them
  attach NAME PID       name a process's namespace
  del NAME... | --all   remove names                      (ip: delete)
  exec NAME CMD...      run CMD in the namespace
  identify [PID]        the names of a process's namespace
  inspect [NAME|PID|PATH...]  every namespace and what holds it
  link NETNS NETNS | -  veth pairs between namespaces, addresses, bridges
  list [--ids]          the names, or the nsid table      (ip: list-id)
  list --dev DEV        the names that hold device DEV    (card: list dev DEV)
  pids NAME             the processes in the namespace
  set NAME NSID|auto    give the namespace an nsid
  watch [--names|--ids]  a line per name or nsid added or deleted
                        (ip: monitor; card: monitor [all | name | id])

With no verb it lists, as `ip netns` does. ip's words (add, delete, list,
show, list-id, monitor, ...) work too, shortened as ip allows (`s` is show,
`d` is delete), and so do links named after them (netns-delete); a link
of any other name is refused. Before the verb, `-j`/`-json` asks for JSON
and `-all` applies delete or exec to every namespace (the other verbs
ignore it), as ip's global options do, spelled as ip takes them: with one
dash or two, shortened (`-js`, `--json`, `-a`).

With -batch, the lines of FILE (stdin for `-`) run in this one process,
as ip's batch files do (`ip -batch FILE`): a line is what could follow
`netns` on a command line, with ip's leading `netns` or without it
(`netns add blue`, `add blue`). As ip reads them, `#` ends a line's text,
a backslash at the end of a line joins the next, and a word that starts
with ' or \" runs to the next of that quote. -j and -all before -batch
apply to every line. Consecutive add lines share one set-up of the run
dir, and del lines their teardowns (at the end). A line that fails is
reported after the verb's own message as `Command failed FILE:LINE` and
ends the batch, but with -force (-fo), which goes on. The exit status is
1 if any line failed. An exec line runs CMD in a child and goes on.

Options:
      --verbs        print the verbs, one a line (to make the links)
  -h, --help         print this help
  -V, --version      print the version
";

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    let called = args
        .next()
        .and_then(|a| Some(Path::new(&a).file_name()?.to_owned()))
        .unwrap_or_default();
    let args: Vec<OsString> = args.collect();
    if called == "netns" {
        return dispatch(args);
    }
    // A link names its verb as the first argument would: `netns-delete`
    // is del. Any other name is refused: run as plain `netns`, a link
    // named after one of ip's words took its arguments for a verb
    // (`netns-delete a b` made b).
    match called
        .to_str()
        .and_then(|name| name.strip_prefix("netns-"))
        .and_then(resolve)
    {
        Some((name, implied)) => start(name, implied, Vec::new(), args, None),
        None => {
            let name = netns_core::quote::InQuotes::new(&called);
            netns_cli::say(format_args!(
                "netns: unknown link name {name}: run it as netns, or through a link named \
                 netns-VERB\nTry 'netns --help' for the verbs."
            ));
            ExitCode::from(2)
        }
    }
}

fn verb(name: &str) -> Option<Run> {
    VERBS.iter().find(|(n, _)| *n == name).map(|(_, run)| *run)
}

/// Our verb for `word`, and the options that make it mean what ip's word
/// means: a verb of ours as it is, else one of ip's words or a prefix of
/// one (the first in ip's order).
fn resolve(word: &str) -> Option<(&str, &'static [&'static str])> {
    if verb(word).is_some() {
        return Some((word, &[]));
    }
    IP_WORDS
        .iter()
        .find(|(ip, _, _)| !word.is_empty() && ip.starts_with(word))
        .map(|(_, ours, with)| (*ours, *with))
}

/// ip's global options that mean something to our verbs, as given
/// before the verb (or before -batch, for each of its lines).
#[derive(Clone, Copy, Default)]
struct Globals {
    json: bool,
    all: bool,
}

/// What came before the verb: ip's global options, and -batch's FILE.
#[derive(Default)]
struct Options {
    globals: Globals,
    batch: Option<OsString>,
    force: bool,
}

/// `netns [-j] [-all] VERB ARGS...` or `netns [-force] -batch FILE`: ip's
/// global options first, then a verb of ours or of ip's (nothing at all
/// lists), or the lines of FILE.
fn dispatch(mut args: Vec<OsString>) -> ExitCode {
    let options = match options(&mut args) {
        Ok(options) => options,
        Err(done) => return done,
    };
    let Some(file) = options.batch else {
        return run_words(options.globals, args, None);
    };
    if let Some(word) = args.first() {
        let word = netns_core::quote::InQuotes::new(word);
        return usage_error(format_args!(
            "-batch runs the lines of FILE: nothing may follow it ({word} did)"
        ));
    }
    batch::run(&file, options.globals, options.force)
}

/// One line of a batch: what could follow `netns` on a command line, but
/// -batch, after ip's leading `netns` or without it, with the batch's own
/// options for every line, as ip has them.
fn run_line(batch: Globals, mut words: Vec<OsString>, kept: &mut batch::Kept<'_>) -> ExitCode {
    if is_netns(&words[0]) {
        words.remove(0);
    }
    let options = match options(&mut words) {
        Ok(options) => options,
        Err(done) => return done,
    };
    if options.batch.is_some() {
        return usage_error(format_args!("-batch in a line of a batch"));
    }
    let globals = Globals {
        json: batch.json || options.globals.json,
        all: batch.all || options.globals.all,
    };
    run_words(globals, words, Some(kept))
}

/// The object as ip matches it: `net` and `netn` are netns to ip too
/// (`ne` is neigh), and no verb of ours starts with them.
fn is_netns(word: &OsString) -> bool {
    word.len() >= 3 && "netns".as_bytes().starts_with(word.as_encoded_bytes())
}

/// The verb and name of a batch line that is ip's `netns add NAME` or
/// `netns delete NAME` and nothing more (no option, ours or ip's, and
/// none from the batch's -j or -all): such lines are run together, as
/// `netns-add -` and `netns-del -` run their names (see batch.rs), which a
/// line of its own cannot be.
fn plain_line(batch: Globals, words: &mut [OsString]) -> Option<(&'static str, OsString)> {
    let words = match words.first() {
        Some(first) if is_netns(first) => &mut words[1..],
        _ => words,
    };
    match words {
        [verb, name] if !batch.json && !batch.all && !name.as_encoded_bytes().starts_with(b"-") => {
            let verb = match resolve(verb.to_str()?)? {
                ("add", []) => "add",
                ("del", []) => "del",
                _ => return None,
            };
            Some((verb, std::mem::take(name)))
        }
        _ => None,
    }
}

/// Takes ip's global options (and ours: help, version, --verbs) off the
/// front of `args`; `Err` is the exit status of a run that ends there.
fn options(args: &mut Vec<OsString>) -> Result<Options, ExitCode> {
    let mut options = Options::default();
    while let Some(first) = args.first().and_then(|a| a.to_str()).map(str::to_owned) {
        match first.as_str() {
            "-h" | "--help" => return Err(say(USAGE.to_owned())),
            "--verbs" => {
                return Err(say(VERBS
                    .iter()
                    .map(|(verb, _)| format!("{verb}\n"))
                    .collect()));
            }
            "-V" | "--version" => {
                return Err(say(format!("netns {}\n", env!("CARGO_PKG_VERSION"))));
            }
            "--" => {
                args.remove(0);
                break;
            }
            _ => {}
        }
        // As ip reads its options: two dashes as one, and any prefix of
        // the option's name that no option before it in ip's order has
        // (none before -json, -all and -batch starts with j, a or b;
        // -family takes -f and -fa before -force).
        let option = match first.starts_with("--") {
            true => &first[1..],
            false => &first,
        };
        let is = |name: &str| option.len() > 1 && name.starts_with(option);
        if is("-json") {
            options.globals.json = true;
        } else if is("-all") {
            options.globals.all = true;
        } else if is("-force") && !"-family".starts_with(option) {
            options.force = true;
        } else if is("-batch") {
            if args.len() < 2 {
                return Err(usage_error(format_args!("option {first} needs a FILE")));
            }
            options.batch = Some(args.remove(1));
        } else {
            break;
        }
        args.remove(0);
    }
    Ok(options)
}

/// `VERB ARGS...` with ip's global options: our verb or one of ip's
/// words, run alone or as a line of a batch (with what it keeps).
fn run_words(
    globals: Globals,
    mut args: Vec<OsString>,
    batch: Option<&mut batch::Kept<'_>>,
) -> ExitCode {
    let word = match args.is_empty() {
        true => "list".to_owned(),
        false => args.remove(0).to_string_lossy().into_owned(),
    };
    let Some((name, implied)) = resolve(&word) else {
        let word = netns_core::quote::InQuotes(word.as_bytes());
        return usage_error(format_args!("unknown verb {word}"));
    };
    let mut extra: Vec<OsString> = Vec::new();
    // Every verb but exec has --json; ip's -json means nothing to an exec
    // (`ip -j netns exec NAME CMD` runs CMD).
    if globals.json && name != "exec" {
        extra.push("--json".into());
    }
    // ip's -all means something to delete and exec only; the others
    // ignore it (`ip -all netns` lists).
    if globals.all && matches!(name, "del" | "exec") {
        extra.push("--all".into());
    }
    start(name, implied, extra, args, batch)
}

/// A usage error of the multicall's own: the message, a pointer to the
/// help, and exit status 2.
fn usage_error(what: std::fmt::Arguments<'_>) -> ExitCode {
    netns_cli::say(format_args!(
        "netns: {what}\nTry 'netns --help' for the verbs."
    ));
    ExitCode::from(2)
}

/// Runs the verb `name` (or the help) with `implied` and `extra` options
/// before `args`, the card's words among them read as our options.
fn start(
    name: &str,
    implied: &[&str],
    extra: Vec<OsString>,
    mut args: Vec<OsString>,
    batch: Option<&mut batch::Kept<'_>>,
) -> ExitCode {
    let Some(run) = verb(name) else {
        return say(USAGE.to_owned());
    };
    card_words(name, &mut args);
    let mut argv: Vec<OsString> = vec![format!("netns-{name}").into()];
    argv.extend(implied.iter().map(OsString::from));
    argv.extend(extra);
    argv.extend(args);
    match batch {
        None => run(argv),
        Some(kept) => kept.run(name, run, argv),
    }
}

/// The card's words after a verb, as our options: `list dev DEV` (and
/// `show dev DEV`) is `list --dev DEV`; `monitor all`, `monitor name` and
/// `monitor id` are `watch`, `watch --names` and `watch --ids`.
fn card_words(verb: &str, args: &mut Vec<OsString>) {
    let option = match (verb, args.first().and_then(|a| a.to_str())) {
        ("list", Some("dev")) => "--dev",
        ("watch", Some("all")) => {
            args.remove(0);
            return;
        }
        ("watch", Some("name")) => "--names",
        ("watch", Some("id")) => "--ids",
        _ => return,
    };
    args[0] = option.into();
}

/// Writes `text` to stdout; a reader that went away (`netns --verbs |
/// head -1`) is no failure, as in the verbs.
fn say(text: String) -> ExitCode {
    let _ = std::io::stdout().write_all(text.as_bytes());
    ExitCode::SUCCESS
}
