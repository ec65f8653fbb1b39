//! The LFS batch API: basic upload + verify, multipart upload and completion, errors.

use hub_tests::{HubConfig, Repo, RepoOptions, TestHub, seed};
use serde_json::{Value, json};

use crate::support::{bearer, request, sha256_hex};

fn hub_with_repo() -> anyhow::Result<TestHub> {
    let hub = TestHub::start(HubConfig::default())?;
    hub.seed_default()?;
    hub.create_repo(&Repo::model("acme/uploads"), RepoOptions::default())?;
    Ok(hub)
}

fn batch(
    hub: &TestHub,
    token: Option<&str>,
    body: &Value,
) -> anyhow::Result<crate::support::Response> {
    let auth = token.map(bearer);
    let mut headers = vec![
        ("Accept", "application/vnd.git-lfs+json"),
        ("Content-Type", "application/vnd.git-lfs+json"),
    ];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    request(
        "POST",
        &format!("{}/acme/uploads.git/info/lfs/objects/batch", hub.endpoint()),
        &headers,
        body.to_string().as_bytes(),
    )
}

fn upload_request(objects: &[(&str, usize)], transfers: &[&str]) -> Value {
    let objects: Vec<Value> =
        objects.iter().map(|(oid, size)| json!({"oid": oid, "size": size})).collect();
    json!({"operation": "upload", "transfers": transfers, "objects": objects, "hash_algo": "sha256", "ref": {"name": "main"}})
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> anyhow::Result<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow::format_err!("no string at {pointer} in {v}"))
}

#[test]
fn basic_upload_then_verify_then_download() -> anyhow::Result<()> {
    let hub = hub_with_repo()?;
    let data = seed::deterministic_bytes("basic", 3000);
    let oid = sha256_hex(&data);
    let res = batch(
        &hub,
        Some(seed::ALICE),
        &upload_request(&[(&oid, data.len())], &["basic", "multipart"]),
    )?;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/vnd.git-lfs+json"));
    let answer = res.json()?;
    assert_eq!(answer["transfer"], "basic");
    let upload = str_at(&answer, "/objects/0/actions/upload/href")?;
    let verify = str_at(&answer, "/objects/0/actions/verify/href")?;
    assert!(upload.starts_with(hub.cdn_url()));
    assert!(verify.starts_with(hub.endpoint()));

    let verify_body = json!({"oid": oid, "size": data.len()}).to_string();
    assert_eq!(request("POST", verify, &[], verify_body.as_bytes())?.status, 404);
    let mut wrong = data.clone();
    wrong[0] ^= 1;
    assert_eq!(request("PUT", upload, &[], &wrong)?.status, 400);
    assert_eq!(request("PUT", upload, &[], &data[..10])?.status, 400);
    assert_eq!(request("PUT", &upload.replace("sig=", "sig=0"), &[], &data)?.status, 403);
    assert_eq!(request("PUT", upload, &[], &data)?.status, 200);
    assert_eq!(request("POST", verify, &[], verify_body.as_bytes())?.status, 200);
    assert_eq!(hub.lfs_object_size(&oid), Some(3000));

    // Already stored: no actions.
    let answer =
        batch(&hub, Some(seed::ALICE), &upload_request(&[(&oid, data.len())], &["basic"]))?
            .json()?;
    assert!(answer["objects"][0].get("actions").is_none(), "{answer}");

    // Download: a signed CDN URL, and a per-object 404 for a missing object.
    let missing = sha256_hex(b"missing");
    let body = json!({"operation": "download", "objects": [{"oid": oid, "size": 3000}, {"oid": missing, "size": 1}]});
    let answer = batch(&hub, None, &body)?.json()?;
    let href = str_at(&answer, "/objects/0/actions/download/href")?;
    assert_eq!(request("GET", href, &[], &[])?.body, data);
    assert_eq!(answer["objects"][1]["error"]["code"], 404);
    assert_eq!(hub.stats().auth_leaks, 0);
    Ok(())
}

