//! The cache layout and lookups, against folders laid out as the Python library lays them out.

use std::path::Path;

use hub_url::{Repo, RepoPath, Revision};

use crate::*;

const COMMIT: &str = "2439f60ef33a0d46d85da5001d52aeda5b00ce9f";
const SHA1: &str = "d7edf6bd2a681fb0175f7735299831ee1b22b812";
const SHA256: &str = "403450e234d65943a7dcf7e05a771ce3c92faa84dd07db4ac20f592037a1e4bd";

fn setup() -> (tempfile::TempDir, CacheDir, RepoCache) {
    let dir = tempfile::tempdir().unwrap();
    let cache = CacheDir::new(dir.path().to_path_buf());
    let repo: Repo = "julien-c/EsperBERTo-small".parse().unwrap();
    let repo_cache = cache.repo(&repo);
    (dir, cache, repo_cache)
}

fn path(p: &str) -> RepoPath {
    p.parse().unwrap()
}

fn rev(r: &str) -> Revision {
    r.parse().unwrap()
}

#[test]
fn paths_match_the_python_layout() {
    let (dir, _cache, repo) = setup();
    let root = dir.path();
    let commit = CommitHash::new(COMMIT).unwrap();
    let etag = Etag::new(SHA256).unwrap();
    let repo_dir = root.join("models--julien-c--EsperBERTo-small");
    assert_eq!(repo.path(), repo_dir);
    assert_eq!(repo.blob_path(&etag), repo_dir.join("blobs").join(SHA256));
    assert_eq!(
        repo.pointer_path(&commit, &path("a/b.bin")),
        repo_dir.join("snapshots").join(COMMIT).join("a/b.bin")
    );
    assert_eq!(
        repo.no_exist_path(&commit, &path("x.txt")),
        repo_dir.join(".no_exist").join(COMMIT).join("x.txt")
    );
    assert_eq!(repo.ref_path(&rev("refs/pr/1")), repo_dir.join("refs/refs/pr/1"));
    assert_eq!(repo.ref_path(&rev("main")), repo_dir.join("refs/main"));
    assert_eq!(
        repo.lock_path(&etag),
        root.join(".locks/models--julien-c--EsperBERTo-small").join(format!("{SHA256}.lock"))
    );
}

#[test]
fn refs_are_written_without_newline_and_read_back() {
    let (_dir, _cache, repo) = setup();
    let commit = CommitHash::new(COMMIT).unwrap();
    for r in ["main", "refs/pr/1", "v1.0"] {
        assert_eq!(repo.resolve_revision(&rev(r)).unwrap(), None);
        repo.write_ref(&rev(r), &commit).unwrap();
        assert_eq!(std::fs::read_to_string(repo.ref_path(&rev(r))).unwrap(), COMMIT);
        assert_eq!(repo.resolve_revision(&rev(r)).unwrap(), Some(commit.clone()));
    }
    // A commit is its own ref: nothing is written.
    repo.write_ref(&rev(COMMIT), &commit).unwrap();
    assert!(!repo.ref_path(&rev(COMMIT)).exists());
    // A ref written by Python with a trailing newline still reads.
    std::fs::write(repo.ref_path(&rev("dev")).parent().unwrap().join("dev"), format!("{COMMIT}\n"))
        .unwrap();
    assert_eq!(repo.resolve_revision(&rev("dev")).unwrap(), Some(commit));
    // Garbage in a ref is an error that says what to do, not a path.
    std::fs::write(repo.ref_path(&rev("bad")), "../../../etc").unwrap();
    let err = repo.resolve_revision(&rev("bad")).unwrap_err();
    assert!(err.to_string().contains("delete it"), "{err}");
}

