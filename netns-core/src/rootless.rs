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
//! inodes of its namespaces (to join them by), and is the lock that
//! orders verbs and keeper: a verb holds it shared while it works, a verb
//! that starts a keeper or cleans up after a dead one holds it exclusive
//! (waiting a bounded time for it: a long verb may hold it shared), and
//! the keeper takes it exclusive when the run dir may have emptied: if it
//! has, the keeper removes its own record and exits. The file is removed
//! while locked, so a locker checks that the file it locked is still the
//! one at the path.
//!
//! Whether the keeper lives is told by a lock the kernel drops when it
//! dies: for its whole life the keeper holds an open-file-description
//! read lock on the run dir itself (fcntl F_OFD_SETLK, which flock(2) does
//! not touch). A verb asks with F_OFD_GETLK; nothing else (a pid, an
//! inode, a /proc file this process may not be allowed to open from
//! another pid or user namespace) is taken for proof of death. The run
//! dir's names are removed only then, and only the files an add makes.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag, open};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use nix::sys::stat::{Mode, fstat, lstat, stat};
use nix::unistd::{getgid, getuid, mkdir, pipe2, read, write};

use crate::error::{Error, Result};
use crate::files;
use crate::name::Name;
use crate::run_dir::{RunDir, nsfs_device};
use crate::sys;

/// Whether a verb needs a keeper: those that make names (and a watch,
/// which must see the mounts the adds make) start one; the others work on
/// what there is, which without a keeper is nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keeper {
    /// Start a keeper when none runs (a verb that makes names).
    Start,
    /// Join the keeper only if one runs (a verb that reads or removes).
    IfRunning,
}

/// A process's hold on rootless mode, for as long as it works: the run
/// dir it joined the keeper of, which carries the mode
/// ([`Session::run_dir`]), the lock (shared), and for the process that
/// started the keeper the pipe whose end tells the keeper it is done.
/// Dropped, it lets the keeper end once the run dir is empty; the process
/// stays in the keeper's namespaces (setns(2) has no way back).
pub struct Session {
    run_dir: RunDir,
    /// None where there was nothing to lock: no run dir, no keeper file.
    _lock: Option<Flock<OwnedFd>>,
    _hold: Option<OwnedFd>,
    /// The keeper found dead, if it was.
    pub gone: Option<Gone>,
}

impl Session {
    /// The run dir to work in: the one given to [`join`], in rootless
    /// mode ([`RunDir::rootless`]) once its keeper is joined, so that the
    /// calls given it go by that mode. Where
    /// no keeper ran and none was to be started, nothing was joined: the
    /// run dir is as it was given, and holds no name.
    pub fn run_dir(&self) -> &RunDir {
        &self.run_dir
    }
}

/// A keeper found dead: its namespaces went with it, and the names that
/// were left in the run dir (files with nothing mounted on them now) have
/// been removed.
#[derive(Debug)]
pub struct Gone {
    /// None when no keeper was recorded, only files left.
    pub pid: Option<u32>,
    /// The names removed (files a dead keeper's namespaces had left).
    pub names: Vec<Name>,
}

/// A keeper as its file records it: its pid, and the inodes of its user,
/// mount and network namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Record {
    pid: u32,
    inodes: [u64; 3],
}

/// The kinds of the keeper's namespaces, in the order they are joined.
const KINDS: [(&str, CloneFlags); 3] = [
    ("user", CloneFlags::CLONE_NEWUSER),
    ("mnt", CloneFlags::CLONE_NEWNS),
    ("net", CloneFlags::CLONE_NEWNET),
];

/// The file beside the run dir that records its keeper.
fn keeper_file(run_dir: &RunDir) -> PathBuf {
    let mut path = run_dir.path().as_os_str().to_owned();
    path.push(".keeper");
    PathBuf::from(path)
}

