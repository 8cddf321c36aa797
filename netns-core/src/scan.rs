//! Scans of a directory that ask the kernel one question per entry (a stat
//! of each run-dir file, a readlink of each /proc/PID/ns/net). With the
//! `threads` feature, the questions are shared out to a thread a core
//! while the directory is still being read: such calls are path walks,
//! and they run well side by side.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::dir::{Dir, OwningIter};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::error::{Error, Result};

/// Entries handed to a thread at a time; fewer than this in all, and no
/// thread is started (one costs about as much as a hundred stats).
const BATCH: usize = 256;

/// Reads the directory `path` and calls `f` with the directory (open) and
/// each entry's name, `.` and `..` left out; returns what `f` kept, in no
/// particular order. `None` when the directory is missing.
pub(crate) fn scan<R: Send>(
    path: &Path,
    f: &(dyn Fn(BorrowedFd<'_>, &OsStr) -> Option<R> + Sync),
) -> Result<Option<Vec<R>>> {
    let Some((fd, mut batches)) = open(path)? else {
        return Ok(None);
    };
    let dir = fd.as_fd();
    let kept = filter_map(&mut batches, |name: &OsString| f(dir, name));
    match batches.failed {
        Some(e) => Err(Error::path("read", path, e)),
        None => Ok(Some(kept)),
    }
}

/// The directory `path`, open, and its entries to come; `None` when it is
/// missing. The reader needs the directory to itself: the questions are
/// asked relative to a second descriptor of it.
fn open(path: &Path) -> Result<Option<(OwnedFd, Batches)>> {
    let fd: OwnedFd = match nix::fcntl::open(
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(Error::path("open", path, e)),
    };
    let reader = fd
        .try_clone()
        .map_err(|e| Error::io("open", path, &e))
        .and_then(|dup| Dir::from_fd(dup).map_err(|e| Error::path("open", path, e)))?;
    let batches = Batches {
        // Owned: a borrowed iterator rewinds the directory when dropped.
        entries: reader.into_iter(),
        failed: None,
    };
    Ok(Some((fd, batches)))
}

/// A directory's entry names, BATCH at a time; a read that fails ends
/// them, and leaves its errno in `failed`.
struct Batches {
    entries: OwningIter,
    failed: Option<Errno>,
}

impl Iterator for Batches {
    type Item = Vec<OsString>;

    fn next(&mut self) -> Option<Vec<OsString>> {
        let mut batch = Vec::with_capacity(BATCH);
        while self.failed.is_none() && batch.len() < BATCH {
            match self.entries.next() {
                Some(Ok(entry)) => {
                    let name = entry.file_name().to_bytes();
                    if name != b"." && name != b".." {
                        batch.push(OsString::from(OsStr::from_bytes(name)));
                    }
                }
                Some(Err(e)) => self.failed = Some(e),
                None => break,
            }
        }
        (!batch.is_empty()).then_some(batch)
    }
}

/// `f` of every item of every batch, keeping the `Some`s: a thread a core
/// (less one) takes batches as they come, and the calling thread joins in
/// once it has made them all.
#[cfg(feature = "threads")]
fn filter_map<T: Send, R: Send>(
    mut batches: impl Iterator<Item = Vec<T>>,
    f: impl Fn(&T) -> Option<R> + Sync,
) -> Vec<R> {
    use std::sync::{Mutex, mpsc};
    let helpers = std::thread::available_parallelism().map_or(1, |n| n.get()) - 1;
    let Some(first) = batches.next() else {
        return Vec::new();
    };
    let second = match batches.next() {
        Some(second) if helpers > 0 => second,
        second => {
            let rest = second.into_iter().chain(batches);
            return std::iter::once(first)
                .chain(rest)
                .flat_map(|batch| batch.iter().filter_map(&f).collect::<Vec<R>>())
                .collect();
        }
    };
    let (send, receive) = mpsc::channel::<Vec<T>>();
    let receive = Mutex::new(receive);
    let work = || {
        let mut kept = Vec::new();
        // A poisoned lock or a closed channel: nothing more to take.
        while let Ok(Ok(batch)) = receive.lock().map(|r| r.recv()) {
            kept.extend(batch.iter().filter_map(&f));
        }
        kept
    };
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..helpers).map(|_| s.spawn(work)).collect();
        for batch in [first, second].into_iter().chain(batches) {
            // Only a worker that panicked closes the channel early; its
            // join below passes the panic on.
            if send.send(batch).is_err() {
                break;
            }
        }
        drop(send);
        let mut kept = work();
        for worker in workers {
            kept.extend(
                worker
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e)),
            );
        }
        kept
    })
}

/// `f` of every item of every batch, keeping the `Some`s, in the calling
/// thread (see the `threads` feature in Cargo.toml).
#[cfg(not(feature = "threads"))]
fn filter_map<T, R>(batches: impl Iterator<Item = Vec<T>>, f: impl Fn(&T) -> Option<R>) -> Vec<R> {
    batches
        .flat_map(|batch| batch.into_iter().filter_map(|item| f(&item)))
        .collect()
}
