//! The Hugging Face Hub's versioned on-disk cache, laid out byte for byte like the Python
//! library's, so a file fetched from Rust is found by Python tools and the other way round.
//!
//! `hub-cache` sits above `hub-url` and below `hub-api`: it works on the file system only and
//! never touches the network. Names that come from the network ([`Etag`], [`CommitHash`]) are
//! validated before they become paths.
//!
//! ```
//! use hub_cache::{CacheDir, CacheLookup};
//!
//! // `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, else
//! // `~/.cache/huggingface/hub`, as the Python library.
//! let cache = CacheDir::from_env()?;
//! let repo = cache.repo(&"julien-c/EsperBERTo-small".parse()?);
//! match repo.lookup(&"config.json".parse()?, &"main".parse()?)? {
//!     CacheLookup::Found(path) => println!("cached at {}", path.display()),
//!     CacheLookup::KnownMissing => println!("the Hub said there is no such file"),
//!     CacheLookup::NotCached => println!("not in the cache"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Invariants
//! - Every write is atomic: a temp file in the same folder, then a rename. A crash at any
//!   point leaves a valid cache.
//! - Symlinks in `snapshots/` are relative, so a cache folder can be moved or mounted elsewhere.

#![warn(missing_docs)]

// The crate's README: its Rust examples are compiled (and run, unless `no_run`) by
// `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod archive;
mod blob;
mod fskind;
mod fsutil;
mod ids;
mod layout;
mod lease;
mod leftovers;
mod legacy;
mod local_dir;
mod location;
mod lock;
mod perms;
mod scan;
mod shared;
mod trees;
mod verify;

use std::path::PathBuf;

pub use archive::{ExportSummary, ImportSummary, KeptRef, export, import};
pub use blob::{BlobClaim, BlobStart, BlobWriter, CLAIM_POLL, Claim, Verification, Waiting};
pub use fskind::{FileSystem, FsKind};
pub use ids::{CommitHash, Etag};
pub use layout::{CACHEDIR_TAG, CacheLookup, RepoCache, try_to_load_from_cache};
pub use lease::{LeaseConfig, LeaseHolder};
pub use leftovers::{Leftover, LeftoverKind};
pub use legacy::{LegacyEntry, legacy_file_name, legacy_url_of};
pub use local_dir::{LocalDir, LocalMetadata};
pub use location::{CacheDir, HfHome};
pub use lock::BlobLock;
pub use scan::{
    CacheInfo, CachedFile, CachedRepo, CachedRevision, ChosenRepo, DeletePlan, DeleteTarget,
};
pub use trees::{TreeFile, read_tree, tree_path, write_tree};
pub use verify::{FileState, STAMP_FILE, Stamps, blob_digest, remove_blob};

/// The cache's parsers of what it reads from disk, for the fuzz targets (`crates/hub-fuzz`):
/// not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    use std::collections::BTreeMap;

    use hub_url::Repo;

    use crate::{LocalMetadata, TreeFile};

    /// A blob's progress record (`N` or `a-b,c-d,…`), as a resume reads it.
    pub fn parse_progress(text: &str) -> Option<Vec<(u64, u64)>> {
        crate::blob::parse_progress(text)
    }

    /// The repo a cache folder's name stands for, as the scan reads it.
    pub fn repo_of_folder(name: &str) -> Option<Result<Repo, String>> {
        crate::scan::repo_of_folder(name)
    }

    /// A `local_dir` `.metadata` file.
    pub fn parse_local_metadata(content: &str) -> Option<LocalMetadata> {
        LocalMetadata::parse(content)
    }

    /// A cached tree listing (`trees/<commit>.json`).
    pub fn parse_tree(content: &[u8]) -> Option<BTreeMap<String, TreeFile>> {
        crate::trees::parse_tree(content)
    }
}

