//! `cargo xtask bench`: how fast `hub-cli` moves large LFS files to and from the local Hub,
//! against a baseline measured in the same run (`download`: curl and `openssl dgst -sha256`;
//! `upload`: `curl -T`).
//!
//! What the benchmarks share lives here: the options, the release build, the scratch directory,
//! the measuring helper (wall time and peak RSS of one program), the meter of the CPU other
//! processes use meanwhile, and the tables of figures and targets.

mod cluster;
mod download;
mod upload;
mod upload_http;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{Value, json};

use crate::demo::{LocalHub, start_hub};
use crate::util::{
    cargo, describe, exec, output, project_root, say, sha256_file, step, table, write_varied_file,
};

const BENCH_HELP: &str = "\
cargo xtask bench <BENCHMARK>

Benchmarks:
  download  hub-cli download of a large LFS file against curl and sha256, peak RSS, cached lookups
  upload    hub-cli lfs-multipart-upload (the git-lfs agent) of a large file against curl -T,
            peak RSS
  upload-http
            hub-cli upload of a folder (a large file, many small ones) in one commit over HTTP,
            against curl -T of the large file; peak RSS, requests by route, an unchanged re-run
  cluster   N nodes sharing one cache (bindfs views, one UTS namespace each): hub-cli and the
            Python client on one large file and on a snapshot; CDN bytes, wall time, peak RSS

Run `cargo xtask bench <BENCHMARK> --help` for its options.
";

const MIB: f64 = 1024.0 * 1024.0;
const DEFAULT_SIZE: u64 = 2 << 30;
/// The small files of `bench upload-http`, as many as a model's configs might be.
const DEFAULT_SMALL_FILES: usize = 200;
/// The rounds of measurements of `bench download`: one run varies by up to 2x on a small VM.
const DEFAULT_RUNS: usize = 3;
/// The peak RSS a transfer of `hub-cli` may reach, whatever the file's size (issues 3 and 5).
const MAX_RSS_BYTES: u64 = 64 << 20;

/// The name of the hidden task that runs one command and reports its peak RSS.
const MEASURE: &str = "__measure";

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    match args.first().map(String::as_str) {
        Some("download") => {
            let extras = Extras { runs: true, baseline: true, ..Extras::NONE };
            with_opts(&args[1..], download::HELP, extras, download::run)
        }
        Some("upload") => with_opts(&args[1..], upload::HELP, Extras::NONE, upload::run),
        Some("upload-http") => {
            let extras = Extras { small: true, ..Extras::NONE };
            with_opts(&args[1..], upload_http::HELP, extras, upload_http::run)
        }
        Some("cluster") => cluster::run(&args[1..]),
        Some(MEASURE) => measure_child(&args[1..]),
        Some("-h" | "--help" | "help") | None => {
            say(BENCH_HELP);
            Ok(())
        }
        Some(other) => anyhow::bail!("unknown benchmark '{other}'\n\n{BENCH_HELP}"),
    }
}

/// Runs `bench` with the options in `args` (of the `extras`, only those it takes), or prints
/// `help`.
fn with_opts(
    args: &[String],
    help: &str,
    extras: Extras,
    bench: fn(&Opts) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    match parse_args(args, help, extras)? {
        Some(opts) => bench(&opts),
        None => {
            say(help);
            Ok(())
        }
    }
}

/// The options a benchmark takes besides `--size`, `--keep` and `--help`: the others reject
/// them as unexpected arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Extras {
    /// `--small N` (`bench upload-http`).
    small: bool,
    /// `--runs N` (`bench download`).
    runs: bool,
    /// `--baseline PATH` and `--baseline-rev REV` (`bench download`).
    baseline: bool,
}

impl Extras {
    const NONE: Extras = Extras { small: false, runs: false, baseline: false };
}

/// The options the benchmarks take (`small`: `bench upload-http` only; `runs` and `baseline`:
/// `bench download` only; the others keep the defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Opts {
    size: u64,
    keep: bool,
    /// The number of small files beside the large one.
    small: usize,
    /// The rounds of measurements, at least 1.
    runs: usize,
    /// Another `hub-cli` measured beside ours, in the same rounds.
    baseline: Option<Baseline>,
}

/// The `hub-cli` a benchmark compares ours with.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Baseline {
    /// `--baseline PATH`: a binary built already.
    Binary(PathBuf),
    /// `--baseline-rev REV`: the git revision to build it from.
    Rev(String),
}

