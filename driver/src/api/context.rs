//! Contexts. A context owns the allocations made on it; command lists,
//! command queues and event pools count themselves as its children.
//!
//! Destroying a context that still has children succeeds, as on Intel's
//! driver (whose context destroy deletes the context object and nothing
//! else): the children stay valid, and the application still destroys them.
//! The context's remaining allocations are freed once the context is
//! destroyed *and* its last child is (after in-flight copies finished), so
//! a forgotten list never copies into freed memory. `SWZE_STRICT=1` refuses
//! such a destroy with `ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE`, the spec's
//! rule that children go first.

use std::ffi::c_void;
use std::sync::Arc;

use parking_lot::Mutex;

use ze_sys::*;

use crate::api::allocations::{Allocations, Found};
use crate::api::driver;
use crate::args;
use crate::calls::Api;
use crate::control::Kind;
use crate::entry::{guarded, require, ZeResult};
use crate::registry::{Registry, RemoveError};

pub struct Context {
    lifetime: Mutex<Lifetime>,
    pub allocations: Allocations,
}

#[derive(Default)]
struct Lifetime {
    /// Live command lists, command queues and event pools made on this context.
    children: usize,
    /// `zeContextDestroy` was called on its handle.
    destroyed: bool,
}

impl Context {
    fn new() -> Context {
        Context { lifetime: Mutex::new(Lifetime::default()), allocations: Allocations::default() }
    }

    /// A command list, command queue or event pool was made on this context.
    pub fn adopt(&self) {
        self.lifetime.lock().children += 1;
    }

    /// One of its children was destroyed. Called by the destroy entry point
    /// itself, on the application's thread (not when the last reference goes,
    /// which may be an engine thread), so the frees below may wait for work.
    pub fn release(&self) {
        let last = {
            let mut lifetime = self.lifetime.lock();
            lifetime.children -= 1;
            lifetime.children == 0 && lifetime.destroyed
        };
        if last {
            self.free_allocations();
        }
    }

    fn free_allocations(&self) {
        if let Ok(backend) = driver::backend() {
            // Copies appended before may still use what is freed here.
            backend.wait_all_idle();
            self.allocations.free_all(backend);
        }
    }
}

pub static CONTEXTS: Registry<Context> = Registry::new(Kind::Context);

/// Resolves a context handle; NULL, stale and foreign handles are all
/// `ZE_RESULT_ERROR_INVALID_NULL_HANDLE`.
pub fn context(handle: ze_context_handle_t) -> Result<Arc<Context>, ze_result_t> {
    CONTEXTS.get(handle as usize).ok_or(ZE_RESULT_ERROR_INVALID_NULL_HANDLE)
}

/// The allocation holding `address`, whichever context of the driver made
/// it, as Intel's driver finds it (one table per driver): `context`'s own
/// first, the others only if it has none there.
pub fn find_allocation(context: &Context, address: usize) -> Option<Found> {
    context.allocations.find(address).or_else(|| CONTEXTS.find_map(|other| other.allocations.find(address)))
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
        let handle = CONTEXTS.insert(Context::new());
        // SAFETY: non-NULL out-pointer (checked above).
        unsafe { args::write(context_out, handle as ze_context_handle_t) }
    })
}

