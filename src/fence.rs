//! What keeps one immediate list in order: a barrier before a command
//! appended while earlier work on the list is not known complete.
//!
//! Level Zero runs the commands of a list that is not in-order in any order
//! unless a barrier or an event says otherwise, and Intel's driver uses that
//! freedom: on an immediate list it copies small amounts with the CPU at
//! append time, without waiting for the list's earlier copies
//! (compute-runtime, `preferCopyThroughLockedPtr` and `performCpuMemcpy` in
//! `level_zero/core/source/cmdlist/cmdlist_hw_immediate.inl`), unless a
//! barrier was appended since. The library's ordering (README, "Ordering")
//! and its bookkeeping (a request observed complete proves every earlier one
//! on its list complete) need each list in order, so a command appended to
//! a list whose earlier work is not known complete goes behind a barrier.
//! On an idle list (every earlier request observed complete: synchronous
//! requests) nothing is added. An in-order list (`in_order`) keeps its
//! order itself and never needs one.

use crate::sync::{AtomicBool, AtomicU64, Ordering};

use crate::in_order::Mode;

/// The state of one list. `last` and `fenced` are written under the list's
/// append lock; `done_through` (owned by the caller) by any thread.
#[derive(Default)]
pub(crate) struct Fence {
    /// The ticket of the last command appended that a barrier has not
    /// since covered; 0: none.
    last: AtomicU64,
    /// The last command appended was a barrier: what follows is ordered.
    fenced: AtomicBool,
    /// The list is in-order: it never needs a barrier.
    in_order: bool,
}

impl Fence {
    pub fn new(mode: Mode) -> Fence {
        Fence { in_order: mode.in_order(), ..Fence::default() }
    }

    /// The path its list was created for.
    pub fn mode(&self) -> Mode {
        if self.in_order {
            Mode::InOrder
        } else {
            Mode::Fenced
        }
    }

    /// The list is in-order: `needed` is always false.
    #[inline]
    pub fn in_order(&self) -> bool {
        self.in_order
    }

    /// Whether a command appended now must go behind a barrier: something
    /// appended since the last barrier is not known complete (every request
    /// with a ticket up to `done_through` is).
    #[inline]
    pub fn needed(&self, done_through: u64) -> bool {
        !self.in_order && !self.fenced.load(Ordering::Relaxed) && self.last.load(Ordering::Relaxed) > done_through
    }

    /// A command with `ticket` was appended. An in-order list keeps no
    /// record: `needed` never asks.
    #[inline]
    pub fn appended(&self, ticket: u64) {
        if self.in_order {
            return;
        }
        self.last.fetch_max(ticket, Ordering::Relaxed);
        self.fenced.store(false, Ordering::Relaxed);
    }

    /// A barrier was appended: commands after it come after everything before it.
    #[inline]
    pub fn barrier_appended(&self) {
        self.fenced.store(true, Ordering::Relaxed);
    }
}

/// How a request on the first list is kept in order: that list's fence,
/// the ticket through which its work is known complete, the request's
/// ticket, and whether its completion is credited by that ticket.
pub(crate) struct FirstList<'a> {
    pub fence: &'a Fence,
    pub done_through: u64,
    pub ticket: u64,
    pub credited: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_needs_a_barrier_only_while_earlier_work_is_not_known_complete() {
        let fence = Fence::default();
        assert!(!fence.needed(0), "a new list");
        fence.appended(1);
        assert!(fence.needed(0), "request 1 is outstanding");
        assert!(!fence.needed(1), "request 1 was observed complete");
        fence.barrier_appended();
        assert!(!fence.needed(0), "right after a barrier");
        fence.appended(2);
        assert!(fence.needed(1));
        assert!(!fence.needed(2));
    }

    #[test]
    fn an_in_order_list_never_needs_a_barrier() {
        let fence = Fence::new(Mode::InOrder);
        fence.appended(1);
        fence.appended(2);
        assert!(!fence.needed(0));
    }
}
