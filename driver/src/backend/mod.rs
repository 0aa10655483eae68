//! The one interface the front calls to make things happen: memory, queues,
//! commands, event words. A backend is chosen once, at the first `zeInit`,
//! by `SWZE_BACKEND` (`cpu`, the default, or `cuda`: `choice.rs`, the one
//! module that names them; they name only this interface).
//!
//! Arrows run one way: the front (`api/`) calls a backend; a backend never
//! names a front module. What a backend needs from a front object is handed
//! to it: an event is an [`EventCell`] (a word in memory the backend
//! allocated, as on Intel hardware, where events are memory the engine
//! writes), a list is the [`Queue`] the backend made for it, and a command
//! comes with a [`UseGuard`] the backend drops once the command has finished,
//! which is how the front learns that an event is no longer in use.

use std::ffi::CStr;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

use ze_sys::*;

pub mod choice;
pub mod cpu;
pub mod cuda;
pub mod model;
pub mod policy;
pub mod region;

/// The state of one event, in memory the device can write: `value` is
/// [`SIGNALED`] or [`RESET`]. The second word is the backend's: the CPU
/// backend counts host sleepers in it (so a signal skips the wake-up call
/// when nobody sleeps); the CUDA backend's device signal writes both words at
/// once, the second being the tag of the command that signalled.
#[repr(C, align(8))]
pub struct EventCell {
    pub value: AtomicU32,
    pub sleepers: AtomicU32,
}

pub const RESET: u32 = 0;
pub const SIGNALED: u32 = 1;

impl EventCell {
    pub fn is_signaled(&self) -> bool {
        self.value.load(Ordering::Acquire) == SIGNALED
    }
}

/// An event cell named by a command that crosses to an engine thread or a
/// device. Valid while the command's [`UseGuard`] lives: the guard keeps the
/// cell's pool alive.
/// Equal when they name the same cell.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CellRef(NonNull<EventCell>);

// SAFETY: a cell is made of atomics, shared by design; the guard that travels
// with every `CellRef` keeps its memory alive wherever the command goes.
unsafe impl Send for CellRef {}
// SAFETY: as above.
unsafe impl Sync for CellRef {}

impl CellRef {
    pub fn new(cell: &EventCell) -> CellRef {
        CellRef(NonNull::from(cell))
    }

    /// # Safety
    /// The command (and so the guard) this reference came with must be alive.
    pub unsafe fn cell<'a>(self) -> &'a EventCell {
        // SAFETY: forwarded contract: the guard keeps the pool's memory alive.
        unsafe { self.0.as_ref() }
    }
}

/// What a command does between its waits and its signal. `Clone`, since a
/// regular command list records actions once and submits them at every
/// execution.
#[derive(Clone)]
pub enum Action {
    Nothing,
    /// Addresses as integers: the command crosses threads, and the Level
    /// Zero contract makes the caller keep both ranges valid until it ran.
    Copy { destination: usize, source: usize, size: usize },
    /// A 2-D/3-D region, validated by `region::check` at append time (boxed:
    /// every command moves an `Action`, and the region is the largest).
    CopyRegion(Box<region::RegionCopy>),
    /// `pattern` (at least one byte) repeated over `size` bytes from
    /// `destination`; a last partial repetition takes the pattern's first
    /// bytes. The pattern is the driver's copy, shared by every replay.
    Fill { destination: usize, size: usize, pattern: Arc<[u8]> },
    ResetEvent(CellRef),
    /// Stores the device's global timestamp (nanoseconds, 64 bits) at
    /// `destination`, 8 bytes the caller keeps valid until the command ran.
    WriteTimestamp { destination: usize },
}

/// An event as the front tracks its uses by commands.
pub trait EventUse: Send + Sync {
    /// A command that named this event is done with it.
    fn use_finished(&self);
}

/// The events one command names, attached by the front. The backend calls
/// [`UseGuard::finished`] once the command has run (before its signal is
/// visible, so a host woken by the signal sees the event free), and drops the
/// guard only after the signal, since the guard keeps the event cells alive.
/// The signal and reset events sit in fields of their own, so the hot
/// appends (a copy or barrier signalling one event) allocate nothing.
pub struct UseGuard {
    signal: Option<Arc<dyn EventUse>>,
    reset: Option<Arc<dyn EventUse>>,
    waits: Vec<Arc<dyn EventUse>>,
    finished: bool,
}

impl UseGuard {
    pub fn new(
        signal: Option<Arc<dyn EventUse>>,
        reset: Option<Arc<dyn EventUse>>,
        waits: Vec<Arc<dyn EventUse>>,
    ) -> UseGuard {
        UseGuard { signal, reset, waits, finished: false }
    }

    /// It names no event: there is nothing to release, so a backend need
    /// not keep it.
    pub fn holds_nothing(&self) -> bool {
        self.signal.is_none() && self.reset.is_none() && self.waits.is_empty()
    }

