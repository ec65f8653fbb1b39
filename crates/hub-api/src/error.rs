//! Typed errors from the Hub's answers (`docs/protocol/errors.md#mapping`): the `X-Error-Code`
//! header first, then the status; each carries the server's message and the request id.
//! Answers of other hosts (the CDN, a storage server) are mapped without the Hub's meanings: a
//! 403 there is a refused link, never a matter of the token. Every URL is shown redacted
//! ([`RedactedUrl`]), while the error keeps it whole.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, StatusCode};
use hub_url::RedactedUrl;

/// A URL as errors show it: without query, fragment or user info.
fn shown(url: &str) -> RedactedUrl<'_> {
    RedactedUrl(url)
}

/// An error answer from the Hub, mapped as the Python library maps it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    /// The repo does not exist, or is private and the token (if any) has no access.
    #[error("repository not found: {}{}; check the repo id and type, and if the repo is private or gated, pass a token with access", shown(.url), context(.server))]
    RepositoryNotFound {
        /// The HTTP status of the answer.
        status: u16,
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
    },
    /// The repo is gated: the user must ask for access on its page.
    #[error("cannot access gated repo: {}{}; ask for access on the repo's page and pass a token of an account that has it", shown(.url), context(.server))]
    GatedRepo {
        /// The HTTP status of the answer.
        status: u16,
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
    },
    /// The revision (branch, tag or commit) does not exist.
    #[error("revision not found: {}{}; check the branch, tag or commit", shown(.url), context(.server))]
    RevisionNotFound {
        /// The HTTP status of the answer.
        status: u16,
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
    },
    /// The file does not exist at that revision.
    #[error("entry not found: {}{}", shown(.url), context(.server))]
    EntryNotFound {
        /// The HTTP status of the answer.
        status: u16,
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
        /// The commit the revision resolved to (`X-Repo-Commit`), when given.
        commit: Option<String>,
    },
    /// The repo was disabled by the Hub.
    #[error("access to this repository is disabled: {}{}", shown(.url), context(.server))]
    DisabledRepo {
        /// The HTTP status of the answer.
        status: u16,
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
    },
    /// The token was refused.
    #[error("invalid token for {}{}; log in again or check HF_TOKEN", shown(.url), context(.server))]
    Unauthorized {
        /// The HTTP status of the answer.
        status: u16,
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
    },
    /// The token has no permission for this action.
    #[error("forbidden: {}{}; make sure your token has the right permissions", shown(.url), context(.server))]
    Forbidden {
        /// The HTTP status of the answer.
        status: u16,
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
    },
    /// The request was malformed.
    #[error("bad request: {}{}", shown(.url), context(.server))]
    BadRequest {
        /// The HTTP status of the answer.
        status: u16,
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
    },
    /// The request conflicts with the repo as it is: what it would create exists already.
    #[error("conflict: {}{}", shown(.url), context(.server))]
    Conflict {
        /// The HTTP status of the answer.
        status: u16,
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
    },
    /// Too many requests.
    #[error("rate limited by the Hub: {}{}{}", shown(.url), context(.server), retry_hint(*.retry_after))]
    RateLimited {
        /// The HTTP status of the answer.
        status: u16,
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
        /// Seconds to wait, from `Retry-After`.
        retry_after: Option<u64>,
    },
    /// A host other than the Hub (the CDN, a storage server) refused a link the Hub gave
    /// (401 or 403): it expired, or was signed for another request. No token is involved.
    #[error("the storage server refused the download link {} (HTTP {status}){}; the link may have expired: try again", shown(.url), context(.server))]
    StorageRefused {
        /// The status.
        status: u16,
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
    },
    /// Any other error status.
    #[error("HTTP {status} for {}{}", shown(.url), context(.server))]
    Http {
        /// The status.
        status: u16,
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
    },
}

/// The server's explanation of an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerContext {
    /// `X-Error-Message`, or the `error` / `error_description` / `errors[].message` of a JSON
    /// body, or a short text body.
    pub message: Option<String>,
    /// `X-Request-Id`, else `X-Amzn-Trace-Id`, else `x-amz-cf-id`.
    pub request_id: Option<String>,
}

fn context(server: &ServerContext) -> String {
    let mut s = String::new();
    if let Some(message) = &server.message {
        s.push_str(&format!(" ({message})"));
    }
    if let Some(id) = &server.request_id {
        s.push_str(&format!(" [request id {id}]"));
    }
    s
}

fn retry_hint(retry_after: Option<u64>) -> String {
    retry_after.map(|s| format!("; retry after {s} seconds")).unwrap_or_default()
}

