//! The README's scratch image, built from `cargo xtask dist`'s target/dist
//! and run with podman: an add inside seen by the host's ip, an exec on
//! the host, a delete inside; and netns-attach on a running container.
//! Where no container can be started, the test says why on stderr, past
//! the test harness's capture, and the chroot test (image.rs) stands in.

use std::path::PathBuf;
use std::process::Command;

use crate::util::{Output, bin, output};

/// The options every run takes. A rootful podman raises the container's
/// rlimits, which needs CAP_SYS_RESOURCE (which this machine's root has
/// not): limits at or under the current ones need nothing. crun refuses
/// cgroup v1 hosts with a v2 hierarchy mounted too: runc takes them.
const RUN: [&str; 6] = [
    "--rm",
    "--privileged",
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
];

/// podman with the runtime options that work here, found by trying.
struct Podman {
    global: Vec<&'static str>,
    image: String,
    /// Containers and names to remove on drop.
    containers: Vec<String>,
    names: Vec<String>,
}

impl Podman {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("podman");
        cmd.args(&self.global).args(args);
        cmd
    }

    fn run(&self, extra: &[&str], args: &[&str]) -> Output {
        let mut cmd = self.cmd(&["run"]);
        cmd.args(RUN).args(extra).arg(&self.image).args(args);
        output(&mut cmd, "")
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        for container in &self.containers {
            let _ = self.cmd(&["rm", "-f", "-t", "0", container]).output();
        }
        let _ = self.cmd(&["rmi", "-f", &self.image]).output();
        for name in &self.names {
            let _ = Command::new("ip").args(["netns", "del", name]).output();
        }
    }
}

/// Says why the container test could not run, where the harness does not
/// capture it (a raw write to fd 2), so that it is not a silent pass.
fn loudly(why: &str) {
    let text = format!(
        "\n*** container test NOT RUN: {why}\n*** the chroot test (image.rs) stands in\n\n"
    );
    let _ = nix::unistd::write(std::io::stderr(), text.as_bytes());
}

/// The README's Dockerfile, as the README has it.
fn readme_dockerfile() -> String {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README.md");
    let start = readme.find("```dockerfile\n").expect("a dockerfile block") + 14;
    let end = start + readme[start..].find("```").expect("its end");
    readme[start..end].to_owned()
}

/// Builds the README's image from target/dist, with the first runtime
/// options under which a container runs; `Err` says why none did.
fn podman() -> Result<Podman, String> {
    let version = Command::new("podman").arg("--version").output();
    if !version.is_ok_and(|o| o.status.success()) {
        return Err("podman is not installed".to_owned());
    }
    let dist = std::env::var_os("NETNS_DIST")
        .map(PathBuf::from)
        .ok_or("NETNS_DIST is not set: run the tests with `cargo xtask test`")?;
    let pid = std::process::id();
    let context = std::env::temp_dir().join(format!("netns-image-{pid}"));
    let copied = std::fs::create_dir_all(context.join("target/dist")).and_then(|()| {
        std::fs::write(context.join("Dockerfile"), readme_dockerfile())?;
        for entry in std::fs::read_dir(&dist)? {
            let entry = entry?;
            let to = context.join("target/dist").join(entry.file_name());
            match std::fs::read_link(entry.path()) {
                Ok(target) => std::os::unix::fs::symlink(target, to)?,
                Err(_) => drop(std::fs::copy(entry.path(), to)?),
            }
        }
        Ok(())
    });
    let image = format!("localhost/netns-test-{pid}");
    let built = copied.map_err(|e| e.to_string()).and_then(|()| {
        let out = output(
            Command::new("podman")
                .args(["build", "-q", "-t", &image])
                .arg(&context),
            "",
        );
        match out.code {
            0 => Ok(()),
            _ => Err(format!("podman build failed: {}", out.stderr.trim())),
        }
    });
    let _ = std::fs::remove_dir_all(&context);
    built?;
    let mut reasons = Vec::new();
    for global in [
        vec![],
        vec!["--runtime", "runc", "--cgroup-manager", "cgroupfs"],
    ] {
        let mut cmd = Command::new("podman");
        cmd.args(&global).arg("run").args(RUN);
        let out = output(cmd.args(["--network", "host", &image, "--version"]), "");
        if out.code == 0 {
            return Ok(Podman {
                global,
                image,
                containers: Vec::new(),
                names: Vec::new(),
            });
        }
        reasons.push(format!("{global:?}: {}", out.stderr.trim()));
    }
    let _ = Command::new("podman").args(["rmi", "-f", &image]).output();
    Err(format!(
        "no container could be started: {}",
        reasons.join("; ")
    ))
}

#[test]
fn the_readme_image_runs_in_podman_and_shares_names_with_the_host() {
    // podman mounts its storage on the host while it works.
    let _table = crate::util::host_mount_table();
    let mut podman = match podman() {
        Ok(podman) => podman,
        Err(why) => return loudly(&why),
    };
    let name = format!("nt-{}-pod", std::process::id());
    podman.names.push(name.clone());
    let shared = ["--network", "host", "-v", "/run/netns:/run/netns:rshared"];
    let out = podman.run(&shared, &["add", &name]);
    assert_eq!(out.code, 0, "{out:?}");
    let listed = output(Command::new("ip").args(["netns", "list"]), "");
    assert!(listed.stdout.lines().any(|l| l == name), "{listed:?}");
    let out = output(Command::new(bin("exec")).args([&name, "ip", "link"]), "");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("lo:"), "{out:?}");
    let out = podman.run(&shared, &["del", &name]);
    assert_eq!(out.code, 0, "{out:?}");
    let listed = output(Command::new("ip").args(["netns", "list"]), "");
    assert!(!listed.stdout.lines().any(|l| l == name), "{listed:?}");

    // netns-attach on a running container, as the README shows it.
    let container = format!("nt-{}-ctr", std::process::id());
    podman.containers.push(container.clone());
    let mut cmd = podman.cmd(&["run", "-d", "--name", &container, "--network", "none"]);
    cmd.args(&RUN[1..]).arg(&podman.image).arg("watch");
    let out = output(&mut cmd, "");
    assert_eq!(out.code, 0, "{out:?}");
    let out = output(
        &mut podman.cmd(&["inspect", "-f", "{{.State.Pid}}", &container]),
        "",
    );
    let pid = out.stdout.trim().to_owned();
    assert!(pid.parse::<u32>().is_ok_and(|p| p > 0), "{out:?}");
    let attached = format!("nt-{}-att", std::process::id());
    podman.names.push(attached.clone());
    let out = output(Command::new(bin("attach")).args([&attached, &pid]), "");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        crate::util::ns_inode(format!("/run/netns/{attached}")),
        crate::util::ns_inode(format!("/proc/{pid}/ns/net"))
    );
    let out = output(Command::new(bin("del")).arg(&attached), "");
    assert_eq!(out.code, 0, "{out:?}");
}
