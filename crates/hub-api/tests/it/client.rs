//! `hub-api`'s transport against the TestHub: metadata, redirects, typed errors, retries,
//! offline mode, the user agent, and the token never leaving the endpoint's origin.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hub_api::{
    Error, HubClient, HubError, HubRequest, Retry, RetryConfig, RetryNotice, RetryReason, Token,
};
use hub_tests::{HostScope, RepoType, TestHub, seed};
use hub_url::{Endpoint, Repo, RepoPath, Revision};

use crate::support::seeded;

fn client(hub: &TestHub, token: Option<&str>) -> anyhow::Result<HubClient> {
    let fast = RetryConfig::default()
        .with_max_retries(3)
        .with_initial_backoff(Duration::from_millis(10))
        .with_max_backoff(Duration::from_millis(50));
    Ok(HubClient::builder(Endpoint::new(hub.endpoint())?)
        .token(token.map(Token::new).transpose()?)
        .library("mylib", "1.2.3")
        .retry(fast)
        .build()?)
}

fn tiny() -> anyhow::Result<Repo> {
    Ok("acme/tiny-model".parse()?)
}

fn rev(r: &str) -> anyhow::Result<Revision> {
    Ok(r.parse()?)
}

fn path(p: &str) -> anyhow::Result<RepoPath> {
    Ok(p.parse()?)
}

#[tokio::test]
async fn metadata_of_regular_and_lfs_files_follows_the_seed() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let manifest = seed.repo(RepoType::Model, "acme/tiny-model").expect("seeded");
    let client = client(&hub, None)?;
    for revision in ["main", "v1.0", "refs/pr/1", "dev"] {
        let expected = &manifest.revisions[revision];
        let config = client.file_metadata(&tiny()?, &rev(revision)?, &path("config.json")?).await?;
        assert_eq!(config.commit.as_str(), expected.commit, "{revision}");
        assert_eq!(config.etag.as_str(), expected.files["config.json"].git_oid);
        assert_eq!(config.size, Some(expected.files["config.json"].size));
        assert!(config.is_on_hub(&client), "a regular file is served by the hub");

        let weights =
            client.file_metadata(&tiny()?, &rev(revision)?, &path("weights.bin")?).await?;
        assert_eq!(
            weights.etag.as_str(),
            expected.files["weights.bin"].sha256,
            "LFS etag is the sha256"
        );
        assert!(weights.etag.is_sha256());
        assert_eq!(weights.size, Some(expected.files["weights.bin"].size));
        assert!(weights.location.starts_with(hub.cdn_url()), "{}", weights.location);
        assert!(!weights.is_on_hub(&client));
    }
    let unicode =
        client.file_metadata(&tiny()?, &rev("main")?, &path("unicode/café ü ñ.txt")?).await?;
    assert_eq!(
        unicode.etag.as_str(),
        manifest.revisions["main"].files["unicode/café ü ñ.txt"].git_oid
    );
    Ok(())
}

#[tokio::test]
async fn a_renamed_repo_is_followed_within_the_hub() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let client = client(&hub, None)?;
    let old: Repo = "acme/old-tiny-model".parse()?;
    let meta = client.file_metadata(&old, &rev("main")?, &path("config.json")?).await?;
    let expected =
        &seed.repo(RepoType::Model, "acme/tiny-model").expect("seeded").revisions["main"];
    assert_eq!(meta.commit.as_str(), expected.commit);
    assert!(meta.location.contains("/acme/tiny-model/resolve/"), "{}", meta.location);
    let log = hub.stats().log;
    assert!(log.iter().any(|e| e.status == 307), "the hub answered with a redirect");
    Ok(())
}

/// A client, a repo, a revision, a file, and a check of the error it must get.
type Case<'a> = (&'a HubClient, &'a Repo, &'a Revision, &'a RepoPath, fn(&Error) -> bool);

