//! `cargo xtask dist` and `cargo xtask install`: the static multicall
//! `netns`, built for size, with a link a verb beside it.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use crate::{cargo, host_target, man, project_root, run_cargo, stdout_of, target_rustflags};

/// The multicall's size budget, in bytes (1.505 MB: raised from 1.4 MB
/// for the library, link and kernel issues; for a while 1.525 MB, when
/// netns-link came to 62 KB, until 28 KB were won back elsewhere; then
/// from 1.5 MB for a batch's del lines run together, issue 29). A
/// static Rust hello world with the same profile and flags is 1.08 MB
/// here; the budget is what the verbs may add to it.
pub const BUDGET: u64 = 1_510_000;

/// Beyond the `release-small` profile (opt-level "z", fat LTO, one
/// codegen unit, panic=abort, strip): glibc statically linked, and two
/// linker options. RELR packs the relocations a static PIE carries (55 KB
/// as RELA) while keeping it position-independent; --icf=all folds
/// functions that compiled to the same code (6 KB).
const RUSTFLAGS: &str = "-C target-feature=+crt-static \
    -C link-arg=-Wl,-z,pack-relative-relocs -C link-arg=-Wl,--icf=all";

/// Builds the multicall, checks it is static and within budget, and writes
/// target/dist/: `netns` and a `netns-VERB` link to it for each verb.
/// Returns the directory.
pub fn dist() -> Result<PathBuf, String> {
    let target = host_target()?;
    run_cargo(
        cargo()
            .args(["build", "--profile", "release-small", "--target", &target])
            .args(["-p", "netns"])
            .env(target_rustflags(&target), RUSTFLAGS),
    )?;
    let built = project_root()
        .join("target")
        .join(&target)
        .join("release-small")
        .join("netns");
    let size = require_static(&built)?;
    let dir = project_root().join("target").join("dist");
    let _ = std::fs::remove_dir_all(&dir);
    create_dir(&dir)?;
    let bin = dir.join("netns");
    std::fs::copy(&built, &bin).map_err(|e| format!("cannot write {}: {e}", bin.display()))?;
    link_verbs(&bin)?;
    println!(
        "xtask: {}: {size} bytes, static ({} bytes under the budget of {BUDGET})",
        bin.display(),
        BUDGET.saturating_sub(size)
    );
    if size > BUDGET {
        return Err(format!(
            "the multicall is {size} bytes, {} over the budget of {BUDGET}",
            size - BUDGET
        ));
    }
    Ok(dir)
}

/// `dist`, then PREFIX/bin/netns with its links and the manual pages in
/// PREFIX/share/man/man8.
pub fn install(args: &[String]) -> Result<(), String> {
    let prefix = match args {
        [] => PathBuf::from("/usr/local"),
        [flag, prefix] if flag == "--prefix" => PathBuf::from(prefix),
        _ => return Err(crate::USAGE.to_owned()),
    };
    // `cargo xtask test` has built it already, and its tests read it
    // meanwhile: a test that installs takes that one, unrebuilt.
    let dist = match std::env::var_os("NETNS_DIST") {
        Some(dir) => PathBuf::from(dir),
        None => dist()?,
    };
    install_from(&dist.join("netns"), &prefix)
}

/// Installs the multicall `built` under `prefix`: bin/netns and a
/// netns-VERB link for each verb, the manual pages, the shell
/// completions. A file where a link goes that is not one of ours (a link
/// to netns, or to the completion beside it) is left alone, and the
/// install refused before anything is changed: it may be another
/// program's.
pub fn install_from(built: &Path, prefix: &Path) -> Result<(), String> {
    let verbs = verbs(built)?;
    let bin_dir = prefix.join("bin");
    let share = prefix.join("share");
    let mut links: Vec<(PathBuf, &str)> = verbs
        .iter()
        .map(|verb| (bin_dir.join(format!("netns-{verb}")), "netns"))
        .collect();
    for (dir, name, suffix) in COMPLETIONS {
        if name == "_netns" {
            continue;
        }
        links.extend(
            verbs
                .iter()
                .map(|verb| (share.join(dir).join(format!("netns-{verb}{suffix}")), name)),
        );
    }
    for (link, target) in &links {
        if std::fs::symlink_metadata(link).is_ok()
            && std::fs::read_link(link).ok().as_deref() != Some(Path::new(target))
        {
            return Err(format!(
                "{} is there and is not a link to {target}: not replacing it (remove it \
                 first if it is to go)",
                link.display()
            ));
        }
    }
    create_dir(&bin_dir)?;
    let bin = bin_dir.join("netns");
    // Into a new file then renamed over: a running netns keeps its inode.
    let fresh = bin_dir.join(".netns.new");
    let copied = std::fs::copy(built, &fresh)
        .and_then(|_| std::fs::set_permissions(&fresh, PermissionsExt::from_mode(0o755)))
        .and_then(|()| std::fs::rename(&fresh, &bin));
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&fresh);
        return Err(format!("cannot install {}: {e}", bin.display()));
    }
    let man_dir = share.join("man/man8");
    create_dir(&man_dir)?;
    let checked = man::write(&bin, &man_dir, man::Lint::IfInstalled)?;
    let from = crate::project_root().join("completions");
    for (dir, name, _) in COMPLETIONS {
        let dir = share.join(dir);
        create_dir(&dir)?;
        let to = dir.join(name);
        let file = COMPLETION_FILES
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(name, |(_, file)| file);
        std::fs::copy(from.join(file), &to)
            .map_err(|e| format!("cannot install {}: {e}", to.display()))?;
    }
    for (link, target) in &links {
        let _ = std::fs::remove_file(link);
        symlink(target, link).map_err(|e| format!("cannot link {}: {e}", link.display()))?;
    }
    let unit = install_unit(prefix, &bin_dir)?;
    println!(
        "xtask: installed {} and its links, the manual pages in {}{}, the shell \
         completions, and {}",
        bin.display(),
        man_dir.display(),
        match checked {
            true => "",
            false => " (not checked: groff is not installed)",
        },
        unit.display()
    );
    Ok(())
}

