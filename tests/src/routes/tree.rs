//! `GET /api/{t}/{id}/tree/{rev}[/{path}]`, `POST /api/{t}/{id}/paths-info/{rev}` and
//! `GET /api/{t}/{id}/commits/{rev}`: what is in a revision, and its history.

use std::{path::Path, sync::Arc};

use hyper::{Request, body::Incoming, header};
use serde_json::{Value, json};

use crate::{
    http_util::{Resp, hub_error, json},
    lfs_store::parse_pointer,
    repo::{self, CommitInfo, Repo, TreeEntry},
    routes::{Paging, Readable, lfs::read_body, truthy},
    state::{Auth, State},
    util::{form_pairs, iso_date},
};

/// The Hub's page sizes: tree entries (1000, or 50 with `expand=true`) and commits (50).
const TREE_PAGE: usize = 1000;
const TREE_EXPANDED_PAGE: usize = 50;
const COMMITS_PAGE: usize = 50;

fn last_commit_json(c: &CommitInfo) -> Value {
    json!({"id": c.id, "title": c.title, "date": iso_date(c.date)})
}

/// The JSON of tree entries: LFS files get `lfs` and their real size; with `expand`, every entry
/// gets `lastCommit` and files `securityFileStatus`.
fn entries_json(
    git_dir: &Path,
    commit: &str,
    entries: &[TreeEntry],
    expand: bool,
) -> anyhow::Result<Vec<Value>> {
    let small: Vec<&str> =
        entries.iter().filter(|e| !e.is_dir && e.size <= 1024).map(|e| e.oid.as_str()).collect();
    let contents = repo::read_blobs(git_dir, &small)?;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let mut item = if e.is_dir {
            json!({"type": "directory", "oid": e.oid, "size": 0, "path": e.path})
        } else {
            let mut item = json!({"type": "file", "oid": e.oid, "size": e.size, "path": e.path});
            if let Some((oid, size)) = contents.get(&e.oid).and_then(|d| parse_pointer(d)) {
                item["size"] = json!(size);
                item["lfs"] = json!({"oid": oid, "size": size, "pointerSize": e.size});
            }
            item
        };
        if expand {
            if let Some(c) = repo::last_commit_of(git_dir, commit, &e.path)? {
                item["lastCommit"] = last_commit_json(&c);
            }
            if !e.is_dir {
                item["securityFileStatus"] = json!({"status": "safe",
                    "avScan": {"virusFound": false, "virusNames": null}, "pickleImportScan": null});
            }
        }
        out.push(item);
    }
    Ok(out)
}

