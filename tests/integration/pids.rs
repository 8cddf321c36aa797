//! netns-pids and netns-identify: processes to namespaces and back.

use std::process::Command;

use crate::util::{Procs, Sandbox, json, ns_inode};

#[test]
fn pids_lists_the_processes_in_a_namespace_ascending() {
    let sb = Sandbox::with(&["a", "empty"]);
    let mut procs = Procs::default();
    let inside = procs.sleepers(sb.cmd("exec"), "a", 3);
    assert_eq!(inside.len(), 4);
    let out = sb.run("pids", &["a"]);
    let expected: String = inside.iter().map(|p| format!("{p}\n")).collect();
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, expected.as_str()),
        "{out:?}"
    );
    assert_eq!(
        json(&sb.run("pids", &["--json", "a"]).stdout),
        json(&format!("{inside:?}"))
    );
    let out = sb.run("pids", &["empty"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
    assert_eq!(sb.run("pids", &["-j", "empty"]).stdout, "[]\n");
}

/// A closed stdout (`netns-pids a | head -0`) is not an error: nothing
/// on stderr, exit 0; and so for the other verbs that print.
#[test]
fn a_closed_stdout_is_not_an_error() {
    let sb = Sandbox::with(&["a"]);
    let mut procs = Procs::default();
    let inside = procs.sleepers(sb.cmd("exec"), "a", 0)[0].to_string();
    for args in [
        &["pids", "a"][..],
        &["pids", "--json", "a"],
        &["identify", &inside],
        &["list"],
        &["list", "--ids"],
        &["inspect", "a"],
        &["watch", "--names", "--existing"],
    ] {
        let out = crate::util::to_closed_stdout(sb.cmd(args[0]).args(&args[1..]));
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (0, ""),
            "{args:?}: {out:?}"
        );
    }
}

#[test]
fn pids_fails_plainly_for_a_missing_name_a_stale_file_and_bad_usage() {
    let sb = Sandbox::with(&["a"]);
    let out = sb.run("pids", &["nope"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.starts_with("netns-pids: cannot open \""),
        "{out:?}"
    );
    assert!(
        out.stderr.ends_with("/nope\": No such file or directory\n"),
        "{out:?}"
    );
    crate::util::stale_file(&sb.file("stale"));
    let out = sb.run("pids", &["stale"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("holds no network namespace"), "{out:?}");
    for args in [&[][..], &["a", "b"], &["--bogus", "a"]] {
        let out = sb.run("pids", args);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (2, ""),
            "{args:?}: {out:?}"
        );
    }
}

#[test]
fn identify_prints_every_name_of_the_namespace() {
    let sb = Sandbox::with(&["a", "other"]);
    let mut procs = Procs::default();
    let pid = procs.sleepers(sb.cmd("exec"), "a", 0)[0].to_string();
    let out = sb.run("identify", &[&pid]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "a\n"), "{out:?}");
    assert_eq!(sb.run("attach", &["b", &pid]).code, 0);
    assert_eq!(sb.run("attach", &["0-first", &pid]).code, 0);
    let out = sb.run("identify", &[&pid]);
    assert_eq!(out.stdout, "0-first\na\nb\n", "{out:?}");
    assert_eq!(
        sb.run("identify", &["--json", &pid]).stdout,
        "[\"0-first\",\"a\",\"b\"]\n"
    );
}

#[test]
fn identify_of_an_unnamed_namespace_prints_nothing_and_succeeds() {
    let sb = Sandbox::with(&["a"]);
    let me = std::process::id().to_string();
    for args in [&[][..], &[me.as_str()], &["--json"]] {
        let out = sb.run("identify", args);
        let nothing = if args == ["--json"] { "[]\n" } else { "" };
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (0, nothing, ""),
            "{args:?}"
        );
    }
    // With no PID: the caller's own namespace.
    let out = sb.run("exec", &["a", bin_identify().as_str()]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "a\n"), "{out:?}");
}

fn bin_identify() -> String {
    crate::util::bin("identify").display().to_string()
}

#[test]
fn identify_of_a_missing_process_or_a_bad_pid() {
    let sb = Sandbox::new();
    let out = sb.run("identify", &["999999999"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "netns-identify: no process with PID 999999999\n")
    );
    for bad in ["self", "-1", "12a", ""] {
        let out = sb.run("identify", &["--", bad]);
        assert_eq!(out.code, 2, "{bad}: {out:?}");
        assert!(out.stderr.contains("invalid PID"), "{bad}: {out:?}");
    }
}

/// A hundred namespaces and a thousand other processes: the scans find
/// exactly the right ones among them.
#[test]
fn pids_and_identify_among_a_thousand_processes_and_a_hundred_namespaces() {
    let names: Vec<String> = (0..100).map(|i| format!("n{i:03}")).collect();
    let sb = Sandbox::new();
    let stdin: String = names.iter().map(|n| format!("{n}\n")).collect();
    assert_eq!(sb.run_stdin("add", &["-"], &stdin).code, 0);
    let mut procs = Procs::default();
    let mut others = Vec::new();
    for _ in 0..1000 {
        others.push(procs.start(Command::new("sh").args(["-c", "echo; exec sleep 600"])));
    }
    let in_7 = procs.sleepers(sb.cmd("exec"), "n007", 5);
    let in_93 = procs.sleepers(sb.cmd("exec"), "n093", 0);

    let pids = |name: &str| -> Vec<u32> {
        let out = sb.run("pids", &[name]);
        assert_eq!(out.code, 0, "{out:?}");
        out.stdout.lines().map(|l| l.parse().unwrap()).collect()
    };
    assert_eq!(pids("n007"), in_7);
    assert_eq!(pids("n093"), in_93);
    assert_eq!(pids("n050"), Vec::<u32>::new());

    assert_eq!(sb.run("identify", &[&in_7[3].to_string()]).stdout, "n007\n");
    assert_eq!(
        sb.run("identify", &[&in_93[0].to_string()]).stdout,
        "n093\n"
    );
    let out = sb.run("identify", &[&others[500].to_string()]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:?}");
    assert_eq!(
        ns_inode(format!("/proc/{}/ns/net", in_93[0])),
        ns_inode(sb.file("n093"))
    );
}
