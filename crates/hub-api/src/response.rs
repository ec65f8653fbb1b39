//! What [`HubClient::send`](crate::HubClient::send) answers with: the body of a response, read
//! chunk by chunk, each wait for more bytes bounded by the client's read timeout.

use std::fmt;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::Error;

/// The body of an answer to [`HubClient::send`](crate::HubClient::send).
///
/// Read it with [`ResponseBody::chunk`] as it arrives (a download into a file), or whole with
/// [`ResponseBody::bytes`]. Each wait for more bytes is bounded by the client's read timeout
/// ([`ClientBuilder::timeouts`](crate::ClientBuilder::timeouts)): a link that stalls
/// fails with [`Error::Timeout`] rather than hanging.
pub struct ResponseBody {
    body: Incoming,
    url: String,
    read_timeout: Duration,
}

impl ResponseBody {
    pub(crate) fn new(body: Incoming, url: &str, read_timeout: Duration) -> ResponseBody {
        ResponseBody { body, url: url.to_owned(), read_timeout }
    }

    /// The next bytes of the body; `None` at its end.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when no byte came within the read timeout, [`Error::Network`] when the
    /// connection failed.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            let frame = tokio::time::timeout(self.read_timeout, self.body.frame())
                .await
                .map_err(|_| Error::Timeout { url: self.url.clone() })?;
            match frame {
                None => return Ok(None),
                Some(Err(e)) => {
                    return Err(Error::Network { url: self.url.clone(), cause: Box::new(e) });
                }
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) if !data.is_empty() => return Ok(Some(data)),
                    // Trailers, or an empty frame.
                    _ => {}
                },
            }
        }
    }

    /// The body, at most its first `limit` bytes (the rest is left unread).
    ///
    /// # Errors
    ///
    /// As [`ResponseBody::chunk`].
    pub async fn bytes(mut self, limit: usize) -> Result<Bytes, Error> {
        let mut collected = BytesMut::new();
        while collected.len() < limit {
            let Some(data) = self.chunk().await? else { break };
            let room = limit - collected.len();
            collected.extend_from_slice(&data[..data.len().min(room)]);
        }
        Ok(collected.freeze())
    }

    /// The URL the body comes from.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("url", &self.url)
            .field("read_timeout", &self.read_timeout)
            .finish_non_exhaustive()
    }
}
