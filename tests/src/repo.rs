//! Repository identities and the git plumbing that reads and writes the bare repositories.
//!
//! Every write goes through plumbing (`hash-object -w`, a temporary index, `write-tree`,
//! `commit-tree`, `update-ref` with the old value) so that `git clone` sees exactly what was
//! committed and concurrent writers fail instead of losing commits.

use std::{
    fmt,
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The kind of repository, which decides the URL prefix and the storage directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RepoType {
    /// A model repository (no URL prefix).
    Model,
    /// A dataset repository (`datasets/`).
    Dataset,
    /// A space repository (`spaces/`).
    Space,
}

impl RepoType {
    /// The prefix in front of the repo id in URLs: `""`, `"datasets/"` or `"spaces/"`.
    pub fn url_prefix(self) -> &'static str {
        match self {
            RepoType::Model => "",
            RepoType::Dataset => "datasets/",
            RepoType::Space => "spaces/",
        }
    }

    /// The plural name used in `/api/{plural}/…` and as storage directory.
    pub fn plural(self) -> &'static str {
        match self {
            RepoType::Model => "models",
            RepoType::Dataset => "datasets",
            RepoType::Space => "spaces",
        }
    }

    /// The singular name (`model`, `dataset`, `space`).
    pub fn as_str(self) -> &'static str {
        match self {
            RepoType::Model => "model",
            RepoType::Dataset => "dataset",
            RepoType::Space => "space",
        }
    }
}

/// A repository: its type and its id (`name` or `namespace/name`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Repo {
    /// Model, dataset or space.
    pub repo_type: RepoType,
    /// `name` or `namespace/name`.
    pub repo_id: String,
}

impl Repo {
    /// A repository of the given type.
    pub fn new(repo_type: RepoType, repo_id: &str) -> Repo {
        Repo { repo_type, repo_id: repo_id.to_owned() }
    }

    /// A model repository.
    pub fn model(repo_id: &str) -> Repo {
        Repo::new(RepoType::Model, repo_id)
    }

    /// A dataset repository.
    pub fn dataset(repo_id: &str) -> Repo {
        Repo::new(RepoType::Dataset, repo_id)
    }

    /// A space repository.
    pub fn space(repo_id: &str) -> Repo {
        Repo::new(RepoType::Space, repo_id)
    }

    /// The namespace (the part before `/`), if any.
    pub fn namespace(&self) -> Option<&str> {
        self.repo_id.split_once('/').map(|(ns, _)| ns)
    }

    /// The path of the repository below the endpoint, e.g. `datasets/acme/tiny-dataset`.
    pub fn url_path(&self) -> String {
        format!("{}{}", self.repo_type.url_prefix(), self.repo_id)
    }

    /// The bare repository's directory relative to the repos root, e.g. `models/acme/x.git`.
    pub(crate) fn relative_git_dir(&self) -> PathBuf {
        PathBuf::from(self.repo_type.plural()).join(format!("{}.git", self.repo_id))
    }
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url_path())
    }
}

/// Whether `repo_id` is a valid `name` or `namespace/name` (same rules as the Hub's validator).
pub fn is_valid_repo_id(repo_id: &str) -> bool {
    let parts: Vec<&str> = repo_id.split('/').collect();
    if parts.is_empty() || parts.len() > 2 {
        return false;
    }
    if repo_id.contains("--") || repo_id.contains("..") || repo_id.ends_with(".git") {
        return false;
    }
    parts.iter().all(|part| {
        let ok_chars = part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        let word = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
        !part.is_empty()
            && part.len() <= 96
            && ok_chars
            && word(part.bytes().next())
            && word(part.bytes().last())
    })
}

/// The all-zero object id git uses for "this ref must not exist".
pub(crate) const ZERO_OID: &str = "0000000000000000000000000000000000000000";

/// Fixed identity and date for every commit the TestHub makes, so seeds are reproducible.
const AUTHOR_NAME: &str = "TestHub";
const AUTHOR_EMAIL: &str = "testhub@localhost";
const COMMIT_DATE: &str = "1704067200 +0000";

