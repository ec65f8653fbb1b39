//! `hub-cli cache ls|rm|prune|verify|export|import`, the Python `hf cache` commands and more,
//! for one person's cache or a cluster's shared one: what the cache holds (filtered, sorted, as
//! a table or JSON), deleting repos or revisions, pruning detached or unused revisions,
//! checking every cached file against the hash its blob is named by (with stamps that make a
//! second run nearly free, and `--repair`, the only subcommand that asks the Hub), and moving a
//! subset of the cache to a site with no network as one tar archive.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use clap::Subcommand;
use hub_api::DownloadOptions;
use hub_cache::{
    CacheDir, CacheInfo, CachedRepo, DeletePlan, DeleteTarget, Etag, FileState, Stamps,
};
use hub_url::{Repo, RepoType, Revision};
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::{Format, FormatArg, RepoTypeArg, TokenArg, parse_repo};
use crate::common::{ProgressBars, runtime};
use crate::delete_cache::{self, confirm};
use crate::format;
use crate::scan_cache::{self, Entry, Filter, JsonRepo, JsonRevision, Sort, cache_dir};

/// `--cache-dir`, with the seed's `--dir` as an alias.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct CacheDirArg {
    /// The cache folder (default: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub).
    #[arg(long = "cache-dir", visible_alias = "dir", value_name = "DIR")]
    pub(crate) cache_dir: Option<PathBuf>,
}

/// `hub-cli cache rm` (and the seed's `delete-cache`) arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct RmArgs {
    #[command(flatten)]
    dir: CacheDirArg,
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
}

impl RmArgs {
    /// Deletes the targets, after showing what goes (and asking, unless -y).
    pub(crate) fn run(self) -> anyhow::Result<()> {
        delete_cache::run(self.dir.cache_dir, &self.targets, self.dry_run, self.yes)
    }
}

/// `hub-cli cache ls` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct LsArgs {
    #[command(flatten)]
    dir: CacheDirArg,
    /// One row per revision instead of per repo.
    #[arg(long)]
    revisions: bool,
    /// Keep only the rows that match, as `hf cache ls`: KEY OP VALUE with KEY size, accessed,
    /// modified, type or refs and OP =, !=, >, <, >=, <= (size>1GB, accessed>30d: not accessed
    /// for 30 days, type=dataset, refs=main). Repeat to require several.
    #[arg(short = 'f', long = "filter", value_name = "EXPR")]
    filters: Vec<Filter>,
    /// Sort by accessed, modified, name or size, with :asc or :desc (default: newest or
    /// biggest first; names alphabetically).
    #[arg(long, value_name = "KEY")]
    sort: Option<Sort>,
    /// Only the first N rows (after sorting).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    #[command(flatten)]
    format: FormatArg,
    /// Only the repo ids (with --revisions: the commit hashes), one a line.
    #[arg(short, long)]
    quiet: bool,
}

/// `hub-cli cache verify` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The repos to check (`org/name`, `datasets/org/name`, …); none: every cached repo.
    #[arg(value_name = "REPO_ID")]
    repos: Vec<String>,
    #[command(flatten)]
    repo_type: RepoTypeArg,
    /// Only this cached revision (a commit hash, or a ref the cache knows).
    #[arg(long)]
    revision: Option<String>,
    /// Hash every blob, even those verified before and unchanged since.
    #[arg(long)]
    deep: bool,
    /// Download the files that do not match again (from the Hub, at their commit).
    #[arg(long)]
    repair: bool,
    #[command(flatten)]
    token: TokenArg,
    #[command(flatten)]
    dir: CacheDirArg,
}

