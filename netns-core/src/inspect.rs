//! Every network namespace the caller can find, named or not, and what
//! keeps each alive: the processes in it, the bind mounts of it (in every
//! mount namespace a process is in), the descriptors open on it, its
//! names in the run dir; and its nsid and devices.
//!
//! One pass over /proc (each process's ns/net and ns/mnt links, and its
//! other threads' when it has any, as a thread may have joined another
//! namespace or outlived the main one; its comm; and a readlink of each
//! of its descriptors: an nsfs descriptor reads `net:[INODE]`, so no stat
//! is needed), then each mount namespace's mountinfo once. lsns(8) finds
//! only the namespaces that have a process.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::dir::Dir;
use nix::fcntl::{AtFlags, OFlag, openat, readlinkat};
use nix::sys::stat::{Mode, fstatat};

use crate::error::{Error, Result};
use crate::files;
use crate::link::Devices;
use crate::mountinfo;
use crate::name::Name;
use crate::netns::Netns;
use crate::nsid::NsidSocket;
use crate::run_dir::RunDir;
use crate::scan;

/// One network namespace and its holders. Lists are in the order found:
/// processes and descriptors by pid, mounts by mount namespace.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Found {
    /// Its inode (`net:[INODE]`), which tells namespaces apart.
    pub inode: u64,
    /// Its names in the run dir, sorted.
    pub names: Vec<Name>,
    /// The nsid the caller's namespace has for it.
    pub nsid: Option<u32>,
    /// Whether it is the caller's own namespace.
    pub current: bool,
    /// The processes in it: pid and command name. For a process whose
    /// main thread is not in it (another thread joined it, or the main
    /// one has exited), the id of its first thread that is.
    pub processes: Vec<(u32, OsString)>,
    /// The bind mounts of it: the mount point, and for one seen only in
    /// another mount namespace, a pid of a process there.
    pub mounts: Vec<(PathBuf, Option<u32>)>,
    /// The descriptors open on it: pid and fd (the id of the thread they
    /// were read through when the main one has exited).
    pub fds: Vec<(u32, u32)>,
    /// Its network devices; empty when it could not be entered.
    pub devices: Vec<OsString>,
}

/// What one pass over /proc/PID found.
struct Process {
    comm: OsString,
    /// (thread, inode) of each network namespace its threads are in: the
    /// first thread found in each, the main one first.
    nets: Vec<(u32, u64)>,
    /// The same for mount namespaces.
    mnts: Vec<(u32, u64)>,
    /// The thread the descriptors were read through, and (fd, namespace
    /// inode) of each on a network namespace.
    fds: (u32, Vec<(u32, u64)>),
}

