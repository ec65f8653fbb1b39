//! `/_testhub/*`: counters, fault injection, run-time knobs and reset, for tests and the Python
//! suite.

use hyper::{Method, Request, body::Incoming};

use crate::{
    faults::{FaultRequest, lock},
    http_util::{Resp, hub_error, json},
    routes::lfs::read_body,
    state::State,
};

/// The JSON body of `POST /_testhub/config`; every key optional (`page_size: null` restores the
/// Hub's page sizes).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigRequest {
    #[serde(default, deserialize_with = "present")]
    page_size: Option<Option<usize>>,
    multipart_threshold: Option<u64>,
    chunk_size: Option<u64>,
}

/// Tells a key given as `null` (`Some(None)`) from an absent one (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<usize>>, D::Error> {
    <Option<usize> as serde::Deserialize>::deserialize(d).map(Some)
}

pub(crate) async fn handle(state: &State, req: Request<Incoming>) -> Resp {
    let path = req.uri().path().to_owned();
    match (req.method().clone(), path.as_str()) {
        (Method::GET, "/_testhub/stats") => match serde_json::to_value(state.recorder.snapshot()) {
            Ok(v) => json(200, &v),
            Err(e) => hub_error(500, None, &e.to_string()),
        },
        (Method::POST, "/_testhub/faults") => {
            let body = match read_body(req).await {
                Ok(b) => b,
                Err(res) => return res,
            };
            let request: FaultRequest = if body.iter().all(u8::is_ascii_whitespace) {
                FaultRequest::default()
            } else {
                match serde_json::from_slice(&body) {
                    Ok(r) => r,
                    Err(e) => return hub_error(400, None, &format!("invalid faults request: {e}")),
                }
            };
            if let Err(e) = request.validate() {
                return hub_error(400, None, &format!("invalid faults request: {e}"));
            }
            let refuses = request.refuses();
            request.apply(&state.faults);
            // Answer once the listeners are closed (or open) as asked, so that the caller's
            // next connection sees it.
            let start = std::time::Instant::now();
            while refuses
                && !state.faults.listeners_match()
                && start.elapsed() < std::time::Duration::from_secs(1)
            {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            json(200, &serde_json::json!({}))
        }
        (Method::POST, "/_testhub/config") => {
            let body = match read_body(req).await {
                Ok(b) => b,
                Err(res) => return res,
            };
            let request: ConfigRequest = match serde_json::from_slice(&body) {
                Ok(r) => r,
                Err(e) => return hub_error(400, None, &format!("invalid config request: {e}")),
            };
            let mut limits = lock(&state.limits);
            if let Some(size) = request.page_size {
                limits.page_size = size.map(|n| n.max(1));
            }
            if let Some(n) = request.multipart_threshold {
                limits.multipart_threshold = n;
            }
            if let Some(n) = request.chunk_size {
                limits.chunk_size = n.max(1);
            }
            json(
                200,
                &serde_json::json!({"page_size": limits.page_size,
                    "multipart_threshold": limits.multipart_threshold, "chunk_size": limits.chunk_size}),
            )
        }
        (Method::POST, "/_testhub/reset") => {
            state.faults.clear();
            state.recorder.reset();
            json(200, &serde_json::json!({}))
        }
        _ => hub_error(404, None, "unknown admin route"),
    }
}
