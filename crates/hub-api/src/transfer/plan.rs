//! The pure part of a download: which bytes are on disk, which to fetch, in which pieces. No I/O,
//! no clocks, no tasks: every case (a resumed gap overlapping finished ranges, a record longer
//! than the file, ranges out of order) is decided here and tested exhaustively below.

/// Byte ranges `[start, end)`: sorted, disjoint, none empty, none touching the next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Extents(Vec<(u64, u64)>);

impl Extents {
    /// The union of `ranges`, each clipped to `[0, limit)`.
    pub(crate) fn new(ranges: &[(u64, u64)], limit: u64) -> Extents {
        let mut extents = Extents::default();
        for &(a, b) in ranges {
            extents.insert(a, b.min(limit));
        }
        extents
    }

    /// Adds `[start, end)`, merging it with the ranges it overlaps or touches.
    pub(crate) fn insert(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        // The first range that ends at or after `start` (it may merge), and the first that
        // starts after `end` (it may not).
        let first = self.0.partition_point(|&(_, b)| b < start);
        let last = self.0.partition_point(|&(a, _)| a <= end);
        if first == last {
            self.0.insert(first, (start, end));
            return;
        }
        let merged = (self.0[first].0.min(start), self.0[last - 1].1.max(end));
        self.0.splice(first..last, [merged]);
    }

    /// Where the run of bytes on disk that holds `offset` ends, if `offset` is on disk.
    pub(crate) fn run_end(&self, offset: u64) -> Option<u64> {
        let i = self.0.partition_point(|&(_, b)| b <= offset);
        self.0.get(i).filter(|&&(a, _)| a <= offset).map(|&(_, b)| b)
    }

    /// How many bytes the ranges hold.
    pub(crate) fn total(&self) -> u64 {
        self.0.iter().map(|(a, b)| b - a).sum()
    }

    /// The ranges.
    pub(crate) fn as_slice(&self) -> &[(u64, u64)] {
        &self.0
    }

    /// The ranges of `[0, size)` not in these, in order.
    pub(crate) fn gaps(&self, size: u64) -> Vec<(u64, u64)> {
        let mut gaps = Vec::new();
        let mut at = 0;
        for &(a, b) in &self.0 {
            if a >= size {
                break;
            }
            if a > at {
                gaps.push((at, a));
            }
            at = at.max(b);
        }
        if at < size {
            gaps.push((at, size));
        }
        gaps
    }
}

/// What a download of a `size`-byte file does: the bytes already on disk (adopted from a
/// partial download), and the spans to fetch, in file order, none longer than a chunk. Every
/// byte of the file is in exactly one of the two.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) size: u64,
    pub(crate) on_disk: Extents,
    pub(crate) spans: Vec<(u64, u64)>,
}

impl Plan {
    /// The plan for a file of `size` bytes of which `on_disk` (as a progress record says, in any
    /// order, possibly overlapping or past the end) is already written, fetched in ranges of at
    /// most `chunk` bytes.
    pub(crate) fn new(size: u64, on_disk: &[(u64, u64)], chunk: u64) -> Plan {
        let on_disk = Extents::new(on_disk, size);
        let chunk = chunk.max(1);
        let mut spans = Vec::new();
        for (mut a, b) in on_disk.gaps(size) {
            while a < b {
                let end = a.saturating_add(chunk).min(b);
                spans.push((a, end));
                a = end;
            }
        }
        Plan { size, on_disk, spans }
    }

    /// The plan when nothing on disk can be used: the whole file from byte 0 in one stream (a
    /// server that ignores `Range`).
    pub(crate) fn whole(size: u64) -> Plan {
        Plan {
            size,
            on_disk: Extents::default(),
            spans: if size > 0 { vec![(0, size)] } else { Vec::new() },
        }
    }

