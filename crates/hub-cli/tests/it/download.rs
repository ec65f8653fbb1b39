//! `hub-cli download` as a user runs it: the built binary against a TestHub started in-process
//! (the default seed of `tests/README.md`). What is checked is what a user notices: what is
//! printed, what lands on disk, and (through the hub's counters) what crossed the network.
#![cfg(unix)]

use std::path::PathBuf;
use std::process::{Child, Command, Output};
use std::time::Duration;

use anyhow::Context;
use hub_tests::seed::{FileManifest, RevisionManifest};
use hub_tests::{Repo, RepoType, Stats};

use crate::support::Setup;
use crate::support::files::{files_below, names_in, sha256_file};
use crate::support::log::lfs_bytes;
use crate::support::process::{printed_path, wait_for};

const MODEL: &str = "acme/tiny-model";
const UNICODE: &str = "unicode/café ü ñ.txt";

impl Setup {
    /// `hub-cli download ARGS…` in an environment built from scratch: the hub's endpoint, this
    /// setup's cache and `HF_HOME`, no token, no progress-bar or offline variable.
    fn download_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.cli(&["download"]);
        cmd.args(args);
        cmd
    }

    fn download(&self, args: &[&str]) -> anyhow::Result<Output> {
        self.download_cmd(args).output().context("running hub-cli")
    }

    fn download_offline(&self, args: &[&str]) -> anyhow::Result<Output> {
        self.download_cmd(args).env("HF_HUB_OFFLINE", "1").output().context("running hub-cli")
    }

    fn revision(
        &self,
        repo_type: RepoType,
        repo_id: &str,
        rev: &str,
    ) -> anyhow::Result<&RevisionManifest> {
        self.seed
            .repo(repo_type, repo_id)
            .and_then(|r| r.revisions.get(rev))
            .with_context(|| format!("the seed has no {repo_id}@{rev}"))
    }

    fn file(&self, rev: &str, path: &str) -> anyhow::Result<(&str, &FileManifest)> {
        let info = self.revision(RepoType::Model, MODEL, rev)?;
        let entry =
            info.files.get(path).with_context(|| format!("the seed has no {path}@{rev}"))?;
        Ok((&info.commit, entry))
    }

    fn repo_folder(&self, folder: &str) -> PathBuf {
        self.cache().join(folder)
    }

    fn snapshot(&self, commit: &str) -> PathBuf {
        self.repo_folder("models--acme--tiny-model").join("snapshots").join(commit)
    }
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr).lines().map(str::to_owned).collect()
}

/// The blob a manifest file is stored under: the LFS sha256, else the git blob id.
fn etag(entry: &FileManifest) -> &str {
    if entry.lfs { &entry.sha256 } else { &entry.git_oid }
}

