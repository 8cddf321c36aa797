//! `netns -batch FILE`: ip's batch files run through the multicall, each
//! line by the same verbs as the command line; iproute2's own netns tests
//! (testsuite/tests/ip/netns/set_nsid.t and set_nsid_batch.t) in our words;
//! and a failing line, with and without -force, against real `ip -batch`
//! on the same file.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::interop::SystemNames;
use crate::util::{Output, Sandbox, TempDir, bin, entries, in_new_netns, output};

fn multicall() -> PathBuf {
    bin("add").with_file_name("netns")
}

/// `netns ARGS...` in the sandbox's run dir, with `stdin`.
fn netns(sb: &Sandbox, args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(multicall());
    cmd.env("NETNS_RUN_DIR", &sb.run).args(args);
    output(&mut cmd, stdin)
}

/// A batch file of `text` in `dir`.
fn batch_file(dir: &TempDir, text: &str) -> PathBuf {
    let file = dir.0.join("batch");
    std::fs::write(&file, text).expect("the batch file");
    file
}

/// set_nsid.t: add, set an nsid, and see it in `list`, a bare `netns` and
/// `list-id`, in a network namespace of the test's own (its nsid table
/// holds only this test's 99).
#[test]
fn iproute2s_set_nsid_test_through_netns() {
    let sb = Sandbox::new();
    let out = in_new_netns(
        &sb,
        "netns add testnsid; netns set testnsid 99; echo list; netns list; echo bare; netns; \
         echo ids; netns list-id; netns del testnsid",
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (
            0,
            "list\ntestnsid (id: 99)\nbare\ntestnsid (id: 99)\nids\nnsid 99 (iproute2 netns name: \
             testnsid)\n"
        ),
        "{out:?}"
    );
    assert!(sb.entries().is_empty());
}

/// set_nsid_batch.t: the same add, set and list-id as lines of a batch
/// file, run with `-b FILE`, then a delete.
#[test]
fn iproute2s_set_nsid_batch_test_through_netns() {
    let sb = Sandbox::new();
    let dir = TempDir::new("batch");
    let file = batch_file(
        &dir,
        "netns add testnsid\nnetns set testnsid 99\nnetns list-id\n",
    );
    let script = format!("netns -b '{}'; netns del testnsid", file.display());
    let out = in_new_netns(&sb, &script);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "nsid 99 (iproute2 netns name: testnsid)\n", ""),
        "{out:?}"
    );
    assert!(sb.entries().is_empty());
}

/// 1000 adds then 1000 deletes as batch lines end as `netns-add -` and
/// `netns-del -` of the same names do (the bench times them side by side).
#[test]
fn a_batch_of_1000_adds_and_dels_ends_as_netns_add_and_del_of_them() {
    let names: String = (0..1000).map(|i| format!("b{i}\n")).collect();
    let lines = |verb: &str| -> String {
        names
            .lines()
            .map(|n| format!("netns {verb} {n}\n"))
            .collect()
    };
    let (batch, bulk) = (Sandbox::new(), Sandbox::new());
    let ours = netns(&batch, &["-batch", "-"], &lines("add"));
    let theirs = bulk.run_stdin("add", &["-"], &names);
    assert_eq!(
        (ours.code, &ours.stdout, &ours.stderr),
        (0, &String::new(), &String::new())
    );
    assert_eq!(theirs.code, 0, "{theirs:?}");
    assert_eq!(batch.entries(), bulk.entries());
    assert_eq!(batch.mounted(), bulk.mounted());
    assert_eq!(batch.mounted().len(), 1000);
    assert_eq!(netns(&batch, &[], "").stdout, netns(&bulk, &[], "").stdout);
    let ours = netns(&batch, &["-b", "-"], &lines("delete"));
    let theirs = bulk.run_stdin("del", &["-"], &names);
    assert_eq!(
        (ours.code, &ours.stdout, &ours.stderr),
        (0, &String::new(), &String::new())
    );
    assert_eq!(theirs.code, 0, "{theirs:?}");
    assert!(batch.entries().is_empty() && bulk.entries().is_empty());
}

