//! The hash a blob is named by, one rule for every place that checks it: the sha256 of an LFS
//! file (a 64-hex etag), the git blob id of a regular one (`sha1("blob <size>\0" + content)`,
//! a 40-hex etag). Downloads feed a [`BlobHasher`] as the bytes arrive; [`blob_digest`] reads a
//! file back, as `hub-cli cache verify` does with what is in the cache.

use std::path::Path;

use hub_cache::{Etag, Verification};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::Error;

/// Which hash an etag names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashKind {
    Sha256,
    GitSha1,
}

impl HashKind {
    /// The hash `etag` is.
    pub(crate) fn of(etag: &Etag) -> HashKind {
        if etag.is_sha256() { HashKind::Sha256 } else { HashKind::GitSha1 }
    }
}

/// A hash of a blob's content in the making.
pub(crate) enum BlobHasher {
    Sha256(Box<Sha256>),
    GitSha1(Box<Sha1>),
}

impl BlobHasher {
    /// A hasher of `kind` for `size` bytes of content (the git blob id hashes the size first).
    pub(crate) fn new(kind: HashKind, size: u64) -> BlobHasher {
        match kind {
            HashKind::Sha256 => BlobHasher::Sha256(Box::default()),
            HashKind::GitSha1 => {
                let mut h = Sha1::default();
                h.update(format!("blob {size}\0").as_bytes());
                BlobHasher::GitSha1(Box::new(h))
            }
        }
    }

    /// Hashes the next bytes, in order.
    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            BlobHasher::Sha256(s) => s.update(data),
            BlobHasher::GitSha1(s) => s.update(data),
        }
    }

    /// The digest, for [`hub_cache::BlobWriter::commit`].
    pub(crate) fn finish(self) -> Verification {
        match self {
            BlobHasher::Sha256(s) => Verification::Sha256(s.finalize().into()),
            BlobHasher::GitSha1(s) => Verification::GitSha1(s.finalize().into()),
        }
    }
}

/// What the file at `path` hashes to in the hash `etag` names, as lowercase hex: equal to
/// `etag` when the file is the blob it is named for.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("blob");
/// std::fs::write(&path, "hello\n")?;
/// // `printf 'hello\n' | git hash-object --stdin`
/// let etag = hub_cache::Etag::new("ce013625030ba8dba906f756967f9e9ca394464a")?;
/// assert_eq!(hub_api::blob_digest(&path, &etag)?, etag.as_str());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn blob_digest(path: &Path, etag: &Etag) -> Result<String, Error> {
    // The cache's own reader: one rule for what a blob hashes to.
    Ok(hub_cache::blob_digest(path, etag, &|_| ())?)
}
