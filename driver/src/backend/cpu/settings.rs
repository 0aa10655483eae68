//! The CPU backend's execution settings, set from the environment and from
//! the control API: the copy bandwidth cap and inline execution. Read on the
//! hot path with one relaxed load each.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static COPY_BANDWIDTH: AtomicU64 = AtomicU64::new(0);
static INLINE: AtomicBool = AtomicBool::new(false);

/// Bytes per second a copy may move, 0 for uncapped; read when a copy starts.
#[inline]
pub fn copy_bandwidth() -> u64 {
    COPY_BANDWIDTH.load(Ordering::Relaxed)
}

pub fn set_copy_bandwidth(bytes_per_second: u64) {
    COPY_BANDWIDTH.store(bytes_per_second, Ordering::Relaxed);
}

pub fn inline_mode() -> bool {
    INLINE.load(Ordering::Relaxed)
}

pub fn set_inline_mode(on: bool) {
    INLINE.store(on, Ordering::Relaxed);
}
