//! `cargo xtask bench download` (`hub-bench download`): how fast `hub-cli download` fetches a large LFS file from the
//! local Hub, against `curl` and `openssl dgst -sha256` on the same bytes, measured in one run;
//! with a baseline, also against another `hub-cli` (a build of an older commit), so that one run
//! shows ours before and after a change.
//!
//! One run of a transfer is noisy on a small VM (the same command varies by up to 2x), so the
//! transfers are measured in `--runs` interleaved rounds (curl, sha256, verified, unverified),
//! and every row of the table, and the targets, take the median time of its runs (with the
//! largest peak RSS and the most CPU others used during any of them). The cached lookups run
//! once, after the rounds, on the last round's verified download.
//!
//! The baseline is `--baseline PATH`, a `hub-cli` binary, or `--baseline-rev REV`, built here:
//! `git worktree add --detach` of that commit under `target/tmp/`, `cargo build --release -p
//! hub-cli --target-dir target/bench-baseline` in it, then the worktree is removed; the binary
//! is kept as `target/bench-baseline/hub-cli-<commit>`, which a later run at the same commit
//! reuses. In every round the baseline's verified and unverified downloads run beside ours, each
//! into a fresh cache as ours: ours first in odd rounds, the baseline's first in even ones, so
//! that neither always runs into the memory the other just gave back. Its rows are in the table,
//! and the targets add the time ratios ours / baseline: ours more than 10 % slower is MISSED
//! (like every target, informational: it does not fail the command).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hub_tests::{HubConfig, LargeFile, Repo, TestHub};
use hub_url::env::{
    HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_HUB_DISABLE_DOWNLOAD_VERIFICATION,
    HF_HUB_DISABLE_PROGRESS_BARS, HF_HUB_OFFLINE, HF_TOKEN, HUGGING_FACE_HUB_TOKEN,
    HUGGINGFACE_HUB_CACHE,
};

use super::{
    Baseline, Check, Opts, Row, Scratch, format_mib, mib_per_sec, release_binaries,
    require_command, results_with_note, rss_check, speed_check, target_root,
};
use crate::hub;
use crate::measure::{CpuMeter, Measured, busy_note, measured, sync};
use crate::util::{cargo, describe, exec, openssl_digest, output, project_root, say, shout, step};

pub(super) const HELP: &str = "\
cargo xtask bench download [--size BYTES] [--runs N] [--baseline PATH | --baseline-rev REV]
                           [--keep]

Builds hub-cli in release mode, starts the local Hub on loopback with a large LFS file
(bench/large-model, model.bin) and measures, in the same run, N rounds of:
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

With a baseline (another hub-cli, built from an older commit: ours before a change), every
round also measures the baseline's verified and unverified downloads, each into a fresh cache
as ours, ours first in odd rounds and the baseline first in even ones. The table gets the rows
`baseline verified` and `baseline unverified` (with their peak RSS), and the targets the time
ratios ours / baseline: ours more than 10 % slower than the baseline is MISSED.

Options:
  --size BYTES        size of the file: bytes, or with KiB/MiB/GiB (default 2GiB)
  --runs N            rounds of the transfers, 1 or more (default 3): a single run of the
                      same command varies by up to 2x on a small VM
  --baseline PATH     the hub-cli binary to measure beside ours (an older build of it)
  --baseline-rev REV  build the baseline from git revision REV: a detached `git worktree add`
                      under target/tmp/, `cargo build --release -p hub-cli --target-dir
                      target/bench-baseline` in it, then the worktree is removed. The binary
                      is kept as target/bench-baseline/hub-cli-<commit> and reused by later
                      runs at that commit (delete it to build again). A few minutes of CPU.
  --keep              keep the scratch directory (Hub root, caches) instead of deleting it
";

const REPO_ID: &str = "bench/large-model";
const FILE: &str = "model.bin";
const LOOKUP_RUNS: usize = 10;

