//! Parsers for the response headers the transport acts on: `Content-Range` (which bytes a
//! range answer holds), the Hub's `RateLimit` and `RateLimit-Policy` (IETF draft, e.g.
//! `"api";r=0;t=55` and `"fixed window";"api";q=500;w=300`) and `Retry-After` (seconds or an
//! HTTP date).
//!
//! Each parser is pure and total: any input, garbage included, gives a value or `None`, never
//! a panic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A `Content-Range` header: `bytes first-last/total`, `bytes first-last/*` or `bytes */total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContentRange {
    /// The first and last byte sent (inclusive); `None` for `bytes */total` (the answer of a
    /// range that cannot be satisfied).
    pub range: Option<(u64, u64)>,
    /// The complete length, when known (not `*`).
    pub total: Option<u64>,
}

impl ContentRange {
    /// Parses the header's value; `None` unless it is well formed, its last byte is not before
    /// its first, and its last byte lies within the complete length when that is known.
    pub fn parse(value: &str) -> Option<ContentRange> {
        let value = value.trim();
        let unit = value.get(..5)?;
        if !unit.eq_ignore_ascii_case("bytes") {
            return None;
        }
        let rest = &value[5..];
        let rest = rest.strip_prefix([' ', '\t'])?.trim_start();
        let (range, total) = rest.split_once('/')?;
        let total = match total.trim() {
            "*" => None,
            total => Some(number(total)?),
        };
        let range = match range.trim() {
            "*" => None,
            range => {
                let (first, last) = range.split_once('-')?;
                let (first, last) = (number(first.trim())?, number(last.trim())?);
                // `last == u64::MAX` would make a length of 2^64 bytes: no such answer.
                if last < first || last == u64::MAX || total.is_some_and(|total| last >= total) {
                    return None;
                }
                Some((first, last))
            }
        };
        if range.is_none() && total.is_none() {
            return None;
        }
        Some(ContentRange { range, total })
    }

    /// How many bytes the answer holds: `last - first + 1`, or 0 for `bytes */total`.
    pub fn len(&self) -> u64 {
        self.range.map_or(0, |(first, last)| last - first + 1)
    }

    /// Whether the answer holds no bytes (`bytes */total`).
    pub fn is_empty(&self) -> bool {
        self.range.is_none()
    }
}

/// A `RateLimit` header: how many requests are left in a policy's window, and when the window
/// resets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// The policy's name (`"api"`, `"resolvers"`…), when given.
    pub policy: Option<String>,
    /// Requests left before the limit (`r`, or the older `remaining`).
    pub remaining: u64,
    /// When the window resets, from now (`t`, or the older `reset`).
    pub reset: Duration,
}

impl RateLimit {
    /// Parses `"api";r=0;t=55` (a list: of several limits, the most restrictive, the one with
    /// the fewest requests left, then the latest reset) or the older `limit=500, remaining=0,
    /// reset=55`. Unknown parameters are ignored; `None` when no limit has both a number of
    /// requests left and a reset time.
    pub fn parse(value: &str) -> Option<RateLimit> {
        let members = list(value)?;
        let mut best: Option<RateLimit> = None;
        let mut older = (None, None);
        for member in &members {
            let (mut remaining, mut reset) = (None, None);
            for param in &member.params {
                match (param.key.as_str(), number(&param.value)) {
                    ("r", Some(n)) => remaining = Some(n),
                    ("t", Some(n)) => reset = Some(n),
                    ("remaining", Some(n)) => older.0 = Some(n),
                    ("reset", Some(n)) => older.1 = Some(n),
                    _ => (),
                }
            }
            if let (Some(remaining), Some(reset)) = (remaining, reset) {
                let limit = RateLimit {
                    policy: member.names.first().cloned(),
                    remaining,
                    reset: Duration::from_secs(reset),
                };
                let tighter = best.as_ref().is_none_or(|b| {
                    (limit.remaining, std::cmp::Reverse(limit.reset))
                        < (b.remaining, std::cmp::Reverse(b.reset))
                });
                if tighter {
                    best = Some(limit);
                }
            }
        }
        best.or_else(|| match older {
            (Some(remaining), Some(reset)) => {
                Some(RateLimit { policy: None, remaining, reset: Duration::from_secs(reset) })
            }
            _ => None,
        })
    }

    /// Whether no request is left before the reset.
    pub fn is_exhausted(&self) -> bool {
        self.remaining == 0
    }
}

/// A `RateLimit-Policy` header: how many requests a window allows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitPolicy {
    /// The kind of window (`"fixed window"`), when given before the name.
    pub kind: Option<String>,
    /// The policy's name (`"api"`), when given.
    pub name: Option<String>,
    /// Requests allowed per window (`q`).
    pub quota: u64,
    /// The window's length (`w`), when given.
    pub window: Option<Duration>,
}

