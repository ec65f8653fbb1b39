//! Publishing over HTTP, without git (`docs/protocol/upload.md#overview`): `create_commit` asks
//! the Hub which files go to LFS (preupload), uploads the LFS objects it lacks (batch API,
//! `basic` or `multipart`), then sends one NDJSON commit with the regular files inlined.
//! `upload_file`, `upload_folder`, `delete_file` and `delete_folder` are built on it.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};
use http::Method;
use http::header::{CONTENT_TYPE, HeaderValue};
use hub_api::{HubError, HubRequest, InfoOptions, Patterns, Progress, RepoInfo, Retry};
use hub_url::{Repo, RepoPath, Revision};
use serde::Deserialize;
use serde_json::{Value, json};
use sha1::Digest as _;

use crate::batch::ObjectSpec;
use crate::client::{LfsClient, Source};
use crate::{Error, pointer};

/// Where an added file's bytes come from.
pub type AddSource = Source;

/// One change of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommitOperation {
    /// Add or replace a file.
    Add {
        /// Its path in the repo.
        path_in_repo: String,
        /// Its content.
        source: AddSource,
    },
    /// Delete a file, or a folder and everything under it.
    Delete {
        /// The path in the repo.
        path_in_repo: String,
        /// A folder.
        is_folder: bool,
    },
    /// Copy a file already in the repo (an LFS file is copied without uploading it again).
    Copy {
        /// The file to copy.
        src_path_in_repo: String,
        /// Where the copy goes.
        path_in_repo: String,
        /// The revision to copy from (the commit's revision when `None`).
        src_revision: Option<String>,
    },
}

impl CommitOperation {
    /// Adds the local file at `local` as `path_in_repo`.
    pub fn add_file(path_in_repo: &str, local: impl Into<PathBuf>) -> CommitOperation {
        CommitOperation::Add {
            path_in_repo: path_in_repo.to_owned(),
            source: Source::File(local.into()),
        }
    }

    /// Adds `bytes` as `path_in_repo`.
    pub fn add_bytes(path_in_repo: &str, bytes: impl Into<Bytes>) -> CommitOperation {
        CommitOperation::Add {
            path_in_repo: path_in_repo.to_owned(),
            source: Source::Bytes(bytes.into()),
        }
    }

    /// Deletes the file `path_in_repo`.
    pub fn delete_file(path_in_repo: &str) -> CommitOperation {
        CommitOperation::Delete { path_in_repo: path_in_repo.to_owned(), is_folder: false }
    }

    /// Deletes the folder `path_in_repo` and everything under it.
    pub fn delete_folder(path_in_repo: &str) -> CommitOperation {
        CommitOperation::Delete { path_in_repo: path_in_repo.to_owned(), is_folder: true }
    }

    /// Copies `src_path_in_repo` to `path_in_repo`.
    pub fn copy(src_path_in_repo: &str, path_in_repo: &str) -> CommitOperation {
        CommitOperation::Copy {
            src_path_in_repo: src_path_in_repo.to_owned(),
            path_in_repo: path_in_repo.to_owned(),
            src_revision: None,
        }
    }
}

/// How a commit is made: `CommitOptions::new("Add weights")`, changed with the `with_*` setters.
#[derive(Clone)]
#[non_exhaustive]
pub struct CommitOptions {
    /// The summary line (required).
    pub message: String,
    /// The longer description.
    pub description: String,
    /// The branch to commit to (`main` when `None`).
    pub revision: Option<Revision>,
    /// The commit the change is based on: the Hub refuses the commit if the branch has moved.
    pub parent_commit: Option<String>,
    /// Open a pull request with the change instead of committing to the branch.
    pub create_pr: bool,
    /// Where the progress of hashing and uploading goes, as in `hub_api::DownloadOptions`.
    pub progress: Arc<dyn Progress>,
}

impl Default for CommitOptions {
    /// No message (a commit needs one: [`CommitOptions::new`]), to `main`, no progress shown.
    fn default() -> CommitOptions {
        CommitOptions {
            message: String::new(),
            description: String::new(),
            revision: None,
            parent_commit: None,
            create_pr: false,
            progress: Arc::new(hub_api::NoProgress),
        }
    }
}

