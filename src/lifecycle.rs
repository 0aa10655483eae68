//! A dma made and unmade: the driver that owns the device, the queue asked
//! for checked against the device's groups, the context and the lists (the
//! only module that creates or destroys them), the block handed to C; and
//! at the end, the block claimed back and everything released.

use std::cell::UnsafeCell;
use std::ffi::c_int;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

use ze_sys::*;

use crate::abi::*;
use crate::diag::refuse;
use crate::engine::{DmaBlock, DEAD, DMA_MAGIC};
use crate::error::{AmlError, ZeError};
use crate::events::Recycler;
use crate::fence::Fence;
use crate::host_ranges;
use crate::in_order::Mode;
use crate::lanes::Lanes;
use crate::level_zero::{Device, Driver};
use crate::loader::{self, Ze};
use crate::spread::{self, Spread};

/// The driver that owns `device` (a root device or one of its subdevices),
/// and the device as that driver names it.
fn owning_driver(ze: &Ze, device: ze_device_handle_t) -> Result<(Driver, Device), AmlError> {
    for driver in Driver::all(ze)? {
        for root in driver.devices(ze)? {
            if root.is(device) {
                return Ok((driver, root));
            }
            if let Some(found) = find_subdevice(ze, root, device)? {
                return Ok((driver, found));
            }
        }
    }
    Err(refuse!(
        AmlError::EINVAL,
        "aml_dma_ze_create",
        "device {device:p}: not a device or subdevice of any Level Zero driver (a handle from zeDeviceGet or zeDeviceGetSubDevices)"
    ))
}

