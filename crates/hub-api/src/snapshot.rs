//! `snapshot_download`: every file of a repo at a revision (or those the patterns keep), with
//! bounded parallelism across files, into the cache or a `local_dir`
//! (`docs/protocol/download.md#snapshot-download`).
//! Works offline from a cached snapshot.

use std::path::PathBuf;
use std::sync::Arc;

use std::collections::BTreeMap;
use std::path::Path;

use hub_cache::{CommitHash, TreeFile};
use hub_url::{Repo, Revision};

use crate::InfoOptions;
use crate::client::HubClient;
use crate::download::{DownloadOptions, not_cached};
use crate::patterns::Patterns;
use crate::repo_info::RepoInfo;
use crate::{Error, HubError};

/// What [`HubClient::snapshot_download`] fetches, and how many files at once.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotOptions {
    /// Only files matching one of these (Python `fnmatch` rules; `*` crosses `/`).
    pub allow_patterns: Vec<String>,
    /// Never files matching one of these.
    pub ignore_patterns: Vec<String>,
    /// Files downloaded at once.
    pub max_workers: usize,
}

impl Default for SnapshotOptions {
    /// Every file, 8 at once.
    fn default() -> SnapshotOptions {
        SnapshotOptions { allow_patterns: Vec::new(), ignore_patterns: Vec::new(), max_workers: 8 }
    }
}

setters!(SnapshotOptions {
    /// Only the files matching one of these patterns.
    with_allow_patterns(allow_patterns: impl IntoIterator<Item = impl Into<String>>) =>
        allow_patterns.into_iter().map(Into::into).collect();
    /// Never the files matching one of these patterns.
    with_ignore_patterns(ignore_patterns: impl IntoIterator<Item = impl Into<String>>) =>
        ignore_patterns.into_iter().map(Into::into).collect();
    /// This many files at once.
    with_max_workers(max_workers: usize);
});

/// What [`HubClient::snapshot_download_detailed`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SnapshotDownload {
    /// The snapshot folder in the cache (`snapshots/<commit>`), or the local dir.
    pub folder: PathBuf,
    /// The repo's files that the patterns kept, as the Hub listed them: each is in `folder`.
    /// Empty when no file matched (then nothing was downloaded); `None` when the Hub could
    /// not be asked and a cached snapshot was used instead.
    pub files: Option<Vec<String>>,
}

impl HubClient {
    /// Downloads a repo at `options.revision` and returns its snapshot folder in the cache
    /// (`snapshots/<commit>`), or `options.local_dir`. Files already cached cost no request.
    /// See [`HubClient::snapshot_download_detailed`] to know which files the patterns kept.
    ///
    /// The ref, the tree listing and the snapshot folder are written once every file is there:
    /// a download that fails (a gated repo, say) leaves no folder made for nothing.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use hub_api::{DownloadOptions, HubClient, SnapshotOptions};
    ///
    /// let client = HubClient::from_env()?;
    /// let only_json = SnapshotOptions::default().with_allow_patterns(["*.json"]);
    /// let folder = client
    ///     .snapshot_download(&"acme/tiny-model".parse()?, &DownloadOptions::from_env()?, &only_json)
    ///     .await?;
    /// println!("{}", folder.display());
    /// # Ok(()) }
    /// ```
    pub async fn snapshot_download(
        &self,
        repo: &Repo,
        options: &DownloadOptions,
        snapshot: &SnapshotOptions,
    ) -> Result<PathBuf, Error> {
        Ok(self.snapshot_download_detailed(repo, options, snapshot).await?.folder)
    }

