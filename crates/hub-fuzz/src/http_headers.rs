//! `http_headers`: the headers the client reads from a server: `Link` (pagination of the
//! listings) resolved against the URL of the page it came with.
//!
//! The first line of the input is the page's URL, the rest the header's raw bytes.

use hub_url::Origin;

/// The `http_headers` target.
pub fn http_headers(data: &[u8]) {
    let (base, value) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (String::from_utf8_lossy(&data[..i]), &data[i + 1..]),
        None => ("https://huggingface.co/api/models".into(), data),
    };
    link(&base, value);
}

fn link(base: &str, value: &[u8]) {
    let Some(next) = hub_api::fuzzing::next_link(base, value) else { return };
    let raw = String::from_utf8_lossy(value);
    assert!(next.contains("://"), "{raw:?} on {base:?} gave {next:?}: not absolute");
    // Only a link that names a host (`scheme://host/…` or `//host/…`) may leave the page's
    // origin: a relative one stays where the token may be sent.
    if let Some(origin) = Origin::parse(base)
        && !raw.contains("//")
    {
        assert_eq!(Origin::parse(&next), Some(origin), "{raw:?} on {base:?} gave {next:?}");
    }
    if !base.chars().any(char::is_control) {
        assert!(!next.chars().any(char::is_control), "{next:?}");
    }
}
