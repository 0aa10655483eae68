//! One dma: its context, its immediate command list, the serialisation of
//! appends, requests, barrier and teardown. A dma over several queues has
//! one list per queue (`queues`), the first being `command_list`.
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

use ze_sys::*;

use crate::abi::*;
use crate::copy_nd;
use crate::diag::refuse;
use crate::error::{AmlError, ZeError};
use crate::events::{Recycler, Taken, Work};
use crate::fence::{Fence, FirstList};
use crate::footprint::{self, Footprint};
use crate::host_ranges;
use crate::in_order::Mode;
use crate::lanes::{DmaParts, Lanes};
use crate::layout::{read_flat, read_view};
use crate::loader::{self, Ze};
use crate::operator::Op;
use crate::spread::{self, Spread};

const DMA_MAGIC: u64 = 0x414d_4c5f_5a45_444d; // "AML_ZEDM"
const DEAD: u64 = 0;

/// The heap block behind every `struct aml_dma *` this library hands out.
#[repr(C)]
pub struct DmaBlock {
    dma: aml_dma,
    /// C code may lock `data.lock` at any time, hence the cell.
    data: UnsafeCell<aml_dma_ze_data>,
    magic: AtomicU64,
    pub(crate) ze: &'static Ze,
    /// The driver that owns the device: where prepared host ranges are imported.
    driver: ze_driver_handle_t,
    pub(crate) context: ze_context_handle_t,
    device: ze_device_handle_t,
    pub(crate) list: ze_command_list_handle_t,
    event_flags: ze_event_scope_flags_t,
    pub(crate) recycler: Recycler,
    /// Every list when the dma spans several queues; `None` for one list,
    /// whose path is exactly the single-queue one.
    lanes: Option<Box<Lanes>>,
    /// One list: what keeps it in order (`fence`), the last ticket handed
    /// out (under the append lock) and the ticket through which every
    /// request is known complete.
    fence: Fence,
    tickets: AtomicU64,
    done_through: AtomicU64,
}


/// Holds the dma's append lock (its `pthread_mutex_t`).
pub(crate) struct AppendGuard(*mut libc::pthread_mutex_t);

impl Drop for AppendGuard {
    fn drop(&mut self) {
        // SAFETY: locked by `DmaBlock::lock_appends` on this thread.
        unsafe { libc::pthread_mutex_unlock(self.0) };
    }
}

fn aml_code(rc: c_int) -> Result<(), AmlError> {
    // Operators written for upstream return positive codes: negate them.
    match rc {
        0 => Ok(()),
        rc if rc < 0 => Err(AmlError(rc)),
        rc => Err(AmlError(-rc)),
    }
}

/// The driver that owns `device` (a root device or one of its subdevices).
fn owning_driver(ze: &Ze, device: ze_device_handle_t) -> Result<ze_driver_handle_t, AmlError> {
    let mut count = 0u32;
    // SAFETY: count query with a NULL array, as the spec allows.
    unsafe { ze.driver_get(&mut count, ptr::null_mut()) }?;
    let mut drivers = vec![ptr::null_mut(); count as usize];
    // SAFETY: `drivers` has room for `count` handles.
    unsafe { ze.driver_get(&mut count, drivers.as_mut_ptr()) }?;
    for &driver in &drivers[..count as usize] {
        let mut n = 0u32;
        // SAFETY: live driver handle, count query.
        unsafe { ze.device_get(driver, &mut n, ptr::null_mut()) }?;
        let mut devices = vec![ptr::null_mut(); n as usize];
        // SAFETY: `devices` has room for `n` handles.
        unsafe { ze.device_get(driver, &mut n, devices.as_mut_ptr()) }?;
        for &root in &devices[..n as usize] {
            if root == device || is_subdevice_of(ze, root, device)? {
                return Ok(driver);
            }
        }
    }
    Err(refuse!(
        AmlError::EINVAL,
        "aml_dma_ze_create",
        "device {device:p}: not a device or subdevice of any Level Zero driver (a handle from zeDeviceGet or zeDeviceGetSubDevices)"
    ))
}

