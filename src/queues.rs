//! One dma over several queues of a group (issue 11): one immediate list per
//! queue, requests placed on the queue with the least work outstanding, and
//! large copies split into parts on the idle queues, so that both directions
//! of a full-duplex link overlap and a large copy uses every engine.
//!
//! Lane 0 is the dma's `command_list`, serialised by `aml_dma_ze_data.lock`
//! (custom operators run under it and append to it). Every other lane has
//! its own lock, always taken while holding `aml_dma_ze_data.lock` (never the
//! other way round): a request on lane q takes lane q's lock, then lets go of
//! the dma's lock while it appends, so a barrier, which takes the dma's lock
//! and then each lane's, still comes after every append placed before it.
//!
//! Work outstanding is a heuristic, never a correctness matter: bytes
//! assigned to a lane minus bytes whose completion was observed (request
//! wait, request destroy of a finished request, barrier). A barrier starts a
//! new epoch on every lane, so that completions of work it already counted
//! are not counted twice.

use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use parking_lot::{Mutex, MutexGuard};
use ze_sys::*;

use crate::abi::*;
use crate::copy_nd;
use crate::engine::{Builtin, DmaBlock, Op};
use crate::error::AmlError;
use crate::events::{RequestBlock, Taken, Work};
use crate::layout::{read_flat, read_view};
use crate::loader::secure_env;

/// Most lists one dma makes: more than any known queue group holds.
pub(crate) const MAX_QUEUES: usize = 32;
/// Default `AML_DMA_ZE_SPLIT_BYTES`, measured (README, "One dma over several
/// queues"): below it an extra part costs more than a second engine gains.
pub(crate) const DEFAULT_SPLIT_BYTES: usize = 4 << 20;
/// Parts start on page boundaries, as copy engines prefer.
const PART_ALIGNMENT: usize = 4096;
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
    /// Within one side, shared memory, or unknown.
    Other,
}

impl Direction {
    /// Index of the way in `Lanes::last_seen`, `None` for `Other`.
    fn way(self) -> Option<usize> {
        match self {
            Direction::ToDevice => Some(0),
            Direction::FromDevice => Some(1),
            Direction::Other => None,
        }
    }
}

/// How many queues a create asks for: `index` ≥ 0 is that queue alone unless
/// `AML_DMA_ZE_QUEUES` says otherwise; -1 (our extension) is every queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    /// The queue of the first list (`command_list`); the others follow it, wrapping.
    pub first: u32,
    pub count: u32,
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

/// The queues of a group of `queues` queues that a create with `index` uses,
/// given the value of `AML_DMA_ZE_QUEUES`. `None`: index out of range.
pub fn spread(queues: u32, index: c_int, variable: Option<&str>) -> Option<Spread> {
    let limit = queues_variable(variable);
    let (first, wanted) = match (index, limit) {
        (-1, limit) => (0, limit.unwrap_or(u32::MAX)),
        (index, limit) => (
            u32::try_from(index).ok().filter(|&i| i < queues)?,
            limit.unwrap_or(1),
        ),
    };
    if queues == 0 {
        return None;
    }
    Some(Spread {
        first,
        count: wanted.min(queues).min(MAX_QUEUES as u32),
    })
}

/// The spread of a create, reading `AML_DMA_ZE_QUEUES` now.
pub fn spread_from_environment(queues: u32, index: c_int) -> Option<Spread> {
    spread(queues, index, secure_env(c"AML_DMA_ZE_QUEUES").as_deref())
}

/// One list of a dma over several queues.
pub struct Lane {
    pub list: ze_command_list_handle_t,
    /// Serialises appends to `list`; lane 0 uses the dma's lock instead.
    lock: Mutex<()>,
    assigned: AtomicU64,
    credited: AtomicU64,
    epoch: AtomicU32,
}

impl Lane {
    fn outstanding(&self) -> u64 {
        self.assigned
            .load(Ordering::Relaxed)
            .saturating_sub(self.credited.load(Ordering::Relaxed))
    }
}

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
}

