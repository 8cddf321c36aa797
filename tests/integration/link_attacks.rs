//! netns-link attacked: batches whose lines depend on each other, a lost
//! answer beside a device of the same name, names the kernel refuses,
//! `--delete` of a name that starts with `-`, the `.` end as nobody.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;

use crate::link::{await_device, devices, ip, link_stdin};
use crate::util::{Sandbox, bin, json, output};

/// A batch is made as its lines one after the other would be: a name
/// that a line before takes is not chosen as an `ethN`, nor made a
/// bridge of (it is that line's veth), though none is made yet.
#[test]
fn a_line_sees_the_names_of_the_lines_before_it() {
    let sb = Sandbox::with(&["a", "b"]);
    let out = sb.run_stdin(
        "link",
        &["-"],
        "a -n eth0 b -n x1\n\
         a b -n x2\n\
         a -n x b -n y1\n\
         a -n z -b x b -n y2\n",
    );
    assert_eq!(out.code, 1, "{out:?}");
    let run = sb.run.display();
    assert_eq!(
        out.stderr,
        format!("netns-link: line 4 of stdin: \"x\" in \"{run}/a\" is not a bridge\n"),
        "{out:?}"
    );
    let made: Vec<&str> = out
        .stdout
        .lines()
        .map(|l| &l[..l.find(" index").unwrap()])
        .collect();
    assert_eq!(
        made,
        ["netns a dev eth0", "netns a dev eth1", "netns a dev x"]
    );
    assert_eq!(devices(&sb, "a"), ["eth0", "eth1", "x"]);
    assert_eq!(devices(&sb, "b"), ["x1", "x2", "y1"]);
}

/// A device that was there before keeps its name's link from being made;
/// the answer that says so lost to a failed receive (strace injection,
/// each receive in turn) must not have that device deleted as if it were
/// the link's.
#[test]
fn a_lost_answer_leaves_a_device_of_that_name_alone() {
    let sb = Sandbox::with(&["a", "b"]);
    assert_eq!(
        ip(&sb, "a", &["link", "add", "keep", "type", "bridge"]).code,
        0
    );
    let mut refused = false;
    for when in 1..=12 {
        let mut cmd = Command::new("strace");
        cmd.args(["-f", "-qq", "-o", "/dev/null", "-e"])
            .arg(format!("inject=recvfrom:error=ENOBUFS:when={when}"))
            .arg(bin("link"))
            .args(["--run-dir", sb.run.to_str().unwrap()])
            .args(["a", "-n", "keep", "b", "-n", "y"]);
        let out = output(&mut cmd, "");
        let what = format!("recvfrom #{when}: {out:?}");
        assert_eq!(out.code, 1, "{what}");
        refused |= out.stderr.ends_with(": File exists\n");
        assert_eq!(devices(&sb, "a"), ["keep"], "{what}");
        let keep = json(&ip(&sb, "a", &["-d", "-j", "link", "show", "keep"]).stdout);
        assert_eq!(keep[0]["linkinfo"]["info_kind"], "bridge", "{what}");
        assert_eq!(devices(&sb, "b"), Vec::<String>::new(), "{what}");
    }
    assert!(
        refused,
        "every receive failed once, and then the refusal came"
    );
}

/// Names with bytes the kernel counts as white space (\v, 0xa0) are
/// refused as invalid interface names, a usage error.
#[test]
fn white_space_as_the_kernel_sees_it_is_no_interface_name() {
    let sb = Sandbox::with(&["a", "b"]);
    for name in [&b"a\x0bb"[..], b"a\xa0"] {
        let mut cmd = sb.cmd("link");
        cmd.args(["a", "-n"]).arg(OsStr::from_bytes(name)).arg("b");
        let out = output(&mut cmd, "");
        assert_eq!(out.code, 2, "a usage error: {out:?}");
        assert!(
            out.stderr
                .starts_with("netns-link: invalid interface name ")
                && out.stderr.ends_with(
                    ": it contains '/', ':' or white space\n\
                     Try 'netns-link --help' for more information.\n"
                ),
            "{out:?}"
        );
        assert_eq!(devices(&sb, "a"), Vec::<String>::new());
        assert_eq!(devices(&sb, "b"), Vec::<String>::new());
    }
}