/// `None` when help was asked for. `--small N`, `--runs N`, `--baseline PATH` and
/// `--baseline-rev REV` only if `extras` says so.
fn parse_args(args: &[String], help: &str, extras: Extras) -> anyhow::Result<Option<Opts>> {
    let mut opts = Opts {
        size: DEFAULT_SIZE,
        keep: false,
        small: DEFAULT_SMALL_FILES,
        runs: DEFAULT_RUNS,
        baseline: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value)),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .or_else(|| args.next().map(String::as_str))
                .ok_or_else(|| anyhow::format_err!("{name} needs a value\n\n{help}"))
        };
        match name {
            "-h" | "--help" if inline.is_none() => return Ok(None),
            "--keep" if inline.is_none() => opts.keep = true,
            "--size" => opts.size = parse_size(value()?)?,
            "--small" if extras.small => {
                let text = value()?;
                opts.small = text.trim().parse().map_err(|_| {
                    anyhow::format_err!("--small {text:?}: expected a number of files")
                })?;
            }
            "--runs" if extras.runs => {
                let text = value()?;
                opts.runs =
                    text.trim().parse().ok().filter(|&n: &usize| n >= 1).ok_or_else(|| {
                        anyhow::format_err!("--runs {text:?}: expected a number of runs, 1 or more")
                    })?;
            }
            "--baseline" | "--baseline-rev" if extras.baseline => {
                if opts.baseline.is_some() {
                    anyhow::bail!(
                        "--baseline and --baseline-rev name one baseline: give one of them, once"
                    );
                }
                let text = value()?;
                anyhow::ensure!(!text.trim().is_empty(), "{name} needs a value\n\n{help}");
                opts.baseline = Some(if name == "--baseline" {
                    Baseline::Binary(PathBuf::from(text))
                } else {
                    Baseline::Rev(text.trim().to_owned())
                });
            }
            _ => anyhow::bail!("unexpected argument '{arg}'\n\n{help}"),
        }
    }
    Ok(Some(opts))
}

/// Bytes, or a number with `KiB`, `MiB` or `GiB`.
fn parse_size(text: &str) -> anyhow::Result<u64> {
    let bad =
        || anyhow::format_err!("--size {text:?}: expected bytes, or a number with KiB/MiB/GiB");
    let text = text.trim();
    let (digits, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |at| (&text[..at], text[at..].trim()));
    let shift = match unit {
        "" | "B" => 0,
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        _ => return Err(bad()),
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let size = n.checked_mul(1 << shift).ok_or_else(bad)?;
    if size == 0 {
        anyhow::bail!("--size must be more than 0 bytes");
    }
    Ok(size)
}

/// Builds `hub-cli` and `testhub` in release mode; returns the folder that holds them.
fn release_binaries() -> anyhow::Result<PathBuf> {
    step("build hub-cli and the local Hub (release)");
    exec(cargo().args([
        "build",
        "--release",
        "-p",
        "hub-cli",
        "-p",
        "hub-tests",
        "--bin",
        "hub-cli",
        "--bin",
        "testhub",
    ]))?;
    Ok(target_root().join("release"))
}

/// The build's target folder: `target/` at the project root, or `CARGO_TARGET_DIR`.
fn target_root() -> PathBuf {
    let root = project_root();
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |d| root.join(d))
}

/// Fails unless `hub-cli` (not yet rebuilt with it, say) has `command`.
fn require_command(hub_cli: &Path, command: &str) -> anyhow::Result<()> {
    if output(Command::new(hub_cli).args([command, "--help"])).is_err() {
        anyhow::bail!("{} has no `{command}` command yet", hub_cli.display());
    }
    Ok(())
}

/// The scratch directory of one run (a fresh one under the temp dir); deleted when dropped
/// unless kept. Declare it before the Hub, so the Hub is stopped before its root is deleted.
struct Scratch {
    path: PathBuf,
    keep: bool,
}

impl Scratch {
    fn create(bench: &str, keep: bool) -> anyhow::Result<Scratch> {
        let path = std::env::temp_dir().join(format!("hub-bench-{bench}-{}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
        std::fs::create_dir_all(&path)?;
        say(&format!("scratch directory: {}", path.display()));
        Ok(Scratch { path, keep })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.keep {
            say(&format!("kept {}", self.path.display()));
        } else if let Err(err) = std::fs::remove_dir_all(&self.path) {
            crate::util::shout(&format!("cannot delete {}: {err}", self.path.display()));
        }
    }
}

/// Flushes dirty pages so one run's writes do not slow the next.
fn sync() -> anyhow::Result<()> {
    let status = Command::new("sync").status()?;
    anyhow::ensure!(status.success(), "sync failed ({status})");
    Ok(())
}

fn mib_per_sec(size: u64, secs: f64) -> f64 {
    if secs > 0.0 { size as f64 / MIB / secs } else { f64::INFINITY }
}

fn format_mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / MIB)
}

/// The variable that sets the parts of one file `hub-cli` sends at once.
const CONNECTIONS_VAR: &str = "HF_HUB_UPLOAD_CONNECTIONS";

/// How many parts of one file `hub-cli` sent at once, for a report: `connections` is the value
/// of `CONNECTIONS_VAR`, when set.
fn connections_label(connections: Option<&str>) -> String {
    match connections {
        Some(n) => format!("{CONNECTIONS_VAR}={n}"),
        None => "8 connections, the default".to_owned(),
    }
}

/// The part size the Hub asks for in the upload benchmarks (the TestHub's default).
const CHUNK_SIZE: u64 = 64 << 20;
const LFS_JSON: &str = "application/vnd.git-lfs+json";
/// The user whose seed token the upload benchmarks use.
const NAMESPACE: &str = "alice";