    /// As [`HubClient::snapshot_download`], and says which files the patterns kept (none
    /// is worth a warning: then nothing was downloaded).
    pub async fn snapshot_download_detailed(
        &self,
        repo: &Repo,
        options: &DownloadOptions,
        snapshot: &SnapshotOptions,
    ) -> Result<SnapshotDownload, Error> {
        options.check()?;
        let patterns = Patterns::new(&snapshot.allow_patterns, &snapshot.ignore_patterns);
        let revision = &options.revision;
        let cache = options.cache.repo(repo);
        let info = if options.local_files_only {
            Err(Error::LocalFilesOnly)
        } else {
            self.repo_info(
                repo,
                &InfoOptions::default().with_revision(revision.clone()).with_files_metadata(true),
            )
            .await
        };
        let info = match info {
            Ok(info) => info,
            Err(e @ Error::Hub(HubError::RevisionNotFound { .. })) => return Err(e),
            Err(error) => {
                let what = || format!("{repo} at {revision}");
                if options.force_download {
                    // Nothing cached may be used.
                } else if let Some(dir) = &options.local_dir {
                    let has_files = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
                    if has_files {
                        if let Ok(commit) = CommitHash::new(revision.as_str()) {
                            let trees = dir.join(".cache").join("huggingface");
                            check_complete(&trees, &commit, dir, &patterns, what())?;
                        }
                        tracing::warn!(
                            "the Hub could not be asked ({error}); using {}",
                            dir.display()
                        );
                        return Ok(SnapshotDownload { folder: dir.clone(), files: None });
                    }
                } else if let Some(commit) = cache.resolve_revision(revision)?
                    && cache.snapshot_path(&commit).is_dir()
                {
                    let folder = cache.snapshot_path(&commit);
                    check_complete(cache.path(), &commit, &folder, &patterns, what())?;
                    tracing::debug!("using the cached snapshot: {error}");
                    return Ok(SnapshotDownload { folder, files: None });
                }
                return Err(not_cached(error, what()));
            }
        };
        let url = self.endpoint().api_repo_url(repo, Some(revision));
        let sha = info.sha.as_deref().ok_or_else(|| Error::Protocol {
            url: url.clone(),
            reason: "the repo info has no commit (sha)".to_owned(),
        })?;
        let commit = CommitHash::new(sha)?;
        let files: Vec<String> = info
            .siblings
            .iter()
            .map(|s| s.rfilename.clone())
            .filter(|f| patterns.keeps(f))
            .collect();
        if files.is_empty() && !info.siblings.is_empty() {
            tracing::warn!("no file of {repo} matches the patterns");
        }
        let pinned = Revision::new(commit.as_str()).map_err(hub_url::Error::from)?;
        let mut per_file = options.clone().with_revision(pinned);
        per_file.subfolder = None;
        let per_file = Arc::new(per_file);
        let permits = Arc::new(tokio::sync::Semaphore::new(snapshot.max_workers.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for file in &files {
            let (client, repo, opts, permits) =
                (self.clone(), repo.clone(), Arc::clone(&per_file), Arc::clone(&permits));
            let file = file.clone();
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                client.hf_hub_download(&repo, &file, &opts).await
            });
        }
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            let outcome = match joined {
                Ok(outcome) => outcome,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                // Aborted after the first error, which is kept.
                Err(_) if first_error.is_some() => continue,
                Err(_) => Err(Error::RuntimeGone),
            };
            if let Err(e) = outcome
                && first_error.is_none()
            {
                tasks.abort_all();
                first_error = Some(e);
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        // Every file is there: now the ref, the listing and the folder (empty when no file
        // matched), and not before, so that a failure leaves nothing made for nothing.
        let (folder, tree_folder) = match &options.local_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|cause| hub_cache::Error::Io { path: dir.clone(), cause })?;
                (dir.clone(), dir.join(".cache").join("huggingface"))
            }
            None => {
                let folder = cache.create_snapshot(&commit)?;
                options.cache.ensure_tag()?;
                cache.write_ref(revision, &commit)?;
                (folder, cache.path().to_path_buf())
            }
        };
        if let Some(listing) = tree_listing(&info) {
            // Best effort, as in Python: the listing only helps a later offline run.
            if let Err(e) = hub_cache::write_tree(&tree_folder, &commit, &listing) {
                tracing::debug!("cannot cache the tree listing: {e}");
            }
        }
        Ok(SnapshotDownload { folder, files: Some(files) })
    }
}

/// The tree listing of a repo info with file metadata; `None` when a file lacks its size or
/// blob id (then nothing is cached).
fn tree_listing(info: &RepoInfo) -> Option<BTreeMap<String, TreeFile>> {
    info.siblings
        .iter()
        .map(|s| {
            let file = TreeFile {
                size: s.size?,
                blob_id: s.blob_id.clone()?,
                lfs_sha256: s.lfs.as_ref().map(|l| l.sha256.clone()),
                lfs_size: s.lfs.as_ref().map(|l| l.size),
            };
            Some((s.rfilename.clone(), file))
        })
        .collect()
}

/// Offline: when the commit's tree listing is cached, every file it lists (that the patterns
/// keep) must be in `folder`; without a listing the folder cannot be checked and is trusted.
fn check_complete(
    tree_folder: &Path,
    commit: &CommitHash,
    folder: &Path,
    patterns: &Patterns,
    what: String,
) -> Result<(), Error> {
    let Some(listing) = hub_cache::read_tree(tree_folder, commit) else { return Ok(()) };
    let missing: Vec<&String> = listing
        .keys()
        .filter(|path| patterns.keeps(path))
        .filter(|path| !path.split('/').fold(folder.to_path_buf(), |p, s| p.join(s)).is_file())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut sample: Vec<String> = missing.iter().take(3).map(|s| (*s).clone()).collect();
    if missing.len() > 3 {
        sample.push(format!("… ({} more)", missing.len() - 3));
    }
    Err(Error::IncompleteSnapshot { what, missing: missing.len(), sample: sample.join(", ") })
}
