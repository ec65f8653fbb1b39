//! The local Hub of the benchmarks: a [`TestHub`] in this process, seeded and read through its
//! own API (large files, request counters, the multipart threshold), and what a user with a
//! write token asks of it to set an upload up (create a repo, ask the LFS batch API for upload
//! URLs, verify an object, count a repo's files), sent with `hub-api` and `hub-lfs`, the natural
//! clients of those routes. None of it is measured: what is measured is `hub-cli`, `curl`,
//! `openssl` and the Python client, each a process of its own.

use hub_api::{CreateRepoOptions, HubClient, Token};
use hub_lfs::batch::{Action, BatchRequest, ObjectSpec, Operation};
use hub_lfs::multipart::MultipartPlan;
use hub_lfs::{LfsClient, UploadOptions};
use hub_tests::{HubConfig, TestHub, seed};
use hub_url::{Endpoint, Repo, RepoId};

use crate::util::say;

/// The user whose seed token the upload benchmarks use.
pub(crate) const NAMESPACE: &str = "alice";
/// `NAMESPACE`'s write token in the default seed.
pub(crate) const TOKEN: &str = seed::ALICE;

/// Starts the local Hub with `config`, on loopback, in this process (its own runtime threads).
pub(crate) fn start(config: HubConfig) -> anyhow::Result<TestHub> {
    TestHub::start(config).map_err(|e| anyhow::format_err!("cannot start the local Hub: {e:#}"))
}

/// A local file and its LFS identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LfsObject {
    pub(crate) path: std::path::PathBuf,
    pub(crate) oid: String,
    pub(crate) size: u64,
}

impl LfsObject {
    fn spec(&self) -> ObjectSpec {
        ObjectSpec { oid: self.oid.clone(), size: self.size }
    }
}

/// The `actions` of one object of a batch answer.
#[derive(Debug, Clone)]
pub(crate) struct UploadAction {
    pub(crate) upload: Action,
    verify: Option<Action>,
}

/// The Hub's API as `NAMESPACE` reaches it with its seed token, for one of its repos.
#[derive(Debug)]
pub(crate) struct HubApi {
    runtime: tokio::runtime::Runtime,
    lfs: LfsClient,
    /// `NAMESPACE/<name>`.
    repo: Repo,
}

impl HubApi {
    /// `NAMESPACE`'s access to its repo `name` on `hub`, with its seed token.
    pub(crate) fn new(hub: &TestHub, name: &str) -> anyhow::Result<HubApi> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let client = HubClient::builder(Endpoint::new(hub.endpoint())?)
            .token(Some(Token::new(TOKEN)?))
            .build()?;
        let repo = Repo::model(RepoId::new(&format!("{NAMESPACE}/{name}"))?);
        Ok(HubApi { runtime, lfs: LfsClient::new(client, UploadOptions::default()), repo })
    }

    pub(crate) fn create_repo(&self) -> anyhow::Result<()> {
        let client = self.lfs.hub();
        let url =
            self.runtime.block_on(client.create_repo(&self.repo, &CreateRepoOptions::default()))?;
        say(&format!("created {url}"));
        Ok(())
    }

    /// The batch API's answer to an upload of `object` offering `transfers`, as git-lfs asks.
    pub(crate) fn batch_upload(
        &self,
        object: &LfsObject,
        transfers: &[&str],
    ) -> anyhow::Result<UploadAction> {
        let mut request =
            BatchRequest::new(Operation::Upload, vec![object.spec()]).with_ref("refs/heads/main");
        request.transfers = transfers.iter().map(|t| (*t).to_owned()).collect();
        let answer = self.runtime.block_on(self.lfs.batch(&self.repo, &request))?;
        let entry = answer.objects.into_iter().find(|o| o.oid == object.oid).ok_or_else(|| {
            anyhow::format_err!("the batch API's answer has no entry for {}", object.oid)
        })?;
        if let Some(error) = entry.error {
            anyhow::bail!("the batch API refused {}: {} {}", object.oid, error.code, error.message);
        }
        let actions = entry.actions.unwrap_or_default();
        let upload = actions.upload.ok_or_else(|| {
            anyhow::format_err!("the batch API gave no upload action for {}", object.oid)
        })?;
        Ok(UploadAction { upload, verify: actions.verify })
    }

    /// The signed URL of a single PUT of `object` to the storage host: the Hub's threshold is
    /// raised above its size for the time of one batch request, then set back to `threshold`.
    pub(crate) fn basic_put_url(
        &self,
        hub: &TestHub,
        object: &LfsObject,
        threshold: u64,
    ) -> anyhow::Result<String> {
        hub.set_multipart_threshold(object.size + 1);
        let action = self.batch_upload(object, &[hub_lfs::batch::BASIC]);
        hub.set_multipart_threshold(threshold);
        let action = action?;
        anyhow::ensure!(
            part_count(object, &action.upload).is_err(),
            "the Hub answered a multipart upload to a batch request offering only basic"
        );
        say(&format!("curl -T: {}", short(&action.upload.href)));
        Ok(action.upload.href)
    }

    /// git-lfs's verify request after a transfer: a success once the Hub stores the object.
    pub(crate) fn verify(&self, action: &UploadAction, object: &LfsObject) -> anyhow::Result<()> {
        let verify = action
            .verify
            .as_ref()
            .ok_or_else(|| anyhow::format_err!("the batch answer has no verify action"))?;
        self.runtime.block_on(self.lfs.verify(&object.spec(), verify))?;
        Ok(())
    }

    /// The number of files in the main branch of `repo_id` (its model info's siblings).
    pub(crate) fn file_count(&self, repo_id: &str) -> anyhow::Result<usize> {
        let id = RepoId::new(repo_id)?;
        let info = self
            .runtime
            .block_on(self.lfs.hub().model_info(&id, &hub_api::InfoOptions::default()))?;
        Ok(info.siblings.len())
    }
}

/// The number of parts of a multipart upload action of `object` (an error for a single PUT).
pub(crate) fn part_count(object: &LfsObject, upload: &Action) -> anyhow::Result<u64> {
    let plan = MultipartPlan::from_header(&object.oid, object.size, &upload.header)?;
    let plan = plan.ok_or_else(|| {
        anyhow::format_err!(
            "the upload action is not multipart (no header.chunk_size): {}",
            short(&upload.href)
        )
    })?;
    Ok(plan.parts().len() as u64)
}

/// A URL without its query (the signature), for the log.
pub(crate) fn short(url: &str) -> &str {
    url.split_once('?').map_or(url, |(path, _)| path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_parts() {
        let object = LfsObject { path: "a.bin".into(), oid: "ab".repeat(32), size: 20 };
        let action = |header: &[(&str, &str)]| Action {
            href: "c".to_owned(),
            header: header.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            ..Action::default()
        };
        let multipart = action(&[("chunk_size", "10"), ("1", "a"), ("2", "b")]);
        assert_eq!(part_count(&object, &multipart).unwrap(), 2);
        assert!(part_count(&object, &action(&[])).is_err());
        assert!(part_count(&object, &action(&[("1", "a")])).is_err());
        // Parts that do not cover the object: not an upload anyone can do.
        assert!(part_count(&object, &action(&[("chunk_size", "10"), ("1", "a")])).is_err());
    }

    #[test]
    fn shortens_signed_urls() {
        assert_eq!(short("http://127.0.0.2:9/lfs/ab?exp=1&sig=2"), "http://127.0.0.2:9/lfs/ab");
        assert_eq!(short("http://h/x"), "http://h/x");
    }
}
