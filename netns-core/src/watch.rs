//! Watching a run dir for namespaces coming and going, as `ip netns
//! monitor` does, but reporting an add when the namespace is usable.
//!
//! inotify tells when a file appears in or leaves the run dir; an add makes
//! the file first and mounts the namespace onto it later, so a new file is
//! held back until it is a namespace. Mounts have no inotify event: poll(2)
//! on /proc/self/mountinfo reports POLLPRI when the mount table changes,
//! and then each held-back file is stat'ed again (the table itself is
//! never read: with many namespaces it is large). Nothing is held open on
//! the run dir (an inotify watch pins no mount): its mount can be taken
//! off while a watch runs, and once the dir is removed the watch hears it.
//!
//! nsids come and go as the kernel says on rtnetlink's RTNLGRP_NSID; each
//! is matched to a name in the run dir when it comes, and remembered, so
//! that its delete (which comes once the namespace is gone) can name it.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, OFlag, open};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use nix::sys::stat::Mode;

use crate::error::{Error, Result};
use crate::name::Name;
use crate::netlink;
use crate::nsid::{self, NsidSocket, RTM_DELNSID, RTM_NEWNSID, RTNLGRP_NSID};
use crate::run_dir::{RunDir, nsfs_device};

const MOUNTINFO: &str = "/proc/self/mountinfo";

/// Something that happened to a name in the run dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The name now refers to a namespace: the mount is in place.
    Add(Name),
    /// A name that referred to a namespace is gone.
    Delete(Name),
    /// The current namespace has an nsid for another now; `name` is a
    /// name in the run dir that refers to it, if one did when it came.
    AddNsid {
        /// The nsid.
        nsid: u32,
        /// A name of the namespace it is for, if it had one.
        name: Option<Name>,
    },
    /// The current namespace has lost an nsid (the namespace is gone);
    /// `name` is the name it had.
    DeleteNsid {
        /// The nsid.
        nsid: u32,
        /// The name it was matched to when it came, if any.
        name: Option<Name>,
    },
}

/// What to watch: names in the run dir, nsids of the current namespace,
/// or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kinds {
    /// Names coming and going in the run dir ([`Event::Add`],
    /// [`Event::Delete`]).
    pub names: bool,
    /// nsids coming and going ([`Event::AddNsid`], [`Event::DeleteNsid`]).
    pub ids: bool,
}

/// What [`Watch::wait`] saw.
#[derive(Debug)]
pub enum Woken {
    /// Events, in the order they happened (never none).
    Events(Vec<Event>),
    /// The file given to watch for a hang-up has one (the reader of a pipe
    /// went away).
    HungUp,
}

/// A watch on one run dir and the current namespace's nsids.
pub struct Watch {
    names: Option<Names>,
    ids: Option<Ids>,
}

/// The names part: the run dir's files and mounts.
struct Names {
    run_dir: RunDir,
    inotify: Inotify,
    mountinfo: OwnedFd,
    nsfs: u64,
    /// Names that are namespaces, as far as the events tell, with the
    /// inode of each one's namespace.
    known: HashMap<OsString, u64>,
    /// Files that are not namespaces (yet), oldest first: adds under way,
    /// or stale files.
    pending: Vec<OsString>,
}

/// The nsids part: the kernel's events, and a socket to ask it with.
struct Ids {
    run_dir: RunDir,
    events: netlink::Socket,
    ask: NsidSocket,
    /// Every nsid known, with the name it was matched to; sorted by nsid
    /// and searched (a map of its own costs the multicall a KB).
    table: Vec<(u32, Option<Name>)>,
}

/// Netlink reads for events: several nsid messages of 28 bytes.
const EVENT_READ: usize = 8192;

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
    /// Starts watching `run_dir` for names (preparing it first as an add
    /// would, so a missing run dir is made) and the current namespace for
    /// nsids, as `kinds` asks, and returns the watch and what is there
    /// already: an add for each name that is a namespace (sorted), then
    /// an add-nsid for each nsid (ascending). Each snapshot is taken after
    /// its watch is in place, so nothing that happens between is lost: a
    /// name or nsid both in a snapshot and in an event is reported once.
    pub fn new(run_dir: &RunDir, kinds: Kinds) -> Result<(Self, Vec<Event>)> {
        let mut existing = Vec::new();
        let names = match kinds.names {
            true => Some(Names::new(run_dir, &mut existing)?),
            false => None,
        };
        let ids = match kinds.ids {
            true => Some(Ids::new(run_dir, &mut existing)?),
            false => None,
        };
        Ok((Watch { names, ids }, existing))
    }

    /// Waits for the next events, in the order they happened; or until
    /// `hangup` (stdout, say) reports an error or a hang-up.
    pub fn wait(&mut self, hangup: BorrowedFd<'_>) -> Result<Woken> {
        loop {
            let mut fds = vec![PollFd::new(hangup, PollFlags::empty())];
            if let Some(names) = &self.names {
                fds.push(PollFd::new(names.inotify.as_fd(), PollFlags::POLLIN));
                fds.push(PollFd::new(names.mountinfo.as_fd(), PollFlags::POLLPRI));
            }
            if let Some(ids) = &self.ids {
                fds.push(PollFd::new(ids.events.as_fd(), PollFlags::POLLIN));
            }
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
            let woken: Vec<PollFlags> = fds
                .iter()
                .map(|fd| fd.revents().unwrap_or(PollFlags::empty()))
                .collect();
            drop(fds);
            if woken[0].intersects(PollFlags::POLLERR | PollFlags::POLLHUP | PollFlags::POLLNVAL) {
                return Ok(Woken::HungUp);
            }
            let mut events = Vec::new();
            let mut rest = &woken[1..];
            if let Some(names) = &mut self.names {
                if rest[0].contains(PollFlags::POLLIN) {
                    names.read_inotify(&mut events)?;
                }
                // The mount table changed: a held-back file may be a
                // namespace now.
                if rest[1].contains(PollFlags::POLLPRI) {
                    names.check_pending(&mut events)?;
                }
                rest = &rest[2..];
            }
            if let Some(ids) = &mut self.ids
                && rest[0].contains(PollFlags::POLLIN)
            {
                ids.read_events(&mut events)?;
            }
            if !events.is_empty() {
                return Ok(Woken::Events(events));
            }
        }
    }
}