/// `hub-cli cache` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum CacheCommand {
    /// List the cached repos (or, with --revisions, their revisions): sizes, refs, paths.
    ///
    /// Sizes count each file on disk once: blobs hard-linked across repos, or shared through
    /// the Python library's store (`<cache>/blobs/`), count once in the total.
    Ls(LsArgs),
    /// Delete repos or revisions from the cache, showing first what goes (asks unless -y).
    ///
    /// Blobs still used by a remaining revision are kept; a blob shared with another repo
    /// through the shared store stays for that repo.
    Rm(RmArgs),
    /// Delete the detached revisions (no branch or tag points to them any more) and, with
    /// --older-than, the revisions not accessed for that long; and what dead downloads left:
    /// partial files of writers gone from this host, or untouched for an hour with no renewed
    /// lease naming them, and lease files nobody renews.
    Prune {
        #[command(flatten)]
        dir: CacheDirArg,
        /// Also delete the revisions whose files were not accessed within this duration
        /// (30d, 12h, 2w, 6mo; a bare number is seconds), refs or not.
        #[arg(long, value_name = "DURATION", value_parser = scan_cache::parse_duration)]
        older_than: Option<Duration>,
        /// Show what would be deleted and stop.
        #[arg(long)]
        dry_run: bool,
        /// Delete without asking.
        #[arg(short = 'y', long = "yes")]
        yes: bool,
    },
    /// Check cached files against their hashes; exits with 1 when one does not match (and
    /// was not repaired).
    ///
    /// Each file must hash to the name of its blob: the sha256 of an LFS file, the git blob id
    /// of the others. A blob verified before and unchanged since (same size, times and inode)
    /// is not read again, unless --deep.
    Verify(VerifyArgs),
    /// Write cached revisions to one tar archive, for a site with no network.
    ///
    /// REPO is `org/name`, `datasets/org/name`, …; `REPO@REV` takes one revision (a ref, or a
    /// commit hash or its prefix), REPO alone every cached revision.
    Export {
        /// What to export: REPO or REPO@REV (repeatable).
        #[arg(required = true, value_name = "REPO[@REV]")]
        items: Vec<String>,
        #[command(flatten)]
        repo_type: RepoTypeArg,
        /// The archive to write.
        #[arg(short = 'o', long = "output", value_name = "FILE.tar")]
        output: PathBuf,
        #[command(flatten)]
        dir: CacheDirArg,
    },
    /// Place an archive of `cache export` into the cache, checking every entry and blob first.
    ///
    /// What the cache already has is kept; a ref that points elsewhere is kept and reported.
    Import {
        /// The archive.
        #[arg(value_name = "FILE.tar")]
        archive: PathBuf,
        #[command(flatten)]
        dir: CacheDirArg,
    },
}

pub(crate) fn run(command: CacheCommand) -> anyhow::Result<()> {
    match command {
        CacheCommand::Ls(args) => ls(args),
        CacheCommand::Rm(args) => args.run(),
        CacheCommand::Prune { dir, older_than, dry_run, yes } => {
            prune(dir, older_than, dry_run, yes)
        }
        CacheCommand::Verify(args) => verify(args),
        CacheCommand::Export { items, repo_type, output, dir } => {
            export(&items, repo_type, &output, dir)
        }
        CacheCommand::Import { archive, dir } => import(&archive, dir),
    }
}

