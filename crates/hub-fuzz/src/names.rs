//! `names`: repo ids, repo types, revisions, paths in a repo, endpoints and origins (`hub-url`),
//! etags and commit hashes (`hub-cache`), cache folder names (the scan), and the URLs built from
//! valid names.
//!
//! Each line of the input, and the whole input, goes through every parser. When the first four
//! lines are a valid endpoint, repo, revision and path, the URLs built from them are checked too.

use std::path::{Component, Path};

use hub_cache::{CommitHash, Etag};
use hub_url::{
    Endpoint, Origin, Repo, RepoId, RepoPath, RepoType, Revision, RevisionKind, encode_component,
    encode_path, is_commit_hash,
};
use percent_encoding::percent_decode_str;

use crate::{is_lower_hex, text};

/// The `names` target.
pub fn names(data: &[u8]) {
    let text = text(data);
    for line in text.split('\n').chain([text.as_ref()]) {
        repo_id(line);
        repo(line);
        revision(line);
        repo_path(line);
        endpoint(line);
        origin(line);
        cache_ids(line);
        cache_folder(line);
        encodings(line);
    }
    let mut lines = text.split('\n');
    if let (Some(e), Some(r), Some(v), Some(p)) =
        (lines.next(), lines.next(), lines.next(), lines.next())
        && let (Ok(e), Ok(r), Ok(v), Ok(p)) =
            (Endpoint::new(e), r.parse::<Repo>(), Revision::new(v), RepoPath::new(p))
    {
        urls(&e, &r, &v, &p);
    }
}

