//! The recycler against the scripted fake driver (`level_zero::fake`): its
//! growth, every failure path of its Level Zero calls, and what it leaves
//! behind each time (counts, the free stack, what the driver saw). The fake
//! fails the test on drop if the recycler reset, destroyed or re-signalled an
//! event the device may still signal.

use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::Arc;

use ze_sys::*;

use super::*;
use crate::append_lock::AppendLock;
use crate::level_zero::fake::{Call, Fake, Live, DEVICE, DRIVER};
use crate::level_zero::{Context, Copy, Driver, ImmediateList};

/// A recycler over a fake driver's context and first list, with the append
/// lock its `take` asks for. Dropped as a dma is: the list, then the
/// recycler (events and pools), the context, and the fake last, which then
/// checks what it saw.
struct Rig {
    pub first: AppendLock,
    pub recycler: Recycler,
    pub context: Arc<Context>,
    _mutex: Box<UnsafeCell<libc::pthread_mutex_t>>,
    pub fake: Fake,
}

impl Rig {
    /// A rig whose lists and events follow `mode`. Use it where it is made:
    /// blocks name their recycler by address.
    pub fn new(mode: Mode) -> Rig {
        let fake = Fake::new();
        let context = Context::create(fake.ze(), Driver::fake(DRIVER)).expect("a fake context");
        let list = Rig::list(&context, mode);
        let mutex = Box::new(UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER));
        // SAFETY: an initialised mutex, boxed so it never moves, dropped after
        // the lock (field order); every append to the list is made under it.
        let first = unsafe { AppendLock::new(list, mutex.get()) };
        let recycler = Recycler::new(Device::fake(DEVICE), ZE_EVENT_SCOPE_FLAG_HOST, mode);
        Rig { first, recycler, context, _mutex: mutex, fake }
    }

    /// Another list in the rig's context.
    pub fn list(context: &Arc<Context>, mode: Mode) -> ImmediateList {
        ImmediateList::create(context, Device::fake(DEVICE), 0, 0, mode.queue_flags(0)).expect("a fake list")
    }

    pub fn ze(&self) -> &'static Ze {
        self.fake.ze()
    }

    pub fn take(&self) -> Result<Taken, ZeError> {
        self.recycler.take(self.ze(), &self.first.lock())
    }

    /// A copy on the first list signalling `block`'s event (an address the
    /// fake never reads).
    pub fn signal(&self, block: &RequestBlock) {
        // SAFETY: the fake driver copies nothing.
        let copy = unsafe { Copy::new(0x1000 as *mut u8, 0x2000 as *const u8, 64) };
        self.first.lock().first_list().copy(&copy, Some(block.event()), &[]).expect("appended");
    }

    /// The free stack, top first, left as it was.
    fn free_stack(&self) -> Vec<NonNull<RequestBlock>> {
        let _lock = self.first.lock();
        // SAFETY: the append lock is held: the only popper.
        let blocks: Vec<_> = std::iter::from_fn(|| unsafe { self.recycler.pop_free() }).collect();
        for &block in blocks.iter().rev() {
            self.recycler.push_free(block);
        }
        blocks
    }

    fn counts(&self) -> RecyclerCounts {
        self.recycler.counts()
    }
}

fn counts(pools: usize, events: usize, free: usize, retired: usize, in_use: usize, lost: usize) -> RecyclerCounts {
    RecyclerCounts { pools, events, free, retired, in_use, lost }
}

#[test]
fn take_grows_a_pool_at_a_time_and_reuses_what_comes_back_last_first() {
    let rig = Rig::new(Mode::Fenced);
    let taken: Vec<Taken> = (0..=EVENTS_PER_POOL).map(|_| rig.take().expect("grown")).collect();
    assert_eq!(rig.counts(), counts(2, 257, 0, 0, 257, 0));
    assert_eq!((rig.fake.calls(Call::PoolCreate), rig.fake.calls(Call::EventCreate)), (2, 257));
    let last = taken.last().expect("taken").0;
    for block in taken {
        rig.recycler.give_back_unsubmitted(block);
    }
    assert_eq!(rig.free_stack().len(), 257);
    assert_eq!(rig.counts(), counts(2, 257, 257, 0, 0, 0));
    let again = rig.take().expect("reused");
    assert_eq!(again.0, last, "the last block back is the first out");
    assert_eq!((rig.fake.calls(Call::PoolCreate), rig.fake.calls(Call::EventCreate)), (2, 257), "nothing made");
    rig.recycler.give_back_unsubmitted(again);
}