impl HubError {
    /// Maps an error answer of the Hub (a URL on the endpoint's origin). `None` for 1xx–3xx
    /// answers, which are not errors. For any other host use
    /// [`HubError::from_storage_response`], or let
    /// [`HubClient::error_from_response`](crate::HubClient::error_from_response) choose.
    pub fn from_response(
        url: &str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<HubError> {
        if !(status.is_client_error() || status.is_server_error()) {
            return None;
        }
        let header =
            |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let server = server_context(headers, body);
        let url = url.to_owned();
        let code = header("x-error-code");
        let invalid_credentials =
            server.message.as_deref() == Some("Invalid credentials in Authorization header");
        let status_code = status;
        let status = status.as_u16();
        Some(match code.as_deref() {
            Some("RevisionNotFound") => HubError::RevisionNotFound { status, url, server },
            Some("EntryNotFound") => {
                HubError::EntryNotFound { status, url, server, commit: header("x-repo-commit") }
            }
            Some("GatedRepo") => HubError::GatedRepo { status, url, server },
            _ if server.message.as_deref() == Some("Access to this resource is disabled.") => {
                HubError::DisabledRepo { status, url, server }
            }
            Some("RepoNotFound") => HubError::RepositoryNotFound { status, url, server },
            // The Hub answers 401 for missing, private and gated repos alike.
            _ if status_code == StatusCode::UNAUTHORIZED
                && !invalid_credentials
                && is_repo_url(&url) =>
            {
                HubError::RepositoryNotFound { status, url, server }
            }
            _ if status_code == StatusCode::UNAUTHORIZED => {
                HubError::Unauthorized { status, url, server }
            }
            _ if status_code == StatusCode::FORBIDDEN => {
                HubError::Forbidden { status, url, server }
            }
            _ if status_code == StatusCode::BAD_REQUEST => {
                HubError::BadRequest { status, url, server }
            }
            _ if status_code == StatusCode::CONFLICT => HubError::Conflict { status, url, server },
            _ if status_code == StatusCode::TOO_MANY_REQUESTS => HubError::RateLimited {
                status,
                url,
                server,
                retry_after: header("retry-after").and_then(|v| v.trim().parse().ok()),
            },
            _ => HubError::Http { status, url, server },
        })
    }

    /// Maps an error answer of a host that is not the Hub (the CDN, a storage server, a
    /// presigned upload URL): 401 and 403 are [`HubError::StorageRefused`], anything else
    /// [`HubError::Http`]; nothing here speaks of tokens. `None` for 1xx–3xx answers.
    pub fn from_storage_response(
        url: &str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<HubError> {
        if !(status.is_client_error() || status.is_server_error()) {
            return None;
        }
        let server = server_context(headers, body);
        let (url, status) = (url.to_owned(), status.as_u16());
        Some(match status {
            401 | 403 => HubError::StorageRefused { status, url, server },
            _ => HubError::Http { status, url, server },
        })
    }

    /// The HTTP status of the answer this error was mapped from.
    pub fn status(&self) -> u16 {
        match self {
            HubError::RepositoryNotFound { status, .. }
            | HubError::GatedRepo { status, .. }
            | HubError::RevisionNotFound { status, .. }
            | HubError::EntryNotFound { status, .. }
            | HubError::DisabledRepo { status, .. }
            | HubError::Unauthorized { status, .. }
            | HubError::Forbidden { status, .. }
            | HubError::BadRequest { status, .. }
            | HubError::Conflict { status, .. }
            | HubError::RateLimited { status, .. }
            | HubError::StorageRefused { status, .. }
            | HubError::Http { status, .. } => *status,
        }
    }

    /// Whether trying again may help: 408, 429 and 5xx answers.
    pub fn is_transient(&self) -> bool {
        let status = self.status();
        status == 408 || status == 429 || (500..600).contains(&status)
    }

    /// The server's context of this error.
    pub fn server(&self) -> &ServerContext {
        match self {
            HubError::RepositoryNotFound { server, .. }
            | HubError::GatedRepo { server, .. }
            | HubError::RevisionNotFound { server, .. }
            | HubError::EntryNotFound { server, .. }
            | HubError::DisabledRepo { server, .. }
            | HubError::Unauthorized { server, .. }
            | HubError::Forbidden { server, .. }
            | HubError::BadRequest { server, .. }
            | HubError::Conflict { server, .. }
            | HubError::RateLimited { server, .. }
            | HubError::StorageRefused { server, .. }
            | HubError::Http { server, .. } => server,
        }
    }
}

/// The message and the request id of an error answer.
fn server_context(headers: &HeaderMap, body: &[u8]) -> ServerContext {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    ServerContext {
        message: header("x-error-message").or_else(|| body_message(body)).map(|m| printable(&m)),
        request_id: header("x-request-id")
            .or_else(|| header("x-amzn-trace-id"))
            .or_else(|| header("x-amz-cf-id")),
    }
}

/// `/api/{models,datasets,spaces}/…` or `…/resolve/…`: URLs where 401 means "no such repo".
fn is_repo_url(url: &str) -> bool {
    let path =
        url.split_once("://").map_or(url, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    path.starts_with("api/models/")
        || path.starts_with("api/datasets/")
        || path.starts_with("api/spaces/")
        || path.contains("/resolve/")
}

/// A server's words as they may be shown in a one-line error: control characters (a terminal
/// escape sequence, a line break) are written as escapes, so a server cannot paint the user's
/// terminal or fake a prompt on a new line.
fn printable(message: &str) -> String {
    message
        .chars()
        .map(|c| if c.is_control() { c.escape_default().collect() } else { c.to_string() })
        .collect()
}

/// The message of an error body: JSON `error` (string or list), `error_description`,
/// `errors[].message`, or a short non-HTML text.
fn body_message(body: &[u8]) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) {
        let mut parts: Vec<String> = Vec::new();
        match &json["error"] {
            serde_json::Value::String(s) => parts.push(s.clone()),
            serde_json::Value::Array(items) => {
                parts.extend(items.iter().filter_map(|i| i.as_str()).map(str::to_owned))
            }
            _ => (),
        }
        if let Some(s) = json["error_description"].as_str() {
            parts.push(s.to_owned());
        }
        if let Some(errors) = json["errors"].as_array() {
            parts.extend(errors.iter().filter_map(|e| e["message"].as_str()).map(str::to_owned));
        }
        return (!parts.is_empty()).then(|| parts.join("; "));
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    (!text.is_empty() && !text.starts_with('<') && text.len() <= 500).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    /// A Hub that does not answer a connection at all (dropped packets) is unreachable, as one
    /// that refuses it: not retried, so a cached file is served after one connect timeout.
    #[test]
    fn a_connection_that_times_out_to_the_hub_is_unreachable() {
        let timed_out = || {
            Box::new(std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timeout"))
                as Box<dyn std::error::Error + Send + Sync>
        };
        let e = Error::connection("https://huggingface.co/api/whoami-v2", true, timed_out());
        assert!(
            matches!(&e, Error::Unreachable { reason, .. } if reason == "connection timed out"),
            "{e:?}"
        );
        assert!(!e.is_transient() && e.is_unavailable());
        let cdn = Error::connection("https://cdn-lfs.hf.co/x", false, timed_out());
        assert!(cdn.is_transient(), "a CDN that times out is retried: {cdn:?}");
    }

    /// Found by fuzzing: a text body reached the terminal as it was.
    #[test]
    fn a_servers_message_cannot_hold_terminal_escapes_or_line_breaks() {
        let body = b"\x1b[2J\x1b[31mfake prompt\nPassword:";
        let e = HubError::from_response(
            "https://huggingface.co/api/whoami-v2",
            StatusCode::INTERNAL_SERVER_ERROR,
            &HeaderMap::new(),
            body,
        )
        .unwrap();
        let text = e.to_string();
        assert!(!text.chars().any(char::is_control), "{text:?}");
        assert!(text.contains("fake prompt\\nPassword:"), "{text:?}");
    }

    fn map(url: &str, status: u16, headers: &[(&'static str, &str)], body: &str) -> HubError {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        HubError::from_response(url, StatusCode::from_u16(status).unwrap(), &map, body.as_bytes())
            .unwrap()
    }

    const RESOLVE: &str = "https://hub.test/acme/m/resolve/main/x.bin";

    #[test]
    fn error_codes_win_over_statuses() {
        let e = map(
            RESOLVE,
            404,
            &[("x-error-code", "EntryNotFound"), ("x-repo-commit", "abc"), ("x-request-id", "r-1")],
            "",
        );
        assert!(matches!(&e, HubError::EntryNotFound { commit: Some(c), .. } if c == "abc"));
        assert!(e.to_string().contains("[request id r-1]"), "{e}");
        assert!(matches!(
            map(RESOLVE, 404, &[("x-error-code", "RevisionNotFound")], ""),
            HubError::RevisionNotFound { .. }
        ));
        assert!(matches!(
            map(RESOLVE, 401, &[("x-error-code", "GatedRepo")], ""),
            HubError::GatedRepo { .. }
        ));
        assert!(matches!(
            map(RESOLVE, 403, &[("x-error-code", "GatedRepo")], ""),
            HubError::GatedRepo { .. }
        ));
        assert!(matches!(
            map(RESOLVE, 401, &[("x-error-code", "RepoNotFound")], ""),
            HubError::RepositoryNotFound { .. }
        ));
        let disabled =
            map(RESOLVE, 403, &[("x-error-message", "Access to this resource is disabled.")], "");
        assert!(matches!(disabled, HubError::DisabledRepo { .. }));
    }

    #[test]
    fn a_401_is_not_found_on_repo_urls_unless_the_token_is_invalid() {
        assert!(matches!(map(RESOLVE, 401, &[], ""), HubError::RepositoryNotFound { .. }));
        assert!(matches!(
            map("https://hub.test/api/models/acme/m", 401, &[], ""),
            HubError::RepositoryNotFound { .. }
        ));
        let bad_token = map(
            RESOLVE,
            401,
            &[("x-error-message", "Invalid credentials in Authorization header")],
            "",
        );
        assert!(matches!(bad_token, HubError::Unauthorized { .. }));
        assert!(matches!(
            map("https://hub.test/api/whoami-v2", 401, &[], ""),
            HubError::Unauthorized { .. }
        ));
    }

    #[test]
    fn statuses_and_messages() {
        let e = map(
            "https://hub.test/api/repos/create",
            403,
            &[],
            r#"{"error": "You don't have the rights"}"#,
        );
        assert!(matches!(e, HubError::Forbidden { .. }));
        assert_eq!(e.server().message.as_deref(), Some("You don't have the rights"));
        let e = map(
            "https://hub.test/x",
            400,
            &[],
            r#"{"error": ["a", "b"], "errors": [{"message": "c"}]}"#,
        );
        assert_eq!(e.server().message.as_deref(), Some("a; b; c"));
        let e = map("https://hub.test/api/repos/create", 409, &[], r#"{"error": "exists"}"#);
        assert!(matches!(e, HubError::Conflict { .. }), "{e:?}");
        assert_eq!(e.to_string(), "conflict: https://hub.test/api/repos/create (exists)");
        let e = map("https://hub.test/x", 429, &[("retry-after", "7")], "");
        assert!(matches!(e, HubError::RateLimited { retry_after: Some(7), .. }));
        assert!(e.to_string().contains("retry after 7 seconds"));
        let e = map("https://hub.test/x", 503, &[("x-amzn-trace-id", "t-9")], "<html>oops</html>");
        assert!(
            matches!(&e, HubError::Http { status: 503, server, .. } if server.message.is_none() && server.request_id.as_deref() == Some("t-9"))
        );
        assert!(HubError::from_response("u", StatusCode::FOUND, &HeaderMap::new(), b"").is_none());
    }

    #[test]
    fn a_refused_storage_link_never_speaks_of_tokens_nor_shows_its_signature() {
        let cdn = "http://127.0.0.2:9/lfs/abc?X-Expires=17&X-Signature=deadbeef";
        for status in [401, 403] {
            let e = HubError::from_storage_response(
                cdn,
                StatusCode::from_u16(status).unwrap(),
                &HeaderMap::new(),
                b"<Error>AccessDenied</Error>",
            )
            .unwrap();
            assert!(matches!(e, HubError::StorageRefused { .. }), "{e:?}");
            let text = e.to_string();
            assert_eq!(
                text,
                format!(
                    "the storage server refused the download link http://127.0.0.2:9/lfs/abc \
                     (HTTP {status}); the link may have expired: try again"
                )
            );
            assert!(!text.to_lowercase().contains("token"), "{text}");
            assert!(!Error::Hub(e).is_transient(), "a refused link is permanent");
        }
        let e = HubError::from_storage_response(
            cdn,
            StatusCode::SERVICE_UNAVAILABLE,
            &HeaderMap::new(),
            b"",
        )
        .unwrap();
        assert!(matches!(e, HubError::Http { status: 503, .. }) && e.is_transient());
        // The Hub's own errors keep the whole URL for programs, and show it redacted.
        let e = map("https://hub.test/api/x?token=hf_secret#f", 403, &[], "");
        assert!(matches!(&e, HubError::Forbidden { url, .. } if url.contains("hf_secret")));
        assert_eq!(
            e.to_string(),
            "forbidden: https://hub.test/api/x; make sure your token has the right permissions"
        );
    }

    #[test]
    fn transient_and_permanent_errors() {
        assert!(Error::Hub(map(RESOLVE, 503, &[], "")).is_transient());
        assert!(Error::Hub(map(RESOLVE, 429, &[], "")).is_transient());
        assert!(Error::Hub(map(RESOLVE, 408, &[], "")).is_transient());
        assert!(!Error::Hub(map(RESOLVE, 403, &[], "")).is_transient());
        assert!(!Error::Hub(map(RESOLVE, 404, &[], "")).is_transient());
        assert!(Error::Timeout { url: RESOLVE.into() }.is_transient());
        let exhausted = Error::RetriesExhausted {
            attempts: 6,
            elapsed: Duration::from_millis(31_400),
            source: Box::new(Error::Timeout { url: RESOLVE.into() }),
        };
        assert!(!exhausted.is_transient());
        assert_eq!(exhausted.to_string(), "gave up after 6 attempts in 31 s");
        assert!(std::error::Error::source(&exhausted).is_some(), "the last failure is the source");
    }

    #[test]
    fn durations_and_times_as_people_read_them() {
        let cases = [(250, "250 ms"), (4_200, "4 s"), (59_600, "1 min"), (250_000, "4 min 10 s")];
        for (ms, text) in cases {
            assert_eq!(duration_text(Duration::from_millis(ms)), text);
        }
        assert_eq!(duration_text(Duration::from_secs(7_500)), "2 h 5 min");
        let t = UNIX_EPOCH + Duration::from_secs(1_000 * 86_400 + 9 * 3600 + 5 * 60 + 7);
        assert_eq!(clock(t), "09:05:07 UTC");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("tcp connect error")]
    struct Connect(#[source] std::io::Error);

    #[test]
    fn a_cause_is_told_once_in_the_message_and_not_again_as_a_source() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let e = Error::Network { url: "http://h/x".into(), cause: Box::new(Connect(refused)) };
        assert_eq!(
            e.to_string(),
            format!(
                "network error for http://h/x: tcp connect error: {}; check your connection and \
                 try again",
                std::io::Error::from(std::io::ErrorKind::ConnectionRefused)
            )
        );
        assert!(std::error::Error::source(&e).is_none(), "the chain would repeat it");
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let e = Error::LocalFile { path: "/x".into(), cause: denied };
        assert!(std::error::Error::source(&e).is_none());
        let e = Error::Cache(hub_cache::Error::Io {
            path: "/c".into(),
            cause: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        });
        assert!(std::error::Error::source(&e).is_none());
    }

    /// Each error of the chain (as the CLI joins it) says something its source does not.
    fn assert_told_once(error: &(dyn std::error::Error + 'static)) {
        let mut text = error.to_string();
        let mut next = error.source();
        while let Some(source) = next {
            let own = source.to_string();
            assert!(!text.contains(&own), "{text:?} repeats its source {own:?}");
            text = own;
            next = source.source();
        }
    }

    /// Every error of this crate that has a cause, with a cause that has its own cause: no
    /// message repeats its source's, so a chain printed whole says each thing once.
    #[test]
    fn no_error_repeats_its_source_in_its_own_text() {
        let io = |kind| std::io::Error::from(kind);
        let refused = || Box::new(Connect(io(std::io::ErrorKind::ConnectionRefused)));
        let network = || Error::Network { url: RESOLVE.into(), cause: refused() };
        let errors = [
            network(),
            Error::connection(RESOLVE, true, refused()),
            Error::LocalFile { path: "/x".into(), cause: io(std::io::ErrorKind::PermissionDenied) },
            Error::RuntimeStart { cause: io(std::io::ErrorKind::OutOfMemory) },
            Error::RetriesExhausted {
                attempts: 3,
                elapsed: Duration::from_secs(2),
                source: Box::new(network()),
            },
            Error::NotCached {
                what: "acme/m: x.bin at main".into(),
                source: Box::new(Error::RetriesExhausted {
                    attempts: 3,
                    elapsed: Duration::from_secs(2),
                    source: Box::new(Error::Hub(map(RESOLVE, 503, &[], "busy"))),
                }),
            },
            Error::Hub(map(RESOLVE, 404, &[("x-error-code", "EntryNotFound")], "")),
            Error::Cache(hub_cache::Error::Io {
                path: "/c".into(),
                cause: io(std::io::ErrorKind::PermissionDenied),
            }),
            Error::Url(hub_url::Revision::new("a..b").unwrap_err().into()),
        ];
        for e in &errors {
            assert_told_once(e);
        }
        // The ones with a source, checked directly as well.
        let with_source: Vec<_> =
            errors.iter().filter(|e| std::error::Error::source(*e).is_some()).collect();
        assert_eq!(with_source.len(), 2, "{with_source:?}");
        for e in with_source {
            let source = std::error::Error::source(e).unwrap();
            assert!(!e.to_string().contains(&source.to_string()), "{e}");
        }
    }

    /// A variable that cannot be used is named with its value, and the rule it breaks.
    #[test]
    fn a_bad_variable_is_named_with_its_value_and_the_rule() {
        let vars = |name: &str| {
            (name == hub_url::env::HF_ENDPOINT).then(|| std::ffi::OsString::from("ftp://h"))
        };
        let Err(e) = crate::ClientBuilder::from_vars(&vars, None) else { panic!("accepted") };
        assert!(matches!(e, Error::InvalidVariable { name: "HF_ENDPOINT", .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "HF_ENDPOINT=\"ftp://h\" is invalid; use an http:// or https:// URL with a host, \
             such as https://huggingface.co"
        );
    }

    /// Every error made from an HTTP answer tells its status, whatever variant the status and
    /// the Hub's error code chose; the wrappers pass it on.
    #[test]
    fn every_error_made_from_an_answer_has_its_status() {
        let api = "https://hub.test/api/models/acme/m";
        let cases = [
            (map(RESOLVE, 401, &[], ""), 401),
            (map(api, 404, &[("x-error-code", "RepoNotFound")], ""), 404),
            (map(RESOLVE, 403, &[("x-error-code", "GatedRepo")], ""), 403),
            (map(RESOLVE, 401, &[("x-error-code", "GatedRepo")], ""), 401),
            (map(RESOLVE, 404, &[("x-error-code", "RevisionNotFound")], ""), 404),
            (map(RESOLVE, 404, &[("x-error-code", "EntryNotFound")], ""), 404),
            (
                map(
                    RESOLVE,
                    403,
                    &[("x-error-message", "Access to this resource is disabled.")],
                    "",
                ),
                403,
            ),
            (map("https://hub.test/api/whoami-v2", 401, &[], ""), 401),
            (map(api, 403, &[], ""), 403),
            (map(api, 400, &[], ""), 400),
            (map(api, 409, &[], ""), 409),
            (map(api, 429, &[], ""), 429),
            (map(api, 418, &[], ""), 418),
            (
                HubError::from_storage_response(
                    "http://127.0.0.2/x",
                    StatusCode::FORBIDDEN,
                    &HeaderMap::new(),
                    b"",
                )
                .unwrap(),
                403,
            ),
        ];
        for (e, status) in cases {
            assert_eq!(e.status(), status, "{e:?}");
            let e = Error::Hub(e);
            assert_eq!(e.status(), Some(status), "{e:?}");
            let exhausted = Error::RetriesExhausted {
                attempts: 2,
                elapsed: Duration::from_secs(1),
                source: Box::new(e),
            };
            assert_eq!(exhausted.status(), Some(status));
            let not_cached = Error::NotCached { what: "x".into(), source: Box::new(exhausted) };
            assert_eq!(not_cached.status(), Some(status));
        }
        assert_eq!(Error::RepoExists { repo: "a/b".into(), url: api.into() }.status(), Some(409));
        let refused = Error::DownloadRefused { url: "http://127.0.0.2/x".into(), status: 401 };
        assert_eq!(refused.status(), Some(401));
        assert_eq!(Error::Timeout { url: api.into() }.status(), None);
        assert_eq!(Error::NotLoggedIn.status(), None);
    }
}

/// Any error of `hub-api`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Hub answered with an error.
    #[error(transparent)]
    Hub(#[from] HubError),
    /// The call needs a token (it writes to the Hub, or asks whose the token is) and the client
    /// has none: nothing was sent. The token files are the Python tools' too, so logging in
    /// with any of them works.
    #[error("not logged in: this needs a Hub token; log in (`hf auth login`) or set HF_TOKEN")]
    NotLoggedIn,
    /// [`HubClient::create_repo`](crate::HubClient::create_repo) without `exist_ok`: the repo
    /// exists already (the Hub answered 409).
    #[error("repository {repo} already exists at {}; set exist_ok to use it as it is", shown(.url))]
    RepoExists {
        /// The repo (`namespace/name`, with its type's prefix for a dataset or a space).
        repo: String,
        /// Its URL.
        url: String,
    },
    /// Offline mode is on (`HF_HUB_OFFLINE`): nothing was sent.
    #[error("cannot reach {}: offline mode is enabled; unset HF_HUB_OFFLINE to go online", shown(.url))]
    Offline {
        /// The URL that was not requested.
        url: String,
    },
    /// No connection, or it broke.
    #[error("network error for {}: {}; check your connection and try again", shown(.url), causes(cause.as_ref()))]
    Network {
        /// The URL requested.
        url: String,
        /// The cause. Its message, and those of its own sources, are part of this error's (they
        /// are not repeated as a [`source`](std::error::Error::source)).
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The Hub itself cannot be reached: the connection to the endpoint's origin was refused, or
    /// its name does not resolve. Not retried (it would fail the same way); a download serves
    /// the cached file instead, at once.
    #[error("cannot reach {} ({reason}): check your network, or set HF_HUB_OFFLINE=1 to use the cache only", origin(.url))]
    Unreachable {
        /// The URL requested.
        url: String,
        /// What failed, in a few words (`connection refused`, `host not found`…).
        reason: String,
        /// The cause. Its message is told by `reason`; it is not repeated as a
        /// [`source`](std::error::Error::source).
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Retries gave up: the last error is the [`source`](std::error::Error::source).
    #[error("gave up after {attempts} attempts in {}", duration_text(*.elapsed))]
    RetriesExhausted {
        /// Attempts made, the first included.
        attempts: u32,
        /// From the first attempt to the last failure.
        elapsed: Duration,
        /// The last failure.
        source: Box<Error>,
    },
    /// The Hub's rate limit is reached and resets too late to wait for (beyond
    /// [`RATE_LIMIT_WAIT_MAX`](crate::RATE_LIMIT_WAIT_MAX)): nothing more is sent to the Hub
    /// by this client until then.
    #[error(
        "rate limited by the Hub{}: the limit resets in {} (at {}); wait until then, log in (`hf auth login`) for a higher limit if you are not, or upgrade your plan",
        policy.as_deref().map(|p| format!(" ({p:?} requests)")).unwrap_or_default(),
        duration_text(*.reset_in),
        clock(*.resets_at),
    )]
    RateLimited {
        /// The URL requested (or about to be).
        url: String,
        /// How long until the limit resets, when this error was made.
        reset_in: Duration,
        /// When the limit resets.
        resets_at: SystemTime,
        /// The limit's policy name (`api`, `resolvers`…), when the Hub said it.
        policy: Option<String>,
    },
    /// The server's TLS certificate was refused: no trusted root vouches for it, or it names
    /// another host.
    #[error(
        "the TLS certificate of {} was refused ({reason}); if a proxy or gateway re-signs TLS, set SSL_CERT_FILE to a PEM bundle holding its certificate authority",
        shown(.url)
    )]
    Certificate {
        /// The URL requested.
        url: String,
        /// What the TLS layer said of the certificate.
        reason: String,
    },
    /// No answer in time.
    #[error("timed out waiting for {}; check your connection, or raise the timeout", shown(.url))]
    Timeout {
        /// The URL requested.
        url: String,
    },
    /// A URL that cannot be requested.
    #[error("invalid URL {}: {reason}", shown(.url))]
    InvalidUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// An empty token, or one with characters that cannot go in an HTTP header.
    #[error(
        "invalid token: it is empty or holds characters that cannot be sent in an HTTP header; copy it again from your settings"
    )]
    InvalidToken,
    /// A token file (the active one, or `stored_tokens` beside it) cannot be read, written or
    /// deleted. A missing file is no error: it holds no token.
    #[error("cannot {op} the token file {} ({})", path.display(), op.advice())]
    TokenFile {
        /// The file.
        path: std::path::PathBuf,
        /// What failed.
        op: crate::token::TokenFileOp,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A token name that cannot be stored in `stored_tokens`.
    #[error("invalid token name {name:?}: use letters, digits, '-' or '_'")]
    InvalidTokenName {
        /// The name, trimmed.
        name: String,
    },
    /// No stored token has this name.
    #[error("no stored token is named {name:?}; `hub-cli auth list` shows them")]
    UnknownTokenName {
        /// The name, trimmed.
        name: String,
    },
    /// An organization token (`api_org…`) cannot log in.
    #[error("this is an organization token: log in with your personal account token")]
    OrganizationToken,
    /// git's credential helper failed to store or erase the token.
    #[error("`git credential {action}` failed: {reason}")]
    GitCredential {
        /// `approve` or `reject`.
        action: &'static str,
        /// What failed: git's own message, or what could not be done.
        reason: String,
        /// The operating system's error, when git could not be run.
        #[source]
        source: Option<std::io::Error>,
    },
    /// The library name or version holds characters that cannot go in a header.
    #[error(
        "invalid user agent {user_agent:?}: use printable ASCII for the library name and version"
    )]
    InvalidUserAgent {
        /// The user agent.
        user_agent: String,
    },
    /// The answer is not what a Hub sends.
    #[error("unexpected answer from {}: {reason}", shown(.url))]
    Protocol {
        /// The URL requested.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The cache refused a name or a write.
    #[error(transparent)]
    Cache(#[from] hub_cache::Error),
    /// A repo id, revision, path in a repo or endpoint that breaks the Hub's rules (see
    /// [`hub_url::Error`]): nothing was sent.
    #[error(transparent)]
    Url(#[from] hub_url::Error),
    /// Two options were set that cannot be used together: nothing was done.
    #[error("{first} and {second} cannot be used together; set one of them")]
    ConflictingOptions {
        /// The first option's name.
        first: &'static str,
        /// The second option's name.
        second: &'static str,
    },
    /// An environment variable (one of [`hub_url::env`]) holds a value that cannot be used.
    #[error("{name}={value:?} is invalid; {expected}")]
    InvalidVariable {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it should hold.
        expected: &'static str,
    },
    /// [`HubClient::create_repo`](crate::HubClient::create_repo) of a space without
    /// `space_sdk`: nothing was sent.
    #[error("a space needs an SDK: set space_sdk to gradio, streamlit, docker or static")]
    SpaceSdkRequired,
    /// [`HubClient::move_repo`](crate::HubClient::move_repo) with a repo id that has no
    /// namespace: nothing was sent.
    #[error("cannot move a repo from or to {repo:?}: both repo ids must be namespace/name")]
    NamespaceRequired {
        /// The repo id without a namespace.
        repo: String,
    },
    /// The runtime of the [`BlockingClient`](crate::blocking::BlockingClient) cannot be
    /// started: no thread, or no runtime, could be made.
    #[error("cannot start the runtime of the blocking client: {cause}")]
    RuntimeStart {
        /// The operating system's error, whose message is part of this one's (it is not
        /// repeated as a [`source`](std::error::Error::source)).
        cause: std::io::Error,
    },
    /// The async runtime shut down before the call finished: the
    /// [`BlockingClient`](crate::blocking::BlockingClient)'s thread ended, or the caller's
    /// runtime is shutting down. A download left part of a file is resumed by the next call.
    #[error("the async runtime shut down before the call finished")]
    RuntimeGone,
    /// A local file to send cannot be read.
    #[error("cannot read {}: {cause}", path.display())]
    LocalFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why: the operating system's error, whose message is part of this one's (it is not
        /// repeated as a [`source`](std::error::Error::source)).
        cause: std::io::Error,
    },
    /// `local_files_only` is set: nothing may be downloaded.
    #[error("local_files_only is set, so the Hub was not asked")]
    LocalFilesOnly,
    /// Offline, the cached snapshot lacks files its tree listing names.
    #[error(
        "the cached snapshot of {what} is incomplete: {missing} file(s) missing ({sample}); download it again with network access"
    )]
    IncompleteSnapshot {
        /// The repo and revision.
        what: String,
        /// How many files are missing.
        missing: usize,
        /// A few of them.
        sample: String,
    },
    /// The file is not in the cache, and the Hub could not provide it.
    #[error("{what} is not in the cache, and the Hub cannot provide it")]
    NotCached {
        /// The file (repo, path, revision).
        what: String,
        /// Why the Hub could not be asked.
        #[source]
        source: Box<Error>,
    },
    /// A download made less than the least progress for too long, on every connection.
    #[error(
        "the download from {} stalled: almost nothing arrived for {seconds} s; check your connection, or raise HF_HUB_DOWNLOAD_STALL_TIMEOUT",
        shown(.url)
    )]
    Stalled {
        /// Where the bytes came from.
        url: String,
        /// How long nothing arrived.
        seconds: u64,
    },
    /// The storage server (a CDN, not the Hub) refused the download link the Hub gave, and
    /// fresh links from the Hub too. Tokens never go to it, so it is not a token problem.
    #[error(
        "the storage server refused the download link {} (HTTP {status}), even a fresh one from the Hub; try again later",
        shown(.url)
    )]
    DownloadRefused {
        /// The link, signature included (shown without it).
        url: String,
        /// The status it answered.
        status: u16,
    },
}

impl Error {
    /// The error for a request that got no answer: [`Error::Certificate`] when the cause is an
    /// untrusted TLS certificate (trying again cannot help); [`Error::Unreachable`] when `to_hub`
    /// (the URL is on the endpoint's origin) and the connection could not even be opened
    /// (refused, no such host, no route); else [`Error::Network`].
    pub(crate) fn connection(
        url: &str,
        to_hub: bool,
        cause: Box<dyn std::error::Error + Send + Sync>,
    ) -> Error {
        if let Some(reason) = certificate_problem(cause.as_ref()) {
            return Error::Certificate { url: url.to_owned(), reason };
        }
        match unreachable_reason(cause.as_ref()) {
            Some(reason) if to_hub => {
                Error::Unreachable { url: url.to_owned(), reason: reason.to_owned(), cause }
            }
            _ => Error::Network { url: url.to_owned(), cause },
        }
    }

