//! Fault injection and the request counters.
//!
//! Faults are set through [`Faults`] (from [`crate::TestHub::faults`]) or `POST /_testhub/faults`.
//!
//! - Whole answers: `fail_next` answers the next N requests with a status; `ratelimit` answers
//!   429 with the Hub's `RateLimit` / `RateLimit-Policy` headers until its window resets (or N
//!   times); `fail_part` refuses the PUTs of one multipart part number, N times or until cleared;
//!   `status_after_bytes` cuts the next CDN body and then answers a status to every CDN request
//!   (N times or until cleared); `expire_url` shortens the lifetime of the signed URLs issued from
//!   then on (the CDN refuses an expired one with S3's 403 `AccessDenied` XML).
//! - File bodies (a resolve GET on the hub or a GET on the CDN): `drop_after_bytes`,
//!   `corrupt_offset`, `short_body` and `long_body` are one-shot; `trickle` and `stall` apply to
//!   the next N bodies (or every one until cleared); `throttle` and `ignore_range` stay until
//!   cleared.
//! - Connections: `refuse_connect` closes the listener of a host (a connection is then refused,
//!   as by a machine with nothing listening) until cleared or for some seconds.
//! - Headers: `override_header` stays until cleared.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// Locks `m`, ignoring poisoning (a panicking handler must not take the hub down).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Which listener a request arrived on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Host {
    /// The hub host (`127.0.0.1`).
    Hub,
    /// The CDN / storage host (`127.0.0.2`).
    Cdn,
}

/// Which host a `fail_next` fault applies to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostScope {
    /// Only the hub host.
    Hub,
    /// Only the CDN host.
    Cdn,
    /// Both.
    #[default]
    Any,
}

impl HostScope {
    pub(crate) fn matches(self, host: Host) -> bool {
        matches!(
            (self, host),
            (HostScope::Any, _) | (HostScope::Hub, Host::Hub) | (HostScope::Cdn, Host::Cdn)
        )
    }
}

#[derive(Debug, Clone, Copy)]
struct FailNext {
    remaining: u32,
    status: u16,
    retry_after: Option<u64>,
    scope: HostScope,
}

/// Refused PUTs of one multipart part number (of any object).
#[derive(Debug, Clone, Copy)]
struct FailPart {
    part: u64,
    /// How many more PUTs to refuse; `None` = every one.
    remaining: Option<u32>,
    status: u16,
    /// How many PUTs were refused since the fault was set.
    refused: u64,
}

/// A body fault that applies to the next N file bodies (`None` = every one until cleared).
#[derive(Debug, Clone, Copy)]
struct Repeated<T> {
    fault: T,
    remaining: Option<u32>,
}

impl<T: Copy> Repeated<T> {
    /// Takes the fault for one body, clearing `slot` when it was the last one.
    fn take(slot: &mut Option<Repeated<T>>) -> Option<T> {
        let rep = slot.as_mut()?;
        let fault = rep.fault;
        match &mut rep.remaining {
            Some(0) => {
                *slot = None;
                return None;
            }
            Some(n) => {
                *n -= 1;
                if *n == 0 {
                    *slot = None;
                }
            }
            None => (),
        }
        Some(fault)
    }
}

/// A 429 fault: the Hub's fixed-window rate limit, refused until `reset_at`.
#[derive(Debug, Clone)]
struct RateLimit {
    /// How many more requests to refuse; `None` = every one until the window resets.
    remaining: Option<u32>,
    scope: HostScope,
    /// Only requests whose path contains this (e.g. `/resolve/`, `/api/`).
    path_contains: Option<String>,
    reset_at: Instant,
    retry_after: Option<u64>,
}

/// A CDN that cuts a body, then refuses every request.
#[derive(Debug, Clone, Copy)]
struct StatusAfter {
    bytes: u64,
    status: u16,
    /// How many requests to refuse once the body was cut; `None` = every one until cleared.
    remaining: Option<u32>,
    /// Whether the body was cut (from then on, requests are refused).
    cut: bool,
}

