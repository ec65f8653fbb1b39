//! `hub-cli login`, `logout` and `whoami`, with the Python tools' token files: whoever logs in
//! here is logged in for `huggingface_hub` too, and the other way round. The token is never
//! echoed nor printed.

use std::io::{BufRead, IsTerminal};

use anyhow::Context;
use hub_api::Token;
use hub_api::auth::TOKEN_ENV_VARS;
use hub_api::login::{TokenStore, git_credential_approve, git_credential_reject, login};

use crate::common::{client_builder, runtime};

pub(crate) fn run_login(token: Option<String>, add_to_git_credential: bool) -> anyhow::Result<()> {
    let token = match token {
        Some(token) => token,
        None => read_token()?,
    };
    let token = Token::new(&token)?;
    let store = TokenStore::from_env()?;
    let builder = client_builder()?;
    let endpoint = builder.endpoint().as_str().to_owned();
    let runtime = runtime()?;
    let done = runtime.block_on(login(builder, token.clone(), &store))?;
    eprintln!("Token is valid (permission: {}).", done.role.as_deref().unwrap_or("unknown"));
    if add_to_git_credential {
        if git_credential_approve(&endpoint, &token)? {
            eprintln!("Your token has been saved in your configured git credential helpers.");
        } else {
            eprintln!(
                "warning: git has no credential helper, so the token was not stored for git; \
                 run `git config --global credential.helper store` and log in again"
            );
        }
    }
    eprintln!("Your token has been saved to {}", store.active_path().display());
    eprintln!("Login successful: logged in as {} (token \"{}\").", done.user, done.token_name);
    Ok(())
}

/// The token from stdin when it is piped, else from a hidden prompt.
fn read_token() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password("Enter your token (input will not be visible): ")
            .context("cannot read the token");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the token from stdin")?;
    Ok(line)
}

pub(crate) fn run_logout() -> anyhow::Result<()> {
    let store = TokenStore::from_env()?;
    let removed = store.clear()?;
    let endpoint = client_builder()?.endpoint().as_str().to_owned();
    git_credential_reject(&endpoint)?;
    if removed {
        eprintln!("Successfully logged out.");
    } else {
        eprintln!("Not logged in!");
    }
    if let Some(var) = TokenVars::from_env().set.first() {
        anyhow::bail!(
            "you are still logged in through the {var} environment variable; unset it to log out"
        );
    }
    Ok(())
}

/// The token variables of the environment that are set.
#[derive(Debug)]
struct TokenVars {
    /// Their names, in order of precedence, when set to a non-empty value.
    set: Vec<&'static str>,
}

impl TokenVars {
    fn from_env() -> TokenVars {
        let set = TOKEN_ENV_VARS
            .into_iter()
            .filter(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()))
            .collect();
        TokenVars { set }
    }
}

pub(crate) fn run_whoami() -> anyhow::Result<()> {
    let token = Token::from_env()?;
    if token.is_none() {
        anyhow::bail!("Not logged in");
    }
    // The token is sent even with HF_HUB_DISABLE_IMPLICIT_TOKEN: asking who it is, is explicit
    // (as the Python tool's whoami).
    let client = client_builder()?.token(token).build()?;
    let who = runtime()?.block_on(client.whoami())?;
    outln!("{}", who.name);
    let orgs: Vec<&str> = who.orgs.iter().map(|o| o.name.as_str()).collect();
    if !orgs.is_empty() {
        outln!("orgs: {}", orgs.join(","));
    }
    Ok(())
}
