//! Publishing over HTTP against the TestHub: `create_commit` and the helpers built on it.

use hub_api::DownloadOptions;
use hub_cache::CacheDir;
use hub_lfs::{CommitOperation, CommitOptions, Error, FolderOptions, Source};
use hub_url::Revision;

use crate::support::{self, CHUNK, Setup, TestResult, setup};

impl Setup {
    /// The file at `revision`, downloaded into a fresh cache; `None` when the Hub has none.
    async fn download(
        &self,
        path: &str,
        revision: &str,
    ) -> Result<Option<Vec<u8>>, Box<dyn std::error::Error>> {
        let cache = tempfile::tempdir()?;
        let options = DownloadOptions::new(CacheDir::new(cache.path().to_owned()))
            .with_revision(Revision::new(revision)?);
        match self.lfs.hub().hf_hub_download(&self.repo, path, &options).await {
            Ok(local) => Ok(Some(std::fs::read(local)?)),
            Err(hub_api::Error::Hub(hub_api::HubError::EntryNotFound { .. })) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn head(&self) -> Result<String, Box<dyn std::error::Error>> {
        let info = self.lfs.hub().repo_info(&self.repo, &hub_api::InfoOptions::default()).await?;
        Ok(info.sha.ok_or("no sha")?)
    }

    fn total_requests(&self) -> u64 {
        self.hub.stats().requests.values().sum()
    }
}

#[tokio::test]
async fn a_commit_adds_regular_and_lfs_files_deletes_and_copies() -> TestResult {
    let s = setup().await?;
    let weights = s.file("w/model.safetensors", 13 * CHUNK + 5)?;
    let config = s.file("config.json", 200)?;
    let first = vec![
        CommitOperation::add_file("model.safetensors", &weights),
        CommitOperation::add_file("config.json", &config),
        CommitOperation::add_bytes("notes/a.txt", &b"a\n"[..]),
        CommitOperation::add_bytes("notes/b.txt", &b"b\n"[..]),
        CommitOperation::add_bytes("old.txt", &b"old\n"[..]),
    ];
    let info = s.lfs.create_commit(&s.repo, first, &CommitOptions::new("first")).await?;
    assert_eq!(info.commit_oid.len(), 40);
    assert_eq!(info.commit_oid, s.head().await?);
    assert!(info.commit_url.ends_with(&info.commit_oid), "{}", info.commit_url);
    assert_eq!(info.uploaded.len(), 1, "one LFS object: {:?}", info.uploaded);
    assert_eq!(s.download("model.safetensors", "main").await?, Some(std::fs::read(&weights)?));
    assert_eq!(s.download("config.json", "main").await?, Some(std::fs::read(&config)?));
    assert_eq!(s.hub.stats().auth_leaks, 0);

    let second = vec![
        CommitOperation::delete_file("old.txt"),
        CommitOperation::delete_folder("notes"),
        CommitOperation::copy("model.safetensors", "copies/model.safetensors"),
        CommitOperation::copy("config.json", "copies/config.json"),
    ];
    let mut options = CommitOptions::new("second");
    options.description = "deletions and copies".into();
    let before = s.hub.stats().route("cdn-part") + s.hub.stats().route("cdn-upload");
    let info = s.lfs.create_commit(&s.repo, second, &options).await?;
    assert!(info.uploaded.is_empty(), "a copy sends no bytes");
    assert_eq!(s.hub.stats().route("cdn-part") + s.hub.stats().route("cdn-upload"), before);
    for gone in ["old.txt", "notes/a.txt", "notes/b.txt"] {
        assert_eq!(s.download(gone, "main").await?, None, "{gone}");
    }
    assert_eq!(
        s.download("copies/model.safetensors", "main").await?,
        Some(std::fs::read(&weights)?)
    );
    assert_eq!(s.download("copies/config.json", "main").await?, Some(std::fs::read(&config)?));
    Ok(())
}

#[tokio::test]
async fn unchanged_files_make_no_commit_and_send_nothing() -> TestResult {
    let s = setup().await?;
    let weights = s.file("w.bin", 5 * CHUNK)?;
    let ops = || {
        vec![
            CommitOperation::add_file("w.bin", &weights),
            CommitOperation::add_bytes("README.md", &b"# model\n"[..]),
        ]
    };
    let first = s.lfs.create_commit(&s.repo, ops(), &CommitOptions::new("add")).await?;
    let again = s.lfs.create_commit(&s.repo, ops(), &CommitOptions::new("again")).await?;
    assert!(again.no_changes);
    assert!(again.uploaded.is_empty());
    assert_eq!(again.commit_oid, first.commit_oid);
    assert_eq!(s.head().await?, first.commit_oid, "no empty commit");
    Ok(())
}

#[tokio::test]
async fn an_interrupted_upload_sends_only_what_is_missing_when_run_again() -> TestResult {
    let s = setup().await?;
    let folder = s.dir.path().join("model");
    let names =
        [("model/a.bin", 5 * CHUNK), ("model/b.bin", 5 * CHUNK + 1), ("model/c.bin", 7 * CHUNK)];
    for (name, size) in names {
        s.file(name, size)?;
    }
    // Only c.bin has a 7th part: it fails, whatever is retried.
    s.hub.faults().fail_part(7, None, 500);
    let options = CommitOptions::new("upload");
    let folder_options = FolderOptions::default();
    let err = s.lfs.upload_folder(&s.repo, &folder, &folder_options, &options).await;
    let message = err.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("part 7 of 7"), "{message}");
    assert_eq!(s.download("a.bin", "main").await?, None, "nothing committed");

    s.hub.faults().clear();
    let puts_before = s.hub.stats().route("cdn-part");
    let info = s.lfs.upload_folder(&s.repo, &folder, &folder_options, &options).await?;
    let sent: Vec<u64> = info.uploaded.iter().map(|o| o.size).collect();
    assert_eq!(sent, [7 * CHUNK], "only c.bin is sent again");
    assert_eq!(s.hub.stats().route("cdn-part") - puts_before, 7);
    for (name, _) in names {
        let local = std::fs::read(s.dir.path().join(name))?;
        let in_repo = name.trim_start_matches("model/");
        assert_eq!(s.download(in_repo, "main").await?, Some(local), "{name}");
    }
    Ok(())
}

#[tokio::test]
async fn upload_options_retries_apply_to_parts_whatever_the_client_retries() -> TestResult {
    let s = setup().await?;
    let path = s.file("big.bin", 5 * CHUNK)?;
    // The client retries twice; the part fails 4 times, then works.
    s.hub.faults().fail_part(2, Some(4), 503);
    let client = support::client(&s.hub, Some(hub_tests::seed::ALICE))?;
    let patient =
        hub_lfs::LfsClient::new(client, hub_lfs::UploadOptions::default().with_retries(4));
    let operations = vec![CommitOperation::add_file("big.bin", &path)];
    patient.create_commit(&s.repo, operations, &CommitOptions::new("big")).await?;
    assert_eq!(s.hub.faults().refused_part_puts(2), 4, "4 failures, the 5th try stored it");
    assert_eq!(s.download("big.bin", "main").await?, Some(std::fs::read(&path)?));

    // With retries: Some(1), the same fault fails the upload after 2 tries.
    s.hub.faults().clear();
    s.hub.faults().fail_part(2, Some(4), 503);
    let other = s.file("other.bin", 5 * CHUNK)?;
    let client = support::client(&s.hub, Some(hub_tests::seed::ALICE))?;
    let hasty = hub_lfs::LfsClient::new(client, hub_lfs::UploadOptions::default().with_retries(1));
    let operations = vec![CommitOperation::add_file("other.bin", &other)];
    let err = hasty.create_commit(&s.repo, operations, &CommitOptions::new("o")).await;
    assert!(err.is_err(), "the part failed twice");
    assert_eq!(s.hub.faults().refused_part_puts(2), 2);
    Ok(())
}

#[tokio::test]
async fn concurrent_commits_on_one_parent_one_wins_the_other_conflicts() -> TestResult {
    let s = setup().await?;
    s.lfs
        .create_commit(
            &s.repo,
            vec![CommitOperation::add_bytes("base.txt", &b"0"[..])],
            &CommitOptions::new("base"),
        )
        .await?;
    let parent = s.head().await?;
    let commit = |name: &'static str| {
        let mut options = CommitOptions::new(name);
        options.parent_commit = Some(parent.clone());
        let ops = vec![CommitOperation::add_bytes(name, name.as_bytes().to_vec())];
        let lfs = s.lfs.clone();
        let repo = s.repo.clone();
        async move { lfs.create_commit(&repo, ops, &options).await }
    };
    let (one, two) = tokio::join!(commit("one.txt"), commit("two.txt"));
    let (winner, loser) = match (one, two) {
        (Ok(info), Err(e)) => (info, e),
        (Err(e), Ok(info)) => (info, e),
        other => return Err(format!("expected one winner: {other:?}").into()),
    };
    assert!(matches!(loser, Error::Conflict { .. }), "{loser}");
    assert!(loser.to_string().contains(&parent), "{loser}");
    assert_eq!(s.head().await?, winner.commit_oid);
    let one = s.download("one.txt", "main").await?.is_some();
    let two = s.download("two.txt", "main").await?.is_some();
    assert!(one != two, "exactly one of the commits landed");
    Ok(())
}

