//! `netns-exec --user`: the command runs as the user, as `runuser -u USER
//! [-g GROUP]` runs it, with nothing of root's left: no capability, no id
//! that the kernel reads as "unchanged", no hold on root's terminal; with
//! the user's HOME, USER and LOGNAME, and the namespace's own
//! /etc/netns/NAME/passwd.

use std::io::{BufRead, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::util::{EtcNetns, Output, Sandbox, bin, in_new_namespaces, output};

/// The user's uid, gid and groups, and no capability: the command cannot
/// enter another namespace. An unknown user is refused before anything
/// is entered.
#[test]
fn the_command_has_the_users_ids_and_no_capability() {
    let sb = Sandbox::with(&["x"]);
    let ids = "id -u; id -g; id -G; grep CapEff /proc/self/status";
    for user in ["nobody", "65534:65534", "nobody:nogroup"] {
        let out = sb.run("exec", &["--user", user, "x", "sh", "-c", ids]);
        assert_eq!(out.code, 0, "{user}: {out:?}");
        assert_eq!(
            out.stdout, "65534\n65534\n65534\nCapEff:\t0000000000000000\n",
            "{user}"
        );
    }
    // No way back out: setns needs the capabilities it no longer has.
    let exec = bin("exec");
    let inner = format!("{} x true", exec.display());
    let out = sb.run("exec", &["--user", "nobody", "x", "sh", "-c", &inner]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("Operation not permitted"), "{out:?}");
    let out = sb.run("exec", &["--user", "no-such-user", "x", "echo", "ran"]);
    assert_eq!((out.code, out.stdout.as_str()), (1, ""), "{out:?}");
    assert_eq!(
        out.stderr,
        "netns-exec: no user \"no-such-user\" in \"/etc/passwd\"\n"
    );
    let out = sb.run("exec", &["--user", "4242", "x", "true"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("give its group too (4242:GID)"),
        "{out:?}"
    );
    // It runs in a child; netns-exec ends as it ended.
    let out = sb.run("exec", &["--user", "nobody", "x", "sh", "-c", "exit 7"]);
    assert_eq!(out.code, 7, "{out:?}");
    let out = sb.run(
        "exec",
        &["--user", "nobody", "x", "sh", "-c", "kill -TERM $$"],
    );
    assert_eq!(out.code, 128 + 15, "{out:?}");
    let out = sb.run("exec", &["--all", "--user", "nobody", "id", "-u"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "\nnetns: x\n65534\n"));
    let out = sb.run("exec", &["--rootless", "--user", "nobody", "x", "true"]);
    assert_eq!(out.code, 2, "{out:?}");
}

/// A program run as a user pushes a command into its terminal with
/// TIOCSTI (this kernel allows it: dev.tty.legacy_tiocsti=1). Were the
/// terminal still its controlling terminal, root's shell would read the
/// command once netns-exec returns, and run it. In a pty of the test's own
/// (script(1)): from a shell without job control (netns-exec in the
/// shell's process group), with it (netns-exec leading a group of its
/// own), and with --all. Root's shell then pushes a line of its own and
/// runs what it reads up to that line. Nor can the command, in a session
/// of its own, continue root's stopped jobs (SIGCONT needs no more than
/// the same session).
#[test]
fn a_command_run_as_a_user_cannot_push_input_to_roots_terminal() {
    let sb = Sandbox::with(&["x"]);
    let dir = sb.file("..");
    let pwned = dir.join("pwned");
    let push = dir.join("push.pl");
    std::fs::write(
        &push,
        "for (split //, \"$ARGV[0]\\n\") { ioctl(STDIN, 0x5412, $_) or die \"TIOCSTI: $!\\n\" }\n",
    )
    .unwrap();
    let stat = dir.join("stat.pl");
    std::fs::write(
        &stat,
        "open F, '/proc/self/stat'; my @f = split / /, <F>; \
         print 'tty_nr=', $f[6], ' session=', ($f[5] == $$ ? 'own' : 'another'), \"\\n\";\n",
    )
    .unwrap();
    let exec = bin("exec");
    let (exec, push, stat, pwned) = (
        exec.display(),
        push.display(),
        stat.display(),
        pwned.display(),
    );
    let inner = dir.join("inner.sh");
    std::fs::write(
        &inner,
        format!(
            "{exec} --user nobody x perl {push} 'echo pushed-1 >> {pwned}'; echo \"exit $?\"\n\
             {exec} --all --user nobody perl {push} 'echo pushed-2 >> {pwned}'; echo \"exit $?\"\n\
             set -m\n\
             {exec} --user nobody x perl {push} 'echo pushed-3 >> {pwned}'; echo \"exit $?\"\n\
             {exec} --user nobody x perl {stat}\n\
             set +m\n\
             sleep 100 & stopped=$!; kill -STOP $stopped\n\
             {exec} --user nobody x sh -c \"kill -CONT $stopped 2>/dev/null && echo CONT sent || \
             echo CONT refused\"\n\
             kill -KILL $stopped\n\
             perl {push} 'true end'\n\
             while read -r line; do echo \"root read: $line\"; eval \"$line\"; \
             [ \"$line\" = 'true end' ] && break; done\n"
        ),
    )
    .unwrap();
    let out = in_a_pty(&sb, &format!("sh {}", inner.display()));
    assert!(!sb.file("../pwned").exists(), "root ran it: {out:?}");
    assert!(out.stdout.contains("root read: true end"), "{out:?}");
    assert_eq!(
        out.stdout
            .matches("TIOCSTI: Operation not permitted")
            .count(),
        3,
        "{out:?}"
    );
    assert!(
        out.stdout.contains("tty_nr=0 session=own"),
        "no controlling terminal, a session of its own: {out:?}"
    );
    // In root's session it could continue root's stopped jobs.
    assert!(out.stdout.contains("CONT refused"), "{out:?}");
}

/// `script -qec COMMAND` with the sandbox's run dir, bounded by a timeout;
/// its stdin stays open (script would pass an end of file on to the pty).
fn in_a_pty(sb: &Sandbox, command: &str) -> Output {
    let mut child = Command::new("timeout")
        .args(["30", "script", "-qec", command, "/dev/null"])
        .env("SHELL", "/bin/sh")
        .env("NETNS_RUN_DIR", &sb.run)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script");
    let stdin = child.stdin.take();
    let out = child.wait_with_output().expect("wait");
    drop(stdin);
    Output::from(out)
}

/// `setresuid(-1, -1, -1)` means "leave them as they are": a uid or gid
/// of 4294967295 would leave the command root. Refused, as runuser
/// refuses it, before anything runs.
#[test]
fn an_id_of_minus_one_is_refused() {
    let sb = Sandbox::with(&["x"]);
    for user in [
        "4294967295:0",
        "4294967295:65534",
        "65534:4294967295",
        "nobody:4294967295",
    ] {
        for args in [&["--user", user, "x"][..], &["--all", "--user", user]] {
            let out = sb.run("exec", &[args, &["id"]].concat());
            assert_eq!(
                (out.code, out.stdout.as_str()),
                (1, ""),
                "{args:?}: {out:?}"
            );
            assert!(
                out.stderr.contains("4294967295: the kernel reads it as"),
                "{args:?}: {out:?}"
            );
        }
    }
}

/// Capabilities that the kernel's setuid fixup leaves (inheritable ones;
/// ambient and the rest with SECBIT_NO_SETUID_FIXUP) are cleared, and the
/// securebits reset; securebits that are locked cannot be, and the
/// command does not run.
#[test]
fn ambient_capabilities_and_securebits_do_not_survive() {
    let sb = Sandbox::with(&["x"]);
    let caps = "grep -E '^Cap(Inh|Prm|Eff|Amb)' /proc/self/status; \
                nsenter --net=/proc/1/ns/net true 2>/dev/null || echo 'cannot leave'";
    let setpriv = |bits: &str, args: &[&str]| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--inh-caps", "+sys_admin,+net_admin"])
            .args(["--ambient-caps", "+sys_admin,+net_admin"]);
        if !bits.is_empty() {
            cmd.args(["--securebits", bits]);
        }
        cmd.arg(bin("exec"))
            .args(args)
            .env("NETNS_RUN_DIR", &sb.run);
        output(&mut cmd, "")
    };
    let zero = "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\n\
                CapEff:\t0000000000000000\nCapAmb:\t0000000000000000\ncannot leave\n";
    for bits in ["", "+no_setuid_fixup"] {
        let out = setpriv(bits, &["--user", "nobody", "x", "sh", "-c", caps]);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (0, zero),
            "{bits}: {out:?}"
        );
    }
    let out = setpriv(
        "+no_setuid_fixup",
        &["--all", "--user", "nobody", "sh", "-c", caps],
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, format!("\nnetns: x\n{zero}").as_str()),
        "{out:?}"
    );
    let locked = "+no_setuid_fixup,+no_setuid_fixup_locked";
    let out = setpriv(locked, &["--user", "nobody", "x", "echo", "ran"]);
    assert_eq!((out.code, out.stdout.as_str()), (1, ""), "{out:?}");
    assert!(out.stderr.contains("securebits"), "{out:?}");
}

