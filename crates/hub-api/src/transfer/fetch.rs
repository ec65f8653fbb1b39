//! The fetchers: each takes the next span of the plan, asks for it with a `Range`, writes what
//! arrives at its offsets, hands it to the hasher, and on a failure asks
//! again for what is still missing of the span: after a backoff for a transient failure, with a
//! fresh location for a refused signed URL, on a new connection for a stalled one. This is the
//! one layer that retries ranges: its requests are sent with [`Retry::Never`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use http::StatusCode;
use http::header::{ACCEPT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, HeaderValue, RANGE};
use http_body_util::BodyExt;
use hub_cache::BlobWriter;
use hub_url::RedactedUrl;
use hyper::body::Incoming;
use tokio::sync::{Notify, mpsc, watch};

use super::hasher::{Pace, WINDOW, Written};
use super::source::{Location, Source};
use super::{Progress, TransferConfig};
use crate::Error;
use crate::client::{HubClient, HubRequest, Retry, RetryNotice, RetryReason};
use crate::headers::ContentRange;

/// Bytes gathered from the body before they are written in one go.
const WRITE_BUFFER: usize = 1 << 20;

/// What every fetcher of one download shares.
pub(crate) struct Job {
    pub(crate) client: HubClient,
    pub(crate) source: Source,
    pub(crate) writer: Arc<BlobWriter>,
    pub(crate) spans: Vec<(u64, u64)>,
    pub(crate) next: AtomicUsize,
    pub(crate) verifying: bool,
    pub(crate) config: TransferConfig,
    pub(crate) name: String,
    pub(crate) progress: Arc<dyn Progress>,
    /// Woken whenever bytes are written: the download's no-progress deadline.
    pub(crate) moved: Notify,
    /// Bytes written by this download.
    pub(crate) written: AtomicU64,
}

/// Why a fetcher stopped.
#[derive(Debug)]
pub(crate) enum Stop {
    /// A failure trying again cannot fix, or retries ran out.
    Failed(Error),
    /// The hasher stopped taking events: its own result says why.
    HasherGone,
}

impl From<Error> for Stop {
    fn from(e: Error) -> Stop {
        Stop::Failed(e)
    }
}

/// How one attempt at a range ended, when not with all its bytes.
#[derive(Debug)]
enum Fault {
    /// Trying again may help (a dropped connection, a timeout, a stall, 5xx, 429), after
    /// `wait` and for that reason when the retry policy judged an answer's status.
    Transient { error: Error, wait: Option<(Duration, RetryReason)> },
    /// The storage server refused the signed URL: ask the Hub for a fresh one.
    Refused { status: u16 },
    /// Trying again cannot help.
    Fatal(Stop),
}

impl From<Stop> for Fault {
    fn from(stop: Stop) -> Fault {
        Fault::Fatal(stop)
    }
}

/// What a fetcher does with the channel and the watch.
pub(crate) struct Fetcher {
    pub(crate) job: Arc<Job>,
    pub(crate) events: mpsc::Sender<Written>,
    pub(crate) pace: watch::Receiver<Pace>,
}

/// The answer to a first range request, kept for the fetcher of that range.
pub(crate) type FirstAnswer = (usize, Location, hyper::Response<Incoming>);

/// The failures of one span since its last byte arrived, and what to do about the next.
pub(crate) struct Tries {
    failures: u32,
    refusals: u32,
    began: std::time::Instant,
}

impl Tries {
    pub(crate) fn new() -> Tries {
        Tries { failures: 0, refusals: 0, began: Instant::now() }
    }

    /// Bytes arrived: the count starts again.
    fn progressed(&mut self) {
        self.failures = 0;
        self.refusals = 0;
        self.began = Instant::now();
    }

