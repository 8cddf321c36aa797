//! `User`: whom `netns-exec --user` runs a command as, looked up in
//! /etc/passwd and /etc/group directly (not through NSS), so that the
//! static multicall finds users in an image that has no NSS libraries.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::files;

const PASSWD: &str = "/etc/passwd";
const GROUP: &str = "/etc/group";

/// A user's ids as `runuser -u USER [-g GROUP]` gives them: the uid, the
/// primary gid (the user's, or GROUP), and the supplementary groups
/// (the primary gid and every group that lists the user, as
/// initgroups(3) makes them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

impl User {
    /// `USER[:GROUP]`, each a name or a number. A number that /etc/passwd
    /// does not know is taken as a uid, but then GROUP must be given.
    pub fn lookup(spec: &OsStr) -> Result<Self> {
        let bytes = spec.as_bytes();
        let (user, group) = match bytes.iter().position(|&b| b == b':') {
            Some(at) => (&bytes[..at], Some(&bytes[at + 1..])),
            None => (bytes, None),
        };
        let passwd = files::read(Path::new(PASSWD), 4096)?;
        let entry = entries(&passwd).find(|fields| {
            fields.first() == Some(&user)
                || (number(user).is_some() && fields.get(2) == Some(&user))
        });
        let (name, uid, user_gid) = match entry {
            Some(fields) => {
                let uid = fields.get(2).and_then(|f| number(f));
                let gid = fields.get(3).and_then(|f| number(f));
                match (uid, gid) {
                    (Some(uid), Some(gid)) => (Some(fields[0]), uid, Some(gid)),
                    _ => return Err(unknown("user", user, PASSWD)),
                }
            }
            None => match number(user) {
                Some(uid) => (None, uid, None),
                None => return Err(unknown("user", user, PASSWD)),
            },
        };
        let groups = files::read(Path::new(GROUP), 4096)?;
        let gid = match group {
            Some(group) => match number(group) {
                Some(gid) => gid,
                None => entries(&groups)
                    .find(|fields| fields.first() == Some(&group))
                    .and_then(|fields| number(fields.get(2)?))
                    .ok_or_else(|| unknown("group", group, GROUP))?,
            },
            None => user_gid.ok_or(Error::NoGroup { uid })?,
        };
        let mut ids = vec![gid];
        if let Some(name) = name {
            let member = |fields: &Vec<&[u8]>| {
                fields
                    .get(3)
                    .is_some_and(|members| members.split(|&b| b == b',').any(|m| m == name))
            };
            ids.extend(
                entries(&groups)
                    .filter(member)
                    .filter_map(|fields| number(fields.get(2)?)),
            );
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(User {
            uid,
            gid,
            groups: ids,
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

fn unknown(kind: &'static str, name: &[u8], file: &'static str) -> Error {
    Error::Unknown {
        kind,
        name: OsString::from(OsStr::from_bytes(name)),
        file,
    }
}
