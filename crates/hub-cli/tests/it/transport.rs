//! `hub-cli download` when the Hub is unreachable, overloaded or rate limited, as a user sees
//! it: the built binary against a TestHub started in-process (or an endpoint nothing listens
//! on). What is checked is what a person notices: how long it takes, the exit status, the path
//! on stdout, and each line on stderr.
#![cfg(unix)]

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::support::{Setup, ok, stderr, stdout};

const MODEL: &str = "acme/tiny-model";

/// Runs `cmd`; its output and how long it took.
fn timed(mut cmd: Command) -> anyhow::Result<(Output, Duration)> {
    let started = Instant::now();
    let out = cmd.output().context("running hub-cli")?;
    Ok((out, started.elapsed()))
}

/// An endpoint nothing listens on: a port bound, then closed.
fn closed_endpoint() -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(format!("http://{}", listener.local_addr()?))
}

/// The lines of stderr that are not empty.
fn lines(out: &Output) -> Vec<String> {
    stderr(out).lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect()
}

#[test]
fn an_unreachable_hub_serves_a_cached_file_at_once() -> anyhow::Result<()> {
    let setup = Setup::start()?;
    let (first, _) = timed(setup.cli(&["download", MODEL, "config.json"]))?;
    let path = ok(&first)?;
    let down = closed_endpoint()?;
    let (out, took) = timed(setup.cli_at(&down, &["download", MODEL, "config.json"]))?;
    assert_eq!(ok(&out)?, path, "the cached file, as when the hub answered");
    assert!(took < Duration::from_secs(1), "served from the cache in {took:?}");
    assert_eq!(stderr(&out), "", "nothing to say: the file is there");
    Ok(())
}

#[test]
fn an_unreachable_hub_without_the_file_says_so_in_one_line() -> anyhow::Result<()> {
    let setup = Setup::start()?;
    let down = closed_endpoint()?;
    let (out, took) = timed(setup.cli_at(&down, &["download", MODEL, "config.json"]))?;
    assert!(!out.status.success());
    assert!(took < Duration::from_secs(3), "no retries: {took:?}");
    assert_eq!(stdout(&out), "");
    assert_eq!(
        lines(&out),
        [format!(
            "error: {MODEL}: config.json at main is not in the cache, and the Hub cannot provide \
             it: cannot reach {down} (connection refused): check your network, or set \
             HF_HUB_OFFLINE=1 to use the cache only"
        )]
    );
    Ok(())
}

/// A Hub whose address takes connections in but never completes them (a firewall that drops
/// packets, a cluster node with no route out): a listener whose accept queue is full, so the
/// kernel drops the next handshakes. Returns the endpoint and what keeps it full.
fn black_holed_endpoint()
-> anyhow::Result<(String, std::net::TcpListener, Vec<std::net::TcpStream>)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut queued = Vec::new();
    // The queue holds its backlog plus one; connect until a handshake stops completing.
    loop {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(stream) => queued.push(stream),
            Err(_) => break,
        }
        anyhow::ensure!(queued.len() < 10_000, "the accept queue never filled");
    }
    Ok((format!("http://{addr}"), listener, queued))
}

/// A black-holed Hub costs one connect timeout, not a retry storm: the cached file is served
/// after it, and without one a single line says the Hub cannot be reached.
#[test]
fn a_black_holed_hub_costs_one_connect_timeout() -> anyhow::Result<()> {
    let setup = Setup::start()?;
    let (first, _) = timed(setup.cli(&["download", MODEL, "config.json"]))?;
    let path = ok(&first)?;
    let (down, _listener, _queued) = black_holed_endpoint()?;
    let download = |file| {
        let mut cmd = setup.cli_at(&down, &["download", MODEL, file]);
        cmd.env("HF_HUB_DOWNLOAD_TIMEOUT", "1");
        timed(cmd)
    };
    let (out, took) = download("config.json")?;
    assert_eq!(ok(&out)?, path, "the cached file");
    assert!(took < Duration::from_secs(4), "one connect timeout of 1 s, then the cache: {took:?}");
    let (out, took) = download("missing.json")?;
    assert!(!out.status.success());
    assert!(took < Duration::from_secs(4), "no retries: {took:?}");
    let told = lines(&out);
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains(&format!("cannot reach {down} (connection timed out)")), "{told:?}");
    Ok(())
}

