//! Scanning the cache (what is there, how big, what is broken) and deleting revisions or repos,
//! as the Python library's `scan_cache_dir` and `delete_revisions`
//! (`docs/protocol/cache.md#scan-and-delete`).
//!
//! Repos are scanned in parallel (a few threads of `std::thread::scope`); the result is the
//! same as a scan on one thread. Sizes count each file once by its (device, inode): blobs
//! hard-linked across repos, and the Python library's shared blob store
//! (`<cache>/blobs/<xx>/<xet_hash>`, which per-repo blobs are symlinks into), count once in the
//! cache's total; a repo's size counts each of its own files once.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use hub_url::{Repo, RepoId, RepoType};

use crate::Error;
use crate::fsutil::io_err;
use crate::location::CacheDir;
use crate::shared;

/// What the cache holds.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CacheInfo {
    /// The cache folder.
    pub cache_dir: PathBuf,
    /// The repos, sorted by type and id.
    pub repos: Vec<CachedRepo>,
    /// Bytes on disk: each file counted once (by device and inode), the shared store's
    /// payloads included, even those no repo uses any more (as the Python library counts).
    pub size_on_disk: u64,
    /// Partial downloads (`blobs/*.incomplete`).
    pub incomplete_files: Vec<PathBuf>,
    /// Folders that could not be read as repos, and why.
    pub warnings: Vec<String>,
}

/// One cached repository.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CachedRepo {
    /// Its type and id.
    pub repo: Repo,
    /// `<cache>/models--org--name`.
    pub path: PathBuf,
    /// Bytes of the files its snapshots point to, each counted once (by device and inode).
    pub size_on_disk: u64,
    /// How many unique blobs (by path, as the Python library counts).
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
#[non_exhaustive]
pub struct CachedRevision {
    /// The commit hash (the snapshot folder's name).
    pub commit_hash: String,
    /// `snapshots/<commit>`.
    pub snapshot_path: PathBuf,
    /// The refs that point at it.
    pub refs: BTreeSet<String>,
    /// Its files.
    pub files: Vec<CachedFile>,
    /// Bytes of its blobs, each file counted once (by device and inode).
    pub size_on_disk: u64,
    /// Latest modification time of its blobs (of the snapshot folder when it has none), as
    /// the Python library reports it.
    pub last_modified: Option<SystemTime>,
    /// Latest access time of its blobs (of the snapshot folder when it has none).
    pub last_accessed: Option<SystemTime>,
}

/// One file of a snapshot.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CachedFile {
    /// Its path in the repo, with `/`.
    pub file_name: String,
    /// Its path in the snapshot folder.
    pub file_path: PathBuf,
    /// The blob it points to (itself when it is a copy, not a symlink).
    pub blob_path: PathBuf,
    /// The blob's size.
    pub size_on_disk: u64,
    /// The blob's (device, inode), following symlinks: two files with the same one are the
    /// same bytes on disk. `None` where the platform has no inodes.
    pub file_id: Option<(u64, u64)>,
    /// The blob's last access time.
    pub blob_last_accessed: Option<SystemTime>,
    /// The blob's last modification time.
    pub blob_last_modified: Option<SystemTime>,
}

/// What identifies a file's bytes on disk: (device, inode), or its path without inodes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum FileKey {
    Inode(u64, u64),
    Path(PathBuf),
}

impl CachedFile {
    fn key(&self) -> FileKey {
        match self.file_id {
            Some((dev, ino)) => FileKey::Inode(dev, ino),
            None => FileKey::Path(self.blob_path.clone()),
        }
    }
}

fn file_id(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// How many threads scan repos at once by default.
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(4, |n| n.get()).clamp(2, 8)
}

impl CacheDir {
    /// Scans the cache, repos in parallel. A missing cache folder is an error; a broken repo
    /// is a warning.
    pub fn scan(&self) -> Result<CacheInfo, Error> {
        self.scan_with_threads(default_threads())
    }

