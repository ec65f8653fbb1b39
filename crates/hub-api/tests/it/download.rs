//! `hf_hub_download` against the TestHub: the Python cache layout, the no-network fast paths,
//! offline mode and fallbacks, `.no_exist`, resume after a dropped connection, retries, corrupt
//! bytes, concurrent downloaders, token confinement, hostile names and `local_dir`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hub_api::{
    ClientBuilder, DownloadOptions, Error, HubClient, HubError, RetryConfig, Token, TransferConfig,
};
use hub_cache::{BlobStart, CacheDir, Etag};
use hub_tests::{HostScope, RepoType, SeedManifest, TestHub, seed};
use hub_url::{Endpoint, Repo};

use crate::support::seeded;

pub(crate) fn fast_retry() -> RetryConfig {
    RetryConfig::default()
        .with_max_retries(3)
        .with_initial_backoff(Duration::from_millis(10))
        .with_max_backoff(Duration::from_millis(50))
}

fn builder(hub: &TestHub) -> anyhow::Result<ClientBuilder> {
    Ok(HubClient::builder(Endpoint::new(hub.endpoint())?).retry(fast_retry()))
}

fn client(hub: &TestHub) -> anyhow::Result<HubClient> {
    Ok(builder(hub)?.build()?)
}

/// Small ranges so that the 1.5 MiB seed weights take several parallel requests.
fn options(cache: &Path) -> DownloadOptions {
    DownloadOptions::new(CacheDir::new(cache.to_path_buf()))
        .with_transfer(TransferConfig::default().with_connections(4).with_chunk_size(256 * 1024))
}

fn tiny() -> anyhow::Result<Repo> {
    Ok("acme/tiny-model".parse()?)
}

struct Expected {
    commit: String,
    sha256: String,
    git_oid: String,
    size: u64,
}

fn expected(seed: &SeedManifest, revision: &str, file: &str) -> Expected {
    let repo = seed.repo(RepoType::Model, "acme/tiny-model").expect("seeded");
    let rev = &repo.revisions[revision];
    let f = &rev.files[file];
    Expected {
        commit: rev.commit.clone(),
        sha256: f.sha256.clone(),
        git_oid: f.git_oid.clone(),
        size: f.size,
    }
}

fn sha256_of(path: &Path) -> String {
    use sha2::Digest;
    let data = std::fs::read(path).expect("readable");
    sha2::Sha256::digest(&data).iter().map(|b| format!("{b:02x}")).collect()
}

fn requests(hub: &TestHub) -> u64 {
    hub.stats().requests.values().sum()
}

/// Bytes of LFS content the CDN sent so far.
fn lfs_bytes_served(hub: &TestHub) -> u64 {
    hub.stats().log.iter().filter(|l| l.path.starts_with("/lfs/")).map(|l| l.bytes_sent).sum()
}

/// GETs the CDN answered so far.
pub(crate) fn cdn_gets(hub: &TestHub) -> u64 {
    hub.stats().requests.get("cdn-get").copied().unwrap_or(0)
}

