//! `netns -batch FILE`: ip's batch files (`ip -batch FILE`, `-` for
//! stdin), a command a line, every line run by the same verbs in this one
//! process. Lines are read as ip reads them (iproute2's getcmdline and
//! makeargs): `#` ends a line's text wherever it is, a backslash at the
//! end of a line joins the next to it, words are split at spaces, tabs
//! and CRs, and a word that starts with a quote (' or ") runs to the next
//! of the same quote. A line is what could follow `netns` on a command
//! line, with ip's leading `netns` or without it. A failing line is
//! reported as ip reports it, `Command failed FILE:LINE` on stderr after
//! the verb's own message, and ends the batch but with -force; the exit
//! status is 1 if any line failed, as ip's.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::process::ExitCode;

use netns_cli::Shared;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::{Globals, Run};

/// Runs the lines of `file` (stdin for `-`), each with the batch's
/// `globals`; with `force`, past a failing line.
pub fn run(file: &OsStr, globals: Globals, force: bool) -> ExitCode {
    let input = match file == "-" {
        true => Input::Stdin,
        false => match File::open(file) {
            Ok(opened) => Input::File(BufReader::new(opened)),
            Err(err) => {
                netns_cli::say(format_args!(
                    "netns: {}",
                    netns_core::Error::io("open", file, &err)
                ));
                return ExitCode::FAILURE;
            }
        },
    };
    let mut lines = Lines {
        input,
        number: 0,
        line: Vec::new(),
    };
    let shared = Shared::default();
    let mut kept = Kept {
        shared: &shared,
        verb: String::new(),
        add: Default::default(),
        del: Default::default(),
        set: Default::default(),
    };
    let mut outcome = Outcome {
        file,
        force,
        failed: false,
        stopped: false,
    };
    // Lines of `add NAME` or `del NAME` read and not yet run.
    let mut held = Held::default();
    loop {
        // The lines held are run before a line is read that is not at
        // hand: what a slow writer gave is done as it comes. The
        // namespaces the del lines hold (see netns_core::Deleter::delete)
        // go when the read would wait, as they would alone: the writer
        // may wait for that.
        let waits = (!held.names.is_empty() || kept.verb == "del") && !lines.input.at_hand();
        if held.names.len() >= netns_add::BATCH || waits {
            kept.run_held(&mut held, &mut outcome);
        }
        if waits && !lines.input.readable() {
            kept.del = Default::default();
        }
        if outcome.stopped {
            break;
        }
        let (number, ran) = match lines.next() {
            Ok(None) => break,
            Ok(Some(Ok(words))) if words.is_empty() => continue,
            Ok(Some(Ok(mut words))) => {
                if let Some((verb, name)) = crate::plain_line(globals, &mut words) {
                    if verb != held.verb {
                        if kept.run_held(&mut held, &mut outcome) {
                            break;
                        }
                        held.verb = verb;
                    }
                    held.names.push(name);
                    held.numbers.push(lines.number);
                    continue;
                }
                // After the lines held before it.
                if kept.run_held(&mut held, &mut outcome) {
                    break;
                }
                (lines.number, crate::run_line(globals, words, &mut kept))
            }
            Ok(Some(Err(why))) => {
                if kept.run_held(&mut held, &mut outcome) {
                    break;
                }
                netns_cli::say(format_args!("netns: {why}"));
                (lines.number, ExitCode::FAILURE)
            }
            Err(err) => {
                if !kept.run_held(&mut held, &mut outcome) {
                    let read = match file == "-" {
                        true => netns_core::Error::io_sys("read stdin", &err),
                        false => netns_core::Error::io("read", file, &err),
                    };
                    netns_cli::say(format_args!("netns: {read}"));
                    outcome.failed = true;
                }
                break;
            }
        };
        if ran != ExitCode::SUCCESS {
            outcome.fail(number);
        }
    }
    kept.run_held(&mut held, &mut outcome);
    match outcome.failed {
        true => ExitCode::FAILURE,
        false => ExitCode::SUCCESS,
    }
}

/// What came of a batch's lines so far.
struct Outcome<'f> {
    file: &'f OsStr,
    /// ip's -force: a failing line is no stop.
    force: bool,
    failed: bool,
    /// A line failed, without -force: no line after it runs.
    stopped: bool,
}

