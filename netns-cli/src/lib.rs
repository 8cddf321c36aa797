//! What every verb's command line shares, so that each verb crate holds
//! only its own options and steps: help and version, the exit status
//! (0 done, 1 the operation failed, 2 usage error), `verb: what: why`
//! lines on stderr, a buffered stdout that a closed pipe ends quietly,
//! names read from stdin, and JSON arrays written as they grow.

use std::ffi::{OsStr, OsString};
use std::fmt::Display;
use std::io::{self, BufRead, BufWriter, StdoutLock, Write};
use std::ops::ControlFlow;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::process::ExitCode;

use netns_core::rootless::{self, Keeper, Session};
use netns_core::{Name, RunDir, quote};
pub use serde_json::{Value, json};

/// The version every verb reports: the workspace's.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The environment variable that turns rootless mode on (`1`), as
/// `--rootless` does.
pub const ROOTLESS_ENV: &str = "NETNS_ROOTLESS";

/// What a verb's command line asked for.
pub enum Parsed<T> {
    Run(T),
    Help,
    Version,
}

/// What a verb's `execute` writes to: stdout for data, stderr for errors,
/// and whether any operation failed.
pub struct Ui {
    verb: &'static str,
    out: BufWriter<StdoutLock<'static>>,
    status: u8,
    /// The verb works in rootless mode, its keeper joined ([`Place::enter`]
    /// sets it): the core's errors are worded for it ([`Report`]).
    rootless: bool,
}

/// What a verb reports: a message of its own, or one of the core's
/// errors, which in rootless mode is worded for it
/// (netns_core::Error::rootless).
pub trait Report: Display + Sized {
    /// This, as reported in rootless mode.
    fn rootless(self) -> Self {
        self
    }
}

impl Report for netns_core::Error {
    fn rootless(self) -> Self {
        netns_core::Error::rootless(self)
    }
}

impl Report for std::fmt::Arguments<'_> {}

impl Ui {
    pub fn out(&mut self) -> &mut impl Write {
        &mut self.out
    }

    /// Reports a failed operation; the verb goes on and exits 1 at the end.
    pub fn error(&mut self, err: impl Report) {
        self.error_with_status(err, 1);
    }

    /// Reports a failure that has an exit status of its own (netns-exec's
    /// 126 and 127).
    pub fn error_with_status(&mut self, err: impl Report, status: u8) {
        let err = self.worded(err);
        say(format_args!("{}: {err}", self.verb));
        self.status = self.status.max(status);
    }

    /// `err` worded for the mode the verb works in, for a message that
    /// quotes it.
    pub fn worded<E: Report>(&self, err: E) -> E {
        match self.rootless {
            true => err.rootless(),
            false => err,
        }
    }

    /// The value of `result`, or `None` once its error is reported (the
    /// verb then exits 1).
    pub fn ok<T>(&mut self, result: Result<T, impl Report>) -> Option<T> {
        result.map_err(|err| self.error(err)).ok()
    }

    /// Reports something done that the user should know of (exit stays 0).
    pub fn warn(&mut self, msg: impl Display) {
        say(format_args!("{}: warning: {msg}", self.verb));
    }
}

/// Writes a line to stderr. A stderr that cannot be written to (its
/// reader gone: `netns-list 2>&1 | head -1`) drops the line: the exit
/// status says what happened all the same (eprintln! would panic, and a
/// panic aborts).
pub fn say(line: std::fmt::Arguments<'_>) {
    // One write(2) a line, not one a piece of it: two runs that share a
    // stderr (a log file, a pipe) each keep their lines whole.
    let mut text = line.to_string();
    text.push('\n');
    let _ = io::stderr().write_all(text.as_bytes());
}

