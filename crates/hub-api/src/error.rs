//! Typed errors from the Hub's answers (`hub-protocol.md` §2.6): the `X-Error-Code` header
//! first, then the status; each carries the server's message and the request id.

use http::{HeaderMap, StatusCode};

/// An error answer from the Hub, mapped as the Python library maps it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HubError {
    /// The repo does not exist, or is private and the token (if any) has no access.
    #[error("repository not found: {url}{}; check the repo id and type, and if the repo is private or gated, pass a token with access", context(.server))]
    RepositoryNotFound {
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
    },
    /// The repo is gated: the user must ask for access on its page.
    #[error("cannot access gated repo: {url}{}; ask for access on the repo's page and pass a token of an account that has it", context(.server))]
    GatedRepo {
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
    },
    /// The revision (branch, tag or commit) does not exist.
    #[error("revision not found: {url}{}; check the branch, tag or commit", context(.server))]
    RevisionNotFound {
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
    },
    /// The file does not exist at that revision.
    #[error("entry not found: {url}{}", context(.server))]
    EntryNotFound {
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
        /// The commit the revision resolved to (`X-Repo-Commit`), when given.
        commit: Option<String>,
    },
    /// The repo was disabled by the Hub.
    #[error("access to this repository is disabled: {url}{}", context(.server))]
    DisabledRepo {
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
    },
    /// The token was refused.
    #[error("invalid token for {url}{}; log in again or check HF_TOKEN", context(.server))]
    Unauthorized {
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
    },
    /// The token has no permission for this action.
    #[error("forbidden: {url}{}; make sure your token has the right permissions", context(.server))]
    Forbidden {
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
    },
    /// The request was malformed.
    #[error("bad request: {url}{}", context(.server))]
    BadRequest {
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
    },
    /// The request conflicts with the repo as it is: what it would create exists already.
    #[error("conflict: {url}{}", context(.server))]
    Conflict {
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
    },
    /// Too many requests.
    #[error("rate limited by the Hub: {url}{}{}", context(.server), retry_hint(*.retry_after))]
    RateLimited {
        /// The URL requested.
        url: String,
        /// What the server said.
        server: ServerContext,
        /// Seconds to wait, from `Retry-After`.
        retry_after: Option<u64>,
    },
    /// Any other error status.
    #[error("HTTP {status} for {url}{}", context(.server))]
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
    /// Maps an error answer. `None` for 1xx–3xx answers, which are not errors.
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
        let server = ServerContext {
            message: header("x-error-message").or_else(|| body_message(body)),
            request_id: header("x-request-id")
                .or_else(|| header("x-amzn-trace-id"))
                .or_else(|| header("x-amz-cf-id")),
        };
        let url = url.to_owned();
        let code = header("x-error-code");
        let invalid_credentials =
            server.message.as_deref() == Some("Invalid credentials in Authorization header");
        Some(match code.as_deref() {
            Some("RevisionNotFound") => HubError::RevisionNotFound { url, server },
            Some("EntryNotFound") => {
                HubError::EntryNotFound { url, server, commit: header("x-repo-commit") }
            }
            Some("GatedRepo") => HubError::GatedRepo { url, server },
            _ if server.message.as_deref() == Some("Access to this resource is disabled.") => {
                HubError::DisabledRepo { url, server }
            }
            Some("RepoNotFound") => HubError::RepositoryNotFound { url, server },
            // The Hub answers 401 for missing, private and gated repos alike.
            _ if status == StatusCode::UNAUTHORIZED
                && !invalid_credentials
                && is_repo_url(&url) =>
            {
                HubError::RepositoryNotFound { url, server }
            }
            _ if status == StatusCode::UNAUTHORIZED => HubError::Unauthorized { url, server },
            _ if status == StatusCode::FORBIDDEN => HubError::Forbidden { url, server },
            _ if status == StatusCode::BAD_REQUEST => HubError::BadRequest { url, server },
            _ if status == StatusCode::CONFLICT => HubError::Conflict { url, server },
            _ if status == StatusCode::TOO_MANY_REQUESTS => HubError::RateLimited {
                url,
                server,
                retry_after: header("retry-after").and_then(|v| v.trim().parse().ok()),
            },
            _ => HubError::Http { status: status.as_u16(), url, server },
        })
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
            | HubError::Http { server, .. } => server,
        }
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
    #[error("repository {repo} already exists at {url}; set exist_ok to use it as it is")]
    RepoExists {
        /// The repo (`namespace/name`, with its type's prefix for a dataset or a space).
        repo: String,
        /// Its URL.
        url: String,
    },
    /// Offline mode is on (`HF_HUB_OFFLINE`): nothing was sent.
    #[error("cannot reach {url}: offline mode is enabled; unset HF_HUB_OFFLINE to go online")]
    Offline {
        /// The URL that was not requested.
        url: String,
    },
    /// No connection, or it broke.
    #[error("network error for {url}: {}; check your connection and try again", causes(cause.as_ref()))]
    Network {
        /// The URL requested.
        url: String,
        /// The cause. Its message, and those of its own sources, are part of this error's (they
        /// are not repeated as a [`source`](std::error::Error::source)).
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The server's TLS certificate was refused: no trusted root vouches for it, or it names
    /// another host.
    #[error(
        "the TLS certificate of {url} was refused ({reason}); if a proxy or gateway re-signs TLS, set SSL_CERT_FILE to a PEM bundle holding its certificate authority"
    )]
    Certificate {
        /// The URL requested.
        url: String,
        /// What the TLS layer said of the certificate.
        reason: String,
    },
    /// No answer in time.
    #[error("timed out waiting for {url}; check your connection, or raise the timeout")]
    Timeout {
        /// The URL requested.
        url: String,
    },
    /// A URL that cannot be requested.
    #[error("invalid URL {url}: {reason}")]
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
    /// The library name or version holds characters that cannot go in a header.
    #[error(
        "invalid user agent {user_agent:?}: use printable ASCII for the library name and version"
    )]
    InvalidUserAgent {
        /// The user agent.
        user_agent: String,
    },
    /// The answer is not what a Hub sends.
    #[error("unexpected answer from {url}: {reason}")]
    Protocol {
        /// The URL requested.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The cache refused a name or a write.
    #[error(transparent)]
    Cache(#[from] hub_cache::Error),
    /// An argument or setting that cannot be used.
    #[error("{reason}")]
    InvalidInput {
        /// What is wrong.
        reason: String,
    },
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
        crate::transfer::redact(url)
    )]
    Stalled {
        /// Where the bytes came from.
        url: String,
        /// How long nothing arrived.
        seconds: u64,
    },
    /// The storage server (a CDN, not the Hub) refused the download link the Hub gave, and
    /// a fresh link from the Hub too. Tokens never go to it, so it is not a token problem.
    #[error(
        "the storage server refused the download link {} (HTTP {status}), even a fresh one from the Hub; try again later",
        crate::transfer::redact(url)
    )]
    StorageRefused {
        /// The link, signature included (shown without it).
        url: String,
        /// The status it answered.
        status: u16,
    },
    /// A request kept failing in a way that trying again could fix, until the retries ran out.
    #[error("{last} (gave up after {attempts} attempts in {} s)", elapsed.as_secs())]
    RetriesExhausted {
        /// How many times it was sent.
        attempts: u32,
        /// How long it was tried for.
        elapsed: std::time::Duration,
        /// The last failure, whose message is part of this one's.
        last: Box<Error>,
    },
}

impl Error {
    /// The error for a request that got no answer: [`Error::Certificate`] when the cause is an
    /// untrusted TLS certificate (trying again cannot help), else [`Error::Network`].
    pub(crate) fn connection(url: &str, cause: Box<dyn std::error::Error + Send + Sync>) -> Error {
        match certificate_problem(cause.as_ref()) {
            Some(reason) => Error::Certificate { url: url.to_owned(), reason },
            None => Error::Network { url: url.to_owned(), cause },
        }
    }

    /// Whether trying again may help (a connection problem or a timeout).
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Network { .. } | Error::Timeout { .. })
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
