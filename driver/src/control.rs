//! The driver's own control API (`include/swze.h`): call counters, live-object
//! counts and fault injection on every backend; the device model's name and
//! figures; the copy bandwidth cap, the bandwidth model and inline
//! execution, which only the CPU backend has (elsewhere they do nothing).
//! All of it is process-global state, read on the hot path with single atomic
//! loads so that an unused feature costs (almost) nothing.

use std::ffi::{c_char, c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};

use ze_sys::*;

use crate::backend::{choice, policy};
use crate::backend::cpu::settings;
use crate::calls::{self, Api};

// ---------------------------------------------------------------------------
// Live objects

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Context,
    CommandList,
    EventPool,
    Event,
    Allocation,
    CommandQueue,
    Fence,
    PhysicalMem,
    VirtualReservation,
}

const KINDS: [(Kind, &str); 9] = [
    (Kind::Context, "context"),
    (Kind::CommandList, "command_list"),
    (Kind::EventPool, "event_pool"),
    (Kind::Event, "event"),
    (Kind::Allocation, "allocation"),
    (Kind::CommandQueue, "command_queue"),
    (Kind::Fence, "fence"),
    (Kind::PhysicalMem, "physical_mem"),
    (Kind::VirtualReservation, "virtual_reservation"),
];

struct LiveCount {
    live: AtomicU64,
    peak: AtomicU64,
}

static LIVE: [LiveCount; KINDS.len()] =
    [const { LiveCount { live: AtomicU64::new(0), peak: AtomicU64::new(0) } }; KINDS.len()];

pub fn object_created(kind: Kind) {
    let counter = &LIVE[kind as usize];
    let now = counter.live.fetch_add(1, Ordering::Relaxed) + 1;
    counter.peak.fetch_max(now, Ordering::Relaxed);
}

pub fn object_destroyed(kind: Kind) {
    LIVE[kind as usize].live.fetch_sub(1, Ordering::Relaxed);
}

fn kind_from_name(name: &str) -> Option<Kind> {
    KINDS.iter().find(|(_, known)| *known == name).map(|(kind, _)| *kind)
}

// ---------------------------------------------------------------------------
// The exported C functions

/// Reads a C string argument; NULL or non-UTF-8 reads as no name at all.
fn name_argument<'a>(name: *const c_char) -> Option<&'a str> {
    if name.is_null() {
        return None;
    }
    // SAFETY: the caller passes a NUL-terminated string (swze.h contract) that
    // outlives this call; NULL was excluded above.
    unsafe { CStr::from_ptr(name) }.to_str().ok()
}

/// Runs a control function body, returning `fallback` if it panics.
fn no_unwind<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

#[no_mangle]
pub extern "C" fn swze_call_count(function: *const c_char) -> u64 {
    no_unwind(0, || {
        name_argument(function)
            .and_then(Api::from_name)
            .map_or(0, calls::call_count)
    })
}

#[no_mangle]
pub extern "C" fn swze_counters_reset() {
    no_unwind((), || {
        calls::reset_call_counts();
        policy::reset_route_counts();
        for counter in &LIVE {
            counter.peak.store(counter.live.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    })
}

#[no_mangle]
pub extern "C" fn swze_live_count(kind: *const c_char) -> u64 {
    no_unwind(0, || {
        name_argument(kind)
            .and_then(kind_from_name)
            .map_or(0, |kind| LIVE[kind as usize].live.load(Ordering::Relaxed))
    })
}

#[no_mangle]
pub extern "C" fn swze_peak_count(kind: *const c_char) -> u64 {
    no_unwind(0, || {
        name_argument(kind)
            .and_then(kind_from_name)
            .map_or(0, |kind| LIVE[kind as usize].peak.load(Ordering::Relaxed))
    })
}

#[no_mangle]
pub extern "C" fn swze_fault_inject(function: *const c_char, nth: u64, result: ze_result_t) -> c_int {
    no_unwind(-1, || match name_argument(function).and_then(Api::from_name) {
        Some(api) if calls::arm_fault(api, nth, result) => 0,
        _ => -1,
    })
}

#[no_mangle]
pub extern "C" fn swze_fault_clear() {
    no_unwind((), calls::clear_faults)
}

#[no_mangle]
pub extern "C" fn swze_set_copy_bandwidth(bytes_per_second: u64) {
    no_unwind((), || settings::set_copy_bandwidth(bytes_per_second))
}

/// "cpu" or "cuda"; NULL before a backend started (at the first `zeInit`).
#[no_mangle]
pub extern "C" fn swze_backend() -> *const c_char {
    no_unwind(std::ptr::null(), || choice::started().map_or(std::ptr::null(), |backend| backend.name().as_ptr()))
}

#[no_mangle]
pub extern "C" fn swze_set_inline(on: c_int) {
    no_unwind((), || settings::set_inline_mode(on != 0))
}

#[no_mangle]
pub extern "C" fn swze_set_bandwidth_model(on: c_int) {
    no_unwind((), || settings::set_bandwidth_model(on != 0))
}

/// The model's name (`SWZE_DEVICE_MODEL`); NULL before a backend started.
#[no_mangle]
pub extern "C" fn swze_device_model() -> *const c_char {
    no_unwind(std::ptr::null(), || {
        choice::started().map_or(std::ptr::null(), |backend| backend.product().key.as_ptr())
    })
}

/// The rate the bandwidth model gives a part of the machine, bytes per
/// second (its public figure divided by the scale); 0 for an unknown name
/// or before a backend started.
#[no_mangle]
pub extern "C" fn swze_model_rate(part: *const c_char) -> f64 {
    no_unwind(0.0, || {
        let Some(backend) = choice::started() else { return 0.0 };
        name_argument(part)
            .and_then(|name| backend.product().figures.by_name(name))
            .map_or(0.0, |gigabytes| gigabytes * 1e9 / settings::bandwidth_scale())
    })
}

/// A published measurement the model reproduces, GB/s, unscaled; 0 for an
/// unknown name or before a backend started.
#[no_mangle]
pub extern "C" fn swze_model_measured(name: *const c_char) -> f64 {
    no_unwind(0.0, || {
        let Some(backend) = choice::started() else { return 0.0 };
        name_argument(name).and_then(|name| backend.product().figures.measured.by_name(name)).unwrap_or(0.0)
    })
}

/// 1: queues created from now get Intel's copy policies (the default); 0:
/// each copy on its list's own engine, as `SWZE_INTEL_POLICIES=0`.
#[no_mangle]
pub extern "C" fn swze_set_intel_policies(on: c_int) {
    no_unwind((), || policy::set_policies(on != 0))
}

/// Copies routed a way since the last counter reset: "engine", "kernel",
/// "kernel_local", "split", "cpu"; "host_pointer" counts copies whose
/// `malloc`'d side was pinned for them. 0 for an unknown name.
#[no_mangle]
pub extern "C" fn swze_copy_route_count(route: *const c_char) -> u64 {
    no_unwind(0, || name_argument(route).and_then(policy::route_count).unwrap_or(0))
}

/// Bytes copied by the engine of queue (`ordinal`, `index`) of backend
/// unit `unit` (a stack; the cpu backend only), over the process's life.
#[no_mangle]
pub extern "C" fn swze_engine_bytes(unit: u32, ordinal: u32, index: u32) -> u64 {
    no_unwind(0, || choice::started().map_or(0, |backend| backend.engine_bytes(unit as usize, ordinal, index)))
}
