//! Small helpers: the project root, running commands loudly, printing, test files and their
//! sha256.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub(crate) fn project_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// The cargo that runs us.
pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(project_root());
    cmd
}

/// Runs `cmd`, echoing it; fails with its exit status.
pub(crate) fn exec(cmd: &mut Command) -> anyhow::Result<()> {
    say(&format!("$ {}", describe(cmd)));
    let status =
        cmd.status().map_err(|e| anyhow::format_err!("cannot run {}: {e}", describe(cmd)))?;
    if !status.success() {
        anyhow::bail!("`{}` failed ({status})", describe(cmd));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_digest() {
        assert_eq!(openssl_digest("SHA2-256(/tmp/a b.bin)= 0abc\n"), Some("0abc"));
        assert_eq!(openssl_digest("SHA256(f)= ff\n"), Some("ff"));
    }
}
