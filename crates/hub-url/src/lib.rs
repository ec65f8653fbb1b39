//! URL and identifier types for the Hugging Face Hub.
//!
//! `hub-url` is the bottom layer of the `hub-*` crates: it knows what a repository id, a
//! revision, a file path in a repo and an endpoint are, and builds every URL the client needs
//! (`resolve`, git, LFS, the REST API), with the exact percent-encoding of the Python library.
//! It does no I/O (the one exception, [`Endpoint::from_env`], reads `HF_ENDPOINT` when asked)
//! and cannot fail once its types are built: validation happens when parsing.
//!
//! ```
//! use hub_url::{Endpoint, Repo, RepoPath, Revision};
//!
//! let repo: Repo = "julien-c/EsperBERTo-small".parse()?;
//! let url = Endpoint::default().resolve_url(&repo, &Revision::main(), &RepoPath::new("pytorch_model.bin")?);
//! assert_eq!(url, "https://huggingface.co/julien-c/EsperBERTo-small/resolve/main/pytorch_model.bin");
//!
//! // The Python-shaped shortcut:
//! let pr = hub_url::hf_hub_url("gpt2", "config.json", Some("refs/pr/1"), None, None, None)?;
//! assert_eq!(pr, "https://huggingface.co/gpt2/resolve/refs%2Fpr%2F1/config.json");
//! # Ok::<(), hub_url::Error>(())
//! ```
//!
//! # Invariants
//! - A [`RepoPath`] never escapes the folder it is joined to: no `..`, no absolute or drive path.
//! - A [`Revision`] is a valid git ref name, so `refs/<revision>` stays inside a cache folder.
//! - URLs built here never carry credentials; an [`Endpoint`] with user info is refused.

#![warn(missing_docs)]

// The crate's README: its Rust examples are compiled (and run, unless `no_run`) by
// `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod endpoint;
pub mod env;
mod error;
mod path;
mod redact;
mod repo;
mod revision;
mod urls;

pub use endpoint::{DEFAULT_ENDPOINT, ENDPOINT_ENV, Endpoint, Origin};
pub use error::{EndpointError, Error, PathError, RepoIdError, RepoTypeError, RevisionError};
pub use path::RepoPath;
pub use redact::RedactedUrl;
pub use repo::{Repo, RepoId, RepoType};
pub use revision::{DEFAULT_REVISION, Revision, RevisionKind, is_commit_hash};
pub use urls::{encode_component, encode_path, hf_hub_url, with_query};

#[cfg(test)]
mod tests;
