//! The README's own `hub-cli` examples, run as written against a seeded TestHub: every line of
//! every `sh` block of its sections "The CLI" and "Publishing over HTTP (no git)", by `sh`, in
//! order, with `hub-cli` on PATH. Each block starts logged in as `alice`, with the cache the
//! blocks before it filled, in a folder holding what the examples name (`./run`, `./data`, a
//! clone `./my-model`). A line that fails fails the test, with what it printed.
// Tests read the environment they run in (clippy.toml bans it in the crates).
#![allow(clippy::disallowed_methods)]
#![cfg(unix)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context, bail};
use hub_tests::seed;

use crate::support::{self, Setup};

const README: &str = include_str!("../../../../README.md");

/// The `sh` blocks of the README section headed `## {title}`.
fn sh_blocks(title: &str) -> anyhow::Result<Vec<Vec<&'static str>>> {
    let heading = format!("\n## {title}\n");
    let start = README.find(&heading).with_context(|| format!("no section {heading:?}"))?;
    let body = &README[start + heading.len()..];
    let section = body.find("\n## ").map_or(body, |end| &body[..end]);
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in section.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), line) if !line.trim().is_empty() => block.push(line),
            _ => {}
        }
    }
    if blocks.is_empty() {
        bail!("the section {title:?} has no sh block");
    }
    Ok(blocks)
}

/// A seeded hub, and a home with the folder the examples run in.
fn readme_setup() -> anyhow::Result<Setup> {
    let setup = Setup::start()?;
    setup.lay_out_the_work_folder()?;
    Ok(setup)
}

impl Setup {
    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// What the examples name: a training run's output, a dataset, a git clone.
    fn lay_out_the_work_folder(&self) -> anyhow::Result<()> {
        let work = self.work();
        for (path, content) in [
            ("run/config.json", "{\"hidden_size\": 8}\n".to_owned()),
            ("run/model.safetensors", "w".repeat(4096)),
            ("run/README.md", "---\nlibrary_name: pytorch\n---\n# My model\n".to_owned()),
            ("run/scratch.tmp", "temporary\n".to_owned()),
            ("data/train.csv", "text,label\nhello,1\n".to_owned()),
        ] {
            let path = work.join(path);
            std::fs::create_dir_all(path.parent().context("no parent")?)?;
            std::fs::write(&path, content)?;
        }
        let out = self.example("git").args(["init", "-q", "my-model"]).output()?;
        if !out.status.success() {
            bail!("git init failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    /// `program` in the examples' environment: hub-cli on PATH, the TestHub's endpoint, a
    /// fresh HOME and HF_HOME, git without the machine's configuration, no token variable.
    fn example(&self, program: &str) -> Command {
        let bin = Path::new(env!("CARGO_BIN_EXE_hub-cli")).parent().unwrap_or(Path::new("."));
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![bin.to_path_buf()];
        paths.extend(std::env::split_paths(&path));
        let mut cmd = Command::new(program);
        support::isolate(&mut cmd, self.dir.path(), self.hub.endpoint())
            .env("PATH", std::env::join_paths(paths).unwrap_or_default())
            .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            .current_dir(self.work());
        cmd
    }

    /// `sh -c LINE`, with alice's token on stdin (for `auth login`, which reads it there).
    fn sh(&self, line: &str) -> anyhow::Result<Output> {
        let mut child = self
            .example("sh")
            .args(["-c", line])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("running sh")?;
        child
            .stdin
            .take()
            .context("no stdin")?
            .write_all(format!("{}\n", seed::ALICE).as_bytes())?;
        child.wait_with_output().context("waiting for sh")
    }

    fn run_blocks(&self, title: &str) -> anyhow::Result<usize> {
        let mut lines = 0;
        for block in sh_blocks(title)? {
            let login = self.sh("hub-cli auth login")?;
            if !login.status.success() {
                bail!("logging in as alice failed: {}", String::from_utf8_lossy(&login.stderr));
            }
            for line in block {
                let out = self.sh(line)?;
                let (stdout, stderr) =
                    (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
                if !out.status.success() {
                    bail!("README line failed ({}):\n  {line}\n{stdout}{stderr}", out.status);
                }
                if stdout.contains(seed::ALICE) || stderr.contains(seed::ALICE) {
                    bail!("README line printed the token:\n  {line}");
                }
                lines += 1;
            }
        }
        Ok(lines)
    }
}

#[test]
fn the_readme_cli_examples_run_as_written() -> anyhow::Result<()> {
    let s = readme_setup()?;
    let lines = s.run_blocks("The CLI")?;
    assert!(lines >= 30, "only {lines} lines: did the README's blocks move?");
    let lines = s.run_blocks("Publishing over HTTP (no git)")?;
    assert!(lines >= 6, "only {lines} lines");

    // What the examples did is on the Hub and in the cache.
    let who = |args: &str| s.sh(&format!("hub-cli {args}"));
    let out = who("repos files alice/my-model")?;
    let files = String::from_utf8_lossy(&out.stdout);
    assert!(files.contains("weights/model.safetensors"), "the bare name went to alice: {files}");
    assert!(files.contains("checkpoints/config.json"), "a folder to a path: {files}");
    let out = who("repos info acme/my-dataset --repo-type dataset --format json")?;
    let info: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(info["private"], true, "{info}");
    let config = s.work().join("my-model/.git/config");
    let config = std::fs::read_to_string(&config)?;
    assert!(config.contains("lfs-multipart-upload"), "{config}");
    assert!(s.work().join("tiny-model/config.json").is_file());
    Ok(())
}
