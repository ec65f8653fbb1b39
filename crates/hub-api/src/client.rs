//! The HTTP transport: one pooled hyper client over rustls, the user agent, the token sent only
//! to the endpoint's origin, timeouts, and the one retry policy ([`RetryConfig`]: a number of
//! retries, an overall deadline, backoff with seeded jitter, `Retry-After`).
//!
//! The Hub's rate limits are shared by all the requests of a client and its clones: a 429 (or a
//! `RateLimit` header saying no request is left) closes a gate until the reset the Hub states
//! (`RateLimit: "api";r=0;t=55`, else `Retry-After`), and every request to the Hub of the same
//! kind (API calls, file resolves, other pages: the Hub limits them apart) waits at it, those
//! sent with [`Retry::Never`] included. A reset further than [`RATE_LIMIT_WAIT_MAX`]
//! fails at once with [`Error::RateLimited`]. A Hub that cannot be reached at all (connection
//! refused, no such host) is not retried: [`Error::Unreachable`].
//!
//! Each retry and each wait for the rate limit is told to the hook of
//! [`ClientBuilder::on_retry`] as a [`RetryNotice`] (`retrying in 4 s (HTTP 503, attempt 2 of
//! 5)`), and logged with `tracing`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::{AUTHORIZATION, HeaderName, HeaderValue, RETRY_AFTER, USER_AGENT};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use hub_url::{Endpoint, Origin, RedactedUrl};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioExecutor;
use hyper_util::rt::TokioIo;

use crate::body::{HyperBody, RequestBody};
use crate::error::{clock, duration_text};
use crate::headers::{RateLimit, parse_retry_after};
use crate::token::Token;
use crate::{Error, HubError, ResponseBody};

/// How often and how patiently a request is retried: the one policy of the client, used by
/// [`HubClient::send`] and by the downloads' range requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The time budget of one request with all its retries and waits: no retry starts whose
    /// wait would end past it.
    pub deadline: Duration,
    /// The first wait; doubled each time.
    pub initial_backoff: Duration,
    /// The longest wait between attempts when the server does not say; a `Retry-After` is
    /// honoured up to [`MAX_RETRY_AFTER`].
    pub max_backoff: Duration,
    /// The seed of the jitter: the same seed gives the same waits. `None`: seeded from the
    /// clock and the process id.
    pub seed: Option<u64>,
}

impl Default for RetryConfig {
    /// 5 retries, 1 s doubling up to 8 s (as the Python library), with jitter, within 5 minutes.
    fn default() -> RetryConfig {
        RetryConfig {
            max_retries: 5,
            deadline: Duration::from_secs(300),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(8),
            seed: None,
        }
    }
}

setters!(RetryConfig {
    /// Retries at most this many times after the first attempt.
    with_max_retries(max_retries: u32);
    /// Starts no retry whose wait would end past this budget.
    with_deadline(deadline: Duration);
    /// Waits this long before the first retry (doubled each time).
    with_initial_backoff(initial_backoff: Duration);
    /// Waits at most this long between attempts when the server does not say.
    with_max_backoff(max_backoff: Duration);
    /// Seeds the jitter: the same seed gives the same waits.
    with_seed(seed: u64) => Some(seed);
});

/// The longest `Retry-After` of a 5xx answer a client waits for before retrying.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The longest wait for the Hub's rate limit to reset: a 429 whose reset is nearer is waited
/// for (and told); a later one fails at once with [`Error::RateLimited`].
pub const RATE_LIMIT_WAIT_MAX: Duration = Duration::from_secs(60);

/// Why a request is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryReason {
    /// The server answered this status (408, 429, 5xx).
    Status(u16),
    /// The connection failed or broke.
    Network,
    /// No answer in time.
    Timeout,
    /// The answer's bytes stopped coming.
    Stalled,
    /// The Hub's rate limit: waiting until it resets.
    RateLimited {
        /// When the limit resets.
        resets_at: SystemTime,
    },
}

/// A retry, or a wait for the rate limit, about to happen: what [`ClientBuilder::on_retry`]
/// hooks receive. Its `Display` is one line for a person: `retrying in 4 s (HTTP 503, attempt
/// 2 of 5)`, `waiting 55 s for the Hub's rate limit (resets at 21:55:03 UTC)`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryNotice {
    /// The URL (whole: show it with [`RedactedUrl`]).
    pub url: String,
    /// Why.
    pub reason: RetryReason,
    /// Which retry this is, from 1 (0: a wait for the rate limit before a first attempt).
    pub attempt: u32,
    /// The retries allowed.
    pub max: u32,
    /// How long until it is sent.
    pub wait: Duration,
}

impl RetryNotice {
    /// A notice of retry `attempt` of `max` of `url` after `wait`.
    pub fn new(
        url: &str,
        reason: RetryReason,
        attempt: u32,
        max: u32,
        wait: Duration,
    ) -> RetryNotice {
        RetryNotice { url: url.to_owned(), reason, attempt, max, wait }
    }
}

