//! Links: a chain of 1000 namespaces (999 veth pairs, a /31 on each end,
//! everything up) made by `netns-add -` then `netns-link -`, beside the
//! fastest `ip` form (one `ip -batch` for the pairs placed straight into
//! both namespaces, then one `ip -n NAME -batch -` per namespace for its
//! addresses, ups and lo), one `ip` process a step (on a chain of 100,
//! scaled), and the kernel floors (`floor link`: the pairs and addresses,
//! nothing else; `floor link ... up`: and the ups netns-link makes;
//! `floor add` then `floor link ... up`: beside the adds and the links
//! together); the network's teardown, `netns-del --all` beside
//! `ip -batch` deletes; and a LAN, one namespace with a bridge and 500
//! hosts linked to it, beside the fastest `ip` form of it; and links at
//! scale: chains of 100, 1000 and 10 000 links, each beside the kernel
//! floor at the same size (and the floor that also brings up what
//! netns-link brings up), a link's cost at 10 000 over its cost at 100,
//! and netns-link's peak memory. `cargo xtask bench link` runs these
//! rows alone.

use std::process::Command;
use std::time::Duration;

use super::{Bins, Row, ip, median, settle, time};

/// Links made at each size (a chain of one namespace more), and the runs
/// of each tool at that size: one at 10 000, whose adds, links and
/// deletes take most of a minute each time.
const SCALE: [(usize, usize); 3] = [(100, 5), (1000, 3), (10_000, 1)];
/// The growth of a link's cost from the smallest size to the largest
/// that the issue allows, and the peak memory at the largest.
const GROWTH_MAX: f64 = 1.3;
const PEAK_MAX_MB: f64 = 20.0;

const NODES: usize = 1000;
/// The chain the one-`ip`-a-step way is timed on, then scaled to NODES.
const STEP_NODES: usize = 100;
const RUNS: usize = 3;
/// The hosts on the LAN's bridge.
const HOSTS: usize = 500;

/// The address of end `k` (0 or 1) of link `i`: a /31 of its own.
fn addr(i: usize, k: usize) -> String {
    format!("10.{}.{}.{k}/31", i / 256, i % 256)
}

fn names(n: usize) -> String {
    (0..n).map(|i| format!("c{i}\n")).collect()
}

/// `netns-link -`'s lines for a chain of `n`.
fn chain(n: usize) -> String {
    (0..n - 1)
        .map(|i| format!("c{i} -a {} c{} -a {}\n", addr(i, 0), i + 1, addr(i, 1)))
        .collect()
}

