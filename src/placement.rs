//! Where the copies of a dma over several queues go (its lists are "lanes"):
//! the lane with the least work outstanding; large copies split over the
//! lanes so that their outstanding work evens out (every copy engine of a
//! device is behind its one host link, so they drain at one pace and the
//! parts finish together), each way (to/from the device) keeping to its
//! half of the lanes while copies go both ways, as Intel's driver keeps
//! separate copy engines for each way (`BcsSplit`).
//!
//! Work outstanding is a heuristic, never a correctness matter: bytes
//! assigned to a lane minus bytes whose completion was observed (request
//! wait, request destroy of a finished request, barrier). A barrier starts a
//! new epoch on every lane, so that completions of work it already counted
//! are not counted twice. Beside it each lane keeps the ticket through which
//! its work is known complete, which is a correctness matter: the ordering
//! table (`dependencies`) retires entries by it.

use crate::sync::{AtomicU32, AtomicU64, Ordering};

use crate::dependencies::{lanes_of, LaneSet};
use crate::events::{RequestBlock, Work};
use crate::split::{even_out, Part, Plan, PART_ALIGNMENT};
use crate::spread::MAX_QUEUES;

/// Large copies one way keep to their half of the lanes while a copy the
/// other way was among the last this many large copies.
pub(crate) const DUPLEX_WINDOW: u64 = 8;

/// Which way a copy crosses the host link, as far as placement cares: the
/// two ways of a full-duplex link do not compete, copies the same way may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Host (or `malloc`) memory to device memory.
    ToDevice,
    /// Device memory to host (or `malloc`) memory.
    FromDevice,
    /// Device memory of the dma's own device to device memory of it.
    DeviceLocal,
    /// Between devices, within the host, shared memory, or unknown.
    Other,
}

impl Direction {
    /// Index of the way in `Placement::last_seen`, `None` for `Other`.
    fn way(self) -> Option<usize> {
        match self {
            Direction::ToDevice => Some(0),
            Direction::FromDevice => Some(1),
            Direction::DeviceLocal | Direction::Other => None,
        }
    }
}

/// What one lane has been given and what of it is known done.
struct Load {
    assigned: AtomicU64,
    credited: AtomicU64,
    epoch: AtomicU32,
    /// Every request on the lane with a ticket up to this one is complete.
    done_through: AtomicU64,
}

impl Load {
    fn outstanding(&self) -> u64 {
        self.assigned.load(Ordering::Relaxed).saturating_sub(self.credited.load(Ordering::Relaxed))
    }
}

/// The placement state of the lanes of one dma.
pub struct Placement {
    loads: Box<[Load]>,
    /// Lanes `0..general` take any copy; the others (a compute lane after
    /// the copy engines) only copies within the device, whole.
    general: usize,
    /// The lane for large copies within the device's memory, if any.
    local: Option<usize>,
    /// The lane on the main copy engine, left out of splits.
    main_copy: Option<usize>,
    /// Copies of at least this many bytes are split; 0: never.
    split_bytes: usize,
    /// Large copies placed so far that went one way or the other.
    large_copies: AtomicU64,
    /// For each way, the `large_copies` count when one last went that way
    /// (0: never).
    last_seen: [AtomicU64; 2],
}

/// Snapshot a barrier takes when it is appended: what each lane had been
/// assigned, and the barrier's ticket.
pub struct BarrierMark {
    assigned: [u64; MAX_QUEUES],
    credited: [u64; MAX_QUEUES],
    ticket: u64,
}

impl Placement {
    /// `local`: the lane for copies within the device (see `Spread::local`);
    /// a lane after the first is kept for them alone.
    ///
    /// `main_copy`: the lane on the device's main copy engine, which takes
    /// no part of a split while two other lanes can: Intel's driver splits
    /// a large copy on that engine again, onto link copy engines that carry
    /// the other parts, which then finish late (stack to stack, where the
    /// engines and not the link are the limit: 0.90 of the path's cap with
    /// it, 1.00 without); the host link is the limit of host copies, which
    /// the seven others fill alone.
    pub fn new(lanes: usize, split_bytes: usize, local: Option<usize>, main_copy: Option<usize>) -> Placement {
        let general = match local {
            Some(lane) if lane > 0 => lane,
            _ => lanes,
        };
        let loads = (0..lanes)
            .map(|_| Load {
                assigned: AtomicU64::new(0),
                credited: AtomicU64::new(0),
                epoch: AtomicU32::new(0),
                done_through: AtomicU64::new(0),
            })
            .collect();
        Placement {
            loads,
            general,
            local,
            main_copy,
            split_bytes,
            large_copies: AtomicU64::new(0),
            last_seen: [AtomicU64::new(0), AtomicU64::new(0)],
        }
    }

