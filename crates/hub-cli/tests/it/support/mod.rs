//! What the `hub-cli` integration tests share: the built binary in an environment built from
//! scratch (so neither the machine's tokens, cache nor git configuration leak in), and the
//! readings of its output.
// Each test file uses the part it needs.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use anyhow::bail;

/// The built `hub-cli`, isolated (see [`isolate`]), stdin closed, stdout and stderr piped.
pub(crate) fn hub_cli(home: &Path, endpoint: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hub-cli"));
    isolate(&mut cmd, home, endpoint)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// `cmd` in an environment built from scratch: `PATH`, `HOME` = `home`, `HF_HOME` =
/// `home/hf-home`, `HF_ENDPOINT` = `endpoint`; no token variable; git reading neither the
/// system's nor the user's configuration, and never prompting.
pub(crate) fn isolate<'c>(cmd: &'c mut Command, home: &Path, endpoint: &str) -> &'c mut Command {
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("HF_HOME", home.join("hf-home"))
        .env("HF_ENDPOINT", endpoint)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
}

/// What the command printed on stdout.
pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the command printed on stderr.
pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The command succeeded: its stdout.
pub(crate) fn ok(out: &Output) -> anyhow::Result<String> {
    if !out.status.success() {
        bail!("hub-cli failed ({}): {}", out.status, stderr(out));
    }
    Ok(stdout(out))
}

/// A hub seeded with the default seed, and a fresh folder for `HOME`, `HF_HOME` and the cache
/// of one test. Each test file adds the methods it needs in its own `impl Seeded`.
pub(crate) struct Seeded {
    pub(crate) hub: hub_tests::TestHub,
    pub(crate) dir: tempfile::TempDir,
}

impl Seeded {
    /// Starts the hub and seeds it.
    pub(crate) fn start() -> anyhow::Result<Seeded> {
        let hub = hub_tests::TestHub::start(hub_tests::HubConfig::default())?;
        hub.seed_default()?;
        let dir =
            tempfile::tempdir().map_err(|e| anyhow::format_err!("creating a temp dir: {e}"))?;
        Ok(Seeded { hub, dir })
    }

    /// The cache folder (`HF_HUB_CACHE`) of this setup.
    pub(crate) fn cache(&self) -> std::path::PathBuf {
        self.dir.path().join("hub-cache")
    }
}