/// systemd/netns@.service.in into PREFIX/lib/systemd/system, naming the
/// binaries where they were installed (absolute, as systemd wants them),
/// not where they were built.
fn install_unit(prefix: &Path, bin_dir: &Path) -> Result<PathBuf, String> {
    let from = crate::project_root().join("systemd/netns@.service.in");
    let text = std::fs::read_to_string(&from)
        .map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    let bin_dir = std::path::absolute(bin_dir)
        .map_err(|e| format!("cannot resolve {}: {e}", bin_dir.display()))?;
    let dir = prefix.join("lib/systemd/system");
    create_dir(&dir)?;
    let to = dir.join("netns@.service");
    std::fs::write(&to, text.replace("@BINDIR@", &bin_dir.to_string_lossy()))
        .map_err(|e| format!("cannot install {}: {e}", to.display()))?;
    Ok(to)
}

/// Where each shell looks for completions, under share/: the file's
/// name there, and the suffix of a link for each `netns-VERB` (bash and
/// fish look by command name; zsh by the file's `#compdef` line). zsh's
/// and fish's find bash's at the path it goes to.
const COMPLETIONS: [(&str, &str, &str); 3] = [
    ("bash-completion/completions", "netns", ""),
    ("zsh/site-functions", "_netns", ""),
    ("fish/vendor_completions.d", "netns.fish", ".fish"),
];

/// The files in completions/ of those installed under another name.
const COMPLETION_FILES: [(&str, &str); 1] = [("netns", "netns.bash")];

/// `netns-VERB` → `netns` beside `bin`, for each verb `bin` names.
fn link_verbs(bin: &Path) -> Result<(), String> {
    let dir = bin.parent().unwrap_or(Path::new("."));
    for verb in verbs(bin)? {
        let link = dir.join(format!("netns-{verb}"));
        let _ = std::fs::remove_file(&link);
        symlink("netns", &link).map_err(|e| format!("cannot link {}: {e}", link.display()))?;
    }
    Ok(())
}

/// The verbs, as the multicall's own table lists them.
pub fn verbs(bin: &Path) -> Result<Vec<String>, String> {
    Ok(stdout_of(bin, &["--verbs"])?
        .lines()
        .map(String::from)
        .collect())
}

fn create_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// Fails unless `path` is a static binary; returns its size.
pub fn require_static(path: &Path) -> Result<u64, String> {
    let elf = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if has_interpreter(&elf)? {
        return Err(format!(
            "{} is dynamically linked (is RUSTFLAGS set? it overrides the static flags of \
             .cargo/config.toml and of the dist build)",
            path.display()
        ));
    }
    Ok(elf.len() as u64)
}