/// What a batch of `text` did in /run/netns, run by `tool`: its exit
/// status, its `Command failed` lines, how many other lines it wrote to
/// stderr, its stdout, and which of `names` it left there (each then
/// removed for the next run).
fn in_run_netns(tool: &[&str], file: &Path, stdin: Option<&str>, names: &SystemNames) -> Run {
    let mut cmd = Command::new(tool[0]);
    cmd.args(&tool[1..]).env_remove("NETNS_RUN_DIR");
    let out = match stdin {
        Some(text) => output(cmd.arg("-").current_dir(file.parent().unwrap()), text),
        None => output(
            cmd.arg(file.file_name().unwrap())
                .current_dir(file.parent().unwrap()),
            "",
        ),
    };
    let present = entries(Path::new("/run/netns"));
    let left = names
        .0
        .iter()
        .filter(|n| present.contains(n))
        .cloned()
        .collect();
    for name in &names.0 {
        crate::util::remove_entry(&Path::new("/run/netns").join(name));
    }
    let (failed, said): (Vec<&str>, Vec<&str>) = out
        .stderr
        .lines()
        .partition(|l| l.starts_with("Command failed "));
    Run {
        code: out.code,
        failed: failed.into_iter().map(String::from).collect(),
        messages: said.len(),
        stdout: out.stdout.clone(),
        left,
        stderr: out.stderr,
    }
}

#[derive(Debug)]
struct Run {
    code: i32,
    failed: Vec<String>,
    messages: usize,
    stdout: String,
    left: Vec<String>,
    stderr: String,
}

/// A line that fails in the middle of a batch: without -force the lines
/// after it do not run, with it they do; either way the exit status, the
/// `Command failed FILE:LINE` lines (FILE `-` for stdin) and one message
/// of the verb's own before each are ip's, on the same file. Comments,
/// blank lines, quoted words and a continued line are read as ip reads
/// them (the line numbers after them are ip's).
#[test]
fn a_failing_line_stops_the_batch_but_with_force_as_in_ip() {
    let names = SystemNames::new(&["b1", "b2", "b 3", "b4x", "b5"]);
    let [b1, b2, b3, b4x, b5] = [0, 1, 2, 3, 4].map(|i| names.0[i].as_str());
    let b4 = b4x.strip_suffix('x').unwrap();
    let dir = TempDir::new("batch");
    let text = format!(
        "netns add {b1}\n\
         # a comment, then a blank line\n\
         \n\
         netns add {b1}\n\
         netns add \"{b3}\" # added\n\
         netns add {b4}\\\n\
         x\n\
         netns delete {b5}\n\
         netns add {b2}\n"
    );
    let file = batch_file(&dir, &text);
    let netns = multicall().display().to_string();
    for force in [false, true] {
        for stdin in [None, Some(text.as_str())] {
            let with = |tool: &str| -> Vec<String> {
                let mut args = vec![tool.to_owned()];
                if force {
                    args.push("-force".to_owned());
                }
                args.push("-batch".to_owned());
                args
            };
            let (ip_args, our_args) = (with("ip"), with(&netns));
            let ip_args: Vec<&str> = ip_args.iter().map(String::as_str).collect();
            let our_args: Vec<&str> = our_args.iter().map(String::as_str).collect();
            let ip = in_run_netns(&ip_args, &file, stdin, &names);
            let ours = in_run_netns(&our_args, &file, stdin, &names);
            let what = format!("force {force}, stdin {}", stdin.is_some());
            let source = if stdin.is_some() { "-" } else { "batch" };
            let expected: &[usize] = if force { &[4, 8] } else { &[4] };
            let expected: Vec<String> = expected
                .iter()
                .map(|n| format!("Command failed {source}:{n}"))
                .collect();
            assert_eq!(ip.failed, expected, "{what}: ip {ip:?}");
            assert_eq!(
                (
                    ours.code,
                    &ours.failed,
                    ours.messages,
                    &ours.stdout,
                    &ours.left
                ),
                (ip.code, &ip.failed, ip.messages, &ip.stdout, &ip.left),
                "{what}: ours {ours:?}, ip {ip:?}"
            );
            let left: &[&str] = if force { &[b1, b2, b3, b4x] } else { &[b1] };
            assert_eq!(ours.left, left, "{what}: {ours:?}");
            assert!(ours.stderr.contains("netns-add: cannot create"), "{ours:?}");
        }
    }
}