fn is_subdevice_of(ze: &Ze, parent: ze_device_handle_t, device: ze_device_handle_t) -> Result<bool, ZeError> {
    let mut n = 0u32;
    // SAFETY: live device handle, count query.
    unsafe { ze.device_get_sub_devices(parent, &mut n, ptr::null_mut()) }?;
    if n == 0 {
        return Ok(false);
    }
    let mut subs = vec![ptr::null_mut(); n as usize];
    // SAFETY: `subs` has room for `n` handles.
    unsafe { ze.device_get_sub_devices(parent, &mut n, subs.as_mut_ptr()) }?;
    for &sub in &subs[..n as usize] {
        if sub == device || is_subdevice_of(ze, sub, device)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The queues a create with (`ordinal`, `index`) uses (`-1` or
/// `AML_DMA_ZE_QUEUES`: every copy engine of the device, the asked queue
/// first); `-AML_EINVAL` unless `ordinal` names a queue group of `device`
/// with more than `index` queues.
fn check_queue(ze: &Ze, device: ze_device_handle_t, ordinal: c_int, index: c_int) -> Result<Spread, AmlError> {
    let mut count = 0u32;
    // SAFETY: live device handle, count query.
    unsafe { ze.device_get_command_queue_group_properties(device, &mut count, ptr::null_mut()) }?;
    let mut groups = vec![ze_command_queue_group_properties_t::default(); count as usize];
    for group in &mut groups {
        group.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_GROUP_PROPERTIES;
    }
    // SAFETY: `groups` has room for `count` entries, each with its stype set.
    unsafe { ze.device_get_command_queue_group_properties(device, &mut count, groups.as_mut_ptr()) }?;
    let groups: Vec<spread::Group> = groups[..count as usize]
        .iter()
        .map(|group| spread::Group {
            queues: group.numQueues,
            copy_only: group.flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY != 0
                && group.flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE == 0,
        })
        .collect();
    spread::spread_from_environment(&groups, ordinal, index).ok_or_else(|| refused_queue(&groups, ordinal, index))
}

/// Why `check_queue` refused (ordinal, index), traced; `-AML_EINVAL`.
#[cold]
fn refused_queue(groups: &[spread::Group], ordinal: c_int, index: c_int) -> AmlError {
    const CREATE: &str = "aml_dma_ze_create";
    let count = groups.len();
    let Some(group) = usize::try_from(ordinal).ok().and_then(|ordinal| groups.get(ordinal)) else {
        return refuse!(
            AmlError::EINVAL,
            CREATE,
            "ordinal {ordinal}: the device has {count} queue group{} (ordinals 0 to {})",
            if count == 1 { "" } else { "s" },
            count as i64 - 1
        );
    };
    if group.queues == 0 {
        return refuse!(AmlError::EINVAL, CREATE, "ordinal {ordinal}: the device's queue group {ordinal} has no queue");
    }
    refuse!(
        AmlError::EINVAL,
        CREATE,
        "index {index}: queue group {ordinal} of the device has {} queue{} (indices 0 to {}, or -1 for every copy engine)",
        group.queues,
        if group.queues == 1 { "" } else { "s" },
        group.queues - 1
    )
}

/// Level Zero objects made during create, released in reverse order if a later step fails.
struct Partial<'a> {
    ze: &'a Ze,
    context: ze_context_handle_t,
    lists: Vec<ze_command_list_handle_t>,
}

impl Drop for Partial<'_> {
    fn drop(&mut self) {
        for &list in self.lists.iter().rev() {
            // SAFETY: created by this create call and not handed out.
            let _ = unsafe { self.ze.command_list_destroy(list) };
        }
        if !self.context.is_null() {
            // SAFETY: as above.
            let _ = unsafe { self.ze.context_destroy(self.context) };
        }
    }
}

/// `aml_dma_ze_create`: a new dma on `device`, with `ops` as its `dma->ops`.
// `device` is an opaque handle: it is only compared with the driver's own
// device list until found there, and only then passed to Level Zero.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn create(device: ze_device_handle_t, ordinal: c_int, index: c_int, ops: *mut aml_dma_ops) -> Result<*mut aml_dma, AmlError> {
    let ze = loader::ze()?;
    if device.is_null() {
        return Err(refuse!(AmlError::EINVAL, "aml_dma_ze_create", "device is NULL"));
    }
    let driver = owning_driver(ze, device)?;
    let spread = check_queue(ze, device, ordinal, index)?;
    let mut mode = Mode::of(ze, driver);

    let mut partial = Partial { ze, context: ptr::null_mut(), lists: Vec::new() };
    let context_desc = ze_context_desc_t { stype: ZE_STRUCTURE_TYPE_CONTEXT_DESC, ..Default::default() };
    // SAFETY: `driver` owns `device`; the descriptor is complete.
    unsafe { ze.context_create(driver, &context_desc, &mut partial.context) }?;
    // The first list is on the queue asked for; the others follow it.
    for queue in spread.queues() {
        let create = |mode: Mode| {
            let queue_desc = ze_command_queue_desc_t {
                stype: ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
                ordinal: queue.ordinal,
                index: queue.index,
                flags: mode.queue_flags(ZE_COMMAND_QUEUE_FLAG_EXPLICIT_ONLY),
                mode: ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS,
                priority: ZE_COMMAND_QUEUE_PRIORITY_NORMAL,
                ..Default::default()
            };
            let mut list = ptr::null_mut();
            // SAFETY: live context and device; ordinal and index were validated.
            unsafe { ze.command_list_create_immediate(partial.context, device, &queue_desc, &mut list) }.map(|()| list)
        };
        let list = match create(mode) {
            Err(error) if partial.lists.is_empty() && mode.refused(error) => {
                mode = Mode::Fenced;
                create(mode)
            }
            created => created,
        }?;
        partial.lists.push(list);
    }
    let mut properties = ze_device_properties_t { stype: ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES, ..Default::default() };
    // SAFETY: live device; the properties struct has its stype set.
    unsafe { ze.device_get_properties(device, &mut properties) }?;
    let event_flags = ZE_EVENT_SCOPE_FLAG_HOST
        | if properties.flags & ZE_DEVICE_PROPERTY_FLAG_SUBDEVICE != 0 {
            ZE_EVENT_SCOPE_FLAG_SUBDEVICE
        } else {
            ZE_EVENT_SCOPE_FLAG_DEVICE
        };

    let (context, list) = (partial.context, partial.lists[0]);
    let lanes = (partial.lists.len() > 1)
        .then(|| {
            let split_bytes = spread::split_bytes_from_environment();
            Box::new(Lanes::new(&partial.lists, mode, split_bytes, spread.local(), spread.main_copy()))
        });
    // Handed over to the block: nothing is left for `partial` to release.
    partial.lists.clear();
    partial.context = ptr::null_mut();
    let block = Box::new(DmaBlock {
        dma: aml_dma { ops, data: ptr::null_mut() },
        data: UnsafeCell::new(aml_dma_ze_data {
            context,
            device,
            command_list: list,
            event_flags,
            // SAFETY: an all-zero pthread_mutex_t is a valid value; it is initialised below.
            lock: unsafe { std::mem::zeroed() },
        }),
        magic: AtomicU64::new(DMA_MAGIC),
        ze,
        driver,
        context,
        device,
        list,
        event_flags,
        recycler: Recycler::new(context, device, event_flags, mode),
        lanes,
        fence: Fence::new(mode),
        tickets: AtomicU64::new(0),
        done_through: AtomicU64::new(0),
    });
    let block = Box::into_raw(block);
    // SAFETY: `block` is a fresh, exclusively owned allocation that never moves
    // again, so the mutex may be initialised in place and the self-pointer set.
    unsafe {
        libc::pthread_mutex_init(ptr::addr_of_mut!((*(*block).data.get()).lock), ptr::null());
        (*block).dma.data = (*block).data.get().cast();
        Ok(ptr::addr_of_mut!((*block).dma))
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

    pub(crate) fn lock_appends(&self) -> AppendGuard {
        // SAFETY: the mutex was initialised in `create` and lives as long as the block.
        let mutex = unsafe { ptr::addr_of_mut!((*self.data.get()).lock) };
        // SAFETY: as above.
        unsafe { libc::pthread_mutex_lock(mutex) };
        AppendGuard(mutex)
    }

    pub fn ze(&self) -> &'static Ze {
        self.ze
    }

    pub fn command_list(&self) -> ze_command_list_handle_t {
        self.list
    }

    /// `aml_dma_ze_host_prepare`: the range is prepared for this dma's driver
    /// and belongs to this dma (`host_ranges`).
    pub fn host_prepare(&self, pointer: *mut c_void, size: usize) -> Result<(), AmlError> {
        host_ranges::prepare(self.ze, self.driver, self.context, self.owner_key(), pointer, size)
    }

    /// `aml_dma_ze_host_release` of a range this dma prepared.
    pub fn host_release(&self, pointer: *mut c_void) -> Result<(), AmlError> {
        host_ranges::release(self.ze, self.owner_key(), pointer)
    }

    /// `aml_dma_ze_host_imports`: whether this dma's driver imports host ranges.
    pub fn host_imports(&self) -> bool {
        host_ranges::imports(self.ze, self.driver)
    }

    fn owner_key(&self) -> usize {
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
        if let Some(lanes) = &self.lanes {
            // SAFETY: forwarded contract.
            return unsafe { self.request_create_spread(lanes, want_request, dst, src, op, arg) };
        }
        let guard = self.lock_appends();
        let order = FirstList {
            fence: &self.fence,
            done_through: self.done_through.load(Ordering::Acquire),
            ticket: self.tickets.fetch_add(1, Ordering::Relaxed) + 1,
            credited: true,
        };
        // SAFETY: forwarded contract; the lock is held.
        unsafe { self.request_create_locked(guard, &order, want_request, dst, src, op, arg) }
    }

    /// Completion of `block` was observed: on one list, every request up to
    /// its ticket is complete (the list is kept in order).
    #[inline]
    fn credit(&self, block: &Taken) {
        match &self.lanes {
            Some(lanes) => lanes.credit(block),
            None => {
                self.done_through.fetch_max(block.work().ticket, Ordering::Release);
            }
        }
    }

    /// A barrier before the next command on the first list, if `order` says
    /// it needs one. The caller holds the dma's lock.
    fn fence_first_list(&self, order: &FirstList) -> Result<(), AmlError> {
        if order.fence.needed(order.done_through) {
            // SAFETY: live list, under the dma's lock; no events.
            unsafe { self.ze.command_list_append_barrier(self.list, ptr::null_mut(), 0, ptr::null_mut()) }?;
            order.fence.barrier_appended();
        }
        Ok(())
    }

    /// `request_create` on `command_list`, the dma's lock held (`guard`).
    ///
    /// # Safety
    /// As `request_create`.
    #[inline(always)]
    pub(crate) unsafe fn request_create_locked(
        &self,
        guard: AppendGuard,
        order: &FirstList,
        want_request: bool,
        dst: *mut aml_layout,
        src: *mut aml_layout,
        op: Op,
        arg: *mut c_void,
    ) -> Result<*mut aml_dma_request, AmlError> {
        let mut fire_and_forget;
        // Taken under the append lock, which serialises the recycler's pops:
        // one lock round trip per request.
        self.fence_first_list(order)?;
        let block = if want_request {
            // SAFETY: the append lock is held (`guard`).
            Some(unsafe { self.recycler.take(self.ze) }?)
        } else {
            None
        };
        let ze_req = match &block {
            Some(block) => block.fresh_request(),
            None => {
                fire_and_forget = aml_dma_ze_request {
                    event: ptr::null_mut(),
                    pool: ptr::null_mut(),
                    flags: AML_DMA_ZE_REQUEST_FLAGS_PENDING,
                };
                &mut fire_and_forget
            }
        };
        let outcome = match op {
            // What `aml_dma_ze_memcpy_op` would do with these copy args, without
            // the indirect call and the second boundary.
            // SAFETY: the caller's pointers span `arg` bytes; `ze_req` is ours.
            Op::Memcpy => unsafe { self.append_memcpy(dst.cast(), src.cast(), arg as usize, (*ze_req).event) },
            Op::Call { op, .. } => {
                let mut args = aml_dma_ze_copy_args { ze_data: self.data.get(), ze_req, arg };
                // SAFETY: the caller vouches for the operator's arguments; `args` outlives the call.
                aml_code(unsafe { op(dst, src, ptr::addr_of_mut!(args).cast()) })
            }
        };
        if let Err(error) = outcome {
            if !op.is_builtin() {
                // A foreign operator may have appended before it failed.
                order.fence.appended(order.ticket);
            }
            if let Some(block) = block {
                // Our operators fail before appending; a foreign one may have
                // appended a signal of the event, so it waits for proof of completion.
                if op.is_builtin() {
                    self.recycler.give_back_unsubmitted(block);
                } else {
                    self.recycler.retire(block);
                }
            }
            drop(guard);
            return Err(error);
        }
        order.fence.appended(order.ticket);
        if let (true, Some(block)) = (order.credited, &block) {
            block.set_work(Work { ticket: order.ticket, ..Work::default() });
        }
        drop(guard);
        Ok(block.map_or(ptr::null_mut(), |block| self.recycler.hand_out(block)))
    }

    /// What of this dma a request over several lanes uses.
    fn parts(&self) -> DmaParts<'_> {
        DmaParts { ze: self.ze, context: self.context, device: self.device, recycler: &self.recycler }
    }

    /// `request_create` of a dma over several queues: a contiguous copy is
    /// placed over the lanes; an operator runs on the first list once that
    /// list waits for what it must follow. Out of line and cold, so that the
    /// single-list path it branches off stays as small as it was.
    ///
    /// # Safety
    /// As `request_create`.
    #[cold]
    #[inline(never)]
    unsafe fn request_create_spread(
        &self,
        lanes: &Lanes,
        want_request: bool,
        dst: *mut aml_layout,
        src: *mut aml_layout,
        op: Op,
        arg: *mut c_void,
    ) -> Result<*mut aml_dma_request, AmlError> {
        let guard = self.lock_appends();
        // SAFETY: forwarded contract.
        let access = match unsafe { footprint::of(dst, src, op, arg) }? {
            // SAFETY: the copy spans the caller's buffers.
            Footprint::Copy(copy) => return unsafe { lanes.create_copy(&self.parts(), guard, want_request, copy) },
            Footprint::FirstList(access) => Some(access),
            Footprint::Unknown => None,
        };
        let ticket = lanes.before_first_list(&self.parts(), access)?;
        let order = lanes.first_list(ticket);
        // SAFETY: forwarded contract; the lock is held.
        unsafe { self.request_create_locked(guard, &order, want_request, dst, src, op, arg) }
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
        // SAFETY: the event is live until the dma is destroyed.
        match unsafe { self.ze.event_host_synchronize(block.event(), u64::MAX) } {
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
        // SAFETY: the event is live until the dma is destroyed.
        match unsafe { self.ze.event_is_signalled(block.event()) } {
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
        if let Some(lanes) = &self.lanes {
            return lanes.barrier(&self.parts(), self.lock_appends());
        }
        let ze = self.ze;
        let (block, appended, retired, ticket) = {
            let _guard = self.lock_appends();
            // SAFETY: the append lock is held (`_guard`).
            let block = unsafe { self.recycler.take(ze) }?;
            // Taken under the append lock: each of these was appended before the barrier.
            let retired = self.recycler.take_retired();
            // SAFETY: live list and event; no wait list.
            let appended = unsafe { ze.command_list_append_barrier(self.list, block.event(), 0, ptr::null_mut()) };
            if appended.is_ok() {
                self.fence.barrier_appended();
            }
            (block, appended, retired, self.tickets.load(Ordering::Relaxed))
        };
        if let Err(error) = appended {
            self.recycler.put_retired(ze, retired, false);
            self.recycler.give_back_unsubmitted(block);
            return Err(error.into());
        }
        // SAFETY: live event, just appended as the barrier's signal.
        if let Err(error) = unsafe { ze.event_host_synchronize(block.event(), u64::MAX) } {
            self.recycler.put_retired(ze, retired, false);
            self.recycler.retire(block);
            return Err(error.into());
        }
        // Everything appended before the barrier is complete.
        self.done_through.fetch_max(ticket, Ordering::Release);
        self.recycler.put_retired(ze, retired, true);
        self.recycler.give_back(ze, block)?;
        Ok(())
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
             {prefix}dma-ze: event_pools: {}\n{prefix}dma-ze: events: {} (in use {}, free {}, retired {})\n",
            self as *const Self,
            self.context,
            self.device,
            self.list,
            self.event_flags,
            counts.pools,
            counts.events,
            counts.in_use,
            counts.free,
            counts.retired,
        );
        let text = match &self.lanes {
            Some(lanes) => text + &lanes.lists_line(&prefix),
            None => text,
        };
        let Ok(text) = CString::new(text) else { return -AML_EINVAL };
        // SAFETY: valid stream by contract; "%s" with a C string.
        unsafe { libc::fprintf(stream, c"%s".as_ptr(), text.as_ptr()) }
    }

    pub fn counts(&self) -> crate::events::RecyclerCounts {
        self.recycler.counts()
    }
}