pub(super) fn run(b: &Bins) -> Result<Vec<Row>, String> {
    let names = names(NODES);
    let lines = chain(NODES);
    let pairs: String = (0..NODES - 1)
        .map(|i| {
            format!(
                "link add r{i} netns c{i} type veth peer name l{i} netns c{}\n",
                i + 1
            )
        })
        .collect();
    let dels: String = (0..NODES).map(|i| format!("netns del c{i}\n")).collect();
    let add = |b: &Bins| time(b.cmd("netns-add").arg("-"), Some(names.as_bytes()));
    let [mut o_add, mut o_link, mut o_del] = [(); 3].map(|()| Vec::new());
    let [mut i_pairs, mut i_rest, mut i_del, mut floor, mut steps] = [(); 5].map(|()| Vec::new());
    let [mut o_lan, mut i_lan, mut floor_up, mut floor_add] = [(); 4].map(|()| Vec::new());
    // The floors of the adds and of the links, all up, one after the
    // other: the least the kernel takes for what `netns-add -` and
    // `netns-link -` do.
    let floors = |up: bool| -> Result<(Duration, Duration), String> {
        let n = NODES.to_string();
        let added = time(b.cmd("floor").args(["add", &n, "/run/netns", "c"]), None)?;
        let mut link = b.cmd("floor");
        link.args(["link", &n, "/run/netns", "c"]);
        if up {
            link.arg("up");
        }
        let linked = time(&mut link, None)?;
        time(b.cmd("netns-del").arg("--all"), None)?;
        Ok((added, linked))
    };
    for rep in 0..RUNS {
        for turn in 0..6 {
            match (rep + turn) % 6 {
                0 => {
                    o_add.push(add(b)?);
                    o_link.push(time(b.cmd("netns-link").arg("-"), Some(lines.as_bytes()))?);
                    o_del.push(time(b.cmd("netns-del").arg("--all"), None)?);
                }
                1 => {
                    add(b)?;
                    i_pairs.push(time(&mut ip(&["-batch", "-"]), Some(pairs.as_bytes()))?);
                    let mut rest = Duration::ZERO;
                    for j in 0..NODES {
                        let batch = node_batch(j, NODES);
                        let name = format!("c{j}");
                        let mut cmd = ip(&["-n", &name, "-batch", "-"]);
                        rest += time(&mut cmd, Some(batch.as_bytes()))?;
                    }
                    i_rest.push(rest);
                    i_del.push(time(&mut ip(&["-batch", "-"]), Some(dels.as_bytes()))?);
                }
                2 => floor.push(floors(false)?.1),
                3 => {
                    let (added, linked) = floors(true)?;
                    floor_add.push(added);
                    floor_up.push(linked);
                }
                4 => {
                    let (ours, theirs) = lan(b)?;
                    o_lan.push(ours);
                    i_lan.push(theirs);
                }
                _ => {
                    let small = self::names(STEP_NODES);
                    time(b.cmd("netns-add").arg("-"), Some(small.as_bytes()))?;
                    steps.push(one_ip_a_step(STEP_NODES)?);
                    time(b.cmd("netns-del").arg("--all"), None)?;
                }
            }
            settle();
        }
    }
    let scale = (NODES - 1) as f64 / (STEP_NODES - 1) as f64;
    let links = NODES - 1;
    let fastest: Vec<Duration> = i_pairs.iter().zip(&i_rest).map(|(p, r)| *p + *r).collect();
    let total: Vec<Duration> = o_add.iter().zip(&o_link).map(|(a, l)| *a + *l).collect();
    let steps: Vec<Duration> = steps.iter().map(|s| s.mul_f64(scale)).collect();
    let floor_total: Vec<Duration> = floor_add
        .iter()
        .zip(&floor_up)
        .map(|(a, l)| *a + *l)
        .collect();
    let what = format!("a chain of {NODES} ({links} links, a /31 each end, all up)");
    let row = |what: String, ours: &[Duration], reference: &str, theirs: &[Duration], target| Row {
        what: format!("{what} (median of {RUNS})"),
        ours: median(ours.to_vec()),
        reference: reference.to_owned(),
        theirs: median(theirs.to_vec()),
        target,
        note: String::new(),
    };
    let mut total_row = row(
        format!("{what}: `netns-add -` + `netns-link -`"),
        &total,
        "ip -batch pairs, then `ip -n NAME -batch -` each",
        &fastest,
        None,
    );
    let ms = median(total.clone()).as_secs_f64();
    let floor_ms = median(floor_total.clone()).as_secs_f64();
    total_row.note = format!(
        "add + link {ms:.2} s (target <= 1.5 s: {}{})",
        if ms <= 1.5 { "met" } else { "MISSED" },
        if floor_ms > 1.5 {
            format!("; below the kernel floor of {floor_ms:.2} s, next row")
        } else {
            String::new()
        }
    );
    let up_floor_ratio =
        median(floor_up.clone()).as_secs_f64() / median(floor.clone()).as_secs_f64();
    let mut rows = vec![
        row(
            format!("{what}: `netns-link -`"),
            &o_link,
            "ip -batch pairs, then `ip -n NAME -batch -` each",
            &fastest,
            Some(0.2),
        ),
        row(
            format!("{what}: `netns-link -`"),
            &o_link,
            &format!("one ip a step ({STEP_NODES} nodes, scaled x{scale:.2})"),
            &steps,
            Some(0.05),
        ),
        Row {
            note: if up_floor_ratio > 1.3 {
                format!(
                    "below the kernel's own ups: the floor with them is {up_floor_ratio:.2} of \
                     this one, next row"
                )
            } else {
                String::new()
            },
            ..row(
                format!("{what}: `netns-link -`"),
                &o_link,
                "the kernel floor (pairs and addresses)",
                &floor,
                Some(1.3),
            )
        },
        row(
            format!("{what}: `netns-link -`"),
            &o_link,
            "the kernel floor, and up what netns-link brings up",
            &floor_up,
            Some(1.3),
        ),
        Row {
            note: "where the 0.05 of one ip a step lies: at the kernel's own work".to_owned(),
            ..row(
                format!("{what}: the kernel floor, and up what netns-link brings up"),
                &floor_up,
                &format!("one ip a step ({STEP_NODES} nodes, scaled x{scale:.2})"),
                &steps,
                None,
            )
        },
        total_row,
        row(
            format!("{what}: `netns-add -` + `netns-link -`"),
            &total,
            "the kernel floors of the adds and the links, all up",
            &floor_total,
            None,
        ),
        row(
            format!("{what}: the pairs alone, ip -batch"),
            &i_pairs,
            "the kernel floor (pairs and addresses)",
            &floor,
            None,
        ),
        row(
            format!("teardown of {what}: `netns-del --all`"),
            &o_del,
            "ip -batch of netns del",
            &i_del,
            Some(1.0),
        ),
        row(
            format!("a LAN: {HOSTS} hosts on one bridge, `netns-link -`"),
            &o_lan,
            "ip -batch pairs, then `ip -n NAME -batch -` each",
            &i_lan,
            None,
        ),
    ];
    rows.extend(at_scale(b)?);
    Ok(rows)
}

