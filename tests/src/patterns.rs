//! `.gitattributes` and `.gitignore` matching, enough for the commit API: which paths are LFS
//! (`filter=lfs`) and which are ignored.
//!
//! Glob syntax as git's `wildmatch` with `WM_PATHNAME`: `*` and `?` stop at `/`, `**/` matches
//! zero or more directories, `/**` everything below, `[...]` classes with ranges, `!`/`^`
//! negation and POSIX names (`[[:space:]]`, which is how git-lfs writes spaces), `\` escapes.
//! A pattern without a `/` (other than a trailing one) matches the basename at any depth; one
//! with a `/` is anchored at the root (a leading `/` is dropped).
//!
//! Limits: one file at the root (no nested `.gitattributes` / `.gitignore`), no quoted
//! (`"…"`) patterns, no attribute macros (`binary`) and no `core.excludesFile`.

/// One pattern line, parsed.
#[derive(Debug, Clone)]
struct Pattern {
    glob: Vec<char>,
    /// Matched against the whole path, not the basename.
    anchored: bool,
    /// A trailing `/`: matches directories only.
    dir_only: bool,
    /// A leading `!` (gitignore only): re-includes.
    negated: bool,
}

impl Pattern {
    fn parse(raw: &str, allow_negation: bool) -> Option<Pattern> {
        let mut text = raw;
        let negated = allow_negation && text.starts_with('!');
        if negated {
            text = &text[1..];
        } else if let Some(rest) = text.strip_prefix("\\!") {
            text = rest; // an escaped leading `!` is literal: re-added below
        }
        let dir_only = text.len() > 1 && text.ends_with('/');
        let text = if dir_only { &text[..text.len() - 1] } else { text };
        let anchored = text.contains('/');
        let text = text.strip_prefix('/').unwrap_or(text);
        if text.is_empty() {
            return None;
        }
        let mut glob: Vec<char> = text.chars().collect();
        if raw.starts_with("\\!") {
            glob.insert(0, '!');
        }
        Some(Pattern { glob, anchored, dir_only, negated })
    }

    fn matches(&self, path: &str, is_dir: bool) -> bool {
        if self.dir_only && !is_dir {
            return false;
        }
        let subject = if self.anchored { path } else { path.rsplit('/').next().unwrap_or(path) };
        let subject: Vec<char> = subject.chars().collect();
        wildmatch(&self.glob, &subject)
    }
}

/// The lines of a pattern file that carry a pattern: comments and blank lines dropped, trailing
/// unescaped spaces trimmed.
fn pattern_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(|l| l.trim_end_matches('\r')).filter_map(|line| {
        let trimmed = line.trim_end_matches(' ');
        let trimmed = if trimmed.len() < line.len() && trimmed.ends_with('\\') {
            &line[..trimmed.len() + 1] // `\ ` keeps its space
        } else {
            trimmed
        };
        (!trimmed.is_empty() && !trimmed.starts_with('#')).then_some(trimmed)
    })
}

/// Whether `.gitattributes` content `attributes` gives `path` (a file) `filter=lfs`: the last
/// matching line that mentions `filter` decides.
pub(crate) fn is_lfs(attributes: &str, path: &str) -> bool {
    let mut lfs = false;
    for line in pattern_lines(attributes) {
        let line = line.trim_start();
        let mut fields = line.split_whitespace();
        let Some(pattern) = fields.next().and_then(|p| Pattern::parse(p, false)) else {
            continue;
        };
        if !pattern.matches(path, false) {
            continue;
        }
        for attr in fields {
            if attr == "filter=lfs" {
                lfs = true;
            } else if attr.starts_with("filter=") || attr == "-filter" || attr == "!filter" {
                lfs = false;
            }
        }
    }
    lfs
}

/// The `.gitattributes` line the Hub appends for an LFS file no pattern covers: the path as is
/// (so a bare name also matches in subdirectories, as on the Hub), with spaces written
/// `[[:space:]]` as git-lfs does and glob characters escaped.
pub(crate) fn lfs_track_line(path: &str) -> String {
    let mut pattern = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            ' ' => pattern.push_str("[[:space:]]"),
            '*' | '?' | '[' | ']' | '\\' | '!' | '#' => {
                pattern.push('\\');
                pattern.push(c);
            }
            c => pattern.push(c),
        }
    }
    format!("{pattern} filter=lfs diff=lfs merge=lfs -text\n")
}

