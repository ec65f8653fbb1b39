//! `cache_files`: what the cache reads back from its own files, which another process, an
//! older version or a crash may have left in any state: a blob's progress record (what a
//! resume or the adoption of an orphaned partial file trusts), a `local_dir` `.metadata` file,
//! and a cached tree listing.

use std::collections::BTreeMap;

use hub_cache::fuzzing::{parse_local_metadata, parse_progress, parse_tree};
use hub_url::is_commit_hash;

use crate::{is_lower_hex, text};

/// The `cache_files` target.
pub fn cache_files(data: &[u8]) {
    let text = text(data);
    progress(&text);
    if let Some(metadata) = parse_local_metadata(&text) {
        assert!(is_commit_hash(metadata.commit.as_str()));
        assert!(is_lower_hex(metadata.etag.as_str(), &[40, 64]));
    }
    if let Some(files) = parse_tree(data) {
        // What the snapshot check reads is what `write_tree` would write back.
        let written =
            serde_json::to_vec(&files).map(|json| serde_json::from_slice::<BTreeMap<_, _>>(&json));
        assert!(matches!(written, Ok(Ok(ref again)) if *again == files), "{files:?}");
    }
}

/// The ranges of a record are sorted, non-empty, and neither overlap nor touch, so the bytes
/// they count are counted once; and the record reads back from its own writing.
fn progress(text: &str) {
    let Some(ranges) = parse_progress(text) else { return };
    for &(a, b) in &ranges {
        assert!(a < b, "{text:?} gave the empty range {a}-{b}");
    }
    for pair in ranges.windows(2) {
        assert!(pair[0].1 < pair[1].0, "{text:?} gave {pair:?}: unsorted, overlapping or touching");
    }
    // The valid bytes never exceed the span they lie in (no overflow in the sum).
    let total = ranges.iter().try_fold(0u64, |sum, (a, b)| sum.checked_add(b - a));
    assert!(total.is_some(), "{text:?}: the ranges count more than u64::MAX bytes");
    let written: Vec<String> = ranges.iter().map(|(a, b)| format!("{a}-{b}")).collect();
    assert_eq!(parse_progress(&written.join(",")).as_ref(), Some(&ranges));
}
