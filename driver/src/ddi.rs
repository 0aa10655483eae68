//! The exported `ze*/zet*/zes*Get...ProcAddrTable` functions through which the
//! loader finds the driver's entry points. The loader insists on all 46 of
//! them (see `docs/abi.md`); the tools (zet) and sysman (zes) tables stay
//! empty, which the loader reports to applications as UNSUPPORTED_FEATURE.
//! These are the only `ze*` symbols the library exports, so nothing here
//! can ever resolve to the loader's functions of the same name.

use std::panic::{catch_unwind, AssertUnwindSafe};

use ze_sys::*;

use crate::newer;
use crate::api::{append, command_list, command_queue, context, device, driver, event, fence, host_pointer, memory, virtual_memory};

fn major(version: ze_api_version_t) -> u32 {
    version >> 16
}

fn minor(version: ze_api_version_t) -> u32 {
    version & 0xffff
}

/// Zeroes the caller's table and lets `fill` set our entries, after checking
/// that the caller's table is at least as new as ours (ours must fit in it).
///
/// # Safety
/// If non-NULL, `table` must be valid for a write of `T`.
unsafe fn fill_table<T: Default>(version: ze_api_version_t, table: *mut T, fill: impl FnOnce(&mut T)) -> ze_result_t {
    let result = catch_unwind(AssertUnwindSafe(|| {
        if table.is_null() {
            return ZE_RESULT_ERROR_INVALID_NULL_POINTER;
        }
        if major(version) != major(ZE_API_VERSION_CURRENT) || minor(version) < minor(ZE_API_VERSION_CURRENT) {
            return ZE_RESULT_ERROR_UNSUPPORTED_VERSION;
        }
        // SAFETY: non-NULL, and valid for a `T` by the caller's contract.
        let table = unsafe { &mut *table };
        *table = T::default();
        fill(table);
        ZE_RESULT_SUCCESS
    }));
    result.unwrap_or(ZE_RESULT_ERROR_UNKNOWN)
}

/// A table getter may go on with `newer` entries: the table beyond its 1.4
/// entries (`crate::newer`), written only when the loader's version has them.
macro_rules! ddi_getters {
    ($($export:ident($table:ty) $(|$t:ident| $fill:block)?
       $(newer($since:expr, $newer:ty) |$n:ident| $newer_fill:block)?;)*) => {
        $(
            /// Called by the Level Zero loader with its API version.
            ///
            /// # Safety
            /// `table` must be NULL or valid for writing the table of
            /// `version` (a loader's table of its own version).
            #[no_mangle]
            pub unsafe extern "C" fn $export(version: ze_api_version_t, table: *mut $table) -> ze_result_t {
                #[allow(unused_variables)]
                // SAFETY: forwarded contract.
                let result = unsafe { fill_table(version, table, |table: &mut $table| { $(let $t = table; $fill)? }) };
                $(
                    if result == ZE_RESULT_SUCCESS && minor(version) >= minor($since) {
                        // SAFETY: the table was non-NULL (fill_table succeeded), and a
                        // table of a version of at least `$since` has these entries.
                        let $n = unsafe { &mut *table.cast::<$newer>() };
                        $newer_fill
                    }
                )?
                result
            }
        )*
        /// Every exported getter's name, for the test that checks the set.
        #[cfg(test)]
        pub const GETTER_NAMES: &[&str] = &[$(stringify!($export)),*];
    };
}

