//! Checking blobs against the hash they are named by (the sha256 of a 64-hex etag, the git blob
//! id of a 40-hex one), and the stamps that make a second check of an unchanged blob nearly
//! free.
//!
//! Stamps live in `<repo folder>/.hub-verified.json`: the Python library's `scan_cache_dir`
//! reads only `refs/` and `snapshots/` of a repo folder, so it never sees them, and deleting
//! the repo deletes them. A stamp records the blob's size, mtime, ctime, device and inode, and
//! when it was verified; it is trusted only when all of them still match. A stamp file that
//! does not parse, or is not ours, is ignored (and replaced at the next write).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::fsutil::{io_err, write_atomic};
use crate::{Error, Etag};

/// The stamp file's name in a repo folder.
pub const STAMP_FILE: &str = ".hub-verified.json";
const FORMAT: &str = "hub-cli verify stamps";

/// What `path` hashes to in the hash `etag` names, as lowercase hex: equal to `etag` when the
/// file is the blob it is named for. `on_bytes` is told each chunk's length (for progress).
pub fn blob_digest(path: &Path, etag: &Etag, on_bytes: &dyn Fn(u64)) -> Result<String, Error> {
    let mut file = std::fs::File::open(path).map_err(io_err(path))?;
    let size = file.metadata().map_err(io_err(path))?.len();
    let mut hasher = Hasher::new(etag, size);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        on_bytes(n as u64);
    }
    Ok(hasher.finish())
}

/// A hash of a blob in the making: sha256, or git's blob id (`sha1("blob <size>\0" + data)`).
pub(crate) enum Hasher {
    Sha256(Box<Sha256>),
    GitSha1(Box<Sha1>),
}

impl Hasher {
    /// The hasher `etag`'s name asks for, for `size` bytes.
    pub(crate) fn new(etag: &Etag, size: u64) -> Hasher {
        if etag.is_sha256() {
            Hasher::Sha256(Box::default())
        } else {
            let mut h = Sha1::default();
            h.update(format!("blob {size}\0").as_bytes());
            Hasher::GitSha1(Box::new(h))
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::GitSha1(h) => h.update(data),
        }
    }

    pub(crate) fn finish(self) -> String {
        let bytes: Vec<u8> = match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::GitSha1(h) => h.finalize().to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What a stamp records of a blob: it matches only while the file is untouched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FileState {
    /// Bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: u64,
    /// Status change time, nanoseconds since the Unix epoch (0 where unknown).
    pub ctime_ns: i64,
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
}

impl FileState {
    /// The state of the file at `path`, following symlinks.
    pub fn of(path: &Path) -> Result<FileState, Error> {
        let meta = std::fs::metadata(path).map_err(io_err(path))?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        #[cfg(unix)]
        let (ctime_ns, dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (
                meta.ctime().saturating_mul(1_000_000_000).saturating_add(meta.ctime_nsec()),
                meta.dev(),
                meta.ino(),
            )
        };
        #[cfg(not(unix))]
        let (ctime_ns, dev, ino) = (0, 0, 0);
        Ok(FileState { size: meta.len(), mtime_ns, ctime_ns, dev, ino })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stamp {
    state: FileState,
    /// When it was verified, seconds since the Unix epoch.
    verified_at: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct StampFile {
    format: String,
    version: u32,
    blobs: BTreeMap<String, Stamp>,
}

/// The verification stamps of one repo folder.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Stamps {
    path: PathBuf,
    blobs: BTreeMap<String, Stamp>,
    changed: bool,
}

impl Stamps {
    /// The stamps of the repo folder `repo_dir`; none when the file is missing, does not
    /// parse or is not ours.
    pub fn load(repo_dir: &Path) -> Stamps {
        let path = repo_dir.join(STAMP_FILE);
        let blobs = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<StampFile>(&bytes).ok())
            .filter(|f| f.format == FORMAT && f.version == 1)
            .map(|f| f.blobs)
            .unwrap_or_default();
        Stamps { path, blobs, changed: false }
    }

    /// Whether the blob named `etag` was verified in the state it is in now.
    pub fn is_fresh(&self, etag: &str, now: &FileState) -> bool {
        self.blobs.get(etag).is_some_and(|s| &s.state == now)
    }

    /// Records that the blob named `etag` verified in `state`.
    pub fn record(&mut self, etag: &str, state: FileState) {
        let verified_at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        self.blobs.insert(etag.to_owned(), Stamp { state, verified_at });
        self.changed = true;
    }

    /// Forgets the stamp of `etag` (a blob found bad, or replaced).
    pub fn forget(&mut self, etag: &str) {
        self.changed |= self.blobs.remove(etag).is_some();
    }

    /// How many blobs have a stamp.
    pub fn len(&self) -> usize {
        self.blobs.len()
    }

    /// Whether no blob has a stamp.
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// Writes the stamps (atomically), if they changed.
    pub fn save(&mut self) -> Result<(), Error> {
        if !self.changed {
            return Ok(());
        }
        let file = StampFile { format: FORMAT.to_owned(), version: 1, blobs: self.blobs.clone() };
        let bytes = serde_json::to_vec_pretty(&file)
            .map_err(|e| Error::Io { path: self.path.clone(), cause: std::io::Error::other(e) })?;
        write_atomic(&self.path, &bytes).map_err(Error::writing_cache)?;
        self.changed = false;
        Ok(())
    }
}

/// Removes a repo's blob (`<repo>/blobs/<etag>`) found bad, so it can be downloaded again.
/// When it is a link into the shared blob store, the link goes and the store entry is swept
/// (kept for the other repos that link to it, deleted when none does).
pub fn remove_blob(cache: &crate::CacheDir, blob: &Path) -> Result<(), Error> {
    let store = crate::shared::store_target(cache.path(), blob);
    match std::fs::remove_file(blob) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::Io { path: blob.to_path_buf(), cause: e }.writing_cache());
        }
        _ => (),
    }
    if let Some(payload) = store {
        crate::shared::sweep(cache.path(), &payload)?;
    }
    Ok(())
}