fn ls(args: LsArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let info = cache_dir(args.dir.cache_dir)?.scan()?;
    let now = SystemTime::now();
    let mut entries: Vec<Entry<'_>> = if args.revisions {
        info.repos.iter().flat_map(|r| r.revisions.iter().map(move |rev| (r, Some(rev)))).collect()
    } else {
        info.repos.iter().map(|r| (r, None)).collect()
    };
    entries.retain(|entry| args.filters.iter().all(|f| f.matches(*entry, now)));
    if let Some(sort) = args.sort {
        sort.apply(&mut entries);
    }
    if let Some(limit) = args.limit {
        entries.truncate(limit);
    }
    if args.quiet {
        for (repo, rev) in &entries {
            match rev {
                Some(rev) => outln!("{}", rev.commit_hash),
                // As `hf cache ls -q`, in the form `cache rm` takes: `model/org/name`.
                None => outln!("{}/{}", repo.repo.repo_type(), repo.repo.id()),
            }
        }
        return Ok(());
    }
    let format = args.format.get();
    if format == Format::Table {
        if args.revisions {
            outln!("{}", scan_cache::revision_table_of(&entries, now));
        } else {
            outln!("{}", scan_cache::repo_table_of(&entries, now));
        }
        scan_cache::summary(&info, started, 0);
        if !args.filters.is_empty() || args.limit.is_some() {
            outln!(
                "Shown: {} of {} {} ({}, each file counted once).",
                entries.len(),
                if args.revisions {
                    info.repos.iter().map(|r| r.revisions.len()).sum::<usize>()
                } else {
                    info.repos.len()
                },
                if args.revisions { "revision(s)" } else { "repo(s)" },
                format::size(shown_size(&entries))
            );
        }
        return Ok(());
    }
    let items = entries
        .iter()
        .map(|(repo, rev)| match rev {
            Some(rev) => {
                let mut value = serde_json::to_value(JsonRevision::from(*rev))?;
                value["repo_id"] = repo.repo.id().to_string().into();
                value["repo_type"] = repo.repo.repo_type().to_string().into();
                Ok(value)
            }
            None => serde_json::to_value(JsonRepo::from(*repo)),
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()?;
    crate::args::print_json(format, &items)
}

/// The bytes on disk of the rows, each file once (by device and inode).
fn shown_size(entries: &[Entry<'_>]) -> u64 {
    let mut seen = std::collections::HashSet::new();
    entries
        .iter()
        .flat_map(|(repo, rev)| match rev {
            Some(rev) => rev.files.iter().collect::<Vec<_>>(),
            None => repo.revisions.iter().flat_map(|r| &r.files).collect(),
        })
        .filter(|f| seen.insert(f.file_id.map_or_else(|| Err(f.blob_path.clone()), Ok)))
        .map(|f| f.size_on_disk)
        .sum()
}

/// Why `cache prune` deletes a revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PruneReason {
    /// No ref points to it.
    Detached,
    /// Its files were not accessed within `--older-than`.
    NotAccessed,
}

/// One section of what `cache prune` deletes: one kind of item, shown under its title and
/// deleted in turn. A new kind of item (partial downloads, stale lease files) is a new
/// [`PruneAction`] and a section built for it.
struct PruneSection {
    /// The section's title, with its count.
    title: String,
    /// One line per item.
    lines: Vec<String>,
    /// Bytes it frees.
    freed: u64,
    action: PruneAction,
}

/// How a section's items are deleted.
enum PruneAction {
    /// Revisions, through the cache's delete plan (refs, snapshots, blobs, shared store).
    Revisions(DeletePlan),
    /// Partial files and lease files of dead downloads.
    Leftovers(Vec<hub_cache::Leftover>),
}

impl PruneAction {
    fn execute(&self) -> anyhow::Result<()> {
        match self {
            PruneAction::Revisions(plan) => Ok(plan.execute()?),
            PruneAction::Leftovers(files) => {
                files.iter().try_for_each(hub_cache::Leftover::remove).map_err(Into::into)
            }
        }
    }
}

/// The revisions section: detached ones and, with `older_than`, the ones not accessed since.
fn revision_section(info: &CacheInfo, older_than: Option<Duration>) -> Option<PruneSection> {
    let now = SystemTime::now();
    let mut reasons: BTreeMap<(Repo, String), Vec<PruneReason>> = BTreeMap::new();
    for repo in &info.repos {
        for rev in repo.revisions.iter().filter(|rev| rev.refs.is_empty()) {
            reasons
                .entry((repo.repo.clone(), rev.commit_hash.clone()))
                .or_default()
                .push(PruneReason::Detached);
        }
    }
    if let Some(older_than) = older_than {
        for key in info.revisions_not_accessed_for(older_than, now) {
            reasons.entry(key).or_default().push(PruneReason::NotAccessed);
        }
    }
    if reasons.is_empty() {
        return None;
    }
    let targets: Vec<DeleteTarget> =
        reasons.keys().map(|(_, commit)| DeleteTarget::Revision(commit.clone())).collect();
    let plan = info.plan_delete(&targets);
    let lines = reasons
        .iter()
        .map(|((repo, commit), why)| {
            let rev = info
                .repos
                .iter()
                .find(|r| &r.repo == repo)
                .and_then(|r| r.revisions.iter().find(|rev| &rev.commit_hash == commit));
            let refs = rev
                .map(|r| r.refs.iter().cloned().collect::<Vec<_>>().join(", "))
                .filter(|r| !r.is_empty())
                .map_or_else(|| "detached".to_owned(), |r| format!("refs: {r}"));
            let why = why
                .iter()
                .map(|w| match w {
                    PruneReason::Detached => "no ref points to it".to_owned(),
                    PruneReason::NotAccessed => format!(
                        "not accessed for {}",
                        format::time_since(rev.and_then(|r| r.last_accessed), now)
                            .trim_end_matches(" ago")
                    ),
                })
                .collect::<Vec<_>>()
                .join("; ");
            format!("  {} ({}) {commit} [{refs}]: {why}", repo.id(), repo.repo_type())
        })
        .collect();
    Some(PruneSection {
        title: format!("Revisions ({}):", reasons.len()),
        lines,
        freed: plan.expected_freed_size,
        action: PruneAction::Revisions(plan),
    })
}

/// How long a partial file or lease of a writer whose liveness cannot be asked (another
/// node's, the Python library's) must have been left unmodified to count as abandoned.
const LEFTOVER_GRACE: Duration = Duration::from_secs(3600);

/// The section of partial downloads and lease files that dead writers left.
fn leftover_section(cache: &hub_cache::CacheDir) -> Option<PruneSection> {
    let files = cache.leftovers(LEFTOVER_GRACE);
    if files.is_empty() {
        return None;
    }
    let lines = files
        .iter()
        .map(|f| {
            let what = match f.kind {
                hub_cache::LeftoverKind::Partial => "partial download of a dead writer",
                hub_cache::LeftoverKind::StaleLease => "lease nobody renews",
                _ => "leftover",
            };
            format!("  {} ({what}, {})", f.path.display(), format::size(f.size))
        })
        .collect();
    Some(PruneSection {
        title: format!("Leftovers of dead downloads ({}):", files.len()),
        lines,
        freed: files.iter().map(|f| f.size).sum(),
        action: PruneAction::Leftovers(files),
    })
}

fn prune(
    dir: CacheDirArg,
    older_than: Option<Duration>,
    dry_run: bool,
    yes: bool,
) -> anyhow::Result<()> {
    let cache = cache_dir(dir.cache_dir)?;
    let info = cache.scan()?;
    let sections: Vec<PruneSection> =
        [revision_section(&info, older_than), leftover_section(&cache)]
            .into_iter()
            .flatten()
            .collect();
    if sections.is_empty() {
        match older_than {
            None => eprintln!(
                "Nothing to prune: every cached revision has a ref, and no dead download left \
                 a file."
            ),
            Some(_) => eprintln!(
                "Nothing to prune: every cached revision has a ref and was accessed recently."
            ),
        }
        return Ok(());
    }
    for section in &sections {
        outln!("{} frees {}", section.title, format::size(section.freed));
        for line in &section.lines {
            outln!("{line}");
        }
    }
    let freed = format::size(sections.iter().map(|s| s.freed).sum());
    outln!("Will free {freed}.");
    if dry_run {
        outln!("Dry run: nothing deleted.");
        return Ok(());
    }
    if !yes && !confirm()? {
        bail!("aborted: nothing deleted (answer 'y', or pass -y to delete without asking)");
    }
    for section in &sections {
        section.action.execute()?;
    }
    outln!("Deleted. Freed {freed}.");
    Ok(())
}

/// One blob to check: its repo, its path (`blobs/<etag>`, or a snapshot file that is a copy),
/// and a snapshot file that uses it (what `--repair` downloads again).
struct BlobJob<'a> {
    repo: &'a CachedRepo,
    blob_path: PathBuf,
    etag: Option<Etag>,
    commit: String,
    file_name: String,
    file_path: PathBuf,
    size: u64,
}