#[tokio::test]
async fn error_answers_become_typed_errors() -> anyhow::Result<()> {
    let (hub, _seed) = seeded()?;
    let anonymous = client(&hub, None)?;
    let bob = client(&hub, Some(seed::BOB))?;
    let carol = client(&hub, Some(seed::CAROL))?;
    let main = rev("main")?;
    let config = path("config.json")?;

    let missing: Repo = "acme/does-not-exist".parse()?;
    let private: Repo = "acme/private-model".parse()?;
    let gated: Repo = "acme/gated-model".parse()?;
    let cases: [Case<'_>; 6] = [
        (&anonymous, &missing, &main, &config, |e| {
            matches!(e, Error::Hub(HubError::RepositoryNotFound { .. }))
        }),
        (&bob, &private, &main, &config, |e| {
            matches!(e, Error::Hub(HubError::RepositoryNotFound { .. }))
        }),
        (&anonymous, &gated, &main, &config, |e| {
            matches!(e, Error::Hub(HubError::GatedRepo { .. }))
        }),
        (&bob, &gated, &main, &config, |e| matches!(e, Error::Hub(HubError::GatedRepo { .. }))),
        (&anonymous, &tiny()?, &main, &path("nope.txt")?, |e| {
            matches!(e, Error::Hub(HubError::EntryNotFound { commit: Some(_), .. }))
        }),
        (&anonymous, &tiny()?, &rev("no-such-branch")?, &config, |e| {
            matches!(e, Error::Hub(HubError::RevisionNotFound { .. }))
        }),
    ];
    for (client, repo, revision, file, is_expected) in cases {
        let err = client.file_metadata(repo, revision, file).await.expect_err("an error");
        assert!(is_expected(&err), "{repo} {revision} {file}: {err}");
        assert!(err.to_string().contains("request id"), "the request id is shown: {err}");
    }
    let ok = carol.file_metadata(&gated, &main, &config).await?;
    assert_eq!(ok.etag.as_str().len(), 40);

    let invalid = client(&hub, Some("hf_not_a_real_token"))?;
    let err = invalid.file_metadata(&tiny()?, &main, &config).await.expect_err("refused");
    assert!(matches!(err, Error::Hub(HubError::Unauthorized { .. })), "{err}");
    Ok(())
}

#[tokio::test]
async fn the_token_goes_to_the_hub_and_never_to_the_cdn() -> anyhow::Result<()> {
    let (hub, _seed) = seeded()?;
    let alice = client(&hub, Some(seed::ALICE))?;
    let shown = format!("{alice:?}");
    assert!(!shown.contains(seed::ALICE) && shown.contains("***"), "{shown}");
    let meta = alice.file_metadata(&tiny()?, &rev("main")?, &path("weights.bin")?).await?;
    assert!(!alice.sends_token_to(&meta.location));
    let (parts, body) = alice.send_and_read(&HubRequest::get(meta.location.clone())).await?;
    assert_eq!(parts.status, 200);
    assert_eq!(body.len() as u64, meta.size.unwrap_or_default());
    let stats = hub.stats();
    assert_eq!(stats.auth_leaks, 0);
    assert!(stats.log.iter().filter(|e| e.path.contains("/resolve/")).all(|e| e.authorization));
    assert!(
        stats.log.iter().all(|e| e.user_agent.starts_with("mylib/1.2.3; hub-api/")),
        "{:?}",
        stats.log[0].user_agent
    );
    assert!(stats.log[0].user_agent.contains("; rust/"));
    Ok(())
}

#[tokio::test]
async fn transient_errors_are_retried_and_offline_sends_nothing() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let client = client(&hub, None)?;
    hub.faults().fail_next(2, 503, None);
    let meta = client.file_metadata(&tiny()?, &rev("main")?, &path("config.json")?).await?;
    let expected =
        &seed.repo(RepoType::Model, "acme/tiny-model").expect("seeded").revisions["main"];
    assert_eq!(meta.commit.as_str(), expected.commit);
    assert_eq!(hub.stats().log.iter().filter(|e| e.path.contains("/resolve/")).count(), 3);

    hub.reset();
    hub.faults().fail_next(1, 429, Some(0));
    client.file_metadata(&tiny()?, &rev("main")?, &path("config.json")?).await?;
    assert_eq!(hub.stats().log.iter().map(|e| e.status).collect::<Vec<_>>(), [429, 200]);

    hub.reset();
    hub.faults().fail_next(10, 503, None);
    let err = client
        .file_metadata(&tiny()?, &rev("main")?, &path("config.json")?)
        .await
        .expect_err("gives up");
    let Error::RetriesExhausted { attempts: 4, source, .. } = &err else { panic!("{err:?}") };
    assert!(matches!(**source, Error::Hub(HubError::Http { status: 503, .. })), "{source}");
    assert!(err.to_string().starts_with("gave up after 4 attempts in "), "{err}");
    assert_eq!(hub.stats().log.len(), 4, "1 attempt + 3 retries");

    hub.reset();
    hub.faults().clear();
    let offline = HubClient::builder(Endpoint::new(hub.endpoint())?).offline(true).build()?;
    let err = offline
        .file_metadata(&tiny()?, &rev("main")?, &path("config.json")?)
        .await
        .expect_err("offline");
    assert!(matches!(err, Error::Offline { .. }), "{err}");
    assert!(err.to_string().contains("HF_HUB_OFFLINE"));
    assert!(hub.stats().log.is_empty(), "nothing reached the hub");
    Ok(())
}