/// The targets of issue 3.
const VERIFIED_VS_SHA256: f64 = 0.9;
const UNVERIFIED_VS_CURL: f64 = 1.4;
const MAX_LOOKUP_MS: f64 = 5.0;
/// Ours may take at most this times the baseline's time (10 % slower) before it is a regression.
const MAX_VS_BASELINE: f64 = 1.1;

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

/// One round of the transfers, in the order they run (but for the baseline's, each beside ours).
/// [`summary`] gives one of the same shape for all the rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Round {
    curl: Timed,
    sha256: Timed,
    verified: Download,
    unverified: Download,
    /// The baseline's downloads, when there is one.
    baseline: Option<Downloads>,
}

/// The verified and the unverified download of one `hub-cli`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Downloads {
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
    /// How the report names the baseline, when there is one (then every round has its figures).
    baseline: Option<String>,
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
    let downloads = |runs: Vec<Download>| Download {
        secs: median(runs.iter().map(|d| d.secs).collect()),
        max_rss_bytes: runs.iter().map(|d| d.max_rss_bytes).max().unwrap_or(0),
        others: most(runs.iter().map(|d| d.others).collect()),
    };
    let download = |pick: fn(&Round) -> Download| downloads(rounds.iter().map(pick).collect());
    // The baseline's, only when every round has them.
    let baseline: Option<Vec<Downloads>> = rounds.iter().map(|r| r.baseline).collect();
    Round {
        curl: timed(|r| r.curl),
        sha256: timed(|r| r.sha256),
        verified: download(|r| r.verified),
        unverified: download(|r| r.unverified),
        baseline: baseline.filter(|b| !b.is_empty()).map(|b| Downloads {
            verified: downloads(b.iter().map(|d| d.verified).collect()),
            unverified: downloads(b.iter().map(|d| d.unverified).collect()),
        }),
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
    if let Some(baseline) = all.baseline {
        out.push(vs_baseline("verified", all.verified, baseline.verified));
        out.push(vs_baseline("unverified", all.unverified, baseline.unverified));
    }
    out
}

/// Our time over the baseline's for the `what` downloads: a regression above `MAX_VS_BASELINE`.
fn vs_baseline(what: &str, ours: Download, baseline: Download) -> Check {
    let ratio = ours.secs / baseline.secs;
    Check {
        what: format!("{what} ours/baseline (time)"),
        measured: format!("{ratio:.2}x"),
        required: format!("<= {MAX_VS_BASELINE:.2}x"),
        ok: ratio <= MAX_VS_BASELINE,
    }
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
    let mut rows = vec![
        transfer("curl, one stream", all.curl.secs, None, all.curl.others),
        transfer("sha256 (openssl dgst, page cache)", all.sha256.secs, None, all.sha256.others),
        download("hub-cli download, verified", all.verified),
        download("hub-cli download, unverified", all.unverified),
    ];
    let mut note = rounds_note(f.rounds.len());
    if let (Some(name), Some(baseline)) = (&f.baseline, all.baseline) {
        rows.push(download("baseline verified", baseline.verified));
        rows.push(download("baseline unverified", baseline.unverified));
        note.push_str(&format!(
            "baseline: {name}, beside ours in every round (ours first in odd rounds)\n"
        ));
    }
    rows.push(lookup("cached lookup, offline", f.lookup_offline));
    rows.push(lookup("cached lookup, pinned commit", f.lookup_pinned));
    results_with_note(f.size, &rows, &note, &checks(f))
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

/// Reads `path` once so the next reader finds it in the page cache.
fn warm_page_cache(path: &Path) -> anyhow::Result<()> {
    let mut file = std::fs::File::open(path)?;
    std::io::copy(&mut file, &mut std::io::sink())?;
    Ok(())
}

/// Total requests the Hub and the CDN have received so far.
fn hub_requests(hub: &TestHub) -> u64 {
    hub.stats().requests.values().sum()
}

/// How long the CDN URL that curl downloads stays valid: longer than any run.
const CDN_URL_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// Commits the large file of `size` bytes on `main` of `REPO_ID`, created for it.
fn large_file(hub: &TestHub, size: u64) -> anyhow::Result<LargeFile> {
    let file = hub.add_large_file(&Repo::model(REPO_ID), FILE, size)?;
    anyhow::ensure!(file.size == size, "the local Hub made {} bytes, not {size}", file.size);
    Ok(file)
}

/// Unix seconds `after` from now.
fn unix_time_in(after: Duration) -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    (now + after).as_secs()
}

