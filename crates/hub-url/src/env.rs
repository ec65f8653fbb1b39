//! Every environment variable the `hub-*` crates and `hub-cli` read, defined in one place.
//!
//! Each name is a constant here, and [`VARS`] describes them all: the README's table of
//! environment variables is generated from it (`cargo xtask tidy --bless`) and checked against
//! it (`cargo xtask tidy`). Code reads a variable through its constant, and only in a `from_env`
//! constructor; everything else takes explicit values. This module reads nothing itself.
//!
//! ```
//! use hub_url::env::{self, VARS};
//!
//! let offline = VARS.iter().find(|v| v.name == env::HF_HUB_OFFLINE).unwrap();
//! assert_eq!(offline.aliases, [env::TRANSFORMERS_OFFLINE]);
//! assert!(env::flag(Some("TRUE".as_ref())));
//! ```

use std::ffi::OsStr;

/// The Hub's URL.
pub const HF_ENDPOINT: &str = "HF_ENDPOINT";
/// The root of everything the Hub tools keep on a machine: the cache, the token.
pub const HF_HOME: &str = "HF_HOME";
/// The user's cache folder, where [`HF_HOME`] is by default.
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
/// The hub cache folder.
pub const HF_HUB_CACHE: &str = "HF_HUB_CACHE";
/// The legacy name of [`HF_HUB_CACHE`].
pub const HUGGINGFACE_HUB_CACHE: &str = "HUGGINGFACE_HUB_CACHE";
/// The token.
pub const HF_TOKEN: &str = "HF_TOKEN";
/// The legacy name of [`HF_TOKEN`].
pub const HUGGING_FACE_HUB_TOKEN: &str = "HUGGING_FACE_HUB_TOKEN";
/// The token file.
pub const HF_TOKEN_PATH: &str = "HF_TOKEN_PATH";
/// A flag: send the stored token only when asked.
pub const HF_HUB_DISABLE_IMPLICIT_TOKEN: &str = "HF_HUB_DISABLE_IMPLICIT_TOKEN";
/// A flag: never use the network.
pub const HF_HUB_OFFLINE: &str = "HF_HUB_OFFLINE";
/// The legacy name of [`HF_HUB_OFFLINE`].
pub const TRANSFORMERS_OFFLINE: &str = "TRANSFORMERS_OFFLINE";
/// Seconds to wait for an answer or its next bytes.
pub const HF_HUB_ETAG_TIMEOUT: &str = "HF_HUB_ETAG_TIMEOUT";
/// Seconds to wait for a connection.
pub const HF_HUB_DOWNLOAD_TIMEOUT: &str = "HF_HUB_DOWNLOAD_TIMEOUT";
/// A flag: no progress bars in `hub-cli`.
pub const HF_HUB_DISABLE_PROGRESS_BARS: &str = "HF_HUB_DISABLE_PROGRESS_BARS";
/// Ours, a flag: do not check downloads against their sha256 or git blob id.
pub const HF_HUB_DISABLE_DOWNLOAD_VERIFICATION: &str = "HF_HUB_DISABLE_DOWNLOAD_VERIFICATION";
/// Ours: the connections one large file is fetched over.
pub const HF_HUB_DOWNLOAD_CONNECTIONS: &str = "HF_HUB_DOWNLOAD_CONNECTIONS";
/// Ours: the bytes of each range request.
pub const HF_HUB_DOWNLOAD_CHUNK_SIZE: &str = "HF_HUB_DOWNLOAD_CHUNK_SIZE";
/// Ours: seconds a download connection may bring almost nothing before it is replaced.
pub const HF_HUB_DOWNLOAD_STALL_TIMEOUT: &str = "HF_HUB_DOWNLOAD_STALL_TIMEOUT";
/// Ours: seconds a download lease may go unrenewed before another process or node takes the
/// download over.
pub const HF_HUB_LEASE_TIMEOUT: &str = "HF_HUB_LEASE_TIMEOUT";
/// Ours: the parts of one file uploaded at once.
pub const HF_HUB_UPLOAD_CONNECTIONS: &str = "HF_HUB_UPLOAD_CONNECTIONS";
/// Ours: the retries of a failed upload part.
pub const HF_HUB_UPLOAD_RETRIES: &str = "HF_HUB_UPLOAD_RETRIES";
/// The proxy for `https://` URLs.
pub const HTTPS_PROXY: &str = "HTTPS_PROXY";
/// The lowercase spelling of [`HTTPS_PROXY`].
pub const HTTPS_PROXY_LOWERCASE: &str = "https_proxy";
/// The proxy for `http://` URLs.
pub const HTTP_PROXY: &str = "HTTP_PROXY";
/// The lowercase spelling of [`HTTP_PROXY`].
pub const HTTP_PROXY_LOWERCASE: &str = "http_proxy";
/// The proxy for any URL whose scheme has none of its own.
pub const ALL_PROXY: &str = "ALL_PROXY";
/// The lowercase spelling of [`ALL_PROXY`].
pub const ALL_PROXY_LOWERCASE: &str = "all_proxy";
/// The hosts reached without a proxy.
pub const NO_PROXY: &str = "NO_PROXY";
/// The lowercase spelling of [`NO_PROXY`].
pub const NO_PROXY_LOWERCASE: &str = "no_proxy";
/// A PEM bundle of the certificate authorities to trust instead of the system's (read by the
/// TLS roots loader, as OpenSSL reads it).
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";
/// A folder of PEM certificate authorities to trust instead of the system's (read by the TLS
/// roots loader, as OpenSSL reads it).
pub const SSL_CERT_DIR: &str = "SSL_CERT_DIR";
/// The log filter of `hub-cli lfs-multipart-upload` (tracing's syntax).
pub const RUST_LOG: &str = "RUST_LOG";

