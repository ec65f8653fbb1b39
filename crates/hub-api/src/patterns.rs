//! File filters with the Python library's semantics (`docs/protocol/download.md#file-patterns`):
//! `fnmatch.fnmatchcase`, where `*` also crosses `/`, `?` is one character and `[seq]` /
//! `[!seq]` a class; `\` is normalised to `/` in paths and patterns; a pattern ending in `/`
//! means everything below that folder.

/// Allow and ignore patterns. A path is kept when it matches an allow pattern (or there are
/// none) and no ignore pattern.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patterns {
    allow: Vec<Vec<char>>,
    ignore: Vec<Vec<char>>,
}

impl Patterns {
    /// Builds the filter.
    pub fn new<A: AsRef<str>, I: AsRef<str>>(allow: &[A], ignore: &[I]) -> Patterns {
        Patterns {
            allow: allow.iter().map(|p| normalise(p.as_ref())).collect(),
            ignore: ignore.iter().map(|p| normalise(p.as_ref())).collect(),
        }
    }

    /// Whether the filter keeps everything.
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.ignore.is_empty()
    }

    /// Whether `path` passes the filter.
    pub fn keeps(&self, path: &str) -> bool {
        let path: Vec<char> = path.replace('\\', "/").chars().collect();
        (self.allow.is_empty() || self.allow.iter().any(|p| fnmatch(p, &path)))
            && !self.ignore.iter().any(|p| fnmatch(p, &path))
    }
}

fn normalise(pattern: &str) -> Vec<char> {
    let mut pattern = pattern.replace('\\', "/");
    if pattern.ends_with('/') {
        pattern.push('*');
    }
    pattern.chars().collect()
}

/// Python's `fnmatchcase`: the whole name must match.
fn fnmatch(pattern: &[char], name: &[char]) -> bool {
    // Iterative matching with backtracking to the last `*`.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() {
            match pattern[p] {
                '*' => {
                    star = Some((p, n));
                    p += 1;
                    continue;
                }
                '?' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class(pattern, p, name[n]) {
                        if matched {
                            p = next;
                            n += 1;
                            continue;
                        }
                    } else if name[n] == '[' {
                        // An unclosed `[` is a literal.
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
                c if c == name[n] => {
                    p += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                p = sp + 1;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// Matches `c` against the class starting at `pattern[start] == '['`: `(matched, index after
/// the class)`, or `None` when the class is not closed.
fn class(pattern: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negated = pattern.get(i) == Some(&'!');
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let current = *pattern.get(i)?;
        if current == ']' && !first {
            return Some((matched != negated, i + 1));
        }
        first = false;
        if pattern.get(i + 1) == Some(&'-') && pattern.get(i + 2).is_some_and(|e| *e != ']') {
            let end = pattern[i + 2];
            matched |= current <= c && c <= end;
            i += 3;
        } else {
            matched |= current == c;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, name: &str) -> bool {
        fnmatch(&normalise(pattern), &name.chars().collect::<Vec<_>>())
    }

    #[test]
    fn matches_like_python_fnmatchcase() {
        let cases = [
            ("*.json", "config.json", true),
            ("*.json", "nested/deep/config.json", true), // `*` crosses `/`
            ("*.JSON", "config.json", false),            // case-sensitive
            ("config.???", "config.bin", true),
            ("config.???", "config.json", false),
            ("[ab]*", "a.txt", true),
            ("[!ab]*", "a.txt", false),
            ("[!ab]*", "c.txt", true),
            ("[a-c].txt", "b.txt", true),
            ("[]].txt", "].txt", true),
            ("[.txt", "[.txt", true),
            ("nested/", "nested/deep/file.txt", true),
            ("nested/", "nestedfile", false),
            ("nested\\*", "nested/x", true),
            ("**/*.bin", "a/b/w.bin", true),
            ("*", "", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("{a,b}", "a", false), // no brace expansion in Python
        ];
        for (pattern, name, expected) in cases {
            assert_eq!(m(pattern, name), expected, "{pattern} vs {name}");
        }
    }

    #[test]
    fn allow_then_ignore() {
        let p = Patterns::new(&["*.json", "*.txt"], &["nested/*"]);
        assert!(p.keeps("config.json"));
        assert!(!p.keeps("weights.bin"));
        assert!(!p.keeps("nested/deep/file.txt"));
        assert!(Patterns::new::<&str, &str>(&[], &[]).keeps("anything"));
    }
}