/// Joins the keeper of `run_dir` (its user, mount and network
/// namespaces), starting one first when `keeper` says so and none runs. A
/// keeper found dead is cleaned up after (its stale files removed) and
/// told in [`Session::gone`]. With no keeper and none to start, nothing is
/// joined: the run dir then holds no name. Must be called before the
/// process starts a thread: setns(2) into a user namespace refuses a
/// threaded caller, and the keeper is forked from it. The mode is the
/// value returned, not the process's: work on [`Session::run_dir`].
pub fn join(run_dir: RunDir, keeper: Keeper) -> Result<Session> {
    let held = hold(&run_dir, keeper)?;
    Ok(Session {
        run_dir: match held.joined {
            true => run_dir.joined(),
            false => run_dir,
        },
        _lock: held.lock,
        _hold: held.hold,
        gone: held.gone,
    })
}

/// What [`hold`] got: the [`Session`] but for its run dir, and whether
/// the keeper's namespaces were joined.
struct Held {
    joined: bool,
    lock: Option<Flock<OwnedFd>>,
    hold: Option<OwnedFd>,
    gone: Option<Gone>,
}

/// [`join`]'s work, on the run dir it is given.
fn hold(run_dir: &RunDir, keeper: Keeper) -> Result<Held> {
    let held = |joined, lock, hold, gone| Held {
        joined,
        lock,
        hold,
        gone,
    };
    check_run_dir(run_dir)?;
    let path = keeper_file(run_dir);
    let mut exclusive = false;
    let began = std::time::Instant::now();
    // A verb with nothing to make finds nothing where the run dir is
    // missing or empty (as a `del --all` leaves it) and no keeper file is,
    // and leaves none behind there: one is made only to start a keeper or
    // to clean up after a dead one.
    let create = keeper == Keeper::Start || !is_empty(run_dir.path())?;
    loop {
        let lock = match exclusive {
            true => match lock_alone(&path)? {
                Some(lock) => lock,
                // Other verbs hold it shared: one of them may be starting
                // a keeper, or have started one since this verb looked.
                // Look again, shared, before the next try: a verb that
                // waited for the lock alone while others worked beside a
                // new keeper would wait for all of them in turn.
                None if began.elapsed() < ALONE_PATIENCE => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    exclusive = false;
                    continue;
                }
                None => {
                    return Err(Error::KeeperBusy {
                        run_dir: run_dir.path().to_owned(),
                        path,
                    });
                }
            },
            false => match lock_file(&path, FlockArg::LockShared, create)? {
                Some(lock) => lock,
                None => return Ok(held(false, None, None, None)),
            },
        };
        let record = read_record(&lock);
        if let Some(record) = alive(run_dir, &path, record)? {
            if exclusive {
                // Another verb started one meanwhile: join it, shared.
                exclusive = false;
                continue;
            }
            let ns = match namespaces_of(record) {
                Ok(ns) => ns,
                // A keeper that is dying has let go of its namespaces a
                // moment before its lock: ask again, for a while.
                Err(_) if began.elapsed() < ALONE_PATIENCE / 6 => {
                    drop(lock);
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    continue;
                }
                Err(err) => return Err(err),
            };
            enter(&ns, record.inodes[0])?;
            return Ok(held(true, Some(lock), None, None));
        }
        let stale = record.is_some() || !is_empty(run_dir.path())?;
        if keeper == Keeper::IfRunning && !stale {
            return Ok(held(false, Some(lock), None, None));
        }
        if !exclusive {
            // A keeper to start or a dead one to clean up after: alone.
            exclusive = true;
            continue;
        }
        let gone = match stale {
            true => match remove_stale(run_dir) {
                Ok(names) => Some(Gone {
                    pid: record.map(|r| r.pid),
                    names,
                }),
                Err(err) => {
                    // A directory of other files: no keeper file is left
                    // beside it for nothing.
                    if record.is_none() {
                        let _ = nix::unistd::unlink(&path);
                    }
                    return Err(err);
                }
            },
            false => None,
        };
        return Ok(match keeper {
            // Nothing is left to keep: the file goes, under the lock.
            Keeper::IfRunning => {
                let _ = nix::unistd::unlink(&path);
                held(false, Some(lock), None, gone)
            }
            Keeper::Start => {
                let hold = start(run_dir, &path, &lock)?;
                held(true, Some(lock), Some(hold), gone)
            }
        });
    }
}

