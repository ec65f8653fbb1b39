//! `snapshot_download`, `cached_download` and the blocking facade against the TestHub.

use std::path::Path;

use hub_api::blocking::BlockingClient;
use hub_api::{Error, HubClient, InfoOptions, SnapshotOptions};
use hub_cache::{CacheDir, legacy_file_name, legacy_url_of};
use hub_tests::{RepoType, SeedManifest, TestHub};
use hub_url::{Endpoint, Repo};
use sha2::Digest;

use crate::download::{cdn_gets, fast_retry};
use crate::support::seeded;

fn client(hub: &TestHub) -> anyhow::Result<HubClient> {
    Ok(HubClient::builder(Endpoint::new(hub.endpoint())?).retry(fast_retry()).build()?)
}

fn options(cache: &Path) -> hub_api::DownloadOptions {
    hub_api::DownloadOptions::new(CacheDir::new(cache.to_path_buf()))
}

fn tiny() -> anyhow::Result<Repo> {
    Ok("acme/tiny-model".parse()?)
}

fn files_at(seed: &SeedManifest, revision: &str) -> Vec<(String, String)> {
    let repo = seed.repo(RepoType::Model, "acme/tiny-model").expect("seeded");
    repo.revisions[revision].files.iter().map(|(k, v)| (k.clone(), v.sha256.clone())).collect()
}

fn sha256_of(path: &Path) -> anyhow::Result<String> {
    let data = std::fs::read(path)?;
    Ok(sha2::Sha256::digest(&data).iter().map(|b| format!("{b:02x}")).collect())
}

#[tokio::test]
async fn a_snapshot_has_every_file_and_is_served_offline_afterwards() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let client = client(&hub)?;
    let folder =
        client.snapshot_download(&tiny()?, &options(cache.path()), &Default::default()).await?;
    let commit =
        &seed.repo(RepoType::Model, "acme/tiny-model").expect("seeded").revisions["main"].commit;
    assert_eq!(folder, cache.path().join("models--acme--tiny-model/snapshots").join(commit));
    let expected = files_at(&seed, "main");
    for (file, sha) in &expected {
        assert_eq!(&sha256_of(&folder.join(file))?, sha, "{file}");
    }
    assert!(!folder.join("dev-only.txt").exists(), "a file of another branch");

    let gets = cdn_gets(&hub);
    let again =
        client.snapshot_download(&tiny()?, &options(cache.path()), &Default::default()).await?;
    assert_eq!(again, folder);
    assert_eq!(cdn_gets(&hub), gets, "a cached snapshot downloads nothing");

    hub.reset();
    let offline = HubClient::builder(Endpoint::new(hub.endpoint())?).offline(true).build()?;
    assert_eq!(
        offline.snapshot_download(&tiny()?, &options(cache.path()), &Default::default()).await?,
        folder
    );
    let err = offline
        .snapshot_download(
            &"acme/tiny-model".parse()?,
            &options(cache.path()).with_revision("dev".parse()?),
            &Default::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotCached { .. }), "{err}");
    assert_eq!(hub.stats().requests.values().sum::<u64>(), 0);
    Ok(())
}

#[tokio::test]
async fn patterns_choose_the_files() -> anyhow::Result<()> {
    let (hub, _seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let only = SnapshotOptions::default()
        .with_allow_patterns(["*.json", "nested/", "*.txt"])
        .with_ignore_patterns(["unicode/*"])
        .with_max_workers(2);
    let folder = client(&hub)?.snapshot_download(&tiny()?, &options(cache.path()), &only).await?;
    assert!(folder.join("config.json").is_file());
    assert!(folder.join("nested/deep/file.txt").is_file());
    assert!(!folder.join("weights.bin").exists());
    assert!(!folder.join("README.md").exists());
    assert!(!folder.join("unicode").exists());
    assert_eq!(cdn_gets(&hub), 0, "no LFS file was fetched");
    Ok(())
}

#[tokio::test]
async fn a_snapshot_into_a_local_dir_and_other_repo_types() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let local = tempfile::tempdir()?;
    let opts = options(cache.path()).with_local_dir(local.path()).with_revision("v1.0".parse()?);
    let folder = client(&hub)?.snapshot_download(&tiny()?, &opts, &Default::default()).await?;
    assert_eq!(folder, local.path());
    for (file, sha) in files_at(&seed, "v1.0") {
        assert_eq!(sha256_of(&local.path().join(&file))?, sha, "{file}");
        assert!(
            local
                .path()
                .join(".cache/huggingface/download")
                .join(format!("{file}.metadata"))
                .is_file()
        );
    }
    let dataset = client(&hub)?
        .snapshot_download(
            &"datasets/acme/tiny-dataset".parse()?,
            &options(cache.path()),
            &Default::default(),
        )
        .await?;
    assert!(dataset.starts_with(cache.path().join("datasets--acme--tiny-dataset/snapshots")));
    assert!(dataset.join("weights.bin").is_file());
    let err = client(&hub)?
        .snapshot_download(
            &tiny()?,
            &options(cache.path()).with_revision("no-such-branch".parse()?),
            &Default::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Hub(hub_api::HubError::RevisionNotFound { .. })), "{err}");
    Ok(())
}