/// `--netns NAME` names an end for `--delete` too: on the command line,
/// and in a line of `-` (also as `--netns=NAME`).
#[test]
fn delete_takes_netns_for_a_name_that_starts_with_a_dash() {
    let sb = Sandbox::new();
    assert_eq!(sb.run("add", &["--", "-x", "y"]).code, 0);
    let out = sb.run_stdin("link", &["-"], "--netns -x y\n--netns -x y\n--netns -x y\n");
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    let out = sb.run("link", &["--delete", "--netns", "-x", "eth0"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    let out = sb.run_stdin(
        "link",
        &["--delete", "-"],
        "--netns -x eth1\n--netns=-x eth2\n",
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(devices(&sb, "-x"), Vec::<String>::new());
    assert_eq!(devices(&sb, "y"), Vec::<String>::new());
}

/// A word in double quotes ends at its closing quote: `"a"b` is refused,
/// not read as the two words `a` and `b` (which would make a link from
/// `a -n "eth1"b`).
#[test]
fn a_quoted_word_that_goes_on_is_refused() {
    let sb = Sandbox::with(&["a", "b"]);
    let out = sb.run_stdin("link", &["-"], "a -n \"w1\"b\n\"a\"b\n");
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        "netns-link: line 1 of stdin: a word goes on after its closing double quote\n\
         netns-link: line 2 of stdin: a word goes on after its closing double quote\n",
        "{out:?}"
    );
    assert_eq!(out.stdout, "", "{out:?}");
    assert_eq!(devices(&sb, "a"), Vec::<String>::new());
    assert_eq!(devices(&sb, "b"), Vec::<String>::new());
}

/// A line of `-` is made before the next is waited for: the writer sees
/// its link at once, and a name deleted and made again before its next
/// line is that line's new namespace, not the old one (whose links went
/// with it, though reported made).
#[test]
fn a_line_is_made_before_the_next_is_waited_for() {
    use std::io::Write;
    let sb = Sandbox::with(&["p", "q"]);
    let (child, mut stdin) = link_stdin(&sb);
    // The start of line 2 too: a line that has begun is not one at hand.
    stdin.write_all(b"p q -n l1\np q").unwrap();
    await_device(&sb, "q", "l1", "line 1");
    assert_eq!(sb.run("del", &["p"]).code, 0);
    assert_eq!(sb.run("add", &["p"]).code, 0);
    stdin.write_all(b" -n l2\n").unwrap();
    drop(stdin);
    let out = crate::util::finish(child);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(devices(&sb, "p"), ["eth0"]);
    assert!(devices(&sb, "q").contains(&"l2".to_owned()));
}

/// A line of `-` is kept up to a bound however long it is: 64 MB of noise
/// under a 48 MB address-space limit is counted and reported with its
/// number, and the next line is made.
#[test]
fn a_huge_line_is_counted_not_kept() {
    use std::io::Write;
    use std::process::Stdio;
    let sb = Sandbox::with(&["a", "b"]);
    let mut child = Command::new("prlimit")
        .arg("--as=48000000")
        .arg(bin("link"))
        .arg("-")
        .env("NETNS_RUN_DIR", &sb.run)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let noise = vec![b'x'; 1 << 20];
        for _ in 0..64 {
            stdin.write_all(&noise)?;
        }
        stdin.write_all(b"\na -n h0 b -n h0\n")
    });
    let out = crate::util::finish(child);
    writer.join().unwrap().unwrap();
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        "netns-link: line 1 of stdin: 67108864 bytes, longer than a link's line can be\n",
        "{out:?}"
    );
    assert_eq!(devices(&sb, "a"), ["h0"]);
}

