//! At the limits: what a broken pipeline sends to `-` (memory bounded, a
//! message a person can read, the lines after a bad one still read), and
//! the kernel's own limits.

use std::io::Write;
use std::process::Stdio;

use crate::names::Rng;
use crate::util::{Sandbox, json};

/// The highest resident set of a running process, in KiB (VmHWM).
fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Feeds `input` to `netns-add --json -` and reads its peak memory once
/// all but the last bytes are in (the pipe then holds at most 64 KiB, so
/// it has read the rest), before its stdin ends. Returns the peak, what
/// it printed, and its exit status.
fn feed_add(sb: &Sandbox, input: &[u8]) -> (u64, Vec<u8>, String, i32) {
    let mut child = sb
        .cmd("add")
        .args(["--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let err = child.stderr.take().unwrap();
    // stderr is read meanwhile: noise can make a message a line.
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let mut err = err;
        std::io::Read::read_to_string(&mut err, &mut text).unwrap();
        text
    });
    stdin.write_all(input).unwrap();
    let peak = peak_kib(pid);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    (
        peak,
        out.stdout,
        reader.join().unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn a_line_of_50_mb_is_refused_in_a_few_mb_and_the_next_is_read() {
    let sb = Sandbox::new();
    let mut rng = Rng(0x5eed_2026_1201);
    let mut input = Vec::with_capacity(50_000_008);
    while input.len() < 50_000_000 {
        input.extend_from_slice(&rng.draw().to_ne_bytes());
    }
    input.truncate(50_000_000);
    for b in input.iter_mut().filter(|b| **b == b'\n') {
        *b = b'x';
    }
    input.extend_from_slice(b"\nafter\n");
    let (peak, stdout, stderr, code) = feed_add(&sb, &input);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        stderr,
        "netns-add: line 1 of stdin: 50000000 bytes, longer than a name can be\n"
    );
    assert!(peak < 8 * 1024, "peak {peak} KiB");
    assert_eq!(
        json(&String::from_utf8(stdout).unwrap())[0]["name"],
        "after"
    );
    // A long name on the command line (as long as an argument can be):
    // its message is short too.
    let long = "x".repeat(100_000);
    let out = sb.run("add", &[&long]);
    assert_eq!(out.code, 1);
    let head = &out.stderr[..200.min(out.stderr.len())];
    assert!(out.stderr.len() < 200, "{} bytes: {head}", out.stderr.len());
    assert!(out.stderr.contains("(100000 bytes in all)"), "{head}");
}

/// 100 MB of noise (seeded; the seed is in every message) and near-names:
/// memory stays bounded, nothing panics, every name made is reported,
/// listed and taken back by `netns-list | netns-del -`, and nothing is
/// left that the add did not report making.
#[test]
fn noise_on_stdin_stays_small_and_leaves_only_what_it_reported() {
    let seed = std::env::var("NETNS_TEST_SEED")
        .ok()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0x5eed_2026_1202);
    let mut rng = Rng(seed);
    let sb = Sandbox::new();
    let mut input = Vec::with_capacity(100_000_000);
    while input.len() < 100_000_000 {
        match rng.below(4) {
            // A near-name: short, printable, with now and then a byte that
            // needs care.
            0 => {
                let len = 1 + rng.below(20);
                for _ in 0..len {
                    let b = match rng.below(12) {
                        0 => b"\"\\ \x1b\t"[rng.below(5)],
                        _ => b'a' + rng.below(26) as u8,
                    };
                    input.push(b);
                }
                input.push(b'\n');
            }
            // Noise: a line of any bytes, up to 200 KB long, eight from
            // each draw (this is a debug build: a draw a byte would take
            // seconds, and so would the tools' debug builds on a line of
            // every 256 bytes of noise).
            _ => {
                let start = input.len();
                for _ in 0..rng.below(25_000) {
                    input.extend_from_slice(&rng.draw().to_ne_bytes());
                }
                for b in input[start..].iter_mut().filter(|b| **b == b'\n') {
                    *b = 0;
                }
                input.push(b'\n');
            }
        }
    }
    let (peak, stdout, stderr, code) = feed_add(&sb, &input);
    assert!(code == 0 || code == 1, "seed {seed:#x}: exit {code}");
    assert!(!stderr.contains("panicked"), "seed {seed:#x}");
    assert!(peak < 8 * 1024, "seed {seed:#x}: peak {peak} KiB");
    let made: std::collections::BTreeSet<String> = json(&String::from_utf8(stdout).unwrap())
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !made.is_empty(),
        "seed {seed:#x}: some near-names were made"
    );
    let listed = sb.run("list", &["--json"]);
    let listed: std::collections::BTreeSet<String> = json(&listed.stdout)
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        listed, made,
        "seed {seed:#x}: what is there is what it reported"
    );
    let out = crate::util::in_new_netns(&sb, "netns-list | netns-del -");
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "seed {seed:#x}");
    assert!(
        sb.entries().is_empty(),
        "seed {seed:#x}: {:?}",
        sb.entries()
    );
}

