//! Making and removing named namespaces, and opening them.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::stat::Mode;
use nix::unistd::unlink;

use crate::error::{Error, Result};
use crate::name::Name;
use crate::run_dir::RunDir;

/// The calling thread's own namespace file. /proc/self would name the
/// main thread's, which is not the caller's in a threaded program.
const THREAD_NET: &str = "/proc/thread-self/ns/net";

/// Makes named namespaces in one run dir. Build one per batch: the run dir
/// is prepared once and the way home is opened once.
pub struct Creator<'a> {
    run_dir: &'a RunDir,
    home: OwnedFd,
    /// Set when setns back home failed: the thread is then in a namespace
    /// that is not its own, and no more are made.
    stranded: Option<Errno>,
}

impl<'a> Creator<'a> {
    /// Prepares the run dir (see [`RunDir::prepare`]) and opens the calling
    /// thread's network namespace to come back to after each creation.
    pub fn new(run_dir: &'a RunDir) -> Result<Self> {
        run_dir.prepare()?;
        let home = open(
            THREAD_NET,
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::path("open", THREAD_NET, e))?;
        Ok(Creator {
            run_dir,
            home,
            stranded: None,
        })
    }

    /// Whether a failed way back left the calling thread in another
    /// namespace; every later `create` fails then.
    pub fn is_stranded(&self) -> bool {
        self.stranded.is_some()
    }

    /// Makes a new network namespace and names it `name`; returns its file.
    ///
    /// The steps are those of `ip netns add`: the file is created with
    /// O_CREAT|O_EXCL (of two racing creators one wins, the other gets
    /// EEXIST), the calling thread unshares CLONE_NEWNET, the new namespace
    /// is bind-mounted onto the file, and the thread goes back with setns.
    /// Only the calling thread moves, and only for the call.
    ///
    /// On any failure the file is removed again: nothing half-made stays.
    /// If the way back fails (which takes a kernel refusing setns on a
    /// namespace the thread was just in), the new namespace is removed, the
    /// thread is left in it, and this and every later call fail: the caller
    /// should stop, as the command-line tools do.
    pub fn create(&mut self, name: &Name) -> Result<PathBuf> {
        if let Some(errno) = self.stranded {
            return Err(Error::Sys {
                action: "go back to the original network namespace",
                errno,
            });
        }
        let path = self.run_dir.file(name);
        open(
            &path,
            OFlag::O_RDONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::path("create", &path, e))?;
        if let Err(e) = unshare(CloneFlags::CLONE_NEWNET) {
            let _ = unlink(&path);
            return Err(Error::path("make a network namespace for", path, e));
        }
        let mounted = mount(
            Some(THREAD_NET),
            &path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        );
        let back = setns(&self.home, CloneFlags::CLONE_NEWNET);
        if let Err(e) = mounted {
            let _ = unlink(&path);
            return Err(Error::path("mount the new namespace on", path, e));
        }
        if let Err(errno) = back {
            let _ = umount2(&path, MntFlags::MNT_DETACH);
            let _ = unlink(&path);
            self.stranded = Some(errno);
            return Err(Error::Sys {
                action: "go back to the original network namespace",
                errno,
            });
        }
        Ok(path)
    }
}

/// What [`delete`] found on the file it removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    /// A namespace was mounted on it.
    Namespace,
    /// Nothing was: a stale file, as a crash between creating the file and
    /// mounting onto it leaves.
    StaleFile,
}

/// Removes `name` from the run dir: every mount on its file (lazily, as
/// `ip netns delete` does), then the file.
///
/// The namespace itself lives on while processes or open files hold it.
/// Unlike `ip netns delete`, this either does all of it or nothing: the
/// namespace is held open meanwhile, and if the file cannot be removed it
/// is mounted back.
pub fn delete(run_dir: &RunDir, name: &Name) -> Result<Removed> {
    let path = run_dir.file(name);
    let held = open(&path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| Error::path("remove", &path, e))?;
    let mut unmounted = 0;
    loop {
        match umount2(&path, MntFlags::MNT_DETACH) {
            Ok(()) => unmounted += 1,
            // Not a mount point: a stale file, or nothing more stacked.
            Err(Errno::EINVAL) => {}
            Err(e) => {
                remount(&held, &path, unmounted);
                return Err(Error::path("unmount", path, e));
            }
        }
        match unlink(&path) {
            Ok(()) => break,
            // Still a mount point: a second mount was stacked on the file.
            Err(Errno::EBUSY) if unmounted > 0 && unmounted < MAX_STACKED => {}
            Err(e) => {
                remount(&held, &path, unmounted);
                return Err(Error::path("remove", path, e));
            }
        }
    }
    Ok(if unmounted > 0 {
        Removed::Namespace
    } else {
        Removed::StaleFile
    })
}

/// How many mounts stacked on one file `delete` takes off before it gives
/// up: a bound on a loop, far above anything a tool makes.
const MAX_STACKED: usize = 64;

/// Puts back what `delete` unmounted before it failed, from the file it
/// held open (stacked mounts come back as one).
fn remount(held: &OwnedFd, path: &Path, unmounted: usize) {
    if unmounted > 0 {
        let source = format!("/proc/self/fd/{}", held.as_raw_fd());
        let _ = mount(
            Some(source.as_str()),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        );
    }
}
