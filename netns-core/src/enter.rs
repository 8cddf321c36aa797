//! Entering a named namespace to run a command there, the way `ip netns
//! exec` does (ip-netns(8)): the network namespace, a private mount
//! namespace, a sysfs of the namespace on /sys, and /etc/netns/NAME over
//! /etc. Unlike ip, the mounts below /sys (cgroup, bpf, ...) are kept.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Child, Command};

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::statvfs::{FsFlags, statvfs};

use crate::error::{Error, Result, errno_of};
use crate::name::Name;
use crate::netns::Netns;
use crate::run_dir::RunDir;
use crate::{mountinfo, sys};

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
}

impl Sysfs {
    /// Whether /sys is read-only, and the mounts right below it: from
    /// listmount(2) where the kernel has it (6.8), else from mountinfo,
    /// whose size grows with every mount on the machine.
    pub fn read() -> Result<Self> {
        let read_only = statvfs(SYS)
            .map(|s| s.flags().contains(FsFlags::ST_RDONLY))
            .unwrap_or(false);
        let mounts = match sys::child_mounts(SYS) {
            Ok(points) => points,
            Err(Errno::ENOSYS) => mountinfo::children(Path::new("/sys"))?
                .iter()
                .map(|p| c_string(p.as_os_str()))
                .collect(),
            Err(e) => return Err(Error::path("list the mounts under", "/sys", e)),
        };
        Ok(Sysfs { read_only, mounts })
    }
}

/// One named namespace, opened and checked, with all that entering it needs
/// read beforehand: [`Enter::enter`] then only makes system calls, so it
/// can run between fork and exec (see [`Enter::spawn`]).
#[derive(Debug)]
pub struct Enter {
    ns: Netns,
    /// ip passes the name as sysfs's source, so it shows in mountinfo.
    sysfs_source: CString,
    sysfs: Sysfs,
    /// (/etc/netns/NAME/ENTRY, /etc/ENTRY), to bind one over the other.
    etc_binds: Vec<(CString, CString)>,
}

/// The step of [`Enter::enter`] that failed, and why.
#[derive(Debug, Clone, Copy)]
pub struct Failed {
    step: Step,
    pub errno: Errno,
}

#[derive(Debug, Clone, Copy)]
enum Step {
    SetNs,
    MountNs,
    Slave,
    CloneSys,
    MountSys,
    SysBack(usize),
    Etc(usize),
}

impl Enter {
    /// Opens `name`'s namespace file and reads the entries of
    /// /etc/netns/NAME, each of which must have a file in /etc to cover;
    /// `sysfs` is the host's /sys, from [`Sysfs::read`]. Changes nothing.
    pub fn new(run_dir: &RunDir, name: &Name, sysfs: Sysfs) -> Result<Self> {
        let ns = Netns::open(run_dir, name)?;
        Ok(Enter {
            sysfs_source: c_string(name.as_os_str()),
            sysfs,
            etc_binds: etc_binds(name)?,
            ns,
        })
    }

