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
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, recv, sendto, socket,
};

use crate::error::{Error, Result};
use crate::netns::Netns;
use crate::run_dir::{Entry, RunDir};
use crate::sys;

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_MULTI: u16 = 0x2;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
/// On an NLMSG_ERROR: the request is not echoed back in full...
const NLM_F_CAPPED: u16 = 0x100;
/// ...and extended-ack attributes follow it.
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSGERR_ATTR_MSG: u16 = 1;
const RTM_NEWNSID: u16 = 88;
const RTM_GETNSID: u16 = 90;
/// rtgenmsg is one byte of family, padded to the 4-byte netlink alignment.
const RTGENMSG_LEN: usize = 4;
const NETNSA_NSID: u16 = 1;
const NETNSA_PID: u16 = 2;
const NETNSA_FD: u16 = 3;
const AF_UNSPEC: u8 = 0;
/// NETNSA_NSID's "none": in a reply, not assigned; in RTM_NEWNSID, let
/// the kernel pick.
const NSID_NONE: i32 = -1;

/// A NETLINK_ROUTE socket for nsid requests; open one and reuse it.
pub struct NsidSocket {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
    /// Whether a reply has been read, which sizes later dump parts.
    primed: bool,
}

/// The size of every read, and so of every dump part after the first
/// read: 1158 RTM_NEWNSID messages of 28 bytes, with no byte left over.
///
/// An nsid dump never goes past its first part (Linux 6.18: the kernel's
/// dump function reports "done" even when the part is full). A part is as
/// large as the largest read made on the socket so far, up to 32 KiB less
/// the kernel's overhead (32448 bytes on x86-64), or a page before any: `ip netns list-id` shows at
/// most 134 ids here. Reading once before a dump makes its part this
/// large; and a part that 28-byte messages fill to the last byte leaves no
/// room for NLMSG_DONE, so a cut dump shows as a full read followed by a
/// DONE alone.
const DUMP_PART: usize = 28 * 1158;

/// The most ids a dump is sure to hold in full: fewer than a page-sized
/// part holds, should the kernel fall back to one.
const SURELY_WHOLE: usize = 100;

/// What an nsid dump returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsidDump {
    /// The nsids, ascending.
    pub ids: Vec<u32>,
    /// The dump filled a part and the kernel ended it there: there may be
    /// more ids than `ids`.
    pub cut_short: bool,
}

