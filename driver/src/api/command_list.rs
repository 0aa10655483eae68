//! Command lists, immediate and regular. An immediate list is a queue of its
//! backend (an engine thread on the CPU, a stream on a GPU) on the queue
//! group and index asked for; an append checks its arguments, marks the
//! events it names in use and hands the command to the queue, which runs
//! commands in append order. A regular list records the same checked
//! commands (events held, not yet marked in use) until it is closed; each
//! `zeCommandQueueExecuteCommandLists` turns the recording into fresh backend
//! commands, so one recording replays any number of times. Destroying an
//! immediate list lets the work already appended finish; commands already
//! submitted from a regular list are the queue's and run on.
//!
//! Every list runs its commands in order already; an in-order list
//! (`ZE_COMMAND_QUEUE_FLAG_IN_ORDER` for an immediate list,
//! `ZE_COMMAND_LIST_FLAG_IN_ORDER` for a regular one) also makes a CPU copy
//! wait for the list's earlier work (its queue's `Role`), and is the only
//! kind that may signal a counter-based event. A counter-based event gets
//! its word when the command is made: at the append on an immediate list, at
//! each execution of a regular one (Intel's: "each regular command list
//! execution updates state of the events ... to not ready").

use std::ffi::c_void;
use std::sync::Arc;

use parking_lot::Mutex;
use ze_sys::*;

use crate::api::allocations;
use crate::api::context::{self, Context};
use crate::api::counter;
use crate::api::driver;
use crate::api::event::{self, Event};
use crate::args;
use crate::backend::{Action, Command, Queue, QueueGroup, QueueMode, UseGuard};
use crate::calls::Api;
use crate::control::Kind;
use crate::entry::{guarded, require, ZeResult};
use crate::backend::region::{self, Side};
use crate::registry::{Registry, RemoveError};

pub struct CommandList {
    context: Arc<Context>,
    /// The queue group the list was made for: a queue executes only lists of
    /// its own engine type.
    pub ordinal: u32,
    /// The queue groups of the list's device.
    pub groups: &'static [QueueGroup],
    /// The backend's device the list was made for: its commands must reach
    /// the memory they name from there.
    device: usize,
    /// Created with the in-order flag of its kind.
    in_order: bool,
    body: ListBody,
}

enum ListBody {
    Immediate(Box<dyn Queue>),
    Regular(Mutex<Recording>),
}

#[derive(Default)]
struct Recording {
    entries: Vec<Recorded>,
    closed: bool,
}

/// One recorded command: its events stay resolved (and alive) for every
/// replay; `reset` is the event an `Action::ResetEvent` names.
struct Recorded {
    waits: Vec<Arc<Event>>,
    action: Action,
    signal: Option<Arc<Event>>,
    reset: Option<Arc<Event>>,
}

impl Recorded {
    /// A backend command doing what was recorded, its events marked in use
    /// from now until the backend reports it finished.
    fn command(&self) -> Result<Command, ze_result_t> {
        Recorded {
            waits: self.waits.clone(),
            action: self.action.clone(),
            signal: self.signal.clone(),
            reset: self.reset.clone(),
        }
        .into_command()
    }

    /// As `command`, consuming the entry: an immediate append moves its
    /// events into the command instead of counting them twice. The signal
    /// first: a counter-based event that the command both waits on and
    /// signals waits on its previous append.
    #[inline]
    fn into_command(self) -> Result<Command, ze_result_t> {
        let Recorded { waits, action, signal, reset } = self;
        let (mut wait_cells, mut wait_uses) = (Vec::new(), Vec::new());
        if !waits.is_empty() {
            (wait_cells, wait_uses) = waits.into_iter().map(event::wait_use).unzip();
        }
        let (signal, signal_use) = match signal {
            Some(event) => {
                let (cell, event_use) = event::signal_use(event)?;
                (Some(cell), Some(event_use))
            }
            None => (None, None),
        };
        let reset = reset.map(|event| event::wait_use(event).1);
        Ok(Command { waits: wait_cells, action, signal, guard: UseGuard::new(signal_use, reset, wait_uses) })
    }
}

