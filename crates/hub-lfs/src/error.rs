//! The errors of `hub-lfs`.

use std::path::PathBuf;

/// Any error of `hub-lfs`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The transport or the Hub failed (see [`hub_api::Error`]).
    #[error(transparent)]
    Api(#[from] hub_api::Error),
    /// The batch API refused one object.
    #[error("the Hub refused LFS object {oid} (code {code}): {message}")]
    Object {
        /// The object.
        oid: String,
        /// The code the Hub gave.
        code: i64,
        /// The Hub's message.
        message: String,
    },
    /// The batch API's answer cannot be acted on.
    #[error("invalid answer from the Hub's LFS server for object {oid}: {reason}")]
    InvalidAction {
        /// The object.
        oid: String,
        /// What is wrong.
        reason: String,
    },
    /// One part of a multipart upload (or the single `PUT` of a `basic` one) failed after its
    /// retries.
    #[error("part {part} of {parts} of LFS object {oid} was not stored")]
    Part {
        /// The object.
        oid: String,
        /// The part's number, from 1.
        part: u32,
        /// How many parts the object has.
        parts: u32,
        /// Why: the last attempt's error (its URL is shown without the signature).
        #[source]
        source: Box<hub_api::Error>,
    },
    /// A local file cannot be read or written.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error, whose message is part of this one's (it is not
        /// repeated as a [`source`](std::error::Error::source)).
        cause: std::io::Error,
    },
    /// A file is not the size its object should have.
    #[error("{} has {actual} bytes, but LFS object {oid} has {expected}", path.display())]
    SizeMismatch {
        /// The file.
        path: PathBuf,
        /// The object.
        oid: String,
        /// The object's size.
        expected: u64,
        /// The file's size.
        actual: u64,
    },
    /// A revision, or a path in the repo, that breaks the Hub's rules (see
    /// [`hub_url::Error`]): nothing was sent.
    #[error(transparent)]
    Url(#[from] hub_url::Error),
    /// A path in the repo that cannot be uploaded to, deleted or copied: nothing was sent.
    #[error("invalid path in repo {path:?}: {reason}")]
    InvalidPathInRepo {
        /// The path as given.
        path: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// [`CommitOptions::message`](crate::CommitOptions::message) is empty: nothing was sent.
    #[error("the commit message cannot be empty; pass one")]
    EmptyCommitMessage,
    /// [`CommitOptions::parent_commit`](crate::CommitOptions::parent_commit) is not a commit
    /// id: nothing was sent.
    #[error("parent commit {parent_commit:?} is not a commit id (5 to 40 hex digits)")]
    InvalidParentCommit {
        /// The value given.
        parent_commit: String,
    },
    /// A local path to upload as a file is not a file (a folder, a socket…): nothing was sent.
    #[error("{} is not a file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The local folder to upload is not a folder: nothing was sent.
    #[error("{} is not a folder", path.display())]
    NotAFolder {
        /// The path.
        path: PathBuf,
    },
    /// A file in the folder to upload has a name that is not UTF-8, which the Hub cannot
    /// store: nothing was sent.
    #[error("{} is not a UTF-8 name; rename it or leave it out with ignore_patterns", path.display())]
    NonUtf8Name {
        /// The file.
        path: PathBuf,
    },
    /// A copy's source file is not in the repo at its revision: nothing was committed.
    #[error("cannot copy {path}: it is not in {repo} at {revision}")]
    CopySourceNotFound {
        /// The file to copy.
        path: String,
        /// The repo.
        repo: String,
        /// The revision it was looked for at.
        revision: String,
    },
    /// The branch moved since `parent_commit` (the Hub answered 412): the commit was refused,
    /// nothing changed.
    #[error(
        "the branch has moved since parent commit {parent_commit}, so the commit was refused{}; fetch the new head and try again",
        message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default()
    )]
    Conflict {
        /// The parent commit given.
        parent_commit: String,
        /// The Hub's message, when it gave one.
        message: Option<String>,
    },
    /// Downloaded bytes do not hash to the object's id.
    #[error("the download of LFS object {oid} is corrupt (sha256 {actual}); try again")]
    Corrupt {
        /// The object.
        oid: String,
        /// What the bytes hash to.
        actual: String,
    },
}

impl Error {
    /// The HTTP status of the error answer behind the error (the Hub's, the LFS server's or a
    /// storage server's, an object's code in a batch answer included); `None` when there was
    /// no error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => e.status(),
            Error::Part { source, .. } => source.status(),
            Error::Object { code, .. } => u16::try_from(*code).ok(),
            Error::Conflict { .. } => Some(412),
            _ => None,
        }
    }

    pub(crate) fn io(path: &std::path::Path, cause: std::io::Error) -> Error {
        Error::Io { path: path.to_owned(), cause }
    }

    /// The outcome of a task this crate spawned: a panic in it is resumed on the caller's
    /// thread (it is a bug to fix, not an error to report), and a task that the runtime dropped
    /// while shutting down is [`hub_api::Error::RuntimeGone`].
    pub(crate) fn joined<T>(outcome: Result<T, tokio::task::JoinError>) -> Result<T, Error> {
        match outcome {
            Ok(value) => Ok(value),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(Error::Api(hub_api::Error::RuntimeGone)),
        }
    }
}
