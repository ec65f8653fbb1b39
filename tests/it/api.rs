//! The REST API the management client needs: repo CRUD and settings, listings with filters
//! and cursor pagination, tree / paths-info / commits, branches and tags; plain HTTP plus `git`
//! to check the effects.

use std::collections::BTreeSet;

use anyhow::Context;
use hub_tests::{RepoType, SeedManifest, TestHub, seed};
use serde_json::{Value, json};

use crate::{
    support::{Response, request},
    support::{bearer, git, seeded},
};

/// A request to the hub with an optional token and a JSON body (empty = no body).
fn call(
    hub: &TestHub,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> anyhow::Result<Response> {
    let auth = token.map(bearer);
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    let body = body.map(Value::to_string).unwrap_or_default();
    request(method, &format!("{}{path}", hub.endpoint()), &headers, body.as_bytes())
        .with_context(|| format!("{method} {path}"))
}

fn get_json(hub: &TestHub, path: &str, token: Option<&str>) -> anyhow::Result<Value> {
    let res = call(hub, "GET", path, token, None)?;
    anyhow::ensure!(
        res.status == 200,
        "GET {path}: {} {}",
        res.status,
        String::from_utf8_lossy(&res.body)
    );
    res.json()
}

/// The ids of a listing page.
fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| a.iter().filter_map(|m| m["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// `git ls-remote` of a repo: `refname -> oid`.
fn ls_remote(hub: &TestHub, url_path: &str) -> anyhow::Result<Option<Vec<(String, String)>>> {
    let work = tempfile::tempdir()?;
    let out =
        git(work.path()).args(["ls-remote", &format!("{}/{url_path}", hub.endpoint())]).output()?;
    if !out.status.success() {
        return Ok(None);
    }
    Ok(Some(
        String::from_utf8(out.stdout)?
            .lines()
            .filter_map(|l| l.split_once('\t').map(|(oid, name)| (name.to_owned(), oid.to_owned())))
            .collect(),
    ))
}

fn remote_ref(refs: &[(String, String)], name: &str) -> Option<String> {
    refs.iter().find(|(n, _)| n == name).map(|(_, oid)| oid.clone())
}

fn commit_of(
    manifest: &SeedManifest,
    repo_type: RepoType,
    id: &str,
    rev: &str,
) -> anyhow::Result<String> {
    let repo = manifest.repo(repo_type, id).ok_or_else(|| anyhow::format_err!("no repo {id}"))?;
    Ok(repo.revisions.get(rev).ok_or_else(|| anyhow::format_err!("no rev {rev}"))?.commit.clone())
}

/// Follows `Link: <…>; rel="next"` from `path`; returns every page.
fn pages(hub: &TestHub, path: &str, token: Option<&str>) -> anyhow::Result<Vec<Value>> {
    let mut url = format!("{}{path}", hub.endpoint());
    let mut out = Vec::new();
    loop {
        let auth = token.map(bearer);
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        let res = request("GET", &url, &headers, &[])?;
        anyhow::ensure!(res.status == 200, "GET {url}: {}", res.status);
        out.push(res.json()?);
        let Some(link) = res.header("link") else { break };
        let next = link
            .strip_prefix('<')
            .and_then(|l| l.split_once(">; rel=\"next\""))
            .map(|(u, _)| u.to_owned())
            .ok_or_else(|| anyhow::format_err!("bad Link header {link}"))?;
        anyhow::ensure!(out.len() < 100, "pagination does not end");
        url = next;
    }
    Ok(out)
}

#[test]
fn whoami_names_the_user_orgs_and_token_role() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let me = get_json(&hub, "/api/whoami-v2", Some(seed::ALICE_READ))?;
    assert_eq!(me["name"], "alice");
    assert_eq!(me["orgs"][0]["name"], "acme");
    assert_eq!(me["auth"]["accessToken"]["role"], "read");
    assert_eq!(call(&hub, "GET", "/api/whoami-v2", None, None)?.status, 401);
    Ok(())
}

#[test]
fn create_repo_checks_permissions_and_makes_a_git_repo() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let ep = hub.endpoint();
    let body = json!({"name": "fresh", "organization": "acme"});
    let create = |token: Option<&str>, body: &Value| {
        call(&hub, "POST", "/api/repos/create", token, Some(body))
    };
    assert_eq!(create(None, &body)?.status, 401);
    assert_eq!(create(Some(seed::ALICE_READ), &body)?.status, 403);
    assert_eq!(create(Some(seed::BOB), &body)?.status, 403, "bob is not in acme");
    assert_eq!(create(Some(seed::ALICE), &json!({"name": "bad--name"}))?.status, 400);
    assert_eq!(create(Some(seed::ALICE), &json!({"organization": "acme"}))?.status, 400);
    assert_eq!(create(Some(seed::ALICE), &json!({"name": "x", "type": "bucket"}))?.status, 400);
    assert_eq!(ls_remote(&hub, "acme/fresh")?, None, "refused creates leave nothing");

    let res = create(Some(seed::ALICE), &body)?;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()?["url"], format!("{ep}/acme/fresh"));
    // Like the Hub: one initial commit with `.gitattributes`.
    let refs = ls_remote(&hub, "acme/fresh")?.ok_or_else(|| anyhow::format_err!("no git repo"))?;
    let main =
        remote_ref(&refs, "refs/heads/main").ok_or_else(|| anyhow::format_err!("no main"))?;
    let info = get_json(&hub, "/api/models/acme/fresh", None)?;
    assert_eq!(info["private"], false);
    assert_eq!(info["author"], "acme");
    assert_eq!(info["sha"], main.as_str());
    assert_eq!(info["siblings"], json!([{"rfilename": ".gitattributes"}]));
    let commits = get_json(&hub, "/api/models/acme/fresh/commits/main", None)?;
    assert_eq!(commits[0]["title"], "initial commit");
    // The same again: 409 with the URL in the body.
    let res = create(Some(seed::ALICE), &body)?;
    assert_eq!(res.status, 409);
    assert_eq!(res.json()?["url"], format!("{ep}/acme/fresh"));

    // In the user's own namespace (no organization), private (both spellings).
    for (name, extra) in
        [("mine", json!({"private": true})), ("mine2", json!({"visibility": "private"}))]
    {
        let mut body = json!({"name": name, "organization": null});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let res = create(Some(seed::BOB), &body)?;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
        assert_eq!(res.json()?["url"], format!("{ep}/bob/{name}"));
        let path = format!("/api/models/bob/{name}");
        let anon = call(&hub, "GET", &path, None, None)?;
        assert_eq!((anon.status, anon.header("x-error-code")), (401, Some("RepoNotFound")));
        assert_eq!(call(&hub, "GET", &path, Some(seed::ALICE), None)?.status, 401);
        assert_eq!(get_json(&hub, &path, Some(seed::BOB))?["private"], true);
    }

    // Datasets and spaces (a space needs an sdk).
    let res = create(
        Some(seed::ALICE),
        &json!({"name": "ds", "organization": "acme", "type": "dataset"}),
    )?;
    assert_eq!(res.json()?["url"], format!("{ep}/datasets/acme/ds"));
    assert_eq!(get_json(&hub, "/api/datasets/acme/ds", None)?["id"], "acme/ds");
    assert_eq!(call(&hub, "GET", "/api/models/acme/ds", None, None)?.status, 401);
    let space = json!({"name": "sp", "organization": "acme", "type": "space"});
    assert_eq!(create(Some(seed::ALICE), &space)?.status, 400);
    let space = json!({"name": "sp", "organization": "acme", "type": "space", "sdk": "nope"});
    assert_eq!(create(Some(seed::ALICE), &space)?.status, 400);
    let space = json!({"name": "sp", "organization": "acme", "type": "space", "sdk": "gradio"});
    let res = create(Some(seed::ALICE), &space)?;
    assert_eq!(res.json()?["url"], format!("{ep}/spaces/acme/sp"));
    assert_eq!(get_json(&hub, "/api/spaces/acme/sp", None)?["sdk"], "gradio");
    assert!(ls_remote(&hub, "spaces/acme/sp")?.is_some());
    Ok(())
}

