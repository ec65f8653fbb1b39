//! One repository's folder in the cache, laid out as the Python library does
//! (`docs/protocol/cache.md#repo-folders`):
//!
//! ```text
//! <cache>/
//! ├── CACHEDIR.TAG
//! ├── .locks/models--org--name/<etag>.lock
//! └── models--org--name/
//!     ├── blobs/<etag>
//!     ├── refs/main                        (the commit, no newline; refs/refs/pr/1 for "refs/pr/1")
//!     ├── snapshots/<commit>/<path>        (relative symlink to ../../blobs/<etag>)
//!     └── .no_exist/<commit>/<path>        (empty: the file is known not to exist at that commit)
//! ```

use std::path::{Path, PathBuf};

use hub_url::{Repo, RepoPath, Revision, RevisionKind};

use crate::Error;
use crate::fsutil::{create_dir_all, relative_blob_target, symlink_atomic, write_atomic};
use crate::ids::{CommitHash, Etag};
use crate::location::CacheDir;

/// The content of `CACHEDIR.TAG`, as the Python library writes it.
pub const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by huggingface_hub.\n\
# For information about cache directory tags, see:\n\
#\thttps://bford.info/cachedir/\n";

/// What the cache knows about a file at a revision, without the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheLookup {
    /// The file is cached: the path in the snapshot folder.
    Found(PathBuf),
    /// The Hub said the file does not exist at that commit (a `.no_exist` marker).
    KnownMissing,
    /// The cache cannot tell.
    NotCached,
}

/// A repository's folder in a cache.
#[derive(Debug, Clone)]
pub struct RepoCache {
    cache_root: PathBuf,
    folder_name: String,
    path: PathBuf,
}

impl CacheDir {
    /// The folder of `repo` in this cache (it may not exist yet).
    pub fn repo(&self, repo: &Repo) -> RepoCache {
        let folder_name = repo.cache_folder_name();
        RepoCache {
            cache_root: self.path().to_path_buf(),
            path: self.path().join(&folder_name),
            folder_name,
        }
    }

    /// Writes `CACHEDIR.TAG` when it is missing, so backup tools skip the cache.
    pub fn ensure_tag(&self) -> Result<(), Error> {
        let tag = self.path().join("CACHEDIR.TAG");
        if tag.exists() {
            return Ok(());
        }
        write_atomic(&tag, CACHEDIR_TAG.as_bytes()).map_err(Error::writing_cache)
    }
}

impl RepoCache {
    /// `<cache>/models--org--name`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `blobs/<etag>`.
    pub fn blob_path(&self, etag: &Etag) -> PathBuf {
        self.path.join("blobs").join(etag.as_str())
    }

    /// `blobs/`.
    pub fn blobs_dir(&self) -> PathBuf {
        self.path.join("blobs")
    }

    /// `snapshots/<commit>`.
    pub fn snapshot_path(&self, commit: &CommitHash) -> PathBuf {
        self.path.join("snapshots").join(commit.as_str())
    }

    /// `snapshots/<commit>/<file>`.
    pub fn pointer_path(&self, commit: &CommitHash, file: &RepoPath) -> PathBuf {
        join_repo_path(self.snapshot_path(commit), file)
    }

    /// `.no_exist/<commit>/<file>`.
    pub fn no_exist_path(&self, commit: &CommitHash, file: &RepoPath) -> PathBuf {
        join_repo_path(self.path.join(".no_exist").join(commit.as_str()), file)
    }

    /// `refs/<revision>` (`refs/refs/pr/1` for `refs/pr/1`).
    pub fn ref_path(&self, revision: &Revision) -> PathBuf {
        let mut path = self.path.join("refs");
        for part in revision.as_str().split('/') {
            path.push(part);
        }
        path
    }

    /// `<cache>/.locks/models--org--name/<etag>.lock`.
    pub fn lock_path(&self, etag: &Etag) -> PathBuf {
        self.cache_root.join(".locks").join(&self.folder_name).join(format!("{etag}.lock"))
    }

