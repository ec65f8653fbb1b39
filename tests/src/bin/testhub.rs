//! `testhub`: runs the local Hub until SIGINT/SIGTERM.
//!
//! Prints exactly one JSON line on stdout once listening (endpoint, CDN, root, tokens, seed
//! manifest), then logs on stderr only. See `tests/README.md`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use hub_tests::{HubConfig, Repo, RepoType, TestHub, is_valid_repo_id, seed};

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
    /// Page size of the paginated routes (listings, tree, commits); the Hub's if omitted.
    #[arg(long)]
    page_size: Option<usize>,
    /// Commit a large LFS file of deterministic bytes at startup, streamed (never in memory):
    /// `[datasets/|spaces/]NAMESPACE/NAME:PATH:SIZE_BYTES`. The repo is created if missing.
    /// Repeatable; the files are listed under `large_files` in the startup line.
    #[arg(long, value_name = "REPO_ID:PATH:SIZE_BYTES")]
    large_file: Vec<String>,
}

/// Parses `[datasets/|spaces/]ns/name:path:size`.
fn parse_large_file(spec: &str) -> anyhow::Result<(Repo, String, u64)> {
    let usage = || format!("--large-file {spec:?}: expected REPO_ID:PATH:SIZE_BYTES");
    let (id, rest) = spec.split_once(':').with_context(usage)?;
    let (path, size) = rest.rsplit_once(':').with_context(usage)?;
    let size: u64 = size.trim().parse().with_context(usage)?;
    let (repo_type, id) = if let Some(id) = id.strip_prefix("datasets/") {
        (RepoType::Dataset, id)
    } else if let Some(id) = id.strip_prefix("spaces/") {
        (RepoType::Space, id)
    } else {
        (RepoType::Model, id.strip_prefix("models/").unwrap_or(id))
    };
    if !is_valid_repo_id(id) || !id.contains('/') {
        anyhow::bail!("--large-file {spec:?}: `{id}` is not a valid NAMESPACE/NAME repo id");
    }
    let bad_path = path.is_empty()
        || path.starts_with('/')
        || path.split('/').any(|s| s.is_empty() || s == "." || s == "..");
    if bad_path || path.contains(['\n', '\0']) {
        anyhow::bail!("--large-file {spec:?}: `{path}` is not a valid path in a repository");
    }
    Ok((Repo::new(repo_type, id), path.to_owned(), size))
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
    let large_specs =
        args.large_file.iter().map(|s| parse_large_file(s)).collect::<anyhow::Result<Vec<_>>>()?;
    let defaults = HubConfig::default();
    let config = HubConfig {
        root: args.root,
        port: args.port,
        cdn_port: args.cdn_port,
        multipart_threshold: args.multipart_threshold.unwrap_or(defaults.multipart_threshold),
        chunk_size: args.chunk_size.unwrap_or(defaults.chunk_size),
        page_size: args.page_size,
        ..defaults
    };
    let hub = TestHub::start(config)?;
    let manifest = if args.seed { Some(hub.seed_default().context("seeding")?) } else { None };
    let mut large_files = Vec::new();
    for (repo, path, size) in &large_specs {
        let started = std::time::Instant::now();
        let file = hub
            .add_large_file(repo, path, *size)
            .with_context(|| format!("creating the large file {repo}:{path}"))?;
        tracing::info!("large file {repo}:{path} ({size} bytes) ready in {:?}", started.elapsed());
        large_files.push(file);
    }
    let line = serde_json::json!({
        "endpoint": hub.endpoint(),
        "cdn": hub.cdn_url(),
        "root": hub.root(),
        "tokens": seed::tokens(),
        "seed": manifest,
        "large_files": large_files,
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
