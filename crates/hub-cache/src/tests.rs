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

mod blob_writer {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use sha2::{Digest, Sha256};

    use super::*;

    fn content(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    fn sha256(data: &[u8]) -> ([u8; 32], Etag) {
        let digest: [u8; 32] = Sha256::digest(data).into();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        (digest, Etag::new(&hex).unwrap())
    }

    fn writer(repo: &RepoCache, etag: &Etag, size: u64) -> BlobWriter {
        match repo.begin_blob(etag, size).unwrap() {
            BlobStart::Write(w) => w,
            BlobStart::Exists(p) => panic!("unexpected blob at {}", p.display()),
        }
    }

    fn blob_dir_names(repo: &RepoCache) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(repo.blobs_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn ranges_written_out_of_order_commit_to_one_verified_blob() {
        let (_dir, _cache, repo) = setup();
        let data = content(1 << 20);
        let (digest, etag) = sha256(&data);
        let w = writer(&repo, &etag, data.len() as u64);
        assert!(w.temp_path().file_name().unwrap().to_string_lossy().ends_with(".incomplete"));
        let w = Arc::new(w);
        std::thread::scope(|s| {
            for chunk in (0..4).rev() {
                let (w, data) = (w.clone(), &data);
                s.spawn(move || {
                    let range = chunk * (1 << 18)..(chunk + 1) * (1 << 18);
                    w.write_at(range.start as u64, &data[range]).unwrap();
                });
            }
        });
        let w = Arc::into_inner(w).unwrap();
        let blob = w.commit(Verification::Sha256(digest)).unwrap();
        assert_eq!(blob, repo.blob_path(&etag));
        assert_eq!(std::fs::read(&blob).unwrap(), data);
        assert_eq!(blob_dir_names(&repo), [etag.to_string()], "nothing else is left in blobs/");
        assert!(matches!(repo.begin_blob(&etag, data.len() as u64).unwrap(), BlobStart::Exists(_)));
    }

    /// The blob's space is reserved when its first bytes arrive (a full disk shows then, not in
    /// the middle of a 100 GB download), without making the partial file look complete; a
    /// writer that never received a byte reserved nothing.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_writer_reserves_the_blobs_disk_space_at_its_first_write() {
        use std::os::unix::fs::MetadataExt;
        let (_dir, _cache, repo) = setup();
        let size = 64 << 20;
        let w = writer(&repo, &Etag::new(SHA256).unwrap(), size);
        let meta = std::fs::metadata(w.temp_path()).unwrap();
        assert!(
            meta.blocks() * 512 < 1 << 20,
            "{} bytes reserved before any write",
            meta.blocks() * 512
        );
        w.write_at(0, b"x").unwrap();
        let meta = std::fs::metadata(w.temp_path()).unwrap();
        assert_eq!(meta.len(), 1, "the reservation must not change the file's length");
        assert!(
            meta.blocks() * 512 >= size,
            "only {} bytes reserved for {size}",
            meta.blocks() * 512
        );
        w.discard();
    }

    #[test]
    fn a_full_disk_says_so_and_what_to_do() {
        let path = Path::new("/cache/blobs/x.incomplete");
        for kind in [std::io::ErrorKind::StorageFull, std::io::ErrorKind::QuotaExceeded] {
            let e = crate::blob::no_space(kind.into(), path, 5 << 30);
            assert!(matches!(&e, Error::NoSpace { needed, .. } if *needed == 5 << 30), "{e:?}");
            let text = e.to_string();
            assert!(text.contains("not enough disk space for 5368709120 bytes"), "{text}");
            assert!(text.contains("HF_HUB_CACHE"), "{text}");
        }
        let other = crate::blob::no_space(std::io::ErrorKind::PermissionDenied.into(), path, 1);
        assert!(matches!(other, Error::Io { .. }), "{other:?}");
    }

    #[test]
    fn a_corrupt_or_short_download_never_becomes_a_blob() {
        let (_dir, _cache, repo) = setup();
        let data = content(4096);
        let (digest, etag) = sha256(&data);

        let mut corrupt = data.clone();
        corrupt[100] ^= 1;
        let w = writer(&repo, &etag, 4096);
        w.write_at(0, &corrupt).unwrap();
        let (bad_digest, _) = sha256(&corrupt);
        let err = w.commit(Verification::Sha256(bad_digest)).unwrap_err();
        assert!(matches!(err, Error::HashMismatch { .. }), "{err}");
        assert!(err.to_string().contains("nothing was cached"));
        assert!(
            blob_dir_names(&repo).is_empty(),
            "the temp file is gone: {:?}",
            blob_dir_names(&repo)
        );

        let w = writer(&repo, &etag, 4096);
        w.write_at(0, &data[..4000]).unwrap();
        assert!(matches!(
            w.commit(Verification::Sha256(digest)),
            Err(Error::SizeMismatch { expected: 4096, actual: 4000, .. })
        ));

        let w = writer(&repo, &etag, 4096);
        assert!(matches!(w.write_at(4000, &data[..200]), Err(Error::TooLong { .. })));
        assert!(matches!(w.write_at(u64::MAX, &data[..2]), Err(Error::TooLong { .. })));
        w.discard();
        assert!(!repo.blob_path(&etag).exists());
    }

    #[test]
    fn a_killed_download_is_resumed_by_the_next_process() {
        let (_dir, _cache, repo) = setup();
        let data = content(10_000);
        let (digest, etag) = sha256(&data);

        let first = writer(&repo, &etag, 10_000);
        first.write_at(0, &data[..6_000]).unwrap();
        first.record_progress(6_000).unwrap();
        first.write_at(8_000, &data[8_000..9_000]).unwrap(); // beyond the record: not trusted
        let first_temp = first.temp_path().to_path_buf();
        drop(first); // the process dies: its files stay, its lock goes

        let second = writer(&repo, &etag, 10_000);
        assert_eq!(second.resume_from(), 6_000);
        assert_ne!(second.temp_path(), first_temp, "adopted under a new unique name");
        assert!(!first_temp.exists());
        let mut prefix = vec![0; 6_000];
        assert_eq!(second.read_at(0, &mut prefix).unwrap(), 6_000);
        assert_eq!(prefix, data[..6_000]);
        second.write_at(6_000, &data[6_000..]).unwrap();
        second.commit(Verification::Sha256(digest)).unwrap();
        assert_eq!(std::fs::read(repo.blob_path(&etag)).unwrap(), data);
        assert_eq!(blob_dir_names(&repo), [etag.to_string()]);
    }

    #[test]
    fn a_python_partial_file_is_neither_deleted_nor_adopted() {
        let (_dir, _cache, repo) = setup();
        let data = content(3000);
        let (digest, etag) = sha256(&data);
        std::fs::create_dir_all(repo.blobs_dir()).unwrap();
        // Python 1.18+: `<etag>.<8 hex>.incomplete`, no progress record. All digits, these 8
        // hex would read as the pid of a process that is gone; with letters, as no pid.
        let python = ["99999999", "0badcafe"]
            .map(|hex| repo.blobs_dir().join(format!("{etag}.{hex}.incomplete")));
        for path in &python {
            std::fs::write(path, &data[..1000]).unwrap();
        }
        // Even with a record beside it (which Python never writes), it is not ours to adopt.
        let record = repo.blobs_dir().join(format!("{etag}.99999999.progress"));
        std::fs::write(&record, "0-1000").unwrap();
        // Ours, of a dead writer of this host: removed.
        let ours_dead = repo
            .blobs_dir()
            .join(format!("{etag}.99999999-0000abcd-0-{}.incomplete", crate::fsutil::host_tag()));
        std::fs::write(&ours_dead, b"x").unwrap();

        let w = writer(&repo, &etag, 3000);
        assert_eq!(w.resume_from(), 0, "nothing adopted");
        w.write_at(0, &data).unwrap();
        w.commit(Verification::Sha256(digest)).unwrap();
        for path in &python {
            assert_eq!(std::fs::read(path).unwrap(), &data[..1000], "{} kept", path.display());
        }
        assert!(record.exists());
        assert!(!ours_dead.exists(), "a dead writer of ours is cleaned up");
    }

    #[cfg(unix)]
    #[test]
    fn blobs_linked_into_a_shared_store_are_used_and_never_written_through() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, _cache, repo) = setup();
        let commit = CommitHash::new(COMMIT).unwrap();
        let data = content(500);
        let (digest, etag) = sha256(&data);
        let other = content(600);
        let (other_digest, other_etag) = sha256(&other);
        // Python 2.4's store: `<cache>/blobs/<xx>/<hash>`, read-only; one repo blob a relative
        // symlink into it, one a hard link.
        let store = dir.path().join("blobs/ab");
        std::fs::create_dir_all(&store).unwrap();
        std::fs::create_dir_all(repo.blobs_dir()).unwrap();
        let (stored, stored_other) = (store.join("ab01"), store.join("ab02"));
        for (path, bytes) in [(&stored, &data), (&stored_other, &other)] {
            std::fs::write(path, bytes).unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444)).unwrap();
        }
        std::os::unix::fs::symlink("../../blobs/ab/ab01", repo.blob_path(&etag)).unwrap();
        std::fs::hard_link(&stored_other, repo.blob_path(&other_etag)).unwrap();

        for (file, e) in [("a.bin", &etag), ("b.bin", &other_etag)] {
            assert!(matches!(repo.begin_blob(e, 1).unwrap(), BlobStart::Exists(_)));
            repo.link_snapshot(&commit, &path(file), e).unwrap();
            let found = repo.lookup(&path(file), &rev(COMMIT)).unwrap();
            assert_eq!(found, CacheLookup::Found(repo.pointer_path(&commit, &path(file))));
        }
        assert_eq!(std::fs::read(repo.pointer_path(&commit, &path("a.bin"))).unwrap(), data);

        // force_download: the repo's names are replaced; the store's files are untouched.
        for (e, d, bytes) in [(&etag, digest, &data), (&other_etag, other_digest, &other)] {
            let w = repo.begin_blob_replacing(e, bytes.len() as u64).unwrap();
            w.write_at(0, bytes).unwrap();
            w.commit(Verification::Sha256(d)).unwrap();
            let meta = std::fs::symlink_metadata(repo.blob_path(e)).unwrap();
            assert!(meta.is_file(), "a regular file of the repo now");
        }
        assert_eq!(std::fs::read(&stored).unwrap(), data);
        assert_eq!(std::fs::read(&stored_other).unwrap(), other);
        for path in [&stored, &stored_other] {
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o444, "{} still read-only", path.display());
        }
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(&stored_other).unwrap().nlink(), 1, "the hard link is gone");
    }

    #[test]
    fn a_writer_whose_file_was_adopted_stops_and_deletes_nothing() {
        let (_dir, _cache, repo) = setup();
        let data = content(1000);
        let (digest, etag) = sha256(&data);
        let w = writer(&repo, &etag, 1000);
        w.write_at(0, &data).unwrap();
        // What an adopter on a lock-less file system does: rename the file to its own name.
        let adopted = repo.blobs_dir().join(format!("{etag}.other.incomplete"));
        std::fs::rename(w.temp_path(), &adopted).unwrap();
        assert!(matches!(w.record_progress(1000), Err(Error::Adopted { .. })));
        assert!(matches!(w.commit(Verification::Sha256(digest)), Err(Error::Adopted { .. })));
        assert!(adopted.exists(), "the adopter's file is left alone");
        assert!(!repo.blob_path(&etag).exists());
    }

    #[test]
    fn concurrent_writers_of_one_blob_make_one_download() {
        let (_dir, _cache, repo) = setup();
        let data = content(200_000);
        let (digest, etag) = sha256(&data);
        let downloads = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| match repo.begin_blob(&etag, data.len() as u64).unwrap() {
                    BlobStart::Write(w) => {
                        downloads.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        w.write_at(0, &data).unwrap();
                        w.commit(Verification::Sha256(digest)).unwrap();
                    }
                    BlobStart::Exists(path) => assert_eq!(std::fs::read(path).unwrap(), data),
                });
            }
        });
        assert_eq!(downloads.load(Ordering::SeqCst), 1);
        assert_eq!(blob_dir_names(&repo), [etag.to_string()]);
    }
}

