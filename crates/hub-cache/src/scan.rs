//! Scanning the cache (what is there, how big, what is broken) and deleting revisions or repos,
//! as the Python library's `scan_cache_dir` and `delete_revisions` (`hub-protocol.md` §4.8).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use hub_url::{Repo, RepoId, RepoType};

use crate::Error;
use crate::fsutil::io_err;
use crate::location::CacheDir;

/// What the cache holds.
#[derive(Debug, Clone)]
pub struct CacheInfo {
    /// The cache folder.
    pub cache_dir: PathBuf,
    /// The repos, sorted by type and id.
    pub repos: Vec<CachedRepo>,
    /// Bytes on disk of all repos (unique blobs).
    pub size_on_disk: u64,
    /// Partial downloads (`blobs/*.incomplete`).
    pub incomplete_files: Vec<PathBuf>,
    /// Folders that could not be read as repos, and why.
    pub warnings: Vec<String>,
}

/// One cached repository.
#[derive(Debug, Clone)]
pub struct CachedRepo {
    /// Its type and id.
    pub repo: Repo,
    /// `<cache>/models--org--name`.
    pub path: PathBuf,
    /// Bytes of the unique blobs its snapshots point to.
    pub size_on_disk: u64,
    /// How many unique blobs.
    pub nb_files: usize,
    /// The cached revisions, sorted by commit.
    pub revisions: Vec<CachedRevision>,
    /// Ref name → commit (`main`, `refs/pr/1`, …).
    pub refs: BTreeMap<String, String>,
    /// Latest access time of its blobs.
    pub last_accessed: Option<SystemTime>,
    /// Latest modification time of its blobs.
    pub last_modified: Option<SystemTime>,
}

/// One cached snapshot.
#[derive(Debug, Clone)]
pub struct CachedRevision {
    /// The commit hash (the snapshot folder's name).
    pub commit_hash: String,
    /// `snapshots/<commit>`.
    pub snapshot_path: PathBuf,
    /// The refs that point at it.
    pub refs: BTreeSet<String>,
    /// Its files.
    pub files: Vec<CachedFile>,
    /// Bytes of its unique blobs.
    pub size_on_disk: u64,
    /// Latest modification time of the snapshot folder.
    pub last_modified: Option<SystemTime>,
}

/// One file of a snapshot.
#[derive(Debug, Clone)]
pub struct CachedFile {
    /// Its path in the repo, with `/`.
    pub file_name: String,
    /// Its path in the snapshot folder.
    pub file_path: PathBuf,
    /// The blob it points to (itself when it is a copy, not a symlink).
    pub blob_path: PathBuf,
    /// The blob's size.
    pub size_on_disk: u64,
}

impl CacheDir {
    /// Scans the cache. A missing cache folder is an error; a broken repo is a warning.
    pub fn scan(&self) -> Result<CacheInfo, Error> {
        let root = self.path();
        let meta = std::fs::metadata(root)
            .map_err(|_| Error::CacheNotFound { path: root.to_path_buf() })?;
        if !meta.is_dir() {
            return Err(Error::CacheIsAFile { path: root.to_path_buf() });
        }
        let mut info = CacheInfo {
            cache_dir: root.to_path_buf(),
            repos: Vec::new(),
            size_on_disk: 0,
            incomplete_files: Vec::new(),
            warnings: Vec::new(),
        };
        let mut entries: Vec<_> = std::fs::read_dir(root)
            .map_err(io_err(root))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            let name =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if matches!(
                name.as_str(),
                ".locks" | "CACHEDIR.TAG" | "blobs" | ".DS_Store" | "Thumbs.db" | "desktop.ini"
            ) || !path.is_dir()
            {
                continue;
            }
            match scan_repo(&path, &name) {
                Ok(Some(repo)) => {
                    info.incomplete_files.extend(incomplete_files(&path));
                    info.size_on_disk += repo.size_on_disk;
                    info.repos.push(repo);
                }
                Ok(None) => (),
                Err(warning) => info.warnings.push(warning),
            }
        }
        info.repos.sort_by(|a, b| a.repo.cmp(&b.repo));
        Ok(info)
    }
}

/// The repo a cache folder's name (`models--org--name`) stands for: `None` when the name has
/// no `--` (not a repo folder), an error for an unknown type or an invalid id. Only the plural
/// types are accepted, as the Python library's scan: the inverse of
/// [`Repo::cache_folder_name`].
pub(crate) fn repo_of_folder(name: &str) -> Option<Result<Repo, String>> {
    let (plural, id) = name.split_once("--")?;
    let Some(repo_type) = RepoType::from_plural(plural) else {
        return Some(Err(format!("unsupported repo type '{plural}'")));
    };
    Some(
        RepoId::new(&id.replace("--", "/"))
            .map(|id| Repo::new(repo_type, id))
            .map_err(|e| format!("not a repo folder: {e}")),
    )
}

