//! `hub-cli delete-cache`: deletes revisions (by commit hash or a prefix of at least 7
//! characters) or whole repos from the local cache, after showing what goes and how much
//! space it frees. Blobs still used by a remaining revision are kept.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use hub_cache::{CacheInfo, DeleteTarget};
use hub_url::{Repo, RepoId, RepoType};

use crate::format;
use crate::scan_cache::cache_dir;

/// Reads a target: a commit hash (or a prefix of 7+ lowercase hex digits), or a repo as
/// `model/org/name`, `dataset/org/name`, `space/org/name`, `datasets/org/name` or `org/name`.
fn parse_target(s: &str) -> anyhow::Result<DeleteTarget> {
    let s = s.strip_prefix("hf://").unwrap_or(s);
    if (7..=40).contains(&s.len()) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Ok(DeleteTarget::Revision(s.to_owned()));
    }
    let invalid = || {
        format!(
            "invalid target '{s}': expected a commit hash (7+ hex digits) or a repo such as \
             model/org/name, dataset/org/name, space/org/name or org/name"
        )
    };
    // A singular type prefix (`model/`, `dataset/`, `space/`) on a three-part name.
    if let Some((first, rest)) = s.split_once('/')
        && rest.contains('/')
        && let Ok(repo_type) = first.parse::<RepoType>()
    {
        let id = RepoId::new(rest).with_context(invalid)?;
        return Ok(DeleteTarget::Repo(Repo::new(repo_type, id)));
    }
    Ok(DeleteTarget::Repo(s.parse::<Repo>().with_context(invalid)?))
}

pub(crate) fn run(
    dir: Option<PathBuf>,
    targets: &[String],
    dry_run: bool,
    yes: bool,
) -> anyhow::Result<()> {
    let parsed = targets.iter().map(|t| parse_target(t)).collect::<anyhow::Result<Vec<_>>>()?;
    let info = cache_dir(dir)?.scan()?;
    delete(&info, &parsed, dry_run, yes)
}

/// Shows what deleting `targets` from the scanned cache removes and frees, then deletes it
/// (after asking, unless `yes`; never with `dry_run`).
pub(crate) fn delete(
    info: &CacheInfo,
    targets: &[DeleteTarget],
    dry_run: bool,
    yes: bool,
) -> anyhow::Result<()> {
    let plan = info.plan_delete(targets);
    // An ambiguous prefix would delete more than the user can see they asked for.
    if let Some((prefix, commits)) = plan.ambiguous.first() {
        bail!(
            "ambiguous revision '{prefix}': it matches {} commits ({}); give more characters",
            commits.len(),
            commits.join(", ")
        );
    }
    for unknown in &plan.unknown {
        eprintln!("warning: '{unknown}' is not in the cache {}", info.cache_dir.display());
    }
    if plan.chosen.is_empty() {
        // As `hf cache rm`: what is not there is already gone, so a cleanup script goes on.
        eprintln!("Nothing to delete: none of the targets is in the cache.");
        return Ok(());
    }
    for chosen in &plan.chosen {
        let (id, repo_type) = (chosen.repo.id(), chosen.repo.repo_type());
        if chosen.whole {
            outln!("Repo {id} ({repo_type}): all {} revision(s)", chosen.total_revisions);
        } else {
            outln!(
                "Repo {id} ({repo_type}): {} of {} revision(s)",
                chosen.revisions.len(),
                chosen.total_revisions
            );
        }
        for (commit, refs) in &chosen.revisions {
            outln!("  {commit}{}", refs_suffix(refs));
        }
    }
    let freed = format::size(plan.expected_freed_size);
    outln!("Will free {freed}.");
    if dry_run {
        outln!("Dry run: nothing deleted.");
        return Ok(());
    }
    if !yes && !confirm()? {
        bail!("aborted: nothing deleted (answer 'y', or pass -y to delete without asking)");
    }
    plan.execute()?;
    outln!("Deleted. Freed {freed}.");
    Ok(())
}

fn refs_suffix(refs: &std::collections::BTreeSet<String>) -> String {
    if refs.is_empty() {
        String::new()
    } else {
        format!(" (refs: {})", refs.iter().cloned().collect::<Vec<_>>().join(", "))
    }
}

/// Asks on stderr, reads one line of stdin; end of input or anything but `y`/`yes` is a no.
pub(crate) fn confirm() -> anyhow::Result<bool> {
    let mut stderr = std::io::stderr();
    write!(stderr, "Proceed? [y/N] ")?;
    stderr.flush()?;
    let stdin = std::io::stdin();
    let mut answer = String::new();
    let read = stdin.lock().read_line(&mut answer)?;
    if read == 0 {
        // Leave the prompt's line finished, then say why nothing happened.
        eprintln!();
        if !stdin.is_terminal() {
            eprintln!("no answer on stdin (not a terminal, or closed)");
        }
        return Ok(false);
    }
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(s: &str) -> String {
        match parse_target(s).unwrap() {
            DeleteTarget::Repo(r) => format!("{}:{}", r.repo_type(), r.id()),
            DeleteTarget::Revision(c) => format!("rev:{c}"),
        }
    }

    #[test]
    fn targets() {
        assert_eq!(repo("abcdef1"), "rev:abcdef1");
        assert_eq!(repo("org/name"), "model:org/name");
        assert_eq!(repo("gpt2"), "model:gpt2");
        assert_eq!(repo("model/org/name"), "model:org/name");
        assert_eq!(repo("dataset/org/name"), "dataset:org/name");
        assert_eq!(repo("datasets/org/name"), "dataset:org/name");
        assert_eq!(repo("hf://datasets/org/name"), "dataset:org/name");
        assert_eq!(repo("hf://org/name"), "model:org/name");
        assert_eq!(repo("space/org/name"), "space:org/name");
        assert!(parse_target("org/../x").is_err());
        assert!(parse_target("a/b/c").is_err());
    }
}
