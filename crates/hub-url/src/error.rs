//! Errors of `hub-url`: each says which rule was broken and what to do.

/// A repository id that the Hub would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RepoIdError {
    /// The id is empty, or one of its two parts is.
    #[error("invalid repo id '{id}': it is empty; use 'name' or 'namespace/name'")]
    Empty {
        /// The id as given.
        id: String,
    },
    /// More than one `/`.
    #[error(
        "invalid repo id '{id}': use 'name' or 'namespace/name' (one '/' at most); \
         pass the repo type separately or as a 'datasets/' or 'spaces/' prefix"
    )]
    TooManyParts {
        /// The id as given.
        id: String,
    },
    /// A part holds a character other than ASCII letters, digits, `-`, `_` and `.`.
    #[error(
        "invalid repo id '{id}': {ch:?} is not allowed; use ASCII letters, digits, '-', '_' or '.'"
    )]
    InvalidChar {
        /// The id as given.
        id: String,
        /// The first character that is not allowed.
        ch: char,
    },
    /// A part starts or ends with `-` or `.`.
    #[error("invalid repo id '{id}': a name cannot start or end with '-' or '.'")]
    BadBoundary {
        /// The id as given.
        id: String,
    },
    /// A part is longer than 96 characters.
    #[error("invalid repo id '{id}': the namespace and the name are 96 characters at most")]
    TooLong {
        /// The id as given.
        id: String,
    },
    /// The id contains `--` (the cache's separator) or `..`.
    #[error("invalid repo id '{id}': it cannot contain '--' or '..'")]
    Reserved {
        /// The id as given.
        id: String,
    },
    /// The id ends with `.git`.
    #[error("invalid repo id '{id}': it cannot end with '.git'")]
    EndsWithGit {
        /// The id as given.
        id: String,
    },
}

/// A repository type that is not `model`, `dataset` or `space`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid repo type '{0}': use 'model', 'dataset' or 'space'")]
pub struct RepoTypeError(pub String);

/// A revision that cannot name a git branch, tag or commit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid revision '{revision}': {reason}")]
pub struct RevisionError {
    /// The revision as given.
    pub revision: String,
    /// The rule it broke.
    pub reason: &'static str,
}

/// A file path in a repository that could escape the repository or the cache.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filename '{path}': {reason}")]
pub struct PathError {
    /// The path as given.
    pub path: String,
    /// The rule it broke.
    pub reason: &'static str,
}

/// An endpoint that is not an `http(s)://host[:port][/path]` URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid endpoint '{endpoint}': {reason}")]
pub struct EndpointError {
    /// The endpoint as given.
    pub endpoint: String,
    /// The rule it broke.
    pub reason: &'static str,
}

/// Any error of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// See [`RepoIdError`].
    #[error(transparent)]
    RepoId(#[from] RepoIdError),
    /// See [`RepoTypeError`].
    #[error(transparent)]
    RepoType(#[from] RepoTypeError),
    /// See [`RevisionError`].
    #[error(transparent)]
    Revision(#[from] RevisionError),
    /// See [`PathError`].
    #[error(transparent)]
    Path(#[from] PathError),
    /// See [`EndpointError`].
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
}
