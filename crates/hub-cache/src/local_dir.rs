//! `local_dir` downloads, laid out as the Python library does
//! (`docs/protocol/cache.md#local-dir`): files
//! at `<local_dir>/<path>`, and what is known about each in
//! `<local_dir>/.cache/huggingface/download/<path>.metadata` (three lines: commit, etag, time),
//! so a re-run skips files that did not change.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use hub_url::RepoPath;

use crate::Error;
use crate::blob::{BlobStart, BlobWriter, WriteTarget};
use crate::fsutil::{create_dir_all, write_atomic};
use crate::ids::{CommitHash, Etag};
use crate::layout::CACHEDIR_TAG;

/// A folder that receives plain files (no symlinks, no blobs), with the metadata that lets a
/// later run know which of them are up to date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalDir {
    root: PathBuf,
}

/// What a `.metadata` file records about a downloaded file.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LocalMetadata {
    /// The commit the file was downloaded at.
    pub commit: CommitHash,
    /// The file's etag at that commit.
    pub etag: Etag,
    /// When the metadata was written (seconds since the epoch).
    pub timestamp: f64,
}

impl LocalMetadata {
    /// Parses a `.metadata` file: commit, etag and time, one a line.
    pub(crate) fn parse(content: &str) -> Option<LocalMetadata> {
        let mut lines = content.lines();
        let commit = CommitHash::new(lines.next()?.trim()).ok()?;
        let etag = Etag::new(lines.next()?.trim()).ok()?;
        let timestamp: f64 = lines.next()?.trim().parse().ok()?;
        Some(LocalMetadata { commit, etag, timestamp })
    }
}

impl LocalDir {
    /// A local dir at `root` (it may not exist yet).
    pub fn new(root: PathBuf) -> LocalDir {
        LocalDir { root }
    }

    /// The folder itself.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// `<local_dir>/<file>`.
    pub fn file_path(&self, file: &RepoPath) -> PathBuf {
        join(self.root.clone(), file, "")
    }

    /// `<local_dir>/.cache/huggingface/download/<file>.metadata`.
    pub fn metadata_path(&self, file: &RepoPath) -> PathBuf {
        join(self.download_dir(), file, ".metadata")
    }

    fn huggingface_dir(&self) -> PathBuf {
        self.root.join(".cache").join("huggingface")
    }

    fn download_dir(&self) -> PathBuf {
        self.huggingface_dir().join("download")
    }

    /// The recorded metadata of `file`, when it exists, parses, and the file was not modified
    /// after it was written. Unreadable metadata is deleted, as the Python library does.
    pub fn read_metadata(&self, file: &RepoPath) -> Option<LocalMetadata> {
        let path = self.metadata_path(file);
        let content = std::fs::read_to_string(&path).ok()?;
        let Some(metadata) = LocalMetadata::parse(&content) else {
            let _ = std::fs::remove_file(&path);
            return None;
        };
        let modified = std::fs::metadata(self.file_path(file)).and_then(|m| m.modified()).ok()?;
        let modified = modified.duration_since(UNIX_EPOCH).ok()?.as_secs_f64();
        (modified - 1.0 <= metadata.timestamp).then_some(metadata)
    }

    /// Records that `file` is the content of `etag` at `commit` (atomic).
    pub fn write_metadata(
        &self,
        file: &RepoPath,
        commit: &CommitHash,
        etag: &Etag,
    ) -> Result<(), Error> {
        self.ensure_dirs()?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        write_atomic(&self.metadata_path(file), format!("{commit}\n{etag}\n{now}\n").as_bytes())
    }

    /// Creates `.cache/huggingface/` with its `.gitignore` (`*`) and `CACHEDIR.TAG`, so git and
    /// backup tools leave it alone.
    pub fn ensure_dirs(&self) -> Result<(), Error> {
        let dir = self.huggingface_dir();
        create_dir_all(&self.download_dir())?;
        let gitignore = dir.join(".gitignore");
        if !gitignore.exists() {
            write_atomic(&gitignore, b"*")?;
        }
        let tag = dir.join("CACHEDIR.TAG");
        if !tag.exists() {
            write_atomic(&tag, CACHEDIR_TAG.as_bytes())?;
        }
        Ok(())
    }

    /// A writer for `file`, locked by `download/<file>.lock`; its commit replaces the local file
    /// atomically. Partial downloads of the same content left by a dead process are adopted.
    ///
    /// This blocks while another process holds the lock: call it from a blocking thread.
    pub fn begin_file(&self, file: &RepoPath, etag: &Etag, size: u64) -> Result<BlobWriter, Error> {
        self.ensure_dirs()?;
        let target = WriteTarget {
            temp_dir: self.download_dir(),
            stem: etag.to_string(),
            destination: self.file_path(file),
            lock_path: join(self.download_dir(), file, ".lock"),
            expected: Some(etag.clone()),
        };
        match target.begin(size, true)? {
            BlobStart::Write(writer) => Ok(writer),
            BlobStart::Exists(path) => Err(Error::Io {
                path,
                cause: std::io::Error::other("the file writer did not start"),
            }),
        }
    }

    /// Copies an already cached file to `file` (atomic: a temp file, then a rename).
    pub fn copy_in(&self, file: &RepoPath, from: &Path) -> Result<PathBuf, Error> {
        let destination = self.file_path(file);
        let dir = destination.parent().unwrap_or(&self.root).to_path_buf();
        create_dir_all(&dir)?;
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&dir)
            .map_err(|cause| Error::Io { path: dir.clone(), cause })?;
        std::fs::copy(from, tmp.path())
            .map_err(|cause| Error::Io { path: from.to_path_buf(), cause })?;
        // `copy` gave the temp file the source's mode: a shared store's blob is read-only.
        crate::perms::set_file_mode(tmp.as_file(), tmp.path(), &dir, None);
        tmp.persist(&destination)
            .map_err(|e| Error::Io { path: destination.clone(), cause: e.error })?;
        Ok(destination)
    }
}

fn join(mut base: PathBuf, file: &RepoPath, suffix: &str) -> PathBuf {
    let segments: Vec<&str> = file.segments().collect();
    if let Some((last, dirs)) = segments.split_last() {
        for dir in dirs {
            base.push(dir);
        }
        base.push(format!("{last}{suffix}"));
    }
    base
}
