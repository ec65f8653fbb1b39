//! `cargo xtask bench upload-http` (`hub-bench upload-http`): how fast `hub-cli upload` publishes a model folder (one
//! large LFS file and many small text files) to the local Hub over HTTP, in one commit
//! (preupload, LFS batch, part PUTs, completion, NDJSON commit), against one `curl -T` of a
//! file of the large one's size to the same storage host, measured in one run; then the same
//! upload again, which must send nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use hub_tests::TestHub;
use hub_url::env::{
    HF_ENDPOINT, HF_HOME, HF_HUB_DISABLE_IMPLICIT_TOKEN, HF_HUB_OFFLINE, HF_HUB_UPLOAD_RETRIES,
    HF_TOKEN, HF_TOKEN_PATH, HUGGING_FACE_HUB_TOKEN,
};

use super::{
    CONNECTIONS_VAR, Check, Opts, Row, Scratch, connections_label, curl_put, figures_table,
    format_mib, mib_per_sec, release_binaries, require_command, rss_check, start_upload_hub, table,
    targets_table, varied_file,
};
use crate::hub::{self, HubApi};
use crate::measure::{Measured, busy_note, measured};
use crate::util::{say, step};

pub(super) const HELP: &str = "\
cargo xtask bench upload-http [--size BYTES] [--small N] [--keep]

Builds hub-cli in release mode, writes a model folder (model.bin, BYTES varied bytes, and N
small JSON files of a few KiB under configs/) and a second file of BYTES bytes for curl,
starts the local Hub on loopback with a multipart threshold of at most BYTES and parts of
64 MiB, and measures, in the same run:
  curl -T     one PUT of the second file to its signed basic-upload URL on the storage host
              (the baseline, in a repo of its own), after an untimed warm-up run
  first run   hub-cli upload alice/bench-http FOLDER (the repo does not exist yet): its wall
              time, the MiB/s of the whole folder, its peak RSS, and the requests the Hub and
              the storage host received, by route
  second run  the same command again, unchanged: it must send no LFS bytes and make no commit
then prints the figures, the ratio to curl -T (no target) and the targets (ok / MISSED).
Missed targets do not fail the command: it fails only when something cannot run.
HF_HUB_UPLOAD_CONNECTIONS, when set, reaches hub-cli (parts in flight, default 8).
Needs curl and openssl; no internet.
Run it on an idle machine: it measures the CPU other processes (builds, test suites) use
during each measurement and flags the figures they may have skewed with (!).