impl fmt::Debug for CommitOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommitOptions")
            .field("message", &self.message)
            .field("description", &self.description)
            .field("revision", &self.revision)
            .field("parent_commit", &self.parent_commit)
            .field("create_pr", &self.create_pr)
            .finish_non_exhaustive()
    }
}

impl CommitOptions {
    /// Options with `message`.
    pub fn new(message: &str) -> CommitOptions {
        CommitOptions::default().with_message(message)
    }

    /// Sets the summary line.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> CommitOptions {
        self.message = message.into();
        self
    }

    /// Sets the longer description.
    #[must_use]
    pub fn with_description(mut self, description: impl Into<String>) -> CommitOptions {
        self.description = description.into();
        self
    }

    /// Commits to this branch (or opens the pull request against it).
    #[must_use]
    pub fn with_revision(mut self, revision: Revision) -> CommitOptions {
        self.revision = Some(revision);
        self
    }

    /// Bases the change on this commit: refused if the branch has moved since.
    #[must_use]
    pub fn with_parent_commit(mut self, parent_commit: impl Into<String>) -> CommitOptions {
        self.parent_commit = Some(parent_commit.into());
        self
    }

    /// Opens a pull request instead of committing to the branch.
    #[must_use]
    pub fn with_create_pr(mut self, create_pr: bool) -> CommitOptions {
        self.create_pr = create_pr;
        self
    }

    /// Sends progress there.
    #[must_use]
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> CommitOptions {
        self.progress = progress;
        self
    }
}

/// What a commit made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommitInfo {
    /// The commit's id (the branch head when nothing changed).
    pub commit_oid: String,
    /// Its page on the Hub.
    pub commit_url: String,
    /// The pull request's page, with `create_pr`.
    pub pr_url: Option<String>,
    /// The pull request's revision (`refs/pr/N`), with `create_pr`.
    pub pr_revision: Option<String>,
    /// LFS objects sent (those the Hub already had are not).
    pub uploaded: Vec<ObjectSpec>,
    /// Nothing differed from the branch, so no commit was made.
    pub no_changes: bool,
}

/// What [`LfsClient::upload_folder`] sends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FolderOptions {
    /// The folder in the repo to upload into (the root when `None`).
    pub path_in_repo: Option<String>,
    /// Upload only the files that match one of these (all when empty).
    pub allow_patterns: Vec<String>,
    /// Skip the files that match one of these, besides `.git/` and `.cache/huggingface/`.
    pub ignore_patterns: Vec<String>,
    /// Delete the repo's files under `path_in_repo` that match one of these and are not
    /// uploaded (`.gitattributes` is never deleted).
    pub delete_patterns: Vec<String>,
}

impl FolderOptions {
    /// Uploads into this folder of the repo.
    #[must_use]
    pub fn with_path_in_repo(mut self, path_in_repo: impl Into<String>) -> FolderOptions {
        self.path_in_repo = Some(path_in_repo.into());
        self
    }

