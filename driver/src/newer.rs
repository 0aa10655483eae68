//! What Level Zero API versions after 1.4 add that swze implements, written
//! out by hand: `ze-sys` is bindgen's output of Debian's 1.4 headers, which
//! know neither these types nor these table entries. Each item is copied
//! from the public headers of oneapi-src/level-zero v1.32.0
//! (`include/ze_api.h`, `include/ze_ddi.h`), in their field order.
//!
//! A DDI table only grows at its end, and a loader passes its own API
//! version to `zeGet*ProcAddrTable` with a table of its own version: a
//! table here is the 1.4 table (`ze-sys`) followed by the later entries up
//! to the last one swze fills, and `ddi` writes an entry only when the
//! loader's version has it, as Intel's driver does (`fillDdiEntry` with each
//! entry's version, compute-runtime `level_zero/api/core/ze_core_loader.cpp`).
//! Debian's loader 1.8 passes 1.4 and gets exactly the 1.4 tables.

#![allow(non_camel_case_types, non_snake_case)]

use ze_sys::*;

/// `ZE_API_VERSION_1_6`: `zeCommandListHostSynchronize`.
pub const ZE_API_VERSION_1_6: ze_api_version_t = (1 << 16) | 6;
/// `ZE_API_VERSION_1_7`: `zeDeviceGetRootDevice`.
pub const ZE_API_VERSION_1_7: ze_api_version_t = (1 << 16) | 7;
/// `ZE_API_VERSION_1_10`: `zeInitDrivers`.
pub const ZE_API_VERSION_1_10: ze_api_version_t = (1 << 16) | 10;

/// `ZE_STRUCTURE_TYPE_INIT_DRIVER_TYPE_DESC` (`ze_api.h`).
pub const ZE_STRUCTURE_TYPE_INIT_DRIVER_TYPE_DESC: ze_structure_type_t = 0x0002_0021;
/// `ZE_INIT_DRIVER_TYPE_FLAG_GPU` (`ze_api.h`).
pub const ZE_INIT_DRIVER_TYPE_FLAG_GPU: u32 = 1 << 0;

/// `ze_init_driver_type_desc_t` (`ze_api.h`, API 1.10).
#[repr(C)]
pub struct ze_init_driver_type_desc_t {
    pub stype: ze_structure_type_t,
    pub pNext: *const std::ffi::c_void,
    pub flags: u32,
}

/// `ze_pfnInitDrivers_t` (`ze_ddi.h`).
pub type ze_pfnInitDrivers_t = Option<
    unsafe extern "C" fn(*mut u32, *mut ze_driver_handle_t, *mut ze_init_driver_type_desc_t) -> ze_result_t,
>;
/// `ze_pfnDeviceGetRootDevice_t` (`ze_ddi.h`).
pub type ze_pfnDeviceGetRootDevice_t =
    Option<unsafe extern "C" fn(ze_device_handle_t, *mut ze_device_handle_t) -> ze_result_t>;

/// `ze_global_dditable_t` up to `pfnInitDrivers`, its second entry (API 1.10).
#[repr(C)]
pub struct GlobalTable {
    pub v1_4: ze_global_dditable_t,
    pub pfnInitDrivers: ze_pfnInitDrivers_t,
}

/// `ze_device_dditable_t` up to `pfnGetRootDevice` (API 1.7), the entry
/// right after 1.4's last, `pfnPciGetPropertiesExt`.
#[repr(C)]
pub struct DeviceTable {
    pub v1_4: ze_device_dditable_t,
    pub pfnGetRootDevice: ze_pfnDeviceGetRootDevice_t,
}

/// `ze_pfnCommandListHostSynchronize_t` (`ze_ddi.h`).
pub type ze_pfnCommandListHostSynchronize_t =
    Option<unsafe extern "C" fn(ze_command_list_handle_t, u64) -> ze_result_t>;

