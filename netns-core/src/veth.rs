//! Links between network namespaces: veth pairs made with both ends
//! placed straight into their namespaces, their addresses, MTU, state
//! and bridges, many at a time (rtnetlink(7), veth(4)).
//!
//! A pair is one RTM_NEWLINK request, sent on a socket made in the first
//! end's namespace: IFLA_NET_NS_FD places that end, and the same
//! attribute inside VETH_INFO_PEER's nested ifinfomsg places the peer.
//! The kernel creates each device in its target namespace directly (its
//! name is checked there), never in the caller's to be moved after, and
//! brings both up when their ifinfomsgs ask (IFF_UP). Addresses, bridge
//! ports and ifindexes are then asked of each end's namespace through a
//! socket made there by a thrown-away task (one task for the sockets of
//! a batch's namespaces: `netlink::Socket::open_each`), so that root of
//! a user namespace that owns the namespaces but not the current one can
//! wire them. Requests go out many at a time and their answers
//! are matched by sequence number; a link that fails at any step is
//! deleted again (one end's RTM_DELLINK takes its peer with it).

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::netlink::{
    self, Attrs, Message, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, Refusal,
};
use crate::netns::{Netns, NetnsId};
use crate::quote::InQuotes;

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINK: u16 = 5;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_EXT_MASK: u16 = 29;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_F_NODAD: u8 = 0x02;
const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;
/// The longest interface name, less its NUL (IFNAMSIZ - 1).
const IFNAME_MAX: usize = 15;
/// Answers a socket may owe before it is read: well inside a socket's
/// default receive buffer (212992 bytes), so that no ack is dropped.
const WINDOW: usize = 64;
/// A read holds one answer; an ack echoes its request (a few hundred
/// bytes), a device's reply without counters is under 2 KB.
const REPLY: usize = 8 * 1024;
/// More open namespaces than this and their sockets are closed after a
/// batch (made again when next needed), to stay far below the open-file
/// limit however many namespaces a network has; fewer under a low limit.
const OPEN_MAX: usize = 256;
/// The most links a batch holds: its answers owed a socket stay within
/// WINDOW.
const LINKS_AT_ONCE: usize = 64;
/// Descriptors a link of a batch may hold: its two namespaces (opened by
/// the caller for the batch) and a socket made in each.
const FILES_A_LINK: usize = 4;

/// An address of an end: an IPv4 or IPv6 address and its prefix length
/// (`10.0.0.0/31`, `fd00::1/127`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Addr {
    /// The address.
    pub ip: IpAddr,
    /// Its prefix length: up to 32 for IPv4, 128 for IPv6.
    pub prefix: u8,
}

impl Addr {
    /// Reads `ADDRESS/LEN`, or `ADDRESS` alone for a host address (/32,
    /// /128), as ip reads it, but for 0.0.0.0 and `::`; the error says
    /// why not, in words.
    pub fn parse(text: &str) -> std::result::Result<Addr, String> {
        let (ip, len) = match text.split_once('/') {
            Some((ip, len)) => (ip, Some(len)),
            None => (text, None),
        };
        // The kernel acks an IPv4 address of 0 and adds none, and
        // refuses `::`.
        let ip: IpAddr = ip
            .parse()
            .ok()
            .filter(|ip: &IpAddr| !ip.is_unspecified())
            .ok_or_else(|| format!("invalid address {}", InQuotes::new(text)))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = match len {
            None => max,
            Some(len) => match len.parse::<u8>() {
                Ok(n) if n <= max && len.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => {
                    return Err(format!(
                        "invalid prefix length in {} (0 to {max})",
                        InQuotes::new(text)
                    ));
                }
            },
        };
        Ok(Addr { ip, prefix })
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.ip, self.prefix)
    }
}

/// One end of a link to be made.
#[derive(Clone, Debug, Default)]
pub struct End<'a> {
    /// Its namespace; `None` for the one this process is in (the host's,
    /// or in rootless mode the keeper's).
    pub ns: Option<&'a Netns>,
    /// Its interface name; `None` for the next free `ethN` there.
    pub ifname: Option<OsString>,
    /// Its addresses, added in this order.
    pub addrs: Vec<Addr>,
    /// Its MTU; `None` for the kernel's (1500).
    pub mtu: Option<u32>,
    /// A bridge in its namespace for it to join, made (and brought up)
    /// if there is none of that name.
    pub bridge: Option<OsString>,
}

/// A link to be made: a veth pair, end `a` and end `b`.
#[derive(Clone, Debug, Default)]
pub struct Link<'a> {
    /// The first end: the request goes to its namespace.
    pub a: End<'a>,
    /// The peer.
    pub b: End<'a>,
}

/// An end as made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MadeEnd {
    /// Its interface name.
    pub ifname: OsString,
    /// Its ifindex in its namespace.
    pub ifindex: u32,
    /// Its addresses.
    pub addrs: Vec<Addr>,
}

/// A link as made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Made {
    /// End `a`.
    pub a: MadeEnd,
    /// End `b`.
    pub b: MadeEnd,
}

/// A netlink socket in one namespace, with the answers it has read but
/// no one has asked for yet.
struct Conn {
    socket: netlink::Socket,
    owed: usize,
    /// A few at most (WINDOW): a Vec, not a map (size).
    answers: Vec<(u32, Answer)>,
}

/// An answer: an ack (`None`), or a device's reply (RTM_NEWLINK), or a
/// refusal.
type Answer = std::result::Result<Option<Device>, Refusal>;

/// What a device's reply says that is needed here.
#[derive(Clone, Copy)]
struct Device {
    index: u32,
    /// IFLA_LINK: for a veth its peer's ifindex (in the peer's
    /// namespace); the device's own index when the reply has none (the
    /// kernel leaves it out when the two are equal).
    peer: u32,
    bridge: bool,
    veth: bool,
}

impl Conn {
    /// Sends a request, first reading answers while too many are owed.
    fn send(&mut self, kind: u16, flags: u16, body: &Attrs) -> Result<u32> {
        while self.owed >= WINDOW {
            self.read()?;
        }
        let seq = self.socket.send(kind, flags, body)?;
        self.owed += 1;
        Ok(seq)
    }

