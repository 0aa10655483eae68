//! The event recycler of one dma. Every event lives for life inside one
//! request block (the heap block a `struct aml_dma_request *` points to), so
//! the recycler recycles whole request blocks: no allocation per request in
//! steady state. Pools are grown in chunks of `EVENTS_PER_POOL`, events (and
//! their blocks) are created lazily inside the newest pool. Free blocks sit on
//! a lock-free stack; retired blocks (handed back while the device may still
//! signal their event) on a list behind a mutex. This is the only module that
//! creates events and event pools (`level_zero`'s `EventPool`, which destroys
//! its events with itself when the recycler drops).
//!
//! Invariant: a block enters the free stack only after completion has been
//! observed on its event (and the event was reset, unless counter-based), or
//! when the event was never submitted.
//!
//! A request spread over several command lists (a split copy, a barrier over
//! every queue) owns one block per part besides its own: the parts' events
//! are signalled by the other lists and waited on by the request's list
//! before it signals the request's event, so once the request's event is
//! observed complete, so are its parts', and all go back together.
//!
//! Every block carries a tag saying who owns it; C may hand back only `LIVE`
//! blocks, and claiming one flips the tag atomically, so a stale, foreign or
//! twice-waited pointer is refused.

use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering;

use ze_sys::*;

use crate::abi::aml_dma_request;
use crate::append_lock::AppendGuard;
use crate::error::ZeError;
use crate::free_stack::FreeStack;
use crate::in_order::Mode;
use crate::level_zero::{Device, Event, EventPool};
use crate::loader::Ze;
pub use crate::request_block::{EventSlot, RequestBlock, Taken, Work};
use crate::request_block::{BUSY, FREE, LIVE, LOST, RETIRED};
use crate::sync::Mutex;

/// Events per pool: a pool is created only when every event of the previous
/// ones is in use.
pub const EVENTS_PER_POOL: u32 = 256;

/// The recycler's cold bookkeeping, touched only when blocks are created,
/// retired or counted, and at teardown.
#[derive(Default)]
struct Books {
    /// Events are made in the newest pool until it is full.
    pools: Vec<EventPool>,
    /// Every block made, whatever its state: freed at teardown.
    blocks: Vec<NonNull<RequestBlock>>,
    retired: Vec<NonNull<RequestBlock>>,
}

// SAFETY: the block pointers are owned by the recycler; the mutex
// serialises access.
unsafe impl Send for Books {}

/// Counts for `fprintf` and tests: a snapshot of every block's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecyclerCounts {
    pub pools: usize,
    pub events: usize,
    pub free: usize,
    pub retired: usize,
    pub in_use: usize,
    /// Events whose reset failed (out of circulation until teardown).
    pub lost: usize,
}

/// The event recycler of one dma. Dropping it frees every block and
/// destroys every event and pool (or, once the process exits, only frees).
pub struct Recycler {
    device: Device,
    wait_scope: ze_event_scope_flags_t,
    /// Events of counter-based pools (`in_order`): never reset by the host,
    /// re-armed by their next append.
    counter_based: bool,
    /// The free stack of blocks. Any thread pushes (a CAS); only the holder of
    /// the dma's append lock pops, so a popped block cannot come back while
    /// a pop reads its link (no ABA).
    free: FreeStack<RequestBlock>,
    books: Mutex<Books>,
}

// SAFETY: the free stack is atomic (its blocks are the recycler's) and the
// rest sits behind the mutex.
unsafe impl Send for Recycler {}
// SAFETY: as above.
unsafe impl Sync for Recycler {}

impl Recycler {
    pub fn new(device: Device, wait_scope: ze_event_scope_flags_t, mode: Mode) -> Self {
        Recycler {
            device,
            wait_scope,
            counter_based: mode.in_order(),
            free: FreeStack::new(),
            books: Mutex::new(Books::default()),
        }
    }