impl fmt::Display for RetryNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wait = duration_text(self.wait);
        let attempt = |f: &mut fmt::Formatter<'_>| match self.attempt {
            0 => Ok(()),
            n => write!(f, ", attempt {n} of {}", self.max),
        };
        match self.reason {
            RetryReason::RateLimited { resets_at } => {
                write!(
                    f,
                    "waiting {wait} for the Hub's rate limit (resets at {}",
                    clock(resets_at)
                )?;
                attempt(f)?;
                f.write_str(")")
            }
            reason => {
                write!(f, "retrying in {wait} (")?;
                match reason {
                    RetryReason::Status(status) => write!(f, "HTTP {status}")?,
                    RetryReason::Network => f.write_str("network error")?,
                    RetryReason::Timeout => f.write_str("timed out")?,
                    _ => f.write_str("stalled")?,
                }
                attempt(f)?;
                f.write_str(")")
            }
        }
    }
}

/// The function told of each retry (see [`ClientBuilder::on_retry`]).
pub type RetryHook = Arc<dyn Fn(&RetryNotice) + Send + Sync>;

#[derive(Clone, Default)]
struct Hook(Option<RetryHook>);

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Some(<hook>)" } else { "None" })
    }
}

/// Builds a [`HubClient`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    endpoint: Endpoint,
    token: Option<Token>,
    library: Option<(String, String)>,
    offline: bool,
    retry: RetryConfig,
    connect_timeout: Duration,
    read_timeout: Duration,
    proxy: Proxy,
    on_retry: Hook,
}

/// Proxies, as curl reads them from `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`.
/// Requests through a proxy go through a `CONNECT` tunnel (TLS stays end to end).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxy {
    /// The proxy for `https://` URLs.
    pub https: Option<String>,
    /// The proxy for `http://` URLs.
    pub http: Option<String>,
    /// The proxy for both, when the specific one is not set.
    pub all: Option<String>,
    /// Hosts reached directly: comma-separated domains (and their subdomains), IPs, CIDRs or `*`.
    pub no_proxy: Option<String>,
}

impl Proxy {
    fn matcher(&self) -> Option<Matcher> {
        if self.https.is_none() && self.http.is_none() && self.all.is_none() {
            return None;
        }
        let value = |v: &Option<String>| v.clone().unwrap_or_default();
        Some(
            Matcher::builder()
                .https(value(&self.https))
                .http(value(&self.http))
                .all(value(&self.all))
                .no(value(&self.no_proxy))
                .build(),
        )
    }
}

impl ClientBuilder {
    /// A client for `endpoint`, with no token.
    pub fn new(endpoint: Endpoint) -> ClientBuilder {
        ClientBuilder {
            endpoint,
            token: None,
            library: None,
            offline: false,
            retry: RetryConfig::default(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(10),
            proxy: Proxy::default(),
            on_retry: Hook::default(),
        }
    }

    /// Tells `hook` of every retry and every wait for the rate limit before it happens (a CLI
    /// prints them on stderr). Called from the task that retries: keep it quick.
    pub fn on_retry(mut self, hook: RetryHook) -> ClientBuilder {
        self.on_retry = Hook(Some(hook));
        self
    }

    /// The proxies to go through.
    pub fn proxy(mut self, proxy: Proxy) -> ClientBuilder {
        self.proxy = proxy;
        self
    }

    /// The endpoint the client will talk to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The token, sent to the endpoint's origin only.
    pub fn token(mut self, token: Option<Token>) -> ClientBuilder {
        self.token = token;
        self
    }

    /// Names the library that uses this client in the user agent: `{name}/{version}; …`.
    pub fn library(mut self, name: &str, version: &str) -> ClientBuilder {
        self.library = Some((name.to_owned(), version.to_owned()));
        self
    }

    /// Offline mode: every request fails at once with [`Error::Offline`], and nothing is sent.
    pub fn offline(mut self, offline: bool) -> ClientBuilder {
        self.offline = offline;
        self
    }

    /// The retry policy.
    pub fn retry(mut self, retry: RetryConfig) -> ClientBuilder {
        self.retry = retry;
        self
    }

    /// How long to wait for a connection, and for an answer's headers or next bytes.
    pub fn timeouts(mut self, connect: Duration, read: Duration) -> ClientBuilder {
        self.connect_timeout = connect;
        self.read_timeout = read;
        self
    }

    /// Builds the client: the TLS roots are the system's (honouring `SSL_CERT_FILE` and
    /// `SSL_CERT_DIR`), or the bundled web PKI roots when the system has none.
    ///
    /// The connection pool and its TLS configuration are made on the first request, so a
    /// client that only finds files in the cache costs nothing.
    pub fn build(self) -> Result<HubClient, Error> {
        let library =
            self.library.map_or_else(|| "unknown/None".to_owned(), |(n, v)| format!("{n}/{v}"));
        let user_agent = format!(
            "{library}; {}/{}; rust/{}",
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            env!("HUB_RUSTC_VERSION")
        );
        let user_agent = HeaderValue::from_str(&user_agent)
            .map_err(|_| Error::InvalidUserAgent { user_agent })?;
        let auth = self.token.as_ref().map(Token::header).transpose()?;
        Ok(HubClient {
            inner: Arc::new(Inner {
                http: OnceLock::new(),
                connect_timeout: self.connect_timeout,
                proxy: self.proxy.matcher().map(Arc::new),
                endpoint: self.endpoint,
                auth,
                user_agent,
                offline: self.offline,
                retry: self.retry,
                read_timeout: self.read_timeout,
                jitter: Mutex::new(self.retry.seed.unwrap_or_else(time_seed)),
                on_retry: self.on_retry.0,
                gates: Mutex::new(Vec::new()),
            }),
        })
    }
}

type Connector = hyper_rustls::HttpsConnector<ProxyConnector>;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// TCP connections, direct or through a proxy's `CONNECT` tunnel.
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    http: HttpConnector,
    proxy: Option<Arc<Matcher>>,
}

