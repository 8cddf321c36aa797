//! Namespace ids (nsids) over rtnetlink: what `ip netns list` shows as
//! `(id: N)`. An nsid is the number the *current* network namespace uses
//! for a peer namespace; it is assigned by `ip netns set` or by the kernel
//! itself (a veth whose peer lives elsewhere), and never changes after.
//!
//! The messages are an rtgenmsg and NETNSA_* attributes
//! (linux/net_namespace.h), over the transport in `netlink`.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::netlink::{self, Message, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, Refusal};
use crate::netns::Netns;
use crate::run_dir::{Entry, RunDir};

pub(crate) const RTM_NEWNSID: u16 = 88;
pub(crate) const RTM_DELNSID: u16 = 89;
const RTM_GETNSID: u16 = 90;
/// rtgenmsg: one byte of family (AF_UNSPEC), padded to 4.
const RTGENMSG: [u8; 4] = [0; 4];
const NETNSA_NSID: u16 = 1;
const NETNSA_PID: u16 = 2;
const NETNSA_FD: u16 = 3;
/// NETNSA_NSID's "none": in a reply, not assigned; in RTM_NEWNSID, let
/// the kernel pick.
const NSID_NONE: i32 = -1;
/// The multicast group of nsid events (RTNLGRP_NSID).
pub(crate) const RTNLGRP_NSID: u32 = 28;

/// A NETLINK_ROUTE socket for nsid requests; open one and reuse it.
pub struct NsidSocket {
    socket: netlink::Socket,
}

/// The size of every read, and so of every dump part: 1024 RTM_NEWNSID
/// messages of 28 bytes, with no byte left over.
///
/// A dump part is as large as the largest read made on the socket so far
/// (a page before any), but at most 32 KiB less the kernel's skb overhead,
/// which depends on the architecture and configuration (32448 bytes on
/// x86-64; less with more fragments per skb or bigger cache lines). 28 KiB
/// is below that bound everywhere, so every part is exactly this long.
/// Linux 6.18 ends an nsid dump after its first full part (the dump
/// function reports "done"; `ip netns list-id` shows at most 134 ids
/// here); older kernels go on with the next. A part that 28-byte messages
/// fill to the last byte leaves no room for NLMSG_DONE, so a cut dump
/// shows as a full read followed by a DONE alone. Reading once before a
/// dump makes its first part this large too.
const DUMP_PART: usize = 28 * 1024;

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

impl NsidSocket {
    /// Opens a NETLINK_ROUTE socket in the caller's network namespace,
    /// whose nsids it asks about and assigns.
    pub fn open() -> Result<Self> {
        Ok(NsidSocket {
            socket: netlink::Socket::open(DUMP_PART)?,
        })
    }

    /// A socket whose reads and dump parts are `part` bytes: a dump of
    /// more ids than fit is cut short, as happens past DUMP_PART.
    #[cfg(test)]
    fn with_part(part: usize) -> Self {
        let mut socket = NsidSocket::open().unwrap();
        socket.socket.shrink_reads(part);
        socket
    }

    /// The nsid the current namespace has for the namespace `ns` (an open
    /// nsfs file), or `None` when none is assigned: RTM_GETNSID with
    /// NETNSA_FD, which never assigns one.
    pub fn nsid_of(&mut self, ns: BorrowedFd<'_>) -> Result<Option<u32>> {
        let fd = fd_attr(ns)?;
        let seq = self.request(RTM_GETNSID, NLM_F_REQUEST, &[(NETNSA_FD, &fd)])?;
        let mut nsid = None;
        self.replies(seq, |id| nsid = id)?
            .map_err(|r| refused("get a namespace id", r))?;
        Ok(nsid)
    }

    /// Every nsid the current namespace has assigned, ascending: one
    /// RTM_GETNSID dump, whole where the kernel goes past a dump's first
    /// part, else of up to 1024 ids (see [`NsidDump::cut_short`]).
    pub fn dump(&mut self) -> Result<NsidDump> {
        if !self.socket.read_any() {
            self.prime()?;
        }
        let seq = self.request(RTM_GETNSID, NLM_F_REQUEST | NLM_F_DUMP, &[])?;
        let mut ids = Vec::new();
        let ended = self
            .replies(seq, |id| ids.extend(id))?
            .map_err(|r| refused("list namespace ids", r))?;
        ids.sort_unstable();
        Ok(NsidDump {
            ids,
            cut_short: ended.after_full_read,
        })
    }

    /// Makes one request and reads its reply, so that a dump's first part
    /// (made when the dump is asked for) is DUMP_PART long, not a page:
    /// the cheapest request there is, the nsid of the caller's own
    /// namespace, by PID.
    fn prime(&mut self) -> Result<()> {
        let pid = std::process::id().to_ne_bytes();
        let seq = self.request(RTM_GETNSID, NLM_F_REQUEST, &[(NETNSA_PID, &pid)])?;
        self.replies(seq, |_| {})?
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
        let (fd, wanted) = (fd_attr(ns)?, wanted.to_ne_bytes());
        let attrs = [(NETNSA_FD, &fd[..]), (NETNSA_NSID, &wanted[..])];
        let seq = self.request(RTM_NEWNSID, NLM_F_REQUEST | NLM_F_ACK, &attrs)?;
        if let Err(refusal) = self.replies(seq, |_| {})? {
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

    fn request(&mut self, kind: u16, flags: u16, attrs: &[(u16, &[u8])]) -> Result<u32> {
        self.socket.request(kind, flags, &RTGENMSG, attrs)
    }

    /// Reads the reply to `seq`: `each` gets the NETNSA_NSID of every
    /// RTM_NEWNSID in it (`None` for "not assigned").
    fn replies(
        &mut self,
        seq: u32,
        mut each: impl FnMut(Option<u32>),
    ) -> Result<Result<netlink::Ended, Refusal>> {
        self.socket.replies(seq, &mut |msg| {
            if msg.kind == RTM_NEWNSID {
                each(nsid_in(&msg));
            }
        })
    }
}

/// The NETNSA_NSID of an RTM_NEWNSID or RTM_DELNSID message; `None` for
/// "not assigned".
pub(crate) fn nsid_in(msg: &Message<'_>) -> Option<u32> {
    let attrs = msg.body.get(RTGENMSG.len()..)?;
    netlink::attr(attrs, NETNSA_NSID).and_then(nsid_value)
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

/// The nsid of the namespace on `path`; `None` when it has none, or when
/// the file is gone or holds no namespace.
pub(crate) fn nsid_of_file(socket: &mut NsidSocket, path: &std::path::Path) -> Result<Option<u32>> {
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

/// An NETNSA_NSID value: an s32 where -1 means "not assigned".
fn nsid_value(value: &[u8]) -> Option<u32> {
    let value = value.get(..4)?;
    u32::try_from(netlink::i32_at(value, 0)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sched::{CloneFlags, setns, unshare};
    use std::path::Path;

    #[test]
    fn reads_nsid_attribute_and_unassigned() {
        let mut body = RTGENMSG.to_vec();
        body.extend_from_slice(&8u16.to_ne_bytes());
        body.extend_from_slice(&NETNSA_NSID.to_ne_bytes());
        body.extend_from_slice(&7i32.to_ne_bytes());
        let nsid = |body: &[u8]| {
            nsid_in(&Message {
                kind: RTM_NEWNSID,
                body,
            })
        };
        assert_eq!(nsid(&body), Some(7));
        assert_eq!(nsid(&body[..9]), None);
        body[8..12].copy_from_slice(&(-1i32).to_ne_bytes());
        assert_eq!(nsid(&body), None);
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
