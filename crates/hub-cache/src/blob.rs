//! The atomic blob writer that a download streams into.
//!
//! ```text
//! claim_blob(etag, size).poll() ── .locks/<repo>/<etag>.lock (flock: this node)
//!   │                                 .locks/<repo>/<etag>.lease (O_EXCL + heartbeat: every node)
//!   ├─ blobs/<etag> exists ─────────────► Claim::Exists (another process finished it)
//!   ├─ another writer holds either ─────► Claim::Busy(Waiting) (who, how far): poll again;
//!   │                                     a stale lease is broken and taken over
//!   └─ otherwise ───────────────────────► Claim::Write(BlobWriter)
//!        temp file blobs/<etag>.<unique>.incomplete, unique to this writer;
//!        an orphaned partial file is adopted only by renaming it to our own unique name first
//! write_at(offset, bytes) ── positional: several ranges can land at once
//! record_progress(n) ──────── the first n bytes are on disk: a later process may resume there
//! commit(verification) ────── size == expected, sha256 == etag for LFS blobs, then rename
//! ```
//!
//! Two processes never write into the same temp file, even where file locks silently do nothing
//! (NFS, Lustre): a writer only ever opens a name it made unique, and an adopter renames the
//! orphan before touching it. A writer whose file was adopted notices at its next
//! [`BlobWriter::record_progress`] and stops. A corrupt download never becomes a blob.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::Error;
use crate::fsutil::{create_dir_all, io_err, unique_suffix, write_atomic};
use crate::ids::Etag;
use crate::layout::RepoCache;
use crate::lease::{Lease, LeaseConfig, LeaseHolder, LeaseState, LeaseWatch};
use crate::lock::BlobLock;

/// What [`RepoCache::begin_blob`] found.
#[derive(Debug)]
pub enum BlobStart {
    /// The blob is already in the cache.
    Exists(PathBuf),
    /// The blob must be written; this writer holds its lock.
    Write(BlobWriter),
}

/// How the content was checked before it may become a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The sha256 of the whole content, computed while it arrived: checked against a 64-hex
    /// etag (an LFS file).
    Sha256([u8; 32]),
    /// The git blob id (`sha1("blob <size>\0" + content)`), computed while the content arrived:
    /// checked against a 40-hex etag (a regular file).
    GitSha1([u8; 20]),
    /// Only the size is checked (verification turned off).
    SizeOnly,
}

/// Writes one file of content: a process-unique temp file, committed by an atomic rename onto
/// its destination (a blob, a `local_dir` file or a legacy flat cache entry).
#[derive(Debug)]
pub struct BlobWriter {
    expected: Option<Etag>,
    size: u64,
    file: File,
    temp_path: PathBuf,
    progress_path: PathBuf,
    destination: PathBuf,
    resumed: Vec<(u64, u64)>,
    identity: Option<FileIdentity>,
    /// Whether the file's disk space was reserved (at the first write).
    reserved: AtomicBool,
    /// Released (removed) before the lock.
    _lease: Option<Box<Lease>>,
    _lock: BlobLock,
}

const INCOMPLETE: &str = ".incomplete";
const PROGRESS: &str = ".progress";

/// Where a writer works: the folder of its temp files, the name stem they share (an adopter
/// looks for `<stem>.*.incomplete` there), the destination and the lock.
#[derive(Debug)]
pub(crate) struct WriteTarget {
    pub(crate) temp_dir: PathBuf,
    pub(crate) stem: String,
    pub(crate) destination: PathBuf,
    pub(crate) lock_path: PathBuf,
    pub(crate) expected: Option<Etag>,
}

impl WriteTarget {
    /// Waits until this process may write the destination (taking the lock and the lease,
    /// adopting a partial file left by a dead writer), or until another writer made it
    /// (unless `replace`).
    pub(crate) fn begin(self, size: u64, replace: bool) -> Result<BlobStart, Error> {
        BlobClaim::new(self, size, replace).wait()
    }

    /// `.locks/<repo>/<etag>.lease` beside `<etag>.lock`.
    fn lease_path(&self) -> PathBuf {
        self.lock_path.with_extension("lease")
    }

