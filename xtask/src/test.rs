//! `cargo xtask test`: the binaries (the static multicall too, within its
//! size budget), the suite within a time limit, then the check that it
//! cleaned up. Every test cleans up on drop; this catches the cleanup that
//! was forgotten, wherever a test can leave something: the tests' root
//! (files, and mounts in any mount namespace), /run/netns and /etc/netns,
//! the host's network devices, podman's containers and images, and
//! processes.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{cargo, project_root, require_root, run_cargo};

/// How long the suite may run once built (about a minute here): a test
/// that hangs fails the run, with what its processes were doing, rather
/// than stopping it. `NETNS_TEST_TIMEOUT` (seconds) says otherwise.
const TIME_LIMIT: Duration = Duration::from_secs(300);

pub fn run(args: &[String]) -> Result<(), String> {
    require_root("the tests")?;
    // The tests name what they make outside their root with this tag
    // (`nt-<tag>-...`; see tests/integration/util.rs's `tag`).
    let tag = std::process::id().to_string();
    let root = std::env::temp_dir().join(format!("netns-tests-{tag}"));
    let (profile, dir) = profile(args);
    // `cargo test` builds a package's binaries only for that package's own
    // integration tests; ours live in another package and run the verbs,
    // which they find beside themselves: built with the same profile; and
    // netns-core's examples as a user runs them.
    run_cargo(
        cargo()
            .args(["build", "--workspace", "--bins", "--examples"])
            .args(&profile),
    )?;
    // .cargo/config.toml links every build statically, the README's
    // `cargo build --release` among them: a dynamic start costs 0.2 ms.
    let built = project_root().join("target").join(dir);
    for verb in crate::dist::verbs(&built.join("netns"))? {
        crate::dist::require_static(&built.join(format!("netns-{verb}")))?;
    }
    // The minimal-image test chroots into a dir with only the static
    // multicall; building it also holds the size budget.
    let dist = crate::dist::dist()?;
    let etc_netns = Path::new("/etc/netns").exists();
    // Built before the clock starts.
    run_cargo(cargo().args(["test", "--workspace", "--no-run"]).args(args))?;
    let limit = std::env::var("NETNS_TEST_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(TIME_LIMIT, Duration::from_secs);
    let mut tests = cargo();
    tests
        .args(["test", "--workspace"])
        .args(args)
        .env("NETNS_TEST_ROOT", &root)
        .env("NETNS_TEST_TAG", &tag)
        .env("NETNS_DIST", &dist)
        .process_group(0);
    let finished = run_within(&mut tests, limit);
    let leaks = leaks(&root, &tag, etc_netns);
    if !leaks.is_empty() {
        let hung = finished.err().map(|e| format!("{e}\n")).unwrap_or_default();
        remove_root(&root);
        return Err(format!(
            "{hung}the tests left behind (what was under {} is removed now):\n  {}",
            root.display(),
            leaks.join("\n  ")
        ));
    }
    let _ = std::fs::remove_dir(&root);
    println!("xtask: nothing the tests made is left");
    match finished? {
        true => Ok(()),
        false => Err("tests failed".to_owned()),
    }
}

/// What a failed or killed run left under the tests' root: its processes
/// (those with the root in their environment) killed, its mounts here
/// unmounted (those of other mount namespaces go with their processes),
/// its files removed.
fn remove_root(root: &Path) {
    for pid in processes(root) {
        let pid = pid
            .split(' ')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        if pid > 0 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    loop {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut points: Vec<&str> = mountinfo
            .lines()
            .filter_map(|line| line.split(' ').nth(4))
            .filter(|point| Path::new(point).starts_with(root))
            .collect();
        if points.is_empty() {
            break;
        }
        // The deepest first; a failure to unmount ends the attempt.
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        let unmounted = points
            .iter()
            .filter(|p| nix::mount::umount2(**p, nix::mount::MntFlags::MNT_DETACH).is_ok())
            .count();
        if unmounted == 0 {
            break;
        }
    }
    let _ = std::fs::remove_dir_all(root);
}

/// The profile flags in `cargo test` arguments (before any `--`), and the
/// directory in target/ that profile builds into.
fn profile(args: &[String]) -> (Vec<String>, String) {
    let dir_of = |profile: &str| match profile {
        "dev" | "test" => "debug".to_owned(),
        "release" | "bench" => "release".to_owned(),
        other => other.to_owned(),
    };
    let mut found = (Vec::new(), "debug".to_owned());
    let mut args = args.iter().take_while(|a| *a != "--");
    while let Some(arg) = args.next() {
        let named = match arg.as_str() {
            "--release" | "-r" => Some("release".to_owned()),
            "--profile" => args.next().cloned(),
            other => other.strip_prefix("--profile=").map(String::from),
        };
        if let Some(name) = named {
            found = (vec!["--profile".to_owned(), name.clone()], dir_of(&name));
        }
    }
    found
}

/// Runs `cmd` (a process group of its own) to its end, or until `limit`:
/// then says what each of its processes is doing, and kills them.
/// `Ok(success)`, or the `Err` of a run that did not end.
fn run_within(cmd: &mut Command, limit: Duration) -> Result<bool, String> {
    let mut child = cmd.spawn().map_err(|e| format!("cannot run cargo: {e}"))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status.success()),
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(100)),
            Ok(None) => break,
            Err(e) => return Err(format!("cannot wait for cargo: {e}")),
        }
    }
    let pids = descendants(child.id());
    let state: Vec<String> = pids.iter().map(|&pid| describe(pid)).collect();
    for pid in pids {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = child.wait();
    Err(format!(
        "the tests had not ended after {} s, and were killed; their processes were:\n{}",
        limit.as_secs(),
        state.join("\n")
    ))
}