/// Lines in our words too (no leading netns, our verbs and options),
/// ip's options before -batch for every line, exec lines that go on to
/// the next, and the batch's own errors.
#[test]
fn lines_take_our_words_and_the_batchs_options() {
    let sb = Sandbox::new();
    let out = netns(
        &sb,
        &["-j", "-b", "-"],
        "add a\nnet add b\nnetns list\nexec a true\nexec b false\nlist\n",
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (
            1,
            "[{\"name\":\"a\",\"path\":\"RUN/a\"}]\n[{\"name\":\"b\",\"path\":\"RUN/b\"}]\n\
             [{\"name\":\"a\"},{\"name\":\"b\"}]\n"
                .replace("RUN", &sb.run.display().to_string())
                .as_str()
        ),
        "{out:?}"
    );
    assert_eq!(
        out.stderr,
        "netns-exec: \"false\" failed in b: exit status 1\nCommand failed -:5\n"
    );
    // -all for the lines that take it.
    let out = netns(&sb, &["-all", "-b", "-"], "netns delete\nlist\n");
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:?}");
    assert!(sb.entries().is_empty());
    // A line that cannot be read is a failed line; -force goes past it.
    let out = netns(
        &sb,
        &["-force", "-b", "-"],
        "add 'a\n-batch x\nadd a\nadd b\\\n",
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        "netns: unterminated quoted string\nCommand failed -:1\n\
         netns: -batch in a line of a batch\nTry 'netns --help' for the verbs.\n\
         Command failed -:2\n\
         netns: missing continuation line\nCommand failed -:4\n"
    );
    assert_eq!(sb.entries(), ["a"]);
    for (args, code, said) in [
        (&["-b"][..], 2, "netns: option -b needs a FILE\n"),
        (&["-b", "-", "list"], 2, "-batch runs the lines of FILE"),
        (
            &["-b", "/nonexistent"],
            1,
            "netns: cannot open \"/nonexistent\": No such file",
        ),
        // -f is ip's -family: not -force.
        (&["-f", "-b", "-"], 2, "unknown verb \"-f\""),
    ] {
        let out = netns(&sb, args, "");
        assert_eq!(out.code, code, "{args:?}: {out:?}");
        assert!(out.stderr.contains(said), "{args:?}: {out:?}");
    }
}

/// A whole network in one batch: `netns link` lines beside add and exec
/// lines, in one process; a ping crosses the link, and a bad link line
/// is a failing line like any other.
#[test]
fn link_lines_wire_a_network_in_one_batch() {
    let sb = Sandbox::new();
    let out = netns(
        &sb,
        &["-batch", "-"],
        "netns add p q\n\
         netns link p -a 10.9.0.0/31 q -a 10.9.0.1/31\n\
         netns exec p ping -c1 -W5 10.9.0.1\n",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("1 received"), "{out:?}");
    let out = netns(&sb, &["-batch", "-"], "netns link p -a nonsense q\n");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.ends_with("Command failed -:1\n"),
        "ip's form: {out:?}"
    );
    let out = netns(&sb, &["del", "--all"], "");
    assert_eq!(out.code, 0, "{out:?}");
}

/// Set lines share the netlink socket of the namespace the batch runs in:
/// one socket for all of them, not one a line.
#[test]
fn set_lines_share_one_netlink_socket() {
    let sb = Sandbox::new();
    let dir = TempDir::new("batch");
    let file = batch_file(
        &dir,
        "netns add s1 s2 s3\nnetns set s1 7\nnetns set s2 auto\nnetns set s3 9\nnetns list-id\n",
    );
    let trace = dir.0.join("trace");
    let script = format!(
        "strace -f -qq -e trace=socket -o '{}' netns -b '{}'; netns del --all; \
         grep -c AF_NETLINK '{}'",
        trace.display(),
        file.display(),
        trace.display()
    );
    let out = in_new_netns(&sb, &script);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    let mut lines = out.stdout.lines();
    let ids: Vec<&str> = lines.by_ref().take(3).collect();
    assert_eq!(
        ids,
        [
            "nsid 0 (iproute2 netns name: s2)",
            "nsid 7 (iproute2 netns name: s1)",
            "nsid 9 (iproute2 netns name: s3)"
        ],
        "{out:?}"
    );
    // The three sets' socket, and list-id's own.
    assert_eq!(lines.next(), Some("2"), "{out:?}");
}

