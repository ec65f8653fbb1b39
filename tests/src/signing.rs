//! Signed, expiring URLs for the CDN host (and the multipart completion URL on the hub).
//!
//! A signature is an HMAC-SHA256 over `method \n object \n expiry` with a key drawn when the
//! hub starts; the URL carries `exp=<unix secs>&sig=<hex>`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::util::{hex, unix_now};

type HmacSha256 = Hmac<Sha256>;

/// Why a signed URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignatureError {
    Missing,
    Expired,
    Invalid,
}

impl SignatureError {
    pub(crate) fn message(self) -> &'static str {
        match self {
            SignatureError::Missing => "missing signature",
            SignatureError::Expired => "signed URL has expired",
            SignatureError::Invalid => "signature does not match",
        }
    }
}

/// Signs and checks URLs.
#[derive(Debug)]
pub(crate) struct Signer {
    key: [u8; 32],
    lifetime: Duration,
}

impl Signer {
    pub(crate) fn new(lifetime: Duration) -> Signer {
        let mut hasher = Sha256::new();
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        hasher.update(nanos.to_le_bytes());
        hasher.update(std::process::id().to_le_bytes());
        let stack_addr = &hasher as *const _ as usize;
        hasher.update(stack_addr.to_le_bytes());
        Signer { key: hasher.finalize().into(), lifetime }
    }

    fn mac(&self, method: &str, object: &str, exp: u64) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match HmacSha256::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any size"),
        };
        mac.update(method.as_bytes());
        mac.update(b"\n");
        mac.update(object.as_bytes());
        mac.update(b"\n");
        mac.update(exp.to_string().as_bytes());
        mac
    }

    /// The query string (`exp=…&sig=…`) for `method` on `object`, valid for `lifetime`
    /// (rounded up to whole seconds, at least one).
    pub(crate) fn query(&self, method: &str, object: &str, lifetime: Duration) -> String {
        let secs = lifetime.as_secs() + u64::from(lifetime.subsec_nanos() > 0);
        self.query_expiring_at(method, object, unix_now() + secs.max(1))
    }

    /// The query string for `method` on `object`, valid until `exp` (unix seconds).
    pub(crate) fn query_expiring_at(&self, method: &str, object: &str, exp: u64) -> String {
        let sig = hex(&self.mac(method, object, exp).finalize().into_bytes());
        format!("exp={exp}&sig={sig}")
    }

    /// Checks the `exp`/`sig` parameters of `query` for `method` on `object`.
    pub(crate) fn verify(
        &self,
        method: &str,
        object: &str,
        query: Option<&str>,
    ) -> Result<(), SignatureError> {
        let mut exp = None;
        let mut sig = None;
        for pair in query.unwrap_or("").split('&') {
            match pair.split_once('=') {
                Some(("exp", v)) => exp = v.parse::<u64>().ok(),
                Some(("sig", v)) => sig = Some(v),
                _ => (),
            }
        }
        let (Some(exp), Some(sig)) = (exp, sig) else { return Err(SignatureError::Missing) };
        let sig_bytes = decode_hex(sig).ok_or(SignatureError::Invalid)?;
        self.mac(method, object, exp)
            .verify_slice(&sig_bytes)
            .map_err(|_| SignatureError::Invalid)?;
        if unix_now() > exp {
            return Err(SignatureError::Expired);
        }
        Ok(())
    }

    pub(crate) fn lifetime(&self) -> Duration {
        self.lifetime
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    s.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => {
                Some(((*hi as char).to_digit(16)? * 16 + (*lo as char).to_digit(16)?) as u8)
            }
            _ => None,
        })
        .collect()
}
