//! Virtual memory on the CPU: a reservation is anonymous `PROT_NONE` address
//! space (`MAP_NORESERVE`, so it costs no memory), physical memory is a
//! memfd of its size, a mapping is the memfd mapped `MAP_SHARED | MAP_FIXED`
//! over part of a reservation (so two mappings of one physical object share
//! bytes), an unmap maps fresh `PROT_NONE` space back over the range, and an
//! access change is `mprotect`. Copies are `memcpy`, so mapped memory is
//! usable by every command as it is.

use std::any::Any;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;

use ze_sys::*;

use crate::backend::PhysicalMemory;

pub struct Physical {
    fd: OwnedFd,
}

impl PhysicalMemory for Physical {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn protection(access: ze_memory_access_attribute_t) -> libc::c_int {
    match access {
        ZE_MEMORY_ACCESS_ATTRIBUTE_READWRITE => libc::PROT_READ | libc::PROT_WRITE,
        ZE_MEMORY_ACCESS_ATTRIBUTE_READONLY => libc::PROT_READ,
        _ => libc::PROT_NONE,
    }
}

/// Anonymous inaccessible space at `address` (0: anywhere), `MAP_FIXED` over
/// what is there when `fixed`.
fn inaccessible(address: usize, size: usize, fixed: bool) -> Option<NonNull<u8>> {
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | if fixed { libc::MAP_FIXED } else { 0 };
    // SAFETY: anonymous memory; with MAP_FIXED the caller owns the range.
    let base = unsafe { libc::mmap(address as *mut libc::c_void, size, libc::PROT_NONE, flags, -1, 0) };
    if base == libc::MAP_FAILED {
        return None;
    }
    NonNull::new(base.cast())
}

fn unmap(base: usize, size: usize) {
    if size > 0 {
        // SAFETY: the range is address space this module mapped and owns.
        unsafe { libc::munmap(base as *mut libc::c_void, size) };
    }
}

pub fn reserve(hint: usize, size: usize, alignment: usize) -> Result<NonNull<u8>, ze_result_t> {
    if hint != 0 && hint.is_multiple_of(alignment) {
        if let Some(base) = inaccessible(hint, size, false) {
            if (base.as_ptr() as usize).is_multiple_of(alignment) {
                return Ok(base);
            }
            unmap(base.as_ptr() as usize, size);
        }
    }
    // Over-reserve by the alignment and trim both ends.
    let padded = size.checked_add(alignment).ok_or(ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY)?;
    let base = inaccessible(0, padded, false).ok_or(ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY)?.as_ptr() as usize;
    let aligned = base.next_multiple_of(alignment);
    unmap(base, aligned - base);
    unmap(aligned + size, base + padded - (aligned + size));
    Ok(NonNull::new(aligned as *mut u8).expect("mmap never returns address 0 unasked"))
}

/// # Safety
/// `base..base + size` is one reservation of [`reserve`], unused.
pub unsafe fn free(base: NonNull<u8>, size: usize) {
    unmap(base.as_ptr() as usize, size);
}

pub fn create_physical(size: usize) -> Result<Box<dyn PhysicalMemory>, ze_result_t> {
    // SAFETY: a NUL-terminated name; the returned descriptor is checked.
    let fd = unsafe { libc::memfd_create(c"swze-physical".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY);
    }
    // SAFETY: a fresh descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let length = libc::off_t::try_from(size).map_err(|_| ZE_RESULT_ERROR_UNSUPPORTED_SIZE)?;
    // SAFETY: our own descriptor.
    if unsafe { libc::ftruncate(fd.as_raw_fd(), length) } != 0 {
        return Err(ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY);
    }
    Ok(Box::new(Physical { fd }))
}

/// # Safety
/// As `Backend::map_virtual`.
pub unsafe fn map(address: NonNull<u8>, size: usize, physical: &dyn PhysicalMemory, offset: usize,
    access: ze_memory_access_attribute_t) -> Result<(), ze_result_t> {
    let physical = physical.as_any().downcast_ref::<Physical>().ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
    let offset = libc::off_t::try_from(offset).map_err(|_| ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
    let flags = libc::MAP_SHARED | libc::MAP_FIXED;
    // SAFETY: MAP_FIXED over part of a reservation the caller owns (contract).
    let base = unsafe {
        libc::mmap(address.as_ptr().cast(), size, protection(access), flags, physical.fd.as_raw_fd(), offset)
    };
    if base == libc::MAP_FAILED {
        return Err(ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY);
    }
    debug_assert_eq!(base, address.as_ptr().cast());
    Ok(())
}

/// # Safety
/// As `Backend::unmap_virtual`.
pub unsafe fn unmap_range(address: NonNull<u8>, size: usize) -> Result<(), ze_result_t> {
    inaccessible(address.as_ptr() as usize, size, true).map(|_| ()).ok_or(ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY)
}

/// # Safety
/// As `Backend::protect_virtual`.
pub unsafe fn protect(address: NonNull<u8>, size: usize, access: ze_memory_access_attribute_t)
    -> Result<(), ze_result_t> {
    // SAFETY: a mapped range of a reservation (contract).
    let done = unsafe { libc::mprotect(address.as_ptr().cast(), size, protection(access)) };
    if done != 0 {
        return Err(ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY);
    }
    Ok(())
}
