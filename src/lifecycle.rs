//! A dma made and unmade: the driver that owns the device, the queue asked
//! for checked against the device's groups, the context and the lists (the
//! only module that creates them; dropping the block destroys them), the
//! block handed to C; and at the end, the block claimed back and everything
//! released.

use std::cell::UnsafeCell;
use std::ffi::c_int;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

use ze_sys::*;

use crate::abi::*;
use crate::append_lock::AppendLock;
use crate::diag::{self, refuse};
use crate::engine::{DmaBlock, DEAD, DMA_MAGIC};
use crate::error::{AmlError, ZeError};
use crate::events::Recycler;
use crate::host_ranges;
use crate::in_order::Mode;
use crate::lanes::Lanes;
use crate::level_zero::{Context, Device, Driver, ImmediateList};
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

/// `aml_dma_ze_create`: a new dma on `device`, with `ops` as its `dma->ops`.
/// What a failing step leaves made is dropped, so destroyed, on the way out.
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

    let context = Context::create(ze, driver)?;
    // The first list is on the queue asked for; the others follow it.
    let mut lists: Vec<ImmediateList> = Vec::new();
    for queue in spread.queues() {
        let create = |mode: Mode| {
            // The ordinal and index were validated.
            let flags = mode.queue_flags(ZE_COMMAND_QUEUE_FLAG_EXPLICIT_ONLY);
            ImmediateList::create(&context, device, queue.ordinal, queue.index, flags)
        };
        let list = match create(mode) {
            Err(error) if lists.is_empty() && mode.refused(error) => {
                mode = Mode::Fenced;
                create(mode)
            }
            created => created,
        }?;
        lists.push(list);
    }
    let properties = device.properties(ze)?;
    let event_flags = ZE_EVENT_SCOPE_FLAG_HOST
        | if properties.flags & ZE_DEVICE_PROPERTY_FLAG_SUBDEVICE != 0 {
            ZE_EVENT_SCOPE_FLAG_SUBDEVICE
        } else {
            ZE_EVENT_SCOPE_FLAG_DEVICE
        };

    if diag::tracing() {
        diag::tell(
            "aml_dma_ze_create",
            format_args!("ordinal {ordinal}, index {index}: {} list(s), {}", lists.len(), mode.describe()),
        );
    }
    let mut lists = lists.into_iter();
    let list = lists.next().expect("a dma has its asked queue first");
    let others: Vec<ImmediateList> = lists.collect();
    // One list reads no split size: it never splits.
    let split_bytes = if others.is_empty() { 0 } else { spread::split_bytes_from_environment() };
    let lanes = Lanes::new(others, mode, split_bytes, spread.local(), spread.main_copy());
    let mut block = Box::<DmaBlock>::new_uninit();
    let at = block.as_mut_ptr();
    // SAFETY: a place inside the allocation, not read: the mutex's address,
    // fixed from now on (the block never moves).
    let mutex = unsafe { ptr::addr_of_mut!((*ptr::addr_of_mut!((*at).data).cast::<aml_dma_ze_data>()).lock) };
    block.write(DmaBlock {
        dma: aml_dma { ops, data: ptr::null_mut() },
        data: UnsafeCell::new(aml_dma_ze_data {
            context: context.as_raw(),
            device: device.as_raw(),
            command_list: list.as_raw(),
            event_flags,
            // SAFETY: an all-zero pthread_mutex_t is a valid value; it is initialised below.
            lock: unsafe { std::mem::zeroed() },
        }),
        magic: AtomicU64::new(DMA_MAGIC),
        ze,
        driver,
        device,
        // SAFETY: `mutex` is this block's `data.lock`, initialised below
        // before the block is handed out and destroyed with it; C's operators
        // append to `command_list` under it, as every append of ours does.
        first: unsafe { AppendLock::new(list, mutex) },
        lanes,
        recycler: Recycler::new(device, event_flags, mode),
        context,
        event_flags,
    });
    // SAFETY: written just above.
    let block = Box::into_raw(unsafe { block.assume_init() });
    // SAFETY: `block` is a fresh, exclusively owned allocation that never moves
    // again, so the mutex may be initialised in place and the self-pointer set.
    unsafe {
        libc::pthread_mutex_init(mutex, ptr::null());
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
    let block = block as *const DmaBlock as *mut DmaBlock;
    // SAFETY: `claim` cleared the tag for this caller alone, so it owns the
    // block, which was made by `Box::into_raw` in `create`; the mutex was
    // initialised there, and nothing holds it any more.
    let block = unsafe {
        libc::pthread_mutex_destroy(ptr::addr_of_mut!((*(*block).data.get()).lock));
        Box::from_raw(block)
    };
    let DmaBlock { first, lanes, recycler, context, .. } = *block;
    // All work done (or the device gave up): the lists go first, the first
    // one then the others in order, so nothing on them can signal an event
    // destroyed next; then the blocks, events and pools; the context last
    // (the lists and pools held it too). During process exit each only frees.
    drop(first);
    drop(lanes);
    drop(recycler);
    drop(context);
    outcome
}
