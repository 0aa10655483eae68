//! The bandwidth cap of one engine. A queue (device, ordinal, index) is one
//! copy engine, as on a GPU: every list created on it shares its rate, while
//! lists on different queues each get the whole cap. The engine hands out
//! time in slots: a chunk of a copy reserves the next `len / cap` seconds of
//! its engine, is copied, then waits for the end of its slot. One list alone
//! reserves its slots back to back, so a copy of `size` bytes still takes
//! `size / cap`, as before engines were modelled.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::settings;

const SLACK: Duration = Duration::from_millis(2);

/// The time line of one engine.
#[derive(Default)]
pub struct CopyEngine {
    /// When the last slot handed out ends.
    busy_until: Mutex<Option<Instant>>,
}

/// The engine of queue `index` of group `ordinal` of `device`: the same one
/// for every list created on that queue, for the life of the process.
pub fn engine(device: usize, ordinal: u32, index: u32) -> Arc<CopyEngine> {
    type Engines = Mutex<HashMap<(usize, u32, u32), Arc<CopyEngine>>>;
    static ENGINES: OnceLock<Engines> = OnceLock::new();
    let engines = ENGINES.get_or_init(Default::default);
    Arc::clone(engines.lock().entry((device, ordinal, index)).or_default())
}

impl CopyEngine {
    /// Reserves the engine for `bytes` at `bandwidth` bytes/s: returns the
    /// end of the slot, which starts when the previous one ends or now.
    fn reserve(&self, bytes: usize, bandwidth: u64) -> Instant {
        let length = Duration::from_secs_f64(bytes as f64 / bandwidth as f64);
        let now = Instant::now();
        let mut busy_until = self.busy_until.lock();
        // A slot may start up to SLACK in the past: the sleep that waited for
        // the previous slot overshoots, and that lost time is made up; an
        // engine idle for longer starts afresh and banks nothing.
        let start = match *busy_until {
            Some(end) if end + SLACK > now => end,
            _ => now,
        };
        let end = start + length;
        *busy_until = Some(end);
        end
    }

    /// Copies with one memcpy, or, under a bandwidth cap, in chunks that
    /// each wait for their slot of this engine.
    ///
    /// # Safety
    /// `source` valid for `size` reads, `destination` for `size` writes, disjoint.
    pub unsafe fn copy(&self, destination: *mut u8, source: *const u8, size: usize) {
        let bandwidth = settings::copy_bandwidth();
        if bandwidth == 0 {
            // SAFETY: forwarded contract.
            unsafe { std::ptr::copy_nonoverlapping(source, destination, size) };
            return;
        }
        // About a millisecond of transfer per chunk: smooth, yet few wake-ups.
        let chunk = (bandwidth / 1000).max(4096) as usize;
        let mut done = 0;
        while done < size {
            let length = chunk.min(size - done);
            let due = self.reserve(length, bandwidth);
            // SAFETY: done + length <= size, within the caller's ranges.
            unsafe { std::ptr::copy_nonoverlapping(source.add(done), destination.add(done), length) };
            done += length;
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_of_one_engine_follow_each_other_and_engines_are_per_queue() {
        let engine = CopyEngine::default();
        let first = engine.reserve(1000, 1_000_000); // 1 ms
        let second = engine.reserve(1000, 1_000_000);
        assert!(second >= first + Duration::from_micros(999), "the second slot starts when the first ends");
        assert!(Arc::ptr_eq(&super::engine(0, 1, 2), &super::engine(0, 1, 2)));
        assert!(!Arc::ptr_eq(&super::engine(0, 1, 2), &super::engine(0, 1, 3)));
        assert!(!Arc::ptr_eq(&super::engine(0, 1, 2), &super::engine(1, 1, 2)));
    }
}
