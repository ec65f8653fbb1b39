//! Readings of the TestHub's request log.

use hub_tests::{Host, Stats};

/// Bytes of LFS objects the CDN sent in the log entries from `since` on.
pub(crate) fn lfs_bytes(stats: &Stats, since: usize) -> u64 {
    stats.log.iter().skip(since).filter(|e| e.path.starts_with("/lfs/")).map(|e| e.bytes_sent).sum()
}

/// Requests to the CDN in the log entries from `since` on.
pub(crate) fn cdn_requests(stats: &Stats, since: usize) -> usize {
    stats.log.iter().skip(since).filter(|e| e.host == Host::Cdn).count()
}
