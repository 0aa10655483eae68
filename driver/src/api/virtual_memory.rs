//! Virtual and physical memory (`zeVirtualMem*`, `zePhysicalMem*`), with
//! Intel's rules (compute-runtime's `ContextImp`): the page size of a size is
//! 2 MiB from 2 MiB up and 64 KiB below; a reservation's and a physical
//! object's size must be a multiple of its page size
//! (`ZE_RESULT_ERROR_UNSUPPORTED_SIZE`); a reservation is found by its start
//! address, freed with its exact size, and an unknown address is
//! `ZE_RESULT_ERROR_INVALID_ARGUMENT`; a non-NULL `pStart` is a hint. Maps,
//! unmaps and access changes work on 64 KiB pages inside one reservation of
//! the same context: a size that is no multiple of it is
//! `UNSUPPORTED_SIZE`, an address or offset off it `UNSUPPORTED_ALIGNMENT`.
//! The access of every page is recorded (a reservation starts as
//! `ZE_MEMORY_ACCESS_ATTRIBUTE_NONE`, a map sets its pages' access); the
//! backend applies it to mapped pages only, so unmapped address space stays
//! inaccessible. `zeVirtualMemGetAccessAttribute` reports the access at `ptr`
//! and how far from `ptr` the same access runs (to the reservation's end).
//!
//! Reservations and physical objects count as children of their context.
//! Unmapping and freeing wait for the copies already appended, as
//! `zeMemFree` does, so a copy in flight never faults.

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::Arc;

use parking_lot::Mutex;
use ze_sys::*;

use crate::api::context::{self, Context};
use crate::api::driver;
use crate::args;
use crate::backend::PhysicalMemory;
use crate::calls::Api;
use crate::control::{self, Kind};
use crate::entry::{guarded, require, ZeResult};
use crate::registry::{Registry, RemoveError};

const SMALL_PAGE: usize = 64 << 10;
const LARGE_PAGE: usize = 2 << 20;

/// What `zeVirtualMemQueryPageSize` answers for `size`.
fn page_size(size: usize) -> usize {
    if size >= LARGE_PAGE {
        LARGE_PAGE
    } else {
        SMALL_PAGE
    }
}

pub struct Physical {
    context: Arc<Context>,
    memory: Box<dyn PhysicalMemory>,
    size: usize,
}

static PHYSICAL: Registry<Physical> = Registry::new(Kind::PhysicalMem);

#[derive(Clone, Copy)]
struct Page {
    access: ze_memory_access_attribute_t,
    mapped: bool,
}

struct Reservation {
    context: Arc<Context>,
    size: usize,
    /// One entry per [`SMALL_PAGE`].
    pages: Vec<Page>,
}

/// Live reservations by start address (driver-wide, as on Intel).
static RESERVATIONS: Mutex<BTreeMap<usize, Reservation>> = Mutex::new(BTreeMap::new());

fn valid_access(access: ze_memory_access_attribute_t) -> ZeResult {
    require(access <= ZE_MEMORY_ACCESS_ATTRIBUTE_READONLY, ZE_RESULT_ERROR_INVALID_ENUMERATION)
}

