//! Where the cache lives: [`HfHome`] and [`CacheDir`], with the Python library's precedence.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use hub_url::env::{HF_HOME, HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, XDG_CACHE_HOME};

use crate::Error;

/// `HF_HOME`: the root of everything the Hub tools keep on a machine (cache, token, assets).
///
/// `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`; a leading `~`
/// is expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HfHome(PathBuf);

impl HfHome {
    /// An explicit root.
    pub fn new(path: PathBuf) -> HfHome {
        HfHome(path)
    }

    /// Reads `HF_HOME`, `XDG_CACHE_HOME` and the home directory.
    #[allow(clippy::disallowed_methods)] // from_env: where the environment is read
    pub fn from_env() -> Result<HfHome, Error> {
        HfHome::from_vars(&|name| std::env::var_os(name), std::env::home_dir())
    }

    /// The same rules over any source of variables (for tests and embedders).
    pub fn from_vars(
        var: &dyn Fn(&str) -> Option<OsString>,
        home: Option<PathBuf>,
    ) -> Result<HfHome, Error> {
        if let Some(dir) = non_empty(var(HF_HOME)) {
            return Ok(HfHome(expand_tilde(dir, home.as_deref())?));
        }
        if let Some(dir) = non_empty(var(XDG_CACHE_HOME)) {
            return Ok(HfHome(expand_tilde(dir, home.as_deref())?.join("huggingface")));
        }
        match home {
            Some(home) => Ok(HfHome(home.join(".cache").join("huggingface"))),
            None => Err(Error::NoHomeDir),
        }
    }

    /// The root folder.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

/// The hub cache folder (`HF_HUB_CACHE`), holding `models--org--name/…` repos.
///
/// ```
/// use hub_cache::CacheDir;
///
/// let cache = CacheDir::new("/data/hf-cache".into());
/// assert_eq!(cache.path(), std::path::Path::new("/data/hf-cache"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheDir(PathBuf);

impl CacheDir {
    /// An explicit cache folder.
    pub fn new(path: PathBuf) -> CacheDir {
        CacheDir(path)
    }

    /// `$HF_HUB_CACHE`, else `$HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub` (see [`HfHome`]).
    #[allow(clippy::disallowed_methods)] // from_env: where the environment is read
    pub fn from_env() -> Result<CacheDir, Error> {
        CacheDir::from_vars(&|name| std::env::var_os(name), std::env::home_dir())
    }

    /// The same rules over any source of variables.
    pub fn from_vars(
        var: &dyn Fn(&str) -> Option<OsString>,
        home: Option<PathBuf>,
    ) -> Result<CacheDir, Error> {
        for name in [HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE] {
            if let Some(dir) = non_empty(var(name)) {
                return Ok(CacheDir(expand_tilde(dir, home.as_deref())?));
            }
        }
        Ok(CacheDir(HfHome::from_vars(var, home)?.path().join("hub")))
    }

    /// The cache folder.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

fn non_empty(value: Option<OsString>) -> Option<OsString> {
    value.filter(|v| !v.is_empty())
}

fn expand_tilde(value: OsString, home: Option<&Path>) -> Result<PathBuf, Error> {
    let path = PathBuf::from(value);
    match path.strip_prefix("~") {
        Ok(rest) => match home {
            Some(home) => Ok(home.join(rest)),
            None => Err(Error::NoHomeDir),
        },
        Err(_) => Ok(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| OsString::from(v))
    }

    #[test]
    fn cache_dir_follows_the_python_precedence() {
        let home = Some(PathBuf::from("/home/u"));
        let cases: [(&[(&str, &str)], &str); 7] = [
            (&[], "/home/u/.cache/huggingface/hub"),
            (&[("XDG_CACHE_HOME", "/xdg")], "/xdg/huggingface/hub"),
            (&[("XDG_CACHE_HOME", "/xdg"), ("HF_HOME", "/hf")], "/hf/hub"),
            (&[("HF_HOME", "~/hf")], "/home/u/hf/hub"),
            (&[("HF_HOME", "/hf"), ("HUGGINGFACE_HUB_CACHE", "/legacy")], "/legacy"),
            (&[("HUGGINGFACE_HUB_CACHE", "/legacy"), ("HF_HUB_CACHE", "/new")], "/new"),
            (&[("HF_HUB_CACHE", ""), ("HF_HOME", "/hf")], "/hf/hub"),
        ];
        for (env, expected) in cases {
            let dir = CacheDir::from_vars(&vars(env), home.clone()).unwrap();
            assert_eq!(dir.path(), Path::new(expected), "{env:?}");
        }
    }

    #[test]
    fn no_home_is_an_error_only_when_needed() {
        assert!(matches!(CacheDir::from_vars(&vars(&[]), None), Err(Error::NoHomeDir)));
        let dir = CacheDir::from_vars(&vars(&[("HF_HOME", "/hf")]), None).unwrap();
        assert_eq!(dir.path(), Path::new("/hf/hub"));
    }
}
