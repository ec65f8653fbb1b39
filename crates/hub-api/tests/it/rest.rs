//! The REST client of `hub-api` against a seeded TestHub: identity, repo create / delete /
//! move / settings, existence checks, listings (filters and lazy pagination), the tree, refs,
//! commits, branches and tags, and which requests are retried. What is asserted is behaviour a
//! caller relies on: typed errors, what another client then sees, and (through the hub's
//! counters) what crossed the network.

use futures_util::{StreamExt, TryStreamExt};
use hub_api::{
    BranchOptions, CreateRepoOptions, DeleteRepoOptions, DownloadOptions, Error, Gated, HubClient,
    HubError, InfoOptions, ListOptions, RefsOptions, RepoInfo, RepoSettings, TagOptions, Token,
    TreeEntry, TreeOptions,
};
use hub_cache::CacheDir;
use hub_tests::{CommitSpec, HubConfig, RepoOptions, SeedManifest, TestHub, seed};
use hub_url::{Endpoint, Repo, RepoId, RepoPath, RepoType, Revision};

use crate::download::fast_retry;
use crate::support::{git, seeded, seeded_with};

/// A client of `hub` with `token` (none: anonymous) and fast retries.
fn client(hub: &TestHub, token: Option<&str>) -> anyhow::Result<HubClient> {
    let token = token.map(Token::new).transpose()?;
    Ok(HubClient::builder(Endpoint::new(hub.endpoint())?)
        .token(token)
        .retry(fast_retry())
        .build()?)
}

fn model(id: &str) -> anyhow::Result<Repo> {
    Ok(Repo::model(id.parse()?))
}

fn rev(name: &str) -> anyhow::Result<Revision> {
    Ok(Revision::new(name)?)
}

/// The commit of a seeded revision.
fn seeded_commit(
    seed: &SeedManifest,
    repo_type: hub_tests::RepoType,
    id: &str,
    revision: &str,
) -> anyhow::Result<String> {
    seed.repo(repo_type, id)
        .and_then(|r| r.revisions.get(revision))
        .map(|r| r.commit.clone())
        .ok_or_else(|| anyhow::format_err!("the seed has no {id}@{revision}"))
}

/// The ids a listing yields, in order.
async fn list_ids(
    client: &HubClient,
    repo_type: RepoType,
    options: &ListOptions,
) -> anyhow::Result<Vec<String>> {
    let infos: Vec<RepoInfo> = client.list_repos(repo_type, options).try_collect().await?;
    Ok(infos.into_iter().map(|i| i.id).collect())
}

fn filter(tags: &[&str]) -> ListOptions {
    ListOptions::default().with_filter(tags.iter().copied())
}

/// `hub.stats()`'s count of the requests logged with this method whose path starts with `path`.
fn logged(hub: &TestHub, method: &str, path: &str) -> usize {
    hub.stats().log.iter().filter(|e| e.method == method && e.path.starts_with(path)).count()
}

fn is_conflict(e: &Error) -> bool {
    matches!(e, Error::Hub(HubError::Conflict { .. }))
}

#[tokio::test]
async fn whoami_names_the_user_orgs_and_token_role() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let who = client(&hub, Some(seed::ALICE))?.whoami().await?;
    assert_eq!(who.name, "alice");
    assert_eq!(who.orgs.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["acme"]);
    assert_eq!(who.token().and_then(|t| t.role.as_deref()), Some("write"));
    assert!(who.token().and_then(|t| t.display_name.as_deref()).is_some_and(|n| !n.is_empty()));

    let who = client(&hub, Some(seed::ALICE_READ))?.whoami().await?;
    assert_eq!(
        (who.name.as_str(), who.token().and_then(|t| t.role.as_deref())),
        ("alice", Some("read"))
    );
    let who = client(&hub, Some(seed::JULIEN_C))?.whoami().await?;
    assert_eq!(who.name, "julien-c");
    assert!(who.orgs.is_empty());

    let bad = "hf_thisTokenIsNotKnownToTheHub000000000";
    let err = client(&hub, Some(bad))?.whoami().await.err();
    assert!(
        matches!(err, Some(Error::Hub(HubError::Unauthorized { .. }))),
        "a bad token is Unauthorized: {err:?}"
    );
    let message = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(!message.contains(bad), "the token is in the error: {message}");
    // No token: said before anything is sent.
    hub.reset();
    let err = client(&hub, None)?.whoami().await.err();
    assert!(matches!(err, Some(Error::NotLoggedIn)), "{err:?}");
    assert_eq!(hub.stats().log.len(), 0, "nothing was sent");
    Ok(())
}

