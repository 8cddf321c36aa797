//! Runs of netns-link against what goes on around them: a reader gone
//! mid-run, two runs racing for the same ethN, a SIGTERM under a low
//! open-file limit; and two runs of a verb sharing one stderr.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::link::devices;
use crate::util::{Sandbox, finish};

/// A chain of `n` namespaces `c1`..`cn` in a sandbox, and its links'
/// lines, each end with an address of its own.
fn chain(n: usize) -> (Sandbox, String) {
    let sb = Sandbox::new();
    let names: String = (1..=n).map(|i| format!("c{i}\n")).collect();
    assert_eq!(sb.run_stdin("add", &["-"], &names).code, 0);
    let lines = (1..n)
        .map(|i| {
            format!(
                "c{i} -a 10.1.{}.{} c{} -a 10.2.{}.{}\n",
                i / 256,
                i % 256,
                i + 1,
                i / 256,
                i % 256
            )
        })
        .collect();
    (sb, lines)
}

/// Every veth end in the chain's namespaces, and that each has its one
/// global address (no pair without its addresses).
fn ends_whole(sb: &Sandbox, n: usize) -> usize {
    let mut ends = 0;
    for i in 1..=n {
        let name = format!("c{i}");
        let devs = devices(sb, &name);
        let out = crate::link::ip(sb, &name, &["-o", "-4", "addr", "show", "scope", "global"]);
        assert_eq!(
            out.stdout.lines().count(),
            devs.len(),
            "{name}: {devs:?} {out:?}"
        );
        ends += devs.len();
    }
    ends
}

/// The reader of stdout goes after the first batch's line (`| head -1`):
/// the later batches' flushes meet EPIPE, and their links are made all
/// the same, the run exits 0 and says nothing (a closed pipe is not an
/// error).
#[test]
fn link_reader_gone_mid_run_still_makes_later_batches() {
    let (sb, lines) = chain(6);
    let mut lines = lines.lines();
    let (read, write) = nix::unistd::pipe().unwrap();
    let mut child = sb
        .cmd("link")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", lines.next().unwrap()).unwrap();
    // The first batch's line comes, then the reader goes.
    let mut reader = std::fs::File::from(read);
    let mut buf = [0u8; 256];
    let got = std::io::Read::read(&mut reader, &mut buf).unwrap();
    assert!(
        buf[..got].starts_with(b"netns c1 dev eth0"),
        "{:?}",
        &buf[..got]
    );
    drop(reader);
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(stdin);
    let out = finish(child);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(ends_whole(&sb, 6), 10);
}

/// Two runs make the same chain at once, each choosing the first free
/// ethN: whatever one takes first the other fails with File exists. Each
/// link is made or reported failed, never both or neither, and each made
/// is printed and has both its ends.
#[test]
fn two_links_racing_for_the_same_names_fail_cleanly() {
    let (sb, _) = chain(10);
    // No addresses: the same line four times is four links.
    let lines: String = (1..10).map(|i| format!("c{i} c{}\n", i + 1)).collect();
    let lines = lines.repeat(4);
    let spawn = || {
        let mut child = sb
            .cmd("link")
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let lines = lines.clone();
        std::thread::spawn(move || stdin.write_all(lines.as_bytes()));
        child
    };
    let (one, two) = (spawn(), spawn());
    let (one, two) = (finish(one), finish(two));
    let mut made = 0;
    let mut failed = 0;
    for out in [&one, &two] {
        let lines_made = out.stdout.lines().count();
        let errors = out.stderr.lines().count();
        for line in out.stderr.lines() {
            assert!(line.contains(": File exists"), "{line}");
        }
        assert_eq!(lines_made + errors, 36, "{out:?}");
        assert_eq!(out.code, if errors > 0 { 1 } else { 0 }, "{out:?}");
        made += lines_made;
        failed += errors;
    }
    assert_eq!(made + failed, 72);
    let ends: usize = (1..=10).map(|i| devices(&sb, &format!("c{i}")).len()).sum();
    assert_eq!(ends, 2 * made);
}

/// With 10 descriptors (batches of a link or two) and a SIGTERM once
/// the first link is printed, the run ends by the signal, and the links
/// made are whole, each printed but the last batch's (the signal takes
/// effect when a batch is made, before it is printed).
#[test]
fn a_sigterm_with_ten_descriptors_leaves_links_whole() {
    let (sb, lines) = chain(200);
    let mut child = Command::new("prlimit")
        .arg("--nofile=10")
        .arg(crate::util::bin("link"))
        .arg("-")
        .env("NETNS_RUN_DIR", &sb.run)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || stdin.write_all(lines.as_bytes()));
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut printed).unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    std::io::Read::read_to_string(&mut stdout, &mut printed).unwrap();
    let out = finish(child);
    assert_eq!((out.code, out.stderr.as_str()), (143, ""), "{out:?}");
    let made = ends_whole(&sb, 200) / 2;
    let printed = printed.lines().count();
    assert!(made < 199, "{made} made: the signal came after the run");
    assert!(
        printed <= made && made <= printed + 2,
        "{printed} printed, {made} made"
    );
}

/// Two runs whose stderr is one pipe (`a & b & wait) 2>log`, two racing
/// links' failures in one log): each message is a line of its own, not
/// pieces of two. A message is written in one write(2) (atomic on a pipe
/// up to PIPE_BUF), not a write for each piece formatted.
#[test]
fn messages_of_runs_sharing_stderr_stay_whole() {
    let sb = Sandbox::new();
    let names: String = (0..500).map(|i| format!("missing{i}\n")).collect();
    let (read, write) = nix::unistd::pipe().unwrap();
    let spawn = || {
        let mut child = sb
            .cmd("del")
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::from(write.try_clone().unwrap()))
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let names = names.clone();
        std::thread::spawn(move || stdin.write_all(names.as_bytes()));
        child
    };
    let (one, two) = (spawn(), spawn());
    drop(write);
    let mut log = String::new();
    std::io::Read::read_to_string(&mut std::fs::File::from(read), &mut log).unwrap();
    for child in [one, two] {
        assert_eq!(finish(child).code, 1);
    }
    let prefix = format!("netns-del: cannot remove \"{}/missing", sb.run.display());
    let torn: Vec<&str> = log
        .lines()
        .filter(|l| !(l.starts_with(&prefix) && l.ends_with("\": No such file or directory")))
        .collect();
    assert_eq!(
        (log.lines().count(), torn.len()),
        (1000, 0),
        "{:?}",
        &torn[..torn.len().min(4)]
    );
}
