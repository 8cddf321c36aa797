//! Making, naming and removing named namespaces, and telling them apart.

use std::ffi::{CString, OsString};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{FlockArg, OFlag, open};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::{FileStat, Mode, fstat, lstat, stat};
use nix::sys::statfs::{NSFS_MAGIC, fstatfs};
use nix::unistd::unlink;

use crate::error::{Error, Result};
use crate::name::Name;
use crate::run_dir::{DirLock, RunDir, not_a_name};
use crate::{scan, sys};

/// Makes named namespaces in one run dir. Build one per batch: the run dir
/// is prepared once, and held open for its lock. While it makes a batch
/// of up to 16 names, SIGHUP, SIGINT, SIGQUIT and SIGTERM wait (blocked
/// on the calling thread): one that ends the process then leaves no file
/// without its namespace.
pub struct Creator<'a> {
    run_dir: &'a RunDir,
    loopback_up: bool,
    lock: DirLock,
}

/// How many names [`Creator::create_each`] makes under one lock and by one
/// task: as many files held open at once, and as long a wait for a
/// delete (about a ms a name; flock lets the adds take the lock again
/// between batches, so a delete may wait several). A task costs about
/// 40 µs: 2.5 µs a name at 16.
const BATCH: usize = 16;

impl<'a> Creator<'a> {
    /// Prepares the run dir (see [`RunDir::prepare`]).
    pub fn new(run_dir: &'a RunDir) -> Result<Self> {
        run_dir.check_owner()?;
        run_dir.prepare()?;
        Ok(Creator {
            run_dir,
            loopback_up: false,
            lock: DirLock::open(run_dir),
        })
    }

    /// Brings up each new namespace's loopback device (`lo`), which a new
    /// namespace has down: what `ip netns exec NAME ip link set lo up`
    /// does after an `ip netns add`, without a process.
    pub fn loopback_up(mut self) -> Self {
        self.loopback_up = true;
        self
    }

    /// Makes a new network namespace and names it `name`; returns its file.
    ///
    /// The steps are those of `ip netns add`: the file is created with
    /// O_CREAT|O_EXCL (of two racing creators one wins, the other gets
    /// EEXIST), a namespace is unshared (CLONE_NEWNET) and bind-mounted
    /// onto the file. Unlike ip, these are made by a task of its own
    /// that is thrown away after: the calling thread never leaves its
    /// namespace, so there is no way back to take (which fails as root of
    /// a user namespace that does not own the current network namespace:
    /// `unshare -U -r -m`).
    ///
    /// On any failure the file is removed again: nothing half-made stays.
    pub fn create(&mut self, name: &Name) -> Result<PathBuf> {
        let mut made = self.create_each(std::slice::from_ref(name));
        made.swap_remove(0)
    }

    /// [`Creator::create`] for each of `names`, in order: one result a
    /// name, a failing name no stop to the others. Cheaper than a create
    /// a name: the names' namespaces are made by one thrown-away task a
    /// few dozen names, not one a name.
    pub fn create_each(&mut self, names: &[Name]) -> Vec<Result<PathBuf>> {
        self.create_in_order(names, false)
    }

    /// [`Creator::create_each`], but the first name that fails ends it,
    /// as a failing line ends an ip batch: the results are those of the
    /// names tried, all `Ok` but perhaps the last. No name after the
    /// failing one gets a file, not even for a moment: each file is made
    /// by the batch's task after the namespace before it is mounted. But
    /// with [`Creator::loopback_up`], a loopback that cannot be brought up
    /// is found after its batch's namespaces are made, and those after it
    /// are then removed again.
    pub fn create_each_until_failure(&mut self, names: &[Name]) -> Vec<Result<PathBuf>> {
        self.create_in_order(names, true)
    }

    fn create_in_order(&mut self, names: &[Name], stop: bool) -> Vec<Result<PathBuf>> {
        let mut made = Vec::with_capacity(names.len());
        let mut rest = names;
        let stopped = |made: &Vec<Result<PathBuf>>| stop && made.last().is_some_and(Result::is_err);
        while !rest.is_empty() && !stopped(&made) {
            // A run dir is checked again before each batch: a long-running
            // add (names from a slow pipe, a batch file) must not go on
            // into another user's directory, or an unprepared one, that
            // the path (a symlink on it) was pointed at meanwhile.
            if let Err(err) = self.recheck() {
                made.push(Err(err));
                rest = &rest[1..];
                continue;
            }
            let taken = self.make_batch(&rest[..rest.len().min(BATCH)], &mut made, stop);
            rest = &rest[taken..];
        }
        made
    }

