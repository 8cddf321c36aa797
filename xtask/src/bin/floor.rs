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
//! - `floor link N DIR PREFIX` wires the N fresh namespaces PREFIX0 ..
//!   into a chain: per link one RTM_NEWLINK making the veth pair with both
//!   ends placed by IFLA_NET_NS_FD, sent from the first end's namespace,
//!   then an RTM_NEWADDR of a /31 in each end's, each acked before the
//!   next; the ifindexes are those a fresh namespace gives (lo 1, then 2,
//!   3), asked of no one. Its sockets are made by setns there and back, each
//!   namespace's when the chain reaches it (two open at a time). With `up`
//!   it also brings up what netns-link does: the first end as it is made
//!   (IFF_UP), the peer by an RTM_NEWLINK after, and each namespace's lo.

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
        ["link", n, dir, prefix] => link(n.parse().unwrap_or(0), dir, prefix, false),
        ["link", n, dir, prefix, "up"] => link(n.parse().unwrap_or(0), dir, prefix, true),
        _ => {
            eprintln!(
                "usage: floor add|del|link N DIR PREFIX | floor link N DIR PREFIX up | floor identify DIR | floor exec PROG"
            );
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

fn link(n: usize, dir: &str, prefix: &str, up: bool) -> nix::Result<()> {
    use nix::sys::socket::{
        AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, recv, sendto,
        socket,
    };
    use std::os::fd::{AsRawFd, OwnedFd};
    let home = open(
        "/proc/thread-self/ns/net",
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    // Namespace i and its socket, opened when the chain reaches it: two
    // at a time, so that any length fits the open-file limit.
    let space = |i: usize| -> nix::Result<(OwnedFd, OwnedFd)> {
        let path = format!("{dir}/{prefix}{i}");
        let ns = open(
            path.as_str(),
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        setns(&ns, CloneFlags::CLONE_NEWNET)?;
        let sock: OwnedFd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )?;
        setns(&home, CloneFlags::CLONE_NEWNET)?;
        Ok((ns, sock))
    };
    let attr = |m: &mut Vec<u8>, kind: u16, value: &[u8]| {
        m.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(value);
        m.resize((m.len() + 3) & !3, 0);
    };
    let close = |m: &mut Vec<u8>, at: usize| {
        let len = (m.len() - at) as u16;
        m[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    };
    let mut buf = vec![0u8; 8192];
    let mut seq = 0u32;
    // NLM_F_REQUEST | NLM_F_ACK, and for what is made NLM_F_EXCL | NLM_F_CREATE.
    const MAKE: u16 = 0x1 | 0x4 | 0x200 | 0x400;
    const SET: u16 = 0x1 | 0x4;
    let mut ask = |sock: &OwnedFd, kind: u16, flags: u16, body: &[u8]| -> nix::Result<()> {
        seq += 1;
        let mut m = Vec::with_capacity(16 + body.len());
        m.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(body);
        sendto(
            sock.as_raw_fd(),
            &m,
            &NetlinkAddr::new(0, 0),
            MsgFlags::empty(),
        )?;
        recv(sock.as_raw_fd(), &mut buf, MsgFlags::empty())?;
        let code = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
        match code {
            0 => Ok(()),
            _ => Err(nix::Error::from_raw(-code)),
        }
    };
    if n < 2 {
        return Ok(());
    }
    // struct ifinfomsg of device `index`, IFF_UP set (and changed) if `up`.
    let ifinfomsg = |index: u32, up: bool| {
        let mut m = vec![0u8; 16];
        m[4..8].copy_from_slice(&index.to_ne_bytes());
        if up {
            m[8..12].copy_from_slice(&1u32.to_ne_bytes());
            m[12..16].copy_from_slice(&1u32.to_ne_bytes());
        }
        m
    };
    let mut a = space(0)?;
    if up {
        ask(&a.1, 16, SET, &ifinfomsg(1, true))?;
    }
    for i in 0..n - 1 {
        let b = space(i + 1)?;
        let ((ns_a, sock_a), (ns_b, sock_b)) = (&a, &b);
        if up {
            ask(sock_b, 16, SET, &ifinfomsg(1, true))?;
        }
        let mut m = ifinfomsg(0, up);
        attr(&mut m, 3, b"r\0");
        attr(&mut m, 28, &ns_a.as_raw_fd().to_ne_bytes());
        let info = m.len();
        attr(&mut m, 18, &[]);
        attr(&mut m, 1, b"veth");
        let data = m.len();
        attr(&mut m, 2, &[]);
        let peer = m.len();
        attr(&mut m, 1, &[0; 16]);
        attr(&mut m, 3, b"l\0");
        attr(&mut m, 28, &ns_b.as_raw_fd().to_ne_bytes());
        for at in [peer, data, info] {
            close(&mut m, at);
        }
        ask(sock_a, 16, MAKE, &m)?;
        if up {
            // The peer (b's first device) after: a veth cannot open
            // before its peer is made.
            ask(sock_b, 16, SET, &ifinfomsg(2, true))?;
        }
        // The right end is a's second device but in the first namespace.
        for (sock, index, end) in [(sock_a, if i == 0 { 2u32 } else { 3 }, 0u8), (sock_b, 2, 1)] {
            let ip = [10, (i / 256) as u8, (i % 256) as u8, end];
            let mut m = vec![libc_af_inet(), 31, 0, 0];
            m.extend_from_slice(&index.to_ne_bytes());
            attr(&mut m, 2, &ip);
            attr(&mut m, 1, &ip);
            ask(sock, 20, MAKE, &m)?;
        }
        a = b;
    }
    Ok(())
}

/// AF_INET.
fn libc_af_inet() -> u8 {
    nix::sys::socket::AddressFamily::Inet as i32 as u8
}
