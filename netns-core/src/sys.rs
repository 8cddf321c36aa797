//! The system calls nix has no safe wrapper for, and fork and exec. The
//! only `unsafe` in the project.

#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid, fork, pipe2, read, write};

/// open_tree(2) with OPEN_TREE_CLONE | AT_RECURSIVE: a detached copy of
/// the mount at `path` and every mount below it. It stays valid after the
/// original is unmounted, and [`attach_tree`] attaches it elsewhere.
/// Linux 5.2. Before Linux 6.15 the mount must be in the caller's mount
/// namespace: a mount inside another detached copy cannot be cloned.
pub fn clone_tree(path: &CStr) -> nix::Result<OwnedFd> {
    let dirfd = libc::AT_FDCWD;
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

/// Whether open_tree(2) and move_mount(2) can be called at all: calls
/// that cannot succeed (an empty path without AT_EMPTY_PATH, a descriptor
/// that cannot be open) fail ENOENT or EBADF where the calls exist, and
/// with what [`unavailable`] knows where they do not. Asked before
/// anything is unmounted, so that an exec that could not put the mounts
/// back takes the older way from the start.
pub fn can_clone_mounts() -> bool {
    // SAFETY: the path is a valid NUL-terminated string; with these
    // arguments the kernel fails before it makes anything.
    let open_tree = unsafe { libc::syscall(libc::SYS_open_tree, -1, c"".as_ptr(), 0u32) };
    if open_tree >= 0 || unavailable(Errno::last()) {
        return false;
    }
    // SAFETY: as above; the kernel fails on the descriptor first.
    let move_mount = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            -1,
            c"".as_ptr(),
            -1,
            c"".as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    move_mount < 0 && !unavailable(Errno::last())
}

/// Whether a system call failed because it is not there to call: ENOSYS
/// from a kernel that predates it, or EPERM from a seccomp filter that
/// does (Docker's and podman's profiles answer EPERM or ENOSYS for calls
/// newer than themselves). Either way the caller takes the older way.
pub fn unavailable(errno: Errno) -> bool {
    matches!(errno, Errno::ENOSYS | Errno::EPERM)
}

/// Asks the kernel to explain its netlink refusals in words (extended
/// acks, NETLINK_EXT_ACK, Linux 4.12): "Peer netns already has a nsid
/// assigned" says more than EEXIST. nix has no wrapper for this option.
pub fn netlink_ext_ack(socket: BorrowedFd<'_>) -> nix::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: the option value is a live c_int and its size is passed; the
    // kernel only reads it.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_NETLINK,
            libc::NETLINK_EXT_ACK,
            (&raw const on).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// The type of the namespace an nsfs file refers to (CLONE_NEWNET for a
/// network namespace): ioctl NS_GET_NSTYPE, Linux 4.11. Any other file
/// fails, with ENOTTY.
pub fn namespace_type(ns: BorrowedFd<'_>) -> nix::Result<libc::c_int> {
    // _IO(NSIO, 0x3), linux/nsfs.h.
    const NS_GET_NSTYPE: libc::c_ulong = 0xb7 << 8 | 0x3;
    // SAFETY: NS_GET_NSTYPE takes no argument and writes no memory; the
    // fd is open (borrowed).
    let rc = unsafe { libc::ioctl(ns.as_raw_fd(), NS_GET_NSTYPE) };
    if rc < 0 { Err(Errno::last()) } else { Ok(rc) }
}

/// The user namespace that owns the namespace `ns` refers to: ioctl
/// NS_GET_USERNS, Linux 4.9. EPERM when that user namespace is not the
/// caller's own or one below it: the kernel's word that the caller has no
/// power over it.
pub fn owner_userns(ns: BorrowedFd<'_>) -> nix::Result<OwnedFd> {
    // _IO(NSIO, 0x1), linux/nsfs.h.
    const NS_GET_USERNS: libc::c_ulong = 0xb7 << 8 | 0x1;
    // SAFETY: NS_GET_USERNS takes no argument and writes no memory; the
    // fd is open (borrowed).
    let fd = unsafe { libc::ioctl(ns.as_raw_fd(), NS_GET_USERNS) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: on success the ioctl returns a new file descriptor that
    // nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// fork(2) for a child that lives on its own (rootless mode's keeper):
/// the child runs `child` and exits with what it returns, without
/// returning here; a panic in it aborts the child rather than unwinding
/// into the parent's frames (which would drop the parent's locks and
/// flush its buffers a second time).
///
/// # Safety
/// The caller has no other thread: the child then holds the only thread,
/// inherits no lock another thread held, and may allocate.
pub unsafe fn fork_apart(child: impl FnOnce() -> i32) -> nix::Result<Pid> {
    // SAFETY: the caller has no other thread (see above), so the child
    // inherits no lock some thread held; it runs `child` and _exits.
    match unsafe { fork() }? {
        ForkResult::Child => {
            let code = in_child(child);
            // SAFETY: _exit(2) ends the child at once, running nothing of
            // the parent's (no atexit handlers, no stdio flush).
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => Ok(child),
    }
}

/// Runs a forked child's work; a panic aborts the child where it is.
fn in_child<T>(work: impl FnOnce() -> T) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
        Ok(value) => value,
        Err(_) => std::process::abort(),
    }
}

/// Runs `work` in a task of its own that is thrown away when it returns:
/// clone(2) with CLONE_VM | CLONE_FILES | CLONE_VFORK, so the task shares
/// this process's memory and descriptors (a socket it opens is ours) and
/// this thread waits until it has ended. Namespaces are per task: what
/// `work` enters or unshares (setns, unshare) is the task's alone, so the
/// calling thread never moves and never has to come back, which a
/// process that is root of a user namespace not owning its network
/// namespace is not allowed to do. Cheaper than a thread (no pthread,
/// which is 85 KB of a static build) and than a fork (no page tables
/// copied). Returns what `work` returned, or the errno clone failed with.
///
/// `work` must only make system calls on data made before (no
/// allocation, no lock): it runs on a small stack of its own, beside this
/// process's other threads, with this thread's thread-local storage. A
/// panic in it aborts the task. Private, so that only the callers below,
/// whose work is written so, give it work.
fn in_task(work: &mut dyn FnMut() -> Result<i32, Errno>) -> Result<i32, Errno> {
    struct Task<'a> {
        work: &'a mut dyn FnMut() -> Result<i32, Errno>,
        result: Result<i32, Errno>,
    }
    extern "C" fn start(task: *mut libc::c_void) -> libc::c_int {
        // SAFETY: `task` is the Task below, alive until the task ends
        // (the caller is suspended until then: CLONE_VFORK).
        let task = unsafe { &mut *task.cast::<Task<'_>>() };
        task.result = in_child(|| (task.work)());
        0
    }
    const STACK: usize = 64 * 1024;
    let mut stack = vec![0u128; STACK / 16];
    let mut task = Task {
        work,
        result: Err(Errno::ECHILD),
    };
    let flags = libc::CLONE_VM | libc::CLONE_FILES | libc::CLONE_VFORK | libc::SIGCHLD;
    // SAFETY: the stack is ours, 16-aligned, and outlives the task (this
    // thread is suspended until the task exits); `start` only reaches
    // `task` through the pointer, which stays valid as long.
    let pid = unsafe {
        libc::clone(
            start,
            stack.as_mut_ptr().add(stack.len()).cast(),
            flags,
            (&raw mut task).cast(),
        )
    };
    if pid < 0 {
        return Err(Errno::last());
    }
    while waitpid(Pid::from_raw(pid), None) == Err(Errno::EINTR) {}
    task.result
}

/// A socket (socket(2): `domain`, `kind`, `protocol`, close-on-exec) made
/// in the network namespace `ns` by a thrown-away task ([`in_task`]): it
/// belongs to that namespace for good, and is this process's to use from
/// any thread. The error names the step that failed ("enter", or "open a
/// socket in"), as "cannot ..." completes it.
pub fn socket_in(
    ns: BorrowedFd<'_>,
    domain: libc::c_int,
    kind: libc::c_int,
    protocol: libc::c_int,
) -> Result<OwnedFd, (&'static str, Errno)> {
    let made = sockets_in(&[ns], domain, kind, protocol);
    made.into_iter().next().expect("one result a namespace")
}

/// [`socket_in`] for each of `nss`, in order, all by one thrown-away task
/// that enters each in turn: one clone, exit and wait for them all, not
/// one each (they are most of a socket's cost). A namespace that cannot
/// be entered, or whose socket cannot be made, is no stop to the others.
pub fn sockets_in(
    nss: &[BorrowedFd<'_>],
    domain: libc::c_int,
    kind: libc::c_int,
    protocol: libc::c_int,
) -> Vec<Result<OwnedFd, (&'static str, Errno)>> {
    // Made before the task, which must not allocate.
    let unreached = Err(("start a task to enter", Errno::ECHILD));
    let mut made: Vec<Result<i32, (&'static str, Errno)>> = vec![unreached; nss.len()];
    // How many it has told of.
    let mut told = 0;
    let started = in_task(&mut || {
        for (ns, made) in nss.iter().zip(made.iter_mut()) {
            // SAFETY: setns and socket take numbers and touch no memory.
            *made = if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } < 0 {
                Err(("enter", Errno::last()))
            } else {
                // SAFETY: as above.
                match unsafe { libc::socket(domain, kind | libc::SOCK_CLOEXEC, protocol) } {
                    fd if fd < 0 => Err(("open a socket in", Errno::last())),
                    fd => Ok(fd),
                }
            };
            told += 1;
        }
        Ok(0)
    });
    // A task that could not start, or that died midway: those it did not
    // tell of have the errno.
    if let Err(errno) = started {
        made[told..].fill(Err(("start a task to enter", errno)));
    }
    made.into_iter()
        // SAFETY: the task opened each in our descriptor table
        // (CLONE_FILES), and nothing else owns it.
        .map(|made| made.map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }))
        .collect()
}

/// What [`create_new_netns_each`] did for one path: the step that failed
/// (as "cannot ..." completes it) and its errno.
pub type Made = Result<(), (&'static str, Errno)>;

/// Makes a file at each of `paths` and a new network namespace mounted
/// onto it, all in one thrown-away task ([`in_task`]): for each, open(2)
/// O_CREAT|O_EXCL (read-only, close-on-exec), unshare(2) CLONE_NEWNET,
/// then mount(2) MS_BIND of the task's /proc/thread-self/ns/net onto
/// /proc/thread-self/fd/N, the file just opened (wherever its path now
/// leads), and only then the next file. One task a batch, not one a name:
/// a task costs a clone, an exit and a wait (about 40 µs here, against the
/// kernel's 0.5 to 1 ms a namespace). The calling thread stays in its
/// namespace: there is no way back to take. One result a path tried, in
/// order: the file held open (when the task got to open it), and what
/// came of it ("create" when the open failed). A path that failed is no
/// stop to the others but with `stop`: then no file of a path after it is
/// made, not even for a moment (as a batch of ip's stops at a failing
/// line, before the next line's file). An open refused for want of
/// descriptors or memory (EMFILE, ENFILE, ENOMEM) stops the task all the
/// same: the rest can be tried once these files are closed.
pub fn create_new_netns_each(paths: &[CString], stop: bool) -> Vec<(Option<OwnedFd>, Made)> {
    if paths.is_empty() {
        return Vec::new();
    }
    let mut fds = vec![-1; paths.len()];
    let mut made = vec![Ok(()); paths.len()];
    let mut at = 0;
    let started = in_task(&mut || {
        for ((path, fd), made) in paths.iter().zip(fds.iter_mut()).zip(made.iter_mut()) {
            at += 1;
            let flags = libc::O_RDONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC;
            // SAFETY: the path is NUL-terminated and lives for the call.
            *fd = unsafe { libc::open(path.as_ptr(), flags, 0) };
            if *fd < 0 {
                let errno = Errno::last();
                *made = Err(("create", errno));
                match stop || matches!(errno, Errno::EMFILE | Errno::ENFILE | Errno::ENOMEM) {
                    true => break,
                    false => continue,
                }
            }
            let mut target = [0; 32];
            *made = new_netns_onto(fd_path(*fd, &mut target));
            if stop && made.is_err() {
                break;
            }
        }
        Ok(0)
    });
    // A task that could not start, or that died (aborted) midway: what it
    // did not reach is not made.
    if let Err(errno) = started {
        let why = ("start a task to make a network namespace for", errno);
        made[at.max(1) - 1] = Err(why);
        at = at.max(1);
    }
    fds.into_iter()
        .zip(made)
        .take(at)
        // SAFETY: the task opened each descriptor of 0 or more in our
        // table (CLONE_FILES), and nothing else owns it.
        .map(|(fd, made)| ((fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) }), made))
        .collect()
}

/// "/proc/thread-self/fd/N" for descriptor `fd`, written into `buffer`
/// without allocating (for a task's work).
fn fd_path(fd: i32, buffer: &mut [u8; 32]) -> &CStr {
    const PREFIX: &[u8] = b"/proc/thread-self/fd/";
    buffer[..PREFIX.len()].copy_from_slice(PREFIX);
    let digits = fd.checked_ilog10().unwrap_or(0) as usize + 1;
    let mut rest = fd.unsigned_abs();
    for at in (PREFIX.len()..PREFIX.len() + digits).rev() {
        buffer[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    buffer[PREFIX.len() + digits] = 0;
    CStr::from_bytes_until_nul(buffer).unwrap_or(c"")
}

/// One of [`create_new_netns_each`]'s namespaces, made by its task.
fn new_netns_onto(target: &CStr) -> Made {
    // SAFETY: unshare takes a flag and touches no memory.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } < 0 {
        return Err(("make a network namespace for", Errno::last()));
    }
    // SAFETY: both paths are NUL-terminated and live for the call; the
    // kernel only reads them.
    let rc = unsafe {
        libc::mount(
            c"/proc/thread-self/ns/net".as_ptr(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    match rc < 0 {
        true => Err(("mount the new namespace on", Errno::last())),
        false => Ok(()),
    }
}

/// Puts `signal` back to its default action (SIG_DFL), whatever this
/// process was started with or its runtime set.
pub fn default_action(signal: libc::c_int) {
    // SAFETY: SIG_DFL installs no handler; signal(2) touches no memory of
    // ours.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
    }
}

/// Closes every descriptor from 3 up but those in `keep`: close_range(2)
/// (Linux 5.9) around each kept one, or where that call is missing or
/// filtered, close(2) of each descriptor /proc/self/fd lists. A forked
/// child that lives on must not hold its parent's pipes (a reader would
/// wait for their end) or locks (flock belongs to the open file, which the
/// child shares). Fails when some descriptor may be left open.
pub fn close_all_but(keep: &mut [i32]) -> nix::Result<()> {
    keep.sort_unstable();
    match close_ranges(keep) {
        Err(errno) if unavailable(errno) || errno == Errno::EINVAL => close_listed(keep),
        done => done,
    }
}

fn close_ranges(keep: &[i32]) -> nix::Result<()> {
    let mut from = 3u32;
    for &fd in keep.iter().chain(&[-1]) {
        let to = if fd < 0 { u32::MAX } else { fd as u32 - 1 };
        if fd >= 0 && (fd as u32) < from {
            continue;
        }
        if from <= to {
            // SAFETY: close_range takes two numbers and a flag and touches
            // no memory; the descriptors it closes are ours and unused
            // after (the caller is a fresh child).
            let rc = unsafe { libc::syscall(libc::SYS_close_range, from, to, 0u32) };
            if rc < 0 {
                return Err(Errno::last());
            }
        }
        from = to.saturating_add(2);
    }
    Ok(())
}

/// The fallback of [`close_all_but`]: the descriptors listed first, then
/// closed, since closing while reading would close the listing's own.
fn close_listed(keep: &[i32]) -> nix::Result<()> {
    let mut dir = nix::dir::Dir::open(
        c"/proc/self/fd",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    let own = dir.as_raw_fd();
    let mut open = Vec::new();
    for entry in dir.iter() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if let Some(fd) = std::str::from_utf8(name)
            .ok()
            .and_then(|n| n.parse::<i32>().ok())
        {
            if fd > 2 && fd != own && keep.binary_search(&fd).is_err() {
                open.push(fd);
            }
        }
    }
    drop(dir);
    for fd in open {
        // SAFETY: close(2) of a descriptor this process has open and no
        // longer uses (the caller is a fresh child); EBADF is harmless.
        unsafe { libc::close(fd) };
    }
    Ok(())
}

/// What [`become_user`] does, in order, as the words that complete
/// "cannot ...": its error names the step by its index here.
pub const USER_STEPS: [&str; 7] = [
    "reset the securebits (locked ones cannot be)",
    "clear the ambient capabilities",
    "set the groups",
    "set the gid",
    "set the uid",
    "clear the inheritable capabilities",
    "drop root's ids and capabilities: some are left",
];

/// Takes a user's groups, gid and uid, in that order (each needs the
/// privilege the next gives up), real, effective and saved alike, and
/// leaves no capability (but to uid 0, which keeps root's). First the
/// securebits are reset (SECBIT_NO_SETUID_FIXUP would keep every
/// capability across setresuid, SECBIT_KEEP_CAPS the permitted ones) and
/// the ambient capabilities cleared; the inheritable ones, which setresuid
/// leaves, go after it. Then it checks what the kernel left: the user's
/// uid and gid three times over, and no capability permitted, effective
/// or inheritable (ambient ones are a subset of the permitted and
/// inheritable, capabilities(7)), or fails with the last step and errno 0.
///
/// Raw system calls for the calling thread only, where glibc's wrappers
/// signal every thread to do the same (300 bytes of setxid machinery
/// apiece): for a single-threaded process about to exec. On 32-bit x86
/// and ARM the calls of those names take 16-bit ids (a gid of 65536 would
/// become 0): there the 32-bit calls are made.
pub fn become_user(uid: u32, gid: u32, groups: &[u32]) -> Result<(), (usize, Errno)> {
    let check = |step: usize, rc: libc::c_long| match rc {
        ..0 => Err((step, Errno::last())),
        _ => Ok(rc),
    };
    // SAFETY: prctl with these options takes numbers and touches no memory.
    if check(0, unsafe { libc::prctl(libc::PR_GET_SECUREBITS) }.into())? != 0 {
        // SAFETY: as above.
        check(0, unsafe { libc::prctl(libc::PR_SET_SECUREBITS, 0) }.into())?;
    }
    let clear = libc::PR_CAP_AMBIENT_CLEAR_ALL;
    // SAFETY: as above.
    check(
        1,
        unsafe { libc::prctl(libc::PR_CAP_AMBIENT, clear, 0, 0, 0) }.into(),
    )?;
    // SAFETY: setgroups reads `groups.len()` gid_t values from the slice's
    // pointer, which is valid for that many.
    check(2, unsafe {
        libc::syscall(SYS_SETGROUPS, groups.len(), groups.as_ptr())
    })?;
    // SAFETY: setresgid and setresuid take numbers and touch no memory.
    check(3, unsafe { libc::syscall(SYS_SETRESGID, gid, gid, gid) })?;
    // SAFETY: as above.
    check(4, unsafe { libc::syscall(SYS_SETRESUID, uid, uid, uid) })?;
    let mut caps = Capabilities::default();
    if uid != 0 {
        check(5, caps.call(libc::SYS_capset))?;
    }
    let mut ids = [u32::MAX; 6];
    let [ruid, euid, suid, rgid, egid, sgid] = ids.each_mut();
    // SAFETY: getresuid and getresgid write one id through each pointer,
    // each to a live u32.
    check(6, unsafe { libc::syscall(SYS_GETRESUID, ruid, euid, suid) })?;
    // SAFETY: as above.
    check(6, unsafe { libc::syscall(SYS_GETRESGID, rgid, egid, sgid) })?;
    check(
        6,
        if uid == 0 {
            0
        } else {
            caps.call(libc::SYS_capget)
        },
    )?;
    match ids == [uid, uid, uid, gid, gid, gid] && caps.data == <[CapabilityData; 2]>::default() {
        true => Ok(()),
        false => Err((6, Errno::UnknownErrno)),
    }
}

/// capget(2) and capset(2)'s arguments, version 3 (two 32-bit halves of
/// each set); all zero to begin with.
#[derive(Default)]
struct Capabilities {
    header: CapabilityHeader,
    data: [CapabilityData; 2],
}

#[repr(C)]
#[derive(Default)]
struct CapabilityHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Default, PartialEq)]
struct CapabilityData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

impl Capabilities {
    /// capget or capset (`call`) of the calling thread's sets: capset sets
    /// them to `data`, capget reads them into it.
    fn call(&mut self, call: libc::c_long) -> libc::c_long {
        // _LINUX_CAPABILITY_VERSION_3, linux/capability.h; pid 0 is the
        // calling thread.
        self.header = CapabilityHeader {
            version: 0x2008_0522,
            pid: 0,
        };
        // SAFETY: the header and the two data structs are laid out as the
        // kernel's (repr(C)) and live for the call; capget writes only
        // within them.
        unsafe { libc::syscall(call, &raw mut self.header, self.data.as_mut_ptr()) }
    }
}

#[cfg(not(any(target_arch = "x86", target_arch = "arm")))]
use libc::{
    SYS_getresgid as SYS_GETRESGID, SYS_getresuid as SYS_GETRESUID, SYS_setgroups as SYS_SETGROUPS,
    SYS_setresgid as SYS_SETRESGID, SYS_setresuid as SYS_SETRESUID,
};
#[cfg(any(target_arch = "x86", target_arch = "arm"))]
use libc::{
    SYS_getresgid32 as SYS_GETRESGID, SYS_getresuid32 as SYS_GETRESUID,
    SYS_setgroups32 as SYS_SETGROUPS, SYS_setresgid32 as SYS_SETRESGID,
    SYS_setresuid32 as SYS_SETRESUID,
};

/// An argv for execvp(3), its NULL-terminated array of pointers made
/// beforehand: between fork and exec nothing may allocate. With an
/// environment of its own (`with_env`), execvpe(3).
pub struct Argv {
    args: Vec<CString>,
    pointers: Vec<*const libc::c_char>,
    /// The variables added, and the environment's array of pointers:
    /// into them, and into this process's environment.
    env: Option<(Vec<CString>, Vec<*const libc::c_char>)>,
}

unsafe extern "C" {
    /// This process's environment (environ(7)): NULL-terminated.
    static environ: *const *const libc::c_char;
}

/// The NULL-terminated array of pointers to `strings`' heap buffers, which
/// stay put when `strings` moves.
fn pointers(strings: &[CString]) -> Vec<*const libc::c_char> {
    let mut pointers: Vec<_> = strings.iter().map(|s| s.as_ptr()).collect();
    pointers.push(std::ptr::null());
    pointers
}

impl Argv {
    pub fn new(args: Vec<CString>) -> Self {
        let pointers = pointers(&args);
        Argv {
            args,
            pointers,
            env: None,
        }
    }

    /// The command gets this process's environment without the variables
    /// named in `unset`, and with `set`'s (`NAME=value` strings). The
    /// environment is pointed into, not copied: it must not change until
    /// the exec (nothing here changes it).
    pub fn with_env(mut self, unset: &[&[u8]], set: Vec<CString>) -> Self {
        let mut vars = Vec::with_capacity(set.len());
        // SAFETY: `environ` is the process's NULL-terminated array of
        // NUL-terminated strings. Nothing in these tools changes the
        // environment (no setenv), so the array and the strings stay as
        // they are, here and up to the exec.
        unsafe {
            let mut at = environ;
            while !at.is_null() && !(*at).is_null() {
                let var = CStr::from_ptr(*at).to_bytes();
                if !unset
                    .iter()
                    .any(|name| var.strip_prefix(*name).is_some_and(|v| v.starts_with(b"=")))
                {
                    vars.push(*at);
                }
                at = at.add(1);
            }
        }
        vars.extend(set.iter().map(|s| s.as_ptr()));
        vars.push(std::ptr::null());
        self.env = Some((set, vars));
        self
    }

    /// execvp(3), with SIGPIPE back to its default first: Rust programs
    /// ignore it, an ignored signal stays ignored across exec, and a
    /// command that finds it ignored (`yes | head -1`) gets EPIPE errors
    /// where it should have quietly died. Returns only on failure. Makes
    /// system calls only (glibc's PATH search is on the stack), so a child
    /// of [`fork_exec`] may call it.
    pub fn execvp(&self) -> Errno {
        let Some(command) = self.args.first() else {
            return Errno::ENOENT;
        };
        // SAFETY: SIG_DFL installs no handler; signal(2) is
        // async-signal-safe. `pointers` (and the environment's) are
        // NULL-terminated and point into strings that outlive the call.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            match &self.env {
                None => libc::execvp(command.as_ptr(), self.pointers.as_ptr()),
                Some((_, env)) => {
                    libc::execvpe(command.as_ptr(), self.pointers.as_ptr(), env.as_ptr())
                }
            };
        }
        Errno::last()
    }
}