/// One size of the links at scale: each tool's times, and netns-link's
/// peak resident set (KiB, the highest of its runs).
struct Size {
    links: usize,
    runs: usize,
    ours: Vec<Duration>,
    floor: Vec<Duration>,
    floor_up: Vec<Duration>,
    peak: u64,
}

impl Size {
    /// The median of `times` over the links made: a link's cost.
    fn per_link(&self, times: &[Duration]) -> f64 {
        median(times.to_vec()).as_secs_f64() / self.links as f64
    }
}

/// Chains of each SCALE size made by `netns-link -` (under `peak`, for
/// its memory), by `floor link` and by `floor link ... up`, in turn, each
/// on fresh namespaces (made by `netns-add -`, not timed) that are
/// deleted after.
fn at_scale(b: &Bins) -> Result<Vec<Row>, String> {
    let mut sizes = Vec::new();
    for (links, runs) in SCALE {
        let nodes = links + 1;
        let names = names(nodes);
        let lines = chain(nodes);
        let mut size = Size {
            links,
            runs,
            ours: Vec::new(),
            floor: Vec::new(),
            floor_up: Vec::new(),
            peak: 0,
        };
        let floor = |up: bool| {
            let mut cmd = b.cmd("floor");
            cmd.args(["link", &nodes.to_string(), "/run/netns", "c"]);
            if up {
                cmd.arg("up");
            }
            cmd
        };
        for rep in 0..runs {
            for turn in 0..3 {
                time(b.cmd("netns-add").arg("-"), Some(names.as_bytes()))?;
                match (rep + turn) % 3 {
                    0 => {
                        let (took, kib) = peak(b, "netns-link", &["-"], lines.as_bytes())?;
                        size.ours.push(took);
                        size.peak = size.peak.max(kib);
                    }
                    1 => size.floor.push(time(&mut floor(false), None)?),
                    _ => size.floor_up.push(time(&mut floor(true), None)?),
                }
                time(b.cmd("netns-del").arg("--all"), None)?;
                settle();
            }
        }
        sizes.push(size);
    }
    let mut rows = Vec::new();
    let mb = |kib: u64| kib as f64 * 1024.0 / 1e6;
    for s in &sizes {
        let what = format!(
            "links at {} (a chain of {}, a /31 each end, all up): `netns-link -` ({})",
            s.links,
            s.links + 1,
            match s.runs {
                1 => "one run".to_owned(),
                n => format!("median of {n}"),
            }
        );
        let mut note = format!(
            "{:.3} ms a link, the floor's {:.3}; peak RSS {:.1} MB",
            s.per_link(&s.ours) * 1e3,
            s.per_link(&s.floor) * 1e3,
            mb(s.peak)
        );
        if Some(s.links) == SCALE.last().map(|l| l.0) {
            let met = if mb(s.peak) <= PEAK_MAX_MB {
                "met"
            } else {
                "MISSED"
            };
            note.push_str(&format!(" (target <= {PEAK_MAX_MB} MB: {met})"));
        }
        rows.push(Row {
            what: what.clone(),
            ours: median(s.ours.clone()),
            reference: "the kernel floor (pairs and addresses)".to_owned(),
            theirs: median(s.floor.clone()),
            target: None,
            note,
        });
        rows.push(Row {
            what,
            ours: median(s.ours.clone()),
            reference: "the kernel floor, and up what netns-link brings up".to_owned(),
            theirs: median(s.floor_up.clone()),
            target: None,
            note: format!("the floor's {:.3} ms a link", s.per_link(&s.floor_up) * 1e3),
        });
    }
    if let (Some(small), Some(large)) = (sizes.first(), sizes.last()) {
        let growth = |times: fn(&Size) -> &[Duration]| {
            large.per_link(times(large)) / small.per_link(times(small))
        };
        let ours = growth(|s| &s.ours);
        let met = if ours <= GROWTH_MAX { "met" } else { "MISSED" };
        rows.push(Row {
            what: format!(
                "a link's cost at {} links: `netns-link -` ({} run{})",
                large.links,
                large.runs,
                if large.runs == 1 { "" } else { "s" }
            ),
            ours: Duration::from_secs_f64(large.per_link(&large.ours)),
            reference: format!("the same at {} links", small.links),
            theirs: Duration::from_secs_f64(small.per_link(&small.ours)),
            target: None,
            note: {
                let (floor, floor_up) = (growth(|s| &s.floor), growth(|s| &s.floor_up));
                format!(
                    "<= {GROWTH_MAX} ({met}); the kernel floor grows {floor:.2}x, the floor \
                     with everything up {floor_up:.2}x{}",
                    if ours > GROWTH_MAX && ours <= floor.max(floor_up) {
                        ": ours no more than the kernel's own work"
                    } else {
                        ""
                    }
                )
            },
        });
    }
    Ok(rows)
}

