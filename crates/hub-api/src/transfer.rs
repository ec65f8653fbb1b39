//! Moving a file's bytes from a URL into a [`BlobWriter`]: parallel `Range` requests over the
//! pooled connections, each resumed on its own after a dropped connection, while one thread
//! hashes the contiguous prefix as it grows (so verification costs no second pass once the
//! last byte arrives) and records it, so a later process can resume after a crash.
//!
//! ```text
//! [0 ........ resume_from)[part 0 ][part 1 ][part 2 ] ... [part n]
//!   adopted from disk      └ workers take parts in order; each writes at its offsets
//!   hasher: hashes [hashed, watermark) in order: from memory what was kept for it,
//!           the rest read back from the page cache
//!   every part's progress is recorded: after a crash, only the missing bytes are fetched
//! ```
//!
//! Written chunks that start within [`PENDING_LIMIT`] bytes of the hasher's position stay in
//! memory until it hashes them. When the network is faster than hashing (a fast link, loopback), workers
//! whose next bytes lie beyond that window wait for the hasher instead of reading on: TCP
//! flow control pauses their senders, no byte has to be read back from disk, and the CPU goes
//! to the hasher, the slowest stage. When the network is the slower side, the hasher is idle
//! and nobody waits.
//!
//! Memory stays bounded whatever the file size: each worker holds one write buffer, the hasher
//! the window and one read buffer.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use bytes::Bytes;
use http::StatusCode;
use http::header::{ACCEPT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, HeaderValue, RANGE};
use http_body_util::BodyExt;
use hub_cache::{BlobWriter, Verification};
use hyper::body::Incoming;

use crate::client::{HubClient, HubRequest};
use crate::hash::{BlobHasher, HashKind};
use crate::{Error, HubError};

/// How downloads move bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferConfig {
    /// Connections used at once for one large file (and files fetched at once by a snapshot).
    pub connections: usize,
    /// The size of each `Range` request.
    pub chunk_size: u64,
    /// Check every download against its etag: sha256 for LFS files, the git blob id for
    /// regular ones, computed while the bytes arrive.
    pub verify: bool,
    /// Attempts at one range after its connection failed, counted since the last byte received.
    pub max_retries: u32,
}

impl Default for TransferConfig {
    /// 8 connections of 16 MiB ranges, verified: enough to fill a datacenter link, few enough
    /// for a laptop's.
    fn default() -> TransferConfig {
        TransferConfig { connections: 8, chunk_size: 16 << 20, verify: true, max_retries: 5 }
    }
}

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
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

const WRITE_BUFFER: usize = 1 << 20;
/// How far ahead of the hasher's position written chunks are kept in memory for it.
const PENDING_LIMIT: u64 = 16 << 20;
const HASH_BUFFER: usize = 1 << 20;
/// How long the hasher waits for bytes before workers stop holding back for it.
const STARVED_AFTER: Duration = Duration::from_millis(5);
const RECORD_EVERY: Duration = Duration::from_millis(500);

/// One contiguous piece of the file and how much of it is on disk.
#[derive(Debug)]
struct Part {
    start: u64,
    end: u64,
    written: AtomicU64,
}

impl Part {
    fn len(&self) -> u64 {
        self.end - self.start
    }
}

#[derive(Debug)]
struct Shared {
    writer: BlobWriter,
    /// Bytes at the start already on disk before this download (an adopted partial file).
    prefix: u64,
    parts: Vec<Part>,
    next: AtomicUsize,
    abort: AtomicBool,
    done: AtomicBool,
    wake: (Mutex<()>, Condvar),
    /// Written chunks kept for the hasher, by offset, so it hashes them from memory instead of
    /// reading them back: only those that start within [`PENDING_LIMIT`] bytes of `hashed`.
    pending: Mutex<BTreeMap<u64, Bytes>>,
    /// Where the hasher is: everything before is hashed.
    hashed: AtomicU64,
    /// Whether the hasher keeps no worker waiting: it has waited for the next bytes in order
    /// for a while ([`STARVED_AFTER`]: the network is the slower side), or it has stopped.
    hasher_idle: AtomicBool,
    /// Wakes workers held back by [`Shared::ahead_of_hasher`] when the hasher moves on.
    hasher_moved: tokio::sync::Notify,
    /// Whether chunks are kept for the hasher at all.
    keep_for_hash: bool,
}

