//! The CUDA backend: Level Zero on an NVIDIA GPU. Each CUDA device is a root
//! device; device memory is `cuMemAlloc`, host memory pinned and
//! device-mapped (`cuMemHostAlloc`), shared memory managed. An immediate list
//! is a non-blocking stream. An event is a word in its pool's pinned memory,
//! as on Intel hardware: the stream writes it after the preceding work
//! (`cuStreamWriteValue32`), waits on it (`cuStreamWaitValue32`), and the host
//! polls it (spin, then back off) and writes it to signal or reset.
//!
//! The stream writes only what can be observed: a command that signals an
//! event writes, in one 64-bit write, the event's word and a tag unique to
//! the command beside it; a command that signals nothing writes nothing, so
//! a run of small copies costs what the copies cost. The host learns that a
//! command finished (and releases its events' uses) from later evidence: a
//! later tag or progress seen, an idle stream (`cuStreamQuery`), a
//! synchronize (`in_flight.rs` keeps that bookkeeping). A queue synchronize
//! with nothing coming asks for one progress write. Where 64-bit stream
//! writes fail (probed at start), a signal writes progress and signal in one
//! two-write batch instead: correct, but 0.6 µs slower per round trip on the
//! H200.
//!
//! No CUDA call of the application's thread waits behind a stream wait: a
//! stream holds a finite amount of queued work, and one stopped at a wait on
//! an event the host signals only after its appends would block the append
//! that finds it full, forever. At most a window of operations goes to a
//! stream behind a wait that may stop it; the rest is kept on the host, in
//! order, and given to the stream by a feeder thread (or the queue's next
//! call) once the wait is passed (`backlog.rs`).
//!
//! Several GPUs: every CUDA device is a root device with its primary
//! context. A device reaches a peer's memory where `cuDeviceCanAccessPeer`
//! says so; peer access is enabled (`cuCtxEnablePeerAccess`, from the list's
//! device's context to the owner's) once per ordered pair, at the first
//! append that names the peer's device memory. Where CUDA refuses, the
//! append is refused (`ZE_RESULT_ERROR_INVALID_ARGUMENT`, Intel's answer when
//! it cannot reach a peer's allocation). Host and shared memory, and event
//! words (portable pinned memory), are reachable from every device.

mod api;
mod backlog;
mod cells;
mod device;
mod error;
mod feeder;
mod in_flight;
mod memory;
mod poll;
mod queue;
mod stream;
mod translate;

use std::collections::{BTreeMap, HashMap};
use std::ffi::CStr;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};
use ze_sys::*;

use super::model::Product;
use super::{Action, Backend, DeviceDescription, EventCell, EventMemory, MemoryKind, Queue, QueueSpec, SIGNALED};
use api::Cuda;
use cells::{check_mapped_host_memory, pinned_cells};
use device::{discover, Gpu, PeerLink};
use queue::{probe_tagged_signals, QueueHandle, StreamQueue};

/// What the backend and its queues share.
struct Shared {
    cuda: Cuda,
    gpus: Vec<Gpu>,
    /// `peers[from * gpus.len() + to]`; a device's link to itself is enabled.
    peers: Vec<PeerLink>,
    /// Serialises the enabling of peer access (once per pair).
    enabling: Mutex<()>,
    /// Device memory with several GPUs: the start of each allocation CUDA
    /// returned → its end and its device (empty with one GPU).
    owners: Mutex<BTreeMap<usize, (usize, usize)>>,
    /// Allocations whose base was moved up for a large alignment: the base
    /// the caller sees → the one CUDA returned.
    realigned: Mutex<HashMap<usize, usize>>,
    /// Imported host ranges this backend registered with CUDA (base → size);
    /// a range the application had registered itself is left to it.
    registered: Mutex<BTreeMap<usize, usize>>,
    queues: Mutex<Vec<Weak<StreamQueue>>>,
    /// The last tag a signalling command was given (0 is never given: it is
    /// what a fresh cell holds).
    last_tag: AtomicU32,
    /// Signals are one 64-bit write with a tag (probed at start); else a
    /// batch of progress and signal.
    tagged_signals: AtomicBool,
    /// Commands kept on the host, over every queue (`backlog.rs`); the
    /// feeder thread gives them to their streams while there are any.
    held: AtomicUsize,
    /// Whether the feeder thread runs (started at the first kept command).
    feeder: Mutex<bool>,
    feeder_wake: Condvar,
}

// SAFETY: CUDA contexts and the driver table are usable from any thread (a
// thread makes a context current before using it, see `enter`).
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

pub struct CudaBackend {
    shared: Arc<Shared>,
    devices: Vec<DeviceDescription>,
    /// The queue groups its devices show (each GPU is one stack).
    product: &'static Product,
}

impl Shared {
    /// A tag no command in flight has.
    fn next_tag(&self) -> u32 {
        loop {
            let tag = self.last_tag.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
            if tag != 0 {
                return tag;
            }
        }
    }

