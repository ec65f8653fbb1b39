//! What the Hub says about a file before downloading it
//! (`docs/protocol/download.md#the-metadata-request`): a `HEAD` on
//! its resolve URL that follows redirects only within the endpoint's origin (a renamed repo)
//! and stops at the first foreign one (the CDN), whose headers carry the metadata.

use http::header::{ACCEPT_ENCODING, CONTENT_LENGTH, ETAG, HeaderValue, LOCATION};
use hub_cache::{CommitHash, Etag};
use hub_url::{Origin, Repo, RepoPath, Revision};

use crate::Error;
use crate::client::{HubClient, HubRequest};

/// A file's metadata at a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileMetadata {
    /// The commit the revision resolved to (`X-Repo-Commit`).
    pub commit: CommitHash,
    /// The blob's name: sha256 for an LFS file, git blob id otherwise.
    pub etag: Etag,
    /// Where to download the content from: a CDN URL for an LFS file, the resolve URL otherwise.
    pub location: String,
    /// The size, when the Hub said it (`X-Linked-Size` on a redirect, never the redirect's own
    /// `Content-Length`).
    pub size: Option<u64>,
    /// The Xet file id (`X-Xet-Hash`, 64 hex digits) when the file is stored in Xet. The download
    /// still goes over plain HTTP: the redirect leads to the Hub's Xet bridge, which serves
    /// ranges of the reconstructed file like any CDN.
    pub xet_hash: Option<String>,
}

impl FileMetadata {
    /// The size, which a download needs (the Hub always sends it).
    pub(crate) fn required_size(&self) -> Result<u64, Error> {
        self.size.ok_or_else(|| Error::Protocol {
            url: self.location.clone(),
            reason: "the Hub did not give the file's size".to_owned(),
        })
    }

    /// Whether `location` is on the endpoint's origin (then the token may go with the GET).
    pub fn is_on_hub(&self, client: &HubClient) -> bool {
        Origin::parse(&self.location).as_ref() == Some(client.endpoint().origin())
    }
}

const MAX_REDIRECTS: usize = 20;

pub(crate) const NO_ETAG: &str = "no ETag: the file's version cannot be known";

/// What the headers of a `HEAD` answer say about a file, before any check.
#[derive(Debug)]
pub(crate) struct HeadAnswer {
    /// `X-Repo-Commit`.
    pub(crate) commit: Option<String>,
    /// `X-Linked-Etag`, else `ETag`, as sent (quotes included).
    pub(crate) raw_etag: Option<String>,
    /// Where the content is: the redirect's target, else the URL asked.
    pub(crate) location: String,
    /// `X-Linked-Size`, else (not for a redirect) `Content-Length`.
    pub(crate) size: Option<u64>,
    /// `X-Xet-Hash`, when it is 64 hex digits.
    pub(crate) xet_hash: Option<String>,
}

impl HeadAnswer {
    pub(crate) fn read(url: &str, parts: &http::response::Parts) -> Result<HeadAnswer, Error> {
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let redirect = parts.status.is_redirection();
        let location = match header(LOCATION.as_str()) {
            Some(l) if redirect => join_url(url, l),
            _ => url.to_owned(),
        };
        let size = match header("x-linked-size") {
            Some(size) => Some(size.trim().parse().map_err(|_| Error::Protocol {
                url: url.to_owned(),
                reason: "invalid X-Linked-Size".to_owned(),
            })?),
            None if !redirect => {
                header(CONTENT_LENGTH.as_str()).and_then(|s| s.trim().parse().ok())
            }
            None => None,
        };
        Ok(HeadAnswer {
            commit: header("x-repo-commit").map(str::to_owned),
            raw_etag: header("x-linked-etag").or_else(|| header(ETAG.as_str())).map(str::to_owned),
            location,
            size,
            xet_hash: header("x-xet-hash")
                .map(str::trim)
                .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(str::to_ascii_lowercase),
        })
    }
}

