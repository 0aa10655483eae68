//! The driver and its devices: built once at the first `zeInit` from the
//! backend's devices and the environment, never freed (their handles stay
//! valid for the process). Also the driver- and device-query entry points.

use std::ffi::c_char;
use std::ptr;
use std::sync::OnceLock;

use ze_sys::*;

use crate::args;
use crate::backend::model::{Hierarchy, Product};
use crate::backend::policy::Role;
use crate::backend::{choice, Backend, DeviceDescription, QueueGroup, QueueMode, QueueSpec};
use crate::calls::Api;
use crate::config;
use crate::entry::{guarded, require, ZeResult};

/// Our own vendor id (no PCI vendor): nothing should take Intel-specific paths.
const VENDOR_ID: u32 = 0x5357;
const DRIVER_VERSION: u32 = 1;

pub struct Device {
    pub name: String,
    /// Index among the root devices, or among its parent's subdevices.
    pub index: u32,
    /// Position of the parent in `Topology::devices` for a subdevice.
    pub parent: Option<usize>,
    /// Positions of the subdevices in `Topology::devices`.
    pub subdevices: Vec<usize>,
    /// The backend's device this one is, or for a root device of several
    /// stacks (COMPOSITE) its first stack, whose engines its lists use and
    /// where its memory is modelled to live.
    pub backend_device: usize,
    /// Its queue groups, as Intel's driver reports them for such a device.
    pub groups: &'static [QueueGroup],
    /// Bytes of device memory (all its stacks' for a COMPOSITE root).
    pub memory_size: u64,
    /// A COMPOSITE root of several stacks: its UUID is marked apart from
    /// its first stack's.
    pub whole_card: bool,
    /// Under COMBINED, a root device that is one stack of a card of several:
    /// its index on the card. Intel's driver then reports it as a subdevice
    /// (flag and id) though `zeDeviceGet` lists it.
    pub stack_of_card: Option<u32>,
}

impl Device {
    pub fn handle(&self) -> ze_device_handle_t {
        self as *const Device as ze_device_handle_t
    }

    pub fn is_subdevice(&self) -> bool {
        self.parent.is_some()
    }

    /// What `zeDeviceGetProperties` says: flagged a subdevice, and its id.
    fn reported_as_subdevice(&self) -> Option<u32> {
        if self.is_subdevice() {
            Some(self.index)
        } else {
            self.stack_of_card
        }
    }
}

pub struct Topology {
    /// Every device, roots and subdevices. Complete before the topology is
    /// published and never modified after, so handles (addresses) never move.
    pub devices: Vec<Device>,
    pub roots: Vec<usize>,
    pub backend: &'static dyn Backend,
}

/// The driver object; its address is the driver handle.
pub struct Driver {
    _private: u8,
}

static DRIVER: Driver = Driver { _private: 0 };
static TOPOLOGY: OnceLock<Result<Topology, ze_result_t>> = OnceLock::new();

pub fn driver_handle() -> ze_driver_handle_t {
    &DRIVER as *const Driver as ze_driver_handle_t
}

fn build_topology() -> Result<Topology, ze_result_t> {
    let config = config::load_from_environment();
    let backend = choice::start(&config.backend)?;
    let (devices, roots) = arrange(backend.product(), backend.devices(), config.hierarchy);
    Ok(Topology { devices, roots, backend })
}

/// The devices the application sees: under FLAT every stack of every card
/// is a root device; under COMPOSITE every card is, with its stacks as
/// subdevices when it has several (a card of one stack has none, as on
/// Intel's driver).
fn arrange(product: &'static Product, units: &[DeviceDescription], hierarchy: Hierarchy) -> (Vec<Device>, Vec<usize>) {
    let mut devices: Vec<Device> = Vec::new();
    let mut roots = Vec::new();
    let mut first = 0;
    while first < units.len() {
        let card = units[first].card;
        let stacks = units[first..].iter().take_while(|unit| unit.card == card).count();
        let stack = |unit: usize, index: u32, parent: Option<usize>| Device {
            name: units[unit].name.clone(),
            index,
            parent,
            subdevices: Vec::new(),
            backend_device: unit,
            groups: product.stack_groups,
            memory_size: units[unit].memory_size,
            whole_card: false,
            stack_of_card: None,
        };
        if hierarchy != Hierarchy::Composite || stacks == 1 {
            for (on_card, unit) in (first..first + stacks).enumerate() {
                roots.push(devices.len());
                let mut device = stack(unit, roots.len() as u32 - 1, None);
                if hierarchy == Hierarchy::Combined && stacks > 1 {
                    device.stack_of_card = Some(on_card as u32);
                }
                devices.push(device);
            }
        } else {
            let root = devices.len();
            roots.push(root);
            devices.push(Device {
                name: format!("{} {card}", product.name),
                index: roots.len() as u32 - 1,
                parent: None,
                subdevices: Vec::new(),
                backend_device: first,
                groups: product.composite_groups,
                memory_size: units[first..first + stacks].iter().map(|unit| unit.memory_size).sum(),
                whole_card: true,
                stack_of_card: None,
            });
            for (index, unit) in (first..first + stacks).enumerate() {
                let position = devices.len();
                devices[root].subdevices.push(position);
                devices.push(stack(unit, index as u32, Some(root)));
            }
        }
        first += stacks;
    }
    (devices, roots)
}

