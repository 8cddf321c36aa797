//! The one error type of the core: every failure names what was attempted,
//! on which path, and the kernel's reason.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::stat::FileStat;

use crate::quote::InQuotes;

/// Why an operation failed. Displays as one line, for example
/// `cannot create "/run/netns/blue": File exists`.
#[derive(Debug)]
pub enum Error {
    /// A name that `ip netns` and the kernel would not accept as a file in
    /// the run dir; nothing was touched.
    InvalidName {
        /// The name as given.
        name: OsString,
        /// Which rule it breaks, in words (`it contains '/'`).
        reason: String,
    },
    /// A system call on `path` failed; `action` completes "cannot ...".
    Path {
        /// What was attempted: completes "cannot ..." (`create`).
        action: &'static str,
        /// The file it was attempted on.
        path: PathBuf,
        /// The kernel's reason.
        errno: Errno,
    },
    /// A system call that has no path to name failed (netlink, setns).
    Sys {
        /// What was attempted: completes "cannot ...".
        action: &'static str,
        /// The kernel's reason.
        errno: Errno,
    },
    /// A run dir (or the rootless keeper file beside it: `what`) that
    /// another user could change under us: writable by group or others,
    /// or not the caller's own. Nothing was written.
    UnsafeRunDir {
        /// What it is: `run dir`, or the keeper file.
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// The uid that owns it.
        owner: u32,
        /// Its permission bits.
        mode: u32,
        /// The caller's effective uid.
        caller: u32,
    },
    /// The run-dir file is there but no network namespace is mounted on it.
    NotANamespace {
        /// The run-dir file.
        path: PathBuf,
    },
    /// A file given as a network namespace is something else.
    NotANetns {
        /// The file given.
        path: PathBuf,
    },
    /// The kernel's limit on network namespaces (user.max_net_namespaces,
    /// per user namespace) is reached: no namespace was made for `path`.
    NamespaceLimit {
        /// The file an add was making (removed again).
        path: PathBuf,
    },
    /// A run-dir entry that no add made (`what` it is instead), left as it
    /// is by a delete.
    NotAName {
        /// The run-dir entry.
        path: PathBuf,
        /// What it is, in words (`a directory`).
        what: &'static str,
    },
    /// A delete failed after it had unmounted the namespace, and mounting
    /// it back failed too (`errno`): the name is a stale file now.
    NotPutBack {
        /// Why the delete failed.
        failed: Box<Error>,
        /// Why the namespace could not be mounted back.
        errno: Errno,
    },
    /// An /etc/netns/NAME entry could not be put over its /etc file.
    Bind {
        /// The file laid over (`/etc/netns/NAME/resolv.conf`).
        source: PathBuf,
        /// The file it goes over (`/etc/resolv.conf`).
        target: PathBuf,
        /// The kernel's reason.
        errno: Errno,
    },
    /// execvp(3) failed: the command was not found (ENOENT) or could not
    /// be run.
    Exec {
        /// The command, as given.
        command: OsString,
        /// execvp's reason.
        errno: Errno,
    },
    /// A user or group that the passwd or group file does not know.
    Unknown {
        /// `user` or `group`.
        kind: &'static str,
        /// The name as given.
        name: OsString,
        /// The file looked in.
        file: PathBuf,
    },
    /// A uid with no /etc/passwd entry, given without a group.
    NoGroup {
        /// The uid given.
        uid: u32,
    },
    /// A uid or gid (`kind`) of 4294967295: to setresuid(2) and its kin
    /// that is -1, "leave it as it is", which would leave root's.
    InvalidId {
        /// `uid` or `gid`.
        kind: &'static str,
    },
    /// A step of taking a user's ids failed, or left some of root's
    /// (`errno` then is 0): `step` completes "cannot ...".
    AsUser {
        /// The step: completes "cannot ...".
        step: &'static str,
        /// The kernel's reason; 0 when ids were left.
        errno: Errno,
    },
    /// Rootless mode with no run dir given and no XDG_RUNTIME_DIR.
    NoRootlessRunDir,
    /// A file at the rootless keeper file's path that is no keeper file (a
    /// file of the user's that happens to be named so): left as it is.
    NotAKeeperFile {
        /// The file found there.
        path: PathBuf,
    },
    /// A rootless run dir that `is` no real directory (a symlink, a file):
    /// nothing in it was looked at.
    NotARunDir {
        /// The run dir given.
        path: PathBuf,
        /// What it is instead, in words (`a symlink`).
        is: &'static str,
    },
    /// The rootless keeper of `run_dir` lives (it holds its lock), but its
    /// record `path` is gone: it cannot be joined, and nothing is removed.
    KeeperUnrecorded {
        /// The run dir.
        run_dir: PathBuf,
        /// Its keeper file.
        path: PathBuf,
    },
    /// The rootless keeper lives, but its namespaces cannot be opened
    /// from here (`why`).
    KeeperUnreachable {
        /// The keeper's pid.
        pid: u32,
        /// Why its namespaces cannot be opened, as an error's message.
        why: String,
    },
    /// A rootless run dir with no keeper holds files that no add made
    /// (`first`, and `more` others): not a run dir, by the look of it.
    /// Nothing in it was removed.
    ForeignFiles {
        /// The run dir.
        run_dir: PathBuf,
        /// The first such file found.
        first: PathBuf,
        /// How many more there are.
        more: usize,
    },
    /// The rootless keeper of `run_dir` is dead, and another verb holds
    /// its file `path` shared: the names cannot be cleaned up meanwhile.
    KeeperBusy {
        /// The run dir.
        run_dir: PathBuf,
        /// Its keeper file.
        path: PathBuf,
    },
    /// Rootless mode could not make its user namespace; `why` is what the
    /// kernel's settings say, when they say no.
    UserNamespace {
        /// unshare's reason.
        errno: Errno,
        /// The setting that forbids it (a sysctl), when one does.
        why: Option<String>,
    },
    /// The kernel sent something the netlink code does not understand.
    Netlink(&'static str),
    /// The kernel refused a netlink request: `what` completes "cannot ..."
    /// and names what was asked of which namespace.
    Refused {
        /// What was asked (`make the veth pair "eth0" in "/run/netns/a" ...`).
        what: String,
        /// The kernel's reason.
        errno: Errno,
        /// The kernel's reason in words (extended ack), when it gave one.
        message: Option<String>,
    },
    /// A link that cannot be made as asked, found before anything was
    /// sent (a name too long, a bridge that is no bridge): in words.
    Link(String),
    /// No process has this pid (or it has exited and has no namespace).
    NoProcess {
        /// The pid given.
        pid: u32,
    },
    /// The kernel refused to give `path`'s namespace an nsid: `nsid`, or
    /// one of its choosing when `None`. `message` is the kernel's own
    /// reason (netlink's extended ack), `current` the nsid the namespace
    /// already has.
    NsidRefused {
        /// The namespace's file.
        path: PathBuf,
        /// The nsid asked for; `None` for the kernel's choice.
        nsid: Option<u32>,
        /// The kernel's reason.
        errno: Errno,
        /// The kernel's reason in words (extended ack), when it gave one.
        message: Option<String>,
        /// The nsid the namespace has already, if any.
        current: Option<u32>,
    },
    /// A refusal (EPERM, EACCES) met in rootless mode, made so by
    /// [`Error::rootless`]: its message is the inner error's, with what
    /// rootless mode may change in place of what root would.
    Rootless(Box<Error>),
}

impl Error {
    /// Whether it is a shortage of this process's own (EMFILE, ENFILE,
    /// ENOMEM): no answer about what was asked, which must not be taken
    /// for an empty one.
    pub fn is_shortage(&self) -> bool {
        if let Error::Rootless(err) = self {
            return err.is_shortage();
        }
        matches!(
            self,
            Error::Path { errno, .. } | Error::Sys { errno, .. }
                if matches!(errno, Errno::EMFILE | Errno::ENFILE | Errno::ENOMEM)
        )
    }