    /// The commit a revision names, from the cache alone: a commit hash is itself; a branch,
    /// tag or PR ref is read from `refs/`. `None` when the ref was never cached.
    pub fn resolve_revision(&self, revision: &Revision) -> Result<Option<CommitHash>, Error> {
        if revision.kind() == RevisionKind::Commit {
            return CommitHash::new(revision.as_str()).map(Some);
        }
        let path = self.ref_path(revision);
        match std::fs::read_to_string(&path) {
            Ok(content) => CommitHash::new(content.trim()).map(Some).map_err(|_| {
                Error::CorruptRef { path, content: content.chars().take(80).collect() }
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Io { path, cause: e }),
        }
    }

    /// Looks a file up at a revision, as the Python library's `try_to_load_from_cache`:
    /// never falls back to another revision.
    pub fn lookup(&self, file: &RepoPath, revision: &Revision) -> Result<CacheLookup, Error> {
        let Some(commit) = self.resolve_revision(revision)? else {
            return Ok(CacheLookup::NotCached);
        };
        if self.no_exist_path(&commit, file).is_file() {
            return Ok(CacheLookup::KnownMissing);
        }
        let pointer = self.pointer_path(&commit, file);
        // `is_file` follows the symlink: a dangling pointer is not a cached file.
        if pointer.is_file() { Ok(CacheLookup::Found(pointer)) } else { Ok(CacheLookup::NotCached) }
    }

    /// Records that `revision` points at `commit` (nothing for a commit hash, nothing when the
    /// ref already says so). Atomic.
    pub fn write_ref(&self, revision: &Revision, commit: &CommitHash) -> Result<(), Error> {
        if revision.as_str() == commit.as_str() {
            return Ok(());
        }
        let path = self.ref_path(revision);
        if std::fs::read_to_string(&path).is_ok_and(|c| c == commit.as_str()) {
            return Ok(());
        }
        write_atomic(&path, commit.as_str().as_bytes()).map_err(Error::writing_cache)
    }

    /// Records that `file` does not exist at `commit` (an empty `.no_exist` marker).
    pub fn mark_missing(&self, commit: &CommitHash, file: &RepoPath) -> Result<(), Error> {
        let path = self.no_exist_path(commit, file);
        if path.is_file() {
            return Ok(());
        }
        write_atomic(&path, b"").map_err(Error::writing_cache)
    }

    /// Points `snapshots/<commit>/<file>` at `blobs/<etag>` with a relative symlink (a copy
    /// where symlinks are unsupported). The blob must exist. Returns the pointer's path.
    pub fn link_snapshot(
        &self,
        commit: &CommitHash,
        file: &RepoPath,
        etag: &Etag,
    ) -> Result<PathBuf, Error> {
        let blob = self.blob_path(etag);
        if !blob.is_file() {
            return Err(Error::Io {
                path: blob,
                cause: std::io::Error::new(std::io::ErrorKind::NotFound, "the blob is missing"),
            });
        }
        let pointer = self.pointer_path(commit, file);
        let target = relative_blob_target(file.depth(), etag.as_str());
        symlink_atomic(&target, &pointer, &blob).map_err(Error::writing_cache)?;
        Ok(pointer)
    }

    /// Creates `snapshots/<commit>` (and the repo's folders), for a snapshot whose files are
    /// all there: a snapshot of no file is an empty folder. Returns its path.
    pub fn create_snapshot(&self, commit: &CommitHash) -> Result<PathBuf, Error> {
        self.create_dirs()?;
        let path = self.snapshot_path(commit);
        create_dir_all(&path).map_err(Error::writing_cache)?;
        Ok(path)
    }

    /// Creates `blobs/` and `snapshots/` (what the Python scanner requires of a repo folder).
    pub fn create_dirs(&self) -> Result<(), Error> {
        create_dir_all(&self.blobs_dir()).map_err(Error::writing_cache)?;
        create_dir_all(&self.path.join("snapshots")).map_err(Error::writing_cache)
    }
}

fn join_repo_path(mut base: PathBuf, file: &RepoPath) -> PathBuf {
    for segment in file.segments() {
        base.push(segment);
    }
    base
}

/// Looks a file up in a cache, as the Python library's `try_to_load_from_cache(repo_id,
/// filename, cache_dir, revision, repo_type)`. Pure file system.
///
/// ```
/// use hub_cache::{CacheDir, CacheLookup, try_to_load_from_cache};
///
/// let cache = CacheDir::new(std::env::temp_dir().join("an-empty-cache"));
/// let repo = "julien-c/EsperBERTo-small".parse()?;
/// let file = "config.json".parse()?;
/// let found = try_to_load_from_cache(&cache, &repo, &file, &Default::default())?;
/// assert_eq!(found, CacheLookup::NotCached);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn try_to_load_from_cache(
    cache: &CacheDir,
    repo: &Repo,
    file: &RepoPath,
    revision: &Revision,
) -> Result<CacheLookup, Error> {
    cache.repo(repo).lookup(file, revision)
}
