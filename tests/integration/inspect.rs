//! netns-inspect: every network namespace on the host and what holds it,
//! the ones `ip netns` and lsns miss among them.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json as j};

use crate::util::{Procs, Sandbox, json, ns_inode, output};

/// A bind mount the test made outside any run dir, undone on drop.
struct Pin(PathBuf);

impl Drop for Pin {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The object of the namespace `inode` in netns-inspect's JSON.
fn of(all: &Value, inode: u64) -> Value {
    all.as_array()
        .unwrap()
        .iter()
        .find(|o| o["ns"] == inode)
        .unwrap_or_else(|| panic!("net:[{inode}] not found in {all}"))
        .clone()
}

fn shell(script: &str) -> Command {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script]);
    cmd
}

#[test]
fn finds_every_namespace_and_what_holds_it() {
    let sb = Sandbox::with(&["a"]);
    let mut procs = Procs::default();
    // Pinned by a bind mount only, outside the run dir.
    let pin = Pin(sb.run.with_file_name("pin"));
    std::fs::write(&pin.0, "").unwrap();
    let out = output(
        Command::new("unshare")
            .arg(format!("--net={}", pin.0.display()))
            .arg("true"),
        "",
    );
    assert_eq!(out.code, 0, "{out:?}");
    let pinned = ns_inode(&pin.0);
    // Held by a process only.
    let sleeper = procs.start(&mut shell(
        "exec unshare -n sh -c 'echo ready; exec sleep 600'",
    ));
    let by_process = ns_inode(format!("/proc/{sleeper}/ns/net"));
    // Held by a descriptor only: the process whose namespace it was is gone.
    let gone = procs.start(&mut shell(
        "exec unshare -n sh -c 'echo ready; exec sleep 600'",
    ));
    let by_fd = ns_inode(format!("/proc/{gone}/ns/net"));
    let holder = procs.start(&mut shell(&format!(
        "exec 7</proc/{gone}/ns/net; echo ready; exec sleep 600"
    )));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(-(gone as i32)),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    while std::fs::metadata(format!("/proc/{gone}/ns/net")).is_ok() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // Two names and an nsid.
    let a = sb.file("a");
    let b = sb.run("attach", &["b", a.to_str().unwrap()]);
    assert_eq!(b.code, 0, "{b:?}");
    assert_eq!(sb.run("set", &["a", "7"]).code, 0);
    let named = ns_inode(&a);
    // Pinned only in a private mount namespace of another process.
    let hidden = sb.run.with_file_name("hidden");
    std::fs::write(&hidden, "").unwrap();
    let script = format!(
        "exec unshare -m --propagation private sh -c \
         'unshare --net={0} true; echo ready; exec sleep 600'",
        hidden.display()
    );
    let other_mnt = procs.start(&mut shell(&script));
    let hidden_inode = ns_inode(format!("/proc/{other_mnt}/root{}", hidden.display()));
    let _hidden_file = Pin(hidden.clone());

    let out = sb.run("inspect", &["--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let all = json(&out.stdout);
    let host = ns_inode("/proc/self/ns/net");
    assert_eq!(of(&all, host)["current"], true);
    let o = of(&all, pinned);
    assert_eq!(
        (
            &o["names"],
            &o["processes"],
            &o["fds"],
            o["current"].clone()
        ),
        (&j!([]), &j!([]), &j!([]), j!(false))
    );
    assert_eq!(o["mounts"], j!([{"path": pin.0.to_str().unwrap()}]));
    assert_eq!(o["devices"], j!(["lo"]));
    assert!(o.get("nsid").is_none(), "{o}");
    let o = of(&all, by_process);
    assert_eq!(o["processes"], j!([{"pid": sleeper, "comm": "sleep"}]));
    assert_eq!((&o["mounts"], &o["fds"]), (&j!([]), &j!([])));
    let o = of(&all, by_fd);
    assert_eq!(o["fds"], j!([{"pid": holder, "fd": 7}]));
    assert_eq!((&o["mounts"], &o["processes"]), (&j!([]), &j!([])));
    let o = of(&all, named);
    assert_eq!(o["names"], j!(["a", "b"]));
    assert_eq!(o["nsid"], 7);
    let paths: Vec<&str> = o["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, [a.to_str().unwrap(), sb.file("b").to_str().unwrap()]);
    let o = of(&all, hidden_inode);
    assert_eq!(
        o["mounts"],
        j!([{"path": hidden.to_str().unwrap(), "pid": other_mnt}])
    );
    assert_eq!((&o["names"], &o["processes"]), (&j!([]), &j!([])));

    // The text form, one line each.
    let out = sb.run("inspect", &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let line = |inode: u64| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(&format!("net:[{inode}] ")))
            .unwrap_or_else(|| panic!("net:[{inode}]: {out:?}"))
            .to_owned()
    };
    assert_eq!(
        line(pinned),
        format!("net:[{pinned}] mounts={} devices=lo", pin.0.display())
    );
    assert_eq!(
        line(by_fd),
        format!("net:[{by_fd}] fds={holder}:7 devices=lo")
    );
    assert_eq!(
        line(named),
        format!(
            "net:[{named}] nsid=7 names=a,b mounts={},{} devices=lo",
            a.display(),
            sb.file("b").display()
        )
    );
    assert_eq!(
        line(hidden_inode),
        format!(
            "net:[{hidden_inode}] mounts={}@{other_mnt} devices=lo",
            hidden.display()
        )
    );
    assert!(line(host).starts_with(&format!("net:[{host}] current ")));
}

/// A namespace the caller cannot enter (nobody, in its own user namespace:
/// setns needs a capability it does not have where it is) is listed with
/// what holds it and no devices; nothing fails.
#[test]
fn a_namespace_it_cannot_enter_is_listed_without_devices() {
    let sb = Sandbox::new();
    let nobody = |program: &str| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", program]);
        cmd
    };
    let mut procs = Procs::default();
    let sleeper =
        procs.start(nobody("unshare").args(["-rn", "sh", "-c", "echo ready; exec sleep 600"]));
    let inode = ns_inode(format!("/proc/{sleeper}/ns/net"));
    let mut inspect = nobody(crate::util::bin("inspect").to_str().unwrap());
    let out = output(inspect.arg("--json").env("NETNS_RUN_DIR", &sb.run), "");
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    let o = of(&json(&out.stdout), inode);
    assert_eq!(
        o["processes"],
        j!([{"pid": sleeper, "comm": "sleep"}]),
        "{o}"
    );
    assert_eq!(o["devices"], j!([]), "{o}");
}

/// Arguments: a name, a PID and a path, in the order given; a bad one is
/// reported and the others still printed.
#[test]
fn arguments_by_name_pid_and_path() {
    let sb = Sandbox::with(&["a", "b"]);
    let me = std::process::id().to_string();
    let b = sb.file("b");
    let args = [
        "b",
        "nope",
        &me,
        "4194304",
        b.to_str().unwrap(),
        "/etc/passwd",
        "a",
    ];
    let out = sb.run("inspect", &args);
    assert_eq!(out.code, 1, "{out:?}");
    let inodes: Vec<String> = out
        .stdout
        .lines()
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    let ino = |p: &Path| format!("net:[{}]", ns_inode(p));
    assert_eq!(
        inodes,
        [
            ino(&b),
            ino(Path::new("/proc/self/ns/net")),
            ino(&b),
            ino(&sb.file("a"))
        ]
    );
    let errors: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(errors.len(), 3, "{out:?}");
    assert!(errors[0].contains("/nope\": No such file"), "{out:?}");
    assert!(errors[1].contains("no process with PID 4194304"), "{out:?}");
    assert!(
        errors[2].contains("\"/etc/passwd\" is not a network namespace"),
        "{out:?}"
    );
}

/// Digits too many for a PID are a usage error, as in the other verbs:
/// nothing is scanned.
#[test]
fn a_pid_past_the_largest_is_a_usage_error() {
    let sb = Sandbox::with(&["a"]);
    let out = sb.run("inspect", &["a", "99999999999"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .contains("invalid PID \"99999999999\": not a process ID"),
        "{out:?}"
    );
}

/// Processes that come and go during the scan are passed over.
#[test]
fn processes_exiting_during_the_scan_are_no_failure() {
    let sb = Sandbox::new();
    let mut procs = Procs::default();
    for _ in 0..3 {
        procs.start(&mut shell(
            "echo ready; while :; do /bin/true; /bin/true; /bin/true; done",
        ));
    }
    for _ in 0..30 {
        let out = sb.run("inspect", &["--json"]);
        assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
        assert!(json(&out.stdout).as_array().is_some_and(|a| !a.is_empty()));
    }
}

/// nsfs mounts of other kinds of namespace (a uts and a mount namespace
/// bound to files) are not network namespaces.
#[test]
fn other_kinds_of_namespace_are_not_listed() {
    let sb = Sandbox::with(&["a"]);
    let mut pins = Vec::new();
    for kind in ["uts", "mount"] {
        let pin = Pin(sb.run.with_file_name(format!("{kind}file")));
        std::fs::write(&pin.0, "").unwrap();
        let made = Command::new("unshare")
            .arg(format!("--{kind}={}", pin.0.display()))
            .arg("true")
            .status()
            .unwrap();
        assert!(made.success(), "{kind}");
        pins.push(pin);
    }
    let out = sb.run("inspect", &["--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    for pin in &pins {
        let inode = ns_inode(&pin.0);
        let path = pin.0.to_str().unwrap();
        for o in json(&out.stdout).as_array().unwrap() {
            assert_ne!(o["ns"], inode, "{path}: {o}");
            let mounts = o["mounts"].as_array().unwrap();
            assert!(mounts.iter().all(|m| m["path"] != path), "{path}: {o}");
        }
    }
}

/// The x86_64 (or aarch64) numbers of setns(2) and of exit(2), the one
/// that ends the calling thread only, for perl's `syscall`.
fn setns_and_thread_exit() -> (u32, u32) {
    match std::env::consts::ARCH {
        "aarch64" => (268, 93),
        _ => (308, 60),
    }
}

/// Waits until `cond` holds, at most ten seconds.
fn until(what: &str, cond: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(start.elapsed().as_secs() < 10, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A namespace held by a thread other than a process's main one is found:
/// one that a second thread joined, one whose process's main thread has
/// exited. netns-identify answers for such a process.
#[test]
fn namespaces_held_by_a_thread_only_are_found() {
    let sb = Sandbox::with(&["t1", "t2"]);
    let (t1, t2) = (ns_inode(sb.file("t1")), ns_inode(sb.file("t2")));
    let (setns, exit) = setns_and_thread_exit();
    let mut procs = Procs::default();
    // Its second thread joins t1; its main thread stays here.
    let joins = format!(
        "$| = 1; open(my $f, '<', $ARGV[0]) or die; threads->create(sub {{ \
         syscall({setns}, fileno($f), 0x40000000) == 0 or die \"setns: $!\"; \
         print \"ready\\n\"; sleep 600 }}); sleep 600"
    );
    let joiner = procs.start(
        Command::new("perl")
            .args(["-Mthreads", "-e", &joins])
            .arg(sb.file("t1")),
    );
    // In t2, its main thread gone, its second thread living on.
    let leaves = format!(
        "$| = 1; threads->create(sub {{ sleep 600 }}); print \"ready\\n\"; syscall({exit}, 0)"
    );
    let orphan = procs.start(
        sb.cmd("exec")
            .args(["t2", "perl", "-Mthreads", "-e", &leaves]),
    );
    until("the main thread exits", || {
        std::fs::read_link(format!("/proc/{orphan}/ns/net")).is_err()
    });
    let out = sb.run("identify", &[&orphan.to_string()]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "t2\n"), "{out:?}");
    assert_eq!(sb.run("del", &["t1", "t2"]).code, 0);
    let out = sb.run("inspect", &["--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let all = json(&out.stdout);
    for (inode, process) in [(t1, joiner), (t2, orphan)] {
        let o = of(&all, inode);
        let holders = o["processes"].as_array().unwrap();
        assert_eq!(holders.len(), 1, "{o}");
        let tid = holders[0]["pid"].as_u64().unwrap();
        assert_ne!(tid, u64::from(process), "a thread, not the main one: {o}");
        assert!(
            Path::new(&format!("/proc/{process}/task/{tid}")).exists(),
            "a thread of {process}: {o}"
        );
        assert_eq!(holders[0]["comm"], "perl", "{o}");
        assert_eq!(o["devices"], j!(["lo"]), "entered through the thread: {o}");
    }
}

/// A mount namespace is read through its next process when its first
/// one's mountinfo cannot be read (that process exits meanwhile: strace
/// fails the open as if it had).
#[test]
fn a_mount_namespace_is_read_through_its_next_process() {
    let sb = Sandbox::new();
    let mut procs = Procs::default();
    let hidden = sb.run.with_file_name("hidden");
    std::fs::write(&hidden, "").unwrap();
    let script = format!(
        "exec unshare -m --propagation private sh -c \
         'unshare --net={0} true; sleep 600 & echo ready; exec sleep 600'",
        hidden.display()
    );
    let first = procs.start(&mut shell(&script));
    let children = std::fs::read_to_string(format!("/proc/{first}/task/{first}/children")).unwrap();
    let second: u32 = children.trim().parse().unwrap();
    let inode = ns_inode(format!("/proc/{first}/root{}", hidden.display()));
    let _hidden_file = Pin(hidden.clone());
    let (lowest, next) = (first.min(second), first.max(second));
    let mountinfo = format!("/proc/{lowest}/mountinfo");
    let out = crate::util::output(
        Command::new("timeout")
            .args([
                "20",
                "strace",
                "-f",
                "-qq",
                "-o",
                "/dev/null",
                "-P",
                &mountinfo,
            ])
            .args(["-e", "trace=openat", "-e", "inject=openat:error=ESRCH"])
            .arg(crate::util::bin("inspect"))
            .arg("--json")
            .env("NETNS_RUN_DIR", &sb.run),
        "",
    );
    assert_eq!(out.code, 0, "{out:?}");
    let o = of(&json(&out.stdout), inode);
    assert_eq!(
        o["mounts"],
        j!([{"path": hidden.to_str().unwrap(), "pid": next}])
    );
}
