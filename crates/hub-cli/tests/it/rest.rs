//! `hub-cli login`, `logout`, `whoami`, `repo …` and `models|datasets|spaces list` as a user
//! runs them: the built binary against a TestHub started in-process (the default seed of
//! `tests/README.md`), with `HOME` and `HF_HOME` in a temp dir and git isolated from the
//! user's configuration. What is checked is what a user sees (stdout for results, stderr for
//! messages, one `error:` line and exit 1 on failure), what lands on disk (the Python tool's
//! token files, git's credential store) and that the token is never printed.
// Tests read the environment they run in (clippy.toml bans it in the crates).
#![allow(clippy::disallowed_methods)]
#![cfg(unix)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context, bail};
use hub_tests::seed;

use crate::support::{Setup, ok, stderr, stdout};

impl Setup {
    fn token_file(&self) -> PathBuf {
        self.hf_home().join("token")
    }

    fn stored_tokens(&self) -> PathBuf {
        self.hf_home().join("stored_tokens")
    }

    /// `hub-cli ARGS…` with `input` on stdin (a pipe, not a terminal).
    fn run_with_stdin(&self, cmd: &mut Command, input: &str) -> anyhow::Result<Output> {
        let mut child = cmd.stdin(Stdio::piped()).spawn().context("running hub-cli")?;
        child.stdin.take().context("no stdin")?.write_all(input.as_bytes())?;
        child.wait_with_output().context("waiting for hub-cli")
    }

    fn login(&self, token: &str) -> anyhow::Result<Output> {
        self.run_with_stdin(&mut self.cli(&["login"]), &format!("{token}\n"))
    }

    fn seeded_files(&self, id: &str, revision: &str) -> anyhow::Result<Vec<String>> {
        let repo = self.seed.repo(hub_tests::RepoType::Model, id).context("seeded repo")?;
        let rev = repo.revisions.get(revision).context("seeded revision")?;
        Ok(rev.files.keys().cloned().collect())
    }
}

/// The command failed as hub-cli fails: exit 1, nothing on stdout, and one `error:` line, the
/// last one on stderr (a question may precede it). Returns that line.
fn one_error(out: &Output) -> anyhow::Result<String> {
    let err = stderr(out);
    if out.status.code() != Some(1) {
        bail!("expected exit 1, got {} (stdout {:?}, stderr {err:?})", out.status, stdout(out));
    }
    if !out.stdout.is_empty() {
        bail!("nothing may be printed on stdout on failure: {:?}", stdout(out));
    }
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    match (errors.as_slice(), err.lines().last()) {
        ([line], Some(last)) if *line == last => Ok((*line).to_owned()),
        _ => bail!("expected one `error:` line, last on stderr: {err:?}"),
    }
}

fn assert_no_token(out: &Output, token: &str) {
    assert!(
        !stdout(out).contains(token) && !stderr(out).contains(token),
        "the token was printed (stdout {:?}, stderr {:?})",
        stdout(out).replace(token, "<TOKEN>"),
        stderr(out).replace(token, "<TOKEN>")
    );
}

fn mode(path: &Path) -> anyhow::Result<u32> {
    Ok(std::fs::metadata(path).with_context(|| format!("{}", path.display()))?.permissions().mode()
        & 0o777)
}

/// The `hf_token` of each section of a `stored_tokens` file.
fn stored(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let content = std::fs::read_to_string(path)?;
    let mut out = Vec::new();
    let mut section = None;
    for line in content.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.to_owned());
        } else if let (Some(name), Some((key, value))) = (&section, line.split_once('='))
            && key.trim() == "hf_token"
        {
            out.push((name.clone(), value.trim().to_owned()));
        }
    }
    Ok(out)
}

