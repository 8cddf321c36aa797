//! Which processes are in a network namespace: a scan of /proc, as `ip
//! netns pids` makes.

use nix::dir::Dir;
use nix::fcntl::{AtFlags, OFlag, readlinkat};
use nix::sys::stat::{Mode, fstatat};

use crate::error::{Error, Result};
use crate::netns::NetnsId;

const PROC: &str = "/proc";

/// The processes whose network namespace is `ns`, ascending: each
/// /proc/PID whose ns/net has `ns`'s device and inode. As with `ip netns
/// pids`, these are processes (thread-group leaders), not threads. A
/// process that exits during the scan, or whose namespace this caller may
/// not see, is left out.
///
/// ip stats every /proc/PID/ns/net. A stat of that link makes the kernel
/// find or make the namespace's nsfs dentry; reading the link, which names
/// the namespace as `net:[INODE]`, does not, and costs about half (3.5 ms
/// against 7.9 ms for 1000 processes, measured). Only the matches are
/// stat'ed, to compare the device too.
pub fn pids(ns: NetnsId) -> Result<Vec<u32>> {
    let mut proc = Dir::open(
        PROC,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::path("open", PROC, e))?;
    let mut all = Vec::new();
    for entry in proc.iter() {
        let entry = entry.map_err(|e| Error::path("read", PROC, e))?;
        let name = entry.file_name().to_bytes();
        if name.iter().all(u8::is_ascii_digit)
            && let Some(pid) = std::str::from_utf8(name).ok().and_then(|n| n.parse().ok())
        {
            all.push(pid);
        }
    }
    let want = format!("net:[{}]", ns.inode);
    let mut found = Vec::new();
    for pid in all {
        let path = format!("{pid}/ns/net");
        let Ok(link) = readlinkat(&proc, path.as_str()) else {
            continue;
        };
        if link.as_encoded_bytes() != want.as_bytes() {
            continue;
        }
        match fstatat(&proc, path.as_str(), AtFlags::empty()) {
            Ok(st) if st.st_dev == ns.dev && st.st_ino == ns.inode => found.push(pid),
            _ => {}
        }
    }
    found.sort_unstable();
    Ok(found)
}