#[test]
fn seed_era_lfsmultipartthresh_lowers_the_threshold_of_that_repo() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let body = json!({"name": "big", "organization": "acme", "lfsmultipartthresh": 6e6});
    assert_eq!(
        call(&hub, "POST", "/api/repos/create", Some(seed::ALICE), Some(&body))?.status,
        200
    );
    let batch = |repo: &str, size: u64| -> anyhow::Result<Value> {
        let body = json!({"operation": "upload", "transfers": ["basic", "multipart"],
            "objects": [{"oid": "a".repeat(64), "size": size}]});
        let res = request(
            "POST",
            &format!("{}/acme/{repo}.git/info/lfs/objects/batch", hub.endpoint()),
            &[
                ("Authorization", &bearer(seed::ALICE)),
                ("Content-Type", "application/vnd.git-lfs+json"),
            ],
            body.to_string().as_bytes(),
        )?;
        res.json()
    };
    let answer = batch("big", 7_000_000)?;
    assert!(
        answer["objects"][0]["actions"]["upload"]["header"]["chunk_size"].is_string(),
        "{answer}"
    );
    let answer = batch("big", 5_000_000)?;
    assert!(answer["objects"][0]["actions"]["upload"]["header"].is_null(), "{answer}");
    // Other repos keep the hub's threshold (5 GB).
    let answer = batch("tiny-model", 7_000_000)?;
    assert!(answer["objects"][0]["actions"]["upload"]["header"].is_null(), "{answer}");
    Ok(())
}

