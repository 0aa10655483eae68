//! Immediate command lists. An asynchronous list runs its commands in order
//! on an engine thread of its own; a synchronous list (or any list created in
//! inline mode) runs each command on the caller's thread before the append
//! returns. Destroying a list lets the work already appended finish, then
//! joins its engine thread.

use std::ffi::c_void;
use std::sync::Arc;

use ze_sys::*;

use crate::args;
use crate::context;
use crate::control::{self, Kind};
use crate::engine::{Action, Command, Engine};
use crate::entry::{guarded, require, Api, ZeResult};
use crate::event::{self, Event};
use crate::region::{self, Side};
use crate::registry::{Registry, RemoveError};
use crate::topology::{self, QUEUE_GROUPS};

enum Executor {
    /// Commands run on the appending thread.
    Inline,
    Thread(Engine),
}

pub struct CommandList {
    context: usize,
    executor: Executor,
}

pub static COMMAND_LISTS: Registry<CommandList> = Registry::new(Kind::CommandList);

pub fn any_on_context(context: usize) -> bool {
    COMMAND_LISTS.any(|list| list.context == context)
}

/// Waits until every command appended so far, on every list, has executed.
pub fn wait_all_lists_idle() {
    for list in COMMAND_LISTS.collect(|_| true) {
        if let Executor::Thread(engine) = &list.executor {
            engine.wait_idle();
        }
    }
}

fn list(handle: ze_command_list_handle_t) -> Result<Arc<CommandList>, ze_result_t> {
    COMMAND_LISTS.get(handle as usize).ok_or(ZE_RESULT_ERROR_INVALID_NULL_HANDLE)
}

impl CommandList {
    fn append(&self, command: Command) -> ZeResult {
        match &self.executor {
            Executor::Inline => {
                command.execute();
                Ok(())
            }
            // A list being destroyed by another thread takes no more work.
            Executor::Thread(engine) => require(engine.submit(command), ZE_RESULT_ERROR_INVALID_NULL_HANDLE),
        }
    }
}

pub unsafe extern "C" fn ze_command_list_create_immediate(
    context_handle: ze_context_handle_t,
    device: ze_device_handle_t,
    desc: *const ze_command_queue_desc_t,
    list_out: *mut ze_command_list_handle_t,
) -> ze_result_t {
    guarded(Api::zeCommandListCreateImmediate, || {
        context::context(context_handle)?;
        topology::device(device)?;
        // SAFETY: the caller's descriptor (Level Zero contract), NULL checked.
        let desc = unsafe { args::descriptor(desc) }?;
        require(!list_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        require(desc.flags <= ZE_COMMAND_QUEUE_FLAG_EXPLICIT_ONLY, ZE_RESULT_ERROR_INVALID_ENUMERATION)?;
        require(desc.mode <= ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS, ZE_RESULT_ERROR_INVALID_ENUMERATION)?;
        require(desc.priority <= ZE_COMMAND_QUEUE_PRIORITY_PRIORITY_HIGH, ZE_RESULT_ERROR_INVALID_ENUMERATION)?;
        let group = QUEUE_GROUPS.get(desc.ordinal as usize).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        require(desc.index < group.queues, ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        let executor = if desc.mode == ZE_COMMAND_QUEUE_MODE_SYNCHRONOUS || control::inline_mode() {
            Executor::Inline
        } else {
            Executor::Thread(Engine::start().map_err(|_| ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY)?)
        };
        let handle = COMMAND_LISTS.insert(CommandList { context: context_handle as usize, executor });
        // SAFETY: non-NULL out-pointer (checked above).
        unsafe { args::write(list_out, handle as ze_command_list_handle_t) }
    })
}

pub unsafe extern "C" fn ze_command_list_destroy(handle: ze_command_list_handle_t) -> ze_result_t {
    guarded(Api::zeCommandListDestroy, || {
        topology::topology()?;
        match COMMAND_LISTS.remove_if(handle as usize, |_| true) {
            Ok(list) => {
                if let Executor::Thread(engine) = &list.executor {
                    engine.shut_down();
                }
                Ok(())
            }
            Err(RemoveError::Unknown | RemoveError::Refused) => Err(ZE_RESULT_ERROR_INVALID_NULL_HANDLE),
        }
    })
}

/// The optional signal event of an append: NULL means none.
fn optional_signal(handle: ze_event_handle_t) -> Result<Option<Arc<Event>>, ze_result_t> {
    if handle.is_null() {
        Ok(None)
    } else {
        event::sync_event(handle).map(Some)
    }
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
        let signal = optional_signal(signal)?;
        // SAFETY: `wait_events` holds `wait_count` handles (Level Zero contract).
        let waits = unsafe { event::wait_list(wait_count, wait_events) }?;
        let (destination, source) = (destination as usize, source as usize);
        let disjoint = destination.checked_add(size).is_some_and(|end| end <= source)
            || source.checked_add(size).is_some_and(|end| end <= destination);
        require(size == 0 || disjoint, ZE_RESULT_ERROR_OVERLAPPING_REGIONS)?;
        let action = if size == 0 { Action::Nothing } else { Action::Copy { destination, source, size } };
        list.append(Command::new(waits, action, signal))
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
        let signal = optional_signal(signal)?;
        // SAFETY: `wait_events` holds `wait_count` handles (Level Zero contract).
        let waits = unsafe { event::wait_list(wait_count, wait_events) }?;
        let action = if copy.is_empty() { Action::Nothing } else { Action::CopyRegion(copy) };
        list.append(Command::new(waits, action, signal))
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
        let signal = optional_signal(signal)?;
        // SAFETY: `wait_events` holds `wait_count` handles (Level Zero contract).
        let waits = unsafe { event::wait_list(wait_count, wait_events) }?;
        // Commands run one after another, so "everything before" is already
        // done when the barrier runs; it only has to honour its wait list.
        list.append(Command::new(waits, Action::Nothing, signal))
    })
}

pub unsafe extern "C" fn ze_command_list_append_signal_event(
    list_handle: ze_command_list_handle_t,
    signal: ze_event_handle_t,
) -> ze_result_t {
    guarded(Api::zeCommandListAppendSignalEvent, || {
        let list = list(list_handle)?;
        let signal = event::sync_event(signal)?;
        list.append(Command::new(Vec::new(), Action::Nothing, Some(signal)))
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
        list.append(Command::new(waits, Action::Nothing, None))
    })
}

pub unsafe extern "C" fn ze_command_list_append_event_reset(
    list_handle: ze_command_list_handle_t,
    target: ze_event_handle_t,
) -> ze_result_t {
    guarded(Api::zeCommandListAppendEventReset, || {
        let list = list(list_handle)?;
        let target = event::sync_event(target)?;
        list.append(Command::new(Vec::new(), Action::ResetEvent(target), None))
    })
}
