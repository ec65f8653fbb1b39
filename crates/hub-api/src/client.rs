//! The HTTP transport: one pooled hyper client over rustls, the user agent, the token sent only
//! to the endpoint's origin, timeouts, and retries with backoff, jitter and `Retry-After`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, HeaderName, HeaderValue, RETRY_AFTER, USER_AGENT};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use hub_url::{Endpoint, Origin};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioExecutor;
use hyper_util::rt::TokioIo;

use crate::Error;
use crate::body::{HyperBody, RequestBody};

/// A Hub access token. Never shown: `Debug` prints `Token(***)`, and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Checks the token: surrounding white space is trimmed; an empty token or one with bytes
    /// that cannot go in an HTTP header is refused (never silently dropped).
    pub fn new(token: &str) -> Result<Token, Error> {
        let token = token.trim();
        if token.is_empty() || HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
            return Err(Error::InvalidToken);
        }
        Ok(Token(token.to_owned()))
    }

    /// The secret itself, for the `Authorization` header or a credential helper.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    fn header(&self) -> Result<HeaderValue, Error> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.0))
            .map_err(|_| Error::InvalidToken)?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// How often and how patiently a request is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first wait; doubled each time.
    pub initial_backoff: Duration,
    /// The longest wait between attempts when the server does not say; a `Retry-After` is
    /// honoured up to [`MAX_RETRY_AFTER`].
    pub max_backoff: Duration,
}

impl Default for RetryConfig {
    /// 5 retries, 1 s doubling up to 8 s, as the Python library.
    fn default() -> RetryConfig {
        RetryConfig {
            max_retries: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(8),
        }
    }
}

/// The longest `Retry-After` a client waits for before retrying.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

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
        }
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
    pub fn body(mut self, body: impl Into<RequestBody>) -> HubRequest {
        self.body = body.into();
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: Retry) -> HubRequest {
        self.retry = retry;
        self
    }

    /// Retries after the first attempt, instead of the client's [`RetryConfig::max_retries`]
    /// (the backoff stays the client's).
    pub fn max_retries(mut self, retries: u32) -> HubRequest {
        self.max_retries = Some(retries);
        self
    }

    /// Sends no token, even to the endpoint's origin.
    pub fn without_token(mut self) -> HubRequest {
        self.with_token = false;
        self
    }

    /// A `HEAD` (idempotent).
    pub fn head(url: String) -> HubRequest {
        HubRequest { method: Method::HEAD, ..HubRequest::get(url) }
    }

    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> HubRequest {
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

    /// Sends `req`, retrying per its policy, and returns the answer, whatever its status (error
    /// statuses are for the caller to map, see [`crate::HubError::from_response`]), once retries
    /// are exhausted.
    pub async fn send(&self, req: &HubRequest) -> Result<Response<Incoming>, Error> {
        if self.inner.offline {
            return Err(Error::Offline { url: req.url.clone() });
        }
        let max_retries = req.max_retries.unwrap_or(self.inner.retry.max_retries);
        let mut attempt = 0;
        loop {
            let res = self.send_once(req).await;
            let wait = match &res {
                Ok(response) => {
                    self.retry_wait(req.retry, response.status(), response.headers(), attempt)
                }
                Err(e) if e.is_transient() && req.retry == Retry::Idempotent => {
                    self.backoff_wait(attempt)
                }
                Err(_) => None,
            };
            match wait {
                Some(wait) if attempt < max_retries => {
                    tracing::debug!(
                        "retrying {} {} in {wait:?} (attempt {})",
                        req.method,
                        req.url,
                        attempt + 1
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                _ => return res,
            }
        }
    }

    /// Sends `req` and reads the whole answer; an error status becomes a typed error.
    pub async fn send_and_read(
        &self,
        req: &HubRequest,
    ) -> Result<(http::response::Parts, Bytes), Error> {
        let response = self.send(req).await?;
        let (parts, mut body) = response.into_parts();
        // The read timeout bounds each wait for more bytes, not the whole body.
        let mut collected = Vec::new();
        loop {
            let frame = tokio::time::timeout(self.inner.read_timeout, body.frame())
                .await
                .map_err(|_| Error::Timeout { url: req.url.clone() })?;
            match frame {
                None => break,
                Some(Err(e)) => {
                    return Err(Error::Network { url: req.url.clone(), cause: Box::new(e) });
                }
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        collected.extend_from_slice(&data);
                    }
                }
            }
        }
        let body = Bytes::from(collected);
        if let Some(e) =
            crate::HubError::from_response(&req.url, parts.status, &parts.headers, &body)
        {
            return Err(Error::Hub(e));
        }
        Ok((parts, body))
    }

    async fn send_once(&self, req: &HubRequest) -> Result<Response<Incoming>, Error> {
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
        match tokio::time::timeout(self.inner.read_timeout, http.request(request)).await {
            Err(_) => Err(Error::Timeout { url: req.url.clone() }),
            Ok(Err(e)) => Err(Error::connection(&req.url, Box::new(e))),
            Ok(Ok(response)) => Ok(response),
        }
    }

    fn retry_wait(
        &self,
        retry: Retry,
        status: StatusCode,
        headers: &HeaderMap,
        attempt: u32,
    ) -> Option<Duration> {
        let retryable = match retry {
            Retry::Never => false,
            Retry::OnlyRateLimited => status == StatusCode::TOO_MANY_REQUESTS,
            Retry::Idempotent => matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504),
        };
        if !retryable {
            return None;
        }
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        match retry_after {
            Some(wait) => Some(wait.min(MAX_RETRY_AFTER)),
            None => self.backoff_wait(attempt),
        }
    }

    /// The retry policy.
    pub fn retry_config(&self) -> &RetryConfig {
        &self.inner.retry
    }

    /// How long to wait before retry number `attempt + 1`.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        self.backoff_wait(attempt).unwrap_or_default()
    }

    /// Exponential backoff with ±25 % jitter.
    fn backoff_wait(&self, attempt: u32) -> Option<Duration> {
        let retry = &self.inner.retry;
        let base =
            retry.initial_backoff.saturating_mul(1 << attempt.min(16)).min(retry.max_backoff);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let jitter = 0.75 + f64::from(nanos % 1000) / 2000.0;
        Some(base.mul_f64(jitter))
    }
}
