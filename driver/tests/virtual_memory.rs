//! Virtual and physical memory through the real loader: reserve, map,
//! use the mapping from the host and from copies, access attributes,
//! Intel's argument rules, and fault injection.

mod support;

use std::ffi::c_void;
use std::ptr;

use support::*;
use ze_sys::*;

const MIB: usize = 1 << 20;

fn page_size(context: ze_context_handle_t, size: usize) -> usize {
    let mut page = 0;
    // SAFETY: live handles and a valid out-pointer.
    check(unsafe { (ze().virtual_mem_query_page_size)(context, device(), size, &mut page) });
    page
}

fn reserve(context: ze_context_handle_t, size: usize) -> *mut c_void {
    let mut base = ptr::null_mut();
    // SAFETY: live context and a valid out-pointer.
    check(unsafe { (ze().virtual_mem_reserve)(context, ptr::null(), size, &mut base) });
    base
}

fn physical_desc(size: usize) -> ze_physical_mem_desc_t {
    ze_physical_mem_desc_t { stype: ZE_STRUCTURE_TYPE_PHYSICAL_MEM_DESC, size, ..Default::default() }
}

fn physical(context: ze_context_handle_t, size: usize) -> ze_physical_mem_handle_t {
    let mut desc = physical_desc(size);
    let mut handle = ptr::null_mut();
    // SAFETY: live handles, a valid descriptor and out-pointer.
    check(unsafe { (ze().physical_mem_create)(context, device(), &mut desc, &mut handle) });
    handle
}

fn get_access(context: ze_context_handle_t, at: *const c_void, size: usize) -> (ze_memory_access_attribute_t, usize) {
    let (mut access, mut extent) = (ZE_MEMORY_ACCESS_ATTRIBUTE_FORCE_UINT32, 0);
    // SAFETY: live context, valid out-pointers.
    check(unsafe { (ze().virtual_mem_get_access)(context, at, size, &mut access, &mut extent) });
    (access, extent)
}

#[test]
fn page_sizes_are_intels() {
    let _serial = serial();
    let context = context();
    assert_eq!(page_size(context, 1), 64 << 10);
    assert_eq!(page_size(context, MIB), 64 << 10);
    assert_eq!(page_size(context, 2 * MIB), 2 * MIB);
    assert_eq!(page_size(context, 100 * MIB), 2 * MIB);
    // SAFETY: live context.
    check(unsafe { (ze().context_destroy)(context) });
}

#[test]
fn mapped_memory_is_written_by_the_host_and_copied_by_a_list() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let size = 4 * MIB;
    let (reservations, physicals) = (ze.swze.live("virtual_reservation"), ze.swze.live("physical_mem"));
    let base = reserve(context, size);
    assert_eq!(base as usize % page_size(context, size), 0, "aligned to its page size");
    let memory = physical(context, size);
    assert_eq!(ze.swze.live("virtual_reservation"), reservations + 1);
    assert_eq!(ze.swze.live("physical_mem"), physicals + 1);
    // SAFETY: a mapping of the whole reservation.
    check(unsafe { (ze.virtual_mem_map)(context, base, size, memory, 0, ZE_MEMORY_ACCESS_ATTRIBUTE_READWRITE) });
    let bytes = base.cast::<u8>();
    for i in 0..size {
        // SAFETY: mapped read-write just above.
        unsafe { *bytes.add(i) = (i % 251) as u8 };
    }
    let list = list_with_mode(context, ZE_COMMAND_QUEUE_MODE_SYNCHRONOUS);
    let mut out = vec![0u8; size];
    check(copy(list, out.as_mut_ptr(), bytes, size, ptr::null_mut(), &[]));
    assert!(out.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8), "copy from the mapping");
    // Into the mapping, too.
    let source = vec![7u8; MIB];
    check(copy(list, bytes, source.as_ptr(), MIB, ptr::null_mut(), &[]));
    // SAFETY: still mapped.
    assert_eq!(unsafe { *bytes.add(MIB - 1) }, 7);
    // SAFETY: live handles, the mapped range.
    unsafe {
        check((ze.list_destroy)(list));
        check((ze.virtual_mem_unmap)(context, base, size));
        // A second mapping of the same physical memory sees the same bytes.
        check((ze.virtual_mem_map)(context, base, MIB, memory, MIB, ZE_MEMORY_ACCESS_ATTRIBUTE_READONLY));
        assert_eq!(*bytes.add(5), ((MIB + 5) % 251) as u8);
        check((ze.virtual_mem_unmap)(context, base, MIB));
        check((ze.physical_mem_destroy)(context, memory));
        check((ze.virtual_mem_free)(context, base, size));
        check((ze.context_destroy)(context));
    }
    assert_eq!(ze.swze.live("virtual_reservation"), reservations);
    assert_eq!(ze.swze.live("physical_mem"), physicals);
}

