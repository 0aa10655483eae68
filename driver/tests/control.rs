//! The driver's control API (`swze.h`) seen from a program that reached the
//! driver through the loader: call counters, live and peak object counts,
//! fault injection, the copy bandwidth cap and inline execution.

mod support;

use std::ptr;
use std::time::{Duration, Instant};

use support::*;
use ze_sys::*;

#[test]
fn call_counters_count_every_call_including_failures() {
    let _serial = serial();
    let ze = ze();
    let setup = Setup::new(1);
    // SAFETY: no arguments.
    unsafe { (ze.swze.counters_reset)() };
    assert_eq!(ze.swze.calls("zeEventQueryStatus"), 0);
    query(setup.events[0]);
    query(setup.events[0]);
    query(ptr::null_mut()); // fails, still counted
    assert_eq!(ze.swze.calls("zeEventQueryStatus"), 3);
    assert_eq!(ze.swze.calls("zeEventHostReset"), 0);
    assert_eq!(ze.swze.calls("zeNoSuchFunction"), 0);
    // SAFETY: NULL is documented to read as an unknown name.
    assert_eq!(unsafe { (ze.swze.call_count)(ptr::null()) }, 0);
    // SAFETY: no arguments.
    unsafe { (ze.swze.counters_reset)() };
    assert_eq!(ze.swze.calls("zeEventQueryStatus"), 0);
}

#[test]
fn live_and_peak_counts_follow_objects() {
    let _serial = serial();
    let ze = ze();
    let kinds = ["context", "command_list", "event_pool", "event", "allocation"];
    let before: Vec<u64> = kinds.iter().map(|kind| ze.swze.live(kind)).collect();
    // SAFETY: no arguments.
    unsafe { (ze.swze.counters_reset)() };
    {
        let setup = Setup::new(3);
        let memory = device_memory(setup.context, 64);
        let during: Vec<u64> = kinds.iter().map(|kind| ze.swze.live(kind)).collect();
        assert_eq!(during, vec![before[0] + 1, before[1] + 1, before[2] + 1, before[3] + 3, before[4] + 1]);
        // SAFETY: our allocation, nothing in flight.
        check(unsafe { (ze.mem_free)(setup.context, memory.cast()) });
    }
    let after: Vec<u64> = kinds.iter().map(|kind| ze.swze.live(kind)).collect();
    assert_eq!(after, before, "everything destroyed");
    assert_eq!(ze.swze.peak("event"), before[3] + 3);
    assert_eq!(ze.swze.live("no_such_kind"), 0);
    // SAFETY: no arguments.
    unsafe { (ze.swze.counters_reset)() };
    assert_eq!(ze.swze.peak("event"), before[3], "peaks restart from live counts");
}

#[test]
fn an_injected_fault_fires_once_on_the_nth_call() {
    let _serial = serial();
    let ze = ze();
    let context = context();
    let pool = pool(context, 4);
    assert_eq!(ze.swze.inject("zeEventCreate", 2, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY), 0);
    let desc = |index| event_desc(index);
    let (mut first, mut second, mut third) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
    let live_events = ze.swze.live("event");
    // SAFETY: valid pool, descriptors and out-pointers.
    unsafe {
        check((ze.event_create)(pool, &desc(0), &mut first));
        assert_eq!((ze.event_create)(pool, &desc(1), &mut second), ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY);
        assert!(second.is_null(), "a faulted call does nothing");
        assert_eq!(ze.swze.live("event"), live_events + 1);
        check((ze.event_create)(pool, &desc(1), &mut third));
        check((ze.event_destroy)(first));
        check((ze.event_destroy)(third));
    }
    // Unknown names and nth == 0 are refused.
    assert_eq!(ze.swze.inject("zeNoSuchFunction", 1, ZE_RESULT_ERROR_UNKNOWN), -1);
    assert_eq!(ze.swze.inject("zeEventCreate", 0, ZE_RESULT_ERROR_UNKNOWN), -1);
    // swze_fault_clear disarms.
    assert_eq!(ze.swze.inject("zeEventPoolDestroy", 1, ZE_RESULT_ERROR_DEVICE_LOST), 0);
    // SAFETY: no arguments; then a valid pool destroyed once.
    unsafe {
        (ze.swze.fault_clear)();
        check((ze.pool_destroy)(pool));
        check((ze.context_destroy)(context));
    }
}

#[test]
fn faults_can_target_any_entry_point_the_library_uses() {
    let _serial = serial();
    let ze = ze();
    let setup = Setup::new(1);
    let source = [1u8; 16];
    let mut destination = [0u8; 16];
    assert_eq!(ze.swze.inject("zeCommandListAppendMemoryCopy", 1, ZE_RESULT_ERROR_DEVICE_LOST), 0);
    assert_eq!(
        copy(setup.list, destination.as_mut_ptr(), source.as_ptr(), 16, setup.events[0], &[]),
        ZE_RESULT_ERROR_DEVICE_LOST
    );
    assert_eq!(ze.swze.inject("zeEventHostSynchronize", 1, ZE_RESULT_NOT_READY), 0);
    check(copy(setup.list, destination.as_mut_ptr(), source.as_ptr(), 16, setup.events[0], &[]));
    assert_eq!(synchronize(setup.events[0], u64::MAX), ZE_RESULT_NOT_READY);
    check(synchronize(setup.events[0], u64::MAX));
    assert_eq!(destination, source);
}