/// A request the kernel answered with an error: the errno, and its reason
/// in words when it gave one.
struct Refusal {
    errno: Errno,
    message: Option<String>,
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
        // Without it refusals are bare errnos; not worth failing over.
        let _ = sys::netlink_ext_ack(fd.as_fd());
        Ok(NsidSocket {
            fd,
            seq: 0,
            buf: vec![0; DUMP_PART],
            primed: false,
        })
    }

    /// A socket whose reads and dump parts are `part` bytes: a dump of
    /// more ids than fit is cut short, as happens past DUMP_PART.
    #[cfg(test)]
    fn with_part(part: usize) -> Self {
        let mut socket = NsidSocket::open().unwrap();
        socket.buf.truncate(part);
        socket
    }

    /// The nsid the current namespace has for the namespace `ns` (an open
    /// nsfs file), or `None` when none is assigned: RTM_GETNSID with
    /// NETNSA_FD, which never assigns one.
    pub fn nsid_of(&mut self, ns: BorrowedFd<'_>) -> Result<Option<u32>> {
        let seq = self.send(RTM_GETNSID, NLM_F_REQUEST, &[(NETNSA_FD, fd_attr(ns)?)])?;
        let mut nsid = None;
        self.receive(seq, |id| nsid = id)?
            .map_err(|r| refused("get a namespace id", r))?;
        Ok(nsid)
    }

    /// Every nsid the current namespace has assigned, ascending: one
    /// RTM_GETNSID dump, of up to 1158 ids (see [`NsidDump::cut_short`]).
    pub fn dump(&mut self) -> Result<NsidDump> {
        if !self.primed {
            self.prime()?;
        }
        let seq = self.send(RTM_GETNSID, NLM_F_REQUEST | NLM_F_DUMP, &[])?;
        let mut ids = Vec::new();
        let cut_short = self
            .receive(seq, |id| ids.extend(id))?
            .map_err(|r| refused("list namespace ids", r))?;
        ids.sort_unstable();
        Ok(NsidDump { ids, cut_short })
    }

    /// Makes one request and reads its reply, so that a dump's first part
    /// (made when the dump is asked for) is DUMP_PART long, not a page:
    /// the cheapest request there is, the nsid of the caller's own
    /// namespace, by PID.
    fn prime(&mut self) -> Result<()> {
        let pid = std::process::id().to_ne_bytes();
        let seq = self.send(RTM_GETNSID, NLM_F_REQUEST, &[(NETNSA_PID, pid)])?;
        self.receive(seq, |_| {})?
            .map_err(|r| refused("get a namespace id", r))?;
        Ok(())
    }

    /// Gives the namespace `ns` the nsid `nsid` in the current namespace,
    /// or one the kernel picks (the lowest free) for `None`, and returns
    /// it: RTM_NEWNSID with NETNSA_FD and NETNSA_NSID, as `ip netns set`.
    /// The kernel refuses when the namespace has an nsid already (they
    /// never change) or when another namespace has `nsid`.
    pub fn assign(&mut self, netns: &Netns, nsid: Option<u32>) -> Result<u32> {
        let (ns, path) = (netns.as_fd(), netns.path());
        let wanted = match nsid {
            None => NSID_NONE,
            Some(id) => i32::try_from(id).map_err(|_| Error::NsidRefused {
                path: path.into(),
                nsid,
                errno: Errno::ERANGE,
                message: None,
                current: None,
            })?,
        };
        let attrs = [
            (NETNSA_FD, fd_attr(ns)?),
            (NETNSA_NSID, wanted.to_ne_bytes()),
        ];
        let seq = self.send(RTM_NEWNSID, NLM_F_REQUEST | NLM_F_ACK, &attrs)?;
        if let Err(refusal) = self.receive(seq, |_| {})? {
            return Err(Error::NsidRefused {
                path: path.into(),
                nsid,
                errno: refusal.errno,
                message: refusal.message,
                current: self.nsid_of(ns).ok().flatten(),
            });
        }
        match nsid {
            Some(nsid) => Ok(nsid),
            // The ack does not say which id the kernel picked.
            None => self
                .nsid_of(ns)?
                .ok_or(Error::Netlink("no nsid after the kernel assigned one")),
        }
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

    /// Reads replies to request `seq` until it is answered: an ack, one
    /// RTM_NEWNSID, or for a dump every part up to NLMSG_DONE. `each` gets
    /// the NETNSA_NSID of every RTM_NEWNSID (`None` for "not assigned").
    /// The outer error is the socket's, the inner the kernel's refusal;
    /// `true` when the reply ended right after a full read (a dump that
    /// may have been cut short).
    fn receive(
        &mut self,
        seq: u32,
        mut each: impl FnMut(Option<u32>),
    ) -> Result<Result<bool, Refusal>> {
        let mut full = false;
        loop {
            let mut got = false;
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
            self.primed = true;
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
                let flags = u16_at(msg, 6);
                let payload = &msg[NLMSG_HDRLEN..];
                match u16_at(msg, 4) {
                    NLMSG_ERROR | NLMSG_DONE => {
                        let code = payload.get(..4).map_or(0, |b| i32_at(b, 0));
                        if code < 0 {
                            return Ok(Err(Refusal {
                                errno: Errno::from_raw(-code),
                                message: ack_message(payload, flags),
                            }));
                        }
                        done = true;
                    }
                    RTM_NEWNSID => {
                        let attrs = payload.get(RTGENMSG_LEN..).unwrap_or_default();
                        each(attr(attrs, NETNSA_NSID).and_then(nsid_value));
                        got = true;
                        // Only the parts of a dump carry NLM_F_MULTI.
                        done |= flags & NLM_F_MULTI == 0;
                    }
                    _ => {}
                }
            }
            if done {
                return Ok(Ok(full && !got));
            }
            full = n == self.buf.len();
        }
    }
}

fn refused(action: &'static str, refusal: Refusal) -> Error {
    Error::Sys {
        action,
        errno: refusal.errno,
    }
}

fn fd_attr(ns: BorrowedFd<'_>) -> Result<[u8; 4]> {
    u32::try_from(ns.as_raw_fd())
        .map(u32::to_ne_bytes)
        .map_err(|_| Error::Netlink("negative fd"))
}

/// The kernel's reason in an NLMSG_ERROR's payload (the errno, then the
/// request's header, and its body unless capped, then the attributes).
fn ack_message(payload: &[u8], flags: u16) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 || payload.len() < 4 + NLMSG_HDRLEN {
        return None;
    }
    let echoed = match flags & NLM_F_CAPPED {
        0 => align(u32_at(payload, 4) as usize),
        _ => NLMSG_HDRLEN,
    };
    let text = attr(payload.get(4 + echoed..)?, NLMSGERR_ATTR_MSG)?;
    let text = text.split(|&b| b == 0).next().unwrap_or_default();
    Some(String::from_utf8_lossy(text).into_owned())
}

/// The kernel's nsid table (one dump), and the nsid of each entry's
/// namespace in the entries' order: `None` for an entry with no id, or that
/// is no namespace.
///
/// `ip netns list` asks the kernel twice per name. This asks per name only
/// while some id in the dump is still unmatched: with no ids assigned,
/// which is the common case, that is no per-name request at all. Names of
/// one namespace share its inode, so each namespace is asked about once.
/// A dump that may be incomplete is no guide: then every namespace is
/// asked about.
pub fn nsids(run_dir: &RunDir, entries: &[Entry]) -> Result<(NsidDump, Vec<Option<u32>>)> {
    let mut socket = NsidSocket::open()?;
    let dump = socket.dump()?;
    let mut unmatched = match dump.cut_short || dump.ids.len() > SURELY_WHOLE {
        true => usize::MAX,
        false => dump.ids.len(),
    };
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
    Ok((dump, out))
}

