//! `hub-cli env`: what a bug report needs to know about this machine's setup.

use std::process::Command;

use hub_api::auth::{TokenSource, token_path_from_env, token_source};
use hub_cache::{CacheDir, HfHome};
use hub_url::Endpoint;

pub(crate) fn run() -> anyhow::Result<()> {
    let endpoint = Endpoint::from_env()?;
    let hf_home = HfHome::from_env()?;
    let cache = CacheDir::from_env()?;
    let token_path = token_path_from_env()?;
    let token = match token_source(&|name| std::env::var_os(name), &token_path) {
        TokenSource::Env(var) => format!("yes (from {var})"),
        TokenSource::File(path) => format!("yes (in {})", path.display()),
        TokenSource::None => "no".to_owned(),
    };
    let offline = std::env::var("HF_HUB_OFFLINE").unwrap_or_default();
    let rows = [
        ("hub-cli version", env!("CARGO_PKG_VERSION").to_owned()),
        ("Platform", format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH)),
        ("git", tool_version("git", &["--version"])),
        ("git-lfs", tool_version("git-lfs", &["--version"])),
        ("ENDPOINT", endpoint.to_string()),
        ("HF_HOME", hf_home.path().display().to_string()),
        ("HF_HUB_CACHE", cache.path().display().to_string()),
        ("Token path", token_path.display().to_string()),
        ("Has a token", token),
        ("HF_HUB_OFFLINE", if offline.is_empty() { "unset".to_owned() } else { offline }),
    ];
    println!("\nCopy-and-paste the text below in your bug report.\n");
    for (key, value) in rows {
        println!("- {key}: {value}");
    }
    println!();
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
