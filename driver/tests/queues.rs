//! Regular command lists, command queues, fences and fills through the real
//! loader: record once and execute many times, order across the lists of one
//! execution, fences signalled only after the work, queue synchronisation
//! with timeouts, fills of every pattern size, the small device and driver
//! queries, Intel-like context teardown, every argument error and fault
//! injection on the new calls.

mod support;

use std::ffi::c_void;
use std::ptr;
use std::time::{Duration, Instant};

use support::*;
use ze_sys::*;

fn pattern(size: usize, seed: u8) -> Vec<u8> {
    (0..size).map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed)).collect()
}

fn host_memory(context: ze_context_handle_t, size: usize) -> *mut u8 {
    let desc = ze_host_mem_alloc_desc_t { stype: ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC, ..Default::default() };
    let mut memory: *mut c_void = ptr::null_mut();
    // SAFETY: valid descriptor and out-pointer.
    check(unsafe { (ze().mem_alloc_host)(context, &desc, size, 64, &mut memory) });
    memory.cast()
}

fn bytes<'a>(memory: *const u8, size: usize) -> &'a [u8] {
    // SAFETY: the tests read allocations of at least `size` bytes once the
    // work writing them has been observed complete.
    unsafe { std::slice::from_raw_parts(memory, size) }
}

fn free(context: ze_context_handle_t, memory: *mut u8) {
    // SAFETY: an allocation of this context, freed once.
    check(unsafe { (ze().mem_free)(context, memory.cast()) });
}

fn destroy_all(context: ze_context_handle_t, lists: &[ze_command_list_handle_t], queue: ze_command_queue_handle_t) {
    let ze = ze();
    // SAFETY: live handles, each destroyed once, children first.
    unsafe {
        for &list in lists {
            check((ze.list_destroy)(list));
        }
        check((ze.queue_destroy)(queue));
        check((ze.context_destroy)(context));
    }
}

fn expected_fill(pattern: &[u8], size: usize) -> Vec<u8> {
    (0..size).map(|i| pattern[i % pattern.len()]).collect()
}

#[test]
fn a_recorded_list_replays_many_times_with_a_fence() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let size = 64 << 10;
    let source = host_memory(context, size);
    let middle = device_memory(context, size);
    let destination = host_memory(context, size);
    let filled = host_memory(context, size);
    let list = regular_list(context, 0);
    check(copy(list, middle, source, size, ptr::null_mut(), &[]));
    check(barrier(list));
    check(copy(list, destination, middle, size, ptr::null_mut(), &[]));
    check(fill(list, filled, &[1, 2, 3, 4, 5, 6, 7, 8], size - 3, ptr::null_mut()));
    check(close(list));
    let queue = command_queue(context, 0, ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS);
    let fence = fence(queue, 0);
    for round in 0..100u8 {
        let input = pattern(size, round);
        // SAFETY: host memory of `size` bytes no command uses right now.
        unsafe { ptr::copy_nonoverlapping(input.as_ptr(), source, size) };
        // SAFETY: as above.
        unsafe { ptr::write_bytes(filled, 0, size) };
        check(execute(queue, &[list], fence));
        // SAFETY: a live fence.
        check(unsafe { (ze.fence_host_synchronize)(fence, u64::MAX) });
        assert!(bytes(destination, size) == input.as_slice(), "round {round}: copies");
        assert!(bytes(filled, size - 3) == expected_fill(&[1, 2, 3, 4, 5, 6, 7, 8], size - 3).as_slice());
        assert_eq!(bytes(filled, size)[size - 3..], [0, 0, 0], "round {round}: the fill stays in its range");
        // SAFETY: a live fence, no longer referenced by the queue.
        check(unsafe { (ze.fence_reset)(fence) });
        // SAFETY: as above.
        assert_eq!(unsafe { (ze.fence_query_status)(fence) }, ZE_RESULT_NOT_READY);
    }
    // SAFETY: live handles, destroyed once.
    unsafe { check((ze.fence_destroy)(fence)) };
    for memory in [source, middle, destination, filled] {
        free(context, memory);
    }
    destroy_all(context, &[list], queue);
}