    fn start(
        &self,
        size: u64,
        suffix: &str,
        lock: BlobLock,
        lease: Option<Lease>,
    ) -> Result<BlobWriter, Error> {
        create_dir_all(&self.temp_dir)?;
        let unique = format!("{}.{suffix}", self.stem);
        let temp_path = self.temp_dir.join(format!("{unique}{INCOMPLETE}"));
        let progress_path = self.temp_dir.join(format!("{unique}{PROGRESS}"));
        let resumed = adopt_orphan(&self.temp_dir, &self.stem, size, &temp_path, &progress_path);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(resumed.is_empty())
            .open(&temp_path)
            .map_err(io_err(&temp_path))?;
        crate::perms::set_file_mode(&file, &temp_path, &self.temp_dir, None);
        let identity = FileIdentity::of_file(&file);
        Ok(BlobWriter {
            expected: self.expected.clone(),
            size,
            file,
            temp_path,
            progress_path,
            destination: self.destination.clone(),
            resumed,
            identity,
            reserved: AtomicBool::new(false),
            _lease: lease.map(Box::new),
            _lock: lock,
        })
    }

    /// The bytes a writer has recorded as on disk, by the unique part of its names.
    fn progress_of(&self, unique: &str) -> Option<u64> {
        let path = self.temp_dir.join(format!("{}.{unique}{PROGRESS}", self.stem));
        let ranges = parse_progress(&std::fs::read_to_string(path).ok()?)?;
        Some(ranges.iter().map(|(a, b)| b - a).sum())
    }
}

/// How long a waiting writer sleeps between two looks at the lock, the lease and the
/// destination.
pub const CLAIM_POLL: Duration = Duration::from_millis(250);

/// A claim on a file to write, shared by every process and node using the cache: poll it
/// ([`BlobClaim::poll`]) until it says the file exists or is this process's to write, or call
/// [`BlobClaim::wait`].
///
/// On one node the `flock` decides; across nodes, where `flock` may do nothing, the lease
/// (see [`LeaseConfig`]). A writer whose lease goes stale (its process died, its node froze)
/// is taken over, and its partial file adopted, so a waiter never waits forever.
#[derive(Debug)]
pub struct BlobClaim {
    target: WriteTarget,
    size: u64,
    replace: bool,
    config: LeaseConfig,
    watch: LeaseWatch,
}

/// What [`BlobClaim::poll`] found.
#[derive(Debug)]
pub enum Claim {
    /// The file is in the cache (another writer finished it).
    Exists(PathBuf),
    /// The file is this process's to write: it holds the lock and the lease.
    Write(BlobWriter),
    /// Another writer is at it: poll again later.
    Busy(Waiting),
}

/// Another writer has the file: who, and how far it is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Waiting {
    /// Who holds the lease; `None` for a writer without one (another process of this node
    /// holding the `flock`, such as the Python client).
    pub holder: Option<LeaseHolder>,
    /// The bytes it recorded as on disk, when its progress record can be read.
    pub done: Option<u64>,
    /// The file's size.
    pub size: u64,
}

impl std::fmt::Display for Waiting {
    /// `node-7 (pid 4121): 43%`, or `another process of this node`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.holder {
            Some(holder) => write!(f, "{holder}")?,
            None => write!(f, "another process of this node")?,
        }
        if let Some(done) = self.done.filter(|_| self.size > 0) {
            write!(f, ": {}%", done.min(self.size) * 100 / self.size)?;
        }
        Ok(())
    }
}

impl BlobClaim {
    fn new(target: WriteTarget, size: u64, replace: bool) -> BlobClaim {
        let (config, watch) = (LeaseConfig::default(), LeaseWatch::default());
        BlobClaim { target, size, replace, config, watch }
    }

    /// Uses `config` for the lease (how often it is renewed, when a silent one is stale).
    pub fn lease_config(mut self, config: LeaseConfig) -> BlobClaim {
        self.config = config;
        self
    }

    /// One look, without blocking: the file exists, or is ours to write, or another writer is
    /// at it (then look again after [`CLAIM_POLL`]).
    pub fn poll(&mut self) -> Result<Claim, Error> {
        self.poll_once().map_err(Error::writing_cache)
    }

