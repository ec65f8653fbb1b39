//! Moving a file's bytes from a URL into a [`BlobWriter`], built so that a resumed, refused or
//! stalled download cannot go wrong in a new way:
//!
//! ```text
//! plan (pure)    on disk (adopted) ∪ spans to fetch = [0, size), each byte in exactly one
//! fetchers (N)   span by span: Range GET → write at offset → Written event
//!                retries, fresh signed URLs and the stall watchdog live here, nowhere else
//! hasher (1)     events through a bounded channel; hashes [0, size) in order, once: from the
//!                bytes handed over when near, else read back; records what is on disk;
//!                publishes its position (a watch) so busy-hasher back-pressure needs no polling
//! ```
//!
//! - [`plan`]: which bytes are on disk and which to fetch.
//! - [`fetch`]: the fetchers.
//! - [`hasher`]: the hasher.
//! - [`source`]: the location, refreshed when a signed URL expires.
//!
//! Memory stays bounded whatever the file size: each fetcher holds one write buffer, the hasher
//! at most [`hasher::WINDOW`] of handed-over bytes and one read buffer.

mod fetch;
mod hasher;
mod plan;
mod source;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use hub_cache::BlobWriter;
use tokio::sync::{Notify, mpsc, watch};

pub(crate) use source::Relocate;

use hub_url::RedactedUrl;

use crate::Error;
use crate::client::HubClient;
use crate::hash::HashKind;
use fetch::{Fetcher, Job, Stop, Tries};
use hasher::{HashJob, Pace};
use plan::Plan;

/// How downloads move bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransferConfig {
    /// Connections used at once for one large file (and files fetched at once by a snapshot).
    pub connections: usize,
    /// The size of each `Range` request.
    pub chunk_size: u64,
    /// Check every download against its etag: sha256 for LFS files, the git blob id for
    /// regular ones, computed while the bytes arrive.
    pub verify: bool,
    /// A connection that brings less than [`TransferConfig::stall_floor`] bytes in this long is
    /// dropped and its range asked again on a new one; a download during which no connection
    /// brings anything for [`STALL_ROUNDS`] times this long fails with [`Error::Stalled`].
    pub stall_timeout: Duration,
    /// The least progress, in bytes per [`TransferConfig::stall_timeout`], of a connection
    /// that is not stalled.
    pub stall_floor: u64,
    /// How a download's lease is renewed and when another writer's silent lease is taken
    /// over (`hub_cache::BlobClaim`).
    pub lease: hub_cache::LeaseConfig,
}

/// How many stall timeouts without a byte on any connection end a download.
pub const STALL_ROUNDS: u32 = 12;

impl Default for TransferConfig {
    /// 8 connections of 16 MiB ranges, verified: enough to fill a datacenter link, few enough
    /// for a laptop's. A connection bringing less than 64 KiB in 10 s is replaced.
    fn default() -> TransferConfig {
        TransferConfig {
            connections: 8,
            chunk_size: 16 << 20,
            verify: true,
            stall_timeout: Duration::from_secs(10),
            stall_floor: 64 << 10,
            lease: hub_cache::LeaseConfig::default(),
        }
    }
}

setters!(TransferConfig {
    /// Fetches one large file over this many connections.
    with_connections(connections: usize);
    /// Asks for ranges of this many bytes.
    with_chunk_size(chunk_size: u64);
    /// Checks (`true`) or not each download against its etag.
    with_verify(verify: bool);
    /// Replaces a connection that brings too little in this long.
    with_stall_timeout(stall_timeout: Duration);
    /// The least progress of a connection that is not stalled, in bytes per stall timeout.
    with_stall_floor(stall_floor: u64);
    /// Renews and takes over leases so.
    with_lease(lease: hub_cache::LeaseConfig);
});