/// Reads one repo folder; `Ok(None)` for folders that are not repos of this cache's layout
/// (legacy flat files, unknown types are reported as warnings).
fn scan_repo(path: &Path, name: &str) -> Result<Option<CachedRepo>, String> {
    let repo = match repo_of_folder(name) {
        None => return Ok(None),
        Some(Ok(repo)) => repo,
        Some(Err(e)) => return Err(format!("{}: {e}", path.display())),
    };
    let (repo_type, repo_id) = (repo.repo_type(), repo.id().clone());
    let snapshots_dir = path.join("snapshots");
    if !snapshots_dir.is_dir() {
        return Err(format!("{}: no snapshots/ folder", path.display()));
    }
    let refs = read_refs(&path.join("refs")).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut blobs: BTreeMap<PathBuf, (u64, Option<SystemTime>, Option<SystemTime>)> =
        BTreeMap::new();
    let mut revisions = Vec::new();
    let mut snapshot_dirs: Vec<PathBuf> = std::fs::read_dir(&snapshots_dir)
        .map_err(|e| format!("{}: {e}", snapshots_dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    snapshot_dirs.sort();
    for snapshot in snapshot_dirs {
        let commit =
            snapshot.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut files = Vec::new();
        let mut revision_blobs = HashSet::new();
        for file_path in walk_files(&snapshot) {
            let blob_path = match std::fs::read_link(&file_path) {
                Ok(target) => file_path.parent().map(|p| p.join(&target)).unwrap_or(target),
                Err(_) => file_path.clone(),
            };
            let meta = std::fs::metadata(&blob_path).map_err(|_| {
                format!(
                    "{}: blob missing (broken symlink): {}",
                    path.display(),
                    blob_path.display()
                )
            })?;
            let blob_path = normalize(&blob_path);
            blobs.entry(blob_path.clone()).or_insert((
                meta.len(),
                meta.accessed().ok(),
                meta.modified().ok(),
            ));
            revision_blobs.insert(blob_path.clone());
            let file_name = slash_path(&snapshot, &file_path);
            files.push(CachedFile { file_name, file_path, blob_path, size_on_disk: meta.len() });
        }
        files.sort_by(|a, b| a.file_name.cmp(&b.file_name));
        let size_on_disk = revision_blobs.iter().filter_map(|b| blobs.get(b)).map(|b| b.0).sum();
        revisions.push(CachedRevision {
            refs: refs.iter().filter(|(_, c)| **c == commit).map(|(r, _)| r.clone()).collect(),
            last_modified: std::fs::metadata(&snapshot).and_then(|m| m.modified()).ok(),
            commit_hash: commit,
            snapshot_path: snapshot,
            files,
            size_on_disk,
        });
    }
    for (name, commit) in &refs {
        if !revisions.iter().any(|r| &r.commit_hash == commit) {
            return Err(format!(
                "{}: ref '{name}' points to {commit}, which is not in snapshots/",
                path.display()
            ));
        }
    }
    Ok(Some(CachedRepo {
        repo: Repo::new(repo_type, repo_id),
        path: path.to_path_buf(),
        size_on_disk: blobs.values().map(|b| b.0).sum(),
        nb_files: blobs.len(),
        revisions,
        refs,
        last_accessed: blobs.values().filter_map(|b| b.1).max(),
        last_modified: blobs.values().filter_map(|b| b.2).max(),
    }))
}

/// `refs/` read recursively: `refs/refs/pr/1` is the ref `refs/pr/1`.
fn read_refs(dir: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut refs = BTreeMap::new();
    if !dir.is_dir() {
        return Ok(refs);
    }
    for file in walk_files(dir) {
        let name = slash_path(dir, &file);
        if name.ends_with(".tmp") || name.contains("/.tmp-") || name.starts_with(".tmp-") {
            continue;
        }
        let commit =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        refs.insert(name, commit.trim().to_owned());
    }
    Ok(refs)
}

/// Every file (or symlink to one) below `dir`, recursively; temp files of ours are skipped.
fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let Ok(file_type) = entry.file_type() else { continue };
            if file_type.is_dir() {
                stack.push(path);
            } else if !entry.file_name().to_string_lossy().ends_with(".tmp") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `path` relative to `base`, with `/` separators (a path in a repo, a ref name).
fn slash_path(base: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(base).unwrap_or(path);
    relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

fn incomplete_files(repo_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(repo_dir.join("blobs")) else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "incomplete"))
        .collect()
}

/// Removes `.` and `..` components lexically (the blob of `snapshots/c/a/../../blobs/x`).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => (),
            other => out.push(other),
        }
    }
    out
}

/// What deleting some revisions will remove, computed before anything is removed.
#[derive(Debug, Clone, Default)]
pub struct DeletePlan {
    /// What was chosen, repo by repo, for showing to the user.
    pub chosen: Vec<ChosenRepo>,
    /// Whole repo folders (all their revisions were chosen).
    pub repos: Vec<PathBuf>,
    /// Snapshot folders.
    pub snapshots: Vec<PathBuf>,
    /// Ref files that point at a deleted snapshot.
    pub refs: Vec<PathBuf>,
    /// Blobs no remaining snapshot points to.
    pub blobs: Vec<PathBuf>,
    /// Bytes freed.
    pub expected_freed_size: u64,
    /// Chosen targets that are not in the cache.
    pub unknown: Vec<String>,
    /// Commit prefixes that match more than one commit, with the commits they match: nothing is
    /// planned for them.
    pub ambiguous: Vec<(String, Vec<String>)>,
}