    fn read(&mut self) -> Result<()> {
        let (answers, owed) = (&mut self.answers, &mut self.owed);
        self.socket.answers(&mut |seq, answer| {
            *owed = owed.saturating_sub(1);
            answers.push((seq, answer.map(|msg| msg.and_then(|m| device(&m)))));
        })
    }

    /// The answer to request `seq`, read when it comes.
    fn wait(&mut self, seq: u32) -> Result<Answer> {
        loop {
            if let Some(at) = self.answers.iter().position(|(s, _)| *s == seq) {
                return Ok(self.answers.swap_remove(at).1);
            }
            self.read()?;
        }
    }
}

/// A device's ifindex, and whether it is a bridge, from its RTM_NEWLINK.
fn device(msg: &Message<'_>) -> Option<Device> {
    if msg.kind != RTM_NEWLINK || msg.body.len() < 16 {
        return None;
    }
    let index = netlink::i32_at(msg.body, 4) as u32;
    // Left out when it is the device's own index (a veth's peer of the
    // same ifindex in another namespace, as in two fresh ones).
    let peer = netlink::attr(&msg.body[16..], IFLA_LINK)
        .and_then(|link| link.try_into().ok())
        .map_or(index, u32::from_ne_bytes);
    let kind = netlink::attr(&msg.body[16..], IFLA_LINKINFO)
        .and_then(|info| netlink::attr(info, IFLA_INFO_KIND));
    let kind = kind.map(|k| k.strip_suffix(b"\0").unwrap_or(k));
    Some(Device {
        index,
        peer,
        bridge: kind == Some(b"bridge"),
        veth: kind == Some(b"veth"),
    })
}

/// Where an end is: its namespace (`ns`: `None` for this process's),
/// told apart by `id`, placed by the descriptor `fd`.
#[derive(Clone, Copy)]
struct At<'n> {
    ns: Option<&'n Netns>,
    id: NetnsId,
    fd: i32,
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ns {
            Some(ns) => write!(f, "{}", InQuotes::new(ns.path())),
            None => f.write_str("this namespace"),
        }
    }
}

/// What is known of one namespace that links were made in.
struct Place {
    conn: Option<Conn>,
    /// Its device names, read once (by a dump) when an `ethN` is first
    /// chosen there (again after [`Wirer::forget`]), and kept up to date
    /// with what is made here.
    names: Option<HashSet<Vec<u8>>>,
    /// Its addresses (their bytes), read once (by a dump) when an
    /// address is first added there (again after [`Wirer::forget`]), and
    /// kept up to date with what is made here: an address is one
    /// device's in a namespace.
    addrs: Option<HashSet<Vec<u8>>>,
    /// The `ethN` to try first.
    next_eth: u32,
    lo_up: bool,
    /// The bridges met there: a few (a Vec, not a map: size).
    bridges: Vec<Bridge>,
    /// The [`Wirer::forget`] its names, addresses and bridges were read
    /// after: older than the wirer's, they are read again.
    read_after: u32,
}

struct Bridge {
    name: Vec<u8>,
    index: u32,
    /// Made by this process for a link of the batch now on its way (it
    /// is removed again if none of them is kept).
    made: bool,
    users: usize,
}

/// Makes links, many at a time, and removes them. Keeps a socket in each
/// namespace it has worked in (up to a few hundred), and what it learnt
/// of each.
pub struct Wirer {
    here: Netns,
    up: bool,
    nodad: bool,
    places: HashMap<NetnsId, Place>,
    /// The places where the batch on its way made a bridge: the only ones
    /// to look at for a bridge to remove again (not every place met).
    bridged: Vec<NetnsId>,
    /// How many places have a socket open.
    open: usize,
    /// How many may stay open from one batch to the next, and how many
    /// links a batch takes: sized by the open-file limit.
    open_max: usize,
    links_at_once: usize,
    /// How many times the wirer forgot (see [`Wirer::forget`]).
    forgotten: u32,
}

/// A request of a link's, and what it asked (for the message if it is
/// refused).
#[derive(Clone, Copy)]
enum Step {
    Pair,
    Find,
    Port,
    Addr(Addr),
}

/// A link of a batch on its way.
struct Pending<'l, 'a> {
    link: &'l Link<'a>,
    at: [At<'a>; 2],
    names: [Vec<u8>; 2],
    masters: [Option<u32>; 2],
    index: [u32; 2],
    /// How many of each end's addresses (the first) it holds in its
    /// namespace's `addrs`: given back if it fails.
    held: [usize; 2],
    /// Whether its names were chosen (a failure after that is found when
    /// the batch's later links have chosen theirs).
    chosen: bool,
    /// The requests whose answers are owed: the end, the namespace whose
    /// socket it went to, its sequence number, its step.
    owed: Vec<(usize, u32, Step)>,
    failed: Option<Error>,
    /// Whether the pair may exist: its request was sent, and not
    /// refused.
    sent: bool,
    /// The pair's request, while its answer is lost to a socket error:
    /// still to be looked for before the pair is deleted again.
    unanswered: Option<u32>,
}

impl Wirer {
    /// A wirer that brings up both ends and the loopback of each
    /// namespace it touches, and adds IPv6 addresses with duplicate
    /// address detection. Opens the namespace this process is in, for
    /// ends placed there. Raises the soft open-file limit to the hard one
    /// (getrlimit, setrlimit) and sizes its batches and the sockets it
    /// keeps to fit it, with the descriptors open already (those below
    /// the one it opens); a limit too low for one link is an error.
    pub fn new() -> Result<Self> {
        let here = Netns::open_path("/proc/thread-self/ns/net".as_ref())?;
        // At most those below it and it (the one its O_PATH took before
        // it is free again: what a namespace's opening takes for a while,
        // while the sockets a link needs are not all open).
        let open = here.as_fd().as_raw_fd() as usize + 1;
        let limit = crate::netns::raise_file_limit();
        let spare = limit.saturating_sub(open);
        if spare < FILES_A_LINK {
            return Err(Error::Link(format!(
                "too few open files for a link: the limit (ulimit -n) is {limit}, \
                 and {} are needed",
                open + FILES_A_LINK
            )));
        }
        // Half of what is spare for a batch's links, the rest for the
        // sockets kept.
        let links_at_once = (spare / FILES_A_LINK / 2).clamp(1, LINKS_AT_ONCE);
        Ok(Wirer {
            here,
            up: true,
            nodad: false,
            places: HashMap::new(),
            bridged: Vec::new(),
            open: 0,
            open_max: (spare - links_at_once * FILES_A_LINK).min(OPEN_MAX),
            links_at_once,
            forgotten: 0,
        })
    }