pub(super) fn run(opts: &Opts) -> anyhow::Result<()> {
    // The baseline first: a mistyped path or revision fails before the long build of ours.
    let baseline = opts.baseline.as_ref().map(baseline_binary).transpose()?;
    let bin = release_binaries()?;
    let hub_cli_bin = bin.join("hub-cli");
    require_command(&hub_cli_bin, "download")?;
    if let Some(baseline) = &baseline {
        require_command(&baseline.path, "download")?;
        say(&format!("baseline: {}", baseline.name));
    }

    let scratch = Scratch::create("download", opts.keep)?;
    std::fs::create_dir_all(scratch.path.join("home"))?;

    step(&format!("start the local Hub with {REPO_ID}:{FILE} of {} bytes", opts.size));
    let started = Instant::now();
    let hub =
        hub::start(HubConfig { root: Some(scratch.path.join("hub")), ..HubConfig::default() })?;
    let file = large_file(&hub, opts.size)?;
    say(&format!("ready in {:.1} s: {}", started.elapsed().as_secs_f64(), hub.endpoint()));
    let cdn_url = hub.signed_cdn_url(&file.sha256, unix_time_in(CDN_URL_LIFETIME));
    say(&format!("sha256 {}  commit {}\nCDN URL {cdn_url}", file.sha256, file.commit));

    // A download by the `hub-cli` at `program` into `cache`.
    let download_cmd = |program: &Path, cache: &Path, extra: &[&str]| {
        let mut cmd = Command::new(program);
        cmd.args(["download", REPO_ID, FILE, "--quiet", "--cache-dir"])
            .arg(cache)
            .args(extra)
            .env(HF_ENDPOINT, hub.endpoint())
            .env(HF_HOME, scratch.path.join("home"))
            .env(HF_HUB_DISABLE_PROGRESS_BARS, "1");
        for var in [
            HF_TOKEN,
            HUGGING_FACE_HUB_TOKEN,
            HF_HUB_CACHE,
            HUGGINGFACE_HUB_CACHE,
            HF_HUB_OFFLINE,
            HF_HUB_DISABLE_DOWNLOAD_VERIFICATION,
        ] {
            cmd.env_remove(var);
        }
        cmd
    };
    let hub_cli = |cache: &Path, extra: &[&str]| download_cmd(&hub_cli_bin, cache, extra);
    let curl_file = scratch.path.join("curl.bin");
    let mut curl = Command::new("curl");
    curl.args(["-sSf", "--noproxy", "*", "-o"]).arg(&curl_file).arg(&cdn_url);

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
        let meter = CpuMeter::start();
        let started = Instant::now();
        exec(&mut curl)?;
        let secs = started.elapsed().as_secs_f64();
        let curl_run = Timed { secs, others: meter.others_percent() };
        say(&format!("{:.3} s{}", curl_run.secs, busy_note(curl_run.others)));
        let got = std::fs::metadata(&curl_file)?.len();
        anyhow::ensure!(got == file.size, "curl wrote {got} bytes, not {}", file.size);

        step(&format!("{of}: sha256 of the same file (openssl dgst, from the page cache)"));
        let sha256 = measured_sha256(&curl_file, &file.sha256)?;
        std::fs::remove_file(&curl_file)?;

        // Ours and the baseline's, verified then unverified, each into a fresh cache.
        let mut ours = [None, None];
        let mut theirs = [None, None];
        for (at, verified) in [true, false].into_iter().enumerate() {
            let (kind, name) = if verified {
                ("verified", "verified")
            } else {
                ("unverified (HF_HUB_DISABLE_DOWNLOAD_VERIFICATION=1)", "unverified")
            };
            for &side in sides(round, baseline.is_some()) {
                let (program, label) = match (side, &baseline) {
                    (Side::Baseline, Some(baseline)) => (baseline.path.as_path(), "baseline"),
                    _ => (hub_cli_bin.as_path(), "hub-cli"),
                };
                step(&format!("{of}: {label} download, {kind}"));
                let cache = scratch.path.join(format!("cache-{label}-{name}"));
                let mut cmd = download_cmd(program, &cache, &[]);
                if !verified {
                    cmd.env(HF_HUB_DISABLE_DOWNLOAD_VERIFICATION, "1");
                }
                let (run, path) = measured_download(&cmd, file.size)?;
                if verified && side == Side::Ours && round == opts.runs {
                    // The lookups run here, so the cache is gone before the unverified download,
                    // which then writes into the memory it gave back, as every other run does.
                    lookups = Some(cached_lookups(&hub, &hub_cli, &cache, &path, &file.commit)?);
                }
                std::fs::remove_dir_all(&cache)?;
                match side {
                    Side::Ours => ours[at] = Some(run),
                    Side::Baseline => theirs[at] = Some(run),
                }
            }
        }
        let [Some(verified), Some(unverified)] = ours else {
            anyhow::bail!("{of}: hub-cli's downloads did not all run");
        };
        let baseline = match theirs {
            [Some(verified), Some(unverified)] => Some(Downloads { verified, unverified }),
            _ => None,
        };
        rounds.push(Round { curl: curl_run, sha256, verified, unverified, baseline });
    }
    let (lookup_offline, lookup_pinned, lookup_requests) =
        lookups.ok_or_else(|| anyhow::format_err!("no round ran the cached lookups"))?;

    drop(hub);
    let figures = Figures {
        size: file.size,
        rounds,
        baseline: baseline.map(|b| b.name),
        lookup_offline,
        lookup_pinned,
        lookup_runs: LOOKUP_RUNS,
        lookup_requests,
    };
    step("results");
    say(&report(&figures));
    Ok(())
}

