//! Leases: which writer fetches a file, across nodes that share one cache on a file system
//! where `flock` does nothing (NFS without a lock manager, Lustre with `localflock`, FUSE).
//!
//! A lease is a file beside the lock, `.locks/<repo folder>/<etag>.lease`, created with
//! `O_CREAT|O_EXCL` (atomic on NFSv3+, Lustre, GPFS, CephFS and local file systems). It names
//! its holder (host, pid, start time, and the unique name of its partial file, so that a
//! follower can read the holder's progress record) and is renewed by a heartbeat: a thread
//! that touches its mtime. A follower judges a lease stale when it has not changed for
//! [`LeaseConfig::stale_after`] of the follower's own clock (so clocks of different nodes
//! never need to agree), or at once when its holder is a process of this host that is gone.
//! A stale lease is broken and taken over; the partial file is then adopted by the writer's
//! rename-first rule.
//!
//! A lease never decides correctness: two writers that both believe they hold it still write
//! two private temp files, and a blob still appears only by the rename of a verified file.
//! Leases only keep N nodes from fetching the same bytes N times.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crate::Error;
use crate::fsutil::{create_dir_all, io_err, unique_suffix};
use crate::perms::{LOCK_MODE, set_file_mode};

/// How often a lease is renewed, and how long an unchanged lease is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeaseConfig {
    /// How often the holder touches its lease.
    pub heartbeat: Duration,
    /// How long a follower waits on a lease that does not change before it takes over.
    pub stale_after: Duration,
}

impl Default for LeaseConfig {
    /// A heartbeat every 2 s; a lease unchanged for 10 s (five heartbeats) is stale.
    fn default() -> LeaseConfig {
        LeaseConfig::with_stale_after(Duration::from_secs(10))
    }
}

impl LeaseConfig {
    /// A lease stale after `stale_after`, renewed five times as often.
    pub fn with_stale_after(stale_after: Duration) -> LeaseConfig {
        let heartbeat = (stale_after / 5).max(Duration::from_millis(20));
        LeaseConfig { heartbeat, stale_after }
    }
}

/// Who holds a lease, as its file says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeaseHolder {
    /// The holder's host name.
    pub host: String,
    /// The holder's process id, on its host.
    pub pid: u32,
    /// When the holder took the lease, in seconds since the Unix epoch.
    pub started: u64,
    /// The unique part of the holder's partial file names (`<stem>.<unique>.incomplete`).
    pub unique: String,
}

impl std::fmt::Display for LeaseHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (pid {})", self.host, self.pid)
    }
}

impl LeaseHolder {
    fn ours(unique: &str) -> LeaseHolder {
        let started = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        LeaseHolder {
            host: crate::fsutil::host_name(),
            pid: std::process::id(),
            started,
            unique: unique.to_owned(),
        }
    }

    fn to_text(&self) -> String {
        format!(
            "host={}\npid={}\nstarted={}\nwriter={}\n",
            self.host, self.pid, self.started, self.unique
        )
    }

    /// Parses a lease file; `None` for one that is empty (being written) or not ours.
    pub(crate) fn parse(text: &str) -> Option<LeaseHolder> {
        let (mut host, mut pid, mut started, mut unique) = (None, None, None, None);
        for line in text.lines() {
            let (key, value) = line.split_once('=')?;
            match key {
                "host" => host = Some(value.chars().filter(|c| !c.is_control()).collect()),
                "pid" => pid = value.parse().ok(),
                "started" => started = value.parse().ok(),
                "writer" => unique = Some(value.to_owned()),
                _ => {}
            }
        }
        let unique: String = unique?;
        // The unique part becomes a file name: it must be one of ours.
        if unique.is_empty() || !unique.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return None;
        }
        Some(LeaseHolder { host: host?, pid: pid?, started: started?, unique })
    }

    /// Whether the holder is a process of this host that no longer runs.
    pub(crate) fn is_gone(&self) -> bool {
        crate::blob::writer_is_dead(&self.unique)
    }
}

/// A lease held by this process: renewed by a heartbeat thread, removed when dropped.
#[derive(Debug)]
pub(crate) struct Lease {
    path: PathBuf,
    unique: String,
    stop: Option<mpsc::Sender<()>>,
    beat: Option<JoinHandle<()>>,
}