    /// How many links [`Wirer::make`] should be given at a time, at most:
    /// their namespaces, opened by the caller, and their sockets fit the
    /// open-file limit beside the sockets kept.
    pub fn links_at_once(&self) -> usize {
        self.links_at_once
    }

    /// Leaves the ends and the loopbacks down (`false`).
    pub fn up(mut self, up: bool) -> Self {
        self.up = up;
        self
    }

    /// Adds IPv6 addresses without duplicate address detection
    /// (IFA_F_NODAD): usable at once, not seconds later.
    pub fn nodad(mut self, nodad: bool) -> Self {
        self.nodad = nodad;
        self
    }

    /// Forgets what was read of each namespace (its device names,
    /// addresses and bridges), to be read again when next needed: for a
    /// caller that waited, during which others may have changed them.
    /// Its sockets are kept.
    /// A count, not a pass over every namespace met: each is read again
    /// when next worked in (so a slow writer's line costs the same however
    /// many namespaces there are).
    pub fn forget(&mut self) {
        self.forgotten = self.forgotten.wrapping_add(1);
    }

    fn at<'n>(&self, ns: Option<&'n Netns>) -> At<'n> {
        let (id, fd) = match ns {
            Some(ns) => (ns.id(), ns.as_fd().as_raw_fd()),
            None => (self.here.id(), self.here.as_fd().as_raw_fd()),
        };
        // A name of the run dir that is this process's namespace is
        // worked in as that, with no task to enter it.
        let ns = ns.filter(|_| id != self.here.id());
        At { ns, id, fd }
    }

    /// Whether the namespace `id` has a socket open.
    fn has_socket(&self, id: NetnsId) -> bool {
        self.places.get(&id).is_some_and(|p| p.conn.is_some())
    }

    fn place(&mut self, at: At<'_>) -> Result<&mut Place> {
        if !self.has_socket(at.id) {
            let socket = match at.ns {
                None => netlink::Socket::open(REPLY)?,
                Some(ns) => netlink::Socket::open_in(ns, REPLY)?,
            };
            self.install(at, socket);
        }
        let forgotten = self.forgotten;
        let place = self.places.get_mut(&at.id).expect("installed");
        if place.read_after != forgotten {
            place.names = None;
            place.addrs = None;
            place.next_eth = 0;
            place.bridges.clear();
            place.read_after = forgotten;
        }
        Ok(place)
    }

    /// `socket` as the one of `at`'s place (made if new).
    fn install(&mut self, at: At<'_>, socket: netlink::Socket) {
        let place = self.places.entry(at.id).or_insert_with(|| Place {
            conn: None,
            names: None,
            addrs: None,
            next_eth: 0,
            lo_up: at.ns.is_none(),
            bridges: Vec::new(),
            read_after: self.forgotten,
        });
        place.conn = Some(Conn {
            socket,
            owed: 0,
            answers: Vec::new(),
        });
        self.open += 1;
    }

    /// Sockets in the namespaces of `pending`'s ends that have none yet,
    /// all made by one task (a task each would be a fifth of a link's
    /// cost in a chain); one that cannot be made is left to
    /// [`Wirer::place`], which tries it again and tells why. Not inlined:
    /// in `make` it took 2 KB more of the multicall.
    #[inline(never)]
    fn open_places(&mut self, pending: &[Pending<'_, '_>]) {
        let mut ats: Vec<At<'_>> = Vec::new();
        let mut nss: Vec<&Netns> = Vec::new();
        for at in pending.iter().flat_map(|p| p.at) {
            let todo = !self.has_socket(at.id) && !ats.iter().any(|t| t.id == at.id);
            if let Some(ns) = at.ns.filter(|_| todo) {
                ats.push(at);
                nss.push(ns);
            }
        }
        if ats.len() > 1 {
            let sockets = netlink::Socket::open_each(&nss, REPLY);
            for (at, socket) in ats.into_iter().zip(sockets) {
                if let Some(socket) = socket {
                    self.install(at, socket);
                }
            }
        }
    }

    fn conn(&mut self, at: At<'_>) -> Result<&mut Conn> {
        Ok(self.place(at)?.conn.as_mut().expect("opened by place"))
    }

    /// Makes the links of `links`, in order, and says for each what was
    /// made or why nothing was: a link that fails at any step is removed
    /// again (with a bridge made for it alone), and the others go on.
    /// Per link: one RTM_NEWLINK for the pair, one RTM_NEWLINK for the
    /// peer's IFF_UP and each bridge port (in one when both), then one
    /// RTM_GETLINK of end a (its ifindex and its peer's) and one
    /// RTM_NEWADDR per address, each step sent for the whole batch
    /// before its answers are read; the first time a namespace is met, a
    /// socket in it and its loopback up, when an `ethN` is chosen there
    /// a dump of its device names, and when an address is added there a
    /// dump of its addresses. An address that the namespace has (on any
    /// device, with any prefix length; IPv6 link-local ones are each
    /// device's own) or that a link before takes fails the link before
    /// anything is sent. Each link gets the `ethN`s and addresses it
    /// would have if the links that fail were not there: those made
    /// after one the kernel refused are made again when it freed a name
    /// they came after, and those refused for what it held tried again.
    /// SIGHUP, SIGINT, SIGQUIT and SIGTERM wait (blocked on the calling
    /// thread, pthread_sigmask) until the links are whole or removed: one
    /// that ends the process then leaves no link half-made.
    pub fn make(&mut self, links: &[Link<'_>]) -> Vec<Result<Made>> {
        let _held = crate::held::Held::ending();
        let mut made = Vec::new();
        let mut todo: Vec<usize> = (0..links.len()).collect();
        while !todo.is_empty() {
            let batch: Vec<&Link<'_>> = todo.iter().map(|&i| &links[i]).collect();
            let (results, again) = self.make_once(&batch);
            if made.is_empty() {
                made = results;
            } else {
                for (&i, result) in todo.iter().zip(results) {
                    made[i] = result;
                }
            }
            todo = again.into_iter().map(|j| todo[j]).collect();
        }
        self.drop_unused_bridges(true);
        // Once every `open_max` namespaces met, not every batch: the cost
        // of a link stays the same however many there are.
        if self.open > self.open_max {
            for place in self.places.values_mut() {
                place.conn = None;
            }
            self.open = 0;
        }
        made
    }

    /// [`Wirer::make`]'s one pass: each link's result, and which are to
    /// be made again (their places in `links`).
    fn make_once(&mut self, links: &[&Link<'_>]) -> (Vec<Result<Made>>, Vec<usize>) {
        let mut pending: Vec<Pending<'_, '_>> = links
            .iter()
            .map(|&link| Pending {
                link,
                at: [self.at(link.a.ns), self.at(link.b.ns)],
                names: [Vec::new(), Vec::new()],
                masters: [None, None],
                index: [0, 0],
                held: [0, 0],
                chosen: false,
                owed: Vec::new(),
                failed: None,
                sent: false,
                unanswered: None,
            })
            .collect();
        self.open_places(&pending);
        // The names and addresses that the batch's links before each
        // take, in their namespaces: none is made yet, and a link must
        // find them taken as it would after them, not choose them as an
        // `ethN` nor make a bridge of one.
        for i in 0..pending.len() {
            let (before, rest) = pending.split_at_mut(i);
            let p = &mut rest[0];
            match self.prepare(p, before) {
                Ok(()) => p.chosen = true,
                Err(err) => {
                    p.failed = Some(err);
                    self.release(p);
                }
            }
        }
        // The pairs.
        for p in pending.iter_mut().filter(|p| p.failed.is_none()) {
            let sent = self.send_pair(p);
            self.sent(p, 0, Step::Pair, sent);
            p.sent = p.failed.is_none();
        }
        self.collect(&mut pending);
        // The peers up and the bridge ports, then the ifindexes: a
        // socket's requests are carried out as they are sent, so each
        // end is asked for once its carrier is on. Asked before, an end
        // made up has its carrier-off event (veth_newlink's) still due,
        // and RTM_GETLINK settles it first (linkwatch_sync_dev): a
        // dev_deactivate, which waits for an RCU grace period.
        for p in pending.iter_mut().filter(|p| p.failed.is_none()) {
            for end in 0..2 {
                self.send_port(p, end);
            }
            // End a's reply names its peer's ifindex too (IFLA_LINK).
            let sent = self.send_find(p, 0);
            self.sent(p, 0, Step::Find, sent);
        }
        self.collect(&mut pending);
        // The addresses.
        for p in pending.iter_mut().filter(|p| p.failed.is_none()) {
            for end in 0..2 {
                self.send_addrs(p, end);
            }
        }
        self.collect(&mut pending);
        let made: Vec<_> = pending.iter_mut().map(|p| self.finish(p)).collect();
        // Bridges made for links none of which was kept go now, not at
        // the end: a later link the kernel refused for a name one of them
        // held (File exists) is tried again, as if the failed link had
        // never been.
        let dropped = self.drop_unused_bridges(false);
        // A link that failed once the batch's later links had chosen
        // their names and addresses gave its own back too late for them:
        // each made after it with an `ethN` in a namespace where it had
        // one (or where a link so removed had) is removed and made again,
        // and each refused before anything was sent (an address or a
        // name it held) is tried again, as if the failed link had never
        // been.
        let mut freed: Vec<NetnsId> = Vec::new();
        let mut refused = false;
        let mut again = Vec::new();
        for (i, p) in pending.iter_mut().enumerate() {
            // The namespaces it chose an `ethN` in.
            let chose = [0, 1].map(|e| p.spec(e).ifname.is_none().then_some(p.at[e].id));
            let chose = chose.into_iter().flatten();
            let failed = made[i].is_err();
            let remake = !failed && chose.clone().any(|id| freed.contains(&id));
            if failed && p.chosen || remake {
                freed.extend(chose);
            }
            if remake {
                self.unmake(p);
            }
            let blocked = failed
                && matches!(
                    &made[i],
                    Err(Error::Refused {
                        errno: Errno::EEXIST,
                        ..
                    })
                )
                && (0..2).any(|e| {
                    let given = p.spec(e).ifname.as_ref().map(|n| n.as_bytes());
                    given.is_some_and(|n| dropped.iter().any(|d| d.0 == p.at[e].id && d.1 == n))
                });
            if remake || blocked || failed && !p.chosen && refused {
                again.push(i);
            }
            refused |= failed && p.chosen;
        }
        (made, again)
    }

    /// The steps before anything is sent: each end's namespace met (its
    /// socket, its loopback up), its name chosen and checked, its bridge
    /// found or made.
    fn prepare(&mut self, p: &mut Pending<'_, '_>, before: &[Pending<'_, '_>]) -> Result<()> {
        for (end, spec) in [&p.link.a, &p.link.b].into_iter().enumerate() {
            let at = p.at[end];
            let up = self.up;
            let place = self.place(at)?;
            if up && !place.lo_up {
                // On the namespace's own socket: no second one for it.
                const LOOPBACK: u32 = 1;
                let conn = place.conn.as_mut().expect("opened by place");
                let body = Attrs::after(&ifinfomsg(LOOPBACK, true));
                let seq = conn.send(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, &body)?;
                conn.wait(seq)?
                    .map_err(|r| refused(format!("bring up the loopback device of {at}"), r))?;
                place.lo_up = true;
            }
            let this = (end == 1 && at.id == p.at[0].id).then(|| p.names[0].clone());
            let taken = |name: &[u8]| {
                this.as_deref() == Some(name)
                    || before
                        .iter()
                        .any(|q| q.chosen && q.holds(at.id, |end| q.names[end] == name))
            };
            let name = match &spec.ifname {
                Some(name) => {
                    check_ifname(name)?;
                    name.as_bytes().to_vec()
                }
                None => self.next_eth(at, &taken)?,
            };
            if this.as_ref() == Some(&name) {
                return Err(Error::Link(format!(
                    "both ends are named {} in {at}",
                    InQuotes(&name)
                )));
            }
            if let Some(names) = self.place(at)?.names.as_mut() {
                names.insert(name.clone());
            }
            p.names[end] = name;
            for addr in &spec.addrs {
                if !self.hold(at, addr)? {
                    // Whose: an end's of this link or of one before it in
                    // the batch (none made yet), else a device's there
                    // (asked of the kernel: an address is seldom taken).
                    let mut on = None;
                    for q in before.iter().chain([&*p]) {
                        for e in 0..2 {
                            let held = &q.spec(e).addrs[..q.held[e]];
                            if q.at[e].id == at.id && held.iter().any(|a| a.ip == addr.ip) {
                                on = Some((q.names[e].clone(), std::ptr::eq(q, &*p) && e == end));
                            }
                        }
                    }
                    let (on, how) = match on {
                        Some((name, true)) => (name, "given twice for"),
                        Some((name, false)) => (name, "already on"),
                        None => match self.device_with(at, addr.ip)? {
                            // Removed since it was read: free after all.
                            name if name.is_empty() => {
                                p.held[end] += 1;
                                continue;
                            }
                            name => (name, "already on"),
                        },
                    };
                    return Err(Error::Link(format!(
                        "address {addr} is {how} {} in {at}",
                        InQuotes(&on)
                    )));
                }
                p.held[end] += 1;
            }
            if let Some(bridge) = &spec.bridge {
                if taken(bridge.as_bytes()) || p.names[end] == bridge.as_bytes() {
                    return Err(Error::Link(format!(
                        "{} in {at} is not a bridge",
                        InQuotes::new(bridge)
                    )));
                }
                p.masters[end] = Some(self.bridge(at, bridge)?);
            }
        }
        Ok(())
    }

    /// Takes `addr` in `at` (`true`), unless the namespace has it (on any
    /// device, whatever its prefix length) or a link of this wirer's took
    /// it. IPv6 link-local addresses are a device's own: the same on two
    /// devices is no conflict.
    fn hold(&mut self, at: At<'_>, addr: &Addr) -> Result<bool> {
        if own(addr.ip) {
            return Ok(true);
        }
        let place = self.place(at)?;
        if place.addrs.is_none() {
            let conn = place.conn.as_mut().expect("opened by place");
            let mut addrs = HashSet::new();
            addresses(conn, at, &mut |ip, _| {
                if !own(ip) {
                    addrs.insert(octets(ip));
                }
            })?;
            place.addrs = Some(addrs);
        }
        Ok(place
            .addrs
            .as_mut()
            .expect("read above")
            .insert(octets(addr.ip)))
    }

    /// The name of the device that has `ip` in `at` (empty if none has):
    /// a dump of its addresses, then of its devices.
    fn device_with(&mut self, at: At<'_>, ip: IpAddr) -> Result<Vec<u8>> {
        let conn = self.conn(at)?;
        let mut index = 0;
        addresses(conn, at, &mut |has, i| {
            if has == ip {
                index = i;
            }
        })?;
        let mut name = Vec::new();
        devices(conn, at, &mut |i, found| {
            if i == index {
                name = found.to_vec();
            }
        })?;
        Ok(name)
    }

    /// The first `ethN` that the namespace has no device of, and that
    /// neither this link's end `a` nor the batch's links before it take
    /// (`taken`).
    fn next_eth(&mut self, at: At<'_>, taken: &dyn Fn(&[u8]) -> bool) -> Result<Vec<u8>> {
        let place = self.place(at)?;
        if place.names.is_none() {
            let conn = place.conn.as_mut().expect("opened by place");
            let mut names = HashSet::new();
            devices(conn, at, &mut |_, name| {
                names.insert(name.to_vec());
            })?;
            place.names = Some(names);
        }
        let names = place.names.as_ref().expect("read above");
        loop {
            let name = format!("eth{}", place.next_eth).into_bytes();
            if !names.contains(&name) && !taken(&name) {
                return Ok(name);
            }
            place.next_eth += 1;
        }
    }

    /// The ifindex of the bridge `name` in `at`: found (and checked to
    /// be a bridge), or made.
    fn bridge(&mut self, at: At<'_>, name: &OsStr) -> Result<u32> {
        check_ifname(name)?;
        let up = self.up;
        let place = self.place(at)?;
        if let Some(bridge) = place.bridges.iter().find(|b| b.name == name.as_bytes()) {
            return Ok(bridge.index);
        }
        let conn = place.conn.as_mut().expect("opened by place");
        let where_ = format!("{} in {at}", InQuotes::new(name));
        let (device, made) = match get(conn, name.as_bytes())? {
            Ok(Some(device)) if device.bridge => (device, false),
            Ok(_) => return Err(Error::Link(format!("{where_} is not a bridge"))),
            Err(refusal) if refusal.errno == Errno::ENODEV => {
                let mut body = Attrs::after(&ifinfomsg(0, up));
                body.push(IFLA_IFNAME, &nul(name.as_bytes()));
                body.nest(IFLA_LINKINFO, |info| {
                    info.push(IFLA_INFO_KIND, b"bridge");
                });
                let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
                let seq = conn.send(RTM_NEWLINK, flags, &body)?;
                let made = conn.wait(seq).and_then(|answer| {
                    answer.map_err(|r| refused(format!("make the bridge {where_}"), r))?;
                    match get(conn, name.as_bytes())? {
                        Ok(Some(device)) => Ok(device),
                        Ok(None) => Err(Error::Netlink("no device in a device's reply")),
                        Err(r) => Err(refused(format!("find the bridge {where_}"), r)),
                    }
                });
                match made {
                    Ok(device) => (device, true),
                    Err(err) => {
                        // Made, perhaps, though its answer was lost.
                        let _ = delete_named(conn, name.as_bytes());
                        return Err(err);
                    }
                }
            }
            Err(r) => return Err(refused(format!("find the bridge {where_}"), r)),
        };
        if let Some(names) = place.names.as_mut() {
            names.insert(name.as_bytes().to_vec());
        }
        let bridge = Bridge {
            name: name.as_bytes().to_vec(),
            index: device.index,
            made,
            users: 0,
        };
        place.bridges.push(bridge);
        if made && !self.bridged.contains(&at.id) {
            self.bridged.push(at.id);
        }
        Ok(device.index)
    }

    fn send_pair(&mut self, p: &Pending<'_, '_>) -> Result<u32> {
        let (a, b) = (&p.link.a, &p.link.b);
        let mut body = Attrs::after(&ifinfomsg(0, self.up));
        body.push(IFLA_IFNAME, &nul(&p.names[0]));
        body.push(IFLA_NET_NS_FD, &p.at[0].fd.to_ne_bytes());
        if let Some(mtu) = a.mtu {
            body.push(IFLA_MTU, &mtu.to_ne_bytes());
        }
        body.nest(IFLA_LINKINFO, |info| {
            info.push(IFLA_INFO_KIND, b"veth");
            info.nest(IFLA_INFO_DATA, |data| {
                data.nest(VETH_INFO_PEER, |peer| {
                    // Down: a veth cannot be opened before its peer is
                    // made (ENOTCONN), and the peer is made first.
                    peer.raw(&ifinfomsg(0, false));
                    peer.push(IFLA_IFNAME, &nul(&p.names[1]));
                    peer.push(IFLA_NET_NS_FD, &p.at[1].fd.to_ne_bytes());
                    if let Some(mtu) = b.mtu {
                        peer.push(IFLA_MTU, &mtu.to_ne_bytes());
                    }
                });
            });
        });
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        self.conn(p.at[0])?.send(RTM_NEWLINK, flags, &body)
    }

    fn send_find(&mut self, p: &Pending<'_, '_>, end: usize) -> Result<u32> {
        get_request(self.conn(p.at[end])?, &p.names[end])
    }

    /// The peer up (`b`) and an end into its bridge: one RTM_NEWLINK
    /// for both, the device by name (its ifindex is not asked yet).
    fn send_port(&mut self, p: &mut Pending<'_, '_>, end: usize) {
        let up = self.up && end == 1;
        if p.masters[end].is_some() || up {
            let mut body = Attrs::after(&ifinfomsg(0, up));
            body.push(IFLA_IFNAME, &nul(&p.names[end]));
            if let Some(master) = p.masters[end] {
                body.push(IFLA_MASTER, &master.to_ne_bytes());
            }
            let sent = self
                .conn(p.at[end])
                .and_then(|c| c.send(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, &body));
            self.sent(p, end, Step::Port, sent);
        }
    }

    fn send_addrs(&mut self, p: &mut Pending<'_, '_>, end: usize) {
        let index = p.index[end];
        let spec = if end == 0 { &p.link.a } else { &p.link.b };
        for addr in &spec.addrs {
            let body = address(addr, index, self.nodad);
            let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
            let sent = self
                .conn(p.at[end])
                .and_then(|c| c.send(RTM_NEWADDR, flags, &body));
            self.sent(p, end, Step::Addr(*addr), sent);
        }
    }

    /// Notes a request sent for end `end` of `p` (its answer is owed),
    /// or that the link failed.
    fn sent(&self, p: &mut Pending<'_, '_>, end: usize, step: Step, sent: Result<u32>) {
        match sent {
            Ok(seq) => p.owed.push((end, seq, step)),
            Err(err) => {
                p.failed.get_or_insert(err);
            }
        }
    }

    /// Reads the answer to every request the batch's links are owed.
    fn collect(&mut self, pending: &mut [Pending<'_, '_>]) {
        for p in pending.iter_mut() {
            for (end, seq, step) in std::mem::take(&mut p.owed) {
                // A pair's request went to end a's namespace.
                let at = p.at[end];
                let answer = self.conn(at).and_then(|conn| conn.wait(seq));
                let err = match answer {
                    Ok(Ok(device)) => {
                        if let (Step::Find, Some(device)) = (step, device) {
                            p.index = [device.index, device.peer];
                        }
                        continue;
                    }
                    Ok(Err(refusal)) => {
                        // Refused: not made, and a device of its name
                        // that was there already is not ours to delete.
                        if let Step::Pair = step {
                            p.sent = false;
                        }
                        refused(p.what(end, step), refusal)
                    }
                    Err(err) => {
                        if let Step::Pair = step {
                            p.unanswered = Some(seq);
                        }
                        err
                    }
                };
                p.failed.get_or_insert(err);
            }
        }
    }

    /// The link made, or its failure, once it is removed again.
    fn finish(&mut self, p: &mut Pending<'_, '_>) -> Result<Made> {
        let ends = [&p.link.a, &p.link.b];
        let Some(err) = p.failed.take() else {
            self.use_bridges(p, true);
            let made = |end: usize| MadeEnd {
                ifname: OsStr::from_bytes(&p.names[end]).to_owned(),
                ifindex: p.index[end],
                addrs: ends[end].addrs.clone(),
            };
            return Ok(Made {
                a: made(0),
                b: made(1),
            });
        };
        if p.sent {
            let unanswered = p.unanswered;
            let _ = self
                .conn(p.at[0])
                .and_then(|conn| undo(conn, unanswered, &p.names[0]));
        }
        self.release(p);
        Err(err)
    }

    /// Counts link `p` among the users of its bridges (`add`), or no
    /// longer.
    fn use_bridges(&mut self, p: &Pending<'_, '_>, add: bool) {
        for end in 0..2 {
            let place = self.places.get_mut(&p.at[end].id);
            for b in place.into_iter().flat_map(|pl| pl.bridges.iter_mut()) {
                if Some(b.index) == p.masters[end] {
                    b.users = if add { b.users + 1 } else { b.users - 1 };
                }
            }
        }
    }

    /// Removes link `p`, made, to be made again.
    fn unmake(&mut self, p: &mut Pending<'_, '_>) {
        let _ = self
            .conn(p.at[0])
            .and_then(|conn| delete_named(conn, &p.names[0]));
        self.use_bridges(p, false);
        self.release(p);
    }

    /// Gives back the `ethN` names and the addresses a failed link had
    /// taken.
    fn release(&mut self, p: &mut Pending<'_, '_>) {
        let ends = [&p.link.a, &p.link.b];
        for (end, spec) in ends.iter().enumerate() {
            let Some(place) = self.places.get_mut(&p.at[end].id) else {
                continue;
            };
            let held = std::mem::take(&mut p.held[end]);
            if let Some(addrs) = place.addrs.as_mut() {
                for addr in &spec.addrs[..held] {
                    addrs.remove(&octets(addr.ip));
                }
            }
            // Taken, so that a second release (finish's, after
            // prepare's) does not give back a name a later link chose.
            let name = std::mem::take(&mut p.names[end]);
            if let (None, Some(names)) = (&spec.ifname, place.names.as_mut()) {
                names.remove(&name);
                place.next_eth = 0;
            }
        }
    }

    /// Removes the bridges made for links none of which was kept, and
    /// returns them (namespace, name). Once `settled` (the batch is done),
    /// the bridges kept are no longer counted as made by it.
    fn drop_unused_bridges(&mut self, settled: bool) -> Vec<(NetnsId, Vec<u8>)> {
        let mut dropped = Vec::new();
        let bridged = match settled {
            true => std::mem::take(&mut self.bridged),
            false => self.bridged.clone(),
        };
        for id in bridged {
            let Some(place) = self.places.get_mut(&id) else {
                continue;
            };
            let (unused, kept) = std::mem::take(&mut place.bridges)
                .into_iter()
                .partition(|b| b.made && b.users == 0);
            place.bridges = kept;
            for bridge in place.bridges.iter_mut() {
                bridge.made &= !settled;
            }
            for bridge in unused {
                let bridge: Bridge = bridge;
                if let Some(names) = place.names.as_mut() {
                    names.remove(&bridge.name);
                }
                if let Some(conn) = place.conn.as_mut() {
                    let body = Attrs::after(&ifinfomsg(bridge.index, false));
                    if let Ok(seq) = conn.send(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, &body) {
                        let _ = conn.wait(seq);
                    }
                }
                dropped.push((id, bridge.name));
            }
        }
        dropped
    }

    /// Removes the link whose end is `ifname` in `ns` (`None`: this
    /// process's namespace), and so its peer wherever that is: one
    /// RTM_DELLINK, after an RTM_GETLINK that checks it is a veth.
    pub fn delete(&mut self, ns: Option<&Netns>, ifname: &OsStr) -> Result<()> {
        check_ifname(ifname)?;
        let at = self.at(ns);
        let which = format!("{} in {at}", InQuotes::new(ifname));
        let conn = self.conn(at)?;
        let device = match get(conn, ifname.as_bytes())? {
            Ok(Some(device)) => device,
            Ok(None) => return Err(Error::Netlink("no device in a device's reply")),
            Err(r) => return Err(refused(format!("find {which}"), r)),
        };
        if !device.veth {
            return Err(Error::Link(format!("{which} is not a veth")));
        }
        let body = Attrs::after(&ifinfomsg(device.index, false));
        let seq = conn.send(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, &body)?;
        conn.wait(seq)?
            .map(|_| ())
            .map_err(|r| refused(format!("delete {which}"), r))
    }
}

impl Pending<'_, '_> {
    /// End `end`'s spec.
    fn spec(&self, end: usize) -> &End<'_> {
        if end == 0 { &self.link.a } else { &self.link.b }
    }

    /// Whether an end of this link in the namespace `id` is one that
    /// `is` says yes of.
    fn holds(&self, id: NetnsId, is: impl Fn(usize) -> bool) -> bool {
        (0..2).any(|end| self.at[end].id == id && is(end))
    }

    /// What a refused request asked, for "cannot ...".
    fn what(&self, end: usize, step: Step) -> String {
        let at = |end: usize| format!("{} in {}", InQuotes(&self.names[end]), self.at[end]);
        match step {
            Step::Pair => format!("make the veth pair {} and {}", at(0), at(1)),
            Step::Find => format!("find {}", at(end)),
            Step::Port => match self.masters[end] {
                Some(_) => format!("put {} into its bridge", at(end)),
                None => format!("bring up {}", at(end)),
            },
            Step::Addr(addr) => format!("add {addr} to {}", at(end)),
        }
    }
}

