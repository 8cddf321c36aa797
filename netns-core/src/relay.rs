//! A command run apart from this process: `netns-exec --user` runs it in
//! a child, in a session of its own (setsid(2)), so that it has no
//! controlling terminal. A command that kept root's terminal as its own
//! could push input into it with TIOCSTI, for root's shell to read once
//! the command ends; in root's session it could also send SIGCONT to
//! root's processes there. This process waits for it and passes on the
//! signals that a terminal or `kill` send it, stops when the command stops
//! and goes on when it does, and ends as the command ended.
//!
//! A new session, not a pty relayed to the terminal: that would keep job
//! control for an interactive shell run as the user, but it is a
//! terminal's worth of code (modes, window size, the copying in both
//! directions) in a binary with a size budget. In a session of its own an
//! interactive shell has no job control (bash says so), and the rest runs
//! as it did; ^C and ^Z reach the command through this process.

use nix::errno::Errno;
use nix::sys::prctl::set_dumpable;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, getpid};

use crate::enter::Exit;
use crate::error::{Error, Result};

/// Passed on to the command as they come. All but SIGWINCH and SIGCONT
/// would have ended this process: after the command, they still do.
const PASSED: [Signal; 9] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGWINCH,
    Signal::SIGCONT,
];

/// The signals held back for [`Relay::wait`], from before the fork on, so
/// that none comes between the fork and the wait unseen.
pub(crate) struct Relay {
    /// The mask before [`Relay::block`]: the command's, and ours again
    /// after.
    old: SigSet,
    waited: SigSet,
    /// The last signal passed on that would have ended this process.
    ending: Option<Signal>,
}

impl Relay {
    /// Blocks the signals passed on, SIGTSTP and SIGCHLD: they wait, in
    /// order, for [`Relay::wait`]. Before the fork.
    pub(crate) fn block() -> Result<Self> {
        let mut waited = SigSet::empty();
        for signal in PASSED.iter().chain(&[Signal::SIGTSTP, Signal::SIGCHLD]) {
            waited.add(*signal);
        }
        let old = waited
            .thread_swap_mask(SigmaskHow::SIG_BLOCK)
            .map_err(|errno| Error::Sys {
                action: "hold back signals",
                errno,
            })?;
        Ok(Relay {
            old,
            waited,
            ending: None,
        })
    }

    /// Between fork and exec: the command gets the mask as it was (one
    /// system call, which cannot fail with a mask it gave).
    pub(crate) fn unblock(&self) {
        let _ = self.old.thread_set_mask();
    }

    /// Waits for `child` to end, passing signals on. SIGTSTP (^Z) stops
    /// the child; a child that stops, for that or any reason, stops this
    /// process too (so the shell sees its job stop), and is continued when
    /// this process is.
    pub(crate) fn wait(&mut self, child: Pid) -> Result<Exit> {
        let failed = |errno| Error::Sys {
            action: "wait for the command",
            errno,
        };
        let how = WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED;
        loop {
            match self.waited.wait().map_err(failed)? {
                Signal::SIGCHLD => loop {
                    match waitpid(child, Some(how)) {
                        Ok(WaitStatus::Exited(_, code)) => return Ok(Exit::Code(code)),
                        Ok(WaitStatus::Signaled(_, signal, _)) => {
                            return Ok(Exit::Signal(signal as i32));
                        }
                        Ok(WaitStatus::Stopped(..)) => {
                            let _ = kill(getpid(), Signal::SIGSTOP);
                            let _ = kill(child, Signal::SIGCONT);
                        }
                        Err(Errno::EINTR) => {}
                        Err(errno) => return Err(failed(errno)),
                        Ok(_) => break,
                    }
                },
                Signal::SIGTSTP => {
                    let _ = kill(child, Signal::SIGSTOP);
                }
                signal => {
                    let _ = kill(child, signal);
                    if !matches!(signal, Signal::SIGWINCH | Signal::SIGCONT) {
                        self.ending = Some(signal);
                    }
                }
            }
        }
    }

    /// The mask back as it was (a signal that came meanwhile, still
    /// pending, is delivered now); then with `pass_on`, a signal passed on
    /// that would have ended this process ends it. Without, this process
    /// goes on to end as the command did ([`end_as`]): a command that
    /// caught the terminal's ^C and went on must not take its wrapper down
    /// with it when it ends.
    pub(crate) fn end(self, pass_on: bool) {
        let _ = self.old.thread_set_mask();
        if let (true, Some(signal)) = (pass_on, self.ending) {
            let _ = kill(getpid(), signal);
        }
    }
}

/// Ends this process as the command ended: with its exit status, or of
/// its signal (at its default action, without a core file: the command
/// wrote its own), or where that signal's default is not to end a
/// process, with 128 and its number, as a shell reports it.
pub(crate) fn end_as(exit: Exit) -> ! {
    match exit {
        Exit::Code(code) => std::process::exit(code),
        Exit::Signal(number) => {
            // Not dumpable: no core file.
            let _ = set_dumpable(false);
            // At its default action first: Rust's runtime ignores SIGPIPE,
            // and one ignored would leave exit 141 where the command died
            // of it.
            if let Ok(signal) = Signal::try_from(number) {
                crate::sys::default_action(number);
                let _ = kill(getpid(), signal);
            }
            std::process::exit(128 + number)
        }
    }
}
