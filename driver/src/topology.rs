//! The driver and its devices: built once at the first `zeInit` from the
//! environment, never freed (their handles stay valid for the process).
//! Also the driver- and device-query entry points.

use std::ffi::c_char;
use std::ptr;
use std::sync::OnceLock;

use ze_sys::*;

use crate::config;
use crate::entry::{guarded, require, Api, ZeResult};
use crate::args;

/// Queue groups shaped like an Intel data-center GPU: one compute engine that
/// also copies, then a group of copy-only engines (AML's default is ordinal 1).
pub const QUEUE_GROUPS: [QueueGroup; 2] = [
    QueueGroup {
        flags: ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE | ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY,
        queues: 1,
    },
    QueueGroup { flags: ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY, queues: 7 },
];

pub struct QueueGroup {
    pub flags: ze_command_queue_group_property_flags_t,
    pub queues: u32,
}

/// Largest single allocation; also what `zeDeviceGetProperties` reports.
pub const MAX_ALLOCATION_SIZE: u64 = 1 << 36;
const MEMORY_SIZE: u64 = 1 << 36;
/// Our own vendor id (no PCI vendor): nothing should take Intel-specific paths.
const VENDOR_ID: u32 = 0x5357;
const DRIVER_VERSION: u32 = 1;

pub struct Device {
    pub name: String,
    /// Index among the root devices, or among its parent's subdevices.
    pub index: u32,
    /// Position in `Topology::devices`, also stamped into the UUID.
    pub serial: usize,
    /// Position of the parent in `Topology::devices` for a subdevice.
    pub parent: Option<usize>,
    /// Positions of the subdevices in `Topology::devices`.
    pub subdevices: Vec<usize>,
}

impl Device {
    pub fn handle(&self) -> ze_device_handle_t {
        self as *const Device as ze_device_handle_t
    }

    pub fn is_subdevice(&self) -> bool {
        self.parent.is_some()
    }
}

pub struct Topology {
    /// Every device, roots and subdevices. Complete before the topology is
    /// published and never modified after, so handles (addresses) never move.
    pub devices: Vec<Device>,
    pub roots: Vec<usize>,
}

/// The driver object; its address is the driver handle.
pub struct Driver {
    _private: u8,
}

static DRIVER: Driver = Driver { _private: 0 };
static TOPOLOGY: OnceLock<Topology> = OnceLock::new();

pub fn driver_handle() -> ze_driver_handle_t {
    &DRIVER as *const Driver as ze_driver_handle_t
}

fn build_topology() -> Topology {
    let config = config::load_from_environment();
    let mut devices: Vec<Device> = Vec::new();
    let mut roots = Vec::new();
    for device_index in 0..config.devices {
        let root = devices.len();
        roots.push(root);
        devices.push(Device {
            name: format!("swze software device {device_index}"),
            index: device_index,
            serial: root,
            parent: None,
            subdevices: Vec::new(),
        });
        for sub_index in 0..config.subdevices_per_device {
            let serial = devices.len();
            devices[root].subdevices.push(serial);
            devices.push(Device {
                name: format!("swze software device {device_index}.{sub_index}"),
                index: sub_index,
                serial,
                parent: Some(root),
                subdevices: Vec::new(),
            });
        }
    }
    Topology { devices, roots }
}

/// The devices, or `ZE_RESULT_ERROR_UNINITIALIZED` before the first `zeInit`.
pub fn topology() -> Result<&'static Topology, ze_result_t> {
    TOPOLOGY.get().ok_or(ZE_RESULT_ERROR_UNINITIALIZED)
}

pub fn check_driver(driver: ze_driver_handle_t) -> ZeResult {
    topology()?;
    require(!driver.is_null() && driver == driver_handle(), ZE_RESULT_ERROR_INVALID_NULL_HANDLE)
}

/// Resolves a device handle, refusing NULL and anything that is not ours.
pub fn device(handle: ze_device_handle_t) -> Result<&'static Device, ze_result_t> {
    let topology = topology()?;
    topology
        .devices
        .iter()
                .find(|device| !handle.is_null() && ptr::eq(device.handle(), handle))
        .ok_or(ZE_RESULT_ERROR_INVALID_NULL_HANDLE)
}

fn write_name(target: &mut [c_char], name: &str) {
    let length = name.len().min(target.len() - 1);
    for (slot, byte) in target.iter_mut().zip(name.bytes().take(length)) {
        *slot = byte as c_char;
    }
    target[length] = 0;
}

