//! Pushing large files with git and git-lfs through our custom transfer agent, as a user does: a
//! clone of a TestHub repo over HTTP with a write token, `hub-cli lfs-enable-largefiles .`, a
//! commit, `git push`. The TestHub's multipart threshold is small (4 MiB, 1 MiB parts), so the
//! agent sees objects of one part, of five (the last of one byte) and of fourteen, and a push
//! takes seconds. What is checked is what a user notices: whether the push succeeds, what git
//! prints, what the Hub stores, and that what it serves back (through `hf_hub_download`, into a
//! fresh cache) is byte for byte what was pushed.
//!
//! git, git-lfs and hub-cli run with `HOME` and git's global configuration in a temp dir: the
//! developer's configuration is neither read nor touched.
// Tests read the environment they run in (clippy.toml bans it in the crates).
#![allow(clippy::disallowed_methods)]
#![cfg(unix)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hub_api::blocking::BlockingClient;
use hub_api::{DownloadOptions, HubClient};
use hub_cache::CacheDir;
use hub_tests::{Repo, RepoOptions, seed};
use hub_url::Endpoint;
use serde_json::Value;

use crate::support::{self, Setup, stderr};

const MIB: u64 = 1 << 20;
const THRESHOLD: u64 = 4 * MIB;
const CHUNK: u64 = MIB;
const REPO: &str = "alice/largefiles";
const HUB_CLI: &str = env!("CARGO_BIN_EXE_hub-cli");
/// Below the threshold, just above it (5 parts, the last of 1 byte), and 14 parts.
const SMALL: (&str, u64) = ("small.bin", 300_000);
const ABOVE: (&str, u64) = ("above.bin", THRESHOLD + 1);
const BIG: (&str, u64) = ("big.bin", 13 * MIB + MIB / 2);
const ALL: [(&str, u64); 3] = [SMALL, ABOVE, BIG];
/// A push (or clone) that takes longer has hung: it is killed and the test fails.
const GIT_TIMEOUT: Duration = Duration::from_secs(180);

/// A file committed in a clone: where it is, its size and its LFS oid (from the pointer).
#[derive(Debug)]
struct Committed {
    name: String,
    path: PathBuf,
    size: u64,
    oid: String,
}

/// A TestHub (default seed, small multipart threshold and parts) with an empty repo of alice's;
/// the setup's folder holds the clones, and `home/` with git's global configuration (empty).
fn lfs_setup() -> anyhow::Result<Setup> {
    let s = Setup::start()?;
    s.hub.set_multipart_threshold(THRESHOLD);
    s.hub.set_chunk_size(CHUNK);
    s.hub.create_repo(&Repo::model(REPO), RepoOptions::default())?;
    std::fs::create_dir(s.dir.path().join("home"))?;
    std::fs::write(s.dir.path().join("home/.gitconfig"), "")?;
    Ok(s)
}

impl Setup {
    /// `program` in `cwd` with an environment built from scratch ([`support::isolate`]), `HOME`
    /// in the setup's folder, git with an empty global configuration of its own, no credential
    /// helper and no prompt.
    fn command(&self, program: &Path, cwd: &Path) -> Command {
        let home = self.dir.path().join("home");
        let mut cmd = Command::new(program);
        support::isolate(&mut cmd, &home, self.hub.endpoint())
            .current_dir(cwd)
            .env("GIT_CONFIG_GLOBAL", home.join(".gitconfig"))
            .stdin(Stdio::null());
        cmd
    }

    fn git(&self, cwd: &Path) -> Command {
        let mut cmd = self.command(Path::new("git"), cwd);
        cmd.args(["-c", "credential.helper="]);
        cmd
    }

