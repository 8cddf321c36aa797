//! Names with any bytes: those made by others (ip takes control
//! characters and bytes that are not UTF-8) work with every verb and are
//! printed one record a line, C-quoted, with no control byte reaching a
//! terminal; what the text output prints, `-` takes back.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use crate::util::{Sandbox, in_new_namespaces, json, output};

/// No byte a terminal would act on: only newlines end records.
fn assert_no_control_bytes(what: &str, bytes: &[u8]) {
    let bad = bytes
        .iter()
        .find(|&&b| (b < 0x20 && b != b'\n') || b == 0x7f);
    assert!(bad.is_none(), "{what} has a raw control byte: {bytes:?}");
}

/// The odd names, made with `ip netns add` in a /run/netns of the test's
/// own (a tmpfs in a private mount namespace), through every verb.
#[test]
fn names_made_by_ip_with_any_bytes_work_with_every_verb() {
    let sb = Sandbox::with(&["keep"]);
    let script = r#"
        mount -t tmpfs -o mode=0755 netns-test /run; mkdir /run/netns
        export NETNS_RUN_DIR=/run/netns
        NL=$(printf 'a\nb'); TAB=$(printf 't\tab'); ESC=$(printf '\033[31mred')
        BAD=$(printf 'bad\377'); WX=$(printf 'w\nx')
        make() { for n in "$NL" "$TAB" 'back\slash' "$ESC" '"lead' "$BAD" plain; do ip netns add "$n"; done; }
        make
        echo "--- list"; netns-list
        echo "--- json"; netns-list --json
        echo "--- identify"; ip netns exec "$NL" netns-identify
        echo "--- exec"; netns-exec "$TAB" netns-identify; netns-pids "$ESC"
        cd /run; : > watched; timeout 10 netns-watch --existing --names --count 2 > watched & watch=$!
        lines() { for i in $(seq 500); do [ "$(wc -l < watched)" -ge $1 ] && break; sleep 0.01; done; }
        # A name made and gone between two looks is not reported: one at a time.
        lines 7; ip netns add "$WX"; lines 8; ip netns del "$WX"; wait $watch
        echo "--- watch"; cat watched
        echo "--- del"; netns-del "$NL" 'back\slash'; netns-list
        echo "--- list | del -"; netns-list | netns-del -; ls -A /run/netns; ip netns list
        make
        echo "--- del --all"; netns-del --all; ls -A /run/netns
    "#;
    let out = in_new_namespaces(&sb, &["--mount"], script);
    assert_eq!(out.code, 0, "{out:?}");
    assert_no_control_bytes("stdout", &out.stdout_bytes);
    assert_no_control_bytes("stderr", out.stderr.as_bytes());
    let listed = "\"\\033[31mred\"\n\"\\\"lead\"\n\"a\\nb\"\n\"back\\\\slash\"\n\"bad\\377\"\nplain\n\"t\\tab\"\n";
    let (before_json, rest) = out.stdout.split_once("--- json\n").unwrap();
    assert_eq!(before_json, format!("--- list\n{listed}"), "{out:?}");
    let (json_text, rest) = rest.split_once("--- identify\n").unwrap();
    let names: Vec<_> = json(json_text)
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_owned())
        .collect();
    let want = [
        "\x1b[31mred",
        "\"lead",
        "a\nb",
        "back\\slash",
        "bad\u{fffd}",
        "plain",
        "t\tab",
    ];
    assert_eq!(names, want, "{out:?}");
    // The one name JSON cannot carry is named on stderr, quoted.
    assert!(
        out.stderr
            .contains("netns-list: warning: the name \"bad\\377\" is not UTF-8"),
        "{out:?}"
    );
    let watched = "add \"\\033[31mred\"\nadd \"\\\"lead\"\nadd \"a\\nb\"\nadd \"back\\\\slash\"\n\
                   add \"bad\\377\"\nadd plain\nadd \"t\\tab\"\nadd \"w\\nx\"\ndelete \"w\\nx\"\n";
    let left = "\"\\033[31mred\"\n\"\\\"lead\"\n\"bad\\377\"\nplain\n\"t\\tab\"\n";
    let expected = format!(
        "\"a\\nb\"\n--- exec\n\"t\\tab\"\n--- watch\n{watched}--- del\n{left}\
         --- list | del -\n--- del --all\n"
    );
    // netns-pids prints nothing: no process is in that namespace.
    assert_eq!(rest, expected, "{out:?}");
    // The test's own run dir, elsewhere, is untouched.
    assert_eq!(sb.mounted(), ["keep"]);
}

