//! The `netns-exec` binary; the verb itself is the library (see lib.rs).
use std::process::ExitCode;

fn main() -> ExitCode {
    netns_exec::run(std::env::args_os().collect())
}
