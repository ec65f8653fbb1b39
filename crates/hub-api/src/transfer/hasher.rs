//! The one consumer of a download: it learns from the fetchers' [`Written`] events which bytes
//! are on disk, hashes the file in order exactly once (from the bytes the fetchers hand over
//! while they are near its position, else read back from the file), publishes where it is
//! through a `watch` ([`Pace`]) so fetchers do not outrun it, and records what is on disk so a
//! later process can resume. It runs on a blocking thread and owns all of this state: nothing
//! is shared but the channel and the watch.
//!
//! ```text
//! fetchers ──Written{offset, len, data?}──► bounded channel ──► hasher
//!    ▲                                                           │ on_disk: Extents
//!    └──────────── watch: Pace { hashed, waiting } ◄─────────────┘ hashed: u64
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hub_cache::{BlobWriter, Verification};
use tokio::sync::{mpsc, watch};

use super::plan::Extents;
use crate::Error;
use crate::hash::{BlobHasher, HashKind};

/// Bytes a fetcher wrote to the file at `offset`; `data` is the same bytes when the hasher will
/// need them soon (within [`WINDOW`] of its position), so it need not read them back.
#[derive(Debug)]
pub(crate) struct Written {
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) data: Option<Vec<Bytes>>,
}

/// Where the hasher is: every byte before `hashed` is hashed; `waiting` when nobody should wait
/// for it: it has nothing to hash (the network is the slower side), or it is re-reading bytes a
/// killed download left (a backlog that is not the fetchers', which read on meanwhile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pace {
    pub(crate) hashed: u64,
    pub(crate) waiting: bool,
}

/// How far beyond the hasher's position fetchers hand it their bytes, and how far they may
/// read on while it is busy.
pub(crate) const WINDOW: u64 = 16 << 20;
const READ_BUFFER: usize = 1 << 20;
/// How long the hasher waits for bytes before it lets fetchers read on beyond its window.
const STARVED_AFTER: Duration = Duration::from_millis(5);
/// How often what is on disk is recorded for a later process.
const RECORD_EVERY: Duration = Duration::from_millis(500);

/// What the hasher needs.
pub(crate) struct HashJob {
    pub(crate) writer: Arc<BlobWriter>,
    pub(crate) kind: Option<HashKind>,
    pub(crate) on_disk: Extents,
    pub(crate) events: mpsc::Receiver<Written>,
    pub(crate) pace: watch::Sender<Pace>,
    pub(crate) runtime: tokio::runtime::Handle,
}

/// What the hasher found once every fetcher stopped.
#[derive(Debug)]
pub(crate) struct Hashed {
    /// The digest, when the whole file was hashed (or `SizeOnly` without verification).
    pub(crate) verification: Option<Verification>,
    /// The bytes on disk.
    pub(crate) on_disk: Extents,
}

