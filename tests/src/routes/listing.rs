//! `GET /api/models`, `/api/datasets`, `/api/spaces`: search, author, filter (tags, repeated,
//! all must match), pipeline_tag, gated, sort (+ direction), limit, full, with cursor pagination.
//!
//! Private repositories are listed only to their owner (or members of the owning org). Without
//! `sort` the order is by id; with `sort` it is descending (as the Hub, which no longer takes a
//! direction) unless `direction` is given and is not `-1`; ties are broken by id.

use std::{cmp::Ordering, sync::Arc};

use serde_json::{Value, json};

use crate::{
    http_util::{Resp, internal_error},
    repo::{self, Repo, RepoType},
    routes::{Paging, Reject, api::repo_json, truthy},
    state::{Auth, RepoMeta, State},
    util::form_pairs,
};

/// The Hub's page size for listings.
const HUB_PAGE: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKey {
    Id,
    Downloads,
    Likes,
    LastModified,
    CreatedAt,
}

struct Query {
    search: Option<String>,
    author: Option<String>,
    filters: Vec<String>,
    pipeline_tag: Option<String>,
    gated: Option<bool>,
    sort: SortKey,
    descending: bool,
    limit: Option<usize>,
    full: bool,
}

fn parse(pairs: &[(String, String)]) -> Result<Query, Reject> {
    let one = |key: &str| pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let sort = match one("sort").as_deref() {
        None | Some("") => SortKey::Id,
        Some("downloads" | "downloadsAllTime") => SortKey::Downloads,
        Some("likes" | "trendingScore" | "trending_score") => SortKey::Likes,
        Some("lastModified" | "last_modified") => SortKey::LastModified,
        Some("createdAt" | "created_at") => SortKey::CreatedAt,
        Some("id" | "modelId") => SortKey::Id,
        Some(other) => {
            return Err(Reject::bad(format!("Invalid sort parameter `{other}`")));
        }
    };
    let descending = match one("direction").as_deref() {
        None | Some("") => sort != SortKey::Id,
        Some(d) => d == "-1",
    };
    let limit = match one("limit") {
        None => None,
        Some(l) => match l.parse::<usize>() {
            Ok(n) => Some(n),
            Err(_) => return Err(Reject::bad(format!("Invalid limit `{l}`"))),
        },
    };
    let filters = pairs
        .iter()
        .filter(|(k, _)| k == "filter" || k == "filter[]")
        .flat_map(|(_, v)| v.split(',').map(str::trim).map(str::to_owned).collect::<Vec<_>>())
        .filter(|f| !f.is_empty())
        .collect();
    Ok(Query {
        search: one("search").filter(|s| !s.is_empty()),
        author: one("author").filter(|s| !s.is_empty()),
        filters,
        pipeline_tag: one("pipeline_tag").filter(|s| !s.is_empty()),
        gated: one("gated").map(|g| truthy(&g)),
        sort,
        descending,
        limit,
        full: one("full").is_some_and(|f| truthy(&f)),
    })
}

fn matches(repo: &Repo, meta: &RepoMeta, q: &Query) -> bool {
    let id = repo.repo_id.to_lowercase();
    let author = repo.namespace().unwrap_or(&meta.owner);
    q.search.as_ref().is_none_or(|s| id.contains(&s.to_lowercase()))
        && q.author.as_ref().is_none_or(|a| a.eq_ignore_ascii_case(author))
        && q.filters.iter().all(|f| {
            meta.tags.iter().any(|t| t == f)
                || meta.library_name.as_deref() == Some(f.as_str())
                || meta.pipeline_tag.as_deref() == Some(f.as_str())
        })
        && q.pipeline_tag.as_ref().is_none_or(|p| meta.pipeline_tag.as_deref() == Some(p.as_str()))
        && q.gated.is_none_or(|g| g == meta.gated)
}

struct Row {
    repo: Repo,
    meta: RepoMeta,
    head: Option<(String, u64)>,
    siblings: Option<Vec<String>>,
}

fn compare(a: &Row, b: &Row, key: SortKey) -> Ordering {
    let modified = |r: &Row| r.head.as_ref().map_or(r.meta.created, |h| h.1);
    match key {
        SortKey::Id => Ordering::Equal,
        SortKey::Downloads => a.meta.downloads.cmp(&b.meta.downloads),
        SortKey::Likes => a.meta.likes.cmp(&b.meta.likes),
        SortKey::LastModified => modified(a).cmp(&modified(b)),
        SortKey::CreatedAt => a.meta.created.cmp(&b.meta.created),
    }
}

fn collect(state: &State, repo_type: RepoType, auth: &Auth, q: &Query) -> anyhow::Result<Vec<Row>> {
    let user = auth.user();
    let mut rows = Vec::new();
    for (repo, meta) in state.list_repos() {
        if repo.repo_type != repo_type || !matches(&repo, &meta, q) {
            continue;
        }
        if meta.private && !user.is_some_and(|u| state.is_owner(u, &meta.owner)) {
            continue;
        }
        let git_dir = state.git_dir(&repo);
        let head = repo::branch_heads(&git_dir, &["refs/heads/main"])?.remove("refs/heads/main");
        let siblings = match (&head, q.full) {
            (Some((commit, _)), true) => {
                Some(repo::list_files(&git_dir, commit)?.into_iter().map(|f| f.path).collect())
            }
            (None, true) => Some(Vec::new()),
            _ => None,
        };
        rows.push(Row { repo, meta, head, siblings });
    }
    rows.sort_by(|a, b| {
        let primary = compare(a, b, q.sort);
        let primary = if q.descending { primary.reverse() } else { primary };
        primary.then_with(|| {
            let by_id = a.repo.repo_id.cmp(&b.repo.repo_id);
            if q.sort == SortKey::Id && q.descending { by_id.reverse() } else { by_id }
        })
    });
    Ok(rows)
}

pub(crate) async fn handle(
    state: &Arc<State>,
    path: &str,
    raw_query: &str,
    repo_type: RepoType,
    auth: &Auth,
) -> Resp {
    let pairs = form_pairs(raw_query);
    let q = match parse(&pairs) {
        Ok(q) => q,
        Err(reject) => return reject.resp(),
    };
    let paging = match Paging::from_query(&pairs) {
        Ok(p) => p,
        Err(reject) => return reject.resp(),
    };
    let (limit, full) = (q.limit, q.full);
    let rows = {
        let (state, auth) = (state.clone(), auth.clone());
        tokio::task::spawn_blocking(move || collect(&state, repo_type, &auth, &q)).await
    };
    let rows = match rows {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => return internal_error(&e),
        Err(e) => return internal_error(&anyhow::format_err!("listing task failed: {e}")),
    };
    let items: Vec<Value> = rows
        .into_iter()
        .map(|row| {
            let mut item = repo_json(&row.repo, &row.meta, row.head.as_ref());
            if full && let Some(siblings) = row.siblings {
                item["siblings"] = json!(
                    siblings.into_iter().map(|p| json!({"rfilename": p})).collect::<Vec<_>>()
                );
            }
            item
        })
        .collect();
    let page = state.limits().page_size.unwrap_or(HUB_PAGE);
    paging.respond(&state.endpoint, path, raw_query, items, page, limit)
}