mod scan_and_delete {
    use super::*;

    const C1: &str = "1111111111111111111111111111111111111111";
    const C2: &str = "2222222222222222222222222222222222222222";
    const SHARED: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const OLD: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const NEW: &str = "cccccccccccccccccccccccccccccccccccccccc";

    /// Two revisions of one repo: both share `README.md`; `config.json` differs.
    fn two_revisions() -> (tempfile::TempDir, CacheDir, RepoCache) {
        let (dir, cache, repo) = setup();
        std::fs::create_dir_all(repo.blobs_dir()).unwrap();
        for (etag, size) in [(SHARED, 100), (OLD, 10), (NEW, 20)] {
            std::fs::write(repo.blob_path(&Etag::new(etag).unwrap()), vec![b'x'; size]).unwrap();
        }
        let (c1, c2) = (CommitHash::new(C1).unwrap(), CommitHash::new(C2).unwrap());
        for (commit, config) in [(&c1, OLD), (&c2, NEW)] {
            repo.link_snapshot(commit, &path("README.md"), &Etag::new(SHARED).unwrap()).unwrap();
            repo.link_snapshot(commit, &path("sub/config.json"), &Etag::new(config).unwrap())
                .unwrap();
        }
        repo.write_ref(&rev("main"), &c2).unwrap();
        repo.write_ref(&rev("refs/pr/1"), &c1).unwrap();
        cache.ensure_tag().unwrap();
        (dir, cache, repo)
    }

