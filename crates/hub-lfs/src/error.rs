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

#[cfg(test)]
mod tests {
    use http::{HeaderMap, StatusCode};
    use hub_api::HubError;

    use super::*;

    const BATCH: &str = "https://hub.test/acme/m.git/info/lfs/objects/batch";

    fn hub(status: u16) -> hub_api::Error {
        let status = StatusCode::from_u16(status).unwrap();
        hub_api::Error::Hub(HubError::from_response(BATCH, status, &HeaderMap::new(), b"").unwrap())
    }

    fn part(source: hub_api::Error) -> Error {
        Error::Part { oid: "ab".repeat(32), part: 2, parts: 5, source: Box::new(source) }
    }

    /// The code git-lfs is sent for a failed object, and what a caller reads, is the status of
    /// the answer behind the error, for every status the Hub's errors are mapped from.
    #[test]
    fn every_error_made_from_an_answer_has_its_status() {
        for status in [400, 401, 403, 404, 409, 412, 429, 500, 503] {
            assert_eq!(Error::Api(hub(status)).status(), Some(status), "{status}");
            assert_eq!(part(hub(status)).status(), Some(status), "{status}");
        }
        let storage = HubError::from_storage_response(
            "http://127.0.0.2/part?X-Signature=s",
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            b"",
        )
        .unwrap();
        assert_eq!(part(storage.into()).status(), Some(403));
        let object = Error::Object { oid: "ab".repeat(32), code: 422, message: "no".into() };
        assert_eq!(object.status(), Some(422));
        let moved = Error::Conflict { parent_commit: "abc12".into(), message: None };
        assert_eq!(moved.status(), Some(412));
        assert_eq!(Error::EmptyCommitMessage.status(), None);
        let no_answer = hub_api::Error::Timeout { url: BATCH.into() };
        assert_eq!(part(no_answer).status(), None);
    }

    /// No message repeats its source's, so the chain printed whole says each thing once.
    #[test]
    fn no_error_repeats_its_source_in_its_own_text() {
        let denied = || std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let errors = [
            part(hub(503)),
            part(hub_api::Error::LocalFile { path: "/w.bin".into(), cause: denied() }),
            Error::Api(hub(403)),
            Error::Io { path: "/w.bin".into(), cause: denied() },
            Error::Url(hub_url::Revision::new("a..b").unwrap_err().into()),
            Error::Conflict { parent_commit: "abc12".into(), message: Some("moved".into()) },
        ];
        for e in &errors {
            let mut text = e.to_string();
            let mut next = std::error::Error::source(e);
            while let Some(source) = next {
                let own = source.to_string();
                assert!(!text.contains(&own), "{text:?} repeats its source {own:?}");
                text = own;
                next = source.source();
            }
        }
        let e = part(hub(503));
        assert_eq!(
            e.to_string(),
            format!("part 2 of 5 of LFS object {} was not stored", "ab".repeat(32))
        );
        assert!(std::error::Error::source(&e).is_some(), "the part's failure is the source");
        let e = Error::Io { path: "/w.bin".into(), cause: denied() };
        assert!(std::error::Error::source(&e).is_none(), "told in the text, not again");
    }
}