fn get_request(conn: &mut Conn, name: &[u8]) -> Result<u32> {
    let mut body = Attrs::after(&ifinfomsg(0, false));
    body.push(IFLA_IFNAME, &nul(name));
    body.push(IFLA_EXT_MASK, &RTEXT_FILTER_SKIP_STATS.to_ne_bytes());
    conn.send(RTM_GETLINK, NLM_F_REQUEST, &body)
}

/// Removes the pair that a failed link made, by its end `name` (one that
/// is not there is fine). If the pair's answer was lost to a socket error
/// (`unanswered`: its request), the pair may have been made or refused
/// (its name taken by a device that is not ours): the answer is looked
/// for again first, behind the answer to a request sent after it; if it
/// is gone for good, only a veth of that name is taken for the pair.
fn undo(conn: &mut Conn, unanswered: Option<u32>, name: &[u8]) -> Result<()> {
    if let Some(seq) = unanswered {
        let device = get(conn, name)?;
        let at = conn.answers.iter().position(|(s, _)| *s == seq);
        let ours = match at.map(|at| conn.answers.swap_remove(at).1) {
            Some(answer) => answer.is_ok(),
            None => matches!(device, Ok(Some(Device { veth: true, .. }))),
        };
        if !ours {
            return Ok(());
        }
    }
    delete_named(conn, name).map(drop)
}