/// Refuses a run dir that is not a real directory of the caller's own,
/// before anything in it is looked at: a symlink (another user's, in a
/// shared directory, or a typo's), another user's directory, or one that
/// others can write to. A missing one is fine: a verb that makes names
/// makes it.
fn check_run_dir(run_dir: &RunDir) -> Result<()> {
    let path = run_dir.path();
    let st = match lstat(path) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(Error::path("stat", path, e)),
    };
    let is = match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => return Error::unless_own("run dir", path, &st),
        libc::S_IFLNK => "a symlink",
        _ => "not a directory",
    };
    Err(Error::NotARunDir {
        path: path.to_owned(),
        is,
    })
}

/// The recorded keeper if it runs: its lock on the run dir is held. A
/// keeper started by an older version holds no lock; it counts as alive
/// when its pid's namespaces are still the recorded ones. A live keeper
/// with no record (the file removed by hand) cannot be joined: an error,
/// and nothing is removed.
fn alive(run_dir: &RunDir, path: &Path, record: Option<Record>) -> Result<Option<Record>> {
    let locked = lock_held(run_dir)?;
    match (locked, record) {
        (true, Some(record)) => Ok(Some(record)),
        (true, None) => Err(Error::KeeperUnrecorded {
            run_dir: run_dir.path().to_owned(),
            path: path.to_owned(),
        }),
        (false, Some(record)) => Ok(namespaces(record).map(|_| record)),
        (false, None) => Ok(None),
    }
}

/// Whether some process holds the keeper's lock on the run dir (see the
/// module's doc). A missing run dir has no keeper.
fn lock_held(run_dir: &RunDir) -> Result<bool> {
    let path = run_dir.path();
    let dir = match open(
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(dir) => dir,
        Err(Errno::ENOENT) => return Ok(false),
        Err(e) => return Err(Error::path("open", path, e)),
    };
    let mut lock = life_lock(libc::F_WRLCK);
    nix::fcntl::fcntl(&dir, nix::fcntl::FcntlArg::F_OFD_GETLK(&mut lock))
        .map_err(|e| Error::path("ask for the keeper's lock on", path, e))?;
    Ok(lock.l_type != libc::F_UNLCK as libc::c_short)
}

/// The keeper's lock on the run dir: its first byte, read-locked (a
/// directory opens only for reading); a verb asks whether a write lock
/// there would conflict.
fn life_lock(kind: libc::c_int) -> libc::flock {
    libc::flock {
        l_type: kind as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 1,
        l_pid: 0,
    }
}

/// How long a verb waits for the keeper file alone (to start a keeper or
/// clean up after a dead one) while other verbs hold it shared.
const ALONE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(3);

/// The keeper file locked exclusive, tried once without blocking:
/// `None` while other verbs hold it. A verb that holds it shared for long
/// (a watch, an exec whose command is itself a rootless verb) must not
/// leave this one waiting forever, silently: [`join`] tries again for up
/// to [`ALONE_PATIENCE`].
fn lock_alone(path: &Path) -> Result<Option<Flock<OwnedFd>>> {
    match lock_file(path, FlockArg::LockExclusiveNonblock, true) {
        Err(Error::Path {
            errno: Errno::EWOULDBLOCK,
            ..
        }) => Ok(None),
        Ok(Some(lock)) => Ok(Some(lock)),
        // It makes the file: it is there.
        Ok(None) => Err(Error::path("create", path, Errno::ENOENT)),
        Err(err) => Err(err),
    }
}

/// Opens (creating it, 0600) and locks the keeper file, checking that the
/// file locked is the one at the path: a keeper that ends removes it
/// while it holds the lock. Refuses a file that is not the caller's, and
/// one that is no keeper file (a file of the user's with that name: it
/// would be written over, then removed): one with more than one link, or
/// with anything in it but a record. `None` for a missing one that
/// `create` says not to make (a verb with nothing to do there).
fn lock_file(path: &Path, arg: FlockArg, create: bool) -> Result<Option<Flock<OwnedFd>>> {
    let flags = OFlag::O_RDWR | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    loop {
        let fd = match open(path, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) if !create => return Ok(None),
            Err(Errno::ENOENT) => {
                let mode = Mode::from_bits_truncate(0o600);
                match open(path, flags | OFlag::O_CREAT | OFlag::O_EXCL, mode) {
                    Ok(fd) => fd,
                    // Made by another verb meanwhile: open that one.
                    Err(Errno::EEXIST) => continue,
                    Err(e) => return Err(Error::path("create", path, e)),
                }
            }
            Err(e) => return Err(Error::path("open", path, e)),
        };
        let st = fstat(&fd).map_err(|e| Error::path("stat", path, e))?;
        Error::unless_own("keeper file", path, &st)?;
        let lock = Flock::lock(fd, arg).map_err(|(_, e)| Error::path("lock", path, e))?;
        if st.st_nlink > 1 || (st.st_size > 0 && read_record(&lock).is_none()) {
            return Err(Error::NotAKeeperFile {
                path: path.to_owned(),
            });
        }
        match stat(path) {
            Ok(now) if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino) => return Ok(Some(lock)),
            Ok(_) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(Error::path("stat", path, e)),
        }
    }
}