#[test]
fn delete_repo_removes_it_and_its_redirects() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let delete = |token: Option<&str>, body: &Value| {
        call(&hub, "DELETE", "/api/repos/delete", token, Some(body))
    };
    let tiny = json!({"name": "tiny-model", "organization": "acme"});
    assert_eq!(delete(None, &tiny)?.status, 401);
    assert_eq!(delete(Some(seed::BOB), &tiny)?.status, 403);
    assert_eq!(delete(Some(seed::ALICE_READ), &tiny)?.status, 403);
    let private =
        delete(Some(seed::BOB), &json!({"name": "private-model", "organization": "acme"}))?;
    assert_eq!((private.status, private.header("x-error-code")), (404, Some("RepoNotFound")));
    let missing = delete(Some(seed::ALICE), &json!({"name": "nope", "organization": "acme"}))?;
    assert_eq!((missing.status, missing.header("x-error-code")), (404, Some("RepoNotFound")));
    // The wrong type is another repo.
    let wrong = delete(
        Some(seed::ALICE),
        &json!({"name": "tiny-model", "organization": "acme", "type": "dataset"}),
    )?;
    assert_eq!(wrong.status, 404);

    assert_eq!(delete(Some(seed::ALICE), &tiny)?.status, 200);
    assert_eq!(
        call(&hub, "GET", "/api/models/acme/tiny-model", Some(seed::ALICE), None)?.status,
        401
    );
    assert_eq!(ls_remote(&hub, "acme/tiny-model")?, None);
    assert!(!hub.root().join("repos/models/acme/tiny-model.git").exists());
    // The old name that redirected to it is gone too.
    let old = call(&hub, "GET", "/acme/old-tiny-model/resolve/main/config.json", None, None)?;
    assert_eq!(old.status, 401);
    assert_eq!(delete(Some(seed::ALICE), &tiny)?.status, 404);
    // A chain of renames (a -> b -> c) is cleaned up whole when c goes.
    let mv = |from: &str, to: &str| {
        let body = json!({"fromRepo": from, "toRepo": to, "type": "space"});
        call(&hub, "POST", "/api/repos/move", Some(seed::ALICE), Some(&body))
    };
    assert_eq!(mv("acme/tiny-space", "acme/space-b")?.status, 200);
    assert_eq!(mv("acme/space-b", "acme/space-c")?.status, 200);
    let res = call(&hub, "GET", "/api/spaces/acme/tiny-space", None, None)?;
    assert_eq!(res.header("location"), Some("/api/spaces/acme/space-b"));
    let sp = json!({"name": "space-c", "organization": "acme", "type": "space"});
    assert_eq!(delete(Some(seed::ALICE), &sp)?.status, 200);
    for old in ["acme/tiny-space", "acme/space-b"] {
        let res = call(&hub, "GET", &format!("/api/spaces/{old}"), None, None)?;
        assert_eq!((res.status, res.header("x-error-code")), (401, Some("RepoNotFound")), "{old}");
    }
    // Datasets by type.
    let ds = json!({"name": "tiny-dataset", "organization": "acme", "type": "dataset"});
    assert_eq!(delete(Some(seed::ALICE), &ds)?.status, 200);
    assert_eq!(call(&hub, "GET", "/api/datasets/acme/tiny-dataset", None, None)?.status, 401);
    Ok(())
}

#[test]
fn move_repo_renames_and_the_old_name_redirects() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let mv = |token: Option<&str>, from: &str, to: &str, t: &str| {
        call(
            &hub,
            "POST",
            "/api/repos/move",
            token,
            Some(&json!({"fromRepo": from, "toRepo": to, "type": t})),
        )
    };
    assert_eq!(mv(None, "acme/tiny-dataset", "acme/ds2", "dataset")?.status, 401);
    assert_eq!(mv(Some(seed::BOB), "acme/tiny-dataset", "bob/ds2", "dataset")?.status, 403);
    assert_eq!(
        mv(Some(seed::ALICE), "acme/tiny-dataset", "bob/ds2", "dataset")?.status,
        403,
        "not alice's namespace"
    );
    assert_eq!(mv(Some(seed::ALICE), "acme/tiny-dataset", "nonamespace", "dataset")?.status, 400);
    assert_eq!(mv(Some(seed::ALICE), "acme/gated-model", "acme/tiny-model", "model")?.status, 409);
    assert_eq!(mv(Some(seed::BOB), "acme/private-model", "bob/p", "model")?.status, 404);

    let res = mv(Some(seed::ALICE), "acme/tiny-dataset", "alice/moved", "dataset")?;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let main = commit_of(&manifest, RepoType::Dataset, "acme/tiny-dataset", "main")?;
    assert_eq!(get_json(&hub, "/api/datasets/alice/moved", None)?["sha"], main.as_str());
    let refs =
        ls_remote(&hub, "datasets/alice/moved")?.ok_or_else(|| anyhow::format_err!("no repo"))?;
    assert_eq!(remote_ref(&refs, "refs/heads/main"), Some(main));
    // Old name: 307 on the API and on resolve, relative, query kept.
    let res =
        call(&hub, "GET", "/api/datasets/acme/tiny-dataset/revision/main?blobs=true", None, None)?;
    assert_eq!(res.status, 307);
    assert_eq!(res.header("location"), Some("/api/datasets/alice/moved/revision/main?blobs=true"));
    let res =
        call(&hub, "GET", "/datasets/acme/tiny-dataset/resolve/main/config.json", None, None)?;
    assert_eq!(res.status, 307);
    assert_eq!(res.header("location"), Some("/datasets/alice/moved/resolve/main/config.json"));
    // alice owns it now (her namespace): bob still cannot write.
    let settings = json!({"private": true});
    assert_eq!(
        call(&hub, "PUT", "/api/datasets/alice/moved/settings", Some(seed::BOB), Some(&settings))?
            .status,
        403
    );
    Ok(())
}

