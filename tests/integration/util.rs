//! What the tests share: a sandbox (a run dir of the test's own, emptied
//! and removed on drop, even when the test fails), running the binaries,
//! and reading kernel state from /proc the way a user would.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use nix::mount::{MntFlags, umount2};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Where sandboxes live; `cargo xtask test` sets it and checks it after.
const TEST_ROOT_ENV: &str = "NETNS_TEST_ROOT";

/// `program` in the first absolute directory of the tests' PATH that has it.
pub fn absolute(program: &str) -> PathBuf {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .filter(|dir| dir.starts_with('/'))
        .map(|dir| Path::new(dir).join(program))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("{program} is not installed"))
}

/// A verb binary, built beside this test binary by `cargo test --workspace`.
pub fn bin(verb: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(format!("netns-{verb}"));
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo xtask test`, which builds the verb \
         binaries first (`cargo test` alone does not)",
        path.display()
    );
    path
}

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "these tests make real namespaces and mounts: run them as root"
    );
}

/// What a finished process did.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    /// stdout as it came, for names that are not UTF-8.
    pub stdout_bytes: Vec<u8>,
    pub stderr: String,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}---",
            self.code, self.stdout, self.stderr
        )
    }
}

/// How long one process a test runs may take: far longer than any takes
/// here (the slowest, a few thousand adds under strace, takes seconds), so
/// that a hang fails its test, with what the process was doing, rather
/// than stopping the suite.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Runs `cmd` to the end, feeding it `stdin`; a run longer than
/// [`PATIENCE`] fails the test.
pub fn output(cmd: &mut Command, stdin: impl AsRef<[u8]>) -> Output {
    try_output(cmd, stdin, PATIENCE).unwrap_or_else(|hang| panic!("{hang}"))
}

/// `output`, with the hang said in the `Err` rather than failing the test
/// (for cleanups, which must not panic while a failed test unwinds).
pub fn try_output(
    cmd: &mut Command,
    stdin: impl AsRef<[u8]>,
    limit: Duration,
) -> Result<Output, String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let mut pipe = child.stdin.take().expect("stdin");
    let input = stdin.as_ref().to_vec();
    // Not joined: a child that never reads must not hold the test up.
    std::thread::spawn(move || pipe.write_all(&input));
    try_finish(child, limit).map_err(|hang| format!("{cmd:?}: {hang}"))
}

/// `cmd` spawned with all three piped, and its stdin taken for the test
/// to write to as it goes (the child's output for [`finish`]).
pub fn spawn_piped(cmd: &mut Command) -> (Child, std::process::ChildStdin) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    (child, stdin)
}

/// Waits for a child spawned with its stdout and stderr piped (either may
/// be left out), reading them meanwhile; a wait longer than [`PATIENCE`]
/// fails the test, with what the child was doing.
pub fn finish(child: Child) -> Output {
    try_finish(child, PATIENCE).unwrap_or_else(|hang| panic!("{hang}"))
}

fn try_finish(mut child: Child, limit: Duration) -> Result<Output, String> {
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        let (send, got) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            let _ = send.send(bytes);
        });
        got
    };
    let stdout = reader(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = reader(child.stderr.take().map(|p| Box::new(p) as _));
    let status = try_wait_for(&mut child, limit)?;
    // A process it left behind may hold the pipes open.
    let collect = |got: std::sync::mpsc::Receiver<Vec<u8>>| {
        got.recv_timeout(Duration::from_secs(10)).map_err(|_| {
            format!("exited ({status}), but its output stays open: a process it started holds it")
        })
    };
    let (stdout, stderr) = (collect(stdout)?, collect(stderr)?);
    Ok(Output::from(std::process::Output {
        status,
        stdout,
        stderr,
    }))
}

/// Waits for `child` to end, for at most [`PATIENCE`]; a hang fails the
/// test, with what it was doing. `what` names it in the message.
pub fn wait_for(child: &mut Child, what: &str) -> ExitStatus {
    try_wait_for(child, PATIENCE).unwrap_or_else(|hang| panic!("{what}: {hang}"))
}

/// Waits for `child` to end, for at most `limit`. When it has not ended
/// by then, says what it and its children are doing, kills it, and
/// returns that as the `Err`.
pub fn try_wait_for(child: &mut Child, limit: Duration) -> Result<ExitStatus, String> {
    use nix::sys::wait::{Id, WaitPidFlag, waitid};
    let pid = child.id();
    let (send, ended) = std::sync::mpsc::channel();
    // WNOWAIT: the child stays unreaped, so its pid cannot be reused
    // before the kill below.
    std::thread::spawn(move || {
        let id = || Id::Pid(Pid::from_raw(pid as i32));
        while waitid(id(), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT)
            == Err(nix::errno::Errno::EINTR)
        {}
        let _ = send.send(());
    });
    match ended.recv_timeout(limit) {
        Ok(()) | Err(RecvTimeoutError::Disconnected) => {
            Ok(child.wait().expect("wait for an ended child"))
        }
        Err(RecvTimeoutError::Timeout) => {
            let state = describe(pid);
            let _ = child.kill();
            let _ = child.wait();
            Err(format!(
                "pid {pid} had not ended after {limit:?}, and was killed; it was:\n{state}"
            ))
        }
    }
}

/// What a process and its descendants are doing: state, the kernel
/// function it sleeps in, its system call, its kernel stack.
pub fn describe(pid: u32) -> String {
    let mut text = String::new();
    describe_into(pid, 0, &mut text);
    text
}

fn describe_into(pid: u32, depth: usize, text: &mut String) {
    use std::fmt::Write as _;
    let read = |what: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/{what}"))
            .unwrap_or_default()
            .trim_end()
            .replace('\0', " ")
    };
    let indent = "  ".repeat(depth);
    let stat = read("stat");
    if stat.is_empty() {
        let _ = writeln!(text, "{indent}pid {pid}: gone");
        return;
    }
    let state = stat.rsplit_once(") ").map_or("?", |(_, rest)| &rest[..1]);
    let _ = writeln!(
        text,
        "{indent}pid {pid} [{}] state {state}, in {}, syscall {}",
        read("cmdline"),
        read("wchan"),
        read("syscall")
    );
    for frame in read("stack").lines().take(8) {
        let _ = writeln!(text, "{indent}    {frame}");
    }
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten();
    for task in tasks.flatten() {
        let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
            describe_into(child, depth + 1, text);
        }
    }
}

impl From<std::process::Output> for Output {
    fn from(out: std::process::Output) -> Self {
        Output {
            code: out
                .status
                .code()
                .unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0)),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stdout_bytes: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Runs a shell script in a new network namespace (`unshare --net`, and
/// the options in `unshare`), whose nsid table holds only what the script
/// puts there, with the sandbox's run dir and the verb binaries' directory
/// first on PATH.
pub fn in_new_netns(sb: &Sandbox, script: &str) -> Output {
    in_new_namespaces(sb, &["--net"], script)
}

/// `in_new_netns` with more namespaces: `unshare` takes `options`.
pub fn in_new_namespaces(sb: &Sandbox, options: &[&str], script: &str) -> Output {
    let dir = bin("list").parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("unshare");
    cmd.args(options)
        .args(["sh", "-ec", script])
        .env("NETNS_RUN_DIR", &sb.run)
        .env("PATH", path);
    output(&mut cmd, "")
}

/// What names the test run's own things outside its root (`nt-<tag>-...`
/// in /run/netns and /etc/netns, `nt<tag>h` links, podman's
/// `nt-<tag>-...` containers): `cargo xtask test` gives it (and looks for
/// them afterwards), else the test process's pid.
pub fn tag() -> String {
    std::env::var("NETNS_TEST_TAG").unwrap_or_else(|_| std::process::id().to_string())
}

/// Runs `cmd` with its stdout a pipe whose reader has gone before it
/// starts, as in `cmd | head -0`: its first write fails (EPIPE).
pub fn to_closed_stdout(cmd: &mut Command) -> Output {
    let (read, write) = nix::unistd::pipe().expect("a pipe");
    drop(read);
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    finish(child)
}

/// A path no other test uses, `<root>/<pid><tag>-<n>` under the tests'
/// root (which `cargo xtask test` checks is left empty); not created.
pub fn fresh_dir(tag: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    test_root().join(format!("{}{tag}-{n}", std::process::id()))
}

/// The tests' root: NETNS_TEST_ROOT (`cargo xtask test` gives one of its
/// own), else netns-tests in the temporary directory.
fn test_root() -> PathBuf {
    std::env::var_os(TEST_ROOT_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("netns-tests"))
}

/// A directory of the test's own under the tests' root (0755), removed
/// with what is in it on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let dir = fresh_dir(tag);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&dir)
            .expect("a dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A test's own run dir, `<root>/<pid>-<n>/run`, not created until a verb
/// creates it. On drop every mount and file in it goes, then the dir.
pub struct Sandbox {
    dir: PathBuf,
    pub run: PathBuf,
}

impl Sandbox {
    pub fn new() -> Self {
        Self::in_dir(fresh_dir(""))
    }

    /// A sandbox with these names added, whose path holds `tag` (a `:`, a
    /// space).
    pub fn at(tag: &str, names: &[&str]) -> Self {
        let sb = Self::in_dir(fresh_dir(tag));
        let out = sb.run("add", names);
        assert_eq!(out.code, 0, "{out:?}");
        sb
    }

    fn in_dir(dir: PathBuf) -> Self {
        require_root();
        // 0755 all the way, so that the non-root tests can reach it.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&dir)
            .expect("sandbox dir");
        let run = dir.join("run");
        Sandbox { dir, run }
    }

    /// A sandbox with these names added.
    pub fn with(names: &[&str]) -> Self {
        let sb = Sandbox::new();
        let out = sb.run("add", names);
        assert_eq!(out.code, 0, "{out:?}");
        sb
    }

    /// A verb's command with NETNS_RUN_DIR pointing at this sandbox.
    pub fn cmd(&self, verb: &str) -> Command {
        let mut cmd = Command::new(bin(verb));
        cmd.env("NETNS_RUN_DIR", &self.run);
        cmd
    }

    pub fn run(&self, verb: &str, args: &[&str]) -> Output {
        output(self.cmd(verb).args(args), "")
    }

    pub fn run_stdin(&self, verb: &str, args: &[&str], stdin: &str) -> Output {
        output(self.cmd(verb).args(args), stdin)
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.run.join(name)
    }

    /// The names in the run dir, sorted (none when it is missing).
    pub fn entries(&self) -> Vec<String> {
        entries(&self.run)
    }

    /// The names whose files have an nsfs mount, per mountinfo, sorted.
    pub fn mounted(&self) -> Vec<String> {
        let mut names: Vec<String> = mounts()
            .into_iter()
            .filter(|m| m.fs_type == "nsfs" && m.point.parent() == Some(&self.run))
            .filter_map(|m| Some(m.point.file_name()?.to_string_lossy().into_owned()))
            .collect();
        names.sort();
        names
    }

    /// How many mounts sit on the run dir itself (stacked ones count).
    pub fn run_dir_mounts(&self) -> usize {
        mounts().iter().filter(|m| m.point == self.run).count()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        empty_run_dir(&self.run);
        unmount_all(&self.run);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Unmounts and removes every entry of `dir`.
pub fn empty_run_dir(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for entry in rd.flatten() {
            remove_entry(&entry.path());
        }
    }
}

pub fn remove_entry(path: &Path) {
    unmount_all(path);
    let _ = std::fs::remove_file(path).or_else(|_| std::fs::remove_dir(path));
}

fn unmount_all(path: &Path) {
    for _ in 0..64 {
        if umount2(path, MntFlags::MNT_DETACH).is_err() {
            break;
        }
    }
}

/// A stale file at `path`, as an add killed an hour ago left it: empty,
/// no namespace on it, and old (netns-list keeps quiet about a file
/// younger than a moment, which an add may be about to mount onto).
pub fn stale_file(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let file = std::fs::File::create(path).expect("a stale file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o000)).expect("mode 0000");
    let then = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    file.set_modified(then).expect("backdate");
}

/// One mountinfo line: where, and what.
pub struct Mount {
    pub point: PathBuf,
    pub fs_type: String,
}

/// This process's /proc/self/mountinfo, as text. Mount points are bytes:
/// another test's name may not be UTF-8.
pub fn mountinfo() -> String {
    let bytes = std::fs::read("/proc/self/mountinfo").expect("mountinfo");
    String::from_utf8_lossy(&bytes).into_owned()
}

pub fn mounts() -> Vec<Mount> {
    let text = mountinfo();
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let dash = fields.iter().position(|f| *f == "-")?;
            Some(Mount {
                point: PathBuf::from(unescape(fields.get(4)?)),
                fs_type: fields.get(dash + 1)?.to_string(),
            })
        })
        .collect()
}

fn unescape(field: &str) -> String {
    field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// The machine's mounts (point and type, sorted) but for those that
/// tests running alongside make: their sandboxes and `nt-` names.
/// Held by the tests that compare the host's mount table before and
/// after, and by those that mount outside their sandbox (podman's
/// storage): the tests run side by side.
pub fn host_mount_table() -> std::sync::MutexGuard<'static, ()> {
    static TABLE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TABLE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn host_mounts() -> Vec<String> {
    // The sandboxes are under the tests' root, which under `cargo xtask
    // test` is not named netns-tests: their mounts counted, a sandbox
    // made or removed alongside failed the comparison on a loaded machine.
    let root = test_root();
    let mut mounts: Vec<String> = mounts()
        .into_iter()
        .filter(|m| {
            let point = m.point.to_string_lossy();
            !m.point.starts_with(&root)
                && !point.contains("/netns-tests")
                && !point.starts_with("/run/netns/nt-")
        })
        .map(|m| format!("{} {}", m.point.display(), m.fs_type))
        .collect();
    mounts.sort();
    mounts
}