/// The record in the keeper file: `PID USER MNT NET`; `None` when empty.
fn read_record(file: &OwnedFd) -> Option<Record> {
    let mut buf = [0u8; 96];
    let n = nix::sys::uio::pread(file, &mut buf, 0).ok()?;
    let mut fields = buf[..n].trim_ascii_end().split(|&b| b == b' ');
    let mut next = || files::decimal(fields.next()?);
    let pid = u32::try_from(next()?).ok()?;
    Some(Record {
        pid,
        inodes: [next()?, next()?, next()?],
    })
}

fn write_record(file: &OwnedFd, path: &Path, record: Record) -> Result<()> {
    let [user, mnt, net] = record.inodes;
    let text = format!("{} {user} {mnt} {net}\n", record.pid);
    nix::unistd::ftruncate(file, 0)
        .and_then(|()| nix::sys::uio::pwrite(file, text.as_bytes(), 0))
        .map(drop)
        .map_err(|e| Error::path("write", path, e))
}

/// The recorded keeper's namespaces, open, if its pid's namespaces are
/// those recorded (a dead keeper's pid may be another process's now; a
/// zombie has none).
fn namespaces(record: Record) -> Option<[OwnedFd; 3]> {
    let (fds, inodes) = open_namespaces(record.pid).ok()?;
    (inodes == record.inodes).then_some(fds)
}

/// The namespaces of a keeper known to live, to join: one that cannot be
/// opened from here (another pid namespace, where its pid is another
/// process or none; a sibling user namespace, whose processes' /proc
/// files are closed to this one) is an error, never a death.
fn namespaces_of(record: Record) -> Result<[OwnedFd; 3]> {
    let (fds, inodes) = open_namespaces(record.pid).map_err(|err| Error::KeeperUnreachable {
        pid: record.pid,
        why: err.to_string(),
    })?;
    match inodes == record.inodes {
        true => Ok(fds),
        false => Err(Error::KeeperUnreachable {
            pid: record.pid,
            why: format!("pid {} is another process here", record.pid),
        }),
    }
}

/// /proc/PID/ns/KIND for each of [`KINDS`], open, and their inodes.
fn open_namespaces(pid: u32) -> Result<([OwnedFd; 3], [u64; 3])> {
    let one = |(kind, _): (&str, CloneFlags)| {
        let path = format!("/proc/{pid}/ns/{kind}");
        let fd = open(
            path.as_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::path("open", &path, e))?;
        let inode = fstat(&fd)
            .map_err(|e| Error::path("stat", &path, e))?
            .st_ino;
        Ok::<_, Error>((fd, inode))
    };
    let [(user, u), (mnt, m), (net, n)] = [one(KINDS[0])?, one(KINDS[1])?, one(KINDS[2])?];
    Ok(([user, mnt, net], [u, m, n]))
}