/// GET requests that carried file bytes (CDN objects, or resolve URLs on the hub) from `since` on.
fn body_gets(stats: &Stats, since: usize) -> Vec<String> {
    stats
        .log
        .iter()
        .skip(since)
        .filter(|e| {
            e.method == "GET" && (e.path.starts_with("/lfs/") || e.path.contains("/resolve/"))
        })
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

/// Waits for a child and returns its output (stdout and stderr were piped).
fn finish(child: Child) -> anyhow::Result<Output> {
    child.wait_with_output().context("waiting for hub-cli")
}

// ---- what is printed -------------------------------------------------------------------------

#[test]
fn one_file_prints_the_file_path_and_nothing_else() {
    let s = Setup::start().unwrap();
    for (path, rev) in
        [("weights.bin", "main"), ("nested/deep/file.txt", "main"), (UNICODE, "main")]
    {
        let (commit, entry) = s.file(rev, path).unwrap();
        let out = s.download(&[MODEL, path]).unwrap();
        let printed = printed_path(&out).unwrap();
        assert_eq!(printed, s.snapshot(commit).join(path));
        assert!(
            out.stderr.is_empty(),
            "stderr is not a terminal: no progress bars, no messages; got {:?}",
            stderr_lines(&out)
        );
        assert_eq!(sha256_file(&printed).unwrap(), entry.sha256, "{path}: wrong bytes");
        let blob = s.repo_folder("models--acme--tiny-model").join("blobs").join(etag(entry));
        assert_eq!(
            printed.canonicalize().unwrap(),
            blob.canonicalize().unwrap(),
            "{path}: not a link to its blob"
        );
    }
}

#[test]
fn no_file_or_several_files_print_the_snapshot_folder() {
    let s = Setup::start().unwrap();
    let main = s.revision(RepoType::Model, MODEL, "main").unwrap();

    let out = s.download(&[MODEL]).unwrap();
    assert_eq!(printed_path(&out).unwrap(), s.snapshot(&main.commit));
    assert!(out.stderr.is_empty(), "{:?}", stderr_lines(&out));
    let all: Vec<String> = main.files.keys().cloned().collect();
    assert_eq!(files_below(&s.snapshot(&main.commit)).unwrap(), all);
    for (path, entry) in &main.files {
        assert_eq!(
            sha256_file(&s.snapshot(&main.commit).join(path)).unwrap(),
            entry.sha256,
            "{path}"
        );
    }

    let dataset = s.revision(RepoType::Dataset, "acme/tiny-dataset", "main").unwrap();
    let out = s
        .download(&["acme/tiny-dataset", "config.json", UNICODE, "--repo-type", "dataset"])
        .unwrap();
    let folder =
        s.repo_folder("datasets--acme--tiny-dataset").join("snapshots").join(&dataset.commit);
    assert_eq!(printed_path(&out).unwrap(), folder);
    assert!(out.stderr.is_empty(), "{:?}", stderr_lines(&out));
    assert_eq!(files_below(&folder).unwrap(), vec!["config.json".to_owned(), UNICODE.to_owned()]);

    // A named file that does not exist is an error, not silently left out.
    let out = s.download(&[MODEL, "config.json", "no-such-file.txt"]).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let lines = stderr_lines(&out);
    assert!(lines.len() == 1 && lines[0].starts_with("error:"), "{lines:?}");
}

// ---- concurrency -----------------------------------------------------------------------------

#[test]
fn eight_processes_at_once_download_one_lfs_file_once() {
    let s = Setup::start().unwrap();
    let (commit, entry) = s.file("main", "weights.bin").unwrap();
    // 1.5 MiB at 1 MiB/s: the first download lasts long enough for all 8 to overlap.
    s.hub.faults().throttle(Some(1 << 20));
    let children: Vec<Child> =
        (0..8).map(|_| s.download_cmd(&[MODEL, "weights.bin"]).spawn().unwrap()).collect();
    let outputs: Vec<Output> = children.into_iter().map(|c| finish(c).unwrap()).collect();
    s.hub.faults().throttle(None);

    for out in &outputs {
        assert_eq!(printed_path(out).unwrap(), s.snapshot(commit).join("weights.bin"));
    }
    let blobs = s.repo_folder("models--acme--tiny-model").join("blobs");
    assert_eq!(
        names_in(&blobs).unwrap(),
        vec![entry.sha256.clone()],
        "one blob, no temp file left"
    );
    assert_eq!(sha256_file(&blobs.join(&entry.sha256)).unwrap(), entry.sha256);
    let stats = s.hub.stats();
    assert_eq!(
        lfs_bytes(&stats, 0),
        entry.size,
        "the CDN must serve the file's bytes once: {:?}",
        body_gets(&stats, 0)
    );
}

// ---- offline ---------------------------------------------------------------------------------

#[test]
fn offline_on_an_empty_cache_fails_with_one_error_line() {
    let s = Setup::start().unwrap();
    for args in
        [&[MODEL, "config.json"][..], &[MODEL][..], &[MODEL, "config.json", "weights.bin"][..]]
    {
        let out = s.download_offline(args).unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            out.stdout.is_empty(),
            "{args:?}: nothing on stdout, got {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        let lines = stderr_lines(&out);
        assert_eq!(lines.len(), 1, "{args:?}: one error line, got {lines:?}");
        assert!(lines[0].starts_with("error: "), "{lines:?}");
        assert!(
            lines[0].contains("offline"),
            "{args:?}: the error must say offline mode is on: {lines:?}"
        );
    }
    assert_eq!(s.hub.stats().log.len(), 0, "offline mode reached the server");
}

#[test]
fn offline_what_is_not_cached_fails_with_one_plain_error_line() {
    let s = Setup::start().unwrap();
    // main is cached (refs/main) but not README.md; v1.0 is not cached at all.
    printed_path(&s.download(&[MODEL, "config.json"]).unwrap()).unwrap();
    let before = s.hub.stats().log.len();
    for args in [&[MODEL, "README.md"][..], &[MODEL, "--revision", "v1.0"][..]] {
        let out = s.download_offline(args).unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {:?}", String::from_utf8_lossy(&out.stdout));
        let lines = stderr_lines(&out);
        let text = lines.join("\n");
        assert!(lines.len() == 1 && text.starts_with("error: "), "{args:?}: {text}");
        assert!(
            text.contains("offline"),
            "{args:?}: the error must say offline mode is on: {text}"
        );
        assert!(
            text.matches("offline mode is enabled").count() <= 1
                && text.matches("cannot reach").count() <= 1,
            "the error repeats itself: {text}"
        );
    }
    assert_eq!(s.hub.stats().log.len(), before, "offline mode reached the server");
}

#[test]
fn offline_serves_what_was_downloaded_online_without_a_request() {
    let s = Setup::start().unwrap();
    let online_file = printed_path(&s.download(&[MODEL, "weights.bin"]).unwrap()).unwrap();
    let online_snapshot =
        printed_path(&s.download(&[MODEL, "--revision", "v1.0"]).unwrap()).unwrap();
    let before = s.hub.stats().log.len();
    assert_eq!(
        printed_path(&s.download_offline(&[MODEL, "weights.bin"]).unwrap()).unwrap(),
        online_file
    );
    assert_eq!(
        printed_path(&s.download_offline(&[MODEL, "--revision", "v1.0"]).unwrap()).unwrap(),
        online_snapshot
    );
    assert_eq!(s.hub.stats().log.len(), before, "offline mode reached the server");
}

// ---- filters, local dir, revisions ---------------------------------------------------------

#[test]
fn include_and_exclude_choose_the_files_of_a_snapshot() {
    let s = Setup::start().unwrap();
    let dev = s.revision(RepoType::Model, MODEL, "dev").unwrap();
    let folder = s.snapshot(&dev.commit);

    let out = s
        .download(&[MODEL, "--revision", "dev", "--include", "*.txt", "--exclude", "nested/*"])
        .unwrap();
    assert_eq!(printed_path(&out).unwrap(), folder);
    assert_eq!(files_below(&folder).unwrap(), vec!["dev-only.txt".to_owned(), UNICODE.to_owned()]);

    let out = s
        .download(&[MODEL, "--revision", "dev", "--include", "*.json", "--include", "*.md"])
        .unwrap();
    assert_eq!(printed_path(&out).unwrap(), folder);
    assert_eq!(
        files_below(&folder).unwrap(),
        vec![
            "README.md".to_owned(),
            "config.json".to_owned(),
            "dev-only.txt".to_owned(),
            UNICODE.to_owned()
        ]
    );
    for path in files_below(&folder).unwrap() {
        assert_eq!(sha256_file(&folder.join(&path)).unwrap(), dev.files[&path].sha256, "{path}");
    }
    assert!(
        s.hub.stats().log.iter().all(|e| !e.path.starts_with("/lfs/")),
        "weights.bin was excluded, yet its bytes were fetched"
    );
}

#[test]
fn local_dir_gets_plain_files_and_a_rerun_fetches_nothing() {
    let s = Setup::start().unwrap();
    let main = s.revision(RepoType::Model, MODEL, "main").unwrap();
    let local = s.dir.path().join("local");
    let local_str = local.to_str().unwrap();

    let out = s.download(&[MODEL, "weights.bin", "--local-dir", local_str]).unwrap();
    let printed = printed_path(&out).unwrap();
    assert_eq!(printed, local.join("weights.bin"));
    assert!(!printed.is_symlink(), "a local dir holds plain files");
    assert_eq!(sha256_file(&printed).unwrap(), main.files["weights.bin"].sha256);

    let out = s.download(&[MODEL, "--local-dir", local_str]).unwrap();
    assert_eq!(printed_path(&out).unwrap(), local);
    let mut expected: Vec<String> = main.files.keys().cloned().collect();
    let on_disk: Vec<String> =
        files_below(&local).unwrap().into_iter().filter(|p| !p.starts_with(".cache/")).collect();
    expected.sort();
    assert_eq!(on_disk, expected);
    for (path, entry) in &main.files {
        let file = local.join(path);
        assert!(!file.is_symlink(), "{path} is a symlink");
        assert_eq!(sha256_file(&file).unwrap(), entry.sha256, "{path}");
    }
    assert!(
        names_in(&s.repo_folder("models--acme--tiny-model")).unwrap().is_empty(),
        "a --local-dir download must not fill the cache"
    );

    let before = s.hub.stats().log.len();
    let out = s.download(&[MODEL, "--local-dir", local_str]).unwrap();
    assert_eq!(printed_path(&out).unwrap(), local);
    let stats = s.hub.stats();
    assert!(
        body_gets(&stats, before).is_empty(),
        "unchanged files downloaded again: {:?}",
        body_gets(&stats, before)
    );
}

#[test]
fn revision_takes_a_tag_and_a_commit() {
    let s = Setup::start().unwrap();
    let v1 = s.revision(RepoType::Model, MODEL, "v1.0").unwrap();
    let main = s.revision(RepoType::Model, MODEL, "main").unwrap();
    let repo = s.repo_folder("models--acme--tiny-model");

    let out = s.download(&[MODEL, "config.json", "--revision", "v1.0"]).unwrap();
    let printed = printed_path(&out).unwrap();
    assert_eq!(printed, s.snapshot(&v1.commit).join("config.json"));
    assert_eq!(std::fs::read_to_string(&printed).unwrap(), r#"{"revision": "v1.0"}"#);
    assert_eq!(std::fs::read_to_string(repo.join("refs/v1.0")).unwrap(), v1.commit);

    let out = s.download(&[MODEL, "config.json", "--revision", &main.commit]).unwrap();
    let printed = printed_path(&out).unwrap();
    assert_eq!(printed, s.snapshot(&main.commit).join("config.json"));
    assert_eq!(std::fs::read_to_string(&printed).unwrap(), r#"{"revision": "main"}"#);
    assert_eq!(
        names_in(&repo.join("refs")).unwrap(),
        vec!["v1.0".to_owned()],
        "no ref named after a commit"
    );

    // A file pinned to a commit and already cached costs no request.
    let before = s.hub.stats().log.len();
    let again =
        printed_path(&s.download(&[MODEL, "config.json", "--revision", &main.commit]).unwrap())
            .unwrap();
    assert_eq!(again, printed);
    let stats = s.hub.stats();
    assert_eq!(
        stats.log.len(),
        before,
        "a cached file at a commit asked the hub: {:?}",
        &stats.log[before..]
    );
}

// ---- resume ----------------------------------------------------------------------------------

#[test]
fn a_killed_download_resumes_from_what_is_on_disk() {
    let s = Setup::start().unwrap();
    let size = 64 << 20;
    let big = s.hub.add_large_file(&Repo::model("bench/large"), "big.bin", size).unwrap();
    let blobs = s.repo_folder("models--bench--large").join("blobs");

    s.hub.faults().throttle(Some(8 << 20));
    let mut child = s.download_cmd(&["bench/large", "big.bin"]).spawn().unwrap();
    // Kill it as a user would, once well under way: 40 MiB at 4 × 8 MiB/s is about 1.5 s.
    wait_for(Duration::from_secs(60), || lfs_bytes(&s.hub.stats(), 0) >= 40 << 20).unwrap();
    assert!(child.try_wait().unwrap().is_none(), "the throttled download finished before the kill");
    child.kill().unwrap();
    let killed = finish(child).unwrap();
    assert!(!killed.status.success());
    let first = lfs_bytes(&s.hub.stats(), 0);
    assert!(first > 0 && first < size, "the first run fetched {first} of {size} bytes");
    assert!(
        names_in(&blobs).unwrap().iter().any(|n| n.ends_with(".incomplete")),
        "the killed download left no partial file to resume from: {:?}",
        names_in(&blobs).unwrap()
    );

    s.hub.faults().throttle(None);
    let before = s.hub.stats().log.len();
    let out = s.download(&["bench/large", "big.bin"]).unwrap();
    let printed = printed_path(&out).unwrap();
    let second = lfs_bytes(&s.hub.stats(), before);
    assert_eq!(
        printed,
        s.repo_folder("models--bench--large").join("snapshots").join(&big.commit).join("big.bin")
    );
    assert!(
        second <= size - (4 << 20),
        "the second run fetched {second} of {size} bytes: it did not resume (the first run had fetched {first})"
    );
    assert_eq!(sha256_file(&blobs.join(&big.sha256)).unwrap(), big.sha256);
    assert_eq!(
        names_in(&blobs).unwrap(),
        vec![big.sha256.clone()],
        "no *.incomplete (or other) file remains"
    );
}
