//! Uploads without git (`docs/protocol/upload.md#overview`): `POST /api/{t}/{id}/preupload/{rev}`
//! says how each file is to be uploaded, `POST /api/{t}/{id}/commit/{rev}` turns an NDJSON list
//! of operations into a real git commit (on the branch, or as a new `refs/pr/N` with
//! `create_pr=1`), and `POST /api/validate-yaml` accepts every README.
//!
//! Commits of one repository are serialized by [`State::repo_lock`], held from reading the branch
//! head to moving it; the commit itself is [`State::commit_files_locked`].

use std::{collections::BTreeMap, path::Path, sync::Arc};

use hyper::{Request, body::Incoming};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    faults::lock,
    http_util::{Resp, internal_error, json},
    lfs_store::{is_sha256, parse_pointer},
    patterns,
    repo::{self, Repo},
    routes::{Reject, read_json, write_body, write_json},
    state::{Auth, CommitSpec, FileContent, Parent, State},
    util::base64_decode,
};

/// Regular (non-LFS) files larger than this are refused, as by the Hub.
const MAX_REGULAR: u64 = 10 * 1024 * 1024;

/// What a refused or failed request ends with.
enum Failure {
    Refused(Reject),
    Internal(anyhow::Error),
}

impl From<Reject> for Failure {
    fn from(r: Reject) -> Failure {
        Failure::Refused(r)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure::Internal(e)
    }
}

type Outcome<T> = Result<T, Failure>;

/// Runs `work` on the blocking pool; its JSON is answered with 200.
async fn blocking(work: impl FnOnce() -> Outcome<Value> + Send + 'static) -> Resp {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => json(200, &value),
        Ok(Err(Failure::Refused(reject))) => reject.resp(),
        Ok(Err(Failure::Internal(e))) => internal_error(&e),
        Err(e) => internal_error(&anyhow::format_err!("commit task failed: {e}")),
    }
}

/// A path the commit API accepts: relative, no empty, `.` or `..` segment, nothing in `.git`.
fn check_path(path: &str) -> Result<(), Reject> {
    if repo::is_clean_path(path) && !path.split('/').any(|s| s.eq_ignore_ascii_case(".git")) {
        return Ok(());
    }
    Err(Reject::bad(format!(
        "Invalid path `{path}`: paths are relative, without empty, `.` or `..` segments, and \
         nothing may go in `.git`"
    )))
}

/// The text of `path` in `commit` (lossy UTF-8); empty when there is no such file.
fn text_at(git_dir: &Path, commit: &str, path: &str) -> anyhow::Result<String> {
    match repo::lookup_path(git_dir, commit, path)? {
        Some(entry) if entry.kind == "blob" => {
            Ok(String::from_utf8_lossy(&repo::read_blob(git_dir, &entry.oid)?).into_owned())
        }
        _ => Ok(String::new()),
    }
}

/// Whether the first bytes of a file say binary: a NUL byte, or bytes that are not UTF-8 (a
/// character cut by the end of the sample does not count).
fn looks_binary(sample: &[u8]) -> bool {
    sample.contains(&0) || std::str::from_utf8(sample).is_err_and(|e| e.error_len().is_some())
}

#[derive(Deserialize)]
struct PreuploadRequest {
    files: Vec<PreuploadFile>,
    #[serde(rename = "gitIgnore")]
    git_ignore: Option<String>,
}

#[derive(Deserialize)]
struct PreuploadFile {
    path: String,
    #[serde(default)]
    sample: String,
    size: u64,
}

