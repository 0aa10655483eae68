//! Intel's fast path: in-order immediate lists and counter-based events,
//! used when the driver offers them (README, "Driver features used").
//!
//! On an in-order list every command runs after the one before it, so the
//! list needs no barrier to stay in order (`fence`). A counter-based event
//! completes when its list's counter passes the command that signalled it;
//! the host never resets it, and appending it again re-arms it. A request
//! then costs an append and a synchronize, and an event goes back to the
//! recycler as it is.
//!
//! Both come from the same Intel release line: counter-based events are
//! defined for in-order lists (compute-runtime,
//! `level_zero/doc/experimental_extensions/COUNTER_BASED_EVENTS.md`), so a
//! driver that advertises `ZE_experimental_event_pool_counter_based` is
//! taken to accept in-order lists too. Both are newer than the bindings' API
//! 1.4: their items are in `level_zero`.

use ze_sys::*;

use crate::error::ZeError;
use crate::level_zero::{Driver, COMMAND_QUEUE_FLAG_IN_ORDER, COUNTER_BASED_EXTENSION};
use crate::loader::{self, Ze};

/// How a dma keeps its lists in order and learns completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// In-order lists, counter-based events: no barrier, no reset.
    InOrder,
    /// Lists not in order kept so by barriers (`fence`), events reset by the host.
    Fenced,
}

impl Mode {
    /// The mode for a dma of `driver`: `InOrder` where the driver offers
    /// counter-based events, unless `AML_DMA_ZE_COUNTER_EVENTS=0` asks for
    /// the path every driver takes.
    pub fn of(ze: &Ze, driver: Driver) -> Mode {
        if loader::secure_env(c"AML_DMA_ZE_COUNTER_EVENTS").as_deref() == Some("0") {
            return Mode::Fenced;
        }
        if driver.offers_extension(ze, COUNTER_BASED_EXTENSION) {
            Mode::InOrder
        } else {
            Mode::Fenced
        }
    }

    /// Whether a failing list create may be a layer or driver that does not
    /// know the in-order flag (Debian's validation layer, of API 1.4, refuses
    /// it with `INVALID_ENUMERATION`): the dma then takes `Fenced`.
    pub fn refused(self, error: ZeError) -> bool {
        self == Mode::InOrder && error.is_invalid_enumeration()
    }

    pub fn in_order(self) -> bool {
        self == Mode::InOrder
    }

    /// The path in words, for `fprintf` and the create trace.
    pub fn describe(self) -> &'static str {
        match self {
            Mode::InOrder => "in-order lists, counter-based events",
            Mode::Fenced => "lists kept in order by barriers, events reset by the host",
        }
    }

    /// Flags for an immediate list's queue descriptor beyond `base`.
    pub fn queue_flags(self, base: ze_command_queue_flags_t) -> ze_command_queue_flags_t {
        match self {
            Mode::InOrder => base | COMMAND_QUEUE_FLAG_IN_ORDER,
            Mode::Fenced => base,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_in_order_mode_adds_the_flag_and_falls_back_on_its_refusal() {
        let base = ZE_COMMAND_QUEUE_FLAG_EXPLICIT_ONLY;
        assert_eq!(Mode::InOrder.queue_flags(base), base | 2);
        assert_eq!(Mode::Fenced.queue_flags(base), base);
        assert!(Mode::InOrder.refused(ZeError(ZE_RESULT_ERROR_INVALID_ENUMERATION)));
        assert!(!Mode::InOrder.refused(ZeError(ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY)), "a real failure stays one");
        assert!(!Mode::Fenced.refused(ZeError(ZE_RESULT_ERROR_INVALID_ENUMERATION)));
    }
}