#[test]
fn lists_of_one_execution_run_in_the_order_given() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let size = 1 << 20;
    let source = pattern(size, 9);
    let mut middle = vec![0u8; size];
    let mut last = vec![0u8; size];
    let first_list = regular_list(context, 1);
    let second_list = regular_list(context, 1);
    check(copy(first_list, middle.as_mut_ptr(), source.as_ptr(), size, ptr::null_mut(), &[]));
    check(copy(second_list, last.as_mut_ptr(), middle.as_ptr(), size, ptr::null_mut(), &[]));
    check(close(first_list));
    check(close(second_list));
    let queue = command_queue(context, 1, ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS);
    ze.swze.bandwidth(20_000_000); // the first copy takes ~50 ms
    check(execute(queue, &[first_list, second_list], ptr::null_mut()));
    // SAFETY: a live queue.
    check(unsafe { (ze.queue_synchronize)(queue, u64::MAX) });
    assert!(last == source, "the second list read what the first wrote");
    ze.swze.bandwidth(0);
    destroy_all(context, &[first_list, second_list], queue);
}

#[test]
fn a_fence_is_signalled_only_after_the_work() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let size = 1 << 20;
    let source = pattern(size, 10);
    let mut destination = vec![0u8; size];
    let list = regular_list(context, 1);
    check(copy(list, destination.as_mut_ptr(), source.as_ptr(), size, ptr::null_mut(), &[]));
    check(close(list));
    let queue = command_queue(context, 1, ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS);
    let fence = fence(queue, 0);
    // SAFETY: live handles throughout.
    unsafe {
        // Never submitted: not ready at once, whatever the timeout (Intel's driver).
        let started = Instant::now();
        assert_eq!((ze.fence_host_synchronize)(fence, 5_000_000_000), ZE_RESULT_NOT_READY);
        assert!(started.elapsed() < Duration::from_secs(1));
        ze.swze.bandwidth(8_000_000); // ~130 ms
        check(execute(queue, &[list], fence));
        assert_eq!((ze.fence_query_status)(fence), ZE_RESULT_NOT_READY);
        assert_eq!((ze.fence_host_synchronize)(fence, 0), ZE_RESULT_NOT_READY);
        assert_eq!((ze.fence_host_synchronize)(fence, 10_000_000), ZE_RESULT_NOT_READY);
        check((ze.fence_host_synchronize)(fence, u64::MAX));
        assert!(destination == source, "bytes in place once the fence is signalled");
        check((ze.fence_query_status)(fence));
        // Re-submitted without a reset: not ready until the new work ran.
        destination.fill(0);
        check(execute(queue, &[list], fence));
        assert_eq!((ze.fence_query_status)(fence), ZE_RESULT_NOT_READY);
        check((ze.fence_host_synchronize)(fence, u64::MAX));
        assert!(destination == source);
        ze.swze.bandwidth(0);
        check((ze.fence_reset)(fence));
        assert_eq!((ze.fence_query_status)(fence), ZE_RESULT_NOT_READY);
        // Created signalled: signalled until reset.
        let signalled = support::fence(queue, ZE_FENCE_FLAG_SIGNALED);
        check((ze.fence_query_status)(signalled));
        check((ze.fence_host_synchronize)(signalled, 0));
        check((ze.fence_reset)(signalled));
        assert_eq!((ze.fence_host_synchronize)(signalled, 0), ZE_RESULT_NOT_READY);
        check((ze.fence_destroy)(signalled));
        check((ze.fence_destroy)(fence));
    }
    destroy_all(context, &[list], queue);
}

#[test]
fn queue_synchronize_honours_timeouts() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let size = 2 << 20;
    let source = pattern(size, 11);
    let mut destination = vec![0u8; size];
    let list = regular_list(context, 1);
    check(copy(list, destination.as_mut_ptr(), source.as_ptr(), size, ptr::null_mut(), &[]));
    check(close(list));
    let queue = command_queue(context, 1, ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS);
    // SAFETY: live handles throughout.
    unsafe {
        check((ze.queue_synchronize)(queue, 0)); // nothing submitted: idle
        ze.swze.bandwidth(10_000_000); // ~200 ms
        check(execute(queue, &[list], ptr::null_mut()));
        assert_eq!((ze.queue_synchronize)(queue, 0), ZE_RESULT_NOT_READY);
        let started = Instant::now();
        assert_eq!((ze.queue_synchronize)(queue, 20_000_000), ZE_RESULT_NOT_READY);
        assert!(started.elapsed() >= Duration::from_millis(20), "waited {:?}", started.elapsed());
        check((ze.queue_synchronize)(queue, u64::MAX));
        assert!(destination == source);
        check((ze.queue_synchronize)(queue, 0));
    }
    ze.swze.bandwidth(0);
    destroy_all(context, &[list], queue);
}

