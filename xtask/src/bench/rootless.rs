//! Rootless mode, as the user nobody: `netns-exec --rootless X true`
//! against `unshare -rn true` (which makes a new user and network
//! namespace rather than entering a named one), and one add and delete
//! with the keeper already running and with none (each add then starts
//! one, and each delete ends it).

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{Bins, Row, race, row, time};

const NOBODY: u32 = 65534;
const RUNS: usize = 200;

pub(super) fn run(b: &Bins) -> Result<Vec<Row>, String> {
    let xdg = Xdg::new()?;
    let as_nobody = |program: &Path, args: &[&str]| {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .uid(NOBODY)
            .gid(NOBODY)
            .env_clear()
            .env("XDG_RUNTIME_DIR", &xdg.0)
            .current_dir(&xdg.0);
        cmd
    };
    let verb = |name: &str, args: &[&str]| as_nobody(&b.dir.join(name), args);
    let unshare = || as_nobody(Path::new("/usr/bin/unshare"), &["-rn", "true"]);

    // An add and a delete of one name, each against `unshare -rn true`.
    let add_del = || -> Result<[Vec<Duration>; 2], String> {
        let [mut ours, mut theirs] = [(); 2].map(|()| Vec::new());
        for i in 0..RUNS + 10 {
            let a = time(&mut verb("netns-add", &["--rootless", "y"]), None)?;
            let d = time(&mut verb("netns-del", &["--rootless", "y"]), None)?;
            let u = time(&mut unshare(), None)?;
            if i >= 10 {
                ours.push(a + d);
                theirs.push(u);
            }
        }
        Ok([ours, theirs])
    };
    // Cold: no keeper between runs, so each add starts one.
    let [ours, theirs] = add_del()?;
    let mut rows = vec![row(
        "rootless add + del of one name, no keeper running (each add starts one)",
        ours,
        "unshare -rn true",
        theirs,
        None,
    )];
    time(&mut verb("netns-add", &["--rootless", "x"]), None)?;
    let [ours, theirs] = add_del()?;
    rows.push(row(
        "rootless add + del of one name, the keeper running",
        ours,
        "unshare -rn true",
        theirs,
        None,
    ));

    let [ours, theirs] = race(
        &mut [
            verb("netns-exec", &["--rootless", "x", "/usr/bin/true"]),
            unshare(),
        ],
        RUNS,
    )?;
    rows.push(row(
        "rootless exec of `true` in a named namespace",
        ours,
        "unshare -rn true",
        theirs,
        Some(1.0),
    ));
    time(&mut verb("netns-del", &["--rootless", "--all"]), None)?;
    Ok(rows)
}

/// An XDG_RUNTIME_DIR of nobody's (0700), removed on drop; the keeper
/// ends with the last name (`del --all` above), and is waited for.
struct Xdg(PathBuf);

impl Xdg {
    fn new() -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!("netns-bench-{}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let owner = Some(nix::unistd::Uid::from_raw(NOBODY));
        nix::unistd::chown(&dir, owner, Some(nix::unistd::Gid::from_raw(NOBODY)))
            .and_then(|()| {
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(|_| nix::Error::EPERM)
            })
            .map_err(|e| format!("cannot hand {} to nobody: {e}", dir.display()))?;
        Ok(Xdg(dir))
    }
}

impl Drop for Xdg {
    fn drop(&mut self) {
        let keeper = self.0.join("netns.keeper");
        for _ in 0..100 {
            if !keeper.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
