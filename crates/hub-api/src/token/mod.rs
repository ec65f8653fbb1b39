//! Hub tokens: the secret [`Token`], where it comes from, the token files shared with the Python
//! tools, and logging in (`docs/protocol/auth.md#tokens`).
//!
//! **The rules.** A token is never printed: [`Token`]'s `Debug` shows `Token(***)`, it has no
//! `Display`, and no error of this crate holds one. A token is sent only to the origin of the
//! client's endpoint (scheme, host and port), in the one place the `Authorization` header is
//! added ([`HubClient::sends_token_to`](crate::HubClient::sends_token_to)); a CDN, a storage
//! server or a redirect to another host never sees it, whatever the caller passes.
//!
//! **Which token a client sends**, with the Python library's precedence:
//!
//! 1. the explicit one: [`ClientBuilder::token`](crate::ClientBuilder::token) (`--token` in
//!    `hub-cli`), which replaces whatever the environment gave;
//! 2. `HF_TOKEN`, then `HUGGING_FACE_HUB_TOKEN` ([`TOKEN_ENV_VARS`]);
//! 3. the active token file ([`token_path_from_vars`]: `HF_TOKEN_PATH`, by default
//!    `$HF_HOME/token`).
//!
//! 2 and 3 are the implicit token ([`token_from_vars`], [`Token::from_env`]);
//! [`ClientBuilder::from_env`](crate::ClientBuilder::from_env) takes it unless
//! `HF_HUB_DISABLE_IMPLICIT_TOKEN` is set. A blank variable or file provides none.
//! [`token_source`] says which one provides it, without the token.
//!
//! **The files.** [`TokenStore`] holds the active token file and `stored_tokens` beside it (the
//! named tokens of `hf auth login`): read through one reader, written atomically (mode 0600 from
//! the start), deleted. A failure to read, write or delete one is [`Error::TokenFile`](crate::Error::TokenFile),
//! which names the file. [`login`] checks a token with the Hub and stores it;
//! [`git_credential_approve`] and [`git_credential_reject`] tell git's credential helper.
//!
//! ```
//! use hub_api::token::{TokenSource, token_path_from_env, token_source};
//!
//! let path = token_path_from_env()?;
//! match token_source(&|name| std::env::var_os(name), &path)? {
//!     TokenSource::Env(var) => println!("token from {var}"),
//!     TokenSource::File(file) => println!("token from {}", file.display()),
//!     TokenSource::None => println!("not logged in"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod login;
mod secret;
mod source;
mod store;

pub use login::{LoggedIn, git_credential_approve, git_credential_reject, login};
pub use secret::Token;
pub use source::{TOKEN_ENV_VARS, TokenSource, token_from_vars, token_source};
pub use store::{Removed, TokenFileOp, TokenStore, token_path_from_env, token_path_from_vars};

#[cfg(test)]
mod tests {
    use crate::{ClientBuilder, Token};
    use hub_url::Endpoint;

    /// The origin check, as strict as it is: same scheme, host and port, nothing else.
    #[test]
    fn the_token_goes_to_the_endpoints_origin_only() {
        let client = |endpoint: &str| {
            let endpoint = Endpoint::new(endpoint).unwrap();
            ClientBuilder::new(endpoint).token(Some(Token::new("hf_x").unwrap())).build().unwrap()
        };
        let hub = client("https://huggingface.co");
        assert!(hub.sends_token_to("https://huggingface.co/api/whoami-v2"));
        assert!(hub.sends_token_to("https://huggingface.co:443/acme/x/resolve/main/f"));
        for other in [
            "http://huggingface.co/api/whoami-v2",
            "https://huggingface.co:8443/api/whoami-v2",
            "https://cdn-lfs.huggingface.co/repos/x",
            "https://huggingface.co.evil.example/api",
            "https://evil.example/?https://huggingface.co/",
            "https://huggingface.co@evil.example/api",
            "not a url",
        ] {
            assert!(!hub.sends_token_to(other), "{other}");
        }
        let local = client("http://127.0.0.1:8080/");
        assert!(local.sends_token_to("http://127.0.0.1:8080/api/x"));
        assert!(!local.sends_token_to("http://127.0.0.2:8080/api/x"));
        assert!(!local.sends_token_to("http://127.0.0.1:8081/api/x"));
        assert!(!local.sends_token_to("http://localhost:8080/api/x"));
        let anonymous = ClientBuilder::new(Endpoint::default()).build().unwrap();
        assert!(!anonymous.sends_token_to("https://huggingface.co/api/whoami-v2"));
    }
}