/// USER:GROUP gives GROUP alone, as `runuser -u USER -g GROUP` does;
/// USER alone gives the groups that list USER too. HOME, USER and LOGNAME
/// are set as runuser sets them (SHELL and the rest stay). Compared with
/// runuser itself, with nobody listed in a group of a private /etc/group.
#[test]
fn ids_and_environment_are_those_runuser_gives() {
    let sb = Sandbox::with(&["x"]);
    let dir = sb.file("..");
    let group = dir.join("group");
    let mut text = std::fs::read_to_string("/etc/group").unwrap();
    text.push_str("nt-extra:x:4242:nobody\n");
    std::fs::write(&group, text).unwrap();
    let script = format!(
        "mount --bind {group} /etc/group; cd {dir}\n\
         for spec in nobody nobody:nogroup nobody:nt-extra root root:nogroup; do\n\
           user=${{spec%%:*}}; group=${{spec#*:}}; g=\n\
           [ \"$group\" = \"$spec\" ] || g=\"-g $group\"\n\
           show='id -u; id -g; id -G; env | sort'\n\
           runuser -u $user $g -- sh -c \"$show\" > runuser.out\n\
           netns-exec --user $spec x sh -c \"$show\" > netns.out\n\
           diff -u runuser.out netns.out && echo \"$spec: same\"\n\
           grep -c '^LOGNAME=nobody$' netns.out || true\n\
         done",
        group = group.display(),
        dir = dir.display(),
    );
    let out = in_new_namespaces(&sb, &["--mount"], &script);
    assert_eq!(
        out.stdout,
        "nobody: same\n1\nnobody:nogroup: same\n1\nnobody:nt-extra: same\n1\n\
         root: same\n0\nroot:nogroup: same\n0\n",
        "{out:?}"
    );
}

