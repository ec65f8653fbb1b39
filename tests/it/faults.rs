//! Fault injection: failures, dropped connections, corruption, throttling.

use std::time::Instant;

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