/// setns(2) into the keeper's namespaces: user (inode `user`; unless this
/// process is in it already, inside `netns-exec --rootless`: the kernel
/// refuses to re-enter it), mount, network. The working directory stays
/// where it was, so that relative paths on the command line mean what
/// they meant.
fn enter(namespaces: &[OwnedFd; 3], user: u64) -> Result<()> {
    let cwd = open(
        ".",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok();
    let in_it = stat("/proc/self/ns/user").is_ok_and(|st| st.st_ino == user);
    // Once in one of them, a refusal is rootless mode's.
    let mut joined = false;
    for (ns, (kind, flag)) in namespaces.iter().zip(KINDS) {
        if flag == CloneFlags::CLONE_NEWUSER && in_it {
            continue;
        }
        setns(ns, flag).map_err(|errno| {
            let what = format!("the rootless keeper's {kind} namespace");
            let err = Error::path("join", what, errno);
            match joined {
                true => err.rootless(),
                false => err,
            }
        })?;
        joined = true;
    }
    if let Some(cwd) = cwd {
        let _ = nix::unistd::fchdir(&cwd);
    }
    Ok(())
}

/// Whether `dir` holds no entry; a missing one holds none. Reads at most
/// the first few entries, however many there are.
fn is_empty(dir: &Path) -> Result<bool> {
    let mut dir = match Dir::open(dir, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()) {
        Ok(dir) => dir,
        Err(Errno::ENOENT) => return Ok(true),
        Err(e) => return Err(Error::path("open", dir, e)),
    };
    let mut names = dir.iter().flatten();
    Ok(!names.any(|e| !matches!(e.file_name().to_bytes(), b"." | b"..")))
}

/// Removes the files a dead keeper left: with its mount namespace gone,
/// none has anything mounted on it. Only files that look like an add's
/// are removed (regular, empty, mode 0000, the caller's, on the run dir's
/// filesystem); a run dir that holds anything else (a directory named by
/// mistake, with a user's files in it) is refused whole, and nothing in
/// it removed.
fn remove_stale(run_dir: &RunDir) -> Result<Vec<Name>> {
    let nsfs = nsfs_device()?;
    let dir = lstat(run_dir.path()).map_err(|e| Error::path("stat", run_dir.path(), e))?;
    let uid = getuid().as_raw();
    let mut stale = Vec::new();
    let mut other = Vec::new();
    for name in run_dir.names()? {
        let path = run_dir.file(&name);
        let added = match lstat(&path) {
            Ok(st) => {
                st.st_mode & libc::S_IFMT == libc::S_IFREG
                    && st.st_mode & 0o7777 == 0
                    && st.st_size == 0
                    && st.st_uid == uid
                    && st.st_dev == dir.st_dev
                    && st.st_dev != nsfs
            }
            // Removed meanwhile: nothing to do.
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(Error::path("stat", path, e)),
        };
        match added {
            true => stale.push(name),
            false => other.push(path),
        }
    }
    if let Some(first) = other.first() {
        return Err(Error::ForeignFiles {
            run_dir: run_dir.path().to_owned(),
            first: first.clone(),
            more: other.len() - 1,
        });
    }
    let mut removed = Vec::new();
    for name in stale {
        let path = run_dir.file(&name);
        match nix::unistd::unlink(&path) {
            Ok(()) => removed.push(name),
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(Error::path("remove", path, e)),
        }
    }
    Ok(removed)
}

/// Where starting a keeper failed, told back through a pipe with errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Step {
    Session = 1,
    Unshare,
    Map,
    Watch,
    Close,
    Lock,
}

/// Starts a keeper for `run_dir` (creating the run dir, 0700, if it is
/// missing), records it in the locked keeper file and joins it. Returns
/// the hold pipe's write end. On failure nothing is left: not the run dir
/// if this made it, not the keeper file.
fn start(run_dir: &RunDir, path: &Path, lock: &Flock<OwnedFd>) -> Result<OwnedFd> {
    // 0700: no one else may open it, and so hold a lock on it.
    let created = match mkdir(run_dir.path(), Mode::from_bits_truncate(0o700)) {
        Ok(()) => true,
        Err(Errno::EEXIST) => false,
        Err(e) => return Err(Error::path("create", run_dir.path(), e)),
    };
    let started = spawn(run_dir, path).and_then(|(record, ns, hold)| {
        write_record(lock, path, record)?;
        enter(&ns, record.inodes[0])?;
        // Shared from now on, so that other verbs may work beside this
        // one (a watch runs for long): the keeper takes the lock only once
        // the hold pipe has ended, so it cannot slip in between.
        lock.relock(FlockArg::LockShared)
            .map_err(|e| Error::path("lock", path, e))?;
        Ok(hold)
    });
    if started.is_err() {
        let _ = nix::unistd::unlink(path);
        if created {
            let _ = std::fs::remove_dir(run_dir.path());
        }
    }
    started
}