fn repo_id(s: &str) {
    let Ok(id) = RepoId::new(s) else { return };
    assert_eq!(id.as_str(), s);
    assert_eq!(id.to_string().parse::<RepoId>().as_ref(), Ok(&id));
    match id.namespace() {
        Some(ns) => assert_eq!(format!("{ns}/{}", id.name()), s),
        None => assert_eq!(id.name(), s),
    }
    let parts: Vec<&str> = s.split('/').collect();
    assert!(parts.len() <= 2, "{s:?}: more than two parts");
    for part in parts {
        assert!((1..=96).contains(&part.len()), "{s:?}: a part of bad length");
        assert!(part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
        assert!(part != "." && part != "..", "{s:?}: a dot part");
    }
    assert!(!s.contains("--") && !s.contains(".."), "{s:?}");
    for repo_type in RepoType::ALL {
        let repo = Repo::new(repo_type, id.clone());
        let folder = repo.cache_folder_name();
        assert!(!folder.contains('/'), "{folder:?}: a folder name with a separator");
        assert_eq!(
            hub_cache::fuzzing::repo_of_folder(&folder),
            Some(Ok(repo)),
            "the scan does not read back {folder:?}"
        );
    }
}

fn repo(s: &str) {
    let Ok(repo) = s.parse::<Repo>() else { return };
    let shown = repo.to_string();
    assert_eq!(shown.parse::<Repo>().as_ref(), Ok(&repo), "{s:?} shown as {shown:?}");
}

fn revision(s: &str) {
    let Ok(revision) = Revision::new(s) else { return };
    assert_eq!(revision.as_str(), s);
    assert!(s.len() <= 255);
    assert!(!s.starts_with('/') && !s.contains('\\') && !s.chars().any(char::is_control), "{s:?}");
    for segment in s.split('/') {
        assert!(!segment.is_empty() && !segment.starts_with('.'), "{s:?}: segment {segment:?}");
    }
    // A revision becomes a file under `refs/`: it must stay there.
    assert!(stays_inside(s), "{s:?} escapes refs/");
    assert_eq!(revision.is_commit(), is_commit_hash(s));
    match revision.kind() {
        RevisionKind::Commit => assert!(is_commit_hash(s)),
        RevisionKind::PullRequest(_) => assert!(s.starts_with("refs/pr/")),
        RevisionKind::Convert(name) => assert_eq!(format!("refs/convert/{name}"), s),
        RevisionKind::Named => (),
    }
}

fn repo_path(s: &str) {
    let Ok(path) = RepoPath::new(s) else { return };
    assert_eq!(path.as_str(), s);
    let segments: Vec<&str> = path.segments().collect();
    assert_eq!(segments.join("/"), s);
    assert_eq!(path.depth() + 1, segments.len());
    assert_eq!(Some(&path.file_name()), segments.last());
    assert!(!s.starts_with('/') && !s.contains('\0'), "{s:?}");
    // The path is joined under a snapshot or a local_dir, on Unix and on Windows.
    assert!(stays_inside(s) && stays_inside(&s.replace('\\', "/")), "{s:?} escapes its folder");
    for segment in s.split(['/', '\\']) {
        assert!(!matches!(segment, "" | "." | ".."), "{s:?}: segment {segment:?}");
        let b = segment.as_bytes();
        assert!(!(b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'), "{s:?}: a drive");
    }
    let with_sub = RepoPath::with_subfolder(Some("sub"), s).map(|p| p.as_str().to_owned());
    assert_eq!(with_sub.as_deref(), Ok(format!("sub/{s}").as_str()));
}

/// Whether `relative`, joined to a folder, names something inside it.
fn stays_inside(relative: &str) -> bool {
    Path::new(relative).components().all(|c| matches!(c, Component::Normal(_)))
}

fn endpoint(s: &str) {
    let Ok(endpoint) = Endpoint::new(s) else { return };
    let url = endpoint.as_str();
    assert_eq!(Endpoint::new(url).as_ref(), Ok(&endpoint), "{s:?} is not stable");
    assert_eq!(Origin::parse(url).as_ref(), Some(endpoint.origin()));
    assert!(!url.ends_with('/') && !url.contains(['?', '#']), "{url:?}");
    assert!(!url.chars().any(|c| c.is_whitespace() || c.is_control()), "{url:?}");
    let authority =
        url.split_once("://").map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
    assert!(!authority.contains('@'), "{url:?} carries credentials");
}

fn origin(s: &str) {
    let Some(origin) = Origin::parse(s) else { return };
    assert!(matches!(origin.scheme(), "http" | "https"), "{s:?}");
    assert!(!origin.host().is_empty(), "{s:?}");
    assert_eq!(origin.host(), origin.host().to_ascii_lowercase());
}

fn cache_ids(s: &str) {
    if let Ok(etag) = Etag::from_header(s) {
        assert!(is_lower_hex(etag.as_str(), &[40, 64]), "{s:?} gave {etag}");
        assert_eq!(etag.is_sha256(), etag.as_str().len() == 64);
        assert_eq!(Etag::new(etag.as_str()).ok().as_ref(), Some(&etag));
        assert!(stays_inside(etag.as_str()));
    }
    assert_eq!(Etag::new(s).is_ok(), is_lower_hex(s, &[40, 64]), "{s:?}");
    assert_eq!(CommitHash::new(s).is_ok(), is_commit_hash(s), "{s:?}");
    assert_eq!(is_commit_hash(s), is_lower_hex(s, &[40]), "{s:?}");
}

fn cache_folder(s: &str) {
    if s.contains(['/', '\0']) {
        return; // not the name of a folder
    }
    match hub_cache::fuzzing::repo_of_folder(s) {
        None => assert!(!s.contains("--"), "{s:?} is not read as a repo folder"),
        Some(Ok(repo)) => assert_eq!(repo.cache_folder_name(), s, "{s:?} read as {repo}"),
        Some(Err(_)) => (),
    }
}

fn encodings(s: &str) {
    let component = encode_component(s);
    assert!(component.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)));
    assert_eq!(percent_decode_str(&component).decode_utf8().as_deref(), Ok(s));
    let path = encode_path(s);
    assert!(!path.contains(['?', '#', ' ']) && path.is_ascii(), "{path:?}");
    assert_eq!(percent_decode_str(&path).decode_utf8().as_deref(), Ok(s));
    assert_eq!(path.matches('/').count(), s.matches('/').count());
}

/// URLs built from valid names stay on the endpoint's origin, and keep each name in its place.
fn urls(endpoint: &Endpoint, repo: &Repo, revision: &Revision, path: &RepoPath) {
    let base = format!("{}/", endpoint.as_str());
    let built = [
        endpoint.resolve_url(repo, revision, path),
        endpoint.blob_url(repo, revision, path),
        endpoint.repo_url(repo),
        endpoint.git_remote_url(repo),
        endpoint.lfs_batch_url(repo),
        endpoint.api_repo_url(repo, Some(revision)),
        endpoint.tree_url(repo, revision, Some(path)),
        endpoint.paths_info_url(repo, revision),
        endpoint.commits_url(repo, revision),
        endpoint.preupload_url(repo, revision),
        endpoint.commit_url(repo, revision),
    ];
    for url in &built {
        assert!(url.starts_with(&base), "{url:?} is not under {base:?}");
        assert_eq!(Origin::parse(url).as_ref(), Some(endpoint.origin()), "{url:?} moved origin");
        assert!(!url[base.len()..].contains(['?', '#']), "{url:?}");
    }
    let resolve = &built[0];
    let rest = &resolve[base.len()..];
    let prefix = format!("{repo}/resolve/");
    let rest = rest.strip_prefix(&prefix).unwrap_or_else(|| panic!("{resolve:?}: no {prefix:?}"));
    let (rev, file) = rest.split_once('/').unwrap_or_else(|| panic!("{resolve:?}: no path"));
    assert_eq!(percent_decode_str(rev).decode_utf8().as_deref(), Ok(revision.as_str()));
    assert_eq!(percent_decode_str(file).decode_utf8().as_deref(), Ok(path.as_str()));
}