    fn live_queues(&self) -> Vec<Arc<StreamQueue>> {
        self.queues.lock().iter().filter_map(Weak::upgrade).collect()
    }
}

impl CudaBackend {
    /// Opens libcuda and takes every GPU, each shaped as one stack of
    /// `product`; any failure is a reason, not a panic.
    pub fn start(library: &str, product: &'static Product) -> Result<CudaBackend, String> {
        let cuda = Cuda::open(library)?;
        let found = discover(&cuda)?;
        let shared = Arc::new(Shared {
            cuda,
            gpus: found.gpus,
            peers: found.peers,
            enabling: Mutex::new(()),
            owners: Mutex::new(BTreeMap::new()),
            realigned: Mutex::new(HashMap::new()),
            registered: Mutex::new(BTreeMap::new()),
            queues: Mutex::new(Vec::new()),
            last_tag: AtomicU32::new(0),
            tagged_signals: AtomicBool::new(false),
            held: AtomicUsize::new(0),
            feeder: Mutex::new(false),
            feeder_wake: Condvar::new(),
        });
        check_mapped_host_memory(&shared)?;
        // Any failure of the probe keeps the batched signals.
        shared.tagged_signals.store(probe_tagged_signals(&shared), Ordering::Relaxed);
        Ok(CudaBackend { shared, devices: found.devices, product })
    }
}

// Virtual memory keeps the trait's defaults, `ZE_RESULT_ERROR_UNSUPPORTED_FEATURE`:
// CUDA's VMM API (cuMemAddressReserve, cuMemCreate, cuMemMap, cuMemSetAccess)
// could carry it, but it is not written yet, and nothing here can run it.
impl Backend for CudaBackend {
    fn name(&self) -> &'static CStr {
        c"cuda"
    }

    fn devices(&self) -> &[DeviceDescription] {
        &self.devices
    }

    fn product(&self) -> &'static Product {
        self.product
    }

    fn can_access_peer(&self, device: usize, peer: usize) -> bool {
        self.shared.can_access_peer(device, peer)
    }

    /// With several GPUs, a command naming another device's memory needs
    /// peer access from this device's context to its owner's: enabled here,
    /// at the first such append, or the append refused where CUDA refuses.
    fn prepare(&self, device: usize, action: &Action) -> Result<(), ze_result_t> {
        let shared = &self.shared;
        if shared.gpus.len() == 1 {
            return Ok(());
        }
        match *action {
            Action::Copy { destination, source, .. } => {
                shared.reach(device, destination)?;
                shared.reach(device, source)
            }
            Action::CopyRegion(ref copy) => {
                shared.reach(device, copy.destination)?;
                shared.reach(device, copy.source)
            }
            Action::Fill { destination, .. } => shared.reach(device, destination),
            Action::Nothing | Action::ResetEvent(_) | Action::WriteTimestamp { .. } => Ok(()),
        }
    }

    fn import_host(&self, base: usize, size: usize) -> Result<(), ze_result_t> {
        self.shared.import_host(base, size)
    }

    fn release_host(&self, base: usize, _size: usize) {
        self.shared.release_host(base)
    }

    fn allocate(&self, kind: MemoryKind, device: usize, size: usize, alignment: usize)
        -> Result<NonNull<u8>, ze_result_t> {
        self.shared.allocate(kind, device, size, alignment)
    }

    unsafe fn free(&self, kind: MemoryKind, base: NonNull<u8>, _size: usize, _alignment: usize) {
        // SAFETY: the front frees only live allocations this backend made.
        unsafe { self.shared.free(kind, base) }
    }

    fn event_memory(&self, count: usize) -> Result<Box<dyn EventMemory>, ze_result_t> {
        Ok(Box::new(pinned_cells(&self.shared, count)?))
    }

    // A stream per queue: CUDA has no engine to choose, split over or copy
    // around, so the queue's role changes nothing here.
    fn create_queue(&self, spec: &QueueSpec) -> Result<Box<dyn Queue>, ze_result_t> {
        let queue = StreamQueue::create(Arc::clone(&self.shared), spec.device, spec.mode)?;
        let mut queues = self.shared.queues.lock();
        queues.retain(|queue| queue.strong_count() > 0);
        queues.push(Arc::downgrade(&queue));
        Ok(Box::new(QueueHandle(queue)))
    }

    fn signal_from_host(&self, cell: &EventCell) {
        cell.value.store(SIGNALED, Ordering::SeqCst);
    }

    fn wait_from_host(&self, cell: &EventCell, deadline: Option<Instant>) -> bool {
        poll::poll(&cell.value, deadline)
    }

    fn wait_all_idle(&self) {
        for queue in self.shared.live_queues() {
            queue.drain_backlog(None);
        }
        for device in 0..self.shared.gpus.len() {
            if self.shared.enter(device).is_ok() {
                // SAFETY: the device's context is current.
                unsafe { (self.shared.cuda.context_synchronize)() };
            }
        }
        self.retire_finished();
    }

    fn retire_finished(&self) {
        for queue in self.shared.live_queues() {
            queue.pump(true);
        }
    }
}
