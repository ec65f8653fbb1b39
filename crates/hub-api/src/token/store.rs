//! The token files shared with the Python tools (`docs/protocol/auth.md#token-files`): where
//! they are, the
//! one reader of the active token file, and the store of named tokens.
//!
//! The active token is in `$HF_TOKEN_PATH` (default `$HF_HOME/token`); every stored token is in
//! `stored_tokens` beside it (an INI file, one section per token name, key `hf_token`). Both are
//! written atomically, the files mode 0600 in a folder mode 0700. A user logged in here is
//! logged in for the Python tools, and the other way round.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use hub_cache::HfHome;
use hub_url::env::HF_TOKEN_PATH;

use super::secret::Token;
use crate::Error;

/// The active token file: `$HF_TOKEN_PATH`, else `$HF_HOME/token` (see
/// [`token_path_from_vars`]).
pub fn token_path_from_env() -> Result<PathBuf, hub_cache::Error> {
    TokenStore::from_env().map(|store| store.active)
}

/// As [`token_path_from_env`], over any source of variables: `HF_TOKEN_PATH` (a leading `~`
/// is the home folder, as in Python), else `token` in the `HF_HOME` of
/// [`HfHome::from_vars`]. Fails only when that needs the home folder and there is none.
pub fn token_path_from_vars(
    var: &dyn Fn(&str) -> Option<OsString>,
    home: Option<PathBuf>,
) -> Result<PathBuf, hub_cache::Error> {
    let Some(path) = var(HF_TOKEN_PATH).filter(|v| !v.is_empty()).map(PathBuf::from) else {
        return Ok(HfHome::from_vars(var, home)?.path().join("token"));
    };
    match path.strip_prefix("~") {
        Ok(rest) => home.map(|home| home.join(rest)).ok_or(hub_cache::Error::NoHomeDir),
        Err(_) => Ok(path),
    }
}

/// What was done to a token file when it failed: the `op` of [`Error::TokenFile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenFileOp {
    /// Reading it.
    Read,
    /// Writing it (or making its folder).
    Write,
    /// Deleting it.
    Remove,
}

impl TokenFileOp {
    /// What the user can do about it, for [`Error::TokenFile`]'s message.
    pub(crate) fn advice(self) -> &'static str {
        match self {
            TokenFileOp::Read => "check that you may read it, or set HF_TOKEN_PATH to another file",
            TokenFileOp::Write | TokenFileOp::Remove => {
                "check that you may write to its folder, or set HF_TOKEN_PATH to another file"
            }
        }
    }
}

impl fmt::Display for TokenFileOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenFileOp::Read => "read",
            TokenFileOp::Write => "write",
            TokenFileOp::Remove => "delete",
        })
    }
}