/// fork(2) for a child that is to exec: the child runs `child`, which
/// returns only when it could not get to exec, with a code for the caller.
/// The code comes back through a close-on-exec pipe, which an exec closes
/// with nothing in it; the child then exits 127. `Ok(pid)` once the child
/// has exec'ed, `Err(code)` once it has failed and been reaped. A panic in
/// the child aborts it.
///
/// This is std's `Command::spawn` with a `pre_exec` hook, less std's
/// environment and spawn machinery: 40 KB of the static multicall.
///
/// # Safety
/// `child` must only make system calls on data made before the fork (no
/// allocation, no lock): the parent may have threads, and one may have
/// held the allocator's lock.
pub unsafe fn fork_exec(child: impl FnOnce() -> u64) -> nix::Result<Result<Pid, u64>> {
    let (from_child, to_parent) = pipe2(OFlag::O_CLOEXEC)?;
    // SAFETY: the child runs only `child` (system calls, by the contract
    // above), then write(2) and _exit(2), all async-signal-safe.
    match unsafe { fork() }? {
        ForkResult::Child => {
            drop(from_child);
            let code = in_child(child);
            let _ = write(&to_parent, &code.to_ne_bytes());
            // SAFETY: _exit(2) ends the child at once, running nothing of
            // the parent's (no atexit handlers, no stdio flush).
            unsafe { libc::_exit(127) }
        }
        ForkResult::Parent { child } => {
            drop(to_parent);
            let got = read_code(&from_child);
            if got == Ok(None) {
                return Ok(Ok(child));
            }
            while waitpid(child, None) == Err(Errno::EINTR) {}
            got.map(|code| Err(code.unwrap_or_default()))
        }
    }
}