/// A quoted line of `-` is decoded as netns-list quotes, `\xHH` too (by
/// add and by del); a line that does not both start and end with a
/// double quote is taken as it is.
#[test]
fn quoted_lines_of_stdin_are_decoded_hex_escapes_too() {
    let sb = Sandbox::new();
    let out = sb.run_stdin("add", &["-"], "\"x\\x2dy\"\n\"\\x61\\142c\"\n\"half\n");
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(sb.mounted(), ["\"half", "abc", "x-y"]);
    let out = sb.run_stdin("del", &["-"], "\"\\x78-\\x79\"\n\"\\x22half\"\n");
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(sb.mounted(), ["abc"]);
}

/// `netns-list | netns-del -` removes every name, those with an nsid too
/// (README; netns-del --help).
#[test]
fn list_into_del_removes_names_with_an_nsid_too() {
    let sb = Sandbox::with(&["a", "b"]);
    let out = crate::util::in_new_netns(
        &sb,
        "netns-set a auto; netns-list | netns-del -; netns-list",
    );
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", ""),
        "{out:?}"
    );
    assert!(sb.entries().is_empty(), "{:?}", sb.entries());
}

/// A quoted line on stdin that is not well formed: reported with its line
/// number, skipped, the others still done.
#[test]
fn a_malformed_quoted_line_is_reported_and_skipped() {
    let sb = Sandbox::with(&["a", "b"]);
    let out = sb.run_stdin("del", &["-"], "a\n\"\\q\"\nb\n");
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        "netns-del: line 2 of stdin: \"\\\"\\\\q\\\"\": unknown escape \\q\n"
    );
    assert!(sb.entries().is_empty(), "{out:?}");
}

/// A name read from stdin with a space at either end is made, and said.
#[test]
fn a_space_at_either_end_of_a_name_from_stdin_is_warned_of() {
    let sb = Sandbox::new();
    let out = sb.run_stdin("add", &["-"], "d \n e\nf\n");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stderr,
        "netns-add: warning: line 1 of stdin: made \"d \", whose name ends with a space\n\
         netns-add: warning: line 2 of stdin: made \" e\", whose name starts with a space\n"
    );
    assert_eq!(sb.mounted(), [" e", "d ", "f"]);
    // Given as an argument, the space is taken as meant.
    let out = sb.run("add", &["g "]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
}

/// xorshift64*: a seeded generator, so that a failure can be run again.
pub struct Rng(pub u64);

impl Rng {
    pub fn draw(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.draw() % n as u64) as usize
    }
}

/// A name of 1 to 12 bytes, drawn mostly from the bytes that need care.
fn random_name(rng: &mut Rng) -> Vec<u8> {
    const AWKWARD: &[u8] = b"\x01\t\n\r\x1b\x7f \"\\/.-";
    const UTF8: [&str; 3] = ["\u{e9}", "\u{2603}", "\u{1f600}"];
    let len = 1 + rng.below(12);
    let mut name = Vec::new();
    while name.len() < len {
        match rng.below(6) {
            0 | 1 => name.push(b'a' + rng.below(26) as u8),
            2 => name.push(AWKWARD[rng.below(AWKWARD.len())]),
            3 => name.extend_from_slice(UTF8[rng.below(UTF8.len())].as_bytes()),
            // Any byte but NUL, which no argument can carry.
            _ => name.push(1 + rng.below(255) as u8),
        }
    }
    name
}

