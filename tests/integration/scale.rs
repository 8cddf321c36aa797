//! Thousands of names: an add and a watch's events cost the same as with
//! ten (no read of the mount table, no scan of the run dir), and the run
//! dir is set up the same whether the kernel is asked directly (statx and
//! statmount) or through /proc/self/mountinfo (kernels before 6.8, made
//! here by failing statx with ENOSYS).

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use nix::mount::{MsFlags, mount};

use crate::util::{Sandbox, output};

const MANY: usize = 3000;

/// A sandbox holding `n` names, `h0` to `h{n-1}`.
fn with_names(n: usize) -> Sandbox {
    let sb = Sandbox::new();
    let names: String = (0..n).map(|i| format!("h{i}\n")).collect();
    let out = sb.run_stdin("add", &["-"], &names);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    sb
}

/// The system calls of `verb args`, one name a line, from strace.
fn syscalls(sb: &Sandbox, verb: &str, args: &[&str]) -> Vec<String> {
    let trace = sb.run.with_file_name("trace");
    let out = output(
        Command::new("strace")
            .args(["-qq", "-o"])
            .arg(&trace)
            .arg(crate::util::bin(verb))
            .args(args)
            .env("NETNS_RUN_DIR", &sb.run),
        "",
    );
    assert_eq!(out.code, 0, "{out:?}");
    let text = std::fs::read_to_string(&trace).expect("strace output");
    text.lines()
        .filter_map(|line| Some(line.split_once('(')?.0.to_owned()))
        .collect()
}

#[test]
fn an_add_makes_the_same_system_calls_among_thousands_of_names() {
    let few = with_names(10);
    let many = with_names(MANY);
    let trace = |sb: &Sandbox| {
        let trace = sb.run.with_file_name("trace");
        let calls = syscalls(sb, "add", &["x"]);
        (calls, std::fs::read_to_string(trace).unwrap())
    };
    let (few_calls, _) = trace(&few);
    let (many_calls, text) = trace(&many);
    assert!(!text.contains("mountinfo"), "the add read the mount table");
    assert_eq!(few_calls, many_calls, "10 names against {MANY}");
    assert_eq!(many.mounted().len(), MANY + 1);
    assert_eq!(many.run("del", &["--all"]).code, 0);
}

/// A child in a process group of its own, killed with the group (strace
/// and what it traces) on drop.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(-(self.0.id() as i32));
        let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

/// The system calls netns-watch makes for 20 adds and deletes, once it is
/// watching `sb`; panics on a read of the mount table or of the run dir.
fn watch_calls(sb: &Sandbox) -> Vec<String> {
    assert_eq!(sb.run("add", &["ready"]).code, 0);
    let trace = sb.run.with_file_name("watch-trace");
    let mut group = Group(
        Command::new("strace")
            .args(["-f", "-qq", "-o"])
            .arg(&trace)
            .arg(crate::util::bin("watch"))
            // Name events: nsid events come from the host's other tests.
            .args(["--names", "--existing"])
            .env("NETNS_RUN_DIR", &sb.run)
            .process_group(0)
            .stdout(Stdio::piped())
            .spawn()
            .expect("strace netns-watch"),
    );
    let mut lines = BufReader::new(group.0.stdout.take().expect("stdout")).lines();
    let mut next = || lines.next().expect("a line").expect("read");
    // The existing names come first, "ready" last of them: then it is
    // watching.
    while next() != "add ready" {}
    for i in 0..20 {
        let name = format!("e{i}");
        assert_eq!(sb.run("add", &[&name]).code, 0);
        assert_eq!(next(), format!("add {name}"));
        assert_eq!(sb.run("del", &[&name]).code, 0);
        assert_eq!(next(), format!("delete {name}"));
    }
    // The reader goes away: the watcher ends, and strace with it.
    drop(lines);
    let status = group.0.wait().expect("wait");
    assert!(status.success(), "{status}");
    let text = std::fs::read_to_string(&trace).expect("strace output");
    let first = text
        .lines()
        .position(|l| l.contains("write(1, \"add e0\\n\""))
        .expect("the first event's line in the trace");
    let events: Vec<String> = text.lines().skip(first + 1).map(String::from).collect();
    for line in &events {
        assert!(
            !line.contains("getdents") && !line.contains("mountinfo") && !line.contains("open"),
            "per event: {line}"
        );
    }
    events
}

#[test]
fn a_watch_does_the_same_per_event_among_thousands_of_names() {
    let few = with_names(10);
    let many = with_names(MANY);
    // Other tests' mounts wake a watcher too (poll on mountinfo), and each
    // wake looks at the files still waiting for their mount again, so the
    // counts vary from run to run (20 to 60 stats for these 40 events);
    // what would grow with names is a stat a name, 3000 an event.
    let stats = |calls: Vec<String>| calls.iter().filter(|c| c.contains("stat")).count();
    let (few_stats, many_stats) = (stats(watch_calls(&few)), stats(watch_calls(&many)));
    assert!(
        many_stats <= 200,
        "stats after the first event: {few_stats} with 10 names, {many_stats} with {MANY}"
    );
    assert_eq!(many.run("del", &["--all"]).code, 0);
}

/// How the run dir is asked about its mount: directly, or, with statx
/// failing as on kernels before 6.8, through /proc/self/mountinfo.
#[derive(Debug, Clone, Copy)]
enum Way {
    Statmount,
    Mountinfo,
}

