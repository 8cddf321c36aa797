//! The one rtnetlink transport that the nsid, link and event code build
//! on: a NETLINK_ROUTE socket, requests written as a header, a family
//! header and attributes, replies read to their end with the kernel's
//! refusals in words (extended acks), and multicast events. The messages
//! are small enough to write by hand (netlink(7), rtnetlink(7)).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, sendto,
    socket,
};

use crate::error::{Error, Result};
use crate::sys;

pub(crate) const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
pub(crate) const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_MULTI: u16 = 0x2;
pub(crate) const NLM_F_ACK: u16 = 0x4;
pub(crate) const NLM_F_DUMP: u16 = 0x300;
pub(crate) const NLM_F_EXCL: u16 = 0x200;
pub(crate) const NLM_F_CREATE: u16 = 0x400;
/// On an NLMSG_ERROR: the request is not echoed back in full...
const NLM_F_CAPPED: u16 = 0x100;
/// ...and extended-ack attributes follow it.
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSGERR_ATTR_MSG: u16 = 1;

/// A NETLINK_ROUTE socket in the network namespace of the thread that
/// opened it; open one and reuse it.
pub(crate) struct Socket {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
    /// Whether anything has been read from it (see `read_any`).
    read_any: bool,
    /// Whether the buffer grows for a message larger than it (see
    /// [`Socket::open_growing`]).
    grows: bool,
}

/// One message of a reply or an event: its type, flags, and what follows
/// the netlink header.
pub(crate) struct Message<'a> {
    pub kind: u16,
    pub body: &'a [u8],
}

/// A request the kernel answered with an error: the errno, and its reason
/// in words when it gave one.
pub(crate) struct Refusal {
    pub errno: Errno,
    pub message: Option<String>,
}

/// The answer to one request: an ack (`None`), a reply message, or the
/// kernel's refusal.
pub(crate) type Answer<'a> = std::result::Result<Option<Message<'a>>, Refusal>;

/// How a reply ended.
pub(crate) struct Ended {
    /// It ended right after a read that filled the buffer, with nothing
    /// more but its end: a dump that the kernel may have cut short.
    pub after_full_read: bool,
}

/// A request's body as it is built: the family header, then attributes,
/// each padded to 4 bytes; nests for attributes that hold attributes.
pub(crate) struct Attrs(Vec<u8>);

impl Attrs {
    /// A body that starts with the family header `family`.
    pub fn after(family: &[u8]) -> Self {
        let mut body = Vec::with_capacity(128);
        body.extend_from_slice(family);
        Attrs(body)
    }

    /// Appends the attribute (`kind`, `value`).
    pub fn push(&mut self, kind: u16, value: &[u8]) -> &mut Self {
        self.0
            .extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        self.0.extend_from_slice(&kind.to_ne_bytes());
        self.0.extend_from_slice(value);
        self.0.resize(align(self.0.len()), 0);
        self
    }

    /// Appends raw bytes (a nested family header), 4-byte aligned.
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(bytes);
        self.0.resize(align(self.0.len()), 0);
        self
    }

    /// Appends the attribute `kind` (NLA_F_NESTED set) holding what
    /// `inner` appends.
    pub fn nest(&mut self, kind: u16, inner: impl FnOnce(&mut Self)) -> &mut Self {
        const NLA_F_NESTED: u16 = 0x8000;
        let at = self.0.len();
        self.0.extend_from_slice(&[0; 4]);
        inner(self);
        let len = (self.0.len() - at) as u16;
        self.0[at..at + 2].copy_from_slice(&len.to_ne_bytes());
        self.0[at + 2..at + 4].copy_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        self
    }
}

impl Socket {
    /// A socket whose reads are `buf_len` bytes (a message larger than
    /// that is an error). Extended acks are asked for.
    pub fn open(buf_len: usize) -> Result<Self> {
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
        Ok(Socket::with(fd, buf_len))
    }