/// Runs one verb: parses `args` (args[0] is the name it was run as), then
/// prints the help or version, or executes it, and returns its status.
pub fn run<T>(
    verb: &'static str,
    usage: &str,
    args: Vec<OsString>,
    parse: fn(Vec<OsString>) -> Result<Parsed<T>, lexopt::Error>,
    execute: &mut dyn FnMut(&T, &mut Ui) -> io::Result<()>,
) -> ExitCode {
    // Generic in the parse only: what follows it is one copy in the
    // multicall, not one a verb.
    let parsed = match parse(args) {
        Ok(Parsed::Run(args)) => {
            return run_parsed(verb, usage, Ok(Parsed::Run(&mut |ui| execute(&args, ui))));
        }
        Ok(Parsed::Help) => Ok(Parsed::Help),
        Ok(Parsed::Version) => Ok(Parsed::Version),
        Err(err) => Err(err),
    };
    run_parsed(verb, usage, parsed)
}

/// A verb's `execute` with its parsed arguments.
type Execute<'a> = &'a mut dyn FnMut(&mut Ui) -> io::Result<()>;

/// [`run`] with arguments made by the caller, not parsed (a batch's
/// plain lines, run together): the verb's Ui, messages and exit status.
pub fn run_with(verb: &'static str, usage: &str, execute: Execute<'_>) -> ExitCode {
    run_parsed(verb, usage, Ok(Parsed::Run(execute)))
}

/// [`run`] once the command line is parsed.
fn run_parsed(
    verb: &'static str,
    usage: &str,
    parsed: Result<Parsed<Execute<'_>>, lexopt::Error>,
) -> ExitCode {
    let mut ui = Ui {
        verb,
        out: BufWriter::new(io::stdout().lock()),
        status: 0,
        rootless: false,
    };
    let written = match parsed {
        Err(err) => {
            let err = usage_error(&err);
            say(format_args!(
                "{verb}: {err}\nTry '{verb} --help' for more information."
            ));
            return ExitCode::from(2);
        }
        Ok(Parsed::Help) => ui.out.write_all(usage.as_bytes()),
        Ok(Parsed::Version) => writeln!(ui.out, "{verb} {VERSION}"),
        Ok(Parsed::Run(execute)) => execute(&mut ui),
    };
    match written.and_then(|()| ui.out.flush()) {
        // The reader went away (`netns-list | head -1`): not our failure.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {}
        Err(err) => ui.error(netns_core::Error::io_sys("write output", &err)),
        Ok(()) => {}
    }
    ExitCode::from(ui.status)
}

/// lexopt's message, with what the command line gave quoted as every
/// other message quotes it (lexopt prints an option's bytes raw).
fn usage_error(err: &lexopt::Error) -> String {
    use lexopt::Error::*;
    let q = |text: &OsStr| quote::InQuotes::new(text).to_string();
    match err {
        UnexpectedOption(option) => format!("invalid option {}", q(option.as_ref())),
        UnexpectedArgument(value) => format!("unexpected argument {}", q(value)),
        UnexpectedValue { option, value } => {
            format!(
                "unexpected argument for option {}: {}",
                q(option.as_ref()),
                q(value)
            )
        }
        MissingValue {
            option: Some(option),
        } => format!("missing argument for option {}", q(option.as_ref())),
        _ => err.to_string(),
    }
}

/// The options that say where a verb works, which every verb takes:
/// `--run-dir DIR` and `--rootless`. Their help lines are
/// [`place_help!`]'s.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Place {
    pub run_dir: Option<PathBuf>,
    pub rootless: bool,
}

/// The help lines of [`Place`]'s options, for a verb's usage (`concat!`).
#[macro_export]
macro_rules! place_help {
    () => {
        "      --run-dir DIR  the run dir (default: $NETNS_RUN_DIR, else /run/netns;
                     with --rootless, $XDG_RUNTIME_DIR/netns)
      --rootless     namespaces of your own, without root, in a user
                     namespace (as NETNS_ROOTLESS=1 does)
"
    };
}

/// Where a verb works: its run dir, and in rootless mode its hold on the
/// keeper's namespaces, which it has joined (see netns_core::rootless).
pub struct Here {
    pub run_dir: RunDir,
    _session: Option<Session>,
}

