//! The multicall `netns`: dispatch by link name and by first argument,
//! ip's syntax, and the same output and status as the single binaries.

use std::path::PathBuf;
use std::process::Command;

use crate::util::{Output, Sandbox, bin, output};

/// The multicall binary, beside the verb binaries.
fn multicall() -> PathBuf {
    bin("add").with_file_name("netns")
}

fn netns(sb: &Sandbox, args: &[&str]) -> Output {
    let mut cmd = Command::new(multicall());
    cmd.env("NETNS_RUN_DIR", &sb.run).args(args);
    output(&mut cmd, "")
}

/// An output with the sandbox's paths and its namespaces' inodes (in
/// inspect's `net:[N]` and `"ns":N`) made alike, to compare two runs.
fn alike(out: Output, sb: &Sandbox) -> (i32, String, String) {
    let run = sb.run.display().to_string();
    let same = |text: &str| {
        let text = text.replace(&run, "RUN");
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(|c: char| c.is_ascii_digit()) {
            let (before, from) = rest.split_at(at);
            let digits = from.len() - from.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            out.push_str(before);
            let inode = before.ends_with("net:[") || before.ends_with("\"ns\":");
            out.push_str(if inode { "N" } else { &from[..digits] });
            rest = &from[digits..];
        }
        out + rest
    };
    (out.code, same(&out.stdout), same(&out.stderr))
}

#[test]
fn every_verb_says_and_exits_the_same_as_its_single_binary() {
    let me = std::process::id().to_string();
    let cases: &[(&str, &[&str])] = &[
        ("add", &["c"]),
        ("add", &["--json", "c", "d"]),
        ("add", &["a"]),
        ("add", &[]),
        ("del", &["a"]),
        ("del", &["--json", "nope", "b"]),
        ("list", &[]),
        ("list", &["--json"]),
        ("list", &["--bogus"]),
        ("list", &["--dev", "lo"]),
        ("list", &["--dev", "nope", "-j"]),
        ("pids", &["a"]),
        ("pids", &["-j", "a"]),
        ("identify", &[&me]),
        ("identify", &[]),
        ("identify", &["x"]),
        ("inspect", &["nope"]),
        ("inspect", &["a", "b"]),
        ("inspect", &["--json", "a"]),
        ("link", &["nope", "b"]),
        ("link", &["a"]),
        ("link", &["--delete", "a", "nope"]),
        ("attach", &["c", &me]),
        ("attach", &["a", &me]),
        ("set", &["a", "x"]),
        ("set", &["nope", "1"]),
        ("exec", &["a", "true"]),
        ("exec", &["a", "sh", "-c", "exit 3"]),
        ("exec", &["a", "/nonexistent"]),
        ("exec", &["--all", "sh", "-c", "ip -br link"]),
        ("exec", &["-a", "false"]),
        ("del", &["--json", "a", "b"]),
        // Names only: the host's nsids change as other tests run.
        ("watch", &["--names", "--existing", "--count", "0"]),
        ("watch", &["--names", "-j", "-e", "-c", "0"]),
    ];
    let verbs = [
        "add", "attach", "del", "exec", "identify", "inspect", "link", "list", "pids", "set",
        "watch",
    ];
    let help: Vec<(&str, Vec<&str>)> = verbs
        .iter()
        .flat_map(|v| [(*v, vec!["--help"]), (*v, vec!["--version"])])
        .collect();
    let all = cases.iter().map(|(v, a)| (*v, a.to_vec())).chain(help);
    for (verb, args) in all {
        let (one, many) = (Sandbox::with(&["a", "b"]), Sandbox::with(&["a", "b"]));
        let single = alike(one.run(verb, &args), &one);
        let mut argv = vec![verb];
        argv.extend(&args);
        let multi = alike(netns(&many, &argv), &many);
        assert_eq!(single, multi, "{verb} {args:?}");
        assert_eq!(one.entries(), many.entries(), "{verb} {args:?}");
    }
}

#[test]
fn a_link_named_after_a_verb_runs_that_verb() {
    let sb = Sandbox::with(&["a"]);
    let link = sb.run.with_file_name("netns-list");
    std::os::unix::fs::symlink(multicall(), &link).unwrap();
    let out = output(Command::new(&link).env("NETNS_RUN_DIR", &sb.run), "");
    assert_eq!((out.code, out.stdout.as_str()), (0, "a\n"), "{out:?}");
}