/// Starts the Hub for an upload of `size` bytes: seeded, multipart from at most `size` bytes,
/// in parts of `CHUNK_SIZE`. Returns it and its multipart threshold.
fn start_upload_hub(bin: &Path, scratch: &Scratch, size: u64) -> anyhow::Result<(LocalHub, u64)> {
    let threshold = size.min(CHUNK_SIZE);
    step(&format!(
        "start the local Hub: multipart uploads from {threshold} bytes, in parts of {}",
        format_mib(CHUNK_SIZE)
    ));
    let hub = start_hub(
        &bin.join("testhub"),
        &scratch.path.join("hub"),
        &[
            "--seed",
            "--multipart-threshold",
            &threshold.to_string(),
            "--chunk-size",
            &CHUNK_SIZE.to_string(),
        ],
    )?;
    say(&format!("Hub: {}    CDN: {}", hub.endpoint, hub.info["cdn"].as_str().unwrap_or("?")));
    Ok((hub, threshold))
}

/// The seed token of `NAMESPACE`.
fn seed_token(hub: &LocalHub) -> anyhow::Result<&str> {
    hub.info["tokens"][NAMESPACE]
        .as_str()
        .ok_or_else(|| anyhow::format_err!("testhub's JSON line has no token for {NAMESPACE}"))
}

/// `curl -T` of `file` to `put_url`, once untimed then measured; deletes the file. The figures
/// and the others' CPU meanwhile.
fn curl_put(file: &LfsObject, put_url: &str, hub_pid: u32) -> anyhow::Result<(Measured, f64)> {
    step("curl -T, one PUT (after an untimed warm-up run)");
    let mut curl = Command::new("curl");
    curl.args(["-sSf", "--noproxy", "*", "-o", "/dev/null", "-T"]).arg(&file.path).arg(put_url);
    // The warm-up puts both runs on the same footing: on a VM, memory the guest never touched
    // costs far more to fill than memory a deleted file gave back.
    exec(&mut curl)?;
    let (run, others) = measured(&curl, hub_pid)?;
    say(&format!(
        "{:.3} s, peak RSS {}{}",
        run.secs,
        format_mib(run.max_rss_bytes),
        busy_note(others)
    ));
    std::fs::remove_file(&file.path)?;
    Ok((run, others))
}

/// A local file and its LFS identity.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LfsObject {
    path: PathBuf,
    oid: String,
    size: u64,
}

fn varied_file(path: &Path, size: u64, seed: u64) -> anyhow::Result<LfsObject> {
    let started = Instant::now();
    write_varied_file(path, size, seed)?;
    let written = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let oid = sha256_file(path)?;
    say(&format!(
        "{}: sha256 {oid} (written in {written:.1} s, hashed in {:.1} s)",
        path.display(),
        started.elapsed().as_secs_f64()
    ));
    Ok(LfsObject { path: path.to_owned(), oid, size })
}

/// A URL without its query (the signature), for the log.
fn short(url: &Value) -> &str {
    let url = url.as_str().unwrap_or("?");
    url.split_once('?').map_or(url, |(path, _)| path)
}

/// The Hub's API as a user with a write token reaches it, through curl.
struct HubApi<'a> {
    endpoint: &'a str,
    token: &'a str,
    /// The repo's name, under `NAMESPACE`.
    repo: &'a str,
}

/// The `actions` of one object of a batch answer.
#[derive(Debug, Clone)]
struct UploadAction {
    upload: Value,
    verify: Value,
}

