//! `cargo xtask bench download`: how fast `hub-cli download` fetches a large LFS file from the
//! local Hub, against `curl` and `openssl dgst -sha256` on the same bytes, measured in one run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::{
    Check, CpuMeter, Measured, Opts, Row, Scratch, busy_note, format_mib, measured, mib_per_sec,
    release_binaries, require_command, results, rss_check, speed_check, sync,
};
use crate::demo::{LocalHub, start_hub};
use crate::util::{describe, exec, openssl_digest, output, say, step};

pub(super) const HELP: &str = "\
cargo xtask bench download [--size BYTES] [--keep]

Builds hub-cli and the local Hub (testhub) in release mode, starts the Hub on loopback with a
large LFS file (bench/large-model, model.bin) and measures, in the same run:
  curl        one stream from the signed CDN URL (the baseline)
  sha256      openssl dgst -sha256 on the downloaded file, from the page cache (the ceiling of
              any verified download)
  verified    hub-cli download into a fresh cache (wall time, MiB/s, peak RSS)
  unverified  the same with HF_HUB_DISABLE_DOWNLOAD_VERIFICATION=1
  lookups     hub-cli download of the cached file, offline (HF_HUB_OFFLINE=1) and pinned to
              the commit (--revision <sha>): the median of 10 runs after a warm-up one,
              process start to exit
then prints the figures and the targets (ok / MISSED). Missed targets do not fail the command:
it fails only when something cannot run. Needs curl and openssl; no internet.
Run it on an idle machine: it measures the CPU other processes (builds, test suites) use
during each measurement and flags the figures they may have skewed with (!).

Options:
  --size BYTES  size of the file: bytes, or with KiB/MiB/GiB (default 2GiB)
  --keep        keep the scratch directory (Hub root, caches) instead of deleting it
";

const REPO_ID: &str = "bench/large-model";
const FILE: &str = "model.bin";
const LOOKUP_RUNS: usize = 10;

/// The targets of issue 3.
const VERIFIED_VS_SHA256: f64 = 0.9;
const UNVERIFIED_VS_CURL: f64 = 1.4;
const MAX_LOOKUP_MS: f64 = 5.0;

/// A hub-cli download run under the measuring helper.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Download {
    secs: f64,
    max_rss_bytes: u64,
}

/// Everything one run measures.
#[derive(Debug, Clone, PartialEq)]
struct Figures {
    size: u64,
    curl_secs: f64,
    sha256_secs: f64,
    verified: Download,
    unverified: Download,
    /// Medians, in milliseconds.
    lookup_offline_ms: f64,
    lookup_pinned_ms: f64,
    lookup_runs: usize,
    /// Requests the Hub and the CDN received during all the lookups.
    lookup_requests: u64,
    /// The CPU other processes used during each measurement.
    others: Others,
}

/// Percent of all cores that processes other than this benchmark's used during each
/// measurement (NaN when unknown): another build or test suite makes a figure unreliable.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Others {
    curl: f64,
    sha256: f64,
    verified: f64,
    unverified: f64,
    lookup_offline: f64,
    lookup_pinned: f64,
}

