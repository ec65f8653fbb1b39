//! The request handlers, one module per area.

pub(crate) mod admin;
pub(crate) mod api;
pub(crate) mod cdn;
pub(crate) mod commit;
pub(crate) mod git_http;
pub(crate) mod git_refs;
pub(crate) mod lfs;
pub(crate) mod listing;
pub(crate) mod repos;
pub(crate) mod resolve;
pub(crate) mod tree;

use std::path::Path;

use crate::{
    http_util::{Resp, hub_error},
    repo::{self, Repo},
    state::{Auth, ReadAccess, State},
};

/// The prologue of every route that reads one repository: [`Readable::check`] (may `auth` read
/// the repository?), then [`Readable::at_revision`] (the revision asked for resolved to its
/// commit, and the route's own git work on it, in one blocking task) or [`Readable::blocking`]
/// (git work that needs no revision). A route takes them where its own checks of the request
/// put them.
pub(crate) struct Readable<'a> {
    state: &'a State,
    repo: &'a Repo,
}

impl<'a> Readable<'a> {
    /// `repo` if `auth` may read it, else the Hub's refusal: `RepoNotFound` (401) for a missing
    /// or hidden repository, `GatedRepo` (401 anonymous, 403 not in the authorized list).
    pub(crate) fn check(state: &'a State, repo: &'a Repo, auth: &Auth) -> Result<Self, Reject> {
        let kind = repo.repo_type.as_str();
        let refused = match state.read_access(repo, auth) {
            ReadAccess::Granted => return Ok(Readable { state, repo }),
            ReadAccess::NotFound => Reject::coded(401, "RepoNotFound", "Repository not found"),
            ReadAccess::GatedAnonymous => Reject::coded(
                401,
                "GatedRepo",
                format!(
                    "Access to {kind} {} is restricted. You must have access to it and be authenticated to access it. Please log in.",
                    repo.repo_id
                ),
            ),
            ReadAccess::GatedDenied => Reject::coded(
                403,
                "GatedRepo",
                format!(
                    "Access to {kind} {} is restricted and you are not in the authorized list. Visit /{} to ask for access.",
                    repo.repo_id,
                    repo.url_path()
                ),
            ),
        };
        Err(refused)
    }

    /// `work` on the commit `rev` (a branch, tag, `refs/pr/N` or commit) names, in one
    /// blocking task (see [`Readable::blocking`]), or `None` when `rev` names none.
    pub(crate) async fn at_revision_if_any<T: Send + 'static>(
        &self,
        rev: &str,
        what: &str,
        work: impl FnOnce(&Path, String) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<Option<T>, Reject> {
        let rev = rev.to_owned();
        self.blocking(what, move |git_dir| match repo::resolve_revision(git_dir, &rev)? {
            Some(commit) => Ok(Some(work(git_dir, commit)?)),
            None => Ok(None),
        })
        .await
    }

    /// [`Readable::at_revision_if_any`], where a `rev` that names no commit is the Hub's 404
    /// `RevisionNotFound`.
    pub(crate) async fn at_revision<T: Send + 'static>(
        &self,
        rev: &str,
        what: &str,
        work: impl FnOnce(&Path, String) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, Reject> {
        self.at_revision_if_any(rev, what, work).await?.ok_or_else(|| Reject::no_revision(rev))
    }

    /// Runs `work` on the repository's git folder in a blocking task; its error (or the task's,
    /// named `what`) is a 500.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        what: &str,
        work: impl FnOnce(&Path) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, Reject> {
        let git_dir = self.state.git_dir(self.repo);
        match tokio::task::spawn_blocking(move || work(&git_dir)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(Reject::internal(&e)),
            Err(e) => Err(Reject::internal(&anyhow::format_err!("{what} task failed: {e}"))),
        }
    }
}

/// A refused request, small enough to travel in a `Result` (a `Resp` is not): turned into a
/// Hub-style error by [`Reject::resp`].
#[derive(Debug)]
pub(crate) struct Reject {
    code: u16,
    /// The `X-Error-Code` (`RevisionNotFound`, `EntryNotFound`, …), if any.
    error_code: Option<&'static str>,
    message: String,
}

impl Reject {
    pub(crate) fn new(code: u16, message: impl Into<String>) -> Reject {
        Reject { code, error_code: None, message: message.into() }
    }

    /// A refusal with an `X-Error-Code`.
    pub(crate) fn coded(code: u16, error_code: &'static str, message: impl Into<String>) -> Reject {
        Reject { code, error_code: Some(error_code), message: message.into() }
    }

    /// The Hub's 404 for a revision that does not exist.
    pub(crate) fn no_revision(rev: &str) -> Reject {
        Reject::coded(404, "RevisionNotFound", format!("Invalid rev id: {rev}"))
    }

    /// A 400.
    pub(crate) fn bad(message: impl Into<String>) -> Reject {
        Reject::new(400, message)
    }

    /// A 500 for `err`, logged as [`crate::http_util::internal_error`] does.
    pub(crate) fn internal(err: &anyhow::Error) -> Reject {
        tracing::error!("internal error: {err:#}");
        Reject::new(500, format!("internal error: {err:#}"))
    }

    pub(crate) fn resp(self) -> Resp {
        hub_error(self.code, self.error_code, &self.message)
    }
}