    /// Uploads only the files matching one of these patterns.
    #[must_use]
    pub fn with_allow_patterns(
        mut self,
        patterns: impl IntoIterator<Item = impl Into<String>>,
    ) -> FolderOptions {
        self.allow_patterns = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// Skips the files matching one of these patterns.
    #[must_use]
    pub fn with_ignore_patterns(
        mut self,
        patterns: impl IntoIterator<Item = impl Into<String>>,
    ) -> FolderOptions {
        self.ignore_patterns = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// Deletes the repo's files matching one of these patterns that are not uploaded.
    #[must_use]
    pub fn with_delete_patterns(
        mut self,
        patterns: impl IntoIterator<Item = impl Into<String>>,
    ) -> FolderOptions {
        self.delete_patterns = patterns.into_iter().map(Into::into).collect();
        self
    }
}

/// Always left out of folder uploads, as in the Python library.
pub const DEFAULT_IGNORE_PATTERNS: [&str; 8] = [
    ".git",
    ".git/*",
    "*/.git",
    "**/.git/**",
    ".cache/huggingface",
    ".cache/huggingface/*",
    "*/.cache/huggingface",
    "**/.cache/huggingface/**",
];

/// Checks a path in the repo as the Python library does: a leading `/` or `./` is dropped;
/// `..`, `.`, `.git` and `.cache` segments are refused.
pub fn validate_path_in_repo(path: &str) -> Result<String, Error> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
    let invalid = |reason| Error::InvalidPathInRepo { path: path.to_owned(), reason };
    if trimmed.split('/').any(|s| s == ".git" || s == ".cache") {
        return Err(invalid("no `.git` or `.cache` folder can be uploaded"));
    }
    RepoPath::new(trimmed).map_err(|e| invalid(e.reason))?;
    Ok(trimmed.to_owned())
}

/// Bytes of a file shown to the Hub to decide between regular and LFS.
const SAMPLE_SIZE: usize = 512;
/// Files per preupload call, as the Python library.
const PREUPLOAD_LIMIT: usize = 256;

/// An addition, once hashed.
#[derive(Debug)]
struct Addition {
    path: String,
    source: Source,
    object: ObjectSpec,
    sample: Vec<u8>,
    lfs: bool,
    ignore: bool,
    remote_oid: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PreuploadFile {
    path: String,
    upload_mode: String,
    #[serde(default)]
    should_ignore: bool,
    #[serde(default)]
    oid: Option<String>,
}

#[derive(Deserialize)]
struct PreuploadAnswer {
    files: Vec<PreuploadFile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommitAnswer {
    commit_url: String,
    commit_oid: String,
    #[serde(default)]
    pull_request_url: Option<String>,
}

/// The first bytes, the sha256 and the size of `source`, read on a blocking thread.
async fn hash(source: &Source) -> Result<(Vec<u8>, ObjectSpec), Error> {
    let owned = source.clone();
    let done = tokio::task::spawn_blocking(move || -> Result<(Vec<u8>, ObjectSpec), Error> {
        match &owned {
            Source::Bytes(bytes) => {
                let (oid, size) = pointer::sha256_reader(&bytes[..])
                    .map_err(|e| Error::io(Path::new("<bytes>"), e))?;
                Ok((bytes[..bytes.len().min(SAMPLE_SIZE)].to_vec(), ObjectSpec { oid, size }))
            }
            Source::File(path) => {
                use std::io::Read;
                // One pass: the sample is read first, then hashed with the rest of the file.
                let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
                let mut sample = Vec::with_capacity(SAMPLE_SIZE);
                (&mut file)
                    .take(SAMPLE_SIZE as u64)
                    .read_to_end(&mut sample)
                    .map_err(|e| Error::io(path, e))?;
                let (oid, size) = pointer::sha256_reader(std::io::Cursor::new(&sample).chain(file))
                    .map_err(|e| Error::io(path, e))?;
                Ok((sample, ObjectSpec { oid, size }))
            }
        }
    });
    Error::joined(done.await)?
}

/// The content of a regular file, to inline in the commit.
async fn content(source: &Source) -> Result<Bytes, Error> {
    match source {
        Source::Bytes(bytes) => Ok(bytes.clone()),
        Source::File(path) => {
            tokio::fs::read(path).await.map(Bytes::from).map_err(|e| Error::io(path, e))
        }
    }
}

/// A revision given by the caller.
fn parse_revision(name: &str) -> Result<Revision, Error> {
    Ok(Revision::new(name).map_err(hub_url::Error::from)?)
}

/// git's blob id of `data`: `sha1("blob <len>\0" + data)`.
fn git_blob_id(data: &[u8]) -> String {
    let mut hasher = sha1::Sha1::new();
    hasher.update(format!("blob {}\0", data.len()).as_bytes());
    hasher.update(data);
    pointer::hex(&hasher.finalize())
}

fn ndjson_line(key: &str, value: Value) -> String {
    let mut line = json!({ "key": key, "value": value }).to_string();
    line.push('\n');
    line
}

impl LfsClient {
    /// Makes one commit of `operations` on `repo`: validates every path and checks every local
    /// file before sending anything; hashes files in parallel; asks the Hub which are LFS;
    /// uploads the LFS objects it lacks; commits. When nothing differs from the branch, no
    /// commit is made and [`CommitInfo::no_changes`] is set. Without a token, this is
    /// [`hub_api::Error::NotLoggedIn`] and nothing is sent.
    pub async fn create_commit(
        &self,
        repo: &Repo,
        operations: Vec<CommitOperation>,
        options: &CommitOptions,
    ) -> Result<CommitInfo, Error> {
        let progress = &*options.progress;
        self.hub().require_token()?;
        if options.message.trim().is_empty() {
            return Err(Error::EmptyCommitMessage);
        }
        if let Some(parent) = &options.parent_commit
            && !((5..=40).contains(&parent.len()) && parent.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(Error::InvalidParentCommit { parent_commit: parent.clone() });
        }
        let revision = options.revision.clone().unwrap_or_else(Revision::main);
        let revision_name = revision.as_str();

        // Everything the user gave is checked before the first request.
        let mut adds = Vec::new();
        let mut others = Vec::new();
        for operation in operations {
            match operation {
                CommitOperation::Add { path_in_repo, source } => {
                    let path = validate_path_in_repo(&path_in_repo)?;
                    if let Source::File(local) = &source {
                        let meta = std::fs::metadata(local).map_err(|e| Error::io(local, e))?;
                        if !meta.is_file() {
                            return Err(Error::NotAFile { path: local.clone() });
                        }
                    }
                    adds.push((path, source));
                }
                CommitOperation::Delete { path_in_repo, is_folder } => {
                    let path = validate_path_in_repo(path_in_repo.trim_end_matches('/'))?;
                    let folder = is_folder || path_in_repo.ends_with('/');
                    others.push(CommitOperation::Delete { path_in_repo: path, is_folder: folder });
                }
                CommitOperation::Copy { src_path_in_repo, path_in_repo, src_revision } => {
                    if let Some(src) = &src_revision {
                        parse_revision(src)?;
                    }
                    others.push(CommitOperation::Copy {
                        src_path_in_repo: validate_path_in_repo(&src_path_in_repo)?,
                        path_in_repo: validate_path_in_repo(&path_in_repo)?,
                        src_revision,
                    });
                }
            }
        }

        // Hash in parallel, one file per core.
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let mut additions: Vec<Addition> = stream::iter(adds)
            .map(|(path, source)| async move {
                let (sample, object) = hash(&source).await?;
                Ok::<_, Error>(Addition {
                    path,
                    source,
                    object,
                    sample,
                    lfs: false,
                    ignore: false,
                    remote_oid: None,
                })
            })
            .buffered(cores)
            .try_collect()
            .await?;

        self.preupload(repo, &revision, options.create_pr, &mut additions).await?;

        // Regular files are read now: they are inlined in the commit, and their git blob id
        // says whether they changed.
        let mut regular = Vec::new();
        let mut lfs = Vec::new();
        for addition in additions.into_iter().filter(|a| !a.ignore) {
            if addition.lfs {
                if addition.remote_oid.as_deref() != Some(addition.object.oid.as_str()) {
                    lfs.push(addition);
                }
                continue;
            }
            let data = content(&addition.source).await?;
            if addition.remote_oid.as_deref() != Some(git_blob_id(&data).as_str()) {
                regular.push((addition.path, data));
            }
        }
        if regular.is_empty() && lfs.is_empty() && others.is_empty() {
            tracing::warn!("no file differs from {revision_name}: no commit was made");
            let info = self
                .hub()
                .repo_info(repo, &InfoOptions::default().with_revision(revision.clone()))
                .await?;
            let Some(oid) = info.sha else {
                return Err(Error::Api(hub_api::Error::Protocol {
                    url: self.hub().endpoint().api_repo_url(repo, Some(&revision)),
                    reason: "the repo info has no commit (sha)".to_owned(),
                }));
            };
            return Ok(CommitInfo {
                commit_url: self.hub().endpoint().commit_web_url(repo, &oid),
                commit_oid: oid,
                pr_url: None,
                pr_revision: None,
                uploaded: Vec::new(),
                no_changes: true,
            });
        }

        let files: Vec<(Source, ObjectSpec)> =
            lfs.iter().map(|a| (a.source.clone(), a.object.clone())).collect();
        let batch_ref = if options.create_pr { None } else { Some(revision_name) };
        let uploaded = self.upload_files(repo, batch_ref, &files, progress).await?;

        let mut header = json!({ "summary": options.message, "description": options.description });
        if let Some(parent) = &options.parent_commit {
            header["parentCommit"] = json!(parent);
        }
        let mut body = ndjson_line("header", header);
        for (path, data) in &regular {
            body.push_str(&ndjson_line(
                "file",
                json!({ "content": BASE64.encode(data), "path": path, "encoding": "base64" }),
            ));
        }
        for addition in &lfs {
            body.push_str(&ndjson_line(
                "lfsFile",
                json!({
                    "path": addition.path,
                    "algo": "sha256",
                    "oid": addition.object.oid,
                    "size": addition.object.size,
                }),
            ));
        }
        // Copies from one revision share one repo info.
        let mut infos = HashMap::new();
        for operation in &others {
            body.push_str(&self.operation_line(repo, &revision, operation, &mut infos).await?);
        }
        self.send_commit(repo, &revision, options, body, uploaded).await
    }