/// A line that fails takes no `ethN` from the lines after it, whether it
/// fails before anything is sent (a bridge that is no bridge) or when
/// the kernel refuses it (an MTU) after the batch's later lines chose
/// theirs, and a name it held (`x`) is free for them: each line gets what
/// it would have had if the failed line had never been. In the next
/// batch too: a name the lines after a failed one took is not given out
/// again.
#[test]
fn a_failed_line_takes_no_ethn_from_the_lines_after_it() {
    use std::io::Write;
    let sb = Sandbox::with(&["a", "b"]);
    let out = sb.run_stdin(
        "link",
        &["-"],
        "a b\n\
         a b -b lo\n\
         a b\n\
         a b --mtu 99999999\n\
         a b -b br0\n\
         a -n x b --mtu 99999999\n\
         a -n y -b x b\n",
    );
    assert_eq!(out.code, 1, "{out:?}");
    let run = sb.run.display();
    assert_eq!(
        out.stderr,
        format!(
            "netns-link: line 2 of stdin: \"lo\" in \"{run}/b\" is not a bridge\n\
             netns-link: line 4 of stdin: cannot make the veth pair \"eth2\" in \"{run}/a\" and \"eth2\" in \"{run}/b\": Invalid argument\n\
             netns-link: line 6 of stdin: cannot make the veth pair \"x\" in \"{run}/a\" and \"eth4\" in \"{run}/b\": Invalid argument\n"
        ),
        "{out:?}"
    );
    let made: Vec<String> = out
        .stdout
        .lines()
        .map(|l| {
            l.split(' ')
                .enumerate()
                .filter(|(i, _)| [3, 10].contains(i))
                .map(|(_, w)| w)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        made,
        ["eth0 eth0", "eth1 eth1", "eth2 eth2", "y eth3"],
        "{out:?}"
    );
    assert_eq!(devices(&sb, "a"), ["eth0", "eth1", "eth2", "x", "y"]);
    assert_eq!(devices(&sb, "b"), ["br0", "eth0", "eth1", "eth2", "eth3"]);
    let x = json(&ip(&sb, "a", &["-d", "-j", "link", "show", "x"]).stdout);
    assert_eq!(x[0]["linkinfo"]["info_kind"], "bridge", "{x}");
    // A failed line, a line that takes the name it gave back, then a
    // pause: the next batch's line gets the next name, not that one.
    let (child, mut stdin) = link_stdin(&sb);
    stdin.write_all(b"a b -b lo\na b\n").unwrap();
    await_device(&sb, "a", "eth3", "line 2");
    stdin.write_all(b"a b\n").unwrap();
    drop(stdin);
    let out = crate::util::finish(child);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        format!("netns-link: line 1 of stdin: \"lo\" in \"{run}/b\" is not a bridge\n"),
        "{out:?}"
    );
    assert_eq!(
        devices(&sb, "a"),
        ["eth0", "eth1", "eth2", "eth3", "eth4", "x", "y"]
    );
}

/// The addresses of a namespace are read once, when a link first adds
/// one there: one removed by hand since (with `ip`) is free again for a
/// later batch's line, not refused as held by a device that no longer
/// has it.
#[test]
fn an_address_removed_since_it_was_read_is_free() {
    use std::io::Write;
    let sb = Sandbox::with(&["a", "b"]);
    let (child, mut stdin) = link_stdin(&sb);
    stdin.write_all(b"a -a 10.0.0.1/24 b\n").unwrap();
    await_device(&sb, "a", "eth0", "line 1");
    let del = ip(&sb, "a", &["addr", "del", "10.0.0.1/24", "dev", "eth0"]);
    assert_eq!(del.code, 0, "{del:?}");
    stdin.write_all(b"a -a 10.0.0.1/24 b\n").unwrap();
    drop(stdin);
    let out = crate::util::finish(child);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    let addr = json(&ip(&sb, "a", &["-j", "addr", "show", "eth1"]).stdout);
    assert_eq!(addr[0]["addr_info"][0]["local"], "10.0.0.1", "{addr}");
}