/// A run dir whose path (a symlink) is pointed at another user's
/// directory while a batch of adds runs (names from a slow pipe) is
/// refused from then on, as a new add would refuse it: a batch file's add
/// lines and `netns-add -` alike. They went on into the new directory,
/// never checked nor prepared (its mounts shared with nothing).
#[test]
fn a_run_dir_pointed_elsewhere_mid_batch_is_checked_again() {
    use std::io::Write;
    use std::os::unix::fs::symlink;
    let sb = Sandbox::with(&["a"]);
    let dir = TempDir::new("-moved");
    let theirs = dir.0.join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    let nobody = Some(nix::unistd::Uid::from_raw(65534));
    nix::unistd::chown(&theirs, nobody, None).unwrap();
    let link = dir.0.join("rd");
    for (program, args, first, second) in [
        (
            multicall(),
            &["-force", "-batch", "-"][..],
            "add b1\n",
            "add b2\n",
        ),
        (bin("add"), &["-"][..], "c1\n", "c2\n"),
    ] {
        let _ = std::fs::remove_file(&link);
        symlink(&sb.run, &link).unwrap();
        let mut cmd = Command::new(&program);
        let (child, mut stdin) =
            crate::util::spawn_piped(cmd.args(args).env("NETNS_RUN_DIR", &link));
        stdin.write_all(first.as_bytes()).unwrap();
        let made = first.trim().rsplit(' ').next().unwrap().to_owned();
        let start = std::time::Instant::now();
        while !sb.mounted().contains(&made) {
            assert!(start.elapsed().as_secs() < 10, "{made} never made");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        std::fs::remove_file(&link).unwrap();
        symlink(&theirs, &link).unwrap();
        stdin.write_all(second.as_bytes()).unwrap();
        drop(stdin);
        let out = crate::util::finish(child);
        let left = entries(&theirs);
        crate::util::empty_run_dir(&theirs);
        assert_eq!(left, Vec::<String>::new(), "{program:?}: {out:?}");
        assert_eq!(out.code, 1, "{out:?}");
        assert!(
            out.stderr.contains("refusing the run dir") && out.stderr.contains("uid 65534"),
            "{out:?}"
        );
    }
    assert_eq!(sb.mounted(), ["a", "b1", "c1"]);
}

/// A run of `add NAME` lines is made together, as `netns-add -` makes its
/// names, but told of line by line as ip's batch is: a line refused at
/// its name (a bad one), its file (there already) or its namespace (the
/// kernel's limit, which root of a user namespace may lower there) stops
/// the batch there without -force, the lines after it not made; with
/// -force each later line is tried and told of on its own. No stale file
/// nor mount is left.
#[test]
fn a_run_of_add_lines_is_made_together_but_stops_at_a_failing_line() {
    let sb = Sandbox::new();
    let out = crate::util::in_new_namespaces(
        &sb,
        &["-U", "-r", "-m"],
        "set +e
         mount -t tmpfs batch /mnt
         export NETNS_RUN_DIR=/mnt/netns
         printf 'netns add a\\nadd x/y\\nadd b\\n' > /mnt/bad
         netns -batch /mnt/bad; echo bad $?
         printf 'add b\\nadd a\\nadd c\\n' > /mnt/there
         netns -batch /mnt/there; echo there $?
         echo 3 > /proc/sys/user/max_net_namespaces
         printf 'add c\\nadd d\\nadd e\\nadd f\\n' > /mnt/limit
         netns -batch /mnt/limit; echo limit $?
         ls $NETNS_RUN_DIR | tr '\\n' ' '; echo
         netns -force -batch /mnt/limit; echo force $?
         ls $NETNS_RUN_DIR | tr '\\n' ' '; echo
         grep -c ' /mnt/netns/' /proc/self/mountinfo",
    );
    assert_eq!(
        out.stdout, "bad 1\nthere 1\nlimit 1\na b c \nforce 1\na b c \n3\n",
        "{out:?}"
    );
    let told: Vec<&str> = out.stderr.lines().collect();
    let expected = [
        "netns-add: invalid name \"x/y\"",
        "Command failed /mnt/bad:2",
        "netns-add: cannot create \"/mnt/netns/a\": File exists",
        "Command failed /mnt/there:2",
        "netns-add: cannot make a network namespace for \"/mnt/netns/d\"",
        "Command failed /mnt/limit:2",
        "netns-add: cannot create \"/mnt/netns/c\": File exists",
        "Command failed /mnt/limit:1",
        "netns-add: cannot make a network namespace for \"/mnt/netns/d\"",
        "Command failed /mnt/limit:2",
        "netns-add: cannot make a network namespace for \"/mnt/netns/e\"",
        "Command failed /mnt/limit:3",
        "netns-add: cannot make a network namespace for \"/mnt/netns/f\"",
        "Command failed /mnt/limit:4",
    ];
    assert_eq!(told.len(), expected.len(), "{out:?}");
    for (line, start) in told.iter().zip(expected) {
        assert!(
            line.starts_with(start),
            "{line:?} is not {start:?}: {out:?}"
        );
    }
}

/// The adds read are made before the batch waits for a command that is
/// not all there yet: a continued line (`add b \`) whose rest the writer
/// sends only once it has seen the add before it made. The batch took
/// the first line of the continued command for a whole one at hand, held
/// the add for it, and both waited on each other.
#[test]
fn an_add_is_made_before_a_continued_lines_rest_is_waited_for() {
    use std::io::Write;
    let sb = Sandbox::new();
    // FILE a pipe: its buffer looked into, as a file's.
    let mut cmd = Command::new(multicall());
    let (child, mut stdin) = crate::util::spawn_piped(
        cmd.args(["-batch", "/dev/stdin"])
            .env("NETNS_RUN_DIR", &sb.run),
    );
    stdin.write_all(b"add a\nadd \\\n").unwrap();
    let start = std::time::Instant::now();
    while sb.mounted() != ["a"] && start.elapsed().as_secs() < 5 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let made_first = sb.mounted();
    stdin.write_all(b"  b\n").unwrap();
    drop(stdin);
    let out = crate::util::finish(child);
    assert_eq!(
        made_first,
        ["a"],
        "a not made before the rest came: {out:?}"
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(sb.mounted(), ["a", "b"]);
}

/// Without -force, no line after a failing add gets even a file: `ip
/// netns monitor` (inotify on the run dir) sees what ip's own batch shows
/// it, the failing line's file made and removed, and nothing of the lines
/// after it. The files of a run of adds were all made before their
/// namespaces: those after a line refused by the namespace limit appeared
/// and went, which a watcher saw, and another add of such a name at that
/// moment was refused (File exists).
#[test]
fn no_file_of_a_line_after_a_failing_add_appears() {
    let sb = Sandbox::new();
    let out = crate::util::in_new_namespaces(
        &sb,
        &["-U", "-r", "-m"],
        "set +e
         mount -t tmpfs -o mode=755 batch /run/netns
         export NETNS_RUN_DIR=/run/netns
         mount -t tmpfs batch /mnt
         seen() {
             for i in $(seq 200); do grep -qx \"$1\" /mnt/monitor && return; sleep 0.05; done
             echo \"no $1\"
         }
         stdbuf -oL ip netns monitor > /mnt/monitor &
         # Until the monitor watches.
         for i in $(seq 200); do
             touch /run/netns/start; rm /run/netns/start
             grep -q start /mnt/monitor && break; sleep 0.05
         done
         echo 2 > /proc/sys/user/max_net_namespaces
         printf 'add a\\nadd b\\nadd c\\nadd d\\nadd e\\n' > /mnt/limit
         netns -batch /mnt/limit 2>/dev/null; echo limit $?
         touch /run/netns/end; seen 'add end'
         kill $!
         grep -v start /mnt/monitor | tr '\\n' ' '",
    );
    assert_eq!(
        out.stdout, "limit 1\nadd a add b add c delete c add end ",
        "{out:?}"
    );
}

/// A run of `del NAME` lines (ip's `netns delete NAME`) is run together,
/// as `netns-del -` runs its names, but told of line by line: a line
/// whose name is missing or bad stops the batch there without -force,
/// the names after it kept; with -force each is tried. A stale file is
/// removed with its warning, and an add line between dels is run in its
/// place.
#[test]
fn a_run_of_del_lines_is_run_together_but_stops_at_a_failing_line() {
    let sb = Sandbox::with(&["a", "b", "c", "d"]);
    std::fs::write(sb.file("stale"), "").unwrap();
    let out = netns(
        &sb,
        &["-b", "-"],
        "netns delete a\ndel stale\ndel gone\ndel b\n",
    );
    let run = sb.run.display();
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "netns-del: warning: \"{run}/stale\" held no namespace (a stale file); removed it\n\
             netns-del: cannot remove \"{run}/gone\": No such file or directory\n\
             Command failed -:3\n"
        ),
        "{out:?}"
    );
    assert_eq!(sb.mounted(), ["b", "c", "d"]);
    let out = netns(
        &sb,
        &["-force", "-b", "-"],
        "del b\ndel x/y\nadd e\ndel c\ndel e\ndel gone\ndel d\n",
    );
    assert_eq!(out.code, 1, "{out:?}");
    let told: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(told.len(), 4, "{out:?}");
    assert!(
        told[0].starts_with("netns-del: invalid name \"x/y\""),
        "{out:?}"
    );
    assert_eq!(told[1], "Command failed -:2", "{out:?}");
    assert!(told[2].contains("/gone\""), "{out:?}");
    assert_eq!(told[3], "Command failed -:6", "{out:?}");
    assert!(sb.entries().is_empty(), "{:?}", sb.entries());
}

