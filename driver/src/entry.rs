//! The door every Level Zero call comes through: count it, let an armed fault
//! answer instead, and keep panics on the Rust side of the C boundary.

use std::panic::{catch_unwind, AssertUnwindSafe};

use ze_sys::*;

use crate::control;

/// Defines `Api`, one variant per entry point the driver implements, and the
/// table of their C names (what `swze_call_count` and `SWZE_FAULT` accept).
macro_rules! api_functions {
    ($($name:ident),* $(,)?) => {
        #[allow(non_camel_case_types, clippy::enum_variant_names)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Api { $($name),* }

        pub const API_NAMES: &[&str] = &[$(stringify!($name)),*];

        /// Every variant, in the order of `API_NAMES`.
        const ALL_APIS: &[Api] = &[$(Api::$name),*];
    };
}

api_functions! {
    zeInit,
    zeDriverGet,
    zeDriverGetApiVersion,
    zeDriverGetProperties,
    zeDeviceGet,
    zeDeviceGetSubDevices,
    zeDeviceGetProperties,
    zeDeviceGetCommandQueueGroupProperties,
    zeDeviceGetMemoryProperties,
    zeDriverGetIpcProperties,
    zeDriverGetExtensionProperties,
    zeDeviceGetComputeProperties,
    zeDeviceGetCacheProperties,
    zeDeviceGetImageProperties,
    zeDeviceCanAccessPeer,
    zeDeviceGetP2PProperties,
    zeDeviceGetMemoryAccessProperties,
    zeContextCreate,
    zeContextCreateEx,
    zeContextDestroy,
    zeContextGetStatus,
    zeContextSystemBarrier,
    zeMemAllocShared,
    zeMemAllocDevice,
    zeMemAllocHost,
    zeMemFree,
    zeMemGetAllocProperties,
    zeMemGetAddressRange,
    zeCommandListCreateImmediate,
    zeCommandListDestroy,
    zeCommandListAppendBarrier,
    zeCommandListAppendMemoryRangesBarrier,
    zeCommandListAppendMemoryCopy,
    zeCommandListAppendMemoryCopyRegion,
    zeCommandListAppendSignalEvent,
    zeCommandListAppendWaitOnEvents,
    zeCommandListAppendEventReset,
    zeCommandListCreate,
    zeCommandListClose,
    zeCommandListReset,
    zeCommandListAppendMemoryFill,
    zeCommandListAppendMemoryPrefetch,
    zeCommandListAppendMemAdvise,
    zeCommandListAppendMemoryCopyFromContext,
    zeCommandListAppendWriteGlobalTimestamp,
    zeCommandQueueCreate,
    zeCommandQueueDestroy,
    zeCommandQueueExecuteCommandLists,
    zeCommandQueueSynchronize,
    zeFenceCreate,
    zeFenceDestroy,
    zeFenceHostSynchronize,
    zeFenceQueryStatus,
    zeFenceReset,
    zeEventPoolCreate,
    zeEventPoolDestroy,
    zeEventCreate,
    zeEventDestroy,
    zeEventHostSignal,
    zeEventHostSynchronize,
    zeEventQueryStatus,
    zeEventHostReset,
    zeVirtualMemReserve,
    zeVirtualMemFree,
    zeVirtualMemQueryPageSize,
    zeVirtualMemMap,
    zeVirtualMemUnmap,
    zeVirtualMemSetAccessAttribute,
    zeVirtualMemGetAccessAttribute,
    zePhysicalMemCreate,
    zePhysicalMemDestroy,
}

pub const API_COUNT: usize = API_NAMES.len();

impl Api {
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_name(name: &str) -> Option<Api> {
        let position = API_NAMES.iter().position(|known| *known == name)?;
        Some(ALL_APIS[position])
    }
}

/// What an entry point's body returns: `Ok` is `ZE_RESULT_SUCCESS`, anything
/// else (including `ZE_RESULT_NOT_READY`) travels as `Err`.
pub type ZeResult = Result<(), ze_result_t>;

/// Runs one entry point: counts the call, lets an armed fault answer instead
/// of the body, and turns a panic into `ZE_RESULT_ERROR_UNKNOWN` so that no
/// unwinding ever reaches the loader's C frames.
#[inline]
pub fn guarded(api: Api, body: impl FnOnce() -> ZeResult) -> ze_result_t {
    control::count_call(api);
    if let Some(injected) = control::take_fault(api) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_variants_agree() {
        for (i, name) in API_NAMES.iter().enumerate() {
            let api = Api::from_name(name).unwrap();
            assert_eq!(api.index(), i, "{name}");
            assert_eq!(format!("{api:?}"), *name);
        }
        assert_eq!(Api::from_name("zeNoSuchThing"), None);
    }
}
