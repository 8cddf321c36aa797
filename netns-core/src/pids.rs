//! Which processes are in a network namespace: a scan of /proc, as `ip
//! netns pids` makes.

use std::os::fd::BorrowedFd;
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::fcntl::{AtFlags, readlinkat};
use nix::sys::stat::fstatat;

use crate::error::{Error, Result};
use crate::netns::NetnsId;
use crate::scan;

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
/// stat'ed, to compare the device too. With the `threads` feature, many
/// processes are shared out to a thread a core.
pub fn pids(ns: NetnsId) -> Result<Vec<u32>> {
    let want = format!("net:[{}]", ns.inode);
    let mut found = scan::scan(PROC.as_ref(), &|proc, name| {
        let name = name.as_bytes();
        if !name.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let pid = std::str::from_utf8(name).ok()?.parse().ok()?;
        is_in(proc, pid, &want, ns).then_some(pid)
    })?
    .ok_or_else(|| Error::path("open", PROC, Errno::ENOENT))?;
    found.sort_unstable();
    Ok(found)
}

/// Whether process `pid` is in `ns`, whose link reads `want`; false for a
/// process that has gone or that this caller may not look into.
fn is_in(proc: BorrowedFd<'_>, pid: u32, want: &str, ns: NetnsId) -> bool {
    let path = format!("{pid}/ns/net");
    match readlinkat(proc, path.as_str()) {
        Ok(link) if link.as_encoded_bytes() == want.as_bytes() => {}
        _ => return false,
    }
    matches!(fstatat(proc, path.as_str(), AtFlags::empty()),
        Ok(st) if st.st_dev == ns.dev && st.st_ino == ns.inode)
}