#[test]
fn a_failed_pool_create_leaves_nothing_and_the_next_take_grows() {
    let rig = Rig::new(Mode::Fenced);
    rig.fake.fail(Call::PoolCreate, 1, ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY);
    assert_eq!(rig.take().err(), Some(ZeError(ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY)));
    assert_eq!(rig.counts(), counts(0, 0, 0, 0, 0, 0));
    assert_eq!((rig.fake.live().pools, rig.fake.calls(Call::EventCreate)), (0, 0));
    let block = rig.take().expect("the next take grows");
    assert_eq!(rig.counts(), counts(1, 1, 0, 0, 1, 0));
    rig.recycler.give_back_unsubmitted(block);
}

#[test]
fn a_failed_event_create_keeps_the_pool_and_the_next_take_fills_it() {
    let rig = Rig::new(Mode::Fenced);
    rig.fake.fail(Call::EventCreate, 1, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY);
    assert_eq!(rig.take().err(), Some(ZeError(ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY)));
    assert_eq!(rig.counts(), counts(1, 0, 0, 0, 0, 0));
    assert_eq!(rig.fake.live(), Live { contexts: 1, lists: 1, pools: 1, events: 0 });
    // The same index again (the fake refuses a taken index), in the same pool.
    let block = rig.take().expect("the next take makes the event");
    assert_eq!((rig.fake.calls(Call::PoolCreate), rig.fake.live().events), (1, 1));
    assert_eq!(rig.counts(), counts(1, 1, 0, 0, 1, 0));
    rig.recycler.give_back_unsubmitted(block);
}

#[test]
fn growth_failing_past_a_full_pool_leaves_the_blocks_made_and_grows_next_time() {
    let rig = Rig::new(Mode::Fenced);
    let taken: Vec<Taken> = (0..EVENTS_PER_POOL).map(|_| rig.take().expect("first pool")).collect();
    rig.fake.fail(Call::PoolCreate, 1, ZE_RESULT_ERROR_DEVICE_LOST);
    assert_eq!(rig.take().err(), Some(ZeError(ZE_RESULT_ERROR_DEVICE_LOST)));
    assert_eq!(rig.counts(), counts(1, 256, 0, 0, 256, 0));
    rig.fake.fail(Call::EventCreate, 1, ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY);
    assert!(rig.take().is_err(), "the second pool is made, its first event is not");
    assert_eq!(rig.counts(), counts(2, 256, 0, 0, 256, 0));
    let block = rig.take().expect("grows into the second pool");
    assert_eq!((rig.fake.calls(Call::PoolCreate), rig.counts().events), (3, 257));
    for block in taken.into_iter().chain([block]) {
        rig.recycler.give_back_unsubmitted(block);
    }
    assert_eq!(rig.free_stack().len(), 257);
}

#[test]
fn give_back_resets_an_observed_event_and_frees_its_block() {
    let rig = Rig::new(Mode::Fenced);
    let block = rig.take().expect("taken");
    rig.signal(&block);
    block.event().host_synchronize(rig.ze()).expect("observed");
    let event = block.event().as_raw();
    assert_eq!(rig.recycler.give_back(rig.ze(), block), Ok(()));
    assert!(!rig.fake.signalled(event), "reset");
    assert_eq!(rig.fake.calls(Call::HostReset), 1);
    assert_eq!(rig.free_stack().len(), 1);
    assert_eq!(rig.counts(), counts(1, 1, 1, 0, 0, 0));
}

#[test]
fn a_failed_reset_takes_the_block_out_of_circulation_until_teardown() {
    let rig = Rig::new(Mode::Fenced);
    let block = rig.take().expect("taken");
    rig.signal(&block);
    block.event().host_synchronize(rig.ze()).expect("observed");
    rig.fake.fail(Call::HostReset, 1, ZE_RESULT_ERROR_DEVICE_LOST);
    assert_eq!(rig.recycler.give_back(rig.ze(), block), Err(ZeError(ZE_RESULT_ERROR_DEVICE_LOST)));
    assert_eq!(rig.counts(), counts(1, 1, 0, 0, 0, 1));
    assert!(rig.free_stack().is_empty(), "a signalled event is never handed out again");
    let next = rig.take().expect("a new event instead");
    assert_eq!((rig.fake.calls(Call::EventCreate), rig.counts().lost), (2, 1));
    rig.recycler.give_back_unsubmitted(next);
}

