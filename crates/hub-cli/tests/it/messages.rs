//! The messages a person acts on, line for line: the built `hub-cli` against a TestHub started
//! in-process (the default seed of `tests/README.md`), in an environment built from scratch
//! (`HOME`, `HF_HOME` and `HF_HUB_CACHE` in a temp dir, no token). Each test asserts the exact
//! line the user sees: why a command failed and what to do about it, a warning when a command
//! did nothing, results on stdout and messages on stderr.
#![cfg(unix)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use hub_tests::{TestHub, seed};

use crate::support::{Setup, ok, stderr, stdout};

/// The line every write without a token ends with.
const NOT_LOGGED_IN: &str = "error: not logged in: run `hub-cli auth login` or set HF_TOKEN";

/// The command failed with exit 1, nothing on stdout and exactly one line on stderr: that line.
fn only_error(out: &Output) -> anyhow::Result<String> {
    let err = stderr(out);
    if out.status.code() != Some(1) || !out.stdout.is_empty() {
        bail!("expected exit 1 and no stdout, got {} ({:?}, {err:?})", out.status, stdout(out));
    }
    match err.lines().collect::<Vec<_>>().as_slice() {
        [line] => Ok((*line).to_owned()),
        _ => bail!("expected one line on stderr: {err:?}"),
    }
}

/// The entries of a folder, sorted; none when it does not exist.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_write_without_a_token_says_not_logged_in_and_sends_nothing() -> anyhow::Result<()> {
    let s = Setup::start()?;
    let folder = s.dir.path().join("to-upload");
    std::fs::create_dir(&folder)?;
    std::fs::write(folder.join("a.txt"), "a")?;
    let folder = folder.to_str().context("UTF-8 temp dir")?;
    s.hub.reset();
    for args in [
        &["repo", "create", "foo/bar"][..],
        &["repo", "create", "bar"],
        &["upload", "alice/x", folder],
        // A private repo: anonymous, the Hub would say "repository not found".
        &["upload", "acme/private-model", folder],
        &["repo", "delete", "alice/x", "-y"],
        // Not logged in is said before the question, which is not asked.
        &["repo", "delete", "acme/tiny-model"],
        &["repo", "move", "acme/tiny-model", "acme/other"],
        &["repo", "settings", "acme/tiny-model", "--private"],
        &["repo", "branch", "create", "acme/tiny-model", "b"],
        &["repo", "tag", "delete", "acme/tiny-model", "v1.0"],
    ] {
        let line = only_error(&s.run(args)?).with_context(|| format!("{args:?}"))?;
        assert_eq!(line, NOT_LOGGED_IN, "{args:?}");
    }
    assert_eq!(s.hub.stats().log.len(), 0, "nothing may be sent without a token");
    Ok(())
}

#[test]
fn repo_delete_missing_ok_of_a_missing_repo_says_nothing_was_deleted() -> anyhow::Result<()> {
    let s = Setup::start()?;
    let out = s.run_as(seed::ALICE, &["repo", "delete", "alice/nope", "--missing-ok", "-y"])?;
    assert_eq!(ok(&out)?, "", "no result on stdout");
    let question =
        format!("You are about to delete {}/alice/nope and everything in it.", s.hub.endpoint());
    assert_eq!(
        stderr(&out).lines().collect::<Vec<_>>(),
        [question.as_str(), "alice/nope does not exist: nothing was deleted."]
    );

    // One that exists is deleted, and said so.
    ok(&s.run_as(seed::ALICE, &["repo", "create", "alice/short-lived"])?)?;
    let out =
        s.run_as(seed::ALICE, &["repo", "delete", "alice/short-lived", "--missing-ok", "-y"])?;
    ok(&out)?;
    assert_eq!(stderr(&out).lines().last(), Some("Deleted alice/short-lived."));
    Ok(())
}

#[test]
fn creating_a_repo_that_exists_suggests_exist_ok() -> anyhow::Result<()> {
    let s = Setup::start()?;
    ok(&s.run_as(seed::ALICE, &["repo", "create", "alice/twice"])?)?;
    let line = only_error(&s.run_as(seed::ALICE, &["repo", "create", "alice/twice"])?)?;
    assert_eq!(
        line,
        format!(
            "error: repository alice/twice already exists at {}/alice/twice; pass --exist-ok to \
             use it as it is",
            s.hub.endpoint()
        )
    );
    let line = only_error(
        &s.run_as(seed::ALICE, &["repo", "create", "acme/tiny-dataset", "--type", "dataset"])?,
    )?;
    assert_eq!(
        line,
        format!(
            "error: repository datasets/acme/tiny-dataset already exists at \
             {}/datasets/acme/tiny-dataset; pass --exist-ok to use it as it is",
            s.hub.endpoint()
        )
    );
    let out = s.run_as(seed::ALICE, &["repo", "create", "alice/twice", "--exist-ok"])?;
    assert_eq!(ok(&out)?, format!("{}/alice/twice\n", s.hub.endpoint()));
    Ok(())
}