/// `device` among the sub-devices of `parent`, at any depth.
fn find_subdevice(ze: &Ze, parent: Device, device: ze_device_handle_t) -> Result<Option<Device>, ZeError> {
    for sub in parent.sub_devices(ze)? {
        if sub.is(device) {
            return Ok(Some(sub));
        }
        if let Some(found) = find_subdevice(ze, sub, device)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The queues a create with (`ordinal`, `index`) uses (`-1` or
/// `AML_DMA_ZE_QUEUES`: every copy engine of the device, the asked queue
/// first); `-AML_EINVAL` unless `ordinal` names a queue group of `device`
/// with more than `index` queues.
fn check_queue(ze: &Ze, device: Device, ordinal: c_int, index: c_int) -> Result<Spread, AmlError> {
    let groups: Vec<spread::Group> = device
        .queue_groups(ze)?
        .iter()
        .map(|group| spread::Group {
            queues: group.numQueues,
            copy_only: group.flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY != 0
                && group.flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE == 0,
        })
        .collect();
    spread::spread_from_environment(&groups, ordinal, index).ok_or_else(|| refused_queue(&groups, ordinal, index))
}

/// Why `check_queue` refused (ordinal, index), traced; `-AML_EINVAL`.
#[cold]
fn refused_queue(groups: &[spread::Group], ordinal: c_int, index: c_int) -> AmlError {
    const CREATE: &str = "aml_dma_ze_create";
    let count = groups.len();
    let Some(group) = usize::try_from(ordinal).ok().and_then(|ordinal| groups.get(ordinal)) else {
        return refuse!(
            AmlError::EINVAL,
            CREATE,
            "ordinal {ordinal}: the device has {count} queue group{} (ordinals 0 to {})",
            if count == 1 { "" } else { "s" },
            count as i64 - 1
        );
    };
    if group.queues == 0 {
        return refuse!(AmlError::EINVAL, CREATE, "ordinal {ordinal}: the device's queue group {ordinal} has no queue");
    }
    refuse!(
        AmlError::EINVAL,
        CREATE,
        "index {index}: queue group {ordinal} of the device has {} queue{} (indices 0 to {}, or -1 for every copy engine)",
        group.queues,
        if group.queues == 1 { "" } else { "s" },
        group.queues - 1
    )
}

/// Level Zero objects made during create, released in reverse order if a later step fails.
struct Partial<'a> {
    ze: &'a Ze,
    context: ze_context_handle_t,
    lists: Vec<ze_command_list_handle_t>,
}

impl Drop for Partial<'_> {
    fn drop(&mut self) {
        for &list in self.lists.iter().rev() {
            // SAFETY: created by this create call and not handed out.
            let _ = unsafe { self.ze.command_list_destroy(list) };
        }
        if !self.context.is_null() {
            // SAFETY: as above.
            let _ = unsafe { self.ze.context_destroy(self.context) };
        }
    }
}

/// `aml_dma_ze_create`: a new dma on `device`, with `ops` as its `dma->ops`.
// `device` is an opaque handle: it is only compared with the driver's own
// device list until found there, and only then passed to Level Zero.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn create(device: ze_device_handle_t, ordinal: c_int, index: c_int, ops: *mut aml_dma_ops) -> Result<*mut aml_dma, AmlError> {
    let ze = loader::ze()?;
    if device.is_null() {
        return Err(refuse!(AmlError::EINVAL, "aml_dma_ze_create", "device is NULL"));
    }
    let (driver, device) = owning_driver(ze, device)?;
    let spread = check_queue(ze, device, ordinal, index)?;
    let mut mode = Mode::of(ze, driver);
    let device = device.as_raw();

    let mut partial = Partial { ze, context: ptr::null_mut(), lists: Vec::new() };
    let context_desc = ze_context_desc_t { stype: ZE_STRUCTURE_TYPE_CONTEXT_DESC, ..Default::default() };
    // SAFETY: `driver` owns `device`; the descriptor is complete.
    unsafe { ze.context_create(driver.as_raw(), &context_desc, &mut partial.context) }?;
    // The first list is on the queue asked for; the others follow it.
    for queue in spread.queues() {
        let create = |mode: Mode| {
            let queue_desc = ze_command_queue_desc_t {
                stype: ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
                ordinal: queue.ordinal,
                index: queue.index,
                flags: mode.queue_flags(ZE_COMMAND_QUEUE_FLAG_EXPLICIT_ONLY),
                mode: ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS,
                priority: ZE_COMMAND_QUEUE_PRIORITY_NORMAL,
                ..Default::default()
            };
            let mut list = ptr::null_mut();
            // SAFETY: live context and device; ordinal and index were validated.
            unsafe { ze.command_list_create_immediate(partial.context, device, &queue_desc, &mut list) }.map(|()| list)
        };
        let list = match create(mode) {
            Err(error) if partial.lists.is_empty() && mode.refused(error) => {
                mode = Mode::Fenced;
                create(mode)
            }
            created => created,
        }?;
        partial.lists.push(list);
    }
    let mut properties = ze_device_properties_t { stype: ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES, ..Default::default() };
    // SAFETY: live device; the properties struct has its stype set.
    unsafe { ze.device_get_properties(device, &mut properties) }?;
    let event_flags = ZE_EVENT_SCOPE_FLAG_HOST
        | if properties.flags & ZE_DEVICE_PROPERTY_FLAG_SUBDEVICE != 0 {
            ZE_EVENT_SCOPE_FLAG_SUBDEVICE
        } else {
            ZE_EVENT_SCOPE_FLAG_DEVICE
        };

    let (context, list) = (partial.context, partial.lists[0]);
    let lanes = (partial.lists.len() > 1)
        .then(|| {
            let split_bytes = spread::split_bytes_from_environment();
            Box::new(Lanes::new(&partial.lists, mode, split_bytes, spread.local(), spread.main_copy()))
        });
    // Handed over to the block: nothing is left for `partial` to release.
    partial.lists.clear();
    partial.context = ptr::null_mut();
    let block = Box::new(DmaBlock {
        dma: aml_dma { ops, data: ptr::null_mut() },
        data: UnsafeCell::new(aml_dma_ze_data {
            context,
            device,
            command_list: list,
            event_flags,
            // SAFETY: an all-zero pthread_mutex_t is a valid value; it is initialised below.
            lock: unsafe { std::mem::zeroed() },
        }),
        magic: AtomicU64::new(DMA_MAGIC),
        ze,
        driver,
        context,
        device,
        list,
        event_flags,
        recycler: Recycler::new(context, device, event_flags, mode),
        lanes,
        fence: Fence::new(mode),
        tickets: AtomicU64::new(0),
        done_through: AtomicU64::new(0),
    });
    let block = Box::into_raw(block);
    // SAFETY: `block` is a fresh, exclusively owned allocation that never moves
    // again, so the mutex may be initialised in place and the self-pointer set.
    unsafe {
        libc::pthread_mutex_init(ptr::addr_of_mut!((*(*block).data.get()).lock), ptr::null());
        (*block).dma.data = (*block).data.get().cast();
        Ok(ptr::addr_of_mut!((*block).dma))
    }
}