pub static COMMAND_LISTS: Registry<CommandList> = Registry::new(Kind::CommandList);

/// Resolves a command list handle; NULL, stale and foreign handles are all
/// `ZE_RESULT_ERROR_INVALID_NULL_HANDLE`.
pub fn list(handle: ze_command_list_handle_t) -> Result<Arc<CommandList>, ze_result_t> {
    COMMAND_LISTS.get(handle as usize).ok_or(ZE_RESULT_ERROR_INVALID_NULL_HANDLE)
}

impl CommandList {
    /// Appends one command: wait for `waits`, do `action`, then signal.
    #[inline]
    fn append(
        &self,
        api: Api,
        waits: Vec<Arc<Event>>,
        action: Action,
        signal: Option<Arc<Event>>,
        reset: Option<Arc<Event>>,
    ) -> ZeResult {
        driver::backend()?.prepare(self.device, &action)?;
        if let Some(event) = &signal {
            event.check_signal(self.in_order, matches!(self.body, ListBody::Immediate(_)))?;
        }
        for event in &waits {
            event.check_wait()?;
        }
        let recorded = Recorded { waits, action, signal, reset };
        match &self.body {
            ListBody::Immediate(queue) => queue.submit(recorded.into_command()?),
            ListBody::Regular(recording) => {
                let mut recording = recording.lock();
                // Intel's driver records after a close as before it; the spec
                // asks for a reset first.
                args::spec_rule(api, !recording.closed, ZE_RESULT_ERROR_INVALID_ARGUMENT, || {
                    "appending to a closed command list".into()
                })?;
                recording.entries.push(recorded);
                Ok(())
            }
        }
    }

    /// A barrier or a wait on events is being appended: an immediate list's
    /// queue notes it (Intel's driver copies with the CPU only after
    /// synchronizing such a list).
    fn note_dependencies(&self) {
        if let ListBody::Immediate(queue) = &self.body {
            queue.dependencies_appended();
        }
    }