    /// Whether the path it names is not there (ENOENT): a name removed
    /// since the run dir was read, for one.
    pub fn is_missing(&self) -> bool {
        if let Error::Rootless(err) = self {
            return err.is_missing();
        }
        matches!(
            self,
            Error::Path {
                errno: Errno::ENOENT,
                ..
            }
        )
    }

    /// This error as met in rootless mode (a keeper joined, see
    /// [`crate::rootless`]): a refusal then has another cause than a
    /// missing root, and its message says so (`Operation not permitted
    /// (in rootless mode only the namespaces of the rootless user namespace
    /// are ours to change)`). Any other error is returned as it is, so that
    /// matching on it still works; a refusal becomes [`Error::Rootless`].
    /// The core words so the refusal it makes by the mode ([`crate::attach`]
    /// of a namespace the rootless user namespace does not own); the
    /// others are worded by a caller that knows its mode, as it reports
    /// them (the tools do): the core's calls are not told the mode.
    pub fn rootless(self) -> Self {
        match self.refusal() {
            true => Error::Rootless(Box::new(self)),
            false => self,
        }
    }

    /// Whether its message names a refusal that rootless mode words
    /// differently: EPERM or EACCES, as its cause.
    fn refusal(&self) -> bool {
        let refused = |errno: &Errno| matches!(errno, Errno::EPERM | Errno::EACCES);
        match self {
            Error::Path { errno, .. }
            | Error::Sys { errno, .. }
            | Error::Bind { errno, .. }
            | Error::Refused { errno, .. }
            | Error::NsidRefused {
                errno,
                message: None,
                ..
            } => refused(errno),
            Error::NotPutBack { failed, .. } => failed.refusal(),
            _ => false,
        }
    }

