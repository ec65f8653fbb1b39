//! `hub-cli`: the command-line client for the Hugging Face Hub.
//!
//! It composes the library crates (`hub-url`, `hub-cache`, `hub-api`, `hub-lfs`) and is the
//! only place that prints for a person: results go to stdout, messages and errors to stderr.

// Printing is this binary's job: results go through `outln!`, messages to stderr.
#![allow(clippy::print_stderr)]

/// `println!` for results on stdout, without its panic when stdout is gone: a closed pipe
/// (`hub-cli scan-cache | head`) ends the process quietly, as it ends `ls` or `git log`.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            $crate::common::stdout_failed(e);
        }
    }};
}

mod auth;
mod common;
mod delete_cache;
mod download;
mod env;
mod format;
mod lfs;
mod repo;
mod scan_cache;
mod upload;

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
    /// Upload a file or a folder to a repo in one commit (no git needed); prints the commit URL.
    ///
    /// Creates the repo when it does not exist. Files the Hub stores with LFS are sent in
    /// parts, several at once; those it already has are not sent again.
    Upload(upload::UploadArgs),
    /// Log in: check a token with the Hub and store it where the Python tools find it too.
    ///
    /// Without --token, the token is read from stdin, or from a hidden prompt on a terminal.
    Login {
        /// The token (prefer stdin or the prompt: a command line can be seen by others).
        #[arg(long, value_name = "TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Also store the token in git's credential helper, for git push over HTTPS.
        #[arg(long)]
        add_to_git_credential: bool,
    },
    /// Log out: delete the stored tokens (and git's stored credential for the Hub).
    Logout,
    /// Print the logged-in user and their organizations.
    Whoami,
    /// Manage repos: create, delete, move, settings, info, files, refs, branch, tag.
    #[command(subcommand)]
    Repo(repo::RepoCommand),
    /// List models (e.g. those compatible with a library: --library asteroid).
    Models {
        #[command(subcommand)]
        command: ListCommand,
    },
    /// List datasets.
    Datasets {
        #[command(subcommand)]
        command: ListCommand,
    },
    /// List spaces.
    Spaces {
        #[command(subcommand)]
        command: ListCommand,
    },
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
    /// Set up a clone so that git-lfs pushes files above the Hub's 5 GB limit in parts.
    ///
    /// Sets lfs.customtransfer.multipart.{path,args} in the clone's git config to run this
    /// executable's multipart agent.
    LfsEnableLargefiles {
        /// The clone (a git work tree).
        path: PathBuf,
    },
    /// The git-lfs custom transfer agent; git-lfs runs it, people don't.
    #[command(hide = true)]
    LfsMultipartUpload,
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

#[derive(Debug, Subcommand)]
enum ListCommand {
    /// List them; pages are fetched as the output goes.
    List(repo::ListArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let res = match cli.command {
        Command::Download(args) => download::run(args),
        Command::Env => env::run(),
        Command::Upload(args) => upload::run(args),
        Command::Login { token, add_to_git_credential } => {
            auth::run_login(token, add_to_git_credential)
        }
        Command::Logout => auth::run_logout(),
        Command::Repo(command) => repo::run(command),
        Command::Models { command: ListCommand::List(args) } => {
            repo::run_list(hub_url::RepoType::Model, args)
        }
        Command::Datasets { command: ListCommand::List(args) } => {
            repo::run_list(hub_url::RepoType::Dataset, args)
        }
        Command::Spaces { command: ListCommand::List(args) } => {
            repo::run_list(hub_url::RepoType::Space, args)
        }
        Command::Whoami => auth::run_whoami(),
        Command::ScanCache { dir, verbose, json } => scan_cache::run(dir, verbose, json),
        Command::LfsEnableLargefiles { path } => lfs::enable_largefiles(&path),
        Command::LfsMultipartUpload => lfs::multipart_upload(),
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

/// One line: the error and its causes, joined. The library errors that a person fixes with
/// this command line are told in its words.
fn format_error(err: &anyhow::Error) -> String {
    err.chain().map(cli_message).collect::<Vec<_>>().join(": ")
}

/// The message of one error of a chain, in hub-cli's words where the library's are not.
fn cli_message(error: &(dyn std::error::Error + 'static)) -> String {
    let api = error.downcast_ref::<hub_api::Error>().or_else(|| {
        match error.downcast_ref::<hub_lfs::Error>() {
            Some(hub_lfs::Error::Api(api)) => Some(api),
            _ => None,
        }
    });
    match api {
        Some(hub_api::Error::NotLoggedIn) => {
            "not logged in: run `hub-cli auth login` or set HF_TOKEN".to_owned()
        }
        Some(hub_api::Error::RepoExists { repo, url }) => {
            format!("repository {repo} already exists at {url}; pass --exist-ok to use it as it is")
        }
        _ => error.to_string(),
    }
}
