//! The [`Token`] type: a checked secret that is never printed.

use std::fmt;

use http::HeaderValue;

use crate::Error;

/// A Hub access token. Never shown: `Debug` prints `Token(***)`, and there is no `Display`.
///
/// The client sends it only to its endpoint's origin (see [`crate::HubClient::sends_token_to`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Checks the token: surrounding white space is trimmed; an empty token or one with bytes
    /// that cannot go in an HTTP header is refused (never silently dropped).
    pub fn new(token: &str) -> Result<Token, Error> {
        let token = token.trim();
        if token.is_empty() || HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
            return Err(Error::InvalidToken);
        }
        Ok(Token(token.to_owned()))
    }

    /// The secret itself, for the `Authorization` header or a credential helper.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// `Bearer <token>`, marked sensitive (so that `http` never shows it).
    pub(crate) fn header(&self) -> Result<HeaderValue, Error> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.0))
            .map_err(|_| Error::InvalidToken)?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// Whether this is an organization token (`api_org…`), which cannot log in.
    pub(crate) fn is_organization_token(&self) -> bool {
        self.0.starts_with("api_org")
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_trimmed_checked_and_never_shown() {
        let token = Token::new(" hf_secret\n").unwrap();
        assert_eq!(token.expose_secret(), "hf_secret");
        assert_eq!(format!("{token:?}"), "Token(***)");
        assert_eq!(format!("{:?}", Some(token.clone())), "Some(Token(***))");
        assert!(format!("{:?}", token.header().unwrap()).contains("Sensitive"));
        for bad in ["", " \n", "hf_a\nb", "hf_\u{7f}"] {
            assert!(matches!(Token::new(bad), Err(Error::InvalidToken)), "{bad:?}");
        }
    }
}
