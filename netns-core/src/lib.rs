//! netns-core: named Linux network namespaces, as `ip netns` keeps them.
//!
//! A named namespace is a file in a run dir (`/run/netns` by default) with
//! the namespace's nsfs file bind-mounted onto it; the mount keeps the
//! namespace alive with no process in it. This crate holds every system
//! call the netns tools make: it parses no arguments and prints nothing.
//! Types are checked where they are made: a [`Name`] that exists is valid.
//!
//! References: ip-netns(8), network_namespaces(7), mount_namespaces(7).

#![warn(missing_docs)]

mod enter;
mod error;
mod files;
mod inside;
mod inspect;
mod link;
mod mountinfo;
mod name;
mod netlink;
mod netns;
mod nsid;
mod pids;
pub mod quote;
mod relay;
pub mod rootless;
mod run_dir;
mod scan;
mod scratch;
mod sys;
mod user;
mod watch;

pub use enter::{ETC_NETNS_DIR, Enter, Exit, Sysfs};
pub use error::{Error, Result};
pub use inspect::{Found, inspect};
pub use link::holding;
pub use name::Name;
pub use netns::{Creator, Deleter, Netns, NetnsId, Removed, attach};
pub use nsid::{NsidDump, NsidSocket, nsids};
pub use pids::pids;
pub use run_dir::{DEFAULT_RUN_DIR, Entry, RUN_DIR_ENV, RunDir};
pub use scratch::Scratch;
pub use watch::{Event, Kinds, Watch, Woken};