/// Whether this process may write into a folder whose write bits are off (root may).
fn permissions_are_enforced(dir: &Path) -> anyhow::Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    let probe = dir.join("probe");
    std::fs::create_dir(&probe)?;
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o555))?;
    let denied = std::fs::write(probe.join("file"), "x").is_err();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o755))?;
    Ok(denied)
}

#[test]
fn an_os_error_is_told_once_with_the_path_and_how_to_move_the_cache() -> anyhow::Result<()> {
    let s = Setup::start()?;
    // A cache below a regular file: "Not a directory", as root too.
    let file = s.dir.path().join("a-file");
    std::fs::write(&file, "not a folder")?;
    let cache = file.join("hub");
    let mut cmd = s.cli(&["download", "acme/tiny-model", "config.json"]);
    let line = only_error(&cmd.env("HF_HUB_CACHE", &cache).output()?)?;
    assert_eq!(
        line,
        format!(
            "error: cannot write to the cache at {}: Not a directory (os error 20); part of \
             that path is a file, not a folder; set HF_HUB_CACHE to a writable folder",
            cache.join("models--acme--tiny-model/blobs").display()
        )
    );
    assert_eq!(line.matches("os error").count(), 1, "{line}");

    // A cache the user may not write to (not provable as root, who may).
    if permissions_are_enforced(s.dir.path())? {
        use std::os::unix::fs::PermissionsExt;
        let cache = s.dir.path().join("read-only");
        std::fs::create_dir(&cache)?;
        std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o555))?;
        let mut cmd = s.cli(&["download", "acme/tiny-model"]);
        let out = cmd.env("HF_HUB_CACHE", &cache).output()?;
        std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o755))?;
        let line = only_error(&out)?;
        // The folder at fault, its owner (this user, whose name depends on the machine) and
        // its mode, and what to do.
        let start = format!("error: cannot write to {}: it belongs to ", cache.display());
        assert!(line.starts_with(&start), "{line}");
        assert!(
            line.ends_with(
                " mode dr-xr-xr-x); run `chmod u+w` on that folder, or set HF_HUB_CACHE to \
                 another folder"
            ),
            "{line}"
        );
    }
    Ok(())
}

#[test]
fn scan_cache_of_a_file_says_it_is_a_file() -> anyhow::Result<()> {
    let s = Setup::start()?;
    let file = s.dir.path().join("cache.txt");
    std::fs::write(&file, "")?;
    let line = only_error(&s.run(&["scan-cache", "--dir", file.to_str().context("UTF-8")?])?)?;
    assert_eq!(
        line,
        format!(
            "error: {} is a file, not a folder; pass the cache folder (or set HF_HUB_CACHE to it)",
            file.display()
        )
    );
    Ok(())
}

/// A front to the TestHub that answers as huggingface.co does for a gated repo: its info is
/// public (asked here with carol's token, who has access), its files are not (asked without a
/// token). One request per connection (`Connection: close`); it serves until the test ends.
fn public_gated_info(hub: &TestHub) -> anyhow::Result<String> {
    let upstream = hub.endpoint().trim_start_matches("http://").to_owned();
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let front = format!("http://{}", listener.local_addr()?);
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let upstream = upstream.clone();
            std::thread::spawn(move || forward(conn, &upstream));
        }
    });
    Ok(front)
}

/// Reads up to the end of an HTTP head; returns the head and the bytes after it.
fn read_head(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = raw.split_off(end + 4);
            return Some((String::from_utf8_lossy(&raw).into_owned(), rest));
        }
        let n = stream.read(&mut buf).ok().filter(|n| *n > 0)?;
        raw.extend_from_slice(&buf[..n]);
    }
}

/// The head without its `Connection` (and `Host` / `Authorization`, when replaced) lines,
/// ending with `Connection: close` and the given extra lines.
fn rewrite_head(head: &str, drop: &[&str], extra: &[String]) -> String {
    let mut lines: Vec<String> = head
        .trim_end()
        .split("\r\n")
        .filter(|l| {
            let name = l.split(':').next().unwrap_or_default().trim().to_ascii_lowercase();
            name != "connection" && !drop.contains(&name.as_str())
        })
        .map(str::to_owned)
        .collect();
    lines.push("Connection: close".to_owned());
    lines.extend(extra.iter().cloned());
    format!("{}\r\n\r\n", lines.join("\r\n"))
}

