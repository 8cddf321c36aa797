//! netns-watch: events through a pipe, in order, each out before the next
//! command starts; adds only once usable; --existing, --count, a reader
//! that goes away, a missing run dir.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use crate::util::{Sandbox, json};

/// A running netns-watch, its stdout read line by line through a pipe; on
/// drop it is killed and reaped.
pub struct Watcher {
    child: Child,
    lines: Receiver<String>,
}

const PATIENCE: Duration = Duration::from_secs(10);

impl Watcher {
    pub fn start(mut cmd: Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("netns-watch");
        let stdout = child.stdout.take().expect("stdout");
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Watcher { child, lines }
    }

    /// The next line, which must come within a few seconds.
    pub fn line(&self) -> String {
        self.lines.recv_timeout(PATIENCE).unwrap_or_else(|e| {
            // Where it waits, for a watcher that says nothing.
            let pid = self.child.id();
            let proc = |what| std::fs::read_to_string(format!("/proc/{pid}/{what}"));
            let stack = proc("stack").unwrap_or_default();
            let syscall = proc("syscall").unwrap_or_default();
            panic!("no line from netns-watch ({e}); syscall {syscall}stack:\n{stack}")
        })
    }

    /// The next line that `keep` accepts, skipping others'.
    pub fn line_where(&self, keep: impl Fn(&str) -> bool) -> String {
        loop {
            let line = self.line();
            if keep(&line) {
                return line;
            }
        }
    }

