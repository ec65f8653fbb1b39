//! The REST endpoints (`docs/protocol/api.md`): identity, repo create/delete/move/settings,
//! existence checks, listings that follow `Link: rel="next"` pagination lazily, the tree,
//! refs, commits, branches and tags. Response models accept unknown fields and missing
//! optional ones, so a new field on the Hub breaks nothing.

use http::Method;
use http::header::{CONTENT_TYPE, HeaderValue};
use hub_url::{Repo, RepoId, RepoPath, RepoType, Revision};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::client::{HubClient, HubRequest};
use crate::metadata::join_url;
use crate::paginated::Paginated;
use crate::repo_info::RepoInfo;
use crate::{Error, HubError};

/// Who a token belongs to (`GET /api/whoami-v2`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WhoAmI {
    /// The user (or organization) name.
    pub name: String,
    /// `user` or `org`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The organizations the user belongs to.
    #[serde(default)]
    pub orgs: Vec<Organization>,
    /// The token used.
    #[serde(default)]
    pub auth: Option<AuthInfo>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl WhoAmI {
    /// The token's display name and role, when the Hub says.
    pub fn token(&self) -> Option<&AccessToken> {
        self.auth.as_ref().and_then(|a| a.access_token.as_ref())
    }
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Organization {
    /// Its name.
    pub name: String,
}

/// How the request was authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AuthInfo {
    /// The access token (absent for OAuth).
    #[serde(default)]
    pub access_token: Option<AccessToken>,
}

/// An access token's description (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AccessToken {
    /// The name given to the token.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `read`, `write` or `fineGrained`.
    #[serde(default)]
    pub role: Option<String>,
}

/// How [`HubClient::create_repo`] creates a repo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateRepoOptions {
    /// Private (`Some(true)`), public (`Some(false)`) or the Hub's default (`None`).
    pub private: Option<bool>,
    /// An existing repo is not an error.
    pub exist_ok: bool,
    /// For a space: `gradio`, `streamlit`, `docker` or `static` (required for spaces).
    pub space_sdk: Option<String>,
}

/// Gating of a repo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gated {
    /// Not gated.
    No,
    /// Access granted automatically once asked.
    Auto,
    /// Access granted by the owners.
    Manual,
}

setters!(CreateRepoOptions {
    /// Private (`true`) or public (`false`); the Hub's default when not set.
    with_private(private: bool) => Some(private);
    /// An existing repo is not an error.
    with_exist_ok(exist_ok: bool);
    /// The SDK of a space (`gradio`, `streamlit`, `docker`, `static`).
    with_space_sdk(space_sdk: impl Into<String>) => Some(space_sdk.into());
});

/// Changes to a repo's settings; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RepoSettings {
    /// Private or public.
    pub private: Option<bool>,
    /// Gating.
    pub gated: Option<Gated>,
}

setters!(RepoSettings {
    /// Makes the repo private (`true`) or public (`false`).
    with_private(private: bool) => Some(private);
    /// Sets the gating.
    with_gated(gated: Gated) => Some(gated);
});

/// What to list with [`HubClient::list_repos`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListOptions {
    /// Words in the repo id.
    pub search: Option<String>,
    /// The namespace (user or organization).
    pub author: Option<String>,
    /// Tags every result must have; a library name is a tag (`asteroid`, `pyannote-audio`).
    pub filter: Vec<String>,
    /// `downloads`, `likes`, `lastModified`, `createdAt` or `trendingScore`.
    pub sort: Option<String>,
    /// Descending order (`direction=-1`).
    pub descending: bool,
    /// At most this many results, whatever the page size.
    pub limit: Option<usize>,
    /// Every field, including the files (`siblings`).
    pub full: bool,
}

setters!(ListOptions {
    /// Only repos whose id holds these words.
    with_search(search: impl Into<String>) => Some(search.into());
    /// Only the repos of this user or organization.
    with_author(author: impl Into<String>) => Some(author.into());
    /// Only repos with every one of these tags (a library name is a tag: `asteroid`).
    with_filter(filter: impl IntoIterator<Item = impl Into<String>>) =>
        filter.into_iter().map(Into::into).collect();
    /// Sorted by `downloads`, `likes`, `lastModified`, `createdAt` or `trendingScore`.
    with_sort(sort: impl Into<String>) => Some(sort.into());
    /// In descending order.
    with_descending(descending: bool);
    /// At most this many results.
    with_limit(limit: usize) => Some(limit);
    /// Every field, including the files.
    with_full(full: bool);
});

