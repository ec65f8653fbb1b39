//! The Python library's (2.4) cross-repo shared blob store, read and kept consistent:
//! `<cache>/blobs/<xet_hash[:2]>/<xet_hash>` holds a payload, per-repo `blobs/<etag>` are
//! relative symlinks to it, `<xet_hash>.refs` lists those symlinks (one
//! `<repo_folder>/blobs/<etag>` a line) and `<xet_hash>.lock` is the `flock` every change of
//! the manifest holds (`docs/protocol/cache.md#shared-blob-store`).
//!
//! The manifest is a hint: each line is checked against the file system before it counts, and a
//! missing or unreadable manifest keeps the payload (a leak, never a deletion of what a repo
//! still uses).

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::Error;
use crate::fsutil::io_err;

/// The store folder's name under the cache.
pub(crate) const STORE_DIR: &str = "blobs";
/// The marker file that makes `<cache>/blobs` a store, and its only accepted content.
const MARKER: &str = ".huggingface-shared-blobs";
const MARKER_CONTENT: &str = "1\n";

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether `<cache>/blobs` is a marked shared store of the layout version this code knows.
pub(crate) fn is_store(cache: &Path) -> bool {
    let dir = cache.join(STORE_DIR);
    let Ok(meta) = std::fs::symlink_metadata(&dir) else { return false };
    if !meta.is_dir() {
        return false;
    }
    let marker = dir.join(MARKER);
    std::fs::symlink_metadata(&marker).is_ok_and(|m| m.is_file())
        && std::fs::read_to_string(&marker).is_ok_and(|c| c == MARKER_CONTENT)
}

/// Lexical normalization: `.` and `..` removed (no file system access).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => (),
            other => out.push(other),
        }
    }
    out
}

/// The store payload `blob` (a repo's `blobs/<etag>`) is a symlink to, when it is one of the
/// store's managed links: `<cache>/blobs/<xx>/<xet_hash>`, a regular file.
pub(crate) fn store_target(cache: &Path, blob: &Path) -> Option<PathBuf> {
    let meta = std::fs::symlink_metadata(blob).ok()?;
    if !meta.file_type().is_symlink() {
        return None;
    }
    let link = std::fs::read_link(blob).ok()?;
    let target = normalize(&blob.parent()?.join(link));
    let store = normalize(&cache.join(STORE_DIR));
    let rest = target.strip_prefix(&store).ok()?;
    let parts: Vec<&str> = rest.components().filter_map(|c| c.as_os_str().to_str()).collect();
    match parts.as_slice() {
        [prefix, hash] if is_hex(hash, 64) && hash.starts_with(prefix) && prefix.len() == 2 => {
            std::fs::symlink_metadata(&target).ok().filter(|m| m.is_file()).map(|_| target)
        }
        _ => None,
    }
}

fn manifest_of(store_path: &Path) -> PathBuf {
    let name = store_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    store_path.with_file_name(format!("{name}.refs"))
}

/// The links the manifest of `store_path` lists that are still links to it; `None` when the
/// manifest is missing or unreadable (the payload must then be kept).
fn valid_references(cache: &Path, store_path: &Path) -> Option<Vec<String>> {
    let manifest = manifest_of(store_path);
    if !std::fs::symlink_metadata(&manifest).ok()?.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(&manifest).ok()?;
    let mut refs: Vec<String> = text
        .lines()
        .filter(|line| {
            let parts: Vec<&str> = line.split('/').collect();
            matches!(parts.as_slice(), [folder, "blobs", name]
                if folder.contains("--") && !name.is_empty() && *name != ".." && *name != "."
                    && *folder != ".." && !folder.starts_with('/'))
        })
        .filter(|line| store_target(cache, &cache.join(line)).as_deref() == Some(store_path))
        .map(str::to_owned)
        .collect();
    refs.sort();
    refs.dedup();
    Some(refs)
}

/// Holds the store entry's lock (`<xet_hash>.lock`, an `flock` as the Python library takes it).
fn lock(store_path: &Path) -> Result<std::fs::File, Error> {
    use fs2::FileExt;
    let name = store_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let path = store_path.with_file_name(format!("{name}.lock"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o666).custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    let file = options.open(&path).map_err(io_err(&path))?;
    file.lock_exclusive().map_err(io_err(&path))?;
    Ok(file)
}

/// Bytes freed if the links in `deleted` go: the payload's size when every valid reference of
/// its manifest is among them, else 0.
pub(crate) fn freed_if_deleted(cache: &Path, store_path: &Path, deleted: &[PathBuf]) -> u64 {
    let Some(refs) = valid_references(cache, store_path) else { return 0 };
    let all_go =
        refs.iter().all(|r| deleted.iter().any(|d| normalize(d) == normalize(&cache.join(r))));
    if refs.is_empty() || !all_go {
        return 0;
    }
    std::fs::symlink_metadata(store_path).map(|m| m.len()).unwrap_or(0)
}

/// After links to `store_path` were deleted: under its lock, rewrites the manifest with the
/// references still valid, or deletes the payload and its manifest when none is left. Returns
/// the bytes freed. A missing or unreadable manifest keeps everything.
pub(crate) fn sweep(cache: &Path, store_path: &Path) -> Result<u64, Error> {
    let _lock = lock(store_path)?;
    let Some(refs) = valid_references(cache, store_path) else { return Ok(0) };
    let manifest = manifest_of(store_path);
    if !refs.is_empty() {
        let mut content = String::new();
        for r in &refs {
            content.push_str(r);
            content.push('\n');
        }
        let dir = store_path.parent().unwrap_or(cache);
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(
                "{}.",
                manifest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            ))
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(io_err(dir))?;
        tmp.write_all(content.as_bytes()).map_err(io_err(tmp.path()))?;
        tmp.as_file().sync_all().map_err(io_err(tmp.path()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o666));
        }
        tmp.persist(&manifest).map_err(|e| Error::Io { path: manifest.clone(), cause: e.error })?;
        return Ok(0);
    }
    let size = std::fs::symlink_metadata(store_path).map(|m| m.len()).unwrap_or(0);
    match std::fs::remove_file(store_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::Io { path: store_path.to_path_buf(), cause: e });
        }
        _ => (),
    }
    let _ = std::fs::remove_file(&manifest);
    Ok(size)
}

/// Every payload of a marked store (`<cache>/blobs/<xx>/<64 hex>`, regular files).
pub(crate) fn store_payloads(cache: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if !is_store(cache) {
        return out;
    }
    let Ok(prefixes) = std::fs::read_dir(cache.join(STORE_DIR)) else { return out };
    for prefix in prefixes.filter_map(Result::ok) {
        let prefix_name = prefix.file_name().to_string_lossy().into_owned();
        if !is_hex(&prefix_name, 2) || !prefix.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(prefix.path()) else { continue };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_hex(&name, 64)
                && name.starts_with(&prefix_name)
                && entry.file_type().is_ok_and(|t| t.is_file())
            {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    out
}
