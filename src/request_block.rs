//! The heap block behind every `struct aml_dma_request *` this library
//! hands out: the C-visible request first, then the block's tag, its one
//! event for life, the free-stack link, its part blocks and where its copy
//! was placed. The recycler (`events`) makes, hands out and takes back
//! blocks; this module knows no recycler.

use std::cell::UnsafeCell;
use std::ptr::{self, NonNull};
use std::sync::atomic::AtomicU64;

use ze_sys::*;

use crate::abi::{aml_dma_ze_request, AML_DMA_ZE_REQUEST_FLAGS_PENDING};
use crate::free_stack::{Link, Linked};
use crate::level_zero::Event;

// Block tags. Only LIVE, a magic value, is accepted from C; the others are
// small so that storing them is one instruction on the request path.
/// Handed to C as a request.
pub(crate) const LIVE: u64 = 0x414d_4c5f_5a45_5251; // "AML_ZERQ"
/// Owned by the library: being filled, claimed back from C, or the barrier's.
pub(crate) const BUSY: u64 = 1;
/// On the free stack, its event reset.
pub(crate) const FREE: u64 = 2;
/// Its event may still be signalled by the device.
pub(crate) const RETIRED: u64 = 3;
/// Its event could not be reset: out of circulation until teardown.
pub(crate) const LOST: u64 = 4;

/// One event and the handle of the pool it belongs to (for the C-visible
/// request: the pool itself is the recycler's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSlot {
    pub event: Event,
    pub pool: ze_event_pool_handle_t,
}

/// Where a block's copy was placed, for the dma's placement: the lane (the
/// index of the dma's list), that lane's epoch at append, bytes, the
/// request's ticket (0: none). Opaque to the recycler.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    pub lane: u32,
    pub epoch: u32,
    pub bytes: u64,
    pub ticket: u64,
}

/// The heap block behind every `struct aml_dma_request *` this library hands
/// out. It owns one event for life and is reused after its event is reset.
#[repr(C)]
pub struct RequestBlock {
    /// The C-visible `struct aml_dma_ze_request`, first so the block's address
    /// is the request's. C may write it while the block is LIVE, hence the cell.
    pub(crate) req: UnsafeCell<aml_dma_ze_request>,
    pub(crate) tag: AtomicU64,
    /// The recycler that made the block (opaque here): a request belongs to one dma.
    pub(crate) owner: *const (),
    /// The event and its pool (the C-visible copy may be overwritten).
    pub(crate) slot: EventSlot,
    /// Link of the free stack.
    pub(crate) next: Link<RequestBlock>,
    /// First part block of this request, chained through `next_part`; only
    /// touched while the block is BUSY or RETIRED (owned by the library).
    pub(crate) parts: UnsafeCell<*mut RequestBlock>,
    pub(crate) next_part: UnsafeCell<*mut RequestBlock>,
    /// Written and read only while BUSY.
    pub(crate) work: UnsafeCell<Work>,
}

impl RequestBlock {
    pub(crate) fn new(owner: *const (), slot: EventSlot) -> Self {
        RequestBlock {
            req: UnsafeCell::new(aml_dma_ze_request {
                event: slot.event.as_raw(),
                pool: slot.pool,
                flags: AML_DMA_ZE_REQUEST_FLAGS_PENDING,
            }),
            tag: AtomicU64::new(BUSY),
            owner,
            slot,
            next: Link::new(),
            parts: UnsafeCell::new(ptr::null_mut()),
            next_part: UnsafeCell::new(ptr::null_mut()),
            work: UnsafeCell::new(Work::default()),
        }
    }

    #[inline]
    pub fn event(&self) -> Event {
        self.slot.event
    }

    /// The C-visible request, reset to this block's event, pool and PENDING.
    /// Only while the library owns the block (BUSY).
    #[inline]
    pub fn fresh_request(&self) -> *mut aml_dma_ze_request {
        let req = self.req.get();
        // SAFETY: the block is BUSY, so no C caller holds it: nobody else touches `req`.
        unsafe {
            (*req).event = self.slot.event.as_raw();
            (*req).pool = self.slot.pool;
            (*req).flags = AML_DMA_ZE_REQUEST_FLAGS_PENDING;
        }
        req
    }

    /// Sets the C-visible flags. Only while the library owns the block (BUSY).
    #[inline]
    pub fn set_flags(&self, flags: std::ffi::c_int) {
        // SAFETY: as in `fresh_request`.
        unsafe { (*self.req.get()).flags = flags };
    }

    /// Only while the library owns the block (BUSY).
    pub fn set_work(&self, work: Work) {
        // SAFETY: as in `fresh_request`.
        unsafe { *self.work.get() = work };
    }

    /// Only while the library owns the block (BUSY).
    pub fn work(&self) -> Work {
        // SAFETY: as in `fresh_request`.
        unsafe { *self.work.get() }
    }

    /// True if the block has part blocks. Only while the library owns it.
    #[inline]
    pub fn has_parts(&self) -> bool {
        // SAFETY: the library owns the block, so nobody changes the chain.
        !unsafe { *self.parts.get() }.is_null()
    }

    /// Calls `each` on every part block. Only while the library owns it.
    pub fn for_each_part(&self, mut each: impl FnMut(&RequestBlock)) {
        // SAFETY: as in `has_parts`; part blocks live until teardown.
        let mut part = unsafe { *self.parts.get() };
        while let Some(block) = NonNull::new(part) {
            // SAFETY: as above.
            let block = unsafe { block.as_ref() };
            each(block);
            // SAFETY: as above.
            part = unsafe { *block.next_part.get() };
        }
    }
}

// SAFETY: `next` is the block's one link, and only the free stack uses it.
unsafe impl Linked for RequestBlock {
    #[inline]
    fn link(&self) -> &Link<RequestBlock> {
        &self.next
    }
}

/// A block owned by the library (BUSY), from `take` or `claim`, until it is
/// handed out, given back or retired. Not `Copy`: it is consumed once.
pub struct Taken(pub(crate) NonNull<RequestBlock>);

impl Taken {
    /// Makes `part` a part of this request: from now on it goes back (or is
    /// retired) with it. Both are owned by the library.
    pub fn attach(&self, part: Taken) {
        // SAFETY: both blocks are BUSY, so only this thread touches the chains.
        unsafe {
            *part.next_part.get() = *self.parts.get();
            *self.parts.get() = part.0.as_ptr();
        }
    }
}

impl std::ops::Deref for Taken {
    type Target = RequestBlock;
    fn deref(&self) -> &RequestBlock {
        // SAFETY: blocks are freed only when the recycler drops, after every entry of the dma stopped.
        unsafe { self.0.as_ref() }
    }
}