#[test]
fn a_503_storm_is_told_retry_by_retry() -> anyhow::Result<()> {
    let setup = Setup::start()?;
    setup.hub.faults().fail_next(2, 503, Some(1));
    let (out, took) = timed(setup.cli(&["download", MODEL, "config.json"]))?;
    ok(&out)?;
    assert!(took >= Duration::from_secs(2), "the hub asked for 1 s twice: {took:?}");
    let url = format!("{}/{MODEL}/resolve/main/config.json", setup.hub.endpoint());
    assert_eq!(
        lines(&out),
        [
            format!("warning: {url}: retrying in 1 s (HTTP 503, attempt 1 of 5)"),
            format!("warning: {url}: retrying in 1 s (HTTP 503, attempt 2 of 5)"),
        ]
    );
    Ok(())
}

#[test]
fn retries_that_run_out_say_how_many_there_were() -> anyhow::Result<()> {
    let setup = Setup::start()?;
    setup.hub.faults().fail_next(6, 503, Some(0));
    let (out, _) = timed(setup.cli(&["download", MODEL, "config.json"]))?;
    assert!(!out.status.success());
    let lines = lines(&out);
    assert_eq!(lines.len(), 6, "5 retries told, then the error: {lines:#?}");
    let error = &lines[5];
    assert!(
        error.starts_with(&format!(
            "error: {MODEL}: config.json at main is not in the cache, and the Hub cannot provide \
             it: gave up after 6 attempts in "
        )),
        "{error}"
    );
    assert!(error.contains(": HTTP 503 for "), "the last failure is told: {error}");
    Ok(())
}

#[test]
fn a_near_rate_limit_is_waited_for_and_said() -> anyhow::Result<()> {
    let setup = Setup::start()?;
    setup.hub.faults().fail_next(1, 429, None);
    setup.hub.faults().override_header("injected-failure", "ratelimit", r#""api";r=0;t=2"#);
    let (out, took) = timed(setup.cli(&["download", MODEL, "config.json"]))?;
    ok(&out)?;
    assert!(took >= Duration::from_secs(2), "{took:?}");
    let lines = lines(&out);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let url = format!("{}/{MODEL}/resolve/main/config.json", setup.hub.endpoint());
    let prefix = format!("warning: {url}: waiting 2 s for the Hub's rate limit (resets at ");
    assert!(lines[0].starts_with(&prefix), "{}", lines[0]);
    assert!(lines[0].ends_with(" UTC, attempt 1 of 5)"), "{}", lines[0]);
    Ok(())
}

#[test]
fn a_far_rate_limit_fails_at_once_with_the_reset_time() -> anyhow::Result<()> {
    let setup = Setup::start()?;
    setup.hub.faults().fail_next(1, 429, None);
    setup.hub.faults().override_header("injected-failure", "ratelimit", r#""api";r=0;t=3000"#);
    let (out, took) = timed(setup.cli(&["download", MODEL, "config.json"]))?;
    assert!(!out.status.success());
    assert!(took < Duration::from_secs(3), "{took:?}");
    let lines = lines(&out);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let prefix = format!(
        "error: {MODEL}: config.json at main is not in the cache, and the Hub cannot provide it: \
         rate limited by the Hub (\"api\" requests): the limit resets in 50 min (at "
    );
    assert!(lines[0].starts_with(&prefix), "{}", lines[0]);
    assert!(
        lines[0].ends_with(
            " UTC); wait until then, log in (`hub-cli auth login`) for a higher limit if you \
             are not, or upgrade your plan"
        ),
        "{}",
        lines[0]
    );
    assert_eq!(setup.hub.stats().log.len(), 1, "one request, not retried");
    Ok(())
}
