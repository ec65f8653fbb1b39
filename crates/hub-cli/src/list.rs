//! `hub-cli models|datasets|spaces ls` (the seed's `list` is an alias): the Hub's listing with
//! the Python `hf` CLI's flags. Pages are fetched as the output goes; `--sort` takes the
//! Python spellings (`last_modified`, `created_at`, `trending_score`) and is checked before
//! anything is sent.

use clap::Subcommand;
use hub_api::ListOptions;
use hub_url::RepoType;

use crate::args::{Format, FormatArg, TokenArg, print_json};
use crate::common::runtime;
use crate::format;

/// `hub-cli models|datasets|spaces` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ListCommand {
    /// List them, most relevant first; pages are fetched as the output goes.
    #[command(visible_alias = "list")]
    Ls(ListArgs),
}

/// `ls` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct ListArgs {
    /// Words in the repo id.
    #[arg(long)]
    search: Option<String>,
    /// The namespace (a user or an organization).
    #[arg(long)]
    author: Option<String>,
    /// A tag every result has (repeatable).
    #[arg(long = "filter", value_name = "TAG")]
    filter: Vec<String>,
    /// Repos compatible with this library (its name is a tag).
    #[arg(long, value_name = "NAME")]
    library: Option<String>,
    /// Sort by, in descending order: downloads, likes, last_modified, created_at or
    /// trending_score.
    #[arg(long, value_parser = parse_sort, value_name = "KEY")]
    sort: Option<&'static str>,
    /// At most this many.
    #[arg(long, default_value_t = 10, value_name = "N")]
    limit: usize,
    #[command(flatten)]
    format: FormatArg,
    /// Only the repo ids, one a line.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    token: TokenArg,
}

/// The sort keys, as the Python tool spells them and as the Hub's API does.
const SORTS: [(&str, &str); 5] = [
    ("downloads", "downloads"),
    ("likes", "likes"),
    ("last_modified", "lastModified"),
    ("created_at", "createdAt"),
    ("trending_score", "trendingScore"),
];

/// The API's name of a sort key given in either spelling.
fn parse_sort(s: &str) -> Result<&'static str, String> {
    SORTS.iter().find(|(python, api)| s == *python || s == *api).map(|(_, api)| *api).ok_or_else(
        || {
            let names: Vec<&str> = SORTS.iter().map(|(python, _)| *python).collect();
            format!("expected one of {}", names.join(", "))
        },
    )
}

pub(crate) fn run(repo_type: RepoType, command: ListCommand) -> anyhow::Result<()> {
    let ListCommand::Ls(args) = command;
    let client = args.token.client()?;
    let mut filter = args.filter;
    filter.extend(args.library);
    let mut options = ListOptions::default()
        .with_filter(filter)
        .with_descending(args.sort.is_some())
        .with_limit(args.limit);
    options.search = args.search;
    options.author = args.author;
    options.sort = args.sort.map(str::to_owned);
    let format = args.format.get();
    runtime()?.block_on(async {
        if !args.quiet && format != Format::Table {
            // The Hub's own JSON, not our reading of it.
            let mut stream = client.list_repos_json(repo_type, &options);
            let mut items = Vec::new();
            while let Some(item) = stream.try_next().await? {
                match format {
                    Format::Jsonl => outln!("{}", serde_json::to_string(&item)?),
                    _ => items.push(item),
                }
            }
            if format == Format::Json {
                print_json(format, &items)?;
            }
            return Ok(());
        }
        let mut stream = client.list_repos(repo_type, &options);
        let mut rows = Vec::new();
        while let Some(item) = stream.try_next().await? {
            if args.quiet {
                outln!("{}", item.id);
            } else {
                rows.push(row(&item));
            }
        }
        if args.quiet {
            return Ok(());
        }
        if rows.is_empty() {
            eprintln!("No {} matched.", repo_type.plural());
        } else {
            let headers = ["ID", "DOWNLOADS", "LIKES", "LAST MODIFIED", "TAGS"];
            outln!("{}", format::table(&headers, &rows, &[1, 2]));
        }
        Ok(())
    })
}

/// A table row: what the Hub sent of the listing's usual fields.
fn row(item: &hub_api::RepoInfo) -> Vec<String> {
    let field = |name: &str| match item.extra.get(name) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let modified = field("lastModified");
    vec![
        item.id.clone(),
        field("downloads"),
        field("likes"),
        modified.get(..10).unwrap_or(&modified).to_owned(),
        item.tags.join(","),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_in_both_spellings() {
        assert_eq!(parse_sort("last_modified"), Ok("lastModified"));
        assert_eq!(parse_sort("lastModified"), Ok("lastModified"));
        assert_eq!(parse_sort("trending_score"), Ok("trendingScore"));
        assert_eq!(parse_sort("downloads"), Ok("downloads"));
        assert_eq!(
            parse_sort("stars"),
            Err("expected one of downloads, likes, last_modified, created_at, trending_score"
                .to_owned())
        );
    }
}
