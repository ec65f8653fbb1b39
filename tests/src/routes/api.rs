//! `/api/…`: the dispatcher, plus `whoami-v2`, repo info
//! (`/api/{models,datasets,spaces}/{id}[/revision/{rev}]`) and refs. Repo CRUD is in `repos`,
//! listings in `listing`, tree / paths-info / commits in `tree`, branches and tags in `git_refs`,
//! preupload / commit / validate-yaml in `commit`.
//! `/api/agent-harnesses` is answered before authentication in `server`.

use std::sync::Arc;

use hyper::{Method, Request, body::Incoming, header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    body,
    http_util::{Resp, finish, hub_error, json, status},
    lfs_store::parse_pointer,
    repo::{self, Repo, RepoType, is_valid_repo_id},
    routes::{Readable, Reject, commit, git_refs, listing, repos, tree, truthy},
    server::decode,
    state::{Auth, RepoMeta, State, TokenRole},
    util::{form_pairs, hex, iso_date},
};

/// What the TestHub answers for dates it does not track.
pub(crate) const FIXED_DATE: &str = "2024-01-01T00:00:00.000Z";
const CREATED_DEFAULT: u64 = 1_704_067_200;

/// Sub-resources of a repository: `/api/{t}/{id}/{action}/…`.
const ACTIONS: &[&str] = &[
    "revision",
    "refs",
    "tree",
    "paths-info",
    "commits",
    "branch",
    "tag",
    "settings",
    "preupload",
    "commit",
];

pub(crate) fn repo_type_of(plural: &str) -> Option<RepoType> {
    match plural {
        "models" => Some(RepoType::Model),
        "datasets" => Some(RepoType::Dataset),
        "spaces" => Some(RepoType::Space),
        _ => None,
    }
}

fn not_found() -> (&'static str, Resp) {
    ("api-unknown", hub_error(404, None, "Not Found"))
}

pub(crate) async fn handle(
    state: &Arc<State>,
    req: Request<Incoming>,
    auth: &Auth,
) -> (&'static str, Resp) {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let method = req.method().clone();
    let read = method == Method::GET || method == Method::HEAD;
    let Some(tail) = path.strip_prefix("/api/") else { return not_found() };
    let segs: Vec<&str> = tail.split('/').collect();
    match segs.as_slice() {
        ["whoami-v2"] if read => ("whoami", whoami(state, auth)),
        ["validate-yaml"] if method == Method::POST => {
            ("validate-yaml", commit::validate_yaml(req).await)
        }
        ["repos", "create"] if method == Method::POST => {
            ("repo-create", repos::create(state, req, auth).await)
        }
        ["repos", "delete"] if method == Method::DELETE => {
            ("repo-delete", repos::delete(state, req, auth).await)
        }
        ["repos", "move"] if method == Method::POST => {
            ("repo-move", repos::move_repo(state, req, auth).await)
        }
        [kind] if read && repo_type_of(kind).is_some() => {
            let repo_type = repo_type_of(kind).unwrap_or(RepoType::Model);
            let route = match repo_type {
                RepoType::Model => "list-models",
                RepoType::Dataset => "list-datasets",
                RepoType::Space => "list-spaces",
            };
            (route, listing::handle(state, &path, &query, repo_type, auth).await)
        }
        [kind, rest @ ..] if !rest.is_empty() && repo_type_of(kind).is_some() => {
            let repo_type = repo_type_of(kind).unwrap_or(RepoType::Model);
            repo_scoped(state, req, repo_type, rest, &query, auth).await
        }
        // v0.1 `update_repo_visibility`: `PUT /api/{namespace}/{name}/settings` for models.
        [ns, name, "settings"] if method == Method::PUT => {
            let repo = Repo::model(&format!("{ns}/{name}"));
            ("repo-settings", repos::settings(state, req, &repo, auth).await)
        }
        _ => not_found(),
    }
}

