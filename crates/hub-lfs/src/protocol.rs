//! The git-lfs custom transfer protocol (`git-lfs:docs/custom-transfers.md`): one JSON message
//! per line on the agent's stdin and stdout. No I/O here: [`parse_request`] reads a line,
//! [`encode`] writes one; the [`crate::agent`] drives them.
//!
//! ```
//! use hub_lfs::protocol::{Message, Request, encode, parse_request};
//!
//! let init = br#"{"event":"init","operation":"upload","remote":"origin","concurrent":true,"concurrenttransfers":3}"#;
//! assert!(matches!(parse_request(init), Ok(Request::Init(_))));
//! assert_eq!(encode(&Message::InitOk), b"{}\n");
//! ```

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::batch::{Action, Operation};

/// A message git-lfs sends to the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Request {
    /// The first message: what the agent will be asked to do.
    Init(Init),
    /// Send one object.
    Upload(Transfer),
    /// Fetch one object.
    Download(Transfer),
    /// No more work: exit.
    Terminate,
    /// An event this agent does not know.
    Unknown {
        /// Its name.
        event: String,
    },
}

/// The `init` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Init {
    /// Upload or download.
    pub operation: Operation,
    /// The git remote's name.
    #[serde(default)]
    pub remote: String,
    /// Whether git-lfs runs several agents at once.
    #[serde(default)]
    pub concurrent: bool,
    /// How many.
    #[serde(default)]
    pub concurrenttransfers: u32,
}

/// An `upload` or `download` request for one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// The object's sha256.
    pub oid: String,
    /// Its size.
    pub size: u64,
    /// The local file to upload (uploads only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// The batch API's action for the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

/// Why a message cannot be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// Not a JSON object.
    #[error("malformed message from git-lfs ({reason}): {line}")]
    Malformed {
        /// The line, shortened.
        line: String,
        /// What is wrong.
        reason: String,
    },
}

fn malformed(line: &[u8], reason: impl ToString) -> ProtocolError {
    let mut text = String::from_utf8_lossy(line).trim_end().to_owned();
    if text.len() > 200 {
        let cut = (0..=200).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        text.truncate(cut);
        text.push('…');
    }
    ProtocolError::Malformed { line: text, reason: reason.to_string() }
}

/// Parses one line from git-lfs. Unknown fields are ignored; an unknown event is
/// [`Request::Unknown`], for the caller to decide.
pub fn parse_request(line: &[u8]) -> Result<Request, ProtocolError> {
    let value: Value = serde_json::from_slice(line).map_err(|e| malformed(line, e))?;
    let Some(object) = value.as_object() else {
        return Err(malformed(line, "not a JSON object"));
    };
    // Early agents were sent `{"type": "terminate"}`; the seed's agent accepts both.
    let name = |key: &str| object.get(key).and_then(Value::as_str);
    let Some(event) = name("event").or_else(|| name("type")) else {
        return Err(malformed(line, "no `event` field"));
    };
    let parse = |what: &str| -> Result<Transfer, ProtocolError> {
        serde_json::from_value(value.clone())
            .map_err(|e| malformed(line, format!("invalid {what} request: {e}")))
    };
    Ok(match event {
        "init" => Request::Init(
            serde_json::from_value(value.clone())
                .map_err(|e| malformed(line, format!("invalid init: {e}")))?,
        ),
        "upload" => Request::Upload(parse("upload")?),
        "download" => Request::Download(parse("download")?),
        "terminate" => Request::Terminate,
        other => Request::Unknown { event: other.to_owned() },
    })
}

/// An error reported to git-lfs, for `init` or for one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferError {
    /// A code: the HTTP status when there is one.
    pub code: i64,
    /// What went wrong, for the person pushing.
    pub message: String,
}

/// A message the agent sends to git-lfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `init` succeeded: `{}`.
    InitOk,
    /// `init` failed.
    InitError(TransferError),
    /// Bytes of an object have been transferred.
    Progress {
        /// The object.
        oid: String,
        /// All bytes so far; the last one equals the size.
        bytes_so_far: u64,
        /// Bytes since the previous progress message.
        bytes_since_last: u64,
    },
    /// An object is done, or failed.
    Complete {
        /// The object.
        oid: String,
        /// For a download: where the object was written.
        path: Option<PathBuf>,
        /// Why it failed.
        error: Option<TransferError>,
    },
}