    pub fn split_bytes(&self) -> usize {
        self.split_bytes
    }

    /// The ticket through which every request on `lane` is known complete.
    #[inline]
    pub fn done_through(&self, lane: usize) -> u64 {
        self.loads[lane].done_through.load(Ordering::Acquire)
    }

    /// Where a copy of `size` bytes goes, its bytes counted as assigned. A
    /// copy of at least `split_bytes` is split over the lanes it may use so
    /// that their outstanding work evens out (a lane whose part would be
    /// under an eighth of `split_bytes` gets none: it is far enough behind
    /// that a part there would finish last); any other copy goes whole to
    /// the lane with least outstanding. A large copy may use every lane,
    /// unless copies went the other way lately: then each way keeps to its
    /// half of the lanes (to the device the first half, from it the
    /// second), so that a split one way never queues the other way behind
    /// it. `direction` is asked only for large copies (it costs a driver
    /// lookup). The caller holds the dma's lock, which serialises placements.
    pub fn place(&self, size: usize, direction: impl FnOnce() -> Direction) -> Plan {
        let large = self.may_split(size);
        let usable = if large {
            let direction = direction();
            if let (Direction::DeviceLocal, Some(local)) = (direction, self.local) {
                // A copy kernel moves it at the memory's rate: whole there.
                let plan = Plan::whole(local, size);
                self.assign(&plan);
                return plan;
            }
            self.usable_lanes(direction)
        } else {
            0..self.general
        };
        let mut lanes = [0usize; MAX_QUEUES];
        let mut outstanding = [0u64; MAX_QUEUES];
        let mut count = 0;
        let (mut best, mut best_outstanding) = (usable.start, u64::MAX);
        let skipped = if large && usable.len() > 2 { self.main_copy } else { None };
        for index in usable {
            if Some(index) == skipped {
                continue;
            }
            lanes[count] = index;
            outstanding[count] = self.loads[index].outstanding();
            if outstanding[count] < best_outstanding {
                (best, best_outstanding) = (index, outstanding[count]);
            }
            count += 1;
        }
        let plan = if large && count >= 2 {
            let min_part = (self.split_bytes / 8).max(PART_ALIGNMENT);
            even_out(size, &lanes[..count], &outstanding[..count], min_part)
        } else {
            Plan::whole(best, size)
        };
        self.assign(&plan);
        plan
    }

    /// Whether a copy of `size` bytes may be split (it is then placed by
    /// `place`, which may ask its direction).
    #[inline]
    pub fn may_split(&self, size: usize) -> bool {
        self.split_bytes != 0 && size >= self.split_bytes && self.loads.len() >= 2
    }

    /// A copy too small to split: whole on the general lane with least
    /// outstanding, its bytes counted as assigned. What `place` gives it,
    /// without a plan.
    #[inline]
    pub fn place_whole(&self, size: usize) -> usize {
        let mut best = (0, u64::MAX);
        for (index, load) in self.loads[..self.general].iter().enumerate() {
            let outstanding = load.outstanding();
            if outstanding < best.1 {
                best = (index, outstanding);
                if outstanding == 0 {
                    // An idle lane: none can do better (the common case of
                    // synchronous requests, which leave every lane idle).
                    break;
                }
            }
        }
        self.loads[best.0].assigned.fetch_add(size as u64, Ordering::Relaxed);
        best.0
    }

    /// The copy whole on the lane of `lanes` with least outstanding (a copy
    /// that must follow work there goes behind it rather than beside it).
    pub fn place_among(&self, lanes: LaneSet, size: usize) -> Plan {
        let lane = lanes_of(lanes).min_by_key(|&lane| self.loads[lane].outstanding()).unwrap_or(0);
        let plan = Plan::whole(lane, size);
        self.assign(&plan);
        plan
    }

