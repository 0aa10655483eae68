//! Command queues, and the creation of their fences. A queue is a backend
//! queue, the kind an immediate list has (an engine thread on the CPU, a
//! stream on a GPU). `zeCommandQueueExecuteCommandLists` submits each list's
//! recording in the order given, then the fence's signal, as one contiguous
//! run (executions from several threads do not interleave); in synchronous
//! mode it returns once all of it ran. `zeCommandQueueSynchronize` waits for
//! everything submitted so far. Destroying a queue lets its work finish.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use ze_sys::*;

use crate::api::command_list::{self, check_engine_type, check_queue_desc};
use crate::api::context::{self, Context};
use crate::api::driver;
use crate::api::fence::{self, Fence, FENCES};
use crate::args;
use crate::backend::{Queue, QueueGroup, QueueMode};
use crate::calls::Api;
use crate::control::Kind;
use crate::entry::{guarded, require};
use crate::registry::{Registry, RemoveError};

pub struct CommandQueue {
    context: Arc<Context>,
    ordinal: u32,
    /// The queue groups of the queue's device.
    groups: &'static [QueueGroup],
    mode: QueueMode,
    queue: Box<dyn Queue>,
    /// Held while one execution submits, so its commands stay contiguous.
    submitting: Mutex<()>,
}

pub static COMMAND_QUEUES: Registry<CommandQueue> = Registry::new(Kind::CommandQueue);

fn command_queue(handle: ze_command_queue_handle_t) -> Result<Arc<CommandQueue>, ze_result_t> {
    COMMAND_QUEUES.get(handle as usize).ok_or(ZE_RESULT_ERROR_INVALID_NULL_HANDLE)
}

/// `UINT64_MAX` waits without limit; anything else is nanoseconds from now
/// (0 only looks).
fn deadline(timeout_ns: u64) -> Option<Instant> {
    match timeout_ns {
        u64::MAX => None,
        _ => Some(Instant::now().checked_add(Duration::from_nanos(timeout_ns)).unwrap_or_else(Instant::now)),
    }
}

pub unsafe extern "C" fn ze_command_queue_create(
    context_handle: ze_context_handle_t,
    device: ze_device_handle_t,
    desc: *const ze_command_queue_desc_t,
    queue_out: *mut ze_command_queue_handle_t,
) -> ze_result_t {
    const API: Api = Api::zeCommandQueueCreate;
    guarded(API, || {
        let context = context::context(context_handle)?;
        let device = driver::device(device)?;
        // SAFETY: the caller's descriptor (Level Zero contract), NULL checked.
        let desc = unsafe { args::descriptor(API, desc) }?;
        require(!queue_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        let mode = check_queue_desc(API, device, desc)?;
        let queue = driver::backend()?.create_queue(&driver::queue_spec(device, desc, mode, false)?)?;
        context.adopt();
        let handle = COMMAND_QUEUES.insert(CommandQueue {
            context,
            ordinal: desc.ordinal,
            groups: device.groups,
            mode,
            queue,
            submitting: Mutex::new(()),
        });
        // SAFETY: non-NULL out-pointer (checked above).
        unsafe { args::write(queue_out, handle as ze_command_queue_handle_t) }
    })
}

pub unsafe extern "C" fn ze_command_queue_destroy(handle: ze_command_queue_handle_t) -> ze_result_t {
    guarded(Api::zeCommandQueueDestroy, || {
        driver::topology()?;
        match COMMAND_QUEUES.remove_if(handle as usize, |_| true) {
            Ok(queue) => {
                queue.queue.finish();
                queue.context.release();
                Ok(())
            }
            Err(RemoveError::Unknown | RemoveError::Refused) => Err(ZE_RESULT_ERROR_INVALID_NULL_HANDLE),
        }
    })
}

pub unsafe extern "C" fn ze_command_queue_execute_command_lists(
    handle: ze_command_queue_handle_t,
    count: u32,
    lists: *mut ze_command_list_handle_t,
    fence_handle: ze_fence_handle_t,
) -> ze_result_t {
    guarded(Api::zeCommandQueueExecuteCommandLists, || {
        let queue = command_queue(handle)?;
        // Intel's driver reads the first list whatever the count; the spec's
        // answer to an empty batch is ours.
        require(count != 0, ZE_RESULT_ERROR_INVALID_SIZE)?;
        require(!lists.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        // SAFETY: `lists` holds `count` handles (Level Zero contract).
        let handles = unsafe { std::slice::from_raw_parts(lists, count as usize) };
        let lists: Vec<_> = handles.iter().map(|&list| command_list::list(list)).collect::<Result<_, _>>()?;
        let fence = if fence_handle.is_null() { None } else { Some(fence::sync_fence(fence_handle)?) };
        // A fence of another queue: what Intel's driver answers.
        require(fence.as_ref().is_none_or(|fence| fence.queue == handle as usize), ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT)?;
        for list in &lists {
            check_engine_type(list, queue.groups, queue.ordinal)?;
        }
        // Everything is checked before anything is submitted.
        let batches = lists.iter().map(|list| list.replay()).collect::<Result<Vec<_>, _>>()?;
        {
            let _submitting = queue.submitting.lock();
            for command in batches.into_iter().flatten() {
                queue.queue.submit(command)?;
            }
            if let Some(fence) = &fence {
                queue.queue.submit(fence.arm()?)?;
            }
        }
        if queue.mode == QueueMode::Synchronous {
            queue.queue.wait_idle(None);
        }
        Ok(())
    })
}

pub unsafe extern "C" fn ze_command_queue_synchronize(handle: ze_command_queue_handle_t, timeout_ns: u64) -> ze_result_t {
    guarded(Api::zeCommandQueueSynchronize, || {
        let queue = command_queue(handle)?;
        require(queue.queue.wait_idle(deadline(timeout_ns)), ZE_RESULT_NOT_READY)
    })
}

/// On the queue's side, as in Intel's driver (`CommandQueue::createFence`):
/// the fence remembers its queue, which `ExecuteCommandLists` checks.
pub unsafe extern "C" fn ze_fence_create(
    queue_handle: ze_command_queue_handle_t,
    desc: *const ze_fence_desc_t,
    fence_out: *mut ze_fence_handle_t,
) -> ze_result_t {
    const API: Api = Api::zeFenceCreate;
    guarded(API, || {
        command_queue(queue_handle)?;
        // SAFETY: the caller's descriptor (Level Zero contract), NULL checked.
        let desc = unsafe { args::descriptor(API, desc) }?;
        require(!fence_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        args::spec_range(API, "desc->flags", desc.flags, ZE_FENCE_FLAG_SIGNALED)?;
        let signaled = desc.flags & ZE_FENCE_FLAG_SIGNALED != 0;
        let handle = FENCES.insert(Fence::new(queue_handle as usize, signaled));
        // SAFETY: non-NULL out-pointer (checked above).
        unsafe { args::write(fence_out, handle as ze_fence_handle_t) }
    })
}
