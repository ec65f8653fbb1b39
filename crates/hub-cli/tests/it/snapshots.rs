//! Snapshots of what `hub-cli` shows people, so that any change to it is a reviewed diff of a
//! committed file under `tests/it/snapshots/`:
//!
//! - the `--help` of the program and of every command and subcommand: an explicit list
//!   ([`HELP`]), and a test that fails when `--help` shows a command the list misses, or a
//!   help snapshot outlives its command;
//! - the tables and messages: `cache ls` (and `--revisions`, `rm --dry-run`, `verify`) over a
//!   small cache built here; `models|datasets|spaces ls`, `repos info|files|refs|tag list`,
//!   `download --dry-run` before and after a download, and `auth login|list|switch|logout`
//!   against a seeded TestHub started in-process;
//! - the errors people meet: stderr and the exit code.
//!
//! Each snapshot of a command is a transcript: the command line, its stdout, its stderr, its
//! exit code. What varies from run to run is redacted by insta filters, each as narrow as it
//! can be: the temp dir (`[TMP]`), the TestHub's ports (`[PORT]`), the seed's commit hashes
//! (they hash the time of seeding: `[main commit]`…), request ids, the time a scan took, and
//! trailing spaces (clap leaves some on the blank lines of long help; editors strip them).
//! Relative times are not redacted but made stable, by setting the cache's file times; the
//! cache tables list the cache by a relative path, so their columns stay as printed.
//!
//! CI (`CI=true`) never writes a snapshot: it fails on any difference or missing snapshot. To
//! accept a change of the output (reworded messages, a new flag, a new command), run
//!
//! ```text
//! INSTA_UPDATE=always cargo test -p hub-cli --test it snapshots::
//! git diff crates/hub-cli/tests/it/snapshots    # review every change, then commit them
//! ```
//!
//! (`TESTHUB_BIN` is not needed: these tests start the TestHub in-process.) A new snapshot is
//! an untracked `.snap` file: read it before adding it. The snapshot of a removed command must
//! be deleted by hand (for help texts, `help_covers_every_visible_command` says which).
#![cfg(unix)]

use std::fs::{File, FileTimes};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use hub_tests::{HubConfig, RepoType, SeedManifest, TestHub, seed};

use crate::support;
use crate::support::fixture::{C1, C2, D1, DATA, NEW, OLD, SHARED};

/// Every command whose `--help` is snapshotted, as its words after `hub-cli` (`""` is the
/// program's own): each visible command and subcommand, then the seed's hidden aliases.
const HELP: &[&str] = &[
    "",
    "auth",
    "auth login",
    "auth logout",
    "auth whoami",
    "auth list",
    "auth switch",
    "download",
    "upload",
    "repos",
    "repos create",
    "repos delete",
    "repos move",
    "repos settings",
    "repos info",
    "repos files",
    "repos refs",
    "repos branch",
    "repos branch create",
    "repos branch delete",
    "repos tag",
    "repos tag create",
    "repos tag list",
    "repos tag delete",
    "cache",
    "cache ls",
    "cache rm",
    "cache prune",
    "cache verify",
    "cache export",
    "cache import",
    "models",
    "models ls",
    "datasets",
    "datasets ls",
    "spaces",
    "spaces ls",
    "env",
    "version",
    "completions",
    "lfs-enable-largefiles",
    // Hidden: the seed's names, which its users still type.
    "login",
    "logout",
    "whoami",
    "scan-cache",
    "delete-cache",
];

/// The snapshot of `hub-cli WORDS --help`.
fn help_snapshot_name(words: &str) -> String {
    if words.is_empty() { "help".to_owned() } else { format!("help-{}", words.replace(' ', "-")) }
}

/// A fresh `HOME`, `HF_HOME` and cache for one test, maybe a seeded TestHub, and the filters
/// that redact what varies between runs.
struct Sandbox {
    dir: tempfile::TempDir,
    hub: Option<(TestHub, SeedManifest)>,
}

impl Sandbox {
    fn new() -> anyhow::Result<Sandbox> {
        Ok(Sandbox { dir: tempfile::tempdir().context("creating a temp dir")?, hub: None })
    }

