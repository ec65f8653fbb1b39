//! `hub-cli upload` as a user runs it: the built binary against a TestHub, publishing a folder
//! or a file over HTTP, then reading it back with `hub-cli download` and `git clone`.
#![cfg(unix)]

use std::path::PathBuf;
use std::process::{Command, Output};

use anyhow::{Context, bail};
use hub_tests::seed;

use crate::support::Setup;

const MIB: usize = 1 << 20;

/// A seeded hub with small parts, so the weights below go multipart.
fn small_parts() -> anyhow::Result<Setup> {
    let s = Setup::start()?;
    s.hub.set_multipart_threshold(2 * MIB as u64);
    s.hub.set_chunk_size(MIB as u64 / 2);
    Ok(s)
}

impl Setup {
    /// `hub-cli ARGS…` as alice, in the setup's folder.
    fn alice(&self, args: &[&str]) -> anyhow::Result<Output> {
        self.cli(args)
            .env("HF_TOKEN", seed::ALICE)
            .current_dir(self.home())
            .output()
            .context("running hub-cli")
    }

    /// [`Setup::alice`], which must succeed: its stdout, trimmed.
    fn alice_ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.alice(args)?;
        if !out.status.success() {
            bail!("hub-cli {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8(out.stdout)?.trim_end().to_owned())
    }

    /// Writes `data` at `name` in the setup's folder.
    fn write_file(&self, name: &str, data: &[u8]) -> anyhow::Result<PathBuf> {
        let path = self.home().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, data)?;
        Ok(path)
    }

    /// The file downloaded by `hub-cli download` at `revision`.
    fn read_back(&self, repo: &str, file: &str, revision: &str) -> anyhow::Result<Vec<u8>> {
        let path = self.alice_ok(&["download", repo, file, "--revision", revision, "--quiet"])?;
        Ok(std::fs::read(path)?)
    }
}

#[test]
fn a_folder_is_published_in_one_commit_and_reads_back_everywhere() -> anyhow::Result<()> {
    let s = small_parts()?;
    let weights = seed::deterministic_bytes("weights", 5 * MIB + 3);
    s.write_file("model/model.safetensors", &weights)?;
    s.write_file("model/config.json", b"{\"hidden_size\": 8}\n")?;
    s.write_file("model/README.md", b"---\nlibrary_name: demo\n---\n# A model\n")?;
    s.write_file("model/logs/train.log", b"loss 0.1\n")?;
    s.write_file("model/.git/HEAD", b"ref: refs/heads/main\n")?;

    // The repo does not exist yet: upload creates it.
    let url = s.alice_ok(&["upload", "alice/fresh", "model", "--exclude", "logs/*"])?;
    assert!(url.starts_with(&format!("{}/alice/fresh/commit/", s.hub.endpoint())), "{url}");
    assert_eq!(s.read_back("alice/fresh", "model.safetensors", "main")?, weights);
    assert_eq!(s.read_back("alice/fresh", "config.json", "main")?, b"{\"hidden_size\": 8}\n");

    // A git clone shows the same commit and files, the weights as an LFS pointer.
    let clone = s.dir.path().join("clone");
    let out = Command::new("git")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_LFS_SKIP_SMUDGE", "1")
        .args(["clone", "-q", &format!("{}/alice/fresh", s.hub.endpoint())])
        .arg(&clone)
        .output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let head = Command::new("git").arg("-C").arg(&clone).args(["rev-parse", "HEAD"]).output()?;
    assert!(url.ends_with(String::from_utf8_lossy(&head.stdout).trim()), "{url}");
    let pointer = std::fs::read_to_string(clone.join("model.safetensors"))?;
    assert!(pointer.starts_with("version https://git-lfs.github.com/spec/v1"), "{pointer}");
    assert!(!clone.join("logs").exists(), "--exclude");
    let listed = s.alice_ok(&["repo", "files", "alice/fresh"])?;
    assert!(!listed.contains(".git/HEAD") && !listed.contains("train.log"), "{listed}");

    // Again, unchanged: no new commit, and the same URL.
    let again = s.alice(&["upload", "alice/fresh", "model", "--exclude", "logs/*"])?;
    assert!(again.status.success());
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim_end(), url);
    assert!(String::from_utf8_lossy(&again.stderr).contains("no commit was made"));
    Ok(())
}

