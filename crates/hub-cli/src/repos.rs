//! `hub-cli repos …` (the seed's `repo …` is an alias): create, delete, move, settings, info,
//! files, refs, and `branch create|delete`, `tag create|list|delete` as real subcommands. The
//! REST API for people (tables, messages on stderr) and for scripts (`--format json`).
//!
//! Commands that write take a bare name (`my-model`) as the logged-in user's repo, as the
//! Python tool does; commands that read take it as it is (`gpt2` is a repo of its own).

use clap::Subcommand;
use hub_api::{
    BranchOptions, CreateRepoOptions, DeleteRepoOptions, Gated, HubClient, InfoOptions,
    RefsOptions, RepoSettings, TagOptions,
};
use hub_url::{Repo, RepoId};

use crate::args::{Format, FormatArg, RepoArgs, TokenArg, owned_repo, print_json};
use crate::common::runtime;
use crate::delete_cache::confirm;
use crate::format;

/// `hub-cli repos` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ReposCommand {
    /// Create a repo; prints its URL and how to clone it.
    Create(CreateArgs),
    /// Delete a repo and everything in it (asks first unless -y).
    Delete {
        #[command(flatten)]
        repo: RepoArgs,
        /// A repo that does not exist is not an error.
        #[arg(long)]
        missing_ok: bool,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long = "yes")]
        yes: bool,
        #[command(flatten)]
        token: TokenArg,
    },
    /// Rename a repo or move it to another namespace (the old name redirects).
    Move {
        #[command(flatten)]
        from: RepoArgs,
        /// The repo's id after the move: namespace/name (a bare name stays in your namespace).
        #[arg(value_name = "NEW_REPO_ID")]
        to: String,
        #[command(flatten)]
        token: TokenArg,
    },
    /// Change a repo's visibility or gating.
    Settings {
        #[command(flatten)]
        repo: RepoArgs,
        #[command(flatten)]
        visibility: Visibility,
        /// Gate access: requests approved automatically (auto) or by you (manual), or no gate
        /// (false).
        #[arg(long, value_parser = ["auto", "manual", "false"])]
        gated: Option<String>,
        #[command(flatten)]
        token: TokenArg,
    },
    /// Show a repo's info at a revision.
    Info {
        #[command(flatten)]
        repo: RepoArgs,
        /// A branch, tag, commit or refs/pr/N (default: main).
        #[arg(long)]
        revision: Option<String>,
        #[command(flatten)]
        format: FormatArg,
        #[command(flatten)]
        token: TokenArg,
    },
    /// List a repo's files at a revision.
    Files {
        #[command(flatten)]
        repo: RepoArgs,
        /// A branch, tag, commit or refs/pr/N.
        #[arg(long, default_value = "main")]
        revision: String,
        #[command(flatten)]
        format: FormatArg,
        #[command(flatten)]
        token: TokenArg,
    },
    /// List a repo's branches, tags and pull requests.
    Refs {
        #[command(flatten)]
        repo: RepoArgs,
        #[command(flatten)]
        format: FormatArg,
        #[command(flatten)]
        token: TokenArg,
    },
    /// Create or delete a branch.
    #[command(subcommand)]
    Branch(BranchCommand),
    /// Create, list or delete a tag.
    #[command(subcommand)]
    Tag(TagCommand),
}

/// `--private` or `--public`.
#[derive(Debug, Clone, Copy, clap::Args)]
pub(crate) struct Visibility {
    /// Make it private.
    #[arg(long, conflicts_with = "public")]
    private: bool,
    /// Make it public (a new repo's default).
    #[arg(long)]
    public: bool,
}

impl Visibility {
    /// Private (`Some(true)`), public (`Some(false)`), or as it is / the Hub's default.
    fn get(self) -> Option<bool> {
        (self.private || self.public).then_some(self.private)
    }
}

