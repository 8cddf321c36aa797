//! netns-list: text and JSON as `ip netns list` prints them, sorted.

use crate::util::{Procs, Sandbox, json, stale_file};

#[test]
fn lists_sorted_names_one_a_line() {
    let sb = Sandbox::new();
    assert_eq!(sb.run("add", &["red", "blue", "green"]).code, 0);
    let out = sb.run("list", &[]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "blue\ngreen\nred\n"),
        "{out:?}"
    );
}

#[test]
fn json_is_an_array_of_names() {
    let sb = Sandbox::new();
    let out = sb.run("list", &["--json"]);
    assert_eq!(out.stdout, "[]\n", "a missing run dir is an empty list");
    assert_eq!(sb.run("add", &["b", "a"]).code, 0);
    let out = sb.run("list", &["-j"]);
    assert_eq!(out.stdout, "[{\"name\":\"a\"},{\"name\":\"b\"}]\n");
    assert_eq!(json(&out.stdout)[1]["name"], "b");
}

/// A directory or a file with data in the run dir is no stale file: list
/// says what it is and that no delete removes it, as netns-del says when
/// asked to.
#[test]
fn what_no_add_made_is_not_called_stale() {
    let sb = Sandbox::new();
    assert_eq!(sb.run("add", &["a"]).code, 0);
    std::fs::create_dir(sb.file("dir")).unwrap();
    std::fs::write(sb.file("notes"), "data").unwrap();
    let out = sb.run("list", &[]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "a\n"), "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "netns-list: warning: \"{0}/dir\" is no name an add made (a directory); netns-del leaves it\n\
             netns-list: warning: \"{0}/notes\" is no name an add made (a file with data in it); netns-del leaves it\n",
            sb.run.display()
        )
    );
    let out = sb.run("del", &["--all"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("(a directory); left as it is"),
        "{out:?}"
    );
    std::fs::remove_dir(sb.file("dir")).unwrap();
    std::fs::remove_file(sb.file("notes")).unwrap();
}

#[test]
fn a_stale_file_is_not_listed_but_named_on_stderr() {
    let sb = Sandbox::new();
    assert_eq!(sb.run("add", &["a"]).code, 0);
    stale_file(&sb.file("stale"));
    let out = sb.run("list", &[]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "a\n"), "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("\"{}\"", sb.file("stale").display()))
    );
    assert!(
        out.stderr.contains("netns-del"),
        "says how to remove it: {out:?}"
    );
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let sb = Sandbox::new();
    let names: String = (0..200).map(|i| format!("n{i}\n")).collect();
    assert_eq!(sb.run_stdin("add", &["-"], &names).code, 0);
    let out = crate::util::to_closed_stdout(&mut sb.cmd("list"));
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
}

#[test]
fn the_readme_jq_pipeline_prints_the_names() {
    let sb = Sandbox::new();
    assert_eq!(sb.run("add", &["blue", "red"]).code, 0);
    let script = format!(
        "{} --json | jq -r '.[].name'",
        crate::util::bin("list").display()
    );
    let mut sh = std::process::Command::new("sh");
    sh.args(["-c", &script]).env("NETNS_RUN_DIR", &sb.run);
    let out = crate::util::output(&mut sh, "");
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "blue\nred\n"),
        "{out:?}"
    );
}

/// A veth pair made on the host and taken out of it on drop (devices of
/// the host's namespace only; their names, `nt<tag>h` and `nt<tag>p`, are
/// the test run's own, which the leak check of `cargo xtask test` looks
/// for).
struct HostVeth(String);

impl Drop for HostVeth {
    fn drop(&mut self) {
        let mut del = std::process::Command::new("ip");
        let _ = crate::util::try_output(
            del.args(["link", "del", &self.0]),
            "",
            std::time::Duration::from_secs(10),
        );
    }
}

#[test]
fn dev_lists_the_namespaces_that_hold_a_device() {
    let sb = Sandbox::with(&["a", "b", "c"]);
    // ip 6.1 names a target namespace by /run/netns name or by pid: one
    // process in b to name it by.
    let mut procs = Procs::default();
    let in_b = procs.sleepers(sb.cmd("exec"), "b", 0)[0].to_string();
    let steps: [&[&str]; 3] = [
        &[
            "a", "ip", "link", "add", "v1", "type", "veth", "peer", "name", "v2", "netns", &in_b,
        ],
        &[
            "a",
            "ip",
            "link",
            "property",
            "add",
            "dev",
            "v1",
            "altname",
            "the-long-altname-of-v1",
        ],
        &[
            "b", "ip", "link", "property", "add", "dev", "v2", "altname", "short2",
        ],
    ];
    for args in steps {
        let out = sb.run("exec", args);
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
    }
    let host = HostVeth(format!("nt{}h", crate::util::tag()));
    let peer = format!("nt{}p", crate::util::tag());
    let made = crate::util::output(
        std::process::Command::new("ip").args([
            "link", "add", &host.0, "type", "veth", "peer", "name", &peer,
        ]),
        "",
    );
    assert_eq!(made.code, 0, "{made:?}");
    for (dev, names) in [
        ("v1", "a\n"),
        ("v2", "b\n"),
        ("the-long-altname-of-v1", "a\n"),
        ("short2", "b\n"),
        ("lo", "a\nb\nc\n"),
        (host.0.as_str(), ""),
        ("nosuchdevice", ""),
    ] {
        let out = sb.run("list", &["--dev", dev]);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (0, names, ""),
            "--dev {dev}"
        );
    }
    let out = sb.run("list", &["--dev", "v2", "--json"]);
    assert_eq!(out.stdout, "[{\"name\":\"b\"}]\n", "{out:?}");
    // A namespace with two names: both listed, and the namespace asked
    // once (one netlink socket made in it), as with one name.
    let sockets = || {
        let trace = sb.run.with_file_name("dev-trace");
        let out = crate::util::output(
            std::process::Command::new("strace")
                .args(["-f", "-qq", "-e", "trace=socket", "-o"])
                .arg(&trace)
                .arg(crate::util::bin("list"))
                .args(["--dev", "v1"])
                .env("NETNS_RUN_DIR", &sb.run),
            "",
        );
        let text = std::fs::read_to_string(&trace).unwrap();
        (out.stdout, text.matches("socket(AF_NETLINK").count())
    };
    let (listed, one_name) = sockets();
    assert_eq!(listed, "a\n");
    let a = sb.file("a");
    assert_eq!(sb.run("attach", &["a2", a.to_str().unwrap()]).code, 0);
    assert_eq!(sockets(), ("a\na2\n".to_owned(), one_name));
    for bad in [&["--dev"][..], &["--dev", ""], &["--dev", "lo", "--ids"]] {
        assert_eq!(sb.run("list", bad).code, 2, "{bad:?}");
    }
}

