//! The CDN / storage host: signed GET/HEAD of LFS objects, signed basic-upload PUTs and signed
//! multipart part PUTs. Nothing is served without a valid, unexpired signature; an expired GET
//! is refused with S3's 403 `AccessDenied` XML, as CloudFront and S3 do. A `fail_part`
//! fault refuses the PUTs of one part number (counted as `injected-part-failure`).

use std::{path::Path, sync::Arc};

use http_body_util::BodyExt;
use hyper::{Method, Request, body::Incoming, header};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::{
    faults::Host,
    http_util::{Resp, file_response, hub_error, internal_error, json_with, s3_error, status},
    lfs_store::is_sha256,
    signing::SignatureError,
    state::State,
    util::hex,
};

pub(crate) async fn handle(state: &Arc<State>, req: Request<Incoming>) -> (&'static str, Resp) {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = req.method().clone();
    match (segs.as_slice(), &method) {
        (["lfs", oid], &Method::GET | &Method::HEAD) => {
            let route = if method == Method::HEAD { "cdn-head" } else { "cdn-get" };
            match state.signer.verify("GET", oid, query.as_deref()) {
                Ok(()) => (),
                // What CloudFront / S3 answer to a presigned URL past its expiry.
                Err(SignatureError::Expired) => {
                    return (route, s3_error(403, "AccessDenied", "Request has expired"));
                }
                Err(e) => return (route, hub_error(403, None, e.message())),
            }
            let Some(size) = state.lfs.size_of(oid) else {
                return (route, hub_error(404, None, "No such object"));
            };
            let range = req.headers().get(header::RANGE).and_then(|v| v.to_str().ok());
            let builder = status(200).header(header::ETAG, format!("\"{oid}\""));
            let res = file_response(
                state,
                Host::Cdn,
                builder,
                method == Method::HEAD,
                state.lfs.object_path(oid),
                size,
                range,
            );
            (route, res)
        }
        (["upload", oid, size], &Method::PUT) => {
            let (oid, size) = ((*oid).to_owned(), (*size).to_owned());
            ("cdn-upload", upload(state, req, &oid, &size, query.as_deref()).await)
        }
        (["part", oid, size, chunk, n], &Method::PUT) => {
            let object = format!("part:{oid}:{size}:{chunk}:{n}");
            let parsed = (size.parse::<u64>(), chunk.parse::<u64>(), n.parse::<u64>());
            let oid = (*oid).to_owned();
            if let Err(e) = state.signer.verify("PUT", &object, query.as_deref()) {
                return ("cdn-part", hub_error(403, None, e.message()));
            }
            let (Ok(size), Ok(chunk), Ok(n)) = parsed else {
                return ("cdn-part", hub_error(400, None, "malformed part URL"));
            };
            if let Some(code) = state.faults.take_part_failure(n) {
                return ("injected-part-failure", refuse_part(req, code, n).await);
            }
            ("cdn-part", part(state, req, &oid, size, chunk, n).await)
        }
        _ => ("cdn-not-found", hub_error(404, None, "Not Found")),
    }
}

/// Reads and drops the body of a part PUT, then answers `code` (a `fail_part` fault): the client
/// sees the status, not a connection closed while it was still sending.
async fn refuse_part(req: Request<Incoming>, code: u16, n: u64) -> Resp {
    let mut body = req.into_body();
    while let Some(frame) = body.frame().await {
        if frame.is_err() {
            break;
        }
    }
    hub_error(code, None, &format!("injected failure of part {n} (testhub fault)"))
}

/// Streams the request body to `dest` while hashing; aborts once more than `limit` bytes arrive.
async fn receive(req: Request<Incoming>, dest: &Path, limit: u64) -> Result<(String, u64), Resp> {
    let mut file = tokio::fs::File::create(dest).await.map_err(|e| internal_error(&e.into()))?;
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    let mut body = req.into_body();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| hub_error(400, None, &format!("cannot read request body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            total += data.len() as u64;
            if total > limit {
                return Err(hub_error(
                    400,
                    None,
                    &format!("body is larger than the expected {limit} bytes"),
                ));
            }
            hasher.update(&data);
            file.write_all(&data).await.map_err(|e| internal_error(&e.into()))?;
        }
    }
    file.flush().await.map_err(|e| internal_error(&e.into()))?;
    Ok((hex(&hasher.finalize()), total))
}

async fn upload(
    state: &Arc<State>,
    req: Request<Incoming>,
    oid: &str,
    size: &str,
    query: Option<&str>,
) -> Resp {
    if let Err(e) = state.signer.verify("PUT", &format!("{oid}:{size}"), query) {
        return hub_error(403, None, e.message());
    }
    let Ok(size) = size.parse::<u64>() else { return hub_error(400, None, "malformed upload URL") };
    if !is_sha256(oid) {
        return hub_error(400, None, "malformed upload URL");
    }
    let tmp = match tempfile::NamedTempFile::new_in(state.lfs.tmp_dir()) {
        Ok(t) => t,
        Err(e) => return internal_error(&e.into()),
    };
    let (actual, total) = match receive(req, tmp.path(), size).await {
        Ok(it) => it,
        Err(res) => return res,
    };
    if total != size {
        return hub_error(400, None, &format!("received {total} bytes, expected {size}"));
    }
    if actual != oid {
        return hub_error(400, None, &format!("content has sha256 {actual}, expected {oid}"));
    }
    if let Err(e) = state.lfs.persist(tmp, oid) {
        return internal_error(&e);
    }
    json_with(status(200).header(header::ETAG, format!("\"{oid}\"")), &serde_json::json!({}))
}

async fn part(
    state: &Arc<State>,
    req: Request<Incoming>,
    oid: &str,
    size: u64,
    chunk: u64,
    n: u64,
) -> Resp {
    let parts = size.div_ceil(chunk.max(1));
    if chunk == 0 || n == 0 || n > parts || !is_sha256(oid) {
        return hub_error(400, None, &format!("part {n} is out of range 1..={parts}"));
    }
    let expected = chunk.min(size - (n - 1) * chunk);
    let dir = state.lfs.parts_dir(oid, size, chunk);
    if let Err(e) = tokio::fs::create_dir_all(&dir).await {
        return internal_error(&e.into());
    }
    let tmp = dir.join(format!("{n}.tmp"));
    let (digest, total) = match receive(req, &tmp, expected).await {
        Ok(it) => it,
        Err(res) => return res,
    };
    if total != expected {
        let _ = tokio::fs::remove_file(&tmp).await;
        return hub_error(400, None, &format!("part {n} has {total} bytes, expected {expected}"));
    }
    let etag = format!("\"{}\"", &digest[..32]);
    let renamed = async {
        tokio::fs::rename(&tmp, dir.join(n.to_string())).await?;
        tokio::fs::write(dir.join(format!("{n}.etag")), &etag).await
    };
    if let Err(e) = renamed.await {
        return internal_error(&e.into());
    }
    json_with(status(200).header(header::ETAG, etag), &serde_json::json!({}))
}