    pub(crate) fn path(action: &'static str, path: impl Into<PathBuf>, errno: Errno) -> Self {
        Error::Path {
            action,
            path: path.into(),
            errno,
        }
    }

    /// Refuses a file that another user could change under the caller:
    /// writable by group or others, or not the caller's own (a run dir, or
    /// the rootless keeper file: `what`).
    pub(crate) fn unless_own(what: &'static str, path: &Path, st: &FileStat) -> Result<()> {
        let caller = nix::unistd::geteuid().as_raw();
        let mode = st.st_mode & 0o7777;
        if st.st_uid == caller && mode & 0o022 == 0 {
            return Ok(());
        }
        Err(Error::UnsafeRunDir {
            what,
            path: path.to_owned(),
            owner: st.st_uid,
            mode,
            caller,
        })
    }

    /// A std I/O error on `path`: `action` ("cannot open ..."), and the
    /// kernel's reason (EIO for an error that carries none).
    pub fn io(action: &'static str, path: impl Into<PathBuf>, err: &std::io::Error) -> Self {
        Error::path(action, path, errno_of(err))
    }

    /// A std I/O error where there is no path to name (reading stdin,
    /// writing output): `action`, and the kernel's reason, worded as every
    /// other error (`cannot read stdin: Is a directory`).
    pub fn io_sys(action: &'static str, err: &std::io::Error) -> Self {
        Error::Sys {
            action,
            errno: errno_of(err),
        }
    }
}

/// The errno behind a std I/O error: errors from the kernel carry one; EIO
/// stands in for the rest.
pub(crate) fn errno_of(err: &std::io::Error) -> Errno {
    Errno::from_raw(err.raw_os_error().unwrap_or(Errno::EIO as i32))
}

/// Names the cause, and for a permission error what would grant it: every
/// mount and namespace operation here needs CAP_SYS_ADMIN.
fn cause(errno: Errno, rootless: bool) -> String {
    match errno {
        Errno::EPERM | Errno::EACCES if rootless => format!(
            "{} (in rootless mode only the namespaces of the rootless user namespace are ours \
             to change)",
            errno.desc()
        ),
        // Root of the machine, with its capabilities: the refusal has
        // another cause, and any hint would mislead.
        Errno::EPERM | Errno::EACCES if has_cap_sys_admin() && in_the_first_user_namespace() => {
            errno.desc().to_owned()
        }
        // Root already: in a user namespace, or with its capabilities
        // dropped.
        Errno::EPERM | Errno::EACCES if nix::unistd::geteuid().is_root() => format!(
            "{} (this needs CAP_SYS_ADMIN over it, which root in a user namespace has only \
             over that namespace's own, and root with its capabilities dropped not at all)",
            errno.desc()
        ),
        Errno::EPERM | Errno::EACCES => format!(
            "{} (this needs CAP_SYS_ADMIN: run it as root, or with --rootless for namespaces \
             of your own)",
            errno.desc()
        ),
        // The limit is the process's: say which, as a bulk add or an
        // exec --all reaches it.
        Errno::EMFILE => format!("{} (the open-file limit, ulimit -n)", errno.desc()),
        _ => errno.desc().to_owned(),
    }
}

/// Whether this process is in the machine's first user namespace, whose
/// uid map is the identity over every id.
fn in_the_first_user_namespace() -> bool {
    crate::files::read("/proc/self/uid_map".as_ref(), 256).is_ok_and(|map| {
        let fields: Vec<&[u8]> = map
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty())
            .collect();
        fields == [&b"0"[..], b"0", b"4294967295"]
    })
}

/// Whether this process has CAP_SYS_ADMIN in effect (bit 21 of CapEff in
/// /proc/self/status): where it has, a refusal has another cause, and the
/// hint to run as root would mislead.
fn has_cap_sys_admin() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    let Ok(status) = crate::files::read("/proc/self/status".as_ref(), 4096) else {
        return false;
    };
    status
        .split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"CapEff:"))
        .and_then(|hex| u64::from_str_radix(std::str::from_utf8(hex).ok()?.trim(), 16).ok())
        .is_some_and(|caps| caps >> CAP_SYS_ADMIN & 1 == 1)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, false)
    }
}

