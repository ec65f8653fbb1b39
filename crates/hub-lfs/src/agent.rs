//! The git-lfs custom transfer agent (`hub-cli lfs-multipart-upload`): git-lfs starts it, sends
//! one request at a time on its stdin, and reads only protocol JSON from its stdout.
//!
//! Unlike the Python agent, a failed object is reported as that object's error and the agent
//! goes on with the next one; parts are sent concurrently and numbered as numbers; progress is
//! exact, and announced at once so git-lfs starts its other workers.

use std::io;
use std::path::{Path, PathBuf};

use hub_api::Progress;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::batch::ObjectSpec;
use crate::protocol::{Message, ProtocolError, Request, Transfer, TransferError, encode};
use crate::{Error, LfsClient};

/// Why the agent stopped before `terminate`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// A line that is not a protocol message.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The first message was not `init`.
    #[error("git-lfs must start with an `init` message, not {0}")]
    NoInit(String),
    /// An event this agent cannot answer.
    #[error("unexpected event `{0}` from git-lfs; is this agent older than your git-lfs?")]
    UnexpectedEvent(String),
    /// stdin or stdout failed: the operating system's error, whose message is part of this
    /// one's (it is not repeated as a [`source`](std::error::Error::source)).
    #[error("cannot talk to git-lfs: {0}")]
    Io(io::Error),
}

impl From<io::Error> for AgentError {
    fn from(error: io::Error) -> AgentError {
        AgentError::Io(error)
    }
}

/// Answers git-lfs's `init` with `message` as an error, for an agent that cannot start (a bad
/// setting, say): git-lfs shows the message, where it would not show the agent's stderr.
pub async fn refuse_init<R, W>(input: R, mut output: W, message: &str) -> io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut lines = input.lines();
    while let Some(line) = lines.next_line().await? {
        if !line.trim().is_empty() {
            break;
        }
    }
    let error = TransferError { code: 32, message: message.to_owned() };
    send(&mut output, &Message::InitError(error)).await
}

/// What an agent session did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Objects transferred.
    pub completed: usize,
    /// Objects that failed (each reported to git-lfs).
    pub failed: usize,
}

/// The agent: an [`LfsClient`] driven by git-lfs's messages.
#[derive(Debug, Clone)]
pub struct Agent {
    lfs: LfsClient,
    download_dir: Option<PathBuf>,
}

/// Forwards byte counts to the loop that writes progress messages.
struct ChannelProgress(mpsc::UnboundedSender<u64>);

impl Progress for ChannelProgress {
    fn advance(&self, _file: &str, bytes: u64) {
        // The receiver outlives every transfer; a send cannot fail while it runs.
        let _ = self.0.send(bytes);
    }
}

/// An object's error as git-lfs shows it: the HTTP status as the code (1 when there was no
/// answer), and the message with its causes, on one line.
fn transfer_error(e: &Error) -> TransferError {
    TransferError { code: e.status().map_or(1, i64::from), message: with_causes(e) }
}

/// An error's message followed by those of its sources, joined with `: `.
fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}

async fn send<W: AsyncWrite + Unpin>(output: &mut W, message: &Message) -> io::Result<()> {
    output.write_all(&encode(message)).await?;
    output.flush().await
}

impl Agent {
    /// An agent over `lfs`.
    pub fn new(lfs: LfsClient) -> Agent {
        Agent { lfs, download_dir: None }
    }

    /// Where downloaded objects are written for git-lfs to move; by default `.git/lfs/tmp`
    /// when the agent runs at the top of a clone (as git-lfs starts it), else the temp folder.
    pub fn download_dir(mut self, dir: PathBuf) -> Agent {
        self.download_dir = Some(dir);
        self
    }

