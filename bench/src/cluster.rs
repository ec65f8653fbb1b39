//! `cargo xtask bench cluster` (`hub-bench cluster`): N nodes of a GPU cluster sharing one
//! Hugging Face cache, simulated on this machine as `crates/hub-cli/tests/it/cluster.rs` does:
//! N `bindfs` views of one folder (`flock` does not cross them, as on NFS without a lock manager) and every node's
//! client in its own UTS namespace, with its own host name (`node-1`, …).
//!
//! Two scenarios, one large file and one snapshot of K LFS files, each run by `hub-cli` and by
//! the official Python client (`hf_hub_download`, `snapshot_download`) in the same run: one node
//! alone into a fresh cache, then N nodes started together into another fresh cache. The figures
//! of each: the bytes the CDN served over the bytes of the files, the N-node wall time over the
//! one-node wall time, and the largest peak RSS of one node. Peak RSS comes from the kernel's
//! rusage of the node's process (`getrusage(RUSAGE_CHILDREN)` in the measuring helper that waited
//! for it: `unshare`, `sh` and the client are one process, each `exec`ing the next).
//!
//! The views are unmounted when the run ends, also when it fails ([`Views`] is a guard).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use hub_tests::{HubConfig, LargeFile, LogEntry, Repo, TestHub};
use hub_url::env::{
    HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_HUB_DISABLE_PROGRESS_BARS, NO_PROXY, NO_PROXY_LOWERCASE,
};

use super::{Scratch, format_mib, release_binaries};
use crate::hub;
use crate::measure::{Measured, helper_for, parse_report, sync};
use crate::util::{describe, output, project_root, say, shout, step, table};

pub(super) const HELP: &str = "\
cargo xtask bench cluster [--nodes N] [--size MIB] [--files K] [--keep]

One Hugging Face cache shared by N nodes, simulated on this machine: N bindfs views of one
folder (flock does not cross them, as on NFS without a lock manager), each node's client in its
own UTS namespace (its own host name, node-1, ...), HF_HUB_CACHE in its view. Builds hub-cli in
release mode, starts the local Hub on loopback, and measures in one run:
  large file  `hub-cli download REPO big.bin` (a file of MIB MiB), and the official Python client's
              hf_hub_download of the same file
  snapshot    `hub-cli download REPO` of K LFS files of about 2 MiB each, and the Python
              client's snapshot_download of the same repo
each first on one node alone into a fresh cache, then on N nodes started together into another
fresh cache. It prints one row per client and scenario:
  nodes ok        nodes whose client exited with 0, of N
  cache           after the N-node run: `ok` when the shared cache holds exactly the files'
                  blobs at their sizes (no partial file left), what differs otherwise
  CDN / size      bytes the CDN served to the N nodes over the bytes of the files (1.00x: each
                  byte fetched once)
  N / one node    wall time of the N-node run over that of the one node alone
  peak RSS        the largest peak RSS of one node's process (the kernel's rusage)
A client that fails on some nodes is reported, not fatal. Needs root (unshare, FUSE), bindfs
and fusermount (Debian: bindfs, fuse3), and the Python venv of `cargo xtask test`
(target/py-venv). No internet.

Options:
  --nodes N   nodes sharing the cache, 1 or more (default 4)
  --size MIB  size of the large file in MiB (default 512)
  --files K   LFS files of the snapshot, 1 or more (default 50)
  --keep      keep the scratch directory (Hub root, caches) instead of deleting it
";

const LARGE_REPO: &str = "bench/cluster-large";
const LARGE_FILE: &str = "big.bin";
const SNAPSHOT_REPO: &str = "bench/cluster-snapshot";
/// The size of the snapshot's first file; each next one is a little larger.
const SHARD_SIZE: u64 = 2 << 20;
const SHARD_STEP: u64 = 37_111;
/// Runs `"$@"` after setting the host name of the new UTS namespace to `$1`.
const HOSTNAME_THEN_EXEC: &str = r#"hostname "$1" && shift && exec "$@""#;

#[derive(Debug, Clone, PartialEq, Eq)]
struct ClusterOpts {
    nodes: usize,
    size_mib: u64,
    files: usize,
    keep: bool,
}

