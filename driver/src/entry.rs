//! The door every Level Zero call comes through: count it, let an armed fault
//! answer instead, and keep panics on the Rust side of the C boundary.

use std::panic::{catch_unwind, AssertUnwindSafe};

use ze_sys::*;

use crate::calls::{self, Api};

/// What an entry point's body returns: `Ok` is `ZE_RESULT_SUCCESS`, anything
/// else (including `ZE_RESULT_NOT_READY`) travels as `Err`.
pub type ZeResult = Result<(), ze_result_t>;

/// Runs one entry point: counts the call, lets an armed fault answer instead
/// of the body, and turns a panic into `ZE_RESULT_ERROR_UNKNOWN` so that no
/// unwinding ever reaches the loader's C frames.
#[inline]
pub fn guarded(api: Api, body: impl FnOnce() -> ZeResult) -> ze_result_t {
    calls::count_call(api);
    if let Some(injected) = calls::take_fault(api) {
        return injected;
    }
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => ZE_RESULT_SUCCESS,
        Ok(Err(result)) => result,
        Err(_) => ZE_RESULT_ERROR_UNKNOWN,
    }
}

/// Fails with `error` unless `condition` holds; keeps argument checks one line each.
#[inline]
pub fn require(condition: bool, error: ze_result_t) -> ZeResult {
    if condition {
        Ok(())
    } else {
        Err(error)
    }
}