/// A command that is not there is 127, also where the PATH holds a
/// directory the user cannot search (root's own, as /root/.cargo/bin),
/// which makes execvp(3) say "Permission denied"; a file found that the
/// user cannot run is 126.
#[test]
fn a_missing_command_is_127_under_roots_path_too() {
    let sb = Sandbox::with(&["x"]);
    let dir = sb.file("..");
    let locked = dir.join("locked");
    let open = dir.join("open");
    for (path, mode) in [(&locked, 0o700), (&open, 0o755)] {
        std::fs::create_dir(path).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    std::fs::write(open.join("not-runnable"), "data\n").unwrap();
    let path = format!(
        "{}:{}:/usr/sbin:/usr/bin:/sbin:/bin",
        locked.display(),
        open.display()
    );
    let run = |args: &[&str]| {
        let mut cmd = sb.cmd("exec");
        cmd.args(args).env("PATH", &path);
        output(&mut cmd, "")
    };
    for all in [false, true] {
        let at: &[&str] = if all { &["--all"] } else { &["x"] };
        let out = run(&[&["--user", "nobody"][..], at, &["no-such-command-here"]].concat());
        let said = "cannot run \"no-such-command-here\": No such file or directory\n";
        assert_eq!(out.code, if all { 1 } else { 127 }, "{out:?}");
        assert!(out.stderr.ends_with(said), "{out:?}");
        let out = run(&[&["--user", "nobody"][..], at, &["not-runnable"]].concat());
        assert_eq!(out.code, if all { 1 } else { 126 }, "{out:?}");
        assert!(out.stderr.ends_with(": Permission denied\n"), "{out:?}");
        let out = run(&[&["--user", "nobody"][..], at, &["true"]].concat());
        assert_eq!(out.code, 0, "{out:?}");
    }
}

/// The user is looked up in /etc/netns/NAME/passwd and group when the
/// namespace has them (`ip netns exec NAME runuser` sees those, bound over
/// /etc's); a user name of digits is a name first, as runuser takes it.
#[test]
fn the_user_is_looked_up_in_the_namespaces_own_passwd() {
    let name = format!("nt-{}-users", std::process::id());
    let _etc = EtcNetns::new(
        &name,
        &[
            (
                "passwd",
                "nt-u:x:4343:4343:nt user:/nt-home:/bin/sh\n\
                 other:x:4444:4444::/h4444:/bin/sh\n\
                 4444:x:4545:4545::/h4545:/bin/sh\n",
            ),
            ("group", "nt-g:x:4343:\nnt-more:x:4646:nt-u\n"),
        ],
    );
    let sb = Sandbox::with(&[&name, "plain"]);
    let show = "id -u; id -g; id -G; echo $HOME $USER $LOGNAME";
    let out = sb.run("exec", &["--user", "nt-u", &name, "sh", "-c", show]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "4343\n4343\n4343 4646\n/nt-home nt-u nt-u\n"),
        "{out:?}"
    );
    let out = sb.run("exec", &["--user", "4444", &name, "sh", "-c", show]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "4545\n4545\n4545\n/h4545 4444 4444\n"),
        "{out:?}"
    );
    let out = sb.run("exec", &["--all", "--user", "nt-u", "id", "-u"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (1, format!("\nnetns: {name}\n4343\n").as_str()),
        "{out:?}"
    );
    assert_eq!(
        out.stderr,
        "netns-exec: in plain: no user \"nt-u\" in \"/etc/passwd\"\n"
    );
}

