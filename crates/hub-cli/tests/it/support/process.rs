//! Waiting on `hub-cli` processes, and reading what a download printed.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The one line hub-cli printed on success: the path. Fails on anything else.
pub(crate) fn printed_path(out: &Output) -> anyhow::Result<PathBuf> {
    let stdout = String::from_utf8(out.stdout.clone()).context("stdout is not UTF-8")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("hub-cli failed ({}): {}", out.status, stderr.trim_end());
    }
    match stdout.strip_suffix('\n') {
        Some(line) if !line.is_empty() && !line.contains('\n') => Ok(PathBuf::from(line)),
        _ => bail!("stdout must be exactly one line, the path; got {stdout:?} (stderr {stderr:?})"),
    }
}

/// Waits for `child` (stdout and stderr piped) for at most `limit`; kills it and fails when it
/// takes longer. Its output and how long it ran.
pub(crate) fn finish_within(
    mut child: Child,
    limit: Duration,
) -> anyhow::Result<(Output, Duration)> {
    let start = Instant::now();
    loop {
        if child.try_wait().context("waiting for hub-cli")?.is_some() {
            let out = child.wait_with_output().context("waiting for hub-cli")?;
            return Ok((out, start.elapsed()));
        }
        if start.elapsed() > limit {
            child.kill().context("killing hub-cli")?;
            let out = child.wait_with_output().context("waiting for hub-cli")?;
            bail!(
                "hub-cli still ran after {limit:?} (killed); stderr: {}",
                super::stderr(&out).trim_end()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Spawns `cmd` with piped output and waits at most `limit` (see [`finish_within`]).
pub(crate) fn run_within(mut cmd: Command, limit: Duration) -> anyhow::Result<(Output, Duration)> {
    let child =
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().context("running hub-cli")?;
    finish_within(child, limit)
}

/// Polls `done` every 20 ms until it holds; fails after `limit`.
pub(crate) fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> anyhow::Result<()> {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > limit {
            bail!("still waiting after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
