//! A dma at work against the scripted fake driver (`level_zero::fake`),
//! through the entries C reaches (`engine`'s request create, wait, destroy
//! and barrier): the single list's order (`fence`) and its failure paths,
//! and a dma over several lanes (`lanes`: placement, markers, joins, the
//! gathering of the first list before an operator, and the barrier over
//! every lane) with its own: a split failing after parts ran, before or at
//! its join; a take failing behind markers or in the barrier; a marker or
//! the first list's barrier failing before an operator. Each test checks
//! what is left: the recycler's counts, what the driver was asked to append,
//! that the dma still works, and (on the fake's drop) that no event was
//! reset or re-signalled while the device might still signal it.

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::AtomicU64;

use ze_sys::*;

use crate::abi::*;
use crate::append_lock::AppendLock;
use crate::capi::aml_dma_ze_memcpy_op;
use crate::engine::{DmaBlock, DMA_MAGIC};
use crate::error::AmlError;
use crate::events::{Recycler, RecyclerCounts};
use crate::in_order::Mode;
use crate::lanes::Lanes;
use crate::level_zero::fake::{Append, Call, Fake, DEVICE, DRIVER};
use crate::level_zero::{Context, Device, Driver, ImmediateList};
use crate::operator::Op;

/// A dma made as `lifecycle::create` makes one, on the fake driver, with
/// `lanes` lists. Dropped as `lifecycle::destroy` drops it (the block's
/// fields in order), then the fake, which checks what it saw.
struct Dma {
    block: Box<DmaBlock>,
    _mutex: Box<UnsafeCell<libc::pthread_mutex_t>>,
    fake: Fake,
}

/// The block of a dma made as `lifecycle::create` makes one, on `fake`,
/// with `lanes` lists, and the mutex C would see as its `data.lock` (to drop
/// after the block). Also the loom test's dma (`lanes_loom`).
pub(crate) fn dma_block(fake: &Fake, mode: Mode, lanes: usize, split_bytes: usize) -> (Box<DmaBlock>, Box<UnsafeCell<libc::pthread_mutex_t>>) {
    let ze = fake.ze();
    let device = Device::fake(DEVICE);
    let context = Context::create(ze, Driver::fake(DRIVER)).expect("a fake context");
    let mut lists: Vec<ImmediateList> = (0..lanes)
        .map(|_| ImmediateList::create(&context, device, 1, 0, mode.queue_flags(0)).expect("a fake list"))
        .collect();
    let list = lists.remove(0);
    let lanes = Lanes::new(lists, mode, split_bytes, None, None);
    let mutex = Box::new(UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER));
    let data = aml_dma_ze_data {
        context: context.as_raw(),
        device: device.as_raw(),
        command_list: list.as_raw(),
        event_flags: ZE_EVENT_SCOPE_FLAG_HOST,
        // SAFETY: an all-zero pthread_mutex_t is a valid value; C never sees this one.
        lock: unsafe { std::mem::zeroed() },
    };
    let block = Box::new(DmaBlock {
        dma: aml_dma { ops: ptr::null_mut(), data: ptr::null_mut() },
        data: UnsafeCell::new(data),
        magic: AtomicU64::new(DMA_MAGIC),
        ze,
        driver: Driver::fake(DRIVER),
        device,
        // SAFETY: an initialised mutex, boxed so it never moves, dropped
        // after the block; every append to the list is made under it.
        first: unsafe { AppendLock::new(list, mutex.get()) },
        lanes,
        recycler: Recycler::new(device, ZE_EVENT_SCOPE_FLAG_HOST, mode),
        context,
        event_flags: ZE_EVENT_SCOPE_FLAG_HOST,
    });
    (block, mutex)
}

impl Dma {
    fn new(mode: Mode, lanes: usize, split_bytes: usize) -> Dma {
        let fake = Fake::new();
        let (block, mutex) = dma_block(&fake, mode, lanes, split_bytes);
        Dma { block, _mutex: mutex, fake }
    }

