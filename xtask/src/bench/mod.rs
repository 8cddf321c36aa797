//! `cargo xtask bench`: our verbs and `ip netns` side by side, in one run
//! on one machine, reported as medians and ratios into BENCHMARKS.md.
//!
//! Both tools work on /run/netns, but a private one: the bench runs in a
//! mount namespace of its own with a tmpfs there, so it neither sees nor
//! touches the host's names, and whatever it makes goes when it exits.
//! Runs alternate between the tools so that drift on a noisy machine hits
//! both alike. Our binaries are built as they ship: release, static.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};

mod link;
mod readme;
mod rootless;
mod scale;
mod startup;

use crate::{cargo, host_target, project_root, require_root, run_cargo, target_rustflags};

const SINGLE_RUNS: usize = 200;
const BULK_NAMES: usize = 1000;
const BULK_RUNS: usize = 9;
const LIST_RUNS: usize = 100;
const EXEC_RUNS: usize = 200;
const PROCS_RUNS: usize = 100;
/// Processes running while pids is timed, and names while identify is.
const PROCESSES: usize = 1000;
const IDENTIFY_NAMES: usize = 100;
const WATCH_RUNS: usize = 100;
/// Names present, and runs, for `list --dev` against a shell loop of ip.
const DEV_NAMES: usize = 100;
const DEV_RUNS: usize = 20;
/// Deleted namespaces are torn down later by a kernel worker; letting it
/// finish keeps one run's teardown out of the next run's time. At least
/// this long, and until the machine is idle (see `settle`).
const SETTLE: Duration = Duration::from_secs(2);
/// The share of CPU time idle that counts as idle, and how long to wait
/// for it at most.
const IDLE: f64 = 0.9;
const IDLE_PATIENCE: Duration = Duration::from_secs(60);

struct Row {
    what: String,
    ours: Duration,
    reference: String,
    theirs: Duration,
    target: Option<f64>,
    note: String,
}

pub fn run() -> Result<(), String> {
    let (b, machine) = prepare()?;
    let mut rows = startup::run(&b)?;
    rows.extend(single(&b)?);
    rows.extend(bulk(&b)?);
    rows.extend(list(&b)?);
    rows.push(list_dev(&b)?);
    rows.extend(exec(&b)?);
    rows.extend(processes(&b)?);
    rows.extend(watch(&b)?);
    rows.extend(rootless::run(&b)?);
    rows.extend(link::run(&b)?);
    let scale = scale::run(&b)?;
    let report = report(&machine, &rows, &scale);
    print!("{report}");
    std::fs::write(project_root().join("BENCHMARKS.md"), report)
        .map_err(|e| format!("cannot write BENCHMARKS.md: {e}"))?;
    // "Run: DATE UTC; CPU, ...": the README names the run by its date.
    let when = machine
        .trim_start_matches("Run: ")
        .split(';')
        .next()
        .unwrap_or_default();
    readme::write(&rows, when)
}

/// `cargo xtask bench bulk`: the rows of 1000 names in one process alone
/// (a few minutes, not the whole bench's ten), printed, not written to
/// BENCHMARKS.md.
pub fn run_bulk() -> Result<(), String> {
    let (b, _) = prepare()?;
    for r in bulk(&b)? {
        print!("{}", table_row(&r));
    }
    Ok(())
}

/// The binaries built, a description of the machine, and this process in
/// its private mount namespace with an empty /run/netns.
fn prepare() -> Result<(Bins, String), String> {
    require_root("the benchmarks")?;
    let bins = build()?;
    let dist = crate::dist::dist()?;
    let machine = machine();
    isolate()?;
    Ok((Bins { dir: bins, dist }, machine))
}

/// `cargo xtask bench link`: the link rows alone, printed, not written
/// to BENCHMARKS.md (whose other rows they would drop).
pub fn run_link() -> Result<(), String> {
    let (b, machine) = prepare()?;
    let rows = link::run(&b)?;
    print!("{}", report(&machine, &rows, &[]));
    Ok(())
}

