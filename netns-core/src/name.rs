//! `Name`: a namespace's name, checked once at the edge so that every
//! `Name` the rest of the code sees is a valid single file name.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;

use crate::error::{Error, Result};
use crate::quote::quote;

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

    /// Checks `name` against `ip netns`'s rules (above): a name that is
    /// one file in a run dir, as it is found there or given. A name about
    /// to be made should go through [`Name::for_new`].
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
        Err(Error::InvalidName {
            name,
            reason: reason.to_owned(),
        })
    }

    /// A name for a namespace about to be made (add, attach): [`Name::new`]'s
    /// rules, and valid UTF-8 with no control character (bytes 0x01 to
    /// 0x1f and 0x7f, and the C1 characters U+0080 to U+009F, which
    /// terminals act on too), so that every name this makes is one line of
    /// text that a terminal shows as it is and a pipe carries back to `-`.
    /// ip takes such names; names already in a run dir are still taken as
    /// they are.
    pub fn for_new(name: impl Into<OsString>) -> Result<Self> {
        let name = Name::new(name)?;
        let bytes = name.0.as_bytes();
        let reason = if let Some(at) = bytes.iter().position(|&b| b < 0x20 || b == 0x7f) {
            let byte = bytes[at];
            let hint = match (byte, at + 1 == bytes.len()) {
                (b'\r', true) => " (read from a file with CRLF line ends?)",
                (b'\n', _) => " (one name a line: a newline cannot be in one)",
                _ => "",
            };
            format!("it contains the control character 0x{byte:02x} at byte {at}{hint}")
        } else if let Err(e) = std::str::from_utf8(bytes) {
            let at = e.valid_up_to();
            format!("it is not UTF-8 (byte 0x{:02x} at byte {at})", bytes[at])
        } else if let Some((at, c)) = name.0.to_str().and_then(|text| {
            text.char_indices()
                .find(|(_, c)| ('\u{80}'..='\u{9f}').contains(c))
        }) {
            // C1 characters are U+0080 to U+009F: two hex digits say which.
            let low = c as u32 as u8;
            format!("it contains the control character U+00{low:02X} at byte {at}")
        } else {
            return Ok(name);
        };
        Err(Error::InvalidName {
            name: name.0,
            reason,
        })
    }

    /// The name as JSON can carry it exactly: `None` when it is not
    /// UTF-8.
    pub fn to_str(&self) -> Option<&str> {
        self.0.to_str()
    }

    /// The name's bytes, as the run dir's file is named.
    pub fn as_os_str(&self) -> &OsStr {
        &self.0
    }
}

impl AsRef<OsStr> for Name {
    fn as_ref(&self) -> &OsStr {
        &self.0
    }
}

/// The name as one line of text, as every message and text output
/// prints it: as it is, or C-quoted when it needs it (see [`quote`]).
impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&quote(self.0.as_bytes()))
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
    fn new_names_are_one_line_of_utf8() {
        for ok in ["blue", "a b", "héllo", "x\"y", "back\\slash"] {
            assert!(Name::for_new(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            &b"a\nb"[..],
            b"c\r",
            b"\x1b[m",
            b"\x7f",
            b"\xff",
            b"\xc2\x9b1m",
        ] {
            assert!(Name::for_new(OsStr::from_bytes(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rejects_what_cannot_be_one_file() {
        for bad in ["", ".", "..", "a/b", "/", "a\0b", &"n".repeat(256)] {
            let err = Name::new(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid name \""), "{err}");
        }
    }
}
