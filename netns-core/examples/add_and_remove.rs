//! Makes a named network namespace and removes it again, as `ip netns add
//! NAME` and `ip netns del NAME` do. As root:
//!
//!     cargo run -p netns-core --example add_and_remove -- blue
//!
//! The run dir is /run/netns, or $NETNS_RUN_DIR where that is set.

use netns_core::{Creator, Deleter, Name, Netns, RunDir};

fn main() -> netns_core::Result<()> {
    let name = std::env::args_os().nth(1).unwrap_or("example".into());
    // Checked once, here: a Name is one file name, and a new one is one
    // line of UTF-8.
    let name = Name::for_new(name)?;
    let run_dir = RunDir::resolve(None);

    // A file in the run dir (O_EXCL: an existing name is an error) with a
    // new namespace bind-mounted onto it.
    let path = Creator::new(&run_dir)?.create(&name)?;
    println!("made {}", path.display());

    // A handle: the namespace open, which keeps it alive while held.
    let ns = Netns::open(&run_dir, &name)?;
    println!("{name} is net:[{}]", ns.id().inode);
    for listed in run_dir.names_of(ns.id())? {
        println!("listed {listed}");
    }

    // The name goes (all or nothing); the namespace ends with the last
    // thing that holds it: here `ns`, at the end of main.
    Deleter::new(&run_dir)?.delete(&name)?;
    println!("removed {name}");
    Ok(())
}
