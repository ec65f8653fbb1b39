//! Every URL the client needs, built from typed parts.
//!
//! Percent-encoding follows the Python library: a revision is encoded with no safe character
//! (`refs/pr/1` → `refs%2Fpr%2F1`); a file path keeps its `/` separators; a repo id is never
//! encoded (it is validated instead). Letters, digits and `_.-~` are never encoded.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::path::RepoPath;
use crate::repo::{Repo, RepoId, RepoType};
use crate::revision::Revision;

/// Everything but the unreserved characters `A-Z a-z 0-9 _ . - ~`.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'.').remove(b'-').remove(b'~');

/// As [`COMPONENT`], but `/` stays: for paths of files in a repo.
const PATH: &AsciiSet = &COMPONENT.remove(b'/');

/// Percent-encodes a URL component with no safe character (revisions, query values).
pub fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// Percent-encodes a file path, keeping `/`.
pub fn encode_path(s: &str) -> String {
    utf8_percent_encode(s, PATH).to_string()
}

/// Builds `{endpoint}/{prefix}{repo_id}/resolve/{revision}/{subfolder/}{filename}`, the URL of a
/// file at a revision, as the Python library's `hf_hub_url`.
///
/// `revision` defaults to `main`, `repo_type` to model, `endpoint` to
/// [`Endpoint::default`] (`https://huggingface.co`; use [`Endpoint::from_env`] to honour
/// `HF_ENDPOINT`). An empty `subfolder` means none.
///
/// ```
/// use hub_url::hf_hub_url;
///
/// let url = hf_hub_url("julien-c/EsperBERTo-small", "pytorch_model.bin", None, None, None, None)?;
/// assert_eq!(url, "https://huggingface.co/julien-c/EsperBERTo-small/resolve/main/pytorch_model.bin");
/// # Ok::<(), hub_url::Error>(())
/// ```
pub fn hf_hub_url(
    repo_id: &str,
    filename: &str,
    revision: Option<&str>,
    repo_type: Option<RepoType>,
    subfolder: Option<&str>,
    endpoint: Option<&Endpoint>,
) -> Result<String, Error> {
    let repo = match repo_type {
        Some(repo_type) => Repo::new(repo_type, RepoId::new(repo_id)?),
        None => repo_id.parse()?,
    };
    let revision = match revision {
        Some(rev) => Revision::new(rev)?,
        None => Revision::main(),
    };
    let path = RepoPath::with_subfolder(subfolder, filename)?;
    let default_endpoint;
    let endpoint = match endpoint {
        Some(endpoint) => endpoint,
        None => {
            default_endpoint = Endpoint::default();
            &default_endpoint
        }
    };
    Ok(endpoint.resolve_url(&repo, &revision, &path))
}

impl Endpoint {
    /// `{endpoint}/{prefix}{id}/resolve/{revision}/{path}`: a file's content at a revision.
    pub fn resolve_url(&self, repo: &Repo, revision: &Revision, path: &RepoPath) -> String {
        format!(
            "{}/{repo}/resolve/{}/{}",
            self.as_str(),
            encode_component(revision.as_str()),
            encode_path(path.as_str())
        )
    }

    /// `{endpoint}/{prefix}{id}`: the repo's web page, also its git remote.
    pub fn repo_url(&self, repo: &Repo) -> String {
        format!("{}/{repo}", self.as_str())
    }

    /// The git remote to clone and push: `{endpoint}/{prefix}{id}`.
    pub fn git_remote_url(&self, repo: &Repo) -> String {
        self.repo_url(repo)
    }

    /// `{endpoint}/{prefix}{id}/blob/{revision}/{path}`: a file's web page.
    pub fn blob_url(&self, repo: &Repo, revision: &Revision, path: &RepoPath) -> String {
        format!(
            "{}/{repo}/blob/{}/{}",
            self.as_str(),
            encode_component(revision.as_str()),
            encode_path(path.as_str())
        )
    }

    /// `{endpoint}/{prefix}{id}/commit/{oid}`: a commit's web page.
    pub fn commit_web_url(&self, repo: &Repo, commit: &str) -> String {
        format!("{}/{repo}/commit/{}", self.as_str(), encode_component(commit))
    }

    /// The git LFS server of the repo: `{endpoint}/{prefix}{id}.git/info/lfs`.
    pub fn lfs_url(&self, repo: &Repo) -> String {
        format!("{}/{repo}.git/info/lfs", self.as_str())
    }

    /// The LFS batch API: `{endpoint}/{prefix}{id}.git/info/lfs/objects/batch`.
    pub fn lfs_batch_url(&self, repo: &Repo) -> String {
        format!("{}/objects/batch", self.lfs_url(repo))
    }

    /// `{endpoint}/api/{type}s/{id}`, or at a revision `…/revision/{rev}`: repo info.
    pub fn api_repo_url(&self, repo: &Repo, revision: Option<&Revision>) -> String {
        let base = self.api_base(repo);
        match revision {
            Some(rev) => format!("{base}/revision/{}", encode_component(rev.as_str())),
            None => base,
        }
    }

