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

use hub_url::{Repo, RepoPath, Revision};
use tokio::runtime::Handle;

use crate::{
    DownloadOptions, Error, FileMetadata, HubClient, RepoInfo, SnapshotDownload, SnapshotOptions,
};

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

    fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, Error>> + Send + 'static,
    ) -> Result<T, Error> {
        let (tx, rx) = mpsc::channel();
        let task = self.handle.spawn(work);
        self.handle.spawn(async move {
            let _ = tx.send(task.await);
        });
        // A panic of the work is resumed here, on the caller's thread.
        crate::error::joined(rx.recv().map_err(|_| Error::RuntimeGone)?)?
    }

    /// See [`HubClient::hf_hub_download`].
    pub fn hf_hub_download(
        &self,
        repo: &Repo,
        filename: &str,
        options: &DownloadOptions,
    ) -> Result<PathBuf, Error> {
        let (client, repo, filename, options) =
            (self.client.clone(), repo.clone(), filename.to_owned(), options.clone());
        self.run(async move { client.hf_hub_download(&repo, &filename, &options).await })
    }

    /// See [`HubClient::snapshot_download`].
    pub fn snapshot_download(
        &self,
        repo: &Repo,
        options: &DownloadOptions,
        snapshot: &SnapshotOptions,
    ) -> Result<PathBuf, Error> {
        let (client, repo, options, snapshot) =
            (self.client.clone(), repo.clone(), options.clone(), snapshot.clone());
        self.run(async move { client.snapshot_download(&repo, &options, &snapshot).await })
    }

    /// See [`HubClient::snapshot_download_detailed`].
    pub fn snapshot_download_detailed(
        &self,
        repo: &Repo,
        options: &DownloadOptions,
        snapshot: &SnapshotOptions,
    ) -> Result<SnapshotDownload, Error> {
        let (client, repo, options, snapshot) =
            (self.client.clone(), repo.clone(), options.clone(), snapshot.clone());
        self.run(async move { client.snapshot_download_detailed(&repo, &options, &snapshot).await })
    }

    /// See [`HubClient::cached_download`].
    pub fn cached_download(&self, url: &str, options: &DownloadOptions) -> Result<PathBuf, Error> {
        let (client, url, options) = (self.client.clone(), url.to_owned(), options.clone());
        self.run(async move { client.cached_download(&url, &options).await })
    }

    /// See [`HubClient::file_metadata`].
    pub fn file_metadata(
        &self,
        repo: &Repo,
        revision: &Revision,
        path: &RepoPath,
    ) -> Result<FileMetadata, Error> {
        let (client, repo, revision, path) =
            (self.client.clone(), repo.clone(), revision.clone(), path.clone());
        self.run(async move { client.file_metadata(&repo, &revision, &path).await })
    }

    /// See [`HubClient::repo_info`].
    pub fn repo_info(
        &self,
        repo: &Repo,
        revision: Option<&Revision>,
        files_metadata: bool,
    ) -> Result<RepoInfo, Error> {
        let (client, repo, revision) = (self.client.clone(), repo.clone(), revision.cloned());
        self.run(async move { client.repo_info(&repo, revision.as_ref(), files_metadata).await })
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