    /// [`CacheDir::scan`] on at most `threads` threads (1: serially). Every thread count gives
    /// the same result.
    pub fn scan_with_threads(&self, threads: usize) -> Result<CacheInfo, Error> {
        let root = self.path();
        let meta = std::fs::metadata(root)
            .map_err(|_| Error::CacheNotFound { path: root.to_path_buf() })?;
        if !meta.is_dir() {
            return Err(Error::CacheIsAFile { path: root.to_path_buf() });
        }
        let mut entries: Vec<_> = std::fs::read_dir(root)
            .map_err(io_err(root))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|path| {
                let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
                // The top-level `blobs/` is the shared store (or a stray folder): never a repo.
                !matches!(
                    name.as_ref(),
                    ".locks" | "CACHEDIR.TAG" | "blobs" | ".DS_Store" | "Thumbs.db" | "desktop.ini"
                ) && path.is_dir()
            })
            .collect();
        entries.sort();
        let results = scan_repos(&entries, threads.max(1));
        let mut info = CacheInfo {
            cache_dir: root.to_path_buf(),
            repos: Vec::new(),
            size_on_disk: 0,
            incomplete_files: Vec::new(),
            warnings: Vec::new(),
        };
        for (path, result) in entries.iter().zip(results) {
            match result {
                Ok(Some(repo)) => {
                    info.incomplete_files.extend(incomplete_files(path));
                    info.repos.push(repo);
                }
                Ok(None) => (),
                Err(warning) => info.warnings.push(warning),
            }
        }
        info.repos.sort_by(|a, b| a.repo.cmp(&b.repo));
        // Each file once: hard links across repos and the shared store's payloads (reached
        // through per-repo symlinks, or left with no repo using them) are the same bytes.
        let mut seen: BTreeMap<FileKey, u64> = BTreeMap::new();
        for file in info.repos.iter().flat_map(|r| &r.revisions).flat_map(|r| &r.files) {
            seen.entry(file.key()).or_insert(file.size_on_disk);
        }
        for payload in shared::store_payloads(root) {
            if let Ok(meta) = std::fs::metadata(&payload) {
                let key =
                    file_id(&meta).map_or(FileKey::Path(payload), |(d, i)| FileKey::Inode(d, i));
                seen.entry(key).or_insert(meta.len());
            }
        }
        info.size_on_disk = seen.values().sum();
        Ok(info)
    }
}

type RepoResult = Result<Option<CachedRepo>, String>;

/// Scans `folders` on up to `threads` threads, each taking the next folder not yet taken;
/// the results are in the order of `folders`.
fn scan_repos(folders: &[PathBuf], threads: usize) -> Vec<RepoResult> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let scan_one = |path: &PathBuf| {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        scan_repo(path, &name)
    };
    if threads <= 1 || folders.len() <= 1 {
        return folders.iter().map(scan_one).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<RepoResult>>> = Mutex::new(vec![None; folders.len()]);
    std::thread::scope(|scope| {
        for _ in 0..threads.min(folders.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = folders.get(i) else { break };
                    let result = scan_one(path);
                    if let Ok(mut results) = results.lock() {
                        results[i] = Some(result);
                    }
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    results
        .into_iter()
        .zip(folders)
        .map(|(r, path)| {
            r.unwrap_or_else(|| Err(format!("{}: could not be scanned", path.display())))
        })
        .collect()
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
            // The first hop: a repo's `blobs/<etag>` may itself link into the shared store,
            // and deleting must unlink the repo's link, not the shared payload.
            let blob_path = normalize(&blob_path);
            let file_name = slash_path(&snapshot, &file_path);
            files.push(CachedFile {
                file_name,
                file_path,
                blob_path,
                size_on_disk: meta.len(),
                file_id: file_id(&meta),
                blob_last_accessed: meta.accessed().ok(),
                blob_last_modified: meta.modified().ok(),
            });
        }
        files.sort_by(|a, b| a.file_name.cmp(&b.file_name));
        let folder_meta = std::fs::metadata(&snapshot).ok();
        let (last_modified, last_accessed) = if files.is_empty() {
            (
                folder_meta.as_ref().and_then(|m| m.modified().ok()),
                folder_meta.as_ref().and_then(|m| m.accessed().ok()),
            )
        } else {
            (
                files.iter().filter_map(|f| f.blob_last_modified).max(),
                files.iter().filter_map(|f| f.blob_last_accessed).max(),
            )
        };
        revisions.push(CachedRevision {
            refs: refs.iter().filter(|(_, c)| **c == commit).map(|(r, _)| r.clone()).collect(),
            last_modified,
            last_accessed,
            size_on_disk: unique_size(&files),
            commit_hash: commit,
            snapshot_path: snapshot,
            files,
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
    let all_files: Vec<&CachedFile> = revisions.iter().flat_map(|r| &r.files).collect();
    let blob_paths: BTreeSet<&Path> = all_files.iter().map(|f| f.blob_path.as_path()).collect();
    let (last_accessed, last_modified) = if all_files.is_empty() {
        let meta = std::fs::metadata(path).ok();
        (
            meta.as_ref().and_then(|m| m.accessed().ok()),
            meta.as_ref().and_then(|m| m.modified().ok()),
        )
    } else {
        (
            all_files.iter().filter_map(|f| f.blob_last_accessed).max(),
            all_files.iter().filter_map(|f| f.blob_last_modified).max(),
        )
    };
    Ok(Some(CachedRepo {
        repo: Repo::new(repo_type, repo_id),
        path: path.to_path_buf(),
        size_on_disk: unique_size(all_files.iter().copied()),
        nb_files: blob_paths.len(),
        revisions,
        refs,
        last_accessed,
        last_modified,
    }))
}

/// The bytes of `files`, each file on disk once.
fn unique_size<'a>(files: impl IntoIterator<Item = &'a CachedFile>) -> u64 {
    let mut seen = HashSet::new();
    files.into_iter().filter(|f| seen.insert(f.key())).map(|f| f.size_on_disk).sum()
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

use crate::shared::normalize;

/// What deleting some revisions will remove, computed before anything is removed.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
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
    /// Payloads of the shared blob store that links being deleted point to: after the
    /// deletion, each one's manifest is rewritten with the links left, and the payload goes
    /// when none is (as the Python library sweeps them).
    pub shared: Vec<PathBuf>,
    /// The cache folder (where the shared store is).
    pub cache_dir: PathBuf,
    /// Bytes freed: a file hard-linked elsewhere frees nothing, a shared payload frees its
    /// bytes only when every link to it goes.
    pub expected_freed_size: u64,
    /// Chosen targets that are not in the cache.
    pub unknown: Vec<String>,
    /// Commit prefixes that match more than one commit, with the commits they match: nothing is
    /// planned for them.
    pub ambiguous: Vec<(String, Vec<String>)>,
}

/// One repo a [`DeletePlan`] touches.
#[derive(Debug, Clone)]
#[non_exhaustive]
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
        let mut plan = DeletePlan { cache_dir: self.cache_dir.clone(), ..DeletePlan::default() };
        // Every blob (or symlink into the shared store) that goes.
        let mut unlinked: BTreeSet<PathBuf> = BTreeSet::new();
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
                unlinked.extend(
                    repo.revisions.iter().flat_map(|r| &r.files).map(|f| f.blob_path.clone()),
                );
                if let Ok(entries) = std::fs::read_dir(repo.path.join("blobs")) {
                    unlinked.extend(entries.filter_map(Result::ok).map(|e| normalize(&e.path())));
                }
                continue;
            }
            let (deleted, kept): (Vec<_>, Vec<_>) =
                repo.revisions.iter().enumerate().partition(|(j, _)| revision_indices.contains(j));
            let kept_blobs: HashSet<&Path> = kept
                .iter()
                .flat_map(|(_, r)| r.files.iter().map(|f| f.blob_path.as_path()))
                .collect();
            let mut freed: BTreeSet<&Path> = BTreeSet::new();
            for (_, rev) in deleted {
                plan.snapshots.push(rev.snapshot_path.clone());
                for name in &rev.refs {
                    let mut ref_path = repo.path.join("refs");
                    ref_path.extend(name.split('/'));
                    plan.refs.push(ref_path);
                }
                for file in rev.files.iter().filter(|f| !kept_blobs.contains(f.blob_path.as_path()))
                {
                    freed.insert(&file.blob_path);
                }
            }
            unlinked.extend(freed.iter().map(|p| p.to_path_buf()));
            plan.blobs.extend(freed.iter().map(|p| p.to_path_buf()));
        }
        let (freed, shared) = freed_bytes(&self.cache_dir, &unlinked);
        plan.expected_freed_size = freed;
        plan.shared = shared;
        plan
    }
}

