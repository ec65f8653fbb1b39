//! Fault injection: failures, rate limits, dropped, stalled, trickling, short and long bodies,
//! corruption, throttling, expiring URLs and refused connections.

use std::time::{Duration, Instant};

use hub_tests::{HostScope, RepoType};

use crate::support::{get, request, seeded};

fn weights_url(
    hub: &hub_tests::TestHub,
    manifest: &hub_tests::SeedManifest,
) -> anyhow::Result<String> {
    let repo = manifest
        .repo(RepoType::Model, "acme/tiny-model")
        .ok_or_else(|| anyhow::format_err!("no repo"))?;
    let oid = &repo.revisions["main"].files["weights.bin"].sha256;
    Ok(hub.signed_cdn_url(oid, u64::MAX / 2))
}

#[test]
fn fail_next_answers_the_status_with_retry_after() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let url = format!("{}/acme/tiny-model/resolve/main/config.json", hub.endpoint());
    hub.faults().fail_next(2, 503, Some(7));
    for _ in 0..2 {
        let res = get(&url)?;
        assert_eq!(res.status, 503);
        assert_eq!(res.header("retry-after"), Some("7"));
    }
    assert_eq!(get(&url)?.status, 200);
    assert_eq!(hub.stats().route("injected-failure"), 2);
    Ok(())
}

#[test]
fn fail_next_can_target_one_host() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let cdn = weights_url(&hub, &manifest)?;
    let resolve = format!("{}/acme/tiny-model/resolve/main/config.json", hub.endpoint());
    hub.faults().fail_next_on(HostScope::Cdn, 1, 500, None);
    assert_eq!(get(&resolve)?.status, 200);
    let res = get(&cdn)?;
    assert_eq!(res.status, 500);
    assert_eq!(res.header("retry-after"), None);
    assert_eq!(get(&cdn)?.status, 200);
    Ok(())
}

#[test]
fn drop_after_bytes_cuts_the_next_body_once() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let url = weights_url(&hub, &manifest)?;
    hub.faults().drop_after_bytes(100_000);
    let res = get(&url)?;
    assert_eq!(res.status, 200);
    assert!(!res.complete);
    assert_eq!(res.body.len(), 100_000);
    let res = get(&url)?;
    assert!(res.complete);
    assert_eq!(res.body.len(), 1_572_864);

    // Also on a hub resolve GET.
    hub.faults().drop_after_bytes(5);
    let res = get(&format!("{}/acme/tiny-model/resolve/main/config.json", hub.endpoint()))?;
    assert!(!res.complete);
    assert_eq!(res.body, b"{\"rev");
    Ok(())
}

#[test]
fn corrupt_offset_flips_one_byte_in_the_body_covering_it() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let url = weights_url(&hub, &manifest)?;
    let clean = get(&url)?.body;
    hub.faults().corrupt_offset(1_200_000);
    // A range that does not cover the offset is untouched and leaves the fault armed.
    let res = request("GET", &url, &[("Range", "bytes=0-999")], &[])?;
    assert_eq!(res.body, clean[..1000]);
    let res = request("GET", &url, &[("Range", "bytes=1199999-1200001")], &[])?;
    assert_eq!(res.body, [clean[1_199_999], clean[1_200_000] ^ 0xff, clean[1_200_001]]);
    assert_eq!(get(&url)?.body, clean);
    Ok(())
}

#[test]
fn throttle_slows_bodies_until_cleared() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let url = weights_url(&hub, &manifest)?;
    hub.faults().throttle(Some(400_000));
    let start = Instant::now();
    let res = request("GET", &url, &[("Range", "bytes=0-199999")], &[])?;
    assert_eq!(res.body.len(), 200_000);
    assert!(start.elapsed().as_secs_f64() >= 0.4, "{:?}", start.elapsed());
    hub.faults().clear();
    let start = Instant::now();
    get(&url)?;
    assert!(start.elapsed().as_secs_f64() < 2.0);
    Ok(())
}

/// The CDN URL a resolve of `weights.bin` redirects to now.
fn fresh_cdn_url(hub: &hub_tests::TestHub) -> anyhow::Result<String> {
    let res = request(
        "HEAD",
        &format!("{}/acme/tiny-model/resolve/main/weights.bin", hub.endpoint()),
        &[],
        &[],
    )?;
    assert_eq!(res.status, 302);
    Ok(res.header("location").ok_or_else(|| anyhow::format_err!("no Location"))?.to_owned())
}

