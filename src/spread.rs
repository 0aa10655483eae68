//! Which queues a dma spans and which copies it splits: the create's
//! (ordinal, index), the variables `AML_DMA_ZE_QUEUES` and
//! `AML_DMA_ZE_SPLIT_BYTES`, read once at create, and the device's queue
//! groups.
//!
//! A dma asked for several queues (index -1, or the variable) uses every
//! copy engine of its device: the queue asked for first, then the other
//! queues of its group, then every queue of every other copy-only group in
//! ordinal order. On Intel's Data Center GPU Max that is the main copy
//! engine (ordinal 1, one queue) and the link copy engines (ordinal 2, seven
//! queues) together, the engines Intel's own copy split uses. Asked for
//! every queue (`all`, index -1) from a copy group, it also takes the first
//! queue of the device's compute group, as a last lane for copies within
//! the device's memory alone.

use std::ffi::c_int;

use crate::loader::secure_env;

/// Most lists one dma makes: more than any known device has copy engines.
pub(crate) const MAX_QUEUES: usize = 32;
/// Default `AML_DMA_ZE_SPLIT_BYTES`, measured (docs/performance.md, "One dma over several
/// queues"): below it an extra part costs more than a second engine gains.
pub(crate) const DEFAULT_SPLIT_BYTES: usize = 4 << 20;

/// What a dma needs to know of one queue group of its device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    pub queues: u32,
    /// Copies but does not compute: a copy engine.
    pub copy_only: bool,
}

/// One queue a dma makes a list on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Queue {
    pub ordinal: u32,
    pub index: u32,
}

/// The queues of a dma, in lane order: the create's queue first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    queues: [Queue; MAX_QUEUES],
    count: usize,
    /// The lane that takes copies within the device's memory: a compute
    /// queue, whose copy kernels run at the memory's rate where a copy
    /// engine runs at its own (Intel's SYCL runtime keeps such copies on
    /// compute engines for that reason).
    local: Option<usize>,
    /// The lane on the device's main copy engine (queue 0 of its first
    /// copy-only group), which Intel's driver splits large copies of
    /// itself, onto link copy engines the other lanes use.
    main_copy: Option<usize>,
}

impl Spread {
    pub fn queues(&self) -> &[Queue] {
        &self.queues[..self.count]
    }

    pub fn local(&self) -> Option<usize> {
        self.local
    }

    pub fn main_copy(&self) -> Option<usize> {
        self.main_copy
    }

    fn push(&mut self, queue: Queue) {
        self.queues[self.count] = queue;
        self.count += 1;
    }
}

/// `AML_DMA_ZE_QUEUES`: `all`, or N ≥ 1 (at most N queues); anything else is ignored.
fn queues_variable(value: Option<&str>) -> Option<u32> {
    match value?.trim() {
        "all" => Some(u32::MAX),
        n => n.parse::<u32>().ok().filter(|&n| n >= 1),
    }
}