fn forward(mut client: TcpStream, upstream: &str) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let Some((head, mut body)) = read_head(&mut client) else { return };
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while body.len() < length {
        let mut buf = [0u8; 8192];
        match client.read(&mut buf) {
            Ok(n) if n > 0 => body.extend_from_slice(&buf[..n]),
            _ => return,
        }
    }
    let target = head.split_whitespace().nth(1).unwrap_or_default();
    let mut extra = vec![format!("Host: {upstream}")];
    if target.starts_with("/api/") {
        extra.push(format!("Authorization: Bearer {}", seed::CAROL));
    }
    let request = rewrite_head(&head, &["host", "authorization"], &extra);
    let Ok(mut hub) = TcpStream::connect(upstream) else { return };
    if hub.write_all(request.as_bytes()).and_then(|()| hub.write_all(&body)).is_err() {
        return;
    }
    let mut answer = Vec::new();
    if hub.read_to_end(&mut answer).is_err() {
        return;
    }
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else { return };
    let response = rewrite_head(&String::from_utf8_lossy(&answer[..end + 4]), &[], &[]);
    let _ =
        client.write_all(response.as_bytes()).and_then(|()| client.write_all(&answer[end + 4..]));
}

#[test]
fn a_gated_download_that_fails_leaves_no_folder_behind() -> anyhow::Result<()> {
    let s = Setup::start()?;
    let gated_folder = s.cache().join("models--acme--gated-model");
    // The TestHub refuses even the gated repo's info without access.
    for args in
        [&["download", "acme/gated-model"][..], &["download", "acme/gated-model", "config.json"]]
    {
        let line = only_error(&s.run(args)?)?;
        assert!(line.starts_with("error: cannot access gated repo: "), "{line}");
        assert_eq!(entries(&s.cache()), Vec::<String>::new(), "{args:?}: nothing in the cache");
    }

    // huggingface.co shows the info of a gated repo to anyone, and refuses its files: the
    // snapshot's files fail after its info was read.
    let front = public_gated_info(&s.hub)?;
    let out = s.cli(&["download", "acme/gated-model"]).env("HF_ENDPOINT", &front).output()?;
    let line = only_error(&out)?;
    assert!(line.starts_with("error: cannot access gated repo: "), "{line}");
    assert!(line.contains("/acme/gated-model/resolve/"), "a file was refused: {line}");
    assert!(!gated_folder.exists(), "left behind: {:?}", entries(&gated_folder));
    assert_eq!(entries(&s.cache()), Vec::<String>::new(), "nothing in the cache");

    // The same front serves a download that works: then the snapshot is there.
    let mut cmd = s.cli(&["download", "acme/tiny-model", "--include", "*.json"]);
    let folder = ok(&cmd.env("HF_ENDPOINT", &front).output()?)?;
    assert!(Path::new(folder.trim()).join("config.json").is_file(), "{folder}");
    Ok(())
}

#[test]
fn download_include_matching_nothing_warns_and_max_workers_0_is_refused() -> anyhow::Result<()> {
    let s = Setup::start()?;
    let out = s.run(&["download", "acme/tiny-model", "--include", "nomatch*"])?;
    let folder = ok(&out)?;
    assert_eq!(
        stderr(&out),
        "warning: no file of acme/tiny-model matches --include 'nomatch*'; nothing was downloaded\n"
    );
    assert_eq!(entries(Path::new(folder.trim())), Vec::<String>::new(), "an empty snapshot");
    let out =
        s.run(&["download", "acme/tiny-model", "--include", "*.json", "--exclude", "*.json"])?;
    ok(&out)?;
    assert_eq!(
        stderr(&out),
        "warning: no file of acme/tiny-model matches --include '*.json' --exclude '*.json'; \
         nothing was downloaded\n"
    );
    // A pattern that matches: no warning.
    let out = s.run(&["download", "acme/tiny-model", "--include", "*.json"])?;
    ok(&out)?;
    assert_eq!(stderr(&out), "");

    let out = s.run(&["download", "acme/tiny-model", "--max-workers", "0"])?;
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert_eq!(
        stderr(&out).lines().next(),
        Some("error: invalid value '0' for '--max-workers <N>': expected a number from 1 to 65535")
    );
    Ok(())
}

/// `GET url` with no token, on a fresh connection: the JSON body of a 200.
fn get_json(url: &str) -> anyhow::Result<serde_json::Value> {
    let rest = url.strip_prefix("http://").context("only http:// URLs")?;
    let (authority, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(stream, "GET {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n")?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").context("no HTTP head")?;
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    if !head.starts_with("http/1.1 200") {
        bail!("GET {url}: {head}");
    }
    let mut body = raw[end + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body)?;
    }
    serde_json::from_slice(&body).with_context(|| format!("GET {url}: not JSON"))
}