/// Removes the device `name` of `conn`'s namespace: RTM_DELLINK by name.
fn delete_named(conn: &mut Conn, name: &[u8]) -> Result<Answer> {
    let mut body = Attrs::after(&ifinfomsg(0, false));
    body.push(IFLA_IFNAME, &nul(name));
    let seq = conn.send(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, &body)?;
    conn.wait(seq)
}

/// The device `name` of `conn`'s namespace: RTM_GETLINK by name.
fn get(conn: &mut Conn, name: &[u8]) -> Result<Answer> {
    let seq = get_request(conn, name)?;
    conn.wait(seq)
}

/// One dump (`kind`, `body`) of the namespace `conn` is in: each
/// message's body to `each`. Refused, it could not list the `what` of
/// `at`.
fn dump(
    conn: &mut Conn,
    at: At<'_>,
    kind: u16,
    body: Attrs,
    what: &str,
    each: &mut dyn FnMut(&[u8]),
) -> Result<()> {
    let seq = conn.socket.send(kind, NLM_F_REQUEST | NLM_F_DUMP, &body)?;
    let answered = conn.socket.replies(seq, &mut |msg| each(msg.body))?;
    answered
        .map(drop)
        .map_err(|r| refused(format!("list the {what} of {at}"), r))
}

/// Every device of the namespace `conn` is in, its ifindex and name to
/// `each`: one RTM_GETLINK dump.
fn devices(conn: &mut Conn, at: At<'_>, each: &mut dyn FnMut(u32, &[u8])) -> Result<()> {
    let mut body = Attrs::after(&ifinfomsg(0, false));
    body.push(IFLA_EXT_MASK, &RTEXT_FILTER_SKIP_STATS.to_ne_bytes());
    dump(conn, at, RTM_GETLINK, body, "devices", &mut |msg| {
        let attrs = msg.get(16..).unwrap_or_default();
        if let Some(name) = netlink::attr(attrs, IFLA_IFNAME) {
            let index = netlink::i32_at(msg, 4) as u32;
            each(index, name.strip_suffix(b"\0").unwrap_or(name));
        }
    })
}