    #[test]
    fn scan_reports_repos_revisions_refs_and_sizes() {
        let (_dir, cache, repo) = two_revisions();
        std::fs::write(repo.blobs_dir().join(format!("{NEW}.123-x.incomplete")), b"partial")
            .unwrap();
        let info = cache.scan().unwrap();
        assert!(info.warnings.is_empty(), "{:?}", info.warnings);
        assert_eq!(info.repos.len(), 1);
        let r = &info.repos[0];
        assert_eq!(r.repo.to_string(), "julien-c/EsperBERTo-small");
        assert_eq!((r.nb_files, r.size_on_disk), (3, 130), "unique blobs only");
        assert_eq!(info.size_on_disk, 130);
        assert_eq!(r.refs.get("main").map(String::as_str), Some(C2));
        assert_eq!(r.refs.get("refs/pr/1").map(String::as_str), Some(C1));
        let rev1 = r.revisions.iter().find(|v| v.commit_hash == C1).unwrap();
        assert_eq!(rev1.size_on_disk, 110);
        assert_eq!(rev1.refs.iter().collect::<Vec<_>>(), ["refs/pr/1"]);
        assert_eq!(
            rev1.files.iter().map(|f| f.file_name.as_str()).collect::<Vec<_>>(),
            ["README.md", "sub/config.json"]
        );
        assert_eq!(info.incomplete_files.len(), 1);
    }