/// The inode of the network namespace a path refers to.
pub fn ns_inode(path: impl AsRef<OsStr>) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path.as_ref()).expect("stat").ino()
}

/// Parses a JSON document, failing the test on bad JSON.
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("bad JSON {text:?}: {e}"))
}

/// Processes a test started; on drop each is killed with its process
/// group (the children a shell started) and reaped, even when the test
/// fails.
#[derive(Default)]
pub struct Procs(Vec<std::process::Child>);

impl Procs {
    /// Starts `cmd` in a process group of its own, and waits for the first
    /// line it prints: the sign that it is in place. Returns its pid.
    pub fn start(&mut self, cmd: &mut Command) -> u32 {
        self.start_reading(cmd).0
    }

    /// `start`, keeping the rest of the command's stdout to be read.
    pub fn start_reading(
        &mut self,
        cmd: &mut Command,
    ) -> (u32, std::io::BufReader<std::process::ChildStdout>) {
        use std::io::BufRead;
        use std::os::unix::process::CommandExt;
        let mut child = cmd
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let pid = child.id();
        self.0.push(child);
        let (send, ready) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let mut stdout = std::io::BufReader::new(stdout);
            let _ = stdout.read_line(&mut line);
            let _ = send.send((line, stdout));
        });
        match ready.recv_timeout(PATIENCE) {
            Ok((line, stdout)) => {
                assert!(!line.is_empty(), "{cmd:?} ended before it was ready");
                (pid, stdout)
            }
            Err(_) => panic!(
                "{cmd:?} was not ready after {PATIENCE:?}:\n{}",
                describe(pid)
            ),
        }
    }

    /// The exit status of a process `start` started that has ended (a
    /// zombie: the wait does not block).
    pub fn reap(&mut self, pid: u32) -> std::process::ExitStatus {
        let child = self.0.iter_mut().find(|c| c.id() == pid).expect("ours");
        child.wait().expect("wait")
    }

    /// Starts `sleep` in the namespace `name` with `exec` (a netns-exec
    /// command), with `extra` more sleeps as its children; returns the
    /// pids, ascending.
    pub fn sleepers(&mut self, mut exec: Command, name: &str, extra: usize) -> Vec<u32> {
        let script =
            format!("for i in $(seq {extra}); do sleep 600 & done; echo ready; exec sleep 600");
        let pid = self.start(exec.args([name, "sh", "-c", &script]));
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"));
        let mut pids: Vec<u32> = children
            .unwrap_or_default()
            .split_whitespace()
            .map(|p| p.parse().expect("pid"))
            .chain([pid])
            .collect();
        pids.sort_unstable();
        pids
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for child in &mut self.0 {
            kill_group(child);
        }
    }
}

