//! `cargo xtask man`: netns(8) and a netns-VERB(8) for each verb, made from
//! the help text the binaries print, so that the two cannot drift apart.
//!
//! The help texts share one layout, which this relies on: a `Usage:` block,
//! paragraphs, examples indented by four spaces, an optional `Exit
//! status:` paragraph, and an `Options:` block of two-space-indented terms
//! with their descriptions in a column (the multicall's verb list is such
//! a block, after its paragraph's text).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::dist::verbs;
use crate::{cargo, project_root, run_cargo, stdout_of};

const SEE_ALSO_ELSEWHERE: &[(&str, u8)] = &[("ip-netns", 8), ("network_namespaces", 7)];

/// Whether a page must go through groff's warnings.
#[derive(Clone, Copy, PartialEq)]
pub enum Lint {
    /// groff must be installed (`cargo xtask man`, and CI installs it).
    Always,
    /// Where groff is installed (an install; it says so when it is not).
    IfInstalled,
}

/// Pages from a fresh debug build of the multicall (its help is the same
/// as the size build's) into target/man, each checked by groff.
pub fn run() -> Result<(), String> {
    run_cargo(cargo().args(["build", "-p", "netns"]))?;
    let dir = project_root().join("target/man");
    write(
        &project_root().join("target/debug/netns"),
        &dir,
        Lint::Always,
    )?;
    println!(
        "xtask: the manual pages, checked by groff, in {}",
        dir.display()
    );
    Ok(())
}

/// Asks the multicall `bin` and each of its verbs for --help, and writes
/// a page each into `dir` (netns.8, netns-VERB.8). Each page goes through
/// groff's warnings as `lint` says; returns whether they did.
pub fn write(bin: &Path, dir: &Path, lint: Lint) -> Result<bool, String> {
    let groff = Command::new("groff").arg("--version").output().is_ok();
    if !groff && lint == Lint::Always {
        return Err(
            "groff is not installed, and it checks the pages: install it (apt-get install \
             groff)"
                .to_owned(),
        );
    }
    let verbs = verbs(bin)?;
    let help = stdout_of(bin, &["--help"])?;
    let version = stdout_of(bin, &["--version"])?;
    let version = version.trim();
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut see_also: Vec<(String, u8)> = verbs.iter().map(|v| (format!("netns-{v}"), 8)).collect();
    see_also.extend(SEE_ALSO_ELSEWHERE.iter().map(|&(p, s)| (p.to_owned(), s)));
    let mut pages = vec![(
        "netns".to_owned(),
        page(
            "netns",
            "named network namespaces, every verb in one binary",
            &help,
            version,
            &see_also,
        ),
    )];
    let mut see_also = vec![("netns".to_owned(), 8)];
    see_also.extend(SEE_ALSO_ELSEWHERE.iter().map(|&(p, s)| (p.to_owned(), s)));
    for verb in &verbs {
        let name = format!("netns-{verb}");
        let summary = summary(&help, verb)
            .ok_or_else(|| format!("netns --help does not describe the verb {verb}"))?;
        let text = stdout_of(bin, &[verb, "--help"])?;
        pages.push((
            name.clone(),
            page(&name, &summary, &text, version, &see_also),
        ));
    }
    for (name, text) in pages {
        let path = dir.join(format!("{name}.8"));
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        if groff {
            check(&path)?;
        }
    }
    Ok(groff)
}