/// What checking one blob found.
enum Outcome {
    /// It matched its name (hashed now, in this state).
    Good(FileState),
    /// Its stamp says it matched, and it has not changed since.
    Fresh,
    /// It does not match: why.
    Bad(String),
}

fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let cache = cache_dir(args.dir.cache_dir.clone())?;
    let info = cache.scan()?;
    let repos: Vec<&CachedRepo> = if args.repos.is_empty() {
        info.repos
            .iter()
            .filter(|r| args.repo_type.repo_type.is_none_or(|t| r.repo.repo_type() == t))
            .collect()
    } else {
        let mut repos = Vec::new();
        for id in &args.repos {
            let wanted = parse_repo(id, args.repo_type.repo_type)?;
            let cached = info.repos.iter().find(|r| r.repo == wanted).with_context(|| {
                format!("{wanted} is not in the cache {}", info.cache_dir.display())
            })?;
            repos.push(cached);
        }
        repos
    };
    let mut jobs = Vec::new();
    for repo in &repos {
        let revisions: Vec<_> = repo
            .revisions
            .iter()
            .filter(|rev| {
                args.revision
                    .as_deref()
                    .is_none_or(|r| rev.commit_hash.starts_with(r) || rev.refs.contains(r))
            })
            .collect();
        if revisions.is_empty() && !args.repos.is_empty() {
            bail!(
                "{} has no cached revision {}; `hub-cli cache ls --revisions` lists them",
                repo.repo,
                args.revision.as_deref().unwrap_or_default()
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for rev in revisions {
            for file in &rev.files {
                if !seen.insert(file.blob_path.clone()) {
                    continue;
                }
                let name = file.blob_path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                jobs.push(BlobJob {
                    repo,
                    blob_path: file.blob_path.clone(),
                    etag: Etag::new(name).ok(),
                    commit: rev.commit_hash.clone(),
                    file_name: file.file_name.clone(),
                    file_path: file.file_path.clone(),
                    size: file.size_on_disk,
                });
            }
        }
    }
    if jobs.is_empty() {
        if let Some(rev) = &args.revision {
            bail!("no cached repo has a revision {rev}; `hub-cli cache ls --revisions` lists them");
        }
        eprintln!("Nothing to verify: the cache {} holds no file.", info.cache_dir.display());
        return Ok(());
    }
    let mut stamps: BTreeMap<PathBuf, Stamps> =
        repos.iter().map(|r| (r.path.clone(), Stamps::load(&r.path))).collect();
    let outcomes = check_all(&jobs, &stamps, args.deep);
    let mut bad: Vec<(&BlobJob<'_>, String)> = Vec::new();
    let (mut hashed, mut fresh) = (0usize, 0usize);
    for (job, outcome) in jobs.iter().zip(outcomes) {
        let etag = job.etag.as_ref().map(Etag::as_str).unwrap_or_default();
        let repo_stamps = stamps.get_mut(&job.repo.path);
        match outcome {
            Outcome::Good(state) => {
                hashed += 1;
                if let Some(s) = repo_stamps {
                    s.record(etag, state);
                }
            }
            Outcome::Fresh => fresh += 1,
            Outcome::Bad(problem) => {
                hashed += 1;
                if let Some(s) = repo_stamps {
                    s.forget(etag);
                }
                eprintln!("{}: {problem}", job.file_path.display());
                bad.push((job, problem));
            }
        }
    }
    let mut unrepaired = bad.len();
    if args.repair && !bad.is_empty() {
        unrepaired = repair(&args, &cache, &bad, &mut stamps)?;
    }
    for stamp in stamps.values_mut() {
        if let Err(e) = stamp.save() {
            eprintln!("warning: verification stamps not saved: {e}");
        }
    }
    let total = jobs.len();
    let what = if repos.len() == 1 {
        repos[0].repo.to_string()
    } else {
        format!("{} repo(s)", repos.len())
    };
    if unrepaired > 0 {
        let hint = if args.repair {
            "the repair failed for them (see above)"
        } else {
            "run again with --repair to download them again, or delete them with `hub-cli cache rm`"
        };
        bail!("{unrepaired} of {total} cached file(s) of {what} do not match their hash; {hint}");
    }
    let repaired = if bad.is_empty() { String::new() } else { format!(", {} repaired", bad.len()) };
    eprintln!(
        "Verified {total} cached file(s) of {what}: every one matches its hash ({hashed} hashed, \
         {fresh} unchanged since verified{repaired}; files never downloaded are not checked)."
    );
    Ok(())
}

/// Checks the blobs, a few at once, with a bar of bytes on a terminal.
fn check_all(jobs: &[BlobJob<'_>], stamps: &BTreeMap<PathBuf, Stamps>, deep: bool) -> Vec<Outcome> {
    let bar = if ProgressBars::from_env().shown {
        let bar = ProgressBar::new(jobs.iter().map(|j| j.size).sum());
        let style = ProgressStyle::with_template(
            "Verifying {bar:30} {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12} {eta:>4}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        Some(bar)
    } else {
        None
    };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.min(jobs.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let outcome = check_one(job, stamps.get(&job.repo.path), deep, bar.as_ref());
                    if let Ok(mut results) = results.lock() {
                        results[i] = Some(outcome);
                    }
                }
            });
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Outcome::Bad("could not be checked".to_owned())))
        .collect()
}