#[tokio::test]
async fn create_repo_models_datasets_spaces_private_and_exist_ok() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let ep = hub.endpoint();
    let alice = client(&hub, Some(seed::ALICE))?;
    let anon = client(&hub, None)?;
    let public = CreateRepoOptions::default();

    let repo = model("alice/new-model")?;
    assert!(!alice.repo_exists(&repo).await?);
    assert_eq!(alice.create_repo(&repo, &public).await?, format!("{ep}/alice/new-model"));
    assert!(anon.repo_exists(&repo).await?, "a public repo is visible to anyone");
    let info = anon.repo_info(&repo, &InfoOptions::default().with_files_metadata(true)).await?;
    assert_eq!(info.id, "alice/new-model");
    assert_eq!(info.private, Some(false));
    assert!(info.sha.as_deref().is_some_and(|s| s.len() == 40), "{info:?}");
    let files: Vec<&str> = info.siblings.iter().map(|s| s.rfilename.as_str()).collect();
    assert_eq!(files, [".gitattributes"], "a new repo starts with one commit, like the Hub");

    // It is a git repo: clonable, with that commit on main.
    let work = tempfile::tempdir()?;
    let out =
        git(work.path()).args(["clone", "-q", &format!("{ep}/alice/new-model"), "c"]).output()?;
    assert!(out.status.success(), "git clone: {}", String::from_utf8_lossy(&out.stderr));
    assert!(work.path().join("c/.gitattributes").is_file());
    let head = git(&work.path().join("c")).args(["rev-parse", "HEAD"]).output()?;
    assert_eq!(String::from_utf8_lossy(&head.stdout).trim(), info.sha.as_deref().unwrap_or("-"));

    // Existing: the URL with exist_ok, RepoExists (the Hub's 409) without.
    let exist_ok = public.clone().with_exist_ok(true);
    assert_eq!(alice.create_repo(&repo, &exist_ok).await?, format!("{ep}/alice/new-model"));
    let err = alice.create_repo(&repo, &public).await.err();
    assert!(
        matches!(&err, Some(Error::RepoExists { repo, url })
            if repo == "alice/new-model" && *url == format!("{ep}/alice/new-model")),
        "without exist_ok: {err:?}"
    );

    // A dataset, a private model, a space (which needs an SDK), in an org alice is in.
    let dataset = Repo::dataset("acme/new-data".parse()?);
    assert_eq!(alice.create_repo(&dataset, &public).await?, format!("{ep}/datasets/acme/new-data"));
    assert!(anon.repo_exists(&dataset).await?);
    assert!(!anon.repo_exists(&model("acme/new-data")?).await?, "a dataset, not a model");

    let private = model("alice/secret")?;
    let options = public.clone().with_private(true);
    assert_eq!(alice.create_repo(&private, &options).await?, format!("{ep}/alice/secret"));
    assert!(!anon.repo_exists(&private).await?, "private: invisible without a token");
    assert!(!client(&hub, Some(seed::BOB))?.repo_exists(&private).await?, "and to bob");
    assert_eq!(alice.repo_info(&private, &InfoOptions::default()).await?.private, Some(true));

    let space = Repo::space("alice/new-space".parse()?);
    let err = alice.create_repo(&space, &public).await.err();
    assert!(matches!(err, Some(Error::SpaceSdkRequired)), "a space needs an SDK: {err:?}");
    let options = public.clone().with_space_sdk("static");
    assert_eq!(alice.create_repo(&space, &options).await?, format!("{ep}/spaces/alice/new-space"));
    assert!(anon.repo_exists(&space).await?);

    // Another user's namespace, a read token, no token: typed refusals, nothing created.
    let err = alice.create_repo(&model("bob/intruder")?, &public).await.err();
    assert!(matches!(err, Some(Error::Hub(HubError::Forbidden { .. }))), "{err:?}");
    let err = client(&hub, Some(seed::ALICE_READ))?
        .create_repo(&model("alice/read-only")?, &public)
        .await
        .err();
    assert!(matches!(err, Some(Error::Hub(HubError::Forbidden { .. }))), "{err:?}");
    let err = anon.create_repo(&model("alice/anon")?, &public).await.err();
    assert!(matches!(err, Some(Error::NotLoggedIn)), "{err:?}");
    for id in ["bob/intruder", "alice/read-only", "alice/anon"] {
        assert!(!alice.repo_exists(&model(id)?).await?, "{id} was created");
    }

    // exist_ok where one may not create but the repo exists: its URL, as the Python client.
    let bob = client(&hub, Some(seed::BOB))?;
    let tiny = model("acme/tiny-model")?;
    let url = bob.create_repo(&tiny, &public.with_exist_ok(true)).await?;
    assert_eq!(url, format!("{ep}/acme/tiny-model"));
    Ok(())
}

#[tokio::test]
async fn writes_without_a_token_are_not_logged_in_and_send_nothing() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let anon = client(&hub, None)?;
    let tiny = model("acme/tiny-model")?;
    hub.reset();
    let results = [
        anon.create_repo(&model("alice/x")?, &CreateRepoOptions::default()).await.err(),
        anon.create_repo(&tiny, &CreateRepoOptions::default().with_exist_ok(true)).await.err(),
        anon.delete_repo(&tiny, &DeleteRepoOptions::default().with_missing_ok(true)).await.err(),
        anon.move_repo(&tiny, &"acme/moved".parse()?).await.err(),
        anon.update_repo_settings(&tiny, &RepoSettings::default().with_private(true)).await.err(),
        anon.create_branch(&tiny, "b", &BranchOptions::default().with_exist_ok(true)).await.err(),
        anon.delete_branch(&tiny, "dev").await.err(),
        anon.create_tag(&tiny, "t", &TagOptions::default().with_exist_ok(true)).await.err(),
        anon.delete_tag(&tiny, "v1.0").await.err(),
    ];
    for (i, err) in results.iter().enumerate() {
        assert!(matches!(err, Some(Error::NotLoggedIn)), "call {i}: {err:?}");
    }
    assert_eq!(hub.stats().log.len(), 0, "nothing was sent");
    Ok(())
}

