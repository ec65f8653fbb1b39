//! `/_testhub/*`: counters, fault injection and reset, for tests and the Python suite.

use hyper::{Method, Request, body::Incoming};

use crate::{
    faults::FaultRequest,
    http_util::{Resp, hub_error, json},
    routes::lfs::read_body,
    state::State,
};

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
            request.apply(&state.faults);
            json(200, &serde_json::json!({}))
        }
        (Method::POST, "/_testhub/reset") => {
            state.faults.clear();
            state.recorder.reset();
            json(200, &serde_json::json!({}))
        }
        _ => hub_error(404, None, "unknown admin route"),
    }
}
