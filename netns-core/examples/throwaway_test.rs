//! A test with a namespace of its own: `Scratch` makes one under a unique
//! name (in a run dir of its own, here) and removes it on drop, also when
//! the test panics. In a crate's tests, as root:
//!
//! ```ignore
//! #[test]
//! fn starts_with_lo_alone() {
//!     let ns = netns_core::Scratch::new().unwrap();
//!     // ... ns.netns().run(|| ...), ns.netns().socket(...), ns.path()
//! }
//! ```
//!
//! This example is such a test (`cargo test -p netns-core --example
//! throwaway_test`), and the same body as a program, which fails on
//! purpose when given `--fail` to show that the namespace goes all the
//! same:
//!
//!     cargo run -p netns-core --example throwaway_test -- --fail

use netns_core::Scratch;

/// A fresh namespace has one device, `lo`, up (the scratch brings it up).
fn a_fresh_namespace_has_lo_alone(fail: bool) {
    let ns = Scratch::new().expect("a namespace for the test");
    println!("made {}", ns.path().display());
    // /proc/thread-self/net is the thread's namespace's: the one entered.
    let dev = ns
        .netns()
        .run(|| std::fs::read_to_string("/proc/thread-self/net/dev"))
        .expect("entered")
        .expect("read");
    let names: Vec<&str> = dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .collect();
    assert_eq!(names, ["    lo"]);
    if fail {
        panic!("failing on purpose: {} goes all the same", ns.name());
    }
}

#[test]
fn test() {
    a_fresh_namespace_has_lo_alone(false);
}

fn main() {
    a_fresh_namespace_has_lo_alone(std::env::args().any(|a| a == "--fail"));
    println!("passed");
}
