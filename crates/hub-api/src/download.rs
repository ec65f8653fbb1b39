//! `hf_hub_download`: one file of a repo into the cache (or a `local_dir`), with the flow of the
//! Python library (`docs/protocol/download.md#download-flow`):
//!
//! 1. a commit-hash revision already cached is returned with no network call;
//! 2. a `HEAD` gives the commit and the etag (redirects followed only within the endpoint);
//! 3. the file's blob already there → link it and return; a 404 → a `.no_exist` marker;
//! 4. otherwise the blob is downloaded (parallel ranges, verified) under its lock, then linked.
//!
//! When the Hub cannot be reached (offline mode, no network, a 5xx), a file cached for that
//! revision is returned instead.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hub_cache::{BlobStart, CacheDir, CacheLookup, CommitHash, LocalDir, RepoCache};
use hub_url::{Repo, RepoPath, Revision};
use sha2::{Digest, Sha256};

use crate::client::HubClient;
use crate::metadata::FileMetadata;
use crate::transfer::{self, NoProgress, Progress, TransferConfig};
use crate::{Error, HubError};

/// The variable that turns download verification off (`1`, `true`, `yes`, `on`).
pub const DISABLE_VERIFICATION_ENV: &str = hub_url::env::HF_HUB_DISABLE_DOWNLOAD_VERIFICATION;
/// The variable that sets how many connections one large file is fetched over.
pub const CONNECTIONS_ENV: &str = hub_url::env::HF_HUB_DOWNLOAD_CONNECTIONS;
/// The variable that sets the size of each range request, in bytes.
pub const CHUNK_SIZE_ENV: &str = hub_url::env::HF_HUB_DOWNLOAD_CHUNK_SIZE;

/// Where and how [`HubClient::hf_hub_download`] and [`HubClient::snapshot_download`] work.
///
/// Made with [`DownloadOptions::from_env`] (the cache of the environment, as the Python library
/// finds it) or [`DownloadOptions::new`] (a cache of your own), changed with the `with_*`
/// setters. No `Default`: a cache that ignored `HF_HUB_CACHE` would be a trap.
#[derive(Clone)]
#[non_exhaustive]
pub struct DownloadOptions {
    /// The branch, tag, commit or `refs/pr/N` (default `main`).
    pub revision: Revision,
    /// A folder inside the repo that `filename` is relative to (`hf_hub_download` only).
    pub subfolder: Option<String>,
    /// The cache.
    pub cache: CacheDir,
    /// Put plain files in this folder instead of returning cache paths
    /// (`docs/protocol/cache.md#local-dir`): re-runs skip files that did not change.
    pub local_dir: Option<PathBuf>,
    /// Download again even when cached.
    pub force_download: bool,
    /// Never use the network: the cache or an error.
    pub local_files_only: bool,
    /// Parallelism, range size and verification.
    pub transfer: TransferConfig,
    /// Where progress goes.
    pub progress: Arc<dyn Progress>,
}

impl fmt::Debug for DownloadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloadOptions")
            .field("revision", &self.revision)
            .field("subfolder", &self.subfolder)
            .field("cache", &self.cache)
            .field("local_dir", &self.local_dir)
            .field("force_download", &self.force_download)
            .field("local_files_only", &self.local_files_only)
            .field("transfer", &self.transfer)
            .finish_non_exhaustive()
    }
}

impl DownloadOptions {
    /// Downloads into `cache`, at `main`, verified, with the default parallelism.
    pub fn new(cache: CacheDir) -> DownloadOptions {
        DownloadOptions {
            revision: Revision::main(),
            subfolder: None,
            cache,
            local_dir: None,
            force_download: false,
            local_files_only: false,
            transfer: TransferConfig::default(),
            progress: Arc::new(NoProgress),
        }
    }

    /// The cache of the environment (`HF_HUB_CACHE`, `HF_HOME`… as the Python library, see
    /// [`CacheDir::from_env`]), and the transfer settings of [`TransferConfig::from_env`]
    /// (verification off when [`DISABLE_VERIFICATION_ENV`] is true; the connections per file
    /// and the range size from [`CONNECTIONS_ENV`] and [`CHUNK_SIZE_ENV`] when set).
    pub fn from_env() -> Result<DownloadOptions, Error> {
        let options = DownloadOptions::new(CacheDir::from_env()?);
        Ok(options.with_transfer(TransferConfig::from_env()?))
    }

