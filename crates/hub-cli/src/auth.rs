//! `hub-cli auth login|logout|whoami|list|switch` (the seed's top-level `login`, `logout` and
//! `whoami` too), with the Python tools' token files: whoever logs in here is logged in for
//! `huggingface_hub` too, and the other way round; named tokens live in `stored_tokens`, as
//! `hf auth` keeps them. A token is never echoed nor printed, not even in part.

use std::io::{BufRead, IsTerminal};

use anyhow::Context;
use hub_api::token::{
    Removed, TOKEN_ENV_VARS, Token, TokenStore, git_credential_approve, git_credential_reject,
    login,
};

use crate::common::{client_builder, runtime};

/// `hub-cli auth` subcommands.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum AuthCommand {
    /// Log in: check a token with the Hub and store it where the Python tools find it too.
    ///
    /// Without --token, the token is read from stdin, or from a hidden prompt on a terminal.
    /// It is stored under its name on the Hub and becomes the active token.
    Login(LoginArgs),
    /// Log out: delete every stored token (or only --token-name's), and git's credential.
    Logout(LogoutArgs),
    /// Print the logged-in user and their organizations.
    Whoami,
    /// List the stored tokens by name; `*` marks the active one.
    #[command(visible_alias = "ls")]
    List,
    /// Make another stored token the active one.
    Switch {
        /// The token's name, as `auth list` shows it.
        #[arg(long = "token-name", value_name = "NAME")]
        token_name: String,
    },
}

/// `hub-cli auth login` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct LoginArgs {
    /// The token (prefer stdin or the prompt: a command line can be seen by others).
    #[arg(long, value_name = "TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Also store the token in git's credential helper, for git push over HTTPS.
    #[arg(long)]
    add_to_git_credential: bool,
}

/// `hub-cli auth logout` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct LogoutArgs {
    /// Delete only the token stored under this name.
    #[arg(long = "token-name", value_name = "NAME")]
    token_name: Option<String>,
}

pub(crate) fn run(command: AuthCommand) -> anyhow::Result<()> {
    match command {
        AuthCommand::Login(args) => run_login(args),
        AuthCommand::Logout(args) => run_logout(args),
        AuthCommand::Whoami => run_whoami(),
        AuthCommand::List => run_list(),
        AuthCommand::Switch { token_name } => {
            let store = TokenStore::from_env()?;
            store.activate(&token_name)?;
            eprintln!("The active token is now {:?}.", token_name.trim());
            warn_if_env_token();
            Ok(())
        }
    }
}

fn run_list() -> anyhow::Result<()> {
    let store = TokenStore::from_env()?;
    let names = store.names()?;
    if names.is_empty() {
        eprintln!("No stored token: run `hub-cli auth login`.");
        return Ok(());
    }
    let active = store.active_name()?;
    for name in names {
        let mark = if active.as_deref() == Some(name.as_str()) { '*' } else { ' ' };
        outln!("{mark} {name}");
    }
    warn_if_env_token();
    Ok(())
}

/// Says when a token variable overrides the stored tokens.
fn warn_if_env_token() {
    if let Some(var) = TokenVars::from_env().set.first() {
        eprintln!("note: {var} is set, and it is used instead of the stored tokens");
    }
}

pub(crate) fn run_login(args: LoginArgs) -> anyhow::Result<()> {
    let LoginArgs { token, add_to_git_credential } = args;
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

pub(crate) fn run_logout(args: LogoutArgs) -> anyhow::Result<()> {
    let store = TokenStore::from_env()?;
    if let Some(name) = &args.token_name {
        let removed = store.remove(name)?;
        if removed == Removed::Nothing {
            anyhow::bail!("no stored token is named {name:?}; `hub-cli auth list` shows them");
        }
        eprintln!("Deleted the token {name:?}.");
        if removed == Removed::Active {
            eprintln!(
                "It was the active token, so no token is active now: \
                 `hub-cli auth switch --token-name NAME` makes another one active."
            );
        }
        return Ok(());
    }
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
    #[allow(clippy::disallowed_methods)] // from_env: where the environment is read
    fn from_env() -> TokenVars {
        let set = TOKEN_ENV_VARS
            .into_iter()
            .filter(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()))
            .collect();
        TokenVars { set }
    }
}

pub(crate) fn run_whoami() -> anyhow::Result<()> {
    // The token is sent even with HF_HUB_DISABLE_IMPLICIT_TOKEN: asking who it is, is explicit
    // (as the Python tool's whoami). Without one, whoami says not logged in.
    let client = client_builder()?.token(Token::from_env()?).build()?;
    let who = runtime()?.block_on(client.whoami())?;
    outln!("{}", who.name);
    let orgs: Vec<&str> = who.orgs.iter().map(|o| o.name.as_str()).collect();
    if !orgs.is_empty() {
        outln!("orgs: {}", orgs.join(","));
    }
    Ok(())
}
