//! `cargo xtask tidy`: the source rules every change must keep, checked over every Rust file
//! of the repository (tracked, or new and not ignored), each violation reported with its file
//! and line, all at once:
//!
//! - every file starts with `//!` docs saying what it is for;
//! - no `todo`, `dbg` or `unimplemented` macro anywhere, comments included;
//! - in the crates' `src/` (tests aside), a variable's name is written as a string only in
//!   `crates/hub-url/src/env.rs`, whose every name is in `VARS`;
//! - the README's environment-variables table is the one generated from `hub_url::env::VARS`;
//! - the layering of ARCHITECTURE.md holds ([`crate::layering::check`]);
//! - every reference to `docs/….md#anchor` names an existing file and heading, and no file
//!   cites the notes kept outside the repository ([`doc_refs`]);
//! - commit subjects after a fixed commit are at most 72 characters ([`commit_subjects`]).
//!
//! Where the environment is read is clippy's to check: the root `clippy.toml` disallows
//! `std::env::var` and its kin, and each `from_env` constructor allows them.
//!
//! The checks read code through [`lex`], which blanks comments and literals, so a brace or a
//! pattern inside a string counts for nothing (this file's own patterns included). Plain
//! `cargo test` runs them too (`tests::the_tree_is_tidy`).

mod commit_subjects;
mod doc_refs;

use std::path::Path;
use std::process::Command;

use hub_url::env::{VARS, Var};

use crate::layering;
use crate::util::{output, project_root, say, shout};

const HELP: &str = "\
cargo xtask tidy [--bless]

