//! The seed's `cached_download(url)`: any URL into the flat layout
//! (`docs/protocol/download.md#legacy-cached-download`, `docs/protocol/cache.md#the-flat-layout`),
//! `<cache>/<sha256(url)>.<sha256(etag)>` with its `.json` sidecar, so files cached by
//! the first Python releases are found and the other way round.
//!
//! Without the seed's bugs: the token goes only to the endpoint's origin (never to a CDN), a
//! resumed download never appends a full body, a partial file is never returned offline, and
//! the content is checked against the etag when it is a sha256 or a git blob id.

use std::path::PathBuf;

use hub_cache::BlobStart;

use crate::client::HubClient;
use crate::download::{DownloadOptions, blocking};
use crate::metadata::{HeadAnswer, NO_ETAG};
use crate::{Error, transfer};

impl HubClient {
    /// Downloads `url` into the flat layout of `options.cache` and returns the file's path.
    /// Uses `force_download`, `local_files_only`, `transfer` and `progress` of `options`.
    pub async fn cached_download(
        &self,
        url: &str,
        options: &DownloadOptions,
    ) -> Result<PathBuf, Error> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::InvalidUrl {
                url: url.to_owned(),
                reason: "only http and https URLs can be downloaded".to_owned(),
            });
        }
        let cache = &options.cache;
        let not_cached = |e: Error| -> Result<PathBuf, Error> {
            match cache.find_legacy(url) {
                Some(path) if !options.force_download => Ok(path),
                _ => Err(Error::NotCached { what: url.to_owned(), source: Box::new(e) }),
            }
        };
        if options.local_files_only {
            return not_cached(Error::LocalFilesOnly);
        }
        let parts = match self.head(url).await {
            Ok(parts) => parts,
            Err(e) if e.is_unavailable() => {
                return not_cached(e);
            }
            Err(e) => return Err(e),
        };
        let answer = HeadAnswer::read(url, &parts)?;
        let protocol =
            |reason: &str| Error::Protocol { url: url.to_owned(), reason: reason.into() };
        let raw_etag = answer.raw_etag.ok_or_else(|| protocol(NO_ETAG))?;
        let location = answer.location;
        let size = answer
            .size
            .ok_or_else(|| protocol("no size for the file (X-Linked-Size or Content-Length)"))?;

        let entry = cache.legacy_entry(url, Some(&raw_etag));
        if !options.force_download && entry.path().is_file() {
            return Ok(entry.path().to_path_buf());
        }
        std::fs::create_dir_all(cache.path()).map_err(|source| hub_cache::Error::Io {
            path: cache.path().to_path_buf(),
            cause: source,
        })?;
        let start = {
            let (entry, force) = (entry.clone(), options.force_download);
            blocking(move || entry.begin(size, force)).await??
        };
        if let BlobStart::Write(writer) = start {
            let name = url.rsplit('/').next().unwrap_or(url).to_owned();
            transfer::download(
                self,
                &location,
                None,
                writer,
                &options.transfer,
                &name,
                &options.progress,
            )
            .await?;
        }
        entry.write_sidecar()?;
        Ok(entry.path().to_path_buf())
    }
}
