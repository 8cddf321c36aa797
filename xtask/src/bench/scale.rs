//! The scale section of `cargo xtask bench`: each verb with 0, 1000 and
//! 10 000 names present, ours beside ip, to show how each cost grows.
//! Adding names makes the kernel's own work grow too (a new network
//! namespace costs more with many alive, and every mount namespace made
//! copies every mount), so the kernel floors of an add, an exec, an
//! identify and a bulk delete are timed at each size as well.

use std::time::Duration;

use super::{Bins, ip, median, race, settle, time};

/// Names present while the verbs are timed.
const SIZES: [usize; 3] = [0, 1000, 10_000];
/// Runs of each verb at each size (after warm-up).
const RUNS: usize = 30;
/// Runs of each bulk delete, at each size but 0.
const BULK_RUNS: usize = 3;

/// The rows of the kernel floors (`xtask/src/bin/floor.rs`), each against
/// ip's verb.
const EXEC_FLOOR: &str = "the kernel floor of exec, against ip's exec";
const IDENTIFY_FLOOR: &str = "the kernel floor of identify, against ip's identify";
const DELETE_FLOOR: &str = "the kernel floor of a bulk delete, against ip -batch";

/// One verb at one size: ours and ip's medians.
pub struct Point {
    pub what: &'static str,
    pub names: usize,
    pub ours: Duration,
    pub theirs: Duration,
    /// For a bulk delete: the slowest of our runs over the fastest of
    /// ip's.
    pub worst_over_best: Option<f64>,
    /// What ours must stay within, and how it fared.
    pub target: String,
}

pub fn run(b: &Bins) -> Result<Vec<Point>, String> {
    let mut points = Vec::new();
    let mut present = 0;
    for names in SIZES {
        let more: String = (present..names).map(|i| format!("s{i}\n")).collect();
        time(b.cmd("netns-add").arg("-"), Some(more.as_bytes()))?;
        present = names;
        settle();
        points.extend(at(b, names)?);
    }
    time(b.cmd("netns-del").arg("--all"), None)?;
    settle();
    for names in &SIZES[1..] {
        points.extend(bulk_delete(b, *names)?);
    }
    judge(&mut points);
    Ok(points)
}

fn point(what: &'static str, names: usize, ours: Vec<Duration>, theirs: Vec<Duration>) -> Point {
    Point {
        what,
        names,
        ours: median(ours),
        theirs: median(theirs),
        worst_over_best: None,
        target: String::new(),
    }
}

/// Every verb with `names` names present.
fn at(b: &Bins, names: usize) -> Result<Vec<Point>, String> {
    let [mut oa, mut od, mut ia, mut id, mut fl] = [(); 5].map(|()| Vec::new());
    for i in 0..RUNS + 5 {
        let o = (
            time(b.cmd("netns-add").arg("x"), None)?,
            time(b.cmd("netns-del").arg("x"), None)?,
        );
        let t = (
            time(&mut ip(&["netns", "add", "x"]), None)?,
            time(&mut ip(&["netns", "del", "x"]), None)?,
        );
        // `floor add 1 DIR f` makes the name f0.
        let f = time(b.cmd("floor").args(["add", "1", "/run/netns", "f"]), None)?;
        time(b.cmd("netns-del").arg("f0"), None)?;
        if i >= 5 {
            oa.push(o.0);
            od.push(o.1);
            ia.push(t.0);
            id.push(t.1);
            fl.push(f);
        }
    }
    // The floor has no ip column of its own: its row compares it with
    // ip's add.
    let floor = point(
        "the kernel floor of one add, against ip's add",
        names,
        fl,
        ia.clone(),
    );
    let mut points = vec![
        point("add of one name", names, oa, ia),
        point("del of one name", names, od, id),
        floor,
    ];

    let [o, t] = race(&mut [b.cmd("netns-list"), ip(&["netns", "list"])], RUNS)?;
    points.push(point("list", names, o, t));

    time(b.cmd("netns-add").arg("probe"), None)?;
    let mut sleeper = b
        .cmd("netns-exec")
        .args(["probe", "sleep", "600"])
        .spawn()
        .map_err(|e| format!("cannot run netns-exec: {e}"))?;
    let pid = sleeper.id().to_string();
    let ino = |path: &str| std::fs::metadata(path).map(|m| std::os::unix::fs::MetadataExt::ino(&m));
    while ino(&format!("/proc/{pid}/ns/net")).ok() != ino("/run/netns/probe").ok() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut exec = b.cmd("netns-exec");
    exec.args(["probe", "true"]);
    let mut floor = b.cmd("floor");
    floor.args(["exec", "/bin/true"]);
    let mut racers = [exec, ip(&["netns", "exec", "probe", "true"]), floor];
    let [o, t, f] = race(&mut racers, RUNS)?;
    points.push(point("exec of `true`", names, o, t.clone()));
    points.push(point(EXEC_FLOOR, names, f, t));
    let mut identify = b.cmd("netns-identify");
    identify.arg(&pid);
    let mut floor = b.cmd("floor");
    floor.args(["identify", "/run/netns"]);
    let mut multicall = b.multicall("identify");
    multicall.arg(&pid);
    let mut racers = [identify, ip(&["netns", "identify", &pid]), floor, multicall];
    let [o, t, f, m] = race(&mut racers, RUNS)?;
    points.push(point("identify", names, o, t.clone()));
    points.push(point(IDENTIFY_FLOOR, names, f, t.clone()));
    points.push(point("identify: the multicall", names, m, t));
    let mut pids = b.cmd("netns-pids");
    pids.arg("probe");
    let [o, t] = race(&mut [pids, ip(&["netns", "pids", "probe"])], RUNS)?;
    points.push(point("pids", names, o, t));
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    time(b.cmd("netns-del").arg("probe"), None)?;

    points.push(watch(b, names)?);
    Ok(points)
}