impl RateLimitPolicy {
    /// Parses `"fixed window";"api";q=500;w=300` or `"api";q=500;w=300` (of a list, the first
    /// policy with a quota). Unknown parameters are ignored.
    pub fn parse(value: &str) -> Option<RateLimitPolicy> {
        list(value)?.into_iter().find_map(|member| {
            let param = |key: &str| {
                member.params.iter().find(|p| p.key == key).and_then(|p| number(&p.value))
            };
            let quota = param("q")?;
            let (kind, name) = match member.names.as_slice() {
                [] => (None, None),
                [name] => (None, Some(name.clone())),
                [kind, name] => (Some(kind.clone()), Some(name.clone())),
                _ => return None,
            };
            Some(RateLimitPolicy { kind, name, quota, window: param("w").map(Duration::from_secs) })
        })
    }
}

/// A `Retry-After` header: a number of seconds, or an HTTP date (IMF-fixdate, `Sun, 06 Nov
/// 1994 08:49:37 GMT`), as a wait from `now` (zero for a date already past).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Some(seconds) = number(value) {
        return Some(Duration::from_secs(seconds));
    }
    let at = http_date(value)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// A decimal number of ASCII digits only (no sign, no space).
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) as seconds since the Unix epoch.
fn http_date(value: &str) -> Option<u64> {
    let mut words = value.split_ascii_whitespace();
    let weekday = words.next()?;
    if !weekday.ends_with(',') || weekday.len() != 4 {
        return None;
    }
    let day = words.next().filter(|d| d.len() == 2).and_then(number)?;
    let month = words.next()?;
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month))? as u64
        + 1;
    let year = words.next().filter(|y| y.len() == 4).and_then(number)?;
    let mut clock = words.next()?.split(':');
    let mut field =
        |max: u64| clock.next().filter(|f| f.len() == 2).and_then(number).filter(|n| *n <= max);
    let (hour, minute, second) = (field(23)?, field(59)?, field(60)?);
    if clock.next().is_some() || words.next() != Some("GMT") || words.next().is_some() {
        return None;
    }
    if year < 1970 || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_since_epoch(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

fn is_leap(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the Gregorian calendar (year ≥ 1970, a valid day).
fn days_since_epoch(year: u64, month: u64, day: u64) -> u64 {
    let years = year - 1970;
    // Leap days in the years before `year`, counted from year 0.
    let leaps_before = |y: u64| y / 4 - y / 100 + y / 400;
    let leap_days = leaps_before(year - 1) - leaps_before(1969);
    let month_days: u64 = (1..month).map(|m| days_in_month(year, m)).sum();
    years * 365 + leap_days + month_days + day - 1
}

/// One member of a structured-field list: its strings (or bare tokens) and its parameters.
#[derive(Debug, Default)]
struct Member {
    names: Vec<String>,
    params: Vec<Param>,
}

#[derive(Debug)]
struct Param {
    key: String,
    value: String,
}

/// Splits a header value into members (on `,`) and their pieces (on `;`), outside quoted
/// strings. `None` when a quoted string is not closed.
fn list(value: &str) -> Option<Vec<Member>> {
    let mut members = Vec::new();
    for member in split_outside_quotes(value, ',')? {
        let mut parsed = Member::default();
        for piece in split_outside_quotes(member, ';')? {
            let piece = piece.trim();
            if piece.is_empty() {
                continue;
            }
            if piece.starts_with('"') {
                parsed.names.push(unquote(piece)?);
            } else if let Some((key, value)) = piece.split_once('=') {
                let value = value.trim();
                let value = if value.starts_with('"') { unquote(value)? } else { value.to_owned() };
                parsed.params.push(Param { key: key.trim().to_ascii_lowercase(), value });
            } else {
                parsed.names.push(piece.to_owned());
            }
        }
        if !parsed.names.is_empty() || !parsed.params.is_empty() {
            members.push(parsed);
        }
    }
    Some(members)
}

fn split_outside_quotes(value: &str, separator: char) -> Option<Vec<&str>> {
    let mut pieces = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                pieces.push(&value[start..i]);
                start = i + c.len_utf8();
            }
            _ => (),
        }
    }
    if quoted {
        return None;
    }
    pieces.push(&value[start..]);
    Some(pieces)
}

