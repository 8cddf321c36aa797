//! What every verb's command line shares, under conditions that used to
//! abort it or mislead: a closed stderr, no thread to be had, stdin that
//! cannot be read, names that need quoting inside messages.

use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};

use crate::util::{Output, Sandbox, bin, stale_file};

/// Runs `cmd` with its stderr a pipe whose reader is gone before it
/// starts (every write to it fails EPIPE), its stdout read to the end;
/// bounded by `timeout`.
fn with_stderr_closed(cmd: &mut Command) -> Output {
    let (read, write): (OwnedFd, OwnedFd) = nix::unistd::pipe().unwrap();
    drop(read);
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(write))
        .output()
        .unwrap();
    Output::from(out)
}

fn timed(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.arg("10").arg(program);
    cmd
}

/// Messages to a closed stderr are dropped; the exit status is what it
/// would have been (the multicall's too): not SIGABRT's 134.
#[test]
fn a_closed_stderr_never_aborts() {
    let sb = Sandbox::with(&["a"]);
    for i in 0..50 {
        stale_file(&sb.file(&format!("stale{i}")));
    }
    let multicall = bin("list").with_file_name("netns");
    let cases: [(&[&str], i32, &str); 6] = [
        (&["list"], 0, "a\n"),
        (&["del", "nope"], 1, ""),
        (&["list", "--bogus"], 2, ""),
        (&["frobnicate"], 2, ""),
        (&["inspect", "nope"], 1, ""),
        (&["identify", "4194304"], 1, ""),
    ];
    for (args, code, stdout) in cases {
        if args[0] != "frobnicate" {
            let mut single = timed(bin(args[0]));
            single.args(&args[1..]).env("NETNS_RUN_DIR", &sb.run);
            let out = with_stderr_closed(&mut single);
            assert_eq!((out.code, out.stdout.as_str()), (code, stdout), "{args:?}");
        }
        let mut multi = timed(&multicall);
        multi.args(args).env("NETNS_RUN_DIR", &sb.run);
        let out = with_stderr_closed(&mut multi);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (code, stdout),
            "netns {args:?}"
        );
    }
    // stdout and stderr one pipe, its reader gone after a line.
    let script = format!("{} 2>&1 | head -1 >/dev/null", bin("list").display());
    let out = crate::util::output(
        Command::new("timeout")
            .args(["10", "bash", "-o", "pipefail", "-c", &script])
            .env("NETNS_RUN_DIR", &sb.run),
        "",
    );
    assert_eq!(out.code, 0, "{out:?}");
}

/// With no thread to be had (a user at its process limit, as a cgroup's
/// pids.max can make it too), the scans run in the calling thread.
#[test]
fn no_thread_to_be_had_is_no_failure() {
    let sb = Sandbox::with(&["a"]);
    for i in 0..600 {
        stale_file(&sb.file(&format!("s{i}")));
    }
    // Root is not held to RLIMIT_NPROC: nobody is.
    let nobody = |args: &[&str]| {
        let mut cmd = Command::new("timeout");
        cmd.args(["20", "setpriv", "--reuid=65534", "--regid=65534"])
            .args(["--clear-groups", "prlimit", "--nproc=1"])
            .arg(bin(args[0]))
            .args(&args[1..])
            .env("NETNS_RUN_DIR", &sb.run);
        crate::util::output(&mut cmd, "")
    };
    let out = nobody(&["list"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "a\n"), "{out:?}");
    let ns = sb.file("a");
    let out = nobody(&["identify"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:?}");
    let out = nobody(&["inspect", ns.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("names=a "), "{out:?}");
}

/// stdin that cannot be read is said to be so, not "cannot write output".
#[test]
fn a_read_error_on_stdin_is_a_read_error() {
    let sb = Sandbox::with(&["a"]);
    for verb in ["del", "add"] {
        let dir = std::fs::File::open("/tmp").unwrap();
        let out = sb.cmd(verb).arg("-").stdin(dir).output().unwrap();
        let out = Output::from(out);
        assert_eq!(out.code, 1, "{verb}: {out:?}");
        assert_eq!(
            out.stderr,
            format!("netns-{verb}: cannot read stdin: Is a directory\n"),
            "{verb}"
        );
    }
    assert_eq!(sb.entries(), ["a"]);
}

/// A name inside a message is quoted as the output quotes it, a double
/// quote in it escaped: every message can be decoded back.
#[test]
fn quotes_inside_messages_are_escaped() {
    let sb = Sandbox::with(&["a"]);
    let out = sb.run("del", &["nope\"x y"]);
    assert_eq!(out.code, 1, "{out:?}");
    let expected = format!(
        "netns-del: cannot remove \"{}/nope\\\"x y\": No such file or directory\n",
        sb.run.display()
    );
    assert_eq!(out.stderr, expected);
    // An inspect line's item with a space: quoted, its quote escaped.
    let odd = "q\"x y";
    assert_eq!(
        sb.run("attach", &[odd, sb.file("a").to_str().unwrap()])
            .code,
        0
    );
    let out = sb.run("inspect", &["a"]);
    assert!(out.stdout.contains(" names=a,\"q\\\"x y\" "), "{out:?}");
}