/// The Hub's answer to a write on `repo` that `auth` may not make, or `None` when it may:
/// hidden or missing repos are `RepoNotFound` (401 anonymous, 404 authenticated), anonymous
/// writes 401, writes without a write token of the owner (or a member of the owning org) 403.
pub(crate) fn write_denied(state: &State, repo: &Repo, auth: &Auth) -> Option<Resp> {
    let anonymous = auth.user().is_none();
    if state.read_access(repo, auth) == ReadAccess::NotFound {
        let code = if anonymous { 401 } else { 404 };
        return Some(hub_error(code, Some("RepoNotFound"), "Repository not found"));
    }
    if anonymous {
        return Some(hub_error(401, None, "You must be authenticated to do this"));
    }
    if !state.can_write(repo, auth) {
        return Some(hub_error(
            403,
            None,
            &format!(
                "You don't have the rights to write to {} {}",
                repo.repo_type.as_str(),
                repo.repo_id
            ),
        ));
    }
    None
}

/// Reads a JSON request body; an empty body is `{}`. Errors are Hub-style 400s.
pub(crate) async fn read_json(
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<serde_json::Value, Resp> {
    parse_json(&lfs::read_body(req).await?).map_err(Reject::resp)
}

fn parse_json(body: &[u8]) -> Result<serde_json::Value, Reject> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::json!({}));
    }
    serde_json::from_slice(body).map_err(|e| Reject::bad(format!("Invalid JSON body: {e}")))
}

/// The body of a write to `repo`, or the answer: [`write_denied`]'s refusal, else a body that
/// could not be read. The body is read first: an unread body closes the connection, and the
/// client would see a disconnect instead of the refusal.
pub(crate) async fn write_body(
    state: &State,
    req: hyper::Request<hyper::body::Incoming>,
    repo: &Repo,
    auth: &Auth,
) -> Result<Vec<u8>, Resp> {
    let body = lfs::read_body(req).await;
    match write_denied(state, repo, auth) {
        Some(refused) => Err(refused),
        None => body,
    }
}

/// [`write_body`] read as JSON (an empty body is `{}`).
pub(crate) async fn write_json(
    state: &State,
    req: hyper::Request<hyper::body::Incoming>,
    repo: &Repo,
    auth: &Auth,
) -> Result<serde_json::Value, Resp> {
    parse_json(&write_body(state, req, repo, auth).await?).map_err(Reject::resp)
}

/// A query or form boolean: `true`/`True`/`1` (httpx sends `true`, requests sent `True`).
pub(crate) fn truthy(value: &str) -> bool {
    matches!(value, "true" | "True" | "1")
}

/// Cursor pagination with a GitHub-style `Link: <next>; rel="next"` header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paging {
    /// Where this page starts.
    pub(crate) offset: usize,
}

impl Paging {
    /// Reads `cursor` from the query (absent = the first page); a bad cursor is a 400.
    pub(crate) fn from_query(pairs: &[(String, String)]) -> Result<Paging, Reject> {
        let Some((_, cursor)) = pairs.iter().find(|(k, _)| k == "cursor") else {
            return Ok(Paging { offset: 0 });
        };
        crate::util::hex_decode(cursor)
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|s| s.strip_prefix("offset:").and_then(|n| n.parse().ok()))
            .map(|offset| Paging { offset })
            .ok_or_else(|| Reject::bad("Invalid cursor"))
    }

    /// The page `start..end` of `total` items, `page` items at most.
    pub(crate) fn bounds(&self, total: usize, page: usize) -> (usize, usize) {
        let start = self.offset.min(total);
        (start, start.saturating_add(page.max(1)).min(total))
    }

    /// The JSON array of `items[offset..offset + page]` (`items` being everything, at most
    /// `cap` of it served in all), with a `Link` to the next page when there is one.
    pub(crate) fn respond(
        &self,
        endpoint: &str,
        path: &str,
        raw_query: &str,
        items: Vec<serde_json::Value>,
        page: usize,
        cap: Option<usize>,
    ) -> Resp {
        let total = cap.map_or(items.len(), |c| c.min(items.len()));
        let (start, end) = self.bounds(total, page);
        let page_items = items.into_iter().skip(start).take(end - start).collect();
        Self::respond_page(endpoint, path, raw_query, page_items, end, total)
    }

    /// Answers `page_items`, the items before `end` out of `total`, with a `Link` to the next
    /// page when `end < total`. The next URL is the request's path and query with the cursor
    /// replaced.
    pub(crate) fn respond_page(
        endpoint: &str,
        path: &str,
        raw_query: &str,
        page_items: Vec<serde_json::Value>,
        end: usize,
        total: usize,
    ) -> Resp {
        let mut builder = crate::http_util::status(200);
        if end < total {
            let mut query: Vec<&str> = raw_query
                .split('&')
                .filter(|p| !p.is_empty() && *p != "cursor" && !p.starts_with("cursor="))
                .collect();
            let cursor = format!("cursor={}", crate::util::hex(format!("offset:{end}").as_bytes()));
            query.push(&cursor);
            builder = builder.header(
                hyper::header::LINK,
                format!("<{endpoint}{path}?{}>; rel=\"next\"", query.join("&")),
            );
        }
        crate::http_util::json_with(builder, &serde_json::Value::Array(page_items))
    }
}