impl<'a> HubApi<'a> {
    /// `NAMESPACE`'s access to its repo `repo` on `hub`, with its seed token.
    fn new(hub: &'a LocalHub, repo: &'a str) -> anyhow::Result<HubApi<'a>> {
        Ok(HubApi { endpoint: &hub.endpoint, token: seed_token(hub)?, repo })
    }

    /// POSTs `body`; the status and the answer.
    fn post(&self, path: &str, content_type: &str, body: &Value) -> anyhow::Result<(u16, String)> {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--noproxy", "*", "-w", "\n%{http_code}", "-X", "POST"])
            .arg("-H")
            .arg(format!("Authorization: Bearer {}", self.token))
            .arg("-H")
            .arg(format!("Content-Type: {content_type}"))
            .arg("-H")
            .arg(format!("Accept: {content_type}"))
            .arg("--data-binary")
            .arg(body.to_string())
            .arg(format!("{}{path}", self.endpoint));
        let out = output(&mut cmd)?;
        let (answer, code) = out
            .rsplit_once('\n')
            .ok_or_else(|| anyhow::format_err!("curl printed no status for POST {path}"))?;
        let code = code.trim().parse().map_err(|_| {
            anyhow::format_err!("curl printed {code:?} as the status of POST {path}")
        })?;
        Ok((code, answer.to_owned()))
    }

    /// POSTs `body` and parses the answer, which must be a 200.
    fn post_ok(&self, path: &str, content_type: &str, body: &Value) -> anyhow::Result<Value> {
        let (code, answer) = self.post(path, content_type, body)?;
        anyhow::ensure!(code == 200, "POST {path} answered {code}: {answer}");
        serde_json::from_str(&answer)
            .map_err(|e| anyhow::format_err!("POST {path} answered no JSON ({e}): {answer}"))
    }

    fn create_repo(&self) -> anyhow::Result<()> {
        let body = json!({"name": self.repo});
        let answer = self.post_ok("/api/repos/create", "application/json", &body)?;
        say(&format!("created {}", answer["url"].as_str().unwrap_or(self.repo)));
        Ok(())
    }

    /// The TestHub's multipart threshold, for every repo.
    fn set_multipart_threshold(&self, bytes: u64) -> anyhow::Result<()> {
        let config = json!({"multipart_threshold": bytes});
        self.post_ok("/_testhub/config", "application/json", &config).map(drop)
    }

    /// The batch API's answer to an upload of `object` offering `transfers`, as git-lfs asks.
    fn batch_upload(&self, object: &LfsObject, transfers: &[&str]) -> anyhow::Result<UploadAction> {
        let request = json!({
            "operation": "upload",
            "transfers": transfers,
            "ref": {"name": "refs/heads/main"},
            "objects": [{"oid": object.oid, "size": object.size}],
            "hash_algo": "sha256",
        });
        let path = format!("/{NAMESPACE}/{}.git/info/lfs/objects/batch", self.repo);
        let answer = self.post_ok(&path, LFS_JSON, &request)?;
        let entry = &answer["objects"][0];
        if let Some(error) = entry.get("error") {
            anyhow::bail!("the batch API refused {}: {error}", object.oid);
        }
        let actions = &entry["actions"];
        anyhow::ensure!(
            actions["upload"]["href"].is_string(),
            "the batch API gave no upload action for {}: {answer}",
            object.oid
        );
        Ok(UploadAction { upload: actions["upload"].clone(), verify: actions["verify"].clone() })
    }

    /// The signed URL of a single PUT of `object` to the storage host: the Hub's threshold is
    /// raised above its size for the time of one batch request, then set back to `threshold`.
    fn basic_put_url(&self, object: &LfsObject, threshold: u64) -> anyhow::Result<String> {
        self.set_multipart_threshold(object.size + 1)?;
        let action = self.batch_upload(object, &["basic"]);
        self.set_multipart_threshold(threshold)?;
        let action = action?;
        anyhow::ensure!(
            part_count(&action.upload).is_err(),
            "the Hub answered a multipart upload to a batch request offering only basic"
        );
        say(&format!("curl -T: {}", short(&action.upload["href"])));
        action.upload["href"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::format_err!("a basic upload action without href"))
    }

    /// git-lfs's verify request after a transfer: 200 once the Hub stores the object.
    fn verify(&self, action: &UploadAction, object: &LfsObject) -> anyhow::Result<()> {
        let href = action.verify["href"]
            .as_str()
            .ok_or_else(|| anyhow::format_err!("the batch answer has no verify action"))?;
        let path = href.strip_prefix(self.endpoint).unwrap_or(href);
        self.post_ok(path, LFS_JSON, &json!({"oid": object.oid, "size": object.size})).map(drop)
    }
}

/// The number of part URLs of a multipart upload action (an error for a single PUT).
fn part_count(upload: &Value) -> anyhow::Result<u64> {
    let header = upload["header"].as_object();
    let header = header.filter(|h| h.contains_key("chunk_size")).ok_or_else(|| {
        anyhow::format_err!("the upload action is not multipart (no header.chunk_size): {upload}")
    })?;
    Ok(header.keys().filter(|k| k.parse::<u64>().is_ok()).count() as u64)
}

/// One target, as measured.
#[derive(Debug, Clone, PartialEq)]
struct Check {
    what: String,
    measured: String,
    required: String,
    ok: bool,
}

/// Our speed over theirs (`ours` / `theirs`, both in MiB/s) must be at least `min`.
fn speed_check(what: &str, ours: f64, theirs: f64, min: f64) -> Check {
    let ratio = ours / theirs;
    Check {
        what: what.to_owned(),
        measured: format!("{ratio:.2}x"),
        required: format!(">= {min:.1}x"),
        ok: ratio >= min,
    }
}

/// The peak RSS of a run must be at most `MAX_RSS_BYTES`.
fn rss_check(what: &str, max_rss_bytes: u64) -> Check {
    Check {
        what: format!("peak RSS, {what}"),
        measured: format_mib(max_rss_bytes),
        required: format!("<= {}", format_mib(MAX_RSS_BYTES)),
        ok: max_rss_bytes <= MAX_RSS_BYTES,
    }
}

/// One line of the table of figures.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    run: String,
    time: String,
    speed: String,
    peak_rss: String,
    /// The CPU other processes used meanwhile, in percent of all cores (NaN when unknown).
    others: f64,
}

impl Row {
    /// A transfer of `size` bytes that took `secs`.
    fn transfer(run: &str, size: u64, secs: f64, peak_rss: Option<u64>, others: f64) -> Row {
        Row {
            run: run.to_owned(),
            time: format!("{secs:.3} s"),
            speed: format!("{:.0} MiB/s", mib_per_sec(size, secs)),
            peak_rss: peak_rss.map(format_mib).unwrap_or_default(),
            others,
        }
    }
}

/// The report of a run: the file's size, the figures and the targets.
fn results(size: u64, rows: &[Row], checks: &[Check]) -> String {
    results_with_note(size, rows, "", checks)
}

/// [`results`] with `note` (lines, each ending with `\n`) right under the table of figures:
/// how to read them.
fn results_with_note(size: u64, rows: &[Row], note: &str, checks: &[Check]) -> String {
    format!(
        "file: {} ({size} bytes)\n\n{}{note}{}\n{}",
        format_mib(size),
        rows_table(rows),
        busy_warning(rows),
        targets_table(checks)
    )
}

/// The figures, and a warning when other processes may have skewed them.
fn figures_table(rows: &[Row]) -> String {
    format!("{}{}", rows_table(rows), busy_warning(rows))
}

