//! The LFS batch API's messages (`POST …/info/lfs/objects/batch`), as serde types. No I/O:
//! [`crate::LfsClient::batch`] sends them.
//!
//! Unknown fields are ignored, so a server that adds some stays readable.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// The media type of every batch API request and answer.
pub const LFS_MEDIA_TYPE: &str = "application/vnd.git-lfs+json";

/// What a batch asks to do with its objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// Send objects to the server.
    Upload,
    /// Fetch objects from the server.
    Download,
}

impl Operation {
    /// `upload` or `download`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Upload => "upload",
            Operation::Download => "download",
        }
    }
}

/// An object: its sha256 and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectSpec {
    /// The sha256, 64 lowercase hex digits.
    pub oid: String,
    /// The size in bytes.
    pub size: u64,
}

/// The ref a batch is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefSpec {
    /// The ref's name, e.g. `main` or `refs/heads/main`.
    pub name: String,
}

/// A batch request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BatchRequest {
    /// Upload or download.
    pub operation: Operation,
    /// The transfers the client can do, preferred first.
    pub transfers: Vec<String>,
    /// The objects.
    pub objects: Vec<ObjectSpec>,
    /// Always `sha256`.
    pub hash_algo: String,
    /// The ref, when the server should check permissions on it.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub refspec: Option<RefSpec>,
}

impl BatchRequest {
    /// A request offering `basic` and `multipart`, as the Hub's clients do.
    pub fn new(operation: Operation, objects: Vec<ObjectSpec>) -> BatchRequest {
        BatchRequest {
            operation,
            transfers: vec![BASIC.to_owned(), crate::CUSTOM_TRANSFER_NAME.to_owned()],
            objects,
            hash_algo: "sha256".to_owned(),
            refspec: None,
        }
    }

    /// Names the ref the objects are for.
    pub fn with_ref(mut self, name: &str) -> BatchRequest {
        self.refspec = Some(RefSpec { name: name.to_owned() });
        self
    }
}

/// The `basic` transfer: one request per object.
pub const BASIC: &str = "basic";

/// A batch answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BatchResponse {
    /// The transfer the server chose; `basic` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<String>,
    /// One entry per requested object.
    pub objects: Vec<ObjectResponse>,
}

impl BatchResponse {
    /// The transfer the server chose.
    pub fn transfer(&self) -> &str {
        self.transfer.as_deref().unwrap_or(BASIC)
    }
}

/// The server's answer for one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ObjectResponse {
    /// The sha256.
    pub oid: String,
    /// The size.
    pub size: u64,
    /// What to do; absent on upload when the server already has the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Actions>,
    /// Why this object cannot be transferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ObjectError>,
}

/// The actions of an object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Actions {
    /// Where to send the object (for `multipart`: the completion URL, parts in its header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<Action>,
    /// Where to confirm an upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Action>,
    /// Where to fetch the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download: Option<Action>,
}

/// One action: a URL and the headers to send with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// The URL.
    pub href: String,
    /// Headers; for `multipart`, `chunk_size` and one entry per part number.
    #[serde(default, deserialize_with = "string_map", skip_serializing_if = "BTreeMap::is_empty")]
    pub header: BTreeMap<String, String>,
    /// Seconds the URL stays valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    /// When the URL expires (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// Header values as strings, whether the server sent strings or numbers (`"chunk_size": 5`).
fn string_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let raw = Option::<BTreeMap<String, serde_json::Value>>::deserialize(d)?.unwrap_or_default();
    raw.into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k, s)),
            serde_json::Value::Number(n) => Ok((k, n.to_string())),
            other => {
                Err(serde::de::Error::custom(format!("header {k:?} must be a string, not {other}")))
            }
        })
        .collect()
}

/// A per-object error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ObjectError {
    /// An HTTP-like status code.
    pub code: i64,
    /// The server's message.
    pub message: String,
}

/// Encodes a batch request.
pub fn encode_request(request: &BatchRequest) -> Vec<u8> {
    encode(request)
}

/// The JSON of a message this crate sends. Their fields are strings, numbers, lists and maps
/// with string keys, which always serialize: a failure would be a bug of the message type, not
/// something a caller could handle.
pub(crate) fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    serde_json::to_vec(message)
        .expect("LFS messages hold only strings, numbers, lists and string-keyed maps")
}

/// Parses a batch answer.
pub fn parse_response(body: &[u8]) -> Result<BatchResponse, serde_json::Error> {
    serde_json::from_slice(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_what_the_hub_expects() {
        let request = BatchRequest::new(
            Operation::Upload,
            vec![ObjectSpec { oid: "ab".repeat(32), size: 12 }],
        )
        .with_ref("main");
        let expected = format!(
            r#"{{"operation":"upload","transfers":["basic","multipart"],"objects":[{{"oid":"{}","size":12}}],"hash_algo":"sha256","ref":{{"name":"main"}}}}"#,
            "ab".repeat(32)
        );
        assert_eq!(String::from_utf8_lossy(&encode_request(&request)), expected);
        let no_ref = BatchRequest::new(Operation::Download, vec![]);
        assert!(!String::from_utf8_lossy(&encode_request(&no_ref)).contains("ref"));
    }

    #[test]
    fn an_answer_with_multipart_errors_and_unknown_fields_parses() -> Result<(), serde_json::Error>
    {
        let body = br#"{"transfer":"multipart","hash_algo":"sha256","future":{"x":1},
            "objects":[
              {"oid":"a","size":10,"authenticated":true,"actions":{
                 "upload":{"href":"https://hub/complete","header":{"chunk_size":"4","1":"https://s3/1","2":"https://s3/2","3":"https://s3/3"},"expires_in":3600},
                 "verify":{"href":"https://hub/verify"}}},
              {"oid":"b","size":3},
              {"oid":"c","size":7,"error":{"code":422,"message":"too large"}},
              {"oid":"d","size":7,"actions":{"upload":{"href":"https://s3/d","header":{"chunk_size":4}}}}]}"#;
        let answer = parse_response(body)?;
        assert_eq!(answer.transfer(), "multipart");
        let upload = answer.objects[0].actions.as_ref().and_then(|a| a.upload.as_ref());
        assert_eq!(upload.map(|u| u.header.len()), Some(4));
        assert_eq!(upload.and_then(|u| u.header.get("chunk_size")).map(String::as_str), Some("4"));
        assert!(answer.objects[1].actions.is_none() && answer.objects[1].error.is_none());
        assert_eq!(answer.objects[2].error.as_ref().map(|e| e.code), Some(422));
        let numeric = answer.objects[3].actions.as_ref().and_then(|a| a.upload.as_ref());
        assert_eq!(numeric.and_then(|u| u.header.get("chunk_size")).map(String::as_str), Some("4"));

        let basic = parse_response(br#"{"objects":[]}"#)?;
        assert_eq!(basic.transfer(), "basic");
        assert!(parse_response(br#"{"objects":[{"oid":"a","size":-1}]}"#).is_err());
        assert!(
            parse_response(br#"{"objects":[{"oid":"a","size":1,"actions":{"upload":{"href":"h","header":{"x":[]}}}}]}"#)
                .is_err()
        );
        Ok(())
    }
}
