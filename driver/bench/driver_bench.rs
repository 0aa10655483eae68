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

const BATCHES: u32 = 11;
const BIG_COPY_ROUNDS: usize = 11;

/// Median, min and max of some samples.
struct Summary {
    median: f64,
    min: f64,
    max: f64,
}

impl Summary {
    fn of(mut samples: Vec<f64>) -> Summary {
        samples.sort_by(f64::total_cmp);
        Summary { median: samples[samples.len() / 2], min: samples[0], max: samples[samples.len() - 1] }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:10.1} (min {:.1}, max {:.1})", self.median, self.min, self.max)
    }
}

/// Nanoseconds per round trip on a list created in the given mode, one
/// sample per batch.
fn round_trip_ns(inline: bool, iterations: u32) -> Summary {
    let ze = ze();
    ze.swze.inline(inline);
    let setup = Setup::new(1);
    ze.swze.inline(false);
    let event = setup.events[0];
    let source = [0x5au8; ROUND_TRIP_BYTES];
    let mut destination = [0u8; ROUND_TRIP_BYTES];
    let mut samples = Vec::new();
    // SAFETY: no arguments.
    unsafe { (ze.swze.counters_reset)() };
    for _batch in 0..BATCHES {
        let started = Instant::now();
        for _ in 0..iterations {
            check(copy(setup.list, destination.as_mut_ptr(), source.as_ptr(), ROUND_TRIP_BYTES, event, &[]));
            check(synchronize(event, u64::MAX));
            // SAFETY: a live event with no pending command.
            check(unsafe { (ze.event_host_reset)(event) });
        }
        samples.push(started.elapsed().as_nanos() as f64 / f64::from(iterations));
    }
    assert_eq!(black_box(destination), source);
    // The driver's own counters confirm what one round trip costs in calls.
    let round_trips = u64::from(BATCHES) * u64::from(iterations);
    for function in ["zeCommandListAppendMemoryCopy", "zeEventHostSynchronize", "zeEventHostReset"] {
        assert_eq!(ze.swze.calls(function), round_trips, "{function}");
    }
    Summary::of(samples)
}

fn gigabytes_per_second(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / time.as_secs_f64() / 1e9
}

fn main() {
    let ze = ze();
    let _serial = serial();

    let inline = round_trip_ns(true, 200_000);
    let threaded = round_trip_ns(false, 20_000);
    println!("64 B round trip (append + synchronize + reset = 3 driver calls, counted), through the loader,");
    println!("median of {BATCHES} batches:");
    println!("  inline   {inline} ns");
    println!("  threaded {threaded} ns");

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
    let (mut memcpy_rates, mut driver_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    // Interleaved and paired: each ratio compares two copies made back to back,
    // under the same machine state.
    for _round in 0..BIG_COPY_ROUNDS {
        let started = Instant::now();
        // SAFETY: disjoint allocations of BIG_COPY bytes each.
        unsafe { ptr::copy_nonoverlapping(source, destination, BIG_COPY) };
        let memcpy_rate = gigabytes_per_second(BIG_COPY, started.elapsed());
        black_box(destination);

        let started = Instant::now();
        check(copy(setup.list, destination, source, BIG_COPY, setup.events[0], &[]));
        check(synchronize(setup.events[0], u64::MAX));
        let driver_rate = gigabytes_per_second(BIG_COPY, started.elapsed());
        // SAFETY: a live event with no pending command.
        check(unsafe { (ze.event_host_reset)(setup.events[0]) });
        memcpy_rates.push(memcpy_rate);
        driver_rates.push(driver_rate);
        ratios.push(driver_rate / memcpy_rate);
    }
    let ratio = Summary::of(ratios);
    println!("64 MiB copy, median of {BIG_COPY_ROUNDS} paired rounds:");
    println!("  memcpy   {} GB/s", Summary::of(memcpy_rates));
    println!("  driver   {} GB/s", Summary::of(driver_rates));
    println!("  driver/memcpy {:.3} (min {:.3}, max {:.3}; target >= 0.95)", ratio.median, ratio.min, ratio.max);
    // SAFETY: our allocations, nothing in flight.
    unsafe {
        check((ze.mem_free)(setup.context, source.cast()));
        check((ze.mem_free)(setup.context, destination.cast()));
    }
}
