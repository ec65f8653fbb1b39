//! Where the token comes from, with the Python library's precedence
//! (`docs/protocol/auth.md#token-sources`):
//! `HF_TOKEN`, then `HUGGING_FACE_HUB_TOKEN`, then the token file (`HF_TOKEN_PATH`, by default
//! `$HF_HOME/token`), shared with the Python tools.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use hub_cache::HfHome;
use hub_url::env::{HF_TOKEN, HF_TOKEN_PATH, HUGGING_FACE_HUB_TOKEN};

use crate::login::TokenStore;

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

/// The token file: `$HF_TOKEN_PATH`, else `$HF_HOME/token` (the active file of
/// [`TokenStore::from_env`]).
pub fn token_path_from_env() -> Result<PathBuf, hub_cache::Error> {
    TokenStore::from_env().map(|store| store.active_path().to_owned())
}

/// As [`token_path_from_env`], over any source of variables.
pub fn token_path_from_vars(
    var: &dyn Fn(&str) -> Option<OsString>,
    home: Option<PathBuf>,
) -> Result<PathBuf, hub_cache::Error> {
    match var(HF_TOKEN_PATH).filter(|v| !v.is_empty()) {
        Some(path) => Ok(PathBuf::from(path)),
        None => Ok(HfHome::from_vars(var, home)?.path().join("token")),
    }
}

/// Which source would provide the token, as the Python library decides it. A variable or a
/// file holding only white space provides none.
pub fn token_source(var: &dyn Fn(&str) -> Option<OsString>, token_path: &Path) -> TokenSource {
    find_token(var, Some(token_path)).map_or(TokenSource::None, |(source, _)| source)
}

/// The token and where it comes from, in the Python library's order; blank values do not count.
/// The file is looked at only when no variable has a token (`None`: no file).
pub(crate) fn find_token(
    var: &dyn Fn(&str) -> Option<OsString>,
    token_path: Option<&Path>,
) -> Option<(TokenSource, String)> {
    for name in TOKEN_ENV_VARS {
        if let Some(value) = var(name).map(|v| v.to_string_lossy().into_owned())
            && !value.trim().is_empty()
        {
            return Some((TokenSource::Env(name), value));
        }
    }
    let token_path = token_path?;
    match std::fs::read_to_string(token_path) {
        Ok(content) if !content.trim().is_empty() => {
            Some((TokenSource::File(token_path.to_owned()), content))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_wins_over_the_file_and_blank_values_do_not_count() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        let none = |_: &str| None;
        assert_eq!(token_source(&none, &file), TokenSource::None);
        std::fs::write(&file, " \n").unwrap();
        assert_eq!(token_source(&none, &file), TokenSource::None);
        std::fs::write(&file, "hf_abc\n").unwrap();
        assert_eq!(token_source(&none, &file), TokenSource::File(file.clone()));
        let legacy = |n: &str| (n == "HUGGING_FACE_HUB_TOKEN").then(|| OsString::from("hf_x"));
        assert_eq!(token_source(&legacy, &file), TokenSource::Env("HUGGING_FACE_HUB_TOKEN"));
        let both = |_: &str| Some(OsString::from("hf_x"));
        assert_eq!(token_source(&both, &file), TokenSource::Env("HF_TOKEN"));
    }

    #[test]
    fn token_path_follows_hf_token_path_then_hf_home() {
        let home = Some(PathBuf::from("/home/u"));
        let custom = |n: &str| (n == "HF_TOKEN_PATH").then(|| OsString::from("/secrets/t"));
        assert_eq!(token_path_from_vars(&custom, home.clone()).unwrap(), Path::new("/secrets/t"));
        let hf_home = |n: &str| (n == "HF_HOME").then(|| OsString::from("/hf"));
        assert_eq!(token_path_from_vars(&hf_home, home.clone()).unwrap(), Path::new("/hf/token"));
        assert_eq!(
            token_path_from_vars(&|_| None, home).unwrap(),
            Path::new("/home/u/.cache/huggingface/token")
        );
    }
}
