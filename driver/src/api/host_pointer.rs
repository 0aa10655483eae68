//! Intel's host-pointer import, reached through
//! `zeDriverGetExtensionFunctionAddress` as on Intel's driver (the
//! `ZEX_driver_import_host_pointer` extension, 1.0, reported by
//! `zeDriverGetExtensionProperties`): `zexDriverImportExternalPointer`
//! makes a `malloc`'d range known to the driver, so copies from and to it
//! run as from and to host allocations; `zexDriverReleaseImportedPointer`
//! forgets it; `zexDriverGetHostPointerBaseAddress` finds the import holding
//! an address.
//!
//! The rules and results are compute-runtime's
//! (`level_zero/core/source/driver/host_pointer_manager.cpp`,
//! `driver_handle.cpp`, `extension_function_address.cpp`): NULL or size 0
//! is `INVALID_ARGUMENT`; a range inside one import is imported already
//! (success, nothing done, and one release forgets it); a range that starts
//! in one import and ends in another is `OVERLAPPING_REGIONS`, one that
//! starts in an import and ends outside `HANDLE_OBJECT_IN_USE`, one that
//! ends in an import but starts outside `INVALID_SIZE`; a lookup finds the
//! import with the greatest base at or below the address, if it holds the
//! address; a release by any address inside an import forgets the whole
//! import; anything else is `INVALID_ARGUMENT`. A release waits for the
//! copies already appended (as Intel's driver waits for an allocation's
//! last use before freeing it), then the backend forgets the range.
//!
//! The imports are the driver's, one table for every context. Imported
//! ranges stay `ZE_MEMORY_TYPE_UNKNOWN` to `zeMemGetAllocProperties`, as
//! on Intel's driver.

use std::collections::BTreeMap;
use std::ffi::{c_char, c_void, CStr};

use parking_lot::Mutex;
use ze_sys::*;

use crate::api::driver;
use crate::args;
use crate::calls::Api;
use crate::entry::{guarded, require, ZeResult};

/// Imported ranges: base -> size.
static IMPORTS: Mutex<BTreeMap<usize, usize>> = Mutex::new(BTreeMap::new());

/// The import with the greatest base at or below `address`, if it holds
/// `address` (compute-runtime's `MapBasedAllocationTracker::get`).
fn holding(imports: &BTreeMap<usize, usize>, address: usize) -> Option<(usize, usize)> {
    let (&base, &size) = imports.range(..=address).next_back()?;
    (address - base < size).then_some((base, size))
}

/// The zex functions take the handle the application has: under
/// `ZE_ENABLE_LOADER_INTERCEPT` that is the loader's own object, which the
/// loader does not translate for a function it did not dispatch. The
/// imports are the driver's alone, so the handle is never dereferenced;
/// NULL is refused, and a driver not yet initialised.
fn check_handle(driver: ze_driver_handle_t) -> ZeResult {
    driver::topology()?;
    require(!driver.is_null(), ZE_RESULT_ERROR_INVALID_NULL_HANDLE)
}