#[test]
fn uploads_need_a_write_token_of_the_owner() -> anyhow::Result<()> {
    let hub = hub_with_repo()?;
    let body = upload_request(&[(&sha256_hex(b"x"), 1)], &["basic"]);
    let res = batch(&hub, None, &body)?;
    assert_eq!(res.status, 401);
    assert!(res.header("lfs-authenticate").is_some());
    assert_eq!(batch(&hub, Some(seed::BOB), &body)?.status, 403);
    assert_eq!(batch(&hub, Some(seed::ALICE_READ), &body)?.status, 403);
    assert_eq!(batch(&hub, Some("hf_invalid"), &body)?.status, 401);
    assert_eq!(batch(&hub, Some(seed::ALICE), &body)?.status, 200);
    Ok(())
}

#[test]
fn large_objects_without_multipart_are_refused() -> anyhow::Result<()> {
    let hub = hub_with_repo()?;
    hub.set_multipart_threshold(1000);
    let small = sha256_hex(b"small");
    let large = sha256_hex(b"large");
    let answer = batch(
        &hub,
        Some(seed::ALICE),
        &upload_request(&[(&small, 10), (&large, 1000)], &["basic"]),
    )?
    .json()?;
    assert_eq!(answer["transfer"], "basic");
    assert!(answer["objects"][0]["actions"]["upload"].is_object());
    assert_eq!(answer["objects"][1]["error"]["code"], 422);
    let message = str_at(&answer, "/objects/1/error/message")?;
    assert!(message.contains("cli lfs-enable-largefiles"), "{message}");
    Ok(())
}

#[test]
fn multipart_upload_with_many_parts() -> anyhow::Result<()> {
    let hub = hub_with_repo()?;
    hub.set_multipart_threshold(1000);
    hub.set_chunk_size(100);
    let data = seed::deterministic_bytes("multipart", 1250);
    let oid = sha256_hex(&data);
    let small = seed::deterministic_bytes("small", 150);
    let small_oid = sha256_hex(&small);
    let answer = batch(
        &hub,
        Some(seed::ALICE),
        &upload_request(&[(&oid, data.len()), (&small_oid, small.len())], &["basic", "multipart"]),
    )?
    .json()?;
    assert_eq!(answer["transfer"], "multipart");
    let header = answer["objects"][0]["actions"]["upload"]["header"]
        .as_object()
        .ok_or_else(|| anyhow::format_err!("no header"))?;
    assert_eq!(header["chunk_size"], "100");
    assert_eq!(header.len(), 14, "chunk_size + 13 part URLs");
    // The small object of the same batch gets multipart actions too (2 parts).
    assert_eq!(
        answer["objects"][1]["actions"]["upload"]["header"].as_object().map(|h| h.len()),
        Some(3)
    );

    let mut parts = Vec::new();
    for n in 1..=13usize {
        let url = str_at(
            header.get(&n.to_string()).ok_or_else(|| anyhow::format_err!("no part {n}"))?,
            "",
        )?;
        assert!(url.starts_with(hub.cdn_url()));
        let chunk = &data[(n - 1) * 100..(n * 100).min(data.len())];
        let res = request("PUT", url, &[], chunk)?;
        assert_eq!(res.status, 200, "part {n}");
        let etag = res.header("etag").ok_or_else(|| anyhow::format_err!("no etag"))?.to_owned();
        parts.push(json!({"partNumber": n, "etag": etag}));
    }
    // A part of the wrong size is refused.
    let part1 =
        header.get("1").and_then(Value::as_str).ok_or_else(|| anyhow::format_err!("no part 1"))?;
    assert_eq!(request("PUT", part1, &[], &data[..99])?.status, 400);

    let complete = str_at(&answer, "/objects/0/actions/upload/href")?;
    assert!(complete.starts_with(hub.endpoint()));
    let lfs_headers = [("Content-Type", "application/vnd.git-lfs+json")];

    let missing = json!({"oid": oid, "parts": parts[..12]});
    assert_eq!(
        request("POST", complete, &lfs_headers, missing.to_string().as_bytes())?.status,
        400
    );
    let mut wrong_etag = parts.clone();
    wrong_etag[4]["etag"] = json!("\"deadbeef\"");
    let body = json!({"oid": oid, "parts": wrong_etag});
    assert_eq!(request("POST", complete, &lfs_headers, body.to_string().as_bytes())?.status, 400);
    let body = json!({"oid": oid, "parts": parts}).to_string();
    assert_eq!(
        request("POST", &complete.replace("sig=", "sig=1"), &lfs_headers, body.as_bytes())?.status,
        403
    );
    assert_eq!(hub.lfs_object_size(&oid), None);
    let res = request("POST", complete, &lfs_headers, body.as_bytes())?;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(hub.lfs_object_size(&oid), Some(1250));

    let verify = str_at(&answer, "/objects/0/actions/verify/href")?;
    let verify_body = json!({"oid": oid, "size": 1250}).to_string();
    assert_eq!(request("POST", verify, &[], verify_body.as_bytes())?.status, 200);
    Ok(())
}

