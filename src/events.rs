//! The event recycler of one dma. Every event lives for life inside one
//! request block (the heap block a `struct aml_dma_request *` points to), so
//! the recycler recycles whole request blocks: no allocation per request in
//! steady state. Pools are grown in chunks of `EVENTS_PER_POOL`, events (and
//! their blocks) are created lazily inside the newest pool. Free blocks sit on
//! a lock-free stack; retired blocks (handed back while the device may still
//! signal their event) on a list behind a mutex. This is the only module that
//! creates or destroys events and event pools.
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

use parking_lot::Mutex;
use ze_sys::*;

use crate::abi::aml_dma_request;
use crate::error::ZeError;
use crate::free_stack::FreeStack;
use crate::in_order::{Mode, COUNTER_BASED_POOL};
use crate::loader::Ze;
pub use crate::request_block::{EventSlot, RequestBlock, Taken, Work};
use crate::request_block::{BUSY, FREE, LIVE, LOST, RETIRED};

/// Events per pool: a pool is created only when every event of the previous
/// ones is in use.
pub const EVENTS_PER_POOL: u32 = 256;

/// What `take` must create next; decided by the pure bookkeeping.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    CreateEvent { pool: ze_event_pool_handle_t, index: u32 },
    CreatePool,
}

/// The recycler's cold bookkeeping, touched only when blocks are created,
/// retired or counted, and at teardown.
#[derive(Debug, Default)]
struct Books {
    pools: Vec<ze_event_pool_handle_t>,
    /// Every block made, whatever its state: freed at teardown.
    blocks: Vec<NonNull<RequestBlock>>,
    retired: Vec<NonNull<RequestBlock>>,
    /// Next unused index in the newest pool.
    next_index: u32,
}

// SAFETY: the handles are plain addresses usable from any thread, and the
// block pointers are owned by the recycler; the mutex serialises access.
unsafe impl Send for Books {}

impl Books {
    fn next(&self) -> Next {
        match self.pools.last() {
            Some(&pool) if self.next_index < EVENTS_PER_POOL => Next::CreateEvent { pool, index: self.next_index },
            _ => Next::CreatePool,
        }
    }

    fn pool_created(&mut self, pool: ze_event_pool_handle_t) {
        self.pools.push(pool);
        self.next_index = 0;
    }

    fn block_created(&mut self, block: NonNull<RequestBlock>) {
        self.blocks.push(block);
        self.next_index += 1;
    }
}

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

/// The event recycler of one dma.
pub struct Recycler {
    context: ze_context_handle_t,
    device: ze_device_handle_t,
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

// SAFETY: the handles are plain addresses usable from any thread; the free
// stack is atomic and the rest sits behind the mutex.
unsafe impl Send for Recycler {}
unsafe impl Sync for Recycler {}

impl Recycler {
    pub fn new(context: ze_context_handle_t, device: ze_device_handle_t, wait_scope: ze_event_scope_flags_t, mode: Mode) -> Self {
        Recycler {
            context,
            device,
            wait_scope,
            counter_based: mode.in_order(),
            free: FreeStack::new(),
            books: Mutex::new(Books::default()),
        }
    }

    /// Makes an event whose completion was observed ready to be signalled
    /// again: a host reset, except for a counter-based event, which its next
    /// append re-arms.
    ///
    /// # Safety
    /// `event` is a live event of this recycler that the device no longer signals.
    #[inline]
    unsafe fn rearm(&self, ze: &Ze, event: ze_event_handle_t) -> Result<(), ZeError> {
        if self.counter_based {
            return Ok(());
        }
        // SAFETY: forwarded contract.
        unsafe { ze.event_host_reset(event) }
    }

