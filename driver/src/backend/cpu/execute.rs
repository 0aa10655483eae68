//! Running one command on the calling thread (an engine thread, or the
//! appending thread in inline and synchronous modes).

use std::sync::atomic::Ordering;

use super::event_word::{signal, wait};
use super::route::Router;
use crate::backend::policy::{Route, Waits};
use crate::backend::{region, Action, Command, RESET};

/// Where a command's copy goes: decided at submit (`Router::route`) for a
/// plain copy, at execution for a region copy.
// Called at every submit: kept inlinable across modules, as `execute` below.
#[inline]
pub fn route_of(command: &Command, router: &Router) -> Option<Route> {
    match command.action {
        Action::Copy { destination, source, size } => {
            // SAFETY: the command's guard keeps its cells alive.
            let completed = command.waits.iter().all(|waited| unsafe { waited.cell() }.is_signaled());
            let waits = Waits { count: command.waits.len(), completed };
            Some(router.route(destination, source, size, waits))
        }
        _ => None,
    }
}

/// Runs one command on the current thread: waits, action (a copy along
/// `route`, or for a region copy on the queue's engine or as a kernel),
/// then signal.
// Called on every command: kept inlinable across modules (the crate
// builds in several codegen units).
#[inline]
pub fn execute(mut command: Command, router: &Router, route: Option<Route>) {
    for &waited in &command.waits {
        // SAFETY: the command's guard keeps its cells alive until it is dropped below.
        wait(unsafe { waited.cell() }, None);
    }
    match command.action {
        Action::Nothing => {}
        Action::Copy { destination, source, size } => {
            // SAFETY: the front checked both pointers non-NULL and the ranges
            // disjoint; the Level Zero contract makes the caller keep both
            // regions valid until the command has executed.
            unsafe { router.copy(route.unwrap_or(Route::Engine), destination as *mut u8, source as *const u8, size) }
        }
        Action::CopyRegion(copy) => {
            // Whole on this queue: a copy kernel on a compute queue, else its engine.
            // Intel's driver never copies a region with the CPU.
            let waits = Waits { count: 1, completed: false };
            let route = router.route(copy.destination, copy.source, copy.width * copy.height * copy.depth, waits);
            let mut transfer = router.region_transfer(route);
            // SAFETY: checked by `region::check` at append time; the caller
            // keeps both regions valid until execution (Level Zero contract).
            unsafe { region::execute(&copy, |to, from, length| transfer.copy(to, from, length)) }
        }
        Action::Fill { destination, size, ref pattern } => {
            // SAFETY: the front checked the pointer non-NULL; the Level Zero
            // contract makes the caller keep the region valid until it ran.
            unsafe { crate::backend::fill_bytes(destination as *mut u8, size, pattern) }
        }
        // SAFETY: as for the waits.
        Action::ResetEvent(target) => unsafe { target.cell() }.value.store(RESET, Ordering::Release),
        Action::WriteTimestamp { destination } => {
            // SAFETY: the front checked the pointer non-NULL; the caller
            // keeps its 8 bytes valid until the command ran. Unaligned is
            // allowed: nothing in the spec asks for alignment.
            unsafe { (destination as *mut u64).write_unaligned(global_timestamp()) }
        }
    }
    command.guard.finished();
    if let Some(signalled) = command.signal {
        // SAFETY: as for the waits.
        signal(unsafe { signalled.cell() });
    }
}

/// The global timestamp: `CLOCK_MONOTONIC` in nanoseconds, which is what
/// `timerResolution` = 1 and 64 valid bits describe.
fn global_timestamp() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid out-pointer; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

