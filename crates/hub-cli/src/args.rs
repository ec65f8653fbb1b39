//! The arguments every command shares, spelled as the Python `hf` CLI spells them: a repo id
//! (`org/name`, `datasets/org/name`, `hf://spaces/org/name`) with `--repo-type` (alias
//! `--type`), `--token`, `--format table|json|jsonl` (with `--json` as a shortcut), and how a
//! bare name (`my-model`) becomes `{user}/my-model` for commands that write.

use anyhow::bail;
use hub_api::{HubClient, Token};
use hub_url::{Repo, RepoId, RepoType};

use crate::common::client_builder;

/// A repo named on the command line, and its type.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct RepoArgs {
    /// The repo: `org/name`, `datasets/org/name`, `spaces/org/name` or `hf://datasets/org/name`;
    /// a command that writes takes a bare `name` as yours.
    #[arg(value_name = "REPO_ID")]
    pub(crate) repo_id: String,
    #[command(flatten)]
    pub(crate) repo_type: RepoTypeArg,
}

/// `--repo-type`, with the seed's `--type` as an alias.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub(crate) struct RepoTypeArg {
    /// model, dataset or space (default: model, or the type the repo id's prefix names).
    #[arg(long = "repo-type", visible_alias = "type", value_name = "TYPE", value_parser = parse_repo_type)]
    pub(crate) repo_type: Option<RepoType>,
}

fn parse_repo_type(s: &str) -> Result<RepoType, String> {
    s.parse::<RepoType>().map_err(|_| "expected model, dataset or space".to_owned())
}

impl RepoArgs {
    /// The repo, as named (a bare name stays bare: `gpt2` is a repo of its own).
    pub(crate) fn repo(&self) -> anyhow::Result<Repo> {
        parse_repo(&self.repo_id, self.repo_type.repo_type)
    }
}

/// Reads a repo id with an optional `hf://` scheme and type prefix (`datasets/`, `spaces/`,
/// `models/`). A prefix that contradicts an explicit `--repo-type` is an error.
pub(crate) fn parse_repo(id: &str, repo_type: Option<RepoType>) -> anyhow::Result<Repo> {
    let bare = id.strip_prefix("hf://").unwrap_or(id);
    let default = repo_type.unwrap_or_default();
    let repo = Repo::parse_with_default(bare, default)?;
    if let Some(wanted) = repo_type
        && repo.repo_type() != wanted
    {
        bail!(
            "'{id}' names a {} but --repo-type says {wanted}: drop one of them",
            repo.repo_type()
        );
    }
    Ok(repo)
}

/// `--token`, for commands that talk to the Hub.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct TokenArg {
    /// The token (default: HF_TOKEN, else the token file of `hub-cli auth login`).
    #[arg(long, value_name = "TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
}

impl TokenArg {
    /// The client of the environment, with this token when one was given.
    pub(crate) fn client(&self) -> anyhow::Result<HubClient> {
        let mut builder = client_builder()?;
        if let Some(token) = &self.token {
            builder = builder.token(Some(Token::new(token)?));
        }
        Ok(builder.build()?)
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns, for people.
    Table,
    /// One JSON document (a list is one JSON array).
    Json,
    /// One JSON value per line.
    Jsonl,
}

/// `--format` and its shortcut `--json`.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub(crate) struct FormatArg {
    /// How to print the results.
    #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "json")]
    format: Option<Format>,
    /// Same as --format json.
    #[arg(long)]
    json: bool,
}

impl FormatArg {
    /// The chosen format (a table by default).
    pub(crate) fn get(self) -> Format {
        match (self.format, self.json) {
            (Some(format), _) => format,
            (None, true) => Format::Json,
            (None, false) => Format::Table,
        }
    }
}

/// Prints `items` as one JSON array, or one value per line.
pub(crate) fn print_json(format: Format, items: &[serde_json::Value]) -> anyhow::Result<()> {
    if format == Format::Jsonl {
        for item in items {
            outln!("{}", serde_json::to_string(item)?);
        }
    } else {
        outln!("{}", serde_json::to_string_pretty(items)?);
    }
    Ok(())
}

/// The repo a command that writes works on: a bare name (`my-model`) is the logged-in
/// user's (`alice/my-model`), as the Python tool resolves it.
pub(crate) async fn owned_repo(client: &HubClient, repo: Repo) -> anyhow::Result<Repo> {
    if repo.id().namespace().is_some() {
        return Ok(repo);
    }
    let who = client.whoami().await?;
    let id = RepoId::new(&format!("{}/{}", who.name, repo.id().name()))?;
    Ok(Repo::new(repo.repo_type(), id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ids_as_hf_takes_them() {
        let parse = |id: &str, t: Option<RepoType>| parse_repo(id, t).map(|r| r.to_string());
        assert_eq!(parse("org/name", None).unwrap(), "org/name");
        assert_eq!(parse("gpt2", None).unwrap(), "gpt2");
        assert_eq!(parse("datasets/org/name", None).unwrap(), "datasets/org/name");
        assert_eq!(parse("hf://datasets/org/name", None).unwrap(), "datasets/org/name");
        assert_eq!(parse("hf://spaces/org/name", None).unwrap(), "spaces/org/name");
        assert_eq!(parse("hf://org/name", None).unwrap(), "org/name");
        let dataset = Some(RepoType::Dataset);
        assert_eq!(parse("org/name", dataset).unwrap(), "datasets/org/name");
        assert_eq!(parse("datasets/org/name", dataset).unwrap(), "datasets/org/name");
        let err = parse("spaces/org/name", dataset).unwrap_err().to_string();
        assert_eq!(
            err,
            "'spaces/org/name' names a space but --repo-type says dataset: drop one of them"
        );
    }
}
