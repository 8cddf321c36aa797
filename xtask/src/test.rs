//! `cargo xtask test`: the binaries (the static multicall too, within its
//! size budget), the suite, then the check that it cleaned up. Every test
//! cleans up on drop; this catches the cleanup that was forgotten.

use std::path::Path;

use crate::{cargo, require_root, run_cargo};

/// The interop tests' names in /run/netns start with this.
const SYSTEM_PREFIX: &str = "nt-";

pub fn run(args: &[String]) -> Result<(), String> {
    require_root("the tests")?;
    let root = std::env::temp_dir().join(format!("netns-tests-{}", std::process::id()));
    // `cargo test` builds a package's binaries only for that package's own
    // integration tests; ours live in another package and run the verbs,
    // and netns-core's examples as a user runs them.
    run_cargo(cargo().args(["build", "--workspace", "--bins", "--examples"]))?;
    // .cargo/config.toml links every build statically, the README's
    // `cargo build --release` among them: a dynamic start costs 0.2 ms.
    let debug = crate::project_root().join("target/debug");
    for verb in crate::dist::verbs(&debug.join("netns"))? {
        crate::dist::require_static(&debug.join(format!("netns-{verb}")))?;
    }
    // The minimal-image test chroots into a dir with only the static
    // multicall; building it also holds the size budget.
    let dist = crate::dist::dist()?;
    let before = system_names();
    let status = cargo()
        .args(["test", "--workspace"])
        .args(args)
        .env("NETNS_TEST_ROOT", &root)
        .env("NETNS_DIST", &dist)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let leaks = leaks(&root, &before);
    let _ = std::fs::remove_dir(&root);
    if !leaks.is_empty() {
        return Err(format!("the tests left behind:\n  {}", leaks.join("\n  ")));
    }
    println!("xtask: no namespace, mount or run dir of the tests is left");
    if status.success() {
        Ok(())
    } else {
        Err("tests failed".to_owned())
    }
}

fn system_names() -> Vec<String> {
    std::fs::read_dir("/run/netns")
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with(SYSTEM_PREFIX))
                .collect()
        })
        .unwrap_or_default()
}

/// Mounts under the tests' root, entries left in it, and test names left
/// in /run/netns (with their mounts).
fn leaks(root: &Path, before: &[String]) -> Vec<String> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut leaks: Vec<String> = mountinfo
        .lines()
        .filter(|line| {
            let point = line.split(' ').nth(4).unwrap_or("");
            Path::new(point).starts_with(root)
                || (line.contains(" - nsfs ")
                    && point.strip_prefix("/run/netns/").is_some_and(|n| {
                        n.starts_with(SYSTEM_PREFIX) && !before.iter().any(|b| b == n)
                    }))
        })
        .map(|line| format!("mount: {line}"))
        .collect();
    if let Ok(rd) = std::fs::read_dir(root) {
        leaks.extend(
            rd.flatten()
                .map(|e| format!("file: {}", e.path().display())),
        );
    }
    leaks.extend(
        system_names()
            .into_iter()
            .filter(|n| !before.contains(n))
            .map(|n| format!("name: /run/netns/{n}")),
    );
    leaks.extend(processes(root).into_iter().map(|p| format!("process: {p}")));
    leaks
}

/// Processes still running (zombies are done) with the tests' root in
/// their environment: the rootless keepers the tests started (theirs is
/// an XDG_RUNTIME_DIR below it), and anything they ran. A keeper ends a
/// moment after its last name goes: a few seconds are allowed.
fn processes(root: &Path) -> Vec<String> {
    let root = root.as_os_str().as_encoded_bytes();
    let running = || -> Vec<String> {
        let Ok(rd) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        rd.flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
                let found = environ.windows(root.len()).any(|w| w == root);
                (found && !stat.contains(") Z ")).then(|| stat.trim_end().to_owned())
            })
            .collect()
    };
    for _ in 0..50 {
        if running().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    running()
}