/// Takes ownership of the dma behind `dma`, if it is a live dma of this
/// library: from then on every other entry refuses it.
///
/// # Safety
/// `dma` must be non-NULL and point to readable memory.
pub unsafe fn claim(dma: *mut aml_dma) -> Result<&'static DmaBlock, AmlError> {
    // SAFETY: readable by the caller's contract.
    let data = unsafe { (*dma).data };
    // SAFETY: `from_data` checks the tag of what it is given.
    let block: &'static DmaBlock = unsafe { DmaBlock::from_data(data) }?;
    if !ptr::eq(ptr::addr_of!(block.dma), dma) {
        return Err(AmlError::EINVAL);
    }
    if block.magic.compare_exchange(DMA_MAGIC, DEAD, Ordering::AcqRel, Ordering::Acquire).is_err() {
        return Err(AmlError::EINVAL);
    }
    Ok(block)
}

/// The live dma behind a `struct aml_dma *` this library made (not claimed).
///
/// # Safety
/// `dma` must be NULL or point to readable memory of at least a `struct aml_dma`.
pub unsafe fn from_dma<'a>(dma: *mut aml_dma) -> Result<&'a DmaBlock, AmlError> {
    if dma.is_null() {
        return Err(AmlError::EINVAL);
    }
    // SAFETY: readable by the caller's contract.
    let data = unsafe { (*dma).data };
    // SAFETY: `from_data` checks the tag of what it is given.
    let block: &DmaBlock = unsafe { DmaBlock::from_data(data) }?;
    if !ptr::eq(ptr::addr_of!(block.dma), dma) {
        return Err(AmlError::EINVAL);
    }
    Ok(block)
}

/// `aml_dma_ze_destroy` of a claimed dma: a barrier (all outstanding work
/// done), then every event, pool, the list, the context and the mutex are
/// released and the block freed, even if the barrier failed (its error is
/// returned). During process exit only memory is freed. Requests not yet
/// waited for or destroyed lose their events here (a caller bug upstream too).
pub fn destroy(block: &'static DmaBlock) -> Result<(), AmlError> {
    let ze = block.ze;
    let call_driver = !loader::exiting();
    // A failed barrier is tried once more: destroying events the device may
    // still signal is the one thing teardown must not do.
    let outcome = if call_driver { block.barrier().or_else(|_| block.barrier()) } else { Ok(()) };
    // Its work is done: the host ranges it still has prepared are released.
    host_ranges::release_all(ze, block.owner_key(), call_driver);
    if call_driver {
        // SAFETY: all work done (or the device gave up); the list goes first,
        // in reverse order of creation, so nothing on it can signal an event
        // destroyed below.
        let _ = unsafe { ze.command_list_destroy(block.list) };
        for list in block.lanes.iter().flat_map(|lanes| lanes.lists().skip(1)) {
            // SAFETY: as above, for every other list of the dma.
            let _ = unsafe { ze.command_list_destroy(list) };
        }
    }
    block.recycler.destroy_all(ze, call_driver);
    if call_driver {
        // SAFETY: its list, events and pools are gone; nothing else uses it.
        let _ = unsafe { ze.context_destroy(block.context) };
    }
    let block = block as *const DmaBlock as *mut DmaBlock;
    // SAFETY: `claim` cleared the tag for this caller alone, so it owns the
    // block, which was made by `Box::into_raw` in `create`.
    unsafe {
        libc::pthread_mutex_destroy(ptr::addr_of_mut!((*(*block).data.get()).lock));
        drop(Box::from_raw(block));
    }
    outcome
}
