//! `cargo xtask vm`: the multicall from `dist` on Debian's older kernels,
//! under QEMU: Debian 12's Linux 6.1 and Debian 11's Linux 5.10, one after
//! the other. The suite runs on the host's far newer kernel, so it reaches
//! the older ways (no statmount or listmount, older mount rules) only by
//! failing calls on purpose; this boots each of Debian's kernel packages
//! with an initramfs of busybox, the multicall, ip and setpriv, runs the
//! verbs there and reads a `VMTEST` line a check from the serial console.

use std::collections::{BTreeSet, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use crate::{project_root, stdout_of};

/// A series of Debian's kernel packages, linux-image-VERSION.0-ABI-amd64-
/// unsigned: the one of the newest ABI is booted.
struct Kernel {
    version: &'static str,
    /// None: the host's apt has it (the host is a Debian 12). Some: the
    /// Debian suite that has it, and its -security, which apt is given
    /// through files of its own in target/vm/apt/SUITE, the host's apt
    /// config left alone.
    suite: Option<&'static str>,
}

/// Newest first; the last is the oldest kernel the verbs are tested on.
const KERNELS: &[Kernel] = &[
    Kernel {
        version: "6.1",
        suite: None,
    },
    Kernel {
        version: "5.10",
        suite: Some("bullseye"),
    },
];

/// The config symbols and modules the verbs need (veth, for `list --dev`).
/// A module is loaded, after the ones it needs, only where the package
/// builds it as one.
const MODULES: &[(&str, &str)] = &[("CONFIG_VETH", "veth")];

/// QEMU is killed after this: a hung guest is a failure, not a stuck CI.
/// A kernel takes about 10 s under TCG (20 s on a busy machine).
const TIMEOUT: Duration = Duration::from_secs(120);

/// Debian's keys, bullseye's among them (package debian-archive-keyring).
const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

pub fn run() -> Result<(), String> {
    let dist = crate::dist::dist()?;
    let vm = project_root().join("target/vm");
    std::fs::create_dir_all(&vm).map_err(|e| format!("cannot create {}: {e}", vm.display()))?;
    // Each kernel, even after one has failed: the report is of both.
    let mut wrong = Vec::new();
    for k in KERNELS {
        if let Err(e) = test(k, &vm, &dist) {
            wrong.push(format!("Linux {}: {e}", k.version));
        }
    }
    match wrong.is_empty() {
        true => Ok(()),
        false => Err(wrong.join("; ")),
    }
}

/// Boots the kernel with the checks, its console kept in
/// target/vm/console-VERSION.log.
fn test(k: &Kernel, vm: &Path, dist: &Path) -> Result<(), String> {
    let (package, tree) = kernel(k, vm)?;
    let release = ls(&tree.join("boot"))?
        .iter()
        .find_map(|p| {
            Some(
                p.file_name()?
                    .to_str()?
                    .strip_prefix("vmlinuz-")?
                    .to_owned(),
            )
        })
        .ok_or_else(|| format!("{package} has no boot/vmlinuz-*"))?;
    let modules = modules(&tree, &release)?;
    let initrd = initramfs(
        &vm.join(format!("initramfs-{}.cpio", k.version)),
        dist,
        &modules,
    )?;
    let names: Vec<_> = modules
        .iter()
        .filter_map(|m| m.file_name()?.to_str())
        .collect();
    println!("xtask: vm: booting {package} ({release}), modules: {names:?}");
    let log = vm.join(format!("console-{}.log", k.version));
    boot(
        &vmlinux(&tree.join("boot"), &release),
        &initrd,
        &log,
        k.version,
    )
}

/// The newest package of the kernel's series, unpacked in
/// target/vm/NAME_VERSION unless it is there already (the dir is renamed
/// there whole, so that a cut download or unpack is done again). Returns
/// "NAME VERSION" and it.
fn kernel(k: &Kernel, vm: &Path) -> Result<(String, PathBuf), String> {
    let options = apt_options(k, vm)?;
    let apt = |bin: &str, args: &[&str]| {
        let options = options.iter().map(String::as_str);
        stdout_of(
            Path::new(bin),
            &options.chain(args.iter().copied()).collect::<Vec<_>>(),
        )
    };
    let series = format!("linux-image-{}.0-", k.version);
    let find = || -> Result<Option<String>, String> {
        let pattern = format!(r"^{}[0-9]+-amd64-unsigned$", series.replace('.', r"\."));
        let found = apt("apt-cache", &["search", "--names-only", &pattern])?;
        // By ABI number, not as text: -10 is newer than -9.
        let abi = |n: &&str| n.split('-').nth(3).and_then(|abi| abi.parse::<u32>().ok());
        let names = found.lines().filter_map(|l| l.split(' ').next());
        Ok(names.max_by_key(abi).map(String::from))
    };
    let name = match find()? {
        Some(name) => name,
        None => {
            // A fresh container, or fresh files of our own, have no package
            // lists at all.
            println!("xtask: vm: apt-cache knows no {series}*: apt-get update");
            apt("apt-get", &["update", "-qq"])?;
            find()?.ok_or_else(|| format!("apt-cache finds no {series}*-amd64-unsigned"))?
        }
    };
    let version = apt("apt-cache", &["policy", &name])?
        .lines()
        .find_map(|l| l.trim().strip_prefix("Candidate: ").map(String::from))
        .ok_or_else(|| format!("apt-cache policy {name} gives no candidate version"))?;
    let package = format!("{name} {version}");
    let tree = vm.join(format!("{name}_{version}"));
    if tree.is_dir() {
        return Ok((package, tree));
    }
    println!("xtask: vm: downloading {package}");
    let mut download = Command::new("apt-get");
    // As root, apt downloads as _apt, who cannot write to target/.
    download
        .args(&options)
        .args(["download", "-qq", "-o", "APT::Sandbox::User=root"]);
    succeed(download.arg(format!("{name}={version}")).current_dir(vm))?;
    let deb = vm.join(format!("{name}_{version}_amd64.deb"));
    let partial = vm.join("unpacking");
    let _ = std::fs::remove_dir_all(&partial);
    succeed(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&partial))?;
    std::fs::rename(&partial, &tree)
        .map_err(|e| format!("cannot rename to {}: {e}", tree.display()))?;
    // The .deb, and an older package's 400 MB tree, are of no further use.
    let _ = std::fs::remove_file(&deb);
    for old in ls(vm)? {
        let name = old.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with(&series) && old != tree {
            let _ = std::fs::remove_dir_all(old);
        }
    }
    Ok((package, tree))
}

