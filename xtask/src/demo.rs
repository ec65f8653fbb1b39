//! `cargo xtask demo`: the main job, with no internet: the local Hub, seeded, `hub-cli` run
//! against it, and the library examples of `examples/`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::tools;
use crate::util::{
    cargo, command, exec, exec_hiding, output, project_root, say, sha256_file, step,
    write_varied_file,
};

const HELP: &str = "\
cargo xtask demo [--hide-tools]

Builds hub-cli and the local Hub (testhub), starts the Hub on loopback with the seed repos
(julien-c/EsperBERTo-small, acme/tiny-model, …) under target/demo/, and runs hub-cli against it,
then publishes a model with git, git-lfs and hub-cli's multipart agent, and another over HTTP
with hub-cli upload (no git). Last, it runs the library examples (examples/, package
hub-examples: download, list_models, publish, blocking) against the same Hub. Needs no
internet. First makes sure git, git-lfs, curl and openssl are present: Debian's packages,
installed with apt-get when missing (through sudo -n when not root); when that cannot be done,
it fails with the command to run by hand. git runs with a configuration of its own under
target/demo/: yours is neither read nor changed.

Options:
  --hide-tools   run `cargo xtask demo` with git-lfs, curl and openssl hidden from PATH,
                 as `cargo xtask test` does: it must pass, its tools step linking them back
";

/// The demo Hub asks for multipart uploads from this size, in parts of `DEMO_CHUNK_SIZE` (the
/// real Hub: from 5 GB), so that a small file shows the multipart agent at work.
const DEMO_MULTIPART_THRESHOLD: u64 = 4 << 20;
const DEMO_CHUNK_SIZE: u64 = 1 << 20;
/// The published weights: 6.5 MiB, 7 parts.
const DEMO_WEIGHTS_SIZE: u64 = 13 << 19;

/// The running local Hub; killed when dropped.
pub(crate) struct LocalHub {
    child: Child,
    pub(crate) endpoint: String,
    pub(crate) info: serde_json::Value,
}

impl LocalHub {
    /// The JSON answer to `GET {endpoint}{path}`, which must be a success.
    pub(crate) fn get_json(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let body = output(
            command("curl")
                .args(["-sSf", "--noproxy", "*"])
                .arg(format!("{}{path}", self.endpoint)),
        )?;
        serde_json::from_str(&body)
            .map_err(|e| anyhow::format_err!("GET {path} answered no JSON ({e}): {body}"))
    }

    /// The requests the Hub and the storage host have received so far, by route (from
    /// `GET /_testhub/stats`).
    pub(crate) fn requests(&self) -> anyhow::Result<BTreeMap<String, u64>> {
        let stats = self.get_json("/_testhub/stats")?;
        let requests = stats["requests"]
            .as_object()
            .ok_or_else(|| anyhow::format_err!("the Hub's stats have no requests: {stats}"))?;
        Ok(requests.iter().map(|(route, n)| (route.clone(), n.as_u64().unwrap_or(0))).collect())
    }

    /// The requests the Hub has logged so far (`GET /_testhub/stats`).
    fn log(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        let stats = self.get_json("/_testhub/stats")?;
        stats["log"]
            .as_array()
            .cloned()
            .ok_or_else(|| anyhow::format_err!("the Hub's stats have no log: {stats}"))
    }

    /// How many requests the Hub has logged so far.
    fn log_len(&self) -> anyhow::Result<usize> {
        Ok(self.log()?.len())
    }

    /// The user agents of the requests logged after the first `skip`, the CDN's included.
    fn user_agents_since(&self, skip: usize) -> anyhow::Result<Vec<String>> {
        Ok(self
            .log()?
            .iter()
            .skip(skip)
            .map(|entry| entry["user_agent"].as_str().unwrap_or_default().to_owned())
            .collect())
    }