/// `AML_DMA_ZE_SPLIT_BYTES`: bytes, optional suffix K, M or G (powers of
/// 1024); 0 never splits. Unset or malformed: the default.
fn split_variable(value: Option<&str>) -> usize {
    let Some(value) = value.map(str::trim) else {
        return DEFAULT_SPLIT_BYTES;
    };
    let (digits, scale) = match value.as_bytes().last() {
        Some(b'K' | b'k') => (&value[..value.len() - 1], 1 << 10),
        Some(b'M' | b'm') => (&value[..value.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&value[..value.len() - 1], 1 << 30),
        _ => (value, 1),
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .unwrap_or(DEFAULT_SPLIT_BYTES)
}

/// The queues a create with (`ordinal`, `index`) uses on a device with
/// `groups`, given the value of `AML_DMA_ZE_QUEUES`. `None`: no such group,
/// or index out of range. Index ≥ 0 without the variable is that queue alone.
pub fn spread(groups: &[Group], ordinal: c_int, index: c_int, variable: Option<&str>) -> Option<Spread> {
    let asked = *usize::try_from(ordinal).ok().and_then(|ordinal| groups.get(ordinal))?;
    if asked.queues == 0 {
        return None;
    }
    let limit = queues_variable(variable);
    let (first, wanted) = match index {
        -1 => (0, limit.unwrap_or(u32::MAX)),
        index => (u32::try_from(index).ok().filter(|&i| i < asked.queues)?, limit.unwrap_or(1)),
    };
    let every = wanted == u32::MAX;
    let wanted = (wanted as usize).min(MAX_QUEUES);
    let mut spread = Spread { queues: [Queue::default(); MAX_QUEUES], count: 0, local: None, main_copy: None };
    let ordinal = ordinal as u32;
    // The group asked for, from its queue, wrapping.
    for n in 0..asked.queues {
        if spread.count == wanted {
            return Some(spread.with_local(groups, asked));
        }
        spread.push(Queue { ordinal, index: (first + n) % asked.queues });
    }
    // Then every other copy engine of the device.
    for (other, group) in groups.iter().enumerate() {
        if other as u32 == ordinal || !group.copy_only {
            continue;
        }
        for index in 0..group.queues {
            if spread.count == wanted {
                return Some(spread.with_local(groups, asked));
            }
            spread.push(Queue { ordinal: other as u32, index });
        }
    }
    // Every copy engine asked for: and a compute queue for copies within
    // the device, if the asked group is not one (on a device of one copy
    // engine too: it is what makes such copies fast there).
    if every && asked.copy_only && spread.count < MAX_QUEUES {
        if let Some(compute) = groups.iter().position(|group| !group.copy_only && group.queues > 0) {
            spread.push(Queue { ordinal: compute as u32, index: 0 });
            spread.local = Some(spread.count - 1);
        }
    }
    Some(spread.with_local(groups, asked))
}

impl Spread {
    /// A spread over a compute group keeps copies within the device on its
    /// first lane; one list has no choice to make. Notes the main copy
    /// engine's lane.
    fn with_local(mut self, groups: &[Group], asked: Group) -> Spread {
        if self.local.is_none() && !asked.copy_only && self.count >= 2 {
            self.local = Some(0);
        }
        if let Some(main) = groups.iter().position(|group| group.copy_only && group.queues > 0) {
            let main = Queue { ordinal: main as u32, index: 0 };
            self.main_copy = self.queues().iter().position(|&queue| queue == main);
        }
        self
    }
}

/// The spread of a create, reading `AML_DMA_ZE_QUEUES` now.
pub fn spread_from_environment(groups: &[Group], ordinal: c_int, index: c_int) -> Option<Spread> {
    spread(groups, ordinal, index, secure_env(c"AML_DMA_ZE_QUEUES").as_deref())
}

/// `AML_DMA_ZE_SPLIT_BYTES` now.
pub fn split_bytes_from_environment() -> usize {
    split_variable(secure_env(c"AML_DMA_ZE_SPLIT_BYTES").as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPUTE: Group = Group { queues: 4, copy_only: false };

    /// Intel's Data Center GPU Max, one stack: compute, main copy, link copy.
    fn max_stack() -> [Group; 3] {
        [COMPUTE, Group { queues: 1, copy_only: true }, Group { queues: 7, copy_only: true }]
    }

    fn queues(spread: Option<Spread>) -> Vec<(u32, u32)> {
        spread.expect("a valid create").queues().iter().map(|q| (q.ordinal, q.index)).collect()
    }

    #[test]
    fn an_index_alone_is_one_queue_as_upstream() {
        let groups = max_stack();
        assert_eq!(queues(spread(&groups, 1, 0, None)), vec![(1, 0)]);
        assert_eq!(queues(spread(&groups, 2, 5, None)), vec![(2, 5)]);
        assert_eq!(queues(spread(&groups, 0, 3, None)), vec![(0, 3)]);
        // Malformed or zero values of the variable are ignored.
        assert_eq!(queues(spread(&groups, 2, 1, Some("0"))), vec![(2, 1)]);
        assert_eq!(queues(spread(&groups, 2, 1, Some("many"))), vec![(2, 1)]);
    }

    #[test]
    fn out_of_range_creates_are_refused() {
        let groups = max_stack();
        assert_eq!(spread(&groups, 1, 1, None), None, "the main copy group has one queue");
        assert_eq!(spread(&groups, 2, 7, None), None);
        assert_eq!(spread(&groups, 3, 0, None), None);
        assert_eq!(spread(&groups, -1, 0, None), None);
        assert_eq!(spread(&groups, 1, -2, None), None);
        assert_eq!(spread(&[Group { queues: 0, copy_only: true }], 0, -1, None), None);
    }

    #[test]
    fn several_queues_take_every_copy_engine_the_asked_queue_first() {
        let groups = max_stack();
        // Every copy engine, then a compute queue for copies within the device.
        let main_then_link = vec![(1, 0), (2, 0), (2, 1), (2, 2), (2, 3), (2, 4), (2, 5), (2, 6), (0, 0)];
        assert_eq!(queues(spread(&groups, 1, 0, Some("all"))), main_then_link);
        assert_eq!(queues(spread(&groups, 1, -1, None)), main_then_link);
        assert_eq!(spread(&groups, 1, -1, None).unwrap().local(), Some(8));
        assert_eq!(spread(&groups, 1, -1, None).unwrap().main_copy(), Some(0));
        assert_eq!(spread(&groups, 2, 5, Some("all")).unwrap().main_copy(), Some(7));
        assert_eq!(spread(&groups, 2, 0, Some("3")).unwrap().main_copy(), None);
        // From a link engine: its group from that queue, wrapping, then the main engine.
        assert_eq!(
            queues(spread(&groups, 2, 5, Some("all"))),
            vec![(2, 5), (2, 6), (2, 0), (2, 1), (2, 2), (2, 3), (2, 4), (1, 0), (0, 0)]
        );
        // From the compute group: its queues, then every copy engine; the
        // first compute lane takes copies within the device.
        assert_eq!(queues(spread(&groups, 0, -1, None)).len(), 4 + 1 + 7);
        assert_eq!(spread(&groups, 0, -1, None).unwrap().local(), Some(0));
        // A count of queues is copy engines only.
        assert_eq!(spread(&groups, 1, 0, Some("3")).unwrap().local(), None);
        assert_eq!(queues(spread(&groups, 0, 2, Some("2"))), vec![(0, 2), (0, 3)]);
        // N caps the count, across groups.
        assert_eq!(queues(spread(&groups, 1, 0, Some("3"))), vec![(1, 0), (2, 0), (2, 1)]);
        assert_eq!(queues(spread(&groups, 1, -1, Some("2"))), vec![(1, 0), (2, 0)]);
    }

    #[test]
    fn a_device_with_one_copy_engine_spans_it_and_a_compute_queue_and_the_count_is_bounded() {
        let client = [COMPUTE, Group { queues: 1, copy_only: true }];
        assert_eq!(queues(spread(&client, 1, 0, Some("all"))), vec![(1, 0), (0, 0)]);
        assert_eq!(spread(&client, 1, 0, Some("all")).unwrap().local(), Some(1));
        let copy_only_device = [Group { queues: 1, copy_only: true }];
        assert_eq!(queues(spread(&copy_only_device, 0, -1, None)), vec![(0, 0)]);
        let wide = [Group { queues: 64, copy_only: true }];
        assert_eq!(queues(spread(&wide, 0, -1, None)).len(), MAX_QUEUES);
    }

    #[test]
    fn the_split_variable_takes_suffixes_and_zero_disables() {
        assert_eq!(split_variable(None), DEFAULT_SPLIT_BYTES);
        assert_eq!(split_variable(Some("0")), 0);
        assert_eq!(split_variable(Some("65536")), 65536);
        assert_eq!(split_variable(Some("64K")), 65536);
        assert_eq!(split_variable(Some("2M")), 2 << 20);
        assert_eq!(split_variable(Some("1G")), 1 << 30);
        assert_eq!(split_variable(Some("lots")), DEFAULT_SPLIT_BYTES);
    }
}
