//! The kernel floor for `cargo xtask bench`: `floor N DIR PREFIX` makes N
//! named namespaces in the prepared run dir DIR with nothing around the
//! system calls each one needs (the file, unshare, the bind mount, setns
//! back: what `ip netns add` and `netns-add` do), in one process. No error
//! handling beyond stopping: it is a yardstick, not a tool.

use std::process::ExitCode;

use nix::fcntl::{OFlag, open};
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, setns, unshare};
use nix::sys::stat::Mode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, n, dir, prefix] = args.as_slice() else {
        eprintln!("usage: floor N DIR PREFIX");
        return ExitCode::from(2);
    };
    let n: usize = n.parse().unwrap_or(0);
    let result = (|| -> nix::Result<()> {
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
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floor: {e}");
            ExitCode::FAILURE
        }
    }
}