impl HubClient {
    /// `HEAD url` without following redirects, asking for the real size (no compression); an
    /// error status becomes a typed error.
    pub(crate) async fn head(&self, url: &str) -> Result<http::response::Parts, Error> {
        let req = HubRequest::head(url.to_owned())
            .with_header(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        let (parts, _body) = self.send(&req).await?.into_parts();
        match self.error_from_response(url, parts.status, &parts.headers, b"") {
            Some(e) => Err(Error::Hub(e)),
            None => Ok(parts),
        }
    }

    /// Asks the Hub for a file's metadata (commit, etag, size, download location).
    pub async fn file_metadata(
        &self,
        repo: &Repo,
        revision: &Revision,
        path: &RepoPath,
    ) -> Result<FileMetadata, Error> {
        let mut url = self.endpoint().resolve_url(repo, revision, path);
        for _ in 0..MAX_REDIRECTS {
            let parts = self.head(&url).await?;
            let answer = HeadAnswer::read(&url, &parts)?;
            if parts.status.is_redirection()
                && Origin::parse(&answer.location).as_ref() == Some(self.endpoint().origin())
            {
                url = answer.location;
                continue;
            }
            let protocol =
                |reason: &str| Error::Protocol { url: url.clone(), reason: reason.into() };
            let commit = answer.commit.ok_or_else(|| {
                protocol(
                    "no X-Repo-Commit header: this does not look like a Hugging Face Hub endpoint",
                )
            })?;
            let etag = answer.raw_etag.ok_or_else(|| protocol(NO_ETAG))?;
            return Ok(FileMetadata {
                commit: CommitHash::new(&commit)?,
                etag: Etag::from_header(&etag)?,
                location: answer.location,
                size: answer.size,
                xet_hash: answer.xet_hash,
            });
        }
        Err(Error::Protocol { url, reason: format!("more than {MAX_REDIRECTS} redirects") })
    }
}

/// Resolves a `Location` against the URL it answered: absolute, `//host/…`, `/path` or relative.
pub(crate) fn join_url(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_owned();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if let Some(network_path) = location.strip_prefix("//") {
        return format!("{scheme}://{network_path}");
    }
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    let path = rest[authority.len()..].split(['?', '#']).next().unwrap_or("/");
    let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
    format!("{scheme}://{authority}{dir}/{location}")
}

#[cfg(test)]
mod tests {
    use super::{HeadAnswer, join_url};

    /// A Xet-backed file: a 302 to the bridge whose own `Content-Length` is the redirect's
    /// body, not the file (hf-hub took it for the size once).
    #[test]
    fn a_redirect_to_the_xet_bridge_gives_the_linked_size_and_the_xet_hash() {
        let xet = "A".repeat(64);
        let response = http::Response::builder()
            .status(302)
            .header(
                "location",
                "https://cas-bridge.xethub.hf.co/xet-bridge-us/abc?X-Amz-Expires=3600",
            )
            .header("content-length", "1317")
            .header("x-linked-size", "5000000000")
            .header("x-linked-etag", format!("\"{}\"", "b".repeat(64)))
            .header("x-xet-hash", &xet)
            .header("x-repo-commit", "c".repeat(40))
            .body(())
            .unwrap();
        let (parts, ()) = response.into_parts();
        let answer =
            HeadAnswer::read("https://huggingface.co/m/resolve/main/w.bin", &parts).unwrap();
        assert_eq!(answer.size, Some(5_000_000_000));
        assert_eq!(answer.xet_hash, Some("a".repeat(64)));
        assert!(answer.location.starts_with("https://cas-bridge.xethub.hf.co/"));
        let (parts, ()) = http::Response::builder()
            .status(302)
            .header("location", "https://cdn/x")
            .header("content-length", "1317")
            .header("x-xet-hash", "not-a-hash")
            .body(())
            .unwrap()
            .into_parts();
        let answer =
            HeadAnswer::read("https://huggingface.co/m/resolve/main/w.bin", &parts).unwrap();
        assert_eq!((answer.size, answer.xet_hash), (None, None), "never a redirect's length");
    }

    #[test]
    fn locations_are_resolved_like_a_browser() {
        let base = "http://h:1/acme/old/resolve/main/x.bin?q=1";
        assert_eq!(join_url(base, "https://cdn/x"), "https://cdn/x");
        assert_eq!(
            join_url(base, "/acme/new/resolve/main/x.bin"),
            "http://h:1/acme/new/resolve/main/x.bin"
        );
        assert_eq!(join_url(base, "//other/y"), "http://other/y");
        assert_eq!(join_url(base, "y.bin"), "http://h:1/acme/old/resolve/main/y.bin");
    }
}