/// Encodes `message` as one line, `\n` included.
pub fn encode(message: &Message) -> Vec<u8> {
    let value = match message {
        Message::InitOk => json!({}),
        Message::InitError(error) => json!({ "error": error }),
        Message::Progress { oid, bytes_so_far, bytes_since_last } => json!({
            "event": "progress",
            "oid": oid,
            "bytesSoFar": bytes_so_far,
            "bytesSinceLast": bytes_since_last,
        }),
        Message::Complete { oid, path, error } => {
            let mut value = json!({ "event": "complete", "oid": oid });
            if let Some(path) = path {
                value["path"] = json!(path);
            }
            if let Some(error) = error {
                value["error"] = json!(error);
            }
            value
        }
    };
    let mut line = value.to_string().into_bytes();
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What git-lfs 3.x writes, keys sorted as Go's encoder sorts a map: "10" before "2".
    const UPLOAD: &[u8] = br#"{"event":"upload","oid":"bf3e3e2af9366a3b704ae0c31de5afa64193ebabffde2091936ad2e7510bc03a","size":346232,"path":"/home/u/repo/.git/lfs/objects/bf/3e/bf3e3e2af9366a3b704ae0c31de5afa64193ebabffde2091936ad2e7510bc03a","action":{"href":"https://hub/complete","header":{"1":"https://s3/1","10":"https://s3/10","2":"https://s3/2","chunk_size":"32000"},"expires_in":86400},"unknown":{"future":true}}"#;

    #[test]
    fn git_lfs_messages_parse() -> Result<(), ProtocolError> {
        let init = parse_request(
            br#"{"event":"init","operation":"upload","remote":"origin","concurrent":true,"concurrenttransfers":3}"#,
        )?;
        assert_eq!(
            init,
            Request::Init(Init {
                operation: Operation::Upload,
                remote: "origin".into(),
                concurrent: true,
                concurrenttransfers: 3
            })
        );
        let Request::Upload(upload) = parse_request(UPLOAD)? else {
            panic!("not an upload");
        };
        assert_eq!(upload.size, 346_232);
        assert!(upload.path.is_some_and(|p| p.ends_with(&upload.oid)));
        let action = upload.action.unwrap_or_default();
        assert_eq!(action.header.get("10").map(String::as_str), Some("https://s3/10"));
        assert_eq!(action.expires_in, Some(86400));

        let download = parse_request(
            br#"{"event":"download","oid":"ab","size":3,"action":{"href":"https://cdn/ab"}}"#,
        )?;
        assert!(matches!(download, Request::Download(Transfer { path: None, .. })));
        assert_eq!(parse_request(br#"{"event":"terminate"}"#)?, Request::Terminate);
        assert_eq!(parse_request(b"{\"type\":\"terminate\"}\n")?, Request::Terminate);
        assert_eq!(
            parse_request(br#"{"event":"lock","oid":"x"}"#)?,
            Request::Unknown { event: "lock".into() }
        );
        Ok(())
    }

    #[test]
    fn malformed_lines_say_what_is_wrong() {
        for (line, reason) in [
            (&b"not json"[..], "expected"),
            (b"[1,2]", "not a JSON object"),
            (b"{\"oid\":\"x\"}", "no `event`"),
            (b"{\"event\":\"upload\",\"oid\":\"x\"}", "invalid upload request"),
            (b"{\"event\":\"init\",\"operation\":\"sideways\"}", "invalid init"),
        ] {
            match parse_request(line) {
                Err(e) => assert!(e.to_string().contains(reason), "{e}"),
                Ok(r) => panic!("{r:?} parsed"),
            }
        }
        let long = format!("{{\"event\": {}", "é".repeat(500));
        let message = parse_request(long.as_bytes()).err().map(|e| e.to_string());
        assert!(message.is_some_and(|m| m.len() < 400));
    }

    #[test]
    fn messages_encode_as_git_lfs_reads_them() {
        assert_eq!(encode(&Message::InitOk), b"{}\n");
        let error = TransferError { code: 32, message: "no".into() };
        assert_eq!(
            encode(&Message::InitError(error.clone())),
            b"{\"error\":{\"code\":32,\"message\":\"no\"}}\n"
        );
        assert_eq!(
            encode(&Message::Progress { oid: "a".into(), bytes_so_far: 10, bytes_since_last: 4 }),
            b"{\"bytesSinceLast\":4,\"bytesSoFar\":10,\"event\":\"progress\",\"oid\":\"a\"}\n"
        );
        assert_eq!(
            encode(&Message::Complete { oid: "a".into(), path: None, error: None }),
            b"{\"event\":\"complete\",\"oid\":\"a\"}\n"
        );
        let failed = encode(&Message::Complete { oid: "a".into(), path: None, error: Some(error) });
        assert_eq!(
            failed,
            b"{\"error\":{\"code\":32,\"message\":\"no\"},\"event\":\"complete\",\"oid\":\"a\"}\n"
        );
        let downloaded = encode(&Message::Complete {
            oid: "a".into(),
            path: Some("/tmp/x".into()),
            error: None,
        });
        assert_eq!(downloaded, b"{\"event\":\"complete\",\"oid\":\"a\",\"path\":\"/tmp/x\"}\n");
    }
}
