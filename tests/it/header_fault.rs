//! The `override_header` fault: a response header replaced on one route until cleared.

use hub_tests::RepoType;

use crate::support::seeded;

fn http_get(url: &str) -> anyhow::Result<crate::support::Response> {
    crate::support::request("GET", url, &[], &[])
}

#[test]
fn override_header_replaces_a_header_on_one_route_until_cleared() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let ep = hub.endpoint();
    let config = format!("{ep}/acme/tiny-model/resolve/main/config.json");
    let weights = format!("{ep}/acme/tiny-model/resolve/main/weights.bin");
    let commit = manifest
        .repo(RepoType::Model, "acme/tiny-model")
        .ok_or_else(|| anyhow::format_err!("no repo"))?
        .revisions["main"]
        .commit
        .clone();
    hub.faults().override_header("resolve", "X-Repo-Commit", "../../../etc");
    for url in [&config, &weights] {
        let res = crate::support::request("HEAD", url, &[], &[])?;
        assert_eq!(res.header("x-repo-commit"), Some("../../../etc"), "{url}");
        assert_eq!(
            res.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("x-repo-commit")).count(),
            1
        );
    }
    // It stays (not one-shot), the body is untouched, other routes are not affected.
    let res = http_get(&config)?;
    assert_eq!(res.header("x-repo-commit"), Some("../../../etc"));
    assert_eq!(res.body, br#"{"revision": "main"}"#);
    let res = http_get(&format!("{ep}/api/models/acme/tiny-model"))?;
    assert_eq!(res.header("x-repo-commit"), None);

    hub.faults().clear();
    assert_eq!(
        crate::support::request("HEAD", &config, &[], &[])?.header("x-repo-commit"),
        Some(commit.as_str())
    );

    // Over the admin route; `*` matches every route; invalid values are refused.
    let admin = format!("{ep}/_testhub/faults");
    let body = br#"{"override_header": {"route": "*", "name": "x-extra", "value": "yes"}}"#;
    assert_eq!(crate::support::request("POST", &admin, &[], body)?.status, 200);
    assert_eq!(http_get(&config)?.header("x-extra"), Some("yes"));
    assert_eq!(http_get(&format!("{ep}/api/whoami-v2"))?.header("x-extra"), Some("yes"));
    let bad = br#"{"override_header": {"route": "resolve", "name": "bad name", "value": "v"}}"#;
    assert_eq!(crate::support::request("POST", &admin, &[], bad)?.status, 400);
    let bad =
        br#"{"override_header": {"route": "resolve", "name": "x-a", "value": "line\nbreak"}}"#;
    assert_eq!(crate::support::request("POST", &admin, &[], bad)?.status, 400);
    assert_eq!(
        crate::support::request("POST", &format!("{ep}/_testhub/reset"), &[], b"")?.status,
        200
    );
    assert_eq!(http_get(&config)?.header("x-extra"), None);
    Ok(())
}
