//! Watching a run dir for namespaces coming and going, as `ip netns
//! monitor` does, but reporting an add when the namespace is usable.
//!
//! inotify tells when a file appears in or leaves the run dir; an add makes
//! the file first and mounts the namespace onto it later, so a new file is
//! held back until it is a namespace. Mounts have no inotify event: poll(2)
//! on /proc/self/mountinfo reports POLLPRI when the mount table changes,
//! and then each held-back file is stat'ed again (the table itself is
//! never read: with many namespaces it is large).

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use nix::sys::stat::Mode;

use crate::error::{Error, Result};
use crate::name::Name;
use crate::run_dir::{RunDir, nsfs_device};

const MOUNTINFO: &str = "/proc/self/mountinfo";

/// Something that happened to a name in the run dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The name now refers to a namespace: the mount is in place.
    Add(Name),
    /// A name that referred to a namespace is gone.
    Delete(Name),
}

/// What [`Watch::wait`] saw.
#[derive(Debug)]
pub enum Woken {
    Events(Vec<Event>),
    /// The file given to watch for a hang-up has one (the reader of a pipe
    /// went away).
    HungUp,
}

/// A watch on one run dir.
pub struct Watch {
    run_dir: RunDir,
    dir: OwnedFd,
    inotify: Inotify,
    mountinfo: OwnedFd,
    nsfs: u64,
    /// Names that are namespaces, as far as the events tell.
    known: HashSet<OsString>,
    /// Files that are not namespaces (yet), oldest first: adds under way,
    /// or stale files.
    pending: Vec<OsString>,
}

/// The inotify events that matter: a name made, moved in, removed, moved
/// out, and the run dir itself going away.
fn watched() -> AddWatchFlags {
    AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_DELETE_SELF
        | AddWatchFlags::IN_MOVE_SELF
        | AddWatchFlags::IN_ONLYDIR
}

