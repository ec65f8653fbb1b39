//! What the `hub-lfs` tests share: a TestHub with one of alice's repos and a client for it.

use hub_api::{CreateRepoOptions, HubClient, RetryConfig, Token};
use hub_lfs::{LfsClient, UploadOptions};
use hub_tests::{HubConfig, TestHub, seed};
use hub_url::{Endpoint, Repo, RepoId};

pub(crate) type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The TestHub's part size; objects of 4 parts or more go multipart.
pub(crate) const CHUNK: u64 = 64 * 1024;

pub(crate) struct Setup {
    pub(crate) hub: TestHub,
    pub(crate) repo: Repo,
    pub(crate) dir: tempfile::TempDir,
    /// Alice's client.
    pub(crate) lfs: LfsClient,
}

/// A client of `hub` with `token`, retrying twice, quickly.
pub(crate) fn client(
    hub: &TestHub,
    token: Option<&str>,
) -> Result<HubClient, Box<dyn std::error::Error>> {
    let retry = RetryConfig::default()
        .with_max_retries(2)
        .with_initial_backoff(std::time::Duration::from_millis(10))
        .with_max_backoff(std::time::Duration::from_millis(20));
    Ok(HubClient::builder(Endpoint::new(hub.endpoint())?)
        .token(token.map(Token::new).transpose()?)
        .retry(retry)
        .build()?)
}

/// A TestHub with `alice/published` created over the API (so it starts, as on the Hub, with
/// one commit holding `.gitattributes`) and a multipart threshold of 4 chunks.
pub(crate) async fn setup() -> Result<Setup, Box<dyn std::error::Error>> {
    let hub = TestHub::start(HubConfig::default())?;
    hub.seed_default()?;
    hub.set_multipart_threshold(4 * CHUNK);
    hub.set_chunk_size(CHUNK);
    let client = client(&hub, Some(seed::ALICE))?;
    let repo = Repo::model(RepoId::new("alice/published")?);
    client.create_repo(&repo, &CreateRepoOptions::default()).await?;
    let lfs = LfsClient::new(client, UploadOptions::default());
    Ok(Setup { hub, repo, dir: tempfile::tempdir()?, lfs })
}

impl Setup {
    /// Writes `size` bytes to `name` under the temp dir: text for text files (the Hub keeps
    /// them regular), random bytes otherwise (LFS).
    pub(crate) fn file(&self, name: &str, size: u64) -> Result<std::path::PathBuf, std::io::Error> {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let size = usize::try_from(size).map_err(std::io::Error::other)?;
        let data = if [".json", ".txt", ".log", ".md"].iter().any(|e| name.ends_with(e)) {
            format!("{name}\n").repeat(size).into_bytes()[..size].to_vec()
        } else {
            seed::deterministic_bytes(name, size)
        };
        std::fs::write(&path, data)?;
        Ok(path)
    }
}
