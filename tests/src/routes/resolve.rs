//! `GET`/`HEAD /{prefix}{repo}/resolve/{rev}/{path}`: regular files are served with their git
//! blob id as `ETag`; LFS pointers answer `302` to a signed CDN URL with `X-Linked-*` headers.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use hyper::{Method, Request, body::Incoming, header};

use crate::{
    body,
    faults::Host,
    http_util::{Resp, file_response, finish, hub_error_with, status},
    lfs_store::parse_pointer,
    repo::{self, Repo},
    routes::Readable,
    state::{Auth, State},
};

enum Lookup {
    NoEntry { commit: String },
    Lfs { commit: String, blob_oid: String, oid: String, size: u64 },
    Regular { commit: String, blob_oid: String, size: u64, cached: PathBuf },
}

/// `path` at `commit`; a regular file is copied into the TestHub's blob cache to be served.
fn lookup(state: &State, git_dir: &Path, commit: String, path: &str) -> anyhow::Result<Lookup> {
    let bad_path = path.is_empty()
        || path.starts_with('/')
        || path.split('/').any(|s| s.is_empty() || s == "..");
    if bad_path {
        return Ok(Lookup::NoEntry { commit });
    }
    let entry = match repo::lookup_path(git_dir, &commit, path)? {
        Some(e) if e.kind == "blob" => e,
        _ => return Ok(Lookup::NoEntry { commit }),
    };
    let cached = state.root.join("cache").join("blobs").join(&entry.oid);
    if entry.size <= 1024 {
        let data = repo::read_blob(git_dir, &entry.oid)?;
        if let Some((oid, size)) = parse_pointer(&data) {
            return Ok(Lookup::Lfs { commit, blob_oid: entry.oid, oid, size });
        }
        if !cached.exists() {
            let mut tmp = tempfile::NamedTempFile::new_in(state.root.join("cache"))?;
            std::io::Write::write_all(&mut tmp, &data)?;
            tmp.persist(&cached)?;
        }
    } else if !cached.exists() {
        let tmp = tempfile::NamedTempFile::new_in(state.root.join("cache"))?;
        repo::blob_to_file(git_dir, &entry.oid, tmp.path())?;
        tmp.persist(&cached)?;
    }
    Ok(Lookup::Regular { commit, blob_oid: entry.oid, size: entry.size, cached })
}

pub(crate) async fn handle(
    state: &Arc<State>,
    req: &Request<Incoming>,
    repo: &Repo,
    rev: &str,
    path: &str,
    auth: &Auth,
) -> Resp {
    let readable = match Readable::check(state, repo, auth) {
        Ok(r) => r,
        Err(reject) => return reject.resp(),
    };
    let head = req.method() == Method::HEAD;
    let range = req.headers().get(header::RANGE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let found = {
        let (state, path) = (state.clone(), path.to_owned());
        readable
            .at_revision(rev, "lookup", move |git_dir, commit| {
                lookup(&state, git_dir, commit, &path)
            })
            .await
    };
    let found = match found {
        Ok(found) => found,
        Err(reject) => return reject.resp(),
    };
    match found {
        Lookup::NoEntry { commit } => hub_error_with(
            status(404).header("X-Repo-Commit", commit),
            404,
            Some("EntryNotFound"),
            &format!("Entry not found: {path}"),
        ),
        Lookup::Lfs { commit, blob_oid, oid, size } => {
            let location = format!("{}/lfs/{oid}?{}", state.cdn_url, state.sign("GET", &oid));
            let builder = status(302)
                .header(header::LOCATION, location)
                .header("X-Repo-Commit", commit)
                .header("X-Linked-Etag", format!("\"{oid}\""))
                .header("X-Linked-Size", size.to_string())
                .header(header::ETAG, format!("\"{blob_oid}\""));
            finish(builder, body::empty())
        }
        Lookup::Regular { commit, blob_oid, size, cached } => {
            let builder = status(200)
                .header("X-Repo-Commit", commit)
                .header(header::ETAG, format!("\"{blob_oid}\""));
            file_response(state, Host::Hub, builder, head, cached, size, range.as_deref())
        }
    }
}
