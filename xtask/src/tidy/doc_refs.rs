//! The tidy rule for references into the repository's docs: each must lead somewhere.
//!
//! - A path `docs/….md`, with or without an `#anchor`, in a comment of a Rust file or anywhere
//!   in a Markdown, TOML or Python file, is read from the repository's root. The file must
//!   exist, and the anchor must be one its headings make (as GitHub makes them) or the `id` or
//!   `name` of an HTML anchor in it. Inside a longer path (`a/docs/x.md`, a URL) or written as
//!   another repository's file (`git-lfs:docs/spec.md`), the path is not ours and is left alone.
//! - A relative link of a Markdown file (`[text](target)`, `[label]: target`) is read from that
//!   file's folder: the target must exist, and so must its anchor when it is a Markdown file
//!   (`#anchor` alone points into the same file).
//! - No file may send its reader to the developers' notes kept outside the repository
//!   ([`PRIVATE_NOTES`]): what the code relies on is written in `docs/protocol/` instead.
//!
//! So a heading that is renamed, or a file that moves, fails `cargo xtask tidy` until every
//! citation of it follows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use crate::util::{output, say};

/// The notes beside the repository, for its developers only: a citation of one of them leads a
/// reader nowhere. Names ending in `.md` count when written bare, not as the last part of a
/// longer path (`docs/protocol/…`, where this rule's first part checks them).
const PRIVATE_NOTES: [&str; 5] =
    ["hub-protocol.md", "xet.md", "user-needs.md", "house-style.md", "shared/docs/"];

/// The files read, by extension.
const EXTENSIONS: [&str; 4] = [".rs", ".md", ".toml", ".py"];

/// The references of every file of the repository (tracked, or new and not ignored) that lead
/// nowhere, as `rel:line: what to do`.
pub(super) fn check(root: &Path) -> anyhow::Result<Vec<String>> {
    let listed = output(
        Command::new("git")
            .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
            .current_dir(root),
    )?;
    let mut files = BTreeMap::new();
    for rel in listed.split('\0') {
        if rel.is_empty()
            || rel.starts_with("target/")
            || !EXTENSIONS.iter().any(|e| rel.ends_with(e))
        {
            continue;
        }
        let path = root.join(rel);
        if !path.is_file() {
            continue; // deleted but not yet committed
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::format_err!("cannot read {rel}: {e}"))?;
        files.insert(rel.to_owned(), text);
    }
    say(&format!("tidy: references to docs checked in {} files", files.len()));
    Ok(problems(&files, &|rel| root.join(rel).exists()))
}

/// The dangling references of `files` (`/`-separated path from the root → text).
/// `exists` says whether a path that is not among `files` exists (a folder, a file of a kind
/// that is not read).
fn problems(files: &BTreeMap<String, String>, exists: &dyn Fn(&str) -> bool) -> Vec<String> {
    let anchors_of: BTreeMap<&str, BTreeSet<String>> = files
        .iter()
        .filter(|(rel, _)| rel.ends_with(".md"))
        .map(|(rel, text)| (rel.as_str(), anchors(text)))
        .collect();
    let resolve = |path: &str, anchor: Option<&str>| -> Option<String> {
        if path.is_empty() {
            return None; // the root
        }
        if let Some(anchors) = anchors_of.get(path) {
            let anchor = anchor.filter(|a| !a.is_empty() && !anchors.contains(*a))?;
            let known: Vec<String> = anchors.iter().map(|a| format!("#{a}")).collect();
            return Some(format!(
                "{path} has no heading whose anchor is `#{anchor}`: fix the anchor or the \
                 heading (its anchors: {})",
                known.join(", ")
            ));
        }
        if path.ends_with(".md") || !(files.contains_key(path) || exists(path)) {
            return Some(format!("there is no {path}: fix the path, or write that file"));
        }
        None
    };

    let mut found = Vec::new();
    for (rel, text) in files {
        let prose =
            if rel.ends_with(".rs") { super::lex(text).without_strings } else { text.clone() };
        let mut report = |at: usize, reference: &str, problem: String| {
            found.push(format!("{rel}:{}: `{reference}`: {problem}", super::line_of(text, at)));
        };
        let links = if rel.ends_with(".md") { markdown_links(&prose) } else { Vec::new() };
        let folder = rel.rsplit_once('/').map_or("", |(folder, _)| folder);
        for link in &links {
            let (path, anchor) = split_anchor(&link.target);
            let target = if path.is_empty() {
                Some(rel.clone())
            } else if let Some(from_root) = path.strip_prefix('/') {
                joined("", from_root)
            } else {
                joined(folder, path)
            };
            match target {
                None => report(link.at, &link.target, "leads outside the repository".to_owned()),
                Some(target) => {
                    if let Some(problem) = resolve(&target, anchor) {
                        report(link.at, &link.target, problem);
                    }
                }
            }
        }
        for (at, reference) in root_references(&prose) {
            if links.iter().any(|link| link.at == at) {
                continue; // a link's target, read from its file's folder above
            }
            let (path, anchor) = split_anchor(reference);
            if let Some(problem) = resolve(path.trim_end_matches('/'), anchor) {
                report(at, reference, problem);
            }
        }
        for (at, name) in private_notes(&prose) {
            report(
                at,
                name,
                "the developers' notes are not in the repository: cite docs/protocol/…, and \
                 write there (with its source) the fact this relies on"
                    .to_owned(),
            );
        }
    }
    found
}

