//! Intel's host-pointer import through `zeDriverGetExtensionFunctionAddress`:
//! the three zex functions, their results as compute-runtime gives them
//! (`host_pointer_manager.cpp`, `driver_handle.cpp`), and copies from and to
//! an imported range.

mod support;

use std::ffi::{c_char, c_void};
use std::ptr;

use support::*;
use ze_sys::*;

type Import = unsafe extern "C" fn(ze_driver_handle_t, *mut c_void, usize) -> ze_result_t;
type Release = unsafe extern "C" fn(ze_driver_handle_t, *mut c_void) -> ze_result_t;
type BaseAddress = unsafe extern "C" fn(ze_driver_handle_t, *mut c_void, *mut *mut c_void) -> ze_result_t;

fn lookup(name: &str) -> (ze_result_t, *mut c_void) {
    let name = std::ffi::CString::new(name).unwrap();
    let mut function: *mut c_void = 0x1 as *mut c_void;
    // SAFETY: a NUL-terminated name and a valid out-pointer.
    let result = unsafe { (ze().driver_get_extension_function_address)(driver(), name.as_ptr(), &mut function) };
    (result, function)
}

struct Zex {
    import: Import,
    release: Release,
    base_address: BaseAddress,
}

fn zex() -> Zex {
    let found = |name: &str| {
        let (result, function) = lookup(name);
        check(result);
        assert!(!function.is_null(), "{name}");
        function
    };
    // SAFETY: the driver gives each function under its C name, with the
    // signature of compute-runtime's `zex_driver.h`.
    unsafe {
        Zex {
            import: std::mem::transmute::<*mut c_void, Import>(found("zexDriverImportExternalPointer")),
            release: std::mem::transmute::<*mut c_void, Release>(found("zexDriverReleaseImportedPointer")),
            base_address: std::mem::transmute::<*mut c_void, BaseAddress>(found("zexDriverGetHostPointerBaseAddress")),
        }
    }
}

/// `size` bytes of page-aligned `malloc` memory (Rust's allocator, which is
/// malloc), never known to the driver.
struct Pageable {
    base: *mut u8,
    layout: std::alloc::Layout,
}

impl Pageable {
    fn new(size: usize) -> Pageable {
        let layout = std::alloc::Layout::from_size_align(size, 4096).unwrap();
        // SAFETY: non-zero size.
        let base = unsafe { std::alloc::alloc_zeroed(layout) };
        assert!(!base.is_null());
        Pageable { base, layout }
    }

    fn at(&self, offset: usize) -> *mut c_void {
        // SAFETY: the tests stay within (or one past) the allocation.
        unsafe { self.base.add(offset) }.cast()
    }
}

impl Drop for Pageable {
    fn drop(&mut self) {
        // SAFETY: allocated by `new` with this layout.
        unsafe { std::alloc::dealloc(self.base, self.layout) };
    }
}

#[test]
fn extension_function_address_names_only_the_import_functions() {
    let _serial = serial();
    for name in ["zexDriverImportExternalPointer", "zexDriverReleaseImportedPointer", "zexDriverGetHostPointerBaseAddress"] {
        let (result, function) = lookup(name);
        assert_eq!(result, ZE_RESULT_SUCCESS, "{name}");
        assert!(!function.is_null(), "{name}");
    }
    // Unknown names: NULL and INVALID_ARGUMENT, as compute-runtime's
    // `DriverHandle::getExtensionFunctionAddress`.
    for name in ["zexDriverImportExternalPointers", "zeIntelGetDriverVersionString", "", "zeInit"] {
        assert_eq!(lookup(name), (ZE_RESULT_ERROR_INVALID_ARGUMENT, ptr::null_mut()), "{name}");
    }
    let ze = ze();
    let mut function = ptr::null_mut();
    // SAFETY: NULL arguments are checked cases.
    unsafe {
        assert_eq!(
            (ze.driver_get_extension_function_address)(driver(), ptr::null::<c_char>(), &mut function),
            ZE_RESULT_ERROR_INVALID_NULL_POINTER
        );
        assert_eq!(
            (ze.driver_get_extension_function_address)(driver(), c"zexDriverImportExternalPointer".as_ptr(), ptr::null_mut()),
            ZE_RESULT_ERROR_INVALID_NULL_POINTER
        );
    }
    assert!(ze.swze.calls("zeDriverGetExtensionFunctionAddress") > 0);
}