/// Splits `size` bytes over `lanes` (in that order) in page-aligned parts;
/// fewer parts when the size does not fill them all, one for size 0 (a copy
/// of nothing still signals its event).
fn split(size: usize, lanes: &[usize]) -> Plan {
    let mut plan = Plan {
        parts: [Part::default(); MAX_QUEUES],
        count: 0,
    };
    if size == 0 {
        plan.parts[0] = Part {
            lane: lanes[0],
            offset: 0,
            len: 0,
        };
        plan.count = 1;
        return plan;
    }
    let chunk = size
        .div_ceil(lanes.len())
        .next_multiple_of(PART_ALIGNMENT)
        .max(1);
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

/// The lanes of a dma over several queues, with their placement state.
pub struct Lanes {
    lanes: Box<[Lane]>,
    /// Copies of at least this many bytes are split; 0: never.
    split_bytes: usize,
    /// Large copies placed so far that went one way or the other.
    large_copies: AtomicU64,
    /// For each way, the `large_copies` count when one last went that way
    /// (0: never).
    last_seen: [AtomicU64; 2],
}

// SAFETY: list handles are plain addresses usable from any thread; appends
// to each are serialised by its lock (lane 0: the dma's lock).
unsafe impl Send for Lanes {}
unsafe impl Sync for Lanes {}

/// Holds a lane's append lock (nothing for lane 0, whose lock is the dma's).
pub struct LaneGuard<'a>(#[allow(dead_code)] Option<MutexGuard<'a, ()>>);

/// Snapshot a barrier takes when it is appended: what each lane had been assigned.
pub struct BarrierMark {
    assigned: [u64; MAX_QUEUES],
    credited: [u64; MAX_QUEUES],
}

impl Lanes {
    /// `lists[0]` is the dma's `command_list`. Reads `AML_DMA_ZE_SPLIT_BYTES` now.
    pub fn new(lists: &[ze_command_list_handle_t]) -> Lanes {
        Self::with_split(
            lists,
            split_variable(secure_env(c"AML_DMA_ZE_SPLIT_BYTES").as_deref()),
        )
    }

    fn with_split(lists: &[ze_command_list_handle_t], split_bytes: usize) -> Lanes {
        let lanes = lists
            .iter()
            .map(|&list| Lane {
                list,
                lock: Mutex::new(()),
                assigned: AtomicU64::new(0),
                credited: AtomicU64::new(0),
                epoch: AtomicU32::new(0),
            })
            .collect();
        Lanes {
            lanes,
            split_bytes,
            large_copies: AtomicU64::new(0),
            last_seen: [AtomicU64::new(0), AtomicU64::new(0)],
        }
    }

    pub fn len(&self) -> usize {
        self.lanes.len()
    }