    /// Tells every event its use is over; once, however often called.
    pub fn finished(&mut self) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        // Each field on its own: a chained iterator over the three costs
        // more than the one use a command usually holds.
        if let Some(event_use) = &self.signal {
            event_use.use_finished();
        }
        if let Some(event_use) = &self.reset {
            event_use.use_finished();
        }
        for event_use in &self.waits {
            event_use.use_finished();
        }
    }
}

impl Drop for UseGuard {
    fn drop(&mut self) {
        self.finished();
    }
}

/// One appended command: wait until every `waits` cell is signalled, run
/// `action`, then signal `signal`.
pub struct Command {
    pub waits: Vec<CellRef>,
    pub action: Action,
    pub signal: Option<CellRef>,
    pub guard: UseGuard,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryKind {
    Host,
    Device,
    Shared,
}

/// One unit of memory and engines as the backend sees it: a stack of a
/// card (the cpu backend's model), or a whole GPU (CUDA).
pub struct DeviceDescription {
    pub name: String,
    pub uuid: [u8; 16],
    pub memory_size: u64,
    pub max_allocation: u64,
    /// The card (GPU) it is part of: units of one card share its host link
    /// and form one root device under `ZE_FLAT_DEVICE_HIERARCHY=COMPOSITE`.
    pub card: usize,
}

pub struct QueueGroup {
    pub flags: ze_command_queue_group_property_flags_t,
    pub queues: u32,
    /// The longest fill pattern the group's engines take, as Intel's driver
    /// reports it: any length on a compute engine, 4 bytes on a copy engine.
    pub max_fill_pattern_size: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueMode {
    /// Commands run in order, asynchronously to the host.
    Asynchronous,
    /// Each command has finished when `submit` returns.
    Synchronous,
}

/// A queue to make: on which engine of which unit, how commands run, and
/// what Intel's driver does with copies on it.
#[derive(Clone, Copy, Debug)]
pub struct QueueSpec {
    pub device: usize,
    pub ordinal: u32,
    pub index: u32,
    pub mode: QueueMode,
    pub role: policy::Role,
}

/// Where an immediate list's (or a command queue's) commands go: in order,
/// one after another.
pub trait Queue: Send + Sync {
    /// Queues the command; on failure the command is dropped unrun (its guard's
    /// `finished` called).
    fn submit(&self, command: Command) -> Result<(), ze_result_t>;
    /// A barrier or a wait on events was appended to this immediate list
    /// (what Intel's driver notes before copying with the CPU).
    fn dependencies_appended(&self) {}
    /// Waits until every command submitted so far has run, or `deadline`
    /// passes (`None`: no limit); true if they all ran.
    fn wait_idle(&self, deadline: Option<Instant>) -> bool;
    /// Lets the work already submitted finish, then releases the queue.
    fn finish(&self);
}

/// The event cells of one event pool.
pub trait EventMemory: Send + Sync {
    fn cells(&self) -> &[EventCell];
}

pub trait Backend: Send + Sync {
    /// `SWZE_BACKEND`'s name for it, for the control API.
    fn name(&self) -> &'static CStr;
    /// Its units, cards in order and the stacks of each card in order.
    fn devices(&self) -> &[DeviceDescription];
    /// The product its devices are shaped as (queue groups, stacks).
    fn product(&self) -> &'static model::Product;

    /// Bytes the engine of queue (`ordinal`, `index`) of unit `device` has
    /// copied (the control API); 0 where a backend does not count.
    fn engine_bytes(&self, device: usize, ordinal: u32, index: u32) -> u64 {
        let _ = (device, ordinal, index);
        0
    }

    /// Whether the copies of `device`'s lists reach `peer`'s memory
    /// (`zeDeviceCanAccessPeer`); a device always reaches its own.
    fn can_access_peer(&self, device: usize, peer: usize) -> bool {
        let _ = (device, peer);
        true
    }
    /// Called at every append of `action` to a list of `device`, before the
    /// command is queued or recorded: makes sure the device can reach the
    /// memory the action names (the cuda backend enables peer access here,
    /// on first need); an error refuses the append.
    fn prepare(&self, device: usize, action: &Action) -> Result<(), ze_result_t> {
        let _ = (device, action);
        Ok(())
    }

    /// Host memory `[base, base + size)` that the application allocated
    /// (`malloc`) is imported (`zexDriverImportExternalPointer`): copies
    /// from and to it should run as from and to host allocations. The front
    /// has checked that it overlaps no other import.
    fn import_host(&self, base: usize, size: usize) -> Result<(), ze_result_t> {
        let _ = (base, size);
        Ok(())
    }
    /// The import of [`Backend::import_host`] at `base` is released; no
    /// queued command uses it any more.
    fn release_host(&self, base: usize, size: usize) {
        let _ = (base, size);
    }