    /// Refuses settings that contradict each other.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.force_download && self.local_files_only {
            return Err(Error::ConflictingOptions {
                first: "force_download",
                second: "local_files_only",
            });
        }
        Ok(())
    }
}

setters!(DownloadOptions {
    /// Downloads at this branch, tag, commit or `refs/pr/N`.
    with_revision(revision: Revision);
    /// The folder inside the repo that the file name is relative to (`hf_hub_download` only).
    with_subfolder(subfolder: impl Into<String>) => Some(subfolder.into());
    /// Downloads into this cache.
    with_cache(cache: CacheDir);
    /// Puts plain files in this folder instead of returning cache paths.
    with_local_dir(local_dir: impl Into<PathBuf>) => Some(local_dir.into());
    /// Downloads again even when cached.
    with_force_download(force_download: bool);
    /// Never uses the network: the cache or an error.
    with_local_files_only(local_files_only: bool);
    /// Sets the parallelism, range size and verification.
    with_transfer(transfer: TransferConfig);
    /// Sends progress there.
    with_progress(progress: Arc<dyn Progress>);
});

impl HubClient {
    /// Downloads `filename` of `repo` and returns its path in the cache (a snapshot path that
    /// links to the blob) or in `options.local_dir`.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use hub_api::{DownloadOptions, HubClient};
    ///
    /// let client = HubClient::from_env()?;
    /// let options = DownloadOptions::from_env()?.with_revision("v1.0".parse()?);
    /// let path = client.hf_hub_download(&"acme/tiny-model".parse()?, "config.json", &options).await?;
    /// println!("{}", path.display());
    /// # Ok(()) }
    /// ```
    pub async fn hf_hub_download(
        &self,
        repo: &Repo,
        filename: &str,
        options: &DownloadOptions,
    ) -> Result<PathBuf, Error> {
        let file = RepoPath::with_subfolder(options.subfolder.as_deref(), filename)
            .map_err(hub_url::Error::from)?;
        options.check()?;
        match &options.local_dir {
            Some(dir) => self.download_to_local_dir(repo, &file, options, dir).await,
            None => self.download_to_cache(repo, &file, options).await,
        }
    }

    async fn download_to_cache(
        &self,
        repo: &Repo,
        file: &RepoPath,
        options: &DownloadOptions,
    ) -> Result<PathBuf, Error> {
        let cache = options.cache.repo(repo);
        let revision = &options.revision;
        if !options.force_download && revision.is_commit() {
            let commit = CommitHash::new(revision.as_str())?;
            let pointer = cache.pointer_path(&commit, file);
            if pointer.is_file() {
                return Ok(pointer);
            }
        }
        let metadata = match self.metadata_or_fallback(repo, file, options, &cache).await? {
            Lookup::Cached(path) => return Ok(path),
            Lookup::Remote(metadata) => metadata,
        };
        let pointer = cache.pointer_path(&metadata.commit, file);
        if !options.force_download && pointer.is_file() {
            let _ = cache.write_ref(revision, &metadata.commit);
            return Ok(pointer);
        }
        cache.create_dirs()?;
        options.cache.ensure_tag()?;
        cache.write_ref(revision, &metadata.commit)?;
        let size = metadata.required_size()?;
        // A writer judged dead by another process or node (frozen past its lease) finds its
        // partial file adopted: it then waits for the new writer like any other.
        let mut tries = 0;
        loop {
            let claim = if options.force_download {
                cache.claim_blob_replacing(&metadata.etag, size)
            } else {
                cache.claim_blob(&metadata.etag, size)
            };
            let claim = claim.lease_config(options.transfer.lease);
            if let BlobStart::Write(writer) =
                claim_blob(claim, file.as_str(), &options.progress).await?
            {
                match self.fetch(repo, &metadata, writer, file, options).await {
                    Err(Error::Cache(hub_cache::Error::Adopted { path })) if tries < 3 => {
                        tries += 1;
                        tracing::info!("{} was taken over by another writer", path.display());
                        continue;
                    }
                    outcome => outcome?,
                };
            }
            return Ok(cache.link_snapshot(&metadata.commit, file, &metadata.etag)?);
        }
    }

