//! A subset of the cache as one tar archive, for a site with no network: [`export`] writes the
//! chosen revisions of some repos (their refs, their snapshots' relative symlinks, the blobs they
//! use with the shared store's links resolved to content, and `trees/<commit>.json`), and
//! [`import`] places such an archive into a cache.
//!
//! Import trusts nothing in the archive. A first pass reads it whole: every entry must have one
//! of the cache layout's shapes (`<folder>/blobs/<etag>`, `<folder>/snapshots/<commit>/<path>`
//! as a symlink to exactly `../…/blobs/<etag>`, `<folder>/refs/<name>` holding a commit,
//! `<folder>/trees/<commit>.json`), with no absolute path and no `..`; every blob must hash to
//! its name; every link and ref must lead to something the archive or the cache holds. Only then
//! does a second pass place the files, each atomically (a temp file in the same folder, hashed
//! again as it is written, then a rename). What the cache already has is kept untouched, and a
//! ref that already points elsewhere is kept and reported.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use hub_url::{Repo, RepoPath, Revision};

use crate::fsutil::{io_err, relative_blob_target, symlink_atomic, write_atomic};
use crate::location::CacheDir;
use crate::scan::{CachedRepo, repo_of_folder};
use crate::verify::Hasher;
use crate::{CommitHash, Error, Etag};

/// What [`export`] wrote.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ExportSummary {
    /// The revisions written: repo and commit.
    pub revisions: Vec<(Repo, String)>,
    /// Blobs written.
    pub blobs: usize,
    /// Bytes of blob content written.
    pub bytes: u64,
    /// Snapshot files left out, and why (a file that is a copy, not a symlink to its blob).
    pub skipped: Vec<String>,
}

/// A ref the archive had that the cache kept as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeptRef {
    /// The repo folder (`models--org--name`).
    pub folder: String,
    /// The ref (`main`, `refs/pr/1`).
    pub name: String,
    /// The commit the cache's ref points to, and keeps pointing to.
    pub existing: String,
    /// The commit the archive's ref points to.
    pub archived: String,
}

/// What [`import`] did.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ImportSummary {
    /// The repo folders the archive touched.
    pub folders: BTreeSet<String>,
    /// Blobs placed.
    pub blobs_added: usize,
    /// Blobs the cache already had (kept untouched).
    pub blobs_kept: usize,
    /// Snapshot links placed.
    pub links_added: usize,
    /// Snapshot links the cache already had.
    pub links_kept: usize,
    /// Tree listings placed.
    pub trees_added: usize,
    /// Refs written (`<folder>: <name>`).
    pub refs_written: Vec<String>,
    /// Refs the cache had pointing elsewhere: kept, not overwritten.
    pub refs_kept: Vec<KeptRef>,
}

fn archive_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |cause| Error::Io { path: path.to_path_buf(), cause }
}

/// Writes the chosen revisions of `items` (a repo, and a revision: a ref, a commit or a prefix of
/// 7+ characters of one; `None` for every cached revision) to the tar file `out`, atomically.
pub fn export(
    cache: &CacheDir,
    items: &[(Repo, Option<String>)],
    out: &Path,
) -> Result<ExportSummary, Error> {
    let info = cache.scan()?;
    // Folder → chosen commits.
    let mut chosen: BTreeMap<String, (&CachedRepo, BTreeSet<String>)> = BTreeMap::new();
    for (repo, revision) in items {
        let cached = info.repos.iter().find(|r| &r.repo == repo).ok_or_else(|| {
            Error::NotCached { what: repo.to_string(), cache: info.cache_dir.clone() }
        })?;
        let commits: Vec<String> = match revision {
            None => cached.revisions.iter().map(|r| r.commit_hash.clone()).collect(),
            Some(rev) => {
                let by_ref = cached.refs.get(rev.as_str()).cloned();
                let by_commit: Vec<&str> = cached
                    .revisions
                    .iter()
                    .map(|r| r.commit_hash.as_str())
                    .filter(|c| rev.len() >= 7 && c.starts_with(rev.as_str()))
                    .collect();
                match (by_ref, by_commit.as_slice()) {
                    (Some(commit), _) => vec![commit],
                    (None, [commit]) => vec![(*commit).to_owned()],
                    _ => {
                        return Err(Error::NotCached {
                            what: format!("{repo}@{rev}"),
                            cache: info.cache_dir.clone(),
                        });
                    }
                }
            }
        };
        let folder = repo.cache_folder_name();
        chosen.entry(folder).or_insert((cached, BTreeSet::new())).1.extend(commits);
    }
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".hub-export-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io_err(dir))?;
    let mut summary = ExportSummary::default();
    {
        let mut builder = tar::Builder::new(std::io::BufWriter::new(tmp.as_file()));
        builder.follow_symlinks(false);
        for (folder, (cached, commits)) in &chosen {
            write_repo(&mut builder, folder, cached, commits, &mut summary)?;
        }
        let writer = builder.into_inner().map_err(archive_err(tmp.path()))?;
        let mut writer = writer;
        writer.flush().map_err(archive_err(tmp.path()))?;
    }
    tmp.as_file().sync_all().map_err(io_err(tmp.path()))?;
    tmp.persist(out).map_err(|e| Error::Io { path: out.to_path_buf(), cause: e.error })?;
    Ok(summary)
}

fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    );
    h
}

fn write_repo<W: Write>(
    builder: &mut tar::Builder<W>,
    folder: &str,
    cached: &CachedRepo,
    commits: &BTreeSet<String>,
    summary: &mut ExportSummary,
) -> Result<(), Error> {
    let revisions: Vec<_> =
        cached.revisions.iter().filter(|r| commits.contains(&r.commit_hash)).collect();
    // Blobs first, so an importer meets each blob before the links to it.
    let mut links = Vec::new();
    let mut blobs: BTreeMap<String, PathBuf> = BTreeMap::new();
    for rev in &revisions {
        for file in &rev.files {
            let target = std::fs::read_link(&file.file_path).ok();
            let etag = target.as_ref().and_then(|t| t.file_name()).and_then(|n| n.to_str());
            match (target.as_ref(), etag.and_then(|e| Etag::new(e).ok())) {
                (Some(target), Some(etag)) => {
                    blobs.entry(etag.as_str().to_owned()).or_insert_with(|| file.file_path.clone());
                    links.push((
                        format!("{folder}/snapshots/{}/{}", rev.commit_hash, file.file_name),
                        target.clone(),
                    ));
                }
                _ => summary.skipped.push(format!(
                    "{folder}/snapshots/{}/{}: not a symlink to a blob",
                    rev.commit_hash, file.file_name
                )),
            }
        }
        summary.revisions.push((cached.repo.clone(), rev.commit_hash.clone()));
    }
    for (etag, through) in &blobs {
        // Opened through the snapshot's link: every hop (a shared-store link too) resolved.
        let file = std::fs::File::open(through).map_err(io_err(through))?;
        let size = file.metadata().map_err(io_err(through))?.len();
        let mut h = header(tar::EntryType::Regular, size, 0o644);
        let name = format!("{folder}/blobs/{etag}");
        builder.append_data(&mut h, &name, file).map_err(io_err(through))?;
        summary.blobs += 1;
        summary.bytes += size;
    }
    for rev in &revisions {
        let tree = cached.path.join("trees").join(format!("{}.json", rev.commit_hash));
        if let Ok(bytes) = std::fs::read(&tree) {
            let mut h = header(tar::EntryType::Regular, bytes.len() as u64, 0o644);
            let name = format!("{folder}/trees/{}.json", rev.commit_hash);
            builder.append_data(&mut h, &name, bytes.as_slice()).map_err(io_err(&tree))?;
        }
    }
    for (name, target) in &links {
        let mut h = header(tar::EntryType::Symlink, 0, 0o777);
        builder.append_link(&mut h, name, target).map_err(io_err(Path::new(name)))?;
    }
    for (name, commit) in &cached.refs {
        if commits.contains(commit) {
            let mut h = header(tar::EntryType::Regular, commit.len() as u64, 0o644);
            let entry = format!("{folder}/refs/{name}");
            builder
                .append_data(&mut h, &entry, commit.as_bytes())
                .map_err(io_err(Path::new(&entry)))?;
        }
    }
    Ok(())
}