    /// Asks the Hub which additions go to LFS and which it would ignore, 256 at a time.
    async fn preupload(
        &self,
        repo: &Repo,
        revision: &Revision,
        create_pr: bool,
        additions: &mut [Addition],
    ) -> Result<(), Error> {
        let git_ignore = match additions.iter().find(|a| a.path == ".gitignore") {
            Some(a) => Some(String::from_utf8_lossy(&content(&a.source).await?).into_owned()),
            None => None,
        };
        let mut url = self.hub().endpoint().preupload_url(repo, revision);
        if create_pr {
            url = hub_url::with_query(url, &[("create_pr", "1")]);
        }
        for chunk in additions.chunks_mut(PREUPLOAD_LIMIT) {
            let files: Vec<Value> = chunk
                .iter()
                .map(|a| {
                    json!({ "path": a.path, "sample": BASE64.encode(&a.sample), "size": a.object.size })
                })
                .collect();
            let mut request = json!({ "files": files });
            if let Some(ignore) = &git_ignore {
                request["gitIgnore"] = json!(ignore);
            }
            let req = HubRequest::new(Method::POST, url.clone())
                .with_body(request.to_string().into_bytes())
                .with_header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .with_retry(Retry::Idempotent);
            let (_, body) = self.hub().send_and_read(&req).await?;
            let answer: PreuploadAnswer = serde_json::from_slice(&body).map_err(|e| {
                Error::Api(hub_api::Error::Protocol {
                    url: url.clone(),
                    reason: format!("invalid preupload answer: {e}"),
                })
            })?;
            for addition in chunk.iter_mut() {
                let Some(found) = answer.files.iter().find(|f| f.path == addition.path) else {
                    return Err(Error::Api(hub_api::Error::Protocol {
                        url: url.clone(),
                        reason: format!("the preupload answer does not mention {}", addition.path),
                    }));
                };
                // Storage refuses empty multipart objects: an empty file is always regular.
                addition.lfs = found.upload_mode == "lfs" && addition.object.size > 0;
                addition.ignore = found.should_ignore;
                addition.remote_oid = found.oid.clone();
            }
        }
        Ok(())
    }