#[derive(Debug, Default)]
struct FaultState {
    fail_next: Option<FailNext>,
    fail_parts: Vec<FailPart>,
    drop_after_bytes: Option<u64>,
    throttle_bytes_per_sec: Option<u64>,
    corrupt_offset: Option<u64>,
    header_overrides: Vec<HeaderOverride>,
    ignore_range: bool,
    trickle: Option<Repeated<Trickle>>,
    stall: Option<Repeated<u64>>,
    short_body: Option<u64>,
    long_body: Option<u64>,
    status_after: Option<StatusAfter>,
    ratelimit: Option<RateLimit>,
    url_lifetime: Option<Duration>,
}

/// After `after_bytes` bytes of a body, the rest at `bytes_per_sec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Trickle {
    pub(crate) after_bytes: u64,
    pub(crate) bytes_per_sec: u64,
}

/// Until when a listener refuses connections: `None` = until cleared.
pub(crate) type RefusedUntil = Option<Instant>;

/// Which listeners are closed by `refuse_connect`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Refused {
    hub: Option<RefusedUntil>,
    cdn: Option<RefusedUntil>,
}

impl Refused {
    /// Whether `host` refuses connections at `now`; and until when (`None` = until cleared).
    pub(crate) fn refuses(&self, host: Host, now: Instant) -> Option<RefusedUntil> {
        let until = match host {
            Host::Hub => self.hub,
            Host::Cdn => self.cdn,
        }?;
        match until {
            Some(t) if t <= now => None,
            other => Some(other),
        }
    }
}

/// What an injected fault answers instead of the route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Injected {
    /// `fail_next`: a status, with `Retry-After` if given.
    Status { status: u16, retry_after: Option<u64> },
    /// `ratelimit`: a 429 of bucket `bucket`, resetting in `reset_secs`.
    RateLimited { bucket: &'static str, quota: u32, reset_secs: u64, retry_after: Option<u64> },
    /// `status_after_bytes`: the CDN refuses, with an S3-like error body.
    CdnRefusal { status: u16 },
}

/// The length of the Hub's rate-limit windows, in seconds (`RateLimit-Policy`'s `w`).
pub(crate) const RATE_LIMIT_WINDOW_SECS: u64 = 300;

/// The rate-limit bucket of a request path and its quota for an anonymous user (the Hub's
/// `rate-limits` documentation: 500 API calls, 3000 resolver calls per 5 minutes).
fn bucket_of(path: &str) -> (&'static str, u32) {
    if path.contains("/resolve/") { ("resolvers", 3000) } else { ("api", 500) }
}

/// A response header replaced on every response of one route.
#[derive(Debug, Clone)]
struct HeaderOverride {
    route: String,
    name: String,
    value: String,
}

/// The faults a single file body is served with.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct BodyFaults {
    pub(crate) drop_after_bytes: Option<u64>,
    pub(crate) throttle_bytes_per_sec: Option<u64>,
    pub(crate) corrupt_offset: Option<u64>,
    pub(crate) trickle: Option<Trickle>,
    /// Send nothing more after this many bytes, keeping the connection open.
    pub(crate) stall_after_bytes: Option<u64>,
    /// Withhold this many of the body's last bytes, then end it (short of its Content-Length).
    pub(crate) short_by: Option<u64>,
}

impl BodyFaults {
    /// Whether the body is served as stored, untouched.
    pub(crate) fn is_none(&self) -> bool {
        self.drop_after_bytes.is_none()
            && self.throttle_bytes_per_sec.is_none()
            && self.corrupt_offset.is_none()
            && self.trickle.is_none()
            && self.stall_after_bytes.is_none()
            && self.short_by.is_none()
    }
}

/// Handle on the hub's fault injection; cheap to clone.
#[derive(Debug, Clone)]
pub struct Faults {
    inner: Arc<Mutex<FaultState>>,
    /// The listeners `refuse_connect` closed; the accept loops watch it.
    refused: Arc<watch::Sender<Refused>>,
    /// Whether the accept loop of the hub / the CDN has its listener closed now.
    closed: Arc<Mutex<[bool; 2]>>,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            inner: Arc::default(),
            refused: Arc::new(watch::Sender::new(Refused::default())),
            closed: Arc::default(),
        }
    }
}