/// What [`HubClient::repo_info`] (and `model_info`, `dataset_info`, `space_info`) asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InfoOptions {
    /// The revision to describe; the default branch when `None`.
    pub revision: Option<Revision>,
    /// The size and LFS details of every file (`siblings` with `size` and `lfs`).
    pub files_metadata: bool,
}

setters!(InfoOptions {
    /// Describes this revision.
    with_revision(revision: Revision) => Some(revision);
    /// Asks for the size and LFS details of every file.
    with_files_metadata(files_metadata: bool);
});

/// What [`HubClient::list_repo_tree`] lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TreeOptions {
    /// The folder to list; the repo's root when `None`.
    pub path: Option<RepoPath>,
    /// The entries of the sub-folders too, at any depth.
    pub recursive: bool,
}

setters!(TreeOptions {
    /// Lists this folder.
    with_path(path: RepoPath) => Some(path);
    /// Lists the sub-folders' entries too.
    with_recursive(recursive: bool);
});

/// What [`HubClient::list_repo_refs`] lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefsOptions {
    /// The pull requests' refs (`refs/pr/N`) too.
    pub include_prs: bool,
}

setters!(RefsOptions {
    /// Lists the pull requests' refs too.
    with_include_prs(include_prs: bool);
});

/// How [`HubClient::delete_repo`] deletes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteRepoOptions {
    /// A repo that does not exist is not an error.
    pub missing_ok: bool,
}

setters!(DeleteRepoOptions {
    /// A missing repo is not an error.
    with_missing_ok(missing_ok: bool);
});

/// How [`HubClient::create_branch`] creates a branch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BranchOptions {
    /// Where the branch starts; the default branch's head when `None`.
    pub starting_point: Option<Revision>,
    /// An existing branch is not an error.
    pub exist_ok: bool,
}

setters!(BranchOptions {
    /// Starts the branch at this revision.
    with_starting_point(starting_point: Revision) => Some(starting_point);
    /// An existing branch is not an error.
    with_exist_ok(exist_ok: bool);
});

/// How [`HubClient::create_tag`] tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TagOptions {
    /// The revision to tag; the default branch's head when `None`.
    pub revision: Option<Revision>,
    /// The message of an annotated tag.
    pub message: Option<String>,
    /// An existing tag is not an error.
    pub exist_ok: bool,
}

setters!(TagOptions {
    /// Tags this revision.
    with_revision(revision: Revision) => Some(revision);
    /// Makes an annotated tag with this message.
    with_message(message: impl Into<String>) => Some(message.into());
    /// An existing tag is not an error.
    with_exist_ok(exist_ok: bool);
});

/// One entry of a tree listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TreeEntry {
    /// `file` or `directory`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The path in the repo.
    pub path: String,
    /// The git object id.
    #[serde(default)]
    pub oid: Option<String>,
    /// The size (of the content for an LFS file).
    #[serde(default)]
    pub size: Option<u64>,
    /// The LFS object, for an LFS file.
    #[serde(default)]
    pub lfs: Option<TreeLfs>,
}

impl TreeEntry {
    /// Whether this is a file.
    pub fn is_file(&self) -> bool {
        self.kind == "file"
    }
}

/// The LFS object behind a tree entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TreeLfs {
    /// The sha256.
    pub oid: String,
    /// The size.
    pub size: u64,
    /// The pointer's size.
    #[serde(default)]
    pub pointer_size: Option<u64>,
}

/// A repo's refs (`GET /api/{type}s/{id}/refs`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Refs {
    /// Branches.
    #[serde(default)]
    pub branches: Vec<GitRef>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<GitRef>,
    /// Conversion refs (`refs/convert/…`).
    #[serde(default)]
    pub converts: Vec<GitRef>,
    /// Pull requests (asked with `include_prs`).
    #[serde(default)]
    pub pull_requests: Vec<GitRef>,
}

/// One ref.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GitRef {
    /// The short name (`main`, `v1.0`, `1`).
    pub name: String,
    /// The full ref (`refs/heads/main`).
    #[serde(rename = "ref")]
    pub full_ref: String,
    /// The commit it points at.
    pub target_commit: String,
}

