//! `hub-bench`: how fast `hub-cli` moves large LFS files to and from the local Hub, against a
//! baseline measured in the same run (`download`: curl and `openssl dgst -sha256`; `upload` and
//! `upload-http`: `curl -T`; `cluster`: the official Python client). People run it as
//! `cargo xtask bench <BENCHMARK>`, which is `cargo run --release -p hub-bench -- <BENCHMARK>`.
//!
//! The local Hub is a [`hub_tests::TestHub`] in this process ([`hub`]); what is measured runs
//! in processes of its own, each under the measuring helper ([`measure`]).
//!
//! What the benchmarks share lives here: the options, the release build of `hub-cli`, the
//! scratch directory, the test files, and the tables of figures and targets.

// A tool, not a library: it reads its settings (PATH, the clients' variables) where it needs
// them, as xtask does.
#![allow(clippy::disallowed_methods)]

mod cluster;
mod download;
mod hub;
mod measure;
mod upload;
mod upload_http;
mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use hub_tests::seed::DeterministicReader;
use hub_tests::{HubConfig, TestHub};

use crate::hub::LfsObject;
use crate::measure::{BUSY_PERCENT, MEASURE, Measured, busy_note, measured};
use crate::util::{cargo, exec, output, project_root, say, sha256_file, shout, step, table};

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

Run `cargo xtask bench <BENCHMARK> --help` for its options. The benchmarks are the hub-bench
crate (bench/), which `cargo xtask bench` runs in release mode.
";

const MIB: f64 = 1024.0 * 1024.0;
const DEFAULT_SIZE: u64 = 2 << 30;
/// The small files of `bench upload-http`, as many as a model's configs might be.
const DEFAULT_SMALL_FILES: usize = 200;
/// The rounds of measurements of `bench download`: one run varies by up to 2x on a small VM.
const DEFAULT_RUNS: usize = 3;
/// The peak RSS a transfer of `hub-cli` may reach, whatever the file's size (issues 3 and 5).
const MAX_RSS_BYTES: u64 = 64 << 20;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The measuring helper stays a small process: its memory is the floor of every peak RSS.
    if args.first().map(String::as_str) != Some(MEASURE) {
        log_to_stderr();
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            shout(&format!("bench failed: {err:#}"));
            ExitCode::FAILURE
        }
    }
}

/// The local Hub's warnings and errors on stderr (`RUST_LOG` for more), as `testhub` logs them.
fn log_to_stderr() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter).init();
}

fn run(args: &[String]) -> anyhow::Result<()> {
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
        Some(MEASURE) => measure::measure_child(&args[1..]),
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

/// Builds `hub-cli` in release mode; returns the folder that holds it. (The local Hub is built
/// with this program, which `cargo xtask bench` runs in release mode.)
fn release_binaries() -> anyhow::Result<PathBuf> {
    step("build hub-cli (release)");
    exec(cargo().args(["build", "--release", "-p", "hub-cli", "--bin", "hub-cli"]))?;
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
            shout(&format!("cannot delete {}: {err}", self.path.display()));
        }
    }
}

fn mib_per_sec(size: u64, secs: f64) -> f64 {
    if secs > 0.0 { size as f64 / MIB / secs } else { f64::INFINITY }
}

fn format_mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / MIB)
}

/// The variable that sets the parts of one file `hub-cli` sends at once.
const CONNECTIONS_VAR: &str = hub_url::env::HF_HUB_UPLOAD_CONNECTIONS;

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

/// Starts the Hub for an upload of `size` bytes: seeded, multipart from at most `size` bytes,
/// in parts of `CHUNK_SIZE`. Returns it and its multipart threshold.
fn start_upload_hub(scratch: &Scratch, size: u64) -> anyhow::Result<(TestHub, u64)> {
    let threshold = size.min(CHUNK_SIZE);
    step(&format!(
        "start the local Hub: multipart uploads from {threshold} bytes, in parts of {}",
        format_mib(CHUNK_SIZE)
    ));
    let hub = hub::start(HubConfig {
        root: Some(scratch.path.join("hub")),
        multipart_threshold: threshold,
        chunk_size: CHUNK_SIZE,
        ..HubConfig::default()
    })?;
    hub.seed_default()?;
    say(&format!("Hub: {}    CDN: {}", hub.endpoint(), hub.cdn_url()));
    Ok((hub, threshold))
}

/// `curl -T` of `file` to `put_url`, once untimed then measured; deletes the file. The figures
/// and the others' CPU meanwhile.
fn curl_put(file: &LfsObject, put_url: &str) -> anyhow::Result<(Measured, f64)> {
    step("curl -T, one PUT (after an untimed warm-up run)");
    let mut curl = Command::new("curl");
    curl.args(["-sSf", "--noproxy", "*", "-o", "/dev/null", "-T"]).arg(&file.path).arg(put_url);
    // The warm-up puts both runs on the same footing: on a VM, memory the guest never touched
    // costs far more to fill than memory a deleted file gave back.
    exec(&mut curl)?;
    let (run, others) = measured(&curl)?;
    say(&format!(
        "{:.3} s, peak RSS {}{}",
        run.secs,
        format_mib(run.max_rss_bytes),
        busy_note(others)
    ));
    std::fs::remove_file(&file.path)?;
    Ok((run, others))
}

/// Writes `size` bytes at `path` that are neither all the same nor repeating
/// ([`DeterministicReader`] of `label`: another label, other bytes), in blocks of 1 MiB, then
/// hashes them with openssl.
fn varied_file(path: &Path, size: u64, label: &str) -> anyhow::Result<LfsObject> {
    use std::io::{Read, Write};
    let started = Instant::now();
    let cannot_write =
        |e: std::io::Error| anyhow::format_err!("cannot write {}: {e}", path.display());
    let mut file = std::fs::File::create(path).map_err(cannot_write)?;
    let mut bytes = DeterministicReader::new(label, size);
    let mut block = vec![0u8; 1 << 20];
    loop {
        let n = bytes.read(&mut block)?;
        if n == 0 {
            break;
        }
        file.write_all(&block[..n]).map_err(cannot_write)?;
    }
    file.sync_data().map_err(cannot_write)?;
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
    fn writes_varied_files() {
        let dir = std::env::temp_dir().join(format!("hub-bench-varied-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c"));
        let size = (3 << 20) + 5;
        let first = varied_file(&a, size, "one").unwrap();
        let again = varied_file(&b, size, "one").unwrap();
        let other = varied_file(&c, size, "two").unwrap();
        assert_eq!((first.size, first.oid.len()), (size, 64));
        assert_eq!(first.oid, again.oid, "the same label, the same bytes");
        assert_ne!(first.oid, other.oid);
        let bytes = std::fs::read(&a).unwrap();
        assert_eq!(bytes.len() as u64, size);
        let blocks: Vec<&[u8]> = bytes.chunks(1 << 20).collect();
        assert!(blocks[0] != blocks[1] && blocks[1][8..] != blocks[2][8..], "no block repeats");
        assert!(bytes[8..4096].iter().any(|b| *b != bytes[8]), "not all the same");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