Checks the source rules over every Rust file (tracked, or new and not ignored) and reports
every violation with its file and line:
  - every file starts with `//!` docs;
  - no todo!, dbg! or unimplemented! anywhere;
  - in crates/*/src (tests aside): environment variable names are written only in
    crates/hub-url/src/env.rs (in VARS); where the environment is read is checked by clippy
    (clippy.toml's disallowed-methods: only in `from_env`);
  - README.md's environment-variables table (between `<!-- env-vars:start -->` and
    `<!-- env-vars:end -->`) is the one generated from hub_url::env::VARS;
  - the layering of ARCHITECTURE.md (cargo tree);
  - every `docs/….md#anchor` reference and relative Markdown link leads to an existing file and
    heading, and nothing cites the developers' notes kept outside the repository;
  - commit subjects (after the history this rule found) are at most 72 characters.

Options:
  --bless   rewrite README.md's environment-variables table from hub_url::env::VARS
";

/// Where every environment variable is defined.
const ENV_DEFINITIONS: &str = "crates/hub-url/src/env.rs";
/// The README and the markers around its table of environment variables.
const README: &str = "README.md";
const TABLE_START: &str = "<!-- env-vars:start -->";
const TABLE_END: &str = "<!-- env-vars:end -->";

/// The macros that mark unfinished or debugging code (names only: the `!` is matched apart).
const FORBIDDEN_MACROS: [&str; 3] = ["todo", "dbg", "unimplemented"];

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let mut bless = false;
    for arg in args {
        match arg.as_str() {
            "-h" | "--help" => {
                say(HELP);
                return Ok(());
            }
            "--bless" => bless = true,
            other => anyhow::bail!("unexpected argument '{other}'\n\n{HELP}"),
        }
    }
    let problems = check(&project_root(), bless)?;
    if problems.is_empty() {
        say("tidy: ok");
        return Ok(());
    }
    for problem in &problems {
        shout(problem);
    }
    anyhow::bail!("{} tidy violation(s), listed above", problems.len())
}

/// Every rule over the tree at `root`: the violations, each saying what to do. With `bless`,
/// a stale README table is rewritten rather than reported.
fn check(root: &Path, bless: bool) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let files = rust_files(root)?;
    for rel in &files {
        let text = std::fs::read_to_string(root.join(rel))
            .map_err(|e| anyhow::format_err!("cannot read {rel}: {e}"))?;
        check_source(rel, &text, &mut problems);
    }
    say(&format!("tidy: {} Rust files read", files.len()));

    let readme_path = root.join(README);
    let readme = std::fs::read_to_string(&readme_path)
        .map_err(|e| anyhow::format_err!("cannot read {README}: {e}"))?;
    match readme_with_table(&readme, &env_table(VARS)) {
        Err(problem) => problems.push(problem),
        Ok(updated) if updated == readme => say("tidy: the README's environment table is current"),
        Ok(updated) if bless => {
            std::fs::write(&readme_path, updated)
                .map_err(|e| anyhow::format_err!("cannot write {README}: {e}"))?;
            say("tidy: the README's environment table rewritten from hub_url::env::VARS");
        }
        Ok(_) => problems.push(format!(
            "{README}:{}: the environment-variables table differs from hub_url::env::VARS; \
             run `cargo xtask tidy --bless`",
            line_of(&readme, readme.find(TABLE_START).unwrap_or(0))
        )),
    }

    if let Err(e) = layering::check() {
        problems.push(format!("{e:#}"));
    }
    problems.extend(doc_refs::check(root)?);
    problems.extend(commit_subjects::check(root)?);
    Ok(problems)
}

/// The repository's Rust files, tracked or new (not ignored), as `/`-separated relative paths.
fn rust_files(root: &Path) -> anyhow::Result<Vec<String>> {
    let listed = output(
        Command::new("git")
            .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "*.rs"])
            .current_dir(root),
    )?;
    let mut files: Vec<String> = listed
        .split('\0')
        .filter(|rel| !rel.is_empty() && !rel.starts_with("target/"))
        .filter(|rel| root.join(rel).is_file()) // deleted but not yet committed
        .map(str::to_owned)
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// Every rule that applies to the file at `rel` (relative, `/`-separated), on its text: the
/// violations as `rel:line: what to do`, in the order of the lines.
fn check_source(rel: &str, text: &str, problems: &mut Vec<String>) {
    let mut found = file_problems(rel, text);
    found.sort_by_key(|(line, _)| *line); // stable: a line's problems keep their order
    problems.extend(found.into_iter().map(|(line, problem)| format!("{rel}:{line}: {problem}")));
}

fn file_problems(rel: &str, text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    if !text.starts_with("//!") {
        found.push((1, "start the file with `//!` docs saying what it is for".to_owned()));
    }
    let lexed = lex(text);
    for (at, name) in forbidden_macros(&lexed.without_strings) {
        found.push((line_of(text, at), format!("unfinished or debugging code: {name}")));
    }
    if !is_crate_source(rel) || is_test_file(rel) {
        return found;
    }
    let names: Vec<&(usize, String)> =
        lexed.strings.iter().filter(|(_, s)| is_env_name(s)).collect();
    let offsets: Vec<usize> = names.iter().map(|(at, _)| *at).collect();
    for ((at, name), in_test) in names.iter().zip(in_tests(&lexed.code, &offsets)) {
        if in_test {
            continue;
        }
        let (line, name) = (line_of(text, *at), name.as_str());
        let known = VARS.iter().any(|v| v.name == name || v.aliases.contains(&name));
        let problem = if rel == ENV_DEFINITIONS {
            if known {
                continue;
            }
            format!("\"{name}\" has no row in VARS: describe it there too")
        } else if known {
            format!("\"{name}\" is an environment variable: use hub_url::env's constant")
        } else {
            format!(
                "\"{name}\" looks like an environment variable: define it in {ENV_DEFINITIONS} \
                 (a constant and a row of VARS) and use the constant"
            )
        };
        found.push((line, problem));
    }
    found
}

/// A library's or `hub-cli`'s source file: `crates/<crate>/src/…`.
fn is_crate_source(rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    parts.len() > 3 && parts[0] == "crates" && parts[2] == "src"
}

/// A unit-test module in its own file: `tests.rs`, or anything under a `tests/` folder.
fn is_test_file(rel: &str) -> bool {
    let mut parts = rel.split('/').skip(3).collect::<Vec<_>>();
    let file = parts.pop().unwrap_or_default();
    file == "tests.rs" || parts.contains(&"tests")
}

/// A string that is, or looks like, an environment variable's name.
fn is_env_name(s: &str) -> bool {
    let known = VARS.iter().any(|v| v.name == s || v.aliases.contains(&s));
    let shaped = s.len() > 3
        && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && (["HF_", "HUGGING", "TRANSFORMERS_", "XDG_"].iter().any(|p| s.starts_with(p))
            || s.ends_with("_PROXY")
            || s == "HOME");
    known || shaped
}

/// The README's table of environment variables, generated from `vars`.
fn env_table(vars: &[Var]) -> String {
    let mut table = String::from("| variable | meaning | default |\n|---|---|---|\n");
    for var in vars {
        let mut names = format!("`{}`", var.name);
        if !var.aliases.is_empty() {
            let aliases: Vec<String> = var
                .aliases
                .iter()
                .map(|alias| {
                    let kind =
                        if *alias == var.name.to_ascii_lowercase() { "or" } else { "legacy" };
                    format!("{kind} `{alias}`")
                })
                .collect();
            names.push_str(&format!(" ({})", aliases.join(", ")));
        }
        let ours = if var.ours { "ours: " } else { "" };
        let default = var.default.unwrap_or("–");
        table.push_str(&format!("| {names} | {ours}{} | {default} |\n", var.meaning));
    }
    table
}

/// `readme` with `table` between its markers, or why that cannot be done.
fn readme_with_table(readme: &str, table: &str) -> Result<String, String> {
    let missing = || {
        format!(
            "{README}: no `{TABLE_START}` line, then a `{TABLE_END}` line, around the \
             environment-variables table: add them, then run `cargo xtask tidy --bless`"
        )
    };
    let start = readme.find(TABLE_START).ok_or_else(missing)?;
    let body = readme[start..].find('\n').map(|i| start + i + 1).ok_or_else(missing)?;
    let end = readme[body..].find(TABLE_END).map(|i| body + i).ok_or_else(missing)?;
    Ok(format!("{}{table}{}", &readme[..body], &readme[end..]))
}

/// A source file with its comments and literals blanked (line breaks kept, so offsets and
/// lines stay those of the file).
#[derive(Debug)]
struct Lexed {
    /// String and char literals blanked; comments kept.
    without_strings: String,
    /// Literals and comments blanked: the code alone.
    code: String,
    /// Every string literal: the offset of its opening quote, and its text between the quotes.
    strings: Vec<(usize, String)>,
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Splits Rust source into code, comments and literals, enough for these checks: line and
/// nested block comments, strings with escapes, raw strings (`r#"…"#`, `br"…"`), char
/// literals (told apart from lifetimes).
fn lex(src: &str) -> Lexed {
    let b = src.as_bytes();
    let mut without_strings = b.to_vec();
    let mut code = b.to_vec();
    let mut strings = Vec::new();
    fn blank(buf: &mut [u8], from: usize, to: usize) {
        for byte in &mut buf[from..to] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    }
    let mut i = 0;
    while i < b.len() {
        let next = b.get(i + 1).copied();
        if b[i] == b'/' && next == Some(b'/') {
            let end = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |n| i + n);
            blank(&mut code, i, end);
            i = end;
        } else if b[i] == b'/' && next == Some(b'*') {
            let (mut depth, mut j) = (1, i + 2);
            while j < b.len() && depth > 0 {
                if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                    depth += 1;
                    j += 2;
                } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut code, i, j);
            i = j;
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            let end = j.min(b.len());
            strings.push((i, src.get(i + 1..end).unwrap_or_default().to_owned()));
            blank(&mut code, i + 1, end);
            blank(&mut without_strings, i + 1, end);
            i = end + 1;
        } else if let Some((open, hashes)) = raw_string_start(b, i) {
            let close: Vec<u8> =
                std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
            let content = open + 1;
            let end = b[content..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(b.len(), |n| content + n);
            strings.push((open, src.get(content..end).unwrap_or_default().to_owned()));
            blank(&mut code, content, end);
            blank(&mut without_strings, content, end);
            i = (end + close.len()).min(b.len());
        } else if b[i] == b'\'' {
            let end = if next == Some(b'\\') {
                // An escape: '\n', '\'', '\u{1F600}'.
                b[i + 3.min(b.len() - i)..].iter().position(|&c| c == b'\'').map(|n| i + 3 + n)
            } else {
                // One char, maybe several bytes: a literal if a quote follows, else a lifetime.
                let width =
                    src.get(i + 1..).and_then(|s| s.chars().next()).map_or(1, char::len_utf8);
                (b.get(i + 1 + width) == Some(&b'\'')).then_some(i + 1 + width)
            };
            match end {
                Some(end) => {
                    blank(&mut code, i + 1, end);
                    blank(&mut without_strings, i + 1, end);
                    i = end + 1;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    Lexed { without_strings: text(without_strings), code: text(code), strings }
}

/// At `i`, the start of a raw string (`r"`, `r#"`, `br"`, `cr#"`…): the offset of its opening
/// quote and its number of `#`.
fn raw_string_start(b: &[u8], i: usize) -> Option<(usize, usize)> {
    if b[i] != b'r' {
        return None;
    }
    let starts_token = |at: usize| at == 0 || !is_ident(b[at - 1]);
    let prefixed = i >= 1 && matches!(b[i - 1], b'b' | b'c') && starts_token(i - 1);
    if !starts_token(i) && !prefixed {
        return None;
    }
    let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
    (b.get(i + 1 + hashes) == Some(&b'"')).then_some((i + 1 + hashes, hashes))
}

/// Uses of the forbidden macros: their offsets and how they read.
fn forbidden_macros(text: &str) -> Vec<(usize, String)> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    for name in FORBIDDEN_MACROS {
        for (at, _) in text.match_indices(name) {
            let after = at + name.len();
            let bang = b.get(after) == Some(&b'!');
            let open = b[(after + 1).min(b.len())..]
                .iter()
                .find(|c| !c.is_ascii_whitespace())
                .is_some_and(|c| matches!(c, b'(' | b'[' | b'{'));
            if (at == 0 || !is_ident(b[at - 1])) && bang && open {
                found.push((at, format!("{name}!")));
            }
        }
    }
    found.sort();
    found
}

/// Whether each of `offsets` in `code` (comments and literals blanked) is test code: inside
/// the item after `#[cfg(test)]` (found by following braces: a `{` opens it when no `;` came
/// in between at its level), or in a file under `#![cfg(test)]`.
fn in_tests(code: &str, offsets: &[usize]) -> Vec<bool> {
    let b = code.as_bytes();
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_by_key(|&k| offsets[k]);
    let mut order = order.into_iter().peekable();
    let mut res = vec![false; offsets.len()];
    // One entry per open brace: whether it opens a test item.
    let mut stack: Vec<bool> = Vec::new();
    let (mut depth, mut file_test) = (0usize, false);
    let mut pending_test: Option<usize> = None;
    for i in 0..=b.len() {
        while let Some(&k) = order.peek().filter(|&&k| offsets[k] <= i) {
            res[k] = file_test || pending_test.is_some() || stack.contains(&true);
            order.next();
        }
        let Some(&c) = b.get(i) else { break };
        match c {
            b'#' => {
                let attribute: String = code[i..]
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .take_while(|&c| c != ']')
                    .take(16)
                    .collect();
                match attribute.as_str() {
                    "#[cfg(test)" => pending_test = Some(depth),
                    "#![cfg(test)" => file_test = true,
                    _ => {}
                }
            }
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            b'{' => stack.push(pending_test.take_if(|at| *at == depth).is_some()),
            b'}' => {
                stack.pop();
            }
            b';' => {
                let _ = pending_test.take_if(|at| *at == depth);
            }
            _ => {}
        }
    }
    res
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())].iter().filter(|&&c| c == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(rel: &str, text: &str) -> Vec<String> {
        let mut problems = Vec::new();
        check_source(rel, text, &mut problems);
        problems
    }

    #[test]
    fn a_file_without_module_docs_is_reported() {
        let found = problems("crates/hub-api/src/new.rs", "use std::fmt;\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("crates/hub-api/src/new.rs:1: start the file with `//!`"));
        assert!(problems("xtask/src/new.rs", "//! What it is for.\n").is_empty());
        assert_eq!(problems("tests/it/new.rs", "// A plain comment.\nfn f() {}\n").len(), 1);
    }

    #[test]
    fn unfinished_code_is_reported_with_its_line() {
        let text =
            "//! A module.\n\nfn f() {\n    todo!()\n}\nfn g() { dbg! (1); unimplemented![] }\n";
        let found = problems("tests/src/x.rs", text);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].starts_with("tests/src/x.rs:4: ") && found[0].ends_with("todo!"));
        assert!(found[1].starts_with("tests/src/x.rs:6: ") && found[1].ends_with("dbg!"));
        assert!(found[2].ends_with("unimplemented!"));
        // In comments too; not in strings, nor as a part of another name.
        assert_eq!(problems("xtask/src/x.rs", "//! x\n// was: dbg!(x)\n").len(), 1);
        let quiet = "//! x\nconst S: &str = \"todo!()\";\nmacro_rules! mytodo { () => {} }\nfn f() { mytodo!(); }\n";
        assert!(problems("xtask/src/x.rs", quiet).is_empty());
    }

    #[test]
    fn variable_names_are_written_only_in_hub_url_env() {
        let text = "//! x\nfn from_env() -> Option<OsString> {\n    std::env::var_os(\"HF_TOKEN\")\n        .or(std::env::var_os(r\"https_proxy\"))\n        .or(std::env::var_os(\"HF_HUB_NEW_KNOB\"))\n}\nconst MESSAGE: &str = \"set HF_TOKEN\";\n";
        let found = problems("crates/hub-api/src/x.rs", text);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found[0]
                .starts_with("crates/hub-api/src/x.rs:3: \"HF_TOKEN\" is an environment variable")
        );
        assert!(found[1].starts_with("crates/hub-api/src/x.rs:4: \"https_proxy\" is"));
        assert!(found[2].contains(":5: \"HF_HUB_NEW_KNOB\" looks like an environment variable"));
        let defined = "//! x\npub const HF_TOKEN: &str = \"HF_TOKEN\";\npub const HF_NEW: &str = \"HF_NEW\";\n";
        let found = problems(ENV_DEFINITIONS, defined);
        assert_eq!(
            found,
            [format!("{ENV_DEFINITIONS}:3: \"HF_NEW\" has no row in VARS: describe it there too")]
        );
    }

    #[test]
    fn names_in_test_code_are_not_reported() {
        let text = "//! x\nconst A: &str = \"HF_HOME\";\n#[cfg(test)]\nmod tests {\n    const B: &str = \"HF_HOME\";\n}\n";
        let found = problems("crates/hub-api/src/x.rs", text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("crates/hub-api/src/x.rs:2: \"HF_HOME\""), "{found:?}");
        let file_test = "//! x\n#![cfg(test)]\nconst A: &str = \"HF_HOME\";\n";
        assert!(problems("crates/hub-api/src/x.rs", file_test).is_empty());
        // Outside the crates' src, and in test files, anything goes.
        assert!(problems("xtask/src/x.rs", text).is_empty());
        assert!(problems("crates/hub-api/src/tests.rs", text).is_empty());
        assert!(problems("crates/hub-api/src/tests/a.rs", text).is_empty());
    }

    #[test]
    fn braces_in_literals_and_lifetimes_do_not_confuse_the_scopes() {
        let src = "fn a<'x>(s: &'x str) -> char { let _ = \"{\"; '}' }\n#[cfg(test)]\nmod t { fn f() { r#\"}\"#; X } }\nfn g() { Y }\n";
        let code = lex(src).code;
        let (x, y) = (code.find('X').unwrap(), code.find('Y').unwrap());
        assert_eq!(in_tests(&code, &[y, x, 0]), [false, true, false]);
        // A `;` ends an item under `#[cfg(test)]`, but not one inside brackets.
        let code = lex("#[cfg(test)]\nuse std::fmt;\nfn g() { Y }\n").code;
        assert_eq!(in_tests(&code, &[code.find('Y').unwrap()]), [false]);
        let code = lex("#[cfg(test)]\nfn g(x: [u8; 4]) { Z }\n").code;
        assert_eq!(in_tests(&code, &[code.find('Z').unwrap()]), [true]);
    }

    #[test]
    fn the_readme_table_is_generated_and_checked() {
        let table = env_table(VARS);
        assert!(table.starts_with("| variable | meaning | default |\n|---|---|---|\n"));
        assert!(table.contains(
            "| `HF_HUB_CACHE` (legacy `HUGGINGFACE_HUB_CACHE`) | the hub cache | `$HF_HOME/hub` |\n"
        ));
        assert!(table.contains("| `HTTPS_PROXY` (or `https_proxy`) |"));
        assert!(table.contains("| `HF_HUB_UPLOAD_RETRIES` | ours: retries"));
        assert_eq!(table.lines().count(), VARS.len() + 2);

        let current = format!(
            "# R\n\n## Environment variables\n\n{TABLE_START}\n{table}{TABLE_END}\n\n## License\n"
        );
        assert_eq!(readme_with_table(&current, &table).as_deref(), Ok(current.as_str()));
        let stale = current.replace("| the hub cache |", "| the cache |");
        assert_ne!(stale, current);
        assert_eq!(readme_with_table(&stale, &table).as_deref(), Ok(current.as_str()));
        let unmarked = current.replace(TABLE_END, "");
        assert!(
            readme_with_table(&unmarked, &table).unwrap_err().contains("cargo xtask tidy --bless")
        );
    }

    #[test]
    fn lines_are_counted_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
    }

    /// Plain `cargo test` runs tidy over this tree: a violation fails it.
    #[test]
    fn the_tree_is_tidy() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let problems = check(root, false).unwrap();
        assert!(problems.is_empty(), "`cargo xtask tidy` finds:\n{}", problems.join("\n"));
    }
}
