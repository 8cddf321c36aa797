//! The signals that end a process, held back while a batch is made, so
//! that one which comes meanwhile takes effect once the batch is whole:
//! no pair without its addresses (`Wirer::make`), no file without its
//! namespace (`Creator`'s batches, `attach`) and none left by a delete
//! (`Deleter::delete`). Only SIGKILL cannot wait.

use nix::sys::signal::{SigSet, SigmaskHow, Signal};

/// The signals that end a process held back (blocked on this thread)
/// while it lives, and let go as they were when it is dropped: a ^C, a
/// hangup or a kill's SIGTERM that comes during a batch takes effect
/// once the batch is whole, not between a pair and its addresses.
pub(crate) struct Held(Option<SigSet>);

impl Held {
    pub(crate) fn ending() -> Held {
        let mut ending = SigSet::empty();
        for signal in [
            Signal::SIGHUP,
            Signal::SIGINT,
            Signal::SIGQUIT,
            Signal::SIGTERM,
        ] {
            ending.add(signal);
        }
        // Unheld if it cannot be (it can fail only for a bad argument).
        Held(ending.thread_swap_mask(SigmaskHow::SIG_BLOCK).ok())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(old) = &self.0 {
            let _ = old.thread_set_mask();
        }
    }
}
