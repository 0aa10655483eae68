//! Error paths by fault injection, object lifetimes, steady-state call counts,
//! teardown with copies in flight and many threads on one dma. Every test
//! holds `serial()`: driver counters and faults are process-global.

mod common;

use aml_dma_ze::abi::*;
use common::*;
use ze_sys::*;

/// A copy of fresh buffers, waited for and verified.
fn works(dma: &Dma) {
    let mut src = Dense::new(&[4096], 1, pattern(42));
    let mut dst = Dense::new(&[4096], 1, |_| 0);
    let mut req = dma.copy(&mut dst, &mut src, true).expect("the dma still accepts copies");
    assert_eq!(dma.wait(&mut req), 0);
    assert!(dst.bytes == src.bytes, "the dma still copies correctly");
    assert_eq!(dma.barrier(), 0);
}

#[test]
fn create_failures_map_the_result_and_leak_nothing() {
    let _serial = serial();
    let env = env();
    let baseline = env.live_objects();
    let cases: &[(&str, ze_result_t, i32)] = &[
        ("zeDriverGet", ZE_RESULT_ERROR_DEVICE_LOST, -AML_FAILURE),
        ("zeDeviceGet", ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY, -AML_ENOMEM),
        ("zeDeviceGetCommandQueueGroupProperties", ZE_RESULT_ERROR_INVALID_ARGUMENT, -AML_EINVAL),
        ("zeContextCreate", ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY, -AML_ENOMEM),
        ("zeCommandListCreateImmediate", ZE_RESULT_ERROR_UNSUPPORTED_FEATURE, -AML_ENOTSUP),
        ("zeDeviceGetProperties", ZE_RESULT_ERROR_INSUFFICIENT_PERMISSIONS, -AML_EPERM),
    ];
    for &(function, result, expected) in cases {
        env.fail(function, 1, result);
        assert_eq!(Dma::with_queue(env.device(), 0, 0).err(), Some(expected), "{function} failing");
        env.clear_faults();
        assert_eq!(env.live_objects(), baseline, "nothing leaked when {function} fails");
        let dma = Dma::new(env.device());
        works(&dma);
        assert_eq!(dma.destroy(), 0);
    }
    // Finding a subdevice walks the subdevice lists.
    env.fail("zeDeviceGetSubDevices", 1, ZE_RESULT_ERROR_NOT_AVAILABLE);
    assert_eq!(Dma::with_queue(env.subdevices[0], 0, 0).err(), Some(-AML_EBUSY));
    env.clear_faults();
    assert_eq!(env.live_objects(), baseline);
}

