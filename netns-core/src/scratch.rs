//! A namespace for one test: made under a unique name, removed on drop.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::errno::Errno;
use nix::mount::{MntFlags, umount2};
use nix::sys::stat::Mode;
use nix::unistd::mkdir;

use crate::error::{Error, Result};
use crate::name::Name;
use crate::netns::{Creator, Deleter, Netns};
use crate::run_dir::RunDir;

/// A named network namespace that lives as long as this value: made
/// under a name no one else has, with its loopback device up, and removed
/// when the value is dropped, also when a test panics (dropped as the
/// panic unwinds: not with `panic = "abort"`, and not when the process is
/// killed). It is a name like any other meanwhile: the tools and `ip`
/// see it in its run dir.
///
/// [`Scratch::new`] makes a run dir of its own (a temporary directory,
/// removed with it); [`Scratch::in_run_dir`] names it in a run dir that
/// is shared, such as /run/netns, where `ip netns exec NAME` looks into
/// it while debugging. Both need what an add needs: root, root of a user
/// namespace in a mount namespace of its own (`unshare -U -r -m`, which
/// an ordinary user may run a test binary in), or rootless mode's joined
/// keeper (give [`Scratch::in_run_dir`] the run dir of
/// [`crate::rootless::Session::run_dir`]). Where that is missing it fails
/// with the kernel's refusal, and leaves nothing behind.
///
/// ```no_run
/// # fn main() -> netns_core::Result<()> {
/// let ns = netns_core::Scratch::new()?;
/// let inode = ns.netns().run(|| std::fs::metadata("/proc/thread-self/ns/net"))?;
/// assert!(inode.is_ok());
/// // Dropped here: the name, its run dir and the namespace are gone.
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Scratch {
    netns: Netns,
    name: Name,
    path: PathBuf,
    run_dir: RunDir,
    /// The run dir is this value's own, to unmount and remove.
    own_run_dir: bool,
    removed: bool,
}

/// How many unique names a constructor tries before it gives up: others
/// can only have taken a few (a process of the same pid before).
const TRIES: usize = 100;

/// Numbers each name and run dir this process makes.
static NEXT: AtomicUsize = AtomicUsize::new(0);

impl Scratch {
    /// A namespace in a run dir of its own, a new directory in the
    /// temporary directory (`$TMPDIR`, else /tmp): see [`Scratch::under`].
    pub fn new() -> Result<Self> {
        Scratch::under(std::env::temp_dir())
    }

    /// A namespace in a run dir of its own, made in `parent` (mode 0700,
    /// named `netns-scratch-PID-N`) and set up as an add sets up a run
    /// dir (a shared mount point); the namespace is named
    /// `scratch-PID-N`, unique on the machine while this process lives.
    /// The run dir goes with it.
    pub fn under(parent: impl AsRef<Path>) -> Result<Self> {
        let pid = std::process::id();
        let mut tries = 0;
        let (dir, n) = loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let dir = parent.as_ref().join(format!("netns-scratch-{pid}-{n}"));
            match mkdir(&dir, Mode::from_bits_truncate(0o700)) {
                Ok(()) => break (dir, n),
                Err(Errno::EEXIST) if tries < TRIES => tries += 1,
                Err(e) => return Err(Error::path("create", dir, e)),
            }
        };
        let run_dir = RunDir::new(dir);
        let name = Name::new(format!("scratch-{pid}-{n}"))?;
        let made = Creator::new(&run_dir).and_then(|creator| {
            Scratch::make(&mut creator.loopback_up(), &run_dir, &name).inspect_err(|_| {
                // Set up as a mount point by the creator: taken down.
                let _ = umount2(run_dir.path(), MntFlags::MNT_DETACH);
            })
        });
        match made {
            Ok((netns, path)) => Ok(Scratch {
                netns,
                name,
                path,
                run_dir,
                own_run_dir: true,
                removed: false,
            }),
            Err(err) => {
                let _ = std::fs::remove_dir(run_dir.path());
                Err(err)
            }
        }
    }

    /// A namespace named `PREFIX-PID-N` in `run_dir`, which is shared
    /// with others and stays (it is set up, and made when missing, as an
    /// add does): /run/netns, say, for `ip netns` to see it. The name is
    /// made with O_EXCL, as every add's: one taken is passed over for the
    /// next N.
    pub fn in_run_dir(run_dir: RunDir, prefix: &str) -> Result<Self> {
        let mut creator = Creator::new(&run_dir)?.loopback_up();
        let pid = std::process::id();
        let mut tries = 0;
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let name = Name::for_new(format!("{prefix}-{pid}-{n}"))?;
            match Scratch::make(&mut creator, &run_dir, &name) {
                Ok((netns, path)) => {
                    return Ok(Scratch {
                        netns,
                        name,
                        path,
                        run_dir,
                        own_run_dir: false,
                        removed: false,
                    });
                }
                Err(Error::Path {
                    errno: Errno::EEXIST,
                    ..
                }) if tries < TRIES => tries += 1,
                Err(err) => return Err(err),
            }
        }
    }

    /// Makes `name` and opens it; a name made but not opened is removed.
    fn make(creator: &mut Creator<'_>, run_dir: &RunDir, name: &Name) -> Result<(Netns, PathBuf)> {
        let path = creator.create(name)?;
        match Netns::open(run_dir, name) {
            Ok(netns) => Ok((netns, path)),
            Err(err) => {
                let _ = delete(run_dir, name);
                Err(err)
            }
        }
    }

    /// The namespace, open: [`Netns::run`], [`Netns::socket`].
    pub fn netns(&self) -> &Netns {
        &self.netns
    }

    /// Its name in the run dir.
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// Its file in the run dir (what `ip netns exec` and `nsenter
    /// --net=PATH` take).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The run dir it is named in.
    pub fn run_dir(&self) -> &RunDir {
        &self.run_dir
    }

    /// Removes it now, as a drop would, and says what failed: the name
    /// (gone already is no failure: a test may delete it), then the run
    /// dir when it is this value's own. The namespace itself ends when
    /// nothing else holds it (a process in it, a descriptor).
    pub fn remove(mut self) -> Result<()> {
        self.clean()
    }

    fn clean(&mut self) -> Result<()> {
        if std::mem::replace(&mut self.removed, true) {
            return Ok(());
        }
        let deleted = delete(&self.run_dir, &self.name);
        if !self.own_run_dir {
            return deleted;
        }
        let dir = self.run_dir.path();
        match umount2(dir, MntFlags::MNT_DETACH | MntFlags::UMOUNT_NOFOLLOW) {
            // EINVAL: not a mount point (any more).
            Ok(()) | Err(Errno::EINVAL) => {}
            Err(e) => return deleted.and(Err(Error::path("unmount", dir, e))),
        }
        let removed = std::fs::remove_dir(dir).map_err(|e| Error::io("remove", dir, &e));
        deleted.and(removed)
    }
}

/// Deletes `name`, as netns-del does; a name gone already is no failure.
/// (A Deleter raises the soft limit of open files to the hard one, for
/// the batches it holds: harmless here.)
fn delete(run_dir: &RunDir, name: &Name) -> Result<()> {
    match Deleter::new(run_dir).and_then(|mut d| d.delete(name)) {
        Err(err) if !err.is_missing() => Err(err),
        _ => Ok(()),
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Nowhere to tell a failure from a drop: `remove` tells it.
        let _ = self.clean();
    }
}