    /// The commit line of a deletion or a copy.
    async fn operation_line(
        &self,
        repo: &Repo,
        revision: &Revision,
        operation: &CommitOperation,
        infos: &mut HashMap<Revision, RepoInfo>,
    ) -> Result<String, Error> {
        match operation {
            CommitOperation::Delete { path_in_repo, is_folder: true } => {
                Ok(ndjson_line("deletedFolder", json!({ "path": format!("{path_in_repo}/") })))
            }
            CommitOperation::Delete { path_in_repo, is_folder: false } => {
                Ok(ndjson_line("deletedFile", json!({ "path": path_in_repo })))
            }
            CommitOperation::Copy { src_path_in_repo, path_in_repo, src_revision } => {
                let src_rev = match src_revision {
                    Some(r) => parse_revision(r)?,
                    None => revision.clone(),
                };
                let info = match infos.entry(src_rev.clone()) {
                    Entry::Occupied(found) => found.into_mut(),
                    Entry::Vacant(slot) => slot.insert(
                        self.hub()
                            .repo_info(
                                repo,
                                &InfoOptions::default()
                                    .with_revision(src_rev.clone())
                                    .with_files_metadata(true),
                            )
                            .await?,
                    ),
                };
                let sibling = info.siblings.iter().find(|s| &s.rfilename == src_path_in_repo);
                let Some(sibling) = sibling else {
                    return Err(Error::CopySourceNotFound {
                        path: src_path_in_repo.clone(),
                        repo: repo.to_string(),
                        revision: src_rev.to_string(),
                    });
                };
                if let Some(lfs) = &sibling.lfs {
                    return Ok(ndjson_line(
                        "lfsFile",
                        json!({ "path": path_in_repo, "algo": "sha256", "oid": lfs.sha256 }),
                    ));
                }
                let path = RepoPath::new(src_path_in_repo).map_err(hub_url::Error::from)?;
                let url = self.hub().endpoint().resolve_url(repo, &src_rev, &path);
                let (_, data) = self.hub().send_and_read(&HubRequest::get(url)).await?;
                Ok(ndjson_line(
                    "file",
                    json!({ "content": BASE64.encode(&data), "path": path_in_repo, "encoding": "base64" }),
                ))
            }
            CommitOperation::Add { .. } => Ok(String::new()),
        }
    }

