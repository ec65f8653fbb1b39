//! Several nodes on one shared cache, simulated on this machine: N FUSE views (`bindfs`) of one
//! folder, where `flock` does not cross from one view to another (as on NFS without a lock
//! manager, or Lustre with `localflock`) while `O_EXCL` creation and `rename` stay atomic.
//! Each "node" runs the real `hub-cli` in its own UTS namespace, so it has its own host name
//! (`node-1`, …) and cannot tell another node's processes from its own dead ones.
//!
//! What a user of a GPU cluster notices, checked here: every node gets the file, the cache
//! holds one correct blob and no leftover, and the CDN served each byte about once; a node
//! killed in the middle is taken over by another, which resumes its partial file; a snapshot
//! fetched by 8 nodes under faults gives every node one commit's files; the official Python
//! client on one node and ours on three leave a cache both read as valid.
//!
//! Needs root (for `unshare` and FUSE) and `bindfs` (`cargo xtask test` installs it). The
//! tests run alone ([`support::alone`]: not beside each other nor any other test of a TestHub):
//! each starts many processes on a small machine.
#![cfg(target_os = "linux")]
// Test helpers may unwrap too: a panic is how a test fails.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use hub_tests::{CommitSpec, HubConfig, LargeFile, Repo, Stats, TestHub};

use crate::support;
use crate::support::files::{names_in, sha256_file};

/// How long a silent lease is trusted in these tests (`HF_HUB_LEASE_TIMEOUT`).
const LEASE_TIMEOUT: &str = "4";

/// N mounts of one folder, unmounted when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    shared: PathBuf,
    views: Vec<PathBuf>,
    _turn: support::Turn,
}

impl Cluster {
    fn mount(nodes: usize) -> Cluster {
        let turn = support::alone();
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        let mut cluster = Cluster { dir, shared, views: Vec::new(), _turn: turn };
        for node in 1..=nodes {
            let view = cluster.dir.path().join(format!("node-{node}"));
            std::fs::create_dir(&view).unwrap();
            let out = Command::new("bindfs").arg(&cluster.shared).arg(&view).output();
            match out {
                Ok(out) if out.status.success() => cluster.views.push(view),
                Ok(out) => panic!(
                    "bindfs could not mount a view of the shared folder (run as root, with \
                     /dev/fuse): {}",
                    String::from_utf8_lossy(&out.stderr).trim_end()
                ),
                Err(e) => panic!(
                    "bindfs is needed to simulate nodes ({e}): `cargo xtask test` installs it \
                     (Debian package bindfs)"
                ),
            }
        }
        cluster.check_locks_do_not_cross();
        cluster
    }

    /// The premise of these tests: a lock taken through one view is not seen through another.
    fn check_locks_do_not_cross(&self) {
        use fs2::FileExt;
        let a = std::fs::File::create(self.views[0].join("probe.lock")).unwrap();
        let b = std::fs::File::create(self.views[self.views.len() - 1].join("probe.lock")).unwrap();
        a.lock_exclusive().unwrap();
        if self.views.len() > 1 {
            assert!(b.try_lock_exclusive().is_ok(), "flock crosses the bindfs views here");
        }
        drop((a, b));
        std::fs::remove_file(self.shared.join("probe.lock")).unwrap();
    }

    /// The cache as node `node` (1-based) sees it.
    fn cache(&self, node: usize) -> PathBuf {
        self.views[node - 1].join("hub-cache")
    }

    /// The cache itself, not through a view.
    fn shared_cache(&self) -> PathBuf {
        self.shared.join("hub-cache")
    }

