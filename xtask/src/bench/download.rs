//! `cargo xtask bench download`: how fast `hub-cli download` fetches a large LFS file from the
//! local Hub, against `curl` and `openssl dgst -sha256` on the same bytes, measured in one run.
//!
//! One run of a transfer is noisy on a small VM (the same command varies by up to 2x), so the
//! transfers are measured in `--runs` interleaved rounds (curl, sha256, verified, unverified),
//! and every row of the table, and the targets, take the median time of its runs (with the
//! largest peak RSS and the most CPU others used during any of them). The cached lookups run
//! once, after the rounds, on the last round's verified download.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::{
    Check, CpuMeter, Measured, Opts, Row, Scratch, busy_note, format_mib, measured, mib_per_sec,
    release_binaries, require_command, results_with_note, rss_check, speed_check, sync,
};
use crate::demo::{LocalHub, start_hub};
use crate::util::{describe, exec, openssl_digest, output, say, step};

pub(super) const HELP: &str = "\
cargo xtask bench download [--size BYTES] [--runs N] [--keep]

Builds hub-cli and the local Hub (testhub) in release mode, starts the Hub on loopback with a
large LFS file (bench/large-model, model.bin) and measures, in the same run, N rounds of:
  curl        one stream from the signed CDN URL (the baseline), after one untimed warm-up run
              before the first round
  sha256      openssl dgst -sha256 on curl's file, from the page cache (the ceiling of any
              verified download)
  verified    hub-cli download into a fresh cache (wall time, MiB/s, peak RSS)
  unverified  the same with HF_HUB_DISABLE_DOWNLOAD_VERIFICATION=1
and, once, on the last round's verified cache (before its unverified run):
  lookups     hub-cli download of the cached file, offline (HF_HUB_OFFLINE=1) and pinned to
              the commit (--revision <sha>): the median of 10 runs after a warm-up one,
              process start to exit
It prints every run's figures as it goes, then a table with, for each transfer, the median time
of its N runs (for an even N, the mean of the middle two) and the largest peak RSS and others'
CPU of any of them, and the targets computed from those medians (ok / MISSED). Missed targets
do not fail the command: it fails only when something cannot run. Needs curl and openssl; no
internet.
Run it on an idle machine: it measures the CPU other processes (builds, test suites) use
during each measurement and flags the figures they may have skewed with (!).

Options:
  --size BYTES  size of the file: bytes, or with KiB/MiB/GiB (default 2GiB)
  --runs N      rounds of the transfers, 1 or more (default 3): a single run of the same
                command varies by up to 2x on a small VM
  --keep        keep the scratch directory (Hub root, caches) instead of deleting it
";

const REPO_ID: &str = "bench/large-model";
const FILE: &str = "model.bin";
const LOOKUP_RUNS: usize = 10;

/// The targets of issue 3.
const VERIFIED_VS_SHA256: f64 = 0.9;
const UNVERIFIED_VS_CURL: f64 = 1.4;
const MAX_LOOKUP_MS: f64 = 5.0;

/// A run timed here (curl, openssl): its wall time and the CPU others used meanwhile.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Timed {
    secs: f64,
    /// Percent of all cores (NaN when unknown), as [`CpuMeter`] says.
    others: f64,
}

/// A hub-cli download run under the measuring helper.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Download {
    secs: f64,
    max_rss_bytes: u64,
    /// Percent of all cores (NaN when unknown), as [`CpuMeter`] says.
    others: f64,
}

/// One round of the transfers, in the order they run. [`summary`] gives one of the same shape
/// for all the rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Round {
    curl: Timed,
    sha256: Timed,
    verified: Download,
    unverified: Download,
}

/// The median of the cached lookups of one kind, in milliseconds, and the CPU others used
/// meanwhile.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Lookup {
    ms: f64,
    others: f64,
}

