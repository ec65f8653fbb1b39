//! Request bodies: bytes in memory, or a range of a file streamed from disk so that uploading a
//! 5 GB part never holds more than a few hundred KiB of it in memory.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

/// Bytes read from the file per frame.
const PIECE: usize = 512 * 1024;
/// Frames read ahead of the socket, per body.
const READ_AHEAD: usize = 2;

/// What a [`crate::HubRequest`] sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestBody {
    /// Bytes in memory (empty for no body).
    Bytes(Bytes),
    /// A range of a local file, read as it is sent (and read again on a retry).
    File(FileRange),
}

impl Default for RequestBody {
    fn default() -> RequestBody {
        RequestBody::Bytes(Bytes::new())
    }
}

impl From<Bytes> for RequestBody {
    fn from(bytes: Bytes) -> RequestBody {
        RequestBody::Bytes(bytes)
    }
}

impl From<Vec<u8>> for RequestBody {
    fn from(bytes: Vec<u8>) -> RequestBody {
        RequestBody::Bytes(bytes.into())
    }
}

impl From<FileRange> for RequestBody {
    fn from(range: FileRange) -> RequestBody {
        RequestBody::File(range)
    }
}

/// `len` bytes of the file at `path`, from `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileRange {
    /// The file.
    pub path: PathBuf,
    /// Where the range starts.
    pub offset: u64,
    /// How many bytes it has.
    pub len: u64,
}

impl FileRange {
    /// `len` bytes of `path` from `offset`.
    pub fn new(path: impl Into<PathBuf>, offset: u64, len: u64) -> FileRange {
        FileRange { path: path.into(), offset, len }
    }

    /// Opens the file, so that a missing file is an error before anything is sent.
    pub(crate) fn open(&self) -> Result<File, crate::Error> {
        File::open(&self.path).map_err(|source| local_file_error(&self.path, source))
    }
}

pub(crate) fn local_file_error(path: &Path, source: io::Error) -> crate::Error {
    crate::Error::LocalFile { path: path.to_owned(), cause: source }
}

/// The body hyper sends.
#[derive(Debug)]
pub(crate) enum HyperBody {
    Full(Full<Bytes>),
    File(FileBody),
}

impl HyperBody {
    /// The body for `body`; a file range starts a reader thread that stays a few frames ahead
    /// of the socket and stops when the body is dropped.
    pub(crate) fn new(body: &RequestBody) -> Result<HyperBody, crate::Error> {
        match body {
            RequestBody::Bytes(bytes) => Ok(HyperBody::Full(Full::new(bytes.clone()))),
            RequestBody::File(range) => {
                let file = range.open()?;
                let (tx, rx) = mpsc::channel(READ_AHEAD);
                let (offset, len) = (range.offset, range.len);
                tokio::task::spawn_blocking(move || read_range(&file, offset, len, &tx));
                Ok(HyperBody::File(FileBody { rx, remaining: range.len }))
            }
        }
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

fn read_range(file: &File, mut offset: u64, len: u64, tx: &mpsc::Sender<io::Result<Bytes>>) {
    let end = offset.saturating_add(len);
    while offset < end {
        let want = usize::try_from(end - offset).map_or(PIECE, |left| left.min(PIECE));
        let mut buf = vec![0u8; want];
        let frame = match read_at(file, &mut buf, offset) {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file became shorter while it was being sent",
            )),
            Ok(n) => {
                buf.truncate(n);
                offset += n as u64;
                Ok(Bytes::from(buf))
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => Err(e),
        };
        let failed = frame.is_err();
        if tx.blocking_send(frame).is_err() || failed {
            return;
        }
    }
}

/// A file range as a stream of frames, with its exact length announced (so the request has a
/// `Content-Length`, which presigned storage URLs require).
#[derive(Debug)]
pub(crate) struct FileBody {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    remaining: u64,
}

impl Body for HyperBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            HyperBody::Full(full) => Pin::new(full).poll_frame(cx).map_err(|never| match never {}),
            HyperBody::File(file) => {
                if file.remaining == 0 {
                    return Poll::Ready(None);
                }
                match file.rx.poll_recv(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Some(Ok(bytes))) => {
                        file.remaining = file.remaining.saturating_sub(bytes.len() as u64);
                        Poll::Ready(Some(Ok(Frame::data(bytes))))
                    }
                    Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                    Poll::Ready(None) => Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file reader stopped early",
                    )))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            HyperBody::Full(full) => full.is_end_stream(),
            HyperBody::File(file) => file.remaining == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            HyperBody::Full(full) => full.size_hint(),
            HyperBody::File(file) => SizeHint::with_exact(file.remaining),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use http_body_util::BodyExt;

    use super::*;

    async fn collect(body: &RequestBody) -> Result<Vec<u8>, io::Error> {
        let body = HyperBody::new(body).map_err(io::Error::other)?;
        Ok(body.collect().await?.to_bytes().to_vec())
    }

    #[tokio::test]
    async fn a_file_range_streams_exactly_its_bytes() -> Result<(), Box<dyn std::error::Error>> {
        let mut file = tempfile::NamedTempFile::new()?;
        let data: Vec<u8> = (0..3 * PIECE + 17).map(|i| (i % 251) as u8).collect();
        file.write_all(&data)?;
        let range = RequestBody::from(FileRange::new(file.path(), 100, 2 * PIECE as u64 + 5));
        let body = HyperBody::new(&range)?;
        assert_eq!(body.size_hint().exact(), Some(2 * PIECE as u64 + 5));
        assert_eq!(collect(&range).await?, &data[100..100 + 2 * PIECE + 5]);
        let empty = RequestBody::from(FileRange::new(file.path(), 0, 0));
        assert!(collect(&empty).await?.is_empty());
        Ok(())
    }

    #[tokio::test]
    async fn a_range_past_the_end_of_the_file_is_an_error() -> Result<(), Box<dyn std::error::Error>>
    {
        let mut file = tempfile::NamedTempFile::new()?;
        file.write_all(b"short")?;
        let range = RequestBody::from(FileRange::new(file.path(), 2, 10));
        let err = collect(&range).await.err().ok_or("a short file must fail")?;
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let missing = FileRange::new(file.path().with_extension("missing"), 0, 1);
        assert!(matches!(HyperBody::new(&missing.into()), Err(crate::Error::LocalFile { .. })));
        Ok(())
    }
}