    /// The commands one execution of this regular list submits, in order.
    /// An immediate list, or one not closed, is `INVALID_ARGUMENT`, as on
    /// Intel's driver.
    pub fn replay(&self) -> Result<Vec<Command>, ze_result_t> {
        let ListBody::Regular(recording) = &self.body else {
            return Err(ZE_RESULT_ERROR_INVALID_ARGUMENT);
        };
        let recording = recording.lock();
        require(recording.closed, ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        recording.entries.iter().map(Recorded::command).collect()
    }

    fn is_copy_only(&self) -> Result<bool, ze_result_t> {
        is_copy_only_group(self.groups, self.ordinal)
    }
}

/// Whether the queue group at `ordinal` of `groups` copies but does not compute.
pub fn is_copy_only_group(groups: &[QueueGroup], ordinal: u32) -> Result<bool, ze_result_t> {
    let group = groups.get(ordinal as usize).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
    Ok(group.flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE == 0)
}

/// The checks an immediate list's and a command queue's descriptor share;
/// the backend queue mode it asks for.
pub fn check_queue_desc(api: Api, device: &driver::Device, desc: &ze_command_queue_desc_t) -> Result<QueueMode, ze_result_t> {
    args::spec_range(api, "desc->flags", desc.flags, ZE_COMMAND_QUEUE_FLAG_EXPLICIT_ONLY | counter::COMMAND_QUEUE_FLAG_IN_ORDER)?;
    args::spec_range(api, "desc->mode", desc.mode, ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS)?;
    args::spec_range(api, "desc->priority", desc.priority, ZE_COMMAND_QUEUE_PRIORITY_PRIORITY_HIGH)?;
    // Intel's driver refuses an engine it does not have, and so do we.
    let group = device.groups.get(desc.ordinal as usize).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
    require(desc.index < group.queues, ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
    Ok(if desc.mode == ZE_COMMAND_QUEUE_MODE_SYNCHRONOUS { QueueMode::Synchronous } else { QueueMode::Asynchronous })
}

pub unsafe extern "C" fn ze_command_list_create_immediate(
    context_handle: ze_context_handle_t,
    device: ze_device_handle_t,
    desc: *const ze_command_queue_desc_t,
    list_out: *mut ze_command_list_handle_t,
) -> ze_result_t {
    const API: Api = Api::zeCommandListCreateImmediate;
    guarded(API, || {
        let context = context::context(context_handle)?;
        let device = driver::device(device)?;
        // SAFETY: the caller's descriptor (Level Zero contract), NULL checked.
        let desc = unsafe { args::descriptor(API, desc) }?;
        require(!list_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        let mode = check_queue_desc(API, device, desc)?;
        let queue = driver::backend()?.create_queue(&driver::queue_spec(device, desc, mode, true)?)?;
        context.adopt();
        let handle = COMMAND_LISTS.insert(CommandList {
            context,
            ordinal: desc.ordinal,
            groups: device.groups,
            device: device.backend_device,
            in_order: desc.flags & counter::COMMAND_QUEUE_FLAG_IN_ORDER != 0,
            body: ListBody::Immediate(queue),
        });
        // SAFETY: non-NULL out-pointer (checked above).
        unsafe { args::write(list_out, handle as ze_command_list_handle_t) }
    })
}

pub unsafe extern "C" fn ze_command_list_create(
    context_handle: ze_context_handle_t,
    device: ze_device_handle_t,
    desc: *const ze_command_list_desc_t,
    list_out: *mut ze_command_list_handle_t,
) -> ze_result_t {
    const API: Api = Api::zeCommandListCreate;
    guarded(API, || {
        let context = context::context(context_handle)?;
        let device = driver::device(device)?;
        // SAFETY: the caller's descriptor (Level Zero contract), NULL checked.
        let desc = unsafe { args::descriptor(API, desc) }?;
        require(!list_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        args::spec_range(API, "desc->flags", desc.flags, 0x7 | counter::COMMAND_LIST_FLAG_IN_ORDER)?;
        // Intel's driver checks the ordinal (INVALID_ARGUMENT), nothing else.
        is_copy_only_group(device.groups, desc.commandQueueGroupOrdinal)?;
        context.adopt();
        let list = CommandList {
            context,
            ordinal: desc.commandQueueGroupOrdinal,
            groups: device.groups,
            device: device.backend_device,
            in_order: desc.flags & counter::COMMAND_LIST_FLAG_IN_ORDER != 0,
            body: ListBody::Regular(Mutex::new(Recording::default())),
        };
        let handle = COMMAND_LISTS.insert(list);
        // SAFETY: non-NULL out-pointer (checked above).
        unsafe { args::write(list_out, handle as ze_command_list_handle_t) }
    })
}

pub unsafe extern "C" fn ze_command_list_close(handle: ze_command_list_handle_t) -> ze_result_t {
    guarded(Api::zeCommandListClose, || {
        // Closing an immediate list is a no-op on Intel's driver.
        if let ListBody::Regular(recording) = &list(handle)?.body {
            recording.lock().closed = true;
        }
        Ok(())
    })
}

pub unsafe extern "C" fn ze_command_list_reset(handle: ze_command_list_handle_t) -> ze_result_t {
    guarded(Api::zeCommandListReset, || {
        match &list(handle)?.body {
            ListBody::Regular(recording) => *recording.lock() = Recording::default(),
            // An immediate list has nothing recorded: Intel's driver lets its
            // work finish and succeeds.
            ListBody::Immediate(queue) => {
                queue.wait_idle(None);
            }
        }
        Ok(())
    })
}

pub unsafe extern "C" fn ze_command_list_destroy(handle: ze_command_list_handle_t) -> ze_result_t {
    guarded(Api::zeCommandListDestroy, || {
        driver::topology()?;
        match COMMAND_LISTS.remove_if(handle as usize, |_| true) {
            Ok(list) => {
                if let ListBody::Immediate(queue) = &list.body {
                    queue.finish();
                }
                list.context.release();
                Ok(())
            }
            Err(RemoveError::Unknown | RemoveError::Refused) => Err(ZE_RESULT_ERROR_INVALID_NULL_HANDLE),
        }
    })
}

/// What a copy or fill may touch, checked at append so that a bad range is
/// an error there, never a fault in an engine thread. Intel's driver
/// (compute-runtime's `getAlignedAllocationData`) takes a range that is not
/// wholly inside one allocation it knows (of any context: one table per
/// driver) for host memory and imports it as a user pointer; that fails for
/// memory that is not mapped, and the append returns
/// `ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY` with nothing queued. So here:
/// a range that starts inside a known allocation must end inside it (past
/// its end lies device memory Intel cannot import: the same error), and a
/// range in no known allocation must be readable memory (`is_mapped`: not
/// a never-mapped address, nor a freed allocation whose pages went back to
/// the system or were reserved `PROT_NONE` since). A read-only destination
/// is not told apart.
fn check_reach(start: usize, size: usize) -> ZeResult {
    if size == 0 {
        return Ok(());
    }
    let end = start.checked_add(size).ok_or(ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY)?;
    match allocations::find_in_driver(start) {
        Some((base, size)) => require(end <= base + size, ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY),
        None => require(is_mapped(start, end), ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY),
    }
}

/// Every page of `[start, end)` is readable in this process: the kernel
/// reads one byte of each page for us (`process_vm_readv` on our own pid),
/// so a page that is not mapped, or mapped without access (`PROT_NONE`: a
/// malloc arena's reserve, a guard page, which a freed allocation's address
/// may have become), fails the read instead of faulting a thread. A syscall
/// costs more than the rest of an append, so each thread remembers the last
/// few ranges it found readable, until the driver frees any allocation
/// (which may unmap pages; `allocations::frees`). Host memory the program
/// unmaps itself after copying it once is not seen until then.
fn is_mapped(start: usize, end: usize) -> bool {
    const REMEMBERED: usize = 4;
    struct Seen {
        frees: u64,
        ranges: [(usize, usize); REMEMBERED],
        next: usize,
    }
    thread_local! {
        static SEEN: std::cell::RefCell<Seen> =
            const { std::cell::RefCell::new(Seen { frees: u64::MAX, ranges: [(0, 0); REMEMBERED], next: 0 }) };
    }
    let frees = allocations::frees();
    let known = SEEN.with_borrow_mut(|seen| {
        if seen.frees != frees {
            *seen = Seen { frees, ranges: [(0, 0); REMEMBERED], next: 0 };
        }
        seen.ranges.iter().any(|&(low, high)| low <= start && end <= high)
    });
    if known {
        return true;
    }
    let page = page_size();
    let first = start & !(page - 1);
    // One byte of each page: the range's first byte, then each page's first.
    const PAGES_A_CALL: usize = 1024; // IOV_MAX
    let mut bytes = [0u8; PAGES_A_CALL];
    let mut remote = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 1 }; PAGES_A_CALL];
    let mut at = first;
    while at < end {
        let mut count = 0;
        while count < PAGES_A_CALL && at < end {
            remote[count].iov_base = at.max(start) as *mut c_void;
            count += 1;
            at += page;
        }
        let local = libc::iovec { iov_base: bytes.as_mut_ptr().cast(), iov_len: count };
        // SAFETY: `local` is our own buffer of `count` bytes; the kernel reads
        // the remote addresses through the page tables and reports a page it
        // cannot read as an error or a short count, never a fault here.
        let read = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, remote.as_ptr(), count as libc::c_ulong, 0) };
        if read < 0 {
            // EFAULT: the first page is not readable. Anything else (no such
            // call in a sandbox: ENOSYS, EPERM) says nothing against the
            // range, and is not remembered.
            return std::io::Error::last_os_error().raw_os_error() != Some(libc::EFAULT);
        }
        if read as usize != count {
            return false;
        }
    }
    let high = end.checked_next_multiple_of(page).unwrap_or(end);
    SEEN.with_borrow_mut(|seen| {
        let slot = seen.next;
        seen.ranges[slot] = (first, high);
        seen.next = (slot + 1) % REMEMBERED;
    });
    true
}

