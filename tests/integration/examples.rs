//! netns-core's examples (netns-core/examples/), run as their doc comments
//! tell a user to run them, as root and as root of a user namespace: what
//! they print, their exit status, and that they leave nothing behind.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Output, Sandbox, in_new_namespaces, ns_inode, output};

/// An example's binary, built beside the verbs (`cargo xtask test` builds
/// them with `cargo build --workspace --bins --examples`).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: build the examples first (cargo build -p netns-core --examples; \
         cargo xtask test does)",
        path.display()
    );
    path
}

/// Runs an example with the sandbox's run dir, and its scratch
/// namespaces' run dirs in the sandbox (TMPDIR), under timeout(1).
fn run(sb: &Sandbox, name: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.arg("60")
        .arg(example(name))
        .args(args)
        .env("NETNS_RUN_DIR", &sb.run)
        .env("TMPDIR", scratch_dir(sb));
    output(&mut cmd, "")
}

/// The sandbox's own directory, where the scratch namespaces go.
fn scratch_dir(sb: &Sandbox) -> &Path {
    sb.run.parent().expect("the sandbox's dir")
}

/// What is left in the sandbox but its run dir: a scratch namespace's run
/// dir, if one was not removed.
fn left(sb: &Sandbox) -> Vec<String> {
    let mut left: Vec<String> = std::fs::read_dir(scratch_dir(sb))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "run")
        .collect();
    left.sort();
    left
}

#[test]
fn add_and_remove_makes_a_name_and_removes_it() {
    let sb = Sandbox::new();
    let out = run(&sb, "add_and_remove", &["blue"]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], format!("made {}", sb.file("blue").display()));
    assert!(
        lines[1].starts_with("blue is net:[") && lines[1].ends_with(']'),
        "{out:?}"
    );
    assert_eq!(lines[2..], ["listed blue", "removed blue"], "{out:?}");
    assert_eq!(sb.entries(), Vec::<String>::new());
    assert_eq!(sb.mounted(), Vec::<String>::new());
}

