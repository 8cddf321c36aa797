//! Entering a named namespace to run a command there, the way `ip netns
//! exec` does (ip-netns(8)): the network namespace, a private mount
//! namespace, a sysfs of the namespace on /sys, and /etc/netns/NAME over
//! /etc. Unlike ip, the mounts below /sys (cgroup, bpf, ...) are kept.
//!
//! They are carried over the same way on every kernel: each is cloned
//! from the live tree (open_tree(2), Linux 5.2) before /sys is unmounted,
//! then moved onto the new sysfs (move_mount(2)). Where those calls are
//! refused (a seccomp filter older than them), each is held by an O_PATH
//! descriptor instead, the new sysfs goes on top of the old one, and each
//! is bound back through its descriptor (mount(2) only).

use std::ffi::{CStr, CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::stat::Mode;
use nix::sys::statvfs::{FsFlags, statvfs};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::error::{Error, Result, errno_of};
use crate::mountinfo;
use crate::name::Name;
use crate::netns::Netns;
use crate::relay::{self, Relay};
use crate::run_dir::RunDir;
use crate::sys::{self, Argv};
use crate::user::User;

/// Where `ip netns exec` finds the per-namespace files laid over /etc.
pub const ETC_NETNS_DIR: &str = "/etc/netns";
const SYS: &CStr = c"/sys";

/// How /sys is mounted on this host: the same for every namespace entered,
/// so a caller entering many (`netns-exec --all`) reads it once.
#[derive(Debug, Clone)]
pub struct Sysfs {
    read_only: bool,
    /// The mount points right below /sys (/sys/fs/cgroup, ...); each is
    /// carried over to the new sysfs with the mounts below it.
    mounts: Vec<CString>,
    /// Whether they are carried over as clones (open_tree, move_mount):
    /// asked once here, not in every child (two failing calls each).
    clone: bool,
}

impl Sysfs {
    /// Whether /sys is read-only, and the mounts right below it: from
    /// listmount(2) where the kernel has it (6.8), else from mountinfo,
    /// whose size grows with every mount on the machine (listmount's walk
    /// costs about 14 ns a mount, mountinfo's text about 2 µs).
    pub fn read() -> Result<Self> {
        let read_only = statvfs(SYS)
            .map(|s| s.flags().contains(FsFlags::ST_RDONLY))
            .unwrap_or(false);
        let mounts = match sys::child_mounts(SYS) {
            Ok(points) => points,
            Err(e) if sys::unavailable(e) => mountinfo::children(Path::new("/sys"))?
                .iter()
                .map(|p| c_string(p.as_os_str()))
                .collect(),
            Err(e) => return Err(Error::path("list the mounts under", "/sys", e)),
        };
        let clone = !mounts.is_empty() && sys::can_clone_mounts();
        Ok(Sysfs {
            read_only,
            mounts,
            clone,
        })
    }
}

/// One named namespace, opened and checked, with all that entering it needs
/// read beforehand: entering then only makes system calls, so it can run
/// between fork and exec (see [`Enter::run`]).
#[derive(Debug)]
pub struct Enter {
    ns: Netns,
    /// ip passes the name as sysfs's source, so it shows in mountinfo.
    sysfs_source: CString,
    sysfs: Sysfs,
    /// (/etc/netns/NAME/ENTRY, /etc/ENTRY), to bind one over the other.
    etc_binds: Vec<(CString, CString)>,
    /// (run dir, /run/netns) in rootless mode, so that the command finds
    /// the rootless names where `ip netns` and our verbs look.
    run_dir_bind: Option<(CString, CString)>,
    /// Whom the command runs as (`--user`).
    user: Option<AsUser>,
}

/// A user's ids, and the environment the command gets as that user: this
/// process's without the variables `unset`, with those in `set`.
#[derive(Debug)]
struct AsUser {
    uid: u32,
    gid: u32,
    groups: Vec<u32>,
    unset: &'static [&'static [u8]],
    set: Vec<CString>,
}

/// How a command run by [`Enter::run`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this status.
    Code(i32),
    /// A signal (this number) ended it.
    Signal(i32),
}

/// The step of entering and exec'ing that failed, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Failed {
    step: Step,
    errno: Errno,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    SetNs,
    MountNs,
    Slave,
    HoldSys(usize),
    MountSys,
    SysBack(usize),
    Etc(usize),
    RunDir,
    Session,
    /// The step of [`sys::become_user`], by its index in
    /// [`sys::USER_STEPS`].
    User(usize),
    Exec,
}

