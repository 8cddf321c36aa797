//! netns-link: veth pairs between named namespaces, with addresses,
//! bridges and state, checked through `ip` inside each namespace, pings
//! across them (traffic only inside the test's namespaces), and nothing
//! left of a link that failed.

use std::path::Path;
use std::process::Command;

use crate::util::{Output, Sandbox, bin, json, output, stale_file};

/// `ip ARGS` inside the namespace `name` of the sandbox (after `--`: a
/// name may start with -).
pub(crate) fn ip(sb: &Sandbox, name: &str, args: &[&str]) -> Output {
    let mut all = vec!["--", name, "ip"];
    all.extend_from_slice(args);
    sb.run("exec", &all)
}

/// The interfaces of `name` but lo, sorted.
pub(crate) fn devices(sb: &Sandbox, name: &str) -> Vec<String> {
    let out = ip(sb, name, &["-j", "link"]);
    assert_eq!(out.code, 0, "{out:?}");
    let mut names: Vec<String> = json(&out.stdout)
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["ifname"].as_str().unwrap().to_owned())
        .filter(|n| n != "lo")
        .collect();
    names.sort();
    names
}

/// `netns-link -` in the sandbox, its output piped, and its stdin for
/// the test to write lines to as it goes.
pub(crate) fn link_stdin(sb: &Sandbox) -> (std::process::Child, std::process::ChildStdin) {
    crate::util::spawn_piped(sb.cmd("link").arg("-"))
}

