//! `api_json`: the REST answers the client deserializes (repo info with its siblings, tree and
//! commit listings, refs, whoami) and the mapping of error answers to typed errors.
//!
//! The whole input is tried as each model's JSON. For the error mapping, its first two bytes
//! choose the status and the rest is the body.

use http::{HeaderMap, StatusCode};
use hub_api::{GitCommitInfo, HubError, Refs, RepoInfo, TreeEntry, WhoAmI};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The `api_json` target.
pub fn api_json(data: &[u8]) {
    if let Some((info, again)) = round_trip::<RepoInfo>(data) {
        // Unknown fields are kept as JSON values, whose floats need not survive serde_json's
        // round trip bit for bit: the typed fields must.
        assert_eq!(
            (&again.id, &again.sha, again.private, &again.tags, &again.siblings),
            (&info.id, &info.sha, info.private, &info.tags, &info.siblings)
        );
        for sibling in &info.siblings {
            let lfs = sibling.lfs.as_ref();
            assert_eq!(sibling.file_size(), lfs.map(|l| l.size).or(sibling.size));
            assert_eq!(
                sibling.etag(),
                lfs.map(|l| l.sha256.as_str()).or(sibling.blob_id.as_deref())
            );
        }
    }
    if let Some((entries, again)) = round_trip::<Vec<TreeEntry>>(data) {
        assert_eq!(again, entries);
        for entry in &entries {
            assert_eq!(entry.is_file(), entry.kind == "file");
        }
    }
    if let Some((commits, again)) = round_trip::<Vec<GitCommitInfo>>(data) {
        assert_eq!(again, commits);
    }
    if let Some((refs, again)) = round_trip::<Refs>(data) {
        assert_eq!(again, refs);
    }
    if let Some((whoami, again)) = round_trip::<WhoAmI>(data) {
        assert_eq!(
            (&again.name, &again.kind, &again.orgs, &again.auth),
            (&whoami.name, &whoami.kind, &whoami.orgs, &whoami.auth)
        );
        let token = whoami.auth.as_ref().and_then(|a| a.access_token.as_ref());
        assert_eq!(whoami.token(), token);
    }
    error_answer(data);
}

/// Parses `data` as a `T`, writes what parsed and reads it back: both values, for the caller to
/// compare.
fn round_trip<T>(data: &[u8]) -> Option<(T, T)>
where
    T: DeserializeOwned + Serialize + std::fmt::Debug,
{
    let parsed: T = serde_json::from_slice(data).ok()?;
    let written = serde_json::to_vec(&parsed).unwrap_or_else(|e| panic!("{parsed:?}: {e}"));
    let again: T = serde_json::from_slice(&written)
        .unwrap_or_else(|e| panic!("{:?} does not parse: {e}", String::from_utf8_lossy(&written)));
    Some((parsed, again))
}

/// An error answer maps to a typed error that names the URL; any other answer to none.
fn error_answer(data: &[u8]) {
    let [a, b, body @ ..] = data else { return };
    let code = 100 + u16::from_be_bytes([*a, *b]) % 500;
    let Ok(status) = StatusCode::from_u16(code) else { return };
    let url = "https://huggingface.co/api/models/org/name";
    let mapped = HubError::from_response(url, status, &HeaderMap::new(), body);
    assert_eq!(mapped.is_some(), code >= 400, "status {code}");
    if let Some(error) = mapped {
        let shown = error.to_string();
        assert!(shown.contains(url), "{shown:?} does not name the URL");
    }
}