    fn with_hub() -> anyhow::Result<Sandbox> {
        let hub = TestHub::start(HubConfig::default())?;
        let seed = hub.seed_default()?;
        Ok(Sandbox { hub: Some((hub, seed)), ..Sandbox::new()? })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn hf_home(&self) -> PathBuf {
        self.path().join("hf-home")
    }

    fn cache(&self) -> PathBuf {
        self.path().join("cache")
    }

    /// `hub-cli ARGS…` in the sandbox's folder, in an environment built from scratch: its
    /// `HOME`, `HF_HOME` and `HF_HUB_CACHE`, the TestHub's endpoint (else a port nothing
    /// listens on: no test reaches the real Hub), no token, git without configuration, and a
    /// fixed terminal width, which clap wraps help to when its `wrap_help` feature is on.
    fn cli(&self, args: &[&str]) -> Command {
        let endpoint = self.hub.as_ref().map_or(support::NO_HUB, |(hub, _)| hub.endpoint());
        let mut cmd = support::hub_cli(self.path(), endpoint);
        cmd.env("HF_HUB_CACHE", self.cache())
            .env("COLUMNS", "100")
            .current_dir(self.path())
            .args(args);
        cmd
    }

    fn run(&self, args: &[&str]) -> anyhow::Result<Output> {
        self.cli(args).output().context("running hub-cli")
    }

    /// `hub-cli ARGS…` with `input` on stdin (a pipe, not a terminal).
    fn run_with_stdin(&self, args: &[&str], input: &str) -> anyhow::Result<Output> {
        let mut child = self.cli(args).stdin(Stdio::piped()).spawn().context("running hub-cli")?;
        child.stdin.take().context("no stdin")?.write_all(input.as_bytes())?;
        child.wait_with_output().context("waiting for hub-cli")
    }

    /// insta's settings for one snapshot: `description` in its header, and the filters.
    fn settings(&self, description: &str) -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        settings.set_description(description);
        settings.set_omit_expression(true);
        settings.set_prepend_module_to_snapshot(false);
        settings.add_filter(r"(?m)[ \t]+$", "");
        settings.add_filter(&literal(&self.path().display().to_string()), "[TMP]");
        settings.add_filter(r"Done in \d+\.\ds\.", "Done in [N.N]s.");
        if let Some((hub, seed)) = &self.hub {
            for url in [hub.endpoint(), hub.cdn_url()] {
                if let Some((host, _port)) = url.rsplit_once(':') {
                    settings.add_filter(&format!(r"{}\b", literal(url)), format!("{host}:[PORT]"));
                }
            }
            let tiny = seed.repo(RepoType::Model, "acme/tiny-model");
            for (name, revision) in tiny.iter().flat_map(|repo| &repo.revisions) {
                settings.add_filter(&revision.commit, format!("[{name} commit]"));
            }
            // Any other commit (of another seeded repo): still a hash of the seeding's time.
            settings.add_filter(r"\b[0-9a-f]{40}\b", "[commit]");
            settings.add_filter(r"\[request id testhub-\d+\]", "[request id testhub-N]");
        }
        settings
    }
}

/// `s` as a regex that matches it literally.
fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if r"\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What a person sees of one command: its line, stdout, stderr and exit code.
fn transcript(shown: &str, out: &Output) -> String {
    let mut text = format!("$ hub-cli {shown}\n");
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        if !bytes.is_empty() {
            text.push_str(&format!("[{name}]\n{}", String::from_utf8_lossy(bytes)));
            if !text.ends_with('\n') {
                text.push_str("[no newline at the end]\n");
            }
        }
    }
    let code = out.status.code().map_or_else(|| format!("{}", out.status), |c| c.to_string());
    text.push_str(&format!("[exit {code}]\n"));
    text
}

/// `args` as a person types them: a word with spaces or a glob in quotes.
fn command_line(args: &[&str]) -> String {
    let words: Vec<String> = args
        .iter()
        .map(|a| if a.contains([' ', '*']) { format!("'{a}'") } else { (*a).to_owned() })
        .collect();
    words.join(" ")
}

/// A sequence of commands, shown one after the other in one snapshot.
#[derive(Default)]
struct Session {
    text: String,
}

