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

/// Fixed identity and date for the commits the TestHub seeds, so seeds are reproducible.
const AUTHOR_NAME: &str = "TestHub";
const AUTHOR_EMAIL: &str = "testhub@localhost";
const COMMIT_DATE: &str = "1704067200 +0000";

/// Who makes a commit, and when (author and committer alike).
#[derive(Clone, Debug)]
pub(crate) struct Signature {
    name: String,
    email: String,
    /// git's raw date: `<unix seconds> +0000`.
    date: String,
}

impl Signature {
    /// The TestHub itself at the seeds' fixed date (2024-01-01).
    pub(crate) fn testhub() -> Signature {
        Signature {
            name: AUTHOR_NAME.to_owned(),
            email: AUTHOR_EMAIL.to_owned(),
            date: COMMIT_DATE.to_owned(),
        }
    }

    /// A Hub user, now (commits made through the API).
    pub(crate) fn user(name: &str) -> Signature {
        Signature {
            name: name.to_owned(),
            email: format!("{name}@users.noreply.testhub"),
            date: format!("{} +0000", crate::util::unix_now()),
        }
    }
}

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

/// The commit whose id starts with `hex` (5 to 40 hex digits, as the Python client allows for
/// `parent_commit`); `None` when there is none, or several.
pub(crate) fn commit_by_prefix(git_dir: &Path, hex: &str) -> anyhow::Result<Option<String>> {
    if !(5..=40).contains(&hex.len()) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    rev_parse_commit(git_dir, &hex.to_ascii_lowercase())
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
/// then a commit on top of `parent` signed `by`; returns the new commit id. Refs are not touched.
pub(crate) fn write_commit(
    git_dir: &Path,
    parent: Option<&str>,
    additions: &[(String, String)],
    deletions: &[String],
    message: &str,
    by: &Signature,
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
        .env("GIT_AUTHOR_NAME", &by.name)
        .env("GIT_AUTHOR_EMAIL", &by.email)
        .env("GIT_AUTHOR_DATE", &by.date)
        .env("GIT_COMMITTER_NAME", &by.name)
        .env("GIT_COMMITTER_EMAIL", &by.email)
        .env("GIT_COMMITTER_DATE", &by.date);
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

/// An entry of a tree listing: a file (blob) or a directory (tree).
#[derive(Clone, Debug)]
pub(crate) struct TreeEntry {
    /// The full path in the repository.
    pub(crate) path: String,
    pub(crate) is_dir: bool,
    pub(crate) oid: String,
    /// The blob size (0 for directories).
    pub(crate) size: u64,
}

/// Whether `path` may be looked up in a tree: relative, no empty, `.` or `..` segments.
pub(crate) fn is_clean_path(path: &str) -> bool {
    !path.is_empty()
        && !path.contains(['\n', '\0'])
        && path.split('/').all(|s| !s.is_empty() && s != "." && s != "..")
}

/// The entries under directory `dir` (`""` = the root) of `commit`: its children, or every
/// descendant (directories before their content) if `recursive`. `None` when `dir` is not a
/// directory of that commit. `commit` must be a full commit id.
pub(crate) fn ls_tree(
    git_dir: &Path,
    commit: &str,
    dir: &str,
    recursive: bool,
) -> anyhow::Result<Option<Vec<TreeEntry>>> {
    if !is_full_oid(commit) {
        return Ok(None);
    }
    let treeish = if dir.is_empty() {
        commit.to_owned()
    } else {
        if !is_clean_path(dir) {
            return Ok(None);
        }
        match lookup_path(git_dir, commit, dir)? {
            Some(e) if e.kind == "tree" => format!("{commit}:{dir}"),
            _ => return Ok(None),
        }
    };
    let mut cmd = git(git_dir);
    cmd.args(["ls-tree", "-z", "-l"]);
    if recursive {
        cmd.args(["-r", "-t"]);
    }
    let out = run(cmd.arg(&treeish), None)?;
    let mut entries = Vec::new();
    for record in out.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let record = String::from_utf8_lossy(record);
        let Some((meta, name)) = record.split_once('\t') else { continue };
        let fields: Vec<&str> = meta.split_whitespace().collect();
        let [_mode, kind, oid, size] = fields.as_slice() else { continue };
        let path = if dir.is_empty() { name.to_owned() } else { format!("{dir}/{name}") };
        match *kind {
            "blob" => entries.push(TreeEntry {
                path,
                is_dir: false,
                oid: (*oid).to_owned(),
                size: size.parse().unwrap_or(0),
            }),
            "tree" => {
                entries.push(TreeEntry { path, is_dir: true, oid: (*oid).to_owned(), size: 0 })
            }
            _ => (), // submodules
        }
    }
    Ok(Some(entries))
}

/// Looks up several paths of `commit` at once; `None` for the missing ones (and for paths that
/// are not clean). Directories and files only.
pub(crate) fn lookup_paths(
    git_dir: &Path,
    commit: &str,
    paths: &[String],
) -> anyhow::Result<Vec<Option<TreeEntry>>> {
    let asked: Vec<&String> = paths.iter().filter(|p| is_clean_path(p)).collect();
    let mut input = String::new();
    for p in &asked {
        input.push_str(&format!("{commit}:{p}\n"));
    }
    let out = if asked.is_empty() {
        Vec::new()
    } else {
        run(
            git(git_dir)
                .args(["cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"]),
            Some(input.as_bytes()),
        )?
    };
    let text = String::from_utf8_lossy(&out);
    let mut found = std::collections::HashMap::new();
    for (p, line) in asked.iter().zip(text.lines()) {
        let fields: Vec<&str> = line.split(' ').collect();
        if let [oid, kind @ ("blob" | "tree"), size] = fields.as_slice()
            && is_full_oid(oid)
        {
            found.insert(
                (*p).clone(),
                TreeEntry {
                    path: (*p).clone(),
                    is_dir: *kind == "tree",
                    oid: (*oid).to_owned(),
                    size: if *kind == "tree" { 0 } else { size.parse().unwrap_or(0) },
                },
            );
        }
    }
    Ok(paths.iter().map(|p| found.get(p).cloned()).collect())
}

/// The content of several blobs at once (`git cat-file --batch`), by oid; missing ones are absent.
pub(crate) fn read_blobs(
    git_dir: &Path,
    oids: &[&str],
) -> anyhow::Result<std::collections::HashMap<String, Vec<u8>>> {
    let mut blobs = std::collections::HashMap::new();
    let oids: Vec<&str> = oids.iter().copied().filter(|o| is_full_oid(o)).collect();
    if oids.is_empty() {
        return Ok(blobs);
    }
    let input: String = oids.iter().map(|o| format!("{o}\n")).collect();
    let out = run(git(git_dir).args(["cat-file", "--batch"]), Some(input.as_bytes()))?;
    let mut rest: &[u8] = &out;
    while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
        let header = String::from_utf8_lossy(&rest[..nl]).into_owned();
        rest = &rest[nl + 1..];
        let fields: Vec<&str> = header.split(' ').collect();
        let [oid, _kind, size] = fields.as_slice() else { continue }; // `<oid> missing`
        let size: usize = size.parse().context("bad object size from git")?;
        let Some(data) = rest.get(..size) else { break };
        blobs.insert((*oid).to_owned(), data.to_vec());
        rest = rest.get(size + 1..).unwrap_or_default();
    }
    Ok(blobs)
}

