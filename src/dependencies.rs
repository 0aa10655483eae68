//! The ordering table of a dma over several queues: which bytes the requests
//! still outstanding read and write, and on which lanes they sit, so that a
//! later request touching the same bytes is made to run after them (see
//! README, "Ordering"). Pure bookkeeping: the caller turns the lanes a new
//! request depends on into waits.
//!
//! Every request and every join gets a ticket, in placement order (the dma's
//! lock serialises placement). Each lane is an in-order list, so work on
//! lane L is done through ticket t once anything on L with a ticket ≥ t was
//! observed complete: `done_through[L]` (the caller's, fed by request waits,
//! destroys of finished requests and barriers) retires entries without any
//! work here.
//!
//! Footprints are bounding ranges per side: exact for a contiguous copy, a
//! superset for a strided one (tiles of one array may look dependent and
//! then run in order, never the other way round). An unknown footprint (a
//! custom operator) is `Access::EVERYTHING`.

/// Lanes as a bit set: a dma has at most `MAX_QUEUES` (32) lists.
pub(crate) type LaneSet = u32;

/// Entries one dma tracks; when they are all live a join folds them into one.
pub(crate) const CAPACITY: usize = 128;

/// Entries per block: a block keeps the union of its entries' spans, so a
/// scan skips every block a request cannot touch (a stream of chunk copies of
/// one array puts its neighbours in a few blocks). 16 rather than 8: with 64
/// requests outstanding on other buffers, a request checks 5 unions instead
/// of 9 (about 100 instructions less), and a block it does touch costs at
/// most 8 entry checks more.
const BLOCK: usize = 16;
const BLOCKS: usize = CAPACITY / BLOCK;

/// Bytes `[start, end)`; empty when `start >= end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub(crate) const EMPTY: Span = Span { start: usize::MAX, end: 0 };
    pub(crate) const EVERYTHING: Span = Span { start: 0, end: usize::MAX };

    /// `len` bytes at `start`, saturating at the end of the address space;
    /// no bytes touch nothing.
    pub fn at(start: usize, len: usize) -> Span {
        if len == 0 {
            return Span::EMPTY;
        }
        Span { start, end: start.saturating_add(len) }
    }

    #[inline]
    pub fn overlaps(self, other: Span) -> bool {
        self.start < other.end && other.start < self.end
    }

    fn union(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// What one request reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Access {
    pub reads: Span,
    pub writes: Span,
}

impl Access {
    pub(crate) const EVERYTHING: Access = Access { reads: Span::EVERYTHING, writes: Span::EVERYTHING };

    /// True if `later` must take effect after `self`: it reads what `self`
    /// writes, writes what `self` reads, or writes what `self` writes.
    #[inline]
    fn orders(&self, later: &Access) -> bool {
        self.writes.overlaps(later.reads) || self.writes.overlaps(later.writes) || self.reads.overlaps(later.writes)
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    access: Access,
    /// The lanes whose progress past `ticket` proves the request done.
    lanes: LaneSet,
    ticket: u64,
}

const NO_ENTRY: Entry = Entry { access: Access { reads: Span::EMPTY, writes: Span::EMPTY }, lanes: 0, ticket: 0 };

/// The outstanding requests of one dma. Touched only under the dma's lock.
pub(crate) struct Dependencies {
    entries: Box<[Entry; CAPACITY]>,
    /// Per block of `BLOCK` entries, a superset of its live entries' spans
    /// (widened when an entry moves in, recomputed when a scan visits it).
    blocks: Box<[Access; BLOCKS]>,
    len: usize,
    /// Unions of every entry's reads and writes: a request outside both
    /// answers without a scan (the common case of independent buffers).
    all_reads: Span,
    all_writes: Span,
    /// Every entry's lanes and the newest ticket: once each of these lanes is
    /// done through it, the whole table is (the common case of a dma whose
    /// requests are waited for one by one), and it empties without a scan.
    all_lanes: LaneSet,
    newest: u64,
}

const NO_ACCESS: Access = Access { reads: Span::EMPTY, writes: Span::EMPTY };

impl Default for Dependencies {
    fn default() -> Self {
        Dependencies {
            entries: Box::new([NO_ENTRY; CAPACITY]),
            blocks: Box::new([NO_ACCESS; BLOCKS]),
            len: 0,
            all_reads: Span::EMPTY,
            all_writes: Span::EMPTY,
            all_lanes: 0,
            newest: 0,
        }
    }
}

impl Access {
    fn widen(&mut self, other: &Access) {
        self.reads = self.reads.union(other.reads);
        self.writes = self.writes.union(other.writes);
    }
}

fn is_done(entry: &Entry, done_through: &impl Fn(usize) -> u64) -> bool {
    lanes_of(entry.lanes).all(|lane| done_through(lane) >= entry.ticket)
}

/// The lanes of a set, lowest first.
pub fn lanes_of(mut set: LaneSet) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let lane = set.checked_ilog2().map(|_| set.trailing_zeros() as usize)?;
        set &= set - 1;
        Some(lane)
    })
}

