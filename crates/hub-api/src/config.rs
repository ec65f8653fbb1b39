//! The client's configuration from the environment, read in one place with the Python
//! library's variables (`docs/protocol/env.md#shared-variables`): `HF_ENDPOINT`, `HF_TOKEN` /
//! `HUGGING_FACE_HUB_TOKEN` / the token file, `HF_HUB_DISABLE_IMPLICIT_TOKEN`, `HF_HUB_OFFLINE`
//! (or `TRANSFORMERS_OFFLINE`), `HF_HUB_ETAG_TIMEOUT` and `HF_HUB_DOWNLOAD_TIMEOUT`; and the
//! download settings of ours (`HF_HUB_DISABLE_DOWNLOAD_VERIFICATION`,
//! `HF_HUB_DOWNLOAD_CONNECTIONS`, `HF_HUB_DOWNLOAD_CHUNK_SIZE`). The names are
//! [`hub_url::env`]'s.

use std::ffi::OsString;
use std::time::Duration;

use hub_url::Endpoint;
use hub_url::env::{
    ALL_PROXY, ALL_PROXY_LOWERCASE, HF_ENDPOINT, HF_HUB_DISABLE_DOWNLOAD_VERIFICATION,
    HF_HUB_DISABLE_IMPLICIT_TOKEN, HF_HUB_DOWNLOAD_CHUNK_SIZE, HF_HUB_DOWNLOAD_CONNECTIONS,
    HF_HUB_DOWNLOAD_STALL_TIMEOUT, HF_HUB_DOWNLOAD_TIMEOUT, HF_HUB_ETAG_TIMEOUT,
    HF_HUB_LEASE_TIMEOUT, HF_HUB_OFFLINE, HTTP_PROXY, HTTP_PROXY_LOWERCASE, HTTPS_PROXY,
    HTTPS_PROXY_LOWERCASE, NO_PROXY, NO_PROXY_LOWERCASE, TRANSFORMERS_OFFLINE,
};

use crate::Error;
use crate::client::{ClientBuilder, HubClient};
use crate::token::token_from_vars;
use crate::transfer::TransferConfig;

fn flag(value: Option<OsString>) -> bool {
    hub_url::env::flag(value.as_deref())
}

impl ClientBuilder {
    /// A builder configured from the environment; see [`ClientBuilder::from_vars`].
    #[allow(clippy::disallowed_methods)] // from_env: where the environment is read
    pub fn from_env() -> Result<ClientBuilder, Error> {
        ClientBuilder::from_vars(&|name| std::env::var_os(name), std::env::home_dir())
    }

    /// A builder configured from any source of variables: the endpoint (`HF_ENDPOINT`), the
    /// token (`HF_TOKEN`, `HUGGING_FACE_HUB_TOKEN`, then the token file, unless
    /// `HF_HUB_DISABLE_IMPLICIT_TOKEN`), offline mode (`HF_HUB_OFFLINE`, else
    /// `TRANSFORMERS_OFFLINE`), proxies (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, or
    /// their lowercase forms) and the timeouts (`HF_HUB_ETAG_TIMEOUT` for answers,
    /// `HF_HUB_DOWNLOAD_TIMEOUT` for connections, in seconds; 10 each by default).
    pub fn from_vars(
        var: &dyn Fn(&str) -> Option<OsString>,
        home: Option<std::path::PathBuf>,
    ) -> Result<ClientBuilder, Error> {
        let endpoint = match var(HF_ENDPOINT).filter(|v| !v.is_empty()) {
            Some(url) => Endpoint::new(&url.to_string_lossy()).map_err(|e| {
                Error::InvalidVariable { name: HF_ENDPOINT, value: e.endpoint, expected: e.reason }
            })?,
            None => Endpoint::default(),
        };
        let token = if flag(var(HF_HUB_DISABLE_IMPLICIT_TOKEN)) {
            None
        } else {
            token_from_vars(var, home)?
        };
        // A set HF_HUB_OFFLINE decides, even when false (as in Python).
        let offline = match var(HF_HUB_OFFLINE).filter(|v| !v.is_empty()) {
            Some(v) => flag(Some(v)),
            None => flag(var(TRANSFORMERS_OFFLINE)),
        };
        let seconds = |name: &'static str| -> Result<Duration, Error> {
            match var(name).filter(|v| !v.is_empty()) {
                None => Ok(Duration::from_secs(10)),
                Some(v) => {
                    let value = v.to_string_lossy();
                    value
                        .trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|s| s.is_finite() && *s > 0.0)
                        .map(Duration::from_secs_f64)
                        .ok_or_else(|| Error::InvalidVariable {
                            name,
                            value: value.into_owned(),
                            expected: "use a positive number of seconds",
                        })
                }
            }
        };
        let read = seconds(HF_HUB_ETAG_TIMEOUT)?;
        let connect = seconds(HF_HUB_DOWNLOAD_TIMEOUT)?;
        let first = |names: [&str; 2]| {
            names
                .into_iter()
                .find_map(|n| var(n).filter(|v| !v.is_empty()))
                .map(|v| v.to_string_lossy().into_owned())
        };
        let proxy = crate::client::Proxy {
            https: first([HTTPS_PROXY, HTTPS_PROXY_LOWERCASE]),
            http: first([HTTP_PROXY, HTTP_PROXY_LOWERCASE]),
            all: first([ALL_PROXY, ALL_PROXY_LOWERCASE]),
            no_proxy: first([NO_PROXY, NO_PROXY_LOWERCASE]),
        };
        Ok(ClientBuilder::new(endpoint)
            .token(token)
            .offline(offline)
            .timeouts(connect, read)
            .proxy(proxy))
    }
}

