//! Publishes a model over HTTP, with no git: creates the repo, uploads a model folder in one
//! commit (`hub_lfs::LfsClient::upload_folder`), then adds a model card whose YAML front matter
//! carries `library_name` and `tags`, from which the Hub lists the model under your library
//! (`hub_lfs::LfsClient::create_commit`). Run it twice: the second run sends nothing and makes
//! no commit, since the Hub already has every file.
//!
//! ```text
//! cargo run -p hub-examples --example publish -- [REPO] [FOLDER]
//! ```
//!
//! - `REPO`: else `HUB_EXAMPLE_PUBLISH_REPO`, else `<you>/hub-examples-model`, where `<you>` is
//!   the token's owner.
//! - `FOLDER`: the model folder to publish; else `HUB_EXAMPLE_FOLDER`; else the example writes
//!   a small model (`config.json`, `model.safetensors`) in the system's temp folder.
//!
//! Needs a write token: `HF_TOKEN`, or the token file written by `hub-cli login`. The Hub is
//! `HF_ENDPOINT`; `HF_HUB_UPLOAD_CONNECTIONS` sets the parts of a large file sent at once.

// An example reads its settings from the environment (clippy.toml bans it in the crates).
#![allow(clippy::disallowed_methods)]
// Printing is what an example does.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;
use std::path::PathBuf;

use hub_api::{ClientBuilder, CreateRepoOptions};
use hub_lfs::{
    CommitInfo, CommitOperation, CommitOptions, FolderOptions, LfsClient, UploadOptions,
};
use hub_url::{Repo, Revision};

/// The library the model is for: the Hub lists the model under this name. Here, this crate's
/// name, as a library that publishes models for itself would write it.
const LIBRARY_NAME: &str = env!("CARGO_PKG_NAME");

/// What to publish, and where.
struct Settings {
    /// `None`: `<you>/hub-examples-model`.
    repo: Option<Repo>,
    /// `None`: a small model written by the example.
    folder: Option<PathBuf>,
}

impl Settings {
    /// From the command line, else the environment.
    fn from_env() -> Result<Settings, Box<dyn Error>> {
        let mut args = std::env::args_os().skip(1);
        let repo = match args.next().map(|a| a.to_string_lossy().into_owned()) {
            Some(repo) => Some(repo),
            None => std::env::var("HUB_EXAMPLE_PUBLISH_REPO").ok(),
        };
        let repo = match repo {
            Some(repo) => Some(repo.parse().map_err(|e| format!("{repo}: {e}"))?),
            None => None,
        };
        let folder =
            args.next().or_else(|| std::env::var_os("HUB_EXAMPLE_FOLDER")).map(PathBuf::from);
        Ok(Settings { repo, folder })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let settings = Settings::from_env()?;
    let hub = ClientBuilder::from_env()?
        .library(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
        .build()?;
    let lfs = LfsClient::new(hub, UploadOptions::from_env()?);

    // Who the token belongs to: the repo goes to their namespace unless named.
    let me = lfs.hub().whoami().await?;
    println!("logged in to {} as {}", lfs.hub().endpoint(), me.name);
    let repo = match settings.repo {
        Some(repo) => repo,
        None => format!("{}/hub-examples-model", me.name).parse()?,
    };

    let create = CreateRepoOptions::default().with_exist_ok(true);
    let url = lfs.hub().create_repo(&repo, &create).await?;
    println!("repo: {url}");

    let folder = match settings.folder {
        Some(folder) => folder,
        None => write_model(&std::env::temp_dir().join("hub-examples-model"))?,
    };

    // The folder in one commit; files the Hub stores with LFS (the weights) are sent only
    // when it lacks them, in parts, several at once, when they are large.
    let folder_options = FolderOptions::default().with_ignore_patterns(["*.tmp"]);
    let commit = CommitOptions::new("Upload the model");
    let info = lfs.upload_folder(&repo, &folder, &folder_options, &commit).await?;
    report(&format!("upload_folder {}", folder.display()), &info);

    // The model card, made in memory, in a commit of its own.
    let card = model_card(&repo);
    let operations = vec![CommitOperation::add_bytes("README.md", card)];
    let options = CommitOptions::new("Add the model card")
        .with_description("The YAML front matter tells the Hub which library loads the model.");
    let info = lfs.create_commit(&repo, operations, &options).await?;
    report("create_commit README.md", &info);

    let files = lfs.hub().list_repo_files(&repo, &Revision::main()).await?;
    println!("{repo} now holds: {}", files.join(", "));
    Ok(())
}

/// Prints what a commit did.
fn report(what: &str, info: &CommitInfo) {
    if info.no_changes {
        println!("{what}: nothing changed, no commit was made (head {})", info.commit_oid);
    } else {
        let bytes: u64 = info.uploaded.iter().map(|object| object.size).sum();
        println!("{what}: {}", info.commit_url);
        println!("  {} LFS object(s) sent, {bytes} bytes", info.uploaded.len());
    }
}

/// A model card: the YAML front matter is what the Hub reads (`library_name`, `tags`,
/// `license`), the rest is for people.
fn model_card(repo: &Repo) -> String {
    format!(
        "---\n\
         library_name: {LIBRARY_NAME}\n\
         tags:\n\
         - {LIBRARY_NAME}\n\
         - rust\n\
         license: apache-2.0\n\
         ---\n\
         \n\
         # {name}\n\
         \n\
         A small model published from Rust with `hub_lfs::LfsClient`.\n\
         \n\
         Load it with `{LIBRARY_NAME}` {version}.\n",
        name = repo.id().name(),
        version = env!("CARGO_PKG_VERSION"),
    )
}

/// Writes a small model into `folder` (created if needed): a `config.json` and a
/// `model.safetensors` holding one 256×256 `f32` tensor (256 KiB). The bytes are the same on
/// every run, so a second run uploads nothing.
fn write_model(folder: &std::path::Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(folder)?;
    std::fs::write(
        folder.join("config.json"),
        "{\n  \"model_type\": \"hub-examples\",\n  \"hidden_size\": 256\n}\n",
    )?;

    // safetensors: the header's length (u64, little endian), the JSON header padded with
    // spaces to 8 bytes, then the tensors' bytes.
    let (rows, cols) = (256usize, 256usize);
    let data_len = rows * cols * 4;
    let mut header = format!(
        "{{\"weight\":{{\"dtype\":\"F32\",\"shape\":[{rows},{cols}],\"data_offsets\":[0,{data_len}]}}}}"
    );
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut bytes = Vec::with_capacity(8 + header.len() + data_len);
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for i in 0..rows * cols {
        let value = ((i * 7919) % 1000) as f32 / 1000.0 - 0.5;
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    std::fs::write(folder.join("model.safetensors"), bytes)?;
    println!("wrote a small model in {}", folder.display());
    Ok(folder.to_owned())
}