impl Lease {
    /// Creates the lease file at `path` if there is none (`O_CREAT|O_EXCL`); `None` when
    /// another writer holds it.
    pub(crate) fn try_create(
        path: &Path,
        unique: &str,
        config: &LeaseConfig,
    ) -> Result<Option<Lease>, Error> {
        if let Some(dir) = path.parent() {
            create_dir_all(dir)?;
        }
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, LOCK_MODE);
        let mut file = match options.open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
            Err(e) => return Err(io_err(path)(e)),
        };
        // 0664 past the umask, as the lock beside it: every user of a shared cache may renew
        // or break it.
        if let Some(dir) = path.parent() {
            set_file_mode(&file, path, dir, Some(LOCK_MODE));
        }
        let holder = LeaseHolder::ours(unique);
        if let Err(e) = file.write_all(holder.to_text().as_bytes()) {
            let _ = std::fs::remove_file(path);
            return Err(io_err(path)(e));
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let heartbeat = config.heartbeat;
        let beat_path = path.to_path_buf();
        let beat = std::thread::Builder::new()
            .name("hub-cache lease".to_owned())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(heartbeat) {
                    if let Err(e) = file.set_modified(SystemTime::now()) {
                        tracing::debug!("cannot renew the lease {}: {e}", beat_path.display());
                    }
                }
            })
            .map_err(io_err(path))?;
        Ok(Some(Lease {
            path: path.to_path_buf(),
            unique: unique.to_owned(),
            stop: Some(stop),
            beat: Some(beat),
        }))
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(beat) = self.beat.take() {
            let _ = beat.join();
        }
        // Only our own lease: after a takeover the file is another writer's.
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        if LeaseHolder::parse(&text).is_some_and(|h| h.unique == self.unique) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// What a follower sees of a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LeaseState {
    /// There is no lease.
    Free,
    /// A holder renews it (or it is too young to judge); `None` while its file is being written.
    Live(Option<LeaseHolder>),
    /// Nobody renewed it for too long, or its holder is gone: it may be broken.
    Stale(Option<LeaseHolder>),
}

/// A follower's memory of a lease: what it last saw, and since when it has not changed.
#[derive(Debug, Default)]
pub(crate) struct LeaseWatch {
    seen: Option<Seen>,
    since: Option<Instant>,
}

/// What a follower saw of a lease: its mtime, its content, and the holder's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    modified: Option<SystemTime>,
    content: Vec<u8>,
    progress: Option<u64>,
}

