//! Rootless mode, as the user nobody: names of one's own in a user
//! namespace, held by a keeper process.

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

    pub fn command(&self, program: &str) -> Command {
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
    pub fn files(&self) -> (Vec<String>, Vec<String>) {
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
         --- exec --all\n\nnetns: lab1\n1\n\nnetns: lab2\n1\n\
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
             ---\n\nnetns: a\na\n\nnetns: b\nb\n---\n\nnetns: a\n\nnetns: b\nexit 1\n---\n{json}"
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
        // stdin, stdout and stderr on /dev/null, its inotify watch and
        // its lock on the run dir; the hold pipe goes once it sees the
        // starter's end close.
        let held = || {
            let mut kinds: Vec<String> = std::fs::read_dir(format!("/proc/{}/fd", keepers[0]))
                .unwrap()
                .flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .map(|target| match target.to_str() {
                    Some("/dev/null") => "null".to_owned(),
                    Some("anon_inode:inotify") => "inotify".to_owned(),
                    _ if target == nobody.run_dir() => "run dir".to_owned(),
                    _ => target.display().to_string(),
                })
                .collect();
            kinds.sort_unstable();
            kinds
        };
        let start = Instant::now();
        let expected = ["inotify", "null", "null", "null", "run dir"];
        while held() != expected && start.elapsed().as_secs() < 5 {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(held(), expected, "{errno}");
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

/// From an attack: the verbs that make nothing leave no keeper file in a
/// run dir a `del --all` emptied (list, with nothing there, made one).
#[test]
fn verbs_that_make_nothing_leave_no_keeper_file_behind() {
    let nobody = Nobody::new();
    let out = nobody.script(
        "netns-add --rootless a; netns-del --rootless --all; \
         netns-list --rootless; netns-identify --rootless $$ || true; \
         netns-list --rootless --dev lo; ls -A \"$XDG_RUNTIME_DIR\" \"$XDG_RUNTIME_DIR/netns\"",
    );
    assert_eq!(out.code, 0, "{out:?}");
    let dir = nobody.xdg.display().to_string();
    assert_eq!(
        out.stdout,
        format!("{dir}:\nnetns\n\n{dir}/netns:\n"),
        "{out:?}"
    );
    assert!(nobody.keepers_end());
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

/// A rootless verb pointed at a directory of a user's files (a typo in
/// --run-dir, or another user's symlink in a shared directory) removes
/// nothing: a refusal, exit 1.
#[test]
fn a_directory_of_ordinary_files_is_refused_and_nothing_removed() {
    let nobody = Nobody::new();
    let out = nobody.script(&format!(
        "set +e; cd {}; mkdir docs docs/sub; echo x > docs/notes.txt; : > docs/thesis.tex; \
         netns-list --rootless --run-dir docs; echo list $?; \
         netns-add --rootless --run-dir docs n; echo add $?; \
         netns-del --rootless --run-dir docs --all; echo del $?; ls docs",
        nobody.xdg.display()
    ));
    assert_eq!(
        out.stdout, "list 1\nadd 1\ndel 1\nnotes.txt\nsub\nthesis.tex\n",
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 3, "{out:?}");
    assert!(
        out.stderr
            .lines()
            .all(|l| l.contains("it holds files that no add made")),
        "{out:?}"
    );
    assert!(nobody.keepers().is_empty());
    // Another user's symlink to nobody's directory, in a directory both
    // can write to: refused for what it is.
    let shared = nobody.xdg.with_file_name("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    std::os::unix::fs::symlink(nobody.xdg.join("docs"), shared.join("netns")).unwrap();
    let script = format!(
        "set +e; netns-list --rootless --run-dir {0}/netns; echo list $?; ls docs",
        shared.display()
    );
    let out = nobody.script(&format!("cd {}; {script}", nobody.xdg.display()));
    assert_eq!(
        out.stdout, "list 1\nnotes.txt\nsub\nthesis.tex\n",
        "{out:?}"
    );
    assert!(out.stderr.contains("it is a symlink"), "{out:?}");
}

/// A keeper that lives is never taken for dead: not from another pid
/// namespace (where its pid is no process of its), not from a shell left
/// in an earlier keeper's user namespace, not when its record is lost or
/// emptied. Such a verb fails; the names stay.
#[test]
fn a_live_keeper_is_never_taken_for_dead() {
    let nobody = Nobody::new();
    let run = nobody.run_dir();
    let out = nobody.script(
        "set +e
         netns-add --rootless a b
         unshare -Urpf --mount-proc netns-list --rootless; echo pidns $?
         netns-list --rootless",
    );
    assert_eq!(out.stdout, "pidns 1\na\nb\n", "{out:?}");
    assert!(
        out.stderr.contains("cannot join the rootless keeper"),
        "{out:?}"
    );
    // A shell left in the user namespace of a keeper that ended, asking
    // after the next keeper's names.
    let go = nobody.xdg.join("go");
    let script = format!(
        "set +e
         netns-del --rootless --all
         netns-add --rootless old
         netns-exec --rootless old sh -c 'netns-del --rootless old
             while [ ! -e {go} ]; do sleep 0.02; done
             timeout 10 netns-list --rootless; echo sibling $?' &
         while [ -e {run}/old ]; do sleep 0.02; done
         sleep 0.2
         netns-add --rootless new
         touch {go}; wait
         netns-list --rootless",
        go = go.display(),
        run = run.display(),
    );
    let out = nobody.script(&script);
    assert_eq!(out.stdout, "sibling 1\nnew\n", "{out:?}");
    // The record lost, then recreated empty: the keeper still runs.
    let keeper = nobody.xdg.join("netns.keeper");
    for how in ["rm", "truncate -s 0"] {
        let out = nobody.script(&format!(
            "set +e; {how} {k}; netns-list --rootless; echo list $?; ls {run}",
            k = keeper.display(),
            run = run.display()
        ));
        assert_eq!(out.stdout, "list 1\nnew\n", "{how}: {out:?}");
        assert!(out.stderr.contains("its record"), "{how}: {out:?}");
    }
    for pid in nobody.keepers() {
        let pid = nix::unistd::Pid::from_raw(pid as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    }
    assert!(nobody.keepers_end());
}

/// A keeper killed while a long verb holds its file (a watch; an exec
/// --all whose command is itself a rootless verb): the next verb says so
/// within a bounded time instead of waiting forever, and once the long
/// one ends, the names are cleaned up.
#[test]
fn a_keeper_dead_under_a_long_verb_is_told_in_bounded_time() {
    let nobody = Nobody::new();
    let out = nobody.script(
        "set +e
         netns-add --rootless a
         timeout 20 netns-watch --rootless > /dev/null & watch=$!
         sleep 0.3
         kill -9 $(cut -d' ' -f1 $XDG_RUNTIME_DIR/netns.keeper)
         sleep 0.2
         timeout 10 netns-list --rootless; echo list $?
         kill $watch; wait $watch || true
         netns-list --rootless; echo after $?",
    );
    assert_eq!(out.stdout, "list 1\nafter 0\n", "{out:?}");
    assert!(out.stderr.contains("another verb still holds"), "{out:?}");
    assert!(out.stderr.contains("removed the stale names a"), "{out:?}");
    let start = Instant::now();
    let out = nobody.script(
        "set +e
         netns-add --rootless a b
         timeout 30 netns-exec --rootless --all sh -c \
             'kill -9 $(cut -d\" \" -f1 $XDG_RUNTIME_DIR/netns.keeper) 2>/dev/null; \
              sleep 0.1; netns-list --rootless'; echo exec $?
         netns-list --rootless; echo after $?",
    );
    assert!(start.elapsed() < Duration::from_secs(20), "{out:?}");
    assert_eq!(
        out.stdout, "\nnetns: a\n\nnetns: b\nexec 1\nafter 0\n",
        "{out:?}"
    );
    assert!(nobody.keepers_end());
}

/// After its socket overflows (ENOBUFS: here a stopped watch misses a
/// burst of 600 nsids set and then deleted), a watch resyncs: the lines
/// it printed add up to the kernel's table (`netns-list --ids`), with no
/// old event replayed after the resync, and the next new nsid is told.
/// The watch's setsockopt is failed, so that its receive buffer stays at
/// the default (its 1 MiB would hold this burst); the nsids are set by
/// one `ip -batch` in the keeper's network namespace.
#[test]
fn a_watch_that_lost_events_resyncs_and_goes_on() {
    let nobody = Nobody::new();
    let script = format!(
        "set +e
        cd $XDG_RUNTIME_DIR
        seq -f 'n%g' 600 | netns-add --rootless -
        seq -f 'netns set n%g auto' 600 > batch
        keeper=$(cut -d' ' -f1 netns.keeper)
        {deny} setsockopt=EPERM {watch} --rootless --ids > watch.out & w=$!
        sleep 0.3
        kill -STOP $w
        netns-exec --rootless n1 nsenter --net=/proc/$keeper/ns/net ip -batch batch ||
            {{ kill -9 $w; exit 9; }}
        netns-del --rootless --all
        netns-add --rootless probe
        i=0; while [ -n \"$(netns-list --rootless --ids)\" ] && [ $i -lt 400 ]; do
            sleep 0.05; i=$((i+1)); done
        echo table: $(netns-list --rootless --ids | wc -l)
        kill -CONT $w
        netns-set --rootless probe auto
        i=0; while ! grep -q probe watch.out && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
        kill $w; wait $w
        netns-list --rootless --ids
        netns-del --rootless --all
        cat watch.out",
        deny = env!("CARGO_BIN_EXE_netns-test-deny"),
        watch = bin("watch").display(),
    );
    let out = nobody.script(&script);
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("table: 0"), "{out:?}");
    let listed = lines.next().unwrap_or_default();
    assert!(listed.ends_with("(iproute2 netns name: probe)"), "{out:?}");
    let mut table = std::collections::BTreeSet::new();
    let mut told = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields[..] {
            ["add-nsid", id, ..] => assert!(table.insert(id.to_owned()), "{line}"),
            ["delete-nsid", id, ..] => assert!(table.remove(id), "{line}"),
            _ => panic!("{line}: {out:?}"),
        }
        told.push(line);
    }
    let probe = told.last().copied().unwrap_or_default();
    assert!(
        probe.starts_with("add-nsid ") && probe.ends_with(" probe"),
        "{told:?}"
    );
    assert_eq!(table.len(), 1, "only probe's nsid is left: {told:?}");
    assert!(nobody.keepers_end());
}

/// The attacks that found holes, as nobody: a file of the user's where
/// the keeper file goes is never written over or removed; `d/`, `d/.` and
/// `d` are one run dir, with the keeper file beside it; a verb with
/// nothing to do in a run dir that is not there leaves no file behind.
#[test]
fn the_keeper_file_and_the_run_dirs_name_are_taken_with_care() {
    let nobody = Nobody::new();
    let out = nobody.script(
        "set +e; cd $XDG_RUNTIME_DIR
         mkdir proj; echo 'my notes' > proj/build.keeper; chmod 600 proj/build.keeper
         netns-add --rootless --run-dir proj/build x; echo add $?
         cat proj/build.keeper
         mkdir slash
         netns-add --rootless --run-dir slash/ s1; echo slash $?
         netns-list --rootless --run-dir slash/.; netns-del --rootless --run-dir slash s1
         i=0; while [ -e slash.keeper ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
         ls -a slash; ls slash.keeper 2>&1 | grep -c 'No such'
         netns-list --rootless --run-dir typo; echo typo $?; ls | grep -c typo",
    );
    assert_eq!(
        out.stdout, "add 1\nmy notes\nslash 0\ns1\n.\n..\n1\ntypo 0\n0\n",
        "{out:?}"
    );
    assert!(out.stderr.contains("is no rootless keeper file"), "{out:?}");
    assert!(nobody.keepers_end());
}

/// A delete of a name that the verb itself found stale (its keeper was
/// killed) and removed with the rest is done, not a failure.
#[test]
fn deleting_a_dead_keepers_name_succeeds() {
    let nobody = Nobody::new();
    let out = nobody.script(
        "netns-add --rootless x y
         kill -9 $(cut -d' ' -f1 $XDG_RUNTIME_DIR/netns.keeper)
         sleep 0.3
         netns-del --rootless x; echo del $?
         ls $XDG_RUNTIME_DIR/netns | wc -l",
    );
    assert_eq!(out.stdout, "del 0\n0\n", "{out:?}");
    assert!(
        out.stderr.contains("removed the stale names x y"),
        "{out:?}"
    );
    assert!(!out.stderr.contains("cannot remove"), "{out:?}");
}

/// The kernel's limit on user namespaces reached (user.max_user_namespaces,
/// which root of a user namespace may lower there): the message names
/// it, exit 1, nothing left.
#[test]
fn the_user_namespace_limit_is_named() {
    let nobody = Nobody::new();
    let out = nobody.script(
        "set +e
         unshare -U -r -m sh -c 'echo 0 > /proc/sys/user/max_user_namespaces
             netns-add --rootless x; echo add $?
             ls $XDG_RUNTIME_DIR | wc -l'",
    );
    assert_eq!(out.stdout, "add 1\n0\n", "{out:?}");
    assert!(out.stderr.contains("user.max_user_namespaces"), "{out:?}");
}

/// A refusal met by a rootless verb after it joined the keeper says what
/// rootless mode may change, in place of the advice to be root: an
/// /etc/netns/NAME that only root can read, for exec and for exec --all
/// (the mode is the verb's Place, which words the core's errors).
#[test]
fn a_refusal_in_rootless_mode_says_so() {
    let nobody = Nobody::new();
    let name = format!("nt-{}-refused", crate::util::tag());
    let etc = crate::util::EtcNetns::new(&name, &[("hosts", "")]);
    let dir = Path::new("/etc/netns").join(&name);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = nobody.script(&format!(
        "netns-add --rootless {name}; \
         netns-exec --rootless {name} true || echo \"refused: $?\"; \
         netns-exec --rootless --all true || echo \"refused: $?\"; \
         netns-del --rootless {name}"
    ));
    drop(etc);
    let why = format!(
        "cannot read \"{}\": Permission denied (in rootless mode only the namespaces of the \
         rootless user namespace are ours to change)",
        dir.display()
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "refused: 1\nrefused: 1\n", "{out:?}");
    assert_eq!(
        out.stderr,
        format!("netns-exec: {why}\nnetns-exec: in {name}: {why}\n"),
        "{out:?}"
    );
    assert!(nobody.keepers_end());
}