impl Faults {
    /// Answers the next `count` requests (hub or CDN) with `status`, plus `Retry-After: secs` if given.
    pub fn fail_next(&self, count: u32, status: u16, retry_after: Option<u64>) {
        self.fail_next_on(HostScope::Any, count, status, retry_after);
    }

    /// Like [`Faults::fail_next`], limited to requests on `scope`.
    pub fn fail_next_on(
        &self,
        scope: HostScope,
        count: u32,
        status: u16,
        retry_after: Option<u64>,
    ) {
        lock(&self.inner).fail_next =
            (count > 0).then_some(FailNext { remaining: count, status, retry_after, scope });
    }

    /// Answers `status` to PUTs of multipart part `part` (1-based, of any object) on the CDN:
    /// the next `times` ones, or every one until cleared (`None`). The part's body is read
    /// first, as a storage service that fails after receiving it. Setting the fault again for
    /// the same part replaces it and restarts its count ([`Faults::refused_part_puts`]).
    pub fn fail_part(&self, part: u64, times: Option<u32>, status: u16) {
        let mut state = lock(&self.inner);
        state.fail_parts.retain(|f| f.part != part);
        state.fail_parts.push(FailPart { part, remaining: times, status, refused: 0 });
    }

    /// How many PUTs of part `part` [`Faults::fail_part`] refused since it was set for that
    /// part (0 if it never was, or after [`Faults::clear`]).
    pub fn refused_part_puts(&self, part: u64) -> u64 {
        lock(&self.inner).fail_parts.iter().find(|f| f.part == part).map_or(0, |f| f.refused)
    }

    /// Aborts the connection after `bytes` bytes of the next file body served.
    pub fn drop_after_bytes(&self, bytes: u64) {
        lock(&self.inner).drop_after_bytes = Some(bytes);
    }

    /// Limits every file body to `bytes_per_sec` until cleared (`None` clears).
    pub fn throttle(&self, bytes_per_sec: Option<u64>) {
        lock(&self.inner).throttle_bytes_per_sec = bytes_per_sec.filter(|n| *n > 0);
    }

    /// Flips the byte at absolute file offset `offset` in the next file body that covers it.
    pub fn corrupt_offset(&self, offset: u64) {
        lock(&self.inner).corrupt_offset = Some(offset);
    }

    /// Sets response header `name` to `value` on every response of `route` (a route name as
    /// counted in [`Stats::requests`], e.g. `resolve`, `cdn-get`; `*` = every route) until
    /// cleared, replacing the header the route would have sent. Several overrides can be active;
    /// a later one for the same route and header replaces the earlier one. A name or value that
    /// cannot go in a header is ignored when responses are built.
    pub fn override_header(&self, route: &str, name: &str, value: &str) {
        let mut state = lock(&self.inner);
        let name = name.to_ascii_lowercase();
        state.header_overrides.retain(|o| !(o.route == route && o.name == name));
        state.header_overrides.push(HeaderOverride {
            route: route.to_owned(),
            name,
            value: value.to_owned(),
        });
    }

    /// The header overrides that apply to a response of `route`: `(name, value)`.
    pub(crate) fn header_overrides(&self, route: &str) -> Vec<(String, String)> {
        lock(&self.inner)
            .header_overrides
            .iter()
            .filter(|o| o.route == route || o.route == "*")
            .map(|o| (o.name.clone(), o.value.clone()))
            .collect()
    }

    /// Serves every file body whole, with `200`, whatever its `Range` header says (as some
    /// proxies and CDNs do), until cleared.
    pub fn ignore_range(&self, ignore: bool) {
        lock(&self.inner).ignore_range = ignore;
    }

    /// Whether `Range` headers are ignored.
    pub(crate) fn ignores_range(&self) -> bool {
        lock(&self.inner).ignore_range
    }