impl Failed {
    /// As one number, to come back from a child through a pipe: the
    /// step's tag in the top byte, its index in the next three, errno
    /// below.
    fn code(self) -> u64 {
        let (tag, index) = match self.step {
            Step::SetNs => (0, 0),
            Step::MountNs => (1, 0),
            Step::Slave => (2, 0),
            Step::HoldSys(i) => (3, i),
            Step::MountSys => (4, 0),
            Step::SysBack(i) => (5, i),
            Step::Etc(i) => (6, i),
            Step::Exec => (7, 0),
            Step::RunDir => (8, 0),
            Step::User(i) => (9, i),
            Step::Session => (10, 0),
        };
        (tag << 56) | ((index as u64 & 0xff_ffff) << 32) | u64::from(self.errno as i32 as u32)
    }

    fn from_code(code: u64) -> Self {
        let index = (code >> 32 & 0xff_ffff) as usize;
        let step = match code >> 56 {
            0 => Step::SetNs,
            1 => Step::MountNs,
            2 => Step::Slave,
            3 => Step::HoldSys(index),
            4 => Step::MountSys,
            5 => Step::SysBack(index),
            6 => Step::Etc(index),
            8 => Step::RunDir,
            9 => Step::User(index),
            10 => Step::Session,
            _ => Step::Exec,
        };
        Failed {
            step,
            errno: Errno::from_raw(code as u32 as i32),
        }
    }
}

impl Enter {
    /// Opens `name`'s namespace file and reads the entries of
    /// /etc/netns/NAME, each of which must have a file in /etc to cover;
    /// `sysfs` is the host's /sys, from [`Sysfs::read`]. Changes nothing.
    ///
    /// In rootless mode ([`RunDir::rootless`]) the command also gets
    /// `run_dir` (with the names mounted in it) bound over /run/netns,
    /// where its `ip netns` and our verbs look for names, which in that
    /// mode are elsewhere; nothing when /run/netns is missing, since an
    /// ordinary user cannot make it.
    pub fn new(run_dir: &RunDir, name: &Name, sysfs: Sysfs) -> Result<Self> {
        let ns = Netns::open(run_dir, name)?;
        Ok(Enter {
            sysfs_source: c_string(name.as_os_str()),
            sysfs,
            etc_binds: etc_binds(name)?,
            run_dir_bind: run_dir.rootless().then(|| run_dir_bind(run_dir)).flatten(),
            user: None,
            ns,
        })
    }

