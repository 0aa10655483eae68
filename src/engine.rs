//! One dma at work: the serialisation of appends, requests, barrier, and
//! the block behind every `struct aml_dma *` (made and unmade by
//! `lifecycle`; the operators C may call by name are in `operators`). A dma
//! over several queues has one list per queue (`lanes`), the first being
//! `command_list`.
//!
//! A dma is one heap block: `struct aml_dma` then `struct aml_dma_ze_data`
//! (so `dma->data` points inside the block, as upstream), then private state.
//! A magic tag, checked on every entry, rejects foreign and destroyed pointers
//! (best effort: a pointer to unmapped memory cannot be detected).

use std::cell::UnsafeCell;
use std::ffi::{c_char, c_int, c_void, CString};
use std::mem::offset_of;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ze_sys::*;

use crate::abi::*;
use crate::append_lock::{AppendGuard, AppendLock};
use crate::error::AmlError;
use crate::events::{Recycler, Taken, Work, RequestBlock};
use crate::fence::FirstList;
use crate::copy_nd;
use crate::dependencies::Access;
use crate::footprint::{self, Copy, Custom, Footprint};
use crate::host_ranges;
use crate::lanes::{DmaView, Lanes};
use crate::pending::Pending;
use crate::level_zero::{Appender, Context, Device, Driver};
use crate::loader::Ze;
use crate::operator::Op;

pub(crate) const DMA_MAGIC: u64 = 0x414d_4c5f_5a45_444d; // "AML_ZEDM"
pub(crate) const DEAD: u64 = 0;

/// The heap block behind every `struct aml_dma *` this library hands out.
/// Its Level Zero objects are dropped in the order of their fields: the
/// lists, then the events and pools, then the context (`lifecycle::destroy`).
#[repr(C)]
pub struct DmaBlock {
    pub(crate) dma: aml_dma,
    /// C code may lock `data.lock` at any time, hence the cell.
    pub(crate) data: UnsafeCell<aml_dma_ze_data>,
    pub(crate) magic: AtomicU64,
    pub(crate) ze: &'static Ze,
    /// The driver that owns the device: where prepared host ranges are imported.
    pub(crate) driver: Driver,
    pub(crate) device: Device,
    /// The first list (`command_list`) and the append lock over it.
    pub(crate) first: AppendLock,
    /// Its lists: the first, and every other when it spans several queues.
    /// A dma with one list is the one-lane case, whose requests take the
    /// single-list path: no placement, no ordering table.
    pub(crate) lanes: Lanes,
    pub(crate) recycler: Recycler,
    pub(crate) context: Arc<Context>,
    pub(crate) event_flags: ze_event_scope_flags_t,
}


/// What appending a request's commands leaves on the list when it fails.
#[derive(Clone, Copy)]
enum Commands {
    /// One command, signalling the event: nothing.
    One,
    /// Several, the last signalling the event: maybe some, never the signal.
    Several,
    /// A custom operator's: maybe anything, the signal too.
    Custom,
}

fn aml_code(rc: c_int) -> Result<(), AmlError> {
    // Operators written for upstream return positive codes: negate them.
    match rc {
        0 => Ok(()),
        rc if rc < 0 => Err(AmlError(rc)),
        rc => Err(AmlError(-rc)),
    }
}

impl DmaBlock {
    /// The dma behind a `dma->data` pointer, if it is a live dma of this library.
    ///
    /// # Safety
    /// `data` must be NULL or point into readable memory of at least the block's size.
    pub unsafe fn from_data<'a>(data: *const aml_dma_data) -> Result<&'a DmaBlock, AmlError> {
        if data.is_null() || !(data as usize).is_multiple_of(std::mem::align_of::<DmaBlock>()) {
            return Err(AmlError::EINVAL);
        }
        let block = (data as *const u8).wrapping_sub(offset_of!(DmaBlock, data)) as *const DmaBlock;
        // SAFETY: readable by the caller's contract; the tag is an atomic so a
        // concurrent destroy is observed rather than torn.
        let magic = unsafe { &(*block).magic }.load(Ordering::Acquire);
        if magic != DMA_MAGIC {
            return Err(AmlError::EINVAL);
        }
        // SAFETY: the tag says this is a live DmaBlock.
        Ok(unsafe { &*block })
    }