impl Shared {
    /// A download's state: `parts` from the `next` on left to take, after `prefix` bytes
    /// already on disk. A hasher starts busy: from the first byte, workers keep within its
    /// window (none of the bytes it will need first is read back from disk), until it has
    /// waited for bytes long enough to show the network is the slower side.
    fn new(
        writer: BlobWriter,
        prefix: u64,
        parts: Vec<Part>,
        next: usize,
        keep_for_hash: bool,
    ) -> Shared {
        Shared {
            writer,
            prefix,
            parts,
            next: AtomicUsize::new(next),
            abort: AtomicBool::new(false),
            done: AtomicBool::new(false),
            wake: (Mutex::new(()), Condvar::new()),
            pending: Mutex::new(BTreeMap::new()),
            hashed: AtomicU64::new(0),
            hasher_idle: AtomicBool::new(false),
            hasher_moved: tokio::sync::Notify::new(),
            keep_for_hash,
        }
    }

    /// Offers a just-written chunk to the hasher. It is kept when it starts within
    /// [`PENDING_LIMIT`] bytes of where the hasher is, the bytes it needs soonest; farther
    /// ones it reads back from the page cache when it gets there.
    fn offer(&self, offset: u64, data: Bytes) {
        if !self.keep_for_hash {
            return;
        }
        // By where it starts, as workers are held back: a chunk a worker was let receive is
        // kept whole (the window only moves forward), so the window overshoots by less than a
        // frame per worker.
        if offset >= self.hashed.load(Ordering::Acquire).saturating_add(PENDING_LIMIT) {
            return;
        }
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(offset, data);
        }
    }

    /// Takes the kept chunk that starts at `offset`, dropping any that start before it.
    fn take_pending(&self, offset: u64) -> (Option<Bytes>, Option<u64>) {
        let Ok(mut pending) = self.pending.lock() else { return (None, None) };
        while let Some((&first, _)) = pending.first_key_value() {
            if first >= offset {
                break;
            }
            pending.pop_first();
        }
        let found = pending.remove(&offset);
        (found, pending.first_key_value().map(|(&k, _)| k))
    }

    /// Whether a worker about to receive the bytes at `offset` should wait for the hasher:
    /// when the hasher is busy and the bytes would land beyond what is kept for it. Receiving
    /// them anyway would only make the hasher read them back from disk later; holding the
    /// connection back (TCP flow control stops its sender) leaves the CPU to the hasher and
    /// keeps every byte in memory until hashed. When the network is the slower side, the
    /// hasher is idle and no worker ever waits.
    /// While the hasher re-reads a resumed prefix, nobody waits: that backlog is not theirs.
    fn ahead_of_hasher(&self, offset: u64) -> bool {
        if !self.keep_for_hash || self.hasher_idle.load(Ordering::Acquire) {
            return false;
        }
        let hashed = self.hashed.load(Ordering::Acquire);
        hashed >= self.prefix
            && offset >= hashed.saturating_add(PENDING_LIMIT)
            && !self.abort.load(Ordering::Relaxed)
    }

    /// Waits while [`Shared::ahead_of_hasher`] holds for `offset`.
    async fn keep_pace(&self, offset: u64) {
        while self.ahead_of_hasher(offset) {
            let moved = self.hasher_moved.notified();
            tokio::pin!(moved);
            moved.as_mut().enable();
            if !self.ahead_of_hasher(offset) {
                break;
            }
            // A bounded wait: a missed wake-up costs a few milliseconds, never a stall.
            let _ = tokio::time::timeout(Duration::from_millis(20), moved).await;
        }
    }

    fn notify(&self) {
        let _guard = self.wake.0.lock();
        self.wake.1.notify_all();
    }

    /// The end of the prefix that is entirely on disk.
    fn watermark(&self) -> u64 {
        let mut mark = self.prefix;
        for part in &self.parts {
            let written = part.written.load(Ordering::Acquire);
            mark = part.start + written;
            if written < part.len() {
                break;
            }
        }
        mark
    }
}