/// Has std's `Command` run `hook` in the child, between fork and exec
/// (`CommandExt::pre_exec`), after std's own steps there (stdio, working
/// directory, signal mask); an error from it fails the spawn with its
/// errno. For a caller that wants std's `Command` (output, status, pid)
/// where the tools make do with [`fork_exec`].
///
/// # Safety
/// `hook` must only make system calls on data made before the fork (no
/// allocation, no lock): the parent may have threads, and one may have
/// held the allocator's lock.
pub unsafe fn pre_exec(
    cmd: &mut std::process::Command,
    hook: impl FnMut() -> std::io::Result<()> + Send + Sync + 'static,
) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: the caller keeps pre_exec's condition (see above), which is
    // std's: only async-signal-safe work in the child.
    unsafe { cmd.pre_exec(hook) }
}

/// The code a forked child wrote to its pipe, or `None` when the pipe
/// ended with nothing in it (the child exec'd, or died). 8 bytes are less
/// than PIPE_BUF: they come in one write.
pub fn read_code(pipe: &OwnedFd) -> nix::Result<Option<u64>> {
    let mut code = [0u8; 8];
    loop {
        match read(pipe, &mut code) {
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
            Ok(8) => return Ok(Some(u64::from_ne_bytes(code))),
            Ok(_) => return Ok(None),
        }
    }
}