/// groff's warnings about a page, as an error.
fn check(page: &Path) -> Result<(), String> {
    let out = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(page)
        .output()
        .map_err(|e| format!("cannot run groff: {e}"))?;
    match out.stderr.is_empty() && out.status.success() {
        true => Ok(()),
        false => Err(format!(
            "groff warns about {}:\n{}",
            page.display(),
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

/// The verb's line in the multicall's list: `  add NAME...   what it does`.
fn summary(help: &str, verb: &str) -> Option<String> {
    help.lines().find_map(|line| {
        let rest = line.strip_prefix("  ")?.strip_prefix(verb)?;
        rest.starts_with(' ').then_some(())?;
        let (_, description) = split_term(line)?;
        Some(description)
    })
}

/// A list line, `  TERM  DESCRIPTION`, indented: the term, and the description with
/// its runs of spaces made one.
fn split_term(line: &str) -> Option<(String, String)> {
    let body = line.trim_start();
    let gap = body.find("  ")?;
    let (term, description) = body.split_at(gap);
    Some((
        term.trim().to_owned(),
        description.split_whitespace().collect::<Vec<_>>().join(" "),
    ))
}

/// A manual page in section 8, from a help text.
fn page(name: &str, summary: &str, help: &str, version: &str, see_also: &[(String, u8)]) -> String {
    let mut man = String::new();
    let _ = writeln!(
        man,
        ".TH \"{}\" 8 \"\" \"{}\" \"netns\"",
        name.to_uppercase(),
        version
    );
    let _ = writeln!(man, ".SH NAME\n{} \\- {}", roff(name), roff(summary));
    let mut description = String::new();
    let mut options = String::new();
    let mut exit = None;
    for block in help
        .split("\n\n")
        .map(str::trim_end)
        .filter(|b| !b.is_empty())
    {
        let lines: Vec<&str> = block.lines().collect();
        if let Some(first) = lines[0].strip_prefix("Usage: ") {
            man.push_str(".SH SYNOPSIS\n.nf\n");
            for line in std::iter::once(first).chain(lines[1..].iter().map(|l| l.trim())) {
                let _ = writeln!(man, "{}", roff(line));
            }
            man.push_str(".fi\n");
        } else if lines[0] == "Options:" {
            list(&mut options, &lines[1..]);
        } else if let Some(first) = lines[0].strip_prefix("Exit status: ") {
            exit = Some(paragraph(
                std::iter::once(first).chain(lines[1..].iter().copied()),
            ));
        } else if lines.iter().all(|l| l.starts_with("    ")) {
            description.push_str(".PP\n.RS\n.nf\n");
            for line in &lines {
                let _ = writeln!(description, "{}", roff(&line[4..]));
            }
            description.push_str(".fi\n.RE\n");
        } else {
            let text = lines.iter().take_while(|l| !l.starts_with(' ')).count();
            description.push_str(".PP\n");
            description.push_str(&paragraph(lines[..text].iter().copied()));
            list(&mut description, &lines[text..]);
        }
    }
    let _ = write!(man, ".SH DESCRIPTION\n{description}");
    if !options.is_empty() {
        let _ = write!(man, ".SH OPTIONS\n{options}");
    }
    let exit = exit.unwrap_or_else(|| {
        paragraph(std::iter::once(
            "0 on success; 1 if the operation failed; 2 for a usage error.",
        ))
    });
    let _ = write!(man, ".SH \"EXIT STATUS\"\n{exit}");
    man.push_str(".SH \"SEE ALSO\"\n");
    let refs: Vec<String> = see_also
        .iter()
        .map(|(page, section)| format!(".BR {} ({section})", roff(page)))
        .collect();
    let _ = writeln!(man, "{}", refs.join(",\n"));
    man
}

fn paragraph<'a>(lines: impl Iterator<Item = &'a str>) -> String {
    lines.map(|l| roff(l.trim()) + "\n").collect()
}

/// Term/description lines as .TP items. A term starts within the first
/// few columns; a line indented further goes on with the description above.
fn list(out: &mut String, lines: &[&str]) {
    const TERM_COLUMNS: usize = 8;
    for line in lines {
        let indent = line.len() - line.trim_start().len();
        match split_term(line).filter(|_| indent < TERM_COLUMNS) {
            Some((term, description)) => {
                let _ = writeln!(out, ".TP\n.B {}\n{}", roff(&term), roff(&description));
            }
            None => {
                let _ = writeln!(out, "{}", roff(line.trim()));
            }
        }
    }
}

/// Text as roff reads it literally: backslashes and hyphens escaped (a
/// `\-` is what can be copied as an option's dash), and a line that would
/// start with a control character guarded.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    match escaped.starts_with('.') || escaped.starts_with('\'') {
        true => format!("\\&{escaped}"),
        false => escaped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELP: &str = "\
Usage: netns-x [OPTIONS] NAME
       netns-x [OPTIONS] -

Do x to NAME, as `ip netns x` does.
.dots and back\\slashes stay as they are.

    netns-x blue     # an example

Exit status: 3 when it rains.

Options:
      --run-dir DIR  the run dir
  -j, --json         print JSON:
                     [{\"name\":..}]
";

    #[test]
    fn a_help_text_becomes_a_page() {
        let page = page("netns-x", "do x", HELP, "netns 1.0", &[("netns".into(), 8)]);
        let expected = r#".TH "NETNS-X" 8 "" "netns 1.0" "netns"
.SH NAME
netns\-x \- do x
.SH SYNOPSIS
.nf
netns\-x [OPTIONS] NAME
netns\-x [OPTIONS] \-
.fi
.SH DESCRIPTION
.PP
Do x to NAME, as `ip netns x` does.
\&.dots and back\eslashes stay as they are.
.PP
.RS
.nf
netns\-x blue     # an example
.fi
.RE
.SH OPTIONS
.TP
.B \-\-run\-dir DIR
the run dir
.TP
.B \-j, \-\-json
print JSON:
[{"name":..}]
.SH "EXIT STATUS"
3 when it rains.
.SH "SEE ALSO"
.BR netns (8)
"#;
        assert_eq!(page, expected);
    }

    /// A page for the multicall and each verb, from the binary's own
    /// help, every one of them without a warning from groff (which must
    /// be installed: CI installs it).
    #[test]
    fn every_verb_gets_a_page_groff_takes() {
        let dir = crate::dist::tests::Scratch::new();
        let bin = crate::dist::tests::built();
        assert_eq!(write(&bin, &dir.0, Lint::Always), Ok(true));
        let mut pages: Vec<String> = verbs(&bin)
            .unwrap()
            .iter()
            .map(|v| format!("netns-{v}.8"))
            .chain(["netns.8".to_owned()])
            .collect();
        pages.sort();
        let mut written: Vec<String> = std::fs::read_dir(&dir.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        written.sort();
        assert_eq!(written, pages);
        let add = std::fs::read_to_string(dir.0.join("netns-add.8")).unwrap();
        assert!(add.starts_with(".TH \"NETNS-ADD\" 8 "), "{add}");
        assert!(add.contains("\n.SH OPTIONS\n"), "{add}");
    }

    #[test]
    fn a_verb_is_summed_up_by_its_line_in_the_multicall_help() {
        let help = "Verbs:\n  add NAME...           make them\n  del NAME... | --all   remove names      (ip: delete)\n";
        assert_eq!(summary(help, "add").as_deref(), Some("make them"));
        assert_eq!(
            summary(help, "del").as_deref(),
            Some("remove names (ip: delete)")
        );
        assert_eq!(summary(help, "ad"), None);
    }
}
