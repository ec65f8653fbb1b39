//! The cache operator tools a user notices: `cache verify --repair` against a local TestHub,
//! `cache export`/`import` of bundles (round trips, refused archives), `cache prune
//! --older-than` and `cache ls --filter`.
#![cfg(unix)]

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use anyhow::{Context, bail};

use crate::support::files::sha256;
use crate::support::fixture::{C1, C2, link, write_ref};
use crate::support::{self, Setup, stderr};

fn run(home: &Path, endpoint: &str, args: &[&str]) -> anyhow::Result<Output> {
    support::hub_cli(home, endpoint).args(args).output().context("running hub-cli")
}

/// (inode, mtime in ns) of every blob of a repo folder, by name.
fn blob_states(repo: &Path) -> anyhow::Result<Vec<(String, u64, i64)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(repo.join("blobs"))? {
        let entry = entry?;
        let meta = std::fs::metadata(entry.path())?;
        out.push((
            entry.file_name().to_string_lossy().into_owned(),
            meta.ino(),
            meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
        ));
    }
    out.sort();
    Ok(out)
}

#[test]
fn verify_repair_downloads_again_only_the_bad_blob() -> anyhow::Result<()> {
    let s = Setup::start()?;
    let cache = s.cache();
    let cache_arg = cache.to_str().context("utf-8")?;
    let out = s.run(&["download", "acme/tiny-model", "--cache-dir", cache_arg, "-q"])?;
    if !out.status.success() {
        bail!("download failed: {}", stderr(&out));
    }
    let repo = cache.join("models--acme--tiny-model");
    let before = blob_states(&repo)?;
    if before.len() < 3 {
        bail!("the seed's model should have several blobs: {before:?}");
    }
    // The LFS blob (64-hex name): one byte changed in place, same size.
    let (bad_name, _, _) =
        before.iter().find(|(n, _, _)| n.len() == 64).context("an LFS blob")?.clone();
    let bad_path = repo.join("blobs").join(&bad_name);
    let mut bytes = std::fs::read(&bad_path)?;
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&bad_path, &bytes)?;

    let out = s.run(&["cache", "verify", "acme/tiny-model", "--cache-dir", cache_arg])?;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    let out =
        s.run(&["cache", "verify", "acme/tiny-model", "--cache-dir", cache_arg, "--repair"])?;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("repaired (downloaded again at"), "{}", stderr(&out));
    let after = blob_states(&repo)?;
    assert_eq!(after.len(), before.len());
    for ((name, ino, mtime), (name2, ino2, mtime2)) in before.iter().zip(&after) {
        assert_eq!(name, name2);
        if *name == bad_name {
            assert_eq!(sha256(&std::fs::read(&bad_path)?), bad_name, "it verifies now");
        } else {
            assert_eq!((ino, mtime), (ino2, mtime2), "{name} was not touched");
        }
    }
    let out = s.run(&["cache", "verify", "acme/tiny-model", "--cache-dir", cache_arg])?;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(" 0 hashed") || stderr(&out).contains("(0 hashed"),
        "{}",
        stderr(&out)
    );
    Ok(())
}

/// A model with `main` → C1 (`README.md`, `sub/config.json`) and a detached C2.
fn small_cache(root: &Path) -> anyhow::Result<PathBuf> {
    let repo = root.join("models--acme--small");
    let files: [(&str, &str, &[u8]); 3] = [
        (C1, "README.md", b"hello\n"),
        (C1, "sub/config.json", b"{}\n"),
        (C2, "README.md", b"v2\n"),
    ];
    for (commit, name, data) in files {
        let etag = sha256(data);
        std::fs::create_dir_all(repo.join("blobs"))?;
        std::fs::write(repo.join("blobs").join(&etag), data)?;
        link(&repo, commit, name, &etag)?;
    }
    write_ref(&repo, "main", C1)?;
    Ok(repo)
}

/// An archive entry: path, type, content, link target.
type RawEntry<'a> = (&'a str, tar::EntryType, &'a [u8], Option<&'a str>);

fn tar_with(path: &Path, entries: &[RawEntry<'_>]) -> anyhow::Result<()> {
    let mut builder = tar::Builder::new(std::fs::File::create(path)?);
    for (name, kind, data, link) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        // Raw names: the tar crate's own setters refuse `..`, an attacker's tool does not.
        let raw = h.as_old_mut();
        raw.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(link) = link {
            raw.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        h.set_cksum();
        builder.append(&h, *data)?;
    }
    builder.finish()?;
    Ok(())
}

#[test]
fn export_import_round_trips_and_keeps_what_the_cache_has() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let src = dir.path().join("src");
    small_cache(&src)?;
    let bundle = dir.path().join("b.tar");
    let (home, ep) = (dir.path(), support::NO_HUB);
    let s = |p: &Path| p.to_str().unwrap_or_default().to_owned();
    let out = run(
        home,
        ep,
        &["cache", "export", "acme/small@main", "-o", &s(&bundle), "--cache-dir", &s(&src)],
    )?;
    assert!(out.status.success(), "{}", stderr(&out));

    // Into an empty cache: main's two files, not the detached C2.
    let empty = dir.path().join("empty");
    let out = run(home, ep, &["cache", "import", &s(&bundle), "--cache-dir", &s(&empty)])?;
    assert!(out.status.success(), "{}", stderr(&out));
    let repo = empty.join("models--acme--small");
    assert_eq!(std::fs::read(repo.join("snapshots").join(C1).join("sub/config.json"))?, b"{}\n");
    assert_eq!(
        std::fs::read_link(repo.join("snapshots").join(C1).join("README.md"))?,
        Path::new(&format!("../../blobs/{}", sha256(b"hello\n")))
    );
    assert!(!repo.join("snapshots").join(C2).exists());
    assert_eq!(std::fs::read_to_string(repo.join("refs/main"))?, C1);

    // Into a cache that holds C2 as main, with one of the blobs already: nothing of it moves.
    let other = dir.path().join("other");
    let repo = other.join("models--acme--small");
    std::fs::create_dir_all(repo.join("blobs"))?;
    std::fs::write(repo.join("blobs").join(sha256(b"v2\n")), b"v2\n")?;
    std::fs::write(repo.join("blobs").join(sha256(b"hello\n")), b"hello\n")?;
    std::fs::create_dir_all(repo.join("snapshots").join(C2))?;
    std::os::unix::fs::symlink(
        format!("../../blobs/{}", sha256(b"v2\n")),
        repo.join("snapshots").join(C2).join("README.md"),
    )?;
    std::fs::create_dir_all(repo.join("refs"))?;
    std::fs::write(repo.join("refs/main"), C2)?;
    let before = blob_states(&repo)?;
    let out = run(home, ep, &["cache", "import", &s(&bundle), "--cache-dir", &s(&other)])?;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("kept models--acme--small: ref main points to {C2}")),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(repo.join("refs/main"))?, C2, "the ref is not overwritten");
    let after = blob_states(&repo)?;
    for old in &before {
        assert!(after.contains(old), "{old:?} untouched");
    }
    assert_eq!(after.len(), before.len() + 1, "one blob added");
    assert!(repo.join("snapshots").join(C1).join("sub/config.json").is_file());
    Ok(())
}

