//! The synchronisation that loom must see: std's atomics and parking_lot's
//! mutex, or loom's when the crate's tests are model-checked (`make
//! loom-check` builds them with `--cfg loom`). The free stack's atomics come
//! from here, and so do the locks and shared atomics of a dma over several
//! queues (`lanes`, `placement`, `fence`, the recycler's books), so that the
//! loom test of the lanes (`lanes_loom`) runs their real code: loom runs one
//! thread at a time on one OS thread, so a real lock held across a loom
//! switch would block it for good, and an atomic it does not see is one it
//! does not explore. Outside `cfg(all(test, loom))` these are plain
//! re-exports, so the library and its instruction counts are the same.
//! Loom is a dev-dependency, hence `test` as well: a non-test build with
//! `--cfg loom` still uses std's.

#[cfg(all(test, loom))]
pub use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};
#[cfg(not(all(test, loom)))]
pub use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};

#[cfg(not(all(test, loom)))]
pub use parking_lot::{Mutex, MutexGuard};
#[cfg(all(test, loom))]
pub use model::{Mutex, MutexGuard};

/// Loom's mutex with parking_lot's interface (`lock` returns the guard):
/// nothing here panics while holding it, so it is never poisoned.
#[cfg(all(test, loom))]
mod model {
    pub use loom::sync::MutexGuard;

    #[derive(Debug)]
    pub struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub fn new(value: T) -> Mutex<T> {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().expect("not poisoned")
        }

        pub fn get_mut(&mut self) -> &mut T {
            self.0.get_mut().expect("not poisoned")
        }
    }

    impl<T: Default> Default for Mutex<T> {
        fn default() -> Mutex<T> {
            Mutex::new(T::default())
        }
    }
}