fn page_size() -> usize {
    static PAGE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    match PAGE.load(std::sync::atomic::Ordering::Relaxed) {
        0 => {
            // SAFETY: sysconf has no preconditions.
            let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
                size if size > 0 => size as usize,
                _ => 4096,
            };
            PAGE.store(page, std::sync::atomic::Ordering::Relaxed);
            page
        }
        page => page,
    }
}

/// The checks and the append a copy and a copy from another context share.
///
/// # Safety
/// `wait_events` holds `wait_count` handles (Level Zero contract).
#[allow(clippy::too_many_arguments)] // the entry point's own arguments, passed on
unsafe fn append_copy(
    api: Api,
    list_handle: ze_command_list_handle_t,
    destination: *mut c_void,
    source: *const c_void,
    size: usize,
    signal: ze_event_handle_t,
    wait_count: u32,
    wait_events: *mut ze_event_handle_t,
) -> ZeResult {
    let list = list(list_handle)?;
    require(!destination.is_null() && !source.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
    let signal = event::optional_event(signal)?;
    // SAFETY: forwarded contract.
    let waits = unsafe { event::wait_list(wait_count, wait_events) }?;
    let (destination, source) = (destination as usize, source as usize);
    check_reach(source, size)?;
    check_reach(destination, size)?;
    let disjoint = destination.checked_add(size).is_some_and(|end| end <= source)
        || source.checked_add(size).is_some_and(|end| end <= destination);
    require(size == 0 || disjoint, ZE_RESULT_ERROR_OVERLAPPING_REGIONS)?;
    let action = if size == 0 { Action::Nothing } else { Action::Copy { destination, source, size } };
    list.append(api, waits, action, signal, None)
}

pub unsafe extern "C" fn ze_command_list_append_memory_copy(
    list_handle: ze_command_list_handle_t,
    destination: *mut c_void,
    source: *const c_void,
    size: usize,
    signal: ze_event_handle_t,
    wait_count: u32,
    wait_events: *mut ze_event_handle_t,
) -> ze_result_t {
    const API: Api = Api::zeCommandListAppendMemoryCopy;
    // SAFETY: the caller's wait list (Level Zero contract).
    guarded(API, || unsafe { append_copy(API, list_handle, destination, source, size, signal, wait_count, wait_events) })
}

/// A copy whose source belongs to another context: every context of swze
/// sees every allocation by address, so it is a copy like any other.
pub unsafe extern "C" fn ze_command_list_append_memory_copy_from_context(
    list_handle: ze_command_list_handle_t,
    destination: *mut c_void,
    source_context: ze_context_handle_t,
    source: *const c_void,
    size: usize,
    signal: ze_event_handle_t,
    wait_count: u32,
    wait_events: *mut ze_event_handle_t,
) -> ze_result_t {
    const API: Api = Api::zeCommandListAppendMemoryCopyFromContext;
    guarded(API, || {
        context::context(source_context)?;
        // SAFETY: the caller's wait list (Level Zero contract).
        unsafe { append_copy(API, list_handle, destination, source, size, signal, wait_count, wait_events) }
    })
}

#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn ze_command_list_append_memory_copy_region(
    list_handle: ze_command_list_handle_t,
    destination: *mut c_void,
    destination_region: *const ze_copy_region_t,
    destination_pitch: u32,
    destination_slice_pitch: u32,
    source: *const c_void,
    source_region: *const ze_copy_region_t,
    source_pitch: u32,
    source_slice_pitch: u32,
    signal: ze_event_handle_t,
    wait_count: u32,
    wait_events: *mut ze_event_handle_t,
) -> ze_result_t {
    guarded(Api::zeCommandListAppendMemoryCopyRegion, || {
        let list = list(list_handle)?;
        // SAFETY: each region is NULL or the caller's valid struct (Level Zero contract).
        let (destination_region, source_region) = unsafe { (destination_region.as_ref(), source_region.as_ref()) };
        let copy = region::check(
            Side { base: destination as usize, region: destination_region, pitch: destination_pitch, slice_pitch: destination_slice_pitch },
            Side { base: source as usize, region: source_region, pitch: source_pitch, slice_pitch: source_slice_pitch },
        )?;
        if !copy.is_empty() {
            // The bounding range of each side: rows and slices between.
            let span = |pitch: usize, slice_pitch: usize| (copy.depth - 1) * slice_pitch + (copy.height - 1) * pitch + copy.width;
            check_reach(copy.source, span(copy.source_pitch, copy.source_slice_pitch))?;
            check_reach(copy.destination, span(copy.destination_pitch, copy.destination_slice_pitch))?;
        }
        let signal = event::optional_event(signal)?;
        // SAFETY: `wait_events` holds `wait_count` handles (Level Zero contract).
        let waits = unsafe { event::wait_list(wait_count, wait_events) }?;
        let action = if copy.is_empty() { Action::Nothing } else { Action::CopyRegion(Box::new(copy)) };
        list.append(Api::zeCommandListAppendMemoryCopyRegion, waits, action, signal, None)
    })
}