    fn allocate(&self, kind: MemoryKind, device: usize, size: usize, alignment: usize)
        -> Result<NonNull<u8>, ze_result_t>;
    /// # Safety
    /// `base`, `kind`, `size` and `alignment` are those of one live allocation
    /// made by [`Backend::allocate`], that no queued command still uses.
    unsafe fn free(&self, kind: MemoryKind, base: NonNull<u8>, size: usize, alignment: usize);

    /// `count` cells, all [`RESET`].
    fn event_memory(&self, count: usize) -> Result<Box<dyn EventMemory>, ze_result_t>;
    fn create_queue(&self, spec: &QueueSpec) -> Result<Box<dyn Queue>, ze_result_t>;

    fn signal_from_host(&self, cell: &EventCell);
    /// Waits until the cell is signalled or `deadline` passes; true if signalled.
    fn wait_from_host(&self, cell: &EventCell, deadline: Option<Instant>) -> bool;

    /// Returns once every command submitted so far, on every queue, has run.
    fn wait_all_idle(&self);
    /// Drops the guards of commands known to be finished, so that the front's
    /// in-use accounting catches up (a device does not call back).
    fn retire_finished(&self) {}

    // Virtual memory (`zeVirtualMem*`, `zePhysicalMem*`). The front keeps
    // the reservations, checks sizes and alignment and records access; a
    // backend only maps. Those without virtual memory keep these defaults.

    /// Reserves `size` bytes of address space, aligned to `alignment`, with no
    /// memory behind them; at `hint` if that range is free (a hint only).
    fn reserve_virtual(&self, hint: usize, size: usize, alignment: usize) -> Result<NonNull<u8>, ze_result_t> {
        let _ = (hint, size, alignment);
        Err(ZE_RESULT_ERROR_UNSUPPORTED_FEATURE)
    }
    /// # Safety
    /// `base` and `size` are one live reservation of [`Backend::reserve_virtual`]
    /// that no queued command still uses.
    unsafe fn free_virtual(&self, base: NonNull<u8>, size: usize) {
        let _ = (base, size);
    }
    /// `size` bytes of memory that can be mapped into reservations.
    fn create_physical(&self, device: usize, size: usize) -> Result<Box<dyn PhysicalMemory>, ze_result_t> {
        let _ = (device, size);
        Err(ZE_RESULT_ERROR_UNSUPPORTED_FEATURE)
    }
    /// Maps `physical[offset..offset + size]` at `address` with `access`.
    ///
    /// # Safety
    /// `address..address + size` lies in a live reservation, page aligned and
    /// not mapped; `offset + size` is within `physical`, which this backend made.
    unsafe fn map_virtual(&self, address: NonNull<u8>, size: usize, physical: &dyn PhysicalMemory, offset: usize,
        access: ze_memory_access_attribute_t) -> Result<(), ze_result_t> {
        let _ = (address, size, physical, offset, access);
        Err(ZE_RESULT_ERROR_UNSUPPORTED_FEATURE)
    }
    /// Puts the range back to reserved, inaccessible address space.
    ///
    /// # Safety
    /// The range lies in a live reservation, page aligned, that no queued
    /// command still uses.
    unsafe fn unmap_virtual(&self, address: NonNull<u8>, size: usize) -> Result<(), ze_result_t> {
        let _ = (address, size);
        Err(ZE_RESULT_ERROR_UNSUPPORTED_FEATURE)
    }
    /// Changes the access of a mapped range.
    ///
    /// # Safety
    /// The range is mapped (by [`Backend::map_virtual`]) and page aligned.
    unsafe fn protect_virtual(&self, address: NonNull<u8>, size: usize, access: ze_memory_access_attribute_t)
        -> Result<(), ze_result_t> {
        let _ = (address, size, access);
        Err(ZE_RESULT_ERROR_UNSUPPORTED_FEATURE)
    }
}

/// Memory made by [`Backend::create_physical`]; the backend that made it
/// finds its own type again through `as_any`.
pub trait PhysicalMemory: Send + Sync {
    fn as_any(&self) -> &dyn std::any::Any;
}

/// Writes `pattern` once, then doubles the filled prefix with memcpy from
/// itself: log2(size / pattern) copies instead of one store per repetition,
/// and a last partial repetition is the pattern's prefix by construction.
/// (The cpu backend runs fills uncapped: its bandwidth cap models copies.)
///
/// # Safety
/// `destination` valid for `size` writes; `pattern` is not inside it.
pub unsafe fn fill_bytes(destination: *mut u8, size: usize, pattern: &[u8]) {
    let first = pattern.len().min(size);
    // SAFETY: first <= size, and the pattern is the driver's own buffer.
    unsafe { std::ptr::copy_nonoverlapping(pattern.as_ptr(), destination, first) };
    let mut filled = first;
    while filled < size {
        let length = filled.min(size - filled);
        // SAFETY: [0, length) and [filled, filled + length) lie within the
        // destination and do not overlap (length <= filled).
        unsafe { std::ptr::copy_nonoverlapping(destination, destination.add(filled), length) };
        filled += length;
    }
}