/// The queue (`desc`'s ordinal and index) of `device` to create, with what
/// Intel's driver does with copies on it; `immediate` for an immediate list.
pub fn queue_spec(device: &Device, desc: &ze_command_queue_desc_t, mode: QueueMode, immediate: bool)
    -> Result<QueueSpec, ze_result_t> {
    let product = backend()?.product();
    let compute = device.groups[desc.ordinal as usize].flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE != 0;
    let stacks = if device.whole_card { product.stacks } else { 1 };
    let mut role = Role::of(product, desc.ordinal, desc.index, compute, stacks, immediate);
    // An in-order immediate list: its CPU copies wait for its earlier work.
    role.in_order = immediate && desc.flags & crate::api::counter::COMMAND_QUEUE_FLAG_IN_ORDER != 0;
    Ok(QueueSpec { device: device.backend_device, ordinal: desc.ordinal, index: desc.index, mode, role })
}

/// The devices, or `ZE_RESULT_ERROR_UNINITIALIZED` before a successful `zeInit`.
pub fn topology() -> Result<&'static Topology, ze_result_t> {
    match TOPOLOGY.get() {
        Some(Ok(topology)) => Ok(topology),
        _ => Err(ZE_RESULT_ERROR_UNINITIALIZED),
    }
}

/// The backend every object of this driver runs on.
pub fn backend() -> Result<&'static dyn Backend, ze_result_t> {
    topology().map(|topology| topology.backend)
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
        args::spec_range(Api::zeInit, "flags", flags, ZE_INIT_FLAG_GPU_ONLY | ZE_INIT_FLAG_VPU_ONLY)?;
        // Called once per loader initialisation and again per application
        // zeInit: the topology is built once and then kept; a backend that
        // could not start fails every zeInit alike.
        TOPOLOGY.get_or_init(build_topology).as_ref().map_err(|error| *error)?;
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