/// `POST /api/{t}/{id}/preupload/{rev}`: for each file, `uploadMode` (`lfs` when `.gitattributes`
/// at `rev` tracks it with LFS, when it is larger than 10 MiB or when its sample looks binary),
/// `shouldIgnore` (the `gitIgnore` sent, else `.gitignore` at `rev`) and `oid` (what is at that
/// path now: the sha256 of an LFS file, the blob id of a regular one, or null).
pub(crate) async fn preupload(
    state: &Arc<State>,
    req: Request<Incoming>,
    repo: &Repo,
    rev: &str,
    auth: &Auth,
) -> Resp {
    let body = match write_json(state, req, repo, auth).await {
        Ok(b) => b,
        Err(res) => return res,
    };
    let request: PreuploadRequest = match serde_json::from_value(body) {
        Ok(r) => r,
        Err(e) => return Reject::bad(format!("Invalid preupload request: {e}")).resp(),
    };
    let (git_dir, rev) = (state.git_dir(repo), rev.to_owned());
    blocking(move || {
        let commit =
            repo::resolve_revision(&git_dir, &rev)?.ok_or_else(|| Reject::no_revision(&rev))?;
        let attributes = text_at(&git_dir, &commit, ".gitattributes")?;
        let ignore = match request.git_ignore {
            Some(text) => text,
            None => text_at(&git_dir, &commit, ".gitignore")?,
        };
        let paths: Vec<String> = request.files.iter().map(|f| f.path.clone()).collect();
        for path in &paths {
            check_path(path)?;
        }
        let entries = repo::lookup_paths(&git_dir, &commit, &paths)?;
        let small: Vec<&str> = entries
            .iter()
            .flatten()
            .filter(|e| !e.is_dir && e.size <= 1024)
            .map(|e| e.oid.as_str())
            .collect();
        let blobs = repo::read_blobs(&git_dir, &small)?;
        let mut files = Vec::with_capacity(request.files.len());
        for (file, entry) in request.files.iter().zip(&entries) {
            let sample = base64_decode(&file.sample).ok_or_else(|| {
                Reject::bad(format!("The sample of `{}` is not base64", file.path))
            })?;
            let lfs = patterns::is_lfs(&attributes, &file.path)
                || file.size > MAX_REGULAR
                || looks_binary(&sample);
            let oid = entry.as_ref().filter(|e| !e.is_dir).map(|e| {
                let pointer = blobs.get(&e.oid).and_then(|data| parse_pointer(data));
                pointer.map_or_else(|| e.oid.clone(), |(sha256, _)| sha256)
            });
            files.push(json!({
                "path": file.path,
                "uploadMode": if lfs { "lfs" } else { "regular" },
                "shouldIgnore": patterns::is_ignored(&ignore, &file.path),
                "oid": oid,
            }));
        }
        Ok(json!({ "files": files }))
    })
    .await
}

/// One operation of an NDJSON commit.
enum Op {
    Add { path: String, content: Vec<u8> },
    Lfs { path: String, oid: String, size: Option<u64> },
    DeleteFile(String),
    DeleteFolder(String),
}

/// A parsed NDJSON commit.
struct CommitRequest {
    summary: String,
    description: String,
    parent: Option<String>,
    ops: Vec<Op>,
}

fn string_field(value: &Value, key: &str, line: usize) -> Result<String, Reject> {
    match value.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(Reject::bad(format!("Line {line}: `{key}` must be a string"))),
    }
}

fn optional_string(value: &Value, key: &str, line: usize) -> Result<Option<String>, Reject> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => string_field(value, key, line).map(Some),
    }
}

