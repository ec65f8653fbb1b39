//! The seed's `cached_download(url)`: any URL into the flat layout (`hub-protocol.md` §2.1,
//! §4.7), `<cache>/<sha256(url)>.<sha256(etag)>` with its `.json` sidecar, so files cached by
//! the first Python releases are found and the other way round.
//!
//! Without the seed's bugs: the token goes only to the endpoint's origin (never to a CDN), a
//! resumed download never appends a full body, a partial file is never returned offline, and
//! the content is checked against the etag when it is a sha256 or a git blob id.

use std::path::PathBuf;

use http::header::{ACCEPT_ENCODING, CONTENT_LENGTH, ETAG, HeaderValue, LOCATION};
use hub_cache::BlobStart;

use crate::client::{HubClient, HubRequest};
use crate::download::{DownloadOptions, blocking};
use crate::metadata::join_url;
use crate::{Error, HubError, transfer};

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
        let head = HubRequest::head(url.to_owned())
            .header(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        let response = match self.send(&head).await {
            Ok(response) => response,
            Err(e) if e.is_transient() || matches!(e, Error::Offline { .. }) => {
                return not_cached(e);
            }
            Err(e) => return Err(e),
        };
        let (parts, _) = response.into_parts();
        if let Some(e) = HubError::from_response(url, parts.status, &parts.headers, b"") {
            return Err(Error::Hub(e));
        }
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let protocol =
            |reason: &str| Error::Protocol { url: url.to_owned(), reason: reason.to_owned() };
        let raw_etag = header("x-linked-etag")
            .or_else(|| header(ETAG.as_str()))
            .ok_or_else(|| protocol("no ETag: the file's version cannot be known"))?
            .to_owned();
        let redirect = parts.status.is_redirection();
        let location = match header(LOCATION.as_str()) {
            Some(l) if redirect => join_url(url, l),
            _ => url.to_owned(),
        };
        let size = match header("x-linked-size") {
            Some(s) => s.trim().parse::<u64>().ok(),
            None if !redirect => {
                header(CONTENT_LENGTH.as_str()).and_then(|s| s.trim().parse().ok())
            }
            None => None,
        }
        .ok_or_else(|| protocol("no size for the file (X-Linked-Size or Content-Length)"))?;

        let entry = cache.legacy_entry(url, Some(&raw_etag));
        if !options.force_download && entry.path().is_file() {
            return Ok(entry.path().to_path_buf());
        }
        std::fs::create_dir_all(cache.path())
            .map_err(|source| hub_cache::Error::Io { path: cache.path().to_path_buf(), source })?;
        let start = {
            let (entry, force) = (entry.clone(), options.force_download);
            blocking(move || entry.begin(size, force)).await??
        };
        if let BlobStart::Write(writer) = start {
            let name = url.rsplit('/').next().unwrap_or(url).to_owned();
            transfer::download(
                self,
                &location,
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
