//! [`TestHub`]: starting and stopping the two listeners on a background runtime, and the
//! seeding helpers that drive git plumbing.

use std::{
    net::{SocketAddr, TcpListener as StdListener},
    path::{Path, PathBuf},
    sync::Arc,
    thread::JoinHandle,
    time::Duration,
};

use anyhow::Context;
use tokio::sync::watch;

use crate::{
    faults::{Faults, Host, Stats, lock},
    repo::Repo,
    seed::{self, SeedManifest},
    server,
    signing::Signer,
    state::{CommitSpec, Limits, RepoOptions, State, TokenRole},
};

/// How to start a [`TestHub`].
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Where repositories and LFS objects live; a fresh temp dir (deleted on drop) if `None`.
    pub root: Option<PathBuf>,
    /// Hub port on `127.0.0.1` (0 = any free port).
    pub port: u16,
    /// CDN port on `127.0.0.2` (0 = any free port).
    pub cdn_port: u16,
    /// LFS uploads of at least this many bytes need the `multipart` transfer.
    pub multipart_threshold: u64,
    /// Part size of multipart uploads.
    pub chunk_size: u64,
    /// How long signed CDN URLs stay valid.
    pub url_lifetime: Duration,
    /// The page size of every paginated route (listings, tree, commits); `None` = the Hub's
    /// (1000 for listings and trees, 50 for trees with `expand=true` and for commits).
    /// Tests set a small one to see several pages with few repos.
    pub page_size: Option<usize>,
}

impl Default for HubConfig {
    fn default() -> HubConfig {
        HubConfig {
            root: None,
            port: 0,
            cdn_port: 0,
            multipart_threshold: 5_000_000_000,
            chunk_size: 64 * 1024 * 1024,
            url_lifetime: Duration::from_secs(3600),
            page_size: None,
        }
    }
}

/// A large LFS file made by [`TestHub::add_large_file`] (printed by `testhub --large-file`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LargeFile {
    /// `model`, `dataset` or `space`.
    pub repo_type: crate::repo::RepoType,
    /// The repository id.
    pub repo_id: String,
    /// The path in the repository.
    pub path: String,
    /// The size of the content.
    pub size: u64,
    /// The sha256 of the content (the LFS oid).
    pub sha256: String,
    /// The git blob id of the pointer.
    pub git_oid: String,
    /// The commit on `main` that has the file.
    pub commit: String,
}

/// A running local Hub (see the crate docs). Stops when dropped.
#[derive(Debug)]
pub struct TestHub {
    state: Arc<State>,
    shutdown: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
    tempdir: Option<tempfile::TempDir>,
}