/// Once the hasher has stopped, however it stopped (done, failed, panicked), no worker waits for
/// it any more.
struct ReleaseWorkers<'a>(&'a Shared);

impl Drop for ReleaseWorkers<'_> {
    fn drop(&mut self) {
        self.0.hasher_idle.store(true, Ordering::Release);
        self.0.hasher_moved.notify_waiters();
    }
}

/// Marks what adopted ranges already cover at the start of each part.
fn prefill(parts: &mut [Part], resumed: &[(u64, u64)]) {
    for part in parts {
        let covered = resumed
            .iter()
            .find(|&&(a, b)| a <= part.start && part.start < b)
            .map_or(0, |&(_, b)| b.min(part.end) - part.start);
        part.written.store(covered, Ordering::Relaxed);
    }
}

/// What is on disk: the contiguous prefix, then every part's written start.
fn on_disk_ranges(shared: &Shared, mark: u64) -> Vec<(u64, u64)> {
    let mut ranges = vec![(0, mark)];
    for part in &shared.parts {
        let written = part.written.load(Ordering::Acquire);
        if written > 0 && part.start + written > mark {
            ranges.push((part.start.max(mark), part.start + written));
        }
    }
    ranges
}

fn split(start: u64, size: u64, chunk: u64) -> Vec<Part> {
    let chunk = chunk.max(1);
    let mut parts = Vec::new();
    let mut offset = start;
    while offset < size {
        let end = offset.saturating_add(chunk).min(size);
        parts.push(Part { start: offset, end, written: AtomicU64::new(0) });
        offset = end;
    }
    parts
}