impl Watch {
    /// Starts watching `run_dir`, preparing it first as an add would (so a
    /// missing run dir is made), and returns the watch and the names that
    /// are namespaces already, sorted. The snapshot is taken after the
    /// watch is in place, so nothing that happens between is lost: a name
    /// both in the snapshot and in an event is reported once.
    pub fn new(run_dir: &RunDir) -> Result<(Self, Vec<Name>)> {
        run_dir.prepare()?;
        let path = run_dir.path();
        let inotify =
            Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK).map_err(|errno| {
                Error::Sys {
                    action: "start inotify",
                    errno,
                }
            })?;
        inotify
            .add_watch(path, watched())
            .map_err(|e| Error::path("watch", path, e))?;
        let dir = open(
            path,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::path("open", path, e))?;
        let mountinfo = open(MOUNTINFO, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| Error::path("open", MOUNTINFO, e))?;
        let mut watch = Watch {
            run_dir: run_dir.clone(),
            dir,
            inotify,
            mountinfo,
            nsfs: nsfs_device()?,
            known: HashSet::new(),
            pending: Vec::new(),
        };
        let mut existing = Vec::new();
        for entry in run_dir.entries()? {
            let name = entry.name.as_os_str().to_owned();
            match entry.inode {
                Some(_) => {
                    watch.known.insert(name);
                    existing.push(entry.name);
                }
                None => watch.pending.push(name),
            }
        }
        Ok((watch, existing))
    }

    /// Waits for the next events, in the order they happened; or until
    /// `hangup` (stdout, say) reports an error or a hang-up.
    pub fn wait(&mut self, hangup: BorrowedFd<'_>) -> Result<Woken> {
        loop {
            let mut fds = [
                PollFd::new(self.inotify.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.mountinfo.as_fd(), PollFlags::POLLPRI),
                PollFd::new(hangup, PollFlags::empty()),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(errno) => {
                    return Err(Error::Sys {
                        action: "wait for events",
                        errno,
                    });
                }
            }
            let [inotify, mounts, hangup] =
                fds.map(|fd| fd.revents().unwrap_or(PollFlags::empty()));
            if hangup.intersects(PollFlags::POLLERR | PollFlags::POLLHUP | PollFlags::POLLNVAL) {
                return Ok(Woken::HungUp);
            }
            let mut events = Vec::new();
            if inotify.contains(PollFlags::POLLIN) {
                self.read_inotify(&mut events)?;
            }
            // The mount table changed: a held-back file may be a
            // namespace now.
            if mounts.contains(PollFlags::POLLPRI) {
                self.check_pending(&mut events)?;
            }
            if !events.is_empty() {
                return Ok(Woken::Events(events));
            }
        }
    }

    fn read_inotify(&mut self, events: &mut Vec<Event>) -> Result<()> {
        let read = match self.inotify.read_events() {
            Ok(read) => read,
            Err(Errno::EAGAIN) => return Ok(()),
            Err(e) => return Err(Error::path("read events of", self.run_dir.path(), e)),
        };
        for event in read {
            let mask = event.mask;
            if mask.intersects(
                AddWatchFlags::IN_DELETE_SELF
                    | AddWatchFlags::IN_MOVE_SELF
                    | AddWatchFlags::IN_IGNORED
                    | AddWatchFlags::IN_UNMOUNT,
            ) {
                return Err(Error::path("watch", self.run_dir.path(), Errno::ENOENT));
            }
            if mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
                self.resync(events)?;
                continue;
            }
            let Some(name) = event.name else { continue };
            // Files made earlier that are namespaces by now come first:
            // events go out in the order the files were made.
            self.check_pending(events)?;
            if mask.intersects(AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO) {
                // Made after the watch began and before the snapshot: the
                // snapshot has it already.
                if !self.known.contains(&name) && !self.pending.contains(&name) {
                    self.look_at(name, events)?;
                }
            } else if mask.intersects(AddWatchFlags::IN_DELETE | AddWatchFlags::IN_MOVED_FROM) {
                self.pending.retain(|p| *p != name);
                if self.known.remove(&name) {
                    events.push(Event::Delete(Name::new(name)?));
                }
            }
        }
        Ok(())
    }

    /// A new file: an add when a namespace is on it already, held back
    /// when not, and nothing when it is gone again.
    fn look_at(&mut self, name: OsString, events: &mut Vec<Event>) -> Result<()> {
        match self.is_namespace(&name)? {
            Some(true) => {
                events.push(Event::Add(Name::new(name.clone())?));
                self.known.insert(name);
            }
            Some(false) => self.pending.push(name),
            None => {}
        }
        Ok(())
    }

    fn check_pending(&mut self, events: &mut Vec<Event>) -> Result<()> {
        for name in std::mem::take(&mut self.pending) {
            self.look_at(name, events)?;
        }
        Ok(())
    }

    /// After an inotify overflow (events were lost): the run dir as it is
    /// now against what the events had told.
    fn resync(&mut self, events: &mut Vec<Event>) -> Result<()> {
        let now = self.run_dir.entries()?;
        let present: HashSet<&OsStr> = now.iter().map(|e| e.name.as_os_str()).collect();
        let mut gone: Vec<OsString> = self
            .known
            .iter()
            .filter(|name| !present.contains(name.as_os_str()))
            .cloned()
            .collect();
        gone.sort_unstable();
        for name in gone {
            self.known.remove(&name);
            events.push(Event::Delete(Name::new(name)?));
        }
        self.pending.clear();
        for entry in now {
            let name = entry.name.as_os_str().to_owned();
            if !self.known.contains(&name) {
                self.look_at(name, events)?;
            }
        }
        Ok(())
    }

    /// Whether `name` has a namespace mounted on it; `None` when it is
    /// gone.
    fn is_namespace(&self, name: &OsStr) -> Result<Option<bool>> {
        let inode = self.run_dir.look_at(self.dir.as_fd(), name, self.nsfs)?;
        Ok(inode.map(|inode| inode.is_some()))
    }
}