impl Outcome<'_> {
    /// Line `number` failed: said in ip's words exactly, FILE as it was
    /// given, for the scripts that read them.
    fn fail(&mut self, number: usize) {
        let mut said = b"Command failed ".to_vec();
        said.extend_from_slice(self.file.as_bytes());
        said.extend_from_slice(format!(":{number}\n").as_bytes());
        let _ = io::stderr().write_all(&said);
        self.failed = true;
        self.stopped |= !self.force;
    }
}

/// The plain `add NAME` or `del NAME` lines read and not yet run: their
/// verb, names and line numbers.
#[derive(Default)]
struct Held {
    verb: &'static str,
    names: Vec<OsString>,
    numbers: Vec<usize>,
}

/// What a run of lines of the same verb keeps from one to the next: for
/// add the Creator, for del the Deleter, for set the netlink socket, of
/// the place the batch shares
/// (see netns_cli::Shared). A line of another verb ends it: what it did
/// (an exec, say) may have changed what they were set up for.
pub struct Kept<'s> {
    shared: &'s Shared,
    /// The verb of the last line.
    verb: String,
    add: netns_add::Kept<'s>,
    del: netns_del::Kept<'s>,
    set: netns_set::Kept,
}

impl Kept<'_> {
    /// Runs a line of verb `name`: `run` with `argv`, or the verb's own
    /// entry point for batches.
    pub fn run(&mut self, name: &str, run: Run, argv: Vec<OsString>) -> ExitCode {
        self.switch(name);
        match name {
            "add" => netns_add::run_in(argv, self.shared, &mut self.add),
            "del" => netns_del::run_in(argv, self.shared, &mut self.del),
            "set" => netns_set::run_in(argv, self.shared, &mut self.set),
            // A batch goes on after its exec lines: CMD runs in a child,
            // as ip forks for it in a batch.
            "exec" => netns_exec::run_waiting(argv),
            _ => run(argv),
        }
    }
}

impl Kept<'_> {
    /// What was kept for another verb than `name` is dropped.
    fn switch(&mut self, name: &str) {
        if name != self.verb {
            self.add = Default::default();
            self.del = Default::default();
            self.set = Default::default();
            name.clone_into(&mut self.verb);
        }
    }

    /// Runs the plain lines held, together (see netns_add::run_names and
    /// netns_del::run_names), and tells `outcome` of each that failed;
    /// the lines after one that stops the batch are not run. Returns
    /// whether the batch stops.
    fn run_held(&mut self, held: &mut Held, outcome: &mut Outcome<'_>) -> bool {
        if held.names.is_empty() {
            return outcome.stopped;
        }
        self.switch(held.verb);
        let force = outcome.force;
        let mut at = 0;
        while at < held.names.len() && !outcome.stopped {
            let mut line = held.numbers[at..].iter();
            let mut each = |made: bool| {
                let number = line.next();
                if let (false, Some(&number)) = (made, number) {
                    outcome.fail(number);
                }
            };
            let rest = &held.names[at..];
            let told = match held.verb {
                "add" => netns_add::run_names(rest, self.shared, &mut self.add, force, &mut each),
                _ => netns_del::run_names(rest, self.shared, &mut self.del, force, &mut each),
            };
            match told {
                0 => break,
                told => at += told,
            }
        }
        held.names.clear();
        held.numbers.clear();
        outcome.stopped
    }
}

/// Where the lines come from. Stdin is locked a line at a time, not for
/// the whole batch: a verb of a line may read it too (`add -`).
enum Input {
    Stdin,
    File(BufReader<File>),
}

impl Input {
    fn read_line(&mut self, line: &mut Vec<u8>) -> io::Result<usize> {
        match self {
            Input::Stdin => io::stdin().lock().read_until(b'\n', line),
            Input::File(file) => file.read_until(b'\n', line),
        }
    }

    /// Whether a read of more would not wait (see [`readable`]).
    fn readable(&self) -> bool {
        match self {
            Input::Stdin => readable(io::stdin().as_fd()),
            Input::File(file) => readable(file.get_ref().as_fd()),
        }
    }