/// Takes ownership of the dma behind `dma`, if it is a live dma of this
/// library: from then on every other entry refuses it.
///
/// # Safety
/// `dma` must be non-NULL and point to readable memory.
pub unsafe fn claim(dma: *mut aml_dma) -> Result<&'static DmaBlock, AmlError> {
    // SAFETY: readable by the caller's contract.
    let data = unsafe { (*dma).data };
    // SAFETY: `from_data` checks the tag of what it is given.
    let block: &'static DmaBlock = unsafe { DmaBlock::from_data(data) }?;
    if !ptr::eq(ptr::addr_of!(block.dma), dma) {
        return Err(AmlError::EINVAL);
    }
    if block.magic.compare_exchange(DMA_MAGIC, DEAD, Ordering::AcqRel, Ordering::Acquire).is_err() {
        return Err(AmlError::EINVAL);
    }
    Ok(block)
}

/// The live dma behind a `struct aml_dma *` this library made (not claimed).
///
/// # Safety
/// `dma` must be NULL or point to readable memory of at least a `struct aml_dma`.
pub unsafe fn from_dma<'a>(dma: *mut aml_dma) -> Result<&'a DmaBlock, AmlError> {
    if dma.is_null() {
        return Err(AmlError::EINVAL);
    }
    // SAFETY: readable by the caller's contract.
    let data = unsafe { (*dma).data };
    // SAFETY: `from_data` checks the tag of what it is given.
    let block: &DmaBlock = unsafe { DmaBlock::from_data(data) }?;
    if !ptr::eq(ptr::addr_of!(block.dma), dma) {
        return Err(AmlError::EINVAL);
    }
    Ok(block)
}