    /// Runs the command as `spec` (`USER[:GROUP]`), as `runuser -u USER
    /// [-g GROUP]` would inside: USER and GROUP looked up in the passwd
    /// and group files the command sees (/etc/netns/NAME's where they
    /// are bound over /etc's), HOME, USER and LOGNAME set as runuser sets
    /// them. Its ids are taken once the namespaces are entered, and with
    /// a uid other than 0 no capability is left (capabilities(7)), so the
    /// command cannot leave the namespace or undo the mounts. It runs in
    /// a child, in a session of its own: see the relay module.
    pub fn as_user(&mut self, spec: &OsStr) -> Result<()> {
        let file = |etc: &'static str| {
            let bound = self
                .etc_binds
                .iter()
                .find(|(_, on)| on.as_bytes() == etc.as_bytes());
            bound.map_or(Path::new(etc), |(from, _)| Path::new(os(from)))
        };
        let user = User::lookup(spec, file("/etc/passwd"), file("/etc/group"))?;
        let (unset, set) = user_env(&user);
        self.user = Some(AsUser {
            unset,
            set,
            uid: user.uid,
            gid: user.gid,
            groups: user.groups,
        });
        Ok(())
    }

    /// Puts the calling process into the namespace, as `ip netns exec`
    /// does before it runs the command:
    /// 1. setns(2) into the network namespace;
    /// 2. unshare(2) a mount namespace, and make / a recursive slave in it,
    ///    so that nothing mounted here reaches the host;
    /// 3. put a sysfs of the new network namespace on /sys, so that
    ///    /sys/class/net lists its devices: as ip does, /sys is unmounted
    ///    first, and the new one is read-only only when that failed and
    ///    /sys is read-only (a read-only sysfs cannot be covered by a
    ///    writable one). The mounts that were below /sys are carried over
    ///    on top of it (see the module's doc);
    /// 4. bind each /etc/netns/NAME/ENTRY over /etc/ENTRY;
    /// 5. in rootless mode, bind the run dir over /run/netns;
    /// 6. with `--user`, start a session and take the user's ids
    ///    ([`sys::become_user`]).
    ///
    /// `held` has room for a descriptor per mount below /sys, so that
    /// nothing is allocated here. setns and unshare act on the calling
    /// thread: this is for a single-threaded process that goes on to
    /// exec, or for the child of a fork. A threaded caller would leave its
    /// other threads behind.
    fn enter(&self, held: &mut Vec<Option<OwnedFd>>) -> std::result::Result<(), Failed> {
        let fail = |step| move |errno| Failed { step, errno };
        setns(&self.ns, CloneFlags::CLONE_NEWNET).map_err(fail(Step::SetNs))?;
        unshare(CloneFlags::CLONE_NEWNS).map_err(fail(Step::MountNs))?;
        let slave = MsFlags::MS_SLAVE | MsFlags::MS_REC;
        mount(None::<&CStr>, c"/", None::<&CStr>, slave, None::<&CStr>)
            .map_err(fail(Step::Slave))?;
        let mounts = &self.sysfs.mounts;
        let clone = self.sysfs.clone;
        held.clear();
        for (i, target) in mounts.iter().enumerate() {
            let fd = match clone {
                true => sys::clone_tree(target),
                false => nix::fcntl::open(
                    target.as_c_str(),
                    OFlag::O_PATH | OFlag::O_CLOEXEC,
                    Mode::empty(),
                ),
            };
            match fd {
                Ok(fd) => held.push(Some(fd)),
                // Unmounted since /sys was read: nothing to carry over.
                Err(Errno::ENOENT) => held.push(None),
                Err(e) => return Err(fail(Step::HoldSys(i))(e)),
            }
        }
        // As ip: /sys may be missing or not a mount point; mount on anyway.
        // Without clones the old /sys stays below, holding the mounts
        // that are bound back from it.
        let unmounted = (clone || mounts.is_empty()) && umount2(SYS, MntFlags::MNT_DETACH).is_ok();
        let flags = match self.sysfs.read_only && !unmounted {
            true => MsFlags::MS_RDONLY,
            false => MsFlags::empty(),
        };
        let source = Some(self.sysfs_source.as_c_str());
        mount(source, SYS, Some(c"sysfs"), flags, None::<&CStr>).map_err(fail(Step::MountSys))?;
        for (i, (target, fd)) in mounts.iter().zip(held.iter()).enumerate() {
            let Some(fd) = fd else { continue };
            let put = match clone {
                true => sys::attach_tree(fd.as_fd(), target),
                false => bind_back(fd, target),
            };
            match put {
                // The new sysfs has no such directory: as ip, without it.
                Ok(()) | Err(Errno::ENOENT) => {}
                Err(e) => return Err(fail(Step::SysBack(i))(e)),
            }
        }
        for (i, (source, target)) in self.etc_binds.iter().enumerate() {
            mount(
                Some(source.as_c_str()),
                target.as_c_str(),
                None::<&CStr>,
                MsFlags::MS_BIND,
                None::<&CStr>,
            )
            .map_err(fail(Step::Etc(i)))?;
        }
        if let Some((source, target)) = &self.run_dir_bind {
            let flags = MsFlags::MS_BIND | MsFlags::MS_REC;
            mount(
                Some(source.as_c_str()),
                target.as_c_str(),
                None::<&CStr>,
                flags,
                None::<&CStr>,
            )
            .map_err(fail(Step::RunDir))?;
        }
        if let Some(user) = &self.user {
            let parent = nix::unistd::getppid();
            nix::unistd::setsid().map_err(fail(Step::Session))?;
            sys::become_user(user.uid, user.gid, &user.groups)
                .map_err(|(i, errno)| fail(Step::User(i))(errno))?;
            // The command (a child, with --user) ends with netns-exec, if
            // netns-exec is killed (SIGKILL passes nothing on). Set after
            // the ids: a change of ids clears it. A parent gone already
            // shows in getppid.
            let orphaned = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                .map(|()| nix::unistd::getppid() != parent);
            match orphaned {
                Ok(false) => {}
                Ok(true) => return Err(fail(Step::Session)(Errno::ESRCH)),
                Err(errno) => return Err(fail(Step::Session)(errno)),
            }
        }
        Ok(())
    }

    /// Enters the namespace, then replaces this process with `argv` (a
    /// PATH search, as execvp(3)): no fork, so the command keeps this pid
    /// and its exit status and signals are its own. With a user, the
    /// command runs apart, as [`Enter::run`] runs it, and this process
    /// ends as it ended. Returns only on failure.
    pub fn exec(&self, argv: &[OsString]) -> Error {
        if self.user.is_some() {
            return match self.run_apart(argv, false) {
                Ok(exit) => relay::end_as(exit),
                Err(err) => err,
            };
        }
        let mut held = Vec::with_capacity(self.sysfs.mounts.len());
        // No user here (see above): root's EACCES is a file's.
        let failed = self.enter_and_exec(&self.argv(argv), true, &mut held);
        self.explain(failed, argv)
    }

    /// Runs `argv` in the namespace in a child, which enters it between
    /// fork and exec, and waits for it; the caller stays where it is. A
    /// failure to enter or to exec is the child's, told as [`Enter::exec`]
    /// tells its own. With a user, the child runs in a session of its own,
    /// and the signals this process gets are passed on to it: once it has
    /// ended, one that would have ended this process does (see the relay
    /// module).
    pub fn run(&self, argv: &[OsString]) -> Result<Exit> {
        self.run_apart(argv, true)
    }

    /// [`Enter::run`]; `pass_on` says whether a signal passed on to the
    /// command that would have ended this process ends it after the
    /// command: not where this process ends as the command did anyway.
    fn run_apart(&self, argv: &[OsString], pass_on: bool) -> Result<Exit> {
        // Started with SIGCHLD ignored, no child of this process could be
        // waited for: it is reaped at once, and the wait would never end.
        sys::default_action(libc::SIGCHLD);
        let args = self.argv(argv);
        let found = self.found(argv);
        let mut held = Vec::with_capacity(self.sysfs.mounts.len());
        let mut relay = self.user.as_ref().map(|_| Relay::block()).transpose()?;
        // SAFETY: the child only makes system calls on what was made
        // here before the fork (`enter` is written so: `held` has its room,
        // the paths, argv and environment are ready), as fork_exec
        // requires.
        #[allow(unsafe_code)]
        let started = unsafe {
            sys::fork_exec(|| {
                if let Some(relay) = &relay {
                    relay.unblock();
                }
                self.enter_and_exec(&args, found, &mut held).code()
            })
        };
        let started = started.map_err(|errno| Error::Sys {
            action: "start a process",
            errno,
        });
        let ended = match (started, &mut relay) {
            (Ok(Ok(child)), Some(relay)) => relay.wait(child),
            (Ok(Ok(child)), None) => wait(child),
            (Ok(Err(code)), _) => Err(self.explain(Failed::from_code(code), argv)),
            (Err(err), _) => Err(err),
        };
        if let Some(relay) = relay {
            relay.end(pass_on);
        }
        ended
    }

    /// Makes `cmd` run in the namespace, with exactly the steps of
    /// [`Enter::exec`] and `netns-exec` (network namespace, a mount
    /// namespace of its own with / a recursive slave, the namespace's
    /// sysfs on /sys with the mounts below /sys kept, the /etc/netns/NAME
    /// binds, in rootless mode the run dir over /run/netns, and the user
    /// of [`Enter::as_user`]), taken in the child between fork and exec:
    /// the caller stays where it is, and std gives the output, status and
    /// pid as for any command. With a user, the environment changes as
    /// [`Enter::as_user`] says, and the command runs in a session of its
    /// own (setsid), with no relay of signals: a terminal's Ctrl-C does
    /// not reach it.
    ///
    /// A step that fails fails the spawn with that step's errno (std
    /// passes only an errno back: which step it was is not told);
    /// [`Enter::run`] names the step.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::process::Command;
    /// use netns_core::{Enter, Name, RunDir, Sysfs};
    ///
    /// let enter = Enter::new(&RunDir::new("/run/netns"), &Name::new("blue")?, Sysfs::read()?)?;
    /// let out = enter.command(Command::new("ls").arg("/sys/class/net")).output()?;
    /// assert!(out.status.success());
    /// print!("{}", String::from_utf8_lossy(&out.stdout));
    /// # Ok(())
    /// # }
    /// ```
    pub fn command(self, cmd: &mut Command) -> &mut Command {
        if let Some(user) = &self.user {
            for name in user.unset {
                cmd.env_remove(OsStr::from_bytes(name));
            }
            for var in &user.set {
                let var = var.as_bytes();
                let at = var.iter().position(|&b| b == b'=').unwrap_or(var.len());
                let value = var.get(at + 1..).unwrap_or_default();
                cmd.env(OsStr::from_bytes(&var[..at]), OsStr::from_bytes(value));
            }
        }
        let mut held = Vec::with_capacity(self.sysfs.mounts.len());
        let hook = move || {
            self.enter(&mut held).map_err(|failed| {
                // Ids left over are told by an errno of 0, which reads
                // "Success": the kernel's refusal for them is EPERM.
                let errno = match failed.errno {
                    Errno::UnknownErrno => Errno::EPERM,
                    errno => errno,
                };
                io::Error::from_raw_os_error(errno as i32)
            })
        };
        // SAFETY: the hook only makes system calls on what was made here
        // before the fork (`enter` is written so: `held` has its room, the
        // paths are ready), and io::Error::from_raw_os_error allocates
        // nothing: as pre_exec requires.
        #[allow(unsafe_code)]
        unsafe {
            sys::pre_exec(cmd, hook)
        }
    }

    /// Whether the command is there to run, for a failed exec (see
    /// [`on_path`]). Root searches every directory: its EACCES is a
    /// file's.
    fn found(&self, argv: &[OsString]) -> bool {
        self.user.is_none() || on_path(argv)
    }

    fn argv(&self, argv: &[OsString]) -> Argv {
        let args = Argv::new(argv.iter().map(|a| c_string(a)).collect());
        match &self.user {
            Some(user) => args.with_env(user.unset, user.set.clone()),
            None => args,
        }
    }

    /// Only system calls: see [`sys::fork_exec`]. `found` tells a
    /// command that is not there from one that cannot be run (see
    /// [`on_path`]).
    fn enter_and_exec(&self, argv: &Argv, found: bool, held: &mut Vec<Option<OwnedFd>>) -> Failed {
        if let Err(failed) = self.enter(held) {
            return failed;
        }
        let errno = match argv.execvp() {
            Errno::EACCES if !found => Errno::ENOENT,
            errno => errno,
        };
        Failed {
            step: Step::Exec,
            errno,
        }
    }

    /// The error for a failed step, naming it and its path.
    fn explain(&self, failed: Failed, argv: &[OsString]) -> Error {
        let errno = failed.errno;
        let sys = Path::new("/sys");
        match failed.step {
            Step::SetNs => Error::path("enter", self.ns.path(), errno),
            Step::MountNs => Error::Sys {
                action: "make a mount namespace",
                errno,
            },
            Step::Slave => Error::path("make a recursive slave mount of", "/", errno),
            Step::HoldSys(i) => Error::path("hold the mount on", os(&self.sysfs.mounts[i]), errno),
            Step::MountSys => Error::path("mount a sysfs on", sys, errno),
            Step::SysBack(i) => Error::path("mount back", os(&self.sysfs.mounts[i]), errno),
            Step::Exec => Error::Exec {
                command: argv.first().cloned().unwrap_or_default(),
                errno,
            },
            Step::Session => Error::Sys {
                action: "start a session for the command",
                errno,
            },
            Step::User(i) => Error::AsUser {
                step: sys::USER_STEPS[i.min(sys::USER_STEPS.len() - 1)],
                errno,
            },
            Step::RunDir => {
                let (source, target) = self.run_dir_bind.clone().unwrap_or_default();
                Error::Bind {
                    source: os(&source).into(),
                    target: os(&target).into(),
                    errno,
                }
            }
            Step::Etc(i) => {
                let (source, target) = &self.etc_binds[i];
                Error::Bind {
                    source: os(source).into(),
                    target: os(target).into(),
                    errno,
                }
            }
        }
    }
}