#[test]
fn a_synchronous_queue_returns_after_the_work() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let size = 1 << 20;
    let source = pattern(size, 12);
    let mut destination = vec![0u8; size];
    let list = regular_list(context, 1);
    check(copy(list, destination.as_mut_ptr(), source.as_ptr(), size, ptr::null_mut(), &[]));
    check(close(list));
    let queue = command_queue(context, 1, ZE_COMMAND_QUEUE_MODE_SYNCHRONOUS);
    let fence = fence(queue, 0);
    ze.swze.bandwidth(20_000_000);
    check(execute(queue, &[list], fence));
    assert!(destination == source, "done when ExecuteCommandLists returned");
    // SAFETY: live handles.
    unsafe {
        check((ze.fence_query_status)(fence));
        check((ze.fence_destroy)(fence));
    }
    ze.swze.bandwidth(0);
    destroy_all(context, &[list], queue);
}

#[test]
fn fills_of_every_pattern_size_on_both_list_kinds() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let pool = pool(context, 1);
    let done = event(pool, 0);
    let immediate = list(context);
    let compute_immediate = {
        let desc = ze_command_queue_desc_t { ordinal: 0, ..queue_desc(ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS) };
        let mut list = ptr::null_mut();
        // SAFETY: valid descriptor and out-pointer.
        check(unsafe { (ze.list_create_immediate)(context, device(), &desc, &mut list) });
        list
    };
    let queue = command_queue(context, 0, ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS);
    let capacity = (1 << 20) + 64;
    let memory = host_memory(context, capacity);
    // The groups' limits, as reported: on the Max 1550 a copy engine fills
    // with one byte patterns, the compute engines with any.
    let mut count = 2;
    let mut groups = [ze_command_queue_group_properties_t::default(); 2];
    // SAFETY: two entries.
    check(unsafe { (ze.device_get_queue_groups)(device(), &mut count, groups.as_mut_ptr()) });
    assert_eq!(groups[0].maxMemoryFillPatternSize, usize::MAX);
    assert_eq!(groups[1].maxMemoryFillPatternSize, 1);
    let copy_limit = groups[1].maxMemoryFillPatternSize;
    for pattern_size in [1usize, 2, 3, 4, 5, 8, 16, 32, 64, 128, 256, 4096] {
        let fill_pattern = pattern(pattern_size, pattern_size as u8);
        for (offset, size) in [(0, pattern_size * 10 + 5), (1, pattern_size * 7), (3, 1 << 20), (0, 1), (0, 0)] {
            let target = memory.wrapping_add(offset);
            let expected = expected_fill(&fill_pattern, size);
            // Immediate: copy-only engines take patterns up to their
            // limit, the compute engine any.
            let on = if pattern_size <= copy_limit { immediate } else { compute_immediate };
            // SAFETY: host memory no command uses right now.
            unsafe { ptr::write_bytes(memory, 0xee, capacity) };
            check(fill(on, target, &fill_pattern, size, done));
            check(synchronize(done, u64::MAX));
            // SAFETY: the event, observed signalled.
            check(unsafe { (ze.event_host_reset)(done) });
            assert!(bytes(target, size) == expected.as_slice(), "immediate, pattern {pattern_size}, size {size}");
            assert_eq!(bytes(memory, capacity)[offset + size], 0xee, "nothing written past the range");
            // Regular, replayed twice.
            let list = regular_list(context, 0);
            check(fill(list, target, &fill_pattern, size, ptr::null_mut()));
            check(close(list));
            for _ in 0..2 {
                // SAFETY: as above.
                unsafe { ptr::write_bytes(memory, 0xee, capacity) };
                check(execute(queue, &[list], ptr::null_mut()));
                // SAFETY: a live queue.
                check(unsafe { (ze.queue_synchronize)(queue, u64::MAX) });
                assert!(bytes(target, size) == expected.as_slice(), "regular, pattern {pattern_size}, size {size}");
                if offset > 0 {
                    assert_eq!(bytes(memory, offset), vec![0xee; offset].as_slice());
                }
            }
            // SAFETY: a live list.
            check(unsafe { (ze.list_destroy)(list) });
        }
    }
    // Past the copy-only group's limit: refused.
    assert_eq!(fill(immediate, memory, &[0; 2], 64, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_SIZE);
    free(context, memory);
    // SAFETY: live handles, destroyed once.
    unsafe {
        check((ze.list_destroy)(immediate));
        check((ze.list_destroy)(compute_immediate));
        check((ze.event_destroy)(done));
        check((ze.pool_destroy)(pool));
    }
    destroy_all(context, &[], queue);
}

