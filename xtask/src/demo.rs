//! `cargo xtask demo`: the main job, with no internet: the local Hub, seeded, and `hub-cli`
//! run against it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::util::{cargo, exec, no_args_or_help, output, project_root, say, step};

const HELP: &str = "\
cargo xtask demo

Builds hub-cli and the local Hub (testhub), starts the Hub on loopback with the seed repos
(julien-c/EsperBERTo-small, acme/tiny-model, …) under target/demo/, and runs hub-cli against it.
Needs no internet.
";

/// The running local Hub; killed when dropped.
pub(crate) struct LocalHub {
    child: Child,
    pub(crate) endpoint: String,
    pub(crate) info: serde_json::Value,
}

impl LocalHub {
    /// The process id of the Hub.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for LocalHub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `testhub` in `root` with `extra` arguments and waits for its JSON line.
pub(crate) fn start_hub(testhub: &Path, root: &Path, extra: &[&str]) -> anyhow::Result<LocalHub> {
    let mut child = Command::new(testhub)
        .arg("--root")
        .arg(root)
        .args(["--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| anyhow::format_err!("cannot start {}: {e}", testhub.display()))?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow::format_err!("testhub has no stdout"))?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let mut hub = LocalHub { child, endpoint: String::new(), info: serde_json::Value::Null };
    hub.info = serde_json::from_str(&line)
        .map_err(|e| anyhow::format_err!("testhub did not print its JSON line ({e}): {line:?}"))?;
    hub.endpoint = hub.info["endpoint"]
        .as_str()
        .ok_or_else(|| anyhow::format_err!("testhub's JSON line has no endpoint: {line}"))?
        .to_owned();
    Ok(hub)
}

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    if !no_args_or_help(args, HELP)? {
        return Ok(());
    }
    let root = project_root();
    step("build hub-cli and the local Hub");
    exec(cargo().args(["build", "-q", "-p", "hub-cli", "-p", "hub-tests", "--bins"]))?;
    let bin = root.join("target/debug");
    let demo = root.join("target/demo");
    if demo.exists() {
        std::fs::remove_dir_all(&demo)?;
    }
    std::fs::create_dir_all(demo.join("home"))?;

    step("start the local Hub (loopback only) and seed it");
    let hub = start_hub(&bin.join("testhub"), &demo.join("hub"), &["--seed"])?;
    say(&format!("Hub: {}    CDN: {}", hub.endpoint, hub.info["cdn"].as_str().unwrap_or("?")));
    if let Some(repos) = hub.info["seed"]["repos"].as_array() {
        for repo in repos {
            say(&format!(
                "  seeded {:<8} {}",
                repo["repo_type"].as_str().unwrap_or("?"),
                repo["repo_id"].as_str().unwrap_or("?")
            ));
        }
    }

    let hub_cli = |args: &[&str]| {
        let mut cmd = Command::new(bin.join("hub-cli"));
        cmd.args(args)
            .env("HF_ENDPOINT", &hub.endpoint)
            .env("HF_HOME", demo.join("home"))
            .env_remove("HF_TOKEN")
            .env_remove("HF_HUB_CACHE");
        cmd
    };

    step("hub-cli env, pointed at the local Hub");
    exec(&mut hub_cli(&["env"]))?;

    step("the seed's example file, as the Hub serves it (HEAD)");
    let url = format!("{}/julien-c/EsperBERTo-small/resolve/main/pytorch_model.bin", hub.endpoint);
    let headers = output(Command::new("curl").args(["-sI", &url]))?;
    say(headers.trim_end());
    for wanted in ["302", "x-repo-commit", "x-linked-etag", "x-linked-size", "location"] {
        if !headers.to_ascii_lowercase().contains(wanted) {
            anyhow::bail!("the resolve answer lacks {wanted}");
        }
    }

    step("hub-cli download: the seed's example file into the cache (prints only the path)");
    let cache = demo.join("home/hub");
    let first =
        output(&mut hub_cli(&["download", "julien-c/EsperBERTo-small", "pytorch_model.bin"]))?;
    let path = first.trim();
    say(path);
    let size = std::fs::metadata(path)
        .map_err(|e| anyhow::format_err!("hub-cli printed {path:?}, which is not a file: {e}"))?
        .len();
    say(&format!("  {size} bytes, verified (sha256 == etag); the cache is Python's layout:"));
    let link = std::fs::read_link(path)?;
    say(&format!("  {path} -> {}", link.display()));

    step("the same download again: served from the cache (one HEAD, no transfer)");
    let started = std::time::Instant::now();
    let second =
        output(&mut hub_cli(&["download", "julien-c/EsperBERTo-small", "pytorch_model.bin"]))?;
    say(&format!("{}  ({} ms)", second.trim(), started.elapsed().as_millis()));
    if second.trim() != path {
        anyhow::bail!("the second download gave another path: {second}");
    }

    step("offline (HF_HUB_OFFLINE=1): the whole repo, from the cache once fetched");
    let snapshot = output(&mut hub_cli(&["download", "julien-c/EsperBERTo-small"]))?;
    let offline = output(
        hub_cli(&["download", "julien-c/EsperBERTo-small", "pytorch_model.bin"])
            .env("HF_HUB_OFFLINE", "1"),
    )?;
    say(&format!("file:     {}", offline.trim()));
    let offline_snapshot =
        output(hub_cli(&["download", "julien-c/EsperBERTo-small"]).env("HF_HUB_OFFLINE", "1"))?;
    say(&format!("snapshot: {}", offline_snapshot.trim()));
    if offline.trim() != path || offline_snapshot.trim() != snapshot.trim() {
        anyhow::bail!("offline mode gave other paths");
    }

    step("hub-cli scan-cache");
    exec(hub_cli(&["scan-cache", "--dir"]).arg(&cache))?;

    step("git clone of a seeded repo over smart HTTP (git http-backend)");
    let clone: PathBuf = demo.join("EsperBERTo-small");
    exec(
        Command::new("git")
            .args(["clone", "-q"])
            .arg(format!("{}/julien-c/EsperBERTo-small", hub.endpoint))
            .arg(&clone)
            .env("GIT_LFS_SKIP_SMUDGE", "1"),
    )?;
    let files = output(Command::new("git").arg("-C").arg(&clone).args(["ls-files"]))?;
    say(files.trim_end());

    accounts(&hub, &|args| {
        let mut cmd = hub_cli(args);
        for var in ["HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_DISABLE_IMPLICIT_TOKEN"] {
            cmd.env_remove(var);
        }
        cmd.env_remove("HF_HUB_OFFLINE");
        cmd
    })?;

    step("demo finished: the local Hub and hub-cli work with no internet");
    Ok(())
}

/// Runs `cmd` with `stdin` (if any) on a pipe, echoing the command, then its stdout and stderr.
fn shown(cmd: &mut Command, stdin: Option<&str>) -> anyhow::Result<std::process::Output> {
    use std::io::Write;
    say(&format!("$ {}", crate::util::describe(cmd)));
    let mut child = cmd
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| anyhow::format_err!("cannot run {}: {e}", crate::util::describe(cmd)))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    for stream in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(stream);
        if !text.trim().is_empty() {
            say(text.trim_end());
        }
    }
    Ok(out)
}

