//! Validated names that become file names in the cache: [`Etag`] and [`CommitHash`].
//!
//! Both come from the network (`ETag`, `X-Linked-Etag`, `X-Repo-Commit` headers); they are
//! checked before they touch the disk, so a malicious server cannot name a path outside the
//! cache.

use std::fmt;

use crate::Error;

/// A blob's name: the git blob id (40 hex) of a regular file or the sha256 (64 hex) of an LFS
/// file, lowercase.
///
/// ```
/// use hub_cache::Etag;
///
/// let etag = Etag::from_header("\"d7edf6bd2a681fb0175f7735299831ee1b22b812\"").unwrap();
/// assert!(!etag.is_sha256());
/// assert!(Etag::new("../../etc/passwd").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Etag(String);

impl Etag {
    /// Checks that `value` is 40 or 64 lowercase hex digits.
    pub fn new(value: &str) -> Result<Etag, Error> {
        if (value.len() == 40 || value.len() == 64) && is_lower_hex(value) {
            Ok(Etag(value.to_owned()))
        } else {
            Err(Error::InvalidEtag { value: value.to_owned() })
        }
    }

    /// Parses an `ETag` / `X-Linked-Etag` header value: an optional `W/` prefix and the quotes
    /// are removed, as the Python library does.
    pub fn from_header(raw: &str) -> Result<Etag, Error> {
        let value = raw.trim();
        let value = value.strip_prefix("W/").unwrap_or(value);
        Etag::new(value.trim_matches('"'))
    }

    /// The etag, as the blob's file name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a sha256 (an LFS file), which the content can be verified against.
    pub fn is_sha256(&self) -> bool {
        self.0.len() == 64
    }
}

impl fmt::Display for Etag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A full commit hash: 40 lowercase hex digits, the name of a snapshot folder.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitHash(String);

impl CommitHash {
    /// Checks that `value` is 40 lowercase hex digits.
    pub fn new(value: &str) -> Result<CommitHash, Error> {
        if hub_url::is_commit_hash(value) {
            Ok(CommitHash(value.to_owned()))
        } else {
            Err(Error::InvalidCommit { value: value.to_owned() })
        }
    }

    /// The hash.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CommitHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