/// Every address of the namespace `conn` is in, with the ifindex of its
/// device, to `each`: one RTM_GETADDR dump, of every family.
fn addresses(conn: &mut Conn, at: At<'_>, each: &mut dyn FnMut(IpAddr, u32)) -> Result<()> {
    let body = Attrs::after(&[0; 8]);
    dump(conn, at, RTM_GETADDR, body, "addresses", &mut |msg| {
        // struct ifaddrmsg: family, prefix length, flags, scope, ifindex.
        let (Some(head), Some(attrs)) = (msg.get(..8), msg.get(8..)) else {
            return;
        };
        // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer's
        // when one is set, and the only one IPv6 gives otherwise.
        let bytes = netlink::attr(attrs, IFA_LOCAL).or_else(|| netlink::attr(attrs, IFA_ADDRESS));
        let ip = match bytes.map(<[u8; 16]>::try_from) {
            Some(Ok(v6)) => IpAddr::from(v6),
            _ => match bytes.map(<[u8; 4]>::try_from) {
                Some(Ok(v4)) => IpAddr::from(v4),
                _ => return,
            },
        };
        each(ip, netlink::i32_at(head, 4) as u32);
    })
}

/// An address's bytes: 4 for IPv4, 16 for IPv6.
fn octets(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(ip) => ip.octets().to_vec(),
        IpAddr::V6(ip) => ip.octets().to_vec(),
    }
}