/// Every network namespace found, by inode. Processes that exit during
/// the scan and files that cannot be read are passed over; a namespace
/// that cannot be entered has no devices listed.
pub fn inspect(run_dir: &RunDir) -> Result<Vec<Found>> {
    let me = std::process::id();
    // In /proc's order, which is by pid (the threads keep it).
    let processes = scan::scan(Path::new("/proc"), &|proc, name| {
        let pid = u32::try_from(files::decimal(name.as_bytes())?).ok()?;
        Some(process(proc, pid, me))
    })?
    .ok_or_else(|| Error::path("open", "/proc", nix::errno::Errno::ENOENT))?;
    // Ascending by inode. A Vec searched, not a map: maps bring their own
    // code into the multicall.
    let mut found: Vec<Found> = Vec::new();
    let own = |link: &str, kind| inode_in(kind, nix::fcntl::readlink(link).ok()?.as_bytes());
    let own_net = own("/proc/self/ns/net", "net");
    let own_mnt = own("/proc/self/ns/mnt", "mnt");
    // The threads of other mount namespaces, in the order found, for
    // their mountinfo.
    let mut readers: Vec<(u64, u32)> = Vec::new();
    for p in &processes {
        for &(tid, net) in &p.nets {
            at(&mut found, net).processes.push((tid, p.comm.clone()));
        }
        let (tid, fds) = &p.fds;
        for &(fd, inode) in fds {
            at(&mut found, inode).fds.push((*tid, fd));
        }
        readers.extend(
            p.mnts
                .iter()
                .filter(|m| Some(m.1) != own_mnt)
                .map(|&(t, m)| (m, t)),
        );
    }
    if let Some(net) = own_net {
        at(&mut found, net).current = true;
    }
    // Each mount namespace read once: the caller's own first, as
    // /proc/self, then each other through its first thread whose
    // mountinfo can be read (one that exits meanwhile leaves it to the
    // next). Those read are kept sorted and searched, as `found` is.
    mounts_of(&mut found, Path::new("/proc/self/mountinfo"), None);
    let mut read: Vec<u64> = own_mnt.into_iter().collect();
    for (mnt, tid) in readers {
        if let Err(at) = read.binary_search(&mnt)
            && mounts_of(
                &mut found,
                Path::new(&format!("/proc/{tid}/mountinfo")),
                Some(tid),
            )
        {
            read.insert(at, mnt);
        }
    }
    for entry in run_dir.entries()? {
        if let Some(inode) = entry.inode {
            at(&mut found, inode).names.push(entry.name);
        }
    }
    let mut nsids = NsidSocket::open()?;
    let mut devices = Devices::new()?;
    for f in &mut found {
        let Some(ns) = open(run_dir, f)? else {
            continue;
        };
        // A namespace that cannot be asked (entered) shows none; a shortage
        // of this process's own (descriptors, memory) is an error, not an
        // empty answer.
        f.nsid = match nsids.nsid_of(ns.as_fd()) {
            Err(err) if err.is_shortage() => return Err(err),
            answered => answered.ok().flatten(),
        };
        f.devices = match devices.names(&ns) {
            Err(err) if err.is_shortage() => return Err(err),
            answered => answered.unwrap_or_default(),
        };
    }
    Ok(found)
}

/// Adds the nsfs mounts of network namespaces in `mountinfo` to `found`,
/// with `pid` for a mount namespace other than the caller's; false when
/// it cannot be read.
fn mounts_of(found: &mut Vec<Found>, mountinfo: &Path, pid: Option<u32>) -> bool {
    let Ok(mounts) = mountinfo::mounts_in(mountinfo) else {
        return false;
    };
    for m in mounts.into_iter().filter(|m| m.fs_type == "nsfs") {
        // nsfs holds every kind of namespace: a uts or a mount namespace
        // bound to a file is not one of these.
        let Some(inode) = inode_in("net", m.root.as_bytes()) else {
            continue;
        };
        // A mount propagated to many mount namespaces is one pin.
        let point = m.mount_point.as_os_str().as_bytes();
        let f = at(found, inode);
        if !f
            .mounts
            .iter()
            .any(|(p, _)| p.as_os_str().as_bytes() == point)
        {
            f.mounts.push((m.mount_point, pid));
        }
    }
    true
}

/// The namespace `inode`'s record, made where it belongs when first seen.
fn at(found: &mut Vec<Found>, inode: u64) -> &mut Found {
    let i = match found.binary_search_by_key(&inode, |f| f.inode) {
        Ok(i) => i,
        Err(i) => {
            let new = Found {
                inode,
                ..Found::default()
            };
            found.insert(i, new);
            i
        }
    };
    &mut found[i]
}