fn parse_commit(body: &[u8]) -> Result<CommitRequest, Reject> {
    let mut header = None;
    let mut ops = Vec::new();
    for (index, raw) in body.split(|b| *b == b'\n').enumerate() {
        let n = index + 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let item: Value = serde_json::from_slice(raw)
            .map_err(|e| Reject::bad(format!("Line {n} is not JSON: {e}")))?;
        let key = item.get("key").and_then(Value::as_str).unwrap_or_default();
        let value = match item.get("value") {
            Some(v @ Value::Object(_)) => v,
            _ => return Err(Reject::bad(format!("Line {n}: `value` must be an object"))),
        };
        let path = || -> Result<String, Reject> {
            let path = string_field(value, "path", n)?;
            check_path(&path)?;
            Ok(path)
        };
        match key {
            "header" if header.is_some() => {
                return Err(Reject::bad(format!("Line {n}: a commit has one header")));
            }
            "header" => {
                let summary = optional_string(value, "summary", n)?.unwrap_or_default();
                if summary.trim().is_empty() {
                    return Err(Reject::bad("The commit summary (its title) is required"));
                }
                let description = optional_string(value, "description", n)?.unwrap_or_default();
                let parent = optional_string(value, "parentCommit", n)?;
                header = Some((summary, description, parent));
            }
            "file" => {
                let content = string_field(value, "content", n)?;
                let content = match optional_string(value, "encoding", n)?.as_deref() {
                    None | Some("base64") => base64_decode(&content)
                        .ok_or_else(|| Reject::bad(format!("Line {n}: `content` is not base64")))?,
                    Some("utf-8" | "utf8") => content.into_bytes(),
                    Some(other) => {
                        return Err(Reject::bad(format!("Line {n}: unknown encoding `{other}`")));
                    }
                };
                ops.push(Op::Add { path: path()?, content });
            }
            "lfsFile" => {
                if let Some(algo) = optional_string(value, "algo", n)?.filter(|a| a != "sha256") {
                    return Err(Reject::bad(format!("Line {n}: unknown algo `{algo}`")));
                }
                let oid = string_field(value, "oid", n)?.to_ascii_lowercase();
                if !is_sha256(&oid) {
                    return Err(Reject::bad(format!("Line {n}: `oid` must be a sha256")));
                }
                let size = match value.get("size") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(v.as_u64().ok_or_else(|| {
                        Reject::bad(format!("Line {n}: `size` must be a number"))
                    })?),
                };
                ops.push(Op::Lfs { path: path()?, oid, size });
            }
            "deletedFile" => ops.push(Op::DeleteFile(path()?)),
            "deletedFolder" => {
                let dir = string_field(value, "path", n)?;
                let dir = dir.trim_end_matches('/');
                check_path(dir)?;
                ops.push(Op::DeleteFolder(dir.to_owned()));
            }
            other => return Err(Reject::bad(format!("Line {n}: unknown key `{other}`"))),
        }
    }
    let (summary, description, parent) = header.ok_or_else(|| {
        Reject::bad(
            "The commit has no header line (`{\"key\": \"header\", \"value\": {\"summary\": …}}`)",
        )
    })?;
    Ok(CommitRequest { summary, description, parent, ops })
}

/// Where a commit goes.
struct Target {
    refname: String,
    /// The commit it starts from.
    base: String,
    /// What `refname` points at now.
    current: Option<String>,
    /// The pull request number, with `create_pr`.
    pr: Option<u64>,
}

fn target(git_dir: &Path, rev: &str, create_pr: bool, parent: Option<&str>) -> Outcome<Target> {
    let head = repo::resolve_revision(git_dir, rev)?.ok_or_else(|| Reject::no_revision(rev))?;
    if create_pr {
        let base = match parent {
            Some(p) => repo::commit_by_prefix(git_dir, p)?.ok_or_else(|| Reject::no_revision(p))?,
            None => head,
        };
        let n = repo::list_refs(git_dir)?
            .iter()
            .filter_map(|(name, _)| name.strip_prefix("refs/pr/")?.parse::<u64>().ok())
            .max()
            .unwrap_or(0)
            + 1;
        return Ok(Target { refname: format!("refs/pr/{n}"), base, current: None, pr: Some(n) });
    }
    let refname = if rev.starts_with("refs/heads/") || rev.starts_with("refs/pr/") {
        rev.to_owned()
    } else if repo::ref_target(git_dir, &format!("refs/heads/{rev}"))?.is_some() {
        format!("refs/heads/{rev}")
    } else {
        return Err(Reject::bad(format!(
            "Revision `{rev}` is not a branch: commits go on a branch (or in a new pull request \
             with create_pr=1)"
        ))
        .into());
    };
    if let Some(p) = parent
        && repo::commit_by_prefix(git_dir, p)?.as_deref() != Some(head.as_str())
    {
        return Err(Reject::new(
            412,
            format!(
                "The parent commit {p} is not the head of `{rev}` ({head}): someone committed in \
                 between. Fetch the new head and commit again."
            ),
        )
        .into());
    }
    Ok(Target { refname, base: head.clone(), current: Some(head), pr: None })
}