/// A reference's path and anchor: `docs/protocol/cache.md#locks` → (`docs/protocol/cache.md`,
/// `Some("locks")`); a query is dropped.
fn split_anchor(reference: &str) -> (&str, Option<&str>) {
    let (path, anchor) = match reference.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor)),
        None => (reference, None),
    };
    (path.split_once('?').map_or(path, |(path, _)| path), anchor)
}

/// `target` (relative, `/`-separated) read from `folder`, with `.` and `..` resolved; `None` when
/// it climbs above the root.
fn joined(folder: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> = folder.split('/').filter(|p| !p.is_empty()).collect();
    for segment in target.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            segment => parts.push(segment),
        }
    }
    Some(parts.join("/"))
}

/// A character of a path as these rules read one.
fn is_path_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/' | b'-')
}

/// The `docs/…` paths written from the root: their offsets and how they read
/// (`docs/fuzzing.md`, `docs/protocol/cache.md#locks`, `docs/protocol/`). A sentence's final `.`
/// is not part of the path.
fn root_references(text: &str) -> Vec<(usize, &str)> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    for (at, _) in text.match_indices("docs/") {
        if at > 0 && (is_path_char(b[at - 1]) || b[at - 1] == b':') {
            continue; // a part of a longer path, a URL, or another repository's file
        }
        let mut end = at + b[at..].iter().take_while(|&&c| is_path_char(c)).count();
        while b[end - 1] == b'.' {
            end -= 1;
        }
        if b.get(end) == Some(&b'#') {
            let anchor = b[end + 1..]
                .iter()
                .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
                .count();
            if anchor > 0 {
                end += 1 + anchor;
            }
        }
        found.push((at, &text[at..end]));
    }
    found
}

/// Where `text` names one of [`PRIVATE_NOTES`].
fn private_notes(text: &str) -> Vec<(usize, &'static str)> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    for name in PRIVATE_NOTES {
        for (at, _) in text.match_indices(name) {
            let after = b.get(at + name.len()).copied();
            // A file name counts bare; the folder also at the end of a longer path, after `../`.
            let before: fn(u8) -> bool = if name.ends_with('/') {
                |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
            } else {
                is_path_char
            };
            let starts = at == 0 || !before(b[at - 1]);
            let ends = name.ends_with('/')
                || !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_');
            if starts && ends {
                found.push((at, name));
            }
        }
    }
    found.sort();
    found
}

/// A link of a Markdown file: where its target starts, and the target as written.
#[derive(Debug, PartialEq, Eq)]
struct Link {
    at: usize,
    target: String,
}