/// The bytes freed by unlinking `unlinked`, and the shared store payloads they link to.
/// A file counts when all its hard links are among them; a shared payload when every valid
/// reference of its manifest is.
fn freed_bytes(cache: &Path, unlinked: &BTreeSet<PathBuf>) -> (u64, Vec<PathBuf>) {
    let store = shared::is_store(cache);
    let mut shared_paths: BTreeSet<PathBuf> = BTreeSet::new();
    // (device, inode) → (size, links on disk, links that go).
    let mut by_inode: BTreeMap<FileKey, (u64, u64, u64)> = BTreeMap::new();
    for blob in unlinked {
        if store && let Some(target) = shared::store_target(cache, blob) {
            shared_paths.insert(target);
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(blob) else { continue };
        if !meta.is_file() {
            continue;
        }
        #[cfg(unix)]
        let links = std::os::unix::fs::MetadataExt::nlink(&meta);
        #[cfg(not(unix))]
        let links = 1;
        let key = file_id(&meta).map_or(FileKey::Path(blob.clone()), |(d, i)| FileKey::Inode(d, i));
        by_inode.entry(key).or_insert((meta.len(), links, 0)).2 += 1;
    }
    let unlinked_list: Vec<PathBuf> = unlinked.iter().cloned().collect();
    let mut freed: u64 =
        by_inode.values().filter(|(_, links, going)| going >= links).map(|(size, _, _)| size).sum();
    for target in &shared_paths {
        freed += shared::freed_if_deleted(cache, target, &unlinked_list);
    }
    (freed, shared_paths.into_iter().collect())
}

impl CacheInfo {
    /// The revisions not accessed for `older_than` (their blobs' latest access time), by
    /// repo and commit: what `hub-cli cache prune --older-than` deletes.
    pub fn revisions_not_accessed_for(
        &self,
        older_than: std::time::Duration,
        now: SystemTime,
    ) -> Vec<(Repo, String)> {
        self.repos
            .iter()
            .flat_map(|repo| repo.revisions.iter().map(move |rev| (repo, rev)))
            .filter(|(_, rev)| {
                rev.last_accessed
                    .is_some_and(|t| now.duration_since(t).is_ok_and(|age| age > older_than))
            })
            .map(|(repo, rev)| (repo.repo.clone(), rev.commit_hash.clone()))
            .collect()
    }
}

impl DeletePlan {
    /// Deletes, in the order that keeps the cache valid at every step: repos, snapshots, refs,
    /// blobs, then the shared store's payloads no link uses any more (so no ref points at a missing snapshot, no symlink at a missing blob).
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
        // The links are gone: each shared payload keeps the links left in its manifest, or
        // goes with it when none is left.
        for payload in &self.shared {
            shared::sweep(&self.cache_dir, payload)?;
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

#[cfg(test)]
#[cfg(unix)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn link(repo: &Path, commit: &str, file: &str, etag: &str) {
        let pointer = repo.join("snapshots").join(commit).join(file);
        std::fs::create_dir_all(pointer.parent().unwrap()).unwrap();
        let depth = file.split('/').count() - 1;
        std::os::unix::fs::symlink(crate::fsutil::relative_blob_target(depth, etag), pointer)
            .unwrap();
    }

    /// 40 repos, each with two revisions sharing a blob; every fifth hard-links its blob to the
    /// first repo's; one broken repo.
    fn many_repos(root: &Path) {
        let first_blob = root.join("models--org--m0/blobs").join("a".repeat(40));
        for i in 0..40 {
            let repo = root.join(format!("models--org--m{i}"));
            std::fs::create_dir_all(repo.join("blobs")).unwrap();
            let shared = repo.join("blobs").join("a".repeat(40));
            if i % 5 == 0 && i > 0 {
                std::fs::hard_link(&first_blob, &shared).unwrap();
            } else {
                std::fs::write(&shared, vec![b'x'; 100 + i]).unwrap();
            }
            std::fs::write(repo.join("blobs").join("b".repeat(40)), vec![b'y'; 10]).unwrap();
            link(&repo, &"1".repeat(40), "README.md", &"a".repeat(40));
            link(&repo, &"2".repeat(40), "README.md", &"a".repeat(40));
            link(&repo, &"2".repeat(40), "sub/x.bin", &"b".repeat(40));
            std::fs::create_dir_all(repo.join("refs")).unwrap();
            std::fs::write(repo.join("refs/main"), "2".repeat(40)).unwrap();
        }
        std::fs::create_dir_all(root.join("models--broken/refs")).unwrap();
    }

    #[test]
    fn a_parallel_scan_finds_what_a_serial_one_finds() {
        let dir = tempfile::tempdir().unwrap();
        many_repos(dir.path());
        let cache = CacheDir::new(dir.path().to_path_buf());
        let serial = cache.scan_with_threads(1).unwrap();
        for threads in [2, 3, 8, 64] {
            let parallel = cache.scan_with_threads(threads).unwrap();
            assert_eq!(format!("{parallel:?}"), format!("{serial:?}"), "{threads} threads");
        }
        assert_eq!(serial.repos.len(), 40);
        assert_eq!(serial.warnings.len(), 1, "{:?}", serial.warnings);
    }

    #[test]
    fn hard_linked_blobs_count_once_in_the_total_and_in_their_repo() {
        let dir = tempfile::tempdir().unwrap();
        many_repos(dir.path());
        let info = CacheDir::new(dir.path().to_path_buf()).scan().unwrap();
        // m0 is 100 + 10 bytes; m5, m10, … hard-link m0's 100 bytes: only their 10 count.
        let expected: u64 =
            (0..40u64).map(|i| if i % 5 == 0 && i > 0 { 10 } else { 110 + i }).sum();
        assert_eq!(info.size_on_disk, expected);
        let m5 = info.repos.iter().find(|r| r.path.ends_with("models--org--m5")).unwrap();
        assert_eq!(m5.size_on_disk, 110, "a repo counts each of its own files");
        // Deleting m5 frees only its own 10 bytes: m0 still holds the hard-linked 100.
        let plan = info.plan_delete(&[DeleteTarget::Repo(m5.repo.clone())]);
        assert_eq!(plan.expected_freed_size, 10);
        let m7 = info.repos.iter().find(|r| r.path.ends_with("models--org--m7")).unwrap();
        let plan = info.plan_delete(&[DeleteTarget::Repo(m7.repo.clone())]);
        assert_eq!(plan.expected_freed_size, 117);
    }
}