/// The mount points right below the mount at `path`, as the kernel lists
/// them: statx(2) for the mount's unique id, listmount(2) for the mounts
/// below it (at any depth), statmount(2) for each one's parent and mount
/// point. listmount still walks every mount made after `path`'s in the
/// kernel, but at about 14 ns a mount (0.14 ms with 10 000 names,
/// measured by hand), where /proc/self/mountinfo formats every mount as text
/// (about 2 µs a mount). Linux 6.8: see [`unavailable`] for what fails
/// before it, or under a filter that predates it. None when `path` is no
/// mount point (a container's /sys may be a plain directory): the mounts
/// below the one it is in are not below it. A mount gone between the
/// calls is left out.
pub fn child_mounts(path: &CStr) -> nix::Result<Vec<CString>> {
    let parent = mount_id(path)?.id;
    if parent_and_mount_point(parent)?.1.as_c_str() != path {
        return Ok(Vec::new());
    }
    let mut children: Vec<u64> = Vec::new();
    let mut ids = [0u64; 64];
    loop {
        // struct mnt_id_req, version 0: size, spare, mnt_id, param (the
        // last id seen, to go on from).
        let req = MntIdReq {
            size: MNT_ID_REQ_SIZE_VER0,
            spare: 0,
            mnt_id: parent,
            param: children.last().copied().unwrap_or(0),
        };
        // SAFETY: `req` is a valid mnt_id_req of the size it states, `ids`
        // has room for the count passed; the kernel writes only into `ids`.
        let n = unsafe { libc::syscall(SYS_LISTMOUNT, &req, ids.as_mut_ptr(), ids.len(), 0u32) };
        if n < 0 {
            return Err(Errno::last());
        }
        let n = n as usize;
        children.extend_from_slice(&ids[..n]);
        if n < ids.len() {
            break;
        }
    }
    let mut points = Vec::new();
    for id in children {
        match parent_and_mount_point(id) {
            Ok((of, point)) if of == parent => points.push(point),
            Ok(_) => {}
            // Unmounted since listmount: it is not there to carry over.
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(points)
}

/// What the kernel says of the mount a directory is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MountOf {
    /// The directory is the root of that mount: a mount point, the topmost
    /// one there.
    pub root: bool,
    /// The shared peer group the mount is in (MS_SHARED), if any.
    pub peer_group: Option<u64>,
    /// The shared peer group of the mount it is mounted on, if any.
    pub parent_peer_group: Option<u64>,
}

/// The mount `path` is in (the topmost, as a path walk reaches it), asked
/// of the kernel directly: statx(2) for the mount's unique id and whether
/// `path` is its root (STATX_ATTR_MOUNT_ROOT), statmount(2) for its
/// propagation, and for a shared one its parent's. Two or three calls,
/// whatever the size of the mount table, where /proc/self/mountinfo grows
/// with every mount (a named namespace is one). Linux 6.8: see
/// [`unavailable`] for what fails before it, or under a filter that
/// predates it.
pub fn mount_of(path: &CStr) -> nix::Result<MountOf> {
    let statx = mount_id(path)?;
    let root = statx.root.ok_or(Errno::ENOSYS)?;
    let group = |buf: &[u64]| {
        let shared = buf[STATMOUNT_MNT_PROPAGATION_AT / 8] & libc::MS_SHARED != 0;
        shared.then_some(buf[STATMOUNT_MNT_PEER_GROUP_AT / 8])
    };
    let buf = statmount(statx.id, STATMOUNT_MNT_BASIC)?;
    let peer_group = group(&buf);
    let parent_peer_group = match peer_group {
        None => None,
        Some(_) => match statmount(buf[STATMOUNT_MNT_PARENT_ID_AT / 8], STATMOUNT_MNT_BASIC) {
            Ok(parent) => group(&parent),
            // The root of the namespace has no parent to ask.
            Err(Errno::ENOENT) => None,
            Err(e) => return Err(e),
        },
    };
    Ok(MountOf {
        root,
        peer_group,
        parent_peer_group,
    })
}

const SYS_STATMOUNT: libc::c_long = 457;
const SYS_LISTMOUNT: libc::c_long = 458;
const MNT_ID_REQ_SIZE_VER0: u32 = 24;
const STATMOUNT_MNT_BASIC: u64 = 0x2;
const STATMOUNT_MNT_POINT: u64 = 0x10;
/// Offsets in struct statmount (linux/mount.h): the parent's unique id,
/// the propagation flags (MS_SHARED, ...), the peer group, the mount
/// point's offset into the strings, and where the strings start.
const STATMOUNT_MNT_PARENT_ID_AT: usize = 48;
const STATMOUNT_MNT_PROPAGATION_AT: usize = 72;
const STATMOUNT_MNT_PEER_GROUP_AT: usize = 80;
const STATMOUNT_MNT_POINT_AT: usize = 108;
const STATMOUNT_STR_AT: usize = 512;

#[repr(C)]
struct MntIdReq {
    size: u32,
    spare: u32,
    mnt_id: u64,
    param: u64,
}

/// A mount's unique id, and whether the file statx looked at is the
/// mount's root (`None` where the kernel does not say).
struct MountId {
    id: u64,
    root: Option<bool>,
}

/// statx(2) of `path` for its mount's unique id.
fn mount_id(path: &CStr) -> nix::Result<MountId> {
    let mut st = std::mem::MaybeUninit::<libc::statx>::zeroed();
    // SAFETY: `path` is NUL-terminated; `st` is a statx buffer the kernel
    // fills; it is zeroed, so reading it after a successful call is sound.
    let rc = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            path.as_ptr(),
            0,
            libc::STATX_MNT_ID_UNIQUE,
            st.as_mut_ptr(),
        )
    };
    if rc < 0 {
        return Err(Errno::last());
    }
    // SAFETY: zero-initialised, then written by a successful statx.
    let st = unsafe { st.assume_init() };
    if st.stx_mask & libc::STATX_MNT_ID_UNIQUE == 0 {
        // A kernel without unique mount ids has no listmount or statmount
        // either.
        return Err(Errno::ENOSYS);
    }
    let attr = libc::STATX_ATTR_MOUNT_ROOT as u64;
    Ok(MountId {
        id: st.stx_mnt_id,
        root: (st.stx_attributes_mask & attr != 0).then_some(st.stx_attributes & attr != 0),
    })
}