    /// Waits before the next try, or asks for a fresh link, or gives up.
    async fn after(&mut self, job: &Job, fault: Fault, location: &Location) -> Result<(), Stop> {
        let retry = job.client.retry_config();
        match fault {
            Fault::Fatal(stop) => Err(stop),
            Fault::Refused { status } => {
                self.refusals += 1;
                // A fresh link refused again at once: the storage server means it.
                if !job.source.can_refresh() || self.refusals > 2 {
                    return Err(Stop::Failed(Error::DownloadRefused {
                        url: location.url.to_string(),
                        status,
                    }));
                }
                tracing::debug!(
                    "{}: refused (HTTP {status}); asking the Hub for a new link",
                    RedactedUrl(&location.url)
                );
                job.source.refresh(location.generation).await?;
                Ok(())
            }
            Fault::Transient { error, wait } => {
                self.failures += 1;
                if self.failures > retry.max_retries {
                    return Err(Stop::Failed(Error::RetriesExhausted {
                        attempts: self.failures,
                        elapsed: self.began.elapsed(),
                        source: Box::new(error),
                    }));
                }
                let (wait, reason) = wait.unwrap_or_else(|| {
                    (job.client.backoff(self.failures - 1), crate::client::reason_of(&error))
                });
                tracing::debug!("{}: {error}", RedactedUrl(&location.url));
                let notice =
                    RetryNotice::new(&location.url, reason, self.failures, retry.max_retries, wait);
                job.client.report_retry(&notice);
                tokio::time::sleep(wait).await;
                Ok(())
            }
        }
    }
}

impl Job {
    /// An answer to a request for `[at, end)` (headers only), trying again as [`Tries`] says.
    pub(crate) async fn answer(
        &self,
        at: u64,
        end: u64,
        tries: &mut Tries,
    ) -> Result<(Location, hyper::Response<Incoming>), Stop> {
        loop {
            let location = self.source.fresh().await?;
            match request_range(self, &location.url, at, end, tries.failures).await {
                Ok(response) => return Ok((location, response)),
                Err(fault) => tries.after(self, fault, &location).await?,
            }
        }
    }

    /// The source's current URL, for messages (they show it redacted).
    fn source_url(&self) -> String {
        self.source.peek()
    }
}

impl Fetcher {
    /// Takes spans in order until none is left; `first` is the answer already received for
    /// one of them.
    pub(crate) async fn run(mut self, mut first: Option<FirstAnswer>) -> Result<(), Stop> {
        loop {
            let (index, answer) = match first.take() {
                Some((index, location, response)) => (index, Some((location, response))),
                None => (self.job.next.fetch_add(1, Ordering::Relaxed), None),
            };
            let Some(&span) = self.job.spans.get(index) else { return Ok(()) };
            self.fetch_span(span, answer).await?;
        }
    }

    /// Fetches `[start, end)`, resuming after each failure from the last byte written.
    async fn fetch_span(
        &mut self,
        (start, end): (u64, u64),
        mut answer: Option<(Location, hyper::Response<Incoming>)>,
    ) -> Result<(), Stop> {
        let job = Arc::clone(&self.job);
        let mut tries = Tries::new();
        let mut at = start;
        while at < end {
            let (location, response) = match answer.take() {
                Some(answer) => answer,
                None => job.answer(at, end, &mut tries).await?,
            };
            let before = at;
            let outcome = self.stream(response, &mut at, end).await;
            if at > before {
                tries.progressed();
            }
            if let Err(fault) = outcome {
                tries.after(&job, fault, &location).await?;
            }
        }
        Ok(())
    }

