//! A dma at work against the scripted fake driver (`level_zero::fake`),
//! through the entries C reaches (`engine`'s request create, wait, destroy
//! and barrier): the single list's order (`fence`) and its failure paths,
//! and a dma over several lanes (`lanes`: placement, markers, joins and the
//! barrier over every lane) with its own. Each test checks what is left:
//! the recycler's counts, what the driver was asked to append, and (on the
//! fake's drop) that no event was reset or re-signalled while the device
//! might still signal it.

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::AtomicU64;

use ze_sys::*;

use crate::abi::*;
use crate::append_lock::AppendLock;
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
    let dma = Dma::new(Mode::Fenced, 1, 0);
    dma.fake.hold();
    let req = dma.copy(0x10_000, 0x20_000, 64, true).expect("created");
    dma.destroy(req).expect("retired");
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
    let after = dma.counts();
    assert_eq!((after.retired, after.in_use, after.free), (0, 0, after.events));
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
    let dma = Dma::new(Mode::Fenced, 3, 0);
    dma.fake.hold();
    let req = dma.copy(0x100_000, 0x800_000, 4096, true).expect("created");
    dma.destroy(req).expect("retired");
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
    let after = dma.counts();
    assert_eq!((after.retired, after.in_use, after.free), (0, 0, after.events));
    assert!(before < from);
}
