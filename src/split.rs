//! How one copy is cut into parts, one per lane: page-aligned, in lane order.
//! Pure; `placement` decides which lanes, `lanes` appends the parts.

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
/// of nothing still signals its event).
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
}