impl tower_service::Service<Uri> for ProxyConnector {
    type Response = TokioIo<tokio::net::TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let mut http = self.http.clone();
        match self.proxy.as_ref().and_then(|m| m.intercept(&dst)) {
            Some(intercept) => {
                let mut tunnel = Tunnel::new(intercept.uri().clone(), http);
                if let Some(auth) = intercept.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                let dst = with_explicit_port(dst);
                Box::pin(async move {
                    std::future::poll_fn(|cx| tunnel.poll_ready(cx)).await?;
                    Ok(tunnel.call(dst).await?)
                })
            }
            None => Box::pin(async move { Ok(http.call(dst).await?) }),
        }
    }
}

/// The tunnel asks for port 443 when the URL has none: say 80 for `http://`.
fn with_explicit_port(dst: Uri) -> Uri {
    if dst.port().is_some() || dst.scheme_str() != Some("http") {
        return dst;
    }
    let host = dst.host().unwrap_or_default().to_owned();
    Uri::builder()
        .scheme("http")
        .authority(format!("{host}:80"))
        .path_and_query(dst.path_and_query().map_or("/", |p| p.as_str()))
        .build()
        .unwrap_or(dst)
}

/// The pooled client: the system's TLS roots (honouring `SSL_CERT_FILE` and `SSL_CERT_DIR`),
/// or the bundled web PKI roots when the system has none.
fn pooled_client(
    connect_timeout: Duration,
    proxy: Option<Arc<Matcher>>,
) -> Client<Connector, HyperBody> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    let http = ProxyConnector { http, proxy };
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let https = match builder.with_native_roots() {
        Ok(b) => b,
        Err(e) => {
            tracing::debug!("no system TLS roots ({e}); using the bundled ones");
            hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots()
        }
    }
    .https_or_http()
    .enable_http1()
    .wrap_connector(http);
    Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(90)).build(https)
}

/// The Hub client: cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct HubClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: OnceLock<Client<Connector, HyperBody>>,
    connect_timeout: Duration,
    proxy: Option<Arc<Matcher>>,
    endpoint: Endpoint,
    /// `Bearer <token>`, marked sensitive; sent to the endpoint's origin only.
    auth: Option<HeaderValue>,
    user_agent: HeaderValue,
    offline: bool,
    retry: RetryConfig,
    read_timeout: Duration,
    /// The state of the jitter's generator (splitmix64).
    jitter: Mutex<u64>,
    on_retry: Option<RetryHook>,
    /// The Hub's rate limits, one per kind of request ([`bucket`]): no request of that kind
    /// before the reset.
    gates: Mutex<Vec<Gate>>,
}

/// A pending reset of the Hub's rate limit for one kind of request.
#[derive(Debug, Clone)]
struct Gate {
    bucket: Bucket,
    until: Instant,
    resets_at: SystemTime,
    policy: Option<String>,
    /// Whether a wait for it was told already (one line for many waiting requests).
    told: bool,
}

/// A seed for the jitter when none is given: the clock and the process id.
fn time_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    nanos ^ (u64::from(std::process::id()) << 32)
}

/// The next number of a splitmix64 sequence.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl fmt::Debug for HubClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubClient")
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("token", &self.inner.auth.as_ref().map(|_| "***"))
            .field("offline", &self.inner.offline)
            .finish_non_exhaustive()
    }
}

/// Whether a request may be sent again after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Idempotent: retried on connection errors, 408, 429 and 5xx.
    Idempotent,
    /// Not idempotent (a commit): retried only on 429, which the server did not process.
    OnlyRateLimited,
    /// Never retried.
    Never,
}

/// One request to send.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HubRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL.
    pub url: String,
    /// Extra headers.
    pub headers: HeaderMap,
    /// The body (empty for none).
    pub body: RequestBody,
    /// The retry policy.
    pub retry: Retry,
    /// Whether the client's token goes with the request (still only to the endpoint's origin).
    /// Off for URLs that carry their own authorization, such as an LFS completion URL.
    pub with_token: bool,
    /// Retries after the first attempt, when set; otherwise the client's
    /// [`RetryConfig::max_retries`].
    pub max_retries: Option<u32>,
}