struct Bins {
    dir: PathBuf,
    /// `cargo xtask dist`'s: the multicall, built for size.
    dist: PathBuf,
}

impl Bins {
    fn cmd(&self, name: &str) -> Command {
        let mut cmd = Command::new(self.dir.join(name));
        cmd.env_remove("NETNS_RUN_DIR");
        cmd
    }

    /// `netns VERB`, the multicall.
    fn multicall(&self, verb: &str) -> Command {
        let mut cmd = Command::new(self.dist.join("netns"));
        cmd.env_remove("NETNS_RUN_DIR").arg(verb);
        cmd
    }
}

/// How the multicall's rows name it.
const MULTICALL: &str = "the multicall";

fn build() -> Result<PathBuf, String> {
    let target = host_target()?;
    run_cargo(
        cargo()
            .args(["build", "--release", "--target", &target])
            .args([
                "-p",
                "netns-add",
                "-p",
                "netns-del",
                "-p",
                "netns-list",
                "-p",
                "netns-exec",
                "-p",
                "netns-pids",
                "-p",
                "netns-identify",
                "-p",
                "netns-inspect",
                "-p",
                "netns-link",
                "-p",
                "netns-watch",
            ])
            .args(["-p", "xtask", "--bins"])
            .env(target_rustflags(&target), "-C target-feature=+crt-static"),
    )?;
    Ok(project_root().join("target").join(target).join("release"))
}

/// A private mount namespace with an empty tmpfs on /run/netns.
fn isolate() -> Result<(), String> {
    let fail = |what: &str, e: nix::Error| format!("cannot {what}: {e}");
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| fail("unshare a mount namespace", e))?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| fail("make / private", e))?;
    std::fs::create_dir_all("/run/netns").map_err(|e| format!("cannot create /run/netns: {e}"))?;
    // 0755: netns refuses a run dir that others can write to.
    mount(
        Some("bench"),
        "/run/netns",
        Some("tmpfs"),
        MsFlags::empty(),
        Some("mode=0755"),
    )
    .map_err(|e| fail("mount a tmpfs on /run/netns", e))
}

fn time(cmd: &mut Command, stdin: Option<&[u8]>) -> Result<Duration, String> {
    let start = Instant::now();
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input).map_err(|e| format!("{cmd:?}: {e}"))?;
    }
    let status = child.wait().map_err(|e| format!("{cmd:?}: {e}"))?;
    let elapsed = start.elapsed();
    if !status.success() {
        return Err(format!("{cmd:?} failed: {status}"));
    }
    Ok(elapsed)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn ip(args: &[&str]) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(args);
    cmd
}

/// One `add` then one `del` of one name, each a whole process.
fn single(b: &Bins) -> Result<Vec<Row>, String> {
    let [mut oa, mut od, mut ia, mut id] = [(); 4].map(|()| Vec::new());
    for i in 0..SINGLE_RUNS + 10 {
        let ours = || -> Result<_, String> {
            Ok((
                time(b.cmd("netns-add").arg("x"), None)?,
                time(b.cmd("netns-del").arg("x"), None)?,
            ))
        };
        let theirs = || -> Result<_, String> {
            Ok((
                time(&mut ip(&["netns", "add", "x"]), None)?,
                time(&mut ip(&["netns", "del", "x"]), None)?,
            ))
        };
        let (o, t) = if i % 2 == 0 {
            (ours()?, theirs()?)
        } else {
            let t = theirs()?;
            (ours()?, t)
        };
        // The first runs warm caches up.
        if i >= 10 {
            oa.push(o.0);
            od.push(o.1);
            ia.push(t.0);
            id.push(t.1);
        }
    }
    let sum = |a: &[Duration], d: &[Duration]| a.iter().zip(d).map(|(a, d)| *a + *d).collect();
    Ok(vec![
        row(
            "add + del of one name",
            sum(&oa, &od),
            "ip netns add + del",
            sum(&ia, &id),
            Some(0.6),
        ),
        row("add of one name", oa, "ip netns add", ia, None),
        row("del of one name", od, "ip netns del", id, None),
    ])
}