/// One environment variable: its names, what it does and its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    /// The name.
    pub name: &'static str,
    /// Other names read, in order, when [`Var::name`] is unset or empty: the Python library's
    /// legacy names, or the lowercase spelling.
    pub aliases: &'static [&'static str],
    /// What it does (Markdown).
    pub meaning: &'static str,
    /// The value when it is unset (Markdown), if there is one to tell.
    pub default: Option<&'static str>,
    /// `true` when it is ours; `false` when the Python library (or, for the proxies, the
    /// certificate authorities and `XDG_CACHE_HOME`, every tool) reads it the same way.
    pub ours: bool,
}

const fn var(
    name: &'static str,
    aliases: &'static [&'static str],
    meaning: &'static str,
    default: Option<&'static str>,
    ours: bool,
) -> Var {
    Var { name, aliases, meaning, default, ours }
}

/// Every variable, in the order the README shows them.
pub const VARS: &[Var] = &[
    var(HF_ENDPOINT, &[], "the Hub's URL", Some("`https://huggingface.co`"), false),
    var(
        HF_HOME,
        &[],
        "root of the cache and the token",
        Some("`$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`"),
        false,
    ),
    var(XDG_CACHE_HOME, &[], "where `HF_HOME` is when it is unset", Some("`~/.cache`"), false),
    var(HF_HUB_CACHE, &[HUGGINGFACE_HUB_CACHE], "the hub cache", Some("`$HF_HOME/hub`"), false),
    var(HF_TOKEN, &[HUGGING_FACE_HUB_TOKEN], "the token, over the token file", None, false),
    var(HF_TOKEN_PATH, &[], "the token file", Some("`$HF_HOME/token`"), false),
    var(
        HF_HUB_DISABLE_IMPLICIT_TOKEN,
        &[],
        "do not send the stored token unless asked",
        None,
        false,
    ),
    var(
        HF_HUB_OFFLINE,
        &[TRANSFORMERS_OFFLINE],
        "never touch the network: the cache or an error",
        None,
        false,
    ),
    var(
        HF_HUB_ETAG_TIMEOUT,
        &[],
        "seconds to wait for an answer or its next bytes",
        Some("10"),
        false,
    ),
    var(HF_HUB_DOWNLOAD_TIMEOUT, &[], "seconds to wait for a connection", Some("10"), false),
    var(
        HF_HUB_DISABLE_PROGRESS_BARS,
        &[],
        "no progress bars in `hub-cli` (they are shown only on a terminal anyway)",
        None,
        false,
    ),
    var(
        HF_HUB_DISABLE_DOWNLOAD_VERIFICATION,
        &[],
        "skip the sha256 / git blob id check of downloads (sizes are still checked)",
        None,
        true,
    ),
    var(
        HF_HUB_DOWNLOAD_CONNECTIONS,
        &[],
        "connections one large file is fetched over",
        Some("8"),
        true,
    ),
    var(HF_HUB_DOWNLOAD_CHUNK_SIZE, &[], "bytes per range request", Some("16 MiB"), true),
    var(
        HF_HUB_DOWNLOAD_STALL_TIMEOUT,
        &[],
        "seconds a download connection may bring under 64 KiB before its range is asked again on a new one; 12 times this with nothing on any connection fails the download",
        Some("10"),
        true,
    ),
    var(
        HF_HUB_LEASE_TIMEOUT,
        &[],
        "seconds the lease of a file being downloaded may go unrenewed (its writer died, its node froze) before a waiting process or node takes the download over; renewed five times as often",
        Some("10"),
        true,
    ),
    var(
        HF_HUB_UPLOAD_CONNECTIONS,
        &[],
        "parts of one file uploaded at once (`hub-cli upload`, the multipart agent)",
        Some("8"),
        true,
    ),
    var(
        HF_HUB_UPLOAD_RETRIES,
        &[],
        "retries of a failed part (`hub-cli upload`, the multipart agent)",
        Some("5, 1 s doubling to 8 s apart"),
        true,
    ),
    var(
        HTTPS_PROXY,
        &[HTTPS_PROXY_LOWERCASE],
        "the proxy for `https://` URLs (a `CONNECT` tunnel), as curl reads it",
        None,
        false,
    ),
    var(HTTP_PROXY, &[HTTP_PROXY_LOWERCASE], "the proxy for `http://` URLs", None, false),
    var(ALL_PROXY, &[ALL_PROXY_LOWERCASE], "the proxy for both, when theirs is unset", None, false),
    var(
        NO_PROXY,
        &[NO_PROXY_LOWERCASE],
        "hosts reached directly: comma-separated domains (and their subdomains), IPs, CIDRs or `*`",
        None,
        false,
    ),
    var(
        SSL_CERT_FILE,
        &[],
        "a PEM bundle of the certificate authorities to trust, in place of the system's (for a \
         proxy or gateway that re-signs TLS), as OpenSSL reads it",
        Some("the system's roots"),
        false,
    ),
    var(
        SSL_CERT_DIR,
        &[],
        "a folder of such PEM files, in place of the system's roots",
        Some("the system's roots"),
        false,
    ),
    var(
        RUST_LOG,
        &[],
        "what `hub-cli lfs-multipart-upload` logs on stderr (tracing's filter syntax)",
        Some("`warn`"),
        true,
    ),
];