    /// The metadata from the Hub; or, when the Hub cannot be asked, the cached file.
    async fn metadata_or_fallback(
        &self,
        repo: &Repo,
        file: &RepoPath,
        options: &DownloadOptions,
        cache: &RepoCache,
    ) -> Result<Lookup, Error> {
        let revision = &options.revision;
        let error = if options.local_files_only {
            Error::LocalFilesOnly
        } else {
            match self.file_metadata(repo, revision, file).await {
                Ok(metadata) => return Ok(Lookup::Remote(metadata)),
                Err(Error::Hub(e @ HubError::EntryNotFound { .. })) => {
                    if let HubError::EntryNotFound { commit: Some(commit), .. } = &e
                        && let Ok(commit) = CommitHash::new(commit)
                    {
                        let _ = cache.mark_missing(&commit, file);
                        let _ = cache.write_ref(revision, &commit);
                    }
                    return Err(Error::Hub(e));
                }
                Err(e @ Error::Hub(HubError::RevisionNotFound { .. })) => return Err(e),
                Err(e) => e,
            }
        };
        if !options.force_download
            && let CacheLookup::Found(path) = cache.lookup(file, revision)?
        {
            tracing::debug!("using the cached {file}: {error}");
            return Ok(Lookup::Cached(path));
        }
        Err(not_cached(error, format!("{repo}: {file} at {revision}")))
    }

    async fn fetch(
        &self,
        repo: &Repo,
        metadata: &FileMetadata,
        writer: hub_cache::BlobWriter,
        file: &RepoPath,
        options: &DownloadOptions,
    ) -> Result<PathBuf, Error> {
        let (transfer, progress) = (&options.transfer, &options.progress);
        let relocate = self.relocate(repo, metadata, file)?;
        let location = &metadata.location;
        transfer::download(
            self,
            location,
            Some(relocate),
            writer,
            transfer,
            file.as_str(),
            progress,
        )
        .await
    }

    /// Asks the Hub again where the file of `metadata` is, at its commit: for a signed URL
    /// that expired during the download. The etag must not have changed.
    fn relocate(
        &self,
        repo: &Repo,
        metadata: &FileMetadata,
        file: &RepoPath,
    ) -> Result<transfer::Relocate, Error> {
        let revision = Revision::new(metadata.commit.as_str()).map_err(hub_url::Error::from)?;
        let (client, repo, file) = (self.clone(), repo.clone(), file.clone());
        let etag = metadata.etag.clone();
        Ok(Box::new(move || {
            let (client, repo, file, revision, etag) =
                (client.clone(), repo.clone(), file.clone(), revision.clone(), etag.clone());
            Box::pin(async move {
                let fresh = client.file_metadata(&repo, &revision, &file).await?;
                if fresh.etag != etag {
                    return Err(Error::Protocol {
                        url: fresh.location.clone(),
                        reason: format!(
                            "{file} changed on the Hub during the download (etag {etag}, now {}); run it again",
                            fresh.etag
                        ),
                    });
                }
                Ok(fresh.location)
            })
        }))
    }