    /// The caller owns `block` (BUSY or RETIRED); the push publishes its reset event.
    fn push_free(&self, block: NonNull<RequestBlock>) {
        // SAFETY: blocks live until `destroy_all`.
        unsafe { block.as_ref() }.tag.store(FREE, Ordering::Relaxed);
        // SAFETY: blocks live until `destroy_all`, which clears the stack
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
    /// or an event only when no block is free and no retired one has completed.
    ///
    /// # Safety
    /// The caller holds the dma's append lock.
    #[inline]
    pub unsafe fn take(&self, ze: &Ze) -> Result<Taken, ZeError> {
        // SAFETY: forwarded contract.
        match unsafe { self.pop_free() } {
            Some(block) => Ok(Taken(block)),
            // SAFETY: forwarded contract.
            None => unsafe { self.take_slow(ze) },
        }
    }

    /// # Safety
    /// As `take`.
    #[cold]
    unsafe fn take_slow(&self, ze: &Ze) -> Result<Taken, ZeError> {
        let mut books = self.books.lock();
        if !books.retired.is_empty() {
            self.poll_retired(ze, &mut books);
            // SAFETY: forwarded contract.
            if let Some(block) = unsafe { self.pop_free() } {
                return Ok(Taken(block));
            }
        }
        loop {
            match books.next() {
                Next::CreateEvent { pool, index } => {
                    let desc = ze_event_desc_t {
                        stype: ZE_STRUCTURE_TYPE_EVENT_DESC,
                        index,
                        signal: 0,
                        wait: self.wait_scope,
                        ..Default::default()
                    };
                    let mut event: ze_event_handle_t = ptr::null_mut();
                    // SAFETY: `pool` is a live pool of this recycler, `index` is unused in it.
                    unsafe { ze.event_create(pool, &desc, &mut event) }?;
                    let block = NonNull::from(Box::leak(Box::new(RequestBlock::new((self as *const Recycler).cast(), EventSlot { event, pool }))));
                    books.block_created(block);
                    return Ok(Taken(block));
                }
                Next::CreatePool => {
                    let desc = ze_event_pool_desc_t {
                        stype: ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
                        pNext: if self.counter_based { ptr::addr_of!(COUNTER_BASED_POOL).cast() } else { ptr::null() },
                        flags: ZE_EVENT_POOL_FLAG_HOST_VISIBLE,
                        count: EVENTS_PER_POOL,
                    };
                    let mut device = self.device;
                    let mut pool: ze_event_pool_handle_t = ptr::null_mut();
                    // SAFETY: context and device are live for the life of the dma.
                    unsafe { ze.event_pool_create(self.context, &desc, 1, &mut device, &mut pool) }?;
                    books.pool_created(pool);
                }
            }
        }
    }

    /// Moves every retired block whose event has completed to the free stack.
    fn poll_retired(&self, ze: &Ze, books: &mut Books) {
        let retired = std::mem::take(&mut books.retired);
        for block in retired {
            // SAFETY: blocks live until teardown.
            let event = unsafe { block.as_ref() }.event();
            // SAFETY: retired events stay alive until teardown.
            let completed = matches!(unsafe { ze.event_is_signalled(event) }, Ok(true));
            // SAFETY: completion was observed, so the device no longer signals it.
            if completed && unsafe { self.rearm(ze, event) }.is_ok() {
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
        // SAFETY: the caller observed completion on this live event.
        let reset = unsafe { self.rearm(ze, block.event()) };
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
            // SAFETY: a live event whose completion was observed (see above).
            match unsafe { self.rearm(ze, part_ref.event()) } {
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
            // SAFETY: completion was observed by the barrier that covered it.
            if completed && unsafe { self.rearm(ze, event) }.is_ok() {
                self.free_parts(ze, block);
                self.push_free(block);
            } else {
                books.retired.push(block);
            }
        }
    }

    /// Destroys every event and pool and frees every block, including those
    /// C still holds (requests never waited for: a caller bug). With
    /// `call_driver == false` (process exit, Level Zero may be gone) only
    /// frees memory. The caller makes sure no other entry uses the dma.
    pub fn destroy_all(&self, ze: &Ze, call_driver: bool) {
        let books = std::mem::take(&mut *self.books.lock());
        self.free.clear();
        for block in books.blocks {
            // SAFETY: made by `Box::leak` in `take_slow` and freed only here,
            // once; nothing uses the dma any more.
            let block = unsafe { Box::from_raw(block.as_ptr()) };
            if call_driver {
                // SAFETY: created by this recycler and destroyed only here; the
                // caller made sure all work is done.
                let _ = unsafe { ze.event_destroy(block.event()) };
            }
        }
        if !call_driver {
            return;
        }
        for &pool in &books.pools {
            // SAFETY: as above, and its events were destroyed just before.
            let _ = unsafe { ze.event_pool_destroy(pool) };
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
        let mut block = RequestBlock::new(ptr::null(), EventSlot { event: handle(10), pool: handle(1) });
        books.block_created(NonNull::from(&mut block));
        assert_eq!(books.next(), Next::CreateEvent { pool: handle(1), index: 1 });
    }

    #[test]
    fn a_full_pool_asks_for_a_new_one() {
        let mut books = Books::default();
        books.pool_created(handle(1));
        let mut blocks: Vec<_> = (0..EVENTS_PER_POOL)
            .map(|i| RequestBlock::new(ptr::null(), EventSlot { event: handle(100 + i as usize), pool: handle(1) }))
            .collect();
        for (i, block) in blocks.iter_mut().enumerate() {
            assert_eq!(books.next(), Next::CreateEvent { pool: handle(1), index: i as u32 });
            books.block_created(NonNull::from(block));
        }
        assert_eq!(books.next(), Next::CreatePool);
        books.pool_created(handle(2));
        assert_eq!(books.next(), Next::CreateEvent { pool: handle(2), index: 0 });
    }

    #[test]
    fn freed_blocks_are_reused_last_in_first_out_and_only_live_ones_are_claimed() {
        let recycler = Recycler::new(handle(1), handle(2), 0, Mode::Fenced);
        let owner: *const () = (&recycler as *const Recycler).cast();
        let mut a = RequestBlock::new(owner, EventSlot { event: handle(10), pool: handle(1) });
        let mut b = RequestBlock::new(owner, EventSlot { event: handle(11), pool: handle(1) });
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
        let other = Recycler::new(handle(1), handle(2), 0, Mode::Fenced);
        let live = recycler.hand_out(claimed);
        // SAFETY: as above.
        assert!(unsafe { other.claim(live) }.is_none());
        // SAFETY: as above.
        assert_eq!(unsafe { recycler.pop_free() }, Some(a));
    }

    #[test]
    fn retired_blocks_are_not_reused_until_completed() {
        let recycler = Recycler::new(handle(1), handle(2), 0, Mode::Fenced);
        let mut a = RequestBlock::new((&recycler as *const Recycler).cast(), EventSlot { event: handle(10), pool: handle(1) });
        let a = NonNull::from(&mut a);
        recycler.retire(Taken(a));
        // Not on the free stack: the next take would create a new event instead.
        // SAFETY: this test is the only popper.
        assert!(unsafe { recycler.pop_free() }.is_none());
        assert_eq!(recycler.take_retired(), vec![a]);
    }
}