/// The content of one path of the commit being built.
enum Content {
    /// As in the base commit (a blob id).
    Kept(String),
    Regular(Vec<u8>),
    /// A stored LFS object.
    Lfs(String),
}

/// `POST /api/{t}/{id}/commit/{rev}` (NDJSON, see the module docs and `tests/README.md`).
pub(crate) async fn commit(
    state: &Arc<State>,
    req: Request<Incoming>,
    repo: &Repo,
    rev: &str,
    create_pr: bool,
    auth: &Auth,
) -> Resp {
    let body = match write_body(state, req, repo, auth).await {
        Ok(b) => b,
        Err(res) => return res,
    };
    let user = auth.user().unwrap_or_default().to_owned();
    let (state, repo, rev) = (state.clone(), repo.clone(), rev.to_owned());
    blocking(move || {
        let request = parse_commit(&body)?;
        let repo_lock = state.repo_lock(&repo);
        let _guard = lock(&repo_lock);
        make_commit(&state, &repo, &rev, create_pr, &user, request)
    })
    .await
}

/// Applies `request` on top of its target and moves the ref; the caller holds the repo lock.
fn make_commit(
    state: &State,
    repo: &Repo,
    rev: &str,
    create_pr: bool,
    user: &str,
    request: CommitRequest,
) -> Outcome<Value> {
    let git_dir = state.git_dir(repo);
    let target = target(&git_dir, rev, create_pr, request.parent.as_deref())?;
    let base_files = repo::list_files(&git_dir, &target.base)?;
    let mut tree: BTreeMap<String, Content> =
        base_files.iter().map(|f| (f.path.clone(), Content::Kept(f.oid.clone()))).collect();
    let mut lfs_paths = Vec::new();
    for op in request.ops {
        match op {
            Op::Add { path, content } => {
                tree.insert(path, Content::Regular(content));
            }
            Op::Lfs { path, oid, size } => {
                let Some(stored) = state.lfs.size_of(&oid) else {
                    return Err(Reject::bad(format!(
                        "The LFS object {oid} of `{path}` was never uploaded: upload it through \
                         the LFS batch API ({}.git/info/lfs/objects/batch) before committing",
                        repo.url_path()
                    ))
                    .into());
                };
                if let Some(size) = size.filter(|s| *s != stored) {
                    return Err(Reject::bad(format!(
                        "The LFS object {oid} of `{path}` has {stored} bytes, not {size}"
                    ))
                    .into());
                }
                tree.insert(path.clone(), Content::Lfs(oid));
                lfs_paths.push(path);
            }
            Op::DeleteFile(path) => {
                if tree.remove(&path).is_none() {
                    return Err(Reject::coded(
                        404,
                        "EntryNotFound",
                        format!("A file with this name doesn't exist: {path}"),
                    )
                    .into());
                }
            }
            Op::DeleteFolder(dir) => {
                let prefix = format!("{dir}/");
                let inside: Vec<String> = tree
                    .range(prefix.clone()..)
                    .take_while(|(p, _)| p.starts_with(&prefix))
                    .map(|(p, _)| p.clone())
                    .collect();
                if inside.is_empty() {
                    return Err(Reject::coded(
                        404,
                        "EntryNotFound",
                        format!("A folder with this name doesn't exist: {dir}"),
                    )
                    .into());
                }
                for p in inside {
                    tree.remove(&p);
                }
            }
        }
    }
    for path in tree.keys() {
        if let Some((i, _)) = path.match_indices('/').find(|(i, _)| tree.contains_key(&path[..*i]))
        {
            return Err(Reject::bad(format!(
                "`{}` is a file, so `{path}` cannot be inside it",
                &path[..i]
            ))
            .into());
        }
    }
    track_lfs_paths(&git_dir, &mut tree, &lfs_paths)?;
    let offending: Vec<String> = tree
        .iter()
        .filter(|(_, c)| matches!(c, Content::Regular(data) if data.len() as u64 > MAX_REGULAR))
        .map(|(p, _)| format!("- {p} (ref: {})", target.refname))
        .collect();
    if !offending.is_empty() {
        return Err(Reject::bad(format!(
            "Your push was rejected because it contains files larger than 10 MiB. Please use \
             https://git-lfs.github.com/ to store large files. See also: \
             https://hf.co/docs/hub/repositories-getting-started#terminal Offending files: {}",
            offending.join(" ")
        ))
        .into());
    }

    let mut message = request.summary;
    if !request.description.trim().is_empty() {
        message.push_str("\n\n");
        message.push_str(&request.description);
    }
    let mut spec = CommitSpec::new(&target.refname, &message)
        .parent(Parent::Of(target.base.clone()))
        .author(user);
    spec.deletions =
        base_files.into_iter().map(|f| f.path).filter(|p| !tree.contains_key(p)).collect();
    for (path, content) in tree {
        match content {
            Content::Kept(_) => (),
            Content::Regular(data) => spec.files.push((path, FileContent::Regular(data))),
            Content::Lfs(oid) => spec.files.push((path, FileContent::LfsStored { oid })),
        }
    }
    let commit = match state.commit_files_locked(repo, spec) {
        Ok((commit, _)) => commit,
        // Moved by a `git push` meanwhile (pushes do not take the lock).
        Err(_) if repo::ref_target(&git_dir, &target.refname)? != target.current => {
            return Err(Reject::new(
                412,
                format!("`{rev}` moved while the commit was made: commit again"),
            )
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    let repo_url = format!("{}/{}", state.endpoint, repo.url_path());
    let mut answer =
        json!({"commitUrl": format!("{repo_url}/commit/{commit}"), "commitOid": commit});
    if let Some(n) = target.pr {
        answer["pullRequestUrl"] = json!(format!("{repo_url}/discussions/{n}"));
    }
    Ok(answer)
}

/// As the Hub does, appends to `.gitattributes` a line for each LFS file of the commit that no
/// pattern tracks yet (e.g. a 20 MB `tokenizer.json`), so a `git clone` with git-lfs checks it out.
fn track_lfs_paths(
    git_dir: &Path,
    tree: &mut BTreeMap<String, Content>,
    lfs_paths: &[String],
) -> anyhow::Result<()> {
    let mut attributes = match tree.get(".gitattributes") {
        Some(Content::Kept(oid)) => {
            String::from_utf8_lossy(&repo::read_blob(git_dir, oid)?).into_owned()
        }
        Some(Content::Regular(data)) => String::from_utf8_lossy(data).into_owned(),
        Some(Content::Lfs(_)) | None => String::new(),
    };
    let before = attributes.len();
    for path in lfs_paths {
        if matches!(tree.get(path), Some(Content::Lfs(_))) && !patterns::is_lfs(&attributes, path) {
            if !attributes.is_empty() && !attributes.ends_with('\n') {
                attributes.push('\n');
            }
            attributes.push_str(&patterns::lfs_track_line(path));
        }
    }
    if attributes.len() != before {
        tree.insert(".gitattributes".to_owned(), Content::Regular(attributes.into_bytes()));
    }
    Ok(())
}

/// `POST /api/validate-yaml` (`{"content", "repoType"}`, sent by the Python client before it
/// commits a `README.md`): every README is valid here, `{"errors": [], "warnings": []}`.
pub(crate) async fn validate_yaml(req: Request<Incoming>) -> Resp {
    match read_json(req).await {
        Ok(_) => json(200, &json!({"errors": [], "warnings": []})),
        Err(res) => res,
    }
}
