//! The event recycler of one dma: pools grown in chunks of `EVENTS_PER_POOL`,
//! events created lazily inside the newest pool, a free list of reset events,
//! and retired events (handed back while the device may still signal them).
//! This is the only module that creates or destroys events and event pools.
//!
//! Invariant: an event enters the free list only after completion has been
//! observed on it (and it was reset), or when it was never submitted.

use parking_lot::Mutex;
use ze_sys::*;

use crate::error::ZeError;
use crate::loader::Ze;

/// Events per pool: a pool is created only when every event of the previous
/// ones is in use.
pub const EVENTS_PER_POOL: u32 = 256;

/// One event and the pool it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSlot {
    pub event: ze_event_handle_t,
    pub pool: ze_event_pool_handle_t,
}

/// What `take` must do next; decided by the pure bookkeeping.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    Reuse(EventSlot),
    CreateEvent { pool: ze_event_pool_handle_t, index: u32 },
    CreatePool,
}

/// The recycler's bookkeeping, free of driver calls so it can be unit-tested.
#[derive(Debug, Default)]
struct Books {
    pools: Vec<ze_event_pool_handle_t>,
    /// Every event created, whatever its state: destroyed at teardown.
    events: Vec<EventSlot>,
    free: Vec<EventSlot>,
    retired: Vec<EventSlot>,
    /// Next unused index in the newest pool.
    next_index: u32,
    in_use: usize,
}

impl Books {
    fn next(&mut self) -> Next {
        if let Some(slot) = self.free.pop() {
            self.in_use += 1;
            return Next::Reuse(slot);
        }
        match self.pools.last() {
            Some(&pool) if self.next_index < EVENTS_PER_POOL => Next::CreateEvent { pool, index: self.next_index },
            _ => Next::CreatePool,
        }
    }

    fn pool_created(&mut self, pool: ze_event_pool_handle_t) {
        self.pools.push(pool);
        self.next_index = 0;
    }

    fn event_created(&mut self, slot: EventSlot) {
        self.events.push(slot);
        self.next_index += 1;
        self.in_use += 1;
    }

    fn freed(&mut self, slot: EventSlot) {
        self.in_use -= 1;
        self.free.push(slot);
    }

    fn retired(&mut self, slot: EventSlot) {
        self.in_use -= 1;
        self.retired.push(slot);
    }

    /// An event whose reset failed: out of circulation until teardown.
    fn lost(&mut self) {
        self.in_use -= 1;
    }
}

/// Counts for `fprintf` and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecyclerCounts {
    pub pools: usize,
    pub events: usize,
    pub free: usize,
    pub retired: usize,
    pub in_use: usize,
}

/// The event recycler of one dma.
pub struct Recycler {
    context: ze_context_handle_t,
    device: ze_device_handle_t,
    wait_scope: ze_event_scope_flags_t,
    books: Mutex<Books>,
}

impl Recycler {
    pub fn new(context: ze_context_handle_t, device: ze_device_handle_t, wait_scope: ze_event_scope_flags_t) -> Self {
        Recycler { context, device, wait_scope, books: Mutex::new(Books::default()) }
    }

    /// A reset event ready to be signalled. Creates a pool or an event only
    /// when no free event exists and no retired one has completed.
    pub fn take(&self, ze: &Ze) -> Result<EventSlot, ZeError> {
        let mut books = self.books.lock();
        if books.free.is_empty() && !books.retired.is_empty() {
            Self::poll_retired(ze, &mut books);
        }
        loop {
            match books.next() {
                Next::Reuse(slot) => return Ok(slot),
                Next::CreateEvent { pool, index } => {
                    let desc = ze_event_desc_t {
                        stype: ZE_STRUCTURE_TYPE_EVENT_DESC,
                        index,
                        signal: 0,
                        wait: self.wait_scope,
                        ..Default::default()
                    };
                    let mut event: ze_event_handle_t = std::ptr::null_mut();
                    // SAFETY: `pool` is a live pool of this recycler, `index` is unused in it.
                    unsafe { ze.event_create(pool, &desc, &mut event) }?;
                    let slot = EventSlot { event, pool };
                    books.event_created(slot);
                    return Ok(slot);
                }
                Next::CreatePool => {
                    let desc = ze_event_pool_desc_t {
                        stype: ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
                        flags: ZE_EVENT_POOL_FLAG_HOST_VISIBLE,
                        count: EVENTS_PER_POOL,
                        ..Default::default()
                    };
                    let mut device = self.device;
                    let mut pool: ze_event_pool_handle_t = std::ptr::null_mut();
                    // SAFETY: context and device are live for the life of the dma.
                    unsafe { ze.event_pool_create(self.context, &desc, 1, &mut device, &mut pool) }?;
                    books.pool_created(pool);
                }
            }
        }
    }

    /// Moves every retired event that has completed to the free list.
    fn poll_retired(ze: &Ze, books: &mut Books) {
        let retired = std::mem::take(&mut books.retired);
        for slot in retired {
            // SAFETY: retired events stay alive until teardown.
            let completed = matches!(unsafe { ze.event_is_signalled(slot.event) }, Ok(true));
            // SAFETY: completion was observed, so the device no longer signals it.
            if completed && unsafe { ze.event_host_reset(slot.event) }.is_ok() {
                books.free.push(slot);
            } else {
                books.retired.push(slot);
            }
        }
    }