    /// The run dir still the caller's own, and prepared (again, with a
    /// lock on it, when its path now names another directory).
    fn recheck(&mut self) -> Result<()> {
        self.run_dir.check_owner()?;
        if !self.lock.is_at(self.run_dir) {
            self.run_dir.prepare()?;
            self.lock = DirLock::open(self.run_dir);
        }
        Ok(())
    }

    /// The files of the first of `names` made and a namespace mounted on
    /// each, by one task (see sys::create_new_netns_each); pushed to
    /// `made` in order. Returns how many
    /// names it took: all of them, or those it had descriptors for (a
    /// batch holds its files open until they are mounted on, and the
    /// limit on open files may be lower than a batch). With `stop`, the
    /// first failure ends the batch (see
    /// [`Creator::create_each_until_failure`]).
    fn make_batch(&self, names: &[Name], made: &mut Vec<Result<PathBuf>>, stop: bool) -> usize {
        // Held from the first file to the last mount, while a file holds
        // no namespace yet and is no stale one (see `RunDir::adding`).
        let _adding = self.lock.hold(FlockArg::LockShared);
        // A ^C waits for the batch's last mount: it leaves no empty file
        // (the task that makes them inherits the mask).
        let _held = crate::held::Held::ending();
        // A name twice: the second in the next batch, once the first is
        // made or removed again, as it would be tried alone.
        let names = match (1..names.len()).find(|&at| names[..at].contains(&names[at])) {
            Some(twice) => &names[..twice],
            None => names,
        };
        let paths: Vec<PathBuf> = names.iter().map(|name| self.run_dir.file(name)).collect();
        let targets: Vec<CString> = paths
            .iter()
            .map(|path| CString::new(path.as_os_str().as_bytes()).unwrap_or_default())
            .collect();
        let done = sys::create_new_netns_each(&targets, stop);
        // Every file closed before a loopback is brought up: that takes
        // descriptors of its own (the namespace, a socket), and the batch
        // may have taken all there were.
        let mut placed = Vec::with_capacity(done.len());
        let mut any_open = false;
        for (path, (fd, mounted)) in paths.into_iter().zip(done) {
            placed.push(match fd {
                Some(fd) => {
                    any_open = true;
                    NewFile { path, fd }.settle(mounted, self.loopback_up)
                }
                None => {
                    let (action, errno) = mounted.err().unwrap_or(("create", Errno::EBADF));
                    let err = Error::path(action, path, errno);
                    // The rest in the next batch, once these are closed.
                    if err.is_shortage() && any_open {
                        break;
                    }
                    Err(err)
                }
            });
        }
        let taken = placed.len();
        for placed in placed {
            if stop && made.last().is_some_and(Result::is_err) {
                if let Ok(placed) = placed {
                    placed.remove();
                }
                continue;
            }
            made.push(placed.and_then(|p| self.finish(p)));
        }
        taken
    }

    /// A file with its namespace on it: its path, once its loopback is up
    /// if asked for; or the error, with the name undone.
    fn finish(&self, placed: Placed) -> Result<PathBuf> {
        if self.loopback_up {
            let up = Netns::open_path(&placed.path).and_then(|ns| crate::link::loopback_up(&ns));
            if let Err(err) = up {
                placed.remove();
                return Err(err);
            }
        }
        Ok(placed.path)
    }
}

impl Creator<'_> {
    /// [`Creator::create`], but a name that is a namespace already (made
    /// by ip, or an earlier boot's unit) is left as it is: `None`. A
    /// stale file or any other file there is still an error.
    pub fn create_or_keep(&mut self, name: &Name) -> Result<Option<PathBuf>> {
        let mut made = self.create_or_keep_each(std::slice::from_ref(name));
        made.swap_remove(0)
    }

    /// [`Creator::create_or_keep`] for each of `names`, as
    /// [`Creator::create_each`] makes them.
    pub fn create_or_keep_each(&mut self, names: &[Name]) -> Vec<Result<Option<PathBuf>>> {
        let made = self.create_each(names);
        let keep = |made, name| match made {
            Err(Error::Path {
                errno: Errno::EEXIST,
                ..
            }) if Netns::open(self.run_dir, name).is_ok() => Ok(None),
            made => made.map(Some),
        };
        made.into_iter()
            .zip(names)
            .map(|(made, name)| keep(made, name))
            .collect()
    }
}

