//! The `hub-cli` binary as a user runs it.

use std::path::Path;
use std::process::Command;

use crate::support;

#[test]
fn env_reports_the_setup_but_never_the_token() {
    let home = tempfile::tempdir().unwrap();
    let secret = "hf_do_not_print_me_0123456789";
    let out = support::without_hub(home.path())
        .arg("env")
        .env("HF_HOME", home.path())
        .env("HF_ENDPOINT", "http://127.0.0.1:9/")
        .env("HF_TOKEN", secret)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stdout.contains(secret) && !stderr.contains(secret), "the token leaked: {stdout}");
    assert!(stdout.contains("- ENDPOINT: http://127.0.0.1:9\n"), "{stdout}");
    assert!(
        stdout.contains(&format!("- HF_HUB_CACHE: {}\n", home.path().join("hub").display())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("- Token path: {}\n", home.path().join("token").display())),
        "{stdout}"
    );
    assert!(stdout.contains("- Has a token: yes (from HF_TOKEN)"), "{stdout}");
}

#[test]
fn env_says_when_no_token_is_set_and_refuses_a_bad_endpoint() {
    let home = tempfile::tempdir().unwrap();
    let out =
        support::without_hub(home.path()).arg("env").env("HF_HOME", home.path()).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("- Has a token: no"));

    let out = support::without_hub(home.path())
        .arg("env")
        .env("HF_HOME", home.path())
        .env("HF_ENDPOINT", "ftp://x")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: invalid endpoint 'ftp://x'"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one-line error: {stderr}");
}

#[test]
fn a_token_file_that_cannot_be_read_is_named_not_taken_for_no_token() {
    let home = tempfile::tempdir().unwrap();
    // A folder where the token file should be ($HF_HOME/token): unreadable as a file, even
    // for root.
    let token_path = home.path().join("hf-home/token");
    std::fs::create_dir_all(&token_path).unwrap();
    let run = |args: &[&str]| support::without_hub(home.path()).args(args).output().unwrap();
    let out = run(&["auth", "whoami"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!("error: cannot read the token file {}", token_path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("HF_TOKEN_PATH"), "says the way out: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one-line error: {stderr}");

    let out = run(&["env"]);
    assert!(out.status.success(), "env still reports the rest: {out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("- Has a token: cannot tell: cannot read the token file"), "{stdout}");
}

#[test]
fn version_and_help() {
    let home = tempfile::tempdir().unwrap();
    let out = support::without_hub(home.path()).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("hub-cli {}", env!("CARGO_PKG_VERSION"))
    );
    let out = support::without_hub(home.path()).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("env"));
}

#[test]
fn version_command_and_shell_completions() {
    let home = tempfile::tempdir().unwrap();
    let out = support::without_hub(home.path()).arg("version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("hub-cli {}\n", env!("CARGO_PKG_VERSION"))
    );
    for (shell, marker) in
        [("bash", "complete -F"), ("zsh", "#compdef hub-cli"), ("fish", "complete -c hub-cli")]
    {
        let out = support::without_hub(home.path()).args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {out:?}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        for command in ["auth", "repos", "cache", "download", "upload"] {
            assert!(script.contains(command), "{shell} completes {command}");
        }
    }
}

#[test]
fn the_seed_names_still_parse_and_max_workers_zero_is_refused() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["login", "--help"][..],
        &["whoami", "--help"],
        &["logout", "--help"],
        &["repo", "create", "--help"],
        &["repo", "branch", "create", "--help"],
        &["scan-cache", "--help"],
        &["delete-cache", "--help"],
        &["models", "list", "--help"],
        &["lfs-enable-largefiles", "--help"],
    ] {
        let out = support::without_hub(home.path()).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
    }
    let out = support::without_hub(home.path())
        .args(["download", "a/b", "--max-workers", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(
            "error: invalid value '0' for '--max-workers <N>': expected a number from 1 to 65535"
        ),
        "{err}"
    );
}

/// The `- Cache file system: …` line of `hub-cli env` for the cache `cache`.
fn env_file_system(cache: &Path) -> anyhow::Result<String> {
    let home = tempfile::tempdir()?;
    let out = support::without_hub(home.path())
        .arg("env")
        .env("HF_HOME", home.path())
        .env("HF_HUB_CACHE", cache)
        .output()?;
    anyhow::ensure!(out.status.success(), "hub-cli env failed: {out:?}");
    let stdout = String::from_utf8(out.stdout)?;
    anyhow::ensure!(
        stdout.contains("- Locks: flock (this node) + lease files (every node)\n"),
        "{stdout}"
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("- Cache file system: "))
        .map(str::to_owned)
        .ok_or_else(|| anyhow::format_err!("no file system line in {stdout}"))
}

#[cfg(target_os = "linux")]
#[test]
fn env_names_a_local_file_system() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // The cache need not exist yet: its nearest folder is asked.
    let line = env_file_system(&dir.path().join("not-yet/hub"))?;
    assert!(line.starts_with("local ("), "{line}");
    Ok(())
}

/// A `bindfs` (FUSE) mount, unmounted when dropped.
#[cfg(target_os = "linux")]
struct FuseMount(std::path::PathBuf);

#[cfg(target_os = "linux")]
impl Drop for FuseMount {
    fn drop(&mut self) {
        let _ = Command::new("fusermount").arg("-u").arg(&self.0).status();
    }
}

#[cfg(target_os = "linux")]
#[test]
fn env_names_a_fuse_file_system() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (source, mount) = (dir.path().join("source"), dir.path().join("mount"));
    std::fs::create_dir(&source)?;
    std::fs::create_dir(&mount)?;
    let status = Command::new("bindfs").arg(&source).arg(&mount).status().map_err(|e| {
        anyhow::format_err!("cannot run bindfs ({e}): install it (`apt-get install bindfs`; `cargo xtask test` does)")
    })?;
    anyhow::ensure!(
        status.success(),
        "bindfs {} {} failed: {status}",
        source.display(),
        mount.display()
    );
    let _mounted = FuseMount(mount.clone());
    let line = env_file_system(&mount.join("hub"))?;
    assert!(line.starts_with("fuse ("), "{line}");
    Ok(())
}
