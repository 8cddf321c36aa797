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
//!
//! With `--rootless`, as an ordinary user: the keeper of the user's run
//! dir (`$XDG_RUNTIME_DIR/netns`) is joined, started if none runs, and
//! the namespace is a name there while the test runs (`netns-list
//! --rootless` shows it); after the test, passed or failed, the name is
//! gone, and so is the keeper, its run dir empty.

use netns_core::rootless::{self, Keeper};
use netns_core::{RunDir, Scratch};

/// A fresh namespace has one device, `lo`, up (the scratch brings it up).
fn a_fresh_namespace_has_lo_alone(fail: bool, in_rootless_mode: bool) {
    // Joined before any thread starts (setns into a user namespace
    // refuses a threaded caller); dropped after the namespace, last.
    let session = in_rootless_mode.then(|| {
        let run_dir = RunDir::resolve_rootless(None).expect("a run dir of the user's");
        rootless::join(run_dir, Keeper::Start).expect("the keeper joined")
    });
    let ns = match &session {
        Some(session) => Scratch::in_run_dir(session.run_dir().clone(), "scratch"),
        None => Scratch::new(),
    }
    .expect("a namespace for the test");
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
    a_fresh_namespace_has_lo_alone(false, false);
}

fn main() {
    let given = |flag: &str| std::env::args().any(|a| a == flag);
    a_fresh_namespace_has_lo_alone(given("--fail"), given("--rootless"));
    println!("passed");
}
