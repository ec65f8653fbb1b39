//! A blocking facade over the async client, for synchronous code. It runs its own runtime on
//! its own thread, so it works from plain threads and also when called from inside a tokio
//! runtime (where a nested `block_on` would panic).
//!
//! ```no_run
//! use hub_api::DownloadOptions;
//! use hub_api::blocking::BlockingClient;
//!
//! let client = BlockingClient::from_env()?;
//! let path = client.hf_hub_download(&"acme/tiny-model".parse()?, "config.json", &DownloadOptions::from_env()?)?;
//! println!("{}", path.display());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::future::Future;
use std::path::PathBuf;
use std::sync::mpsc;

use hub_url::{Repo, RepoId, RepoPath, RepoType, Revision};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::runtime::Handle;

use crate::{
    BranchOptions, CreateRepoOptions, DeleteRepoOptions, DownloadOptions, Error, FileMetadata,
    GitCommitInfo, HubClient, HubRequest, InfoOptions, ListOptions, Paginated, Refs, RefsOptions,
    RepoInfo, RepoSettings, SnapshotDownload, SnapshotOptions, TagOptions, TreeEntry, TreeOptions,
    WhoAmI,
};

/// The blocking methods of [`BlockingClient`], one per async method of [`HubClient`] with the
/// same name and arguments (all references): each clones its arguments, runs the async method on
/// the runtime thread and waits for its result.
macro_rules! blocking {
    ($( $(#[$doc:meta])* fn $name:ident($($arg:ident: &$ty:ty),* $(,)?) -> $ret:ty; )*) => {
        $(
            $(#[$doc])*
            pub fn $name(&self, $($arg: &$ty),*) -> Result<$ret, Error> {
                let client = self.client.clone();
                $(let $arg = <$ty as ToOwned>::to_owned($arg);)*
                self.run(async move { client.$name($(&$arg),*).await })
            }
        )*
    };
}

/// The blocking client. Dropping it stops its runtime thread.
#[derive(Debug)]
pub struct BlockingClient {
    client: HubClient,
    handle: Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BlockingClient {
    /// Wraps `client`; starts the runtime thread.
    pub fn new(client: HubClient) -> Result<BlockingClient, Error> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("hub-api-runtime".to_owned())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("hub-api-worker")
                    .enable_all()
                    .build();
                match runtime {
                    Ok(runtime) => {
                        let _ = ready_tx.send(Ok(runtime.handle().clone()));
                        runtime.block_on(async {
                            let _ = stopped.await;
                        });
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(runtime_error)?;
        let handle = ready_rx.recv().map_err(|_| Error::RuntimeGone)?.map_err(runtime_error)?;
        Ok(BlockingClient { client, handle, stop: Some(stop), thread: Some(thread) })
    }

    /// A client configured from the environment (see [`crate::ClientBuilder::from_vars`]).
    pub fn from_env() -> Result<BlockingClient, Error> {
        BlockingClient::new(HubClient::from_env()?)
    }

    /// The async client inside.
    pub fn client(&self) -> &HubClient {
        &self.client
    }

    /// Runs `work` on the client's runtime and waits for it: the way to anything the blocking
    /// client does not wrap (a [`HubClient::send`] of your own, several calls at once).
    ///
    /// ```no_run
    /// use hub_api::blocking::BlockingClient;
    ///
    /// let blocking = BlockingClient::from_env()?;
    /// let client = blocking.client().clone();
    /// let (me, models) = blocking.block_on(async move {
    ///     let models = client.list_models(&hub_api::ListOptions::default().with_limit(3));
    ///     (client.whoami().await, models.collect_vec().await)
    /// })?;
    /// # Ok::<(), hub_api::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::RuntimeGone`] when the runtime thread is gone. A panic of `work` is resumed on
    /// the caller's thread.
    pub fn block_on<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, Error> {
        let (tx, rx) = mpsc::channel();
        let task = self.handle.spawn(work);
        self.handle.spawn(async move {
            let _ = tx.send(task.await);
        });
        crate::error::joined(rx.recv().map_err(|_| Error::RuntimeGone)?)
    }

    fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, Error>> + Send + 'static,
    ) -> Result<T, Error> {
        self.block_on(work)?
    }

    /// The items of `listing`, read from synchronous code.
    fn iter<T: DeserializeOwned + Send + 'static>(&self, listing: Paginated<T>) -> Iter<T> {
        Iter { listing: Some(listing), handle: self.handle.clone() }
    }

    // Each method: its arguments cloned (`ToOwned`), the async method run on the runtime.
    blocking! {
        /// See [`HubClient::hf_hub_download`].
        fn hf_hub_download(repo: &Repo, filename: &str, options: &DownloadOptions) -> PathBuf;
        /// See [`HubClient::snapshot_download`].
        fn snapshot_download(
            repo: &Repo,
            options: &DownloadOptions,
            snapshot: &SnapshotOptions,
        ) -> PathBuf;
        /// See [`HubClient::snapshot_download_detailed`].
        fn snapshot_download_detailed(
            repo: &Repo,
            options: &DownloadOptions,
            snapshot: &SnapshotOptions,
        ) -> SnapshotDownload;
        /// See [`HubClient::cached_download`].
        fn cached_download(url: &str, options: &DownloadOptions) -> PathBuf;
        /// See [`HubClient::file_metadata`].
        fn file_metadata(repo: &Repo, revision: &Revision, path: &RepoPath) -> FileMetadata;
        /// See [`HubClient::file_exists`].
        fn file_exists(repo: &Repo, revision: &Revision, path: &RepoPath) -> bool;
        /// See [`HubClient::repo_info`].
        fn repo_info(repo: &Repo, options: &InfoOptions) -> RepoInfo;
        /// See [`HubClient::repo_info_json`].
        fn repo_info_json(repo: &Repo, options: &InfoOptions) -> Value;
        /// See [`HubClient::model_info`].
        fn model_info(id: &RepoId, options: &InfoOptions) -> RepoInfo;
        /// See [`HubClient::dataset_info`].
        fn dataset_info(id: &RepoId, options: &InfoOptions) -> RepoInfo;
        /// See [`HubClient::space_info`].
        fn space_info(id: &RepoId, options: &InfoOptions) -> RepoInfo;
        /// See [`HubClient::repo_exists`].
        fn repo_exists(repo: &Repo) -> bool;
        /// See [`HubClient::whoami`].
        fn whoami() -> WhoAmI;
        /// See [`HubClient::create_repo`].
        fn create_repo(repo: &Repo, options: &CreateRepoOptions) -> String;
        /// See [`HubClient::delete_repo`].
        fn delete_repo(repo: &Repo, options: &DeleteRepoOptions) -> bool;
        /// See [`HubClient::move_repo`].
        fn move_repo(from: &Repo, to: &RepoId) -> String;
        /// See [`HubClient::update_repo_settings`].
        fn update_repo_settings(repo: &Repo, settings: &RepoSettings) -> ();
        /// See [`HubClient::list_repo_files`].
        fn list_repo_files(repo: &Repo, revision: &Revision) -> Vec<String>;
        /// See [`HubClient::list_repo_refs`].
        fn list_repo_refs(repo: &Repo, options: &RefsOptions) -> Refs;
        /// See [`HubClient::list_repo_refs_json`].
        fn list_repo_refs_json(repo: &Repo, options: &RefsOptions) -> Value;
        /// See [`HubClient::create_branch`].
        fn create_branch(repo: &Repo, branch: &str, options: &BranchOptions) -> ();
        /// See [`HubClient::delete_branch`].
        fn delete_branch(repo: &Repo, branch: &str) -> ();
        /// See [`HubClient::create_tag`].
        fn create_tag(repo: &Repo, tag: &str, options: &TagOptions) -> ();
        /// See [`HubClient::delete_tag`].
        fn delete_tag(repo: &Repo, tag: &str) -> ();
        /// See [`HubClient::send_and_read`].
        fn send_and_read(req: &HubRequest) -> (http::response::Parts, bytes::Bytes);
    }

    /// See [`HubClient::list_models`]: the items as an iterator, each page fetched when the
    /// items before it have been read.
    pub fn list_models(&self, options: &ListOptions) -> Iter<RepoInfo> {
        self.iter(self.client.list_models(options))
    }

    /// See [`HubClient::list_datasets`].
    pub fn list_datasets(&self, options: &ListOptions) -> Iter<RepoInfo> {
        self.iter(self.client.list_datasets(options))
    }

    /// See [`HubClient::list_spaces`].
    pub fn list_spaces(&self, options: &ListOptions) -> Iter<RepoInfo> {
        self.iter(self.client.list_spaces(options))
    }

    /// See [`HubClient::list_repos`].
    pub fn list_repos(&self, repo_type: RepoType, options: &ListOptions) -> Iter<RepoInfo> {
        self.iter(self.client.list_repos(repo_type, options))
    }

    /// See [`HubClient::list_repos_json`].
    pub fn list_repos_json(&self, repo_type: RepoType, options: &ListOptions) -> Iter<Value> {
        self.iter(self.client.list_repos_json(repo_type, options))
    }

    /// See [`HubClient::list_repo_tree`].
    pub fn list_repo_tree(
        &self,
        repo: &Repo,
        revision: &Revision,
        options: &TreeOptions,
    ) -> Iter<TreeEntry> {
        self.iter(self.client.list_repo_tree(repo, revision, options))
    }

    /// See [`HubClient::list_repo_commits`].
    pub fn list_repo_commits(&self, repo: &Repo, revision: &Revision) -> Iter<GitCommitInfo> {
        self.iter(self.client.list_repo_commits(repo, revision))
    }
}

/// Logs in from synchronous code: see [`crate::token::login`] (the token checked with the Hub,
/// then stored where the Python tools find it). It runs on a thread of its own, so it works
/// from plain threads and from inside a tokio runtime alike.
///
/// # Errors
///
/// As [`crate::token::login`]; [`Error::RuntimeStart`] when its runtime cannot start.
pub fn login(
    builder: crate::ClientBuilder,
    token: crate::Token,
    store: &crate::token::TokenStore,
) -> Result<crate::token::LoggedIn, Error> {
    let outcome = std::thread::scope(|scope| {
        scope
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(runtime_error)?;
                runtime.block_on(crate::token::login(builder, token, store))
            })
            .join()
    });
    outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The items of a listing of the [`BlockingClient`], one page fetched at a time on its runtime:
/// an [`Iterator`] of `Result<T, Error>` that ends after an error.
pub struct Iter<T> {
    /// `None` while a page is fetched (and for good after a panic).
    listing: Option<Paginated<T>>,
    handle: Handle,
}

impl<T: DeserializeOwned + Send + 'static> Iterator for Iter<T> {
    type Item = Result<T, Error>;

    fn next(&mut self) -> Option<Result<T, Error>> {
        let mut listing = self.listing.take()?;
        let (tx, rx) = mpsc::channel();
        let task = self.handle.spawn(async move {
            let item = listing.try_next().await;
            (listing, item)
        });
        self.handle.spawn(async move {
            let _ = tx.send(task.await);
        });
        let joined = match rx.recv() {
            Ok(joined) => joined,
            Err(_) => return Some(Err(Error::RuntimeGone)),
        };
        match crate::error::joined(joined) {
            Ok((listing, item)) => {
                self.listing = Some(listing);
                item.transpose()
            }
            Err(e) => Some(Err(e)),
        }
    }
}

impl<T> std::fmt::Debug for Iter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iter").field("listing", &self.listing).finish_non_exhaustive()
    }
}

impl Drop for BlockingClient {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // The runtime is dropped on its own thread, never inside a caller's runtime.
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn runtime_error(e: std::io::Error) -> Error {
    Error::RuntimeStart { cause: e }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic in the runtime thread's work is the caller's panic, with its payload; the client
    /// still works afterwards.
    #[test]
    fn a_panic_in_the_work_is_resumed_on_the_callers_thread() {
        let client = crate::ClientBuilder::new(hub_url::Endpoint::default()).build().unwrap();
        let blocking = BlockingClient::new(client).unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let work = async {
                if true {
                    panic!("bug in the work");
                }
                Ok::<u8, Error>(0)
            };
            blocking.run(work)
        }));
        let Err(payload) = caught else { panic!("the panic was turned into {caught:?}") };
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"bug in the work"));
        assert_eq!(blocking.run(async { Ok(7) }).ok(), Some(7));
    }
}
