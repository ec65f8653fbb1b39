//! Where a download's bytes come from, and a fresh location when the old one stops working: a
//! signed CDN URL expires (on the real Hub, within the hour; a 100 GB file at 100 MB/s outlives
//! it), so when the storage server refuses it (401, 403, 410) or its own expiry has passed, the
//! download asks the Hub again, once for all its connections, and goes on with what is on disk.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hub_url::RedactedUrl;

use crate::Error;

/// Asks the Hub again where the file is: the new location (the same file: callers check the
/// etag).
pub(crate) type Relocate =
    Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result<String, Error>> + Send>> + Send + Sync>;

/// How long before its stated expiry a signed URL is replaced, so no request is sent with a URL
/// that expires on its way.
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);

/// A location and how it was obtained.
#[derive(Debug, Clone)]
pub(crate) struct Location {
    pub(crate) url: Arc<str>,
    /// Counts the refreshes: a refusal of generation `g` refreshes only if nobody has yet.
    pub(crate) generation: u64,
    obtained: Instant,
}

/// The current location of a download, shared by its connections.
pub(crate) struct Source {
    current: Mutex<Location>,
    relocate: Option<Relocate>,
    refreshing: tokio::sync::Mutex<()>,
}

impl Source {
    /// `url`, refreshed by `relocate` when there is one.
    pub(crate) fn new(url: &str, relocate: Option<Relocate>) -> Source {
        Source {
            current: Mutex::new(Location {
                url: url.into(),
                generation: 0,
                obtained: Instant::now(),
            }),
            relocate,
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// Whether a refused location can be replaced.
    pub(crate) fn can_refresh(&self) -> bool {
        self.relocate.is_some()
    }

    /// The current URL, for messages (shown redacted).
    pub(crate) fn peek(&self) -> String {
        self.get().url.to_string()
    }

    fn get(&self) -> Location {
        match self.current.lock() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The location to use now: replaced first when its stated expiry is near (unless it was
    /// obtained a moment ago: a clock behind the server's must not cause a refresh loop).
    pub(crate) async fn fresh(&self) -> Result<Location, Error> {
        let location = self.get();
        let expiring = expires_at(&location.url)
            .is_some_and(|at| at <= SystemTime::now() + EXPIRY_MARGIN)
            && location.obtained.elapsed() > EXPIRY_MARGIN;
        if expiring && self.can_refresh() {
            tracing::debug!("{}: the signed URL is about to expire", RedactedUrl(&location.url));
            return self.refresh(location.generation).await;
        }
        Ok(location)
    }

    /// A new location from the Hub, replacing generation `seen`; when another connection
    /// replaced it already, that one.
    pub(crate) async fn refresh(&self, seen: u64) -> Result<Location, Error> {
        let _one_at_a_time = self.refreshing.lock().await;
        let location = self.get();
        if location.generation != seen {
            return Ok(location);
        }
        let Some(relocate) = &self.relocate else { return Ok(location) };
        let url = relocate().await?;
        let fresh = Location { url: url.into(), generation: seen + 1, obtained: Instant::now() };
        tracing::debug!("new download location from the Hub: {}", RedactedUrl(&fresh.url));
        match self.current.lock() {
            Ok(mut current) => *current = fresh.clone(),
            Err(poisoned) => *poisoned.into_inner() = fresh.clone(),
        }
        Ok(fresh)
    }
}

/// When a signed URL says it expires: `X-Expires` or `Expires` (unix seconds: the local Hub,
/// CloudFront), or `X-Amz-Date` plus `X-Amz-Expires` (S3's presigned URLs).
pub(crate) fn expires_at(url: &str) -> Option<SystemTime> {
    let query = url.split_once('?')?.1.split('#').next()?;
    let mut amz_date = None;
    let mut amz_expires = None;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key.to_ascii_lowercase().as_str() {
            "x-expires" | "expires" => {
                let seconds: u64 = value.parse().ok()?;
                return UNIX_EPOCH.checked_add(Duration::from_secs(seconds));
            }
            "x-amz-date" => amz_date = amz_timestamp(value),
            "x-amz-expires" => amz_expires = value.parse::<u64>().ok(),
            _ => {}
        }
    }
    amz_date?.checked_add(Duration::from_secs(amz_expires?))
}

/// `YYYYMMDDTHHMMSSZ` as a time.
fn amz_timestamp(value: &str) -> Option<SystemTime> {
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| value.get(r)?.parse::<u64>().ok();
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hour, minute, second) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 || year < 1970 {
        return None;
    }
    // Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y / 400;
    let yoe = y % 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(url: &str) -> Option<u64> {
        expires_at(url).and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs())
    }

    #[test]
    fn expiries_are_read_from_each_kind_of_signed_url() {
        assert_eq!(
            unix("http://127.0.0.2:9/lfs/ab?X-Expires=1700000000&X-Signature=x"),
            Some(1_700_000_000)
        );
        assert_eq!(
            unix("https://cdn/x?Expires=1700000000&Signature=s&Key-Pair-Id=k"),
            Some(1_700_000_000)
        );
        // 2023-11-14T22:13:20Z = 1700000000, plus an hour.
        assert_eq!(
            unix("https://s3/x?X-Amz-Algorithm=a&X-Amz-Date=20231114T221320Z&X-Amz-Expires=3600"),
            Some(1_700_003_600)
        );
        assert_eq!(
            unix("https://s3/x?X-Amz-Date=20000229T000000Z&X-Amz-Expires=0"),
            Some(951_782_400)
        );
        assert_eq!(unix("https://hub/resolve/main/a.bin"), None);
        assert_eq!(unix("https://s3/x?X-Amz-Date=2023-11-14&X-Amz-Expires=1"), None);
        assert_eq!(unix("https://s3/x?X-Amz-Expires=1"), None);
        assert_eq!(unix("https://cdn/x?Expires=soon"), None);
    }

    #[tokio::test]
    async fn connections_refused_at_once_ask_the_hub_once() {
        let asked = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counter = Arc::clone(&asked);
        let source = Source::new(
            "http://cdn/a?X-Expires=1",
            Some(Box::new(move || {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                Box::pin(async move { Ok(format!("http://cdn/a?n={n}")) })
            })),
        );
        let stale = source.get();
        let (a, b) =
            tokio::join!(source.refresh(stale.generation), source.refresh(stale.generation));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!((a.generation, &*a.url), (1, "http://cdn/a?n=1"));
        assert_eq!(b.url, a.url);
    }
}
