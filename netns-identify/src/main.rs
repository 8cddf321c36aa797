//! The `netns-identify` binary; the verb itself is the library (see lib.rs).
use std::process::ExitCode;

fn main() -> ExitCode {
    netns_identify::run(std::env::args_os().collect())
}