    /// A copy of `size` bytes from `src` to `dst` (addresses the fake never reads).
    fn copy(&self, dst: usize, src: usize, size: usize, want: bool) -> Result<*mut aml_dma_request, AmlError> {
        // SAFETY: `aml_dma_ze_memcpy_op`'s arguments; the fake copies nothing.
        unsafe { self.block.request_create(want, dst as *mut _, src as *mut _, Op::Memcpy, size as *mut c_void) }
    }

    fn wait(&self, req: *mut aml_dma_request) -> Result<(), AmlError> {
        // SAFETY: a request this dma handed out.
        self.block.request_wait(unsafe { self.block.claim_request(req) }.expect("live"))
    }

    fn destroy(&self, req: *mut aml_dma_request) -> Result<(), AmlError> {
        // SAFETY: as in `wait`.
        self.block.request_destroy(unsafe { self.block.claim_request(req) }.expect("live"))
    }

    fn counts(&self) -> RecyclerCounts {
        self.block.counts()
    }

    /// The appends from the `from`-th on, as (call, the index of its list, signals, waits on how many).
    fn appended(&self, from: usize) -> Vec<(Call, usize, bool, usize)> {
        let lists = self.lists();
        let lane = |append: &Append| lists.iter().position(|&l| l == append.list).expect("a list of the dma");
        self.fake.appends()[from..].iter().map(|a| (a.call, lane(a), a.signal != 0, a.wait.len())).collect()
    }

    fn lists(&self) -> Vec<usize> {
        let first = self.block.first.list().as_raw() as usize;
        let mut lists = vec![first];
        if self.block.lanes.len() > 1 {
            let line = self.block.lanes.lists_line("", self.block.first.list());
            let named = line.split(['(', ')']).nth(1).expect("the lists, named");
            lists = named.split(' ').map(|l| usize::from_str_radix(&l[2..], 16).expect("a pointer")).collect();
        }
        lists
    }

    /// A dma over `lanes` lists, its device held, and a request destroyed
    /// while it runs: retired.
    fn with_a_retired_request(lanes: usize) -> Dma {
        let dma = Dma::new(Mode::Fenced, lanes, 0);
        dma.fake.hold();
        let req = dma.copy(0x100_000, 0x800_000, 4096, true).expect("created");
        dma.destroy(req).expect("retired");
        dma
    }

    /// A request of a custom operator (the library's memcpy operator, called
    /// as any other: the engine knows nothing of what it touches).
    fn custom(&self, dst: usize, src: usize, size: usize, want: bool) -> Result<*mut aml_dma_request, AmlError> {
        // SAFETY: `aml_dma_ze_memcpy_op`'s arguments; the fake copies nothing.
        unsafe { self.block.request_create(want, dst as *mut _, src as *mut _, Op::Custom(aml_dma_ze_memcpy_op), size as *mut c_void) }
    }

    /// Every block back on the free stack: none retired, in use or lost.
    fn assert_all_free(&self) {
        let after = self.counts();
        assert_eq!((after.retired, after.in_use, after.lost, after.free), (0, 0, 0, after.events), "{after:?}");
    }
}

const MB: usize = 1 << 20;
use Call::{AppendBarrier as Barrier, AppendCopy as CopyCall};

fn counts(events: usize, free: usize, retired: usize, in_use: usize, lost: usize) -> RecyclerCounts {
    RecyclerCounts { pools: usize::from(events > 0), events, free, retired, in_use, lost }
}

