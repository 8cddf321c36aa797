//! netns-exec: inside the namespace, the mounts it makes (and keeps to
//! itself), /etc/netns, exit statuses, and --all.

use std::process::{Command, Stdio};

use crate::util::{EtcNetns, Output, Procs, Sandbox, bin, finish, host_mounts, json, output};

#[test]
fn inside_only_the_namespace_devices_show() {
    let sb = Sandbox::with(&["a"]);
    let out = sb.run("exec", &["a", "ip", "-j", "link"]);
    assert_eq!(out.code, 0, "{out:?}");
    let links = json(&out.stdout);
    assert_eq!(links.as_array().map(Vec::len), Some(1), "{links}");
    assert_eq!(links[0]["ifname"], "lo");
    let out = sb.run("exec", &["a", "ls", "/sys/class/net"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "lo\n"), "{out:?}");
}

#[test]
fn the_mounts_below_sys_are_kept_and_none_reach_the_host() {
    let _table = crate::util::host_mount_table();
    let sb = Sandbox::with(&["a"]);
    let host_before = crate::util::mountinfo();
    let host_mounts = host_mounts();
    let below_sys = |mountinfo: &str| -> Vec<String> {
        let mut points: Vec<String> = mountinfo
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|p| p.starts_with("/sys/"))
            .map(String::from)
            .collect();
        points.sort();
        points
    };
    let out = sb.run("exec", &["a", "cat", "/proc/self/mountinfo"]);
    assert_eq!(out.code, 0, "{out:?}");
    // ip netns exec drops every one of these; we keep them all.
    assert_eq!(below_sys(&out.stdout), below_sys(&host_before));
    let sys_lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.split(' ').nth(4) == Some("/sys"))
        .collect();
    assert_eq!(sys_lines.len(), 1, "one sysfs on /sys: {sys_lines:?}");
    assert!(
        sys_lines[0].contains(" - sysfs a "),
        "ip's source, the name: {sys_lines:?}"
    );
    assert_eq!(
        host_mounts,
        crate::util::host_mounts(),
        "nothing it mounted shows on the host"
    );
}

#[test]
fn a_veth_pair_between_two_namespaces_carries_a_ping() {
    let sb = Sandbox::with(&["left", "right"]);
    // ip 6.1 names a target namespace by /run/netns name or by pid: hold
    // one open with a process inside, once it is inside (it says so).
    let mut procs = Procs::default();
    let pid = procs.sleepers(sb.cmd("exec"), "right", 0)[0].to_string();
    let steps: [&[&str]; 9] = [
        &[
            "left", "ip", "link", "add", "vl", "type", "veth", "peer", "name", "vr",
        ],
        &["left", "ip", "link", "set", "vr", "netns", &pid],
        &["left", "ip", "addr", "add", "10.200.0.1/24", "dev", "vl"],
        &["left", "ip", "link", "set", "vl", "up"],
        &["right", "ip", "addr", "add", "10.200.0.2/24", "dev", "vr"],
        &["right", "ip", "link", "set", "vr", "up"],
        &["left", "ip", "link", "set", "lo", "up"],
        &["right", "ip", "link", "set", "lo", "up"],
        &["left", "ping", "-c", "1", "-W", "5", "10.200.0.2"],
    ];
    let outs: Vec<Output> = steps.iter().map(|args| sb.run("exec", args)).collect();
    drop(procs);
    for (args, out) in steps.iter().zip(&outs) {
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
    }
    assert!(outs[8].stdout.contains("1 received"), "{:?}", outs[8]);
}

#[test]
fn etc_netns_files_lie_over_etc_inside_only() {
    let name = format!("nt-{}-etc", crate::util::tag());
    let resolv = "nameserver 192.0.2.53\n# netns-exec test\n";
    let _etc = EtcNetns::new(&name, &[("resolv.conf", resolv)]);
    let sb = Sandbox::with(&[&name]);
    let host = std::fs::read("/etc/resolv.conf").expect("the host has /etc/resolv.conf");
    let out = sb.run("exec", &[&name, "cat", "/etc/resolv.conf"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, resolv), "{out:?}");
    assert_eq!(
        std::fs::read("/etc/resolv.conf").unwrap(),
        host,
        "outside, untouched"
    );
}