/// Whose download runs: ours, or the baseline's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Ours,
    Baseline,
}

/// The downloads of each kind in round `round` (from 1), in the order they run: ours alone, or
/// with a baseline, ours first in odd rounds and the baseline's first in even ones.
fn sides(round: usize, with_baseline: bool) -> &'static [Side] {
    match (with_baseline, round % 2) {
        (false, _) => &[Side::Ours],
        (true, 1) => &[Side::Ours, Side::Baseline],
        (true, _) => &[Side::Baseline, Side::Ours],
    }
}

/// The baseline's `hub-cli`, and how the report names it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BaselineBin {
    path: PathBuf,
    name: String,
}

/// The binary `--baseline` names, or the one `--baseline-rev` builds.
fn baseline_binary(baseline: &Baseline) -> anyhow::Result<BaselineBin> {
    match baseline {
        Baseline::Binary(path) => {
            let path = std::path::absolute(path)
                .map_err(|e| anyhow::format_err!("--baseline {}: {e}", path.display()))?;
            anyhow::ensure!(
                path.is_file(),
                "--baseline {}: no such file; give a hub-cli binary, or --baseline-rev REV to \
                 build one",
                path.display()
            );
            Ok(BaselineBin { name: path.display().to_string(), path })
        }
        Baseline::Rev(rev) => build_baseline(rev),
    }
}

