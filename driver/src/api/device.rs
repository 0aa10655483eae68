//! The device-query entry points (`zeDeviceGet...`, `zeDeviceCanAccessPeer`):
//! what each device of the driver's topology says of itself, as Intel's
//! driver says it for such a device. Apart from the driver (`driver.rs`),
//! which resolves the handles they are asked with.

use std::ptr;

use ze_sys::*;

use crate::api::driver::{backend, check_driver, device, fill_list, topology, write_name};
use crate::args;
use crate::calls::Api;
use crate::entry::{guarded, require};

/// Our own vendor id (no PCI vendor): nothing should take Intel-specific paths.
const VENDOR_ID: u32 = 0x5357;

pub unsafe extern "C" fn ze_device_get(
    driver: ze_driver_handle_t,
    count: *mut u32,
    devices: *mut ze_device_handle_t,
) -> ze_result_t {
    guarded(Api::zeDeviceGet, || {
        check_driver(driver)?;
        let topology = topology()?;
        let handles: Vec<ze_device_handle_t> =
            topology.roots.iter().map(|&root| topology.devices[root].handle()).collect();
        // SAFETY: the Level Zero contract for zeDeviceGet; checked by fill_list.
        unsafe { fill_list(count, devices, &handles) }
    })
}

pub unsafe extern "C" fn ze_device_get_sub_devices(
    device_handle: ze_device_handle_t,
    count: *mut u32,
    subdevices: *mut ze_device_handle_t,
) -> ze_result_t {
    guarded(Api::zeDeviceGetSubDevices, || {
        let device = device(device_handle)?;
        let topology = topology()?;
        let handles: Vec<ze_device_handle_t> =
            device.subdevices.iter().map(|&sub| topology.devices[sub].handle()).collect();
        // SAFETY: the Level Zero contract for zeDeviceGetSubDevices; checked by fill_list.
        unsafe { fill_list(count, subdevices, &handles) }
    })
}