#[tokio::test]
async fn delete_repo_with_and_without_missing_ok() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let alice = client(&hub, Some(seed::ALICE))?;
    let repo = model("alice/short-lived")?;
    alice.create_repo(&repo, &CreateRepoOptions::default()).await?;
    assert!(alice.repo_exists(&repo).await?);

    let err = client(&hub, Some(seed::BOB))?
        .delete_repo(&repo, &DeleteRepoOptions::default())
        .await
        .err();
    assert!(matches!(err, Some(Error::Hub(HubError::Forbidden { .. }))), "{err:?}");
    assert!(alice.repo_exists(&repo).await?, "bob's refused delete removed it");

    assert!(alice.delete_repo(&repo, &DeleteRepoOptions::default()).await?, "deleted");
    assert!(!alice.repo_exists(&repo).await?);
    let work = tempfile::tempdir()?;
    let url = format!("{}/alice/short-lived", hub.endpoint());
    let out = git(work.path()).args(["ls-remote", &url]).output()?;
    assert!(!out.status.success(), "git still serves the deleted repo");

    let err = alice.delete_repo(&repo, &DeleteRepoOptions::default()).await.err();
    assert!(matches!(err, Some(Error::Hub(HubError::RepositoryNotFound { .. }))), "{err:?}");
    assert!(
        !alice.delete_repo(&repo, &DeleteRepoOptions::default().with_missing_ok(true)).await?,
        "missing_ok: nothing was deleted"
    );

    // A dataset: the type is sent.
    let dataset = Repo::dataset("acme/tiny-dataset".parse()?);
    assert!(alice.delete_repo(&dataset, &DeleteRepoOptions::default()).await?);
    assert!(!alice.repo_exists(&dataset).await?);
    assert!(alice.repo_exists(&model("acme/tiny-model")?).await?, "only the dataset went");
    Ok(())
}

#[tokio::test]
async fn move_repo_renames_and_the_old_name_still_downloads() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let ep = hub.endpoint();
    let alice = client(&hub, Some(seed::ALICE))?;
    let from = model("acme/tiny-model")?;
    let to: RepoId = "alice/renamed-model".parse()?;

    let err = client(&hub, Some(seed::BOB))?.move_repo(&from, &"bob/stolen".parse()?).await.err();
    assert!(matches!(err, Some(Error::Hub(HubError::Forbidden { .. }))), "{err:?}");
    let err = alice.move_repo(&from, &"bob/gift".parse()?).await.err();
    assert!(matches!(err, Some(Error::Hub(HubError::Forbidden { .. }))), "{err:?}");
    let err = alice.move_repo(&from, &"acme/gated-model".parse()?).await.err();
    assert!(err.as_ref().is_some_and(is_conflict), "target exists: {err:?}");
    let err = alice.move_repo(&from, &"no-namespace".parse()?).await.err();
    assert!(
        matches!(&err, Some(Error::NamespaceRequired { repo }) if repo == "no-namespace"),
        "{err:?}"
    );

    assert_eq!(alice.move_repo(&from, &to).await?, format!("{ep}/alice/renamed-model"));
    let main = seeded_commit(&seed, hub_tests::RepoType::Model, "acme/tiny-model", "main")?;
    let anon = client(&hub, None)?;
    let info = anon.repo_info(&Repo::model(to.clone()), &InfoOptions::default()).await?;
    assert_eq!(
        (info.id.as_str(), info.sha.as_deref()),
        ("alice/renamed-model", Some(main.as_str()))
    );

    // The old id redirects: a download under it lands in the old name's cache folder, with
    // the moved repo's bytes; existence checks and info follow the redirect too.
    let cache = tempfile::tempdir()?;
    let options = DownloadOptions::new(CacheDir::new(cache.path().to_path_buf()));
    let path = anon.hf_hub_download(&from, "config.json", &options).await?;
    assert_eq!(std::fs::read_to_string(&path)?, r#"{"revision": "main"}"#);
    assert!(path.starts_with(cache.path().join("models--acme--tiny-model")), "{}", path.display());
    assert!(hub.stats().route("redirect") >= 1, "the old name answered a redirect");
    assert!(anon.repo_exists(&from).await?, "the old id still exists (it redirects)");
    let old = anon.repo_info(&from, &InfoOptions::default()).await?;
    assert_eq!(old.id, "alice/renamed-model");
    assert_eq!(anon.list_repo_files(&from, &Revision::main()).await?.len(), 6);
    assert!(!anon.list_repo_refs(&from, &RefsOptions::default()).await?.branches.is_empty());
    // Writes under the old id follow the 307 too (method and body kept).
    alice.create_branch(&from, "via-old-name", &BranchOptions::default()).await?;
    let refs = alice.list_repo_refs(&Repo::model(to), &RefsOptions::default()).await?;
    assert!(refs.branches.iter().any(|b| b.name == "via-old-name"), "{refs:?}");
    Ok(())
}