fn row(
    what: &str,
    ours: Vec<Duration>,
    reference: &str,
    theirs: Vec<Duration>,
    target: Option<f64>,
) -> Row {
    Row {
        what: format!("{what} (median of {})", ours.len()),
        ours: median(ours),
        reference: reference.to_owned(),
        theirs: median(theirs),
        target,
        note: String::new(),
    }
}

/// 1000 names in one process: ours from stdin and as the lines of a batch
/// (`netns -batch -`, the multicall), ip's with -batch, and the kernel
/// floor.
fn bulk(b: &Bins) -> Result<Vec<Row>, String> {
    let names: String = (0..BULK_NAMES).map(|i| format!("b{i}\n")).collect();
    let adds: String = (0..BULK_NAMES)
        .map(|i| format!("netns add b{i}\n"))
        .collect();
    let dels: String = (0..BULK_NAMES)
        .map(|i| format!("netns del b{i}\n"))
        .collect();
    let [
        mut oa,
        mut od,
        mut ia,
        mut id,
        mut fa,
        mut fd,
        mut ba,
        mut bd,
    ] = [(); 8].map(|()| Vec::new());
    for rep in 0..BULK_RUNS {
        for turn in 0..4 {
            match (rep + turn) % 4 {
                0 => {
                    oa.push(time(b.cmd("netns-add").arg("-"), Some(names.as_bytes()))?);
                    od.push(time(b.cmd("netns-del").arg("-"), Some(names.as_bytes()))?);
                }
                1 => {
                    ia.push(time(&mut ip(&["-batch", "-"]), Some(adds.as_bytes()))?);
                    id.push(time(&mut ip(&["-batch", "-"]), Some(dels.as_bytes()))?);
                }
                2 => {
                    ba.push(time(b.multicall("-batch").arg("-"), Some(adds.as_bytes()))?);
                    bd.push(time(b.multicall("-batch").arg("-"), Some(dels.as_bytes()))?);
                }
                _ => {
                    let floor = |verb: &str| {
                        let mut cmd = b.cmd("floor");
                        cmd.args([verb, &BULK_NAMES.to_string(), "/run/netns", "b"]);
                        cmd
                    };
                    fa.push(time(&mut floor("add"), None)?);
                    fd.push(time(&mut floor("del"), None)?);
                }
            }
            settle();
        }
    }
    let floor = median(fa.clone());
    let what = format!("{BULK_NAMES} adds in one process");
    let batch = format!("`netns -batch` ({MULTICALL})");
    let dels = format!("{BULK_NAMES} dels in one process");
    Ok(vec![
        row(
            &format!("{what}: {batch}"),
            ba.clone(),
            "`netns-add -`",
            oa.clone(),
            Some(1.1),
        ),
        row(
            &format!("{what}: {batch}"),
            ba,
            "ip -batch",
            ia.clone(),
            None,
        ),
        row(
            &format!("{dels}: {batch}"),
            bd.clone(),
            "`netns-del -`",
            od.clone(),
            Some(1.1),
        ),
        row(
            &format!("{dels}: {batch}"),
            bd,
            "ip -batch",
            id.clone(),
            None,
        ),
        row(
            &format!("{what}: `netns-add -`"),
            oa.clone(),
            "the kernel floor",
            fa,
            Some(1.05),
        ),
        row(
            &format!("{what}: `netns-add -`"),
            oa,
            "ip -batch",
            ia.clone(),
            None,
        ),
        Row {
            what: format!("{what}: ip -batch (median of {BULK_RUNS})"),
            ours: median(ia),
            reference: "the kernel floor".to_owned(),
            theirs: floor,
            target: None,
            note: String::new(),
        },
        row(
            &format!("{BULK_NAMES} dels in one process: `netns-del -`"),
            od.clone(),
            "ip -batch",
            id.clone(),
            None,
        ),
        row(
            &format!("{BULK_NAMES} dels in one process: `netns-del -`"),
            od,
            "the kernel floor",
            fd.clone(),
            None,
        ),
        Row {
            what: format!("{BULK_NAMES} dels in one process: ip -batch (median of {BULK_RUNS})"),
            ours: median(id),
            reference: "the kernel floor".to_owned(),
            theirs: median(fd),
            target: None,
            note: String::new(),
        },
    ])
}