    async fn send_commit(
        &self,
        repo: &Repo,
        revision: &Revision,
        options: &CommitOptions,
        body: String,
        uploaded: Vec<ObjectSpec>,
    ) -> Result<CommitInfo, Error> {
        let mut url = self.hub().endpoint().commit_url(repo, revision);
        if options.create_pr {
            url = hub_url::with_query(url, &[("create_pr", "1")]);
        }
        // Not retried but on 429: a retry could make the commit twice.
        let req = HubRequest::new(Method::POST, url.clone())
            .with_body(body.into_bytes())
            .with_header(CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"))
            .with_retry(Retry::OnlyRateLimited);
        let answer = match self.hub().send_and_read(&req).await {
            Ok((_, answer)) => answer,
            Err(hub_api::Error::Hub(HubError::Http { status: 412, server, .. }))
                if let Some(parent_commit) = &options.parent_commit =>
            {
                return Err(Error::Conflict {
                    parent_commit: parent_commit.clone(),
                    message: server.message,
                });
            }
            Err(e) => return Err(e.into()),
        };
        let answer: CommitAnswer = serde_json::from_slice(&answer).map_err(|e| {
            Error::Api(hub_api::Error::Protocol {
                url,
                reason: format!("invalid commit answer: {e}"),
            })
        })?;
        let pr_revision = answer
            .pull_request_url
            .as_deref()
            .and_then(|u| u.trim_end_matches('/').rsplit('/').next())
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .map(|n| format!("refs/pr/{n}"));
        Ok(CommitInfo {
            commit_oid: answer.commit_oid,
            commit_url: answer.commit_url,
            pr_url: answer.pull_request_url,
            pr_revision,
            uploaded,
            no_changes: false,
        })
    }

    /// Uploads one file as `path_in_repo` (`source` is a path, or bytes).
    pub async fn upload_file(
        &self,
        repo: &Repo,
        path_in_repo: &str,
        source: AddSource,
        options: &CommitOptions,
    ) -> Result<CommitInfo, Error> {
        let add = CommitOperation::Add { path_in_repo: path_in_repo.to_owned(), source };
        self.create_commit(repo, vec![add], options).await
    }

    /// Uploads the files of the local `folder` (filtered by `folder_options` and the default
    /// ignores) in one commit, and deletes the repo's files that `delete_patterns` select.
    pub async fn upload_folder(
        &self,
        repo: &Repo,
        folder: &Path,
        folder_options: &FolderOptions,
        options: &CommitOptions,
    ) -> Result<CommitInfo, Error> {
        // Before the listing `delete_patterns` needs, which would fail otherwise as "repository
        // not found" for a private repo.
        self.hub().require_token()?;
        let prefix = match folder_options.path_in_repo.as_deref().map(|p| p.trim_matches('/')) {
            Some(p) if !p.is_empty() && p != "." => format!("{}/", validate_path_in_repo(p)?),
            _ => String::new(),
        };
        let mut ignore: Vec<String> =
            DEFAULT_IGNORE_PATTERNS.iter().map(|p| (*p).to_owned()).collect();
        ignore.extend(folder_options.ignore_patterns.iter().cloned());
        let filter = Patterns::new(&folder_options.allow_patterns, &ignore);
        let mut operations = Vec::new();
        let mut uploaded_paths = HashSet::new();
        for (relative, local) in list_files(folder)? {
            if filter.keeps(&relative) {
                let path = format!("{prefix}{relative}");
                uploaded_paths.insert(path.clone());
                operations.push(CommitOperation::add_file(&path, local));
            }
        }
        if !folder_options.delete_patterns.is_empty() {
            let revision = options.revision.clone().unwrap_or_else(Revision::main);
            let deletes = Patterns::new(&folder_options.delete_patterns, &[] as &[&str]);
            for remote in self.hub().list_repo_files(repo, &revision).await? {
                let Some(relative) = remote.strip_prefix(&prefix) else { continue };
                if remote != ".gitattributes"
                    && deletes.keeps(relative)
                    && !uploaded_paths.contains(&remote)
                {
                    operations.push(CommitOperation::delete_file(&remote));
                }
            }
        }
        self.create_commit(repo, operations, options).await
    }

    /// Deletes one file.
    pub async fn delete_file(
        &self,
        repo: &Repo,
        path_in_repo: &str,
        options: &CommitOptions,
    ) -> Result<CommitInfo, Error> {
        let operation = CommitOperation::delete_file(path_in_repo);
        self.create_commit(repo, vec![operation], options).await
    }

    /// Deletes a folder and everything under it.
    pub async fn delete_folder(
        &self,
        repo: &Repo,
        path_in_repo: &str,
        options: &CommitOptions,
    ) -> Result<CommitInfo, Error> {
        let operation = CommitOperation::delete_folder(path_in_repo);
        self.create_commit(repo, vec![operation], options).await
    }
}

/// The files under `root` as (`/`-separated relative path, local path), sorted. Symlinked
/// files are followed; symlinked folders are not (no cycles).
fn list_files(root: &Path) -> Result<Vec<(String, PathBuf)>, Error> {
    let meta = std::fs::metadata(root).map_err(|e| Error::io(root, e))?;
    if !meta.is_dir() {
        return Err(Error::NotAFolder { path: root.to_owned() });
    }
    let mut files = Vec::new();
    let mut pending = vec![(root.to_owned(), String::new())];
    while let Some((dir, relative)) = pending.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(Error::NonUtf8Name { path: entry.path() });
            };
            let path = entry.path();
            let child = format!("{relative}{name}");
            let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
            if kind.is_dir() {
                pending.push((path, format!("{child}/")));
            } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
                files.push((child, path));
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_in_the_repo_follow_the_python_rules() {
        assert_eq!(validate_path_in_repo("/a/b.txt").ok().as_deref(), Some("a/b.txt"));
        assert_eq!(validate_path_in_repo("./a.txt").ok().as_deref(), Some("a.txt"));
        for bad in ["../x", "a/../x", ".", "a/./b", ".git/config", "x/.git/hooks", ".cache/y", ""] {
            assert!(validate_path_in_repo(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn git_blob_ids_are_gits() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(git_blob_id(b"hello\n"), "ce013625030ba8dba906f756967f9e9ca394464a");
        assert_eq!(git_blob_id(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    }

    #[test]
    fn folders_are_listed_with_slashes_and_sorted() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(|e| Error::io(Path::new("tmp"), e))?;
        let write = |p: &str| -> Result<(), Error> {
            let path = dir.path().join(p);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            std::fs::write(&path, p).map_err(|e| Error::io(&path, e))
        };
        for p in ["b.txt", "a/z.bin", "a/b/c.json", ".git/HEAD"] {
            write(p)?;
        }
        let names: Vec<String> = list_files(dir.path())?.into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, [".git/HEAD", "a/b/c.json", "a/z.bin", "b.txt"]);
        let ignore: Vec<&str> = DEFAULT_IGNORE_PATTERNS.to_vec();
        let filter = Patterns::new(&[] as &[&str], &ignore);
        assert!(!filter.keeps(".git/HEAD") && filter.keeps("a/z.bin"));
        assert!(!filter.keeps("sub/.cache/huggingface/x.metadata"));
        assert!(list_files(&dir.path().join("b.txt")).is_err());
        Ok(())
    }
}