impl HubRequest {
    /// A `GET` (idempotent).
    pub fn get(url: String) -> HubRequest {
        HubRequest::new(Method::GET, url)
    }

    /// A request with no body, retried when the method is idempotent (not `POST`).
    pub fn new(method: Method, url: String) -> HubRequest {
        let retry = if method == Method::POST { Retry::OnlyRateLimited } else { Retry::Idempotent };
        HubRequest {
            method,
            url,
            headers: HeaderMap::new(),
            body: RequestBody::default(),
            retry,
            with_token: true,
            max_retries: None,
        }
    }

    /// Sets the body.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<RequestBody>) -> HubRequest {
        self.body = body.into();
        self
    }

    /// Sets the retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: Retry) -> HubRequest {
        self.retry = retry;
        self
    }

    /// Retries after the first attempt, instead of the client's [`RetryConfig::max_retries`]
    /// (the backoff stays the client's).
    #[must_use]
    pub fn with_max_retries(mut self, retries: u32) -> HubRequest {
        self.max_retries = Some(retries);
        self
    }

    /// Sends no token, even to the endpoint's origin.
    #[must_use]
    pub fn without_token(mut self) -> HubRequest {
        self.with_token = false;
        self
    }

    /// A `HEAD` (idempotent).
    pub fn head(url: String) -> HubRequest {
        HubRequest { method: Method::HEAD, ..HubRequest::get(url) }
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> HubRequest {
        self.headers.insert(name, value);
        self
    }
}

