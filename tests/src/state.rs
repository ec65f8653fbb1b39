//! The hub's shared state: users, tokens, repository metadata, the LFS store, the signer,
//! faults and counters; plus the seeding operations that write to it.
//!
//! Users and tokens live in memory. Repository metadata (private, gated, owner, gated access
//! list, renames) is persisted in `root/hub.json` so a restarted hub on the same root serves
//! the same repositories.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    fs,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, atomic::AtomicU64},
};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    faults::{Faults, Recorder, lock},
    lfs_store::{LfsStore, pointer_text},
    repo::{self, Repo, Signature, is_valid_repo_id},
    signing::Signer,
    util::{base64_decode, hex},
};

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenRole {
    /// Read public repos and the repos the user can see.
    Read,
    /// Also push to the repos of the user and their orgs.
    Write,
}

/// Options for [`crate::TestHub::create_repo`].
#[derive(Clone, Debug, Default)]
pub struct RepoOptions {
    /// Only the owner (user, or members of the owning org) can see it.
    pub private: bool,
    /// Reading needs a token of a user with granted access (or the owner).
    pub gated: bool,
    /// The owning user or org; defaults to the repo id's namespace.
    pub owner: Option<String>,
    /// Tags (listings filter on them; the library name is one, e.g. `pytorch`).
    pub tags: Vec<String>,
    /// `library_name` in repo info and listings.
    pub library_name: Option<String>,
    /// `pipeline_tag` in repo info and listings (models).
    pub pipeline_tag: Option<String>,
    /// The Space SDK (`gradio`, `streamlit`, `docker`, `static`); `static` if `None`.
    pub sdk: Option<String>,
    /// `downloads` in repo info and listings (sortable).
    pub downloads: u64,
    /// `likes` in repo info and listings (sortable).
    pub likes: u64,
}

/// The content of one committed file.
#[derive(Clone, Debug)]
pub enum FileContent {
    /// A regular git blob.
    Regular(Vec<u8>),
    /// An LFS file: the bytes go to the LFS store, git gets the pointer.
    Lfs(Vec<u8>),
    /// An LFS file copied (streamed) from a file on disk.
    LfsFile(PathBuf),
    /// An LFS file of `size` deterministic bytes derived from `label`
    /// ([`crate::seed::DeterministicReader`]), streamed into the store.
    LfsGenerated {
        /// What the bytes are derived from.
        label: String,
        /// How many bytes.
        size: u64,
    },
    /// An LFS object already in the store (uploaded through the batch API): git gets its pointer.
    LfsStored {
        /// Its sha256.
        oid: String,
    },
}

/// Where a commit starts.
#[derive(Clone, Debug, Default)]
pub enum Parent {
    /// The branch's current tip (a root commit when the branch does not exist).
    #[default]
    Tip,
    /// This revision; the branch must not exist yet or point at it.
    Of(String),
    /// A root commit; the branch must not exist yet.
    Root,
}

/// A commit to make with [`crate::TestHub::commit_files`].
#[derive(Clone, Debug)]
pub struct CommitSpec {
    /// A branch name (`main`) or a full ref (`refs/pr/1`).
    pub branch: String,
    /// Where the commit starts.
    pub parent: Parent,
    /// Files to add or replace.
    pub files: Vec<(String, FileContent)>,
    /// Paths to delete.
    pub deletions: Vec<String>,
    /// The commit message.
    pub message: String,
    /// The user the commit is by, dated now; `None`: the TestHub at the seeds' fixed date.
    pub author: Option<String>,
}

impl CommitSpec {
    /// A commit on `branch` (from its tip) with `message` and no files yet.
    pub fn new(branch: &str, message: &str) -> CommitSpec {
        CommitSpec {
            branch: branch.to_owned(),
            parent: Parent::Tip,
            files: Vec::new(),
            deletions: Vec::new(),
            message: message.to_owned(),
            author: None,
        }
    }

    /// Adds a regular file.
    pub fn regular(mut self, path: &str, data: impl Into<Vec<u8>>) -> CommitSpec {
        self.files.push((path.to_owned(), FileContent::Regular(data.into())));
        self
    }

    /// Adds an LFS file.
    pub fn lfs(mut self, path: &str, data: impl Into<Vec<u8>>) -> CommitSpec {
        self.files.push((path.to_owned(), FileContent::Lfs(data.into())));
        self
    }

    /// Adds an LFS file whose content is read from `source`.
    pub fn lfs_file(mut self, path: &str, source: &Path) -> CommitSpec {
        self.files.push((path.to_owned(), FileContent::LfsFile(source.to_owned())));
        self
    }

