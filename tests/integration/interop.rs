//! Interop with the real `ip netns` in the default run dir, /run/netns:
//! what ours makes, ip uses, and the other way round. Names are unique to
//! this test process and removed on drop, even when a test fails.

use std::path::Path;
use std::process::Command;

use crate::util::{Output, bin, json, output, remove_entry};

/// Names in /run/netns that this test owns: `nt-<pid>-<tag>`.
struct SystemNames(Vec<String>);

impl SystemNames {
    fn new(tags: &[&str]) -> Self {
        let pid = std::process::id();
        SystemNames(tags.iter().map(|t| format!("nt-{pid}-{t}")).collect())
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