#[test]
fn expire_url_makes_new_signed_urls_expire_with_s3s_answer() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let long_lived = fresh_cdn_url(&hub)?;
    hub.faults().expire_url(Some(Duration::from_secs(1)));
    let short = fresh_cdn_url(&hub)?;
    assert_eq!(request("GET", &short, &[("Range", "bytes=0-9")], &[])?.status, 206);
    std::thread::sleep(Duration::from_millis(2100));
    let res = get(&short)?;
    assert_eq!(res.status, 403);
    let body = String::from_utf8_lossy(&res.body);
    assert!(
        body.contains("<Code>AccessDenied</Code><Message>Request has expired</Message>"),
        "{body}"
    );
    // Asking the hub again gives a URL that works; one issued before the fault still works.
    assert_eq!(get(&fresh_cdn_url(&hub)?)?.status, 200);
    assert_eq!(get(&long_lived)?.status, 200);
    hub.faults().clear();
    let after = fresh_cdn_url(&hub)?;
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(get(&after)?.status, 200, "clear restores the configured lifetime");
    Ok(())
}

#[test]
fn trickle_slows_one_body_after_some_bytes() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let url = weights_url(&hub, &manifest)?;
    let clean = get(&url)?.body;
    hub.faults().trickle(100_000, 20_000, Some(1));
    let start = Instant::now();
    let res = request("GET", &url, &[("Range", "bytes=0-119999")], &[])?;
    let slow = start.elapsed();
    assert!(res.body == clean[..120_000], "{} bytes, not the first 120 000", res.body.len());
    assert!(slow >= Duration::from_millis(900), "20 000 bytes at 20 000 B/s took {slow:?}");
    let start = Instant::now();
    let res = request("GET", &url, &[("Range", "bytes=0-119999")], &[])?;
    assert_eq!(res.body.len(), 120_000);
    assert!(start.elapsed() < Duration::from_millis(800), "only the next body trickles");
    Ok(())
}

/// Sends a GET of `url` and reads for `wait`: the bytes that arrived, and whether the server
/// closed the connection.
fn read_for(url: &str, wait: Duration) -> anyhow::Result<(Vec<u8>, bool)> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").ok_or_else(|| anyhow::format_err!("not http"))?;
    let (authority, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = std::net::TcpStream::connect(authority)?;
    write!(stream, "GET {target} HTTP/1.1\r\nHost: {authority}\r\n\r\n")?;
    let start = Instant::now();
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    while let Some(left) = wait.checked_sub(start.elapsed()) {
        stream.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
        match stream.read(&mut buf) {
            Ok(0) => return Ok((raw, true)),
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => (),
            Err(_) => return Ok((raw, true)),
        }
    }
    Ok((raw, false))
}

#[test]
fn stall_sends_nothing_more_and_keeps_the_connection_open() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let url = weights_url(&hub, &manifest)?;
    hub.faults().stall(1000, Some(1));
    let (raw, closed) = read_for(&url, Duration::from_millis(1500))?;
    assert!(!closed, "a stalled body keeps its connection");
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").map_or(0, |i| i + 4);
    assert_eq!(raw.len() - head_end, 1000, "the bytes before the stall arrive");
    assert!(get(&url)?.complete, "only the next body stalls");
    Ok(())
}

#[test]
fn status_after_bytes_cuts_a_body_then_the_cdn_refuses() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let url = weights_url(&hub, &manifest)?;
    let config = format!("{}/acme/tiny-model/resolve/main/config.json", hub.endpoint());
    hub.faults().status_after_bytes(10_000, 403, None);
    assert_eq!(get(&config)?.status, 200, "hub bodies are not cut, nor the hub refused");
    let res = get(&url)?;
    assert_eq!((res.status, res.complete, res.body.len()), (200, false, 10_000));
    for _ in 0..3 {
        let res = get(&url)?;
        assert_eq!(res.status, 403);
        assert!(String::from_utf8_lossy(&res.body).contains("<Code>AccessDenied</Code>"));
        assert_eq!(get(&fresh_cdn_url(&hub)?)?.status, 403, "a fresh URL is refused as well");
    }
    assert_eq!(get(&config)?.status, 200);
    hub.faults().clear();
    assert_eq!(get(&url)?.status, 200);

    hub.faults().status_after_bytes(10, 503, Some(2));
    assert!(!get(&url)?.complete);
    assert_eq!(get(&url)?.status, 503);
    assert_eq!(get(&url)?.status, 503);
    assert!(get(&url)?.complete, "after `count` refusals the CDN serves again");
    Ok(())
}

#[test]
fn short_and_long_bodies_break_their_announced_lengths() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let url = weights_url(&hub, &manifest)?;
    let clean = get(&url)?.body;
    hub.faults().short_body(1000);
    let res = request("GET", &url, &[("Range", "bytes=0-99999")], &[])?;
    assert_eq!(res.header("content-length"), Some("100000"));
    assert!(!res.complete);
    assert!(res.body == clean[..99_000], "{} bytes, not the first 99 000", res.body.len());
    assert!(get(&url)?.complete, "short_body is one-shot");

    hub.faults().long_body(500);
    let res = request("GET", &url, &[("Range", "bytes=1000-1999")], &[])?;
    assert_eq!(res.status, 206);
    assert_eq!(res.header("content-range"), Some("bytes 1000-2499/1572864"));
    assert!(res.body == clean[1000..2500], "{} bytes, not 1000..2500", res.body.len());
    let res = request("GET", &url, &[("Range", "bytes=1000-1999")], &[])?;
    assert_eq!(res.body.len(), 1000, "long_body is one-shot");
    Ok(())
}