/// Everything one invocation measures.
///
/// The CPU other processes used during a measurement is in percent of all cores (NaN when
/// unknown): another build or test suite makes a figure unreliable.
#[derive(Debug, Clone, PartialEq)]
struct Figures {
    size: u64,
    /// At least one.
    rounds: Vec<Round>,
    lookup_offline: Lookup,
    lookup_pinned: Lookup,
    lookup_runs: usize,
    /// Requests the Hub and the CDN received during all the lookups.
    lookup_requests: u64,
}

/// The transfers over all `rounds`, each as one run: the median time of its runs, the largest
/// peak RSS and the most CPU others used during any of them (NaN only if unknown for all).
fn summary(rounds: &[Round]) -> Round {
    let most = |values: Vec<f64>| values.into_iter().fold(f64::NAN, f64::max);
    let timed = |pick: fn(&Round) -> Timed| {
        let runs: Vec<Timed> = rounds.iter().map(pick).collect();
        Timed {
            secs: median(runs.iter().map(|t| t.secs).collect()),
            others: most(runs.iter().map(|t| t.others).collect()),
        }
    };
    let download = |pick: fn(&Round) -> Download| {
        let runs: Vec<Download> = rounds.iter().map(pick).collect();
        Download {
            secs: median(runs.iter().map(|d| d.secs).collect()),
            max_rss_bytes: runs.iter().map(|d| d.max_rss_bytes).max().unwrap_or(0),
            others: most(runs.iter().map(|d| d.others).collect()),
        }
    };
    Round {
        curl: timed(|r| r.curl),
        sha256: timed(|r| r.sha256),
        verified: download(|r| r.verified),
        unverified: download(|r| r.unverified),
    }
}

/// The targets, from the medians of the rounds ([`summary`]).
fn checks(f: &Figures) -> Vec<Check> {
    let speed = |secs: f64| mib_per_sec(f.size, secs);
    let all = summary(&f.rounds);
    let mut out = vec![
        speed_check(
            "verified download / sha256 speed",
            speed(all.verified.secs),
            speed(all.sha256.secs),
            VERIFIED_VS_SHA256,
        ),
        speed_check(
            "unverified download / curl",
            speed(all.unverified.secs),
            speed(all.curl.secs),
            UNVERIFIED_VS_CURL,
        ),
        rss_check("verified", all.verified.max_rss_bytes),
        rss_check("unverified", all.unverified.max_rss_bytes),
    ];
    for (what, ms) in [("offline", f.lookup_offline.ms), ("pinned commit", f.lookup_pinned.ms)] {
        out.push(Check {
            what: format!("cached lookup, {what}"),
            measured: format!("{ms:.2} ms"),
            required: format!("<= {MAX_LOOKUP_MS:.0} ms"),
            ok: ms <= MAX_LOOKUP_MS,
        });
    }
    out.push(Check {
        what: "requests during the cached lookups".to_owned(),
        measured: f.lookup_requests.to_string(),
        required: "0".to_owned(),
        ok: f.lookup_requests == 0,
    });
    out
}

fn report(f: &Figures) -> String {
    let all = summary(&f.rounds);
    let transfer = |run: &str, secs: f64, rss: Option<u64>, others: f64| {
        Row::transfer(run, f.size, secs, rss, others)
    };
    let download = |run: &str, d: Download| transfer(run, d.secs, Some(d.max_rss_bytes), d.others);
    let lookup = |run: &str, l: Lookup| Row {
        run: run.to_owned(),
        time: format!("{:.2} ms", l.ms),
        speed: format!("(median of {})", f.lookup_runs),
        peak_rss: String::new(),
        others: l.others,
    };
    let rows = [
        transfer("curl, one stream", all.curl.secs, None, all.curl.others),
        transfer("sha256 (openssl dgst, page cache)", all.sha256.secs, None, all.sha256.others),
        download("hub-cli download, verified", all.verified),
        download("hub-cli download, unverified", all.unverified),
        lookup("cached lookup, offline", f.lookup_offline),
        lookup("cached lookup, pinned commit", f.lookup_pinned),
    ];
    results_with_note(f.size, &rows, &rounds_note(f.rounds.len()), &checks(f))
}

