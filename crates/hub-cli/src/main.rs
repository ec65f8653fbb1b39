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

mod args;
mod auth;
mod cache;
mod common;
mod delete_cache;
mod download;
mod env;
mod format;
mod lfs;
mod list;
mod repos;
mod scan_cache;
mod upload;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, CommandFactory, Parser, Subcommand};

/// The command-line client for the Hugging Face Hub: download, cache and publish models,
/// datasets and spaces.
#[derive(Debug, Parser)]
#[command(
    name = "hub-cli",
    version,
    long_about = None,
    after_help = "The commands of the Python `hf` CLI, with its flags. The older names \
                  (login, logout, whoami, repo, scan-cache, delete-cache) still work."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Log in and out, see who you are, manage the stored tokens.
    #[command(subcommand)]
    Auth(auth::AuthCommand),
    /// Download files, or a whole repo, into the cache (or a local dir); prints the path.
    Download(download::DownloadArgs),
    /// Upload a file or a folder to a repo in one commit (no git needed); prints the commit URL.
    ///
    /// Creates the repo when it does not exist (a bare name is one of yours). Files the Hub
    /// stores with LFS are sent in parts, several at once; those it already has are not sent
    /// again.
    Upload(upload::UploadArgs),
    /// Manage repos: create, delete, move, settings, info, files, refs, branch, tag.
    #[command(subcommand, alias = "repo")]
    Repos(repos::ReposCommand),
    /// Manage the local cache: list, delete, prune, verify.
    #[command(subcommand)]
    Cache(cache::CacheCommand),
    /// List models (e.g. those compatible with a library: `models ls --library asteroid`).
    #[command(subcommand)]
    Models(list::ListCommand),
    /// List datasets.
    #[command(subcommand)]
    Datasets(list::ListCommand),
    /// List spaces.
    #[command(subcommand)]
    Spaces(list::ListCommand),
    /// Print the environment (versions, endpoint, cache, token location) for a bug report.
    ///
    /// Whether a token is set is shown; the token itself never is.
    Env,
    /// Print hub-cli's version.
    Version,
    /// Print a shell's completion script.
    ///
    /// For example: `hub-cli completions bash > /etc/bash_completion.d/hub-cli`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
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
    /// Same as `auth login`.
    #[command(hide = true)]
    Login(auth::LoginArgs),
    /// Same as `auth logout`.
    #[command(hide = true)]
    Logout(auth::LogoutArgs),
    /// Same as `auth whoami`.
    #[command(hide = true)]
    Whoami,
    /// What the local cache holds, as the Python `huggingface-cli scan-cache` (see `cache ls`).
    #[command(hide = true)]
    ScanCache {
        /// The cache folder (default: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub).
        #[arg(long, visible_alias = "cache-dir", value_name = "DIR")]
        dir: Option<PathBuf>,
        /// One row per revision; -vvv also prints the warnings.
        #[arg(short, long, action = ArgAction::Count)]
        verbose: u8,
        /// Print a JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Same as `cache rm`.
    #[command(hide = true)]
    DeleteCache(cache::RmArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let res = match cli.command {
        Command::Auth(command) => auth::run(command),
        Command::Download(args) => download::run(args),
        Command::Upload(args) => upload::run(args),
        Command::Repos(command) => repos::run(command),
        Command::Cache(command) => cache::run(command),
        Command::Models(command) => list::run(hub_url::RepoType::Model, command),
        Command::Datasets(command) => list::run(hub_url::RepoType::Dataset, command),
        Command::Spaces(command) => list::run(hub_url::RepoType::Space, command),
        Command::Env => env::run(),
        Command::Version => {
            outln!("hub-cli {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "hub-cli", &mut out);
            outln!("{}", String::from_utf8_lossy(&out).trim_end());
            Ok(())
        }
        Command::LfsEnableLargefiles { path } => lfs::enable_largefiles(&path),
        Command::LfsMultipartUpload => lfs::multipart_upload(),
        Command::Login(args) => auth::run_login(args),
        Command::Logout(args) => auth::run_logout(args),
        Command::Whoami => auth::run_whoami(),
        Command::ScanCache { dir, verbose, json } => scan_cache::run(dir, verbose, json),
        Command::DeleteCache(args) => args.run(),
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
    // A library error's source (`Box<hub_api::Error>`) is the box in the chain.
    let api = error
        .downcast_ref::<hub_api::Error>()
        .or_else(|| error.downcast_ref::<Box<hub_api::Error>>().map(|b| &**b))
        .or_else(|| match error.downcast_ref::<hub_lfs::Error>() {
            Some(hub_lfs::Error::Api(api)) => Some(api),
            _ => None,
        });
    match api {
        Some(hub_api::Error::NotLoggedIn) => {
            "not logged in: run `hub-cli auth login` or set HF_TOKEN".to_owned()
        }
        Some(hub_api::Error::RepoExists { repo, url }) => {
            format!("repository {repo} already exists at {url}; pass --exist-ok to use it as it is")
        }
        Some(e @ hub_api::Error::RateLimited { .. }) => {
            e.to_string().replace("`hf auth login`", "`hub-cli auth login`")
        }
        _ => error.to_string(),
    }
}
