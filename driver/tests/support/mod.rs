//! Test support: the real Level Zero loader opened with libloading, the
//! driver selected through `ZE_ENABLE_ALT_DRIVERS`, and the driver's control
//! API found in the copy the loader loaded. Tests never call the driver's
//! entry points directly.
#![allow(dead_code)]

use std::ffi::c_void;
use std::ptr;
use std::sync::{MutexGuard, OnceLock};

use libloading::os::unix::Library;
#[allow(unused_imports)] // not every test binary uses every item
pub use swze_control::{driver_path, Control};
use ze_sys::*;

/// Devices and subdevices every test process is configured with: two
/// cards of the Max 1550 model under COMPOSITE, each a root device with
/// its two stacks as subdevices.
pub const DEVICES: u32 = 2;
pub const SUBDEVICES: u32 = 2;

/// The driver's control state is process-global: tests take this first.
pub fn serial() -> MutexGuard<'static, ()> {
    let guard = swze_control::serial();
    // Undo whatever a previous (possibly failed) test left behind.
    let swze = &ze().swze;
    swze.clear_faults();
    swze.bandwidth(0);
    swze.inline(false);
    guard
}

macro_rules! entry_points {
    ($($field:ident: $type:ty = $symbol:literal;)*) => {
        pub struct Ze {
            _loader: Library,
            pub swze: Control,
            $(pub $field: <$type as Unwrap>::Function,)*
        }

        impl Ze {
            fn resolve(loader: Library, swze: Control) -> Ze {
                $(
                    // SAFETY: the symbol is the loader's exported Level Zero
                    // function, whose C signature is the ze-sys pfn type.
                    let $field = unsafe { *loader.get::<<$type as Unwrap>::Function>($symbol).expect(stringify!($field)) };
                )*
                Ze { _loader: loader, swze, $($field,)* }
            }
        }
    };
}

/// `Option<fn>` pfn types of ze-sys, unwrapped to the function pointer type.
pub trait Unwrap {
    type Function: Copy;
}
impl<F: Copy> Unwrap for Option<F> {
    type Function = F;
}