/// The table of figures alone.
fn rows_table(rows: &[Row]) -> String {
    let other = |percent: f64| {
        if percent.is_nan() {
            "?".to_owned()
        } else if percent >= BUSY_PERCENT {
            format!("{percent:.0}% (!)")
        } else {
            format!("{percent:.0}%")
        }
    };
    let mut figures =
        vec![["run", "time", "speed", "peak RSS", "others' CPU"].map(str::to_owned).to_vec()];
    for row in rows {
        figures.push(vec![
            row.run.clone(),
            row.time.clone(),
            row.speed.clone(),
            row.peak_rss.clone(),
            other(row.others),
        ]);
    }
    table("<>>>>", &figures)
}

/// The warning under the figures when other processes may have skewed one (empty otherwise).
fn busy_warning(rows: &[Row]) -> String {
    if rows.iter().any(|r| r.others >= BUSY_PERCENT) {
        format!(
            "\n(!) other processes used {BUSY_PERCENT:.0}% or more of the CPU during this \
             measurement: its figure is unreliable; run again on an idle machine.\n"
        )
    } else {
        String::new()
    }
}

/// The targets, each `ok` or `MISSED`.
fn targets_table(checks: &[Check]) -> String {
    let mut targets = vec![["target", "measured", "required", ""].map(str::to_owned).to_vec()];
    for c in checks {
        let verdict = if c.ok { "ok" } else { "MISSED" };
        targets.push(vec![c.what.clone(), c.measured.clone(), c.required.clone(), verdict.into()]);
    }
    table("<>><", &targets)
}

/// Other processes using this share of all cores (percent) during a measurement make its
/// figure unreliable.
const BUSY_PERCENT: f64 = 10.0;

fn busy_note(others_percent: f64) -> String {
    if others_percent >= BUSY_PERCENT {
        format!(" (other processes used {others_percent:.0}% of the CPU meanwhile: unreliable)")
    } else {
        String::new()
    }
}

/// The CPU that processes other than ours (this one, the Hub, and the children each waited for)
/// used since `start`: all the machine's busy time (`/proc/stat`) minus ours.
#[derive(Debug, Clone, Copy)]
struct CpuMeter {
    hub_pid: u32,
    started: Instant,
    start: Option<CpuSample>,
}

/// `/proc` counts CPU time in ticks of 10 ms: a shorter window is padded to this (idle on our
/// side), so that a few ticks of rounding stay a few percent.
const MIN_CPU_WINDOW: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
struct CpuSample {
    /// Seconds, summed over all cores.
    busy: f64,
    total: f64,
    ours: f64,
}

impl CpuMeter {
    fn start(hub_pid: u32) -> Self {
        CpuMeter { hub_pid, started: Instant::now(), start: cpu_sample(hub_pid) }
    }

    /// NaN when unknown (not Linux). Waits until the window is `MIN_CPU_WINDOW` long.
    fn others_percent(&self) -> f64 {
        if let Some(rest) = MIN_CPU_WINDOW.checked_sub(self.started.elapsed()) {
            std::thread::sleep(rest);
        }
        match (self.start, cpu_sample(self.hub_pid)) {
            (Some(a), Some(b)) => others_percent(a, b),
            _ => f64::NAN,
        }
    }
}

fn others_percent(a: CpuSample, b: CpuSample) -> f64 {
    let total = b.total - a.total;
    if total <= 0.0 {
        return 0.0;
    }
    let others = (b.busy - a.busy) - (b.ours - a.ours);
    (others.max(0.0) * 100.0 / total).min(100.0)
}

/// `/proc` counts in USER_HZ, 100 on every Linux.
const TICKS_PER_SEC: f64 = 100.0;

fn cpu_sample(hub_pid: u32) -> Option<CpuSample> {
    let (busy, total) = cpu_times(&std::fs::read_to_string("/proc/stat").ok()?)?;
    let hub = std::fs::read_to_string(format!("/proc/{hub_pid}/stat")).ok()?;
    let ours = our_cpu_secs()? + process_ticks(&hub)? as f64 / TICKS_PER_SEC;
    Some(CpuSample { busy: busy as f64 / TICKS_PER_SEC, total: total as f64 / TICKS_PER_SEC, ours })
}

/// (busy in processes, total) ticks of all cores from the `cpu` line of `/proc/stat`.
fn cpu_times(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line.split_whitespace().skip(1).map_while(|f| f.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user). Interrupts
    // (our own loopback traffic, mostly) and the hypervisor's steal belong to no process.
    let get = |i: usize| fields.get(i).copied().unwrap_or(0);
    let busy = get(0) + get(1) + get(2);
    let total = fields.iter().take(8).sum();
    (fields.len() >= 4).then_some((busy, total))
}

/// utime + stime + cutime + cstime ticks from a `/proc/PID/stat` line (fields 14 to 17; the
/// name may hold spaces and parentheses, so count from the last `)`): the process's own CPU and
/// that of the children it waited for (the Hub's `git` commands, say).
fn process_ticks(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    (11..=14).map(|i| fields.get(i)?.parse::<u64>().ok()).sum()
}

/// This program, to run the measuring helper: `/proc/self/exe` on Linux still works when a
/// build has replaced `target/debug/xtask` since we started.
fn self_exe() -> anyhow::Result<PathBuf> {
    let proc_exe = Path::new("/proc/self/exe");
    if proc_exe.exists() { Ok(proc_exe.to_path_buf()) } else { Ok(std::env::current_exe()?) }
}

