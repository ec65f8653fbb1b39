//! `hub-cli lfs-enable-largefiles` (configure a clone for the multipart agent) and
//! `hub-cli lfs-multipart-upload` (the agent git-lfs runs).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use hub_lfs::agent::refuse_init;
use hub_lfs::{Agent, CUSTOM_TRANSFER_NAME, LfsClient, UploadOptions};
use hub_url::env::RUST_LOG;

use crate::common::{client_builder, runtime};

/// The arguments git-lfs passes to the agent.
const AGENT_ARGS: &str = "lfs-multipart-upload";

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<std::process::Output> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .context("cannot run git; is it installed and on PATH?")
}

/// Points git-lfs's `multipart` custom transfer at this executable, in the clone at `path`.
/// What it set is told on stderr: the command has no result for stdout.
pub(crate) fn enable_largefiles(path: &Path) -> anyhow::Result<()> {
    let inside = git(path, &["rev-parse", "--is-inside-work-tree"]);
    if !path.is_dir() || !inside.is_ok_and(|o| o.status.success()) {
        bail!("{} is not a git repository; run this in a clone of a Hub repo", path.display());
    }
    let exe = std::env::current_exe().context("cannot find the path of hub-cli")?;
    let exe = exe.canonicalize().unwrap_or(exe);
    let exe = exe.to_str().context("the path of hub-cli is not UTF-8")?;
    for (key, value) in [("path", exe), ("args", AGENT_ARGS)] {
        let key = format!("lfs.customtransfer.{CUSTOM_TRANSFER_NAME}.{key}");
        let out = git(path, &["config", &key, value])?;
        if !out.status.success() {
            bail!("git config {key} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        eprintln!("{key} = {value}");
    }
    eprintln!(
        "Local repo set up for largefiles: git-lfs will send files above the Hub's 5 GB limit \
         in parts through `hub-cli {AGENT_ARGS}`."
    );
    Ok(())
}

/// The agent configured from the environment.
fn agent() -> anyhow::Result<Agent> {
    let options = UploadOptions::from_env()?;
    // Every URL the agent is given carries its own authorization: it needs no token.
    let client = client_builder()?.token(None).build()?;
    Ok(Agent::new(LfsClient::new(client, options)))
}

/// What the agent logs: `RUST_LOG`, else warnings only.
#[derive(Debug)]
struct LogFilter(tracing_subscriber::EnvFilter);

impl LogFilter {
    fn from_env() -> LogFilter {
        LogFilter(
            tracing_subscriber::EnvFilter::try_from_env(RUST_LOG)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
    }
}

/// Serves git-lfs on stdin/stdout. Nothing but protocol messages goes to stdout; logs go to
/// stderr (`RUST_LOG`, warnings by default).
pub(crate) fn multipart_upload() -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(LogFilter::from_env().0)
        .try_init();
    let rt = runtime()?;
    let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let agent = match agent() {
        Ok(agent) => agent,
        Err(e) => {
            // git-lfs shows the answer to `init`, not the agent's stderr.
            let message = format!("hub-cli lfs-multipart-upload cannot start: {e:#}");
            rt.block_on(refuse_init(stdin, tokio::io::stdout(), &message))?;
            return Err(e);
        }
    };
    let summary =
        rt.block_on(agent.serve(stdin, tokio::io::stdout())).context("lfs-multipart-upload")?;
    tracing::debug!("{} object(s) sent, {} failed", summary.completed, summary.failed);
    Ok(())
}