    /// How many bytes are on disk already.
    pub(crate) fn done(&self) -> u64 {
        self.on_disk.total()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte of `[0, size)` is either on disk or in exactly one span, spans are in order,
    /// within the file, no longer than `chunk`, and no byte on disk is fetched again.
    fn check(plan: &Plan, chunk: u64) {
        let size = plan.size;
        let mut covered = vec![0u8; usize::try_from(size).unwrap()];
        for &(a, b) in plan.on_disk.as_slice() {
            assert!(a < b && b <= size, "on-disk range {a}-{b} of {size}");
            for byte in &mut covered[a as usize..b as usize] {
                *byte += 1;
            }
        }
        let mut last = 0;
        for &(a, b) in &plan.spans {
            assert!(a < b && b <= size && b - a <= chunk.max(1), "span {a}-{b}");
            assert!(a >= last, "spans out of order");
            last = b;
            for byte in &mut covered[a as usize..b as usize] {
                *byte += 1;
            }
        }
        assert!(covered.iter().all(|&c| c == 1), "{plan:?} covers some byte 0 or 2 times");
    }

    #[test]
    fn every_record_of_a_small_file_gives_an_exact_plan() {
        // Every pair of ranges with ends in 0..=12 (past the 10-byte file included), in both
        // orders, with chunks of every size: 13^4 × 2 × 5 plans.
        let size = 10;
        let mut plans = 0;
        for a in 0..=12u64 {
            for b in 0..=12u64 {
                for c in 0..=12u64 {
                    for d in 0..=12u64 {
                        for chunk in [1, 3, 4, 10, 64] {
                            let records = [(a, b), (c, d)];
                            check(&Plan::new(size, &records, chunk), chunk);
                            let swapped = [(c, d), (a, b)];
                            assert_eq!(
                                Plan::new(size, &swapped, chunk),
                                Plan::new(size, &records, chunk)
                            );
                            plans += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(plans, 13 * 13 * 13 * 13 * 5);
    }

    #[test]
    fn the_issue_record_fetches_only_its_gap() {
        // The record a killed download left: `0-4194304,16777216-67108864` of a 64 MiB file.
        let mib = 1 << 20;
        let plan = Plan::new(64 * mib, &[(0, 4 * mib), (16 * mib, 64 * mib)], 16 * mib);
        assert_eq!(plan.spans, vec![(4 * mib, 16 * mib)]);
        assert_eq!(plan.done(), 52 * mib);
        check(&plan, 16 * mib);
    }

    #[test]
    fn extents_merge_what_overlaps_or_touches() {
        let mut e = Extents::default();
        for (a, b) in [(10, 20), (30, 40), (20, 25), (50, 60), (5, 12), (39, 51), (70, 70)] {
            e.insert(a, b);
        }
        assert_eq!(e.as_slice(), &[(5, 25), (30, 60)]);
        assert_eq!(e.run_end(5), Some(25));
        assert_eq!(e.run_end(24), Some(25));
        assert_eq!(e.run_end(25), None);
        assert_eq!(e.run_end(59), Some(60));
        assert_eq!(e.run_end(0), None);
        assert_eq!(e.total(), 50);
        assert_eq!(e.gaps(70), vec![(0, 5), (25, 30), (60, 70)]);
        assert_eq!(e.gaps(28), vec![(0, 5), (25, 28)]);
    }

    #[test]
    fn inserting_in_any_order_gives_the_same_extents() {
        // Every range with ends in 0..=8, inserted one by one into a set built from two others,
        // against a byte map.
        for a in 0..=8u64 {
            for b in 0..=8u64 {
                for c in 0..=8u64 {
                    for d in 0..=8u64 {
                        let mut e = Extents::new(&[(a, b)], 8);
                        e.insert(c, d.min(8));
                        let mut map = [false; 8];
                        for (x, y) in [(a, b.min(8)), (c, d.min(8))] {
                            for m in map.iter_mut().take(y as usize).skip(x as usize) {
                                *m = true;
                            }
                        }
                        for (i, &m) in map.iter().enumerate() {
                            assert_eq!(e.run_end(i as u64).is_some(), m, "{a}-{b} {c}-{d} @{i}");
                        }
                        let s = e.as_slice();
                        assert!(s.windows(2).all(|w| w[0].1 < w[1].0), "{s:?} not disjoint");
                    }
                }
            }
        }
    }

    #[test]
    fn an_empty_file_or_one_entirely_on_disk_fetches_nothing() {
        assert!(Plan::new(0, &[], 16).spans.is_empty());
        assert!(Plan::new(100, &[(0, 100)], 16).spans.is_empty());
        assert!(Plan::whole(0).spans.is_empty());
        assert_eq!(Plan::whole(7).spans, vec![(0, 7)]);
    }
}
