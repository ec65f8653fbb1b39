//! `cargo xtask tidy`: the source rules every change must keep, checked over every Rust file
//! of the repository (tracked, or new and not ignored), each violation reported with its file
//! and line, all at once:
//!
//! - every file starts with `//!` docs saying what it is for;
//! - no `todo`, `dbg` or `unimplemented` macro anywhere, comments included;
//! - in the crates' `src/` (tests aside), the environment is read (`std::env::var`, `var_os`,
//!   `vars`, `vars_os`, `home_dir`) only inside a fn named `from_env`, and a variable's name is
//!   written as a string only in `crates/hub-url/src/env.rs`, whose every name is in `VARS`;
//! - the README's environment-variables table is the one generated from `hub_url::env::VARS`;
//! - the layering of ARCHITECTURE.md holds ([`crate::layering::check`]);
//! - every reference to `docs/….md#anchor` names an existing file and heading, and no file
//!   cites the notes kept outside the repository ([`doc_refs`]);
//! - commit subjects after a fixed commit are at most 72 characters ([`commit_subjects`]).
//!
//! The checks read code through [`lex`], which blanks comments and literals, so a brace or a
//! pattern inside a string counts for nothing (this file's own patterns included).

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
  - in crates/*/src (tests aside): the environment is read only inside a fn named `from_env`,
    and environment variable names are written only in crates/hub-url/src/env.rs (in VARS);
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
/// The `std::env` functions that read the environment.
const ENV_READERS: [&str; 5] = ["var", "var_os", "vars", "vars_os", "home_dir"];

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
    let root = project_root();
    let mut problems = Vec::new();

    let files = rust_files(&root)?;
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

    problems.extend(doc_refs::check(&root)?);
    problems.extend(commit_subjects::check(&root)?);

    if problems.is_empty() {
        say("tidy: ok");
        return Ok(());
    }
    for problem in &problems {
        shout(problem);
    }
    anyhow::bail!("{} tidy violation(s), listed above", problems.len())
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
    let env_reads = env_reads(&lexed.code);
    let names: Vec<&(usize, String)> =
        lexed.strings.iter().filter(|(_, s)| is_env_name(s)).collect();
    let mut offsets: Vec<usize> = env_reads.iter().map(|(at, _)| *at).collect();
    offsets.extend(names.iter().map(|(at, _)| *at));
    let contexts = contexts_at(&lexed.code, &offsets);
    for ((at, reader), context) in env_reads.iter().zip(&contexts) {
        if context.test || context.function.as_deref() == Some("from_env") {
            continue;
        }
        let place = context
            .function
            .as_ref()
            .map_or_else(|| "outside any fn".to_owned(), |function| format!("in `fn {function}`"));
        found.push((
            line_of(text, *at),
            format!(
                "`env::{reader}` {place}: read the environment only in a `from_env` \
                 constructor, and pass the values on"
            ),
        ));
    }
    for ((at, name), context) in names.iter().zip(&contexts[env_reads.len()..]) {
        if context.test {
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

/// Reads of the environment in `code`: their offsets and the `std::env` function.
fn env_reads(code: &str) -> Vec<(usize, &'static str)> {
    let b = code.as_bytes();
    let mut found = Vec::new();
    for (at, _) in code.match_indices("env::") {
        if at > 0 && is_ident(b[at - 1]) {
            continue;
        }
        let start = at + "env::".len();
        let len = b[start..].iter().take_while(|&&c| is_ident(c)).count();
        let word = &code[start..start + len];
        if let Some(reader) = ENV_READERS.into_iter().find(|r| *r == word) {
            found.push((at, reader));
        }
    }
    found
}

/// Where an offset of the code is.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Context {
    /// The innermost named fn around it.
    function: Option<String>,
    /// Inside an item under `#[cfg(test)]` (or a file under `#![cfg(test)]`).
    test: bool,
}

/// The [`Context`] of each of `offsets` in `code` (comments and literals blanked), found by
/// following braces: a `{` opens the body of the `fn` before it when no `(`, `[` or `;` came
/// in between at its level, and likewise the item after `#[cfg(test)]`.
fn contexts_at(code: &str, offsets: &[usize]) -> Vec<Context> {
    struct Scope {
        function: Option<String>,
        test: bool,
    }
    let b = code.as_bytes();
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_by_key(|&k| offsets[k]);
    let mut order = order.into_iter().peekable();
    let mut contexts = vec![Context { function: None, test: false }; offsets.len()];
    let mut stack: Vec<Scope> = Vec::new();
    let (mut depth, mut file_test) = (0usize, false);
    let mut pending_fn: Option<(String, usize)> = None;
    let mut pending_test: Option<usize> = None;
    let mut i = 0;
    while i <= b.len() {
        while let Some(&k) = order.peek().filter(|&&k| offsets[k] <= i) {
            contexts[k] = Context {
                function: stack.iter().rev().find_map(|s| s.function.clone()),
                test: file_test || pending_test.is_some() || stack.iter().any(|s| s.test),
            };
            order.next();
        }
        let Some(&c) = b.get(i) else { break };
        if is_ident(c) && (i == 0 || !is_ident(b[i - 1])) {
            let len = b[i..].iter().take_while(|&&c| is_ident(c)).count();
            if &code[i..i + len] == "fn" {
                let name_at =
                    i + len + b[i + len..].iter().take_while(|c| c.is_ascii_whitespace()).count();
                let name_len = b[name_at..].iter().take_while(|&&c| is_ident(c)).count();
                if name_len > 0 {
                    pending_fn = Some((code[name_at..name_at + name_len].to_owned(), depth));
                }
            }
            i += len;
            continue;
        }
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
            b'{' => {
                let function = pending_fn.take_if(|(_, at)| *at == depth).map(|(name, _)| name);
                let test = pending_test.take_if(|at| *at == depth).is_some();
                stack.push(Scope { function, test });
            }
            b'}' => {
                stack.pop();
            }
            b';' => {
                let _ = pending_fn.take_if(|(_, at)| *at == depth);
                let _ = pending_test.take_if(|at| *at == depth);
            }
            _ => {}
        }
        i += 1;
    }
    contexts
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
    fn the_environment_is_read_only_in_from_env() {
        let text = r#"//! Settings.

impl Settings {
    /// Reads it.
    pub fn from_env() -> Settings {
        Settings::from_vars(&|name| std::env::var_os(name), std::env::home_dir())
    }

    fn from_vars(var: &dyn Fn(&str) -> Option<OsString>, home: Option<PathBuf>) -> Settings {
        let brace = '{';
        let s = "}}} fn from_env() {";
        let timeout = std::env::var(HF_HUB_ETAG_TIMEOUT);
        Settings { home, timeout }
    }
}

pub fn flag(name: &str) -> bool {
    env::vars().any(|(k, _)| k == name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads() {
        let _ = std::env::var_os("HF_HOME");
    }
}
"#;
        let found = problems("crates/hub-api/src/settings.rs", text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("crates/hub-api/src/settings.rs:12: `env::var` in `fn from_vars`")
        );
        assert!(
            found[1].starts_with("crates/hub-api/src/settings.rs:18: `env::vars` in `fn flag`")
        );
        // Outside the crates' src, and in test files, anything goes.
        assert!(problems("xtask/src/settings.rs", text).is_empty());
        assert!(problems("crates/hub-api/src/tests.rs", text).is_empty());
        let top = "//! x\nuse std::env::var_os;\nfn from_env() -> bool { std::env::home_dir().is_some() }\n";
        let found = problems("crates/hub-cli/src/x.rs", top);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains(":2: `env::var_os` outside any fn"), "{found:?}");
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
    fn braces_in_literals_and_lifetimes_do_not_confuse_the_scopes() {
        let code = lex(
            "fn a<'x>(s: &'x str) -> char { let _ = \"{\"; '}' }\nfn from_env() { r#\"}\"#; X }\n",
        )
        .code;
        let at = code.find('X').unwrap();
        let contexts = contexts_at(&code, &[at, 0]);
        assert_eq!(contexts[0], Context { function: Some("from_env".to_owned()), test: false });
        assert_eq!(contexts[1], Context { function: None, test: false });
        let code = lex("trait T { fn f(&self); fn g(x: [u8; 4]) { Y } }\n").code;
        let at = code.find('Y').unwrap();
        assert_eq!(contexts_at(&code, &[at])[0].function.as_deref(), Some("g"));
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
}