/// `hub-cli repos create` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    /// The repo: namespace/name, or a bare name for one of yours.
    #[arg(value_name = "REPO_ID")]
    repo_id: String,
    #[command(flatten)]
    repo_type: crate::args::RepoTypeArg,
    /// The namespace to create it in, when REPO_ID is a bare name (the seed's flag).
    #[arg(long, hide = true)]
    organization: Option<String>,
    #[command(flatten)]
    visibility: Visibility,
    /// An existing repo is not an error.
    #[arg(long)]
    exist_ok: bool,
    /// The SDK of a space: gradio, streamlit, docker or static.
    #[arg(long = "space-sdk", visible_alias = "sdk", value_name = "SDK")]
    space_sdk: Option<String>,
    /// Accepted for the seed's scripts; creating asks nothing.
    #[arg(short = 'y', long = "yes", hide = true)]
    _yes: bool,
    #[command(flatten)]
    token: TokenArg,
}

/// `hub-cli repos branch` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum BranchCommand {
    /// Create a branch.
    Create {
        #[command(flatten)]
        repo: RepoArgs,
        /// The branch.
        branch: String,
        /// Where it starts (default: the head of main).
        #[arg(long)]
        revision: Option<String>,
        /// An existing branch is not an error.
        #[arg(long)]
        exist_ok: bool,
        #[command(flatten)]
        token: TokenArg,
    },
    /// Delete a branch (asks first unless -y).
    Delete {
        #[command(flatten)]
        repo: RepoArgs,
        /// The branch.
        branch: String,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long = "yes")]
        yes: bool,
        #[command(flatten)]
        token: TokenArg,
    },
}

/// `hub-cli repos tag` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum TagCommand {
    /// Tag a revision.
    Create {
        #[command(flatten)]
        repo: RepoArgs,
        /// The tag.
        tag: String,
        /// What it points at (default: the head of main).
        #[arg(long)]
        revision: Option<String>,
        /// The tag's message.
        #[arg(short, long)]
        message: Option<String>,
        /// An existing tag is not an error.
        #[arg(long)]
        exist_ok: bool,
        #[command(flatten)]
        token: TokenArg,
    },
    /// List a repo's tags.
    #[command(visible_alias = "ls")]
    List {
        #[command(flatten)]
        repo: RepoArgs,
        #[command(flatten)]
        format: FormatArg,
        #[command(flatten)]
        token: TokenArg,
    },
    /// Delete a tag (asks first unless -y).
    Delete {
        #[command(flatten)]
        repo: RepoArgs,
        /// The tag.
        tag: String,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long = "yes")]
        yes: bool,
        #[command(flatten)]
        token: TokenArg,
    },
}

