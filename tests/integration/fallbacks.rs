//! The older ways the tools take where a newer system call is missing (a
//! kernel older than it: ENOSYS) or refused (a seccomp filter older than
//! it: EPERM), forced by `netns-test-deny`, each checked to give what the
//! newer way gives. The kernels themselves are booted by `cargo xtask vm`.

use std::process::Command;

use crate::util::{Output, Sandbox, bin, host_mounts, output};

/// `PROGRAM` with the system calls of `spec` (`CALL=ERRNO,...`) failing.
pub fn denied(spec: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_netns-test-deny"));
    cmd.arg(spec).arg(program);
    cmd
}

/// Every way exec can find and carry over the mounts below /sys: the
/// newest (listmount, open_tree) first.
const EXEC_WAYS: [&str; 7] = [
    "",
    "statmount=EPERM,listmount=EPERM",
    "statmount=ENOSYS,listmount=ENOSYS,statx=ENOSYS",
    "open_tree=EPERM",
    "open_tree=ENOSYS",
    "move_mount=EPERM",
    "statx=EPERM,statmount=EPERM,listmount=EPERM,open_tree=EPERM,move_mount=EPERM",
];

fn exec_in(sb: &Sandbox, spec: &str, args: &[&str]) -> Output {
    let mut cmd = match spec {
        "" => Command::new(bin("exec")),
        spec => denied(spec, bin("exec")),
    };
    cmd.args(args).env("NETNS_RUN_DIR", &sb.run);
    output(&mut cmd, "")
}

/// The distinct mount points below /sys in a mountinfo text.
fn below_sys(mountinfo: &str) -> Vec<String> {
    let mut points: Vec<String> = mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| p.starts_with("/sys/"))
        .map(String::from)
        .collect();
    points.sort();
    points.dedup();
    points
}

#[test]
fn exec_keeps_the_mounts_below_sys_whichever_calls_it_may_make() {
    let _table = crate::util::host_mount_table();
    let sb = Sandbox::with(&["a"]);
    let host = crate::util::mountinfo();
    let host_mounts = host_mounts();
    assert!(
        !below_sys(&host).is_empty(),
        "this machine has mounts below /sys"
    );
    // The filter stays on the command too: no tool that calls statx.
    let script = "cat /proc/self/mountinfo; echo --; echo /sys/class/net/*";
    for spec in EXEC_WAYS {
        let out = exec_in(&sb, spec, &["a", "sh", "-c", script]);
        assert_eq!(out.code, 0, "{spec}: {out:?}");
        let (mountinfo, net) = out.stdout.split_once("--\n").unwrap();
        assert_eq!(below_sys(mountinfo), below_sys(&host), "{spec}");
        assert_eq!(net, "/sys/class/net/lo\n", "{spec}: the namespace's sysfs");
        let top = mountinfo
            .lines()
            .rfind(|l| l.split(' ').nth(4) == Some("/sys"))
            .unwrap();
        assert!(top.contains(" - sysfs a rw"), "{spec}: {top}");
    }
    let out = output(
        denied(EXEC_WAYS[6], bin("exec"))
            .args(["--all", "sh", "-c", "echo /sys/class/net/*"])
            .env("NETNS_RUN_DIR", &sb.run),
        "",
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "\nnetns: a\n/sys/class/net/lo\n"),
        "{out:?}"
    );
    assert_eq!(
        host_mounts,
        crate::util::host_mounts(),
        "nothing reached the host"
    );
}

/// ip mounts the new sysfs read-only only when it could not unmount /sys
/// and /sys is read-only: a container's read-only /sys that root may
/// unmount gives a writable one, as ip's does; one that cannot be
/// unmounted (umount2 refused here, as a locked mount refuses it) gives a
/// read-only one, and a writable /sys that cannot be unmounted a writable
/// one.
#[test]
fn the_new_sys_is_read_only_only_where_the_old_one_is_and_stays() {
    let sb = Sandbox::with(&["a"]);
    let exec = bin("exec");
    let deny = env!("CARGO_BIN_EXE_netns-test-deny");
    let sys = "grep ' /sys ' /proc/self/mountinfo | tail -1 | cut -d' ' -f6";
    let script = format!(
        "mount -o remount,bind,ro /sys
         grep -c ' /sys ro,' /proc/self/mountinfo
         {exec} a sh -c \"{sys}\"
         {deny} open_tree=EPERM {exec} a sh -c \"{sys}\"
         {deny} umount2=EPERM {exec} a sh -c \"{sys}\"
         mount -o remount,bind,rw /sys
         {deny} umount2=EPERM {exec} a sh -c \"{sys}\"",
        exec = exec.display()
    );
    let out = output(
        Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-ec", &script])
            .env("NETNS_RUN_DIR", &sb.run),
        "",
    );
    assert_eq!(out.code, 0, "{out:?}");
    // The open_tree way keeps the old /sys below the new: a read-only
    // sysfs cannot be covered by a writable one, so it is read-only too.
    assert_eq!(
        out.stdout, "1\nrw,relatime\nro,relatime\nro,relatime\nrw,relatime\n",
        "{out:?}"
    );
}

/// The run dir's set-up asks statx and statmount, else mountinfo: the same
/// shared mount point either way.
#[test]
fn the_run_dir_is_set_up_the_same_whichever_calls_it_may_make() {
    for spec in ["statx=EPERM", "statmount=EPERM", "statmount=ENOSYS"] {
        let sb = Sandbox::new();
        let out = output(
            denied(spec, bin("add"))
                .args(["a", "b"])
                .env("NETNS_RUN_DIR", &sb.run),
            "",
        );
        assert_eq!(out.code, 0, "{spec}: {out:?}");
        assert_eq!(sb.mounted(), ["a", "b"], "{spec}");
        assert_eq!(sb.run_dir_mounts(), 1, "{spec}");
        let out = output(
            denied(spec, bin("add"))
                .arg("c")
                .env("NETNS_RUN_DIR", &sb.run),
            "",
        );
        assert_eq!(out.code, 0, "{spec}: {out:?}");
        assert_eq!(sb.run_dir_mounts(), 1, "{spec}: set up once");
        assert_eq!(sb.run("del", &["--all"]).code, 0);
    }
}

/// A file bound over a file below /sys (as LXCFS or a runtime's masking
/// make) is carried over by every way too.
#[test]
fn a_file_bound_below_sys_is_carried_over_by_every_way() {
    let sb = Sandbox::with(&["a"]);
    let script = format!(
        "mount --bind /dev/null /sys/kernel/mm/transparent_hugepage/enabled
         for spec in {ways}; do
             {deny} $spec {exec} a grep -c ' /sys/kernel/mm/transparent_hugepage/enabled ' \
                 /proc/self/mountinfo || echo failed $spec
         done",
        ways = "statx=EPERM open_tree=EPERM move_mount=ENOSYS",
        deny = env!("CARGO_BIN_EXE_netns-test-deny"),
        exec = bin("exec").display(),
    );
    let out = output(
        Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .env("NETNS_RUN_DIR", &sb.run),
        "",
    );
    // The older way keeps the old /sys below the new one: two lines.
    assert_eq!((out.code, out.stdout.as_str()), (0, "1\n2\n2\n"), "{out:?}");
}