/// The reservation of `context` holding `[ptr, ptr + size)` (size ≥ 1), and
/// the page range within it.
fn find<'a>(
    reservations: &'a mut BTreeMap<usize, Reservation>,
    context: &Arc<Context>,
    ptr: usize,
    size: usize,
) -> Result<(usize, &'a mut Reservation, std::ops::Range<usize>), ze_result_t> {
    let (&base, reservation) = reservations.range_mut(..=ptr).next_back().ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
    let end = ptr.checked_add(size).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
    require(end <= base + reservation.size, ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
    require(Arc::ptr_eq(&reservation.context, context), ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
    let first = (ptr - base) / SMALL_PAGE;
    let last = (end - base).div_ceil(SMALL_PAGE);
    Ok((base, reservation, first..last))
}

/// The checks a map, unmap or access change shares: a page-aligned, non-empty range.
fn check_range(ptr: *const c_void, size: usize) -> Result<usize, ze_result_t> {
    require(!ptr.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
    require(size != 0 && size.is_multiple_of(SMALL_PAGE), ZE_RESULT_ERROR_UNSUPPORTED_SIZE)?;
    require((ptr as usize).is_multiple_of(SMALL_PAGE), ZE_RESULT_ERROR_UNSUPPORTED_ALIGNMENT)?;
    Ok(ptr as usize)
}

/// Applies `access` to the mapped runs of `pages` (of a reservation at `base`).
fn protect_mapped(base: usize, pages: &[Page], first: usize, access: ze_memory_access_attribute_t) -> ZeResult {
    let backend = driver::backend()?;
    let mut index = 0;
    while index < pages.len() {
        if !pages[index].mapped {
            index += 1;
            continue;
        }
        let start = index;
        while index < pages.len() && pages[index].mapped {
            index += 1;
        }
        let address = NonNull::new((base + (first + start) * SMALL_PAGE) as *mut u8).expect("inside a reservation");
        // SAFETY: a mapped, page-aligned run of a live reservation.
        unsafe { backend.protect_virtual(address, (index - start) * SMALL_PAGE, access) }?;
    }
    Ok(())
}

pub unsafe extern "C" fn ze_virtual_mem_reserve(
    context_handle: ze_context_handle_t,
    start: *const c_void,
    size: usize,
    pointer_out: *mut *mut c_void,
) -> ze_result_t {
    guarded(Api::zeVirtualMemReserve, || {
        let context = context::context(context_handle)?;
        let backend = driver::backend()?;
        require(!pointer_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        require(size != 0 && size.is_multiple_of(page_size(size)), ZE_RESULT_ERROR_UNSUPPORTED_SIZE)?;
        let base = backend.reserve_virtual(start as usize, size, page_size(size))?;
        let none = Page { access: ZE_MEMORY_ACCESS_ATTRIBUTE_NONE, mapped: false };
        let reservation = Reservation { context: context.clone(), size, pages: vec![none; size / SMALL_PAGE] };
        RESERVATIONS.lock().insert(base.as_ptr() as usize, reservation);
        context.adopt();
        control::object_created(Kind::VirtualReservation);
        // SAFETY: non-NULL out-pointer (checked above).
        unsafe { args::write(pointer_out, base.as_ptr().cast::<c_void>()) }
    })
}

pub unsafe extern "C" fn ze_virtual_mem_free(
    context_handle: ze_context_handle_t,
    ptr: *const c_void,
    size: usize,
) -> ze_result_t {
    guarded(Api::zeVirtualMemFree, || {
        let context = context::context(context_handle)?;
        let backend = driver::backend()?;
        require(!ptr.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        let reservation = {
            let mut reservations = RESERVATIONS.lock();
            let reservation = reservations.get(&(ptr as usize)).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
            require(reservation.size == size, ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
            require(Arc::ptr_eq(&reservation.context, &context), ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
            reservations.remove(&(ptr as usize)).expect("found under the same lock")
        };
        // Copies appended before may still use the mapped pages.
        backend.wait_all_idle();
        let base = NonNull::new(ptr as *mut u8).expect("non-NULL (checked above)");
        // SAFETY: a live reservation, just unregistered, that no copy uses now.
        unsafe { backend.free_virtual(base, size) };
        control::object_destroyed(Kind::VirtualReservation);
        reservation.context.release();
        Ok(())
    })
}

pub unsafe extern "C" fn ze_virtual_mem_query_page_size(
    context_handle: ze_context_handle_t,
    device: ze_device_handle_t,
    size: usize,
    page_size_out: *mut usize,
) -> ze_result_t {
    guarded(Api::zeVirtualMemQueryPageSize, || {
        context::context(context_handle)?;
        driver::device(device)?;
        require(!page_size_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        // SAFETY: non-NULL out-pointer (checked above).
        unsafe { args::write(page_size_out, page_size(size)) }
    })
}

pub unsafe extern "C" fn ze_physical_mem_create(
    context_handle: ze_context_handle_t,
    device: ze_device_handle_t,
    desc: *mut ze_physical_mem_desc_t,
    physical_out: *mut ze_physical_mem_handle_t,
) -> ze_result_t {
    const API: Api = Api::zePhysicalMemCreate;
    guarded(API, || {
        let context = context::context(context_handle)?;
        let device = driver::device(device)?;
        let backend = driver::backend()?;
        // SAFETY: the caller's descriptor (Level Zero contract), NULL checked.
        let desc = unsafe { args::descriptor(API, desc.cast_const()) }?;
        require(!physical_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        args::spec_range(API, "desc->flags", desc.flags, ZE_PHYSICAL_MEM_FLAG_TBD)?;
        let size = desc.size;
        require(size != 0 && size.is_multiple_of(page_size(size)), ZE_RESULT_ERROR_UNSUPPORTED_SIZE)?;
        let memory = backend.create_physical(device.backend_device, size)?;
        let handle = PHYSICAL.insert(Physical { context: context.clone(), memory, size });
        context.adopt();
        // SAFETY: non-NULL out-pointer (checked above).
        unsafe { args::write(physical_out, handle as ze_physical_mem_handle_t) }
    })
}

pub unsafe extern "C" fn ze_physical_mem_destroy(
    context_handle: ze_context_handle_t,
    physical: ze_physical_mem_handle_t,
) -> ze_result_t {
    guarded(Api::zePhysicalMemDestroy, || {
        let context = context::context(context_handle)?;
        // Mappings of it stay valid until unmapped: they hold the memory.
        let removed = PHYSICAL.remove_if(physical as usize, |physical| Arc::ptr_eq(&physical.context, &context));
        match removed {
            Ok(physical) => {
                physical.context.release();
                Ok(())
            }
            Err(RemoveError::Unknown) => Err(ZE_RESULT_ERROR_INVALID_NULL_HANDLE),
            Err(RemoveError::Refused) => Err(ZE_RESULT_ERROR_INVALID_ARGUMENT),
        }
    })
}

pub unsafe extern "C" fn ze_virtual_mem_map(
    context_handle: ze_context_handle_t,
    ptr: *const c_void,
    size: usize,
    physical: ze_physical_mem_handle_t,
    offset: usize,
    access: ze_memory_access_attribute_t,
) -> ze_result_t {
    guarded(Api::zeVirtualMemMap, || {
        let context = context::context(context_handle)?;
        let backend = driver::backend()?;
        let physical = PHYSICAL.get(physical as usize).ok_or(ZE_RESULT_ERROR_INVALID_NULL_HANDLE)?;
        let address = check_range(ptr, size)?;
        valid_access(access)?;
        require(offset.is_multiple_of(SMALL_PAGE), ZE_RESULT_ERROR_UNSUPPORTED_ALIGNMENT)?;
        require(offset.checked_add(size).is_some_and(|end| end <= physical.size), ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        require(Arc::ptr_eq(&physical.context, &context), ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        let mut reservations = RESERVATIONS.lock();
        let (_, reservation, pages) = find(&mut reservations, &context, address, size)?;
        require(reservation.pages[pages.clone()].iter().all(|page| !page.mapped), ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        let base = NonNull::new(address as *mut u8).expect("non-NULL (checked above)");
        // SAFETY: page aligned, inside a live reservation, not mapped (checked
        // under the lock held), within the physical object.
        unsafe { backend.map_virtual(base, size, physical.memory.as_ref(), offset, access) }?;
        for page in &mut reservation.pages[pages] {
            *page = Page { access, mapped: true };
        }
        Ok(())
    })
}

pub unsafe extern "C" fn ze_virtual_mem_unmap(
    context_handle: ze_context_handle_t,
    ptr: *const c_void,
    size: usize,
) -> ze_result_t {
    guarded(Api::zeVirtualMemUnmap, || {
        let context = context::context(context_handle)?;
        let backend = driver::backend()?;
        let address = check_range(ptr, size)?;
        let mut reservations = RESERVATIONS.lock();
        let (_, reservation, pages) = find(&mut reservations, &context, address, size)?;
        // Copies appended before may still use the pages.
        backend.wait_all_idle();
        let base = NonNull::new(address as *mut u8).expect("non-NULL (checked above)");
        // SAFETY: page aligned, inside a live reservation, no copy uses it now.
        unsafe { backend.unmap_virtual(base, size) }?;
        for page in &mut reservation.pages[pages] {
            page.mapped = false;
        }
        Ok(())
    })
}

pub unsafe extern "C" fn ze_virtual_mem_set_access_attribute(
    context_handle: ze_context_handle_t,
    ptr: *const c_void,
    size: usize,
    access: ze_memory_access_attribute_t,
) -> ze_result_t {
    guarded(Api::zeVirtualMemSetAccessAttribute, || {
        let context = context::context(context_handle)?;
        let address = check_range(ptr, size)?;
        valid_access(access)?;
        let mut reservations = RESERVATIONS.lock();
        let (base, reservation, pages) = find(&mut reservations, &context, address, size)?;
        protect_mapped(base, &reservation.pages[pages.clone()], pages.start, access)?;
        for page in &mut reservation.pages[pages] {
            page.access = access;
        }
        Ok(())
    })
}

pub unsafe extern "C" fn ze_virtual_mem_get_access_attribute(
    context_handle: ze_context_handle_t,
    ptr: *const c_void,
    size: usize,
    access_out: *mut ze_memory_access_attribute_t,
    size_out: *mut usize,
) -> ze_result_t {
    guarded(Api::zeVirtualMemGetAccessAttribute, || {
        let context = context::context(context_handle)?;
        require(!ptr.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        require(!access_out.is_null() && !size_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        let address = ptr as usize;
        let mut reservations = RESERVATIONS.lock();
        let (base, reservation, pages) = find(&mut reservations, &context, address, size.max(1))?;
        let access = reservation.pages[pages.start].access;
        let same = reservation.pages[pages.start..].iter().take_while(|page| page.access == access).count();
        let extent = (base + (pages.start + same) * SMALL_PAGE).min(base + reservation.size) - address;
        // SAFETY: non-NULL out-pointers (checked above).
        unsafe { args::write(access_out, access) }?;
        // SAFETY: as above.
        unsafe { args::write(size_out, extent) }
    })
}