/// How to read the transfers' rows of `runs` rounds.
fn rounds_note(runs: usize) -> String {
    match runs {
        1 => "transfers: one run each (--runs 1)\n".to_owned(),
        2 => "transfers: the mean time of 2 runs each (their median); peak RSS and others' CPU: \
              the larger\n"
            .to_owned(),
        n => format!(
            "transfers: the median time of {n} runs each; peak RSS and others' CPU: the largest\n"
        ),
    }
}

/// The median of `samples` (for an even number, the mean of the middle two); NaN when empty.
fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    match samples.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => samples[n / 2],
        n => (samples[n / 2 - 1] + samples[n / 2]) / 2.0,
    }
}

#[derive(Debug)]
struct LargeFile {
    sha256: String,
    size: u64,
    commit: String,
}

fn large_file(hub: &LocalHub) -> anyhow::Result<LargeFile> {
    let files = hub.info["large_files"].as_array();
    let file = files
        .into_iter()
        .flatten()
        .find(|f| f["repo_id"] == REPO_ID && f["path"] == FILE)
        .ok_or_else(|| {
        anyhow::format_err!("testhub did not list {REPO_ID}:{FILE} in large_files")
    })?;
    let field = |name: &str| {
        file[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::format_err!("large_files entry without {name}: {file}"))
    };
    Ok(LargeFile {
        sha256: field("sha256")?,
        commit: field("commit")?,
        size: file["size"]
            .as_u64()
            .ok_or_else(|| anyhow::format_err!("large_files entry without size: {file}"))?,
    })
}

/// The `Location` header of a `curl -sI` answer.
fn location(headers: &str) -> Option<&str> {
    headers.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim().eq_ignore_ascii_case("location").then(|| value.trim())
    })
}

/// Reads `path` once so the next reader finds it in the page cache.
fn warm_page_cache(path: &Path) -> anyhow::Result<()> {
    let mut file = std::fs::File::open(path)?;
    std::io::copy(&mut file, &mut std::io::sink())?;
    Ok(())
}

/// Total requests in the Hub's `/_testhub/stats`.
fn hub_requests(hub: &LocalHub) -> anyhow::Result<u64> {
    Ok(hub.requests()?.values().sum())
}

