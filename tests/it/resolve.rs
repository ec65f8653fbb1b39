//! `/resolve/`: headers of regular and LFS files, revisions, renamed repos, ranges, errors.

use hub_tests::{RepoType, seed};

use crate::support::{bearer, get, head, request, seeded, sha256_hex};

#[test]
fn regular_file_headers_and_body() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let repo = manifest
        .repo(RepoType::Model, "acme/tiny-model")
        .ok_or_else(|| anyhow::format_err!("no repo"))?;
    let main = &repo.revisions["main"];
    let config = &main.files["config.json"];
    let url = format!("{}/acme/tiny-model/resolve/main/config.json", hub.endpoint());

    let res = head(&url)?;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("etag"), Some(format!("\"{}\"", config.git_oid).as_str()));
    assert_eq!(res.header("x-repo-commit"), Some(main.commit.as_str()));
    assert_eq!(res.header("content-length"), Some(config.size.to_string().as_str()));
    assert_eq!(res.header("accept-ranges"), Some("bytes"));
    assert!(res.header("x-request-id").is_some());
    assert!(res.body.is_empty());

    let res = get(&url)?;
    assert_eq!(res.status, 200);
    assert_eq!(res.body, br#"{"revision": "main"}"#);
    assert_eq!(sha256_hex(&res.body), config.sha256);
    Ok(())
}