pub unsafe extern "C" fn ze_context_create_ex(
    driver: ze_driver_handle_t,
    desc: *const ze_context_desc_t,
    device_count: u32,
    devices: *mut ze_device_handle_t,
    context_out: *mut ze_context_handle_t,
) -> ze_result_t {
    const API: Api = Api::zeContextCreateEx;
    guarded(API, || {
        driver::check_driver(driver)?;
        // SAFETY: the caller's descriptor (Level Zero contract), NULL checked.
        let desc = unsafe { args::descriptor(API, desc) }?;
        require(!context_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        args::spec_range(API, "desc->flags", desc.flags, ZE_CONTEXT_FLAG_TBD)?;
        if device_count > 0 {
            require(!devices.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
            // SAFETY: non-NULL and holding `device_count` handles (caller's contract).
            let devices = unsafe { std::slice::from_raw_parts(devices, device_count as usize) };
            for &device in devices {
                driver::device(device)?;
            }
        }
        // Every context sees every device: the devices named restrict nothing
        // a copy engine does.
        let handle = CONTEXTS.insert(Context::new());
        // SAFETY: non-NULL out-pointer (checked above).
        unsafe { args::write(context_out, handle as ze_context_handle_t) }
    })
}

pub unsafe extern "C" fn ze_context_destroy(handle: ze_context_handle_t) -> ze_result_t {
    const API: Api = Api::zeContextDestroy;
    guarded(API, || {
        driver::backend()?;
        let no_children = |context: &Arc<Context>| context.lifetime.lock().children == 0;
        let strict_refusal = |context: &Arc<Context>| {
            args::spec_rule(API, no_children(context), ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE, || {
                "the context still has command lists, command queues or event pools".into()
            })
        };
        let mut refused = None;
        let removed = CONTEXTS.remove_if(handle as usize, |context| match strict_refusal(context) {
            Ok(()) => true,
            Err(error) => {
                refused = Some(error);
                false
            }
        });
        match removed {
            Ok(context) => {
                let free_now = {
                    let mut lifetime = context.lifetime.lock();
                    lifetime.destroyed = true;
                    lifetime.children == 0
                };
                if free_now {
                    context.free_allocations();
                }
                Ok(())
            }
            Err(RemoveError::Unknown) => Err(ZE_RESULT_ERROR_INVALID_NULL_HANDLE),
            Err(RemoveError::Refused) => Err(refused.unwrap_or(ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE)),
        }
    })
}

pub unsafe extern "C" fn ze_context_get_status(handle: ze_context_handle_t) -> ze_result_t {
    // No device of ours is ever lost.
    guarded(Api::zeContextGetStatus, || context(handle).map(|_| ()))
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

/// The allocation of the driver (any context's, as Intel's one table) that
/// holds the whole of `[pointer, pointer + size)`, for residency: Intel's
/// `getDriverSystemMemoryAllocation` finds the allocation of the range's
/// first byte and of its last (`findAllocationDataForRange`, compute-runtime
/// `level_zero/core/source/driver/driver_handle_imp.cpp`, 25.18) and wants
/// them to be one. A host range imported with `zexDriverImportExternalPointer`,
/// which Intel's lookup also finds, is not looked at here.
fn resident_range(pointer: *mut c_void, size: usize) -> ZeResult {
    require(!pointer.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
    let start = pointer as usize;
    let last = start.checked_add(size.saturating_sub(1)).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
    let (base, length) = crate::api::allocations::find_in_driver(start).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
    require(last < base + length, ZE_RESULT_ERROR_INVALID_ARGUMENT)
}

/// `zeContextMakeMemoryResident`: every allocation of swze is resident for
/// as long as it lives (host memory, or memory its backend keeps mapped),
/// so this checks its arguments as Intel's driver does and succeeds: a range
/// inside one allocation of the driver succeeds, anything else is
/// `ZE_RESULT_ERROR_INVALID_ARGUMENT` (compute-runtime
/// `level_zero/core/source/context/context_imp.cpp`, `makeMemoryResident`).
/// Intel's SYCL runtime makes each pool's first allocation resident on every
/// device of the context and fails the context if this fails.
pub unsafe extern "C" fn ze_context_make_memory_resident(
    handle: ze_context_handle_t,
    device: ze_device_handle_t,
    pointer: *mut c_void,
    size: usize,
) -> ze_result_t {
    guarded(Api::zeContextMakeMemoryResident, || {
        context(handle)?;
        driver::device(device)?;
        resident_range(pointer, size)
    })
}

/// `zeContextEvictMemory`: the same lookup as making it resident, then
/// nothing to do (`evictMemory` in the same file of compute-runtime).
pub unsafe extern "C" fn ze_context_evict_memory(
    handle: ze_context_handle_t,
    device: ze_device_handle_t,
    pointer: *mut c_void,
    size: usize,
) -> ze_result_t {
    guarded(Api::zeContextEvictMemory, || {
        context(handle)?;
        driver::device(device)?;
        resident_range(pointer, size)
    })
}