pub unsafe extern "C" fn ze_command_list_append_barrier(
    list_handle: ze_command_list_handle_t,
    signal: ze_event_handle_t,
    wait_count: u32,
    wait_events: *mut ze_event_handle_t,
) -> ze_result_t {
    guarded(Api::zeCommandListAppendBarrier, || {
        let list = list(list_handle)?;
        let signal = event::optional_event(signal)?;
        // SAFETY: `wait_events` holds `wait_count` handles (Level Zero contract).
        let waits = unsafe { event::wait_list(wait_count, wait_events) }?;
        // Commands run one after another on the list's engine, so
        // "everything before" is done when the barrier runs; it only has to
        // honour its wait list (a CPU copy that follows waits for the list).
        list.note_dependencies();
        list.append(Api::zeCommandListAppendBarrier, waits, Action::Nothing, signal, None)
    })
}

/// A barrier that needs only cover `ranges`: a full barrier does, since
/// commands run in order. Intel's driver accepts it on every engine.
pub unsafe extern "C" fn ze_command_list_append_memory_ranges_barrier(
    list_handle: ze_command_list_handle_t,
    range_count: u32,
    range_sizes: *const usize,
    ranges: *mut *const c_void,
    signal: ze_event_handle_t,
    wait_count: u32,
    wait_events: *mut ze_event_handle_t,
) -> ze_result_t {
    const API: Api = Api::zeCommandListAppendMemoryRangesBarrier;
    guarded(API, || {
        let list = list(list_handle)?;
        args::spec_rule(API, !range_sizes.is_null() && !ranges.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER, || {
            format!("{range_count} ranges given by a NULL pRangeSizes or pRanges")
        })?;
        let signal = event::optional_event(signal)?;
        // SAFETY: `wait_events` holds `wait_count` handles (Level Zero contract).
        let waits = unsafe { event::wait_list(wait_count, wait_events) }?;
        list.note_dependencies();
        list.append(API, waits, Action::Nothing, signal, None)
    })
}