/// Whether `.gitignore` content `ignore` excludes `path` (a file): a file inside an excluded
/// directory is excluded whatever follows; otherwise the last matching pattern decides (`!`
/// re-includes).
pub(crate) fn is_ignored(ignore: &str, path: &str) -> bool {
    let patterns: Vec<Pattern> =
        pattern_lines(ignore).filter_map(|line| Pattern::parse(line, true)).collect();
    let verdict = |subject: &str, is_dir: bool| {
        patterns.iter().rev().find(|p| p.matches(subject, is_dir)).is_some_and(|p| !p.negated)
    };
    let mut dirs = path.match_indices('/').map(|(i, _)| &path[..i]);
    dirs.any(|dir| verdict(dir, true)) || verdict(path, false)
}

/// git's `wildmatch` with `WM_PATHNAME` (see the module docs).
fn wildmatch(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') if p.get(1) == Some(&'*') => {
            let rest = &p[2..];
            if let Some(after) = rest.strip_prefix(&['/']) {
                // `**/`: zero or more whole directories.
                wildmatch(after, t)
                    || t.iter().enumerate().any(|(i, c)| *c == '/' && wildmatch(after, &t[i + 1..]))
            } else {
                (0..=t.len()).any(|i| wildmatch(rest, &t[i..]))
            }
        }
        Some('*') => {
            let rest = &p[1..];
            for i in 0..=t.len() {
                if wildmatch(rest, &t[i..]) {
                    return true;
                }
                if t.get(i) == Some(&'/') {
                    break;
                }
            }
            false
        }
        Some('?') => t.first().is_some_and(|c| *c != '/') && wildmatch(&p[1..], &t[1..]),
        Some('[') => match (t.first(), bracket(&p[1..])) {
            (Some(c), Some((class, len))) => {
                *c != '/' && class.matches(*c) && wildmatch(&p[1 + len..], &t[1..])
            }
            (None, _) => false,
            // An unterminated `[` is literal.
            (Some(c), None) => *c == '[' && wildmatch(&p[1..], &t[1..]),
        },
        Some('\\') if p.len() > 1 => t.first() == Some(&p[1]) && wildmatch(&p[2..], &t[1..]),
        Some(c) => t.first() == Some(c) && wildmatch(&p[1..], &t[1..]),
    }
}

/// A bracket expression's content.
#[derive(Debug, Default)]
struct Class {
    negated: bool,
    ranges: Vec<(char, char)>,
    named: Vec<String>,
}

impl Class {
    fn matches(&self, c: char) -> bool {
        let hit = self.ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c))
            || self.named.iter().any(|name| match name.as_str() {
                "alnum" => c.is_ascii_alphanumeric(),
                "alpha" => c.is_ascii_alphabetic(),
                "blank" => c == ' ' || c == '\t',
                "cntrl" => c.is_ascii_control(),
                "digit" => c.is_ascii_digit(),
                "graph" => c.is_ascii_graphic(),
                "lower" => c.is_ascii_lowercase(),
                "print" => c.is_ascii_graphic() || c == ' ',
                "punct" => c.is_ascii_punctuation(),
                "space" => c.is_ascii_whitespace(),
                "upper" => c.is_ascii_uppercase(),
                "xdigit" => c.is_ascii_hexdigit(),
                _ => false,
            });
        hit != self.negated
    }
}

