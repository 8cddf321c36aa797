//! `User`: whom `netns-exec --user` runs a command as, looked up in a
//! passwd and a group file directly (not through NSS), so that the static
//! multicall finds users in an image that has no NSS libraries.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::files;

/// A user's ids as `runuser -u USER [-g GROUP]` gives them: the uid, the
/// primary gid (the user's, or GROUP), and the supplementary groups
/// (GROUP alone when it is given, as runuser's `-g` sets them; else the
/// primary gid and every group that lists the user, as initgroups(3)
/// makes them); and the passwd entry's name and home directory, for
/// USER, LOGNAME and HOME (`None` for a uid that has no entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub name: Option<OsString>,
    pub home: Option<OsString>,
}

impl User {
    /// `USER[:GROUP]`, each a name or a number, looked up in `passwd` and
    /// `group` (/etc's, or a namespace's own from /etc/netns/NAME). A
    /// name is looked for first, as runuser looks (a user may be called
    /// `1000`); a number that the file does not know is taken as a uid,
    /// but then GROUP must be given. An id of 4294967295 is refused.
    pub fn lookup(spec: &OsStr, passwd: &Path, group: &Path) -> Result<Self> {
        let bytes = spec.as_bytes();
        let (user, given_group) = match bytes.iter().position(|&b| b == b':') {
            Some(at) => (&bytes[..at], Some(&bytes[at + 1..])),
            None => (bytes, None),
        };
        // No user has an empty name: one would match every empty field
        // (a group's empty member list among them).
        if user.is_empty() {
            return Err(unknown("user", user, passwd));
        }
        let users = files::read(passwd, 4096)?;
        let entry = entries(&users)
            .find(|fields| fields.first() == Some(&user))
            .or_else(|| {
                number(user)?;
                entries(&users).find(|fields| fields.get(2) == Some(&user))
            });
        let (entry, uid, user_gid) = match entry {
            Some(fields) => {
                let uid = fields.get(2).and_then(|f| number(f));
                let gid = fields.get(3).and_then(|f| number(f));
                match (uid, gid) {
                    (Some(uid), Some(gid)) => (Some(fields), uid, Some(gid)),
                    _ => return Err(unknown("user", user, passwd)),
                }
            }
            None => match number(user) {
                Some(uid) => (None, uid, None),
                None => return Err(unknown("user", user, passwd)),
            },
        };
        let groups = files::read(group, 4096)?;
        let gid = match given_group {
            Some(name) => match number(name) {
                Some(gid) => gid,
                None => entries(&groups)
                    .find(|fields| fields.first() == Some(&name))
                    .and_then(|fields| number(fields.get(2)?))
                    .ok_or_else(|| unknown("group", name, group))?,
            },
            None => user_gid.ok_or(Error::NoGroup { uid })?,
        };
        for (kind, id) in [("uid", uid), ("gid", gid)] {
            if id == u32::MAX {
                return Err(Error::InvalidId { kind });
            }
        }
        let mut ids = vec![gid];
        if let (Some(fields), None) = (&entry, given_group) {
            let member = |line: &Vec<&[u8]>| {
                line.get(3)
                    .is_some_and(|members| members.split(|&b| b == b',').any(|m| m == fields[0]))
            };
            ids.extend(
                entries(&groups)
                    .filter(member)
                    .filter_map(|line| number(line.get(2)?)),
            );
        }
        ids.sort_unstable();
        ids.dedup();
        let field = |i: usize| Some(OsStr::from_bytes(entry.as_ref()?.get(i)?).to_owned());
        Ok(User {
            uid,
            gid,
            groups: ids,
            name: field(0),
            home: field(5),
        })
    }
}

/// The colon-separated fields of each line that has any.
fn entries(text: &[u8]) -> impl Iterator<Item = Vec<&[u8]>> {
    text.split(|&b| b == b'\n')
        .filter(|line| !line.is_empty() && !line.starts_with(b"#"))
        .map(|line| line.split(|&b| b == b':').collect())
}

fn number(field: &[u8]) -> Option<u32> {
    u32::try_from(files::decimal(field)?).ok()
}

fn unknown(kind: &'static str, name: &[u8], file: &Path) -> Error {
    Error::Unknown {
        kind,
        name: OsString::from(OsStr::from_bytes(name)),
        file: file.to_owned(),
    }
}