    pub fn lists(&self) -> impl Iterator<Item = ze_command_list_handle_t> + '_ {
        self.lanes.iter().map(|lane| lane.list)
    }

    pub fn split_bytes(&self) -> usize {
        self.split_bytes
    }

    /// Takes lane `lane`'s append lock. The caller holds the dma's lock.
    pub fn lock(&self, lane: usize) -> LaneGuard<'_> {
        LaneGuard((lane != 0).then(|| self.lanes[lane].lock.lock()))
    }

    /// Where a copy of `size` bytes goes, its bytes counted as assigned. A
    /// copy of at least `split_bytes` is split over the idle lanes it may use
    /// if two or more are idle (a part queued behind other work would only
    /// finish later); any other copy goes whole to the lane with least
    /// outstanding. A large copy may use every lane, unless copies went the
    /// other way lately: then each way keeps to its half of the lanes (to the
    /// device the first half, from it the second), as Intel's driver splits
    /// each way over its own copy engines, so that a split one way never
    /// queues the other way behind it. `direction` is asked only for large
    /// copies (it costs a driver lookup). The caller holds the dma's lock,
    /// which serialises placements.
    pub fn place(&self, size: usize, direction: impl FnOnce() -> Direction) -> Plan {
        let large = self.split_bytes != 0 && size >= self.split_bytes && self.lanes.len() >= 2;
        let usable = if large { self.usable_lanes(direction()) } else { 0..self.lanes.len() };
        let mut idle = [0usize; MAX_QUEUES];
        let mut idle_count = 0;
        let mut best = usable.start;
        let mut best_outstanding = u64::MAX;
        for index in usable {
            let outstanding = self.lanes[index].outstanding();
            if outstanding == 0 {
                idle[idle_count] = index;
                idle_count += 1;
            }
            if outstanding < best_outstanding {
                best = index;
                best_outstanding = outstanding;
            }
        }
        let plan = if large && idle_count >= 2 {
            split(size, &idle[..idle_count])
        } else {
            split(size, &[best])
        };
        for part in plan.parts() {
            self.lanes[part.lane]
                .assigned
                .fetch_add(part.len as u64, Ordering::Relaxed);
        }
        plan
    }

    /// The lanes a large copy going `direction` may use, noting the way it goes.
    fn usable_lanes(&self, direction: Direction) -> std::ops::Range<usize> {
        let all = 0..self.lanes.len();
        let Some(way) = direction.way() else {
            return all;
        };
        let count = self.large_copies.fetch_add(1, Ordering::Relaxed) + 1;
        self.last_seen[way].store(count, Ordering::Relaxed);
        let other = self.last_seen[1 - way].load(Ordering::Relaxed);
        if other == 0 || count - other > DUPLEX_WINDOW {
            return all;
        }
        let to_device = self.lanes.len() - self.lanes.len() / 2;
        if way == 0 {
            0..to_device
        } else {
            to_device..self.lanes.len()
        }
    }

    /// Takes back the bytes of a plan that was not (all) submitted.
    pub fn unplace(&self, plan: &Plan) {
        for part in plan.parts() {
            self.lanes[part.lane]
                .assigned
                .fetch_sub(part.len as u64, Ordering::Relaxed);
        }
    }

    /// The placement record of `part`, for its block.
    pub fn work(&self, part: &Part) -> Work {
        Work {
            queue: part.lane as u32,
            epoch: self.lanes[part.lane].epoch.load(Ordering::Relaxed),
            bytes: part.len as u64,
        }
    }

    /// Completion of `block` (and its parts) was observed. Each record is
    /// cleared once credited, so a block reused by a custom operator (which
    /// records nothing) credits nothing; a record left by a retired block
    /// was never credited, and is owed.
    #[cold]
    #[inline(never)]
    pub fn credit(&self, block: &RequestBlock) {
        self.credit_work(block.work());
        block.set_work(Work::default());
        block.for_each_part(|part| {
            self.credit_work(part.work());
            part.set_work(Work::default());
        });
    }

    fn credit_work(&self, work: Work) {
        if work.bytes == 0 {
            return;
        }
        let Some(lane) = self.lanes.get(work.queue as usize) else {
            return;
        };
        // Work a barrier already counted belongs to an older epoch.
        if lane.epoch.load(Ordering::Relaxed) == work.epoch {
            lane.credited.fetch_add(work.bytes, Ordering::Relaxed);
        }
    }

    /// A barrier is being appended (the dma's lock is held): later work is a new epoch.
    pub fn barrier_appended(&self) -> BarrierMark {
        let mut mark = BarrierMark {
            assigned: [0; MAX_QUEUES],
            credited: [0; MAX_QUEUES],
        };
        for (index, lane) in self.lanes.iter().enumerate() {
            lane.epoch.fetch_add(1, Ordering::Relaxed);
            mark.assigned[index] = lane.assigned.load(Ordering::Relaxed);
            mark.credited[index] = lane.credited.load(Ordering::Relaxed);
        }
        mark
    }

    /// The barrier completed: everything assigned before it is done.
    pub fn barrier_completed(&self, mark: &BarrierMark) {
        for (index, lane) in self.lanes.iter().enumerate() {
            lane.credited.fetch_add(
                mark.assigned[index].saturating_sub(mark.credited[index]),
                Ordering::Relaxed,
            );
        }
    }
}