#[tokio::test]
async fn a_pull_request_leaves_the_branch_alone() -> TestResult {
    let s = setup().await?;
    let main = s.head().await?;
    let mut options = CommitOptions::new("proposal");
    options.create_pr = true;
    let weights = s.file("w.bin", 6 * CHUNK)?;
    let ops = vec![
        CommitOperation::add_file("w.bin", &weights),
        CommitOperation::add_bytes("card.md", &b"proposed\n"[..]),
    ];
    let info = s.lfs.create_commit(&s.repo, ops, &options).await?;
    assert_eq!(info.pr_revision.as_deref(), Some("refs/pr/1"));
    assert!(info.pr_url.as_deref().is_some_and(|u| u.ends_with("/1")), "{:?}", info.pr_url);
    assert_eq!(s.head().await?, main);
    assert_eq!(s.download("card.md", "refs/pr/1").await?, Some(b"proposed\n".to_vec()));
    assert_eq!(s.download("w.bin", "refs/pr/1").await?, Some(std::fs::read(&weights)?));
    assert_eq!(s.download("card.md", "main").await?, None);
    Ok(())
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_sent() -> TestResult {
    let s = setup().await?;
    let before = s.total_requests();
    let cases: Vec<(Vec<CommitOperation>, &str, &str)> = vec![
        (
            vec![CommitOperation::add_file("a.bin", s.dir.path().join("missing.bin"))],
            "x",
            "missing.bin",
        ),
        (vec![CommitOperation::add_bytes(".git/config", &b"x"[..])], "x", ".git"),
        (vec![CommitOperation::add_bytes("a/../../b", &b"x"[..])], "x", ".."),
        (vec![CommitOperation::add_bytes("a.txt", &b"x"[..])], " ", "message"),
        (vec![CommitOperation::add_file("dir", s.dir.path())], "x", "not a file"),
    ];
    for (ops, message, expected) in cases {
        let err = s.lfs.create_commit(&s.repo, ops, &CommitOptions::new(message)).await;
        let text = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains(expected), "{text:?} should mention {expected:?}");
    }
    let mut options = CommitOptions::new("x");
    options.parent_commit = Some("not-a-commit".into());
    let ops = vec![CommitOperation::add_bytes("a.txt", &b"x"[..])];
    assert!(matches!(
        s.lfs.create_commit(&s.repo, ops, &options).await,
        Err(Error::InvalidParentCommit { .. })
    ));
    assert_eq!(s.total_requests(), before, "nothing was sent");
    Ok(())
}