#[test]
fn an_etc_netns_file_with_nothing_to_cover_fails_before_the_command() {
    let name = format!("nt-{}-etc-missing", crate::util::tag());
    let _etc = EtcNetns::new(&name, &[("no-such-file.conf", "x\n")]);
    let sb = Sandbox::with(&[&name]);
    let out = sb.run("exec", &[&name, "echo", "ran"]);
    assert_eq!((out.code, out.stdout.as_str()), (1, ""), "{out:?}");
    assert!(out.stderr.contains("\"/etc/no-such-file.conf\""), "{out:?}");
    assert!(out.stderr.contains("No such file or directory"), "{out:?}");
}

#[test]
fn the_command_is_this_process_and_its_status_is_its_own() {
    let sb = Sandbox::with(&["a"]);
    let child = sb
        .cmd("exec")
        .args(["a", "sh", "-c", "echo $$"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = finish(child);
    assert_eq!(out.stdout, format!("{pid}\n"), "no fork");
    assert_eq!(sb.run("exec", &["a", "sh", "-c", "exit 7"]).code, 7);
    assert_eq!(
        sb.run("exec", &["a", "sh", "-c", "kill -TERM $$"]).code,
        128 + 15
    );
}

#[test]
fn not_found_is_127_and_not_executable_is_126() {
    let sb = Sandbox::with(&["a"]);
    let out = sb.run("exec", &["a", "no-such-command-here"]);
    assert_eq!(out.code, 127, "{out:?}");
    assert_eq!(
        out.stderr,
        "netns-exec: cannot run \"no-such-command-here\": No such file or directory\n"
    );
    let plain = sb.file("../plain-file");
    std::fs::write(&plain, "data\n").unwrap();
    let out = sb.run("exec", &["a", plain.to_str().unwrap()]);
    assert_eq!(out.code, 126, "{out:?}");
    assert!(out.stderr.ends_with(": Permission denied\n"), "{out:?}");
}

#[test]
fn options_after_the_name_belong_to_the_command() {
    let sb = Sandbox::with(&["a"]);
    let out = sb.run("exec", &["a", "echo", "--json", "-h", "--"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "--json -h --\n"),
        "{out:?}"
    );
}

#[test]
fn missing_stale_and_usage_errors() {
    let sb = Sandbox::with(&["a"]);
    let out = sb.run("exec", &["nope", "true"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("No such file or directory"), "{out:?}");
    crate::util::stale_file(&sb.file("stale"));
    let out = sb.run("exec", &["stale", "true"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("holds no network namespace"), "{out:?}");
    for args in [&[][..], &["a"], &["--all"], &["--bogus", "a", "true"]] {
        assert_eq!(sb.run("exec", args).code, 2, "{args:?}");
    }
}

#[test]
fn without_root_it_cannot_enter() {
    let sb = Sandbox::with(&["a"]);
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin("exec"))
        .args(["a", "echo", "ran"])
        .env("NETNS_RUN_DIR", &sb.run);
    let out = output(&mut cmd, "");
    assert_eq!((out.code, out.stdout.as_str()), (1, ""), "{out:?}");
    assert!(out.stderr.contains("Operation not permitted"), "{out:?}");
    assert!(out.stderr.contains("root"), "{out:?}");
}

#[test]
fn all_runs_in_each_namespace_and_reports_failures() {
    let sb = Sandbox::with(&["a", "b", "c"]);
    let out = sb.run("exec", &["--all", "sh", "-c", "ip -br link | wc -l"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "\nnetns: a\n1\n\nnetns: b\n1\n\nnetns: c\n1\n");
    let veth = [
        "b", "ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1",
    ];
    let veth = sb.run("exec", &veth);
    assert_eq!(veth.code, 0, "{veth:?}");
    // ip -all netns exec exits 0 whatever failed; we exit 1 and say where.
    let out = sb.run(
        "exec",
        &["-a", "sh", "-c", "test $(ip -br link | wc -l) = 1"],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "\nnetns: a\n\nnetns: b\n\nnetns: c\n");
    assert!(out.stderr.contains("failed in b: exit status 1"), "{out:?}");
    assert!(
        !out.stderr.contains("in a") && !out.stderr.contains("in c"),
        "{out:?}"
    );
}

#[test]
fn the_host_mount_table_is_the_same_after_many_execs() {
    let _table = crate::util::host_mount_table();
    let sb = Sandbox::with(&["a"]);
    let before = host_mounts();
    for _ in 0..20 {
        assert_eq!(sb.run("exec", &["a", "true"]).code, 0);
    }
    assert_eq!(host_mounts(), before);
    assert_eq!(sb.mounted(), ["a"]);
}

/// Rust programs ignore SIGPIPE, and an ignored signal stays ignored across
/// exec: a command must get it back at its default, as from a shell, or a
/// pipeline's writer complains of EPIPE instead of quietly dying.
#[test]
fn the_command_gets_sigpipe_at_its_default() {
    let sb = Sandbox::with(&["a"]);
    let pipeline = ["sh", "-c", "yes | head -n1"];
    let out = sb.run("exec", &[&["a"][..], &pipeline].concat());
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "y\n", "")
    );
    let out = sb.run("exec", &[&["--all"][..], &pipeline].concat());
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "\nnetns: a\ny\n", "")
    );
}