/// The text of a whole quoted string (`"a \"b\""` → `a "b"`); `None` when `s` is anything else.
fn unquote(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut text = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => text.push(chars.next()?),
            '"' => return None,
            c => text.push(c),
        }
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        let r = ContentRange::parse("bytes 0-499/1234").unwrap();
        assert_eq!(r, ContentRange { range: Some((0, 499)), total: Some(1234) });
        assert_eq!(r.len(), 500);
        assert_eq!(
            ContentRange::parse("  Bytes   10-10/*  "),
            Some(ContentRange { range: Some((10, 10)), total: None })
        );
        let unsatisfied = ContentRange::parse("bytes */1234").unwrap();
        assert_eq!(unsatisfied, ContentRange { range: None, total: Some(1234) });
        assert!(unsatisfied.is_empty());
        assert_eq!(unsatisfied.len(), 0);
        assert_eq!(
            ContentRange::parse("bytes 1233-1233/1234").map(|r| r.range),
            Some(Some((1233, 1233)))
        );
        let max = format!("bytes 0-{}/*", u64::MAX - 1);
        assert_eq!(ContentRange::parse(&max).map(|r| r.len()), Some(u64::MAX));
        // Found by fuzzing: a length of 2^64 overflowed `len`.
        assert_eq!(ContentRange::parse(&format!("bytes 0-{}/*", u64::MAX)), None);
    }

    #[test]
    fn content_ranges_that_cannot_be_are_refused() {
        for bad in [
            "",
            "bytes",
            "bytes ",
            "bytes */*",
            "bytes 5-4/10",
            "bytes 0-10/10",
            "bytes 0-9/0",
            "bytes 0-/10",
            "bytes -9/10",
            "bytes +0-9/10",
            "bytes 0-9/-10",
            "bytes 0 - 9",
            "bytes0-9/10",
            "items 0-9/10",
            "bytes 0-9/10/11",
            "bytes 0-18446744073709551616/*",
            "bytes \u{e9}-9/10",
            "byt\u{e9}",
        ] {
            assert_eq!(ContentRange::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rate_limits_as_the_hub_sends_them() {
        assert_eq!(
            RateLimit::parse(r#""api";r=0;t=55"#),
            Some(RateLimit {
                policy: Some("api".into()),
                remaining: 0,
                reset: Duration::from_secs(55)
            })
        );
        let spaced = RateLimit::parse(r#" "api" ; r = 12 ; t = 7 ; x=unknown "#).unwrap();
        assert_eq!((spaced.remaining, spaced.reset.as_secs()), (12, 7));
        assert!(!spaced.is_exhausted());
        let tightest =
            RateLimit::parse(r#""api";r=3;t=10, "resolvers";r=0;t=40, "x";r=0;t=5"#).unwrap();
        assert_eq!(tightest.policy.as_deref(), Some("resolvers"));
        assert!(tightest.is_exhausted());
        let older = RateLimit::parse("limit=500, remaining=0, reset=55").unwrap();
        assert_eq!((older.policy, older.remaining, older.reset.as_secs()), (None, 0, 55));
        let comma = RateLimit::parse(r#""a,b";r=1;t=2"#).unwrap();
        assert_eq!(comma.policy.as_deref(), Some("a,b"));
    }

    #[test]
    fn rate_limits_that_say_nothing_are_none() {
        for bad in [
            "",
            "api",
            r#""api""#,
            r#""api";r=0"#,
            r#""api";t=55"#,
            r#""api";r=-1;t=5"#,
            r#""api";r=0;t=5.5"#,
            r#""api;r=0;t=55"#,
            r#""api";r="0";t=x"#,
            ";;,,;",
            "limit=500, remaining=0",
        ] {
            assert_eq!(RateLimit::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rate_limit_policies() {
        assert_eq!(
            RateLimitPolicy::parse(r#""fixed window";"api";q=500;w=300"#),
            Some(RateLimitPolicy {
                kind: Some("fixed window".into()),
                name: Some("api".into()),
                quota: 500,
                window: Some(Duration::from_secs(300)),
            })
        );
        let short = RateLimitPolicy::parse(r#""api";q=100"#).unwrap();
        assert_eq!((short.kind, short.name.as_deref(), short.window), (None, Some("api"), None));
        let second = RateLimitPolicy::parse(r#""a";w=1, "b";q=2;w=3;z=9"#).unwrap();
        assert_eq!((second.name.as_deref(), second.quota), (Some("b"), 2));
        for bad in ["", r#""api";w=300"#, r#""a";"b";"c";q=1"#, r#""api";q=x"#, "\"open"] {
            assert_eq!(RateLimitPolicy::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now), Some(Duration::ZERO));
        let y2k = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29 00:00:00
        assert_eq!(
            parse_retry_after("Tue, 29 Feb 2000 00:00:10 GMT", y2k),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", UNIX_EPOCH),
            Some(Duration::ZERO)
        );
        let later = UNIX_EPOCH + Duration::from_secs(1_798_761_600); // 2027-01-01
        assert_eq!(
            parse_retry_after("Fri, 01 Jan 2027 00:01:00 GMT", later),
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn retry_after_garbage_is_none() {
        let now = SystemTime::now();
        for bad in [
            "",
            "-5",
            "1.5",
            "soon",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 29 Feb 1900 08:49:37 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 08:49:37:00 GMT",
            "Sun 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "99999999999999999999999",
            "Sun, \u{e9}\u{e9} Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }
}
