//! netns-core: named Linux network namespaces, as `ip netns` keeps them.
//!
//! This crate holds every system call the netns tools make (`netns-add`,
//! `netns-exec`, ...): it parses no arguments and prints nothing, and
//! every error names what was attempted, on which path, and why
//! (`cannot create "/run/netns/blue": File exists`). Types are checked
//! where they are made: a [`Name`] that exists is valid.
//!
//! # The words
//!
//! - A **run dir** ([`RunDir`]) is a directory of named namespaces:
//!   `/run/netns` by default, where `ip netns` keeps them (or
//!   `$NETNS_RUN_DIR`, [`RunDir::resolve`]). It is made a mount point of
//!   its own, shared, the first time a name is added
//!   ([`RunDir::prepare`]), so that names added later show in mount
//!   namespaces made before (containers, commands run by `ip netns
//!   exec`).
//! - A **name** ([`Name`]) is one file in a run dir with a namespace's
//!   nsfs file bind-mounted onto it: the mount keeps the namespace alive
//!   with no process in it. Ours and `ip netns`'s are the same files, so
//!   each tool sees the other's.
//! - A **handle** ([`Netns`]) is a namespace open: a descriptor of its
//!   nsfs file, which keeps it alive while held, whatever happens to its
//!   name, and its identity ([`NetnsId`], which [`RunDir::names_of`] and
//!   [`pids`] compare). Open one by name ([`Netns::open`]), path
//!   ([`Netns::open_path`], another tool's file or `/proc/PID/ns/net`) or
//!   process ([`Netns::of_process`]).
//! - A **keeper** is rootless mode's small process ([`rootless`]): it
//!   holds a user namespace of an ordinary user's own, with a mount and a
//!   network namespace in it, in which that user's names are bind mounts
//!   as root's are in the host's; it ends once its run dir is empty.
//!
//! # The thread rule
//!
//! Namespaces belong to threads, not processes: setns(2) moves only the
//! calling thread. A library that moves its caller's thread and back
//! (netns-rs's `run`, CNI's `ns.Do`) leaves the thread in the other
//! namespace when the closure panics or the way back is refused, which
//! it is for root of a user namespace that does not own the current
//! network namespace (`unshare -U -r -m`, `podman unshare`); and what the
//! closure changed besides (a mount namespace unshared) stays with a
//! thread that goes on running other code. So here **no thread that
//! enters a namespace ever comes back**:
//!
//! - [`Netns::run`] runs a closure on a fresh thread that enters the
//!   namespace and then ends: its value comes back, its panic is resumed
//!   in the caller, and the caller never moves.
//! - [`Netns::socket`] makes a socket inside by a task that is thrown
//!   away (clone(2) sharing memory and descriptors, no pthread): the
//!   socket is the namespace's for good, usable from any thread.
//! - [`Creator::create`] unshares and mounts a new namespace in such a
//!   task; [`Enter`] enters in a child process, between fork and exec.
//!
//! # Root and rootless mode
//!
//! Making, naming and removing namespaces and entering them for a command
//! mount and unshare, which needs CAP_SYS_ADMIN: root, or root of a user
//! namespace in a mount namespace of its own (`unshare -U -r -m`), over
//! the namespaces that user namespace owns. Reading (names, entries,
//! [`pids`], [`inspect`]) needs only what /proc lets the caller see.
//! [`Netns::run`] and [`Netns::socket`] need what setns(2) needs:
//! CAP_SYS_ADMIN over the namespace.
//!
//! Rootless mode gives an ordinary user names of their own that outlive
//! a command: [`rootless::join`] (called before the process starts a
//! thread) joins the keeper of a run dir of the user's (in
//! `$XDG_RUNTIME_DIR/netns`, [`RunDir::resolve_rootless`]), starting it
//! when asked to; the process is then root of the keeper's user
//! namespace, in its mount and network namespaces, and everything in this
//! crate works on that run dir's names as it does for root, nsids being
//! those of the keeper's network namespace. The mode is a value, not the
//! process's state: the [`rootless::Session`] that `join` returns holds
//! the keeper, and its [`run_dir`](rootless::Session::run_dir) is the run
//! dir in rootless mode ([`RunDir::rootless`]), which the calls given it
//! go by: [`attach`] names only namespaces that user namespace owns,
//! [`Enter`] shows the run dir to the command at /run/netns. A refusal
//! worded for the mode is [`Error::rootless`]'s: attach's of a namespace
//! not that user namespace's is; a caller words the others as it reports
//! them, as the tools do.
//!
//! ```no_run
//! # fn main() -> netns_core::Result<()> {
//! use netns_core::rootless::{self, Keeper};
//! use netns_core::{RunDir, Scratch};
//!
//! let session = rootless::join(RunDir::resolve_rootless(None)?, Keeper::Start)?;
//! let ns = Scratch::in_run_dir(session.run_dir().clone(), "test")?;
//! # Ok(())
//! # }
//! ```
//!
//! # Examples
//!
//! Make a name, open it, remove it (`netns-core/examples/` has each of
//! these as a program; they run as root):
//!
//! ```no_run
//! # fn main() -> netns_core::Result<()> {
//! use netns_core::{Creator, Deleter, Name, Netns, RunDir};
//!
//! let run_dir = RunDir::resolve(None); // /run/netns, or $NETNS_RUN_DIR
//! let name = Name::for_new("blue")?;
//! Creator::new(&run_dir)?.create(&name)?;
//! let blue = Netns::open(&run_dir, &name)?;
//! Deleter::new(&run_dir)?.delete(&name)?; // `blue` holds the namespace till dropped
//! # Ok(())
//! # }
//! ```
//!
//! Run a closure in it, and make a socket there for this thread:
//!
//! ```no_run
//! # fn main() -> netns_core::Result<()> {
//! # use netns_core::{Name, Netns, RunDir};
//! # let blue = Netns::open(&RunDir::new("/run/netns"), &Name::new("blue")?)?;
//! let link = blue.run(|| std::fs::read_link("/proc/thread-self/ns/net"))?;
//! let udp = std::net::UdpSocket::from(blue.socket(libc::AF_INET, libc::SOCK_DGRAM, 0)?);
//! # Ok(())
//! # }
//! ```
//!
//! Run a command in it, as `ip netns exec blue ip link` does:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use netns_core::{Enter, Name, RunDir, Sysfs};
//!
//! let enter = Enter::new(&RunDir::new("/run/netns"), &Name::new("blue")?, Sysfs::read()?)?;
//! let status = enter.command(std::process::Command::new("ip").arg("link")).status()?;
//! # Ok(())
//! # }
//! ```
//!
//! A namespace for one test, gone after it even when it panics:
//!
//! ```no_run
//! #[test]
//! fn in_a_namespace_of_its_own() {
//!     let ns = netns_core::Scratch::new().unwrap();
//!     ns.netns().run(|| { /* the test */ }).unwrap();
//! }
//! ```
//!
//! # The rest
//!
//! What the tools do, as calls: list a run dir ([`RunDir::names`],
//! [`RunDir::entries`]), identify ([`RunDir::names_of`]), [`pids`],
//! attach ([`attach`]), nsids ([`NsidSocket`], [`nsids`]), the names that
//! hold a device ([`holding`]), veth pairs between namespaces with their
//! addresses and bridges, thousands at a time ([`Wirer`]), watch names
//! and nsids come and go
//! ([`Watch`]), and every namespace on the machine with what holds it
//! ([`inspect`]). Names and paths as one line of text: [`quote`].
//!
//! References: ip-netns(8), network_namespaces(7), mount_namespaces(7),
//! user_namespaces(7), setns(2).

#![warn(missing_docs)]

mod enter;
mod error;
mod files;
mod held;
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
mod veth;
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
pub use veth::{Addr, End, Link, Made, MadeEnd, Wirer, check_ifname};
pub use watch::{Event, Kinds, Watch, Woken};
