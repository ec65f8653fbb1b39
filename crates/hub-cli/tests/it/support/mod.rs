//! What the `hub-cli` integration tests share: the built binary in an environment built from
//! scratch (so neither the machine's tokens, cache nor git configuration leak in), a seeded
//! TestHub with a fresh home for one test ([`Setup`]), the readings of the output, of the hub's
//! log ([`log`]), of files and folders ([`files`]), a cache laid out by hand ([`fixture`]) and
//! the waiting on child processes ([`process`]).

pub(crate) mod files;
pub(crate) mod fixture;
pub(crate) mod log;
pub(crate) mod process;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use anyhow::{Context, bail};
use hub_tests::{HubConfig, RepoType, SeedManifest, TestHub};

/// An endpoint nothing listens on (the discard port), for commands that must not reach a hub.
pub(crate) const NO_HUB: &str = "http://127.0.0.1:9";

/// The built `hub-cli`, isolated (see [`isolate`]), stdin closed, stdout and stderr piped.
pub(crate) fn hub_cli(home: &Path, endpoint: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hub-cli"));
    isolate(&mut cmd, home, endpoint)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// The built `hub-cli` as [`hub_cli`] makes it, against [`NO_HUB`]: for the commands that
/// read only the disk (the cache, the configuration) or must fail to reach a hub.
pub(crate) fn without_hub(home: &Path) -> Command {
    hub_cli(home, NO_HUB)
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

/// Whose turn it is to load the machine. The tests that measure time or load the machine (the
/// fault matrix, the simulated cluster) run [`alone`]; every other test with a [`Setup`] holds
/// a [`shared`] turn, so they run beside each other but never beside one of those, as when they
/// were test binaries of their own.
static TURNS: RwLock<()> = RwLock::new(());

/// A turn, held until dropped. A test takes one turn only: a second [`shared`] one could wait
/// behind an [`alone`] waiting for the first.
pub(crate) enum Turn {
    Shared(#[expect(dead_code, reason = "held, not read")] RwLockReadGuard<'static, ()>),
    Alone(#[expect(dead_code, reason = "held, not read")] RwLockWriteGuard<'static, ()>),
}

/// A turn beside the other tests, and none of the ones that run [`alone`].
pub(crate) fn shared() -> Turn {
    Turn::Shared(TURNS.read().unwrap_or_else(|e| e.into_inner()))
}

/// A turn with no other test of a [`Setup`] (nor another that runs alone) beside it.
pub(crate) fn alone() -> Turn {
    Turn::Alone(TURNS.write().unwrap_or_else(|e| e.into_inner()))
}

/// A TestHub (seeded with the default seed by [`Setup::start`]) and a fresh folder for the
/// `HOME`, `HF_HOME` (`hf-home/`, no token file) and cache (`hub-cache/`, `HF_HUB_CACHE`) of
/// one test, and its [`Turn`]. Each test module adds the methods it needs in its own
/// `impl Setup` (their names must differ from one module to another).
pub(crate) struct Setup {
    pub(crate) hub: TestHub,
    /// What [`TestHub::seed_default`] seeded (empty for a hub given to [`Setup::on`]).
    pub(crate) seed: SeedManifest,
    pub(crate) dir: tempfile::TempDir,
    _turn: Turn,
}

impl Setup {
    /// Starts a hub and seeds it with the default seed, in a [`shared`] turn.
    pub(crate) fn start() -> anyhow::Result<Setup> {
        let turn = shared();
        let hub = TestHub::start(HubConfig::default())?;
        let seed = hub.seed_default()?;
        Ok(Setup { seed, ..Setup::on(hub, turn)? })
    }

    /// A fresh home for a hub the test started (and seeded, or not) itself in `turn`.
    pub(crate) fn on(hub: TestHub, turn: Turn) -> anyhow::Result<Setup> {
        let dir = tempfile::tempdir().context("creating a temp dir")?;
        let seed = SeedManifest { repos: Vec::new(), renamed: Vec::new() };
        Ok(Setup { hub, seed, dir, _turn: turn })
    }

    /// `HOME`.
    pub(crate) fn home(&self) -> &Path {
        self.dir.path()
    }

    /// `HF_HOME`, where the token files go.
    pub(crate) fn hf_home(&self) -> PathBuf {
        self.home().join("hf-home")
    }

    /// The cache folder (`HF_HUB_CACHE`).
    pub(crate) fn cache(&self) -> PathBuf {
        self.home().join("hub-cache")
    }

    /// `hub-cli ARGS…` against `endpoint` with this setup's `HOME`, `HF_HOME` and
    /// `HF_HUB_CACHE`, no token, stdin closed (see [`hub_cli`]).
    pub(crate) fn cli_at(&self, endpoint: &str, args: &[&str]) -> Command {
        let mut cmd = hub_cli(self.home(), endpoint);
        cmd.env("HF_HUB_CACHE", self.cache()).args(args);
        cmd
    }

    /// `hub-cli ARGS…` against the hub (see [`Setup::cli_at`]).
    pub(crate) fn cli(&self, args: &[&str]) -> Command {
        self.cli_at(self.hub.endpoint(), args)
    }

    /// Runs `hub-cli ARGS…` against the hub, without a token.
    pub(crate) fn run(&self, args: &[&str]) -> anyhow::Result<Output> {
        self.cli(args).output().context("running hub-cli")
    }

    /// Runs `hub-cli ARGS…` against the hub with `token` in `HF_TOKEN`.
    pub(crate) fn run_as(&self, token: &str, args: &[&str]) -> anyhow::Result<Output> {
        self.cli(args).env("HF_TOKEN", token).output().context("running hub-cli")
    }

    /// The commit the seed left `revision` of the model `repo_id` at.
    pub(crate) fn commit(&self, repo_id: &str, revision: &str) -> anyhow::Result<&str> {
        let repo = self
            .seed
            .repo(RepoType::Model, repo_id)
            .with_context(|| format!("the seed has no {repo_id}"))?;
        let rev = repo
            .revisions
            .get(revision)
            .with_context(|| format!("the seed has no {repo_id}@{revision}"))?;
        Ok(&rev.commit)
    }
}