#[tokio::test]
async fn settings_private_hides_the_repo_from_others_and_gating_shows() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let alice = client(&hub, Some(seed::ALICE))?;
    let anon = client(&hub, None)?;
    let repo = model("alice/visibility")?;
    alice.create_repo(&repo, &CreateRepoOptions::default()).await?;
    let mine = ListOptions::default().with_author("alice");
    assert_eq!(list_ids(&anon, RepoType::Model, &mine).await?, ["alice/visibility"]);

    let private = RepoSettings::default().with_private(true);
    let err = client(&hub, Some(seed::BOB))?.update_repo_settings(&repo, &private).await.err();
    assert!(matches!(err, Some(Error::Hub(HubError::Forbidden { .. }))), "{err:?}");
    assert!(anon.repo_exists(&repo).await?, "bob's refused change applied");

    alice.update_repo_settings(&repo, &private).await?;
    assert!(!anon.repo_exists(&repo).await?, "private: an anonymous client no longer sees it");
    assert!(list_ids(&anon, RepoType::Model, &mine).await?.is_empty(), "nor lists it");
    let path = RepoPath::new(".gitattributes")?;
    assert!(!anon.file_exists(&repo, &Revision::main(), &path).await?);
    assert_eq!(alice.repo_info(&repo, &InfoOptions::default()).await?.private, Some(true));
    assert_eq!(list_ids(&alice, RepoType::Model, &mine).await?, ["alice/visibility"]);

    let public = RepoSettings::default().with_private(false);
    alice.update_repo_settings(&repo, &public).await?;
    assert!(anon.repo_exists(&repo).await?);
    assert!(anon.file_exists(&repo, &Revision::main(), &path).await?);

    let gated = RepoSettings::default().with_gated(Gated::Manual);
    alice.update_repo_settings(&repo, &gated).await?;
    assert_eq!(alice.repo_info(&repo, &InfoOptions::default()).await?.extra["gated"], "manual");
    assert!(anon.repo_exists(&repo).await?, "a gated repo exists");
    let ungated = RepoSettings::default().with_gated(Gated::No);
    alice.update_repo_settings(&repo, &ungated).await?;
    assert_eq!(alice.repo_info(&repo, &InfoOptions::default()).await?.extra["gated"], false);

    // A dataset's settings (the type is in the URL).
    let dataset = Repo::dataset("acme/tiny-dataset".parse()?);
    alice.update_repo_settings(&dataset, &private).await?;
    assert!(!anon.repo_exists(&dataset).await?);
    assert!(anon.repo_exists(&model("acme/tiny-model")?).await?, "only the dataset changed");
    Ok(())
}

#[tokio::test]
async fn listings_filter_by_tag_library_author_search_sort_and_limit() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let anon = client(&hub, None)?;
    let alice = client(&hub, Some(seed::ALICE))?;
    let models = RepoType::Model;

    // The library name is a tag: the models "compatible with your library".
    assert_eq!(list_ids(&anon, models, &filter(&["asteroid"])).await?, ["acme/tiny-model"]);
    assert_eq!(
        list_ids(&anon, models, &filter(&["pytorch"])).await?,
        ["acme/gated-model", "acme/tiny-model", "julien-c/EsperBERTo-small"],
        "by id, private repos hidden"
    );
    assert_eq!(
        list_ids(&alice, models, &filter(&["pytorch"])).await?,
        ["acme/gated-model", "acme/private-model", "acme/tiny-model", "julien-c/EsperBERTo-small"],
        "alice is in acme: she sees its private model"
    );
    assert_eq!(
        list_ids(&anon, models, &filter(&["transformers", "text-generation"])).await?,
        ["acme/gated-model"],
        "every filter must match"
    );
    assert_eq!(
        list_ids(&anon, models, &filter(&["fill-mask"])).await?,
        ["julien-c/EsperBERTo-small"]
    );
    assert!(list_ids(&anon, models, &filter(&["no-such-library"])).await?.is_empty());

    let by = |author: &str| ListOptions::default().with_author(author);
    assert_eq!(list_ids(&anon, models, &by("julien-c")).await?, ["julien-c/EsperBERTo-small"]);
    assert!(list_ids(&anon, models, &by("bob")).await?.is_empty());
    let search = ListOptions::default().with_search("TINY");
    assert_eq!(list_ids(&anon, models, &search).await?, ["acme/tiny-model"]);
    assert_eq!(list_ids(&anon, RepoType::Dataset, &search).await?, ["acme/tiny-dataset"]);
    assert_eq!(list_ids(&anon, RepoType::Space, &search).await?, ["acme/tiny-space"]);

    let sorted = ListOptions::default().with_sort("downloads").with_descending(true);
    assert_eq!(
        list_ids(&anon, models, &sorted).await?,
        ["julien-c/EsperBERTo-small", "acme/tiny-model", "acme/gated-model"]
    );
    let top = sorted.with_limit(1);
    assert_eq!(list_ids(&anon, models, &top).await?, ["julien-c/EsperBERTo-small"]);

    // Items carry what the Hub sent (tags, counters) and, with `full`, the files.
    let full = filter(&["asteroid"]).with_full(true);
    let infos: Vec<RepoInfo> = anon.list_repos(models, &full).try_collect().await?;
    let [info] = infos.as_slice() else { anyhow::bail!("one model expected: {infos:?}") };
    assert!(info.tags.iter().any(|t| t == "asteroid"), "{:?}", info.tags);
    assert_eq!(info.extra["downloads"], 100);
    assert!(info.siblings.iter().any(|s| s.rfilename == "weights.bin"), "{:?}", info.siblings);
    Ok(())
}

