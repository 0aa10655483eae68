//! The driver: built once at the first `zeInit` from the backend's devices
//! and the environment, never freed (its handles and its devices' stay valid
//! for the process). Also what the rest of the front asks of it (the
//! backend, a handle resolved, a device's queue) and the driver-query entry
//! points; the devices' own queries are `device.rs`, their arrangement
//! `topology.rs`.

use std::ffi::c_char;
use std::ptr;
use std::sync::OnceLock;

use ze_sys::*;

use crate::args;
use crate::api::topology::arrange;
use crate::backend::policy::Role;
use crate::backend::{choice, Backend, QueueMode, QueueSpec};
use crate::calls::Api;
use crate::config;
use crate::entry::{guarded, require, ZeResult};

/// The devices' types, named through the driver as every module of the
/// front names them.
pub use crate::api::topology::{Device, Topology};

const DRIVER_VERSION: u32 = 1;

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

pub(super) fn write_name(target: &mut [c_char], name: &str) {
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
pub(super) unsafe fn fill_list<T: Copy>(count: *mut u32, array: *mut T, items: &[T]) -> ZeResult {
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