/// The command runs in a session of its own, so the terminal's ^C reaches
/// netns-exec alone (typed here by root's TIOCSTI while the command runs
/// in the foreground): netns-exec passes it on and ends as the command
/// ended: with its status when it trapped the signal, and of SIGINT when
/// it did not, as does then the shell that ran it (shells end so when
/// their foreground job dies of SIGINT). kill's signals the same way:
/// SIGTSTP stops the command and then netns-exec, SIGCONT continues both,
/// SIGTERM reaches the command's trap; and with --all, netns-exec ends of
/// the SIGTERM once the command has ended.
#[test]
fn signals_reach_the_command_through_netns_exec() {
    let sb = Sandbox::with(&["x"]);
    let dir = sb.file("..");
    let inner = dir.join("ctrl-c.sh");
    let exec = bin("exec");
    let exec = exec.display();
    let wait = "for i in $(seq 100); do sleep 0.1; done";
    std::fs::write(
        &inner,
        format!(
            "set -m\n\
             type() {{ sleep 0.5; perl -e 'my $c = \"\\003\"; ioctl(STDIN, 0x5412, $c) or die'; }}\n\
             type &\n\
             {exec} --user nobody x sh -c 'trap \"echo got INT; exit 1\" INT; {wait}'\n\
             echo \"exit $?\"\n\
             type &\n\
             {exec} --user nobody x sh -c '{wait}'\n\
             echo \"not ended: $?\"\n"
        ),
    )
    .unwrap();
    let out = in_a_pty(&sb, &format!("sh {}", inner.display()));
    assert_eq!(out.code, 130, "{out:?}");
    assert!(out.stdout.contains("got INT"), "{out:?}");
    assert!(out.stdout.contains("exit 1"), "{out:?}");
    assert!(!out.stdout.contains("not ended"), "{out:?}");

    let mut procs = crate::util::Procs::default();
    let trap = "trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.1; done";
    let mut cmd = sb.cmd("exec");
    cmd.args(["--user", "nobody", "x", "sh", "-c", trap]);
    let (pid, mut stdout) = procs.start_reading(&mut cmd);
    let child = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
    let child: u32 = child.trim().parse().expect("one child");
    // In a session of its own, the command is not in the process group
    // that Procs kills on drop: killed here, should the test fail.
    let _command = KillOnDrop::new(child);
    let state = |pid: u32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit(") ").next().and_then(|s| s.chars().next())
    };
    let becomes = |pid: u32, want: &[char]| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !state(pid).is_some_and(|s| want.contains(&s)) {
            assert!(Instant::now() < deadline, "{pid} stays {:?}", state(pid));
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let send = |signal| nix::sys::signal::kill(Pid::from_raw(pid as i32), signal).unwrap();
    send(Signal::SIGTSTP);
    becomes(child, &['T']);
    becomes(pid, &['T']);
    send(Signal::SIGCONT);
    becomes(child, &['S', 'R']);
    becomes(pid, &['S', 'R']);
    send(Signal::SIGTERM);
    // Ended: a zombie until reaped.
    becomes(pid, &['Z']);
    let status = procs.reap(pid);
    assert_eq!(status.code(), Some(3), "{status:?}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "got TERM\n");

    // With --all, a signal passed on that would have ended netns-exec
    // ends it once the command has: the next namespace is not entered.
    assert_eq!(sb.run("add", &["y"]).code, 0);
    let mut cmd = sb.cmd("exec");
    cmd.args(["--all", "--user", "nobody", "sh", "-c", trap]);
    let (pid, mut stdout) = procs.start_reading(&mut cmd);
    let mut line = String::new();
    while line != "ready\n" {
        line.clear();
        assert_ne!(
            stdout.read_line(&mut line).unwrap(),
            0,
            "ended before ready"
        );
    }
    let child = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
    let _command = KillOnDrop::new(child.trim().parse().expect("one child"));
    nix::sys::signal::kill(Pid::from_raw(pid as i32), Signal::SIGTERM).unwrap();
    becomes(pid, &['Z']);
    assert_eq!(procs.reap(pid).signal(), Some(15));
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "got TERM\n");
}