/// Runs until every fetcher has dropped its sender, then finishes hashing what is on disk.
/// Records what is on disk as it goes and once more at the end when the file is incomplete.
pub(crate) fn run(job: HashJob) -> Result<Hashed, Error> {
    let HashJob { writer, kind, mut on_disk, mut events, pace, runtime } = job;
    let size = writer.size();
    let mut state = State {
        hasher: kind.map(|k| BlobHasher::new(k, size)),
        hashed: 0,
        pending: BTreeMap::new(),
        buffer: if kind.is_some() { vec![0; READ_BUFFER] } else { Vec::new() },
        adopted: on_disk.clone(),
    };
    let mut recorded = on_disk.total();
    let mut last_record = Instant::now();
    let mut open = true;
    loop {
        state.hash_available(&writer, &on_disk, &pace)?;
        let total = on_disk.total();
        if total != recorded && total < size && (!open || last_record.elapsed() >= RECORD_EVERY) {
            writer.record_ranges(on_disk.as_slice())?;
            recorded = total;
            last_record = Instant::now();
        }
        if !open {
            break;
        }
        let event = match events.try_recv() {
            Ok(event) => Some(event),
            Err(mpsc::error::TryRecvError::Disconnected) => None,
            Err(mpsc::error::TryRecvError::Empty) => {
                // On a link faster than hashing the next bytes are a moment away: fetchers stay
                // held back. Only a longer wait shows the network is the slower side.
                let mut wait =
                    |d| runtime.block_on(async { tokio::time::timeout(d, events.recv()).await });
                match wait(STARVED_AFTER) {
                    Ok(event) => event,
                    Err(_) => {
                        pace.send_if_modified(|p| !std::mem::replace(&mut p.waiting, true));
                        match wait(RECORD_EVERY) {
                            Ok(event) => event,
                            // Nothing for a while: record what arrived last, then wait again.
                            Err(_) => continue,
                        }
                    }
                }
            }
        };
        match event {
            None => open = false,
            Some(written) => state.absorb(written, &mut on_disk),
        }
    }
    let verification = match state.hasher {
        None if on_disk.run_end(0) == Some(size) || size == 0 => Some(Verification::SizeOnly),
        Some(hasher) if state.hashed == size => Some(hasher.finish()),
        _ => None,
    };
    Ok(Hashed { verification, on_disk })
}

struct State {
    hasher: Option<BlobHasher>,
    hashed: u64,
    /// Bytes handed over by fetchers, by file offset, not hashed yet.
    pending: BTreeMap<u64, Bytes>,
    buffer: Vec<u8>,
    /// What was on disk before the download started.
    adopted: Extents,
}

impl State {
    fn absorb(&mut self, written: Written, on_disk: &mut Extents) {
        on_disk.insert(written.offset, written.offset + written.len);
        let (Some(data), Some(_)) = (written.data, &self.hasher) else { return };
        let mut at = written.offset;
        for bytes in data {
            let end = at + bytes.len() as u64;
            if end > self.hashed && !bytes.is_empty() {
                self.pending.insert(at, bytes);
            }
            at = end;
        }
    }

