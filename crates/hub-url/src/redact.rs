//! [`RedactedUrl`]: a URL as it may be shown in an error or a log line, without what can grant
//! access (the query string of a signed link, a fragment, `user:password@`).

use std::fmt;

/// Shows a URL with its query string, fragment and user info left out, so that signed links
/// (`?X-Amz-Signature=…`, `?X-Signature=…`) and credentials never reach a message. The URL
/// itself is kept whole by whoever holds it; only its display is redacted.
///
/// ```
/// use hub_url::RedactedUrl;
///
/// let url = "https://user:secret@cdn.test/lfs/abc?X-Expires=1&X-Signature=s#part";
/// assert_eq!(RedactedUrl(url).to_string(), "https://cdn.test/lfs/abc");
/// assert_eq!(RedactedUrl("https://hub.test/a/b").to_string(), "https://hub.test/a/b");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RedactedUrl<'a>(pub &'a str);

impl RedactedUrl<'_> {
    /// The parts that are shown: the text before the user info, and the text after it up to
    /// the query or the fragment.
    fn parts(&self) -> (&str, &str) {
        let url = self.0;
        let end = url.find(['?', '#']).unwrap_or(url.len());
        let shown = &url[..end];
        let Some(scheme_end) = shown.find("://").map(|i| i + 3) else {
            return (shown, "");
        };
        let rest = &shown[scheme_end..];
        let authority = rest.find('/').map_or(rest, |i| &rest[..i]);
        match authority.rfind('@') {
            Some(at) => (&shown[..scheme_end], &rest[at + 1..]),
            None => (shown, ""),
        }
    }
}

impl fmt::Display for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (head, tail) = self.parts();
        f.write_str(head)?;
        f.write_str(tail)
    }
}

impl fmt::Debug for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::RedactedUrl;

    fn shown(url: &str) -> String {
        RedactedUrl(url).to_string()
    }

    #[test]
    fn the_query_and_the_fragment_are_left_out() {
        assert_eq!(
            shown("http://127.0.0.2:9/lfs/ab?X-Expires=17&X-Signature=deadbeef"),
            "http://127.0.0.2:9/lfs/ab"
        );
        assert_eq!(shown("https://h/x#frag"), "https://h/x");
        assert_eq!(shown("https://h/x?"), "https://h/x");
        assert_eq!(shown("https://h?q=1"), "https://h");
        assert_eq!(shown("https://h/a#f?not-a-query"), "https://h/a");
    }

    #[test]
    fn user_info_is_left_out() {
        assert_eq!(shown("https://user:pass@h.test/a/b"), "https://h.test/a/b");
        assert_eq!(shown("https://tok@h.test"), "https://h.test");
        assert_eq!(shown("https://a@b:c@h.test:8/x?y"), "https://h.test:8/x");
        // An `@` in the path is not user info.
        assert_eq!(shown("https://h.test/@user/x"), "https://h.test/@user/x");
        assert_eq!(shown("https://h.test/a?next=u:p@evil"), "https://h.test/a");
    }

    #[test]
    fn urls_with_nothing_to_hide_are_shown_as_they_are() {
        for url in [
            "https://huggingface.co/acme/m/resolve/main/config.json",
            "http://127.0.0.1:8080",
            "https://h/caf%C3%A9",
        ] {
            assert_eq!(shown(url), url);
        }
    }

    #[test]
    fn malformed_urls_are_still_redacted() {
        assert_eq!(shown(""), "");
        assert_eq!(shown("?only=query"), "");
        assert_eq!(shown("not a url?token=x"), "not a url");
        assert_eq!(shown("://@"), "://");
        assert_eq!(shown("https://"), "https://");
        assert_eq!(shown("https://@"), "https://");
        assert_eq!(shown("h\u{e9}@x/y?z"), "h\u{e9}@x/y");
        assert_eq!(format!("{:?}", RedactedUrl("https://u:p@h/x?s")), "\"https://h/x\"");
    }
}
