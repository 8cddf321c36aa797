//! A minimal image for real: a directory with nothing in it but the static
//! multicall from `cargo xtask dist` and its links, and the mount points
//! the kernel's filesystems go on, chroot'ed into. What a scratch
//! container image holds.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Sandbox, output};

/// Where `cargo xtask test` says `cargo xtask dist` put the multicall.
const DIST_ENV: &str = "NETNS_DIST";

fn dist() -> PathBuf {
    let dir = std::env::var_os(DIST_ENV).map(PathBuf::from);
    let bin = dir.as_deref().map(|d| d.join("netns"));
    match bin {
        Some(bin) if bin.exists() => bin,
        _ => panic!(
            "${DIST_ENV} names no directory with the static netns: run the tests with \
             `cargo xtask test`, which builds it first"
        ),
    }
}

/// `/netns`, `/netns-VERB` links, and empty /proc, /sys and /run.
fn image(root: &Path) {
    let bin = dist();
    for dir in ["proc", "sys", "run"] {
        std::fs::create_dir_all(root.join(dir)).expect("image dir");
    }
    std::fs::copy(&bin, root.join("netns")).expect("copy netns");
    for entry in std::fs::read_dir(bin.parent().expect("dist dir")).expect("dist dir") {
        let name = entry.expect("dist entry").file_name();
        if name.to_string_lossy().starts_with("netns-") {
            symlink("netns", root.join(&name)).expect("link");
        }
    }
}

/// Each verb run in the image, chroot'ed into, in a private mount
/// namespace. The image's root is made a mount point, as a container's
/// root is (exec, as ip's, makes / a slave mount, and a plain directory
/// cannot be one); /proc and a tmpfs /run are mounted in it. Every mount a
/// verb makes (the run dir, the namespaces) goes when the script ends.
const SCRIPT: &str = r#"
set -e
mount --bind . .
cd "$PWD"
mount -t proc proc proc
mount -t tmpfs run run
run() { chroot . "$@" 2>&1 && echo "exit 0" || echo "exit $?"; }
echo "== add"; run /netns add blue green
echo "== files"; ls run/netns
echo "== list"; run /netns list
echo "== link"; run /netns-list --json
echo "== exec"; run /netns exec blue /netns identify
echo "== exec all"; run /netns -all exec /netns-identify
echo "== exec in exec"; run /netns exec green /netns-exec green /netns list
echo "== pids"; run /netns pids blue
echo "== identify"; run /netns identify
echo "== inspect"; run /netns inspect blue green | sed 's/^net:\[[0-9]*\]/net:[N]/'
echo "== json"; run /netns add --json red; run /netns-del --json red
echo "== delete"; run /netns -all delete
echo "== after"; run /netns
ls run/netns
"#;

const EXPECTED: &str = r#"== add
exit 0
== files
blue
green
== list
blue
green
exit 0
== link
[{"name":"blue"},{"name":"green"}]
exit 0
== exec
blue
exit 0
== exec all

netns: blue
blue

netns: green
green
exit 0
== exec in exec
blue
green
exit 0
== pids
exit 0
== identify
exit 0
== inspect
net:[N] names=blue mounts=/run/netns/blue devices=lo
net:[N] names=green mounts=/run/netns/green devices=lo
exit 0
== json
[{"name":"red","path":"/run/netns/red"}]
exit 0
[{"name":"red","path":"/run/netns/red"}]
exit 0
== delete
exit 0
== after
exit 0
"#;

#[test]
fn the_static_multicall_alone_in_a_chroot_does_every_job() {
    let sb = Sandbox::new();
    let root = sb.run.with_file_name("image");
    image(&root);
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c", SCRIPT])
        .current_dir(&root);
    let out = output(&mut cmd, "");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, EXPECTED, "{out:?}");
}