impl HubClient {
    /// A builder for `endpoint`.
    pub fn builder(endpoint: Endpoint) -> ClientBuilder {
        ClientBuilder::new(endpoint)
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// Whether the client is offline.
    pub fn is_offline(&self) -> bool {
        self.inner.offline
    }

    /// [`Error::NotLoggedIn`] when the client has no token. The calls the Hub refuses without
    /// one (writes, [`HubClient::whoami`]) check this themselves before sending anything, so
    /// that a missing token is told as such, not as the Hub's answer to an anonymous request
    /// (which can be "repository not found").
    pub fn require_token(&self) -> Result<(), Error> {
        match self.inner.auth {
            Some(_) => Ok(()),
            None => Err(Error::NotLoggedIn),
        }
    }

    /// Whether a token would be sent to `url`: only to the endpoint's own origin.
    pub fn sends_token_to(&self, url: &str) -> bool {
        self.inner.auth.is_some()
            && Origin::parse(url).as_ref() == Some(self.inner.endpoint.origin())
    }

    /// The longest wait for an answer's headers or its next bytes.
    pub fn read_timeout(&self) -> Duration {
        self.inner.read_timeout
    }

    /// The retry policy, the one every layer retries by.
    pub fn retry_config(&self) -> &RetryConfig {
        &self.inner.retry
    }

    /// Whether `url` is on the endpoint's origin: the Hub itself, not its CDN or a storage host.
    pub fn is_hub_url(&self, url: &str) -> bool {
        Origin::parse(url).as_ref() == Some(self.inner.endpoint.origin())
    }

    /// Maps an error answer to `url` with the meanings of its host: the Hub's
    /// ([`HubError::from_response`]) for the endpoint's origin, a storage server's
    /// ([`HubError::from_storage_response`], never a word about tokens) for any other.
    pub fn error_from_response(
        &self,
        url: &str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<HubError> {
        if self.is_hub_url(url) {
            HubError::from_response(url, status, headers, body)
        } else {
            HubError::from_storage_response(url, status, headers, body)
        }
    }

    /// Sends `req`, retrying per its policy and the client's [`RetryConfig`], and returns the
    /// answer whatever its status when it is not retried (error statuses are for the caller
    /// to map, see [`HubClient::error_from_response`]); its body is read with
    /// [`ResponseBody::chunk`] or [`ResponseBody::bytes`].
    ///
    /// Once retries are exhausted (the count, or the deadline), the last failure comes back as
    /// [`Error::RetriesExhausted`], an error status included. A 429 of the Hub is waited for
    /// until the reset it states, when that is within [`RATE_LIMIT_WAIT_MAX`]; else
    /// [`Error::RateLimited`] at once.
    pub async fn send(&self, req: &HubRequest) -> Result<Response<ResponseBody>, Error> {
        let response = self.send_raw(req).await?;
        let read_timeout = self.inner.read_timeout;
        Ok(response.map(|body| ResponseBody::new(body, &req.url, read_timeout)))
    }

    /// [`HubClient::send`], with hyper's body: for the crate's own readers, which bound their
    /// waits themselves.
    pub(crate) async fn send_raw(&self, req: &HubRequest) -> Result<Response<Incoming>, Error> {
        if self.inner.offline {
            return Err(Error::Offline { url: req.url.clone() });
        }
        let policy = self.inner.retry;
        let max = req.max_retries.unwrap_or(policy.max_retries);
        let start = Instant::now();
        let mut attempt = 0;
        loop {
            let res = self.send_once(req).await;
            let next = match &res {
                Ok(response) => {
                    self.status_retry(req, response.status(), response.headers(), attempt)?
                }
                Err(e) if e.is_transient() && req.retry == Retry::Idempotent => {
                    Some((self.backoff(attempt), reason_of(e)))
                }
                Err(_) => None,
            };
            let Some((wait, reason)) = next else { return res };
            if attempt < max && start.elapsed() + wait <= policy.deadline {
                attempt += 1;
                if matches!(reason, RetryReason::RateLimited { .. }) {
                    self.gate_told(&req.url);
                }
                self.report_retry(&RetryNotice::new(&req.url, reason, attempt, max, wait));
                tokio::time::sleep(wait).await;
                continue;
            }
            if attempt == 0 {
                return res;
            }
            let last = match res {
                Ok(response) => self.error_of(&req.url, response).await,
                Err(e) => e,
            };
            return Err(Error::RetriesExhausted {
                attempts: attempt + 1,
                elapsed: start.elapsed(),
                source: Box::new(last),
            });
        }
    }

    /// Sends `req` and reads the whole answer; an error status becomes a typed error.
    pub async fn send_and_read(
        &self,
        req: &HubRequest,
    ) -> Result<(http::response::Parts, Bytes), Error> {
        let (parts, body) = self.send(req).await?.into_parts();
        let body = body.bytes(usize::MAX).await?;
        if let Some(e) = self.error_from_response(&req.url, parts.status, &parts.headers, &body) {
            return Err(Error::Hub(e));
        }
        Ok((parts, body))
    }

    /// The typed error of an error answer (its body read, up to 64 KiB, for the message).
    pub(crate) async fn error_of(&self, url: &str, response: Response<Incoming>) -> Error {
        let (parts, body) = response.into_parts();
        let body = ResponseBody::new(body, url, self.inner.read_timeout);
        let body = match body.bytes(64 << 10).await {
            Ok(body) => body,
            Err(e) => return e,
        };
        match self.error_from_response(url, parts.status, &parts.headers, &body) {
            Some(e) => Error::Hub(e),
            None => {
                Error::Protocol { url: url.to_owned(), reason: format!("status {}", parts.status) }
            }
        }
    }

    /// Waits while the Hub's rate limit for requests like this one is reached (a 429, or a
    /// `RateLimit` with no request left, closed the gate of its [`bucket`]); fails at once
    /// with [`Error::RateLimited`] when the reset is further than [`RATE_LIMIT_WAIT_MAX`]. The
    /// first wait of a closing is told.
    pub(crate) async fn wait_for_rate_limit(&self, url: &str) -> Result<(), Error> {
        let bucket = bucket(url);
        let (wait, notice) = {
            let mut gates = self.inner.gates.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            gates.retain(|g| g.until > now);
            let Some(g) = gates.iter_mut().find(|g| g.bucket == bucket) else { return Ok(()) };
            let wait = g.until - now;
            if wait > RATE_LIMIT_WAIT_MAX {
                return Err(Error::RateLimited {
                    url: url.to_owned(),
                    reset_in: wait,
                    resets_at: g.resets_at,
                    policy: g.policy.clone(),
                });
            }
            let resets_at = g.resets_at;
            let notice = (!g.told && wait >= Duration::from_secs(1)).then(|| {
                g.told = true;
                RetryNotice::new(url, RetryReason::RateLimited { resets_at }, 0, 0, wait)
            });
            (wait, notice)
        };
        if let Some(notice) = notice {
            self.report_retry(&notice);
        }
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// Marks the pending rate-limit wait for requests like `url` as told (a retry said so).
    fn gate_told(&self, url: &str) {
        let bucket = bucket(url);
        let mut gates = self.inner.gates.lock().unwrap_or_else(|e| e.into_inner());
        gates.iter_mut().filter(|g| g.bucket == bucket).for_each(|g| g.told = true);
    }

    /// Closes the gate of `url`'s [`bucket`] until the reset an answer of the Hub states:
    /// always for a 429; for another answer only when its `RateLimit` has no request left and
    /// resets soon enough to wait for.
    fn observe_rate_limit(&self, url: &str, status: StatusCode, headers: &HeaderMap) {
        let now = SystemTime::now();
        let Some((reset, policy)) = stated_reset(status, headers, now) else { return };
        if status != StatusCode::TOO_MANY_REQUESTS && reset > RATE_LIMIT_WAIT_MAX {
            return;
        }
        let (bucket, until, resets_at) = (bucket(url), Instant::now() + reset, now + reset);
        let mut gates = self.inner.gates.lock().unwrap_or_else(|e| e.into_inner());
        let live = Instant::now();
        gates.retain(|g| g.until > live);
        match gates.iter_mut().find(|g| g.bucket == bucket) {
            Some(g) if g.until >= until => (),
            Some(g) => (g.until, g.resets_at, g.policy) = (until, resets_at, policy),
            None => gates.push(Gate { bucket, until, resets_at, policy, told: false }),
        }
    }

    async fn send_once(&self, req: &HubRequest) -> Result<Response<Incoming>, Error> {
        let to_hub = self.is_hub_url(&req.url);
        if to_hub {
            self.wait_for_rate_limit(&req.url).await?;
        }
        let mut builder = Request::builder().method(req.method.clone()).uri(&req.url);
        if let Some(headers) = builder.headers_mut() {
            headers.extend(req.headers.clone());
            headers.insert(USER_AGENT, self.inner.user_agent.clone());
            headers.remove(AUTHORIZATION);
            if let Some(auth) = &self.inner.auth
                && req.with_token
                && self.sends_token_to(&req.url)
            {
                headers.insert(AUTHORIZATION, auth.clone());
            }
        }
        let request = builder
            .body(HyperBody::new(&req.body)?)
            .map_err(|e| Error::InvalidUrl { url: req.url.clone(), reason: e.to_string() })?;
        let http = self
            .inner
            .http
            .get_or_init(|| pooled_client(self.inner.connect_timeout, self.inner.proxy.clone()));
        // The connection has its own timeout (a black-holed Hub is then told as unreachable, not
        // retried); the answer's headers have the read timeout after it.
        let limit = self.inner.connect_timeout.saturating_add(self.inner.read_timeout);
        match tokio::time::timeout(limit, http.request(request)).await {
            Err(_) => Err(Error::Timeout { url: req.url.clone() }),
            Ok(Err(e)) => Err(Error::connection(&req.url, to_hub, Box::new(e))),
            Ok(Ok(response)) => {
                if to_hub {
                    self.observe_rate_limit(&req.url, response.status(), response.headers());
                }
                Ok(response)
            }
        }
    }

    /// Whether and when to retry an answer with `status`: `None` when it is not retried (a
    /// success, a permanent error, or a status the request's policy does not retry).
    /// The download's fetchers, which retry ranges themselves, ask this too (as `Idempotent`).
    pub(crate) fn status_retry(
        &self,
        req: &HubRequest,
        status: StatusCode,
        headers: &HeaderMap,
        attempt: u32,
    ) -> Result<Option<(Duration, RetryReason)>, Error> {
        let retryable = match req.retry {
            Retry::Never => false,
            Retry::OnlyRateLimited => status == StatusCode::TOO_MANY_REQUESTS,
            Retry::Idempotent => matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504),
        };
        if !retryable {
            return Ok(None);
        }
        let now = SystemTime::now();
        if status == StatusCode::TOO_MANY_REQUESTS && self.is_hub_url(&req.url) {
            return match stated_reset(status, headers, now) {
                Some((reset, policy)) if reset > RATE_LIMIT_WAIT_MAX => Err(Error::RateLimited {
                    url: req.url.clone(),
                    reset_in: reset,
                    resets_at: now + reset,
                    policy,
                }),
                Some((reset, _)) => {
                    // Not all at the same instant, when many requests waited for the reset.
                    let spread = (reset / 10).min(Duration::from_secs(1));
                    let wait = reset + spread.mul_f64(self.random_unit());
                    Ok(Some((wait, RetryReason::RateLimited { resets_at: now + reset })))
                }
                None => Ok(Some((self.backoff(attempt), RetryReason::Status(429)))),
            };
        }
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, now));
        let wait = match retry_after {
            Some(wait) => wait.min(MAX_RETRY_AFTER),
            None => self.backoff(attempt),
        };
        Ok(Some((wait, RetryReason::Status(status.as_u16()))))
    }