#[tokio::test]
async fn cached_download_uses_the_seed_flat_layout() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let client = client(&hub)?;
    let main = &seed.repo(RepoType::Model, "acme/tiny-model").expect("seeded").revisions["main"];
    let url = format!("{}/acme/tiny-model/resolve/main/config.json", hub.endpoint());
    let path = client.cached_download(&url, &options(cache.path())).await?;
    let raw_etag = format!("\"{}\"", main.files["config.json"].git_oid);
    assert_eq!(path, cache.path().join(legacy_file_name(&url, Some(&raw_etag))));
    assert_eq!(legacy_url_of(&path), Some((url.clone(), Some(raw_etag))), "the .json sidecar");
    assert_eq!(sha256_of(&path)?, main.files["config.json"].sha256);

    let lfs_url = format!("{}/acme/tiny-model/resolve/main/weights.bin", hub.endpoint());
    let lfs = client.cached_download(&lfs_url, &options(cache.path())).await?;
    assert_eq!(sha256_of(&lfs)?, main.files["weights.bin"].sha256);
    let gets = cdn_gets(&hub);
    assert_eq!(client.cached_download(&lfs_url, &options(cache.path())).await?, lfs);
    assert_eq!(cdn_gets(&hub), gets, "cached: no download");

    let offline = HubClient::builder(Endpoint::new(hub.endpoint())?).offline(true).build()?;
    assert_eq!(offline.cached_download(&lfs_url, &options(cache.path())).await?, lfs);
    let names: Vec<String> = std::fs::read_dir(cache.path())?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".incomplete")), "{names:?}");
    let err = offline
        .cached_download(&format!("{}/x/y/resolve/main/z", hub.endpoint()), &options(cache.path()))
        .await;
    assert!(matches!(err, Err(Error::NotCached { .. })));
    Ok(())
}

#[tokio::test(flavor = "current_thread")]
async fn the_blocking_client_works_inside_an_async_runtime() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let blocking = BlockingClient::new(client(&hub)?)?;
    let path = blocking.hf_hub_download(&tiny()?, "weights.bin", &options(cache.path()))?;
    let main = &seed.repo(RepoType::Model, "acme/tiny-model").expect("seeded").revisions["main"];
    assert_eq!(sha256_of(&path)?, main.files["weights.bin"].sha256);
    let info = blocking.repo_info(&tiny()?, &InfoOptions::default().with_files_metadata(true))?;
    assert_eq!(info.sha.as_deref(), Some(main.commit.as_str()));
    drop(blocking);
    Ok(())
}

#[test]
fn the_blocking_client_works_from_plain_threads() -> anyhow::Result<()> {
    let (hub, _seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let blocking = BlockingClient::new(client(&hub)?)?;
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                let folder = blocking.snapshot_download(
                    &"acme/tiny-model".parse().expect("id"),
                    &options(cache.path()),
                    &Default::default(),
                );
                assert!(folder.expect("snapshot").join("config.json").is_file());
            });
        }
    });
    Ok(())
}

#[tokio::test]
async fn offline_a_partial_snapshot_is_refused_when_the_listing_says_so() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let only_json = SnapshotOptions::default().with_allow_patterns(["*.json"]);
    client(&hub)?.snapshot_download(&tiny()?, &options(cache.path()), &only_json).await?;
    let commit =
        &seed.repo(RepoType::Model, "acme/tiny-model").expect("seeded").revisions["main"].commit;
    let listing =
        cache.path().join("models--acme--tiny-model/trees").join(format!("{commit}.json"));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&listing)?)?;
    assert_eq!(doc["format_version"], 1);
    assert!(doc["files"]["weights.bin"]["lfs_sha256"].is_string(), "{doc}");

    let offline = HubClient::builder(Endpoint::new(hub.endpoint())?).offline(true).build()?;
    let err = offline
        .snapshot_download(&tiny()?, &options(cache.path()), &Default::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::IncompleteSnapshot { .. }), "{err}");
    let folder = offline.snapshot_download(&tiny()?, &options(cache.path()), &only_json).await?;
    assert!(folder.join("config.json").is_file(), "what was asked for is complete");
    Ok(())
}
