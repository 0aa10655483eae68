//! The fake's entry points, one per `Ze` entry: each counts itself, takes
//! its scripted fault, or acts on the thread's `State`.

use std::collections::VecDeque;
use std::ffi::{c_char, c_void};
use std::ptr;

use ze_sys::*;

use super::{enter, Call, EventState, ListState, PoolState, COUNTER_BASED_POOL_DESC, DEVICE, DRIVER, IN_ORDER, SUB_DEVICES};
use crate::loader::Entries;

/// Every entry of the fake's table.
pub(super) fn entries() -> Entries {
    Entries {
        init,
        driver_get,
        device_get,
        device_get_sub_devices: sub_devices,
        device_get_properties: device_properties,
        device_get_command_queue_group_properties: queue_groups,
        context_create,
        context_destroy,
        command_list_create_immediate: list_create,
        command_list_destroy: list_destroy,
        command_list_append_memory_copy: append_copy,
        command_list_append_memory_copy_region: append_copy_region,
        command_list_append_barrier: append_barrier,
        event_pool_create: pool_create,
        event_pool_destroy: pool_destroy,
        event_create,
        event_destroy,
        event_host_synchronize: host_synchronize,
        event_host_reset: host_reset,
        event_query_status_raw: query_status,
        mem_get_alloc_properties: alloc_properties,
        driver_get_extension_properties: extension_properties,
        driver_get_extension_function_address: extension_function,
    }
}

/// A count-then-fill answer as the spec has it: the count when `items` is
/// NULL or `*count` is 0, else at most `*count` items and their number.
///
/// # Safety
/// `count` is valid, and `items` NULL or room for `*count` items.
unsafe fn fill<T: Clone>(count: *mut u32, items: *mut T, all: &[T]) -> Result<(), ze_result_t> {
    // SAFETY: the caller's contract.
    let asked = unsafe { *count } as usize;
    if items.is_null() || asked == 0 {
        // SAFETY: as above.
        unsafe { *count = all.len() as u32 };
        return Ok(());
    }
    let given = asked.min(all.len());
    for (at, item) in all[..given].iter().enumerate() {
        // SAFETY: `at` < `*count`, within the caller's room.
        unsafe { items.add(at).write(item.clone()) };
    }
    // SAFETY: as above.
    unsafe { *count = given as u32 };
    Ok(())
}

/// The wait list of an append, as handles.
///
/// # Safety
/// `events` is NULL or `count` readable handles.
unsafe fn wait_list(count: u32, events: *mut ze_event_handle_t) -> Vec<usize> {
    if events.is_null() {
        return Vec::new();
    }
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts(events, count as usize) }.iter().map(|&e| e as usize).collect()
}

unsafe extern "C" fn init(_flags: ze_init_flags_t) -> ze_result_t {
    enter(Call::Init, |_| Ok(()))
}

unsafe extern "C" fn driver_get(count: *mut u32, drivers: *mut ze_driver_handle_t) -> ze_result_t {
    // SAFETY: the library's count-then-fill (`topology::enumerate`).
    enter(Call::DriverGet, |_| unsafe { fill(count, drivers, &[DRIVER as ze_driver_handle_t]) })
}

unsafe extern "C" fn device_get(driver: ze_driver_handle_t, count: *mut u32, devices: *mut ze_device_handle_t) -> ze_result_t {
    enter(Call::DeviceGet, |s| {
        s.check(driver as usize == DRIVER, "zeDeviceGet", driver as usize)?;
        // SAFETY: as in `driver_get`.
        unsafe { fill(count, devices, &[DEVICE as ze_device_handle_t]) }
    })
}

unsafe extern "C" fn sub_devices(device: ze_device_handle_t, count: *mut u32, devices: *mut ze_device_handle_t) -> ze_result_t {
    enter(Call::SubDevices, |s| {
        s.known_device("zeDeviceGetSubDevices", device as usize)?;
        let subs: &[usize] = if device as usize == DEVICE { &SUB_DEVICES } else { &[] };
        let subs: Vec<ze_device_handle_t> = subs.iter().map(|&d| d as ze_device_handle_t).collect();
        // SAFETY: as in `driver_get`.
        unsafe { fill(count, devices, &subs) }
    })
}

