//! `hub-cli repo …` (create, delete, move, settings, info, files, refs, branch, tag) and
//! `hub-cli models|datasets|spaces list`: the REST API for people (a table or lines) and for
//! scripts (`--json`).

use clap::Subcommand;
use futures_util::StreamExt;
use hub_api::{CreateRepoOptions, Gated, HubClient, ListOptions, RepoSettings};
use hub_url::{Repo, RepoId, RepoType};

use crate::common::runtime;
use crate::delete_cache::confirm;

/// `hub-cli repo` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum RepoCommand {
    /// Create a repo; prints its URL and how to clone it.
    Create {
        /// The repo name (or namespace/name).
        name: String,
        /// The organization to create it in (default: your user).
        #[arg(long)]
        organization: Option<String>,
        /// model, dataset or space.
        #[arg(long = "type", default_value = "model")]
        repo_type: String,
        /// Make it private.
        #[arg(long)]
        private: bool,
        /// An existing repo is not an error.
        #[arg(long)]
        exist_ok: bool,
        /// The SDK of a space: gradio, streamlit, docker or static.
        #[arg(long)]
        space_sdk: Option<String>,
        /// Accepted and ignored: creating asks nothing (scripts written when it asked still run).
        #[arg(short = 'y', long = "yes", hide = true)]
        _yes: bool,
    },
    /// Delete a repo (asks first unless -y).
    Delete {
        /// namespace/name.
        repo_id: String,
        /// model, dataset or space.
        #[arg(long = "type", default_value = "model")]
        repo_type: String,
        /// A repo that does not exist is not an error.
        #[arg(long)]
        missing_ok: bool,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long = "yes")]
        yes: bool,
    },
    /// Rename a repo or move it to another namespace (the old name redirects).
    Move {
        /// namespace/name now.
        from: String,
        /// namespace/name after.
        to: String,
        /// model, dataset or space.
        #[arg(long = "type", default_value = "model")]
        repo_type: String,
    },
    /// Change a repo's visibility or gating.
    Settings {
        /// namespace/name.
        repo_id: String,
        /// model, dataset or space.
        #[arg(long = "type", default_value = "model")]
        repo_type: String,
        /// Make it private.
        #[arg(long, conflicts_with = "public")]
        private: bool,
        /// Make it public.
        #[arg(long)]
        public: bool,
        /// Gating: auto, manual or false.
        #[arg(long)]
        gated: Option<String>,
    },
    /// Show a repo's info at a revision.
    Info {
        /// namespace/name.
        repo_id: String,
        /// model, dataset or space.
        #[arg(long = "type", default_value = "model")]
        repo_type: String,
        /// A branch, tag or commit.
        #[arg(long)]
        revision: Option<String>,
        /// Print the JSON the Hub sent.
        #[arg(long)]
        json: bool,
    },
    /// List a repo's files at a revision.
    Files {
        /// namespace/name.
        repo_id: String,
        /// model, dataset or space.
        #[arg(long = "type", default_value = "model")]
        repo_type: String,
        /// A branch, tag or commit (default: main).
        #[arg(long, default_value = "main")]
        revision: String,
    },
    /// List a repo's branches and tags (and pull requests).
    Refs {
        /// namespace/name.
        repo_id: String,
        /// model, dataset or space.
        #[arg(long = "type", default_value = "model")]
        repo_type: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create or delete a branch.
    Branch {
        /// create or delete.
        #[arg(value_parser = ["create", "delete"])]
        action: String,
        /// namespace/name.
        repo_id: String,
        /// The branch.
        branch: String,
        /// model, dataset or space.
        #[arg(long = "type", default_value = "model")]
        repo_type: String,
        /// Where a new branch starts (default: main).
        #[arg(long)]
        revision: Option<String>,
    },
    /// Create or delete a tag.
    Tag {
        /// create or delete.
        #[arg(value_parser = ["create", "delete"])]
        action: String,
        /// namespace/name.
        repo_id: String,
        /// The tag.
        tag: String,
        /// model, dataset or space.
        #[arg(long = "type", default_value = "model")]
        repo_type: String,
        /// What a new tag points at (default: main).
        #[arg(long)]
        revision: Option<String>,
        /// The tag's message.
        #[arg(short, long)]
        message: Option<String>,
    },
}