impl Here {
    /// The names a dead keeper left, which entering removed (stale files,
    /// their namespaces gone with the keeper): a delete of one of them
    /// is done already.
    pub fn removed_stale(&self) -> &[netns_core::Name] {
        match self._session.as_ref().and_then(|s| s.gone.as_ref()) {
            Some(gone) => &gone.names,
            None => &[],
        }
    }
}

impl Place {
    /// Whether rootless mode is on: `--rootless`, or NETNS_ROOTLESS=1.
    pub fn rootless(&self) -> bool {
        self.rootless || std::env::var_os(ROOTLESS_ENV).is_some_and(|v| v == "1")
    }

    /// The run dir; in rootless mode, also joins its keeper (started first
    /// when `keeper` says so), and says on stderr if the keeper was found
    /// dead. `None` once a failure is reported. Call it before starting a
    /// thread (see netns_core::rootless::join).
    pub fn enter(&self, ui: &mut Ui, keeper: Keeper) -> Option<Here> {
        if !self.rootless() {
            let run_dir = RunDir::resolve(self.run_dir.clone());
            return Some(Here {
                run_dir,
                _session: None,
            });
        }
        let run_dir = ui.ok(RunDir::resolve_rootless(self.run_dir.clone()))?;
        let session = ui.ok(rootless::join(run_dir, keeper))?;
        let run_dir = session.run_dir().clone();
        ui.rootless = run_dir.rootless();
        if let Some(gone) = &session.gone {
            let names: Vec<String> = gone.names.iter().map(ToString::to_string).collect();
            let whose = quote::InQuotes::new(run_dir.path());
            match gone.pid {
                Some(pid) => ui.warn(format_args!(
                    "the keeper of {whose} (pid {pid}) is gone, and its namespaces with it"
                )),
                None => ui.warn(format_args!("{whose} has no keeper")),
            }
            if !names.is_empty() {
                ui.warn(format_args!("removed the stale names {}", names.join(" ")));
            }
        }
        Some(Here {
            run_dir,
            _session: Some(session),
        })
    }
}

/// What the lines of a batch (the multicall's `-batch`) share: the place
/// that the first line to ask works in, entered once, for every later line
/// that works there too, so that a verb can keep what it set up there
/// from one line to the next (the run dir prepared once). A line that
/// works elsewhere, or in rootless mode needs a keeper that the shared
/// place was entered without, enters its own.
#[derive(Default)]
pub struct Shared {
    entered: std::cell::OnceCell<(Place, Keeper, Here)>,
}

/// A place a line of a batch works in: the batch's shared one, or its own.
pub enum Entered<'s> {
    Shared(&'s Here),
    Own(Here),
}

impl std::ops::Deref for Entered<'_> {
    type Target = Here;

    fn deref(&self) -> &Here {
        match self {
            Entered::Shared(here) => here,
            Entered::Own(here) => here,
        }
    }
}

impl Shared {
    /// [`Place::enter`] for a line of the batch: the shared place when
    /// `place` is it (entered now if no line has yet), else a place of
    /// the line's own.
    pub fn enter<'s>(&'s self, place: &Place, ui: &mut Ui, keeper: Keeper) -> Option<Entered<'s>> {
        match self.entered.get() {
            Some((had, had_keeper, here)) if had == place => {
                let keeps = !place.rootless() || *had_keeper == Keeper::Start;
                match keeps || keeper == Keeper::IfRunning {
                    true => Some(Entered::Shared(here)),
                    false => place.enter(ui, keeper).map(Entered::Own),
                }
            }
            Some(_) => place.enter(ui, keeper).map(Entered::Own),
            None => {
                let here = place.enter(ui, keeper)?;
                let (_, _, here) = self.entered.get_or_init(|| (place.clone(), keeper, here));
                Some(Entered::Shared(here))
            }
        }
    }
}

