//! The tidy rule for commit messages: a subject line of at most [`MAX_SUBJECT`] characters, so
//! `git log --oneline`, `git shortlog` and the web views show it whole.
//!
//! Only the commits after [`CHECKED_AFTER`] are read: the history before it has long subjects
//! that cannot change without rewriting it. Merge commits are left out (their subject is
//! written by whoever merges, `Merge branch '…'`). Where that commit is unknown (a shallow
//! clone, a source archive with no history) the rule says so and checks nothing.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::{output, say};

/// The longest subject line allowed, in characters.
const MAX_SUBJECT: usize = 72;

/// The last commit of the history as it was when this rule came (the merges of issue 18's
/// first branches, three of whose subjects are longer).
const CHECKED_AFTER: &str = "a74e392318a93e065dfcc4d785ebd617058df1a2";

/// The commits after [`CHECKED_AFTER`] whose subject is too long, as `commit <hash>: …`.
pub(super) fn check(root: &Path) -> anyhow::Result<Vec<String>> {
    let known = Command::new("git")
        .args(["cat-file", "-e", &format!("{CHECKED_AFTER}^{{commit}}")])
        .current_dir(root)
        .stderr(Stdio::null())
        .status();
    if !known.is_ok_and(|status| status.success()) {
        say(&format!(
            "tidy: commit subjects not checked: commit {} is not in this clone's history",
            &CHECKED_AFTER[..12]
        ));
        return Ok(Vec::new());
    }
    let log = output(
        Command::new("git")
            .args(["log", "--no-merges", "--format=%h%x09%s", &format!("{CHECKED_AFTER}..HEAD")])
            .current_dir(root),
    )?;
    say(&format!(
        "tidy: the subjects of {} commit(s) after {} checked",
        log.lines().count(),
        &CHECKED_AFTER[..12]
    ));
    Ok(long_subjects(&log))
}

/// The lines of `log` (`<hash>\t<subject>`) whose subject is longer than [`MAX_SUBJECT`].
fn long_subjects(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|line| {
            let (hash, subject) = line.split_once('\t')?;
            let n = subject.chars().count();
            (n > MAX_SUBJECT).then(|| {
                format!(
                    "commit {hash}: its subject has {n} characters, more than {MAX_SUBJECT} \
                     (\"{subject}\"): reword it (`git rebase -i`, `reword`) before it is merged, \
                     and put the detail in the body"
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_over_72_characters_is_reported() {
        let fits = "x".repeat(MAX_SUBJECT);
        let long = format!("hub-api: {}", "é".repeat(MAX_SUBJECT - 8));
        let log = format!("abc1234\t{fits}\ndef5678\t{long}\n0123abc\tshort\n");
        let found = long_subjects(&log);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("commit def5678: its subject has 73 characters, more than 72")
        );
        assert!(long_subjects("").is_empty());
    }
}