    /// The wait before retry `attempt + 1`: [`RetryConfig::initial_backoff`] doubled `attempt`
    /// times, at most [`RetryConfig::max_backoff`], of which a random half is left out
    /// (jitter, from the seeded generator): between half the base and the base.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let retry = &self.inner.retry;
        let base =
            retry.initial_backoff.saturating_mul(1 << attempt.min(16)).min(retry.max_backoff);
        base.mul_f64(0.5 + 0.5 * self.random_unit())
    }

    /// A number in `[0, 1)` from the jitter's generator.
    fn random_unit(&self) -> f64 {
        let mut state = self.inner.jitter.lock().unwrap_or_else(|e| e.into_inner());
        (splitmix64(&mut state) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Tells of a retry (or a wait for the rate limit) about to happen: logged, and handed to
    /// the hook of [`ClientBuilder::on_retry`].
    pub(crate) fn report_retry(&self, notice: &RetryNotice) {
        tracing::info!("{}: {notice}", RedactedUrl(&notice.url));
        if let Some(hook) = &self.inner.on_retry {
            hook(notice);
        }
    }
}

/// The kinds of request the Hub limits apart (its `"api"`, `"resolvers"` and `"pages"`
/// policies): a 429 on one leaves the others alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bucket {
    /// `/api/…`.
    Api,
    /// `…/resolve/…`: file downloads.
    Resolvers,
    /// Anything else (web pages, git).
    Pages,
}