#[test]
fn recorded_events_wait_signal_and_reset_at_each_replay() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let pool = pool(context, 3);
    let [gate, copied, reset_target] = [event(pool, 0), event(pool, 1), event(pool, 2)];
    let source = pattern(4096, 13);
    let mut destination = vec![0u8; 4096];
    let list = regular_list(context, 1);
    check(copy(list, destination.as_mut_ptr(), source.as_ptr(), 4096, copied, &[gate]));
    // SAFETY: live handles throughout.
    unsafe {
        check((ze.append_event_reset)(list, reset_target));
        check(close(list));
        let queue = command_queue(context, 1, ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS);
        for _ in 0..3 {
            destination.fill(0);
            check((ze.event_host_signal)(reset_target));
            check(execute(queue, &[list], ptr::null_mut()));
            assert_eq!(synchronize(copied, 20_000_000), ZE_RESULT_NOT_READY, "held by the gate");
            assert_eq!((ze.event_destroy)(gate), ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE, "a submitted command waits on it");
            check((ze.event_host_signal)(gate));
            check(synchronize(copied, u64::MAX));
            assert!(destination == source);
            check((ze.queue_synchronize)(queue, u64::MAX));
            assert_eq!(query(reset_target), ZE_RESULT_NOT_READY, "the recorded reset ran");
            check((ze.event_host_reset)(gate));
            check((ze.event_host_reset)(copied));
        }
        check((ze.list_destroy)(list));
        for event in [gate, copied, reset_target] {
            check((ze.event_destroy)(event));
        }
        check((ze.pool_destroy)(pool));
        check((ze.queue_destroy)(queue));
    }
    // SAFETY: a live context.
    check(unsafe { (ze.context_destroy)(context) });
}

#[test]
fn reset_empties_a_recording() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let source = pattern(256, 14);
    let mut destination = vec![0u8; 256];
    let list = regular_list(context, 1);
    check(copy(list, destination.as_mut_ptr(), source.as_ptr(), 256, ptr::null_mut(), &[]));
    check(close(list));
    let queue = command_queue(context, 1, ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS);
    // SAFETY: live handles.
    unsafe {
        check((ze.list_reset)(list));
        assert_eq!(execute(queue, &[list], ptr::null_mut()), ZE_RESULT_ERROR_INVALID_ARGUMENT, "open again");
        check(close(list));
        check(execute(queue, &[list], ptr::null_mut()));
        check((ze.queue_synchronize)(queue, u64::MAX));
    }
    assert!(destination.iter().all(|&byte| byte == 0), "the reset dropped the copy");
    destroy_all(context, &[list], queue);
}