    fn assign(&self, plan: &Plan) {
        for part in plan.parts() {
            self.loads[part.lane].assigned.fetch_add(part.len as u64, Ordering::Relaxed);
        }
    }

    /// The lanes a large copy going `direction` may use, noting the way it goes.
    fn usable_lanes(&self, direction: Direction) -> std::ops::Range<usize> {
        let all = 0..self.general;
        let Some(way) = direction.way().filter(|_| self.general >= 2) else {
            return all;
        };
        let count = self.large_copies.fetch_add(1, Ordering::Relaxed) + 1;
        self.last_seen[way].store(count, Ordering::Relaxed);
        let other = self.last_seen[1 - way].load(Ordering::Relaxed);
        if other == 0 || count - other > DUPLEX_WINDOW {
            return all;
        }
        let to_device = self.general - self.general / 2;
        if way == 0 {
            0..to_device
        } else {
            to_device..self.general
        }
    }

    /// The bytes of `parts` (as `place`, `place_whole` or `place_among`
    /// assigned them), taken back when the guard drops unless the request
    /// they belong to was submitted (`Assigned::keep`).
    #[inline(always)]
    pub fn assigned<'a>(&'a self, parts: &'a [Part]) -> Assigned<'a> {
        Assigned { placement: self, parts }
    }

    /// The placement record of `part` of the request with `ticket`, for its block.
    pub fn work(&self, part: &Part, ticket: u64) -> Work {
        Work {
            lane: part.lane as u32,
            epoch: self.loads[part.lane].epoch.load(Ordering::Relaxed),
            bytes: part.len as u64,
            ticket,
        }
    }

    /// Completion of `block` (and its parts) was observed. Each record is
    /// cleared once credited, so a block reused by a custom operator (which
    /// records nothing) credits nothing; a record left by a retired block
    /// was never credited, and is owed.
    #[inline]
    pub fn credit(&self, block: &RequestBlock) {
        if !block.has_parts() {
            // A request on one lane (most): no parts to walk.
            self.credit_work(block.work());
            block.set_work(Work::default());
            return;
        }
        self.credit_parts(block);
    }

    /// Completion was observed of a request with `ticket` on `lane`, which
    /// placed no bytes.
    #[inline(always)]
    pub fn credit_ticket(&self, lane: usize, ticket: u64) {
        // The lane is in order: everything placed on it before is done too.
        self.loads[lane].done_through.fetch_max(ticket, Ordering::Release);
    }

    #[cold]
    #[inline(never)]
    fn credit_parts(&self, block: &RequestBlock) {
        self.credit_work(block.work());
        block.set_work(Work::default());
        block.for_each_part(|part| {
            self.credit_work(part.work());
            part.set_work(Work::default());
        });
    }

    #[inline]
    fn credit_work(&self, work: Work) {
        let Some(load) = self.loads.get(work.lane as usize) else {
            return;
        };
        // The lane is in order: everything placed on it before is done too.
        load.done_through.fetch_max(work.ticket, Ordering::Release);
        // Work a barrier already counted belongs to an older epoch.
        if work.bytes != 0 && load.epoch.load(Ordering::Relaxed) == work.epoch {
            load.credited.fetch_add(work.bytes, Ordering::Relaxed);
        }
    }

    /// A barrier with `ticket` is being appended (the dma's lock is held):
    /// later work is a new epoch.
    pub fn barrier_appended(&self, ticket: u64) -> BarrierMark {
        let mut mark = BarrierMark { assigned: [0; MAX_QUEUES], credited: [0; MAX_QUEUES], ticket };
        for (index, load) in self.loads.iter().enumerate() {
            load.epoch.fetch_add(1, Ordering::Relaxed);
            mark.assigned[index] = load.assigned.load(Ordering::Relaxed);
            mark.credited[index] = load.credited.load(Ordering::Relaxed);
        }
        mark
    }

    /// The barrier completed: everything placed before it is done.
    pub fn barrier_completed(&self, mark: &BarrierMark) {
        for (index, load) in self.loads.iter().enumerate() {
            load.credited.fetch_add(mark.assigned[index].saturating_sub(mark.credited[index]), Ordering::Relaxed);
            load.done_through.fetch_max(mark.ticket, Ordering::Release);
        }
    }
}

