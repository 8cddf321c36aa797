//! netns-del: by name, from stdin, --all, and stale files.

use crate::util::{Sandbox, json, output};

#[test]
fn removes_the_mount_and_the_file_silently() {
    let sb = Sandbox::with(&["a", "b", "c"]);
    let out = sb.run("del", &["a", "c"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", ""),
        "{out:?}"
    );
    assert_eq!(sb.entries(), ["b"]);
    assert_eq!(sb.mounted(), ["b"]);
}

#[test]
fn a_missing_name_is_an_error_and_the_rest_go_on() {
    let sb = Sandbox::with(&["a"]);
    let out = sb.run("del", &["nope", "a"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "netns-del: cannot remove \"{}\": No such file or directory\n",
            sb.file("nope").display()
        )
    );
    assert!(sb.entries().is_empty());
}

#[test]
fn a_stale_file_is_removed_with_a_warning() {
    let sb = Sandbox::with(&["a"]);
    std::fs::write(sb.file("stale"), "").unwrap();
    let out = sb.run("del", &["--json", "stale"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.starts_with("netns-del: warning: "), "{out:?}");
    assert!(out.stderr.contains("stale"), "{out:?}");
    assert_eq!(json(&out.stdout)[0]["stale"], true);
    assert_eq!(sb.entries(), ["a"]);
}

#[test]
fn all_removes_everything_and_goes_on_past_a_failure() {
    let sb = Sandbox::with(&["a", "b", "c"]);
    std::fs::create_dir(sb.file("b-dir")).unwrap();
    let out = sb.run("del", &["--all"]);
    // ip stops at the first failure and exits 0; we report it and go on.
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("b-dir"), "{out:?}");
    assert_eq!(sb.entries(), ["b-dir"]);
    assert!(sb.mounted().is_empty());
    std::fs::remove_dir(sb.file("b-dir")).unwrap();
    let out = sb.run("del", &["--all"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (0, ""),
        "nothing left is fine"
    );
}

#[test]
fn all_on_a_missing_run_dir_is_nothing_to_do() {
    let sb = Sandbox::new();
    let out = sb.run("del", &["-a", "--json"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "[]\n"), "{out:?}");
}

#[test]
fn names_from_stdin_and_after_double_dash() {
    let sb = Sandbox::with(&["--", "-x", "a", "b"]);
    let out = sb.run_stdin("del", &["--", "-x", "-"], "a\n\nb\n");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(sb.entries().is_empty());
}

#[test]
fn usage_errors_exit_2() {
    let sb = Sandbox::new();
    for args in [&[][..], &["--all", "x"], &["--nope"]] {
        let out = sb.run("del", args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
    }
}

#[test]
fn a_name_mounted_twice_is_removed_whole() {
    let sb = Sandbox::with(&["x"]);
    let file = sb.file("x");
    let bind = output(
        std::process::Command::new("mount")
            .arg("--bind")
            .args([&file, &file]),
        "",
    );
    assert_eq!(bind.code, 0, "{bind:?}");
    assert_eq!(sb.mounted(), ["x", "x"], "two mounts stacked on one file");
    let out = sb.run("del", &["x"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert!(sb.entries().is_empty() && sb.mounted().is_empty());
}

/// Unmounts a path (and what is below it) on drop.
struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

#[test]
fn a_name_mounted_at_another_path_too_is_busy_and_left_whole() {
    let sb = Sandbox::with(&["x"]);
    let copy = sb.run.with_file_name("copy");
    std::fs::create_dir(&copy).unwrap();
    // The run dir bound elsewhere with its mounts, and cut off from its
    // peer group: x's file is then a mount point at two paths, and an
    // unmount at one does not reach the other (as a private bind of /run
    // into a container leaves it).
    for args in [&["--rbind"][..], &["--make-rprivate"]] {
        let mut mount = std::process::Command::new("mount");
        mount.args(args);
        if args[0] == "--rbind" {
            mount.arg(&sb.run);
        }
        let out = output(mount.arg(&copy), "");
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
    }
    let _unmount = Unmount(copy);
    let inode = crate::util::ns_inode(sb.file("x"));
    let out = sb.run("del", &["x"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.ends_with(": Device or resource busy\n"),
        "{out:?}"
    );
    assert_eq!(sb.mounted(), ["x"]);
    assert_eq!(
        crate::util::ns_inode(sb.file("x")),
        inode,
        "the same namespace"
    );
}
