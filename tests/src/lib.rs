//! `hub-tests`: a Hugging Face Hub running on loopback, for the workspace's tests.
//!
//! [`TestHub`] serves real bare git repositories (through `git http-backend`), an LFS store and
//! the LFS batch API on `127.0.0.1`, and a second listener on `127.0.0.2` playing the CDN /
//! storage host that only answers signed, expiring URLs. It injects faults (failed and
//! rate-limited requests, expiring URLs, dropped, stalled, trickling, short and long bodies,
//! throttling, corrupted bytes, refused connections: [`Faults`]) and counts what it served,
//! including `Authorization` headers that leak to the CDN.
//!
//! It deliberately does not depend on the client crates: a server built from the client's code
//! would share the client's mistakes. Its fidelity is checked by running the official Python
//! client against it (`tests/python/`). The contract (binary flags, admin routes, the default
//! seed) is `tests/README.md`.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use hub_tests::{CommitSpec, HubConfig, Repo, RepoOptions, TestHub};
//!
//! let hub = TestHub::start(HubConfig::default())?; // 127.0.0.1:0 + 127.0.0.2:0
//! let seed = hub.seed_default()?; // the users, tokens and repos of tests/README.md
//! let repo = Repo::model("alice/scratch");
//! hub.create_repo(&repo, RepoOptions::default())?;
//! let commit = hub.commit_files(&repo, CommitSpec::new("main", "add").regular("a.txt", "hi").lfs("w.bin", vec![7; 100]))?;
//! hub.faults().fail_next(2, 503, None); // the next two requests fail
//! let url = format!("{}/alice/scratch/resolve/{commit}/a.txt", hub.endpoint());
//! # let _ = (seed, url);
//! println!("{:?}", hub.stats().requests); // counters per route
//! # Ok(())
//! # }
//! ```
//!
//! # Limitations
//!
//! HTTP/1.1 only; no Xet; the `/api` surface is what downloads, uploads and repo management need
//! (`whoami-v2`, repo info, refs, repo CRUD and settings, listings, tree, paths-info, commits,
//! branches and tags, preupload and the commit API; pull requests are only their `refs/pr/N`: no
//! discussions, no likes); users and tokens live in memory.

mod body;
mod faults;
mod http_util;
mod hub;
mod lfs_store;
mod patterns;
mod proxy;
mod repo;
mod routes;
pub mod seed;
mod sendfile;
mod server;
mod signing;
mod state;
mod util;

pub use crate::{
    faults::{Faults, Host, HostScope, LogEntry, Stats},
    hub::{HubConfig, LargeFile, TestHub},
    proxy::{ConnectProxy, Tunnel},
    repo::{Repo, RepoType, is_valid_repo_id},
    seed::SeedManifest,
    state::{CommitSpec, FileContent, Parent, RepoOptions, TokenRole},
    util::isolated_git,
};