/// Binds the mount `held` (an O_PATH descriptor of its root) and the
/// mounts below it onto `target`, through /proc/self/fd/N: the way back
/// for a mount that a path no longer reaches, with mount(2) alone. The
/// path is written on the stack: nothing may allocate here.
fn bind_back(held: &OwnedFd, target: &CStr) -> nix::Result<()> {
    let mut path = *b"/proc/self/fd/\0\0\0\0\0\0\0\0\0\0\0";
    let start = b"/proc/self/fd/".len();
    let mut digits = [0u8; 10];
    let mut n = held.as_raw_fd() as u32;
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for (i, d) in digits[..len].iter().rev().enumerate() {
        path[start + i] = *d;
    }
    let source = CStr::from_bytes_until_nul(&path).map_err(|_| Errno::EINVAL)?;
    let flags = MsFlags::MS_BIND | MsFlags::MS_REC;
    mount(Some(source), target, None::<&CStr>, flags, None::<&CStr>)
}

/// What binds `run_dir` over /run/netns in rootless mode (see
/// [`Enter::new`]): nothing where it is /run/netns, or that is missing.
fn run_dir_bind(run_dir: &RunDir) -> Option<(CString, CString)> {
    let target = crate::run_dir::DEFAULT_RUN_DIR;
    let source = run_dir.path().as_os_str();
    (source.as_bytes() != target.as_bytes() && Path::new(target).is_dir())
        .then(|| (c_string(source), c_string(target.as_ref())))
}