/// `None` when help was asked for.
fn parse_args(args: &[String]) -> anyhow::Result<Option<ClusterOpts>> {
    let mut opts = ClusterOpts { nodes: 4, size_mib: 512, files: 50, keep: false };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value)),
            _ => (arg.as_str(), None),
        };
        let mut number =
            |what: &str| -> anyhow::Result<u64> {
                let text = inline
                    .or_else(|| args.next().map(String::as_str))
                    .ok_or_else(|| anyhow::format_err!("{name} needs a value\n\n{HELP}"))?;
                text.trim().parse().ok().filter(|&n: &u64| n >= 1).ok_or_else(|| {
                    anyhow::format_err!("{name} {text:?}: expected {what}, 1 or more")
                })
            };
        match name {
            "-h" | "--help" if inline.is_none() => return Ok(None),
            "--keep" if inline.is_none() => opts.keep = true,
            "--nodes" => opts.nodes = usize::try_from(number("a number of nodes")?)?,
            "--size" => opts.size_mib = number("a size in MiB")?,
            "--files" => opts.files = usize::try_from(number("a number of files")?)?,
            _ => anyhow::bail!("unexpected argument '{arg}'\n\n{HELP}"),
        }
    }
    Ok(Some(opts))
}

pub(super) fn run(args: &[String]) -> anyhow::Result<()> {
    let Some(opts) = parse_args(args)? else {
        say(HELP);
        return Ok(());
    };
    let size = opts
        .size_mib
        .checked_mul(1 << 20)
        .ok_or_else(|| anyhow::format_err!("--size {}: too large", opts.size_mib))?;
    let python = requirements()?;
    let bin = release_binaries()?;
    let hub_cli = bin.join("hub-cli");

    let scratch = Scratch::create("cluster", opts.keep)?;
    let shards: Vec<(String, u64)> = (0..opts.files as u64)
        .map(|i| (format!("shard-{i:03}.bin"), SHARD_SIZE + i * SHARD_STEP))
        .collect();
    let snapshot_size: u64 = shards.iter().map(|(_, s)| s).sum();
    step(&format!(
        "start the local Hub with {LARGE_REPO}:{LARGE_FILE} ({}) and {SNAPSHOT_REPO} ({} files, {})",
        format_mib(size),
        shards.len(),
        format_mib(snapshot_size)
    ));
    let started = Instant::now();
    let hub =
        hub::start(HubConfig { root: Some(scratch.path.join("hub")), ..HubConfig::default() })?;
    let large = vec![hub.add_large_file(&Repo::model(LARGE_REPO), LARGE_FILE, size)?];
    let mut snapshot = Vec::with_capacity(shards.len());
    for (name, shard_size) in &shards {
        snapshot.push(hub.add_large_file(&Repo::model(SNAPSHOT_REPO), name, *shard_size)?);
    }
    say(&format!("ready in {:.1} s: {}", started.elapsed().as_secs_f64(), hub.endpoint()));

    step(&format!("mount {} bindfs views of one folder", opts.nodes));
    let shared = scratch.path.join("shared");
    std::fs::create_dir_all(&shared)?;
    let views = Views::mount(&shared, &scratch.path, opts.nodes)?;

    let py_file =
        "import sys, huggingface_hub as h; print(h.hf_hub_download(sys.argv[1], sys.argv[2]))";
    let py_snapshot = "import sys, huggingface_hub as h; print(h.snapshot_download(sys.argv[1]))";
    let large_blobs = expected_blobs(&large);
    let snapshot_blobs = expected_blobs(&snapshot);
    anyhow::ensure!(
        large_blobs.len() == 1 && snapshot_blobs.len() == shards.len(),
        "the local Hub made {} and {} distinct large files, not 1 and {}",
        large_blobs.len(),
        snapshot_blobs.len(),
        shards.len()
    );
    let runs = [
        ("hub-cli", "large file", size, argv(&hub_cli, &["download", LARGE_REPO, LARGE_FILE])),
        ("hub-cli", "snapshot", snapshot_size, argv(&hub_cli, &["download", SNAPSHOT_REPO])),
        ("python", "large file", size, argv(&python, &["-c", py_file, LARGE_REPO, LARGE_FILE])),
        ("python", "snapshot", snapshot_size, argv(&python, &["-c", py_snapshot, SNAPSHOT_REPO])),
    ];
    let mut rows = Vec::new();
    for (i, (client, scenario, bytes, program)) in runs.iter().enumerate() {
        let (repo, blobs) =
            if i % 2 == 0 { (LARGE_REPO, &large_blobs) } else { (SNAPSHOT_REPO, &snapshot_blobs) };
        let blobs_dir = |cache: &str| {
            shared.join(cache).join(format!("models--{}", repo.replace('/', "--"))).join("blobs")
        };
        let ctx = Ctx { hub: &hub, views: &views, scratch: &scratch.path, program };
        step(&format!("{client}, {scenario}: one node alone"));
        let one = ctx.run_nodes(&format!("cache-{i}-one"), 1)?;
        say(&one.summary(*bytes));
        step(&format!("{client}, {scenario}: {} nodes together", opts.nodes));
        let cache = format!("cache-{i}-many");
        let many = ctx.run_nodes(&cache, opts.nodes)?;
        say(&many.summary(*bytes));
        let verdict = cache_verdict(&blobs_dir(&cache), blobs);
        say(&format!("the shared cache's blobs: {verdict}"));
        rows.push(Figure { cache: verdict, ..row(client, scenario, *bytes, &one, &many) });
    }
    drop(views);
    say(&format!(
        "\n{} nodes; large file: {}; snapshot: {} files, {}; peak RSS: getrusage of each node's \
         process\n\n{}",
        opts.nodes,
        format_mib(size),
        shards.len(),
        format_mib(snapshot_size),
        figures(&rows)
    ));
    Ok(())
}