#[test]
fn request_and_barrier_failures_map_the_result_and_the_dma_still_works() {
    let _serial = serial();
    let env = env();
    let baseline = env.live_objects();
    {
        let dma = Dma::new(env.device());
        let mut src = Dense::new(&[1024], 1, pattern(1));
        let mut dst = Dense::new(&[1024], 1, |_| 0);

        // The first request of a dma creates its first pool, then an event.
        env.fail("zeEventPoolCreate", 1, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY);
        assert_eq!(dma.copy(&mut dst, &mut src, true), Err(-AML_ENOMEM));
        env.fail("zeEventCreate", 1, ZE_RESULT_ERROR_OVERLAPPING_REGIONS);
        assert_eq!(dma.copy(&mut dst, &mut src, true), Err(-AML_EDOM));
        works(&dma);

        env.fail("zeCommandListAppendMemoryCopy", 1, ZE_RESULT_ERROR_INVALID_SIZE);
        assert_eq!(dma.copy(&mut dst, &mut src, true), Err(-AML_EINVAL));
        env.fail("zeCommandListAppendMemoryCopy", 1, ZE_RESULT_ERROR_DEVICE_LOST);
        assert_eq!(dma.copy(&mut dst, &mut src, false), Err(-AML_FAILURE));
        works(&dma);

        let mut req = dma.copy(&mut dst, &mut src, true).unwrap();
        env.fail("zeEventHostSynchronize", 1, ZE_RESULT_ERROR_DEVICE_LOST);
        assert_eq!(dma.wait(&mut req), -AML_FAILURE);
        assert!(req.is_null(), "a failed wait still frees the request");
        works(&dma);

        // A Level Zero error that maps to -AML_EINVAL still consumes the request.
        let mut req = dma.copy(&mut dst, &mut src, true).unwrap();
        env.fail("zeEventHostSynchronize", 1, ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!(dma.wait(&mut req), -AML_EINVAL);
        assert!(req.is_null(), "the request is gone, so *req is cleared");
        works(&dma);

        // Only the path without counter-based events resets an event.
        let fenced = Dma::fenced(env.device());
        let mut req = fenced.copy(&mut dst, &mut src, true).unwrap();
        env.fail("zeEventHostReset", 1, ZE_RESULT_ERROR_UNKNOWN);
        assert_eq!(fenced.wait(&mut req), -AML_FAILURE);
        assert!(req.is_null());
        works(&fenced);
        assert_eq!(fenced.destroy(), 0);

        let mut req = dma.copy(&mut dst, &mut src, true).unwrap();
        env.fail("zeEventQueryStatus", 1, ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE);
        assert_eq!(dma.destroy_request(&mut req), -AML_EBUSY);
        assert!(req.is_null(), "a failed destroy still frees the request");
        works(&dma);

        env.fail("zeCommandListAppendBarrier", 1, ZE_RESULT_ERROR_UNSUPPORTED_SIZE);
        assert_eq!(dma.barrier(), -AML_ENOTSUP);
        env.fail("zeEventHostSynchronize", 1, ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        assert_eq!(dma.barrier(), -AML_EINVAL);
        works(&dma);

        // A destroy whose final barrier fails once tries it again, and succeeds.
        env.fail("zeCommandListAppendBarrier", 1, ZE_RESULT_ERROR_INVALID_ARGUMENT);
        let spare = Dma::new(env.device());
        let mut spare_raw = spare.0;
        std::mem::forget(spare);
        assert_eq!(aml_dma_ze::capi::aml_dma_ze_destroy(&mut spare_raw), 0);
        assert!(spare_raw.is_null());

        // A destroy whose barrier keeps failing still releases everything.
        env.fail("zeCommandListAppendBarrier", 1, ZE_RESULT_ERROR_INVALID_ARGUMENT);
        env.fail("zeCommandListAppendBarrier", 2, ZE_RESULT_ERROR_INVALID_ARGUMENT);
        let mut raw = dma.0;
        std::mem::forget(dma);
        assert_eq!(aml_dma_ze::capi::aml_dma_ze_destroy(&mut raw), -AML_EINVAL);
        assert!(raw.is_null(), "the dma is gone, so *dma is cleared");
    }
    env.clear_faults();
    assert_eq!(env.live_objects(), baseline, "no Level Zero object outlives its dma");
}

#[test]
fn no_level_zero_object_outlives_its_dma() {
    let _serial = serial();
    let env = env();
    let baseline = env.live_objects();
    let dma = Dma::new(env.device());
    assert_eq!(env.live("context"), baseline[0] + 1);
    assert_eq!(env.live("command_list"), baseline[1] + 1);
    // More outstanding requests than one pool holds: a second pool is made.
    let mut src = Dense::new(&[64], 1, pattern(2));
    let mut targets: Vec<_> = (0..300).map(|_| Dense::new(&[64], 1, |_| 0)).collect();
    let mut requests: Vec<_> = targets.iter_mut().map(|dst| dma.copy(dst, &mut src, true).unwrap()).collect();
    assert_eq!(env.live("event_pool"), baseline[2] + 2);
    assert_eq!(env.live("event"), baseline[3] + 300);
    for (i, req) in requests.iter_mut().enumerate() {
        let rc = if i % 2 == 0 { dma.wait(req) } else { dma.destroy_request(req) };
        assert_eq!(rc, 0);
    }
    // Requests left pending at destroy are a caller bug, but must not leak objects.
    let leftover = dma.copy(&mut targets[0], &mut src, true).unwrap();
    assert!(!leftover.is_null(), "left pending: its event goes with the dma");
    assert_eq!(dma.destroy(), 0);
    assert!(targets.iter().all(|dst| dst.bytes == src.bytes));
    assert_eq!(env.live_objects(), baseline, "every context, list, pool and event is gone");
}

#[test]
fn steady_state_driver_calls_per_request_and_per_barrier() {
    let _serial = serial();
    let env = env();
    // swze offers counter-based events: a dma takes the fast path unless told
    // not to, and then makes the calls any other driver sees.
    for fast in [true, false] {
        let dma = if fast { Dma::new(env.device()) } else { Dma::fenced(env.device()) };
        let resets = if fast { 0 } else { 1 };
        let mut src = Dense::new(&[256], 4, pattern(3));
        let mut dst = Dense::new(&[256], 4, |_| 0);
        // Warm up: the first request makes the pool and an event, which the barrier reuses.
        let mut req = dma.copy(&mut dst, &mut src, true).unwrap();
        assert_eq!(dma.wait(&mut req), 0);
        assert_eq!(dma.barrier(), 0);

        env.reset_counters();
        const N: u64 = 200;
        for _ in 0..N {
            let mut req = dma.copy(&mut dst, &mut src, true).unwrap();
            assert_eq!(dma.wait(&mut req), 0);
        }
        assert_eq!(env.calls("zeCommandListAppendMemoryCopy"), N);
        assert_eq!(env.calls("zeEventHostSynchronize"), N);
        assert_eq!(env.calls("zeEventHostReset"), resets * N, "fast path: {fast}");
        for idle in ["zeEventPoolCreate", "zeEventCreate", "zeEventDestroy", "zeEventPoolDestroy", "zeEventQueryStatus",
                     "zeCommandListAppendBarrier"] {
            assert_eq!(env.calls(idle), 0, "{idle} in steady state (fast path: {fast})");
        }

        env.reset_counters();
        assert_eq!(dma.barrier(), 0);
        assert_eq!(env.calls("zeCommandListAppendBarrier"), 1);
        assert_eq!(env.calls("zeEventHostSynchronize"), 1);
        assert_eq!(env.calls("zeEventHostReset"), resets);
        assert_eq!(env.calls("zeEventCreate") + env.calls("zeEventPoolCreate"), 0);

        env.reset_counters();
        for _ in 0..N {
            dma.copy(&mut dst, &mut src, false).unwrap();
        }
        assert_eq!(env.calls("zeCommandListAppendMemoryCopy"), N, "fire-and-forget is one append");
        if fast {
            // An in-order list needs no barrier to keep them in order.
            assert_eq!(env.calls("zeCommandListAppendBarrier"), 0);
        }
        assert_eq!(env.calls("zeEventCreate") + env.calls("zeEventHostReset"), 0);
        assert_eq!(dma.barrier(), 0);
        assert!(dst.bytes == src.bytes);
        assert_eq!(dma.destroy(), 0);
    }
}

#[test]
fn request_blocks_are_reused_and_a_finished_request_is_refused() {
    let _serial = serial();
    let env = env();
    let dma = Dma::new(env.device());
    let mut src = Dense::new(&[128], 1, pattern(6));
    let mut dst = Dense::new(&[128], 1, |_| 0);
    let mut req = dma.copy(&mut dst, &mut src, true).unwrap();
    assert_eq!(dma.wait(&mut req), 0);
    assert_eq!(dma.barrier(), 0);
    // SAFETY: the live dma's own data pointer.
    let block = unsafe { aml_dma_ze::engine::DmaBlock::from_data(dma.data()) }.unwrap();
    let warm = block.counts();
    assert_eq!((warm.in_use, warm.retired, warm.lost), (0, 0, 0));
    assert_eq!(warm.free, warm.events, "every block is back on the free stack");

    // One request at a time: the same block, hence no allocation, every time.
    let first = dma.copy(&mut dst, &mut src, true).unwrap();
    assert_eq!(block.counts().in_use, 1);
    let mut req = first;
    assert_eq!(dma.wait(&mut req), 0);
    for i in 0..100 {
        let mut req = dma.copy(&mut dst, &mut src, true).unwrap();
        assert_eq!(req, first, "request {i} reuses the block");
        // SAFETY: a live request of ours.
        let flags = unsafe { (*(req as *const aml_dma_ze_request)).flags };
        assert_eq!(flags, AML_DMA_ZE_REQUEST_FLAGS_PENDING, "a reissued request starts pending");
        let mut stale = req;
        assert_eq!(dma.wait(&mut req), 0);
        // SAFETY: the block stays allocated while the dma lives.
        let flags = unsafe { (*(stale as *const aml_dma_ze_request)).flags };
        assert_eq!(flags, AML_DMA_ZE_REQUEST_FLAGS_DONE);
        assert_eq!(dma.wait(&mut stale), -AML_EINVAL, "a waited request is refused");
        assert_eq!(dma.destroy_request(&mut stale), -AML_EINVAL, "and cannot be destroyed either");
        assert!(!stale.is_null());
    }
    assert_eq!(block.counts(), warm, "no block, event or pool was made");
    assert!(dst.bytes == src.bytes);
    assert_eq!(dma.destroy(), 0);
}

/// Restores an uncapped copy bandwidth even if the test fails.
struct SlowCopies<'a>(&'a Env);

impl<'a> SlowCopies<'a> {
    fn new(env: &'a Env, bytes_per_second: u64) -> Self {
        env.bandwidth(bytes_per_second);
        SlowCopies(env)
    }
}

impl Drop for SlowCopies<'_> {
    fn drop(&mut self) {
        self.0.bandwidth(0);
    }
}

