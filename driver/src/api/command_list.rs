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
//!
//! The append entry points, which check what they are given before
//! `CommandList::append` takes the command, are `append.rs`; what a copy or
//! fill may reach, `reach.rs`.

use std::sync::Arc;

use parking_lot::Mutex;
use ze_sys::*;

use crate::api::context::{self, Context};
use crate::api::counter;
use crate::api::driver;
use crate::api::event::{self, Event};
use crate::args;
use crate::backend::{Action, Command, Queue, QueueGroup, QueueMode, UseGuard};
use crate::calls::Api;
use crate::control::Kind;
use crate::entry::{guarded, require, ZeResult};
use crate::registry::{Registry, RemoveError};

pub struct CommandList {
    pub(super) context: Arc<Context>,
    /// The queue group the list was made for: a queue executes only lists of
    /// its own engine type.
    pub ordinal: u32,
    /// The queue groups of the list's device.
    pub groups: &'static [QueueGroup],
    /// The backend's device the list was made for: its commands must reach
    /// the memory they name from there.
    device: usize,
    /// The flag a counter-based event needs to be signalled by its appends
    /// (`counter::signal_kind`: from its kind and its in-order flag).
    signal_kind: u32,
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
    /// events into the command instead of counting them twice. The waits
    /// first: a counter-based event that the command both waits on and
    /// signals waits on its previous append, not on the new word its signal
    /// takes.
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
    pub(super) fn append(
        &self,
        api: Api,
        waits: Vec<Arc<Event>>,
        action: Action,
        signal: Option<Arc<Event>>,
        reset: Option<Arc<Event>>,
    ) -> ZeResult {
        driver::backend()?.prepare(self.device, &action)?;
        if let Some(event) = &signal {
            event.check_signal(self.signal_kind)?;
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
    pub(super) fn note_dependencies(&self) {
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
            signal_kind: counter::signal_kind(desc.flags & counter::COMMAND_QUEUE_FLAG_IN_ORDER != 0, true),
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
            signal_kind: counter::signal_kind(desc.flags & counter::COMMAND_LIST_FLAG_IN_ORDER != 0, false),
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

/// Whether a queue may execute `list`: Intel's driver refuses a list of the
/// other engine type (copy-only against compute).
pub fn check_engine_type(list: &CommandList, queue_groups: &[QueueGroup], queue_ordinal: u32) -> ZeResult {
    require(
        list.is_copy_only()? == is_copy_only_group(queue_groups, queue_ordinal)?,
        ZE_RESULT_ERROR_INVALID_COMMAND_LIST_TYPE,
    )
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
