//! `hub-cli scan-cache`: what the local cache holds, as the Python `huggingface-cli scan-cache`
//! shows it (a table of repos, or of revisions with `-v`), or as JSON with `--json`.

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hub_cache::{CacheDir, CacheInfo, CachedRepo, CachedRevision};
use serde::Serialize;

use crate::format;

/// Where the cache is: `--dir`, else the environment (`HF_HUB_CACHE`, `HF_HOME`, …).
pub(crate) fn cache_dir(dir: Option<PathBuf>) -> anyhow::Result<CacheDir> {
    Ok(match dir {
        Some(dir) => CacheDir::new(dir),
        None => CacheDir::from_env()?,
    })
}

pub(crate) fn run(dir: Option<PathBuf>, verbose: u8, json: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let info = cache_dir(dir)?.scan()?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&JsonCache::from(&info))?);
        return Ok(());
    }
    let now = SystemTime::now();
    if verbose == 0 {
        outln!("{}", repo_table(&info, now));
    } else {
        outln!("{}", revision_table(&info, now));
    }
    summary(&info, started, verbose);
    Ok(())
}

/// The lines under the table: time, totals, incomplete downloads, warnings.
pub(crate) fn summary(info: &CacheInfo, started: Instant, verbose: u8) {
    outln!(
        "\nDone in {:.1}s. Scanned {} repo(s) for a total of {}.",
        started.elapsed().as_secs_f64(),
        info.repos.len(),
        format::size(info.size_on_disk)
    );
    if !info.incomplete_files.is_empty() {
        outln!("Found {} incomplete download(s).", info.incomplete_files.len());
    }
    if !info.warnings.is_empty() {
        if verbose >= 3 {
            eprintln!("Got {} warning(s) while scanning:", info.warnings.len());
            for warning in &info.warnings {
                eprintln!("warning: {warning}");
            }
        } else {
            outln!(
                "Got {} warning(s) while scanning. Use -vvv to print details.",
                info.warnings.len()
            );
        }
    }
}

fn repo_refs(repo: &CachedRepo) -> String {
    repo.refs.keys().cloned().collect::<Vec<_>>().join(", ")
}

pub(crate) fn repo_table(info: &CacheInfo, now: SystemTime) -> String {
    let rows: Vec<Vec<String>> = info
        .repos
        .iter()
        .map(|repo| {
            vec![
                repo.repo.id().to_string(),
                repo.repo.repo_type().to_string(),
                format::size(repo.size_on_disk),
                repo.nb_files.to_string(),
                format::time_since(repo.last_accessed, now),
                format::time_since(repo.last_modified, now),
                repo_refs(repo),
                repo.path.display().to_string(),
            ]
        })
        .collect();
    format::table(
        &[
            "REPO ID",
            "REPO TYPE",
            "SIZE ON DISK",
            "NB FILES",
            "LAST_ACCESSED",
            "LAST_MODIFIED",
            "REFS",
            "LOCAL PATH",
        ],
        &rows,
        &[2, 3],
    )
}

pub(crate) fn revision_table(info: &CacheInfo, now: SystemTime) -> String {
    let rows: Vec<Vec<String>> = info
        .repos
        .iter()
        .flat_map(|repo| {
            repo.revisions.iter().map(move |rev| {
                vec![
                    repo.repo.id().to_string(),
                    repo.repo.repo_type().to_string(),
                    rev.commit_hash.clone(),
                    format::size(rev.size_on_disk),
                    rev.files.len().to_string(),
                    format::time_since(rev.last_modified, now),
                    rev.refs.iter().cloned().collect::<Vec<_>>().join(", "),
                    rev.snapshot_path.display().to_string(),
                ]
            })
        })
        .collect();
    format::table(
        &[
            "REPO ID",
            "REPO TYPE",
            "REVISION",
            "SIZE ON DISK",
            "NB FILES",
            "LAST_MODIFIED",
            "REFS",
            "LOCAL PATH",
        ],
        &rows,
        &[3, 4],
    )
}

/// The `--json` document. Field names are part of the interface: add, never rename.
#[derive(Debug, Serialize)]
struct JsonCache {
    cache_dir: String,
    size_on_disk: u64,
    repos: Vec<JsonRepo>,
    incomplete_files: Vec<String>,
    warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct JsonRepo {
    repo_id: String,
    repo_type: String,
    path: String,
    size_on_disk: u64,
    nb_files: usize,
    /// Seconds since the Unix epoch.
    last_accessed: Option<u64>,
    /// Seconds since the Unix epoch.
    last_modified: Option<u64>,
    /// Ref name → commit hash.
    refs: std::collections::BTreeMap<String, String>,
    revisions: Vec<JsonRevision>,
}

#[derive(Debug, Serialize)]
pub(crate) struct JsonRevision {
    commit_hash: String,
    path: String,
    refs: Vec<String>,
    size_on_disk: u64,
    nb_files: usize,
    last_modified: Option<u64>,
    files: Vec<JsonFile>,
}

#[derive(Debug, Serialize)]
struct JsonFile {
    file_name: String,
    blob_path: String,
    size_on_disk: u64,
}

fn epoch_secs(time: Option<SystemTime>) -> Option<u64> {
    time.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs())
}

impl From<&CacheInfo> for JsonCache {
    fn from(info: &CacheInfo) -> JsonCache {
        JsonCache {
            cache_dir: info.cache_dir.display().to_string(),
            size_on_disk: info.size_on_disk,
            repos: info.repos.iter().map(JsonRepo::from).collect(),
            incomplete_files: info
                .incomplete_files
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            warnings: info.warnings.clone(),
        }
    }
}

impl From<&CachedRepo> for JsonRepo {
    fn from(repo: &CachedRepo) -> JsonRepo {
        JsonRepo {
            repo_id: repo.repo.id().to_string(),
            repo_type: repo.repo.repo_type().to_string(),
            path: repo.path.display().to_string(),
            size_on_disk: repo.size_on_disk,
            nb_files: repo.nb_files,
            last_accessed: epoch_secs(repo.last_accessed),
            last_modified: epoch_secs(repo.last_modified),
            refs: repo.refs.clone(),
            revisions: repo.revisions.iter().map(JsonRevision::from).collect(),
        }
    }
}

impl From<&CachedRevision> for JsonRevision {
    fn from(rev: &CachedRevision) -> JsonRevision {
        JsonRevision {
            commit_hash: rev.commit_hash.clone(),
            path: rev.snapshot_path.display().to_string(),
            refs: rev.refs.iter().cloned().collect(),
            size_on_disk: rev.size_on_disk,
            nb_files: rev.files.len(),
            last_modified: epoch_secs(rev.last_modified),
            files: rev
                .files
                .iter()
                .map(|f| JsonFile {
                    file_name: f.file_name.clone(),
                    blob_path: f.blob_path.display().to_string(),
                    size_on_disk: f.size_on_disk,
                })
                .collect(),
        }
    }
}