    /// # Safety
    /// As `from_data`.
    pub unsafe fn from_ze_data<'a>(data: *const aml_dma_ze_data) -> Result<&'a DmaBlock, AmlError> {
        // SAFETY: forwarded contract.
        unsafe { Self::from_data(data.cast()) }
    }

    #[inline(always)]
    pub(crate) fn lock_appends(&self) -> AppendGuard<'_> {
        self.first.lock()
    }

    pub fn ze(&self) -> &'static Ze {
        self.ze
    }

    /// `aml_dma_ze_host_prepare`: the range is prepared for this dma's driver
    /// and belongs to this dma (`host_ranges`).
    pub fn host_prepare(&self, pointer: *mut c_void, size: usize) -> Result<(), AmlError> {
        host_ranges::prepare(self.ze, self.driver, &self.context, self.owner_key(), pointer, size)
    }

    /// `aml_dma_ze_host_release` of a range this dma prepared.
    pub fn host_release(&self, pointer: *mut c_void) -> Result<(), AmlError> {
        host_ranges::release(self.ze, self.owner_key(), pointer)
    }

    /// `aml_dma_ze_host_imports`: whether this dma's driver imports host ranges.
    pub fn host_imports(&self) -> bool {
        host_ranges::imports(self.ze, self.driver)
    }

    pub(crate) fn owner_key(&self) -> usize {
        self as *const DmaBlock as usize
    }

    /// `aml_dma_ze_request_create`. With `want_request == false` (a NULL `req`)
    /// no event is taken and NULL is returned on success.
    ///
    /// # Safety
    /// `dst`, `src` and `arg` must be what `op` expects.
    #[inline]
    pub unsafe fn request_create(
        &self,
        want_request: bool,
        dst: *mut aml_layout,
        src: *mut aml_layout,
        op: Op,
        arg: *mut c_void,
    ) -> Result<*mut aml_dma_request, AmlError> {
        match op {
            // The common case: its plan is its one copy.
            // SAFETY: the caller's pointers span `arg` bytes.
            Op::Memcpy => self.request_copy(want_request, unsafe { Copy::new(dst.cast(), src.cast(), arg as usize) }),
            // SAFETY: forwarded contract.
            _ => self.request_planned(want_request, unsafe { footprint::of(dst, src, op, arg) }?),
        }
    }

    /// A request of one contiguous copy: on the first list, or placed over
    /// the lanes of a dma over several queues.
    #[inline(always)]
    fn request_copy(&self, want_request: bool, copy: Copy) -> Result<*mut aml_dma_request, AmlError> {
        if self.lanes.len() > 1 {
            // Out of line (`create_copy`), so that the single-list path stays
            // as small as it was.
            return self.lanes.create_copy(&self.parts(), self.lock_appends(), want_request, copy);
        }
        let guard = self.lock_appends();
        let order = self.lanes.one_list();
        self.append_locked(guard, &order, want_request, Commands::One, |list, block| {
            list.copy(&copy, block.map(RequestBlock::event), &[]).map_err(AmlError::from)
        })
    }

    /// A request of a builtin operator's or a custom one's: its copy, its
    /// pieces, or the operator's call. Pieces and operators run on the first
    /// list; on a dma over several queues, once that list waits for what they
    /// must follow.
    #[cold]
    #[inline(never)]
    fn request_planned(&self, want_request: bool, footprint: Footprint) -> Result<*mut aml_dma_request, AmlError> {
        let access = footprint.access();
        match footprint {
            Footprint::Copy(copy) => self.request_copy(want_request, copy),
            Footprint::Pieces(plan) => self.on_first_list(want_request, access, Commands::Several, |list, block| {
                // SAFETY: the layouts span every piece (request create's contract).
                unsafe { copy_nd::append(list, &plan, block.map(RequestBlock::event)) }
            }),
            Footprint::Custom(call) => self.on_first_list(want_request, access, Commands::Custom, |_, block| {
                // SAFETY: the caller of request create vouches for the
                // operator's arguments; the lock is held.
                unsafe { self.call_custom(&call, block) }
            }),
        }
    }

    /// Appends on the first list a request that touches `access` (`None`:
    /// anything): on a dma over several queues, once that list waits for the
    /// work on other lanes it must follow.
    fn on_first_list(
        &self,
        want_request: bool,
        access: Option<Access>,
        commands: Commands,
        append: impl FnOnce(&Appender, Option<&RequestBlock>) -> Result<(), AmlError>,
    ) -> Result<*mut aml_dma_request, AmlError> {
        let guard = self.lock_appends();
        let order = if self.lanes.len() > 1 {
            let ticket = self.lanes.before_first_list(&self.parts(), &guard, access)?;
            self.lanes.first_list(ticket)
        } else {
            self.lanes.one_list()
        };
        self.append_locked(guard, &order, want_request, commands, append)
    }

    /// Completion of `block` was observed.
    #[inline]
    fn credit(&self, block: &Taken) {
        self.lanes.credit(block);
    }

    /// A barrier before the next command on the first list, if `order` says
    /// it needs one, under the dma's lock (`guard`).
    #[inline]
    fn fence_first_list(&self, guard: &AppendGuard, order: &FirstList) -> Result<(), AmlError> {
        if order.fence.needed(order.done_through) {
            guard.first_list().barrier(None, &[])?;
            order.fence.barrier_appended();
        }
        Ok(())
    }

    /// Appends a request's commands (`append`, given the first list and the
    /// request's block, if it has one) under the dma's lock (`guard`), kept
    /// in order as `order` says.
    #[inline(always)]
    fn append_locked(
        &self,
        guard: AppendGuard<'_>,
        order: &FirstList,
        want_request: bool,
        commands: Commands,
        append: impl FnOnce(&Appender, Option<&RequestBlock>) -> Result<(), AmlError>,
    ) -> Result<*mut aml_dma_request, AmlError> {
        // Taken under the append lock, which serialises the recycler's pops:
        // one lock round trip per request.
        self.fence_first_list(&guard, order)?;
        let mut block = match want_request {
            true => {
                let block = Pending::take(&self.recycler, self.ze, &guard)?;
                // What C sees of it: this event, PENDING.
                block.fresh_request();
                Some(block)
            }
            false => None,
        };
        if let Err(error) = append(&guard.first_list(), block.as_deref()) {
            if !matches!(commands, Commands::One) {
                // Some were appended, maybe.
                order.fence.appended(order.ticket);
            }
            if let (Commands::Custom, Some(block)) = (commands, &mut block) {
                // A custom operator may have appended a signal of the event:
                // the block waits for proof of completion. Ours signal it
                // last, so a failure left it unsubmitted: it goes back free.
                block.submitted();
            }
            drop(block);
            drop(guard);
            return Err(error);
        }
        order.fence.appended(order.ticket);
        if let (true, Some(block)) = (order.credited, &block) {
            block.set_work(Work { ticket: order.ticket, ..Work::default() });
        }
        drop(guard);
        Ok(block.map_or(ptr::null_mut(), |block| self.recycler.hand_out(block.commit())))
    }

    /// Calls a custom operator with the copy arguments of `block`'s request
    /// (none: a request without a handle).
    ///
    /// # Safety
    /// The operator's arguments are what it expects; the dma's lock is held.
    #[cold]
    unsafe fn call_custom(&self, call: &Custom, block: Option<&RequestBlock>) -> Result<(), AmlError> {
        let mut fire_and_forget =
            aml_dma_ze_request { event: ptr::null_mut(), pool: ptr::null_mut(), flags: AML_DMA_ZE_REQUEST_FLAGS_PENDING };
        let ze_req = match block {
            // Already fresh (`append_locked`): this returns it as it is.
            Some(block) => block.fresh_request(),
            None => &mut fire_and_forget,
        };
        let mut args = aml_dma_ze_copy_args { ze_data: self.data.get(), ze_req, arg: call.arg };
        // SAFETY: the caller vouches for the operator's arguments; `args` outlives the call.
        aml_code(unsafe { (call.op)(call.dst, call.src, ptr::addr_of_mut!(args).cast()) })
    }

    /// What of this dma a request over several lanes uses.
    fn parts(&self) -> DmaView<'_> {
        DmaView { ze: self.ze, device: self.device, first: self.first.list(), recycler: &self.recycler }
    }

    /// Takes back the request behind `req`, if it is a live request of this
    /// dma; from then on the caller's pointer is dead whatever happens.
    ///
    /// # Safety
    /// `req` must be non-NULL and point to readable memory.
    #[inline]
    pub unsafe fn claim_request(&self, req: *mut aml_dma_request) -> Result<Taken, AmlError> {
        // SAFETY: forwarded contract; `claim` checks the tag and the owner.
        unsafe { self.recycler.claim(req) }.ok_or(AmlError::EINVAL)
    }

    /// `aml_dma_ze_request_wait`: synchronize, mark DONE, recycle the request
    /// block. A failing synchronize still ends the request (its event is
    /// retired, never reused before completion is observed).
    #[inline]
    pub fn request_wait(&self, block: Taken) -> Result<(), AmlError> {
        match block.event().host_synchronize(self.ze) {
            Ok(()) => {
                block.set_flags(AML_DMA_ZE_REQUEST_FLAGS_DONE);
                self.credit(&block);
                self.recycler.give_back(self.ze, block)?;
                Ok(())
            }
            Err(error) => {
                self.recycler.retire(block);
                Err(error.into())
            }
        }
    }

    /// `aml_dma_ze_request_destroy`: never blocks. A completed event is
    /// recycled; one the device may still signal is retired until completion
    /// is observed. The request ends in every case.
    pub fn request_destroy(&self, block: Taken) -> Result<(), AmlError> {
        match block.event().is_signalled(self.ze) {
            Ok(true) => {
                self.credit(&block);
                self.recycler.give_back(self.ze, block).map_err(Into::into)
            }
            Ok(false) => {
                self.recycler.retire(block);
                Ok(())
            }
            Err(error) => {
                self.recycler.retire(block);
                Err(error.into())
            }
        }
    }

    /// `aml_dma_ze_barrier`: every copy appended before it has completed on
    /// return. Also reclaims events retired before it.
    pub fn barrier(&self) -> Result<(), AmlError> {
        self.lanes.barrier(&self.parts(), self.lock_appends())
    }

    /// `fprintf` op: the dma's fields, one per line, each after `prefix`.
    /// Returns what `fprintf` returns (bytes written, or negative).
    ///
    /// # Safety
    /// `stream` must be a valid `FILE *`; `prefix` NULL or a C string.
    pub unsafe fn fprintf(&self, stream: *mut libc::FILE, prefix: *const c_char) -> c_int {
        let prefix = if prefix.is_null() {
            String::new()
        } else {
            // SAFETY: non-NULL prefix is a C string by contract.
            unsafe { std::ffi::CStr::from_ptr(prefix) }.to_string_lossy().into_owned()
        };
        let counts = self.recycler.counts();
        let text = format!(
            "{prefix}dma-ze: {:p}\n{prefix}dma-ze: context: {:p}\n{prefix}dma-ze: device: {:p}\n\
             {prefix}dma-ze: command_list: {:p}\n{prefix}dma-ze: event_flags: {:#x}\n\
             {prefix}dma-ze: ordering: {}\n\
             {prefix}dma-ze: event_pools: {}\n{prefix}dma-ze: events: {} (in use {}, free {}, retired {})\n",
            self as *const Self,
            self.context.as_raw(),
            self.device.as_raw(),
            self.first.list().as_raw(),
            self.event_flags,
            self.lanes.mode().describe(),
            counts.pools,
            counts.events,
            counts.in_use,
            counts.free,
            counts.retired,
        );
        let text = if self.lanes.len() > 1 { text + &self.lanes.lists_line(&prefix, self.first.list()) } else { text };
        let Ok(text) = CString::new(text) else { return -AML_EINVAL };
        // SAFETY: valid stream by contract; "%s" with a C string.
        unsafe { libc::fprintf(stream, c"%s".as_ptr(), text.as_ptr()) }
    }

    pub fn counts(&self) -> crate::events::RecyclerCounts {
        self.recycler.counts()
    }
}
