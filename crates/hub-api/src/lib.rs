//! The Hugging Face Hub client: HTTP transport, downloads into the cache and the REST API.
//!
//! `hub-api` sits above `hub-url` (identifiers and URLs) and `hub-cache` (the on-disk cache),
//! and below `hub-lfs` and `hub-cli`. It is the only layer of the client that opens network
//! connections.
//!
//! - [`ClientBuilder`] makes a [`HubClient`], the transport (one connection pool, retries,
//!   offline mode, the token sent to the Hub's origin only), from the environment as the
//!   Python library reads it ([`ClientBuilder::from_env`]) or from explicit values. A library
//!   names itself in the user agent with [`ClientBuilder::library`].
//! - [`HubClient::hf_hub_download`] and [`HubClient::snapshot_download`] download into the
//!   cache ([`DownloadOptions`], [`SnapshotOptions`]): parallel ranges, verified as they
//!   arrive, resumed after an interruption, served from the cache offline.
//! - The REST API: [`HubClient::repo_info`], listings as lazily paginated streams
//!   ([`HubClient::list_models`] with [`ListOptions`]), [`HubClient::create_repo`], branches,
//!   tags, [`HubClient::whoami`].
//! - [`token`]: the [`Token`], where it comes from (`HF_TOKEN`, the token file, or yours), the
//!   token files shared with the Python tools, and [`token::login`]. A token is never printed,
//!   and never sent to another host than the endpoint's.
//! - [`blocking::BlockingClient`]: the same client from synchronous code.
//!
//! Download a file, or a whole repo, into the cache shared with the Python tools:
//!
//! ```no_run
//! use hub_api::{ClientBuilder, DownloadOptions, SnapshotOptions};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, …; your library's name in the user agent.
//! let client = ClientBuilder::from_env()?.library("my-ml-lib", "0.3.0").build()?;
//! let options = DownloadOptions::from_env()?; // HF_HUB_CACHE / HF_HOME
//! let repo = "julien-c/EsperBERTo-small".parse()?;
//! let weights = client.hf_hub_download(&repo, "pytorch_model.bin", &options).await?;
//! let folder = client.snapshot_download(&repo, &options, &SnapshotOptions::default()).await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

// The crate's README: its Rust examples are compiled (and run, unless `no_run`) by
// `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[macro_use]
mod setters;

mod api;
pub mod blocking;
mod body;
mod cached;
mod client;
mod config;
mod download;
mod error;
mod hash;
pub mod headers;
mod metadata;
mod paginated;
mod patterns;
mod repo_info;
mod response;
mod snapshot;
pub mod token;
mod transfer;

pub use api::{
    AccessToken, AuthInfo, BranchOptions, CommitAuthor, CreateRepoOptions, DeleteRepoOptions,
    Gated, GitCommitInfo, GitRef, InfoOptions, ListOptions, Organization, Refs, RefsOptions,
    RepoSettings, TagOptions, TreeEntry, TreeLfs, TreeOptions, WhoAmI,
};
pub use body::{FileRange, RequestBody};
pub use client::{
    ClientBuilder, HubClient, HubRequest, MAX_RETRY_AFTER, Proxy, RATE_LIMIT_WAIT_MAX, Retry,
    RetryConfig, RetryHook, RetryNotice, RetryReason,
};
pub use download::{CHUNK_SIZE_ENV, CONNECTIONS_ENV, DISABLE_VERIFICATION_ENV, DownloadOptions};
pub use error::{Error, HubError, ServerContext};
pub use hash::blob_digest;
pub use metadata::FileMetadata;
pub use paginated::Paginated;
pub use patterns::Patterns;
pub use repo_info::{RepoInfo, Sibling, SiblingLfs};
pub use response::ResponseBody;
pub use snapshot::{SnapshotDownload, SnapshotOptions};
pub use token::{Token, token_from_vars};
pub use transfer::{NoProgress, Progress, STALL_ROUNDS, TransferConfig};

/// The client's parsers of HTTP headers, for the fuzz targets (`crates/hub-fuzz`): not part of
/// the API.
#[doc(hidden)]
pub mod fuzzing {
    /// The `rel="next"` URL of a `Link` header's raw bytes, resolved against `base`.
    pub fn next_link(base: &str, value: &[u8]) -> Option<String> {
        let value = http::HeaderValue::from_bytes(value).ok()?;
        crate::paginated::next_link(base, Some(&value))
    }
}