pub(super) fn run(opts: &Opts) -> anyhow::Result<()> {
    let bin = release_binaries()?;
    let hub_cli_bin = bin.join("hub-cli");
    require_command(&hub_cli_bin, "download")?;

    let scratch = Scratch::create("download", opts.keep)?;
    std::fs::create_dir_all(scratch.path.join("home"))?;

    step(&format!("start the local Hub with {REPO_ID}:{FILE} of {} bytes", opts.size));
    let spec = format!("{REPO_ID}:{FILE}:{}", opts.size);
    let started = Instant::now();
    let hub = start_hub(&bin.join("testhub"), &scratch.path.join("hub"), &["--large-file", &spec])?;
    say(&format!("ready in {:.1} s: {}", started.elapsed().as_secs_f64(), hub.endpoint));
    let file = large_file(&hub)?;
    anyhow::ensure!(file.size == opts.size, "testhub made {} bytes, not {}", file.size, opts.size);
    let resolve = format!("{}/{REPO_ID}/resolve/main/{FILE}", hub.endpoint);
    let headers = output(Command::new("curl").args(["-sI", "--noproxy", "*", &resolve]))?;
    let cdn_url = location(&headers)
        .ok_or_else(|| {
            anyhow::format_err!("no Location in the answer to HEAD {resolve}:\n{headers}")
        })?
        .to_owned();
    say(&format!("sha256 {}  commit {}\nCDN URL {cdn_url}", file.sha256, file.commit));

    let pid = hub.pid();
    let hub_cli = |cache: &Path, extra: &[&str]| {
        let mut cmd = Command::new(&hub_cli_bin);
        cmd.args(["download", REPO_ID, FILE, "--quiet", "--cache-dir"])
            .arg(cache)
            .args(extra)
            .env("HF_ENDPOINT", &hub.endpoint)
            .env("HF_HOME", scratch.path.join("home"))
            .env("HF_HUB_DISABLE_PROGRESS_BARS", "1");
        for var in [
            "HF_TOKEN",
            "HUGGING_FACE_HUB_TOKEN",
            "HF_HUB_CACHE",
            "HUGGINGFACE_HUB_CACHE",
            "HF_HUB_OFFLINE",
            "HF_HUB_DISABLE_DOWNLOAD_VERIFICATION",
        ] {
            cmd.env_remove(var);
        }
        cmd
    };
    let curl_file = scratch.path.join("curl.bin");
    let mut curl = Command::new("curl");
    curl.args(["-sSf", "--noproxy", "*", "-o"]).arg(&curl_file).arg(&cdn_url);
    let verified_cache = scratch.path.join("cache-verified");
    let unverified_cache = scratch.path.join("cache-unverified");
    let mut unverified = hub_cli(&unverified_cache, &[]);
    unverified.env("HF_HUB_DISABLE_DOWNLOAD_VERIFICATION", "1");

    step("curl, one stream: an untimed warm-up run");
    // The warm-up puts every run on the same footing: on a VM, memory the guest never touched
    // costs far more to fill than memory a deleted file gave back. Likewise, every destination
    // is deleted once measured, so the next run writes into the memory it gave back.
    exec(&mut curl)?;
    std::fs::remove_file(&curl_file)?;

    let mut rounds = Vec::with_capacity(opts.runs);
    let mut lookups = None;
    for round in 1..=opts.runs {
        let of = format!("round {round} of {}", opts.runs);
        step(&format!("{of}: curl, one stream"));
        sync()?;
        let meter = CpuMeter::start(pid);
        let started = Instant::now();
        exec(&mut curl)?;
        let secs = started.elapsed().as_secs_f64();
        let curl_run = Timed { secs, others: meter.others_percent() };
        say(&format!("{:.3} s{}", curl_run.secs, busy_note(curl_run.others)));
        let got = std::fs::metadata(&curl_file)?.len();
        anyhow::ensure!(got == file.size, "curl wrote {got} bytes, not {}", file.size);

        step(&format!("{of}: sha256 of the same file (openssl dgst, from the page cache)"));
        let sha256 = measured_sha256(&curl_file, &file.sha256, pid)?;
        std::fs::remove_file(&curl_file)?;

        step(&format!("{of}: hub-cli download, verified"));
        let (verified, path) = measured_download(&hub_cli(&verified_cache, &[]), file.size, pid)?;
        if round == opts.runs {
            // The lookups run here, so the cache is gone before the unverified download, which
            // then writes into the memory it gave back, as every other run does.
            lookups = Some(cached_lookups(&hub, &hub_cli, &verified_cache, &path, &file.commit)?);
        }
        std::fs::remove_dir_all(&verified_cache)?;

        step(&format!(
            "{of}: hub-cli download, unverified (HF_HUB_DISABLE_DOWNLOAD_VERIFICATION=1)"
        ));
        let (unverified, _) = measured_download(&unverified, file.size, pid)?;
        std::fs::remove_dir_all(&unverified_cache)?;
        rounds.push(Round { curl: curl_run, sha256, verified, unverified });
    }
    let (lookup_offline, lookup_pinned, lookup_requests) =
        lookups.ok_or_else(|| anyhow::format_err!("no round ran the cached lookups"))?;

    drop(hub);
    let figures = Figures {
        size: file.size,
        rounds,
        lookup_offline,
        lookup_pinned,
        lookup_runs: LOOKUP_RUNS,
        lookup_requests,
    };
    step("results");
    say(&report(&figures));
    Ok(())
}

