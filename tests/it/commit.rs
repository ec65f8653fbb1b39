//! Uploads without git: `preupload` (LFS or regular, ignored, the remote oid) and the NDJSON
//! commit API (adds, LFS adds, deletions, `parentCommit`, `create_pr`, the 10 MiB rule,
//! permissions), checked by what a `git clone` and a download then see.

use std::{fs, path::Path};

use hub_tests::{CommitSpec, Repo, TestHub, seed};
use serde_json::{Value, json};

use crate::support::{Response, bearer, get, git, request, seeded, sha256_hex, with_credentials};

const MIB: usize = 1 << 20;

/// Creates alice's model `name` through the API: it starts like on the Hub, with one commit
/// holding the default `.gitattributes` (`*.bin` is LFS, `*.json` is not).
fn create_repo(hub: &TestHub, name: &str) -> anyhow::Result<String> {
    let res = request(
        "POST",
        &format!("{}/api/repos/create", hub.endpoint()),
        &[("Authorization", &bearer(seed::ALICE)), ("Content-Type", "application/json")],
        json!({"name": name}).to_string().as_bytes(),
    )?;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    Ok(format!("alice/{name}"))
}

fn b64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n =
            chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn header(summary: &str, parent: Option<&str>) -> Value {
    let mut value = json!({"summary": summary, "description": ""});
    if let Some(parent) = parent {
        value["parentCommit"] = json!(parent);
    }
    json!({"key": "header", "value": value})
}

fn file(path: &str, content: &[u8]) -> Value {
    json!({"key": "file", "value": {"content": b64(content), "path": path, "encoding": "base64"}})
}

fn lfs_file(path: &str, data: &[u8]) -> Value {
    json!({"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": sha256_hex(data), "size": data.len()}})
}

fn deleted(key: &str, path: &str) -> Value {
    json!({"key": key, "value": {"path": path}})
}

