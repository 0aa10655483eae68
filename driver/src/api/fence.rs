//! Fences. A fence belongs to the command queue it was created on
//! (`zeFenceCreate` lives in `command_queue`, which owns that check); each
//! `zeCommandQueueExecuteCommandLists` naming it arms it: a final command on
//! the queue signals a cell of backend event memory after the work before it.
//!
//! Each arming takes a cell no pending command still names (a fresh one, or a
//! spare whose last signal has run), so a fence re-submitted before its
//! previous signal ran never looks signalled early, as Intel's driver, which
//! moves a fence to the newest task count, never does. A fence never
//! submitted since its creation or reset answers `ZE_RESULT_NOT_READY` at
//! once, whatever the timeout, as on Intel's driver.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use ze_sys::*;

use crate::api::driver;
use crate::backend::{CellRef, Command, EventCell, EventMemory, EventUse, UseGuard, RESET};
use crate::backend::Action;
use crate::calls::Api;
use crate::control::Kind;
use crate::entry::{guarded, require, ZeResult};
use crate::registry::{Registry, RemoveError};

pub struct Fence {
    /// The handle of the command queue this fence belongs to.
    pub queue: usize,
    state: Mutex<FenceState>,
}

struct FenceState {
    /// Created with `ZE_FENCE_FLAG_SIGNALED`, and neither reset nor submitted since.
    signaled_at_creation: bool,
    /// The cell the latest submission signals; `None` until one.
    current: Option<Arc<FenceCell>>,
    /// Cells of earlier submissions, reused once no command holds them.
    spare: Vec<Arc<FenceCell>>,
}

/// One cell of backend event memory; whoever holds the `Arc` keeps it alive
/// (the fence, a host waiter, the pending signal command's guard).
struct FenceCell(Box<dyn EventMemory>);

impl FenceCell {
    fn cell(&self) -> &EventCell {
        &self.0.cells()[0]
    }
}

/// Held by the guard of a fence's signal command, a cell stays alive until
/// the backend is done with the command; a fence has no in-use accounting.
impl EventUse for FenceCell {
    fn use_finished(&self) {}
}

pub static FENCES: Registry<Fence> = Registry::new(Kind::Fence);

impl Fence {
    pub fn new(queue: usize, signaled: bool) -> Fence {
        Fence { queue, state: Mutex::new(FenceState { signaled_at_creation: signaled, current: None, spare: Vec::new() }) }
    }

    /// The command that signals this fence once the work submitted before it
    /// on the same queue has run.
    pub fn arm(&self) -> Result<Command, ze_result_t> {
        let backend = driver::backend()?;
        let mut state = self.state.lock();
        let reusable = |state: &FenceState| state.spare.iter().position(|cell| Arc::strong_count(cell) == 1);
        let mut position = reusable(&state);
        if position.is_none() {
            // A device reports finished commands only when asked.
            backend.retire_finished();
            position = reusable(&state);
        }
        let cell = match position {
            Some(position) => {
                let cell = state.spare.swap_remove(position);
                cell.cell().value.store(RESET, std::sync::atomic::Ordering::Release);
                cell
            }
            None => Arc::new(FenceCell(backend.event_memory(1)?)),
        };
        if let Some(previous) = state.current.replace(Arc::clone(&cell)) {
            state.spare.push(previous);
        }
        state.signaled_at_creation = false;
        Ok(Command {
            waits: Vec::new(),
            action: Action::Nothing,
            signal: Some(CellRef::new(cell.cell())),
            guard: UseGuard::new(Some(cell as Arc<dyn EventUse>), None, Vec::new()),
        })
    }

    /// `None`: signalled (or created so); `Some(None)`: never submitted;
    /// `Some(Some(cell))`: the latest submission's cell.
    fn observed(&self) -> Option<Option<Arc<FenceCell>>> {
        let state = self.state.lock();
        if state.signaled_at_creation {
            return None;
        }
        match &state.current {
            Some(cell) if cell.cell().is_signaled() => None,
            current => Some(current.clone()),
        }
    }
}

/// Resolves a fence used as a synchronisation object: NULL is
/// `INVALID_NULL_HANDLE`, a stale or foreign handle
/// `INVALID_SYNCHRONIZATION_OBJECT` (as for events).
pub fn sync_fence(handle: ze_fence_handle_t) -> Result<Arc<Fence>, ze_result_t> {
    require(!handle.is_null(), ZE_RESULT_ERROR_INVALID_NULL_HANDLE)?;
    FENCES.get(handle as usize).ok_or(ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT)
}

pub unsafe extern "C" fn ze_fence_destroy(handle: ze_fence_handle_t) -> ze_result_t {
    guarded(Api::zeFenceDestroy, || {
        driver::topology()?;
        // A pending signal holds its own cell: the fence may go at any time.
        match FENCES.remove_if(handle as usize, |_| true) {
            Ok(_) => Ok(()),
            Err(RemoveError::Unknown | RemoveError::Refused) => Err(ZE_RESULT_ERROR_INVALID_NULL_HANDLE),
        }
    })
}

pub unsafe extern "C" fn ze_fence_host_synchronize(handle: ze_fence_handle_t, timeout_ns: u64) -> ze_result_t {
    guarded(Api::zeFenceHostSynchronize, || {
        let fence = sync_fence(handle)?;
        let Some(pending) = fence.observed() else {
            return Ok(());
        };
        // Never submitted: nothing will signal it, so waiting is pointless.
        let cell = pending.ok_or(ZE_RESULT_NOT_READY)?;
        let backend = driver::backend()?;
        let signaled = match timeout_ns {
            0 => false,
            u64::MAX => backend.wait_from_host(cell.cell(), None),
            _ => backend.wait_from_host(cell.cell(), Instant::now().checked_add(Duration::from_nanos(timeout_ns))),
        };
        require(signaled, ZE_RESULT_NOT_READY)
    })
}

pub unsafe extern "C" fn ze_fence_query_status(handle: ze_fence_handle_t) -> ze_result_t {
    guarded(Api::zeFenceQueryStatus, || require(sync_fence(handle)?.observed().is_none(), ZE_RESULT_NOT_READY))
}

pub unsafe extern "C" fn ze_fence_reset(handle: ze_fence_handle_t) -> ze_result_t {
    guarded(Api::zeFenceReset, || -> ZeResult {
        let fence = sync_fence(handle)?;
        let mut state = fence.state.lock();
        state.signaled_at_creation = false;
        if let Some(previous) = state.current.take() {
            state.spare.push(previous);
        }
        Ok(())
    })
}
