//! Code and sockets in a namespace without moving the caller: the thread
//! rule as API. Namespaces belong to threads (tasks), not processes, so
//! whatever enters one is a thread of its own that is thrown away after:
//! no thread ever has to come back, and none that touched a namespace is
//! ever used again.

use std::os::fd::{AsFd, OwnedFd};

use nix::sched::{CloneFlags, setns};

use crate::error::{Error, Result};
use crate::netns::Netns;
use crate::sys;

impl Netns {
    /// Runs `f` in this network namespace and returns its value: on a
    /// fresh thread that enters the namespace (setns(2)), runs `f`, and
    /// ends. The calling thread never moves, and the thread that did is
    /// never reused, so nothing `f` changes about its own thread (another
    /// namespace entered, a mount namespace unshared, a changed
    /// directory or credentials) outlives it; and nothing depends on
    /// being allowed back, which root of a user namespace that does not
    /// own the current network namespace is not (`unshare -U -r -m`).
    ///
    /// A panic in `f` is resumed in the caller, payload and all, once
    /// the thread has ended (with `panic = "abort"` it aborts the
    /// process, as any panic does). The error is for a thread that could
    /// not be started or could not enter the namespace; then `f` has not
    /// run.
    ///
    /// `f` may borrow from the caller (the thread is scoped). Only the
    /// network namespace is entered: files are opened in the caller's
    /// mount namespace, where /sys shows the caller's devices (see
    /// [`Enter`](crate::Enter) for a command that sees the namespace's
    /// own), and /proc/self and /proc/net are the main thread's:
    /// /proc/thread-self/net is the namespace's. A process forked by `f`
    /// (a [`std::process::Command`] it spawns) starts in the namespace
    /// too.
    ///
    /// ```no_run
    /// # fn main() -> netns_core::Result<()> {
    /// use netns_core::{Name, Netns, RunDir};
    ///
    /// let blue = Netns::open(&RunDir::new("/run/netns"), &Name::new("blue")?)?;
    /// let devices = blue.run(|| std::fs::read_to_string("/proc/thread-self/net/dev"))?;
    /// print!("{}", devices.expect("its devices"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn run<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        let ns = self.as_fd();
        std::thread::scope(|scope| {
            let thread = std::thread::Builder::new()
                .name("netns-run".into())
                .spawn_scoped(scope, move || {
                    setns(ns, CloneFlags::CLONE_NEWNET)?;
                    Ok(f())
                })
                .map_err(|e| Error::io_sys("start a thread to enter a namespace", &e))?;
            match thread.join() {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(errno)) => Err(Error::path("enter", self.path(), errno)),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// A socket made in this network namespace (socket(2) with
    /// `domain`, `kind` and `protocol`, as `libc::AF_INET`,
    /// `libc::SOCK_STREAM`, `0`; close-on-exec added): it belongs to the
    /// namespace for good, whichever thread uses it after: std's socket
    /// types take it (`TcpListener::from(fd)`), any thread may use it,
    /// and an async runtime too (tokio's `TcpListener::from_std`; make it
    /// with `libc::SOCK_NONBLOCK` then). Made by a task that is thrown
    /// away after, not a thread: cheaper than [`Netns::run`].
    ///
    /// Only the socket is in the namespace: a name the caller resolves
    /// to an address (DNS, /etc/hosts) is resolved where the caller is,
    /// with the caller's /etc/resolv.conf, not the namespace's
    /// /etc/netns/NAME one. Resolve in the namespace
    /// ([`Netns::run`], or a command through [`Enter`](crate::Enter))
    /// where that matters.
    ///
    /// ```no_run
    /// # fn main() -> netns_core::Result<()> {
    /// use netns_core::{Name, Netns, RunDir};
    ///
    /// let blue = Netns::open(&RunDir::new("/run/netns"), &Name::new("blue")?)?;
    /// let fd = blue.socket(libc::AF_INET, libc::SOCK_STREAM, 0)?;
    /// let listener = std::net::TcpListener::from(fd);
    /// # Ok(())
    /// # }
    /// ```
    pub fn socket(
        &self,
        domain: libc::c_int,
        kind: libc::c_int,
        protocol: libc::c_int,
    ) -> Result<OwnedFd> {
        sys::socket_in(self.as_fd(), domain, kind, protocol)
            .map_err(|(step, errno)| Error::path(step, self.path(), errno))
    }
}