/// Builds `hub-cli` at git revision `rev` in release mode, in a worktree of its own, into
/// `target/bench-baseline/`; keeps the binary as `hub-cli-<commit>` there, and reuses it when
/// it is there already.
fn build_baseline(rev: &str) -> anyhow::Result<BaselineBin> {
    let root = project_root();
    let mut parse = Command::new("git");
    parse.current_dir(&root).args(["rev-parse", "--verify", "--quiet", "--end-of-options"]);
    parse.arg(format!("{rev}^{{commit}}"));
    let commit = output(&mut parse)
        .map_err(|_| {
            anyhow::format_err!("--baseline-rev {rev:?}: not a commit of this repository")
        })?
        .trim()
        .to_owned();
    let short = commit.get(..12).unwrap_or(&commit);
    let out = target_root().join("bench-baseline");
    let binary = out.join(format!("hub-cli-{short}{}", std::env::consts::EXE_SUFFIX));
    let bin =
        |path: PathBuf| BaselineBin { name: format!("{rev} ({short}), {}", path.display()), path };
    if binary.is_file() {
        say(&format!(
            "baseline: reusing {}, built at {commit} (delete it to build it again)",
            binary.display()
        ));
        return Ok(bin(binary));
    }
    step(&format!("build the baseline: hub-cli at {rev} ({short}), release"));
    let tmp = target_root().join("tmp");
    std::fs::create_dir_all(&tmp)
        .map_err(|e| anyhow::format_err!("cannot create {}: {e}", tmp.display()))?;
    let worktree = Worktree::add(
        &root,
        &tmp.join(format!("bench-baseline-{short}-{}", std::process::id())),
        &commit,
    )?;
    exec(
        cargo()
            .current_dir(&worktree.path)
            .args(["build", "--release", "-p", "hub-cli", "--target-dir"])
            .arg(&out),
    )?;
    drop(worktree);
    let built = out.join("release").join(format!("hub-cli{}", std::env::consts::EXE_SUFFIX));
    // Copied under a temp name, then renamed: a binary at the final name is always whole.
    let partial = out.join(format!(".hub-cli-{short}.{}.tmp", std::process::id()));
    std::fs::copy(&built, &partial).and_then(|_| std::fs::rename(&partial, &binary)).map_err(
        |e| {
            let _ = std::fs::remove_file(&partial);
            anyhow::format_err!("cannot copy {} to {}: {e}", built.display(), binary.display())
        },
    )?;
    Ok(bin(binary))
}

/// A detached git worktree, removed when dropped.
struct Worktree {
    /// The repository it belongs to (a worktree of it).
    repo: PathBuf,
    path: PathBuf,
}

impl Worktree {
    fn add(repo: &Path, path: &Path, commit: &str) -> anyhow::Result<Worktree> {
        let mut add = Command::new("git");
        add.current_dir(repo).args(["worktree", "add", "--detach"]).arg(path).arg(commit);
        exec(&mut add)?;
        Ok(Worktree { repo: repo.to_owned(), path: path.to_owned() })
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        let mut remove = Command::new("git");
        remove.current_dir(&self.repo).args(["worktree", "remove", "--force"]).arg(&self.path);
        if let Err(err) = exec(&mut remove) {
            shout(&format!(
                "cannot remove the worktree {} ({err}): run `git worktree remove --force {0}`",
                self.path.display()
            ));
        }
    }
}