impl Session {
    /// Runs `hub-cli ARGS…`, appends what it showed; fails unless it exited with `code`.
    fn run(&mut self, sandbox: &Sandbox, args: &[&str], code: i32) -> anyhow::Result<Output> {
        let out = sandbox.run(args)?;
        self.add(&command_line(args), &out, code)?;
        Ok(out)
    }

    fn add(&mut self, shown: &str, out: &Output, code: i32) -> anyhow::Result<()> {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(&transcript(shown, out));
        if out.status.code() != Some(code) {
            bail!("expected exit {code}:\n{}", self.text);
        }
        Ok(())
    }
}

#[test]
fn help_texts() -> anyhow::Result<()> {
    let sandbox = Sandbox::new()?;
    for words in HELP {
        let mut args: Vec<&str> = words.split_whitespace().collect();
        args.push("--help");
        let out = sandbox.run(&args)?;
        let shown = command_line(&args);
        if !out.status.success() || !out.stderr.is_empty() {
            bail!("`hub-cli {shown}` failed:\n{}", transcript(&shown, &out));
        }
        let help = String::from_utf8(out.stdout).context("help is UTF-8")?;
        sandbox.settings(&format!("hub-cli {shown}")).bind(|| {
            insta::assert_snapshot!(help_snapshot_name(words), help);
        });
    }
    Ok(())
}

/// The commands `hub-cli WORDS --help` lists (its `Commands:` section, `help` aside).
fn listed_commands(sandbox: &Sandbox, words: &str) -> anyhow::Result<Vec<String>> {
    let mut args: Vec<&str> = words.split_whitespace().collect();
    args.push("--help");
    let help = String::from_utf8(sandbox.run(&args)?.stdout)?;
    let section = help.lines().skip_while(|line| *line != "Commands:").skip(1);
    Ok(section
        .take_while(|line| !line.is_empty())
        // A command's line is indented by two; a wrapped description, by more.
        .filter_map(|line| line.strip_prefix("  ").filter(|l| !l.starts_with(' ')))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(|name| if words.is_empty() { name.to_owned() } else { format!("{words} {name}") })
        .collect())
}

#[test]
fn help_covers_every_visible_command() -> anyhow::Result<()> {
    let sandbox = Sandbox::new()?;
    let mut visible = Vec::new();
    let mut pending = vec![String::new()];
    while let Some(words) = pending.pop() {
        pending.extend(listed_commands(&sandbox, &words)?);
        visible.push(words);
    }
    let missing: Vec<&String> = visible.iter().filter(|w| !HELP.contains(&w.as_str())).collect();
    assert!(
        missing.is_empty(),
        "`--help` lists commands whose help is not snapshotted: add them to HELP: {missing:?}"
    );

    // A help snapshot of a command that is gone would pass unnoticed: none may outlive HELP.
    let names: Vec<String> = HELP.iter().map(|w| help_snapshot_name(w)).collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots");
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("{}", dir.display()))? {
        let file = entry?.file_name().to_string_lossy().into_owned();
        if let Some(name) = file.strip_suffix(".snap")
            && (name == "help" || name.starts_with("help-"))
            && !names.iter().any(|n| n == name)
        {
            stale.push(file);
        }
    }
    assert!(stale.is_empty(), "help snapshots of no command in HELP: delete them: {stale:?}");
    Ok(())
}

/// Sets a file's (or a folder's) times to `accessed` and `modified` ago.
fn set_times(path: &Path, accessed: Duration, modified: Duration) -> anyhow::Result<()> {
    let now = SystemTime::now();
    let times = FileTimes::new().set_accessed(now - accessed).set_modified(now - modified);
    File::open(path)?.set_times(times).with_context(|| format!("{}", path.display()))
}

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// The cache of [`support::fixture::model_and_dataset`] (as `cache.rs` has it) at `root`,
/// whose files were last read and written some hours, days, weeks or months ago, so that the
/// tables' relative times are stable.
fn build_cache(root: &Path) -> anyhow::Result<()> {
    let (model, dataset) = support::fixture::model_and_dataset(root)?;
    for (etag, modified) in [(SHARED, 14 * DAY), (OLD, 14 * DAY), (NEW, 3 * DAY)] {
        set_times(&model.join("blobs").join(etag), 2 * HOUR, modified)?;
    }
    set_times(&model.join("snapshots").join(C1), 14 * DAY, 14 * DAY)?;
    set_times(&model.join("snapshots").join(C2), 3 * DAY, 3 * DAY)?;
    set_times(&dataset.join("blobs").join(DATA), 5 * DAY, 150 * DAY)?;
    set_times(&dataset.join("snapshots").join(D1), 150 * DAY, 150 * DAY)?;
    Ok(())
}