fn check_one(
    job: &BlobJob<'_>,
    stamps: Option<&Stamps>,
    deep: bool,
    bar: Option<&ProgressBar>,
) -> Outcome {
    let name = job.blob_path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let Some(etag) = &job.etag else {
        return Outcome::Bad(format!("its blob {name} is not named by a hash"));
    };
    let before = match FileState::of(&job.blob_path) {
        Ok(state) => state,
        Err(e) => return Outcome::Bad(format!("cannot be read: {e}")),
    };
    if !deep && stamps.is_some_and(|s| s.is_fresh(etag.as_str(), &before)) {
        if let Some(bar) = bar {
            bar.inc(job.size);
        }
        return Outcome::Fresh;
    }
    let on_bytes = |n: u64| {
        if let Some(bar) = bar {
            bar.inc(n);
        }
    };
    match hub_cache::blob_digest(&job.blob_path, etag, &on_bytes) {
        Ok(actual) if actual == etag.as_str() => {
            // A stamp only for the state that was hashed: a file changed meanwhile gets none.
            match FileState::of(&job.blob_path) {
                Ok(after) if after == before => Outcome::Good(after),
                _ => Outcome::Fresh,
            }
        }
        Ok(actual) => Outcome::Bad(format!("expected {name}, found {actual}")),
        Err(e) => Outcome::Bad(format!("cannot be read: {e}")),
    }
}

