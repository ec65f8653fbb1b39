//! The git-lfs batch API (`…/info/lfs/objects/batch`), the verify action and the multipart
//! completion endpoint.
//!
//! Uploads below the multipart threshold get a `basic` signed CDN PUT; at or above it, when the
//! client offers `multipart`, every object of the batch gets `chunk_size` plus one signed part
//! URL per chunk and a signed completion URL on the hub; without `multipart` the object gets a
//! 422 error telling the user to run `hub-cli lfs-enable-largefiles`.

use std::{
    fs,
    io::{Read, Write},
    sync::Arc,
};

use http_body_util::BodyExt;
use hyper::{Request, body::Incoming, header};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    http_util::{Resp, finish, header_safe, internal_error, json_with, status},
    lfs_store::{IO_CHUNK, is_sha256},
    repo::Repo,
    state::{Auth, ReadAccess, State},
    util::hex,
};

const LFS_JSON: &str = "application/vnd.git-lfs+json";
/// Request bodies of the JSON endpoints are capped at this size.
const MAX_JSON_BODY: usize = 64 * 1024 * 1024;

fn lfs_json(code: u16, value: &Value) -> Resp {
    json_with(status(code).header(header::CONTENT_TYPE, LFS_JSON), value)
}

/// An LFS error: `{"message"}` (git-lfs) plus `{"error"}` and `X-Error-*` (huggingface_hub).
fn lfs_error(code: u16, error_code: Option<&str>, message: &str) -> Resp {
    let mut builder = status(code).header("X-Error-Message", header_safe(message));
    if let Some(error_code) = error_code {
        builder = builder.header("X-Error-Code", error_code);
    }
    if code == 401 {
        builder = builder
            .header(header::WWW_AUTHENTICATE, "Basic realm=\"testhub\"")
            .header("LFS-Authenticate", "Basic realm=\"testhub\"");
    }
    finish(
        builder.header(header::CONTENT_TYPE, LFS_JSON),
        crate::body::full(json!({"message": message, "error": message}).to_string()),
    )
}

pub(crate) async fn read_body(req: Request<Incoming>) -> Result<Vec<u8>, Resp> {
    let mut body = req.into_body();
    let mut data = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| lfs_error(400, None, &format!("cannot read request body: {e}")))?;
        if let Ok(chunk) = frame.into_data() {
            data.extend_from_slice(&chunk);
            if data.len() > MAX_JSON_BODY {
                return Err(lfs_error(413, None, "request body too large"));
            }
        }
    }
    Ok(data)
}

#[derive(Deserialize)]
struct BatchRequest {
    operation: String,
    #[serde(default)]
    transfers: Vec<String>,
    objects: Vec<BatchObject>,
}

#[derive(Deserialize)]
struct BatchObject {
    oid: String,
    size: u64,
}

fn part_count(size: u64, chunk: u64) -> u64 {
    size.div_ceil(chunk.max(1))
}