/// `aml_dma_ze_destroy` of a claimed dma: a barrier (all outstanding work
/// done), then every event, pool, the list, the context and the mutex are
/// released and the block freed, even if the barrier failed (its error is
/// returned). During process exit only memory is freed. Requests not yet
/// waited for or destroyed lose their events here (a caller bug upstream too).
pub fn destroy(block: &'static DmaBlock) -> Result<(), AmlError> {
    let ze = block.ze;
    let call_driver = !loader::exiting();
    // A failed barrier is tried once more: destroying events the device may
    // still signal is the one thing teardown must not do.
    let outcome = if call_driver { block.barrier().or_else(|_| block.barrier()) } else { Ok(()) };
    // Its work is done: the host ranges it still has prepared are released.
    host_ranges::release_all(ze, block.owner_key(), call_driver);
    if call_driver {
        // SAFETY: all work done (or the device gave up); the list goes first,
        // in reverse order of creation, so nothing on it can signal an event
        // destroyed below.
        let _ = unsafe { ze.command_list_destroy(block.list) };
        for list in block.lanes.iter().flat_map(|lanes| lanes.lists().skip(1)) {
            // SAFETY: as above, for every other list of the dma.
            let _ = unsafe { ze.command_list_destroy(list) };
        }
    }
    block.recycler.destroy_all(ze, call_driver);
    if call_driver {
        // SAFETY: its list, events and pools are gone; nothing else uses it.
        let _ = unsafe { ze.context_destroy(block.context) };
    }
    let block = block as *const DmaBlock as *mut DmaBlock;
    // SAFETY: `claim` cleared the tag for this caller alone, so it owns the
    // block, which was made by `Box::into_raw` in `create`.
    unsafe {
        libc::pthread_mutex_destroy(ptr::addr_of_mut!((*(*block).data.get()).lock));
        drop(Box::from_raw(block));
    }
    outcome
}