/// A copy the dma can place itself: `aml_dma_ze_memcpy_op`, `aml_dma_ze_copy_1D`,
/// or `aml_dma_ze_copy_nd` (the default operator) when its plan is one contiguous copy.
struct Copy {
    dst: *mut u8,
    src: *const u8,
    size: usize,
}

/// The copy behind a builtin operator, `None` for a custom one.
///
/// # Safety
/// As `DmaBlock::request_create`.
unsafe fn builtin_copy(
    dst: *mut aml_layout,
    src: *mut aml_layout,
    op: Op,
    arg: *mut c_void,
) -> Result<Option<Copy>, AmlError> {
    match op {
        Op::Memcpy => Ok(Some(Copy {
            dst: dst.cast(),
            src: src.cast(),
            size: arg as usize,
        })),
        // A strided copy_nd runs as an operator on the first list: its
        // regions and joining barrier belong on one in-order list.
        Op::Call { builtin: Some(Builtin::CopyNd), .. } => {
            // SAFETY: layouts valid or NULL by the operator's contract.
            let (dst, src) = unsafe { (read_view(dst)?, read_view(src)?) };
            Ok(copy_nd::plan(&dst, &src)?.as_one_copy().map(|(dst, src, size)| Copy {
                dst: dst as *mut u8,
                src: src as *const u8,
                size,
            }))
        }
        // `aml_dma_ze_copy_1D`: read its layouts as it would.
        Op::Call { builtin: Some(Builtin::Copy1D), .. } => {
            // SAFETY: layouts valid or NULL by the operator's contract.
            let (dst, src) = unsafe { (read_flat(dst)?, read_flat(src)?) };
            if dst.bytes != src.bytes {
                return Err(AmlError::EINVAL);
            }
            Ok(Some(Copy {
                dst: dst.raw.cast(),
                src: src.raw.cast(),
                size: dst.bytes,
            }))
        }
        Op::Call { .. } => Ok(None),
    }
}

/// Blocks taken for the parts of one request, by part index.
struct PartBlocks {
    blocks: [Option<Taken>; MAX_QUEUES],
}

impl PartBlocks {
    fn new() -> Self {
        PartBlocks {
            blocks: std::array::from_fn(|_| None),
        }
    }

    fn event(&self, index: usize) -> ze_event_handle_t {
        self.blocks[index]
            .as_ref()
            .map_or(ptr::null_mut(), |block| block.event())
    }
}

impl DmaBlock {
    /// Which way a copy goes, from the driver's view of its two buffers; a
    /// failed lookup (a placement hint, never a correctness matter) is `Other`.
    ///
    /// # Safety
    /// `dst` and `src` are the caller's copy pointers (any address will do:
    /// the driver only looks them up).
    unsafe fn direction(&self, dst: *mut u8, src: *const u8) -> Direction {
        let on_device = |address: *const u8| -> Option<bool> {
            let mut properties = ze_memory_allocation_properties_t {
                stype: ZE_STRUCTURE_TYPE_MEMORY_ALLOCATION_PROPERTIES,
                ..Default::default()
            };
            let mut device: ze_device_handle_t = ptr::null_mut();
            // SAFETY: a live context, an address only looked up, valid out-pointers.
            unsafe { self.ze.mem_get_alloc_properties(self.context, address.cast(), &mut properties, &mut device) }
                .ok()?;
            match properties.type_ {
                ZE_MEMORY_TYPE_DEVICE => Some(true),
                ZE_MEMORY_TYPE_HOST | ZE_MEMORY_TYPE_UNKNOWN => Some(false),
                _ => None,
            }
        };
        match (on_device(dst), on_device(src)) {
            (Some(true), Some(false)) => Direction::ToDevice,
            (Some(false), Some(true)) => Direction::FromDevice,
            _ => Direction::Other,
        }
    }