    /// Writes the body into the file from `*at` up to `end`, advancing `*at` as bytes land.
    /// A `200` (the whole file, the server ignoring `Range`) is read from its start and the
    /// bytes before `*at` skipped; bytes past `end` are dropped with the connection.
    async fn stream(
        &mut self,
        response: hyper::Response<Incoming>,
        at: &mut u64,
        end: u64,
    ) -> Result<(), Fault> {
        let job = Arc::clone(&self.job);
        let mut skip = if response.status() == StatusCode::OK { *at } else { 0 };
        let mut body = response.into_body();
        let mut batch: Vec<Bytes> = Vec::new();
        let mut batched = 0u64;
        let stall = job.config.stall_timeout;
        let mut window = (Instant::now(), 0u64);
        let url = || job.source_url();
        loop {
            if job.verifying {
                let next = *at + batched;
                if self.held_back(next) {
                    self.flush(&mut batch, &mut batched, at).await?;
                    self.keep_pace(next).await;
                    window = (Instant::now(), 0);
                }
            }
            let frame = match tokio::time::timeout(stall, body.frame()).await {
                Ok(frame) => frame,
                Err(_) => {
                    self.flush(&mut batch, &mut batched, at).await?;
                    let seconds = stall.as_secs();
                    return Err(transient(Error::Stalled { url: url(), seconds }));
                }
            };
            let mut data = match frame {
                None => break,
                Some(Err(e)) => {
                    self.flush(&mut batch, &mut batched, at).await?;
                    return Err(transient(Error::Network { url: url(), cause: Box::new(e) }));
                }
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => data,
                    Err(_) => continue,
                },
            };
            if skip > 0 {
                let n = usize::try_from(skip).unwrap_or(usize::MAX).min(data.len());
                data.advance(n);
                skip -= n as u64;
            }
            let room = end - *at - batched;
            let past_end = data.len() as u64 > room;
            if past_end {
                data.truncate(usize::try_from(room).unwrap_or(usize::MAX));
            }
            window.1 += data.len() as u64;
            if !data.is_empty() {
                batched += data.len() as u64;
                batch.push(data);
            }
            if batched >= WRITE_BUFFER as u64 || past_end || *at + batched == end {
                self.flush(&mut batch, &mut batched, at).await?;
            }
            if past_end {
                // Anything more the server sends is not ours: the connection goes with it.
                return Ok(());
            }
            if *at == end {
                // The end of the body, read so the connection goes back to the pool (it comes
                // at once after the last byte); anything else and the connection goes.
                let _ = tokio::time::timeout(Duration::from_millis(20), body.frame()).await;
                return Ok(());
            }
            if window.0.elapsed() >= stall {
                if window.1 < job.config.stall_floor {
                    self.flush(&mut batch, &mut batched, at).await?;
                    let seconds = stall.as_secs();
                    return Err(transient(Error::Stalled { url: url(), seconds }));
                }
                window = (Instant::now(), 0);
            }
        }
        self.flush(&mut batch, &mut batched, at).await?;
        if *at < end {
            return Err(transient(Error::Network {
                url: url(),
                cause: "the connection closed before the end of the range".into(),
            }));
        }
        Ok(())
    }

    /// Whether the bytes at `offset` would land beyond what the hasher, busy, will take soon.
    fn held_back(&self, offset: u64) -> bool {
        let pace = *self.pace.borrow();
        !pace.waiting && offset >= pace.hashed.saturating_add(WINDOW)
    }

    /// Waits until the hasher comes within reach of `offset`, or has nothing to do, or stops.
    async fn keep_pace(&mut self, offset: u64) {
        while self.held_back(offset) {
            if self.pace.changed().await.is_err() {
                return;
            }
        }
    }

    /// Writes the batch at `*at`, then tells the hasher.
    async fn flush(
        &mut self,
        batch: &mut Vec<Bytes>,
        batched: &mut u64,
        at: &mut u64,
    ) -> Result<(), Stop> {
        if batch.is_empty() {
            return Ok(());
        }
        let job = Arc::clone(&self.job);
        let (offset, len) = (*at, *batched);
        let data = std::mem::take(batch);
        *batched = 0;
        let writer = Arc::clone(&job.writer);
        let write = move || -> Result<Vec<Bytes>, Error> {
            let mut o = offset;
            for bytes in &data {
                writer.write_at(o, bytes)?;
                o += bytes.len() as u64;
            }
            Ok(data)
        };
        // A positional write into the page cache, on this worker: handing it to the blocking
        // pool cost 7 % of an unverified download's time (1 GiB on loopback: 0.465 s against
        // 0.437 s), `block_in_place` 30 %. Reads (the hasher) and the commit are off the workers.
        let data = write()?;
        *at += len;
        job.written.fetch_add(len, Ordering::Relaxed);
        job.progress.advance(&job.name, len);
        job.moved.notify_waiters();
        let near = job.verifying && offset < self.pace.borrow().hashed.saturating_add(WINDOW);
        let event = Written { offset, len, data: near.then_some(data) };
        self.events.send(event).await.map_err(|_| Stop::HasherGone)
    }
}