/// `POST /api/models/{repo_id}/commit/{rev}{query}` with these NDJSON lines.
fn commit(
    hub: &TestHub,
    token: Option<&str>,
    repo_id: &str,
    rev: &str,
    query: &str,
    lines: &[Value],
) -> anyhow::Result<Response> {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let auth = token.map(bearer);
    let mut headers = vec![("Content-Type", "application/x-ndjson")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    let url = format!("{}/api/models/{repo_id}/commit/{rev}{query}", hub.endpoint());
    request("POST", &url, &headers, body.as_bytes())
}

/// alice's commit on `main`.
fn alice_commit(hub: &TestHub, repo_id: &str, lines: &[Value]) -> anyhow::Result<Response> {
    commit(hub, Some(seed::ALICE), repo_id, "main", "", lines)
}

/// alice's commit on `main`, which must succeed; its oid.
fn commit_ok(hub: &TestHub, repo_id: &str, lines: &[Value]) -> anyhow::Result<String> {
    let res = alice_commit(hub, repo_id, lines)?;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    Ok(res.json()?["commitOid"].as_str().unwrap_or_default().to_owned())
}

fn preupload(hub: &TestHub, repo_id: &str, rev: &str, body: &Value) -> anyhow::Result<Response> {
    request(
        "POST",
        &format!("{}/api/models/{repo_id}/preupload/{rev}", hub.endpoint()),
        &[("Authorization", &bearer(seed::ALICE)), ("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
}

/// Uploads `data` as an LFS object the way the Python client does: batch, signed PUT, verify.
fn upload_lfs(hub: &TestHub, repo_id: &str, data: &[u8]) -> anyhow::Result<()> {
    let oid = sha256_hex(data);
    let body = json!({"operation": "upload", "transfers": ["basic", "multipart"],
        "objects": [{"oid": oid, "size": data.len()}], "hash_algo": "sha256", "ref": {"name": "main"}});
    let auth = bearer(seed::ALICE);
    let res = request(
        "POST",
        &format!("{}/{repo_id}.git/info/lfs/objects/batch", hub.endpoint()),
        &[("Authorization", &auth), ("Content-Type", "application/vnd.git-lfs+json")],
        body.to_string().as_bytes(),
    )?;
    let answer = res.json()?;
    let action = |name: &str| {
        answer["objects"][0]["actions"][name]["href"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::format_err!("no {name} action in {answer}"))
    };
    assert_eq!(request("PUT", &action("upload")?, &[], data)?.status, 200);
    let verify = json!({"oid": oid, "size": data.len()}).to_string();
    let res = request("POST", &action("verify")?, &[("Authorization", &auth)], verify.as_bytes())?;
    assert_eq!(res.status, 200);
    Ok(())
}

/// The bytes a download of `repo_id@rev:path` gets (following the CDN redirect of LFS files).
fn download(hub: &TestHub, repo_id: &str, rev: &str, path: &str) -> anyhow::Result<Vec<u8>> {
    let res = get(&format!("{}/{repo_id}/resolve/{rev}/{path}", hub.endpoint()))?;
    let res = match res.status {
        302 => get(res.header("location").ok_or_else(|| anyhow::format_err!("no location"))?)?,
        _ => res,
    };
    assert_eq!(res.status, 200, "{repo_id}@{rev}:{path}");
    Ok(res.body)
}

fn main_head(hub: &TestHub, repo_id: &str) -> anyhow::Result<String> {
    hub.resolve_revision(&Repo::model(repo_id), "main")?
        .ok_or_else(|| anyhow::format_err!("{repo_id} has no main"))
}

/// `git clone` of `repo_id` (no git-lfs: LFS files are their pointers) into `dir`.
fn clone(hub: &TestHub, repo_id: &str, dir: &Path) -> anyhow::Result<()> {
    let url = with_credentials(hub.endpoint(), "alice", seed::ALICE, repo_id);
    let out = git(Path::new("/")).args(["clone", "-q", &url]).arg(dir).output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

fn stdout(cmd: &mut std::process::Command) -> anyhow::Result<String> {
    let out = cmd.output()?;
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    Ok(String::from_utf8(out.stdout)?)
}

fn error_code(res: &Response) -> Option<&str> {
    res.header("x-error-code")
}

fn message(res: &Response) -> String {
    res.json().ok().and_then(|v| v["error"].as_str().map(str::to_owned)).unwrap_or_default()
}

#[test]
fn preupload_says_lfs_or_regular_ignored_and_the_remote_oid() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let repo_id = create_repo(&hub, "pre")?;
    let pointer_data = seed::deterministic_bytes("pre/exists.bin", 5000);
    hub.commit_files(
        &Repo::model(&repo_id),
        CommitSpec::new("main", "setup")
            .regular(".gitignore", "*.log\ncache/\n")
            .regular("exists.txt", "already here\n")
            .lfs("exists.bin", pointer_data.clone()),
    )?;
    let text = b64(b"plain text\n");
    let binary = b64(&[0x89, b'P', b'N', b'G', 0, 0, 0, 13]);
    let files = json!([
        {"path": "model.bin", "sample": text, "size": 11},
        {"path": "notes.txt", "sample": text, "size": 11},
        {"path": "big.txt", "sample": text, "size": 10 * MIB + 1},
        {"path": "limit.txt", "sample": text, "size": 10 * MIB},
        {"path": "image.png", "sample": binary, "size": 8},
        {"path": "debug.log", "sample": text, "size": 11},
        {"path": "cache/x.txt", "sample": text, "size": 11},
        {"path": "exists.txt", "sample": text, "size": 11},
        {"path": "exists.bin", "sample": binary, "size": 5000},
    ]);
    let res = preupload(&hub, &repo_id, "main", &json!({"files": files}))?;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let answer = res.json()?;
    let got: Vec<(String, String, bool, Value)> = answer["files"]
        .as_array()
        .ok_or_else(|| anyhow::format_err!("no files in {answer}"))?
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or_default().to_owned(),
                f["uploadMode"].as_str().unwrap_or_default().to_owned(),
                f["shouldIgnore"].as_bool().unwrap_or_default(),
                f["oid"].clone(),
            )
        })
        .collect();
    let blob_id = stdout(
        std::process::Command::new("sh")
            .args(["-c", "printf 'already here\\n' | git hash-object --stdin"]),
    )?;
    let expected = [
        ("model.bin", "lfs", false, Value::Null),
        ("notes.txt", "regular", false, Value::Null),
        ("big.txt", "lfs", false, Value::Null),
        ("limit.txt", "regular", false, Value::Null),
        ("image.png", "lfs", false, Value::Null),
        ("debug.log", "regular", true, Value::Null),
        ("cache/x.txt", "regular", true, Value::Null),
        ("exists.txt", "regular", false, json!(blob_id.trim())),
        ("exists.bin", "lfs", false, json!(sha256_hex(&pointer_data))),
    ];
    let expected: Vec<(String, String, bool, Value)> =
        expected.into_iter().map(|(p, m, i, o)| (p.to_owned(), m.to_owned(), i, o)).collect();
    assert_eq!(got, expected);

    // `gitIgnore` in the request replaces the repo's `.gitignore`.
    let body = json!({"files": [{"path": "debug.log", "sample": text, "size": 11},
        {"path": "notes.txt", "sample": text, "size": 11}], "gitIgnore": "*.txt\n"});
    let answer = preupload(&hub, &repo_id, "main", &body)?.json()?;
    assert_eq!(answer["files"][0]["shouldIgnore"], false);
    assert_eq!(answer["files"][1]["shouldIgnore"], true);

    let res = preupload(&hub, &repo_id, "nope", &json!({"files": []}))?;
    assert_eq!((res.status, error_code(&res)), (404, Some("RevisionNotFound")));
    let bad = json!({"files": [{"path": "../escape.txt", "sample": text, "size": 11}]});
    assert_eq!(preupload(&hub, &repo_id, "main", &bad)?.status, 400);
    assert_eq!(hub.stats().route("preupload"), 4);
    Ok(())
}

#[test]
fn a_commit_adds_replaces_and_deletes_what_clone_and_downloads_see() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let repo_id = create_repo(&hub, "commits")?;
    let first = commit_ok(
        &hub,
        &repo_id,
        &[
            header("first", None),
            file("dir/a.txt", b"a, first\n"),
            file("old.txt", b"to delete\n"),
            file("gone/x.txt", b"x\n"),
            file("gone/deeper/y.txt", b"y\n"),
        ],
    )?;
    assert_eq!(first.len(), 40);
    assert_eq!(main_head(&hub, &repo_id)?, first);

    let weights = seed::deterministic_bytes("commit/weights.bin", 300_000);
    let tokenizer = seed::deterministic_bytes("commit/tokenizer.json", 200_000);
    upload_lfs(&hub, &repo_id, &weights)?;
    upload_lfs(&hub, &repo_id, &tokenizer)?;
    let res = alice_commit(
        &hub,
        &repo_id,
        &[
            json!({"key": "header", "value": {"summary": "second", "description": "with a body", "parentCommit": first}}),
            lfs_file("weights.bin", &weights),
            lfs_file("tokenizer.json", &tokenizer),
            file("dir/a.txt", b"a, second\n"),
            file("unicode/café ü.txt", "ü\n".as_bytes()),
            deleted("deletedFile", "old.txt"),
            deleted("deletedFolder", "gone/"),
        ],
    )?;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let answer = res.json()?;
    let second = answer["commitOid"].as_str().unwrap_or_default().to_owned();
    assert_eq!(answer["commitUrl"], format!("{}/{repo_id}/commit/{second}", hub.endpoint()));
    assert!(answer.get("pullRequestUrl").is_none(), "{answer}");
    assert_eq!(main_head(&hub, &repo_id)?, second);

    assert_eq!(download(&hub, &repo_id, "main", "weights.bin")?, weights);
    assert_eq!(download(&hub, &repo_id, "main", "tokenizer.json")?, tokenizer);
    assert_eq!(download(&hub, &repo_id, "main", "dir/a.txt")?, b"a, second\n");
    assert_eq!(download(&hub, &repo_id, &first, "dir/a.txt")?, b"a, first\n");
    assert_eq!(get(&format!("{}/{repo_id}/resolve/main/old.txt", hub.endpoint()))?.status, 404);

    let work = tempfile::tempdir()?;
    let dir = work.path().join("clone");
    clone(&hub, &repo_id, &dir)?;
    assert_eq!(fs::read_to_string(dir.join("dir/a.txt"))?, "a, second\n");
    assert_eq!(fs::read_to_string(dir.join("unicode/café ü.txt"))?, "ü\n");
    let pointer = fs::read_to_string(dir.join("weights.bin"))?;
    assert_eq!(
        pointer,
        format!(
            "version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize 300000\n",
            sha256_hex(&weights)
        )
    );
    assert!(fs::read_to_string(dir.join("tokenizer.json"))?.contains(&sha256_hex(&tokenizer)));
    assert!(!dir.join("old.txt").exists() && !dir.join("gone").exists());
    // `*.bin` was tracked already; `tokenizer.json` gets its line, as on the Hub.
    let attributes = fs::read_to_string(dir.join(".gitattributes"))?;
    assert!(attributes.starts_with("*.7z filter=lfs"), "{attributes}");
    assert!(attributes.ends_with("*tfevents* filter=lfs diff=lfs merge=lfs -text\ntokenizer.json filter=lfs diff=lfs merge=lfs -text\n"), "{attributes}");
    let log = stdout(git(&dir).args(["log", "-2", "--format=%H|%P|%an|%s|%b"]))?;
    let lines: Vec<&str> = log.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], format!("{second}|{first}|alice|second|with a body"));
    assert!(lines[1].starts_with(&format!("{first}|")), "{log}");
    assert_eq!(hub.stats().route("commit"), 2);
    Ok(())
}