/// Deletes each bad blob and downloads its file again at its commit; returns how many could
/// not be repaired.
fn repair(
    args: &VerifyArgs,
    cache: &CacheDir,
    bad: &[(&BlobJob<'_>, String)],
    stamps: &mut BTreeMap<PathBuf, Stamps>,
) -> anyhow::Result<usize> {
    let client = args.token.client()?;
    let rt = runtime()?;
    let mut failed = 0;
    for (job, _) in bad {
        let Some(etag) = &job.etag else {
            eprintln!(
                "{}: cannot be repaired: its blob is not named by a hash",
                job.file_path.display()
            );
            failed += 1;
            continue;
        };
        let result = (|| -> anyhow::Result<()> {
            hub_cache::remove_blob(cache, &job.blob_path)?;
            let revision: Revision = job.commit.parse()?;
            let options = DownloadOptions::new(cache.clone()).with_revision(revision);
            rt.block_on(client.hf_hub_download(&job.repo.repo, &job.file_name, &options))?;
            let actual = hub_cache::blob_digest(&job.blob_path, etag, &|_| ())?;
            if actual != etag.as_str() {
                bail!("downloaded again, it still hashes to {actual}");
            }
            if let Some(s) = stamps.get_mut(&job.repo.path) {
                s.record(etag.as_str(), FileState::of(&job.blob_path)?);
            }
            Ok(())
        })();
        match result {
            Ok(()) => eprintln!(
                "{}: repaired (downloaded again at {})",
                job.file_path.display(),
                job.commit
            ),
            Err(e) => {
                eprintln!(
                    "{}: repair failed: {}",
                    job.file_path.display(),
                    crate::format_error(&e)
                );
                failed += 1;
            }
        }
    }
    Ok(failed)
}

/// `REPO` or `REPO@REV`.
fn parse_item(item: &str, repo_type: Option<RepoType>) -> anyhow::Result<(Repo, Option<String>)> {
    let (repo, rev) = match item.rsplit_once('@') {
        Some((repo, rev)) if !rev.is_empty() => (repo, Some(rev.to_owned())),
        Some(_) => bail!("invalid '{item}': expected REPO or REPO@REVISION"),
        None => (item, None),
    };
    Ok((parse_repo(repo, repo_type)?, rev))
}

fn export(
    items: &[String],
    repo_type: RepoTypeArg,
    output: &Path,
    dir: CacheDirArg,
) -> anyhow::Result<()> {
    let items = items
        .iter()
        .map(|item| parse_item(item, repo_type.repo_type))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let cache = cache_dir(dir.cache_dir)?;
    let summary = hub_cache::export(&cache, &items, output)?;
    for skipped in &summary.skipped {
        eprintln!("warning: left out {skipped}");
    }
    outln!(
        "Exported {} revision(s), {} blob(s) ({}) to {}.",
        summary.revisions.len(),
        summary.blobs,
        format::size(summary.bytes),
        output.display()
    );
    Ok(())
}

fn import(archive: &Path, dir: CacheDirArg) -> anyhow::Result<()> {
    let cache = cache_dir(dir.cache_dir)?;
    if !cache.path().exists() {
        std::fs::create_dir_all(cache.path())
            .with_context(|| format!("cannot create the cache {}", cache.path().display()))?;
    }
    let summary = hub_cache::import(&cache, archive)?;
    for kept in &summary.refs_kept {
        eprintln!(
            "kept {}: ref {} points to {}; the archive's {} was not written (delete the ref and \
             import again to take it)",
            kept.folder, kept.name, kept.existing, kept.archived
        );
    }
    outln!(
        "Imported into {}: {} blob(s) added, {} already there; {} file link(s) added, {} already \
         there; {} ref(s) written, {} kept.",
        cache.path().display(),
        summary.blobs_added,
        summary.blobs_kept,
        summary.links_added,
        summary.links_kept,
        summary.refs_written.len(),
        summary.refs_kept.len()
    );
    Ok(())
}
