//! What dead downloads leave behind: partial files (ours, `<etag>.<unique>.incomplete` with
//! their `.progress` record, and the Python library's `<etag>.<8 hex>.incomplete`) and lease
//! files nobody renews. `hub-cli cache prune` deletes them.
//!
//! A partial file is abandoned when its writer is a process of this host that is gone, or
//! when it was not modified for a grace period and no renewed lease names it (a writer of
//! another node, or the Python library, whose liveness cannot be asked). A lease is stale
//! when its holder is a dead process of this host, or when it was not renewed for the grace
//! period.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::lease::LeaseHolder;
use crate::location::CacheDir;

/// A file a dead download left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Leftover {
    /// The file.
    pub path: PathBuf,
    /// Its size on disk.
    pub size: u64,
    /// What it is.
    pub kind: LeftoverKind,
}

/// What a [`Leftover`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum LeftoverKind {
    /// A partial download (or its progress record).
    Partial,
    /// A lease file nobody renews.
    StaleLease,
}

impl CacheDir {
    /// The partial files and lease files that dead downloads left, judged with `grace` (how
    /// long an unmodified file of a writer whose liveness cannot be asked is given).
    pub fn leftovers(&self, grace: Duration) -> Vec<Leftover> {
        let now = SystemTime::now();
        let old = |path: &Path| {
            std::fs::symlink_metadata(path)
                .ok()
                .and_then(|m| m.modified().ok())
                .is_some_and(|t| now.duration_since(t).is_ok_and(|age| age >= grace))
        };
        let mut found = Vec::new();
        // Leases, and the writers they name (still alive).
        let mut named: Vec<String> = Vec::new();
        for dir in subdirs(&self.path().join(".locks")) {
            for path in files(&dir) {
                let name = file_name(&path);
                if name.contains(".lease.stale.") {
                    found.push(leftover(path, LeftoverKind::StaleLease));
                    continue;
                }
                if !name.ends_with(".lease") {
                    continue;
                }
                let holder =
                    LeaseHolder::parse(&std::fs::read_to_string(&path).unwrap_or_default());
                let stale = holder.as_ref().is_some_and(LeaseHolder::is_gone) || old(&path);
                match holder {
                    Some(holder) if !stale => named.push(holder.unique),
                    _ if stale => found.push(leftover(path, LeftoverKind::StaleLease)),
                    _ => {}
                }
            }
        }
        for repo in subdirs(self.path()) {
            for path in files(&repo.join("blobs")) {
                let name = file_name(&path);
                let Some(rest) =
                    name.strip_suffix(".incomplete").or(name.strip_suffix(".progress"))
                else {
                    continue;
                };
                let Some((_, unique)) = rest.split_once('.') else { continue };
                if named.iter().any(|u| u == unique) {
                    continue;
                }
                let data = path.with_file_name(format!("{rest}.incomplete"));
                let record = path.with_file_name(format!("{rest}.progress"));
                let dead = crate::blob::writer_is_dead(unique);
                if dead || (old(&data) || !data.exists()) && (old(&record) || !record.exists()) {
                    found.push(leftover(path, LeftoverKind::Partial));
                }
            }
        }
        found.sort_by(|a, b| a.path.cmp(&b.path));
        found
    }
}

impl Leftover {
    /// Deletes it (already gone counts as done).
    pub fn remove(&self) -> Result<(), crate::Error> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(crate::Error::Io { path: self.path.clone(), cause: e })
            }
            _ => Ok(()),
        }
    }
}

fn leftover(path: PathBuf, kind: LeftoverKind) -> Leftover {
    let size = std::fs::symlink_metadata(&path).map(|m| m.len()).unwrap_or(0);
    Leftover { path, size, kind }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn entries(dir: &Path) -> Vec<(PathBuf, std::fs::FileType)> {
    let Ok(read) = std::fs::read_dir(dir) else { return Vec::new() };
    read.filter_map(Result::ok).filter_map(|e| Some((e.path(), e.file_type().ok()?))).collect()
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    entries(dir).into_iter().filter(|(_, t)| t.is_dir()).map(|(p, _)| p).collect()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    entries(dir).into_iter().filter(|(_, t)| t.is_file()).map(|(p, _)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(path: &Path, secs: u64) {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(secs)).unwrap();
    }

    #[test]
    fn dead_and_old_writers_are_leftovers_live_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(dir.path().to_path_buf());
        let blobs = dir.path().join("models--a--b").join("blobs");
        let locks = dir.path().join(".locks").join("models--a--b");
        std::fs::create_dir_all(&blobs).unwrap();
        std::fs::create_dir_all(&locks).unwrap();
        let tag = crate::fsutil::host_tag();
        let etag = "a".repeat(64);
        // A dead writer of this host (pid 2^22+1 is beyond the default pid_max).
        let dead = format!("4194305-00000000-0-{tag}");
        // A writer of another node, renewing its lease; one of another node, silent for long;
        // the Python library's, fresh and old.
        let live = "12-00000000-0-0badf00d";
        let silent = "13-00000000-0-0badf00d";
        for unique in [dead.as_str(), live, silent, "1a2b3c4d", "99999999"] {
            std::fs::write(blobs.join(format!("{etag}.{unique}.incomplete")), b"x").unwrap();
        }
        std::fs::write(blobs.join(format!("{etag}.{dead}.progress")), b"0-1").unwrap();
        std::fs::write(blobs.join(etag.as_str()), b"done").unwrap();
        for unique in [silent, "99999999"] {
            age(&blobs.join(format!("{etag}.{unique}.incomplete")), 7200);
        }
        let lease = |unique: &str| format!("host=n\npid=1\nstarted=1\nwriter={unique}\n");
        std::fs::write(locks.join(format!("{etag}.lease")), lease(live)).unwrap();
        std::fs::write(locks.join(format!("{}.lease", "b".repeat(64))), lease(silent)).unwrap();
        age(&locks.join(format!("{}.lease", "b".repeat(64))), 7200);
        std::fs::write(locks.join(format!("{etag}.lock")), b"").unwrap();

        let found: Vec<(String, LeftoverKind)> = cache
            .leftovers(Duration::from_secs(3600))
            .into_iter()
            .map(|l| (file_name(&l.path), l.kind))
            .collect();
        let expected = vec![
            (format!("{etag}.99999999.incomplete"), LeftoverKind::Partial),
            (format!("{etag}.{dead}.incomplete"), LeftoverKind::Partial),
            (format!("{etag}.{dead}.progress"), LeftoverKind::Partial),
            (format!("{etag}.{silent}.incomplete"), LeftoverKind::Partial),
            (format!("{}.lease", "b".repeat(64)), LeftoverKind::StaleLease),
        ];
        let mut found = found;
        found.sort();
        let mut expected = expected;
        expected.sort();
        assert_eq!(found, expected);
    }
}