    /// Whether trying again may help: a connection problem (to a host other than the Hub's,
    /// see [`Error::Unreachable`]), a timeout, or a 408, 429 or 5xx answer. Permanent errors
    /// (4xx, a refused storage link, an unreachable Hub, a rate limit that resets too late,
    /// retries already exhausted) are not.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Network { .. } | Error::Timeout { .. } => true,
            Error::Hub(e) => e.is_transient(),
            _ => false,
        }
    }
}

impl Error {
    /// The HTTP status of the error answer behind this error (the last one of exhausted
    /// retries, the one that kept a file from being downloaded, the 409 of an existing repo…);
    /// `None` when there was no error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Hub(e) => Some(e.status()),
            Error::RetriesExhausted { source, .. } | Error::NotCached { source, .. } => {
                source.status()
            }
            Error::RateLimited { .. } => Some(429),
            Error::RepoExists { .. } => Some(409),
            Error::DownloadRefused { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the Hub gave no usable answer for a reason a cached copy can stand in for:
    /// offline mode, an unreachable Hub, a transient failure, retries run out, a rate limit.
    pub fn is_unavailable(&self) -> bool {
        self.is_transient()
            || matches!(
                self,
                Error::Offline { .. }
                    | Error::Unreachable { .. }
                    | Error::RetriesExhausted { .. }
                    | Error::RateLimited { .. }
            )
    }
}

/// The outcome of a task this crate spawned: a panic in it is resumed on the caller's thread
/// (it is a bug to fix, not an error to report), and a task that the runtime dropped while
/// shutting down is [`Error::RuntimeGone`].
pub(crate) fn joined<T>(outcome: Result<T, tokio::task::JoinError>) -> Result<T, Error> {
    match outcome {
        Ok(value) => Ok(value),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(Error::RuntimeGone),
    }
}

/// A wait as people read it: `250 ms`, `4 s`, `4 min 10 s`, `2 h 5 min`.
pub(crate) fn duration_text(d: Duration) -> String {
    let secs = d.as_secs_f64().round() as u64;
    match secs {
        _ if d < Duration::from_millis(950) => format!("{} ms", d.as_millis()),
        0..60 => format!("{secs} s"),
        60..3600 if secs.is_multiple_of(60) => format!("{} min", secs / 60),
        60..3600 => format!("{} min {} s", secs / 60, secs % 60),
        _ => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
    }
}

/// A time of day in UTC: `21:55:03 UTC`.
pub(crate) fn clock(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default() % 86_400;
    format!("{:02}:{:02}:{:02} UTC", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// The origin of a URL as shown: `https://huggingface.co`.
fn origin(url: &str) -> String {
    let shown = RedactedUrl(url).to_string();
    let start = shown.find("://").map_or(0, |i| i + 3);
    match shown[start..].find('/') {
        Some(i) => shown[..start + i].to_owned(),
        None => shown,
    }
}

/// An error's message followed by those of its sources, joined with `: ` (a source whose
/// message its parent's already holds is left out).
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        let message = e.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        next = e.source();
    }
    text
}

/// Why a connection could not be opened, when its cause says it definitely cannot be (as
/// opposed to a timeout or a dropped connection): refused, no such host, no route.
fn unreachable_reason(error: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return Some("connection refused"),
                std::io::ErrorKind::NetworkUnreachable => return Some("network unreachable"),
                std::io::ErrorKind::HostUnreachable => return Some("host unreachable"),
                std::io::ErrorKind::AddrNotAvailable => return Some("address not available"),
                // The connector's own timeout: nothing answers at that address (a firewall
                // that drops, a cluster node with no route out).
                std::io::ErrorKind::TimedOut => return Some("connection timed out"),
                _ => (),
            }
        }
        // hyper-util's connector says `dns error` for a name that does not resolve.
        if e.to_string().starts_with("dns error") {
            return Some("host not found");
        }
        next = match e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

/// The certificate problem somewhere in `error`'s chain of causes, if any. rustls's error
/// reaches us inside `io::Error`s, whose `source` skips the error they wrap: look inside them.
fn certificate_problem(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(tls @ rustls::Error::InvalidCertificate(_)) = e.downcast_ref() {
            return Some(tls.to_string());
        }
        next = match e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}