/// The relative links of a Markdown text (inline `[text](target)` and definitions
/// `[label]: target`), outside fenced blocks and code spans. Links with a scheme (`https:`,
/// `mailto:`) are not relative and are left out.
fn markdown_links(text: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut fence: Option<&str> = None;
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let line_start = start;
        start += line.len();
        let trimmed = line.trim_start();
        if let Some(open) = fence {
            if trimmed.starts_with(open) {
                fence = None;
            }
            continue;
        }
        if let Some(open) = ["```", "~~~"].into_iter().find(|f| trimmed.starts_with(f)) {
            fence = Some(open);
            continue;
        }
        let line = without_code_spans(line);
        let b = line.as_bytes();
        let mut push = |at: usize, target: &str| {
            let target = target.trim_start_matches('<').trim_end_matches('>');
            let scheme = target.find(':').is_some_and(|colon| {
                target[..colon].bytes().all(|c| c.is_ascii_alphanumeric() || c == b'+')
            });
            if !target.is_empty() && !scheme {
                links.push(Link { at: line_start + at, target: target.to_owned() });
            }
        };
        // A definition: `[label]: target`, indented by at most three spaces.
        let indent = line.len() - line.trim_start_matches(' ').len();
        let definition =
            indent <= 3 && b.get(indent) == Some(&b'[') && b.get(indent + 1) != Some(&b'^');
        if let Some(close) = line[indent..].find("]:").map(|i| indent + i).filter(|_| definition) {
            let rest = &line[close + 2..];
            let at = close + 2 + (rest.len() - rest.trim_start().len());
            let target = line[at..].split_whitespace().next().unwrap_or_default();
            push(at, target);
            continue;
        }
        // Inline links: `](target)`, parentheses inside the target balanced.
        for (close, _) in line.match_indices("](") {
            let at = close + 2;
            let mut depth = 0usize;
            let len = b[at..]
                .iter()
                .take_while(|&&c| match c {
                    b'(' => {
                        depth += 1;
                        true
                    }
                    b')' if depth == 0 => false,
                    b')' => {
                        depth -= 1;
                        true
                    }
                    c => !c.is_ascii_whitespace(),
                })
                .count();
            push(at, &line[at..at + len]);
        }
    }
    links
}

/// `line` with the content of its code spans (`` `x` ``, ``` ``x`` ```) blanked, lengths kept.
fn without_code_spans(line: &str) -> String {
    let mut b = line.as_bytes().to_vec();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'`' {
            i += 1;
            continue;
        }
        let run = b[i..].iter().take_while(|&&c| c == b'`').count();
        let open_end = i + run;
        let mut j = open_end;
        let mut close = None;
        while j < b.len() {
            if b[j] == b'`' {
                let n = b[j..].iter().take_while(|&&c| c == b'`').count();
                if n == run {
                    close = Some(j);
                    break;
                }
                j += n;
            } else {
                j += 1;
            }
        }
        match close {
            Some(close) => {
                for byte in &mut b[open_end..close] {
                    *byte = b' ';
                }
                i = close + run;
            }
            None => i = open_end,
        }
    }
    // Whole code spans were blanked, so no character was cut in two.
    String::from_utf8(b).unwrap_or_else(|_| line.to_owned())
}

/// The anchors a Markdown text offers: one per heading (ATX `## Title`, or setext, underlined
/// with `=` or `-`), made as GitHub makes them ([`slug`]; a repeated one gets `-1`, `-2`…), and
/// the `id` or `name` of every HTML anchor.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut fence: Option<&str> = None;
    let mut previous: Option<&str> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(open) = fence {
            if trimmed.starts_with(open) {
                fence = None;
            }
            previous = None;
            continue;
        }
        if let Some(open) = ["```", "~~~"].into_iter().find(|f| trimmed.starts_with(f)) {
            fence = Some(open);
            previous = None;
            continue;
        }
        if let Some(heading) = atx_heading(line).or_else(|| setext_heading(previous, line)) {
            let slug = slug(heading);
            let n = seen.entry(slug.clone()).or_default();
            anchors.insert(if *n == 0 { slug } else { format!("{slug}-{n}") });
            *n += 1;
        }
        if line.contains("<a ") {
            for attribute in ["id=\"", "name=\""] {
                for (at, _) in line.match_indices(attribute) {
                    let value = &line[at + attribute.len()..];
                    if let Some(end) = value.find('"') {
                        anchors.insert(value[..end].to_owned());
                    }
                }
            }
        }
        previous = Some(line);
    }
    anchors
}