    /// Takes `count` blocks for parts (none if `want`is false); on failure
    /// the ones taken go back.
    ///
    /// # Safety
    /// The dma's lock is held.
    unsafe fn take_parts(&self, want: bool, count: usize) -> Result<PartBlocks, AmlError> {
        let mut parts = PartBlocks::new();
        if want {
            for index in 0..count {
                // SAFETY: forwarded contract.
                match unsafe { self.recycler.take(self.ze) } {
                    Ok(block) => parts.blocks[index] = Some(block),
                    Err(error) => {
                        self.give_back_parts(parts, 0);
                        return Err(error.into());
                    }
                }
            }
        }
        Ok(parts)
    }

    /// After a failure: parts below `submitted` may still be signalled by
    /// their lists and are retired; the others go back unused.
    fn give_back_parts(&self, parts: PartBlocks, submitted: usize) {
        for (index, block) in parts.blocks.into_iter().enumerate() {
            if let Some(block) = block {
                if index < submitted {
                    self.recycler.retire(block);
                } else {
                    self.recycler.give_back_unsubmitted(block);
                }
            }
        }
    }

    /// `request_create` of a dma over several queues. Out of line and cold,
    /// so that the single-list path it branches off stays as small as it was.
    ///
    /// # Safety
    /// As `request_create`.
    #[cold]
    #[inline(never)]
    pub(crate) unsafe fn request_create_spread(
        &self,
        lanes: &Lanes,
        want: bool,
        dst: *mut aml_layout,
        src: *mut aml_layout,
        op: Op,
        arg: *mut c_void,
    ) -> Result<*mut aml_dma_request, AmlError> {
        let guard = self.lock_appends();
        // SAFETY: forwarded contract.
        let Some(copy) = unsafe { builtin_copy(dst, src, op, arg) }? else {
            // A custom operator appends to `command_list` under the dma's lock, as with one list.
            // SAFETY: forwarded contract.
            return unsafe { self.request_create_locked(guard, want, dst, src, op, arg) };
        };
        // SAFETY: the copy's pointers come from the caller's request.
        let plan = lanes.place(copy.size, || unsafe { self.direction(copy.dst, copy.src) });
        let parts = plan.parts();
        let last = parts.len() - 1;
        let main = if want {
            // SAFETY: the dma's lock is held.
            match unsafe { self.recycler.take(self.ze) } {
                Ok(block) => Some(block),
                Err(error) => {
                    lanes.unplace(&plan);
                    return Err(error.into());
                }
            }
        } else {
            None
        };
        let main_event = main.as_ref().map_or(ptr::null_mut(), |block| {
            block.fresh_request();
            block.event()
        });
        // SAFETY: the dma's lock is held.
        let part_blocks = match unsafe { self.take_parts(want && last > 0, last) } {
            Ok(blocks) => blocks,
            Err(error) => {
                lanes.unplace(&plan);
                if let Some(main) = main {
                    self.recycler.give_back_unsubmitted(main);
                }
                return Err(error);
            }
        };
        let mut wait = [ptr::null_mut(); MAX_QUEUES];
        let mut guard = Some(guard);
        let mut outcome = Ok(());
        let mut submitted = 0;
        for (index, part) in parts.iter().enumerate() {
            let lane_guard = lanes.lock(part.lane);
            if parts.len() == 1 && part.lane != 0 {
                // A whole copy on another lane: the lane's lock is enough from here.
                guard = None;
            }
            let list = lanes.lanes[part.lane].list;
            // SAFETY: the caller's pointers span `size` bytes, so each part is inside them.
            let (part_dst, part_src) =
                unsafe { (copy.dst.add(part.offset), copy.src.add(part.offset)) };
            let signal = if index < last {
                part_blocks.event(index)
            } else if last == 0 {
                main_event
            } else {
                ptr::null_mut()
            };
            // SAFETY: live list, its append lock held; the part spans the caller's buffers.
            outcome = unsafe {
                self.ze.command_list_append_memory_copy(
                    list,
                    part_dst.cast(),
                    part_src.cast(),
                    part.len,
                    signal,
                    0,
                    ptr::null_mut(),
                )
            };
            if outcome.is_err() {
                break;
            }
            if index < last {
                wait[index] = signal;
                submitted = index + 1;
            } else if last > 0 && want {
                // The last list signals the request once every part is done.
                // SAFETY: live list and events of this context, lock held.
                outcome = unsafe {
                    self.ze.command_list_append_barrier(
                        list,
                        main_event,
                        last as u32,
                        wait.as_mut_ptr(),
                    )
                };
            }
            drop(lane_guard);
        }
        drop(guard);
        if let Err(error) = outcome {
            lanes.unplace(&plan);
            self.give_back_parts(part_blocks, submitted);
            if let Some(main) = main {
                // The request's event is signalled only by the last append, which failed.
                self.recycler.give_back_unsubmitted(main);
            }
            return Err(error.into());
        }
        let Some(main) = main else {
            return Ok(ptr::null_mut());
        };
        main.set_work(lanes.work(&parts[last]));
        for (index, block) in part_blocks.blocks.into_iter().enumerate() {
            if let Some(block) = block {
                block.set_work(lanes.work(&parts[index]));
                main.attach(block);
            }
        }
        Ok(self.recycler.hand_out(main))
    }

