//! Whether podman is installed, for the container tests: where it is not,
//! they are built `#[ignore]`d, so that the test summary counts them as
//! ignored and names the reason (libtest cannot skip a test at run time).
//! With NETNS_TEST_STRICT set (CI sets it, and installs podman) they are
//! not, and a missing podman fails them.

pub fn main() {
    println!("cargo::rustc-check-cfg=cfg(no_podman)");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=NETNS_TEST_STRICT");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut found = false;
    for dir in std::env::split_paths(&path).filter(|dir| dir.is_absolute() && dir.is_dir()) {
        // Looked at again when a package comes or goes there.
        println!("cargo::rerun-if-changed={}", dir.display());
        found |= dir.join("podman").is_file();
    }
    if !found && std::env::var_os("NETNS_TEST_STRICT").is_none() {
        println!("cargo::rustc-cfg=no_podman");
    }
}