/// `hub-cli models|datasets|spaces list` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct ListArgs {
    /// Words in the repo id.
    #[arg(long)]
    search: Option<String>,
    /// The namespace.
    #[arg(long)]
    author: Option<String>,
    /// A tag every result has (repeatable).
    #[arg(long = "filter", value_name = "TAG")]
    filter: Vec<String>,
    /// Repos compatible with this library (its name is a tag).
    #[arg(long, value_name = "NAME")]
    library: Option<String>,
    /// downloads, likes, lastModified, createdAt or trendingScore (descending).
    #[arg(long)]
    sort: Option<String>,
    /// At most this many.
    #[arg(long)]
    limit: Option<usize>,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

fn client() -> anyhow::Result<HubClient> {
    Ok(crate::common::client_builder()?.build()?)
}

fn repo(repo_type: &str, id: &str) -> anyhow::Result<Repo> {
    Ok(Repo::new(repo_type.parse()?, id.parse()?))
}

pub(crate) fn run(command: RepoCommand) -> anyhow::Result<()> {
    let client = client()?;
    let rt = runtime()?;
    match command {
        RepoCommand::Create {
            name,
            organization,
            repo_type,
            private,
            exist_ok,
            space_sdk,
            _yes,
        } => {
            let id = match organization {
                Some(org) if !name.contains('/') => format!("{org}/{name}"),
                _ if name.contains('/') => name,
                _ => {
                    let who = rt.block_on(client.whoami())?;
                    format!("{}/{name}", who.name)
                }
            };
            let repo = repo(&repo_type, &id)?;
            let options =
                CreateRepoOptions { private: private.then_some(true), exist_ok, space_sdk };
            let url = rt.block_on(client.create_repo(&repo, &options))?;
            outln!("{url}");
            eprintln!("\nYour repo now lives at:\n  {url}\n");
            eprintln!(
                "You can clone it locally with the command below, and commit/push as usual.\n"
            );
            eprintln!("  git clone {}\n", client.endpoint().git_remote_url(&repo));
        }
        RepoCommand::Delete { repo_id, repo_type, missing_ok, yes } => {
            let repo = repo(&repo_type, &repo_id)?;
            // Not logged in: say so before asking.
            client.require_token()?;
            eprintln!(
                "You are about to delete {} and everything in it.",
                client.endpoint().repo_url(&repo)
            );
            if !yes && !confirm()? {
                anyhow::bail!("aborted: nothing was deleted (pass -y to skip the question)");
            }
            if rt.block_on(client.delete_repo(&repo, missing_ok))? {
                eprintln!("Deleted {repo}.");
            } else {
                eprintln!("{repo} does not exist: nothing was deleted.");
            }
        }
        RepoCommand::Move { from, to, repo_type } => {
            let from = repo(&repo_type, &from)?;
            let to: RepoId = to.parse()?;
            let url = rt.block_on(client.move_repo(&from, &to))?;
            outln!("{url}");
        }
        RepoCommand::Settings { repo_id, repo_type, private, public, gated } => {
            let repo = repo(&repo_type, &repo_id)?;
            let gated = match gated.as_deref() {
                None => None,
                Some("auto") => Some(Gated::Auto),
                Some("manual") => Some(Gated::Manual),
                Some("false" | "no" | "off") => Some(Gated::No),
                Some(other) => {
                    anyhow::bail!("--gated must be auto, manual or false, not {other:?}")
                }
            };
            let private = if private {
                Some(true)
            } else if public {
                Some(false)
            } else {
                None
            };
            if private.is_none() && gated.is_none() {
                anyhow::bail!("nothing to change: pass --private, --public or --gated");
            }
            rt.block_on(client.update_repo_settings(&repo, &RepoSettings { private, gated }))?;
            eprintln!("Updated the settings of {repo}.");
        }
        RepoCommand::Info { repo_id, repo_type, revision, json } => {
            let repo = repo(&repo_type, &repo_id)?;
            let revision = revision.map(|r| r.parse()).transpose()?;
            if json {
                // The Hub's own JSON, not our reading of it.
                let info = rt.block_on(client.repo_info_json(&repo, revision.as_ref(), true))?;
                outln!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                let info = rt.block_on(client.repo_info(&repo, revision.as_ref(), true))?;
                outln!("id:      {}", info.id);
                outln!("commit:  {}", info.sha.as_deref().unwrap_or("?"));
                outln!("private: {}", info.private.unwrap_or(false));
                outln!("tags:    {}", info.tags.join(", "));
                outln!("files:   {}", info.siblings.len());
                for s in &info.siblings {
                    let size = s.lfs.as_ref().map(|l| l.size).or(s.size);
                    let size = size.map(crate::format::size).unwrap_or_default();
                    let lfs = if s.lfs.is_some() { " (LFS)" } else { "" };
                    outln!("  {:<50} {size:>8}{lfs}", s.rfilename);
                }
            }
        }
        RepoCommand::Files { repo_id, repo_type, revision } => {
            let repo = repo(&repo_type, &repo_id)?;
            let files = rt.block_on(client.list_repo_files(&repo, &revision.parse()?))?;
            for file in files {
                outln!("{file}");
            }
        }
        RepoCommand::Refs { repo_id, repo_type, json } => {
            let repo = repo(&repo_type, &repo_id)?;
            if json {
                // The Hub's own JSON, not our reading of it.
                let refs = rt.block_on(client.list_repo_refs_json(&repo, true))?;
                outln!("{}", serde_json::to_string_pretty(&refs)?);
            } else {
                let refs = rt.block_on(client.list_repo_refs(&repo, true))?;
                for (kind, list) in [
                    ("branch", &refs.branches),
                    ("tag", &refs.tags),
                    ("pr", &refs.pull_requests),
                    ("convert", &refs.converts),
                ] {
                    for r in list {
                        outln!("{kind:<8} {:<30} {}", r.full_ref, r.target_commit);
                    }
                }
            }
        }
        RepoCommand::Branch { action, repo_id, branch, repo_type, revision } => {
            let repo = repo(&repo_type, &repo_id)?;
            if action == "create" {
                let start = revision.map(|r| r.parse()).transpose()?;
                rt.block_on(client.create_branch(&repo, &branch, start.as_ref(), false))?;
                eprintln!("Created branch {branch} in {repo}.");
            } else {
                rt.block_on(client.delete_branch(&repo, &branch))?;
                eprintln!("Deleted branch {branch} of {repo}.");
            }
        }
        RepoCommand::Tag { action, repo_id, tag, repo_type, revision, message } => {
            let repo = repo(&repo_type, &repo_id)?;
            if action == "create" {
                let at = revision.map(|r| r.parse()).transpose()?;
                rt.block_on(client.create_tag(
                    &repo,
                    &tag,
                    at.as_ref(),
                    message.as_deref(),
                    false,
                ))?;
                eprintln!("Created tag {tag} in {repo}.");
            } else {
                rt.block_on(client.delete_tag(&repo, &tag))?;
                eprintln!("Deleted tag {tag} of {repo}.");
            }
        }
    }
    Ok(())
}

pub(crate) fn run_list(repo_type: RepoType, args: ListArgs) -> anyhow::Result<()> {
    let client = client()?;
    let mut filter = args.filter;
    filter.extend(args.library);
    let options = ListOptions {
        search: args.search,
        author: args.author,
        filter,
        descending: args.sort.is_some(),
        sort: args.sort,
        limit: args.limit,
        full: false,
    };
    runtime()?.block_on(async {
        if args.json {
            // The Hub's own JSON, not our reading of it.
            let mut stream = std::pin::pin!(client.list_repos_json(repo_type, &options));
            while let Some(item) = stream.next().await {
                outln!("{}", serde_json::to_string(&item?)?);
            }
            return Ok(());
        }
        let mut stream = std::pin::pin!(client.list_repos(repo_type, &options));
        while let Some(item) = stream.next().await {
            let item = item?;
            outln!("{:<50} {}", item.id, item.tags.join(","));
        }
        Ok(())
    })
}