    /// Makes an event whose completion was observed (the device no longer
    /// signals it) ready to be signalled again: a host reset, except for a
    /// counter-based event, which its next append re-arms.
    #[inline]
    fn rearm(&self, ze: &Ze, event: Event) -> Result<(), ZeError> {
        if self.counter_based {
            return Ok(());
        }
        event.host_reset(ze)
    }

    /// The caller owns `block` (BUSY or RETIRED); the push publishes its reset event.
    fn push_free(&self, block: NonNull<RequestBlock>) {
        // SAFETY: blocks live until the recycler drops.
        unsafe { block.as_ref() }.tag.store(FREE, Ordering::Relaxed);
        // SAFETY: blocks live until the recycler drops, which clears the stack
        // before freeing them; the caller owns it, so it is off the stack.
        unsafe { self.free.push(block) };
    }

    /// # Safety
    /// The caller holds the dma's append lock (pops are serialised by it).
    unsafe fn pop_free(&self) -> Option<NonNull<RequestBlock>> {
        // SAFETY: forwarded contract: the append lock makes us the only popper.
        let top = unsafe { self.free.pop() }?;
        // SAFETY: popped: ours now; blocks live until teardown.
        unsafe { top.as_ref() }.tag.store(BUSY, Ordering::Relaxed);
        Some(top)
    }

    /// A block with a reset event ready to be signalled, BUSY. Creates a pool
    /// (in the dma's context, its first list's) or an event only when no
    /// block is free and no retired one has completed. Pops are serialised by
    /// the dma's append lock, which `appending` shows held (a pop racing
    /// another could see a block pushed back under it: ABA).
    #[inline]
    pub(crate) fn take(&self, ze: &Ze, appending: &AppendGuard) -> Result<Taken, ZeError> {
        // SAFETY: the append lock is held (`appending`): the only popper.
        match unsafe { self.pop_free() } {
            Some(block) => Ok(Taken(block)),
            None => self.take_slow(ze, appending),
        }
    }

    #[cold]
    fn take_slow(&self, ze: &Ze, appending: &AppendGuard) -> Result<Taken, ZeError> {
        let mut books = self.books.lock();
        if !books.retired.is_empty() {
            self.poll_retired(ze, &mut books);
            // SAFETY: as in `take`.
            if let Some(block) = unsafe { self.pop_free() } {
                return Ok(Taken(block));
            }
        }
        let pool = match books.pools.last_mut() {
            Some(pool) if !pool.is_full() => pool,
            _ => {
                let context = appending.first_list().list().context();
                books.pools.push(EventPool::create(context, self.device, EVENTS_PER_POOL, self.counter_based)?);
                books.pools.last_mut().expect("just pushed")
            }
        };
        let event = pool.create_event(self.wait_scope)?;
        let slot = EventSlot { event, pool: pool.as_raw() };
        let block = NonNull::from(Box::leak(Box::new(RequestBlock::new((self as *const Recycler).cast(), slot))));
        books.blocks.push(block);
        Ok(Taken(block))
    }

    /// Moves every retired block whose event has completed to the free stack.
    fn poll_retired(&self, ze: &Ze, books: &mut Books) {
        let retired = std::mem::take(&mut books.retired);
        for block in retired {
            // SAFETY: blocks live until teardown.
            let event = unsafe { block.as_ref() }.event();
            let completed = matches!(event.is_signalled(ze), Ok(true));
            // Completion was observed, so the device no longer signals it.
            if completed && self.rearm(ze, event).is_ok() {
                self.free_parts(ze, block);
                self.push_free(block);
            } else {
                books.retired.push(block);
            }
        }
    }

    /// Marks a block handed to C as a request and returns the C pointer.
    #[inline]
    pub fn hand_out(&self, block: Taken) -> *mut aml_dma_request {
        block.tag.store(LIVE, Ordering::Release);
        block.0.as_ptr().cast()
    }