impl Error {
    /// Its message; a refusal's cause worded for rootless mode when
    /// `rootless` says so (see [`Error::rootless`]).
    fn write(&self, f: &mut fmt::Formatter<'_>, rootless: bool) -> fmt::Result {
        match self {
            Error::Rootless(err) => err.write(f, true),
            Error::InvalidName { name, reason } => {
                write!(f, "invalid name {}: {reason}", InQuotes::new(name))
            }
            Error::Path {
                action,
                path,
                errno,
            } => write!(
                f,
                "cannot {action} {}: {}",
                InQuotes::new(path),
                cause(*errno, rootless)
            ),
            Error::Sys { action, errno } => {
                write!(f, "cannot {action}: {}", cause(*errno, rootless))
            }
            Error::UnsafeRunDir {
                what,
                path,
                owner,
                mode,
                caller,
            } => {
                write!(f, "refusing the {what} {}: ", InQuotes::new(path))?;
                match owner == caller {
                    true => write!(
                        f,
                        "other users can write to it (mode {mode:04o}, owner uid {owner})"
                    ),
                    false => write!(
                        f,
                        "it belongs to uid {owner} (mode {mode:04o}), not to this user (uid {caller}): \
                         run it as its owner{}",
                        match caller {
                            0 => "",
                            _ => ", or with --rootless for namespaces of your own",
                        }
                    ),
                }
            }
            Error::NotANamespace { path } => write!(
                f,
                "{} holds no network namespace (a stale file, as a crashed add leaves?)",
                InQuotes::new(path)
            ),
            Error::NotANetns { path } => {
                write!(f, "{} is not a network namespace", InQuotes::new(path))
            }
            Error::NamespaceLimit { path } => write!(
                f,
                "cannot make a network namespace for {}: No space left on device (the limit \
                 user.max_net_namespaces is reached: /proc/sys/user/max_net_namespaces)",
                InQuotes::new(path)
            ),
            Error::NotAName { path, what } => write!(
                f,
                "refusing to remove {}: it is no name an add made ({what}); left as it is",
                InQuotes::new(path)
            ),
            Error::NotPutBack { failed, errno } => {
                failed.write(f, rootless)?;
                write!(
                    f,
                    "; and cannot mount its namespace back: {} (the name is a stale file now, \
                     and its namespace lives on only while something else holds it)",
                    errno.desc()
                )
            }
            Error::Bind {
                source,
                target,
                errno,
            } => write!(
                f,
                "cannot bind {} over {}: {}",
                InQuotes::new(source),
                InQuotes::new(target),
                cause(*errno, rootless)
            ),
            Error::Exec { command, errno } => {
                write!(f, "cannot run {}: {}", InQuotes::new(command), errno.desc())
            }
            Error::Unknown { kind, name, file } => {
                let (name, file) = (InQuotes::new(name), InQuotes::new(file));
                write!(f, "no {kind} {name} in {file}")
            }
            Error::InvalidId { kind } => write!(
                f,
                "invalid {kind} 4294967295: the kernel reads it as -1, \"unchanged\""
            ),
            Error::AsUser { step, errno } => match errno {
                Errno::UnknownErrno => write!(f, "cannot {step}"),
                _ => write!(f, "cannot {step}: {}", errno.desc()),
            },
            Error::NoGroup { uid } => write!(
                f,
                "uid {uid} has no entry in /etc/passwd: give its group too ({uid}:GID)"
            ),
            Error::NoRootlessRunDir => write!(
                f,
                "rootless mode needs a run dir of your own: set XDG_RUNTIME_DIR (a login \
                 session sets it) or NETNS_RUN_DIR, or give --run-dir"
            ),
            Error::NotARunDir { path, is } => write!(
                f,
                "refusing the run dir {}: it is {is} (rootless mode takes only a directory of \
                 your own)",
                InQuotes::new(path)
            ),
            Error::KeeperUnrecorded { run_dir, path } => write!(
                f,
                "the rootless keeper of {} holds its lock on it, but its record {} is gone, \
                 so it cannot be joined (if another user can open the run dir and holds a lock \
                 on it, make the run dir mode 0700)",
                InQuotes::new(run_dir),
                InQuotes::new(path)
            ),
            Error::NotAKeeperFile { path } => write!(
                f,
                "refusing {}: it is no rootless keeper file (it has data or links of its own), \
                 and would be written over; left as it is",
                InQuotes::new(path)
            ),
            Error::KeeperUnreachable { pid, why } => write!(
                f,
                "cannot join the rootless keeper (pid {pid}), which is running: {why} (from \
                 another pid or user namespace its namespaces cannot be reached)"
            ),
            Error::ForeignFiles {
                run_dir,
                first,
                more,
            } => {
                write!(
                    f,
                    "refusing the run dir {}: it holds files that no add made ({}",
                    InQuotes::new(run_dir),
                    InQuotes::new(first)
                )?;
                if *more > 0 {
                    write!(f, " and {more} more")?;
                }
                write!(f, "), so it is no run dir; nothing in it was removed")
            }
            Error::KeeperBusy { run_dir, path } => write!(
                f,
                "the rootless keeper of {} is gone, and another verb still holds {} (a \
                 netns-watch, or a command run by netns-exec?): its names are cleaned up once \
                 that one ends",
                InQuotes::new(run_dir),
                InQuotes::new(path)
            ),
            Error::UserNamespace { errno, why } => {
                write!(f, "cannot make a user namespace: {}", errno.desc())?;
                match (errno, why) {
                    (_, Some(why)) => write!(
                        f,
                        " (unprivileged user namespaces are off here: {why}; rootless mode needs them)"
                    ),
                    (Errno::ENOSPC, None) => {
                        write!(f, " (the limit user.max_user_namespaces is reached)")
                    }
                    _ => write!(
                        f,
                        " (the kernel refuses unprivileged user namespaces here, as a security \
                         module or a container's seccomp filter can; rootless mode needs them)"
                    ),
                }
            }
            Error::Netlink(what) => write!(f, "unexpected netlink reply: {what}"),
            Error::Refused {
                what,
                errno,
                message,
            } => {
                write!(f, "cannot {what}: {}", cause(*errno, rootless))?;
                match message {
                    Some(message) => write!(f, " ({})", message.trim_end_matches('.')),
                    None => Ok(()),
                }
            }
            Error::Link(what) => f.write_str(what),
            Error::NoProcess { pid } => write!(f, "no process with PID {pid}"),
            Error::NsidRefused {
                path,
                nsid,
                errno,
                message,
                current,
            } => {
                match nsid {
                    Some(nsid) => write!(f, "cannot give {} nsid {nsid}: ", InQuotes::new(path))?,
                    None => write!(f, "cannot give {} an nsid: ", InQuotes::new(path))?,
                }
                match message {
                    Some(message) => f.write_str(message.trim_end_matches('.'))?,
                    None => f.write_str(&cause(*errno, rootless))?,
                }
                match current {
                    Some(current) => write!(f, " (it has nsid {current})"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl std::error::Error for Error {}

/// The result of every fallible call of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rootless_mode_words_refusals_only() {
        let hint = "Operation not permitted (in rootless mode only the namespaces of the \
                    rootless user namespace are ours to change)";
        let err = Error::path("attach", "/proc/1/ns/net", Errno::EPERM).rootless();
        assert!(matches!(err, Error::Rootless(_)));
        assert_eq!(
            err.to_string(),
            format!("cannot attach \"/proc/1/ns/net\": {hint}")
        );
        let failed = Error::path("remove", "/r/a", Errno::EPERM);
        let err = Error::NotPutBack {
            failed: Box::new(failed),
            errno: Errno::EINVAL,
        }
        .rootless();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot remove \"/r/a\": {hint}; and ")),
            "{err}"
        );
        // Any other error is as it was, to match on.
        let err = Error::path("open", "/r/a", Errno::ENOENT).rootless();
        assert!(err.is_missing() && matches!(err, Error::Path { .. }));
        let err = Error::NoProcess { pid: 7 }.rootless();
        assert_eq!(err.to_string(), "no process with PID 7");
    }

    #[test]
    fn messages_name_the_path_and_the_cause() {
        let err = Error::path("create", "/run/netns/blue", Errno::EEXIST);
        assert_eq!(
            err.to_string(),
            "cannot create \"/run/netns/blue\": File exists"
        );
        let err = Error::path("mount", "/run/netns", Errno::EPERM).to_string();
        // Only where it is true: the machine's root with its capabilities
        // gets none, other root a word on user namespaces, and a user the
        // advice to be root (the integration suite sees that, as nobody).
        let plain = has_cap_sys_admin() && in_the_first_user_namespace();
        let hint = match (plain, nix::unistd::geteuid().is_root()) {
            (true, _) => "",
            (false, true) => " (this needs CAP_SYS_ADMIN over it, which root in a user namespace",
            (false, false) => " (this needs CAP_SYS_ADMIN: run it as root, or with --rootless",
        };
        assert!(
            err.contains(&format!("Operation not permitted{hint}")),
            "{err}"
        );
    }
}