/// One entry of an archive, as the cache layout allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    Dir,
    Blob { folder: String, etag: Etag },
    Link { folder: String, commit: String, target: PathBuf, etag: String },
    Ref { folder: String, name: String },
    Tree { folder: String, commit: String },
}

/// What an entry is, or why it is refused.
fn classify(path: &str, kind: tar::EntryType, link: Option<&str>) -> Result<Shape, String> {
    if path.starts_with('/') || path.contains('\\') {
        return Err("an absolute path".to_owned());
    }
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let parts: Vec<&str> = trimmed.split('/').collect();
    if parts.iter().any(|p| p.is_empty() || *p == "." || *p == "..") {
        return Err("a path with an empty, `.` or `..` component".to_owned());
    }
    let folder = parts[0];
    match repo_of_folder(folder) {
        Some(Ok(_)) => (),
        _ => return Err(format!("`{folder}` is not a repo folder of the cache")),
    }
    let folder = folder.to_owned();
    if kind.is_dir() {
        return match parts.get(1).copied() {
            None | Some("blobs" | "refs" | "trees") if parts.len() <= 2 => Ok(Shape::Dir),
            Some("snapshots") => Ok(Shape::Dir),
            Some("refs") => Ok(Shape::Dir),
            _ => Err("a folder the cache layout has no place for".to_owned()),
        };
    }
    match (&parts[1..], kind) {
        (["blobs", name], tar::EntryType::Regular) => Etag::new(name)
            .map(|etag| Shape::Blob { folder, etag })
            .map_err(|_| "a blob not named by a 40- or 64-hex hash".to_owned()),
        (["snapshots", commit, rest @ ..], tar::EntryType::Symlink) if !rest.is_empty() => {
            CommitHash::new(commit).map_err(|_| "a snapshot not named by a commit".to_owned())?;
            RepoPath::new(&rest.join("/"))
                .map_err(|e| format!("not a file path in a repo: {e}"))?;
            let target = link.ok_or("a symlink with no target")?;
            let etag = target.rsplit('/').next().unwrap_or_default();
            Etag::new(etag).map_err(|_| "a symlink to something other than a blob".to_owned())?;
            let expected = relative_blob_target(rest.len() - 1, etag);
            if Path::new(target) != expected {
                return Err(format!(
                    "a symlink to `{target}`, not to its repo's blob `{}`",
                    expected.display()
                ));
            }
            Ok(Shape::Link {
                folder,
                commit: (*commit).to_owned(),
                target: expected,
                etag: etag.to_owned(),
            })
        }
        (["refs", name @ ..], tar::EntryType::Regular) if !name.is_empty() => {
            let name = name.join("/");
            Revision::new(&name).map_err(|e| format!("not a ref name: {e}"))?;
            Ok(Shape::Ref { folder, name })
        }
        (["trees", file], tar::EntryType::Regular) => {
            let commit =
                file.strip_suffix(".json").ok_or("a tree listing not named <commit>.json")?;
            CommitHash::new(commit)
                .map_err(|_| "a tree listing not named by a commit".to_owned())?;
            Ok(Shape::Tree { folder, commit: commit.to_owned() })
        }
        _ => Err(format!("a {kind:?} entry the cache layout has no place for")),
    }
}

/// The archive's entries, each with its shape; blobs hashed, refs and trees read.
struct Checked {
    blobs: BTreeSet<(String, String)>,
    links: Vec<(String, String, String, PathBuf, String)>,
    refs: Vec<(String, String, String)>,
}

fn refused(entry: &str, reason: impl Into<String>) -> Error {
    Error::BadArchive { entry: entry.to_owned(), reason: reason.into() }
}

fn entry_path<R: Read>(entry: &tar::Entry<'_, R>) -> Result<String, Error> {
    let bytes = entry.path_bytes();
    String::from_utf8(bytes.to_vec())
        .map_err(|_| refused(&String::from_utf8_lossy(&bytes), "a path that is not UTF-8"))
}