    /// Takes back a request C hands in, if it is a LIVE block of this
    /// recycler; from then on the caller's pointer is refused whatever happens.
    ///
    /// # Safety
    /// `req` must be non-NULL and point to readable memory.
    #[inline]
    pub unsafe fn claim(&self, req: *mut aml_dma_request) -> Option<Taken> {
        let block = req as *const RequestBlock;
        if !(block as usize).is_multiple_of(std::mem::align_of::<RequestBlock>()) {
            return None;
        }
        // SAFETY: readable by the caller's contract, aligned; `owner` never
        // changes after creation and `tag` is atomic, so a racing claim of the
        // same request is seen rather than torn.
        let (owner, tag) = unsafe { ((*block).owner, &(*block).tag) };
        if !ptr::eq(owner, (self as *const Recycler).cast()) || tag.compare_exchange(LIVE, BUSY, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return None;
        }
        // SAFETY: LIVE and owned by this recycler: one of our blocks, non-NULL.
        Some(Taken(unsafe { NonNull::new_unchecked(block as *mut RequestBlock) }))
    }

    /// Hands back a block whose event completed (observed): reset, then free.
    /// If the reset fails the block leaves circulation (freed at teardown).
    #[inline]
    pub fn give_back(&self, ze: &Ze, block: Taken) -> Result<(), ZeError> {
        if block.has_parts() {
            self.free_parts(ze, block.0);
        }
        // The caller observed completion on this event.
        let reset = self.rearm(ze, block.event());
        match reset {
            Ok(()) => self.push_free(block.0),
            Err(_) => block.tag.store(LOST, Ordering::Relaxed),
        }
        reset
    }

    /// Resets and frees the parts of a request whose own event was observed
    /// complete: its list waited for every part before signalling it.
    #[cold]
    fn free_parts(&self, ze: &Ze, block: NonNull<RequestBlock>) {
        // SAFETY: blocks live until teardown; the library owns this one and
        // its parts, so nobody else touches the chain.
        let mut next = unsafe { std::mem::replace(&mut *block.as_ref().parts.get(), ptr::null_mut()) };
        while let Some(part) = NonNull::new(next) {
            // SAFETY: as above.
            let part_ref = unsafe { part.as_ref() };
            // SAFETY: as above.
            next = unsafe { std::mem::replace(&mut *part_ref.next_part.get(), ptr::null_mut()) };
            // Completion was observed on it (see above).
            match self.rearm(ze, part_ref.event()) {
                Ok(()) => self.push_free(part),
                Err(_) => part_ref.tag.store(LOST, Ordering::Relaxed),
            }
        }
    }

    /// Hands back a block whose event was never submitted: still reset.
    pub fn give_back_unsubmitted(&self, block: Taken) {
        self.push_free(block.0);
    }

    /// Hands back a block whose event the device may still signal: kept off
    /// the free stack until its completion is observed (polled when the free
    /// stack runs dry, reclaimed after a barrier, waited for at teardown).
    pub fn retire(&self, block: Taken) {
        block.tag.store(RETIRED, Ordering::Relaxed);
        self.books.lock().retired.push(block.0);
    }

    /// Takes the retired blocks out, so a barrier appended after this call
    /// can vouch for their completion.
    pub fn take_retired(&self) -> Vec<NonNull<RequestBlock>> {
        std::mem::take(&mut self.books.lock().retired)
    }

    /// Returns blocks taken by `take_retired`: completed ones (after a
    /// barrier) are reset and freed, the others are retired again.
    pub fn put_retired(&self, ze: &Ze, blocks: Vec<NonNull<RequestBlock>>, completed: bool) {
        if blocks.is_empty() {
            return;
        }
        let mut books = self.books.lock();
        for block in blocks {
            // SAFETY: blocks live until teardown.
            let event = unsafe { block.as_ref() }.event();
            // Completion was observed by the barrier that covered it.
            if completed && self.rearm(ze, event).is_ok() {
                self.free_parts(ze, block);
                self.push_free(block);
            } else {
                books.retired.push(block);
            }
        }
    }