/// Listing with 1000 names present.
fn list(b: &Bins) -> Result<Vec<Row>, String> {
    let names: String = (0..BULK_NAMES).map(|i| format!("l{i}\n")).collect();
    time(b.cmd("netns-add").arg("-"), Some(names.as_bytes()))?;
    let mut racers = [
        b.cmd("netns-list"),
        b.multicall("list"),
        ip(&["netns", "list"]),
    ];
    let [o, m, t] = race(&mut racers, LIST_RUNS)?;
    time(b.cmd("netns-del").arg("--all"), None)?;
    let what = format!("list with {BULK_NAMES} names");
    Ok(vec![
        row(&what, o, "ip netns list", t.clone(), Some(0.6)),
        row(&format!("{what}: {MULTICALL}"), m, "ip netns list", t, None),
    ])
}

/// `netns-list --dev X` with 100 names, one of which holds X, against
/// the loop a user writes today: `ip -n NAME link show X` per name.
fn list_dev(b: &Bins) -> Result<Row, String> {
    let names: String = (0..DEV_NAMES).map(|i| format!("d{i}\n")).collect();
    time(b.cmd("netns-add").arg("-"), Some(names.as_bytes()))?;
    time(
        b.cmd("netns-exec")
            .args(["d42", "ip", "link", "add", "benchdev", "type", "veth"]),
        None,
    )?;
    let mut ours = b.cmd("netns-list");
    ours.args(["--dev", "benchdev"]);
    // The loop's status is its last test's: `true` keeps the bench going.
    let mut loop_ = Command::new("sh");
    loop_.args([
        "-c",
        "for n in $(ip netns list | cut -d' ' -f1); do \
         ip -n \"$n\" link show benchdev >/dev/null 2>&1 && echo \"$n\"; done; \
         true",
    ]);
    let [o, t] = race(&mut [ours, loop_], DEV_RUNS)?;
    time(b.cmd("netns-del").arg("--all"), None)?;
    Ok(row(
        &format!("list --dev with {DEV_NAMES} names"),
        o,
        "a loop of `ip -n NAME link show DEV`",
        t,
        Some(0.05),
    ))
}

/// `true` run in a namespace, by ours, ip, and nsenter (which does none of
/// the mount work), and plain `true` for the cost of the command itself;
/// then ours and ip's again with 1000 more names, so 1000 more mounts,
/// which every mount namespace made for a command copies.
fn exec(b: &Bins) -> Result<Vec<Row>, String> {
    time(b.cmd("netns-add").arg("x"), None)?;
    let mut ours = b.cmd("netns-exec");
    ours.args(["x", "true"]);
    let mut theirs = ip(&["netns", "exec", "x", "true"]);
    let mut nsenter = Command::new("nsenter");
    nsenter.args(["--net=/run/netns/x", "true"]);
    let [o, t, n, p] = race(
        &mut [ours, theirs, nsenter, Command::new("true")],
        EXEC_RUNS,
    )?;
    let what = "exec of `true` in a namespace";
    let overhead = median(o.clone()).saturating_sub(median(p.clone()));
    let mut rows = vec![
        row(what, o.clone(), "ip netns exec", t, Some(0.8)),
        row(what, o.clone(), "nsenter --net (no mount work)", n, None),
        row(what, o, "plain `true`, no namespace", p, None),
    ];
    rows.last_mut().expect("a row").note =
        format!("overhead {:.3} ms", overhead.as_secs_f64() * 1e3);

    let names: String = (0..BULK_NAMES).map(|i| format!("e{i}\n")).collect();
    time(b.cmd("netns-add").arg("-"), Some(names.as_bytes()))?;
    ours = b.cmd("netns-exec");
    ours.args(["x", "true"]);
    let mut multi = b.multicall("exec");
    multi.args(["x", "true"]);
    theirs = ip(&["netns", "exec", "x", "true"]);
    let [o, m, t] = race(&mut [ours, multi, theirs], LIST_RUNS)?;
    time(b.cmd("netns-del").arg("--all"), None)?;
    let what = format!("exec of `true` with {BULK_NAMES} names present");
    rows.push(row(&what, o, "ip netns exec", t.clone(), None));
    rows.push(row(
        &format!("{what}: {MULTICALL}"),
        m,
        "ip netns exec",
        t,
        None,
    ));
    Ok(rows)
}