/// How long after `netns-add` returned the watcher's line came: ours,
/// and ip's under `stdbuf -oL` (0 when the line was there first).
fn watch(b: &Bins, names: usize) -> Result<Point, String> {
    let watchers = super::watchers(b)?;
    let [[ours, _], [theirs, _]] = super::add_lines(b, &watchers, 5, RUNS)?;
    Ok(point(
        "watch: add returned to line read",
        names,
        ours,
        theirs,
    ))
}

/// Deleting all `names` names in one process, `netns-del -` against
/// `ip -batch` and the kernel floor (ip's two calls a name), each run on a
/// fresh set; the worst run of ours against the best of ip's is what the
/// target is judged on.
fn bulk_delete(b: &Bins, names: usize) -> Result<[Point; 2], String> {
    let list: String = (0..names).map(|i| format!("d{i}\n")).collect();
    let batch: String = (0..names).map(|i| format!("netns del d{i}\n")).collect();
    let [mut o, mut t, mut f] = [(); 3].map(|()| Vec::new());
    for rep in 0..BULK_RUNS * 3 {
        time(b.cmd("netns-add").arg("-"), Some(list.as_bytes()))?;
        // The teardown of the last run's namespaces is the kernel's, and
        // slows whatever runs beside it: let it finish.
        settle();
        match rep % 3 {
            0 => o.push(time(b.cmd("netns-del").arg("-"), Some(list.as_bytes()))?),
            1 => t.push(time(&mut ip(&["-batch", "-"]), Some(batch.as_bytes()))?),
            _ => f.push(time(
                b.cmd("floor")
                    .args(["del", &names.to_string(), "/run/netns", "d"]),
                None,
            )?),
        }
    }
    settle();
    let worst = o.iter().max().copied().unwrap_or_default();
    let best = t.iter().min().copied().unwrap_or_default();
    let floor = point(DELETE_FLOOR, names, f, t.clone());
    let mut p = point("bulk delete of all names", names, o, t);
    p.worst_over_best = Some(worst.as_secs_f64() / best.as_secs_f64());
    Ok([p, floor])
}

/// The targets at 10 000 names, judged in place.
fn judge(points: &mut [Point]) {
    let at = |points: &[Point], what: &str, names: usize| {
        points
            .iter()
            .find(|p| p.what == what && p.names == names)
            .map(|p| (p.ours.as_secs_f64(), p.theirs.as_secs_f64()))
    };
    let Some((add0, _)) = at(points, "add of one name", 0) else {
        return;
    };
    let watch0 = at(points, "watch: add returned to line read", 0).map_or(0.0, |w| w.0);
    // Where a target is below what the kernel's own calls take, the
    // floor's ratio says so beside it.
    let floors: Vec<(&str, usize, f64)> = points
        .iter()
        .map(|p| {
            (
                p.what,
                p.names,
                p.ours.as_secs_f64() / p.theirs.as_secs_f64(),
            )
        })
        .collect();
    let floor_of = |floor: &str, names: usize| {
        floors
            .iter()
            .find(|f| f.0 == floor && f.1 == names)
            .map_or(String::new(), |f| format!("; the kernel floor {:.2}", f.2))
    };
    let met = |ok: bool| if ok { "met" } else { "MISSED" };
    for p in points.iter_mut() {
        let (ours, theirs) = (p.ours.as_secs_f64(), p.theirs.as_secs_f64());
        let ratio = ours / theirs;
        if let Some(worst) = p.worst_over_best {
            p.target = format!(
                "<= 1.0 in every run: slowest of ours / fastest of ip's {worst:.2} ({}){}",
                met(worst <= 1.0),
                floor_of(DELETE_FLOOR, p.names)
            );
            continue;
        }
        if p.names != 10_000 {
            continue;
        }
        p.target = match p.what {
            "add of one name" => format!(
                "<= 1.2 of ours at 0 names: {:.2} ({}); <= 0.6 of ip's ({})",
                ours / add0,
                met(ours / add0 <= 1.2),
                met(ratio <= 0.6)
            ),
            "del of one name" => format!("<= 0.6 ({})", met(ratio <= 0.6)),
            "identify" => format!(
                "<= 0.6 ({}){}",
                met(ratio <= 0.6),
                floor_of(IDENTIFY_FLOOR, p.names)
            ),
            "watch: add returned to line read" => format!(
                "within 0.5 ms of ours at 0 names: +{:.3} ms ({})",
                (ours - watch0) * 1e3,
                met(ours - watch0 <= 0.5e-3)
            ),
            "list" => format!("<= 0.13, as before ({})", met(ratio <= 0.13)),
            "exec of `true`" => format!(
                "<= 0.90, as before ({}){}",
                met(ratio <= 0.90),
                floor_of(EXEC_FLOOR, p.names)
            ),
            _ => String::new(),
        };
    }
}