#[test]
fn a_file_a_pull_request_and_deletions() -> anyhow::Result<()> {
    let s = small_parts()?;
    s.write_file("dir/a.txt", b"a\n")?;
    s.write_file("dir/b.txt", b"b\n")?;
    s.alice_ok(&["upload", "alice/pr-demo", "dir", "--commit-message", "two files"])?;

    // One file, into a folder of the repo, as a pull request: main is untouched.
    let card = s.write_file("card.md", b"proposed card\n")?;
    let pr = s.alice_ok(&[
        "upload",
        "alice/pr-demo",
        card.to_str().context("utf-8")?,
        "docs/card.md",
        "--create-pr",
    ])?;
    assert!(pr.ends_with("/discussions/1"), "{pr}");
    assert_eq!(s.read_back("alice/pr-demo", "docs/card.md", "refs/pr/1")?, b"proposed card\n");
    let missing = s.alice(&["download", "alice/pr-demo", "docs/card.md", "--quiet"])?;
    assert!(!missing.status.success());

    // --delete removes what the folder no longer has.
    std::fs::remove_file(s.dir.path().join("dir/b.txt"))?;
    s.alice_ok(&["upload", "alice/pr-demo", "dir", "--delete", "*.txt"])?;
    let files = s.alice_ok(&["repo", "files", "alice/pr-demo"])?;
    assert!(files.contains("a.txt") && !files.contains("b.txt"), "{files}");
    Ok(())
}

#[test]
fn mistakes_are_one_line_errors() -> anyhow::Result<()> {
    let s = small_parts()?;
    let file = s.write_file("one.txt", b"1\n")?;
    let file = file.to_str().context("utf-8")?;
    for (args, expected) in [
        (vec!["upload", "alice/x", "nowhere"], "nowhere"),
        (vec!["upload", "alice/x", file, "../escape.txt"], ".."),
        (vec!["upload", "alice/x", file, "--include", "*.txt"], "apply to folders"),
        (vec!["upload", "bob/not-yours", file], "forbidden"),
    ] {
        let out = s.alice(&args)?;
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!err.contains(seed::ALICE), "never the token");
    }
    Ok(())
}

#[test]
fn upload_takes_hf_defaults_and_checks_before_creating_anything() -> anyhow::Result<()> {
    let s = small_parts()?;
    // No LOCAL_PATH: the folder named as the repo, as `hf upload my-model`; never the whole
    // current folder.
    s.write_file("my-model/config.json", b"{}\n")?;
    s.write_file("secret.txt", b"not for the Hub\n")?;
    s.alice_ok(&["upload", "my-model"])?;
    let files = s.alice_ok(&["repos", "files", "alice/my-model"])?;
    assert_eq!(files, ".gitattributes\nconfig.json", "only ./my-model went up");
    let out = s.alice(&["upload", "elsewhere"])?;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: 'elsewhere' is not a local file or folder: say what to upload, as in \
         `hub-cli upload elsewhere LOCAL_PATH` (`.` for the current folder)\n"
    );

    // Mistakes found on this side create no repo.
    let file = s.write_file("one.txt", b"1\n")?;
    let file = file.to_str().context("utf-8")?;
    for args in [
        vec!["upload", "nothing-1", file, "--include", "*.txt"],
        vec!["upload", "nothing-2", file, "--revision", "bad..name"],
        vec!["upload", "nothing-3", file, "../escape.txt"],
    ] {
        assert_eq!(s.alice(&args)?.status.code(), Some(1), "{args:?}");
    }
    for name in ["alice/nothing-1", "alice/nothing-2", "alice/nothing-3"] {
        let out = s.alice(&["repos", "info", name])?;
        assert!(!out.status.success(), "{name} was created by a failed upload");
    }

    // To an open pull request: its ref, not a new branch named like it.
    let pr = s.alice_ok(&["upload", "my-model", file, "--create-pr"])?;
    assert!(pr.ends_with("/discussions/1"), "{pr}");
    s.write_file("two.txt", b"2\n")?;
    s.alice_ok(&["upload", "my-model", "two.txt", "--revision", "refs/pr/1"])?;
    let files = s.alice_ok(&["repos", "files", "alice/my-model", "--revision", "refs/pr/1"])?;
    assert!(files.contains("one.txt") && files.contains("two.txt"), "{files}");
    let main = s.alice_ok(&["repos", "files", "alice/my-model"])?;
    assert!(!main.contains("two.txt"), "{main}");

    // Deleting a tag asks, as deleting a repo does; -y skips the question.
    s.alice_ok(&["repos", "tag", "create", "my-model", "v1"])?;
    let out = s.alice(&["repos", "tag", "delete", "my-model", "v1"])?;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("You are about to delete tag v1 of alice/my-model.\n"), "{err}");
    assert!(s.alice_ok(&["repos", "tag", "list", "alice/my-model"])?.contains("v1"));
    s.alice_ok(&["repos", "tag", "delete", "my-model", "v1", "-y"])?;
    assert!(!s.alice_ok(&["repos", "tag", "list", "alice/my-model"])?.contains("v1"));
    Ok(())
}