unsafe extern "C" fn device_properties(device: ze_device_handle_t, properties: *mut ze_device_properties_t) -> ze_result_t {
    enter(Call::DeviceProperties, |s| {
        s.known_device("zeDeviceGetProperties", device as usize)?;
        let flags = if device as usize == DEVICE { 0 } else { ZE_DEVICE_PROPERTY_FLAG_SUBDEVICE };
        // SAFETY: the library passes a properties struct to write.
        unsafe { (*properties).flags = flags };
        Ok(())
    })
}

unsafe extern "C" fn queue_groups(
    device: ze_device_handle_t,
    count: *mut u32,
    groups: *mut ze_command_queue_group_properties_t,
) -> ze_result_t {
    enter(Call::QueueGroups, |s| {
        s.known_device("zeDeviceGetCommandQueueGroupProperties", device as usize)?;
        let group = |flags, queues| ze_command_queue_group_properties_t {
            stype: ZE_STRUCTURE_TYPE_COMMAND_QUEUE_GROUP_PROPERTIES,
            flags,
            numQueues: queues,
            ..Default::default()
        };
        let compute = ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE | ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY;
        let all = [group(compute, 1), group(ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY, 2)];
        // SAFETY: as in `driver_get`.
        unsafe { fill(count, groups, &all) }
    })
}

unsafe extern "C" fn context_create(driver: ze_driver_handle_t, _desc: *const ze_context_desc_t, out: *mut ze_context_handle_t) -> ze_result_t {
    enter(Call::ContextCreate, |s| {
        s.check(driver as usize == DRIVER, "zeContextCreate", driver as usize)?;
        let handle = s.handle();
        s.contexts.insert(handle, true);
        // SAFETY: the library passes a valid out-pointer.
        unsafe { *out = handle as ze_context_handle_t };
        Ok(())
    })
}

unsafe extern "C" fn context_destroy(context: ze_context_handle_t) -> ze_result_t {
    enter(Call::ContextDestroy, |s| {
        let context = context as usize;
        s.live_context("zeContextDestroy", context)?;
        let lists = s.lists.values().any(|l| l.live && l.context == context);
        if lists || s.pools.values().any(|p| p.live && p.context == context) {
            s.note(format!("context {context:#x} destroyed before its lists or pools"));
        }
        s.contexts.insert(context, false);
        Ok(())
    })
}

unsafe extern "C" fn list_create(
    context: ze_context_handle_t,
    device: ze_device_handle_t,
    desc: *const ze_command_queue_desc_t,
    out: *mut ze_command_list_handle_t,
) -> ze_result_t {
    enter(Call::ListCreate, |s| {
        s.live_context("zeCommandListCreateImmediate", context as usize)?;
        s.known_device("zeCommandListCreateImmediate", device as usize)?;
        // SAFETY: the library passes a complete descriptor.
        let in_order = unsafe { (*desc).flags } & IN_ORDER != 0;
        let handle = s.handle();
        s.lists.insert(handle, ListState { context: context as usize, in_order, live: true, pending: VecDeque::new() });
        // SAFETY: the library passes a valid out-pointer.
        unsafe { *out = handle as ze_command_list_handle_t };
        Ok(())
    })
}

unsafe extern "C" fn list_destroy(list: ze_command_list_handle_t) -> ze_result_t {
    enter(Call::ListDestroy, |s| {
        let list = list as usize;
        let (alive, pending) = s.lists.get(&list).map_or((false, 0), |l| (l.live, l.pending.len()));
        s.check(alive, "zeCommandListDestroy", list)?;
        if pending > 0 {
            s.note(format!("list {list:#x} destroyed with {pending} command(s) not run"));
        }
        s.lists.get_mut(&list).expect("live").live = false;
        Ok(())
    })
}