/// Receives download progress. Calls come from several tasks at once.
pub trait Progress: Send + Sync {
    /// A file's download starts: `size` bytes in all, `done` of them already on disk.
    fn start(&self, file: &str, size: u64, done: u64) {
        let _ = (file, size, done);
    }
    /// `bytes` more bytes of `file` arrived.
    fn advance(&self, file: &str, bytes: u64) {
        let _ = (file, bytes);
    }
    /// `file` is complete and verified.
    fn finish(&self, file: &str) {
        let _ = file;
    }
    /// Another process or node is downloading `file`: this one waits for it (called again
    /// each time it looks, about every [`hub_cache::CLAIM_POLL`]). If that writer dies, this
    /// one takes over, and [`Progress::start`] follows.
    fn waiting(&self, file: &str, waiting: &hub_cache::Waiting) {
        let _ = (file, waiting);
    }
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// Events in flight from the fetchers to the hasher.
const CHANNEL: usize = 32;

/// Downloads `url` into `writer` and commits it; returns the committed path. `name` is what
/// progress reports call the file; `relocate` asks the Hub for a fresh location when a signed
/// URL is refused or expires.
pub(crate) async fn download(
    client: &HubClient,
    url: &str,
    relocate: Option<Relocate>,
    writer: BlobWriter,
    config: &TransferConfig,
    name: &str,
    progress: &Arc<dyn Progress>,
) -> Result<std::path::PathBuf, Error> {
    let size = writer.size();
    let mut plan = Plan::new(size, writer.resumed_ranges(), config.chunk_size);
    let writer = Arc::new(writer);
    let mut job = Job {
        client: client.clone(),
        source: source::Source::new(url, relocate),
        writer: Arc::clone(&writer),
        spans: Vec::new(),
        next: AtomicUsize::new(0),
        verifying: config.verify && writer.expected().is_some(),
        config: config.clone(),
        name: name.to_owned(),
        progress: Arc::clone(progress),
        moved: Notify::new(),
        written: AtomicU64::new(0),
    };
    // The first range tells whether the server honours ranges: when it sends the whole file,
    // it is read from its first byte, and what is on disk is of no use.
    let mut first = None;
    if let Some(&(start, end)) = plan.spans.first() {
        let (location, response) = match job.answer(start, end, &mut Tries::new()).await {
            Ok(answer) => answer,
            Err(stop) => {
                let e = stop.into_error(url);
                drop(job);
                if let Ok(writer) = Arc::try_unwrap(writer) {
                    keep_or_discard(writer, 0, &e);
                }
                return Err(e);
            }
        };
        if response.status() == http::StatusCode::OK {
            tracing::debug!("{} ignores Range: downloading it whole", RedactedUrl(url));
            plan = Plan::whole(size);
        }
        first = Some((0, location, response));
    }
    progress.start(name, size, plan.done());
    job.spans = plan.spans.clone();
    job.next = AtomicUsize::new(usize::from(first.is_some()));
    let job = Arc::new(job);

    let (events, received) = mpsc::channel(CHANNEL);
    let (pace, paced) = watch::channel(Pace { hashed: 0, waiting: false });
    let kind = writer.expected().filter(|_| job.verifying).map(HashKind::of);
    let hash_job = HashJob {
        writer: Arc::clone(&writer),
        kind,
        on_disk: plan.on_disk.clone(),
        events: received,
        pace,
        runtime: tokio::runtime::Handle::current(),
    };
    let hasher = tokio::task::spawn_blocking(move || hasher::run(hash_job));

    let mut fetchers = tokio::task::JoinSet::new();
    let count = config.connections.max(1).min(job.spans.len());
    for _ in 0..count {
        let fetcher =
            Fetcher { job: Arc::clone(&job), events: events.clone(), pace: paced.clone() };
        fetchers.spawn(fetcher.run(first.take()));
    }
    drop(events);
    let deadline = config.stall_timeout.saturating_mul(STALL_ROUNDS);
    let mut failure: Option<Stop> = None;
    loop {
        let moved = job.moved.notified();
        tokio::select! {
            joined = fetchers.join_next() => match joined {
                None => break,
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(stop))) => {
                    failure.get_or_insert(stop);
                    fetchers.abort_all();
                }
                Some(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                // Aborted after a failure, which is kept.
                Some(Err(_)) if failure.is_some() => {}
                Some(Err(_)) => {
                    failure.get_or_insert(Stop::Failed(Error::RuntimeGone));
                    fetchers.abort_all();
                }
            },
            () = tokio::time::sleep(deadline), if failure.is_none() => {
                failure = Some(Stop::Failed(Error::Stalled {
                    url: job.source.peek(),
                    seconds: deadline.as_secs(),
                }));
                fetchers.abort_all();
            }
            () = moved => {}
        }
    }
    let written = job.written.load(Ordering::Relaxed);
    drop(job);
    let hashed = crate::error::joined(hasher.await).and_then(|hashed| hashed);
    // Every fetcher has ended and the hasher returned: nothing else holds the writer.
    let writer = Arc::try_unwrap(writer).map_err(|_| Error::Protocol {
        url: url.to_owned(),
        reason: "download tasks outlived the download".to_owned(),
    })?;
    let result = match (failure, hashed) {
        (Some(Stop::Failed(e)), _) | (None | Some(Stop::HasherGone), Err(e)) => Err(e),
        (Some(Stop::HasherGone), Ok(_)) => Err(Error::Protocol {
            url: url.to_owned(),
            reason: "the hasher stopped early".to_owned(),
        }),
        (None, Ok(hashed)) => Ok(hashed),
    };
    match result {
        Ok(hasher::Hashed { verification: Some(verification), .. }) => {
            let committed = tokio::task::spawn_blocking(move || writer.commit(verification)).await;
            let path = crate::error::joined(committed)??;
            progress.finish(name);
            Ok(path)
        }
        Ok(hashed) => {
            let e = Error::Protocol {
                url: url.to_owned(),
                reason: "the download ended before its last byte; run it again to resume"
                    .to_owned(),
            };
            keep_or_discard(writer, hashed.on_disk.total(), &e);
            Err(e)
        }
        Err(e) => {
            // What is on disk is recorded (the hasher's last record); keep it unless the disk
            // is full.
            keep_or_discard(writer, written, &e);
            Err(e)
        }
    }
}

impl Stop {
    fn into_error(self, url: &str) -> Error {
        match self {
            Stop::Failed(e) => e,
            Stop::HasherGone => Error::Protocol {
                url: url.to_owned(),
                reason: "the hasher stopped early".to_owned(),
            },
        }
    }
}

/// After a failure: a partial file with bytes worth resuming stays, with its progress record,
/// for the next run; one with none, or on a full disk, is deleted.
fn keep_or_discard(writer: BlobWriter, on_disk: u64, error: &Error) {
    let full = matches!(error, Error::Cache(hub_cache::Error::NoSpace { .. }));
    if full || (on_disk == 0 && writer.resumed_ranges().is_empty()) {
        writer.discard();
    }
}