/// A name as the command line gave it, before it is checked.
pub struct Given {
    pub name: OsString,
    /// Its line number when it was read from stdin (`-`).
    pub line: Option<usize>,
}

/// Calls `each` with every name the command line gives, in order, where
/// `-` stands for the lines of stdin: one name a line, empty lines
/// skipped, read as netns-list prints them: a trailing ` (id: N)` is the
/// nsid, not the name, and a line in double quotes is decoded as the text
/// output quoted it (see netns_core::quote), so that `netns-list |
/// netns-del -` takes back every name. A quoted line that is not well
/// formed is reported and skipped; stdin that cannot be read is reported
/// and ends the names. Names are read as they come, so a long batch
/// starts at once; `each` stops it early with `Break`.
pub fn for_each_name(
    ui: &mut Ui,
    names: &[OsString],
    mut each: impl FnMut(&mut Ui, Given) -> ControlFlow<()>,
) -> io::Result<()> {
    for_each_batch(ui, names, 1, &mut |ui, batch| {
        for given in batch.drain(..) {
            each(ui, given)?;
        }
        ControlFlow::Continue(())
    })
}

/// [`for_each_name`], the names handed to `each` a batch at a time (of at
/// most `most`, `each` to empty it): as many as are at hand without
/// waiting (the arguments; the lines stdin has already given), so that a
/// verb can do a batch's work at once while names from a slow pipe are
/// still done as they come. Messages of the reader's own (a line too
/// long, one badly quoted) come after the batch before them is done, so
/// that messages stay in the order of the names.
pub fn for_each_batch(
    ui: &mut Ui,
    names: &[OsString],
    most: usize,
    // Not generic: one reader in the multicall, whatever the verbs do.
    each: &mut dyn FnMut(&mut Ui, &mut Vec<Given>) -> ControlFlow<()>,
) -> io::Result<()> {
    let mut batch = Vec::with_capacity(most);
    // The batch done: Break when `each` says so.
    let mut done = |ui: &mut Ui, batch: &mut Vec<Given>| match batch.is_empty() {
        true => ControlFlow::Continue(()),
        false => each(ui, batch),
    };
    for name in names {
        if name != "-" {
            batch.push(Given {
                name: name.clone(),
                line: None,
            });
            if batch.len() >= most && done(ui, &mut batch).is_break() {
                return Ok(());
            }
            continue;
        }
        let mut stdin = io::BufReader::new(io::stdin().lock());
        let mut line = Vec::with_capacity(MAX_LINE);
        for at in 0.. {
            // Whatever comes next may take its time: what is at hand first.
            if (!line_at_hand(&stdin) || batch.len() >= most) && done(ui, &mut batch).is_break() {
                return Ok(());
            }
            let len = match read_line(&mut stdin, &mut line) {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(err) => {
                    if done(ui, &mut batch).is_continue() {
                        ui.error(netns_core::Error::io_sys("read stdin", &err));
                    }
                    return Ok(());
                }
            };
            if len > MAX_LINE {
                if done(ui, &mut batch).is_break() {
                    return Ok(());
                }
                ui.error(format_args!(
                    "line {} of stdin: {len} bytes, longer than a name can be",
                    at + 1
                ));
                continue;
            }
            if line.is_empty() {
                continue;
            }
            let name = match quote::unquote(quote::without_nsid(&line)) {
                Ok(name) => OsString::from_vec(name.into_owned()),
                Err(why) => {
                    if done(ui, &mut batch).is_break() {
                        return Ok(());
                    }
                    let line = quote::InQuotes(&line);
                    ui.error(format_args!("line {} of stdin: {line}: {why}", at + 1));
                    continue;
                }
            };
            batch.push(Given {
                name,
                line: Some(at + 1),
            });
        }
    }
    let _ = done(ui, &mut batch);
    Ok(())
}