    /// Signed URLs issued from now on are valid for `lifetime` only (rounded up to whole
    /// seconds; `None` restores [`crate::HubConfig::url_lifetime`]). The CDN refuses an expired
    /// URL with 403 and S3's `AccessDenied` / `Request has expired` XML; a URL obtained again
    /// from the hub works.
    pub fn expire_url(&self, lifetime: Option<Duration>) {
        lock(&self.inner).url_lifetime = lifetime;
    }

    /// The lifetime `expire_url` set, if any.
    pub(crate) fn url_lifetime(&self) -> Option<Duration> {
        lock(&self.inner).url_lifetime
    }

    /// After `after_bytes` bytes of each of the next `count` file bodies (`None` = every one
    /// until cleared), sends the rest at `bytes_per_sec` (at least 1): a connection that keeps
    /// moving, too slowly for a read timeout to fire.
    pub fn trickle(&self, after_bytes: u64, bytes_per_sec: u64, count: Option<u32>) {
        let fault = Trickle { after_bytes, bytes_per_sec: bytes_per_sec.max(1) };
        lock(&self.inner).trickle =
            (count != Some(0)).then_some(Repeated { fault, remaining: count });
    }

    /// After `after_bytes` bytes of each of the next `count` file bodies (`None` = every one
    /// until cleared), sends nothing more but keeps the connection open (until the client goes
    /// away, or two minutes, then the connection is cut).
    pub fn stall(&self, after_bytes: u64, count: Option<u32>) {
        lock(&self.inner).stall =
            (count != Some(0)).then_some(Repeated { fault: after_bytes, remaining: count });
    }

    /// The next file body declares its full `Content-Length` but ends `missing` bytes early
    /// (at least one byte is always withheld), and the connection is closed.
    pub fn short_body(&self, missing: u64) {
        lock(&self.inner).short_body = Some(missing.max(1));
    }

    /// The next ranged file body (`206`) that does not reach the end of the file runs `extra`
    /// bytes past the end its `Range` asked for (up to the end of the file), its
    /// `Content-Range` and `Content-Length` saying so: a server that sends more than asked.
    pub fn long_body(&self, extra: u64) {
        lock(&self.inner).long_body = Some(extra.max(1));
    }

    /// Cuts the next file body on the CDN after `bytes` bytes, then answers `status` (with an
    /// S3-like XML error) to every following request on the CDN: the next `count` ones, or every
    /// one until cleared (`None`): a CDN that starts refusing mid-download.
    pub fn status_after_bytes(&self, bytes: u64, status: u16, count: Option<u32>) {
        lock(&self.inner).status_after =
            Some(StatusAfter { bytes, status, remaining: count, cut: false });
    }

    /// Answers 429 to requests on `scope` (whose path contains `path_contains`, if given) with
    /// the Hub's headers, `RateLimit: "<bucket>";r=0;t=<secs>` and `RateLimit-Policy: "fixed
    /// window";"<bucket>";q=<quota>;w=300` (bucket `resolvers` for resolve URLs, else `api`),
    /// plus `Retry-After: retry_after` if given. The window resets `reset_in` from now: `t`
    /// counts down to it, and the fault ends then, or after `count` refusals if given.
    pub fn ratelimit(
        &self,
        scope: HostScope,
        path_contains: Option<&str>,
        reset_in: Duration,
        count: Option<u32>,
        retry_after: Option<u64>,
    ) {
        lock(&self.inner).ratelimit = (count != Some(0)).then(|| RateLimit {
            remaining: count,
            scope,
            path_contains: path_contains.map(str::to_owned),
            reset_at: Instant::now() + reset_in,
            retry_after,
        });
    }