/// `pid` and every process below it, parents first.
fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = pids()
        .into_iter()
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            let ppid = stat.rsplit_once(") ")?.1.split(' ').nth(1)?.parse().ok()?;
            Some((p, ppid))
        })
        .collect();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|&&(_, pp)| pp == parent)
                .map(|&(p, _)| p),
        );
        i += 1;
    }
    found
}

/// One line on a process: its command line, state, where it sleeps, its
/// system call.
fn describe(pid: u32) -> String {
    let read = |what: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/{what}"))
            .unwrap_or_default()
            .trim_end()
            .replace('\0', " ")
    };
    let stat = read("stat");
    let state = stat.rsplit_once(") ").map_or("?", |(_, rest)| &rest[..1]);
    format!(
        "  {pid} [{}] state {state}, in {}, syscall {}",
        read("cmdline").trim_end(),
        read("wchan"),
        read("syscall")
    )
}

fn pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Everything the tests may have left: under `root` (files; mounts, in
/// every mount namespace), the names and things of theirs outside it,
/// which carry `tag`, and their processes. `etc_netns` says whether
/// /etc/netns was there before. What goes away within a few seconds is no
/// leak (a keeper ends a moment after its last name goes).
pub fn leaks(root: &Path, tag: &str, etc_netns: bool) -> Vec<String> {
    let start = Instant::now();
    loop {
        let found = leaks_now(root, tag, etc_netns);
        if found.is_empty() || start.elapsed() > Duration::from_secs(5) {
            return found;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn leaks_now(root: &Path, tag: &str, etc_netns: bool) -> Vec<String> {
    let ours = format!("nt-{tag}-");
    let mut leaks = mounts(root, &ours);
    if let Ok(rd) = std::fs::read_dir(root) {
        leaks.extend(
            rd.flatten()
                .map(|e| format!("file: {}", e.path().display())),
        );
    }
    for dir in ["/run/netns", "/etc/netns"] {
        leaks.extend(
            entries(Path::new(dir))
                .into_iter()
                .filter(|n| n.starts_with(&ours))
                .map(|n| format!("name: {dir}/{n}")),
        );
    }
    if !etc_netns && Path::new("/etc/netns").exists() {
        leaks.push("dir: /etc/netns, which the tests made".to_owned());
    }
    // A veth on the host, `nt<tag>h`, and its peer `nt<tag>p`; a host
    // end of netns-link's, `nt<tag>l`.
    let veth = [
        format!("nt{tag}h"),
        format!("nt{tag}p"),
        format!("nt{tag}l"),
    ];
    leaks.extend(
        entries(Path::new("/sys/class/net"))
            .into_iter()
            .filter(|dev| veth.contains(dev))
            .map(|dev| format!("network device: {dev}")),
    );
    leaks.extend(podman(&ours, tag));
    leaks.extend(processes(root).into_iter().map(|p| format!("process: {p}")));
    leaks
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Mounts under `root`, and nsfs mounts of names starting `ours` in
/// /run/netns: in this mount namespace and in every other a process is in
/// (a test's private one, a keeper's, a container's), each read once.
fn mounts(root: &Path, ours: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut leaks = Vec::new();
    let me = std::process::id();
    for pid in std::iter::once(me).chain(pids()) {
        let Ok(ns) = std::fs::read_link(format!("/proc/{pid}/ns/mnt")) else {
            continue;
        };
        if seen.contains(&ns) {
            continue;
        }
        let Ok(mountinfo) = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")) else {
            continue;
        };
        seen.push(ns.clone());
        let whose = match pid == me {
            true => String::new(),
            false => format!(" (in {}, the mount namespace of pid {pid})", ns.display()),
        };
        leaks.extend(
            mountinfo
                .lines()
                .filter(|line| {
                    let point = line.split(' ').nth(4).unwrap_or("");
                    Path::new(point).starts_with(root)
                        || point
                            .strip_prefix("/run/netns/")
                            .is_some_and(|name| name.starts_with(ours))
                })
                .map(|line| format!("mount{whose}: {line}")),
        );
    }
    leaks
}

/// podman's containers named `ours...` and images `netns-test-<tag>...`,
/// where podman is installed.
fn podman(ours: &str, tag: &str) -> Vec<String> {
    let list = |args: &[&str]| -> Vec<String> {
        Command::new("podman")
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let images_of_ours = [
        format!("localhost/netns-test-{tag}:"),
        format!("localhost/netns-test-{tag}-"),
    ];
    let containers = list(&["ps", "-a", "--format", "{{.Names}}"]);
    let images = list(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    containers
        .into_iter()
        .filter(|c| c.starts_with(ours))
        .map(|c| format!("podman container: {c}"))
        .chain(
            images
                .into_iter()
                .filter(|i| images_of_ours.iter().any(|o| i.starts_with(o)))
                .map(|i| format!("podman image: {i}")),
        )
        .collect()
}

/// Processes still running (zombies are done) with the tests' root in
/// their environment: the rootless keepers the tests started (theirs is
/// an XDG_RUNTIME_DIR below it), and anything they ran.
fn processes(root: &Path) -> Vec<String> {
    let root = root.as_os_str().as_encoded_bytes();
    pids()
        .into_iter()
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
            let found = environ.windows(root.len()).any(|w| w == root);
            (found && !stat.contains(") Z ")).then(|| stat.trim_end().to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn the_profile_is_the_one_cargo_test_is_given() {
        let of = |args: &[&str]| profile(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>());
        let named = |name: &str| vec!["--profile".to_owned(), name.to_owned()];
        assert_eq!(of(&[]), (vec![], "debug".to_owned()));
        assert_eq!(of(&["list::"]), (vec![], "debug".to_owned()));
        assert_eq!(of(&["--release"]), (named("release"), "release".to_owned()));
        assert_eq!(of(&["-r", "x"]), (named("release"), "release".to_owned()));
        assert_eq!(
            of(&["--profile", "release-small"]),
            (named("release-small"), "release-small".to_owned())
        );
        assert_eq!(of(&["--profile=dev"]), (named("dev"), "debug".to_owned()));
        // After `--`, the arguments are the test binaries'.
        assert_eq!(of(&["--", "--release"]), (vec![], "debug".to_owned()));
    }

    /// A fresh root and a tag no test run uses.
    fn scratch() -> (PathBuf, String) {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tag = format!("{}x{n}", std::process::id());
        let root = std::env::temp_dir().join(format!("xtask-leaks-{tag}"));
        std::fs::create_dir_all(&root).unwrap();
        (root, tag)
    }

    fn sh(script: &str) {
        let out = Command::new("sh").args(["-ec", script]).output().unwrap();
        assert!(out.status.success(), "{script}: {out:?}");
    }

    /// Each thing a test can leave is found: a file and a mount under the
    /// root, the mount in another mount namespace only (its process has
    /// no trace of the root in its environment), a name in /run/netns and
    /// in /etc/netns, a veth pair on the host. Then none once they are
    /// gone.
    #[test]
    fn the_leak_check_finds_what_a_test_can_leave() {
        assert!(nix::unistd::geteuid().is_root(), "run as root");
        let (root, tag) = scratch();
        let etc_netns = Path::new("/etc/netns").exists();
        let r = root.display();
        std::fs::write(root.join("left"), "").unwrap();
        std::fs::create_dir(root.join("m")).unwrap();
        std::fs::create_dir(root.join("hidden")).unwrap();
        sh(&format!("mount -t tmpfs nt-leak {r}/m"));
        let mut hidden = Command::new("unshare");
        hidden
            .args(["-m", "--propagation", "private", "sh", "-c"])
            .arg(format!(
                "mount -t tmpfs nt-leak {r}/hidden && exec sleep 600"
            ))
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        let mut hidden = hidden.spawn().unwrap();
        std::fs::create_dir_all(format!("/etc/netns/nt-{tag}-e")).unwrap();
        let run_netns = Path::new("/run/netns").exists();
        std::fs::create_dir_all("/run/netns").unwrap();
        std::fs::write(format!("/run/netns/nt-{tag}-n"), "").unwrap();
        sh(&format!(
            "ip link add nt{tag}h type veth peer name nt{tag}p"
        ));
        let start = Instant::now();
        // Until the hidden mount is made: the other mount namespace
        // shows the root's first mount (copied) before it.
        let hidden_mount = format!(" {r}/hidden ");
        let found = loop {
            let found = leaks_now(&root, &tag, etc_netns);
            if found.iter().any(|l| l.contains(&hidden_mount)) || start.elapsed().as_secs() > 5 {
                break found;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let _ = hidden.kill();
        let _ = hidden.wait();
        sh(&format!(
            "umount {r}/m; rm -r {r}/left {r}/m {r}/hidden /etc/netns/nt-{tag}-e /run/netns/nt-{tag}-n
             ip link del nt{tag}h"
        ));
        if !etc_netns {
            let _ = std::fs::remove_dir("/etc/netns");
        }
        if !run_netns {
            let _ = std::fs::remove_dir("/run/netns");
        }
        let text = found.join("\n");
        for what in [
            format!("file: {r}/left"),
            "mount: ".to_owned(),
            format!(" {r}/m "),
            format!("the mount namespace of pid {}): ", hidden.id()),
            format!(" {r}/hidden "),
            format!("name: /etc/netns/nt-{tag}-e"),
            format!("name: /run/netns/nt-{tag}-n"),
            format!("network device: nt{tag}h"),
            format!("network device: nt{tag}p"),
        ] {
            assert!(text.contains(&what), "{what:?} not in:\n{text}");
        }
        assert_eq!(leaks_now(&root, &tag, etc_netns), Vec::<String>::new());
        std::fs::remove_dir(&root).unwrap();
    }

    /// podman's containers and images of the tests' are found.
    #[test]
    #[cfg_attr(
        no_podman,
        ignore = "podman is not installed (CI installs it; with NETNS_TEST_STRICT=1 this fails)"
    )]
    fn the_leak_check_finds_podman_containers_and_images() {
        let (root, tag) = scratch();
        std::fs::write(root.join("Dockerfile"), "FROM scratch\nCOPY Dockerfile /\n").unwrap();
        let image = format!("localhost/netns-test-{tag}");
        let container = format!("nt-{tag}-c");
        let podman = |args: &[&str]| Command::new("podman").args(args).output().unwrap();
        let built = podman(&["build", "-q", "-t", &image, root.to_str().unwrap()]);
        assert!(built.status.success(), "{built:?}");
        let made = podman(&["create", "--name", &container, &image, "/x"]);
        let found = leaks_now(&root.join("none"), &tag, true);
        podman(&["rm", "-f", &container]);
        podman(&["rmi", "-f", &image]);
        std::fs::remove_dir_all(&root).unwrap();
        assert!(made.status.success(), "{made:?}");
        assert_eq!(
            found,
            [
                format!("podman container: {container}"),
                format!("podman image: {image}:latest")
            ]
        );
    }
}
