//! git smart HTTP: clone, push with a token, private repos.

use std::fs;

use hub_tests::{RepoType, seed};

use crate::support::{get, git, seeded, with_credentials};

#[test]
fn clone_shows_the_seeded_files() -> anyhow::Result<()> {
    let (hub, manifest) = seeded()?;
    let work = tempfile::tempdir()?;
    let out = git(work.path())
        .args(["clone", "-q", &format!("{}/acme/tiny-model", hub.endpoint()), "tiny"])
        .output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = work.path().join("tiny");
    assert_eq!(fs::read_to_string(dir.join("config.json"))?, r#"{"revision": "main"}"#);
    assert_eq!(fs::read_to_string(dir.join("unicode/café ü ñ.txt"))?, "unicode path: café ü ñ\n");
    let repo = manifest
        .repo(RepoType::Model, "acme/tiny-model")
        .ok_or_else(|| anyhow::format_err!("no repo"))?;
    let pointer = fs::read_to_string(dir.join("weights.bin"))?;
    assert!(
        pointer.contains(&format!(
            "oid sha256:{}",
            repo.revisions["main"].files["weights.bin"].sha256
        ))
    );
    let head = git(&dir).args(["rev-parse", "HEAD"]).output()?;
    assert_eq!(String::from_utf8_lossy(&head.stdout).trim(), repo.revisions["main"].commit);
    let tags = git(&dir).args(["tag"]).output()?;
    assert_eq!(String::from_utf8_lossy(&tags.stdout).trim(), "v1.0");

    // Datasets too, with the `.git` suffix.
    let out = git(work.path())
        .args(["clone", "-q", &format!("{}/datasets/acme/tiny-dataset.git", hub.endpoint()), "ds"])
        .output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(work.path().join("ds/nested/deep/file.txt").exists());
    Ok(())
}

#[test]
fn push_with_a_write_token_lands() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let work = tempfile::tempdir()?;
    let out = git(work.path())
        .args(["clone", "-q", &format!("{}/acme/tiny-model", hub.endpoint()), "c"])
        .output()?;
    assert!(out.status.success());
    let dir = work.path().join("c");
    fs::write(dir.join("pushed.txt"), "pushed over http\n")?;
    assert!(git(&dir).args(["add", "pushed.txt"]).status()?.success());
    assert!(git(&dir).args(["commit", "-q", "-m", "push test"]).status()?.success());

    // Without credentials, with a read token, with another user's write token: refused.
    for remote in [
        format!("{}/acme/tiny-model", hub.endpoint()),
        with_credentials(hub.endpoint(), "alice", seed::ALICE_READ, "acme/tiny-model"),
        with_credentials(hub.endpoint(), "bob", seed::BOB, "acme/tiny-model"),
    ] {
        let out = git(&dir).args(["push", "-q", &remote, "HEAD:main"]).output()?;
        assert!(!out.status.success(), "push to {remote} should fail");
    }
    let remote = with_credentials(hub.endpoint(), "alice", seed::ALICE, "acme/tiny-model");
    let out = git(&dir).args(["push", "-q", &remote, "HEAD:main"]).output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let head = String::from_utf8(git(&dir).args(["rev-parse", "HEAD"]).output()?.stdout)?;
    let res = get(&format!("{}/acme/tiny-model/resolve/main/pushed.txt", hub.endpoint()))?;
    assert_eq!(res.status, 200);
    assert_eq!(res.body, b"pushed over http\n");
    assert_eq!(res.header("x-repo-commit"), Some(head.trim()));
    assert!(hub.stats().route("git-receive-pack") >= 1);
    Ok(())
}

#[test]
fn private_clone_needs_a_token() -> anyhow::Result<()> {
    let (hub, _) = seeded()?;
    let work = tempfile::tempdir()?;
    let out = git(work.path())
        .args(["clone", "-q", &format!("{}/acme/private-model", hub.endpoint()), "a"])
        .output()?;
    assert!(!out.status.success());
    assert!(!work.path().join("a/config.json").exists());
    let bob = with_credentials(hub.endpoint(), "bob", seed::BOB, "acme/private-model");
    assert!(!git(work.path()).args(["clone", "-q", &bob, "b"]).output()?.status.success());
    let alice = with_credentials(hub.endpoint(), "alice", seed::ALICE_READ, "acme/private-model");
    let out = git(work.path()).args(["clone", "-q", &alice, "c"]).output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(work.path().join("c/config.json").exists());
    Ok(())
}