    /// Closes the listener of the hosts in `scope`, so that connecting to them is refused, for
    /// `duration` (`None` = until cleared), then listens again on the same address. Returns
    /// once the listeners are closed (at most a second later). Connections already open stay.
    pub fn refuse_connect(&self, scope: HostScope, duration: Option<Duration>) {
        self.set_refused(scope, duration);
        let start = Instant::now();
        while !self.listeners_match() && start.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sets the refused listeners without waiting for the accept loops to close them.
    pub(crate) fn set_refused(&self, scope: HostScope, duration: Option<Duration>) {
        let until = duration.map(|d| Instant::now() + d);
        self.refused.send_modify(|r| {
            if scope.matches(Host::Hub) {
                r.hub = Some(until);
            }
            if scope.matches(Host::Cdn) {
                r.cdn = Some(until);
            }
        });
    }

    /// Whether every accept loop did what the refused set asks (closed or listening).
    pub(crate) fn listeners_match(&self) -> bool {
        let closed = *lock(&self.closed);
        let now = Instant::now();
        let refused = *self.refused.borrow();
        [Host::Hub, Host::Cdn]
            .into_iter()
            .all(|host| refused.refuses(host, now).is_some() == closed[host as usize])
    }

    /// What the accept loops watch.
    pub(crate) fn watch_refused(&self) -> watch::Receiver<Refused> {
        self.refused.subscribe()
    }

    /// Called by the accept loop of `host` when it closed (`true`) or reopened its listener.
    pub(crate) fn listener_closed(&self, host: Host, closed: bool) {
        lock(&self.closed)[host as usize] = closed;
    }

    /// Clears every fault (and reopens closed listeners).
    pub fn clear(&self) {
        *lock(&self.inner) = FaultState::default();
        self.refused.send_replace(Refused::default());
    }

    /// Consumes one injected answer for a request on `host` for `path`, if a fault has one.
    pub(crate) fn take_failure(&self, host: Host, path: &str) -> Option<Injected> {
        let mut state = lock(&self.inner);
        if let Some(limit) = &mut state.ratelimit {
            let now = Instant::now();
            if now >= limit.reset_at {
                state.ratelimit = None;
            } else if limit.scope.matches(host)
                && limit.path_contains.as_deref().is_none_or(|p| path.contains(p))
            {
                let left = limit.reset_at - now;
                let reset_secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                let (bucket, quota) = bucket_of(path);
                let res = Injected::RateLimited {
                    bucket,
                    quota,
                    reset_secs,
                    retry_after: limit.retry_after,
                };
                if let Some(n) = &mut limit.remaining {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        state.ratelimit = None;
                    }
                }
                return Some(res);
            }
        }
        if let Some(fail) = state.fail_next.as_mut()
            && fail.scope.matches(host)
        {
            let res = Injected::Status { status: fail.status, retry_after: fail.retry_after };
            fail.remaining = fail.remaining.saturating_sub(1);
            if fail.remaining == 0 {
                state.fail_next = None;
            }
            return Some(res);
        }
        if host == Host::Cdn
            && let Some(after) = state.status_after.as_mut()
            && after.cut
        {
            let res = Injected::CdnRefusal { status: after.status };
            if let Some(n) = &mut after.remaining {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    state.status_after = None;
                }
            }
            return Some(res);
        }
        None
    }

    /// Consumes one refusal of a PUT of multipart part `part`: the status to answer.
    pub(crate) fn take_part_failure(&self, part: u64) -> Option<u16> {
        let mut state = lock(&self.inner);
        let fail = state.fail_parts.iter_mut().find(|f| f.part == part)?;
        match &mut fail.remaining {
            Some(0) => return None,
            Some(n) => *n -= 1,
            None => (),
        }
        fail.refused += 1;
        Some(fail.status)
    }

    /// Takes the `long_body` fault for a ranged body ending at `end` in a file of `size`
    /// bytes: the end to serve instead.
    pub(crate) fn take_long_body(&self, end: u64, size: u64) -> u64 {
        let mut state = lock(&self.inner);
        match state.long_body {
            Some(extra) if end < size => {
                state.long_body = None;
                end.saturating_add(extra).min(size)
            }
            _ => end,
        }
    }

    /// Takes the faults for a file body on `host` covering file offsets `start..end`.
    pub(crate) fn take_body_faults(&self, host: Host, start: u64, end: u64) -> BodyFaults {
        let mut state = lock(&self.inner);
        let corrupt_offset = match state.corrupt_offset {
            Some(off) if off >= start && off < end => state.corrupt_offset.take(),
            _ => None,
        };
        let mut drop_after_bytes = state.drop_after_bytes.take();
        if host == Host::Cdn
            && let Some(after) = state.status_after.as_mut()
            && !after.cut
        {
            after.cut = true;
            drop_after_bytes = Some(drop_after_bytes.map_or(after.bytes, |n| n.min(after.bytes)));
        }
        BodyFaults {
            drop_after_bytes,
            throttle_bytes_per_sec: state.throttle_bytes_per_sec,
            corrupt_offset,
            trickle: Repeated::take(&mut state.trickle),
            stall_after_bytes: Repeated::take(&mut state.stall),
            short_by: state.short_body.take(),
        }
    }
}

