//! Small helpers: the project root, running commands loudly, printing, test files and their
//! sha256.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::ffi::OsStr;
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
pub(crate) fn workspace_root_above(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|manifest| manifest.lines().any(|line| line.trim() == "[workspace]"))
        })
        .map(Path::to_path_buf)
}

/// Reads a file as text, naming it in the error.
pub(crate) fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| anyhow::format_err!("cannot read {}: {e}", path.display()))
}

/// Replaces a file's contents at once: writes a sibling temp file, then renames it over.
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.xtask-{}.tmp", std::process::id()));
    std::fs::write(&tmp, contents).and_then(|()| std::fs::rename(&tmp, path)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::format_err!("cannot write {}: {e}", path.display())
    })
}

/// The JSON of `cargo metadata --format-version 1 --no-deps` (no network, no lock file update).
pub(crate) fn cargo_metadata() -> anyhow::Result<serde_json::Value> {
    let out =
        output(cargo().args(["metadata", "--format-version", "1", "--no-deps", "--offline"]))?;
    serde_json::from_str(&out)
        .map_err(|e| anyhow::format_err!("cannot read the JSON of cargo metadata: {e}"))
}

/// The build's target folder, as cargo metadata names it (honours `CARGO_TARGET_DIR`).
pub(crate) fn target_dir(metadata: &serde_json::Value) -> anyhow::Result<PathBuf> {
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| anyhow::format_err!("cargo metadata names no target_directory"))
}

/// A command for `program` with the `PATH` of [`crate::tools::child_path`] when the tools step
/// set one (it found a tool off `PATH`): the demo and the tests build every command with this,
/// so that each child process finds the tools.
pub(crate) fn command(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    if let Some(path) = crate::tools::child_path() {
        cmd.env("PATH", path);
    }
    cmd
}

/// The cargo that runs us, with [`command`]'s `PATH`.
pub(crate) fn cargo() -> Command {
    let mut cmd = command(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(project_root());
    cmd
}

/// Runs `cmd`, echoing it; fails with its exit status.
pub(crate) fn exec(cmd: &mut Command) -> anyhow::Result<()> {
    exec_hiding(cmd, None)
}

/// [`exec`], with `secret` (a token in a URL, say) shown as `hf_***` in the echo and the error.
pub(crate) fn exec_hiding(cmd: &mut Command, secret: Option<&str>) -> anyhow::Result<()> {
    let shown = match secret {
        Some(secret) if !secret.is_empty() => describe(cmd).replace(secret, "hf_***"),
        _ => describe(cmd),
    };
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

/// The sha256 of a file, in hex, by `openssl dgst -sha256` (far faster than a debug build of
/// ours).
pub(crate) fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let out = output(command("openssl").args(["dgst", "-sha256"]).arg(path))?;
    openssl_digest(&out)
        .map(str::to_owned)
        .ok_or_else(|| anyhow::format_err!("cannot read the digest in openssl's {out:?}"))
}

/// Writes `size` bytes that are not all the same nor repeat (a 1 MiB pool of xorshift output,
/// rotated by a different offset in every 1 MiB block, whose first 8 bytes are its index), at
/// the speed of the disk even in a debug build. Another `seed`, other bytes.
pub(crate) fn write_varied_file(path: &Path, size: u64, seed: u64) -> anyhow::Result<()> {
    use std::io::Write;
    const BLOCK: usize = 1 << 20;
    let mut x = seed ^ 0x9e37_79b9_7f4a_7c15;
    let mut pool = vec![0u8; BLOCK];
    for word in pool.chunks_exact_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        word.copy_from_slice(&x.to_le_bytes());
    }
    let mut file = std::fs::File::create(path)
        .map_err(|e| anyhow::format_err!("cannot create {}: {e}", path.display()))?;
    let mut block = vec![0u8; BLOCK];
    let (mut left, mut index) = (size, 0u64);
    while left > 0 {
        // 4099 * 8 is odd times 8: 131072 blocks (128 GiB) before an offset comes back.
        let shift = (index % (BLOCK as u64 / 8)) as usize * 4099 * 8 % BLOCK;
        block[..BLOCK - shift].copy_from_slice(&pool[shift..]);
        block[BLOCK - shift..].copy_from_slice(&pool[..shift]);
        block[..8].copy_from_slice(&index.to_le_bytes());
        let n = usize::try_from(left).map_or(BLOCK, |left| left.min(BLOCK));
        file.write_all(&block[..n])?;
        left -= n as u64;
        index += 1;
    }
    file.sync_data()?;
    Ok(())
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

/// For a task that takes no arguments: prints `help` and returns `false` on `--help`, fails on
/// anything else, returns `true` when there is nothing.
pub(crate) fn no_args_or_help(args: &[String], help: &str) -> anyhow::Result<bool> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        say(help);
        return Ok(false);
    }
    if let Some(arg) = args.first() {
        anyhow::bail!("unexpected argument '{arg}'\n\n{help}");
    }
    Ok(true)
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

/// A size for people: `512 B`, `17.1 KiB`, `3.4 MiB`.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Each line of `text` two spaces in, with no line break at the end.
pub(crate) fn indent(text: &str) -> String {
    text.lines().map(|line| format!("  {line}")).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_varied_files() {
        let dir = std::env::temp_dir().join(format!("xtask-varied-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c"));
        let size = (3 << 20) + 5;
        write_varied_file(&a, size, 1).unwrap();
        write_varied_file(&b, size, 1).unwrap();
        write_varied_file(&c, size, 2).unwrap();
        let bytes = std::fs::read(&a).unwrap();
        assert_eq!(bytes.len() as u64, size);
        assert_eq!(bytes, std::fs::read(&b).unwrap());
        assert_ne!(bytes, std::fs::read(&c).unwrap());
        let blocks: Vec<&[u8]> = bytes.chunks(1 << 20).collect();
        assert!(blocks[0] != blocks[1] && blocks[1] != blocks[2]);
        assert!(blocks[1][8..] != blocks[2][8..], "blocks differ beyond their index");
        assert!(bytes[8..4096].iter().any(|b| *b != bytes[8]), "not all the same");
        assert_eq!(sha256_file(&a).unwrap().len(), 64);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn finds_the_workspace_root_from_a_subfolder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        std::fs::create_dir_all(root.join("crates/a/src")).unwrap();
        std::fs::write(root.join("Cargo.toml"), "[workspace]\nmembers = [\"crates/a\"]\n").unwrap();
        std::fs::write(root.join("crates/a/Cargo.toml"), "[package]\nname = \"a\"\n").unwrap();
        assert_eq!(workspace_root_above(&root.join("crates/a/src")), Some(root.clone()));
        assert_eq!(workspace_root_above(&root), Some(root.clone()));
        // This crate, run from its own folder, finds the real workspace.
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(workspace_root_above(here).as_deref(), here.parent());
    }

    #[test]
    fn writes_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.txt");
        std::fs::write(&file, "old").unwrap();
        write_atomically(&file, b"new").unwrap();
        assert_eq!(read_text(&file).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temp file left");
        let err = read_text(&dir.path().join("missing")).unwrap_err().to_string();
        assert!(err.starts_with("cannot read ") && err.contains("missing"), "{err}");
    }

    #[test]
    fn reads_the_digest() {
        assert_eq!(openssl_digest("SHA2-256(/tmp/a b.bin)= 0abc\n"), Some("0abc"));
        assert_eq!(openssl_digest("SHA256(f)= ff\n"), Some("ff"));
    }
}