#[test]
fn every_revision_form_resolves() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let ep = hub.endpoint();
    let repo = manifest
        .repo(RepoType::Model, "acme/tiny-model")
        .ok_or_else(|| anyhow::format_err!("no repo"))?;
    let cases = [
        ("v1.0", "v1.0", r#"{"revision": "v1.0"}"#),
        ("dev", "main", r#"{"revision": "main"}"#),
        ("refs%2Fpr%2F1", "refs/pr/1", r#"{"revision": "refs/pr/1"}"#),
        ("refs/pr/1", "refs/pr/1", r#"{"revision": "refs/pr/1"}"#),
    ];
    for (url_rev, manifest_rev, body) in cases {
        let res = get(&format!("{ep}/acme/tiny-model/resolve/{url_rev}/config.json"))?;
        assert_eq!(res.status, 200, "{url_rev}");
        assert_eq!(String::from_utf8_lossy(&res.body), body, "{url_rev}");
        if url_rev != "dev" {
            assert_eq!(
                res.header("x-repo-commit"),
                Some(repo.revisions[manifest_rev].commit.as_str())
            );
        }
    }
    let v1 = &repo.revisions["v1.0"].commit;
    let res = get(&format!("{ep}/acme/tiny-model/resolve/{v1}/config.json"))?;
    assert_eq!(res.body, br#"{"revision": "v1.0"}"#);
    assert_eq!(res.header("x-repo-commit"), Some(v1.as_str()));

    let res = get(&format!("{ep}/acme/tiny-model/resolve/dev/dev-only.txt"))?;
    assert_eq!(res.status, 200);
    assert_eq!(get(&format!("{ep}/acme/tiny-model/resolve/main/dev-only.txt"))?.status, 404);

    for prefix in ["datasets/acme/tiny-dataset", "spaces/acme/tiny-space"] {
        let res = get(&format!("{ep}/{prefix}/resolve/main/nested/deep/file.txt"))?;
        assert_eq!(res.status, 200, "{prefix}");
        assert_eq!(res.body, b"a file in a nested directory\n");
    }
    let res =
        get(&format!("{ep}/acme/tiny-model/resolve/main/unicode/caf%C3%A9%20%C3%BC%20%C3%B1.txt"))?;
    assert_eq!(res.status, 200);
    assert_eq!(String::from_utf8_lossy(&res.body), "unicode path: café ü ñ\n");
    Ok(())
}

#[test]
fn lfs_file_redirects_to_signed_cdn_url() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let repo = manifest
        .repo(RepoType::Model, "acme/tiny-model")
        .ok_or_else(|| anyhow::format_err!("no repo"))?;
    let weights = &repo.revisions["main"].files["weights.bin"];
    assert!(weights.lfs);
    for method in ["HEAD", "GET"] {
        let res = request(
            method,
            &format!("{}/acme/tiny-model/resolve/main/weights.bin", hub.endpoint()),
            &[],
            &[],
        )?;
        assert_eq!(res.status, 302);
        assert_eq!(res.header("x-linked-etag"), Some(format!("\"{}\"", weights.sha256).as_str()));
        assert_eq!(res.header("x-linked-size"), Some(weights.size.to_string().as_str()));
        assert_eq!(res.header("x-repo-commit"), Some(repo.revisions["main"].commit.as_str()));
        let location = res.header("location").ok_or_else(|| anyhow::format_err!("no location"))?;
        assert!(location.starts_with(&format!("{}/", hub.cdn_url())), "{location}");
        let body = get(location)?;
        assert_eq!(body.status, 200);
        assert_eq!(body.body.len() as u64, weights.size);
        assert_eq!(sha256_hex(&body.body), weights.sha256);
        assert_eq!(body.header("etag"), Some(format!("\"{}\"", weights.sha256).as_str()));
    }
    Ok(())
}

#[test]
fn renamed_repo_answers_relative_307() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let res = head(&format!(
        "{}/acme/old-tiny-model/resolve/main/config.json?download=true",
        hub.endpoint()
    ))?;
    assert_eq!(res.status, 307);
    assert_eq!(
        res.header("location"),
        Some("/acme/tiny-model/resolve/main/config.json?download=true")
    );
    Ok(())
}

#[test]
fn ranges() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let url = format!("{}/acme/tiny-model/resolve/main/config.json", hub.endpoint());
    let res = request("GET", &url, &[("Range", "bytes=2-9")], &[])?;
    assert_eq!(res.status, 206);
    assert_eq!(res.header("content-range"), Some("bytes 2-9/20"));
    assert_eq!(res.body, b"revision");
    let res = request("GET", &url, &[("Range", "bytes=-3")], &[])?;
    assert_eq!(res.status, 206);
    assert_eq!(res.body, b"n\"}");
    let res = request("GET", &url, &[("Range", "bytes=15-")], &[])?;
    assert_eq!(res.header("content-range"), Some("bytes 15-19/20"));
    let res = request("GET", &url, &[("Range", "bytes=20-")], &[])?;
    assert_eq!(res.status, 416);
    assert_eq!(res.header("content-range"), Some("bytes */20"));
    Ok(())
}

#[test]
fn errors_follow_the_hub() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let ep = hub.endpoint();
    let check =
        |url: &str, token: Option<&str>, status: u16, code: Option<&str>| -> anyhow::Result<()> {
            let auth = token.map(bearer);
            let headers: Vec<(&str, &str)> =
                auth.iter().map(|a| ("Authorization", a.as_str())).collect();
            let res = request("GET", &format!("{ep}/{url}"), &headers, &[])?;
            assert_eq!(res.status, status, "{url} with {token:?}");
            assert_eq!(res.header("x-error-code"), code, "{url} with {token:?}");
            if status >= 400 {
                assert!(res.json()?["error"].is_string(), "{url}");
                assert!(res.header("x-error-message").is_some(), "{url}");
            }
            Ok(())
        };
    check("acme/nope/resolve/main/config.json", None, 401, Some("RepoNotFound"))?;
    check("acme/private-model/resolve/main/config.json", None, 401, Some("RepoNotFound"))?;
    check(
        "acme/private-model/resolve/main/config.json",
        Some(seed::BOB),
        401,
        Some("RepoNotFound"),
    )?;
    check("acme/private-model/resolve/main/config.json", Some(seed::ALICE_READ), 200, None)?;
    check("acme/gated-model/resolve/main/config.json", None, 401, Some("GatedRepo"))?;
    check("acme/gated-model/resolve/main/config.json", Some(seed::BOB), 403, Some("GatedRepo"))?;
    check("acme/gated-model/resolve/main/config.json", Some(seed::CAROL), 200, None)?;
    check("acme/gated-model/resolve/main/weights.bin", Some(seed::CAROL), 302, None)?;
    check("acme/gated-model/resolve/main/config.json", Some(seed::ALICE), 200, None)?;
    check("acme/tiny-model/resolve/nope/config.json", None, 404, Some("RevisionNotFound"))?;
    check("acme/tiny-model/resolve/main/nope.txt", None, 404, Some("EntryNotFound"))?;
    check("acme/tiny-model/resolve/main/nested", None, 404, Some("EntryNotFound"))?;
    check("acme/tiny-model/resolve/main/../config.json", None, 404, Some("EntryNotFound"))?;

    let res = get(&format!("{ep}/acme/tiny-model/resolve/main/nope.txt"))?;
    let commit = &manifest
        .repo(RepoType::Model, "acme/tiny-model")
        .ok_or_else(|| anyhow::format_err!("no repo"))?
        .revisions["main"]
        .commit;
    assert_eq!(res.header("x-repo-commit"), Some(commit.as_str()));

    let res = request(
        "GET",
        &format!("{ep}/acme/tiny-model/resolve/main/config.json"),
        &[("Authorization", "Bearer hf_wrong")],
        &[],
    )?;
    assert_eq!(res.status, 401);
    assert_eq!(res.header("x-error-message"), Some("Invalid credentials in Authorization header"));
    Ok(())
}

#[test]
fn basic_auth_carries_the_token_as_password() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    // "anyone:<ALICE_READ>" in base64, computed at run time.
    let encoded = base64(format!("anyone:{}", seed::ALICE_READ).as_bytes());
    let res = request(
        "GET",
        &format!("{}/acme/private-model/resolve/main/config.json", hub.endpoint()),
        &[("Authorization", &format!("Basic {encoded}"))],
        &[],
    )?;
    assert_eq!(res.status, 200);
    Ok(())
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
