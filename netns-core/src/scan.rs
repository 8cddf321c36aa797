//! Scans of a directory that ask the kernel one question per entry (a stat
//! of each run-dir file, a readlink of each /proc/PID/ns/net). With the
//! `threads` feature, the questions are shared out to a thread a core:
//! such calls are path walks, and they run well side by side.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::dir::{Dir, OwningIter};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::error::{Error, Result};

/// Entries read at a time; fewer than this a thread, and no thread is
/// started for them (one costs about as much as a hundred stats).
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

/// `f` of every item, keeping the `Some`s: the items read first, then
/// shared out evenly to a thread a core. (Handing batches to the threads
/// while the directory is still read was slower for /proc, whose reads
/// contend with the questions, and no faster for a run dir: measured.)
#[cfg(feature = "threads")]
fn filter_map<T: Send + Sync, R: Send>(
    batches: impl Iterator<Item = Vec<T>>,
    f: impl Fn(&T) -> Option<R> + Sync,
) -> Vec<R> {
    let all: Vec<T> = batches.flatten().collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(all.len().div_ceil(BATCH));
    if threads <= 1 {
        return all.iter().filter_map(f).collect();
    }
    let share = all.len().div_ceil(threads);
    std::thread::scope(|s| {
        let f = &f;
        let workers: Vec<_> = all
            .chunks(share)
            .map(|part| s.spawn(move || part.iter().filter_map(f).collect::<Vec<R>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
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
