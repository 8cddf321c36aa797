//! Namespace ids (nsids) over rtnetlink: what `ip netns list` shows as
//! `(id: N)`. An nsid is the number the *current* network namespace uses
//! for a peer namespace; it is assigned by `ip netns set` or by the kernel
//! itself (a veth whose peer lives elsewhere), and never changes after.
//!
//! The messages are small enough to write by hand: an nlmsghdr, an
//! rtgenmsg, and NETNSA_* attributes (linux/net_namespace.h).

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, recv, sendto, socket,
};
use nix::sys::stat::Mode;

use crate::error::{Error, Result};
use crate::run_dir::{Entry, RunDir};

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const RTM_NEWNSID: u16 = 88;
const RTM_GETNSID: u16 = 90;
/// rtgenmsg is one byte of family, padded to the 4-byte netlink alignment.
const RTGENMSG_LEN: usize = 4;
const NETNSA_NSID: u16 = 1;
const NETNSA_FD: u16 = 3;
const AF_UNSPEC: u8 = 0;

/// A NETLINK_ROUTE socket for nsid requests; open one and reuse it.
pub struct NsidSocket {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl NsidSocket {
    pub fn open() -> Result<Self> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )
        .map_err(|errno| Error::Sys {
            action: "open a netlink socket",
            errno,
        })?;
        Ok(NsidSocket {
            fd,
            seq: 0,
            // Dumps come in parts of at most a page or two; 32 KiB holds any.
            buf: vec![0; 32 * 1024],
        })
    }

    /// The nsid the current namespace has for the namespace `ns` (an open
    /// nsfs file), or `None` when none is assigned: RTM_GETNSID with
    /// NETNSA_FD, which never assigns one.
    pub fn nsid_of(&mut self, ns: BorrowedFd<'_>) -> Result<Option<u32>> {
        let fd = u32::try_from(ns.as_raw_fd()).map_err(|_| Error::Netlink("negative fd"))?;
        let seq = self.send(RTM_GETNSID, NLM_F_REQUEST, &[(NETNSA_FD, fd.to_ne_bytes())])?;
        let mut nsid = None;
        self.receive(seq, "get a namespace id", |id| nsid = id)?;
        Ok(nsid)
    }

    /// Every nsid the current namespace has assigned: one RTM_GETNSID dump.
    pub fn dump(&mut self) -> Result<Vec<u32>> {
        let seq = self.send(RTM_GETNSID, NLM_F_REQUEST | NLM_F_DUMP, &[])?;
        let mut ids = Vec::new();
        self.receive(seq, "list namespace ids", |id| ids.extend(id))?;
        Ok(ids)
    }

    fn send(&mut self, kind: u16, flags: u16, attrs: &[(u16, [u8; 4])]) -> Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let len = NLMSG_HDRLEN + RTGENMSG_LEN + attrs.len() * 8;
        let mut msg = Vec::with_capacity(len);
        msg.extend_from_slice(&(len as u32).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&flags.to_ne_bytes());
        msg.extend_from_slice(&self.seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(&[AF_UNSPEC, 0, 0, 0]);
        for (kind, value) in attrs {
            msg.extend_from_slice(&8u16.to_ne_bytes());
            msg.extend_from_slice(&kind.to_ne_bytes());
            msg.extend_from_slice(value);
        }
        sendto(
            self.fd.as_raw_fd(),
            &msg,
            &NetlinkAddr::new(0, 0),
            MsgFlags::empty(),
        )
        .map_err(|errno| Error::Sys {
            action: "send a netlink request",
            errno,
        })?;
        Ok(self.seq)
    }

    /// Reads replies to request `seq` until it is answered: one
    /// RTM_NEWNSID, or for a dump every part up to NLMSG_DONE. `each` gets
    /// the NETNSA_NSID of every RTM_NEWNSID (`None` for "not assigned").
    fn receive(
        &mut self,
        seq: u32,
        action: &'static str,
        mut each: impl FnMut(Option<u32>),
    ) -> Result<()> {
        loop {
            let n =
                recv(self.fd.as_raw_fd(), &mut self.buf, MsgFlags::MSG_TRUNC).map_err(|errno| {
                    Error::Sys {
                        action: "read a netlink reply",
                        errno,
                    }
                })?;
            if n > self.buf.len() {
                return Err(Error::Netlink("a message larger than the buffer"));
            }
            let mut rest = &self.buf[..n];
            let mut done = false;
            while rest.len() >= NLMSG_HDRLEN {
                let len = u32_at(rest, 0) as usize;
                if len < NLMSG_HDRLEN || len > rest.len() {
                    return Err(Error::Netlink("a message with a bad length"));
                }
                let (msg, next) = rest.split_at(len);
                rest = next.get(align(len) - len..).unwrap_or_default();
                if u32_at(msg, 8) != seq {
                    continue;
                }
                let payload = &msg[NLMSG_HDRLEN..];
                match u16_at(msg, 4) {
                    NLMSG_ERROR | NLMSG_DONE => {
                        let code = payload.get(..4).map_or(0, |b| i32_at(b, 0));
                        if code < 0 {
                            let errno = Errno::from_raw(-code);
                            return Err(Error::Sys { action, errno });
                        }
                        done = true;
                    }
                    RTM_NEWNSID => {
                        each(nsid_attr(payload.get(RTGENMSG_LEN..).unwrap_or_default()));
                        // Only the parts of a dump carry NLM_F_MULTI.
                        done |= u16_at(msg, 6) & 0x2 == 0;
                    }
                    _ => {}
                }
            }
            if done {
                return Ok(());
            }
        }
    }
}