/// What the measuring helper reports about one run of a program.
#[derive(Debug, Clone, PartialEq)]
struct Measured {
    /// From its start to its exit.
    secs: f64,
    max_rss_bytes: u64,
    /// Empty when the program kept the helper's stdout (`--report`).
    stdout: String,
    /// What the program wrote on stderr, with [`measured`] (empty otherwise).
    stderr: String,
}

/// The measuring helper's command for `cmd` (its program, arguments and environment), with
/// `helper_args` before the program.
fn helper_for(cmd: &Command, helper_args: &[&OsStr]) -> anyhow::Result<Command> {
    let mut helper = Command::new(self_exe()?);
    helper.args(["bench", MEASURE]).args(helper_args);
    helper.arg(cmd.get_program()).args(cmd.get_args());
    for (name, value) in cmd.get_envs() {
        match value {
            Some(value) => helper.env(name, value),
            None => helper.env_remove(name),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        helper.current_dir(dir);
    }
    Ok(helper)
}

/// Runs `cmd` under the measuring helper, stdin closed, stdout and stderr captured; fails
/// unless it exits with 0 (with its stderr). Also returns the others' CPU meanwhile.
fn measured(cmd: &Command, hub_pid: u32) -> anyhow::Result<(Measured, f64)> {
    sync()?;
    let mut helper = helper_for(cmd, &[])?;
    say(&format!("$ {}", describe(cmd)));
    let meter = CpuMeter::start(hub_pid);
    let out = helper
        .stdin(Stdio::null())
        .output()
        .map_err(|e| anyhow::format_err!("cannot run {}: {e}", describe(cmd)))?;
    let others = meter.others_percent();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = parse_report(&String::from_utf8_lossy(&out.stdout), cmd)
        .map_err(|e| anyhow::format_err!("{e}: {}", stderr.trim()))?;
    Ok((Measured { stderr, ..report }, others))
}

/// The measuring helper's command for a program one talks to (a git-lfs transfer agent): it
/// keeps the helper's stdin and stdout, and the report goes to `report` (read it with
/// [`read_report`] once the helper has exited).
fn interactive_helper_for(cmd: &Command, report: &Path) -> anyhow::Result<Command> {
    helper_for(cmd, &[OsStr::new("--report"), report.as_os_str()])
}

fn read_report(report: &Path, cmd: &Command) -> anyhow::Result<Measured> {
    let line = std::fs::read_to_string(report).map_err(|e| {
        anyhow::format_err!("the measuring helper wrote no report to {}: {e}", report.display())
    })?;
    parse_report(&line, cmd)
}

fn parse_report(line: &str, cmd: &Command) -> anyhow::Result<Measured> {
    let report: serde_json::Value = serde_json::from_str(line)
        .map_err(|e| anyhow::format_err!("the measuring helper printed {line:?} ({e})"))?;
    if report["code"] != 0 {
        anyhow::bail!("`{}` failed (exit status {})", describe(cmd), report["code"]);
    }
    Ok(Measured {
        secs: report["secs"].as_f64().unwrap_or(f64::NAN),
        max_rss_bytes: report["max_rss_kib"].as_u64().unwrap_or(0) * 1024,
        stdout: report["stdout"].as_str().unwrap_or_default().to_owned(),
        stderr: String::new(),
    })
}

/// The hidden `bench __measure [--report FILE] PROGRAM ARGS...`: runs the program (stderr
/// inherited), then reports in one JSON line its exit code, wall time and peak RSS. Without
/// `--report`, the program's stdin is closed, its stdout is captured and added to the report,
/// which is printed on stdout; with it, the program keeps our stdin and stdout, and the report
/// is written to FILE.
///
/// It runs in a process of its own because `RUSAGE_CHILDREN` reports the largest of all the
/// waited-for children: here that is the one program. Its peak includes the memory of this
/// small process at spawn time (the kernel carries it over the `exec`), a floor of a few MiB.
fn measure_child(args: &[String]) -> anyhow::Result<()> {
    let (report, args) = match args {
        [flag, file, rest @ ..] if flag == "--report" => (Some(PathBuf::from(file)), rest),
        _ => (None, args),
    };
    let (program, rest) =
        args.split_first().ok_or_else(|| anyhow::format_err!("{MEASURE} needs a program"))?;
    let mut cmd = Command::new(program);
    cmd.args(rest).stderr(Stdio::inherit());
    let cannot_run = |e| anyhow::format_err!("cannot run {program}: {e}");
    let started = Instant::now();
    let (status, stdout) = if report.is_some() {
        (cmd.stdin(Stdio::inherit()).stdout(Stdio::inherit()).status().map_err(cannot_run)?, None)
    } else {
        let out = cmd.stdin(Stdio::null()).output().map_err(cannot_run)?;
        (out.status, Some(out.stdout))
    };
    let secs = started.elapsed().as_secs_f64();
    let mut line = serde_json::json!({
        "code": status.code(),
        "secs": secs,
        "max_rss_kib": children_max_rss_kib()?,
    });
    if let Some(stdout) = stdout {
        line["stdout"] = String::from_utf8_lossy(&stdout).into();
    }
    match report {
        Some(file) => std::fs::write(&file, format!("{line}\n"))
            .map_err(|e| anyhow::format_err!("cannot write {}: {e}", file.display()))?,
        None => say(&line.to_string()),
    }
    Ok(())
}

#[cfg(unix)]
#[allow(unsafe_code, reason = "getrusage has no safe wrapper in std")]
fn rusage(who: libc::c_int) -> anyhow::Result<libc::rusage> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` is a valid, writable `rusage`; getrusage only writes into it.
    let rc = unsafe { libc::getrusage(who, usage.as_mut_ptr()) };
    if rc != 0 {
        anyhow::bail!("getrusage: {}", std::io::Error::last_os_error());
    }
    // SAFETY: zero-initialised plain integers, filled by a successful getrusage.
    Ok(unsafe { usage.assume_init() })
}

/// The peak RSS of the largest waited-for child, in KiB (`getrusage(RUSAGE_CHILDREN)`).
#[cfg(unix)]
fn children_max_rss_kib() -> anyhow::Result<u64> {
    let max_rss = u64::try_from(rusage(libc::RUSAGE_CHILDREN)?.ru_maxrss).unwrap_or(0);
    // Linux reports KiB, macOS bytes.
    Ok(if cfg!(target_os = "macos") { max_rss / 1024 } else { max_rss })
}

/// CPU seconds used by this process and the children it waited for.
#[cfg(unix)]
fn our_cpu_secs() -> Option<f64> {
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let me = rusage(libc::RUSAGE_SELF).ok()?;
    let children = rusage(libc::RUSAGE_CHILDREN).ok()?;
    Some(secs(me.ru_utime) + secs(me.ru_stime) + secs(children.ru_utime) + secs(children.ru_stime))
}

#[cfg(not(unix))]
fn children_max_rss_kib() -> anyhow::Result<u64> {
    anyhow::bail!("measuring the peak RSS needs getrusage (Unix)")
}

#[cfg(not(unix))]
fn our_cpu_secs() -> Option<f64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_the_options() {
        let parse = |list: &[&str]| parse_args(&args(list), "help", Extras::NONE);
        let default = Opts {
            size: DEFAULT_SIZE,
            keep: false,
            small: DEFAULT_SMALL_FILES,
            runs: DEFAULT_RUNS,
            baseline: None,
        };
        assert_eq!(parse(&[]).unwrap(), Some(default.clone()));
        assert_eq!(
            parse(&["--size", "268435456", "--keep"]).unwrap(),
            Some(Opts { size: 256 << 20, keep: true, ..default.clone() })
        );
        assert_eq!(parse(&["--size=1GiB"]).unwrap().unwrap().size, 1 << 30);
        assert_eq!(parse(&["--keep", "--help"]).unwrap(), None);
        assert!(parse(&["--size"]).is_err());
        assert!(parse(&["--fast"]).is_err());
        assert!(parse(&["extra"]).is_err());
        assert!(parse(&["--keep=1"]).is_err());
        // --small: only where the benchmark takes it.
        assert!(parse(&["--small", "3"]).is_err());
        let small_only = Extras { small: true, ..Extras::NONE };
        let small = |list: &[&str]| parse_args(&args(list), "help", small_only);
        assert_eq!(small(&["--small", "3"]).unwrap().unwrap().small, 3);
        assert_eq!(small(&["--small=0", "--size=1KiB"]).unwrap().unwrap().small, 0);
        assert!(small(&["--small"]).is_err());
        assert!(small(&["--small", "-1"]).is_err());
        assert!(small(&["--runs", "2"]).is_err());
        // --runs: likewise.
        let err = parse(&["--runs", "2"]).unwrap_err().to_string();
        assert!(err.starts_with("unexpected argument '--runs'\n\nhelp"), "{err}");
        let runs_only = Extras { runs: true, ..Extras::NONE };
        let runs = |list: &[&str]| parse_args(&args(list), "help", runs_only);
        assert_eq!(runs(&[]).unwrap().unwrap().runs, DEFAULT_RUNS);
        assert_eq!(
            runs(&["--runs", "5", "--keep"]).unwrap(),
            Some(Opts { runs: 5, keep: true, ..default })
        );
        assert_eq!(runs(&["--runs=1"]).unwrap().unwrap().runs, 1);
        assert_eq!(runs(&["--runs", " 2 "]).unwrap().unwrap().runs, 2);
        assert!(runs(&["--small", "3"]).is_err());
        let err = runs(&["--runs"]).unwrap_err().to_string();
        assert!(err.starts_with("--runs needs a value"), "{err}");
        for bad in ["0", "-1", "two", "1.5", ""] {
            let err = runs(&["--runs", bad]).unwrap_err().to_string();
            assert_eq!(err, format!("--runs {bad:?}: expected a number of runs, 1 or more"));
        }
        assert!(runs(&["--baseline", "old/hub-cli"]).is_err());
    }

    #[test]
    fn parses_a_baseline() {
        let download = Extras { runs: true, baseline: true, ..Extras::NONE };
        let parse = |list: &[&str]| parse_args(&args(list), "help", download);
        let baseline = |list: &[&str]| parse(list).unwrap().unwrap().baseline;
        assert_eq!(baseline(&[]), None);
        assert_eq!(
            baseline(&["--baseline", "old/hub-cli", "--runs", "1"]),
            Some(Baseline::Binary(PathBuf::from("old/hub-cli")))
        );
        assert_eq!(
            baseline(&["--baseline=/tmp/hub-cli"]),
            Some(Baseline::Binary(PathBuf::from("/tmp/hub-cli")))
        );
        assert_eq!(baseline(&["--baseline-rev", "d8853a6"]), Some(Baseline::Rev("d8853a6".into())));
        assert_eq!(baseline(&["--baseline-rev=main~2"]), Some(Baseline::Rev("main~2".into())));
        for list in
            [&["--baseline"][..], &["--baseline-rev"], &["--baseline-rev="], &["--baseline", " "]]
        {
            let err = parse(list).unwrap_err().to_string();
            assert!(err.contains("needs a value"), "{list:?}: {err}");
        }
        for list in [
            &["--baseline", "a", "--baseline-rev", "b"][..],
            &["--baseline-rev", "a", "--baseline-rev", "b"],
            &["--baseline", "a", "--baseline", "b"],
        ] {
            let err = parse(list).unwrap_err().to_string();
            assert!(err.contains("give one of them, once"), "{list:?}: {err}");
        }
        // Only bench download takes one.
        let upload_http = Extras { small: true, ..Extras::NONE };
        for extras in [Extras::NONE, upload_http] {
            let err = parse_args(&args(&["--baseline-rev", "HEAD"]), "help", extras).unwrap_err();
            assert!(err.to_string().starts_with("unexpected argument '--baseline-rev'"), "{err}");
        }
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("2147483648").unwrap(), 2 << 30);
        assert_eq!(parse_size("256MiB").unwrap(), 256 << 20);
        assert_eq!(parse_size("256 MiB").unwrap(), 256 << 20);
        assert_eq!(parse_size("4KiB").unwrap(), 4096);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        for bad in ["", "0", "-1", "1.5GiB", "2GB", "2G", "GiB", "99999999999999999999GiB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn checks_speeds_and_memory() {
        let fast = speed_check("ours / theirs", 150.0, 100.0, 1.4);
        assert_eq!(
            (fast.measured.as_str(), fast.required.as_str(), fast.ok),
            ("1.50x", ">= 1.4x", true)
        );
        assert!(!speed_check("ours / theirs", 99.0, 100.0, 1.0).ok);
        let rss = rss_check("upload", 64 << 20);
        assert_eq!(
            (rss.what.as_str(), rss.measured.as_str(), rss.ok),
            ("peak RSS, upload", "64.0 MiB", true)
        );
        assert!(!rss_check("upload", (64 << 20) + 1).ok);
    }

    #[test]
    fn reads_cpu_times() {
        let stat = "cpu  100 5 50 800 20 3 2 10 0 0\ncpu0 50 2 25 400 10 1 1 5 0 0\n";
        assert_eq!(cpu_times(stat), Some((155, 990)));
        assert_eq!(cpu_times("intr 1 2 3\n"), None);
        assert_eq!(cpu_times("cpu  1 2\n"), None);
    }

    #[test]
    fn counts_the_cpu_of_others() {
        let sample = |busy, total, ours| CpuSample { busy, total, ours };
        // 2 cores for 1 s: we used 1.2 s, the machine 1.5 s: others 0.3 s of 2 s.
        let others = others_percent(sample(10.0, 100.0, 5.0), sample(11.5, 102.0, 6.2));
        assert!((others - 15.0).abs() < 1e-9, "{others}");
        // Accounting jitter never goes below 0 or above 100.
        assert_eq!(others_percent(sample(0.0, 0.0, 0.0), sample(1.0, 2.0, 1.5)), 0.0);
        assert_eq!(others_percent(sample(0.0, 0.0, 0.0), sample(0.0, 0.0, 0.0)), 0.0);
        let stat = "4242 (a (weird) name) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 4 0\n";
        assert_eq!(process_ticks(stat), Some(300));
        let with_children = "4242 (x) S 1 2 3 4 5 6 7 8 9 10 250 50 30 20 20 0 4 0\n";
        assert_eq!(process_ticks(with_children), Some(350));
        assert_eq!(process_ticks("4242 (x) S 1"), None);
    }

    #[test]
    fn measures_a_child() {
        // The helper's report for a tiny program: exit code, stdout and a non-zero peak RSS.
        assert!(children_max_rss_kib().unwrap() < u64::MAX);
        let out = Command::new("sh").args(["-c", "echo hi"]).output().unwrap();
        assert!(out.status.success());
        assert!(children_max_rss_kib().unwrap() > 0);
    }

    #[test]
    fn reports_a_program_one_talks_to_in_a_file() {
        let dir = std::env::temp_dir().join(format!("xtask-measure-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let report = dir.join("report.json");
        measure_child(&args(&["--report", report.to_str().unwrap(), "sh", "-c", "exit 0"]))
            .unwrap();
        let measured = read_report(&report, &Command::new("sh")).unwrap();
        assert!(measured.secs >= 0.0 && measured.max_rss_bytes > 0, "{measured:?}");
        assert_eq!(measured.stdout, "");
        measure_child(&args(&["--report", report.to_str().unwrap(), "sh", "-c", "exit 3"]))
            .unwrap();
        let err = read_report(&report, &Command::new("sh")).unwrap_err().to_string();
        assert!(err.contains("exit status 3"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