/// One repo a [`DeletePlan`] touches.
#[derive(Debug, Clone)]
pub struct ChosenRepo {
    /// The repo.
    pub repo: Repo,
    /// Whether the whole repo folder goes.
    pub whole: bool,
    /// The revisions that go: commit hash and the refs pointing at it.
    pub revisions: Vec<(String, BTreeSet<String>)>,
    /// How many revisions the repo has in all.
    pub total_revisions: usize,
}

/// What to delete: a commit hash, or a repo (all its revisions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteTarget {
    /// Revisions by commit hash, or by a prefix of at least 7 characters that names a single
    /// commit (an ambiguous prefix is reported, never expanded).
    Revision(String),
    /// A whole repository.
    Repo(Repo),
}

impl CacheInfo {
    /// Plans the deletion of `targets`. A blob is deleted only when no remaining snapshot of
    /// its repo points to it.
    pub fn plan_delete(&self, targets: &[DeleteTarget]) -> DeletePlan {
        let mut plan = DeletePlan::default();
        // Repo index → indices of its chosen revisions.
        let mut chosen: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        for target in targets {
            match target {
                DeleteTarget::Repo(repo) => match self.repos.iter().position(|r| &r.repo == repo) {
                    Some(i) => {
                        chosen.entry(i).or_default().extend(0..self.repos[i].revisions.len())
                    }
                    None => plan.unknown.push(repo.to_string()),
                },
                DeleteTarget::Revision(prefix) => {
                    let matches: Vec<(usize, usize)> = self
                        .repos
                        .iter()
                        .enumerate()
                        .flat_map(|(i, r)| {
                            r.revisions.iter().enumerate().map(move |(j, rev)| (i, j, rev))
                        })
                        .filter(|(_, _, rev)| {
                            prefix.len() >= 7 && rev.commit_hash.starts_with(prefix.as_str())
                        })
                        .map(|(i, j, _)| (i, j))
                        .collect();
                    let commits: BTreeSet<&str> = matches
                        .iter()
                        .map(|&(i, j)| self.repos[i].revisions[j].commit_hash.as_str())
                        .collect();
                    match commits.len() {
                        0 => plan.unknown.push(prefix.clone()),
                        1 => matches.into_iter().for_each(|(i, j)| {
                            chosen.entry(i).or_default().insert(j);
                        }),
                        _ => plan.ambiguous.push((
                            prefix.clone(),
                            commits.into_iter().map(str::to_owned).collect(),
                        )),
                    }
                }
            }
        }
        for (i, revision_indices) in chosen {
            let repo = &self.repos[i];
            let whole = revision_indices.len() == repo.revisions.len();
            plan.chosen.push(ChosenRepo {
                repo: repo.repo.clone(),
                whole,
                revisions: revision_indices
                    .iter()
                    .map(|&j| {
                        (repo.revisions[j].commit_hash.clone(), repo.revisions[j].refs.clone())
                    })
                    .collect(),
                total_revisions: repo.revisions.len(),
            });
            if whole {
                plan.repos.push(repo.path.clone());
                plan.expected_freed_size += repo.size_on_disk;
                continue;
            }
            let (deleted, kept): (Vec<_>, Vec<_>) =
                repo.revisions.iter().enumerate().partition(|(j, _)| revision_indices.contains(j));
            let kept_blobs: HashSet<&Path> = kept
                .iter()
                .flat_map(|(_, r)| r.files.iter().map(|f| f.blob_path.as_path()))
                .collect();
            let mut freed: BTreeMap<&Path, u64> = BTreeMap::new();
            for (_, rev) in deleted {
                plan.snapshots.push(rev.snapshot_path.clone());
                for name in &rev.refs {
                    let mut ref_path = repo.path.join("refs");
                    ref_path.extend(name.split('/'));
                    plan.refs.push(ref_path);
                }
                for file in rev.files.iter().filter(|f| !kept_blobs.contains(f.blob_path.as_path()))
                {
                    freed.insert(&file.blob_path, file.size_on_disk);
                }
            }
            plan.expected_freed_size += freed.values().sum::<u64>();
            plan.blobs.extend(freed.keys().map(|p| p.to_path_buf()));
        }
        plan
    }
}

impl DeletePlan {
    /// Deletes, in the order that keeps the cache valid at every step: repos, snapshots, refs,
    /// and blobs last (so no ref points at a missing snapshot, no symlink at a missing blob).
    pub fn execute(&self) -> Result<(), Error> {
        for repo in &self.repos {
            remove_dir(repo)?;
        }
        for snapshot in &self.snapshots {
            remove_dir(snapshot)?;
        }
        for file in self.refs.iter().chain(&self.blobs) {
            match std::fs::remove_file(file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::Io { path: file.clone(), cause: e });
                }
                _ => (),
            }
        }
        Ok(())
    }
}

fn remove_dir(dir: &Path) -> Result<(), Error> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::Io { path: dir.to_path_buf(), cause: e })
        }
        _ => Ok(()),
    }
}