fn nsid_of_file(socket: &mut NsidSocket, path: &std::path::Path) -> Result<Option<u32>> {
    match Netns::open_path(path) {
        Ok(ns) => socket.nsid_of(ns.as_fd()),
        // Deleted while listing, or unmounted on the way (a delete under
        // way): it has no id to show.
        Err(Error::Path {
            errno: Errno::ENOENT,
            ..
        })
        | Err(Error::NotANetns { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The value of the first attribute of type `kind` in a run of netlink
/// attributes.
fn attr(mut attrs: &[u8], kind: u16) -> Option<&[u8]> {
    while attrs.len() >= 4 {
        let len = usize::from(u16_at(attrs, 0));
        if len < 4 || len > attrs.len() {
            return None;
        }
        if u16_at(attrs, 2) == kind {
            return Some(&attrs[4..len]);
        }
        attrs = attrs.get(align(len)..).unwrap_or_default();
    }
    None
}

/// An NETNSA_NSID value: an s32 where -1 means "not assigned".
fn nsid_value(value: &[u8]) -> Option<u32> {
    let value = value.get(..4)?;
    u32::try_from(i32_at(value, 0)).ok()
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
    use nix::sched::{CloneFlags, setns, unshare};
    use std::path::Path;

    #[test]
    fn reads_nsid_attribute_and_unassigned() {
        let mut attrs = Vec::new();
        attrs.extend_from_slice(&8u16.to_ne_bytes());
        attrs.extend_from_slice(&NETNSA_NSID.to_ne_bytes());
        attrs.extend_from_slice(&7i32.to_ne_bytes());
        assert_eq!(attr(&attrs, NETNSA_NSID).and_then(nsid_value), Some(7));
        attrs[4..8].copy_from_slice(&(-1i32).to_ne_bytes());
        assert_eq!(attr(&attrs, NETNSA_NSID).and_then(nsid_value), None);
        assert_eq!(attr(&attrs[..5], NETNSA_NSID), None);
        assert_eq!(attr(&attrs, NETNSA_FD), None);
    }

    /// A new network namespace, and back: the thread's namespace stays
    /// what it was.
    fn new_peer(home: &Netns) -> Netns {
        unshare(CloneFlags::CLONE_NEWNET).unwrap();
        let peer = Netns::open_path(Path::new(THREAD_NET)).unwrap();
        setns(home, CloneFlags::CLONE_NEWNET).unwrap();
        peer
    }

    const THREAD_NET: &str = "/proc/thread-self/ns/net";

    /// Against the real kernel (root), on a thread moved into a new network
    /// namespace so that the nsid table is the test's alone: assignment,
    /// a dump of several parts, and both refusals with their reasons.
    #[test]
    fn assigns_dumps_and_reads_refusals() {
        std::thread::spawn(|| {
            unshare(CloneFlags::CLONE_NEWNET).unwrap();
            let home = Netns::open_path(Path::new(THREAD_NET)).unwrap();
            let peers: Vec<Netns> = (0..300).map(|_| new_peer(&home)).collect();
            let mut socket = NsidSocket::open().unwrap();
            let empty = NsidDump {
                ids: Vec::new(),
                cut_short: false,
            };
            assert_eq!(socket.dump().unwrap(), empty);
            assert_eq!(socket.nsid_of(peers[0].as_fd()).unwrap(), None);
            assert_eq!(socket.assign(&peers[0], Some(500)).unwrap(), 500);
            for (i, peer) in peers[1..].iter().enumerate() {
                assert_eq!(socket.assign(peer, None).unwrap(), i as u32);
            }
            let mut all: Vec<u32> = (0..299).collect();
            all.push(500);
            // A new socket: without the first read, the part would be a
            // page (134 ids).
            let whole = NsidSocket::open().unwrap().dump().unwrap();
            assert_eq!((whole.ids, whole.cut_short), (all.clone(), false));
            // More ids than a part holds: the kernel sends one full part,
            // then NLMSG_DONE alone in a second read.
            let cut = NsidSocket::with_part(28 * 200).dump().unwrap();
            assert_eq!((cut.ids, cut.cut_short), (all[..200].to_vec(), true));

            let err = socket.assign(&peers[0], Some(7)).unwrap_err();
            let Error::NsidRefused { errno, current, .. } = &err else {
                panic!("{err:?}")
            };
            assert_eq!((*errno, *current), (Errno::EEXIST, Some(500)));
            assert_eq!(
                err.to_string(),
                "cannot give \"/proc/thread-self/ns/net\" nsid 7: \
                 Peer netns already has a nsid assigned (it has nsid 500)"
            );
            let other = new_peer(&home);
            let err = socket.assign(&other, Some(500)).unwrap_err();
            assert_eq!(
                err.to_string(),
                "cannot give \"/proc/thread-self/ns/net\" nsid 500: \
                 The specified nsid is already used"
            );
            assert_eq!(socket.nsid_of(other.as_fd()).unwrap(), None);
        })
        .join()
        .unwrap();
    }
}
