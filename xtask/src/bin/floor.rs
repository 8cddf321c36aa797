//! The kernel floors for `cargo xtask bench`: the system calls a verb
//! cannot do without, with nothing around them, in one process. No error
//! handling beyond stopping: it is a yardstick, not a tool.
//!
//! - `floor add N DIR PREFIX` makes N named namespaces in the prepared run
//!   dir DIR (the file, unshare, the bind mount, setns back: what
//!   `ip netns add` and `netns-add` do).
//! - `floor del N DIR PREFIX` removes them as `ip netns delete` does: a
//!   lazy unmount and an unlink each.
//! - `floor identify DIR` reads DIR and stats every entry, shared out to a
//!   thread a core: the least a search of the run dir for a namespace's
//!   names can ask.
//! - `floor exec PROG` makes a mount namespace whose mounts are all slaves,
//!   then execs PROG: the mount work of `ip netns exec` (setns and the
//!   /sys remount are a few µs).

use std::ffi::CString;
use std::os::fd::AsFd;
use std::process::ExitCode;

use nix::dir::Dir;
use nix::fcntl::{AtFlags, OFlag, open};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::stat::{Mode, fstatat};
use nix::unistd::{execv, unlink};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["add", n, dir, prefix] => add(n.parse().unwrap_or(0), dir, prefix),
        ["del", n, dir, prefix] => del(n.parse().unwrap_or(0), dir, prefix),
        ["identify", dir] => identify(dir),
        ["exec", prog] => exec(prog),
        _ => {
            eprintln!("usage: floor add|del N DIR PREFIX | floor identify DIR | floor exec PROG");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floor: {e}");
            ExitCode::FAILURE
        }
    }
}

fn add(n: usize, dir: &str, prefix: &str) -> nix::Result<()> {
    let home = open(
        "/proc/thread-self/ns/net",
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    for i in 0..n {
        let path = format!("{dir}/{prefix}{i}");
        let flags = OFlag::O_RDONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC;
        drop(open(path.as_str(), flags, Mode::empty())?);
        unshare(CloneFlags::CLONE_NEWNET)?;
        let source = Some("/proc/thread-self/ns/net");
        mount(
            source,
            path.as_str(),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )?;
        setns(&home, CloneFlags::CLONE_NEWNET)?;
    }
    Ok(())
}

fn del(n: usize, dir: &str, prefix: &str) -> nix::Result<()> {
    for i in 0..n {
        let path = format!("{dir}/{prefix}{i}");
        umount2(path.as_str(), MntFlags::MNT_DETACH)?;
        unlink(path.as_str())?;
    }
    Ok(())
}

fn identify(dir: &str) -> nix::Result<()> {
    let mut dir = Dir::open(
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut names = Vec::new();
    for entry in dir.iter() {
        let name = entry?.file_name().to_owned();
        if name.to_bytes() != b"." && name.to_bytes() != b".." {
            names.push(name);
        }
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let fd = dir.as_fd();
    std::thread::scope(|s| {
        for part in names.chunks(names.len().div_ceil(threads).max(1)) {
            s.spawn(move || {
                for name in part {
                    let _ = fstatat(fd, name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW);
                }
            });
        }
    });
    Ok(())
}

fn exec(prog: &str) -> nix::Result<()> {
    unshare(CloneFlags::CLONE_NEWNS)?;
    let slave = MsFlags::MS_SLAVE | MsFlags::MS_REC;
    mount(None::<&str>, "/", None::<&str>, slave, None::<&str>)?;
    let prog = CString::new(prog).map_err(|_| nix::Error::EINVAL)?;
    execv(&prog, &[&prog])?;
    Ok(())
}
