//! Publishing to the Hugging Face Hub, and Git LFS as the Hub speaks it: commits over HTTP,
//! the LFS batch API, `basic` and `multipart` transfers, LFS pointer files, and the git-lfs
//! custom transfer agent behind `hub-cli lfs-multipart-upload`.
//!
//! `hub-lfs` is the top library layer, above `hub-api` (whose HTTP transport it uses);
//! `hub-cli` depends on it, and so does a library that publishes models.
//!
//! - [`LfsClient::create_commit`] publishes over HTTP, with no git, as the Python library's
//!   `create_commit`: any changes in one commit ([`CommitOperation`]), after sending the LFS
//!   objects the Hub lacks. [`LfsClient::upload_folder`], [`LfsClient::upload_file`] and the
//!   deletions are built on it (module [`commit`]).
//! - [`protocol`] and [`batch`] are the messages, as serde types with encode and parse
//!   functions and no I/O: the git-lfs custom transfer protocol and the batch API.
//! - [`Pointer`] reads and writes pointer files; [`sha256_file`] names an object.
//! - [`MultipartPlan`] turns a `multipart` action into parts, numbered as numbers and checked
//!   against the object's size.
//! - [`LfsClient`] asks the batch API and carries out the transfers: a multipart upload streams
//!   its parts from the file, several at once, each retried on its own, with no token on
//!   presigned URLs.
//! - [`Agent`] serves git-lfs on stdin/stdout.
//!
//! Publishing a model folder in one commit:
//!
//! ```no_run
//! use hub_api::{ClientBuilder, NoProgress};
//! use hub_lfs::{CommitOptions, FolderOptions, LfsClient, UploadOptions};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // A write token from HF_TOKEN or the token file.
//! let hub = ClientBuilder::from_env()?.library("my-ml-lib", "0.3.0").build()?;
//! let lfs = LfsClient::new(hub, UploadOptions::from_env()?);
//! let repo = "my-org/my-model".parse()?;
//! let commit = CommitOptions::new("Upload the model");
//! let info = lfs
//!     .upload_folder(&repo, "./run".as_ref(), &FolderOptions::default(), &commit)
//!     .await?;
//! println!("{} ({} LFS objects sent)", info.commit_url, info.uploaded.len());
//! # Ok(())
//! # }
//! ```
//!
//! Uploading the files of a model to a repo over the batch API:
//!
//! ```no_run
//! use hub_api::{HubClient, NoProgress};
//! use hub_lfs::{LfsClient, Source, UploadOptions, object_for_file};
//! use hub_url::{Repo, RepoId};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let lfs = LfsClient::new(HubClient::from_env()?, UploadOptions::from_env()?);
//! let repo = Repo::model(RepoId::new("my-org/my-model")?);
//! let path = std::path::PathBuf::from("model.safetensors");
//! let object = object_for_file(&path).await?;
//! let files = [(Source::File(path), object)];
//! let sent = lfs.upload_files(&repo, Some("main"), &files, &NoProgress).await?;
//! println!("sent {} object(s)", sent.len());
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

// The crate's README: its Rust examples are compiled (and run, unless `no_run`) by
// `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod agent;
pub mod batch;
pub mod blocking;
mod client;
pub mod commit;
mod error;
pub mod multipart;
mod pointer;
pub mod protocol;

pub use agent::{Agent, AgentError, Summary};
pub use client::{CONNECTIONS_ENV, LfsClient, RETRIES_ENV, Source, UploadOptions, object_for_file};
pub use commit::{CommitInfo, CommitOperation, CommitOptions, FolderOptions};
pub use error::Error;
pub use multipart::MultipartPlan;
pub use pointer::{MAX_POINTER_SIZE, Pointer, PointerError, SPEC_V1, sha256_file, sha256_reader};

/// The name of the custom transfer the Hub selects for objects above its single-PUT limit;
/// git config keys are `lfs.customtransfer.multipart.*`.
pub const CUSTOM_TRANSFER_NAME: &str = "multipart";
