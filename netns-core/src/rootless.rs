//! Rootless mode: named namespaces of an ordinary user's own.
//!
//! The kernel lets any user make a user namespace and, as root of it,
//! network and mount namespaces (network_namespaces(7),
//! user_namespaces(7)). Here one such user namespace per run dir (the
//! caller's uid and gid mapped to 0, as `unshare -r` does) holds a mount
//! namespace in which the names are bind mounts, exactly as root's are in
//! the host's, and a network namespace that stands in for the host's: the
//! one the verbs work from (an add comes back to it; nsids are those it
//! gives). They die with their last process, so a small process, the
//! keeper, stays in them; every verb joins them (setns) and then does
//! what it does as root.
//!
//! Beside the run dir, `RUN_DIR.keeper` holds the keeper's pid and the
//! inodes of its two namespaces (so that a reused pid is not taken for
//! it), and is the lock that orders verbs and keeper: a verb holds it
//! shared while it works, a verb that starts a keeper holds it exclusive
//! until the keeper is recorded, and the keeper takes it exclusive when
//! the run dir may have emptied: if it has, the keeper removes the file
//! and exits. The file is removed while locked, so a locker checks that
//! the file it locked is still the one at the path.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag, open};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use nix::sys::stat::{Mode, fstat, stat};
use nix::unistd::{getgid, getuid, mkdir, pipe2, read};

use crate::error::{Error, Result};
use crate::name::Name;
use crate::run_dir::{RunDir, nsfs_device};
use crate::sys;

/// The environment variable that turns rootless mode on (`1`), as
/// `--rootless` does.
pub const ROOTLESS_ENV: &str = "NETNS_ROOTLESS";

/// The keeper's process name, as `ps` and /proc/PID/comm show it.
pub const KEEPER_COMM: &str = "netns-keeper";

/// Set once this process has joined a keeper's namespaces: its refusals
/// then have another cause than a missing `root`.
static JOINED: AtomicBool = AtomicBool::new(false);

pub(crate) fn joined() -> bool {
    JOINED.load(Ordering::Relaxed)
}

/// Whether a verb needs a keeper: those that make names (and a watch,
/// which must see the mounts the adds make) start one; the others work on
/// what there is, which without a keeper is nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keeper {
    Start,
    IfRunning,
}

/// A verb's hold on rootless mode, for as long as it works: the lock
/// (shared), and for the verb that started the keeper the pipe whose end
/// tells the keeper that verb is done.
pub struct Session {
    _lock: Flock<File>,
    _hold: Option<OwnedFd>,
    /// The keeper found dead, if it was.
    pub gone: Option<Gone>,
}

/// A keeper found dead: its namespaces went with it, and the names that
/// were left in the run dir (files with nothing mounted on them now) have
/// been removed.
#[derive(Debug)]
pub struct Gone {
    /// None when no keeper was recorded, only files left.
    pub pid: Option<u32>,
    pub names: Vec<Name>,
}

/// A keeper as its file records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Record {
    pid: u32,
    user: u64,
    mnt: u64,
    net: u64,
}

/// The keeper's namespaces, open and checked against its record.
struct Namespaces {
    user: OwnedFd,
    mnt: OwnedFd,
    net: OwnedFd,
    user_inode: u64,
}

/// The file beside the run dir that records its keeper.
pub fn keeper_file(run_dir: &RunDir) -> PathBuf {
    let mut path = run_dir.path().as_os_str().to_owned();
    path.push(".keeper");
    PathBuf::from(path)
}