fn blob_dir_entries(cache: &Path) -> Vec<String> {
    let dir = cache.join("models--acme--tiny-model/blobs");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn files_land_in_the_python_layout_and_a_cached_commit_costs_no_request() -> anyhow::Result<()>
{
    let (hub, seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let client = client(&hub)?;
    let opts = options(cache.path());
    let weights = expected(&seed, "main", "weights.bin");
    let config = expected(&seed, "main", "config.json");

    let path = client.hf_hub_download(&tiny()?, "weights.bin", &opts).await?;
    let repo_dir = cache.path().join("models--acme--tiny-model");
    assert_eq!(path, repo_dir.join("snapshots").join(&weights.commit).join("weights.bin"));
    assert_eq!(
        std::fs::read_link(&path)?,
        PathBuf::from("../../blobs").join(&weights.sha256),
        "a relative symlink to the blob"
    );
    assert_eq!(sha256_of(&path), weights.sha256);
    assert_eq!(std::fs::read_to_string(repo_dir.join("refs/main"))?, weights.commit);
    assert!(cache.path().join("CACHEDIR.TAG").is_file());
    assert!(
        cache
            .path()
            .join(".locks/models--acme--tiny-model")
            .join(format!("{}.lock", weights.sha256))
            .is_file()
    );
    let ranged =
        hub.stats().log.iter().filter(|e| e.path.starts_with("/lfs/") && e.range.is_some()).count();
    assert!(ranged >= 6, "the 1.5 MiB file came in 256 KiB ranges ({ranged} ranged GETs)");

    let path = client.hf_hub_download(&tiny()?, "config.json", &opts).await?;
    assert_eq!(std::fs::read_link(&path)?, PathBuf::from("../../blobs").join(&config.git_oid));
    assert_eq!(std::fs::metadata(&path)?.len(), config.size);

    let nested = client.hf_hub_download(&tiny()?, "nested/deep/file.txt", &opts).await?;
    assert_eq!(
        std::fs::read_link(&nested)?,
        PathBuf::from("../../../../blobs")
            .join(&expected(&seed, "main", "nested/deep/file.txt").git_oid)
    );

    // Pinned to a commit that is cached: no request at all.
    let before = requests(&hub);
    let pinned = opts.clone().with_revision(weights.commit.parse()?);
    let again = client.hf_hub_download(&tiny()?, "weights.bin", &pinned).await?;
    assert_eq!(again, path.with_file_name("weights.bin"));
    assert_eq!(requests(&hub), before, "a cached commit must not touch the network");

    // By branch: one HEAD, no download.
    let cdn_before = cdn_gets(&hub);
    client.hf_hub_download(&tiny()?, "weights.bin", &opts).await?;
    assert_eq!(cdn_gets(&hub), cdn_before);
    Ok(())
}

#[tokio::test]
async fn every_revision_kind_and_repo_type_downloads() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let client = client(&hub)?;
    for revision in ["main", "v1.0", "dev", "refs/pr/1"] {
        let e = expected(&seed, revision, "weights.bin");
        let opts = options(cache.path()).with_revision(revision.parse()?);
        let path = client.hf_hub_download(&tiny()?, "weights.bin", &opts).await?;
        assert!(
            path.starts_with(
                cache.path().join("models--acme--tiny-model/snapshots").join(&e.commit)
            )
        );
        assert_eq!(sha256_of(&path), e.sha256, "{revision}");
    }
    assert!(cache.path().join("models--acme--tiny-model/refs/refs/pr/1").is_file());
    for (repo, folder) in [
        ("datasets/acme/tiny-dataset", "datasets--acme--tiny-dataset"),
        ("spaces/acme/tiny-space", "spaces--acme--tiny-space"),
    ] {
        let path = client
            .hf_hub_download(&repo.parse()?, "unicode/café ü ñ.txt", &options(cache.path()))
            .await?;
        assert!(path.starts_with(cache.path().join(folder)), "{}", path.display());
        assert!(path.is_file());
    }
    Ok(())
}

#[tokio::test]
async fn offline_mode_serves_the_cache_and_sends_nothing() -> anyhow::Result<()> {
    let (hub, _seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let online =
        client(&hub)?.hf_hub_download(&tiny()?, "config.json", &options(cache.path())).await?;
    hub.reset();
    let offline = builder(&hub)?.offline(true).build()?;
    let path = offline.hf_hub_download(&tiny()?, "config.json", &options(cache.path())).await?;
    assert_eq!(path, online);
    let local_only = client(&hub)?;
    let path = local_only
        .hf_hub_download(
            &tiny()?,
            "config.json",
            &options(cache.path()).with_local_files_only(true),
        )
        .await?;
    assert_eq!(path, online);
    let missing = offline.hf_hub_download(&tiny()?, "weights.bin", &options(cache.path())).await;
    match missing {
        Err(Error::NotCached { source, .. }) => {
            assert!(matches!(*source, Error::Offline { .. }), "{source}")
        }
        other => panic!("expected NotCached, got {other:?}"),
    }
    assert_eq!(requests(&hub), 0, "offline mode never touches the network");
    Ok(())
}

#[tokio::test]
async fn a_hub_that_is_down_falls_back_to_the_cached_file() -> anyhow::Result<()> {
    let (hub, _seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let client = client(&hub)?;
    let cached = client.hf_hub_download(&tiny()?, "config.json", &options(cache.path())).await?;
    hub.faults().fail_next(100, 503, None);
    let path = client.hf_hub_download(&tiny()?, "config.json", &options(cache.path())).await?;
    assert_eq!(path, cached);
    let err =
        client.hf_hub_download(&tiny()?, "README.md", &options(cache.path())).await.unwrap_err();
    assert!(matches!(&err, Error::NotCached { .. }), "{err}");
    hub.faults().clear();
    // An unknown repo is an error even with a cache.
    let err = client
        .hf_hub_download(&"acme/nope".parse()?, "config.json", &options(cache.path()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Hub(HubError::RepositoryNotFound { .. })), "{err}");
    Ok(())
}

#[tokio::test]
async fn a_missing_file_is_remembered_in_no_exist() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let err = client(&hub)?
        .hf_hub_download(&tiny()?, "nope/missing.txt", &options(cache.path()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Hub(HubError::EntryNotFound { .. })), "{err}");
    let commit = expected(&seed, "main", "config.json").commit;
    let marker = cache
        .path()
        .join("models--acme--tiny-model/.no_exist")
        .join(&commit)
        .join("nope/missing.txt");
    assert!(marker.is_file());
    assert_eq!(
        std::fs::read_to_string(cache.path().join("models--acme--tiny-model/refs/main"))?,
        commit
    );
    let lookup = hub_cache::try_to_load_from_cache(
        &CacheDir::new(cache.path().to_path_buf()),
        &tiny()?,
        &"nope/missing.txt".parse()?,
        &Default::default(),
    )?;
    assert_eq!(lookup, hub_cache::CacheLookup::KnownMissing);
    Ok(())
}

#[tokio::test]
async fn a_dropped_connection_resumes_where_it_stopped() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let e = expected(&seed, "main", "weights.bin");
    hub.faults().drop_after_bytes(100_000);
    let opts = options(cache.path());
    let path = client(&hub)?.hf_hub_download(&tiny()?, "weights.bin", &opts).await?;
    assert_eq!(sha256_of(&path), e.sha256);
    let served: u64 = lfs_bytes_served(&hub);
    assert!(served >= e.size, "{served}");
    assert!(served - e.size < opts.transfer.chunk_size, "bytes fetched twice: {}", served - e.size);
    Ok(())
}

#[tokio::test]
async fn errors_then_success_are_retried() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let client = client(&hub)?;
    hub.faults().fail_next_on(HostScope::Cdn, 2, 503, None);
    let path = client.hf_hub_download(&tiny()?, "weights.bin", &options(cache.path())).await?;
    assert_eq!(sha256_of(&path), expected(&seed, "main", "weights.bin").sha256);
    let cache = tempfile::tempdir()?;
    hub.faults().fail_next_on(HostScope::Any, 2, 429, Some(0));
    let path = client.hf_hub_download(&tiny()?, "weights.bin", &options(cache.path())).await?;
    assert_eq!(sha256_of(&path), expected(&seed, "main", "weights.bin").sha256);
    Ok(())
}