#[test]
fn cache_tables() -> anyhow::Result<()> {
    let sandbox = Sandbox::new()?;
    build_cache(&sandbox.path().join("hub"))?;
    let mut session = Session::default();
    // `hub`, relative to the sandbox: the paths in the tables are the same on every machine.
    session.run(&sandbox, &["cache", "ls", "--cache-dir", "hub"], 0)?;
    session.run(&sandbox, &["cache", "ls", "--cache-dir", "hub", "--revisions"], 0)?;
    session.run(&sandbox, &["cache", "rm", "--cache-dir", "hub", &C1[..8], "--dry-run"], 0)?;
    // The blobs are named by hashes their bytes do not have.
    session.run(
        &sandbox,
        &["cache", "verify", "julien-c/EsperBERTo-small", "--cache-dir", "hub"],
        1,
    )?;
    sandbox.settings("cache ls, rm --dry-run and verify over a cache built by the test").bind(
        || {
            insta::assert_snapshot!("cache-tables", session.text);
        },
    );
    Ok(())
}

#[test]
fn hub_tables() -> anyhow::Result<()> {
    let sandbox = Sandbox::with_hub()?;
    let mut session = Session::default();
    session.run(&sandbox, &["models", "ls"], 0)?;
    session.run(&sandbox, &["datasets", "ls"], 0)?;
    session.run(&sandbox, &["spaces", "ls"], 0)?;
    session.run(&sandbox, &["models", "ls", "--search", "nothing-is-called-so"], 0)?;
    session.run(&sandbox, &["repos", "info", "acme/tiny-model"], 0)?;
    session.run(&sandbox, &["repos", "files", "acme/tiny-model", "--revision", "dev"], 0)?;
    session.run(&sandbox, &["repos", "refs", "acme/tiny-model"], 0)?;
    session.run(&sandbox, &["repos", "tag", "list", "acme/tiny-model"], 0)?;
    sandbox.settings("the listings of the seeded TestHub").bind(|| {
        insta::assert_snapshot!("hub-tables", session.text);
    });
    Ok(())
}

#[test]
fn download_dry_run_before_and_after_a_download() -> anyhow::Result<()> {
    let sandbox = Sandbox::with_hub()?;
    let mut session = Session::default();
    session.run(&sandbox, &["download", "acme/tiny-model", "--dry-run"], 0)?;
    session.run(&sandbox, &["download", "acme/tiny-model", "config.json", "README.md"], 0)?;
    session.run(&sandbox, &["download", "acme/tiny-model", "--dry-run"], 0)?;
    let args = ["download", "acme/tiny-model", "--include", "*.json", "--dry-run"];
    session.run(&sandbox, &args, 0)?;
    session.run(
        &sandbox,
        &["download", "acme/tiny-model", "--revision", "v1.0", "--dry-run"],
        0,
    )?;
    session.run(&sandbox, &["cache", "verify", "acme/tiny-model"], 0)?;
    sandbox.settings("download --dry-run, a download, download --dry-run again").bind(|| {
        insta::assert_snapshot!("download-dry-run", session.text);
    });
    Ok(())
}