#[test]
fn ip_words_and_global_options_work() {
    let sb = Sandbox::with(&["a", "b"]);
    assert_eq!(netns(&sb, &[]).stdout, "a\nb\n", "no verb lists");
    assert_eq!(
        netns(&sb, &["-j", "list"]).stdout,
        "[{\"name\":\"a\"},{\"name\":\"b\"}]\n"
    );
    assert_eq!(netns(&sb, &["show"]).stdout, "a\nb\n");
    // The card's words: `list dev DEV`, `monitor [all | name | id]`.
    assert_eq!(netns(&sb, &["list", "dev", "lo"]).stdout, "a\nb\n");
    assert_eq!(netns(&sb, &["show", "dev", "nope"]).stdout, "");
    let names = ["--existing", "--count", "0"];
    for word in ["name", "all"] {
        let out = netns(&sb, &[&["monitor", word][..], &names].concat());
        assert_eq!(out.code, 0, "{out:?}");
        assert!(out.stdout.starts_with("add a\nadd b\n"), "{word}: {out:?}");
    }
    let out = netns(&sb, &[&["monitor", "id"][..], &names].concat());
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.lines().all(|l| l.starts_with("add-nsid ")),
        "{out:?}"
    );
    // ip's single-dash -json, as -j.
    assert_eq!(
        netns(&sb, &["-json", "list"]).stdout,
        "[{\"name\":\"a\"},{\"name\":\"b\"}]\n"
    );
    assert_eq!(netns(&sb, &["-json", "pids", "a"]).stdout, "[]\n");
    let out = netns(&sb, &["-j", "exec", "a", "true"]);
    assert_eq!(out.code, 0, "ip's -json is no option of exec: {out:?}");
    let out = netns(&sb, &["-all", "exec", "true"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "\nnetns: a\n\nnetns: b\n"),
        "{out:?}"
    );
    let out = netns(&sb, &["delete", "a"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(sb.entries(), ["b"]);
    assert_eq!(netns(&sb, &["-all", "delete"]).code, 0);
    assert!(sb.entries().is_empty());
    let out = netns(&sb, &["list-id"]);
    assert_eq!(out.code, 0, "{out:?}");
    // ip takes any prefix of its words, the first in its order winning.
    assert_eq!(netns(&sb, &["a", "x", "y"]).code, 0);
    assert_eq!(netns(&sb, &["s"]).stdout, "x\ny\n", "s is show, not set");
    assert_eq!(netns(&sb, &["ls"]).stdout, "x\ny\n", "a prefix of lst");
    assert_eq!(netns(&sb, &["e", "x", "true"]).code, 0);
    assert_eq!(netns(&sb, &["d", "x"]).code, 0);
    assert_eq!(sb.entries(), ["y"]);
    assert!(netns(&sb, &["h"]).stdout.starts_with("Usage: netns"));
    let out = netns(&sb, &["frobnicate"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("unknown verb \"frobnicate\""),
        "{out:?}"
    );
}

#[test]
fn help_and_verbs_list_every_verb() {
    let sb = Sandbox::new();
    let out = netns(&sb, &["--help"]);
    assert_eq!(out.code, 0, "{out:?}");
    let verbs = [
        "add", "attach", "del", "exec", "identify", "inspect", "link", "list", "pids", "set",
        "watch",
    ];
    for verb in verbs {
        // `  VERB ARGS  WHAT IT DOES`: the two spaces end the term, as
        // `cargo xtask man` reads it for the page's NAME line.
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("  {verb} ")))
            .unwrap_or_else(|| panic!("{verb}: {out:?}"));
        assert!(line.trim_start().contains("  "), "{verb}: {line:?}");
    }
    // What `cargo xtask dist` makes the links from.
    let out = netns(&sb, &["--verbs"]);
    assert_eq!(
        (out.code, out.stdout),
        (0, verbs.map(|v| format!("{v}\n")).concat())
    );
}

/// ip's global options in every spelling ip takes (any prefix, one or two
/// dashes; `-all` ignored but by delete and exec), with ip's exit status.
#[test]
fn ip_global_options_in_every_spelling_ip_takes() {
    let sb = Sandbox::with(&["a"]);
    let options: [&[&str]; 10] = [
        &["--json"],
        &["-js"],
        &["-jso"],
        &["--j"],
        &["-a"],
        &["-al"],
        &["-all"],
        &["--all"],
        &["-j", "-a"],
        &["-a", "-json"],
    ];
    for opts in options {
        for verb in [&[][..], &["list"], &["show"]] {
            let args = [opts, verb].concat();
            let ip = Command::new("ip")
                .args(opts)
                .arg("netns")
                .args(verb)
                .output()
                .unwrap();
            let ours = netns(&sb, &args);
            assert_eq!(
                (ours.code, ip.status.code()),
                (0, Some(0)),
                "{args:?}: {ours:?}"
            );
            let json = opts.iter().any(|o| o.contains('j'));
            assert_eq!(ours.stdout.starts_with('['), json, "{args:?}: {ours:?}");
        }
    }
    assert_eq!(netns(&sb, &["-a", "delete"]).code, 0);
    assert!(sb.entries().is_empty());
}

/// A link named with one of ip's words runs that verb; a link with a name
/// that is no verb (nor not UTF-8) is refused, with nothing done.
#[test]
fn links_named_with_ip_words_run_their_verb_and_others_are_refused() {
    use std::os::unix::ffi::OsStrExt;
    let sb = Sandbox::with(&["a", "b"]);
    let link = |name: &[u8]| {
        let path = sb.run.with_file_name(std::ffi::OsStr::from_bytes(name));
        std::os::unix::fs::symlink(multicall(), &path).unwrap();
        let mut cmd = Command::new(path);
        cmd.env("NETNS_RUN_DIR", &sb.run);
        cmd
    };
    let out = output(&mut link(b"netns-show"), "");
    assert_eq!((out.code, out.stdout.as_str()), (0, "a\nb\n"), "{out:?}");
    let out = output(
        link(b"netns-monitor").args(["--names", "--existing", "--count", "0"]),
        "",
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "add a\nadd b\n"),
        "{out:?}"
    );
    for name in [&b"netns-bogus"[..], b"ip", b"netns-\xff"] {
        let out = output(link(name).args(["x", "y"]), "");
        assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{out:?}");
        assert!(out.stderr.contains("unknown link name"), "{out:?}");
    }
    let out = output(link(b"netns-delete").args(["a", "b"]), "");
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert!(sb.entries().is_empty(), "deleted, nothing made");
}
