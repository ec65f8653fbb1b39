//! The Hub's base URL ([`Endpoint`]) and URL origins ([`Origin`]), which decide where a token
//! may be sent.

use std::fmt;
use std::str::FromStr;

use crate::env;
use crate::error::EndpointError;

/// The Hub's address, as in the Python library's `HF_ENDPOINT`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// `scheme://host[:port][/path]`, with no trailing `/`.
    url: String,
    origin: Origin,
}

/// The default endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// The environment variable that overrides the endpoint ([`env::HF_ENDPOINT`]).
pub const ENDPOINT_ENV: &str = env::HF_ENDPOINT;

impl Endpoint {
    /// Parses an `http(s)://host[:port][/path]` URL; trailing `/`s are stripped.
    ///
    /// ```
    /// use hub_url::Endpoint;
    ///
    /// let ep = Endpoint::new("http://127.0.0.1:8080/").unwrap();
    /// assert_eq!(ep.as_str(), "http://127.0.0.1:8080");
    /// assert!(Endpoint::new("ftp://example.com").is_err());
    /// ```
    pub fn new(url: &str) -> Result<Endpoint, EndpointError> {
        let fail = |reason| Err(EndpointError { endpoint: url.to_owned(), reason });
        let trimmed = url.trim().trim_end_matches('/');
        if trimmed.contains(['?', '#']) {
            return fail("it cannot have a query or a fragment");
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return fail("it cannot contain spaces or control characters");
        }
        let Some(origin) = Origin::parse(trimmed) else {
            return fail(
                "use an http:// or https:// URL with a host, such as https://huggingface.co",
            );
        };
        let authority_end = trimmed[origin.scheme.len() + 3..].find('/');
        let authority = match authority_end {
            Some(i) => &trimmed[origin.scheme.len() + 3..origin.scheme.len() + 3 + i],
            None => &trimmed[origin.scheme.len() + 3..],
        };
        if authority.contains('@') {
            return fail("it cannot carry credentials; use a token instead");
        }
        Ok(Endpoint { url: trimmed.to_owned(), origin })
    }

    /// The endpoint named by `HF_ENDPOINT`, or the default one when it is unset or empty.
    #[allow(clippy::disallowed_methods)] // from_env: where the environment is read
    pub fn from_env() -> Result<Endpoint, EndpointError> {
        match std::env::var(ENDPOINT_ENV) {
            Ok(value) if !value.trim().is_empty() => Endpoint::new(&value),
            Ok(_) | Err(std::env::VarError::NotPresent) => Ok(Endpoint::default()),
            Err(std::env::VarError::NotUnicode(_)) => Err(EndpointError {
                endpoint: ENDPOINT_ENV.to_owned(),
                reason: "the variable is not valid UTF-8",
            }),
        }
    }

    /// The base URL, with no trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// Where requests to this endpoint go; only this origin ever receives the token.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }
}

impl Default for Endpoint {
    fn default() -> Endpoint {
        Endpoint {
            url: DEFAULT_ENDPOINT.to_owned(),
            origin: Origin {
                scheme: "https".to_owned(),
                host: "huggingface.co".to_owned(),
                port: 443,
            },
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(s: &str) -> Result<Endpoint, EndpointError> {
        Endpoint::new(s)
    }
}

/// The origin of an absolute URL: scheme, lowercase host, and port (80 and 443 by default).
///
/// Two URLs with the same origin may share credentials; a redirect to another origin may not
/// carry the `Authorization` header.
///
/// ```
/// use hub_url::Origin;
///
/// let a = Origin::parse("https://huggingface.co/api/models").unwrap();
/// let b = Origin::parse("https://HuggingFace.co:443").unwrap();
/// let cdn = Origin::parse("https://cdn-lfs.hf.co/repos/x").unwrap();
/// assert_eq!(a, b);
/// assert_ne!(a, cdn);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of an absolute `http` or `https` URL, or `None` for anything else
    /// (a relative URL, another scheme, a missing host or a bad port).
    pub fn parse(url: &str) -> Option<Origin> {
        let (scheme, rest) = url.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
        let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
            let (host, after) = v6.split_once(']')?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().ok()?,
                None if after.is_empty() => default_port,
                None => return None,
            };
            (format!("[{host}]"), port)
        } else {
            match host_port.rsplit_once(':') {
                Some((host, p)) => {
                    (host.to_owned(), if p.is_empty() { default_port } else { p.parse().ok()? })
                }
                None => (host_port.to_owned(), default_port),
            }
        };
        if host.is_empty() {
            return None;
        }
        Some(Origin { scheme, host: host.to_ascii_lowercase(), port })
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host, lowercase.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, explicit or the scheme's default.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}