    /// `{endpoint}/api/{type}s/{id}/tree/{rev}[/{path}]`: a folder's listing (the path is encoded
    /// with no safe character, as the Hub expects).
    pub fn tree_url(&self, repo: &Repo, revision: &Revision, path: Option<&RepoPath>) -> String {
        let mut url =
            format!("{}/tree/{}", self.api_base(repo), encode_component(revision.as_str()));
        if let Some(path) = path {
            url.push('/');
            url.push_str(&encode_component(path.as_str()));
        }
        url
    }

    /// `{endpoint}/api/{type}s/{id}/paths-info/{rev}`: metadata of chosen paths.
    pub fn paths_info_url(&self, repo: &Repo, revision: &Revision) -> String {
        format!("{}/paths-info/{}", self.api_base(repo), encode_component(revision.as_str()))
    }

    /// `{endpoint}/api/{type}s/{id}/refs`: branches, tags and pull requests.
    pub fn refs_url(&self, repo: &Repo) -> String {
        format!("{}/refs", self.api_base(repo))
    }

    /// `{endpoint}/api/{type}s/{id}/commits/{rev}`: the history of a revision.
    pub fn commits_url(&self, repo: &Repo, revision: &Revision) -> String {
        format!("{}/commits/{}", self.api_base(repo), encode_component(revision.as_str()))
    }

    /// `{endpoint}/api/{type}s/{id}/preupload/{rev}`: how each file of a commit is uploaded.
    pub fn preupload_url(&self, repo: &Repo, revision: &Revision) -> String {
        format!("{}/preupload/{}", self.api_base(repo), encode_component(revision.as_str()))
    }

    /// `{endpoint}/api/{type}s/{id}/commit/{rev}`: creates a commit (NDJSON body).
    pub fn commit_url(&self, repo: &Repo, revision: &Revision) -> String {
        format!("{}/commit/{}", self.api_base(repo), encode_component(revision.as_str()))
    }

    /// `{endpoint}/api/{type}s/{id}/branch/{name}`: creates (POST) or deletes (DELETE) a branch.
    pub fn branch_url(&self, repo: &Repo, branch: &str) -> String {
        format!("{}/branch/{}", self.api_base(repo), encode_component(branch))
    }

    /// `{endpoint}/api/{type}s/{id}/tag/{name}`: creates (POST, at a revision) or deletes a tag.
    pub fn tag_url(&self, repo: &Repo, tag_or_revision: &str) -> String {
        format!("{}/tag/{}", self.api_base(repo), encode_component(tag_or_revision))
    }

    /// `{endpoint}/api/{type}s/{id}/settings`: visibility and gating.
    pub fn settings_url(&self, repo: &Repo) -> String {
        format!("{}/settings", self.api_base(repo))
    }

    /// `{endpoint}/api/whoami-v2`: who the token belongs to.
    pub fn whoami_url(&self) -> String {
        format!("{}/api/whoami-v2", self.as_str())
    }

    /// `{endpoint}/api/repos/create`.
    pub fn repo_create_url(&self) -> String {
        format!("{}/api/repos/create", self.as_str())
    }

    /// `{endpoint}/api/repos/delete`.
    pub fn repo_delete_url(&self) -> String {
        format!("{}/api/repos/delete", self.as_str())
    }

    /// `{endpoint}/api/repos/move`.
    pub fn repo_move_url(&self) -> String {
        format!("{}/api/repos/move", self.as_str())
    }

    /// `{endpoint}/api/{type}s?{query}`: lists models, datasets or spaces. Each pair is
    /// encoded; repeat a key to send a list (`filter=a&filter=b`).
    ///
    /// ```
    /// use hub_url::{Endpoint, RepoType};
    ///
    /// let url = Endpoint::default().list_url(RepoType::Model, &[("filter", "asteroid"), ("search", "a b")]);
    /// assert_eq!(url, "https://huggingface.co/api/models?filter=asteroid&search=a%20b");
    /// ```
    pub fn list_url(&self, repo_type: RepoType, query: &[(&str, &str)]) -> String {
        with_query(format!("{}/api/{}", self.as_str(), repo_type.plural()), query)
    }

    fn api_base(&self, repo: &Repo) -> String {
        format!("{}/api/{}/{}", self.as_str(), repo.repo_type().plural(), repo.id())
    }
}

/// Appends `?k=v&…` to `url`, each key and value percent-encoded; nothing when `query` is empty.
pub fn with_query(mut url: String, query: &[(&str, &str)]) -> String {
    for (i, (key, value)) in query.iter().enumerate() {
        url.push(if i == 0 && !url.contains('?') { '?' } else { '&' });
        url.push_str(&encode_component(key));
        url.push('=');
        url.push_str(&encode_component(value));
    }
    url
}