/// The -o options for apt to find the kernel's package, with its files in
/// target/vm/apt/SUITE (or host): a pkgcache.bin, which saves parsing
/// the lists on each run (the host's apt may keep none); for a suite, a
/// sources list, its lists and its cache too, the sources list written
/// the first time.
fn apt_options(k: &Kernel, vm: &Path) -> Result<Vec<String>, String> {
    let dir = vm.join("apt").join(k.suite.unwrap_or("host"));
    let (list, parts) = (dir.join("sources.list"), dir.join("sources.list.d"));
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let mut options = vec![format!(
        "Dir::Cache::pkgcache={}",
        path(&dir.join("pkgcache.bin"))
    )];
    if let Some(suite) = k.suite {
        for d in [dir.join("lists/partial"), parts.clone()] {
            std::fs::create_dir_all(&d)
                .map_err(|e| format!("cannot create {}: {e}", d.display()))?;
        }
        if !list.exists() {
            std::fs::write(&list, sources(suite)?)
                .map_err(|e| format!("cannot write {}: {e}", list.display()))?;
        }
        options.extend([
            format!("Dir::Etc::SourceList={}", path(&list)),
            format!("Dir::Etc::SourceParts={}", path(&parts)),
            format!("Dir::State::Lists={}", path(&dir.join("lists"))),
            format!("Dir::Cache={}", path(&dir)),
            // As root, apt fetches as _apt, who cannot write to target/.
            "APT::Sandbox::User=root".to_owned(),
        ]);
    } else {
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    Ok(options
        .into_iter()
        .flat_map(|o| ["-o".to_owned(), o])
        .collect())
}

/// A sources list of the suite and its -security, main only, Packages
/// only, from the Debian mirrors that the host's apt uses: those of its
/// CODENAME and CODENAME-security sources.
fn sources(suite: &str) -> Result<String, String> {
    let targets = stdout_of(
        Path::new("apt-get"),
        &[
            "indextargets",
            "--no-release-info",
            "--format",
            "$(REPO_URI) $(RELEASE)",
            "Identifier: Packages",
        ],
    )?;
    let targets: Vec<_> = targets.lines().filter_map(|l| l.split_once(' ')).collect();
    let none =
        || format!("no CODENAME and CODENAME-security in the host's apt sources, for {suite}'s");
    let (security, codename) = targets
        .iter()
        .find_map(|&(uri, release)| Some((uri, release.strip_suffix("-security")?)))
        .ok_or_else(none)?;
    let (archive, _) = targets
        .iter()
        .find(|&&(_, release)| release == codename)
        .ok_or_else(none)?;
    Ok(format!(
        "deb [signed-by={KEYRING} target=Packages] {archive} {suite} main\n\
         deb [signed-by={KEYRING} target=Packages] {security} {suite}-security main\n"
    ))
}

/// The kernel's vmlinux beside its vmlinuz, which QEMU boots by its PVH
/// entry (Debian's have CONFIG_PVH): the guest need not then decompress
/// the vmlinuz, some 7 s under TCG. Unpacked once with xz(1) (Debian's
/// are CONFIG_KERNEL_XZ), from the first XZ magic; the vmlinuz where that
/// cannot be done.
fn vmlinux(boot: &Path, release: &str) -> PathBuf {
    let vmlinuz = boot.join(format!("vmlinuz-{release}"));
    let vmlinux = boot.join(format!("vmlinux-{release}"));
    let unpack = || -> Result<(), String> {
        use std::io::{Seek, SeekFrom};
        let err = |e: std::io::Error| format!("{}: {e}", vmlinuz.display());
        let bytes = std::fs::read(&vmlinuz).map_err(err)?;
        let magic = b"\xfd7zXZ\0";
        let at = bytes
            .windows(magic.len())
            .position(|w| w == magic)
            .ok_or("no XZ data in it")?;
        let mut xz = std::fs::File::open(&vmlinuz).map_err(err)?;
        xz.seek(SeekFrom::Start(at as u64)).map_err(err)?;
        let partial = boot.join("vmlinux.partial");
        let out = std::fs::File::create(&partial)
            .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
        succeed(
            Command::new("xz")
                .args(["-dc", "--single-stream"])
                .stdin(xz)
                .stdout(out),
        )?;
        if !std::fs::read(&partial).is_ok_and(|elf| elf.starts_with(b"\x7fELF")) {
            return Err("what xz gives is no ELF".to_owned());
        }
        std::fs::rename(&partial, &vmlinux)
            .map_err(|e| format!("cannot rename to {}: {e}", vmlinux.display()))
    };
    if vmlinux.exists() {
        return vmlinux;
    }
    match unpack() {
        Ok(()) => vmlinux,
        Err(e) => {
            println!("xtask: vm: booting the vmlinuz, slower: no vmlinux: {e}");
            vmlinuz
        }
    }
}

/// The .ko files of MODULES that are modules in this kernel, each after the
/// ones it depends on (its `depends=` in .modinfo: the package has no
/// modules.dep, depmod writes it at install), for busybox insmod.
fn modules(tree: &Path, release: &str) -> Result<Vec<PathBuf>, String> {
    let config_file = tree.join(format!("boot/config-{release}"));
    let config = std::fs::read_to_string(&config_file)
        .map_err(|e| format!("cannot read {}: {e}", config_file.display()))?;
    // Every module by name (- and _ alike), compressed ones too, so that
    // they are refused by name rather than missing.
    let (mut index, mut dirs) = (
        HashMap::new(),
        vec![tree.join(format!("lib/modules/{release}"))],
    );
    while let Some(dir) = dirs.pop() {
        for path in ls(&dir)? {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if path.is_dir() {
                dirs.push(path);
            } else if let Some(end) = name.find(".ko") {
                index.insert(name[..end].replace('-', "_"), path);
            }
        }
    }
    let mut order = Vec::new();
    for (symbol, module) in MODULES {
        match config
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{symbol}=")))
        {
            Some("y") => {}
            Some("m") => add_module(module, &index, &mut order)?,
            _ => {
                return Err(format!(
                    "{} has no {symbol}: no {module}",
                    config_file.display()
                ));
            }
        }
    }
    Ok(order)
}

fn add_module(
    name: &str,
    index: &HashMap<String, PathBuf>,
    order: &mut Vec<PathBuf>,
) -> Result<(), String> {
    let ko = index
        .get(&name.replace('-', "_"))
        .ok_or_else(|| format!("no module {name} here"))?;
    if order.contains(ko) {
        return Ok(());
    }
    if ko.extension().is_none_or(|x| x != "ko") {
        return Err(format!(
            "{}: compressed, and only plain .ko are handled",
            ko.display()
        ));
    }
    let bytes = std::fs::read(ko).map_err(|e| format!("cannot read {}: {e}", ko.display()))?;
    let key = b"\0depends=";
    if let Some(at) = bytes.windows(key.len()).position(|w| w == key) {
        let depends = bytes[at + key.len()..]
            .split(|&b| b == 0)
            .next()
            .unwrap_or_default();
        for dep in String::from_utf8_lossy(depends)
            .split(',')
            .filter(|d| !d.is_empty())
        {
            add_module(dep, index, order)?;
        }
    }
    order.push(ko.clone());
    Ok(())
}

/// RAW.gz: the cpio written to RAW here (no cpio(1) needed), gzip'd by
/// gzip(1), which every Debian has.
fn initramfs(raw: &Path, dist: &Path, modules: &[PathBuf]) -> Result<PathBuf, String> {
    let mut cpio = Cpio::default();
    for dir in ["dev", "proc", "sys", "run", "tmp", "root"] {
        cpio.dir(dir);
    }
    // The kernel opens it for init's stdio, before anything is mounted.
    cpio.entry("dev/console", 0o020600, (5, 1), b"");
    // The guest has no libraries for it: the busybox package's is dynamic.
    let busybox = Path::new("/bin/busybox");
    crate::dist::require_static(busybox)
        .map_err(|_| "no static /bin/busybox: apt-get install busybox-static")?;
    cpio.host_file("bin/busybox", busybox)?;
    for applet in stdout_of(busybox, &["--list"])?.lines() {
        cpio.symlink(&format!("bin/{applet}"), "busybox");
    }
    // The multicall and its netns-VERB links.
    for path in ls(dist)? {
        let guest = format!(
            "bin/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        match std::fs::read_link(&path) {
            Ok(to) => cpio.symlink(&guest, &to.to_string_lossy()),
            Err(_) => cpio.host_file(&guest, &path)?,
        }
    }
    // Where the guest calls them, wherever the host has them; each with the
    // libraries and the loader it needs, at the paths ldd gives.
    let ip = ["/usr/sbin/ip", "/usr/bin/ip", "/sbin/ip"]
        .map(Path::new)
        .into_iter()
        .find(|p| p.exists());
    let ip = ip.ok_or("no ip here: apt-get install iproute2")?;
    for (guest, host) in [
        ("usr/sbin/ip", ip),
        ("usr/bin/setpriv", Path::new("/usr/bin/setpriv")),
    ] {
        cpio.host_file(guest, host)?;
        for line in stdout_of(Path::new("ldd"), &[&host.to_string_lossy()])?.lines() {
            if let Some(lib) = line.split_whitespace().find(|w| w.starts_with('/')) {
                cpio.host_file(&lib[1..], Path::new(lib))?;
            }
        }
    }
    let mut order = String::new();
    for ko in modules {
        let name = ko.file_name().unwrap_or_default().to_string_lossy();
        cpio.host_file(&format!("lib/modules/{name}"), ko)?;
        order += &format!("{}\n", name.trim_end_matches(".ko"));
    }
    cpio.file("etc/modules", 0o644, order.as_bytes());
    let passwd =
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
    cpio.file("etc/passwd", 0o644, passwd.as_bytes());
    cpio.file("etc/group", 0o644, b"root:x:0:\nnogroup:x:65534:\n");
    cpio.file("init", 0o755, INIT.as_bytes());
    cpio.entry("TRAILER!!!", 0, (0, 0), b"");
    std::fs::write(raw, &cpio.out).map_err(|e| format!("cannot write {}: {e}", raw.display()))?;
    succeed(Command::new("gzip").args(["-f", "-n", "-1"]).arg(raw))?;
    let mut gz = raw.as_os_str().to_owned();
    gz.push(".gz");
    Ok(gz.into())
}

/// A newc ("070701") cpio archive, which the kernel unpacks: an entry is
/// a header of hex fields, the name and the data, each padded to 4 bytes.
/// Parent dirs are added as needed, and a path given twice is kept once.
#[derive(Default)]
struct Cpio {
    out: Vec<u8>,
    seen: BTreeSet<String>,
}

impl Cpio {
    fn entry(&mut self, path: &str, mode: u32, (major, minor): (u32, u32), data: &[u8]) {
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent);
        }
        if !self.seen.insert(path.to_owned()) {
            return;
        }
        let (ino, size, name_size) = (
            self.seen.len() as u32,
            data.len() as u32,
            path.len() as u32 + 1,
        );
        let nlink = if mode & 0o170000 == 0o040000 { 2 } else { 1 };
        let fields = [
            ino, mode, 0, 0, nlink, 0, size, 0, 0, major, minor, name_size, 0,
        ];
        self.out.extend_from_slice(b"070701");
        for field in fields {
            self.out
                .extend_from_slice(format!("{field:08x}").as_bytes());
        }
        self.out.extend_from_slice(path.as_bytes());
        self.out.push(0);
        self.out.resize(self.out.len().next_multiple_of(4), 0);
        self.out.extend_from_slice(data);
        self.out.resize(self.out.len().next_multiple_of(4), 0);
    }

    fn dir(&mut self, path: &str) {
        if !self.seen.contains(path) {
            self.entry(path, 0o040755, (0, 0), b"");
        }
    }

    fn file(&mut self, path: &str, mode: u32, data: &[u8]) {
        self.entry(path, 0o100000 | mode, (0, 0), data);
    }

    fn symlink(&mut self, path: &str, to: &str) {
        self.entry(path, 0o120777, (0, 0), to.as_bytes());
    }

    /// The host's file (its links followed) at `path`, with its permissions.
    fn host_file(&mut self, path: &str, host: &Path) -> Result<(), String> {
        use std::os::unix::fs::PermissionsExt;
        let err = |e: std::io::Error| format!("cannot read {}: {e}", host.display());
        let mode = std::fs::metadata(host).map_err(err)?.permissions().mode() & 0o7777;
        self.file(path, mode, &std::fs::read(host).map_err(err)?);
        Ok(())
    }
}