#[test]
fn settings_change_visibility_and_gating() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let put =
        |path: &str, token: Option<&str>, body: Value| call(&hub, "PUT", path, token, Some(&body));
    let path = "/api/models/acme/tiny-model/settings";
    assert_eq!(put(path, None, json!({"private": true}))?.status, 401);
    assert_eq!(put(path, Some(seed::BOB), json!({"private": true}))?.status, 403);
    assert_eq!(put(path, Some(seed::ALICE_READ), json!({"private": true}))?.status, 403);
    assert_eq!(put(path, Some(seed::ALICE), json!({"visibility": "protected"}))?.status, 400);
    assert_eq!(put(path, Some(seed::ALICE), json!({"gated": "sometimes"}))?.status, 400);
    assert_eq!(put(path, Some(seed::ALICE), json!({"private": "yes"}))?.status, 400);
    assert_eq!(
        put("/api/models/acme/private-model/settings", Some(seed::BOB), json!({"private": false}))?
            .status,
        404
    );

    let res = put(path, Some(seed::ALICE), json!({"visibility": "private"}))?;
    assert_eq!(res.status, 200);
    let anon = call(&hub, "GET", "/acme/tiny-model/resolve/main/config.json", None, None)?;
    assert_eq!((anon.status, anon.header("x-error-code")), (401, Some("RepoNotFound")));
    assert_eq!(get_json(&hub, "/api/models/acme/tiny-model", Some(seed::ALICE))?["private"], true);
    // v0.x spelling, and the v0.1 path without `models/`.
    assert_eq!(
        put("/api/acme/tiny-model/settings", Some(seed::ALICE), json!({"private": false}))?.status,
        200
    );
    assert_eq!(get_json(&hub, "/api/models/acme/tiny-model", None)?["private"], false);

    assert_eq!(put(path, Some(seed::ALICE), json!({"gated": "auto"}))?.status, 200);
    assert_eq!(get_json(&hub, "/api/models/acme/tiny-model", Some(seed::ALICE))?["gated"], "auto");
    let anon = call(&hub, "GET", "/acme/tiny-model/resolve/main/config.json", None, None)?;
    assert_eq!((anon.status, anon.header("x-error-code")), (401, Some("GatedRepo")));
    assert_eq!(put(path, Some(seed::ALICE), json!({"gated": false}))?.status, 200);
    assert_eq!(get_json(&hub, "/api/models/acme/tiny-model", None)?["gated"], false);
    // Spaces may be protected.
    let res = put(
        "/api/spaces/acme/tiny-space/settings",
        Some(seed::ALICE),
        json!({"visibility": "protected"}),
    )?;
    assert_eq!(res.status, 200);
    Ok(())
}

#[test]
fn listings_filter_search_sort_and_hide_private_repos() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let list =
        |query: &str, token: Option<&str>| get_json(&hub, &format!("/api/models{query}"), token);
    let all = ids(&list("", None)?);
    assert_eq!(
        all,
        ["acme/gated-model", "acme/tiny-model", "julien-c/EsperBERTo-small"],
        "by id, no private"
    );
    assert_eq!(ids(&list("", Some(seed::BOB))?), all);
    assert!(ids(&list("", Some(seed::ALICE_READ))?).contains(&"acme/private-model".to_owned()));

    // The library name is a tag.
    assert_eq!(ids(&list("?filter=asteroid", None)?), ["acme/tiny-model"]);
    assert_eq!(
        ids(&list("?filter=pytorch&filter=transformers", None)?),
        ["acme/gated-model", "julien-c/EsperBERTo-small"]
    );
    assert_eq!(ids(&list("?filter=nothing-has-this", None)?), Vec::<String>::new());
    assert_eq!(ids(&list("?author=julien-c", None)?), ["julien-c/EsperBERTo-small"]);
    assert_eq!(ids(&list("?search=TINY", None)?), ["acme/tiny-model"]);
    assert_eq!(ids(&list("?search=model&author=acme&filter=pytorch", Some(seed::ALICE))?).len(), 3);
    assert_eq!(ids(&list("?pipeline_tag=fill-mask", None)?), ["julien-c/EsperBERTo-small"]);
    assert_eq!(ids(&list("?gated=true", None)?), ["acme/gated-model"]);

    // Sorting: descending by default, `direction=1` ascending.
    let by_downloads = ["julien-c/EsperBERTo-small", "acme/tiny-model", "acme/gated-model"];
    assert_eq!(ids(&list("?sort=downloads", None)?), by_downloads);
    assert_eq!(ids(&list("?sort=downloads&direction=-1", None)?), by_downloads);
    let mut ascending = by_downloads.to_vec();
    ascending.reverse();
    assert_eq!(ids(&list("?sort=downloads&direction=1", None)?), ascending);
    assert_eq!(ids(&list("?sort=likes&limit=1", None)?), ["julien-c/EsperBERTo-small"]);
    assert_eq!(ids(&list("?sort=createdAt", None)?)[0], "acme/gated-model", "the last created");
    assert_eq!(call(&hub, "GET", "/api/models?sort=bogus", None, None)?.status, 400);
    assert_eq!(call(&hub, "GET", "/api/models?limit=x", None, None)?.status, 400);
    assert_eq!(call(&hub, "GET", "/api/models?cursor=zz", None, None)?.status, 400);

    // Items: the Hub's keys; `full=true` adds siblings.
    let items = list("?filter=asteroid", None)?;
    let item = &items[0];
    assert_eq!(item["modelId"], "acme/tiny-model");
    assert_eq!(item["library_name"], "asteroid");
    assert_eq!(item["tags"], json!(["asteroid", "pytorch", "audio-to-audio"]));
    assert_eq!(item["createdAt"], "2024-01-01T00:00:00.000Z");
    assert!(item.get("siblings").is_none());
    let full = list("?filter=asteroid&full=true", None)?;
    let siblings: BTreeSet<&str> = full[0]["siblings"]
        .as_array()
        .map(|s| s.iter().filter_map(|f| f["rfilename"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        siblings.contains("weights.bin") && siblings.contains("nested/deep/file.txt"),
        "{siblings:?}"
    );

    // Datasets and spaces.
    let ds = get_json(&hub, "/api/datasets?filter=language:en", None)?;
    assert_eq!(ids(&ds), ["acme/tiny-dataset"]);
    let spaces = get_json(&hub, "/api/spaces?author=acme", None)?;
    assert_eq!(ids(&spaces), ["acme/tiny-space"]);
    assert_eq!(spaces[0]["sdk"], "static");
    Ok(())
}

#[test]
fn listings_paginate_with_link_headers() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let whole = get_json(&hub, "/api/models", Some(seed::ALICE))?;
    assert_eq!(call(&hub, "GET", "/api/models", None, None)?.header("link"), None);
    hub.set_page_size(Some(2));
    let got = pages(&hub, "/api/models", Some(seed::ALICE))?;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].as_array().map(Vec::len), Some(2));
    let flat: Vec<Value> = got.iter().filter_map(Value::as_array).flatten().cloned().collect();
    assert_eq!(Value::Array(flat), whole);

    // The next URL keeps the query; `limit` caps the total.
    let res = call(&hub, "GET", "/api/models?filter=pytorch&sort=downloads&limit=3", None, None)?;
    let link = res.header("link").ok_or_else(|| anyhow::format_err!("no link"))?;
    assert!(
        link.contains("filter=pytorch") && link.contains("limit=3") && link.contains("cursor="),
        "{link}"
    );
    let got = pages(&hub, "/api/models?filter=pytorch&limit=3", Some(seed::ALICE))?;
    let n: usize = got.iter().filter_map(Value::as_array).map(Vec::len).sum();
    assert_eq!((got.len(), n), (2, 3));
    hub.set_page_size(None);
    assert_eq!(call(&hub, "GET", "/api/models", Some(seed::ALICE), None)?.header("link"), None);

    // Over the admin route too.
    let res = request(
        "POST",
        &format!("{}/_testhub/config", hub.endpoint()),
        &[],
        br#"{"page_size": 1}"#,
    )?;
    assert_eq!(res.status, 200);
    assert_eq!(pages(&hub, "/api/models", None)?.len(), 3);
    let res = request(
        "POST",
        &format!("{}/_testhub/config", hub.endpoint()),
        &[],
        br#"{"page_size": null}"#,
    )?;
    assert_eq!(res.json()?["page_size"], Value::Null);
    assert_eq!(pages(&hub, "/api/models", None)?.len(), 1);
    Ok(())
}