/// Downloads `url` into `writer` and commits it; returns the committed path. `name` is what
/// progress reports call the file.
pub(crate) async fn download(
    client: &HubClient,
    url: &str,
    writer: BlobWriter,
    config: &TransferConfig,
    name: &str,
    progress: &Arc<dyn Progress>,
) -> Result<std::path::PathBuf, Error> {
    let size = writer.size();
    let prefix = writer.resume_from().min(size);
    let mut parts = split(prefix, size, config.chunk_size);
    prefill(&mut parts, writer.resumed_ranges());
    let on_disk = prefix + parts.iter().map(|p| p.written.load(Ordering::Relaxed)).sum::<u64>();
    progress.start(name, size, on_disk);
    // Parts already complete need no request.
    let mut parts: Vec<Part> =
        parts.into_iter().filter(|p| p.written.load(Ordering::Relaxed) < p.len()).collect();
    let mut first = None;
    if let Some(part) = parts.first() {
        // The first range tells whether the server honours ranges.
        let from = part.start + part.written.load(Ordering::Relaxed);
        let response = request_range(client, url, from, part.end, size).await?;
        if response.status() == StatusCode::OK {
            tracing::debug!("{url} ignores Range: downloading it in one stream");
            if prefix > 0 {
                progress.start(name, size, 0);
            }
            parts = vec![Part { start: 0, end: size, written: AtomicU64::new(0) }];
        }
        first = Some(response);
    }
    // Complete parts were dropped: the watermark starts at the first part left.
    let resumed = parts.first().map_or(size, |p| p.start);
    let kind = writer.expected().filter(|_| config.verify).map(HashKind::of);
    // Part 0 is the first worker's already.
    let shared = Arc::new(Shared::new(writer, resumed, parts, 1, kind.is_some()));
    let hasher = {
        let shared = Arc::clone(&shared);
        tokio::task::spawn_blocking(move || {
            let _release = ReleaseWorkers(&shared);
            hash_and_record(&shared, kind)
        })
    };
    let mut workers = tokio::task::JoinSet::new();
    let count = config.connections.max(1).min(shared.parts.len());
    for worker in 0..count {
        let (client, url, shared, progress) =
            (client.clone(), url.to_owned(), Arc::clone(&shared), Arc::clone(progress));
        let config = config.clone();
        let name = name.to_owned();
        // The first worker starts with part 0 and the answer already received for it.
        let mut start = if worker == 0 { first.take().map(|r| (0, r)) } else { None };
        workers.spawn(async move {
            loop {
                let (index, response) = match start.take() {
                    Some((index, response)) => (index, Some(response)),
                    None => (shared.next.fetch_add(1, Ordering::Relaxed), None),
                };
                if index >= shared.parts.len() || shared.abort.load(Ordering::Relaxed) {
                    return Ok(());
                }
                fetch_part(&client, &url, &shared, index, response, &config, &name, &*progress)
                    .await?;
            }
        });
    }
    let mut result = Ok(());
    while let Some(joined) = workers.join_next().await {
        let outcome = joined.unwrap_or_else(|e| {
            Err(Error::Protocol { url: url.to_owned(), reason: format!("download task: {e}") })
        });
        if let Err(e) = outcome
            && result.is_ok()
        {
            shared.abort.store(true, Ordering::Relaxed);
            result = Err(e);
        }
    }
    shared.done.store(true, Ordering::Release);
    shared.notify();
    let hashed = hasher.await.unwrap_or_else(|e| {
        Err(Error::Protocol { url: url.to_owned(), reason: format!("hash task: {e}") })
    });
    result?;
    let verification = hashed?;
    let Ok(shared) = Arc::try_unwrap(shared) else {
        return Err(Error::Protocol {
            url: url.to_owned(),
            reason: "download tasks outlived the download".to_owned(),
        });
    };
    let path =
        tokio::task::spawn_blocking(move || shared.writer.commit(verification)).await.map_err(
            |e| Error::Protocol { url: url.to_owned(), reason: format!("commit task: {e}") },
        )??;
    progress.finish(name);
    Ok(path)
}