/// What can go wrong with the cache.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No home directory, and no variable that names the cache.
    #[error("cannot find the home directory: set HF_HOME or HF_HUB_CACHE")]
    NoHomeDir,
    /// The cache folder does not exist.
    #[error("cache directory not found: {}; pass a cache dir or set HF_HUB_CACHE", path.display())]
    CacheNotFound {
        /// The folder looked for.
        path: PathBuf,
    },
    /// The path given as the cache folder is a file.
    #[error("{} is a file, not a folder; pass the cache folder (or set HF_HUB_CACHE to it)", path.display())]
    CacheIsAFile {
        /// The path given.
        path: PathBuf,
    },
    /// An etag that is neither a 40-hex git blob id nor a 64-hex sha256.
    #[error(
        "invalid etag '{value}': expected 40 or 64 lowercase hex digits; the server's answer cannot be cached"
    )]
    InvalidEtag {
        /// The value received.
        value: String,
    },
    /// A commit that is not 40 lowercase hex digits.
    #[error(
        "invalid commit hash '{value}': expected 40 lowercase hex digits; the server's answer cannot be cached"
    )]
    InvalidCommit {
        /// The value received.
        value: String,
    },
    /// A file in `refs/` that does not hold a commit hash.
    #[error("corrupt ref file {}: it holds {content:?}, not a commit hash; delete it and download again", path.display())]
    CorruptRef {
        /// The ref file.
        path: PathBuf,
        /// The start of what it holds.
        content: String,
    },
    /// More bytes than the expected size were written.
    #[error("{}: more data than the expected {expected} bytes; the server sent a different file", path.display())]
    TooLong {
        /// The temp file.
        path: PathBuf,
        /// The expected size.
        expected: u64,
    },
    /// The download's size is not the expected one.
    #[error(
        "consistency check failed for blob {etag}: expected {expected} bytes, got {actual}; retry the download"
    )]
    SizeMismatch {
        /// The blob.
        etag: String,
        /// The expected size.
        expected: u64,
        /// What was written.
        actual: u64,
    },
    /// The download's sha256 is not its etag: corrupted in transit, or a wrong file.
    #[error(
        "checksum mismatch for blob {etag}: the content's sha256 is {actual}; nothing was cached, retry the download"
    )]
    HashMismatch {
        /// The expected sha256 (the etag).
        etag: String,
        /// The sha256 of what arrived.
        actual: String,
    },
    /// Another process took over this writer's temp file (locks do not work on this file system).
    #[error("{}: another process took over this partial download; it will finish it", path.display())]
    Adopted {
        /// The temp file.
        path: PathBuf,
    },
    /// The disk holding the cache has no room for a file.
    #[error(
        "{}: not enough disk space for {needed} bytes; free some, or set HF_HUB_CACHE to a folder on a larger disk",
        path.display()
    )]
    NoSpace {
        /// The temp file that was to hold the file.
        path: PathBuf,
        /// The file's size.
        needed: u64,
    },
    /// The cache cannot be written to: no permission, a read-only file system, or a file where
    /// a folder of the path should be.
    #[error("cannot write to the cache at {}: {cause}; {}", path.display(), unwritable_hint(cause))]
    CacheNotWritable {
        /// The file or folder that could not be written.
        path: PathBuf,
        /// The operating system's error, whose message is part of this one's (it is not
        /// repeated as a [`source`](std::error::Error::source)).
        cause: std::io::Error,
    },
    /// The system refused a write into the cache: the file or folder at fault belongs to
    /// another user, or lacks the write permission (a cache shared by several users).
    #[error(
        "cannot write to {}: it belongs to {owner} (group {group}, mode {}); {}",
        path.display(),
        perms::mode_string(*mode),
        perms::denied_hint(*mode, owner, group, *yours)
    )]
    PermissionDenied {
        /// The file or folder that may not be written (the folder, when a file could not be
        /// made in it).
        path: PathBuf,
        /// Its owner: the user name from `/etc/passwd`, else `uid <n>`.
        owner: String,
        /// Its group: the name from `/etc/group`, else `gid <n>`.
        group: String,
        /// Its mode (`st_mode`, with the file type bits).
        mode: u32,
        /// Whether the user running this process owns it.
        yours: bool,
    },
    /// A repo or revision asked for is not in the cache.
    #[error("{what} is not in the cache {}; `hub-cli cache ls --revisions` lists what is", cache.display())]
    NotCached {
        /// The repo, or `repo@revision`.
        what: String,
        /// The cache folder.
        cache: PathBuf,
    },
    /// An archive entry that cannot go into a cache: nothing of the archive was imported.
    #[error("archive entry `{entry}`: {reason}; the archive was refused and nothing was imported")]
    BadArchive {
        /// The entry's path in the archive.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A file-system operation failed.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The operating system's error, whose message is part of this one's (it is not
        /// repeated as a [`source`](std::error::Error::source)).
        cause: std::io::Error,
    },
}

impl Error {
    /// A failed write into the cache: [`Error::PermissionDenied`] (naming the file or folder at
    /// fault and its owner) or [`Error::CacheNotWritable`] when the user can fix it by fixing
    /// permissions or moving the cache, else the error as it is.
    pub(crate) fn writing_cache(self) -> Error {
        use std::io::ErrorKind::{NotADirectory, PermissionDenied, ReadOnlyFilesystem};
        match self {
            Error::Io { path, cause } if cause.kind() == PermissionDenied => {
                perms::denied(&path, cause)
            }
            Error::Io { path, cause }
                if matches!(
                    cause.kind(),
                    PermissionDenied | ReadOnlyFilesystem | NotADirectory
                ) =>
            {
                Error::CacheNotWritable { path, cause }
            }
            e => e,
        }
    }
}

/// What to do about a cache that cannot be written to.
fn unwritable_hint(cause: &std::io::Error) -> &'static str {
    match cause.kind() {
        std::io::ErrorKind::NotADirectory => {
            "part of that path is a file, not a folder; set HF_HUB_CACHE to a writable folder"
        }
        std::io::ErrorKind::ReadOnlyFilesystem => {
            "the file system is read-only; set HF_HUB_CACHE to a writable folder"
        }
        _ => "fix its permissions or set HF_HUB_CACHE to a writable folder",
    }
}

#[cfg(test)]
mod tests;
