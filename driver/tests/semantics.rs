//! Execution semantics through the real loader: asynchrony, in-order
//! execution, barriers, wait lists, timeouts, synchronous mode, teardown with
//! work in flight, and concurrent use from several threads.

mod support;

use std::ptr;
use std::thread;
use std::time::{Duration, Instant};

use support::*;
use ze_sys::*;

fn pattern(size: usize, seed: u8) -> Vec<u8> {
    (0..size).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

#[test]
fn a_capped_copy_is_observed_not_ready_then_ready() {
    let _serial = serial();
    let ze = ze();
    let setup = Setup::new(1);
    let size = 1 << 20;
    let source = pattern(size, 1);
    let mut destination = vec![0u8; size];
    ze.swze.bandwidth(8_000_000); // 1 MiB takes ~130 ms
    let started = Instant::now();
    check(copy(setup.list, destination.as_mut_ptr(), source.as_ptr(), size, setup.events[0], &[]));
    // The append returned before the copy was done.
    assert_eq!(query(setup.events[0]), ZE_RESULT_NOT_READY);
    assert_eq!(synchronize(setup.events[0], 0), ZE_RESULT_NOT_READY);
    check(synchronize(setup.events[0], u64::MAX));
    assert!(started.elapsed() >= Duration::from_millis(100), "cap not applied: {:?}", started.elapsed());
    assert_eq!(query(setup.events[0]), ZE_RESULT_SUCCESS);
    assert!(destination == source, "bytes in place once signalled");
}

#[test]
fn commands_execute_in_append_order() {
    let _serial = serial();
    let ze = ze();
    let setup = Setup::new(2);
    let size = 256 << 10;
    let source = pattern(size, 2);
    let mut middle = vec![0u8; size];
    let mut last = vec![0u8; size];
    ze.swze.bandwidth(10_000_000);
    // The second copy reads what the first writes, with no event between.
    check(copy(setup.list, middle.as_mut_ptr(), source.as_ptr(), size, setup.events[0], &[]));
    check(copy(setup.list, last.as_mut_ptr(), middle.as_ptr(), size, setup.events[1], &[]));
    check(synchronize(setup.events[1], u64::MAX));
    assert_eq!(query(setup.events[0]), ZE_RESULT_SUCCESS, "earlier command done first");
    assert!(last == source);
}

#[test]
fn a_barrier_waits_for_everything_before_it() {
    let _serial = serial();
    let ze = ze();
    let setup = Setup::new(1);
    let size = 2 << 20; // ~200 ms at the cap below
    let source = pattern(size, 3);
    let mut destination = vec![0u8; size];
    ze.swze.bandwidth(10_000_000);
    check(copy(setup.list, destination.as_mut_ptr(), source.as_ptr(), size, ptr::null_mut(), &[]));
    // SAFETY: valid list and event, no wait list.
    check(unsafe { (ze.append_barrier)(setup.list, setup.events[0], 0, ptr::null_mut()) });
    assert_eq!(query(setup.events[0]), ZE_RESULT_NOT_READY);
    check(synchronize(setup.events[0], u64::MAX));
    assert!(destination == source, "barrier signalled before the copy before it finished");
}

#[test]
fn wait_lists_hold_commands_until_signalled() {
    let _serial = serial();
    let ze = ze();
    let setup = Setup::new(4);
    let [gate, copied, second_gate, waited] = [setup.events[0], setup.events[1], setup.events[2], setup.events[3]];
    let source = pattern(4096, 4);
    let mut destination = vec![0u8; 4096];
    check(copy(setup.list, destination.as_mut_ptr(), source.as_ptr(), 4096, copied, &[gate]));
    thread::sleep(Duration::from_millis(50));
    assert_eq!(query(copied), ZE_RESULT_NOT_READY, "copy ran before its wait event");
    // SAFETY: `destination` is alive; the engine is blocked, so no write races this read.
    assert!(destination.iter().all(|&byte| byte == 0));
    // SAFETY: a live event.
    check(unsafe { (ze.event_host_signal)(gate) });
    check(synchronize(copied, u64::MAX));
    assert!(destination == source);

    // zeCommandListAppendWaitOnEvents blocks what follows it the same way.
    let mut gates = [second_gate];
    // SAFETY: one valid handle in the array.
    check(unsafe { (ze.append_wait)(setup.list, 1, gates.as_mut_ptr()) });
    // SAFETY: valid list and event.
    check(unsafe { (ze.append_signal)(setup.list, waited) });
    thread::sleep(Duration::from_millis(20));
    assert_eq!(query(waited), ZE_RESULT_NOT_READY);
    // SAFETY: a live event.
    check(unsafe { (ze.event_host_signal)(second_gate) });
    check(synchronize(waited, u64::MAX));
}

#[test]
fn host_synchronize_timeouts() {
    let _serial = serial();
    let ze = ze();
    let setup = Setup::new(1);
    let event = setup.events[0];
    let started = Instant::now();
    assert_eq!(synchronize(event, 0), ZE_RESULT_NOT_READY);
    assert!(started.elapsed() < Duration::from_millis(100), "timeout 0 polls");
    let started = Instant::now();
    assert_eq!(synchronize(event, 30_000_000), ZE_RESULT_NOT_READY);
    assert!(started.elapsed() >= Duration::from_millis(30), "returned before the timeout");
    assert!(started.elapsed() < Duration::from_secs(2));
    // SAFETY: a live event.
    check(unsafe { (ze.event_host_signal)(event) });
    check(synchronize(event, 0));
    check(synchronize(event, 1));
    // SAFETY: a live event.
    check(unsafe { (ze.event_host_reset)(event) });
    assert_eq!(query(event), ZE_RESULT_NOT_READY, "reset events are unsignalled");
}

/// utime + stime of this process, in clock ticks, from /proc.
fn process_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); after the name, state is index 0 (field 3).
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn an_infinite_wait_sleeps_instead_of_spinning() {
    let _serial = serial();
    let ze = ze();
    let setup = Setup::new(1);
    let event = setup.events[0] as usize;
    let waiter = thread::spawn(move || synchronize(event as ze_event_handle_t, u64::MAX));
    thread::sleep(Duration::from_millis(20));
    let before = process_cpu_ticks();
    thread::sleep(Duration::from_millis(400));
    let spent = process_cpu_ticks() - before;
    // SAFETY: a live event.
    check(unsafe { (ze.event_host_signal)(event as ze_event_handle_t) });
    check(waiter.join().unwrap());
    // A spinning waiter would burn ~40 ticks (100 Hz) in 400 ms.
    assert!(spent < 10, "waiting burnt {spent} ticks of CPU");
}

