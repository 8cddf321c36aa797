//! Runs closures in a network namespace: each on a thread of its own that
//! enters the namespace and is thrown away after, so the caller's thread
//! never moves. As root:
//!
//!     cargo run -p netns-core --example run_closure

use netns_core::Scratch;

fn main() -> netns_core::Result<()> {
    // A namespace of this run's own (see the throwaway_test example).
    let scratch = Scratch::new()?;
    let ns = scratch.netns();

    // The closure's value comes back. /proc/thread-self is the thread's
    // own: /proc/self and /proc/net are the main thread's, which is not
    // in the namespace.
    let inside = ns.run(|| std::fs::read_link("/proc/thread-self/ns/net"))?;
    let here = std::fs::read_link("/proc/thread-self/ns/net");
    println!("closure in {}", inside.expect("ns link").display());
    println!("caller in {}", here.expect("ns link").display());
    println!("namespace is net:[{}]", ns.id().inode);

    // A closure may borrow, and what it forks starts in the namespace.
    let command = "ip";
    let links = ns.run(|| {
        std::process::Command::new(command)
            .args(["-o", "link"])
            .output()
    })?;
    let links = String::from_utf8_lossy(&links.expect("ip runs").stdout).into_owned();
    for link in links.lines() {
        println!("device {}", link.split(':').nth(1).unwrap_or("").trim());
    }

    // A panic in the closure is the caller's again, once the thread has
    // ended; the caller is where it was.
    let caught = std::panic::catch_unwind(|| ns.run(|| panic!("in the namespace")));
    let message = caught.expect_err("the panic came back");
    println!("panic: {}", message.downcast_ref::<&str>().unwrap_or(&"?"));
    Ok(())
}
