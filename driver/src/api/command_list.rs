//! Immediate command lists. Each list is a queue of its backend (an engine
//! thread on the CPU, a stream on a GPU) on the queue group and index asked
//! for; an append checks its arguments, marks the events it names in use and
//! hands the command to the queue, which runs commands in append order.
//! Destroying a list lets the work already appended finish.

use std::ffi::c_void;
use std::sync::Arc;

use ze_sys::*;

use crate::api::context::{self, Context};
use crate::api::driver;
use crate::api::event::{self, Event};
use crate::args;
use crate::backend::{Action, Command, Queue, QueueMode};
use crate::control::Kind;
use crate::entry::{guarded, require, Api, ZeResult};
use crate::backend::region::{self, Side};
use crate::registry::{Registry, RemoveError};

pub struct CommandList {
    context: Arc<Context>,
    queue: Box<dyn Queue>,
}

pub static COMMAND_LISTS: Registry<CommandList> = Registry::new(Kind::CommandList);

fn list(handle: ze_command_list_handle_t) -> Result<Arc<CommandList>, ze_result_t> {
    COMMAND_LISTS.get(handle as usize).ok_or(ZE_RESULT_ERROR_INVALID_NULL_HANDLE)
}

impl CommandList {
    /// Appends one command: wait for `waits`, do `action`, then signal.
    fn append(&self, waits: Vec<Arc<Event>>, action: Action, signal: Option<Arc<Event>>, reset: Option<Arc<Event>>)
        -> ZeResult {
        let command = Command {
            waits: if waits.is_empty() { Vec::new() } else { waits.iter().map(|event| event.cell_ref()).collect() },
            action,
            signal: signal.as_ref().map(|event| event.cell_ref()),
            guard: event::uses(signal, reset, waits),
        };
        self.queue.submit(command)
    }
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
        args::spec_range(API, "desc->flags", desc.flags, ZE_COMMAND_QUEUE_FLAG_EXPLICIT_ONLY)?;
        args::spec_range(API, "desc->mode", desc.mode, ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS)?;
        args::spec_range(API, "desc->priority", desc.priority, ZE_COMMAND_QUEUE_PRIORITY_PRIORITY_HIGH)?;
        // Intel's driver refuses an engine it does not have, and so do we.
        let group = driver::queue_groups()?.get(desc.ordinal as usize).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        require(desc.index < group.queues, ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        let mode =
            if desc.mode == ZE_COMMAND_QUEUE_MODE_SYNCHRONOUS { QueueMode::Synchronous } else { QueueMode::Asynchronous };
        let queue = driver::backend()?.create_queue(device.backend_device, desc.ordinal, desc.index, mode)?;
        context.adopt();
        let handle = COMMAND_LISTS.insert(CommandList { context, queue });
        // SAFETY: non-NULL out-pointer (checked above).
        unsafe { args::write(list_out, handle as ze_command_list_handle_t) }
    })
}

pub unsafe extern "C" fn ze_command_list_destroy(handle: ze_command_list_handle_t) -> ze_result_t {
    guarded(Api::zeCommandListDestroy, || {
        driver::topology()?;
        match COMMAND_LISTS.remove_if(handle as usize, |_| true) {
            Ok(list) => {
                list.queue.finish();
                list.context.release();
                Ok(())
            }
            Err(RemoveError::Unknown | RemoveError::Refused) => Err(ZE_RESULT_ERROR_INVALID_NULL_HANDLE),
        }
    })
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
    guarded(Api::zeCommandListAppendMemoryCopy, || {
        let list = list(list_handle)?;
        require(!destination.is_null() && !source.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        let signal = event::optional_event(signal)?;
        // SAFETY: `wait_events` holds `wait_count` handles (Level Zero contract).
        let waits = unsafe { event::wait_list(wait_count, wait_events) }?;
        let (destination, source) = (destination as usize, source as usize);
        let disjoint = destination.checked_add(size).is_some_and(|end| end <= source)
            || source.checked_add(size).is_some_and(|end| end <= destination);
        require(size == 0 || disjoint, ZE_RESULT_ERROR_OVERLAPPING_REGIONS)?;
        let action = if size == 0 { Action::Nothing } else { Action::Copy { destination, source, size } };
        list.append(waits, action, signal, None)
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
        let signal = event::optional_event(signal)?;
        // SAFETY: `wait_events` holds `wait_count` handles (Level Zero contract).
        let waits = unsafe { event::wait_list(wait_count, wait_events) }?;
        let action = if copy.is_empty() { Action::Nothing } else { Action::CopyRegion(Box::new(copy)) };
        list.append(waits, action, signal, None)
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
        // Commands run one after another, so "everything before" is already
        // done when the barrier runs; it only has to honour its wait list.
        list.append(waits, Action::Nothing, signal, None)
    })
}

pub unsafe extern "C" fn ze_command_list_append_signal_event(
    list_handle: ze_command_list_handle_t,
    signal: ze_event_handle_t,
) -> ze_result_t {
    guarded(Api::zeCommandListAppendSignalEvent, || {
        let list = list(list_handle)?;
        let signal = event::sync_event(signal)?;
        list.append(Vec::new(), Action::Nothing, Some(signal), None)
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
        list.append(waits, Action::Nothing, None, None)
    })
}

pub unsafe extern "C" fn ze_command_list_append_event_reset(
    list_handle: ze_command_list_handle_t,
    target: ze_event_handle_t,
) -> ze_result_t {
    guarded(Api::zeCommandListAppendEventReset, || {
        let list = list(list_handle)?;
        let target = event::sync_event(target)?;
        let action = Action::ResetEvent(target.cell_ref());
        list.append(Vec::new(), action, None, Some(target))
    })
}