#[test]
fn tree_lists_files_and_directories_at_a_revision() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let repo = manifest
        .repo(RepoType::Model, "acme/tiny-model")
        .ok_or_else(|| anyhow::format_err!("no repo"))?;
    let main = &repo.revisions["main"].files;
    let root = get_json(&hub, "/api/models/acme/tiny-model/tree/main", None)?;
    let paths: Vec<(&str, &str)> = root
        .as_array()
        .map(|a| {
            a.iter().filter_map(|e| Some((e["type"].as_str()?, e["path"].as_str()?))).collect()
        })
        .unwrap_or_default();
    assert_eq!(
        paths,
        [
            ("file", ".gitattributes"),
            ("file", "README.md"),
            ("file", "config.json"),
            ("directory", "nested"),
            ("directory", "unicode"),
            ("file", "weights.bin")
        ]
    );
    let entry = |list: &Value, path: &str| -> anyhow::Result<Value> {
        list.as_array()
            .and_then(|a| a.iter().find(|e| e["path"] == path).cloned())
            .ok_or_else(|| anyhow::format_err!("no {path} in {list}"))
    };
    let weights = entry(&root, "weights.bin")?;
    assert_eq!(weights["size"], main["weights.bin"].size);
    assert_eq!(weights["oid"], main["weights.bin"].git_oid.as_str());
    assert_eq!(weights["lfs"]["oid"], main["weights.bin"].sha256.as_str());
    assert_eq!(weights["lfs"]["size"], main["weights.bin"].size);
    assert!(weights["lfs"]["pointerSize"].as_u64().is_some_and(|n| n > 100 && n < 200));
    let config = entry(&root, "config.json")?;
    assert_eq!(config["oid"], main["config.json"].git_oid.as_str());
    assert!(config.get("lfs").is_none());
    assert_eq!(entry(&root, "nested")?["size"], 0);

    // Recursive: every file of the manifest plus the directories.
    let all = get_json(&hub, "/api/models/acme/tiny-model/tree/main?recursive=true", None)?;
    let files: BTreeSet<&str> = all
        .as_array()
        .map(|a| {
            a.iter().filter(|e| e["type"] == "file").filter_map(|e| e["path"].as_str()).collect()
        })
        .unwrap_or_default();
    assert_eq!(files, main.keys().map(String::as_str).collect());
    assert_eq!(entry(&all, "nested/deep")?["type"], "directory");

    // A sub-directory, percent-encoded with safe="" (and literal); a PR revision.
    let deep = get_json(&hub, "/api/models/acme/tiny-model/tree/main/nested%2Fdeep", None)?;
    assert_eq!(deep.as_array().map(Vec::len), Some(1));
    assert_eq!(deep[0]["path"], "nested/deep/file.txt");
    assert_eq!(get_json(&hub, "/api/models/acme/tiny-model/tree/main/nested/deep", None)?, deep);
    let unicode = get_json(&hub, "/api/models/acme/tiny-model/tree/main/unicode", None)?;
    assert_eq!(unicode[0]["path"], "unicode/café ü ñ.txt");
    let pr = get_json(&hub, "/api/models/acme/tiny-model/tree/refs%2Fpr%2F1", None)?;
    assert_eq!(
        entry(&pr, "config.json")?["oid"],
        repo.revisions["refs/pr/1"].files["config.json"].git_oid.as_str()
    );
    let dev = get_json(&hub, "/api/models/acme/tiny-model/tree/dev", None)?;
    assert!(entry(&dev, "dev-only.txt").is_ok());

    // expand=true: last commit and security status.
    let expanded = get_json(&hub, "/api/models/acme/tiny-model/tree/main?expand=true", None)?;
    let config = entry(&expanded, "config.json")?;
    assert_eq!(config["lastCommit"]["id"], repo.revisions["main"].commit.as_str());
    assert_eq!(config["lastCommit"]["title"], "Update config");
    assert_eq!(
        entry(&expanded, "README.md")?["lastCommit"]["id"],
        repo.revisions["v1.0"].commit.as_str()
    );
    assert_eq!(config["securityFileStatus"]["status"], "safe");

    // Errors.
    let res = call(&hub, "GET", "/api/models/acme/tiny-model/tree/main/nope", None, None)?;
    assert_eq!((res.status, res.header("x-error-code")), (404, Some("EntryNotFound")));
    let res = call(&hub, "GET", "/api/models/acme/tiny-model/tree/main/config.json", None, None)?;
    assert_eq!(res.status, 404, "a file is not a directory");
    let res = call(&hub, "GET", "/api/models/acme/tiny-model/tree/main/..%2F..", None, None)?;
    assert_eq!(res.status, 404);
    let res = call(&hub, "GET", "/api/models/acme/tiny-model/tree/nope", None, None)?;
    assert_eq!((res.status, res.header("x-error-code")), (404, Some("RevisionNotFound")));
    let res = call(&hub, "GET", "/api/models/acme/private-model/tree/main", None, None)?;
    assert_eq!((res.status, res.header("x-error-code")), (401, Some("RepoNotFound")));
    assert_eq!(
        call(&hub, "GET", "/api/models/acme/private-model/tree/main", Some(seed::ALICE), None)?
            .status,
        200
    );
    let res = call(&hub, "GET", "/api/models/acme/gated-model/tree/main", Some(seed::BOB), None)?;
    assert_eq!((res.status, res.header("x-error-code")), (403, Some("GatedRepo")));

    // Pagination.
    hub.set_page_size(Some(4));
    let got = pages(&hub, "/api/models/acme/tiny-model/tree/main?recursive=true", None)?;
    assert_eq!(got.len(), 3);
    let flat: Vec<Value> = got.iter().filter_map(Value::as_array).flatten().cloned().collect();
    assert_eq!(Value::Array(flat), all);
    Ok(())
}

