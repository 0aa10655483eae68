//! The append entry points (`zeCommandListAppend...`): each checks its
//! arguments (Intel's rules, the spec's under `SWZE_STRICT`), resolves the
//! events it names and hands one command to its list (`CommandList::append`
//! in `command_list.rs`, which submits or records it). What a copy or fill
//! may reach is `reach.rs`.

use std::ffi::c_void;
use std::sync::Arc;

use ze_sys::*;

use crate::api::command_list::{list, CommandList};
use crate::api::context;
use crate::api::driver;
use crate::api::event;
use crate::api::reach::check_reach;
use crate::args;
use crate::backend::Action;
use crate::backend::region::{self, Side};
use crate::calls::Api;
use crate::entry::{guarded, require, ZeResult};

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