/// The set of `lanes`.
pub fn set_of(lanes: impl Iterator<Item = usize>) -> LaneSet {
    lanes.fold(0, |set, lane| set | 1 << lane)
}

impl Dependencies {
    /// The lanes holding outstanding requests that `access` must follow.
    /// Entries found done on the way are dropped.
    #[inline]
    pub fn lanes_to_follow(&mut self, access: &Access, done_through: impl Fn(usize) -> u64) -> LaneSet {
        if !self.all_writes.overlaps(access.reads)
            && !self.all_writes.overlaps(access.writes)
            && !self.all_reads.overlaps(access.writes)
        {
            return 0;
        }
        if lanes_of(self.all_lanes).all(|lane| done_through(lane) >= self.newest) {
            self.clear();
            return 0;
        }
        self.scan(access, &done_through)
    }

    fn clear(&mut self) {
        self.blocks[..self.len.div_ceil(BLOCK)].fill(NO_ACCESS);
        self.len = 0;
        self.all_reads = Span::EMPTY;
        self.all_writes = Span::EMPTY;
        self.all_lanes = 0;
    }

    fn scan(&mut self, access: &Access, done_through: &impl Fn(usize) -> u64) -> LaneSet {
        let mut lanes = 0;
        let mut block = 0;
        while block * BLOCK < self.len {
            if self.blocks[block].orders(access) {
                lanes |= self.scan_block(block, access, done_through);
            }
            block += 1;
        }
        if self.len == 0 {
            self.all_reads = Span::EMPTY;
            self.all_writes = Span::EMPTY;
            self.all_lanes = 0;
        }
        lanes
    }

    /// The lanes of `block`'s entries that `access` must follow; done ones
    /// among them leave, and the block's union is made exact again.
    fn scan_block(&mut self, block: usize, access: &Access, done_through: &impl Fn(usize) -> u64) -> LaneSet {
        let mut lanes = 0;
        let mut union = NO_ACCESS;
        let mut index = block * BLOCK;
        while index < self.len.min((block + 1) * BLOCK) {
            let entry = &self.entries[index];
            if entry.access.orders(access) {
                if is_done(entry, done_through) {
                    // The table-wide unions stay as they are: a superset is
                    // still right, and keeps this scan free of a second pass.
                    self.remove(index);
                    continue;
                }
                lanes |= entry.lanes;
            }
            union.widen(&entry.access);
            index += 1;
        }
        self.blocks[block] = union;
        lanes
    }

    /// Every lane holding an outstanding request, after dropping the done ones.
    pub fn live_lanes(&mut self, done_through: impl Fn(usize) -> u64) -> LaneSet {
        self.prune(&done_through);
        self.entries[..self.len].iter().fold(0, |set, entry| set | entry.lanes)
    }

    /// True if no entry is free, even after dropping the done ones: the
    /// caller joins (`collapse`) before recording more.
    pub fn is_full(&mut self, done_through: impl Fn(usize) -> u64) -> bool {
        if self.len < CAPACITY {
            return false;
        }
        self.prune(&done_through);
        self.len == CAPACITY
    }

    /// Records a request placed on `lanes` with `ticket`. The caller makes
    /// room first (`is_full`, then a join); should it not, the newest entry
    /// widens to cover this one too (both spans, both lane sets, the later
    /// ticket): coarser, never weaker.
    pub fn record(&mut self, access: Access, lanes: LaneSet, ticket: u64) {
        if self.len == 0 {
            // An empty table (the common case of requests waited for one by
            // one): its unions are this entry's.
            self.entries[0] = Entry { access, lanes, ticket };
            self.blocks[0] = access;
            self.all_reads = access.reads;
            self.all_writes = access.writes;
            self.all_lanes = lanes;
            self.newest = self.newest.max(ticket);
            self.len = 1;
            return;
        }
        self.all_reads = self.all_reads.union(access.reads);
        self.all_writes = self.all_writes.union(access.writes);
        self.all_lanes |= lanes;
        self.newest = self.newest.max(ticket);
        if self.len == CAPACITY {
            let newest = &mut self.entries[CAPACITY - 1];
            newest.access.widen(&access);
            newest.lanes |= lanes;
            newest.ticket = newest.ticket.max(ticket);
            self.blocks[BLOCKS - 1].widen(&access);
            return;
        }
        self.entries[self.len] = Entry { access, lanes, ticket };
        self.blocks[self.len / BLOCK].widen(&access);
        self.len += 1;
    }