/// A file of the run dir that this process has just made (O_CREAT|O_EXCL:
/// of two racing creators one wins, the other gets EEXIST), held open. The
/// namespace is mounted onto it through its descriptor, not its path, so a
/// file swapped in at the path meanwhile (a symlink to somewhere else,
/// say) cannot take root's mount elsewhere; and a failure removes it only
/// while the path still names it.
struct NewFile {
    path: PathBuf,
    fd: OwnedFd,
}

impl NewFile {
    fn create(run_dir: &RunDir, name: &Name) -> Result<Self> {
        let path = run_dir.file(name);
        let fd = open(
            &path,
            OFlag::O_RDONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::path("create", &path, e))?;
        Ok(NewFile { path, fd })
    }

    /// Bind-mounts `source` onto the file made: /proc/thread-self/fd/N
    /// names the very file open as N, wherever its path now leads.
    fn mount(&self, source: &str) -> nix::Result<()> {
        let target = format!("/proc/thread-self/fd/{}", self.fd.as_raw_fd());
        mount(
            Some(source),
            target.as_str(),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
    }

    /// Removes the file, if its path still names it.
    fn remove(self) {
        remove_if(&self.path, identity(fstat(&self.fd)));
    }

    /// The file as its mount (`done`) left it: closed, with its namespace
    /// on it (and, if `undoable`, what tells the file apart, to remove it
    /// again); or removed again, and the error.
    fn settle(self, done: sys::Made, undoable: bool) -> Result<Placed> {
        if let Err((action, errno)) = done {
            let path = self.path.clone();
            self.remove();
            // unshare's ENOSPC: the kernel's count of network namespaces.
            return Err(
                match errno == Errno::ENOSPC && action == "make a network namespace for" {
                    true => Error::NamespaceLimit { path },
                    false => Error::path(action, path, errno),
                },
            );
        }
        Ok(Placed {
            file: undoable.then(|| identity(fstat(&self.fd))).flatten(),
            path: self.path,
        })
    }
}

/// A [`NewFile`] with a new namespace mounted on it, no longer held open.
struct Placed {
    path: PathBuf,
    /// The file's device and inode (under the mount), for its removal:
    /// none, nothing removed.
    file: Option<(u64, u64)>,
}

impl Placed {
    /// Unmounts the namespace and removes the file, if its path still
    /// names it.
    fn remove(self) {
        let _ = umount2(&self.path, MntFlags::MNT_DETACH);
        remove_if(&self.path, self.file);
    }
}

/// A file's device and inode, from its stat.
fn identity(st: nix::Result<FileStat>) -> Option<(u64, u64)> {
    st.ok().map(|st| (st.st_dev, st.st_ino))
}

/// Removes `path` if it still names the file `file` (its identity).
fn remove_if(path: &Path, file: Option<(u64, u64)>) {
    if file.is_some() && identity(lstat(path)) == file {
        let _ = unlink(path);
    }
}

/// An open network namespace: a file descriptor on its nsfs file, which
/// keeps it alive while held, its identity, and the path it was opened by.
#[derive(Debug)]
pub struct Netns {
    fd: OwnedFd,
    id: NetnsId,
    path: PathBuf,
}

/// How the kernel tells namespaces apart: the device and inode of the
/// nsfs file. Two files name one namespace when both agree (network_
/// namespaces(7)); `ip netns identify` and `pids` compare the same pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NetnsId {
    /// The device of nsfs (`st_dev`), the same for every namespace.
    pub dev: u64,
    /// The namespace's inode, as `/proc/PID/ns/net` names it
    /// (`net:[INODE]`).
    pub inode: u64,
}

