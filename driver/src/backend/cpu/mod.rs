//! The CPU backend: memory is host memory, a copy is a `memcpy` (in timed
//! chunks under a bandwidth cap), an asynchronous queue is an engine thread
//! running its commands in order, and a host wait on an event sleeps on the
//! event's word (a futex), never spins.

mod bandwidth;
mod engine;
mod event_word;
mod execute;
mod futex;
pub mod settings;
mod virtual_memory;

use std::alloc::{self, Layout};
use std::ffi::CStr;
use std::ptr::NonNull;
use std::sync::{Arc, Weak};
use std::time::Instant;

use parking_lot::Mutex;
use ze_sys::*;

use super::model::Product;
use super::{
    Backend, Command, DeviceDescription, EventCell, EventMemory, MemoryKind, PhysicalMemory, Queue, QueueMode, RESET,
};
use bandwidth::Fabric;
use engine::Engine;
use execute::execute;

/// Alignment used when the caller asks for none (0): a cache line, like the
/// page-or-better alignment real drivers give, without wasting pages.
const DEFAULT_ALIGNMENT: usize = 64;
/// Largest single allocation; also what `zeDeviceGetProperties` reports.
const MAX_ALLOCATION_SIZE: u64 = 1 << 36;
const MEMORY_SIZE: u64 = 1 << 36;

pub struct CpuBackend {
    product: &'static Product,
    devices: Vec<DeviceDescription>,
    /// The engines, links and memory places the bandwidth model charges.
    fabric: Arc<Fabric>,
    /// Every engine started, so that `wait_all_idle` can find them.
    engines: Mutex<Vec<Weak<engine::Shared>>>,
}

impl CpuBackend {
    /// `cards` cards of `product`, each of its stacks a unit.
    pub fn new(product: &'static Product, cards: u32) -> CpuBackend {
        let mut devices = Vec::new();
        for card in 0..cards {
            for stack in 0..product.stacks {
                let mut uuid = [0u8; 16];
                uuid[..4].copy_from_slice(b"swze");
                uuid[8..12].copy_from_slice(&stack.to_le_bytes());
                uuid[12..].copy_from_slice(&card.to_le_bytes());
                let name = match product.stacks {
                    1 => format!("{} {card}", product.name),
                    _ => format!("{} {card}.{stack}", product.name),
                };
                devices.push(DeviceDescription {
                    name,
                    uuid,
                    memory_size: MEMORY_SIZE,
                    max_allocation: MAX_ALLOCATION_SIZE,
                    card: card as usize,
                });
            }
        }
        let fabric = Fabric::new(devices.iter().map(|unit| unit.card).collect(), product.figures);
        CpuBackend { product, devices, fabric, engines: Mutex::new(Vec::new()) }
    }
}

fn layout(size: usize, alignment: usize) -> Result<Layout, ze_result_t> {
    Layout::from_size_align(size, alignment.max(DEFAULT_ALIGNMENT)).map_err(|_| ZE_RESULT_ERROR_UNSUPPORTED_ALIGNMENT)
}

struct CpuEventMemory(Box<[EventCell]>);

impl EventMemory for CpuEventMemory {
    fn cells(&self) -> &[EventCell] {
        &self.0
    }
}

enum CpuQueue {
    /// Commands run on the submitting thread, at the rate of the queue's engine.
    Inline(Arc<bandwidth::CopyEngine>),
    Thread(Engine),
}

impl Queue for CpuQueue {
    fn submit(&self, command: Command) -> Result<(), ze_result_t> {
        match self {
            CpuQueue::Inline(rate) => {
                execute(command, rate);
                Ok(())
            }
            // A list being destroyed by another thread takes no more work.
            CpuQueue::Thread(engine) => engine.submit(command).map_err(|_| ZE_RESULT_ERROR_INVALID_NULL_HANDLE),
        }
    }

    fn wait_idle(&self, deadline: Option<Instant>) -> bool {
        match self {
            // Inline commands finished before `submit` returned.
            CpuQueue::Inline(_) => true,
            CpuQueue::Thread(engine) => engine.wait_idle_until(deadline),
        }
    }

    fn finish(&self) {
        if let CpuQueue::Thread(engine) = self {
            engine.shut_down();
        }
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static CStr {
        c"cpu"
    }

    fn devices(&self) -> &[DeviceDescription] {
        &self.devices
    }

    fn product(&self) -> &'static Product {
        self.product
    }

