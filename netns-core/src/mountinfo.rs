//! Reading /proc/self/mountinfo: the only reliable answer to "is this
//! directory a mount point, and is it shared?" (mount(2)'s EINVAL says
//! neither for sure; see Debian #949235 for what guessing from it cost).

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::files;

const MOUNTINFO: &str = "/proc/self/mountinfo";

/// One line of mountinfo, with the fields this crate needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The mount's id (`mnt_id`), unique while it is mounted.
    pub id: u32,
    /// Its parent mount's id.
    pub parent: u32,
    /// Where it is mounted, as the reading process sees it.
    pub mount_point: PathBuf,
    /// The mount's root within its file system; for nsfs `net:[INODE]`.
    pub root: OsString,
    /// The file system's type (`nsfs`, `sysfs`, ...).
    pub fs_type: String,
    /// The shared peer group it is in (`shared:N`), if any: mounts made
    /// below it propagate to its peers.
    pub peer_group: Option<u64>,
}

/// Every mount of the caller's mount namespace, in the kernel's order:
/// parents before children, and of two mounts stacked on one point, the
/// upper one later.
pub fn mounts() -> Result<Vec<Mount>> {
    mounts_in(Path::new(MOUNTINFO))
}

/// Every mount of a mountinfo file: /proc/PID/mountinfo for the mount
/// namespace process PID is in, its mount points as that process sees
/// them.
pub fn mounts_in(mountinfo: &Path) -> Result<Vec<Mount>> {
    let text = files::read(mountinfo, 64 * 1024)?;
    Ok(text.split(|&b| b == b'\n').filter_map(parse_line).collect())
}

/// The topmost mount on `path` (which must be absolute and canonical, as
/// the kernel prints it), if `path` is a mount point, and its parent's
/// peer group.
pub fn mount_at(path: &Path) -> Result<Option<(Mount, Option<u64>)>> {
    let mounts = mounts()?;
    let Some(top) = mounts.iter().rfind(|m| m.mount_point == path) else {
        return Ok(None);
    };
    let parent = mounts.iter().find(|m| m.id == top.parent);
    Ok(Some((top.clone(), parent.and_then(|p| p.peer_group))))
}

/// The mount points right below the topmost mount on `path` (none when
/// `path` is no mount point).
pub fn children(path: &Path) -> Result<Vec<PathBuf>> {
    let mounts = mounts()?;
    let Some(top) = mounts.iter().rfind(|m| m.mount_point == path) else {
        return Ok(Vec::new());
    };
    let top = top.id;
    Ok(mounts
        .into_iter()
        .filter(|m| m.parent == top && m.mount_point != path)
        .map(|m| m.mount_point)
        .collect())
}

fn parse_line(line: &[u8]) -> Option<Mount> {
    let mut fields = line.split(|&b| b == b' ');
    let mut number = || std::str::from_utf8(fields.next()?).ok()?.parse().ok();
    let id = number()?;
    let parent = number()?;
    let root = unescape(fields.nth(1)?);
    let mount_point = PathBuf::from(unescape(fields.next()?));
    let _options = fields.next()?;
    let mut peer_group = None;
    for optional in fields.by_ref() {
        if optional == b"-" {
            break;
        }
        if let Some(group) = optional.strip_prefix(b"shared:") {
            peer_group = files::decimal(group);
        }
    }
    let fs_type = String::from_utf8_lossy(fields.next()?).into_owned();
    Some(Mount {
        id,
        parent,
        mount_point,
        root,
        fs_type,
        peer_group,
    })
}

/// The kernel writes space, tab, newline and backslash as `\ooo` octal.
fn unescape(field: &[u8]) -> OsString {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|d| field[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push(d.iter().fold(0u8, |n, c| n.wrapping_mul(8) + (c - b'0')));
                i += 4;
            }
            None => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    OsString::from_vec(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_shared_nsfs_and_escapes() {
        let line = b"640 27 0:4 net:[4026532281] /run/netns/a\\040b rw shared:233 - nsfs nsfs rw";
        let m = parse_line(line).unwrap();
        assert_eq!((m.id, m.parent), (640, 27));
        assert_eq!(m.mount_point, Path::new("/run/netns/a b"));
        assert_eq!(m.root, "net:[4026532281]");
        assert_eq!(m.fs_type, "nsfs");
        assert_eq!(m.peer_group, Some(233));
        let private = parse_line(b"27 1 254:0 / / rw,relatime - ext4 /dev/vda rw").unwrap();
        assert_eq!(private.peer_group, None);
        assert_eq!(private.fs_type, "ext4");
    }
}