#[tokio::test]
async fn a_corrupted_byte_never_enters_the_cache() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let client = client(&hub)?;
    hub.faults().corrupt_offset(1_000_000);
    let err =
        client.hf_hub_download(&tiny()?, "weights.bin", &options(cache.path())).await.unwrap_err();
    assert!(matches!(err, Error::Cache(hub_cache::Error::HashMismatch { .. })), "{err}");
    assert_eq!(blob_dir_entries(cache.path()), Vec::<String>::new(), "no blob, no temp file");
    let snapshot = cache.path().join("models--acme--tiny-model/snapshots");
    assert!(std::fs::read_dir(&snapshot)?.next().is_none(), "no snapshot entry");

    // A regular file is checked against its git blob id.
    hub.faults().corrupt_offset(3);
    let err =
        client.hf_hub_download(&tiny()?, "config.json", &options(cache.path())).await.unwrap_err();
    assert!(matches!(err, Error::Cache(hub_cache::Error::HashMismatch { .. })), "{err}");

    // The faults were one-shot: a clean retry succeeds.
    let path = client.hf_hub_download(&tiny()?, "weights.bin", &options(cache.path())).await?;
    assert_eq!(sha256_of(&path), expected(&seed, "main", "weights.bin").sha256);
    Ok(())
}

