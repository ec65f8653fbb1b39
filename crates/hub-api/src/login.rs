//! Logging in and out with the Python tools' files (`docs/protocol/auth.md#token-files`): the
//! active token in `$HF_TOKEN_PATH` (default `$HF_HOME/token`), every stored token in
//! `stored_tokens` beside it (an INI file, one section per token name, key `hf_token`). Both
//! written atomically, the files mode 0600 in a folder mode 0700. A user logged in here is
//! logged in for the Python tools, and the other way round.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Error;
use crate::client::Token;

/// The token files: the active one and `stored_tokens` beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenStore {
    active: PathBuf,
    stored: PathBuf,
}

/// What [`TokenStore::remove`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    /// No stored token has that name: nothing.
    Nothing,
    /// The stored token; another one (or none) is active.
    Stored,
    /// The stored token, and the active token, which was that one: none is active now.
    Active,
}

/// One section of `stored_tokens`: its keys, in order (`hf_token` and any the Python tool adds).
type Section = Vec<(String, String)>;

impl TokenStore {
    /// The store whose active token file is `token_path` (see [`TokenStore::from_env`]).
    pub fn new(token_path: PathBuf) -> TokenStore {
        let stored = token_path.parent().unwrap_or(Path::new(".")).join("stored_tokens");
        TokenStore { active: token_path, stored }
    }

    /// The store of the environment: its active token file is `$HF_TOKEN_PATH`, else
    /// `$HF_HOME/token` (see [`crate::auth::token_path_from_vars`]). Fails only when that
    /// needs the home folder and there is none.
    pub fn from_env() -> Result<TokenStore, hub_cache::Error> {
        crate::auth::token_path_from_vars(&|name| std::env::var_os(name), std::env::home_dir())
            .map(TokenStore::new)
    }

    /// The active token file.
    pub fn active_path(&self) -> &Path {
        &self.active
    }

    /// The `stored_tokens` file.
    pub fn stored_path(&self) -> &Path {
        &self.stored
    }

    /// The active token, when there is one.
    pub fn active(&self) -> Result<Option<Token>, Error> {
        match std::fs::read_to_string(&self.active) {
            Ok(content) if !content.trim().is_empty() => Token::new(&content).map(Some),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&self.active, e)),
        }
    }

    /// The names of the stored tokens, sorted.
    pub fn names(&self) -> Result<Vec<String>, Error> {
        Ok(self.read_stored()?.into_keys().collect())
    }

    /// Stores `token` under `name` and makes it the active token.
    pub fn save(&self, name: &str, token: &Token) -> Result<(), Error> {
        let name = clean_name(name)?;
        let mut stored = self.read_stored()?;
        let section = stored.entry(name).or_default();
        section.retain(|(k, _)| k != "hf_token" && k != "refresh_token" && k != "expires_at");
        section.insert(0, ("hf_token".to_owned(), token.expose_secret().to_owned()));
        write_secret(&self.stored, format_ini(&stored).as_bytes())?;
        write_secret(&self.active, token.expose_secret().as_bytes())
    }

    /// The token stored under `name`, when there is one.
    pub fn get(&self, name: &str) -> Result<Option<Token>, Error> {
        let stored = self.read_stored()?;
        let Some(section) = stored.get(name.trim()) else { return Ok(None) };
        section.iter().find(|(k, _)| k == "hf_token").map(|(_, v)| Token::new(v)).transpose()
    }

    /// The name of the stored token that is the active one, when one is.
    pub fn active_name(&self) -> Result<Option<String>, Error> {
        let Some(active) = self.active()? else { return Ok(None) };
        let stored = self.read_stored()?;
        Ok(stored.into_iter().find_map(|(name, section)| {
            section
                .iter()
                .any(|(k, v)| k == "hf_token" && v == active.expose_secret())
                .then_some(name)
        }))
    }

    /// Makes the token stored under `name` the active one, as `hf auth switch`. Fails with
    /// [`Error::InvalidInput`] when no token has that name.
    pub fn activate(&self, name: &str) -> Result<(), Error> {
        let token = self.get(name)?.ok_or_else(|| Error::InvalidInput {
            reason: format!(
                "no stored token is named {:?}; `hub-cli auth list` shows them",
                name.trim()
            ),
        })?;
        write_secret(&self.active, token.expose_secret().as_bytes())
    }

    /// Removes the token stored under `name`, and the active token when it is that one.
    /// Returns what was removed.
    pub fn remove(&self, name: &str) -> Result<Removed, Error> {
        let mut stored = self.read_stored()?;
        let Some(section) = stored.remove(name.trim()) else { return Ok(Removed::Nothing) };
        let active = self.active()?;
        let was_active = active.is_some_and(|active| {
            section.iter().any(|(k, v)| k == "hf_token" && v == active.expose_secret())
        });
        write_secret(&self.stored, format_ini(&stored).as_bytes())?;
        if !was_active {
            return Ok(Removed::Stored);
        }
        match std::fs::remove_file(&self.active) {
            Ok(()) => Ok(Removed::Active),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Removed::Active),
            Err(e) => Err(io(&self.active, e)),
        }
    }

    /// Removes every stored token and the active one. Returns whether anything was removed.
    pub fn clear(&self) -> Result<bool, Error> {
        let mut removed = false;
        for path in [&self.active, &self.stored] {
            match std::fs::remove_file(path) {
                Ok(()) => removed = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(path, e)),
            }
        }
        Ok(removed)
    }

    fn read_stored(&self) -> Result<BTreeMap<String, Section>, Error> {
        match std::fs::read_to_string(&self.stored) {
            Ok(content) => Ok(parse_ini(&content)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(io(&self.stored, e)),
        }
    }
}