entry_points! {
    init: ze_pfnInit_t = b"zeInit\0";
    driver_get: ze_pfnDriverGet_t = b"zeDriverGet\0";
    driver_get_api_version: ze_pfnDriverGetApiVersion_t = b"zeDriverGetApiVersion\0";
    driver_get_properties: ze_pfnDriverGetProperties_t = b"zeDriverGetProperties\0";
    device_get: ze_pfnDeviceGet_t = b"zeDeviceGet\0";
    device_get_sub_devices: ze_pfnDeviceGetSubDevices_t = b"zeDeviceGetSubDevices\0";
    device_get_properties: ze_pfnDeviceGetProperties_t = b"zeDeviceGetProperties\0";
    device_get_queue_groups: ze_pfnDeviceGetCommandQueueGroupProperties_t = b"zeDeviceGetCommandQueueGroupProperties\0";
    device_get_memory_properties: ze_pfnDeviceGetMemoryProperties_t = b"zeDeviceGetMemoryProperties\0";
    context_create: ze_pfnContextCreate_t = b"zeContextCreate\0";
    context_destroy: ze_pfnContextDestroy_t = b"zeContextDestroy\0";
    context_system_barrier: ze_pfnContextSystemBarrier_t = b"zeContextSystemBarrier\0";
    mem_alloc_device: ze_pfnMemAllocDevice_t = b"zeMemAllocDevice\0";
    mem_alloc_host: ze_pfnMemAllocHost_t = b"zeMemAllocHost\0";
    mem_alloc_shared: ze_pfnMemAllocShared_t = b"zeMemAllocShared\0";
    mem_free: ze_pfnMemFree_t = b"zeMemFree\0";
    mem_get_alloc_properties: ze_pfnMemGetAllocProperties_t = b"zeMemGetAllocProperties\0";
    list_create_immediate: ze_pfnCommandListCreateImmediate_t = b"zeCommandListCreateImmediate\0";
    list_create: ze_pfnCommandListCreate_t = b"zeCommandListCreate\0";
    list_destroy: ze_pfnCommandListDestroy_t = b"zeCommandListDestroy\0";
    append_copy: ze_pfnCommandListAppendMemoryCopy_t = b"zeCommandListAppendMemoryCopy\0";
    append_copy_region: ze_pfnCommandListAppendMemoryCopyRegion_t = b"zeCommandListAppendMemoryCopyRegion\0";
    append_barrier: ze_pfnCommandListAppendBarrier_t = b"zeCommandListAppendBarrier\0";
    append_ranges_barrier: ze_pfnCommandListAppendMemoryRangesBarrier_t = b"zeCommandListAppendMemoryRangesBarrier\0";
    append_signal: ze_pfnCommandListAppendSignalEvent_t = b"zeCommandListAppendSignalEvent\0";
    append_wait: ze_pfnCommandListAppendWaitOnEvents_t = b"zeCommandListAppendWaitOnEvents\0";
    append_event_reset: ze_pfnCommandListAppendEventReset_t = b"zeCommandListAppendEventReset\0";
    pool_create: ze_pfnEventPoolCreate_t = b"zeEventPoolCreate\0";
    pool_destroy: ze_pfnEventPoolDestroy_t = b"zeEventPoolDestroy\0";
    event_create: ze_pfnEventCreate_t = b"zeEventCreate\0";
    event_destroy: ze_pfnEventDestroy_t = b"zeEventDestroy\0";
    event_host_signal: ze_pfnEventHostSignal_t = b"zeEventHostSignal\0";
    event_host_synchronize: ze_pfnEventHostSynchronize_t = b"zeEventHostSynchronize\0";
    event_query_status: ze_pfnEventQueryStatus_t = b"zeEventQueryStatus\0";
    event_host_reset: ze_pfnEventHostReset_t = b"zeEventHostReset\0";
    mem_get_address_range: ze_pfnMemGetAddressRange_t = b"zeMemGetAddressRange\0";
    list_close: ze_pfnCommandListClose_t = b"zeCommandListClose\0";
    list_reset: ze_pfnCommandListReset_t = b"zeCommandListReset\0";
    append_fill: ze_pfnCommandListAppendMemoryFill_t = b"zeCommandListAppendMemoryFill\0";
    append_prefetch: ze_pfnCommandListAppendMemoryPrefetch_t = b"zeCommandListAppendMemoryPrefetch\0";
    append_mem_advise: ze_pfnCommandListAppendMemAdvise_t = b"zeCommandListAppendMemAdvise\0";
    queue_create: ze_pfnCommandQueueCreate_t = b"zeCommandQueueCreate\0";
    queue_destroy: ze_pfnCommandQueueDestroy_t = b"zeCommandQueueDestroy\0";
    queue_execute: ze_pfnCommandQueueExecuteCommandLists_t = b"zeCommandQueueExecuteCommandLists\0";
    queue_synchronize: ze_pfnCommandQueueSynchronize_t = b"zeCommandQueueSynchronize\0";
    fence_create: ze_pfnFenceCreate_t = b"zeFenceCreate\0";
    fence_destroy: ze_pfnFenceDestroy_t = b"zeFenceDestroy\0";
    fence_host_synchronize: ze_pfnFenceHostSynchronize_t = b"zeFenceHostSynchronize\0";
    fence_query_status: ze_pfnFenceQueryStatus_t = b"zeFenceQueryStatus\0";
    fence_reset: ze_pfnFenceReset_t = b"zeFenceReset\0";
    context_create_ex: ze_pfnContextCreateEx_t = b"zeContextCreateEx\0";
    context_get_status: ze_pfnContextGetStatus_t = b"zeContextGetStatus\0";
    driver_get_ipc_properties: ze_pfnDriverGetIpcProperties_t = b"zeDriverGetIpcProperties\0";
    device_get_compute_properties: ze_pfnDeviceGetComputeProperties_t = b"zeDeviceGetComputeProperties\0";
    device_get_cache_properties: ze_pfnDeviceGetCacheProperties_t = b"zeDeviceGetCacheProperties\0";
    device_get_image_properties: ze_pfnDeviceGetImageProperties_t = b"zeDeviceGetImageProperties\0";
    device_can_access_peer: ze_pfnDeviceCanAccessPeer_t = b"zeDeviceCanAccessPeer\0";
    device_get_p2p_properties: ze_pfnDeviceGetP2PProperties_t = b"zeDeviceGetP2PProperties\0";
    append_copy_from_context: ze_pfnCommandListAppendMemoryCopyFromContext_t = b"zeCommandListAppendMemoryCopyFromContext\0";
    driver_get_extension_properties: ze_pfnDriverGetExtensionProperties_t = b"zeDriverGetExtensionProperties\0";
    driver_get_extension_function_address: ze_pfnDriverGetExtensionFunctionAddress_t = b"zeDriverGetExtensionFunctionAddress\0";
    device_get_memory_access_properties: ze_pfnDeviceGetMemoryAccessProperties_t = b"zeDeviceGetMemoryAccessProperties\0";
    module_create: ze_pfnModuleCreate_t = b"zeModuleCreate\0";
    append_write_global_timestamp: ze_pfnCommandListAppendWriteGlobalTimestamp_t = b"zeCommandListAppendWriteGlobalTimestamp\0";
    virtual_mem_reserve: ze_pfnVirtualMemReserve_t = b"zeVirtualMemReserve\0";
    virtual_mem_free: ze_pfnVirtualMemFree_t = b"zeVirtualMemFree\0";
    virtual_mem_query_page_size: ze_pfnVirtualMemQueryPageSize_t = b"zeVirtualMemQueryPageSize\0";
    virtual_mem_map: ze_pfnVirtualMemMap_t = b"zeVirtualMemMap\0";
    virtual_mem_unmap: ze_pfnVirtualMemUnmap_t = b"zeVirtualMemUnmap\0";
    virtual_mem_set_access: ze_pfnVirtualMemSetAccessAttribute_t = b"zeVirtualMemSetAccessAttribute\0";
    virtual_mem_get_access: ze_pfnVirtualMemGetAccessAttribute_t = b"zeVirtualMemGetAccessAttribute\0";
    physical_mem_create: ze_pfnPhysicalMemCreate_t = b"zePhysicalMemCreate\0";
    physical_mem_destroy: ze_pfnPhysicalMemDestroy_t = b"zePhysicalMemDestroy\0";
}