/// Fails with what to install or how to run unless this machine can simulate nodes; the
/// Python of the venv otherwise.
fn requirements() -> anyhow::Result<PathBuf> {
    let uid = output(Command::new("id").arg("-u")).unwrap_or_default();
    anyhow::ensure!(
        uid.trim() == "0",
        "bench cluster needs root: `unshare --uts` and FUSE mounts (run it as root, or in a \
         container with /dev/fuse)"
    );
    for (tool, package) in
        [("bindfs", "bindfs"), ("fusermount", "fuse3"), ("unshare", "util-linux")]
    {
        if which(tool).is_none() {
            anyhow::bail!(
                "bench cluster needs `{tool}` on PATH: install the Debian package {package} \
                 (`cargo xtask test` installs bindfs)"
            );
        }
    }
    let python = project_root().join("target/py-venv/bin/python");
    anyhow::ensure!(
        python.exists(),
        "no Python venv at {}: run `cargo xtask test` once, which creates it with the official \
         huggingface_hub",
        python.display()
    );
    output(Command::new(&python).args(["-c", "import huggingface_hub"])).map_err(|e| {
        anyhow::format_err!(
            "{} cannot import huggingface_hub ({e}): run `cargo xtask test` to rebuild the venv",
            python.display()
        )
    })?;
    Ok(python)
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(tool)).find(|p| p.is_file())
}

/// `program` and its `args`, as one list.
fn argv(program: &Path, args: &[&str]) -> Vec<OsString> {
    std::iter::once(program.as_os_str().to_owned()).chain(args.iter().map(OsString::from)).collect()
}

/// N `bindfs` views of one folder; unmounted when dropped (those mounted so far, on failure).
struct Views {
    views: Vec<PathBuf>,
}

impl Views {
    fn mount(shared: &Path, parent: &Path, nodes: usize) -> anyhow::Result<Views> {
        let mut mounted = Views { views: Vec::new() };
        for node in 1..=nodes {
            let view = parent.join(format!("node-{node}"));
            std::fs::create_dir_all(&view)?;
            let out = Command::new("bindfs").arg(shared).arg(&view).output().map_err(|e| {
                anyhow::format_err!("cannot run bindfs ({e}): install the Debian package bindfs")
            })?;
            anyhow::ensure!(
                out.status.success(),
                "bindfs could not mount {} (run as root, with /dev/fuse): {}",
                view.display(),
                String::from_utf8_lossy(&out.stderr).trim_end()
            );
            mounted.views.push(view);
        }
        Ok(mounted)
    }