#[test]
fn the_bandwidth_cap_sets_the_copy_rate() {
    let _serial = serial();
    let ze = ze();
    let setup = Setup::new(1);
    let size = 2 << 20;
    let source = vec![3u8; size];
    let mut destination = vec![0u8; size];
    ze.swze.bandwidth(20_000_000); // 2 MiB in ~105 ms
    let started = Instant::now();
    check(copy(setup.list, destination.as_mut_ptr(), source.as_ptr(), size, setup.events[0], &[]));
    check(synchronize(setup.events[0], u64::MAX));
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(100), "too fast for the cap: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(1000), "far slower than the cap: {elapsed:?}");
    assert!(destination == source);
    ze.swze.bandwidth(0);
    // SAFETY: a live event.
    check(unsafe { (ze.event_host_reset)(setup.events[0]) });
    let started = Instant::now();
    check(copy(setup.list, destination.as_mut_ptr(), source.as_ptr(), size, setup.events[0], &[]));
    check(synchronize(setup.events[0], u64::MAX));
    assert!(started.elapsed() < Duration::from_millis(100), "uncapped copy slow: {:?}", started.elapsed());
}

#[test]
fn inline_mode_executes_at_append_time_for_lists_created_after() {
    let _serial = serial();
    let ze = ze();
    let async_setup = Setup::new(1);
    ze.swze.inline(true);
    let inline_setup = Setup::new(1);
    ze.swze.inline(false);
    let source = vec![9u8; 1_500_000];
    let mut destination = vec![0u8; source.len()];
    ze.swze.bandwidth(10_000_000); // 150 ms
    check(copy(inline_setup.list, destination.as_mut_ptr(), source.as_ptr(), source.len(), inline_setup.events[0], &[]));
    assert_eq!(query(inline_setup.events[0]), ZE_RESULT_SUCCESS, "inline list done at append");
    assert!(destination == source);
    destination.fill(0);
    check(copy(async_setup.list, destination.as_mut_ptr(), source.as_ptr(), source.len(), async_setup.events[0], &[]));
    assert_eq!(query(async_setup.events[0]), ZE_RESULT_NOT_READY, "list created before stays asynchronous");
    check(synchronize(async_setup.events[0], u64::MAX));
    assert!(destination == source);
}

/// Two lists copying 1 MiB each at once under a 10 MB/s cap, the first on
/// the main copy engine (ordinal 1), the second on queue `second` (ordinal,
/// index): how long until both are done.
fn two_lists_at_once(second: (u32, u32)) -> Duration {
    let ze = ze();
    let setup = Setup::new(2);
    let mut desc = queue_desc(ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS);
    (desc.ordinal, desc.index) = second;
    let mut second = ptr::null_mut();
    // SAFETY: valid descriptor and out-pointer.
    check(unsafe { (ze.list_create_immediate)(setup.context, device(), &desc, &mut second) });
    let size = 1 << 20;
    let source = vec![5u8; size];
    let mut destinations = [vec![0u8; size], vec![0u8; size]];
    ze.swze.bandwidth(10_000_000);
    let started = Instant::now();
    let [first_destination, second_destination] = &mut destinations;
    check(copy(setup.list, first_destination.as_mut_ptr(), source.as_ptr(), size, setup.events[0], &[]));
    check(copy(second, second_destination.as_mut_ptr(), source.as_ptr(), size, setup.events[1], &[]));
    check(synchronize(setup.events[0], u64::MAX));
    check(synchronize(setup.events[1], u64::MAX));
    let elapsed = started.elapsed();
    ze.swze.bandwidth(0);
    assert!(destinations.iter().all(|d| *d == source));
    // SAFETY: created above, destroyed once.
    check(unsafe { (ze.list_destroy)(second) });
    elapsed
}

#[test]
fn the_bandwidth_cap_is_per_engine_each_queue_being_one() {
    let _serial = serial();
    // 1 MiB at 10 MB/s is ~105 ms: two queues run both copies in that time,
    // two lists on one queue share its engine and take twice as long.
    let two_queues = two_lists_at_once((2, 0));
    let one_queue = two_lists_at_once((1, 0));
    assert!(two_queues >= Duration::from_millis(100), "cap not applied: {two_queues:?}");
    assert!(two_queues < Duration::from_millis(180), "queues share a cap: {two_queues:?}");
    assert!(one_queue >= Duration::from_millis(200), "lists of one queue do not share its engine: {one_queue:?}");
}