#[test]
fn tokens_are_secret_and_checked() {
    let token = Token::new("  hf_secret123\n").expect("trimmed");
    assert_eq!(token.expose_secret(), "hf_secret123");
    assert_eq!(format!("{token:?}"), "Token(***)");
    assert!(matches!(Token::new(""), Err(Error::InvalidToken)));
    assert!(matches!(Token::new("hf_a\nb"), Err(Error::InvalidToken)));
    assert!(matches!(Token::new("hf_\u{7f}x"), Err(Error::InvalidToken)));
}

/// A client that records the retries it tells.
fn recording(hub: &TestHub) -> anyhow::Result<(HubClient, Arc<Mutex<Vec<RetryNotice>>>)> {
    let notices = Arc::new(Mutex::new(Vec::new()));
    let seen = notices.clone();
    let client = HubClient::builder(Endpoint::new(hub.endpoint())?)
        .retry(RetryConfig::default().with_max_retries(3).with_seed(1))
        .on_retry(Arc::new(move |n: &RetryNotice| {
            if let Ok(mut seen) = seen.lock() {
                seen.push(n.clone());
            }
        }))
        .build()?;
    Ok((client, notices))
}

#[tokio::test]
async fn each_retry_is_told_with_its_reason_and_count() -> anyhow::Result<()> {
    let (hub, _seed) = seeded()?;
    let (client, notices) = recording(&hub)?;
    hub.faults().fail_next(2, 503, Some(0));
    client.file_metadata(&tiny()?, &rev("main")?, &path("config.json")?).await?;
    let notices = notices.lock().unwrap().clone();
    let told: Vec<String> = notices.iter().map(ToString::to_string).collect();
    assert_eq!(
        told,
        [
            "retrying in 0 ms (HTTP 503, attempt 1 of 3)",
            "retrying in 0 ms (HTTP 503, attempt 2 of 3)"
        ]
    );
    assert!(notices.iter().all(|n| n.url.ends_with("/acme/tiny-model/resolve/main/config.json")));
    Ok(())
}

