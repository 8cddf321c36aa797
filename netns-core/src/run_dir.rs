//! The run dir (`/run/netns` by default): where each named namespace is a
//! file with the namespace bind-mounted onto it.

use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, Flock, FlockArg, OFlag, open};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::{FileStat, Mode, fstatat, stat};
use nix::unistd::mkdir;

use crate::error::{Error, Result};
use crate::mountinfo;
use crate::name::Name;
use crate::netns::NetnsId;
use crate::scan;
use crate::sys;

/// Where `ip netns` keeps names (it is fixed when iproute2 is built).
pub const DEFAULT_RUN_DIR: &str = "/run/netns";
/// The environment variable that moves the run dir, for tests and for
/// running beside a system `ip netns` without touching its names.
pub const RUN_DIR_ENV: &str = "NETNS_RUN_DIR";

/// A directory of named namespaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
    /// Its rootless keeper is joined: see [`RunDir::rootless`].
    rootless: bool,
}

/// Whether a mount is in a shared peer group, and whose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shared {
    /// In a peer group of its own.
    Yes,
    No,
    /// In its parent's peer group: a bind of the run dir onto itself
    /// under a shared mount that was not yet made private (an add in that
    /// step, or one killed in it). A name mounted now would propagate to
    /// the parent, where the run dir's mount hides the copy: it would pin
    /// the namespace, and no delete could reach it.
    WithParent,
}

impl Shared {
    fn of(group: Option<u64>, parent: Option<u64>) -> Self {
        match group {
            None => Shared::No,
            Some(_) if group == parent => Shared::WithParent,
            Some(_) => Shared::Yes,
        }
    }
}

/// One file of the run dir, as `stat` saw it while listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file's name.
    pub name: Name,
    /// The namespace's inode when an nsfs file is mounted on the entry;
    /// `None` for anything else: a stale file left by a crashed add, or
    /// a file someone else put there.
    pub inode: Option<u64>,
    /// The entry is a symlink (not followed: its inode is `None`).
    pub symlink: bool,
    /// What the entry is when it is neither a namespace, nor a symlink,
    /// nor a stale file (empty, regular, on the run dir's filesystem, as
    /// a crashed add leaves): "a directory", "a file with data in it", ...
    /// No delete removes such an entry.
    pub not_a_name: Option<&'static str>,
}

