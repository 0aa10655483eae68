//! Device, host and shared allocations, made by the backend and remembered by
//! their context, so that `zeMemGetAllocProperties` can tell their type (and
//! `ZE_MEMORY_TYPE_UNKNOWN` for anything else, such as `malloc` memory, which
//! copies accept all the same, as on Intel's driver). Freeing waits for the
//! copies already appended on any command list, so a copy in flight never
//! touches freed memory.

use std::ffi::c_void;

use ze_sys::*;

use crate::api::context;
use crate::api::driver;
use crate::args;
use crate::backend::MemoryKind;
use crate::calls::Api;
use crate::entry::{guarded, require, ZeResult};

const PAGE_SIZE: u64 = 4096;

/// Whether the descriptor chain lifts the `maxMemAllocSize` limit.
///
/// # Safety
/// `next` is a descriptor's `pNext` (the Level Zero contract for chains).
unsafe fn relaxed_size_limit(next: *const c_void) -> bool {
    // SAFETY: forwarded contract.
    let Some(extension) = (unsafe { args::find_extension(next, ZE_STRUCTURE_TYPE_RELAXED_ALLOCATION_LIMITS_EXP_DESC) })
    else {
        return false;
    };
    // SAFETY: an entry of this stype is a `ze_relaxed_allocation_limits_exp_desc_t`.
    let relaxed = unsafe { &*(extension as *const ze_base_desc_t).cast::<ze_relaxed_allocation_limits_exp_desc_t>() };
    relaxed.flags & ZE_RELAXED_ALLOCATION_LIMITS_EXP_FLAG_MAX_SIZE != 0
}