pub(crate) async fn batch(
    state: &Arc<State>,
    req: Request<Incoming>,
    repo: &Repo,
    auth: &Auth,
) -> Resp {
    if req.method() != hyper::Method::POST {
        return lfs_error(405, None, "Method not allowed");
    }
    let body = match read_body(req).await {
        Ok(b) => b,
        Err(res) => return res,
    };
    let request: BatchRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return lfs_error(422, None, &format!("invalid batch request: {e}")),
    };
    let upload = match request.operation.as_str() {
        "upload" => true,
        "download" => false,
        other => return lfs_error(422, None, &format!("unknown operation `{other}`")),
    };
    let anonymous = auth.user().is_none();
    if upload {
        if anonymous {
            return lfs_error(401, None, "Authentication required to upload");
        }
        if state.meta(repo).is_none() {
            return lfs_error(404, Some("RepoNotFound"), "Repository not found");
        }
        if !state.can_write(repo, auth) {
            return lfs_error(403, None, "You are not authorized to push to this repository");
        }
    } else {
        match state.read_access(repo, auth) {
            ReadAccess::Granted => (),
            ReadAccess::NotFound if anonymous => {
                return lfs_error(401, Some("RepoNotFound"), "Repository not found");
            }
            ReadAccess::NotFound => {
                return lfs_error(404, Some("RepoNotFound"), "Repository not found");
            }
            ReadAccess::GatedAnonymous => {
                return lfs_error(401, Some("GatedRepo"), "Gated repository: log in");
            }
            ReadAccess::GatedDenied => {
                return lfs_error(
                    403,
                    Some("GatedRepo"),
                    "You are not in the authorized list of this gated repository",
                );
            }
        }
    }
    let mut limits = state.limits();
    if let Some(threshold) = state.meta(repo).and_then(|m| m.multipart_threshold) {
        limits.multipart_threshold = threshold;
    }
    let lifetime = state.url_lifetime().as_secs();
    let offers_multipart = request.transfers.iter().any(|t| t == "multipart");
    let any_large = upload
        && request.objects.iter().any(|o| {
            o.size >= limits.multipart_threshold && state.lfs.size_of(&o.oid) != Some(o.size)
        });
    let multipart = offers_multipart && any_large;
    let repo_url = format!("{}/{}.git", state.endpoint, repo.url_path());
    let mut objects = Vec::new();
    for obj in &request.objects {
        let (oid, size) = (obj.oid.as_str(), obj.size);
        if !is_sha256(oid) {
            objects.push(json!({"oid": oid, "size": size, "error": {"code": 422, "message": "invalid object id: expected a sha256"}}));
            continue;
        }
        let stored = state.lfs.size_of(oid);
        if !upload {
            if stored.is_none() {
                objects.push(json!({"oid": oid, "size": size, "error": {"code": 404, "message": "Object does not exist"}}));
                continue;
            }
            let href = format!("{}/lfs/{oid}?{}", state.cdn_url, state.sign("GET", oid));
            objects.push(json!({"oid": oid, "size": size, "authenticated": true,
                "actions": {"download": {"href": href, "expires_in": lifetime}}}));
            continue;
        }
        if stored == Some(size) {
            objects.push(json!({"oid": oid, "size": size, "authenticated": true}));
            continue;
        }
        let verify =
            json!({"href": format!("{repo_url}/info/lfs/objects/verify"), "expires_in": lifetime});
        if multipart {
            let chunk = limits.chunk_size.max(1);
            let mut header = serde_json::Map::new();
            header.insert("chunk_size".to_owned(), Value::String(chunk.to_string()));
            for n in 1..=part_count(size, chunk) {
                let object = format!("part:{oid}:{size}:{chunk}:{n}");
                let url = format!(
                    "{}/part/{oid}/{size}/{chunk}/{n}?{}",
                    state.cdn_url,
                    state.sign("PUT", &object)
                );
                header.insert(n.to_string(), Value::String(url));
            }
            let object = format!("complete:{oid}:{size}:{chunk}");
            let href = format!(
                "{repo_url}/info/lfs/objects/complete/{oid}?size={size}&chunk={chunk}&{}",
                state.sign("POST", &object)
            );
            objects.push(json!({"oid": oid, "size": size, "authenticated": true,
                "actions": {"upload": {"href": href, "header": header, "expires_in": lifetime}, "verify": verify}}));
        } else if size >= limits.multipart_threshold {
            let message = format!(
                "Your push was rejected because it contains a file of {size} bytes, at or above the {} byte \
                 multipart threshold. To push it, run `hub-cli lfs-enable-largefiles .` (or \
                 `huggingface-cli lfs-enable-largefiles .`) in your clone and push again.",
                limits.multipart_threshold
            );
            objects.push(
                json!({"oid": oid, "size": size, "error": {"code": 422, "message": message}}),
            );
        } else {
            let object = format!("{oid}:{size}");
            let href =
                format!("{}/upload/{oid}/{size}?{}", state.cdn_url, state.sign("PUT", &object));
            objects.push(json!({"oid": oid, "size": size, "authenticated": true,
                "actions": {"upload": {"href": href, "expires_in": lifetime}, "verify": verify}}));
        }
    }
    let transfer = if multipart { "multipart" } else { "basic" };
    lfs_json(200, &json!({"transfer": transfer, "objects": objects, "hash_algo": "sha256"}))
}

#[derive(Deserialize)]
struct VerifyRequest {
    oid: String,
    size: u64,
}

pub(crate) async fn verify(state: &Arc<State>, req: Request<Incoming>, repo: &Repo) -> Resp {
    if req.method() != hyper::Method::POST {
        return lfs_error(405, None, "Method not allowed");
    }
    if state.meta(repo).is_none() {
        return lfs_error(404, Some("RepoNotFound"), "Repository not found");
    }
    let body = match read_body(req).await {
        Ok(b) => b,
        Err(res) => return res,
    };
    let request: VerifyRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return lfs_error(422, None, &format!("invalid verify request: {e}")),
    };
    match state.lfs.size_of(&request.oid) {
        Some(size) if size == request.size => {
            lfs_json(200, &json!({"oid": request.oid, "size": size}))
        }
        Some(size) => lfs_error(
            404,
            None,
            &format!("object {} has size {size}, not {}", request.oid, request.size),
        ),
        None => lfs_error(404, None, &format!("object {} is not stored", request.oid)),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompletePart {
    part_number: u64,
    etag: String,
}

#[derive(Deserialize)]
struct CompleteRequest {
    oid: String,
    parts: Vec<CompletePart>,
}

fn query_param<'a>(query: Option<&'a str>, key: &str) -> Option<&'a str> {
    query?
        .split('&')
        .find_map(|pair| pair.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v))
}