    /// `hub-cli ARGS` on node `node`: its own host name, the cache through its view, its own
    /// home.
    fn hub_cli(&self, hub: &TestHub, node: usize, args: &[&str]) -> Command {
        let home = self.dir.path().join(format!("home-{node}"));
        let mut cmd = Command::new("unshare");
        support::isolate(&mut cmd, &home, hub.endpoint())
            .args(["--uts", "--", "sh", "-c", r#"hostname "$1" && shift && exec "$@""#, "sh"])
            .arg(format!("node-{node}"))
            .arg(env!("CARGO_BIN_EXE_hub-cli"))
            .args(args)
            .env("HF_HUB_CACHE", self.cache(node))
            .env("HF_HUB_LEASE_TIMEOUT", LEASE_TIMEOUT)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for view in &self.views {
            let _ = Command::new("fusermount").arg("-u").arg(view).status();
        }
    }
}

/// Waits for every child, at most `limit` in all; kills the ones still running and fails.
fn wait_all(children: Vec<Child>, limit: Duration) -> Vec<Output> {
    let start = Instant::now();
    let mut outputs = Vec::new();
    for mut child in children {
        loop {
            if child.try_wait().unwrap().is_some() {
                outputs.push(child.wait_with_output().unwrap());
                break;
            }
            if start.elapsed() > limit {
                child.kill().unwrap();
                let out = child.wait_with_output().unwrap();
                panic!("a node still ran after {limit:?}: {}", support::stderr(&out));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    outputs
}

/// Bytes of LFS objects the CDN sent.
fn cdn_bytes(stats: &Stats) -> u64 {
    support::log::lfs_bytes(stats, 0)
}

/// The cache holds the blob `sha256`, correct, and nothing else in blobs/; no lease is left.
fn assert_one_good_blob(cache: &Path, folder: &str, sha256: &str) {
    let blobs = cache.join(folder).join("blobs");
    assert_eq!(
        names_in(&blobs).unwrap(),
        vec![sha256.to_owned()],
        "one blob, no partial file left"
    );
    assert_eq!(sha256_file(&blobs.join(sha256)).unwrap(), sha256, "the blob's content");
    let locks = cache.join(".locks").join(folder);
    let leases: Vec<String> =
        names_in(&locks).unwrap().into_iter().filter(|n| !n.ends_with(".lock")).collect();
    assert!(leases.is_empty(), "no lease left behind: {leases:?}");
}

/// A hub whose `cluster/large` has `big.bin` of `size` bytes.
fn hub_with_file(size: u64) -> (TestHub, LargeFile) {
    let hub = TestHub::start(HubConfig::default()).unwrap();
    let file = hub.add_large_file(&Repo::model("cluster/large"), "big.bin", size).unwrap();
    (hub, file)
}

const FOLDER: &str = "models--cluster--large";

#[test]
fn four_nodes_started_together_fetch_the_file_once() {
    let cluster = Cluster::mount(4);
    let size = 256 << 20;
    let (hub, file) = hub_with_file(size);
    // Slow enough that the four surely overlap.
    hub.faults().throttle(Some(64 << 20));
    let children: Vec<Child> = (1..=4)
        .map(|node| {
            let args = ["download", "cluster/large", "big.bin"];
            cluster.hub_cli(&hub, node, &args).spawn().unwrap()
        })
        .collect();
    let outputs = wait_all(children, Duration::from_secs(120));
    let mut waited = 0;
    for (node, out) in outputs.iter().enumerate() {
        let printed = support::ok(out).unwrap();
        let expected = cluster.cache(node + 1).join(FOLDER).join("snapshots").join(&file.commit);
        assert_eq!(printed.trim_end(), expected.join("big.bin").display().to_string());
        let err = support::stderr(out);
        if err.contains("waiting for node-") {
            assert!(err.contains("of big.bin"), "{err}");
            waited += 1;
        }
    }
    assert!(waited >= 3, "three nodes said whom they waited for: {outputs:?}");
    assert_one_good_blob(&cluster.shared_cache(), FOLDER, &file.sha256);
    let served = cdn_bytes(&hub.stats());
    println!("4 nodes, one file: the CDN served {:.3}x the file", served as f64 / size as f64);
    assert!(
        served as f64 <= 1.1 * size as f64,
        "the CDN served {served} bytes for a file of {size}: {:.2}x",
        served as f64 / size as f64
    );
}

#[test]
fn a_node_killed_in_the_middle_is_taken_over_and_its_bytes_kept() {
    let cluster = Cluster::mount(4);
    let size = 256 << 20;
    let (hub, file) = hub_with_file(size);
    // Per connection: about 48 MiB/s over the 8 connections of a download.
    hub.faults().throttle(Some(6 << 20));
    let mut children: Vec<Option<Child>> = (1..=4)
        .map(|node| {
            let args = ["download", "cluster/large", "big.bin"];
            Some(cluster.hub_cli(&hub, node, &args).spawn().unwrap())
        })
        .collect();
    // The owner, once about half the file crossed the network.
    let lease =
        cluster.shared_cache().join(".locks").join(FOLDER).join(format!("{}.lease", file.sha256));
    let started = Instant::now();
    let owner = loop {
        assert!(started.elapsed() < Duration::from_secs(60), "nobody took the lease");
        let text = std::fs::read_to_string(&lease).unwrap_or_default();
        let host = text.lines().find_map(|l| l.strip_prefix("host=node-"));
        if let Some(node) = host.and_then(|n| n.parse::<usize>().ok())
            && cdn_bytes(&hub.stats()) >= size / 2
        {
            break node;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut killed = children[owner - 1].take().unwrap();
    killed.kill().unwrap();
    let killed = killed.wait_with_output().unwrap();
    assert!(!killed.status.success());
    let at_kill = cdn_bytes(&hub.stats());
    let outputs = wait_all(children.into_iter().flatten().collect(), Duration::from_secs(120));
    let mut took_over = 0;
    for out in &outputs {
        support::ok(out).unwrap();
        if support::stderr(out).contains(&format!("waiting for node-{owner}")) {
            took_over += 1;
        }
    }
    assert!(took_over >= 1, "the others waited for node-{owner}: {outputs:?}");
    assert_one_good_blob(&cluster.shared_cache(), FOLDER, &file.sha256);
    let served = cdn_bytes(&hub.stats());
    println!("owner killed at half: the CDN served {:.3}x the file", served as f64 / size as f64);
    assert!(
        served as f64 <= 1.6 * size as f64,
        "the CDN served {served} bytes ({at_kill} before the kill) for a file of {size}: {:.2}x",
        served as f64 / size as f64
    );
    // The bytes of the dead node were resumed, not fetched again. Not all of the half that
    // had left the CDN at the kill: what sat in the sockets' buffers (up to a few MiB per
    // connection, more when a loaded machine reads slowly) never reached the file.
    let after = served - at_kill;
    assert!(after < size * 8 / 10, "resumed: {after} bytes fetched after the kill, of {size}");
}

/// `snapshot/fifty` at two commits: 50 LFS files, all changed by the second.
fn hub_with_snapshot() -> (TestHub, Repo, Vec<(String, u64)>) {
    let hub = TestHub::start(HubConfig::default()).unwrap();
    let repo = Repo::model("snapshot/fifty");
    hub.create_repo(&repo, hub_tests::RepoOptions::default()).unwrap();
    let files: Vec<(String, u64)> =
        (0..50).map(|i| (format!("shard-{i:02}.bin"), (256 << 10) + i * 37_111)).collect();
    let mut spec = CommitSpec::new("main", "fifty files");
    for (name, size) in &files {
        spec = spec.lfs_generated(name, &format!("v1/{name}"), *size);
    }
    hub.commit_files(&repo, spec).unwrap();
    (hub, repo, files)
}

#[test]
fn eight_nodes_fetch_a_snapshot_once_each_file_under_faults_and_never_mix_commits() {
    let cluster = Cluster::mount(8);
    let (hub, repo, files) = hub_with_snapshot();
    let total: u64 = files.iter().map(|(_, size)| size).sum();
    hub.faults().throttle(Some(16 << 20));
    // Fewer than a request's 6 attempts (5 retries): a download that draws every one of them
    // still gets through, as one draws them all now and then.
    hub.faults().fail_next_on(hub_tests::HostScope::Cdn, 5, 503, Some(0));
    let node = |node| {
        let args = ["download", "snapshot/fifty", "--max-workers", "4"];
        cluster.hub_cli(&hub, node, &args).spawn().unwrap()
    };
    let mut children: Vec<Child> = (1..=4).map(node).collect();
    // Once the first nodes are well into the first commit's files, main moves (every file
    // changes) and four more nodes start.
    let blobs = cluster.shared_cache().join("models--snapshot--fifty").join("blobs");
    let started = Instant::now();
    while names_in(&blobs).unwrap().iter().filter(|n| !n.contains('.')).count() < 10 {
        assert!(started.elapsed() < Duration::from_secs(120), "the first nodes fetch nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut spec = CommitSpec::new("main", "fifty new files");
    for (name, size) in &files {
        spec = spec.lfs_generated(name, &format!("v2/{name}"), *size);
    }
    let second = hub.commit_files(&repo, spec).unwrap();
    children.extend((5..=8).map(node));
    let outputs = wait_all(children, Duration::from_secs(300));
    let snapshots = cluster.shared_cache().join("models--snapshot--fifty").join("snapshots");
    for out in &outputs {
        let printed = PathBuf::from(support::ok(out).unwrap().trim_end());
        let commit = printed.file_name().unwrap().to_string_lossy().into_owned();
        let version = if commit == second { "v2" } else { "v1" };
        // Every file of the node's folder is of the node's one commit.
        for (name, size) in &files {
            let data = std::fs::read(snapshots.join(&commit).join(name)).unwrap();
            let mut want = Vec::new();
            std::io::Read::read_to_end(
                &mut hub_tests::seed::DeterministicReader::new(&format!("{version}/{name}"), *size),
                &mut want,
            )
            .unwrap();
            assert!(data == want, "{name} in the snapshot of {commit} is not its {version}");
        }
    }
    // Both commits were fetched, each file about once per commit.
    let commits = names_in(&snapshots).unwrap().len() as u64;
    assert_eq!(commits, 2, "the first nodes kept their commit, the last ones took the new one");
    let served = cdn_bytes(&hub.stats());
    println!(
        "8 nodes, 50 files, {commits} commit(s): the CDN served {:.3}x",
        served as f64 / (commits * total) as f64
    );
    assert!(
        served as f64 <= 1.25 * (commits * total) as f64,
        "the CDN served {served} bytes for {commits} commit(s) of {total}: {:.2}x",
        served as f64 / (commits * total) as f64
    );
    let leftovers: Vec<String> =
        names_in(&blobs).unwrap().into_iter().filter(|n| n.contains('.')).collect();
    assert!(leftovers.is_empty(), "no partial file left: {leftovers:?}");
}

/// The venv's Python with the official client (`cargo xtask test` makes it).
fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/py-venv/bin/python");
    let python = std::env::var_os("HUB_PYTHON").map_or(venv, PathBuf::from);
    assert!(
        python.exists(),
        "{} is missing: `cargo xtask test` creates the venv with huggingface_hub",
        python.display()
    );
    python
}

#[test]
fn the_python_client_on_one_node_and_ours_on_three_leave_a_valid_cache() {
    let cluster = Cluster::mount(4);
    let size = 64 << 20;
    let (hub, file) = hub_with_file(size);
    hub.faults().throttle(Some(8 << 20));
    let script = "import sys, huggingface_hub as h\n\
                  print(h.hf_hub_download('cluster/large', 'big.bin'))\n";
    let home = cluster.dir.path().join("home-py");
    let mut py = Command::new("unshare");
    support::isolate(&mut py, &home, hub.endpoint())
        .args(["--uts", "--", "sh", "-c", r#"hostname node-1 && exec "$@""#, "sh"])
        .arg(python())
        .args(["-c", script])
        .env("HF_HUB_CACHE", cluster.cache(1))
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut children = vec![py.spawn().unwrap()];
    for node in 2..=4 {
        let args = ["download", "cluster/large", "big.bin"];
        children.push(cluster.hub_cli(&hub, node, &args).spawn().unwrap());
    }
    let outputs = wait_all(children, Duration::from_secs(180));
    for out in &outputs {
        let printed = support::ok(out).unwrap();
        let path = PathBuf::from(printed.trim_end());
        assert_eq!(sha256_file(&path).unwrap(), file.sha256, "{}", path.display());
    }
    assert_one_good_blob(&cluster.shared_cache(), FOLDER, &file.sha256);
    // Python, then ours, find the shared cache valid.
    let scan = "import sys, huggingface_hub as h\n\
                info = h.scan_cache_dir(sys.argv[1])\n\
                assert not info.warnings, info.warnings\n\
                assert [r.repo_id for r in info.repos] == ['cluster/large'], info.repos\n\
                assert info.size_on_disk == int(sys.argv[2]), info.size_on_disk\n";
    let out = Command::new(python())
        .args(["-c", scan])
        .arg(cluster.shared_cache())
        .arg(size.to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "Python's scan: {}", support::stderr(&out));
    let out =
        cluster.hub_cli(&hub, 2, &["cache", "verify", "cluster/large", "--deep"]).output().unwrap();
    assert!(out.status.success(), "our verify: {}", support::stderr(&out));
}