/// Joins the keeper of `run_dir` (its user and mount namespaces), starting
/// one first when `keeper` says so and none runs. A keeper found dead is
/// cleaned up after (its stale files removed) and told in
/// [`Session::gone`]. With no keeper and none to start, nothing is joined:
/// the run dir then holds no name. Must be called before the process
/// starts a thread: setns(2) into a user namespace refuses a threaded
/// caller, and the keeper is forked from it.
pub fn join(run_dir: &RunDir, keeper: Keeper) -> Result<Session> {
    let path = keeper_file(run_dir);
    let session = |lock, hold, gone| Session {
        _lock: lock,
        _hold: hold,
        gone,
    };
    loop {
        let lock = lock_file(&path, FlockArg::LockShared)?;
        let record = read_record(&lock, &path)?;
        if let Some(ns) = record.and_then(namespaces) {
            enter(&ns)?;
            return Ok(session(lock, None, None));
        }
        if keeper == Keeper::IfRunning && record.is_none() && !has_names(run_dir)? {
            return Ok(session(lock, None, None));
        }
        // A keeper to start, or a dead one to clean up after: alone, and
        // another verb may have done either meanwhile.
        drop(lock);
        let lock = lock_file(&path, FlockArg::LockExclusive)?;
        let record = read_record(&lock, &path)?;
        if record.and_then(namespaces).is_some() {
            continue;
        }
        let gone = match record.is_some() || has_names(run_dir)? {
            true => Some(Gone {
                pid: record.map(|r| r.pid),
                names: remove_stale(run_dir)?,
            }),
            false => None,
        };
        if keeper == Keeper::IfRunning {
            // Nothing is left to keep: the file goes, under the lock.
            let _ = std::fs::remove_file(&path);
            return Ok(session(lock, None, gone));
        }
        let (record, hold) = match start(run_dir, &path) {
            Ok(started) => started,
            Err(err) => {
                let _ = std::fs::remove_file(&path);
                return Err(err);
            }
        };
        write_record(&lock, &path, record)?;
        let Some(ns) = namespaces(record) else {
            return Err(Error::Sys {
                action: "find the rootless keeper just started",
                errno: Errno::ESRCH,
            });
        };
        enter(&ns)?;
        // Shared from now on, so that other verbs may work beside this one
        // (a watch runs for long): the keeper takes the lock only once the
        // hold pipe has ended, so it cannot slip in between.
        lock.relock(FlockArg::LockShared)
            .map_err(|e| Error::path("lock", &path, e))?;
        return Ok(session(lock, Some(hold), gone));
    }
}

/// Opens (creating it, 0600) and locks the keeper file, checking that the
/// file locked is the one at the path: a keeper that ends removes it
/// while it holds the lock. Refuses a file that is not the caller's.
fn lock_file(path: &Path, arg: FlockArg) -> Result<Flock<File>> {
    loop {
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| Error::io("open", path, &e))?;
        let meta = file.metadata().map_err(|e| Error::io("stat", path, &e))?;
        let caller = nix::unistd::geteuid().as_raw();
        if meta.uid() != caller || meta.mode() & 0o022 != 0 {
            return Err(Error::UnsafeRunDir {
                path: path.to_owned(),
                owner: meta.uid(),
                mode: meta.mode() & 0o7777,
                caller,
            });
        }
        let lock = Flock::lock(file, arg).map_err(|(_, e)| Error::path("lock", path, e))?;
        match stat(path) {
            Ok(st) if st.st_ino == meta.ino() && st.st_dev == meta.dev() => return Ok(lock),
            Ok(_) | Err(Errno::ENOENT) => continue,
            Err(e) => return Err(Error::path("stat", path, e)),
        }
    }
}

fn read_record(file: &File, path: &Path) -> Result<Option<Record>> {
    let mut text = String::new();
    let mut file = file;
    file.rewind()
        .and_then(|_| file.read_to_string(&mut text))
        .map_err(|e| Error::io("read", path, &e))?;
    let fields: Vec<u64> = text
        .split_ascii_whitespace()
        .map_while(|field| field.parse().ok())
        .collect();
    match fields[..] {
        [pid, user, mnt, net] => Ok(Some(Record {
            pid: pid as u32,
            user,
            mnt,
            net,
        })),
        _ => Ok(None),
    }
}

fn write_record(file: &File, path: &Path, record: Record) -> Result<()> {
    let mut file = file;
    let text = format!(
        "{} {} {} {}\n",
        record.pid, record.user, record.mnt, record.net
    );
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(text.as_bytes()))
        .map_err(|e| Error::io("write", path, &e))
}

/// The recorded keeper's namespaces, if it still runs: its pid's user and
/// mount namespaces must be those recorded (a dead keeper's pid may be
/// another process's now; a zombie has none).
fn namespaces(record: Record) -> Option<Namespaces> {
    let open_ns = |kind: &str, inode: u64| {
        let path = format!("/proc/{}/ns/{kind}", record.pid);
        let fd = open(
            path.as_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        (fstat(&fd).ok()?.st_ino == inode).then_some(fd)
    };
    Some(Namespaces {
        user: open_ns("user", record.user)?,
        mnt: open_ns("mnt", record.mnt)?,
        net: open_ns("net", record.net)?,
        user_inode: record.user,
    })
}

/// setns(2) into the keeper's user namespace (unless this process is in
/// it already: inside `netns-exec --rootless`), then its mount and network
/// namespaces.
/// The working directory stays where it was, so that relative paths on
/// the command line still mean what they meant.
fn enter(ns: &Namespaces) -> Result<()> {
    let cwd = open(
        ".",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok();
    let own = stat("/proc/self/ns/user").map(|st| st.st_ino).ok();
    if own != Some(ns.user_inode) {
        setns(&ns.user, CloneFlags::CLONE_NEWUSER).map_err(|errno| Error::Sys {
            action: "join the rootless user namespace",
            errno,
        })?;
    }
    setns(&ns.mnt, CloneFlags::CLONE_NEWNS).map_err(|errno| Error::Sys {
        action: "join the rootless mount namespace",
        errno,
    })?;
    setns(&ns.net, CloneFlags::CLONE_NEWNET).map_err(|errno| Error::Sys {
        action: "join the rootless network namespace",
        errno,
    })?;
    JOINED.store(true, Ordering::Relaxed);
    if let Some(cwd) = cwd {
        let _ = nix::unistd::fchdir(&cwd);
    }
    Ok(())
}

/// Whether the run dir holds any file (a missing one holds none).
fn has_names(run_dir: &RunDir) -> Result<bool> {
    match std::fs::read_dir(run_dir.path()) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("read", run_dir.path(), &e)),
    }
}