    fn poll_once(&mut self) -> Result<Claim, Error> {
        let target = &self.target;
        if !self.replace && target.destination.is_file() {
            return Ok(Claim::Exists(target.destination.clone()));
        }
        let lease_path = target.lease_path();
        let Some(lock) = BlobLock::try_acquire(&target.lock_path)? else {
            let text = std::fs::read_to_string(&lease_path).unwrap_or_default();
            return Ok(Claim::Busy(self.waiting(LeaseHolder::parse(&text))));
        };
        if !self.replace && target.destination.is_file() {
            return Ok(Claim::Exists(target.destination.clone()));
        }
        for _ in 0..3 {
            let suffix = unique_suffix();
            if let Some(lease) = Lease::try_create(&lease_path, &suffix, &self.config)? {
                self.watch = LeaseWatch::default();
                return target.start(self.size, &suffix, lock, Some(lease)).map(Claim::Write);
            }
            match self.watch.observe(&lease_path, &self.config, |u| target.progress_of(u)) {
                LeaseState::Free => {}
                LeaseState::Live(holder) => return Ok(Claim::Busy(self.waiting(holder))),
                LeaseState::Stale(holder) => {
                    if self.watch.break_stale(&lease_path) {
                        let who = holder.map_or_else(|| "a writer".to_owned(), |h| h.to_string());
                        tracing::info!(
                            "taking over {} from {who}: its lease went stale",
                            target.destination.display()
                        );
                    }
                }
            }
        }
        Ok(Claim::Busy(self.waiting(None)))
    }

    /// Waits (blocking the thread, looking every [`CLAIM_POLL`]) until the file exists or is
    /// this process's to write.
    pub fn wait(mut self) -> Result<BlobStart, Error> {
        let mut told = false;
        loop {
            match self.poll()? {
                Claim::Exists(path) => return Ok(BlobStart::Exists(path)),
                Claim::Write(writer) => return Ok(BlobStart::Write(writer)),
                Claim::Busy(waiting) => {
                    if !told {
                        tracing::info!(
                            "waiting for {waiting} of {}",
                            self.target.destination.display()
                        );
                        told = true;
                    }
                    std::thread::sleep(CLAIM_POLL);
                }
            }
        }
    }

    fn waiting(&self, holder: Option<LeaseHolder>) -> Waiting {
        let done = holder.as_ref().and_then(|h| self.target.progress_of(&h.unique));
        Waiting { holder, done, size: self.size }
    }
}

impl RepoCache {
    /// Takes the blob's lock (waiting for another writer to finish), then either finds the blob
    /// or returns a writer for it. A partial file left by a dead process is adopted, so the
    /// download resumes at [`BlobWriter::resume_from`].
    ///
    /// This blocks while another process holds the lock: call it from a blocking thread.
    pub fn begin_blob(&self, etag: &Etag, size: u64) -> Result<BlobStart, Error> {
        self.blob_target(etag).begin(size, false).map_err(Error::writing_cache)
    }

    /// As [`RepoCache::begin_blob`], but always returns a writer, whose commit replaces an
    /// existing blob atomically (`force_download`).
    pub fn begin_blob_replacing(&self, etag: &Etag, size: u64) -> Result<BlobWriter, Error> {
        match self.blob_target(etag).begin(size, true).map_err(Error::writing_cache)? {
            BlobStart::Write(writer) => Ok(writer),
            BlobStart::Exists(path) => Err(Error::Io {
                path,
                cause: std::io::Error::other("the blob writer did not start"),
            }),
        }
    }

    /// A claim on the blob, to poll without blocking (see [`BlobClaim`]): what an async
    /// caller uses to wait for another writer while it shows that writer's progress.
    pub fn claim_blob(&self, etag: &Etag, size: u64) -> BlobClaim {
        BlobClaim::new(self.blob_target(etag), size, false)
    }

    /// As [`RepoCache::claim_blob`], for a writer whose commit replaces an existing blob
    /// (`force_download`): it never finds [`Claim::Exists`].
    pub fn claim_blob_replacing(&self, etag: &Etag, size: u64) -> BlobClaim {
        BlobClaim::new(self.blob_target(etag), size, true)
    }

    fn blob_target(&self, etag: &Etag) -> WriteTarget {
        WriteTarget {
            temp_dir: self.blobs_dir(),
            stem: etag.to_string(),
            destination: self.blob_path(etag),
            lock_path: self.lock_path(etag),
            expected: Some(etag.clone()),
        }
    }
}

impl BlobWriter {
    /// The etag the content is checked against, when there is one.
    pub fn expected(&self) -> Option<&Etag> {
        self.expected.as_ref()
    }

    /// Where the content goes once committed.
    pub fn destination(&self) -> &Path {
        &self.destination
    }

    /// The expected size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// How many bytes at the start are already on disk from an adopted partial download.
    /// A verifying caller re-hashes them with [`BlobWriter::read_at`].
    pub fn resume_from(&self) -> u64 {
        self.resumed.first().filter(|r| r.0 == 0).map_or(0, |r| r.1)
    }

