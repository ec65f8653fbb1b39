//! The two listeners (hub and CDN), the per-request bookkeeping (request id, injected
//! failures, auth-leak counting, the request log) and the routing table. A listener closed by
//! the `refuse_connect` fault is bound again on the same address when the fault ends.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use hyper::{Request, body::Incoming, header, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use percent_encoding::percent_decode_str;
use tokio::{net::TcpListener, sync::watch};

use crate::{
    body::CountingBody,
    faults::{Host, Injected, LogEntry, RATE_LIMIT_WINDOW_SECS},
    http_util::{Resp, finish, hub_error, hub_error_with, json, s3_error, status},
    repo::{Repo, RepoType, is_valid_repo_id},
    routes,
    sendfile::SendfileStream,
    state::{Auth, State},
};

/// Binds `addr` again (after a `refuse_connect` fault closed its listener).
fn rebind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Waits until `refused` changes (forever if its sender is gone) or `until` passes.
async fn refusal_changes(
    refused: &mut watch::Receiver<crate::faults::Refused>,
    until: Option<Instant>,
) {
    let deadline = async {
        match until {
            Some(t) => tokio::time::sleep_until(t.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        res = refused.changed() => if res.is_err() { std::future::pending::<()>().await },
        () = deadline => (),
    }
}

/// Accepts connections on `listener` until `shutdown` flips; closes it while the
/// `refuse_connect` fault asks.
pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    host: Host,
    mut shutdown: watch::Receiver<bool>,
) {
    let Ok(addr) = listener.local_addr() else {
        tracing::error!("the {host:?} listener has no address");
        return;
    };
    let mut listener = Some(listener);
    let mut refused = state.faults.watch_refused();
    loop {
        let refusal = refused.borrow_and_update().refuses(host, Instant::now());
        match (&listener, refusal) {
            (Some(_), Some(_)) => {
                listener = None;
                state.faults.listener_closed(host, true);
            }
            (None, None) => match rebind(addr) {
                Ok(l) => {
                    listener = Some(l);
                    state.faults.listener_closed(host, false);
                }
                Err(e) => {
                    tracing::warn!("cannot listen on {addr} again: {e}");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(50)) => continue,
                        _ = shutdown.changed() => return,
                    }
                }
            },
            _ => (),
        }
        let Some(open) = &listener else {
            tokio::select! {
                () = refusal_changes(&mut refused, refusal.flatten()) => continue,
                _ = shutdown.changed() => return,
            }
        };
        let accepted = tokio::select! {
            res = open.accept() => res,
            () = refusal_changes(&mut refused, None) => continue,
            _ = shutdown.changed() => return,
        };
        let (stream, _) = match accepted {
            Ok(it) => it,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(state, host, req).await) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(SendfileStream::new(stream)), service)
                .await
            {
                tracing::debug!("connection ended: {e}");
            }
        });
    }
}

async fn handle(state: Arc<State>, host: Host, req: Request<Incoming>) -> Resp {
    let seq = state.request_seq.fetch_add(1, Ordering::Relaxed);
    let request_id = format!("testhub-{seq:08}");
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let header = |name: header::HeaderName| {
        req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    };
    let range = header(header::RANGE);
    let user_agent = header(header::USER_AGENT).unwrap_or_default();
    let authorization = req.headers().contains_key(header::AUTHORIZATION);
    let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || header(header::CONTENT_LENGTH).is_some_and(|n| n.trim() != "0");

    if host == Host::Hub && path.starts_with("/_testhub/") {
        let mut res = routes::admin::handle(&state, req).await;
        add_request_id(&mut res, &request_id);
        return res;
    }
    if host == Host::Cdn && authorization {
        state.recorder.auth_leak();
    }
    let (route, res) = match state.faults.take_failure(host, &path) {
        Some(injected) => ("injected-failure", injected_response(injected)),
        None => match host {
            Host::Hub => route_hub(&state, req).await,
            Host::Cdn => routes::cdn::handle(&state, req).await,
        },
    };
    let (mut parts, body) = res.into_parts();
    if has_body && matches!(route, "injected-failure" | "invalid-credentials") {
        // Answered without reading the request body: hyper drops the connection afterwards, so
        // say so, or a client reusing it sees a disconnect instead of this answer.
        parts.headers.insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    }
    for (name, value) in state.faults.header_overrides(route) {
        match (
            header::HeaderName::from_bytes(name.as_bytes()),
            header::HeaderValue::from_str(&value),
        ) {
            (Ok(name), Ok(value)) => {
                parts.headers.insert(name, value);
            }
            _ => tracing::warn!("ignoring an invalid header override {name:?}: {value:?}"),
        }
    }
    let bytes = Arc::new(AtomicU64::new(0));
    let body = CountingBody::wrap(body, bytes.clone(), state.recorder.total_counter());
    let entry = LogEntry {
        host,
        method,
        path,
        status: parts.status.as_u16(),
        range,
        bytes_sent: 0,
        authorization,
        user_agent,
    };
    state.recorder.record(route, entry, bytes);
    if let Ok(v) = request_id.parse() {
        parts.headers.insert("x-request-id", v);
    }
    Resp::from_parts(parts, body)
}