/// One commit of a history (`list_repo_commits`), as the Python library's `GitCommitInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GitCommitInfo {
    /// The commit hash.
    pub id: String,
    /// The first line of the message.
    #[serde(default)]
    pub title: String,
    /// The rest of the message.
    #[serde(default)]
    pub message: String,
    /// When (ISO 8601).
    #[serde(default)]
    pub date: Option<String>,
    /// Who.
    #[serde(default)]
    pub authors: Vec<CommitAuthor>,
}

/// A commit's author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CommitAuthor {
    /// The Hub user.
    pub user: String,
}

impl HubRequest {
    fn json(method: Method, url: String, body: &Value) -> HubRequest {
        HubRequest::new(method, url)
            .with_body(body.to_string().into_bytes())
            .with_header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
    }
}

/// How many redirects an API request follows.
const MAX_API_REDIRECTS: usize = 10;

impl HubClient {
    /// [`HubClient::send_and_read`], following redirects within the endpoint's origin, as the
    /// Python client does: a renamed repo answers `307` to its new id on every API route. A
    /// `GET`/`HEAD` follows any redirect; other methods only `307`/`308`, which keep the method
    /// and body. Returns the final URL (relative `Link`s are resolved against it).
    pub(crate) async fn send_api(
        &self,
        req: &HubRequest,
    ) -> Result<(String, http::response::Parts, bytes::Bytes), Error> {
        let mut req = req.clone();
        for _ in 0..MAX_API_REDIRECTS {
            let (parts, body) = self.send_and_read(&req).await?;
            let status = parts.status.as_u16();
            let follows = matches!(status, 307 | 308)
                || (matches!(status, 301..=303)
                    && matches!(req.method, Method::GET | Method::HEAD));
            let next = parts
                .headers
                .get(http::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(|l| join_url(&req.url, l))
                .filter(|next| {
                    hub_url::Origin::parse(next).as_ref() == Some(self.endpoint().origin())
                });
            match next {
                Some(next) if follows => req.url = next,
                _ if parts.status.is_redirection() => {
                    return Err(Error::Protocol {
                        url: req.url,
                        reason: format!("an unexpected redirect ({status})"),
                    });
                }
                _ => return Ok((req.url, parts, body)),
            }
        }
        Err(Error::Protocol {
            url: req.url,
            reason: format!("more than {MAX_API_REDIRECTS} redirects"),
        })
    }
}

pub(crate) fn parse<T: DeserializeOwned>(url: &str, body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| Error::Protocol {
        url: url.to_owned(),
        reason: format!("unexpected JSON: {e}"),
    })
}

/// The `create`/`delete` body: `{"name", "organization", "type"?}`.
fn name_body(repo: &Repo) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("name".into(), json!(repo.id().name()));
    body.insert("organization".into(), json!(repo.id().namespace()));
    if repo.repo_type() != RepoType::Model {
        body.insert("type".into(), json!(repo.repo_type().as_str()));
    }
    body
}

impl HubClient {
    /// Who the client's token belongs to; [`Error::NotLoggedIn`] without a token.
    pub async fn whoami(&self) -> Result<WhoAmI, Error> {
        self.require_token()?;
        let url = self.endpoint().whoami_url();
        let (url, _, body) = self.send_api(&HubRequest::get(url)).await?;
        parse(&url, &body)
    }

    /// Creates a repo; returns its URL (`{endpoint}/{prefix}{id}`). A repo that exists already
    /// is [`Error::RepoExists`], unless `options.exist_ok`; without a token,
    /// [`Error::NotLoggedIn`] (nothing is sent).
    pub async fn create_repo(
        &self,
        repo: &Repo,
        options: &CreateRepoOptions,
    ) -> Result<String, Error> {
        self.require_token()?;
        let mut body = name_body(repo);
        if let Some(private) = options.private {
            body.insert("private".into(), json!(private));
            body.insert("visibility".into(), json!(if private { "private" } else { "public" }));
        }
        if repo.repo_type() == RepoType::Space {
            let sdk = options.space_sdk.as_deref().ok_or(Error::SpaceSdkRequired)?;
            body.insert("sdk".into(), json!(sdk));
        }
        let url = self.endpoint().repo_create_url();
        let req = HubRequest::json(Method::POST, url.clone(), &Value::Object(body));
        let own_url = self.endpoint().repo_url(repo);
        match self.send_api(&req).await {
            Ok((url, _, body)) => {
                let value: Value = parse(&url, &body)?;
                Ok(value["url"].as_str().map_or(own_url, str::to_owned))
            }
            Err(Error::Hub(HubError::Conflict { .. })) if options.exist_ok => Ok(own_url),
            Err(Error::Hub(HubError::Conflict { .. })) => {
                Err(Error::RepoExists { repo: repo.to_string(), url: own_url })
            }
            Err(e @ Error::Hub(HubError::Unauthorized { .. } | HubError::Forbidden { .. }))
                if options.exist_ok =>
            {
                // No right to create, but it may exist already.
                if self.repo_exists(repo).await? { Ok(own_url) } else { Err(e) }
            }
            Err(e) => Err(e),
        }
    }