/// One commit of a history.
#[derive(Clone, Debug)]
pub(crate) struct CommitInfo {
    pub(crate) id: String,
    pub(crate) author: String,
    /// Committer date, unix seconds.
    pub(crate) date: u64,
    pub(crate) title: String,
    /// The message after the title (trimmed).
    pub(crate) body: String,
}

fn parse_log(out: &[u8]) -> Vec<CommitInfo> {
    let text = String::from_utf8_lossy(out);
    text.split('\u{1e}')
        .filter_map(|record| {
            let record = record.trim_start_matches('\n');
            let mut f = record.splitn(5, '\0');
            let (id, author, date, title, body) =
                (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
            is_full_oid(id).then(|| CommitInfo {
                id: id.to_owned(),
                author: author.to_owned(),
                date: date.trim().parse().unwrap_or(0),
                title: title.to_owned(),
                body: body.trim().to_owned(),
            })
        })
        .collect()
}

const LOG_FORMAT: &str = "--format=%H%x00%an%x00%ct%x00%s%x00%b%x1e";

/// The history of `commit` (newest first).
pub(crate) fn log(git_dir: &Path, commit: &str) -> anyhow::Result<Vec<CommitInfo>> {
    if !is_full_oid(commit) {
        return Ok(Vec::new());
    }
    Ok(parse_log(&run(git(git_dir).args(["log", LOG_FORMAT, commit]), None)?))
}

/// The last commit of the history of `commit` that touched `path`.
pub(crate) fn last_commit_of(
    git_dir: &Path,
    commit: &str,
    path: &str,
) -> anyhow::Result<Option<CommitInfo>> {
    if !is_full_oid(commit) {
        return Ok(None);
    }
    let out = run(git(git_dir).args(["log", "-1", LOG_FORMAT, commit, "--", path]), None)?;
    Ok(parse_log(&out).into_iter().next())
}

/// Whether `refname` (e.g. `refs/heads/x`) is a valid ref name (`git check-ref-format`).
pub(crate) fn is_valid_refname(refname: &str) -> anyhow::Result<bool> {
    if refname.starts_with('-') || refname.contains(['\n', '\0']) {
        return Ok(false);
    }
    let out = run_status(Command::new("git").args(["check-ref-format", refname]), None)?;
    Ok(out.status.success())
}

/// Deletes `refname` if it points at `old`.
pub(crate) fn delete_ref(git_dir: &Path, refname: &str, old: &str) -> anyhow::Result<()> {
    run(git(git_dir).args(["update-ref", "-m", "testhub", "-d", refname, old]), None)
        .with_context(|| format!("deleting `{refname}` (was it changed concurrently?)"))?;
    Ok(())
}

/// Creates the annotated tag `refs/tags/{name}` on `commit` with `message`; fails if it exists.
pub(crate) fn create_annotated_tag(
    git_dir: &Path,
    name: &str,
    commit: &str,
    message: &str,
) -> anyhow::Result<()> {
    let tag = format!(
        "object {commit}\ntype commit\ntag {name}\ntagger {AUTHOR_NAME} <{AUTHOR_EMAIL}> {COMMIT_DATE}\n\n{message}\n"
    );
    let oid = trimmed(run(git(git_dir).args(["mktag"]), Some(tag.as_bytes()))?)?;
    update_ref(git_dir, &format!("refs/tags/{name}"), &oid, None)
}

/// The commit each of `refnames` (full branch refs) points at and its committer date (unix
/// seconds), in one `git for-each-ref`; missing refs are absent.
pub(crate) fn branch_heads(
    git_dir: &Path,
    refnames: &[&str],
) -> anyhow::Result<std::collections::HashMap<String, (String, u64)>> {
    let out = run(
        git(git_dir)
            .args(["for-each-ref", "--format=%(refname) %(objectname) %(committerdate:unix)"])
            .args(refnames),
        None,
    )?;
    let text = String::from_utf8_lossy(&out);
    Ok(text
        .lines()
        .filter_map(|line| {
            let mut f = line.split(' ');
            let (name, oid, date) = (f.next()?, f.next()?, f.next()?);
            Some((name.to_owned(), (oid.to_owned(), date.parse().unwrap_or(0))))
        })
        .collect())
}

/// The committer date (unix seconds) of `commit`.
pub(crate) fn commit_date(git_dir: &Path, commit: &str) -> anyhow::Result<u64> {
    if !is_full_oid(commit) {
        return Ok(0);
    }
    let out = run(git(git_dir).args(["log", "-1", "--format=%ct", commit]), None)?;
    Ok(trimmed(out)?.parse().unwrap_or(0))
}

/// The object `refname` points at (unpeeled: a tag object for annotated tags), if it exists.
pub(crate) fn ref_value(git_dir: &Path, refname: &str) -> anyhow::Result<Option<String>> {
    let out = run(
        git(git_dir).args(["for-each-ref", "--format=%(refname) %(objectname)", refname]),
        None,
    )?;
    let text = String::from_utf8_lossy(&out);
    Ok(text.lines().find_map(|line| {
        let (name, oid) = line.split_once(' ')?;
        (name == refname).then(|| oid.to_owned())
    }))
}