#[test]
fn login_from_stdin_writes_the_python_files_0600_and_never_prints_the_token() -> anyhow::Result<()>
{
    let s = Setup::start()?;
    let out = s.login(seed::ALICE)?;
    ok(&out)?;
    assert_no_token(&out, seed::ALICE);
    assert!(stdout(&out).is_empty(), "messages go to stderr: {:?}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("Login successful") && err.contains("alice"), "{err}");
    assert!(err.contains("permission: write"), "{err}");

    assert_eq!(std::fs::read_to_string(s.token_file())?, seed::ALICE);
    let tokens = stored(&s.stored_tokens())?;
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert_eq!(tokens[0].1, seed::ALICE);
    assert_eq!(mode(&s.token_file())?, 0o600);
    assert_eq!(mode(&s.stored_tokens())?, 0o600);
    assert_eq!(mode(&s.hf_home())?, 0o700);

    let who = ok(&s.run(&["whoami"])?)?;
    assert_eq!(who, "alice\norgs: acme\n");
    // As the Python tool's whoami: the stored token is used even when implicit use is off.
    let out = s.cli(&["whoami"]).env("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1").output()?;
    assert_eq!(ok(&out)?, "alice\norgs: acme\n");

    // Another token: stored under its name on the Hub (the TestHub names a token
    // `{user}-{role}`), and made active; the other sections (alice's, and one the Python tool
    // wrote) are kept.
    assert_eq!(tokens[0].0, "alice-write");
    let mut content = std::fs::read_to_string(s.stored_tokens())?;
    content.push_str("[laptop]\nhf_token = hf_fromPythonLaptop\nexpires_at = 1\n\n");
    std::fs::write(s.stored_tokens(), content)?;
    let out = s.run_with_stdin(&mut s.cli(&["login"]), &format!("  {}  \n", seed::JULIEN_C))?;
    ok(&out)?;
    assert_no_token(&out, seed::JULIEN_C);
    assert_eq!(std::fs::read_to_string(s.token_file())?, seed::JULIEN_C, "trimmed");
    let mut tokens = stored(&s.stored_tokens())?;
    tokens.sort();
    let mut expected = vec![
        ("laptop".to_owned(), "hf_fromPythonLaptop".to_owned()),
        ("alice-write".to_owned(), seed::ALICE.to_owned()),
        ("julien-c-write".to_owned(), seed::JULIEN_C.to_owned()),
    ];
    expected.sort();
    assert_eq!(tokens, expected);
    assert!(std::fs::read_to_string(s.stored_tokens())?.contains("expires_at = 1"));
    assert_eq!(mode(&s.stored_tokens())?, 0o600);
    assert_eq!(ok(&s.run(&["whoami"])?)?, "julien-c\n", "no orgs line without orgs");

    // --token works too (and is not printed either).
    let out = s.run(&["login", "--token", seed::BOB])?;
    ok(&out)?;
    assert_no_token(&out, seed::BOB);
    assert_eq!(ok(&s.run(&["whoami"])?)?, "bob\n");
    Ok(())
}

#[test]
fn a_bad_token_is_refused_and_nothing_is_written() -> anyhow::Result<()> {
    let s = Setup::start()?;
    let bad = "hf_notAValidTokenForThisHub0000000000";
    let out = s.login(bad)?;
    let line = one_error(&out)?;
    assert_no_token(&out, bad);
    assert!(line.contains("invalid token") || line.contains("401"), "{line}");
    assert!(!s.token_file().exists() && !s.stored_tokens().exists());

    let out = s.run_with_stdin(&mut s.cli(&["login"]), "\n")?;
    one_error(&out)?;
    assert!(!s.token_file().exists());
    Ok(())
}

#[test]
fn whoami_without_a_token_says_not_logged_in() -> anyhow::Result<()> {
    let s = Setup::start()?;
    let out = s.run(&["whoami"])?;
    assert_eq!(one_error(&out)?, "error: not logged in: run `hub-cli auth login` or set HF_TOKEN");
    assert_eq!(stderr(&out).lines().count(), 1);
    // HF_TOKEN logs in without a file.
    assert_eq!(ok(&s.run_as(seed::ALICE_READ, &["whoami"])?)?, "alice\norgs: acme\n");
    // A token the Hub does not know: an error naming what to do, not the token.
    let bad = "hf_unknownTokenUnknownToken0000000000";
    let out = s.run_as(bad, &["whoami"])?;
    let line = one_error(&out)?;
    assert_no_token(&out, bad);
    assert!(line.contains("invalid token"), "{line}");
    Ok(())
}

#[test]
fn logout_removes_the_files_and_says_when_hf_token_still_logs_in() -> anyhow::Result<()> {
    let s = Setup::start()?;
    ok(&s.login(seed::ALICE)?)?;
    let out = s.run(&["logout"])?;
    ok(&out)?;
    assert!(stderr(&out).contains("Successfully logged out"), "{}", stderr(&out));
    assert!(!s.token_file().exists() && !s.stored_tokens().exists());
    assert_eq!(
        one_error(&s.run(&["whoami"])?)?,
        "error: not logged in: run `hub-cli auth login` or set HF_TOKEN"
    );

    let out = s.run(&["logout"])?;
    ok(&out)?;
    assert!(stderr(&out).contains("Not logged in"), "{}", stderr(&out));

    ok(&s.login(seed::ALICE)?)?;
    let out = s.run_as(seed::BOB, &["logout"])?;
    let line = one_error(&out)?;
    assert!(line.contains("HF_TOKEN"), "{line}");
    assert_no_token(&out, seed::BOB);
    assert!(!s.token_file().exists(), "the files go even so");
    assert_eq!(ok(&s.run_as(seed::BOB, &["whoami"])?)?, "bob\n", "HF_TOKEN still logs in");
    Ok(())
}

/// `git credential fill` for `url` with the git config at `config`: the password, if any.
fn git_credential_fill(setup: &Setup, config: &Path, url: &str) -> anyhow::Result<Option<String>> {
    let mut child = Command::new("git")
        .args(["credential", "fill"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", setup.dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", config)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "/bin/false")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child.stdin.take().context("no stdin")?.write_all(format!("url={url}\n\n").as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Ok(None);
    }
    Ok(stdout(&out).lines().find_map(|l| l.strip_prefix("password=").map(str::to_owned)))
}

#[test]
fn login_add_to_git_credential_stores_the_token_for_git_and_logout_removes_it() -> anyhow::Result<()>
{
    let s = Setup::start()?;
    let store = s.dir.path().join("git-credentials");
    let config = s.dir.path().join("gitconfig");
    std::fs::write(
        &config,
        format!("[credential]\n\thelper = store --file {}\n", store.display()),
    )?;

    let mut cmd = s.cli(&["login", "--add-to-git-credential"]);
    cmd.env("GIT_CONFIG_GLOBAL", &config);
    let out = s.run_with_stdin(&mut cmd, &format!("{}\n", seed::ALICE))?;
    ok(&out)?;
    assert_no_token(&out, seed::ALICE);
    assert!(stderr(&out).contains("git credential"), "{}", stderr(&out));
    let stored = std::fs::read_to_string(&store)?;
    let host = s.hub.endpoint().trim_start_matches("http://").replace(':', "%3a");
    assert_eq!(stored.trim(), format!("http://hf_user:{}@{host}", seed::ALICE), "url, user, token");
    let filled =
        git_credential_fill(&s, &config, &format!("{}/acme/tiny-model", s.hub.endpoint()))?;
    assert_eq!(filled.as_deref(), Some(seed::ALICE), "git finds it for the Hub's URLs");

    let mut cmd = s.cli(&["logout"]);
    cmd.env("GIT_CONFIG_GLOBAL", &config);
    ok(&cmd.output()?)?;
    let stored = std::fs::read_to_string(&store)?;
    assert!(!stored.contains(seed::ALICE), "logout left the token in git's store: {stored:?}");

    // Without a credential helper: a warning, the login itself succeeds.
    let out = s.run_with_stdin(&mut s.cli(&["login", "--add-to-git-credential"]), seed::ALICE)?;
    ok(&out)?;
    assert!(stderr(&out).contains("warning:"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(s.token_file())?, seed::ALICE);
    Ok(())
}

#[test]
fn repo_create_prints_the_url_and_the_clone_command_then_delete() -> anyhow::Result<()> {
    let s = Setup::start()?;
    let ep = s.hub.endpoint();
    ok(&s.login(seed::ALICE)?)?;

    let out = s.run(&["repo", "create", "my-model", "-y"])?;
    assert_eq!(ok(&out)?, format!("{ep}/alice/my-model\n"), "stdout is the URL, only");
    assert!(
        stderr(&out).contains(&format!("git clone {ep}/alice/my-model")),
        "the clone command: {}",
        stderr(&out)
    );
    let info = ok(&s.run(&["repo", "info", "alice/my-model", "--json"])?)?;
    let info: serde_json::Value = serde_json::from_str(&info)?;
    assert_eq!((&info["id"], &info["private"]), (&"alice/my-model".into(), &false.into()));
    assert_eq!(ok(&s.run(&["repo", "files", "alice/my-model"])?)?, ".gitattributes\n");

    let line = one_error(&s.run(&["repo", "create", "my-model", "-y"])?)?;
    assert!(line.contains("already exists") && line.contains("--exist-ok"), "{line}");
    let out = s.run(&["repo", "create", "my-model", "--exist-ok", "-y"])?;
    assert_eq!(ok(&out)?, format!("{ep}/alice/my-model\n"));

    let out =
        s.run(&["repo", "create", "data", "--type", "dataset", "--organization", "acme", "-y"])?;
    assert_eq!(ok(&out)?, format!("{ep}/datasets/acme/data\n"));
    let out = s.run(&["repo", "create", "alice/hidden", "--private", "-y"])?;
    assert_eq!(ok(&out)?, format!("{ep}/alice/hidden\n"));
    let line = one_error(&s.run_as(seed::BOB, &["repo", "info", "alice/hidden"])?)?;
    assert!(line.contains("repository not found"), "{line}");
    let line = one_error(&s.run(&["repo", "create", "bob/intruder", "-y"])?)?;
    assert!(line.contains("forbidden"), "{line}");

    // Delete asks first; without an answer nothing happens.
    let out = s.run(&["repo", "delete", "alice/my-model"])?;
    assert!(one_error(&out)?.contains("aborted"));
    ok(&s.run(&["repo", "info", "alice/my-model"])?)?;
    let out = s.run(&["repo", "delete", "alice/my-model", "-y"])?;
    ok(&out)?;
    let line = one_error(&s.run(&["repo", "info", "alice/my-model"])?)?;
    assert!(line.contains("repository not found"), "{line}");
    one_error(&s.run(&["repo", "delete", "alice/my-model", "-y"])?)?;
    ok(&s.run(&["repo", "delete", "alice/my-model", "-y", "--missing-ok"])?)?;
    ok(&s.run(&["repo", "delete", "acme/data", "--type", "dataset", "-y"])?)?;
    one_error(&s.run(&["repo", "info", "acme/data", "--type", "dataset"])?)?;

    // Not logged in: one clear line.
    ok(&s.run(&["logout"])?)?;
    one_error(&s.run(&["repo", "create", "anything", "-y"])?)?;
    Ok(())
}

#[test]
fn repo_settings_move_files_refs_branches_and_tags() -> anyhow::Result<()> {
    let s = Setup::start()?;
    let alice = |args: &[&str]| s.run_as(seed::ALICE, args);
    ok(&alice(&["repo", "create", "vis", "-y"])?)?;

    ok(&alice(&["repo", "settings", "alice/vis", "--private"])?)?;
    let line = one_error(&s.run(&["repo", "info", "alice/vis"])?)?;
    assert!(line.contains("repository not found"), "private: anonymous users see nothing: {line}");
    ok(&alice(&["repo", "info", "alice/vis"])?)?;
    ok(&alice(&["repo", "settings", "alice/vis", "--public"])?)?;
    ok(&s.run(&["repo", "info", "alice/vis"])?)?;
    let line = one_error(&alice(&["repo", "settings", "alice/vis"])?)?;
    assert!(line.contains("nothing to change"), "{line}");
    let line = one_error(&s.run_as(seed::BOB, &["repo", "settings", "alice/vis", "--private"])?)?;
    assert!(line.contains("forbidden"), "{line}");

    let out = alice(&["repo", "move", "alice/vis", "acme/visible"])?;
    assert_eq!(ok(&out)?, format!("{}/acme/visible\n", s.hub.endpoint()));
    let info: serde_json::Value =
        serde_json::from_str(&ok(&s.run(&["repo", "info", "alice/vis", "--json"])?)?)?;
    assert_eq!(info["id"], "acme/visible", "the old name redirects");

    let mut files: Vec<String> =
        ok(&s.run(&["repo", "files", "acme/tiny-model"])?)?.lines().map(str::to_owned).collect();
    files.sort();
    assert_eq!(files, s.seeded_files("acme/tiny-model", "main")?);
    let dev = ok(&s.run(&["repo", "files", "acme/tiny-model", "--revision", "dev"])?)?;
    assert!(dev.lines().any(|l| l == "dev-only.txt"), "{dev}");

    let refs = |s: &Setup| -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::from_str(&ok(&s.run(&["repo", "refs", "acme/tiny-model", "--json"])?)?)?)
    };
    let names = |refs: &serde_json::Value, kind: &str| -> Vec<String> {
        let mut v: Vec<String> = refs[kind]
            .as_array()
            .map(|a| a.iter().filter_map(|r| r["name"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    let r = refs(&s)?;
    assert_eq!(names(&r, "branches"), ["dev", "main"]);
    assert_eq!(names(&r, "tags"), ["v1.0"]);
    assert_eq!(r["pullRequests"][0]["ref"], "refs/pr/1");
    assert_eq!(
        r["branches"]
            .as_array()
            .and_then(|b| b.iter().find(|b| b["name"] == "main"))
            .map(|b| b["targetCommit"].clone()),
        Some(s.commit("acme/tiny-model", "main")?.into())
    );
    let human = ok(&s.run(&["repo", "refs", "acme/tiny-model"])?)?;
    assert!(human.lines().any(|l| l.starts_with("tag") && l.contains("refs/tags/v1.0")), "{human}");

    let out =
        alice(&["repo", "branch", "create", "acme/tiny-model", "feature", "--revision", "v1.0"])?;
    ok(&out)?;
    let r = refs(&s)?;
    assert_eq!(names(&r, "branches"), ["dev", "feature", "main"]);
    let feature = r["branches"].as_array().and_then(|b| b.iter().find(|b| b["name"] == "feature"));
    assert_eq!(
        feature.map(|f| f["targetCommit"].clone()),
        Some(s.commit("acme/tiny-model", "v1.0")?.into())
    );
    one_error(&alice(&["repo", "branch", "create", "acme/tiny-model", "feature"])?)?;
    ok(&alice(&["repo", "branch", "delete", "acme/tiny-model", "feature", "-y"])?)?;
    assert_eq!(names(&refs(&s)?, "branches"), ["dev", "main"]);
    let line =
        one_error(&s.run_as(seed::BOB, &["repo", "branch", "create", "acme/tiny-model", "b"])?)?;
    assert!(line.contains("forbidden"), "{line}");

    ok(&alice(&["repo", "tag", "create", "acme/tiny-model", "v2", "-m", "second"])?)?;
    ok(&alice(&["repo", "tag", "create", "acme/tiny-model", "dev-tag", "--revision", "dev"])?)?;
    let r = refs(&s)?;
    assert_eq!(names(&r, "tags"), ["dev-tag", "v1.0", "v2"]);
    let dev_tag = r["tags"].as_array().and_then(|t| t.iter().find(|t| t["name"] == "dev-tag"));
    assert_eq!(
        dev_tag.map(|t| t["targetCommit"].clone()),
        Some(s.commit("acme/tiny-model", "dev")?.into())
    );
    one_error(&alice(&["repo", "tag", "create", "acme/tiny-model", "v2"])?)?;
    ok(&alice(&["repo", "tag", "delete", "acme/tiny-model", "v2", "-y"])?)?;
    ok(&alice(&["repo", "tag", "delete", "acme/tiny-model", "dev-tag", "-y"])?)?;
    assert_eq!(names(&refs(&s)?, "tags"), ["v1.0"]);
    Ok(())
}

/// The ids of `--json` listing output: one JSON array of the Hub's objects.
fn json_ids(out: &str) -> anyhow::Result<Vec<String>> {
    let items: Vec<serde_json::Value> =
        serde_json::from_str(out).with_context(|| format!("not one JSON array: {out:?}"))?;
    items.iter().map(|v| v["id"].as_str().map(str::to_owned).context("no id")).collect()
}

#[test]
fn models_datasets_and_spaces_list_by_library_and_filters() -> anyhow::Result<()> {
    let s = Setup::start()?;
    let out = ok(&s.run(&["models", "list", "--library", "pytorch", "--limit", "2", "--json"])?)?;
    assert_eq!(json_ids(&out)?, ["acme/gated-model", "acme/tiny-model"]);
    let out = ok(&s.run(&["models", "list", "--library", "pytorch", "--json"])?)?;
    assert_eq!(
        json_ids(&out)?,
        ["acme/gated-model", "acme/tiny-model", "julien-c/EsperBERTo-small"],
        "the private model is not listed for anonymous users"
    );
    let out = ok(&s.run_as(seed::ALICE, &["models", "list", "--library", "pytorch", "--json"])?)?;
    assert!(json_ids(&out)?.contains(&"acme/private-model".to_owned()), "{out}");

    let human = ok(&s.run(&["models", "list", "--library", "asteroid"])?)?;
    let lines: Vec<&str> = human.lines().collect();
    assert_eq!(lines.len(), 3, "a header, a rule, one model: {human}");
    assert!(lines[0].starts_with("ID ") && lines[0].contains(" TAGS"), "{human}");
    assert!(lines[2].starts_with("acme/tiny-model ") && lines[2].contains("asteroid"), "{human}");
    let out = ok(&s.run(&[
        "models",
        "list",
        "--filter",
        "transformers",
        "--filter",
        "fill-mask",
        "--json",
    ])?)?;
    assert_eq!(json_ids(&out)?, ["julien-c/EsperBERTo-small"]);
    let out = ok(&s.run(&["models", "list", "--search", "esper", "--json"])?)?;
    assert_eq!(json_ids(&out)?, ["julien-c/EsperBERTo-small"]);
    let out = ok(&s.run(&["models", "list", "--author", "julien-c", "--json"])?)?;
    assert_eq!(json_ids(&out)?, ["julien-c/EsperBERTo-small"]);
    let out = ok(&s.run(&["models", "list", "--sort", "likes", "--limit", "1", "--json"])?)?;
    assert_eq!(json_ids(&out)?, ["julien-c/EsperBERTo-small"]);
    assert_eq!(ok(&s.run(&["models", "list", "--library", "no-such-lib"])?)?, "");

    let out = ok(&s.run(&["datasets", "list", "--author", "acme", "--json"])?)?;
    assert_eq!(json_ids(&out)?, ["acme/tiny-dataset"]);
    let out = ok(&s.run(&["datasets", "list", "--filter", "language:en", "--json"])?)?;
    assert_eq!(json_ids(&out)?, ["acme/tiny-dataset"]);
    let out = ok(&s.run(&["spaces", "list", "--json"])?)?;
    assert_eq!(json_ids(&out)?, ["acme/tiny-space"]);

    // Across pages: the hub serves 2 per page here.
    s.hub.set_page_size(Some(2));
    s.hub.reset();
    let out = ok(&s.run(&["models", "list", "--json"])?)?;
    assert_eq!(
        json_ids(&out)?,
        ["acme/gated-model", "acme/tiny-model", "julien-c/EsperBERTo-small"]
    );
    assert_eq!(s.hub.stats().route("list-models"), 2);

    // A sort key the Hub does not know is refused before anything is sent.
    s.hub.reset();
    let out = s.run(&["models", "ls", "--sort", "nonsense"])?;
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        stderr(&out).starts_with(
            "error: invalid value 'nonsense' for '--sort <KEY>': expected one of downloads, \
             likes, last_modified, created_at, trending_score"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(s.hub.stats().route("list-models"), 0);
    let out = ok(&s.run(&["models", "ls", "--sort", "last_modified", "--json"])?)?;
    assert_eq!(json_ids(&out)?.len(), 3, "the Python spelling is sent as the Hub's: {out}");
    Ok(())
}

#[test]
fn errors_are_one_line_with_exit_1() -> anyhow::Result<()> {
    let s = Setup::start()?;
    let line = one_error(&s.run(&["repo", "info", "nobody/nothing"])?)?;
    assert!(line.contains("repository not found") && line.contains("nobody/nothing"), "{line}");
    let line = one_error(&s.run(&["repo", "files", "acme/tiny-model", "--revision", "nope"])?)?;
    assert!(line.contains("revision not found"), "{line}");
    one_error(&s.run(&["repo", "info", "not a repo id"])?)?;
    let out = s.run(&["repo", "info", "acme/tiny-model", "--type", "bucket"])?;
    assert_eq!(out.status.code(), Some(2), "refused by the parser: {out:?}");
    assert!(stderr(&out).contains("expected model, dataset or space"), "{}", stderr(&out));
    let line = one_error(&s.run_as(seed::ALICE_READ, &["repo", "create", "ro", "-y"])?)?;
    assert!(line.contains("forbidden"), "a read token cannot create: {line}");

    // The Hub unreachable: one line, naming the URL.
    let mut cmd = s.cli(&["models", "list"]);
    cmd.env("HF_ENDPOINT", "http://127.0.0.1:9");
    let line = one_error(&cmd.output()?)?;
    assert!(line.contains("127.0.0.1:9"), "{line}");
    Ok(())
}

#[test]
fn auth_keeps_named_tokens_lists_switches_and_logs_out_one() -> anyhow::Result<()> {
    let s = Setup::start()?;
    ok(&s.login(seed::ALICE)?)?;
    let out = s.run_with_stdin(&mut s.cli(&["auth", "login"]), &format!("{}\n", seed::BOB))?;
    assert!(stderr(&out).contains("logged in as bob (token \"bob-write\")"), "{}", stderr(&out));
    assert_eq!(ok(&s.run(&["auth", "list"])?)?, "  alice-write\n* bob-write\n");
    assert_eq!(ok(&s.run(&["auth", "whoami"])?)?, "bob\n");

    let out = s.run(&["auth", "switch", "--token-name", "alice-write"])?;
    assert_eq!(stderr(&out), "The active token is now \"alice-write\".\n");
    assert_eq!(ok(&s.run(&["auth", "list"])?)?, "* alice-write\n  bob-write\n");
    assert!(ok(&s.run(&["whoami"])?)?.starts_with("alice\n"), "the seed's name still works");
    assert_eq!(std::fs::read_to_string(s.token_file())?, seed::ALICE, "Python reads this file");
    let line = one_error(&s.run(&["auth", "switch", "--token-name", "nobody"])?)?;
    assert_eq!(line, "error: no stored token is named \"nobody\"; `hub-cli auth list` shows them");

    ok(&s.run(&["auth", "logout", "--token-name", "bob-write"])?)?;
    assert_eq!(ok(&s.run(&["auth", "list"])?)?, "* alice-write\n");
    ok(&s.run(&["auth", "logout", "--token-name", "alice-write"])?)?;
    assert!(!s.token_file().exists(), "the active token went with its name");
    let out = s.run(&["auth", "list"])?;
    assert_eq!(
        (stdout(&out).as_str(), stderr(&out).as_str()),
        ("", "No stored token: run `hub-cli auth login`.\n")
    );
    Ok(())
}

#[test]
fn repo_ids_take_type_prefixes_and_exist_ok_flags() -> anyhow::Result<()> {
    let s = Setup::start()?;
    let alice = |args: &[&str]| s.run_as(seed::ALICE, args);
    for id in ["datasets/acme/tiny-dataset", "hf://datasets/acme/tiny-dataset"] {
        let out = ok(&s.run(&["repos", "info", id, "--format", "json"])?)?;
        let info: serde_json::Value = serde_json::from_str(&out)?;
        assert_eq!(info["id"], "acme/tiny-dataset", "{id}: {out}");
    }
    let out =
        ok(&s.run(&["repos", "info", "acme/tiny-dataset", "--repo-type", "dataset", "--json"])?)?;
    assert!(out.contains("\"acme/tiny-dataset\""), "{out}");
    let line = one_error(&s.run(&[
        "repos",
        "info",
        "spaces/acme/tiny-space",
        "--repo-type",
        "dataset",
    ])?)?;
    assert_eq!(
        line,
        "error: 'spaces/acme/tiny-space' names a space but --repo-type says dataset: drop one of them"
    );

    // Creating asks nothing, even on a terminal-less stdin; again with --exist-ok is no error.
    ok(&alice(&["repos", "create", "twice"])?)?;
    ok(&alice(&["repos", "create", "twice", "--exist-ok"])?)?;
    ok(&alice(&["repos", "branch", "create", "twice", "dev"])?)?;
    one_error(&alice(&["repos", "branch", "create", "twice", "dev"])?)?;
    ok(&alice(&["repos", "branch", "create", "twice", "dev", "--exist-ok"])?)?;
    ok(&alice(&["repos", "tag", "create", "twice", "v1", "--revision", "dev"])?)?;
    let tags = ok(&alice(&["repos", "tag", "list", "alice/twice", "--format", "json"])?)?;
    let tags: Vec<serde_json::Value> = serde_json::from_str(&tags)?;
    assert_eq!(tags.len(), 1, "{tags:?}");
    assert_eq!(tags[0]["name"], "v1");
    ok(&alice(&["repos", "tag", "delete", "twice", "v1", "-y"])?)?;
    ok(&alice(&["repos", "branch", "delete", "twice", "dev", "-y"])?)?;
    let refs = ok(&alice(&["repos", "refs", "alice/twice"])?)?;
    assert!(!refs.contains("dev") && refs.contains("refs/heads/main"), "{refs}");
    Ok(())
}

#[test]
fn download_dry_run_shows_sizes_and_what_is_cached_and_fetches_nothing() -> anyhow::Result<()> {
    let s = Setup::start()?;
    let cache = s.dir.path().join("cache");
    let cache = cache.to_str().context("utf-8")?;
    let dry = |extra: &[&str]| -> anyhow::Result<String> {
        let mut args = vec!["download", "acme/tiny-model", "--cache-dir", cache, "--dry-run"];
        args.extend_from_slice(extra);
        ok(&s.run(&args)?)
    };
    s.hub.reset();
    let out = dry(&["--include", "*.json", "--include", "weights.bin"])?;
    let rows: Vec<Vec<&str>> =
        out.lines().skip(2).take(2).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(
        rows,
        [vec!["config.json", "20B", "download"], vec!["weights.bin", "1.6M", "download"]],
        "{out}"
    );
    assert!(out.contains("2 file(s) of acme/tiny-model at "), "{out}");
    assert!(out.contains("1.6M in all: 2 to download (1.6M), 0 cached."), "{out}");
    assert_eq!(s.hub.stats().route("resolve"), 0, "nothing was downloaded");
    assert!(!Path::new(cache).join("models--acme--tiny-model").exists(), "nothing was written");

    ok(&s.run(&["download", "acme/tiny-model", "config.json", "--cache-dir", cache])?)?;
    let out = dry(&["config.json", "weights.bin"])?;
    assert!(out.contains("1 to download (1.6M), 1 cached."), "{out}");
    let line = one_error(&s.run(&[
        "download",
        "acme/tiny-model",
        "nope.bin",
        "--cache-dir",
        cache,
        "--dry-run",
    ])?)?;
    assert_eq!(line, "error: nope.bin is not in acme/tiny-model at main");

    // A local dir: what a download put there (recorded at that commit) is there; a file of the
    // same name and size put by hand is not.
    let local = s.dir.path().join("local");
    let local = local.to_str().context("utf-8")?;
    ok(&s.run(&["download", "acme/tiny-model", "config.json", "--local-dir", local])?)?;
    let readme =
        ok(&s.run(&["download", "acme/tiny-model", "README.md", "--cache-dir", cache])?)?;
    let size = std::fs::metadata(readme.trim())?.len();
    std::fs::write(Path::new(local).join("README.md"), "x".repeat(usize::try_from(size)?))?;
    let mut args = vec!["download", "acme/tiny-model", "--local-dir", local, "--dry-run"];
    args.extend_from_slice(&["config.json", "README.md"]);
    let out = ok(&s.run(&args)?)?;
    let status = |file: &str| {
        let row = out.lines().find(|l| l.starts_with(&format!("{file} "))).unwrap_or_default();
        row.split_whitespace().last().unwrap_or_default().to_owned()
    };
    assert_eq!(
        (status("config.json"), status("README.md")),
        ("cached".into(), "download".into()),
        "{out}"
    );
    Ok(())
}