    /// Deletes a repo and returns whether it was deleted: with
    /// [`DeleteRepoOptions::missing_ok`], a repo that does not exist (or that the token cannot
    /// see) is not an error, and `false` says nothing was deleted. Without a token,
    /// [`Error::NotLoggedIn`] (nothing is sent).
    pub async fn delete_repo(
        &self,
        repo: &Repo,
        options: &DeleteRepoOptions,
    ) -> Result<bool, Error> {
        let missing_ok = options.missing_ok;
        self.require_token()?;
        let url = self.endpoint().repo_delete_url();
        let req = HubRequest::json(Method::DELETE, url, &Value::Object(name_body(repo)));
        match self.send_api(&req).await {
            Ok(_) => Ok(true),
            Err(Error::Hub(HubError::RepositoryNotFound { .. })) if missing_ok => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Renames or transfers a repo; the old name redirects to the new one. Without a token,
    /// [`Error::NotLoggedIn`] (nothing is sent).
    pub async fn move_repo(&self, from: &Repo, to: &RepoId) -> Result<String, Error> {
        self.require_token()?;
        for id in [from.id(), to] {
            if id.namespace().is_none() {
                return Err(Error::NamespaceRequired { repo: id.to_string() });
            }
        }
        let body = json!({
            "fromRepo": from.id().as_str(),
            "toRepo": to.as_str(),
            "type": from.repo_type().as_str(),
        });
        let url = self.endpoint().repo_move_url();
        self.send_api(&HubRequest::json(Method::POST, url, &body)).await?;
        Ok(self.endpoint().repo_url(&Repo::new(from.repo_type(), to.clone())))
    }

    /// Changes a repo's visibility or gating. Without a token, [`Error::NotLoggedIn`] (nothing
    /// is sent).
    pub async fn update_repo_settings(
        &self,
        repo: &Repo,
        settings: &RepoSettings,
    ) -> Result<(), Error> {
        self.require_token()?;
        let mut body = Map::new();
        if let Some(private) = settings.private {
            body.insert("private".into(), json!(private));
            body.insert("visibility".into(), json!(if private { "private" } else { "public" }));
        }
        if let Some(gated) = settings.gated {
            let value = match gated {
                Gated::No => json!(false),
                Gated::Auto => json!("auto"),
                Gated::Manual => json!("manual"),
            };
            body.insert("gated".into(), value);
        }
        let url = self.endpoint().settings_url(repo);
        self.send_api(&HubRequest::json(Method::PUT, url, &Value::Object(body))).await?;
        Ok(())
    }

    /// Whether the repo exists (and is visible to the token); a gated repo exists.
    pub async fn repo_exists(&self, repo: &Repo) -> Result<bool, Error> {
        match self.repo_info(repo, &InfoOptions::default()).await {
            Ok(_) | Err(Error::Hub(HubError::GatedRepo { .. })) => Ok(true),
            Err(Error::Hub(HubError::RepositoryNotFound { .. })) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether a file exists at a revision (a `HEAD`, no download).
    pub async fn file_exists(
        &self,
        repo: &Repo,
        revision: &Revision,
        path: &RepoPath,
    ) -> Result<bool, Error> {
        match self.file_metadata(repo, revision, path).await {
            Ok(_) => Ok(true),
            Err(Error::Hub(
                HubError::EntryNotFound { .. } | HubError::RepositoryNotFound { .. },
            )) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Lists models (see [`HubClient::list_repos`]); `filter` holds tags, and a library name is
    /// a tag: `filter: vec!["asteroid".into()]` lists the models compatible with asteroid.
    pub fn list_models(&self, options: &ListOptions) -> Paginated<RepoInfo> {
        self.list_repos(RepoType::Model, options)
    }

    /// Lists datasets (see [`HubClient::list_repos`]).
    pub fn list_datasets(&self, options: &ListOptions) -> Paginated<RepoInfo> {
        self.list_repos(RepoType::Dataset, options)
    }

    /// Lists spaces (see [`HubClient::list_repos`]).
    pub fn list_spaces(&self, options: &ListOptions) -> Paginated<RepoInfo> {
        self.list_repos(RepoType::Space, options)
    }

    /// Lists models, datasets or spaces, following the pagination lazily: pages are fetched
    /// as the stream is read, and reading stops at `options.limit`.
    pub fn list_repos(&self, repo_type: RepoType, options: &ListOptions) -> Paginated<RepoInfo> {
        Paginated::new(self.clone(), self.list_url(repo_type, options), options.limit)
    }

    /// As [`HubClient::list_repos`], each item as the Hub sent it: every field it sent, and
    /// only those, for a program that passes the Hub's answer on (`--json`).
    pub fn list_repos_json(&self, repo_type: RepoType, options: &ListOptions) -> Paginated<Value> {
        Paginated::new(self.clone(), self.list_url(repo_type, options), options.limit)
    }

    /// The first page's URL of a listing.
    fn list_url(&self, repo_type: RepoType, options: &ListOptions) -> String {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(search) = &options.search {
            query.push(("search", search.clone()));
        }
        if let Some(author) = &options.author {
            query.push(("author", author.clone()));
        }
        for tag in &options.filter {
            query.push(("filter", tag.clone()));
        }
        if let Some(sort) = &options.sort {
            query.push(("sort", sort.clone()));
        }
        if options.descending {
            query.push(("direction", "-1".to_owned()));
        }
        if let Some(limit) = options.limit {
            query.push(("limit", limit.to_string()));
        }
        if options.full {
            query.push(("full", "true".to_owned()));
        }
        let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.endpoint().list_url(repo_type, &pairs)
    }

    /// A folder's entries at a revision ([`TreeOptions::path`], the repo's root when `None`),
    /// recursively or not, following the pagination lazily.
    pub fn list_repo_tree(
        &self,
        repo: &Repo,
        revision: &Revision,
        options: &TreeOptions,
    ) -> Paginated<TreeEntry> {
        let url = hub_url::with_query(
            self.endpoint().tree_url(repo, revision, options.path.as_ref()),
            &[("recursive", if options.recursive { "true" } else { "false" })],
        );
        Paginated::new(self.clone(), url, None)
    }

    /// Every file path of a repo at a revision.
    pub async fn list_repo_files(
        &self,
        repo: &Repo,
        revision: &Revision,
    ) -> Result<Vec<String>, Error> {
        let everything = TreeOptions::default().with_recursive(true);
        let entries = self.list_repo_tree(repo, revision, &everything).collect_vec().await?;
        Ok(entries.into_iter().filter(TreeEntry::is_file).map(|e| e.path).collect())
    }

    /// The repo's branches and tags (and pull requests with [`RefsOptions::include_prs`]).
    pub async fn list_repo_refs(&self, repo: &Repo, options: &RefsOptions) -> Result<Refs, Error> {
        let (url, body) = self.refs_body(repo, options.include_prs).await?;
        parse(&url, &body)
    }

    /// As [`HubClient::list_repo_refs`], as the Hub sent it: every field it sent, and only
    /// those, for a program that passes the Hub's answer on (`--json`).
    pub async fn list_repo_refs_json(
        &self,
        repo: &Repo,
        options: &RefsOptions,
    ) -> Result<Value, Error> {
        let (url, body) = self.refs_body(repo, options.include_prs).await?;
        parse(&url, &body)
    }

    async fn refs_body(
        &self,
        repo: &Repo,
        include_prs: bool,
    ) -> Result<(String, bytes::Bytes), Error> {
        let mut url = self.endpoint().refs_url(repo);
        if include_prs {
            url = hub_url::with_query(url, &[("include_prs", "1")]);
        }
        let (url, _, body) = self.send_api(&HubRequest::get(url)).await?;
        Ok((url, body))
    }

    /// The history of a revision, newest first, following the pagination lazily.
    pub fn list_repo_commits(&self, repo: &Repo, revision: &Revision) -> Paginated<GitCommitInfo> {
        Paginated::new(self.clone(), self.endpoint().commits_url(repo, revision), None)
    }

    /// Creates a branch at [`BranchOptions::starting_point`] (the default branch's head when
    /// `None`); with [`BranchOptions::exist_ok`], an existing branch is not an error (without,
    /// it is [`HubError::Conflict`]). Without a token, [`Error::NotLoggedIn`] (nothing is sent).
    pub async fn create_branch(
        &self,
        repo: &Repo,
        branch: &str,
        options: &BranchOptions,
    ) -> Result<(), Error> {
        self.require_token()?;
        let exist_ok = options.exist_ok;
        let branch = Revision::new(branch).map_err(hub_url::Error::from)?;
        let body = match &options.starting_point {
            Some(rev) => json!({ "startingPoint": rev.as_str() }),
            None => json!({}),
        };
        let url = self.endpoint().branch_url(repo, branch.as_str());
        match self.send_api(&HubRequest::json(Method::POST, url, &body)).await {
            Ok(_) => Ok(()),
            Err(Error::Hub(HubError::Conflict { .. })) if exist_ok => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Deletes a branch. Without a token, [`Error::NotLoggedIn`] (nothing is sent).
    pub async fn delete_branch(&self, repo: &Repo, branch: &str) -> Result<(), Error> {
        self.require_token()?;
        let url = self.endpoint().branch_url(repo, branch);
        self.send_api(&HubRequest::json(Method::DELETE, url, &json!({}))).await?;
        Ok(())
    }

    /// Tags [`TagOptions::revision`] (the default branch's head when `None`) as `tag`, with an
    /// optional message; with [`TagOptions::exist_ok`], an existing tag is not an error
    /// (without, it is [`HubError::Conflict`]). Without a token, [`Error::NotLoggedIn`]
    /// (nothing is sent).
    pub async fn create_tag(
        &self,
        repo: &Repo,
        tag: &str,
        options: &TagOptions,
    ) -> Result<(), Error> {
        self.require_token()?;
        let exist_ok = options.exist_ok;
        let tag = Revision::new(tag).map_err(hub_url::Error::from)?;
        let at = options.revision.as_ref().map_or("main", Revision::as_str);
        let mut body = json!({ "tag": tag.as_str() });
        if let Some(message) = &options.message {
            body["message"] = json!(message);
        }
        let url = self.endpoint().tag_url(repo, at);
        match self.send_api(&HubRequest::json(Method::POST, url, &body)).await {
            Ok(_) => Ok(()),
            Err(Error::Hub(HubError::Conflict { .. })) if exist_ok => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Deletes a tag. Without a token, [`Error::NotLoggedIn`] (nothing is sent).
    pub async fn delete_tag(&self, repo: &Repo, tag: &str) -> Result<(), Error> {
        self.require_token()?;
        let url = self.endpoint().tag_url(repo, tag);
        self.send_api(&HubRequest::json(Method::DELETE, url, &json!({}))).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_accept_unknown_and_missing_fields() {
        let who: WhoAmI = serde_json::from_str(
            r#"{"name":"alice","type":"user","orgs":[{"name":"acme","x":1}],"isPro":true,
                "auth":{"accessToken":{"displayName":"laptop","role":"write"}}}"#,
        )
        .unwrap();
        assert_eq!(who.name, "alice");
        assert_eq!(who.orgs[0].name, "acme");
        assert_eq!(who.token().and_then(|t| t.role.as_deref()), Some("write"));
        assert_eq!(who.extra["isPro"], json!(true));
        let minimal: WhoAmI = serde_json::from_str(r#"{"name":"bot"}"#).unwrap();
        assert!(minimal.orgs.is_empty() && minimal.token().is_none());
        let entry: TreeEntry = serde_json::from_str(
            r#"{"type":"file","path":"w.bin","oid":"x","size":3,"lfs":{"oid":"y","size":3,"pointerSize":130},"new":1}"#,
        )
        .unwrap();
        assert!(entry.is_file());
        assert_eq!(entry.lfs.map(|l| l.size), Some(3));
    }
}