#[test]
fn event_reset_can_be_appended() {
    let _serial = serial();
    let ze = ze();
    let setup = Setup::new(2);
    // SAFETY: live events and list.
    unsafe {
        check((ze.event_host_signal)(setup.events[0]));
        check((ze.append_event_reset)(setup.list, setup.events[0]));
        check((ze.append_signal)(setup.list, setup.events[1]));
    }
    check(synchronize(setup.events[1], u64::MAX));
    assert_eq!(query(setup.events[0]), ZE_RESULT_NOT_READY);
}

#[test]
fn synchronous_lists_finish_before_append_returns() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let list = list_with_mode(context, ZE_COMMAND_QUEUE_MODE_SYNCHRONOUS);
    let pool = pool(context, 1);
    let event = event(pool, 0);
    let source = pattern(200_000, 5);
    let mut destination = vec![0u8; source.len()];
    ze.swze.bandwidth(10_000_000);
    let started = Instant::now();
    check(copy(list, destination.as_mut_ptr(), source.as_ptr(), source.len(), event, &[]));
    assert!(started.elapsed() >= Duration::from_millis(15), "capped copy ran at append time");
    assert_eq!(query(event), ZE_RESULT_SUCCESS);
    assert!(destination == source);
    // SAFETY: handles created above, destroyed once, children first.
    unsafe {
        check((ze.list_destroy)(list));
        check((ze.event_destroy)(event));
        check((ze.pool_destroy)(pool));
        check((ze.context_destroy)(context));
    }
}