/// Boots the kernel under QEMU, prints the guest's VMTEST lines as they
/// come, each after "[LABEL] " (the whole console goes to LOG), and fails
/// on a FAIL, on a missing DONE, or when time is up.
fn boot(kernel: &Path, initrd: &Path, log: &Path, label: &str) -> Result<(), String> {
    let start = Instant::now();
    // TCG, not KVM: KVM here (nested) hangs before the kernel's first line
    // with QEMU's CPU models, and `-cpu host` fails on MSR 0x10a.
    let args = "-accel tcg -m 1G -nodefaults -no-user-config -nographic -serial stdio -no-reboot";
    let mut qemu = Command::new("qemu-system-x86_64")
        .args(args.split(' '))
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", "console=ttyS0 panic=-1 quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!("cannot run qemu-system-x86_64 (apt-get install qemu-system-x86): {e}")
        })?;
    let stdout = qemu.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .split(b'\n')
            .map_while(Result::ok)
        {
            let _ = tx.send(String::from_utf8_lossy(&line).trim_end().to_owned());
        }
    });
    let (mut console, mut failed, mut ok, mut done) = (String::new(), Vec::new(), 0, false);
    let timed_out = loop {
        let line = match rx.recv_timeout(TIMEOUT.saturating_sub(start.elapsed())) {
            Ok(line) => line,
            Err(RecvTimeoutError::Disconnected) => break false,
            Err(RecvTimeoutError::Timeout) => break true,
        };
        console += &line;
        console.push('\n');
        // A kernel message may start the line the guest's output ends.
        let Some(at) = line.find("VMTEST ") else {
            continue;
        };
        println!("[{label}] {}", &line[at..]);
        let report = &line[at + "VMTEST ".len()..];
        done |= report == "DONE";
        ok += usize::from(report.starts_with("OK "));
        if let Some(fail) = report.strip_prefix("FAIL ") {
            failed.push(fail.split(':').next().unwrap_or(fail).to_owned());
        }
    };
    if timed_out {
        let _ = qemu.kill();
    }
    let _ = qemu.wait();
    let _ = std::fs::write(log, &console);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "xtask: vm: [{label}] {ok} passed, {} failed, in {secs:.1} s (console: {})",
        failed.len(),
        log.display()
    );
    let mut wrong = Vec::new();
    if timed_out {
        wrong.push(format!(
            "the VM did not end within {} s: QEMU killed",
            TIMEOUT.as_secs()
        ));
    } else if !done {
        wrong.push("the VM ended before VMTEST DONE (a panic? see the console)".to_owned());
    }
    if !failed.is_empty() {
        wrong.push(format!("failed in the VM: {}", failed.join(", ")));
    }
    match wrong.is_empty() {
        true => Ok(()),
        false => Err(wrong.join("; ")),
    }
}