#[tokio::test]
async fn listings_follow_pages_lazily_and_stop_at_the_limit() -> anyhow::Result<()> {
    let (hub, _) = seeded_with(HubConfig { page_size: Some(3), ..HubConfig::default() })?;
    for i in 0..8 {
        let options = RepoOptions { tags: vec!["paged".into()], ..RepoOptions::default() };
        hub.create_repo(&hub_tests::Repo::model(&format!("alice/paged-{i}")), options)?;
    }
    let anon = client(&hub, None)?;
    let wanted: Vec<String> = (0..8).map(|i| format!("alice/paged-{i}")).collect();

    hub.reset();
    assert_eq!(list_ids(&anon, RepoType::Model, &filter(&["paged"])).await?, wanted);
    assert_eq!(hub.stats().route("list-models"), 3, "8 items in pages of 3");

    hub.reset();
    let limited = filter(&["paged"]).with_limit(4);
    assert_eq!(list_ids(&anon, RepoType::Model, &limited).await?, wanted[..4]);
    assert_eq!(hub.stats().route("list-models"), 2, "4 items: two pages, not three");

    hub.reset();
    let limited = filter(&["paged"]).with_limit(3);
    assert_eq!(list_ids(&anon, RepoType::Model, &limited).await?, wanted[..3]);
    assert_eq!(hub.stats().route("list-models"), 1, "the limit reached: no other page asked");

    // Lazy: nothing is asked before the stream is read, one page per three items read.
    hub.reset();
    // A `Paginated` is `Unpin`: read as it is, no `pin!`.
    let mut stream = anon.list_repos(RepoType::Model, &filter(&["paged"]));
    assert_eq!(hub.stats().route("list-models"), 0, "no request before reading");
    let first = stream.next().await.transpose()?.map(|i| i.id);
    assert_eq!(first.as_deref(), Some("alice/paged-0"));
    assert_eq!(hub.stats().route("list-models"), 1);
    for _ in 0..3 {
        stream.next().await.transpose()?;
    }
    assert_eq!(hub.stats().route("list-models"), 2, "the fourth item is on the second page");

    // The tree and the history are paginated the same way.
    hub.reset();
    let tiny = model("acme/tiny-model")?;
    let files = anon.list_repo_files(&tiny, &Revision::main()).await?;
    assert_eq!(files.len(), 6, "{files:?}");
    assert!(hub.stats().route("tree") >= 3, "{:?}", hub.stats().requests);
    let dev: Vec<_> = anon.list_repo_commits(&tiny, &rev("dev")?).try_collect().await?;
    assert_eq!(dev.len(), 3);
    hub.set_page_size(Some(1));
    hub.reset();
    let dev: Vec<_> = anon.list_repo_commits(&tiny, &rev("dev")?).try_collect().await?;
    assert_eq!(dev.len(), 3);
    assert_eq!(hub.stats().route("commits"), 3, "one commit per page");
    Ok(())
}