    /// Serves git-lfs until `terminate` or the end of `input`.
    pub async fn serve<R, W>(&self, input: R, mut output: W) -> Result<Summary, AgentError>
    where
        R: AsyncBufRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let mut lines = input.lines();
        let mut summary = Summary::default();
        let mut initialized = false;
        while let Some(line) = lines.next_line().await? {
            if line.trim().is_empty() {
                continue;
            }
            let request = match crate::protocol::parse_request(line.as_bytes()) {
                Ok(request) => request,
                Err(e) if !initialized => {
                    let error = TransferError { code: 32, message: e.to_string() };
                    send(&mut output, &Message::InitError(error)).await?;
                    return Err(e.into());
                }
                Err(e) => return Err(e.into()),
            };
            let transfer = match (request, initialized) {
                (Request::Init(_), false) => {
                    initialized = true;
                    send(&mut output, &Message::InitOk).await?;
                    continue;
                }
                (other, false) => {
                    let what = format!("{other:?}");
                    let error =
                        TransferError { code: 32, message: "Wrong lfs init operation".into() };
                    send(&mut output, &Message::InitError(error)).await?;
                    return Err(AgentError::NoInit(what));
                }
                (Request::Terminate, true) => return Ok(summary),
                (Request::Upload(t), true) => (t, true),
                (Request::Download(t), true) => (t, false),
                (Request::Init(_), true) => return Err(AgentError::UnexpectedEvent("init".into())),
                (Request::Unknown { event }, true) => {
                    return Err(AgentError::UnexpectedEvent(event));
                }
            };
            let (transfer, upload) = transfer;
            let oid = transfer.oid.clone();
            let result = self.transfer(transfer, upload, &mut output).await?;
            let message = match result {
                Ok(path) => {
                    summary.completed += 1;
                    Message::Complete { oid, path, error: None }
                }
                Err(e) => {
                    summary.failed += 1;
                    let error = transfer_error(&e);
                    tracing::warn!("LFS object {oid} failed: {}", error.message);
                    Message::Complete { oid, path: None, error: Some(error) }
                }
            };
            send(&mut output, &message).await?;
        }
        Ok(summary)
    }

    /// Runs one transfer while writing its progress; the outer error is for stdout failures,
    /// the inner one is the object's.
    async fn transfer<W: AsyncWrite + Unpin>(
        &self,
        transfer: Transfer,
        upload: bool,
        output: &mut W,
    ) -> io::Result<Result<Option<PathBuf>, Error>> {
        let oid = transfer.oid.clone();
        // At once, so git-lfs starts its other workers: it holds them until the first worker
        // reports `bytesSoFar > 0` (as the Python agent does). The byte counts that follow are
        // exact: their `bytesSinceLast` add up to the size, and the last `bytesSoFar` is it.
        let started = Message::Progress {
            oid: oid.clone(),
            bytes_so_far: transfer.size.min(1),
            bytes_since_last: 0,
        };
        send(output, &started).await?;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let progress = ChannelProgress(tx);
        let work = self.run(transfer, upload, &progress);
        tokio::pin!(work);
        let mut so_far = 0u64;
        let result = loop {
            tokio::select! {
                result = &mut work => break result,
                Some(bytes) = rx.recv() => {
                    so_far += bytes;
                    let message = Message::Progress { oid: oid.clone(), bytes_so_far: so_far, bytes_since_last: bytes };
                    send(output, &message).await?;
                }
            }
        };
        while let Ok(bytes) = rx.try_recv() {
            so_far += bytes;
            let message = Message::Progress {
                oid: oid.clone(),
                bytes_so_far: so_far,
                bytes_since_last: bytes,
            };
            send(output, &message).await?;
        }
        Ok(result)
    }

    async fn run(
        &self,
        transfer: Transfer,
        upload: bool,
        progress: &dyn Progress,
    ) -> Result<Option<PathBuf>, Error> {
        let object = ObjectSpec { oid: transfer.oid.clone(), size: transfer.size };
        let missing = |what: &str| Error::InvalidAction {
            oid: transfer.oid.clone(),
            reason: format!("git-lfs sent no {what}"),
        };
        let action = transfer.action.as_ref().ok_or_else(|| missing("action"))?;
        if upload {
            let path = transfer.path.as_deref().ok_or_else(|| missing("path"))?;
            let source = crate::Source::File(path.to_owned());
            self.lfs.upload(&source, &object, action, progress).await?;
            return Ok(None);
        }
        if object.oid.len() != 64 || !object.oid.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(missing("valid object id"));
        }
        let dir = match &self.download_dir {
            Some(dir) => dir.clone(),
            None if Path::new(".git/lfs/tmp").is_dir() => PathBuf::from(".git/lfs/tmp"),
            None => std::env::temp_dir(),
        };
        let dest = dir.join(format!("{}.download", object.oid));
        self.lfs.download(&object, action, &dest, progress).await?;
        let dest = std::path::absolute(&dest).unwrap_or(dest);
        Ok(Some(dest))
    }
}
