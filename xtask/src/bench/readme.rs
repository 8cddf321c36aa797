//! The README's table of figures: the rows of a run that a user asks
//! about first, each under a plain name, written between the README's
//! `<!-- figures -->` and `<!-- /figures -->` by `cargo xtask bench`
//! (so that every figure there is one of BENCHMARKS.md's).

use super::{Row, ms, ratio};
use crate::project_root;

/// Each figure: the start of its row's `what`, its `reference`, and how
/// the README names it.
const PICKS: &[(&str, &str, &str)] = &[
    (
        "add + del of one name",
        "ip netns add + del",
        "add and delete one name",
    ),
    (
        "1000 adds in one process: `netns-add -`",
        "ip -batch",
        "1000 adds, one process (`seq ... \\| netns-add -`)",
    ),
    (
        "1000 adds in one process: `netns-add -`",
        "the kernel floor",
        "... against the kernel's floor",
    ),
    (
        "1000 dels in one process: `netns-del -`",
        "ip -batch",
        "1000 deletes, one process",
    ),
    (
        "1000 adds in one process: `netns -batch`",
        "`netns-add -`",
        "1000 `netns add` lines of a batch file (`netns -batch`), against `netns-add -`",
    ),
    (
        "1000 dels in one process: `netns -batch`",
        "`netns-del -`",
        "1000 `netns delete` lines of a batch file, against `netns-del -`",
    ),
    (
        "a chain of 1000 (999 links, a /31 each end, all up): `netns-link -`",
        "ip -batch pairs, then `ip -n NAME -batch -` each",
        "a chain of 1000 namespaces wired (`netns-link -`), against ip's fastest form",
    ),
    (
        "a chain of 1000 (999 links, a /31 each end, all up): `netns-link -`",
        "one ip a step",
        "... against one `ip` a step",
    ),
    (
        "a chain of 1000 (999 links, a /31 each end, all up): `netns-link -`",
        "the kernel floor, and up what netns-link brings up",
        "... against the kernel's floor for the same (pairs, addresses, ups)",
    ),
    (
        "a chain of 1000 (999 links, a /31 each end, all up): `netns-add -` + `netns-link -`",
        "ip -batch pairs, then `ip -n NAME -batch -` each",
        "... with the 1000 adds",
    ),
    (
        "a chain of 1000 (999 links, a /31 each end, all up): `netns-add -` + `netns-link -`",
        "the kernel floors of the adds and the links, all up",
        "... with the adds, against the kernel's floors for both",
    ),
    (
        "a LAN: 500 hosts on one bridge, `netns-link -`",
        "ip -batch pairs, then `ip -n NAME -batch -` each",
        "500 hosts on one bridge (`netns-link -`), against ip's fastest form",
    ),
    (
        "teardown of a chain of 1000",
        "ip -batch of netns del",
        "tearing the chain down (`netns-del --all`)",
    ),
    ("list with 1000 names (", "ip netns list", "list 1000 names"),
    (
        "exec of `true` in a namespace",
        "ip netns exec",
        "exec `true` in a namespace",
    ),
    (
        "exec of `true` with 1000 names present (",
        "ip netns exec",
        "... with 1000 names present",
    ),
    (
        "pids with 1000 processes running (",
        "ip netns pids",
        "pids, 1000 processes running",
    ),
    (
        "identify with 100 names",
        "ip netns identify",
        "identify, 100 names",
    ),
    (
        "list --dev with 100 names",
        "a loop of `ip -n NAME link show DEV`",
        "list --dev, 100 names (against a shell loop of `ip -n`)",
    ),
    (
        "inspect --json, 1000 processes and 100 names (",
        "lsns -t net --json",
        "inspect --json (against lsns, which finds 1 of the 101)",
    ),
    (
        "process start (`--version`): the multicall",
        "ip -V",
        "start of the multicall (`--version`)",
    ),
    (
        "rootless exec of `true`",
        "unshare -rn true",
        "rootless exec `true` (against `unshare -rn true`)",
    ),
];

const START: &str = "<!-- figures -->\n";
const END: &str = "<!-- /figures -->";

/// Writes the table of `rows` (of the run `when`) into README.md.
pub(super) fn write(rows: &[Row], when: &str) -> Result<(), String> {
    let path = project_root().join("README.md");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read README.md: {e}"))?;
    let (start, end) = block(&text)?;
    let text = format!("{}{}{}", &text[..start], table(rows, when)?, &text[end..]);
    std::fs::write(&path, text).map_err(|e| format!("cannot write README.md: {e}"))
}

/// Where the table is in the README's `text`: from its start marker to
/// its end marker.
fn block(text: &str) -> Result<(usize, usize), String> {
    match (text.find(START), text.find(END)) {
        (Some(start), Some(end)) if start < end => Ok((start, end)),
        _ => Err(format!(
            "README.md has no {START:?} ... {END:?} to write the figures in"
        )),
    }
}

/// The table, its start marker and the line that names the run.
fn table(rows: &[Row], when: &str) -> Result<String, String> {
    let mut table = format!(
        "{START}From the last run ({when}):\n\n| job | ours | theirs | ratio |\n|---|---|---|---|\n"
    );
    for (what, reference, label) in PICKS {
        let Some(r) = rows
            .iter()
            .find(|r| r.what.starts_with(what) && r.reference.starts_with(reference))
        else {
            return Err(format!(
                "no row {what:?} against {reference:?} for the README"
            ));
        };
        table.push_str(&format!(
            "| {label} | {} | {} ({}) | {:.2} |\n",
            ms(r.ours),
            ms(r.theirs),
            r.reference,
            ratio(r.ours, r.theirs)
        ));
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A row of BENCHMARKS.md's main table, as the bench wrote it.
    fn row(line: &str) -> Option<Row> {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split(" | ")
            .map(str::trim)
            .collect();
        let [what, ours, reference, theirs, ..] = cells[..] else {
            return None;
        };
        let time = |cell: &str| {
            let ms: f64 = cell.strip_suffix(" ms")?.parse().ok()?;
            Some(Duration::from_secs_f64(ms / 1e3))
        };
        Some(Row {
            what: what.to_owned(),
            ours: time(ours)?,
            reference: reference.to_owned(),
            theirs: time(theirs)?,
            target: None,
            note: String::new(),
        })
    }

    /// Every figure in the README is a row of BENCHMARKS.md: the table
    /// made of its rows is the README's (the run's line aside).
    #[test]
    fn the_readmes_figures_are_benchmarks_rows() {
        let read = |name: &str| std::fs::read_to_string(project_root().join(name)).unwrap();
        let (readme, bench) = (read("README.md"), read("BENCHMARKS.md"));
        let rows: Vec<Row> = bench.lines().filter_map(row).collect();
        let (start, end) = block(&readme).unwrap();
        let ours = &readme[start..end];
        let made = table(&rows, "").unwrap();
        let body = |t: &str| t.lines().skip(2).map(String::from).collect::<Vec<_>>();
        assert_eq!(body(ours), body(&made));
    }
}