#[tokio::test]
async fn files_tree_refs_and_commits_at_revisions() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let anon = client(&hub, None)?;
    let tiny = model("acme/tiny-model")?;
    let kind = hub_tests::RepoType::Model;
    let manifest = seed.repo(kind, "acme/tiny-model").ok_or_else(|| anyhow::format_err!("seed"))?;

    for revision in ["main", "dev", "v1.0"] {
        let mut files = anon.list_repo_files(&tiny, &rev(revision)?).await?;
        files.sort();
        let expected: Vec<&String> = manifest.revisions[revision].files.keys().collect();
        assert_eq!(files.iter().collect::<Vec<_>>(), expected, "files at {revision}");
    }

    let top: Vec<TreeEntry> = anon
        .list_repo_tree(&tiny, &Revision::main(), &TreeOptions::default())
        .try_collect()
        .await?;
    let mut names: Vec<(&str, &str)> =
        top.iter().map(|e| (e.kind.as_str(), e.path.as_str())).collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("directory", "nested"),
            ("directory", "unicode"),
            ("file", ".gitattributes"),
            ("file", "README.md"),
            ("file", "config.json"),
            ("file", "weights.bin"),
        ]
    );
    let weights = top.iter().find(|e| e.path == "weights.bin");
    let lfs = weights.and_then(|e| e.lfs.as_ref()).ok_or_else(|| anyhow::format_err!("no lfs"))?;
    assert_eq!(lfs.size, seed::TINY_WEIGHTS_SIZE as u64);
    assert_eq!(lfs.oid, manifest.revisions["main"].files["weights.bin"].sha256);
    assert_eq!(weights.and_then(|e| e.size), Some(seed::TINY_WEIGHTS_SIZE as u64));

    let all: Vec<TreeEntry> = anon
        .list_repo_tree(&tiny, &Revision::main(), &TreeOptions::default().with_recursive(true))
        .try_collect()
        .await?;
    let paths: Vec<&str> = all.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"nested/deep/file.txt") && paths.contains(&"nested/deep"), "{paths:?}");
    assert!(paths.contains(&"unicode/café ü ñ.txt"), "{paths:?}");
    let nested = RepoPath::new("nested")?;
    let sub: Vec<TreeEntry> = anon
        .list_repo_tree(&tiny, &Revision::main(), &TreeOptions::default().with_path(nested.clone()))
        .try_collect()
        .await?;
    assert_eq!(sub.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(), ["nested/deep"]);
    assert!(!sub[0].is_file());

    // Paths and revisions are encoded whole (`nested%2Fdeep`, `refs%2Fpr%2F1`), like Python.
    for (revision, folder, file) in [
        ("main", "nested/deep", "nested/deep/file.txt"),
        ("refs/pr/1", "nested/deep", "nested/deep/file.txt"),
        ("main", "unicode", "unicode/café ü ñ.txt"),
    ] {
        let folder = RepoPath::new(folder)?;
        let entries: Vec<TreeEntry> = anon
            .list_repo_tree(
                &tiny,
                &rev(revision)?,
                &TreeOptions::default().with_path(folder.clone()).with_recursive(true),
            )
            .try_collect()
            .await?;
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, [file], "{folder:?} at {revision}");
    }
    let mut pr_files = anon.list_repo_files(&tiny, &rev("refs/pr/1")?).await?;
    pr_files.sort();
    let expected: Vec<&String> = manifest.revisions["refs/pr/1"].files.keys().collect();
    assert_eq!(pr_files.iter().collect::<Vec<_>>(), expected);
    let pr: Vec<_> = anon.list_repo_commits(&tiny, &rev("refs/pr/1")?).try_collect().await?;
    assert_eq!(
        pr.first().map(|c| c.id.clone()),
        Some(seeded_commit(&seed, kind, "acme/tiny-model", "refs/pr/1")?)
    );

    let config = RepoPath::new("config.json")?;
    let err = anon
        .list_repo_tree(&tiny, &Revision::main(), &TreeOptions::default().with_path(config.clone()))
        .try_collect::<Vec<_>>()
        .await
        .err();
    assert!(matches!(err, Some(Error::Hub(HubError::EntryNotFound { .. }))), "{err:?}");
    let err = anon.list_repo_files(&tiny, &rev("no-such-branch")?).await.err();
    assert!(matches!(err, Some(Error::Hub(HubError::RevisionNotFound { .. }))), "{err:?}");
    let err = anon.list_repo_files(&model("acme/private-model")?, &Revision::main()).await.err();
    assert!(matches!(err, Some(Error::Hub(HubError::RepositoryNotFound { .. }))), "{err:?}");

    let commit = |r: &str| seeded_commit(&seed, kind, "acme/tiny-model", r);
    let refs = anon.list_repo_refs(&tiny, &RefsOptions::default()).await?;
    let mut branches: Vec<(&str, &str, &str)> = refs
        .branches
        .iter()
        .map(|r| (r.name.as_str(), r.full_ref.as_str(), r.target_commit.as_str()))
        .collect();
    branches.sort();
    assert_eq!(
        branches,
        [
            ("dev", "refs/heads/dev", commit("dev")?.as_str()),
            ("main", "refs/heads/main", commit("main")?.as_str())
        ]
    );
    let tags: Vec<(&str, &str)> =
        refs.tags.iter().map(|r| (r.name.as_str(), r.target_commit.as_str())).collect();
    assert_eq!(tags, [("v1.0", commit("v1.0")?.as_str())]);
    assert!(refs.pull_requests.is_empty(), "PRs only when asked: {:?}", refs.pull_requests);
    let refs = anon.list_repo_refs(&tiny, &RefsOptions::default().with_include_prs(true)).await?;
    let prs: Vec<(&str, &str)> = refs
        .pull_requests
        .iter()
        .map(|r| (r.full_ref.as_str(), r.target_commit.as_str()))
        .collect();
    assert_eq!(prs, [("refs/pr/1", commit("refs/pr/1")?.as_str())]);

    let history: Vec<_> = anon.list_repo_commits(&tiny, &Revision::main()).try_collect().await?;
    let ids: Vec<&str> = history.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, [commit("main")?.as_str(), commit("v1.0")?.as_str()], "newest first");
    assert!(history.iter().all(|c| !c.title.is_empty() && c.date.is_some()), "{history:?}");
    let at_tag: Vec<_> = anon.list_repo_commits(&tiny, &rev("v1.0")?).try_collect().await?;
    assert_eq!(at_tag.len(), 1);
    let dataset = Repo::dataset("acme/tiny-dataset".parse()?);
    let refs = anon.list_repo_refs(&dataset, &RefsOptions::default()).await?;
    assert!(refs.branches.iter().any(|b| b.name == "main"));
    Ok(())
}