/// Forks the keeper and waits until it is ready or has failed; returns its
/// record, its namespaces (open) and the hold pipe's write end.
fn spawn(run_dir: &RunDir, path: &Path) -> Result<(Record, [OwnedFd; 3], OwnedFd)> {
    let keeper = KeeperProcess {
        run_dir: run_dir.path().to_owned(),
        keeper_path: path.to_owned(),
        uid_map: format!("0 {} 1", getuid()),
        gid_map: format!("0 {} 1", getgid()),
    };
    let sys_err = |action| move |errno| Error::Sys { action, errno };
    let null = open("/dev/null", OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| Error::path("open", "/dev/null", e))?;
    let (ready_rd, ready_wr) = pipe2(OFlag::O_CLOEXEC).map_err(sys_err("make a pipe"))?;
    let (hold_rd, hold_wr) = pipe2(OFlag::O_CLOEXEC).map_err(sys_err("make a pipe"))?;
    // The child's ends go with the closure: closed here once it is forked.
    // SAFETY: `join` runs before the process starts a thread (its doc
    // says so, and setns into a user namespace refuses a threaded caller
    // anyway), so this process has one thread.
    #[allow(unsafe_code)]
    let forked = unsafe { sys::fork_apart(|| keeper.main(null, ready_wr, hold_rd)) };
    let pid = forked.map_err(sys_err("start the rootless keeper"))?;
    match sys::read_code(&ready_rd) {
        Ok(Some(0)) => {}
        got => {
            while nix::sys::wait::waitpid(pid, None) == Err(Errno::EINTR) {}
            // A pipe that ended empty: the keeper died before it was ready.
            return Err(start_error(
                got.ok().flatten().unwrap_or(Errno::ESRCH as u64),
            ));
        }
    }
    let pid = pid.as_raw() as u32;
    let (fds, inodes) = open_namespaces(pid)?;
    Ok((Record { pid, inodes }, fds, hold_wr))
}