    /// Sets the page size of the paginated routes (`None`: the Hub's), through
    /// `POST /_testhub/config`.
    fn set_page_size(&self, size: Option<usize>) -> anyhow::Result<()> {
        let body = serde_json::json!({ "page_size": size }).to_string();
        output(
            command("curl")
                .args(["-sSf", "--noproxy", "*", "-X", "POST", "-d", &body])
                .arg(format!("{}/_testhub/config", self.endpoint)),
        )?;
        Ok(())
    }
}

impl Drop for LocalHub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The requests by route between two readings of [`LocalHub::requests`] (routes with none
/// left out).
pub(crate) fn requests_since(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(route, n)| {
            (route.clone(), n.saturating_sub(before.get(route).copied().unwrap_or(0)))
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Starts `testhub` in `root` with `extra` arguments and waits for its JSON line.
pub(crate) fn start_hub(testhub: &Path, root: &Path, extra: &[&str]) -> anyhow::Result<LocalHub> {
    let mut child = command(testhub)
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
    let mut hide_tools = false;
    for arg in args {
        match arg.as_str() {
            "-h" | "--help" => {
                say(HELP);
                return Ok(());
            }
            "--hide-tools" => hide_tools = true,
            other => anyhow::bail!("unexpected argument '{other}'\n\n{HELP}"),
        }
    }
    tools::ensure(&[])?;
    if hide_tools {
        step("the demo with git-lfs, curl and openssl hidden from PATH");
        return tools::demo_with_tools_hidden();
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
    let hub = start_hub(
        &bin.join("testhub"),
        &demo.join("hub"),
        &[
            "--seed",
            "--multipart-threshold",
            &DEMO_MULTIPART_THRESHOLD.to_string(),
            "--chunk-size",
            &DEMO_CHUNK_SIZE.to_string(),
        ],
    )?;
    say(&format!("Hub: {}    CDN: {}", hub.endpoint, hub.info["cdn"].as_str().unwrap_or("?")));
    say(&format!(
        "  LFS uploads from {} MiB go in parts of {} MiB (the real Hub: from 5 GB)",
        DEMO_MULTIPART_THRESHOLD >> 20,
        DEMO_CHUNK_SIZE >> 20
    ));
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
        let mut cmd = command(bin.join("hub-cli"));
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
    let headers = output(command("curl").args(["-sI", &url]))?;
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

    step("hub-cli cache ls");
    exec(hub_cli(&["cache", "ls", "--cache-dir"]).arg(&cache))?;
    step("hub-cli cache verify julien-c/EsperBERTo-small: every cached file against its hash");
    exec(hub_cli(&["cache", "verify", "julien-c/EsperBERTo-small", "--cache-dir"]).arg(&cache))?;

    step("git clone of a seeded repo over smart HTTP (git http-backend)");
    let git_home = demo.join("git-home");
    std::fs::create_dir_all(&git_home)?;
    let clone: PathBuf = demo.join("EsperBERTo-small");
    exec(
        isolated_git(&git_home)
            .args(["clone", "-q"])
            .arg(format!("{}/julien-c/EsperBERTo-small", hub.endpoint))
            .arg(&clone)
            .env("GIT_LFS_SKIP_SMUDGE", "1"),
    )?;
    let files = output(isolated_git(&git_home).arg("-C").arg(&clone).args(["ls-files"]))?;
    say(files.trim_end());

    let account_cli = |args: &[&str]| {
        let mut cmd = hub_cli(args);
        for var in ["HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_DISABLE_IMPLICIT_TOKEN"] {
            cmd.env_remove(var);
        }
        cmd.env_remove("HF_HUB_OFFLINE");
        cmd
    };
    accounts(&hub, &account_cli)?;
    publish(&hub, &demo, &git_home, &account_cli)?;
    publish_http(&hub, &demo, &account_cli)?;
    examples(&hub, &demo, &account_cli)?;

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

/// Accounts and the REST API: `auth whoami` before and after `auth login` (a seed token on
/// stdin), the seeded models compatible with a library, and a new repo named bare.
fn accounts(hub: &LocalHub, hub_cli: &dyn Fn(&[&str]) -> Command) -> anyhow::Result<()> {
    step("hub-cli auth whoami, not logged in yet: says so, exit code 1");
    let out = shown(&mut hub_cli(&["auth", "whoami"]), None)?;
    if out.status.success() || !String::from_utf8_lossy(&out.stderr).contains("not logged in") {
        anyhow::bail!("hub-cli auth whoami should fail with `not logged in` ({})", out.status);
    }
    say(&format!("({})", out.status));

    step("hub-cli auth login: alice's seed token on stdin (never echoed nor printed)");
    let token = hub.info["tokens"]["alice"]
        .as_str()
        .ok_or_else(|| anyhow::format_err!("testhub's JSON line has no token for alice"))?;
    let out = shown(&mut hub_cli(&["auth", "login"]), Some(&format!("{token}\n")))?;
    if !out.status.success() {
        anyhow::bail!("hub-cli auth login failed ({})", out.status);
    }
    if String::from_utf8_lossy(&out.stdout).contains(token)
        || String::from_utf8_lossy(&out.stderr).contains(token)
    {
        anyhow::bail!("hub-cli login printed the token");
    }

    step("hub-cli auth whoami: the user and their organizations");
    exec(&mut hub_cli(&["auth", "whoami"]))?;
    step("hub-cli auth list: the stored tokens by name, * the active one");
    exec(&mut hub_cli(&["auth", "list"]))?;

    step("hub-cli models ls --library transformers: the seeded models for a library");
    let out = shown(&mut hub_cli(&["models", "ls", "--library", "transformers"]), None)?;
    if !out.status.success()
        || !String::from_utf8_lossy(&out.stdout).contains("julien-c/EsperBERTo-small")
    {
        anyhow::bail!("the listing lacks julien-c/EsperBERTo-small");
    }

    step("hub-cli repos create demo-model: a bare name is alice's; the URL on stdout");
    let out = shown(&mut hub_cli(&["repos", "create", "demo-model"]), None)?;
    let url = format!("{}/alice/demo-model", hub.endpoint);
    if !out.status.success() || String::from_utf8_lossy(&out.stdout).trim() != url {
        anyhow::bail!("hub-cli repos create should print {url} ({})", out.status);
    }
    exec(&mut hub_cli(&["repos", "files", "alice/demo-model"]))?;
    Ok(())
}

/// git with a configuration of its own under `home`.
fn isolated_git(home: &Path) -> Command {
    let mut cmd = command("git");
    own_git_config(&mut cmd, home);
    cmd
}

/// Gives `cmd` and the git it runs a configuration of their own under `home` (`HOME`,
/// `GIT_CONFIG_GLOBAL`, no system file): the user's is neither read nor changed, and git never
/// prompts.
fn own_git_config<'a>(cmd: &'a mut Command, home: &Path) -> &'a mut Command {
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_CONFIG_GLOBAL", home.join(".gitconfig"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
}

/// Publishing with git, as on the real Hub: a clone of the repo made above, git-lfs, the
/// multipart agent for weights above the Hub's threshold, a push, and the weights downloaded
/// back, byte for byte.
fn publish(
    hub: &LocalHub,
    demo: &Path,
    git_home: &Path,
    hub_cli: &dyn Fn(&[&str]) -> Command,
) -> anyhow::Result<()> {
    let clone = demo.join("demo-model");
    let git = || {
        let mut cmd = isolated_git(git_home);
        cmd.current_dir(&clone);
        cmd
    };
    step("publish with git: clone alice/demo-model with alice's token (hidden here)");
    let token = hub.info["tokens"]["alice"]
        .as_str()
        .ok_or_else(|| anyhow::format_err!("testhub's JSON line has no token for alice"))?;
    let url = format!(
        "{}/alice/demo-model",
        hub.endpoint.replacen("://", &format!("://alice:{token}@"), 1)
    );
    exec_hiding(isolated_git(git_home).args(["clone", "-q"]).arg(&url).arg(&clone), Some(token))?;
    exec(git().args(["config", "user.name", "Alice"]))?;
    exec(git().args(["config", "user.email", "alice@example.invalid"]))?;
    exec(git().args(["lfs", "install", "--local"]))?;
    exec(git().args(["lfs", "track", "*.bin"]))?;
    exec(git().args(["config", "lfs.locksverify", "false"]))?;

    step(&format!(
        "a model card, config.json and {:.1} MiB of weights: above the Hub's multipart threshold",
        DEMO_WEIGHTS_SIZE as f64 / f64::from(1 << 20)
    ));
    std::fs::write(
        clone.join("README.md"),
        "---\nlicense: apache-2.0\ntags:\n- demo\n---\n\n# demo-model\n\nPublished by \
         `cargo xtask demo` with git, git-lfs and `hub-cli lfs-multipart-upload`.\n",
    )?;
    std::fs::write(clone.join("config.json"), "{\"model_type\": \"demo\", \"hidden_size\": 64}\n")?;
    let weights = clone.join("pytorch_model.bin");
    write_varied_file(&weights, DEMO_WEIGHTS_SIZE, 3)?;
    exec(git().args(["add", "README.md", "config.json", "pytorch_model.bin", ".gitattributes"]))?;

    step(
        "hub-cli lfs-enable-largefiles .: git-lfs hands the objects the Hub wants in parts to hub-cli",
    );
    exec(
        own_git_config(&mut hub_cli(&["lfs-enable-largefiles", "."]), git_home).current_dir(&clone),
    )?;

    step("git commit and git push: the weights go up through hub-cli lfs-multipart-upload");
    exec(git().args(["commit", "-q", "-m", "Add the model"]))?;
    exec(git().args(["lfs", "ls-files", "--size"]))?;
    let before = hub.requests()?;
    exec(git().args(["push", "origin", "main"]))?;
    check_multipart(&requests_since(&before, &hub.requests()?))?;

    step("hub-cli download alice/demo-model pytorch_model.bin: the same bytes come back");
    same_weights(hub_cli, "alice/demo-model", &weights)?;
    say("the same sha256: published with git, downloaded with hub-cli");
    Ok(())
}

/// Publishing over HTTP, without git: `hub-cli upload` of a model folder to a new repo in one
/// commit (the weights in parts), the weights downloaded back, and the same upload again,
/// which sends nothing.
fn publish_http(
    hub: &LocalHub,
    demo: &Path,
    hub_cli: &dyn Fn(&[&str]) -> Command,
) -> anyhow::Result<()> {
    const REPO_ID: &str = "alice/http-model";
    const REPO_NAME: &str = "http-model";
    step(&format!(
        "publish over HTTP (no git): a model card, config.json and {:.1} MiB of weights",
        DEMO_WEIGHTS_SIZE as f64 / f64::from(1 << 20)
    ));
    let folder = demo.join("http-model");
    std::fs::create_dir_all(&folder)?;
    std::fs::write(
        folder.join("README.md"),
        "---\nlicense: apache-2.0\nlibrary_name: transformers\ntags:\n- demo\n---\n\n# http-model\n\n\
         Published by `cargo xtask demo` with `hub-cli upload`, over HTTP: no git.\n",
    )?;
    std::fs::write(
        folder.join("config.json"),
        "{\"model_type\": \"demo\", \"hidden_size\": 32}\n",
    )?;
    let weights = folder.join("pytorch_model.bin");
    write_varied_file(&weights, DEMO_WEIGHTS_SIZE, 4)?;
    say(&format!("{}: README.md, config.json, pytorch_model.bin", folder.display()));

    step(&format!(
        "hub-cli upload {REPO_NAME} <folder>: a bare name is alice's; creates {REPO_ID}, sends \
         the folder in one commit, prints the commit URL"
    ));
    let before = hub.requests()?;
    let out = shown(hub_cli(&["upload", REPO_NAME]).arg(&folder), None)?;
    let sent = requests_since(&before, &hub.requests()?);
    let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || !url.starts_with(&format!("{}/{REPO_ID}/commit/", hub.endpoint)) {
        anyhow::bail!("hub-cli upload should print the commit URL ({})", out.status);
    }
    say(&format!("requests: {}", routes_line(&sent)));
    check_multipart(&sent)?;
    if count(&sent, "commit") != 1 {
        anyhow::bail!("expected one commit request, got {}", count(&sent, "commit"));
    }

    step(&format!("hub-cli download {REPO_ID} pytorch_model.bin: the same bytes come back"));
    same_weights(hub_cli, REPO_ID, &weights)?;
    say("the same sha256: published over HTTP, downloaded with hub-cli");

    step("hub-cli upload of the same folder again: nothing is re-sent, no commit is made");
    let before = hub.requests()?;
    let out = shown(hub_cli(&["upload", REPO_ID]).arg(&folder), None)?;
    let sent = requests_since(&before, &hub.requests()?);
    say(&format!("requests: {}", routes_line(&sent)));
    let lfs_puts = count(&sent, "cdn-part") + count(&sent, "cdn-upload");
    if !out.status.success()
        || !String::from_utf8_lossy(&out.stderr).contains("no commit was made")
        || lfs_puts + count(&sent, "commit") != 0
    {
        anyhow::bail!(
            "the second upload should send no LFS bytes and make no commit ({lfs_puts} LFS \
             PUTs, {} commits, {})",
            count(&sent, "commit"),
            out.status
        );
    }
    say("no LFS bytes sent, no commit request: the Hub already had everything");
    Ok(())
}

/// The library examples (`examples/`, package `hub-examples`) against the demo's Hub, run as a
/// library author runs them: `cargo run -p hub-examples --example …`, configured by `HF_*`
/// variables only (alice is logged in through the token file in the demo's `HF_HOME`).
fn examples(
    hub: &LocalHub,
    demo: &Path,
    hub_cli: &dyn Fn(&[&str]) -> Command,
) -> anyhow::Result<()> {
    step("the library examples (examples/): build them");
    exec(cargo().args(["build", "-q", "-p", "hub-examples", "--examples"]))?;
    let tmp = demo.join("examples-tmp");
    std::fs::create_dir_all(&tmp)?;
    let example = |name: &str, args: &[&str]| {
        let mut cmd = cargo();
        cmd.args(["run", "-q", "-p", "hub-examples", "--example", name, "--"])
            .args(args)
            .env("HF_ENDPOINT", &hub.endpoint)
            .env("HF_HOME", demo.join("home"))
            // The publish example writes its model in the temp folder.
            .env("TMPDIR", &tmp);
        for var in [
            "HF_TOKEN",
            "HUGGING_FACE_HUB_TOKEN",
            "HF_TOKEN_PATH",
            "HF_HUB_DISABLE_IMPLICIT_TOKEN",
            "HF_HUB_CACHE",
            "HF_HUB_OFFLINE",
            "HUB_EXAMPLE_REPO",
            "HUB_EXAMPLE_FILE",
            "HUB_EXAMPLE_LIBRARY",
            "HUB_EXAMPLE_LIMIT",
            "HUB_EXAMPLE_PUBLISH_REPO",
            "HUB_EXAMPLE_FOLDER",
        ] {
            cmd.env_remove(var);
        }
        cmd
    };
    let run = |name: &str, args: &[&str], wanted: &[&str]| -> anyhow::Result<String> {
        let out = shown(&mut example(name, args), None)?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            anyhow::bail!("the {name} example failed ({})", out.status);
        }
        for text in wanted {
            if !stdout.contains(text) {
                anyhow::bail!("the {name} example should print {text:?}");
            }
        }
        Ok(stdout)
    };

    step("example download: one file and a snapshot, the library's name in the user agent");
    let before = hub.log_len()?;
    run(
        "download",
        &["acme/tiny-model", "config.json"],
        &["acme/tiny-model config.json -> ", "weights.bin"],
    )?;
    let agents = hub.user_agents_since(before)?;
    let wanted = format!("hub-examples/{}; hub-api/", env!("CARGO_PKG_VERSION"));
    if agents.is_empty() || !agents.iter().all(|agent| agent.starts_with(&wanted)) {
        anyhow::bail!("the example's requests should all say `{wanted}…`: {agents:?}");
    }
    say(&format!("the Hub saw the user agent {:?}", agents[0]));

    step("example list_models: the models for a library, one model per page (paginated)");
    hub.set_page_size(Some(1))?;
    let before = hub.requests()?;
    let listed = run(
        "list_models",
        &["transformers", "10"],
        &["julien-c/EsperBERTo-small", "acme/gated-model", "2 model(s)"],
    );
    hub.set_page_size(None)?;
    listed?;
    let pages = count(&requests_since(&before, &hub.requests()?), "list-models");
    say(&format!("{pages} pages fetched"));
    if pages < 2 {
        anyhow::bail!("the listing should have followed the pagination ({pages} page)");
    }

    step("example publish: a repo, a folder in one commit, a model card with library_name");
    run(
        "publish",
        &[],
        &[
            "logged in to",
            "repo: ",
            "upload_folder ",
            "1 LFS object(s) sent",
            "create_commit README.md: ",
            "alice/hub-examples-model now holds: .gitattributes, README.md, config.json, \
             model.safetensors",
        ],
    )?;
    let card = output(&mut hub_cli(&["download", "alice/hub-examples-model", "README.md"]))?;
    let card = std::fs::read_to_string(card.trim())?;
    if !card.contains("library_name: hub-examples") {
        anyhow::bail!("the published model card lacks `library_name: hub-examples`:\n{card}");
    }
    say("the model card on the Hub says `library_name: hub-examples`");

    step("example publish again: nothing is sent, no commit is made");
    let before = hub.requests()?;
    run("publish", &[], &["upload_folder ", "nothing changed, no commit was made"])?;
    let sent = requests_since(&before, &hub.requests()?);
    if count(&sent, "commit") != 0 {
        anyhow::bail!("the second publish made a commit: {}", routes_line(&sent));
    }

    step("example blocking: the client from synchronous code");
    run("blocking", &[], &["julien-c/EsperBERTo-small at ", "config.json -> ", "(*.json) -> "])?;
    Ok(())
}

/// The requests of `route` in `requests`.
fn count(requests: &BTreeMap<String, u64>, route: &str) -> u64 {
    requests.get(route).copied().unwrap_or(0)
}

/// `route n, route n, …`.
fn routes_line(requests: &BTreeMap<String, u64>) -> String {
    let routes: Vec<String> = requests.iter().map(|(route, n)| format!("{route} {n}")).collect();
    routes.join(", ")
}

/// Fails unless `requests` hold the part uploads of the demo's weights and one completion: the
/// multipart upload was done.
fn check_multipart(requests: &BTreeMap<String, u64>) -> anyhow::Result<()> {
    let (parts, completions) = (count(requests, "cdn-part"), count(requests, "lfs-complete"));
    let expected = DEMO_WEIGHTS_SIZE.div_ceil(DEMO_CHUNK_SIZE);
    say(&format!(
        "the storage host received {parts} part uploads, the Hub {completions} completion"
    ));
    if parts < expected || completions != 1 {
        anyhow::bail!("expected {expected} parts and 1 completion: no multipart upload was done");
    }
    Ok(())
}

/// `hub-cli download` of `repo_id`'s `pytorch_model.bin`; fails unless it is `weights`, byte
/// for byte.
fn same_weights(
    hub_cli: &dyn Fn(&[&str]) -> Command,
    repo_id: &str,
    weights: &Path,
) -> anyhow::Result<()> {
    let downloaded = output(&mut hub_cli(&["download", repo_id, "pytorch_model.bin"]))?;
    let downloaded = Path::new(downloaded.trim());
    let (local, remote) = (sha256_file(weights)?, sha256_file(downloaded)?);
    say(&format!("{}\n  sha256 {remote}", downloaded.display()));
    say(&format!("{}\n  sha256 {local}", weights.display()));
    if local != remote {
        anyhow::bail!("the downloaded weights differ from the published ones");
    }
    Ok(())
}
