//! The atomics of the lock-free free stack: std's, or loom's when its tests
//! are model-checked (`make loom-check` builds them with `--cfg loom`). Only
//! `free_stack` uses this; the rest of the library keeps std's atomics, so a
//! `--cfg loom` build changes nothing else. Loom is a dev-dependency, hence
//! `test` as well: a non-test build with `--cfg loom` still uses std's.

#[cfg(all(test, loom))]
pub use loom::sync::atomic::{AtomicPtr, Ordering};
#[cfg(not(all(test, loom)))]
pub use std::sync::atomic::{AtomicPtr, Ordering};