/// Times `openssl dgst -sha256` of `path`, read once before so that it comes from the page
/// cache; checks that it finds `sha256`.
fn measured_sha256(path: &Path, sha256: &str) -> anyhow::Result<Timed> {
    warm_page_cache(path)?;
    let mut openssl = Command::new("openssl");
    openssl.args(["dgst", "-sha256"]).arg(path);
    say(&format!("$ {}", describe(&openssl)));
    let meter = CpuMeter::start();
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
fn measured_download(cmd: &Command, size: u64) -> anyhow::Result<(Download, PathBuf)> {
    let (Measured { secs, max_rss_bytes, stdout, .. }, others) = measured(cmd)?;
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
    hub: &TestHub,
    hub_cli: &dyn Fn(&Path, &[&str]) -> Command,
    cache: &Path,
    path: &Path,
    commit: &str,
) -> anyhow::Result<(Lookup, Lookup, u64)> {
    step(&format!("cached lookups of the verified download, {LOOKUP_RUNS} runs each"));
    let requests_before = hub_requests(hub);
    let mut offline = hub_cli(cache, &[]);
    offline.env(HF_HUB_OFFLINE, "1");
    let lookup_offline = lookup_median(&mut offline, path)?;
    let lookup_pinned = lookup_median(&mut hub_cli(cache, &["--revision", commit]), path)?;
    let lookup_requests = hub_requests(hub).saturating_sub(requests_before);
    Ok((lookup_offline, lookup_pinned, lookup_requests))
}

/// Runs `cmd` once to warm up, then `LOOKUP_RUNS` times; each must print `expected`. The median
/// wall time of the counted runs and the others' CPU meanwhile.
fn lookup_median(cmd: &mut Command, expected: &Path) -> anyhow::Result<Lookup> {
    say(&format!("$ {}", describe(cmd)));
    let mut samples = Vec::with_capacity(LOOKUP_RUNS);
    let mut meter = CpuMeter::start();
    // One warm-up run (the binary and the cache's metadata into the page cache), not counted.
    for run in 0..=LOOKUP_RUNS {
        if run == 1 {
            meter = CpuMeter::start();
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
        let round = |curl, sha256, verified, unverified| Round {
            curl,
            sha256,
            verified,
            unverified,
            baseline: None,
        };
        Figures {
            size: 1 << 30,
            baseline: None,
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

    /// [`figures`] with a baseline: its verified medians 0.4 s (ours 0.5 s: 1.25x, a regression)
    /// and its unverified 0.7 s (ours 0.7 s: 1.00x); its peak RSS is the largest of its rounds.
    fn with_baseline() -> Figures {
        let mut f = figures();
        let theirs = [(0.4, 0.9), (0.3, 0.7), (0.45, 0.6)];
        for (at, (round, (verified, unverified))) in f.rounds.iter_mut().zip(theirs).enumerate() {
            round.baseline = Some(Downloads {
                verified: download(verified, (40 + at as u64) << 20, 0.0),
                unverified: download(unverified, 30 << 20, if at == 2 { 12.0 } else { 0.0 }),
            });
        }
        f.baseline =
            Some("d8853a6 (d8853a6aaaaa), target/bench-baseline/hub-cli-d8853a6aaaaa".into());
        f
    }

    #[test]
    fn summarises_the_baseline() {
        let all = summary(&with_baseline().rounds).baseline.unwrap();
        assert_eq!(all.verified, download(0.4, 42 << 20, 0.0));
        assert_eq!(all.unverified, download(0.7, 30 << 20, 12.0));
        // A baseline missing from one round (it never is): none at all rather than a median
        // of fewer runs than ours.
        let mut f = with_baseline();
        f.rounds[1].baseline = None;
        assert_eq!(summary(&f.rounds).baseline, None);
        assert_eq!(summary(&figures().rounds).baseline, None);
    }

    #[test]
    fn compares_ours_with_the_baseline() {
        let got: Vec<(String, String, String, bool)> = checks(&with_baseline())
            .into_iter()
            .map(|c| (c.what, c.measured, c.required, c.ok))
            .collect();
        // Ours first, as without a baseline, then the two ratios.
        let plain = checks(&figures());
        assert_eq!(got.len(), plain.len() + 2);
        for (with, without) in got.iter().zip(&plain) {
            assert_eq!(with.0, without.what);
        }
        let ratio = |what: &str, measured: &str, ok| {
            (what.to_owned(), measured.to_owned(), "<= 1.10x".to_owned(), ok)
        };
        assert_eq!(
            got[plain.len()..],
            [
                ratio("verified ours/baseline (time)", "1.25x", false),
                ratio("unverified ours/baseline (time)", "1.00x", true),
            ]
        );
        // 10 % slower is still no regression; more is.
        let at = |ours: f64| vs_baseline("verified", download(ours, 0, 0.0), download(1.0, 0, 0.0));
        assert!(at(1.1).ok);
        assert!(!at(1.1001).ok);
        assert!(at(0.5).ok);
        assert_eq!(at(0.5).measured, "0.50x");
    }

    #[test]
    fn reports_the_baseline() {
        let text = report(&with_baseline());
        let lines: Vec<&str> = text.lines().collect();
        let at = |start: &str| {
            lines
                .iter()
                .position(|l| l.starts_with(start))
                .unwrap_or_else(|| panic!("{start}: {text}"))
        };
        let words = |start: &str| lines[at(start)].split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(words("baseline verified"), "baseline verified 0.400 s 2560 MiB/s 42.0 MiB 0%");
        assert_eq!(
            words("baseline unverified"),
            "baseline unverified 0.700 s 1463 MiB/s 30.0 MiB 12% (!)"
        );
        // Right under ours, before the lookups.
        assert_eq!(at("baseline verified"), at("hub-cli download, unverified") + 1);
        assert_eq!(at("baseline unverified"), at("baseline verified") + 1);
        assert_eq!(at("cached lookup, offline"), at("baseline unverified") + 1);
        assert_eq!(
            lines[at("transfers:") + 1],
            "baseline: d8853a6 (d8853a6aaaaa), target/bench-baseline/hub-cli-d8853a6aaaaa, beside \
             ours in every round (ours first in odd rounds)"
        );
        assert!(text.contains("(!) other processes used 10%"), "{text}");
        assert_eq!(
            words("verified ours/baseline"),
            "verified ours/baseline (time) 1.25x <= 1.10x MISSED"
        );
        assert_eq!(
            words("unverified ours/baseline"),
            "unverified ours/baseline (time) 1.00x <= 1.10x ok"
        );
        let speed_end = |l: &str| l.find("MiB/s").unwrap() + "MiB/s".len();
        assert_eq!(speed_end(lines[at("baseline verified")]), speed_end(lines[at("curl, one")]));
        // Without one: no row, no note, no ratio.
        let text = report(&figures());
        assert!(!text.contains("baseline"), "{text}");
    }

    #[test]
    fn alternates_who_goes_first() {
        assert_eq!(sides(1, false), [Side::Ours]);
        assert_eq!(sides(2, false), [Side::Ours]);
        assert_eq!(sides(1, true), [Side::Ours, Side::Baseline]);
        assert_eq!(sides(2, true), [Side::Baseline, Side::Ours]);
        assert_eq!(sides(3, true), [Side::Ours, Side::Baseline]);
    }

    #[test]
    fn a_baseline_must_exist() {
        let missing = std::env::temp_dir().join(format!("no-hub-cli-{}", std::process::id()));
        let err = baseline_binary(&Baseline::Binary(missing.clone())).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "--baseline {}: no such file; give a hub-cli binary, or --baseline-rev REV to \
                 build one",
                missing.display()
            )
        );
        // A relative path is named in full, as it is run.
        let here = std::env::current_dir().unwrap();
        let found = baseline_binary(&Baseline::Binary("Cargo.toml".into())).unwrap();
        assert_eq!(found.path, here.join("Cargo.toml"));
        assert_eq!(found.name, here.join("Cargo.toml").display().to_string());
        // A revision that is no commit fails before anything is built, even one like an option.
        for rev in ["no-such-branch-for-the-bench", "--help", "HEAD:Cargo.toml"] {
            let err = baseline_binary(&Baseline::Rev(rev.to_owned())).unwrap_err().to_string();
            assert_eq!(err, format!("--baseline-rev {rev:?}: not a commit of this repository"));
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(vec![0.25]), 0.25);
        assert!(median(vec![]).is_nan());
    }
}
