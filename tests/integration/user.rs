//! `netns-exec --user`: the command runs as the user, as `runuser -u USER
//! [-g GROUP]` runs it, with nothing of root's left: no capability, no id
//! that the kernel reads as "unchanged"; with the user's HOME, USER and
//! LOGNAME, and the namespace's own /etc/netns/NAME/passwd.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::util::{EtcNetns, Sandbox, bin, in_new_namespaces, output};

/// The user's uid, gid and groups, and no capability: the command cannot
/// enter another namespace. An unknown user is refused before anything
/// is entered.
#[test]
fn the_command_has_the_users_ids_and_no_capability() {
    let sb = Sandbox::with(&["x"]);
    let ids = "id -u; id -g; id -G; grep CapEff /proc/self/status";
    for user in ["nobody", "65534:65534", "nobody:nogroup"] {
        let out = sb.run("exec", &["--user", user, "x", "sh", "-c", ids]);
        assert_eq!(out.code, 0, "{user}: {out:?}");
        assert_eq!(
            out.stdout, "65534\n65534\n65534\nCapEff:\t0000000000000000\n",
            "{user}"
        );
    }
    // No way back out: setns needs the capabilities it no longer has.
    let exec = bin("exec");
    let inner = format!("{} x true", exec.display());
    let out = sb.run("exec", &["--user", "nobody", "x", "sh", "-c", &inner]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("Operation not permitted"), "{out:?}");
    let out = sb.run("exec", &["--user", "no-such-user", "x", "echo", "ran"]);
    assert_eq!((out.code, out.stdout.as_str()), (1, ""), "{out:?}");
    assert_eq!(
        out.stderr,
        "netns-exec: no user \"no-such-user\" in \"/etc/passwd\"\n"
    );
    let out = sb.run("exec", &["--user", "4242", "x", "true"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("give its group too (4242:GID)"),
        "{out:?}"
    );
    let out = sb.run("exec", &["--user", "nobody", "x", "sh", "-c", "exit 7"]);
    assert_eq!(out.code, 7, "{out:?}");
    let out = sb.run(
        "exec",
        &["--user", "nobody", "x", "sh", "-c", "kill -TERM $$"],
    );
    assert_eq!(out.code, 128 + 15, "{out:?}");
    let out = sb.run("exec", &["--all", "--user", "nobody", "id", "-u"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "\nnetns: x\n65534\n"));
    let out = sb.run("exec", &["--rootless", "--user", "nobody", "x", "true"]);
    assert_eq!(out.code, 2, "{out:?}");
}

/// `setresuid(-1, -1, -1)` means "leave them as they are": a uid or gid
/// of 4294967295 would leave the command root. Refused, as runuser
/// refuses it, before anything runs.
#[test]
fn an_id_of_minus_one_is_refused() {
    let sb = Sandbox::with(&["x"]);
    for user in [
        "4294967295:0",
        "4294967295:65534",
        "65534:4294967295",
        "nobody:4294967295",
    ] {
        for args in [&["--user", user, "x"][..], &["--all", "--user", user]] {
            let out = sb.run("exec", &[args, &["id"]].concat());
            assert_eq!(
                (out.code, out.stdout.as_str()),
                (1, ""),
                "{args:?}: {out:?}"
            );
            assert!(
                out.stderr.contains("4294967295: the kernel reads it as"),
                "{args:?}: {out:?}"
            );
        }
    }
}

/// Capabilities that the kernel's setuid fixup leaves (inheritable ones;
/// ambient and the rest with SECBIT_NO_SETUID_FIXUP) are cleared, and the
/// securebits reset; securebits that are locked cannot be, and the
/// command does not run.
#[test]
fn ambient_capabilities_and_securebits_do_not_survive() {
    let sb = Sandbox::with(&["x"]);
    let caps = "grep -E '^Cap(Inh|Prm|Eff|Amb)' /proc/self/status; \
                nsenter --net=/proc/1/ns/net true 2>/dev/null || echo 'cannot leave'";
    let setpriv = |bits: &str, args: &[&str]| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--inh-caps", "+sys_admin,+net_admin"])
            .args(["--ambient-caps", "+sys_admin,+net_admin"]);
        if !bits.is_empty() {
            cmd.args(["--securebits", bits]);
        }
        cmd.arg(bin("exec"))
            .args(args)
            .env("NETNS_RUN_DIR", &sb.run);
        output(&mut cmd, "")
    };
    let zero = "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\n\
                CapEff:\t0000000000000000\nCapAmb:\t0000000000000000\ncannot leave\n";
    for bits in ["", "+no_setuid_fixup"] {
        let out = setpriv(bits, &["--user", "nobody", "x", "sh", "-c", caps]);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (0, zero),
            "{bits}: {out:?}"
        );
    }
    let out = setpriv(
        "+no_setuid_fixup",
        &["--all", "--user", "nobody", "sh", "-c", caps],
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, format!("\nnetns: x\n{zero}").as_str()),
        "{out:?}"
    );
    let locked = "+no_setuid_fixup,+no_setuid_fixup_locked";
    let out = setpriv(locked, &["--user", "nobody", "x", "echo", "ran"]);
    assert_eq!((out.code, out.stdout.as_str()), (1, ""), "{out:?}");
    assert!(out.stderr.contains("securebits"), "{out:?}");
}

