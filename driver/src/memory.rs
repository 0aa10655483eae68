//! Device, host and shared allocations: real host memory with the requested
//! alignment, remembered by address range so that `zeMemGetAllocProperties`
//! can tell their type (and `ZE_MEMORY_TYPE_UNKNOWN` for anything else).
//! Freeing waits for the copies already appended on any command list, so a
//! copy in flight never touches freed memory.

use std::alloc::{self, Layout};
use std::collections::BTreeMap;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use ze_sys::*;

use crate::args;
use crate::command_list;
use crate::context;
use crate::control::{self, Kind};
use crate::entry::{guarded, require, Api, ZeResult};
use crate::topology;

/// Alignment used when the caller asks for none (0): a cache line, like the
/// page-or-better alignment real drivers give, without wasting pages.
const DEFAULT_ALIGNMENT: usize = 64;
const PAGE_SIZE: u64 = 4096;

struct Allocation {
    layout: Layout,
    memory_type: ze_memory_type_t,
    context: usize,
    device: ze_device_handle_t,
    id: u64,
}

// SAFETY: `device` is only an identifier handed back to callers (devices live
// for the whole process); nothing is dereferenced through it.
unsafe impl Send for Allocation {}

/// Live allocations by base address.
static ALLOCATIONS: Mutex<BTreeMap<usize, Allocation>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn allocate(
    context_handle: ze_context_handle_t,
    size: usize,
    alignment: usize,
    memory_type: ze_memory_type_t,
    device: ze_device_handle_t,
    pointer_out: *mut *mut c_void,
) -> ZeResult {
    require(size != 0, ZE_RESULT_ERROR_UNSUPPORTED_SIZE)?;
    require(size as u64 <= topology::MAX_ALLOCATION_SIZE, ZE_RESULT_ERROR_UNSUPPORTED_SIZE)?;
    require(alignment & alignment.wrapping_sub(1) == 0, ZE_RESULT_ERROR_UNSUPPORTED_ALIGNMENT)?;
    let layout = Layout::from_size_align(size, alignment.max(DEFAULT_ALIGNMENT))
        .map_err(|_| ZE_RESULT_ERROR_UNSUPPORTED_ALIGNMENT)?;
    // SAFETY: `layout` has a non-zero size (checked above).
    let base = unsafe { alloc::alloc(layout) };
    if base.is_null() {
        return Err(if memory_type == ZE_MEMORY_TYPE_HOST {
            ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY
        } else {
            ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY
        });
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    ALLOCATIONS
        .lock()
        .insert(base as usize, Allocation { layout, memory_type, context: context_handle as usize, device, id });
    control::object_created(Kind::Allocation);
    // SAFETY: the caller's out-pointer was checked non-NULL before allocating.
    unsafe { args::write(pointer_out, base.cast::<c_void>()) }
}

fn release(base: usize, allocation: Allocation) {
    // SAFETY: `base` came from `alloc::alloc(allocation.layout)` and was just
    // removed from the registry, so it is freed exactly once.
    unsafe { alloc::dealloc(base as *mut u8, allocation.layout) };
    control::object_destroyed(Kind::Allocation);
}

/// Frees what is left of a context's allocations when it is destroyed.
pub fn free_context_allocations(context: usize) {
    command_list::wait_all_lists_idle();
    let mut allocations = ALLOCATIONS.lock();
    let bases: Vec<usize> =
        allocations.iter().filter(|(_, allocation)| allocation.context == context).map(|(base, _)| *base).collect();
    for base in bases {
        let allocation = allocations.remove(&base).expect("listed under the same lock");
        release(base, allocation);
    }
}

fn check_device_desc(desc: *const ze_device_mem_alloc_desc_t) -> ZeResult {
    // SAFETY: the caller's descriptor (Level Zero contract), NULL checked.
    let desc = unsafe { args::descriptor(desc) }?;
    require(desc.flags <= 0x7, ZE_RESULT_ERROR_INVALID_ENUMERATION)
}

fn check_host_desc(desc: *const ze_host_mem_alloc_desc_t) -> ZeResult {
    // SAFETY: the caller's descriptor (Level Zero contract), NULL checked.
    let desc = unsafe { args::descriptor(desc) }?;
    require(desc.flags <= 0xf, ZE_RESULT_ERROR_INVALID_ENUMERATION)
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
        topology::device(device)?;
        check_device_desc(device_desc)?;
        require(!pointer_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        allocate(context_handle, size, alignment, ZE_MEMORY_TYPE_DEVICE, device, pointer_out)
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
        check_host_desc(host_desc)?;
        require(!pointer_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        allocate(context_handle, size, alignment, ZE_MEMORY_TYPE_HOST, std::ptr::null_mut(), pointer_out)
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
        if !device.is_null() {
            topology::device(device)?;
        }
        check_device_desc(device_desc)?;
        check_host_desc(host_desc)?;
        require(!pointer_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        allocate(context_handle, size, alignment, ZE_MEMORY_TYPE_SHARED, device, pointer_out)
    })
}

pub unsafe extern "C" fn ze_mem_free(context_handle: ze_context_handle_t, pointer: *mut c_void) -> ze_result_t {
    guarded(Api::zeMemFree, || {
        context::context(context_handle)?;
        require(!pointer.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        let base = pointer as usize;
        {
            let allocations = ALLOCATIONS.lock();
            let allocation = allocations.get(&base).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
            require(allocation.context == context_handle as usize, ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        }
        // Copies appended before this free may still read or write the memory.
        command_list::wait_all_lists_idle();
        let allocation = ALLOCATIONS.lock().remove(&base).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        release(base, allocation);
        Ok(())
    })
}

/// The allocation of `context` containing `address`: (base, size, type, device, id).
fn find(context: usize, address: usize) -> Option<(usize, usize, ze_memory_type_t, ze_device_handle_t, u64)> {
    let allocations = ALLOCATIONS.lock();
    let (base, allocation) = allocations.range(..=address).next_back()?;
    let inside = address < base + allocation.layout.size() && allocation.context == context;
    inside.then_some((*base, allocation.layout.size(), allocation.memory_type, allocation.device, allocation.id))
}

pub unsafe extern "C" fn ze_mem_get_alloc_properties(
    context_handle: ze_context_handle_t,
    pointer: *const c_void,
    properties: *mut ze_memory_allocation_properties_t,
    device_out: *mut ze_device_handle_t,
) -> ze_result_t {
    guarded(Api::zeMemGetAllocProperties, || {
        context::context(context_handle)?;
        require(!pointer.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        // SAFETY: the caller's out-struct (Level Zero contract), NULL checked.
        let properties = unsafe { args::out(properties) }?;
        let found = find(context_handle as usize, pointer as usize);
        let (memory_type, device, id) = match found {
            Some((_, _, memory_type, device, id)) => (memory_type, device, id),
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

pub unsafe extern "C" fn ze_mem_get_address_range(
    context_handle: ze_context_handle_t,
    pointer: *const c_void,
    base_out: *mut *mut c_void,
    size_out: *mut usize,
) -> ze_result_t {
    guarded(Api::zeMemGetAddressRange, || {
        context::context(context_handle)?;
        require(!pointer.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        let (base, size, ..) =
            find(context_handle as usize, pointer as usize).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        if !base_out.is_null() {
            // SAFETY: optional out-pointer, non-NULL here.
            unsafe { args::write(base_out, base as *mut c_void) }?;
        }
        if !size_out.is_null() {
            // SAFETY: optional out-pointer, non-NULL here.
            unsafe { args::write(size_out, size) }?;
        }
        Ok(())
    })
}
