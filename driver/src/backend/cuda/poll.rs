//! Waiting on words the device writes: spin, then yield, then sleep in
//! growing steps, up to a deadline.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::super::SIGNALED;

/// Waits for a word the device writes: spin first (a copy engine answers in
/// microseconds), then yield, then sleep in growing steps; honours `deadline`.
pub fn poll(word: &AtomicU32, deadline: Option<Instant>) -> bool {
    poll_checking(deadline, 32, || word.load(Ordering::Acquire) == SIGNALED)
}

/// The back-off of [`poll`], for any condition on words the device writes.
/// Yielding (which returns at once on an idle core) lasts 20 ms: sleeping
/// earlier made a 64 MiB copy (1.2 ms on the H200) finish up to 250 µs late
/// in the host's eyes, 0.90 of `cuMemcpyAsync`'s bandwidth; after that the
/// host sleeps, as CUDA's blocking sync does for long waits.
pub fn poll_until(deadline: Option<Instant>, done: impl Fn() -> bool) -> bool {
    poll_checking(deadline, 1, done)
}

/// [`poll_until`] checking `done` `checks_per_clock_read` times between two
/// reads of the clock: for a condition as cheap as one load. With a TSC
/// clock (about 40 ns a read on the H200's hosts) this changes nothing
/// measurable; where the clock is a system call (virtual machines without a
/// usable TSC) each read would otherwise delay by a microsecond the moment
/// the host sees a short copy finish.
fn poll_checking(deadline: Option<Instant>, checks_per_clock_read: u32, done: impl Fn() -> bool) -> bool {
    const SPIN: Duration = Duration::from_micros(50);
    const YIELD: Duration = Duration::from_millis(20);
    const LONGEST_SLEEP: Duration = Duration::from_micros(200);
    let start = Instant::now();
    let mut sleep = Duration::from_micros(10);
    let mut spinning = true;
    loop {
        let checks = if spinning { checks_per_clock_read.max(1) } else { 1 };
        for check in 0..checks {
            if done() {
                return true;
            }
            if check + 1 < checks {
                std::hint::spin_loop();
            }
        }
        let now = Instant::now();
        if deadline.is_some_and(|deadline| now >= deadline) {
            return false;
        }
        let waited = now - start;
        spinning = waited < SPIN;
        if spinning {
            std::hint::spin_loop();
        } else if waited < YIELD {
            std::thread::yield_now();
        } else {
            let left = deadline.map_or(sleep, |deadline| deadline.saturating_duration_since(now));
            std::thread::sleep(sleep.min(left));
            sleep = (sleep * 2).min(LONGEST_SLEEP);
        }
    }
}