impl Netns {
    /// Opens the namespace named `name`; a file with none mounted on it is
    /// [`Error::NotANamespace`].
    pub fn open(run_dir: &RunDir, name: &Name) -> Result<Self> {
        match Netns::open_path(&run_dir.file(name)) {
            Err(Error::NotANetns { path }) => Err(Error::NotANamespace { path }),
            opened => opened,
        }
    }

    /// Opens the network namespace process `pid` is in: its main
    /// thread's, or once that has exited (its links go with it), that of
    /// the first of its threads still running.
    pub fn of_process(pid: u32) -> Result<Self> {
        let path = PathBuf::from(format!("/proc/{pid}/ns/net"));
        match Netns::open_path(&path) {
            Err(Error::Path {
                errno: Errno::ENOENT | Errno::ESRCH,
                ..
            }) => {}
            opened => return opened,
        }
        let task = format!("/proc/{pid}/task");
        for tid in scan::names(Path::new(&task))
            .ok()
            .flatten()
            .unwrap_or_default()
        {
            let mut path = OsString::from(&task);
            path.extend(["/".as_ref(), tid.as_os_str(), "/ns/net".as_ref()]);
            if let Ok(ns) = Netns::open_path(Path::new(&path)) {
                return Ok(ns);
            }
        }
        Err(Error::NoProcess { pid })
    }

    /// Opens a network namespace file anywhere: a run-dir entry, another
    /// tool's (`/var/run/docker/netns/...`), or `/proc/PID/ns/net`.
    ///
    /// The path is looked at before it is opened for reading: an O_PATH
    /// descriptor opens nothing, and only a file of nsfs is opened through
    /// it. A FIFO's open would wait for a writer, a device's would act (a
    /// watchdog arms, a tty can become the controlling terminal).
    pub fn open_path(path: &Path) -> Result<Self> {
        let at = open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| Error::path("open", path, e))?;
        let fs = fstatfs(&at).map_err(|e| Error::path("inspect", path, e))?;
        if fs.filesystem_type() != NSFS_MAGIC {
            return Err(Error::NotANetns { path: path.into() });
        }
        let fd = open(
            format!("/proc/self/fd/{}", at.as_raw_fd()).as_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::path("open", path, e))?;
        match sys::namespace_type(fd.as_fd()) {
            Ok(kind) if kind == libc::CLONE_NEWNET => {}
            // Another namespace type, or no namespace at all (ENOTTY).
            Ok(_) | Err(Errno::ENOTTY | Errno::EINVAL) => {
                return Err(Error::NotANetns { path: path.into() });
            }
            Err(e) => return Err(Error::path("inspect", path, e)),
        }
        let st = fstat(&fd).map_err(|e| Error::path("stat", path, e))?;
        let id = NetnsId {
            dev: st.st_dev,
            inode: st.st_ino,
        };
        Ok(Netns {
            fd,
            id,
            path: path.into(),
        })
    }

    /// Which namespace it is: compare two with `==`.
    pub fn id(&self) -> NetnsId {
        self.id
    }

    /// The path it was opened by, which messages name.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl AsFd for Netns {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Gives `ns` the name `name`, as `ip netns attach NAME PID` does: a new
/// run-dir file (O_EXCL, as [`Creator::create`]) with the namespace
/// bind-mounted onto it from the open descriptor, so a process that has
/// exited since `ns` was opened changes nothing. The run dir is prepared
/// first; on any later failure the file is removed. SIGHUP, SIGINT,
/// SIGQUIT and SIGTERM wait (blocked) from the file to its mount: one
/// that ends the process then leaves no stale file.
pub fn attach(run_dir: &RunDir, name: &Name, ns: &Netns) -> Result<PathBuf> {
    // The kernel would mount any namespace the caller can open, the host's
    // too; in rootless mode a name is only for a namespace the rootless
    // user namespace owns, and the kernel says which it does not
    // (NS_GET_USERNS refuses those outside it).
    if run_dir.rootless() {
        sys::owner_userns(ns.fd.as_fd())
            .map_err(|e| Error::path("attach", ns.path(), e).rootless())?;
    }
    run_dir.check_owner()?;
    run_dir.prepare()?;
    let _adding = run_dir.lock_adding();
    // A ^C waits for the mount: it leaves no empty file.
    let _held = crate::held::Held::ending();
    let file = NewFile::create(run_dir, name)?;
    let source = format!("/proc/thread-self/fd/{}", ns.fd.as_raw_fd());
    if let Err(e) = file.mount(&source) {
        let path = file.path.clone();
        file.remove();
        return Err(Error::path("mount the namespace on", path, e));
    }
    Ok(file.path)
}

