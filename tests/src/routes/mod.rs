//! The request handlers, one module per area.

pub(crate) mod admin;
pub(crate) mod api;
pub(crate) mod cdn;
pub(crate) mod git_http;
pub(crate) mod lfs;
pub(crate) mod resolve;

use crate::{
    http_util::{Resp, hub_error},
    repo::Repo,
    state::ReadAccess,
};

/// The Hub's answer to a failed read-access check, or `None` when access is granted.
pub(crate) fn read_denied(repo: &Repo, access: ReadAccess) -> Option<Resp> {
    let kind = repo.repo_type.as_str();
    match access {
        ReadAccess::Granted => None,
        ReadAccess::NotFound => Some(hub_error(401, Some("RepoNotFound"), "Repository not found")),
        ReadAccess::GatedAnonymous => Some(hub_error(
            401,
            Some("GatedRepo"),
            &format!(
                "Access to {kind} {} is restricted. You must have access to it and be authenticated to access it. Please log in.",
                repo.repo_id
            ),
        )),
        ReadAccess::GatedDenied => Some(hub_error(
            403,
            Some("GatedRepo"),
            &format!(
                "Access to {kind} {} is restricted and you are not in the authorized list. Visit /{} to ask for access.",
                repo.repo_id,
                repo.url_path()
            ),
        )),
    }
}