    /// Hashes every byte that is on disk from the current position on, in order: from memory
    /// where a fetcher handed it over, else read back from the file.
    fn hash_available(
        &mut self,
        writer: &BlobWriter,
        on_disk: &Extents,
        pace: &watch::Sender<Pace>,
    ) -> Result<(), Error> {
        let Some(hasher) = self.hasher.as_mut() else { return Ok(()) };
        loop {
            while let Some(entry) = self.pending.first_entry() {
                if *entry.key() + entry.get().len() as u64 > self.hashed {
                    break;
                }
                entry.remove();
            }
            let first = self.pending.first_key_value().map(|(&k, _)| k);
            if let Some(start) = first.filter(|&k| k <= self.hashed) {
                let Some(bytes) = self.pending.remove(&start) else { break };
                let skip = usize::try_from(self.hashed - start).unwrap_or(usize::MAX);
                hasher.update(bytes.get(skip..).unwrap_or_default());
                self.hashed = start + bytes.len() as u64;
            } else if let Some(run_end) = on_disk.run_end(self.hashed) {
                let until = first.map_or(run_end, |k| k.min(run_end));
                let want = usize::try_from(until - self.hashed)
                    .unwrap_or(usize::MAX)
                    .min(self.buffer.len());
                let n = writer.read_at(self.hashed, &mut self.buffer[..want])?;
                if n == 0 {
                    return Err(Error::Cache(hub_cache::Error::Io {
                        path: writer.temp_path().to_path_buf(),
                        cause: std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "the partial download is shorter than what was written to it",
                        ),
                    }));
                }
                hasher.update(&self.buffer[..n]);
                self.hashed += n as u64;
            } else {
                return Ok(());
            }
            let (hashed, waiting) = (self.hashed, self.adopted.run_end(self.hashed).is_some());
            pace.send_replace(Pace { hashed, waiting });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// A small deterministic generator (xorshift), so a failing case can be replayed.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n.max(1)
        }
    }

    /// Runs the hasher over a file of which `adopted` is on disk already and the rest arrives
    /// in `pieces` (offset, len, handed over?) in the order given; returns the digest and what
    /// the hasher says is on disk.
    fn hash(content: &[u8], adopted: &[(u64, u64)], pieces: Vec<(u64, u64, bool)>) -> Hashed {
        let dir = tempfile::tempdir().unwrap();
        let repo =
            hub_cache::CacheDir::new(dir.path().to_path_buf()).repo(&"org/model".parse().unwrap());
        let hex: String = Sha256::digest(content).iter().map(|b| format!("{b:02x}")).collect();
        let etag = hub_cache::Etag::new(&hex).unwrap();
        let hub_cache::BlobStart::Write(writer) =
            repo.begin_blob(&etag, content.len() as u64).unwrap()
        else {
            panic!("no writer");
        };
        let writer = Arc::new(writer);
        for &(a, b) in adopted {
            writer.write_at(a, &content[a as usize..b as usize]).unwrap();
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (events, received) = mpsc::channel(4);
        let (pace, _paced) = watch::channel(Pace { hashed: 0, waiting: false });
        let job = HashJob {
            writer: Arc::clone(&writer),
            kind: Some(HashKind::Sha256),
            on_disk: Extents::new(adopted, content.len() as u64),
            events: received,
            pace,
            runtime: runtime.handle().clone(),
        };
        let hasher = std::thread::spawn(move || run(job));
        for (offset, len, hand_over) in pieces {
            let bytes = &content[offset as usize..(offset + len) as usize];
            writer.write_at(offset, bytes).unwrap();
            // Handed over as several frames, as a body arrives.
            let data =
                hand_over.then(|| bytes.chunks(7).map(Bytes::copy_from_slice).collect::<Vec<_>>());
            runtime.block_on(events.send(Written { offset, len, data })).unwrap();
        }
        drop(events);
        hasher.join().unwrap().unwrap()
    }

    #[test]
    fn any_mix_of_adopted_ranges_and_arrivals_in_any_order_hashes_the_file_once() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..200 {
            let size = 1 + rng.below(300);
            let content: Vec<u8> = (0..size).map(|_| rng.below(256) as u8).collect();
            let adopted: Vec<(u64, u64)> = (0..rng.below(4))
                .map(|_| {
                    let a = rng.below(size);
                    (a, a + 1 + rng.below(size - a))
                })
                .collect();
            let plan = super::super::plan::Plan::new(size, &adopted, 1 + rng.below(64));
            // Each span arrives in a few pieces; pieces of all spans are interleaved at random.
            let mut pieces = Vec::new();
            for &(a, b) in &plan.spans {
                let mut at = a;
                while at < b {
                    let len = 1 + rng.below(b - at);
                    pieces.push((at, len, rng.below(2) == 0));
                    at += len;
                }
            }
            for i in (1..pieces.len()).rev() {
                pieces.swap(i, rng.below(i as u64 + 1) as usize);
            }
            let hashed = hash(&content, adopted.as_slice(), pieces);
            let expected = Verification::Sha256(Sha256::digest(&content).into());
            assert_eq!(hashed.verification, Some(expected), "round {round}: {adopted:?}");
            assert_eq!(hashed.on_disk.as_slice(), &[(0, size)], "round {round}");
        }
    }

    #[test]
    fn a_file_left_incomplete_gives_no_digest_and_says_what_is_on_disk() {
        let content = vec![7u8; 100];
        let hashed = hash(&content, &[(0, 10)], vec![(50, 20, true), (10, 5, false)]);
        assert_eq!(hashed.verification, None);
        assert_eq!(hashed.on_disk.as_slice(), &[(0, 15), (50, 70)]);
    }
}