/// pids with a thousand processes running (each is one stat or readlink
/// per process), identify with a hundred names (one stat per name), and
/// inspect with both.
fn processes(b: &Bins) -> Result<Vec<Row>, String> {
    let mut sleepers = Sleepers(Vec::new());
    for _ in 0..PROCESSES {
        let child = Command::new("sleep")
            .arg("600")
            .spawn()
            .map_err(|e| format!("cannot run sleep: {e}"))?;
        sleepers.0.push(child);
    }
    let names: String = (0..IDENTIFY_NAMES).map(|i| format!("p{i}\n")).collect();
    time(b.cmd("netns-add").arg("-"), Some(names.as_bytes()))?;
    let inside = b
        .cmd("netns-exec")
        .args(["p42", "sleep", "600"])
        .spawn()
        .map_err(|e| format!("cannot run netns-exec: {e}"))?;
    let pid = inside.id().to_string();
    sleepers.0.push(inside);
    // Until the exec is done, the process is still in the host namespace.
    let named =
        |path: &str| std::fs::metadata(path).map(|m| std::os::unix::fs::MetadataExt::ino(&m));
    while named(&format!("/proc/{pid}/ns/net")).ok() != named("/run/netns/p42").ok() {
        std::thread::sleep(Duration::from_millis(1));
    }

    let mut ours = b.cmd("netns-pids");
    ours.arg("p42");
    let mut multi = b.multicall("pids");
    multi.arg("p42");
    let [o, m, t] = race(
        &mut [ours, multi, ip(&["netns", "pids", "p42"])],
        PROCS_RUNS,
    )?;
    let what = format!("pids with {PROCESSES} processes running");
    let pids = row(&what, o, "ip netns pids", t.clone(), Some(0.6));
    let mut multi_pids = row(&format!("{what}: {MULTICALL}"), m, "ip netns pids", t, None);
    multi_pids.note = "one thread: see README".to_owned();
    let mut ours = b.cmd("netns-identify");
    ours.arg(&pid);
    let [o, t] = race(&mut [ours, ip(&["netns", "identify", &pid])], PROCS_RUNS)?;
    let identify = row(
        &format!("identify with {IDENTIFY_NAMES} names"),
        o,
        "ip netns identify",
        t,
        Some(0.6),
    );
    // inspect finds what lsns finds (the namespaces with a process) and
    // more: those pinned by a mount or a descriptor only, with devices.
    let mut ours = b.cmd("netns-inspect");
    ours.arg("--json");
    let mut multi = b.multicall("inspect");
    multi.arg("--json");
    let mut lsns = Command::new("lsns");
    lsns.args(["-t", "net", "--json"]);
    let [o, m, t] = race(&mut [ours, multi, lsns], PROCS_RUNS)?;
    let what = format!("inspect --json, {PROCESSES} processes and {IDENTIFY_NAMES} names");
    let inspect = row(&what, o, "lsns -t net --json", t.clone(), Some(1.5));
    let multi_inspect = row(
        &format!("{what}: {MULTICALL}"),
        m,
        "lsns -t net --json",
        t,
        None,
    );
    drop(sleepers);
    time(b.cmd("netns-del").arg("--all"), None)?;
    Ok(vec![pids, multi_pids, identify, inspect, multi_inspect])
}

