//! The few `/api/…` endpoints the official client needs around downloads: `whoami-v2` and
//! repo info (`/api/{models,datasets,spaces}/{id}[/revision/{rev}]`, used by
//! `snapshot_download`). `/api/agent-harnesses` is answered before authentication in `server`.

use std::sync::Arc;

use hyper::{Method, Request, body::Incoming};
use serde_json::{Value, json};

use crate::{
    http_util::{Resp, hub_error, internal_error, json},
    lfs_store::parse_pointer,
    repo::{self, Repo, RepoType, is_valid_repo_id},
    routes::read_denied,
    server::decode,
    state::{Auth, State, TokenRole},
};

const FIXED_DATE: &str = "2024-01-01T00:00:00.000Z";

pub(crate) async fn handle(
    state: &Arc<State>,
    req: Request<Incoming>,
    auth: &Auth,
) -> (&'static str, Resp) {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return ("api-unknown", hub_error(404, None, "Not Found"));
    }
    let segs: Vec<&str> = path.trim_start_matches("/api/").split('/').collect();
    match segs.as_slice() {
        ["whoami-v2"] => ("whoami", whoami(state, auth)),
        [kind @ ("models" | "datasets" | "spaces"), rest @ ..] if !rest.is_empty() => {
            let repo_type = match *kind {
                "datasets" => RepoType::Dataset,
                "spaces" => RepoType::Space,
                _ => RepoType::Model,
            };
            let (id, refs) = match rest {
                [ns, name, "refs"] => (format!("{ns}/{name}"), true),
                [name, "refs"] => ((*name).to_owned(), true),
                _ => (String::new(), false),
            };
            if refs {
                let include_prs =
                    query.split('&').any(|p| p == "include_prs=1" || p == "include_prs=true");
                return (
                    "refs",
                    list_refs(state, &Repo::new(repo_type, &id), include_prs, auth).await,
                );
            }
            let (id, rev) = match rest {
                [ns, name, "revision", rev @ ..] if !rev.is_empty() => {
                    (format!("{ns}/{name}"), Some(rev.join("/")))
                }
                [name, "revision", rev @ ..] if !rev.is_empty() => {
                    ((*name).to_owned(), Some(rev.join("/")))
                }
                [ns, name] => (format!("{ns}/{name}"), None),
                [name] => ((*name).to_owned(), None),
                _ => return ("api-unknown", hub_error(404, None, "Not Found")),
            };
            let rev = match rev.map(|r| decode(&r)) {
                Some(Some(r)) => r,
                Some(None) => return ("repo-info", hub_error(400, None, "Invalid URL encoding")),
                None => "main".to_owned(),
            };
            if !is_valid_repo_id(&id) {
                return ("repo-info", hub_error(401, Some("RepoNotFound"), "Repository not found"));
            }
            let blobs =
                query.split('&').any(|p| p == "blobs=true" || p == "blobs=True" || p == "blobs=1");
            ("repo-info", repo_info(state, &Repo::new(repo_type, &id), &rev, blobs, auth).await)
        }
        _ => ("api-unknown", hub_error(404, None, "Not Found")),
    }
}

fn whoami(state: &State, auth: &Auth) -> Resp {
    let Auth::User { name, role } = auth else {
        return hub_error(401, None, "Invalid credentials in Authorization header");
    };
    let orgs: Vec<Value> =
        state.user_orgs(name).into_iter().map(|o| json!({"type": "org", "name": o})).collect();
    let role = match role {
        TokenRole::Read => "read",
        TokenRole::Write => "write",
    };
    json(
        200,
        &json!({
            "type": "user", "id": name, "name": name, "fullname": name, "email": format!("{name}@testhub.local"),
            "emailVerified": true, "isPro": false, "canPay": false, "orgs": orgs,
            "auth": {"type": "access_token", "accessToken": {"displayName": "testhub", "role": role, "createdAt": FIXED_DATE}},
        }),
    )
}