#[test]
fn prefetch_and_advice_are_accepted_no_ops_on_known_allocations() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let memory = device_memory(context, 4096);
    let mut plain = vec![0u8; 64];
    let list = regular_list(context, 0);
    // SAFETY: live handles; the pointers are only looked up.
    unsafe {
        check((ze.append_prefetch)(list, memory.cast(), 4096));
        check((ze.append_mem_advise)(list, device(), memory.cast(), 4096, ZE_MEMORY_ADVICE_SET_READ_MOSTLY));
        assert_eq!((ze.append_prefetch)(list, plain.as_mut_ptr().cast(), 64), ZE_RESULT_ERROR_INVALID_ARGUMENT);
        let advice = ZE_MEMORY_ADVICE_BIAS_CACHED;
        assert_eq!((ze.append_mem_advise)(list, device(), plain.as_mut_ptr().cast(), 64, advice), ZE_RESULT_ERROR_INVALID_ARGUMENT);
        assert_eq!((ze.append_prefetch)(list, ptr::null(), 64), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!((ze.append_mem_advise)(list, ptr::null_mut(), memory.cast(), 64, advice), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        check(close(list));
    }
    let queue = command_queue(context, 0, ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS);
    check(execute(queue, &[list], ptr::null_mut()));
    free(context, memory);
    destroy_all(context, &[list], queue);
}

#[test]
fn every_argument_error_of_lists_queues_fences_and_fills() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let other_context = support::context();
    let list_desc = ze_command_list_desc_t { stype: ZE_STRUCTURE_TYPE_COMMAND_LIST_DESC, ..Default::default() };
    let queue_desc = ze_command_queue_desc_t { ordinal: 0, ..queue_desc(ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS) };
    let fence_desc = ze_fence_desc_t { stype: ZE_STRUCTURE_TYPE_FENCE_DESC, ..Default::default() };
    let mut out_list = ptr::null_mut();
    let mut out_queue = ptr::null_mut();
    let mut out_fence = ptr::null_mut();
    let mut memory = vec![0u8; 64];
    let compute = regular_list(context, 0);
    let copy_only = regular_list(context, 1);
    let open = regular_list(context, 0);
    let immediate = {
        let mut list = ptr::null_mut();
        // SAFETY: valid descriptor and out-pointer.
        check(unsafe { (ze.list_create_immediate)(context, device(), &queue_desc, &mut list) });
        list
    };
    check(close(compute));
    check(close(copy_only));
    let queue = command_queue(context, 0, ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS);
    let other_queue = command_queue(context, 0, ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS);
    let other_fence = fence(other_queue, 0);
    let bogus = 0x1000 as *mut c_void;
    // SAFETY: every pointer is valid or NULL/bogus on purpose: the driver
    // must refuse before dereferencing any handle.
    unsafe {
        // zeCommandListCreate
        assert_eq!((ze.list_create)(ptr::null_mut(), device(), &list_desc, &mut out_list), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.list_create)(context, ptr::null_mut(), &list_desc, &mut out_list), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.list_create)(context, device(), ptr::null(), &mut out_list), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!((ze.list_create)(context, device(), &list_desc, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        let beyond = ze_command_list_desc_t { commandQueueGroupOrdinal: 3, ..list_desc };
        assert_eq!((ze.list_create)(context, device(), &beyond, &mut out_list), ZE_RESULT_ERROR_INVALID_ARGUMENT);
        // Close, reset
        assert_eq!((ze.list_close)(ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.list_reset)(bogus.cast()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        // zeCommandQueueCreate
        assert_eq!((ze.queue_create)(ptr::null_mut(), device(), &queue_desc, &mut out_queue), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.queue_create)(context, bogus.cast(), &queue_desc, &mut out_queue), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.queue_create)(context, device(), ptr::null(), &mut out_queue), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!((ze.queue_create)(context, device(), &queue_desc, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        let beyond = ze_command_queue_desc_t { ordinal: 3, ..queue_desc };
        assert_eq!((ze.queue_create)(context, device(), &beyond, &mut out_queue), ZE_RESULT_ERROR_INVALID_ARGUMENT);
        let beyond = ze_command_queue_desc_t { index: 1, ..queue_desc };
        assert_eq!((ze.queue_create)(context, device(), &beyond, &mut out_queue), ZE_RESULT_ERROR_INVALID_ARGUMENT);
        // zeCommandQueueExecuteCommandLists
        let mut lists = [compute];
        assert_eq!((ze.queue_execute)(ptr::null_mut(), 1, lists.as_mut_ptr(), ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.queue_execute)(queue, 0, lists.as_mut_ptr(), ptr::null_mut()), ZE_RESULT_ERROR_INVALID_SIZE);
        assert_eq!((ze.queue_execute)(queue, 1, ptr::null_mut(), ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!(execute(queue, &[bogus.cast()], ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!(execute(queue, &[ptr::null_mut()], ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!(execute(queue, &[open], ptr::null_mut()), ZE_RESULT_ERROR_INVALID_ARGUMENT, "not closed");
        assert_eq!(execute(queue, &[immediate], ptr::null_mut()), ZE_RESULT_ERROR_INVALID_ARGUMENT, "immediate");
        assert_eq!(execute(queue, &[compute, copy_only], ptr::null_mut()), ZE_RESULT_ERROR_INVALID_COMMAND_LIST_TYPE);
        assert_eq!(execute(queue, &[compute], other_fence), ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT);
        assert_eq!(execute(queue, &[compute], bogus.cast()), ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT);
        check(execute(queue, &[compute, compute], ptr::null_mut()));
        // zeCommandQueueSynchronize, Destroy
        assert_eq!((ze.queue_synchronize)(ptr::null_mut(), 0), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.queue_destroy)(bogus.cast()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        // Fences
        assert_eq!((ze.fence_create)(ptr::null_mut(), &fence_desc, &mut out_fence), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.fence_create)(queue, ptr::null(), &mut out_fence), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!((ze.fence_create)(queue, &fence_desc, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!((ze.fence_host_synchronize)(ptr::null_mut(), 0), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.fence_host_synchronize)(bogus.cast(), 0), ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT);
        assert_eq!((ze.fence_query_status)(bogus.cast()), ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT);
        assert_eq!((ze.fence_reset)(ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!((ze.fence_destroy)(bogus.cast()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        // Fills
        let byte = [7u8];
        let target = memory.as_mut_ptr().cast();
        let fill_call = |list, destination, pattern: *const c_void, pattern_size| {
            (ze.append_fill)(list, destination, pattern, pattern_size, 64, ptr::null_mut(), 0, ptr::null_mut())
        };
        assert_eq!(fill_call(ptr::null_mut(), target, byte.as_ptr().cast(), 1), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!(fill_call(open, ptr::null_mut(), byte.as_ptr().cast(), 1), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!(fill_call(open, target, ptr::null(), 1), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        assert_eq!(fill_call(open, target, byte.as_ptr().cast(), 0), ZE_RESULT_ERROR_INVALID_SIZE);
        let stale_event = bogus.cast();
        let result = (ze.append_fill)(open, target, byte.as_ptr().cast(), 1, 64, stale_event, 0, ptr::null_mut());
        assert_eq!(result, ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT);
        let result = (ze.append_fill)(open, target, byte.as_ptr().cast(), 1, 64, ptr::null_mut(), 1, ptr::null_mut());
        assert_eq!(result, ZE_RESULT_ERROR_INVALID_SIZE);
        // Queue synchronize/destroy after the fact; stale handles.
        check((ze.queue_synchronize)(queue, u64::MAX));
        check((ze.fence_destroy)(other_fence));
        assert_eq!((ze.fence_query_status)(other_fence), ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT);
        check((ze.queue_destroy)(other_queue));
        assert_eq!((ze.queue_synchronize)(other_queue, 0), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        for list in [compute, copy_only, open, immediate] {
            check((ze.list_destroy)(list));
        }
        assert_eq!(close(compute), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        check((ze.queue_destroy)(queue));
        check((ze.context_destroy)(context));
        check((ze.context_destroy)(other_context));
    }
}

#[test]
fn small_device_and_driver_queries() {
    let _serial = serial();
    let ze = ze();
    let devices = devices();
    // SAFETY: valid out-structs and handles.
    unsafe {
        let mut ipc = ze_driver_ipc_properties_t::default();
        check((ze.driver_get_ipc_properties)(driver(), &mut ipc));
        assert_eq!(ipc.flags, 0, "no IPC, truthfully");
        assert_eq!((ze.driver_get_ipc_properties)(driver(), ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        let mut count = 0;
        check((ze.driver_get_extension_properties)(driver(), &mut count, ptr::null_mut()));
        assert_eq!(count, 4);
        let mut extensions = [ze_driver_extension_properties_t { name: [0; 256], version: 0 }; 4];
        check((ze.driver_get_extension_properties)(driver(), &mut count, extensions.as_mut_ptr()));
        let names: Vec<(&str, u32)> = extensions
            .iter()
            .map(|extension| (std::ffi::CStr::from_ptr(extension.name.as_ptr()).to_str().unwrap(), extension.version))
            .collect();
        assert_eq!(
            names,
            [
                ("ZE_experimental_relaxed_allocation_limits", 1 << 16),
                ("ZEX_driver_import_host_pointer", 1 << 16),
                ("ZE_experimental_event_pool_counter_based", 1 << 16),
                ("ZEX_counter_based_event", 1 << 16),
            ]
        );
        let mut access_caps = ze_device_memory_access_properties_t::default();
        check((ze.device_get_memory_access_properties)(devices[0], &mut access_caps));
        assert_ne!(access_caps.sharedSingleDeviceAllocCapabilities & ZE_MEMORY_ACCESS_CAP_FLAG_CONCURRENT, 0);
        let mut compute = ze_device_compute_properties_t::default();
        check((ze.device_get_compute_properties)(devices[0], &mut compute));
        assert!(compute.maxTotalGroupSize > 0 && compute.numSubGroupSizes == 1);
        let mut count = 0;
        check((ze.device_get_cache_properties)(devices[0], &mut count, ptr::null_mut()));
        assert_eq!(count, 1);
        let mut cache = ze_device_cache_properties_t::default();
        check((ze.device_get_cache_properties)(devices[0], &mut count, &mut cache));
        assert!(cache.cacheSize > 0);
        let mut image = ze_device_image_properties_t { maxImageDims2D: 5, ..Default::default() };
        check((ze.device_get_image_properties)(devices[0], &mut image));
        assert_eq!(image.maxImageDims2D, 0, "no images");
        let mut access: ze_bool_t = 0;
        check((ze.device_can_access_peer)(devices[0], devices[1], &mut access));
        assert_eq!(access, 1);
        assert_eq!((ze.device_can_access_peer)(devices[0], ptr::null_mut(), &mut access), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        let mut p2p = ze_device_p2p_properties_t::default();
        check((ze.device_get_p2p_properties)(devices[0], devices[1], &mut p2p));
        assert_eq!(p2p.flags, ZE_DEVICE_P2P_PROPERTY_FLAG_ACCESS);
        let desc = ze_context_desc_t { stype: ZE_STRUCTURE_TYPE_CONTEXT_DESC, ..Default::default() };
        let mut context = ptr::null_mut();
        let mut chosen = [devices[1]];
        check((ze.context_create_ex)(driver(), &desc, 1, chosen.as_mut_ptr(), &mut context));
        check((ze.context_get_status)(context));
        assert_eq!((ze.context_create_ex)(driver(), &desc, 1, ptr::null_mut(), &mut context), ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        let mut foreign = [0x1000 as ze_device_handle_t];
        let mut unused = ptr::null_mut();
        assert_eq!((ze.context_create_ex)(driver(), &desc, 1, foreign.as_mut_ptr(), &mut unused), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        let memory = device_memory(context, 100);
        let (mut base, mut size) = (ptr::null_mut(), 0);
        check((ze.mem_get_address_range)(context, memory.add(10).cast(), &mut base, &mut size));
        assert_eq!((base as *mut u8, size), (memory, 100));
        check((ze.mem_free)(context, memory.cast()));
        check((ze.context_destroy)(context));
        assert_eq!((ze.context_get_status)(context), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
    }
}

#[test]
fn a_context_destroyed_before_its_children_tears_down_as_on_intel() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let size = 4096;
    let memory = device_memory(context, size);
    let list = regular_list(context, 1);
    let queue = command_queue(context, 1, ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS);
    let pool = pool(context, 1);
    let event = event(pool, 0);
    let source = pattern(size, 15);
    let mut back = vec![0u8; size];
    check(copy(list, memory, source.as_ptr(), size, ptr::null_mut(), &[]));
    check(copy(list, back.as_mut_ptr(), memory, size, event, &[]));
    check(close(list));
    let allocations = ze.swze.live("allocation");
    // SAFETY: live handles; the context goes first, as Intel's driver allows.
    unsafe {
        check((ze.context_destroy)(context));
        // Its children still work, and so does its memory.
        check(execute(queue, &[list], ptr::null_mut()));
        check(synchronize(event, u64::MAX));
        assert!(back == source);
        assert_eq!(ze.swze.live("allocation"), allocations, "kept while children live");
        check((ze.list_destroy)(list));
        check((ze.event_destroy)(event));
        check((ze.pool_destroy)(pool));
        check((ze.queue_destroy)(queue));
    }
    assert_eq!(ze.swze.live("allocation"), allocations - 1, "freed with the last child");
}

#[test]
fn faults_injected_on_the_new_calls_answer_instead() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let mut destination = vec![0u8; 64];
    let source = pattern(64, 16);
    let list = regular_list(context, 1);
    check(copy(list, destination.as_mut_ptr(), source.as_ptr(), 64, ptr::null_mut(), &[]));
    check(close(list));
    let queue = command_queue(context, 1, ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS);
    ze.swze.reset_counters();
    let functions = [
        "zeCommandListCreate",
        "zeCommandListClose",
        "zeCommandListReset",
        "zeCommandListAppendMemoryFill",
        "zeCommandListAppendMemoryPrefetch",
        "zeCommandListAppendMemAdvise",
        "zeCommandQueueCreate",
        "zeCommandQueueDestroy",
        "zeCommandQueueExecuteCommandLists",
        "zeCommandQueueSynchronize",
        "zeFenceCreate",
        "zeFenceDestroy",
        "zeFenceHostSynchronize",
        "zeFenceQueryStatus",
        "zeFenceReset",
        "zeContextCreateEx",
        "zeContextGetStatus",
        "zeDriverGetIpcProperties",
        "zeDeviceGetComputeProperties",
        "zeDeviceGetCacheProperties",
        "zeDeviceGetImageProperties",
        "zeDeviceCanAccessPeer",
        "zeDeviceGetP2PProperties",
        "zeDeviceGetMemoryAccessProperties",
        "zeDriverGetExtensionProperties",
        "zeCommandListAppendMemoryCopyFromContext",
        "zeCommandListAppendWriteGlobalTimestamp",
    ];
    for function in functions {
        assert_eq!(ze.swze.inject(function, 1, ZE_RESULT_ERROR_DEVICE_LOST), 0, "{function} is known");
    }
    // SAFETY: live handles and valid out-pointers; faulted calls do nothing.
    unsafe {
        assert_eq!(execute(queue, &[list], ptr::null_mut()), ZE_RESULT_ERROR_DEVICE_LOST);
        assert_eq!((ze.queue_synchronize)(queue, u64::MAX), ZE_RESULT_ERROR_DEVICE_LOST);
        assert!(destination.iter().all(|&byte| byte == 0), "the faulted execution ran nothing");
        check(execute(queue, &[list], ptr::null_mut()));
        check((ze.queue_synchronize)(queue, u64::MAX));
        assert!(destination == source, "the next call runs");
        let mut ipc = ze_driver_ipc_properties_t::default();
        assert_eq!((ze.driver_get_ipc_properties)(driver(), &mut ipc), ZE_RESULT_ERROR_DEVICE_LOST);
        check((ze.driver_get_ipc_properties)(driver(), &mut ipc));
        let fence_desc = ze_fence_desc_t { stype: ZE_STRUCTURE_TYPE_FENCE_DESC, ..Default::default() };
        let mut fence = ptr::null_mut();
        assert_eq!((ze.fence_create)(queue, &fence_desc, &mut fence), ZE_RESULT_ERROR_DEVICE_LOST);
        assert!(fence.is_null());
        check((ze.fence_create)(queue, &fence_desc, &mut fence));
        assert_eq!((ze.fence_host_synchronize)(fence, 0), ZE_RESULT_ERROR_DEVICE_LOST);
        assert_eq!((ze.fence_destroy)(fence), ZE_RESULT_ERROR_DEVICE_LOST);
        check((ze.fence_destroy)(fence));
    }
    assert_eq!(ze.swze.calls("zeCommandQueueExecuteCommandLists"), 2, "faulted calls are counted");
    assert_eq!(ze.swze.calls("zeFenceCreate"), 2);
    ze.swze.clear_faults();
    destroy_all(context, &[list], queue);
}

#[test]
fn global_timestamps_bracket_the_work_between_them() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let size = 1 << 20;
    let source = pattern(size, 17);
    let mut destination = vec![0u8; size];
    let mut stamps = [0u64; 2];
    let list = regular_list(context, 1);
    // SAFETY: live handles; the stamps outlive the execution.
    unsafe {
        check((ze.append_write_global_timestamp)(list, &mut stamps[0], ptr::null_mut(), 0, ptr::null_mut()));
        check(copy(list, destination.as_mut_ptr(), source.as_ptr(), size, ptr::null_mut(), &[]));
        check((ze.append_write_global_timestamp)(list, &mut stamps[1], ptr::null_mut(), 0, ptr::null_mut()));
        let result = (ze.append_write_global_timestamp)(list, ptr::null_mut(), ptr::null_mut(), 0, ptr::null_mut());
        assert_eq!(result, ZE_RESULT_ERROR_INVALID_NULL_POINTER);
        check(close(list));
    }
    let queue = command_queue(context, 1, ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS);
    ze.swze.bandwidth(20_000_000); // ~50 ms
    check(execute(queue, &[list], ptr::null_mut()));
    // SAFETY: a live queue.
    check(unsafe { (ze.queue_synchronize)(queue, u64::MAX) });
    ze.swze.bandwidth(0);
    assert!(stamps[0] > 0);
    assert!(stamps[1] >= stamps[0] + 40_000_000, "nanoseconds around a ~50 ms copy: {stamps:?}");
    destroy_all(context, &[list], queue);
}

#[test]
fn a_copy_from_another_context_is_a_copy() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let other = support::context();
    let size = 4096;
    let source = host_memory(other, size);
    let input = pattern(size, 18);
    // SAFETY: host memory of `size` bytes, unused by any command.
    unsafe { ptr::copy_nonoverlapping(input.as_ptr(), source, size) };
    let mut destination = vec![0u8; size];
    let target: *mut c_void = destination.as_mut_ptr().cast();
    let list = regular_list(context, 1);
    // SAFETY: live handles; both buffers outlive the execution.
    unsafe {
        let copy_from = |list, context| {
            (ze.append_copy_from_context)(list, target, context, source.cast(), size, ptr::null_mut(), 0, ptr::null_mut())
        };
        assert_eq!(copy_from(list, ptr::null_mut()), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!(copy_from(ptr::null_mut(), other), ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        check(copy_from(list, other));
        check(close(list));
    }
    let queue = command_queue(context, 1, ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS);
    check(execute(queue, &[list], ptr::null_mut()));
    // SAFETY: a live queue.
    check(unsafe { (ze.queue_synchronize)(queue, u64::MAX) });
    assert!(destination == input);
    free(other, source);
    // SAFETY: a live context.
    check(unsafe { (ze.context_destroy)(other) });
    destroy_all(context, &[list], queue);
}
