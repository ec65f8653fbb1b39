//! `hub-cli env`: what a bug report needs to know about this machine's setup.

use std::path::PathBuf;
use std::process::Command;

use hub_api::token::{TokenSource, token_path_from_env, token_source};
use hub_cache::{CacheDir, HfHome};
use hub_url::Endpoint;
use hub_url::env::{HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE};

/// What the environment sets up, as the libraries read it.
#[derive(Debug)]
struct Setup {
    endpoint: Endpoint,
    hf_home: HfHome,
    cache: CacheDir,
    token_path: PathBuf,
    /// Where the token comes from, or why that cannot be told.
    token: Result<TokenSource, hub_api::Error>,
    /// `HF_HUB_OFFLINE` as it is set (empty when unset or not UTF-8).
    offline: String,
}

impl Setup {
    #[allow(clippy::disallowed_methods)] // from_env: where the environment is read
    fn from_env() -> anyhow::Result<Setup> {
        let endpoint = Endpoint::from_env()?;
        let hf_home = HfHome::from_env()?;
        let cache = CacheDir::from_env()?;
        let token_path = token_path_from_env()?;
        let token = token_source(&|name| std::env::var_os(name), &token_path);
        let offline = std::env::var(HF_HUB_OFFLINE).unwrap_or_default();
        Ok(Setup { endpoint, hf_home, cache, token_path, token, offline })
    }
}

pub(crate) fn run() -> anyhow::Result<()> {
    let Setup { endpoint, hf_home, cache, token_path, token, offline } = Setup::from_env()?;
    let token = match token {
        Ok(TokenSource::Env(var)) => format!("yes (from {var})"),
        Ok(TokenSource::File(path)) => format!("yes (in {})", path.display()),
        Ok(TokenSource::None) => "no".to_owned(),
        Err(err) => format!("cannot tell: {}", crate::format_error(&err.into())),
    };
    let rows = [
        ("hub-cli version", env!("CARGO_PKG_VERSION").to_owned()),
        ("Platform", format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH)),
        ("git", tool_version("git", &["--version"])),
        ("git-lfs", tool_version("git-lfs", &["--version"])),
        ("ENDPOINT", endpoint.to_string()),
        (HF_HOME, hf_home.path().display().to_string()),
        (HF_HUB_CACHE, cache.path().display().to_string()),
        ("Cache file system", cache.file_system().to_string()),
        ("Locks", "flock (this node) + lease files (every node)".to_owned()),
        ("Token path", token_path.display().to_string()),
        ("Has a token", token),
        (HF_HUB_OFFLINE, if offline.is_empty() { "unset".to_owned() } else { offline }),
    ];
    outln!("\nCopy-and-paste the text below in your bug report.\n");
    for (key, value) in rows {
        outln!("- {key}: {value}");
    }
    outln!();
    Ok(())
}

fn tool_version(program: &str, args: &[&str]) -> String {
    match Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        _ => "not found".to_owned(),
    }
}