/// Whether a flag variable's value is true, as the Python library reads its flags: `1`,
/// `true`, `yes` or `on`, in any case, white space around ignored. Unset is false.
///
/// ```
/// use hub_url::env::flag;
///
/// assert!(flag(Some(" Yes ".as_ref())));
/// assert!(!flag(Some("0".as_ref())) && !flag(None));
/// ```
pub fn flag(value: Option<&OsStr>) -> bool {
    value.is_some_and(|v| {
        matches!(
            v.to_string_lossy().trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_like_python() {
        for v in ["1", "TRUE", "yes", "On"] {
            assert!(flag(Some(v.as_ref())), "{v}");
        }
        for v in ["0", "false", "", "2"] {
            assert!(!flag(Some(v.as_ref())), "{v}");
        }
        assert!(!flag(None));
    }

    #[test]
    fn every_name_is_listed_once() {
        let mut names: Vec<&str> = VARS
            .iter()
            .flat_map(|v| std::iter::once(v.name).chain(v.aliases.iter().copied()))
            .collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a name is listed twice");
        for v in VARS {
            assert!(!v.meaning.is_empty() && !v.meaning.contains('|'), "{}", v.name);
            assert!(v.default.is_none_or(|d| !d.contains('|')), "{}", v.name);
        }
        assert_eq!(
            VARS.iter().find(|v| v.name == HF_TOKEN).map(|v| v.aliases),
            Some(&[HUGGING_FACE_HUB_TOKEN][..])
        );
    }
}