#[test]
fn teardown_with_work_in_flight_is_safe() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let list = list(context);
    let pool = pool(context, 1);
    let event = event(pool, 0);
    let source = pattern(1_600_000, 6);
    let mut destination = vec![0u8; source.len()];
    ze.swze.bandwidth(8_000_000); // ~200 ms
    check(copy(list, destination.as_mut_ptr(), source.as_ptr(), source.len(), event, &[]));
    // SAFETY: live handles; each call below is one the spec allows to fail.
    unsafe {
        assert_eq!((ze.event_destroy)(event), ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE, "a pending command signals it");
        assert_eq!((ze.pool_destroy)(pool), ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE, "it still has an event");
        // Destroying the list lets the copy finish first.
        check((ze.list_destroy)(list));
    }
    assert_eq!(query(event), ZE_RESULT_SUCCESS);
    assert!(destination == source);
    // SAFETY: the remaining handles, destroyed once, children first.
    unsafe {
        check((ze.event_destroy)(event));
        check((ze.pool_destroy)(pool));
        check((ze.context_destroy)(context));
    }
}

#[test]
fn freeing_memory_waits_for_copies_into_it() {
    let _serial = serial();
    let ze = ze();
    let setup = Setup::new(1);
    let size = 400_000;
    let source = pattern(size, 7);
    let device_buffer = device_memory(setup.context, size);
    ze.swze.bandwidth(8_000_000);
    check(copy(setup.list, device_buffer, source.as_ptr(), size, setup.events[0], &[]));
    // SAFETY: the allocation is ours; the driver must not free it under the copy.
    check(unsafe { (ze.mem_free)(setup.context, device_buffer.cast()) });
    assert_eq!(query(setup.events[0]), ZE_RESULT_SUCCESS, "free returned before the copy into it finished");
}

