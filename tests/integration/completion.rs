//! Shell completion (completions/), as a user meets it: bash, zsh and fish
//! run interactively in a pseudo-terminal, keys typed, TAB pressed, and
//! the completed line run (its words printed by a helper in front of it),
//! so that each shell splits, quotes and inserts as it does for a user.
//! The candidates themselves: verbs, options (from each verb's --help),
//! names of the run dir the line names, ip's words, PIDs, commands, users
//! and devices; names holding every byte that needs care.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::term::Term;
use crate::util::{Procs, Sandbox, TempDir, absolute, bin, output};

fn completions() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../completions")
        .canonicalize()
        .expect("completions/")
}

/// The verb binaries' directory first on PATH, as after an install.
fn path() -> String {
    let bins = bin("list").parent().unwrap().display().to_string();
    format!("{bins}:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// Where a user's shell runs.
#[derive(Clone)]
struct Setup {
    /// NETNS_RUN_DIR, if set.
    run: Option<PathBuf>,
    cwd: PathBuf,
    path: String,
    home: PathBuf,
    /// As the user nobody, with this XDG_RUNTIME_DIR.
    nobody: Option<PathBuf>,
}

impl Setup {
    fn new(sb: &Sandbox, cwd: &Path) -> Self {
        Setup {
            run: Some(sb.run.clone()),
            cwd: cwd.to_owned(),
            path: path(),
            home: sb.run.parent().unwrap().to_owned(),
            nobody: None,
        }
    }

    /// A command as the user runs it: their environment only. The
    /// program is found on the tests' own PATH (the user's may start with
    /// `.`).
    fn command(&self, program: &str) -> Command {
        let program = absolute(program);
        let mut cmd = match &self.nobody {
            None => Command::new(&program),
            Some(_) => {
                let mut cmd = Command::new(absolute("setpriv"));
                cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                    .arg(&program);
                cmd
            }
        };
        cmd.env_clear()
            .env("PATH", &self.path)
            .env("HOME", &self.home)
            .env("TERM", "xterm")
            .env("LC_ALL", "C.UTF-8")
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_DATA_HOME", self.home.join(".local/share"))
            .current_dir(&self.cwd);
        if let Some(run) = &self.run {
            cmd.env("NETNS_RUN_DIR", run);
        }
        if let Some(xdg) = &self.nobody {
            cmd.env("XDG_RUNTIME_DIR", xdg);
        }
        cmd
    }
}

/// A user's interactive shell with netns's completion loaded, in a
/// terminal of its own. `argv` is a helper typed in front of a completed
/// line: it writes the words the shell gave it to `out.N`, NUL-ended.
/// bash's and zsh's completion functions are wrapped so that what they
/// offer is written to `offered` too.
struct Session {
    shell: Shell,
    term: Term,
    dir: PathBuf,
    _files: TempDir,
    setup: Setup,
    runs: usize,
    completions: usize,
}

/// Ends an item of what a completion offered, and a completion: no test
/// name holds these bytes.
const ITEM: u8 = 0x1f;
const DONE: u8 = 0x1d;

impl Session {
    fn start(shell: Shell, setup: &Setup) -> Self {
        let files = TempDir::new("-term");
        let dir = files.0.clone();
        let argv = dir.join("argv");
        std::fs::write(
            &argv,
            "#!/bin/sh\nn=$1; shift; d=${0%/*}\n\
             for a; do printf '%s\\0' \"$a\"; done > \"$d/out.$n.tmp\" && mv \"$d/out.$n.tmp\" \"$d/out.$n\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&argv, std::fs::Permissions::from_mode(0o755)).unwrap();
        let offered = dir.join("offered");
        std::fs::write(&offered, "").unwrap();
        let (c, o) = (completions(), offered.display().to_string());
        let c = c.display();
        let cmd = match shell {
            Shell::Bash => {
                let rc = dir.join("bashrc");
                let text = format!(
                    "PS1='$ '\nbind 'set bell-style none'\nsource {c}/netns.bash\n\
                     __netns_test() {{ _netns \"$@\"; local s=$?\n\
                     (( ${{#COMPREPLY[@]}} )) && printf '%s\\x1f' \"${{COMPREPLY[@]}}\" >> '{o}'\n\
                     printf '\\x1d' >> '{o}'; return $s; }}\n\
                     while read -r line; do [[ $line == *' -F _netns '* ]] && \
                     eval \"${{line/-F _netns /-F __netns_test }}\"; done < <(complete -p)\n"
                );
                std::fs::write(&rc, text).unwrap();
                let mut cmd = setup.command("bash");
                cmd.arg("--rcfile").arg(&rc).arg("-i");
                cmd
            }
            Shell::Zsh => {
                let text = format!(
                    "PS1='$ '\nunsetopt beep autolist\nbindkey -e\nfpath=({c} $fpath)\n\
                     autoload -U compinit && compinit -u -D\n\
                     compadd() {{ if (( ! ${{@[(I)-[OAD]]}} )); then local -a got; local a p=\n\
                     (( ${{@[(I)-P]}} )) && p=${{@[${{@[(I)-P]}}+1]}}\n\
                     builtin compadd -O got \"$@\"\n\
                     for a in \"${{got[@]}}\"; do print -rn -- \"$p$a\"$'\\x1f' >> '{o}'; done; fi\n\
                     builtin compadd \"$@\" }}\n\
                     __netns_test() {{ _netns \"$@\"; local s=$?; print -rn -- $'\\x1d' >> '{o}'; return $s }}\n\
                     for c in ${{(k)_comps}}; do [[ $_comps[$c] == _netns ]] && _comps[$c]=__netns_test; done\n"
                );
                std::fs::write(dir.join(".zshrc"), text).unwrap();
                let mut cmd = setup.command("zsh");
                cmd.arg("-i").env("ZDOTDIR", &dir);
                cmd
            }
            Shell::Fish => {
                let rc = dir.join("rc.fish");
                let text = format!(
                    "set -g fish_greeting\nfunction fish_prompt; echo '$ '; end\n\
                     source {c}/netns.fish\n"
                );
                std::fs::write(&rc, text).unwrap();
                let mut cmd = setup.command("fish");
                cmd.args(["-N", "-i", "-C"])
                    .arg(format!("source {}", rc.display()));
                cmd
            }
        };
        if setup.nobody.is_some() {
            chown_nobody(&dir);
        }
        let term = Term::start(&cmd);
        let mut session = Session {
            shell,
            term,
            dir,
            _files: files,
            setup: setup.clone(),
            runs: 0,
            completions: 0,
        };
        session.ready();
        session
    }

    /// Until the shell runs what is typed: a shell may drop keys typed
    /// before its line editor is up, so the helper is typed again until
    /// one of its runs shows.
    fn ready(&mut self) {
        let start = std::time::Instant::now();
        let ran = |dir: &Path| {
            let outs: Vec<PathBuf> = std::fs::read_dir(dir)
                .unwrap()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("out."))
                .map(|e| e.path())
                .collect();
            for out in &outs {
                let _ = std::fs::remove_file(out);
            }
            !outs.is_empty()
        };
        loop {
            let n = self.next_run();
            let helper = self.dir.join("argv");
            self.term
                .type_keys(format!("{} {n} ready\r", helper.display()));
            let tried = std::time::Instant::now();
            while tried.elapsed().as_secs() < 2 {
                if ran(&self.dir) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            assert!(
                start.elapsed().as_secs() < 20,
                "{:?} never ran a command: {}",
                self.shell,
                self.term.screen_end()
            );
        }
    }

    fn next_run(&mut self) -> usize {
        self.runs += 1;
        self.runs
    }

    /// What the completion offers for `line` (its last word; a line ending
    /// in a space completes a new one), sorted, as the shell has them:
    /// bash's COMPREPLY (each as it is inserted), the words zsh's compadd
    /// matched (`compadd -O`, with a -P prefix), and fish's own list of
    /// `complete -C LINE`.
    fn offered(&mut self, line: &str) -> Vec<String> {
        let mut got: Vec<String> = match self.shell {
            Shell::Fish => {
                let script = format!(
                    "source {}/netns.fish; complete --do-complete=$argv[1]",
                    completions().display()
                );
                let mut fish = self.setup.command("fish");
                let out = output(fish.args(["-N", "-c", &script, line]), "");
                assert_eq!(out.code, 0, "fish: {line:?}: {out:?}");
                out.stdout
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(|l| l.split('\t').next().unwrap().to_owned())
                    .collect()
            }
            _ => {
                let group = self.complete(line);
                self.term.type_keys("\x15");
                group
                    .split(|&b| b == ITEM)
                    .filter(|i| !i.is_empty())
                    .map(|i| String::from_utf8_lossy(i).into_owned())
                    .collect()
            }
        };
        got.sort();
        got.dedup();
        got
    }

    /// Types `line` and TAB; for bash and zsh, waits for their completion
    /// to be done and returns what it offered.
    fn complete(&mut self, line: &str) -> Vec<u8> {
        self.term.type_keys(format!("{line}\t"));
        if self.shell == Shell::Fish {
            return Vec::new();
        }
        let offered = self.dir.join("offered");
        let want = self.completions + 1;
        let done = || {
            let text = std::fs::read(&offered).unwrap_or_default();
            text.iter().filter(|&&b| b == DONE).count() >= want
        };
        self.term
            .wait_until(&format!("{:?}: completing {line:?}", self.shell), done);
        self.completions = want;
        let text = std::fs::read(&offered).unwrap();
        let group = text.split(|&b| b == DONE).nth(want - 1).unwrap_or(&[]);
        group.to_vec()
    }

    /// Types `line`, TAB, then the helper at its start and Enter: the
    /// words the shell then runs, as it parsed the completed line. A line
    /// left waiting for more (an open quote) is an `Err`, and cancelled.
    fn completed(&mut self, line: &str) -> Result<Vec<Vec<u8>>, String> {
        self.complete(line);
        let n = self.next_run();
        let helper = self.dir.join("argv");
        self.term
            .type_keys(format!("\x01{} {n} \r", helper.display()));
        let out = self.dir.join(format!("out.{n}"));
        let start = std::time::Instant::now();
        while !out.exists() {
            if start.elapsed().as_secs() > 10 {
                let screen = self.term.screen_end();
                // Out of a continuation line, back to a prompt.
                self.term.type_keys("\x03");
                std::thread::sleep(std::time::Duration::from_millis(300));
                return Err(format!(
                    "the completed line ran nothing (left open?); the screen ends:\n{screen}"
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let words = std::fs::read(&out).unwrap();
        let _ = std::fs::remove_file(&out);
        Ok(words
            .split(|&b| b == 0)
            .map(<[u8]>::to_vec)
            .collect::<Vec<_>>()
            .split_last()
            .map(|(_, words)| words.to_vec())
            .unwrap_or_default())
    }
}

fn chown_nobody(path: &Path) {
    let id = Some(nix::unistd::Uid::from_raw(65534));
    let gid = Some(nix::unistd::Gid::from_raw(65534));
    nix::unistd::chown(path, id, gid).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap().flatten() {
            chown_nobody(&entry.path());
        }
    }
}

/// The words a line is run as, for comparing.
fn words(words: &[&[u8]]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.to_vec()).collect()
}

fn show(words: &[Vec<u8>]) -> String {
    let shown: Vec<String> = words
        .iter()
        .map(|w| format!("{:?}", w.escape_ascii().to_string()))
        .collect();
    format!("[{}]", shown.join(", "))
}

#[test]
fn every_shell_offers_verbs_options_names_and_ip_words() {
    let sb = Sandbox::with(&["blue", "red"]);
    let other = Sandbox::with(&["green"]);
    let other_dir = other.run.display().to_string();
    let verbs = output(
        Command::new(bin("list").with_file_name("netns")).arg("--verbs"),
        "",
    );
    let mut expected_verbs: Vec<String> = verbs.stdout.lines().map(str::to_owned).collect();
    expected_verbs.extend(["delete", "list-id", "monitor", "show"].map(str::to_owned));
    expected_verbs.sort();
    let add_options = [
        "--exist-ok",
        "--help",
        "--json",
        "--lo-up",
        "--rootless",
        "--run-dir",
        "--version",
        "-V",
        "-h",
        "-j",
    ];
    let names = ["blue", "red"];
    let cwd = TempDir::new("-cwd");
    let setup = Setup::new(&sb, &cwd.0);
    for shell in SHELLS {
        let mut s = Session::start(shell, &setup);
        assert_eq!(s.offered("netns "), expected_verbs, "{shell:?}");
        assert_eq!(s.offered("netns-add -"), add_options, "{shell:?}");
        assert_eq!(s.offered("netns-exec "), names, "{shell:?}");
        assert_eq!(s.offered("netns del "), names, "{shell:?}");
        // ip's -all: a command follows, not a name.
        assert_eq!(s.offered("netns -all ex"), ["exec"], "{shell:?}");
        let commands = s.offered("netns -all exec ");
        assert!(
            commands.iter().any(|c| c == "sh"),
            "{shell:?}: {commands:?}"
        );
        assert!(
            !commands.iter().any(|c| c == "blue"),
            "{shell:?}: {commands:?}"
        );
        assert_eq!(s.offered("netns d"), ["del", "delete"], "{shell:?}");
        assert_eq!(
            s.offered("netns monitor "),
            ["all", "id", "name"],
            "{shell:?}"
        );
        let line = format!("netns-del --run-dir {other_dir} ");
        assert_eq!(s.offered(&line), ["green"], "{shell:?}");
        assert_eq!(s.offered("netns-set blue "), ["auto"], "{shell:?}");
    }
}

/// Every verb is registered with every shell, and every option of its
/// --help is offered: a verb that gains an option or a new verb fails here
/// until the completion has it.
#[test]
fn completion_covers_every_verb_and_option() {
    let sb = Sandbox::new();
    let verbs = output(
        Command::new(bin("list").with_file_name("netns")).arg("--verbs"),
        "",
    );
    // Each file's one line that registers the commands.
    let registered = |file: &str, starts: &str| -> Vec<String> {
        let text = std::fs::read_to_string(completions().join(file)).unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with(starts))
            .unwrap()
            .to_owned();
        line[starts.len()..]
            .split([' ', ')'])
            .filter(|w| !w.is_empty())
            .map(|w| w.trim_start_matches("netns-").to_owned())
            .collect()
    };
    let lists = [
        registered("netns.bash", "_netns_verbs=("),
        registered("_netns", "#compdef netns "),
        registered("netns.fish", "for command in netns "),
    ];
    let cwd = TempDir::new("-cwd");
    let mut bash = Session::start(Shell::Bash, &Setup::new(&sb, &cwd.0));
    for verb in verbs.stdout.lines() {
        for list in &lists {
            assert!(list.iter().any(|v| v == verb), "{verb} not in {list:?}");
        }
        let help = output(Command::new(bin(verb)).arg("--help"), "").stdout;
        // `  -x, --long ...` or `      --long ...`: the long one.
        let options: Vec<&str> = help
            .lines()
            .filter_map(|l| {
                let l = l.trim_start();
                let l = match l.split_once(", ") {
                    Some((short, rest)) if short.len() == 2 && short.starts_with('-') => rest,
                    _ => l,
                };
                l.starts_with("--").then(|| l.split(' ').next().unwrap())
            })
            .collect();
        assert!(options.contains(&"--help"), "{verb}: {options:?}");
        let offered = bash.offered(&format!("netns-{verb} --"));
        for option in options {
            assert!(
                offered.iter().any(|o| o == option),
                "netns-{verb}: {option} not offered"
            );
        }
    }
}

/// Makes a name as ip or a hand would (netns-add refuses control bytes
/// and bytes that are not UTF-8): a file with a new namespace on it.
fn by_hand(sb: &Sandbox, name: &[u8]) {
    let file = sb.run.join(OsStr::from_bytes(name));
    std::fs::write(&file, "").unwrap();
    let mut net = std::ffi::OsString::from("--net=");
    net.push(&file);
    let out = output(Command::new("unshare").arg(net).arg("true"), "");
    assert_eq!(out.code, 0, "{out:?}");
}

/// The names of issue 24's items 1 to 3, each found by a prefix of its
/// own: (item, typed after `netns-del `, the name).
const HOSTILE: [(u8, &str, &[u8]); 18] = [
    // 1: inserted escaped for the shell, never run.
    (1, "x", b"x;touch pwned"),
    (1, "s", b"s p"),
    (1, "q", b"q'u"),
    (1, "w", b"w\"d"),
    (1, "v", b"v$HOME"),
    (1, "y", b"y`touch pwned`"),
    (1, "\\~", b"~t"),
    // 2: never globbed (the current directory holds g1 g2 cd1 ce2).
    (2, "g", b"g*"),
    (2, "c", b"c[de]*"),
    // 3: the real name, not its C-quoted form; a name ending " (id: N)"
    // kept whole; a name starting with `-` after a `--`.
    (3, "n", b"n\nl"),
    (3, "t", b"t\tb"),
    (3, "b", b"b\\k"),
    (3, "r", b"r\xff"),
    (3, "\\\"", b"\"lead"),
    (3, "e", b"e (id: 5)"),
    (3, "f", b"f (id: 6)"),
    (3, "h", b"h"),
    (3, "-d", b"-dash"),
];

/// What the shell runs for `netns-del TYPED<TAB>` ending with `name`:
/// `--` before a name that starts with `-`, which fish, which inserts a
/// candidate as one word, wants typed.
fn expected_del(shell: Shell, name: &[u8]) -> (String, Vec<Vec<u8>>) {
    match name {
        b"-dash" if shell == Shell::Fish => (
            "netns-del -- -d".to_owned(),
            words(&[b"netns-del", b"--", name]),
        ),
        b"-dash" => (
            "netns-del -d".to_owned(),
            words(&[b"netns-del", b"--", name]),
        ),
        _ => (String::new(), words(&[b"netns-del", name])),
    }
}

/// Items 1 to 3: each hostile name completed from its first byte and the
/// line run. The shell must run exactly `netns-del NAME`, and nothing
/// else (no `pwned` file). fish cannot carry a tab in a candidate (it
/// splits a description off at the first one), and leaves that name out.
#[test]
fn hostile_names_are_inserted_exactly_and_run_nothing() {
    let sb = Sandbox::with(&["seed"]);
    assert_eq!(sb.run("del", &["seed"]).code, 0);
    for (_, _, name) in HOSTILE {
        match std::str::from_utf8(name) {
            Ok(name) if !name.contains(['\n', '\t']) => {
                let out = sb.run("add", &["--", name]);
                assert_eq!(out.code, 0, "{name:?}: {out:?}");
            }
            _ => by_hand(&sb, name),
        }
    }
    for name in ["f (id: 6)", "h"] {
        let out = sb.run("set", &[name, "auto"]);
        assert_eq!(out.code, 0, "{out:?}");
    }
    let cwd = TempDir::new("-cwd");
    for file in ["g1", "g2", "cd1", "ce2"] {
        std::fs::write(cwd.0.join(file), "").unwrap();
    }
    let setup = Setup::new(&sb, &cwd.0);
    let mut failures = Vec::new();
    for shell in SHELLS {
        let mut s = Session::start(shell, &setup);
        for (item, typed, name) in HOSTILE {
            let (line, mut want) = expected_del(shell, name);
            let line = match line.is_empty() {
                true => format!("netns-del {typed}"),
                false => line,
            };
            if shell == Shell::Fish && name.contains(&b'\t') {
                want = words(&[b"netns-del", b"t"]);
            }
            match s.completed(&line) {
                Ok(got) if got == want => {}
                Ok(got) => failures.push(format!(
                    "item {item}: {shell:?}: {line:?}<TAB> ran {}, not {}",
                    show(&got),
                    show(&want)
                )),
                Err(e) => failures.push(format!("item {item}: {shell:?}: {line:?}<TAB>: {e}")),
            }
        }
        // In quotes of the user's own: the rest goes in those quotes.
        for (typed, name) in [
            ("'s", &b"s p"[..]),
            ("\"s", b"s p"),
            ("'q", b"q'u"),
            ("\"w", b"w\"d"),
            ("\"v", b"v$HOME"),
        ] {
            let line = format!("netns-del {typed}");
            let want = words(&[b"netns-del", name]);
            match s.completed(&line) {
                Ok(got) if got == want => {}
                Ok(got) => failures.push(format!(
                    "item 1: {shell:?}: {line:?}<TAB> ran {}, not {}",
                    show(&got),
                    show(&want)
                )),
                Err(e) => failures.push(format!("item 1: {shell:?}: {line:?}<TAB>: {e}")),
            }
        }
        if cwd.0.join("pwned").exists() {
            failures.push(format!("item 1: {shell:?}: a completed line ran touch"));
            std::fs::remove_file(cwd.0.join("pwned")).unwrap();
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Item 4: the words of the line as the shell will give them to the
/// command: `--run-dir=DIR` (bash splits at `=`), a DIR with a `:` (bash
/// splits there too), `~` and `$HOME`, quotes; and a DIR completed after
/// `--run-dir=`.
#[test]
fn the_line_is_read_as_the_shell_will_run_it() {
    let home = Sandbox::with(&["teal"]);
    let eq = Sandbox::with(&["green"]);
    let colon = Sandbox::at("co:lon", &["cyan"]);
    let space = Sandbox::at("sp ace", &["sand"]);
    let cwd = TempDir::new("-cwd");
    let setup = Setup::new(&home, &cwd.0);
    let (e, c, sp) = (
        eq.run.display().to_string(),
        colon.run.display().to_string(),
        space.run.display().to_string(),
    );
    let home_run = home.run.display().to_string();
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            format!("netns-del --run-dir={e} "),
            vec![format!("--run-dir={e}"), "green".into()],
        ),
        (
            format!("netns-del --run-dir {c} "),
            vec!["--run-dir".into(), c.clone(), "cyan".into()],
        ),
        (
            format!("netns-del --run-dir={c} "),
            vec![format!("--run-dir={c}"), "cyan".into()],
        ),
        (
            "netns-del --run-dir ~/run ".into(),
            vec!["--run-dir".into(), home_run.clone(), "teal".into()],
        ),
        (
            "netns-del --run-dir=$HOME/run ".into(),
            vec![format!("--run-dir={home_run}"), "teal".into()],
        ),
        (
            format!("netns-del --run-dir '{sp}' "),
            vec!["--run-dir".into(), sp.clone(), "sand".into()],
        ),
        (
            format!("netns-del --run-dir=\"{sp}\" "),
            vec![format!("--run-dir={sp}"), "sand".into()],
        ),
        (
            format!("netns-del --run-dir={}", &e[..e.len() - 2]),
            vec![format!("--run-dir={e}/")],
        ),
    ];
    let mut failures = Vec::new();
    for shell in SHELLS {
        let mut s = Session::start(shell, &setup);
        for (line, rest) in &cases {
            // `$HOME` and `~` are the shell's to expand: fish's `$HOME` is
            // a variable too.
            let mut want = vec![b"netns-del".to_vec()];
            want.extend(rest.iter().map(|w| w.as_bytes().to_vec()));
            // zsh takes the `/` it put after a directory off again when
            // the cursor moves away.
            let slashless = want
                .last()
                .and_then(|w| w.strip_suffix(b"/"))
                .map(<[u8]>::to_vec);
            match s.completed(line) {
                Ok(got) if got == want => {}
                Ok(got) if shell == Shell::Zsh && got.last() == slashless.as_ref() => {}
                Ok(got) => failures.push(format!(
                    "{shell:?}: {line:?}<TAB> ran {}, not {}",
                    show(&got),
                    show(&want)
                )),
                Err(err) => failures.push(format!("{shell:?}: {line:?}<TAB>: {err}")),
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Item 5: TAB runs no program from the current directory, whatever is
/// typed (`./netns-del`) and whatever PATH says (`.` first): the
/// options and names come from the tools on PATH's absolute directories.
#[test]
fn nothing_in_the_current_directory_is_run() {
    let sb = Sandbox::with(&["blue"]);
    let cwd = TempDir::new("-untrusted");
    let fakes = [
        "netns",
        "netns-del",
        "netns-list",
        "bash",
        "sed",
        "grep",
        "ls",
        "cat",
    ];
    for fake in fakes {
        let path = cwd.0.join(fake);
        std::fs::write(&path, "#!/bin/sh\ntouch \"${0%/*}/ran-${0##*/}\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut setup = Setup::new(&sb, &cwd.0);
    setup.path = format!(".:{}", setup.path);
    let mut failures = Vec::new();
    for shell in SHELLS {
        let mut s = Session::start(shell, &setup);
        for (line, want) in [
            ("./netns-del b", words(&[b"./netns-del", b"blue"])),
            ("./netns del b", words(&[b"./netns", b"del", b"blue"])),
            ("netns-del b", words(&[b"netns-del", b"blue"])),
        ] {
            match s.completed(line) {
                Ok(got) if got == want => {}
                Ok(got) => failures.push(format!(
                    "{shell:?}: {line:?}<TAB> ran {}, not {}",
                    show(&got),
                    show(&want)
                )),
                Err(err) => failures.push(format!("{shell:?}: {line:?}<TAB>: {err}")),
            }
        }
        let options = s.offered("./netns-del --a");
        if options != ["--all"] {
            failures.push(format!(
                "{shell:?}: ./netns-del --a<TAB> offered {options:?}"
            ));
        }
        let ran: Vec<String> = crate::util::entries(&cwd.0)
            .into_iter()
            .filter(|f| f.starts_with("ran-"))
            .collect();
        if !ran.is_empty() {
            failures.push(format!(
                "{shell:?}: TAB ran the current directory's {ran:?}"
            ));
            for f in ran {
                let _ = std::fs::remove_file(cwd.0.join(f));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// PIDs where a PID goes, the command after `exec NAME` and files after
/// it, users after `--user`, devices after `--dev` and `list dev`.
#[test]
fn pids_commands_users_and_devices_are_offered() {
    let sb = Sandbox::with(&["blue"]);
    let mut procs = Procs::default();
    let inside = procs.sleepers(sb.cmd("exec"), "blue", 0)[0].to_string();
    let cwd = TempDir::new("-cwd");
    std::fs::write(cwd.0.join("some-file"), "").unwrap();
    let setup = Setup::new(&sb, &cwd.0);
    for shell in SHELLS {
        let mut s = Session::start(shell, &setup);
        for line in ["netns-identify ", "netns-attach x ", "netns identify "] {
            let pids = s.offered(line);
            assert!(pids.contains(&inside), "{shell:?}: {line}: {pids:?}");
            assert!(
                pids.iter().all(|p| p.parse::<u32>().is_ok()),
                "{shell:?}: {line}: {pids:?}"
            );
        }
        let pids = s.offered(&format!("netns-inspect {}", &inside[..inside.len() - 1]));
        assert!(pids.contains(&inside), "{shell:?}: {pids:?}");
        let commands = s.offered("netns-exec blue ");
        assert!(
            commands.iter().any(|c| c == "sh") && !commands.contains(&"blue".to_owned()),
            "{shell:?}: {commands:?}"
        );
        let files = s.offered("netns-exec blue sh ");
        assert!(
            files.iter().any(|f| f == "some-file"),
            "{shell:?}: {files:?}"
        );
        let users = s.offered("netns-exec --user ");
        assert!(
            users.iter().any(|u| u == "nobody") && users.iter().any(|u| u == "root"),
            "{shell:?}: {users:?}"
        );
        let got = s.completed("netns-exec --user=nob").unwrap();
        assert_eq!(
            got,
            words(&[b"netns-exec", b"--user=nobody"]),
            "{shell:?}: {}",
            show(&got)
        );
        for line in ["netns-list --dev ", "netns list dev "] {
            let devices = s.offered(line);
            assert!(devices.contains(&"lo".to_owned()), "{shell:?}: {devices:?}");
        }
        let got = s.completed("netns-list --dev=l").unwrap();
        assert_eq!(
            got,
            words(&[b"netns-list", b"--dev=lo"]),
            "{shell:?}: {}",
            show(&got)
        );
    }
}

/// With `--rootless` on the line, the names are the user's own, from the
/// keeper of their XDG_RUNTIME_DIR's run dir.
#[test]
fn rootless_names_are_offered_with_rootless() {
    let nobody = crate::rootless::Nobody::new();
    let out = nobody.script("netns-add --rootless lab1 lab2");
    assert_eq!(out.code, 0, "{out:?}");
    let home = TempDir::new("-nobody-home");
    chown_nobody(&home.0);
    let setup = Setup {
        run: None,
        cwd: home.0.clone(),
        path: path(),
        home: home.0.clone(),
        nobody: Some(nobody.xdg.clone()),
    };
    for shell in SHELLS {
        let mut s = Session::start(shell, &setup);
        assert_eq!(
            s.offered("netns-del --rootless "),
            ["lab1", "lab2"],
            "{shell:?}"
        );
        assert_eq!(
            s.offered("netns del --rootless lab"),
            ["lab1", "lab2"],
            "{shell:?}"
        );
        let got = s.completed("netns-exec --rootless lab2").unwrap();
        assert_eq!(
            got,
            words(&[b"netns-exec", b"--rootless", b"lab2"]),
            "{shell:?}: {}",
            show(&got)
        );
    }
    let out = nobody.script("netns-del --rootless --all");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(nobody.keepers_end());
}

/// From an attack: with history expansion on (any interactive bash), a
/// name with a `!` was offered inside an open double quote in a form that
/// closed and reopened the quotes, and the rest of the name ran as a
/// command. Such a name is not offered there now.
#[test]
fn a_bang_in_a_name_is_not_offered_inside_double_quotes() {
    let sb = Sandbox::new();
    let name = "!z\";touch pwned;#";
    assert_eq!(sb.run("add", &["--", name, "plain"]).code, 0);
    let script = format!(
        "set -H; source {}/netns.bash
         COMP_LINE='netns-del \"'; COMP_POINT=${{#COMP_LINE}}
         COMP_WORDS=(netns-del '\"'); COMP_CWORD=1
         _netns netns-del '\"' netns-del
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        completions().display()
    );
    let dir = bin("list").parent().unwrap().to_path_buf();
    let out = output(
        Command::new("bash")
            .args(["--norc", "-c", &script])
            .env("NETNS_RUN_DIR", &sb.run)
            .env("PATH", format!("{}:/usr/bin:/bin", dir.display())),
        "",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("plain"),
        "the others are offered: {out:?}"
    );
    assert!(!out.stdout.contains('!'), "{out:?}");
}