/// The payload of a chunked body.
fn dechunk(mut raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = raw.windows(2).position(|w| w == b"\r\n").context("a chunk size line")?;
        let size = std::str::from_utf8(&raw[..eol])?.split(';').next().unwrap_or_default();
        let size = usize::from_str_radix(size.trim(), 16)?;
        if size == 0 {
            return Ok(out);
        }
        let chunk = raw.get(eol + 2..eol + 2 + size).context("a truncated chunk")?;
        out.extend_from_slice(chunk);
        raw = raw.get(eol + 4 + size..).context("a truncated chunk")?;
    }
}

#[test]
fn json_output_is_what_the_hub_sent() -> anyhow::Result<()> {
    let s = Setup::start()?;
    let ep = s.hub.endpoint();
    let printed = |args: &[&str]| -> anyhow::Result<serde_json::Value> {
        Ok(serde_json::from_str(&ok(&s.run(args)?)?)?)
    };
    assert_eq!(
        printed(&["repo", "info", "acme/tiny-model", "--json"])?,
        get_json(&format!("{ep}/api/models/acme/tiny-model?blobs=true"))?
    );
    assert_eq!(
        printed(&["repo", "info", "acme/tiny-model", "--revision", "v1.0", "--json"])?,
        get_json(&format!("{ep}/api/models/acme/tiny-model/revision/v1.0?blobs=true"))?
    );
    assert_eq!(
        printed(&["repo", "refs", "acme/tiny-model", "--json"])?,
        get_json(&format!("{ep}/api/models/acme/tiny-model/refs?include_prs=1"))?
    );

    let sent = get_json(&format!("{ep}/api/models?filter=pytorch"))?;
    let array = printed(&["models", "list", "--library", "pytorch", "--json"])?;
    assert_eq!(array, sent, "one JSON array of the items, as sent");
    let lines = ok(&s.run(&["models", "ls", "--library", "pytorch", "--format", "jsonl"])?)?;
    let listed: Vec<serde_json::Value> =
        lines.lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    assert_eq!(Some(&listed), sent.as_array(), "jsonl: one line per item, as sent");
    assert!(listed.len() >= 2, "{lines}");
    Ok(())
}

#[test]
fn lfs_enable_largefiles_tells_on_stderr() -> anyhow::Result<()> {
    let s = Setup::start()?;
    let clone = s.dir.path().join("clone");
    let init = Command::new("git").args(["init", "-q"]).arg(&clone).output()?;
    assert!(init.status.success(), "git init: {}", stderr(&init));
    let out = s.run(&["lfs-enable-largefiles", clone.to_str().context("UTF-8")?])?;
    assert_eq!(ok(&out)?, "", "nothing on stdout");
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(lines[0].starts_with("lfs.customtransfer.multipart.path = /"), "{err}");
    assert_eq!(lines[1], "lfs.customtransfer.multipart.args = lfs-multipart-upload");
    assert!(lines[2].starts_with("Local repo set up for largefiles"), "{err}");
    Ok(())
}

#[test]
fn repo_create_asks_nothing_and_delete_still_asks() -> anyhow::Result<()> {
    let s = Setup::start()?;
    let ep = s.hub.endpoint();
    // An answer on stdin that would refuse, were a question asked.
    let mut child = s
        .cli(&["repo", "create", "alice/asked-nothing"])
        .env("HF_TOKEN", seed::ALICE)
        .stdin(Stdio::piped())
        .spawn()?;
    child.stdin.take().context("stdin")?.write_all(b"n\n")?;
    let out = child.wait_with_output()?;
    assert_eq!(ok(&out)?, format!("{ep}/alice/asked-nothing\n"));
    let err = stderr(&out);
    assert!(!err.contains("You are about to") && !err.contains("Proceed?"), "{err}");
    // -y is still accepted (and hidden from the help).
    let out = s.run_as(seed::ALICE, &["repo", "create", "alice/old-script", "-y"])?;
    assert_eq!(ok(&out)?, format!("{ep}/alice/old-script\n"));
    let help = ok(&s.run(&["repo", "create", "--help"])?)?;
    assert!(!help.contains("--yes"), "{help}");

    // Delete asks; "n" keeps the repo.
    let mut child = s
        .cli(&["repo", "delete", "alice/asked-nothing"])
        .env("HF_TOKEN", seed::ALICE)
        .stdin(Stdio::piped())
        .spawn()?;
    child.stdin.take().context("stdin")?.write_all(b"n\n")?;
    let out = child.wait_with_output()?;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    // The answer is not echoed from a pipe: the error follows the question on its line.
    assert_eq!(
        err.lines().last(),
        Some("Proceed? [y/N] error: aborted: nothing was deleted (pass -y to skip the question)"),
        "{err}"
    );
    ok(&s.run(&["repo", "info", "alice/asked-nothing"])?)?;
    Ok(())
}
