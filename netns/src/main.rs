//! `netns`: every verb in one binary, for minimal images. It runs the verb
//! named by the link it was run through (`netns-add`, busybox-style) or by
//! its first argument (`netns add`), and takes `ip netns`'s words and
//! options too (`netns -all delete`, `netns -j list`, `netns monitor`), so
//! that it can stand in for `ip netns` in scripts. The verbs are the same
//! library functions the single binaries call.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

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

Named network namespaces, as `ip netns` keeps them. Verbs (each has --help):
  add NAME...           make namespaces and name them
  attach NAME PID       name a process's namespace
  del NAME... | --all   remove names                      (ip: delete)
  exec NAME CMD...      run CMD in the namespace
  identify [PID]        the names of a process's namespace
  inspect [NAME|PID|PATH...]  every namespace and what holds it
  list [--ids]          the names, or the nsid table      (ip: list-id)
  list --dev DEV        the names that hold device DEV    (card: list dev DEV)
  pids NAME             the processes in the namespace
  set NAME NSID|auto    give the namespace an nsid
  watch [--names|--ids]  a line per name or nsid added or deleted
                        (ip: monitor; card: monitor [all | name | id])

With no verb it lists, as `ip netns` does. ip's words (add, delete, list,
show, list-id, monitor, ...) work too, shortened as ip allows (`s` is show,
`d` is delete). Before the verb, `-j`/`-json` asks for JSON and `-all`
applies delete or exec to every namespace, as ip's global options do.

Options:
      --verbs        print the verbs, one a line (to make the links)
  -h, --help         print this help
  -V, --version      print the version
";

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    let called = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(OsStr::to_owned)
        .unwrap_or_default();
    if let Some(run) = called
        .to_str()
        .and_then(|name| name.strip_prefix("netns-"))
        .and_then(verb)
    {
        return run(args);
    }
    args.remove(0);
    dispatch(args)
}

fn verb(name: &str) -> Option<Run> {
    VERBS.iter().find(|(n, _)| *n == name).map(|(_, run)| *run)
}

/// `netns [-j] [-all] VERB ARGS...`: ip's global options first, then a verb
/// of ours or of ip's; nothing at all lists.
fn dispatch(mut args: Vec<OsString>) -> ExitCode {
    let mut extra: Vec<OsString> = Vec::new();
    while let Some(first) = args.first().and_then(|a| a.to_str()) {
        match first {
            "-j" | "-json" => extra.push("--json".into()),
            "-all" => extra.push("--all".into()),
            "-h" | "--help" => return say(USAGE.to_owned()),
            "--verbs" => return say(VERBS.iter().map(|(verb, _)| format!("{verb}\n")).collect()),
            "-V" | "--version" => return say(format!("netns {}\n", env!("CARGO_PKG_VERSION"))),
            _ => break,
        }
        args.remove(0);
    }
    let word = match args.is_empty() {
        true => "list".to_owned(),
        false => args.remove(0).to_string_lossy().into_owned(),
    };
    let (name, implied): (&str, &[&str]) = match verb(&word) {
        Some(_) => (&word, &[]),
        None => IP_WORDS
            .iter()
            .find(|(ip, _, _)| !word.is_empty() && ip.starts_with(word.as_str()))
            .map_or((word.as_str(), &[]), |(_, ours, with)| (*ours, *with)),
    };
    if name == "help" {
        return say(USAGE.to_owned());
    }
    let Some(run) = verb(name) else {
        let word = netns_core::quote::InQuotes(word.as_bytes());
        netns_cli::say(format_args!(
            "netns: unknown verb {word}\nTry 'netns --help' for the verbs."
        ));
        return ExitCode::from(2);
    };
    card_words(name, &mut args);
    let mut argv: Vec<OsString> = vec![format!("netns-{name}").into()];
    argv.extend(implied.iter().map(OsString::from));
    argv.extend(extra);
    argv.extend(args);
    run(argv)
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