    /// Adds an LFS file of `size` deterministic bytes derived from `label`, generated while it is
    /// streamed into the LFS store (never held in memory).
    pub fn lfs_generated(mut self, path: &str, label: &str, size: u64) -> CommitSpec {
        self.files
            .push((path.to_owned(), FileContent::LfsGenerated { label: label.to_owned(), size }));
        self
    }

    /// Deletes a path.
    pub fn delete(mut self, path: &str) -> CommitSpec {
        self.deletions.push(path.to_owned());
        self
    }

    /// Sets where the commit starts.
    pub fn parent(mut self, parent: Parent) -> CommitSpec {
        self.parent = parent;
        self
    }

    /// Makes the commit by `user`, dated now.
    pub fn author(mut self, user: &str) -> CommitSpec {
        self.author = Some(user.to_owned());
        self
    }
}

/// What was written for one file of a commit.
#[derive(Clone, Debug)]
pub(crate) struct WrittenFile {
    pub(crate) path: String,
    pub(crate) size: u64,
    pub(crate) sha256: String,
    pub(crate) git_oid: String,
    pub(crate) lfs: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct RepoMeta {
    pub(crate) private: bool,
    pub(crate) gated: bool,
    pub(crate) owner: String,
    #[serde(default)]
    pub(crate) gated_access: BTreeSet<String>,
    /// `auto` or `manual` when gated (`manual` if unset).
    #[serde(default)]
    pub(crate) gated_mode: Option<String>,
    #[serde(default)]
    pub(crate) tags: Vec<String>,
    #[serde(default)]
    pub(crate) library_name: Option<String>,
    #[serde(default)]
    pub(crate) pipeline_tag: Option<String>,
    #[serde(default)]
    pub(crate) sdk: Option<String>,
    #[serde(default)]
    pub(crate) downloads: u64,
    #[serde(default)]
    pub(crate) likes: u64,
    /// Creation time, unix seconds (deterministic: see [`State::create_repo`]).
    #[serde(default)]
    pub(crate) created: u64,
    /// Per-repo LFS multipart threshold (the seed-era `lfsmultipartthresh`).
    #[serde(default)]
    pub(crate) multipart_threshold: Option<u64>,
}

impl RepoMeta {
    /// The `gated` value of the Hub's JSON: `"auto"`, `"manual"` or `false`.
    pub(crate) fn gated_json(&self) -> serde_json::Value {
        match (self.gated, self.gated_mode.as_deref()) {
            (false, _) => serde_json::Value::Bool(false),
            (true, Some("auto")) => "auto".into(),
            (true, _) => "manual".into(),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct PersistedRegistry {
    repos: Vec<(Repo, RepoMeta)>,
    renames: Vec<(Repo, Repo)>,
    #[serde(default)]
    created: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Registry {
    pub(crate) repos: BTreeMap<Repo, RepoMeta>,
    pub(crate) renames: BTreeMap<Repo, Repo>,
    /// How many repositories were ever created (gives each a distinct creation time).
    pub(crate) created: u64,
}

/// Creation times start here (2024-01-01) and are one hour apart, so they are reproducible and
/// sort in creation order.
const CREATED_BASE: u64 = 1_704_067_200;

/// Settings changed by `PUT /api/{t}/{id}/settings`.
#[derive(Debug, Default, Clone)]
pub(crate) struct SettingsUpdate {
    pub(crate) private: Option<bool>,
    /// `Some(None)` = not gated; `Some(Some("auto"|"manual"))` = gated.
    pub(crate) gated: Option<Option<String>>,
}

#[derive(Debug, Clone)]
struct TokenRec {
    user: String,
    role: TokenRole,
}

/// Knobs that can change at run time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) multipart_threshold: u64,
    pub(crate) chunk_size: u64,
    /// The page size of every paginated route; `None` = the Hub's own sizes.
    pub(crate) page_size: Option<usize>,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Auth {
    Anonymous,
    User { name: String, role: TokenRole },
    Invalid,
}

impl Auth {
    pub(crate) fn user(&self) -> Option<&str> {
        match self {
            Auth::User { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// The outcome of a read-access check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadAccess {
    Granted,
    /// Missing, or private and not visible: 401 `RepoNotFound`.
    NotFound,
    /// Gated and anonymous: 401 `GatedRepo`.
    GatedAnonymous,
    /// Gated and the user has no access: 403 `GatedRepo`.
    GatedDenied,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) root: PathBuf,
    pub(crate) endpoint: String,
    pub(crate) cdn_url: String,
    pub(crate) signer: Signer,
    pub(crate) lfs: LfsStore,
    pub(crate) faults: Faults,
    pub(crate) recorder: Recorder,
    pub(crate) request_seq: AtomicU64,
    pub(crate) limits: Mutex<Limits>,
    users: Mutex<HashMap<String, BTreeSet<String>>>,
    tokens: Mutex<HashMap<String, TokenRec>>,
    pub(crate) registry: Mutex<Registry>,
    write_lock: Mutex<()>,
    /// One lock per repository, held while a commit is prepared and its ref moved.
    repo_locks: Mutex<HashMap<Repo, Arc<Mutex<()>>>>,
}

impl State {
    pub(crate) fn new(
        root: &Path,
        endpoint: String,
        cdn_url: String,
        signer: Signer,
        limits: Limits,
    ) -> anyhow::Result<State> {
        fs::create_dir_all(root.join("repos")).context("creating the repos dir")?;
        fs::create_dir_all(root.join("cache").join("blobs")).context("creating the blob cache")?;
        let lfs = LfsStore::new(root)?;
        let mut registry = Registry::default();
        let persisted = root.join("hub.json");
        if persisted.exists() {
            let text = fs::read_to_string(&persisted)
                .with_context(|| format!("reading {}", persisted.display()))?;
            let p: PersistedRegistry = serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", persisted.display()))?;
            registry.repos = p.repos.into_iter().collect();
            registry.renames = p.renames.into_iter().collect();
            registry.created = p.created.max(registry.repos.len() as u64);
        }
        Ok(State {
            root: root.to_owned(),
            endpoint,
            cdn_url,
            signer,
            lfs,
            faults: Faults::default(),
            recorder: Recorder::default(),
            request_seq: AtomicU64::new(0),
            limits: Mutex::new(limits),
            users: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            registry: Mutex::new(registry),
            write_lock: Mutex::new(()),
            repo_locks: Mutex::new(HashMap::new()),
        })
    }

    /// How long the signed URLs issued now are valid: the `expire_url` fault's lifetime, else
    /// the configured one.
    pub(crate) fn url_lifetime(&self) -> std::time::Duration {
        self.faults.url_lifetime().unwrap_or_else(|| self.signer.lifetime())
    }

    /// The query string (`exp=…&sig=…`) signing `method` on `object` for [`State::url_lifetime`].
    pub(crate) fn sign(&self, method: &str, object: &str) -> String {
        self.signer.query(method, object, self.url_lifetime())
    }

    pub(crate) fn repos_root(&self) -> PathBuf {
        self.root.join("repos")
    }

    pub(crate) fn git_dir(&self, repo: &Repo) -> PathBuf {
        self.repos_root().join(repo.relative_git_dir())
    }

    pub(crate) fn limits(&self) -> Limits {
        *lock(&self.limits)
    }

    fn save_registry(&self, registry: &Registry) -> anyhow::Result<()> {
        let p = PersistedRegistry {
            repos: registry.repos.iter().map(|(r, m)| (r.clone(), m.clone())).collect(),
            renames: registry.renames.iter().map(|(a, b)| (a.clone(), b.clone())).collect(),
            created: registry.created,
        };
        let text = serde_json::to_string_pretty(&p).context("serializing the registry")?;
        let mut tmp =
            tempfile::NamedTempFile::new_in(&self.root).context("creating a temp file")?;
        std::io::Write::write_all(&mut tmp, text.as_bytes()).context("writing hub.json")?;
        tmp.persist(self.root.join("hub.json")).context("persisting hub.json")?;
        Ok(())
    }

    // ---- users, tokens, auth -------------------------------------------------------------

    pub(crate) fn create_user(&self, name: &str, orgs: &[&str]) {
        lock(&self.users).insert(name.to_owned(), orgs.iter().map(|o| (*o).to_owned()).collect());
    }

    pub(crate) fn add_token(&self, user: &str, token: &str, role: TokenRole) -> anyhow::Result<()> {
        if !lock(&self.users).contains_key(user) {
            return Err(anyhow::format_err!("unknown user `{user}`"));
        }
        lock(&self.tokens).insert(token.to_owned(), TokenRec { user: user.to_owned(), role });
        Ok(())
    }

    pub(crate) fn user_orgs(&self, user: &str) -> Vec<String> {
        lock(&self.users).get(user).map(|o| o.iter().cloned().collect()).unwrap_or_default()
    }

    /// Authenticates an `Authorization` header value (Bearer, or Basic with the token as password).
    pub(crate) fn authenticate(&self, header: Option<&str>) -> Auth {
        let Some(value) = header else { return Auth::Anonymous };
        let value = value.trim();
        let token = if let Some(t) = strip_prefix_ci(value, "bearer ") {
            Some(t.trim().to_owned())
        } else if let Some(b) = strip_prefix_ci(value, "basic ") {
            base64_decode(b).and_then(|raw| String::from_utf8(raw).ok()).and_then(|s| {
                // The token is the password; `TOKEN:` (empty password) is accepted too.
                s.split_once(':')
                    .map(|(user, pass)| if pass.is_empty() { user } else { pass }.to_owned())
            })
        } else {
            None
        };
        let Some(token) = token else { return Auth::Invalid };
        match lock(&self.tokens).get(&token) {
            Some(rec) => Auth::User { name: rec.user.clone(), role: rec.role },
            None => Auth::Invalid,
        }
    }

    /// Whether `user` is `owner` or a member of the org `owner`.
    pub(crate) fn is_owner(&self, user: &str, owner: &str) -> bool {
        user == owner || lock(&self.users).get(user).is_some_and(|orgs| orgs.contains(owner))
    }

    pub(crate) fn meta(&self, repo: &Repo) -> Option<RepoMeta> {
        lock(&self.registry).repos.get(repo).cloned()
    }

    pub(crate) fn renamed_to(&self, repo: &Repo) -> Option<Repo> {
        lock(&self.registry).renames.get(repo).cloned()
    }

    pub(crate) fn read_access(&self, repo: &Repo, auth: &Auth) -> ReadAccess {
        let Some(meta) = self.meta(repo) else { return ReadAccess::NotFound };
        let user = auth.user();
        let owner = user.is_some_and(|u| self.is_owner(u, &meta.owner));
        if meta.private && !owner {
            return ReadAccess::NotFound;
        }
        if meta.gated && !owner {
            return match user {
                None => ReadAccess::GatedAnonymous,
                Some(u) if meta.gated_access.contains(u) => ReadAccess::Granted,
                Some(_) => ReadAccess::GatedDenied,
            };
        }
        ReadAccess::Granted
    }

    pub(crate) fn can_write(&self, repo: &Repo, auth: &Auth) -> bool {
        match (auth, self.meta(repo)) {
            (Auth::User { name, role: TokenRole::Write }, Some(meta)) => {
                self.is_owner(name, &meta.owner)
            }
            _ => false,
        }
    }

    // ---- repositories --------------------------------------------------------------------

    pub(crate) fn create_repo(&self, repo: &Repo, options: &RepoOptions) -> anyhow::Result<()> {
        if !is_valid_repo_id(&repo.repo_id) {
            return Err(anyhow::format_err!("invalid repo id `{}`", repo.repo_id));
        }
        let _guard = lock(&self.write_lock);
        let mut registry = lock(&self.registry);
        if registry.repos.contains_key(repo) {
            return Err(anyhow::format_err!("repository `{repo}` already exists"));
        }
        let owner = match (&options.owner, repo.namespace()) {
            (Some(owner), _) => owner.clone(),
            (None, Some(ns)) => ns.to_owned(),
            (None, None) => {
                return Err(anyhow::format_err!("`{repo}` has no namespace: give an owner"));
            }
        };
        repo::init_bare(&self.git_dir(repo))?;
        registry.renames.remove(repo);
        let created = CREATED_BASE + registry.created * 3600;
        registry.created += 1;
        registry.repos.insert(
            repo.clone(),
            RepoMeta {
                private: options.private,
                gated: options.gated,
                owner,
                tags: options.tags.clone(),
                library_name: options.library_name.clone(),
                pipeline_tag: options.pipeline_tag.clone(),
                sdk: options.sdk.clone(),
                downloads: options.downloads,
                likes: options.likes,
                created,
                ..RepoMeta::default()
            },
        );
        self.save_registry(&registry)
    }

    /// Sets the per-repo LFS multipart threshold.
    pub(crate) fn set_repo_multipart_threshold(
        &self,
        repo: &Repo,
        bytes: Option<u64>,
    ) -> anyhow::Result<()> {
        let mut registry = lock(&self.registry);
        let meta =
            registry.repos.get_mut(repo).with_context(|| format!("no repository `{repo}`"))?;
        meta.multipart_threshold = bytes;
        self.save_registry(&registry)
    }

    /// Every repository with its metadata.
    pub(crate) fn list_repos(&self) -> Vec<(Repo, RepoMeta)> {
        lock(&self.registry).repos.iter().map(|(r, m)| (r.clone(), m.clone())).collect()
    }

    /// Deletes a repository (its git directory; LFS objects stay, they are shared) and the
    /// renames that pointed to it.
    pub(crate) fn delete_repo(&self, repo: &Repo) -> anyhow::Result<()> {
        let _guard = lock(&self.write_lock);
        let mut registry = lock(&self.registry);
        if registry.repos.remove(repo).is_none() {
            return Err(anyhow::format_err!("no repository `{repo}`"));
        }
        // Old names that led here, directly or through other renames, lead nowhere now.
        loop {
            let before = registry.renames.len();
            let dangling: Vec<Repo> = registry
                .renames
                .iter()
                .filter(|(_, to)| {
                    !registry.repos.contains_key(*to) && !registry.renames.contains_key(*to)
                })
                .map(|(from, _)| from.clone())
                .collect();
            for from in dangling {
                registry.renames.remove(&from);
            }
            if registry.renames.len() == before {
                break;
            }
        }
        let saved = self.save_registry(&registry);
        let dir = self.git_dir(repo);
        fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        saved
    }

    /// Changes visibility and gating.
    pub(crate) fn update_settings(
        &self,
        repo: &Repo,
        update: &SettingsUpdate,
    ) -> anyhow::Result<RepoMeta> {
        let mut registry = lock(&self.registry);
        let meta =
            registry.repos.get_mut(repo).with_context(|| format!("no repository `{repo}`"))?;
        if let Some(private) = update.private {
            meta.private = private;
        }
        if let Some(gated) = &update.gated {
            meta.gated = gated.is_some();
            meta.gated_mode = gated.clone();
        }
        let meta = meta.clone();
        self.save_registry(&registry)?;
        Ok(meta)
    }

    fn require_repo(&self, repo: &Repo) -> anyhow::Result<PathBuf> {
        if self.meta(repo).is_none() {
            return Err(anyhow::format_err!("no repository `{repo}`"));
        }
        Ok(self.git_dir(repo))
    }

    pub(crate) fn grant_gated_access(&self, repo: &Repo, user: &str) -> anyhow::Result<()> {
        let mut registry = lock(&self.registry);
        let meta =
            registry.repos.get_mut(repo).with_context(|| format!("no repository `{repo}`"))?;
        meta.gated_access.insert(user.to_owned());
        self.save_registry(&registry)
    }

    pub(crate) fn rename_repo(&self, from: &Repo, to: &Repo) -> anyhow::Result<()> {
        if !is_valid_repo_id(&to.repo_id) {
            return Err(anyhow::format_err!("invalid repo id `{}`", to.repo_id));
        }
        let _guard = lock(&self.write_lock);
        let mut registry = lock(&self.registry);
        if registry.repos.contains_key(to) {
            return Err(anyhow::format_err!("repository `{to}` already exists"));
        }
        let mut meta =
            registry.repos.remove(from).with_context(|| format!("no repository `{from}`"))?;
        let (src, dest) = (self.git_dir(from), self.git_dir(to));
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::rename(&src, &dest)
            .with_context(|| format!("moving {} to {}", src.display(), dest.display()))?;
        if from.namespace() != to.namespace()
            && let Some(ns) = to.namespace()
        {
            meta.owner = ns.to_owned();
        }
        registry.repos.insert(to.clone(), meta);
        registry.renames.remove(to);
        registry.renames.insert(from.clone(), to.clone());
        self.save_registry(&registry)
    }

    fn full_ref(branch: &str) -> String {
        if branch.starts_with("refs/") { branch.to_owned() } else { format!("refs/heads/{branch}") }
    }

    /// The lock that serializes the commits of `repo`: hold it from reading a ref to moving it.
    pub(crate) fn repo_lock(&self, repo: &Repo) -> Arc<Mutex<()>> {
        lock(&self.repo_locks).entry(repo.clone()).or_default().clone()
    }

    pub(crate) fn commit_files(
        &self,
        repo: &Repo,
        spec: CommitSpec,
    ) -> anyhow::Result<(String, Vec<WrittenFile>)> {
        let repo_lock = self.repo_lock(repo);
        let _guard = lock(&repo_lock);
        self.commit_files_locked(repo, spec)
    }

    /// [`State::commit_files`] for a caller that holds [`State::repo_lock`].
    pub(crate) fn commit_files_locked(
        &self,
        repo: &Repo,
        spec: CommitSpec,
    ) -> anyhow::Result<(String, Vec<WrittenFile>)> {
        let git_dir = self.require_repo(repo)?;
        let refname = Self::full_ref(&spec.branch);
        let current = repo::ref_target(&git_dir, &refname)?;
        let parent = match &spec.parent {
            Parent::Tip => current.clone(),
            Parent::Root => {
                if current.is_some() {
                    return Err(anyhow::format_err!("`{refname}` already exists in `{repo}`"));
                }
                None
            }
            Parent::Of(rev) => {
                let commit = repo::resolve_revision(&git_dir, rev)?
                    .with_context(|| format!("no revision `{rev}` in `{repo}`"))?;
                if current.as_ref().is_some_and(|c| *c != commit) {
                    return Err(anyhow::format_err!("`{refname}` in `{repo}` is not at `{rev}`"));
                }
                Some(commit)
            }
        };
        let mut written = Vec::new();
        let mut additions = Vec::new();
        for (path, content) in &spec.files {
            let file = match content {
                FileContent::Regular(data) => WrittenFile {
                    path: path.clone(),
                    size: data.len() as u64,
                    sha256: hex(&Sha256::digest(data)),
                    git_oid: repo::hash_object(&git_dir, data)?,
                    lfs: false,
                },
                FileContent::Lfs(data) => {
                    let (oid, size) = self.lfs.put_bytes(data)?;
                    let git_oid = repo::hash_object(&git_dir, pointer_text(&oid, size).as_bytes())?;
                    WrittenFile { path: path.clone(), size, sha256: oid, git_oid, lfs: true }
                }
                FileContent::LfsFile(source) => {
                    let (oid, size) = self.lfs.put_file(source)?;
                    let git_oid = repo::hash_object(&git_dir, pointer_text(&oid, size).as_bytes())?;
                    WrittenFile { path: path.clone(), size, sha256: oid, git_oid, lfs: true }
                }
                FileContent::LfsGenerated { label, size } => {
                    let (oid, size) = self.lfs.put_generated(label, *size)?;
                    let git_oid = repo::hash_object(&git_dir, pointer_text(&oid, size).as_bytes())?;
                    WrittenFile { path: path.clone(), size, sha256: oid, git_oid, lfs: true }
                }
                FileContent::LfsStored { oid } => {
                    let size = self
                        .lfs
                        .size_of(oid)
                        .with_context(|| format!("LFS object {oid} is not in the store"))?;
                    let git_oid = repo::hash_object(&git_dir, pointer_text(oid, size).as_bytes())?;
                    WrittenFile {
                        path: path.clone(),
                        size,
                        sha256: oid.clone(),
                        git_oid,
                        lfs: true,
                    }
                }
            };
            additions.push((file.path.clone(), file.git_oid.clone()));
            written.push(file);
        }
        let commit = repo::write_commit(
            &git_dir,
            parent.as_deref(),
            &additions,
            &spec.deletions,
            &spec.message,
            &spec.author.as_deref().map_or_else(Signature::testhub, Signature::user),
        )?;
        repo::update_ref(&git_dir, &refname, &commit, current.as_deref())?;
        Ok((commit, written))
    }

    pub(crate) fn set_ref(&self, repo: &Repo, refname: &str, rev: &str) -> anyhow::Result<String> {
        let git_dir = self.require_repo(repo)?;
        let commit = repo::resolve_revision(&git_dir, rev)?
            .with_context(|| format!("no revision `{rev}` in `{repo}`"))?;
        let current = repo::ref_target(&git_dir, refname)?;
        repo::update_ref(&git_dir, refname, &commit, current.as_deref())?;
        Ok(commit)
    }

    pub(crate) fn create_ref(
        &self,
        repo: &Repo,
        refname: &str,
        rev: &str,
    ) -> anyhow::Result<String> {
        let git_dir = self.require_repo(repo)?;
        let commit = repo::resolve_revision(&git_dir, rev)?
            .with_context(|| format!("no revision `{rev}` in `{repo}`"))?;
        repo::update_ref(&git_dir, refname, &commit, None)?;
        Ok(commit)
    }

    pub(crate) fn resolve_revision(
        &self,
        repo: &Repo,
        rev: &str,
    ) -> anyhow::Result<Option<String>> {
        let git_dir = self.require_repo(repo)?;
        repo::resolve_revision(&git_dir, rev)
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}