    /// Waits until the watcher is in poll(2) (its wchan says so): it is
    /// set up then, its watches in place and what was there looked at.
    pub fn wait_until_polling(&self) {
        let pid = self.child.id();
        let start = std::time::Instant::now();
        while !std::fs::read_to_string(format!("/proc/{pid}/wchan"))
            .unwrap_or_default()
            .contains("poll")
        {
            assert!(
                start.elapsed() < PATIENCE,
                "netns-watch never waits for events:\n{}",
                crate::util::describe(pid)
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// No line for a while.
    pub fn assert_quiet(&self) {
        match self.lines.recv_timeout(Duration::from_millis(300)) {
            Err(RecvTimeoutError::Timeout) => {}
            other => panic!("expected no line, got {other:?}"),
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        if let Err(hang) = crate::util::try_wait_for(&mut self.child, PATIENCE) {
            eprintln!("a killed netns-watch did not end: {hang}");
        }
    }
}

/// A watcher on `sb` that is surely watching when this returns: it reports
/// the namespace `ready`, which exists, with --existing.
fn ready_watcher(sb: &Sandbox, args: &[&str]) -> Watcher {
    if !sb.file("ready").exists() {
        assert_eq!(sb.run("add", &["ready"]).code, 0);
    }
    let mut cmd = sb.cmd("watch");
    // Names only: the host's nsids change as other tests run.
    cmd.args(["--names", "--existing"]).args(args);
    let watcher = Watcher::start(cmd);
    let first = watcher.line();
    assert!(
        first == "add ready" || first.contains("\"ready\""),
        "{first}"
    );
    watcher
}

#[test]
fn each_event_is_out_before_the_next_command() {
    let sb = Sandbox::new();
    let w = ready_watcher(&sb, &[]);
    let step = |verb: &str, args: &[&str], line: &str| {
        let out = sb.run(verb, args);
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(w.line(), line, "after {verb} {args:?}");
    };
    step("add", &["a"], "add a");
    step("add", &["b"], "add b");
    step("del", &["a"], "delete a");
    step("add", &["c"], "add c");
    step("del", &["c", "b"], "delete c");
    assert_eq!(w.line(), "delete b");
    w.assert_quiet();
}

#[test]
fn unshare_into_a_file_counts_and_a_stale_file_does_not() {
    let sb = Sandbox::new();
    let w = ready_watcher(&sb, &[]);
    std::fs::write(sb.file("stale"), "").unwrap();
    w.assert_quiet();
    std::fs::remove_file(sb.file("stale")).unwrap();
    w.assert_quiet();
    std::fs::write(sb.file("u"), "").unwrap();
    let out = crate::util::output(
        Command::new("unshare")
            .arg(format!("--net={}", sb.file("u").display()))
            .arg("true"),
        "",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(w.line(), "add u");
    assert_eq!(sb.run("del", &["u"]).code, 0);
    assert_eq!(w.line(), "delete u");
}

#[test]
fn json_lines_one_object_a_line() {
    let sb = Sandbox::new();
    let w = ready_watcher(&sb, &["--json"]);
    assert_eq!(sb.run("add", &["blue"]).code, 0);
    // Read before the delete: a name made and gone before the watcher
    // looks at it is reported neither way (it failed one run in ten so).
    assert_eq!(json(&w.line()), json(r#"{"event":"add","name":"blue"}"#));
    assert_eq!(sb.run("del", &["blue"]).code, 0);
    assert_eq!(w.line(), r#"{"event":"delete","name":"blue"}"#);
}

/// The reader runs netns-exec on each add line as it reads it: the
/// namespace is always usable by then.
#[test]
fn every_add_line_names_a_usable_namespace() {
    let sb = Sandbox::new();
    let w = ready_watcher(&sb, &["--count", "200"]);
    let adder = {
        let mut cmd = sb.cmd("add");
        cmd.arg("-").stdin(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let names: String = (0..200).map(|i| format!("u{i}\n")).collect();
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            // Slowly enough that the reader keeps up with some, and not
            // with others.
            for (i, line) in names.lines().enumerate() {
                let _ = writeln!(stdin, "{line}");
                if i % 10 == 0 {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        });
        child
    };
    for i in 0..200 {
        let line = w.line();
        let name = line.strip_prefix("add ").expect("an add");
        let out = sb.run("exec", &[name, "true"]);
        assert_eq!(out.code, 0, "add line {i}: {line}: {out:?}");
    }
    let out = crate::util::finish(adder);
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn existing_with_racing_adds_reports_each_namespace_once() {
    let sb = Sandbox::new();
    let before: String = (0..50).map(|i| format!("old{i}\n")).collect();
    assert_eq!(sb.run_stdin("add", &["-"], &before).code, 0);
    let racing: String = (0..50).map(|i| format!("new{i}\n")).collect();
    let mut adder = sb
        .cmd("add")
        .arg("-")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = adder.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(racing.as_bytes()));
    let mut cmd = sb.cmd("watch");
    cmd.args(["--names", "--existing"]);
    let w = Watcher::start(cmd);
    feeder.join().unwrap().unwrap();
    assert!(crate::util::wait_for(&mut adder, "netns-add -").success());
    assert_eq!(sb.run("add", &["end"]).code, 0);
    let mut seen = Vec::new();
    loop {
        let line = w.line();
        if line == "add end" {
            break;
        }
        seen.push(line.strip_prefix("add ").expect("only adds").to_owned());
    }
    seen.sort();
    let mut all: Vec<String> = (0..50)
        .flat_map(|i| [format!("old{i}"), format!("new{i}")])
        .collect();
    all.sort();
    assert_eq!(seen, all, "each exactly once");
}

#[test]
fn count_ends_it_after_n_events() {
    let sb = Sandbox::new();
    let mut w = ready_watcher(&sb, &["--count", "2"]);
    assert_eq!(sb.run("add", &["a", "b", "c"]).code, 0);
    assert_eq!((w.line(), w.line()), ("add a".into(), "add b".into()));
    let status = crate::util::wait_for(&mut w.child, "netns-watch --count 2");
    assert!(status.success(), "{status}");
    assert!(w.lines.recv_timeout(PATIENCE).is_err(), "nothing after");
}

#[test]
fn a_reader_going_away_ends_it_quietly() {
    let sb = Sandbox::with(&["a"]);
    let mut child = sb
        .cmd("watch")
        .args(["--names", "--existing"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Watching once its --existing line is out (read on a thread, which
    // hands the pipe back, so that the wait is bounded); then the reader
    // goes.
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    let (send, first) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = lines.read_line(&mut line);
        let _ = send.send((line, lines));
    });
    let (first, lines) = first.recv_timeout(PATIENCE).expect("the --existing line");
    assert_eq!(first, "add a\n");
    drop(lines);
    // No event needed: the closed pipe itself ends it, well within the
    // wait's bound.
    let out = crate::util::finish(child);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
}

#[test]
fn a_missing_run_dir_is_made_and_an_emptied_one_still_watched() {
    let sb = Sandbox::new();
    assert!(!sb.run.exists());
    let mut cmd = sb.cmd("watch");
    cmd.arg("--names");
    let w = Watcher::start(cmd);
    // Watching once it waits for events: the run dir it made is mounted
    // before its inotify watch is added.
    w.wait_until_polling();
    assert_eq!(sb.run("add", &["a", "b"]).code, 0);
    assert_eq!((w.line(), w.line()), ("add a".into(), "add b".into()));
    assert_eq!(sb.run("del", &["--all"]).code, 0);
    assert_eq!((w.line(), w.line()), ("delete a".into(), "delete b".into()));
    assert_eq!(sb.run("add", &["c"]).code, 0);
    assert_eq!(w.line(), "add c");
    assert_eq!(sb.run_dir_mounts(), 1);
}

/// `--names` prints exactly what `ip netns monitor` prints, for names
/// made and removed by either, with a space in one: both run side by side
/// in a mount namespace of the test's own whose /run/netns (ip's run dir)
/// is a tmpfs, each step waited for in both before the next.
#[test]
fn names_prints_what_ip_netns_monitor_prints() {
    let sb = Sandbox::new();
    let script = r#"
        mount -t tmpfs -o mode=0755 netns-test /run; mkdir /run/netns
        export NETNS_RUN_DIR=/run/netns
        cd "$WORK"
        ip= ours=
        trap 'st=$?; kill $ip $ours 2>/dev/null || true; wait; exit $st' EXIT
        stdbuf -oL ip netns monitor > ip.out & ip=$!
        netns-watch --names > ours.out & ours=$!
        # ip once its inotify watch is on, ours once it waits in poll(2).
        for i in $(seq 1000); do
            grep -qs '^inotify wd:' /proc/$ip/fdinfo/* && grep -qs poll /proc/$ours/wchan && break
            sleep 0.01
        done
        wait_for() {
            for i in $(seq 1000); do grep -qxF "$1" ip.out && grep -qxF "$1" ours.out && return 0; sleep 0.01; done
            echo "no "$1":" >&2; cat ip.out ours.out >&2; exit 1
        }
        ip netns add a; wait_for 'add a'
        netns-add 'c d'; wait_for 'add c d'
        ip netns del 'c d'; wait_for 'delete c d'
        netns-del a; wait_for 'delete a'
        echo "--- ip"; cat ip.out; echo "--- ours"; cat ours.out
    "#;
    std::fs::create_dir_all(&sb.run).unwrap();
    let script = format!(
        "WORK={}
{script}",
        sb.run.display()
    );
    let out = crate::util::in_new_namespaces(&sb, &["--mount"], &script);
    assert_eq!(out.code, 0, "{out:?}");
    let lines = "add a\nadd c d\ndelete c d\ndelete a\n";
    assert_eq!(
        out.stdout,
        format!("--- ip\n{lines}--- ours\n{lines}"),
        "{out:?}"
    );
}

/// nsid events in a network namespace of the test's own (so that other
/// tests' nsids stay out), and in a mount namespace of its own whose
/// /run/netns is a tmpfs (so that `ip netns set` works on its names, and
/// they go with it): watchers of all events, of names, of ids, and of ids
/// in JSON, each through a pipe, each ready once its --existing lines are
/// out.
#[test]
fn nsid_events_come_with_the_names_they_refer_to() {
    let sb = Sandbox::new();
    let script = r#"
        p1= p2= p3= p4= p5= sleeper=
        trap 'st=$?; kill $p1 $p2 $p3 $p4 $p5 $sleeper 2>/dev/null || true; wait; exit $st' EXIT
        mount -t tmpfs netns-test /run && mkdir /run/netns
        export NETNS_RUN_DIR=/run/netns
        wait_for() {
            for i in $(seq 1000); do grep -qxF "$2" "$1" && return 0; sleep 0.01; done
            echo "no \"$2\" in $1:" >&2; cat "$1" >&2; exit 1
        }
        cd "$WORK"
        netns-add a b c d
        netns-set a 1
        netns-watch --existing | cat > all & p1=$!
        netns-watch --existing --names | cat > names & p2=$!
        netns-watch --existing --ids | cat > ids & p3=$!
        netns-watch --existing --ids --json | cat > json & p4=$!
        netns-watch --existing --count 2 | cat > counted & p5=$!
        wait_for all 'add-nsid 1 a'; wait_for names 'add d'
        wait_for ids 'add-nsid 1 a'; wait_for json '{"event":"add-nsid","nsid":1,"name":"a"}'
        wait_for counted 'add-nsid 1 a'
        netns-add f; wait_for all 'add f'
        netns-set b 7; wait_for all 'add-nsid 7 b'
        # Both kinds count: the watcher (and the cat it feeds) is done.
        for i in $(seq 1000); do kill -0 $p5 2>/dev/null || break; sleep 0.01; done
        ! kill -0 $p5 2>/dev/null
        ip netns set c 9; wait_for all 'add-nsid 9 c'
        ip link add va type veth peer name vb netns d; wait_for all 'add-nsid 0 d'
        unshare --net sleep 60 & sleeper=$!
        # In its namespace once its ns/net link is not ours any more.
        for i in $(seq 1000); do
            [ "$(readlink /proc/$sleeper/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break
            sleep 0.01
        done
        ip link add vx type veth peer name vy netns $sleeper; wait_for all 'add-nsid 2'
        kill $sleeper; wait_for all 'delete-nsid 2'
        netns-del b f; wait_for all 'delete f'; wait_for all 'delete-nsid 7 b'
        netns-add e; wait_for all 'add e'; wait_for names 'add e'
        wait_for ids 'delete-nsid 7 b'; wait_for json '{"event":"delete-nsid","nsid":7,"name":"b"}'
        for f in counted all names ids json; do echo "--- $f"; cat $f; done
    "#;
    std::fs::create_dir_all(&sb.run).unwrap();
    let script = format!("WORK={}\n{script}", sb.run.display());
    let out = crate::util::in_new_namespaces(&sb, &["--net", "--mount"], &script);
    assert_eq!(out.code, 0, "{out:?}");
    let existing = "add a\nadd b\nadd c\nadd d\n";
    let ids = "add-nsid 7 b\nadd-nsid 9 c\nadd-nsid 0 d\nadd-nsid 2\ndelete-nsid 2\n";
    let expected = format!(
        "--- counted\n{existing}add-nsid 1 a\nadd f\nadd-nsid 7 b\n\
         --- all\n{existing}add-nsid 1 a\nadd f\n{ids}delete b\ndelete f\ndelete-nsid 7 b\nadd e\n\
         --- names\n{existing}add f\ndelete b\ndelete f\nadd e\n\
         --- ids\nadd-nsid 1 a\n{ids}delete-nsid 7 b\n\
         --- json\n"
    );
    let (text, json_lines) = out
        .stdout
        .split_at(out.stdout.find("--- json\n").unwrap() + 9);
    assert_eq!(text, expected, "{out:?}");
    let json_lines: Vec<serde_json::Value> = json_lines.lines().map(json).collect();
    let want = [
        r#"{"event":"add-nsid","nsid":1,"name":"a"}"#,
        r#"{"event":"add-nsid","nsid":7,"name":"b"}"#,
        r#"{"event":"add-nsid","nsid":9,"name":"c"}"#,
        r#"{"event":"add-nsid","nsid":0,"name":"d"}"#,
        r#"{"event":"add-nsid","nsid":2}"#,
        r#"{"event":"delete-nsid","nsid":2}"#,
        r#"{"event":"delete-nsid","nsid":7,"name":"b"}"#,
    ];
    assert_eq!(json_lines, want.map(json));
}

/// A watch holds nothing open on its run dir: the run dir's mount can be
/// taken off while it runs (as with `ip netns monitor`), and once the dir
/// itself is gone, the watch says so and exits 1 rather than stay deaf.
#[test]
fn a_watch_does_not_hold_its_run_dir_and_ends_when_it_goes() {
    let sb = Sandbox::new();
    let errors = sb.run.with_file_name("watch.err");
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "exec \"$0\" --names --existing 2>\"$1\""])
        .arg(crate::util::bin("watch"))
        .arg(&errors)
        .env("NETNS_RUN_DIR", &sb.run);
    assert_eq!(sb.run("add", &["ready"]).code, 0);
    let mut w = Watcher::start(cmd);
    assert_eq!(w.line(), "add ready");
    assert_eq!(sb.run("del", &["ready"]).code, 0);
    assert_eq!(w.line(), "delete ready");
    nix::mount::umount2(&sb.run, nix::mount::MntFlags::empty())
        .expect("the run dir's mount comes off while a watch runs");
    std::fs::remove_dir(&sb.run).unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = w.child.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < PATIENCE, "the watch lives on");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(1), "{status}");
    let said = std::fs::read_to_string(&errors).unwrap();
    assert_eq!(
        said,
        format!(
            "netns-watch: cannot watch \"{}\": No such file or directory\n",
            sb.run.display()
        )
    );
}

/// A name renamed over (`mv x b`, in a mount namespace where b is not
/// mounted on: the rename takes b's mount off everywhere) is a delete;
/// one renamed over by another name of a namespace is a delete and an
/// add.
#[test]
fn a_name_renamed_over_is_reported() {
    let sb = Sandbox::new();
    let w = ready_watcher(&sb, &[]);
    assert_eq!(sb.run("add", &["a", "b", "c"]).code, 0);
    assert_eq!([w.line(), w.line(), w.line()], ["add a", "add b", "add c"]);
    std::fs::write(sb.file("x"), "").unwrap();
    let run = sb.run.display();
    let renames: [(String, &[&str]); 2] = [
        (format!("umount {run}/b; mv {run}/x {run}/b"), &["delete b"]),
        (
            format!("umount {run}/a {run}/c; mv {run}/a {run}/c"),
            &["delete a", "delete c", "add c"],
        ),
    ];
    for (script, lines) in renames {
        let mut unshare = Command::new("unshare");
        unshare.args(["-m", "--propagation", "private", "sh", "-ec", &script]);
        let out = crate::util::output(&mut unshare, "");
        assert_eq!(out.code, 0, "{out:?}");
        let seen: Vec<String> = lines.iter().map(|_| w.line()).collect();
        assert_eq!(seen, lines, "{script}");
    }
    w.assert_quiet();
}
