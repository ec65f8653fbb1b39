//! Test support: a seeded hub and a tiny blocking HTTP/1.1 client that reports truncated bodies.

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::Path,
    process::Command,
    time::Duration,
};

use anyhow::Context;
use hub_tests::{HubConfig, SeedManifest, TestHub};

/// A started hub with the default seed.
pub(crate) fn seeded() -> anyhow::Result<(TestHub, SeedManifest)> {
    seeded_with(HubConfig::default())
}

pub(crate) fn seeded_with(config: HubConfig) -> anyhow::Result<(TestHub, SeedManifest)> {
    let hub = TestHub::start(config)?;
    let seed = hub.seed_default()?;
    Ok((hub, seed))
}

#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// Whether the body had as many bytes as announced.
    pub(crate) complete: bool,
}

impl Response {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
            .with_context(|| format!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// Sends one request on a fresh connection (`Connection: close`) and reads the whole answer.
pub(crate) fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> anyhow::Result<Response> {
    let rest = url.strip_prefix("http://").context("only http:// URLs")?;
    let (authority, target) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream =
        TcpStream::connect(authority).with_context(|| format!("connecting to {authority}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head =
        format!("{method} {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    if !body.is_empty() || method == "POST" || method == "PUT" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // A signal (a child process exiting) interrupted the read: read again.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break, // reset by peer: keep what arrived
        }
    }
    parse_response(&raw, method == "HEAD")
}

fn parse_response(raw: &[u8], head_request: bool) -> anyhow::Result<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").context("no complete response head")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().context("empty response")?;
    let status: u16 = status_line.split(' ').nth(1).context("no status")?.parse()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())))
        .collect();
    let mut res = Response { status, headers, body: Vec::new(), complete: true };
    let payload = &raw[end + 4..];
    if head_request || status == 204 || status == 304 {
        return Ok(res);
    }
    if res.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut rest = payload;
        res.complete = false;
        while let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") {
            let size =
                usize::from_str_radix(String::from_utf8_lossy(&rest[..line_end]).trim(), 16)?;
            rest = &rest[line_end + 2..];
            if size == 0 {
                res.complete = true;
                break;
            }
            let take = size.min(rest.len());
            res.body.extend_from_slice(&rest[..take]);
            if take < size || rest.len() < size + 2 {
                break;
            }
            rest = &rest[size + 2..];
        }
        return Ok(res);
    }
    res.body = payload.to_vec();
    if let Some(len) = res.header("content-length") {
        let len: usize = len.parse()?;
        res.complete = res.body.len() == len;
        res.body.truncate(len);
    }
    Ok(res)
}

pub(crate) fn get(url: &str) -> anyhow::Result<Response> {
    request("GET", url, &[], &[])
}

pub(crate) fn head(url: &str) -> anyhow::Result<Response> {
    request("HEAD", url, &[], &[])
}

pub(crate) fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// A `git` command isolated from the user's config and credential helpers.
pub(crate) fn git(dir: &Path) -> Command {
    hub_tests::isolated_git(dir)
}

/// The URL of `path` on the hub with `user:token@` credentials.
pub(crate) fn with_credentials(endpoint: &str, user: &str, token: &str, path: &str) -> String {
    let host = endpoint.trim_start_matches("http://");
    format!("http://{user}:{token}@{host}/{path}")
}
