//! The flat layout of the seed's `cached_download(url)` (`docs/protocol/cache.md#the-flat-layout`,
//! `docs/protocol/download.md#legacy-cached-download`):
//! `<cache>/<sha256(url)>.<sha256(etag)>` where the etag is the raw header value, quotes
//! included, with a `.json` sidecar `{"url": …, "etag": …}` and a `.lock` beside it.
//!
//! Kept without the seed's bugs: the temp file is unique to its writer (never appended to, so a
//! server that ignores `Range` cannot corrupt it), and an offline lookup never returns a partial
//! file.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::Error;
use crate::blob::{BlobStart, WriteTarget};
use crate::fsutil::write_atomic;
use crate::ids::Etag;
use crate::location::CacheDir;

/// One URL's entry in the flat layout, at one etag.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LegacyEntry {
    path: PathBuf,
    url: String,
    raw_etag: Option<String>,
}

fn sha256_hex(data: &str) -> String {
    Sha256::digest(data.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The name of a URL's entry: `sha256(url)`, then `.sha256(etag)` when the etag is known, then
/// `.h5` for a URL ending in `.h5` (so Keras recognises the file).
pub fn legacy_file_name(url: &str, raw_etag: Option<&str>) -> String {
    let mut name = sha256_hex(url);
    if let Some(etag) = raw_etag {
        name.push('.');
        name.push_str(&sha256_hex(etag));
    }
    if url.ends_with(".h5") {
        name.push_str(".h5");
    }
    name
}

impl CacheDir {
    /// The entry of `url` at `raw_etag` (the header's value, quotes included).
    pub fn legacy_entry(&self, url: &str, raw_etag: Option<&str>) -> LegacyEntry {
        LegacyEntry {
            path: self.path().join(legacy_file_name(url, raw_etag)),
            url: url.to_owned(),
            raw_etag: raw_etag.map(str::to_owned),
        }
    }

    /// Offline: the cached content of `url` at any etag, the most recently written one. Lock,
    /// sidecar, partial and temp files are never returned.
    pub fn find_legacy(&self, url: &str) -> Option<PathBuf> {
        let exact = self.legacy_entry(url, None).path;
        if exact.is_file() {
            return Some(exact);
        }
        let prefix = format!("{}.", sha256_hex(url));
        let entries = std::fs::read_dir(self.path()).ok()?;
        entries
            .filter_map(Result::ok)
            .filter(|entry| {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let Some(rest) = name.strip_prefix(&prefix) else { return false };
                // `<etag hash>` or `<etag hash>.h5`: anything else is a lock, a sidecar or a
                // partial download.
                let hash = rest.strip_suffix(".h5").unwrap_or(rest);
                hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit())
            })
            .filter_map(|entry| {
                let meta = entry.metadata().ok()?;
                meta.is_file().then(|| (meta.modified().ok(), entry.path()))
            })
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, path)| path)
    }
}

impl LegacyEntry {
    /// Where the content is (or will be).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes `<entry>.lock`, then finds the content or returns a writer for it; with `replace`,
    /// always a writer (`force_download`). The content is checked against the etag when it is
    /// a sha256 or a git blob id.
    ///
    /// This blocks while another process holds the lock: call it from a blocking thread.
    pub fn begin(&self, size: u64, replace: bool) -> Result<BlobStart, Error> {
        let dir = self.path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let name = self.path.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        WriteTarget {
            temp_dir: dir.clone(),
            lock_path: dir.join(format!("{name}.lock")),
            stem: name,
            destination: self.path.clone(),
            expected: self.raw_etag.as_deref().and_then(|e| Etag::from_header(e).ok()),
        }
        .begin(size, replace)
    }

    /// Writes the `.json` sidecar the seed's `filename_to_url` reads (atomic).
    pub fn write_sidecar(&self) -> Result<(), Error> {
        let json = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned());
        let etag = self.raw_etag.as_deref().map_or_else(|| "null".to_owned(), json);
        let body = format!("{{\"url\": {}, \"etag\": {etag}}}", json(&self.url));
        let mut sidecar = self.path.clone().into_os_string();
        sidecar.push(".json");
        write_atomic(Path::new(&sidecar), body.as_bytes())
    }
}

/// The seed's `filename_to_url`: the URL and raw etag recorded beside a cached file.
pub fn legacy_url_of(path: &Path) -> Option<(String, Option<String>)> {
    let mut sidecar = path.as_os_str().to_owned();
    sidecar.push(".json");
    let content = std::fs::read_to_string(sidecar).ok()?;
    let value: serde_json::Value = serde_json::from_str(&content).ok()?;
    let url = value.get("url")?.as_str()?.to_owned();
    let etag = value.get("etag").and_then(|e| e.as_str()).map(str::to_owned);
    Some((url, etag))
}