fn bind(addr: SocketAddr) -> std::io::Result<StdListener> {
    let listener = StdListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

impl TestHub {
    /// Binds the hub (`127.0.0.1`) and CDN (`127.0.0.2`, or `127.0.0.1` if that cannot be bound)
    /// listeners and serves them from a background runtime.
    pub fn start(config: HubConfig) -> anyhow::Result<TestHub> {
        let (tempdir, root) = match &config.root {
            Some(root) => {
                std::fs::create_dir_all(root)
                    .with_context(|| format!("creating {}", root.display()))?;
                (
                    None,
                    root.canonicalize().with_context(|| format!("resolving {}", root.display()))?,
                )
            }
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("testhub-")
                    .tempdir()
                    .context("creating a temp dir")?;
                let root = dir.path().canonicalize().context("resolving the temp dir")?;
                (Some(dir), root)
            }
        };
        let hub = bind(SocketAddr::from(([127, 0, 0, 1], config.port)))
            .with_context(|| format!("binding 127.0.0.1:{}", config.port))?;
        let cdn = bind(SocketAddr::from(([127, 0, 0, 2], config.cdn_port)))
            .or_else(|_| bind(SocketAddr::from(([127, 0, 0, 1], config.cdn_port))))
            .or_else(|_| bind(SocketAddr::from(([127, 0, 0, 1], 0))))
            .context("binding the CDN listener")?;
        let endpoint = format!("http://{}", hub.local_addr()?);
        let cdn_url = format!("http://{}", cdn.local_addr()?);
        let limits = Limits {
            multipart_threshold: config.multipart_threshold,
            chunk_size: config.chunk_size.max(1),
            page_size: config.page_size.map(|n| n.max(1)),
        };
        let state = Arc::new(State::new(
            &root,
            endpoint,
            cdn_url,
            Signer::new(config.url_lifetime),
            limits,
        )?);

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("testhub")
            .enable_all()
            .build()
            .context("building the tokio runtime")?;
        let (shutdown, rx) = watch::channel(false);
        let serve_state = state.clone();
        let thread = std::thread::Builder::new()
            .name("testhub".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let (hub, cdn) = match (
                        tokio::net::TcpListener::from_std(hub),
                        tokio::net::TcpListener::from_std(cdn),
                    ) {
                        (Ok(hub), Ok(cdn)) => (hub, cdn),
                        (Err(e), _) | (_, Err(e)) => {
                            tracing::error!("cannot register listeners: {e}");
                            return;
                        }
                    };
                    let hub_task = tokio::spawn(server::serve(
                        hub,
                        serve_state.clone(),
                        Host::Hub,
                        rx.clone(),
                    ));
                    let cdn_task = tokio::spawn(server::serve(cdn, serve_state, Host::Cdn, rx));
                    let _ = tokio::join!(hub_task, cdn_task);
                });
                runtime.shutdown_timeout(Duration::from_secs(2));
            })
            .context("spawning the testhub thread")?;
        Ok(TestHub { state, shutdown, thread: Some(thread), tempdir })
    }

    /// The hub's base URL, e.g. `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.state.endpoint
    }

    /// The CDN host's base URL, e.g. `http://127.0.0.2:PORT`.
    pub fn cdn_url(&self) -> &str {
        &self.state.cdn_url
    }

    /// The root directory (repos under `repos/`, LFS objects under `lfs/`).
    pub fn root(&self) -> &Path {
        &self.state.root
    }

    /// Fault injection.
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.state.recorder.snapshot()
    }

    /// Clears faults and counters.
    pub fn reset(&self) {
        self.state.faults.clear();
        self.state.recorder.reset();
    }

    /// Adds (or replaces) a user and the orgs it belongs to.
    pub fn create_user(&self, name: &str, orgs: &[&str]) {
        self.state.create_user(name, orgs);
    }

    /// Adds a token for an existing user.
    pub fn add_token(&self, user: &str, token: &str, role: TokenRole) -> anyhow::Result<()> {
        self.state.add_token(user, token, role)
    }

    /// Creates an empty bare repository.
    pub fn create_repo(&self, repo: &Repo, options: RepoOptions) -> anyhow::Result<()> {
        self.state.create_repo(repo, &options)
    }

    /// Makes a commit and returns its id.
    pub fn commit_files(&self, repo: &Repo, commit: CommitSpec) -> anyhow::Result<String> {
        Ok(self.state.commit_files(repo, commit)?.0)
    }

    /// Creates branch `branch` at `from` (a revision); returns the commit id.
    pub fn create_branch(&self, repo: &Repo, branch: &str, from: &str) -> anyhow::Result<String> {
        self.state.create_ref(repo, &format!("refs/heads/{branch}"), from)
    }

    /// Creates tag `tag` at `rev`; returns the commit id.
    pub fn create_tag(&self, repo: &Repo, tag: &str, rev: &str) -> anyhow::Result<String> {
        self.state.create_ref(repo, &format!("refs/tags/{tag}"), rev)
    }

    /// Points the full ref `refname` (e.g. `refs/pr/1`) at `rev`; returns the commit id.
    pub fn set_ref(&self, repo: &Repo, refname: &str, rev: &str) -> anyhow::Result<String> {
        self.state.set_ref(repo, refname, rev)
    }

    /// The commit `rev` resolves to in `repo`, if any.
    pub fn resolve_revision(&self, repo: &Repo, rev: &str) -> anyhow::Result<Option<String>> {
        self.state.resolve_revision(repo, rev)
    }

    /// Lets `user` read gated repository `repo`.
    pub fn grant_gated_access(&self, repo: &Repo, user: &str) -> anyhow::Result<()> {
        self.state.grant_gated_access(repo, user)
    }

    /// Renames `from` to `to_id` (same type); the old id then answers relative 307 redirects.
    pub fn rename_repo(&self, from: &Repo, to_id: &str) -> anyhow::Result<()> {
        self.state.rename_repo(from, &Repo::new(from.repo_type, to_id))
    }

    /// Changes the multipart threshold for the next LFS batch requests.
    pub fn set_multipart_threshold(&self, bytes: u64) {
        lock(&self.state.limits).multipart_threshold = bytes;
    }

    /// Changes the multipart part size for the next LFS batch requests.
    pub fn set_chunk_size(&self, bytes: u64) {
        lock(&self.state.limits).chunk_size = bytes.max(1);
    }

    /// Changes the page size of the paginated routes (`None` = the Hub's sizes).
    pub fn set_page_size(&self, size: Option<usize>) {
        lock(&self.state.limits).page_size = size.map(|n| n.max(1));
    }

    /// Whether the LFS store holds object `oid` (and its size).
    pub fn lfs_object_size(&self, oid: &str) -> Option<u64> {
        self.state.lfs.size_of(oid)
    }

    /// A CDN URL for object `oid` signed for GET, valid until `expires_at` (unix seconds).
    pub fn signed_cdn_url(&self, oid: &str, expires_at: u64) -> String {
        format!(
            "{}/lfs/{oid}?{}",
            self.state.cdn_url,
            self.state.signer.query_expiring_at("GET", oid, expires_at)
        )
    }

    /// Commits an LFS file of `size` deterministic bytes ([`seed::DeterministicReader`], label
    /// `"{type}/{repo_id}/{path}"`) on `main` of `repo`, creating the repository (owned by its
    /// namespace) if needed. The bytes are generated while they are hashed and written to the LFS
    /// store: nothing is held in memory, and a root that already has the object skips the work.
    /// When `main` already has that exact file, no commit is made.
    pub fn add_large_file(&self, repo: &Repo, path: &str, size: u64) -> anyhow::Result<LargeFile> {
        if self.state.meta(repo).is_none() {
            self.state.create_repo(repo, &RepoOptions::default())?;
        }
        let label = format!("{}/{}/{path}", repo.repo_type.as_str(), repo.repo_id);
        let (sha256, size) = self.state.lfs.put_generated(&label, size)?;
        let git_dir = self.state.git_dir(repo);
        let pointer = crate::lfs_store::pointer_text(&sha256, size);
        if let Some(main) = crate::repo::ref_target(&git_dir, "refs/heads/main")?
            && let Some(entry) = crate::repo::lookup_path(&git_dir, &main, path)?
            && entry.kind == "blob"
            && crate::repo::read_blob(&git_dir, &entry.oid)? == pointer.as_bytes()
        {
            return Ok(LargeFile {
                repo_type: repo.repo_type,
                repo_id: repo.repo_id.clone(),
                path: path.to_owned(),
                size,
                sha256,
                git_oid: entry.oid,
                commit: main,
            });
        }
        let spec =
            CommitSpec::new("main", &format!("Add {path}")).lfs_generated(path, &label, size);
        let (commit, written) = self.state.commit_files(repo, spec)?;
        let git_oid = written.into_iter().next().map(|f| f.git_oid).unwrap_or_default();
        Ok(LargeFile {
            repo_type: repo.repo_type,
            repo_id: repo.repo_id.clone(),
            path: path.to_owned(),
            size,
            sha256,
            git_oid,
            commit,
        })
    }

    /// Creates the default seed (users, tokens, repositories) and returns its manifest.
    pub fn seed_default(&self) -> anyhow::Result<SeedManifest> {
        seed::seed_default(&self.state)
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        drop(self.tempdir.take());
    }
}