    /// Everything outstanding now comes before ticket `ticket` on `lanes`
    /// (a join made every other lane's work precede it there): one entry
    /// touching everything replaces them all.
    pub fn collapse(&mut self, lanes: LaneSet, ticket: u64) {
        self.entries[0] = Entry { access: Access::EVERYTHING, lanes, ticket };
        self.len = 1;
        self.blocks.fill(NO_ACCESS);
        self.blocks[0] = Access::EVERYTHING;
        self.all_lanes = lanes;
        self.newest = self.newest.max(ticket);
        self.all_reads = Span::EVERYTHING;
        self.all_writes = Span::EVERYTHING;
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    fn prune(&mut self, done_through: &impl Fn(usize) -> u64) {
        let before = self.len;
        let mut index = 0;
        while index < self.len {
            if is_done(&self.entries[index], done_through) {
                self.remove(index);
            } else {
                index += 1;
            }
        }
        if self.len != before {
            self.recompute_unions();
        }
    }

    /// The last entry takes `index`'s place, and a block left without
    /// entries forgets its union. Both callers make the union of `index`'s
    /// block exact again afterwards (`scan_block`, `recompute_unions`).
    fn remove(&mut self, index: usize) {
        self.len -= 1;
        self.entries[index] = self.entries[self.len];
        if self.len.is_multiple_of(BLOCK) {
            self.blocks[self.len / BLOCK] = NO_ACCESS;
        }
    }

    fn recompute_unions(&mut self) {
        let live = &self.entries[..self.len];
        self.all_reads = live.iter().fold(Span::EMPTY, |span, entry| span.union(entry.access.reads));
        self.all_writes = live.iter().fold(Span::EMPTY, |span, entry| span.union(entry.access.writes));
        self.all_lanes = live.iter().fold(0, |set, entry| set | entry.lanes);
        for (block, union) in self.blocks.iter_mut().enumerate() {
            let start = (block * BLOCK).min(self.len);
            let end = ((block + 1) * BLOCK).min(self.len);
            *union = live[start..end].iter().fold(NO_ACCESS, |mut union, entry| {
                union.widen(&entry.access);
                union
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(dst: usize, src: usize, len: usize) -> Access {
        Access { reads: Span::at(src, len), writes: Span::at(dst, len) }
    }

    fn none_done(_: usize) -> u64 {
        0
    }

    #[test]
    fn read_after_write_write_after_read_and_write_after_write_order_and_reads_do_not() {
        let mut table = Dependencies::default();
        table.record(copy(1000, 0, 100), 1 << 2, 1);
        // Reads what it wrote.
        assert_eq!(table.lanes_to_follow(&copy(5000, 1050, 10), none_done), 1 << 2);
        // Writes what it read.
        assert_eq!(table.lanes_to_follow(&copy(99, 3000, 10), none_done), 1 << 2);
        // Writes what it wrote.
        assert_eq!(table.lanes_to_follow(&copy(1099, 3000, 1), none_done), 1 << 2);
        // Reads what it read: free to overlap.
        assert_eq!(table.lanes_to_follow(&copy(5000, 50, 10), none_done), 0);
        // Touches bytes next to it only.
        assert_eq!(table.lanes_to_follow(&copy(1100, 100, 10), none_done), 0);
        // An empty copy touches nothing.
        assert_eq!(table.lanes_to_follow(&copy(1000, 0, 0), none_done), 0);
    }

    #[test]
    fn every_lane_of_a_conflicting_request_is_followed() {
        let mut table = Dependencies::default();
        table.record(copy(0, 10_000, 100), 0b0110, 1);
        table.record(copy(200, 20_000, 100), 0b1000, 2);
        table.record(copy(400, 30_000, 100), 0b0001, 3);
        assert_eq!(table.lanes_to_follow(&copy(50_000, 0, 300), none_done), 0b1110);
        assert_eq!(table.lanes_to_follow(&Access::EVERYTHING, none_done), 0b1111);
    }

    #[test]
    fn entries_proven_done_on_every_lane_leave() {
        let mut table = Dependencies::default();
        table.record(copy(0, 10_000, 100), 0b011, 5);
        // Lane 0 is past ticket 5 but lane 1 is not: still outstanding.
        let partly = |lane: usize| if lane == 0 { 9 } else { 4 };
        assert_eq!(table.lanes_to_follow(&copy(50, 20_000, 1), partly), 0b011);
        assert_eq!(table.len(), 1);
        let both = |_: usize| 5;
        assert_eq!(table.lanes_to_follow(&copy(50, 20_000, 1), both), 0);
        assert_eq!(table.len(), 0);
        // The table emptied: a request anywhere answers without a scan.
        assert_eq!(table.all_writes, Span::EMPTY);
    }

    #[test]
    fn a_full_table_makes_room_from_done_entries_or_asks_for_a_join() {
        let mut table = Dependencies::default();
        for n in 0..CAPACITY {
            table.record(copy(n * 10, 100_000 + n * 10, 10), 1 << (n % 4), n as u64 + 1);
        }
        assert!(table.is_full(none_done));
        // Lane 0's entries (every 4th) are done: room again.
        assert!(!table.is_full(|lane| if lane == 0 { u64::MAX } else { 0 }));
        assert_eq!(table.len(), CAPACITY - CAPACITY / 4);
        // A join folds the rest into one entry that everything follows.
        table.collapse(1 << 0, 1000);
        assert_eq!(table.len(), 1);
        assert_eq!(table.lanes_to_follow(&copy(1 << 40, 1 << 41, 1), none_done), 1);
        assert_eq!(table.lanes_to_follow(&copy(1 << 40, 1 << 41, 1), |_| 1000), 0);
    }

    #[test]
    fn recording_into_a_full_table_widens_the_newest_entry() {
        let mut table = Dependencies::default();
        for n in 0..CAPACITY {
            table.record(copy(n * 10, 100_000 + n * 10, 10), 1 << 1, n as u64 + 1);
        }
        table.record(copy(1 << 30, 1 << 31, 8), 1 << 3, 500);
        assert_eq!(table.len(), CAPACITY);
        // Both the new request and the one it widened are still followed,
        // on both lanes, until both lanes pass the later ticket.
        assert_eq!(table.lanes_to_follow(&copy(5 << 30, 1 << 30, 1), none_done), 0b1010);
        assert_eq!(table.lanes_to_follow(&copy(5 << 30, (CAPACITY - 1) * 10, 1), |_| 499), 0b1010);
        assert_eq!(table.lanes_to_follow(&copy(5 << 30, (CAPACITY - 1) * 10, 1), |_| 500), 0);
    }

    #[test]
    fn live_lanes_are_those_of_entries_not_done() {
        let mut table = Dependencies::default();
        table.record(copy(0, 1000, 10), 0b001, 1);
        table.record(copy(10, 1010, 10), 0b100, 2);
        assert_eq!(table.live_lanes(none_done), 0b101);
        assert_eq!(table.live_lanes(|lane| if lane == 2 { 2 } else { 0 }), 0b001);
    }

    /// The blocks only skip work: against a plain list of every entry (with
    /// done ones ignored), random records, scans, prunes and joins agree.
    #[test]
    fn block_unions_answer_as_a_scan_of_every_entry_would() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |bound: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % bound
        };
        for _round in 0..50 {
            let mut table = Dependencies::default();
            let mut plain: Vec<Entry> = Vec::new();
            let mut done = [0u64; 4];
            let mut ticket = 0;
            for _step in 0..600 {
                let access = copy(next(64) as usize * 64, next(64) as usize * 64, 1 + next(200) as usize);
                let done_now = done;
                let done_through = move |lane: usize| done_now[lane];
                match next(20) {
                    0 => {
                        let lane = next(4) as usize;
                        done[lane] = ticket.min(done[lane] + 1 + next(8));
                    }
                    1 if !plain.is_empty() => {
                        let lane = next(4) as usize;
                        ticket += 1;
                        table.collapse(1 << lane, ticket);
                        plain = vec![Entry { access: Access::EVERYTHING, lanes: 1 << lane, ticket }];
                    }
                    2 => {
                        let live = plain.iter().filter(|e| !is_done(e, &done_through)).fold(0, |set, e| set | e.lanes);
                        assert_eq!(table.live_lanes(done_through), live);
                    }
                    _ => {
                        let expected = plain
                            .iter()
                            .filter(|e| e.access.orders(&access) && !is_done(e, &done_through))
                            .fold(0, |set, e| set | e.lanes);
                        assert_eq!(table.lanes_to_follow(&access, done_through), expected);
                        if !table.is_full(done_through) {
                            ticket += 1;
                            let lanes = 1 << next(4);
                            table.record(access, lanes, ticket);
                            plain.push(Entry { access, lanes, ticket });
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_lanes_of_a_set_are_listed_lowest_first() {
        assert_eq!(lanes_of(0b1010_0001).collect::<Vec<_>>(), vec![0, 5, 7]);
        assert_eq!(lanes_of(1 << 31).collect::<Vec<_>>(), vec![31]);
        assert_eq!(lanes_of(0).count(), 0);
    }
}
