//! `hub-cli cache ls|rm|prune|verify`, the Python `hf cache` commands: what the local cache
//! holds (over the scan of `scan-cache`), deleting repos or revisions (over `delete-cache`),
//! deleting the revisions no ref points to, and checking every cached file against the hash
//! its blob is named by. Everything here works on the disk alone: nothing is sent to the Hub.

use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use anyhow::Context;
use clap::Subcommand;
use hub_cache::{CachedFile, DeleteTarget, Etag};

use crate::args::{Format, FormatArg, RepoArgs};
use crate::delete_cache::{self, delete};
use crate::scan_cache::{self, JsonRepo, JsonRevision, cache_dir};

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

/// `hub-cli cache` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum CacheCommand {
    /// List the cached repos (or, with --revisions, their revisions): sizes, refs, paths.
    Ls {
        #[command(flatten)]
        dir: CacheDirArg,
        /// One row per revision instead of per repo.
        #[arg(long)]
        revisions: bool,
        #[command(flatten)]
        format: FormatArg,
        /// Only the repo ids (with --revisions: the commit hashes), one a line.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Delete repos or revisions from the cache, showing first what goes (asks unless -y).
    ///
    /// Blobs still used by a remaining revision are kept.
    Rm(RmArgs),
    /// Delete the detached revisions: those no branch or tag points to any more.
    Prune {
        #[command(flatten)]
        dir: CacheDirArg,
        /// Show what would be deleted and stop.
        #[arg(long)]
        dry_run: bool,
        /// Delete without asking.
        #[arg(short = 'y', long = "yes")]
        yes: bool,
    },
    /// Check a repo's cached files against their hashes; exits with 1 when one does not match.
    ///
    /// Each file must hash to the name of its blob: the sha256 of an LFS file, the git blob id
    /// of the others.
    Verify {
        #[command(flatten)]
        repo: RepoArgs,
        /// Only this cached revision (a commit hash, or a ref the cache knows).
        #[arg(long)]
        revision: Option<String>,
        #[command(flatten)]
        dir: CacheDirArg,
    },
}

pub(crate) fn run(command: CacheCommand) -> anyhow::Result<()> {
    match command {
        CacheCommand::Ls { dir, revisions, format, quiet } => ls(dir, revisions, format, quiet),
        CacheCommand::Rm(args) => args.run(),
        CacheCommand::Prune { dir, dry_run, yes } => {
            let info = cache_dir(dir.cache_dir)?.scan()?;
            let detached: Vec<DeleteTarget> = info
                .repos
                .iter()
                .flat_map(|repo| &repo.revisions)
                .filter(|rev| rev.refs.is_empty())
                .map(|rev| DeleteTarget::Revision(rev.commit_hash.clone()))
                .collect();
            if detached.is_empty() {
                eprintln!("Nothing to prune: every cached revision has a ref.");
                return Ok(());
            }
            delete(&info, &detached, dry_run, yes)
        }
        CacheCommand::Verify { repo, revision, dir } => verify(&repo, revision.as_deref(), dir),
    }
}

fn ls(dir: CacheDirArg, revisions: bool, format: FormatArg, quiet: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let info = cache_dir(dir.cache_dir)?.scan()?;
    if quiet {
        for repo in &info.repos {
            if revisions {
                repo.revisions.iter().for_each(|rev| outln!("{}", rev.commit_hash));
            } else {
                // As `hf cache ls -q`, in the form `cache rm` takes: `model/org/name`.
                outln!("{}/{}", repo.repo.repo_type(), repo.repo.id());
            }
        }
        return Ok(());
    }
    let format = format.get();
    if format == Format::Table {
        let now = SystemTime::now();
        if revisions {
            outln!("{}", scan_cache::revision_table(&info, now));
        } else {
            outln!("{}", scan_cache::repo_table(&info, now));
        }
        scan_cache::summary(&info, started, 0);
        return Ok(());
    }
    let items = if revisions {
        let revs = info.repos.iter().flat_map(|repo| {
            repo.revisions.iter().map(move |rev| {
                let mut value = serde_json::to_value(JsonRevision::from(rev))?;
                value["repo_id"] = repo.repo.id().to_string().into();
                value["repo_type"] = repo.repo.repo_type().to_string().into();
                Ok(value)
            })
        });
        revs.collect::<Result<Vec<_>, serde_json::Error>>()?
    } else {
        let repos = info.repos.iter().map(|repo| serde_json::to_value(JsonRepo::from(repo)));
        repos.collect::<Result<Vec<_>, _>>()?
    };
    crate::args::print_json(format, &items)
}

fn verify(repo: &RepoArgs, revision: Option<&str>, dir: CacheDirArg) -> anyhow::Result<()> {
    let wanted = repo.repo()?;
    let info = cache_dir(dir.cache_dir)?.scan()?;
    let cached =
        info.repos.iter().find(|r| r.repo == wanted).with_context(|| {
            format!("{wanted} is not in the cache {}", info.cache_dir.display())
        })?;
    let revisions: Vec<_> = cached
        .revisions
        .iter()
        .filter(|rev| {
            revision.is_none_or(|r| rev.commit_hash.starts_with(r) || rev.refs.contains(r))
        })
        .collect();
    if revisions.is_empty() {
        anyhow::bail!(
            "{wanted} has no cached revision {}; `hub-cli cache ls --revisions` lists them",
            revision.unwrap_or_default()
        );
    }
    let mut checked = std::collections::BTreeSet::new();
    let mut bad = Vec::new();
    for file in revisions.iter().flat_map(|rev| &rev.files) {
        if !checked.insert(file.blob_path.clone()) {
            continue;
        }
        if let Some(problem) = check_blob(file)? {
            eprintln!("{}: {problem}", file.file_path.display());
            bad.push(file.file_name.clone());
        }
    }
    if !bad.is_empty() {
        anyhow::bail!(
            "{} of {} cached file(s) of {wanted} do not match their hash; \
             delete them with `hub-cli cache rm` and download again",
            bad.len(),
            checked.len()
        );
    }
    eprintln!(
        "Verified {} cached file(s) of {wanted}: every one matches its hash (files never \
         downloaded are not checked: the Hub is not asked).",
        checked.len()
    );
    Ok(())
}

/// What is wrong with a cached file's blob, if anything: it must hash to its name.
fn check_blob(file: &CachedFile) -> anyhow::Result<Option<String>> {
    let name = file.blob_path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let Ok(etag) = Etag::new(name) else {
        return Ok(Some(format!("its blob {name} is not named by a hash")));
    };
    let actual = hub_api::blob_digest(&file.blob_path, &etag)?;
    Ok((actual != name).then(|| format!("expected {name}, found {actual}")))
}