    /// The byte ranges `[start, end)` already on disk from an adopted partial download: sorted,
    /// disjoint, not touching. A parallel download only fetches what lies between them.
    pub fn resumed_ranges(&self) -> &[(u64, u64)] {
        &self.resumed
    }

    /// The temp file being written.
    pub fn temp_path(&self) -> &Path {
        &self.temp_path
    }

    /// Writes `buf` at `offset`. Safe to call from several threads at once for disjoint ranges.
    ///
    /// The first write reserves the whole file's disk space, so a full disk shows when the
    /// first bytes arrive ([`Error::NoSpace`]) rather than in the middle of a 100 GB download,
    /// and a writer that never received a byte reserved nothing.
    pub fn write_at(&self, offset: u64, buf: &[u8]) -> Result<(), Error> {
        let end = offset.checked_add(buf.len() as u64);
        if end.is_none_or(|end| end > self.size) {
            return Err(Error::TooLong { path: self.temp_path.clone(), expected: self.size });
        }
        if !self.reserved.swap(true, Ordering::AcqRel) {
            preallocate(&self.file, self.size)
                .map_err(|e| no_space(e, &self.temp_path, self.size))?;
        }
        positional::write_all_at(&self.file, buf, offset)
            .map_err(|e| no_space(e, &self.temp_path, self.size))
    }

    /// Reads into `buf` at `offset` (to re-hash an adopted prefix); returns the bytes read.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, Error> {
        positional::read_at(&self.file, buf, offset).map_err(io_err(&self.temp_path))
    }

    /// Records that the first `valid` bytes are on disk, so a later process can resume there.
    /// Fails with [`Error::Adopted`] when another process took the temp file over.
    pub fn record_progress(&self, valid: u64) -> Result<(), Error> {
        self.record_ranges(&[(0, valid)])
    }

    /// Records that the byte ranges `[start, end)` are on disk, so a later process fetches only
    /// the rest. Fails with [`Error::Adopted`] when another process took the temp file over.
    pub fn record_ranges(&self, ranges: &[(u64, u64)]) -> Result<(), Error> {
        if !self.still_owned() {
            return Err(Error::Adopted { path: self.temp_path.clone() });
        }
        let ranges = normalise(ranges.iter().map(|&(a, b)| (a, b.min(self.size))).collect());
        let text: Vec<String> = ranges.iter().map(|(a, b)| format!("{a}-{b}")).collect();
        write_atomic(&self.progress_path, text.join(",").as_bytes())
    }

    /// Checks the content and moves it to its destination: the size must be the expected one
    /// and a digest computed while the bytes arrived must equal the etag of its kind (sha256
    /// for a 64-hex etag, the git blob id for a 40-hex one). On a mismatch the temp file is
    /// deleted and nothing enters the cache.
    pub fn commit(self, verification: Verification) -> Result<PathBuf, Error> {
        let name = || {
            self.expected
                .as_ref()
                .map_or_else(|| self.destination.display().to_string(), |etag| etag.to_string())
        };
        let actual = self.file.metadata().map_err(io_err(&self.temp_path))?.len();
        if actual != self.size {
            let (etag, expected) = (name(), self.size);
            self.discard();
            return Err(Error::SizeMismatch { etag, expected, actual });
        }
        let digest = match (verification, &self.expected) {
            (Verification::Sha256(d), Some(etag)) if etag.is_sha256() => Some(hex(&d)),
            (Verification::GitSha1(d), Some(etag)) if !etag.is_sha256() => Some(hex(&d)),
            _ => None,
        };
        if let (Some(actual), Some(etag)) = (digest, &self.expected)
            && actual != etag.as_str()
        {
            let etag = etag.to_string();
            self.discard();
            return Err(Error::HashMismatch { etag, actual });
        }
        if !self.still_owned() {
            return Err(Error::Adopted { path: self.temp_path.clone() });
        }
        if let Some(dir) = self.destination.parent() {
            create_dir_all(dir)?;
            // The mode a new file of that folder gets (the Python library's for its blobs).
            crate::perms::set_file_mode(&self.file, &self.temp_path, dir, None);
        }
        std::fs::rename(&self.temp_path, &self.destination).map_err(io_err(&self.destination))?;
        let _ = std::fs::remove_file(&self.progress_path);
        Ok(self.destination.clone())
    }

    /// Deletes the temp file and its progress record (for content known to be wrong). Dropping
    /// a writer without this keeps them, so a later run can resume.
    pub fn discard(self) {
        if self.still_owned() {
            let _ = std::fs::remove_file(&self.temp_path);
            let _ = std::fs::remove_file(&self.progress_path);
        }
    }

    fn still_owned(&self) -> bool {
        match (&self.identity, FileIdentity::of_path(&self.temp_path)) {
            (Some(mine), Some(on_disk)) => *mine == on_disk,
            (None, _) => self.temp_path.exists(),
            (Some(_), None) => false,
        }
    }
}