    #[test]
    fn broken_repos_are_warnings_and_a_missing_cache_an_error() {
        let (dir, cache, repo) = two_revisions();
        std::fs::remove_file(repo.blob_path(&Etag::new(OLD).unwrap())).unwrap();
        let other = cache.repo(&"datasets/acme/d".parse().unwrap());
        std::fs::create_dir_all(other.path().join("snapshots")).unwrap();
        other.write_ref(&rev("main"), &CommitHash::new(C1).unwrap()).unwrap();
        std::fs::create_dir_all(dir.path().join("not-a-repo")).unwrap();
        let info = cache.scan().unwrap();
        assert_eq!(info.repos.len(), 0);
        assert_eq!(info.warnings.len(), 2, "{:?}", info.warnings);
        assert!(info.warnings.iter().any(|w| w.contains("broken symlink")));
        assert!(info.warnings.iter().any(|w| w.contains("not in snapshots/")));

        let missing = CacheDir::new(dir.path().join("nope"));
        let err = missing.scan().unwrap_err();
        assert!(err.to_string().contains("HF_HUB_CACHE"), "{err}");
    }

    #[test]
    fn deleting_a_revision_keeps_blobs_still_in_use() {
        let (_dir, cache, repo) = two_revisions();
        let info = cache.scan().unwrap();
        let plan = info.plan_delete(&[
            DeleteTarget::Revision(C1[..8].to_owned()),
            DeleteTarget::Revision("deadbeef".into()),
        ]);
        assert_eq!(plan.expected_freed_size, 10, "only the old config's blob is freed");
        assert_eq!(plan.blobs, [repo.blob_path(&Etag::new(OLD).unwrap())]);
        assert_eq!(plan.refs, [repo.ref_path(&rev("refs/pr/1"))]);
        assert_eq!(plan.unknown, ["deadbeef"]);
        assert_eq!(plan.chosen.len(), 1);
        assert!(!plan.chosen[0].whole);
        assert_eq!(plan.chosen[0].total_revisions, 2);
        assert_eq!(plan.chosen[0].revisions[0].0, C1);
        assert_eq!(plan.chosen[0].revisions[0].1.iter().collect::<Vec<_>>(), ["refs/pr/1"]);
        // A dry run is the plan alone: nothing moved.
        assert!(repo.snapshot_path(&CommitHash::new(C1).unwrap()).exists());
        plan.execute().unwrap();

        let after = cache.scan().unwrap();
        assert!(after.warnings.is_empty(), "{:?}", after.warnings);
        assert_eq!(after.repos[0].revisions.len(), 1);
        assert_eq!(after.size_on_disk, 120);
        let main = repo.lookup(&path("README.md"), &rev("main")).unwrap();
        assert!(matches!(main, CacheLookup::Found(_)), "the kept revision still reads");
        assert_eq!(
            repo.lookup(&path("README.md"), &rev("refs/pr/1")).unwrap(),
            CacheLookup::NotCached
        );
    }