#[test]
fn add_and_remove_refuses_a_name_that_is_taken() {
    let sb = Sandbox::with(&["blue"]);
    let out = run(&sb, "add_and_remove", &["blue"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("EEXIST"), "{out:?}");
    assert_eq!(sb.mounted(), ["blue"]);
}

#[test]
fn run_closure_runs_in_the_namespace_and_the_caller_stays() {
    let sb = Sandbox::new();
    let out = run(&sb, "run_closure", &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    let inode = |line: &str, prefix: &str| -> u64 {
        let rest = line
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{out:?}"));
        let digits = rest.trim_start_matches("net:[").trim_end_matches(']');
        digits.parse().unwrap_or_else(|_| panic!("{out:?}"))
    };
    let (inside, caller) = (
        inode(lines[0], "closure in "),
        inode(lines[1], "caller in "),
    );
    assert_eq!(inode(lines[2], "namespace is "), inside);
    assert_eq!(caller, ns_inode("/proc/self/ns/net"), "{out:?}");
    assert_ne!(inside, caller);
    assert_eq!(
        lines[3..],
        ["device lo", "panic: in the namespace"],
        "{out:?}"
    );
    assert!(out.stderr.contains("in the namespace"), "{out:?}");
    assert_eq!(left(&sb), Vec::<String>::new());
}

#[test]
fn veth_socket_talks_from_one_namespace_to_the_other() {
    let sb = Sandbox::new();
    let out = run(&sb, "veth_socket", &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout, "b got \"hello from a\" from 10.25.0.1\n",
        "{out:?}"
    );
    assert_eq!(left(&sb), Vec::<String>::new());
}

#[test]
fn run_command_gives_the_commands_output_and_status() {
    let sb = Sandbox::new();
    let script = "ls /sys/class/net; echo to stderr >&2; exit 4";
    let out = run(&sb, "run_command", &["sh", "-c", script]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "lo\nexit status: 4\n", "{out:?}");
    assert_eq!(out.stderr, "to stderr\n", "{out:?}");
    assert_eq!(left(&sb), Vec::<String>::new());
}

#[test]
fn throwaway_test_passes_and_fails_leaving_nothing() {
    let sb = Sandbox::new();
    let out = run(&sb, "throwaway_test", &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.ends_with("passed\n"), "{out:?}");
    let made = out.stdout.lines().next().unwrap().strip_prefix("made ");
    assert!(!Path::new(made.unwrap()).exists(), "{out:?}");
    let out = run(&sb, "throwaway_test", &["--fail"]);
    assert_eq!(out.code, 101, "{out:?}");
    assert!(out.stderr.contains("failing on purpose"), "{out:?}");
    let made = out.stdout.lines().next().unwrap().strip_prefix("made ");
    assert!(!Path::new(made.unwrap()).exists(), "{out:?}");
    assert_eq!(left(&sb), Vec::<String>::new());
    assert!(
        !crate::util::mountinfo().contains(scratch_dir(&sb).to_str().unwrap()),
        "a mount is left"
    );
}

/// throwaway_test in rootless mode, as nobody: its scratch namespace is a
/// name in the keeper's run dir while the test runs, and after it, passed
/// or panicked, the name, the keeper and its file are gone.
#[test]
fn throwaway_test_in_rootless_mode_leaves_nothing() {
    let nobody = crate::rootless::Nobody::new();
    let run_dir = nobody.xdg.join("netns");
    for (args, code) in [(&["--rootless"][..], 0), (&["--rootless", "--fail"], 101)] {
        let mut cmd = nobody.command(example("throwaway_test").to_str().unwrap());
        cmd.args(args);
        let out = output(&mut cmd, "");
        assert_eq!(out.code, code, "{out:?}");
        let made = out
            .stdout
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("made "));
        let made = Path::new(made.unwrap_or_else(|| panic!("{out:?}")));
        assert_eq!(made.parent(), Some(run_dir.as_path()), "{out:?}");
        assert!(nobody.keepers_end(), "a keeper is left: {out:?}");
        // The run dir stays, empty, as after the tools; its mounts were in
        // the keeper's mount namespace, gone with it.
        let kept = (vec!["netns".to_owned()], vec![]);
        assert_eq!(nobody.files(), kept, "{out:?}");
    }
}

/// Each example again as root of a user namespace that does not own the
/// current network namespace, with a tmpfs for the run dirs: none has a
/// thread that would have to come back.
#[test]
fn every_example_works_as_root_of_a_user_namespace() {
    let sb = Sandbox::new();
    let path = |name| example(name).display().to_string();
    let script = format!(
        "mount -t tmpfs examples /mnt
         export NETNS_RUN_DIR=/mnt/netns TMPDIR=/mnt
         {} blue | sed 's/net:.*/net/'
         {} | grep -c 'in net:'
         {}
         {} ls /sys/class/net
         {} | tail -1
         ls /mnt/netns",
        path("add_and_remove"),
        path("run_closure"),
        path("veth_socket"),
        path("run_command"),
        path("throwaway_test"),
    );
    let out = in_new_namespaces(&sb, &["-U", "-r", "-m"], &script);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "made /mnt/netns/blue\nblue is net\nlisted blue\nremoved blue\n2\n\
         b got \"hello from a\" from 10.25.0.1\nlo\nexit status: 0\npassed\n",
        "{out:?}"
    );
}

/// An ordinary user cannot make a scratch namespace, and is told so by
/// the kernel's refusal of the run dir's mount, with nothing left behind;
/// in `unshare -U -r -m` (root of a user namespace of their own) the same
/// test passes.
#[test]
fn throwaway_test_as_an_ordinary_user_fails_cleanly_and_passes_in_unshare() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let tmp = scratch_dir(&sb).join("nobody");
    std::fs::create_dir(&tmp).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o700)).unwrap();
    let nobody = Some(nix::unistd::Uid::from_raw(65534));
    nix::unistd::chown(&tmp, nobody, Some(nix::unistd::Gid::from_raw(65534))).unwrap();
    let as_nobody = |unshare: &[&str]| {
        let mut cmd = Command::new("timeout");
        cmd.args([
            "60",
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ])
        .args(unshare)
        .arg(example("throwaway_test"))
        .env("TMPDIR", &tmp);
        output(&mut cmd, "")
    };
    let out = as_nobody(&[]);
    assert_eq!(out.code, 101, "{out:?}");
    assert!(
        out.stderr.contains("action: \"bind-mount\"") && out.stderr.contains("EPERM"),
        "{out:?}"
    );
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "{out:?}");
    let out = as_nobody(&["unshare", "-U", "-r", "-m"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.ends_with("passed\n"), "{out:?}");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "{out:?}");
}