#[test]
fn eight_downloaders_at_once_make_one_blob_and_one_download() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let e = expected(&seed, "main", "weights.bin");
    hub.faults().throttle(Some(4 << 20));
    let endpoint = hub.endpoint().to_owned();
    let paths: Vec<anyhow::Result<PathBuf>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (endpoint, cache) = (endpoint.clone(), cache.path().to_path_buf());
                s.spawn(move || -> anyhow::Result<PathBuf> {
                    let runtime =
                        tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                    runtime.block_on(async {
                        let client = HubClient::builder(Endpoint::new(&endpoint)?)
                            .retry(fast_retry())
                            .build()?;
                        Ok(client
                            .hf_hub_download(&tiny()?, "weights.bin", &options(&cache))
                            .await?)
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("panicked"))))
            .collect()
    });
    for path in paths {
        assert_eq!(sha256_of(&path?), e.sha256);
    }
    assert_eq!(blob_dir_entries(cache.path()), vec![e.sha256.clone()]);
    let served: u64 = lfs_bytes_served(&hub);
    assert_eq!(served, e.size, "one download for eight callers");
    Ok(())
}

#[tokio::test]
async fn the_token_goes_to_the_hub_and_never_to_the_cdn() -> anyhow::Result<()> {
    let (hub, _seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let client = builder(&hub)?.token(Some(Token::new(seed::ALICE)?)).build()?;
    let path = client
        .hf_hub_download(&"acme/private-model".parse()?, "weights.bin", &options(cache.path()))
        .await?;
    assert!(path.is_file());
    let stats = hub.stats();
    assert_eq!(stats.auth_leaks, 0);
    assert!(stats.requests.get("cdn-get").copied().unwrap_or(0) > 0);
    assert!(
        stats.log.iter().any(|l| l.path.contains("/resolve/") && l.authorization),
        "the hub got the token"
    );
    Ok(())
}

#[tokio::test]
async fn hostile_names_are_refused_before_touching_disk() -> anyhow::Result<()> {
    let (hub, _seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let client = client(&hub)?;
    for name in ["../escape.txt", "a/../../b", "/etc/passwd", "C:\\x", ""] {
        let err = client.hf_hub_download(&tiny()?, name, &options(cache.path())).await.unwrap_err();
        assert!(matches!(err, Error::Url(hub_url::Error::Path(_))), "{name}: {err}");
    }
    assert_eq!(requests(&hub), 0);
    hub.faults().override_header("resolve", "x-repo-commit", "../../../../../tmp/evil");
    let err =
        client.hf_hub_download(&tiny()?, "config.json", &options(cache.path())).await.unwrap_err();
    assert!(
        matches!(&err, Error::NotCached { source, .. }
            if matches!(**source, Error::Cache(hub_cache::Error::InvalidCommit { .. }))),
        "{err}"
    );
    hub.faults().clear();
    hub.faults().override_header("resolve", "etag", "\"../../blobs/x\"");
    let err =
        client.hf_hub_download(&tiny()?, "config.json", &options(cache.path())).await.unwrap_err();
    assert!(
        matches!(&err, Error::NotCached { source, .. }
            if matches!(**source, Error::Cache(hub_cache::Error::InvalidEtag { .. }))),
        "{err}"
    );
    let made: Vec<_> = walk(cache.path());
    assert!(made.iter().all(|p| !p.ends_with("evil")), "{made:?}");
    Ok(())
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            }
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn a_partial_file_left_by_a_dead_process_is_resumed() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let e = expected(&seed, "main", "weights.bin");
    let content = std::fs::read(
        client(&hub)?
            .hf_hub_download(&tiny()?, "weights.bin", &options(tempfile::tempdir()?.path()))
            .await?,
    )
    .unwrap_or_default();
    // A "dead process": 1 MiB written and recorded, then gone without committing.
    let repo = CacheDir::new(cache.path().to_path_buf()).repo(&tiny()?);
    let etag = Etag::new(&e.sha256)?;
    let BlobStart::Write(writer) = repo.begin_blob(&etag, e.size)? else { panic!("no blob yet") };
    writer.write_at(0, &content[..1 << 20])?;
    writer.record_progress(1 << 20)?;
    drop(writer);
    hub.reset();
    let path =
        client(&hub)?.hf_hub_download(&tiny()?, "weights.bin", &options(cache.path())).await?;
    assert_eq!(sha256_of(&path), e.sha256);
    let served: u64 = lfs_bytes_served(&hub);
    assert_eq!(served, e.size - (1 << 20), "only the missing bytes were fetched");
    assert_eq!(
        blob_dir_entries(cache.path()),
        vec![e.sha256.clone()],
        "the partial file was adopted"
    );
    Ok(())
}

#[tokio::test]
async fn force_download_fetches_again() -> anyhow::Result<()> {
    let (hub, _seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let client = client(&hub)?;
    client.hf_hub_download(&tiny()?, "weights.bin", &options(cache.path())).await?;
    let before = cdn_gets(&hub);
    client
        .hf_hub_download(&tiny()?, "weights.bin", &options(cache.path()).with_force_download(true))
        .await?;
    assert!(cdn_gets(&hub) > before);
    let err = client
        .hf_hub_download(
            &tiny()?,
            "weights.bin",
            &options(cache.path()).with_force_download(true).with_local_files_only(true),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ConflictingOptions { .. }), "{err}");
    Ok(())
}

#[tokio::test]
async fn local_dir_gets_plain_files_and_reruns_skip_them() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let local = tempfile::tempdir()?;
    let client = client(&hub)?;
    let e = expected(&seed, "main", "weights.bin");
    let opts = options(cache.path()).with_local_dir(local.path());
    let path = client.hf_hub_download(&tiny()?, "weights.bin", &opts).await?;
    assert_eq!(path, local.path().join("weights.bin"));
    assert!(!std::fs::symlink_metadata(&path)?.file_type().is_symlink());
    assert_eq!(sha256_of(&path), e.sha256);
    let metadata = std::fs::read_to_string(
        local.path().join(".cache/huggingface/download/weights.bin.metadata"),
    )?;
    let lines: Vec<&str> = metadata.lines().collect();
    assert_eq!(lines[..2], [e.commit.as_str(), e.sha256.as_str()]);
    assert!(lines[2].parse::<f64>().is_ok());
    assert_eq!(std::fs::read_to_string(local.path().join(".cache/huggingface/.gitignore"))?, "*");
    assert!(
        !cache.path().join("models--acme--tiny-model").exists(),
        "local_dir does not fill the cache"
    );

    let before = cdn_gets(&hub);
    client.hf_hub_download(&tiny()?, "weights.bin", &opts).await?;
    assert_eq!(cdn_gets(&hub), before, "an unchanged file is not fetched again");

    // A file edited by hand is replaced.
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(&path, b"edited")?;
    client.hf_hub_download(&tiny()?, "weights.bin", &opts).await?;
    assert_eq!(sha256_of(&path), e.sha256);

    // Metadata lost but the content is right: hashed, not fetched.
    std::fs::remove_file(local.path().join(".cache/huggingface/download/weights.bin.metadata"))?;
    let before = cdn_gets(&hub);
    client.hf_hub_download(&tiny()?, "weights.bin", &opts).await?;
    assert_eq!(cdn_gets(&hub), before);

    // Offline, the local file is used.
    let offline = builder(&hub)?.offline(true).build()?;
    assert_eq!(offline.hf_hub_download(&tiny()?, "weights.bin", &opts).await?, path);
    let nested = client.hf_hub_download(&tiny()?, "nested/deep/file.txt", &opts).await?;
    assert_eq!(nested, local.path().join("nested/deep/file.txt"));
    Ok(())
}