    /// Clones the repo over HTTP as alice (write token in the URL) into `name`, ready for LFS:
    /// `git lfs install --local`, `*.bin` tracked, lock verification off, an author.
    fn clone(&self, name: &str) -> anyhow::Result<LocalClone<'_>> {
        let host = self.hub.endpoint().trim_start_matches("http://");
        let url = format!("http://alice:{}@{host}/{REPO}", seed::ALICE);
        succeeded(run(self.git(self.dir.path()).args(["clone", "-q", &url, name]))?)
            .context("git clone")?;
        let clone = LocalClone { setup: self, dir: self.dir.path().join(name) };
        clone.git(&["lfs", "install", "--local"])?;
        clone.git(&["lfs", "track", "*.bin"])?;
        for (key, value) in [
            ("lfs.locksverify", "false"),
            ("user.name", "Alice"),
            ("user.email", "alice@example.com"),
        ] {
            clone.git(&["config", key, value])?;
        }
        Ok(clone)
    }

    /// The commit `main` points at on the hub.
    fn main_on_hub(&self) -> anyhow::Result<Option<String>> {
        self.hub.resolve_revision(&Repo::model(REPO), "main")
    }

    /// Every file is stored on the hub, and `hf_hub_download` (library, fresh cache) gets back
    /// exactly the bytes that were committed.
    fn assert_served(&self, files: &[Committed]) -> anyhow::Result<()> {
        let cache = tempfile::tempdir_in(self.dir.path())?;
        let client =
            BlockingClient::new(HubClient::builder(Endpoint::new(self.hub.endpoint())?).build()?)?;
        let options = DownloadOptions::new(CacheDir::new(cache.path().to_path_buf()));
        let repo: hub_url::Repo = REPO.parse()?;
        for file in files {
            assert_eq!(self.hub.lfs_object_size(&file.oid), Some(file.size), "{}", file.name);
            let downloaded = client.hf_hub_download(&repo, &file.name, &options)?;
            let (got, want) = (std::fs::read(&downloaded)?, std::fs::read(&file.path)?);
            assert!(got == want, "{}: the Hub serves other bytes than were pushed", file.name);
        }
        Ok(())
    }
}

/// A clone of the repo.
struct LocalClone<'a> {
    setup: &'a Setup,
    dir: PathBuf,
}

impl LocalClone<'_> {
    /// `git ARGS…` in the clone; fails unless it succeeds.
    fn git(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = succeeded(run(self.setup.git(&self.dir).args(args))?)
            .with_context(|| format!("git {}", args.join(" ")))?;
        Ok(String::from_utf8(out.stdout)?)
    }

    /// `hub-cli ARGS…` in the clone.
    fn hub_cli(&self, args: &[&str]) -> anyhow::Result<Output> {
        run(self.setup.command(Path::new(HUB_CLI), &self.dir).args(args))
    }

    /// `hub-cli lfs-enable-largefiles .`, which must succeed and say so on stderr (it has no
    /// result for stdout).
    fn enable_largefiles(&self) -> anyhow::Result<()> {
        let out = succeeded(self.hub_cli(&["lfs-enable-largefiles", "."])?)
            .context("hub-cli lfs-enable-largefiles .")?;
        let stderr = String::from_utf8(out.stderr)?;
        assert!(stderr.contains("set up for largefiles"), "{stderr:?}");
        assert!(out.stdout.is_empty(), "{:?}", String::from_utf8_lossy(&out.stdout));
        Ok(())
    }

    /// Writes `files` (name, size) with deterministic content derived from `label` (1 MiB blocks
    /// that all differ, so a part sent at the wrong place changes the object), adds and commits
    /// them; their oids are read back from the committed pointers.
    fn commit(&self, label: &str, files: &[(&str, u64)]) -> anyhow::Result<Vec<Committed>> {
        let mut committed = Vec::new();
        for &(name, size) in files {
            let path = self.dir.join(name);
            let mut content = seed::DeterministicReader::new(&format!("{label}/{name}"), size);
            std::io::copy(&mut content, &mut std::fs::File::create(&path)?)?;
            self.git(&["add", name])?;
            committed.push(Committed { name: name.to_owned(), path, size, oid: String::new() });
        }
        self.git(&["add", ".gitattributes"])?;
        self.git(&["commit", "-q", "-m", &format!("add {label}")])?;
        for file in &mut committed {
            let pointer = self.git(&["cat-file", "-p", &format!("HEAD:{}", file.name)])?;
            let oid = pointer.lines().find_map(|l| l.strip_prefix("oid sha256:"));
            file.oid = oid.with_context(|| format!("not an LFS pointer: {pointer:?}"))?.to_owned();
            assert!(pointer.contains(&format!("\nsize {}\n", file.size)), "{pointer:?}");
        }
        Ok(committed)
    }

    /// `git push` with `env` added to the environment (git-lfs passes it on to the agent).
    fn push(&self, env: &[(&str, &str)]) -> anyhow::Result<Output> {
        let mut cmd = self.setup.git(&self.dir);
        cmd.args(["push", "origin", "main"]).envs(env.iter().copied());
        run(&mut cmd)
    }

    /// A push that succeeds: `main` on the hub is then this clone's `HEAD`.
    fn push_ok(&self, env: &[(&str, &str)]) -> anyhow::Result<()> {
        let out = self.push(env)?;
        assert!(out.status.success(), "git push failed: {}", stderr(&out));
        let head = self.git(&["rev-parse", "HEAD"])?;
        assert_eq!(self.setup.main_on_hub()?.as_deref(), Some(head.trim()));
        Ok(())
    }

    /// A push that fails and leaves `main` on the hub where it was; what git printed on stderr.
    fn push_refused(&self, env: &[(&str, &str)]) -> anyhow::Result<String> {
        let before = self.setup.main_on_hub()?;
        let out = self.push(env)?;
        assert!(!out.status.success(), "the push should fail");
        assert_eq!(self.setup.main_on_hub()?, before);
        Ok(stderr(&out))
    }
}

