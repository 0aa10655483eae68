//! Contexts. A context owns the allocations made on it; command lists and
//! event pools name it. Destroying a context that still has a command list or
//! event pool is refused (`ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE`, as the spec
//! asks the application to destroy those first); its remaining allocations
//! are freed, after in-flight copies have finished.

use std::sync::Arc;

use ze_sys::*;

use crate::args;
use crate::command_list;
use crate::control::Kind;
use crate::entry::{guarded, require, Api};
use crate::event;
use crate::memory;
use crate::registry::{Registry, RemoveError};
use crate::topology;

pub struct Context {
    _private: u8,
}

pub static CONTEXTS: Registry<Context> = Registry::new(Kind::Context);

/// Resolves a context handle; NULL, stale and foreign handles are all
/// `ZE_RESULT_ERROR_INVALID_NULL_HANDLE`.
pub fn context(handle: ze_context_handle_t) -> Result<Arc<Context>, ze_result_t> {
    CONTEXTS.get(handle as usize).ok_or(ZE_RESULT_ERROR_INVALID_NULL_HANDLE)
}

pub unsafe extern "C" fn ze_context_create(
    driver: ze_driver_handle_t,
    desc: *const ze_context_desc_t,
    context_out: *mut ze_context_handle_t,
) -> ze_result_t {
    guarded(Api::zeContextCreate, || {
        topology::check_driver(driver)?;
        // SAFETY: the caller's descriptor (Level Zero contract), NULL checked.
        let desc = unsafe { args::descriptor(desc) }?;
        require(!context_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        require(desc.flags <= ZE_CONTEXT_FLAG_TBD, ZE_RESULT_ERROR_INVALID_ENUMERATION)?;
        let handle = CONTEXTS.insert(Context { _private: 0 });
        // SAFETY: non-NULL out-pointer (checked above).
        unsafe { args::write(context_out, handle as ze_context_handle_t) }
    })
}

pub unsafe extern "C" fn ze_context_destroy(handle: ze_context_handle_t) -> ze_result_t {
    guarded(Api::zeContextDestroy, || {
        topology::topology()?;
        let key = handle as usize;
        let has_children = || command_list::any_on_context(key) || event::any_pool_on_context(key);
        match CONTEXTS.remove_if(key, |_| !has_children()) {
            Ok(_) => {
                memory::free_context_allocations(key);
                Ok(())
            }
            Err(RemoveError::Unknown) => Err(ZE_RESULT_ERROR_INVALID_NULL_HANDLE),
            Err(RemoveError::Refused) => Err(ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE),
        }
    })
}

pub unsafe extern "C" fn ze_context_system_barrier(
    handle: ze_context_handle_t,
    device: ze_device_handle_t,
) -> ze_result_t {
    guarded(Api::zeContextSystemBarrier, || {
        context(handle)?;
        topology::device(device)?;
        // Host and "device" share one coherent memory: nothing to flush.
        Ok(())
    })
}