#[test]
fn auth_login_list_switch_logout() -> anyhow::Result<()> {
    let sandbox = Sandbox::with_hub()?;
    let mut session = Session::default();
    session.run(&sandbox, &["auth", "list"], 0)?;
    let out = sandbox.run_with_stdin(&["auth", "login"], &format!("{}\n", seed::ALICE))?;
    session.add("auth login    # alice's write token on stdin", &out, 0)?;
    // A second token, one the Python tool stored under a name of the user's own.
    let stored = sandbox.hf_home().join("stored_tokens");
    let mut tokens = std::fs::read_to_string(&stored)?;
    tokens.push_str(&format!("[laptop]\nhf_token = {}\n", seed::CAROL));
    std::fs::write(&stored, tokens)?;
    session.text.push_str("\n# the Python tool stored carol's read token as `laptop`\n");
    session.run(&sandbox, &["auth", "list"], 0)?;
    session.run(&sandbox, &["auth", "switch", "--token-name", "laptop"], 0)?;
    session.run(&sandbox, &["auth", "list"], 0)?;
    session.run(&sandbox, &["auth", "whoami"], 0)?;
    let out = sandbox.cli(&["auth", "list"]).env("HF_TOKEN", seed::BOB).output()?;
    session.add("auth list    # with HF_TOKEN set", &out, 0)?;
    session.run(&sandbox, &["auth", "switch", "--token-name", "phone"], 1)?;
    session.run(&sandbox, &["auth", "logout", "--token-name", "laptop"], 0)?;
    session.run(&sandbox, &["auth", "list"], 0)?;
    session.run(&sandbox, &["auth", "whoami"], 1)?;
    session.run(&sandbox, &["auth", "logout"], 0)?;
    session.run(&sandbox, &["auth", "whoami"], 1)?;
    for token in [seed::ALICE, seed::CAROL, seed::BOB] {
        assert!(!session.text.contains(token), "a token was printed:\n{}", session.text);
    }
    sandbox.settings("auth login, list, switch and logout").bind(|| {
        insta::assert_snapshot!("auth", session.text);
    });
    Ok(())
}

/// The errors people meet, by snapshot name: the command, and the token it runs with.
const ERRORS: &[(&str, &[&str], Option<&str>)] = &[
    ("error-repo-not-found", &["repos", "info", "nobody/nothing"], None),
    ("error-revision-not-found", &["repos", "info", "acme/tiny-model", "--revision", "nope"], None),
    (
        "error-download-revision-not-found",
        &["download", "acme/tiny-model", "config.json", "--revision", "nope"],
        None,
    ),
    ("error-invalid-repo-id", &["repos", "info", "not a repo id"], None),
    (
        "error-unknown-repo-type",
        &["repos", "info", "acme/tiny-model", "--repo-type", "bucket"],
        None,
    ),
    ("error-unknown-sort", &["models", "ls", "--sort", "stars"], None),
    ("error-write-without-token", &["repos", "create", "my-model"], None),
    (
        "error-write-forbidden",
        &["repos", "tag", "create", "acme/tiny-model", "v2"],
        Some(seed::BOB),
    ),
    ("error-repo-exists", &["repos", "create", "acme/tiny-model"], Some(seed::ALICE)),
    ("error-max-workers-0", &["download", "acme/tiny-model", "--max-workers", "0"], None),
    ("error-download-missing-file", &["download", "acme/tiny-model", "nope.txt"], None),
    (
        "error-download-dry-run-missing-file",
        &["download", "acme/tiny-model", "nope.txt", "--dry-run"],
        None,
    ),
    ("error-cache-verify-not-cached", &["cache", "verify", "acme/tiny-model"], None),
];

#[test]
fn errors() -> anyhow::Result<()> {
    let sandbox = Sandbox::with_hub()?;
    std::fs::create_dir_all(sandbox.cache())?;
    for (name, args, token) in ERRORS {
        let mut cmd = sandbox.cli(args);
        if let Some(token) = token {
            cmd.env("HF_TOKEN", token);
        }
        let out = cmd.output()?;
        let shown = match token {
            Some(_) => format!("{}    # with a token in HF_TOKEN", command_line(args)),
            None => command_line(args),
        };
        let text = transcript(&shown, &out);
        if out.status.success() || !out.stdout.is_empty() {
            bail!("expected a failure with nothing on stdout:\n{text}");
        }
        sandbox.settings(&format!("hub-cli {shown}")).bind(|| {
            insta::assert_snapshot!(*name, text);
        });
    }
    Ok(())
}