/// Runs `cmd` to the end, with stdout and stderr captured; kills it after [`GIT_TIMEOUT`].
fn run(cmd: &mut Command) -> anyhow::Result<Output> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {cmd:?}"))?;
    let (stdout, stderr) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > GIT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{cmd:?} still ran after {GIT_TIMEOUT:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let join = |t: std::thread::JoinHandle<Vec<u8>>| t.join().unwrap_or_default();
    Ok(Output { status, stdout: join(stdout), stderr: join(stderr) })
}

/// Reads `pipe` to its end on a thread of its own.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

/// `out` if the command succeeded, else an error with its stderr.
fn succeeded(out: Output) -> anyhow::Result<Output> {
    if !out.status.success() {
        bail!("failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    Ok(out)
}

#[test]
fn large_files_push_through_the_agent_and_come_back_identical() -> anyhow::Result<()> {
    let s = lfs_setup()?;
    let clone = s.clone("c")?;
    clone.enable_largefiles()?;
    let agent = clone.git(&["config", "--get", "lfs.customtransfer.multipart.path"])?;
    assert_eq!(
        Path::new(agent.trim()).canonicalize()?,
        Path::new(HUB_CLI).canonicalize()?,
        "the agent is this hub-cli, by absolute path"
    );
    let args = clone.git(&["config", "--get", "lfs.customtransfer.multipart.args"])?;
    assert_eq!(args.trim(), "lfs-multipart-upload");
    // Repository-local: the global configuration is untouched.
    assert_eq!(std::fs::read_to_string(s.dir.path().join("home/.gitconfig"))?, "");

    let files = clone.commit("push", &ALL)?;
    clone.push_ok(&[])?;
    s.assert_served(&files)?;
    assert_eq!(s.hub.stats().auth_leaks, 0, "a token went to the CDN");
    Ok(())
}

#[test]
fn lfs_enable_largefiles_needs_a_git_work_tree() -> anyhow::Result<()> {
    let s = lfs_setup()?;
    let folder = s.dir.path().join("not-a-repo");
    std::fs::create_dir(&folder)?;
    let mut cmd = s.command(Path::new(HUB_CLI), s.dir.path());
    let out = run(cmd.arg("lfs-enable-largefiles").arg(&folder))?;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let message = stderr(&out);
    assert_eq!(message.trim_end().lines().count(), 1, "one line: {message:?}");
    assert!(message.contains("not a git repository"), "{message:?}");
    Ok(())
}

#[test]
fn without_lfs_enable_largefiles_the_hub_says_to_run_it() -> anyhow::Result<()> {
    let s = lfs_setup()?;
    let clone = s.clone("c")?;
    let files = clone.commit("not-enabled", &ALL)?;
    let message = clone.push_refused(&[])?;
    assert!(message.contains("lfs-enable-largefiles"), "{message}");
    for file in files.iter().filter(|f| f.size >= THRESHOLD) {
        assert_eq!(s.hub.lfs_object_size(&file.oid), None, "{}", file.name);
    }
    Ok(())
}

#[test]
fn a_part_refused_once_is_sent_again() -> anyhow::Result<()> {
    let s = lfs_setup()?;
    let clone = s.clone("c")?;
    clone.enable_largefiles()?;
    let files = clone.commit("retry", &ALL)?;
    s.hub.faults().fail_part(3, Some(1), 500);
    clone.push_ok(&[])?;
    assert_eq!(s.hub.faults().refused_part_puts(3), 1);
    s.assert_served(&files)?;
    Ok(())
}

#[test]
fn a_part_that_keeps_failing_fails_the_push_and_stores_nothing() -> anyhow::Result<()> {
    let s = lfs_setup()?;
    let clone = s.clone("c")?;
    clone.enable_largefiles()?;
    let files = clone.commit("failing", &[SMALL, BIG])?;
    let big = &files[1];
    s.hub.faults().fail_part(3, None, 500);
    let message = clone.push_refused(&[("HF_HUB_UPLOAD_RETRIES", "1")])?;
    assert!(message.contains(&big.oid), "git names the object: {message}");
    assert!(message.contains("part 3"), "the failing part is named: {message}");
    let words: BTreeSet<&str> = message.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    assert!(words.contains("500"), "the Hub's answer is reported: {message}");
    assert_eq!(s.hub.faults().refused_part_puts(3), 2, "one try and HF_HUB_UPLOAD_RETRIES=1");
    assert_eq!(s.hub.lfs_object_size(&big.oid), None);
    Ok(())
}

#[test]
fn the_agent_writes_only_protocol_messages_on_stdout() -> anyhow::Result<()> {
    let s = lfs_setup()?;
    let clone = s.clone("c")?;
    clone.enable_largefiles()?;
    // git-lfs runs the agent through a wrapper that keeps a copy of its stdout, one file per
    // agent process (git-lfs runs several at once).
    let logs = s.dir.path().join("agent-stdout");
    std::fs::create_dir(&logs)?;
    let wrapper = s.dir.path().join("agent-wrapper.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/bash\nset -o pipefail\n'{}' \"$@\" | tee '{}/'$$.jsonl\n",
            HUB_CLI,
            logs.display()
        ),
    )?;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))?;
    clone.git(&["config", "lfs.customtransfer.multipart.path", &wrapper.to_string_lossy()])?;

    let files = clone.commit("protocol", &ALL)?;
    clone.push_ok(&[])?;
    let sizes: BTreeMap<&str, u64> = files.iter().map(|f| (f.oid.as_str(), f.size)).collect();
    let mut completed = BTreeSet::new();
    for entry in std::fs::read_dir(&logs)? {
        let path = entry?.path();
        let log = std::fs::read_to_string(&path)?;
        completed.extend(check_protocol(&log, &sizes).with_context(|| format!("{log:?}"))?);
    }
    for file in &files {
        if file.size >= THRESHOLD {
            assert!(completed.contains(file.oid.as_str()), "{}: no complete event", file.name);
        }
    }
    s.assert_served(&files)?;
    Ok(())
}

