//! The repo's chores, run as `cargo xtask TASK` (an alias in
//! .cargo/config.toml; see the cargo-xtask pattern). std and nix only, so
//! that it builds fast.
//!
//! - `test [ARGS]`: the verb binaries, then the whole test suite (`cargo
//!   test --workspace ARGS`, as root), then a check that the tests left no
//!   namespace, mount or run dir behind.
//! - `bench`: `ip netns` and ours side by side; writes BENCHMARKS.md
//!   (`bench bulk`, `bench link`: the rows of 1000 names in one process, or
//!   of links, alone, printed).
//! - `dist`: the static multicall and its links in target/dist/, within
//!   its size budget.
//! - `install [--prefix DIR]`: the same into DIR/bin (default /usr/local),
//!   and the manual pages into DIR/share/man/man8.
//! - `man`: the manual pages, from the binaries' help, in target/man/.
//! - `vm`: the multicall's verbs on Debian 12's Linux 6.1 and Debian 11's 5.10, under QEMU.

mod bench;
mod dist;
mod man;
mod test;
mod vm;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask test [CARGO TEST ARGS] | bench [bulk|link] | dist | install [--prefix DIR] | man | vm";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let task = args.next();
    let rest: Vec<String> = args.collect();
    let result = match task.as_deref() {
        Some("test") => test::run(&rest),
        Some("bench") if rest.is_empty() => bench::run(),
        Some("bench") if rest == ["bulk"] => bench::run_bulk(),
        Some("bench") if rest == ["link"] => bench::run_link(),
        Some("dist") if rest.is_empty() => dist::dist().map(drop),
        Some("install") => dist::install(&rest),
        Some("man") if rest.is_empty() => man::run(),
        Some("vm") if rest.is_empty() => vm::run(),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask/ sits in it.
fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is in the workspace")
        .to_path_buf()
}

fn cargo() -> std::process::Command {
    let mut cmd = std::process::Command::new(std::env::var_os("CARGO").unwrap_or("cargo".into()));
    cmd.current_dir(project_root());
    cmd
}

fn require_root(what: &str) -> Result<(), String> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(format!(
            "{what} make real namespaces and mounts: run as root"
        ))
    }
}

/// Runs a cargo command to its end: its failure is ours.
fn run_cargo(cmd: &mut std::process::Command) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    match status.success() {
        true => Ok(()),
        false => Err("cargo failed".to_owned()),
    }
}

/// The variable that gives rustflags to `target`'s crates only: with
/// `--target`, build scripts are built without them, so a static link
/// does not reach them.
fn target_rustflags(target: &str) -> String {
    format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        target.to_uppercase().replace('-', "_")
    )
}

/// The triple rustc builds for by default.
fn host_target() -> Result<String, String> {
    let out = std::process::Command::new(std::env::var_os("RUSTC").unwrap_or("rustc".into()))
        .arg("-vV")
        .output()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(String::from)
        .ok_or_else(|| "rustc -vV names no host".to_owned())
}

/// What `bin ARGS` prints, if it succeeds.
fn stdout_of(bin: &Path, args: &[&str]) -> Result<String, String> {
    let what = || format!("{} {}", bin.display(), args.join(" "));
    let out = std::process::Command::new(bin)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", what()))?;
    if !out.status.success() {
        return Err(format!("{} failed", what()));
    }
    String::from_utf8(out.stdout).map_err(|_| format!("{}: not UTF-8", what()))
}