#[tokio::test]
async fn a_server_that_ignores_range_still_gives_a_correct_file() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let e = expected(&seed, "main", "weights.bin");
    hub.faults().ignore_range(true);
    let cache = tempfile::tempdir()?;
    let path =
        client(&hub)?.hf_hub_download(&tiny()?, "weights.bin", &options(cache.path())).await?;
    assert_eq!(sha256_of(&path), e.sha256);
    let gets: Vec<_> =
        hub.stats().log.into_iter().filter(|l| l.path.starts_with("/lfs/")).collect();
    assert_eq!(gets.len(), 1, "one whole-body GET once the server showed it ignores ranges");
    assert_eq!(gets[0].status, 200);

    // Resuming an adopted partial file against such a server starts again from 0, correctly.
    let cache = tempfile::tempdir()?;
    let repo = CacheDir::new(cache.path().to_path_buf()).repo(&tiny()?);
    let BlobStart::Write(writer) = repo.begin_blob(&Etag::new(&e.sha256)?, e.size)? else {
        panic!("no blob yet")
    };
    writer.write_at(0, &vec![0u8; 1 << 20])?; // wrong bytes: must be overwritten
    writer.record_progress(1 << 20)?;
    drop(writer);
    let path =
        client(&hub)?.hf_hub_download(&tiny()?, "weights.bin", &options(cache.path())).await?;
    assert_eq!(sha256_of(&path), e.sha256);
    Ok(())
}

