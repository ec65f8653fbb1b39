//! `hub-cli download`: one file, several files or a whole repo into the cache (or a local
//! dir). Prints only the resulting path on stdout (the file for one file, the snapshot folder
//! otherwise), so scripts can use `$(hub-cli download …)`. Progress bars go to stderr, and only
//! to a terminal.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, TryStreamExt};
use hub_api::{
    DownloadOptions, HubClient, InfoOptions, Patterns, Progress, SnapshotOptions, TransferConfig,
};
use hub_cache::{CacheLookup, LocalDir};
use hub_url::{Repo, RepoPath, Revision};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::args::{RepoArgs, TokenArg};
use crate::common::{ProgressBars, runtime};
use crate::format;
use crate::scan_cache::cache_dir;

/// The arguments of `hub-cli download`.
#[derive(Debug, clap::Args)]
pub(crate) struct DownloadArgs {
    #[command(flatten)]
    repo: RepoArgs,
    /// Files to download; none means the whole repo (filtered by --include/--exclude).
    #[arg(value_name = "FILES")]
    files: Vec<String>,
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
    #[command(flatten)]
    token: TokenArg,
    /// Files downloaded at once.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = parse_workers)]
    max_workers: u16,
    /// Show what would be downloaded (sizes, and what is already cached) and stop.
    #[arg(long)]
    dry_run: bool,
    /// No progress bars and no messages: only the path.
    #[arg(short, long)]
    quiet: bool,
}

/// `--max-workers`: a count of files, so at least one (clap's range check would say
/// `0 is not in 1..=65535`, in Rust's words).
fn parse_workers(s: &str) -> Result<u16, String> {
    s.parse().ok().filter(|n| *n > 0).ok_or_else(|| "expected a number from 1 to 65535".to_owned())
}