/// Accounts and the REST API: whoami before and after `login` (a seed token on stdin), the
/// seeded models compatible with a library, and a new repo.
fn accounts(hub: &LocalHub, hub_cli: &dyn Fn(&[&str]) -> Command) -> anyhow::Result<()> {
    step("hub-cli whoami, not logged in yet: says so, exit code 1");
    let out = shown(&mut hub_cli(&["whoami"]), None)?;
    if out.status.success() || !String::from_utf8_lossy(&out.stderr).contains("Not logged in") {
        anyhow::bail!("hub-cli whoami should fail with `Not logged in` ({})", out.status);
    }
    say(&format!("({})", out.status));

    step("hub-cli login: alice's seed token on stdin (never echoed nor printed)");
    let token = hub.info["tokens"]["alice"]
        .as_str()
        .ok_or_else(|| anyhow::format_err!("testhub's JSON line has no token for alice"))?;
    let out = shown(&mut hub_cli(&["login"]), Some(&format!("{token}\n")))?;
    if !out.status.success() {
        anyhow::bail!("hub-cli login failed ({})", out.status);
    }
    if String::from_utf8_lossy(&out.stdout).contains(token)
        || String::from_utf8_lossy(&out.stderr).contains(token)
    {
        anyhow::bail!("hub-cli login printed the token");
    }

    step("hub-cli whoami: the user and their organizations");
    exec(&mut hub_cli(&["whoami"]))?;

    step("hub-cli models list --library transformers: the seeded models for a library");
    let out = shown(&mut hub_cli(&["models", "list", "--library", "transformers"]), None)?;
    if !out.status.success()
        || !String::from_utf8_lossy(&out.stdout).contains("julien-c/EsperBERTo-small")
    {
        anyhow::bail!("the listing lacks julien-c/EsperBERTo-small");
    }

    step("hub-cli repo create demo-model -y: the URL on stdout, how to clone it on stderr");
    let out = shown(&mut hub_cli(&["repo", "create", "demo-model", "-y"]), None)?;
    let url = format!("{}/alice/demo-model", hub.endpoint);
    if !out.status.success() || String::from_utf8_lossy(&out.stdout).trim() != url {
        anyhow::bail!("hub-cli repo create should print {url} ({})", out.status);
    }
    exec(&mut hub_cli(&["repo", "files", "alice/demo-model"]))?;
    Ok(())
}