/// How soon a watcher's line can be read after `netns-add X` returns:
/// ours (`netns-watch`) and `ip netns monitor` (under `stdbuf -oL`, or it
/// would write nothing into a pipe until it exits) watch the same adds.
/// Each line is stamped when its reader thread gets it; a line that came
/// before the add returned counts as 0.
fn watch(b: &Bins) -> Result<Vec<Row>, String> {
    let watchers = watchers(b)?;
    let [[after, ours_start], [theirs_after, theirs_start]] =
        add_lines(b, &watchers, 10, WATCH_RUNS)?;
    drop(watchers);
    time(b.cmd("netns-del").arg("--all"), None)?;
    let early = |v: &[Duration]| v.iter().filter(|d| d.is_zero()).count();
    let note = format!(
        "lines there before the add returned: ours {}/{WATCH_RUNS}, ip's {}/{WATCH_RUNS}",
        early(&after),
        early(&theirs_after)
    );
    let mut rows = vec![
        row(
            "watch: an add's line, after netns-add returned",
            after,
            "stdbuf -oL ip netns monitor",
            theirs_after,
            Some(1.0),
        ),
        row(
            "watch: an add's line, after netns-add started",
            ours_start,
            "stdbuf -oL ip netns monitor",
            theirs_start,
            None,
        ),
    ];
    rows.last_mut().expect("a row").note =
        "ip's comes when the file appears, before the namespace is usable".to_owned();
    rows[0].note = note;
    Ok(rows)
}

/// Waits SETTLE, then until the CPUs are idle (IDLE of a quarter second's
/// time, from /proc/stat) or IDLE_PATIENCE has passed: the teardown of
/// 10 000 namespaces takes the kernel several seconds more than SETTLE.
fn settle() {
    std::thread::sleep(SETTLE);
    // The first line of /proc/stat: user nice system idle iowait ...
    let times = || -> Option<(u64, u64)> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        Some((fields.iter().sum(), fields.get(3)? + fields.get(4)?))
    };
    let start = Instant::now();
    while start.elapsed() < IDLE_PATIENCE {
        let Some((total0, idle0)) = times() else {
            return;
        };
        std::thread::sleep(Duration::from_millis(250));
        let Some((total1, idle1)) = times() else {
            return;
        };
        let busy = total1.saturating_sub(total0);
        if busy == 0 || (idle1.saturating_sub(idle0)) as f64 / busy as f64 >= IDLE {
            return;
        }
    }
}

/// `netns-watch --names` and `ip netns monitor` (under `stdbuf -oL`, or
/// it would write nothing into a pipe until it exits), both watching.
fn watchers(b: &Bins) -> Result<[Stamped; 2], String> {
    let mut ours = b.cmd("netns-watch");
    ours.arg("--names");
    let mut theirs = Command::new("stdbuf");
    theirs.args(["-oL", "ip", "netns", "monitor"]);
    let watchers = [Stamped::start(&mut ours)?, Stamped::start(&mut theirs)?];
    wait_until_watching(b, &watchers)?;
    Ok(watchers)
}

/// `runs` adds of a name (after `warmup` more), each a whole `netns-add`
/// followed by its delete, and when each watcher's add line came: for
/// ours and ip's, the time from the add's start and from its return (0
/// when the line was there first).
fn add_lines(
    b: &Bins,
    watchers: &[Stamped; 2],
    warmup: usize,
    runs: usize,
) -> Result<[[Vec<Duration>; 2]; 2], String> {
    let mut times: [[Vec<Duration>; 2]; 2] = Default::default();
    for i in 0..warmup + runs {
        let name = format!("w{i}");
        let start = Instant::now();
        time(b.cmd("netns-add").arg(&name), None)?;
        let returned = Instant::now();
        let long = Duration::from_secs(10);
        let add = format!("add {name}");
        let came = [
            watchers[0].until(&add, long)?,
            watchers[1].until(&add, long)?,
        ];
        time(b.cmd("netns-del").arg(&name), None)?;
        let delete = format!("delete {name}");
        for watcher in watchers {
            watcher.until(&delete, long)?;
        }
        if i >= warmup {
            for (times, came) in times.iter_mut().zip(came) {
                times[0].push(came.saturating_duration_since(returned));
                times[1].push(came.saturating_duration_since(start));
            }
        }
    }
    Ok(times)
}