/// Bytes assigned to lanes for a request not yet appended: taken back when
/// dropped, so that a request that fails leaves the loads as they were.
#[must_use]
pub struct Assigned<'a> {
    placement: &'a Placement,
    parts: &'a [Part],
}

impl Assigned<'_> {
    /// The request was appended: its bytes stay assigned until credited.
    #[inline(always)]
    pub fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for Assigned<'_> {
    fn drop(&mut self) {
        for part in self.parts {
            self.placement.loads[part.lane].assigned.fetch_sub(part.len as u64, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn other() -> Direction {
        Direction::Other
    }

    fn lanes_of(plan: &Plan) -> Vec<usize> {
        plan.parts().iter().map(|p| p.lane).collect()
    }

    #[test]
    fn with_traffic_both_ways_large_copies_keep_to_their_directions_lanes() {
        const BIG: usize = 8 << 20;
        let lanes = lanes(2, 1 << 20);
        let (to, from) = (|| Direction::ToDevice, || Direction::FromDevice);
        // One way only: every idle lane.
        assert_eq!(lanes_of(&lanes.place(BIG, to)), vec![0, 1]);
        // The other way arrives: its own half only, busy or not.
        assert_eq!(lanes_of(&lanes.place(BIG, from)), vec![1]);
        // From now on each way has its half, so both overlap.
        let lanes = self::lanes(2, 1 << 20);
        lanes.place(BIG, to);
        lanes.place(BIG, from);
        let everything = || {
            for lane in lanes.loads.iter() {
                lane.credited.store(lane.assigned.load(Ordering::Relaxed), Ordering::Relaxed);
            }
        };
        everything();
        assert_eq!(lanes_of(&lanes.place(BIG, to)), vec![0]);
        assert_eq!(lanes_of(&lanes.place(BIG, from)), vec![1]);
        // Four lanes: two each way, a copy split over its two.
        let four = self::lanes(4, 1 << 20);
        four.place(BIG, to);
        four.place(BIG, from);
        for lane in four.loads.iter() {
            lane.credited.store(lane.assigned.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        assert_eq!(lanes_of(&four.place(BIG, to)), vec![0, 1]);
        assert_eq!(lanes_of(&four.place(BIG, from)), vec![2, 3]);
        // Copies that are neither way, and small ones, are placed as before.
        assert_eq!(lanes_of(&four.place(100, to)), vec![0]);
        // The other way quiet for a window of large copies: all lanes again.
        for _ in 0..DUPLEX_WINDOW {
            four.place(BIG, to);
        }
        for lane in four.loads.iter() {
            lane.credited.store(lane.assigned.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        assert_eq!(lanes_of(&four.place(BIG, to)), vec![0, 1, 2, 3]);
    }

    #[test]
    fn directions_are_looked_up_only_for_copies_that_may_split() {
        let lanes = lanes(2, 1 << 20);
        let asked = std::cell::Cell::new(0);
        let ask = || {
            asked.set(asked.get() + 1);
            Direction::ToDevice
        };
        lanes.place(100, ask);
        assert_eq!(asked.get(), 0);
        lanes.place(2 << 20, ask);
        assert_eq!(asked.get(), 1);
        let never = self::lanes(2, 0);
        never.place(64 << 20, ask);
        assert_eq!(asked.get(), 1);
    }

    fn lanes(count: usize, split_bytes: usize) -> Placement {
        Placement::new(count, split_bytes, None, None)
    }

    #[test]
    fn requests_go_to_the_least_loaded_lane_and_large_ones_split_to_even_out() {
        let lanes = lanes(3, 1 << 20);
        assert_eq!(lanes.place(100, other).parts()[0].lane, 0);
        assert_eq!(lanes.place(100, other).parts()[0].lane, 1);
        assert_eq!(lanes.place(50, other).parts()[0].lane, 2);
        assert_eq!(
            lanes.place(10, other).parts()[0].lane,
            2,
            "lane 2 has least outstanding"
        );
        // Lanes 0..2 hold a little each: a large copy still splits over them
        // all, each ending level.
        let plan = lanes.place(4 << 20, other);
        assert_eq!(plan.parts().len(), 3);
        let level: Vec<u64> = (0..3).map(|lane| lanes.loads[lane].outstanding()).collect();
        assert!(level.iter().max().unwrap() - level.iter().min().unwrap() <= 3 * 4096, "level to pages: {level:?}");
        let idle = self::lanes(4, 1 << 20);
        let plan = idle.place(4 << 20, other);
        assert_eq!(
            plan.parts().iter().map(|p| p.lane).collect::<Vec<_>>(),
            vec![0, 1, 2, 3]
        );
        // Just below the threshold: whole.
        assert_eq!(
            self::lanes(4, 1 << 20).place((1 << 20) - 1, other).parts().len(),
            1
        );
    }

    #[test]
    fn observed_completions_and_barriers_free_a_lane() {
        let lanes = lanes(2, 0);
        let plan = lanes.place(100, other);
        let work = lanes.work(&plan.parts()[0], 1);
        assert_eq!(lanes.loads[0].outstanding(), 100);
        lanes.credit_work(work);
        assert_eq!(lanes.loads[0].outstanding(), 0);
        let plan = lanes.place(70, other);
        let work = lanes.work(&plan.parts()[0], 1);
        let mark = lanes.barrier_appended(2);
        lanes.barrier_completed(&mark);
        assert_eq!(lanes.loads[0].outstanding(), 0);
        // Its completion seen after the barrier is not counted twice.
        lanes.credit_work(work);
        lanes.place(30, other);
        assert_eq!(lanes.loads[0].outstanding(), 30);
    }

    #[test]
    fn a_copy_that_must_follow_goes_whole_to_the_least_loaded_of_its_lanes() {
        let lanes = lanes(4, 1 << 20);
        lanes.place(100, other);
        lanes.place(50, other);
        lanes.place(10, other);
        // Lanes 0 and 2 hold work it must follow; lane 2 has less.
        assert_eq!(lanes_of(&lanes.place_among(0b0101, 64 << 20)), vec![2]);
        assert_eq!(lanes.loads[2].outstanding(), 10 + (64 << 20));
    }

    #[test]
    fn copies_within_the_device_go_whole_to_the_compute_lane_which_takes_nothing_else() {
        // Eight copy engines, then a compute lane (8) for copies within the device.
        let placement = Placement::new(9, 4 << 20, Some(8), None);
        assert_eq!(lanes_of(&placement.place(16 << 20, || Direction::DeviceLocal)), vec![8]);
        let spread = placement.place(16 << 20, other);
        assert_eq!(spread.parts().len(), 8);
        assert!(!lanes_of(&spread).contains(&8));
        for _ in 0..16 {
            assert_ne!(lanes_of(&placement.place(4096, || unreachable!())), vec![8], "small copies stay on the copy engines");
        }
        // A dma over a compute group keeps such copies on its first lane,
        // which takes any other copy too.
        let compute_first = Placement::new(4, 4 << 20, Some(0), None);
        assert_eq!(compute_first.place(16 << 20, other).parts().len(), 4);
        assert_eq!(lanes_of(&compute_first.place(16 << 20, || Direction::DeviceLocal)), vec![0]);
    }

    #[test]
    fn the_main_copy_engine_takes_no_part_of_a_split_while_two_others_can() {
        let placement = Placement::new(8, 4 << 20, None, Some(0));
        let plan = placement.place(16 << 20, other);
        assert_eq!(plan.parts().len(), 7);
        assert!(!lanes_of(&plan).contains(&0));
        assert_eq!(lanes_of(&placement.place(4096, other)), vec![0], "small copies: the idle main engine");
        // Three lanes, each way on its half: one lane a way is no split.
        let few = Placement::new(3, 4 << 20, None, Some(0));
        assert_eq!(few.place(16 << 20, other).parts().len(), 2);
    }

    #[test]
    fn completions_seen_on_a_lane_and_barriers_advance_its_done_ticket() {
        let lanes = lanes(3, 0);
        let plan = lanes.place(100, other);
        let lane = plan.parts()[0].lane;
        assert_eq!(lanes.done_through(lane), 0);
        lanes.credit_work(lanes.work(&plan.parts()[0], 7));
        assert_eq!(lanes.done_through(lane), 7);
        // An older completion seen late does not move it back.
        lanes.credit_work(lanes.work(&plan.parts()[0], 3));
        assert_eq!(lanes.done_through(lane), 7);
        let mark = lanes.barrier_appended(9);
        lanes.barrier_completed(&mark);
        assert!((0..3).all(|lane| lanes.done_through(lane) == 9));
    }
}