/// `ze_command_list_dditable_t` up to `pfnHostSynchronize` (API 1.6), the
/// entry right after 1.4's last, `pfnAppendImageCopyFromMemoryExt`.
#[repr(C)]
pub struct CommandListTable {
    pub v1_4: ze_command_list_dditable_t,
    pub pfnHostSynchronize: ze_pfnCommandListHostSynchronize_t,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn the_later_entries_follow_the_1_4_tables() {
        // ze_ddi.h v1.32.0: the global table is { pfnInit, pfnInitDrivers };
        // the device table's 19th entry is pfnGetRootDevice
        assert_eq!(size_of::<ze_global_dditable_t>(), 8);
        assert_eq!(offset_of!(GlobalTable, pfnInitDrivers), 8);
        assert_eq!(size_of::<ze_device_dditable_t>(), 18 * 8);
        assert_eq!(offset_of!(DeviceTable, pfnGetRootDevice), 18 * 8);
        // ... and the command-list table's 29th is pfnHostSynchronize.
        assert_eq!(size_of::<ze_command_list_dditable_t>(), 28 * 8);
        assert_eq!(offset_of!(CommandListTable, pfnHostSynchronize), 28 * 8);
    }

    /// A loader's table, and a word after it that no getter may write.
    #[repr(C)]
    struct Guarded<T> {
        table: T,
        guard: usize,
    }

    #[test]
    fn later_entries_are_written_only_for_a_loader_of_their_version() {
        const GUARD: usize = 0x5a5a_5a5a;
        let version = |minor: u32| (1 << 16) | minor;
        // SAFETY (every call below): a table of the version passed, on our stack.
        unsafe {
            // A 1.4 loader (Debian's 1.8) gets its table and nothing past it.
            let mut global = Guarded { table: ze_global_dditable_t::default(), guard: GUARD };
            assert_eq!(crate::ddi::zeGetGlobalProcAddrTable(version(4), &mut global.table), ZE_RESULT_SUCCESS);
            assert!(global.table.pfnInit.is_some() && global.guard == GUARD);
            let mut device = Guarded { table: ze_device_dditable_t::default(), guard: GUARD };
            assert_eq!(crate::ddi::zeGetDeviceProcAddrTable(version(6), &mut device.table), ZE_RESULT_SUCCESS);
            assert!(device.table.pfnGetModuleProperties.is_some() && device.guard == GUARD);
            let mut list = Guarded { table: ze_command_list_dditable_t::default(), guard: GUARD };
            assert_eq!(crate::ddi::zeGetCommandListProcAddrTable(version(5), &mut list.table), ZE_RESULT_SUCCESS);
            assert_eq!(list.guard, GUARD);

            // A loader of each entry's version gets the entry.
            let mut global = GlobalTable { v1_4: Default::default(), pfnInitDrivers: None };
            assert_eq!(crate::ddi::zeGetGlobalProcAddrTable(version(10), &mut global.v1_4), ZE_RESULT_SUCCESS);
            assert!(global.pfnInitDrivers.is_some());
            let mut device = DeviceTable { v1_4: Default::default(), pfnGetRootDevice: None };
            assert_eq!(crate::ddi::zeGetDeviceProcAddrTable(version(7), &mut device.v1_4), ZE_RESULT_SUCCESS);
            assert!(device.pfnGetRootDevice.is_some());
            let mut list = CommandListTable { v1_4: Default::default(), pfnHostSynchronize: None };
            assert_eq!(crate::ddi::zeGetCommandListProcAddrTable(version(17), &mut list.v1_4), ZE_RESULT_SUCCESS);
            assert!(list.pfnHostSynchronize.is_some());
        }
    }

    #[test]
    fn the_init_driver_descriptor_is_laid_out_as_in_the_header() {
        assert_eq!(offset_of!(ze_init_driver_type_desc_t, pNext), 8);
        assert_eq!(offset_of!(ze_init_driver_type_desc_t, flags), 16);
        assert_eq!(size_of::<ze_init_driver_type_desc_t>(), 24);
    }
}