#[test]
fn lookups_follow_try_to_load_from_cache() {
    let (_dir, cache, repo) = setup();
    let commit = CommitHash::new(COMMIT).unwrap();
    let etag = Etag::new(SHA1).unwrap();
    let repo_id: Repo = "julien-c/EsperBERTo-small".parse().unwrap();
    let lookup = |file: &str, r: &str| {
        try_to_load_from_cache(&cache, &repo_id, &path(file), &rev(r)).unwrap()
    };
    assert_eq!(lookup("config.json", "main"), CacheLookup::NotCached);

    std::fs::create_dir_all(repo.blobs_dir()).unwrap();
    std::fs::write(repo.blob_path(&etag), b"{}").unwrap();
    let pointer = repo.link_snapshot(&commit, &path("sub/dir/config.json"), &etag).unwrap();
    repo.write_ref(&rev("main"), &commit).unwrap();
    // A relative symlink, one `../` per folder level.
    assert_eq!(std::fs::read_link(&pointer).unwrap(), Path::new("../../../../blobs").join(SHA1));
    assert_eq!(std::fs::read(&pointer).unwrap(), b"{}");

    assert_eq!(lookup("sub/dir/config.json", "main"), CacheLookup::Found(pointer.clone()));
    assert_eq!(lookup("sub/dir/config.json", COMMIT), CacheLookup::Found(pointer.clone()));
    // Another revision is never a fallback.
    assert_eq!(lookup("sub/dir/config.json", "dev"), CacheLookup::NotCached);
    assert_eq!(lookup("other.txt", "main"), CacheLookup::NotCached);

    repo.mark_missing(&commit, &path("missing/file.txt")).unwrap();
    assert_eq!(
        std::fs::metadata(repo.no_exist_path(&commit, &path("missing/file.txt"))).unwrap().len(),
        0
    );
    assert_eq!(lookup("missing/file.txt", "main"), CacheLookup::KnownMissing);

    // A dangling pointer (its blob deleted) is not a cached file.
    std::fs::remove_file(repo.blob_path(&etag)).unwrap();
    assert_eq!(lookup("sub/dir/config.json", "main"), CacheLookup::NotCached);
    // And no pointer is made to a missing blob.
    assert!(repo.link_snapshot(&commit, &path("again.json"), &etag).is_err());
}

#[test]
fn relinking_replaces_the_pointer_atomically() {
    let (_dir, _cache, repo) = setup();
    let commit = CommitHash::new(COMMIT).unwrap();
    std::fs::create_dir_all(repo.blobs_dir()).unwrap();
    let (a, b) = (Etag::new(SHA1).unwrap(), Etag::new(SHA256).unwrap());
    std::fs::write(repo.blob_path(&a), b"a").unwrap();
    std::fs::write(repo.blob_path(&b), b"b").unwrap();
    let p = repo.link_snapshot(&commit, &path("f"), &a).unwrap();
    repo.link_snapshot(&commit, &path("f"), &b).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"b");
    let leftovers: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temp file is left behind");
}

#[test]
fn names_from_the_network_are_validated() {
    for good in [SHA1, SHA256] {
        assert!(Etag::new(good).is_ok());
    }
    assert_eq!(Etag::from_header(&format!("W/\"{SHA1}\"")).unwrap().as_str(), SHA1);
    assert!(Etag::from_header(&format!("\"{SHA256}\"")).unwrap().is_sha256());
    for bad in [
        "",
        "abc",
        "../../../../etc/passwd",
        &SHA1.to_uppercase(),
        &format!("{SHA1}0"),
        &format!("{}/x", &SHA256[..62]),
    ] {
        assert!(Etag::new(bad).is_err(), "{bad:?}");
    }
    for bad in ["", SHA256, "../x", &COMMIT.to_uppercase()] {
        assert!(CommitHash::new(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn cachedir_tag_is_the_python_one() {
    let (dir, cache, _repo) = setup();
    cache.ensure_tag().unwrap();
    let tag = std::fs::read_to_string(dir.path().join("CACHEDIR.TAG")).unwrap();
    assert!(tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55\n"));
    assert!(tag.ends_with("#\thttps://bford.info/cachedir/\n"));
}

#[test]
fn a_blob_lock_is_exclusive_across_handles() {
    let (_dir, _cache, repo) = setup();
    let lock_path = repo.lock_path(&Etag::new(SHA1).unwrap());
    let held = BlobLock::acquire(&lock_path).unwrap();
    assert!(BlobLock::try_acquire(&lock_path).unwrap().is_none(), "a second holder got the lock");
    drop(held);
    assert!(BlobLock::try_acquire(&lock_path).unwrap().is_some());
}