pub unsafe extern "C" fn ze_command_list_append_signal_event(
    list_handle: ze_command_list_handle_t,
    signal: ze_event_handle_t,
) -> ze_result_t {
    guarded(Api::zeCommandListAppendSignalEvent, || {
        let list = list(list_handle)?;
        let signal = event::sync_event(signal)?;
        list.append(Api::zeCommandListAppendSignalEvent, Vec::new(), Action::Nothing, Some(signal), None)
    })
}

pub unsafe extern "C" fn ze_command_list_append_wait_on_events(
    list_handle: ze_command_list_handle_t,
    count: u32,
    events: *mut ze_event_handle_t,
) -> ze_result_t {
    guarded(Api::zeCommandListAppendWaitOnEvents, || {
        let list = list(list_handle)?;
        require(!events.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        // SAFETY: `events` holds `count` handles (Level Zero contract).
        let waits = unsafe { event::wait_list(count, events) }?;
        list.note_dependencies();
        list.append(Api::zeCommandListAppendWaitOnEvents, waits, Action::Nothing, None, None)
    })
}

pub unsafe extern "C" fn ze_command_list_append_event_reset(
    list_handle: ze_command_list_handle_t,
    target: ze_event_handle_t,
) -> ze_result_t {
    guarded(Api::zeCommandListAppendEventReset, || {
        let list = list(list_handle)?;
        let target = event::sync_event(target)?;
        // Intel's `appendEventReset` refuses a counter-based event.
        require(!target.is_counter_based(), ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        let action = Action::ResetEvent(target.cell_ref());
        list.append(Api::zeCommandListAppendEventReset, Vec::new(), action, None, Some(target))
    })
}

pub unsafe extern "C" fn ze_command_list_append_memory_fill(
    list_handle: ze_command_list_handle_t,
    destination: *mut c_void,
    pattern: *const c_void,
    pattern_size: usize,
    size: usize,
    signal: ze_event_handle_t,
    wait_count: u32,
    wait_events: *mut ze_event_handle_t,
) -> ze_result_t {
    const API: Api = Api::zeCommandListAppendMemoryFill;
    guarded(API, || {
        let list = list(list_handle)?;
        require(!destination.is_null() && !pattern.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        // A pattern of no bytes fills nothing sensible (Intel's driver would
        // divide by it).
        require(pattern_size != 0, ZE_RESULT_ERROR_INVALID_SIZE)?;
        let group = list.groups.get(list.ordinal as usize).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        // Intel's copy engines refuse a pattern longer than they report.
        require(pattern_size <= group.max_fill_pattern_size, ZE_RESULT_ERROR_INVALID_SIZE)?;
        // Intel's compute engines fill any pattern length; the spec asks for a power of two.
        args::spec_rule(API, pattern_size.is_power_of_two(), ZE_RESULT_ERROR_INVALID_SIZE, || {
            format!("pattern_size = {pattern_size} is not a power of two")
        })?;
        let signal = event::optional_event(signal)?;
        // SAFETY: `wait_events` holds `wait_count` handles (Level Zero contract).
        let waits = unsafe { event::wait_list(wait_count, wait_events) }?;
        // SAFETY: the caller's pattern holds `pattern_size` bytes (Level Zero
        // contract); copied now, so the caller may reuse it at once.
        let pattern: Arc<[u8]> = unsafe { std::slice::from_raw_parts(pattern.cast::<u8>(), pattern_size) }.into();
        check_reach(destination as usize, size)?;
        let action = if size == 0 {
            Action::Nothing
        } else {
            Action::Fill { destination: destination as usize, size, pattern }
        };
        list.append(API, waits, action, signal, None)
    })
}

/// Prefetch and advice are hints: like Intel's driver, swze accepts them for
/// an allocation it knows (of the list's context) and does nothing.
fn check_hint_target(list: &CommandList, pointer: *const c_void) -> ZeResult {
    require(!pointer.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
    require(list.context.allocations.find(pointer as usize).is_some(), ZE_RESULT_ERROR_INVALID_ARGUMENT)
}

pub unsafe extern "C" fn ze_command_list_append_memory_prefetch(
    list_handle: ze_command_list_handle_t,
    pointer: *const c_void,
    _size: usize,
) -> ze_result_t {
    guarded(Api::zeCommandListAppendMemoryPrefetch, || check_hint_target(&*list(list_handle)?, pointer))
}

pub unsafe extern "C" fn ze_command_list_append_mem_advise(
    list_handle: ze_command_list_handle_t,
    device: ze_device_handle_t,
    pointer: *const c_void,
    _size: usize,
    advice: ze_memory_advice_t,
) -> ze_result_t {
    const API: Api = Api::zeCommandListAppendMemAdvise;
    guarded(API, || {
        let list = list(list_handle)?;
        driver::device(device)?;
        args::spec_range(API, "advice", advice, ZE_MEMORY_ADVICE_BIAS_UNCACHED)?;
        check_hint_target(&list, pointer)
    })
}

/// Whether a queue may execute `list`: Intel's driver refuses a list of the
/// other engine type (copy-only against compute).
pub fn check_engine_type(list: &CommandList, queue_groups: &[QueueGroup], queue_ordinal: u32) -> ZeResult {
    require(
        list.is_copy_only()? == is_copy_only_group(queue_groups, queue_ordinal)?,
        ZE_RESULT_ERROR_INVALID_COMMAND_LIST_TYPE,
    )
}

pub unsafe extern "C" fn ze_command_list_append_write_global_timestamp(
    list_handle: ze_command_list_handle_t,
    destination: *mut u64,
    signal: ze_event_handle_t,
    wait_count: u32,
    wait_events: *mut ze_event_handle_t,
) -> ze_result_t {
    const API: Api = Api::zeCommandListAppendWriteGlobalTimestamp;
    guarded(API, || {
        let list = list(list_handle)?;
        require(!destination.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        let signal = event::optional_event(signal)?;
        // SAFETY: `wait_events` holds `wait_count` handles (Level Zero contract).
        let waits = unsafe { event::wait_list(wait_count, wait_events) }?;
        let action = Action::WriteTimestamp { destination: destination as usize };
        list.append(API, waits, action, signal, None)
    })
}

/// `zeCommandListHostSynchronize` (API 1.6; reached through a newer loader
/// only, `crate::newer`): as Intel's driver, an immediate list waits on the
/// host until every command appended to it so far has run, or `timeout`
/// nanoseconds pass (`ZE_RESULT_NOT_READY`; `UINT64_MAX` waits without
/// limit, 0 only looks); a regular list is `ZE_RESULT_ERROR_INVALID_ARGUMENT`
/// (compute-runtime `level_zero/core/source/cmdlist/cmdlist_hw_immediate.inl`
/// and `cmdlist_hw.inl`, `hostSynchronize`). Intel's SYCL runtime (its
/// Level Zero v2 adapter) finishes a queue with it.
pub unsafe extern "C" fn ze_command_list_host_synchronize(handle: ze_command_list_handle_t, timeout: u64) -> ze_result_t {
    guarded(Api::zeCommandListHostSynchronize, || match &list(handle)?.body {
        ListBody::Regular(_) => Err(ZE_RESULT_ERROR_INVALID_ARGUMENT),
        ListBody::Immediate(queue) => {
            let now = std::time::Instant::now();
            let deadline = match timeout {
                u64::MAX => None,
                _ => Some(now.checked_add(std::time::Duration::from_nanos(timeout)).unwrap_or(now)),
            };
            require(queue.wait_idle(deadline), ZE_RESULT_NOT_READY)
        }
    })
}