pub(crate) fn run(command: ReposCommand) -> anyhow::Result<()> {
    let rt = runtime()?;
    match command {
        ReposCommand::Create(args) => rt.block_on(create(args)),
        ReposCommand::Delete { repo, missing_ok, yes, token } => {
            let (client, repo) = rt.block_on(writable(&token, &repo))?;
            let url = client.endpoint().repo_url(&repo);
            ask(&format!("You are about to delete {url} and everything in it."), yes)?;
            if rt.block_on(
                client
                    .delete_repo(&repo, &DeleteRepoOptions::default().with_missing_ok(missing_ok)),
            )? {
                eprintln!("Deleted {repo}.");
            } else {
                eprintln!("{repo} does not exist: nothing was deleted.");
            }
            Ok(())
        }
        ReposCommand::Move { from, to, token } => rt.block_on(async {
            let (client, from) = writable(&token, &from).await?;
            let to = owned_repo(&client, Repo::new(from.repo_type(), to.parse()?)).await?;
            let url = client.move_repo(&from, to.id()).await?;
            outln!("{url}");
            Ok(())
        }),
        ReposCommand::Settings { repo, visibility, gated, token } => {
            let gated = match gated.as_deref() {
                None => None,
                Some("auto") => Some(Gated::Auto),
                Some("manual") => Some(Gated::Manual),
                Some(_) => Some(Gated::No),
            };
            let private = visibility.get();
            if private.is_none() && gated.is_none() {
                anyhow::bail!("nothing to change: pass --private, --public or --gated");
            }
            let (client, repo) = rt.block_on(writable(&token, &repo))?;
            let mut settings = RepoSettings::default();
            (settings.private, settings.gated) = (private, gated);
            rt.block_on(client.update_repo_settings(&repo, &settings))?;
            eprintln!("Updated the settings of {repo}.");
            Ok(())
        }
        ReposCommand::Info { repo, revision, format, token } => {
            let (client, repo) = (token.client()?, repo.repo()?);
            let mut options = InfoOptions::default().with_files_metadata(true);
            options.revision = revision.map(|r| r.parse()).transpose()?;
            if format.get() != Format::Table {
                // The Hub's own JSON, not our reading of it.
                let info = rt.block_on(client.repo_info_json(&repo, &options))?;
                outln!("{}", serde_json::to_string_pretty(&info)?);
                return Ok(());
            }
            let info = rt.block_on(client.repo_info(&repo, &options))?;
            outln!("id:      {}", info.id);
            outln!("commit:  {}", info.sha.as_deref().unwrap_or("?"));
            outln!("private: {}", info.private.unwrap_or(false));
            outln!("tags:    {}", info.tags.join(", "));
            outln!("files:   {}", info.siblings.len());
            let rows: Vec<Vec<String>> = info
                .siblings
                .iter()
                .map(|s| {
                    vec![
                        s.rfilename.clone(),
                        s.file_size().map(format::size).unwrap_or_default(),
                        if s.lfs.is_some() { "yes".to_owned() } else { String::new() },
                    ]
                })
                .collect();
            if !rows.is_empty() {
                outln!("\n{}", format::table(&["FILE", "SIZE", "LFS"], &rows, &[1]));
            }
            Ok(())
        }
        ReposCommand::Files { repo, revision, format, token } => {
            let (client, repo) = (token.client()?, repo.repo()?);
            let files = rt.block_on(client.list_repo_files(&repo, &revision.parse()?))?;
            match format.get() {
                Format::Table => files.iter().for_each(|file| outln!("{file}")),
                json => print_json(json, &files.into_iter().map(Into::into).collect::<Vec<_>>())?,
            }
            Ok(())
        }
        ReposCommand::Refs { repo, format, token } => {
            let (client, repo) = (token.client()?, repo.repo()?);
            if format.get() != Format::Table {
                // The Hub's own JSON, not our reading of it.
                let refs = rt.block_on(
                    client
                        .list_repo_refs_json(&repo, &RefsOptions::default().with_include_prs(true)),
                )?;
                outln!("{}", serde_json::to_string_pretty(&refs)?);
                return Ok(());
            }
            let refs = rt.block_on(
                client.list_repo_refs(&repo, &RefsOptions::default().with_include_prs(true)),
            )?;
            let rows: Vec<Vec<String>> = [
                ("branch", &refs.branches),
                ("tag", &refs.tags),
                ("pr", &refs.pull_requests),
                ("convert", &refs.converts),
            ]
            .into_iter()
            .flat_map(|(kind, list)| {
                list.iter().map(move |r| {
                    vec![kind.to_owned(), r.full_ref.clone(), r.target_commit.clone()]
                })
            })
            .collect();
            outln!("{}", format::table(&["KIND", "REF", "COMMIT"], &rows, &[]));
            Ok(())
        }
        ReposCommand::Branch(command) => rt.block_on(branch(command)),
        ReposCommand::Tag(command) => rt.block_on(tag(command)),
    }
}