async fn repo_info(state: &Arc<State>, repo: &Repo, rev: &str, blobs: bool, auth: &Auth) -> Resp {
    if let Some(res) = read_denied(repo, state.read_access(repo, auth)) {
        return res;
    }
    let Some(meta) = state.meta(repo) else {
        return hub_error(401, Some("RepoNotFound"), "Repository not found");
    };
    let listed = {
        let (git_dir, rev) = (state.git_dir(repo), rev.to_owned());
        tokio::task::spawn_blocking(move || -> anyhow::Result<Option<(String, Vec<Value>)>> {
            let Some(commit) = repo::resolve_revision(&git_dir, &rev)? else { return Ok(None) };
            let mut siblings = Vec::new();
            for file in repo::list_files(&git_dir, &commit)? {
                let mut sibling = json!({"rfilename": file.path});
                if blobs {
                    sibling["size"] = json!(file.size);
                    sibling["blobId"] = json!(file.oid);
                    if file.size <= 1024
                        && let Some((oid, size)) =
                            parse_pointer(&repo::read_blob(&git_dir, &file.oid)?)
                    {
                        sibling["size"] = json!(size);
                        sibling["lfs"] =
                            json!({"size": size, "sha256": oid, "pointerSize": file.size});
                    }
                }
                siblings.push(sibling);
            }
            Ok(Some((commit, siblings)))
        })
        .await
    };
    let (commit, siblings) = match listed {
        Ok(Ok(Some(it))) => it,
        Ok(Ok(None)) => {
            return hub_error(404, Some("RevisionNotFound"), &format!("Invalid rev id: {rev}"));
        }
        Ok(Err(e)) => return internal_error(&e),
        Err(e) => return internal_error(&anyhow::format_err!("listing task failed: {e}")),
    };
    let mut info = json!({
        "_id": commit, "id": repo.repo_id, "author": repo.namespace().unwrap_or(&meta.owner), "sha": commit,
        "lastModified": FIXED_DATE, "createdAt": FIXED_DATE, "private": meta.private,
        "gated": if meta.gated { json!("manual") } else { json!(false) }, "disabled": false,
        "downloads": 0, "likes": 0, "tags": [], "siblings": siblings,
    });
    match repo.repo_type {
        RepoType::Model => info["modelId"] = json!(repo.repo_id),
        RepoType::Space => info["sdk"] = json!("static"),
        RepoType::Dataset => (),
    }
    json(200, &info)
}

async fn list_refs(state: &Arc<State>, repo: &Repo, include_prs: bool, auth: &Auth) -> Resp {
    if !is_valid_repo_id(&repo.repo_id) {
        return hub_error(401, Some("RepoNotFound"), "Repository not found");
    }
    if let Some(res) = read_denied(repo, state.read_access(repo, auth)) {
        return res;
    }
    let git_dir = state.git_dir(repo);
    let refs = match tokio::task::spawn_blocking(move || repo::list_refs(&git_dir)).await {
        Ok(Ok(refs)) => refs,
        Ok(Err(e)) => return internal_error(&e),
        Err(e) => return internal_error(&anyhow::format_err!("refs task failed: {e}")),
    };
    let (mut branches, mut tags, mut converts, mut prs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (name, commit) in refs {
        let entry = |short: &str| json!({"name": short, "ref": name, "targetCommit": commit});
        if let Some(short) = name.strip_prefix("refs/heads/") {
            branches.push(entry(short));
        } else if let Some(short) = name.strip_prefix("refs/tags/") {
            tags.push(entry(short));
        } else if let Some(short) = name.strip_prefix("refs/convert/") {
            converts.push(entry(short));
        } else if name.starts_with("refs/pr/") {
            prs.push(entry(&name));
        }
    }
    let mut body = json!({"branches": branches, "converts": converts, "tags": tags});
    if include_prs {
        body["pullRequests"] = json!(prs);
    }
    json(200, &body)
}
