//! The download fault matrix: the built `hub-cli download` against a TestHub that misbehaves as
//! real networks, CDNs and disks do (killed processes, expiring signed URLs, a CDN that refuses,
//! trickling and stalled ranges, an unreachable hub, rate limits, 503 storms, a full or
//! read-only disk, bodies of the wrong length, servers ignoring `Range`, many processes at
//! once). Each test checks what a user notices: the exit status, the one error line on stderr
//! (never a signed URL's query, never "token" for a CDN refusal), the cache afterwards (one
//! correct blob, no leftovers) and, through the hub's log, the bytes that crossed the network.
//!
//! The tests run alone ([`support::alone`]: not beside each other nor any other test of a
//! TestHub; they measure time, and the machine is small); the kill test
//! prints its random seed (set `FAULTS_SEED` to replay one).
// Tests read the environment they run in (clippy.toml bans it in the crates).
#![allow(clippy::disallowed_methods)]
#![cfg(unix)]
// Test helpers may unwrap too: a panic is how a test fails.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::Duration;

use hub_tests::seed::DeterministicReader;
use hub_tests::{HostScope, HubConfig, LargeFile, Repo, TestHub};

use crate::support::files::{names_in, sha256_file};
use crate::support::log::{cdn_requests, lfs_bytes};
use crate::support::process::{finish_within, run_within};
use crate::support::{self, Setup};

/// The repository the large files of these tests live in.
const REPO: &str = "bench/large";
/// Its folder in the cache.
const FOLDER: &str = "models--bench--large";

/// A TestHub with one large LFS file, and a fresh home and cache for `hub-cli`, in a turn
/// [`support::alone`].
struct Large {
    setup: Setup,
    file: LargeFile,
    /// The cache, [`Setup::cache`] unless the test moves it.
    cache: PathBuf,
}

impl Large {
    /// A hub whose `bench/large` has `big.bin` of `size` bytes.
    fn start(size: u64) -> Large {
        let turn = support::alone();
        let setup = Setup::on(TestHub::start(HubConfig::default()).unwrap(), turn).unwrap();
        let file = setup.hub.add_large_file(&Repo::model(REPO), "big.bin", size).unwrap();
        let cache = setup.cache();
        Large { setup, file, cache }
    }

    /// `hub-cli download bench/large big.bin` in an environment built from scratch, with this
    /// setup's cache and `extra` variables.
    fn cli(&self, extra: &[(&str, &str)]) -> Command {
        self.cli_at(self.setup.hub.endpoint(), extra)
    }

    fn cli_at(&self, endpoint: &str, extra: &[(&str, &str)]) -> Command {
        let mut cmd = self.setup.cli_at(endpoint, &["download", REPO, "big.bin"]);
        cmd.env("HF_HUB_CACHE", &self.cache);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd
    }

    fn run(&self, extra: &[(&str, &str)]) -> Output {
        self.cli(extra).output().unwrap()
    }

    fn blobs(&self) -> PathBuf {
        self.cache.join(FOLDER).join("blobs")
    }

    fn snapshot_file(&self) -> PathBuf {
        self.cache.join(FOLDER).join("snapshots").join(&self.file.commit).join("big.bin")
    }

    /// The file's content, as the hub generated it.
    fn content(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.file.size as usize);
        DeterministicReader::new(&format!("model/{REPO}/big.bin"), self.file.size)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    /// The run succeeded, printed the snapshot path and left exactly one correct blob.
    fn assert_downloaded(&self, out: &Output) {
        assert_eq!(printed_path(out).unwrap(), self.snapshot_file());
        assert_one_good_blob(&self.blobs(), &self.file.sha256);
    }

    /// The bytes of the largest partial file (`*.incomplete`) in blobs/ that already hold the
    /// file's bytes at their place, counted by 64 KiB blocks (0 if there is none).
    fn bytes_on_disk(&self, content: &[u8]) -> u64 {
        let mut best = 0;
        for name in names_in(&self.blobs()).unwrap() {
            if !name.ends_with(".incomplete") {
                continue;
            }
            let Ok(data) = std::fs::read(self.blobs().join(&name)) else { continue };
            let good: u64 = data
                .chunks(64 << 10)
                .zip(content.chunks(64 << 10))
                .filter(|(got, want)| got == want)
                .map(|(got, _)| got.len() as u64)
                .sum();
            best = best.max(good);
        }
        best
    }
}

/// The one line hub-cli printed on success: the path (see [`support::process::printed_path`]),
/// and stderr shows no secret.
fn printed_path(out: &Output) -> anyhow::Result<PathBuf> {
    let path = support::process::printed_path(out)?;
    assert_no_secret(out);
    Ok(path)
}

