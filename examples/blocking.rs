//! The client from synchronous code: `hub_api::blocking::BlockingClient` runs the async client
//! on a runtime thread of its own, so a library with no async API (and no tokio of its own)
//! can still download. It also works when called from inside a tokio runtime.
//!
//! ```text
//! cargo run -p hub-examples --example blocking -- [REPO] [FILENAME]
//! ```
//!
//! - `REPO`: else `HUB_EXAMPLE_REPO`, else `julien-c/EsperBERTo-small`.
//! - `FILENAME`: else `HUB_EXAMPLE_FILE`, else `config.json`.
//!
//! The Hub, the cache and the token come from the environment (`HF_ENDPOINT`, `HF_HOME`,
//! `HF_TOKEN`, …), as in the Python library.

// An example reads its settings from the environment (clippy.toml bans it in the crates).
#![allow(clippy::disallowed_methods)]
// Printing is what an example does.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;

use hub_api::blocking::BlockingClient;
use hub_api::{ClientBuilder, DownloadOptions, InfoOptions, SnapshotOptions};
use hub_url::{Repo, Revision};

/// What to download.
struct Settings {
    repo: Repo,
    filename: String,
}

impl Settings {
    /// From the command line, else the environment, else the defaults.
    fn from_env() -> Result<Settings, Box<dyn Error>> {
        let mut args = std::env::args().skip(1);
        let mut setting = |var: &str, default: &str| {
            args.next().or_else(|| std::env::var(var).ok()).unwrap_or_else(|| default.to_owned())
        };
        let repo = setting("HUB_EXAMPLE_REPO", "julien-c/EsperBERTo-small");
        let filename = setting("HUB_EXAMPLE_FILE", "config.json");
        let repo = repo.parse().map_err(|e| format!("{repo}: {e}"))?;
        Ok(Settings { repo, filename })
    }
}

// No `async`, no `#[tokio::main]`.
fn main() -> Result<(), Box<dyn Error>> {
    let settings = Settings::from_env()?;
    let hub = ClientBuilder::from_env()?
        .library(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .build()?;
    // Starts the runtime thread; dropping the client stops it.
    let client = BlockingClient::new(hub)?;
    let options = DownloadOptions::from_env()?;

    // What the Hub says about the repo: the commit `main` points at, the files.
    let info = client.repo_info(&settings.repo, &InfoOptions::default())?;
    println!(
        "{} at {}: {} file(s)",
        info.id,
        info.sha.as_deref().unwrap_or("?"),
        info.siblings.len()
    );

    // Listings are iterators, each page fetched when the items before it have been read.
    for commit in client.list_repo_commits(&settings.repo, &Revision::main()).take(3) {
        let commit = commit?;
        println!("  commit {} {}", commit.id, commit.title);
    }

    let file = client.hf_hub_download(&settings.repo, &settings.filename, &options)?;
    println!("{} {} -> {}", settings.repo, settings.filename, file.display());
    println!("  {} bytes", std::fs::metadata(&file)?.len());

    // Only the JSON files of the repo.
    let only_json = SnapshotOptions::default().with_allow_patterns(vec!["*.json".to_owned()]);
    let folder = client.snapshot_download(&settings.repo, &options, &only_json)?;
    println!("{} (*.json) -> {}", settings.repo, folder.display());
    Ok(())
}
