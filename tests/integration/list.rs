//! netns-list: text and JSON as `ip netns list` prints them, sorted.

use crate::util::{Sandbox, json};

#[test]
fn lists_sorted_names_one_a_line() {
    let sb = Sandbox::new();
    assert_eq!(sb.run("add", &["red", "blue", "green"]).code, 0);
    let out = sb.run("list", &[]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "blue\ngreen\nred\n"),
        "{out:?}"
    );
}

#[test]
fn json_is_an_array_of_names() {
    let sb = Sandbox::new();
    let out = sb.run("list", &["--json"]);
    assert_eq!(out.stdout, "[]\n", "a missing run dir is an empty list");
    assert_eq!(sb.run("add", &["b", "a"]).code, 0);
    let out = sb.run("list", &["-j"]);
    assert_eq!(out.stdout, "[{\"name\":\"a\"},{\"name\":\"b\"}]\n");
    assert_eq!(json(&out.stdout)[1]["name"], "b");
}

#[test]
fn a_stale_file_is_not_listed_but_named_on_stderr() {
    let sb = Sandbox::new();
    assert_eq!(sb.run("add", &["a"]).code, 0);
    std::fs::write(sb.file("stale"), "").unwrap();
    let out = sb.run("list", &[]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "a\n"), "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("\"{}\"", sb.file("stale").display()))
    );
    assert!(
        out.stderr.contains("netns-del"),
        "says how to remove it: {out:?}"
    );
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let sb = Sandbox::new();
    let names: String = (0..200).map(|i| format!("n{i}\n")).collect();
    assert_eq!(sb.run_stdin("add", &["-"], &names).code, 0);
    let mut child = sb
        .cmd("list")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
}

#[test]
fn the_readme_jq_pipeline_prints_the_names() {
    let sb = Sandbox::new();
    assert_eq!(sb.run("add", &["blue", "red"]).code, 0);
    let script = format!(
        "{} --json | jq -r '.[].name'",
        crate::util::bin("list").display()
    );
    let mut sh = std::process::Command::new("sh");
    sh.args(["-c", &script]).env("NETNS_RUN_DIR", &sb.run);
    let out = crate::util::output(&mut sh, "");
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "blue\nred\n"),
        "{out:?}"
    );
}
