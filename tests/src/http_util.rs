//! Response builders shared by the routes: JSON bodies, Hub-style errors, ranged file bodies.

use std::path::PathBuf;

use hyper::{Response, StatusCode, header, http::response::Builder};

use crate::{
    body::{self, Body},
    faults::Host,
    state::State,
};

pub(crate) type Resp = Response<Body>;

/// Finishes `builder`; an invalid header (from request-derived data) becomes a bare 500.
pub(crate) fn finish(builder: Builder, body: Body) -> Resp {
    builder.body(body).unwrap_or_else(|_| {
        let mut res = Response::new(body::full("invalid response header"));
        *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        res
    })
}

pub(crate) fn status(code: u16) -> Builder {
    Response::builder().status(code)
}

pub(crate) fn json(code: u16, value: &serde_json::Value) -> Resp {
    json_with(status(code), value)
}

pub(crate) fn json_with(builder: Builder, value: &serde_json::Value) -> Resp {
    finish(builder.header(header::CONTENT_TYPE, "application/json"), body::full(value.to_string()))
}

/// Makes `s` safe for a header value: visible ASCII and spaces only.
pub(crate) fn header_safe(s: &str) -> String {
    s.chars().map(|c| if c == ' ' || c.is_ascii_graphic() { c } else { '?' }).collect()
}

/// A Hub error: `X-Error-Code` (if any), `X-Error-Message` and a JSON `{"error": …}` body.
pub(crate) fn hub_error_with(
    builder: Builder,
    code: u16,
    error_code: Option<&str>,
    message: &str,
) -> Resp {
    let mut builder = builder.status(code).header("X-Error-Message", header_safe(message));
    if let Some(error_code) = error_code {
        builder = builder.header("X-Error-Code", error_code);
    }
    json_with(builder, &serde_json::json!({ "error": message }))
}

pub(crate) fn hub_error(code: u16, error_code: Option<&str>, message: &str) -> Resp {
    hub_error_with(Response::builder(), code, error_code, message)
}

/// An S3 / CloudFront error: `<Error><Code>…</Code><Message>…</Message></Error>` as XML, the
/// way the storage host behind the Hub's CDN refuses a request.
pub(crate) fn s3_error(code: u16, name: &str, message: &str) -> Resp {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{name}</Code><Message>{message}</Message></Error>"
    );
    finish(status(code).header(header::CONTENT_TYPE, "application/xml"), body::full(body))
}

pub(crate) fn internal_error(err: &anyhow::Error) -> Resp {
    tracing::error!("internal error: {err:#}");
    hub_error(500, None, &format!("internal error: {err:#}"))
}

/// A parsed `Range` header against a body of known size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeSpec {
    Full,
    /// `start..end` (end exclusive).
    Partial(u64, u64),
    Unsatisfiable,
}

/// Parses a single-range `Range` header; anything it does not understand means "whole body".
pub(crate) fn parse_range(header: Option<&str>, size: u64) -> RangeSpec {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeSpec::Full;
    };
    if spec.contains(',') {
        return RangeSpec::Full;
    }
    let Some((a, b)) = spec.split_once('-') else { return RangeSpec::Full };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        let Ok(n) = b.parse::<u64>() else { return RangeSpec::Full };
        if n == 0 || size == 0 {
            return RangeSpec::Unsatisfiable;
        }
        return RangeSpec::Partial(size.saturating_sub(n), size);
    }
    let Ok(start) = a.parse::<u64>() else { return RangeSpec::Full };
    let end = if b.is_empty() {
        size
    } else {
        match b.parse::<u64>() {
            Ok(last) if last >= start => last.saturating_add(1).min(size),
            _ => return RangeSpec::Full,
        }
    };
    if start >= size {
        return RangeSpec::Unsatisfiable;
    }
    RangeSpec::Partial(start, end)
}

/// Serves the file at `path` (of `size` bytes) on `host` with Range support; `builder` carries
/// extra headers.
pub(crate) fn file_response(
    state: &State,
    host: Host,
    builder: Builder,
    head: bool,
    path: PathBuf,
    size: u64,
    range: Option<&str>,
) -> Resp {
    let builder = builder.header(header::ACCEPT_RANGES, "bytes");
    let range = if state.faults.ignores_range() { None } else { range };
    let (code, start, end) = match parse_range(range, size) {
        RangeSpec::Full => (200, 0, size),
        RangeSpec::Partial(start, end) if head => (206, start, end),
        RangeSpec::Partial(start, end) => (206, start, state.faults.take_long_body(end, size)),
        RangeSpec::Unsatisfiable => {
            let builder = builder.header(header::CONTENT_RANGE, format!("bytes */{size}"));
            return hub_error_with(builder, 416, None, "Requested range not satisfiable");
        }
    };
    let mut builder = builder
        .status(code)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, end - start);
    if code == 206 {
        builder = builder.header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{size}", end.saturating_sub(1)),
        );
    }
    if head || start == end {
        return finish(builder, body::empty());
    }
    let faults = state.faults.take_body_faults(host, start, end);
    finish(builder, body::stream_file(path, start, end, faults))
}
