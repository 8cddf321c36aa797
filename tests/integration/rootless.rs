//! Rootless mode, as the user nobody: names of one's own in a user
//! namespace, held by a keeper process; and `netns-exec --user`.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::{Output, Sandbox, bin, fresh_dir, output};

const NOBODY: u32 = 65534;

/// The user nobody with a private XDG_RUNTIME_DIR (0700, its own), run
/// from a directory it cannot read, with only PATH and XDG_RUNTIME_DIR
/// in its environment. On drop the keeper it left, if any, is killed (by
/// its pid, found through that XDG_RUNTIME_DIR), and the dirs go.
pub struct Nobody {
    dir: PathBuf,
    pub xdg: PathBuf,
    cwd: PathBuf,
}

impl Nobody {
    pub fn new() -> Self {
        let dir = fresh_dir("-nobody");
        let mkdir = |path: &Path, mode| {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(mode)
                .create(path)
                .expect("dir");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        mkdir(&dir, 0o755);
        let xdg = dir.join("xdg");
        mkdir(&xdg, 0o700);
        let uid = Some(nix::unistd::Uid::from_raw(NOBODY));
        nix::unistd::chown(&xdg, uid, Some(nix::unistd::Gid::from_raw(NOBODY))).unwrap();
        let cwd = dir.join("locked");
        mkdir(&cwd, 0o700);
        Nobody { dir, xdg, cwd }
    }

    fn run_dir(&self) -> PathBuf {
        self.xdg.join("netns")
    }

    /// `sh -ec script` as nobody, with the verb binaries first on PATH.
    pub fn script(&self, script: &str) -> Output {
        let mut cmd = self.command("sh");
        cmd.args(["-ec", script]);
        output(&mut cmd, "")
    }

    fn command(&self, program: &str) -> Command {
        let bins = bin("list").parent().unwrap().to_path_buf();
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", program])
            .env_clear()
            .env(
                "PATH",
                format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", bins.display()),
            )
            .env("XDG_RUNTIME_DIR", &self.xdg)
            .current_dir(&self.cwd);
        cmd
    }

    /// The keepers running for this XDG_RUNTIME_DIR (zombies are done).
    fn keepers(&self) -> Vec<u32> {
        let mine = format!("XDG_RUNTIME_DIR={}", self.xdg.display());
        let mut pids: Vec<u32> = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .filter(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
                stat.contains("(netns-keeper) ")
                    && !stat.contains(") Z ")
                    && environ.split(|&b| b == 0).any(|v| v == mine.as_bytes())
            })
            .collect();
        pids.sort_unstable();
        pids
    }