pub unsafe extern "C" fn ze_device_get_properties(
    device_handle: ze_device_handle_t,
    properties: *mut ze_device_properties_t,
) -> ze_result_t {
    guarded(Api::zeDeviceGetProperties, || {
        let device = device(device_handle)?;
        let description = &backend()?.devices()[device.backend_device];
        // SAFETY: the caller's out-struct, NULL checked by `args::out`.
        let properties = unsafe { args::out(properties) }?;
        properties.type_ = ZE_DEVICE_TYPE_GPU;
        properties.vendorId = VENDOR_ID;
        properties.deviceId = 1;
        let subdevice = device.reported_as_subdevice();
        properties.flags = if subdevice.is_some() { ZE_DEVICE_PROPERTY_FLAG_SUBDEVICE } else { 0 };
        properties.subdeviceId = subdevice.unwrap_or(0);
        properties.coreClockRate = 1000;
        properties.maxMemAllocSize = description.max_allocation;
        properties.maxHardwareContexts = 64;
        properties.maxCommandQueuePriority = 0;
        properties.numThreadsPerEU = 1;
        properties.physicalEUSimdWidth = 8;
        properties.numEUsPerSubslice = 1;
        properties.numSubslicesPerSlice = 1;
        properties.numSlices = 1;
        properties.timerResolution = 1;
        properties.timestampValidBits = 64;
        properties.kernelTimestampValidBits = 64;
        // A COMPOSITE root shares its first stack's backend device: marked apart.
        let mut uuid = description.uuid;
        if device.whole_card {
            uuid[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        }
        properties.uuid.id = uuid;
        write_name(&mut properties.name, &device.name);
        Ok(())
    })
}

pub unsafe extern "C" fn ze_device_get_command_queue_group_properties(
    device_handle: ze_device_handle_t,
    count: *mut u32,
    properties: *mut ze_command_queue_group_properties_t,
) -> ze_result_t {
    guarded(Api::zeDeviceGetCommandQueueGroupProperties, || {
        let groups = device(device_handle)?.groups;
        require(!count.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        // SAFETY: non-NULL, and valid by the Level Zero contract.
        let requested = unsafe { *count };
        if requested == 0 || properties.is_null() {
            // SAFETY: as above.
            unsafe { *count = groups.len() as u32 };
            return Ok(());
        }
        let written = (requested as usize).min(groups.len());
        for (i, group) in groups.iter().take(written).enumerate() {
            // SAFETY: i < *count entries, which the caller provides; the
            // caller's stype/pNext are kept, only the payload is written.
            let entry = unsafe { &mut *properties.add(i) };
            entry.flags = group.flags;
            entry.maxMemoryFillPatternSize = group.max_fill_pattern_size;
            entry.numQueues = group.queues;
        }
        // SAFETY: as above.
        unsafe { *count = written as u32 };
        Ok(())
    })
}

pub unsafe extern "C" fn ze_device_get_memory_properties(
    device_handle: ze_device_handle_t,
    count: *mut u32,
    properties: *mut ze_device_memory_properties_t,
) -> ze_result_t {
    guarded(Api::zeDeviceGetMemoryProperties, || {
        let device = device(device_handle)?;
        require(!count.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        // SAFETY: non-NULL, and valid by the Level Zero contract.
        let requested = unsafe { *count };
        if requested == 0 || properties.is_null() {
            // SAFETY: as above.
            unsafe { *count = 1 };
            return Ok(());
        }
        // SAFETY: at least one entry is provided (requested > 0).
        let entry = unsafe { &mut *properties };
        entry.flags = 0;
        entry.maxClockRate = 1000;
        entry.maxBusWidth = 64;
        entry.totalSize = device.memory_size;
        write_name(&mut entry.name, &format!("{} memory", device.name));
        // SAFETY: as above.
        unsafe { *count = 1 };
        Ok(())
    })
}

pub unsafe extern "C" fn ze_device_get_compute_properties(
    device_handle: ze_device_handle_t,
    properties: *mut ze_device_compute_properties_t,
) -> ze_result_t {
    guarded(Api::zeDeviceGetComputeProperties, || {
        device(device_handle)?;
        // SAFETY: the caller's out-struct, NULL checked by `args::out`.
        let properties = unsafe { args::out(properties) }?;
        // No kernels run here; the limits are those of a small GPU, so code
        // that sizes launches from them computes sane numbers.
        properties.maxTotalGroupSize = 1024;
        properties.maxGroupSizeX = 1024;
        properties.maxGroupSizeY = 1024;
        properties.maxGroupSizeZ = 64;
        properties.maxGroupCountX = u32::MAX;
        properties.maxGroupCountY = u32::MAX;
        properties.maxGroupCountZ = u32::MAX;
        properties.maxSharedLocalMemory = 64 << 10;
        properties.numSubGroupSizes = 1;
        properties.subGroupSizes = [0; 8];
        properties.subGroupSizes[0] = 16;
        Ok(())
    })
}

pub unsafe extern "C" fn ze_device_get_cache_properties(
    device_handle: ze_device_handle_t,
    count: *mut u32,
    properties: *mut ze_device_cache_properties_t,
) -> ze_result_t {
    guarded(Api::zeDeviceGetCacheProperties, || {
        device(device_handle)?;
        require(!count.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        // SAFETY: non-NULL, and valid by the Level Zero contract.
        let requested = unsafe { *count };
        if requested > 0 && !properties.is_null() {
            // SAFETY: at least one entry is provided; stype/pNext kept.
            let entry = unsafe { &mut *properties };
            // One cache, without user control, as Intel reports its L3.
            entry.flags = 0;
            entry.cacheSize = 1 << 20;
        }
        // SAFETY: as above.
        unsafe { *count = 1 };
        Ok(())
    })
}

pub unsafe extern "C" fn ze_device_get_image_properties(
    device_handle: ze_device_handle_t,
    properties: *mut ze_device_image_properties_t,
) -> ze_result_t {
    guarded(Api::zeDeviceGetImageProperties, || {
        device(device_handle)?;
        // SAFETY: the caller's out-struct, NULL checked by `args::out`.
        let properties = unsafe { args::out(properties) }?;
        // No image support: every limit is 0, as the spec says a device
        // without images reports.
        properties.maxImageDims1D = 0;
        properties.maxImageDims2D = 0;
        properties.maxImageDims3D = 0;
        properties.maxImageBufferSize = 0;
        properties.maxImageArraySlices = 0;
        properties.maxSamplers = 0;
        properties.maxReadImageArgs = 0;
        properties.maxWriteImageArgs = 0;
        Ok(())
    })
}

/// Whether `handle`'s copies reach `peer`'s memory: the backend's answer
/// for their root devices (every device on the CPU, CUDA's peer access on
/// GPUs; parts of one device always reach each other).
fn can_access_peer(handle: ze_device_handle_t, peer: ze_device_handle_t) -> Result<bool, ze_result_t> {
    let (from, to) = (device(handle)?.backend_device, device(peer)?.backend_device);
    Ok(from == to || backend()?.can_access_peer(from, to))
}

pub unsafe extern "C" fn ze_device_can_access_peer(
    device_handle: ze_device_handle_t,
    peer: ze_device_handle_t,
    value: *mut ze_bool_t,
) -> ze_result_t {
    guarded(Api::zeDeviceCanAccessPeer, || {
        let reach = can_access_peer(device_handle, peer)?;
        // SAFETY: the caller's out-pointer, NULL checked by `args::write`.
        unsafe { args::write(value, ze_bool_t::from(reach)) }
    })
}

pub unsafe extern "C" fn ze_device_get_p2p_properties(
    device_handle: ze_device_handle_t,
    peer: ze_device_handle_t,
    properties: *mut ze_device_p2p_properties_t,
) -> ze_result_t {
    guarded(Api::zeDeviceGetP2PProperties, || {
        let reach = can_access_peer(device_handle, peer)?;
        // SAFETY: the caller's out-struct, NULL checked by `args::out`.
        let properties = unsafe { args::out(properties) }?;
        // Copies reach a peer's memory where the backend says so; no kernel
        // runs, so never atomics.
        properties.flags = if reach { ZE_DEVICE_P2P_PROPERTY_FLAG_ACCESS } else { 0 };
        Ok(())
    })
}

pub unsafe extern "C" fn ze_device_get_memory_access_properties(
    device_handle: ze_device_handle_t,
    properties: *mut ze_device_memory_access_properties_t,
) -> ze_result_t {
    guarded(Api::zeDeviceGetMemoryAccessProperties, || {
        device(device_handle)?;
        // SAFETY: the caller's out-struct, NULL checked by `args::out`.
        let properties = unsafe { args::out(properties) }?;
        // Host and device may use every allocation at the same time (host
        // memory on the CPU; pinned, device and managed memory under unified
        // addressing on CUDA); copies also take plain `malloc` memory.
        let all = ZE_MEMORY_ACCESS_CAP_FLAG_RW
            | ZE_MEMORY_ACCESS_CAP_FLAG_ATOMIC
            | ZE_MEMORY_ACCESS_CAP_FLAG_CONCURRENT
            | ZE_MEMORY_ACCESS_CAP_FLAG_CONCURRENT_ATOMIC;
        properties.hostAllocCapabilities = all;
        properties.deviceAllocCapabilities = all;
        properties.sharedSingleDeviceAllocCapabilities = all;
        properties.sharedCrossDeviceAllocCapabilities = all;
        properties.sharedSystemAllocCapabilities = ZE_MEMORY_ACCESS_CAP_FLAG_RW | ZE_MEMORY_ACCESS_CAP_FLAG_CONCURRENT;
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Entry points of API versions after 1.4, reached through a newer loader
// only (`crate::newer`: their types and table entries).

/// `zeDeviceGetRootDevice` (API 1.7), as Intel's driver answers it
/// (compute-runtime `level_zero/core/source/device/device_imp.cpp`,
/// `getRootDevice`): NULL under FLAT ("no traversal is allowed"), else the
/// device's root: a subdevice's card, NULL for a root device. Under COMBINED
/// Intel's driver answers each listed stack with its card's composite
/// device, which swze does not make under that hierarchy: NULL here.
pub unsafe extern "C" fn ze_device_get_root_device(
    device_handle: ze_device_handle_t,
    root_out: *mut ze_device_handle_t,
) -> ze_result_t {
    guarded(Api::zeDeviceGetRootDevice, || {
        let device = device(device_handle)?;
        let topology = topology()?;
        let root = device.parent.map_or(ptr::null_mut(), |parent| topology.devices[parent].handle());
        // SAFETY: the caller's out-pointer, NULL checked by `args::write`.
        unsafe { args::write(root_out, root) }
    })
}

/// `zeDeviceGetModuleProperties`: swze builds no module and runs no kernel
/// (`zeModuleCreate` is `ZE_RESULT_ERROR_UNSUPPORTED_FEATURE`), so it
/// reports a device that takes no IL: SPIR-V version 0, no module flags
/// (fp16, fp64, int64 atomics, dp4a), no floating-point capabilities, no
/// argument space and no printf buffer, and no floating-point atomics in a
/// chained `ze_float_atomic_ext_properties_t`. Intel's driver reports the
/// Max 1550's compiler here (`getKernelProperties` in compute-runtime's
/// `device_imp.cpp`); Intel's SYCL runtime reads it at device setup and
/// uses it for kernel features only.
pub unsafe extern "C" fn ze_device_get_module_properties(
    device_handle: ze_device_handle_t,
    properties: *mut ze_device_module_properties_t,
) -> ze_result_t {
    guarded(Api::zeDeviceGetModuleProperties, || {
        device(device_handle)?;
        // SAFETY: the caller's out-struct, NULL checked by `args::out`.
        let properties = unsafe { args::out(properties) }?;
        properties.spirvVersionSupported = 0;
        properties.flags = 0;
        properties.fp16flags = 0;
        properties.fp32flags = 0;
        properties.fp64flags = 0;
        properties.maxArgumentsSize = 0;
        properties.printfBufferSize = 0;
        properties.nativeKernelSupported = ze_native_kernel_uuid_t::default();
        // The output's chain, walked by each entry's stype as drivers do
        // (at most 64 entries: a cycle ends there).
        let mut next = properties.pNext.cast::<ze_base_properties_t>();
        for _ in 0..64 {
            if next.is_null() {
                break;
            }
            // SAFETY: a non-NULL entry of an output chain starts with stype and pNext (Level Zero contract).
            let entry = unsafe { &mut *next };
            if entry.stype == ZE_STRUCTURE_TYPE_FLOAT_ATOMIC_EXT_PROPERTIES {
                // SAFETY: an entry of this stype is a `ze_float_atomic_ext_properties_t`.
                let atomics = unsafe { &mut *next.cast::<ze_float_atomic_ext_properties_t>() };
                atomics.fp16Flags = 0;
                atomics.fp32Flags = 0;
                atomics.fp64Flags = 0;
                break;
            }
            next = entry.pNext.cast();
        }
        Ok(())
    })
}