#[tokio::test]
async fn branches_and_tags_are_created_and_deleted() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let alice = client(&hub, Some(seed::ALICE))?;
    let tiny = model("acme/tiny-model")?;
    let commit = |r: &str| seeded_commit(&seed, hub_tests::RepoType::Model, "acme/tiny-model", r);
    let branch = |refs: &hub_api::Refs, name: &str| {
        refs.branches.iter().find(|b| b.name == name).map(|b| b.target_commit.clone())
    };
    let tag = |refs: &hub_api::Refs, name: &str| {
        refs.tags.iter().find(|b| b.name == name).map(|b| b.target_commit.clone())
    };

    alice.create_branch(&tiny, "feature", &BranchOptions::default()).await?;
    alice
        .create_branch(
            &tiny,
            "from-tag",
            &BranchOptions::default().with_starting_point(rev("v1.0")?),
        )
        .await?;
    let refs = alice.list_repo_refs(&tiny, &RefsOptions::default()).await?;
    assert_eq!(branch(&refs, "feature"), Some(commit("main")?));
    assert_eq!(branch(&refs, "from-tag"), Some(commit("v1.0")?));
    let err = alice.create_branch(&tiny, "feature", &BranchOptions::default()).await.err();
    assert!(err.as_ref().is_some_and(is_conflict), "{err:?}");
    alice.create_branch(&tiny, "feature", &BranchOptions::default().with_exist_ok(true)).await?;
    let err = alice.create_branch(&tiny, "bad..name", &BranchOptions::default()).await.err();
    assert!(matches!(err, Some(Error::Url(hub_url::Error::Revision(_)))), "{err:?}");
    let err = alice
        .create_branch(
            &tiny,
            "x",
            &BranchOptions::default().with_starting_point(rev("no-such-rev")?),
        )
        .await
        .err();
    assert!(matches!(err, Some(Error::Hub(HubError::RevisionNotFound { .. }))), "{err:?}");
    let err = client(&hub, Some(seed::BOB))?
        .create_branch(&tiny, "bobs", &BranchOptions::default())
        .await
        .err();
    assert!(matches!(err, Some(Error::Hub(HubError::Forbidden { .. }))), "{err:?}");

    // A new branch is a revision downloads resolve.
    let cache = tempfile::tempdir()?;
    let mut options = DownloadOptions::new(CacheDir::new(cache.path().to_path_buf()));
    options.revision = rev("from-tag")?;
    let path = alice.hf_hub_download(&tiny, "config.json", &options).await?;
    assert_eq!(std::fs::read_to_string(path)?, r#"{"revision": "v1.0"}"#);

    // A name with a slash is one path segment (`topic%2Fx`).
    alice
        .create_branch(&tiny, "topic/x", &BranchOptions::default().with_starting_point(rev("dev")?))
        .await?;
    let refs = alice.list_repo_refs(&tiny, &RefsOptions::default()).await?;
    assert_eq!(branch(&refs, "topic/x"), Some(commit("dev")?));
    alice.delete_branch(&tiny, "topic/x").await?;
    assert_eq!(
        branch(&alice.list_repo_refs(&tiny, &RefsOptions::default()).await?, "topic/x"),
        None
    );
    alice
        .create_tag(&tiny, "release/1", &TagOptions::default().with_revision(rev("refs/pr/1")?))
        .await?;
    let refs = alice.list_repo_refs(&tiny, &RefsOptions::default()).await?;
    assert_eq!(tag(&refs, "release/1"), Some(commit("refs/pr/1")?));
    alice.delete_tag(&tiny, "release/1").await?;

    alice.delete_branch(&tiny, "feature").await?;
    assert_eq!(
        branch(&alice.list_repo_refs(&tiny, &RefsOptions::default()).await?, "feature"),
        None
    );
    let err = alice.delete_branch(&tiny, "main").await.err();
    assert!(matches!(err, Some(Error::Hub(HubError::Forbidden { .. }))), "{err:?}");

    alice.create_tag(&tiny, "v2", &TagOptions::default().with_message("second release")).await?;
    alice.create_tag(&tiny, "light", &TagOptions::default().with_revision(rev("dev")?)).await?;
    let refs = alice.list_repo_refs(&tiny, &RefsOptions::default()).await?;
    assert_eq!(tag(&refs, "v2"), Some(commit("main")?), "an annotated tag's target is the commit");
    assert_eq!(tag(&refs, "light"), Some(commit("dev")?));
    let err = alice.create_tag(&tiny, "v1.0", &TagOptions::default()).await.err();
    assert!(err.as_ref().is_some_and(is_conflict), "{err:?}");
    alice.create_tag(&tiny, "v1.0", &TagOptions::default().with_exist_ok(true)).await?;
    assert_eq!(
        tag(&alice.list_repo_refs(&tiny, &RefsOptions::default()).await?, "v1.0"),
        Some(commit("v1.0")?)
    );

    alice.delete_tag(&tiny, "v2").await?;
    alice.delete_tag(&tiny, "light").await?;
    let refs = alice.list_repo_refs(&tiny, &RefsOptions::default()).await?;
    assert_eq!((tag(&refs, "v2"), tag(&refs, "light")), (None, None));
    assert_eq!(tag(&refs, "v1.0"), Some(commit("v1.0")?));

    // On a repo made by the client, with a commit on a branch: the branch follows it.
    let repo = model("alice/branchy")?;
    alice.create_repo(&repo, &CreateRepoOptions::default()).await?;
    alice.create_branch(&repo, "side", &BranchOptions::default()).await?;
    let side = hub.commit_files(
        &hub_tests::Repo::model("alice/branchy"),
        CommitSpec::new("side", "on side").regular("side.txt", "side"),
    )?;
    let refs = alice.list_repo_refs(&repo, &RefsOptions::default()).await?;
    assert_eq!(branch(&refs, "side"), Some(side));
    assert!(alice.file_exists(&repo, &rev("side")?, &RepoPath::new("side.txt")?).await?);
    assert!(!alice.file_exists(&repo, &Revision::main(), &RepoPath::new("side.txt")?).await?);
    Ok(())
}

#[tokio::test]
async fn file_exists_by_revision_and_visibility() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let anon = client(&hub, None)?;
    let tiny = model("acme/tiny-model")?;
    let path = |p: &str| RepoPath::new(p);
    let main = Revision::main();
    assert!(anon.file_exists(&tiny, &main, &path("config.json")?).await?);
    assert!(anon.file_exists(&tiny, &main, &path("weights.bin")?).await?, "an LFS file");
    assert!(anon.file_exists(&tiny, &main, &path("unicode/café ü ñ.txt")?).await?);
    assert!(!anon.file_exists(&tiny, &main, &path("missing.txt")?).await?);
    assert!(!anon.file_exists(&tiny, &main, &path("dev-only.txt")?).await?);
    assert!(anon.file_exists(&tiny, &rev("dev")?, &path("dev-only.txt")?).await?);
    let dataset = Repo::dataset("acme/tiny-dataset".parse()?);
    assert!(anon.file_exists(&dataset, &main, &path("config.json")?).await?);
    let private = model("acme/private-model")?;
    assert!(!anon.file_exists(&private, &main, &path("config.json")?).await?);
    let alice = client(&hub, Some(seed::ALICE))?;
    assert!(alice.file_exists(&private, &main, &path("config.json")?).await?);
    assert!(!anon.repo_exists(&model("nobody/nothing")?).await?);
    Ok(())
}