#[test]
fn a_destroyed_running_request_is_retired_not_reused() {
    let _serial = serial();
    let env = env();
    let baseline = env.live_objects();
    let dma = Dma::new(env.device());
    let slow = SlowCopies::new(env, 20_000_000);
    let mut big_src = Dense::new(&[4 << 20], 1, pattern(4));
    let mut big_dst = Dense::new(&[4 << 20], 1, |_| 0);
    let mut running = dma.copy(&mut big_dst, &mut big_src, true).unwrap();
    // SAFETY: a live request of ours.
    let running_event = unsafe { (*(running as *const aml_dma_ze_request)).event };
    assert_eq!(dma.destroy_request(&mut running), 0, "destroy does not wait");
    assert!(running.is_null());

    let mut src = Dense::new(&[16], 1, pattern(5));
    let mut dst = Dense::new(&[16], 1, |_| 0);
    let mut next = dma.copy(&mut dst, &mut src, true).unwrap();
    // SAFETY: a live request of ours.
    let next_event = unsafe { (*(next as *const aml_dma_ze_request)).event };
    assert_ne!(next_event, running_event, "an event the device may still signal is not reused");
    assert_eq!(dma.wait(&mut next), 0);
    assert!(big_dst.bytes == big_src.bytes, "the in-order list finished the big copy first");
    drop(slow);
    assert_eq!(dma.barrier(), 0);
    works(&dma);
    assert_eq!(dma.destroy(), 0);
    assert_eq!(env.live_objects(), baseline);
}