#[test]
fn ratelimit_answers_429_with_the_hubs_headers_until_the_window_resets() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let cdn = weights_url(&hub, &manifest)?;
    let resolve = format!("{}/acme/tiny-model/resolve/main/config.json", hub.endpoint());
    let api = format!("{}/api/models/acme/tiny-model", hub.endpoint());
    hub.faults().ratelimit(HostScope::Hub, None, Duration::from_secs(2), None, Some(2));
    let res = get(&resolve)?;
    assert_eq!(res.status, 429);
    assert_eq!(res.header("ratelimit"), Some("\"resolvers\";r=0;t=2"));
    assert_eq!(res.header("ratelimit-policy"), Some("\"fixed window\";\"resolvers\";q=3000;w=300"));
    assert_eq!(res.header("retry-after"), Some("2"));
    let res = get(&api)?;
    assert_eq!(res.status, 429);
    assert!(res.header("ratelimit").is_some_and(|v| v.starts_with("\"api\";r=0;t=")));
    assert_eq!(get(&cdn)?.status, 200, "the CDN is not rate-limited");
    std::thread::sleep(Duration::from_millis(2050));
    assert_eq!(get(&resolve)?.status, 200, "the window reset");

    hub.faults().ratelimit(HostScope::Hub, Some("/api/"), Duration::from_secs(3000), Some(1), None);
    assert_eq!(get(&resolve)?.status, 200, "only paths with /api/");
    let res = get(&api)?;
    assert_eq!(res.status, 429);
    assert_eq!(res.header("ratelimit"), Some("\"api\";r=0;t=3000"));
    assert_eq!(res.header("retry-after"), None);
    assert_eq!(get(&api)?.status, 200, "count ends it");
    Ok(())
}

fn connect(url: &str) -> std::io::Result<std::net::TcpStream> {
    std::net::TcpStream::connect(url.trim_start_matches("http://"))
}

#[test]
fn refuse_connect_closes_a_listener_until_cleared_or_for_a_while() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let url = weights_url(&hub, &manifest)?;
    hub.faults().refuse_connect(HostScope::Cdn, None);
    let err = connect(hub.cdn_url()).err().map(|e| e.kind());
    assert_eq!(err, Some(std::io::ErrorKind::ConnectionRefused));
    assert!(connect(hub.endpoint()).is_ok(), "the hub still listens");
    hub.faults().clear();
    wait_until(|| connect(hub.cdn_url()).is_ok())?;
    assert_eq!(get(&url)?.status, 200);

    // Over HTTP, for a while: the hub refuses, then listens again on the same port.
    let body = br#"{"refuse_connect": {"host": "hub", "for_secs": 1}}"#;
    assert_eq!(
        request("POST", &format!("{}/_testhub/faults", hub.endpoint()), &[], body)?.status,
        200
    );
    let err = connect(hub.endpoint()).err().map(|e| e.kind());
    assert_eq!(err, Some(std::io::ErrorKind::ConnectionRefused));
    wait_until(|| connect(hub.endpoint()).is_ok())?;
    assert_eq!(
        get(&format!("{}/acme/tiny-model/resolve/main/config.json", hub.endpoint()))?.status,
        200
    );
    Ok(())
}

/// Polls `done` for up to 5 s.
fn wait_until(mut done: impl FnMut() -> bool) -> anyhow::Result<()> {
    let start = Instant::now();
    while !done() {
        anyhow::ensure!(start.elapsed() < Duration::from_secs(5), "still waiting after 5 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

#[test]
fn every_new_fault_is_accepted_as_json() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let url = weights_url(&hub, &manifest)?;
    let post = |body: &str| {
        request("POST", &format!("{}/_testhub/faults", hub.endpoint()), &[], body.as_bytes())
    };
    let body = r#"{"expire_url": {"lifetime_secs": 1}, "trickle": {"after_bytes": 1, "bytes_per_sec": 1000000, "count": 1},
        "stall": {"after_bytes": 1000000000, "count": null}, "short_body": 5, "long_body": 5,
        "status_after_bytes": {"bytes": 100, "status": 403, "count": 1},
        "ratelimit": {"reset_secs": 1, "count": 1, "host": "cdn", "path_contains": "/lfs/", "retry_after": 1}}"#;
    assert_eq!(post(body)?.status, 200);
    let res = get(&url)?;
    assert_eq!(res.status, 429, "the ratelimit came first");
    let res = get(&url)?;
    assert!(!res.complete && res.body.len() == 100, "then the cut");
    assert_eq!(post(r#"{"status_after_bytes": {"bytes": 1, "status": 99}}"#)?.status, 400);
    assert_eq!(post(r#"{"trickle": {"after_bytes": 1}}"#)?.status, 400);
    assert_eq!(post(r#"{"refuse_connect": {"host": "cdn", "for_secs": -1}}"#)?.status, 400);
    Ok(())
}