fn entry_link<R: Read>(entry: &tar::Entry<'_, R>) -> Option<String> {
    entry.link_name_bytes().map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn open_archive(path: &Path) -> Result<tar::Archive<std::io::BufReader<std::fs::File>>, Error> {
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    Ok(tar::Archive::new(std::io::BufReader::new(file)))
}

/// Pass one: every entry checked, nothing written.
fn check(cache: &Path, archive: &Path) -> Result<Checked, Error> {
    let mut checked = Checked { blobs: BTreeSet::new(), links: Vec::new(), refs: Vec::new() };
    let mut archive_reader = open_archive(archive)?;
    let entries = archive_reader.entries().map_err(archive_err(archive))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| {
            refused(&archive.display().to_string(), format!("not a tar archive: {e}"))
        })?;
        let name = entry_path(&entry)?;
        let kind = entry.header().entry_type();
        let link = entry_link(&entry);
        let shape = classify(&name, kind, link.as_deref()).map_err(|r| refused(&name, r))?;
        match shape {
            Shape::Dir => (),
            Shape::Blob { folder, etag } => {
                let size = entry.size();
                let mut hasher = Hasher::new(&etag, size);
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    let n = entry
                        .read(&mut buf)
                        .map_err(|e| refused(&name, format!("cannot be read: {e}")))?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                }
                let actual = hasher.finish();
                if actual != etag.as_str() {
                    return Err(refused(
                        &name,
                        format!("its content hashes to {actual}, not to its name"),
                    ));
                }
                checked.blobs.insert((folder, etag.as_str().to_owned()));
            }
            Shape::Link { folder, commit, target, etag } => {
                checked.links.push((name, folder, commit, target, etag));
            }
            Shape::Ref { folder, name: ref_name } => {
                let mut content = String::new();
                entry
                    .read_to_string(&mut content)
                    .map_err(|_| refused(&name, "a ref that is not text"))?;
                CommitHash::new(&content)
                    .map_err(|_| refused(&name, "a ref that does not hold a commit hash"))?;
                checked.refs.push((folder, ref_name, content));
            }
            Shape::Tree { .. } => {
                let mut bytes = Vec::new();
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|e| refused(&name, format!("cannot be read: {e}")))?;
                if crate::trees::parse_tree(&bytes).is_none() {
                    return Err(refused(&name, "not a tree listing of format version 1"));
                }
            }
        }
    }
    // Every link leads to a blob of the archive or of the cache; every ref to a snapshot.
    let mut commits: BTreeSet<(String, String)> = BTreeSet::new();
    for (name, folder, commit, _, etag) in &checked.links {
        let in_cache = std::fs::metadata(cache.join(folder).join("blobs").join(etag))
            .is_ok_and(|m| m.is_file());
        if !in_cache && !checked.blobs.contains(&(folder.clone(), etag.clone())) {
            return Err(refused(
                name,
                format!("a link to blob {etag}, which neither the archive nor the cache holds"),
            ));
        }
        commits.insert((folder.clone(), commit.clone()));
    }
    for (folder, ref_name, commit) in &checked.refs {
        let in_cache = cache.join(folder).join("snapshots").join(commit).is_dir();
        if !in_cache && !commits.contains(&(folder.clone(), commit.clone())) {
            return Err(refused(
                &format!("{folder}/refs/{ref_name}"),
                format!("a ref to {commit}, a snapshot neither the archive nor the cache holds"),
            ));
        }
    }
    Ok(checked)
}

