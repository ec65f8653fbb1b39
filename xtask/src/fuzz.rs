//! `cargo xtask fuzz`: coverage-guided fuzzing of the parsers of untrusted input with cargo-fuzz
//! on the machine's nightly toolchain. The target bodies are `crates/hub-fuzz`; their stable
//! twin, run by `cargo test`, is that crate's `tests/corpora.rs`.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{describe, exec, human_size, output, project_root, say, step, table};

const HELP: &str = "\
cargo xtask fuzz [--time SECONDS] [--merge] [TARGET…]

Fuzzes the parsers of untrusted input (the bodies are in crates/hub-fuzz) with cargo-fuzz and
libFuzzer, on the nightly toolchain that `rustup toolchain list` shows; installs cargo-fuzz
(cargo install cargo-fuzz --locked) when it is missing. CI needs none of this: `cargo test -p
hub-fuzz` runs the same targets on stable over the committed corpora.

Each TARGET (all of those in fuzz/fuzz_targets/ by default) runs for SECONDS (default 60), one
after the other, from its committed corpus fuzz/corpus/TARGET/ and a working corpus
target/fuzz/corpus/TARGET/ that keeps what earlier runs found. libFuzzer's output goes to
target/fuzz/logs/TARGET.log. Then one line per target: runs, execs/s, coverage (edges),
features, corpus size and crashes.

A crash fails the task, naming the reproducer (fuzz/artifacts/TARGET/crash-…). To turn it into
a regression test: fix the bug, copy the file into fuzz/corpus/TARGET/ (the stable tests run
every file there), and add a test naming the behaviour to the `regressions` module of
crates/hub-fuzz/tests/corpora.rs.

Options:
  --time SECONDS  how long each target runs (default 60)
  --merge         then minimise each committed corpus with what was found: the hand-written
                  seed-* and the crash-* files stay, the others are replaced by a small set
                  that reaches every edge reached (libFuzzer -set_cover_merge=1
                  -use_counters=0), so the corpora stay a few hundred small files
";

const DEFAULT_SECONDS: u64 = 60;