fn ls(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let err = |e: std::io::Error| format!("cannot read {}: {e}", dir.display());
    std::fs::read_dir(dir)
        .map_err(err)?
        .map(|e| Ok(e.map_err(err)?.path()))
        .collect()
}

fn succeed(cmd: &mut Command) -> Result<(), String> {
    let what = cmd.get_program().to_string_lossy().into_owned();
    match cmd.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("{what} failed ({status})")),
        Err(e) => Err(format!("cannot run {what}: {e}")),
    }
}

/// The guest's PID 1. ip, setpriv and netns by absolute path: busybox sh
/// runs its own applets (it has an ip and a setpriv) before $PATH.
const INIT: &str = r#"#!/bin/sh
export PATH=/bin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
# systemd always mounts it, and exec's sysfs must put it back on /sys.
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "VMTEST KERNEL $(uname -r)"

# t CMD...: CMD bounded in time, so that a hang is a FAIL line; its output
# (through a file: a daemon it starts must not hold $(...) open) in $o,
# its status in $s.
t() { timeout 10 "$@" >/tmp/o 2>&1; s=$?; o=$(cat /tmp/o); }
# has ERE...: each matches a line of $o. is WORD...: $o is these words.
has() { for re; do printf '%s\n' "$o" | grep -Eq -- "$re" || return 1; done; }
is() { [ "$(echo $o)" = "$*" ]; }
# check NAME [TEST...]: OK if the last t succeeded and TEST holds.
check() {
  name=$1; shift
  if [ "$s" -eq 0 ] && { [ $# -eq 0 ] || "$@"; }; then echo "VMTEST OK $name"; return; fi
  case $s in 0) why="unexpected output" ;; 143) why="timed out" ;; *) why="status $s" ;; esac
  echo "VMTEST FAIL $name: ($why) $(printf '%s' "$o" | tr '\n' '|')"
}
# A name's namespace, as /proc/PID/ns/net shows it.
ns() { echo "net:[$(stat -L -c %i /run/netns/$1)]"; }

