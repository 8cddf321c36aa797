//! Whether podman is installed, for the test of the leak check's podman
//! part: the same check as the integration tests' (tests/build.rs, whose
//! doc says why and how), one file for both.

#[path = "../tests/build.rs"]
mod podman;

fn main() {
    podman::main();
}