/// /etc/netns/NAME is global: the test's name is unique to this process,
/// and the directory goes on drop. /etc/netns itself is shared by the
/// tests running at once: the first to need it makes it when it is not
/// there, and the last to leave removes it then (one test's "made it"
/// alone would leave it to a later test that found it there).
pub struct EtcNetns {
    dir: PathBuf,
}

/// The tests holding an /etc/netns/NAME now, and whether /etc/netns was
/// made by them.
static ETC_NETNS: std::sync::Mutex<(usize, bool)> = std::sync::Mutex::new((0, false));

impl EtcNetns {
    pub fn new(name: &str, files: &[(&str, &str)]) -> Self {
        let parent = Path::new("/etc/netns");
        let mut held = ETC_NETNS.lock().unwrap_or_else(|e| e.into_inner());
        if held.0 == 0 {
            held.1 = std::fs::create_dir(parent).is_ok();
        }
        held.0 += 1;
        drop(held);
        let etc = EtcNetns {
            dir: parent.join(name),
        };
        std::fs::create_dir(&etc.dir).unwrap();
        for (file, text) in files {
            std::fs::write(etc.dir.join(file), text).unwrap();
        }
        etc
    }
}

impl Drop for EtcNetns {
    fn drop(&mut self) {
        let mut held = ETC_NETNS.lock().unwrap_or_else(|e| e.into_inner());
        let _ = std::fs::remove_dir_all(&self.dir);
        held.0 -= 1;
        if held.0 == 0 && std::mem::take(&mut held.1) {
            let _ = std::fs::remove_dir("/etc/netns");
        }
    }
}

/// Kills a child started in a process group of its own, with the group,
/// and reaps it; one that will not end is said on stderr (a panic here
/// would abort a test that is failing already), and the leak check of
/// `cargo xtask test` reports it.
pub fn kill_group(child: &mut Child) {
    let _ = kill(Pid::from_raw(-(child.id() as i32)), Signal::SIGKILL);
    if let Err(hang) = try_wait_for(child, Duration::from_secs(10)) {
        eprintln!("a killed process did not end: {hang}");
    }
}