#[tokio::test]
async fn a_rate_limited_get_is_retried_but_a_failed_post_is_not() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let alice = client(&hub, Some(seed::ALICE))?;

    hub.reset();
    hub.faults().fail_next(1, 429, Some(0));
    assert_eq!(alice.whoami().await?.name, "alice");
    assert_eq!(logged(&hub, "GET", "/api/whoami-v2"), 2, "one 429, then the retry");

    hub.reset();
    hub.faults().fail_next(1, 503, None);
    let refs = alice.list_repo_refs(&model("acme/tiny-model")?, &RefsOptions::default()).await?;
    assert!(!refs.branches.is_empty(), "a GET is retried on 503 too");

    hub.reset();
    hub.faults().fail_next(1, 503, None);
    let repo = model("alice/not-twice")?;
    let err = alice.create_repo(&repo, &CreateRepoOptions::default()).await.err();
    assert!(matches!(err, Some(Error::Hub(HubError::Http { status: 503, .. }))), "{err:?}");
    assert_eq!(logged(&hub, "POST", "/api/repos/create"), 1, "a POST is not retried on 503");
    assert!(!alice.repo_exists(&repo).await?);

    // 429 means "not done, come back": a POST is retried then.
    hub.reset();
    hub.faults().fail_next(1, 429, Some(0));
    alice.create_repo(&repo, &CreateRepoOptions::default()).await?;
    assert_eq!(logged(&hub, "POST", "/api/repos/create"), 2);
    assert!(alice.repo_exists(&repo).await?);

    // Retries give up after the configured count with the typed error.
    hub.reset();
    hub.faults().fail_next(10, 429, Some(0));
    let err = alice.whoami().await.err();
    let Some(Error::RetriesExhausted { attempts: 4, source, .. }) = &err else { panic!("{err:?}") };
    assert!(matches!(**source, Error::Hub(HubError::RateLimited { .. })), "{source:?}");
    assert_eq!(logged(&hub, "GET", "/api/whoami-v2"), 4, "1 + 3 retries");
    hub.faults().clear();
    Ok(())
}

#[tokio::test]
async fn model_dataset_and_space_info_name_their_repo_type() -> anyhow::Result<()> {
    let (hub, seed) = seeded()?;
    let anon = client(&hub, None)?;
    let id: hub_url::RepoId = "acme/tiny-model".parse()?;
    let v1: hub_url::Revision = "v1.0".parse()?;
    let model = anon
        .model_info(
            &id,
            &InfoOptions::default().with_revision(v1.clone()).with_files_metadata(true),
        )
        .await?;
    let expected = &seed.repo(hub_tests::RepoType::Model, "acme/tiny-model").expect("seeded");
    assert_eq!(model.sha.as_deref(), Some(expected.revisions["v1.0"].commit.as_str()));
    assert!(model.siblings.iter().any(|s| s.rfilename == "weights.bin" && s.lfs.is_some()));
    let dataset = anon.dataset_info(&"acme/tiny-dataset".parse()?, &InfoOptions::default()).await?;
    assert_eq!(dataset.id, "acme/tiny-dataset");
    let space = anon.space_info(&"acme/tiny-space".parse()?, &InfoOptions::default()).await?;
    assert_eq!(space.id, "acme/tiny-space");
    use futures_util::TryStreamExt;
    let filter = hub_api::ListOptions::default().with_filter(["asteroid"]);
    let asteroid: Vec<hub_api::RepoInfo> = anon.list_models(&filter).try_collect().await?;
    assert!(asteroid.iter().any(|m| m.id == "acme/tiny-model"), "{asteroid:?}");
    assert!(asteroid.iter().all(|m| m.tags.iter().any(|t| t == "asteroid")));
    let err = anon.dataset_info(&id, &InfoOptions::default()).await.unwrap_err();
    assert!(
        matches!(err, hub_api::Error::Hub(hub_api::HubError::RepositoryNotFound { .. })),
        "{err}"
    );
    Ok(())
}

/// A training script logs in with no runtime of its own, and from inside one: the token is
/// checked with the Hub, stored where the Python tools read it (mode 0600), and a wrong one
/// is refused without being stored.
#[test]
fn blocking_login_stores_a_good_token_and_refuses_a_bad_one() -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;

    let (hub, _seed) = seeded()?;
    let home = tempfile::tempdir()?;
    let store = hub_api::token::TokenStore::new(home.path().join("token"));
    let builder = || -> anyhow::Result<hub_api::ClientBuilder> {
        Ok(HubClient::builder(Endpoint::new(hub.endpoint())?).retry(fast_retry()))
    };
    let logged = hub_api::blocking::login(builder()?, Token::new(seed::ALICE)?, &store)?;
    assert_eq!(logged.user, "alice");
    let file = home.path().join("token");
    assert_eq!(std::fs::read_to_string(&file)?.trim(), seed::ALICE);
    assert_eq!(std::fs::metadata(&file)?.permissions().mode() & 0o777, 0o600);

    // From inside a runtime, where a nested block_on would panic.
    let runtime = tokio::runtime::Runtime::new()?;
    let other = tempfile::tempdir()?;
    let other_store = hub_api::token::TokenStore::new(other.path().join("token"));
    let bad = Token::new("hf_notatokenthehubknows0000000000000")?;
    let in_runtime = builder()?;
    let refused =
        runtime.block_on(async { hub_api::blocking::login(in_runtime, bad, &other_store) });
    assert!(refused.is_err(), "{refused:?}");
    assert!(!other.path().join("token").exists(), "a refused token is not stored");
    Ok(())
}