/// One process: its threads' namespaces, its comm, and its descriptors on
/// network namespaces. `me` (the caller) holds descriptors of its own
/// while it looks: those are not reported.
fn process(proc: BorrowedFd<'_>, pid: u32, me: u32) -> Process {
    let comm = openat(
        proc,
        format!("{pid}/comm").as_str(),
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok()
    .and_then(|fd| {
        let mut buf = [0u8; 64];
        let n = nix::unistd::read(&fd, &mut buf).ok()?;
        Some(OsStr::from_bytes(buf[..n].strip_suffix(b"\n").unwrap_or(&buf[..n])).to_owned())
    })
    .unwrap_or_default();
    let mut p = Process {
        comm,
        nets: Vec::new(),
        mnts: Vec::new(),
        fds: (pid, Vec::new()),
    };
    p.look_at(proc, pid, pid);
    // The other threads' too when there are others (the task dir's link
    // count is 2 and one a thread: one stat, no readdir for the many
    // processes of one thread) or the main one has exited (its links went
    // with it).
    let task = format!("{pid}/task");
    let links = fstatat(proc, task.as_str(), AtFlags::empty()).map_or(0, |st| st.st_nlink);
    if p.nets.is_empty() || links > 2 + 1 {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        if let Ok(mut dir) = Dir::openat(proc, task.as_str(), flags, Mode::empty()) {
            for entry in dir.iter().flatten() {
                let tid = files::decimal(entry.file_name().to_bytes())
                    .and_then(|t| u32::try_from(t).ok());
                if let Some(tid) = tid.filter(|&t| t != pid) {
                    p.look_at(proc, pid, tid);
                }
            }
        }
    }
    // Through the first thread in a network namespace: a main thread that
    // has exited has no descriptors left to read.
    if pid != me
        && let Some(&(tid, _)) = p.nets.first()
    {
        p.fds = (tid, descriptors(proc, pid, tid));
    }
    p
}

impl Process {
    /// Adds the namespaces of thread `tid` of process `pid` (the main
    /// thread's id is the process's), each once.
    fn look_at(&mut self, proc: BorrowedFd<'_>, pid: u32, tid: u32) {
        for (kind, seen) in [("net", &mut self.nets), ("mnt", &mut self.mnts)] {
            let link = readlinkat(proc, format!("{pid}/task/{tid}/ns/{kind}").as_str());
            let inode = link.ok().and_then(|link| inode_in(kind, link.as_bytes()));
            if let Some(inode) = inode
                && !seen.iter().any(|&(_, i)| i == inode)
            {
                seen.push((tid, inode));
            }
        }
    }
}

/// (fd, namespace inode) of each descriptor on a network namespace of
/// thread `tid` of process `pid`: a readlink each, relative to its fd
/// directory.
fn descriptors(proc: BorrowedFd<'_>, pid: u32, tid: u32) -> Vec<(u32, u64)> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let fd_dir = format!("{pid}/task/{tid}/fd");
    let Ok(mut dir) = Dir::openat(proc, fd_dir.as_str(), flags, Mode::empty()) else {
        return Vec::new();
    };
    // The names first: iterating borrows the directory its links are read
    // relative to.
    let fds: Vec<u64> = dir
        .iter()
        .flatten()
        .filter_map(|e| files::decimal(e.file_name().to_bytes()))
        .collect();
    fds.into_iter()
        .filter_map(|fd| {
            let target = readlinkat(dir.as_fd(), fd.to_string().as_str()).ok()?;
            Some((fd as u32, inode_in("net", target.as_bytes())?))
        })
        .collect()
}

/// The inode of `KIND:[INODE]` (`net:[4026531840]`, an ns link's target,
/// an nsfs mount's root): none for another kind.
fn inode_in(kind: &str, link: &[u8]) -> Option<u64> {
    let inner = link.strip_prefix(kind.as_bytes())?.strip_prefix(b":[")?;
    files::decimal(inner.strip_suffix(b"]")?)
}

/// The namespace `f`, opened through whatever holds it: a name, a process
/// in it, a mount in the caller's mount namespace, one in another's
/// (through that process's root), a descriptor.
fn open(run_dir: &RunDir, f: &Found) -> Result<Option<Netns>> {
    let paths = f
        .names
        .iter()
        .map(|name| run_dir.file(name))
        .chain(
            f.processes
                .iter()
                .map(|(pid, _)| format!("/proc/{pid}/ns/net").into()),
        )
        .chain(f.mounts.iter().map(|(path, pid)| match pid {
            None => path.clone(),
            Some(pid) => {
                Path::new(&format!("/proc/{pid}/root")).join(path.strip_prefix("/").unwrap_or(path))
            }
        }))
        .chain(
            f.fds
                .iter()
                .map(|(pid, fd)| format!("/proc/{pid}/fd/{fd}").into()),
        );
    for path in paths {
        match Netns::open_path(&path) {
            Ok(ns) if ns.id().inode == f.inode => return Ok(Some(ns)),
            // No descriptor to be had: the next path would fare no better.
            Err(err) if err.is_shortage() => return Err(err),
            _ => {}
        }
    }
    Ok(None)
}
