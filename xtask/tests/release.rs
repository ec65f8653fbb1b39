//! `cargo xtask release`, run as a user runs it, in a throwaway git copy of the repository's
//! tracked files: the dry run shows every change and writes nothing; a dirty tree, a bad
//! `--bump` and a `--version` that is not greater are refused. No cargo build runs in the copy.

// The helpers below run only in tests, where a panic is how a test fails.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The real workspace root (this crate is `xtask/`).
fn real_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// git with no user or system configuration, and an author.
fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["-c", "user.name=xtask test", "-c", "user.email=xtask@example.org"]);
    cmd
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A git repository holding the tracked files of the real one, as they are on disk, committed.
fn copy_of_the_repository() -> tempfile::TempDir {
    let root = real_root();
    let listed = run_ok(git(&root).args(["ls-files", "-z"]));
    let copy = tempfile::tempdir().unwrap();
    for path in listed.split('\0').filter(|p| !p.is_empty()) {
        let from = root.join(path);
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        let to = copy.path().join(path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
    }
    add_an_unreleased_entry(&copy.path().join("CHANGELOG.md"));
    run_ok(git(copy.path()).args(["init", "-q", "-b", "main"]));
    run_ok(git(copy.path()).args(["add", "-A"]));
    run_ok(git(copy.path()).args(["commit", "-q", "-m", "copy"]));
    copy
}

/// One more entry under `## [Unreleased]`, so that the copy has something to release even
/// when the real section is empty: right after a release, or during one (`cargo xtask release`
/// runs this test once it has moved the section).
fn add_an_unreleased_entry(changelog: &Path) {
    let text = std::fs::read_to_string(changelog).unwrap();
    let heading = "## [Unreleased]\n";
    assert!(text.contains(heading), "no {heading:?} in {}", changelog.display());
    let entry = format!("{heading}\n### Changed\n\n- An entry of the release test.\n");
    std::fs::write(changelog, text.replacen(heading, &entry, 1)).unwrap();
}

fn xtask(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).current_dir(dir).output().unwrap()
}

/// `[workspace.package] version` of a manifest, as (major, minor, patch).
fn workspace_version(manifest: &str) -> (u64, u64, u64) {
    let table = manifest.split("[workspace.package]").nth(1).unwrap();
    let line = table.lines().find(|l| l.starts_with("version = \"")).unwrap();
    let version = line.split('"').nth(1).unwrap();
    let numbers: Vec<u64> = version.split('.').map(|n| n.parse().unwrap()).collect();
    (numbers[0], numbers[1], numbers[2])
}

fn status(dir: &Path) -> String {
    run_ok(git(dir).args(["status", "--porcelain"]))
}