#[tokio::test]
async fn upload_folder_filters_ignores_and_deletes() -> TestResult {
    let s = setup().await?;
    let root = s.dir.path().join("run");
    for (name, size) in [
        ("run/model.bin", 5 * CHUNK),
        ("run/config.json", 10),
        ("run/logs/train.log", 10),
        ("run/.git/HEAD", 10),
        ("run/sub/.cache/huggingface/x.metadata", 10),
        ("run/ckpt/step1.bin", 10),
    ] {
        s.file(name, size)?;
    }
    // Already in the repo: one stale checkpoint to delete, one file outside the pattern.
    let old = vec![
        CommitOperation::add_bytes("ckpt/step0.bin", &b"0"[..]),
        CommitOperation::add_bytes("keep.txt", &b"k"[..]),
    ];
    s.lfs.create_commit(&s.repo, old, &CommitOptions::new("old")).await?;
    let folder =
        FolderOptions::default().with_ignore_patterns(["logs/*"]).with_delete_patterns(["ckpt/*"]);
    let info = s.lfs.upload_folder(&s.repo, &root, &folder, &CommitOptions::new("run")).await?;
    assert_eq!(info.uploaded.len(), 2, "model.bin and ckpt/step1.bin: {:?}", info.uploaded);
    let mut files = s.lfs.hub().list_repo_files(&s.repo, &Revision::main()).await?;
    files.sort();
    assert_eq!(
        files,
        [".gitattributes", "ckpt/step1.bin", "config.json", "keep.txt", "model.bin"],
        "logs ignored, .git and .cache/huggingface never sent, ckpt/step0.bin deleted"
    );

    // Into a subfolder, only what is allowed.
    let folder =
        FolderOptions::default().with_path_in_repo("backup").with_allow_patterns(["*.json"]);
    s.lfs.upload_folder(&s.repo, &root, &folder, &CommitOptions::new("backup")).await?;
    let files = s.lfs.hub().list_repo_files(&s.repo, &Revision::main()).await?;
    assert!(files.contains(&"backup/config.json".to_owned()));
    assert!(
        !files.iter().any(|f| f.starts_with("backup/") && f != "backup/config.json"),
        "{files:?}"
    );
    assert!(matches!(
        s.lfs
            .upload_file(
                &s.repo,
                "../x",
                Source::Bytes(b"x".to_vec().into()),
                &CommitOptions::new("x")
            )
            .await,
        Err(Error::InvalidPathInRepo { .. })
    ));
    Ok(())
}