    #[test]
    fn an_ambiguous_prefix_plans_nothing() {
        let (_dir, cache, repo) = two_revisions();
        let twin = CommitHash::new("1111111222222222222222222222222222222222").unwrap();
        repo.link_snapshot(&twin, &path("README.md"), &Etag::new(SHARED).unwrap()).unwrap();
        let info = cache.scan().unwrap();
        let plan = info.plan_delete(&[DeleteTarget::Revision("1111111".into())]);
        assert_eq!(plan.ambiguous, [("1111111".to_owned(), vec![C1.to_owned(), twin.to_string()])]);
        assert!(plan.chosen.is_empty() && plan.snapshots.is_empty() && plan.blobs.is_empty());
        assert_eq!(plan.expected_freed_size, 0);
        // The full hash is not ambiguous.
        let plan = info.plan_delete(&[DeleteTarget::Revision(C1.into())]);
        assert_eq!(plan.snapshots, [repo.snapshot_path(&CommitHash::new(C1).unwrap())]);
    }

    #[test]
    fn deleting_every_revision_or_the_repo_removes_the_folder() {
        for targets in [
            vec![DeleteTarget::Revision(C1.into()), DeleteTarget::Revision(C2.into())],
            vec![DeleteTarget::Repo("julien-c/EsperBERTo-small".parse().unwrap())],
        ] {
            let (_dir, cache, repo) = two_revisions();
            let plan = cache.scan().unwrap().plan_delete(&targets);
            assert_eq!((plan.repos.len(), plan.expected_freed_size), (1, 130));
            plan.execute().unwrap();
            assert!(!repo.path().exists());
            assert!(cache.scan().unwrap().repos.is_empty());
        }
    }
}

/// The errors that hold an operating system error tell it in their text, once: they do not
/// return it again as their source, which a printed chain would repeat.
#[test]
fn an_os_error_is_told_once_and_not_again_as_a_source() {
    let io = || std::io::Error::from(std::io::ErrorKind::PermissionDenied);
    let errors = [
        Error::Io { path: "/c/blobs".into(), cause: io() },
        Error::CacheNotWritable { path: "/c/blobs".into(), cause: io() },
    ];
    for e in &errors {
        assert!(e.to_string().contains(&io().to_string()), "{e}");
        assert!(std::error::Error::source(e).is_none(), "{e:?}");
    }
}
