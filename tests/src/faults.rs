//! Fault injection and the request counters.
//!
//! Faults are set through [`Faults`] (from [`crate::TestHub::faults`]) or `POST /_testhub/faults`.
//! `fail_next` answers the next N requests with a status; `fail_part` refuses the PUTs of one
//! multipart part number, N times or until cleared; `drop_after_bytes` and `corrupt_offset` are
//! one-shot and apply to the next file body served (a resolve GET on the hub or a GET on the
//! CDN); `throttle`, `override_header` and `ignore_range` stay until cleared.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
};

use serde::{Deserialize, Serialize};

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
    fn matches(self, host: Host) -> bool {
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

#[derive(Debug, Default)]
struct FaultState {
    fail_next: Option<FailNext>,
    fail_parts: Vec<FailPart>,
    drop_after_bytes: Option<u64>,
    throttle_bytes_per_sec: Option<u64>,
    corrupt_offset: Option<u64>,
    header_overrides: Vec<HeaderOverride>,
    ignore_range: bool,
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
}

impl BodyFaults {
    /// Whether the body is served as stored, untouched.
    pub(crate) fn is_none(&self) -> bool {
        self.drop_after_bytes.is_none()
            && self.throttle_bytes_per_sec.is_none()
            && self.corrupt_offset.is_none()
    }
}

/// Handle on the hub's fault injection; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    inner: Arc<Mutex<FaultState>>,
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

    /// Clears every fault.
    pub fn clear(&self) {
        *lock(&self.inner) = FaultState::default();
    }

    /// Consumes one injected failure for a request on `host`: `(status, retry_after)`.
    pub(crate) fn take_failure(&self, host: Host) -> Option<(u16, Option<u64>)> {
        let mut state = lock(&self.inner);
        let fail = state.fail_next.as_mut()?;
        if !fail.scope.matches(host) {
            return None;
        }
        let res = (fail.status, fail.retry_after);
        fail.remaining = fail.remaining.saturating_sub(1);
        if fail.remaining == 0 {
            state.fail_next = None;
        }
        Some(res)
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

    /// Takes the faults for a file body covering file offsets `start..end`.
    pub(crate) fn take_body_faults(&self, start: u64, end: u64) -> BodyFaults {
        let mut state = lock(&self.inner);
        let corrupt_offset = match state.corrupt_offset {
            Some(off) if off >= start && off < end => state.corrupt_offset.take(),
            _ => None,
        };
        BodyFaults {
            drop_after_bytes: state.drop_after_bytes.take(),
            throttle_bytes_per_sec: state.throttle_bytes_per_sec,
            corrupt_offset,
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
        if let Some(f) = &self.fail_part
            && hyper::StatusCode::from_u16(f.status).is_err()
        {
            return Err(format!("invalid status {}", f.status));
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