/// The answer of an injected fault.
fn injected_response(injected: Injected) -> Resp {
    match injected {
        Injected::Status { status: code, retry_after } => {
            let mut builder = status(code);
            if let Some(secs) = retry_after {
                builder = builder.header(header::RETRY_AFTER, secs.to_string());
            }
            hub_error_with(builder, code, None, "injected failure (testhub fault)")
        }
        Injected::RateLimited { bucket, quota, reset_secs, retry_after } => {
            let mut builder =
                status(429).header("RateLimit", format!("\"{bucket}\";r=0;t={reset_secs}")).header(
                    "RateLimit-Policy",
                    format!("\"fixed window\";\"{bucket}\";q={quota};w={RATE_LIMIT_WINDOW_SECS}"),
                );
            if let Some(secs) = retry_after {
                builder = builder.header(header::RETRY_AFTER, secs.to_string());
            }
            let message = format!(
                "You have been rate-limited: you reached the limit of {quota} '{bucket}' requests \
                 per {} minutes. Retry in {reset_secs} seconds, or log in for a higher limit. \
                 (testhub fault)",
                RATE_LIMIT_WINDOW_SECS / 60
            );
            hub_error_with(builder, 429, None, &message)
        }
        Injected::CdnRefusal { status: code } => {
            let (name, message) = match code {
                403 => ("AccessDenied", "Access Denied"),
                404 => ("NoSuchKey", "The specified key does not exist."),
                500 => ("InternalError", "We encountered an internal error. Please try again."),
                503 => ("SlowDown", "Please reduce your request rate."),
                _ => ("InjectedFailure", "injected failure (testhub fault)"),
            };
            s3_error(code, name, message)
        }
    }
}

fn add_request_id(res: &mut Resp, request_id: &str) {
    if let Ok(v) = request_id.parse() {
        res.headers_mut().insert("x-request-id", v);
    }
}

/// A request for something inside a repository, parsed from the path.
#[derive(Debug)]
pub(crate) struct RepoRequest<'a> {
    pub(crate) repo: Repo,
    pub(crate) dot_git: bool,
    /// The raw (still percent-encoded) path segments after the repo id.
    pub(crate) rest: Vec<&'a str>,
}

fn is_repo_route(rest: &[&str], dot_git: bool) -> bool {
    match rest {
        ["resolve", _, _, ..] => !dot_git,
        ["info", "refs"] | ["git-upload-pack"] | ["git-receive-pack"] => true,
        ["info", "lfs", ..] => true,
        _ => false,
    }
}

/// Splits `/[datasets/|spaces/]{id}[.git]/{rest}` (id of 1 or 2 segments).
pub(crate) fn parse_repo_path(path: &str) -> Option<RepoRequest<'_>> {
    let segs: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    let (repo_type, segs) = match segs.first() {
        Some(&"datasets") => (RepoType::Dataset, &segs[1..]),
        Some(&"spaces") => (RepoType::Space, &segs[1..]),
        _ => (RepoType::Model, &segs[..]),
    };
    for k in [2usize, 1] {
        if segs.len() <= k {
            continue;
        }
        let mut id = segs[..k].join("/");
        let dot_git = id.ends_with(".git");
        if dot_git {
            id.truncate(id.len() - 4);
        }
        let rest = &segs[k..];
        if is_repo_route(rest, dot_git) && is_valid_repo_id(&id) {
            return Some(RepoRequest {
                repo: Repo::new(repo_type, &id),
                dot_git,
                rest: rest.to_vec(),
            });
        }
    }
    None
}

