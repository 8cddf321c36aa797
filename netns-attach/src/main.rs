//! The `netns-attach` binary; the verb itself is the library (see lib.rs).
use std::process::ExitCode;

fn main() -> ExitCode {
    netns_attach::run(std::env::args_os().collect())
}