pub unsafe extern "C" fn ze_driver_get_ipc_properties(
    driver: ze_driver_handle_t,
    properties: *mut ze_driver_ipc_properties_t,
) -> ze_result_t {
    guarded(Api::zeDriverGetIpcProperties, || {
        check_driver(driver)?;
        // SAFETY: the caller's out-struct, NULL checked by `args::out`.
        let properties = unsafe { args::out(properties) }?;
        // No IPC handles of memory or event pools: say so, so that suites
        // skip their IPC tests instead of failing them.
        properties.flags = 0;
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

/// The extensions swze implements, version 1.0 each: the relaxed allocation
/// limits (`memory.rs` honours them), Intel's host-pointer import
/// (`host_pointer.rs`) and counter-based events (`counter.rs`: the last two,
/// left out under `SWZE_COUNTER_EVENTS=0`), under the names Intel's driver
/// reports.
const EXTENSIONS: &[(&str, u32)] = &[
    ("ZE_experimental_relaxed_allocation_limits", 1 << 16),
    ("ZEX_driver_import_host_pointer", 1 << 16),
    (crate::api::counter::POOL_EXTENSION_NAME, 1 << 16),
    (crate::api::counter::EVENT_EXTENSION_NAME, 1 << 16),
];

pub unsafe extern "C" fn ze_driver_get_extension_properties(
    driver: ze_driver_handle_t,
    count: *mut u32,
    properties: *mut ze_driver_extension_properties_t,
) -> ze_result_t {
    guarded(Api::zeDriverGetExtensionProperties, || {
        check_driver(driver)?;
        let extensions: Vec<ze_driver_extension_properties_t> = EXTENSIONS
            .iter()
            .filter(|&&(name, _)| crate::api::counter::enabled() || !crate::api::counter::EXTENSION_NAMES.contains(&name))
            .map(|&(name, version)| {
                let mut entry = ze_driver_extension_properties_t { name: [0; 256], version };
                write_name(&mut entry.name, name);
                entry
            })
            .collect();
        // SAFETY: the Level Zero contract for a (count, array) query; checked by fill_list.
        unsafe { fill_list(count, properties, &extensions) }
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

/// `zeInitDrivers` (API 1.10): as Intel's driver, the GPU driver starts (as
/// `zeInit` starts it) when the descriptor's flags ask for GPU drivers and
/// then lists itself as `zeDriverGet` does; any other request finds no
/// driver here, `ZE_RESULT_ERROR_UNINITIALIZED` (compute-runtime
/// `level_zero/core/source/driver/driver.cpp`, `initDrivers`).
pub unsafe extern "C" fn ze_init_drivers(
    count: *mut u32,
    drivers: *mut ze_driver_handle_t,
    desc: *mut crate::newer::ze_init_driver_type_desc_t,
) -> ze_result_t {
    guarded(Api::zeInitDrivers, || {
        // SAFETY: NULL is refused by `as_ref`; the caller's descriptor otherwise.
        let desc = unsafe { desc.as_ref() }.ok_or(ZE_RESULT_ERROR_INVALID_NULL_POINTER)?;
        args::spec_rule(
            Api::zeInitDrivers,
            desc.stype == crate::newer::ZE_STRUCTURE_TYPE_INIT_DRIVER_TYPE_DESC,
            ZE_RESULT_ERROR_INVALID_ARGUMENT,
            || format!("descriptor stype is {:#x}, expected ZE_STRUCTURE_TYPE_INIT_DRIVER_TYPE_DESC", desc.stype),
        )?;
        require(desc.flags & crate::newer::ZE_INIT_DRIVER_TYPE_FLAG_GPU != 0, ZE_RESULT_ERROR_UNINITIALIZED)?;
        TOPOLOGY.get_or_init(build_topology).as_ref().map_err(|error| *error)?;
        // SAFETY: the Level Zero contract for zeInitDrivers' (count, array); checked by fill_list.
        unsafe { fill_list(count, drivers, &[driver_handle()]) }
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::model::{FLEX_170, MAX_1550};

    fn units(cards: usize, stacks: usize) -> Vec<DeviceDescription> {
        (0..cards * stacks)
            .map(|unit| DeviceDescription {
                name: format!("unit {unit}"),
                uuid: [unit as u8; 16],
                memory_size: 1 << 30,
                max_allocation: 1 << 30,
                card: unit / stacks,
            })
            .collect()
    }

    #[test]
    fn flat_makes_every_stack_a_root_device() {
        let (devices, roots) = arrange(&MAX_1550, &units(3, 2), Hierarchy::Flat);
        assert_eq!(roots.len(), 6);
        assert_eq!(devices.len(), 6);
        for (index, &root) in roots.iter().enumerate() {
            let device = &devices[root];
            assert_eq!((device.index, device.backend_device, device.parent), (index as u32, index, None));
            assert!(device.subdevices.is_empty() && !device.whole_card);
            assert!(std::ptr::eq(device.groups, MAX_1550.stack_groups));
        }
    }

    #[test]
    fn composite_makes_every_card_a_root_with_its_stacks_below() {
        let (devices, roots) = arrange(&MAX_1550, &units(2, 2), Hierarchy::Composite);
        assert_eq!(roots, vec![0, 3]);
        let root = &devices[3];
        assert_eq!((root.index, root.backend_device, root.memory_size), (1, 2, 2 << 30));
        assert!(root.whole_card && std::ptr::eq(root.groups, MAX_1550.composite_groups));
        assert_eq!(root.subdevices, vec![4, 5]);
        for (index, &sub) in root.subdevices.iter().enumerate() {
            let stack = &devices[sub];
            assert_eq!((stack.index, stack.backend_device, stack.parent), (index as u32, 2 + index, Some(3)));
            assert!(std::ptr::eq(stack.groups, MAX_1550.stack_groups));
        }
        // A card of one stack is a root without subdevices either way.
        let (devices, roots) = arrange(&FLEX_170, &units(2, 1), Hierarchy::Composite);
        assert_eq!((devices.len(), roots.len()), (2, 2));
        assert!(devices.iter().all(|device| device.subdevices.is_empty() && !device.whole_card));
    }

    #[test]
    fn combined_lists_every_stack_as_flat_does_but_reports_each_as_a_subdevice() {
        let (devices, roots) = arrange(&MAX_1550, &units(2, 2), Hierarchy::Combined);
        assert_eq!(roots, vec![0, 1, 2, 3]);
        let reported: Vec<Option<u32>> = devices.iter().map(Device::reported_as_subdevice).collect();
        assert_eq!(reported, vec![Some(0), Some(1), Some(0), Some(1)]);
        assert!(devices.iter().all(|device| device.subdevices.is_empty() && device.parent.is_none()));
        // A card of one stack is a plain root.
        let (devices, _) = arrange(&FLEX_170, &units(2, 1), Hierarchy::Combined);
        assert!(devices.iter().all(|device| device.reported_as_subdevice().is_none()));
    }
}
