//! `netns-test-deny CALL=ERRNO[,CALL=ERRNO...] PROGRAM [ARGS...]`: runs
//! PROGRAM with a seccomp filter that fails each CALL with ERRNO, as a
//! container runtime's filter fails calls newer than itself (EPERM or
//! ENOSYS). The tests force the tools' fallbacks with it where strace 6.1
//! cannot: it knows neither statmount nor listmount.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};

use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(spec), Some(program)) = (args.next(), args.next()) else {
        eprintln!("usage: netns-test-deny CALL=ERRNO[,CALL=ERRNO...] PROGRAM [ARGS...]");
        return ExitCode::from(2);
    };
    // One filter per errno: a filter has one action for what it matches.
    let mut by_errno: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
    for pair in spec.split(',') {
        let parsed = pair
            .split_once('=')
            .and_then(|(call, errno)| Some((call_number(call)?, errno_number(errno)?)));
        let Some((call, errno)) = parsed else {
            eprintln!("netns-test-deny: cannot read {pair:?}");
            return ExitCode::from(2);
        };
        by_errno.entry(errno).or_default().push(call);
    }
    let arch = TargetArch::try_from(std::env::consts::ARCH).expect("a seccomp architecture");
    for (errno, calls) in by_errno {
        let rules = calls.into_iter().map(|call| (call, Vec::new())).collect();
        let filter = SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(errno),
            arch,
        )
        .expect("a filter");
        let program: BpfProgram = filter.try_into().expect("a BPF program");
        seccompiler::apply_filter(&program).expect("the filter applied");
    }
    let err = Command::new(&program).args(args).exec();
    eprintln!("netns-test-deny: cannot run {program:?}: {err}");
    ExitCode::from(127)
}

fn call_number(name: &str) -> Option<i64> {
    let number = match name {
        "statx" => libc::SYS_statx,
        "statmount" => 457,
        "listmount" => 458,
        "open_tree" => libc::SYS_open_tree,
        "move_mount" => libc::SYS_move_mount,
        "close_range" => libc::SYS_close_range,
        "setsockopt" => libc::SYS_setsockopt,
        "umount2" => libc::SYS_umount2,
        other => return other.parse().ok(),
    };
    Some(number)
}

fn errno_number(name: &str) -> Option<u32> {
    let number = match name {
        "EPERM" => libc::EPERM,
        "ENOSYS" => libc::ENOSYS,
        "ENOENT" => libc::ENOENT,
        "EINVAL" => libc::EINVAL,
        other => return other.parse().ok(),
    };
    Some(number as u32)
}
