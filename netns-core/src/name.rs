//! `Name`: a namespace's name, checked once at the edge so that every
//! `Name` the rest of the code sees is a valid single file name.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;

use crate::error::{Error, Result};

/// The name of a namespace: one file in the run dir.
///
/// It follows `ip netns`: not empty, not `.` or `..`, no `/`, at most
/// NAME_MAX (255) bytes. NUL is refused too, since no file name can hold
/// it. Anything else, spaces and non-UTF-8 bytes included, is allowed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(OsString);

impl Name {
    /// The longest name a Linux file system takes (NAME_MAX).
    pub const MAX_LEN: usize = 255;

    pub fn new(name: impl Into<OsString>) -> Result<Self> {
        let name = name.into();
        let bytes = name.as_bytes();
        let reason = if bytes.is_empty() {
            "it is empty"
        } else if bytes == b"." || bytes == b".." {
            "\".\" and \"..\" are not names"
        } else if bytes.contains(&b'/') {
            "it contains '/'"
        } else if bytes.contains(&0) {
            "it contains a NUL byte"
        } else if bytes.len() > Self::MAX_LEN {
            "it is longer than 255 bytes"
        } else {
            return Ok(Name(name));
        };
        Err(Error::InvalidName { name, reason })
    }

    pub fn as_os_str(&self) -> &OsStr {
        &self.0
    }
}

impl AsRef<OsStr> for Name {
    fn as_ref(&self) -> &OsStr {
        &self.0
    }
}

/// Lossy for non-UTF-8 names: for messages and JSON, never for paths.
impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_string_lossy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_ip_accepts() {
        for ok in ["blue", "a b", "-x", "...", "x\ny", &"n".repeat(255)] {
            assert!(Name::new(ok).is_ok(), "{ok:?}");
        }
        assert!(Name::new(OsStr::from_bytes(b"\xff\xfe")).is_ok());
    }

    #[test]
    fn rejects_what_cannot_be_one_file() {
        for bad in ["", ".", "..", "a/b", "/", "a\0b", &"n".repeat(256)] {
            let err = Name::new(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid name \""), "{err}");
        }
    }
}
