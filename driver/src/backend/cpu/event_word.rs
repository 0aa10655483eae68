//! An event's word on the CPU: a signal publishes the writes before it and
//! wakes sleepers; a host wait sleeps on the word (a futex), never spins.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::futex;
use crate::backend::{EventCell, SIGNALED};

/// Publishes every write made before it (the copied bytes) to whoever
/// observes the event signalled, and wakes sleepers if there are any.
// Called on every command: kept inlinable across modules (the crate
// builds in several codegen units).
#[inline]
pub fn signal(cell: &EventCell) {
    cell.value.store(SIGNALED, Ordering::SeqCst);
    // SeqCst pairs with the sleeper's increment-then-check in `wait`:
    // either we see the sleeper, or the sleeper sees the value.
    if cell.sleepers.load(Ordering::SeqCst) > 0 {
        futex::wake_all(&cell.value);
    }
}

/// Blocks until signalled or until `deadline`; true if signalled.
// Called on every command: kept inlinable across modules (the crate
// builds in several codegen units).
#[inline]
pub fn wait(cell: &EventCell, deadline: Option<Instant>) -> bool {
    if cell.is_signaled() {
        return true;
    }
    cell.sleepers.fetch_add(1, Ordering::SeqCst);
    let signaled = loop {
        let value = cell.value.load(Ordering::SeqCst);
        if value == SIGNALED {
            break true;
        }
        let timeout = match deadline {
            None => None,
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => break cell.is_signaled(),
            },
        };
        futex::wait(&cell.value, value, timeout);
    };
    cell.sleepers.fetch_sub(1, Ordering::SeqCst);
    signaled
}
