//! Downloads one file, then a whole repo, into the cache shared with the Python tools, with
//! your library's name and version in the user agent (`hub-examples/0.1.0; hub-api/…; rust/…`),
//! so the Hub's owners can see which library their traffic comes from.
//!
//! ```text
//! cargo run -p hub-examples --example download -- [REPO] [FILENAME]
//! ```
//!
//! - `REPO`: else `HUB_EXAMPLE_REPO`, else `julien-c/EsperBERTo-small`; `datasets/…` and
//!   `spaces/…` name other repo types.
//! - `FILENAME`: else `HUB_EXAMPLE_FILE`, else `config.json`.
//!
//! The rest comes from the environment, as in the Python library: the Hub from `HF_ENDPOINT`,
//! the cache from `HF_HUB_CACHE` or `HF_HOME`, the token from `HF_TOKEN` or the token file,
//! offline mode from `HF_HUB_OFFLINE`.

// An example reads its settings from the environment (clippy.toml bans it in the crates).
#![allow(clippy::disallowed_methods)]
// Printing is what an example does.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;
use std::path::Path;

use hub_api::{ClientBuilder, DownloadOptions, SnapshotOptions};
use hub_url::Repo;

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

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let settings = Settings::from_env()?;

    // Your crate's name and version, as Cargo knows them, in every request's user agent.
    let client = ClientBuilder::from_env()?
        .library(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .build()?;
    let options = DownloadOptions::from_env()?;
    println!("Hub:   {}", client.endpoint());
    println!("cache: {}", options.cache.path().display());

    // One file: a path in the cache's snapshot folder (a symlink to the verified blob).
    let file = client.hf_hub_download(&settings.repo, &settings.filename, &options).await?;
    println!("{} {} -> {}", settings.repo, settings.filename, file.display());

    // The whole repo at `main`: the files already cached cost no download.
    let folder =
        client.snapshot_download(&settings.repo, &options, &SnapshotOptions::default()).await?;
    println!("{} -> {}", settings.repo, folder.display());
    let mut files = Vec::new();
    list_files(&folder, "", &mut files)?;
    for (path, size) in files {
        println!("  {path:<32} {size:>10} bytes");
    }
    Ok(())
}

/// The files under `folder` (following the snapshot's symlinks to their blobs), with sizes.
fn list_files(folder: &Path, prefix: &str, out: &mut Vec<(String, u64)>) -> std::io::Result<()> {
    let mut entries = std::fs::read_dir(folder)?.collect::<Result<Vec<_>, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = format!("{prefix}{}", entry.file_name().to_string_lossy());
        let meta = std::fs::metadata(entry.path())?;
        if meta.is_dir() {
            list_files(&entry.path(), &format!("{path}/"), out)?;
        } else {
            out.push((path, meta.len()));
        }
    }
    Ok(())
}
