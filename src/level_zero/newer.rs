//! The Level Zero items the library uses that are newer than the Debian
//! headers the bindings come from (API 1.4), with the values of the public
//! `ze_api.h` (in-order lists: API 1.7; counter-based event pools: the
//! experimental extension, API 1.8). `in_order` tells when they are used.

use std::ffi::{c_void, CStr};
use std::ptr;

use ze_sys::*;

/// `ZE_COMMAND_QUEUE_FLAG_IN_ORDER` (`ze_api.h`, API 1.7): for immediate lists.
pub(crate) const COMMAND_QUEUE_FLAG_IN_ORDER: ze_command_queue_flags_t = 1 << 1;

/// `ZE_STRUCTURE_TYPE_COUNTER_BASED_EVENT_POOL_EXP_DESC` (`ze_api.h`).
const COUNTER_BASED_EVENT_POOL_EXP_DESC: ze_structure_type_t = 0x0002_0014;

/// `ZE_EVENT_POOL_COUNTER_BASED_EXP_FLAG_IMMEDIATE` (`ze_api.h`): signalled on
/// immediate lists.
const COUNTER_BASED_IMMEDIATE: u32 = 1 << 0;

/// `ZE_EVENT_POOL_COUNTER_BASED_EXP_NAME` (`ze_api.h`).
pub(crate) const COUNTER_BASED_EXTENSION: &CStr = c"ZE_experimental_event_pool_counter_based";

/// `ze_event_pool_counter_based_exp_desc_t` (`ze_api.h`), chained to an event
/// pool's descriptor through `pNext`.
#[repr(C)]
pub(super) struct CounterBasedPoolDesc {
    stype: ze_structure_type_t,
    p_next: *const c_void,
    flags: u32,
}

/// The descriptor that makes a pool's events counter-based, for immediate lists.
pub(super) static COUNTER_BASED_POOL: CounterBasedPoolDesc =
    CounterBasedPoolDesc { stype: COUNTER_BASED_EVENT_POOL_EXP_DESC, p_next: ptr::null(), flags: COUNTER_BASED_IMMEDIATE };

// SAFETY: a constant descriptor: its only pointer is NULL.
unsafe impl Sync for CounterBasedPoolDesc {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_descriptor_has_the_headers_layout() {
        assert_eq!(std::mem::size_of::<CounterBasedPoolDesc>(), 24);
        assert_eq!(std::mem::offset_of!(CounterBasedPoolDesc, flags), 16);
        assert_eq!(COUNTER_BASED_POOL.flags, 1);
    }
}
