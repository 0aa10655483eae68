//! Every argument error the driver checks by default, each with the spec's
//! result, and stale or foreign handles that must be refused instead of
//! dereferenced. The spec's rules that Intel's driver does not enforce
//! (descriptor stypes, flag and enum ranges) are in `spec_rules.rs`.
//! All calls go through the real loader (without its validation layer, so
//! the driver's own checks are what answers).

mod support;

use std::ffi::c_void;
use std::ptr;

use support::*;
use ze_sys::*;

#[test]
fn driver_and_device_queries() {
    let _serial = serial();
    let ze = ze();
    let mut count = 0u32;
    let mut version = 0;
    let mut driver_properties = ze_driver_properties_t::default();
    let mut device_properties = ze_device_properties_t::default();
    let foreign = &mut count as *mut u32 as ze_device_handle_t;
    // SAFETY: each call passes either valid pointers or the NULL under test.
    unsafe {
        assert_eq!((ze.driver_get)(ptr::null_mut(), ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!((ze.driver_get_api_version)(ptr::null_mut(), &mut version), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.driver_get_api_version)(driver(), ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        check((ze.driver_get_api_version)(driver(), &mut version));
        assert_eq!(version, ZE_API_VERSION_CURRENT);
        assert_eq!(
            (ze.driver_get_properties)(ptr::null_mut(), &mut driver_properties),
            ZE_RESULT_ERROR_INVALID_NULL_HANDLE
        );
        assert_eq!((ze.driver_get_properties)(driver(), ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!((ze.device_get)(ptr::null_mut(), &mut count, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.device_get)(driver(), ptr::null_mut(), ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!((ze.device_get_properties)(ptr::null_mut(), &mut device_properties), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.device_get_properties)(foreign, &mut device_properties), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.device_get_properties)(device(), ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!((ze.device_get_sub_devices)(foreign, &mut count, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.device_get_sub_devices)(device(), ptr::null_mut(), ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!((ze.device_get_queue_groups)(device(), ptr::null_mut(), ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!((ze.device_get_memory_properties)(device(), ptr::null_mut(), ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        // A count larger than what exists is lowered to what was written.
        let mut devices = [ptr::null_mut(); 8];
        count = 8;
        check((ze.device_get)(driver(), &mut count, devices.as_mut_ptr()));
        assert_eq!(count, DEVICES);
    }
}

#[test]
fn context_arguments() {
    let _serial = serial();
    let ze = ze();
    let good = ze_context_desc_t { stype: ZE_STRUCTURE_TYPE_CONTEXT_DESC, ..Default::default() };
    let mut context = ptr::null_mut();
    // SAFETY: each call passes valid pointers or the defect under test.
    unsafe {
        assert_eq!((ze.context_create)(ptr::null_mut(), &good, &mut context), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.context_create)(driver(), ptr::null(), &mut context), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!((ze.context_create)(driver(), &good, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!((ze.context_destroy)(ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.context_system_barrier)(ptr::null_mut(), device()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        let context = support::context();
        assert_eq!((ze.context_system_barrier)(context, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        check((ze.context_system_barrier)(context, device()));
        check((ze.context_destroy)(context));
        // Stale: destroyed above.
        assert_eq!((ze.context_destroy)(context), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        let desc = queue_desc(ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS);
        let mut list = ptr::null_mut();
        assert_eq!((ze.list_create_immediate)(context, device(), &desc, &mut list), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
    }
}

#[test]
fn memory_arguments() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let device_desc = ze_device_mem_alloc_desc_t { stype: ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC, ..Default::default() };
    let mut memory: *mut c_void = ptr::null_mut();
    let plain = [0u8; 64];
    let mut properties = ze_memory_allocation_properties_t::default();
    // SAFETY: each call passes valid pointers or the defect under test.
    unsafe {
        let alloc_device = |desc: *const ze_device_mem_alloc_desc_t, size, alignment, device, out| {
            (ze.mem_alloc_device)(context, desc, size, alignment, device, out)
        };
        assert_eq!(
            (ze.mem_alloc_device)(ptr::null_mut(), &device_desc, 64, 0, device(), &mut memory),
            ZE_RESULT_ERROR_INVALID_NULL_HANDLE
        );
        assert_eq!(alloc_device(&device_desc, 64, 0, ptr::null_mut(), &mut memory), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!(alloc_device(ptr::null(), 64, 0, device(), &mut memory), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!(alloc_device(&device_desc, 64, 0, device(), ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!(alloc_device(&device_desc, 0, 0, device(), &mut memory), ZE_RESULT_ERROR_UNSUPPORTED_SIZE);
        assert_eq!(alloc_device(&device_desc, 64, 3, device(), &mut memory), ZE_RESULT_ERROR_UNSUPPORTED_ALIGNMENT);
        assert_eq!(alloc_device(&device_desc, usize::MAX / 2, 0, device(), &mut memory), ZE_RESULT_ERROR_UNSUPPORTED_SIZE);
        assert_eq!((ze.mem_alloc_host)(context, ptr::null(), 64, 0, &mut memory), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!(
            (ze.mem_alloc_shared)(context, &device_desc, ptr::null(), 64, 0, ptr::null_mut(), &mut memory),
            ZE_RESULT_ERROR_INVALID_NULL_POINTER
        );
        assert_eq!((ze.mem_free)(context, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!((ze.mem_free)(ptr::null_mut(), plain.as_ptr() as *mut c_void), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        // Not ours to free: refused, never passed to the allocator.
        assert_eq!((ze.mem_free)(context, plain.as_ptr() as *mut c_void), ZE_RESULT_ERROR_INVALID_ARGUMENT);
        check(alloc_device(&device_desc, 64, 0, device(), &mut memory));
        assert_eq!((ze.mem_free)(context, (memory as *mut u8).add(8).cast()), ZE_RESULT_ERROR_INVALID_ARGUMENT);
        check((ze.mem_free)(context, memory));
        assert_eq!((ze.mem_free)(context, memory), ZE_RESULT_ERROR_INVALID_ARGUMENT, "double free refused");
        assert_eq!(
            (ze.mem_get_alloc_properties)(context, ptr::null(), &mut properties, ptr::null_mut()),
            ZE_RESULT_ERROR_INVALID_NULL_POINTER
        );
        assert_eq!(
            (ze.mem_get_alloc_properties)(context, plain.as_ptr().cast(), ptr::null_mut(), ptr::null_mut()),
            ZE_RESULT_ERROR_INVALID_NULL_POINTER
        );
        check((ze.context_destroy)(context));
    }
}

#[test]
fn command_list_creation_arguments() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let good = queue_desc(ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS);
    let mut list = ptr::null_mut();
    let create = |desc: &ze_command_queue_desc_t, list: *mut ze_command_list_handle_t| {
        // SAFETY: valid descriptor; `list` is valid or the NULL under test.
        unsafe { (ze.list_create_immediate)(context, device(), desc, list) }
    };
    // SAFETY: each call passes valid pointers or the defect under test.
    unsafe {
        assert_eq!((ze.list_create_immediate)(ptr::null_mut(), device(), &good, &mut list), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.list_create_immediate)(context, ptr::null_mut(), &good, &mut list), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.list_create_immediate)(context, device(), ptr::null(), &mut list), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
    }
    assert_eq!(create(&good, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
    // Queue groups of a Max 1550 composite root: ordinal 1 has one queue,
    // ordinal 2 seven, nothing beyond.
    assert_eq!(create(&ze_command_queue_desc_t { ordinal: 3, index: 0, ..good }, &mut list), ZE_RESULT_ERROR_INVALID_ARGUMENT);
    assert_eq!(create(&ze_command_queue_desc_t { ordinal: 1, index: 1, ..good }, &mut list), ZE_RESULT_ERROR_INVALID_ARGUMENT);
    assert_eq!(create(&ze_command_queue_desc_t { ordinal: 2, index: 7, ..good }, &mut list), ZE_RESULT_ERROR_INVALID_ARGUMENT);
    check(create(&ze_command_queue_desc_t { ordinal: 2, index: 6, ..good }, &mut list));
    // SAFETY: live list, destroyed once; then the stale handle is refused.
    unsafe {
        check((ze.list_destroy)(list));
        assert_eq!((ze.list_destroy)(list), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.list_destroy)(ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        let source = [1u8; 8];
        let mut destination = [0u8; 8];
        assert_eq!(copy(list, destination.as_mut_ptr(), source.as_ptr(), 8, ptr::null_mut(), &[]), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        check((ze.context_destroy)(context));
    }
}

#[test]
fn append_arguments() {
    let _serial = serial();
    let ze = ze();
    let setup = Setup::new(2);
    let mut buffer = vec![0u8; 256];
    let source = vec![7u8; 256];
    let base = buffer.as_mut_ptr();
    let event = setup.events[0];
    let foreign_event = &mut buffer as *mut Vec<u8> as ze_event_handle_t;
    assert_eq!(copy(ptr::null_mut(), base, source.as_ptr(), 8, event, &[]), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
    assert_eq!(copy(setup.list, ptr::null_mut(), source.as_ptr(), 8, event, &[]), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
    assert_eq!(copy(setup.list, base, ptr::null(), 8, event, &[]), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
    assert_eq!(copy(setup.list, base, source.as_ptr(), 8, foreign_event, &[]), ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT);
    assert_eq!(copy(setup.list, base, source.as_ptr(), 8, event, &[foreign_event]), ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT);
    assert_eq!(copy(setup.list, base, source.as_ptr(), 8, event, &[ptr::null_mut()]), ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT);
    // SAFETY: each call passes valid pointers or the defect under test.
    unsafe {
        assert_eq!(
            (ze.append_copy)(setup.list, base.cast(), source.as_ptr().cast(), 8, event, 1, ptr::null_mut()),
            ZE_RESULT_ERROR_INVALID_SIZE
        );
        // Overlapping source and destination.
        assert_eq!(
            (ze.append_copy)(setup.list, base.add(4).cast(), base.cast(), 8, event, 0, ptr::null_mut()),
            ZE_RESULT_ERROR_OVERLAPPING_REGIONS
        );
        assert_eq!(
            (ze.append_copy)(setup.list, base.cast(), base.add(7).cast(), 8, event, 0, ptr::null_mut()),
            ZE_RESULT_ERROR_OVERLAPPING_REGIONS
        );
        // Adjacent regions do not overlap; a zero-size copy just signals.
        check((ze.append_copy)(setup.list, base.add(8).cast(), base.cast(), 8, ptr::null_mut(), 0, ptr::null_mut()));
        check((ze.append_copy)(setup.list, base.cast(), base.cast(), 0, event, 0, ptr::null_mut()));
        check(synchronize(event, u64::MAX));
        assert_eq!((ze.append_barrier)(ptr::null_mut(), ptr::null_mut(), 0, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.append_barrier)(setup.list, ptr::null_mut(), 2, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_SIZE);
        assert_eq!((ze.append_barrier)(setup.list, foreign_event, 0, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT);
        assert_eq!((ze.append_signal)(ptr::null_mut(), event), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.append_signal)(setup.list, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.append_signal)(setup.list, foreign_event), ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT);
        assert_eq!((ze.append_wait)(ptr::null_mut(), 0, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.append_wait)(setup.list, 1, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        let mut foreign = [foreign_event];
        assert_eq!((ze.append_wait)(setup.list, 1, foreign.as_mut_ptr()), ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT);
        // Nothing refused above reached the engine: the list still works.
        check((ze.append_signal)(setup.list, setup.events[1]));
        check(synchronize(setup.events[1], u64::MAX));
    }
    assert!(buffer[8..16] == buffer[..8]);
}

#[test]
fn event_pool_and_event_arguments() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let good = ze_event_pool_desc_t { stype: ZE_STRUCTURE_TYPE_EVENT_POOL_DESC, count: 2, ..Default::default() };
    let mut pool = ptr::null_mut();
    // SAFETY: each call passes valid pointers or the defect under test.
    unsafe {
        let create = |desc: &ze_event_pool_desc_t, count, devices: *mut ze_device_handle_t, out| {
            (ze.pool_create)(context, desc, count, devices, out)
        };
        assert_eq!((ze.pool_create)(ptr::null_mut(), &good, 0, ptr::null_mut(), &mut pool), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.pool_create)(context, ptr::null(), 0, ptr::null_mut(), &mut pool), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!(create(&good, 0, ptr::null_mut(), ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!(create(&ze_event_pool_desc_t { count: 0, ..good }, 0, ptr::null_mut(), &mut pool), ZE_RESULT_ERROR_INVALID_SIZE);
        assert_eq!(create(&good, 1, ptr::null_mut(), &mut pool), ZE_RESULT_ERROR_INVALID_SIZE);
        let mut bad_devices = [ptr::null_mut()];
        assert_eq!(create(&good, 1, bad_devices.as_mut_ptr(), &mut pool), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        let mut devices = [device()];
        check(create(&good, 1, devices.as_mut_ptr(), &mut pool));

        let mut event = ptr::null_mut();
        let desc = event_desc(0);
        assert_eq!((ze.event_create)(ptr::null_mut(), &desc, &mut event), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.event_create)(pool, ptr::null(), &mut event), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!((ze.event_create)(pool, &desc, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!((ze.event_create)(pool, &event_desc(2), &mut event), ZE_RESULT_ERROR_INVALID_ARGUMENT, "index >= count");
        check((ze.event_create)(pool, &desc, &mut event));
        // A second event on a used index is accepted, as Intel's driver does
        // (strict mode refuses it: spec_rules.rs).
        let mut twin = ptr::null_mut();
        check((ze.event_create)(pool, &desc, &mut twin));
        check((ze.event_destroy)(twin));

        assert_eq!((ze.event_host_signal)(ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.event_host_reset)(ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.event_query_status)(ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.event_host_synchronize)(ptr::null_mut(), 0), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.event_destroy)(ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.pool_destroy)(ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);

        check((ze.event_destroy)(event));
        // Stale event handle: every function refuses it.
        assert_eq!((ze.event_host_signal)(event), ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT);
        assert_eq!((ze.event_host_synchronize)(event, u64::MAX), ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT);
        assert_eq!((ze.event_query_status)(event), ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT);
        assert_eq!((ze.event_host_reset)(event), ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT);
        assert_eq!((ze.event_destroy)(event), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        // The index is free again once its event is destroyed.
        check((ze.event_create)(pool, &desc, &mut event));
        check((ze.event_destroy)(event));
        check((ze.pool_destroy)(pool));
        assert_eq!((ze.pool_destroy)(pool), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.event_create)(pool, &desc, &mut event), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        check((ze.context_destroy)(context));
    }
}

#[test]
fn unsupported_entry_points_say_so() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let desc = ze_module_desc_t { stype: ZE_STRUCTURE_TYPE_MODULE_DESC, ..Default::default() };
    let mut module = ptr::null_mut();
    // SAFETY: valid pointers; kernels and modules are not implemented.
    unsafe {
        let result = (ze.module_create)(context, device(), &desc, &mut module, ptr::null_mut());
        assert_eq!(result, ZE_RESULT_ERROR_UNSUPPORTED_FEATURE);
        check((ze.context_destroy)(context));
    }
}