#[test]
fn the_dry_run_shows_every_change_and_writes_nothing() {
    let copy = copy_of_the_repository();
    let manifest = std::fs::read_to_string(copy.path().join("Cargo.toml")).unwrap();
    let changelog = std::fs::read_to_string(copy.path().join("CHANGELOG.md")).unwrap();
    let (major, minor, _) = workspace_version(&manifest);
    let current = format!("{major}.{minor}.{}", workspace_version(&manifest).2);
    let next = format!("{major}.{}.0", minor + 1);

    let out =
        xtask(copy.path(), &["release", "--bump", "minor", "--dry-run", "--date", "2026-01-02"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let shown: Vec<&str> = stdout.lines().collect();
    let has = |line: &str| shown.contains(&line);

    assert!(stdout.contains(&format!("release {current} -> {next} (2026-01-02), dry run")));
    // Cargo.toml: the workspace version and the four internal pins.
    assert!(has("--- a/Cargo.toml") && has("+++ b/Cargo.toml"), "{stdout}");
    assert!(has(&format!("-version = \"{current}\"")), "{stdout}");
    assert!(has(&format!("+version = \"{next}\"")), "{stdout}");
    for krate in ["hub-url", "hub-cache", "hub-api", "hub-lfs"] {
        let pin = manifest
            .lines()
            .find(|l| l.starts_with(&format!("{krate} = ")) && l.contains("path = "))
            .unwrap();
        assert!(pin.contains(&format!("version = \"={current}\"")), "{pin}");
        assert!(has(&format!("-{pin}")), "{krate}'s pin: {stdout}");
        let bumped = pin.replace(&format!("\"={current}\""), &format!("\"={next}\""));
        assert!(has(&format!("+{bumped}")), "{krate}'s new pin: {stdout}");
    }
    // CHANGELOG.md: the dated heading under a fresh Unreleased, and the link references.
    assert!(has("--- a/CHANGELOG.md"), "{stdout}");
    assert!(has(&format!("+## [{next}] - 2026-01-02")), "{stdout}");
    let old_link = changelog.lines().find(|l| l.starts_with("[Unreleased]: ")).unwrap();
    assert!(has(&format!("-{old_link}")), "{stdout}");
    assert!(
        shown.iter().any(|l| l.starts_with("+[Unreleased]: ")
            && l.ends_with(&format!("/compare/v{next}...HEAD"))),
        "{stdout}"
    );
    assert!(shown.iter().any(|l| l.starts_with(&format!("+[{next}]: "))), "{stdout}");
    // Cargo.lock's forecast, the tests it would run, the tag.
    assert!(has("--- a/Cargo.lock") && has(&format!("+version = \"{next}\"")), "{stdout}");
    assert!(stdout.contains("would run the tests: cargo xtask test"), "{stdout}");
    assert!(stdout.contains(&format!("git tag -a v{next}")), "{stdout}");
    assert!(stdout.contains(&format!("the tag to create: v{next}")), "{stdout}");

    assert_eq!(status(copy.path()), "", "the dry run changed files");
    assert_eq!(std::fs::read_to_string(copy.path().join("Cargo.toml")).unwrap(), manifest);
}

#[test]
fn bad_requests_and_a_dirty_tree_are_refused() {
    let copy = copy_of_the_repository();
    let manifest = std::fs::read_to_string(copy.path().join("Cargo.toml")).unwrap();
    let (major, minor, patch) = workspace_version(&manifest);
    let refused = |args: &[&str], message: &str| {
        let out = xtask(copy.path(), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    };

    refused(
        &["release", "--bump", "huge", "--dry-run"],
        "--bump takes patch, minor or major, not 'huge'",
    );
    refused(
        &["release", "--dry-run"],
        "say which version: --bump patch|minor|major or --version X.Y.Z",
    );
    let current = format!("{major}.{minor}.{patch}");
    refused(
        &["release", "--version", &current, "--dry-run"],
        &format!("--version {current} is not greater than the current version {current}"),
    );
    if minor > 0 {
        let lower = format!("{major}.{}.0", minor - 1);
        refused(
            &["release", "--version", &lower, "--dry-run"],
            "is not greater than the current version",
        );
    }
    refused(
        &["release", "--bump", "patch", "--date", "2026-02-30", "--dry-run"],
        "is not a day of the calendar",
    );
    assert_eq!(status(copy.path()), "");

    // A changed file, then an untracked one: refused, dry run or not, before any change.
    let readme = copy.path().join("README.md");
    let text = std::fs::read_to_string(&readme).unwrap();
    std::fs::write(&readme, format!("{text}\nA local edit.\n")).unwrap();
    for args in [&["release", "--bump", "minor", "--dry-run"][..], &["release", "--bump", "minor"]]
    {
        refused(args, "the working tree is not clean (README.md): commit or stash the changes");
    }
    std::fs::write(&readme, text).unwrap();
    std::fs::write(copy.path().join("notes.txt"), "draft\n").unwrap();
    refused(&["release", "--bump", "minor"], "the working tree is not clean (notes.txt)");
    assert_eq!(status(copy.path()), "?? notes.txt\n");
}

#[test]
fn every_release_task_has_help() {
    for task in ["release", "publish-check", "dist"] {
        let out = xtask(&real_root(), &[task, "--help"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{task} --help: {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.starts_with(&format!("cargo xtask {task}")), "{task} --help: {stdout}");
        let out = xtask(&real_root(), &[task, "--no-such-option"]);
        assert!(!out.status.success(), "{task} took an unknown option");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("unexpected argument '--no-such-option'"), "{task}: {stderr}");
    }
}