/// `GET url` for bytes `[start, end)` of a `size`-byte file.
async fn request_range(
    client: &HubClient,
    url: &str,
    start: u64,
    end: u64,
    size: u64,
) -> Result<hyper::Response<Incoming>, Error> {
    let mut req = HubRequest::get(url.to_owned())
        .header(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    if start > 0 || end < size {
        let range = HeaderValue::from_str(&format!("bytes={start}-{}", end - 1))
            .map_err(|e| Error::InvalidUrl { url: url.to_owned(), reason: e.to_string() })?;
        req = req.header(RANGE, range);
    }
    let response = client.send(&req).await?;
    let status = response.status();
    if status == StatusCode::PARTIAL_CONTENT {
        let content_range = response
            .headers()
            .get(CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_content_range);
        return match content_range {
            Some((first, total)) if first == start && total.is_none_or(|t| t == size) => {
                Ok(response)
            }
            _ => Err(Error::Protocol {
                url: url.to_owned(),
                reason: format!(
                    "asked for bytes {start}-{} of {size}, got a different range: the file may have changed; retry",
                    end - 1
                ),
            }),
        };
    }
    if status == StatusCode::OK {
        let length = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if length.is_some_and(|l| l != size) {
            return Err(Error::Protocol {
                url: url.to_owned(),
                reason: format!(
                    "expected {size} bytes, the server sends {}: the file changed; retry",
                    length.unwrap_or_default()
                ),
            });
        }
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    Err(match HubError::from_response(url, parts.status, &parts.headers, &body) {
        Some(e) => Error::Hub(e),
        None => Error::Protocol { url: url.to_owned(), reason: format!("status {}", parts.status) },
    })
}

/// `bytes <first>-<last>/<total|*>` → (first, total).
fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (first, _) = range.split_once('-')?;
    let total = if total.trim() == "*" { None } else { Some(total.trim().parse().ok()?) };
    Some((first.trim().parse().ok()?, total))
}

/// Downloads one part, resuming it after a failure from the last byte written.
#[allow(clippy::too_many_arguments)]
async fn fetch_part(
    client: &HubClient,
    url: &str,
    shared: &Shared,
    index: usize,
    mut response: Option<hyper::Response<Incoming>>,
    config: &TransferConfig,
    name: &str,
    progress: &dyn Progress,
) -> Result<(), Error> {
    let Some(part) = shared.parts.get(index) else { return Ok(()) };
    let size = shared.writer.size();
    let mut failures = 0u32;
    loop {
        let written = part.written.load(Ordering::Acquire);
        if written >= part.len() {
            return Ok(());
        }
        let offset = part.start + written;
        let attempt = match response.take() {
            Some(r) => Ok(r),
            None => request_range(client, url, offset, part.end, size).await,
        };
        let before = written;
        let outcome = match attempt {
            Ok(r) => stream_body(client, url, shared, part, r, name, progress).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => continue,
            Err(e) if e.is_transient() && failures < config.max_retries => {
                if part.written.load(Ordering::Acquire) > before {
                    failures = 0;
                }
                failures += 1;
                tracing::debug!(
                    "{url}: {e}; resuming at byte {}",
                    part.start + part.written.load(Ordering::Acquire)
                );
                tokio::time::sleep(Duration::from_millis(200 * u64::from(failures))).await;
            }
            Err(e) => return Err(e),
        }
        if shared.abort.load(Ordering::Relaxed) {
            return Ok(());
        }
    }
}

/// Writes a response body into the part, from its current `written` offset.
async fn stream_body(
    client: &HubClient,
    url: &str,
    shared: &Shared,
    part: &Part,
    response: hyper::Response<Incoming>,
    name: &str,
    progress: &dyn Progress,
) -> Result<(), Error> {
    let mut body = response.into_body();
    // Frames are kept as they arrived (no copy) and written once a batch is large enough.
    let mut buffer: Vec<Bytes> = Vec::new();
    let mut buffered = 0usize;
    let write = |data: Bytes| -> Result<(), Error> {
        if data.is_empty() {
            return Ok(());
        }
        let written = part.written.load(Ordering::Acquire);
        let offset = part.start + written;
        shared.writer.write_at(offset, &data)?;
        let len = data.len() as u64;
        shared.offer(offset, data);
        part.written.store(written + len, Ordering::Release);
        progress.advance(name, len);
        Ok(())
    };
    let flush = |buffer: &mut Vec<Bytes>, buffered: &mut usize| -> Result<(), Error> {
        for data in buffer.drain(..) {
            write(data)?;
        }
        *buffered = 0;
        shared.notify();
        Ok(())
    };
    loop {
        if shared.abort.load(Ordering::Relaxed) {
            return Ok(());
        }
        let next = part.start + part.written.load(Ordering::Acquire) + buffered as u64;
        if shared.ahead_of_hasher(next) {
            flush(&mut buffer, &mut buffered)?;
            shared.keep_pace(next).await;
        }
        let frame = match tokio::time::timeout(client.read_timeout(), body.frame()).await {
            Err(_) => {
                flush(&mut buffer, &mut buffered)?;
                return Err(Error::Timeout { url: url.to_owned() });
            }
            Ok(frame) => frame,
        };
        match frame {
            None => break,
            Some(Err(e)) => {
                flush(&mut buffer, &mut buffered)?;
                return Err(Error::Network { url: url.to_owned(), cause: Box::new(e) });
            }
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else { continue };
                let room = part.len() - part.written.load(Ordering::Acquire);
                if (buffered + data.len()) as u64 > room {
                    return Err(Error::Protocol {
                        url: url.to_owned(),
                        reason: "the server sent more bytes than asked for".to_owned(),
                    });
                }
                buffered += data.len();
                buffer.push(data);
                if buffered >= WRITE_BUFFER {
                    flush(&mut buffer, &mut buffered)?;
                }
            }
        }
    }
    flush(&mut buffer, &mut buffered)?;
    if part.written.load(Ordering::Acquire) < part.len() {
        // The body ended early: the connection was cut.
        return Err(Error::Network {
            url: url.to_owned(),
            cause: "the connection closed before the end of the range".into(),
        });
    }
    Ok(())
}