/// Whether `ip` is a device's own, as IPv6 link-local addresses are
/// (fe80::/10): two devices may have the same.
fn own(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(ip) if ip.is_unicast_link_local())
}

/// Whether `name` is an interface name the kernel takes
/// (dev_valid_name): 1 to 15 bytes, not `.` or `..`, without `/`, `:` or
/// white space (the kernel's isspace: ASCII's, with \v, and 0xa0). The
/// error ([`Error::Link`]) says why not, in words; [`Wirer`] checks its
/// names with it too, before anything is sent.
pub fn check_ifname(name: &OsStr) -> Result<()> {
    let bytes = name.as_bytes();
    let why = if bytes.is_empty() {
        "it is empty"
    } else if bytes.len() > IFNAME_MAX {
        "it is longer than 15 bytes"
    } else if bytes == b"." || bytes == b".." {
        "it is . or .."
    } else if bytes.iter().any(|&b| b"/: \t\n\x0b\x0c\r\xa0".contains(&b)) {
        "it contains '/', ':' or white space"
    } else {
        return Ok(());
    };
    Err(Error::Link(format!(
        "invalid interface name {}: {why}",
        InQuotes::new(name)
    )))
}

fn refused(what: String, refusal: Refusal) -> Error {
    Error::Refused {
        what,
        errno: refusal.errno,
        message: refusal.message,
    }
}

