//! The `netns-link` binary; the verb itself is the library (see lib.rs).
use std::process::ExitCode;

fn main() -> ExitCode {
    netns_link::run(std::env::args_os().collect())
}