    /// `barrier` of a dma over several queues: a barrier on every other lane
    /// signals a part event, and lane 0's barrier waits for them all before it
    /// signals the one event the host waits for.
    pub(crate) fn barrier_spread(&self, lanes: &Lanes) -> Result<(), AmlError> {
        let ze = self.ze;
        let others = lanes.len() - 1;
        let guard = self.lock_appends();
        // SAFETY: the dma's lock is held.
        let main = unsafe { self.recycler.take(ze) }?;
        // SAFETY: as above.
        let parts = match unsafe { self.take_parts(true, others) } {
            Ok(parts) => parts,
            Err(error) => {
                self.recycler.give_back_unsubmitted(main);
                return Err(error);
            }
        };
        let retired = self.recycler.take_retired();
        let mark = lanes.barrier_appended();
        let mut wait = [ptr::null_mut(); MAX_QUEUES];
        let mut submitted = 0;
        let mut appended = Ok(());
        for (index, slot) in wait.iter_mut().enumerate().take(others) {
            let lane = index + 1;
            let _lane_guard = lanes.lock(lane);
            *slot = parts.event(index);
            // SAFETY: live list and event, its lock held; no wait list.
            appended = unsafe {
                ze.command_list_append_barrier(
                    lanes.lanes[lane].list,
                    *slot,
                    0,
                    ptr::null_mut(),
                )
            };
            if appended.is_err() {
                break;
            }
            submitted = index + 1;
        }
        if appended.is_ok() {
            // SAFETY: the first list, under the dma's lock; events of this context.
            appended = unsafe {
                ze.command_list_append_barrier(
                    self.list,
                    main.event(),
                    others as u32,
                    wait.as_mut_ptr(),
                )
            };
        }
        drop(guard);
        if let Err(error) = appended {
            self.recycler.put_retired(ze, retired, false);
            self.give_back_parts(parts, submitted);
            self.recycler.give_back_unsubmitted(main);
            return Err(error.into());
        }
        for block in parts.blocks.into_iter().flatten() {
            main.attach(block);
        }
        // SAFETY: live event, just appended as the barrier's signal.
        if let Err(error) = unsafe { ze.event_host_synchronize(main.event(), u64::MAX) } {
            self.recycler.put_retired(ze, retired, false);
            self.recycler.retire(main);
            return Err(error.into());
        }
        lanes.barrier_completed(&mark);
        self.recycler.put_retired(ze, retired, true);
        self.recycler.give_back(ze, main)?;
        Ok(())
    }
}

