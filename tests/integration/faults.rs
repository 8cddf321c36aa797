//! What no failure may leave behind: racing adds, an add killed mid-batch,
//! every system call failing in turn (strace fault injection), no root.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::{Output, Sandbox, bin, finish, output};

#[test]
fn eight_racing_adds_of_one_name_one_wins() {
    let sb = Sandbox::new();
    let outs = race(&sb, &["x"; 8]);
    let won = outs.iter().filter(|o| o.code == 0).count();
    assert_eq!(won, 1, "{outs:?}");
    for lost in outs.iter().filter(|o| o.code != 0) {
        assert_eq!(lost.code, 1, "{lost:?}");
        assert!(lost.stderr.ends_with(": File exists\n"), "{lost:?}");
    }
    assert_eq!(sb.mounted(), ["x"]);
    assert_eq!(sb.run_dir_mounts(), 1, "no stacked run-dir mounts");
}

#[test]
fn racing_first_adds_set_the_run_dir_up_once() {
    let sb = Sandbox::new();
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let outs = race(&sb, &names);
    assert!(outs.iter().all(|o| o.code == 0), "{outs:?}");
    assert_eq!(sb.mounted(), names);
    assert_eq!(sb.run_dir_mounts(), 1, "ip stacks one mount per racer here");
}