/// The checks and the allocation every `zeMemAlloc*` shares.
fn allocate(
    context_handle: ze_context_handle_t,
    kind: MemoryKind,
    device: Option<&driver::Device>,
    size: usize,
    alignment: usize,
    relaxed: bool,
    pointer_out: *mut *mut c_void,
) -> ZeResult {
    let context = context::context(context_handle)?;
    let backend = driver::backend()?;
    require(!pointer_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
    let backend_device = device.map_or(0, |device| device.backend_device);
    let limit = backend.devices()[backend_device].max_allocation;
    require(size != 0, ZE_RESULT_ERROR_UNSUPPORTED_SIZE)?;
    require(relaxed || size as u64 <= limit, ZE_RESULT_ERROR_UNSUPPORTED_SIZE)?;
    require(alignment & alignment.wrapping_sub(1) == 0, ZE_RESULT_ERROR_UNSUPPORTED_ALIGNMENT)?;
    let base = backend.allocate(kind, backend_device, size, alignment)?;
    let device_handle = device.map_or(std::ptr::null_mut(), |device| device.handle());
    context.allocations.insert(base, size, alignment, kind, device_handle);
    // SAFETY: the caller's out-pointer was checked non-NULL before allocating.
    unsafe { args::write(pointer_out, base.as_ptr().cast::<c_void>()) }
}

/// # Safety
/// `desc` is NULL or the caller's descriptor (Level Zero contract).
unsafe fn check_device_desc(api: Api, desc: *const ze_device_mem_alloc_desc_t) -> Result<bool, ze_result_t> {
    // SAFETY: forwarded contract, NULL checked.
    let desc = unsafe { args::descriptor(api, desc) }?;
    args::spec_range(api, "device_desc->flags", desc.flags, 0x7)?;
    // SAFETY: the descriptor's own chain.
    Ok(unsafe { relaxed_size_limit(desc.pNext) })
}

/// # Safety
/// `desc` is NULL or the caller's descriptor (Level Zero contract).
unsafe fn check_host_desc(api: Api, desc: *const ze_host_mem_alloc_desc_t) -> Result<bool, ze_result_t> {
    // SAFETY: forwarded contract, NULL checked.
    let desc = unsafe { args::descriptor(api, desc) }?;
    args::spec_range(api, "host_desc->flags", desc.flags, 0xf)?;
    // SAFETY: the descriptor's own chain.
    Ok(unsafe { relaxed_size_limit(desc.pNext) })
}

pub unsafe extern "C" fn ze_mem_alloc_device(
    context_handle: ze_context_handle_t,
    device_desc: *const ze_device_mem_alloc_desc_t,
    size: usize,
    alignment: usize,
    device: ze_device_handle_t,
    pointer_out: *mut *mut c_void,
) -> ze_result_t {
    guarded(Api::zeMemAllocDevice, || {
        context::context(context_handle)?;
        let device = driver::device(device)?;
        // SAFETY: the caller's descriptor.
        let relaxed = unsafe { check_device_desc(Api::zeMemAllocDevice, device_desc) }?;
        allocate(context_handle, MemoryKind::Device, Some(device), size, alignment, relaxed, pointer_out)
    })
}

pub unsafe extern "C" fn ze_mem_alloc_host(
    context_handle: ze_context_handle_t,
    host_desc: *const ze_host_mem_alloc_desc_t,
    size: usize,
    alignment: usize,
    pointer_out: *mut *mut c_void,
) -> ze_result_t {
    guarded(Api::zeMemAllocHost, || {
        context::context(context_handle)?;
        // SAFETY: the caller's descriptor.
        let relaxed = unsafe { check_host_desc(Api::zeMemAllocHost, host_desc) }?;
        allocate(context_handle, MemoryKind::Host, None, size, alignment, relaxed, pointer_out)
    })
}

pub unsafe extern "C" fn ze_mem_alloc_shared(
    context_handle: ze_context_handle_t,
    device_desc: *const ze_device_mem_alloc_desc_t,
    host_desc: *const ze_host_mem_alloc_desc_t,
    size: usize,
    alignment: usize,
    device: ze_device_handle_t,
    pointer_out: *mut *mut c_void,
) -> ze_result_t {
    guarded(Api::zeMemAllocShared, || {
        context::context(context_handle)?;
        // The device is optional for shared memory; a non-NULL one must be ours.
        let device = if device.is_null() { None } else { Some(driver::device(device)?) };
        // SAFETY: the caller's descriptors.
        let relaxed = unsafe { check_device_desc(Api::zeMemAllocShared, device_desc) }?
            | unsafe { check_host_desc(Api::zeMemAllocShared, host_desc) }?;
        allocate(context_handle, MemoryKind::Shared, device, size, alignment, relaxed, pointer_out)
    })
}

pub unsafe extern "C" fn ze_mem_free(context_handle: ze_context_handle_t, pointer: *mut c_void) -> ze_result_t {
    guarded(Api::zeMemFree, || free(context_handle, pointer))
}

fn free(context_handle: ze_context_handle_t, pointer: *mut c_void) -> ZeResult {
    let context = context::context(context_handle)?;
    let backend = driver::backend()?;
    require(!pointer.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
    let base = pointer as usize;
    require(context.allocations.contains_base(base), ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
    // Copies appended before this free may still read or write the memory.
    backend.wait_all_idle();
    require(context.allocations.free(backend, base), ZE_RESULT_ERROR_INVALID_ARGUMENT)
}

/// `zeMemFreeExt` (API 1.3, `ZE_extension_memory_free_policies`): Intel's
/// driver frees at once for no policy, waits for the memory's users for
/// `BLOCKING_FREE`, and for `DEFER_FREE` frees once they are done without
/// waiting (compute-runtime `level_zero/core/source/context/context_imp.cpp`,
/// `freeMemExt`). `zeMemFree` here already waits for the work appended
/// before it, which is what each policy needs: every policy frees so.
/// Intel's SYCL runtime (its memory pools) frees with `BLOCKING_FREE`.
pub unsafe extern "C" fn ze_mem_free_ext(
    context_handle: ze_context_handle_t,
    desc: *const ze_memory_free_ext_desc_t,
    pointer: *mut c_void,
) -> ze_result_t {
    guarded(Api::zeMemFreeExt, || {
        // SAFETY: NULL is refused by `as_ref`; the caller's descriptor otherwise.
        let desc = unsafe { desc.as_ref() }.ok_or(ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        args::spec_range(Api::zeMemFreeExt, "desc->freePolicy", desc.freePolicy, 0x3)?;
        free(context_handle, pointer)
    })
}

pub unsafe extern "C" fn ze_mem_get_alloc_properties(
    context_handle: ze_context_handle_t,
    pointer: *const c_void,
    properties: *mut ze_memory_allocation_properties_t,
    device_out: *mut ze_device_handle_t,
) -> ze_result_t {
    guarded(Api::zeMemGetAllocProperties, || {
        let context = context::context(context_handle)?;
        require(!pointer.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        // SAFETY: the caller's out-struct (Level Zero contract), NULL checked.
        let properties = unsafe { args::out(properties) }?;
        let found = context::find_allocation(&context, pointer as usize);
        let (memory_type, device, id) = match &found {
            Some(found) => (memory_type(found.kind), found.device, found.id),
            None => (ZE_MEMORY_TYPE_UNKNOWN, std::ptr::null_mut(), 0),
        };
        properties.type_ = memory_type;
        properties.id = id;
        properties.pageSize = if found.is_some() { PAGE_SIZE } else { 0 };
        if !device_out.is_null() {
            // SAFETY: optional out-pointer, non-NULL here.
            unsafe { args::write(device_out, device) }?;
        }
        Ok(())
    })
}

fn memory_type(kind: MemoryKind) -> ze_memory_type_t {
    match kind {
        MemoryKind::Host => ZE_MEMORY_TYPE_HOST,
        MemoryKind::Device => ZE_MEMORY_TYPE_DEVICE,
        MemoryKind::Shared => ZE_MEMORY_TYPE_SHARED,
    }
}

pub unsafe extern "C" fn ze_mem_get_address_range(
    context_handle: ze_context_handle_t,
    pointer: *const c_void,
    base_out: *mut *mut c_void,
    size_out: *mut usize,
) -> ze_result_t {
    guarded(Api::zeMemGetAddressRange, || {
        let context = context::context(context_handle)?;
        require(!pointer.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        let found = context::find_allocation(&context, pointer as usize).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        if !base_out.is_null() {
            // SAFETY: optional out-pointer, non-NULL here.
            unsafe { args::write(base_out, found.base as *mut c_void) }?;
        }
        if !size_out.is_null() {
            // SAFETY: optional out-pointer, non-NULL here.
            unsafe { args::write(size_out, found.size) }?;
        }
        Ok(())
    })
}