/// stderr never shows a signed URL's query (nor a token).
fn assert_no_secret(out: &Output) {
    let err = support::stderr(out);
    for secret in ["sig=", "exp=", "X-Signature", "X-Expires", "X-Amz-", "hf_"] {
        assert!(!err.contains(secret), "stderr shows {secret:?}: {err}");
    }
}

/// The run failed with exactly one line on stderr, `error: …`; returns it.
fn one_error_line(out: &Output) -> String {
    let err = support::stderr(out);
    assert!(!out.status.success(), "hub-cli succeeded; stderr: {err}");
    assert_no_secret(out);
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines.len() == 1 && lines[0].starts_with("error: "),
        "expected one `error: …` line, got {lines:#?}"
    );
    lines[0].to_owned()
}

/// `blobs` holds exactly one file, `sha256`, with that content: no partial, no temp file.
fn assert_one_good_blob(blobs: &Path, sha256: &str) {
    assert_eq!(names_in(blobs).unwrap(), vec![sha256.to_owned()], "one blob, no leftover");
    assert_eq!(sha256_file(&blobs.join(sha256)).unwrap(), sha256, "the blob's content");
}

/// splitmix64: a small seeded generator for the kill points.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

// ---- killed processes ------------------------------------------------------------------------

/// Connections and range size of the kill test: ranges not aligned to anything.
const KILL_CONNECTIONS: u64 = 4;
const KILL_CHUNK: u64 = (1 << 20) + 12_345;

