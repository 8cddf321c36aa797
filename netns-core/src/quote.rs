//! Names and paths as one line of text, and back: the quoting every
//! output and message uses, so that a name with a newline stays one
//! record and no control byte reaches a terminal.
//!
//! The form is git's "C-quoted" path: bytes that need nothing are printed
//! as they are; otherwise the whole is put in double quotes, with `\"`,
//! `\\`, `\a \b \t \n \v \f \r`, and three octal digits for any other
//! control byte, each byte of a C1 control character (U+0080 to U+009F,
//! which terminals act on too: U+009B is the 8-bit CSI) and every byte
//! that is not UTF-8. Other non-ASCII UTF-8 stays as it is, as git's
//! `core.quotePath=false` leaves it. A name that ends as netns-list's
//! nsid does (` (id: N)`) is quoted too, so that a line of the list is
//! read back as the name it shows (see [`without_nsid`]).
//!
//! [`without_nsid`] and [`unquote`] are the way back, for any program
//! that reads names from the tools' text (`netns-list | netns-del -` does,
//! and so may a script's or a Rust program's own reader): the format and
//! its inverse are one thing, kept in one place, tested against each
//! other.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;

/// `bytes` as one line of text: borrowed as they are when they hold no
/// control character, no backslash, no byte that is not UTF-8, do not
/// start with a double quote and do not end as an nsid; else C-quoted
/// (see the module).
pub fn quote(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(bytes)
        && !text.starts_with('"')
        && !text.chars().any(|c| c == '\\' || is_control(c))
        && without_nsid(bytes).len() == bytes.len()
    {
        return Cow::Borrowed(text);
    }
    Cow::Owned(quoted(bytes))
}

/// `bytes` always C-quoted, in double quotes with what needs it escaped.
fn quoted(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if is_control(c) => {
                    let mut utf8 = [0; 4];
                    for &b in c.encode_utf8(&mut utf8).as_bytes() {
                        push_escape(&mut out, b);
                    }
                }
                c => out.push(c),
            }
        }
        for &b in chunk.invalid() {
            push_escape(&mut out, b);
        }
    }
    out.push('"');
    out
}

/// A line of netns-list without the ` (id: N)` it ends in when the name
/// has an nsid: what stands for the name. A name that itself ends so is
/// printed quoted (see [`quote`]), and so is never cut.
pub fn without_nsid(line: &[u8]) -> &[u8] {
    let Some(rest) = line.strip_suffix(b")") else {
        return line;
    };
    let digits = rest.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    match rest[..rest.len() - digits].strip_suffix(b" (id: ") {
        Some(name) if digits > 0 => name,
        _ => line,
    }
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

/// `bytes` for a message: C-quoted always, in double quotes even when
/// they need none, so that where a path or name starts and ends is plain
/// (`cannot create "/run/netns/blue": File exists`), and a double quote
/// inside is escaped: the message can be decoded as any quoted line.
pub struct InQuotes<'a>(pub &'a [u8]);

impl<'a> InQuotes<'a> {
    /// A path or name (anything that is an `OsStr`) in quotes.
    pub fn new(text: &'a (impl AsRef<OsStr> + ?Sized)) -> Self {
        InQuotes(text.as_ref().as_bytes())
    }
}

/// A name or path longer than this is cut in a message: no one reads a
/// longer one, and a broken pipeline can send megabytes of one. A name is
/// at most 255 bytes, a path in the run dir a few dozen more.
const MESSAGE_CAP: usize = 320;
/// How much of each end of a cut one is shown: the start says where, the
/// end which (a path's name is at its end).
const MESSAGE_SHOWN: usize = 32;

impl fmt::Display for InQuotes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0;
        if bytes.len() <= MESSAGE_CAP {
            return f.write_str(&quoted(bytes));
        }
        // Cut between characters, not inside one (a UTF-8 continuation
        // byte is 0b10xxxxxx), so that no byte shows as one that is not
        // UTF-8.
        let boundary = |at: usize| bytes.get(at).is_none_or(|b| b & 0xc0 != 0x80);
        let mut head = MESSAGE_SHOWN;
        while head > 0 && !boundary(head) {
            head -= 1;
        }
        let mut tail = bytes.len() - MESSAGE_SHOWN;
        while tail < bytes.len() && !boundary(tail) {
            tail += 1;
        }
        write!(
            f,
            "{}...{} ({} bytes in all)",
            quoted(&bytes[..head]),
            quoted(&bytes[tail..]),
            bytes.len()
        )
    }
}

/// A C0 control character, DEL, or a C1 one.
fn is_control(c: char) -> bool {
    c < ' ' || ('\u{7f}'..='\u{9f}').contains(&c)
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

    #[test]
    fn a_long_name_in_a_message_is_cut_and_its_length_told() {
        let long = vec![b'x'; 5_000_000];
        let shown = InQuotes(&long).to_string();
        let end = "x".repeat(32);
        assert_eq!(
            shown,
            format!("\"{end}\"...\"{end}\" (5000000 bytes in all)")
        );
        // Cut between characters, never inside one.
        let accents = "\u{e9}".repeat(200);
        let shown = InQuotes(accents.as_bytes()).to_string();
        assert!(!shown.contains('\\'), "{shown}");
        let name = vec![b'n'; 255];
        assert_eq!(
            InQuotes(&name).to_string(),
            format!("\"{}\"", "n".repeat(255))
        );
    }

    const CASES: [(&[u8], &str); 12] = [
        (b"plain", "plain"),
        ("h\u{e9}llo".as_bytes(), "h\u{e9}llo"),
        (b"x\"y", "x\"y"),
        (b"a\nb", "\"a\\nb\""),
        (b"\\", "\"\\\\\""),
        (b"\"x", "\"\\\"x\""),
        (b"\xff\tz", "\"\\377\\tz\""),
        (b"\x1b[0m", "\"\\033[0m\""),
        (b"\x7f\xc3", "\"\\177\\303\""),
        ("a\u{9b}1m".as_bytes(), "\"a\\302\\2331m\""),
        (b"x (id: 3)", "\"x (id: 3)\""),
        (b"x (id: 3x)", "x (id: 3x)"),
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
    fn messages_always_have_quotes_and_escape_them() {
        assert_eq!(InQuotes(b"/run/netns/x").to_string(), "\"/run/netns/x\"");
        assert_eq!(InQuotes(b"a\nb").to_string(), "\"a\\nb\"");
        let odd = InQuotes(b"nope\"x y").to_string();
        assert_eq!(odd, "\"nope\\\"x y\"");
        assert_eq!(unquote(odd.as_bytes()).unwrap(), &b"nope\"x y"[..]);
    }

    #[test]
    fn an_nsid_is_cut_from_a_line_of_the_list() {
        assert_eq!(without_nsid(b"blue (id: 3)"), b"blue");
        assert_eq!(without_nsid(b"\"x (id: 5)\" (id: 12)"), b"\"x (id: 5)\"");
        for kept in [
            &b"blue"[..],
            b"x (id: )",
            b"x (id: 3",
            b"x(id: 3)",
            b"(id: 3)",
        ] {
            assert_eq!(without_nsid(kept), kept);
        }
    }
}