/// Parses the bracket expression starting after `[`; the class and how many pattern characters
/// it used (the closing `]` included), or `None` if it is not terminated.
fn bracket(p: &[char]) -> Option<(Class, usize)> {
    let mut class = Class::default();
    let mut i = 0;
    if matches!(p.first(), Some('!' | '^')) {
        class.negated = true;
        i = 1;
    }
    let start = i;
    while i < p.len() {
        let c = p[i];
        if c == ']' && i > start {
            return Some((class, i + 1));
        }
        if c == '[' && p.get(i + 1) == Some(&':') {
            let name_start = i + 2;
            let end = (name_start..p.len().saturating_sub(1))
                .find(|&j| p[j] == ':' && p[j + 1] == ']')?;
            class.named.push(p[name_start..end].iter().collect());
            i = end + 2;
            continue;
        }
        let (lo, next) = if c == '\\' { (*p.get(i + 1)?, i + 2) } else { (c, i + 1) };
        if p.get(next) == Some(&'-') && p.get(next + 1).is_some_and(|c| *c != ']') {
            let (hi, after) = if p[next + 1] == '\\' {
                (*p.get(next + 2)?, next + 3)
            } else {
                (p[next + 1], next + 2)
            };
            class.ranges.push((lo, hi));
            i = after;
        } else {
            class.ranges.push((lo, lo));
            i = next;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const HUB_DEFAULT: &str = "*.bin filter=lfs diff=lfs merge=lfs -text\n\
        saved_model/**/* filter=lfs diff=lfs merge=lfs -text\n\
        *.tar.* filter=lfs diff=lfs merge=lfs -text\n\
        *tfevents* filter=lfs diff=lfs merge=lfs -text\n";

    #[test]
    fn lfs_patterns_as_git_reads_them() {
        assert!(is_lfs(HUB_DEFAULT, "weights.bin"));
        assert!(is_lfs(HUB_DEFAULT, "deep/dir/weights.bin"));
        assert!(!is_lfs(HUB_DEFAULT, "weights.bin.txt"));
        assert!(is_lfs(HUB_DEFAULT, "saved_model/a/b/c.pb"));
        assert!(is_lfs(HUB_DEFAULT, "saved_model/c.pb"));
        assert!(!is_lfs(HUB_DEFAULT, "other/saved_model/c.pb"));
        assert!(is_lfs(HUB_DEFAULT, "x.tar.gz"));
        assert!(is_lfs(HUB_DEFAULT, "logs/events.out.tfevents.123"));
        assert!(!is_lfs("", "a.bin"));
        let overridden = format!("{HUB_DEFAULT}special.bin -filter\n# *.txt filter=lfs\n");
        assert!(!is_lfs(&overridden, "special.bin"));
        assert!(!is_lfs(&overridden, "a.txt"));
        assert!(is_lfs("/data/*.csv filter=lfs\n", "data/x.csv"));
        assert!(!is_lfs("/data/*.csv filter=lfs\n", "data/sub/x.csv"));
        assert!(!is_lfs("/data/*.csv filter=lfs\n", "other/data/x.csv"));
        assert!(is_lfs("data/** filter=lfs\n", "data/sub/x.csv"));
        assert!(is_lfs("*.[ch] filter=lfs\n", "src/a.h"));
        assert!(!is_lfs("*.[!ch] filter=lfs\n", "src/a.h"));
        assert!(is_lfs("*.[!ch] filter=lfs\n", "src/a.o"));
    }

    #[test]
    fn tracked_lines_match_exactly_their_path() {
        for path in ["big.txt", "dir/big file [1].txt", "a/b/*weird?.txt", "#hash.txt"] {
            let line = lfs_track_line(path);
            assert!(is_lfs(&line, path), "{line:?} should match {path:?}");
        }
        assert_eq!(lfs_track_line("big.txt"), "big.txt filter=lfs diff=lfs merge=lfs -text\n");
        assert!(!is_lfs(&lfs_track_line("a/b/*weird?.txt"), "a/b/xweirdy.txt"));
        assert_eq!(
            lfs_track_line("d/a b.bin"),
            "d/a[[:space:]]b.bin filter=lfs diff=lfs merge=lfs -text\n"
        );
    }

    #[test]
    fn ignore_rules() {
        let ignore = "*.log\n!keep.log\nbuild/\n/secret.txt\ntmp*\n\\!bang\n";
        assert!(is_ignored(ignore, "a.log"));
        assert!(is_ignored(ignore, "deep/a.log"));
        assert!(!is_ignored(ignore, "keep.log"));
        assert!(is_ignored(ignore, "build/out.bin"));
        assert!(is_ignored(ignore, "src/build/out.bin"));
        assert!(!is_ignored(ignore, "build"), "a file named build is not the directory");
        assert!(is_ignored(ignore, "secret.txt"));
        assert!(!is_ignored(ignore, "sub/secret.txt"));
        assert!(is_ignored(ignore, "tmp1/x.txt"));
        assert!(is_ignored(ignore, "!bang"));
        assert!(!is_ignored(ignore, "src/main.rs"));
        assert!(!is_ignored("", "a.log"));
        // A file in an excluded directory cannot be re-included.
        assert!(is_ignored("build/\n!build/keep.txt\n", "build/keep.txt"));
    }
}