    /// The view of node `node` (1-based).
    fn view(&self, node: usize) -> &Path {
        &self.views[node - 1]
    }
}

impl Drop for Views {
    fn drop(&mut self) {
        for view in &self.views {
            match Command::new("fusermount").arg("-u").arg(view).output() {
                Ok(out) if out.status.success() => {}
                Ok(out) => shout(&format!(
                    "cannot unmount {}: {}",
                    view.display(),
                    String::from_utf8_lossy(&out.stderr).trim_end()
                )),
                Err(e) => shout(&format!("cannot run fusermount -u {}: {e}", view.display())),
            }
        }
    }
}

/// What one scenario of one client runs on.
struct Ctx<'a> {
    hub: &'a TestHub,
    views: &'a Views,
    scratch: &'a Path,
    /// The client's program and arguments.
    program: &'a [OsString],
}

/// One run of `nodes` nodes together.
#[derive(Debug, Clone, PartialEq)]
struct NodesRun {
    nodes: usize,
    /// From the first start to the last exit.
    wall_secs: f64,
    cdn_bytes: u64,
    /// The nodes that exited with 0.
    ok: Vec<Measured>,
    /// Why the others failed.
    failed: Vec<String>,
}

impl NodesRun {
    fn peak_rss(&self) -> u64 {
        self.ok.iter().map(|m| m.max_rss_bytes).max().unwrap_or(0)
    }

    fn summary(&self, bytes: u64) -> String {
        let mut text = format!(
            "{} of {} node(s) ok in {:.2} s; the CDN served {:.2}x; peak RSS of a node {}",
            self.ok.len(),
            self.nodes,
            self.wall_secs,
            self.cdn_bytes as f64 / bytes as f64,
            format_mib(self.peak_rss())
        );
        for failure in &self.failed {
            text.push_str(&format!("\n  failed: {failure}"));
        }
        text
    }
}

impl Ctx<'_> {
    /// The client on nodes 1 to `nodes` at once, into the cache `cache` of the shared folder.
    fn run_nodes(&self, cache: &str, nodes: usize) -> anyhow::Result<NodesRun> {
        sync()?;
        let before = cdn_bytes(self.hub);
        let mut children: Vec<(Command, Child)> = Vec::new();
        let started = Instant::now();
        for node in 1..=nodes {
            let cmd = self.node_command(cache, node)?;
            if node == 1 {
                say(&format!("$ {}", describe(&cmd)));
            }
            let mut helper = helper_for(&cmd, &[])?;
            let child = helper
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| anyhow::format_err!("cannot run {}: {e}", describe(&cmd)))?;
            children.push((cmd, child));
        }
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        for (node, (cmd, child)) in children.into_iter().enumerate() {
            let out = child.wait_with_output()?;
            let stderr = String::from_utf8_lossy(&out.stderr);
            match parse_report(&String::from_utf8_lossy(&out.stdout), &cmd) {
                Ok(measured) => ok.push(measured),
                Err(e) => failed.push(format!("node-{}: {e}: {}", node + 1, last_line(&stderr))),
            }
        }
        let wall_secs = started.elapsed().as_secs_f64();
        let cdn_bytes = cdn_bytes(self.hub).saturating_sub(before);
        Ok(NodesRun { nodes, wall_secs, cdn_bytes, ok, failed })
    }

    /// The client on node `node`: its own host name, the cache `cache` through its view, its
    /// own home.
    fn node_command(&self, cache: &str, node: usize) -> anyhow::Result<Command> {
        let (program, args) = self
            .program
            .split_first()
            .ok_or_else(|| anyhow::format_err!("a client without a program"))?;
        let home = self.scratch.join(format!("home-{node}"));
        std::fs::create_dir_all(&home)?;
        let mut cmd = Command::new("unshare");
        cmd.args(["--uts", "--", "sh", "-c", HOSTNAME_THEN_EXEC, "sh"])
            .arg(format!("node-{node}"))
            .arg(program)
            .args(args)
            .env("HOME", &home)
            .env(HF_HOME, home.join("hf-home"))
            .env(HF_ENDPOINT, self.hub.endpoint())
            .env(HF_HUB_CACHE, self.views.view(node).join(cache))
            .env(HF_HUB_DISABLE_PROGRESS_BARS, "1")
            // The Python client's; ours sends no telemetry.
            .env("HF_HUB_DISABLE_TELEMETRY", "1")
            .env(NO_PROXY, "127.0.0.1,127.0.0.2,localhost")
            .env(NO_PROXY_LOWERCASE, "127.0.0.1,127.0.0.2,localhost");
        Ok(cmd)
    }
}