for m in $(cat /etc/modules); do t insmod /lib/modules/$m.ko; check insmod-$m; done

t /bin/netns add a b; check add
t /bin/netns list; check list is a b
t /bin/netns list --json; check list-json has '^\[\{"name":"a"' '"name":"b"'
t /bin/netns exec a true; check exec
t /bin/netns exec a cat /proc/self/mountinfo
check exec-mounts has ' /sys [^ ]+ .*- sysfs ' ' /sys/fs/cgroup [^ ]+ .*- cgroup2 '
t /bin/netns exec a ls /sys/class/net; check exec-sysfs is lo
t /bin/netns exec --all true; check exec-all has '^netns: a$' '^netns: b$'

/bin/netns exec a sleep 100 >/tmp/holder 2>&1 &
pid=$!
in_a() { [ "$(readlink /proc/$pid/ns/net)" = "$(ns a)" ]; }
for i in $(seq 30); do in_a && break; usleep 100000; done
in_a; s=$?; o=$(cat /tmp/holder); check exec-holder
if ! in_a; then
  # So that pids, identify and attach are still tested.
  nsenter --net=/run/netns/a sleep 100 &
  pid=$!
  for i in $(seq 30); do in_a && break; usleep 100000; done
fi
t /bin/netns pids a; check pids has "^$pid\$"
t /bin/netns identify $pid; check identify is a
t /bin/netns attach c $pid; check attach
t /bin/netns identify $pid; check identify-attached is a c