/// What [`Deleter::delete`] found on the file it removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    /// A namespace was mounted on it.
    Namespace,
    /// Nothing was: a stale file, as a crash between creating the file and
    /// mounting onto it leaves (empty, on the run dir's filesystem).
    StaleFile,
    /// It was a symlink, removed as one: what it points to is left as it
    /// is (`ln -s /var/run/docker/netns/X /run/netns/c1` made it).
    Symlink,
}

/// Removes names from one run dir. Build one per batch: it holds each
/// removed namespace open until it is dropped (see [`Deleter::delete`]).
pub struct Deleter<'a> {
    run_dir: &'a RunDir,
    /// The run dir's filesystem: a stale file of an add is on it.
    dev: u64,
    nsfs: u64,
    /// Symlinks are removed only when they lead to a namespace (for
    /// `--all`, which no one has looked at entry by entry).
    every_name: bool,
    /// The namespaces of the names removed so far.
    removed: Vec<OwnedFd>,
    /// How many of them may be held open at once.
    hold: usize,
    lock: DirLock,
}

impl<'a> Deleter<'a> {
    /// A deleter for `run_dir`, which must be the caller's own (see
    /// [`RunDir::check_owner`]). It may hold as many namespaces open as the
    /// file limit allows: the soft limit is raised to the hard one first.
    pub fn new(run_dir: &'a RunDir) -> Result<Self> {
        run_dir.check_owner()?;
        let dev = match stat(run_dir.path()) {
            Ok(st) => st.st_dev,
            // No run dir: every name is missing.
            Err(Errno::ENOENT) => 0,
            Err(e) => return Err(Error::path("stat", run_dir.path(), e)),
        };
        Ok(Deleter {
            run_dir,
            dev,
            nsfs: crate::run_dir::nsfs_device()?,
            every_name: false,
            removed: Vec::new(),
            hold: raise_file_limit().saturating_sub(FILES_KEPT_FREE),
            lock: DirLock::open(run_dir),
        })
    }

    /// For a delete of every entry of the run dir (`--all`): a symlink is
    /// removed only when it leads to a namespace, and refused otherwise,
    /// as a file that is no name is.
    pub fn every_name(mut self) -> Self {
        self.every_name = true;
        self
    }

