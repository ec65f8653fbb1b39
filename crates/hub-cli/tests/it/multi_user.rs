//! One cache shared by several users, as on a cluster: `hub-cli` run as other users (util-linux
//! `setpriv`) against a local TestHub. The cache is made group-writable and setgid by root; a
//! member of its group downloads into it, and everything written must be usable by the group;
//! a user outside the group gets one clear line, naming the folder and its owner, and writes
//! nothing.
//!
//! Root bypasses permissions, so these tests must run as root (CI does) to run the others.
#![cfg(target_os = "linux")]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, bail, ensure};

use crate::support::{self, Setup};

const MODEL: &str = "acme/tiny-model";
/// The group sharing the cache: no name in `/etc/group`.
const GROUP: u32 = 4242;
/// A member of the group (`nobody`, whose own group is `nogroup`).
const MEMBER: u32 = 65534;
/// A user in no group of the cache, with no name in `/etc/passwd`.
const OUTSIDER: u32 = 65533;

struct Shared {
    setup: Setup,
}

impl Shared {
    fn start() -> anyhow::Result<Shared> {
        let uid = current_uid()?;
        ensure!(
            uid == 0,
            "these tests run hub-cli as other users through setpriv: run them as root (uid {uid} now)"
        );
        let setup = Setup::start()?;
        let root = setup.dir.path();
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755))?;
        let cache = setup.cache();
        std::fs::create_dir(&cache)?;
        std::os::unix::fs::chown(&cache, Some(0), Some(GROUP))?;
        std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o2775))?;
        for user in [MEMBER, OUTSIDER] {
            let home = root.join(format!("home-{user}"));
            std::fs::create_dir(&home)?;
            std::os::unix::fs::chown(&home, Some(user), Some(user))?;
        }
        Ok(Shared { setup })
    }

    /// `hub-cli download MODEL FILES…` as `uid`, whose own group is `uid`'s number, in the
    /// supplementary groups `groups`.
    fn download_as(&self, uid: u32, groups: &[u32], files: &[&str]) -> anyhow::Result<Output> {
        let home = self.setup.dir.path().join(format!("home-{uid}"));
        let mut cmd = Command::new("setpriv");
        cmd.arg(format!("--reuid={uid}")).arg(format!("--regid={uid}"));
        if groups.is_empty() {
            cmd.arg("--clear-groups");
        } else {
            let list: Vec<String> = groups.iter().map(u32::to_string).collect();
            cmd.arg(format!("--groups={}", list.join(",")));
        }
        cmd.arg(env!("CARGO_BIN_EXE_hub-cli"));
        support::isolate(&mut cmd, &home, self.setup.hub.endpoint());
        cmd.env("HF_HUB_CACHE", self.setup.cache()).arg("download").arg(MODEL).args(files);
        cmd.output().context("running setpriv (util-linux)")
    }
}

/// This process's uid, from `/proc/self/status` (no libc in this test crate).
fn current_uid() -> anyhow::Result<u32> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:")).context("no Uid: line")?;
    Ok(line.split_whitespace().next().context("empty Uid: line")?.parse()?)
}

/// Every file and folder below `dir` (symlinks left out: they have no mode of their own).
fn entries(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let meta = std::fs::symlink_metadata(&path)?;
        if meta.is_dir() {
            out.extend(entries(&path)?);
        }
        if !meta.file_type().is_symlink() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

#[test]
fn a_group_member_writes_what_the_group_can_use_and_an_outsider_is_told_why_not()
-> anyhow::Result<()> {
    let s = Shared::start()?;
    let cache = s.setup.cache();

    // The member's umask is this process's (0022 as a rule): the group bits come from the
    // cache folder, not from it.
    let out = s.download_as(MEMBER, &[GROUP], &["config.json", "weights.bin"])?;
    support::ok(&out)?;
    let written = entries(&cache)?;
    ensure!(written.len() > 8, "too little written: {written:?}");
    let mut locks = 0;
    for path in &written {
        let meta = std::fs::metadata(path)?;
        let mode = meta.mode();
        ensure!(meta.uid() == MEMBER, "{} belongs to uid {}", path.display(), meta.uid());
        ensure!(
            meta.gid() == GROUP,
            "{} has gid {}, not the cache's {GROUP}",
            path.display(),
            meta.gid()
        );
        if meta.is_dir() {
            ensure!(mode & 0o2070 == 0o2070, "folder {} is {mode:o}: not g+rwxs", path.display());
        } else if path.extension().is_some_and(|e| e == "lock") {
            locks += 1;
            ensure!(mode & 0o777 == 0o664, "lock {} is {mode:o}, not 0664", path.display());
        } else {
            ensure!(mode & 0o060 == 0o060, "file {} is {mode:o}: not g+rw", path.display());
        }
    }
    ensure!(locks >= 2, "no lock files among {written:?}");

    // An outsider may read the cache (others have r-x): a cached file is found.
    let out = s.download_as(OUTSIDER, &[], &["config.json"])?;
    support::ok(&out)?;

    // But a file that must be written fails with one line naming the folder and its owner.
    let out = s.download_as(OUTSIDER, &[], &["README.md"])?;
    let stderr = support::stderr(&out);
    if out.status.success() {
        bail!("an outsider wrote into the group's cache: {}", support::stdout(&out));
    }
    ensure!(!stderr.contains("panicked"), "{stderr}");
    ensure!(stderr.trim_end().lines().count() == 1, "not one line: {stderr}");
    let line = stderr.trim_end();
    ensure!(
        line.starts_with(&format!("error: cannot write to {}", cache.display())),
        "does not name a folder of the cache: {line}"
    );
    ensure!(line.contains("it belongs to nobody (group gid 4242, mode drwxrwsr-x)"), "{line}");
    ensure!(line.contains("ask to be added to it"), "{line}");
    ensure!(entries(&cache)? == written, "the outsider left something behind");
    Ok(())
}
