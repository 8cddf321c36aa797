//! Network devices over rtnetlink: which namespaces hold a device of a
//! given name, as `ip -n NAME link show DEV` would find it there.
//!
//! A netlink socket answers for the network namespace it was made in, so
//! the question is put to each namespace through a socket made there, by
//! a task that is thrown away after (`sys::socket_in`): the calling
//! thread never leaves its namespace.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::netlink::{self, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use crate::netns::Netns;
use crate::run_dir::{Entry, RunDir};

const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const IFLA_IFNAME: u16 = 3;
const IFLA_EXT_MASK: u16 = 29;
const IFLA_ALT_IFNAME: u16 = 53;
/// RTEXT_FILTER_SKIP_STATS: a reply without the device's counters.
const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;
/// struct ifinfomsg, all zero: any family, type, index and flags.
const IFINFOMSG: [u8; 16] = [0; 16];
/// A device name up to this long (less the NUL) goes in IFLA_IFNAME, a
/// longer one (an altname) in IFLA_ALT_IFNAME, as ip does.
const IFNAMSIZ: usize = 16;
/// A reply without counters fits in this, but for a device with many
/// altnames: the socket grows its buffer then.
const REPLY: usize = 16 * 1024;
/// The longest altname a device can have, with its NUL (ALTIFNAMSIZ): a
/// longer name is no device's.
const ALTIFNAMSIZ: usize = 128;

/// Asks namespaces about their devices.
pub(crate) struct Devices;

impl Devices {
    pub(crate) fn new() -> Result<Self> {
        Ok(Devices)
    }

    /// Whether the namespace `ns` has a network device named `dev`, by
    /// its name or an altname (`ip link property add dev X altname Y`):
    /// RTM_GETLINK by name, asked through a socket made in `ns`.
    fn holds(&mut self, ns: &Netns, dev: &OsStr) -> Result<bool> {
        let mut name = dev.as_bytes().to_vec();
        name.push(0);
        if name.len() > ALTIFNAMSIZ {
            return Ok(false);
        }
        let mut socket = self.socket_in(ns)?;
        let by = match name.len() <= IFNAMSIZ {
            true => IFLA_IFNAME,
            false => IFLA_ALT_IFNAME,
        };
        let mask = RTEXT_FILTER_SKIP_STATS.to_ne_bytes();
        let attrs = [(by, &name[..]), (IFLA_EXT_MASK, &mask[..])];
        let seq = socket.request(RTM_GETLINK, NLM_F_REQUEST, &IFINFOMSG, &attrs)?;
        let mut found = false;
        let answered = socket.replies(seq, &mut |msg| found |= msg.kind == RTM_NEWLINK)?;
        match answered {
            Ok(_) => Ok(found),
            // No such device (ENODEV), or a name the kernel cannot hold
            // (EINVAL, ERANGE): not there.
            Err(refusal)
                if matches!(refusal.errno, Errno::ENODEV | Errno::EINVAL | Errno::ERANGE) =>
            {
                Ok(false)
            }
            Err(refusal) => Err(Error::path(
                "look for a device in",
                ns.path(),
                refusal.errno,
            )),
        }
    }

    /// The names of every network device of the namespace `ns`, in the
    /// kernel's order (by index): one RTM_GETLINK dump, without counters.
    pub(crate) fn names(&mut self, ns: &Netns) -> Result<Vec<OsString>> {
        let mut socket = self.socket_in(ns)?;
        let mask = RTEXT_FILTER_SKIP_STATS.to_ne_bytes();
        let flags = NLM_F_REQUEST | NLM_F_DUMP;
        let seq = socket.request(RTM_GETLINK, flags, &IFINFOMSG, &[(IFLA_EXT_MASK, &mask)])?;
        let mut names = Vec::new();
        let answered = socket.replies(seq, &mut |msg| {
            let attrs = msg.body.get(IFINFOMSG.len()..).unwrap_or_default();
            if let Some(name) = netlink::attr(attrs, IFLA_IFNAME) {
                let name = name.strip_suffix(b"\0").unwrap_or(name);
                names.push(OsStr::from_bytes(name).to_owned());
            }
        })?;
        answered.map_err(|r| Error::path("list the devices of", ns.path(), r.errno))?;
        Ok(names)
    }

    fn socket_in(&mut self, ns: &Netns) -> Result<netlink::Socket> {
        netlink::Socket::open_in(ns, REPLY).map(netlink::Socket::growing)
    }
}

/// Brings up the loopback device (index 1) of the namespace `ns`:
/// RTM_NEWLINK with IFF_UP set and changed, as `ip link set lo up`, over
/// a socket made there. A namespace is made with its loopback down.
pub(crate) fn loopback_up(ns: &Netns) -> Result<()> {
    const LOOPBACK: i32 = 1;
    let up = (libc::IFF_UP as u32).to_ne_bytes();
    let mut ifinfomsg = IFINFOMSG;
    ifinfomsg[4..8].copy_from_slice(&LOOPBACK.to_ne_bytes());
    ifinfomsg[8..12].copy_from_slice(&up);
    ifinfomsg[12..16].copy_from_slice(&up);
    let mut socket = netlink::Socket::open_in(ns, REPLY)?;
    let seq = socket.request(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, &ifinfomsg, &[])?;
    socket.replies(seq, &mut |_| {})?.map_err(|refusal| {
        Error::path("bring up the loopback device of", ns.path(), refusal.errno)
    })?;
    Ok(())
}

/// The entries of `run_dir` whose namespace holds a device named `dev`,
/// in their order, and why each namespace that could not be asked could
/// not (it cannot be entered, say): the others are asked all the same.
/// Each namespace is asked once, however many names it has. A name
/// deleted meanwhile, or a stale file, holds nothing.
pub fn holding(
    run_dir: &RunDir,
    entries: Vec<Entry>,
    dev: &OsStr,
) -> Result<(Vec<Entry>, Vec<Error>)> {
    let mut devices = Devices::new()?;
    let mut answers: HashMap<u64, bool> = HashMap::new();
    let mut kept = Vec::new();
    let mut failed = Vec::new();
    for entry in entries {
        let Some(inode) = entry.inode else { continue };
        let holds = match answers.get(&inode) {
            Some(&holds) => holds,
            None => {
                let asked =
                    Netns::open(run_dir, &entry.name).and_then(|ns| devices.holds(&ns, dev));
                let holds = match asked {
                    Ok(holds) => holds,
                    Err(Error::NotANamespace { .. })
                    | Err(Error::Path {
                        errno: Errno::ENOENT,
                        ..
                    }) => false,
                    Err(err) => {
                        failed.push(err);
                        false
                    }
                };
                answers.insert(inode, holds);
                holds
            }
        };
        if holds {
            kept.push(entry);
        }
    }
    Ok((kept, failed))
}
