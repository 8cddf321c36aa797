//! netns-del: by name, from stdin, --all, and stale files.

use std::path::Path;
use std::process::Command;

use crate::util::{Sandbox, bin, json, output};

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
    crate::util::stale_file(&sb.file("stale"));
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

/// A symlink in the run dir (`ln -s /var/run/docker/netns/X c1`, a
/// common recipe) is removed as a symlink: what it leads to stays
/// mounted. list says what it is, rather than calling it stale.
#[test]
fn a_symlinked_name_is_removed_as_a_link_and_its_target_stays() {
    let sb = Sandbox::with(&["a"]);
    let other = Sandbox::with(&["x"]);
    std::os::unix::fs::symlink(other.file("x"), sb.file("c1")).unwrap();
    let out = sb.run("list", &[]);
    assert_eq!(out.stdout, "a\n", "{out:?}");
    assert!(out.stderr.contains("is a symlink"), "{out:?}");
    assert!(!out.stderr.contains("stale"), "{out:?}");
    let out = sb.run("del", &["--json", "c1"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(json(&out.stdout)[0]["symlink"], true, "{out:?}");
    assert_eq!(sb.entries(), ["a"]);
    assert_eq!(other.mounted(), ["x"], "the link's target is still a name");
}

/// What no add made is never removed: a file with data, a directory, a
/// symlink to something that is no namespace
/// (under --all), whether named or found by --all; a mistaken
/// `--run-dir /run --all` removes nothing of /run's.
#[test]
fn delete_leaves_what_is_no_name_by_name_and_with_all() {
    let sb = Sandbox::with(&["a"]);
    std::fs::write(sb.file("notes"), "data\n").unwrap();
    std::fs::create_dir(sb.file("dir")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", sb.file("link")).unwrap();
    for name in ["notes", "dir"] {
        let out = sb.run("del", &[name]);
        assert_eq!(out.code, 1, "{name}: {out:?}");
        assert!(out.stderr.contains("refusing to remove"), "{name}: {out:?}");
        assert!(out.stderr.contains("left as it is"), "{name}: {out:?}");
    }
    let out = sb.run("del", &["--all"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 3, "{out:?}");
    assert_eq!(sb.entries(), ["dir", "link", "notes"]);
    assert!(sb.mounted().is_empty(), "the name went");
    assert_eq!(std::fs::read_to_string(sb.file("notes")).unwrap(), "data\n");
    // By name, a symlink is what the user named: it goes, its target not.
    let out = sb.run("del", &["link"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(Path::new("/etc/hostname").exists());
    std::fs::remove_dir(sb.file("dir")).unwrap();
}

/// When the file cannot be removed and the namespace cannot be mounted
/// back either, both failures are told (the name is a stale file now).
#[test]
fn a_failed_put_back_is_told_with_both_errors() {
    let sb = Sandbox::with(&["x"]);
    let out = output(
        Command::new("strace")
            .args(["-f", "-qq", "-o", "/dev/null"])
            .args(["-e", "inject=unlink,unlinkat:error=EACCES"])
            .args(["-e", "inject=mount:error=ENOMEM"])
            .arg(bin("del"))
            .arg("x")
            .env("NETNS_RUN_DIR", &sb.run),
        "",
    );
    assert_eq!(out.code, 1, "{out:?}");
    let path = sb.file("x");
    assert_eq!(
        out.stderr,
        format!(
            "netns-del: cannot remove \"{}\": Permission denied; and cannot mount its namespace \
             back: Out of memory (the name is a stale file now, and its namespace \
             lives on only while something else holds it)\n",
            path.display()
        ),
        "no CAP_SYS_ADMIN hint for root"
    );
    assert!(sb.mounted().is_empty());
}

/// `netns-list | netns-del -` removes every name when names have nsids
/// too: a line's ` (id: N)` is list's, not the name's. A name that itself
/// ends so is printed quoted, and taken back whole.
#[test]
fn list_piped_into_del_removes_names_with_nsids() {
    let sb = Sandbox::with(&["a", "b", "x (id: 5)"]);
    let out = crate::util::in_new_netns(
        &sb,
        "netns-set a 3; netns-set 'x (id: 5)' 4; netns-list; \
         netns-list | netns-del -; echo ---; ls -A \"$NETNS_RUN_DIR\"",
    );
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "a (id: 3)\nb\n\"x (id: 5)\" (id: 4)\n---\n", ""),
        "{out:?}"
    );
}

/// A file of someone else's with a namespace bound onto it is no name an
/// add made: the delete puts the namespace back and leaves the file.
#[test]
fn a_namespace_bound_onto_a_file_with_data_is_left_with_it() {
    let sb = Sandbox::with(&["a"]);
    let data = sb.file("data1");
    std::fs::write(&data, "important\n").unwrap();
    let bound = Command::new("mount")
        .arg("--bind")
        .arg(sb.file("a"))
        .arg(&data)
        .status()
        .unwrap();
    assert!(bound.success());
    let out = sb.run("del", &["data1"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("a namespace mounted on a file that no add made"),
        "{out:?}"
    );
    assert_eq!(sb.mounted(), ["a", "data1"], "the namespace is back on it");
    nix::mount::umount2(&data, nix::mount::MntFlags::MNT_DETACH).unwrap();
    assert_eq!(std::fs::read_to_string(&data).unwrap(), "important\n");
}

/// A delete held between its unmount and its unlink (strace delays the
/// unmount's return) while another delete of the name and then an add of
/// it come: the second delete waits, then finds no name; the add's new
/// namespace is left alone.
#[test]
fn racing_deletes_and_an_add_of_one_name_leave_the_new_one() {
    let sb = Sandbox::with(&["x"]);
    let first = Command::new("timeout")
        .args(["20", "strace", "-f", "-qq", "-o", "/dev/null"])
        .args(["-e", "inject=umount2:delay_exit=800000:when=1"])
        .arg(bin("del"))
        .arg("x")
        .env("NETNS_RUN_DIR", &sb.run)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let second = sb.run("del", &["x"]);
    assert_eq!(second.code, 1, "{second:?}");
    assert!(
        second.stderr.ends_with(": No such file or directory\n"),
        "{second:?}"
    );
    assert!(!second.stderr.contains("stale"), "{second:?}");
    assert_eq!(sb.run("add", &["x"]).code, 0);
    let first = crate::util::Output::from(first.wait_with_output().unwrap());
    assert_eq!((first.code, first.stderr.as_str()), (0, ""), "{first:?}");
    assert_eq!(sb.mounted(), ["x"], "the new x is there");
}
