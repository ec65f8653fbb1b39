//! Branches and tags: `POST`/`DELETE /api/{t}/{id}/branch/{branch}` (`{"startingPoint"?}`),
//! `POST /api/{t}/{id}/tag/{rev}` (`{"tag", "message"?}`) and `DELETE /api/{t}/{id}/tag/{tag}`.
//! Refs are changed with `git update-ref` (old value checked), so `git ls-remote` sees them.

use std::sync::Arc;

use hyper::{Request, body::Incoming};
use serde_json::{Value, json};

use crate::{
    http_util::{Resp, hub_error, internal_error, json},
    repo::{self, Repo, is_full_oid},
    routes::{Reject, write_denied, write_json},
    state::{Auth, State},
};

/// What a ref change ended with.
enum Outcome {
    Done(Value),
    BadName(String),
    NoRevision(String),
    Exists(String),
    Missing(String),
    Refused(String),
}

fn answer(outcome: anyhow::Result<Outcome>) -> Resp {
    match outcome {
        Ok(Outcome::Done(v)) => json(200, &v),
        Ok(Outcome::BadName(m)) => hub_error(400, None, &m),
        Ok(Outcome::NoRevision(rev)) => Reject::no_revision(&rev).resp(),
        Ok(Outcome::Exists(m)) => hub_error(409, None, &m),
        Ok(Outcome::Missing(name)) => Reject::no_revision(&name).resp(),
        Ok(Outcome::Refused(m)) => hub_error(403, None, &m),
        Err(e) => internal_error(&e),
    }
}

async fn blocking(f: impl FnOnce() -> anyhow::Result<Outcome> + Send + 'static) -> Resp {
    match tokio::task::spawn_blocking(f).await {
        Ok(outcome) => answer(outcome),
        Err(e) => internal_error(&anyhow::format_err!("ref task failed: {e}")),
    }
}

/// A branch or tag name the Hub accepts: a valid ref name below `refs/heads/` or `refs/tags/`,
/// not itself a full ref and not a commit id.
fn check_name(kind: &str, name: &str) -> anyhow::Result<Option<String>> {
    if name.starts_with("refs/") || is_full_oid(name) {
        return Ok(Some(format!("Invalid {kind} name `{name}`")));
    }
    let prefix = if kind == "branch" { "refs/heads" } else { "refs/tags" };
    if !repo::is_valid_refname(&format!("{prefix}/{name}"))? {
        return Ok(Some(format!("Invalid {kind} name `{name}`")));
    }
    Ok(None)
}

pub(crate) async fn create_branch(
    state: &Arc<State>,
    req: Request<Incoming>,
    repo: &Repo,
    branch: &str,
    auth: &Auth,
) -> Resp {
    let body = match write_json(state, req, repo, auth).await {
        Ok(b) => b,
        Err(res) => return res,
    };
    let start = match body.get("startingPoint") {
        None | Some(Value::Null) => "main".to_owned(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => return hub_error(400, None, "`startingPoint` must be a revision"),
    };
    let (git_dir, branch) = (state.git_dir(repo), branch.to_owned());
    blocking(move || {
        if let Some(m) = check_name("branch", &branch)? {
            return Ok(Outcome::BadName(m));
        }
        let Some(commit) = repo::resolve_revision(&git_dir, &start)? else {
            return Ok(Outcome::NoRevision(start));
        };
        let refname = format!("refs/heads/{branch}");
        if repo::ref_target(&git_dir, &refname)?.is_some() {
            return Ok(Outcome::Exists(format!("Reference already exists: {refname}")));
        }
        repo::update_ref(&git_dir, &refname, &commit, None)?;
        Ok(Outcome::Done(json!({"name": branch, "ref": refname, "targetCommit": commit})))
    })
    .await
}

pub(crate) async fn delete_branch(
    state: &Arc<State>,
    repo: &Repo,
    branch: &str,
    auth: &Auth,
) -> Resp {
    if let Some(res) = write_denied(state, repo, auth) {
        return res;
    }
    let (git_dir, branch) = (state.git_dir(repo), branch.to_owned());
    blocking(move || {
        if branch == "main" {
            return Ok(Outcome::Refused("You cannot delete the default branch `main`".to_owned()));
        }
        let refname = format!("refs/heads/{branch}");
        if check_name("branch", &branch)?.is_some() {
            return Ok(Outcome::Missing(branch));
        }
        let Some(current) = repo::ref_target(&git_dir, &refname)? else {
            return Ok(Outcome::Missing(branch));
        };
        repo::delete_ref(&git_dir, &refname, &current)?;
        Ok(Outcome::Done(json!({})))
    })
    .await
}

pub(crate) async fn create_tag(
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
    let tag = match body.get("tag") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return hub_error(400, None, "`tag` is required"),
    };
    let message = match body.get("message") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.contains('\0') => Some(s.clone()),
        Some(_) => return hub_error(400, None, "`message` must be a string without NUL bytes"),
    };
    let (git_dir, rev) = (state.git_dir(repo), rev.to_owned());
    blocking(move || {
        if let Some(m) = check_name("tag", &tag)? {
            return Ok(Outcome::BadName(m));
        }
        let Some(commit) = repo::resolve_revision(&git_dir, &rev)? else {
            return Ok(Outcome::NoRevision(rev));
        };
        let refname = format!("refs/tags/{tag}");
        if repo::ref_target(&git_dir, &refname)?.is_some() {
            return Ok(Outcome::Exists(format!("Tag already exists: {tag}")));
        }
        match message.as_deref() {
            Some(m) if !m.trim().is_empty() => {
                repo::create_annotated_tag(&git_dir, &tag, &commit, m)?
            }
            _ => repo::update_ref(&git_dir, &refname, &commit, None)?,
        }
        Ok(Outcome::Done(json!({"name": tag, "ref": refname, "targetCommit": commit})))
    })
    .await
}

pub(crate) async fn delete_tag(state: &Arc<State>, repo: &Repo, tag: &str, auth: &Auth) -> Resp {
    if let Some(res) = write_denied(state, repo, auth) {
        return res;
    }
    let (git_dir, tag) = (state.git_dir(repo), tag.to_owned());
    blocking(move || {
        if check_name("tag", &tag)?.is_some() {
            return Ok(Outcome::Missing(tag));
        }
        let refname = format!("refs/tags/{tag}");
        // The ref's own value (an annotated tag object or a commit), not the peeled commit.
        let current = repo::ref_value(&git_dir, &refname)?;
        let Some(current) = current else { return Ok(Outcome::Missing(tag)) };
        repo::delete_ref(&git_dir, &refname, &current)?;
        Ok(Outcome::Done(json!({})))
    })
    .await
}
