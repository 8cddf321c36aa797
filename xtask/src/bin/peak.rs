//! `peak FILE PROG [ARGS...]`: runs PROG with this process's stdin,
//! stdout and stderr, then writes PROG's peak resident set in KiB into
//! FILE and exits with PROG's status. The peak is getrusage(2)'s
//! RUSAGE_CHILDREN maximum: that of the largest child waited for, and
//! PROG is this process's only one. For `cargo xtask bench`, whose own
//! children (cargo among them) would hide a smaller one's.

use std::process::{Command, ExitCode};

use nix::sys::resource::{UsageWho, getrusage};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, prog, rest @ ..] = args.as_slice() else {
        eprintln!("usage: peak FILE PROG [ARGS...]");
        return ExitCode::from(2);
    };
    let status = match Command::new(prog).args(rest).status() {
        Ok(status) => status,
        Err(e) => {
            eprintln!("peak: cannot run {prog}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let kib = getrusage(UsageWho::RUSAGE_CHILDREN).map_or(0, |u| u.max_rss());
    if let Err(e) = std::fs::write(file, format!("{kib}\n")) {
        eprintln!("peak: cannot write {file}: {e}");
        return ExitCode::FAILURE;
    }
    match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(code as u8),
        None => ExitCode::FAILURE,
    }
}