/// What is known of a namespace (its device names, addresses, bridges)
/// is read again after `-` waited for stdin: a device, an address or a
/// bridge that `ip` made or removed during the pause is seen by the next
/// line (an `ethN` taken meanwhile was refused by the kernel as "File
/// exists", an address added meanwhile was made a second time, a bridge
/// deleted meanwhile left its port "Invalid argument").
#[test]
fn a_pause_in_stdin_reads_the_namespaces_again() {
    use std::io::Write;
    let sb = Sandbox::with(&["a", "b"]);
    let (child, mut stdin) = link_stdin(&sb);
    stdin.write_all(b"a -a 10.0.0.1/24 b -b br0\n").unwrap();
    await_device(&sb, "b", "eth0", "line 1");
    for (ns, args) in [
        ("a", &["link", "add", "eth1", "type", "bridge"][..]),
        ("a", &["addr", "add", "10.0.0.2/24", "dev", "lo"]),
        ("b", &["link", "del", "br0"]),
    ] {
        let out = ip(&sb, ns, args);
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
    }
    stdin
        .write_all(b"a -a 10.0.0.2/32 b\na b -b br0\n")
        .unwrap();
    drop(stdin);
    let out = crate::util::finish(child);
    let run = sb.run.display();
    assert_eq!(
        (out.code, out.stderr),
        (
            1,
            format!(
                "netns-link: line 2 of stdin: address 10.0.0.2/32 is already on \"lo\" in \"{run}/a\"\n"
            )
        ),
    );
    assert!(
        out.stdout
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("netns a dev eth2 "),
        "{}",
        out.stdout
    );
    assert_eq!(devices(&sb, "a"), ["eth0", "eth1", "eth2"]);
    assert_eq!(devices(&sb, "b"), ["br0", "eth0", "eth1"]);
    let port = json(&ip(&sb, "b", &["-j", "link", "show", "eth1"]).stdout);
    assert_eq!(port[0]["master"], "br0", "{port}");
}

/// 0.0.0.0 is an address the kernel acks and does not add (an IPv4
/// address of 0 is dropped in silence): it was reported made and `ip`
/// showed none. It, and `::`, are invalid addresses: a usage error on the
/// command line, a failing line of `-`.
#[test]
fn the_unspecified_address_is_refused() {
    let sb = Sandbox::with(&["a", "b"]);
    for addr in ["0.0.0.0/0", "0.0.0.0", "::/0", "0:0::0/64"] {
        let out = sb.run("link", &["a", "-a", addr, "b"]);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr),
            (
                2,
                "",
                format!(
                    "netns-link: invalid address \"{addr}\"\n\
                     Try 'netns-link --help' for more information.\n"
                )
            ),
        );
    }
    let out = sb.run_stdin("link", &["-"], "a -a 0.0.0.0/8 b\na b -a ::\na b\n");
    assert_eq!(
        (out.code, out.stderr),
        (
            1,
            "netns-link: line 1 of stdin: invalid address \"0.0.0.0/8\"\n\
             netns-link: line 2 of stdin: invalid address \"::\"\n"
                .to_owned()
        ),
    );
    assert_eq!(devices(&sb, "a"), ["eth0"]);
    assert_eq!(devices(&sb, "b"), ["eth0"]);
}

/// An end's option after `--delete`'s NETNS IFNAME is not --delete's: it
/// was said to come "before any NETNS", after one.
#[test]
fn an_end_option_with_delete_says_it_is_not_deletes() {
    let sb = Sandbox::with(&["a"]);
    let try_help = "Try 'netns-link --help' for more information.\n";
    for (args, option) in [
        (&["--delete", "a", "eth0", "-a", "10.0.0.1"][..], "-a"),
        (&["--delete", "a", "eth0", "--mtu", "1000"], "--mtu"),
        (&["--delete", "a", "eth0", "-b", "br0"], "-b"),
    ] {
        let out = sb.run("link", args);
        assert_eq!(
            (out.code, out.stderr),
            (
                2,
                format!("netns-link: {option} is no option of --delete's\n{try_help}")
            ),
            "{args:?}"
        );
    }
    let out = sb.run_stdin("link", &["--delete", "-"], "a eth0 -n x\n");
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "netns-link: line 1 of stdin: -n is no option of --delete's\n"
        ),
    );
}

