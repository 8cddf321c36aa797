//! Integration tests: the verb binaries run as real processes against the
//! real kernel, each test in a run dir of its own. They need root.
//! Run them with `cargo xtask test`, which also checks that nothing they
//! made is left on the machine afterwards.

mod add;
mod attach;
mod batch;
mod cli;
mod completion;
mod container;
mod del;
mod examples;
mod exec;
mod fallbacks;
mod faults;
mod image;
mod inspect;
mod interop;
mod limits;
mod link;
mod link_attacks;
mod link_runs;
mod list;
mod multicall;
pub mod names;
mod nsid;
mod pids;
mod rootless;
mod scale;
mod systemd;
mod term;
mod user;
mod util;
mod watch;