#[test]
fn a_failed_synchronize_retires_the_block_until_a_query_sees_it_complete() {
    let rig = Rig::new(Mode::Fenced);
    rig.fake.hold();
    let block = rig.take().expect("taken");
    rig.signal(&block);
    let event = block.event().as_raw();
    rig.fake.fail(Call::HostSynchronize, 1, ZE_RESULT_ERROR_DEVICE_LOST);
    assert!(block.event().host_synchronize(rig.ze()).is_err());
    // What `request_wait` does then: no completion observed, so retired.
    rig.recycler.retire(block);
    assert_eq!(rig.counts(), counts(1, 1, 0, 1, 0, 0));
    let other = rig.take().expect("the retired block still runs: a new one");
    assert_eq!((rig.fake.calls(Call::QueryStatus), rig.fake.calls(Call::HostReset)), (1, 0));
    assert_eq!(rig.counts(), counts(1, 2, 0, 1, 1, 0));
    rig.recycler.give_back_unsubmitted(other);
    rig.fake.finish();
    // The free one first: the retired block is polled only when none is free.
    let other = rig.take().expect("the free one");
    let reused = rig.take().expect("the retired one, now complete");
    assert_eq!(reused.event().as_raw(), event);
    assert!(!rig.fake.signalled(event), "reset before reuse");
    assert_eq!((rig.fake.calls(Call::EventCreate), rig.counts()), (2, counts(1, 2, 0, 0, 2, 0)));
    rig.recycler.give_back_unsubmitted(other);
    rig.recycler.give_back_unsubmitted(reused);
}

#[test]
fn a_retired_block_whose_query_or_reset_fails_stays_retired() {
    let rig = Rig::new(Mode::Fenced);
    let block = rig.take().expect("taken");
    rig.signal(&block);
    rig.recycler.retire(block);
    rig.fake.fail(Call::QueryStatus, 1, ZE_RESULT_ERROR_DEVICE_LOST);
    let first = rig.take().expect("a new block");
    assert_eq!(rig.counts(), counts(1, 2, 0, 1, 1, 0));
    rig.fake.fail(Call::HostReset, 1, ZE_RESULT_ERROR_UNKNOWN);
    let second = rig.take().expect("another new block");
    assert_eq!(rig.counts(), counts(1, 3, 0, 1, 2, 0), "complete, but not reset: still retired, not lost");
    let third = rig.take().expect("the retired block, reset at last");
    assert_eq!((rig.fake.calls(Call::EventCreate), rig.fake.calls(Call::HostReset)), (3, 2));
    assert_eq!(rig.counts(), counts(1, 3, 0, 0, 3, 0));
    for block in [first, second, third] {
        rig.recycler.give_back_unsubmitted(block);
    }
}

#[test]
fn put_retired_frees_only_what_a_barrier_saw_complete() {
    let rig = Rig::new(Mode::Fenced);
    let blocks: Vec<Taken> = (0..3).map(|_| rig.take().expect("taken")).collect();
    for block in blocks {
        rig.signal(&block);
        rig.recycler.retire(block);
    }
    let retired = rig.recycler.take_retired();
    assert_eq!((retired.len(), rig.counts().retired), (3, 3), "taken out, still RETIRED");
    rig.recycler.put_retired(rig.ze(), retired, false);
    assert_eq!(rig.counts(), counts(1, 3, 0, 3, 0, 0));
    assert_eq!(rig.fake.calls(Call::HostReset), 0, "a failed barrier observed nothing");
    let retired = rig.recycler.take_retired();
    rig.fake.fail(Call::HostReset, 2, ZE_RESULT_ERROR_DEVICE_LOST);
    rig.recycler.put_retired(rig.ze(), retired, true);
    assert_eq!(rig.counts(), counts(1, 3, 2, 1, 0, 0), "the one whose reset failed stays retired");
    assert_eq!(rig.free_stack().len(), 2);
    rig.recycler.put_retired(rig.ze(), Vec::new(), true);
    assert_eq!(rig.counts(), counts(1, 3, 2, 1, 0, 0));
}