/// Waits (10 s at most) until namespace `name` has a device `dev`: the
/// line `what` made.
pub(crate) fn await_device(sb: &Sandbox, name: &str, dev: &str, what: &str) {
    let start = std::time::Instant::now();
    while !devices(sb, name).iter().any(|d| d == dev) {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "{what} not made"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A ping across (one packet, 5 s for ARP and the carrier to settle).
fn pings(sb: &Sandbox, name: &str, to: &str) -> bool {
    ip(sb, name, &["-br", "addr"]);
    let out = sb.run("exec", &[name, "ping", "-c1", "-W5", "-n", "-q", to]);
    out.code == 0
}

/// Each end of each link in `--json` output agrees with `ip -j addr` in
/// its namespace: the ifindex, every global address, and the device up.
fn assert_agrees_with_ip(sb: &Sandbox, made: &serde_json::Value) {
    for link in made.as_array().unwrap() {
        for end in ["a", "b"] {
            let end = &link[end];
            let netns = end["netns"].as_str().unwrap();
            let out = ip(sb, netns, &["-j", "addr"]);
            let all = json(&out.stdout);
            let dev = all
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["ifname"] == end["ifname"])
                .unwrap_or_else(|| panic!("{end} not in {}", out.stdout));
            assert_eq!(dev["ifindex"], end["ifindex"], "{dev}");
            let mut theirs: Vec<String> = dev["addr_info"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["scope"] == "global")
                .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
                .collect();
            let mut ours: Vec<String> = end["addresses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            theirs.sort();
            ours.sort();
            assert_eq!(theirs, ours, "{dev}");
            let flags = dev["flags"].as_array().unwrap();
            assert!(flags.iter().any(|f| f == "UP"), "{dev}");
        }
    }
}

#[test]
fn a_chain_and_a_lan_made_on_the_command_line_and_from_stdin() {
    let sb = Sandbox::with(&["a", "b:1", "c=2", "hub", "h1", "h2"]);
    let out = sb.run(
        "link",
        &[
            "--nodad",
            "a",
            "-a",
            "10.0.0.0/31",
            "-a",
            "fd00::/127",
            "b:1",
            "--addr",
            "10.0.0.1/31",
            "--addr",
            "fd00::1/127",
            "--name",
            "up",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "netns a dev eth0 index 2 addr 10.0.0.0/31 addr fd00::/127 \
         peer netns b:1 dev up index 2 addr 10.0.0.1/31 addr fd00::1/127\n"
    );
    assert_eq!(out.stderr, "");
    let lines = "b:1 -a 10.0.1.0/31 c=2 -a 10.0.1.1/31 --mtu 1400\n\
                 \n\
                 h1 -a 10.9.0.1/24 hub --bridge br0\n\
                 h2 -a 10.9.0.2/24 hub -b br0\n";
    let out = sb.run_stdin("link", &["--json", "-"], lines);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stderr, "");
    let made = json(&out.stdout);
    assert_eq!(made.as_array().unwrap().len(), 3, "{made}");
    assert_eq!(made[0]["a"]["ifname"], "eth0", "b:1's next free ethN");
    assert_eq!(made[1]["b"]["ifname"], "eth0");
    assert_eq!(made[2]["b"]["ifname"], "eth1", "the bridge's next port");
    assert_agrees_with_ip(&sb, &made);
    assert_eq!(devices(&sb, "hub"), ["br0", "eth0", "eth1"]);
    let port = json(&ip(&sb, "hub", &["-j", "link", "show", "eth1"]).stdout);
    assert_eq!(port[0]["master"], "br0", "{port}");
    let mtu = json(&ip(&sb, "c=2", &["-j", "link", "show", "eth0"]).stdout);
    assert_eq!(mtu[0]["mtu"], 1400, "{mtu}");
    let lo = json(&ip(&sb, "h1", &["-j", "link", "show", "lo"]).stdout);
    assert!(lo[0]["flags"].to_string().contains("\"UP\""), "{lo}");
    assert!(pings(&sb, "a", "10.0.0.1"), "across a - b:1");
    assert!(pings(&sb, "a", "fd00::1"), "IPv6, at once with --nodad");
    assert!(pings(&sb, "c=2", "10.0.1.0"), "across b:1 - c=2");
    assert!(pings(&sb, "h1", "10.9.0.2"), "across the bridge");
    // The text of the first line agrees with ip too.
    let out = sb.run("link", &["--json", "a", "-a", "10.0.2.0/31", "h1"]);
    assert_agrees_with_ip(&sb, &json(&out.stdout));
    // Removed by either end: both go.
    let out = sb.run("link", &["--delete", "hub", "eth0"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(devices(&sb, "h1"), ["eth1"]);
    assert_eq!(devices(&sb, "hub"), ["br0", "eth1"]);
    let out = sb.run_stdin("link", &["--delete", "-"], "h2 eth0\nb:1 up\n");
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(devices(&sb, "a"), ["eth1"]);
    assert_eq!(devices(&sb, "h2"), Vec::<String>::new());
}

/// A chain of ten from a `seq | awk` pipeline, as the README writes one.
#[test]
fn a_chain_from_the_readme_pipeline() {
    let names: Vec<String> = (1..=10).map(|i| format!("n{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let sb = Sandbox::with(&names);
    let script = format!(
        "seq 9 | awk '{{print \"n\"$1, \"-a 10.\"int($1/256)\".\"$1%256\".0/31\", \
         \"n\"$1+1, \"-a 10.\"int($1/256)\".\"$1%256\".1/31\"}}' | {} --run-dir {} -",
        bin("link").display(),
        sb.run.display()
    );
    let out = output(Command::new("sh").args(["-c", &script]), "");
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(out.stdout.lines().count(), 9, "{out:?}");
    assert_eq!(devices(&sb, "n5"), ["eth0", "eth1"]);
    assert!(pings(&sb, "n5", "10.0.5.1"));
    assert!(pings(&sb, "n5", "10.0.4.0"));
}

/// Every bad input, alone (its exit status and message) and then all of
/// them in one batch between good lines: each reported with its line
/// number, the good lines made, nothing else left in any namespace.
#[test]
fn bad_input_is_reported_and_leaves_nothing() {
    let sb = Sandbox::with(&["a", "b"]);
    stale_file(&sb.file("stale"));
    let run = sb.run.display().to_string();
    let cases: &[(&str, i32, String)] = &[
        (
            "nope a",
            1,
            format!("cannot open \"{run}/nope\": No such file or directory"),
        ),
        (
            "stale a",
            1,
            format!("\"{run}/stale\" holds no network namespace"),
        ),
        ("a/b a", 1, "invalid name \"a/b\"".into()),
        (
            "a -n lo b",
            1,
            format!(
                "cannot make the veth pair \"lo\" in \"{run}/a\" and \"eth*\" in \"{run}/b\": File exists"
            ),
        ),
        (
            "a -n abcdefghijklmnop b",
            2,
            "invalid interface name \"abcdefghijklmnop\": it is longer than 15 bytes".into(),
        ),
        (
            "a -a 10.0.0.300/24 b",
            2,
            "invalid address \"10.0.0.300/24\"".into(),
        ),
        (
            "a -a 10.0.0.1/33 b",
            2,
            "invalid prefix length in \"10.0.0.1/33\" (0 to 32)".into(),
        ),
        (
            "a -a 10.0.0.1/24 -a 10.0.0.1/24 b",
            1,
            format!("address 10.0.0.1/24 is given twice for \"eth*\" in \"{run}/a\""),
        ),
        (
            "a b -b lo",
            1,
            format!("\"lo\" in \"{run}/b\" is not a bridge"),
        ),
        (
            "a b --mtu 99999999",
            1,
            format!(
                "cannot make the veth pair \"eth*\" in \"{run}/a\" and \"eth*\" in \"{run}/b\": Invalid argument"
            ),
        ),
        ("a", 2, "a link needs two NETNS".into()),
        ("-n x a b", 2, "-n comes before any NETNS".into()),
        ("a b c", 2, "unexpected argument \"c\"".into()),
    ];
    for (words, code, message) in cases {
        let args: Vec<&str> = words.split(' ').collect();
        let out = sb.run("link", &args);
        assert_eq!(out.code, *code, "{words}: {out:?}");
        assert!(out.stderr.starts_with("netns-link: "), "{words}: {out:?}");
        assert!(says(&out.stderr, message), "{words}: {out:?}");
        assert_eq!(out.stdout, "", "{words}: {out:?}");
        assert_eq!(devices(&sb, "a"), Vec::<String>::new(), "{words}");
        assert_eq!(devices(&sb, "b"), Vec::<String>::new(), "{words}");
    }
    // All of them in one batch, a good line first and last.
    let mut lines = vec!["a -n first b -n first".to_owned()];
    lines.extend(cases.iter().map(|(words, _, _)| words.to_string()));
    lines.push("\"a\" -n \"last\" b -n last".to_owned());
    lines.push("a -n \"open b".to_owned());
    let out = sb.run_stdin("link", &["-"], &lines.join("\n"));
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout.lines().count(), 2, "{out:?}");
    let errors: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(errors.len(), cases.len() + 1, "{out:?}");
    for (i, (words, _, message)) in cases.iter().enumerate() {
        let prefix = format!("netns-link: line {} of stdin: ", i + 2);
        assert!(errors[i].starts_with(&prefix), "{words}: {}", errors[i]);
        assert!(says(errors[i], message), "{words}: {}", errors[i]);
    }
    assert_eq!(
        errors[cases.len()],
        format!(
            "netns-link: line {} of stdin: a double quote is not closed",
            cases.len() + 3
        )
    );
    assert_eq!(devices(&sb, "a"), ["first", "last"]);
    assert_eq!(devices(&sb, "b"), ["first", "last"]);
    // A link refused for a name another link has leaves that link be.
    let out = sb.run("link", &["a", "-n", "first", "b", "-n", "other"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.ends_with(": File exists\n"), "{out:?}");
    assert_eq!(devices(&sb, "a"), ["first", "last"]);
    assert_eq!(devices(&sb, "b"), ["first", "last"]);
}

/// Whether `text` has the parts of `message` between its `*`s, in order
/// (an `ethN` that a batch chose is any N).
fn says(text: &str, message: &str) -> bool {
    let mut rest = text;
    message.split('*').all(|part| match rest.find(part) {
        Some(at) => {
            rest = &rest[at + part.len()..];
            true
        }
        None => false,
    })
}

/// Each netlink send and receive failing in turn (strace injection):
/// every run leaves the whole link, addresses and state, or nothing.
#[test]
fn a_failed_send_or_receive_leaves_the_whole_link_or_nothing() {
    let sb = Sandbox::with(&["a", "b"]);
    let args = [
        "--run-dir",
        sb.run.to_str().unwrap(),
        "a",
        "-a",
        "10.0.0.0/31",
        "b",
        "-a",
        "10.0.0.1/31",
        "-b",
        "br0",
    ];
    for call in ["sendto", "recvfrom"] {
        for when in 1.. {
            let mut cmd = Command::new("strace");
            cmd.args(["-f", "-qq", "-o", "/dev/null", "-e"])
                .arg(format!("inject={call}:error=ENOBUFS:when={when}"))
                .arg(bin("link"))
                .args(args);
            let out = output(&mut cmd, "");
            let what = format!("{call} #{when}: {out:?}");
            let (a, b) = (devices(&sb, "a"), devices(&sb, "b"));
            match out.code {
                0 => {
                    assert_eq!(
                        (a, b),
                        (vec!["eth0".to_owned()], vec!["br0".into(), "eth0".into()]),
                        "{what}"
                    );
                    let addr = json(&ip(&sb, "b", &["-j", "addr", "show", "eth0"]).stdout);
                    assert_eq!(addr[0]["addr_info"][0]["local"], "10.0.0.1", "{what}");
                    assert_eq!(addr[0]["master"], "br0", "{what}");
                    assert!(addr[0]["flags"].to_string().contains("\"UP\""), "{what}");
                    // Past the last call: every one has failed once.
                    assert!(when > 8, "{what}: too few calls failed");
                    assert_eq!(sb.run("link", &["--delete", "a", "eth0"]).code, 0);
                    assert_eq!(ip(&sb, "b", &["link", "del", "br0"]).code, 0);
                    break;
                }
                1 => {
                    assert!(out.stderr.starts_with("netns-link: cannot "), "{what}");
                    assert_eq!((a, b), (vec![], vec![]), "{what}: nothing left");
                }
                _ => panic!("{what}"),
            }
        }
    }
}

/// Namespaces made by `ip netns add` in /run/netns, linked by ours;
/// the host's end; a namespace deleted takes its link with it.
#[test]
fn interop_with_ip_and_the_host_end() {
    let tag = crate::util::tag();
    let names = [format!("nt-{tag}-l1"), format!("nt-{tag}-l2")];
    let _guard = SystemNames(names.to_vec());
    let host = HostVeth(format!("nt{tag}l"));
    for name in &names {
        let out = output(Command::new("ip").args(["netns", "add", name]), "");
        assert_eq!(out.code, 0, "{out:?}");
    }
    let system = |args: &[&str]| {
        output(
            Command::new(bin("link"))
                .env_remove("NETNS_RUN_DIR")
                .args(args),
            "",
        )
    };
    let ip_n = |name: &str, args: &[&str]| {
        let out = output(Command::new("ip").arg("-n").arg(name).args(args), "");
        assert_eq!(out.code, 0, "{out:?}");
        out.stdout
    };
    let (l1, l2) = (names[0].as_str(), names[1].as_str());
    let out = system(&[l1, "-a", "10.0.0.0/31", l2, "-a", "10.0.0.1/31"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    let out = system(&["--json", l1, "-n", "up", ".", "-n", &host.0]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    let made = json(&out.stdout);
    assert_eq!(made[0]["b"]["netns"], serde_json::Value::Null);
    assert!(Path::new("/sys/class/net").join(&host.0).exists());
    let addrs = ip_n(l2, &["-br", "addr", "show", "eth0"]);
    assert!(addrs.contains("10.0.0.1/31"), "{addrs}");
    let out = output(
        Command::new("ip").args(["netns", "exec", l1, "ping", "-c1", "-W5", "-q", "10.0.0.1"]),
        "",
    );
    assert_eq!(out.code, 0, "{out:?}");
    // Removed by its host end.
    let out = system(&["--delete", ".", &host.0]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert!(!Path::new("/sys/class/net").join(&host.0).exists());
    assert!(!ip_n(l1, &["-br", "link"]).contains("up@"));
    // The namespace's deletion takes the other end along (the kernel's
    // cleanup runs apart: waited for).
    let out = output(Command::new("ip").args(["netns", "del", l2]), "");
    assert_eq!(out.code, 0, "{out:?}");
    let start = std::time::Instant::now();
    while ip_n(l1, &["-br", "link"]).contains("eth0") {
        assert!(
            start.elapsed().as_secs() < 10,
            "eth0 outlived its peer's namespace"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Names in /run/netns of this test's own, removed on drop.
struct SystemNames(Vec<String>);

impl Drop for SystemNames {
    fn drop(&mut self) {
        for name in &self.0 {
            crate::util::remove_entry(&Path::new("/run/netns").join(name));
        }
    }
}

/// A host veth of this test's own (`nt<tag>l`, which the leak check of
/// `cargo xtask test` looks for), removed on drop.
struct HostVeth(String);

impl Drop for HostVeth {
    fn drop(&mut self) {
        let mut del = Command::new("ip");
        let _ = crate::util::try_output(
            del.args(["link", "del", &self.0]),
            "",
            std::time::Duration::from_secs(10),
        );
    }
}

/// As nobody, rootless: a chain of three with pings; `del --all` then
/// leaves no process and no link.
#[test]
fn as_nobody_a_chain_of_three_pings() {
    let nobody = crate::rootless::Nobody::new();
    let out = nobody.script(
        "cd \"$XDG_RUNTIME_DIR\"
         netns-add --rootless n1 n2 n3
         printf 'n1 -a 10.0.1.0/31 n2 -a 10.0.1.1/31\\nn2 -a 10.0.2.0/31 n3 -a 10.0.2.1/31\\n' |
             netns-link --rootless -
         netns-exec --rootless n1 ping -c1 -W5 -q 10.0.1.1 > /dev/null && echo ping1
         netns-exec --rootless n3 ping -c1 -W5 -q 10.0.2.0 > /dev/null && echo ping2
         netns-exec --rootless n2 ip -br link | cut -d@ -f1 | cut -d' ' -f1
         netns-del --rootless --all",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "netns n1 dev eth0 index 2 addr 10.0.1.0/31 peer netns n2 dev eth0 index 2 addr 10.0.1.1/31\n\
         netns n2 dev eth1 index 3 addr 10.0.2.0/31 peer netns n3 dev eth0 index 2 addr 10.0.2.1/31\n\
         ping1\nping2\nlo\neth0\neth1\n",
        "{out:?}"
    );
    assert_eq!(out.stderr, "", "{out:?}");
    assert!(
        nobody.keepers_end(),
        "the keeper ended, and its namespaces with it"
    );
}

/// As root of a user namespace that does not own the current network
/// namespace (`unshare -U -r -m`), with a run dir on a tmpfs of its own.
#[test]
fn as_root_of_a_user_namespace_links_work() {
    let sb = Sandbox::new();
    let out = crate::util::in_new_namespaces(
        &sb,
        &["-U", "-r", "-m"],
        "mount -t tmpfs userns /mnt
         export NETNS_RUN_DIR=/mnt/netns
         netns-add a b
         netns-link a -a 10.0.0.0/31 b -a 10.0.0.1/31
         netns-exec a ping -c1 -W5 -q 10.0.0.1 > /dev/null && echo ping
         netns-link --delete b eth0
         netns-exec a ip -br link | cut -d' ' -f1
         netns-del --all",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "netns a dev eth0 index 2 addr 10.0.0.0/31 peer netns b dev eth0 index 2 addr 10.0.0.1/31\n\
         ping\nlo\n",
        "{out:?}"
    );
    assert_eq!(out.stderr, "", "{out:?}");
}

/// A name that starts with `-` is a NETNS through `--netns`, on the
/// command line and in a line of `-`; `.` is no name, but this namespace.
#[test]
fn a_name_that_starts_with_a_dash_is_given_with_netns() {
    let sb = Sandbox::new();
    assert_eq!(sb.run("add", &["--", "-x", "y"]).code, 0);
    let out = sb.run("link", &["--netns", "-x", "-a", "10.0.0.0/31", "y"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert!(out.stdout.starts_with("netns -x dev eth0 "), "{out:?}");
    let out = sb.run_stdin("link", &["-"], "y -n z --netns -x\n");
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    let out = sb.run("exec", &["--", "-x", "ip", "-br", "addr", "show", "eth0"]);
    assert!(out.stdout.contains("10.0.0.0/31"), "{out:?}");
    assert_eq!(devices(&sb, "y"), ["eth0", "z"]);
}

/// `ip -j addr` of `name`: each device's name and its addresses but the
/// link-local ones, as `ADDR/LEN`.
fn addresses(sb: &Sandbox, name: &str) -> Vec<(String, Vec<String>)> {
    let out = ip(sb, name, &["-j", "addr"]);
    assert_eq!(out.code, 0, "{out:?}");
    let mut all: Vec<(String, Vec<String>)> = json(&out.stdout)
        .as_array()
        .unwrap()
        .iter()
        .map(|dev| {
            let addrs = dev["addr_info"].as_array().unwrap().iter();
            let addrs = addrs.filter(|a| a["scope"] != "link" && a["scope"] != "host");
            let addrs =
                addrs.map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]));
            (dev["ifname"].as_str().unwrap().to_owned(), addrs.collect())
        })
        .filter(|(name, _)| name != "lo")
        .collect();
    all.sort();
    all
}

/// An address that its namespace has already (on any device, with any
/// prefix length) or that a line before takes fails the link, with
/// nothing left of it, on the command line and in a batch; one given
/// twice too; IPv6 link-local addresses are each device's own; and an
/// address held by a line the kernel then refuses is free for the lines
/// after it, as if that line had never been.
#[test]
fn an_address_already_there_fails_the_link() {
    let sb = Sandbox::with(&["a", "b", "c"]);
    let add = ip(&sb, "a", &["addr", "add", "10.1.0.1/24", "dev", "lo"]);
    assert_eq!(add.code, 0, "{add:?}");
    let run = sb.run.display();
    let out = sb.run("link", &["a", "-a", "10.1.0.1/32", "b"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr),
        (
            1,
            "",
            format!("netns-link: address 10.1.0.1/32 is already on \"lo\" in \"{run}/a\"\n")
        )
    );
    assert_eq!(devices(&sb, "a"), Vec::<String>::new());
    assert_eq!(devices(&sb, "b"), Vec::<String>::new());
    let lines = "a -a 10.0.0.0/31 b -a 10.0.0.1/31\n\
                 a -a 10.0.0.0/24 c\n\
                 c -a 10.2.0.1/24 c -a 10.2.0.1/30\n\
                 a -a fd00::1/64 -a fd00::1/128 b\n\
                 a -a fe80::1/64 a -a fe80::1/64\n\
                 b -a 10.0.0.1/31 c\n\
                 a -a 10.9.0.1/24 b --mtu 99999999\n\
                 a -a 10.9.0.1/24 c -a 10.0.0.1/31\n";
    let out = sb.run_stdin("link", &["-"], lines);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "netns-link: line 2 of stdin: address 10.0.0.0/24 is already on \"eth0\" in \"{run}/a\"\n\
             netns-link: line 3 of stdin: address 10.2.0.1/30 is already on \"eth0\" in \"{run}/c\"\n\
             netns-link: line 4 of stdin: address fd00::1/128 is given twice for \"eth1\" in \"{run}/a\"\n\
             netns-link: line 6 of stdin: address 10.0.0.1/31 is already on \"eth0\" in \"{run}/b\"\n\
             netns-link: line 7 of stdin: cannot make the veth pair \"eth3\" in \"{run}/a\" and \"eth1\" in \"{run}/b\": Invalid argument\n"
        ),
        "{out:?}"
    );
    assert_eq!(
        without_indexes(&out.stdout),
        "netns a dev eth0 addr 10.0.0.0/31 peer netns b dev eth0 addr 10.0.0.1/31\n\
         netns a dev eth1 addr fe80::1/64 peer netns a dev eth2 addr fe80::1/64\n\
         netns a dev eth3 addr 10.9.0.1/24 peer netns c dev eth0 addr 10.0.0.1/31\n",
        "{out:?}"
    );
    let (one, none) = (|a: &str| vec![a.to_owned()], Vec::<String>::new);
    assert_eq!(
        addresses(&sb, "a"),
        [
            ("eth0".to_owned(), one("10.0.0.0/31")),
            ("eth1".into(), none()),
            ("eth2".into(), none()),
            ("eth3".into(), one("10.9.0.1/24")),
        ]
    );
    assert_eq!(
        addresses(&sb, "b"),
        [("eth0".to_owned(), one("10.0.0.1/31"))]
    );
    assert_eq!(
        addresses(&sb, "c"),
        [("eth0".to_owned(), one("10.0.0.1/31"))]
    );
}

/// Lines of netns-link's output without their `index N`s (the kernel's
/// to choose).
fn without_indexes(text: &str) -> String {
    let mut lines = String::new();
    for line in text.lines() {
        let mut words = line.split(' ');
        let mut kept = Vec::new();
        while let Some(word) = words.next() {
            match word {
                "index" => drop(words.next()),
                word => kept.push(word),
            }
        }
        lines.push_str(&kept.join(" "));
        lines.push('\n');
    }
    lines
}

/// `--no-up` leaves down all that a link makes, a bridge too, and lo.
#[test]
fn no_up_leaves_the_ends_the_bridge_and_lo_down() {
    let sb = Sandbox::with(&["a", "b"]);
    let out = sb.run("link", &["--no-up", "a", "b", "-b", "br0"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    for (name, devs) in [("a", &["lo", "eth0"][..]), ("b", &["lo", "br0", "eth0"])] {
        let all = json(&ip(&sb, name, &["-j", "link"]).stdout);
        let all = all.as_array().unwrap();
        assert_eq!(all.len(), devs.len(), "{all:?}");
        for dev in all {
            assert!(devs.contains(&dev["ifname"].as_str().unwrap()), "{dev}");
            let flags = dev["flags"].as_array().unwrap();
            assert!(!flags.iter().any(|f| f == "UP"), "{name}: {dev}");
        }
    }
    let port = json(&ip(&sb, "b", &["-j", "link", "show", "eth0"]).stdout);
    assert_eq!(port[0]["master"], "br0", "{port}");
}

/// The command's options may follow the link's words (`a b --json`, `-
/// --json`), as other verbs take theirs after their names, but not on a
/// line of `-`; an interface name the kernel would refuse is a usage
/// error on the command line (exit 2, nothing made), a failing line in
/// `-`.
#[test]
fn options_after_the_words_and_bad_interface_names() {
    let sb = Sandbox::with(&["a", "b"]);
    let out = sb.run("link", &["a", "b", "--json", "--no-up"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(json(&out.stdout)[0]["a"]["ifname"], "eth0", "{out:?}");
    let up = json(&ip(&sb, "a", &["-j", "link", "show", "eth0"]).stdout);
    assert!(!up[0]["flags"].to_string().contains("\"UP\""), "{up}");
    let out = sb.run_stdin("link", &["-", "--json"], "a b\n");
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(json(&out.stdout)[0]["b"]["ifname"], "eth1", "{out:?}");
    let try_help = "\nTry 'netns-link --help' for more information.\n";
    let kernel_refuses = "it contains '/', ':' or white space";
    let cases: &[(&[&str], String)] = &[
        (&["a", "--json"], "a link needs two NETNS".into()),
        (
            &["a", "b", "--delete"],
            "--delete comes before the link's words".into(),
        ),
        (
            &["a", "b", "--json", "c"],
            "unexpected argument \"c\"".into(),
        ),
        (
            &["a", "-n", "a/b", "b"],
            format!("invalid interface name \"a/b\": {kernel_refuses}"),
        ),
        (
            &["a", "b", "-n", "abcdefghijklmnop", "--json"],
            "invalid interface name \"abcdefghijklmnop\": it is longer than 15 bytes".into(),
        ),
        (
            &["--json", "a", "b", "-b", "x y"],
            format!("invalid interface name \"x y\": {kernel_refuses}"),
        ),
        (
            &["--delete", "a", "x:1", "--json"],
            format!("invalid interface name \"x:1\": {kernel_refuses}"),
        ),
    ];
    for (args, message) in cases {
        let out = sb.run("link", args);
        let expected = format!("netns-link: {message}{try_help}");
        assert_eq!(
            (out.code, out.stdout.as_str(), &out.stderr),
            (2, "", &expected),
            "{args:?}"
        );
        assert_eq!(devices(&sb, "a"), ["eth0", "eth1"], "{args:?}");
        assert_eq!(devices(&sb, "b"), ["eth0", "eth1"], "{args:?}");
    }
    // On a line of `-`, failing lines.
    let out = sb.run_stdin("link", &["-"], "a -n a/b b\na b --json\na -n ok b\n");
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "netns-link: line 1 of stdin: invalid interface name \"a/b\": {kernel_refuses}\n\
             netns-link: line 2 of stdin: --json is the command's, not a line's\n"
        ),
        "{out:?}"
    );
    assert!(out.stdout.starts_with("netns a dev ok "), "{out:?}");
    let out = sb.run_stdin("link", &["--delete", "-"], "a x/y\na ok --json\na ok\n");
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "netns-link: line 1 of stdin: invalid interface name \"x/y\": {kernel_refuses}\n\
             netns-link: line 2 of stdin: --json is the command's, not a line's\n"
        ),
        "{out:?}"
    );
    assert_eq!(devices(&sb, "a"), ["eth0", "eth1"]);
}

/// What a slow writer gave is made and printed before netns-link waits
/// for more (a terminal, a pipe from a loop): a line is not held until
/// stdin ends, and a ^C between batches leaves no made link unreported.
#[test]
fn each_batch_is_printed_before_stdin_is_waited_for() {
    use std::io::{BufRead, BufReader, Write};
    let sb = Sandbox::with(&["a", "b", "c", "d"]);
    let (mut child, mut stdin) = link_stdin(&sb);
    stdin.write_all(b"a b\n").unwrap();
    // Read on a thread of its own: a line that never comes fails the
    // test at its deadline rather than hanging it.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (sent, got) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let _ = sent.send(line);
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut rest);
        let _ = sent.send(rest);
    });
    let first = got.recv_timeout(crate::util::PATIENCE);
    stdin.write_all(b"c d\n").unwrap();
    drop(stdin);
    let rest = got.recv_timeout(crate::util::PATIENCE).unwrap_or_default();
    let status = crate::util::wait_for(&mut child, "netns-link -");
    assert_eq!(
        first.as_deref().ok(),
        Some("netns a dev eth0 index 2 peer netns b dev eth0 index 2\n"),
        "the first line before stdin ends"
    );
    assert_eq!(
        rest,
        "netns c dev eth0 index 2 peer netns d dev eth0 index 2\n"
    );
    assert!(status.success(), "{status:?}");
}
