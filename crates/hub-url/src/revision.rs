//! Revisions: a branch, a tag, a commit, or a special ref such as `refs/pr/1`.

use std::fmt;
use std::str::FromStr;

use crate::error::RevisionError;

/// A git revision on the Hub: branch, tag, 40-hex commit, `refs/pr/N` or `refs/convert/X`.
///
/// A revision is also a file name in the cache (`refs/<revision>`), so it is checked with
/// git's own ref-name rules: it can never name a path outside the cache.
///
/// ```
/// use hub_url::{Revision, RevisionKind};
///
/// assert_eq!(Revision::default().as_str(), "main");
/// let pr: Revision = "refs/pr/1".parse().unwrap();
/// assert_eq!(pr.kind(), RevisionKind::PullRequest(1));
/// assert!("../../etc".parse::<Revision>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Revision(String);

/// What a [`Revision`] names, as far as the client can tell without asking the Hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionKind<'a> {
    /// A full 40-hex commit hash (lowercase).
    Commit,
    /// A pull request ref, `refs/pr/N`.
    PullRequest(u64),
    /// A conversion ref, `refs/convert/X` (e.g. `refs/convert/parquet`).
    Convert(&'a str),
    /// A branch or a tag: only the Hub knows which.
    Named,
}

/// The default revision, as in the Python library.
pub const DEFAULT_REVISION: &str = "main";

impl Revision {
    /// Checks `revision` against git's ref-name rules.
    pub fn new(revision: &str) -> Result<Revision, RevisionError> {
        let fail = |reason| Err(RevisionError { revision: revision.to_owned(), reason });
        if revision.is_empty() {
            return fail("it is empty");
        }
        if revision.len() > 255 {
            return fail("it is longer than 255 bytes");
        }
        if revision.chars().any(|c| {
            c.is_control()
                || c.is_whitespace()
                || matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\')
        }) {
            return fail("it cannot contain spaces, control characters or any of ~ ^ : ? * [ \\");
        }
        if revision.contains("..") || revision.contains("@{") || revision == "@" {
            return fail("it cannot contain '..' or '@{' nor be '@'");
        }
        if revision.ends_with('.') || revision.ends_with('/') || revision.starts_with('/') {
            return fail("it cannot start with '/' nor end with '/' or '.'");
        }
        for component in revision.split('/') {
            if component.is_empty() {
                return fail("it cannot contain '//'");
            }
            if component.starts_with('.') {
                return fail("no part of it can start with '.'");
            }
            if component.ends_with(".lock") {
                return fail("no part of it can end with '.lock'");
            }
        }
        Ok(Revision(revision.to_owned()))
    }

    /// `main`.
    pub fn main() -> Revision {
        Revision(DEFAULT_REVISION.to_owned())
    }

    /// The revision as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the revision names.
    pub fn kind(&self) -> RevisionKind<'_> {
        if is_commit_hash(&self.0) {
            return RevisionKind::Commit;
        }
        if let Some(n) = self.0.strip_prefix("refs/pr/")
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
            && let Ok(n) = n.parse()
        {
            return RevisionKind::PullRequest(n);
        }
        if let Some(name) = self.0.strip_prefix("refs/convert/")
            && !name.is_empty()
            && name.chars().all(|c| c.is_alphanumeric() || c == '_')
        {
            return RevisionKind::Convert(name);
        }
        RevisionKind::Named
    }

    /// Whether this revision is a full commit hash, which never moves.
    pub fn is_commit(&self) -> bool {
        self.kind() == RevisionKind::Commit
    }
}

/// Whether `s` is a full commit hash: exactly 40 lowercase hex digits.
pub fn is_commit_hash(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Default for Revision {
    fn default() -> Revision {
        Revision::main()
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Revision {
    type Err = RevisionError;

    fn from_str(s: &str) -> Result<Revision, RevisionError> {
        Revision::new(s)
    }
}

impl AsRef<str> for Revision {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
