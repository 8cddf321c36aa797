//! Interop with the real `ip netns` in the default run dir, /run/netns:
//! what ours makes, ip uses, and the other way round. Names are unique to
//! this test process and removed on drop, even when a test fails.

use std::path::Path;
use std::process::Command;

use crate::util::{Output, Procs, bin, json, output, remove_entry};
use crate::watch::Watcher;

/// Names in /run/netns that this test owns: `nt-<pid>-<tag>`.
pub struct SystemNames(pub Vec<String>);

impl SystemNames {
    pub fn new(tags: &[&str]) -> Self {
        let run = crate::util::tag();
        SystemNames(tags.iter().map(|t| format!("nt-{run}-{t}")).collect())
    }
}

impl Drop for SystemNames {
    fn drop(&mut self) {
        for name in &self.0 {
            remove_entry(&Path::new(netns_run_dir()).join(name));
        }
    }
}

fn netns_run_dir() -> &'static str {
    "/run/netns"
}

fn ours(verb: &str, args: &[&str]) -> Output {
    output(
        Command::new(bin(verb))
            .env_remove("NETNS_RUN_DIR")
            .args(args),
        "",
    )
}

fn ip(args: &[&str]) -> Output {
    output(Command::new("ip").args(args), "")
}

fn line_for<'a>(listing: &'a str, name: &str) -> Option<&'a str> {
    listing
        .lines()
        .find(|l| *l == name || l.starts_with(&format!("{name} ")))
}