    /// Waits (up to 5 s) until no keeper of this XDG_RUNTIME_DIR runs.
    pub fn keepers_end(&self) -> bool {
        let start = Instant::now();
        while !self.keepers().is_empty() {
            if start.elapsed() > Duration::from_secs(5) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }

    /// The files in XDG_RUNTIME_DIR and in the run dir.
    fn files(&self) -> (Vec<String>, Vec<String>) {
        (
            crate::util::entries(&self.xdg),
            crate::util::entries(&self.run_dir()),
        )
    }
}

impl Drop for Nobody {
    fn drop(&mut self) {
        for pid in self.keepers() {
            let pid = nix::unistd::Pid::from_raw(pid as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
        self.keepers_end();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The README's walk-through as nobody: two names, a veth pair between
/// them made inside, a ping across, and every verb; root's /run/netns
/// never sees them; `del --all` leaves no process and an empty run dir.
#[test]
fn as_nobody_named_namespaces_of_ones_own_work_with_every_verb() {
    let nobody = Nobody::new();
    let system_before = crate::util::entries(Path::new("/run/netns"));
    let script = r#"
        netns-add --rootless lab1 lab2
        netns-exec --rootless lab1 ip link add v1 type veth peer name v2 netns lab2
        netns-exec --rootless lab1 ip addr add 10.0.0.1/24 dev v1
        netns-exec --rootless lab1 ip link set v1 up
        netns-exec --rootless lab2 ip addr add 10.0.0.2/24 dev v2
        netns-exec --rootless lab2 ip link set v2 up
        netns-exec --rootless lab1 ping -c1 -W5 10.0.0.2 > /dev/null && echo "ping ok"
        echo "--- list"; netns-list --rootless
        echo "--- json"; NETNS_ROOTLESS=1 netns list --json
        netns-exec --rootless lab2 sleep 600 & sleeper=$!
        for i in $(seq 500); do [ -n "$(netns-pids --rootless lab2)" ] && break; sleep 0.01; done
        echo "--- pids"; [ "$(netns-pids --rootless lab2)" = "$sleeper" ] && echo "the sleeper"
        echo "--- identify"; netns-identify --rootless $sleeper
        { kill $sleeper; wait $sleeper; } 2>/dev/null || true
        : > watched; timeout 10 netns-watch --rootless --existing --count 2 > watched & watch=$!
        lines() { for i in $(seq 500); do [ "$(wc -l < watched)" -ge $1 ] && break; sleep 0.01; done; }
        # A name made and gone between two looks is not reported: one at a time.
        lines 2; netns-add --rootless lab3; lines 3; netns-del --rootless lab3; wait $watch
        echo "--- watch"; cat watched; rm watched
        echo "--- exec --all"; netns-exec --rootless --all sh -c 'ls /sys/class/net | grep -c v'
        echo "--- inside"; netns-exec --rootless lab1 sh -c 'id -u; ip netns list; netns-list'
        echo "--- ids"; netns-set --rootless lab1 7; netns list-id --rootless
        echo "--- del --all"; netns-del --rootless --all
    "#;
    // The watch writes to the locked cwd otherwise: give it the XDG dir.
    let script = format!("cd {}\n{script}", nobody.xdg.display());
    let out = nobody.script(&script);
    assert_eq!(out.code, 0, "{out:?}");
    let expected = "ping ok\n--- list\nlab1\nlab2\n--- json\n[{\"name\":\"lab1\"},{\"name\":\"lab2\"}]\n\
         --- pids\nthe sleeper\n--- identify\nlab2\n--- watch\nadd lab1\nadd lab2\nadd lab3\ndelete lab3\n\
         --- exec --all\nnetns: lab1\n1\nnetns: lab2\n1\n\
         --- inside\n0\nlab1\nlab2 (id: 0)\nlab1\nlab2 (id: 0)\n\
         --- ids\nnsid 7 (iproute2 netns name: lab1)\n--- del --all\n";
    assert_eq!(out.stdout, expected, "{out:?}");
    assert_eq!(out.stderr, "", "{out:?}");
    assert!(nobody.keepers_end(), "the keeper ended");
    assert_eq!(nobody.files(), (vec!["netns".to_owned()], vec![]));
    assert_eq!(
        crate::util::entries(Path::new("/run/netns")),
        system_before,
        "root's run dir is untouched"
    );
}

/// In rootless mode every verb does what it does as root, with the same
/// output and exit statuses: add and del --json, inspect, identify (of
/// the caller inside exec, and outside, where no name is), exec --all.
#[test]
fn rootless_verbs_print_what_roots_print() {
    let nobody = Nobody::new();
    let script = r#"
        netns-add --rootless --json a b
        echo ---; netns-inspect --rootless a b | sed 's/^net:\[[0-9]*\]/net:[N]/'
        echo ---; netns-exec --rootless a netns-identify
        echo ---; netns-identify --rootless; echo "exit $?"
        echo ---; netns-exec --rootless --all netns-identify
        echo ---; netns-exec --rootless -a false || echo "exit $?"
        echo ---; netns-del --rootless --json a b
    "#;
    let out = nobody.script(script);
    assert_eq!(out.code, 0, "{out:?}");
    let run = nobody.run_dir().display().to_string();
    let json = format!(
        "[{{\"name\":\"a\",\"path\":\"{run}/a\"}},{{\"name\":\"b\",\"path\":\"{run}/b\"}}]\n"
    );
    assert_eq!(
        out.stdout,
        format!(
            "{json}---\nnet:[N] names=a mounts={run}/a devices=lo\n\
             net:[N] names=b mounts={run}/b devices=lo\n---\na\n---\nexit 0\n\
             ---\nnetns: a\na\nnetns: b\nb\n---\nnetns: a\nnetns: b\nexit 1\n---\n{json}"
        ),
        "{out:?}"
    );
    assert_eq!(
        out.stderr,
        "netns-exec: \"false\" failed in a: exit status 1\n\
         netns-exec: \"false\" failed in b: exit status 1\n"
    );
    assert!(nobody.keepers_end(), "the keeper ended");
}

/// A running `netns-watch --rootless` keeps the keeper when the run dir
/// empties: the keeper ends once the watch does.
#[test]
fn a_running_rootless_watch_keeps_the_keeper() {
    let nobody = Nobody::new();
    assert_eq!(nobody.script("netns-add --rootless w").code, 0);
    let mut watch = nobody.command(bin("watch").to_str().unwrap());
    watch.args(["--rootless", "--names"]);
    let w = crate::watch::Watcher::start(watch);
    w.wait_until_polling();
    let keepers = nobody.keepers();
    assert_eq!(keepers.len(), 1, "{keepers:?}");
    let out = nobody.script("netns-del --rootless w");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(w.line(), "delete w");
    // A keeper ends within milliseconds of its last name (keepers_end
    // waits 5 s for it); this one must not.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(nobody.keepers(), keepers, "the watch keeps its keeper");
    drop(w);
    assert!(nobody.keepers_end(), "the keeper ended with the watch");
}

/// Eight first adds at once: eight names, one keeper. Each runs under
/// strace with its fork of a keeper held back half a second, so that all
/// have found no keeper before any has started one: only the keeper
/// file's lock keeps them to one. Killed, the keeper is noticed by the
/// next verb, which cleans up after it; then a new one.
#[test]
fn racing_first_adds_share_one_keeper_and_a_killed_one_is_noticed() {
    let nobody = Nobody::new();
    let out = nobody.script(
        "for i in 1 2 3 4 5 6 7 8; do \
           strace -qq -o /dev/null -e inject=clone:delay_enter=500000:when=1 \
             netns-add --rootless r$i & \
         done; \
         for i in 1 2 3 4 5 6 7 8; do wait %$i; done; netns-list --rootless",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "r1\nr2\nr3\nr4\nr5\nr6\nr7\nr8\n", "{out:?}");
    let keepers = nobody.keepers();
    assert_eq!(keepers.len(), 1, "{keepers:?}");
    let pid = nix::unistd::Pid::from_raw(keepers[0] as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    assert!(nobody.keepers_end());
    let out = nobody.script("netns-list --rootless");
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:?}");
    let gone = format!(
        "netns-list: warning: the keeper of \"{}\" (pid {}) is gone, and its namespaces with it\n\
         netns-list: warning: removed the stale names r1 r2 r3 r4 r5 r6 r7 r8\n",
        nobody.run_dir().display(),
        keepers[0]
    );
    assert_eq!(out.stderr, gone);
    let out =
        nobody.script("netns-del --rootless --all; netns-add --rootless c; netns-list --rootless");
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "c\n", "")
    );
    let again = nobody.keepers();
    assert!(again.len() == 1 && again != keepers, "{again:?}");
    let out = nobody.script("netns-del --rootless c");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(nobody.keepers_end());
}

/// A keeper started where close_range(2) is missing (before Linux 5.9) or
/// filtered still closes every descriptor it inherited: the starter's lock
/// and pipes, and whatever the starter's caller had open. It then ends
/// when its names are gone.
#[test]
fn a_keeper_without_close_range_holds_nothing_of_its_starters() {
    let deny = env!("CARGO_BIN_EXE_netns-test-deny");
    for errno in ["ENOSYS", "EPERM"] {
        let nobody = Nobody::new();
        let script = format!(
            "exec 7</etc/passwd 8>&1
             {deny} close_range={errno} netns-add --rootless r1 | timeout 10 cat
             netns-list --rootless"
        );
        let out = nobody.script(&script);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (0, "r1\n"),
            "{errno}: {out:?}"
        );
        let keepers = nobody.keepers();
        assert_eq!(keepers.len(), 1, "{errno}: {keepers:?}");
        // stdin, stdout and stderr on /dev/null, and its inotify watch;
        // the hold pipe goes once it sees the starter's end close.
        let held = || {
            let mut kinds: Vec<String> = std::fs::read_dir(format!("/proc/{}/fd", keepers[0]))
                .unwrap()
                .flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .map(|target| match target.to_str() {
                    Some("/dev/null") => "null".to_owned(),
                    Some("anon_inode:inotify") => "inotify".to_owned(),
                    _ => target.display().to_string(),
                })
                .collect();
            kinds.sort_unstable();
            kinds
        };
        let start = Instant::now();
        while held() != ["inotify", "null", "null", "null"] && start.elapsed().as_secs() < 5 {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(held(), ["inotify", "null", "null", "null"], "{errno}");
        let out = nobody.script("netns-del --rootless r1");
        assert_eq!(out.code, 0, "{errno}: {out:?}");
        assert!(nobody.keepers_end(), "{errno}: the keeper ended");
    }
}

/// Where the kernel refuses unprivileged user namespaces (here strace
/// fails the keeper's unshare), the message says so; nothing is left.
#[test]
fn refused_user_namespaces_are_said_and_leave_nothing() {
    let nobody = Nobody::new();
    let out = nobody.script(
        "strace -f -qq -o /dev/null -e trace=unshare -e inject=unshare:error=EPERM \
         netns-add --rootless x",
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.starts_with(
            "netns-add: cannot make a user namespace: Operation not permitted (the kernel \
             refuses unprivileged user namespaces here"
        ),
        "{out:?}"
    );
    assert!(out.stderr.contains("rootless mode needs them"), "{out:?}");
    assert!(nobody.keepers_end());
    assert_eq!(nobody.files(), (vec![], vec![]));
}

/// Rootless mode's run dir is the user's own: with no XDG_RUNTIME_DIR
/// and none given, the message says what to set; root's /run/netns is
/// never the default.
#[test]
fn rootless_mode_needs_a_run_dir_of_ones_own() {
    let nobody = Nobody::new();
    let mut cmd = nobody.command(bin("add").to_str().unwrap());
    cmd.env_remove("XDG_RUNTIME_DIR").args(["--rootless", "x"]);
    let out = output(&mut cmd, "");
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        "netns-add: rootless mode needs a run dir of your own: set XDG_RUNTIME_DIR (a login \
         session sets it) or NETNS_RUN_DIR, or give --run-dir\n"
    );
    assert!(nobody.keepers().is_empty());
}

/// A namespace the rootless user namespace does not own (the host's) is
/// not for a rootless name: the kernel's refusal, nothing made.
#[test]
fn rootless_attach_takes_only_namespaces_of_its_own() {
    let nobody = Nobody::new();
    let out = nobody.script(
        "sleep 600 & host=$!; netns-add --rootless a; \
         netns-exec --rootless a sleep 600 & inside=$!; \
         for i in $(seq 500); do [ -n \"$(netns-pids --rootless a)\" ] && break; sleep 0.01; done; \
         netns-attach --rootless b $inside; \
         netns-attach --rootless h $host || echo \"refused: $?\"; \
         netns-list --rootless; kill $host $inside; wait; netns-del --rootless --all",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "refused: 1\na\nb\n", "{out:?}");
    assert!(
        out.stderr
            .contains("Operation not permitted (in rootless mode only the namespaces"),
        "{out:?}"
    );
    assert!(nobody.keepers_end());
}

/// `netns-exec --user`: the command has the user's uid, gid and groups
/// and no capability (it cannot enter another namespace); an unknown user
/// is refused before anything is entered.
#[test]
fn exec_user_runs_the_command_as_that_user() {
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
    let out = sb.run("exec", &["--user", "no-such-user", "not-a-name", "true"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        "netns-exec: no user \"no-such-user\" in /etc/passwd\n"
    );
    let out = sb.run("exec", &["--user", "4242", "x", "true"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("give its group too (4242:GID)"),
        "{out:?}"
    );
    let out = sb.run("exec", &["--all", "--user", "nobody", "id", "-u"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "netns: x\n65534\n"));
    let out = sb.run("exec", &["--rootless", "--user", "nobody", "x", "true"]);
    assert_eq!(out.code, 2, "{out:?}");
}

/// `/etc/passwd` and `/etc/group` naming a user of the test's own (nobody,
/// the only user every host has, is in no group): `script` runs in a
/// private mount namespace with them bound over the host's, as root, with
/// HOME, USER and LOGNAME root's.
fn with_a_user_in_groups(sb: &Sandbox, script: &str) -> Output {
    let etc = sb.run.with_file_name("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(
        etc.join("passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnt-user:x:4242:4242::/nonexistent:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(
        etc.join("group"),
        "root:x:0:\nnt-main:x:4242:\nnt-a:x:4243:nt-user\nnt-b:x:4244:other,nt-user,more\n\
         nt-c:x:4245:other\nnt-d:x:4246:nt-user\nnt-e:x:4247:nt-user-not,not-nt-user\n",
    )
    .unwrap();
    let script = format!(
        "mount --bind {etc}/passwd /etc/passwd; mount --bind {etc}/group /etc/group\n{script}",
        etc = etc.display()
    );
    let dir = bin("list").parent().unwrap().to_path_buf();
    output(
        Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-ec", &script])
            .env("NETNS_RUN_DIR", &sb.run)
            .env(
                "PATH",
                format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", dir.display()),
            )
            .env("HOME", "/root")
            .env("USER", "root")
            .env("LOGNAME", "root"),
        "",
    )
}

const IDS: &str = "grep -E '^(Uid|Gid|Groups):' /proc/self/status";

/// `--user` takes the groups that list the user in /etc/group, by name or
/// by uid.
#[test]
fn exec_user_takes_the_groups_that_list_the_user() {
    let sb = Sandbox::with(&["x"]);
    let out = with_a_user_in_groups(
        &sb,
        &format!("netns-exec --user nt-user x {IDS}; netns-exec --user 4242 x {IDS}"),
    );
    assert_eq!(out.code, 0, "{out:?}");
    let ids = "Uid:\t4242\t4242\t4242\t4242\nGid:\t4242\t4242\t4242\t4242\n\
               Groups:\t4242 4243 4244 4246 \n";
    assert_eq!(out.stdout, ids.repeat(2), "{out:?}");
}

/// Today's `--user USER:GROUP` (GROUP, and the groups that list USER) and
/// environment (the caller's: README, "The environment stays the
/// caller's"). Issue 23 (item 4) makes both runuser's.
#[test]
fn exec_user_with_a_group_keeps_the_users_others_and_the_callers_environment() {
    let sb = Sandbox::with(&["x"]);
    let script = format!(
        "for user in nt-user:nt-c 4242:4245; do
             netns-exec --user $user x sh -c \"{IDS}; echo \\$HOME \\$USER \\$LOGNAME\"
         done"
    );
    let out = with_a_user_in_groups(&sb, &script);
    assert_eq!(out.code, 0, "{out:?}");
    let ids = "Uid:\t4242\t4242\t4242\t4242\nGid:\t4245\t4245\t4245\t4245\n\
               Groups:\t4243 4244 4245 4246 \n/root root root\n";
    assert_eq!(out.stdout, ids.repeat(2), "{out:?}");
}

/// A keeper file someone else made (the record and lock of the keeper) is
/// refused, as a run dir of another's is: it would say which namespaces
/// to join.
#[test]
fn a_keeper_file_of_another_users_is_refused() {
    let nobody = Nobody::new();
    let keeper = nobody.xdg.join("netns.keeper");
    std::fs::write(&keeper, "").unwrap();
    std::fs::set_permissions(&keeper, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = nobody.script("netns-add --rootless x");
    assert_eq!(out.code, 1, "{out:?}");
    let said = format!(
        "netns-add: refusing the keeper file \"{}\": it belongs to uid 0",
        keeper.display()
    );
    assert!(out.stderr.starts_with(&said), "{out:?}");
    assert!(nobody.keepers().is_empty());
    assert_eq!(nobody.files(), (vec!["netns.keeper".to_owned()], vec![]));
}
