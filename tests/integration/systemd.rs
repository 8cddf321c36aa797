//! The systemd unit `netns@.service`, as `cargo xtask install` installs
//! it: checked by `systemd-analyze verify`, then run by a real systemd,
//! booted in a container (`systemd-nspawn`, its own network namespace),
//! where it makes a name at start, puts a service in it, removes it at
//! stop, and fails plainly on a name that cannot be.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Output, fresh_dir, output};

/// A service placed in `blue` as the unit's comment says to.
const SERVICE: &str = "[Unit]
Requires=netns@blue.service
After=netns@blue.service
[Service]
NetworkNamespacePath=/run/netns/blue
ExecStart=/bin/sh -c 'readlink /proc/self/ns/net > /run/svc-ns; exec sleep infinity'
";

/// `cargo xtask install --prefix` into a dir of the test's own, and the
/// example service beside the unit. Removed on drop.
struct Installed {
    prefix: PathBuf,
    unit: PathBuf,
    service: PathBuf,
}

impl Installed {
    fn new() -> Self {
        // One install at a time: each writes the manual pages in target/.
        static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
        let prefix = fresh_dir("-prefix");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let cargo = std::env::var_os("CARGO").unwrap_or("cargo".into());
        let out = output(
            Command::new(cargo)
                .current_dir(root)
                .args(["xtask", "install", "--prefix"])
                .arg(&prefix),
            "",
        );
        assert_eq!(out.code, 0, "{out:?}");
        let unit = prefix.join("lib/systemd/system/netns@.service");
        let service = prefix.join("lib/systemd/system/svc.service");
        std::fs::write(&service, SERVICE).unwrap();
        Installed {
            prefix,
            unit,
            service,
        }
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.prefix);
    }
}

#[test]
fn the_installed_unit_names_the_installed_binaries_and_verifies() {
    let installed = Installed::new();
    let text = std::fs::read_to_string(&installed.unit).unwrap();
    let bin = std::path::absolute(installed.prefix.join("bin")).unwrap();
    assert!(
        text.contains(&format!("ExecStart={}/netns-add ", bin.display())),
        "{text}"
    );
    assert!(
        !text.contains("@BINDIR@") && !text.contains("target/"),
        "{text}"
    );
    let dir = installed.unit.parent().unwrap();
    let out = output(
        Command::new("systemd-analyze")
            .args(["verify", "--man=no", "netns@blue.service", "svc.service"])
            .current_dir(dir)
            .env("SYSTEMD_UNIT_PATH", format!("{}:", dir.display())),
        "",
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
}

/// A systemd booted in a container (its root a tmpfs, /usr the host's,
/// its own network namespace), with the unit and the service bound in.
/// On drop it is stopped, and killed if it will not stop.
struct Booted {
    nspawn: Child,
    init: u32,
}

impl Booted {
    fn new(installed: &Installed) -> Self {
        let etc = "/etc/systemd/system";
        let bind = |from: &Path, to: &str| format!("--bind-ro={}:{to}", from.display());
        let prefix = std::path::absolute(&installed.prefix).unwrap();
        let nspawn = Command::new("systemd-nspawn")
            .args(["-D", "/", "--volatile=yes", "--register=no", "--keep-unit"])
            .args(["--private-network", "--quiet"])
            .arg(format!("--machine=nt-{}", std::process::id()))
            .arg(format!("--bind-ro={}", prefix.display()))
            .arg(bind(&installed.unit, &format!("{etc}/netns@.service")))
            .arg(bind(&installed.service, &format!("{etc}/svc.service")))
            // Its own network has no uplink to wait for.
            .args(["-b", "systemd.firstboot=off"])
            .arg("systemd.mask=systemd-networkd-wait-online.service")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("systemd-nspawn (apt-get install systemd-container)");
        let pid = nspawn.id();
        let mut booted = Booted { nspawn, init: 0 };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if booted.init == 0 {
                booted.init = children(pid).first().copied().unwrap_or(0);
            } else {
                // Once the manager answers: a job started then waits for
                // what it is ordered after, and a loaded machine can keep
                // some unrelated unit "starting" for long.
                let state = booted.run(&["systemctl", "is-system-running"]).stdout;
                if matches!(state.trim(), "running" | "degraded" | "starting") {
                    return booted;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the container's systemd did not come up in 60 s");
    }

    /// A command inside, in all of its namespaces, bounded in time.
    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("timeout");
        cmd.args(["30", "nsenter", "-t", &self.init.to_string(), "-a"])
            .args(args);
        output(&mut cmd, "")
    }
}

impl Drop for Booted {
    fn drop(&mut self) {
        // SIGTERM asks nspawn to shut the container down in order.
        let pid = nix::unistd::Pid::from_raw(self.nspawn.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.nspawn.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.nspawn.kill();
        let _ = self.nspawn.wait();
    }
}

fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[test]
fn a_real_systemd_makes_the_name_puts_a_service_in_it_and_removes_it() {
    let installed = Installed::new();
    let booted = Booted::new(&installed);
    let ok = |args: &[&str]| {
        let out = booted.run(args);
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
        out.stdout
    };
    ok(&["systemctl", "start", "netns@blue.service"]);
    assert_eq!(ok(&["ip", "netns", "list"]), "blue\n");
    let lo = ok(&["ip", "-n", "blue", "-br", "link", "show", "lo"]);
    assert!(lo.contains("UP"), "lo is up: {lo}");
    ok(&["systemctl", "start", "svc.service"]);
    let inode = ok(&["stat", "-L", "-c", "%i", "/run/netns/blue"]);
    let start = Instant::now();
    let mut seen = String::new();
    while start.elapsed() < Duration::from_secs(10) && seen.is_empty() {
        seen = booted.run(&["cat", "/run/svc-ns"]).stdout;
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        seen,
        format!("net:[{}]\n", inode.trim()),
        "the service is in blue"
    );
    ok(&["systemctl", "stop", "svc.service", "netns@blue.service"]);
    assert_eq!(ok(&["ip", "netns", "list"]), "");
    // A namespace made by hand first is taken as it is.
    ok(&["ip", "netns", "add", "red"]);
    ok(&["systemctl", "start", "netns@red.service"]);
    ok(&["systemctl", "stop", "netns@red.service"]);
    assert_eq!(ok(&["ip", "netns", "list"]), "");
    // From an attack: an instance that looks like an option is a name;
    // a name removed by hand before the stop is no failure.
    ok(&["systemctl", "start", "netns@\\x2d\\x2dhelp.service"]);
    assert_eq!(ok(&["ip", "netns", "list"]), "--help\n");
    ok(&["systemctl", "stop", "netns@\\x2d\\x2dhelp.service"]);
    ok(&["systemctl", "start", "netns@green.service"]);
    ok(&["ip", "netns", "del", "green"]);
    ok(&["systemctl", "stop", "netns@green.service"]);
    let state = booted.run(&["systemctl", "is-failed", "netns@green.service"]);
    assert_ne!(state.stdout, "failed\n", "{state:?}");
    assert_eq!(ok(&["ip", "netns", "list"]), "");
    // A name that cannot be: the unit fails, our message in the journal.
    let bad = "netns@a\\x2fb.service";
    let out = booted.run(&["systemctl", "start", bad]);
    assert_ne!(out.code, 0, "{out:?}");
    assert_eq!(
        booted.run(&["systemctl", "is-failed", bad]).stdout,
        "failed\n"
    );
    let journal = ok(&["journalctl", "--no-pager", "-o", "cat", "-u", bad]);
    assert!(
        journal.contains("netns-add: invalid name \"a/b\""),
        "{journal}"
    );
}