    /// Whether the next command can be read without waiting: it is
    /// buffered whole (see [`whole_command`]), or the end is. A FILE may be
    /// a pipe too (`<(...)`). Std's buffer of stdin cannot be looked into
    /// but by reading it, which waits when it is empty: so only once
    /// poll(2) says a read would not wait; that it says so of a buffer
    /// with lines in it too only makes fewer lines go together.
    fn at_hand(&mut self) -> bool {
        let whole = |buffer: &[u8]| buffer.is_empty() || whole_command(buffer);
        match self {
            Input::Stdin => {
                readable(io::stdin().as_fd()) && io::stdin().lock().fill_buf().is_ok_and(whole)
            }
            Input::File(file) if file.buffer().is_empty() => {
                readable(file.get_ref().as_fd()) && file.fill_buf().is_ok_and(whole)
            }
            Input::File(file) => whole_command(file.buffer()),
        }
    }
}

/// Whether `buffer` begins with a whole command: a line that is not
/// continued, after any that are (as [`Lines::read`] reads them: a
/// backslash before the newline, and no `#` nor NUL before it). A line
/// whose continuation is still to come may take its time: the lines
/// before it must not wait for it (a writer may wait for them first).
fn whole_command(buffer: &[u8]) -> bool {
    buffer.split_inclusive(|&b| b == b'\n').any(|line| {
        let continued = line.ends_with(b"\\\n") && !line.iter().any(|&b| b == b'#' || b == 0);
        line.ends_with(b"\n") && !continued
    })
}

/// Whether a read of `fd` would not wait (poll(2), no timeout): there is
/// data, the end, or an error to read.
fn readable(fd: BorrowedFd<'_>) -> bool {
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    poll(&mut fds, PollTimeout::ZERO).is_ok_and(|ready| ready > 0)
}

/// A batch's commands, with the number of the line each ends on.
struct Lines {
    input: Input,
    /// The last line read: the one the command last returned ends on.
    number: usize,
    line: Vec<u8>,
}

impl Lines {
    /// The next command's words (none for a blank line or a comment), or
    /// why its line cannot be read; `None` at the end.
    fn next(&mut self) -> io::Result<Option<Result<Vec<OsString>, &'static str>>> {
        self.line.clear();
        if !self.read()? {
            return Ok(None);
        }
        while self.line.ends_with(b"\\\n") {
            self.line.truncate(self.line.len() - 2);
            if !self.read()? {
                return Ok(Some(Err("missing continuation line")));
            }
        }
        Ok(Some(words(&self.line)))
    }

    /// Appends the next line to `line`, without the comment it has;
    /// false at the end.
    fn read(&mut self) -> io::Result<bool> {
        let start = self.line.len();
        if self.input.read_line(&mut self.line)? == 0 {
            return Ok(false);
        }
        self.number += 1;
        // ip's lines are C strings: a NUL ends one's text, as a # does.
        if let Some(end) = self.line[start..].iter().position(|&b| b == 0 || b == b'#') {
            self.line.truncate(start + end);
        }
        Ok(true)
    }
}

/// A line's words, as ip's makeargs splits them: at spaces, tabs, CRs and
/// newlines; a word that starts with ' or " runs to the next of that
/// quote, which ends it (there are no escapes, and a quote within a word
/// is a character of it).
fn words(line: &[u8]) -> Result<Vec<OsString>, &'static str> {
    let space = |b: &u8| b" \t\r\n".contains(b);
    let mut words = Vec::new();
    let mut rest = line;
    loop {
        let start = rest.iter().position(|b| !space(b)).unwrap_or(rest.len());
        rest = &rest[start..];
        let (word, after) = match rest.first() {
            None => return Ok(words),
            Some(&quote @ (b'\'' | b'"')) => {
                let end = rest[1..]
                    .iter()
                    .position(|&b| b == quote)
                    .ok_or("unterminated quoted string")?;
                (&rest[1..=end], end + 2)
            }
            Some(_) => {
                let end = rest.iter().position(space).unwrap_or(rest.len());
                (&rest[..end], end)
            }
        };
        words.push(OsString::from_vec(word.to_vec()));
        rest = &rest[after.min(rest.len())..];
    }
}