/// A file that an add has made and not yet mounted onto is not called
/// stale: not while it is younger than a moment (ip's adds too), nor while
/// an add of ours holds the run dir's lock, however long it takes.
#[test]
fn a_file_an_add_is_making_is_not_called_stale() {
    let sb = Sandbox::with(&["a"]);
    std::fs::write(sb.file("young"), "").unwrap();
    let out = sb.run("list", &[]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "a\n", ""),
        "{out:?}"
    );
    // An add held between its file and its mount (strace delays its
    // unshare) for longer than a moment.
    let mut add = std::process::Command::new("timeout")
        .args(["20", "strace", "-f", "-qq", "-o", "/dev/null"])
        .args(["-e", "inject=unshare:delay_enter=3000000"])
        .arg(crate::util::bin("add"))
        .arg("slow")
        .env("NETNS_RUN_DIR", &sb.run)
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !sb.file("slow").exists() {
        assert!(start.elapsed().as_secs() < 10, "the add made no file");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let out = sb.run("list", &[]);
    let still_adding = add.try_wait().unwrap().is_none();
    assert!(still_adding, "the add is held until after the list");
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "a\n", ""),
        "{out:?}"
    );
    assert!(add.wait().unwrap().success());
    // Once no add is under way, an old file with nothing on it is stale.
    stale_file(&sb.file("young"));
    let out = sb.run("list", &[]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "a\nslow\n"), "{out:?}");
    assert!(
        out.stderr.contains("/young\" holds no namespace"),
        "{out:?}"
    );
}

/// A name longer than any device's (an altname holds 127 bytes) is no
/// device; a reply larger than a page's worth of altnames is read whole.
#[test]
fn dev_with_a_name_past_the_limit_and_a_device_of_many_altnames() {
    let sb = Sandbox::with(&["a", "b"]);
    let long = "x".repeat(128);
    let out = sb.run("list", &["--dev", &long]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", ""),
        "{out:?}"
    );
    // 200 altnames of 120 bytes on a's lo: a reply of 26 KB.
    let batch: String = (0..200)
        .map(|i| format!("link property add dev lo altname {i:0120}\n"))
        .collect();
    let mut exec = sb.cmd("exec");
    exec.args(["a", "ip", "-batch", "-"]);
    let out = crate::util::output(&mut exec, batch);
    assert_eq!(out.code, 0, "{out:?}");
    for (dev, names) in [(format!("{:0120}", 7), "a\n"), ("lo".into(), "a\nb\n")] {
        let out = sb.run("list", &["--dev", &dev]);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (0, names, ""),
            "--dev {dev}"
        );
    }
    let out = sb.run("inspect", &["--json", "a"]);
    assert_eq!(json(&out.stdout)[0]["devices"], json("[\"lo\"]"), "{out:?}");
}

/// One namespace it cannot enter (root of a user namespace, which owns
/// the others) is reported, the others are listed, exit 1; uid 0 is not
/// told to run it as root.
#[test]
fn dev_reports_a_namespace_it_cannot_enter_and_lists_the_others() {
    let sb = Sandbox::with(&["b"]);
    let mut procs = Procs::default();
    let sleeper = "echo ready; exec sleep 600";
    let owner = procs.start(std::process::Command::new("unshare").args([
        "--user",
        "--map-root-user",
        "--net",
        "sh",
        "-c",
        sleeper,
    ]));
    let other = procs.start(
        std::process::Command::new("nsenter")
            .args(["-t", &owner.to_string(), "-U", "--", "unshare", "--net"])
            .args(["sh", "-c", sleeper]),
    );
    for (name, pid) in [("a", owner), ("c", other)] {
        let out = sb.run("attach", &[name, &format!("/proc/{pid}/ns/net")]);
        assert_eq!(out.code, 0, "{out:?}");
    }
    let mut list = std::process::Command::new("timeout");
    list.args(["10", "nsenter", "-t", &owner.to_string(), "-U", "-n", "--"])
        .arg(crate::util::bin("list"))
        .args(["--dev", "lo"])
        .env("NETNS_RUN_DIR", &sb.run);
    let out = crate::util::output(&mut list, "");
    assert_eq!((out.code, out.stdout.as_str()), (1, "a\nc\n"), "{out:?}");
    let expected = format!(
        "netns-list: cannot enter \"{}\": Operation not permitted",
        sb.file("b").display()
    );
    assert!(out.stderr.starts_with(&expected), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(!out.stderr.contains("run it as root"), "{out:?}");
    assert!(out.stderr.contains("root in a user namespace"), "{out:?}");
}