/// A process killed (by its pid) when this goes out of scope, if it is
/// still the one it was (the same start time), not another since.
struct KillOnDrop {
    pid: u32,
    started: Option<String>,
}

impl KillOnDrop {
    fn new(pid: u32) -> Self {
        KillOnDrop {
            pid,
            started: start_time(pid),
        }
    }
}

fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 22; the fields after the command's name, which may hold spaces.
    Some(stat.rsplit(") ").next()?.split(' ').nth(19)?.to_owned())
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.started.is_some() && start_time(self.pid) == self.started {
            let _ = nix::sys::signal::kill(Pid::from_raw(self.pid as i32), Signal::SIGKILL);
        }
    }
}

/// From an attack: started with SIGCHLD ignored, netns-exec --user and
/// --all still wait for their commands (it was a hang, and "No child
/// processes"); a command killed by SIGPIPE is told as that, not exit
/// 141; killed, netns-exec takes the command it runs as the user with
/// it; an empty user name matches no one.
#[test]
fn sigchld_ignored_sigpipe_a_killed_netns_exec_and_an_empty_user() {
    let sb = Sandbox::with(&["x"]);
    let ignoring = |args: &[&str]| {
        let mut cmd = Command::new("timeout");
        cmd.args(["10", "perl", "-e", "$SIG{CHLD}='IGNORE'; exec @ARGV"])
            .arg(bin("exec"))
            .args(args)
            .env("NETNS_RUN_DIR", &sb.run);
        output(&mut cmd, "")
    };
    let out = ignoring(&["--user", "nobody", "x", "sh", "-c", "exit 3"]);
    assert_eq!(out.code, 3, "{out:?}");
    let out = ignoring(&["--all", "true"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    let status = sb
        .cmd("exec")
        .args(["--user", "nobody", "x", "sh", "-c", "kill -PIPE $$"])
        .status()
        .unwrap();
    assert_eq!(status.signal(), Some(Signal::SIGPIPE as i32), "{status:?}");
    let mark = sb.run.with_file_name("pdeath");
    let script = format!(
        "timeout -s KILL 1 {exec} --user nobody x sh -c 'echo $$ > {mark}; exec sleep 30'
         sleep 0.5; kill -0 $(cat {mark}) 2>/dev/null && echo alive || echo gone",
        exec = bin("exec").display(),
        mark = mark.display()
    );
    let out = output(
        Command::new("sh")
            .args(["-c", &script])
            .env("NETNS_RUN_DIR", &sb.run),
        "",
    );
    assert_eq!(out.stdout, "gone\n", "{out:?}");
    let out = sb.run("exec", &["--user", "", "x", "true"]);
    assert_eq!(out.code, 1, "{out:?}");
}