/// Removes the files a dead keeper left: with its mount namespace gone,
/// none has anything mounted on it. Anything else (a namespace mounted
/// there by root, a directory) is left alone.
fn remove_stale(run_dir: &RunDir) -> Result<Vec<Name>> {
    let nsfs = nsfs_device()?;
    let mut removed = Vec::new();
    for name in run_dir.names()? {
        let path = run_dir.file(&name);
        match nix::sys::stat::lstat(&path) {
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFREG && st.st_dev != nsfs => {
                match nix::unistd::unlink(&path) {
                    Ok(()) => removed.push(name),
                    Err(Errno::ENOENT) => {}
                    Err(e) => return Err(Error::path("remove", path, e)),
                }
            }
            _ => {}
        }
    }
    Ok(removed)
}

/// Where starting a keeper failed, told back through a pipe.
#[derive(Debug, Clone, Copy)]
#[repr(u8)]
enum Step {
    Session = 1,
    Unshare,
    SetGroups,
    UidMap,
    GidMap,
    Watch,
}

/// Starts a keeper for `run_dir` (creating the run dir, 0755, if it is
/// missing), and returns its record and the hold pipe's write end.
fn start(run_dir: &RunDir, keeper_path: &Path) -> Result<(Record, OwnedFd)> {
    let created = match mkdir(run_dir.path(), Mode::from_bits_truncate(0o755)) {
        Ok(()) => true,
        Err(Errno::EEXIST) => false,
        Err(e) => return Err(Error::path("create", run_dir.path(), e)),
    };
    let started = spawn(run_dir, keeper_path);
    if started.is_err() && created {
        let _ = std::fs::remove_dir(run_dir.path());
    }
    started
}

fn spawn(run_dir: &RunDir, keeper_path: &Path) -> Result<(Record, OwnedFd)> {
    let uid_map = format!("0 {} 1\n", getuid());
    let gid_map = format!("0 {} 1\n", getgid());
    let null = open("/dev/null", OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| Error::path("open", "/dev/null", e))?;
    let pipe = |action| pipe2(OFlag::O_CLOEXEC).map_err(|errno| Error::Sys { action, errno });
    let (ready_rd, ready_wr) = pipe("make a pipe")?;
    let (hold_rd, hold_wr) = pipe("make a pipe")?;
    let keeper = KeeperProcess {
        run_dir: run_dir.path().to_owned(),
        keeper_path: keeper_path.to_owned(),
        uid_map,
        gid_map,
    };
    let pid =
        sys::fork_apart(|| keeper.main(null, ready_wr, hold_rd)).map_err(|errno| Error::Sys {
            action: "start the rootless keeper",
            errno,
        })?;
    // The child's ends are the child's now.
    let mut code = [0u8; 8];
    let got = loop {
        match read(&ready_rd, &mut code) {
            Err(Errno::EINTR) => continue,
            got => break got,
        }
    };
    let failed = match got {
        Ok(8) if code == [0; 8] => None,
        Ok(8) => Some(u64::from_ne_bytes(code)),
        _ => Some(0),
    };
    if let Some(code) = failed {
        while nix::sys::wait::waitpid(pid, None) == Err(Errno::EINTR) {}
        return Err(start_error(code));
    }
    let inode = |kind: &str| {
        let path = format!("/proc/{pid}/ns/{kind}");
        stat(path.as_str())
            .map(|st| st.st_ino)
            .map_err(|e| Error::path("stat", path, e))
    };
    let record = Record {
        pid: pid.as_raw() as u32,
        user: inode("user")?,
        mnt: inode("mnt")?,
        net: inode("net")?,
    };
    Ok((record, hold_wr))
}

