//! Every network namespace the caller can find, named or not, and what
//! keeps each alive: the processes in it, the bind mounts of it (in every
//! mount namespace a process is in), the descriptors open on it, its
//! names in the run dir; and its nsid and devices.
//!
//! One pass over /proc (each process's ns/net and ns/mnt links, its comm,
//! and a readlink of each of its descriptors: an nsfs descriptor reads
//! `net:[INODE]`, so no stat is needed), then each mount namespace's
//! mountinfo once. lsns(8) finds only the namespaces that have a process.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::dir::Dir;
use nix::fcntl::{OFlag, openat, readlinkat};
use nix::sys::stat::Mode;

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
    /// The processes in it: pid and command name.
    pub processes: Vec<(u32, OsString)>,
    /// The bind mounts of it: the mount point, and for one seen only in
    /// another mount namespace, a pid of a process there.
    pub mounts: Vec<(PathBuf, Option<u32>)>,
    /// The descriptors open on it: pid and fd.
    pub fds: Vec<(u32, u32)>,
    /// Its network devices; empty when it could not be entered.
    pub devices: Vec<OsString>,
}

/// What one pass over /proc/PID found.
struct Process {
    pid: u32,
    net: Option<u64>,
    mnt: Option<u64>,
    comm: OsString,
    /// (fd, namespace inode) of each descriptor on a network namespace.
    fds: Vec<(u32, u64)>,
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
    let own = |link: &str| inode_in(nix::fcntl::readlink(link).ok()?.as_bytes());
    let (own_net, own_mnt) = (own("/proc/self/ns/net"), own("/proc/self/ns/mnt"));
    // One process of each other mount namespace, for its mountinfo: the
    // first found (the lowest pid), in the order found. The namespaces
    // seen are kept sorted and searched, as `found` is.
    let mut mount_namespaces: Vec<u64> = Vec::new();
    let mut readers: Vec<u32> = Vec::new();
    for p in &processes {
        if let Some(net) = p.net {
            at(&mut found, net).processes.push((p.pid, p.comm.clone()));
        }
        for &(fd, inode) in &p.fds {
            at(&mut found, inode).fds.push((p.pid, fd));
        }
        if let Some(mnt) = p.mnt.filter(|&m| Some(m) != own_mnt)
            && let Err(i) = mount_namespaces.binary_search(&mnt)
        {
            mount_namespaces.insert(i, mnt);
            readers.push(p.pid);
        }
    }
    if let Some(net) = own_net {
        at(&mut found, net).current = true;
    }
    // The caller's own mount namespace first, as /proc/self.
    let tables = std::iter::once((PathBuf::from("/proc/self/mountinfo"), None)).chain(
        readers
            .iter()
            .map(|&pid| (PathBuf::from(format!("/proc/{pid}/mountinfo")), Some(pid))),
    );
    for (mountinfo, pid) in tables {
        let Ok(mounts) = mountinfo::mounts_in(&mountinfo) else {
            continue;
        };
        for m in mounts.into_iter().filter(|m| m.fs_type == "nsfs") {
            let Some(inode) = inode_in(m.root.as_bytes()) else {
                continue;
            };
            // A mount propagated to many mount namespaces is one pin.
            let point = m.mount_point.as_os_str().as_bytes();
            let f = at(&mut found, inode);
            if !f
                .mounts
                .iter()
                .any(|(p, _)| p.as_os_str().as_bytes() == point)
            {
                f.mounts.push((m.mount_point, pid));
            }
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
        let Some(ns) = open(run_dir, f) else { continue };
        f.nsid = nsids.nsid_of(ns.as_fd()).ok().flatten();
        f.devices = devices.names(&ns).unwrap_or_default();
    }
    Ok(found)
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

/// One process: its namespaces' inodes, its comm, and its descriptors on
/// network namespaces. `me` (the caller) holds descriptors of its own
/// while it looks: those are not reported.
fn process(proc: BorrowedFd<'_>, pid: u32, me: u32) -> Process {
    let link = |what: &str| readlinkat(proc, format!("{pid}/{what}").as_str()).ok();
    let ns = |kind: &str| inode_in(link(&format!("ns/{kind}"))?.as_bytes());
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
    let fds = match pid == me {
        false => descriptors(proc, pid),
        true => Vec::new(),
    };
    Process {
        pid,
        net: ns("net"),
        mnt: ns("mnt"),
        comm,
        fds,
    }
}

/// (fd, namespace inode) of each descriptor of `pid` on a network
/// namespace: a readlink each, relative to its fd directory.
fn descriptors(proc: BorrowedFd<'_>, pid: u32) -> Vec<(u32, u64)> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let Ok(mut dir) = Dir::openat(proc, format!("{pid}/fd").as_str(), flags, Mode::empty()) else {
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
            let target = target.as_bytes();
            let inode = target.starts_with(b"net:[").then(|| inode_in(target))??;
            Some((fd as u32, inode))
        })
        .collect()
}

/// The inode of `net:[INODE]` (or `mnt:[INODE]`, and so on).
fn inode_in(link: &[u8]) -> Option<u64> {
    let inner = link.strip_suffix(b"]")?;
    let at = inner.iter().position(|&b| b == b'[')?;
    files::decimal(&inner[at + 1..])
}

/// The namespace `f`, opened through whatever holds it: a name, a process
/// in it, a mount in the caller's mount namespace, one in another's
/// (through that process's root), a descriptor.
fn open(run_dir: &RunDir, f: &Found) -> Option<Netns> {
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
        if let Ok(ns) = Netns::open_path(&path)
            && ns.id().inode == f.inode
        {
            return Some(ns);
        }
    }
    None
}