impl RunDir {
    /// The run dir at `path`, as it is: nothing is looked at or made
    /// until it is used ([`RunDir::prepare`] makes it).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        RunDir {
            path: path.into(),
            rootless: false,
        }
    }

    /// The run dir a command line asked for: the `--run-dir` value if
    /// there is one, else `$NETNS_RUN_DIR` if set and not empty, else
    /// `/run/netns`.
    pub fn resolve(option: Option<PathBuf>) -> Self {
        let env = std::env::var_os(RUN_DIR_ENV).filter(|v| !v.is_empty());
        let path = option
            .or(env.map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_RUN_DIR));
        RunDir::new(path)
    }

    /// The run dir in rootless mode: the `--run-dir` value, else
    /// `$NETNS_RUN_DIR`, else `$XDG_RUNTIME_DIR/netns` (the user's own
    /// runtime directory, which a login session makes); never /run/netns.
    /// Made absolute: joining the keeper's mount namespace moves the root.
    pub fn resolve_rootless(option: Option<PathBuf>) -> Result<Self> {
        let set = |var| std::env::var_os(var).filter(|v| !v.is_empty());
        let path = option
            .or(set(RUN_DIR_ENV).map(PathBuf::from))
            .or(set("XDG_RUNTIME_DIR").map(|dir| Path::new(&dir).join("netns")))
            .ok_or(Error::NoRootlessRunDir)?;
        let path = match path.is_absolute() {
            true => path,
            false => nix::unistd::getcwd()
                .map_err(|e| Error::path("resolve", &path, e))?
                .join(path),
        };
        // The keeper file goes beside the run dir's last name: `d/`, `d/.`
        // and `d` are one run dir. `..` or `/` at the end leave no name.
        let clean: PathBuf = path.components().collect();
        match clean.file_name() {
            Some(_) => Ok(RunDir::new(clean)),
            None => Err(Error::NotARunDir {
                path: clean,
                is: "no directory's own name (it ends in .. or is /)",
            }),
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this is a rootless run dir whose keeper this process has
    /// joined: the one [`crate::rootless::Session::run_dir`] gives. The
    /// mode is this value's, not the process's: [`crate::attach`] then
    /// names only namespaces the keeper's user namespace owns (refusing
    /// the others in the mode's words, [`Error::rootless`]), and
    /// [`crate::Enter::new`] shows the run dir at /run/netns.
    pub fn rootless(&self) -> bool {
        self.rootless
    }

    /// This run dir, its keeper joined (see [`RunDir::rootless`]).
    pub(crate) fn joined(self) -> Self {
        RunDir {
            rootless: true,
            ..self
        }
    }

    /// The file that holds `name`'s namespace.
    pub fn file(&self, name: &Name) -> PathBuf {
        self.path.join(name.as_os_str())
    }

    /// Makes the run dir ready to hold namespaces: created (0755) when
    /// missing, and a mount point in its own shared peer group, so that
    /// namespaces added later show in mount namespaces made earlier and
    /// later (containers, `netns-exec`). This is what `ip netns add` sets
    /// up, with three differences:
    /// - the state is asked of the kernel (statx and statmount, or
    ///   /proc/self/mountinfo before Linux 6.8), not guessed from mount(2)'s
    ///   EINVAL, and nothing is mounted when it is already right;
    /// - the check and the setup happen under flock(2) on the directory,
    ///   with the check repeated once the lock is held, so racing first adds
    ///   cannot stack bind mounts (Debian #949235);
    /// - a failure undoes what this call did (the bind mount, the mkdir);
    /// - a run dir in its parent's peer group (an add in the middle of its
    ///   set-up, or one killed there) is not taken for set up: the lock is
    ///   waited for, and a state a killed add left is repaired.
    ///
    /// Once the run dir is set up, this costs a mkdir, an open, a statx and
    /// two statmounts, however many names it holds.
    pub fn prepare(&self) -> Result<()> {
        let created = match mkdir(&self.path, Mode::from_bits_truncate(0o755)) {
            Ok(()) => true,
            Err(Errno::EEXIST) => false,
            Err(e) => return Err(Error::path("create", &self.path, e)),
        };
        let result = self.share();
        if result.is_err() && created {
            let _ = std::fs::remove_dir(&self.path);
        }
        result
    }

    fn share(&self) -> Result<()> {
        let dir = open(
            &self.path,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::path("open", &self.path, e))?;
        if self.mount_state(dir.as_fd())? == Some(Shared::Yes) {
            return Ok(());
        }
        let lock = Flock::lock(dir, FlockArg::LockExclusive)
            .map_err(|(_, e)| Error::path("lock", &self.path, e))?;
        match self.mount_state(lock.as_fd())? {
            Some(Shared::Yes) => Ok(()),
            Some(Shared::No) => self.make_shared(),
            // What an add killed between its bind and its private step
            // left: a peer group of its own repairs it.
            Some(Shared::WithParent) => self
                .mount(None, MsFlags::MS_PRIVATE | MsFlags::MS_REC, "make private")
                .and_then(|()| self.make_shared()),
            None => {
                self.mount(
                    Some(&self.path),
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    "bind-mount",
                )?;
                // A bind of a directory under a shared mount (systemd makes
                // / shared) joins that mount's peer group, and every nsfs
                // mount would then show twice; private first gives the run
                // dir a peer group of its own (iproute2 82c8b9fe).
                let result = self
                    .mount(None, MsFlags::MS_PRIVATE | MsFlags::MS_REC, "make private")
                    .and_then(|()| self.make_shared());
                if result.is_err() {
                    let _ = umount2(&self.path, MntFlags::MNT_DETACH);
                }
                result
            }
        }
    }

    /// Refuses a run dir that another user could change under the caller
    /// (one who can write to it can swap a name's file for a symlink, or
    /// add and remove names): writable by group or others, or not the
    /// caller's own. A missing run dir is fine: it will be the caller's.
    /// For the verbs that write to it, before they do.
    pub fn check_owner(&self) -> Result<()> {
        let st = match stat(&self.path) {
            Ok(st) => st,
            Err(Errno::ENOENT) => return Ok(()),
            Err(e) => return Err(Error::path("stat", &self.path, e)),
        };
        Error::unless_own("run dir", &self.path, &st)
    }

    /// Whether a mount sits on the run dir (`None` when none does), and
    /// whether it is shared. Asked by path, not of `dir`: a racer's bind
    /// mount goes on top of the directory `dir` was opened on, and only a
    /// path walk reaches it.
    fn mount_state(&self, dir: BorrowedFd<'_>) -> Result<Option<Shared>> {
        let path = CString::new(self.path.as_os_str().as_bytes())
            .map_err(|_| Error::path("inspect the mount of", &self.path, Errno::EINVAL))?;
        match sys::mount_of(&path) {
            Ok(m) => {
                return Ok(m
                    .root
                    .then(|| Shared::of(m.peer_group, m.parent_peer_group)));
            }
            Err(e) if sys::unavailable(e) => {}
            Err(e) => return Err(Error::path("inspect the mount of", &self.path, e)),
        }
        // Before Linux 6.8 (or under a filter older than it) only
        // mountinfo says, naming mount points as the kernel resolves them:
        // absolute, without symlinks (/var/run/netns is /run/netns).
        let real = PathBuf::from(
            nix::fcntl::readlink(format!("/proc/self/fd/{}", dir.as_raw_fd()).as_str())
                .map_err(|e| Error::path("resolve", &self.path, e))?,
        );
        Ok(mountinfo::mount_at(&real)?.map(|(m, parent)| Shared::of(m.peer_group, parent)))
    }

    fn make_shared(&self) -> Result<()> {
        self.mount(None, MsFlags::MS_SHARED | MsFlags::MS_REC, "make shared")
    }

    fn mount(&self, source: Option<&Path>, flags: MsFlags, action: &'static str) -> Result<()> {
        mount(source, &self.path, None::<&str>, flags, None::<&str>)
            .map_err(|e| Error::path(action, &self.path, e))
    }

    /// The names in the run dir that refer to `ns`, sorted: every one, where
    /// `ip netns identify` prints only the last it reads.
    ///
    /// One stat per file, as ip makes: no cheaper question finds them. The
    /// kernel keeps no map from a namespace to the mounts of it, and
    /// statmount(2), which could tell from the run dir's mounts alone
    /// (listmount(2)), costs 2.3 µs a mount for the part that names the
    /// namespace (STATMOUNT_MNT_ROOT) against 1.1 µs a stat (measured
    /// with 10 000 names). The stats are shared out to a thread a core
    /// with the `threads` feature.
    pub fn names_of(&self, ns: NetnsId) -> Result<Vec<Name>> {
        let nsfs = nsfs_device()?;
        // An entry has an inode only when nsfs is mounted on it, and nsfs
        // is one device: the inode alone tells. A file that cannot be
        // stat'ed (gone since readdir) is not one of them.
        let found = scan::scan(
            &self.path,
            &|dir, name| match self.look_at(dir, name, nsfs) {
                Ok(Some(Some(inode))) if inode == ns.inode => Some(name.to_owned()),
                _ => None,
            },
        )?;
        let mut names = found
            .unwrap_or_default()
            .into_iter()
            .map(Name::new)
            .collect::<Result<Vec<_>>>()?;
        names.sort_unstable();
        Ok(names)
    }

    /// The names in the run dir, sorted: one readdir, nothing stat'ed, so
    /// stale files too. A missing run dir has none.
    pub fn names(&self) -> Result<Vec<Name>> {
        let mut names = scan::names(&self.path)?.unwrap_or_default();
        names.sort_unstable();
        names.into_iter().map(Name::new).collect()
    }

    /// The run dir's files, sorted by name, each with its namespace inode
    /// when it holds one: one readdir and one stat per entry (on a thread a
    /// core with the `threads` feature). A missing run dir has no entries.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        let nsfs = nsfs_device()?;
        let dev = match stat(&self.path) {
            Ok(st) => st.st_dev,
            Err(Errno::ENOENT) => return Ok(Vec::new()),
            Err(e) => return Err(Error::path("stat", &self.path, e)),
        };
        let found = scan::scan_sorted(&self.path, &|dir, name| {
            // Deleted since readdir: it is no longer an entry.
            let seen = self.stat_entry(dir, name).transpose()?;
            Some(seen.and_then(|st| {
                let symlink = st.st_mode & libc::S_IFMT == libc::S_IFLNK;
                let inode = (st.st_dev == nsfs).then_some(st.st_ino);
                Ok(Entry {
                    name: Name::new(name)?,
                    inode,
                    symlink,
                    not_a_name: match inode.is_some() || symlink {
                        true => None,
                        false => not_a_name(&st, dev),
                    },
                })
            }))
        })?;
        found.unwrap_or_default().into_iter().collect()
    }

    /// The lock that says a name is being made: shared among the verbs
    /// that make names (`Creator`, `attach`), each holding it from the
    /// making of a file to the mount onto it, while the file holds no
    /// namespace yet and is no stale one (see [`RunDir::adding`]). None
    /// when it cannot be had: it informs, it guards nothing.
    pub(crate) fn lock_adding(&self) -> Option<Flock<OwnedFd>> {
        self.lock(FlockArg::LockShared).ok()
    }

    /// Whether a verb of ours is making a name here now: it holds the
    /// run dir's shared flock(2), which each add holds from making a
    /// name's file to mounting onto it. Asked without waiting (an
    /// exclusive lock that cannot be had), and let go at once.
    pub fn adding(&self) -> bool {
        matches!(
            self.lock(FlockArg::LockExclusiveNonblock),
            Err(Errno::EWOULDBLOCK)
        )
    }

    fn lock(&self, arg: FlockArg) -> nix::Result<Flock<OwnedFd>> {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let dir = open(&self.path, flags, Mode::empty())?;
        Flock::lock(dir, arg).map_err(|(_, errno)| errno)
    }

    /// Whether the run dir's file `name` was made (or last written) less
    /// than a moment ago: an add, ip's too, makes a file and then mounts
    /// the namespace onto it, so such a file with no namespace on it yet is
    /// one being made rather than a stale one.
    pub fn just_made(&self, name: &Name) -> bool {
        let Ok(st) = stat(&self.file(name)) else {
            return false;
        };
        // A moment: a second, and the rest of the second it was made in.
        let moment = u64::try_from(st.st_mtime).map_or(0, |made| made + 2);
        std::time::SystemTime::now()
            < std::time::UNIX_EPOCH + std::time::Duration::from_secs(moment)
    }

    /// One file of the run dir (`dir` is the run dir open): `None` when it
    /// is gone, else the namespace inode when nsfs (device `nsfs`) is
    /// mounted on it, as in [`Entry::inode`].
    pub(crate) fn look_at(
        &self,
        dir: BorrowedFd<'_>,
        name: &OsStr,
        nsfs: u64,
    ) -> Result<Option<Option<u64>>> {
        let st = self.stat_entry(dir, name)?;
        Ok(st.map(|st| (st.st_dev == nsfs).then_some(st.st_ino)))
    }

    /// The entry `name` as lstat sees it (a symlink not followed), `None`
    /// when it is gone.
    fn stat_entry(&self, dir: BorrowedFd<'_>, name: &OsStr) -> Result<Option<FileStat>> {
        match fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(Error::path("stat", self.path.join(name), e)),
        }
    }
}

