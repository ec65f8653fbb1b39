//! Logging in and out as the Python tool does (`docs/protocol/auth.md#login-and-logout`):
//! [`login`] checks a token with the Hub and stores it; git's credential helper gets it too when
//! asked (`docs/protocol/auth.md#git-credentials`).

use std::io::Write;
use std::process::{Command, Stdio};

use super::secret::Token;
use super::store::TokenStore;
use crate::{ClientBuilder, Error};

/// What [`login`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoggedIn {
    /// The user the token belongs to.
    pub user: String,
    /// The name the token is stored under (its display name on the Hub).
    pub token_name: String,
    /// `read`, `write`, … when the Hub says.
    pub role: Option<String>,
}

/// Checks `token` with the Hub (`whoami-v2`) and stores it as the active token, as the Python
/// tool's `login`. Organization tokens (`api_org…`) are refused
/// ([`Error::OrganizationToken`]) before anything is sent. The token is sent to the builder's
/// endpoint only, as every request of the client.
pub async fn login(
    builder: ClientBuilder,
    token: Token,
    store: &TokenStore,
) -> Result<LoggedIn, Error> {
    if token.is_organization_token() {
        return Err(Error::OrganizationToken);
    }
    let who = builder.token(Some(token.clone())).offline(false).build()?.whoami().await?;
    let role = who.token().and_then(|t| t.role.clone());
    let token_name = who
        .token()
        .and_then(|t| t.display_name.clone())
        .unwrap_or_else(|| format!("oauth-{}", who.name));
    store.save(&token_name, &token)?;
    Ok(LoggedIn { user: who.name, token_name, role })
}

/// Stores the token in git's credential helper for the endpoint (`git credential approve`),
/// as the Python tool's `--add-to-git-credential`. Returns `false` when git has no helper
/// configured (then nothing is stored).
pub fn git_credential_approve(endpoint: &str, token: &Token) -> Result<bool, Error> {
    if !git_has_credential_helper() {
        return Ok(false);
    }
    let input = format!("url={endpoint}\nusername=hf_user\npassword={}\n\n", token.expose_secret());
    git_credential("approve", &input)?;
    Ok(true)
}

/// Removes the endpoint's credential from git's helper (`git credential reject`).
pub fn git_credential_reject(endpoint: &str) -> Result<(), Error> {
    if git_has_credential_helper() {
        git_credential("reject", &format!("url={endpoint}\nusername=hf_user\n\n"))?;
    }
    Ok(())
}

fn git_has_credential_helper() -> bool {
    Command::new("git")
        .args(["config", "--get-all", "credential.helper"])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.trim_ascii().is_empty())
}

fn git_credential(action: &'static str, input: &str) -> Result<(), Error> {
    let io = |reason: &str| {
        let reason = reason.to_owned();
        move |source| Error::GitCredential { action, reason, source: Some(source) }
    };
    let mut child = Command::new("git")
        .args(["credential", action])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io("cannot run git"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).map_err(io("cannot write to git"))?;
    }
    let out = child.wait_with_output().map_err(io("cannot wait for git"))?;
    if out.status.success() {
        return Ok(());
    }
    // git's message never contains the password we wrote on its stdin.
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    let reason = if stderr.is_empty() { format!("git {}", out.status) } else { stderr };
    Err(Error::GitCredential { action, reason, source: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_organization_token_is_refused_before_anything_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path().join("token"));
        // Nothing listens there: a request would fail as unreachable, not as this.
        let endpoint = hub_url::Endpoint::new("http://127.0.0.1:9").unwrap();
        let token = Token::new("api_org_abc").unwrap();
        let err = login(ClientBuilder::new(endpoint), token, &store).await.unwrap_err();
        assert!(matches!(err, Error::OrganizationToken), "{err:?}");
        assert!(!store.active_path().exists());
    }
}