#[test]
fn access_attributes_are_recorded_per_range() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let size = MIB;
    let base = reserve(context, size);
    assert_eq!(get_access(context, base, size), (ZE_MEMORY_ACCESS_ATTRIBUTE_NONE, size));
    let memory = physical(context, size);
    let half = (base as usize + size / 2) as *const c_void;
    // SAFETY: live handles, ranges inside the reservation.
    unsafe {
        check((ze.virtual_mem_map)(context, base, size, memory, 0, ZE_MEMORY_ACCESS_ATTRIBUTE_READWRITE));
        assert_eq!(get_access(context, base, size), (ZE_MEMORY_ACCESS_ATTRIBUTE_READWRITE, size));
        check((ze.virtual_mem_set_access)(context, half, size / 2, ZE_MEMORY_ACCESS_ATTRIBUTE_READONLY));
        assert_eq!(get_access(context, base, size), (ZE_MEMORY_ACCESS_ATTRIBUTE_READWRITE, size / 2));
        assert_eq!(get_access(context, half, size / 2), (ZE_MEMORY_ACCESS_ATTRIBUTE_READONLY, size / 2));
        // Still readable.
        assert_eq!(*half.cast::<u8>(), 0);
        assert_eq!(
            (ze.virtual_mem_set_access)(context, base, size, ZE_MEMORY_ACCESS_ATTRIBUTE_FORCE_UINT32),
            ZE_RESULT_ERROR_INVALID_ENUMERATION
        );
        check((ze.virtual_mem_unmap)(context, base, size));
        check((ze.physical_mem_destroy)(context, memory));
        check((ze.virtual_mem_free)(context, base, size));
        check((ze.context_destroy)(context));
    }
}

#[test]
fn arguments_are_checked_as_intel_does() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let mut out = ptr::null_mut();
    let mut handle = ptr::null_mut();
    // SAFETY: every call is given NULL or bad values it must refuse, or live handles.
    unsafe {
        assert_eq!((ze.virtual_mem_reserve)(ptr::null_mut(), ptr::null(), MIB, &mut out), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.virtual_mem_reserve)(context, ptr::null(), MIB, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!((ze.virtual_mem_reserve)(context, ptr::null(), MIB + 4096, &mut out), ZE_RESULT_ERROR_UNSUPPORTED_SIZE);
        assert_eq!((ze.virtual_mem_reserve)(context, ptr::null(), 3 * MIB, &mut out), ZE_RESULT_ERROR_UNSUPPORTED_SIZE);
        assert_eq!(
            (ze.virtual_mem_query_page_size)(context, device(), MIB, ptr::null_mut()),
            ZE_RESULT_ERROR_INVALID_NULL_POINTER
        );
        let mut desc = physical_desc(MIB + 4096);
        assert_eq!((ze.physical_mem_create)(context, device(), &mut desc, &mut handle), ZE_RESULT_ERROR_UNSUPPORTED_SIZE);
        assert_eq!(
            (ze.physical_mem_create)(context, device(), ptr::null_mut(), &mut handle),
            ZE_RESULT_ERROR_INVALID_NULL_POINTER
        );
        assert_eq!((ze.physical_mem_destroy)(context, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);

        let base = reserve(context, MIB);
        let memory = physical(context, MIB);
        let rw = ZE_MEMORY_ACCESS_ATTRIBUTE_READWRITE;
        assert_eq!((ze.virtual_mem_map)(context, base, MIB, ptr::null_mut(), 0, rw), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.virtual_mem_map)(context, ptr::null(), MIB, memory, 0, rw), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!((ze.virtual_mem_map)(context, base, 4096, memory, 0, rw), ZE_RESULT_ERROR_UNSUPPORTED_SIZE);
        let unaligned = base.cast::<u8>().add(4096).cast::<c_void>();
        assert_eq!((ze.virtual_mem_map)(context, unaligned, 64 << 10, memory, 0, rw), ZE_RESULT_ERROR_UNSUPPORTED_ALIGNMENT);
        assert_eq!((ze.virtual_mem_map)(context, base, 2 * MIB, memory, 0, rw), ZE_RESULT_ERROR_INVALID_ARGUMENT);
        check((ze.virtual_mem_map)(context, base, MIB, memory, 0, rw));
        assert_eq!((ze.virtual_mem_map)(context, base, MIB, memory, 0, rw), ZE_RESULT_ERROR_INVALID_ARGUMENT, "mapped twice");
        check((ze.virtual_mem_unmap)(context, base, MIB));
        let (mut access, mut extent) = (0, 0);
        assert_eq!(
            (ze.virtual_mem_get_access)(context, base, MIB, ptr::null_mut(), &mut extent),
            ZE_RESULT_ERROR_INVALID_NULL_POINTER
        );
        let outside = 8usize as *const c_void;
        assert_eq!((ze.virtual_mem_get_access)(context, outside, MIB, &mut access, &mut extent), ZE_RESULT_ERROR_INVALID_ARGUMENT);
        assert_eq!((ze.virtual_mem_free)(context, base, 2 * MIB), ZE_RESULT_ERROR_INVALID_ARGUMENT, "not its size");
        assert_eq!((ze.virtual_mem_free)(context, unaligned, MIB), ZE_RESULT_ERROR_INVALID_ARGUMENT, "not its start");
        check((ze.physical_mem_destroy)(context, memory));
        assert_eq!((ze.physical_mem_destroy)(context, memory), ZE_RESULT_ERROR_INVALID_NULL_HANDLE, "stale");
        check((ze.virtual_mem_free)(context, base, MIB));
        check((ze.context_destroy)(context));
    }
}

#[test]
fn an_injected_fault_answers_a_reserve() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let live = ze.swze.live("virtual_reservation");
    assert_eq!(ze.swze.inject("zeVirtualMemReserve", 1, ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY), 0);
    let mut out = ptr::null_mut();
    // SAFETY: live context and a valid out-pointer.
    assert_eq!(unsafe { (ze.virtual_mem_reserve)(context, ptr::null(), MIB, &mut out) }, ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY);
    assert!(out.is_null());
    assert_eq!(ze.swze.live("virtual_reservation"), live);
    let base = reserve(context, MIB);
    // SAFETY: the live reservation.
    unsafe {
        check((ze.virtual_mem_free)(context, base, MIB));
        check((ze.context_destroy)(context));
    }
}