#[test]
fn destroy_waits_for_copies_in_flight() {
    let _serial = serial();
    let env = env();
    let baseline = env.live_objects();
    let dma = Dma::new(env.device());
    let slow = SlowCopies::new(env, 40_000_000);
    let mut sources: Vec<_> = (0..3).map(|i| Dense::new(&[2 << 20], 1, pattern(10 + i))).collect();
    let mut targets: Vec<_> = (0..3).map(|_| Dense::new(&[2 << 20], 1, |_| 0)).collect();
    let (first_src, rest_src) = sources.split_at_mut(1);
    let (first_dst, rest_dst) = targets.split_at_mut(1);
    let mut req = dma.copy(&mut first_dst[0], &mut first_src[0], true).unwrap();
    assert_eq!(dma.destroy_request(&mut req), 0);
    for (dst, src) in rest_dst.iter_mut().zip(rest_src.iter_mut()) {
        dma.copy(dst, src, false).unwrap();
    }
    let started = std::time::Instant::now();
    assert_eq!(dma.destroy(), 0);
    let waited = started.elapsed();
    drop(slow);
    assert!(targets.iter().zip(&sources).all(|(d, s)| d.bytes == s.bytes), "destroy returned after every copy");
    assert!(waited.as_millis() >= 50, "destroy waited ({waited:?}) for 6 MiB at 40 MB/s");
    assert_eq!(env.live_objects(), baseline);
}

#[test]
fn many_threads_share_one_dma() {
    let _serial = serial();
    let env = env();
    let baseline = env.live_objects();
    let dma = Dma::new(env.device());
    let dma_address = dma.0 as usize;
    let threads: Vec<_> = (0..6)
        .map(|t| {
            std::thread::spawn(move || {
                let dma = std::mem::ManuallyDrop::new(Dma(dma_address as *mut aml_dma));
                for i in 0..150 {
                    let mut src = Dense::new(&[1000 + i], 1, pattern(t * 1000 + i));
                    let mut dst = Dense::new(&[1000 + i], 1, |_| 0);
                    match i % 4 {
                        0 | 1 => {
                            let mut req = dma.copy(&mut dst, &mut src, true).unwrap();
                            assert_eq!(dma.wait(&mut req), 0);
                        }
                        2 => {
                            let mut req = dma.copy(&mut dst, &mut src, true).unwrap();
                            assert_eq!(dma.destroy_request(&mut req), 0);
                            assert_eq!(dma.barrier(), 0);
                        }
                        _ => {
                            dma.copy(&mut dst, &mut src, false).unwrap();
                            assert_eq!(dma.barrier(), 0);
                        }
                    }
                    assert!(dst.bytes == src.bytes, "thread {t} copy {i}");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("no thread failed");
    }
    assert_eq!(dma.destroy(), 0);
    assert_eq!(env.live_objects(), baseline);
}