/// Returns once both watchers report an add: ip says nothing of the adds
/// made before its watch is in place. The names it makes are gone again.
fn wait_until_watching(b: &Bins, watchers: &[Stamped; 2]) -> Result<(), String> {
    for attempt in 0..50 {
        let name = format!("w-ready{attempt}");
        time(b.cmd("netns-add").arg(&name), None)?;
        let line = format!("add {name}");
        let short = Duration::from_millis(200);
        let seen = watchers.iter().all(|w| w.until(&line, short).is_ok());
        time(b.cmd("netns-del").arg(&name), None)?;
        if seen {
            return Ok(());
        }
    }
    Err("the watchers report no add".to_owned())
}

/// A watcher whose lines a thread reads and stamps with the time it got
/// them; killed when dropped.
struct Stamped {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<(String, Instant)>,
}

impl Stamped {
    fn start(cmd: &mut Command) -> Result<Self, String> {
        use std::io::BufRead;
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send((line, Instant::now())).is_err() {
                    break;
                }
            }
        });
        Ok(Stamped { child, lines })
    }

    /// When `line` came, skipping the lines before it; it must come
    /// within `patience`.
    fn until(&self, line: &str, patience: Duration) -> Result<Instant, String> {
        loop {
            let (got, at) = self
                .lines
                .recv_timeout(patience)
                .map_err(|_| format!("no \"{line}\" from a watcher"))?;
            if got == line {
                return Ok(at);
            }
        }
    }
}

impl Drop for Stamped {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Processes the bench started, killed and reaped when it is done with
/// them, or fails.
struct Sleepers(Vec<std::process::Child>);

impl Drop for Sleepers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs each command `runs` times (after 10 to warm up), taking them in
/// turn and rotating who goes first; returns each one's times.
fn race<const N: usize>(
    commands: &mut [Command; N],
    runs: usize,
) -> Result<[Vec<Duration>; N], String> {
    let mut samples: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::new());
    for i in 0..runs + 10 {
        for k in 0..N {
            let k = (k + i) % N;
            let t = time(&mut commands[k], None)?;
            if i >= 10 {
                samples[k].push(t);
            }
        }
    }
    Ok(samples)
}

fn machine() -> String {
    let out = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "{} UTC; {cpu}, {cores} cores; Linux {}; {}; ours built `--release` (static)",
        out("date", &["-u", "+%Y-%m-%d %H:%M"]),
        out("uname", &["-r"]),
        out("ip", &["-V"]),
    )
}

/// Ours over theirs; two zeros (a line already there when the add
/// returned) tie.
fn ratio(ours: Duration, theirs: Duration) -> f64 {
    match (ours.is_zero(), theirs.is_zero()) {
        (true, true) => 1.0,
        _ => ours.as_secs_f64() / theirs.as_secs_f64(),
    }
}

