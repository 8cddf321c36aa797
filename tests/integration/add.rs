//! netns-add: names, batches, JSON, and what a bad name leaves (nothing).

use std::io::Write;
use std::process::Stdio;

use crate::util::{Sandbox, json};

#[test]
fn adds_silently_and_each_name_is_a_mounted_namespace() {
    let sb = Sandbox::new();
    let out = sb.run("add", &["blue", "red"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", ""),
        "{out:?}"
    );
    assert_eq!(sb.entries(), ["blue", "red"]);
    assert_eq!(sb.mounted(), ["blue", "red"]);
    assert_ne!(
        crate::util::ns_inode(sb.file("blue")),
        crate::util::ns_inode(sb.file("red")),
        "two adds, two namespaces"
    );
    assert_eq!(sb.run_dir_mounts(), 1, "the run dir is one mount point");
}

#[test]
fn the_run_dir_is_a_shared_mount_point() {
    let sb = Sandbox::new();
    assert_eq!(sb.run("add", &["a"]).code, 0);
    let text = crate::util::mountinfo();
    let line = text
        .lines()
        .find(|l| l.split(' ').nth(4) == Some(sb.run.to_str().unwrap()))
        .expect("run dir mount");
    assert!(line.contains(" shared:"), "{line}");
}

#[test]
fn an_existing_name_fails_with_file_exists_and_the_rest_go_on() {
    let sb = Sandbox::new();
    assert_eq!(sb.run("add", &["a"]).code, 0);
    let out = sb.run("add", &["a", "b"]);
    assert_eq!(out.code, 1, "{out:?}");
    let path = sb.file("a");
    assert_eq!(
        out.stderr,
        format!(
            "netns-add: cannot create \"{}\": File exists\n",
            path.display()
        )
    );
    assert_eq!(sb.mounted(), ["a", "b"]);
}

#[test]
fn every_bad_name_is_rejected_and_nothing_is_made() {
    let sb = Sandbox::new();
    let long = "n".repeat(256);
    for bad in ["", ".", "..", "a/b", "/", long.as_str()] {
        let out = sb.run("add", &[bad]);
        assert_eq!(out.code, 1, "{bad:?}: {out:?}");
        assert!(
            out.stderr
                .starts_with(&format!("netns-add: invalid name \"{bad}\": ")),
            "{out:?}"
        );
        assert!(!sb.run.exists(), "{bad:?} made the run dir");
    }
    let out = sb.run_stdin("add", &["-"], "ok\nx/y\n");
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        sb.mounted(),
        ["ok"],
        "the good name is made, the bad one not"
    );
}

#[test]
fn a_name_of_255_bytes_and_odd_characters_are_fine() {
    let sb = Sandbox::new();
    let long = "n".repeat(255);
    let out = sb.run("add", &[&long, "with space", "-"]);
    // `-` reads stdin, which is empty here: nothing more to make.
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(sb.mounted(), [long.as_str(), "with space"]);
}