#[test]
fn paths_info_describes_the_paths_that_exist() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let repo = manifest
        .repo(RepoType::Dataset, "acme/tiny-dataset")
        .ok_or_else(|| anyhow::format_err!("no repo"))?;
    let url = format!("{}/api/datasets/acme/tiny-dataset/paths-info/refs%2Fpr%2F1", hub.endpoint());
    let form = "paths=config.json&paths=weights.bin&paths=nested&paths=missing.txt&paths=unicode%2Fcaf%C3%A9+%C3%BC+%C3%B1.txt&expand=false";
    let res = request(
        "POST",
        &url,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    )?;
    assert_eq!(res.status, 200);
    let info = res.json()?;
    let paths: Vec<&str> = info
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["path"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(paths, ["config.json", "weights.bin", "nested", "unicode/café ü ñ.txt"]);
    let files = &repo.revisions["refs/pr/1"].files;
    assert_eq!(info[0]["oid"], files["config.json"].git_oid.as_str());
    assert_eq!(info[1]["lfs"]["oid"], files["weights.bin"].sha256.as_str());
    assert_eq!(info[2]["type"], "directory");
    assert!(info[0].get("lastCommit").is_none());

    // JSON bodies and expand.
    let body = json!({"paths": ["config.json"], "expand": true});
    let res =
        call(&hub, "POST", "/api/datasets/acme/tiny-dataset/paths-info/main", None, Some(&body))?;
    let info = res.json()?;
    assert_eq!(info[0]["lastCommit"]["id"], repo.revisions["main"].commit.as_str());

    let res = request(
        "POST",
        &format!("{}/api/datasets/acme/tiny-dataset/paths-info/nope", hub.endpoint()),
        &[],
        b"paths=a",
    )?;
    assert_eq!((res.status, res.header("x-error-code")), (404, Some("RevisionNotFound")));
    let res = request(
        "POST",
        &format!("{}/api/models/acme/private-model/paths-info/main", hub.endpoint()),
        &[],
        b"paths=config.json",
    )?;
    assert_eq!(res.status, 401);
    Ok(())
}

#[test]
fn commits_list_the_history_newest_first() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let commits = get_json(&hub, "/api/models/acme/tiny-model/commits/dev", None)?;
    let ids: Vec<&str> = commits
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["id"].as_str()).collect())
        .unwrap_or_default();
    let expected = [
        commit_of(&manifest, RepoType::Model, "acme/tiny-model", "dev")?,
        commit_of(&manifest, RepoType::Model, "acme/tiny-model", "main")?,
        commit_of(&manifest, RepoType::Model, "acme/tiny-model", "v1.0")?,
    ];
    assert_eq!(ids, expected);
    assert_eq!(commits[0]["title"], "Add dev-only file");
    assert_eq!(commits[0]["message"], "");
    assert_eq!(commits[0]["authors"][0]["user"], "TestHub");
    assert_eq!(commits[0]["date"], "2024-01-01T00:00:00.000Z");
    assert!(commits[0].get("formatted").is_none());
    let formatted =
        get_json(&hub, "/api/models/acme/tiny-model/commits/main?expand%5B%5D=formatted", None)?;
    assert_eq!(formatted[0]["formatted"]["title"], "Update config");
    let pr = get_json(&hub, "/api/models/acme/tiny-model/commits/refs%2Fpr%2F1", None)?;
    assert_eq!(pr.as_array().map(Vec::len), Some(3));

    hub.set_page_size(Some(2));
    let got = pages(&hub, "/api/models/acme/tiny-model/commits/dev", None)?;
    assert_eq!(got.len(), 2);
    let res = call(&hub, "GET", "/api/models/acme/tiny-model/commits/nope", None, None)?;
    assert_eq!((res.status, res.header("x-error-code")), (404, Some("RevisionNotFound")));
    Ok(())
}