/// A `git` command running against the bare repository `git_dir`.
pub(crate) fn git(git_dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.env("GIT_DIR", git_dir)
        .env("GIT_LITERAL_PATHSPECS", "1")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs `cmd`, feeding `stdin`, and returns its stdout; a non-zero exit is an error.
pub(crate) fn run(cmd: &mut Command, stdin: Option<&[u8]>) -> anyhow::Result<Vec<u8>> {
    let out = run_status(cmd, stdin)?;
    if !out.status.success() {
        return Err(anyhow::format_err!(
            "{:?} failed ({}): {}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

fn run_status(cmd: &mut Command, stdin: Option<&[u8]>) -> anyhow::Result<std::process::Output> {
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().with_context(|| format!("cannot spawn {cmd:?}"))?;
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().context("child stdin is not piped")?;
        let input = input.to_vec();
        // Write from a thread so a child that fills its stdout pipe cannot deadlock us.
        let writer = std::thread::spawn(move || pipe.write_all(&input));
        let out = child.wait_with_output().with_context(|| format!("waiting for {cmd:?}"))?;
        match writer.join() {
            Ok(res) => res.with_context(|| format!("writing to {cmd:?}"))?,
            Err(_) => return Err(anyhow::format_err!("stdin writer thread panicked")),
        }
        return Ok(out);
    }
    child.wait_with_output().with_context(|| format!("waiting for {cmd:?}"))
}

fn trimmed(out: Vec<u8>) -> anyhow::Result<String> {
    let s = String::from_utf8(out).context("git printed non-UTF-8")?;
    Ok(s.trim().to_owned())
}

/// Creates a bare repository whose default branch is `main`.
pub(crate) fn init_bare(git_dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(git_dir).with_context(|| format!("creating {}", git_dir.display()))?;
    run(
        Command::new("git")
            .args(["init", "--quiet", "--bare", "--initial-branch=main"])
            .arg(git_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
        None,
    )?;
    run(git(git_dir).args(["config", "http.receivepack", "true"]), None)?;
    run(git(git_dir).args(["config", "uploadpack.allowAnySHA1InWant", "true"]), None)?;
    Ok(())
}

/// Whether `rev` is syntactically acceptable as a revision (no options, no rev-parse magic).
fn is_safe_rev(rev: &str) -> bool {
    !rev.is_empty()
        && !rev.starts_with('-')
        && !rev.contains("..")
        && !rev.contains("@{")
        && !rev.chars().any(|c| c.is_control() || " ~^:?*[\\".contains(c))
}

/// Whether `s` is a full lowercase 40-hex commit id.
pub(crate) fn is_full_oid(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn rev_parse_commit(git_dir: &Path, spec: &str) -> anyhow::Result<Option<String>> {
    let out = run_status(
        git(git_dir)
            .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
            .arg(format!("{spec}^{{commit}}")),
        None,
    )?;
    if !out.status.success() {
        return Ok(None);
    }
    Ok(Some(trimmed(out.stdout)?))
}

/// Resolves a Hub revision (branch, tag, `refs/pr/N`, `refs/convert/X`, full ref or full commit id)
/// to a commit id; `None` if it does not exist.
pub(crate) fn resolve_revision(git_dir: &Path, rev: &str) -> anyhow::Result<Option<String>> {
    if !is_safe_rev(rev) {
        return Ok(None);
    }
    if is_full_oid(rev) {
        return rev_parse_commit(git_dir, rev);
    }
    if rev.starts_with("refs/") {
        return rev_parse_commit(git_dir, rev);
    }
    if let Some(commit) = rev_parse_commit(git_dir, &format!("refs/heads/{rev}"))? {
        return Ok(Some(commit));
    }
    rev_parse_commit(git_dir, &format!("refs/tags/{rev}"))
}

/// What a path names inside a commit.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) oid: String,
    pub(crate) kind: String,
    pub(crate) size: u64,
}

/// Looks up `path` in `commit`; `None` when it does not exist.
pub(crate) fn lookup_path(
    git_dir: &Path,
    commit: &str,
    path: &str,
) -> anyhow::Result<Option<Entry>> {
    if path.contains('\n') || path.is_empty() {
        return Ok(None);
    }
    let input = format!("{commit}:{path}\n");
    let out = run(
        git(git_dir).args(["cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"]),
        Some(input.as_bytes()),
    )?;
    let line = String::from_utf8_lossy(&out).trim().to_owned();
    let fields: Vec<&str> = line.split(' ').collect();
    match fields.as_slice() {
        [oid, kind, size] if oid.len() == 40 => Ok(Some(Entry {
            oid: (*oid).to_owned(),
            kind: (*kind).to_owned(),
            size: size.parse().context("bad object size from git")?,
        })),
        _ => Ok(None),
    }
}

/// The content of blob `oid`.
pub(crate) fn read_blob(git_dir: &Path, oid: &str) -> anyhow::Result<Vec<u8>> {
    run(git(git_dir).args(["cat-file", "blob", oid]), None)
}

/// Writes blob `oid` to `dest` without holding it in memory.
pub(crate) fn blob_to_file(git_dir: &Path, oid: &str, dest: &Path) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(dest).with_context(|| format!("creating {}", dest.display()))?;
    let out = git(git_dir)
        .args(["cat-file", "blob", oid])
        .stdout(Stdio::from(file))
        .output()
        .context("spawning git cat-file")?;
    if !out.status.success() {
        return Err(anyhow::format_err!(
            "git cat-file blob {oid} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// One file of a tree listing.
#[derive(Clone, Debug)]
pub(crate) struct TreeFile {
    pub(crate) path: String,
    pub(crate) oid: String,
    pub(crate) size: u64,
}

/// Every file (blob) in `commit`, recursively.
pub(crate) fn list_files(git_dir: &Path, commit: &str) -> anyhow::Result<Vec<TreeFile>> {
    let out = run(git(git_dir).args(["ls-tree", "-r", "-z", "-l", "--full-tree", commit]), None)?;
    let mut files = Vec::new();
    for record in out.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let record = String::from_utf8_lossy(record);
        let Some((meta, path)) = record.split_once('\t') else { continue };
        let fields: Vec<&str> = meta.split_whitespace().collect();
        if let [_mode, "blob", oid, size] = fields.as_slice() {
            files.push(TreeFile {
                path: path.to_owned(),
                oid: (*oid).to_owned(),
                size: size.parse().unwrap_or(0),
            });
        }
    }
    Ok(files)
}

/// Stores `data` as a blob and returns its object id.
pub(crate) fn hash_object(git_dir: &Path, data: &[u8]) -> anyhow::Result<String> {
    trimmed(run(git(git_dir).args(["hash-object", "-w", "--stdin"]), Some(data))?)
}

/// Builds a tree from `parent` (or nothing) plus `additions` (path, blob oid) minus `deletions`,
/// then a commit on top of `parent`; returns the new commit id. Refs are not touched.
pub(crate) fn write_commit(
    git_dir: &Path,
    parent: Option<&str>,
    additions: &[(String, String)],
    deletions: &[String],
    message: &str,
) -> anyhow::Result<String> {
    let scratch = tempfile::TempDir::new_in(git_dir).context("creating a scratch dir")?;
    let index = scratch.path().join("index");
    let with_index = |cmd: &mut Command| {
        cmd.env("GIT_INDEX_FILE", &index);
    };
    if let Some(parent) = parent {
        let mut cmd = git(git_dir);
        with_index(&mut cmd);
        run(cmd.args(["read-tree", parent]), None)?;
    }
    let mut info = Vec::new();
    for path in deletions {
        info.extend_from_slice(format!("0 {ZERO_OID}\t{path}\0").as_bytes());
    }
    for (path, oid) in additions {
        info.extend_from_slice(format!("100644 {oid}\t{path}\0").as_bytes());
    }
    let mut cmd = git(git_dir);
    with_index(&mut cmd);
    run(cmd.args(["update-index", "-z", "--index-info"]), Some(&info))?;
    let mut cmd = git(git_dir);
    with_index(&mut cmd);
    let tree = trimmed(run(cmd.arg("write-tree"), None)?)?;
    let mut cmd = git(git_dir);
    cmd.arg("commit-tree").arg(&tree);
    if let Some(parent) = parent {
        cmd.args(["-p", parent]);
    }
    cmd.args(["-F", "-"])
        .env("GIT_AUTHOR_NAME", AUTHOR_NAME)
        .env("GIT_AUTHOR_EMAIL", AUTHOR_EMAIL)
        .env("GIT_AUTHOR_DATE", COMMIT_DATE)
        .env("GIT_COMMITTER_NAME", AUTHOR_NAME)
        .env("GIT_COMMITTER_EMAIL", AUTHOR_EMAIL)
        .env("GIT_COMMITTER_DATE", COMMIT_DATE);
    trimmed(run(&mut cmd, Some(message.as_bytes()))?)
}

/// Points `refname` at `new` if it currently points at `old` (`None` = must not exist).
pub(crate) fn update_ref(
    git_dir: &Path,
    refname: &str,
    new: &str,
    old: Option<&str>,
) -> anyhow::Result<()> {
    run(
        git(git_dir).args(["update-ref", "-m", "testhub", refname, new, old.unwrap_or(ZERO_OID)]),
        None,
    )
    .with_context(|| format!("updating `{refname}` (was it changed concurrently?)"))?;
    Ok(())
}

/// The commit `refname` points at, if it exists.
pub(crate) fn ref_target(git_dir: &Path, refname: &str) -> anyhow::Result<Option<String>> {
    rev_parse_commit(git_dir, refname)
}

/// Every ref with its (peeled) commit: `(refname, commit)`.
pub(crate) fn list_refs(git_dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let out = run(
        git(git_dir).args(["for-each-ref", "--format=%(refname) %(objectname) %(*objectname)"]),
        None,
    )?;
    let text = String::from_utf8_lossy(&out);
    let mut refs = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields.as_slice() {
            [name, oid, peeled] => {
                let target = if peeled.is_empty() { oid } else { peeled };
                refs.push(((*name).to_owned(), (*target).to_owned()));
            }
            [name, oid] => refs.push(((*name).to_owned(), (*oid).to_owned())),
            _ => (),
        }
    }
    Ok(refs)
}