impl Names {
    fn new(run_dir: &RunDir, existing: &mut Vec<Event>) -> Result<Self> {
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
        let mountinfo = open(MOUNTINFO, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| Error::path("open", MOUNTINFO, e))?;
        let mut names = Names {
            run_dir: run_dir.clone(),
            inotify,
            mountinfo,
            nsfs: nsfs_device()?,
            known: HashMap::new(),
            pending: Vec::new(),
        };
        for entry in run_dir.entries()? {
            let name = entry.name.as_os_str().to_owned();
            match entry.inode {
                Some(inode) => {
                    names.known.insert(name, inode);
                    existing.push(Event::Add(entry.name));
                }
                None => names.pending.push(name),
            }
        }
        Ok(names)
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
                match self.known.get(&name) {
                    // Made after the watch began and before the snapshot:
                    // the snapshot has it already, the same namespace.
                    Some(&inode) if self.namespace_of(&name)? == Some(Some(inode)) => {}
                    // Renamed over (`mv x b`, which takes b's mount off):
                    // the name's namespace is gone, and what came is new.
                    Some(_) => {
                        self.known.remove(&name);
                        events.push(Event::Delete(Name::new(name.clone())?));
                        self.look_at(name, events)?;
                    }
                    None if !self.pending.contains(&name) => self.look_at(name, events)?,
                    None => {}
                }
            } else if mask.intersects(AddWatchFlags::IN_DELETE | AddWatchFlags::IN_MOVED_FROM) {
                self.pending.retain(|p| *p != name);
                if self.known.remove(&name).is_some() {
                    events.push(Event::Delete(Name::new(name)?));
                }
            }
        }
        Ok(())
    }

    /// A new file: an add when a namespace is on it already, held back
    /// when not, and nothing when it is gone again.
    fn look_at(&mut self, name: OsString, events: &mut Vec<Event>) -> Result<()> {
        match self.namespace_of(&name)? {
            Some(Some(inode)) => {
                events.push(Event::Add(Name::new(name.clone())?));
                self.known.insert(name, inode);
            }
            Some(None) => self.pending.push(name),
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
    /// now against what the events had told. A name now of another
    /// namespace (renamed over meanwhile) is a delete, then an add.
    fn resync(&mut self, events: &mut Vec<Event>) -> Result<()> {
        let now = self.run_dir.entries()?;
        let same = |name: &OsStr, inode: u64| {
            let at = now.binary_search_by(|e| e.name.as_os_str().cmp(name));
            at.is_ok_and(|at| now[at].inode == Some(inode))
        };
        let mut gone: Vec<OsString> = self
            .known
            .iter()
            .filter(|&(name, &inode)| !same(name, inode))
            .map(|(name, _)| name.clone())
            .collect();
        gone.sort_unstable();
        for name in gone {
            self.known.remove(&name);
            events.push(Event::Delete(Name::new(name)?));
        }
        self.pending.clear();
        for entry in now {
            let name = entry.name.as_os_str().to_owned();
            if !self.known.contains_key(&name) {
                self.look_at(name, events)?;
            }
        }
        Ok(())
    }

    /// The inode of the namespace mounted on `name`, if one is; `None`
    /// when it is gone. By path: no descriptor is held on the run dir.
    fn namespace_of(&self, name: &OsStr) -> Result<Option<Option<u64>>> {
        let path = self.run_dir.path().join(name);
        self.run_dir.look_at(AT_FDCWD, path.as_os_str(), self.nsfs)
    }
}

impl Ids {
    fn new(run_dir: &RunDir, existing: &mut Vec<Event>) -> Result<Self> {
        let events = netlink::Socket::open(EVENT_READ)?;
        events.join(RTNLGRP_NSID)?;
        let mut ids = Ids {
            run_dir: run_dir.clone(),
            events,
            ask: NsidSocket::open()?,
            table: Vec::new(),
        };
        // Against an empty table, the ids there now are all adds.
        ids.resync(existing)?;
        Ok(ids)
    }

    /// Every nsid the current namespace has, each with the first name (in
    /// order) that refers to its namespace, if any; and where the kernel
    /// cut its dump short, the highest id it reached: nothing is known of
    /// the ids above it (the kernel dumps them in order).
    fn snapshot(&mut self) -> Result<Snapshot> {
        let entries = self.run_dir.entries()?;
        let (dump, of_entries) = nsid::nsids(&self.run_dir, &entries)?;
        let reached = match dump.cut_short {
            true => dump.ids.last().copied(),
            false => None,
        };
        // Ascending, as the dump's ids are, each once (a dump in parts can
        // repeat one given meanwhile). A Vec, not a map: resync then needs
        // no sort of its own, nor a set (size).
        let mut ids = dump.ids;
        ids.dedup();
        let mut now: Vec<(u32, Option<Name>)> = ids.into_iter().map(|nsid| (nsid, None)).collect();
        for (entry, nsid) in entries.into_iter().zip(of_entries) {
            if let Some(nsid) = nsid {
                let at = match now.binary_search_by_key(&nsid, |&(id, _)| id) {
                    Ok(at) => at,
                    // An id the dump did not have: given since.
                    Err(at) => {
                        now.insert(at, (nsid, None));
                        at
                    }
                };
                now[at].1.get_or_insert(entry.name);
            }
        }
        Ok(Snapshot { ids: now, reached })
    }

    /// The name in the run dir that refers to the namespace that has
    /// `nsid`, the first in order: the run dir's namespaces asked one by
    /// one (the kernel tells no namespace by its nsid), each at most once.
    fn name_of(&mut self, nsid: u32) -> Result<Option<Name>> {
        // Kept sorted and searched, not a HashSet: one type fewer (size).
        let mut asked: Vec<u64> = Vec::new();
        for entry in self.run_dir.entries()? {
            let Some(inode) = entry.inode else { continue };
            match asked.binary_search(&inode) {
                Ok(_) => continue,
                Err(at) => asked.insert(at, inode),
            }
            if nsid::nsid_of_file(&mut self.ask, &self.run_dir.file(&entry.name))? == Some(nsid) {
                return Ok(Some(entry.name));
            }
        }
        Ok(None)
    }

    fn read_events(&mut self, events: &mut Vec<Event>) -> Result<()> {
        let mut came = Vec::new();
        let whole = self.events.events(&mut |msg| match msg.kind {
            RTM_NEWNSID | RTM_DELNSID => {
                came.extend(nsid::nsid_in(&msg).map(|nsid| (msg.kind == RTM_NEWNSID, nsid)))
            }
            _ => {}
        })?;
        for (added, nsid) in came {
            if added {
                // Known already: in the snapshot, taken after the watch
                // began.
                if let Err(at) = self.find(nsid) {
                    let name = self.name_of(nsid)?;
                    self.table.insert(at, (nsid, name.clone()));
                    events.push(Event::AddNsid { nsid, name });
                }
            } else if let Ok(at) = self.find(nsid) {
                // An nsid never seen was gone before the snapshot.
                let (_, name) = self.table.remove(at);
                events.push(Event::DeleteNsid { nsid, name });
            }
        }
        if !whole {
            self.resync(events)?;
        }
        Ok(())
    }

    /// The table as it is now against what the events had told: at the
    /// start (all adds), and after events were lost.
    fn resync(&mut self, events: &mut Vec<Event>) -> Result<()> {
        let Snapshot { ids: now, reached } = self.snapshot()?;
        let present = |nsid: &u32| now.binary_search_by_key(nsid, |&(id, _)| id).is_ok();
        // An id past the end of a cut dump may well be there still.
        let gone = |nsid: &u32| !present(nsid) && reached.is_none_or(|r| *nsid < r);
        let mut kept = Vec::with_capacity(self.table.len());
        for (nsid, name) in std::mem::take(&mut self.table) {
            match gone(&nsid) {
                true => events.push(Event::DeleteNsid { nsid, name }),
                false => kept.push((nsid, name)),
            }
        }
        self.table = kept;
        for (nsid, name) in now {
            if let Err(at) = self.find(nsid) {
                self.table.insert(at, (nsid, name.clone()));
                events.push(Event::AddNsid { nsid, name });
            }
        }
        Ok(())
    }

    /// Where `nsid` is in the table, or would go.
    fn find(&self, nsid: u32) -> std::result::Result<usize, usize> {
        self.table.binary_search_by_key(&nsid, |&(id, _)| id)
    }
}

/// The nsid table at one moment: each id with a name of its namespace,
/// in ascending order, and where a cut dump ended, the highest id it
/// reached.
struct Snapshot {
    ids: Vec<(u32, Option<Name>)>,
    reached: Option<u32>,
}