fn transient(error: Error) -> Fault {
    Fault::Transient { error, wait: None }
}

/// `GET url` for bytes `[start, end)`, sent once (this layer retries; `attempt` counts the
/// range's failures so far). A `206` for the bytes
/// asked and a `200` for the whole file are answers to read; the rest become faults.
async fn request_range(
    job: &Job,
    url: &str,
    start: u64,
    end: u64,
    attempt: u32,
) -> Result<hyper::Response<Incoming>, Fault> {
    let size = job.writer.size();
    let range = HeaderValue::from_str(&format!("bytes={start}-{}", end - 1))
        .expect("digits, `=` and `-` are valid in a header value");
    let req = HubRequest::get(url.to_owned())
        .with_retry(Retry::Never)
        .with_header(ACCEPT_ENCODING, HeaderValue::from_static("identity"))
        .with_header(RANGE, range);
    let response = match job.client.send_raw(&req).await {
        Ok(response) => response,
        Err(e) if e.is_transient() => return Err(transient(e)),
        Err(e) => return Err(Fault::Fatal(Stop::Failed(e))),
    };
    let status = response.status();
    let header = |name| response.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let changed = |reason: String| {
        Fault::Fatal(Stop::Failed(Error::Protocol { url: url.to_owned(), reason }))
    };
    match status {
        StatusCode::PARTIAL_CONTENT => match header(CONTENT_RANGE).and_then(ContentRange::parse) {
            Some(ContentRange { range: Some((first, _)), total })
                if first == start && total.is_none_or(|t| t == size) =>
            {
                Ok(response)
            }
            _ => Err(changed(format!(
                "asked for bytes {start}-{} of {size}, got {}: the file may have changed; run the download again",
                end - 1,
                header(CONTENT_RANGE).unwrap_or("no Content-Range")
            ))),
        },
        StatusCode::OK => {
            let length = header(CONTENT_LENGTH).and_then(|v| v.trim().parse::<u64>().ok());
            match length {
                Some(length) if length != size => Err(changed(format!(
                    "expected {size} bytes, the server sends {length}: the file changed; run the download again"
                ))),
                _ => Ok(response),
            }
        }
        _ => Err(refusal(job, &req, response, attempt).await),
    }
}

/// What an error status means for a range request: a refused signed URL; else what the client's
/// one retry policy says of the status (`attempt` is the range's failures so far).
async fn refusal(
    job: &Job,
    req: &HubRequest,
    response: hyper::Response<Incoming>,
    attempt: u32,
) -> Fault {
    let status = response.status();
    if !job.client.is_hub_url(&req.url) && matches!(status.as_u16(), 401 | 403 | 410) {
        return Fault::Refused { status: status.as_u16() };
    }
    let policy = HubRequest { retry: Retry::Idempotent, ..req.clone() };
    let retry = job.client.status_retry(&policy, status, response.headers(), attempt);
    let error = job.client.error_of(&req.url, response).await;
    match retry {
        Ok(Some(wait)) => Fault::Transient { error, wait: Some(wait) },
        Ok(None) => Fault::Fatal(Stop::Failed(error)),
        // A rate limit that resets too late to wait for.
        Err(e) => Fault::Fatal(Stop::Failed(e)),
    }
}