/// The blob names (sha256) and sizes of `files`.
fn expected_blobs(files: &[LargeFile]) -> BTreeMap<String, u64> {
    files.iter().map(|f| (f.sha256.clone(), f.size)).collect()
}

/// `ok` when `dir` holds exactly the `expected` blobs at their sizes; what differs otherwise.
fn cache_verdict(dir: &Path, expected: &BTreeMap<String, u64>) -> String {
    let mut found = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let size = entry.metadata().map_or(0, |m| m.len());
            found.insert(entry.file_name().to_string_lossy().into_owned(), size);
        }
    }
    let missing = expected.keys().filter(|name| !found.contains_key(*name)).count();
    let wrong = expected.iter().filter(|(name, size)| found.get(*name).is_some_and(|s| s != *size));
    let wrong = wrong.count();
    let extra = found.keys().filter(|name| !expected.contains_key(*name)).count();
    let mut problems = Vec::new();
    for (n, what) in [(missing, "missing"), (wrong, "of a wrong size"), (extra, "other files")] {
        if n > 0 {
            problems.push(format!("{n} {what}"));
        }
    }
    if problems.is_empty() { "ok".to_owned() } else { problems.join(", ") }
}

/// The last non-empty line of a program's stderr: its error, usually.
fn last_line(stderr: &str) -> &str {
    stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim()
}

/// Bytes of LFS objects the CDN has sent so far: the requests whose path starts with `/lfs/`.
fn cdn_bytes(hub: &TestHub) -> u64 {
    lfs_bytes(&hub.stats().log)
}

fn lfs_bytes(log: &[LogEntry]) -> u64 {
    log.iter().filter(|e| e.path.starts_with("/lfs/")).map(|e| e.bytes_sent).sum()
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq)]
struct Figure {
    client: String,
    scenario: String,
    nodes_ok: String,
    /// What the shared cache holds after the N-node run: `ok`, or what differs.
    cache: String,
    cdn_ratio: f64,
    wall_one: f64,
    wall_many: f64,
    peak_rss: u64,
}

fn row(client: &str, scenario: &str, bytes: u64, one: &NodesRun, many: &NodesRun) -> Figure {
    Figure {
        client: client.to_owned(),
        scenario: scenario.to_owned(),
        nodes_ok: format!("{}/{}", many.ok.len(), many.nodes),
        cache: String::new(),
        cdn_ratio: many.cdn_bytes as f64 / bytes as f64,
        wall_one: one.wall_secs,
        wall_many: many.wall_secs,
        peak_rss: many.peak_rss().max(one.peak_rss()),
    }
}

