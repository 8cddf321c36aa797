//! Process start: `--version` of the tools the README's first command
//! builds (`cargo build --release`), of the static multicall, and `ip -V`.
//! The README's build should start as fast as the multicall (within
//! 0.05 ms).

use std::os::fd::AsFd;
use std::path::Path;
use std::process::Command;

use super::{Bins, Row, race, row};
use crate::{cargo, project_root, run_cargo};

const RUNS: usize = 300;

pub(super) fn run(b: &Bins) -> Result<Vec<Row>, String> {
    run_cargo(cargo().args(["build", "--release"]))?;
    let readme = project_root().join("target/release/netns-add");
    let multicall = b.dist.join("netns");
    // How a file came into the page cache changes how fast it maps: one
    // written by cp (as dist's is) starts 0.05 ms faster than one the
    // linker wrote, until evicted. Both are evicted, to compare binaries.
    for file in [&readme, &multicall] {
        evict(file)?;
    }
    let version = |path: &Path| {
        let mut cmd = Command::new(path);
        cmd.arg("--version");
        cmd
    };
    let mut ip = Command::new("ip");
    ip.arg("-V");
    let [r, m, i] = race(&mut [version(&readme), version(&multicall), ip], RUNS)?;
    let what = "process start (`--version`)";
    let mut readme_row = row(
        &format!("{what}: `cargo build --release`'s netns-add"),
        r.clone(),
        "the static multicall",
        m.clone(),
        None,
    );
    let gap = readme_row.ours.as_secs_f64() - readme_row.theirs.as_secs_f64();
    readme_row.note = format!(
        "{:+.3} ms: {}",
        gap * 1e3,
        if gap <= 0.05e-3 {
            "within 0.05 ms (met)"
        } else {
            "over 0.05 ms (MISSED)"
        }
    );
    Ok(vec![
        readme_row,
        row(
            &format!("{what}: `cargo build --release`'s netns-add"),
            r,
            "ip -V",
            i.clone(),
            None,
        ),
        row(
            &format!("{what}: {}", super::MULTICALL),
            m,
            "ip -V",
            i,
            None,
        ),
    ])
}

/// Drops `path`'s pages from the page cache (written back first:
/// posix_fadvise DONTNEED leaves dirty pages, and a file just built is
/// dirty), so that the next read brings them back the way any exec would.
fn evict(path: &Path) -> Result<(), String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    file.sync_all()
        .map_err(|e| format!("cannot write {} back: {e}", path.display()))?;
    nix::fcntl::posix_fadvise(
        file.as_fd(),
        0,
        0,
        nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
    )
    .map_err(|e| format!("cannot evict {}: {e}", path.display()))
}