#[test]
fn branches_are_real_git_refs() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let v1 = commit_of(&manifest, RepoType::Model, "acme/tiny-model", "v1.0")?;
    let main = commit_of(&manifest, RepoType::Model, "acme/tiny-model", "main")?;
    let branch = |method: &str, name: &str, token: Option<&str>, body: Option<&Value>| {
        call(&hub, method, &format!("/api/models/acme/tiny-model/branch/{name}"), token, body)
    };
    let from_v1 = json!({"startingPoint": "v1.0"});
    assert_eq!(branch("POST", "feature", None, Some(&from_v1))?.status, 401);
    assert_eq!(branch("POST", "feature", Some(seed::BOB), Some(&from_v1))?.status, 403);
    assert_eq!(branch("POST", "feature", Some(seed::ALICE_READ), Some(&from_v1))?.status, 403);
    let res =
        branch("POST", "feature", Some(seed::ALICE), Some(&json!({"startingPoint": "nope"})))?;
    assert_eq!((res.status, res.header("x-error-code")), (404, Some("RevisionNotFound")));
    assert_eq!(branch("POST", "bad..name", Some(seed::ALICE), None)?.status, 400);
    assert_eq!(branch("POST", "refs%2Fheads%2Fx", Some(seed::ALICE), None)?.status, 400);

    assert_eq!(branch("POST", "feature%2Fone", Some(seed::ALICE), Some(&from_v1))?.status, 200);
    assert_eq!(branch("POST", "feature%2Fone", Some(seed::ALICE), Some(&from_v1))?.status, 409);
    assert_eq!(branch("POST", "from-main", Some(seed::ALICE), None)?.status, 200);
    let refs = ls_remote(&hub, "acme/tiny-model")?.ok_or_else(|| anyhow::format_err!("no repo"))?;
    assert_eq!(remote_ref(&refs, "refs/heads/feature/one"), Some(v1.clone()));
    assert_eq!(remote_ref(&refs, "refs/heads/from-main"), Some(main.clone()));
    let api_refs = get_json(&hub, "/api/models/acme/tiny-model/refs", None)?;
    assert!(api_refs["branches"].as_array().is_some_and(|b| {
        b.iter().any(|r| r["name"] == "feature/one" && r["targetCommit"] == v1.as_str())
    }));
    // Downloads see the branch.
    let res = call(&hub, "GET", "/acme/tiny-model/resolve/feature%2Fone/config.json", None, None)?;
    assert_eq!(res.body, br#"{"revision": "v1.0"}"#);

    assert_eq!(branch("DELETE", "feature%2Fone", Some(seed::BOB), None)?.status, 403);
    assert_eq!(branch("DELETE", "feature%2Fone", Some(seed::ALICE), None)?.status, 200);
    let res = branch("DELETE", "feature%2Fone", Some(seed::ALICE), None)?;
    assert_eq!((res.status, res.header("x-error-code")), (404, Some("RevisionNotFound")));
    assert_eq!(branch("DELETE", "main", Some(seed::ALICE), None)?.status, 403);
    let refs = ls_remote(&hub, "acme/tiny-model")?.ok_or_else(|| anyhow::format_err!("no repo"))?;
    assert_eq!(remote_ref(&refs, "refs/heads/feature/one"), None);
    assert_eq!(remote_ref(&refs, "refs/heads/main"), Some(main));
    // Private repos stay hidden.
    let res = call(&hub, "POST", "/api/models/acme/private-model/branch/x", Some(seed::BOB), None)?;
    assert_eq!((res.status, res.header("x-error-code")), (404, Some("RepoNotFound")));
    Ok(())
}

#[test]
fn tags_are_real_git_refs() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let pr = commit_of(&manifest, RepoType::Model, "acme/tiny-model", "refs/pr/1")?;
    let main = commit_of(&manifest, RepoType::Model, "acme/tiny-model", "main")?;
    let tag = |method: &str, path: &str, token: Option<&str>, body: Option<&Value>| {
        call(&hub, method, &format!("/api/models/acme/tiny-model/tag/{path}"), token, body)
    };
    let annotated = json!({"tag": "v2.0", "message": "the second release"});
    assert_eq!(tag("POST", "refs%2Fpr%2F1", None, Some(&annotated))?.status, 401);
    assert_eq!(tag("POST", "refs%2Fpr%2F1", Some(seed::BOB), Some(&annotated))?.status, 403);
    assert_eq!(tag("POST", "main", Some(seed::ALICE), Some(&json!({})))?.status, 400);
    assert_eq!(tag("POST", "main", Some(seed::ALICE), Some(&json!({"tag": "a b"})))?.status, 400);
    let nul = json!({"tag": "nul", "message": "a\u{0}b"});
    assert_eq!(tag("POST", "main", Some(seed::ALICE), Some(&nul))?.status, 400);
    let res = tag("POST", "nope", Some(seed::ALICE), Some(&json!({"tag": "x"})))?;
    assert_eq!((res.status, res.header("x-error-code")), (404, Some("RevisionNotFound")));

    assert_eq!(tag("POST", "refs%2Fpr%2F1", Some(seed::ALICE), Some(&annotated))?.status, 200);
    assert_eq!(tag("POST", "main", Some(seed::ALICE), Some(&json!({"tag": "light"})))?.status, 200);
    assert_eq!(tag("POST", "main", Some(seed::ALICE), Some(&json!({"tag": "v1.0"})))?.status, 409);
    let refs = ls_remote(&hub, "acme/tiny-model")?.ok_or_else(|| anyhow::format_err!("no repo"))?;
    let object =
        remote_ref(&refs, "refs/tags/v2.0").ok_or_else(|| anyhow::format_err!("no tag"))?;
    assert_ne!(object, pr, "an annotated tag object");
    assert_eq!(remote_ref(&refs, "refs/tags/v2.0^{}"), Some(pr.clone()));
    assert_eq!(remote_ref(&refs, "refs/tags/light"), Some(main));
    let api_refs = get_json(&hub, "/api/models/acme/tiny-model/refs", None)?;
    assert!(api_refs["tags"].as_array().is_some_and(|t| {
        t.iter().any(|r| r["name"] == "v2.0" && r["targetCommit"] == pr.as_str())
    }));
    let res = call(&hub, "GET", "/acme/tiny-model/resolve/v2.0/config.json", None, None)?;
    assert_eq!(res.body, br#"{"revision": "refs/pr/1"}"#);

    assert_eq!(tag("DELETE", "v2.0", Some(seed::BOB), None)?.status, 403);
    assert_eq!(tag("DELETE", "v2.0", Some(seed::ALICE), None)?.status, 200);
    assert_eq!(tag("DELETE", "light", Some(seed::ALICE), None)?.status, 200);
    let res = tag("DELETE", "v2.0", Some(seed::ALICE), None)?;
    assert_eq!((res.status, res.header("x-error-code")), (404, Some("RevisionNotFound")));
    let refs = ls_remote(&hub, "acme/tiny-model")?.ok_or_else(|| anyhow::format_err!("no repo"))?;
    assert_eq!(remote_ref(&refs, "refs/tags/v2.0"), None);
    assert!(remote_ref(&refs, "refs/tags/v1.0").is_some());
    Ok(())
}