/// A row of the main table, with its ratio and whether it met its target.
fn table_row(r: &Row) -> String {
    let ratio = ratio(r.ours, r.theirs);
    let target = match r.target {
        Some(t) => {
            let met = if ratio <= t { "met" } else { "MISSED" };
            match r.note.is_empty() {
                true => format!("<= {t} ({met})"),
                false => format!("<= {t} ({met}; {})", r.note),
            }
        }
        None => r.note.clone(),
    };
    format!(
        "| {} | {} | {} | {} | {ratio:.2} | {target} |\n",
        r.what,
        ms(r.ours),
        r.reference,
        ms(r.theirs)
    )
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn report(machine: &str, rows: &[Row], scale: &[scale::Point]) -> String {
    let mut text = format!(
        "# Benchmarks\n\n\
         Written by `cargo xtask bench` (as root; about a quarter of an hour). Each figure is a\n\
         median of whole-process wall times, ours and the reference taken in turn in\n\
         one run, in a private mount namespace with an empty /run/netns. The ratio is\n\
         ours / reference: below 1 is faster. Absolute times vary between machines\n\
         and runs; the ratios are what to compare. Ours are the single tools\n\
         (`netns-list`, ...), except in the rows marked \"{MULTICALL}\": `netns VERB`,\n\
         the static size-built binary of `cargo xtask dist`.\n\n\
         Run: {machine}\n\n\
         | what | ours | reference | theirs | ratio | target or note |\n\
         |---|---|---|---|---|---|\n"
    );
    for r in rows {
        text.push_str(&table_row(r));
    }
    text.push_str(
        "\nThe kernel floor is `xtask/src/bin/floor.rs`: the same four system calls per\n\
         name as `ip netns add` (create the file, unshare, bind-mount, setns back),\n\
         and the two of `ip netns delete` (a lazy unmount, an unlink), with nothing\n\
         around them, in one process.\n\n\
         Deletes vary most from run to run, for both tools: unmounting a namespace's\n\
         last mount hands it to the kernel's asynchronous teardown, and the unmount\n\
         itself now and then waits (tens of ms for 1000 names) on RCU while earlier\n\
         teardowns run. Hence 9 runs of each batch, not fewer. Making namespaces\n\
         competes with that teardown too (both take the rtnl lock), so a batch's\n\
         ratio to the floor moves by up to 10% between runs (0.90 to 1.03 over three\n\
         runs on 2026-11-22); the tools are taken in rotating order so that neither\n\
         always follows a teardown. Our delete holds each namespace open while it\n\
         works, so that a delete whose unlink fails can mount it back, and a batch\n\
         keeps them open to its end: their teardowns then start after the batch\n\
         rather than slowing each unmount's RCU grace period within it.\n\n\
         The links' floors are `floor link` (each veth pair placed in both\n\
         namespaces and a /31 on each end, one request at a time, nothing else),\n\
         `floor link ... up` (and the ups netns-link makes: the first end as it is\n\
         made, the peer after, each namespace's lo) and, for add + link, `floor\n\
         add` then `floor link ... up`. The ups are a tenth to a third of the\n\
         kernel's work of a chain (it varies from run to run), so a chain within\n\
         1.3 of the first floor, and add + link in 1.5 s, can lie below what the kernel itself takes to do what was asked\n\
         (everything up): the rows beside them say where. The one-ip-a-step row\n\
         is a chain of 100 so made, scaled to 1000.\n",
    );
    text.push_str(
        "\n## Scale\n\n\
         Each verb with 0, 1000 and 10 000 names present (medians of 30 whole\n\
         processes; a bulk delete is 3 runs of each tool, each on a fresh set of\n\
         names). The kernel floors are `xtask/src/bin/floor.rs`, each against\n\
         ip's verb: one add's system calls in a process of their own (a new\n\
         network namespace costs more with many alive: fresh slab pages); for\n\
         exec, a new mount namespace made all slaves, then exec (the kernel\n\
         copies every mount into it); for identify, a read of the run dir and a\n\
         stat of every entry on a thread a core; for a bulk delete, ip's two\n\
         calls a name. They show how much of a cost, and of its growth, is the\n\
         kernel's, and where a target lies below it.\n\n\
         | what | names | ours | ip netns | ratio | target at 10 000 names |\n\
         |---|---|---|---|---|---|\n",
    );
    for p in scale {
        text.push_str(&format!(
            "| {} | {} | {} | {} | {:.2} | {} |\n",
            p.what,
            p.names,
            ms(p.ours),
            ms(p.theirs),
            ratio(p.ours, p.theirs),
            p.target
        ));
    }
    text
}