/// The kernel's limit on network namespaces (user.max_net_namespaces,
/// which root of a user namespace may lower there): the namespaces up to
/// it are made, the rest refused with a message that names the limit,
/// exit 1, no stale file.
#[test]
fn the_namespace_limit_is_named_and_leaves_no_stale_file() {
    let sb = Sandbox::new();
    let out = crate::util::in_new_namespaces(
        &sb,
        &["-U", "-r", "-m"],
        "set +e
         mount -t tmpfs limits /mnt
         export NETNS_RUN_DIR=/mnt/netns
         echo 3 > /proc/sys/user/max_net_namespaces
         netns-add a b c d e; echo add $?
         ls $NETNS_RUN_DIR | tr '\\n' ' '",
    );
    assert_eq!(out.stdout, "add 1\na b c ", "{out:?}");
    assert!(out.stderr.contains("user.max_net_namespaces"), "{out:?}");
    assert_eq!(out.stderr.lines().count(), 2, "{out:?}");
}

/// In one batch a name refused at its file (there already) and one at its
/// namespace (the limit): each told of its own name, the one between them
/// made, nothing else left.
#[test]
fn failures_at_the_file_and_at_the_namespace_are_told_of_their_names() {
    let sb = Sandbox::new();
    let out = crate::util::in_new_namespaces(
        &sb,
        &["-U", "-r", "-m"],
        "set +e
         mount -t tmpfs limits /mnt
         export NETNS_RUN_DIR=/mnt/netns
         netns-add t
         echo 2 > /proc/sys/user/max_net_namespaces
         netns-add t a b; echo add $?
         ls $NETNS_RUN_DIR | tr '\\n' ' '
         grep -c ' /mnt/netns/' /proc/self/mountinfo",
    );
    assert_eq!(out.stdout, "add 1\na t 2\n", "{out:?}");
    let told: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(told.len(), 2, "{out:?}");
    assert!(
        told[0].starts_with("netns-add: cannot create \"/mnt/netns/t\": File exists"),
        "{out:?}"
    );
    assert!(
        told[1].starts_with("netns-add: cannot make a network namespace for \"/mnt/netns/b\""),
        "{out:?}"
    );
}

/// From an attack: a name twice in one batch, the first refused (the
/// namespace limit), is tried again as it would be alone: the same
/// refusal, not "File exists" for a file that is gone.
#[test]
fn a_name_twice_in_a_batch_is_tried_twice() {
    let sb = Sandbox::new();
    let out = crate::util::in_new_namespaces(
        &sb,
        &["-U", "-r", "-m"],
        "set +e
         mount -t tmpfs limits /mnt
         export NETNS_RUN_DIR=/mnt/netns
         echo 1 > /proc/sys/user/max_net_namespaces
         netns-add a b b; echo add $?
         netns-add --exist-ok c c; echo add $?
         ls $NETNS_RUN_DIR | tr '\\n' ' '",
    );
    assert_eq!(out.stdout, "add 1\nadd 1\na ", "{out:?}");
    let refused: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(refused.len(), 4, "{out:?}");
    for (line, name) in refused.iter().zip(["b", "b", "c", "c"]) {
        assert!(
            line.starts_with(&format!(
                "netns-add: cannot make a network namespace for \"/mnt/netns/{name}\": No space"
            )),
            "{out:?}"
        );
    }
}