/// statmount(2) of mount `id` for the parts in `mask`: struct statmount
/// and its strings, as u64s (for the struct's alignment).
fn statmount(id: u64, mask: u64) -> nix::Result<Vec<u64>> {
    let req = MntIdReq {
        size: MNT_ID_REQ_SIZE_VER0,
        spare: 0,
        mnt_id: id,
        param: mask,
    };
    let mut buf = vec![0u64; 1024];
    loop {
        let bytes = buf.len() * 8;
        // SAFETY: `req` is a valid mnt_id_req; `buf` is writable for
        // `bytes` bytes and 8-aligned; the kernel writes only within it.
        let rc = unsafe { libc::syscall(SYS_STATMOUNT, &req, buf.as_mut_ptr(), bytes, 0u32) };
        match rc {
            0 => return Ok(buf),
            _ if Errno::last() == Errno::EOVERFLOW => buf.resize(buf.len() * 2, 0),
            _ => return Err(Errno::last()),
        }
    }
}

fn parent_and_mount_point(id: u64) -> nix::Result<(u64, CString)> {
    let buf = statmount(id, STATMOUNT_MNT_BASIC | STATMOUNT_MNT_POINT)?;
    let parent = buf[STATMOUNT_MNT_PARENT_ID_AT / 8];
    let raw: Vec<u8> = buf.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let at = STATMOUNT_MNT_POINT_AT;
    let offset = u32::from_ne_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]) as usize;
    let point = raw
        .get(STATMOUNT_STR_AT + offset..)
        .and_then(|s| CStr::from_bytes_until_nul(s).ok())
        .ok_or(Errno::EIO)?;
    Ok((parent, point.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The child's panic ends the child, with SIGABRT; it does not unwind
    /// into the parent's frames (here, the test harness, which would then
    /// go on running tests in the child).
    #[test]
    fn a_panic_in_a_forked_child_ends_it_there() {
        // SAFETY: the child allocates only to panic, which a test accepts:
        // the harness's other threads are idle in their waits.
        let started = unsafe { fork_exec(|| panic!("in the child")) }.unwrap();
        let pid = started.expect("the child wrote no code");
        match waitpid(pid, None).unwrap() {
            nix::sys::wait::WaitStatus::Signaled(_, signal, _) => {
                assert_eq!(signal, nix::sys::signal::Signal::SIGABRT)
            }
            other => panic!("the child ended so: {other:?}"),
        }
    }

    /// The two ways of finding /sys's submounts agree (needs Linux 6.8).
    #[test]
    fn child_mounts_match_mountinfo() {
        let mut listed = match child_mounts(c"/sys") {
            // Before Linux 6.8 there is only mountinfo to ask.
            Err(Errno::ENOSYS) => return,
            listed => listed.unwrap(),
        };
        let mut expected: Vec<CString> = crate::mountinfo::children("/sys".as_ref())
            .unwrap()
            .into_iter()
            .map(|p| CString::new(p.into_os_string().into_encoded_bytes()).unwrap())
            .collect();
        listed.sort();
        expected.sort();
        assert_eq!(listed, expected);
        assert!(!listed.is_empty(), "this machine has mounts below /sys");
    }
}
