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

use crate::{seed::DeterministicReader, util::hex};

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
        let src = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let large = src.metadata().is_ok_and(|m| m.len() >= EXTERNAL_HASH_MIN);
        self.put_reader(src, large).with_context(|| format!("storing {}", path.display()))
    }

    /// Stores everything `src` yields and returns `(sha256, size)`, hashing while copying
    /// (with `openssl` if `large` and it is installed: see [`StreamHasher`]).
    pub(crate) fn put_reader(
        &self,
        mut src: impl Read,
        large: bool,
    ) -> anyhow::Result<(String, u64)> {
        let mut tmp =
            tempfile::NamedTempFile::new_in(self.tmp_dir()).context("creating a temp file")?;
        let mut hasher = StreamHasher::new(large);
        let mut buf = vec![0u8; IO_CHUNK];
        let mut size = 0u64;
        loop {
            let n = match src.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(anyhow::Error::new(e).context("reading the source")),
            };
            tmp.write_all(&buf[..n]).context("writing an LFS object")?;
            hasher.update(&buf[..n])?;
            size += n as u64;
        }
        let oid = hasher.finish()?;
        if self.size_of(&oid) != Some(size) {
            self.persist(tmp, &oid)?;
        }
        Ok((oid, size))
    }

    /// Stores `size` deterministic bytes derived from `label` ([`DeterministicReader`]) and
    /// returns `(sha256, size)`. The oid is remembered under `lfs/generated/`, so generating the
    /// same object again in the same root is instant.
    pub(crate) fn put_generated(&self, label: &str, size: u64) -> anyhow::Result<(String, u64)> {
        let dir = self.root.join("generated");
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let memo = dir.join(format!("{}-{size}", hex(&Sha256::digest(label.as_bytes()))));
        if let Ok(oid) = fs::read_to_string(&memo) {
            let oid = oid.trim();
            if self.size_of(oid) == Some(size) {
                return Ok((oid.to_owned(), size));
            }
        }
        let (oid, size) =
            self.put_reader(DeterministicReader::new(label, size), size >= EXTERNAL_HASH_MIN)?;
        let mut tmp =
            tempfile::NamedTempFile::new_in(self.tmp_dir()).context("creating a temp file")?;
        tmp.write_all(oid.as_bytes()).context("writing the generated-object memo")?;
        tmp.persist(&memo).with_context(|| format!("persisting {}", memo.display()))?;
        Ok((oid, size))
    }

    /// The directory holding the parts of one multipart upload.
    pub(crate) fn parts_dir(&self, oid: &str, size: u64, chunk: u64) -> PathBuf {
        self.root.join("parts").join(format!("{oid}-{size}-{chunk}"))
    }
}

/// Streams at least this large are hashed by `openssl` when it is installed.
const EXTERNAL_HASH_MIN: u64 = 64 * 1024 * 1024;

/// sha256 of a stream: in process, or by an `openssl dgst -sha256` child fed through a pipe.
///
/// The `sha2` crate runs at a few tens of MB/s in debug builds (the default `testhub`), which
/// makes a 2 GiB file take over a minute; `openssl` hashes at about 1 GiB/s whatever the build,
/// on the other core.
enum StreamHasher {
    InProcess(Sha256),
    Openssl { child: std::process::Child, stdin: std::process::ChildStdin },
}

impl StreamHasher {
    fn new(external: bool) -> StreamHasher {
        if external {
            let spawned = std::process::Command::new("openssl")
                .args(["dgst", "-sha256", "-r"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn();
            if let Ok(mut child) = spawned
                && let Some(stdin) = child.stdin.take()
            {
                return StreamHasher::Openssl { child, stdin };
            }
        }
        StreamHasher::InProcess(Sha256::new())
    }

    fn update(&mut self, data: &[u8]) -> anyhow::Result<()> {
        match self {
            StreamHasher::InProcess(h) => h.update(data),
            StreamHasher::Openssl { stdin, .. } => {
                stdin.write_all(data).context("feeding openssl dgst")?;
            }
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<String> {
        match self {
            StreamHasher::InProcess(h) => Ok(hex(&h.finalize())),
            StreamHasher::Openssl { child, stdin } => {
                drop(stdin);
                let out = child.wait_with_output().context("waiting for openssl dgst")?;
                let text = String::from_utf8_lossy(&out.stdout);
                let oid = text.split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
                if !out.status.success() || !is_sha256(&oid) {
                    anyhow::bail!("openssl dgst -sha256 failed ({}): {}", out.status, text.trim());
                }
                Ok(oid)
            }
        }
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
