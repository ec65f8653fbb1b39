//! The LFS object store: content-addressed files under `root/lfs/`, plus multipart parts.
//!
//! Objects are written to a temp file in `root/lfs/tmp/` while being hashed, then renamed into
//! `root/lfs/objects/ab/cd/<oid>`, so readers never see a partial object.

use std::{
    fs,
    io::{Read, Write},
    path::{Path, PathBuf},
};

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::util::hex;

/// Bytes per read when copying or hashing files.
pub(crate) const IO_CHUNK: usize = 1024 * 1024;

/// The on-disk LFS store.
#[derive(Debug, Clone)]
pub(crate) struct LfsStore {
    root: PathBuf,
}

/// Whether `oid` is a lowercase 64-hex sha256.
pub(crate) fn is_sha256(oid: &str) -> bool {
    oid.len() == 64 && oid.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl LfsStore {
    pub(crate) fn new(root: &Path) -> anyhow::Result<LfsStore> {
        let store = LfsStore { root: root.join("lfs") };
        for dir in [store.root.join("objects"), store.tmp_dir(), store.root.join("parts")] {
            fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        Ok(store)
    }

    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Where object `oid` lives (whether or not it exists). `oid` must be a sha256.
    pub(crate) fn object_path(&self, oid: &str) -> PathBuf {
        self.root.join("objects").join(&oid[..2]).join(&oid[2..4]).join(oid)
    }

    /// The size of object `oid` if it is stored.
    pub(crate) fn size_of(&self, oid: &str) -> Option<u64> {
        if !is_sha256(oid) {
            return None;
        }
        fs::metadata(self.object_path(oid)).ok().map(|m| m.len())
    }

    /// Moves the finished temp file `tmp` into place as object `oid`.
    pub(crate) fn persist(&self, tmp: tempfile::NamedTempFile, oid: &str) -> anyhow::Result<()> {
        let dest = self.object_path(oid);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        tmp.persist(&dest).with_context(|| format!("persisting {}", dest.display()))?;
        Ok(())
    }

    /// Stores `data` and returns `(sha256, size)`.
    pub(crate) fn put_bytes(&self, data: &[u8]) -> anyhow::Result<(String, u64)> {
        let oid = hex(&Sha256::digest(data));
        if self.size_of(&oid) != Some(data.len() as u64) {
            let mut tmp =
                tempfile::NamedTempFile::new_in(self.tmp_dir()).context("creating a temp file")?;
            tmp.write_all(data).context("writing an LFS object")?;
            self.persist(tmp, &oid)?;
        }
        Ok((oid, data.len() as u64))
    }

    /// Stores a copy of the file at `path` and returns `(sha256, size)`, streaming.
    pub(crate) fn put_file(&self, path: &Path) -> anyhow::Result<(String, u64)> {
        let mut src =
            fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut tmp =
            tempfile::NamedTempFile::new_in(self.tmp_dir()).context("creating a temp file")?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; IO_CHUNK];
        let mut size = 0u64;
        loop {
            let n = src.read(&mut buf).with_context(|| format!("reading {}", path.display()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n]).context("writing an LFS object")?;
            size += n as u64;
        }
        let oid = hex(&hasher.finalize());
        self.persist(tmp, &oid)?;
        Ok((oid, size))
    }

    /// The directory holding the parts of one multipart upload.
    pub(crate) fn parts_dir(&self, oid: &str, size: u64, chunk: u64) -> PathBuf {
        self.root.join("parts").join(format!("{oid}-{size}-{chunk}"))
    }
}

/// The text of an LFS pointer file for an object.
pub(crate) fn pointer_text(oid: &str, size: u64) -> String {
    format!("version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n")
}

/// Parses an LFS pointer; returns `(sha256, size)`.
pub(crate) fn parse_pointer(data: &[u8]) -> Option<(String, u64)> {
    if data.len() > 1024 {
        return None;
    }
    let text = std::str::from_utf8(data).ok()?;
    let mut lines = text.lines();
    if !lines.next()?.starts_with("version https://git-lfs.github.com/spec/") {
        return None;
    }
    let mut oid = None;
    let mut size = None;
    for line in lines {
        if let Some(rest) = line.strip_prefix("oid sha256:") {
            oid = Some(rest.trim().to_owned());
        } else if let Some(rest) = line.strip_prefix("size ") {
            size = rest.trim().parse().ok();
        }
    }
    let oid = oid.filter(|o| is_sha256(o))?;
    Some((oid, size?))
}
