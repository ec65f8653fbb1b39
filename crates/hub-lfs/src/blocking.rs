//! Publishing from synchronous code: [`BlockingLfsClient`] runs the commit API of [`LfsClient`]
//! on the runtime thread of a [`hub_api::blocking::BlockingClient`], which it also gives for the
//! rest of the API (repos, listings, downloads).
//!
//! ```no_run
//! use hub_api::{CreateRepoOptions, HubClient};
//! use hub_lfs::blocking::BlockingLfsClient;
//! use hub_lfs::{CommitOptions, FolderOptions, UploadOptions};
//!
//! let client = BlockingLfsClient::new(HubClient::from_env()?, UploadOptions::from_env()?)?;
//! let repo = "me/my-model".parse()?;
//! client.hub().create_repo(&repo, &CreateRepoOptions::default().with_exist_ok(true))?;
//! let folder = FolderOptions::default().with_ignore_patterns(["*.tmp"]);
//! let info = client.upload_folder(&repo, "out/".as_ref(), &folder, &CommitOptions::new("Train"))?;
//! println!("{}", info.commit_url);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;

use hub_api::HubClient;
use hub_api::blocking::BlockingClient;
use hub_url::Repo;

use crate::commit::AddSource;
use crate::{
    CommitInfo, CommitOperation, CommitOptions, Error, FolderOptions, LfsClient, UploadOptions,
};

/// The commit API of [`LfsClient`], blocking. Dropping it stops its runtime thread.
#[derive(Debug)]
pub struct BlockingLfsClient {
    lfs: LfsClient,
    blocking: BlockingClient,
}

impl BlockingLfsClient {
    /// An [`LfsClient`] over `client` with `options`, and the runtime thread that runs it.
    ///
    /// # Errors
    ///
    /// When the runtime cannot start ([`hub_api::Error::RuntimeStart`]).
    pub fn new(client: HubClient, options: UploadOptions) -> Result<BlockingLfsClient, Error> {
        let blocking = BlockingClient::new(client.clone())?;
        Ok(BlockingLfsClient { lfs: LfsClient::new(client, options), blocking })
    }

    /// The blocking client of the rest of the API, on the same runtime thread.
    pub fn hub(&self) -> &BlockingClient {
        &self.blocking
    }

    /// The async client inside.
    pub fn lfs(&self) -> &LfsClient {
        &self.lfs
    }

    /// Runs the future `make` gives on a blocking thread of the runtime: the commit's future
    /// holds borrows across its awaits that rustc cannot prove `Send` for a spawned task.
    fn run<T, F, Fut>(&self, make: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, Error>>,
    {
        let task = async move {
            tokio::task::spawn_blocking(move || tokio::runtime::Handle::current().block_on(make()))
                .await
        };
        match self.blocking.block_on(task)? {
            Ok(res) => res,
            Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
            Err(_) => Err(hub_api::Error::RuntimeGone.into()),
        }
    }

    /// See [`LfsClient::create_commit`].
    pub fn create_commit(
        &self,
        repo: &Repo,
        operations: Vec<CommitOperation>,
        options: &CommitOptions,
    ) -> Result<CommitInfo, Error> {
        let (lfs, repo, options) = (self.lfs.clone(), repo.clone(), options.clone());
        self.run(move || async move { lfs.create_commit(&repo, operations, &options).await })
    }

    /// See [`LfsClient::upload_file`].
    pub fn upload_file(
        &self,
        repo: &Repo,
        path_in_repo: &str,
        source: AddSource,
        options: &CommitOptions,
    ) -> Result<CommitInfo, Error> {
        let (lfs, repo, path, options) =
            (self.lfs.clone(), repo.clone(), path_in_repo.to_owned(), options.clone());
        self.run(move || async move { lfs.upload_file(&repo, &path, source, &options).await })
    }

    /// See [`LfsClient::upload_folder`].
    pub fn upload_folder(
        &self,
        repo: &Repo,
        folder: &Path,
        folder_options: &FolderOptions,
        options: &CommitOptions,
    ) -> Result<CommitInfo, Error> {
        let (lfs, repo, folder) = (self.lfs.clone(), repo.clone(), folder.to_owned());
        let (folder_options, options) = (folder_options.clone(), options.clone());
        self.run(move || async move {
            lfs.upload_folder(&repo, &folder, &folder_options, &options).await
        })
    }

    /// See [`LfsClient::delete_file`].
    pub fn delete_file(
        &self,
        repo: &Repo,
        path_in_repo: &str,
        options: &CommitOptions,
    ) -> Result<CommitInfo, Error> {
        let (lfs, repo, path, options) =
            (self.lfs.clone(), repo.clone(), path_in_repo.to_owned(), options.clone());
        self.run(move || async move { lfs.delete_file(&repo, &path, &options).await })
    }

    /// See [`LfsClient::delete_folder`].
    pub fn delete_folder(
        &self,
        repo: &Repo,
        path_in_repo: &str,
        options: &CommitOptions,
    ) -> Result<CommitInfo, Error> {
        let (lfs, repo, path, options) =
            (self.lfs.clone(), repo.clone(), path_in_repo.to_owned(), options.clone());
        self.run(move || async move { lfs.delete_folder(&repo, &path, &options).await })
    }
}