/// The part URLs of a multipart upload of `data` as `acme/uploads` answers them, by part number.
fn part_urls(hub: &TestHub, data: &[u8]) -> anyhow::Result<Vec<String>> {
    let oid = sha256_hex(data);
    let answer = batch(
        hub,
        Some(seed::ALICE),
        &upload_request(&[(&oid, data.len())], &["basic", "multipart"]),
    )?
    .json()?;
    let header = &answer["objects"][0]["actions"]["upload"]["header"];
    let chunk: usize = str_at(header, "/chunk_size")?.parse()?;
    (1..=data.len().div_ceil(chunk))
        .map(|n| Ok(str_at(header, &format!("/{n}"))?.to_owned()))
        .collect()
}

#[test]
fn fail_part_refuses_the_puts_of_one_part_number() -> anyhow::Result<()> {
    let hub = hub_with_repo()?;
    hub.set_multipart_threshold(1000);
    hub.set_chunk_size(400);
    let data = seed::deterministic_bytes("fail-part", 1000);
    let urls = part_urls(&hub, &data)?;
    let chunk = |n: usize| &data[(n - 1) * 400..(n * 400).min(data.len())];

    // Once: the first PUT of part 2 is refused, the next one lands; other parts are untouched.
    hub.faults().fail_part(2, Some(1), 500);
    let res = request("PUT", &urls[1], &[], chunk(2))?;
    assert_eq!(res.status, 500);
    assert!(res.header("etag").is_none());
    assert_eq!(request("PUT", &urls[0], &[], chunk(1))?.status, 200);
    assert_eq!(request("PUT", &urls[1], &[], chunk(2))?.status, 200);
    assert_eq!(hub.faults().refused_part_puts(2), 1);

    // Always: every PUT of part 3 is refused until the faults are cleared.
    hub.faults().fail_part(3, None, 503);
    for _ in 0..3 {
        assert_eq!(request("PUT", &urls[2], &[], chunk(3))?.status, 503);
    }
    assert_eq!(hub.faults().refused_part_puts(3), 3);
    assert_eq!(hub.faults().refused_part_puts(2), 1);
    assert_eq!(hub.stats().route("injected-part-failure"), 4);
    hub.faults().clear();
    assert_eq!(hub.faults().refused_part_puts(3), 0);
    assert_eq!(request("PUT", &urls[2], &[], chunk(3))?.status, 200);
    assert_eq!(hub.stats().route("cdn-part"), 3);

    // Over the admin route, as the Python suite sets it: `times` absent = always.
    let faults = format!("{}/_testhub/faults", hub.endpoint());
    let body = br#"{"fail_part": {"part": 1, "times": 2, "status": 502}}"#;
    assert_eq!(request("POST", &faults, &[], body)?.status, 200);
    assert_eq!(request("PUT", &urls[0], &[], chunk(1))?.status, 502);
    assert_eq!(request("PUT", &urls[0], &[], chunk(1))?.status, 502);
    assert_eq!(request("PUT", &urls[0], &[], chunk(1))?.status, 200);
    let body = br#"{"fail_part": {"part": 1, "status": 500}}"#;
    assert_eq!(request("POST", &faults, &[], body)?.status, 200);
    assert_eq!(request("PUT", &urls[0], &[], chunk(1))?.status, 500);
    let body = br#"{"fail_part": {"part": 1, "status": 5000}}"#;
    assert_eq!(request("POST", &faults, &[], body)?.status, 400);
    assert_eq!(
        request("POST", &format!("{}/_testhub/reset", hub.endpoint()), &[], b"")?.status,
        200
    );
    assert_eq!(request("PUT", &urls[0], &[], chunk(1))?.status, 200);
    Ok(())
}
