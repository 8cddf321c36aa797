//! netns-attach: naming a process's namespace, with add's guarantees.

use crate::util::{Procs, Sandbox, json, ns_inode};

#[test]
fn attach_names_the_process_namespace_and_exec_reaches_it() {
    let sb = Sandbox::with(&["a"]);
    let mut procs = Procs::default();
    let pid = procs.sleepers(sb.cmd("exec"), "a", 0)[0];
    let process_ns = format!("/proc/{pid}/ns/net");
    let out = sb.run("attach", &["b", &pid.to_string()]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
    assert_eq!(ns_inode(sb.file("b")), ns_inode(&process_ns));
    let inside = sb.run("exec", &["b", "readlink", "/proc/self/ns/net"]);
    assert_eq!(
        inside.stdout,
        format!("net:[{}]\n", ns_inode(&process_ns)),
        "{inside:?}"
    );
    let out = sb.run("attach", &["--json", "c", &process_ns]);
    let made = json(&out.stdout);
    assert_eq!(made["name"], "c", "{out:?}");
    assert_eq!(made["path"], sb.file("c").display().to_string());
    assert_eq!(sb.mounted(), ["a", "b", "c"]);
}

#[test]
fn the_name_keeps_the_namespace_after_the_process_exits() {
    let sb = Sandbox::new();
    let mut procs = Procs::default();
    let pid = procs.start(std::process::Command::new("unshare").args([
        "--net",
        "sh",
        "-c",
        "ip link set lo up; echo; exec sleep 600",
    ]));
    assert_eq!(sb.run("attach", &["kept", &pid.to_string()]).code, 0);
    drop(procs);
    let out = sb.run("exec", &["kept", "ip", "-br", "link", "show", "lo"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("UP"), "the same namespace: {out:?}");
}

/// The namespace is opened before the name is made: a process that exits
/// between the two (strace holds attach's mount back while the test
/// kills it and waits until it is gone) still gets its namespace named,
/// not whatever the PID might be by then.
#[test]
fn a_process_that_exits_meanwhile_still_gets_its_namespace_named() {
    let sb = Sandbox::with(&["seed"]);
    assert_eq!(sb.run("del", &["seed"]).code, 0);
    let mut procs = Procs::default();
    let pid = procs.start(std::process::Command::new("unshare").args([
        "--net",
        "sh",
        "-c",
        "ip link set lo up; echo; exec sleep 600",
    ]));
    let inode = ns_inode(format!("/proc/{pid}/ns/net"));
    let attach = std::process::Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-e"])
        .arg("inject=mount:delay_enter=1000000")
        .arg(crate::util::bin("attach"))
        .args(["kept", &pid.to_string()])
        .env("NETNS_RUN_DIR", &sb.run)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !sb.file("kept").exists() {
        assert!(start.elapsed() < crate::util::PATIENCE, "no name made");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    drop(procs);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "gone"
    );
    let out = crate::util::finish(attach);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(ns_inode(sb.file("kept")), inode, "its namespace");
    let out = sb.run("exec", &["kept", "ip", "-br", "link", "show", "lo"]);
    assert!(out.stdout.contains("UP"), "the same namespace: {out:?}");
}

#[test]
fn attach_to_a_missing_process_changes_nothing() {
    let sb = Sandbox::new();
    let out = sb.run("attach", &["x", "999999999"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "netns-attach: no process with PID 999999999\n")
    );
    assert!(!sb.run.exists(), "not even the run dir is made");
}

#[test]
fn attach_refuses_a_taken_name_and_what_is_no_network_namespace() {
    let sb = Sandbox::with(&["a"]);
    let inode = ns_inode(sb.file("a"));
    let me = std::process::id().to_string();
    let out = sb.run("attach", &["a", &me]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.ends_with(": File exists\n"), "{out:?}");
    assert_eq!(ns_inode(sb.file("a")), inode, "the name is untouched");
    for path in ["/proc/self/ns/mnt", "/etc/hostname"] {
        let out = sb.run("attach", &["x", path]);
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (
                1,
                format!("netns-attach: \"{path}\" is not a network namespace\n").as_str()
            )
        );
    }
    assert_eq!(sb.entries(), ["a"]);
    for args in [&["x"][..], &[], &["x", "self"], &["x", "1", "2"]] {
        let out = sb.run("attach", args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
    }
    assert_eq!(sb.entries(), ["a"]);
}

/// A PATH is looked at before it is opened for reading: a FIFO does not
/// hang attach or inspect, and a device is not opened (a watchdog's open
/// arms it, a tty's can make it the controlling terminal).
#[test]
fn a_fifo_or_a_device_is_refused_before_it_is_opened() {
    let sb = Sandbox::new();
    let fifo = sb.run.with_file_name("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let fifo = fifo.to_str().unwrap();
    for args in [&["attach", "x", fifo][..], &["inspect", fifo]] {
        let out = crate::util::output(
            std::process::Command::new("timeout")
                .arg("10")
                .arg(crate::util::bin(args[0]))
                .args(&args[1..])
                .env("NETNS_RUN_DIR", &sb.run),
            "",
        );
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        let expected = format!("\"{fifo}\" is not a network namespace\n");
        assert!(out.stderr.ends_with(&expected), "{args:?}: {out:?}");
    }
    let log = sb.run.with_file_name("strace.log");
    let out = crate::util::output(
        std::process::Command::new("timeout")
            .args(["10", "strace", "-f", "-qq", "-e", "trace=open,openat", "-o"])
            .arg(&log)
            .arg(crate::util::bin("attach"))
            .args(["x", "/dev/null"])
            .env("NETNS_RUN_DIR", &sb.run),
        "",
    );
    assert_eq!(out.code, 1, "{out:?}");
    let calls = std::fs::read_to_string(&log).unwrap();
    for call in calls.lines().filter(|l| l.contains("\"/dev/null\"")) {
        assert!(
            call.contains("O_PATH"),
            "opened for more than a look: {call}"
        );
    }
    assert!(sb.entries().is_empty(), "nothing made");
}

/// ip reads a PID as strtol(3) with base 0 does: `ip netns attach q 010`
/// names PID 8, `0x10` PID 16, `+10` and ` 10` PID 10. Ours takes
/// decimal digits alone, and refuses a leading 0 rather than read `010` as
/// another process than ip would: a usage error, nothing made. identify
/// and inspect take PIDs the same way.
#[test]
fn a_pid_that_ip_reads_otherwise_is_a_usage_error() {
    let sb = Sandbox::new();
    for pid in ["010", "00", "01", "0x10", "+10", " 10", "10 "] {
        let out = sb.run("attach", &["q", pid]);
        assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{pid:?}: {out:?}");
        assert!(
            out.stderr
                .starts_with(&format!("netns-attach: invalid PID \"{pid}\": ")),
            "{pid:?}: {out:?}"
        );
        assert!(!sb.run.exists(), "{pid:?}: nothing made");
    }
    for verb in ["identify", "inspect"] {
        let out = sb.run(verb, &["010"]);
        assert_eq!((out.code, out.stdout.as_str()), (2, ""), "{verb}: {out:?}");
    }
}
