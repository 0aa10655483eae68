//! The dma's append lock: `aml_dma_ze_data.lock`, the `pthread_mutex_t` C
//! sees (a custom operator runs under it and appends to `command_list`). It
//! serialises appends to the dma's first list and the recycler's pops.
//! `AppendLock` keeps the list with its lock, so that locking is safe; its
//! guard gives the first list's `Appender` and is the evidence
//! `Recycler::take` asks for.
//!
//! Under loom (`cfg(all(test, loom))`, the lanes' model check) it locks a
//! loom mutex of its own instead: loom runs its threads one at a time on one
//! OS thread, so a pthread mutex held across a loom switch would block that
//! thread for good, and loom would not see the lock.

use std::marker::PhantomData;

use crate::level_zero::{Appender, ImmediateList};

/// The dma's first list and the mutex that serialises its appends.
pub(crate) struct AppendLock {
    list: ImmediateList,
    #[cfg_attr(all(test, loom), allow(dead_code))]
    mutex: *mut libc::pthread_mutex_t,
    #[cfg(all(test, loom))]
    model: loom::sync::Mutex<()>,
}

// SAFETY: a pthread mutex may be locked from any thread; the list is `Sync`.
unsafe impl Send for AppendLock {}
// SAFETY: as above.
unsafe impl Sync for AppendLock {}

impl AppendLock {
    /// # Safety
    /// `mutex` is initialised before the first `lock` and outlives the
    /// result, and every append to `list` is made under it (C's operators
    /// included).
    pub(crate) unsafe fn new(list: ImmediateList, mutex: *mut libc::pthread_mutex_t) -> AppendLock {
        AppendLock {
            list,
            mutex,
            #[cfg(all(test, loom))]
            model: loom::sync::Mutex::new(()),
        }
    }

    /// Locks the dma's append lock.
    #[inline(always)]
    pub(crate) fn lock(&self) -> AppendGuard<'_> {
        #[cfg(not(all(test, loom)))]
        // SAFETY: an initialised mutex that outlives `self` (`new`'s contract).
        unsafe { libc::pthread_mutex_lock(self.mutex) };
        AppendGuard {
            first: self,
            #[cfg(all(test, loom))]
            _model: self.model.lock().expect("never poisoned: nothing panics holding it"),
            _one_thread: PhantomData,
        }
    }

    /// The list, to name or query, not to append to.
    #[inline(always)]
    pub(crate) fn list(&self) -> &ImmediateList {
        &self.list
    }

    /// The right to append, for an operator C calls inside request create.
    ///
    /// # Safety
    /// The caller runs while this lock is held (by request create), and drops
    /// the appender before it is let go of.
    pub(crate) unsafe fn appender_under_lock(&self) -> Appender<'_> {
        // SAFETY: the caller's contract: appends are serialised by the lock held.
        unsafe { self.list.appender() }
    }
}

/// Holds the dma's append lock; unlocks on drop, on the thread that locked
/// (not `Send`).
pub(crate) struct AppendGuard<'a> {
    first: &'a AppendLock,
    /// Under loom, the lock itself (let go of when the guard drops).
    #[cfg(all(test, loom))]
    _model: loom::sync::MutexGuard<'a, ()>,
    _one_thread: PhantomData<*const ()>,
}

impl AppendGuard<'_> {
    /// The dma's first list, whose appends this lock serialises.
    #[inline(always)]
    pub(crate) fn first_list(&self) -> Appender<'_> {
        // SAFETY: the mutex that serialises appends to the list is held until
        // this guard drops, and the appender borrows the guard.
        unsafe { self.first.list.appender() }
    }
}

impl Drop for AppendGuard<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        #[cfg(not(all(test, loom)))]
        // SAFETY: locked by `AppendLock::lock` on this thread.
        unsafe { libc::pthread_mutex_unlock(self.first.mutex) };
    }
}