    /// Puts the calling process into the namespace, as `ip netns exec`
    /// does before it runs the command:
    /// 1. setns(2) into the network namespace;
    /// 2. unshare(2) a mount namespace, and make / a recursive slave in it,
    ///    so that nothing mounted here reaches the host;
    /// 3. put a sysfs of the new network namespace on /sys (read-only if
    ///    /sys was), so /sys/class/net lists its devices; the mounts that
    ///    were below /sys are cloned first and put back on top of it;
    /// 4. bind each /etc/netns/NAME/ENTRY over /etc/ENTRY.
    ///
    /// setns and unshare act on the calling thread: this is for a
    /// single-threaded process that goes on to exec, or for the child of a
    /// fork. A threaded caller would leave its other threads behind.
    pub fn enter(&self) -> std::result::Result<(), Failed> {
        let fail = |step| move |errno| Failed { step, errno };
        setns(&self.ns, CloneFlags::CLONE_NEWNET).map_err(fail(Step::SetNs))?;
        unshare(CloneFlags::CLONE_NEWNS).map_err(fail(Step::MountNs))?;
        let slave = MsFlags::MS_SLAVE | MsFlags::MS_REC;
        mount(None::<&CStr>, c"/", None::<&CStr>, slave, None::<&CStr>)
            .map_err(fail(Step::Slave))?;
        let old = match self.sysfs.mounts.is_empty() {
            true => None,
            false => Some(sys::clone_tree(None, SYS).map_err(fail(Step::CloneSys))?),
        };
        // As ip: /sys may be missing or not a mount point; mount on anyway.
        let _ = umount2(SYS, MntFlags::MNT_DETACH);
        let flags = match self.sysfs.read_only {
            true => MsFlags::MS_RDONLY,
            false => MsFlags::empty(),
        };
        let source = Some(self.sysfs_source.as_c_str());
        mount(source, SYS, Some(c"sysfs"), flags, None::<&CStr>).map_err(fail(Step::MountSys))?;
        if let Some(old) = old {
            for (i, target) in self.sysfs.mounts.iter().enumerate() {
                let back = fail(Step::SysBack(i));
                let tree = sys::clone_tree(Some(old.as_fd()), below_sys(target)).map_err(back)?;
                sys::attach_tree(tree.as_fd(), target).map_err(back)?;
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
        Ok(())
    }

    /// Enters the namespace, then replaces this process with `argv` (a
    /// PATH search, as execvp(3)): no fork, so the command keeps this pid
    /// and its exit status and signals are its own. Returns only on failure.
    pub fn exec(&self, argv: &[OsString]) -> Error {
        if let Err(failed) = self.enter() {
            return self.explain(failed);
        }
        let args: Vec<CString> = argv.iter().map(|a| c_string(a)).collect();
        let Some(command) = args.first() else {
            return Error::Exec {
                command: OsString::new(),
                errno: Errno::ENOENT,
            };
        };
        let errno = nix::unistd::execvp(command, &args).unwrap_err();
        Error::Exec {
            command: argv[0].clone(),
            errno,
        }
    }

    /// Starts `cmd` in the namespace, leaving the caller where it is: the
    /// child enters between fork and exec. A failure to enter or to exec
    /// comes back from `spawn` as the io::Error of its errno.
    pub fn spawn(self, cmd: &mut Command) -> io::Result<Child> {
        sys::before_exec(cmd, move || {
            self.enter()
                .map_err(|f| io::Error::from_raw_os_error(f.errno as i32))
        });
        cmd.spawn()
    }

    /// The error for a failed [`Enter::enter`], naming the step and path.
    pub fn explain(&self, failed: Failed) -> Error {
        let errno = failed.errno;
        let sys = Path::new("/sys");
        match failed.step {
            Step::SetNs => Error::path("enter", self.ns.path(), errno),
            Step::MountNs => Error::Sys {
                action: "make a mount namespace",
                errno,
            },
            Step::Slave => Error::path("make a recursive slave mount of", "/", errno),
            Step::CloneSys => Error::path("clone the mounts under", sys, errno),
            Step::MountSys => Error::path("mount a sysfs on", sys, errno),
            Step::SysBack(i) => Error::path("mount back", os(&self.sysfs.mounts[i]), errno),
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

/// `/sys/fs/cgroup` as `fs/cgroup`, the same bytes from a later start:
/// no allocation, for [`Enter::enter`].
fn below_sys(path: &CStr) -> &CStr {
    let bytes = path.to_bytes_with_nul();
    bytes
        .get(b"/sys/".len()..)
        .and_then(|rest| CStr::from_bytes_with_nul(rest).ok())
        .unwrap_or(c".")
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
    let mut binds = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read", &dir, &e))?;
        let source = entry.path();
        let target = Path::new("/etc").join(entry.file_name());
        if let Err(e) = std::fs::metadata(&target) {
            return Err(Error::Bind {
                source,
                target,
                errno: errno_of(&e),
            });
        }
        binds.push((c_string(source.as_os_str()), c_string(target.as_os_str())));
    }
    binds.sort();
    Ok(binds)
}

/// Paths and argv from the OS hold no NUL, so this never truncates one.
fn c_string(s: &OsStr) -> CString {
    CString::new(s.as_bytes()).unwrap_or_default()
}

fn os(s: &CStr) -> &OsStr {
    OsStr::from_bytes(s.to_bytes())
}