/// The error for a keeper that could not be started. A refused user
/// namespace says what the kernel's settings say about it.
fn start_error(code: u64) -> Error {
    let errno = Errno::from_raw(code as u32 as i32);
    let step = code >> 56;
    if step == Step::Unshare as u64 {
        let setting = |path: &str| files::read(Path::new(path), 16).unwrap_or_default();
        let why = [
            ("/proc/sys/user/max_user_namespaces", b'0'),
            ("/proc/sys/kernel/unprivileged_userns_clone", b'0'),
            (
                "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
                b'1',
            ),
        ]
        .into_iter()
        .find(|&(path, off)| setting(path) == [off, b'\n'])
        .map(|(path, off)| {
            let name = path["/proc/sys/".len()..].replace('/', ".");
            format!("{name} is {}", off as char)
        });
        return Error::UserNamespace { errno, why };
    }
    let action = match step {
        s if s == Step::Session as u64 => "start a session for the rootless keeper",
        s if s == Step::Map as u64 => "map the user into the new user namespace",
        s if s == Step::Watch as u64 => "watch the run dir",
        s if s == Step::Close as u64 => "close the descriptors the rootless keeper inherited",
        s if s == Step::Lock as u64 => "lock the run dir for the rootless keeper",
        _ => "start the rootless keeper",
    };
    Error::Sys { action, errno }
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
    /// descriptors, in a new user namespace (the caller as its root),
    /// mount namespace and network namespace. It tells the starter it is
    /// ready, waits until the starter is done, and from then on ends once
    /// the run dir is empty.
    fn main(&self, null: OwnedFd, ready: OwnedFd, hold: OwnedFd) -> i32 {
        let fail = |step: Step, errno: Errno| {
            let code = (step as u64) << 56 | u64::from(errno as i32 as u32);
            let _ = write(&ready, &code.to_ne_bytes());
            1
        };
        if let Err(e) = nix::unistd::setsid() {
            return fail(Step::Session, e);
        }
        let _ = nix::unistd::dup2_stdin(&null);
        let _ = nix::unistd::dup2_stdout(&null);
        let _ = nix::unistd::dup2_stderr(&null);
        drop(null);
        // A keeper that kept the starter's descriptors would hold its lock
        // and pipes for as long as it lives: better not to start.
        if let Err(e) = sys::close_all_but(&mut [ready.as_raw_fd(), hold.as_raw_fd()]) {
            return fail(Step::Close, e);
        }
        // The proof of life that verbs ask for, held until this process
        // ends (see the module's doc).
        let lock = life_lock(libc::F_RDLCK);
        let life = open(
            &self.run_dir,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .and_then(|dir| {
            nix::fcntl::fcntl(&dir, nix::fcntl::FcntlArg::F_OFD_SETLK(&lock)).map(|_| dir)
        });
        let mut life = match life {
            Ok(dir) => Some(dir),
            Err(e) => return fail(Step::Lock, e),
        };
        let new = CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWNET;
        if let Err(e) = unshare(new) {
            return fail(Step::Unshare, e);
        }
        let maps = [
            ("/proc/self/setgroups", "deny"),
            ("/proc/self/uid_map", &self.uid_map),
            ("/proc/self/gid_map", &self.gid_map),
        ];
        for (path, text) in maps {
            let written = open(path, OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::empty())
                .and_then(|fd| write(&fd, text.as_bytes()));
            if let Err(e) = written {
                return fail(Step::Map, e);
            }
        }
        let _ = nix::sys::prctl::set_name(c"netns-keeper");
        let _ = nix::unistd::chdir("/");
        // Only a removal can empty the run dir.
        let events = AddWatchFlags::IN_DELETE
            | AddWatchFlags::IN_MOVED_FROM
            | AddWatchFlags::IN_DELETE_SELF
            | AddWatchFlags::IN_MOVE_SELF;
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC)
            .and_then(|inotify| inotify.add_watch(&self.run_dir, events).map(|_| inotify));
        let inotify = match inotify {
            Ok(inotify) => inotify,
            Err(e) => return fail(Step::Watch, e),
        };
        let _ = write(&ready, &0u64.to_ne_bytes());
        drop(ready);
        // The starter holds its end until it is done: its names may not
        // be there yet.
        let mut buf = [0u8; 4096];
        while matches!(read(&hold, &mut buf), Err(Errno::EINTR) | Ok(1..)) {}
        drop(hold);
        loop {
            match self.ends_if_empty(&mut life) {
                Ok(true) => return 0,
                Ok(false) => while read(&inotify, &mut buf) == Err(Errno::EINTR) {},
                // A passing shortage (ENFILE, ENOMEM, ENOLCK) must not end
                // every namespace of the user: try again in a moment.
                Err(_) => std::thread::sleep(std::time::Duration::from_secs(1)),
            }
        }
    }

    /// Under the lock, alone (after every verb at work is done): if the
    /// run dir holds no name, lets go of the lock on the run dir that says
    /// this keeper lives, then removes the keeper file, still locked, if
    /// the record in it is this keeper's own, and says the keeper is done.
    /// In that order, a verb that locks the file next finds no keeper
    /// and no record, never a live keeper whose record is gone.
    fn ends_if_empty(&self, life: &mut Option<OwnedFd>) -> Result<bool> {
        let flags = OFlag::O_RDWR | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let path = &self.keeper_path;
        let lock = match open(path, flags, Mode::empty()) {
            Ok(fd) => Flock::lock(fd, FlockArg::LockExclusive)
                .map_err(|(_, e)| Error::path("lock", path, e))?,
            // The record is gone (removed by hand): no verb can join this
            // keeper, which ends once it holds nothing.
            Err(Errno::ENOENT) => return is_empty(&self.run_dir),
            Err(e) => return Err(Error::path("open", path, e)),
        };
        if !is_empty(&self.run_dir)? {
            return Ok(false);
        }
        let own = read_record(&lock).is_some_and(|r| r.pid == std::process::id());
        let same = match (fstat(&*lock), stat(path)) {
            (Ok(locked), Ok(now)) => (locked.st_dev, locked.st_ino) == (now.st_dev, now.st_ino),
            _ => false,
        };
        *life = None;
        if own && same {
            let _ = nix::unistd::unlink(path);
        }
        Ok(true)
    }
}