/// The JSON body of `POST /_testhub/faults`; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultRequest {
    fail_next: Option<FailNextRequest>,
    fail_part: Option<FailPartRequest>,
    drop_after_bytes: Option<u64>,
    throttle_bytes_per_sec: Option<u64>,
    corrupt_offset: Option<u64>,
    override_header: Option<OverrideHeaderRequest>,
    ignore_range: Option<bool>,
    expire_url: Option<ExpireUrlRequest>,
    trickle: Option<TrickleRequest>,
    stall: Option<StallRequest>,
    short_body: Option<u64>,
    long_body: Option<u64>,
    status_after_bytes: Option<StatusAfterRequest>,
    ratelimit: Option<RateLimitRequest>,
    refuse_connect: Option<RefuseConnectRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpireUrlRequest {
    /// `null` restores the configured lifetime.
    lifetime_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrickleRequest {
    after_bytes: u64,
    bytes_per_sec: u64,
    count: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StallRequest {
    after_bytes: u64,
    count: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusAfterRequest {
    bytes: u64,
    status: u16,
    count: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitRequest {
    reset_secs: u64,
    count: Option<u32>,
    #[serde(default = "hub_scope")]
    host: HostScope,
    path_contains: Option<String>,
    retry_after: Option<u64>,
}

fn hub_scope() -> HostScope {
    HostScope::Hub
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefuseConnectRequest {
    host: HostScope,
    /// `null` = until cleared (a refused hub cannot be reached to clear it: give a duration).
    for_secs: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideHeaderRequest {
    route: String,
    name: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailNextRequest {
    count: u32,
    status: u16,
    retry_after: Option<u64>,
    #[serde(default)]
    host: HostScope,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailPartRequest {
    part: u64,
    /// Absent or `null`: every PUT of the part until cleared.
    times: Option<u32>,
    status: u16,
}

impl FaultRequest {
    /// Checks what cannot be checked by deserializing: header names and values.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let statuses = [
            self.fail_part.as_ref().map(|f| f.status),
            self.status_after_bytes.as_ref().map(|f| f.status),
        ];
        for status in statuses.into_iter().flatten() {
            if hyper::StatusCode::from_u16(status).is_err() {
                return Err(format!("invalid status {status}"));
            }
        }
        if let Some(r) = &self.refuse_connect
            && r.for_secs.is_some_and(|s| !(s.is_finite() && s >= 0.0))
        {
            return Err("refuse_connect.for_secs must be a non-negative number".to_owned());
        }
        if let Some(o) = &self.override_header {
            if hyper::header::HeaderName::from_bytes(o.name.as_bytes()).is_err() {
                return Err(format!("invalid header name {:?}", o.name));
            }
            if hyper::header::HeaderValue::from_str(&o.value).is_err() {
                return Err(format!("invalid header value {:?}", o.value));
            }
        }
        Ok(())
    }

    /// Whether applying it changes which listeners are open (the caller then waits for them).
    pub(crate) fn refuses(&self) -> bool {
        self.refuse_connect.is_some()
    }

    pub(crate) fn apply(self, faults: &Faults) {
        if let Some(f) = self.fail_next {
            faults.fail_next_on(f.host, f.count, f.status, f.retry_after);
        }
        if let Some(f) = self.fail_part {
            faults.fail_part(f.part, f.times, f.status);
        }
        if let Some(n) = self.drop_after_bytes {
            faults.drop_after_bytes(n);
        }
        if let Some(n) = self.throttle_bytes_per_sec {
            faults.throttle(Some(n));
        }
        if let Some(n) = self.corrupt_offset {
            faults.corrupt_offset(n);
        }
        if let Some(o) = self.override_header {
            faults.override_header(&o.route, &o.name, &o.value);
        }
        if let Some(ignore) = self.ignore_range {
            faults.ignore_range(ignore);
        }
        if let Some(e) = self.expire_url {
            faults.expire_url(e.lifetime_secs.map(Duration::from_secs));
        }
        if let Some(t) = self.trickle {
            faults.trickle(t.after_bytes, t.bytes_per_sec, t.count);
        }
        if let Some(t) = self.stall {
            faults.stall(t.after_bytes, t.count);
        }
        if let Some(n) = self.short_body {
            faults.short_body(n);
        }
        if let Some(n) = self.long_body {
            faults.long_body(n);
        }
        if let Some(f) = self.status_after_bytes {
            faults.status_after_bytes(f.bytes, f.status, f.count);
        }
        if let Some(r) = self.ratelimit {
            faults.ratelimit(
                r.host,
                r.path_contains.as_deref(),
                Duration::from_secs(r.reset_secs),
                r.count,
                r.retry_after,
            );
        }
        if let Some(r) = self.refuse_connect {
            faults.set_refused(r.host, r.for_secs.map(Duration::from_secs_f64));
        }
    }
}

/// One served request, as recorded in [`Stats::log`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The listener.
    pub host: Host,
    /// The HTTP method.
    pub method: String,
    /// The request path (without query).
    pub path: String,
    /// The response status.
    pub status: u16,
    /// The request's `Range` header.
    pub range: Option<String>,
    /// Response body bytes handed to the connection.
    pub bytes_sent: u64,
    /// Whether the request carried an `Authorization` header.
    pub authorization: bool,
    /// The request's `User-Agent` (empty if none).
    pub user_agent: String,
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests per route name (`resolve`, `cdn-get`, `lfs-batch`, `git-upload-pack`, …).
    pub requests: BTreeMap<String, u64>,
    /// Response body bytes served, both hosts.
    pub bytes_served: u64,
    /// Requests to the CDN host that carried an `Authorization` header.
    pub auth_leaks: u64,
    /// Every request, in arrival order.
    pub log: Vec<LogEntry>,
}

impl Stats {
    /// Requests counted for `route`.
    pub fn route(&self, route: &str) -> u64 {
        self.requests.get(route).copied().unwrap_or(0)
    }
}

#[derive(Debug, Default)]
struct RecorderState {
    requests: BTreeMap<String, u64>,
    auth_leaks: u64,
    log: Vec<(LogEntry, Arc<AtomicU64>)>,
}

/// Collects the counters.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    state: Mutex<RecorderState>,
    bytes_served: Arc<AtomicU64>,
}

impl Recorder {
    pub(crate) fn total_counter(&self) -> Arc<AtomicU64> {
        self.bytes_served.clone()
    }

    pub(crate) fn auth_leak(&self) {
        lock(&self.state).auth_leaks += 1;
    }

    pub(crate) fn record(&self, route: &str, entry: LogEntry, bytes: Arc<AtomicU64>) {
        let mut state = lock(&self.state);
        *state.requests.entry(route.to_owned()).or_default() += 1;
        state.log.push((entry, bytes));
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let state = lock(&self.state);
        Stats {
            requests: state.requests.clone(),
            bytes_served: self.bytes_served.load(Ordering::Relaxed),
            auth_leaks: state.auth_leaks,
            log: state
                .log
                .iter()
                .map(|(entry, bytes)| LogEntry {
                    bytes_sent: bytes.load(Ordering::Relaxed),
                    ..entry.clone()
                })
                .collect(),
        }
    }

    pub(crate) fn reset(&self) {
        *lock(&self.state) = RecorderState::default();
        self.bytes_served.store(0, Ordering::Relaxed);
    }
}