/// The dma an operator was called for and the event its copy signals (NULL
/// for a request made without a handle), from its copy arguments.
///
/// # Safety
/// `args` must be NULL or the copy arguments of a live request create call.
unsafe fn operator_target<'a>(
    function: &str,
    args: *const aml_dma_ze_copy_args,
) -> Result<(&'a DmaBlock, ze_event_handle_t), AmlError> {
    if args.is_null() {
        return Err(refuse!(AmlError::EINVAL, function, "arg is NULL: an operator is called by aml_dma_ze_request_create"));
    }
    // SAFETY: non-NULL copy args by contract.
    let (ze_data, ze_req) = unsafe { ((*args).ze_data, (*args).ze_req) };
    // SAFETY: `from_ze_data` checks the tag of what it is given.
    let block = unsafe { DmaBlock::from_ze_data(ze_data) }.map_err(|error| {
        refuse!(error, function, "arg {args:p}: not the copy arguments of a live dma's request (call it through aml_dma_ze_request_create)")
    })?;
    // SAFETY: ze_req is NULL or a live request.
    let event = if ze_req.is_null() { ptr::null_mut() } else { unsafe { (*ze_req).event } };
    Ok((block, event))
}

/// `aml_dma_ze_copy_1D`: flat copy between two 1-D layouts of equal byte size.
///
/// # Safety
/// `args` must be NULL or the copy arguments of a live request create call.
pub unsafe fn copy_1d(dst: *const aml_layout, src: *const aml_layout, args: *const aml_dma_ze_copy_args) -> Result<(), AmlError> {
    const COPY_1D: &str = "aml_dma_ze_copy_1D";
    // SAFETY: forwarded contract.
    let (block, event) = unsafe { operator_target(COPY_1D, args) }?;
    // SAFETY: layouts are valid or NULL by the operator's contract.
    let dst_flat = unsafe { read_flat(dst) }
        .inspect_err(|_| crate::diag::tell(COPY_1D, format_args!("dst {dst:p}: NULL, without the ops it needs, or not 1-D")))?;
    // SAFETY: as above.
    let src_flat = unsafe { read_flat(src) }
        .inspect_err(|_| crate::diag::tell(COPY_1D, format_args!("src {src:p}: NULL, without the ops it needs, or not 1-D")))?;
    let (dst, src) = (dst_flat, src_flat);
    if dst.bytes != src.bytes {
        return Err(refuse!(AmlError::EINVAL, COPY_1D, "dst holds {} bytes, src {}: the sizes differ", dst.bytes, src.bytes));
    }
    // SAFETY: the layouts describe `bytes` bytes each; the list is live and
    // the append lock is held by request create.
    unsafe { block.ze.command_list_append_memory_copy(block.list, dst.raw, src.raw, dst.bytes, event, 0, ptr::null_mut()) }?;
    Ok(())
}

