//! Per-blob locks: `.locks/<repo folder>/<etag>.lock`, an exclusive `flock` (fs2), so that N
//! processes or threads fetching the same file produce one download.
//!
//! Where locks silently do nothing (some network file systems), correctness still holds: every
//! writer has its own temp file, and a blob appears only by an atomic rename of a verified file.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use fs2::FileExt;

use crate::Error;
use crate::fsutil::{create_dir_all, io_err};
use crate::perms::{LOCK_MODE, set_file_mode};

/// A held lock; released when dropped. The lock file stays, as with the Python library.
#[derive(Debug)]
#[must_use = "the lock is released when this value is dropped"]
pub struct BlobLock {
    file: File,
    path: PathBuf,
}

impl BlobLock {
    /// Waits for the exclusive lock on `path`, creating the file (mode 0664) when needed.
    pub fn acquire(path: &Path) -> Result<BlobLock, Error> {
        let file = open_lock_file(path)?;
        if file.try_lock_exclusive().is_err() {
            tracing::info!("waiting for another process to finish with {}", path.display());
            file.lock_exclusive().map_err(io_err(path))?;
        }
        Ok(BlobLock { file, path: path.to_path_buf() })
    }

    /// Takes the lock only if nobody holds it.
    pub fn try_acquire(path: &Path) -> Result<Option<BlobLock>, Error> {
        let file = open_lock_file(path)?;
        match file.try_lock_exclusive() {
            Ok(()) => Ok(Some(BlobLock { file, path: path.to_path_buf() })),
            Err(_) => Ok(None),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for BlobLock {
    fn drop(&mut self) {
        if let Err(e) = FileExt::unlock(&self.file) {
            tracing::debug!("cannot unlock {}: {e}", self.path.display());
        }
    }
}

/// Opens the lock file, creating it when missing: a lock file this process created gets mode
/// 0664 past the umask (as py-filelock gives the Python library's, so that every user of a
/// shared cache can take it) and, under a setgid folder, the folder's group.
fn open_lock_file(path: &Path) -> Result<File, Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_dir_all(dir)?;
    let mut options = OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, LOCK_MODE);
    match options.open(path) {
        Ok(file) => {
            set_file_mode(&file, path, dir, Some(LOCK_MODE));
            Ok(file)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            match OpenOptions::new().read(true).write(true).open(path) {
                // A lock file of another user that this one may not write (made 0644 by an
                // old client): `flock` takes a file open for reading as well.
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    File::open(path).map_err(|_| io_err(path)(e))
                }
                res => res.map_err(io_err(path)),
            }
        }
        Err(e) => Err(io_err(path)(e)),
    }
    .map_err(Error::writing_cache)
}
