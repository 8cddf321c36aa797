//! `cargo xtask dist` and `cargo xtask install`: the static multicall
//! `netns`, built for size, with a link a verb beside it.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use crate::{cargo, host_target, man, project_root, run_cargo, stdout_of, target_rustflags};

/// The multicall's size budget, in bytes (1.5 MB, raised from 1.4 MB for
/// the library, link and kernel issues). A static Rust hello world with
/// the same profile and flags is 1.08 MB here; the budget is what the
/// verbs may add to it.
pub const BUDGET: u64 = 1_500_000;

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
    let bin_dir = prefix.join("bin");
    create_dir(&bin_dir)?;
    let bin = bin_dir.join("netns");
    // Into a new file then renamed over: a running netns keeps its inode.
    let fresh = bin_dir.join(".netns.new");
    std::fs::copy(dist.join("netns"), &fresh)
        .and_then(|_| std::fs::set_permissions(&fresh, PermissionsExt::from_mode(0o755)))
        .and_then(|()| std::fs::rename(&fresh, &bin))
        .map_err(|e| format!("cannot install {}: {e}", bin.display()))?;
    link_verbs(&bin)?;
    let pages = man::write(&bin)?;
    let man_dir = prefix.join("share/man/man8");
    create_dir(&man_dir)?;
    for page in pages {
        let to = man_dir.join(page.file_name().unwrap_or_default());
        std::fs::copy(&page, &to).map_err(|e| format!("cannot install {}: {e}", to.display()))?;
    }
    install_completions(&prefix.join("share"), &verbs(&bin)?)?;
    let unit = install_unit(&prefix, &bin_dir)?;
    println!(
        "xtask: installed {} and its links, the manual pages in {}, the shell \
         completions, and {}",
        bin.display(),
        man_dir.display(),
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

/// completions/ where each shell looks, under `share`: bash's and fish's
/// by command name (so a link for each `netns-VERB`), zsh's by its
/// `#compdef` line. zsh's and fish's find bash's at the path it goes to.
fn install_completions(share: &Path, verbs: &[String]) -> Result<(), String> {
    let from = crate::project_root().join("completions");
    let shells = [
        ("bash-completion/completions", "netns.bash", "netns", ""),
        ("zsh/site-functions", "_netns", "_netns", ""),
        (
            "fish/vendor_completions.d",
            "netns.fish",
            "netns.fish",
            ".fish",
        ),
    ];
    for (dir, file, name, suffix) in shells {
        let dir = share.join(dir);
        create_dir(&dir)?;
        let to = dir.join(name);
        std::fs::copy(from.join(file), &to)
            .map_err(|e| format!("cannot install {}: {e}", to.display()))?;
        if name == "_netns" {
            continue;
        }
        for verb in verbs {
            let link = dir.join(format!("netns-{verb}{suffix}"));
            let _ = std::fs::remove_file(&link);
            symlink(name, &link).map_err(|e| format!("cannot link {}: {e}", link.display()))?;
        }
    }
    Ok(())
}

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
mod tests {
    use super::*;

    #[test]
    fn a_dynamic_binary_has_an_interpreter() {
        let cargo = std::fs::read(std::env::var("CARGO").unwrap_or("/bin/sh".into())).unwrap();
        assert_eq!(has_interpreter(&cargo), Ok(true));
        assert!(has_interpreter(b"#!/bin/sh\n").is_err());
    }
}