fn checks(f: &Figures) -> Vec<Check> {
    let speed = |secs: f64| mib_per_sec(f.size, secs);
    let mut out = vec![
        speed_check(
            "verified download / sha256 speed",
            speed(f.verified.secs),
            speed(f.sha256_secs),
            VERIFIED_VS_SHA256,
        ),
        speed_check(
            "unverified download / curl",
            speed(f.unverified.secs),
            speed(f.curl_secs),
            UNVERIFIED_VS_CURL,
        ),
        rss_check("verified", f.verified.max_rss_bytes),
        rss_check("unverified", f.unverified.max_rss_bytes),
    ];
    for (what, ms) in [("offline", f.lookup_offline_ms), ("pinned commit", f.lookup_pinned_ms)] {
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
    let o = &f.others;
    let transfer = |run: &str, secs: f64, rss: Option<u64>, others: f64| {
        Row::transfer(run, f.size, secs, rss, others)
    };
    let lookup = |run: &str, ms: f64, others: f64| Row {
        run: run.to_owned(),
        time: format!("{ms:.2} ms"),
        speed: format!("(median of {})", f.lookup_runs),
        peak_rss: String::new(),
        others,
    };
    let rows = [
        transfer("curl, one stream", f.curl_secs, None, o.curl),
        transfer("sha256 (openssl dgst, page cache)", f.sha256_secs, None, o.sha256),
        transfer(
            "hub-cli download, verified",
            f.verified.secs,
            Some(f.verified.max_rss_bytes),
            o.verified,
        ),
        transfer(
            "hub-cli download, unverified",
            f.unverified.secs,
            Some(f.unverified.max_rss_bytes),
            o.unverified,
        ),
        lookup("cached lookup, offline", f.lookup_offline_ms, o.lookup_offline),
        lookup("cached lookup, pinned commit", f.lookup_pinned_ms, o.lookup_pinned),
    ];
    results(f.size, &rows, &checks(f))
}

fn median_ms(mut samples: Vec<f64>) -> f64 {
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

    step("curl, one stream (after an untimed warm-up run)");
    let pid = hub.pid();
    let curl_file = scratch.path.join("curl.bin");
    // The warm-up puts every run on the same footing: on a VM, memory the guest never touched
    // costs far more to fill than memory a deleted file gave back.
    exec(
        Command::new("curl").args(["-sSf", "--noproxy", "*", "-o"]).arg(&curl_file).arg(&cdn_url),
    )?;
    std::fs::remove_file(&curl_file)?;
    sync()?;
    let meter = CpuMeter::start(pid);
    let started = Instant::now();
    exec(
        Command::new("curl").args(["-sSf", "--noproxy", "*", "-o"]).arg(&curl_file).arg(&cdn_url),
    )?;
    let curl_secs = started.elapsed().as_secs_f64();
    let others_curl = meter.others_percent();
    say(&format!("{curl_secs:.3} s{}", busy_note(others_curl)));
    let got = std::fs::metadata(&curl_file)?.len();
    anyhow::ensure!(got == file.size, "curl wrote {got} bytes, not {}", file.size);

    step("sha256 of the same file (openssl dgst, from the page cache)");
    warm_page_cache(&curl_file)?;
    let mut openssl = Command::new("openssl");
    openssl.args(["dgst", "-sha256"]).arg(&curl_file);
    say(&format!("$ {}", describe(&openssl)));
    let meter = CpuMeter::start(pid);
    let started = Instant::now();
    let digest = output(&mut openssl)?;
    let sha256_secs = started.elapsed().as_secs_f64();
    let others_sha256 = meter.others_percent();
    say(&format!("{sha256_secs:.3} s{}", busy_note(others_sha256)));
    anyhow::ensure!(
        openssl_digest(&digest) == Some(file.sha256.as_str()),
        "openssl says {digest:?}, the Hub says {}",
        file.sha256
    );
    std::fs::remove_file(&curl_file)?;

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

    step("hub-cli download, verified");
    let verified_cache = scratch.path.join("cache-verified");
    let (verified, verified_path, others_verified) =
        measured_download(&hub_cli(&verified_cache, &[]), file.size, pid)?;

    step(&format!("cached lookups, {LOOKUP_RUNS} runs each"));
    let requests_before = hub_requests(&hub)?;
    let mut offline = hub_cli(&verified_cache, &[]);
    offline.env("HF_HUB_OFFLINE", "1");
    let (lookup_offline_ms, others_offline) = lookup_median_ms(&mut offline, &verified_path, pid)?;
    let (lookup_pinned_ms, others_pinned) = lookup_median_ms(
        &mut hub_cli(&verified_cache, &["--revision", &file.commit]),
        &verified_path,
        pid,
    )?;
    let lookup_requests = hub_requests(&hub)?.saturating_sub(requests_before);
    // Every download writes into memory freed by the previous one: on a VM, pages the guest
    // never touched cost far more to fill, and would make the later run look slow.
    std::fs::remove_dir_all(&verified_cache)?;

    step("hub-cli download, unverified (HF_HUB_DISABLE_DOWNLOAD_VERIFICATION=1)");
    let unverified_cache = scratch.path.join("cache-unverified");
    let mut cmd = hub_cli(&unverified_cache, &[]);
    cmd.env("HF_HUB_DISABLE_DOWNLOAD_VERIFICATION", "1");
    let (unverified, _, others_unverified) = measured_download(&cmd, file.size, pid)?;
    std::fs::remove_dir_all(&unverified_cache)?;

    drop(hub);
    let figures = Figures {
        size: file.size,
        curl_secs,
        sha256_secs,
        verified,
        unverified,
        lookup_offline_ms,
        lookup_pinned_ms,
        lookup_runs: LOOKUP_RUNS,
        lookup_requests,
        others: Others {
            curl: others_curl,
            sha256: others_sha256,
            verified: others_verified,
            unverified: others_unverified,
            lookup_offline: others_offline,
            lookup_pinned: others_pinned,
        },
    };
    step("results");
    say(&report(&figures));
    Ok(())
}

/// Runs a `hub-cli download` under the measuring helper; checks that it printed the path of a
/// file of `size` bytes, and returns the figures, that path and the others' CPU meanwhile.
fn measured_download(
    cmd: &Command,
    size: u64,
    hub_pid: u32,
) -> anyhow::Result<(Download, PathBuf, f64)> {
    let (Measured { secs, max_rss_bytes, stdout, .. }, others) = measured(cmd, hub_pid)?;
    let stdout = stdout.trim();
    let path = PathBuf::from(stdout);
    let got = std::fs::metadata(&path)
        .map_err(|e| anyhow::format_err!("hub-cli printed {stdout:?}, not a file ({e})"))?
        .len();
    anyhow::ensure!(got == size, "{} has {got} bytes, not {size}", path.display());
    let download = Download { secs, max_rss_bytes };
    say(&format!(
        "{secs:.3} s, peak RSS {}: {}{}",
        format_mib(max_rss_bytes),
        path.display(),
        busy_note(others)
    ));
    Ok((download, path, others))
}

/// Runs `cmd` once to warm up, then `LOOKUP_RUNS` times; each must print `expected`. The median
/// wall time of the counted runs, in ms, and the others' CPU meanwhile.
fn lookup_median_ms(
    cmd: &mut Command,
    expected: &Path,
    hub_pid: u32,
) -> anyhow::Result<(f64, f64)> {
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
    let median = median_ms(samples.clone());
    let spread: Vec<String> = samples.iter().map(|ms| format!("{ms:.1}")).collect();
    say(&format!("median {median:.2} ms (runs: {} ms){}", spread.join(" "), busy_note(others)));
    Ok((median, others))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures() -> Figures {
        Figures {
            size: 1 << 30,
            curl_secs: 1.0,
            sha256_secs: 0.5,
            verified: Download { secs: 0.5, max_rss_bytes: 20 << 20 },
            unverified: Download { secs: 0.7, max_rss_bytes: 64 << 20 },
            lookup_offline_ms: 1.5,
            lookup_pinned_ms: 5.0,
            lookup_runs: 10,
            lookup_requests: 0,
            others: Others {
                curl: 1.0,
                sha256: 0.0,
                verified: 2.0,
                unverified: 3.0,
                lookup_offline: 0.5,
                lookup_pinned: f64::NAN,
            },
        }
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
        let f = Figures {
            verified: Download { secs: 0.6, max_rss_bytes: (64 << 20) + 1 },
            unverified: Download { secs: 0.75, max_rss_bytes: 1 },
            lookup_pinned_ms: 5.01,
            lookup_requests: 2,
            ..figures()
        };
        let ok: Vec<bool> = checks(&f).into_iter().map(|c| c.ok).collect();
        assert_eq!(ok, [false, false, false, true, true, false, false]);
        let text = report(&f);
        assert_eq!(text.matches("MISSED").count(), 5, "{text}");
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
            words("cached lookup, offline"),
            "cached lookup, offline 1.50 ms (median of 10) 0%"
        );
        assert_eq!(
            words("cached lookup, pinned commit"),
            "cached lookup, pinned commit 5.00 ms (median of 10) ?"
        );
        assert!(!text.contains("(!)"), "{text}");
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
    fn flags_figures_measured_beside_other_work() {
        let f = Figures { others: Others { unverified: 35.0, ..figures().others }, ..figures() };
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
        assert_eq!(median_ms(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median_ms(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median_ms(vec![]).is_nan());
    }

    #[test]
    fn reads_the_location() {
        let headers = "HTTP/1.1 302 Found\r\nx-repo-commit: abc\r\nLocation: http://127.0.0.2:9/lfs/x?exp=1&sig=2\r\n\r\n";
        assert_eq!(location(headers), Some("http://127.0.0.2:9/lfs/x?exp=1&sig=2"));
        assert_eq!(location("HTTP/1.1 200 OK\r\n"), None);
    }
}