ddi_getters! {
    zeGetGlobalProcAddrTable(ze_global_dditable_t) |t| {
        t.pfnInit = Some(driver::ze_init);
    } newer(newer::ZE_API_VERSION_1_10, newer::GlobalTable) |t| {
        t.pfnInitDrivers = Some(driver::ze_init_drivers);
    };
    zeGetDriverProcAddrTable(ze_driver_dditable_t) |t| {
        t.pfnGet = Some(driver::ze_driver_get);
        t.pfnGetApiVersion = Some(driver::ze_driver_get_api_version);
        t.pfnGetProperties = Some(driver::ze_driver_get_properties);
        t.pfnGetIpcProperties = Some(driver::ze_driver_get_ipc_properties);
        t.pfnGetExtensionProperties = Some(driver::ze_driver_get_extension_properties);
        t.pfnGetExtensionFunctionAddress = Some(host_pointer::ze_driver_get_extension_function_address);
    };
    zeGetDeviceProcAddrTable(ze_device_dditable_t) |t| {
        t.pfnGet = Some(device::ze_device_get);
        t.pfnGetSubDevices = Some(device::ze_device_get_sub_devices);
        t.pfnGetProperties = Some(device::ze_device_get_properties);
        t.pfnGetCommandQueueGroupProperties = Some(device::ze_device_get_command_queue_group_properties);
        t.pfnGetMemoryProperties = Some(device::ze_device_get_memory_properties);
        t.pfnGetComputeProperties = Some(device::ze_device_get_compute_properties);
        t.pfnGetCacheProperties = Some(device::ze_device_get_cache_properties);
        t.pfnGetImageProperties = Some(device::ze_device_get_image_properties);
        t.pfnCanAccessPeer = Some(device::ze_device_can_access_peer);
        t.pfnGetP2PProperties = Some(device::ze_device_get_p2p_properties);
        t.pfnGetMemoryAccessProperties = Some(device::ze_device_get_memory_access_properties);
        t.pfnGetModuleProperties = Some(device::ze_device_get_module_properties);
    } newer(newer::ZE_API_VERSION_1_7, newer::DeviceTable) |t| {
        t.pfnGetRootDevice = Some(device::ze_device_get_root_device);
    };
    zeGetContextProcAddrTable(ze_context_dditable_t) |t| {
        t.pfnCreate = Some(context::ze_context_create);
        t.pfnDestroy = Some(context::ze_context_destroy);
        t.pfnSystemBarrier = Some(context::ze_context_system_barrier);
        t.pfnCreateEx = Some(context::ze_context_create_ex);
        t.pfnGetStatus = Some(context::ze_context_get_status);
        t.pfnMakeMemoryResident = Some(context::ze_context_make_memory_resident);
        t.pfnEvictMemory = Some(context::ze_context_evict_memory);
    };
    zeGetCommandQueueProcAddrTable(ze_command_queue_dditable_t) |t| {
        t.pfnCreate = Some(command_queue::ze_command_queue_create);
        t.pfnDestroy = Some(command_queue::ze_command_queue_destroy);
        t.pfnExecuteCommandLists = Some(command_queue::ze_command_queue_execute_command_lists);
        t.pfnSynchronize = Some(command_queue::ze_command_queue_synchronize);
    };
    zeGetCommandListProcAddrTable(ze_command_list_dditable_t) |t| {
        t.pfnCreateImmediate = Some(command_list::ze_command_list_create_immediate);
        t.pfnDestroy = Some(command_list::ze_command_list_destroy);
        t.pfnAppendBarrier = Some(append::ze_command_list_append_barrier);
        t.pfnAppendMemoryRangesBarrier = Some(append::ze_command_list_append_memory_ranges_barrier);
        t.pfnAppendMemoryCopy = Some(append::ze_command_list_append_memory_copy);
        t.pfnAppendMemoryCopyRegion = Some(append::ze_command_list_append_memory_copy_region);
        t.pfnAppendSignalEvent = Some(append::ze_command_list_append_signal_event);
        t.pfnAppendWaitOnEvents = Some(append::ze_command_list_append_wait_on_events);
        t.pfnAppendEventReset = Some(append::ze_command_list_append_event_reset);
        t.pfnCreate = Some(command_list::ze_command_list_create);
        t.pfnClose = Some(command_list::ze_command_list_close);
        t.pfnReset = Some(command_list::ze_command_list_reset);
        t.pfnAppendMemoryFill = Some(append::ze_command_list_append_memory_fill);
        t.pfnAppendMemoryPrefetch = Some(append::ze_command_list_append_memory_prefetch);
        t.pfnAppendMemAdvise = Some(append::ze_command_list_append_mem_advise);
        t.pfnAppendMemoryCopyFromContext = Some(append::ze_command_list_append_memory_copy_from_context);
        t.pfnAppendWriteGlobalTimestamp = Some(append::ze_command_list_append_write_global_timestamp);
    } newer(newer::ZE_API_VERSION_1_6, newer::CommandListTable) |t| {
        t.pfnHostSynchronize = Some(command_list::ze_command_list_host_synchronize);
    };
    zeGetEventProcAddrTable(ze_event_dditable_t) |t| {
        t.pfnCreate = Some(event::ze_event_create);
        t.pfnDestroy = Some(event::ze_event_destroy);
        t.pfnHostSignal = Some(event::ze_event_host_signal);
        t.pfnHostSynchronize = Some(event::ze_event_host_synchronize);
        t.pfnQueryStatus = Some(event::ze_event_query_status);
        t.pfnHostReset = Some(event::ze_event_host_reset);
    };
    zeGetEventPoolProcAddrTable(ze_event_pool_dditable_t) |t| {
        t.pfnCreate = Some(event::ze_event_pool_create);
        t.pfnDestroy = Some(event::ze_event_pool_destroy);
    };
    zeGetFenceProcAddrTable(ze_fence_dditable_t) |t| {
        t.pfnCreate = Some(command_queue::ze_fence_create);
        t.pfnDestroy = Some(fence::ze_fence_destroy);
        t.pfnHostSynchronize = Some(fence::ze_fence_host_synchronize);
        t.pfnQueryStatus = Some(fence::ze_fence_query_status);
        t.pfnReset = Some(fence::ze_fence_reset);
    };
    zeGetImageProcAddrTable(ze_image_dditable_t);
    zeGetKernelProcAddrTable(ze_kernel_dditable_t);
    zeGetMemProcAddrTable(ze_mem_dditable_t) |t| {
        t.pfnAllocShared = Some(memory::ze_mem_alloc_shared);
        t.pfnAllocDevice = Some(memory::ze_mem_alloc_device);
        t.pfnAllocHost = Some(memory::ze_mem_alloc_host);
        t.pfnFree = Some(memory::ze_mem_free);
        t.pfnGetAllocProperties = Some(memory::ze_mem_get_alloc_properties);
        t.pfnGetAddressRange = Some(memory::ze_mem_get_address_range);
        t.pfnFreeExt = Some(memory::ze_mem_free_ext);
    };
    zeGetModuleProcAddrTable(ze_module_dditable_t);
    zeGetModuleBuildLogProcAddrTable(ze_module_build_log_dditable_t);
    zeGetPhysicalMemProcAddrTable(ze_physical_mem_dditable_t) |t| {
        t.pfnCreate = Some(virtual_memory::ze_physical_mem_create);
        t.pfnDestroy = Some(virtual_memory::ze_physical_mem_destroy);
    };
    zeGetSamplerProcAddrTable(ze_sampler_dditable_t);
    zeGetVirtualMemProcAddrTable(ze_virtual_mem_dditable_t) |t| {
        t.pfnReserve = Some(virtual_memory::ze_virtual_mem_reserve);
        t.pfnFree = Some(virtual_memory::ze_virtual_mem_free);
        t.pfnQueryPageSize = Some(virtual_memory::ze_virtual_mem_query_page_size);
        t.pfnMap = Some(virtual_memory::ze_virtual_mem_map);
        t.pfnUnmap = Some(virtual_memory::ze_virtual_mem_unmap);
        t.pfnSetAccessAttribute = Some(virtual_memory::ze_virtual_mem_set_access_attribute);
        t.pfnGetAccessAttribute = Some(virtual_memory::ze_virtual_mem_get_access_attribute);
    };

    zetGetDeviceProcAddrTable(zet_device_dditable_t);
    zetGetContextProcAddrTable(zet_context_dditable_t);
    zetGetCommandListProcAddrTable(zet_command_list_dditable_t);
    zetGetKernelProcAddrTable(zet_kernel_dditable_t);
    zetGetModuleProcAddrTable(zet_module_dditable_t);
    zetGetDebugProcAddrTable(zet_debug_dditable_t);
    zetGetMetricProcAddrTable(zet_metric_dditable_t);
    zetGetMetricGroupProcAddrTable(zet_metric_group_dditable_t);
    zetGetMetricQueryProcAddrTable(zet_metric_query_dditable_t);
    zetGetMetricQueryPoolProcAddrTable(zet_metric_query_pool_dditable_t);
    zetGetMetricStreamerProcAddrTable(zet_metric_streamer_dditable_t);
    zetGetTracerExpProcAddrTable(zet_tracer_exp_dditable_t);

    zesGetDeviceProcAddrTable(zes_device_dditable_t);
    zesGetDriverProcAddrTable(zes_driver_dditable_t);
    zesGetDiagnosticsProcAddrTable(zes_diagnostics_dditable_t);
    zesGetEngineProcAddrTable(zes_engine_dditable_t);
    zesGetFabricPortProcAddrTable(zes_fabric_port_dditable_t);
    zesGetFanProcAddrTable(zes_fan_dditable_t);
    zesGetFirmwareProcAddrTable(zes_firmware_dditable_t);
    zesGetFrequencyProcAddrTable(zes_frequency_dditable_t);
    zesGetLedProcAddrTable(zes_led_dditable_t);
    zesGetMemoryProcAddrTable(zes_memory_dditable_t);
    zesGetPerformanceFactorProcAddrTable(zes_performance_factor_dditable_t);
    zesGetPowerProcAddrTable(zes_power_dditable_t);
    zesGetPsuProcAddrTable(zes_psu_dditable_t);
    zesGetRasProcAddrTable(zes_ras_dditable_t);
    zesGetSchedulerProcAddrTable(zes_scheduler_dditable_t);
    zesGetStandbyProcAddrTable(zes_standby_dditable_t);
    zesGetTemperatureProcAddrTable(zes_temperature_dditable_t);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_getters_the_loader_requires_are_exported() {
        assert_eq!(GETTER_NAMES.len(), 46);
    }

    #[test]
    fn tables_are_zeroed_then_filled_and_versions_checked() {
        let mut table = ze_event_dditable_t { pfnDestroy: Some(event::ze_event_host_reset), ..Default::default() };
        table.pfnHostSynchronize = None;
        // SAFETY: a valid table on our stack.
        assert_eq!(unsafe { zeGetEventProcAddrTable(ZE_API_VERSION_CURRENT, &mut table) }, ZE_RESULT_SUCCESS);
        assert!(table.pfnQueryKernelTimestamp.is_none());
        assert!(table.pfnHostSynchronize.is_some());
        assert_eq!(table.pfnDestroy.map(|f| f as *const () as usize), Some(event::ze_event_destroy as *const () as usize));
        // SAFETY: as above; an older caller's table may be too small for ours.
        assert_eq!(unsafe { zeGetEventProcAddrTable(ZE_API_VERSION_1_0, &mut table) }, ZE_RESULT_ERROR_UNSUPPORTED_VERSION);
        // SAFETY: NULL is a checked case.
        assert_eq!(
            unsafe { zeGetEventProcAddrTable(ZE_API_VERSION_CURRENT, std::ptr::null_mut()) },
            ZE_RESULT_ERROR_INVALID_NULL_POINTER
        );
    }
}