    /// Hands back an event whose completion has been observed: reset, then free.
    /// If the reset fails the event leaves circulation (destroyed at teardown).
    pub fn give_back(&self, ze: &Ze, slot: EventSlot) -> Result<(), ZeError> {
        // SAFETY: the caller observed completion on this live event.
        let reset = unsafe { ze.event_host_reset(slot.event) };
        let mut books = self.books.lock();
        match reset {
            Ok(()) => books.freed(slot),
            Err(_) => books.lost(),
        }
        reset
    }

    /// Hands back an event that was never submitted: still reset, no call needed.
    pub fn give_back_unsubmitted(&self, slot: EventSlot) {
        self.books.lock().freed(slot);
    }

    /// Hands back an event the device may still signal: kept out of the free
    /// list until its completion is observed (polled when the free list runs
    /// dry, reclaimed after a barrier, waited for at teardown).
    pub fn retire(&self, slot: EventSlot) {
        self.books.lock().retired(slot);
    }

    /// Takes the retired events out, so a barrier appended after this call can
    /// vouch for their completion.
    pub fn take_retired(&self) -> Vec<EventSlot> {
        std::mem::take(&mut self.books.lock().retired)
    }

    /// Returns events taken by `take_retired`: completed ones (after a barrier)
    /// are reset and freed, the others are retired again.
    pub fn put_retired(&self, ze: &Ze, slots: Vec<EventSlot>, completed: bool) {
        let mut books = self.books.lock();
        for slot in slots {
            // SAFETY: completion was observed by the barrier that covered it.
            if completed && unsafe { ze.event_host_reset(slot.event) }.is_ok() {
                books.free.push(slot);
            } else {
                books.retired.push(slot);
            }
        }
    }

    /// Destroys every event and pool. With `call_driver == false` (process
    /// exit, Level Zero may be gone) only forgets them.
    pub fn destroy_all(&self, ze: &Ze, call_driver: bool) {
        let mut books = self.books.lock();
        let books = std::mem::take(&mut *books);
        if !call_driver {
            return;
        }
        for slot in &books.events {
            // SAFETY: created by this recycler and destroyed only here; the
            // caller made sure all work is done.
            let _ = unsafe { ze.event_destroy(slot.event) };
        }
        for &pool in &books.pools {
            // SAFETY: as above, and its events were destroyed just before.
            let _ = unsafe { ze.event_pool_destroy(pool) };
        }
    }

    pub fn counts(&self) -> RecyclerCounts {
        let books = self.books.lock();
        RecyclerCounts {
            pools: books.pools.len(),
            events: books.events.len(),
            free: books.free.len(),
            retired: books.retired.len(),
            in_use: books.in_use,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle<T>(n: usize) -> *mut T {
        n as *mut T
    }

    #[test]
    fn an_empty_recycler_asks_for_a_pool_then_events_in_it() {
        let mut books = Books::default();
        assert_eq!(books.next(), Next::CreatePool);
        books.pool_created(handle(1));
        assert_eq!(books.next(), Next::CreateEvent { pool: handle(1), index: 0 });
        books.event_created(EventSlot { event: handle(10), pool: handle(1) });
        assert_eq!(books.next(), Next::CreateEvent { pool: handle(1), index: 1 });
        assert_eq!(books.in_use, 1);
    }

    #[test]
    fn a_full_pool_asks_for_a_new_one() {
        let mut books = Books::default();
        books.pool_created(handle(1));
        for i in 0..EVENTS_PER_POOL {
            assert_eq!(books.next(), Next::CreateEvent { pool: handle(1), index: i });
            books.event_created(EventSlot { event: handle(100 + i as usize), pool: handle(1) });
        }
        assert_eq!(books.next(), Next::CreatePool);
        books.pool_created(handle(2));
        assert_eq!(books.next(), Next::CreateEvent { pool: handle(2), index: 0 });
    }

    #[test]
    fn freed_events_are_reused_before_anything_is_created() {
        let mut books = Books::default();
        books.pool_created(handle(1));
        let slot = EventSlot { event: handle(10), pool: handle(1) };
        books.event_created(slot);
        books.freed(slot);
        assert_eq!(books.in_use, 0);
        assert_eq!(books.next(), Next::Reuse(slot));
        assert_eq!(books.in_use, 1);
    }

    #[test]
    fn retired_events_are_not_reused_until_completed() {
        let mut books = Books::default();
        books.pool_created(handle(1));
        let slot = EventSlot { event: handle(10), pool: handle(1) };
        books.event_created(slot);
        books.retired(slot);
        // Not on the free list: the next take creates a new event instead.
        assert_eq!(books.next(), Next::CreateEvent { pool: handle(1), index: 1 });
        assert_eq!(books.retired, vec![slot]);
        assert_eq!(books.in_use, 0);
    }
}
