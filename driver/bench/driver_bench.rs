//! The driver's benchmark (not a test): through the real loader, it prints
//! the driver's cost per synchronous 64 B copy round trip (append + host
//! synchronize + host reset) in inline and threaded mode, and the bandwidth
//! of a 64 MiB copy next to plain memcpy measured in the same run.
//! Run: `make bench-driver` (or `cargo bench -p swze --bench driver_bench`).

#[path = "../tests/support/mod.rs"]
mod support;

use std::ffi::c_void;
use std::hint::black_box;
use std::ptr;
use std::time::{Duration, Instant};

use support::*;
use ze_sys::*;

const ROUND_TRIP_BYTES: usize = 64;
const BIG_COPY: usize = 64 << 20;

/// Nanoseconds per round trip on a list created in the given mode: the best
/// of several batches, so that a descheduled batch does not count.
fn round_trip_ns(inline: bool, iterations: u32) -> f64 {
    let ze = ze();
    ze.swze.inline(inline);
    let setup = Setup::new(1);
    ze.swze.inline(false);
    let event = setup.events[0];
    let source = [0x5au8; ROUND_TRIP_BYTES];
    let mut destination = [0u8; ROUND_TRIP_BYTES];
    let mut best = f64::INFINITY;
    // SAFETY: no arguments.
    unsafe { (ze.swze.counters_reset)() };
    for _batch in 0..5 {
        let started = Instant::now();
        for _ in 0..iterations {
            check(copy(setup.list, destination.as_mut_ptr(), source.as_ptr(), ROUND_TRIP_BYTES, event, &[]));
            check(synchronize(event, u64::MAX));
            // SAFETY: a live event with no pending command.
            check(unsafe { (ze.event_host_reset)(event) });
        }
        best = best.min(started.elapsed().as_nanos() as f64 / f64::from(iterations));
    }
    assert_eq!(black_box(destination), source);
    // The driver's own counters confirm what one round trip costs in calls.
    let round_trips = 5 * u64::from(iterations);
    for function in ["zeCommandListAppendMemoryCopy", "zeEventHostSynchronize", "zeEventHostReset"] {
        assert_eq!(ze.swze.calls(function), round_trips, "{function}");
    }
    best
}

fn gigabytes_per_second(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / time.as_secs_f64() / 1e9
}

fn main() {
    let ze = ze();
    let _serial = serial();

    let inline = round_trip_ns(true, 200_000);
    let threaded = round_trip_ns(false, 20_000);
    println!("64 B round trip (append + synchronize + reset = 3 driver calls, counted), through the loader:");
    println!("  inline   {inline:10.1} ns");
    println!("  threaded {threaded:10.1} ns");

    // 64 MiB from a host allocation to a device allocation, both first touched.
    let setup = Setup::new(1);
    let host_desc = ze_host_mem_alloc_desc_t { stype: ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC, ..Default::default() };
    let mut source: *mut c_void = ptr::null_mut();
    // SAFETY: valid descriptor and out-pointer.
    check(unsafe { (ze.mem_alloc_host)(setup.context, &host_desc, BIG_COPY, 4096, &mut source) });
    let destination = device_memory(setup.context, BIG_COPY);
    let source = source.cast::<u8>();
    // SAFETY: both allocations hold BIG_COPY bytes.
    unsafe {
        ptr::write_bytes(source, 0x11, BIG_COPY);
        ptr::write_bytes(destination, 0, BIG_COPY);
    }
    let mut best_memcpy = Duration::MAX;
    let mut best_driver = Duration::MAX;
    // Interleaved, best of each: both see the same machine state.
    for _round in 0..8 {
        let started = Instant::now();
        // SAFETY: disjoint allocations of BIG_COPY bytes each.
        unsafe { ptr::copy_nonoverlapping(source, destination, BIG_COPY) };
        best_memcpy = best_memcpy.min(started.elapsed());
        black_box(destination);

        let started = Instant::now();
        check(copy(setup.list, destination, source, BIG_COPY, setup.events[0], &[]));
        check(synchronize(setup.events[0], u64::MAX));
        best_driver = best_driver.min(started.elapsed());
        // SAFETY: a live event with no pending command.
        check(unsafe { (ze.event_host_reset)(setup.events[0]) });
    }
    let memcpy_rate = gigabytes_per_second(BIG_COPY, best_memcpy);
    let driver_rate = gigabytes_per_second(BIG_COPY, best_driver);
    println!("64 MiB copy, best of 8:");
    println!("  memcpy   {memcpy_rate:10.2} GB/s");
    println!("  driver   {driver_rate:10.2} GB/s  ({:.3}x memcpy, target >= 0.95x)", driver_rate / memcpy_rate);
    // SAFETY: our allocations, nothing in flight.
    unsafe {
        check((ze.mem_free)(setup.context, source.cast()));
        check((ze.mem_free)(setup.context, destination.cast()));
    }
}
