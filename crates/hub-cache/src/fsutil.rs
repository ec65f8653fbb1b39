//! File-system helpers: atomic writes and relative symlinks, with errors that name the path,
//! and the modes of a shared cache ([`crate::perms`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Error;

/// Wraps an I/O error with the path it concerns.
pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |cause| Error::Io { path: path.to_path_buf(), cause }
}

/// `mkdir -p`, each new folder with the mode and group a shared cache expects
/// ([`crate::perms`]).
pub(crate) fn create_dir_all(dir: &Path) -> Result<(), Error> {
    crate::perms::create_dir_all(dir).map_err(io_err(dir))
}

fn parent(path: &Path) -> Result<&Path, Error> {
    path.parent().ok_or_else(|| Error::Io {
        path: path.to_path_buf(),
        cause: std::io::Error::other("the path has no parent folder"),
    })
}

/// Writes `bytes` to `path` atomically: a temp file in the same folder, then a rename.
/// A crash leaves either the old content or the new one, never a mix. The file gets the mode
/// of a new file of its folder ([`crate::perms`]; `tempfile` makes them `0o600`) before the
/// rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = parent(path)?;
    create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io_err(dir))?;
    tmp.write_all(bytes).map_err(io_err(tmp.path()))?;
    crate::perms::set_file_mode(tmp.as_file(), tmp.path(), dir, None);
    tmp.persist(path).map_err(|e| Error::Io { path: path.to_path_buf(), cause: e.error })?;
    Ok(())
}

/// `../` as many times as needed to go from the folder of a file `depth` folders below a
/// snapshot up to the repo folder, then `blobs/<name>`.
pub(crate) fn relative_blob_target(depth: usize, blob_name: &str) -> PathBuf {
    let mut target = PathBuf::new();
    for _ in 0..depth + 2 {
        target.push("..");
    }
    target.push("blobs");
    target.push(blob_name);
    target
}

/// Makes `link` a symlink to `target` atomically (created under a temp name, then renamed over
/// `link`). Where symlinks are not supported, copies `copy_from` instead.
pub(crate) fn symlink_atomic(target: &Path, link: &Path, copy_from: &Path) -> Result<(), Error> {
    let dir = parent(link)?;
    create_dir_all(dir)?;
    let tmp_name = format!(
        ".{}.{}.tmp",
        link.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        unique_suffix()
    );
    let tmp = dir.join(tmp_name);
    #[cfg(unix)]
    let made = std::os::unix::fs::symlink(target, &tmp);
    #[cfg(not(unix))]
    let made: std::io::Result<()> = Err(std::io::Error::other("no symlinks"));
    if made.is_err() {
        std::fs::copy(copy_from, &tmp).map_err(io_err(&tmp))?;
        if let Ok(file) = std::fs::File::open(&tmp) {
            crate::perms::set_file_mode(&file, &tmp, dir, None);
        }
    }
    std::fs::rename(&tmp, link).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::Io { path: link.to_path_buf(), cause: e }
    })
}

/// A suffix unique to this process and call: pid, time, a counter and [`host_tag`] (so a
/// later writer can tell a dead writer of its own host from a live one of another host
/// sharing the cache).
pub(crate) fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{:08x}-{}-{}", std::process::id(), nanos, n, host_tag())
}

/// Eight hex digits naming this host: a hash of its name (`uname -n`).
pub(crate) fn host_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        #[cfg(unix)]
        let name = rustix::system::uname().nodename().to_bytes().to_vec();
        #[cfg(not(unix))]
        let name: Vec<u8> = Vec::new();
        // FNV-1a: stable across builds and platforms.
        let hash =
            name.iter().fold(0x811c_9dc5_u32, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
        format!("{hash:08x}")
    })
}

/// This host's name (`uname -n`), for people: who holds a lease.
pub(crate) fn host_name() -> String {
    #[cfg(unix)]
    let name = rustix::system::uname().nodename().to_string_lossy().into_owned();
    #[cfg(not(unix))]
    let name = String::from("this host");
    name.chars().filter(|c| !c.is_control()).collect()
}