#[tokio::test]
async fn a_near_rate_limit_reset_is_waited_for_by_every_request() -> anyhow::Result<()> {
    let (hub, _seed) = seeded()?;
    let (client, notices) = recording(&hub)?;
    hub.faults().fail_next(1, 429, None);
    hub.faults().override_header("injected-failure", "ratelimit", r#""api";r=0;t=2"#);
    let url = format!("{}/api/models/acme/tiny-model", hub.endpoint());
    // Sent once, not retried: the 429 comes back, and closes the gate for everyone.
    let once = client.send(&HubRequest::get(url.clone()).with_retry(Retry::Never)).await?;
    assert_eq!(once.status(), 429);
    let started = Instant::now();
    let clone = client.clone();
    let (never, retried) =
        (HubRequest::get(url.clone()).with_retry(Retry::Never), HubRequest::get(url.clone()));
    let (a, b) = tokio::join!(clone.send_and_read(&never), client.send_and_read(&retried));
    let waited = started.elapsed();
    assert_eq!((a?.0.status.as_u16(), b?.0.status.as_u16()), (200, 200));
    assert!(waited >= Duration::from_millis(1900), "both waited for the reset: {waited:?}");
    assert!(waited < Duration::from_secs(4), "{waited:?}");
    let statuses: Vec<u16> = hub.stats().log.iter().map(|e| e.status).collect();
    assert_eq!(statuses, [429, 200, 200], "nothing was sent before the reset");
    let notices = notices.lock().unwrap().clone();
    assert_eq!(notices.len(), 1, "one line for all the waiting requests: {notices:?}");
    assert!(matches!(notices[0].reason, RetryReason::RateLimited { .. }));
    assert!(notices[0].to_string().starts_with("waiting 2 s for the Hub's rate limit (resets at "));
    Ok(())
}

#[tokio::test]
async fn a_far_rate_limit_reset_fails_at_once_with_the_reset_time() -> anyhow::Result<()> {
    let (hub, _seed) = seeded()?;
    let (client, notices) = recording(&hub)?;
    hub.faults().fail_next(5, 429, Some(3600));
    let started = Instant::now();
    let err = client
        .file_metadata(&tiny()?, &rev("main")?, &path("config.json")?)
        .await
        .expect_err("rate limited");
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    let Error::RateLimited { reset_in, .. } = &err else { panic!("{err:?}") };
    assert!(*reset_in > Duration::from_secs(3500), "{reset_in:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("rate limited by the Hub: the limit resets in 1 h 0 min (at "),
        "{text}"
    );
    assert!(text.contains("log in"), "{text}");
    assert!(notices.lock().unwrap().is_empty(), "no retry");
    // The gate stays closed: the next request is not even sent.
    let again = client.file_metadata(&tiny()?, &rev("main")?, &path("config.json")?).await;
    assert!(matches!(again, Err(Error::RateLimited { .. })), "{again:?}");
    assert_eq!(hub.stats().log.len(), 1, "one request reached the hub");
    Ok(())
}

#[tokio::test]
async fn a_storage_refusal_speaks_neither_of_tokens_nor_of_the_signature() -> anyhow::Result<()> {
    let (hub, _seed) = seeded()?;
    let alice = client(&hub, Some(seed::ALICE))?;
    let meta = alice.file_metadata(&tiny()?, &rev("main")?, &path("weights.bin")?).await?;
    assert!(meta.location.contains('?'), "a signed link: {}", meta.location);
    hub.faults().fail_next_on(HostScope::Cdn, 1, 403, None);
    let started = Instant::now();
    let err = alice.send_and_read(&HubRequest::get(meta.location.clone())).await.expect_err("403");
    assert!(started.elapsed() < Duration::from_secs(1), "a 403 is not retried");
    assert!(
        matches!(&err, Error::Hub(HubError::StorageRefused { status: 403, url, .. }) if *url == meta.location)
    );
    let text = err.to_string();
    let (base, query) = meta.location.split_once('?').expect("a query");
    assert!(text.contains(base) && !text.contains(query), "{text}");
    assert!(!text.to_lowercase().contains("token"), "{text}");
    assert!(text.contains("storage server refused"), "{text}");
    Ok(())
}

#[tokio::test]
async fn with_the_hub_gone_cached_files_are_served_at_once() -> anyhow::Result<()> {
    let (hub, _seed) = seeded()?;
    let cache = tempfile::tempdir()?;
    let options = hub_api::DownloadOptions::new(hub_cache::CacheDir::new(cache.path().into()));
    let client = client(&hub, None)?;
    let file = client.hf_hub_download(&tiny()?, "config.json", &options).await?;
    let url = format!("{}/acme/tiny-model/resolve/main/config.json", hub.endpoint());
    let legacy = client.cached_download(&url, &options).await?;
    drop(hub); // nothing listens on the endpoint's port any more
    let started = Instant::now();
    assert_eq!(client.hf_hub_download(&tiny()?, "config.json", &options).await?, file);
    assert_eq!(client.cached_download(&url, &options).await?, legacy);
    assert!(started.elapsed() < Duration::from_secs(1), "no retries: {:?}", started.elapsed());
    let err = client.hf_hub_download(&tiny()?, "tokenizer.json", &options).await.expect_err("gone");
    let Error::NotCached { source, .. } = &err else { panic!("{err:?}") };
    assert!(matches!(**source, Error::Unreachable { .. }), "{source:?}");
    Ok(())
}
