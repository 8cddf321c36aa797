//! System files read whole (/etc/passwd, /proc/sys settings, mountinfo),
//! and the decimal numbers in them: one read loop on nix's read(2); and
//! whether a read of a pipe would wait.

use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;

use crate::error::{Error, Result};

/// The whole of the file at `path`, read in parts of at least `part`
/// bytes straight into the result. /proc files report a size of 0, so
/// the part is the caller's guess: one that holds the usual file takes it
/// in one read (a mountinfo is made afresh on each read).
pub(crate) fn read(path: &Path, part: usize) -> Result<Vec<u8>> {
    let fail = |e| Error::path("read", path, e);
    let fd = open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).map_err(fail)?;
    let mut text = Vec::new();
    loop {
        let len = text.len();
        text.resize(len + part.max(len), 0);
        match nix::unistd::read(&fd, &mut text[len..]) {
            Ok(0) => {
                text.truncate(len);
                return Ok(text);
            }
            Ok(n) => text.truncate(len + n),
            Err(Errno::EINTR) => text.truncate(len),
            Err(e) => return Err(fail(e)),
        }
    }
}

/// A field of decimal digits only (no sign, no space), as a number.
pub(crate) fn decimal(field: &[u8]) -> Option<u64> {
    if field.is_empty() || field.len() > 19 {
        return None;
    }
    field.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_takes_digits_only() {
        assert_eq!(decimal(b"65534"), Some(65534));
        assert_eq!(decimal(b"0"), Some(0));
        for bad in [
            &b""[..],
            b"-1",
            b"+1",
            b" 1",
            b"1a",
            b"99999999999999999999",
        ] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
    }
}
