//! `testhub`: runs the local Hub until SIGINT/SIGTERM.
//!
//! Prints exactly one JSON line on stdout once listening (endpoint, CDN, root, tokens, seed
//! manifest), then logs on stderr only. See `tests/README.md`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use hub_tests::{HubConfig, TestHub, seed};

/// A local Hugging Face Hub for tests.
#[derive(Debug, Parser)]
#[command(name = "testhub", version)]
struct Args {
    /// Root directory for repositories and LFS objects (a temp dir, deleted on exit, if omitted).
    #[arg(long)]
    root: Option<PathBuf>,
    /// Hub port on 127.0.0.1 (0 = any).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// CDN port on 127.0.0.2 (0 = any).
    #[arg(long, default_value_t = 0)]
    cdn_port: u16,
    /// Create the default seed (users, tokens, repositories).
    #[arg(long)]
    seed: bool,
    /// LFS uploads of at least this many bytes need the multipart transfer.
    #[arg(long)]
    multipart_threshold: Option<u64>,
    /// Part size of multipart uploads.
    #[arg(long)]
    chunk_size: Option<u64>,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let defaults = HubConfig::default();
    let config = HubConfig {
        root: args.root,
        port: args.port,
        cdn_port: args.cdn_port,
        multipart_threshold: args.multipart_threshold.unwrap_or(defaults.multipart_threshold),
        chunk_size: args.chunk_size.unwrap_or(defaults.chunk_size),
        ..defaults
    };
    let hub = TestHub::start(config)?;
    let manifest = if args.seed { Some(hub.seed_default().context("seeding")?) } else { None };
    let line = serde_json::json!({
        "endpoint": hub.endpoint(),
        "cdn": hub.cdn_url(),
        "root": hub.root(),
        "tokens": seed::tokens(),
        "seed": manifest,
    });
    #[allow(clippy::print_stdout, reason = "the JSON line on stdout is the binary's interface")]
    {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{line}")?;
        stdout.flush()?;
    }
    tracing::info!("testhub listening on {} (cdn {})", hub.endpoint(), hub.cdn_url());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            res = tokio::signal::ctrl_c() => res,
            _ = term.recv() => Ok(()),
        }
    })?;
    tracing::info!("testhub stopping");
    drop(hub);
    Ok(())
}