/// Which of the Hub's limits a request to `url` counts against, by its path.
fn bucket(url: &str) -> Bucket {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    if path.contains("/resolve/") {
        Bucket::Resolvers
    } else if path.starts_with("/api/") {
        Bucket::Api
    } else {
        Bucket::Pages
    }
}

/// Why a failed request is retried.
pub(crate) fn reason_of(error: &Error) -> RetryReason {
    match error {
        Error::Timeout { .. } => RetryReason::Timeout,
        Error::Stalled { .. } => RetryReason::Stalled,
        Error::Hub(e) => RetryReason::Status(e.status()),
        _ => RetryReason::Network,
    }
}

/// The reset an answer states, with the limit's policy name: on a 429, the `RateLimit`'s
/// `t` when it has no request left, else `Retry-After`, else any `RateLimit`'s `t`; on another
/// answer, a `RateLimit` with no request left.
fn stated_reset(
    status: StatusCode,
    headers: &HeaderMap,
    now: SystemTime,
) -> Option<(Duration, Option<String>)> {
    let limit = headers.get("ratelimit").and_then(|v| v.to_str().ok()).and_then(RateLimit::parse);
    let exhausted = limit.as_ref().filter(|l| l.is_exhausted());
    if status != StatusCode::TOO_MANY_REQUESTS {
        return exhausted.map(|l| (l.reset, l.policy.clone()));
    }
    if let Some(l) = exhausted {
        return Some((l.reset, l.policy.clone()));
    }
    let retry_after = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now));
    match (retry_after, limit) {
        (Some(wait), limit) => Some((wait, limit.and_then(|l| l.policy))),
        (None, Some(l)) => Some((l.reset, l.policy)),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port nothing listens on: bound, then closed.
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    fn client(endpoint: &str, retry: RetryConfig) -> HubClient {
        HubClient::builder(Endpoint::new(endpoint).unwrap()).retry(retry).build().unwrap()
    }

    fn seeded(seed: u64) -> RetryConfig {
        RetryConfig { seed: Some(seed), ..RetryConfig::default() }
    }

    #[test]
    fn seeded_jitter_is_the_same_every_time_and_stays_within_the_curve() {
        let a = client("https://hub.test", seeded(7));
        let b = client("https://hub.test", seeded(7));
        let waits: Vec<Duration> = (0..8).map(|n| a.backoff(n)).collect();
        assert_eq!(waits, (0..8).map(|n| b.backoff(n)).collect::<Vec<_>>());
        let other: Vec<Duration> =
            (0..8).map(|n| client("https://hub.test", seeded(8)).backoff(n)).collect();
        assert_ne!(waits, other, "another seed, other waits");
        for (n, wait) in waits.iter().enumerate() {
            let base = Duration::from_secs(1 << n.min(3));
            assert!(*wait >= base / 2 && *wait <= base, "attempt {n}: {wait:?} within {base:?}");
        }
        let spread: std::collections::BTreeSet<Duration> = (0..20).map(|_| a.backoff(3)).collect();
        assert!(spread.len() > 10, "jitter spreads the waits: {spread:?}");
    }

    #[test]
    fn notices_read_as_one_line_for_a_person() {
        let notice = RetryNotice::new(
            "https://hub.test/x?sig=1",
            RetryReason::Status(503),
            2,
            5,
            Duration::from_millis(4200),
        );
        assert_eq!(notice.to_string(), "retrying in 4 s (HTTP 503, attempt 2 of 5)");
        let network = RetryNotice::new("u", RetryReason::Network, 1, 5, Duration::from_millis(600));
        assert_eq!(network.to_string(), "retrying in 600 ms (network error, attempt 1 of 5)");
        let resets_at =
            SystemTime::UNIX_EPOCH + Duration::from_secs(86_400 * 3 + 21 * 3600 + 55 * 60 + 3);
        let wait = RetryNotice::new(
            "u",
            RetryReason::RateLimited { resets_at },
            0,
            0,
            Duration::from_secs(55),
        );
        assert_eq!(
            wait.to_string(),
            "waiting 55 s for the Hub's rate limit (resets at 21:55:03 UTC)"
        );
        let retry = RetryNotice { attempt: 1, max: 5, ..wait };
        assert!(retry.to_string().ends_with("UTC, attempt 1 of 5)"), "{retry}");
    }

    #[tokio::test]
    async fn the_hub_unreachable_fails_at_once() {
        let port = closed_port();
        let endpoint = format!("http://127.0.0.1:{port}");
        let client = client(&endpoint, RetryConfig { max_retries: 5, ..seeded(1) });
        let started = Instant::now();
        let err = client.send(&HubRequest::get(format!("{endpoint}/api/x?token=s"))).await;
        let err = err.expect_err("nothing listens");
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
        assert!(
            matches!(&err, Error::Unreachable { reason, .. } if reason == "connection refused"),
            "{err:?}"
        );
        assert!(!err.is_transient());
        assert_eq!(
            err.to_string(),
            format!(
                "cannot reach {endpoint} (connection refused): check your network, or set \
                 HF_HUB_OFFLINE=1 to use the cache only"
            )
        );
    }

    #[tokio::test]
    async fn another_host_refusing_is_retried_within_the_deadline() {
        let endpoint = format!("http://127.0.0.1:{}", closed_port());
        let cdn = format!("http://127.0.0.1:{}/lfs/x?X-Signature=secret", closed_port());
        let notices = Arc::new(Mutex::new(Vec::new()));
        let seen = notices.clone();
        let retry = RetryConfig {
            max_retries: 100,
            deadline: Duration::from_millis(400),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(100),
            seed: Some(3),
        };
        let client = HubClient::builder(Endpoint::new(&endpoint).unwrap())
            .retry(retry)
            .on_retry(Arc::new(move |n: &RetryNotice| {
                seen.lock().unwrap().push(n.clone());
            }))
            .build()
            .unwrap();
        let started = Instant::now();
        let err = client.send(&HubRequest::get(cdn.clone())).await.expect_err("refused");
        let elapsed = started.elapsed();
        let Error::RetriesExhausted { attempts, source, .. } = &err else {
            panic!("{err:?}");
        };
        assert!(matches!(**source, Error::Network { .. }), "{source:?}");
        let notices = notices.lock().unwrap();
        assert_eq!(*attempts as usize, notices.len() + 1, "every retry was told");
        assert!((4..=9).contains(attempts), "{attempts} attempts of 50-100 ms in 400 ms");
        assert!(elapsed < Duration::from_millis(600), "the deadline holds: {elapsed:?}");
        assert!(notices.iter().all(|n| n.reason == RetryReason::Network && n.max == 100));
        assert_eq!(
            notices.iter().map(|n| n.attempt).collect::<Vec<_>>(),
            (1..*attempts).collect::<Vec<_>>()
        );
        let text = format!("{err}: {source}");
        assert!(text.starts_with(&format!("gave up after {attempts} attempts in ")), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }

    #[test]
    fn requests_count_against_the_limit_of_their_kind() {
        assert_eq!(bucket("https://h/acme/m/resolve/main/a.bin"), Bucket::Resolvers);
        assert_eq!(bucket("https://h/datasets/a/b/resolve/refs%2Fpr%2F1/x"), Bucket::Resolvers);
        assert_eq!(bucket("https://h/api/models/acme/m"), Bucket::Api);
        assert_eq!(bucket("https://h/acme/m.git/info/refs?x=/resolve/"), Bucket::Pages);
        assert_eq!(bucket("https://h"), Bucket::Pages);
        assert_eq!(bucket("garbage"), Bucket::Pages);
    }

    #[tokio::test]
    async fn a_far_reset_closes_the_gate_and_a_near_one_is_waited_for() {
        let far = client("http://127.0.0.1:9", seeded(5));
        let mut headers = HeaderMap::new();
        headers.insert("ratelimit", HeaderValue::from_static("\"api\";r=0;t=3000"));
        far.observe_rate_limit(
            "http://127.0.0.1:9/api/models",
            StatusCode::TOO_MANY_REQUESTS,
            &headers,
        );
        let err = far.wait_for_rate_limit("http://127.0.0.1:9/api/models").await;
        let err = err.expect_err("too far to wait");
        let Error::RateLimited { reset_in, policy, .. } = &err else { panic!("{err:?}") };
        assert!(*reset_in > Duration::from_secs(2990), "{reset_in:?}");
        assert_eq!(policy.as_deref(), Some("api"));
        let text = err.to_string();
        assert!(text.contains("resets in 50 min") && text.contains("log in"), "{text}");
        // Nothing is sent meanwhile: the request fails before connecting.
        let sent = far.send(&HubRequest::get("http://127.0.0.1:9/api/x".into())).await;
        assert!(matches!(sent, Err(Error::RateLimited { .. })), "{sent:?}");
        // Downloads count against another limit: not held back.
        let started = Instant::now();
        far.wait_for_rate_limit("http://127.0.0.1:9/acme/m/resolve/main/x?api/").await.unwrap();
        assert!(started.elapsed() < Duration::from_millis(100));

        let near = client("http://127.0.0.1:9", seeded(5));
        headers.insert("ratelimit", HeaderValue::from_static("\"api\";r=0;t=1"));
        // A success that says no request is left closes the gate too.
        near.observe_rate_limit("http://127.0.0.1:9/api/y", StatusCode::OK, &headers);
        let started = Instant::now();
        near.wait_for_rate_limit("http://127.0.0.1:9/api/x").await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());
        // Another host is not the Hub's rate limit.
        assert!(!near.is_hub_url("http://127.0.0.2:9/lfs/x"));
    }
}
