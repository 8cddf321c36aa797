//! Scans of a directory that ask the kernel one question per entry (a stat
//! of each run-dir file, a readlink of each /proc/PID/ns/net). With the
//! `threads` feature, the questions are shared out to a thread a core:
//! such calls are path walks, and they run well side by side.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::error::{Error, Result};

/// Fewer entries than this a thread, and no thread is started for them
/// (one costs about as much as a hundred stats).
#[cfg(feature = "threads")]
const PER_THREAD: usize = 256;

/// Reads the directory `path` and calls `f` with the directory (open) and
/// each entry's name, `.` and `..` left out; returns what `f` kept, in no
/// particular order. `None` when the directory is missing.
pub(crate) fn scan<R: Send>(
    path: &Path,
    f: &(dyn Fn(BorrowedFd<'_>, &OsStr) -> Option<R> + Sync),
) -> Result<Option<Vec<R>>> {
    let Some((dir, names)) = read(path)? else {
        return Ok(None);
    };
    let dir = dir.as_fd();
    Ok(Some(filter_map(&names, |name| f(dir, name))))
}

/// [`scan`], with what `f` kept in the order of the entries' names
/// (sorted as bytes): the names are sorted before they are asked of, so
/// that the caller need not sort the answers (one sort of names in the
/// multicall, not one more for each type of answer: 5 KB).
pub(crate) fn scan_sorted<R: Send>(
    path: &Path,
    f: &(dyn Fn(BorrowedFd<'_>, &OsStr) -> Option<R> + Sync),
) -> Result<Option<Vec<R>>> {
    let Some((dir, mut names)) = read(path)? else {
        return Ok(None);
    };
    names.sort_unstable();
    let dir = dir.as_fd();
    Ok(Some(filter_map(&names, |name| f(dir, name))))
}

/// The entry names of the directory `path`, `.` and `..` left out, in
/// the calling thread (no question to share out); `None` when it is
/// missing.
pub(crate) fn names(path: &Path) -> Result<Option<Vec<OsString>>> {
    Ok(read(path)?.map(|(_, names)| names))
}

/// The directory `path`, open, and its entry names; `None` when it is
/// missing.
fn read(path: &Path) -> Result<Option<(Dir, Vec<OsString>)>> {
    let mut dir = match Dir::open(
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(dir) => dir,
        Err(Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(Error::path("open", path, e)),
    };
    let mut names = Vec::new();
    for entry in dir.iter() {
        let entry = entry.map_err(|e| Error::path("read", path, e))?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(OsString::from(OsStr::from_bytes(name)));
        }
    }
    Ok(Some((dir, names)))
}

/// `f` of every item, keeping the `Some`s, shared out evenly to a thread
/// a core. (Handing batches to the threads while the directory was still
/// read was slower for /proc, whose reads contend with the questions, and
/// no faster for a run dir: measured.) A thread that cannot be started
/// (EAGAIN: the user's process limit, a cgroup's pids.max, which is when
/// one reaches for netns-pids) leaves its share to the calling thread.
#[cfg(feature = "threads")]
fn filter_map<T: Sync, R: Send>(all: &[T], f: impl Fn(&T) -> Option<R> + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(all.len().div_ceil(PER_THREAD));
    if threads <= 1 {
        return all.iter().filter_map(f).collect();
    }
    let share = all.len().div_ceil(threads);
    std::thread::scope(|s| {
        let f = &f;
        let work = move |part: &[T]| part.iter().filter_map(f).collect::<Vec<R>>();
        let workers: Vec<_> = all
            .chunks(share)
            .map(|part| {
                let started = std::thread::Builder::new().spawn_scoped(s, move || work(part));
                started.map_err(|_| part)
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| match w {
                Ok(w) => w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
                Err(part) => work(part),
            })
            .collect()
    })
}

/// `f` of every item, keeping the `Some`s, in the calling thread (see the
/// `threads` feature in Cargo.toml).
#[cfg(not(feature = "threads"))]
fn filter_map<T, R>(all: &[T], f: impl Fn(&T) -> Option<R>) -> Vec<R> {
    all.iter().filter_map(f).collect()
}
