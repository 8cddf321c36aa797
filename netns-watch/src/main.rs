//! The `netns-watch` binary; the verb itself is the library (see lib.rs).
use std::process::ExitCode;

fn main() -> ExitCode {
    netns_watch::run(std::env::args_os().collect())
}
