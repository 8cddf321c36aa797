//! netns-core as a library, against the real kernel (as root): the thread
//! rule of `Netns::run` under load, panics and unshares; sockets made in
//! a namespace and used elsewhere; commands in a namespace; scratch
//! namespaces that go when their test panics. And all of it again as
//! root of a user namespace that does not own the current network
//! namespace (`unshare -U -r -m`), where a thread could not come back.
//!
//! The tests run one at a time (`serial`): each checks that no thread of
//! this process is left in a namespace, which another test's closure
//! running meanwhile would be.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use netns_core::{Enter, RunDir, Scratch, Sysfs};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{Backlog, SockaddrIn, bind, connect, listen};

/// Set in the copy of this binary that runs as root of a user namespace.
const IN_USERNS: &str = "NETNS_CORE_TESTS_IN_USERNS";
/// Set in the copy of this binary whose scratch test is to panic.
const PANIC_CHILD: &str = "NETNS_CORE_TESTS_PANIC_CHILD";

fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where the tests' run dirs go: `cargo xtask test` checks that its
/// NETNS_TEST_ROOT is left empty.
fn test_root() -> PathBuf {
    let root = std::env::var_os("NETNS_TEST_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("netns-tests"));
    std::fs::create_dir_all(&root).expect("the tests' root");
    root
}

fn scratch() -> Scratch {
    Scratch::under(test_root()).expect("a scratch namespace")
}

/// The inode of a namespace link (`net:[4026531833]`).
fn inode(link: &Path) -> std::io::Result<u64> {
    let target = std::fs::read_link(link)?;
    let text = target.to_string_lossy();
    let digits = text
        .split_once('[')
        .and_then(|(_, rest)| rest.strip_suffix(']'))
        .unwrap_or_else(|| panic!("a namespace link: {text}"));
    Ok(digits.parse().expect("an inode"))
}

/// The calling thread's namespace of `kind` (`net`, `mnt`).
fn mine(kind: &str) -> u64 {
    inode(&Path::new("/proc/thread-self/ns").join(kind)).expect("own namespace")
}

/// The threads of this process whose namespace of `kind` is not `home`,
/// with theirs: none once threads that were ending have ended (a joined
/// thread may still be on its way out for a moment).
fn strays(kind: &str, home: u64) -> Vec<(String, u64)> {
    let look = || -> Vec<(String, u64)> {
        let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
        tasks
            .flatten()
            .filter_map(|task| {
                // A thread gone since the listing has no namespace.
                let ns = inode(&task.path().join("ns").join(kind)).ok()?;
                let tid = task.file_name().to_string_lossy().into_owned();
                (ns != home).then_some((tid, ns))
            })
            .collect()
    };
    let began = Instant::now();
    loop {
        let found = look();
        if found.is_empty() || began.elapsed() > Duration::from_secs(5) {
            return found;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `cmd` to its end, bounded: under timeout(1).
fn output(program: &str, args: &[&str]) -> std::process::Output {
    Command::new("timeout")
        .arg("60")
        .arg(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = output("ip", args);
    match out.status.success() {
        true => Ok(()),
        false => Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

/// 64 threads, each running 100 closures in one of 8 namespaces: every
/// closure is in its namespace, every caller stays in its own, and no
/// thread is left in another.
#[test]
fn many_threads_run_closures_each_in_its_namespace() {
    let _serial = serial();
    let home = mine("net");
    let spaces: Vec<Scratch> = (0..8).map(|_| scratch()).collect();
    let inodes: Vec<u64> = spaces.iter().map(|s| s.netns().id().inode).collect();
    assert!(!inodes.contains(&home));
    std::thread::scope(|scope| {
        for t in 0..64 {
            let spaces = &spaces;
            scope.spawn(move || {
                let caller = mine("net");
                assert_eq!(caller, home);
                for i in 0..100 {
                    let ns = spaces[(t + i) % spaces.len()].netns();
                    let seen = ns.run(|| mine("net")).expect("entered");
                    assert_eq!(seen, ns.id().inode, "thread {t}, closure {i}");
                    assert_eq!(mine("net"), caller, "thread {t} moved");
                }
            });
        }
    });
    assert_eq!(mine("net"), home);
    assert_eq!(strays("net", home), []);
}

/// A closure's panic is the caller's, its payload as it was; the caller
/// has not moved, and the thread that panicked is gone.
#[test]
fn a_panic_in_a_closure_comes_back_to_the_caller() {
    let _serial = serial();
    let home = mine("net");
    let ns = scratch();
    let caught = std::panic::catch_unwind(|| {
        ns.netns()
            .run(|| -> u32 { std::panic::panic_any(String::from("in the namespace")) })
    });
    let payload = caught.expect_err("the panic came back");
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("in the namespace")
    );
    assert_eq!(mine("net"), home);
    assert_eq!(strays("net", home), []);
    // The namespace is as usable as before.
    assert_eq!(
        ns.netns().run(|| mine("net")).unwrap(),
        ns.netns().id().inode
    );
}

/// A closure that unshares a mount namespace (and so leaves its thread
/// in it: nothing puts it back) leaks it to no later closure and no other
/// thread: CNI's ns.Do restores the network namespace only, and its
/// pooled thread carried the mount namespace on.
#[test]
fn a_mount_namespace_unshared_in_a_closure_stays_with_its_thread() {
    let _serial = serial();
    let (home_net, home_mnt) = (mine("net"), mine("mnt"));
    let ns = scratch();
    let unshared = ns
        .netns()
        .run(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)?;
            Ok::<_, nix::Error>(mine("mnt"))
        })
        .expect("entered")
        .expect("unshared a mount namespace");
    assert_ne!(unshared, home_mnt);
    for _ in 0..100 {
        assert_eq!(ns.netns().run(|| mine("mnt")).unwrap(), home_mnt);
    }
    assert_eq!((mine("net"), mine("mnt")), (home_net, home_mnt));
    assert_eq!(strays("mnt", home_mnt), []);
    assert_eq!(strays("net", home_net), []);
}

/// A socket made in A binds an address that only A has and talks to B
/// over a veth; made by this thread, used by others.
#[test]
fn a_socket_made_in_a_talks_to_b_over_a_veth_from_other_threads() {
    let _serial = serial();
    let home = mine("net");
    let (a, b) = (scratch(), scratch());
    let b_path = b.path().to_str().unwrap();
    // The link is made from inside A, where root of a user namespace has
    // the power to make one.
    a.netns()
        .run(|| {
            ip(&[
                "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns", b_path,
            ])
        })
        .unwrap()
        .unwrap();
    for (ns, dev, addr) in [(&a, "va", "10.25.0.1/24"), (&b, "vb", "10.25.0.2/24")] {
        ns.netns()
            .run(|| {
                ip(&["addr", "add", addr, "dev", dev])?;
                ip(&["link", "set", dev, "up"])
            })
            .unwrap()
            .unwrap();
    }
    // 10.25.0.1 is A's alone: here it cannot be bound.
    let here = TcpListener::bind("10.25.0.1:0").map(drop).unwrap_err();
    assert_eq!(here.kind(), std::io::ErrorKind::AddrNotAvailable, "{here}");

    let server = b
        .netns()
        .socket(libc::AF_INET, libc::SOCK_STREAM, 0)
        .unwrap();
    let client = a
        .netns()
        .socket(libc::AF_INET, libc::SOCK_STREAM, 0)
        .unwrap();
    // Listening before the client is started: a connect before the
    // listen is refused (it failed so once in CI).
    bind(server.as_raw_fd(), &SockaddrIn::new(10, 25, 0, 2, 7025)).unwrap();
    listen(&server, Backlog::new(1).unwrap()).unwrap();
    let serving = std::thread::spawn(move || {
        let mut ready = [PollFd::new(server.as_fd(), PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(Duration::from_secs(20)).unwrap();
        assert_eq!(poll(&mut ready, timeout).unwrap(), 1, "no connection came");
        let (conn, from) = TcpListener::from(server).accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut line = String::new();
        BufReader::new(&conn).read_line(&mut line).unwrap();
        (&conn).write_all(b"pong\n").unwrap();
        (line, from.to_string())
    });
    let calling = std::thread::spawn(move || {
        bind(client.as_raw_fd(), &SockaddrIn::new(10, 25, 0, 1, 7026)).unwrap();
        connect(client.as_raw_fd(), &SockaddrIn::new(10, 25, 0, 2, 7025)).unwrap();
        let client = TcpStream::from(client);
        client
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        (&client).write_all(b"ping\n").unwrap();
        let mut line = String::new();
        BufReader::new(&client).read_line(&mut line).unwrap();
        line
    });
    assert_eq!(calling.join().unwrap(), "pong\n");
    let (got, from) = serving.join().unwrap();
    assert_eq!((got.as_str(), from.as_str()), ("ping\n", "10.25.0.1:7026"));
    assert_eq!(mine("net"), home);
    assert_eq!(strays("net", home), []);
}

/// /etc/netns/NAME, made for one test and removed after it. /etc/netns
/// is shared by the tests running at once: the first to need it makes it
/// when it is not there, and the last to leave removes it then.
struct EtcNetns {
    dir: PathBuf,
}

/// The tests holding an /etc/netns/NAME now, and whether /etc/netns was
/// made by them.
static ETC_NETNS: std::sync::Mutex<(usize, bool)> = std::sync::Mutex::new((0, false));

impl EtcNetns {
    fn new(name: &str, file: &str, text: &str) -> Self {
        let parent = Path::new("/etc/netns");
        let mut held = ETC_NETNS.lock().unwrap_or_else(|e| e.into_inner());
        if held.0 == 0 {
            held.1 = std::fs::create_dir(parent).is_ok();
        }
        held.0 += 1;
        drop(held);
        let etc = EtcNetns {
            dir: parent.join(name),
        };
        std::fs::create_dir(&etc.dir).unwrap();
        std::fs::write(etc.dir.join(file), text).unwrap();
        etc
    }
}

impl Drop for EtcNetns {
    fn drop(&mut self) {
        let mut held = ETC_NETNS.lock().unwrap_or_else(|e| e.into_inner());
        let _ = std::fs::remove_dir_all(&self.dir);
        held.0 -= 1;
        if held.0 == 0 && std::mem::take(&mut held.1) {
            let _ = std::fs::remove_dir("/etc/netns");
        }
    }
}

/// A command in a namespace sees its devices in /sys/class/net and its
/// /etc/netns/NAME files over /etc's; its output and exit status come
/// back through std's Command; the caller's /sys and /etc are as they
/// were.
#[test]
fn a_command_sees_the_namespaces_sys_and_etc_netns() {
    let _serial = serial();
    let ns = scratch();
    let name = ns.name().to_str().unwrap().to_owned();
    let _etc = EtcNetns::new(&name, "hosts", "10.25.0.9 inside\n");
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap();
    let enter = Enter::new(ns.run_dir(), ns.name(), Sysfs::read().unwrap()).unwrap();
    let mut cmd = Command::new("timeout");
    let script = "ls /sys/class/net; cat /etc/hosts; echo oops >&2; exit 3";
    let out = enter
        .command(cmd.args(["60", "sh", "-c", script]))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "lo\n10.25.0.9 inside\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(std::fs::read_to_string("/etc/hosts").unwrap(), hosts);
    assert!(Path::new("/sys/class/net/lo").exists());
    assert_eq!(strays("mnt", mine("mnt")), []);
}

/// nobody's uid and gid, from /etc/passwd.
fn nobody() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let line = passwd.lines().find(|l| l.starts_with("nobody:"));
    let fields: Vec<&str> = line.expect("nobody in /etc/passwd").split(':').collect();
    (fields[2].parse().unwrap(), fields[3].parse().unwrap())
}

/// A command run as a user (`Enter::as_user`, netns-exec's `--user`) has
/// the user's ids, their USER and LOGNAME, and no capability left, in the
/// namespace; its output and exit status come back through std's Command.
#[test]
fn a_command_as_a_user_has_its_ids_and_no_capabilities() {
    // Root of a user namespace maps no one else: there is no user to be.
    if std::env::var_os(IN_USERNS).is_some() {
        return;
    }
    let _serial = serial();
    let ns = scratch();
    let mut enter = Enter::new(ns.run_dir(), ns.name(), Sysfs::read().unwrap()).unwrap();
    enter.as_user("nobody".as_ref()).unwrap();
    let script = "id -u; id -g; id -G; echo $USER $LOGNAME; \
                  grep -E '^Cap(Inh|Prm|Eff|Amb):' /proc/self/status; \
                  readlink /proc/self/ns/net; echo oops >&2; exit 4";
    let out = enter
        .command(Command::new("timeout").args(["60", "sh", "-c", script]))
        .output()
        .unwrap();
    let (uid, gid) = nobody();
    let none = "0000000000000000";
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "{uid}\n{gid}\n{gid}\nnobody nobody\nCapInh:\t{none}\nCapPrm:\t{none}\n\
             CapEff:\t{none}\nCapAmb:\t{none}\nnet:[{}]\n",
            ns.netns().id().inode
        )
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(nix::unistd::geteuid().as_raw(), 0);
    assert_eq!(strays("mnt", mine("mnt")), []);
}

/// A step that fails fails the spawn with its errno, and nothing runs: a
/// /etc/netns/NAME entry with no /etc file to cover.
#[test]
fn a_command_that_cannot_enter_is_not_run() {
    let _serial = serial();
    let ns = scratch();
    let name = ns.name().to_str().unwrap().to_owned();
    let etc = EtcNetns::new(&name, "hosts", "");
    let enter = Enter::new(ns.run_dir(), ns.name(), Sysfs::read().unwrap()).unwrap();
    // Removed from under the prepared bind: the mount finds no source.
    std::fs::remove_file(etc.dir.join("hosts")).unwrap();
    let err = enter
        .command(Command::new("timeout").args(["60", "true"]))
        .status()
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT), "{err}");
}

/// The body of the child test below, run in a copy of this binary: two
/// scratch namespaces (one in a run dir of its own, one in a shared run
/// dir), their paths printed, then a panic.
#[test]
#[ignore = "run by a_scratch_namespace_is_gone_after_its_test_panics"]
fn scratch_child_that_panics() {
    let Some(shared) = std::env::var_os(PANIC_CHILD) else {
        return;
    };
    let own = scratch();
    let shared = Scratch::in_run_dir(RunDir::new(shared), "nt").unwrap();
    // On lines of their own: the harness's "test ... " starts the first.
    for ns in [&own, &shared] {
        println!("\n@ {} {}", ns.path().display(), ns.netns().id().inode);
    }
    println!("\n@ {}", own.run_dir().path().display());
    panic!("the test fails");
}

/// A test that panics leaves nothing of its scratch namespaces: checked
/// from outside, once the test process has ended.
#[test]
fn a_scratch_namespace_is_gone_after_its_test_panics() {
    let _serial = serial();
    // /run/netns, or in a user namespace a run dir on the tests' tmpfs.
    let shared = match std::env::var_os(IN_USERNS) {
        Some(_) => test_root().join("shared"),
        None => PathBuf::from("/run/netns"),
    };
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("timeout")
        .arg("60")
        .arg(exe)
        .args([
            "--exact",
            "scratch_child_that_panics",
            "--ignored",
            "--nocapture",
        ])
        .args(["--test-threads", "1"])
        .env(PANIC_CHILD, &shared)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(101), "{stdout}{stderr}");
    assert!(stderr.contains("the test fails"), "{stderr}");
    let lines: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("@ "))
        .collect();
    let [own, shared_file, own_dir] = lines[..] else {
        panic!("the child said: {stdout}{stderr}");
    };
    assert!(
        shared_file.starts_with(shared.to_str().unwrap()),
        "{shared_file}"
    );
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    for line in [own, shared_file] {
        let (path, inode) = line.split_once(' ').unwrap();
        assert!(!Path::new(path).exists(), "{path} is left");
        let held = format!("net:[{inode}]");
        assert!(!mountinfo.contains(&held), "{held} is mounted still");
        assert!(!mountinfo.contains(path), "{path} is mounted still");
    }
    assert!(!Path::new(own_dir).exists(), "{own_dir} is left");
    assert!(!mountinfo.contains(own_dir), "{own_dir} is mounted still");
}