/// Times `bin ARGS` from our build, as `time` does, run by `peak` for
/// its peak resident set (KiB).
fn peak(b: &Bins, bin: &str, args: &[&str], stdin: &[u8]) -> Result<(Duration, u64), String> {
    let file = std::env::temp_dir().join(format!("netns-bench-peak-{}", std::process::id()));
    let mut cmd = b.cmd("peak");
    cmd.arg(&file).arg(b.dir.join(bin)).args(args);
    let took = time(&mut cmd, Some(stdin))?;
    let kib = std::fs::read_to_string(&file)
        .ok()
        .and_then(|k| k.trim().parse().ok())
        .ok_or_else(|| format!("no peak memory in {}", file.display()));
    let _ = std::fs::remove_file(&file);
    Ok((took, kib?))
}

/// A LAN made both ways, each on fresh namespaces (`hub`, and `h0` ..):
/// ours with `netns-link -` (the bridge made by the first link), ip's
/// with the bridge made by one `ip -n hub`, one `ip -batch` for the
/// pairs placed straight in, one `ip -n hub -batch -` for the ports and
/// ups, and one `ip -n hN -batch -` per host for its address and ups.
fn lan(b: &Bins) -> Result<(Duration, Duration), String> {
    let hosts: String = (0..HOSTS).map(|i| format!("h{i}\n")).collect();
    let names = format!("hub\n{hosts}");
    let host_addr = |i: usize| format!("10.9.{}.{}/16", i / 250, i % 250 + 1);
    let lines: String = (0..HOSTS)
        .map(|i| format!("h{i} -a {} hub -b br0\n", host_addr(i)))
        .collect();
    time(b.cmd("netns-add").arg("-"), Some(names.as_bytes()))?;
    let ours = time(b.cmd("netns-link").arg("-"), Some(lines.as_bytes()))?;
    time(b.cmd("netns-del").arg("--all"), None)?;
    settle();
    time(b.cmd("netns-add").arg("-"), Some(names.as_bytes()))?;
    let pairs: String = (0..HOSTS)
        .map(|i| format!("link add p{i} netns hub type veth peer name e{i} netns h{i}\n"))
        .collect();
    let mut hub = String::from("link set lo up\nlink set br0 up\n");
    hub.extend((0..HOSTS).map(|i| format!("link set p{i} master br0 up\n")));
    let bridge = ["-n", "hub", "link", "add", "br0", "type", "bridge"];
    let mut theirs = time(&mut ip(&bridge), None)?;
    theirs += time(&mut ip(&["-batch", "-"]), Some(pairs.as_bytes()))?;
    theirs += time(&mut ip(&["-n", "hub", "-batch", "-"]), Some(hub.as_bytes()))?;
    for i in 0..HOSTS {
        let batch = format!(
            "addr add {} dev e{i}\nlink set e{i} up\nlink set lo up\n",
            host_addr(i)
        );
        let name = format!("h{i}");
        theirs += time(
            &mut ip(&["-n", &name, "-batch", "-"]),
            Some(batch.as_bytes()),
        )?;
    }
    time(b.cmd("netns-del").arg("--all"), None)?;
    Ok((ours, theirs))
}