/// USER:GROUP gives GROUP alone, as `runuser -u USER -g GROUP` does;
/// USER alone gives the groups that list USER too. HOME, USER and LOGNAME
/// are set as runuser sets them (SHELL and the rest stay). Compared with
/// runuser itself, with nobody listed in a group of a private /etc/group.
#[test]
fn ids_and_environment_are_those_runuser_gives() {
    let sb = Sandbox::with(&["x"]);
    let dir = sb.file("..");
    let group = dir.join("group");
    let mut text = std::fs::read_to_string("/etc/group").unwrap();
    text.push_str("nt-extra:x:4242:nobody\n");
    std::fs::write(&group, text).unwrap();
    let script = format!(
        "mount --bind {group} /etc/group; cd {dir}\n\
         for spec in nobody nobody:nogroup nobody:nt-extra root root:nogroup; do\n\
           user=${{spec%%:*}}; group=${{spec#*:}}; g=\n\
           [ \"$group\" = \"$spec\" ] || g=\"-g $group\"\n\
           show='id -u; id -g; id -G; env | sort'\n\
           runuser -u $user $g -- sh -c \"$show\" > runuser.out\n\
           netns-exec --user $spec x sh -c \"$show\" > netns.out\n\
           diff -u runuser.out netns.out && echo \"$spec: same\"\n\
           grep -c '^LOGNAME=nobody$' netns.out || true\n\
         done",
        group = group.display(),
        dir = dir.display(),
    );
    let out = in_new_namespaces(&sb, &["--mount"], &script);
    assert_eq!(
        out.stdout,
        "nobody: same\n1\nnobody:nogroup: same\n1\nnobody:nt-extra: same\n1\n\
         root: same\n0\nroot:nogroup: same\n0\n",
        "{out:?}"
    );
}

/// A command that is not there is 127, also where the PATH holds a
/// directory the user cannot search (root's own, as /root/.cargo/bin),
/// which makes execvp(3) say "Permission denied"; a file found that the
/// user cannot run is 126.
#[test]
fn a_missing_command_is_127_under_roots_path_too() {
    let sb = Sandbox::with(&["x"]);
    let dir = sb.file("..");
    let locked = dir.join("locked");
    let open = dir.join("open");
    for (path, mode) in [(&locked, 0o700), (&open, 0o755)] {
        std::fs::create_dir(path).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    std::fs::write(open.join("not-runnable"), "data\n").unwrap();
    let path = format!(
        "{}:{}:/usr/sbin:/usr/bin:/sbin:/bin",
        locked.display(),
        open.display()
    );
    let run = |args: &[&str]| {
        let mut cmd = sb.cmd("exec");
        cmd.args(args).env("PATH", &path);
        output(&mut cmd, "")
    };
    for all in [false, true] {
        let at: &[&str] = if all { &["--all"] } else { &["x"] };
        let out = run(&[&["--user", "nobody"][..], at, &["no-such-command-here"]].concat());
        let said = "cannot run \"no-such-command-here\": No such file or directory\n";
        assert_eq!(out.code, if all { 1 } else { 127 }, "{out:?}");
        assert!(out.stderr.ends_with(said), "{out:?}");
        let out = run(&[&["--user", "nobody"][..], at, &["not-runnable"]].concat());
        assert_eq!(out.code, if all { 1 } else { 126 }, "{out:?}");
        assert!(out.stderr.ends_with(": Permission denied\n"), "{out:?}");
        let out = run(&[&["--user", "nobody"][..], at, &["true"]].concat());
        assert_eq!(out.code, 0, "{out:?}");
    }
}

/// The user is looked up in /etc/netns/NAME/passwd and group when the
/// namespace has them (`ip netns exec NAME runuser` sees those, bound over
/// /etc's); a user name of digits is a name first, as runuser takes it.
#[test]
fn the_user_is_looked_up_in_the_namespaces_own_passwd() {
    let name = format!("nt-{}-users", std::process::id());
    let _etc = EtcNetns::new(
        &name,
        &[
            (
                "passwd",
                "nt-u:x:4343:4343:nt user:/nt-home:/bin/sh\n\
                 other:x:4444:4444::/h4444:/bin/sh\n\
                 4444:x:4545:4545::/h4545:/bin/sh\n",
            ),
            ("group", "nt-g:x:4343:\nnt-more:x:4646:nt-u\n"),
        ],
    );
    let sb = Sandbox::with(&[&name, "plain"]);
    let show = "id -u; id -g; id -G; echo $HOME $USER $LOGNAME";
    let out = sb.run("exec", &["--user", "nt-u", &name, "sh", "-c", show]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "4343\n4343\n4343 4646\n/nt-home nt-u nt-u\n"),
        "{out:?}"
    );
    let out = sb.run("exec", &["--user", "4444", &name, "sh", "-c", show]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "4545\n4545\n4545\n/h4545 4444 4444\n"),
        "{out:?}"
    );
    let out = sb.run("exec", &["--all", "--user", "nt-u", "id", "-u"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (1, format!("\nnetns: {name}\n4343\n").as_str()),
        "{out:?}"
    );
    assert_eq!(
        out.stderr,
        "netns-exec: in plain: no user \"nt-u\" in \"/etc/passwd\"\n"
    );
}