/// The error for a keeper that could not be started, with what the
/// kernel's settings say about why.
fn start_error(code: u64) -> Error {
    let errno = Errno::from_raw((code & 0xffff_ffff) as i32);
    let action = match code >> 56 {
        1 => "start a session for the rootless keeper",
        2 => "make a user namespace",
        3 => "deny setgroups in the new user namespace",
        4 => "map the user into the new user namespace",
        5 => "map the group into the new user namespace",
        6 => "watch the run dir",
        _ => "start the rootless keeper",
    };
    if code >> 56 == Step::Unshare as u64 {
        return Error::UserNamespace {
            errno,
            why: userns_policy(),
        };
    }
    Error::Sys { action, errno }
}

/// What this kernel's settings say about unprivileged user namespaces,
/// when they say no.
fn userns_policy() -> Option<String> {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
    };
    if read("/proc/sys/user/max_user_namespaces") == Some(0) {
        return Some("user.max_user_namespaces is 0".to_owned());
    }
    if read("/proc/sys/kernel/unprivileged_userns_clone") == Some(0) {
        return Some("kernel.unprivileged_userns_clone is 0".to_owned());
    }
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == Some(1) {
        return Some(
            "AppArmor restricts them: kernel.apparmor_restrict_unprivileged_userns is 1".to_owned(),
        );
    }
    None
}

/// What the forked keeper needs, made before the fork.
struct KeeperProcess {
    run_dir: PathBuf,
    keeper_path: PathBuf,
    uid_map: String,
    gid_map: String,
}

impl KeeperProcess {
    /// The keeper: detached from the caller's terminal, session and
    /// descriptors, in a new user namespace (the caller as its root) and
    /// mount namespace. It tells the starter it is ready, waits for the
    /// starter to be done, and from then on ends once the run dir is empty.
    fn main(&self, null: OwnedFd, ready: OwnedFd, hold: OwnedFd) -> i32 {
        let fail = |step: Step, errno: Errno| {
            let code = (step as u64) << 56 | u64::from(errno as i32 as u32);
            let _ = nix::unistd::write(&ready, &code.to_ne_bytes());
            1
        };
        if let Err(e) = nix::unistd::setsid() {
            return fail(Step::Session, e);
        }
        let _ = nix::unistd::dup2_stdin(&null);
        let _ = nix::unistd::dup2_stdout(&null);
        let _ = nix::unistd::dup2_stderr(&null);
        drop(null);
        let mut keep = [ready.as_raw_fd(), hold.as_raw_fd()];
        let _ = sys::close_all_but(&mut keep);
        let new = CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWNET;
        if let Err(e) = unshare(new) {
            return fail(Step::Unshare, e);
        }
        let maps = [
            (Step::SetGroups, "/proc/self/setgroups", "deny"),
            (Step::UidMap, "/proc/self/uid_map", self.uid_map.as_str()),
            (Step::GidMap, "/proc/self/gid_map", self.gid_map.as_str()),
        ];
        for (step, path, text) in maps {
            if let Err(e) = std::fs::write(path, text) {
                return fail(step, crate::error::errno_of(&e));
            }
        }
        let _ = nix::sys::prctl::set_name(c"netns-keeper");
        let _ = std::env::set_current_dir("/");
        let watch = Inotify::init(InitFlags::IN_CLOEXEC).and_then(|inotify| {
            let events = AddWatchFlags::IN_DELETE
                | AddWatchFlags::IN_MOVED_FROM
                | AddWatchFlags::IN_DELETE_SELF
                | AddWatchFlags::IN_MOVE_SELF;
            inotify.add_watch(&self.run_dir, events).map(|_| inotify)
        });
        let inotify = match watch {
            Ok(inotify) => inotify,
            Err(e) => return fail(Step::Watch, e),
        };
        let _ = nix::unistd::write(&ready, &0u64.to_ne_bytes());
        drop(ready);
        // The starter holds its end until it is done: its names may not
        // be there yet.
        let mut byte = [0u8; 1];
        while matches!(read(&hold, &mut byte), Err(Errno::EINTR) | Ok(1..)) {}
        drop(hold);
        loop {
            if self.ends_if_empty() {
                return 0;
            }
            // Only a removal can empty the run dir.
            while let Err(Errno::EINTR) = inotify.read_events().map(|_| ()) {}
        }
    }

    /// Under the lock, alone: if the run dir holds no name, removes the
    /// keeper file (still holding the lock) and says the keeper is done.
    fn ends_if_empty(&self) -> bool {
        let Ok(lock) = lock_file(&self.keeper_path, FlockArg::LockExclusive) else {
            return true;
        };
        let empty = match std::fs::read_dir(&self.run_dir) {
            Ok(mut entries) => entries.next().is_none(),
            Err(_) => true,
        };
        if empty {
            let _ = std::fs::remove_file(&self.keeper_path);
        }
        drop(lock);
        empty
    }
}
