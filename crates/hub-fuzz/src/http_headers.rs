//! `http_headers`: the headers the client reads from a server: `Link` (pagination of the
//! listings) resolved against the URL of the page it came with, `Content-Range`, the Hub's
//! `RateLimit` and `RateLimit-Policy`, and `Retry-After`.
//!
//! The first line of the input is the page's URL, the rest the header's raw bytes, read by
//! every parser.

use std::time::{Duration, UNIX_EPOCH};

use hub_api::headers::{ContentRange, RateLimit, RateLimitPolicy, parse_retry_after};
use hub_url::Origin;

/// The `http_headers` target.
pub fn http_headers(data: &[u8]) {
    let (base, value) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (String::from_utf8_lossy(&data[..i]), &data[i + 1..]),
        None => ("https://huggingface.co/api/models".into(), data),
    };
    link(&base, value);
    let text = String::from_utf8_lossy(value);
    content_range(&text);
    rate_limit(&text);
    retry_after(&text);
}

fn link(base: &str, value: &[u8]) {
    let Some(next) = hub_api::fuzzing::next_link(base, value) else { return };
    let raw = String::from_utf8_lossy(value);
    assert!(next.contains("://"), "{raw:?} on {base:?} gave {next:?}: not absolute");
    // Only a link that names a host (`scheme://host/…` or `//host/…`) may leave the page's
    // origin: a relative one stays where the token may be sent. A tab inside the brackets
    // (which a header may hold) stays too: dropped, as a browser does, `/\t/x` would become
    // the host `x`; kept, the next request fails on the malformed URL and says so.
    if let Some(origin) = Origin::parse(base)
        && !raw.contains("//")
    {
        assert_eq!(Origin::parse(&next), Some(origin), "{raw:?} on {base:?} gave {next:?}");
    }
}

/// A range answer's bytes: `first <= last < total`, and a length that fits in a `u64`.
fn content_range(value: &str) {
    let Some(range) = ContentRange::parse(value) else { return };
    assert_eq!(ContentRange::parse(&format!(" {value}\t")), Some(range), "{value:?}");
    assert!(range.range.is_some() || range.total.is_some(), "{value:?} gave {range:?}");
    assert_eq!(range.is_empty(), range.range.is_none());
    if let Some((first, last)) = range.range {
        assert!(first <= last, "{value:?} gave {range:?}");
        if let Some(total) = range.total {
            assert!(last < total, "{value:?} gave {range:?}");
        }
        // A length of 2^64 (`bytes 0-18446744073709551615/*`) is refused by the parser.
        let len = (last - first).checked_add(1);
        assert_eq!(Some(range.len()), len, "{value:?} gave {range:?}");
    } else {
        assert_eq!(range.len(), 0);
    }
}

fn rate_limit(value: &str) {
    if let Some(limit) = RateLimit::parse(value) {
        assert_eq!(limit.is_exhausted(), limit.remaining == 0);
        assert_eq!(RateLimit::parse(&format!(" {value} ")), Some(limit), "{value:?}");
    }
    if let Some(policy) = RateLimitPolicy::parse(value) {
        assert!(policy.kind.is_none() || policy.name.is_some(), "{value:?} gave {policy:?}");
    }
}

/// The wait is the number of seconds given, or shrinks as the date it names comes nearer.
fn retry_after(value: &str) {
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let Some(wait) = parse_retry_after(value, now) else { return };
    let later = parse_retry_after(value, now + Duration::from_secs(100));
    let trimmed = value.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        assert_eq!(later, Some(wait), "{value:?}");
        assert_eq!(trimmed.parse::<u64>().ok(), Some(wait.as_secs()));
    } else {
        let later = later.unwrap_or_else(|| panic!("{value:?}: a date that parses only once"));
        assert_eq!(later, wait.saturating_sub(Duration::from_secs(100)), "{value:?}");
    }
}