#[test]
fn several_threads_copy_concurrently() {
    let _serial = serial();
    let threads: Vec<_> = (0..4u8)
        .map(|seed| {
            thread::spawn(move || {
                let setup = Setup::new(2);
                let size = 64 << 10;
                let source = pattern(size, seed);
                let device_buffer = device_memory(setup.context, size);
                let mut back = vec![0u8; size];
                for round in 0..100 {
                    back.fill(0);
                    check(copy(setup.list, device_buffer, source.as_ptr(), size, setup.events[0], &[]));
                    check(copy(setup.list, back.as_mut_ptr(), device_buffer, size, setup.events[1], &[setup.events[0]]));
                    check(synchronize(setup.events[1], u64::MAX));
                    assert!(back == source, "thread {seed} round {round}");
                    // SAFETY: live events, no command pending on them any more.
                    unsafe {
                        check((ze().event_host_reset)(setup.events[0]));
                        check((ze().event_host_reset)(setup.events[1]));
                    }
                }
                // SAFETY: our allocation, nothing in flight.
                check(unsafe { (ze().mem_free)(setup.context, device_buffer.cast()) });
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn many_host_threads_wait_on_one_event() {
    let _serial = serial();
    let ze = ze();
    let setup = Setup::new(1);
    let event = setup.events[0] as usize;
    let waiters: Vec<_> =
        (0..6).map(|_| thread::spawn(move || synchronize(event as ze_event_handle_t, u64::MAX))).collect();
    thread::sleep(Duration::from_millis(30));
    // SAFETY: a live list and event.
    check(unsafe { (ze.append_signal)(setup.list, event as ze_event_handle_t) });
    for waiter in waiters {
        check(waiter.join().unwrap());
    }
}

#[test]
fn devices_subdevices_and_queue_groups() {
    let _serial = serial();
    let ze = ze();
    let devices = devices();
    assert_eq!(devices.len(), DEVICES as usize);
    for &device in &devices {
        let mut properties =
            ze_device_properties_t { stype: ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES, ..Default::default() };
        let mut groups = [ze_command_queue_group_properties_t {
            stype: ZE_STRUCTURE_TYPE_COMMAND_QUEUE_GROUP_PROPERTIES,
            ..Default::default()
        }; 4];
        let mut group_count = 4;
        let mut sub_count = 0;
        // SAFETY: valid out-pointers sized as passed.
        unsafe {
            check((ze.device_get_properties)(device, &mut properties));
            check((ze.device_get_queue_groups)(device, &mut group_count, groups.as_mut_ptr()));
            check((ze.device_get_sub_devices)(device, &mut sub_count, ptr::null_mut()));
        }
        assert_eq!(properties.flags & ZE_DEVICE_PROPERTY_FLAG_SUBDEVICE, 0);
        assert_eq!(properties.type_, ZE_DEVICE_TYPE_GPU);
        // A Max 1550 card as a COMPOSITE root: compute, the main copy
        // engine, the link copy engines.
        assert_eq!(group_count, 3);
        assert_ne!(groups[0].flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE, 0);
        assert_eq!(groups[1].flags, ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY);
        assert_eq!(groups[1].numQueues, 1);
        assert_eq!(groups[2].flags, ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY);
        assert_eq!(groups[2].numQueues, 7);
        assert_eq!(sub_count, SUBDEVICES);
        let mut subs = vec![ptr::null_mut(); sub_count as usize];
        // SAFETY: the array holds `sub_count` entries.
        check(unsafe { (ze.device_get_sub_devices)(device, &mut sub_count, subs.as_mut_ptr()) });
        for sub in subs {
            let mut sub_properties =
                ze_device_properties_t { stype: ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES, ..Default::default() };
            // SAFETY: valid out-pointer.
            check(unsafe { (ze.device_get_properties)(sub, &mut sub_properties) });
            assert_ne!(sub_properties.flags & ZE_DEVICE_PROPERTY_FLAG_SUBDEVICE, 0);
            assert_ne!(sub_properties.uuid.id, properties.uuid.id);
        }
    }
}

#[test]
fn allocations_are_aligned_and_typed() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let device_desc = ze_device_mem_alloc_desc_t { stype: ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC, ..Default::default() };
    let host_desc = ze_host_mem_alloc_desc_t { stype: ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC, ..Default::default() };
    let (mut on_device, mut on_host, mut shared) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
    // SAFETY: valid descriptors and out-pointers.
    unsafe {
        check((ze.mem_alloc_device)(context, &device_desc, 1000, 4096, device(), &mut on_device));
        check((ze.mem_alloc_host)(context, &host_desc, 1000, 1 << 16, &mut on_host));
        check((ze.mem_alloc_shared)(context, &device_desc, &host_desc, 1000, 0, ptr::null_mut(), &mut shared));
    }
    assert_eq!(on_device as usize % 4096, 0);
    assert_eq!(on_host as usize % (1 << 16), 0);
    let plain = [0u8; 16];
    for (pointer, expected) in [
        (on_device as *const u8, ZE_MEMORY_TYPE_DEVICE),
        // SAFETY: within the 1000-byte allocation.
        (unsafe { (on_host as *const u8).add(999) }, ZE_MEMORY_TYPE_HOST),
        (shared as *const u8, ZE_MEMORY_TYPE_SHARED),
        // SAFETY: one past the end is not part of the allocation.
        (unsafe { (on_host as *const u8).add(1000) }, ZE_MEMORY_TYPE_UNKNOWN),
        (plain.as_ptr(), ZE_MEMORY_TYPE_UNKNOWN),
    ] {
        let mut properties = ze_memory_allocation_properties_t {
            stype: ZE_STRUCTURE_TYPE_MEMORY_ALLOCATION_PROPERTIES,
            ..Default::default()
        };
        let mut owner = ptr::null_mut();
        // SAFETY: valid out-pointers.
        check(unsafe { (ze.mem_get_alloc_properties)(context, pointer.cast(), &mut properties, &mut owner) });
        assert_eq!(properties.type_, expected);
        if expected == ZE_MEMORY_TYPE_DEVICE {
            assert_eq!(owner, device());
        }
    }
    // SAFETY: our allocations, freed once.
    unsafe {
        check((ze.mem_free)(context, on_device));
        check((ze.mem_free)(context, on_host));
        check((ze.mem_free)(context, shared));
        check((ze.context_destroy)(context));
    }
}

/// Intel's driver answers `zeMemGetAllocProperties` and
/// `zeMemGetAddressRange` from one table of the whole driver, whatever
/// context is named (so a library with a context of its own, as AML's dma
/// has, sees the program's device memory as device memory).
#[test]
fn allocation_queries_see_the_allocations_of_every_context() {
    let _serial = serial();
    let ze = ze();
    let (owner_context, asking_context) = (context(), context());
    let on_device = device_memory(owner_context, 1000);
    let mut properties =
        ze_memory_allocation_properties_t { stype: ZE_STRUCTURE_TYPE_MEMORY_ALLOCATION_PROPERTIES, ..Default::default() };
    let mut owner = ptr::null_mut();
    let (mut base, mut size) = (ptr::null_mut(), 0usize);
    // SAFETY: live contexts, valid out-pointers; our allocation, freed once.
    unsafe {
        check((ze.mem_get_alloc_properties)(asking_context, on_device.add(10).cast(), &mut properties, &mut owner));
        check((ze.mem_get_address_range)(asking_context, on_device.add(10).cast(), &mut base, &mut size));
        check((ze.mem_free)(owner_context, on_device.cast()));
        check((ze.context_destroy)(owner_context));
        check((ze.context_destroy)(asking_context));
    }
    assert_eq!(properties.type_, ZE_MEMORY_TYPE_DEVICE);
    assert_eq!(owner, device());
    assert_eq!((base as usize, size), (on_device as usize, 1000));
}

/// `zeCommandListAppendMemoryRangesBarrier`, which Intel's driver offers on
/// every engine: a barrier (the ranges only narrow what it must cover) that
/// honours its wait list and signals its event after what came before.
#[test]
fn a_memory_ranges_barrier_waits_then_signals() {
    let _serial = serial();
    let ze = ze();
    let setup = Setup::new(3);
    let [gate, copied, fenced] = [setup.events[0], setup.events[1], setup.events[2]];
    let source = pattern(4096, 9);
    let mut destination = vec![0u8; 4096];
    check(copy(setup.list, destination.as_mut_ptr(), source.as_ptr(), 4096, copied, &[]));
    let sizes = [4096usize];
    let mut ranges = [destination.as_ptr().cast::<std::ffi::c_void>()];
    let mut waits = [gate];
    // SAFETY: one range of 4096 bytes, one wait handle, live list and events.
    check(unsafe {
        (ze.append_ranges_barrier)(setup.list, 1, sizes.as_ptr(), ranges.as_mut_ptr(), fenced, 1, waits.as_mut_ptr())
    });
    thread::sleep(Duration::from_millis(20));
    assert_eq!(query(fenced), ZE_RESULT_NOT_READY, "the barrier ran before its wait event");
    // SAFETY: a live event.
    check(unsafe { (ze.event_host_signal)(gate) });
    check(synchronize(fenced, u64::MAX));
    assert_eq!(query(copied), ZE_RESULT_SUCCESS, "what came before the barrier ran first");
    assert!(destination == source);
    // No ranges at all is a barrier too.
    // SAFETY: zero ranges (the arrays are not read), no events.
    check(unsafe { (ze.append_ranges_barrier)(setup.list, 0, sizes.as_ptr(), ranges.as_mut_ptr(), ptr::null_mut(), 0, ptr::null_mut()) });
}