#[test]
fn all_says_in_which_namespace_a_command_could_not_run() {
    let sb = Sandbox::with(&["a", "b"]);
    let out = sb.run("exec", &["--all", "no-such-command-here"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (1, "\nnetns: a\n\nnetns: b\n")
    );
    assert_eq!(
        out.stderr,
        "netns-exec: in a: cannot run \"no-such-command-here\": No such file or directory\n\
         netns-exec: in b: cannot run \"no-such-command-here\": No such file or directory\n"
    );
    let out = sb.run("exec", &["--all", "sh", "-c", "kill -KILL $$"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("\"sh\" failed in b: killed by signal 9"),
        "{out:?}"
    );
}

/// `ip -all netns exec` prints a blank line before each `netns: NAME`
/// header: ours is the same, byte for byte (ip run on the sandbox's
/// names, bound over /run/netns in a mount namespace of its own; its
/// order is the directory's).
#[test]
fn all_prints_the_headers_as_ip_does() {
    let sb = Sandbox::with(&["a", "b"]);
    let ours = sb.run("exec", &["--all", "echo", "hi"]);
    assert_eq!(
        (ours.code, ours.stdout.as_str()),
        (0, "\nnetns: a\nhi\n\nnetns: b\nhi\n"),
        "{ours:?}"
    );
    let script = format!(
        "mkdir -p /run/netns; mount --rbind {} /run/netns; ip -all netns exec echo hi",
        sb.run.display()
    );
    let ip = crate::util::in_new_namespaces(&sb, &["--mount"], &script);
    assert_eq!(ip.code, 0, "{ip:?}");
    let swapped = "\nnetns: b\nhi\n\nnetns: a\nhi\n";
    assert!(ip.stdout == ours.stdout || ip.stdout == swapped, "{ip:?}");
}

/// One rule for a name that holds no namespace when its turn comes,
/// whether it was a stale file from the start or was removed while the
/// command ran in another: skipped with a warning, no header, and the
/// exit status stays 0.
#[test]
fn all_skips_a_name_that_holds_no_namespace_when_its_turn_comes() {
    let sb = Sandbox::with(&["a", "b", "c"]);
    std::fs::write(sb.file("s"), "").unwrap();
    // In a, c is removed from the test's own mount namespace (the one the
    // run dir's mounts are in).
    let del = format!(
        "nsenter --mount=/proc/{}/ns/mnt {} c 2>/dev/null; echo ran",
        std::process::id(),
        bin("del").display()
    );
    let out = sb.run("exec", &["--all", "sh", "-c", &del]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "\nnetns: a\nran\n\nnetns: b\nran\n"),
        "{out:?}"
    );
    let file = |name| format!("\"{}\"", sb.file(name).display());
    assert_eq!(
        out.stderr,
        format!(
            "netns-exec: warning: skipped {}: it is gone (removed since the run dir was read)\n\
             netns-exec: warning: skipped {}: it holds no namespace (a stale file)\n",
            file("c"),
            file("s")
        ),
        "{out:?}"
    );
}
