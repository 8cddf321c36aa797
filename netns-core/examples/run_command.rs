//! Runs a command in a named namespace, as `ip netns exec NAME` does: the
//! network namespace, a mount namespace of the command's own with the
//! namespace's /sys, and /etc/netns/NAME's files over /etc's; std's
//! Command gives its output and status. As root:
//!
//!     cargo run -p netns-core --example run_command -- ls /sys/class/net

use std::process::Command;

use netns_core::{Enter, Scratch, Sysfs};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let (program, args) = args
        .split_first()
        .ok_or("usage: run_command COMMAND [ARG]...")?;
    let scratch = Scratch::new()?;

    // Read before: entering then only makes system calls, in the child.
    let enter = Enter::new(scratch.run_dir(), scratch.name(), Sysfs::read()?)?;
    let mut command = Command::new(program);
    let out = enter.command(command.args(args)).output()?;

    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    println!("{}", out.status);
    Ok(())
}