/// What a run-dir entry with no namespace on it is, unless it is a file
/// that an add makes (ours and ip's, or `touch` before `unshare
/// --net=FILE`): regular, empty, on the run dir's filesystem (`dev`).
/// Such a stale file is `None`: a delete removes it; nothing else.
pub(crate) fn not_a_name(st: &FileStat, dev: u64) -> Option<&'static str> {
    match st.st_mode & libc::S_IFMT {
        libc::S_IFREG if st.st_dev != dev => Some("something other than a namespace mounted on it"),
        libc::S_IFREG if st.st_size != 0 => Some("a file with data in it"),
        libc::S_IFREG => None,
        libc::S_IFDIR => Some("a directory"),
        _ => Some("not a regular file"),
    }
}

/// The device number of nsfs, which every namespace file shares: a run-dir
/// entry with this st_dev has a namespace mounted on it.
pub(crate) fn nsfs_device() -> Result<u64> {
    const SELF_NET: &str = "/proc/self/ns/net";
    stat(SELF_NET)
        .map(|st| st.st_dev)
        .map_err(|e| Error::path("stat", SELF_NET, e))
}

/// The run dir held open for its flock(2), for a batch that takes the lock
/// and lets it go name after name (a [`Creator`](crate::Creator) shared,
/// a [`Deleter`](crate::Deleter) exclusive) without an open and a close
/// of the directory each time. The lock informs, it guards nothing: where
/// the run dir cannot be opened there is none to take.
pub(crate) struct DirLock {
    /// Taken out while the lock is held (by [`Held`]), and put back.
    dir: std::cell::Cell<Option<OwnedFd>>,
}