#[test]
fn ip_uses_and_deletes_what_we_add() {
    let names = SystemNames::new(&["ours"]);
    let name = names.0[0].as_str();
    let out = ours("add", &[name]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(line_for(&ip(&["netns", "list"]).stdout, name), Some(name));
    let inside = ip(&["netns", "exec", name, "ip", "-j", "link"]);
    assert_eq!(inside.code, 0, "{inside:?}");
    let links = json(&inside.stdout);
    assert_eq!(links.as_array().map(Vec::len), Some(1), "only lo: {links}");
    assert_eq!(links[0]["ifname"], "lo");
    let out = ip(&["netns", "del", name]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(line_for(&ours("list", &[]).stdout, name), None);
}

#[test]
fn we_list_and_delete_what_ip_adds() {
    let names = SystemNames::new(&["ip"]);
    let name = names.0[0].as_str();
    assert_eq!(ip(&["netns", "add", name]).code, 0);
    assert_eq!(line_for(&ours("list", &[]).stdout, name), Some(name));
    let out = ours("del", &[name]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(line_for(&ip(&["netns", "list"]).stdout, name), None);
    assert!(!Path::new(netns_run_dir()).join(name).exists());
}

#[test]
fn nsids_show_as_ip_shows_them_in_text_and_json() {
    let names = SystemNames::new(&["id"]);
    let name = names.0[0].as_str();
    assert_eq!(ours("add", &[name]).code, 0);
    let out = ip(&["netns", "set", name, "auto"]);
    assert_eq!(out.code, 0, "{out:?}");
    let theirs = ip(&["netns", "list"]).stdout;
    let line = line_for(&theirs, name).expect("ip lists it").to_owned();
    assert!(line.contains(" (id: "), "{line}");
    assert_eq!(
        line_for(&ours("list", &[]).stdout, name),
        Some(line.as_str())
    );
    let find = |doc: &serde_json::Value| {
        doc.as_array()
            .and_then(|a| a.iter().find(|o| o["name"] == name).cloned())
    };
    let mine = find(&json(&ours("list", &["--json"]).stdout));
    let ips = find(&json(&ip(&["-j", "netns", "list"]).stdout));
    assert!(mine.is_some());
    assert_eq!(mine, ips);
}

#[test]
fn pids_match_ip_for_a_busy_and_an_empty_namespace() {
    let names = SystemNames::new(&["pids", "pids-empty"]);
    let (busy, empty) = (names.0[0].as_str(), names.0[1].as_str());
    assert_eq!(ours("add", &[busy, empty]).code, 0);
    let mut procs = Procs::default();
    let mut exec = Command::new(bin("exec"));
    exec.env_remove("NETNS_RUN_DIR");
    let inside = procs.sleepers(exec, busy, 4);
    for name in [busy, empty] {
        let (mine, theirs) = (ours("pids", &[name]), ip(&["netns", "pids", name]));
        assert_eq!((mine.code, theirs.code), (0, 0), "{mine:?} {theirs:?}");
        assert_eq!(mine.stdout, theirs.stdout, "{name}");
    }
    let listed: Vec<u32> = ours("pids", &[busy])
        .stdout
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(listed, inside);
}

#[test]
fn identify_matches_ip_and_names_every_name() {
    let names = SystemNames::new(&["who", "who-too"]);
    let (one, two) = (names.0[0].as_str(), names.0[1].as_str());
    assert_eq!(ours("add", &[one]).code, 0);
    let mut procs = Procs::default();
    let mut exec = Command::new(bin("exec"));
    exec.env_remove("NETNS_RUN_DIR");
    let pid = procs.sleepers(exec, one, 0)[0].to_string();
    let identify = |pid: &str| {
        let (mine, theirs) = (ours("identify", &[pid]), ip(&["netns", "identify", pid]));
        assert_eq!((mine.code, theirs.code), (0, 0), "{mine:?} {theirs:?}");
        (mine.stdout, theirs.stdout)
    };
    assert_eq!(identify(&pid), (format!("{one}\n"), format!("{one}\n")));

    // The host namespace: ip prints an empty line where no name refers to
    // it, and one of the names where some do; ours prints them all.
    let (mine, theirs) = identify(&std::process::id().to_string());
    let theirs = theirs.trim_end_matches('\n');
    assert_eq!(mine.is_empty(), theirs.is_empty(), "{mine:?} {theirs:?}");
    assert!(theirs.is_empty() || mine.lines().any(|l| l == theirs));

    let out = ip(&["netns", "attach", two, &pid]);
    assert_eq!(out.code, 0, "{out:?}");
    let (mine, theirs) = identify(&pid);
    assert_eq!(mine, format!("{one}\n{two}\n"));
    assert!(mine.lines().any(|l| l == theirs.trim_end()), "{theirs:?}");
}

#[test]
fn ip_sees_what_we_attach() {
    let names = SystemNames::new(&["att", "att-ip"]);
    let (name, by_ip) = (names.0[0].as_str(), names.0[1].as_str());
    let mut procs = Procs::default();
    let pid =
        procs.start(Command::new("unshare").args(["--net", "sh", "-c", "echo; exec sleep 600"]));
    let out = ours("attach", &[name, &pid.to_string()]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = ip(&["netns", "identify", &pid.to_string()]);
    assert_eq!(out.stdout, format!("{name}\n"));
    assert_eq!(ip(&["netns", "attach", by_ip, &pid.to_string()]).code, 0);
    let out = ours("identify", &[&pid.to_string()]);
    assert_eq!(out.stdout, format!("{name}\n{by_ip}\n"));
}

#[test]
fn set_and_list_ids_agree_with_ip_in_text_and_json() {
    let names = SystemNames::new(&["set-a", "set-b"]);
    let (a, b) = (names.0[0].as_str(), names.0[1].as_str());
    assert_eq!(ours("add", &[a, b]).code, 0);
    // A new network namespace of the test's own: its nsid table holds only
    // what the script puts there.
    let script = format!(
        "{set} {a} 4; ip netns set {b} auto; \
         ip netns list-id; echo ---; {list} --ids; echo ---; \
         ip -j netns list-id; echo ---; {list} --ids --json; echo ---; \
         ip netns list | grep '^nt-{pid}-set'; echo ---; {list} | grep '^nt-{pid}-set'",
        set = bin("set").display(),
        list = bin("list").display(),
        pid = crate::util::tag(),
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["--net", "sh", "-ec", &script])
        .env_remove("NETNS_RUN_DIR");
    let out = output(&mut cmd, "");
    assert_eq!(out.code, 0, "{out:?}");
    let parts: Vec<&str> = out.stdout.split("---\n").collect();
    assert_eq!(
        parts[0],
        format!("nsid 0 (iproute2 netns name: {b})\nnsid 4 (iproute2 netns name: {a})\n")
    );
    assert_eq!(parts[1], parts[0]);
    assert_eq!(json(parts[2]), json(parts[3]));
    let mut ip_list: Vec<&str> = parts[4].lines().collect();
    ip_list.sort();
    assert_eq!(ip_list, parts[5].lines().collect::<Vec<_>>());
    assert_eq!(parts[5], format!("{a} (id: 4)\n{b} (id: 0)\n"));
}

#[test]
fn watch_reports_ours_and_ips_adds_and_deletes_in_order() {
    let names = SystemNames::new(&["w-ready", "w-a", "w-b"]);
    let [ready, a, b] = [0, 1, 2].map(|i| names.0[i].as_str());
    assert_eq!(ours("add", &[ready]).code, 0);
    let mut cmd = Command::new(bin("watch"));
    // Names only, as ip's monitor: the host's nsids change meanwhile.
    cmd.env_remove("NETNS_RUN_DIR")
        .args(["--names", "--existing"]);
    let w = Watcher::start(cmd);
    // Other tests add and delete their own names meanwhile.
    let mine = |line: &str| names.0.iter().any(|n| line.ends_with(&format!(" {n}")));
    assert_eq!(w.line_where(mine), format!("add {ready}"));
    let step = |out: Output, line: String| {
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(w.line_where(mine), line);
    };
    step(ours("add", &[a]), format!("add {a}"));
    step(ip(&["netns", "add", b]), format!("add {b}"));
    step(ours("del", &[b]), format!("delete {b}"));
    step(ip(&["netns", "del", a]), format!("delete {a}"));
}

#[test]
fn list_dev_finds_devices_in_namespaces_ip_made() {
    let names = SystemNames::new(&["dev1", "dev2"]);
    let (one, two) = (names.0[0].as_str(), names.0[1].as_str());
    for name in [one, two] {
        assert_eq!(ip(&["netns", "add", name]).code, 0);
    }
    let made = ip(&[
        "-n", one, "link", "add", "ntd1", "type", "veth", "peer", "name", "ntd2", "netns", two,
    ]);
    assert_eq!(made.code, 0, "{made:?}");
    let prefix = format!("nt-{}-", crate::util::tag());
    let ours_of = |dev: &str| -> Vec<String> {
        let out = ours("list", &["--dev", dev]);
        assert_eq!(out.code, 0, "{out:?}");
        out.stdout
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .map(String::from)
            .collect()
    };
    assert_eq!(ours_of("ntd1"), [one]);
    assert_eq!(ours_of("ntd2"), [two]);
}