/// Whether the next line of `input` can be read without waiting: it is in
/// the buffer whole. A verb that works in batches does what it has before
/// it reads a line that is not (none, or one begun: its rest may take its
/// time), so that what a slow writer gave is done as it comes.
pub fn line_at_hand(input: &io::BufReader<impl io::Read>) -> bool {
    input.buffer().contains(&b'\n')
}

/// Reports a name refused, with the line of stdin it came from, if it
/// came from one (as a line that is too long or badly quoted is).
pub fn refuse(ui: &mut Ui, line: Option<usize>, err: impl Report) {
    match line {
        Some(line) => {
            let err = ui.worded(err);
            ui.error(format_args!("line {line} of stdin: {err}"))
        }
        None => ui.error(err),
    }
}

/// The longest line of `-` that can hold a name: a name of 255 bytes,
/// each byte quoted as three octal digits after a backslash, in double
/// quotes, with netns-list's nsid after it. No longer line is kept.
const MAX_LINE: usize = 255 * 4 + 2 + " (id: 4294967295)".len();

/// Reads the next line of `input` (up to a newline, which is not kept)
/// into `line`, keeping at most [`MAX_LINE`] bytes of it however long it
/// is; returns its whole length, or `None` at the end. Memory stays
/// bounded whatever arrives: a 50 MB line of noise is counted, not kept.
fn read_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<Option<usize>> {
    read_bounded_line(input, line, MAX_LINE)
}

