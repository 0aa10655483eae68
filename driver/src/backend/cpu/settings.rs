//! The CPU backend's execution settings, set from the environment and from
//! the control API: the per-engine copy cap, the bandwidth model and its
//! scale, inline execution. Read on the hot path with one relaxed load each.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::backend::model::DEFAULT_SCALE;

static COPY_BANDWIDTH: AtomicU64 = AtomicU64::new(0);
static BANDWIDTH_MODEL: AtomicBool = AtomicBool::new(false);
/// The scale's `f64` bits; 0 stands for the default.
static BANDWIDTH_SCALE: AtomicU64 = AtomicU64::new(0);
static INLINE: AtomicBool = AtomicBool::new(false);

/// Bytes per second one engine may move, 0 for uncapped (or, under the
/// bandwidth model, the model's engine rate); read when a copy starts.
#[inline]
pub fn copy_bandwidth() -> u64 {
    COPY_BANDWIDTH.load(Ordering::Relaxed)
}

pub fn set_copy_bandwidth(bytes_per_second: u64) {
    COPY_BANDWIDTH.store(bytes_per_second, Ordering::Relaxed);
}

/// Whether copies are held to the device model's links, host and engines.
#[inline]
pub fn bandwidth_model() -> bool {
    BANDWIDTH_MODEL.load(Ordering::Relaxed)
}

pub fn set_bandwidth_model(on: bool) {
    BANDWIDTH_MODEL.store(on, Ordering::Relaxed);
}

/// What the model's public figures are divided by.
pub fn bandwidth_scale() -> f64 {
    match BANDWIDTH_SCALE.load(Ordering::Relaxed) {
        0 => DEFAULT_SCALE,
        bits => f64::from_bits(bits),
    }
}

/// `scale` > 0 and finite (the caller checks).
pub fn set_bandwidth_scale(scale: f64) {
    BANDWIDTH_SCALE.store(scale.to_bits(), Ordering::Relaxed);
}

pub fn inline_mode() -> bool {
    INLINE.load(Ordering::Relaxed)
}

pub fn set_inline_mode(on: bool) {
    INLINE.store(on, Ordering::Relaxed);
}
