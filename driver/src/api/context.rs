//! Contexts. A context owns the allocations made on it; command lists and
//! event pools count themselves as its children. Destroying a context that
//! still has a command list or event pool is refused
//! (`ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE`, as the spec asks the application
//! to destroy those first); its remaining allocations are freed, after
//! in-flight copies have finished.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ze_sys::*;

use crate::api::allocations::Allocations;
use crate::api::driver;
use crate::args;
use crate::control::Kind;
use crate::entry::{guarded, require, Api};
use crate::registry::{Registry, RemoveError};

pub struct Context {
    /// Live command lists and event pools made on this context.
    children: AtomicUsize,
    pub allocations: Allocations,
}

impl Context {
    /// A command list or event pool was made on this context.
    pub fn adopt(&self) {
        self.children.fetch_add(1, Ordering::AcqRel);
    }

    /// One of its command lists or event pools was destroyed. Called by the
    /// destroy entry point itself (not when the last reference goes), so a
    /// context destroy right after never sees a child that is already gone.
    pub fn release(&self) {
        self.children.fetch_sub(1, Ordering::AcqRel);
    }
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
        driver::check_driver(driver)?;
        // SAFETY: the caller's descriptor (Level Zero contract), NULL checked.
        let desc = unsafe { args::descriptor(Api::zeContextCreate, desc) }?;
        require(!context_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        args::spec_range(Api::zeContextCreate, "desc->flags", desc.flags, ZE_CONTEXT_FLAG_TBD)?;
        let handle = CONTEXTS.insert(Context { children: AtomicUsize::new(0), allocations: Allocations::default() });
        // SAFETY: non-NULL out-pointer (checked above).
        unsafe { args::write(context_out, handle as ze_context_handle_t) }
    })
}

pub unsafe extern "C" fn ze_context_destroy(handle: ze_context_handle_t) -> ze_result_t {
    guarded(Api::zeContextDestroy, || {
        let backend = driver::backend()?;
        match CONTEXTS.remove_if(handle as usize, |context| context.children.load(Ordering::Acquire) == 0) {
            Ok(context) => {
                // Copies appended before may still use what is freed here.
                backend.wait_all_idle();
                context.allocations.free_all(backend);
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
        driver::device(device)?;
        // Appended work is ordered by the lists and events themselves; host
        // and device views of memory are coherent once an event is seen.
        Ok(())
    })
}