unsafe extern "C" fn append_copy(
    list: ze_command_list_handle_t,
    dst: *mut c_void,
    _src: *const c_void,
    _size: usize,
    signal: ze_event_handle_t,
    wait_count: u32,
    wait: *mut ze_event_handle_t,
) -> ze_result_t {
    // SAFETY: the library passes NULL or `wait_count` events.
    let wait = unsafe { wait_list(wait_count, wait) };
    enter(Call::AppendCopy, |s| s.append(Call::AppendCopy, list as usize, dst as usize, signal as usize, wait))
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn append_copy_region(
    list: ze_command_list_handle_t,
    dst: *mut c_void,
    _dst_region: *const ze_copy_region_t,
    _dst_pitch: u32,
    _dst_slice_pitch: u32,
    _src: *const c_void,
    _src_region: *const ze_copy_region_t,
    _src_pitch: u32,
    _src_slice_pitch: u32,
    signal: ze_event_handle_t,
    wait_count: u32,
    wait: *mut ze_event_handle_t,
) -> ze_result_t {
    // SAFETY: as in `append_copy`.
    let wait = unsafe { wait_list(wait_count, wait) };
    enter(Call::AppendCopyRegion, |s| s.append(Call::AppendCopyRegion, list as usize, dst as usize, signal as usize, wait))
}

unsafe extern "C" fn append_barrier(
    list: ze_command_list_handle_t,
    signal: ze_event_handle_t,
    wait_count: u32,
    wait: *mut ze_event_handle_t,
) -> ze_result_t {
    // SAFETY: as in `append_copy`.
    let wait = unsafe { wait_list(wait_count, wait) };
    enter(Call::AppendBarrier, |s| s.append(Call::AppendBarrier, list as usize, 0, signal as usize, wait))
}

unsafe extern "C" fn pool_create(
    context: ze_context_handle_t,
    desc: *const ze_event_pool_desc_t,
    _device_count: u32,
    _devices: *mut ze_device_handle_t,
    out: *mut ze_event_pool_handle_t,
) -> ze_result_t {
    enter(Call::PoolCreate, |s| {
        s.live_context("zeEventPoolCreate", context as usize)?;
        // SAFETY: the library passes a complete descriptor.
        let (capacity, next) = unsafe { ((*desc).count, (*desc).pNext) };
        // SAFETY: a chained descriptor starts as every Level Zero descriptor does.
        let counter_based = !next.is_null() && unsafe { (*next.cast::<ze_base_desc_t>()).stype } == COUNTER_BASED_POOL_DESC;
        let handle = s.handle();
        s.pools.insert(handle, PoolState { context: context as usize, capacity, counter_based, live: true });
        // SAFETY: the library passes a valid out-pointer.
        unsafe { *out = handle as ze_event_pool_handle_t };
        Ok(())
    })
}

unsafe extern "C" fn pool_destroy(pool: ze_event_pool_handle_t) -> ze_result_t {
    enter(Call::PoolDestroy, |s| {
        let pool = pool as usize;
        let alive = s.pools.get(&pool).is_some_and(|p| p.live);
        s.check(alive, "zeEventPoolDestroy", pool)?;
        if s.events.values().any(|e| e.live && e.pool == pool) {
            s.note(format!("pool {pool:#x} destroyed before its events"));
        }
        s.pools.get_mut(&pool).expect("live").live = false;
        Ok(())
    })
}

unsafe extern "C" fn event_create(pool: ze_event_pool_handle_t, desc: *const ze_event_desc_t, out: *mut ze_event_handle_t) -> ze_result_t {
    enter(Call::EventCreate, |s| {
        let pool = pool as usize;
        let capacity = s.pools.get(&pool).filter(|p| p.live).map(|p| p.capacity);
        s.check(capacity.is_some(), "zeEventCreate", pool)?;
        // SAFETY: the library passes a complete descriptor.
        let index = unsafe { (*desc).index };
        let taken = s.events.values().any(|e| e.live && e.pool == pool && e.index == index);
        if index >= capacity.unwrap_or(0) || taken {
            s.note(format!("zeEventCreate: index {index} of pool {pool:#x} is out of range or taken"));
            return Err(ZE_RESULT_ERROR_INVALID_ARGUMENT);
        }
        let handle = s.handle();
        s.events.insert(handle, EventState { pool, index, signalled: false, live: true });
        // SAFETY: the library passes a valid out-pointer.
        unsafe { *out = handle as ze_event_handle_t };
        Ok(())
    })
}

unsafe extern "C" fn event_destroy(event: ze_event_handle_t) -> ze_result_t {
    enter(Call::EventDestroy, |s| {
        let event = event as usize;
        s.live_event("zeEventDestroy", event)?;
        if s.pending_on(event, false) {
            s.note(format!("event {event:#x} destroyed while a pending command uses it"));
        }
        s.events.get_mut(&event).expect("live").live = false;
        Ok(())
    })
}

unsafe extern "C" fn host_synchronize(event: ze_event_handle_t, _timeout: u64) -> ze_result_t {
    enter(Call::HostSynchronize, |s| {
        let event = event as usize;
        s.live_event("zeEventHostSynchronize", event)?;
        s.run(true);
        if s.events[&event].signalled {
            s.observe(event);
            return Ok(());
        }
        s.note(format!("zeEventHostSynchronize on {event:#x} would never return"));
        Err(ZE_RESULT_NOT_READY)
    })
}

unsafe extern "C" fn host_reset(event: ze_event_handle_t) -> ze_result_t {
    enter(Call::HostReset, |s| {
        let event = event as usize;
        s.live_event("zeEventHostReset", event)?;
        if s.counter_based(event) {
            s.note(format!("host reset of counter-based event {event:#x}"));
            return Err(ZE_RESULT_ERROR_UNSUPPORTED_FEATURE);
        }
        if s.pending_on(event, true) {
            s.note(format!("host reset of {event:#x}, which a pending command signals"));
        }
        s.events.get_mut(&event).expect("live").signalled = false;
        Ok(())
    })
}

unsafe extern "C" fn query_status(event: ze_event_handle_t) -> ze_result_t {
    enter(Call::QueryStatus, |s| {
        let event = event as usize;
        s.live_event("zeEventQueryStatus", event)?;
        s.run(false);
        if !s.events[&event].signalled {
            return Err(ZE_RESULT_NOT_READY);
        }
        s.observe(event);
        Ok(())
    })
}

unsafe extern "C" fn alloc_properties(
    context: ze_context_handle_t,
    address: *const c_void,
    properties: *mut ze_memory_allocation_properties_t,
    device: *mut ze_device_handle_t,
) -> ze_result_t {
    enter(Call::AllocProperties, |s| {
        s.live_context("zeMemGetAllocProperties", context as usize)?;
        let address = address as usize;
        let found = s.allocations.iter().find(|&&(start, len, _, _)| (start..start + len).contains(&address));
        let (kind, owner) = found.map_or((ZE_MEMORY_TYPE_UNKNOWN, 0), |&(_, _, kind, owner)| (kind, owner));
        // SAFETY: the library passes a properties struct to write.
        unsafe { (*properties).type_ = kind };
        if !device.is_null() {
            // SAFETY: non-NULL: a valid out-pointer.
            unsafe { *device = owner as ze_device_handle_t };
        }
        Ok(())
    })
}

unsafe extern "C" fn extension_properties(
    driver: ze_driver_handle_t,
    count: *mut u32,
    properties: *mut ze_driver_extension_properties_t,
) -> ze_result_t {
    enter(Call::ExtensionProperties, |s| {
        s.check(driver as usize == DRIVER, "zeDriverGetExtensionProperties", driver as usize)?;
        let listed: Vec<ze_driver_extension_properties_t> = s
            .extensions
            .iter()
            .map(|name| {
                let mut entry = ze_driver_extension_properties_t { name: [0; 256], version: 1 };
                for (to, &from) in entry.name.iter_mut().zip(name) {
                    *to = from as c_char;
                }
                entry
            })
            .collect();
        // SAFETY: as in `driver_get`.
        unsafe { fill(count, properties, &listed) }
    })
}

unsafe extern "C" fn extension_function(_driver: ze_driver_handle_t, _name: *const c_char, function: *mut *mut c_void) -> ze_result_t {
    enter(Call::ExtensionFunction, |_| {
        // SAFETY: the library passes a valid out-pointer.
        unsafe { *function = ptr::null_mut() };
        Err(ZE_RESULT_ERROR_INVALID_ARGUMENT)
    })
}

