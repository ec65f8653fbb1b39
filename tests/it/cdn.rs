//! The CDN host: signatures, expiry, HEAD, auth-leak counting.

use hub_tests::RepoType;

use crate::support::{get, head, request, seeded};

fn weights_oid(manifest: &hub_tests::SeedManifest) -> anyhow::Result<String> {
    let repo = manifest
        .repo(RepoType::Model, "acme/tiny-model")
        .ok_or_else(|| anyhow::format_err!("no repo"))?;
    Ok(repo.revisions["main"].files["weights.bin"].sha256.clone())
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[test]
fn only_valid_signatures_are_served() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let oid = weights_oid(&manifest)?;
    let good = hub.signed_cdn_url(&oid, now() + 60);
    assert_eq!(get(&good)?.status, 200);
    let res = head(&good)?;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-length"), Some("1572864"));
    assert_eq!(res.header("accept-ranges"), Some("bytes"));

    let expired = hub.signed_cdn_url(&oid, now() - 1);
    assert_eq!(get(&expired)?.status, 403);
    let tampered = good.replace("sig=", "sig=00");
    assert_eq!(get(&tampered)?.status, 403);
    let other_expiry =
        good.replace(&format!("exp={}", now() + 60), &format!("exp={}", now() + 3600));
    assert_eq!(get(&other_expiry)?.status, 403);
    assert_eq!(get(&format!("{}/lfs/{oid}", hub.cdn_url()))?.status, 403);
    Ok(())
}

#[test]
fn short_lived_urls_expire() -> anyhow::Result<()> {
    let config = hub_tests::HubConfig {
        url_lifetime: std::time::Duration::from_secs(1),
        ..Default::default()
    };
    let (hub, _) = crate::support::seeded_with(config)?;
    let res = head(&format!("{}/acme/tiny-model/resolve/main/weights.bin", hub.endpoint()))?;
    let location =
        res.header("location").ok_or_else(|| anyhow::format_err!("no location"))?.to_owned();
    assert_eq!(head(&location)?.status, 200);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(head(&location)?.status, 403);
    Ok(())
}

#[test]
fn authorization_on_the_cdn_is_a_leak_but_still_served() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let oid = weights_oid(&manifest)?;
    let url = hub.signed_cdn_url(&oid, now() + 60);
    assert_eq!(hub.stats().auth_leaks, 0);
    get(&url)?;
    assert_eq!(hub.stats().auth_leaks, 0);
    let res = request("GET", &url, &[("Authorization", "Bearer hf_secret")], &[])?;
    assert_eq!(res.status, 200);
    assert_eq!(hub.stats().auth_leaks, 1);
    // Authorization on the hub is normal.
    request(
        "GET",
        &format!("{}/acme/tiny-model/resolve/main/config.json", hub.endpoint()),
        &[("Authorization", &format!("Bearer {}", hub_tests::seed::ALICE))],
        &[],
    )?;
    assert_eq!(hub.stats().auth_leaks, 1);
    Ok(())
}

#[test]
fn cdn_ranges() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let oid = weights_oid(&manifest)?;
    let url = hub.signed_cdn_url(&oid, now() + 60);
    let full = get(&url)?.body;
    let res = request("GET", &url, &[("Range", "bytes=1000000-")], &[])?;
    assert_eq!(res.status, 206);
    assert_eq!(res.header("content-range"), Some("bytes 1000000-1572863/1572864"));
    assert_eq!(res.body, full[1_000_000..]);
    let res = request("GET", &url, &[("Range", "bytes=2000000-")], &[])?;
    assert_eq!(res.status, 416);
    Ok(())
}