/// The token in the active token file, when there is one: the one reader of that file. A
/// missing file, or one holding only white space, holds none; any other failure to read it is
/// [`Error::TokenFile`], and a token that cannot be sent is [`Error::InvalidToken`].
pub(crate) fn read_token_file(path: &Path) -> Result<Option<Token>, Error> {
    match std::fs::read_to_string(path) {
        Ok(content) if content.trim().is_empty() => Ok(None),
        Ok(content) => Token::new(&content).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(file_error(path, TokenFileOp::Read, e)),
    }
}

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
    /// `$HF_HOME/token` (see [`token_path_from_vars`]). Fails only when that needs the home
    /// folder and there is none.
    #[allow(clippy::disallowed_methods)] // from_env: where the environment is read
    pub fn from_env() -> Result<TokenStore, hub_cache::Error> {
        token_path_from_vars(&|name| std::env::var_os(name), std::env::home_dir())
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

    /// The active token, when there is one (see [`TokenStore::active_path`]).
    pub fn active(&self) -> Result<Option<Token>, Error> {
        read_token_file(&self.active)
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
    /// [`Error::UnknownTokenName`] when no token has that name.
    pub fn activate(&self, name: &str) -> Result<(), Error> {
        let token = self
            .get(name)?
            .ok_or_else(|| Error::UnknownTokenName { name: name.trim().to_owned() })?;
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
            Err(e) => Err(file_error(&self.active, TokenFileOp::Remove, e)),
        }
    }

    /// Removes every stored token and the active one. Returns whether anything was removed.
    pub fn clear(&self) -> Result<bool, Error> {
        let mut removed = false;
        for path in [&self.active, &self.stored] {
            match std::fs::remove_file(path) {
                Ok(()) => removed = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(file_error(path, TokenFileOp::Remove, e)),
            }
        }
        Ok(removed)
    }

    fn read_stored(&self) -> Result<BTreeMap<String, Section>, Error> {
        match std::fs::read_to_string(&self.stored) {
            Ok(content) => Ok(parse_ini(&content)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(file_error(&self.stored, TokenFileOp::Read, e)),
        }
    }
}

fn clean_name(name: &str) -> Result<String, Error> {
    let name = name.trim();
    if name.is_empty() || name.contains(['[', ']', '\n', '\r']) {
        return Err(Error::InvalidTokenName { name: name.to_owned() });
    }
    Ok(name.to_owned())
}

fn file_error(path: &Path, op: TokenFileOp, source: std::io::Error) -> Error {
    Error::TokenFile { path: path.to_path_buf(), op, source }
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
    let io = |e| file_error(path, TokenFileOp::Write, e);
    let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    // tempfile creates files 0600 on unix.
    let mut tmp = tempfile::Builder::new().prefix(".token-").tempfile_in(dir).map_err(io)?;
    tmp.write_all(content).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_path_follows_hf_token_path_then_hf_home() {
        let home = Some(PathBuf::from("/home/u"));
        let custom = |n: &str| (n == "HF_TOKEN_PATH").then(|| OsString::from("/secrets/t"));
        assert_eq!(token_path_from_vars(&custom, home.clone()).unwrap(), Path::new("/secrets/t"));
        let tilde = |n: &str| (n == "HF_TOKEN_PATH").then(|| OsString::from("~/hf/t"));
        assert_eq!(token_path_from_vars(&tilde, home.clone()).unwrap(), Path::new("/home/u/hf/t"));
        assert!(matches!(token_path_from_vars(&tilde, None), Err(hub_cache::Error::NoHomeDir)));
        let hf_home = |n: &str| (n == "HF_HOME").then(|| OsString::from("/hf"));
        assert_eq!(token_path_from_vars(&hf_home, home.clone()).unwrap(), Path::new("/hf/token"));
        let blank = |n: &str| (n == "HF_TOKEN_PATH").then(OsString::new);
        assert_eq!(
            token_path_from_vars(&blank, home.clone()).unwrap(),
            Path::new("/home/u/.cache/huggingface/token")
        );
        assert_eq!(
            token_path_from_vars(&|_| None, home).unwrap(),
            Path::new("/home/u/.cache/huggingface/token")
        );
    }

    #[test]
    fn the_token_file_is_read_in_one_way_and_its_failures_name_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        assert!(read_token_file(&file).unwrap().is_none(), "no file: no token");
        std::fs::write(&file, " \n").unwrap();
        assert!(read_token_file(&file).unwrap().is_none(), "blank: no token");
        std::fs::write(&file, "hf_abc\n").unwrap();
        assert_eq!(read_token_file(&file).unwrap().unwrap().expose_secret(), "hf_abc");
        std::fs::write(&file, "hf_\u{7f}").unwrap();
        assert!(matches!(read_token_file(&file), Err(Error::InvalidToken)));
        // A folder where the file should be: not "no token", an error naming the file (root
        // may read any file, not a folder).
        let folder = dir.path().join("folder");
        std::fs::create_dir(&folder).unwrap();
        let err = read_token_file(&folder).unwrap_err();
        assert!(
            matches!(&err, Error::TokenFile { path, op: TokenFileOp::Read, .. } if *path == folder),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains(&folder.display().to_string()), "{message}");
        assert!(message.contains("HF_TOKEN_PATH"), "{message}");
        let store = TokenStore::new(folder.clone());
        assert!(matches!(store.active(), Err(Error::TokenFile { op: TokenFileOp::Read, .. })));
        assert!(matches!(store.clear(), Err(Error::TokenFile { op: TokenFileOp::Remove, .. })));
    }

    #[test]
    fn a_token_file_that_cannot_be_written_is_told_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path().join("token"));
        // A folder where the active file goes: renaming a file over it fails, even for root.
        std::fs::create_dir(store.active_path()).unwrap();
        let err = store.save("laptop", &Token::new("hf_x").unwrap()).unwrap_err();
        assert!(
            matches!(&err, Error::TokenFile { path, op: TokenFileOp::Write, .. } if path == store.active_path()),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.starts_with("cannot write the token file "), "{message}");
        assert!(message.contains("may write to its folder"), "{message}");
        let err = store.activate("laptop").unwrap_err();
        assert!(matches!(err, Error::TokenFile { op: TokenFileOp::Write, .. }), "{err:?}");
        // A file where the folder goes: reading fails first.
        let not_a_folder = dir.path().join("file");
        std::fs::write(&not_a_folder, "").unwrap();
        let store = TokenStore::new(not_a_folder.join("token"));
        let err = store.save("laptop", &Token::new("hf_x").unwrap()).unwrap_err();
        assert!(matches!(err, Error::TokenFile { op: TokenFileOp::Read, .. }), "{err:?}");
    }

    #[test]
    fn token_names_are_checked_and_unknown_names_told() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path().join("token"));
        let token = Token::new("hf_x").unwrap();
        for bad in ["", " ", "a]b", "[a", "a\nb"] {
            assert!(
                matches!(store.save(bad, &token), Err(Error::InvalidTokenName { .. })),
                "{bad:?}"
            );
        }
        let err = store.activate(" nobody ").unwrap_err();
        assert!(matches!(&err, Error::UnknownTokenName { name } if name == "nobody"), "{err:?}");
        assert!(!store.active_path().exists() && !store.stored_path().exists());
    }

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