    /// Removes `name` from the run dir: every mount on its file (lazily, as
    /// `ip netns delete` does), then the file. Only what an add makes is
    /// removed: a file with a namespace mounted on it, or a stale file
    /// (empty, on the run dir's filesystem). A symlink is removed as a
    /// symlink: nothing is unmounted through it. Anything else (a file
    /// with data, a directory, another kind of mount) is refused with
    /// [`Error::NotAName`] and left as it is.
    ///
    /// The namespace itself lives on while processes or open files hold
    /// it. Unlike `ip netns delete`, this either does all of it or nothing:
    /// the namespace is held open meanwhile, and if the file cannot be
    /// removed it is mounted back. SIGHUP, SIGINT, SIGQUIT and SIGTERM
    /// wait (blocked) from the unmount to the unlink: one that ends the
    /// process then leaves no stale file.
    ///
    /// The namespace stays open until the deleter is dropped (or until the
    /// file limit would be reached). Each unmount waits for an RCU grace
    /// period, and a grace period is slow while the kernel tears a
    /// namespace down on another CPU; letting go of a namespace's last
    /// reference starts that teardown. Held, the teardowns begin when the
    /// batch ends instead of slowing each unmount after them: 10 000
    /// deletes took 0.4 s instead of 1.3 s (measured by hand in a C loop;
    /// the bench's scale section has ours against `ip -batch`).
    pub fn delete(&mut self, name: &Name) -> Result<Removed> {
        let path = self.run_dir.file(name);
        // Alone, for this name: a delete racing this one, or a delete and
        // an add of the same name between this unmount and this unlink,
        // would have this one remove the name made anew.
        let _alone = self.lock.hold(FlockArg::LockExclusive);
        let (held, st) = self.look(&path)?;
        let kind = st.st_mode & libc::S_IFMT;
        if kind == libc::S_IFLNK {
            let leads_to_namespace = stat(&path).is_ok_and(|t| t.st_dev == self.nsfs);
            if self.every_name && !leads_to_namespace {
                return Err(Error::NotAName {
                    path,
                    what: "a symlink to something that is not a namespace",
                });
            }
            unlink(&path).map_err(|e| Error::path("remove", &path, e))?;
            return Ok(Removed::Symlink);
        }
        if st.st_dev != self.nsfs {
            if let Some(what) = not_a_name(&st, self.dev) {
                return Err(Error::NotAName { path, what });
            }
            unlink(&path).map_err(|e| Error::path("remove", &path, e))?;
            return Ok(Removed::StaleFile);
        }
        // A ^C waits for the unlink (or the namespace put back): it
        // leaves no empty file where the namespace was.
        let _held = crate::held::Held::ending();
        let mut unmounted = 0;
        loop {
            let flags = MntFlags::MNT_DETACH | MntFlags::UMOUNT_NOFOLLOW;
            if let Err(e) = umount2(&path, flags) {
                let err = Error::path("unmount", &path, e);
                return Err(put_back(&held, &path, unmounted, err));
            }
            unmounted += 1;
            // What is there now: another namespace stacked on the file,
            // which goes too; or the file an add made, which goes; or a
            // file of someone else's under the namespace, which stays.
            let under = match lstat(&path) {
                Ok(st) => st,
                Err(e) => {
                    return Err(put_back(
                        &held,
                        &path,
                        unmounted,
                        Error::path("stat", &path, e),
                    ));
                }
            };
            if under.st_dev == self.nsfs && unmounted < MAX_STACKED {
                continue;
            }
            if not_a_name(&under, self.dev).is_some() {
                let err = Error::NotAName {
                    path: path.clone(),
                    what: "a namespace mounted on a file that no add made",
                };
                return Err(put_back(&held, &path, unmounted, err));
            }
            match unlink(&path) {
                Ok(()) => break,
                // The file is mounted on at another path too (a bind of
                // the run dir): busy.
                Err(e) => {
                    let err = Error::path("remove", &path, e);
                    return Err(put_back(&held, &path, unmounted, err));
                }
            }
        }
        if self.removed.len() >= self.hold {
            self.removed.clear();
        }
        // With no room to hold it (a file limit of a few), it goes now.
        if self.hold > 0 {
            self.removed.push(held);
        }
        Ok(Removed::Namespace)
    }

    /// The entry at `path` (not followed if a symlink; the topmost mount
    /// on it otherwise), open, and what it is.
    fn look(&self, path: &Path) -> Result<(OwnedFd, FileStat)> {
        let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let held = open(path, flags, Mode::empty()).map_err(|e| Error::path("remove", path, e))?;
        let st = fstat(&held).map_err(|e| Error::path("stat", path, e))?;
        Ok((held, st))
    }
}

/// Descriptors a [`Deleter`] leaves to the rest of the process.
const FILES_KEPT_FREE: usize = 64;

/// Raises the soft limit on open files to the hard one, and returns the
/// limit in force (a Deleter's and a Wirer's sizes follow it).
pub(crate) fn raise_file_limit() -> usize {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 0;
    };
    let limit = match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        Ok(()) => hard,
        Err(_) => soft,
    };
    usize::try_from(limit).unwrap_or(usize::MAX)
}

/// How many mounts stacked on one file [`Deleter::delete`] takes off before it gives
/// up: a bound on a loop, far above anything a tool makes.
const MAX_STACKED: usize = 64;

/// Puts back what [`Deleter::delete`] unmounted before it failed, from the file it
/// held open (stacked mounts come back as one), and returns the error it
/// failed with: with the put-back's own, if that failed too.
fn put_back(held: &OwnedFd, path: &Path, unmounted: usize, err: Error) -> Error {
    if unmounted == 0 {
        return err;
    }
    let source = format!("/proc/self/fd/{}", held.as_raw_fd());
    match mount(
        Some(source.as_str()),
        path,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    ) {
        Ok(()) => err,
        Err(back) => Error::NotPutBack {
            failed: Box::new(err),
            errno: back,
        },
    }
}