#[derive(Default)]
struct Counted {
    started: std::sync::Mutex<Vec<(String, u64, u64)>>,
    bytes: std::sync::atomic::AtomicU64,
    finished: std::sync::Mutex<Vec<String>>,
}

impl hub_api::Progress for Counted {
    fn start(&self, file: &str, size: u64, done: u64) {
        self.started.lock().expect("lock").push((file.to_owned(), size, done));
    }
    fn advance(&self, _file: &str, bytes: u64) {
        self.bytes.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
    }
    fn finish(&self, file: &str) {
        self.finished.lock().expect("lock").push(file.to_owned());
    }
}

#[tokio::test]
async fn progress_reports_exact_byte_counts() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let e = expected(&seed, "main", "weights.bin");
    let counted = std::sync::Arc::new(Counted::default());
    hub.faults().drop_after_bytes(300_000);
    let opts = options(cache.path()).with_progress(counted.clone());
    client(&hub)?.hf_hub_download(&tiny()?, "weights.bin", &opts).await?;
    assert_eq!(*counted.started.lock().expect("lock"), vec![("weights.bin".to_owned(), e.size, 0)]);
    assert_eq!(
        counted.bytes.load(std::sync::atomic::Ordering::Relaxed),
        e.size,
        "every byte counted once, even across a resumed range"
    );
    assert_eq!(*counted.finished.lock().expect("lock"), vec!["weights.bin".to_owned()]);
    Ok(())
}

#[tokio::test]
async fn scattered_ranges_left_by_a_dead_process_are_kept() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let e = expected(&seed, "main", "weights.bin");
    let scratch = tempfile::tempdir()?;
    let good =
        client(&hub)?.hf_hub_download(&tiny()?, "weights.bin", &options(scratch.path())).await?;
    let content = std::fs::read(good)?;
    // A "dead process" that had finished two ranges in the middle of the file, not the start.
    let cache = tempfile::tempdir()?;
    let repo = CacheDir::new(cache.path().to_path_buf()).repo(&tiny()?);
    let BlobStart::Write(writer) = repo.begin_blob(&Etag::new(&e.sha256)?, e.size)? else {
        panic!("no blob yet")
    };
    let ranges = [(262_144u64, 786_432u64), (1_048_576, 1_310_720)];
    for (a, b) in ranges {
        writer.write_at(a, &content[a as usize..b as usize])?;
    }
    writer.record_ranges(&ranges)?;
    drop(writer);
    hub.reset();
    let path =
        client(&hub)?.hf_hub_download(&tiny()?, "weights.bin", &options(cache.path())).await?;
    assert_eq!(sha256_of(&path), e.sha256);
    let served: u64 = lfs_bytes_served(&hub);
    let kept: u64 = ranges.iter().map(|(a, b)| b - a).sum();
    assert_eq!(served, e.size - kept, "only the gaps were fetched");
    Ok(())
}
