//! The `/_testhub/*` admin routes and the counters behind them.

use crate::support::{get, request, seeded};

#[test]
fn stats_faults_and_reset_over_http() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let ep = hub.endpoint();
    let url = format!("{ep}/acme/tiny-model/resolve/main/config.json");
    let res = request("GET", &url, &[("User-Agent", "unit/1.0"), ("Range", "bytes=0-4")], &[])?;
    assert_eq!(res.status, 206);

    let stats = get(&format!("{ep}/_testhub/stats"))?.json()?;
    assert_eq!(stats["requests"]["resolve"], 1);
    assert_eq!(stats["bytes_served"], 5);
    assert_eq!(stats["auth_leaks"], 0);
    let entry = &stats["log"][0];
    assert_eq!(entry["host"], "hub");
    assert_eq!(entry["method"], "GET");
    assert_eq!(entry["path"], "/acme/tiny-model/resolve/main/config.json");
    assert_eq!(entry["status"], 206);
    assert_eq!(entry["range"], "bytes=0-4");
    assert_eq!(entry["bytes_sent"], 5);
    assert_eq!(entry["authorization"], false);
    assert_eq!(entry["user_agent"], "unit/1.0");
    assert_eq!(stats["log"].as_array().map(Vec::len), Some(1), "admin routes are not logged");

    let body = br#"{"fail_next": {"count": 1, "status": 429, "retry_after": 3, "host": "hub"}}"#;
    assert_eq!(request("POST", &format!("{ep}/_testhub/faults"), &[], body)?.status, 200);
    let res = get(&url)?;
    assert_eq!(res.status, 429);
    assert_eq!(res.header("retry-after"), Some("3"));
    assert_eq!(get(&url)?.status, 200);

    let body =
        br#"{"drop_after_bytes": 3, "throttle_bytes_per_sec": 1000000, "corrupt_offset": 0}"#;
    assert_eq!(request("POST", &format!("{ep}/_testhub/faults"), &[], body)?.status, 200);
    assert_eq!(
        request("POST", &format!("{ep}/_testhub/faults"), &[], b"{\"bogus\": 1}")?.status,
        400
    );
    assert_eq!(request("POST", &format!("{ep}/_testhub/reset"), &[], b"")?.status, 200);
    let res = get(&url)?;
    assert!(res.complete);
    assert_eq!(res.body, br#"{"revision": "main"}"#);
    let stats = hub.stats();
    assert_eq!(stats.route("resolve"), 1);
    assert_eq!(stats.log.len(), 1);
    Ok(())
}

#[test]
fn agent_harnesses_is_an_empty_registry() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let res = get(&format!("{}/api/agent-harnesses", hub.endpoint()))?;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()?, serde_json::json!({"standardEnvVars": [], "harnesses": {}}));
    Ok(())
}

#[test]
fn repo_info_lists_siblings_at_a_revision() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let repo = manifest
        .repo(hub_tests::RepoType::Dataset, "acme/tiny-dataset")
        .ok_or_else(|| anyhow::format_err!("no repo"))?;
    let res = get(&format!(
        "{}/api/datasets/acme/tiny-dataset/revision/refs%2Fpr%2F1?blobs=true",
        hub.endpoint()
    ))?;
    assert_eq!(res.status, 200);
    let info = res.json()?;
    assert_eq!(info["sha"], repo.revisions["refs/pr/1"].commit.as_str());
    let siblings = info["siblings"].as_array().ok_or_else(|| anyhow::format_err!("no siblings"))?;
    assert_eq!(siblings.len(), repo.revisions["refs/pr/1"].files.len());
    let weights = siblings
        .iter()
        .find(|s| s["rfilename"] == "weights.bin")
        .ok_or_else(|| anyhow::format_err!("no weights"))?;
    assert_eq!(
        weights["lfs"]["sha256"],
        repo.revisions["main"].files["weights.bin"].sha256.as_str()
    );
    Ok(())
}
