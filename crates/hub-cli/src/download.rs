//! `hub-cli download`: one file, several files or a whole repo into the cache (or a local
//! dir). Prints only the resulting path on stdout (the file for one file, the snapshot folder
//! otherwise), so scripts can use `$(hub-cli download …)`. Progress bars go to stderr, and only
//! to a terminal.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, TryStreamExt};
use hub_api::{DownloadOptions, Progress, SnapshotOptions, Token, TransferConfig};
use hub_url::{Repo, RepoType};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::common::{ProgressBars, client_builder, runtime};
use crate::scan_cache::cache_dir;

/// The arguments of `hub-cli download`.
#[derive(Debug, clap::Args)]
pub(crate) struct DownloadArgs {
    /// The repo: `org/name` (a model unless --repo-type says otherwise).
    #[arg(value_name = "REPO_ID")]
    repo_id: String,
    /// Files to download; none means the whole repo (filtered by --include/--exclude).
    #[arg(value_name = "FILES")]
    files: Vec<String>,
    /// model, dataset or space.
    #[arg(long, default_value = "model", value_name = "TYPE")]
    repo_type: String,
    /// A branch, tag, commit or refs/pr/N (default: main).
    #[arg(long, value_name = "REVISION")]
    revision: Option<String>,
    /// Only files matching this pattern (repeatable; `*` also matches `/`).
    #[arg(long = "include", value_name = "PATTERN")]
    include: Vec<String>,
    /// Never files matching this pattern (repeatable).
    #[arg(long = "exclude", value_name = "PATTERN")]
    exclude: Vec<String>,
    /// The cache folder (default: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Put plain files in this folder instead of the cache.
    #[arg(long, value_name = "DIR")]
    local_dir: Option<PathBuf>,
    /// Download even when cached.
    #[arg(long)]
    force_download: bool,
    /// The token (default: HF_TOKEN, else the token file of `hub-cli login`).
    #[arg(long, value_name = "TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Files downloaded at once (at least 1).
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = at_least_one)]
    max_workers: usize,
    /// No progress bars and no messages: only the path.
    #[arg(short, long)]
    quiet: bool,
}

pub(crate) fn run(args: DownloadArgs) -> anyhow::Result<()> {
    let repo_type: RepoType = args.repo_type.parse()?;
    let repo = Repo::new(repo_type, args.repo_id.parse()?);
    let mut builder = client_builder()?;
    if let Some(token) = &args.token {
        builder = builder.token(Some(Token::new(token)?));
    }
    let client = builder.build()?;
    let mut options = DownloadOptions::new(cache_dir(args.cache_dir.clone())?)
        .local_dir(args.local_dir.clone())
        .force_download(args.force_download)
        .transfer(TransferConfig::from_env()?);
    if let Some(revision) = &args.revision {
        options = options.revision(revision.parse()?);
    }
    if !args.quiet && ProgressBars::from_env().shown {
        options = options.progress(Arc::new(Bars::default()));
    }
    if !args.files.is_empty()
        && (!args.include.is_empty() || !args.exclude.is_empty())
        && !args.quiet
    {
        eprintln!("warning: --include and --exclude are ignored when files are named");
    }
    let path = runtime()?.block_on(async {
        match args.files.as_slice() {
            [file] => client.hf_hub_download(&repo, file, &options).await,
            [] => {
                let snapshot = SnapshotOptions {
                    allow_patterns: args.include.clone(),
                    ignore_patterns: args.exclude.clone(),
                    max_workers: args.max_workers,
                };
                let done = client.snapshot_download_detailed(&repo, &options, &snapshot).await?;
                let filtered = !args.include.is_empty() || !args.exclude.is_empty();
                if filtered && !args.quiet && done.files.as_ref().is_some_and(Vec::is_empty) {
                    eprintln!(
                        "warning: no file of {repo} matches {}; nothing was downloaded",
                        filters(&args.include, &args.exclude)
                    );
                }
                Ok(done.folder)
            }
            files => {
                // Each named file must exist: fetched one by one (a few at once), never
                // filtered out of a listing.
                let downloads =
                    futures_util::stream::iter(files.iter().map(|file| {
                        let (client, repo, options) = (&client, &repo, &options);
                        async move {
                            client.hf_hub_download(repo, file, options).await.map(|p| (file, p))
                        }
                    }))
                    .buffer_unordered(args.max_workers.max(1));
                let done: Vec<(&String, PathBuf)> = downloads.try_collect().await?;
                Ok(match (&args.local_dir, done.first()) {
                    (Some(dir), _) => dir.clone(),
                    // The snapshot folder: the file's path without its path in the repo.
                    (None, Some((file, path))) => path
                        .ancestors()
                        .nth(file.split('/').count())
                        .map_or_else(|| path.clone(), std::path::Path::to_path_buf),
                    (None, None) => PathBuf::new(),
                })
            }
        }
    })?;
    outln!("{}", path.display());
    Ok(())
}

/// `--max-workers`: a whole number, 1 or more (0 would download nothing, forever).
fn at_least_one(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("it must be a whole number of files at once, 1 or more".to_owned()),
    }
}

/// The patterns as they were given: `--include 'a*' --exclude 'b'`.
fn filters(include: &[String], exclude: &[String]) -> String {
    let include = include.iter().map(|p| format!("--include '{p}'"));
    let exclude = exclude.iter().map(|p| format!("--exclude '{p}'"));
    include.chain(exclude).collect::<Vec<_>>().join(" ")
}

/// One bar per file being downloaded, on stderr.
struct Bars {
    multi: MultiProgress,
    bars: Mutex<Vec<(String, ProgressBar)>>,
    style: ProgressStyle,
}

impl Default for Bars {
    fn default() -> Bars {
        let style = ProgressStyle::with_template(
            "{msg:30!} {bar:30} {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12} {eta:>4}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(Vec::new()),
            style,
        }
    }
}

impl std::fmt::Debug for Bars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bars").finish_non_exhaustive()
    }
}

impl Bars {
    fn with<T>(&self, file: &str, f: impl FnOnce(&ProgressBar) -> T) -> Option<T> {
        let bars = self.bars.lock().ok()?;
        bars.iter().find(|(name, _)| name == file).map(|(_, bar)| f(bar))
    }
}

impl Progress for Bars {
    fn start(&self, file: &str, size: u64, done: u64) {
        let bar = self.multi.add(ProgressBar::new(size));
        bar.set_style(self.style.clone());
        bar.set_message(file.to_owned());
        bar.set_position(done);
        if let Ok(mut bars) = self.bars.lock() {
            bars.retain(|(name, _)| name != file);
            bars.push((file.to_owned(), bar));
        }
    }

    fn advance(&self, file: &str, bytes: u64) {
        self.with(file, |bar| bar.inc(bytes));
    }

    fn finish(&self, file: &str) {
        self.with(file, ProgressBar::finish);
    }
}