/// The loader, initialised once per test process with our driver.
pub fn ze() -> &'static Ze {
    static ZE: OnceLock<Ze> = OnceLock::new();
    ZE.get_or_init(|| {
        let loader = swze_control::open_loader(&[
            ("SWZE_DEVICES", &DEVICES.to_string()),
            ("SWZE_DEVICE_MODEL", "max1550"),
            ("ZE_FLAT_DEVICE_HIERARCHY", "COMPOSITE"),
        ]);
        Ze::resolve(loader, Control::find_loaded())
    })
}

// ---------------------------------------------------------------------------
// Conveniences for the common setup; each asserts success.

pub fn check(result: ze_result_t) {
    assert_eq!(result, ZE_RESULT_SUCCESS, "Level Zero call failed: {result:#x}");
}

pub fn driver() -> ze_driver_handle_t {
    let ze = ze();
    let mut count = 1;
    let mut driver = ptr::null_mut();
    // SAFETY: valid out-pointers.
    check(unsafe { (ze.driver_get)(&mut count, &mut driver) });
    driver
}

pub fn devices() -> Vec<ze_device_handle_t> {
    let ze = ze();
    let mut count = 0;
    // SAFETY: valid out-pointers; the array holds `count` entries.
    unsafe {
        check((ze.device_get)(driver(), &mut count, ptr::null_mut()));
        let mut devices = vec![ptr::null_mut(); count as usize];
        check((ze.device_get)(driver(), &mut count, devices.as_mut_ptr()));
        devices
    }
}