Options:
  --size BYTES  size of the large file: bytes, or with KiB/MiB/GiB (default 2GiB)
  --small N     number of small files (default 200)
  --keep        keep the scratch directory (the folder, the Hub's root) instead of deleting it
";

const REPO_ID: &str = "alice/bench-http";
const CURL_REPO_NAME: &str = "bench-http-curl";
const LARGE_FILE: &str = "model.bin";
const SMALL_DIR: &str = "configs";
/// What `hub-cli upload` says on stderr when the branch already has every file.
const NO_COMMIT: &str = "no commit was made";

/// The routes of an upload, in the order it uses them, and how the report names them.
const ROUTES: [(&str, &str); 8] = [
    ("repo-create", "repo create"),
    ("preupload", "preupload"),
    ("lfs-batch", "LFS batch"),
    ("cdn-upload", "basic PUTs (storage host)"),
    ("cdn-part", "part PUTs (storage host)"),
    ("lfs-complete", "multipart completion"),
    ("lfs-verify", "verify"),
    ("commit", "commit"),
];

pub(super) fn run(opts: &Opts) -> anyhow::Result<()> {
    let bin = release_binaries()?;
    let hub_cli = bin.join("hub-cli");
    require_command(&hub_cli, "upload")?;
    let scratch = Scratch::create("upload-http", opts.keep)?;

    let folder = scratch.path.join("bench-http");
    std::fs::create_dir_all(folder.join(SMALL_DIR))?;
    step(&format!(
        "a model folder: {LARGE_FILE} of {} bytes of varied content and {} small JSON files; \
         a file of the same size for curl",
        opts.size, opts.small
    ));
    varied_file(&folder.join(LARGE_FILE), opts.size, "bench/hub-cli")?;
    let small_bytes = write_small_files(&folder.join(SMALL_DIR), opts.small)?;
    say(&format!("{}/{SMALL_DIR}: {} files, {small_bytes} bytes", folder.display(), opts.small));
    let curl_file = varied_file(&scratch.path.join("curl.bin"), opts.size, "bench/curl")?;

    let (hub, threshold) = start_upload_hub(&scratch, opts.size)?;
    let api = HubApi::new(&hub, CURL_REPO_NAME)?;
    api.create_repo()?;
    let put_url = api.basic_put_url(&hub, &curl_file, threshold)?;
    let (curl_run, others_curl) = curl_put(&curl_file, &put_url)?;

    let mut upload = Command::new(&hub_cli);
    upload
        .args(["upload", REPO_ID])
        .arg(&folder)
        .env(HF_ENDPOINT, hub.endpoint())
        .env(HF_TOKEN, hub::TOKEN)
        .env(HF_HOME, scratch.path.join("home"));
    for var in [
        HUGGING_FACE_HUB_TOKEN,
        HF_TOKEN_PATH,
        HF_HUB_OFFLINE,
        HF_HUB_DISABLE_IMPLICIT_TOKEN,
        HF_HUB_UPLOAD_RETRIES,
    ] {
        upload.env_remove(var);
    }
    step(&format!("hub-cli upload {REPO_ID}: the whole folder in one commit"));
    let first = upload_run(&hub, &upload)?;
    let files = api.file_count(REPO_ID)?;
    say(&format!("{REPO_ID} now holds {files} files"));
    step("hub-cli upload again, unchanged: nothing to send, no commit");
    let second = upload_run(&hub, &upload)?;

    drop(hub);
    let figures = Figures {
        size: opts.size,
        small_files: opts.small,
        small_bytes,
        files,
        connections: std::env::var(CONNECTIONS_VAR).ok(),
        curl: curl_run,
        others_curl,
        first,
        second,
    };
    step("results");
    say(&report_text(&figures));
    Ok(())
}

/// Writes `count` JSON files of a few KiB each (`config_000.json`, …), as a model's configs
/// and indexes would be; returns their total size.
fn write_small_files(dir: &Path, count: usize) -> anyhow::Result<u64> {
    let mut total = 0;
    for i in 0..count {
        let text = small_file_text(i);
        std::fs::write(dir.join(format!("config_{i:03}.json")), &text)?;
        total += text.len() as u64;
    }
    Ok(total)
}

/// A JSON object of 1.5 to 5 KiB, different for every `i`.
fn small_file_text(i: usize) -> String {
    let entries = 25 + i * 7 % 55;
    let mut text = format!("{{\n  \"name\": \"config_{i:03}\",\n  \"weight_map\": {{\n");
    for j in 0..entries {
        let sep = if j + 1 < entries { "," } else { "" };
        let _ = writeln!(
            text,
            "    \"layers.{j}.attention.weight\": \"model-{:05}-of-00200.bin\"{sep}",
            (i + j) % 200
        );
    }
    text.push_str("  }\n}\n");
    text
}

/// One `hub-cli upload`: its figures, what it printed and the requests it made, by route.
#[derive(Debug, Clone, PartialEq)]
struct UploadRun {
    measured: Measured,
    others: f64,
    requests: BTreeMap<String, u64>,
}

impl UploadRun {
    fn count(&self, route: &str) -> u64 {
        self.requests.get(route).copied().unwrap_or(0)
    }

    fn total(&self) -> u64 {
        self.requests.values().sum()
    }

    /// Requests that carried LFS bytes to the storage host.
    fn lfs_puts(&self) -> u64 {
        self.count("cdn-upload") + self.count("cdn-part")
    }

    fn said_no_commit(&self) -> bool {
        self.measured.stderr.contains(NO_COMMIT)
    }
}

/// Runs `upload` under the measuring helper and counts the requests the Hub received meanwhile.
fn upload_run(hub: &TestHub, upload: &Command) -> anyhow::Result<UploadRun> {
    let before = hub.stats().requests;
    let (measured, others) = measured(upload)?;
    let requests = requests_since(&before, &hub.stats().requests);
    for line in measured.stdout.lines().chain(measured.stderr.lines()) {
        say(line);
    }
    say(&format!(
        "{:.3} s, peak RSS {}, {} requests{}",
        measured.secs,
        format_mib(measured.max_rss_bytes),
        requests.values().sum::<u64>(),
        busy_note(others)
    ));
    Ok(UploadRun { measured, others, requests })
}

/// The requests by route between two readings of the Hub's counters (routes with none left
/// out).
fn requests_since(
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

/// Everything one run measures.
#[derive(Debug, Clone, PartialEq)]
struct Figures {
    size: u64,
    small_files: usize,
    small_bytes: u64,
    /// Files in the repo after the first run.
    files: usize,
    /// `HF_HUB_UPLOAD_CONNECTIONS`, when set.
    connections: Option<String>,
    curl: Measured,
    others_curl: f64,
    first: UploadRun,
    second: UploadRun,
}

fn checks(f: &Figures) -> Vec<Check> {
    let zero = |what: &str, n: u64| Check {
        what: what.to_owned(),
        measured: n.to_string(),
        required: "0".to_owned(),
        ok: n == 0,
    };
    let expected_files = f.small_files + 2;
    vec![
        Check {
            what: "files in the repo after the first run".to_owned(),
            measured: f.files.to_string(),
            required: format!("{expected_files} (with .gitattributes)"),
            ok: f.files == expected_files,
        },
        rss_check("hub-cli upload", f.first.measured.max_rss_bytes),
        zero("second run: LFS PUTs", f.second.lfs_puts()),
        zero("second run: commits", f.second.count("commit")),
        Check {
            what: format!("second run says \"{NO_COMMIT}\""),
            measured: if f.second.said_no_commit() { "yes" } else { "no" }.to_owned(),
            required: "yes".to_owned(),
            ok: f.second.said_no_commit(),
        },
    ]
}

/// The requests of both runs by route: the upload's routes first, then any other, then the
/// total.
fn requests_table(first: &UploadRun, second: &UploadRun) -> String {
    let mut rows = vec![["requests", "first run", "second run"].map(str::to_owned).to_vec()];
    let mut row =
        |name: &str, a: u64, b: u64| rows.push(vec![name.to_owned(), a.to_string(), b.to_string()]);
    for (route, name) in ROUTES {
        row(name, first.count(route), second.count(route));
    }
    let known = |route: &str| ROUTES.iter().any(|(r, _)| *r == route);
    let others: std::collections::BTreeSet<&String> =
        first.requests.keys().chain(second.requests.keys()).filter(|r| !known(r)).collect();
    for route in others {
        row(route, first.count(route), second.count(route));
    }
    row("total", first.total(), second.total());
    table("<>>", &rows)
}

fn report_text(f: &Figures) -> String {
    let total = f.size + f.small_bytes;
    let connections = connections_label(f.connections.as_deref());
    let upload_row = |run: &str, r: &UploadRun| {
        Row::transfer(run, total, r.measured.secs, Some(r.measured.max_rss_bytes), r.others)
    };
    let second = Row {
        speed: format!("{} LFS PUTs", f.second.lfs_puts()),
        ..upload_row("hub-cli upload, second run (unchanged)", &f.second)
    };
    let rows = [
        Row::transfer(
            &format!("curl -T, one PUT of {}", format_mib(f.size)),
            f.size,
            f.curl.secs,
            Some(f.curl.max_rss_bytes),
            f.others_curl,
        ),
        upload_row(&format!("hub-cli upload, first run ({connections})"), &f.first),
        second,
    ];
    let ratio = mib_per_sec(total, f.first.measured.secs) / mib_per_sec(f.size, f.curl.secs);
    format!(
        "folder: {LARGE_FILE} of {} ({} bytes) and {} small files of {} in all: {} to upload\n\n\
         {}\nhub-cli upload (whole folder) / curl -T (large file alone): {ratio:.2}x (no target)\n\n\
         {}\n{}",
        format_mib(f.size),
        f.size,
        f.small_files,
        format_mib(f.small_bytes),
        format_mib(total),
        figures_table(&rows),
        requests_table(&f.first, &f.second),
        targets_table(&checks(f)),
    )
}

#[cfg(test)]
mod tests {
    use super::super::DEFAULT_SMALL_FILES;
    use super::*;

    #[test]
    fn writes_small_json_files() {
        for i in 0..DEFAULT_SMALL_FILES {
            let text = small_file_text(i);
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(value["name"], format!("config_{i:03}"));
            assert!((1500..=5 * 1024).contains(&text.len()), "{i}: {} bytes", text.len());
        }
        assert_ne!(small_file_text(1), small_file_text(2));
    }

    fn run(secs: f64, requests: &[(&str, u64)], stderr: &str) -> UploadRun {
        UploadRun {
            measured: Measured {
                secs,
                max_rss_bytes: 30 << 20,
                stdout: "http://h/alice/bench-http/commit/abc\n".to_owned(),
                stderr: stderr.to_owned(),
            },
            others: 1.0,
            requests: requests.iter().map(|(r, n)| ((*r).to_owned(), *n)).collect(),
        }
    }

    fn figures() -> Figures {
        Figures {
            size: 1 << 30,
            small_files: 200,
            small_bytes: 1 << 20,
            files: 202,
            connections: None,
            curl: Measured {
                secs: 2.0,
                max_rss_bytes: 5 << 20,
                stdout: String::new(),
                stderr: String::new(),
            },
            others_curl: 0.0,
            first: run(
                2.5,
                &[
                    ("repo-create", 1),
                    ("preupload", 1),
                    ("lfs-batch", 1),
                    ("cdn-part", 16),
                    ("lfs-complete", 1),
                    ("commit", 1),
                    ("repo-info", 2),
                ],
                "1 LFS file(s) uploaded.\n",
            ),
            second: run(
                0.2,
                &[("repo-create", 1), ("preupload", 1), ("lfs-batch", 1)],
                "Nothing changed since the last commit: no commit was made.\n",
            ),
        }
    }

    fn words(text: &str, start: &str) -> String {
        let line = text
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("{start}: {text}"));
        line.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn reports_the_figures_requests_and_targets() {
        let text = report_text(&figures());
        assert!(text.starts_with("folder: model.bin of 1024.0 MiB (1073741824 bytes) and 200 small files of 1.0 MiB in all: 1025.0 MiB to upload"), "{text}");
        assert_eq!(
            words(&text, "curl -T"),
            "curl -T, one PUT of 1024.0 MiB 2.000 s 512 MiB/s 5.0 MiB 0%"
        );
        assert_eq!(
            words(&text, "hub-cli upload, first"),
            "hub-cli upload, first run (8 connections, the default) 2.500 s 410 MiB/s 30.0 MiB 1%"
        );
        assert_eq!(
            words(&text, "hub-cli upload, second"),
            "hub-cli upload, second run (unchanged) 0.200 s 0 LFS PUTs 30.0 MiB 1%"
        );
        assert!(text.contains("/ curl -T (large file alone): 0.80x (no target)"), "{text}");
        assert_eq!(words(&text, "part PUTs"), "part PUTs (storage host) 16 0");
        assert_eq!(words(&text, "commit "), "commit 1 0");
        assert_eq!(words(&text, "repo-info"), "repo-info 2 0");
        assert_eq!(words(&text, "total"), "total 23 3");
        assert_eq!(words(&text, "second run: LFS"), "second run: LFS PUTs 0 0 ok");
        assert_eq!(
            words(&text, "second run says"),
            "second run says \"no commit was made\" yes yes ok"
        );
        assert!(!text.contains("MISSED"), "{text}");
    }

    #[test]
    fn counts_the_requests_of_one_run() {
        let counts = |list: &[(&str, u64)]| -> BTreeMap<String, u64> {
            list.iter().map(|(r, n)| ((*r).to_owned(), *n)).collect()
        };
        let before = counts(&[("preupload", 1), ("repo-info", 2)]);
        let after = counts(&[("preupload", 2), ("repo-info", 2), ("commit", 1)]);
        assert_eq!(requests_since(&before, &after), counts(&[("preupload", 1), ("commit", 1)]));
    }

    #[test]
    fn reports_a_second_run_that_sends_again() {
        let mut f = figures();
        f.second = f.first.clone();
        f.files = 3;
        let text = report_text(&f);
        assert_eq!(text.matches("MISSED").count(), 4, "{text}");
    }
}
