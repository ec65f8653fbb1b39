//! Where the implicit token comes from, with the Python library's precedence
//! (`docs/protocol/auth.md#token-sources`): `HF_TOKEN`, then `HUGGING_FACE_HUB_TOKEN`, then the
//! token file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use hub_url::env::{HF_TOKEN, HUGGING_FACE_HUB_TOKEN};

use super::secret::Token;
use super::store::{read_token_file, token_path_from_vars};
use crate::Error;

/// The variables that carry a token, in order of precedence.
pub const TOKEN_ENV_VARS: [&str; 2] = [HF_TOKEN, HUGGING_FACE_HUB_TOKEN];

/// Where a token was found; never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// An environment variable (its name).
    Env(&'static str),
    /// The token file.
    File(PathBuf),
    /// No token anywhere.
    None,
}

/// Which source provides the token, as the Python library decides it. A variable or a file
/// holding only white space provides none; a token file that cannot be read is
/// [`Error::TokenFile`] (only looked at when no variable has a token).
pub fn token_source(
    var: &dyn Fn(&str) -> Option<OsString>,
    token_path: &Path,
) -> Result<TokenSource, Error> {
    Ok(find(var, Some(token_path))?.map_or(TokenSource::None, |(source, _)| source))
}

/// The token the environment provides: a variable, else the token file. `None` when there is
/// none; an error when it cannot be sent (a stray byte is refused, never silently dropped) or
/// when the token file cannot be read ([`Error::TokenFile`]).
pub fn token_from_vars(
    var: &dyn Fn(&str) -> Option<OsString>,
    home: Option<PathBuf>,
) -> Result<Option<Token>, Error> {
    // A token in a variable needs no home folder; the file does.
    let path = token_path_from_vars(var, home);
    match find(var, path.as_deref().ok())? {
        Some((_, token)) => Ok(Some(token)),
        None => path.map(|_| None).map_err(Error::from),
    }
}

impl Token {
    /// The token the environment provides, whatever `HF_HUB_DISABLE_IMPLICIT_TOKEN` says: see
    /// [`token_from_vars`]. For a request the user asked to authenticate (`whoami`).
    #[allow(clippy::disallowed_methods)] // from_env: where the environment is read
    pub fn from_env() -> Result<Option<Token>, Error> {
        token_from_vars(&|name| std::env::var_os(name), std::env::home_dir())
    }
}

/// The token and where it comes from, in the Python library's order; blank values do not
/// count. The file (`None`: no file) is read only when no variable has a token.
fn find(
    var: &dyn Fn(&str) -> Option<OsString>,
    token_path: Option<&Path>,
) -> Result<Option<(TokenSource, Token)>, Error> {
    for name in TOKEN_ENV_VARS {
        if let Some(value) = var(name).map(|v| v.to_string_lossy().into_owned())
            && !value.trim().is_empty()
        {
            return Ok(Some((TokenSource::Env(name), Token::new(&value)?)));
        }
    }
    let Some(token_path) = token_path else { return Ok(None) };
    let token = read_token_file(token_path)?;
    Ok(token.map(|token| (TokenSource::File(token_path.to_owned()), token)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_wins_over_the_file_and_blank_values_do_not_count() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        let none = |_: &str| None;
        assert_eq!(token_source(&none, &file).unwrap(), TokenSource::None);
        std::fs::write(&file, " \n").unwrap();
        assert_eq!(token_source(&none, &file).unwrap(), TokenSource::None);
        std::fs::write(&file, "hf_abc\n").unwrap();
        assert_eq!(token_source(&none, &file).unwrap(), TokenSource::File(file.clone()));
        let blank = |_: &str| Some(OsString::from(" "));
        assert_eq!(token_source(&blank, &file).unwrap(), TokenSource::File(file.clone()));
        let legacy = |n: &str| (n == "HUGGING_FACE_HUB_TOKEN").then(|| OsString::from("hf_x"));
        assert_eq!(
            token_source(&legacy, &file).unwrap(),
            TokenSource::Env("HUGGING_FACE_HUB_TOKEN")
        );
        let both = |_: &str| Some(OsString::from("hf_x"));
        assert_eq!(token_source(&both, &file).unwrap(), TokenSource::Env("HF_TOKEN"));
    }

    #[test]
    fn the_token_comes_from_a_variable_else_the_file_of_the_variables() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "hf_file\n").unwrap();
        let path = file.clone().into_os_string();
        let var = move |n: &str| (n == "HF_TOKEN_PATH").then(|| path.clone());
        let token = token_from_vars(&var, None).unwrap().unwrap();
        assert_eq!(token.expose_secret(), "hf_file");
        let with_env = |n: &str| match n {
            "HF_TOKEN" => Some(OsString::from(" hf_env ")),
            _ => var(n),
        };
        assert_eq!(token_from_vars(&with_env, None).unwrap().unwrap().expose_secret(), "hf_env");
        // A variable's token needs no home folder; the file does.
        let only_env = |n: &str| (n == "HF_TOKEN").then(|| OsString::from("hf_env"));
        assert!(token_from_vars(&only_env, None).unwrap().is_some());
        assert!(matches!(
            token_from_vars(&|_| None, None),
            Err(Error::Cache(hub_cache::Error::NoHomeDir))
        ));
        let home = dir.path().join("home");
        assert!(token_from_vars(&|_| None, Some(home)).unwrap().is_none(), "no file: no token");
    }

    #[test]
    fn an_unreadable_token_file_is_an_error_unless_a_variable_has_the_token() {
        let dir = tempfile::tempdir().unwrap();
        // A folder at the token's path cannot be read, even by root.
        let folder = dir.path().to_owned();
        assert!(matches!(
            token_source(&|_| None, &folder),
            Err(Error::TokenFile { path, .. }) if path == folder
        ));
        let path = folder.clone().into_os_string();
        let var = move |n: &str| (n == "HF_TOKEN_PATH").then(|| path.clone());
        assert!(matches!(token_from_vars(&var, None), Err(Error::TokenFile { .. })));
        let env = |n: &str| (n == "HF_TOKEN").then(|| OsString::from("hf_env"));
        assert_eq!(token_source(&env, &folder).unwrap(), TokenSource::Env("HF_TOKEN"));
    }
}