/// Fills a caller's `(count, array)` pair the way every Level Zero "get" does:
/// a zero count (or no array) asks for the total, otherwise up to `count`
/// entries are written and `count` becomes the number written.
///
/// # Safety
/// `count` must be valid for reads and writes; `array`, if non-NULL, for
/// `*count` writes of `T`.
unsafe fn fill_list<T: Copy>(count: *mut u32, array: *mut T, items: &[T]) -> ZeResult {
    require(!count.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
    // SAFETY: non-NULL, and the caller guarantees it is valid.
    let requested = unsafe { *count };
    if requested == 0 || array.is_null() {
        // SAFETY: as above.
        unsafe { *count = items.len() as u32 };
        return Ok(());
    }
    let written = (requested as usize).min(items.len());
    for (i, item) in items.iter().take(written).enumerate() {
        // SAFETY: i < *count, which the caller guarantees `array` can hold.
        unsafe { array.add(i).write(*item) };
    }
    // SAFETY: as above.
    unsafe { *count = written as u32 };
    Ok(())
}

// ---------------------------------------------------------------------------
// Entry points

pub unsafe extern "C" fn ze_init(flags: ze_init_flags_t) -> ze_result_t {
    guarded(Api::zeInit, || {
        require(flags <= (ZE_INIT_FLAG_GPU_ONLY | ZE_INIT_FLAG_VPU_ONLY), ZE_RESULT_ERROR_INVALID_ENUMERATION)?;
        // Called once per loader initialisation and again per application
        // zeInit: the topology is built once and then kept.
        TOPOLOGY.get_or_init(build_topology);
        // We are a GPU driver: a VPU-only request finds no driver here.
        require(flags != ZE_INIT_FLAG_VPU_ONLY, ZE_RESULT_ERROR_UNINITIALIZED)
    })
}

pub unsafe extern "C" fn ze_driver_get(count: *mut u32, drivers: *mut ze_driver_handle_t) -> ze_result_t {
    guarded(Api::zeDriverGet, || {
        topology()?;
        // SAFETY: the Level Zero contract for zeDriverGet; checked by fill_list.
        unsafe { fill_list(count, drivers, &[driver_handle()]) }
    })
}

pub unsafe extern "C" fn ze_driver_get_api_version(
    driver: ze_driver_handle_t,
    version: *mut ze_api_version_t,
) -> ze_result_t {
    guarded(Api::zeDriverGetApiVersion, || {
        check_driver(driver)?;
        // SAFETY: the caller's out-pointer, NULL checked by `args::write`.
        unsafe { args::write(version, ZE_API_VERSION_CURRENT) }
    })
}

pub unsafe extern "C" fn ze_driver_get_properties(
    driver: ze_driver_handle_t,
    properties: *mut ze_driver_properties_t,
) -> ze_result_t {
    guarded(Api::zeDriverGetProperties, || {
        check_driver(driver)?;
        // SAFETY: the caller's out-struct, NULL checked by `args::out`.
        let properties = unsafe { args::out(properties) }?;
        properties.uuid.id = *b"swze-sw-driver-1";
        properties.driverVersion = DRIVER_VERSION;
        Ok(())
    })
}

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
        // SAFETY: the caller's out-struct, NULL checked by `args::out`.
        let properties = unsafe { args::out(properties) }?;
        properties.type_ = ZE_DEVICE_TYPE_GPU;
        properties.vendorId = VENDOR_ID;
        properties.deviceId = 1;
        properties.flags = if device.is_subdevice() { ZE_DEVICE_PROPERTY_FLAG_SUBDEVICE } else { 0 };
        properties.subdeviceId = if device.is_subdevice() { device.index } else { 0 };
        properties.coreClockRate = 1000;
        properties.maxMemAllocSize = MAX_ALLOCATION_SIZE;
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
        let mut uuid = [0u8; 16];
        uuid[..4].copy_from_slice(b"swze");
        uuid[12..].copy_from_slice(&(device.serial as u32).to_le_bytes());
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
        device(device_handle)?;
        require(!count.is_null(), ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        // SAFETY: non-NULL, and valid by the Level Zero contract.
        let requested = unsafe { *count };
        if requested == 0 || properties.is_null() {
            // SAFETY: as above.
            unsafe { *count = QUEUE_GROUPS.len() as u32 };
            return Ok(());
        }
        let written = (requested as usize).min(QUEUE_GROUPS.len());
        for (i, group) in QUEUE_GROUPS.iter().take(written).enumerate() {
            // SAFETY: i < *count entries, which the caller provides; the
            // caller's stype/pNext are kept, only the payload is written.
            let entry = unsafe { &mut *properties.add(i) };
            entry.flags = group.flags;
            entry.maxMemoryFillPatternSize = 16;
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
        entry.totalSize = MEMORY_SIZE;
        write_name(&mut entry.name, &format!("{} memory", device.name));
        // SAFETY: as above.
        unsafe { *count = 1 };
        Ok(())
    })
}