/// The `fprintf` line naming every list of a spread dma.
pub fn lists_line(prefix: &str, lanes: &Lanes) -> String {
    let lists: Vec<String> = lanes.lists().map(|list| format!("{list:p}")).collect();
    format!(
        "{prefix}dma-ze: command_lists: {} ({})\n{prefix}dma-ze: split_bytes: {}\n",
        lanes.len(),
        lists.join(" "),
        lanes.split_bytes()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_alone_is_one_queue_and_minus_one_every_queue() {
        assert_eq!(spread(7, 2, None), Some(Spread { first: 2, count: 1 }));
        assert_eq!(spread(7, -1, None), Some(Spread { first: 0, count: 7 }));
        assert_eq!(spread(7, 7, None), None);
        assert_eq!(spread(7, -2, None), None);
        assert_eq!(
            spread(7, 3, Some("all")),
            Some(Spread { first: 3, count: 7 })
        );
        assert_eq!(spread(7, 3, Some("2")), Some(Spread { first: 3, count: 2 }));
        assert_eq!(
            spread(7, -1, Some("4")),
            Some(Spread { first: 0, count: 4 })
        );
        assert_eq!(
            spread(1, 0, Some("all")),
            Some(Spread { first: 0, count: 1 })
        );
        // Malformed values are ignored.
        assert_eq!(spread(7, 1, Some("0")), Some(Spread { first: 1, count: 1 }));
        assert_eq!(
            spread(7, 1, Some("many")),
            Some(Spread { first: 1, count: 1 })
        );
        assert_eq!(
            spread(64, -1, None),
            Some(Spread {
                first: 0,
                count: MAX_QUEUES as u32
            })
        );
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
        assert_eq!(
            split(0, &[3, 1]).parts(),
            &[Part {
                lane: 3,
                offset: 0,
                len: 0
            }]
        );
    }

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
            for lane in lanes.lanes.iter() {
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
        for lane in four.lanes.iter() {
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
        for lane in four.lanes.iter() {
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

    fn lanes(count: usize, split_bytes: usize) -> Lanes {
        let lists: Vec<ze_command_list_handle_t> =
            (1..=count).map(|n| n as ze_command_list_handle_t).collect();
        Lanes::with_split(&lists, split_bytes)
    }

    #[test]
    fn requests_go_to_the_least_loaded_lane_and_large_ones_split_over_idle_lanes() {
        let lanes = lanes(3, 1 << 20);
        assert_eq!(lanes.place(100, other).parts()[0].lane, 0);
        assert_eq!(lanes.place(100, other).parts()[0].lane, 1);
        assert_eq!(lanes.place(50, other).parts()[0].lane, 2);
        assert_eq!(
            lanes.place(10, other).parts()[0].lane,
            2,
            "lane 2 has least outstanding"
        );
        // Only lanes 0..2 busy: a large copy is not split, it goes whole.
        assert_eq!(lanes.place(4 << 20, other).parts().len(), 1);
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
        let work = lanes.work(&plan.parts()[0]);
        assert_eq!(lanes.lanes[0].outstanding(), 100);
        lanes.credit_work(work);
        assert_eq!(lanes.lanes[0].outstanding(), 0);
        let plan = lanes.place(70, other);
        let work = lanes.work(&plan.parts()[0]);
        let mark = lanes.barrier_appended();
        lanes.barrier_completed(&mark);
        assert_eq!(lanes.lanes[0].outstanding(), 0);
        // Its completion seen after the barrier is not counted twice.
        lanes.credit_work(work);
        lanes.place(30, other);
        assert_eq!(lanes.lanes[0].outstanding(), 30);
    }
}