/// A scratch namespace that cannot be made says why and leaves nothing:
/// a parent directory that is not there.
#[test]
fn a_scratch_namespace_that_cannot_be_made_is_an_error() {
    let parent = test_root().join("not-there");
    let err = Scratch::under(&parent).unwrap_err().to_string();
    assert!(err.starts_with("cannot create \""), "{err}");
    assert!(err.ends_with("No such file or directory"), "{err}");
    assert!(!parent.exists());
}

/// Every test above again, in a copy of this binary that is root of a
/// user namespace of its own, in a mount namespace of its own, with a
/// tmpfs for its run dirs (`unshare -U -r -m`, which is `podman
/// unshare`): that user namespace does not own the network namespace the
/// copy starts in, so no thread of it could come back from another.
#[test]
fn everything_again_as_root_of_a_user_namespace() {
    if std::env::var_os(IN_USERNS).is_some() {
        return;
    }
    let root = test_root().join(format!("userns-{}", std::process::id()));
    std::fs::create_dir(&root).unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("timeout")
        .args(["300", "unshare", "-U", "-r", "-m", "sh", "-ec"])
        .arg(r#"mount -t tmpfs netns-core-tests "$NETNS_TEST_ROOT"; exec "$0" "$@""#)
        .arg(exe)
        .args(["--test-threads", "1"])
        .env("NETNS_TEST_ROOT", &root)
        .env("TMPDIR", &root)
        .env(IN_USERNS, "1")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir(&root);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("test result: ok. 10 passed; 0 failed; 1 ignored"),
        "{stdout}"
    );
}