#[test]
fn bad_inputs_are_refused_as_intel_refuses_them() {
    let _serial = serial();
    let zex = zex();
    let memory = Pageable::new(4096);
    let mut base = ptr::null_mut();
    // SAFETY: every pointer is NULL, the driver's or within `memory`.
    unsafe {
        assert_eq!((zex.import)(ptr::null_mut(), memory.at(0), 4096), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((zex.import)(driver(), ptr::null_mut(), 4096), ZE_RESULT_ERROR_INVALID_ARGUMENT);
        assert_eq!((zex.import)(driver(), memory.at(0), 0), ZE_RESULT_ERROR_INVALID_ARGUMENT);
        assert_eq!((zex.release)(driver(), ptr::null_mut()), ZE_RESULT_ERROR_INVALID_ARGUMENT);
        assert_eq!((zex.release)(driver(), memory.at(0)), ZE_RESULT_ERROR_INVALID_ARGUMENT, "never imported");
        assert_eq!((zex.release)(ptr::null_mut(), memory.at(0)), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((zex.base_address)(driver(), memory.at(0), &mut base), ZE_RESULT_ERROR_INVALID_ARGUMENT);
        assert_eq!((zex.base_address)(driver(), ptr::null_mut(), &mut base), ZE_RESULT_ERROR_INVALID_ARGUMENT);
    }
}

#[test]
fn imports_overlaps_lookups_and_releases_follow_compute_runtime() {
    let _serial = serial();
    let zex = zex();
    let memory = Pageable::new(8 * 4096);
    let page = 4096;
    let driver = driver();
    let mut base = ptr::null_mut();
    // SAFETY: every range lies within `memory`, alive for the test.
    unsafe {
        // A = pages [1, 3), B = pages [4, 6).
        check((zex.import)(driver, memory.at(page), 2 * page));
        check((zex.import)(driver, memory.at(4 * page), 2 * page));
        // Inside A (or A again): imported already, success, nothing added.
        check((zex.import)(driver, memory.at(page), 2 * page));
        check((zex.import)(driver, memory.at(page + 100), 1000));
        // Starts in A, ends in B: OVERLAPPING_REGIONS.
        assert_eq!((zex.import)(driver, memory.at(2 * page), 3 * page), ZE_RESULT_ERROR_OVERLAPPING_REGIONS);
        // Starts in A, ends outside any: HANDLE_OBJECT_IN_USE.
        assert_eq!((zex.import)(driver, memory.at(2 * page), page + 1), ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE);
        // Starts outside, ends in B: INVALID_SIZE.
        assert_eq!((zex.import)(driver, memory.at(3 * page), page + 1), ZE_RESULT_ERROR_INVALID_SIZE);

        // Lookups: any address inside an import gives its base.
        check((zex.base_address)(driver, memory.at(page), &mut base));
        assert_eq!(base, memory.at(page));
        check((zex.base_address)(driver, memory.at(3 * page - 1), &mut base));
        assert_eq!(base, memory.at(page));
        check((zex.base_address)(driver, memory.at(5 * page), &mut base));
        assert_eq!(base, memory.at(4 * page));
        check((zex.base_address)(driver, memory.at(5 * page), ptr::null_mut()));
        assert_eq!((zex.base_address)(driver, memory.at(3 * page), &mut base), ZE_RESULT_ERROR_INVALID_ARGUMENT);
        assert_eq!((zex.base_address)(driver, memory.at(6 * page), &mut base), ZE_RESULT_ERROR_INVALID_ARGUMENT);

        // A release by an address inside an import forgets the whole import.
        check((zex.release)(driver, memory.at(page + 10)));
        assert_eq!((zex.base_address)(driver, memory.at(page), &mut base), ZE_RESULT_ERROR_INVALID_ARGUMENT);
        assert_eq!((zex.release)(driver, memory.at(page)), ZE_RESULT_ERROR_INVALID_ARGUMENT, "released already");
        check((zex.release)(driver, memory.at(4 * page)));
        assert_eq!((zex.release)(driver, memory.at(4 * page)), ZE_RESULT_ERROR_INVALID_ARGUMENT);
    }
    let swze = &ze().swze;
    assert!(swze.calls("zexDriverImportExternalPointer") >= 7);
    assert!(swze.calls("zexDriverReleaseImportedPointer") >= 4);
    assert!(swze.calls("zexDriverGetHostPointerBaseAddress") >= 6);
}

#[test]
fn an_imported_range_stays_unknown_to_alloc_properties() {
    let _serial = serial();
    let zex = zex();
    let setup = Setup::new(1);
    let memory = Pageable::new(4096);
    let mut properties = ze_memory_allocation_properties_t::default();
    // SAFETY: the range is within `memory`; valid out-struct.
    unsafe {
        check((zex.import)(driver(), memory.at(0), 4096));
        check((ze().mem_get_alloc_properties)(setup.context, memory.at(0), &mut properties, ptr::null_mut()));
        assert_eq!(properties.type_, ZE_MEMORY_TYPE_UNKNOWN, "as on Intel's driver");
        check((zex.release)(driver(), memory.at(0)));
    }
}

#[test]
fn copies_from_and_to_imported_ranges_move_every_byte() {
    let _serial = serial();
    let zex = zex();
    let setup = Setup::new(2);
    let size = 1 << 20;
    let source = Pageable::new(size);
    let back = Pageable::new(size);
    let device = device_memory(setup.context, size);
    // SAFETY: `source` holds `size` bytes.
    let bytes = unsafe { std::slice::from_raw_parts_mut(source.base, size) };
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = (index * 7 + index / 4096) as u8;
    }
    // SAFETY: the ranges are within their allocations; the copies are
    // observed complete (events) before the memory is released or freed.
    unsafe {
        check((zex.import)(driver(), source.at(0), size));
        check((zex.import)(driver(), back.at(0), size));
        check(copy(setup.list, device, source.base, size, setup.events[0], &[]));
        check(copy(setup.list, back.base, device, size, setup.events[1], &[setup.events[0]]));
        check(synchronize(setup.events[1], u64::MAX));
        assert_eq!(std::slice::from_raw_parts(back.base, size), &bytes[..]);
        // A copy still queued when the range is released finishes first.
        check((ze().event_host_reset)(setup.events[1]));
        std::ptr::write_bytes(back.base, 0, size);
        check(copy(setup.list, back.base, device, size, setup.events[1], &[]));
        check((zex.release)(driver(), back.at(0)));
        assert_eq!(query(setup.events[1]), ZE_RESULT_SUCCESS, "the release waited for the copy");
        assert_eq!(std::slice::from_raw_parts(back.base, size), &bytes[..]);
        check((zex.release)(driver(), source.at(0)));
        check((ze().mem_free)(setup.context, device.cast()));
    }
}

#[test]
fn threads_import_and_release_disjoint_ranges_at_once() {
    let _serial = serial();
    let threads = 4;
    let rounds = 200;
    let memory = Pageable::new(threads * 4096);
    let base = memory.base as usize;
    std::thread::scope(|scope| {
        for thread in 0..threads {
            scope.spawn(move || {
                let zex = zex();
                let at = (base + thread * 4096) as *mut c_void;
                let mut found = ptr::null_mut();
                for _ in 0..rounds {
                    // SAFETY: this thread's own page of `memory`, alive for the scope.
                    unsafe {
                        check((zex.import)(driver(), at, 4096));
                        check((zex.base_address)(driver(), at.cast::<u8>().add(4095).cast(), &mut found));
                        assert_eq!(found, at);
                        check((zex.release)(driver(), at));
                    }
                }
            });
        }
    });
}