fn figures(rows: &[Figure]) -> String {
    let mut lines = vec![
        [
            "client",
            "scenario",
            "nodes ok",
            "cache",
            "CDN / size",
            "one node",
            "N nodes",
            "N / one node",
            "peak RSS",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for r in rows {
        lines.push(vec![
            r.client.clone(),
            r.scenario.clone(),
            r.nodes_ok.clone(),
            r.cache.clone(),
            format!("{:.2}x", r.cdn_ratio),
            format!("{:.2} s", r.wall_one),
            format!("{:.2} s", r.wall_many),
            format!("{:.2}x", r.wall_many / r.wall_one),
            format_mib(r.peak_rss),
        ]);
    }
    table("<<><>>>>>", &lines)
}

#[cfg(test)]
mod tests {
    use hub_tests::Host;

    use super::*;

    #[test]
    fn judges_the_shared_cache() {
        let dir = std::env::temp_dir().join(format!("hub-bench-cluster-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let expected: BTreeMap<String, u64> = [("aa".to_owned(), 3), ("bb".to_owned(), 2)].into();
        std::fs::write(dir.join("aa"), "abc").unwrap();
        assert_eq!(cache_verdict(&dir, &expected), "1 missing");
        std::fs::write(dir.join("bb"), "b").unwrap();
        std::fs::write(dir.join("bb.1234.part"), "b").unwrap();
        assert_eq!(cache_verdict(&dir, &expected), "1 of a wrong size, 1 other files");
        std::fs::write(dir.join("bb"), "bb").unwrap();
        std::fs::remove_file(dir.join("bb.1234.part")).unwrap();
        assert_eq!(cache_verdict(&dir, &expected), "ok");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_the_options() {
        let parse = |list: &[&str]| parse_args(&args(list));
        let default = ClusterOpts { nodes: 4, size_mib: 512, files: 50, keep: false };
        assert_eq!(parse(&[]).unwrap(), Some(default.clone()));
        assert_eq!(
            parse(&["--nodes", "8", "--size=64", "--files", "3", "--keep"]).unwrap(),
            Some(ClusterOpts { nodes: 8, size_mib: 64, files: 3, keep: true })
        );
        assert_eq!(parse(&["--help"]).unwrap(), None);
        for bad in [&["--nodes", "0"][..], &["--size", "1GiB"], &["--files"], &["--fast"]] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let err = parse(&["--nodes", "two"]).unwrap_err().to_string();
        assert_eq!(err, "--nodes \"two\": expected a number of nodes, 1 or more");
    }

    #[test]
    fn counts_only_the_cdn_bytes() {
        let entry = |host, path: &str, bytes_sent| LogEntry {
            host,
            method: "GET".to_owned(),
            path: path.to_owned(),
            status: 200,
            range: None,
            bytes_sent,
            authorization: false,
            user_agent: String::new(),
        };
        let log = vec![
            entry(Host::Cdn, "/lfs/abc", 100),
            entry(Host::Hub, "/bench/x/resolve/main/a", 7),
            entry(Host::Cdn, "/lfs/def", 50),
        ];
        assert_eq!(lfs_bytes(&log), 150);
    }

    #[test]
    fn expects_each_blob_once() {
        let file = |sha256: &str, size| LargeFile {
            repo_type: hub_tests::RepoType::Model,
            repo_id: SNAPSHOT_REPO.to_owned(),
            path: format!("{sha256}.bin"),
            size,
            sha256: sha256.to_owned(),
            git_oid: String::new(),
            commit: String::new(),
        };
        let blobs = expected_blobs(&[file("aa", 3), file("bb", 2), file("aa", 3)]);
        assert_eq!(blobs, [("aa".to_owned(), 3), ("bb".to_owned(), 2)].into());
    }

    #[test]
    fn prints_one_row_per_client_and_scenario() {
        let figure = Figure {
            client: "hub-cli".into(),
            scenario: "large file".into(),
            nodes_ok: "4/4".into(),
            cache: "ok".into(),
            cdn_ratio: 1.0,
            wall_one: 2.0,
            wall_many: 3.0,
            peak_rss: 30 << 20,
        };
        let text = figures(&[figure]);
        let header = text.lines().next().unwrap();
        let words: Vec<&str> =
            header.split("  ").map(str::trim).filter(|w| !w.is_empty()).collect();
        let cells = ["client", "scenario", "nodes ok", "cache", "CDN / size", "one node"];
        assert_eq!(words[..6], cells, "{header:?}");
        assert_eq!(words.len(), 9, "{header:?}");
        let line = text.lines().find(|l| l.starts_with("hub-cli")).unwrap();
        for want in ["large file", "4/4", "1.00x", "2.00 s", "3.00 s", "1.50x", "30.0 MiB"] {
            assert!(line.contains(want), "{want} in {line:?}");
        }
    }
}