/// [`read_line`] keeping at most `max` bytes (and one more, so that a
/// caller can tell a line of `max` bytes from a longer one by its length):
/// for a verb whose lines are longer than a name.
pub fn read_bounded_line(
    input: &mut impl BufRead,
    line: &mut Vec<u8>,
    max: usize,
) -> io::Result<Option<usize>> {
    line.clear();
    let mut len = 0;
    let mut any = false;
    loop {
        let buf = match input.fill_buf() {
            Ok(buf) => buf,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if buf.is_empty() {
            return Ok(any.then_some(len));
        }
        any = true;
        let (part, ended) = match buf.iter().position(|&b| b == b'\n') {
            Some(end) => (&buf[..end], true),
            None => (buf, false),
        };
        let room = (max + 1).saturating_sub(line.len());
        line.extend_from_slice(&part[..part.len().min(room)]);
        len += part.len();
        let used = part.len() + usize::from(ended);
        input.consume(used);
        if ended {
            return Ok(Some(len));
        }
    }
}

/// A name as a JSON string: exactly, when it is UTF-8 (JSON escapes
/// control characters itself); else with U+FFFD for each byte that is not,
/// and a warning that names it quoted.
pub fn json_name(ui: &mut Ui, name: &Name) -> Value {
    match name.to_str() {
        Some(text) => Value::from(text),
        None => {
            ui.warn(format_args!(
                "the name {} is not UTF-8: its JSON string has U+FFFD in place of the bytes \
                 that are not",
                quote::InQuotes::new(name)
            ));
            Value::from(name.as_os_str().to_string_lossy())
        }
    }
}

/// A PID from the command line: decimal digits only, with no leading 0
/// (`self` and other words are not PIDs). ip reads a PID as strtol(3) with
/// base 0 does (`010` is 8 to `ip netns attach`, `0x10` 16, and ` 10`
/// and `+10` 10): a spelling that ip could read as another number than
/// ours is refused, not taken for another process.
pub fn parse_pid(value: &OsStr) -> Result<u32, lexopt::Error> {
    let text = value.to_string_lossy();
    let why = match text.bytes().all(|b| b.is_ascii_digit()) {
        true if text.len() > 1 && text.starts_with('0') => {
            "it has a leading 0, which ip reads as octal (010 is PID 8 to ip)"
        }
        true => match text.parse() {
            Ok(pid) => return Ok(pid),
            Err(_) => "not a process ID",
        },
        false => "not a process ID",
    };
    Err(format!("invalid PID {}: {why}", quote::InQuotes::new(value)).into())
}

/// One JSON value, for output that writes its own objects.
pub fn write_json(out: &mut impl Write, value: &Value) -> io::Result<()> {
    serde_json::to_writer(out, value).map_err(Into::into)
}

/// One JSON object with its keys in the order given (serde_json's map
/// would sort them, and `ip -j` prints "name" first).
pub fn write_object(out: &mut impl Write, fields: &[(&str, Value)]) -> io::Result<()> {
    for (i, (key, value)) in fields.iter().enumerate() {
        out.write_all(if i == 0 { b"{" } else { b"," })?;
        serde_json::to_writer(&mut *out, key)?;
        out.write_all(b":")?;
        serde_json::to_writer(&mut *out, value)?;
    }
    out.write_all(if fields.is_empty() { b"{}" } else { b"}" })
}

/// A JSON array of objects written an object at a time, so that a batch's
/// output streams; `finish` closes it (`[]` when empty) with a newline.
/// Keys keep the order given (serde_json's map would sort them, and
/// `ip -j` prints "name" first). A failed write (a closed pipe) stops the
/// output but not the batch: the error waits for `finish`.
#[derive(Default)]
pub struct JsonArray {
    started: bool,
    failed: Option<io::Error>,
}

impl JsonArray {
    pub fn push(&mut self, out: &mut impl Write, fields: &[(&str, Value)]) {
        if self.failed.is_none() {
            self.failed = self.write(out, fields).err();
        }
    }

    /// Pushes an object of objects: each key with its object's fields,
    /// in the order given.
    pub fn push_nested(&mut self, out: &mut impl Write, objects: &[(&str, &[(&str, Value)])]) {
        if self.failed.is_none() {
            self.failed = self.write_nested(out, objects).err();
        }
    }

    fn write(&mut self, out: &mut impl Write, fields: &[(&str, Value)]) -> io::Result<()> {
        out.write_all(if self.started { b"," } else { b"[" })?;
        self.started = true;
        write_object(out, fields)
    }

    fn write_nested(
        &mut self,
        out: &mut impl Write,
        objects: &[(&str, &[(&str, Value)])],
    ) -> io::Result<()> {
        out.write_all(if self.started { b"," } else { b"[" })?;
        self.started = true;
        for (i, (key, fields)) in objects.iter().enumerate() {
            out.write_all(if i == 0 { b"{" } else { b"," })?;
            serde_json::to_writer(&mut *out, key)?;
            out.write_all(b":")?;
            write_object(out, fields)?;
        }
        out.write_all(if objects.is_empty() { b"{}" } else { b"}" })
    }

    pub fn finish(self, out: &mut impl Write) -> io::Result<()> {
        match self.failed {
            Some(err) => Err(err),
            None => out.write_all(if self.started { b"]\n" } else { b"[]\n" }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_decimal_without_a_leading_zero() {
        let pid = |s: &str| parse_pid(OsStr::new(s)).ok();
        assert_eq!(pid("0"), Some(0));
        assert_eq!(pid("10"), Some(10));
        for bad in [
            "010",
            "00",
            "0x10",
            "+10",
            " 10",
            "10 ",
            "",
            "self",
            "99999999999",
        ] {
            assert_eq!(pid(bad), None, "{bad:?}");
        }
        let why = parse_pid(OsStr::new("010")).unwrap_err().to_string();
        assert!(
            why.contains("a leading 0, which ip reads as octal"),
            "{why}"
        );
    }

    #[test]
    fn json_array_is_compact_like_ip() {
        let mut out = Vec::new();
        let mut array = JsonArray::default();
        array.push(&mut out, &[("name", json!("a"))]);
        array.push(&mut out, &[("name", json!("b")), ("id", json!(3))]);
        array.finish(&mut out).unwrap();
        assert_eq!(out, b"[{\"name\":\"a\"},{\"name\":\"b\",\"id\":3}]\n");
        let mut empty = Vec::new();
        JsonArray::default().finish(&mut empty).unwrap();
        assert_eq!(empty, b"[]\n");
    }
}