/// struct ifinfomsg: any family and type, device `index` (0: by name or
/// new), IFF_UP set and changed when `up`.
fn ifinfomsg(index: u32, up: bool) -> [u8; 16] {
    let mut msg = [0; 16];
    msg[4..8].copy_from_slice(&index.to_ne_bytes());
    if up {
        let up = (libc::IFF_UP as u32).to_ne_bytes();
        msg[8..12].copy_from_slice(&up);
        msg[12..16].copy_from_slice(&up);
    }
    msg
}

/// An RTM_NEWADDR body: struct ifaddrmsg and IFA_LOCAL and IFA_ADDRESS,
/// as `ip addr add ADDR dev DEV` sends them.
fn address(addr: &Addr, index: u32, nodad: bool) -> Attrs {
    let bytes = octets(addr.ip);
    let family = if addr.ip.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    let flags = if nodad && addr.ip.is_ipv6() {
        IFA_F_NODAD
    } else {
        0
    };
    let mut head = [family as u8, addr.prefix, flags, 0, 0, 0, 0, 0];
    head[4..8].copy_from_slice(&index.to_ne_bytes());
    let mut body = Attrs::after(&head);
    body.push(IFA_LOCAL, &bytes).push(IFA_ADDRESS, &bytes);
    body
}

fn nul(name: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(name.len() + 1);
    v.extend_from_slice(name);
    v.push(0);
    v
}
