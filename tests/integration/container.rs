//! The README's scratch image, built from `cargo xtask dist`'s target/dist
//! and run with podman: an add inside seen by the host's ip, an exec on
//! the host, a delete inside; and netns-attach on a running container.
//! An image that does not build or whose netns does not run fails the
//! test, as does a podman that cannot start a container: CI installs
//! podman. Where podman is not installed at all, the tests are built
//! ignored (tests/build.rs), and the test summary counts them so.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::util::{Output, bin, fresh_dir, output, tag, try_output};

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

/// The runtime options to try, in turn.
const GLOBALS: [&[&str]; 2] = [&[], &["--runtime", "runc", "--cgroup-manager", "cgroupfs"]];

/// An image built with podman, and the runtime options that run it; on
/// drop its containers, the image and the names made go.
struct Podman {
    global: &'static [&'static str],
    image: String,
    /// Containers and names to remove on drop.
    containers: Vec<String>,
    names: Vec<String>,
}

impl Podman {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("podman");
        cmd.args(self.global).args(args);
        cmd
    }

    fn run(&self, extra: &[&str], args: &[&str]) -> Output {
        let mut cmd = self.cmd(&["run"]);
        cmd.args(RUN).args(extra).arg(&self.image).args(args);
        output(&mut cmd, "")
    }

    /// Builds `dockerfile` with target/dist as its context, tagged
    /// `image`, and finds the first runtime options under which its
    /// `netns --version` runs. `Err` says why it did not build or run.
    fn build(dockerfile: &str, image: &str) -> Result<Podman, String> {
        let dist = std::env::var_os("NETNS_DIST")
            .map(PathBuf::from)
            .ok_or("NETNS_DIST is not set: run the tests with `cargo xtask test`")?;
        // Under the tests' root, which `cargo xtask test` checks is empty
        // afterwards.
        let context = fresh_dir("-image");
        let copied = std::fs::create_dir_all(context.join("target/dist")).and_then(|()| {
            std::fs::write(context.join("Dockerfile"), dockerfile)?;
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
        let mut podman = Podman {
            global: GLOBALS[0],
            image: image.to_owned(),
            containers: Vec::new(),
            names: Vec::new(),
        };
        let built = copied.map_err(|e| e.to_string()).and_then(|()| {
            let out = output(
                Command::new("podman")
                    .args(["build", "-q", "-t", image])
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
        for global in GLOBALS {
            podman.global = global;
            let out = podman.run(&["--network", "host"], &["--version"]);
            if out.code == 0 && out.stdout.starts_with("netns ") {
                return Ok(podman);
            }
            reasons.push(format!(
                "{global:?}: exit {}: {}",
                out.code,
                out.stderr.trim()
            ));
        }
        Err(format!(
            "`netns --version` did not run in the image: {}",
            reasons.join("; ")
        ))
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let limit = Duration::from_secs(60);
        for container in &self.containers {
            let _ = try_output(
                &mut self.cmd(&["rm", "-f", "-t", "0", container]),
                "",
                limit,
            );
        }
        let _ = try_output(&mut self.cmd(&["rmi", "-f", &self.image]), "", limit);
        for name in &self.names {
            let mut del = Command::new("ip");
            let _ = try_output(del.args(["netns", "del", name]), "", limit);
        }
    }
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

#[test]
#[cfg_attr(
    no_podman,
    ignore = "podman is not installed (CI installs it; with NETNS_TEST_STRICT=1 this fails)"
)]
fn the_readme_image_runs_in_podman_and_shares_names_with_the_host() {
    // podman mounts its storage on the host while it works.
    let _table = crate::util::host_mount_table();
    let run = tag();
    let mut podman = Podman::build(&readme_dockerfile(), &format!("localhost/netns-test-{run}"))
        .unwrap_or_else(|why| panic!("the README's image: {why}"));
    let name = format!("nt-{run}-pod");
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
    let container = format!("nt-{run}-ctr");
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
    let attached = format!("nt-{run}-att");
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

/// What the test above does with an image that is broken: it fails. An
/// image in which netns does not run (its entry point names no file), and
/// one that podman cannot build (its COPY names no directory).
#[test]
#[cfg_attr(
    no_podman,
    ignore = "podman is not installed (CI installs it; with NETNS_TEST_STRICT=1 this fails)"
)]
fn a_broken_image_fails_the_container_test() {
    let _table = crate::util::host_mount_table();
    let image = format!("localhost/netns-test-{}-broken", tag());
    let runs_nothing = "FROM scratch\nCOPY target/dist/ /bin/\nENTRYPOINT [\"/bin/no-netns\"]\n";
    let builds_nothing =
        "FROM scratch\nCOPY target/no-such-dir/ /bin/\nENTRYPOINT [\"/bin/netns\"]\n";
    match Podman::build(runs_nothing, &image) {
        Ok(_) => panic!("an image whose entry point is missing passed"),
        Err(why) => assert!(why.contains("did not run in the image"), "{why}"),
    }
    match Podman::build(builds_nothing, &image) {
        Ok(_) => panic!("an image that does not build passed"),
        Err(why) => assert!(why.contains("podman build failed"), "{why}"),
    }
}
