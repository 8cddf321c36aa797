//! The system calls nix has no safe wrapper for, and the one std hook that
//! runs code between fork and exec. The only `unsafe` in the project.

#![allow(unsafe_code)]

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::errno::Errno;

/// open_tree(2) with OPEN_TREE_CLONE | AT_RECURSIVE: a detached copy of
/// the mount at `path` (relative to `dir`, or absolute) and every mount
/// below it. It stays valid after the original is unmounted, and
/// [`move_mount`] attaches it elsewhere. Linux 5.2.
pub fn clone_tree(dir: Option<BorrowedFd<'_>>, path: &CStr) -> nix::Result<OwnedFd> {
    let dirfd = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    let flags = libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC | libc::AT_RECURSIVE as u32;
    // SAFETY: `path` is a valid NUL-terminated string for the duration of
    // the call; the kernel writes nothing through our pointers.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, dirfd, path.as_ptr(), flags) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: on success open_tree returns a new file descriptor that
    // nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// move_mount(2) of a detached tree from [`clone_tree`] onto `target`.
pub fn attach_tree(tree: BorrowedFd<'_>, target: &CStr) -> nix::Result<()> {
    // SAFETY: both strings are valid and NUL-terminated for the call; the
    // fd is open (borrowed); the kernel only reads through the pointers.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if rc < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// Runs `hook` in the child between fork and exec when `cmd` is spawned.
/// `hook` must not allocate or take locks (another thread of the parent
/// may have held one at fork): the callers here make only system calls on
/// data prepared before the fork.
pub fn before_exec(
    cmd: &mut Command,
    hook: impl FnMut() -> io::Result<()> + Send + Sync + 'static,
) {
    // SAFETY: see above; `hook` is async-signal-safe by construction.
    unsafe {
        cmd.pre_exec(hook);
    }
}