/// The nsid of each entry's namespace, in the entries' order: `None` for an
/// entry with no id, or that is no namespace.
///
/// `ip netns list` asks the kernel twice per name. This asks once for the
/// whole table (a dump), and per name only while some id in the table is
/// still unmatched: with no ids assigned, which is the common case, that is
/// no per-name request at all. Names of one namespace share its inode, so
/// each namespace is asked about once.
pub fn nsids(run_dir: &RunDir, entries: &[Entry]) -> Result<Vec<Option<u32>>> {
    let mut socket = NsidSocket::open()?;
    let mut unmatched = socket.dump()?.len();
    let mut known: HashMap<u64, Option<u32>> = HashMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let nsid = match entry.inode {
            None => None,
            Some(inode) => match known.get(&inode) {
                Some(nsid) => *nsid,
                None if unmatched == 0 => None,
                None => {
                    let nsid = nsid_of_file(&mut socket, &run_dir.file(&entry.name))?;
                    unmatched -= usize::from(nsid.is_some());
                    known.insert(inode, nsid);
                    nsid
                }
            },
        };
        out.push(nsid);
    }
    Ok(out)
}

fn nsid_of_file(socket: &mut NsidSocket, path: &std::path::Path) -> Result<Option<u32>> {
    // RTM_GETNSID needs a real open file: an O_PATH fd is refused.
    let file = match open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()) {
        Ok(file) => file,
        // Deleted while listing: it has no id to show.
        Err(Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(Error::path("open", path, e)),
    };
    socket.nsid_of(file.as_fd())
}

fn nsid_attr(mut attrs: &[u8]) -> Option<u32> {
    while attrs.len() >= 4 {
        let len = usize::from(u16_at(attrs, 0));
        if len < 4 || len > attrs.len() {
            return None;
        }
        if u16_at(attrs, 2) == NETNSA_NSID && len >= 8 {
            // The kernel says -1 for "not assigned".
            return u32::try_from(i32_at(attrs, 4)).ok();
        }
        attrs = attrs.get(align(len)..).unwrap_or_default();
    }
    None
}

fn align(len: usize) -> usize {
    (len + 3) & !3
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn i32_at(b: &[u8], at: usize) -> i32 {
    u32_at(b, at) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nsid_attribute_and_unassigned() {
        let mut attrs = Vec::new();
        attrs.extend_from_slice(&8u16.to_ne_bytes());
        attrs.extend_from_slice(&NETNSA_NSID.to_ne_bytes());
        attrs.extend_from_slice(&7i32.to_ne_bytes());
        assert_eq!(nsid_attr(&attrs), Some(7));
        attrs[4..8].copy_from_slice(&(-1i32).to_ne_bytes());
        assert_eq!(nsid_attr(&attrs), None);
        assert_eq!(nsid_attr(&attrs[..5]), None);
    }
}
