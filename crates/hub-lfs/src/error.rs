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
    /// One part of a multipart upload failed after its retries.
    #[error("part {part} of {parts} of LFS object {oid} was not stored: {reason}")]
    Part {
        /// The object.
        oid: String,
        /// The part's number, from 1.
        part: u32,
        /// How many parts the object has.
        parts: u32,
        /// Why (no signed URL in it).
        reason: String,
        /// The HTTP status of the last attempt, when there was an answer.
        status: Option<u16>,
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
    /// An argument that cannot be used (a path in the repo, a commit message…).
    #[error("{reason}")]
    InvalidInput {
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The branch moved since `parent_commit`: the commit was refused, nothing changed.
    #[error(
        "the branch has moved since parent commit {parent_commit}, so the commit was refused ({message}); fetch the new head and try again"
    )]
    Conflict {
        /// The parent commit given.
        parent_commit: String,
        /// The Hub's message.
        message: String,
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
    /// The HTTP status behind the error, when there is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(hub_api::Error::Hub(hub_api::HubError::Http { status, .. })) => {
                Some(*status)
            }
            Error::Api(hub_api::Error::Hub(hub_api::HubError::Conflict { .. })) => Some(409),
            Error::Part { status, .. } => *status,
            Error::Object { code, .. } => u16::try_from(*code).ok(),
            _ => None,
        }
    }

    pub(crate) fn io(path: &std::path::Path, cause: std::io::Error) -> Error {
        Error::Io { path: path.to_owned(), cause }
    }
}
