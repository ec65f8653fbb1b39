//! Small helpers: the project root, running commands loudly, printing, tables, sha256.
//!
//! Copies of xtask's (`xtask/src/util.rs`), which this crate cannot depend on: xtask is a binary.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root: the first folder from the current one up whose `Cargo.toml` has a
/// `[workspace]` table (so a copy of the repository is its own root), else the folder above
/// this crate's.
pub(crate) fn project_root() -> PathBuf {
    std::env::current_dir().ok().and_then(|cwd| workspace_root_above(&cwd)).unwrap_or_else(|| {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
    })
}

/// The first of `dir` and its ancestors whose `Cargo.toml` has a `[workspace]` table.
fn workspace_root_above(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|manifest| manifest.lines().any(|line| line.trim() == "[workspace]"))
        })
        .map(Path::to_path_buf)
}

/// The cargo that runs us (`cargo run` sets `CARGO`), in the project root.
pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(project_root());
    cmd
}

/// Runs `cmd`, echoing it; fails with its exit status.
pub(crate) fn exec(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = describe(cmd);
    say(&format!("$ {shown}"));
    let status = cmd.status().map_err(|e| anyhow::format_err!("cannot run {shown}: {e}"))?;
    if !status.success() {
        anyhow::bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Runs `cmd` and returns its stdout; fails with its stderr.
pub(crate) fn output(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.output().map_err(|e| anyhow::format_err!("cannot run {}: {e}", describe(cmd)))?;
    if !out.status.success() {
        anyhow::bail!(
            "`{}` failed ({}): {}",
            describe(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The sha256 of a file, in hex, by `openssl dgst -sha256`: the tool the benchmarks compare
/// verified downloads with.
pub(crate) fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let out = output(Command::new("openssl").args(["dgst", "-sha256"]).arg(path))?;
    openssl_digest(&out)
        .map(str::to_owned)
        .ok_or_else(|| anyhow::format_err!("cannot read the digest in openssl's {out:?}"))
}

/// The hex digest of `openssl dgst -sha256 FILE` (`SHA2-256(FILE)= hex`).
pub(crate) fn openssl_digest(out: &str) -> Option<&str> {
    out.trim().rsplit_once("= ").map(|(_, hex)| hex.trim())
}

pub(crate) fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// Prints a line on stdout; a closed pipe (`| head`) is not an error.
pub(crate) fn say(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{msg}");
}

pub(crate) fn shout(msg: &str) {
    eprintln!("{msg}");
}

/// Prints a section heading.
pub(crate) fn step(title: &str) {
    say(&format!("\n==> {title}"));
}

/// Columns two spaces apart, aligned as `align` says per column (`<` left, `>` right).
pub(crate) fn table(align: &str, rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let width = widths[c];
            let sep = if c == 0 { "" } else { "  " };
            if align.as_bytes().get(c) == Some(&b'>') {
                let _ = write!(line, "{sep}{cell:>width$}");
            } else {
                let _ = write!(line, "{sep}{cell:<width$}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_workspace_root_from_a_subfolder() {
        let dir = std::env::temp_dir().join(format!("hub-bench-root-{}", std::process::id()));
        let root = dir.join("ws");
        std::fs::create_dir_all(root.join("crates/a/src")).unwrap();
        std::fs::write(root.join("Cargo.toml"), "[workspace]\nmembers = [\"crates/a\"]\n").unwrap();
        std::fs::write(root.join("crates/a/Cargo.toml"), "[package]\nname = \"a\"\n").unwrap();
        assert_eq!(workspace_root_above(&root.join("crates/a/src")), Some(root.clone()));
        assert_eq!(workspace_root_above(&root), Some(root.clone()));
        // This crate, run from its own folder, finds the real workspace.
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(workspace_root_above(here).as_deref(), here.parent());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn aligns_a_table() {
        let rows = vec![
            vec!["run".to_owned(), "time".to_owned()],
            vec!["curl, one stream".to_owned(), "1.0 s".to_owned()],
        ];
        assert_eq!(table("<>", &rows), "run                time\ncurl, one stream  1.0 s\n");
    }

    #[test]
    fn reads_the_digest() {
        assert_eq!(openssl_digest("SHA2-256(/tmp/a b.bin)= 0abc\n"), Some("0abc"));
        assert_eq!(openssl_digest("SHA256(f)= ff\n"), Some("ff"));
    }
}