pub fn device() -> ze_device_handle_t {
    devices()[0]
}

pub fn context() -> ze_context_handle_t {
    let desc = ze_context_desc_t { stype: ZE_STRUCTURE_TYPE_CONTEXT_DESC, ..Default::default() };
    let mut context = ptr::null_mut();
    // SAFETY: valid descriptor and out-pointer.
    check(unsafe { (ze().context_create)(driver(), &desc, &mut context) });
    context
}

pub fn queue_desc(mode: ze_command_queue_mode_t) -> ze_command_queue_desc_t {
    ze_command_queue_desc_t {
        stype: ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
        ordinal: 1,
        index: 0,
        flags: ZE_COMMAND_QUEUE_FLAG_EXPLICIT_ONLY,
        mode,
        priority: ZE_COMMAND_QUEUE_PRIORITY_NORMAL,
        ..Default::default()
    }
}

pub fn list(context: ze_context_handle_t) -> ze_command_list_handle_t {
    list_with_mode(context, ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS)
}

pub fn list_with_mode(context: ze_context_handle_t, mode: ze_command_queue_mode_t) -> ze_command_list_handle_t {
    let desc = queue_desc(mode);
    let mut list = ptr::null_mut();
    // SAFETY: valid descriptor and out-pointer.
    check(unsafe { (ze().list_create_immediate)(context, device(), &desc, &mut list) });
    list
}

pub fn pool(context: ze_context_handle_t, count: u32) -> ze_event_pool_handle_t {
    let desc = ze_event_pool_desc_t {
        stype: ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
        flags: ZE_EVENT_POOL_FLAG_HOST_VISIBLE,
        count,
        ..Default::default()
    };
    let mut pool = ptr::null_mut();
    // SAFETY: valid descriptor and out-pointer, no device list.
    check(unsafe { (ze().pool_create)(context, &desc, 0, ptr::null_mut(), &mut pool) });
    pool
}

pub fn event_desc(index: u32) -> ze_event_desc_t {
    ze_event_desc_t {
        stype: ZE_STRUCTURE_TYPE_EVENT_DESC,
        index,
        signal: ZE_EVENT_SCOPE_FLAG_HOST,
        wait: ZE_EVENT_SCOPE_FLAG_HOST,
        ..Default::default()
    }
}

pub fn event(pool: ze_event_pool_handle_t, index: u32) -> ze_event_handle_t {
    let desc = event_desc(index);
    let mut event = ptr::null_mut();
    // SAFETY: valid descriptor and out-pointer.
    check(unsafe { (ze().event_create)(pool, &desc, &mut event) });
    event
}

pub fn device_memory(context: ze_context_handle_t, size: usize) -> *mut u8 {
    let desc = ze_device_mem_alloc_desc_t { stype: ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC, ..Default::default() };
    let mut memory: *mut c_void = ptr::null_mut();
    // SAFETY: valid descriptor and out-pointer.
    check(unsafe { (ze().mem_alloc_device)(context, &desc, size, 64, device(), &mut memory) });
    memory.cast()
}

pub fn copy(
    list: ze_command_list_handle_t,
    destination: *mut u8,
    source: *const u8,
    size: usize,
    signal: ze_event_handle_t,
    waits: &[ze_event_handle_t],
) -> ze_result_t {
    let mut waits = waits.to_vec();
    let wait_pointer = if waits.is_empty() { ptr::null_mut() } else { waits.as_mut_ptr() };
    // SAFETY: the tests keep both buffers alive until the copy is observed
    // complete; the wait list holds `waits.len()` handles.
    unsafe {
        (ze().append_copy)(list, destination.cast(), source.cast(), size, signal, waits.len() as u32, wait_pointer)
    }
}

pub fn synchronize(event: ze_event_handle_t, timeout_ns: u64) -> ze_result_t {
    // SAFETY: plain handle and integer.
    unsafe { (ze().event_host_synchronize)(event, timeout_ns) }
}

pub fn query(event: ze_event_handle_t) -> ze_result_t {
    // SAFETY: plain handle.
    unsafe { (ze().event_query_status)(event) }
}