#[test]
fn a_stale_parent_commit_is_refused_and_concurrent_commits_do_not_both_land() -> anyhow::Result<()>
{
    let (hub, _) = seeded()?;
    let repo_id = create_repo(&hub, "race")?;
    let base = main_head(&hub, &repo_id)?;
    let next = commit_ok(&hub, &repo_id, &[header("one", Some(&base)), file("one.txt", b"1")])?;

    let res =
        alice_commit(&hub, &repo_id, &[header("stale", Some(&base)), file("stale.txt", b"s")])?;
    assert_eq!(res.status, 412);
    assert!(message(&res).contains(&base) && message(&res).contains(&next), "{}", message(&res));
    assert_eq!(main_head(&hub, &repo_id)?, next);
    // A short id of the head works, as the Python client allows.
    commit_ok(&hub, &repo_id, &[header("short", Some(&next[..7])), file("short.txt", b"s")])?;

    // Eight commits race from the same parent: one lands, the others get 412.
    let parent = main_head(&hub, &repo_id)?;
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (hub, repo_id, parent) = (&hub, &repo_id, &parent);
                scope.spawn(move || {
                    let name = format!("racer-{i}.txt");
                    alice_commit(hub, repo_id, &[header("race", Some(parent)), file(&name, b"r")])
                        .map(|r| r.status)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow::format_err!("panicked"))?)
            .collect::<anyhow::Result<Vec<u16>>>()
    })?;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 412).count(), 7, "{statuses:?}");
    let head = main_head(&hub, &repo_id)?;
    let work = tempfile::tempdir()?;
    clone(&hub, &repo_id, &work.path().join("c"))?;
    let parents = stdout(git(&work.path().join("c")).args(["log", "-1", "--format=%P"]))?;
    assert_eq!(parents.trim(), parent, "the winner {head} sits on the shared parent");
    Ok(())
}