/// A training script with no `async` anywhere: a repo, an upload, a branch and a tag, then the
/// listings as plain iterators and the file back through the cache, on one runtime thread.
#[test]
fn a_synchronous_program_publishes_and_lists_without_async() -> TestResult {
    use hub_api::{
        BranchOptions, CreateRepoOptions, ListOptions, RefsOptions, TagOptions, TreeOptions,
    };
    use hub_lfs::UploadOptions;
    use hub_lfs::blocking::BlockingLfsClient;
    use hub_url::{Repo, RepoId, RepoPath, Revision};

    let hub = hub_tests::TestHub::start(hub_tests::HubConfig::default())?;
    hub.seed_default()?;
    let client = support::client(&hub, Some(hub_tests::seed::ALICE))?;
    let lfs = BlockingLfsClient::new(client, UploadOptions::default())?;
    let repo = Repo::model(RepoId::new("alice/sync-model")?);
    lfs.hub().create_repo(&repo, &CreateRepoOptions::default())?;
    let dir = tempfile::tempdir()?;
    let weights: Vec<u8> =
        (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let path = dir.path().join("weights.bin");
    std::fs::write(&path, &weights)?;
    let info =
        lfs.upload_file(&repo, "weights.bin", &Source::File(path), &CommitOptions::new("weights"))?;
    assert_eq!(info.uploaded.len(), 1, "the weights went through LFS: {info:?}");

    let hub_client = lfs.hub();
    hub_client.create_branch(&repo, "dev", &BranchOptions::default())?;
    hub_client.create_tag(&repo, "v1", &TagOptions::default().with_message("first"))?;
    let refs = hub_client.list_repo_refs(&repo, &RefsOptions::default())?;
    let mut branches: Vec<&str> = refs.branches.iter().map(|b| b.name.as_str()).collect();
    branches.sort_unstable();
    assert_eq!(branches, ["dev", "main"]);
    assert!(refs.tags.iter().any(|t| t.name == "v1"), "{refs:?}");

    let main = Revision::main();
    let paths: Vec<String> = hub_client
        .list_repo_tree(&repo, &main, &TreeOptions::default())
        .map(|entry| entry.map(|e| e.path))
        .collect::<Result<_, _>>()?;
    assert!(paths.iter().any(|p| p == "weights.bin"), "{paths:?}");
    let titles: Vec<String> = hub_client
        .list_repo_commits(&repo, &main)
        .map(|c| c.map(|c| c.title))
        .collect::<Result<_, _>>()?;
    assert_eq!(titles.first().map(String::as_str), Some("weights"), "{titles:?}");
    let mine = ListOptions::default().with_author("alice");
    let mut models = hub_client.list_models(&mine);
    assert!(models.any(|m| m.is_ok_and(|m| m.id == "alice/sync-model")));
    assert!(hub_client.file_exists(&repo, &main, &RepoPath::new("weights.bin")?)?);

    let cache = tempfile::tempdir()?;
    let options = DownloadOptions::new(CacheDir::new(cache.path().to_owned()));
    let local = hub_client.hf_hub_download(&repo, "weights.bin", &options)?;
    assert_eq!(std::fs::read(local)?, weights);
    Ok(())
}