/// Splits `{id}[/{action}/{args…}]` (id of one or two segments).
fn split_repo_path<'a>(
    state: &State,
    repo_type: RepoType,
    rest: &'a [&'a str],
) -> Option<(String, Option<&'a str>, &'a [&'a str])> {
    match rest {
        [ns, name] => {
            let id = format!("{ns}/{name}");
            let exists = |id: &str| {
                let repo = Repo::new(repo_type, id);
                state.meta(&repo).is_some() || state.renamed_to(&repo).is_some()
            };
            // `/api/models/gpt2/refs` is the refs of `gpt2` unless `gpt2/refs` exists.
            if matches!(*name, "refs" | "settings") && !exists(&id) && exists(ns) {
                return Some(((*ns).to_owned(), Some(*name), &[]));
            }
            Some((id, None, &[]))
        }
        [name] => Some(((*name).to_owned(), None, &[])),
        [ns, name, action, args @ ..] if ACTIONS.contains(action) => {
            Some((format!("{ns}/{name}"), Some(*action), args))
        }
        [name, action, args @ ..] if ACTIONS.contains(action) => {
            Some(((*name).to_owned(), Some(*action), args))
        }
        _ => None,
    }
}

/// Decodes path segments and joins them with `/`; `None` on bad encoding or nothing.
pub(crate) fn joined(args: &[&str]) -> Option<String> {
    let parts: Option<Vec<String>> = args.iter().map(|s| decode(s)).collect();
    let joined = parts?.join("/");
    (!joined.is_empty()).then_some(joined)
}

/// A revision followed by a path: `{quote(rev, safe="")}/{path…}`, or a literal
/// `refs/pr/N/{path…}` / `refs/convert/X/{path…}`.
pub(crate) fn rev_and_path(args: &[&str]) -> Option<(String, String)> {
    let (rev, path) = match args {
        ["refs", kind @ ("pr" | "convert"), n, path @ ..] => (format!("refs/{kind}/{n}"), path),
        [rev, path @ ..] => (decode(rev)?, path),
        [] => return None,
    };
    let path = if path.is_empty() { String::new() } else { joined(path)? };
    Some((rev, path.trim_matches('/').to_owned()))
}

async fn repo_scoped(
    state: &Arc<State>,
    req: Request<Incoming>,
    repo_type: RepoType,
    rest: &[&str],
    query: &str,
    auth: &Auth,
) -> (&'static str, Resp) {
    let Some((id, action, args)) = split_repo_path(state, repo_type, rest) else {
        return not_found();
    };
    let route = match action {
        None | Some("revision") => "repo-info",
        Some("refs") => "refs",
        Some("tree") => "tree",
        Some("paths-info") => "paths-info",
        Some("commits") => "commits",
        Some("branch") => "branch",
        Some("tag") => "tag",
        Some("settings") => "repo-settings",
        Some("preupload") => "preupload",
        Some("commit") => "commit",
        Some(_) => return not_found(),
    };
    if !is_valid_repo_id(&id) {
        return (route, hub_error(401, Some("RepoNotFound"), "Repository not found"));
    }
    let repo = Repo::new(repo_type, &id);
    if state.meta(&repo).is_none()
        && let Some(new) = state.renamed_to(&repo)
    {
        let mut location = format!("/api/{}/{}", repo_type.plural(), new.repo_id);
        if let Some(action) = action {
            location.push('/');
            location.push_str(action);
            for arg in args {
                location.push('/');
                location.push_str(arg);
            }
        }
        if !query.is_empty() {
            location.push('?');
            location.push_str(query);
        }
        return ("redirect", finish(status(307).header(header::LOCATION, location), body::empty()));
    }
    let method = req.method().clone();
    let read = method == Method::GET || method == Method::HEAD;
    let bad_encoding = || hub_error(400, None, "Invalid URL encoding");
    let res = match (action, args) {
        (None, []) if read => {
            let blobs =
                query.split('&').any(|p| p == "blobs=true" || p == "blobs=True" || p == "blobs=1");
            repo_info(state, &repo, None, blobs, auth).await
        }
        (Some("revision"), args) if read && !args.is_empty() => match joined(args) {
            Some(rev) => {
                let blobs = query
                    .split('&')
                    .any(|p| p == "blobs=true" || p == "blobs=True" || p == "blobs=1");
                repo_info(state, &repo, Some(&rev), blobs, auth).await
            }
            None => bad_encoding(),
        },
        (Some("refs"), []) if read => {
            let include_prs =
                query.split('&').any(|p| p == "include_prs=1" || p == "include_prs=true");
            list_refs(state, &repo, include_prs, auth).await
        }
        (Some("tree"), args) if read => match rev_and_path(args) {
            Some((rev, path)) => {
                tree::tree(state, req.uri().path(), query, &repo, &rev, &path, auth).await
            }
            None => bad_encoding(),
        },
        (Some("paths-info"), args) if method == Method::POST => match joined(args) {
            Some(rev) => tree::paths_info(state, req, &repo, &rev, auth).await,
            None => bad_encoding(),
        },
        (Some("commits"), args) if read => {
            let rev = if args.is_empty() { Some("main".to_owned()) } else { joined(args) };
            match rev {
                Some(rev) => tree::commits(state, req.uri().path(), query, &repo, &rev, auth).await,
                None => bad_encoding(),
            }
        }
        (Some("branch"), args) if method == Method::POST || method == Method::DELETE => {
            match joined(args) {
                Some(branch) if method == Method::POST => {
                    git_refs::create_branch(state, req, &repo, &branch, auth).await
                }
                Some(branch) => git_refs::delete_branch(state, &repo, &branch, auth).await,
                None => bad_encoding(),
            }
        }
        (Some("tag"), args) if method == Method::POST || method == Method::DELETE => {
            match joined(args) {
                Some(rev) if method == Method::POST => {
                    git_refs::create_tag(state, req, &repo, &rev, auth).await
                }
                Some(tag) => git_refs::delete_tag(state, &repo, &tag, auth).await,
                None => bad_encoding(),
            }
        }
        (Some("settings"), []) if method == Method::PUT => {
            repos::settings(state, req, &repo, auth).await
        }
        (Some("preupload"), args) if method == Method::POST => match joined(args) {
            Some(rev) => commit::preupload(state, req, &repo, &rev, auth).await,
            None => bad_encoding(),
        },
        (Some("commit"), args) if method == Method::POST => match joined(args) {
            Some(rev) => {
                let create_pr =
                    form_pairs(query).iter().any(|(k, v)| k == "create_pr" && truthy(v));
                commit::commit(state, req, &repo, &rev, create_pr, auth).await
            }
            None => bad_encoding(),
        },
        _ => hub_error(404, None, "Not Found"),
    };
    (route, res)
}

fn whoami(state: &State, auth: &Auth) -> Resp {
    let Auth::User { name, role } = auth else {
        return hub_error(401, None, "Invalid credentials in Authorization header");
    };
    let orgs: Vec<Value> = state
        .user_orgs(name)
        .into_iter()
        .map(|o| json!({"type": "org", "name": o, "fullname": o, "roleInOrg": "write"}))
        .collect();
    let role = match role {
        TokenRole::Read => "read",
        TokenRole::Write => "write",
    };
    json(
        200,
        &json!({
            "type": "user", "id": name, "name": name, "fullname": name, "email": format!("{name}@testhub.local"),
            "emailVerified": true, "isPro": false, "canPay": false, "orgs": orgs,
            "auth": {"type": "access_token", "accessToken": {"displayName": format!("{name}-{role}"), "role": role, "createdAt": FIXED_DATE}},
        }),
    )
}

/// The fields every repository JSON has (repo info and listing items). `head` is the commit
/// described and its date, if the repository has one.
pub(crate) fn repo_json(repo: &Repo, meta: &RepoMeta, head: Option<&(String, u64)>) -> Value {
    let created = if meta.created == 0 { CREATED_DEFAULT } else { meta.created };
    let digest = hex(&Sha256::digest(format!("{}/{}", repo.repo_type.as_str(), repo.repo_id)));
    let mut info = json!({
        "_id": digest[..24], "id": repo.repo_id, "author": repo.namespace().unwrap_or(&meta.owner),
        "private": meta.private, "gated": meta.gated_json(), "disabled": false,
        "downloads": meta.downloads, "likes": meta.likes, "trendingScore": meta.likes,
        "tags": meta.tags, "createdAt": iso_date(created),
        "lastModified": iso_date(head.map_or(created, |h| h.1)),
    });
    if let Some((sha, _)) = head {
        info["sha"] = json!(sha);
    }
    match repo.repo_type {
        RepoType::Model => {
            info["modelId"] = json!(repo.repo_id);
            if let Some(library) = &meta.library_name {
                info["library_name"] = json!(library);
            }
            if let Some(pipeline) = &meta.pipeline_tag {
                info["pipeline_tag"] = json!(pipeline);
            }
        }
        RepoType::Space => info["sdk"] = json!(meta.sdk.as_deref().unwrap_or("static")),
        RepoType::Dataset => info["description"] = json!(""),
    }
    info
}

/// Repo info at `rev`; without one, at `main`, and a repository without `main` (nothing
/// pushed yet) is described without `sha` and with no siblings.
async fn repo_info(
    state: &Arc<State>,
    repo: &Repo,
    asked: Option<&str>,
    blobs: bool,
    auth: &Auth,
) -> Resp {
    let rev = asked.unwrap_or("main");
    let readable = match Readable::check(state, repo, auth) {
        Ok(r) => r,
        Err(reject) => return reject.resp(),
    };
    let Some(meta) = state.meta(repo) else {
        return hub_error(401, Some("RepoNotFound"), "Repository not found");
    };
    let listed = readable
        .at_revision_if_any(rev, "listing", move |git_dir, commit| {
            let date = repo::commit_date(git_dir, &commit)?;
            let files = repo::list_files(git_dir, &commit)?;
            let small: Vec<&str> =
                files.iter().filter(|f| f.size <= 1024).map(|f| f.oid.as_str()).collect();
            let contents =
                if blobs { repo::read_blobs(git_dir, &small)? } else { Default::default() };
            let mut siblings = Vec::new();
            for file in &files {
                let mut sibling = json!({"rfilename": file.path});
                if blobs {
                    sibling["size"] = json!(file.size);
                    sibling["blobId"] = json!(file.oid);
                    if let Some((oid, size)) =
                        contents.get(&file.oid).and_then(|data| parse_pointer(data))
                    {
                        sibling["size"] = json!(size);
                        sibling["lfs"] =
                            json!({"size": size, "sha256": oid, "pointerSize": file.size});
                    }
                }
                siblings.push(sibling);
            }
            Ok((commit, date, siblings))
        })
        .await;
    let (commit, date, siblings) = match listed {
        Ok(Some(it)) => it,
        Ok(None) if asked.is_none() => {
            let mut info = repo_json(repo, &meta, None);
            info["siblings"] = json!([]);
            return json(200, &info);
        }
        Ok(None) => return Reject::no_revision(rev).resp(),
        Err(reject) => return reject.resp(),
    };
    let mut info = repo_json(repo, &meta, Some(&(commit.clone(), date)));
    info["_id"] = json!(commit);
    info["siblings"] = json!(siblings);
    json(200, &info)
}

async fn list_refs(state: &Arc<State>, repo: &Repo, include_prs: bool, auth: &Auth) -> Resp {
    let readable = match Readable::check(state, repo, auth) {
        Ok(r) => r,
        Err(reject) => return reject.resp(),
    };
    let refs = match readable.blocking("refs", repo::list_refs).await {
        Ok(refs) => refs,
        Err(reject) => return reject.resp(),
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
