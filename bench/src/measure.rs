//! Measuring one program: the hidden `hub-bench __measure` helper (wall time and peak RSS of
//! the one program it runs, from `getrusage`), and the meter of the CPU that other processes
//! use meanwhile (`/proc/stat`, minus this process and its children from `getrusage`).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{describe, say};

/// The name of the hidden command that runs one program and reports its peak RSS.
pub(crate) const MEASURE: &str = "__measure";

/// Other processes using this share of all cores (percent) during a measurement make its
/// figure unreliable.
pub(crate) const BUSY_PERCENT: f64 = 10.0;

/// What the measuring helper reports about one run of a program.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Measured {
    /// From its start to its exit.
    pub(crate) secs: f64,
    pub(crate) max_rss_bytes: u64,
    /// Empty when the program kept the helper's stdout (`--report`).
    pub(crate) stdout: String,
    /// What the program wrote on stderr, with [`measured`] (empty otherwise).
    pub(crate) stderr: String,
}

/// Flushes dirty pages so one run's writes do not slow the next.
pub(crate) fn sync() -> anyhow::Result<()> {
    let status = Command::new("sync").status()?;
    anyhow::ensure!(status.success(), "sync failed ({status})");
    Ok(())
}

/// This program, to run the measuring helper: `/proc/self/exe` on Linux still works when a
/// build has replaced `target/release/hub-bench` since we started.
fn self_exe() -> anyhow::Result<PathBuf> {
    let proc_exe = Path::new("/proc/self/exe");
    if proc_exe.exists() { Ok(proc_exe.to_path_buf()) } else { Ok(std::env::current_exe()?) }
}

/// The measuring helper's command for `cmd` (its program, arguments and environment), with
/// `helper_args` before the program.
pub(crate) fn helper_for(cmd: &Command, helper_args: &[&OsStr]) -> anyhow::Result<Command> {
    let mut helper = Command::new(self_exe()?);
    helper.arg(MEASURE).args(helper_args);
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
pub(crate) fn measured(cmd: &Command) -> anyhow::Result<(Measured, f64)> {
    sync()?;
    let mut helper = helper_for(cmd, &[])?;
    say(&format!("$ {}", describe(cmd)));
    let meter = CpuMeter::start();
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
pub(crate) fn interactive_helper_for(cmd: &Command, report: &Path) -> anyhow::Result<Command> {
    helper_for(cmd, &[OsStr::new("--report"), report.as_os_str()])
}

pub(crate) fn read_report(report: &Path, cmd: &Command) -> anyhow::Result<Measured> {
    let line = std::fs::read_to_string(report).map_err(|e| {
        anyhow::format_err!("the measuring helper wrote no report to {}: {e}", report.display())
    })?;
    parse_report(&line, cmd)
}

pub(crate) fn parse_report(line: &str, cmd: &Command) -> anyhow::Result<Measured> {
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

/// The hidden `hub-bench __measure [--report FILE] PROGRAM ARGS...`: runs the program (stderr
/// inherited), then reports in one JSON line its exit code, wall time and peak RSS. Without
/// `--report`, the program's stdin is closed, its stdout is captured and added to the report,
/// which is printed on stdout; with it, the program keeps our stdin and stdout, and the report
/// is written to FILE.
///
/// It runs in a process of its own because `RUSAGE_CHILDREN` reports the largest of all the
/// waited-for children: here that is the one program. Its peak includes the memory of this
/// small process at spawn time (the kernel carries it over the `exec`), a floor of a few MiB.
pub(crate) fn measure_child(args: &[String]) -> anyhow::Result<()> {
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

/// CPU seconds used by this process (the local Hub's threads included) and the children it
/// waited for (the measuring helpers and what they ran, the Hub's `git` commands).
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

/// A note for a figure measured while other processes used `others_percent` of the CPU
/// (empty below [`BUSY_PERCENT`]).
pub(crate) fn busy_note(others_percent: f64) -> String {
    if others_percent >= BUSY_PERCENT {
        format!(" (other processes used {others_percent:.0}% of the CPU meanwhile: unreliable)")
    } else {
        String::new()
    }
}

/// The CPU that processes other than ours (this one, with the local Hub in it, and the
/// children it waited for) used since `start`: all the machine's busy time (`/proc/stat`)
/// minus ours (`getrusage`). `getrusage` alone cannot say it: it sees only this process and
/// its children, never the build or test suite beside them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuMeter {
    started: Instant,
    start: Option<CpuSample>,
}

/// `/proc` counts CPU time in ticks of 10 ms: a shorter window is padded to this (idle on our
/// side), so that a few ticks of rounding stay a few percent.
const MIN_CPU_WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
struct CpuSample {
    /// Seconds, summed over all cores.
    busy: f64,
    total: f64,
    ours: f64,
}

impl CpuMeter {
    pub(crate) fn start() -> Self {
        CpuMeter { started: Instant::now(), start: cpu_sample() }
    }

    /// NaN when unknown (not Linux). Waits until the window is `MIN_CPU_WINDOW` long.
    pub(crate) fn others_percent(&self) -> f64 {
        if let Some(rest) = MIN_CPU_WINDOW.checked_sub(self.started.elapsed()) {
            std::thread::sleep(rest);
        }
        match (self.start, cpu_sample()) {
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

fn cpu_sample() -> Option<CpuSample> {
    let (busy, total) = cpu_times(&std::fs::read_to_string("/proc/stat").ok()?)?;
    let ours = our_cpu_secs()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
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
    }

    #[test]
    fn counts_our_threads_as_ours() {
        // A busy thread of this process, as the local Hub's are: its CPU is ours, so it is not
        // counted as the others'. It spins until ours has grown by 50 ms, for at most 10 s.
        let before = our_cpu_secs().unwrap();
        let spin = std::thread::spawn(move || {
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                for _ in 0..100_000 {
                    std::hint::black_box(started.elapsed());
                }
                if our_cpu_secs().unwrap() - before >= 0.05 {
                    return true;
                }
            }
            false
        });
        assert!(spin.join().unwrap(), "a thread's CPU is missing from ours");
    }

    #[test]
    fn flags_a_busy_machine() {
        assert_eq!(busy_note(35.0), " (other processes used 35% of the CPU meanwhile: unreliable)");
        assert_eq!(busy_note(9.9), "");
        assert_eq!(busy_note(f64::NAN), "");
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
        let dir = std::env::temp_dir().join(format!("hub-bench-measure-{}", std::process::id()));
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