    /// [`Socket::open`] for the network namespace `ns`: made there by a
    /// task that is thrown away after (`Netns::socket`), so the calling
    /// thread stays where it is.
    pub fn open_in(ns: &crate::netns::Netns, buf_len: usize) -> Result<Self> {
        let fd = ns.socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE)?;
        Ok(Socket::with(fd, buf_len))
    }

    /// [`Socket::open_in`] for each of `nss`, all made by one task
    /// (`sys::sockets_in`); `None` for one that could not be made (its
    /// error is [`Socket::open_in`]'s to tell).
    pub fn open_each(nss: &[&crate::netns::Netns], buf_len: usize) -> Vec<Option<Self>> {
        let fds: Vec<BorrowedFd<'_>> = nss.iter().map(|ns| ns.as_fd()).collect();
        sys::sockets_in(&fds, libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE)
            .into_iter()
            .map(|fd| fd.ok().map(|fd| Socket::with(fd, buf_len)))
            .collect()
    }

    fn with(fd: OwnedFd, buf_len: usize) -> Self {
        // Without it refusals are bare errnos; not worth failing over.
        let _ = sys::netlink_ext_ack(fd.as_fd());
        Socket {
            fd,
            seq: 0,
            buf: vec![0; buf_len],
            read_any: false,
            grows: false,
        }
    }

    /// This socket, reading as many bytes as the next message needs (at
    /// least its `buf_len`): each read asks for its length first
    /// (MSG_PEEK | MSG_TRUNC, into no buffer). For replies that have no
    /// bound short of the kernel's: a device's altnames (127 bytes each,
    /// up to 64 KiB of them).
    pub fn growing(mut self) -> Self {
        self.grows = true;
        self
    }

    /// Joins the multicast group `group` (an RTNLGRP_* number below 33):
    /// its events then come with every read. The receive buffer is made
    /// as large as ip's monitor makes it (1 MiB, or what net.core.rmem_max
    /// allows; past it with CAP_NET_ADMIN), so that a burst of events
    /// (a batch of deletes) is less likely to overflow it.
    pub fn join(&self, group: u32) -> Result<()> {
        use nix::sys::socket::{setsockopt, sockopt};
        const EVENT_BUFFER: usize = 1 << 20;
        if setsockopt(&self.fd, sockopt::RcvBufForce, &EVENT_BUFFER).is_err() {
            let _ = setsockopt(&self.fd, sockopt::RcvBuf, &EVENT_BUFFER);
        }
        bind(self.fd.as_raw_fd(), &NetlinkAddr::new(0, 1 << (group - 1))).map_err(|errno| {
            Error::Sys {
                action: "listen to netlink events",
                errno,
            }
        })
    }

    /// Whether a read has been made: the kernel sizes a dump's parts by
    /// the largest read so far, a page before any.
    pub fn read_any(&self) -> bool {
        self.read_any
    }

    #[cfg(test)]
    pub fn shrink_reads(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// Sends a request of type `kind`: `family` (the fixed header after
    /// the netlink one, 4-byte aligned) and `attrs`, each (type, value).
    /// Returns its sequence number, for [`Socket::replies`].
    pub fn request(
        &mut self,
        kind: u16,
        flags: u16,
        family: &[u8],
        attrs: &[(u16, &[u8])],
    ) -> Result<u32> {
        let mut body = Attrs::after(family);
        for (kind, value) in attrs {
            body.push(*kind, value);
        }
        self.send(kind, flags, &body)
    }

    /// Sends a request of type `kind` whose body (family header and
    /// attributes) is made already; returns its sequence number.
    pub fn send(&mut self, kind: u16, flags: u16, body: &Attrs) -> Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let mut msg = Vec::with_capacity(NLMSG_HDRLEN + body.0.len());
        msg.extend_from_slice(&((NLMSG_HDRLEN + body.0.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&flags.to_ne_bytes());
        msg.extend_from_slice(&self.seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(&body.0);
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

    /// Reads the answers of one read: `each` gets the sequence number of
    /// every request answered in it and the answer, an ack (`Ok(None)`),
    /// a reply message, or the kernel's refusal. For requests that are
    /// not dumps, sent many at a time and matched by their numbers.
    pub fn answers(&mut self, each: &mut dyn FnMut(u32, Answer<'_>)) -> Result<()> {
        let n = self.read(MsgFlags::empty())?;
        for_each_message(&self.buf[..n], &mut |seq, flags, msg| {
            match msg.kind {
                NLMSG_ERROR => {
                    let code = msg.body.get(..4).map_or(0, |b| i32_at(b, 0));
                    match code {
                        0.. => each(seq, Ok(None)),
                        _ => each(
                            seq,
                            Err(Refusal {
                                errno: Errno::from_raw(-code),
                                message: ack_message(msg.kind, msg.body, flags),
                            }),
                        ),
                    }
                }
                NLMSG_DONE => {}
                _ => each(seq, Ok(Some(msg))),
            }
            Ok(())
        })
    }

    /// Reads the reply to request `seq` to its end: an ack, one message,
    /// or for a dump every part up to NLMSG_DONE; `each` gets every
    /// message of it but the end. Messages of other requests and events
    /// are passed over. The outer error is the socket's, the inner the
    /// kernel's refusal.
    pub fn replies(
        &mut self,
        seq: u32,
        each: &mut dyn FnMut(Message<'_>),
    ) -> Result<Result<Ended, Refusal>> {
        let mut full = false;
        loop {
            let n = self.read(MsgFlags::empty())?;
            let mut got = false;
            let mut done = None;
            for_each_message(&self.buf[..n], &mut |seq_of, flags, msg| {
                if seq_of != seq || done.is_some() {
                    return Ok(());
                }
                match msg.kind {
                    NLMSG_ERROR | NLMSG_DONE => {
                        let code = msg.body.get(..4).map_or(0, |b| i32_at(b, 0));
                        done = Some(match code {
                            0.. => Ok(()),
                            _ => Err(Refusal {
                                errno: Errno::from_raw(-code),
                                message: ack_message(msg.kind, msg.body, flags),
                            }),
                        });
                    }
                    _ => {
                        each(msg);
                        got = true;
                        // Only the parts of a dump carry NLM_F_MULTI.
                        if flags & NLM_F_MULTI == 0 {
                            done = Some(Ok(()));
                        }
                    }
                }
                Ok(())
            })?;
            if let Some(done) = done {
                return Ok(done.map(|()| Ended {
                    after_full_read: full && !got,
                }));
            }
            full = n == self.buf.len();
        }
    }

    /// Reads the events waiting (a socket that joined a group), without
    /// blocking; `each` gets every message. `Ok(false)` when events were
    /// lost (the socket's buffer overflowed): the caller should resync.
    pub fn events(&mut self, each: &mut dyn FnMut(Message<'_>)) -> Result<bool> {
        loop {
            let n = match self.read(MsgFlags::MSG_DONTWAIT) {
                Ok(n) => n,
                Err(Error::Sys {
                    errno: Errno::EAGAIN,
                    ..
                }) => return Ok(true),
                Err(Error::Sys {
                    errno: Errno::ENOBUFS,
                    ..
                }) => return self.drain().map(|()| false),
                Err(err) => return Err(err),
            };
            for_each_message(&self.buf[..n], &mut |_, _, msg| {
                each(msg);
                Ok(())
            })?;
        }
    }

    /// Throws away every event still queued after an overflow, up to
    /// now: the kernel reports ENOBUFS ahead of them, they are older than
    /// the resync that follows, and until they are read the socket stays
    /// full and drops new events without another ENOBUFS.
    fn drain(&mut self) -> Result<()> {
        loop {
            match self.read(MsgFlags::MSG_DONTWAIT) {
                Ok(_)
                | Err(Error::Sys {
                    errno: Errno::ENOBUFS,
                    ..
                }) => {}
                Err(Error::Sys {
                    errno: Errno::EAGAIN,
                    ..
                }) => return Ok(()),
                Err(err) => return Err(err),
            }
        }
    }

    fn read(&mut self, flags: MsgFlags) -> Result<usize> {
        let failed = |errno| Error::Sys {
            action: "read from netlink",
            errno,
        };
        if self.grows {
            let next = recv(
                self.fd.as_raw_fd(),
                &mut [],
                flags | MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC,
            )
            .map_err(failed)?;
            if next > self.buf.len() {
                self.buf.resize(next, 0);
            }
        }
        let n = recv(
            self.fd.as_raw_fd(),
            &mut self.buf,
            flags | MsgFlags::MSG_TRUNC,
        )
        .map_err(failed)?;
        if n > self.buf.len() {
            return Err(Error::Netlink("a message larger than the buffer"));
        }
        self.read_any = true;
        Ok(n)
    }
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Calls `each` with the sequence number, flags and message of every
/// message in one read.
fn for_each_message(
    mut rest: &[u8],
    each: &mut dyn FnMut(u32, u16, Message<'_>) -> Result<()>,
) -> Result<()> {
    while rest.len() >= NLMSG_HDRLEN {
        let len = u32_at(rest, 0) as usize;
        if len < NLMSG_HDRLEN || len > rest.len() {
            return Err(Error::Netlink("a message with a bad length"));
        }
        let (msg, next) = rest.split_at(len);
        rest = next.get(align(len) - len..).unwrap_or_default();
        let message = Message {
            kind: u16_at(msg, 4),
            body: &msg[NLMSG_HDRLEN..],
        };
        each(u32_at(msg, 8), u16_at(msg, 6), message)?;
    }
    Ok(())
}

/// The kernel's reason in an NLMSG_ERROR's body (the errno, then the
/// request's header, and its body unless capped, then the attributes), or
/// in an NLMSG_DONE's that ends a failed dump (the errno, then the
/// attributes: it echoes no request).
fn ack_message(kind: u16, body: &[u8], flags: u16) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 || body.len() < 4 {
        return None;
    }
    let echoed = match (kind, flags & NLM_F_CAPPED) {
        (NLMSG_DONE, _) => 0,
        _ if body.len() < 4 + NLMSG_HDRLEN => return None,
        (_, 0) => align(u32_at(body, 4) as usize),
        _ => NLMSG_HDRLEN,
    };
    let text = attr(body.get(4 + echoed..)?, NLMSGERR_ATTR_MSG)?;
    let text = text.split(|&b| b == 0).next().unwrap_or_default();
    Some(String::from_utf8_lossy(text).into_owned())
}

/// The value of the first attribute of type `kind` in a run of netlink
/// attributes.
pub(crate) fn attr(mut attrs: &[u8], kind: u16) -> Option<&[u8]> {
    while attrs.len() >= 4 {
        let len = usize::from(u16_at(attrs, 0));
        if len < 4 || len > attrs.len() {
            return None;
        }
        // The top bits are flags (NLA_F_NESTED, NLA_F_NET_BYTEORDER).
        if u16_at(attrs, 2) & 0x3fff == kind {
            return Some(&attrs[4..len]);
        }
        attrs = attrs.get(align(len)..).unwrap_or_default();
    }
    None
}

pub(crate) fn align(len: usize) -> usize {
    (len + 3) & !3
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

pub(crate) fn i32_at(b: &[u8], at: usize) -> i32 {
    u32_at(b, at) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An NLMSG_DONE that ends a failed dump carries the errno and then
    /// the attributes, with no copy of the request between them.
    #[test]
    fn a_failed_dumps_done_gives_its_reason() {
        let mut body = (-22i32).to_ne_bytes().to_vec();
        let text = b"Invalid header for dump\0";
        body.extend_from_slice(&((4 + text.len()) as u16).to_ne_bytes());
        body.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        body.extend_from_slice(text);
        let reason = ack_message(NLMSG_DONE, &body, NLM_F_ACK_TLVS);
        assert_eq!(reason.as_deref(), Some("Invalid header for dump"));
    }

    #[test]
    fn finds_attributes_and_stops_at_bad_lengths() {
        let mut attrs = Vec::new();
        attrs.extend_from_slice(&5u16.to_ne_bytes());
        attrs.extend_from_slice(&3u16.to_ne_bytes());
        attrs.extend_from_slice(&[b'x', 0, 0, 0]);
        attrs.extend_from_slice(&8u16.to_ne_bytes());
        attrs.extend_from_slice(&(1u16 | 0x8000).to_ne_bytes());
        attrs.extend_from_slice(&7i32.to_ne_bytes());
        assert_eq!(attr(&attrs, 3), Some(&b"x"[..]));
        assert_eq!(attr(&attrs, 1), Some(&7i32.to_ne_bytes()[..]));
        assert_eq!(attr(&attrs, 2), None);
        assert_eq!(attr(&attrs[..4], 3), None);
    }
}