/// `aml_dma_ze_copy_nd`: plans, then appends every piece on `command_list`;
/// the request's event is signalled by the only piece, or by a barrier after several.
///
/// # Safety
/// `args` must be NULL or the copy arguments of a live request create call;
/// non-NULL layouts must be valid and span what they describe.
pub unsafe fn copy_nd(dst: *const aml_layout, src: *const aml_layout, args: *const aml_dma_ze_copy_args) -> Result<(), AmlError> {
    const COPY_ND: &str = "aml_dma_ze_copy_nd";
    // SAFETY: forwarded contract.
    let (block, event) = unsafe { operator_target(COPY_ND, args) }?;
    let unreadable = |side: &str, layout: *const aml_layout, error: AmlError| match error {
        AmlError::ENOTSUP => refuse!(error, COPY_ND, "{side} {layout:p}: a layout that is neither AML's dense one nor 1-D"),
        _ => refuse!(error, COPY_ND, "{side} {layout:p}: NULL, or a layout that cannot be read"),
    };
    // SAFETY: layouts are valid or NULL by the operator's contract.
    let dst_view = unsafe { read_view(dst) }.map_err(|error| unreadable("dst", dst, error))?;
    // SAFETY: as above.
    let src_view = unsafe { read_view(src) }.map_err(|error| unreadable("src", src, error))?;
    let (dst, src) = (dst_view, src_view);
    let plan = copy_nd::plan(&dst, &src).map_err(|error| match error {
        AmlError::EDOM => refuse!(error, COPY_ND, "a byte of dst would be written twice, or is also read from src"),
        AmlError::ENOTSUP => refuse!(error, COPY_ND, "a layout of another kind that is not 1-D"),
        _ => refuse!(error, COPY_ND, "dst and src differ in element size, number of dimensions or dims"),
    })?;
    // SAFETY: the layouts span every piece; request create holds the append lock.
    unsafe { copy_nd::append(block.ze, block.list, &plan, event) }
}

