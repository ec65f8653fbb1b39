//! `hub-cli scan-cache` and `hub-cli delete-cache` over a cache laid out as the Python
//! library writes it: `blobs/<etag>`, relative symlinks in `snapshots/<commit>/`, and refs
//! (including `refs/refs/pr/1`).
#![cfg(unix)]
// Test helpers may unwrap too: a panic is how a test fails.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Output, Stdio};

use crate::support::files::sha256;
use crate::support::fixture::{C1, C2, D1, MODEL_FOLDER, NEW, OLD, SHARED, link, write_ref};
use crate::support::{self, stderr, stdout};

/// `hub-cli ARGS…` isolated, with a home of its own and no hub: these commands read the cache
/// they are given.
fn run(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    support::without_hub(home.path()).args(args).output().unwrap()
}

struct Cache {
    _dir: tempfile::TempDir,
    root: PathBuf,
    model: PathBuf,
    dataset: PathBuf,
}

impl Cache {
    fn root(&self) -> &str {
        self.root.to_str().unwrap()
    }
}

/// The cache of [`support::fixture::model_and_dataset`], with its `CACHEDIR.TAG`.
fn cache() -> Cache {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("hub");
    let (model, dataset) = support::fixture::model_and_dataset(&root).unwrap();
    std::fs::write(root.join("CACHEDIR.TAG"), "Signature: 8a477f597d28d172789f06886806bc55\n")
        .unwrap();
    Cache { _dir: dir, root, model, dataset }
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    let cache = cache();
    // `hub-cli scan-cache -v | head -0`: the pipe's reading end is closed before the first line.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = support::without_hub(cache._dir.path())
        .args(["scan-cache", "--dir", cache.root(), "-v"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stderr(&out), "", "no panic, no message");
}

fn scan_json(cache: &Cache) -> serde_json::Value {
    let out = run(&["scan-cache", "--dir", cache.root(), "--json"]);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn model_json(doc: &serde_json::Value) -> Option<&serde_json::Value> {
    doc["repos"].as_array().unwrap().iter().find(|r| r["repo_id"] == "julien-c/EsperBERTo-small")
}

#[test]
fn scan_cache_prints_a_table_of_repos() {
    let cache = cache();
    let out = run(&["scan-cache", "--dir", cache.root()]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    for column in [
        "REPO ID",
        "REPO TYPE",
        "SIZE ON DISK",
        "NB FILES",
        "LAST_ACCESSED",
        "LAST_MODIFIED",
        "REFS",
        "LOCAL PATH",
    ] {
        assert!(header.contains(column), "{header}");
    }
    assert!(lines.next().unwrap().starts_with("-------"), "{text}");
    let row = text.lines().find(|l| l.starts_with("julien-c/EsperBERTo-small ")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[1..4], ["model", "130B", "3"], "{row}");
    assert!(row.contains("a few seconds ago"), "{row}");
    assert!(row.contains("main, refs/pr/1"), "{row}");
    assert!(row.ends_with(cache.model.to_str().unwrap()), "{row}");
    let row = text.lines().find(|l| l.starts_with("acme/squad ")).unwrap();
    assert!(row.contains(" dataset ") && row.contains(" 5B "), "{row}");
    assert!(row.ends_with(cache.dataset.to_str().unwrap()), "{row}");
    assert!(
        text.contains("Scanned 2 repo(s) for a total of 135B."),
        "the shared blob counts once: {text}"
    );
    assert!(!text.contains("warning"), "{text}");
}

#[test]
fn scan_cache_verbose_shows_one_row_per_revision_and_counts_warnings() {
    let cache = cache();
    // A broken repo: its ref points at a snapshot that is not there.
    write_ref(&cache.root.join("models--acme--broken"), "main", C1).unwrap();
    std::fs::create_dir_all(cache.root.join("models--acme--broken/snapshots")).unwrap();

    let out = run(&["scan-cache", "--dir", cache.root(), "-v"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(text.lines().next().unwrap().contains("REVISION"), "{text}");
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("julien-c/")).collect();
    assert_eq!(rows.len(), 2, "{text}");
    let old = rows.iter().find(|r| r.contains(C1)).unwrap();
    assert!(old.contains(" 110B ") && old.contains("refs/pr/1"), "{old}");
    let new = rows.iter().find(|r| r.contains(C2)).unwrap();
    assert!(new.contains(" 120B ") && new.contains(" main "), "{new}");
    assert!(text.contains("Got 1 warning(s) while scanning. Use -vvv to print details."), "{text}");
    assert!(stderr(&out).is_empty());

    let out = run(&["scan-cache", "--dir", cache.root(), "-vvv"]);
    assert!(stderr(&out).contains("not in snapshots/"), "{}", stderr(&out));
}

#[test]
fn scan_cache_json_is_a_document_with_repos_revisions_and_files() {
    let cache = cache();
    let doc = scan_json(&cache);
    assert_eq!(doc["size_on_disk"], 135);
    let model = model_json(&doc).unwrap();
    assert_eq!(model["repo_type"], "model");
    assert_eq!(model["size_on_disk"], 130);
    assert_eq!(model["nb_files"], 3);
    assert_eq!(model["path"], cache.model.to_str().unwrap());
    assert_eq!(model["refs"]["main"], C2);
    assert_eq!(model["refs"]["refs/pr/1"], C1);
    let old = model["revisions"].as_array().unwrap().iter().find(|r| r["commit_hash"] == C1);
    let old = old.unwrap();
    assert_eq!(old["refs"], serde_json::json!(["refs/pr/1"]));
    assert_eq!(old["size_on_disk"], 110);
    assert_eq!(old["nb_files"], 2);
    let files: Vec<&str> =
        old["files"].as_array().unwrap().iter().map(|f| f["file_name"].as_str().unwrap()).collect();
    assert_eq!(files, ["README.md", "sub/config.json"]);
    assert_eq!(doc["warnings"], serde_json::json!([]));
}

#[test]
fn a_missing_cache_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let out = run(&["scan-cache", "--dir", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(err.starts_with("error: cache directory not found"), "{err}");
    assert!(err.contains(missing.to_str().unwrap()), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    // The default location comes from the environment.
    let out = support::without_hub(dir.path())
        .arg("scan-cache")
        .env("HF_HUB_CACHE", &missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(missing.to_str().unwrap()));
}

#[test]
fn delete_cache_dry_run_shows_the_plan_and_deletes_nothing() {
    let cache = cache();
    let out = run(&["delete-cache", "--dir", cache.root(), &C1[..8], "--dry-run"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(text.contains("julien-c/EsperBERTo-small"), "{text}");
    assert!(text.contains(&format!("{C1} (refs: refs/pr/1)")), "{text}");
    assert!(text.contains("Will free 10B."), "only the unshared blob: {text}");
    assert!(text.contains("Dry run: nothing deleted."), "{text}");
    assert!(cache.model.join("snapshots").join(C1).exists());
    assert!(cache.model.join("blobs").join(OLD).exists());
    assert!(cache.model.join("refs/refs/pr/1").exists());
}

#[test]
fn delete_cache_of_one_revision_keeps_what_the_other_still_uses() {
    let cache = cache();
    let out = run(&["delete-cache", "--dir", cache.root(), C1, "-y"]);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).contains("Deleted. Freed 10B."), "{}", stdout(&out));

    assert!(!cache.model.join("snapshots").join(C1).exists());
    assert!(!cache.model.join("blobs").join(OLD).exists(), "its unique blob goes");
    assert!(!cache.model.join("refs/refs/pr/1").exists(), "its ref goes");
    assert!(cache.model.join("blobs").join(SHARED).exists(), "the shared blob stays");
    assert!(cache.model.join("snapshots").join(C2).join("README.md").exists());
    assert!(cache.model.join("refs/main").exists());
    assert!(cache.dataset.exists());

    let doc = scan_json(&cache);
    let model = model_json(&doc).unwrap();
    let commits: Vec<&str> = model["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["commit_hash"].as_str().unwrap())
        .collect();
    assert_eq!(commits, [C2]);
    assert_eq!(model["size_on_disk"], 120);
    assert_eq!(model["refs"], serde_json::json!({ "main": C2 }));
    assert_eq!(doc["warnings"], serde_json::json!([]), "the cache is still valid");
}

#[test]
fn delete_cache_of_a_whole_repo_in_any_spelling() {
    for target in ["dataset/acme/squad", "datasets/acme/squad"] {
        let cache = cache();
        let out = run(&["delete-cache", "--dir", cache.root(), target, "-y"]);
        assert!(out.status.success(), "{target}: {out:?}");
        assert!(stdout(&out).contains("Will free 5B."), "{}", stdout(&out));
        assert!(!cache.dataset.exists(), "{target}");
        assert!(cache.model.exists());
    }
    for target in ["model/julien-c/EsperBERTo-small", "julien-c/EsperBERTo-small"] {
        let cache = cache();
        let out = run(&["delete-cache", "--dir", cache.root(), target, "-y"]);
        assert!(out.status.success(), "{target}: {out:?}");
        assert!(stdout(&out).contains("Freed 130B."), "{}", stdout(&out));
        assert!(!cache.model.exists(), "{target}");
        let doc = scan_json(&cache);
        assert!(model_json(&doc).is_none());
        assert_eq!(doc["repos"].as_array().unwrap().len(), 1);
    }
}

#[test]
fn delete_cache_warns_about_unknown_targets_and_succeeds_when_nothing_matches() {
    let cache = cache();
    // As `hf cache rm`: what is not cached is already gone, so a cleanup script goes on.
    let out = run(&["delete-cache", "--dir", cache.root(), "deadbeef", "space/acme/nope", "-y"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let err = stderr(&out);
    assert!(err.contains("warning: 'deadbeef' is not in the cache"), "{err}");
    assert!(err.contains("warning: 'spaces/acme/nope' is not in the cache"), "{err}");
    assert_eq!(
        err.lines().last().unwrap(),
        "Nothing to delete: none of the targets is in the cache."
    );
    assert!(cache.model.join("snapshots").join(C1).exists());

    // One known target among unknown ones: the known one is deleted, the others warned about.
    let out = run(&["delete-cache", "--dir", cache.root(), "deadbeef", "acme/squad", "-y"]);
    assert!(stderr(&out).contains("warning: 'acme/squad' is not in the cache"), "a model id");
    assert!(cache.dataset.exists(), "acme/squad is a model id, not the dataset");
    let out =
        run(&["delete-cache", "--dir", cache.root(), "deadbeef", "datasets/acme/squad", "-y"]);
    assert!(out.status.success(), "{out:?}");
    assert!(stderr(&out).contains("'deadbeef'"));
    assert!(!cache.dataset.exists());

    let out = run(&["delete-cache", "--dir", cache.root(), "org/../x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error: invalid target 'org/../x'"), "{}", stderr(&out));
}

#[test]
fn delete_cache_asks_first_and_a_closed_stdin_is_a_no() {
    let cache = cache();
    let out = run(&["delete-cache", "--dir", cache.root(), C2]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = stderr(&out);
    assert!(err.contains("Proceed? [y/N]"), "{err}");
    assert!(err.contains("error: aborted: nothing deleted"), "{err}");
    assert!(stdout(&out).contains("Will free 20B."), "{}", stdout(&out));
    assert!(!stdout(&out).contains("Deleted."));
    assert!(cache.model.join("snapshots").join(C2).exists());
    assert!(cache.model.join("blobs").join(NEW).exists());

    // An answer of "y" on stdin proceeds.
    let mut child = support::without_hub(cache._dir.path())
        .args(["delete-cache", "--dir", cache.root(), C2])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"y\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).contains("Deleted. Freed 20B."));
    assert!(!cache.model.join("snapshots").join(C2).exists());
    assert!(!cache.model.join("refs/main").exists());
}

#[test]
fn delete_cache_refuses_a_prefix_that_names_two_commits() {
    let cache = cache();
    let twin = "1111111222222222222222222222222222222222";
    link(&cache.model, twin, "README.md", SHARED).unwrap();
    let out = run(&["delete-cache", "--dir", cache.root(), "1111111", "-y"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("ambiguous revision '1111111'") && err.contains(C1) && err.contains(twin),
        "{err}"
    );
    assert!(cache.model.join("snapshots").join(C1).exists(), "nothing was deleted");
    assert!(cache.model.join("snapshots").join(twin).exists());
}

#[test]
fn cache_ls_lists_repos_or_revisions_as_a_table_or_one_json_array() {
    let cache = cache();
    let out = run(&["cache", "ls", "--cache-dir", cache.root()]);
    assert!(out.status.success(), "{out:?}");
    // The scan-cache table, but for the scan's time.
    let table = |out: &Output| -> Vec<String> {
        stdout(out).lines().filter(|l| !l.starts_with("Done in")).map(str::to_owned).collect()
    };
    assert_eq!(table(&out), table(&run(&["scan-cache", "--dir", cache.root()])));
    let out = run(&["cache", "ls", "--dir", cache.root(), "--format", "json"]);
    let repos: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = repos.iter().map(|r| r["repo_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["julien-c/EsperBERTo-small", "acme/squad"]);
    let out = run(&["cache", "ls", "--dir", cache.root(), "-q"]);
    assert_eq!(stdout(&out), "model/julien-c/EsperBERTo-small\ndataset/acme/squad\n");
    let out = run(&["cache", "rm", "--dir", cache.root(), "hf://datasets/acme/squad", "--dry-run"]);
    assert!(stdout(&out).contains("Repo acme/squad (dataset): all 1 revision(s)"), "{out:?}");
    let out = run(&["cache", "ls", "--dir", cache.root(), "--revisions", "-q"]);
    let mut commits: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    commits.sort();
    assert_eq!(commits, [C1, C2, D1]);
    let out = run(&["cache", "ls", "--dir", cache.root(), "--revisions", "--format", "jsonl"]);
    let rows: Vec<serde_json::Value> =
        stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 3, "{}", stdout(&out));
    assert!(rows.iter().any(|r| r["repo_type"] == "dataset" && r["commit_hash"] == D1));
}

#[test]
fn cache_prune_deletes_only_the_revisions_no_ref_points_to() {
    let cache = cache();
    const DETACHED: &str = "4444444444444444444444444444444444444444";
    const ONLY_DETACHED: &str = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
    std::fs::write(cache.model.join("blobs").join(ONLY_DETACHED), vec![b'y'; 7]).unwrap();
    link(&cache.model, DETACHED, "README.md", SHARED).unwrap();
    link(&cache.model, DETACHED, "old.bin", ONLY_DETACHED).unwrap();

    let out = run(&["cache", "prune", "--dir", cache.root(), "--dry-run"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(text.contains(DETACHED) && !text.contains(C1) && !text.contains(C2), "{text}");
    assert!(text.contains("Will free 7B."), "the shared blob stays: {text}");
    assert!(cache.model.join("snapshots").join(DETACHED).exists());

    let out = run(&["cache", "prune", "--dir", cache.root(), "-y"]);
    assert!(out.status.success(), "{out:?}");
    assert!(!cache.model.join("snapshots").join(DETACHED).exists());
    assert!(!cache.model.join("blobs").join(ONLY_DETACHED).exists());
    assert!(cache.model.join("blobs").join(SHARED).exists());
    assert!(cache.model.join("snapshots").join(C1).exists(), "refs/pr/1 keeps C1");

    let out = run(&["cache", "prune", "--dir", cache.root(), "-y"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        stderr(&out),
        "Nothing to prune: every cached revision has a ref, and no dead download left a file.\n"
    );
}

#[test]
fn cache_verify_checks_each_blob_against_the_hash_it_is_named_by() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("hub");
    let repo = root.join("models--acme--verified");
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    let weights = vec![7u8; 3000];
    let lfs_etag = sha256(&weights);
    std::fs::write(repo.join("blobs").join(&lfs_etag), &weights).unwrap();
    // `printf 'hello\n' | git hash-object --stdin`
    let git_etag = "ce013625030ba8dba906f756967f9e9ca394464a";
    std::fs::write(repo.join("blobs").join(git_etag), "hello\n").unwrap();
    link(&repo, C1, "weights.bin", &lfs_etag).unwrap();
    link(&repo, C1, "hello.txt", git_etag).unwrap();
    write_ref(&repo, "main", C1).unwrap();
    let root = root.to_str().unwrap();

    let out = run(&["cache", "verify", "acme/verified", "--cache-dir", root]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        stderr(&out),
        "Verified 2 cached file(s) of acme/verified: every one matches its hash (2 hashed, 0 \
         unchanged since verified; files never downloaded are not checked).\n"
    );
    // The second run reads nothing: the stamps match the untouched blobs.
    let out = run(&["cache", "verify", "--cache-dir", root]);
    assert!(out.status.success(), "{out:?}");
    assert!(stderr(&out).contains("(0 hashed, 2 unchanged since verified;"), "{}", stderr(&out));
    // --deep ignores them.
    let out = run(&["cache", "verify", "acme/verified", "--cache-dir", root, "--deep"]);
    assert!(stderr(&out).contains("(2 hashed, 0 unchanged since verified;"), "{}", stderr(&out));
    // A stamp file that is not ours is ignored, never trusted, and replaced.
    std::fs::write(repo.join(".hub-verified.json"), "{\"blobs\": 1}").unwrap();
    let out = run(&["cache", "verify", "acme/verified", "--cache-dir", root]);
    assert!(stderr(&out).contains("(2 hashed, 0 unchanged since verified;"), "{}", stderr(&out));
    let out = run(&["cache", "verify", "acme/verified", "--cache-dir", root]);
    assert!(stderr(&out).contains("(0 hashed, 2 unchanged since verified;"), "{}", stderr(&out));

    // One flipped byte in the LFS blob: named, and exit 1.
    let mut bad = weights.clone();
    bad[1234] ^= 1;
    std::fs::write(repo.join("blobs").join(&lfs_etag), &bad).unwrap();
    let out = run(&["cache", "verify", "acme/verified", "--cache-dir", root, "--revision", "main"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].ends_with(&format!("weights.bin: expected {lfs_etag}, found {}", sha256(&bad))),
        "{err}"
    );
    assert_eq!(
        lines[1],
        "error: 1 of 2 cached file(s) of acme/verified do not match their hash; run again \
         with --repair to download them again, or delete them with `hub-cli cache rm`"
    );

    let out = run(&["cache", "verify", "acme/absent", "--cache-dir", root]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("error: acme/absent is not in the cache "),
        "{}",
        stderr(&out)
    );
}

/// `cache prune` deletes what dead downloads left (a dead writer's partial file and record, a
/// lease nobody renewed for hours) and keeps what live ones use (a fresh Python partial file,
/// a renewed lease and the partial it names), and the blobs.
#[test]
fn prune_deletes_the_leftovers_of_dead_downloads_and_keeps_live_ones() {
    let cache = cache();
    let blobs = cache.model.join("blobs");
    let locks = cache.root.join(".locks").join(MODEL_FOLDER);
    std::fs::create_dir_all(&locks).unwrap();
    // A writer of another node that stopped renewing two hours ago, and one that renews.
    let (silent, live) = ("77-00000000-0-0badf00d", "78-00000000-0-0badf00d");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    let mut gone = Vec::new();
    for (unique, stale) in [(silent, true), (live, false)] {
        let partial = blobs.join(format!("{NEW}.{unique}.incomplete"));
        let lease = locks.join(format!("{NEW}-{unique}.lease"));
        std::fs::write(&partial, b"part").unwrap();
        std::fs::write(&lease, format!("host=node-2\npid=77\nstarted=1\nwriter={unique}\n"))
            .unwrap();
        if stale {
            for path in [&partial, &lease] {
                let file = std::fs::File::options().write(true).open(path).unwrap();
                file.set_modified(old).unwrap();
            }
            gone.extend([partial, lease]);
        }
    }
    let python = blobs.join(format!("{NEW}.1a2b3c4d.incomplete"));
    std::fs::write(&python, b"python").unwrap();

    let out = run(&["cache", "prune", "--dir", cache.root(), "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan = stdout(&out);
    assert!(plan.contains("Leftovers of dead downloads (2):"), "{plan}");
    assert!(gone.iter().all(|p| p.exists()), "a dry run deletes nothing");

    let out = run(&["cache", "prune", "--dir", cache.root(), "-y"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for path in &gone {
        assert!(!path.exists(), "{} was left", path.display());
    }
    assert!(python.exists(), "a fresh partial file of the Python library is left alone");
    assert!(blobs.join(format!("{NEW}.{live}.incomplete")).exists(), "a live writer's file");
    assert!(blobs.join(NEW).exists() && blobs.join(SHARED).exists(), "blobs are kept");
}