#[test]
fn one_list_needs_a_barrier_only_after_work_not_seen_complete() {
    let dma = Dma::new(Mode::Fenced, 1, 0);
    let req = dma.copy(0x10_000, 0x20_000, 64, true).expect("created");
    dma.wait(req).expect("waited");
    dma.fake.hold();
    let req = dma.copy(0x10_000, 0x20_000, 64, true).expect("created");
    assert_eq!(dma.appended(0), vec![(CopyCall, 0, true, 0), (CopyCall, 0, true, 0)], "seen complete: no barrier");
    dma.destroy(req).expect("retired: still running");
    dma.copy(0x10_000, 0x20_000, 64, false).expect("created");
    let req = dma.copy(0x10_000, 0x20_000, 64, true).expect("created");
    assert_eq!(
        dma.appended(2),
        vec![(Barrier, 0, false, 0), (CopyCall, 0, false, 0), (Barrier, 0, false, 0), (CopyCall, 0, true, 0)],
        "each behind a barrier: the copy before it was not seen complete"
    );
    dma.wait(req).expect("waited");
    dma.block.barrier().expect("a barrier");
    assert_eq!(dma.counts(), counts(2, 2, 0, 0, 0), "the barrier reclaimed the destroyed request's block");
}

#[test]
fn an_in_order_dma_appends_no_barrier_and_resets_no_event() {
    let dma = Dma::new(Mode::InOrder, 1, 0);
    dma.fake.hold();
    let first = dma.copy(0x10_000, 0x20_000, 64, true).expect("created");
    let second = dma.copy(0x10_000, 0x20_000, 64, true).expect("created");
    dma.wait(second).expect("waited");
    dma.wait(first).expect("waited");
    assert_eq!(dma.appended(0), vec![(CopyCall, 0, true, 0), (CopyCall, 0, true, 0)]);
    assert_eq!((dma.fake.calls(Call::HostReset), dma.counts()), (0, counts(2, 2, 0, 0, 0)));
}

#[test]
fn a_failed_append_or_take_gives_the_block_back_unused() {
    let dma = Dma::new(Mode::Fenced, 1, 0);
    dma.fake.fail(CopyCall, 1, ZE_RESULT_ERROR_INVALID_SIZE);
    assert_eq!(dma.copy(0x10_000, 0x20_000, 64, true), Err(AmlError::EINVAL));
    assert_eq!(dma.counts(), counts(1, 1, 0, 0, 0));
    dma.fake.fail(Call::EventCreate, 1, ZE_RESULT_ERROR_OVERLAPPING_REGIONS);
    let held = dma.copy(0x10_000, 0x20_000, 64, true).expect("the free block");
    assert_eq!(dma.copy(0x10_000, 0x20_000, 64, true), Err(AmlError::EDOM));
    // The failed copy appended nothing; the failed take came after its
    // list's fence (harmless: a barrier orders, and signals nothing).
    assert_eq!(dma.appended(0), vec![(CopyCall, 0, true, 0), (Barrier, 0, false, 0)]);
    dma.wait(held).expect("waited");
    dma.fake.fail(Barrier, 1, ZE_RESULT_ERROR_DEVICE_LOST);
    dma.fake.hold();
    let running = dma.copy(0x10_000, 0x20_000, 64, true).expect("created");
    dma.destroy(running).expect("retired");
    assert_eq!(dma.copy(0x10_000, 0x20_000, 64, true), Err(AmlError::FAILURE), "its fence failed, before its take");
    assert_eq!(dma.counts(), counts(1, 0, 1, 0, 0));
    dma.block.barrier().expect("a barrier");
}

#[test]
fn a_failed_wait_or_query_retires_the_block_until_a_barrier_sees_it() {
    let dma = Dma::new(Mode::Fenced, 1, 0);
    dma.fake.hold();
    let req = dma.copy(0x10_000, 0x20_000, 64, true).expect("created");
    dma.fake.fail(Call::HostSynchronize, 1, ZE_RESULT_ERROR_DEVICE_LOST);
    assert_eq!(dma.wait(req), Err(AmlError::FAILURE));
    let req = dma.copy(0x10_000, 0x20_000, 64, true).expect("created");
    dma.fake.fail(Call::QueryStatus, 1, ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE);
    assert_eq!(dma.destroy(req), Err(AmlError(-AML_EBUSY)));
    assert_eq!(dma.counts(), counts(2, 0, 2, 0, 0));
    dma.block.barrier().expect("a barrier");
    assert_eq!(dma.counts(), counts(3, 3, 0, 0, 0));
    assert_eq!(dma.fake.calls(Call::HostReset), 3);
}