    /// An imported range moves at the rate of host allocations under the
    /// bandwidth model.
    fn import_host(&self, base: usize, size: usize) -> Result<(), ze_result_t> {
        self.fabric.host_pinned(base, size);
        Ok(())
    }

    fn release_host(&self, base: usize, _size: usize) {
        self.fabric.host_unpinned(base);
    }

    fn allocate(&self, kind: MemoryKind, device: usize, size: usize, alignment: usize)
        -> Result<NonNull<u8>, ze_result_t> {
        let layout = layout(size, alignment)?;
        // SAFETY: the front refuses size 0 before asking.
        let base = unsafe { alloc::alloc(layout) };
        let base = NonNull::new(base).ok_or(if kind == MemoryKind::Host {
            ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY
        } else {
            ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY
        })?;
        match kind {
            MemoryKind::Device => self.fabric.device_allocated(base.as_ptr() as usize, size, device),
            MemoryKind::Host | MemoryKind::Shared => self.fabric.host_pinned(base.as_ptr() as usize, size),
        }
        Ok(base)
    }

    unsafe fn free(&self, kind: MemoryKind, base: NonNull<u8>, size: usize, alignment: usize) {
        match kind {
            MemoryKind::Device => self.fabric.device_freed(base.as_ptr() as usize),
            MemoryKind::Host | MemoryKind::Shared => self.fabric.host_unpinned(base.as_ptr() as usize),
        }
        let layout = layout(size, alignment).expect("the layout `allocate` accepted");
        // SAFETY: `base` came from `alloc::alloc(layout)` (caller's contract).
        unsafe { alloc::dealloc(base.as_ptr(), layout) };
    }

    fn event_memory(&self, count: usize) -> Result<Box<dyn EventMemory>, ze_result_t> {
        let cells = (0..count).map(|_| EventCell { value: RESET.into(), sleepers: 0.into() }).collect();
        Ok(Box::new(CpuEventMemory(cells)))
    }

    fn create_queue(&self, device: usize, ordinal: u32, index: u32, mode: QueueMode)
        -> Result<Box<dyn Queue>, ze_result_t> {
        // Each queue of a group is its own copy engine: lists on one queue
        // share its bandwidth, lists on different queues do not.
        let rate = self.fabric.engine(device, ordinal, index);
        if mode == QueueMode::Synchronous || settings::inline_mode() {
            return Ok(Box::new(CpuQueue::Inline(rate)));
        }
        let engine = Engine::start(rate).map_err(|_| ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY)?;
        let mut engines = self.engines.lock();
        engines.retain(|engine| engine.strong_count() > 0);
        engines.push(engine.watch());
        Ok(Box::new(CpuQueue::Thread(engine)))
    }

    fn signal_from_host(&self, cell: &EventCell) {
        event_word::signal(cell);
    }

    fn wait_from_host(&self, cell: &EventCell, deadline: Option<Instant>) -> bool {
        event_word::wait(cell, deadline)
    }

    fn wait_all_idle(&self) {
        let engines: Vec<Arc<engine::Shared>> = self.engines.lock().iter().filter_map(Weak::upgrade).collect();
        for engine in engines {
            engine.wait_idle();
        }
    }

    fn reserve_virtual(&self, hint: usize, size: usize, alignment: usize) -> Result<NonNull<u8>, ze_result_t> {
        virtual_memory::reserve(hint, size, alignment)
    }

    unsafe fn free_virtual(&self, base: NonNull<u8>, size: usize) {
        // SAFETY: forwarded contract.
        unsafe { virtual_memory::free(base, size) }
    }

    fn create_physical(&self, _device: usize, size: usize) -> Result<Box<dyn PhysicalMemory>, ze_result_t> {
        virtual_memory::create_physical(size)
    }

    unsafe fn map_virtual(&self, address: NonNull<u8>, size: usize, physical: &dyn PhysicalMemory, offset: usize,
        access: ze_memory_access_attribute_t) -> Result<(), ze_result_t> {
        // SAFETY: forwarded contract.
        unsafe { virtual_memory::map(address, size, physical, offset, access) }
    }

    unsafe fn unmap_virtual(&self, address: NonNull<u8>, size: usize) -> Result<(), ze_result_t> {
        // SAFETY: forwarded contract.
        unsafe { virtual_memory::unmap_range(address, size) }
    }

    unsafe fn protect_virtual(&self, address: NonNull<u8>, size: usize, access: ze_memory_access_attribute_t)
        -> Result<(), ze_result_t> {
        // SAFETY: forwarded contract.
        unsafe { virtual_memory::protect(address, size, access) }
    }
}