/// From an attack: a bridge made for a line that fails was removed only
/// once the batch was done, so a later line of the batch that names its
/// end as that bridge was refused by the kernel ("File exists"), though
/// without the failed line it is made. The bridge goes after the pass
/// that made it, and the line refused for its name is tried again.
#[test]
fn a_bridge_made_for_a_failed_line_does_not_block_a_later_lines_name() {
    let sb = Sandbox::with(&["a", "b"]);
    let out = sb.run_stdin("link", &["-"], "a b -b br1 --mtu 70000\na b -n br1\n");
    let run = sb.run.display();
    assert_eq!(
        (out.code, out.stderr),
        (
            1,
            format!(
                "netns-link: line 1 of stdin: cannot make the veth pair \"eth0\" in \"{run}/a\" and \"eth0\" in \"{run}/b\": Invalid argument\n"
            )
        ),
    );
    assert_eq!(devices(&sb, "a"), ["eth0"]);
    assert_eq!(devices(&sb, "b"), ["br1"]);
    let veth = json(&ip(&sb, "b", &["-d", "-j", "link", "show", "br1"]).stdout);
    assert_eq!(veth[0]["linkinfo"]["info_kind"], "veth", "{veth}");
}

/// Each end of each link of `made` (`--json` output) as `ip -j -d addr`
/// in its namespace sees it (`dumped`: that output taken before, by
/// name, `.` for the host's; else asked now): the device of
/// that name has that ifindex and exactly those global addresses, no
/// other device there has one of them, it is a veth whose peer is the
/// other end, and it is up or down as `up` says.
fn assert_each_end_is_where_it_is_said(
    sb: &Sandbox,
    made: &serde_json::Value,
    dumped: &[(&str, serde_json::Value)],
    up: bool,
) {
    let devs = |end: &serde_json::Value| {
        let name = end["netns"].as_str().unwrap_or(".");
        match dumped.iter().find(|(n, _)| *n == name) {
            Some((_, dump)) => dump.clone(),
            None => json(&ip(sb, name, &["-j", "-d", "addr"]).stdout),
        }
    };
    let global = |dev: &serde_json::Value| -> Vec<String> {
        let mut all: Vec<String> = dev["addr_info"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["scope"] == "global")
            .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
            .collect();
        all.sort();
        all
    };
    for link in made.as_array().unwrap() {
        for (end, other) in [("a", "b"), ("b", "a")] {
            let (end, other) = (&link[end], &link[other]);
            let all = devs(end);
            let all = all.as_array().unwrap();
            let dev = all
                .iter()
                .find(|d| d["ifname"] == end["ifname"])
                .unwrap_or_else(|| panic!("{end} not in {all:?}"));
            assert_eq!(dev["ifindex"], end["ifindex"], "{end}: {dev}");
            let mut ours: Vec<String> = end["addresses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            ours.sort();
            assert_eq!(global(dev), ours, "{end}: {dev}");
            for elsewhere in all.iter().filter(|d| d["ifname"] != end["ifname"]) {
                let theirs = global(elsewhere);
                assert!(
                    !ours.iter().any(|a| theirs.contains(a)),
                    "{end}: an address on {elsewhere}"
                );
            }
            assert_eq!(dev["linkinfo"]["info_kind"], "veth", "{dev}");
            if end["netns"] == other["netns"] {
                assert_eq!(dev["link"], other["ifname"], "{end}: {dev}");
            } else {
                assert_eq!(dev["link_index"], other["ifindex"], "{end}: {dev}");
            }
            let flags = dev["flags"].as_array().unwrap();
            assert_eq!(flags.iter().any(|f| f == "UP"), up, "{end}: {dev}");
        }
    }
}

/// Bridges made (and some deleted) in `name` by ip, to take ifindexes:
/// `p1`..`pN`, but those in `gone`.
fn take_indexes(sb: &Sandbox, name: &str, n: usize, gone: &[usize]) {
    let script: String = (1..=n)
        .map(|i| format!("link add p{i} type bridge\n"))
        .chain(gone.iter().map(|i| format!("link del p{i}\n")))
        .collect();
    let out = sb.run(
        "exec",
        &[name, "sh", "-c", &format!("printf '{script}' | ip -b -")],
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
}

/// One RTM_GETLINK a link reads the peer's ifindex from end a's reply
/// (IFLA_LINK): with the ends' namespaces holding other devices (made
/// and deleted before, hundreds in one), both ends in one namespace,
/// bridges on either end, MTUs, IPv6 and --no-up, each address is on
/// the device the output names, whose ifindex it gives, and whose peer
/// is the other end.
#[test]
fn each_address_is_on_the_end_named_where_the_peers_index_differs() {
    let sb = Sandbox::with(&["a", "b", "big"]);
    take_indexes(&sb, "a", 3, &[]);
    take_indexes(&sb, "b", 5, &[2, 4]);
    take_indexes(&sb, "big", 300, &[7, 100, 299]);
    let out = sb.run_stdin(
        "link",
        &["--json", "--nodad", "-"],
        "a -a 10.0.0.1/24 -a fd00::1/64 b -a 10.0.0.2/24 -a fd00::2/64\n\
         b -a 10.0.1.1/24 --mtu 1400 a -a 10.0.1.2/24 --mtu 1400\n\
         a -n s1 -a 10.0.2.1/24 --mtu 9000 a -n s2 -a 10.0.2.2/24 --mtu 9000\n\
         big -b br0 -a 10.0.3.1/24 a -a 10.0.3.2/24\n\
         a -b br1 -a 10.0.4.1/24 big -b br2 -a 10.0.4.2/24 -a fd04::2/64\n\
         big -a fd01::1/64 b -a fd01::2/64\n\
         big -n q1 -a 10.0.5.1/24 big -n q2 -a 10.0.5.2/24 -b br0\n\
         b big\n",
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    let made = json(&out.stdout);
    assert_eq!(made.as_array().unwrap().len(), 8, "{made}");
    assert!(
        made.as_array()
            .unwrap()
            .iter()
            .all(|l| l["a"]["ifindex"] != l["b"]["ifindex"]),
        "every pair's indexes differ: {made}"
    );
    assert_each_end_is_where_it_is_said(&sb, &made, &[], true);
    for (name, dev, mtu) in [("a", "s2", 9000), ("b", "eth0", 1500), ("b", "eth1", 1400)] {
        let shown = json(&ip(&sb, name, &["-j", "link", "show", dev]).stdout);
        assert_eq!(shown[0]["mtu"], mtu, "{name} {dev}: {shown}");
    }
    let out = sb.run_stdin(
        "link",
        &["--json", "--no-up", "-"],
        "big -a 10.0.6.1/24 b -a 10.0.6.2/24\nb -a fd06::1/64 big -a fd06::2/64\n",
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_each_end_is_where_it_is_said(&sb, &json(&out.stdout), &[], false);
}

/// The same with the end `.` as a and as b (in a network namespace of
/// the test's own, with devices of its own before). Both namespaces are
/// read before the script ends: with its namespace go the links that
/// have an end there, and `a` loses its ends too (a race, as the
/// kernel's clean-up of a namespace runs later).
#[test]
fn each_address_is_on_the_end_named_with_the_host_end() {
    let sb = Sandbox::with(&["a"]);
    take_indexes(&sb, "a", 4, &[1]);
    let out = crate::util::in_new_netns(
        &sb,
        "ip link add h1 type bridge
         ip link add h2 type bridge
         ip link del h1
         printf '. -a 10.1.0.1/24 -a fd10::1/64 a -a 10.1.0.2/24\n\
                 a -a 10.1.1.1/24 -b bra . -a 10.1.1.2/24 -b brh\n\
                 . -n x -a 10.1.2.1/24 . -n y -a fd12::2/64\n' |
             netns-link --json --nodad -
         echo ---
         ip -j -d addr
         echo ---
         netns-exec a ip -j -d addr",
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    let parts: Vec<&str> = out.stdout.split("---\n").collect();
    let [made, host, a] = parts[..] else {
        panic!("{out:?}")
    };
    let made = json(made);
    assert_eq!(made.as_array().unwrap().len(), 3, "{made}");
    let dumped = [(".", json(host)), ("a", json(a))];
    assert_each_end_is_where_it_is_said(&sb, &made, &dumped, true);
}

/// A batch's sockets are made by one task that enters each namespace in
/// turn: as root of a user namespace (`unshare -U -r -m`, a tmpfs run
/// dir), a name bound to a namespace it does not own (EPERM on setns),
/// stale files, a name that holds another kind of namespace and one
/// that is missing, among good lines: the good ones are made, each bad
/// one fails with its line number and path, and leaves nothing.
#[test]
fn a_batch_with_namespaces_it_cannot_enter_makes_the_others() {
    let sb = Sandbox::with(&["foreign"]);
    let foreign = sb.file("foreign");
    let out = crate::util::in_new_namespaces(
        &sb,
        &["-U", "-r", "-m"],
        &format!(
            "mount -t tmpfs -o mode=700 userns /mnt
             export NETNS_RUN_DIR=/mnt
             netns-add a b c d
             touch /mnt/host /mnt/uts /mnt/empty
             mount --bind {} /mnt/host
             mount --bind /proc/self/ns/uts /mnt/uts
             echo junk > /mnt/stale
             printf 'a -a 10.0.0.1/24 b -a 10.0.0.2/24\n\
                     host c\n\
                     b c -a 10.0.1.2/24\n\
                     stale a\n\
                     c d -a fd00::1/64\n\
                     a empty\n\
                     d -b br a\n\
                     c -n x host\n\
                     uts a\n\
                     b missing\n\
                     d -a 10.0.2.1/24 c -a 10.0.2.2/24\n' |
                 netns-link - || echo failed
             for n in a b c d; do
                 echo $n $(netns-exec $n ip -br link | cut -d@ -f1 | cut -d' ' -f1 | sort)
             done",
            foreign.display()
        ),
    );
    assert_eq!(out.code, 0, "{out:?}");
    let devices: Vec<&str> = out.stdout.lines().skip_while(|l| *l != "failed").collect();
    assert_eq!(
        devices,
        [
            "failed",
            "a eth0 eth1 lo",
            "b eth0 eth1 lo",
            "c eth0 eth1 eth2 lo",
            "d br eth0 eth1 eth2 lo"
        ],
        "{out:?}"
    );
    assert_eq!(
        out.stdout.lines().count(),
        5 + 5,
        "five links made: {out:?}"
    );
    let eperm = "Operation not permitted (this needs CAP_SYS_ADMIN over it";
    let no_netns = "holds no network namespace";
    let expected = [
        (2, "cannot enter \"/mnt/host\": ", eperm),
        (4, "\"/mnt/stale\" ", no_netns),
        (6, "\"/mnt/empty\" ", no_netns),
        (8, "cannot enter \"/mnt/host\": ", eperm),
        (9, "\"/mnt/uts\" ", no_netns),
        (
            10,
            "cannot open \"/mnt/missing\": ",
            "No such file or directory",
        ),
    ];
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{out:?}");
    for (line, (n, what, why)) in lines.iter().zip(expected) {
        let start = format!("netns-link: line {n} of stdin: {what}{why}");
        assert!(line.starts_with(&start), "{line}, not {start}");
    }
}

/// The task that makes a batch's sockets failing midway (strace
/// injection, counted per task: its second setns refused or killed, its
/// second socket refused, its clone refused) leaves each socket it did
/// not make to be made alone: every link is made, as ip sees it.
#[test]
fn a_batch_whose_socket_task_fails_midway_is_made_all_the_same() {
    for inject in [
        "setns:error=EPERM:when=2",
        "setns:signal=SIGKILL:when=2",
        "socket:error=EMFILE:when=2",
        "clone:error=EAGAIN:when=1",
    ] {
        let sb = Sandbox::with(&["a", "b", "c"]);
        let mut cmd = Command::new("strace");
        cmd.args(["-f", "-qq", "-o", "/dev/null", "-e"])
            .arg(format!("inject={inject}"))
            .arg(bin("link"))
            .args(["--run-dir", sb.run.to_str().unwrap(), "--json", "-"]);
        let out = output(
            &mut cmd,
            "a -a 10.0.0.1/24 b -a 10.0.0.2/24\nb c -a fd00::2/64\nc a\n",
        );
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (0, ""),
            "{inject}: {out:?}"
        );
        let made = json(&out.stdout);
        assert_eq!(made.as_array().unwrap().len(), 3, "{inject}: {made}");
        assert_each_end_is_where_it_is_said(&sb, &made, &[], true);
    }
}