impl HubClient {
    /// A client configured from the environment (see [`ClientBuilder::from_vars`]).
    pub fn from_env() -> Result<HubClient, Error> {
        ClientBuilder::from_env()?.build()
    }
}

impl TransferConfig {
    /// The defaults, changed by the environment: see [`TransferConfig::from_vars`].
    #[allow(clippy::disallowed_methods)] // from_env: where the environment is read
    pub fn from_env() -> Result<TransferConfig, Error> {
        TransferConfig::from_vars(&|name| std::env::var_os(name))
    }

    /// The defaults, changed by any source of variables: verification off when
    /// `HF_HUB_DISABLE_DOWNLOAD_VERIFICATION` is true; the connections per file
    /// (`HF_HUB_DOWNLOAD_CONNECTIONS`, at most 64) and the range size
    /// (`HF_HUB_DOWNLOAD_CHUNK_SIZE`, at least 64 KiB) and the stall timeout
    /// (`HF_HUB_DOWNLOAD_STALL_TIMEOUT`, whole seconds) and the lease timeout
    /// (`HF_HUB_LEASE_TIMEOUT`, whole seconds) when set. A value that is not valid
    /// UTF-8 counts as unset.
    pub fn from_vars(var: &dyn Fn(&str) -> Option<OsString>) -> Result<TransferConfig, Error> {
        let mut transfer =
            TransferConfig::default().with_verify(!flag(var(HF_HUB_DISABLE_DOWNLOAD_VERIFICATION)));
        let number = |name: &'static str| -> Result<Option<u64>, Error> {
            match var(name).and_then(|v| v.into_string().ok()) {
                Some(v) if !v.trim().is_empty() => {
                    v.trim().parse::<u64>().ok().filter(|n| *n > 0).map(Some).ok_or_else(|| {
                        Error::InvalidVariable {
                            name,
                            value: v,
                            expected: "use a positive whole number",
                        }
                    })
                }
                _ => Ok(None),
            }
        };
        if let Some(n) = number(HF_HUB_DOWNLOAD_CONNECTIONS)? {
            transfer.connections = usize::try_from(n).unwrap_or(usize::MAX).min(64);
        }
        if let Some(n) = number(HF_HUB_DOWNLOAD_CHUNK_SIZE)? {
            transfer.chunk_size = n.max(64 * 1024);
        }
        if let Some(n) = number(HF_HUB_DOWNLOAD_STALL_TIMEOUT)? {
            transfer.stall_timeout = Duration::from_secs(n);
        }
        if let Some(n) = number(HF_HUB_LEASE_TIMEOUT)? {
            transfer.lease = hub_cache::LeaseConfig::with_stale_after(Duration::from_secs(n));
        }
        Ok(transfer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| OsString::from(v))
    }

    #[test]
    fn transfer_settings_come_from_the_environment() {
        let defaults = TransferConfig::from_vars(&vars(&[])).unwrap();
        assert_eq!(defaults, TransferConfig::default());
        let set = TransferConfig::from_vars(&vars(&[
            ("HF_HUB_DISABLE_DOWNLOAD_VERIFICATION", "yes"),
            ("HF_HUB_DOWNLOAD_CONNECTIONS", " 1000 "),
            ("HF_HUB_DOWNLOAD_CHUNK_SIZE", "1"),
        ]))
        .unwrap();
        assert!(!set.verify);
        assert_eq!((set.connections, set.chunk_size), (64, 64 * 1024));
        let blank = TransferConfig::from_vars(&vars(&[("HF_HUB_DOWNLOAD_CONNECTIONS", " ")]));
        assert_eq!(blank.unwrap(), TransferConfig::default());
        for bad in ["0", "-1", "many"] {
            let pairs = [("HF_HUB_DOWNLOAD_CHUNK_SIZE", bad)];
            let var = |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.into());
            assert!(
                matches!(TransferConfig::from_vars(&var), Err(Error::InvalidVariable { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn offline_and_token_come_from_the_environment() {
        let home = tempfile::tempdir().unwrap();
        let b = ClientBuilder::from_vars(
            &vars(&[
                ("HF_HUB_OFFLINE", "0"),
                ("TRANSFORMERS_OFFLINE", "1"),
                ("HF_TOKEN", " hf_x "),
            ]),
            Some(home.path().to_path_buf()),
        )
        .unwrap();
        let client = b.build().unwrap();
        assert!(!client.is_offline(), "a set HF_HUB_OFFLINE=0 masks TRANSFORMERS_OFFLINE");
        assert!(client.sends_token_to("https://huggingface.co/api/whoami-v2"));
        let client = ClientBuilder::from_vars(
            &vars(&[
                ("TRANSFORMERS_OFFLINE", "1"),
                ("HF_TOKEN", "hf_x"),
                ("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1"),
            ]),
            Some(home.path().to_path_buf()),
        )
        .unwrap()
        .build()
        .unwrap();
        assert!(client.is_offline());
        assert!(!client.sends_token_to("https://huggingface.co/api/whoami-v2"));
        assert!(matches!(
            ClientBuilder::from_vars(&vars(&[("HF_TOKEN", "hf_\u{7f}x")]), None),
            Err(Error::InvalidToken)
        ));
        assert!(matches!(
            ClientBuilder::from_vars(
                &vars(&[("HF_HUB_ETAG_TIMEOUT", "soon")]),
                Some(home.path().to_path_buf())
            ),
            Err(Error::InvalidVariable { .. })
        ));
    }
}