fn clean_name(name: &str) -> Result<String, Error> {
    let name = name.trim();
    if name.is_empty() || name.contains(['[', ']', '\n', '\r']) {
        return Err(Error::InvalidInput {
            reason: format!("invalid token name {name:?}: use letters, digits, '-' or '_'"),
        });
    }
    Ok(name.to_owned())
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Cache(hub_cache::Error::Io { path: path.to_path_buf(), cause: source })
}

/// configparser's reading: `[section]`, `key = value` (or `key: value`), `#`/`;` comments.
fn parse_ini(content: &str) -> BTreeMap<String, Section> {
    let mut sections: BTreeMap<String, Section> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in content.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.to_owned());
            sections.entry(name.to_owned()).or_default();
            continue;
        }
        let split = line.find(['=', ':']).map(|i| (&line[..i], &line[i + 1..]));
        if let (Some(section), Some((key, value))) = (&current, split)
            && let Some(entries) = sections.get_mut(section)
        {
            entries.push((key.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    sections
}

/// configparser's writing: sections in order, `key = value`, a blank line after each.
fn format_ini(sections: &BTreeMap<String, Section>) -> String {
    let mut out = String::new();
    for (name, entries) in sections {
        out.push_str(&format!("[{name}]\n"));
        for (key, value) in entries {
            out.push_str(&format!("{key} = {value}\n"));
        }
        out.push('\n');
    }
    out
}

/// Writes a secret atomically: folder 0700, file 0600 from its creation (never readable by
/// others, even for an instant).
fn write_secret(path: &Path, content: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let mut tmp =
        tempfile::Builder::new().prefix(".token-").tempfile_in(dir).map_err(|e| io(dir, e))?;
    // tempfile creates files 0600 on unix.
    tmp.write_all(content).map_err(|e| io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| io(path, e))?;
    tmp.persist(path).map_err(|e| io(path, e.error))?;
    Ok(())
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

fn git_credential(action: &str, input: &str) -> Result<(), Error> {
    let failed = |reason: String| Error::InvalidInput {
        reason: format!("git credential {action} failed: {reason}"),
    };
    let mut child = Command::new("git")
        .args(["credential", action])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot run git ({e})")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).map_err(|e| failed(e.to_string()))?;
    }
    let out = child.wait_with_output().map_err(|e| failed(e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        // git's message never contains the password we wrote on its stdin.
        Err(failed(String::from_utf8_lossy(&out.stderr).trim().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_tokens_round_trip_the_python_ini() {
        let dir = tempfile::tempdir().unwrap();
        let python = "[old]\nhf_token = hf_old\nexpires_at = 5\n\n[work]\nhf_token = hf_work\n\n";
        std::fs::write(dir.path().join("stored_tokens"), python).unwrap();
        let store = TokenStore::new(dir.path().join("token"));
        store.save("mine", &Token::new("hf_mine\n").unwrap()).unwrap();
        assert_eq!(store.names().unwrap(), ["mine", "old", "work"]);
        let written = std::fs::read_to_string(store.stored_path()).unwrap();
        assert_eq!(
            written,
            "[mine]\nhf_token = hf_mine\n\n[old]\nhf_token = hf_old\nexpires_at = 5\n\n[work]\nhf_token = hf_work\n\n"
        );
        assert_eq!(std::fs::read_to_string(store.active_path()).unwrap(), "hf_mine");
        assert_eq!(store.active().unwrap().unwrap().expose_secret(), "hf_mine");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for path in [store.active_path(), store.stored_path()] {
                assert_eq!(std::fs::metadata(path).unwrap().permissions().mode() & 0o777, 0o600);
            }
            let mode = std::fs::metadata(dir.path()).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
        }
        assert_eq!(store.active_name().unwrap().as_deref(), Some("mine"));
        store.activate("work").unwrap();
        assert_eq!(store.active().unwrap().unwrap().expose_secret(), "hf_work");
        assert_eq!(store.active_name().unwrap().as_deref(), Some("work"));
        assert!(store.activate("nobody").is_err());
        assert_eq!(store.remove("nobody").unwrap(), Removed::Nothing);
        assert_eq!(store.remove("work").unwrap(), Removed::Active, "it goes with its name");
        assert!(store.active().unwrap().is_none());
        assert_eq!(store.names().unwrap(), ["mine", "old"]);
        store.activate("mine").unwrap();
        assert_eq!(store.remove("old").unwrap(), Removed::Stored, "mine stays active");
        assert_eq!(store.active().unwrap().unwrap().expose_secret(), "hf_mine");
        assert!(store.clear().unwrap());
        assert!(store.active().unwrap().is_none());
        assert!(!store.clear().unwrap());
    }
}

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
/// tool's `login`. Organization tokens (`api_org…`) are refused.
pub async fn login(
    builder: crate::ClientBuilder,
    token: Token,
    store: &TokenStore,
) -> Result<LoggedIn, Error> {
    if token.expose_secret().starts_with("api_org") {
        return Err(Error::InvalidInput {
            reason: "this is an organization token: log in with your personal account token"
                .to_owned(),
        });
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