/// The /etc/netns/NAME entries and the /etc files they go over. A missing
/// /etc/netns/NAME is no error; an entry with nothing in /etc to cover is
/// (ip warns and goes on without it).
fn etc_binds(name: &Name) -> Result<Vec<(CString, CString)>> {
    let dir = Path::new(ETC_NETNS_DIR).join(name.as_os_str());
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read", dir, &e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read", &dir, &e))?;
        let target = Path::new("/etc").join(entry.file_name());
        if let Err(e) = std::fs::metadata(&target) {
            return Err(Error::Bind {
                source: entry.path(),
                target,
                errno: errno_of(&e),
            });
        }
        names.push(entry.file_name());
    }
    // In the order of the names: sorted as OsStrings, a sort the multicall
    // has already, not as pairs of CStrings, one more (2.7 KB).
    names.sort_unstable();
    let bind = |name: OsString| {
        let (source, target) = (dir.join(&name), Path::new("/etc").join(name));
        (c_string(source.as_os_str()), c_string(target.as_os_str()))
    };
    Ok(names.into_iter().map(bind).collect())
}

fn wait(child: Pid) -> Result<Exit> {
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(Exit::Code(code)),
            Ok(WaitStatus::Signaled(_, signal, _)) => return Ok(Exit::Signal(signal as i32)),
            Ok(_) | Err(Errno::EINTR) => {}
            Err(errno) => {
                return Err(Error::Sys {
                    action: "wait for the command",
                    errno,
                });
            }
        }
    }
}

