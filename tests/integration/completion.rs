//! Shell completion (completions/): bash, zsh and fish, driven without a
//! terminal, offer the verbs, each verb's options (read from its --help),
//! the names of the run dir the line names, and ip's words.

use std::path::PathBuf;
use std::process::Command;

use crate::util::{Sandbox, bin, output};

fn completions() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../completions")
}

/// The verb binaries' directory first on PATH, as after an install.
fn path() -> String {
    let bins = bin("list").parent().unwrap().display().to_string();
    format!("{bins}:{}", std::env::var("PATH").unwrap_or_default())
}

/// What `shell` offers for `line` (completing its last word; a line
/// ending in a space completes a new one), one candidate a line, sorted.
fn offered(shell: &str, sb: &Sandbox, line: &str) -> Vec<String> {
    let dir = completions();
    let script = match shell {
        "bash" => format!(
            "source {}/netns.bash; read -ra W <<< \"$LINE\"; [[ $LINE == *' ' ]] && W+=(''); \
             COMP_WORDS=(\"${{W[@]}}\"); COMP_CWORD=$((${{#W[@]}} - 1)); _netns; \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            dir.display()
        ),
        "zsh" => format!(
            "compadd() {{ [[ $1 == -- ]] && shift; print -rl -- \"$@\" }}; \
             _command_names() {{ print __command__ }}; words=(${{=LINE}}); \
             [[ $LINE == *' ' ]] && words+=(''); CURRENT=$#words; source {}/_netns",
            dir.display()
        ),
        _ => format!("source {}/netns.fish; complete -C \"$LINE\"", dir.display()),
    };
    let flag = if shell == "zsh" { "-fc" } else { "-c" };
    let mut cmd = Command::new(shell);
    cmd.args([flag, &script])
        .env("LINE", line)
        .env("PATH", path())
        .env("NETNS_RUN_DIR", &sb.run);
    let out = output(&mut cmd, "");
    assert_eq!(out.code, 0, "{shell}: {line:?}: {out:?}");
    let mut got: Vec<String> = out
        .stdout
        .lines()
        .filter(|l| !l.is_empty())
        // fish adds a description after a tab.
        .map(|l| l.split('\t').next().unwrap().to_owned())
        .collect();
    got.sort();
    got.dedup();
    got
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
    for shell in ["bash", "zsh", "fish"] {
        assert_eq!(offered(shell, &sb, "netns "), expected_verbs, "{shell}");
        assert_eq!(offered(shell, &sb, "netns-add -"), add_options, "{shell}");
        assert_eq!(offered(shell, &sb, "netns-exec "), names, "{shell}");
        assert_eq!(offered(shell, &sb, "netns del "), names, "{shell}");
        // ip's -all: a command follows, not a name.
        assert_eq!(offered(shell, &sb, "netns -all ex"), ["exec"], "{shell}");
        let commands = offered(shell, &sb, "netns -all exec ");
        let want = if shell == "zsh" { "__command__" } else { "sh" };
        assert!(commands.iter().any(|c| c == want), "{shell}: {commands:?}");
        assert!(
            !commands.iter().any(|c| c == "blue"),
            "{shell}: {commands:?}"
        );
        assert_eq!(offered(shell, &sb, "netns d"), ["del", "delete"], "{shell}");
        assert_eq!(
            offered(shell, &sb, "netns monitor "),
            ["all", "id", "name"],
            "{shell}"
        );
        let line = format!("netns-del --run-dir {other_dir} ");
        assert_eq!(offered(shell, &sb, &line), ["green"], "{shell}");
        assert_eq!(offered(shell, &sb, "netns-set blue "), ["auto"], "{shell}");
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
        let offered = offered("bash", &sb, &format!("netns-{verb} --"));
        for option in options {
            assert!(
                offered.iter().any(|o| o == option),
                "netns-{verb}: {option} not offered"
            );
        }
    }
}
