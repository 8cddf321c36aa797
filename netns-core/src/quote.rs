//! Names and paths as one line of text, and back: the quoting every
//! output and message uses, so that a name with a newline stays one
//! record and no control byte reaches a terminal.
//!
//! The form is git's "C-quoted" path: bytes that need nothing are printed
//! as they are; otherwise the whole is put in double quotes, with `\"`,
//! `\\`, `\a \b \t \n \v \f \r`, and three octal digits for any other
//! control byte and every byte that is not UTF-8. Printable non-ASCII
//! UTF-8 stays as it is, as git's `core.quotePath=false` leaves it.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;

/// `bytes` as one line of text: borrowed as they are when they hold no
/// control byte, no backslash, no byte that is not UTF-8 and do not start
/// with a double quote; else C-quoted (see the module).
pub fn quote(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(bytes)
        && !text.starts_with('"')
        && !text.bytes().any(|b| b == b'\\' || is_control(b))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if c.is_ascii() && is_control(c as u8) => push_escape(&mut out, c as u8),
                c => out.push(c),
            }
        }
        for &b in chunk.invalid() {
            push_escape(&mut out, b);
        }
    }
    out.push('"');
    Cow::Owned(out)
}

/// The bytes a line of text stands for: a line that starts and ends with a
/// double quote is C-quoted and decoded (octal and `\xHH` escapes
/// included, as C has them); any other line is taken as it is. `Err` says
/// what is wrong with a quoted line that is not well formed.
pub fn unquote(line: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    let inner = match line {
        [b'"', inner @ .., b'"'] => inner,
        _ => return Ok(Cow::Borrowed(line)),
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut rest = inner;
    while let Some((&b, after)) = rest.split_first() {
        rest = after;
        match b {
            b'\\' => {}
            b'"' => return Err("a double quote inside it is not escaped".to_owned()),
            b => {
                out.push(b);
                continue;
            }
        }
        let Some((&e, after)) = rest.split_first() else {
            return Err("it ends in a lone backslash".to_owned());
        };
        rest = after;
        let byte = match e {
            b'"' | b'\\' => e,
            b'a' => 0x07,
            b'b' => 0x08,
            b't' => b'\t',
            b'n' => b'\n',
            b'v' => 0x0b,
            b'f' => 0x0c,
            b'r' => b'\r',
            b'0'..=b'3' => {
                let digits = [e, *rest.first().unwrap_or(&0), *rest.get(1).unwrap_or(&0)];
                if !digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                    return Err("an octal escape needs three digits (\\000 to \\377)".to_owned());
                }
                rest = &rest[2..];
                digits.iter().fold(0, |n, d| n * 8 + (d - b'0'))
            }
            b'x' => {
                let hex = rest.get(..2).and_then(|h| std::str::from_utf8(h).ok());
                let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) else {
                    return Err("a \\x escape needs two hex digits".to_owned());
                };
                rest = &rest[2..];
                byte
            }
            e => {
                return Err(format!(
                    "unknown escape \\{}",
                    quote(&[e]).trim_matches('"')
                ));
            }
        };
        out.push(byte);
    }
    Ok(Cow::Owned(out))
}

/// `bytes` for a message: quoted as [`quote`] does, and in double quotes
/// even when they need none, so that where a path or name starts and ends
/// is plain (`cannot create "/run/netns/blue": File exists`).
pub struct InQuotes<'a>(pub &'a [u8]);

impl<'a> InQuotes<'a> {
    /// A path or name (anything that is an `OsStr`) in quotes.
    pub fn new(text: &'a (impl AsRef<OsStr> + ?Sized)) -> Self {
        InQuotes(text.as_ref().as_bytes())
    }
}

impl fmt::Display for InQuotes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match quote(self.0) {
            Cow::Borrowed(text) => write!(f, "\"{text}\""),
            Cow::Owned(quoted) => f.write_str(&quoted),
        }
    }
}

fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

fn push_escape(out: &mut String, b: u8) {
    let named = match b {
        0x07 => 'a',
        0x08 => 'b',
        b'\t' => 't',
        b'\n' => 'n',
        0x0b => 'v',
        0x0c => 'f',
        b'\r' => 'r',
        _ => {
            out.extend(['\\', (b'0' + (b >> 6)) as char]);
            out.extend([(b'0' + (b >> 3 & 7)) as char, (b'0' + (b & 7)) as char]);
            return;
        }
    };
    out.extend(['\\', named]);
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASES: [(&[u8], &str); 9] = [
        (b"plain", "plain"),
        ("h\u{e9}llo".as_bytes(), "h\u{e9}llo"),
        (b"x\"y", "x\"y"),
        (b"a\nb", "\"a\\nb\""),
        (b"\\", "\"\\\\\""),
        (b"\"x", "\"\\\"x\""),
        (b"\xff\tz", "\"\\377\\tz\""),
        (b"\x1b[0m", "\"\\033[0m\""),
        (b"\x7f\xc3", "\"\\177\\303\""),
    ];

    #[test]
    fn quotes_as_git_quotes_paths() {
        for (bytes, quoted) in CASES {
            assert_eq!(quote(bytes), quoted, "{bytes:?}");
        }
    }

    #[test]
    fn unquote_takes_back_what_quote_wrote() {
        for (bytes, quoted) in CASES {
            assert_eq!(unquote(quoted.as_bytes()).unwrap(), bytes, "{quoted}");
        }
        assert_eq!(unquote(b"\"\\x41\\101\"").unwrap(), &b"AA"[..]);
        // Only a line quoted at both ends is decoded.
        for literal in [&b"a\\nb"[..], b"\"x", b"x\"", b"\""] {
            assert_eq!(unquote(literal).unwrap(), literal);
        }
        for bad in [
            &b"\"\\\""[..],
            b"\"\\q\"",
            b"\"\\40\"",
            b"\"\\xg0\"",
            b"\"a\"b\"",
        ] {
            assert!(unquote(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn messages_always_have_quotes() {
        assert_eq!(InQuotes(b"/run/netns/x").to_string(), "\"/run/netns/x\"");
        assert_eq!(InQuotes(b"a\nb").to_string(), "\"a\\nb\"");
    }
}