#[test]
fn repo_info_carries_tags_and_redirects_renamed_repos() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    // A repository with nothing pushed yet (made by the library) has info without `sha`.
    hub.create_repo(&hub_tests::Repo::model("acme/empty"), hub_tests::RepoOptions::default())?;
    let info = get_json(&hub, "/api/models/acme/empty", None)?;
    assert_eq!(info["siblings"], json!([]));
    assert!(info.get("sha").is_none());
    let res = call(&hub, "GET", "/api/models/acme/empty/revision/main", None, None)?;
    assert_eq!((res.status, res.header("x-error-code")), (404, Some("RevisionNotFound")));
    let info = get_json(&hub, "/api/models/julien-c/EsperBERTo-small", None)?;
    assert_eq!(info["library_name"], "transformers");
    assert_eq!(info["pipeline_tag"], "fill-mask");
    assert_eq!(info["downloads"], 1000);
    assert!(info["tags"].as_array().is_some_and(|t| t.contains(&json!("pytorch"))));
    assert_eq!(
        get_json(&hub, "/api/models/acme/gated-model", Some(seed::CAROL))?["gated"],
        "manual"
    );
    let res = call(&hub, "GET", "/api/models/acme/old-tiny-model/refs?include_prs=1", None, None)?;
    assert_eq!(res.status, 307);
    assert_eq!(res.header("location"), Some("/api/models/acme/tiny-model/refs?include_prs=1"));
    let res = call(&hub, "GET", "/api/models/acme/old-tiny-model", None, None)?;
    assert_eq!(res.header("location"), Some("/api/models/acme/tiny-model"));
    Ok(())
}

/// Reads one response with a `Content-Length` body from a kept-alive connection.
fn read_one(stream: &mut std::net::TcpStream) -> anyhow::Result<(u16, Vec<u8>)> {
    use std::io::Read;
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(0) => anyhow::bail!("connection closed after {} bytes", raw.len()),
            Ok(_) => raw.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let head = String::from_utf8_lossy(&raw).to_string();
    let status: u16 = head.split(' ').nth(1).context("no status")?.parse()?;
    let len: usize = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
        .context("no content-length")?
        .1
        .trim()
        .parse()?;
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body)?;
    Ok((status, body))
}

#[test]
fn refused_writes_keep_the_connection_usable() -> anyhow::Result<()> {
    use std::io::Write;
    let (hub, _) = seeded()?;
    let authority = hub.endpoint().trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&authority)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let bob = bearer(seed::BOB);
    // Refused before anything else is looked at, with a body the handler does not need.
    let writes = [
        ("PUT", "/api/models/acme/tiny-model/settings", r#"{"private": true}"#, 403),
        ("POST", "/api/repos/create", r#"{"name": "x", "organization": "acme"}"#, 403),
        ("POST", "/api/models/acme/tiny-model/branch/b", r#"{"startingPoint": "main"}"#, 403),
        ("POST", "/api/models/acme/private-model/paths-info/main", "paths=config.json", 401),
    ];
    for (method, path, body, status) in writes {
        let auth = if status == 401 { String::new() } else { format!("Authorization: {bob}\r\n") };
        // The body comes in a separate segment, after the server has seen the head (as httpx
        // sends it): a handler that answers before reading it leaves hyper a body to drain.
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {authority}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )?;
        stream.flush()?;
        std::thread::sleep(std::time::Duration::from_millis(100));
        stream.write_all(body.as_bytes())?;
        assert_eq!(read_one(&mut stream)?.0, status, "{method} {path}");
        write!(
            stream,
            "GET /api/whoami-v2 HTTP/1.1\r\nHost: {authority}\r\nAuthorization: {bob}\r\n\r\n"
        )?;
        let (status, body) = read_one(&mut stream)?;
        assert_eq!(status, 200, "the connection still serves after {method} {path}");
        assert_eq!(serde_json::from_slice::<Value>(&body)?["name"], "bob");
    }
    Ok(())
}