const WAYS: [Way; 2] = [Way::Statmount, Way::Mountinfo];

fn add_cmd(sb: &Sandbox, way: Way) -> Command {
    match way {
        Way::Statmount => sb.cmd("add"),
        Way::Mountinfo => {
            let mut cmd = Command::new("strace");
            cmd.args([
                "-f",
                "-qq",
                "-o",
                "/dev/null",
                "-e",
                "inject=statx:error=ENOSYS",
            ])
            .arg(crate::util::bin("add"))
            .env("NETNS_RUN_DIR", &sb.run);
            cmd
        }
    }
}

/// The run dir's mount, as mountinfo shows it: its id and its peer group
/// (`shared:N`, or "" when private).
fn run_dir_mount(run: &Path) -> (String, String) {
    let text = crate::util::mountinfo();
    let line = text
        .lines()
        .rfind(|l| l.split(' ').nth(4) == Some(run.to_str().unwrap()))
        .expect("the run dir is a mount point");
    let id = line.split(' ').next().unwrap().to_owned();
    let shared = line
        .split(' ')
        .find(|f| f.starts_with("shared:"))
        .unwrap_or("")
        .to_owned();
    (id, shared)
}

#[test]
fn without_statx_the_run_dir_is_asked_about_through_mountinfo() {
    let sb = Sandbox::new();
    let trace = sb.run.with_file_name("trace");
    let out = output(
        Command::new("strace")
            .args(["-f", "-qq", "-e", "trace=openat,statx", "-e"])
            .arg("inject=statx:error=ENOSYS")
            .arg("-o")
            .arg(&trace)
            .arg(crate::util::bin("add"))
            .arg("x")
            .env("NETNS_RUN_DIR", &sb.run),
        "",
    );
    assert_eq!(out.code, 0, "{out:?}");
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(text.contains("/proc/self/mountinfo"), "{text}");
    assert_eq!(sb.mounted(), ["x"]);
}

#[test]
fn the_first_add_sets_the_run_dir_up_once_either_way() {
    for way in WAYS {
        let sb = Sandbox::new();
        let out = output(add_cmd(&sb, way).args(["a", "b"]), "");
        assert_eq!(out.code, 0, "{way:?}: {out:?}");
        assert_eq!(sb.run_dir_mounts(), 1, "{way:?}");
        assert!(!run_dir_mount(&sb.run).1.is_empty(), "{way:?}: shared");
        let out = output(add_cmd(&sb, way).arg("c"), "");
        assert_eq!(out.code, 0, "{way:?}: {out:?}");
        assert_eq!(
            sb.run_dir_mounts(),
            1,
            "{way:?}: the second add mounts nothing"
        );
        assert_eq!(sb.mounted(), ["a", "b", "c"], "{way:?}");
    }
}

#[test]
fn racing_first_adds_leave_one_run_dir_mount_either_way() {
    for way in WAYS {
        let sb = Sandbox::new();
        let children: Vec<Child> = (0..8)
            .map(|i| {
                add_cmd(&sb, way)
                    .arg(format!("r{i}"))
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{way:?}: {out:?}");
        }
        assert_eq!(sb.mounted().len(), 8, "{way:?}");
        assert_eq!(sb.run_dir_mounts(), 1, "{way:?}");
    }
}

#[test]
fn a_run_dir_that_is_a_mount_point_already_keeps_its_mount_either_way() {
    for way in WAYS {
        for shared in [false, true] {
            let what = format!("{way:?}, shared: {shared}");
            let sb = Sandbox::new();
            std::fs::create_dir(&sb.run).unwrap();
            // A tmpfs's root is 1777 unless told: a run dir others can
            // write to is refused.
            mount(
                Some("netns-test"),
                &sb.run,
                Some("tmpfs"),
                MsFlags::empty(),
                Some("mode=0755"),
            )
            .unwrap();
            let propagation = match shared {
                true => MsFlags::MS_SHARED,
                false => MsFlags::MS_PRIVATE,
            };
            mount(
                None::<&str>,
                &sb.run,
                None::<&str>,
                propagation,
                None::<&str>,
            )
            .unwrap();
            let before = run_dir_mount(&sb.run);
            let out = output(add_cmd(&sb, way).arg("x"), "");
            assert_eq!(out.code, 0, "{what}: {out:?}");
            let after = run_dir_mount(&sb.run);
            assert_eq!(sb.run_dir_mounts(), 1, "{what}: nothing mounted on it");
            assert_eq!(after.0, before.0, "{what}: the same mount");
            assert!(!after.1.is_empty(), "{what}: made shared");
            if shared {
                assert_eq!(after.1, before.1, "{what}: its peer group kept");
            }
            assert_eq!(sb.mounted(), ["x"], "{what}");
        }
    }
}

#[test]
fn a_delete_batch_larger_than_the_file_limit_removes_every_name() {
    let sb = with_names(300);
    let names: String = (0..300).map(|i| format!("h{i}\n")).collect();
    // netns-del holds what it removed open until the batch ends, as many
    // as the limit on open files lets it.
    let out = output(
        Command::new("prlimit")
            .arg("--nofile=100:100")
            .arg(crate::util::bin("del"))
            .arg("-")
            .env("NETNS_RUN_DIR", &sb.run),
        &names,
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert!(sb.entries().is_empty() && sb.mounted().is_empty());
}