/// Sorts ranges, drops empty ones and merges those that overlap or touch.
fn normalise(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.retain(|(a, b)| a < b);
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

/// A progress record: `N` (the first N bytes, as first written) or `a-b,c-d,…`. The ranges
/// returned are sorted, non-empty, and neither overlap nor touch.
pub(crate) fn parse_progress(text: &str) -> Option<Vec<(u64, u64)>> {
    let text = text.trim();
    if text.is_empty() {
        return Some(Vec::new()); // what `record_ranges(&[])` writes
    }
    if let Ok(n) = text.parse::<u64>() {
        return Some(normalise(vec![(0, n)]));
    }
    text.split(',')
        .map(|r| {
            let (a, b) = r.trim().split_once('-')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .collect::<Option<Vec<_>>>()
        .map(normalise)
}

/// Reserves `size` bytes of disk for `file` without changing its length, so a full disk is
/// reported when the download starts rather than in its middle, and each later write costs the
/// file system less (its blocks are already allocated). File systems that cannot (NFS, ZFS, …)
/// are left to allocate as the bytes arrive.
#[cfg(target_os = "linux")]
fn preallocate(file: &File, size: u64) -> std::io::Result<()> {
    use rustix::fs::{FallocateFlags, fallocate};
    use rustix::io::Errno;
    match fallocate(file, FallocateFlags::KEEP_SIZE, 0, size) {
        Err(e) if e == Errno::NOSPC || e == Errno::DQUOT || e == Errno::FBIG => Err(e.into()),
        _ => Ok(()),
    }
}

#[cfg(not(target_os = "linux"))]
fn preallocate(_: &File, _: u64) -> std::io::Result<()> {
    Ok(())
}

/// [`Error::NoSpace`] for a full disk (or quota), else [`Error::Io`].
pub(crate) fn no_space(e: std::io::Error, path: &Path, needed: u64) -> Error {
    if matches!(e.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded) {
        Error::NoSpace { path: path.to_path_buf(), needed }
    } else {
        Error::Io { path: path.to_path_buf(), cause: e }
    }
}

/// Looks for `<stem>.*.incomplete` files with a progress record; renames the most advanced one
/// to our own names and returns the ranges of it that are valid (none when none was adopted).
/// The partial files of writers that died on this host and were not adopted (less advanced,
/// no usable record, or a record without its data) are deleted, so they never pile up; those of
/// live writers, or of other hosts sharing the cache, are left alone unless adopted.
fn adopt_orphan(
    dir: &Path,
    stem: &str,
    size: u64,
    temp_path: &Path,
    progress_path: &Path,
) -> Vec<(u64, u64)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let prefix = format!("{stem}.");
    // Every writer's unique name, from its data file or its record.
    let mut uniques: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let rest = name.strip_prefix(&prefix)?;
            let unique = rest.strip_suffix(PROGRESS).or_else(|| rest.strip_suffix(INCOMPLETE))?;
            Some(unique.to_owned())
        })
        .collect();
    uniques.sort_unstable();
    uniques.dedup();
    let paths = |unique: &str| {
        (
            dir.join(format!("{prefix}{unique}{INCOMPLETE}")),
            dir.join(format!("{prefix}{unique}{PROGRESS}")),
        )
    };
    // (bytes on disk, their ranges, the unique name)
    type Candidate<'u> = (u64, Vec<(u64, u64)>, &'u str);
    let mut candidates: Vec<Candidate<'_>> = uniques
        .iter()
        .filter(|unique| writer_of(unique).is_some())
        .filter_map(|unique| {
            let (data, progress) = paths(unique);
            let ranges = parse_progress(&std::fs::read_to_string(&progress).ok()?)?;
            let on_disk = std::fs::metadata(&data).ok()?.len();
            let valid = ranges.iter().all(|&(_, b)| b <= size && b <= on_disk);
            let total: u64 = ranges.iter().map(|(a, b)| b - a).sum();
            (valid && total > 0).then_some((total, ranges, unique.as_str()))
        })
        .collect();
    candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
    let mut adopted = None;
    for (total, ranges, unique) in candidates {
        let (data, progress) = paths(unique);
        // The data file first: whoever renames it owns it; the record follows.
        if std::fs::rename(&data, temp_path).is_ok() {
            if std::fs::rename(&progress, progress_path).is_err() {
                let text: Vec<String> = ranges.iter().map(|(a, b)| format!("{a}-{b}")).collect();
                let _ = write_atomic(progress_path, text.join(",").as_bytes());
            }
            tracing::debug!("resuming {stem}: {total} bytes already on disk");
            adopted = Some((unique, ranges));
            break;
        }
    }
    for unique in &uniques {
        if adopted.as_ref().is_some_and(|(u, _)| *u == unique.as_str()) || !writer_is_dead(unique) {
            continue;
        }
        let (data, progress) = paths(unique);
        tracing::debug!("removing the partial download of a dead writer: {}", data.display());
        let _ = std::fs::remove_file(&data);
        let _ = std::fs::remove_file(&progress);
    }
    adopted.map(|(_, ranges)| ranges).unwrap_or_default()
}

