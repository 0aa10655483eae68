//! The entry points the driver implements, by name (`Api`, one variant per C
//! function), and what the door (`entry`) keeps per entry point: call
//! counters and armed faults. Below both `entry` (which counts and faults
//! every call) and `control` (which exports them to C), so that imports run
//! one way.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;
use ze_sys::*;

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
    zeDeviceGetModuleProperties,
    zeDeviceGetRootDevice,
    zeContextCreate,
    zeContextCreateEx,
    zeContextDestroy,
    zeContextGetStatus,
    zeContextSystemBarrier,
    zeContextMakeMemoryResident,
    zeContextEvictMemory,
    zeMemAllocShared,
    zeMemAllocDevice,
    zeMemAllocHost,
    zeMemFree,
    zeMemGetAllocProperties,
    zeMemGetAddressRange,
    zeMemFreeExt,
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
    zeCommandListHostSynchronize,
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
    zeInitDrivers,
    zeDriverGetExtensionFunctionAddress,
    zexDriverImportExternalPointer,
    zexDriverReleaseImportedPointer,
    zexDriverGetHostPointerBaseAddress,
    zexCounterBasedEventCreate2,
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

// ---------------------------------------------------------------------------
// Call counters

static CALLS: [AtomicU64; API_COUNT] = [const { AtomicU64::new(0) }; API_COUNT];

#[inline]
pub fn count_call(api: Api) {
    CALLS[api.index()].fetch_add(1, Ordering::Relaxed);
}

pub fn call_count(api: Api) -> u64 {
    CALLS[api.index()].load(Ordering::Relaxed)
}

pub fn reset_call_counts() {
    for calls in &CALLS {
        calls.store(0, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------
// Fault injection

struct Fault {
    api: Api,
    calls_left: u64,
    result: ze_result_t,
}

static FAULTS: Mutex<Vec<Fault>> = Mutex::new(Vec::new());
/// Number of armed faults: lets `take_fault` skip the lock when none is armed.
static FAULTS_ARMED: AtomicUsize = AtomicUsize::new(0);

pub fn arm_fault(api: Api, nth: u64, result: ze_result_t) -> bool {
    if nth == 0 {
        return false;
    }
    let mut faults = FAULTS.lock();
    faults.push(Fault { api, calls_left: nth, result });
    FAULTS_ARMED.store(faults.len(), Ordering::Release);
    true
}

pub fn clear_faults() {
    let mut faults = FAULTS.lock();
    faults.clear();
    FAULTS_ARMED.store(0, Ordering::Release);
}

/// Counts this call against every fault armed for `api`; a fault whose count
/// reaches zero fires (once) and supplies the result of the call.
#[inline]
pub fn take_fault(api: Api) -> Option<ze_result_t> {
    if FAULTS_ARMED.load(Ordering::Acquire) == 0 {
        return None;
    }
    let mut faults = FAULTS.lock();
    let mut fired = None;
    for fault in faults.iter_mut().filter(|fault| fault.api == api) {
        fault.calls_left -= 1;
        if fault.calls_left == 0 && fired.is_none() {
            fired = Some(fault.result);
        }
    }
    faults.retain(|fault| fault.calls_left != 0);
    FAULTS_ARMED.store(faults.len(), Ordering::Release);
    fired
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
