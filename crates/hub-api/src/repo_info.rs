//! Repo info (`GET /api/{models,datasets,spaces}/{id}[/revision/{rev}]`,
//! `docs/protocol/api.md#repo-info`): the commit a revision resolves to and the files at it.

use hub_url::{Repo, RepoId};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::api::InfoOptions;
use crate::client::{HubClient, HubRequest};

/// What the Hub says about a repo at a revision. Unknown fields are kept in `extra`, and
/// missing optional ones are `None`: a new field on the Hub breaks nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RepoInfo {
    /// `namespace/name`.
    pub id: String,
    /// The commit the revision resolved to.
    #[serde(default)]
    pub sha: Option<String>,
    /// Whether the repo is private.
    #[serde(default)]
    pub private: Option<bool>,
    /// The repo's tags (the library name is one of them).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The files at that revision.
    #[serde(default)]
    pub siblings: Vec<Sibling>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// One file of a repo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Sibling {
    /// The path in the repo.
    pub rfilename: String,
    /// The size (with file metadata).
    #[serde(default)]
    pub size: Option<u64>,
    /// The git blob id (with file metadata).
    #[serde(default)]
    pub blob_id: Option<String>,
    /// The LFS object, for an LFS file (with file metadata).
    #[serde(default)]
    pub lfs: Option<SiblingLfs>,
}

impl Sibling {
    /// The file's size: its LFS object's for an LFS file, else what the Hub sent (with file
    /// metadata).
    pub fn file_size(&self) -> Option<u64> {
        self.lfs.as_ref().map(|l| l.size).or(self.size)
    }

    /// The name of the file's blob in the cache: the LFS object's sha256 for an LFS file, else
    /// the git blob id (with file metadata).
    pub fn etag(&self) -> Option<&str> {
        self.lfs.as_ref().map(|l| l.sha256.as_str()).or(self.blob_id.as_deref())
    }
}

/// The LFS object behind a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SiblingLfs {
    /// The object's sha256.
    pub sha256: String,
    /// The object's size.
    pub size: u64,
    /// The size of the pointer file in git.
    #[serde(default)]
    pub pointer_size: Option<u64>,
}

impl HubClient {
    /// A model's info (see [`HubClient::repo_info`]).
    pub async fn model_info(&self, id: &RepoId, options: &InfoOptions) -> Result<RepoInfo, Error> {
        self.repo_info(&Repo::model(id.clone()), options).await
    }

    /// A dataset's info (see [`HubClient::repo_info`]).
    pub async fn dataset_info(
        &self,
        id: &RepoId,
        options: &InfoOptions,
    ) -> Result<RepoInfo, Error> {
        self.repo_info(&Repo::dataset(id.clone()), options).await
    }

    /// A space's info (see [`HubClient::repo_info`]).
    pub async fn space_info(&self, id: &RepoId, options: &InfoOptions) -> Result<RepoInfo, Error> {
        self.repo_info(&Repo::space(id.clone()), options).await
    }

    /// The repo's info at [`InfoOptions::revision`] (the default branch when `None`); with
    /// [`InfoOptions::files_metadata`], each sibling carries its size, blob id and LFS object.
    pub async fn repo_info(&self, repo: &Repo, options: &InfoOptions) -> Result<RepoInfo, Error> {
        let (url, body) = self.repo_info_body(repo, options).await?;
        serde_json::from_slice(&body)
            .map_err(|e| Error::Protocol { url, reason: format!("invalid repo info: {e}") })
    }

    /// The repo's info as the Hub sent it (see [`HubClient::repo_info`]): every field it sent,
    /// and only those, for a program that passes the Hub's answer on (`--json`).
    pub async fn repo_info_json(
        &self,
        repo: &Repo,
        options: &InfoOptions,
    ) -> Result<serde_json::Value, Error> {
        let (url, body) = self.repo_info_body(repo, options).await?;
        serde_json::from_slice(&body)
            .map_err(|e| Error::Protocol { url, reason: format!("invalid repo info: {e}") })
    }

    async fn repo_info_body(
        &self,
        repo: &Repo,
        options: &InfoOptions,
    ) -> Result<(String, bytes::Bytes), Error> {
        let mut url = self.endpoint().api_repo_url(repo, options.revision.as_ref());
        if options.files_metadata {
            url = hub_url::with_query(url, &[("blobs", "true")]);
        }
        let (url, _, body) = self.send_api(&HubRequest::get(url)).await?;
        Ok((url, body))
    }
}