#[test]
fn parts_go_back_with_their_request_and_a_part_whose_reset_fails_is_lost() {
    let rig = Rig::new(Mode::Fenced);
    let owner = rig.take().expect("owner");
    for _ in 0..2 {
        let part = rig.take().expect("part");
        rig.signal(&part);
        owner.attach(part);
    }
    rig.signal(&owner);
    assert!(owner.has_parts());
    owner.event().host_synchronize(rig.ze()).expect("observed");
    rig.fake.fail(Call::HostReset, 1, ZE_RESULT_ERROR_DEVICE_LOST);
    assert_eq!(rig.recycler.give_back(rig.ze(), owner), Ok(()));
    assert_eq!(rig.counts(), counts(1, 3, 2, 0, 0, 1));
    assert_eq!(rig.fake.calls(Call::HostReset), 3);

    // Retired with its parts, freed with them once a barrier saw it complete.
    let owner = rig.take().expect("owner");
    let part = rig.take().expect("part");
    rig.signal(&part);
    owner.attach(part);
    rig.signal(&owner);
    rig.recycler.retire(owner);
    assert_eq!(rig.counts(), counts(1, 3, 0, 1, 1, 1), "the part is the library's until its owner is seen");
    rig.recycler.put_retired(rig.ze(), rig.recycler.take_retired(), true);
    assert_eq!(rig.counts(), counts(1, 3, 2, 0, 0, 1));
}

#[test]
fn counter_based_events_are_never_reset_but_re_armed_by_their_next_append() {
    let rig = Rig::new(Mode::InOrder);
    let waited = rig.take().expect("taken");
    rig.signal(&waited);
    waited.event().host_synchronize(rig.ze()).expect("observed");
    assert_eq!(rig.recycler.give_back(rig.ze(), waited), Ok(()));
    // Appended again still signalled: the fake would flag a host-reset event.
    let again = rig.take().expect("the same block");
    rig.signal(&again);
    let barrier_saw = rig.take().expect("a second block");
    rig.signal(&barrier_saw);
    rig.recycler.retire(again);
    rig.recycler.retire(barrier_saw);
    rig.recycler.put_retired(rig.ze(), rig.recycler.take_retired(), true);
    assert_eq!(rig.counts(), counts(1, 2, 2, 0, 0, 0));
    let polled = rig.take().expect("a free one");
    rig.signal(&polled);
    rig.recycler.retire(polled);
    let other = rig.take().expect("the other free one");
    let polled = rig.take().expect("the retired one, polled complete");
    assert_eq!(rig.fake.calls(Call::HostReset), 0);
    assert_eq!((rig.fake.calls(Call::EventCreate), rig.fake.calls(Call::QueryStatus)), (2, 1));
    rig.recycler.give_back_unsubmitted(other);
    rig.recycler.give_back_unsubmitted(polled);
}

#[test]
fn drop_destroys_every_event_then_each_pool_once() {
    let rig = Rig::new(Mode::Fenced);
    let taken: Vec<Taken> = (0..=EVENTS_PER_POOL).map(|_| rig.take().expect("grown")).collect();
    // Two are still out, as requests C never waited for.
    for block in taken.into_iter().skip(2) {
        rig.recycler.give_back_unsubmitted(block);
    }
    let Rig { first, recycler, context, _mutex, fake } = rig;
    drop(first);
    // Blocks C never gave back are freed too.
    drop(recycler);
    assert_eq!((fake.calls(Call::EventDestroy), fake.calls(Call::PoolDestroy)), (257, 2));
    assert_eq!(fake.live(), Live { contexts: 1, lists: 0, pools: 0, events: 0 });
    drop(context);
    assert_eq!(fake.live(), Live::default());
}

#[test]
fn a_misaligned_or_foreign_request_is_refused() {
    let rig = Rig::new(Mode::Fenced);
    let block = rig.take().expect("taken");
    let req = rig.recycler.hand_out(block);
    // SAFETY: a byte inside a live block: readable.
    assert!(unsafe { rig.recycler.claim(req.cast::<u8>().wrapping_add(1).cast()) }.is_none());
    let other = Recycler::new(Device::fake(DEVICE), 0, Mode::Fenced);
    // SAFETY: a live block.
    assert!(unsafe { other.claim(req) }.is_none());
    // SAFETY: as above.
    let block = unsafe { rig.recycler.claim(req) }.expect("its own");
    rig.recycler.give_back_unsubmitted(block);
}
