//! The bodies of the fuzz targets: every parser that reads what a server, git-lfs or the disk
//! sends, called with arbitrary bytes, with the invariants its callers rely on asserted.
//!
//! The same functions run in two ways:
//! - coverage-guided on nightly, by `cargo xtask fuzz` (the cargo-fuzz package in `fuzz/`, one
//!   binary per entry of [`TARGETS`]);
//! - on stable, by this crate's tests (`tests/corpora.rs`), over every file of the committed
//!   corpora `fuzz/corpus/<target>/` and over inputs proptest generates.
//!
//! A target panics when an invariant breaks; a panic is a bug in the parser (or in the
//! invariant), never an expected outcome for bad input.

mod api_json;
mod cache_files;
mod http_headers;
mod lfs;
mod names;

pub use api_json::api_json;
pub use cache_files::cache_files;
pub use http_headers::http_headers;
pub use lfs::lfs;
pub use names::names;

/// A target's body: it panics when an invariant breaks.
pub type Body = fn(&[u8]);

/// Every target: its name (that of its corpus folder and of its cargo-fuzz binary) and body.
pub const TARGETS: &[(&str, Body)] = &[
    ("names", names),
    ("http_headers", http_headers),
    ("lfs", lfs),
    ("api_json", api_json),
    ("cache_files", cache_files),
];

/// The input as text: invalid UTF-8 becomes U+FFFD, as a lossy reader would see it.
fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Whether `s` is lowercase hex of one of the given lengths.
fn is_lower_hex(s: &str, lens: &[usize]) -> bool {
    lens.contains(&s.len()) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