/// A run dir on a read-only or a full filesystem: a clear message, exit
/// 1, nothing half-made.
#[test]
fn a_read_only_or_full_run_dir_is_said_and_nothing_is_half_made() {
    let sb = Sandbox::new();
    let out = crate::util::in_new_namespaces(
        &sb,
        &["-m", "--propagation", "private"],
        "set +e
         mkdir -p /tmp/nt-limits-$$; cd /tmp/nt-limits-$$
         mkdir ro full
         mount -t tmpfs -o ro ro ro
         netns-add --run-dir ro/netns a; echo ro $?
         mount -t tmpfs -o size=4k,nr_inodes=3 full full
         netns-add --run-dir full/netns a b c d; echo full $?
         ls full/netns | tr '\\n' ' '; echo
         netns-del --run-dir full/netns --all; echo del $?
         cd /; umount -l /tmp/nt-limits-$$/ro /tmp/nt-limits-$$/full; rm -r /tmp/nt-limits-$$",
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{out:?}");
    assert_eq!(lines[0], "ro 1", "{out:?}");
    assert_eq!(lines[1], "full 1", "{out:?}");
    assert_eq!(lines[3], "del 0", "{out:?}");
    assert!(out.stderr.contains("Read-only file system"), "{out:?}");
    assert!(out.stderr.contains("No space left on device"), "{out:?}");
    let made: Vec<&str> = lines[2].split_whitespace().collect();
    assert!(made.len() < 4, "{out:?}");
}

/// The open-file limit reached in an exec --all: each namespace it could
/// not run in is told, naming the limit; exit 1.
#[test]
fn the_open_file_limit_is_named() {
    let sb = Sandbox::with(&["a", "b"]);
    let out = crate::util::output(
        std::process::Command::new("prlimit")
            .arg("--nofile=5")
            .arg(crate::util::bin("exec"))
            .args(["--all", "true"])
            .env("NETNS_RUN_DIR", &sb.run),
        "",
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 2, "{out:?}");
    assert!(
        out.stderr
            .lines()
            .all(|l| l.ends_with("Too many open files (the open-file limit, ulimit -n)")),
        "{out:?}"
    );
}

/// An add batch holds its names' files open until their namespaces are
/// mounted: under an open-file limit lower than a batch, it makes fewer
/// at a time, and every name.
#[test]
fn an_add_batch_larger_than_the_file_limit_makes_every_name() {
    let sb = Sandbox::new();
    let names: String = (0..100).map(|i| format!("h{i}\n")).collect();
    let out = crate::util::output(
        std::process::Command::new("prlimit")
            .arg("--nofile=12:12")
            .arg(crate::util::bin("add"))
            .arg("-")
            .env("NETNS_RUN_DIR", &sb.run),
        &names,
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(sb.mounted().len(), 100);
    assert_eq!(sb.entries().len(), 100);
}

/// From an attack: --lo-up needs descriptors of its own (the namespace, a
/// netlink socket) after a batch has taken all there were for its files:
/// every name is made, its loopback up.
#[test]
fn an_add_batch_with_lo_up_under_a_low_file_limit_makes_every_name() {
    let sb = Sandbox::new();
    let names: String = (0..30).map(|i| format!("l{i}\n")).collect();
    let out = crate::util::output(
        std::process::Command::new("prlimit")
            .arg("--nofile=12:12")
            .arg(crate::util::bin("add"))
            .args(["--lo-up", "-"])
            .env("NETNS_RUN_DIR", &sb.run),
        &names,
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(sb.mounted().len(), 30);
    for name in ["l0", "l29"] {
        let out = sb.run("exec", &[name, "ip", "-br", "link", "show", "lo"]);
        assert!(out.stdout.contains("UP"), "{name}: {out:?}");
    }
}

/// From an attack: a long path in a message keeps its end (the name) as
/// well as its start, cut between characters; a name refused from stdin
/// says its line; inspect short of descriptors says so rather than show
/// a namespace with no devices; a delete under a file limit of a few
/// holds no descriptor past each name.
#[test]
fn messages_keep_the_name_and_shortages_are_errors() {
    let sb = Sandbox::new();
    let long = "x".repeat(254);
    let (one, two) = (format!("{long}1"), format!("{long}2"));
    assert_eq!(sb.run("add", &[&one, &two]).code, 0);
    let out = sb.run_stdin("add", &["-"], &format!("{one}\n{two}\nok\n\u{1}bad\n"));
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{out:?}");
    // Whole or cut, the message ends with the name's end.
    assert!(lines[0].contains("xxxx1\""), "{}", lines[0]);
    assert!(lines[1].contains("xxxx2\""), "{}", lines[1]);
    assert!(
        lines[2].starts_with("netns-add: line 4 of stdin: invalid name"),
        "{}",
        lines[2]
    );
    let out = sb.run("add", &[&"\u{e9}".repeat(200)]);
    assert!(
        !out.stderr.contains('\\'),
        "cut inside a character: {out:?}"
    );
    for limit in ["--nofile=5", "--nofile=6"] {
        let out = crate::util::output(
            std::process::Command::new("prlimit")
                .arg(limit)
                .arg(crate::util::bin("inspect"))
                .args(["--json", "ok"])
                .env("NETNS_RUN_DIR", &sb.run),
            "",
        );
        let told = out.code == 1 && out.stderr.contains("Too many open files");
        let whole = out.code == 0 && out.stdout.contains("\"lo\"");
        assert!(told || whole, "{limit}: {out:?}");
    }
    let out = crate::util::output(
        std::process::Command::new("prlimit")
            .arg("--nofile=5")
            .arg(crate::util::bin("del"))
            .args([&one, &two, "ok"])
            .env("NETNS_RUN_DIR", &sb.run),
        "",
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
}

/// netns-link under low open-file limits: a chain of 300 links is made
/// whole at 64, at 32 and at the least one link takes (a batch holds its
/// namespaces and their sockets: fewer links a batch then, fewer sockets
/// kept), every end in place with its address; one descriptor less is
/// refused before anything is made, naming the shortage (exit 1).
#[test]
fn a_chain_of_300_links_under_low_open_file_limits() {
    use crate::link::{devices, ip};
    let names: Vec<String> = (0..=300).map(|i| format!("n{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let sb = Sandbox::with(&names);
    let at = |i: usize, end: usize| format!("10.{}.{}.{end}/31", i / 256, i % 256);
    let chain: String = (0..300)
        .map(|i| format!("n{i} -a {} n{} -a {}\n", at(i, 0), i + 1, at(i, 1)))
        .collect();
    let link = |limit: usize| {
        crate::util::output(
            std::process::Command::new("prlimit")
                .arg(format!("--nofile={limit}"))
                .arg(crate::util::bin("link"))
                .arg("-")
                .env("NETNS_RUN_DIR", &sb.run),
            &chain,
        )
    };
    // The least a link takes, as said when refused (what is open at the
    // start, its two namespaces and a socket in each).
    let out = link(6);
    assert_eq!((out.code, out.stdout.as_str()), (1, ""), "{out:?}");
    let least: usize = out
        .stderr
        .strip_prefix("netns-link: too few open files for a link: the limit (ulimit -n) is 6, and ")
        .and_then(|rest| rest.strip_suffix(" are needed\n"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out:?}"));
    assert!((8..=12).contains(&least), "{out:?}");
    for limit in [64, 32, least] {
        let out = link(limit);
        assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{limit}: {out:?}");
        assert_eq!(out.stdout.lines().count(), 300, "{limit}: {out:?}");
        assert_eq!(devices(&sb, "n0"), ["eth0"], "{limit}");
        assert_eq!(devices(&sb, "n300"), ["eth0"], "{limit}");
        for i in [1, 63, 64, 65, 150, 299] {
            assert_eq!(devices(&sb, &format!("n{i}")), ["eth0", "eth1"], "{limit}");
            let out = ip(&sb, &format!("n{i}"), &["-br", "-4", "addr"]);
            let mut addrs: Vec<&str> = out.stdout.split_whitespace().collect();
            addrs.retain(|w| w.starts_with("10."));
            assert_eq!(addrs, [at(i - 1, 1), at(i, 0)], "{limit}: n{i}: {out:?}");
        }
        assert_eq!(sb.run("del", &["--all"]).code, 0);
        assert_eq!(sb.run("add", &names).code, 0);
    }
    let out = link(least - 1);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "netns-link: too few open files for a link: the limit (ulimit -n) is {}, \
             and {least} are needed\n",
            least - 1
        ),
        "{out:?}"
    );
    for name in ["n0", "n1", "n300"] {
        assert!(devices(&sb, name).is_empty(), "{name}");
    }
}