/// Starts one `netns-add NAME` per name at once, each under strace with
/// its first mount(2) held back half a second: every racer has looked at
/// the run dir before any has mounted anything, so that only the run
/// dir's lock keeps them from each setting it up (and stacking mounts).
fn race(sb: &Sandbox, names: &[&str]) -> Vec<Output> {
    let children: Vec<_> = names
        .iter()
        .map(|name| {
            Command::new("strace")
                .args(["-f", "-qq", "-o", "/dev/null", "-e"])
                .arg("inject=mount:delay_enter=500000:when=1")
                .arg(bin("add"))
                .arg(name)
                .env("NETNS_RUN_DIR", &sb.run)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children.into_iter().map(finish).collect()
}

/// An add killed where it has made a name's file and not yet mounted a
/// namespace onto it (strace holds back the unshare of the task that
/// makes a batch's files and namespaces, one name after the other): what
/// is left is the names made before, whole, and that one stale file (as
/// ip's add leaves at most one), which list names on stderr and del
/// removes. The files of a batch were all made before its task started:
/// a kill there left up to 16.
#[test]
fn an_add_killed_mid_batch_leaves_only_what_list_and_del_handle() {
    use std::os::unix::process::CommandExt;
    let sb = Sandbox::new();
    // The run dir set up: from now on each name is one mount.
    assert_eq!(sb.run("add", &["seed"]).code, 0);
    assert_eq!(sb.run("del", &["seed"]).code, 0);
    let names: String = (0..3000).map(|i| format!("k{i:04}\n")).collect();
    let mut child = Command::new("strace")
        // A batch's files and namespaces are made by a task of its own,
        // a name after the other; strace stops the task at each unshare,
        // its name's file made, the names before it whole.
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=unshare"])
        .arg(bin("add"))
        .arg("-")
        .env("NETNS_RUN_DIR", &sb.run)
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || stdin.write_all(names.as_bytes()));
    let start = std::time::Instant::now();
    // Caught at an unshare once 20 names are there (their task a batch's,
    // so its stops come a name after the other).
    while !held_in_unshare(child.id()) || sb.entries().len() < 20 {
        assert!(
            start.elapsed() < crate::util::PATIENCE,
            "{} names made:\n{}",
            sb.entries().len(),
            crate::util::describe(child.id())
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    crate::util::kill_group(&mut child);

    let entries = sb.entries();
    let whole = sb.mounted();
    let stale: Vec<String> = entries
        .iter()
        .filter(|e| !whole.contains(e))
        .cloned()
        .collect();
    let first: Vec<String> = (0..entries.len()).map(|i| format!("k{i:04}")).collect();
    assert_eq!(entries, first, "the names in order, none skipped");
    assert_eq!(whole, first[..whole.len()], "the names made are the first");
    assert!(!whole.is_empty(), "the first batch is whole");
    assert_eq!(stale, entries[entries.len() - 1..], "one file left stale");
    // A file younger than a moment may be an add's at work: made old, it
    // is stale to list.
    for name in &stale {
        let touched = Command::new("touch")
            .args(["-d", "1 hour ago"])
            .arg(sb.file(name))
            .status()
            .unwrap();
        assert!(touched.success());
    }
    let out = sb.run("list", &[]);
    let listed: Vec<String> = out.stdout.lines().map(String::from).collect();
    assert_eq!(listed, whole, "every nsfs mount is listed");
    for name in &stale {
        assert!(
            out.stderr.contains(&format!("{name}\" holds no namespace")),
            "{name}: {out:?}"
        );
    }
    let out = sb.run("del", &["--all"]);
    assert_eq!(out.code, 0, "everything left is removable: {out:?}");
    assert!(sb.entries().is_empty() && sb.mounted().is_empty());
}

/// A ^C that comes between a delete's unmount and its unlink waits for
/// the unlink: no stale file is left where a namespace was. strace holds
/// the umount2 at its exit (the namespace unmounted) for a second, and
/// the SIGINT comes then.
#[test]
fn an_interrupted_del_leaves_no_stale_file() {
    let sb = Sandbox::with(&["d1", "d2"]);
    let inject = "umount2:delay_exit=1000000:when=1";
    let mut child = traced(
        &sb,
        inject,
        Some(&sb.file("d1")),
        &["del", "d1"],
        String::new(),
    );
    let strace = child.id();
    interrupt(&mut child, &mut || {
        tracee(strace)
            .filter(|_| sb.mounted() == ["d2"])
            .map(|pid| vec![pid])
    });
    assert_eq!(sb.entries(), ["d2"], "no stale file where d1 was");
}

/// A ^C during an add's batch (to netns-add and its task, as a terminal
/// sends it to the whole group) takes effect once the batch is whole:
/// no file is left without its namespace. strace holds the 4th unshare
/// of a task (its count is a process's, and a batch of 16 names is a
/// task's), in the first batch.
#[test]
fn an_interrupted_add_leaves_no_stale_file() {
    let sb = Sandbox::new();
    let names: String = (0..3000).map(|i| format!("k{i:04}\n")).collect();
    let inject = "unshare:delay_enter=1000000:when=4";
    let mut child = traced(&sb, inject, None, &["add", "-"], names);
    let strace = child.id();
    interrupt(&mut child, &mut || {
        let add = held_long(strace, 272).filter(|_| sb.entries().len() >= 4)?;
        let task = std::fs::read_to_string(format!("/proc/{add}/task/{add}/children")).ok()?;
        Some(
            [add]
                .into_iter()
                .chain(task.split_whitespace().map(String::from))
                .collect(),
        )
    });
    let entries = sb.entries();
    let first: Vec<String> = (0..entries.len()).map(|i| format!("k{i:04}")).collect();
    assert_eq!(entries, first, "the names in order, none skipped");
    assert_eq!(sb.mounted(), entries, "every file holds its namespace");
    assert_eq!(entries.len(), 16, "the first batch whole, no more");
}

/// A ^C that comes between the file an attach makes and its mount
/// waits for the mount: no stale file. strace holds the file's openat at
/// its exit (the file made) for a second, and the SIGINT comes then.
#[test]
fn an_interrupted_attach_leaves_no_stale_file() {
    let sb = Sandbox::with(&["c0"]);
    let target = sb.file("a");
    let c0 = sb.file("c0");
    let args = ["attach", "a", c0.to_str().unwrap()];
    let inject = "openat:delay_exit=1000000:when=1";
    let mut child = traced(&sb, inject, Some(&target), &args, String::new());
    let strace = child.id();
    interrupt(&mut child, &mut || {
        tracee(strace)
            .filter(|_| target.exists())
            .map(|pid| vec![pid])
    });
    assert_eq!(sb.entries(), ["a", "c0"]);
    assert_eq!(sb.mounted(), ["a", "c0"], "the file holds its namespace");
}

/// A ^C that comes while netns-link makes a batch ends it once the batch
/// is whole (the signals that end a process wait in Wirer::make): no
/// pair is left without its addresses, or down. strace holds a sendto
/// after the first batch's pairs are made (its 300th: the loopbacks up
/// and the dumps of 65 namespaces are about 195, then 64 pairs, then the
/// ups), and the SIGINT comes then.
#[test]
fn an_interrupted_link_leaves_only_whole_links() {
    let names: Vec<String> = (0..100).map(|i| format!("c{i}")).collect();
    let sb = Sandbox::with(&names.iter().map(String::as_str).collect::<Vec<_>>());
    let lines: String = (0..99)
        .map(|i| format!("c{i} -a 10.0.{i}.0/31 c{} -a 10.0.{i}.1/31\n", i + 1))
        .collect();
    let inject = "sendto:delay_enter=1000000:when=300";
    let mut child = traced(&sb, inject, None, &["link", "-"], lines);
    let strace = child.id();
    interrupt(&mut child, &mut || {
        held_long(strace, 44).map(|pid| vec![pid])
    });
    let mut whole = 0;
    for name in &names {
        let out = crate::link::ip(&sb, name, &["-j", "addr"]);
        assert_eq!(out.code, 0, "{out:?}");
        for dev in crate::util::json(&out.stdout).as_array().unwrap() {
            if dev["ifname"] == "lo" {
                continue;
            }
            let has_v4 = dev["addr_info"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["family"] == "inet");
            let up = dev["flags"].as_array().unwrap().iter().any(|f| f == "UP");
            assert!(has_v4 && up, "half a link in {name}: {dev}");
            whole += 1;
        }
    }
    // Interrupted: some links made, not all.
    assert!(whole > 0 && whole < 2 * 99, "{whole} ends");
}

/// A verb (`args[0]`) under strace with `inject` (on `path`, if given),
/// in the sandbox's run dir, `stdin` written to it, its output dropped.
fn traced(sb: &Sandbox, inject: &str, path: Option<&Path>, args: &[&str], stdin: String) -> Child {
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o", "/dev/null", "-e"])
        .arg(format!("inject={inject}"));
    if let Some(path) = path {
        cmd.arg("-P").arg(path);
    }
    let mut child = cmd
        .arg(bin(args[0]))
        .args(&args[1..])
        .env("NETNS_RUN_DIR", &sb.run)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    std::thread::spawn(move || input.write_all(stdin.as_bytes()));
    child
}

/// Waits until `ready` names the processes to interrupt, sends them
/// SIGINT, and checks that the tool ended by it (strace ends as its
/// tracee did).
fn interrupt(child: &mut Child, ready: &mut dyn FnMut() -> Option<Vec<String>>) {
    use std::os::unix::process::ExitStatusExt;
    let start = std::time::Instant::now();
    let pids = loop {
        if let Some(pids) = ready() {
            break pids;
        }
        assert!(
            start.elapsed() < crate::util::PATIENCE,
            "{}",
            crate::util::describe(child.id())
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    let kill = Command::new("kill").arg("-INT").args(&pids).status();
    assert_eq!(kill.unwrap().code(), Some(0));
    let status = crate::util::wait_for(child, "the tool under strace");
    assert!(
        status.signal() == Some(2) || status.code() == Some(130),
        "{status:?}"
    );
}

/// [`held_in`], for a call strace holds long (a delay injected), not the
/// moment every traced call stops: still held a third of a second later.
fn held_long(strace: u32, call: u32) -> Option<String> {
    held_in(strace, call)?;
    std::thread::sleep(Duration::from_millis(300));
    held_in(strace, call)
}

/// Whether the task of the process strace (`strace`, its pid) runs is
/// held in an unshare(2) call: stopped for its tracer, in system call 272.
fn held_in_unshare(strace: u32) -> bool {
    held_in(strace, 272).is_some()
}

/// The pid of strace's tracee while strace holds it at system call
/// number `call` (its children's first, for a tool that runs one).
fn held_in(strace: u32, call: u32) -> Option<String> {
    let tracee = first_child(&strace.to_string())?;
    let task = first_child(&tracee).unwrap_or_else(|| tracee.clone());
    let stat = std::fs::read_to_string(format!("/proc/{task}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(") ")
        .next()
        .and_then(|rest| rest.chars().next());
    let at = std::fs::read_to_string(format!("/proc/{task}/syscall")).unwrap_or_default();
    (state == Some('t') && at.starts_with(&format!("{call} "))).then_some(tracee)
}

/// strace's tracee: the tool it runs.
fn tracee(strace: u32) -> Option<String> {
    first_child(&strace.to_string())
}

/// The first child of process `pid`, once it has one.
fn first_child(pid: &str) -> Option<String> {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    children.split_whitespace().next().map(String::from)
}

/// Runs a verb under strace, failing `syscall` (on `path`, if given).
fn injected(sb: &Sandbox, inject: &str, path: Option<&std::path::Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o", "/dev/null", "-e"])
        .arg(format!("inject={inject}"));
    if let Some(path) = path {
        cmd.arg("-P").arg(path);
    }
    cmd.arg(bin(args[0]))
        .args(&args[1..])
        .env("NETNS_RUN_DIR", &sb.run);
    output(&mut cmd, "")
}

/// Exit 1 and one line that says which step failed.
fn assert_failed_cleanly(out: &Output, what: &str, step: &str) {
    assert_eq!(out.code, 1, "{what}: {out:?}");
    assert!(out.stderr.starts_with("netns-"), "{what}: {out:?}");
    assert!(
        out.stderr.contains(&format!(": cannot {step} ")),
        "{what}: {out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{what}: {out:?}");
}

#[test]
fn add_failing_at_each_step_leaves_the_run_dir_as_it_was() {
    let prepared = Sandbox::new();
    assert_eq!(prepared.run("add", &["seed"]).code, 0);
    assert_eq!(prepared.run("del", &["seed"]).code, 0);
    let file = prepared.file("x");
    let cases = [
        ("openat:error=EACCES", Some(file.as_path()), "create"),
        // The namespace is made by a task of its own, thrown away after:
        // no way back to fail.
        (
            "clone:error=EAGAIN",
            None,
            "start a task to make a network namespace for",
        ),
        ("unshare:error=EPERM", None, "make a network namespace for"),
        // The mount's target is the file's descriptor, not its path; the
        // run dir is set up already, so this is the only mount.
        ("mount:error=EPERM", None, "mount the new namespace on"),
    ];
    for (inject, path, step) in cases {
        let out = injected(&prepared, inject, path, &["add", "x"]);
        let what = format!("{inject} on {path:?}");
        assert_failed_cleanly(&out, &what, step);
        assert!(
            prepared.entries().is_empty(),
            "{what}: {:?}",
            prepared.entries()
        );
        assert!(prepared.mounted().is_empty(), "{what}");
        assert_eq!(prepared.run_dir_mounts(), 1, "{what}");
    }
}

#[test]
fn add_failing_to_set_up_the_run_dir_undoes_its_steps() {
    let fresh = Sandbox::new();
    let run = fresh.run.clone();
    let cases = [
        ("mkdir,mkdirat:error=EACCES", "create"),
        ("openat:error=EACCES", "open"),
        ("flock:error=EIO", "lock"),
        ("mount:error=EPERM", "bind-mount"),
        ("mount:error=EPERM:when=2", "make private"),
        ("mount:error=EPERM:when=3", "make shared"),
    ];
    for (inject, step) in cases {
        let path = (!inject.starts_with("flock")).then_some(run.as_path());
        let out = injected(&fresh, inject, path, &["add", "x"]);
        assert_failed_cleanly(&out, inject, step);
        assert!(!run.exists(), "{inject}: the run dir it made is gone");
        assert_eq!(fresh.run_dir_mounts(), 0, "{inject}: no mount left");
    }
}

#[test]
fn del_failing_at_each_step_leaves_the_namespace_whole() {
    let sb = Sandbox::new();
    assert_eq!(sb.run("add", &["x"]).code, 0);
    let file = sb.file("x");
    let inode = crate::util::ns_inode(&file);
    for (inject, step) in [
        ("openat:error=EACCES", "remove"),
        ("umount2:error=EPERM", "unmount"),
        ("unlink,unlinkat:error=EPERM", "remove"),
    ] {
        let out = injected(&sb, inject, Some(&file), &["del", "x"]);
        assert_failed_cleanly(&out, inject, step);
        assert_eq!(sb.mounted(), ["x"], "{inject}");
        assert_eq!(
            crate::util::ns_inode(&file),
            inode,
            "{inject}: the same namespace"
        );
        assert_eq!(sb.run("list", &[]).stdout, "x\n", "{inject}");
    }
}

fn as_nobody(sb: &Sandbox, args: &[&str]) -> Output {
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin(args[0]))
        .args(&args[1..])
        .env("NETNS_RUN_DIR", &sb.run);
    output(&mut cmd, "")
}

fn assert_says_permission_and_root(out: &Output) {
    assert_eq!(out.code, 1, "{out:?}");
    let err = &out.stderr;
    assert!(
        err.contains("Permission denied") || err.contains("Operation not permitted"),
        "{out:?}"
    );
    assert!(err.contains("root"), "{out:?}");
    assert!(
        err.contains("--rootless for namespaces of your own"),
        "{out:?}"
    );
}

/// Refused before anything is written: the run dir is another user's.
fn assert_refused_as_not_ours(out: &Output, sb: &Sandbox) {
    assert_eq!(out.code, 1, "{out:?}");
    let expected = format!(
        "refusing the run dir \"{}\": it belongs to uid 0 (mode 0755), not to this user \
         (uid 65534): run it as its owner, or with --rootless for namespaces of your own",
        sb.run.display()
    );
    assert!(out.stderr.contains(&expected), "{out:?}");
}

#[test]
fn without_root_nothing_is_made_or_removed() {
    let sb = Sandbox::new();
    assert_says_permission_and_root(&as_nobody(&sb, &["add", "x"]));
    assert!(!sb.run.exists());
    assert_eq!(sb.run("add", &["mine"]).code, 0);
    assert_refused_as_not_ours(&as_nobody(&sb, &["add", "x"]), &sb);
    assert_refused_as_not_ours(&as_nobody(&sb, &["del", "mine"]), &sb);
    assert_eq!(sb.mounted(), ["mine"]);
    let listed = as_nobody(&sb, &["list"]);
    assert_eq!(
        (listed.code, listed.stdout.as_str()),
        (0, "mine\n"),
        "{listed:?}"
    );
}

/// A run dir that another user can change (group- or world-writable, or
/// not the caller's) is refused by every verb that writes to it, with its
/// mode and owner; nothing is made or removed, and the reading verbs
/// (list, identify, pids, exec, watch) still work there.
#[test]
fn a_run_dir_others_can_write_to_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::with(&["a"]);
    let me = std::process::id().to_string();
    let mut procs = crate::util::Procs::default();
    let inside = procs.sleepers(sb.cmd("exec"), "a", 0)[0].to_string();
    for (mode, owner) in [(0o775, 0), (0o757, 0), (0o1777, 0), (0o755, 65534)] {
        std::fs::set_permissions(&sb.run, std::fs::Permissions::from_mode(mode)).unwrap();
        nix::unistd::chown(&sb.run, Some(nix::unistd::Uid::from_raw(owner)), None).unwrap();
        let what = format!("mode {mode:o}, owner {owner}");
        for args in [
            &["add", "b"][..],
            &["attach", "b", &me],
            &["del", "a"],
            &["del", "--all"],
        ] {
            let out = sb.run(args[0], &args[1..]);
            assert_eq!(out.code, 1, "{what}: {args:?}: {out:?}");
            let said = format!(
                "netns-{}: refusing the run dir \"{}\": ",
                args[0],
                sb.run.display()
            );
            assert!(out.stderr.starts_with(&said), "{what}: {out:?}");
            assert!(
                out.stderr.contains(&format!("mode {mode:04o}")),
                "{what}: {out:?}"
            );
            assert!(
                out.stderr.contains(&format!("uid {owner}")),
                "{what}: {out:?}"
            );
        }
        assert_eq!(sb.entries(), ["a"], "{what}");
        assert_eq!(sb.mounted(), ["a"], "{what}");
        for (args, said) in [
            (&["list"][..], "a\n".to_owned()),
            (&["identify", &inside], "a\n".to_owned()),
            (&["pids", "a"], format!("{inside}\n")),
            (&["exec", "a", "echo", "in a"], "in a\n".to_owned()),
            (
                &["watch", "--names", "--existing", "--count", "0"],
                "add a\n".to_owned(),
            ),
        ] {
            let out = sb.run(args[0], &args[1..]);
            assert_eq!(
                (out.code, out.stdout.as_str(), out.stderr.as_str()),
                (0, said.as_str(), ""),
                "{what}: {args:?}"
            );
        }
    }
    nix::unistd::chown(&sb.run, Some(nix::unistd::Uid::from_raw(0)), None).unwrap();
    std::fs::set_permissions(&sb.run, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn attach_failing_at_each_step_leaves_the_run_dir_as_it_was() {
    let sb = Sandbox::new();
    assert_eq!(sb.run("add", &["seed"]).code, 0);
    assert_eq!(sb.run("del", &["seed"]).code, 0);
    let file = sb.file("x");
    let me = std::process::id().to_string();
    for (inject, path, step) in [
        ("openat:error=EACCES", Some(file.as_path()), "create"),
        // The only mount (the run dir is set up), onto the descriptor.
        ("mount:error=EPERM", None, "mount the namespace on"),
    ] {
        let out = injected(&sb, inject, path, &["attach", "x", &me]);
        assert_failed_cleanly(&out, inject, step);
        assert!(sb.entries().is_empty(), "{inject}: {:?}", sb.entries());
        assert_eq!(sb.run_dir_mounts(), 1, "{inject}");
    }
}

/// The new file swapped for a symlink to another file between its making
/// and the mount (strace holds the mount back): the mount goes onto the
/// file made or nowhere, never through the symlink; the symlink, not ours,
/// is left alone.
#[test]
fn a_name_swapped_for_a_symlink_cannot_take_the_mount_elsewhere() {
    for verb in ["add", "attach"] {
        let sb = Sandbox::new();
        assert_eq!(sb.run("add", &["seed"]).code, 0);
        assert_eq!(sb.run("del", &["seed"]).code, 0);
        let decoy = sb.run.with_file_name("decoy");
        std::fs::write(&decoy, "").unwrap();
        let me = std::process::id().to_string();
        let args: &[&str] = match verb {
            "add" => &["add", "x"],
            _ => &["attach", "x", &me],
        };
        let child = Command::new("strace")
            .args([
                "-f",
                "-qq",
                "-o",
                "/dev/null",
                "-e",
                "inject=mount:delay_enter=500000",
            ])
            .arg(bin(args[0]))
            .args(&args[1..])
            .env("NETNS_RUN_DIR", &sb.run)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let file = sb.file("x");
        let start = std::time::Instant::now();
        while !file.exists() {
            assert!(
                start.elapsed() < crate::util::PATIENCE,
                "{verb}: no file made:\n{}",
                crate::util::describe(child.id())
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink(&decoy, &file).unwrap();
        let out = finish(child);
        let stderr = out.stderr;
        assert_eq!(out.code, 1, "{verb}: {stderr}");
        assert!(
            stderr.contains("No such file or directory"),
            "{verb}: the file made is gone: {stderr}"
        );
        let nsfs = crate::util::mounts()
            .into_iter()
            .filter(|m| m.fs_type == "nsfs" && m.point.starts_with(sb.run.parent().unwrap()))
            .count();
        assert_eq!(
            nsfs, 0,
            "{verb}: nothing mounted, on the decoy least of all"
        );
        assert!(
            file.is_symlink(),
            "{verb}: the symlink is not ours to remove"
        );
        std::fs::remove_file(&file).unwrap();
    }
}

/// Under a shared parent (as systemd's /run is), an add's bind of the run
/// dir onto itself sits in the parent's peer group until its private
/// step. A second add in that window must wait for the set-up (a name
/// mounted then would propagate to the parent, hidden under the run dir:
/// a copy no delete reaches). An add killed in the window leaves the run
/// dir so; the next add repairs it. strace holds the first add after its
/// bind, then kills one there.
#[test]
fn an_add_in_or_after_another_adds_set_up_leaves_each_name_once_and_deletable() {
    let sb = Sandbox::new();
    let base = crate::util::fresh_dir("-shared");
    std::fs::create_dir_all(&base).unwrap();
    let script = format!(
        "mount -t tmpfs race {base}
         mount --make-shared {base}
         export NETNS_RUN_DIR={base}/netns
         count() {{ grep -c \" {base}/netns/$1 \" /proc/self/mountinfo || true; }}
         timeout 20 strace -f -qq -o /dev/null -e inject=mount:delay_exit=1500000:when=1 \
             netns-add a &
         sleep 0.5
         timeout 20 netns-add b
         wait $!
         echo list: $(netns-list)
         echo mounts: $(count a) $(count b)
         netns-del a b
         echo left: $(grep -c \" {base}/.* nsfs \" /proc/self/mountinfo || true)
         export NETNS_RUN_DIR={base}/netns2
         count() {{ grep -c \" {base}/netns2/$1 \" /proc/self/mountinfo || true; }}
         timeout 20 strace -f -qq -o /dev/null -e inject=mount:signal=SIGKILL:when=2 \
             netns-add c || echo killed
         netns-add d
         echo list: $(netns-list)
         echo mounts: $(count d)
         netns-del --all
         echo left: $(grep -c \" {base}/.* nsfs \" /proc/self/mountinfo || true)",
        base = base.display()
    );
    let out = crate::util::in_new_namespaces(&sb, &["-m", "--propagation", "private"], &script);
    let _ = std::fs::remove_dir(&base);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout, "list: a b\nmounts: 1 1\nleft: 0\nkilled\nlist: d\nmounts: 1\nleft: 0\n",
        "{out:?}"
    );
}
