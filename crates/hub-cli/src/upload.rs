//! `hub-cli upload`: a file or a folder to a repo in one commit over HTTP (no git needed),
//! creating the repo when it is missing. Prints the commit's URL (the pull request's with
//! `--create-pr`) on stdout; one progress bar for all the LFS bytes on stderr, on a terminal.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use hub_api::{BranchOptions, CreateRepoOptions, Progress};
use hub_lfs::{CommitOptions, FolderOptions, LfsClient, Source, UploadOptions};
use hub_url::{RepoPath, Revision, RevisionKind};
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::{RepoArgs, TokenArg, owned_repo};
use crate::common::{ProgressBars, runtime};

/// The arguments of `hub-cli upload`.
#[derive(Debug, clap::Args)]
pub(crate) struct UploadArgs {
    #[command(flatten)]
    repo: RepoArgs,
    /// The file or folder to upload (default: the folder or file named as the repo, `./NAME`,
    /// as `hf upload` takes it; `.` for the current folder).
    #[arg(value_name = "LOCAL_PATH")]
    local_path: Option<PathBuf>,
    /// Where it goes in the repo (default: the file's name, or the repo's root for a folder).
    #[arg(value_name = "PATH_IN_REPO")]
    path_in_repo: Option<String>,
    /// The branch to commit to (created from the default branch when missing), or an open pull
    /// request's `refs/pr/N`.
    #[arg(long, value_name = "BRANCH")]
    revision: Option<String>,
    /// Create the repo private when it does not exist.
    #[arg(long)]
    private: bool,
    /// Only the folder's files matching this pattern (repeatable; `*` also matches `/`).
    #[arg(long = "include", value_name = "PATTERN")]
    include: Vec<String>,
    /// Not the folder's files matching this pattern (repeatable).
    #[arg(long = "exclude", value_name = "PATTERN")]
    exclude: Vec<String>,
    /// Delete the repo's files under PATH_IN_REPO matching this pattern that are not
    /// uploaded (repeatable).
    #[arg(long = "delete", value_name = "PATTERN")]
    delete: Vec<String>,
    /// The commit's summary.
    #[arg(long, value_name = "TEXT")]
    commit_message: Option<String>,
    /// The commit's description.
    #[arg(long, value_name = "TEXT", default_value = "")]
    commit_description: String,
    /// Open a pull request instead of committing to the branch.
    #[arg(long)]
    create_pr: bool,
    #[command(flatten)]
    token: TokenArg,
    /// No progress bar and no messages: only the URL.
    #[arg(short, long)]
    quiet: bool,
}

pub(crate) fn run(args: UploadArgs) -> anyhow::Result<()> {
    let named = args.repo.repo()?;
    let local = match &args.local_path {
        Some(path) => path.clone(),
        None => {
            let path = PathBuf::from(named.id().name());
            if !path.exists() {
                anyhow::bail!(
                    "'{}' is not a local file or folder: say what to upload, as in \
                     `hub-cli upload {} LOCAL_PATH` (`.` for the current folder)",
                    path.display(),
                    args.repo.repo_id
                );
            }
            path
        }
    };
    let meta =
        std::fs::metadata(&local).with_context(|| format!("cannot upload {}", local.display()))?;
    // Everything that can be checked here is, before the repo is created.
    if !meta.is_dir()
        && (!args.include.is_empty() || !args.exclude.is_empty() || !args.delete.is_empty())
    {
        anyhow::bail!(
            "--include, --exclude and --delete apply to folders, and {} is a file",
            local.display()
        );
    }
    if let Some(path) = &args.path_in_repo
        && !meta.is_dir()
    {
        path.parse::<RepoPath>()?;
    }
    let revision = args.revision.as_deref().map(Revision::new).transpose()?;
    let options = UploadOptions::from_env()?;
    let lfs = LfsClient::new(args.token.client()?, options);
    let bar = (!args.quiet && ProgressBars::from_env().shown).then(|| Arc::new(TotalBar::new()));
    let progress: Arc<dyn Progress> = match &bar {
        Some(bar) => bar.clone(),
        None => Arc::new(hub_api::NoProgress),
    };
    let info = runtime()?.block_on(async {
        let hub = lfs.hub();
        let repo = owned_repo(hub, named).await?;
        let mut create = CreateRepoOptions::default().with_exist_ok(true);
        create.private = args.private.then_some(true);
        hub.create_repo(&repo, &create).await?;
        // A branch is created when missing; a pull request's ref (`refs/pr/N`) or a commit
        // names what exists already.
        if let Some(branch) = &revision
            && !args.create_pr
            && branch.kind() == RevisionKind::Named
        {
            let options = BranchOptions::default().with_exist_ok(true);
            hub.create_branch(&repo, branch.as_str(), &options).await?;
        }
        let mut commit = CommitOptions::default()
            .with_description(args.commit_description.clone())
            .with_create_pr(args.create_pr)
            .with_progress(progress);
        commit.revision = revision.clone();
        if meta.is_dir() {
            if !args.quiet && args.path_in_repo.is_none() && args.local_path.is_none() {
                eprintln!("Uploading {} to the root of {repo}", local.display());
            }
            commit.message = args
                .commit_message
                .clone()
                .unwrap_or_else(|| "Upload folder with hub-cli".to_owned());
            let mut folder = FolderOptions::default()
                .with_allow_patterns(args.include.clone())
                .with_ignore_patterns(args.exclude.clone())
                .with_delete_patterns(args.delete.clone());
            folder.path_in_repo = args.path_in_repo.clone();
            anyhow::Ok(lfs.upload_folder(&repo, &local, &folder, &commit).await?)
        } else {
            let name = local
                .file_name()
                .and_then(|n| n.to_str())
                .context("the file's name is not UTF-8")?;
            let path_in_repo = args.path_in_repo.clone().unwrap_or_else(|| name.to_owned());
            commit.message = args
                .commit_message
                .clone()
                .unwrap_or_else(|| format!("Upload {path_in_repo} with hub-cli"));
            let source = Source::File(local.clone());
            Ok(lfs.upload_file(&repo, &path_in_repo, source, &commit).await?)
        }
    })?;
    if let Some(bar) = bar {
        bar.bar.finish_and_clear();
    }
    if info.no_changes && !args.quiet {
        eprintln!("Nothing changed since the last commit: no commit was made.");
    } else if !args.quiet && !info.uploaded.is_empty() {
        eprintln!("{} LFS file(s) uploaded.", info.uploaded.len());
    }
    outln!("{}", info.pr_url.as_deref().unwrap_or(&info.commit_url));
    Ok(())
}

/// One bar for every byte of the upload, on stderr.
struct TotalBar {
    bar: ProgressBar,
}

impl TotalBar {
    fn new() -> TotalBar {
        // In the process's bars, so that a retry's line is printed above it.
        let bar = crate::common::progress_bars().add(ProgressBar::new(0));
        let style = ProgressStyle::with_template(
            "Uploading {bar:30} {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12} {eta:>4}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        TotalBar { bar }
    }
}

impl Progress for TotalBar {
    fn start(&self, _file: &str, size: u64, done: u64) {
        self.bar.inc_length(size);
        self.bar.inc(done);
    }

    fn advance(&self, _file: &str, bytes: u64) {
        self.bar.inc(bytes);
    }
}