/// Whether the command is a file there is: a path (with a `/`), or a name
/// that some directory of PATH holds (glibc's default without one), as
/// root sees them, looked at before the fork. A user's execvp(3) says
/// "Permission denied" where PATH has a directory it cannot search
/// (root's /root/.cargo/bin), also for a command that is nowhere: that
/// one is not found, 127, as a shell says.
fn on_path(argv: &[OsString]) -> bool {
    let name = argv.first().map_or(OsStr::new(""), OsString::as_os_str);
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
    name.as_bytes().contains(&b'/')
        || std::env::split_paths(&path).any(|dir| dir.join(name).exists())
}

/// The environment `runuser -u USER` gives, as the variables to drop from
/// this process's and those to add: HOME the user's (`/` for a uid with
/// no passwd entry), USER and LOGNAME its name but for root (runuser
/// leaves them then; none for a uid with no entry), and the rest as it
/// is, SHELL among it (runuser -u leaves it too).
fn user_env(user: &User) -> (&'static [&'static [u8]], Vec<CString>) {
    let var = |name: &[u8], value: &OsStr| {
        c_string(OsStr::from_bytes(&[name, value.as_bytes()].concat()))
    };
    let mut set = vec![var(
        b"HOME=",
        user.home.as_deref().unwrap_or(OsStr::new("/")),
    )];
    if user.uid == 0 {
        return (&[b"HOME"], set);
    }
    if let Some(name) = &user.name {
        set.extend([var(b"USER=", name), var(b"LOGNAME=", name)]);
    }
    (&[b"HOME", b"USER", b"LOGNAME"], set)
}

/// Paths and argv from the OS hold no NUL, so this never truncates one.
fn c_string(s: &OsStr) -> CString {
    CString::new(s.as_bytes()).unwrap_or_default()
}

fn os(s: &CStr) -> &OsStr {
    OsStr::from_bytes(s.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_comes_back_from_the_child_as_it_went() {
        let steps = [
            Step::SetNs,
            Step::MountNs,
            Step::Slave,
            Step::HoldSys(7),
            Step::MountSys,
            Step::SysBack(3),
            Step::Etc(0xff_fffe),
            Step::RunDir,
            Step::Session,
            Step::User(6),
            Step::Exec,
        ];
        for step in steps {
            for errno in [Errno::EPERM, Errno::ENOENT, Errno::EHWPOISON] {
                let failed = Failed { step, errno };
                assert_eq!(Failed::from_code(failed.code()), failed);
            }
        }
    }
}