/// Follows the watermark: hashes the contiguous prefix as it grows (reading it back from the
/// page cache) and records it for a later resume. Runs on a blocking thread.
fn hash_and_record(shared: &Shared, kind: Option<HashKind>) -> Result<Verification, Error> {
    let size = shared.writer.size();
    let mut hasher = kind.map(|kind| BlobHasher::new(kind, size));
    let mut buffer = if hasher.is_some() { vec![0u8; HASH_BUFFER] } else { Vec::new() };
    let mut hashed = 0u64;
    let mut recorded = shared.prefix;
    let mut last_record = Instant::now();
    loop {
        // Read before the watermark: once the workers are done, this pass reaches the end.
        let finished = shared.done.load(Ordering::Acquire);
        let mark = shared.watermark();
        if let Some(h) = hasher.as_mut() {
            while hashed < mark {
                // From memory when the chunk was kept, else read back up to the next kept one.
                let (kept, next_kept) = shared.take_pending(hashed);
                let n = if let Some(data) = kept {
                    h.update(&data);
                    data.len()
                } else {
                    let until = next_kept.unwrap_or(mark).min(mark);
                    let want = usize::try_from(until.saturating_sub(hashed))
                        .unwrap_or(usize::MAX)
                        .min(buffer.len())
                        .max(1);
                    let n = shared.writer.read_at(hashed, &mut buffer[..want])?;
                    h.update(&buffer[..n]);
                    n
                };
                if n == 0 {
                    break;
                }
                hashed += n as u64;
                shared.hashed.store(hashed, Ordering::Release);
                shared.hasher_idle.store(false, Ordering::Release);
                shared.hasher_moved.notify_waiters();
                if shared.abort.load(Ordering::Relaxed) {
                    break;
                }
            }
        } else {
            hashed = mark;
        }
        if last_record.elapsed() >= RECORD_EVERY && mark < size {
            let ranges = on_disk_ranges(shared, mark);
            let total: u64 = ranges.iter().map(|(a, b)| b - a).sum();
            if total > recorded {
                if let Err(e) = shared.writer.record_ranges(&ranges) {
                    shared.abort.store(true, Ordering::Relaxed);
                    return Err(e.into());
                }
                recorded = total;
            }
            last_record = Instant::now();
        }
        if hashed >= size || shared.abort.load(Ordering::Relaxed) || (finished && hashed >= mark) {
            break;
        }
        if let Ok(guard) = shared.wake.0.lock()
            && shared.watermark() == hashed
            && !shared.done.load(Ordering::Acquire)
        {
            // On a link faster than hashing, the next bytes are a moment away: workers stay
            // held back. Only a longer wait shows the network is the slower side.
            if let Ok((guard, waited)) = shared.wake.1.wait_timeout(guard, STARVED_AFTER)
                && waited.timed_out()
                && shared.watermark() == hashed
            {
                shared.hasher_idle.store(true, Ordering::Release);
                shared.hasher_moved.notify_waiters();
                let _ = shared.wake.1.wait_timeout(guard, Duration::from_millis(100));
            }
        }
    }
    Ok(hasher.map_or(Verification::SizeOnly, BlobHasher::finish))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: u64 = 256 << 20;

    /// The state of a download of a `SIZE`-byte file whose first `prefix` bytes were adopted.
    fn shared(prefix: u64, keep_for_hash: bool) -> (tempfile::TempDir, Shared) {
        let dir = tempfile::tempdir().unwrap();
        let repo =
            hub_cache::CacheDir::new(dir.path().to_path_buf()).repo(&"org/model".parse().unwrap());
        let etag = hub_cache::Etag::new(&"a".repeat(64)).unwrap();
        let hub_cache::BlobStart::Write(writer) = repo.begin_blob(&etag, SIZE).unwrap() else {
            panic!("no blob writer");
        };
        let shared = Shared::new(writer, prefix, split(prefix, SIZE, 16 << 20), 0, keep_for_hash);
        assert!(!shared.hasher_idle.load(Ordering::Acquire), "a hasher starts busy");
        (dir, shared)
    }

    #[test]
    fn workers_wait_only_for_a_busy_hasher_they_would_outrun() {
        let (_dir, s) = shared(0, true);
        s.hashed.store(32 << 20, Ordering::Release);
        assert!(!s.ahead_of_hasher((32 << 20) + PENDING_LIMIT - 1), "within the window");
        assert!(s.ahead_of_hasher((32 << 20) + PENDING_LIMIT), "beyond the window");
        s.hasher_idle.store(true, Ordering::Release);
        assert!(!s.ahead_of_hasher(SIZE - 1), "an idle hasher keeps nobody waiting");
        let (_dir, unverified) = shared(0, false);
        assert!(!unverified.ahead_of_hasher(SIZE - 1), "nobody waits without a hasher");
    }

    #[test]
    fn nobody_waits_while_the_hasher_rereads_a_resumed_prefix() {
        let (_dir, s) = shared(128 << 20, true);
        s.hashed.store(1 << 20, Ordering::Release);
        assert!(!s.ahead_of_hasher(200 << 20), "the download goes on beside the re-read");
        s.hashed.store(128 << 20, Ordering::Release);
        assert!(s.ahead_of_hasher((128 << 20) + PENDING_LIMIT));
    }

    #[test]
    fn only_chunks_the_hasher_needs_soon_are_kept_in_memory() {
        let (_dir, s) = shared(0, true);
        s.offer(0, Bytes::from_static(b"near"));
        s.offer(PENDING_LIMIT - 1, Bytes::from_static(b"straddles"));
        s.offer(PENDING_LIMIT, Bytes::from_static(b"too far"));
        assert_eq!(s.take_pending(0), (Some(Bytes::from_static(b"near")), Some(PENDING_LIMIT - 1)));
        assert_eq!(s.take_pending(PENDING_LIMIT - 1).0, Some(Bytes::from_static(b"straddles")));
        assert_eq!(s.take_pending(PENDING_LIMIT), (None, None), "beyond: read back later");
    }

    #[tokio::test]
    async fn a_stopped_hasher_releases_the_workers_waiting_for_it() {
        let (_dir, s) = shared(0, true);
        let s = Arc::new(s);
        let waiting = {
            let s = Arc::clone(&s);
            tokio::spawn(async move { s.keep_pace(SIZE - 1).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "a busy hasher holds the worker back");
        // The hasher stops without moving again (failed, or panicked: its guard drops either way).
        drop(ReleaseWorkers(&s));
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the worker was released")
            .unwrap();
    }

    #[test]
    fn parts_cover_the_rest_of_the_file_exactly() {
        let parts = split(5, 100, 30);
        let bounds: Vec<(u64, u64)> = parts.iter().map(|p| (p.start, p.end)).collect();
        assert_eq!(bounds, vec![(5, 35), (35, 65), (65, 95), (95, 100)]);
        assert!(split(100, 100, 30).is_empty());
    }

    #[test]
    fn adopted_ranges_fill_the_parts_they_cover() {
        let mut parts = split(0, 100, 30);
        prefill(&mut parts, &[(0, 10), (30, 70), (95, 100)]);
        let written: Vec<u64> =
            parts.iter().map(|p| p.written.load(std::sync::atomic::Ordering::Relaxed)).collect();
        assert_eq!(written, vec![10, 30, 10, 0], "a range only counts from a part's start");
    }

    #[test]
    fn content_ranges_are_parsed() {
        assert_eq!(parse_content_range("bytes 10-19/100"), Some((10, Some(100))));
        assert_eq!(parse_content_range("bytes 0-0/*"), Some((0, None)));
        assert_eq!(parse_content_range("items 0-1/2"), None);
    }
}