/// `aml_dma_ze_memcpy_op`: `dst` and `src` are raw pointers, `args->arg` the size.
///
/// # Safety
/// As `copy_1d`; `dst` and `src` must span the size.
pub unsafe fn memcpy(dst: *mut c_void, src: *const c_void, args: *const aml_dma_ze_copy_args) -> Result<(), AmlError> {
    // SAFETY: forwarded contract.
    let (block, event) = unsafe { operator_target("aml_dma_ze_memcpy_op", args) }?;
    // SAFETY: non-NULL (checked above) copy args by contract.
    let size = unsafe { (*args).arg } as usize;
    // SAFETY: the caller's pointers span `size` bytes; lock held by request create.
    unsafe { block.append_memcpy(dst, src, size, event) }
}

impl DmaBlock {
    /// Appends a copy of `size` bytes signalling `event` (may be NULL).
    ///
    /// # Safety
    /// `dst` and `src` span `size` bytes; the append lock is held.
    #[inline]
    unsafe fn append_memcpy(&self, dst: *mut c_void, src: *const c_void, size: usize, event: ze_event_handle_t) -> Result<(), AmlError> {
        // SAFETY: forwarded contract; the list is live.
        unsafe { self.ze.command_list_append_memory_copy(self.list, dst, src, size, event, 0, ptr::null_mut()) }?;
        Ok(())
    }
}
