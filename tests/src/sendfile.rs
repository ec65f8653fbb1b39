//! Sending mapped file bodies with `sendfile(2)`, as a CDN does: the kernel moves the bytes from
//! the page cache to the socket, without a copy through the server's memory.
//!
//! hyper has no notion of files: a body is bytes. So a file slice is handed to hyper as a
//! [`MappedFile`], a memory mapping registered here, and the connection ([`SendfileStream`])
//! recognises a write from inside a registered mapping and sends that part of the file with
//! `sendfile` instead of writing the mapped memory (whose pages are then never even touched).
//! Anything else is written as usual. Off Linux, everything is written as usual.

use std::{
    fs::File,
    io,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A registered mapping: `len` bytes at address `start` are `file` from `offset` on.
#[cfg_attr(not(target_os = "linux"), allow(dead_code, reason = "sendfile is Linux's"))]
struct Region {
    start: usize,
    len: usize,
    file: Arc<File>,
    offset: u64,
}

/// The mappings alive now (a few: one per file slice being sent).
static REGIONS: Mutex<Vec<Region>> = Mutex::new(Vec::new());

/// A slice of a file mapped into memory and registered for [`SendfileStream`], as long as it
/// lives.
pub(crate) struct MappedFile {
    map: memmap2::Mmap,
}

impl MappedFile {
    /// Registers `map`, which holds `file` from `offset` on.
    pub(crate) fn new(map: memmap2::Mmap, file: File, offset: u64) -> MappedFile {
        let region =
            Region { start: map.as_ptr() as usize, len: map.len(), file: Arc::new(file), offset };
        if let Ok(mut regions) = REGIONS.lock() {
            regions.push(region);
        }
        MappedFile { map }
    }
}

impl AsRef<[u8]> for MappedFile {
    fn as_ref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        let start = self.map.as_ptr() as usize;
        if let Ok(mut regions) = REGIONS.lock() {
            regions.retain(|r| r.start != start);
        }
    }
}

/// The file and offset that the bytes of `buf` are, when `buf` lies inside a registered mapping.
#[cfg(target_os = "linux")]
fn file_of(buf: &[u8]) -> Option<(Arc<File>, u64)> {
    let (start, end) = (buf.as_ptr() as usize, buf.as_ptr() as usize + buf.len());
    let regions = REGIONS.lock().ok()?;
    regions.iter().find(|r| r.start <= start && end <= r.start + r.len).map(|r| {
        let offset = r.offset + (start - r.start) as u64;
        (Arc::clone(&r.file), offset)
    })
}

/// A TCP connection that sends the bytes of registered mappings with `sendfile`.
pub(crate) struct SendfileStream {
    inner: TcpStream,
}

impl SendfileStream {
    pub(crate) fn new(inner: TcpStream) -> SendfileStream {
        SendfileStream { inner }
    }

    /// Sends `len` bytes of `file` from `offset` on, as far as the socket takes them now.
    #[cfg(target_os = "linux")]
    fn poll_sendfile(
        &self,
        cx: &mut Context<'_>,
        file: &File,
        mut offset: u64,
        len: usize,
    ) -> Poll<io::Result<usize>> {
        loop {
            std::task::ready!(self.inner.poll_write_ready(cx))?;
            let sent = self.inner.try_io(tokio::io::Interest::WRITABLE, || {
                Ok(rustix::fs::sendfile(&self.inner, file, Some(&mut offset), len)?)
            });
            match sent {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => return Poll::Ready(other),
            }
        }
    }
}

impl AsyncRead for SendfileStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for SendfileStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[io::IoSlice::new(buf)])
    }

    /// Writes the slices up to the first one from a registered mapping; that one, when it comes
    /// first, is sent with `sendfile`.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        #[cfg(target_os = "linux")]
        {
            let mapped = bufs
                .iter()
                .enumerate()
                .filter(|(_, b)| !b.is_empty())
                .find_map(|(i, b)| file_of(b).map(|found| (i, found)));
            match mapped {
                Some((0, (file, offset))) => {
                    return self.poll_sendfile(cx, &file, offset, bufs[0].len());
                }
                Some((first, _)) => {
                    return Pin::new(&mut self.inner).poll_write_vectored(cx, &bufs[..first]);
                }
                None => {}
            }
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::io::Write;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// The bytes of a mapping reach the peer through `sendfile`, the others as written, in order.
    #[tokio::test]
    async fn mapped_slices_are_sent_from_the_file() {
        let mut file = tempfile::tempfile().unwrap();
        let content: Vec<u8> = (0..3 * 4096u32).map(|i| (i % 251) as u8).collect();
        file.write_all(&content).unwrap();
        // SAFETY: a private temp file nobody else writes.
        #[allow(unsafe_code, reason = "memory-mapping a file has no safe interface")]
        let map = unsafe { memmap2::MmapOptions::new().offset(4096).len(8192).map(&file) }.unwrap();
        let mapped = MappedFile::new(map, file.try_clone().unwrap(), 4096);
        assert_eq!(file_of(&mapped.as_ref()[100..200]).map(|(_, at)| at), Some(4196));
        assert!(file_of(b"not mapped").is_none());

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = tokio::spawn(async move {
            let (mut peer, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            peer.read_to_end(&mut got).await.unwrap();
            got
        });
        let mut stream = SendfileStream::new(TcpStream::connect(addr).await.unwrap());
        let body = bytes::Bytes::from_owner(mapped);
        stream.write_all(b"head:").await.unwrap();
        stream.write_all(&body).await.unwrap();
        stream.shutdown().await.unwrap();
        drop(stream);
        let got = reader.await.unwrap();
        assert_eq!(&got[..5], b"head:");
        assert_eq!(&got[5..], &content[4096..]);
        let start = body.as_ptr() as usize;
        drop(body);
        let regions = REGIONS.lock().unwrap();
        assert!(!regions.iter().any(|r| r.start == start), "a dropped mapping is unregistered");
    }
}