impl DirLock {
    pub(crate) fn open(run_dir: &RunDir) -> Self {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        DirLock {
            dir: std::cell::Cell::new(open(run_dir.path(), flags, Mode::empty()).ok()),
        }
    }

    /// Whether the run dir's path still names the directory this lock was
    /// opened on (not so once the path, or a symlink on it, is pointed
    /// elsewhere). A lock that could not be opened names none.
    pub(crate) fn is_at(&self, run_dir: &RunDir) -> bool {
        let dir = self.dir.take();
        let same = match (&dir, stat(run_dir.path())) {
            (Some(dir), Ok(now)) => nix::sys::stat::fstat(dir.as_fd())
                .is_ok_and(|was| (was.st_dev, was.st_ino) == (now.st_dev, now.st_ino)),
            _ => false,
        };
        self.dir.set(dir);
        same
    }

    /// The lock, held until the value returned is dropped (waiting for it
    /// as flock(2) waits).
    pub(crate) fn hold(&self, arg: FlockArg) -> Held<'_> {
        let lock = self.dir.take().and_then(|dir| match Flock::lock(dir, arg) {
            Ok(lock) => Some(lock),
            Err((dir, _)) => {
                self.dir.set(Some(dir));
                None
            }
        });
        Held {
            home: &self.dir,
            lock,
        }
    }
}

/// A [`DirLock`] taken: let go of when dropped, the directory kept open
/// for the next time.
pub(crate) struct Held<'a> {
    home: &'a std::cell::Cell<Option<OwnedFd>>,
    lock: Option<Flock<OwnedFd>>,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        // An unlock that fails closes the directory, which lets go too.
        if let Some(Ok(dir)) = self.lock.take().map(Flock::unlock) {
            self.home.set(Some(dir));
        }
    }
}