impl LeaseWatch {
    /// Looks at the lease at `path`; `progress` reads how far its holder is (by the unique
    /// part of its names). A holder whose progress moves is alive even when the heartbeat is
    /// late to show (attribute caches of network and FUSE file systems, a busy machine).
    pub(crate) fn observe(
        &mut self,
        path: &Path,
        config: &LeaseConfig,
        progress: impl Fn(&str) -> Option<u64>,
    ) -> LeaseState {
        // Opened first, then its attributes read through the open file: NFS revalidates them
        // at open (close-to-open consistency), so the heartbeat shows as soon as it can.
        let read = std::fs::File::open(path).and_then(|mut file| {
            let modified = file.metadata()?.modified().ok();
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut content)?;
            Ok((modified, content))
        });
        let Ok((modified, content)) = read else {
            *self = LeaseWatch::default();
            return LeaseState::Free;
        };
        let holder = LeaseHolder::parse(&String::from_utf8_lossy(&content));
        let progress = holder.as_ref().and_then(|h| progress(&h.unique));
        let now = Instant::now();
        let current = Seen { modified, content, progress };
        if self.seen.as_ref() != Some(&current) {
            self.seen = Some(current);
            self.since = Some(now);
        }
        let unchanged = self.since.map_or(Duration::ZERO, |since| now - since);
        if holder.as_ref().is_some_and(LeaseHolder::is_gone) || unchanged >= config.stale_after {
            LeaseState::Stale(holder)
        } else {
            LeaseState::Live(holder)
        }
    }

    /// Breaks the stale lease at `path`, if it is still the one last observed; returns whether
    /// the way is free. A lease renewed or replaced meanwhile is left (or put back) in place.
    pub(crate) fn break_stale(&mut self, path: &Path) -> bool {
        let Some(Seen { content: judged, .. }) = self.seen.take() else { return false };
        *self = LeaseWatch::default();
        if std::fs::read(path).ok().as_ref() != Some(&judged) {
            return false;
        }
        let mut aside = path.as_os_str().to_owned();
        aside.push(format!(".stale.{}", unique_suffix()));
        let aside = PathBuf::from(aside);
        if std::fs::rename(path, &aside).is_err() {
            return false;
        }
        let moved = std::fs::read(&aside).unwrap_or_default();
        let broke = moved == judged;
        if !broke {
            // A new holder's lease was moved between the read and the rename: put it back
            // unless yet another one is there already.
            let _ = std::fs::hard_link(&aside, path);
        }
        let _ = std::fs::remove_file(&aside);
        broke
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(stale_ms: u64) -> LeaseConfig {
        LeaseConfig::with_stale_after(Duration::from_millis(stale_ms))
    }

    #[test]
    fn one_writer_gets_the_lease_and_its_drop_frees_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lease");
        let first = Lease::try_create(&path, "1-0-0-abc", &config(1000)).unwrap();
        assert!(first.is_some());
        assert!(Lease::try_create(&path, "2-0-0-abc", &config(1000)).unwrap().is_none());
        let text = std::fs::read_to_string(&path).unwrap();
        let holder = LeaseHolder::parse(&text).unwrap();
        assert_eq!((holder.pid, holder.unique.as_str()), (std::process::id(), "1-0-0-abc"));
        drop(first);
        assert!(!path.exists());
        assert!(Lease::try_create(&path, "2-0-0-abc", &config(1000)).unwrap().is_some());
    }

    #[test]
    fn a_renewed_lease_stays_live_and_an_abandoned_one_goes_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lease");
        let cfg = config(300);
        let lease = Lease::try_create(&path, &format!("{}-0-0-x", std::process::id()), &cfg);
        let lease = lease.unwrap().unwrap();
        let mut watch = LeaseWatch::default();
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(900) {
            assert!(matches!(watch.observe(&path, &cfg, |_| None), LeaseState::Live(Some(_))));
            std::thread::sleep(Duration::from_millis(30));
        }
        // The holder stops renewing without removing its file, as a frozen node would.
        let mut lease = lease;
        drop(lease.stop.take());
        lease.beat.take().map(|beat| beat.join());
        std::mem::forget(lease);
        let stopped = Instant::now();
        loop {
            if let LeaseState::Stale(Some(_)) = watch.observe(&path, &cfg, |_| None) {
                break;
            }
            assert!(stopped.elapsed() < Duration::from_secs(5), "the lease never went stale");
            std::thread::sleep(Duration::from_millis(30));
        }
        assert!(stopped.elapsed() >= Duration::from_millis(250));
        assert!(watch.break_stale(&path));
        assert!(!path.exists());
    }

    #[test]
    fn a_lease_replaced_after_it_was_judged_is_not_broken() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lease");
        std::fs::write(&path, "host=a\npid=1\nstarted=1\nwriter=1-0-0-dead\n").unwrap();
        let cfg = config(1);
        let mut watch = LeaseWatch::default();
        std::thread::sleep(Duration::from_millis(5));
        watch.observe(&path, &cfg, |_| None);
        std::thread::sleep(Duration::from_millis(5));
        assert!(matches!(watch.observe(&path, &cfg, |_| None), LeaseState::Stale(_)));
        // Another follower broke it and took a new one first.
        std::fs::write(&path, "host=b\npid=2\nstarted=2\nwriter=2-0-0-live\n").unwrap();
        assert!(!watch.break_stale(&path));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(LeaseHolder::parse(&text).unwrap().host, "b");
    }

    #[test]
    fn lease_files_that_are_not_ours_name_no_file() {
        for text in ["", "host=a\npid=1\nstarted=1\nwriter=../../x\n", "garbage", "writer=1-2\n"] {
            assert_eq!(LeaseHolder::parse(text), None, "{text:?}");
        }
    }
}