/// What a run reported.
struct Figures {
    target: String,
    runs: String,
    execs_per_sec: String,
    coverage: String,
    features: String,
    corpus: String,
    crash: Option<String>,
}

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let mut seconds = DEFAULT_SECONDS;
    let mut merge = false;
    let mut chosen = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                say(HELP);
                return Ok(());
            }
            "--time" => {
                let value =
                    args.next().ok_or_else(|| anyhow::format_err!("--time needs SECONDS"))?;
                seconds = value.parse().ok().filter(|&s| s > 0).ok_or_else(|| {
                    anyhow::format_err!("--time {value}: not a number of seconds")
                })?;
            }
            "--merge" => merge = true,
            other if other.starts_with('-') => {
                anyhow::bail!("unknown option '{other}'\n\n{HELP}")
            }
            target => chosen.push(target.to_owned()),
        }
    }
    let fuzz_dir = project_root().join("fuzz");
    let all = targets(&fuzz_dir)?;
    if let Some(unknown) = chosen.iter().find(|t| !all.contains(t)) {
        anyhow::bail!("no fuzz target '{unknown}'; the targets are: {}", all.join(" "));
    }
    let targets = if chosen.is_empty() { all } else { chosen };
    let toolchain = nightly()?;
    ensure_cargo_fuzz(&toolchain)?;

    let work = project_root().join("target").join("fuzz");
    let mut figures = Vec::new();
    for target in &targets {
        step(&format!("fuzzing {target} for {seconds} s on {toolchain}"));
        figures.push(fuzz_one(&toolchain, &fuzz_dir, &work, target, seconds)?);
    }
    let mut rows = vec![
        ["target", "runs", "execs/s", "coverage", "features", "corpus", "crashes"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for f in &figures {
        rows.push(vec![
            f.target.clone(),
            f.runs.clone(),
            f.execs_per_sec.clone(),
            f.coverage.clone(),
            f.features.clone(),
            f.corpus.clone(),
            if f.crash.is_some() { "1" } else { "0" }.to_owned(),
        ]);
    }
    step(&format!("{} target(s), {seconds} s each", figures.len()));
    say(&table("<>>>>>>", &rows));
    let crashes: Vec<&Figures> = figures.iter().filter(|f| f.crash.is_some()).collect();
    if !crashes.is_empty() {
        let list: Vec<String> = crashes
            .iter()
            .map(|f| format!("  {}: {}", f.target, f.crash.as_deref().unwrap_or_default()))
            .collect();
        anyhow::bail!(
            "the fuzzer found crashes:\n{}\nReproduce one with `cd fuzz && cargo +{toolchain} fuzz \
             run -O TARGET FILE`; fix it, copy FILE into fuzz/corpus/TARGET/ and name the \
             behaviour in the `regressions` module of crates/hub-fuzz/tests/corpora.rs",
            list.join("\n")
        );
    }
    if merge {
        for target in &targets {
            step(&format!("merging the corpus of {target} into fuzz/corpus/{target}/"));
            merge_corpus(&toolchain, &fuzz_dir, &work, target)?;
        }
    }
    Ok(())
}

/// The targets: the files of `fuzz/fuzz_targets/`.
fn targets(fuzz_dir: &Path) -> anyhow::Result<Vec<String>> {
    let dir = fuzz_dir.join("fuzz_targets");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| anyhow::format_err!("cannot list {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".rs").map(str::to_owned))
        .collect();
    names.sort();
    Ok(names)
}

/// The first nightly toolchain `rustup toolchain list` shows.
fn nightly() -> anyhow::Result<String> {
    let list = output(Command::new("rustup").args(["toolchain", "list"])).map_err(|e| {
        anyhow::format_err!("{e}\ncargo xtask fuzz needs rustup and a nightly toolchain")
    })?;
    list.lines()
        .filter_map(|line| line.split_whitespace().next())
        .find(|name| name.starts_with("nightly"))
        .map(str::to_owned)
        .ok_or_else(|| {
            anyhow::format_err!(
                "no nightly toolchain in `rustup toolchain list`: install one with `rustup \
                 toolchain install nightly` (cargo-fuzz needs it), or run the same targets on \
                 stable over the corpora with `cargo test -p hub-fuzz`"
            )
        })
}

/// `cargo +TOOLCHAIN …` through rustup's proxy, without what the cargo running us set for it.
fn nightly_cargo(toolchain: &str) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg(format!("+{toolchain}"));
    for var in ["RUSTUP_TOOLCHAIN", "RUSTC", "RUSTDOC", "CARGO", "RUSTC_WRAPPER"] {
        cmd.env_remove(var);
    }
    cmd
}

fn ensure_cargo_fuzz(toolchain: &str) -> anyhow::Result<()> {
    if output(nightly_cargo(toolchain).args(["fuzz", "--version"])).is_ok() {
        return Ok(());
    }
    step("installing cargo-fuzz");
    exec(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))
}

fn fuzz_one(
    toolchain: &str,
    fuzz_dir: &Path,
    work: &Path,
    target: &str,
    seconds: u64,
) -> anyhow::Result<Figures> {
    let corpus = work.join("corpus").join(target);
    let logs = work.join("logs");
    for dir in [&corpus, &logs] {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::format_err!("cannot create {}: {e}", dir.display()))?;
    }
    let log_path = logs.join(format!("{target}.log"));
    let log = File::create(&log_path)
        .map_err(|e| anyhow::format_err!("cannot create {}: {e}", log_path.display()))?;
    let mut cmd = nightly_cargo(toolchain);
    cmd.current_dir(fuzz_dir)
        .args(["fuzz", "run", "-O", target])
        .arg(&corpus)
        .arg(Path::new("corpus").join(target))
        .args(["--", &format!("-max_total_time={seconds}"), "-print_final_stats=1"])
        .stderr(Stdio::from(log));
    say(&format!("$ {} 2> {}", describe(&cmd), log_path.display()));
    let status = cmd.status().map_err(|e| anyhow::format_err!("cannot run cargo fuzz: {e}"))?;
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    let crash = text
        .lines()
        .find_map(|l| l.split_once("Test unit written to ").map(|(_, p)| p.trim().to_owned()));
    if !status.success() && crash.is_none() {
        anyhow::bail!("cargo fuzz run {target} failed ({status}); see {}", log_path.display());
    }
    Ok(figures(target, &text, crash))
}

