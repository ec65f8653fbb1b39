//! `hub-cli`: the command-line client for the Hugging Face Hub.
//!
//! It composes the library crates (`hub-url`, `hub-cache`, `hub-api`, `hub-lfs`) and is the
//! only place that prints for a person: results go to stdout, messages and errors to stderr.

// Printing is this binary's job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod delete_cache;
mod download;
mod env;
mod format;
mod scan_cache;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand};

/// The command-line client for the Hugging Face Hub: download, cache and publish models,
/// datasets and spaces.
#[derive(Debug, Parser)]
#[command(name = "hub-cli", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Download files, or a whole repo, into the cache (or a local dir); prints the path.
    Download(download::DownloadArgs),
    /// Print the environment (versions, endpoint, cache, token location) for a bug report.
    ///
    /// Whether a token is set is shown; the token itself never is.
    Env,
    /// Show what the local cache holds: repos, sizes, refs (one row per revision with -v).
    ScanCache {
        /// The cache folder (default: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// One row per revision; -vvv also prints the warnings.
        #[arg(short, long, action = ArgAction::Count)]
        verbose: u8,
        /// Print a JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Delete revisions or whole repos from the local cache, showing first what goes.
    ///
    /// Blobs still used by a remaining revision are kept. Asks before deleting unless -y.
    DeleteCache {
        /// The cache folder (default: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// A commit hash (or a prefix of 7+ characters), or a repo: model/org/name,
        /// dataset/org/name, space/org/name, datasets/org/name, or org/name for a model.
        #[arg(required = true, value_name = "TARGET")]
        targets: Vec<String>,
        /// Show what would be deleted and stop.
        #[arg(long)]
        dry_run: bool,
        /// Delete without asking.
        #[arg(short = 'y', long = "yes")]
        yes: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let res = match cli.command {
        Command::Download(args) => download::run(args),
        Command::Env => env::run(),
        Command::ScanCache { dir, verbose, json } => scan_cache::run(dir, verbose, json),
        Command::DeleteCache { dir, targets, dry_run, yes } => {
            delete_cache::run(dir, &targets, dry_run, yes)
        }
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", format_error(&err));
            ExitCode::FAILURE
        }
    }
}

/// One line: the error and its causes, joined.
fn format_error(err: &anyhow::Error) -> String {
    err.chain().map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}
