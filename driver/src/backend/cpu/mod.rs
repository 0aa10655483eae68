//! The CPU backend: memory is host memory, a copy is a `memcpy` (in timed
//! chunks under a bandwidth cap), an asynchronous queue is an engine thread
//! running its commands in order, and a host wait on an event sleeps on the
//! event's word (a futex), never spins.

mod bandwidth;
mod engine;
mod event_word;
mod execute;
mod futex;
mod route;
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
    Action, Backend, Command, DeviceDescription, EventCell, EventMemory, MemoryKind, PhysicalMemory, Queue, QueueMode,
    QueueSpec, RESET,
};
use crate::backend::policy::{self, Route};
use bandwidth::Fabric;
use engine::Engine;
use execute::{execute, route_of};
use route::Router;

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
    Inline(Router),
    Thread(Engine),
}

impl CpuQueue {
    fn router(&self) -> &Router {
        match self {
            CpuQueue::Inline(router) => router,
            CpuQueue::Thread(engine) => engine.router(),
        }
    }
}

impl Queue for CpuQueue {
    fn submit(&self, command: Command) -> Result<(), ze_result_t> {
        let router = self.router();
        let route = route_of(&command, router);
        if let Action::Copy { destination, source, size } = command.action {
            // The driver pins a malloc'd side on the appending thread.
            if let Some(cost) = router.host_cost(destination, source, size) {
                policy::count_host_pointer();
                std::thread::sleep(cost);
            }
        }
        match self {
            CpuQueue::Inline(router) => {
                execute(command, router, route);
                Ok(())
            }
            // A CPU copy runs here and now, after its wait events, and after
            // the list's earlier commands only when the driver synchronizes
            // the list first: otherwise it may overtake them, as on Intel's
            // driver.
            CpuQueue::Thread(engine) if matches!(route, Some(Route::Cpu { .. })) => {
                if route == Some(Route::Cpu { synchronize: true }) {
                    engine.wait_idle_until(None);
                    engine.router().synchronized();
                }
                execute(command, engine.router(), route);
                Ok(())
            }
            // A list being destroyed by another thread takes no more work.
            CpuQueue::Thread(engine) => engine.submit(command, route).map_err(|_| ZE_RESULT_ERROR_INVALID_NULL_HANDLE),
        }
    }

    fn dependencies_appended(&self) {
        self.router().dependencies_appended();
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

    fn engine_bytes(&self, device: usize, ordinal: u32, index: u32) -> u64 {
        self.fabric.engine_bytes(device, ordinal, index)
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

    fn create_queue(&self, spec: &QueueSpec) -> Result<Box<dyn Queue>, ze_result_t> {
        // Each queue of a group is its own copy engine: lists on one queue
        // share its bandwidth, lists on different queues do not.
        let rate = self.fabric.engine(spec.device, spec.ordinal, spec.index);
        let router = Router::new(rate, spec.device, spec.role);
        if spec.mode == QueueMode::Synchronous || settings::inline_mode() {
            return Ok(Box::new(CpuQueue::Inline(router)));
        }
        let engine = Engine::start(router).map_err(|_| ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY)?;
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