/// The figures of a libFuzzer log: its `-print_final_stats` and its last status line.
fn figures(target: &str, log: &str, crash: Option<String>) -> Figures {
    let stat = |name: &str| {
        log.lines()
            .find_map(|l| l.strip_prefix(&format!("stat::{name}:")).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| "?".to_owned())
    };
    let status = log.lines().rev().find(|l| l.starts_with('#') && l.contains(" cov: "));
    let field = |name: &str| {
        status
            .and_then(|l| l.split_whitespace().skip_while(|w| *w != name).nth(1))
            .unwrap_or("?")
            .to_owned()
    };
    Figures {
        target: target.to_owned(),
        runs: stat("number_of_executed_units"),
        execs_per_sec: stat("average_exec_per_sec"),
        coverage: field("cov:"),
        features: field("ft:"),
        corpus: field("corp:"),
        crash,
    }
}

/// Replaces the generated files of `fuzz/corpus/TARGET/` by a set cover of the edges it and the
/// working corpus reach (hit counts aside, or the set is thousands of files); `seed-*` and
/// `crash-*` stay as they are.
fn merge_corpus(toolchain: &str, fuzz_dir: &Path, work: &Path, target: &str) -> anyhow::Result<()> {
    let committed = fuzz_dir.join("corpus").join(target);
    let merged = work.join("merged").join(target);
    let _ = std::fs::remove_dir_all(&merged);
    std::fs::create_dir_all(&merged)
        .map_err(|e| anyhow::format_err!("cannot create {}: {e}", merged.display()))?;
    exec(
        nightly_cargo(toolchain)
            .current_dir(fuzz_dir)
            .args(["fuzz", "run", "-O", target])
            .arg(&merged)
            .arg(&committed)
            .arg(work.join("corpus").join(target))
            .args(["--", "-set_cover_merge=1", "-use_counters=0"]),
    )?;
    let kept = |name: &str| name.starts_with("seed-") || name.starts_with("crash-");
    let mut known = HashSet::new();
    for (name, path) in files(&committed)? {
        if kept(&name) {
            known.insert(read(&path)?);
        } else {
            std::fs::remove_file(&path)
                .map_err(|e| anyhow::format_err!("cannot remove {}: {e}", path.display()))?;
        }
    }
    for (name, path) in files(&merged)? {
        let data = read(&path)?;
        if known.insert(data.clone()) {
            let to = committed.join(&name);
            std::fs::write(&to, data)
                .map_err(|e| anyhow::format_err!("cannot write {}: {e}", to.display()))?;
        }
    }
    let now = files(&committed)?;
    let bytes: u64 = now.iter().filter_map(|(_, p)| p.metadata().ok()).map(|m| m.len()).sum();
    say(&format!("fuzz/corpus/{target}/: {} files, {}", now.len(), human_size(bytes)));
    Ok(())
}

fn files(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    Ok(std::fs::read_dir(dir)
        .map_err(|e| anyhow::format_err!("cannot list {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
        .filter(|(_, p)| p.is_file())
        .collect())
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| anyhow::format_err!("cannot read {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::figures;

    #[test]
    fn figures_are_read_from_a_libfuzzer_log() {
        let log = "\
#2	INITED cov: 10 ft: 11 corp: 2/20b exec/s: 0 rss: 30Mb
#500	NEW    cov: 40 ft: 90 corp: 31/1200b lim: 4 exec/s: 250 rss: 31Mb L: 3/3 MS: 1 ChangeBit-
#1000	DONE   cov: 42 ft: 95 corp: 33/1300b lim: 4 exec/s: 333 rss: 31Mb
Done 1000 runs in 3 second(s)
stat::number_of_executed_units: 1000
stat::average_exec_per_sec:     333
";
        let f = figures("names", log, None);
        assert_eq!(
            [&f.runs, &f.execs_per_sec, &f.coverage, &f.features, &f.corpus],
            ["1000", "333", "42", "95", "33/1300b"]
        );
        let empty = figures("names", "", Some("artifacts/names/crash-1".into()));
        assert_eq!(
            (empty.runs.as_str(), empty.crash.as_deref()),
            ("?", Some("artifacts/names/crash-1"))
        );
    }
}