/// Whether the writer that made the unique name `unique` ([`unique_suffix`]) is a process of
/// this host that no longer runs. A name of another host, or not of our shape (the Python
/// library's `<etag>.<8 hex>.incomplete`, whose 8 hex digits may all be digits), is never
/// judged dead.
pub(crate) fn writer_is_dead(unique: &str) -> bool {
    match writer_of(unique) {
        Some((pid, host)) if host == crate::fsutil::host_tag() => process_is_gone(pid),
        _ => false,
    }
}

/// The pid and host tag of a unique name of ours, `{pid}-{nanos:08x}-{n}-{host tag}`; `None`
/// for any other name.
fn writer_of(unique: &str) -> Option<(i32, &str)> {
    let fields: Vec<&str> = unique.split('-').collect();
    let &[pid, nanos, n, host] = fields.as_slice() else { return None };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let hex8 = |s: &str| s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit());
    (digits(pid) && hex8(nanos) && digits(n) && hex8(host)).then_some(())?;
    Some((pid.parse().ok()?, host))
}

#[cfg(unix)]
fn process_is_gone(pid: i32) -> bool {
    if pid == 0 || i64::from(pid) == i64::from(std::process::id()) {
        return false;
    }
    let Some(pid) = rustix::process::Pid::from_raw(pid) else { return false };
    matches!(rustix::process::test_kill_process(pid), Err(e) if e == rustix::io::Errno::SRCH)
}

#[cfg(not(unix))]
fn process_is_gone(_: i32) -> bool {
    false
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file's identity on disk (device and inode), to notice a rename under our feet.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileIdentity(u64, u64);

impl FileIdentity {
    #[cfg(unix)]
    fn of_file(file: &File) -> Option<FileIdentity> {
        use std::os::unix::fs::MetadataExt;
        file.metadata().ok().map(|m| FileIdentity(m.dev(), m.ino()))
    }

    #[cfg(unix)]
    fn of_path(path: &Path) -> Option<FileIdentity> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| FileIdentity(m.dev(), m.ino()))
    }

    #[cfg(not(unix))]
    fn of_file(_: &File) -> Option<FileIdentity> {
        None
    }

    #[cfg(not(unix))]
    fn of_path(_: &Path) -> Option<FileIdentity> {
        None
    }
}

#[cfg(unix)]
mod positional {
    use std::fs::File;
    use std::os::unix::fs::FileExt;

    pub(super) fn write_all_at(file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
        file.write_all_at(buf, offset)
    }

    pub(super) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        file.read_at(buf, offset)
    }
}

#[cfg(windows)]
mod positional {
    use std::fs::File;
    use std::os::windows::fs::FileExt;

    pub(super) fn write_all_at(
        file: &File,
        mut buf: &[u8],
        mut offset: u64,
    ) -> std::io::Result<()> {
        while !buf.is_empty() {
            let n = file.seek_write(buf, offset)?;
            buf = &buf[n..];
            offset += n as u64;
        }
        Ok(())
    }

    pub(super) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        file.seek_read(buf, offset)
    }
}