    pub fn counts(&self) -> RecyclerCounts {
        let books = self.books.lock();
        let mut counts =
            RecyclerCounts { pools: books.pools.len(), events: books.blocks.len(), free: 0, retired: 0, in_use: 0, lost: 0 };
        for block in &books.blocks {
            // SAFETY: blocks live until teardown.
            match unsafe { block.as_ref() }.tag.load(Ordering::Relaxed) {
                FREE => counts.free += 1,
                RETIRED => counts.retired += 1,
                LOST => counts.lost += 1,
                _ => counts.in_use += 1,
            }
        }
        counts
    }
}

impl Drop for Recycler {
    /// Frees every block, including those C still holds (requests never
    /// waited for: a caller bug), then destroys every event and pool (only
    /// frees once the process exits: `EventPool`'s drop). Its dma drops it
    /// once no entry uses the dma and its lists are gone.
    fn drop(&mut self) {
        let books = std::mem::take(self.books.get_mut());
        self.free.clear();
        for block in books.blocks {
            // SAFETY: made by `Box::leak` in `take_slow` and freed only here,
            // once; nothing uses the dma any more.
            drop(unsafe { Box::from_raw(block.as_ptr()) });
        }
        // Its pools, with their events, go last.
        drop(books.pools);
    }
}

// The recycler against the fake driver (`level_zero::fake`).
#[cfg(test)]
mod fake_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn handle<T>(n: usize) -> *mut T {
        n as *mut T
    }

    fn slot(n: usize) -> EventSlot {
        EventSlot { event: Event::fake(n), pool: handle(1) }
    }

    #[test]
    fn freed_blocks_are_reused_last_in_first_out_and_only_live_ones_are_claimed() {
        let recycler = Recycler::new(Device::fake(2), 0, Mode::Fenced);
        let owner: *const () = (&recycler as *const Recycler).cast();
        let mut a = RequestBlock::new(owner, slot(10));
        let mut b = RequestBlock::new(owner, slot(11));
        let (a, b) = (NonNull::from(&mut a), NonNull::from(&mut b));
        // SAFETY: this test is the only popper.
        assert!(unsafe { recycler.pop_free() }.is_none());
        recycler.give_back_unsubmitted(Taken(a));
        recycler.give_back_unsubmitted(Taken(b));
        // SAFETY: as above.
        let first = unsafe { recycler.pop_free() }.unwrap();
        assert_eq!(first, b);
        // A free block is not a request: C cannot hand it in.
        // SAFETY: `a` is a live block.
        assert!(unsafe { recycler.claim(a.as_ptr().cast()) }.is_none());
        let req = recycler.hand_out(Taken(first));
        // SAFETY: `req` is a live block.
        let claimed = unsafe { recycler.claim(req) }.expect("a live request is claimed");
        // SAFETY: as above: the second claim of the same request is refused.
        assert!(unsafe { recycler.claim(req) }.is_none());
        // Another recycler's request is refused.
        let other = Recycler::new(Device::fake(2), 0, Mode::Fenced);
        let live = recycler.hand_out(claimed);
        // SAFETY: as above.
        assert!(unsafe { other.claim(live) }.is_none());
        // SAFETY: as above.
        assert_eq!(unsafe { recycler.pop_free() }, Some(a));
    }

    #[test]
    fn retired_blocks_are_not_reused_until_completed() {
        let recycler = Recycler::new(Device::fake(2), 0, Mode::Fenced);
        let mut a = RequestBlock::new((&recycler as *const Recycler).cast(), slot(10));
        let a = NonNull::from(&mut a);
        recycler.retire(Taken(a));
        // Not on the free stack: the next take would create a new event instead.
        // SAFETY: this test is the only popper.
        assert!(unsafe { recycler.pop_free() }.is_none());
        assert_eq!(recycler.take_retired(), vec![a]);
    }
}