#[test]
fn create_pr_stores_the_commit_under_a_new_pr_ref_and_leaves_the_branch() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let repo_id = create_repo(&hub, "prs")?;
    let main = commit_ok(&hub, &repo_id, &[header("base", None), file("a.txt", b"main\n")])?;
    for n in 1..=2 {
        let res = commit(
            &hub,
            Some(seed::ALICE),
            &repo_id,
            "main",
            "?create_pr=1",
            &[header(&format!("pr {n}"), None), file("a.txt", format!("pr {n}\n").as_bytes())],
        )?;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
        let answer = res.json()?;
        assert_eq!(
            answer["pullRequestUrl"],
            format!("{}/{repo_id}/discussions/{n}", hub.endpoint())
        );
        let oid = answer["commitOid"].as_str().unwrap_or_default();
        let pr = hub.resolve_revision(&Repo::model(&repo_id), &format!("refs/pr/{n}"))?;
        assert_eq!(pr.as_deref(), Some(oid));
        assert_eq!(
            download(&hub, &repo_id, &format!("refs/pr/{n}"), "a.txt")?,
            format!("pr {n}\n").as_bytes()
        );
    }
    assert_eq!(main_head(&hub, &repo_id)?, main);
    assert_eq!(download(&hub, &repo_id, "main", "a.txt")?, b"main\n");

    // More commits go into an open PR through its ref (`refs%2Fpr%2F1`, as the client quotes it).
    let res = commit(
        &hub,
        Some(seed::ALICE),
        &repo_id,
        "refs%2Fpr%2F1",
        "",
        &[header("pr 1, again", None), file("b.txt", b"b\n")],
    )?;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert!(res.json()?.get("pullRequestUrl").is_none());
    assert_eq!(download(&hub, &repo_id, "refs/pr/1", "a.txt")?, b"pr 1\n");
    assert_eq!(download(&hub, &repo_id, "refs/pr/1", "b.txt")?, b"b\n");

    let refs =
        get(&format!("{}/api/models/{repo_id}/refs?include_prs=1", hub.endpoint()))?.json()?;
    let prs: Vec<&str> = refs["pullRequests"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["ref"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(prs, ["refs/pr/1", "refs/pr/2"]);
    let branches = refs["branches"].as_array().map(Vec::len);
    assert_eq!(branches, Some(1), "{refs}");
    Ok(())
}

#[test]
fn large_regular_files_missing_objects_and_bad_operations_are_refused() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let repo_id = create_repo(&hub, "rules")?;
    let head = main_head(&hub, &repo_id)?;
    let alice = Some(seed::ALICE);

    let big = vec![b'x'; 10 * MIB + 1];
    let res = alice_commit(&hub, &repo_id, &[header("big", None), file("big.txt", &big)])?;
    assert_eq!(res.status, 400);
    assert!(
        message(&res)
            .starts_with("Your push was rejected because it contains files larger than 10 MiB.")
            && message(&res).contains("- big.txt (ref: refs/heads/main)"),
        "{}",
        message(&res)
    );
    let missing = seed::deterministic_bytes("never uploaded", 100);
    let cases: Vec<(Vec<Value>, u16, Option<&str>, &str)> = vec![
        (vec![header("lfs", None), lfs_file("w.bin", &missing)], 400, None, "was never uploaded"),
        (
            vec![header("del", None), deleted("deletedFile", "nope.txt")],
            404,
            Some("EntryNotFound"),
            "A file with this name doesn't exist",
        ),
        (
            vec![header("del", None), deleted("deletedFile", ".gitattributes/")],
            400,
            None,
            "Invalid path",
        ),
        (
            vec![header("del", None), deleted("deletedFolder", "nope/")],
            404,
            Some("EntryNotFound"),
            "A folder with this name doesn't exist",
        ),
        (vec![header("dot", None), file("a/../../x.txt", b"x")], 400, None, "Invalid path"),
        (vec![header("git", None), file(".git/config", b"x")], 400, None, "Invalid path"),
        (vec![header("nest", None), file(".gitattributes/x", b"x")], 400, None, "is a file"),
        (vec![file("a.txt", b"x")], 400, None, "no header"),
        (vec![header("", None), file("a.txt", b"x")], 400, None, "summary"),
        (
            vec![header("k", None), json!({"key": "copyFile", "value": {}})],
            400,
            None,
            "unknown key",
        ),
    ];
    for (lines, status, code, text) in cases {
        let res = alice_commit(&hub, &repo_id, &lines)?;
        assert_eq!((res.status, error_code(&res)), (status, code), "{lines:?}: {}", message(&res));
        assert!(message(&res).contains(text), "{lines:?}: {}", message(&res));
    }
    let res = commit(&hub, alice, &repo_id, "nope", "", &[header("x", None)])?;
    assert_eq!((res.status, error_code(&res)), (404, Some("RevisionNotFound")));
    hub.create_tag(&Repo::model(&repo_id), "v1", "main")?;
    let res = commit(&hub, alice, &repo_id, "v1", "", &[header("x", None)])?;
    assert_eq!(res.status, 400);
    assert!(message(&res).contains("not a branch"), "{}", message(&res));
    assert_eq!(main_head(&hub, &repo_id)?, head, "nothing refused was committed");

    // Exactly 10 MiB is fine.
    let limit = vec![b'y'; 10 * MIB];
    commit_ok(&hub, &repo_id, &[header("limit", None), file("limit.txt", &limit)])?;
    assert_eq!(download(&hub, &repo_id, "main", "limit.txt")?.len(), 10 * MIB);
    Ok(())
}