/// Checks what one agent process wrote on stdout: `{}` (the answer to init), then only progress
/// and complete events, each a JSON line; every completed object reached exactly its size, in
/// `bytesSoFar` and in the sum of `bytesSinceLast`. Returns the completed oids.
fn check_protocol(log: &str, sizes: &BTreeMap<&str, u64>) -> anyhow::Result<Vec<String>> {
    let mut lines = log.split_terminator('\n');
    let first = lines.next().context("nothing written")?;
    let init: Value = serde_json::from_str(first).context("the init answer is not JSON")?;
    assert_eq!(init, serde_json::json!({}), "the init answer");
    // oid → (last bytesSoFar, sum of bytesSinceLast)
    let mut progress: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut completed = Vec::new();
    for line in lines {
        let msg: Value =
            serde_json::from_str(line).with_context(|| format!("not JSON: {line:?}"))?;
        let oid = msg["oid"].as_str().with_context(|| format!("no oid: {line}"))?;
        let size =
            *sizes.get(oid).with_context(|| format!("an oid that was not pushed: {line}"))?;
        let (so_far, sum) = progress.entry(oid.to_owned()).or_default();
        match msg["event"].as_str() {
            Some("progress") => {
                let now = msg["bytesSoFar"].as_u64().context("no bytesSoFar")?;
                assert!(now >= *so_far && now <= size, "bytesSoFar goes {so_far} → {now}: {line}");
                *so_far = now;
                *sum += msg["bytesSinceLast"].as_u64().context("no bytesSinceLast")?;
            }
            Some("complete") => {
                assert!(msg.get("error").is_none(), "{line}");
                assert_eq!((*so_far, *sum), (size, size), "progress of {oid} before complete");
                completed.push(oid.to_owned());
            }
            _ => bail!("not a progress or complete event: {line}"),
        }
    }
    Ok(completed)
}

#[test]
fn a_bad_setting_is_told_to_git_lfs_in_the_answer_to_init() -> anyhow::Result<()> {
    let mut child = Command::new(HUB_CLI)
        .arg("lfs-multipart-upload")
        .env("HF_HUB_UPLOAD_CONNECTIONS", "many")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin.write_all(
            b"{\"event\":\"init\",\"operation\":\"upload\",\"remote\":\"origin\",\"concurrent\":true,\"concurrenttransfers\":8}\n",
        )?;
    }
    let out = child.wait_with_output()?;
    assert_eq!(out.status.code(), Some(1));
    let answer: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(answer["error"]["code"], 32);
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("HF_HUB_UPLOAD_CONNECTIONS=\"many\""), "{message}");
    Ok(())
}