/// Places the archive `archive` (as [`export`] writes it) into `cache`: checked whole first,
/// then placed file by file, atomically, keeping what the cache has.
pub fn import(cache: &CacheDir, archive: &Path) -> Result<ImportSummary, Error> {
    let root = cache.path();
    let meta =
        std::fs::metadata(root).map_err(|_| Error::CacheNotFound { path: root.to_path_buf() })?;
    if !meta.is_dir() {
        return Err(Error::CacheIsAFile { path: root.to_path_buf() });
    }
    let checked = check(root, archive)?;
    let mut summary = ImportSummary::default();
    let mut archive_reader = open_archive(archive)?;
    let entries = archive_reader.entries().map_err(archive_err(archive))?;
    for entry in entries {
        let mut entry = entry.map_err(archive_err(archive))?;
        let name = entry_path(&entry)?;
        let kind = entry.header().entry_type();
        let link = entry_link(&entry);
        match classify(&name, kind, link.as_deref()).map_err(|r| refused(&name, r))? {
            Shape::Blob { folder, etag } => {
                summary.folders.insert(folder.clone());
                let dest = root.join(&folder).join("blobs").join(etag.as_str());
                if std::fs::metadata(&dest).is_ok_and(|m| m.is_file()) {
                    summary.blobs_kept += 1;
                    continue;
                }
                place_blob(&mut entry, &name, &dest, &etag)?;
                summary.blobs_added += 1;
            }
            Shape::Tree { folder, commit } => {
                let dest = root.join(&folder).join("trees").join(format!("{commit}.json"));
                if std::fs::symlink_metadata(&dest).is_ok() {
                    continue;
                }
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).map_err(archive_err(archive))?;
                write_atomic(&dest, &bytes).map_err(Error::writing_cache)?;
                summary.trees_added += 1;
            }
            Shape::Dir | Shape::Link { .. } | Shape::Ref { .. } => (),
        }
    }
    for (name, folder, _, target, etag) in &checked.links {
        summary.folders.insert(folder.clone());
        let dest = root.join(name);
        if std::fs::symlink_metadata(&dest).is_ok() {
            summary.links_kept += 1;
            continue;
        }
        let blob = root.join(folder).join("blobs").join(etag);
        symlink_atomic(target, &dest, &blob).map_err(Error::writing_cache)?;
        summary.links_added += 1;
    }
    for (folder, ref_name, commit) in &checked.refs {
        let mut dest = root.join(folder).join("refs");
        dest.extend(ref_name.split('/'));
        match std::fs::read_to_string(&dest) {
            Ok(existing) if existing.trim() == commit => (),
            Ok(existing) => summary.refs_kept.push(KeptRef {
                folder: folder.clone(),
                name: ref_name.clone(),
                existing: existing.trim().to_owned(),
                archived: commit.clone(),
            }),
            Err(_) => {
                write_atomic(&dest, commit.as_bytes()).map_err(Error::writing_cache)?;
                summary.refs_written.push(format!("{folder}: {ref_name}"));
            }
        }
    }
    Ok(summary)
}

/// Streams a blob into a temp file beside `dest`, hashing it again, and renames it into place
/// (never over a blob another process placed meanwhile).
fn place_blob<R: Read>(entry: &mut R, name: &str, dest: &Path, etag: &Etag) -> Result<(), Error> {
    let dir = dest.parent().ok_or_else(|| refused(name, "no folder"))?;
    crate::fsutil::create_dir_all(dir).map_err(Error::writing_cache)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".import-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::Io { path: dir.to_path_buf(), cause: e }.writing_cache())?;
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    // The size is needed before hashing a git blob id: stream into the file, hash after.
    loop {
        let n = entry.read(&mut buf).map_err(|e| refused(name, format!("cannot be read: {e}")))?;
        if n == 0 {
            break;
        }
        tmp.write_all(&buf[..n]).map_err(io_err(tmp.path()))?;
        size += n as u64;
    }
    tmp.as_file().sync_all().map_err(io_err(tmp.path()))?;
    let mut hasher = Hasher::new(etag, size);
    let mut reader = std::fs::File::open(tmp.path()).map_err(io_err(tmp.path()))?;
    loop {
        let n = reader.read(&mut buf).map_err(io_err(tmp.path()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let actual = hasher.finish();
    if actual != etag.as_str() {
        return Err(refused(
            name,
            format!("its content changed while importing: it hashes to {actual}"),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644));
    }
    if std::fs::symlink_metadata(dest).is_ok() {
        // A broken link where the blob should be: replaced.
        tmp.persist(dest).map_err(|e| Error::Io { path: dest.to_path_buf(), cause: e.error })?;
    } else {
        match tmp.persist_noclobber(dest) {
            Ok(_) => (),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => (),
            Err(e) => return Err(Error::Io { path: dest.to_path_buf(), cause: e.error }),
        }
    }
    Ok(())
}