/// Times `openssl dgst -sha256` of `path`, read once before so that it comes from the page
/// cache; checks that it finds `sha256`.
fn measured_sha256(path: &Path, sha256: &str, hub_pid: u32) -> anyhow::Result<Timed> {
    warm_page_cache(path)?;
    let mut openssl = Command::new("openssl");
    openssl.args(["dgst", "-sha256"]).arg(path);
    say(&format!("$ {}", describe(&openssl)));
    let meter = CpuMeter::start(hub_pid);
    let started = Instant::now();
    let digest = output(&mut openssl)?;
    let secs = started.elapsed().as_secs_f64();
    let others = meter.others_percent();
    say(&format!("{secs:.3} s{}", busy_note(others)));
    anyhow::ensure!(
        openssl_digest(&digest) == Some(sha256),
        "openssl says {digest:?}, the Hub says {sha256}"
    );
    Ok(Timed { secs, others })
}

/// Runs a `hub-cli download` under the measuring helper; checks that it printed the path of a
/// file of `size` bytes, and returns the figures and that path.
fn measured_download(
    cmd: &Command,
    size: u64,
    hub_pid: u32,
) -> anyhow::Result<(Download, PathBuf)> {
    let (Measured { secs, max_rss_bytes, stdout, .. }, others) = measured(cmd, hub_pid)?;
    let stdout = stdout.trim();
    let path = PathBuf::from(stdout);
    let got = std::fs::metadata(&path)
        .map_err(|e| anyhow::format_err!("hub-cli printed {stdout:?}, not a file ({e})"))?
        .len();
    anyhow::ensure!(got == size, "{} has {got} bytes, not {size}", path.display());
    say(&format!(
        "{secs:.3} s, peak RSS {}: {}{}",
        format_mib(max_rss_bytes),
        path.display(),
        busy_note(others)
    ));
    Ok((Download { secs, max_rss_bytes, others }, path))
}

/// The cached lookups of the file a verified download put at `path` in `cache`, offline and
/// pinned to `commit`, and the requests the Hub received meanwhile (there must be none).
fn cached_lookups(
    hub: &LocalHub,
    hub_cli: &dyn Fn(&Path, &[&str]) -> Command,
    cache: &Path,
    path: &Path,
    commit: &str,
) -> anyhow::Result<(Lookup, Lookup, u64)> {
    step(&format!("cached lookups of the verified download, {LOOKUP_RUNS} runs each"));
    let requests_before = hub_requests(hub)?;
    let mut offline = hub_cli(cache, &[]);
    offline.env("HF_HUB_OFFLINE", "1");
    let pid = hub.pid();
    let lookup_offline = lookup_median(&mut offline, path, pid)?;
    let lookup_pinned = lookup_median(&mut hub_cli(cache, &["--revision", commit]), path, pid)?;
    let lookup_requests = hub_requests(hub)?.saturating_sub(requests_before);
    Ok((lookup_offline, lookup_pinned, lookup_requests))
}