#[test]
fn a_failed_reset_after_a_wait_loses_the_block_and_reports_it() {
    let dma = Dma::new(Mode::Fenced, 1, 0);
    let req = dma.copy(0x10_000, 0x20_000, 64, true).expect("created");
    dma.fake.fail(Call::HostReset, 1, ZE_RESULT_ERROR_UNKNOWN);
    assert!(dma.wait(req).is_err());
    assert_eq!(dma.counts(), counts(1, 0, 0, 0, 1));
    let req = dma.copy(0x10_000, 0x20_000, 64, true).expect("a new block");
    dma.fake.fail(Call::HostReset, 1, ZE_RESULT_ERROR_UNKNOWN);
    assert!(dma.destroy(req).is_err(), "complete, but its reset failed");
    assert_eq!(dma.counts(), counts(2, 0, 0, 0, 2));
}

#[test]
fn a_failed_barrier_puts_back_what_it_took_and_the_next_reclaims_it() {
    let dma = Dma::with_a_retired_request(1);
    dma.fake.fail(Barrier, 1, ZE_RESULT_ERROR_UNSUPPORTED_SIZE);
    assert_eq!(dma.block.barrier(), Err(AmlError::ENOTSUP));
    assert_eq!(dma.counts(), counts(2, 1, 1, 0, 0), "its own block unused, the retired one still retired");
    dma.fake.fail(Call::HostSynchronize, 1, ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
    assert_eq!(dma.block.barrier(), Err(AmlError::EINVAL));
    assert_eq!(dma.counts(), counts(2, 0, 2, 0, 0), "its own block retired too");
    dma.block.barrier().expect("a barrier");
    assert_eq!(dma.counts(), counts(3, 3, 0, 0, 0));
}

#[test]
fn independent_copies_spread_over_the_lanes() {
    let dma = Dma::new(Mode::Fenced, 3, 0);
    let reqs: Vec<_> = (0..3).map(|i| dma.copy(0x100_000 * (i + 1), 0x800_000 + 0x100_000 * i, MB / 2, true)).collect();
    let mut lanes: Vec<usize> = dma.appended(0).iter().map(|&(_, lane, _, _)| lane).collect();
    lanes.sort();
    assert_eq!(lanes, vec![0, 1, 2], "one copy a lane, none waiting");
    for req in reqs {
        dma.wait(req.expect("created")).expect("waited");
    }
    assert_eq!(dma.counts(), counts(3, 3, 0, 0, 0));
}

#[test]
fn a_copy_that_reads_what_two_lanes_write_waits_on_a_marker() {
    let dma = Dma::new(Mode::Fenced, 3, 0);
    dma.fake.hold();
    let a = dma.copy(0x100_000, 0x800_000, 4096, true).expect("created");
    let b = dma.copy(0x200_000, 0x900_000, 4096, true).expect("created");
    let c = dma.copy(0x300_000, 0x100_000, 0x200_000, true).expect("reads both");
    let appended = dma.appended(0);
    let (lane_a, lane_b) = (appended[0].1, appended[1].1);
    assert_ne!(lane_a, lane_b);
    let marker = appended[2];
    assert_eq!(marker.0, Barrier);
    assert!(marker.2 && [lane_a, lane_b].contains(&marker.1), "a marker on one of the lanes it follows");
    let copy = *appended.last().expect("the copy");
    assert_eq!((copy.0, copy.2, copy.3), (CopyCall, true, 1), "the copy waits on the marker");
    assert!([lane_a, lane_b].contains(&copy.1) && copy.1 != marker.1);
    assert!(appended[3..appended.len() - 1].iter().all(|&(call, _, _, _)| call == Barrier), "only fences between");
    let copy_event = dma.fake.appends().last().expect("the copy").signal as ze_event_handle_t;
    assert!(!dma.fake.signalled(copy_event), "held");
    dma.fake.finish();
    for req in [c, b, a] {
        dma.wait(req).expect("waited");
    }
    assert_eq!(dma.counts(), counts(4, 4, 0, 0, 0), "the marker went back with the copy");
}

#[test]
fn a_large_copy_is_split_and_its_parts_go_back_with_it() {
    let dma = Dma::new(Mode::Fenced, 3, MB);
    let req = dma.copy(0x1000_0000, 0x2000_0000, 3 * MB, true).expect("created");
    let appended = dma.appended(0);
    let copies = appended.iter().filter(|a| a.0 == CopyCall).count();
    assert!(copies > 1, "split: {appended:?}");
    let join = *appended.last().expect("the join");
    assert_eq!((join.0, join.2, join.3), (Barrier, true, copies - 1), "the last lane joins the parts");
    dma.wait(req).expect("waited");
    assert_eq!(dma.counts(), counts(copies, copies, 0, 0, 0));
}

#[test]
fn a_failed_marker_or_copy_on_a_lane_takes_no_block_for_good() {
    let dma = Dma::new(Mode::Fenced, 3, 0);
    dma.fake.hold();
    let a = dma.copy(0x100_000, 0x800_000, 4096, true).expect("created");
    let b = dma.copy(0x200_000, 0x900_000, 4096, true).expect("created");
    dma.fake.fail(Barrier, 1, ZE_RESULT_ERROR_DEVICE_LOST);
    assert_eq!(dma.copy(0x300_000, 0x100_000, 0x200_000, true), Err(AmlError::FAILURE), "its marker failed");
    assert_eq!(dma.counts().in_use, 2, "only the two requests C holds");
    dma.fake.fail(CopyCall, 1, ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY);
    assert_eq!(dma.copy(0x300_000, 0x100_000, 0x200_000, true), Err(AmlError::ENOMEM), "its copy failed");
    assert_eq!(dma.counts().in_use, 2);
    assert!(dma.counts().retired > 0, "the marker appended before stays out until seen complete");
    dma.fake.finish();
    dma.wait(a).expect("waited");
    dma.wait(b).expect("waited");
    dma.block.barrier().expect("a barrier over every lane");
    dma.assert_all_free();
}

#[test]
fn a_failed_take_on_the_lanes_leaves_nothing_placed() {
    let dma = Dma::new(Mode::Fenced, 3, 0);
    dma.fake.fail(Call::PoolCreate, 1, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY);
    assert_eq!(dma.copy(0x1000_0000, 0x2000_0000, 4 * MB, true), Err(AmlError::ENOMEM));
    assert_eq!((dma.counts(), dma.fake.appends().len()), (counts(0, 0, 0, 0, 0), 0));
    // Had the failed copy stayed placed, its lane would get none of these.
    let reqs: Vec<_> = (0..3).map(|i| dma.copy(0x100_000 * (i + 1), 0x800_000 + 0x100_000 * i, 4096, true)).collect();
    let mut lanes: Vec<usize> = dma.appended(0).iter().map(|&(_, lane, _, _)| lane).collect();
    lanes.sort();
    assert_eq!(lanes, vec![0, 1, 2]);
    for req in reqs {
        dma.wait(req.expect("created")).expect("waited");
    }
}

#[test]
fn the_barrier_over_every_lane_joins_them_and_its_failures_put_back_what_it_took() {
    let dma = Dma::with_a_retired_request(3);
    let before = dma.fake.appends().len();
    dma.fake.fail(Barrier, 2, ZE_RESULT_ERROR_DEVICE_LOST);
    assert_eq!(dma.block.barrier(), Err(AmlError::FAILURE));
    let counts_now = dma.counts();
    assert_eq!((counts_now.retired, counts_now.in_use), (2, 0), "the request and the part appended on lane 1");
    dma.fake.fail(Call::HostSynchronize, 1, ZE_RESULT_ERROR_DEVICE_LOST);
    assert_eq!(dma.block.barrier(), Err(AmlError::FAILURE));
    let counts_now = dma.counts();
    assert_eq!((counts_now.retired, counts_now.in_use), (3, 2), "its block retired, with its parts");
    let from = dma.fake.appends().len();
    dma.block.barrier().expect("a barrier");
    assert_eq!(dma.appended(from), vec![(Barrier, 1, true, 0), (Barrier, 2, true, 0), (Barrier, 0, true, 2)]);
    dma.assert_all_free();
    assert!(before < from);
}

/// Where the split copies of these tests write.
const SPLIT_DST: usize = 0x1000_0000;

/// Three held copies, on lanes 0, 1 and 2 in that order.
fn busy_lanes(dma: &Dma) -> Vec<*mut aml_dma_request> {
    dma.fake.hold();
    let reqs: Vec<_> =
        (0..3).map(|i| dma.copy(0x100_000 * (i + 1), 0x800_000 + 0x100_000 * i, 4096, true).expect("created")).collect();
    assert_eq!(dma.appended(0), vec![(CopyCall, 0, true, 0), (CopyCall, 1, true, 0), (CopyCall, 2, true, 0)]);
    reqs
}

/// A copy of `size` bytes from `src` that must follow outstanding work on
/// every lane: whole on lane 0 (every lane has as little outstanding),
/// behind a marker on each other lane and the fence of lane 0.
fn copy_behind_every_lane(dma: &Dma, dst: usize, src: usize, size: usize) -> *mut aml_dma_request {
    let from = dma.fake.appends().len();
    let req = dma.copy(dst, src, size, true).expect("created");
    let behind = vec![(Barrier, 1, true, 0), (Barrier, 2, true, 0), (Barrier, 0, false, 0), (CopyCall, 0, true, 2)];
    assert_eq!(dma.appended(from), behind, "markers on lanes 1 and 2, the copy on lane 0 waiting on both");
    req
}

/// Waits for `reqs` and a later `dependent` request, which leaves
/// `retired` blocks that no wait observed; a barrier over every lane
/// reclaims them: every block is free again.
fn drain(dma: &Dma, reqs: Vec<*mut aml_dma_request>, dependent: *mut aml_dma_request, retired: usize) {
    dma.fake.finish();
    for req in reqs.into_iter().chain([dependent]) {
        dma.wait(req).expect("waited");
    }
    assert_eq!(dma.counts().retired, retired, "only a barrier vouches for these");
    dma.block.barrier().expect("a barrier over every lane");
    dma.assert_all_free();
}

/// A split of 3 MB, a part per lane (lanes 0, 1, 2), on a held device, whose
/// `nth` call of `call` fails; what it appended before.
fn failed_split(call: Call, nth: u32, appended: Vec<(Call, usize, bool, usize)>) -> Dma {
    let dma = Dma::new(Mode::Fenced, 3, MB);
    dma.fake.hold();
    dma.fake.fail(call, nth, ZE_RESULT_ERROR_DEVICE_LOST);
    assert_eq!(dma.copy(SPLIT_DST, 0x2000_0000, 3 * MB, true), Err(AmlError::FAILURE));
    assert_eq!(dma.appended(0), appended);
    dma
}

#[test]
fn a_split_whose_second_part_fails_retires_the_first_and_later_work_follows_every_lane() {
    let dma = failed_split(CopyCall, 2, vec![(CopyCall, 0, true, 0)]);
    assert_eq!(dma.counts(), counts(3, 2, 1, 0, 0), "the part that ran retired, the other and the request's own free");
    // The first part still runs on lane 0: a read of what it writes must
    // wait there, though the table would have placed the whole request on
    // its last lane (2) had the join been appended.
    let dependent = copy_behind_every_lane(&dma, 0x4000_0000, SPLIT_DST, 4096);
    drain(&dma, Vec::new(), dependent, 1);
}

#[test]
fn a_split_whose_join_fails_retires_its_parts_and_later_work_follows_every_lane() {
    let parts = vec![(CopyCall, 0, true, 0), (CopyCall, 1, true, 0), (CopyCall, 2, false, 0)];
    let dma = failed_split(Barrier, 1, parts);
    assert_eq!(dma.counts(), counts(3, 1, 2, 0, 0), "both parts signalling an event retired, the request's own free");
    let dependent = copy_behind_every_lane(&dma, 0x4000_0000, SPLIT_DST + 2 * MB, 4096);
    drain(&dma, Vec::new(), dependent, 2);
}

#[test]
fn a_barrier_over_every_lane_that_fails_to_take_its_parts_leaks_nothing() {
    let dma = Dma::with_a_retired_request(3);
    // Its own block, the part of lane 1, then the part of lane 2 fails.
    dma.fake.fail(Call::EventCreate, 3, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY);
    assert_eq!(dma.block.barrier(), Err(AmlError::ENOMEM));
    assert_eq!(dma.counts(), counts(3, 2, 1, 0, 0), "what it took back free, the destroyed request still retired");
    assert_eq!(dma.fake.appends().len(), 1, "the barrier appended nothing");
    dma.block.barrier().expect("a barrier");
    assert_eq!(dma.appended(1), vec![(Barrier, 1, true, 0), (Barrier, 2, true, 0), (Barrier, 0, true, 2)]);
    dma.assert_all_free();
}

#[test]
fn a_request_whose_own_take_fails_behind_its_markers_retires_them_until_a_barrier() {
    let dma = Dma::new(Mode::Fenced, 3, 0);
    let reqs = busy_lanes(&dma);
    // The markers on lanes 1 and 2 are made and appended, the request's own block is not.
    dma.fake.fail(Call::EventCreate, 3, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY);
    assert_eq!(dma.copy(0x400_000, 0x100_000, 0x300_000, true), Err(AmlError::ENOMEM), "it reads what the three write");
    assert_eq!(dma.appended(3), vec![(Barrier, 1, true, 0), (Barrier, 2, true, 0)], "the markers alone");
    assert_eq!(dma.counts(), counts(5, 0, 2, 3, 0), "the markers retired: the device may still signal them");
    let again = copy_behind_every_lane(&dma, 0x400_000, 0x100_000, 0x300_000);
    drain(&dma, reqs, again, 2);
}

/// An operator's request on `dma` (busy on every lane: `busy_lanes`) whose
/// gathering of the first list fails at the `nth` barrier (the markers on
/// lanes 1 and 2, then the first list's barrier); `left` the counts after.
/// The same request then goes through, and the dma drains (what the
/// failure retired, and the block of the gathering that went through, wait
/// for the barrier).
fn gathering_fails(nth: u32, left: RecyclerCounts) {
    let dma = Dma::new(Mode::Fenced, 3, 0);
    let reqs = busy_lanes(&dma);
    dma.fake.fail(Barrier, nth, ZE_RESULT_ERROR_DEVICE_LOST);
    assert_eq!(dma.custom(0x400_000, 0x900_000, 4096, true), Err(AmlError::FAILURE));
    let markers: Vec<_> = [(Barrier, 1, true, 0), (Barrier, 2, true, 0)].into_iter().take(nth as usize - 1).collect();
    assert_eq!(dma.appended(3), markers, "the markers appended before, not the operator's copy");
    assert_eq!(dma.counts(), left);
    let from = dma.fake.appends().len();
    let req = dma.custom(0x400_000, 0x900_000, 4096, true).expect("created");
    let gathered = vec![(Barrier, 1, true, 0), (Barrier, 2, true, 0), (Barrier, 0, true, 2), (CopyCall, 0, true, 0)];
    assert_eq!(dma.appended(from), gathered, "the first list waits for both markers, then the operator copies");
    drain(&dma, reqs, req, left.retired + 1);
}

#[test]
fn an_operator_whose_marker_fails_retires_only_the_marker_appended() {
    gathering_fails(2, counts(5, 1, 1, 3, 0));
}

#[test]
fn an_operator_whose_gathering_barrier_fails_retires_its_markers_and_frees_its_own() {
    gathering_fails(3, counts(6, 1, 2, 3, 0));
}