/// What `ip -n cJ -batch -` does for node `j` of a chain of `n`: the
/// address and up of its two ends, and lo up.
fn node_batch(j: usize, n: usize) -> String {
    let mut batch = String::new();
    if j + 1 < n {
        batch.push_str(&format!(
            "addr add {} dev r{j}\nlink set r{j} up\n",
            addr(j, 0)
        ));
    }
    if j > 0 {
        let i = j - 1;
        batch.push_str(&format!(
            "addr add {} dev l{i}\nlink set l{i} up\n",
            addr(i, 1)
        ));
    }
    batch.push_str("link set lo up\n");
    batch
}

/// A chain of `n` wired one `ip` process a step: per link the pair, two
/// addresses and two ups; lo up once per namespace.
fn one_ip_a_step(n: usize) -> Result<Duration, String> {
    let mut total = Duration::ZERO;
    let mut run = |args: &[&str]| -> Result<(), String> {
        total += time(Command::new("ip").args(args), None)?;
        Ok(())
    };
    for j in 0..n {
        run(&["-n", &format!("c{j}"), "link", "set", "lo", "up"])?;
    }
    for i in 0..n - 1 {
        let (a, b) = (format!("c{i}"), format!("c{}", i + 1));
        let (r, l) = (format!("r{i}"), format!("l{i}"));
        let peer = ["type", "veth", "peer", "name", &l, "netns", &b];
        let mut add = vec!["link", "add", &r, "netns", &a];
        add.extend(peer);
        run(&add)?;
        run(&["-n", &a, "addr", "add", &addr(i, 0), "dev", &r])?;
        run(&["-n", &b, "addr", "add", &addr(i, 1), "dev", &l])?;
        run(&["-n", &a, "link", "set", &r, "up"])?;
        run(&["-n", &b, "link", "set", &l, "up"])?;
    }
    Ok(total)
}