t /bin/netns set a auto; check set
t /bin/netns list --ids; check list-ids has '^nsid [0-9]+ \(iproute2 netns name: [ac]\)$'

t /usr/sbin/ip -n a link add v0 type veth peer name v1 netns b; check veth
t /bin/netns list --dev v0; check list-dev is "a (id: 0) c (id: 0)"
t /bin/netns list --dev v1; check list-dev-peer is b

timeout 10 /bin/netns watch --count 1 >/tmp/watch 2>&1 &
w=$!
sleep 1 # for it to listen before d is made
t /bin/netns add d; check add-d
wait $w; s=$?; o=$(cat /tmp/watch); check watch is add d

t /bin/netns inspect; check inspect has ' names=a,c( |$)' ' names=b( |$)' ' names=d( |$)'
t /bin/netns inspect --json; check inspect-json has '^\['
# netns-link: a pair placed straight into both namespaces, addresses, up.
t /bin/netns add g h; check add-gh
t /bin/netns link g -n e0 -a 10.9.0.0/31 h -n e0 -a 10.9.0.1/31; check link
t /bin/netns exec g ping -c 1 -W 5 10.9.0.1; check link-ping has ' 0% packet loss'
t /usr/sbin/ip -n h -o addr show e0; check link-addr has ' e0 +inet 10\.9\.0\.1/31 '
t /usr/sbin/ip -n h -o link show e0; check link-up has '[<,]UP[,>]'
# The peer's ifindex from end a's reply (IFLA_LINK), where it differs.
t /usr/sbin/ip -n h link add x0 type veth peer name x1; check veth-h
t /bin/netns link --json g -n e1 -a 10.9.1.0/31 h -n e1 -a 10.9.1.1/31
check link-peer-index has "\"b\":\\{\"netns\":\"h\",\"ifname\":\"e1\",\"ifindex\":$(/usr/sbin/ip -n h -o link show e1 | cut -d: -f1),"
t /usr/sbin/ip -n h -o addr show e1; check link-peer-addr has ' e1 +inet 10\.9\.1\.1/31 '
t /bin/netns exec g ping -c 1 -W 5 10.9.1.1; check link-peer-ping has ' 0% packet loss'
printf 'netns add i\nnetns set i 5\nnetns list-id\nnetns del i g h\n' >/tmp/batch
t /bin/netns -batch /tmp/batch; check batch has '^nsid 5 \(iproute2 netns name: i\)$'
t /bin/netns del a b c d; check del
t /bin/netns add e f; check add-ef
t /bin/netns del --all; check del-all
kill $pid
o=$(ls -A /run/netns; grep ' - nsfs ' /proc/self/mountinfo); s=0; check del-clean is

f=/proc/sys/kernel/unprivileged_userns_clone
[ -e $f ] && echo 1 >$f
mkdir -m 0700 /tmp/xdg && chown 65534:65534 /tmp/xdg
nobody() {
  t /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups \
    env XDG_RUNTIME_DIR=/tmp/xdg /bin/netns "$@"
}
nobody add --rootless r1 r2; check rootless-add
nobody exec --rootless r1 true; check rootless-exec
nobody exec --rootless r1 ls /sys/class/net; check rootless-exec-sysfs is lo
nobody list --rootless; check rootless-list is r1 r2
nobody del --rootless --all; check rootless-del
# The keeper ends a moment after its last name goes.
procs() {
  for p in /proc/[0-9]*; do
    grep -Eq '^Uid:[[:space:]]+65534[[:space:]]' $p/status 2>/dev/null && echo "${p#/proc/}:$(cat $p/comm)"
  done
}
for i in $(seq 30); do o=$(procs); [ -z "$o" ] && break; usleep 100000; done
s=0; check rootless-gone is

echo "VMTEST DONE"
poweroff -f
"#;