/// Runs `cmd` once to warm up, then `LOOKUP_RUNS` times; each must print `expected`. The median
/// wall time of the counted runs and the others' CPU meanwhile.
fn lookup_median(cmd: &mut Command, expected: &Path, hub_pid: u32) -> anyhow::Result<Lookup> {
    say(&format!("$ {}", describe(cmd)));
    let mut samples = Vec::with_capacity(LOOKUP_RUNS);
    let mut meter = CpuMeter::start(hub_pid);
    // One warm-up run (the binary and the cache's metadata into the page cache), not counted.
    for run in 0..=LOOKUP_RUNS {
        if run == 1 {
            meter = CpuMeter::start(hub_pid);
        }
        let started = Instant::now();
        let printed = output(cmd.stdin(Stdio::null()))?;
        if run > 0 {
            samples.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        anyhow::ensure!(
            Path::new(printed.trim()) == expected,
            "the lookup printed {printed:?}, not {}",
            expected.display()
        );
    }
    let others = meter.others_percent();
    let ms = median(samples.clone());
    let spread: Vec<String> = samples.iter().map(|ms| format!("{ms:.1}")).collect();
    say(&format!("median {ms:.2} ms (runs: {} ms){}", spread.join(" "), busy_note(others)));
    Ok(Lookup { ms, others })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timed(secs: f64, others: f64) -> Timed {
        Timed { secs, others }
    }

    fn download(secs: f64, max_rss_bytes: u64, others: f64) -> Download {
        Download { secs, max_rss_bytes, others }
    }

    /// Three rounds whose medians are curl 1.0 s, sha256 0.5 s, verified 0.5 s and unverified
    /// 0.7 s, each from a different round; the largest peak RSS and others' CPU are from yet
    /// others.
    fn figures() -> Figures {
        let round =
            |curl, sha256, verified, unverified| Round { curl, sha256, verified, unverified };
        Figures {
            size: 1 << 30,
            rounds: vec![
                round(
                    timed(1.0, 0.0),
                    timed(0.9, 0.0),
                    download(0.4, 20 << 20, 2.0),
                    download(0.7, 10 << 20, 0.0),
                ),
                round(
                    timed(2.0, 1.0),
                    timed(0.5, 0.0),
                    download(0.5, 12 << 20, 0.0),
                    download(0.6, 64 << 20, 1.0),
                ),
                round(
                    timed(0.8, 0.5),
                    timed(0.4, f64::NAN),
                    download(1.5, 8 << 20, 1.0),
                    download(1.4, 30 << 20, 3.0),
                ),
            ],
            lookup_offline: Lookup { ms: 1.5, others: 0.5 },
            lookup_pinned: Lookup { ms: 5.0, others: f64::NAN },
            lookup_runs: 10,
            lookup_requests: 0,
        }
    }

    #[test]
    fn summarises_the_rounds() {
        let all = summary(&figures().rounds);
        assert_eq!(all.curl, timed(1.0, 1.0));
        assert_eq!(all.sha256, timed(0.5, 0.0), "NaN counts as unknown, not as the most");
        assert_eq!(all.verified, download(0.5, 20 << 20, 2.0));
        assert_eq!(all.unverified, download(0.7, 64 << 20, 3.0));
        // Two rounds: the mean of the two; one: that round.
        let two = summary(&figures().rounds[1..]);
        assert!((two.curl.secs - 1.4).abs() < 1e-9, "{two:?}");
        assert_eq!(two.verified, download(1.0, 12 << 20, 1.0));
        let first = figures().rounds[0];
        assert_eq!(summary(&[first]), first);
        // Others' CPU unknown in every round: unknown.
        let unknown = Round { curl: timed(1.0, f64::NAN), ..first };
        assert!(summary(&[unknown, unknown]).curl.others.is_nan());
    }

    #[test]
    fn checks_the_targets() {
        let f = figures();
        let got: Vec<(String, String, bool)> =
            checks(&f).into_iter().map(|c| (c.what, c.measured, c.ok)).collect();
        let want = [
            ("verified download / sha256 speed", "1.00x", true),
            ("unverified download / curl", "1.43x", true),
            ("peak RSS, verified", "20.0 MiB", true),
            ("peak RSS, unverified", "64.0 MiB", true),
            ("cached lookup, offline", "1.50 ms", true),
            ("cached lookup, pinned commit", "5.00 ms", true),
            ("requests during the cached lookups", "0", true),
        ];
        let want: Vec<(String, String, bool)> =
            want.iter().map(|(w, m, ok)| ((*w).to_owned(), (*m).to_owned(), *ok)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn misses_are_reported() {
        let mut f = figures();
        // The medians: verified 0.6 s, unverified 0.75 s; one verified run over the RSS limit.
        f.rounds[1].verified = download(0.6, (64 << 20) + 1, 0.0);
        f.rounds[0].unverified = download(0.75, 1, 0.0);
        f.rounds[1].unverified = download(0.8, 1, 0.0);
        f.lookup_pinned.ms = 5.01;
        f.lookup_requests = 2;
        let ok: Vec<bool> = checks(&f).into_iter().map(|c| c.ok).collect();
        assert_eq!(ok, [false, false, false, true, true, false, false]);
        let text = report(&f);
        assert_eq!(text.matches("MISSED").count(), 5, "{text}");
        // A single fast run does not carry a target: the medians do.
        let mut f = figures();
        f.rounds[1].unverified.secs = 0.1;
        f.rounds[2].curl.secs = 0.1;
        assert_eq!(checks(&f)[1].measured, "1.43x");
    }

    #[test]
    fn reports_a_table() {
        let text = report(&figures());
        assert!(text.starts_with("file: 1024.0 MiB (1073741824 bytes)\n"), "{text}");
        let line = |start: &str| {
            text.lines().find(|l| l.starts_with(start)).unwrap_or_else(|| panic!("{start}: {text}"))
        };
        let words = |start: &str| line(start).split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(words("curl, one stream"), "curl, one stream 1.000 s 1024 MiB/s 1%");
        assert_eq!(words("sha256"), "sha256 (openssl dgst, page cache) 0.500 s 2048 MiB/s 0%");
        assert_eq!(
            words("hub-cli download, verified"),
            "hub-cli download, verified 0.500 s 2048 MiB/s 20.0 MiB 2%"
        );
        assert_eq!(
            words("hub-cli download, unverified"),
            "hub-cli download, unverified 0.700 s 1463 MiB/s 64.0 MiB 3%"
        );
        assert_eq!(
            words("cached lookup, offline"),
            "cached lookup, offline 1.50 ms (median of 10) 0%"
        );
        assert_eq!(
            words("cached lookup, pinned commit"),
            "cached lookup, pinned commit 5.00 ms (median of 10) ?"
        );
        assert!(!text.contains("(!)"), "{text}");
        // Right under the figures: how to read them.
        let under = text.lines().skip_while(|l| !l.starts_with("cached lookup, pinned")).nth(1);
        assert_eq!(
            under,
            Some(
                "transfers: the median time of 3 runs each; peak RSS and others' CPU: the largest"
            ),
            "{text}"
        );
        assert_eq!(
            words("unverified download / curl"),
            "unverified download / curl 1.43x >= 1.4x ok"
        );
        // Columns line up: every row of a table has its cells at the same offsets.
        let header = line("run");
        let speed_end = header.find("speed").unwrap() + "speed".len();
        assert_eq!(line("curl, one stream").find("MiB/s").unwrap() + "MiB/s".len(), speed_end);
    }

    #[test]
    fn says_how_many_runs_the_times_are_of() {
        assert_eq!(rounds_note(1), "transfers: one run each (--runs 1)\n");
        assert!(rounds_note(2).starts_with("transfers: the mean time of 2 runs each"));
        assert!(rounds_note(5).starts_with("transfers: the median time of 5 runs each"));
        let f = Figures { rounds: figures().rounds[..1].to_vec(), ..figures() };
        assert!(report(&f).contains("\ntransfers: one run each (--runs 1)\n\ntarget"));
    }

    #[test]
    fn flags_figures_measured_beside_other_work() {
        let mut f = figures();
        f.rounds[1].unverified.others = 35.0;
        let text = report(&f);
        let line = text.lines().find(|l| l.starts_with("hub-cli download, unverified")).unwrap();
        assert!(line.ends_with("35% (!)"), "{text}");
        assert!(text.contains("(!) other processes used 10% or more of the CPU"), "{text}");
        assert_eq!(busy_note(35.0), " (other processes used 35% of the CPU meanwhile: unreliable)");
        assert_eq!(busy_note(9.9), "");
        assert_eq!(busy_note(f64::NAN), "");
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(vec![0.25]), 0.25);
        assert!(median(vec![]).is_nan());
    }

    #[test]
    fn reads_the_location() {
        let headers = "HTTP/1.1 302 Found\r\nx-repo-commit: abc\r\nLocation: http://127.0.0.2:9/lfs/x?exp=1&sig=2\r\n\r\n";
        assert_eq!(location(headers), Some("http://127.0.0.2:9/lfs/x?exp=1&sig=2"));
        assert_eq!(location("HTTP/1.1 200 OK\r\n"), None);
    }
}