pub(crate) fn decode(segment: &str) -> Option<String> {
    percent_decode_str(segment).decode_utf8().ok().map(|s| s.into_owned())
}

async fn route_hub(state: &Arc<State>, req: Request<Incoming>) -> (&'static str, Resp) {
    let path = req.uri().path().to_owned();
    if path == "/api/agent-harnesses" {
        // What the official client expects when there is nothing to detect; it caches it for a day.
        return (
            "agent-harnesses",
            json(200, &serde_json::json!({"standardEnvVars": [], "harnesses": {}})),
        );
    }
    let auth_header =
        req.headers().get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or("\u{0}").to_owned());
    let auth = state.authenticate(auth_header.as_deref());
    let target = parse_repo_path(&path);
    if auth == Auth::Invalid {
        let mut builder = status(401);
        if target.as_ref().is_some_and(|t| t.rest.first() != Some(&"resolve")) {
            builder = builder
                .header(header::WWW_AUTHENTICATE, "Basic realm=\"testhub\"")
                .header("LFS-Authenticate", "Basic realm=\"testhub\"");
        }
        return (
            "invalid-credentials",
            hub_error_with(builder, 401, None, "Invalid credentials in Authorization header"),
        );
    }
    if path.starts_with("/api/") {
        return routes::api::handle(state, req, &auth).await;
    }
    let Some(target) = target else {
        return ("not-found", hub_error(404, None, "Not Found"));
    };
    if state.meta(&target.repo).is_none()
        && let Some(new) = state.renamed_to(&target.repo)
    {
        let mut location = format!(
            "/{}{}/{}",
            new.url_path(),
            if target.dot_git { ".git" } else { "" },
            target.rest.join("/")
        );
        if let Some(q) = req.uri().query() {
            location.push('?');
            location.push_str(q);
        }
        let builder = status(307).header(header::LOCATION, location);
        return ("redirect", finish(builder, crate::body::empty()));
    }
    let method = req.method().clone();
    let query = req.uri().query().map(str::to_owned);
    let rest: Vec<String> = target.rest.iter().map(|s| (*s).to_owned()).collect();
    let repo = target.repo;
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    match rest.as_slice() {
        ["resolve", tail @ ..] => {
            if method != hyper::Method::GET && method != hyper::Method::HEAD {
                return ("resolve", hub_error(405, None, "Method not allowed"));
            }
            let (rev, file) = match tail {
                ["refs", kind @ ("pr" | "convert"), n, file @ ..] if !file.is_empty() => {
                    (Some(format!("refs/{kind}/{n}")), file)
                }
                [rev, file @ ..] => (decode(rev), file),
                [] => (None, tail),
            };
            let file: Option<Vec<String>> = file.iter().map(|s| decode(s)).collect();
            match (rev, file) {
                (Some(rev), Some(file)) => {
                    let res =
                        routes::resolve::handle(state, &req, &repo, &rev, &file.join("/"), &auth)
                            .await;
                    ("resolve", res)
                }
                _ => ("resolve", hub_error(400, None, "Invalid URL encoding")),
            }
        }
        ["info", "refs"] => {
            let write = query
                .as_deref()
                .is_some_and(|q| q.split('&').any(|p| p == "service=git-receive-pack"));
            (
                "git-info-refs",
                routes::git_http::handle(state, req, &repo, "info/refs", write, &auth).await,
            )
        }
        ["git-upload-pack"] => (
            "git-upload-pack",
            routes::git_http::handle(state, req, &repo, "git-upload-pack", false, &auth).await,
        ),
        ["git-receive-pack"] => (
            "git-receive-pack",
            routes::git_http::handle(state, req, &repo, "git-receive-pack", true, &auth).await,
        ),
        ["info", "lfs", "objects", "batch"] => {
            ("lfs-batch", routes::lfs::batch(state, req, &repo, &auth).await)
        }
        ["info", "lfs", "objects", "verify"] => {
            ("lfs-verify", routes::lfs::verify(state, req, &repo).await)
        }
        ["info", "lfs", "objects", "complete", oid] => {
            let oid = (*oid).to_owned();
            ("lfs-complete", routes::lfs::complete(state, req, &repo, &oid).await)
        }
        _ => ("not-found", hub_error(404, None, "Not Found")),
    }
}