#[test]
fn import_refuses_tampered_and_escaping_archives_and_writes_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (home, ep) = (dir.path(), support::NO_HUB);
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(&cache)?;
    let etag = sha256(b"real\n");
    let blob_name = format!("models--a--b/blobs/{etag}");
    let link_target = format!("../../blobs/{etag}");
    let link_name = format!("models--a--b/snapshots/{C1}/x");
    let cases: Vec<(&str, Vec<RawEntry<'_>>, &str)> = vec![
        (
            "tampered",
            vec![(blob_name.as_str(), tar::EntryType::Regular, b"fake\n", None)],
            "hashes to",
        ),
        ("dotdot", vec![("models--a--b/../../evil", tar::EntryType::Regular, b"x", None)], "`..`"),
        ("absolute", vec![("/tmp/evil", tar::EntryType::Regular, b"x", None)], "absolute"),
        (
            "escaping link",
            vec![(
                link_name.as_str(),
                tar::EntryType::Symlink,
                b"",
                Some("../../../../etc/passwd"),
            )],
            "a symlink to",
        ),
        (
            "foreign file",
            vec![("models--a--b/notes.txt", tar::EntryType::Regular, b"x", None)],
            "no place for",
        ),
        (
            "dangling link",
            vec![(link_name.as_str(), tar::EntryType::Symlink, b"", Some(link_target.as_str()))],
            "neither the archive nor the cache",
        ),
    ];
    for (what, entries, reason) in cases {
        let path = dir.path().join(format!("{}.tar", what.replace(' ', "-")));
        tar_with(&path, &entries)?;
        let out = run(
            home,
            ep,
            &[
                "cache",
                "import",
                path.to_str().unwrap_or_default(),
                "--cache-dir",
                cache.to_str().unwrap_or_default(),
            ],
        )?;
        assert_eq!(out.status.code(), Some(1), "{what}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{what}: one line: {err}");
        assert!(err.starts_with("error: archive entry `") && err.contains(reason), "{what}: {err}");
        assert_eq!(std::fs::read_dir(&cache)?.count(), 0, "{what}: nothing written");
    }
    Ok(())
}

#[test]
fn prune_older_than_and_ls_filters() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (home, ep) = (dir.path(), support::NO_HUB);
    let root = dir.path().join("hub");
    let repo = small_cache(&root)?;
    // main's blobs last read 40 days ago; C2's just now.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 86_400);
    for data in [&b"hello\n"[..], b"{}\n"] {
        let file =
            std::fs::File::options().write(true).open(repo.join("blobs").join(sha256(data)))?;
        file.set_times(std::fs::FileTimes::new().set_accessed(old).set_modified(old))?;
    }
    let r = root.to_str().unwrap_or_default();
    let ls = |filter: &str| -> anyhow::Result<String> {
        let out = run(
            home,
            ep,
            &["cache", "ls", "--revisions", "-q", "--filter", filter, "--cache-dir", r],
        )?;
        assert!(out.status.success(), "{}", stderr(&out));
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    assert_eq!(ls("accessed>30d")?, format!("{C1}\n"));
    assert_eq!(ls("accessed<30d")?, format!("{C2}\n"));
    assert_eq!(ls("size>5")?, format!("{C1}\n"));
    assert_eq!(ls("refs=main")?, format!("{C1}\n"));
    assert_eq!(ls("type=dataset")?, "");
    let out = run(home, ep, &["cache", "ls", "--filter", "size>>1", "--cache-dir", r])?;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("'size>>1' for '--filter <EXPR>'"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));

    // Without --older-than only the detached C2 goes; with it, main's C1 too.
    let out = run(home, ep, &["cache", "prune", "--dry-run", "--cache-dir", r])?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains(C2) && !text.contains(C1), "{text}");
    let out = run(home, ep, &["cache", "prune", "--older-than", "30d", "-y", "--cache-dir", r])?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.contains("Revisions (2):") && text.contains("not accessed for"), "{text}");
    assert!(!repo.exists(), "all revisions gone: the repo folder goes");
    Ok(())
}