/// A download SIGKILLed at 20 random moments (4 rounds of 5), then run normally, ends with one
/// correct blob and fetches only what was missing (plus at most one range per connection).
#[test]
fn sigkill_at_twenty_random_points_then_a_normal_run_completes_the_file() {
    let seed =
        std::env::var("FAULTS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!("FAULTS_SEED={seed}");
    let mut rng = Rng(seed);
    let mut s = Large::start(64 << 20);
    let content = s.content();
    let env = [
        ("HF_HUB_DOWNLOAD_CONNECTIONS", KILL_CONNECTIONS.to_string()),
        ("HF_HUB_DOWNLOAD_CHUNK_SIZE", KILL_CHUNK.to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for round in 0..4 {
        s.cache = s.setup.dir.path().join(format!("cache-{round}"));
        // 1 MiB/s per range: a run lasts long enough to be killed anywhere in the file.
        s.setup.hub.faults().throttle(Some(1 << 20));
        for kill in 0..5 {
            let mut child = s.cli(&env).spawn().unwrap();
            let after = rng.range(100, 900);
            std::thread::sleep(Duration::from_millis(after));
            assert!(
                child.try_wait().unwrap().is_none(),
                "seed {seed}: round {round}, kill {kill}: the throttled download ended before the kill"
            );
            child.kill().unwrap();
            child.wait().unwrap();
        }
        s.setup.hub.faults().throttle(None);
        let missing = s.file.size - s.bytes_on_disk(&content);
        let before = s.setup.hub.stats().log.len();
        let out = s.run(&env);
        let fetched = lfs_bytes(&s.setup.hub.stats(), before);
        assert!(out.status.success(), "seed {seed}, round {round}: {}", support::stderr(&out));
        assert!(
            fetched <= missing + KILL_CONNECTIONS * KILL_CHUNK,
            "seed {seed}, round {round}: the last run fetched {fetched} bytes; {missing} were \
             missing on disk (of {})",
            s.file.size
        );
        s.assert_downloaded(&out);
    }
}

/// The issue's repro: 64 MiB at 4 MB/s per range, killed after 1.5 s, run again: it succeeds and
/// keeps the bytes the first run wrote (today: "checksum mismatch").
#[test]
fn the_issues_repro_killed_after_one_and_a_half_seconds_resumes_and_succeeds() {
    let s = Large::start(64 << 20);
    let content = s.content();
    s.setup.hub.faults().throttle(Some(4_000_000));
    let mut child = s.cli(&[]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "the throttled download ended before the kill");
    child.kill().unwrap();
    child.wait().unwrap();
    let first = lfs_bytes(&s.setup.hub.stats(), 0);
    let kept = s.bytes_on_disk(&content);
    assert!(kept > 0, "the killed run left nothing to resume from (it fetched {first} bytes)");

    // The network is as slow for the second run.
    let before = s.setup.hub.stats().log.len();
    let (out, _) = run_within(s.cli(&[]), Duration::from_secs(60)).unwrap();
    s.assert_downloaded(&out);
    let second = lfs_bytes(&s.setup.hub.stats(), before);
    assert!(
        second < s.file.size,
        "the second run fetched {second} bytes, the whole file: the {kept} bytes on disk were not kept"
    );
}

// ---- the CDN ---------------------------------------------------------------------------------

/// Signed URLs valid 1 s, a download lasting several: the client gets fresh URLs from the hub and
/// finishes, fetching the file about once.
#[test]
fn a_signed_url_that_expires_mid_download_is_renewed() {
    let s = Large::start(24 << 20);
    s.setup.hub.faults().expire_url(Some(Duration::from_secs(1)));
    s.setup.hub.faults().throttle(Some(2 << 20));
    let env = [("HF_HUB_DOWNLOAD_CONNECTIONS", "4"), ("HF_HUB_DOWNLOAD_CHUNK_SIZE", "2097152")];
    let (out, took) = run_within(s.cli(&env), Duration::from_secs(90)).unwrap();
    s.assert_downloaded(&out);
    assert!(took > Duration::from_millis(2500), "the download took {took:?}: no URL expired in it");
    let fetched = lfs_bytes(&s.setup.hub.stats(), 0);
    assert!(
        fetched <= s.file.size + s.file.size / 4,
        "fetched {fetched} bytes for a file of {}",
        s.file.size
    );
}

/// A CDN that cuts the body then answers 403 forever: one clear line naming neither a token nor
/// the signed query, no retry storm; the partial is kept, so a run once the CDN is back resumes.
#[test]
fn a_cdn_that_refuses_forever_fails_with_one_clear_line_and_keeps_the_partial() {
    let s = Large::start(32 << 20);
    let content = s.content();
    let env = [("HF_HUB_DOWNLOAD_CONNECTIONS", "4"), ("HF_HUB_DOWNLOAD_CHUNK_SIZE", "4194304")];
    // The first range goes through, then the cut and the refusals.
    s.setup.hub.faults().status_after_bytes(6 << 20, 403, None);
    let (out, _) = run_within(s.cli(&env), Duration::from_secs(60)).unwrap();
    let line = one_error_line(&out);
    assert!(!line.to_lowercase().contains("token"), "a CDN refusal is no token problem: {line}");
    assert!(line.contains("403"), "the line says what the CDN answered: {line}");
    let requests = cdn_requests(&s.setup.hub.stats(), 0);
    assert!(requests <= 60, "{requests} requests to a CDN that refuses: a retry storm");
    assert!(!s.blobs().join(&s.file.sha256).exists(), "no blob from a failed download");
    let kept = s.bytes_on_disk(&content);
    assert!(
        kept > 0,
        "the partial file was not kept for a resume: {:?}",
        names_in(&s.blobs()).unwrap()
    );

    s.setup.hub.faults().clear();
    let before = s.setup.hub.stats().log.len();
    let out = s.run(&env);
    s.assert_downloaded(&out);
    let fetched = lfs_bytes(&s.setup.hub.stats(), before);
    assert!(fetched < s.file.size, "the rerun fetched {fetched} bytes: it did not resume");
}

/// The stall watchdog's setting for the trickle and stall tests: 2 s without progress.
const STALL_ENV: [(&str, &str); 3] = [
    ("HF_HUB_DOWNLOAD_STALL_TIMEOUT", "2"),
    ("HF_HUB_DOWNLOAD_CONNECTIONS", "4"),
    ("HF_HUB_DOWNLOAD_CHUNK_SIZE", "4194304"),
];

/// One range trickles at 2000 B/s while the others are fast (a read timeout never fires): the
/// watchdog re-issues it and the download ends in bounded time.
#[test]
fn one_trickling_range_is_reissued_and_the_download_completes() {
    let s = Large::start(32 << 20);
    s.setup.hub.faults().trickle(1 << 20, 2000, Some(1));
    // Without a watchdog the trickling range alone would take 25 minutes.
    let (out, took) = run_within(s.cli(&STALL_ENV), Duration::from_secs(60)).unwrap();
    s.assert_downloaded(&out);
    println!("a trickling range: done in {took:?}");
}

/// One range stalls (the connection open, nothing sent): it is re-issued and the download ends.
#[test]
fn one_stalled_range_is_reissued_and_the_download_completes() {
    let s = Large::start(32 << 20);
    s.setup.hub.faults().stall(1 << 20, Some(1));
    let (out, took) = run_within(s.cli(&STALL_ENV), Duration::from_secs(60)).unwrap();
    s.assert_downloaded(&out);
    println!("a stalled range: done in {took:?}");
}

// ---- an unreachable hub ----------------------------------------------------------------------

/// The hub refuses connections, the file is in the cache: it is served, in under a second.
#[test]
fn a_cached_file_is_served_at_once_when_the_hub_is_unreachable() {
    let s = Large::start(1 << 20);
    s.assert_downloaded(&s.run(&[]));
    let before = s.setup.hub.stats().log.len();
    s.setup.hub.faults().refuse_connect(HostScope::Any, None);
    let (out, took) = run_within(s.cli(&[]), Duration::from_secs(30)).unwrap();
    s.assert_downloaded(&out);
    assert!(took < Duration::from_secs(1), "serving the cached file took {took:?}");
    assert_eq!(s.setup.hub.stats().log.len(), before, "a request reached the refusing hub");
}

/// The hub refuses connections and nothing is cached: one clear line, fast, no retry storm.
#[test]
fn an_unreachable_hub_without_a_cached_file_fails_fast_with_one_line() {
    let s = Large::start(1 << 20);
    s.setup.hub.faults().refuse_connect(HostScope::Any, None);
    let (out, took) = run_within(s.cli(&[]), Duration::from_secs(30)).unwrap();
    one_error_line(&out);
    assert!(took < Duration::from_secs(3), "failing took {took:?}");
    assert!(
        names_in(&s.blobs()).unwrap().is_empty(),
        "nothing written: {:?}",
        names_in(&s.blobs()).unwrap()
    );
}

// ---- rate limits and 503s --------------------------------------------------------------------

/// The hub rate-limits for 2 s (`RateLimit: "…";r=0;t=2`): the client says it waits, then
/// succeeds.
#[test]
fn a_rate_limited_download_waits_for_the_reset_and_succeeds() {
    let s = Large::start(1 << 20);
    s.setup.hub.faults().ratelimit(HostScope::Hub, None, Duration::from_secs(2), None, None);
    let (out, took) = run_within(s.cli(&[]), Duration::from_secs(30)).unwrap();
    s.assert_downloaded(&out);
    let err = support::stderr(&out).to_lowercase();
    assert!(err.contains("rate limit") || err.contains("rate-limit"), "stderr: {err}");
    assert!(took >= Duration::from_millis(1500), "it did not wait for the reset: {took:?}");
}

/// A rate limit that resets in 50 minutes: fail fast, with one line that gives the reset time.
#[test]
fn a_far_rate_limit_reset_fails_fast_with_the_reset_time() {
    let s = Large::start(1 << 20);
    s.setup.hub.faults().ratelimit(HostScope::Hub, None, Duration::from_secs(3000), None, None);
    let (out, took) = run_within(s.cli(&[]), Duration::from_secs(60)).unwrap();
    let line = one_error_line(&out);
    assert!(took < Duration::from_secs(10), "failing took {took:?}");
    let lower = line.to_lowercase();
    assert!(lower.contains("rate limit") || lower.contains("rate-limit"), "{line}");
    let reset = ["3000", "2999", "2998", "50 min", "50m", "49 min", "49m"];
    assert!(reset.iter().any(|r| line.contains(r)), "the line gives no reset time: {line}");
}

/// Three 503s with `Retry-After: 1`: the download succeeds and says it is retrying.
#[test]
fn a_503_storm_is_retried_and_the_download_succeeds() {
    let s = Large::start(1 << 20);
    s.setup.hub.faults().fail_next(3, 503, Some(1));
    let (out, _) = run_within(s.cli(&[]), Duration::from_secs(60)).unwrap();
    s.assert_downloaded(&out);
    let err = support::stderr(&out);
    assert!(err.contains("retrying") && err.contains("503"), "stderr: {err}");
}

// ---- the disk --------------------------------------------------------------------------------

/// A tmpfs mounted for one test, unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    /// A tmpfs of `size` (e.g. `8m`) at `dir`. Tests run as root (here and in CI): failing to
    /// mount is a failure, not a skip.
    fn tmpfs(dir: &Path, size: &str) -> Mount {
        let uid = Command::new("id").arg("-u").output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&uid.stdout).trim(),
            "0",
            "these tests mount: run as root"
        );
        std::fs::create_dir_all(dir).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(status.success(), "mount -t tmpfs failed at {}", dir.display());
        Mount(dir.to_owned())
    }

    fn remount_read_only(&self) {
        let status =
            Command::new("mount").args(["-o", "remount,ro"]).arg(&self.0).status().unwrap();
        assert!(status.success(), "remount,ro failed at {}", self.0.display());
    }

    /// Bytes used on the file system.
    fn used(&self) -> u64 {
        let out = Command::new("df").args(["-B1", "--output=used"]).arg(&self.0).output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .unwrap()
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A cache on an 8 MiB disk, a 32 MiB file: one "no space" line, and nothing left behind (no
/// half-written blob, no reserved partial eating the disk).
#[test]
fn a_disk_that_fills_fails_with_one_line_and_leaves_nothing_behind() {
    let mut s = Large::start(32 << 20);
    let mount = Mount::tmpfs(&s.setup.dir.path().join("small-disk"), "8m");
    s.cache = mount.0.join("hub");
    let before = mount.used();
    let (out, _) = run_within(s.cli(&[]), Duration::from_secs(60)).unwrap();
    let line = one_error_line(&out);
    assert!(
        line.to_lowercase().contains("space"),
        "the line does not say the disk is full: {line}"
    );
    assert!(
        names_in(&s.blobs()).unwrap().is_empty(),
        "left in blobs/: {:?}",
        names_in(&s.blobs()).unwrap()
    );
    let used = mount.used();
    assert!(used <= before + (256 << 10), "{} bytes still used on the disk", used - before);
}

/// A read-only cache: one clear line, exit non-zero.
#[test]
fn a_read_only_cache_fails_with_one_clear_line() {
    let mut s = Large::start(1 << 20);
    let mount = Mount::tmpfs(&s.setup.dir.path().join("ro-disk"), "8m");
    mount.remount_read_only();
    s.cache = mount.0.clone();
    let (out, _) = run_within(s.cli(&[]), Duration::from_secs(60)).unwrap();
    let line = one_error_line(&out);
    let lower = line.to_lowercase();
    assert!(lower.contains("read-only") || lower.contains("permission"), "{line}");
}

// ---- bodies of the wrong length, Range ignored -----------------------------------------------

/// Ranges of 1 MiB over 4 connections, for the body tests.
const SMALL_RANGES: [(&str, &str); 2] =
    [("HF_HUB_DOWNLOAD_CONNECTIONS", "4"), ("HF_HUB_DOWNLOAD_CHUNK_SIZE", "1048576")];

/// A body that ends short of its Content-Length: the range is fetched again, the blob is right.
#[test]
fn a_body_shorter_than_its_content_length_is_completed() {
    let s = Large::start(8 << 20);
    s.setup.hub.faults().short_body(100_000);
    let (out, _) = run_within(s.cli(&SMALL_RANGES), Duration::from_secs(60)).unwrap();
    s.assert_downloaded(&out);
}

/// A body running past the range asked for: the blob is right (or one clear line, and a rerun
/// succeeds).
#[test]
fn a_body_longer_than_the_range_asked_for_never_corrupts_the_blob() {
    let s = Large::start(8 << 20);
    s.setup.hub.faults().long_body(300_000);
    let (out, _) = run_within(s.cli(&SMALL_RANGES), Duration::from_secs(60)).unwrap();
    if out.status.success() {
        s.assert_downloaded(&out);
    } else {
        one_error_line(&out);
        assert!(!s.blobs().join(&s.file.sha256).exists(), "a blob from a failed download");
        s.assert_downloaded(&s.run(&SMALL_RANGES));
    }
}

/// A server that ignores `Range` (200 with the whole body): the blob is right, and the file is
/// not fetched once per range.
#[test]
fn a_server_ignoring_range_still_gives_a_correct_blob() {
    let s = Large::start(16 << 20);
    s.setup.hub.faults().ignore_range(true);
    let (out, _) = run_within(s.cli(&SMALL_RANGES), Duration::from_secs(120)).unwrap();
    s.assert_downloaded(&out);
    let fetched = lfs_bytes(&s.setup.hub.stats(), 0);
    assert!(fetched <= 2 * s.file.size, "fetched {fetched} bytes for {}", s.file.size);
}

// ---- many processes --------------------------------------------------------------------------

/// Eight processes at once on one file, with a dropped connection, throttling and 503s: all
/// eight succeed, one correct blob, no leftovers.
#[test]
fn eight_processes_at_once_with_faults_all_succeed() {
    let s = Large::start(16 << 20);
    s.setup.hub.faults().throttle(Some(4 << 20));
    s.setup.hub.faults().drop_after_bytes(3 << 20);
    s.setup.hub.faults().fail_next_on(HostScope::Cdn, 3, 503, Some(1));
    let children: Vec<Child> = (0..8).map(|_| s.cli(&SMALL_RANGES).spawn().unwrap()).collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| finish_within(c, Duration::from_secs(120)).unwrap().0)
        .collect();
    for out in &outputs {
        assert_eq!(printed_path(out).unwrap(), s.snapshot_file());
    }
    assert_one_good_blob(&s.blobs(), &s.file.sha256);
}