#[test]
fn committing_needs_a_write_token_of_the_owner() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let head = main_head(&hub, "acme/tiny-model")?;
    let lines = [header("intruder", None), file("x.txt", b"x")];
    for (token, status) in [(None, 401), (Some(seed::ALICE_READ), 403), (Some(seed::BOB), 403)] {
        let res = commit(&hub, token, "acme/tiny-model", "main", "", &lines)?;
        assert_eq!(res.status, status, "{token:?}");
        let res = commit(&hub, token, "acme/tiny-model", "main", "?create_pr=1", &lines)?;
        assert_eq!(res.status, status, "{token:?} with create_pr");
    }
    let res = commit(&hub, Some(seed::BOB), "acme/private-model", "main", "", &lines)?;
    assert_eq!((res.status, error_code(&res)), (404, Some("RepoNotFound")));
    assert_eq!(main_head(&hub, "acme/tiny-model")?, head);
    assert_eq!(hub.resolve_revision(&Repo::model("acme/tiny-model"), "refs/pr/2")?, None);

    // alice is a member of acme: she may.
    let res = commit(&hub, Some(seed::ALICE), "acme/tiny-model", "main", "", &lines)?;
    assert_eq!(res.status, 200);
    // The org's seeded refs/pr/1 exists: the next PR is 2.
    let res = commit(&hub, Some(seed::ALICE), "acme/tiny-model", "main", "?create_pr=1", &lines)?;
    assert!(res.json()?["pullRequestUrl"].as_str().is_some_and(|u| u.ends_with("/discussions/2")));
    Ok(())
}

#[test]
fn validate_yaml_accepts_any_readme() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let body = json!({"content": "---\nlicense: mit\n---\n# Hi\n", "repoType": "model"});
    let res = request(
        "POST",
        &format!("{}/api/validate-yaml", hub.endpoint()),
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )?;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()?, json!({"errors": [], "warnings": []}));
    assert_eq!(hub.stats().route("validate-yaml"), 1);
    Ok(())
}