/// A del line's namespace ends before the batch waits for its next line,
/// as it would alone (and in `ip -batch`): a slow writer that waits for
/// it to be gone (here, for the end of a veth in it to go from the peer's
/// namespace) is not waited for in turn.
#[test]
fn a_del_lines_namespace_ends_before_the_batch_waits_for_more() {
    let sb = Sandbox::with(&["a", "b"]);
    let script = format!(
        "netns exec a ip link add va type veth peer name vb netns '{b}'
         {{ echo 'del a'; i=0
           while netns exec b ip link show vb >/dev/null 2>&1 && [ $i -lt 30 ]; do
             i=$((i + 1)); sleep 0.1
           done
           netns exec b ip link show vb >/dev/null 2>&1 && echo 'exec b echo held' || echo 'exec b echo gone'
         }} | netns -b -",
        b = sb.file("b").display()
    );
    let out = in_new_netns(&sb, &script);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "gone\n", ""),
        "{out:?}"
    );
    assert_eq!(sb.mounted(), ["b"]);
}

/// The signals an add or a link holds back while it makes a batch are let
/// go as they were: a command an exec line runs after them has none
/// blocked, and a SIGINT the caller ignores (`trap '' INT`, nohup's
/// SIGHUP) stays ignored, in the batch and in its commands.
#[test]
fn signals_held_for_a_batch_are_let_go_as_they_were() {
    let sb = Sandbox::new();
    let lines = "add s1\nadd s2\nexec s1 grep -E ^Sig(Blk|Ign) /proc/self/status\n\
                 link s1 s2\nexec s2 grep -E ^Sig(Blk|Ign) /proc/self/status\n";
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "trap '' INT; exec \"$0\" -batch -"])
        .arg(multicall())
        .env("NETNS_RUN_DIR", &sb.run);
    let out = output(&mut cmd, lines);
    assert_eq!(out.code, 0, "{out:?}");
    let masks: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("Sig"))
        .collect();
    assert_eq!(masks.len(), 4, "{out:?}");
    for pair in masks.chunks(2) {
        assert_eq!(pair[0], "SigBlk:\t0000000000000000", "{out:?}");
        let ignored = u64::from_str_radix(pair[1].trim_start_matches("SigIgn:\t"), 16).unwrap();
        assert_eq!(ignored & 0b10, 0b10, "SIGINT still ignored: {out:?}");
    }
}