async fn create(args: CreateArgs) -> anyhow::Result<()> {
    let client = args.token.client()?;
    let named = crate::args::parse_repo(&args.repo_id, args.repo_type.repo_type)?;
    let named = match (&args.organization, named.id().namespace()) {
        (Some(org), None) => {
            Repo::new(named.repo_type(), RepoId::new(&format!("{org}/{}", named.id()))?)
        }
        _ => named,
    };
    let repo = owned_repo(&client, named).await?;
    if args.space_sdk.is_some() && repo.repo_type() != hub_url::RepoType::Space {
        eprintln!(
            "warning: --sdk applies to spaces, and {repo} is a {}: ignored",
            repo.repo_type()
        );
    }
    let private = args.visibility.get();
    let mut options = CreateRepoOptions::default().with_exist_ok(args.exist_ok);
    (options.private, options.space_sdk) = (private, args.space_sdk);
    let url = client.create_repo(&repo, &options).await?;
    outln!("{url}");
    eprintln!("\nYour repo now lives at:\n  {url}\n");
    eprintln!("You can clone it locally with the command below, and commit/push as usual.\n");
    eprintln!("  git clone {}\n", client.endpoint().git_remote_url(&repo));
    Ok(())
}

/// Says what is about to be deleted and asks, unless `yes`; a no (or no answer) is an error
/// that says nothing was deleted.
fn ask(what: &str, yes: bool) -> anyhow::Result<()> {
    eprintln!("{what}");
    if !yes && !confirm()? {
        anyhow::bail!("aborted: nothing was deleted (pass -y to skip the question)");
    }
    Ok(())
}

/// The client and the repo of a command that writes: a bare name is the user's.
async fn writable(token: &TokenArg, repo: &RepoArgs) -> anyhow::Result<(HubClient, Repo)> {
    let client = token.client()?;
    // Not logged in: said before anything is asked or sent.
    client.require_token()?;
    let repo = owned_repo(&client, repo.repo()?).await?;
    Ok((client, repo))
}

async fn branch(command: BranchCommand) -> anyhow::Result<()> {
    match command {
        BranchCommand::Create { repo, branch, revision, exist_ok, token } => {
            let (client, repo) = writable(&token, &repo).await?;
            let mut options = BranchOptions::default().with_exist_ok(exist_ok);
            options.starting_point = revision.map(|r| r.parse()).transpose()?;
            client.create_branch(&repo, &branch, &options).await?;
            eprintln!("Created branch {branch} in {repo}.");
        }
        BranchCommand::Delete { repo, branch, yes, token } => {
            let (client, repo) = writable(&token, &repo).await?;
            ask(&format!("You are about to delete branch {branch} of {repo}."), yes)?;
            client.delete_branch(&repo, &branch).await?;
            eprintln!("Deleted branch {branch} of {repo}.");
        }
    }
    Ok(())
}

async fn tag(command: TagCommand) -> anyhow::Result<()> {
    match command {
        TagCommand::Create { repo, tag, revision, message, exist_ok, token } => {
            let (client, repo) = writable(&token, &repo).await?;
            let mut options = TagOptions::default().with_exist_ok(exist_ok);
            options.revision = revision.map(|r| r.parse()).transpose()?;
            options.message = message;
            client.create_tag(&repo, &tag, &options).await?;
            eprintln!("Created tag {tag} in {repo}.");
        }
        TagCommand::List { repo, format, token } => {
            let (client, repo) = (token.client()?, repo.repo()?);
            match format.get() {
                Format::Table => {
                    let refs = client.list_repo_refs(&repo, &RefsOptions::default()).await?;
                    let rows: Vec<Vec<String>> = refs
                        .tags
                        .iter()
                        .map(|t| vec![t.name.clone(), t.target_commit.clone()])
                        .collect();
                    outln!("{}", format::table(&["TAG", "COMMIT"], &rows, &[]));
                }
                json => {
                    // The Hub's own JSON, not our reading of it.
                    let refs = client.list_repo_refs_json(&repo, &RefsOptions::default()).await?;
                    let tags = refs["tags"].as_array().cloned().unwrap_or_default();
                    print_json(json, &tags)?;
                }
            }
        }
        TagCommand::Delete { repo, tag, yes, token } => {
            let (client, repo) = writable(&token, &repo).await?;
            ask(&format!("You are about to delete tag {tag} of {repo}."), yes)?;
            client.delete_tag(&repo, &tag).await?;
            eprintln!("Deleted tag {tag} of {repo}.");
        }
    }
    Ok(())
}
