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

/// The blocking methods of [`BlockingLfsClient`], one per commit method of [`LfsClient`] with
/// the same name and arguments: each clones its arguments (`ToOwned`: a slice of operations
/// becomes a `Vec`), runs the async method and waits for its [`CommitInfo`].
macro_rules! blocking {
    ($(
        $(#[$doc:meta])*
        fn $name:ident($($arg:ident: &$ty:ty),* $(,)?) => $call:ident($($pass:expr),* $(,)?);
    )*) => {
        $(
            $(#[$doc])*
            pub fn $name(&self, $($arg: &$ty),*) -> Result<CommitInfo, Error> {
                let lfs = self.lfs.clone();
                $(let $arg = <$ty as ToOwned>::to_owned($arg);)*
                self.run(move || async move { lfs.$call($($pass),*).await })
            }
        )*
    };
}

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

    // Each method: its arguments cloned (`ToOwned`), the async method run on the runtime.
    blocking! {
        /// See [`LfsClient::create_commit`].
        fn create_commit(repo: &Repo, operations: &[CommitOperation], options: &CommitOptions)
            => create_commit(&repo, operations, &options);
        /// See [`LfsClient::upload_file`].
        fn upload_file(repo: &Repo, path_in_repo: &str, source: &AddSource, options: &CommitOptions)
            => upload_file(&repo, &path_in_repo, source, &options);
        /// See [`LfsClient::upload_folder`].
        fn upload_folder(
            repo: &Repo,
            folder: &Path,
            folder_options: &FolderOptions,
            options: &CommitOptions,
        ) => upload_folder(&repo, &folder, &folder_options, &options);
        /// See [`LfsClient::delete_file`].
        fn delete_file(repo: &Repo, path_in_repo: &str, options: &CommitOptions)
            => delete_file(&repo, &path_in_repo, &options);
        /// See [`LfsClient::delete_folder`].
        fn delete_folder(repo: &Repo, path_in_repo: &str, options: &CommitOptions)
            => delete_folder(&repo, &path_in_repo, &options);
    }
}
