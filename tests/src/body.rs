//! Response bodies: small in-memory ones, and file slices: mapped into memory and handed to the
//! connection as they are, which sends them with `sendfile` (as a CDN sends files, without
//! copying them through a buffer: [`crate::sendfile`]), or,
//! with body faults (drop, throttle, corrupt, trickle, stall, short) to apply, streamed from a
//! blocking reader thread in chunks of up to 1 MiB.

use std::{
    fs,
    io::{self, Read, Seek, SeekFrom},
    path::PathBuf,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full, combinators::UnsyncBoxBody};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::mpsc;

use crate::{faults::BodyFaults, lfs_store::IO_CHUNK, sendfile::MappedFile};

/// The body type of every response.
pub(crate) type Body = UnsyncBoxBody<Bytes, io::Error>;

pub(crate) fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

pub(crate) fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into()).map_err(|never| match never {}).boxed_unsync()
}

/// A body fed from a channel; an `Err` item aborts the connection.
#[derive(Debug)]
pub(crate) struct ChannelBody {
    rx: mpsc::Receiver<io::Result<Bytes>>,
}

impl ChannelBody {
    pub(crate) fn channel(capacity: usize) -> (mpsc::Sender<io::Result<Bytes>>, Body) {
        let (tx, rx) = mpsc::channel(capacity);
        (tx, ChannelBody { rx }.boxed_unsync())
    }
}

impl HttpBody for ChannelBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(data))) => Poll::Ready(Some(Ok(Frame::data(data)))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Wraps a body and counts the data bytes handed to the connection.
#[derive(Debug)]
pub(crate) struct CountingBody {
    inner: Body,
    entry: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
}

impl CountingBody {
    pub(crate) fn wrap(inner: Body, entry: Arc<AtomicU64>, total: Arc<AtomicU64>) -> Body {
        CountingBody { inner, entry, total }.boxed_unsync()
    }
}

impl HttpBody for CountingBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        let res = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &res
            && let Some(data) = frame.data_ref()
        {
            let n = data.len() as u64;
            self.entry.fetch_add(n, Ordering::Relaxed);
            self.total.fetch_add(n, Ordering::Relaxed);
        }
        res
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Streams bytes `start..end` of the file at `path` with `faults` applied.
pub(crate) fn stream_file(path: PathBuf, start: u64, end: u64, faults: BodyFaults) -> Body {
    if faults.is_none()
        && let Some(mapped) = map_file(&path, start, end)
    {
        return mapped;
    }
    let (tx, body) = ChannelBody::channel(4);
    tokio::task::spawn_blocking(move || {
        if let Err(e) = produce(&path, start, end, faults, &tx) {
            let _ = tx.blocking_send(Err(e));
        }
    });
    body
}

/// Bytes `start..end` of the file at `path` as one mapped frame, or `None` when it cannot be
/// mapped (then the caller streams it).
fn map_file(path: &PathBuf, start: u64, end: u64) -> Option<Body> {
    let file = fs::File::open(path).ok()?;
    let len = usize::try_from(end.checked_sub(start)?).ok()?;
    // SAFETY: the files served (LFS objects, cached git blobs, both named by their hash) are
    // immutable: each is written to a temporary file and renamed into place, never written or
    // truncated after, so the mapping stays valid and unchanged while the body holds it.
    #[allow(unsafe_code, reason = "memory-mapping a file has no safe interface")]
    let map = unsafe { memmap2::MmapOptions::new().offset(start).len(len).map(&file) }.ok()?;
    let _ = map.advise(memmap2::Advice::Sequential);
    Some(full(Bytes::from_owner(MappedFile::new(map, file, start))))
}

fn produce(
    path: &PathBuf,
    start: u64,
    end: u64,
    faults: BodyFaults,
    tx: &mpsc::Sender<io::Result<Bytes>>,
) -> io::Result<()> {
    let mut file = fs::File::open(path)?;
    file.seek(SeekFrom::Start(start))?;
    // `short_body`: the body ends here, short of the Content-Length already sent.
    let stop = faults.short_by.map_or(end, |n| end - n.min(end - start));
    let began = Instant::now();
    // When the trickle began, and how much was sent since.
    let mut trickling: Option<(Instant, u64)> = None;
    let mut pos = start;
    let mut sent = 0u64;
    while pos < stop {
        let trickle = faults.trickle.filter(|t| sent >= t.after_bytes);
        if trickle.is_some() && trickling.is_none() {
            trickling = Some((Instant::now(), 0));
        }
        let rate = trickle.map(|t| t.bytes_per_sec).or(faults.throttle_bytes_per_sec);
        let chunk_cap = match rate {
            Some(rate) => (rate / 20).clamp(1, IO_CHUNK as u64),
            None => IO_CHUNK as u64,
        };
        let mut n = chunk_cap.min(stop - pos);
        if let Some(t) = faults.trickle
            && sent < t.after_bytes
        {
            n = n.min(t.after_bytes - sent);
        }
        if let Some(limit) = faults.stall_after_bytes {
            if sent >= limit {
                return stall(tx);
            }
            n = n.min(limit - sent);
        }
        if let Some(limit) = faults.drop_after_bytes {
            if sent >= limit {
                // Let hyper flush what it has before the connection is cut.
                std::thread::sleep(Duration::from_millis(50));
                return Err(io::Error::other("testhub fault: connection dropped"));
            }
            n = n.min(limit - sent);
        }
        let mut buf = vec![0u8; n as usize];
        file.read_exact(&mut buf)?;
        if let Some(off) = faults.corrupt_offset
            && off >= pos
            && off < pos + n
        {
            buf[(off - pos) as usize] ^= 0xff;
        }
        let due = match (trickling, trickle, faults.throttle_bytes_per_sec) {
            (Some((since, done)), Some(t), _) => {
                Some(since + Duration::from_secs_f64(done as f64 / t.bytes_per_sec as f64))
            }
            (_, _, Some(rate)) => Some(began + Duration::from_secs_f64(sent as f64 / rate as f64)),
            _ => None,
        };
        if let Some(wait) = due.and_then(|due| due.checked_duration_since(Instant::now())) {
            std::thread::sleep(wait);
        }
        if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
            return Ok(()); // The client went away.
        }
        pos += n;
        sent += n;
        if let Some((_, done)) = &mut trickling {
            *done += n;
        }
    }
    if stop < end {
        // Let hyper flush what it has: ending short of the Content-Length makes it close the
        // connection at once.
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// How long a stalled body keeps its connection open, at most, before cutting it.
const STALL_LIMIT: Duration = Duration::from_secs(120);

/// Sends nothing more while the client stays (up to [`STALL_LIMIT`]), then cuts the connection.
fn stall(tx: &mpsc::Sender<io::Result<Bytes>>) -> io::Result<()> {
    let began = Instant::now();
    while !tx.is_closed() && began.elapsed() < STALL_LIMIT {
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(io::Error::other("testhub fault: stalled body given up"))
}