pub(crate) fn run(args: DownloadArgs) -> anyhow::Result<()> {
    let repo = args.repo.repo()?;
    let client = args.token.client()?;
    let mut options = DownloadOptions::new(cache_dir(args.cache_dir.clone())?)
        .with_force_download(args.force_download)
        .with_transfer(TransferConfig::from_env()?);
    options.local_dir = args.local_dir.clone();
    if let Some(revision) = &args.revision {
        options = options.with_revision(revision.parse()?);
    }
    if args.dry_run {
        return runtime()?.block_on(dry_run(&client, &repo, &args, &options));
    }
    if !args.quiet {
        options = options.with_progress(Arc::new(Bars::new(ProgressBars::from_env().shown)));
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
                let snapshot = SnapshotOptions::default()
                    .with_allow_patterns(args.include.clone())
                    .with_ignore_patterns(args.exclude.clone())
                    .with_max_workers(args.max_workers.into());
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
                    .buffer_unordered(args.max_workers.into());
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

/// `--dry-run`: one request (the repo's info with its files' sizes), then a table of what
/// would be fetched and what is already there, on stdout.
async fn dry_run(
    client: &HubClient,
    repo: &Repo,
    args: &DownloadArgs,
    options: &DownloadOptions,
) -> anyhow::Result<()> {
    let revision = &options.revision;
    let info = client
        .repo_info(
            repo,
            &InfoOptions::default().with_revision(revision.clone()).with_files_metadata(true),
        )
        .await?;
    let commit = info.sha.clone().unwrap_or_else(|| revision.as_str().to_owned());
    let at: Revision = commit.parse()?;
    let local = options.local_dir.clone().map(LocalDir::new);
    let patterns = Patterns::new(&args.include, &args.exclude);
    let mut missing: Vec<&str> = args.files.iter().map(String::as_str).collect();
    let mut rows = Vec::new();
    let (mut total, mut to_fetch, mut fetched) = (0, 0, 0usize);
    for sibling in &info.siblings {
        let name = sibling.rfilename.as_str();
        let wanted =
            if args.files.is_empty() { patterns.keeps(name) } else { missing.contains(&name) };
        if !wanted {
            continue;
        }
        missing.retain(|f| *f != name);
        let size = sibling.file_size().unwrap_or(0);
        let path: RepoPath = name.parse()?;
        // As a download would tell: a local-dir file recorded at this commit or with this
        // content, else the cache's file at this commit.
        let there = !args.force_download
            && match &local {
                Some(dir) => dir.read_metadata(&path).is_some_and(|m| {
                    m.commit.as_str() == commit || Some(m.etag.as_str()) == sibling.etag()
                }),
                None => matches!(
                    hub_cache::try_to_load_from_cache(&options.cache, repo, &path, &at)?,
                    CacheLookup::Found(_)
                ),
            };
        total += size;
        if !there {
            to_fetch += size;
            fetched += 1;
        }
        let status = if there { "cached" } else { "download" };
        rows.push(vec![name.to_owned(), format::size(size), status.to_owned()]);
    }
    if let Some(file) = missing.first() {
        anyhow::bail!("{file} is not in {repo} at {revision}");
    }
    outln!("{}", format::table(&["FILE", "SIZE", "ACTION"], &rows, &[1]));
    outln!(
        "\n{} file(s) of {repo} at {commit}, {} in all: {fetched} to download ({}), {} cached.",
        rows.len(),
        format::size(total),
        format::size(to_fetch),
        rows.len() - fetched,
    );
    Ok(())
}

/// The patterns as they were given: `--include 'a*' --exclude 'b'`.
fn filters(include: &[String], exclude: &[String]) -> String {
    let include = include.iter().map(|p| format!("--include '{p}'"));
    let exclude = exclude.iter().map(|p| format!("--exclude '{p}'"));
    include.chain(exclude).collect::<Vec<_>>().join(" ")
}

/// One bar per file being downloaded, on stderr when it is a terminal; and, drawn or not, one
/// line when the download waits for another process or node.
struct Bars {
    multi: MultiProgress,
    bars: Mutex<Vec<(String, ProgressBar)>>,
    /// Per file, whom it was last told to wait for.
    waits: Mutex<Vec<(String, Option<String>)>>,
    style: ProgressStyle,
    draw: bool,
}

impl Bars {
    fn new(draw: bool) -> Bars {
        let style = ProgressStyle::with_template(
            "{msg:30!} {bar:30} {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12} {eta:>4}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        Bars {
            multi: crate::common::progress_bars(),
            bars: Mutex::new(Vec::new()),
            waits: Mutex::new(Vec::new()),
            style,
            draw,
        }
    }

    fn bar(&self, file: &str, size: u64, message: String) -> ProgressBar {
        let bar =
            if self.draw { self.multi.add(ProgressBar::new(size)) } else { ProgressBar::hidden() };
        bar.set_style(self.style.clone());
        bar.set_message(message);
        if let Ok(mut bars) = self.bars.lock() {
            bars.retain(|(name, old)| {
                let keep = name != file;
                if !keep {
                    old.finish_and_clear();
                }
                keep
            });
            bars.push((file.to_owned(), bar.clone()));
        }
        bar
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
        self.bar(file, size, file.to_owned()).set_position(done);
        if let Ok(mut waits) = self.waits.lock() {
            waits.retain(|(name, _)| name != file);
        }
    }

    /// `waiting for node-7 (pid 4121): 43% of model.safetensors`, once per file and writer,
    /// above the bars; the bar follows the other writer's progress.
    fn waiting(&self, file: &str, waiting: &hub_cache::Waiting) {
        let holder = waiting.holder.as_ref().map(ToString::to_string);
        let told = self.waits.lock().ok().map(|mut waits| {
            match waits.iter_mut().find(|(name, _)| name == file) {
                Some((_, seen)) if *seen == holder => true,
                Some((_, seen)) => {
                    *seen = holder.clone();
                    false
                }
                None => {
                    waits.push((file.to_owned(), holder.clone()));
                    false
                }
            }
        });
        if told == Some(false) {
            let line = format!("waiting for {waiting} of {file}");
            match self.draw {
                true => self.multi.suspend(|| eprintln!("{line}")),
                false => eprintln!("{line}"),
            }
            let who = holder.unwrap_or_else(|| "another process".to_owned());
            self.bar(file, waiting.size, format!("{file} (by {who})"));
        }
        self.with(file, |bar| bar.set_position(waiting.done.unwrap_or(0)));
    }

    fn advance(&self, file: &str, bytes: u64) {
        self.with(file, |bar| bar.inc(bytes));
    }

    fn finish(&self, file: &str) {
        self.with(file, ProgressBar::finish);
    }
}