#[test]
fn double_dash_lets_a_name_start_with_a_dash() {
    let sb = Sandbox::new();
    let out = sb.run("add", &["--", "-x", "--y"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(sb.mounted(), ["--y", "-x"]);
    let out = sb.run("add", &["-x"]);
    assert_eq!(out.code, 2, "without --, -x is an option: {out:?}");
}

#[test]
fn names_from_stdin_one_a_line_empty_lines_skipped() {
    let sb = Sandbox::new();
    let out = sb.run_stdin("add", &["first", "-", "last"], "h1\nh2\n\nh3");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(sb.mounted(), ["first", "h1", "h2", "h3", "last"]);
}

#[test]
fn a_thousand_names_in_one_process() {
    let sb = Sandbox::new();
    let names: String = (1..=1000).map(|i| format!("h{i}\n")).collect();
    let out = sb.run_stdin("add", &["-"], &names);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(sb.mounted().len(), 1000);
    let out = sb.run_stdin("del", &["-"], &names);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert!(sb.entries().is_empty() && sb.mounted().is_empty());
}

/// Names are made a batch at a time (those at hand): a failing name, a
/// bad one and a bad line in the middle of a batch are told in the order
/// of the lines, and the names around them are made.
#[test]
fn failures_in_the_middle_of_a_batch_are_told_in_order() {
    let sb = Sandbox::with(&["taken"]);
    let long = "x".repeat(2000);
    let mut names: String = (1..=100).map(|i| format!("h{i}\n")).collect();
    names.insert_str(
        names.find("h50\n").unwrap(),
        &format!("taken\n{long}\n\"a\\q\"\n../x\nh1\n"),
    );
    let out = sb.run_stdin("add", &["-"], &names);
    assert_eq!(out.code, 1, "{out:?}");
    let run = sb.run.display();
    assert_eq!(
        out.stderr,
        format!(
            "netns-add: cannot create \"{run}/taken\": File exists\n\
             netns-add: line 51 of stdin: 2000 bytes, longer than a name can be\n\
             netns-add: line 52 of stdin: \"\\\"a\\\\q\\\"\": unknown escape \\q\n\
             netns-add: line 53 of stdin: invalid name \"../x\": it contains '/'\n\
             netns-add: cannot create \"{run}/h1\": File exists\n"
        )
    );
    let mut made: Vec<String> = (1..=100).map(|i| format!("h{i}")).collect();
    made.push("taken".into());
    made.sort();
    assert_eq!(sb.mounted(), made);
}

/// A name from a pipe is made when it comes, not when the batch it could
/// be in is full or stdin ends.
#[test]
fn a_name_from_a_slow_pipe_is_made_at_once() {
    let sb = Sandbox::new();
    let mut add = sb.cmd("add");
    add.arg("-").stdin(Stdio::piped()).stderr(Stdio::piped());
    let mut child = add.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"early\n").unwrap();
    let start = std::time::Instant::now();
    while sb.mounted() != ["early"] {
        assert!(
            start.elapsed() < crate::util::PATIENCE,
            "not made while stdin is open"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    stdin.write_all(b"late\n").unwrap();
    drop(stdin);
    let out = crate::util::finish(child);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(sb.mounted(), ["early", "late"]);
}

#[test]
fn json_lists_what_was_made() {
    let sb = Sandbox::new();
    let out = sb.run("add", &["--json", "a", "a", "b"]);
    assert_eq!(out.code, 1, "{out:?}");
    let expected = serde_json::json!([
        {"name": "a", "path": sb.file("a")},
        {"name": "b", "path": sb.file("b")},
    ]);
    assert_eq!(json(&out.stdout), expected);
    assert!(
        out.stdout.starts_with("[{\"name\":\"a\",\"path\":"),
        "ip's key order"
    );
    let none = sb.run("add", &["-j", "a"]);
    assert_eq!((none.code, none.stdout.as_str()), (1, "[]\n"), "{none:?}");
}

#[test]
fn run_dir_option_beats_the_environment() {
    let sb = Sandbox::new();
    let other = Sandbox::new();
    let run = other.run.to_str().unwrap();
    let out = sb.run("add", &["--run-dir", run, "x"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(other.mounted(), ["x"]);
    assert!(sb.entries().is_empty());
}

#[test]
fn usage_errors_exit_2_and_help_goes_to_stdout() {
    let sb = Sandbox::new();
    for args in [&[][..], &["--bogus", "x"], &["--run-dir"]] {
        let out = sb.run("add", args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(out.stderr.contains("Try 'netns-add --help'"), "{out:?}");
    }
    let out = sb.run("add", &["--help"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("Usage: netns-add"), "{out:?}");
    let out = sb.run("add", &["-V"]);
    assert_eq!(
        out.stdout,
        format!("netns-add {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// Names that would break a line of output or a terminal are refused on
/// the way in, with the byte and a hint; ip takes them.
#[test]
fn control_characters_and_bytes_not_utf8_are_refused() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let sb = Sandbox::new();
    let cases: [(&[u8], &str); 5] = [
        (
            b"a\nb",
            "invalid name \"a\\nb\": it contains the control character 0x0a at byte 1 (one name a line: a newline cannot be in one)",
        ),
        (
            b"c\r",
            "invalid name \"c\\r\": it contains the control character 0x0d at byte 1 (read from a file with CRLF line ends?)",
        ),
        (
            b"\x1b[31mred",
            "invalid name \"\\033[31mred\": it contains the control character 0x1b at byte 0",
        ),
        (
            b"del\x7f",
            "invalid name \"del\\177\": it contains the control character 0x7f at byte 3",
        ),
        (
            b"caf\xe9",
            "invalid name \"caf\\351\": it is not UTF-8 (byte 0xe9 at byte 3)",
        ),
    ];
    for (name, message) in cases {
        let out = crate::util::output(sb.cmd("add").arg(OsStr::from_bytes(name)), "");
        assert_eq!(out.code, 1, "{name:?}: {out:?}");
        assert_eq!(out.stderr, format!("netns-add: {message}\n"), "{name:?}");
        assert!(!sb.run.exists(), "{name:?}: nothing made");
    }
    // From a file with CRLF line ends: the \r is refused, not kept.
    let out = sb.run_stdin("add", &["-"], "c\r\nd\n");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("CRLF"), "{out:?}");
    assert_eq!(sb.mounted(), ["d"]);
    let me = std::process::id().to_string();
    let out = sb.run("attach", &["x\ty", &me]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("invalid name \"x\\ty\""), "{out:?}");
    assert_eq!(sb.entries(), ["d"]);
}

/// As root of a user namespace that does not own the current network
/// namespace (`unshare -U -r -m`, what `podman unshare` gives), where no
/// thread may setns back to where it was: the verbs that make or look
/// into namespaces do it from tasks that are thrown away, so they work
/// as `ip netns add` does there.
#[test]
fn as_root_of_a_user_namespace_add_list_dev_and_inspect_work() {
    let sb = Sandbox::new();
    let out = crate::util::in_new_namespaces(
        &sb,
        &["-U", "-r", "-m"],
        "mount -t tmpfs userns /mnt
         export NETNS_RUN_DIR=/mnt/netns
         netns-add --lo-up a b
         netns-list --dev lo
         netns-exec a ip -br link show lo | cut -d' ' -f1
         netns-inspect a | grep -o 'devices=lo'
         netns-del --all
         netns-list",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "a\nb\nlo\ndevices=lo\n", "{out:?}");
    assert_eq!(out.stderr, "", "{out:?}");
}