/// Everything a test usually needs, destroyed in the right order on drop.
pub struct Setup {
    pub context: ze_context_handle_t,
    pub list: ze_command_list_handle_t,
    pub pool: ze_event_pool_handle_t,
    pub events: Vec<ze_event_handle_t>,
}

impl Setup {
    pub fn new(event_count: u32) -> Setup {
        let context = context();
        let list = list(context);
        let pool = pool(context, event_count);
        let events = (0..event_count).map(|index| event(pool, index)).collect();
        Setup { context, list, pool, events }
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let ze = ze();
        // SAFETY: handles created by `new`, each destroyed once. Results are
        // checked only when not already unwinding from a failed assertion.
        let results: Vec<ze_result_t> = unsafe {
            let mut results = vec![(ze.list_destroy)(self.list)];
            results.extend(self.events.iter().map(|&event| (ze.event_destroy)(event)));
            results.push((ze.pool_destroy)(self.pool));
            results.push((ze.context_destroy)(self.context));
            results
        };
        if !std::thread::panicking() {
            assert!(results.iter().all(|&result| result == ZE_RESULT_SUCCESS), "teardown: {results:x?}");
        }
    }
}

/// A regular command list on queue group `ordinal` of the first device.
pub fn regular_list(context: ze_context_handle_t, ordinal: u32) -> ze_command_list_handle_t {
    let desc = ze_command_list_desc_t {
        stype: ZE_STRUCTURE_TYPE_COMMAND_LIST_DESC,
        commandQueueGroupOrdinal: ordinal,
        ..Default::default()
    };
    let mut list = ptr::null_mut();
    // SAFETY: valid descriptor and out-pointer.
    check(unsafe { (ze().list_create)(context, device(), &desc, &mut list) });
    list
}

/// A command queue on group `ordinal`, index 0, of the first device.
pub fn command_queue(context: ze_context_handle_t, ordinal: u32, mode: ze_command_queue_mode_t) -> ze_command_queue_handle_t {
    let desc = ze_command_queue_desc_t { ordinal, ..queue_desc(mode) };
    let mut queue = ptr::null_mut();
    // SAFETY: valid descriptor and out-pointer.
    check(unsafe { (ze().queue_create)(context, device(), &desc, &mut queue) });
    queue
}

pub fn fence(queue: ze_command_queue_handle_t, flags: ze_fence_flags_t) -> ze_fence_handle_t {
    let desc = ze_fence_desc_t { stype: ZE_STRUCTURE_TYPE_FENCE_DESC, flags, ..Default::default() };
    let mut fence = ptr::null_mut();
    // SAFETY: valid descriptor and out-pointer.
    check(unsafe { (ze().fence_create)(queue, &desc, &mut fence) });
    fence
}

pub fn execute(queue: ze_command_queue_handle_t, lists: &[ze_command_list_handle_t], fence: ze_fence_handle_t) -> ze_result_t {
    let mut lists = lists.to_vec();
    // SAFETY: the array holds `lists.len()` handles.
    unsafe { (ze().queue_execute)(queue, lists.len() as u32, lists.as_mut_ptr(), fence) }
}

pub fn fill(
    list: ze_command_list_handle_t,
    destination: *mut u8,
    pattern: &[u8],
    size: usize,
    signal: ze_event_handle_t,
) -> ze_result_t {
    // SAFETY: the tests keep the destination alive until the fill is
    // observed complete; the pattern is copied at the append.
    unsafe {
        (ze().append_fill)(list, destination.cast(), pattern.as_ptr().cast(), pattern.len(), size, signal, 0, ptr::null_mut())
    }
}

pub fn barrier(list: ze_command_list_handle_t) -> ze_result_t {
    // SAFETY: no events.
    unsafe { (ze().append_barrier)(list, ptr::null_mut(), 0, ptr::null_mut()) }
}

pub fn close(list: ze_command_list_handle_t) -> ze_result_t {
    // SAFETY: plain handle.
    unsafe { (ze().list_close)(list) }
}