/// Whether an ELF file asks for a program interpreter (ld.so): a
/// PT_INTERP program header. A static binary has none.
fn has_interpreter(elf: &[u8]) -> Result<bool, String> {
    const PT_INTERP: u32 = 3;
    let bad = || "not a 64-bit little-endian ELF file".to_owned();
    if elf.get(..5) != Some(b"\x7fELF\x02") || elf.get(5) != Some(&1) {
        return Err(bad());
    }
    let u16_at = |at: usize| {
        elf.get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |at: usize| {
        elf.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let phoff = elf
        .get(0x20..0x28)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()) as usize)
        .ok_or_else(bad)?;
    let size = u16_at(0x36).ok_or_else(bad)? as usize;
    let count = u16_at(0x38).ok_or_else(bad)? as usize;
    for i in 0..count {
        if u32_at(phoff + i * size).ok_or_else(bad)? == PT_INTERP {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The multicall built beside this test (`cargo xtask test` builds the
    /// binaries first).
    pub fn built() -> PathBuf {
        let exe = std::env::current_exe().unwrap();
        let netns = exe.parent().unwrap().parent().unwrap().join("netns");
        assert!(
            netns.exists(),
            "{} is missing: `cargo xtask test`",
            netns.display()
        );
        netns
    }

    /// A fresh directory, removed on drop.
    pub struct Scratch(pub PathBuf);

    impl Scratch {
        pub fn new() -> Self {
            static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("xtask-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn install_puts_the_multicall_its_links_pages_and_completions_under_the_prefix() {
        let prefix = Scratch::new();
        let verbs = verbs(&built()).unwrap();
        // Twice: the second install replaces what the first made.
        for _ in 0..2 {
            install_from(&built(), &prefix.0).unwrap();
        }
        let bin = prefix.0.join("bin");
        let mut want: Vec<String> = verbs.iter().map(|v| format!("netns-{v}")).collect();
        want.push("netns".to_owned());
        want.sort();
        assert_eq!(names(&bin), want, "no .netns.new");
        let mode = std::fs::metadata(bin.join("netns"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        for verb in &verbs {
            let link = bin.join(format!("netns-{verb}"));
            assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("netns"));
            let out = std::process::Command::new(&link)
                .arg("--version")
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                format!("netns-{verb} {}\n", env!("CARGO_PKG_VERSION"))
            );
        }
        let mut pages: Vec<String> = want.iter().map(|n| format!("{n}.8")).collect();
        pages.sort();
        assert_eq!(names(&prefix.0.join("share/man/man8")), pages);
        let share = prefix.0.join("share");
        assert_eq!(names(&share.join("zsh/site-functions")), ["_netns"]);
        for (dir, name, suffix) in [
            ("bash-completion/completions", "netns", ""),
            ("fish/vendor_completions.d", "netns.fish", ".fish"),
        ] {
            let dir = share.join(dir);
            let mut want: Vec<String> =
                verbs.iter().map(|v| format!("netns-{v}{suffix}")).collect();
            want.push(name.to_owned());
            want.sort();
            assert_eq!(names(&dir), want);
            for verb in &verbs {
                let link = dir.join(format!("netns-{verb}{suffix}"));
                assert_eq!(std::fs::read_link(link).unwrap(), Path::new(name));
            }
        }
    }

    /// A netns-VERB that is not a link to netns (another program's, or a
    /// file of the user's) is not replaced, nor is anything else done.
    #[test]
    fn install_leaves_a_file_of_someone_elses_and_does_nothing() {
        for (path, target) in [
            ("bin/netns-add", None),
            ("bin/netns-del", Some("/usr/bin/true")),
            (
                "share/bash-completion/completions/netns-list",
                Some("other"),
            ),
        ] {
            let prefix = Scratch::new();
            let file = prefix.0.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            match target {
                None => std::fs::write(&file, "mine\n").unwrap(),
                Some(target) => symlink(target, &file).unwrap(),
            }
            let err = install_from(&built(), &prefix.0).unwrap_err();
            assert!(err.contains(&file.display().to_string()), "{err}");
            match target {
                None => assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine\n"),
                Some(target) => assert_eq!(std::fs::read_link(&file).unwrap(), Path::new(target)),
            }
            assert!(
                !prefix.0.join("bin/netns").exists(),
                "{path}: nothing is installed"
            );
        }
    }

    /// A copy that fails (here the rename onto bin/netns, a directory)
    /// leaves no `.netns.new` behind.
    #[test]
    fn a_failed_install_leaves_no_new_file() {
        let prefix = Scratch::new();
        std::fs::create_dir_all(prefix.0.join("bin/netns/in-the-way")).unwrap();
        let err = install_from(&built(), &prefix.0).unwrap_err();
        assert!(err.starts_with("cannot install "), "{err}");
        assert_eq!(names(&prefix.0.join("bin")), ["netns"]);
    }

    #[test]
    fn a_dynamic_binary_has_an_interpreter() {
        let cargo = std::fs::read(std::env::var("CARGO").unwrap_or("/bin/sh".into())).unwrap();
        assert_eq!(has_interpreter(&cargo), Ok(true));
        assert!(has_interpreter(b"#!/bin/sh\n").is_err());
    }
}