pub unsafe extern "C" fn zex_driver_import_external_pointer(
    driver: ze_driver_handle_t,
    pointer: *mut c_void,
    size: usize,
) -> ze_result_t {
    guarded(Api::zexDriverImportExternalPointer, || {
        check_handle(driver)?;
        let backend = driver::backend()?;
        require(!pointer.is_null() && size != 0, ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        let base = pointer as usize;
        let last = base.checked_add(size - 1).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        let mut imports = IMPORTS.lock();
        let (begin, end) = (holding(&imports, base), holding(&imports, last));
        match (begin, end) {
            (Some(first), Some(second)) if first == second => return Ok(()),
            (Some(_), Some(_)) => return Err(ZE_RESULT_ERROR_OVERLAPPING_REGIONS),
            (Some(_), None) => return Err(ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE),
            (None, Some(_)) => return Err(ZE_RESULT_ERROR_INVALID_SIZE),
            (None, None) => {}
        }
        backend.import_host(base, size)?;
        imports.insert(base, size);
        Ok(())
    })
}

pub unsafe extern "C" fn zex_driver_release_imported_pointer(driver: ze_driver_handle_t, pointer: *mut c_void)
    -> ze_result_t {
    guarded(Api::zexDriverReleaseImportedPointer, || {
        check_handle(driver)?;
        let backend = driver::backend()?;
        let mut imports = IMPORTS.lock();
        let (base, size) = holding(&imports, pointer as usize).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        // Copies appended before the release may still read or write the range.
        backend.wait_all_idle();
        backend.release_host(base, size);
        imports.remove(&base);
        Ok(())
    })
}

pub unsafe extern "C" fn zex_driver_get_host_pointer_base_address(
    driver: ze_driver_handle_t,
    pointer: *mut c_void,
    base_out: *mut *mut c_void,
) -> ze_result_t {
    guarded(Api::zexDriverGetHostPointerBaseAddress, || {
        check_handle(driver)?;
        let (base, _) = holding(&IMPORTS.lock(), pointer as usize).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        if !base_out.is_null() {
            // SAFETY: optional out-pointer, non-NULL here.
            unsafe { args::write(base_out, base as *mut c_void) }?;
        }
        Ok(())
    })
}

/// The functions `zeDriverGetExtensionFunctionAddress` gives, by name.
fn extension_function(name: &[u8]) -> Option<*mut c_void> {
    let function = match name {
        b"zexDriverImportExternalPointer" => zex_driver_import_external_pointer as *mut c_void,
        b"zexDriverReleaseImportedPointer" => zex_driver_release_imported_pointer as *mut c_void,
        b"zexDriverGetHostPointerBaseAddress" => zex_driver_get_host_pointer_base_address as *mut c_void,
        b"zexCounterBasedEventCreate2" if crate::api::counter::enabled() => {
            crate::api::event::zex_counter_based_event_create2 as *mut c_void
        }
        _ => return None,
    };
    Some(function)
}

/// Core since API 1.1. An unknown name sets `*function` to NULL and is
/// `ZE_RESULT_ERROR_INVALID_ARGUMENT`, as on Intel's driver.
pub unsafe extern "C" fn ze_driver_get_extension_function_address(
    driver: ze_driver_handle_t,
    name: *const c_char,
    function_out: *mut *mut c_void,
) -> ze_result_t {
    guarded(Api::zeDriverGetExtensionFunctionAddress, || {
        driver::check_driver(driver)?;
        require(!name.is_null() && !function_out.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        // SAFETY: a NUL-terminated name (Level Zero contract), non-NULL.
        let found = extension_function(unsafe { CStr::from_ptr(name) }.to_bytes());
        // SAFETY: the caller's out-pointer, non-NULL.
        unsafe { args::write(function_out, found.unwrap_or(std::ptr::null_mut())) }?;
        found.map(|_| ()).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holding_takes_the_greatest_base_at_or_below() {
        let imports: BTreeMap<usize, usize> = [(100, 50), (200, 10)].into_iter().collect();
        assert_eq!(holding(&imports, 99), None);
        assert_eq!(holding(&imports, 100), Some((100, 50)));
        assert_eq!(holding(&imports, 149), Some((100, 50)));
        assert_eq!(holding(&imports, 150), None);
        assert_eq!(holding(&imports, 209), Some((200, 10)));
        assert_eq!(holding(&imports, 210), None);
    }

    #[test]
    fn only_the_three_import_functions_are_named() {
        assert!(extension_function(b"zexDriverImportExternalPointer").is_some());
        assert!(extension_function(b"zexDriverReleaseImportedPointer").is_some());
        assert!(extension_function(b"zexDriverGetHostPointerBaseAddress").is_some());
        assert!(extension_function(b"zexDriverImportExternalPointe").is_none());
        assert!(extension_function(b"").is_none());
    }
}