/// The text of an ATX heading (`# Title`, `### Title ###`).
fn atx_heading(line: &str) -> Option<&str> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let level = rest.bytes().take_while(|&c| c == b'#').count();
    let text = rest.get(level..)?;
    if !(1..=6).contains(&level) || !(text.is_empty() || text.starts_with([' ', '\t'])) {
        return None;
    }
    let text = text.trim();
    let closed = text.trim_end_matches('#');
    Some(if closed.is_empty() || closed.ends_with([' ', '\t']) { closed.trim_end() } else { text })
}

/// The text of a setext heading: `previous`, when `line` underlines it with `=` or `-`.
fn setext_heading<'a>(previous: Option<&'a str>, line: &str) -> Option<&'a str> {
    let previous = previous?.trim();
    let underline = line.trim();
    let is_underline = !underline.is_empty()
        && (underline.bytes().all(|c| c == b'=') || underline.bytes().all(|c| c == b'-'));
    let is_paragraph = !previous.is_empty()
        && !previous.starts_with(['#', '|', '-', '*', '+', '>', '<'])
        && !previous.starts_with(|c: char| c.is_ascii_digit());
    (is_underline && is_paragraph).then_some(previous)
}

/// A heading's anchor as GitHub makes it: the text as rendered (a link's text, no markup),
/// lowercased, each space a `-`, and everything but letters, digits, `-` and `_` dropped.
fn slug(heading: &str) -> String {
    let mut text = String::new();
    let mut rest = heading;
    // `[text](url)` renders as `text`.
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|i| open + i) else { break };
        let Some(end) = rest[close..].find(')').map(|i| close + i) else { break };
        text.push_str(&rest[..open]);
        text.push_str(&rest[open + 1..close]);
        rest = &rest[end + 1..];
    }
    text.push_str(rest);
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(files: &[(&str, &str)], folders: &[&str]) -> Vec<String> {
        let files: BTreeMap<String, String> =
            files.iter().map(|(rel, text)| ((*rel).to_owned(), (*text).to_owned())).collect();
        problems(&files, &|rel| folders.contains(&rel))
    }

    const NOTES: &str = "# Cache\n\n## Repo folders\n\nText.\n\n## `X-Repo-Commit` and ETag forms\n\n\
                         ```text\n## not a heading\n```\n\n## Locks\n\n## Locks\n";

    #[test]
    fn anchors_are_made_as_github_makes_them() {
        let found = anchors(NOTES);
        let expected =
            ["cache", "repo-folders", "x-repo-commit-and-etag-forms", "locks", "locks-1"];
        assert_eq!(found, expected.iter().map(|a| (*a).to_owned()).collect());
        assert_eq!(slug("The seed's `cached_download` (v0.0.2)"), "the-seeds-cached_download-v002");
        assert_eq!(slug("See [the tree](api.md#tree) — again"), "see-the-tree--again");
        assert_eq!(atx_heading("### Closed ###"), Some("Closed"));
        assert_eq!(atx_heading("#hashtag"), None);
        let setext = anchors("Title\n=====\n\n- item\n---\n<a id=\"pinned\"></a>\n");
        assert_eq!(setext, ["pinned", "title"].iter().map(|a| (*a).to_owned()).collect());
    }

    #[test]
    fn references_that_resolve_pass() {
        let code = "//! The layout (`docs/protocol/cache.md#repo-folders`, docs/protocol/cache.md).\n\
                    const URL: &str = \"docs/missing.md\";\n";
        let readme = "See [the notes](docs/protocol/cache.md#locks-1), [up](#readme) and \
                      [crate](crates/hub-url). Also `git-lfs:docs/spec.md` and \
                      https://huggingface.co/docs/hub/api.md.\n\n# Readme\n\n\
                      [cache]: docs/protocol/cache.md#x-repo-commit-and-etag-forms\n\
                      [web]: https://example.com/docs/x.md\n";
        let nested = "Back to [the top](../../README.md#readme), [same](cache.md#locks), \
                      `[not a link](nowhere.md)`.\n";
        let files = [
            ("crates/hub-cache/src/layout.rs", code),
            ("README.md", readme),
            ("docs/protocol/cache.md", NOTES),
            ("docs/protocol/index.md", nested),
        ];
        assert_eq!(run(&files, &["crates/hub-url"]), Vec::<String>::new());
    }

    #[test]
    fn a_dangling_reference_fails_with_its_line() {
        let code = "//! One.\n//! Two (`docs/protocol/cache.md#repo-folder`).\n// docs/protocol/cahce.md.\n";
        let python = "\"\"\"Cache folder name (docs/protocol/cache.md#missing).\"\"\"\n";
        let readme = "[x](docs/protocol/cache.md#nope)\n\n[gone](../outside.md) [rel](cache.md)\n";
        let files = [
            ("crates/hub-cache/src/layout.rs", code),
            ("tests/python/conftest.py", python),
            ("README.md", readme),
            ("docs/protocol/cache.md", NOTES),
        ];
        let found = run(&files, &[]);
        assert_eq!(found.len(), 6, "{found:#?}");
        assert!(found[0].starts_with(
            "README.md:1: `docs/protocol/cache.md#nope`: docs/protocol/cache.md has no heading \
             whose anchor is `#nope`"
        ));
        assert!(found[0].contains("(its anchors: #cache, #locks, #locks-1,"), "{}", found[0]);
        assert_eq!(found[1], "README.md:3: `../outside.md`: leads outside the repository");
        assert!(found[2].starts_with("README.md:3: `cache.md`: there is no cache.md"));
        assert!(found[3].starts_with(
            "crates/hub-cache/src/layout.rs:2: `docs/protocol/cache.md#repo-folder`: \
             docs/protocol/cache.md has no heading whose anchor is `#repo-folder`"
        ));
        assert!(found[4].starts_with(
            "crates/hub-cache/src/layout.rs:3: `docs/protocol/cahce.md`: there is no \
             docs/protocol/cahce.md"
        ));
        assert!(
            found[5].starts_with("tests/python/conftest.py:1: `docs/protocol/cache.md#missing`")
        );
    }

    #[test]
    fn the_notes_outside_the_repository_are_not_cited() {
        let code = "//! As the Python library does (`hub-protocol.md` §4.2).\n\
                    // See ../shared/docs/user-needs.md and xet.md.\n\
                    const NAME: &str = \"hub-protocol.md\";\n";
        let readme = "Kept in docs/protocol/xet.md one day; not in myxet.md nor xet.mdx.\n";
        let files = [("crates/hub-api/src/x.rs", code), ("README.md", readme)];
        let found = run(&files, &[]);
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(found[0].starts_with("README.md:1: `docs/protocol/xet.md`: there is no"));
        assert!(found[1].starts_with(
            "crates/hub-api/src/x.rs:1: `hub-protocol.md`: the developers' notes are not in the \
             repository"
        ));
        assert!(found[2].starts_with("crates/hub-api/src/x.rs:2: `shared/docs/`"));
        assert!(found[3].starts_with("crates/hub-api/src/x.rs:2: `xet.md`"));
    }

    #[test]
    fn links_are_found_outside_code() {
        let text = "A [link](a.md#b) and `[code](c.md)`.\n```\n[fenced](d.md)\n```\n\
                    [def]: <e.md>\n[^note]: f.md\n[mail](mailto:x@y) [web](https://x/y.md)\n\
                    [paren](g_(1).md)\n";
        let targets: Vec<String> = markdown_links(text).into_iter().map(|l| l.target).collect();
        assert_eq!(targets, ["a.md#b", "e.md", "g_(1).md"]);
        assert_eq!(joined("docs/protocol", "../fuzzing.md").as_deref(), Some("docs/fuzzing.md"));
        assert_eq!(joined("docs", "../../x"), None);
        assert_eq!(split_anchor("a.md?x=1#b"), ("a.md", Some("b")));
    }
}