enum Listed {
    NoPath,
    /// The page's entries, where it ends, how many entries in all.
    Page(Vec<Value>, usize, usize),
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn tree(
    state: &Arc<State>,
    path: &str,
    raw_query: &str,
    repo: &Repo,
    rev: &str,
    dir: &str,
    auth: &Auth,
) -> Resp {
    let readable = match Readable::check(state, repo, auth) {
        Ok(r) => r,
        Err(reject) => return reject.resp(),
    };
    let pairs = form_pairs(raw_query);
    let flag = |key: &str| pairs.iter().any(|(k, v)| k == key && truthy(v));
    let (recursive, expand) = (flag("recursive"), flag("expand"));
    let paging = match Paging::from_query(&pairs) {
        Ok(p) => p,
        Err(reject) => return reject.resp(),
    };
    let page =
        state.limits().page_size.unwrap_or(if expand { TREE_EXPANDED_PAGE } else { TREE_PAGE });
    let listed = {
        let dir = dir.to_owned();
        readable
            .at_revision(rev, "tree", move |git_dir, commit| {
                let Some(entries) = repo::ls_tree(git_dir, &commit, &dir, recursive)? else {
                    return Ok(Listed::NoPath);
                };
                // Only the page is described (expand costs one `git log` per entry).
                let (start, end) = paging.bounds(entries.len(), page);
                let items = entries_json(git_dir, &commit, &entries[start..end], expand)?;
                Ok(Listed::Page(items, end, entries.len()))
            })
            .await
    };
    match listed {
        Ok(Listed::Page(items, end, total)) => {
            Paging::respond_page(&state.endpoint, path, raw_query, items, end, total)
        }
        Ok(Listed::NoPath) => {
            hub_error(404, Some("EntryNotFound"), &format!("{dir} does not exist on \"{rev}\""))
        }
        Err(reject) => reject.resp(),
    }
}

pub(crate) async fn paths_info(
    state: &Arc<State>,
    req: Request<Incoming>,
    repo: &Repo,
    rev: &str,
    auth: &Auth,
) -> Resp {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    // The body is read before any answer (an unread body closes the connection).
    let body = read_body(req).await;
    let readable = match Readable::check(state, repo, auth) {
        Ok(r) => r,
        Err(reject) => return reject.resp(),
    };
    let body = match body {
        Ok(b) => b,
        Err(res) => return res,
    };
    let (paths, expand) = if is_json {
        let value: Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return hub_error(400, None, &format!("Invalid JSON body: {e}")),
        };
        let paths = match value.get("paths") {
            Some(Value::Array(a)) => {
                a.iter().filter_map(|p| p.as_str().map(str::to_owned)).collect()
            }
            Some(Value::String(p)) => vec![p.clone()],
            _ => Vec::new(),
        };
        (paths, value.get("expand").and_then(Value::as_bool).unwrap_or(false))
    } else {
        let pairs = form_pairs(&String::from_utf8_lossy(&body));
        let paths: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| k == "paths" || k == "paths[]")
            .map(|(_, v)| v.clone())
            .collect();
        (paths, pairs.iter().any(|(k, v)| k == "expand" && truthy(v)))
    };
    if paths.len() > 1000 {
        return hub_error(413, None, "too many parameters");
    }
    let mut unique = Vec::new();
    for p in paths {
        let p = p.trim_matches('/').to_owned();
        if !unique.contains(&p) {
            unique.push(p);
        }
    }
    let found = readable
        .at_revision(rev, "paths-info", move |git_dir, commit| {
            let entries: Vec<TreeEntry> =
                repo::lookup_paths(git_dir, &commit, &unique)?.into_iter().flatten().collect();
            entries_json(git_dir, &commit, &entries, expand)
        })
        .await;
    match found {
        Ok(items) => json(200, &Value::Array(items)),
        Err(reject) => reject.resp(),
    }
}

/// Escapes text for the `formatted` (HTML) fields.
fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

pub(crate) async fn commits(
    state: &Arc<State>,
    path: &str,
    raw_query: &str,
    repo: &Repo,
    rev: &str,
    auth: &Auth,
) -> Resp {
    let readable = match Readable::check(state, repo, auth) {
        Ok(r) => r,
        Err(reject) => return reject.resp(),
    };
    let pairs = form_pairs(raw_query);
    let formatted =
        pairs.iter().any(|(k, v)| (k == "expand[]" || k == "expand") && v == "formatted");
    let paging = match Paging::from_query(&pairs) {
        Ok(p) => p,
        Err(reject) => return reject.resp(),
    };
    let history =
        readable.at_revision(rev, "commits", |git_dir, commit| repo::log(git_dir, &commit));
    let history: Vec<CommitInfo> = match history.await {
        Ok(h) => h,
        Err(reject) => return reject.resp(),
    };
    let items: Vec<Value> = history
        .iter()
        .map(|c| {
            let mut item = json!({"id": c.id, "authors": [{"user": c.author}], "date": iso_date(c.date),
                "title": c.title, "message": c.body});
            if formatted {
                item["formatted"] = json!({"title": html(&c.title), "message": html(&c.body)});
            }
            item
        })
        .collect();
    let page = state.limits().page_size.unwrap_or(COMMITS_PAGE);
    paging.respond(&state.endpoint, path, raw_query, items, page, None)
}