    async fn download_to_local_dir(
        &self,
        repo: &Repo,
        file: &RepoPath,
        options: &DownloadOptions,
        dir: &Path,
    ) -> Result<PathBuf, Error> {
        let local = LocalDir::new(dir.to_path_buf());
        let path = local.file_path(file);
        let recorded = local.read_metadata(file);
        let revision = &options.revision;
        if !options.force_download
            && revision.is_commit()
            && path.is_file()
            && recorded.as_ref().is_some_and(|m| m.commit.as_str() == revision.as_str())
        {
            return Ok(path);
        }
        let cache = options.cache.repo(repo);
        let metadata = if options.local_files_only {
            Err(Error::LocalFilesOnly)
        } else {
            self.file_metadata(repo, revision, file).await
        };
        let metadata = match metadata {
            Ok(metadata) => metadata,
            Err(
                e @ Error::Hub(HubError::EntryNotFound { .. } | HubError::RevisionNotFound { .. }),
            ) => {
                return Err(e);
            }
            Err(e) => {
                if !options.force_download && path.is_file() {
                    tracing::warn!("the Hub could not be asked ({e}); using the local {file}");
                    return Ok(path);
                }
                return Err(Error::NotCached {
                    what: format!("{repo}: {file} at {revision} in {}", dir.display()),
                    source: Box::new(e),
                });
            }
        };
        if !options.force_download && path.is_file() {
            let unchanged = match &recorded {
                Some(m) => m.etag == metadata.etag,
                None if metadata.etag.is_sha256() => {
                    let (path, etag) = (path.clone(), metadata.etag.clone());
                    blocking(move || sha256_file(&path).is_ok_and(|h| h == etag.as_str())).await?
                }
                None => false,
            };
            if unchanged {
                local.write_metadata(file, &metadata.commit, &metadata.etag)?;
                return Ok(path);
            }
        }
        if !options.force_download
            && let CacheLookup::Found(cached) = cache.lookup(
                file,
                &Revision::new(metadata.commit.as_str()).map_err(hub_url::Error::from)?,
            )?
        {
            let copied = {
                let (local, file) = (local.clone(), file.clone());
                blocking(move || local.copy_in(&file, &cached)).await??
            };
            local.write_metadata(file, &metadata.commit, &metadata.etag)?;
            return Ok(copied);
        }
        let size = metadata.required_size()?;
        let writer = {
            let (local, file, etag) = (local.clone(), file.clone(), metadata.etag.clone());
            blocking(move || local.begin_file(&file, &etag, size)).await??
        };
        let path = self.fetch(repo, &metadata, writer, file, options).await?;
        local.write_metadata(file, &metadata.commit, &metadata.etag)?;
        Ok(path)
    }
}

/// The error once the cache could not stand in for the Hub: access errors as they are (the
/// cache cannot fix them), anything else as "not cached, because …".
pub(crate) fn not_cached(error: Error, what: String) -> Error {
    match error {
        e @ Error::Hub(
            HubError::RepositoryNotFound { .. }
            | HubError::GatedRepo { .. }
            | HubError::Unauthorized { .. },
        ) => e,
        e => Error::NotCached { what, source: Box::new(e) },
    }
}

enum Lookup {
    Cached(PathBuf),
    Remote(FileMetadata),
}

/// Waits until the blob exists or is this process's to write, polling the claim off the async
/// threads and telling `progress` whom it waits for.
pub(crate) async fn claim_blob(
    mut claim: hub_cache::BlobClaim,
    name: &str,
    progress: &Arc<dyn Progress>,
) -> Result<BlobStart, Error> {
    let mut waited = false;
    loop {
        let (back, polled) = blocking(move || {
            let polled = claim.poll();
            (claim, polled)
        })
        .await?;
        claim = back;
        match polled? {
            hub_cache::Claim::Exists(path) => {
                if waited {
                    progress.finish(name);
                }
                return Ok(BlobStart::Exists(path));
            }
            hub_cache::Claim::Write(writer) => return Ok(BlobStart::Write(writer)),
            hub_cache::Claim::Busy(waiting) => {
                progress.waiting(name, &waiting);
                waited = true;
                tokio::time::sleep(hub_cache::CLAIM_POLL).await;
            }
        }
    }
}

/// Runs file-system work that may block (locks, hashing) off the async threads; a panic in it
/// is resumed here.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    crate::error::joined(tokio::task::spawn_blocking(work).await)
}

/// The sha256 of a file, streamed.
pub(crate) fn sha256_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic in work run off the async threads is a bug: it reaches the caller as the same
    /// panic, never as an error a program would handle and go on after.
    #[tokio::test]
    async fn a_panic_in_blocking_work_is_resumed_not_reported() {
        let outcome = tokio::spawn(blocking(|| -> u8 { panic!("bug in the work") })).await;
        let Err(e) = outcome else { panic!("the panic was turned into {outcome:?}") };
        assert!(e.is_panic(), "{e:?}");
        assert_eq!(e.into_panic().downcast_ref::<&str>(), Some(&"bug in the work"));
        assert_eq!(blocking(|| 7).await.ok(), Some(7));
    }
}
