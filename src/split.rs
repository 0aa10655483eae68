//! How one copy is cut into parts, one per lane: page-aligned, evening out
//! the work each lane has outstanding. Pure; `placement` decides which
//! lanes, `lanes` appends the parts.

use crate::spread::MAX_QUEUES;

/// Parts start on page boundaries, as copy engines prefer.
pub(crate) const PART_ALIGNMENT: usize = 4096;

/// One part of a placed copy: lane, byte offset, length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Part {
    pub lane: usize,
    pub offset: usize,
    pub len: usize,
}

/// Where a copy goes: one part per lane used.
#[derive(Debug)]
pub struct Plan {
    parts: [Part; MAX_QUEUES],
    count: usize,
}

impl Plan {
    pub fn parts(&self) -> &[Part] {
        &self.parts[..self.count]
    }

    /// The copy whole on one lane.
    pub fn whole(lane: usize, size: usize) -> Plan {
        let mut plan = Plan { parts: [Part::default(); MAX_QUEUES], count: 1 };
        plan.parts[0] = Part { lane, offset: 0, len: size };
        plan
    }
}

/// Splits `size` bytes over `lanes` (in that order) in page-aligned parts;
/// fewer parts when the size does not fill them all, one for size 0 (a copy
/// of nothing still signals its event). What `even_out` must give on idle
/// lanes: the tests' reference.
#[cfg(test)]
pub fn split(size: usize, lanes: &[usize]) -> Plan {
    if size == 0 || lanes.len() == 1 {
        return Plan::whole(lanes[0], size);
    }
    let mut plan = Plan { parts: [Part::default(); MAX_QUEUES], count: 0 };
    let chunk = size.div_ceil(lanes.len()).next_multiple_of(PART_ALIGNMENT);
    let mut offset = 0;
    for &lane in lanes {
        if offset >= size {
            break;
        }
        let len = chunk.min(size - offset);
        plan.parts[plan.count] = Part { lane, offset, len };
        plan.count += 1;
        offset += len;
    }
    plan
}

/// Splits `size` bytes over `lanes`, whose `outstanding` bytes are given
/// (same order), so that every lane used ends with about the same work
/// outstanding: lanes behind one host link drain at one pace, so parts
/// finish together. The least loaded lanes are used, most bytes first; a
/// lane whose part would be under `min_part` is left out. Idle lanes give
/// `split`'s equal parts.
pub fn even_out(size: usize, lanes: &[usize], outstanding: &[u64], min_part: usize) -> Plan {
    let mut order = [(0u64, 0usize); MAX_QUEUES];
    let count = lanes.len().min(MAX_QUEUES);
    for (slot, (&lane, &load)) in order.iter_mut().zip(lanes.iter().zip(outstanding)) {
        *slot = (load, lane);
    }
    let order = &mut order[..count];
    order.sort_unstable();
    // The water level: with k lanes, (size + their outstanding) / k, for the
    // largest k whose every lane is below it by at least `min_part`.
    let mut used = count;
    let level = loop {
        let total: u128 = size as u128 + order[..used].iter().map(|&(load, _)| load as u128).sum::<u128>();
        let level = total.div_ceil(used as u128);
        let smallest_part = level.saturating_sub(order[used - 1].0 as u128);
        if used == 1 || smallest_part >= min_part as u128 {
            break level;
        }
        used -= 1;
    };
    if size == 0 || used == 1 {
        return Plan::whole(order[0].1, size);
    }
    let mut plan = Plan { parts: [Part::default(); MAX_QUEUES], count: 0 };
    let mut offset = 0;
    for &(load, lane) in &order[..used] {
        if offset >= size {
            break;
        }
        let share = (level - load as u128) as usize;
        let len = share.next_multiple_of(PART_ALIGNMENT).min(size - offset);
        plan.parts[plan.count] = Part { lane, offset, len };
        plan.count += 1;
        offset += len;
    }
    if offset < size {
        // Rounding left a tail: the last part takes it.
        plan.parts[plan.count - 1].len += size - offset;
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_page_aligned_cover_every_byte_and_skip_empty_lanes() {
        let plan = split(10 * 4096 + 5, &[0, 1, 2]);
        let parts = plan.parts();
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| p.offset % PART_ALIGNMENT == 0));
        assert_eq!(parts.iter().map(|p| p.len).sum::<usize>(), 10 * 4096 + 5);
        assert_eq!(parts[1].offset, parts[0].len);
        // Too small to fill every lane: fewer parts.
        assert_eq!(split(4097, &[0, 1, 2, 3]).parts().len(), 2);
        assert_eq!(split(0, &[3, 1]).parts(), &[Part { lane: 3, offset: 0, len: 0 }]);
        assert_eq!(split(100, &[2]).parts(), &[Part { lane: 2, offset: 0, len: 100 }]);
    }

    fn covers(plan: &Plan, size: usize) {
        let mut offset = 0;
        for part in plan.parts() {
            assert_eq!(part.offset, offset, "parts are contiguous");
            assert_eq!(part.offset % PART_ALIGNMENT, 0);
            offset += part.len;
        }
        assert_eq!(offset, size);
    }

    #[test]
    fn idle_lanes_get_the_equal_parts_of_split() {
        for size in [4096 * 8, 4096 * 8 + 1, 10 * 4096 + 5, 1 << 20, (1 << 20) + 4093] {
            let even = even_out(size, &[0, 1, 2, 3], &[0; 4], 4096);
            assert_eq!(even.parts(), split(size, &[0, 1, 2, 3]).parts(), "size {size}");
        }
    }

    #[test]
    fn busy_lanes_get_less_so_that_every_lane_ends_level() {
        const M: u64 = 1 << 20;
        // Lane 1 holds 2 MiB, lane 0 nothing: 4 MiB gives lane 0 3 MiB, lane 1 1 MiB.
        let plan = even_out(4 << 20, &[0, 1], &[0, 2 * M], 4096);
        covers(&plan, 4 << 20);
        assert_eq!(plan.parts().iter().map(|p| (p.lane, p.len as u64)).collect::<Vec<_>>(), vec![(0, 3 * M), (1, M)]);
        // Every lane busy alike: still split, in equal parts.
        let plan = even_out(8 << 20, &[0, 1, 2, 3], &[5 * M; 4], 4096);
        covers(&plan, 8 << 20);
        assert!(plan.parts().iter().all(|p| p.len as u64 == 2 * M));
        // A lane far behind the others is left out; so is one whose part
        // would be under the minimum.
        let plan = even_out(2 << 20, &[0, 1, 2], &[0, 0, 64 * M], 4096);
        assert_eq!(plan.parts().iter().map(|p| p.lane).collect::<Vec<_>>(), vec![0, 1]);
        let plan = even_out(2 << 20, &[0, 1, 2], &[0, 0, (M * 3) / 2], 1 << 20);
        assert_eq!(plan.parts().iter().map(|p| p.lane).collect::<Vec<_>>(), vec![0, 1]);
        // Nothing to split: the least loaded lane takes it whole.
        assert_eq!(even_out(0, &[0, 1], &[M, 0], 4096).parts(), &[Part { lane: 1, offset: 0, len: 0 }]);
        assert_eq!(even_out(100, &[3], &[M], 4096).parts(), &[Part { lane: 3, offset: 0, len: 100 }]);
        // Rounding to pages never loses a byte.
        for size in [3 * 4096 + 1, (1 << 20) + 7, 5 << 20] {
            covers(&even_out(size, &[0, 1, 2], &[0, 4096 * 3 + 17, 9000], 4096), size);
        }
    }
}