pub(crate) fn normalize_etag(etag: &str) -> &str {
    etag.trim().trim_start_matches("W/").trim_matches('"')
}

pub(crate) async fn complete(
    state: &Arc<State>,
    req: Request<Incoming>,
    repo: &Repo,
    oid: &str,
) -> Resp {
    if req.method() != hyper::Method::POST {
        return lfs_error(405, None, "Method not allowed");
    }
    if state.meta(repo).is_none() {
        return lfs_error(404, Some("RepoNotFound"), "Repository not found");
    }
    let query = req.uri().query().map(str::to_owned);
    let size = query_param(query.as_deref(), "size").and_then(|s| s.parse::<u64>().ok());
    let chunk = query_param(query.as_deref(), "chunk").and_then(|s| s.parse::<u64>().ok());
    let (Some(size), Some(chunk)) = (size, chunk) else {
        return lfs_error(400, None, "completion URL lacks size or chunk");
    };
    if !is_sha256(oid) || chunk == 0 {
        return lfs_error(400, None, "invalid completion URL");
    }
    if let Err(e) =
        state.signer.verify("POST", &format!("complete:{oid}:{size}:{chunk}"), query.as_deref())
    {
        return lfs_error(403, None, e.message());
    }
    let body = match read_body(req).await {
        Ok(b) => b,
        Err(res) => return res,
    };
    let request: CompleteRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return lfs_error(400, None, &format!("invalid completion request: {e}")),
    };
    if request.oid != oid {
        return lfs_error(
            400,
            None,
            &format!("completion body is for {}, URL is for {oid}", request.oid),
        );
    }
    let expected = part_count(size, chunk);
    if request.parts.len() as u64 != expected {
        return lfs_error(
            400,
            None,
            &format!("expected {expected} parts, got {}", request.parts.len()),
        );
    }
    let mut parts = request.parts;
    parts.sort_by_key(|p| p.part_number);
    let dir = state.lfs.parts_dir(oid, size, chunk);
    for (idx, part) in parts.iter().enumerate() {
        let n = idx as u64 + 1;
        if part.part_number != n {
            return lfs_error(
                400,
                None,
                &format!("part numbers must be 1..={expected}; part {n} is missing"),
            );
        }
        let Ok(stored) = fs::read_to_string(dir.join(format!("{n}.etag"))) else {
            return lfs_error(400, None, &format!("part {n} was never uploaded"));
        };
        if normalize_etag(&stored) != normalize_etag(&part.etag) {
            return lfs_error(400, None, &format!("etag mismatch for part {n}"));
        }
    }
    let assembled = {
        let (state, oid, dir) = (state.clone(), oid.to_owned(), dir.clone());
        tokio::task::spawn_blocking(move || assemble(&state, &oid, size, expected, &dir)).await
    };
    match assembled {
        Ok(Ok(None)) => lfs_json(200, &json!({"oid": oid, "size": size})),
        Ok(Ok(Some(message))) => lfs_error(422, None, &message),
        Ok(Err(e)) => internal_error(&e),
        Err(e) => internal_error(&anyhow::format_err!("assembly task failed: {e}")),
    }
}

/// Concatenates the parts, checks size and sha256, stores the object; `Some(message)` on mismatch.
fn assemble(
    state: &State,
    oid: &str,
    size: u64,
    parts: u64,
    dir: &std::path::Path,
) -> anyhow::Result<Option<String>> {
    let mut tmp = tempfile::NamedTempFile::new_in(state.lfs.tmp_dir())?;
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    let mut buf = vec![0u8; IO_CHUNK];
    for n in 1..=parts {
        let mut part = fs::File::open(dir.join(n.to_string()))?;
        loop {
            let read = part.read(&mut buf)?;
            if read == 0 {
                break;
            }
            hasher.update(&buf[..read]);
            tmp.write_all(&buf[..read])?;
            total += read as u64;
        }
    }
    if total != size {
        return Ok(Some(format!("assembled object has {total} bytes, expected {size}")));
    }
    let actual = hex(&hasher.finalize());
    if actual != oid {
        return Ok(Some(format!("assembled object has sha256 {actual}, expected {oid}")));
    }
    state.lfs.persist(tmp, oid)?;
    let _ = fs::remove_dir_all(dir);
    Ok(None)
}