/// Each of a few hundred random byte strings is either refused with
/// nothing made, or made and taken back exactly by list (text and JSON)
/// and `list | del -`.
#[test]
fn random_names_are_refused_or_round_trip_exactly() {
    let seed = 0x5eed_2026_1123;
    let mut rng = Rng(seed);
    let names: BTreeSet<Vec<u8>> = (0..300).map(|_| random_name(&mut rng)).collect();
    let sb = Sandbox::new();
    let mut add = sb.cmd("add");
    add.arg("--");
    add.args(names.iter().map(|n| OsStr::from_bytes(n)));
    let out = output(&mut add, "");
    let made: BTreeSet<Vec<u8>> = std::fs::read_dir(&sb.run)
        .map(|rd| rd.map(|e| e.unwrap().file_name().into_vec()).collect())
        .unwrap_or_default();
    let refused = out.stderr.lines().count();
    assert!(made.is_subset(&names), "seed {seed:#x}: {out:?}");
    assert_eq!(made.len() + refused, names.len(), "seed {seed:#x}: {out:?}");
    assert!(
        made.len() > 50 && refused > 50,
        "seed {seed:#x}: both kinds"
    );
    // Every one made is one line, and the lines name exactly those made.
    let list = sb.run("list", &[]);
    assert_eq!(list.code, 0, "{list:?}");
    assert_no_control_bytes("list", &list.stdout_bytes);
    assert_eq!(
        list.stdout_bytes.split(|&b| b == b'\n').count(),
        made.len() + 1
    );
    // JSON carries every name exactly (all that add makes are UTF-8).
    let listed_json: BTreeSet<Vec<u8>> = json(&sb.run("list", &["--json"]).stdout)
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().as_bytes().to_vec())
        .collect();
    assert_eq!(listed_json, made, "seed {seed:#x}");
    let del = output(sb.cmd("del").arg("-"), &list.stdout_bytes);
    assert_eq!((del.code, del.stderr.as_str()), (0, ""), "seed {seed:#x}");
    assert!(
        sb.entries().is_empty(),
        "seed {seed:#x}: {:?}",
        sb.entries()
    );
}

/// Usage errors quote what the command line gave, as other messages do.
#[test]
fn usage_errors_quote_what_was_given() {
    let sb = Sandbox::new();
    let out = sb.run("add", &["--\x1b[31mx"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .starts_with("netns-add: invalid option \"--\\033[31mx\"\n"),
        "{out:?}"
    );
    let out = sb.run("list", &["a\tb"]);
    assert!(
        out.stderr
            .starts_with("netns-list: unexpected argument \"a\\tb\"\n"),
        "{out:?}"
    );
    let out = sb.run("pids", &["\x1b"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_no_control_bytes("stderr", out.stderr.as_bytes());
}

/// C1 control characters (U+0080 to U+009F; U+009B is the 8-bit CSI) are
/// refused in new names and quoted in output as the C0 ones are.
#[test]
fn c1_controls_are_refused_in_new_names_and_quoted_in_output() {
    let sb = Sandbox::with(&["keep"]);
    let out = sb.run("add", &["a\u{9b}31mb"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("it contains the control character U+009B at byte 1"),
        "{out:?}"
    );
    assert_eq!(sb.entries(), ["keep"]);
    let script = r#"
        mount -t tmpfs -o mode=0755 netns-test /run; mkdir /run/netns
        export NETNS_RUN_DIR=/run/netns
        ip netns add "$(printf 'a\302\23331mb')"
        netns-list; netns-list | netns-del -; ls -A /run/netns
    "#;
    let out = in_new_namespaces(&sb, &["--mount"], script);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "\"a\\302\\23331mb\"\n"),
        "{out:?}"
    );
    assert!(
        !out.stdout_bytes.windows(2).any(|w| w == b"\xc2\x9b"),
        "{out:?}"
    );
}
