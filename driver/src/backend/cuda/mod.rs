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
mod in_flight;

use std::collections::{BTreeMap, HashMap};
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use cudarc::driver::sys::{
    CUcontext, CUdevice, CUdevice_attribute, CUdeviceptr, CUmemAttach_flags, CUmemorytype, CUpointer_attribute, CUstream,
    CUstreamBatchMemOpParams, CUstreamBatchMemOpParams_union_CUstreamMemOpWriteValueParams_st,
    CUstreamBatchMemOpParams_union_CUstreamMemOpWriteValueParams_st__bindgen_ty_1, CUstreamBatchMemOpType,
    CUstreamWaitValue_flags, CUstream_flags, CUuuid, CUDA_MEMCPY2D, CUDA_MEMCPY3D, CU_MEMHOSTALLOC_DEVICEMAP,
    CU_MEMHOSTALLOC_PORTABLE, CU_MEMHOSTREGISTER_PORTABLE,
};
use parking_lot::{Condvar, Mutex};
use ze_sys::*;

use super::region::RegionCopy;
use super::{
    Action, Backend, CellRef, Command, DeviceDescription, EventCell, EventMemory, MemoryKind, Queue, QueueMode, QueueSpec,
    UseGuard, RESET, SIGNALED,
};
use super::model::Product;
use api::{
    check, Cuda, CuResult, CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED, CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED, CUDA_SUCCESS,
};
use backlog::Backlog;
use in_flight::{Evidence, InFlight};

/// What every allocation of CUDA is aligned to at least.
const NATURAL_ALIGNMENT: usize = 256;

const CUDA_ERROR_OUT_OF_MEMORY: CuResult = 2;

struct Gpu {
    context: CUcontext,
}

/// One ordered pair of devices: whether the first's copies can reach the
/// second's memory (CUDA's answer at start), and whether peer access from
/// the first's context has been enabled.
struct PeerLink {
    reachable: bool,
    enabled: AtomicBool,
}

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
    /// Calls `piece` for each part of a copy of `size` bytes, cut where
    /// a host range this backend registered starts or ends inside either
    /// side: CUDA takes a copy that starts in registered memory for pinned
    /// memory throughout and refuses one that runs out of it, while Intel's
    /// driver copies a range partly imported as `malloc`'d memory. Returns
    /// how many pieces there were (1 without registered ranges).
    fn copy_pieces<E>(&self, destination: usize, source: usize, size: usize,
        mut piece: impl FnMut(usize, usize, usize) -> Result<(), E>) -> Result<u64, E> {
        let registered = self.registered.lock();
        if registered.is_empty() || size == 0 {
            drop(registered);
            piece(destination, source, size)?;
            return Ok(1);
        }
        let mut cuts = vec![0, size];
        for side in [source, destination] {
            let end = side.saturating_add(size);
            for (&base, &length) in registered.range(..end) {
                let range_end = base.saturating_add(length);
                if range_end <= side {
                    continue;
                }
                cuts.extend([base, range_end].into_iter().filter(|&at| at > side && at < end).map(|at| at - side));
            }
        }
        drop(registered);
        cuts.sort_unstable();
        cuts.dedup();
        for pair in cuts.windows(2) {
            piece(destination + pair[0], source + pair[0], pair[1] - pair[0])?;
        }
        Ok(cuts.len() as u64 - 1)
    }

    /// CUDA's memory type of `address` (`CUmemorytype`), 0 for memory CUDA
    /// does not know (pageable memory has no memory type).
    fn memory_type(&self, address: usize) -> c_uint {
        let mut memory_type: c_uint = 0;
        let attribute = CUpointer_attribute::CU_POINTER_ATTRIBUTE_MEMORY_TYPE as c_int;
        // SAFETY: a valid out-pointer of the attribute's type (unsigned int).
        let known = unsafe {
            (self.cuda.pointer_get_attribute)((&mut memory_type as *mut c_uint).cast(), attribute, address as CUdeviceptr)
        };
        if known == CUDA_SUCCESS { memory_type } else { 0 }
    }

    /// Whether CUDA knows `address` (device, pinned or managed memory).
    fn is_cuda_memory(&self, address: usize) -> bool {
        self.memory_type(address) != 0
    }

    /// Whether enqueueing `action` may return only once the stream ran it:
    /// an asynchronous copy from host memory to host memory is synchronous,
    /// one with pageable (`malloc`) memory on either side may be (CUDA's
    /// "API synchronization behavior"), so behind a wait that may stop the
    /// stream it would block its caller.
    fn enqueue_returns_after_run(&self, action: &Action) -> bool {
        let (destination, source) = match action {
            Action::Copy { destination, source, .. } => (*destination, *source),
            Action::CopyRegion(copy) => (copy.destination, copy.source),
            _ => return false,
        };
        let (destination, source) = (self.memory_type(destination), self.memory_type(source));
        let host = |memory_type: c_uint| memory_type == 0 || memory_type == CUmemorytype::CU_MEMORYTYPE_HOST as c_uint;
        destination == 0 || source == 0 || (host(destination) && host(source))
    }

    /// The device whose memory `address` is, if it is device memory of ours
    /// (host and shared memory belong to no device: every one reaches them).
    fn owner(&self, address: usize) -> Option<usize> {
        let owners = self.owners.lock();
        let (_, &(end, device)) = owners.range(..=address).next_back()?;
        (address < end).then_some(device)
    }

    /// Makes sure `device`'s streams reach the memory at `address`: peer
    /// access to its owner enabled, once per ordered pair. Refused by CUDA
    /// (at start or now): `ZE_RESULT_ERROR_INVALID_ARGUMENT`.
    fn reach(&self, device: usize, address: usize) -> Result<(), ze_result_t> {
        let Some(owner) = self.owner(address) else {
            return Ok(());
        };
        let link = &self.peers[device * self.gpus.len() + owner];
        if link.enabled.load(Ordering::Acquire) {
            return Ok(());
        }
        if !link.reachable {
            return Err(ZE_RESULT_ERROR_INVALID_ARGUMENT);
        }
        let _once = self.enabling.lock();
        if link.enabled.load(Ordering::Acquire) {
            return Ok(());
        }
        self.enter(device)?;
        // SAFETY: a primary context retained for the process; the device's
        // own context is current.
        let code = unsafe { (self.cuda.context_enable_peer_access)(self.gpus[owner].context, 0) };
        // Already enabled: the application did it in our shared context.
        if code != CUDA_SUCCESS && code != CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED {
            return Err(ZE_RESULT_ERROR_INVALID_ARGUMENT);
        }
        link.enabled.store(true, Ordering::Release);
        Ok(())
    }

    /// A tag no command in flight has.
    fn next_tag(&self) -> u32 {
        loop {
            let tag = self.last_tag.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
            if tag != 0 {
                return tag;
            }
        }
    }

    /// A queue kept a command on the host: the feeder (started the first
    /// time) gives it to the stream once the stream can take it. Without a
    /// thread (none could be made), later calls on the queue give it.
    fn kept(shared: &Arc<Shared>) {
        shared.held.fetch_add(1, Ordering::AcqRel);
        let mut started = shared.feeder.lock();
        if !*started {
            let feeding = Arc::clone(shared);
            let spawned = std::thread::Builder::new().name("swze-feeder".into()).spawn(move || feed(&feeding));
            *started = spawned.is_ok();
        }
        shared.feeder_wake.notify_one();
    }

    fn live_queues(&self) -> Vec<Arc<StreamQueue>> {
        self.queues.lock().iter().filter_map(Weak::upgrade).collect()
    }

    /// Makes the device's primary context current on the calling thread
    /// (asked each time, not cached: the application may use CUDA too, and
    /// the question is a thread-local read inside libcuda). The application
    /// shares the primary context with us, as runtime-API programs do.
    fn enter(&self, device: usize) -> Result<(), ze_result_t> {
        let context = self.gpus.get(device).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?.context;
        let mut current: CUcontext = ptr::null_mut();
        // SAFETY: a valid out-pointer.
        result(unsafe { (self.cuda.context_get_current)(&mut current) })?;
        if current != context {
            // SAFETY: a primary context retained for the process.
            result(unsafe { (self.cuda.context_set_current)(context) })?;
        }
        Ok(())
    }
}

/// Maps a failing CUDA result to the Level Zero result the front returns.
fn result(code: CuResult) -> Result<(), ze_result_t> {
    match code {
        CUDA_SUCCESS => Ok(()),
        CUDA_ERROR_OUT_OF_MEMORY => Err(ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY),
        1 => Err(ZE_RESULT_ERROR_INVALID_ARGUMENT),
        _ => Err(ZE_RESULT_ERROR_DEVICE_LOST),
    }
}

impl CudaBackend {
    /// Opens libcuda and takes every GPU, each shaped as one stack of
    /// `product`; any failure is a reason, not a panic.
    pub fn start(library: &str, product: &'static Product) -> Result<CudaBackend, String> {
        let cuda = Cuda::open(library)?;
        // SAFETY: plain calls of the CUDA driver API with valid out-pointers.
        unsafe {
            check("cuInit", (cuda.init)(0))?;
            let mut count: c_int = 0;
            check("cuDeviceGetCount", (cuda.device_get_count)(&mut count))?;
            if count <= 0 {
                return Err("CUDA reports no device".into());
            }
            let mut gpus = Vec::new();
            let mut handles = Vec::new();
            let mut devices = Vec::new();
            for ordinal in 0..count {
                let mut device: CUdevice = 0;
                check("cuDeviceGet", (cuda.device_get)(&mut device, ordinal))?;
                let mut unified: c_int = 0;
                let attribute = CUdevice_attribute::CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING as c_int;
                check("cuDeviceGetAttribute", (cuda.device_get_attribute)(&mut unified, attribute, device))?;
                if unified == 0 {
                    return Err(format!("CUDA device {ordinal} lacks unified addressing"));
                }
                let mut name = [0 as c_char; 256];
                check("cuDeviceGetName", (cuda.device_get_name)(name.as_mut_ptr(), name.len() as c_int, device))?;
                let name = std::ffi::CStr::from_ptr(name.as_ptr()).to_string_lossy().into_owned();
                let mut uuid = CUuuid { bytes: [0; 16] };
                check("cuDeviceGetUuid", (cuda.device_get_uuid)(&mut uuid, device))?;
                let mut memory: usize = 0;
                check("cuDeviceTotalMem", (cuda.device_total_mem)(&mut memory, device))?;
                let mut context: CUcontext = ptr::null_mut();
                check("cuDevicePrimaryCtxRetain", (cuda.primary_context_retain)(&mut context, device))?;
                gpus.push(Gpu { context });
                handles.push(device);
                devices.push(DeviceDescription {
                    name,
                    uuid: uuid.bytes.map(|byte| byte as u8),
                    memory_size: memory as u64,
                    max_allocation: memory as u64,
                    card: ordinal as usize,
                });
            }
            let mut peers = Vec::with_capacity(handles.len() * handles.len());
            for &from in &handles {
                for &to in &handles {
                    let mut can: c_int = 0;
                    if from != to {
                        check("cuDeviceCanAccessPeer", (cuda.device_can_access_peer)(&mut can, from, to))?;
                    }
                    peers.push(PeerLink { reachable: from == to || can != 0, enabled: AtomicBool::new(from == to) });
                }
            }
            let shared = Shared {
                cuda,
                gpus,
                peers,
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
            };
            let backend = CudaBackend { shared: Arc::new(shared), devices, product };
            backend.check_mapped_host_memory()?;
            backend.probe_tagged_signals();
            Ok(backend)
        }
    }

    /// Event words are addressed by every device at their host address (a
    /// pool's words are signalled on one GPU and waited on by another): make
    /// sure pinned memory is mapped that way (portable, unified addressing)
    /// in every device's context before use.
    fn check_mapped_host_memory(&self) -> Result<(), String> {
        let memory = self.event_memory(1).map_err(|error| format!("pinned event memory: {error:#x}"))?;
        let host = memory.cells().as_ptr() as *mut c_void;
        for gpu in 0..self.shared.gpus.len() {
            self.shared.enter(gpu).map_err(|error| format!("CUDA device {gpu}'s context: {error:#x}"))?;
            let mut device: CUdeviceptr = 0;
            // SAFETY: `host` is a live pinned allocation of ours.
            check("cuMemHostGetDevicePointer", unsafe {
                (self.shared.cuda.mem_host_get_device_pointer)(&mut device, host, 0)
            })?;
            if device != host as CUdeviceptr {
                return Err(format!("pinned memory is not mapped at its host address on CUDA device {gpu}"));
            }
        }
        Ok(())
    }
}

impl CudaBackend {
    /// Whether a stream can write an event's two words at once (64-bit
    /// stream writes need a capable device and driver): one such write on a
    /// scratch stream, checked. Any failure keeps the batched signals.
    fn probe_tagged_signals(&self) {
        let shared = &self.shared;
        let Ok(queue) = StreamQueue::create(Arc::clone(shared), 0, QueueMode::Asynchronous) else {
            return;
        };
        let cell = &queue.progress.cells()[0];
        let expected = tagged_signal(u32::MAX);
        // SAFETY: a mapped pinned cell of ours, 8-aligned; our stream.
        let written = unsafe { (shared.cuda.stream_write_value64)(queue.stream, StreamQueue::word_address(cell), expected, 0) };
        // SAFETY: our stream, its context current (made so by `create`).
        let drained = unsafe { (shared.cuda.stream_synchronize)(queue.stream) };
        let seen = u64::from(cell.value.load(Ordering::Acquire)) | u64::from(cell.sleepers.load(Ordering::Acquire)) << 32;
        let works = written == CUDA_SUCCESS && drained == CUDA_SUCCESS && seen == expected;
        shared.tagged_signals.store(works, Ordering::Relaxed);
        QueueHandle(queue).finish();
    }
}

/// The 64-bit value a signalling command writes to its event's cell: the
/// word [`SIGNALED`], then the command's tag (the cell is little-endian
/// memory of two `u32`, on the host and the device alike).
fn tagged_signal(tag: u32) -> u64 {
    u64::from(tag) << 32 | u64::from(SIGNALED)
}

/// One pool's cells, in pinned, device-mapped host memory.
struct PinnedCells {
    shared: Arc<Shared>,
    base: NonNull<EventCell>,
    count: usize,
}

// SAFETY: the cells are atomics in memory owned by this object.
unsafe impl Send for PinnedCells {}
// SAFETY: as above.
unsafe impl Sync for PinnedCells {}

/// `count` reset cells in pinned, device-mapped memory.
fn pinned_cells(shared: &Arc<Shared>, count: usize) -> Result<PinnedCells, ze_result_t> {
    shared.enter(0)?;
    let bytes = count.checked_mul(size_of::<EventCell>()).ok_or(ZE_RESULT_ERROR_UNSUPPORTED_SIZE)?;
    let mut pointer: *mut c_void = ptr::null_mut();
    let flags = CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP;
    // SAFETY: valid out-pointer.
    result(unsafe { (shared.cuda.mem_host_alloc)(&mut pointer, bytes, flags) })
        .map_err(|_| ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY)?;
    let base = NonNull::new(pointer.cast::<EventCell>()).ok_or(ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY)?;
    for index in 0..count {
        // SAFETY: within the fresh allocation, page-aligned, so aligned for cells.
        unsafe { base.as_ptr().add(index).write(EventCell { value: RESET.into(), sleepers: 0.into() }) };
    }
    Ok(PinnedCells { shared: Arc::clone(shared), base, count })
}

impl EventMemory for PinnedCells {
    fn cells(&self) -> &[EventCell] {
        // SAFETY: `count` cells, initialised at allocation, live until drop.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr(), self.count) }
    }
}

impl Drop for PinnedCells {
    fn drop(&mut self) {
        // SAFETY: allocated by cuMemHostAlloc in `event_memory`; the front
        // drops a pool only once no command names its cells.
        unsafe { (self.shared.cuda.mem_free_host)(self.base.as_ptr().cast()) };
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
        let gpus = self.shared.gpus.len();
        device < gpus && peer < gpus && self.shared.peers[device * gpus + peer].reachable
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

    /// An imported range is page-locked for every context
    /// (`cuMemHostRegister`, portable), so copies from and to it run at
    /// pinned memory's rate; a range CUDA already had registered (by the
    /// application) counts as imported and is not unregistered at release.
    fn import_host(&self, base: usize, size: usize) -> Result<(), ze_result_t> {
        let shared = &self.shared;
        shared.enter(0)?;
        // SAFETY: the application's memory, `size` bytes from `base` (the
        // import's contract); CUDA only pins its pages.
        let code = unsafe { (shared.cuda.mem_host_register)(base as *mut c_void, size, CU_MEMHOSTREGISTER_PORTABLE) };
        match code {
            CUDA_SUCCESS => {
                shared.registered.lock().insert(base, size);
                Ok(())
            }
            CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED => Ok(()),
            // What Intel's driver answers when it cannot make the range a graphics allocation.
            _ => Err(ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY),
        }
    }

    fn release_host(&self, base: usize, _size: usize) {
        let shared = &self.shared;
        if shared.registered.lock().remove(&base).is_none() {
            return;
        }
        let _ = shared.enter(0);
        // SAFETY: registered by `import_host`; the front waited for every copy.
        let _ = unsafe { (shared.cuda.mem_host_unregister)(base as *mut c_void) };
    }

    fn allocate(&self, kind: MemoryKind, device: usize, size: usize, alignment: usize)
        -> Result<NonNull<u8>, ze_result_t> {
        let shared = &self.shared;
        shared.enter(device)?;
        let padding = if alignment > NATURAL_ALIGNMENT { alignment } else { 0 };
        let length = size.checked_add(padding).ok_or(ZE_RESULT_ERROR_UNSUPPORTED_SIZE)?;
        let raw = match kind {
            MemoryKind::Device => {
                let mut pointer: CUdeviceptr = 0;
                // SAFETY: valid out-pointer; the device's context is current.
                result(unsafe { (shared.cuda.mem_alloc)(&mut pointer, length) })?;
                pointer as usize
            }
            MemoryKind::Host => {
                let mut pointer: *mut c_void = ptr::null_mut();
                let flags = CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP;
                // SAFETY: as above.
                result(unsafe { (shared.cuda.mem_host_alloc)(&mut pointer, length, flags) })
                    .map_err(|_| ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY)?;
                pointer as usize
            }
            MemoryKind::Shared => {
                let mut pointer: CUdeviceptr = 0;
                let flags = CUmemAttach_flags::CU_MEM_ATTACH_GLOBAL as c_uint;
                // SAFETY: as above.
                result(unsafe { (shared.cuda.mem_alloc_managed)(&mut pointer, length, flags) })?;
                pointer as usize
            }
        };
        if kind == MemoryKind::Device && shared.gpus.len() > 1 {
            shared.owners.lock().insert(raw, (raw + length.max(1), device));
        }
        let base = if padding == 0 { raw } else { raw.next_multiple_of(alignment) };
        if base != raw {
            shared.realigned.lock().insert(base, raw);
        }
        NonNull::new(base as *mut u8).ok_or(ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY)
    }

    unsafe fn free(&self, kind: MemoryKind, base: NonNull<u8>, _size: usize, _alignment: usize) {
        let shared = &self.shared;
        let base = base.as_ptr() as usize;
        let raw = shared.realigned.lock().remove(&base).unwrap_or(base);
        // Device memory is freed in its device's context; the rest in any.
        let owner = shared.owners.lock().remove(&raw).map_or(0, |(_, device)| device);
        let _ = shared.enter(owner);
        // SAFETY: `raw` is what CUDA returned for this live allocation.
        unsafe {
            match kind {
                MemoryKind::Host => (shared.cuda.mem_free_host)(raw as *mut c_void),
                MemoryKind::Device | MemoryKind::Shared => (shared.cuda.mem_free)(raw as CUdeviceptr),
            };
        }
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
        poll(&cell.value, deadline)
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

/// Waits for a word the device writes: spin first (a copy engine answers in
/// microseconds), then yield, then sleep in growing steps; honours `deadline`.
fn poll(word: &AtomicU32, deadline: Option<Instant>) -> bool {
    poll_checking(deadline, 32, || word.load(Ordering::Acquire) == SIGNALED)
}

/// The back-off of [`poll`], for any condition on words the device writes.
/// Yielding (which returns at once on an idle core) lasts 20 ms: sleeping
/// earlier made a 64 MiB copy (1.2 ms on the H200) finish up to 250 µs late
/// in the host's eyes, 0.90 of `cuMemcpyAsync`'s bandwidth; after that the
/// host sleeps, as CUDA's blocking sync does for long waits.
fn poll_until(deadline: Option<Instant>, done: impl Fn() -> bool) -> bool {
    poll_checking(deadline, 1, done)
}

/// [`poll_until`] checking `done` `checks_per_clock_read` times between two
/// reads of the clock: for a condition as cheap as one load. With a TSC
/// clock (about 40 ns a read on the H200's hosts) this changes nothing
/// measurable; where the clock is a system call (virtual machines without a
/// usable TSC) each read would otherwise delay by a microsecond the moment
/// the host sees a short copy finish.
fn poll_checking(deadline: Option<Instant>, checks_per_clock_read: u32, done: impl Fn() -> bool) -> bool {
    const SPIN: Duration = Duration::from_micros(50);
    const YIELD: Duration = Duration::from_millis(20);
    const LONGEST_SLEEP: Duration = Duration::from_micros(200);
    let start = Instant::now();
    let mut sleep = Duration::from_micros(10);
    let mut spinning = true;
    loop {
        let checks = if spinning { checks_per_clock_read.max(1) } else { 1 };
        for check in 0..checks {
            if done() {
                return true;
            }
            if check + 1 < checks {
                std::hint::spin_loop();
            }
        }
        let now = Instant::now();
        if deadline.is_some_and(|deadline| now >= deadline) {
            return false;
        }
        let waited = now - start;
        spinning = waited < SPIN;
        if spinning {
            std::hint::spin_loop();
        } else if waited < YIELD {
            std::thread::yield_now();
        } else {
            let left = deadline.map_or(sleep, |deadline| deadline.saturating_duration_since(now));
            std::thread::sleep(sleep.min(left));
            sleep = (sleep * 2).min(LONGEST_SLEEP);
        }
    }
}

/// One immediate list: a non-blocking stream, the commands it has been given
/// that are not known to be finished, those kept on the host until the
/// stream can take them without stopping the caller (`backlog.rs`), and the
/// word it writes its progress to.
struct StreamQueue {
    shared: Arc<Shared>,
    device: usize,
    stream: CUstream,
    synchronous: bool,
    progress: PinnedCells,
    state: Mutex<Lane>,
}

/// A queue's bookkeeping, behind one lock: commands are given to the stream
/// in the order they were submitted, numbered as they go.
struct Lane {
    flight: InFlight,
    backlog: Backlog,
    /// A kept command that CUDA refused when it was given to the stream
    /// (no caller to tell then): the next submit returns it.
    failed: Option<ze_result_t>,
    /// The stream is destroyed (the list or queue was): nothing may use it.
    destroyed: bool,
}

impl Drop for StreamQueue {
    fn drop(&mut self) {
        // Kept commands dropped unrun (a queue released without `finish`)
        // are no longer the feeder's to wait for.
        let kept = self.state.get_mut().backlog.len();
        self.shared.held.fetch_sub(kept, Ordering::AcqRel);
    }
}

// SAFETY: a stream may be used from any thread with its context current
// (`enter`); the bookkeeping is behind a mutex.
unsafe impl Send for StreamQueue {}
// SAFETY: as above.
unsafe impl Sync for StreamQueue {}

struct QueueHandle(Arc<StreamQueue>);

impl StreamQueue {
    fn create(shared: Arc<Shared>, device: usize, mode: QueueMode) -> Result<Arc<StreamQueue>, ze_result_t> {
        shared.enter(device)?;
        let progress = pinned_cells(&shared, 1)?;
        let mut stream: CUstream = ptr::null_mut();
        let flags = CUstream_flags::CU_STREAM_NON_BLOCKING as c_uint;
        // SAFETY: valid out-pointer; the device's context is current.
        result(unsafe { (shared.cuda.stream_create)(&mut stream, flags) })?;
        Ok(Arc::new(StreamQueue {
            shared,
            device,
            stream,
            synchronous: mode == QueueMode::Synchronous,
            progress,
            state: Mutex::new(Lane { flight: InFlight::new(), backlog: Backlog::default(), failed: None, destroyed: false }),
        }))
    }

    fn word_address(cell: &EventCell) -> CUdeviceptr {
        cell.value.as_ptr() as CUdeviceptr
    }

    /// Enqueues the command's parts on the stream; the caller holds the lane.
    /// Returns the evidence that the stream ran it, if its writes give any.
    fn enqueue(&self, command: &Command, state: &InFlight) -> Result<Evidence, ze_result_t> {
        let cuda = &self.shared.cuda;
        let wait_flags = CUstreamWaitValue_flags::CU_STREAM_WAIT_VALUE_EQ as c_uint;
        for waited in &command.waits {
            // SAFETY: the command's guard keeps the cell alive until retired.
            let word = Self::word_address(unsafe { waited.cell() });
            // SAFETY: a mapped pinned word; the stream is ours.
            result(unsafe { (cuda.stream_wait_value32)(self.stream, word, SIGNALED, wait_flags) })?;
        }
        match command.action {
            Action::Nothing => {}
            Action::Copy { destination, source, size } => {
                self.shared.copy_pieces(destination, source, size, |to, from, length| {
                    // SAFETY: unified addresses the caller keeps valid until
                    // the command finished (Level Zero contract); each piece
                    // lies within the copy.
                    result(unsafe { (cuda.memcpy_async)(to as CUdeviceptr, from as CUdeviceptr, length, self.stream) })
                })?;
            }
            Action::CopyRegion(ref copy) => self.enqueue_region(copy)?,
            Action::Fill { destination, size, ref pattern } => self.enqueue_fill(destination, size, pattern)?,
            // A stream has no operation that stores a clock; a host callback
            // could not write device memory. Not offered on this backend.
            Action::WriteTimestamp { .. } => return Err(ZE_RESULT_ERROR_UNSUPPORTED_FEATURE),
            Action::ResetEvent(target) => {
                // SAFETY: as for the waits.
                let word = Self::word_address(unsafe { target.cell() });
                // SAFETY: as for the waits.
                result(unsafe { (cuda.stream_write_value32)(self.stream, word, RESET, 0) })?;
            }
        }
        // Writes after the work carry a memory barrier before them (flags
        // 0), so the host that sees one sees the work's results. A command
        // that signals nothing writes nothing, unless a checkpoint is due.
        let sequence = state.next();
        let Some(signalled) = command.signal else {
            if !state.wants_checkpoint(!command.guard.holds_nothing()) {
                return Ok(Evidence::None);
            }
            self.write_progress(sequence)?;
            return Ok(Evidence::Progress);
        };
        // SAFETY: as for the waits.
        let cell = unsafe { signalled.cell() };
        let word = Self::word_address(cell);
        if self.shared.tagged_signals.load(Ordering::Relaxed) {
            let mut tag = self.shared.next_tag();
            // A tag left in the cell by a command 2^32 tags ago would pass
            // for this one's: take the next.
            if cell.sleepers.load(Ordering::Acquire) == tag {
                tag = self.shared.next_tag();
            }
            // SAFETY: the event's cell, 8-aligned in mapped pinned memory.
            result(unsafe { (cuda.stream_write_value64)(self.stream, word, tagged_signal(tag), 0) })?;
            return Ok(Evidence::Tag(signalled, tag));
        }
        // Progress before the signal, in one batch (ops run in array order,
        // each after a memory barrier): a host that saw the signal finds the
        // command finished too.
        let progress = Self::word_address(&self.progress.cells()[0]);
        let mut writes = [write_value(progress, sequence), write_value(word, SIGNALED)];
        // SAFETY: two valid write ops on mapped pinned words of ours or of
        // live event pools; the array outlives the call, which copies it.
        result(unsafe { (cuda.stream_batch_mem_op)(self.stream, 2, writes.as_mut_ptr(), 0) })?;
        Ok(Evidence::Progress)
    }

    /// The stream writes `sequence` to its progress word after the work
    /// before it.
    fn write_progress(&self, sequence: u32) -> Result<(), ze_result_t> {
        let progress = Self::word_address(&self.progress.cells()[0]);
        // SAFETY: a mapped pinned word of ours; our stream.
        result(unsafe { (self.shared.cuda.stream_write_value32)(self.stream, progress, sequence, 0) })
    }

    /// One 3-D copy when both slice pitches are whole numbers of rows (what
    /// CUDA's 3-D copy can express), else one 2-D copy per slice.
    fn enqueue_region(&self, copy: &RegionCopy) -> Result<(), ze_result_t> {
        let cuda = &self.shared.cuda;
        let whole_rows = copy.source_slice_pitch.is_multiple_of(copy.source_pitch)
            && copy.destination_slice_pitch.is_multiple_of(copy.destination_pitch);
        if copy.depth > 1 && whole_rows {
            let parameters = CUDA_MEMCPY3D {
                srcXInBytes: 0,
                srcY: 0,
                srcZ: 0,
                srcLOD: 0,
                srcMemoryType: CUmemorytype::CU_MEMORYTYPE_UNIFIED,
                srcHost: ptr::null(),
                srcDevice: copy.source as CUdeviceptr,
                srcArray: ptr::null_mut(),
                reserved0: ptr::null_mut(),
                srcPitch: copy.source_pitch,
                srcHeight: copy.source_slice_pitch / copy.source_pitch,
                dstXInBytes: 0,
                dstY: 0,
                dstZ: 0,
                dstLOD: 0,
                dstMemoryType: CUmemorytype::CU_MEMORYTYPE_UNIFIED,
                dstHost: ptr::null_mut(),
                dstDevice: copy.destination as CUdeviceptr,
                dstArray: ptr::null_mut(),
                reserved1: ptr::null_mut(),
                dstPitch: copy.destination_pitch,
                dstHeight: copy.destination_slice_pitch / copy.destination_pitch,
                WidthInBytes: copy.width,
                Height: copy.height,
                Depth: copy.depth,
            };
            // SAFETY: unified addresses validated by `region::check`, kept valid
            // by the caller until the command finished (Level Zero contract).
            return result(unsafe { (cuda.memcpy_3d_async)(&parameters, self.stream) });
        }
        for slice in 0..copy.depth {
            let parameters = CUDA_MEMCPY2D {
                srcXInBytes: 0,
                srcY: 0,
                srcMemoryType: CUmemorytype::CU_MEMORYTYPE_UNIFIED,
                srcHost: ptr::null(),
                srcDevice: (copy.source + slice * copy.source_slice_pitch) as CUdeviceptr,
                srcArray: ptr::null_mut(),
                srcPitch: copy.source_pitch,
                dstXInBytes: 0,
                dstY: 0,
                dstMemoryType: CUmemorytype::CU_MEMORYTYPE_UNIFIED,
                dstHost: ptr::null_mut(),
                dstDevice: (copy.destination + slice * copy.destination_slice_pitch) as CUdeviceptr,
                dstArray: ptr::null_mut(),
                dstPitch: copy.destination_pitch,
                WidthInBytes: copy.width,
                Height: copy.height,
            };
            // SAFETY: as above.
            result(unsafe { (cuda.memcpy_2d_async)(&parameters, self.stream) })?;
        }
        Ok(())
    }

    /// A fill, entirely on the stream (nothing on the host to keep alive):
    /// patterns of 1, 2 or 4 bytes that tile the range evenly at an aligned
    /// address are one `cuMemsetD8/D16/D32Async`; any other pattern is
    /// written byte by byte (`cuMemsetD8Async` of length 1, at most one
    /// pattern's worth), then the filled prefix is doubled by device-side
    /// copies from itself (`[0, n)` onto `[n, 2n)`, stream-ordered), so a
    /// partial last repetition is the pattern's prefix as Level Zero asks.
    fn enqueue_fill(&self, destination: usize, size: usize, pattern: &Arc<[u8]>) -> Result<(), ze_result_t> {
        let cuda = &self.shared.cuda;
        if !self.shared.is_cuda_memory(destination) {
            return self.enqueue_host_fill(destination, size, pattern);
        }
        let stream = self.stream;
        let base = destination as CUdeviceptr;
        let tiles = |width: usize| pattern.len() == width && size.is_multiple_of(width) && destination.is_multiple_of(width);
        // Every range written below lies within [destination, +size), which
        // the caller keeps valid and device-accessible until the command ran
        // (Level Zero contract).
        if pattern.len() == 1 {
            // SAFETY: the range above, on our stream.
            return result(unsafe { (cuda.memset_d8_async)(base, pattern[0], size, stream) });
        }
        if tiles(2) {
            let value = u16::from_ne_bytes([pattern[0], pattern[1]]);
            // SAFETY: as above; aligned and a whole number of u16.
            return result(unsafe { (cuda.memset_d16_async)(base, value, size / 2, stream) });
        }
        if tiles(4) {
            let value = u32::from_ne_bytes([pattern[0], pattern[1], pattern[2], pattern[3]]);
            // SAFETY: as above; aligned and a whole number of u32.
            return result(unsafe { (cuda.memset_d32_async)(base, value, size / 4, stream) });
        }
        let first = pattern.len().min(size);
        for (offset, &byte) in pattern.iter().take(first).enumerate() {
            // SAFETY: one byte at offset < size.
            result(unsafe { (cuda.memset_d8_async)(base + offset as CUdeviceptr, byte, 1, stream) })?;
        }
        let mut filled = first;
        while filled < size {
            let length = filled.min(size - filled);
            let target = base + filled as CUdeviceptr;
            // SAFETY: [0, length) onto [filled, filled + length): disjoint
            // (length <= filled), both within the range.
            result(unsafe { (cuda.memcpy_async)(target, base, length, stream) })?;
            filled += length;
        }
        Ok(())
    }

    /// A fill of memory CUDA does not know (`malloc` memory, which Intel's
    /// driver fills as it copies it, and CUDA's memsets refuse): done by the
    /// host in stream order, by a host function (`cuLaunchHostFunc`).
    fn enqueue_host_fill(&self, destination: usize, size: usize, pattern: &Arc<[u8]>) -> Result<(), ze_result_t> {
        let fill = Box::into_raw(Box::new(HostFill { destination, size, pattern: Arc::clone(pattern) }));
        // SAFETY: our stream; `fill` is a live box the callback takes back.
        let launched = result(unsafe { (self.shared.cuda.launch_host_func)(self.stream, Some(run_host_fill), fill.cast()) });
        if launched.is_err() {
            // SAFETY: not handed to CUDA, so still ours alone.
            drop(unsafe { Box::from_raw(fill) });
        }
        launched
    }

    /// Waits until every command submitted so far is known finished (those
    /// kept on the host given to the stream first). When nothing the stream
    /// writes would tell that the newest ran (they signal nothing), it is
    /// asked to write its progress.
    fn wait_idle(&self, deadline: Option<Instant>) -> bool {
        if !self.drain_backlog(deadline) {
            return false;
        }
        let last = {
            let mut state = self.state.lock();
            let last = state.flight.newest();
            if state.flight.newest_unmarked() && self.shared.enter(self.device).is_ok() && self.write_progress(last).is_ok()
            {
                state.flight.marked(last);
                state.backlog.wrote(1);
            }
            last
        };
        let polls = std::cell::Cell::new(0u32);
        poll_until(deadline, || {
            self.retire();
            if self.state.lock().flight.finished(last) {
                return true;
            }
            // A command whose tag was replaced shows up only as an idle stream.
            polls.set(polls.get().wrapping_add(1));
            polls.get().is_multiple_of(64) && {
                self.retire_if_idle();
                self.state.lock().flight.finished(last)
            }
        })
    }

    /// Gives the command to the stream, or keeps it on the host when the
    /// stream might stop at a wait with too much behind it already (or
    /// others are kept before it): then the feeder, or a later call on this
    /// queue, gives it once the stream can take it.
    fn submit(&self, command: Command) -> Result<(), ze_result_t> {
        // A stream has no operation that stores a clock; a host callback
        // could not write device memory. Refused before any of its parts
        // reaches the stream (a kept command could not be refused later).
        if matches!(command.action, Action::WriteTimestamp { .. }) {
            return Err(ZE_RESULT_ERROR_UNSUPPORTED_FEATURE);
        }
        self.shared.enter(self.device)?;
        let mut state = self.state.lock();
        if state.flight.closed {
            return Err(ZE_RESULT_ERROR_INVALID_NULL_HANDLE);
        }
        if let Some(failed) = state.failed.take() {
            return Err(failed);
        }
        self.give_held(&mut state);
        let waits = state.backlog.waits(&command, word_signalled);
        let operations = operations(&command, &self.shared);
        let returns_after_run = || self.shared.enqueue_returns_after_run(&command.action);
        if state.backlog.holding() || !state.backlog.admits(operations, &waits, returns_after_run) {
            state.backlog.hold(command);
            drop(state);
            Shared::kept(&self.shared);
            if !self.synchronous {
                return Ok(());
            }
            self.synchronize();
            return self.state.lock().failed.take().map_or(Ok(()), Err);
        }
        let given = self.give(&mut state, command, operations, waits);
        drop(state);
        if given.is_err() || self.synchronous {
            // A part may be on the stream: let it drain before anything is
            // released, so no event is freed under the device.
            self.synchronize();
        } else {
            self.retire();
        }
        given
    }

    /// Gives one command to the stream, numbered next; the caller holds
    /// the lane and made the device's context current.
    fn give(&self, state: &mut Lane, command: Command, operations: u64, waits: backlog::Waits)
        -> Result<(), ze_result_t> {
        let sequence = state.flight.next();
        let reset = match command.action {
            Action::ResetEvent(cell) => Some(cell),
            _ => None,
        };
        let enqueued = self.enqueue(&command, &state.flight);
        state.flight.record(command.guard, *enqueued.as_ref().unwrap_or(&Evidence::None));
        // Even a failed command may have put its waits on the stream.
        state.backlog.given(sequence, operations, waits, reset);
        enqueued.map(|_| ())
    }

    /// Gives the kept commands the stream can now take, in order; true if
    /// none is left. The caller holds the lane and made the context current.
    fn give_held(&self, state: &mut Lane) -> bool {
        let flight = &state.flight;
        state.backlog.refresh(|sequence| flight.finished(sequence), word_signalled);
        while let Some(command) = state.backlog.front() {
            let waits = state.backlog.waits(command, word_signalled);
            let operations = operations(command, &self.shared);
            if !state.backlog.admits(operations, &waits, || self.shared.enqueue_returns_after_run(&command.action)) {
                return false;
            }
            let command = state.backlog.take_front().expect("front checked");
            self.shared.held.fetch_sub(1, Ordering::AcqRel);
            if let Err(error) = self.give(state, command, operations, waits) {
                state.failed.get_or_insert(error);
            }
        }
        true
    }

    /// Learns what the stream ran (asking CUDA whether it is idle too, if
    /// `query_idle`) and gives it the kept commands it can now take; true
    /// if none is left on the host.
    fn pump(&self, query_idle: bool) -> bool {
        self.retire();
        if query_idle {
            self.retire_if_idle();
        }
        if self.shared.enter(self.device).is_err() {
            return false;
        }
        let mut state = self.state.lock();
        state.destroyed || self.give_held(&mut state)
    }

    /// Waits until no command of this queue is kept on the host.
    fn drain_backlog(&self, deadline: Option<Instant>) -> bool {
        if !self.state.lock().backlog.holding() {
            return true;
        }
        let polls = std::cell::Cell::new(0u32);
        poll_until(deadline, || {
            polls.set(polls.get().wrapping_add(1));
            self.pump(polls.get().is_multiple_of(64))
        })
    }

    /// Gives the stream what is kept on the host, drains it, then retires
    /// everything given before the drain.
    fn synchronize(&self) {
        self.drain_backlog(None);
        let newest = self.state.lock().flight.newest();
        if self.shared.enter(self.device).is_ok() {
            // SAFETY: our stream, its context current.
            unsafe { (self.shared.cuda.stream_synchronize)(self.stream) };
        }
        let finished = self.state.lock().flight.retire_through(newest);
        finish_all(finished);
    }

    /// Releases the commands the stream's writes show finished.
    fn retire(&self) {
        let progress = self.progress.cells()[0].value.load(Ordering::Acquire);
        let finished = self.state.lock().flight.retire_seen(progress);
        finish_all(finished);
    }

    /// Releases every command given so far if the stream has run them all.
    fn retire_if_idle(&self) {
        if self.shared.enter(self.device).is_err() {
            return;
        }
        let finished = {
            let mut state = self.state.lock();
            let newest = state.flight.newest();
            if state.destroyed || state.flight.finished(newest) {
                return;
            }
            // Asked under the lane, so that the stream is not destroyed
            // meanwhile (the feeder may ask while the list is destroyed).
            // SAFETY: our stream, alive (not `destroyed`), its context current.
            if unsafe { (self.shared.cuda.stream_query)(self.stream) } != CUDA_SUCCESS {
                return;
            }
            state.flight.retire_through(newest)
        };
        finish_all(finished);
    }
}

/// Whether a cell's word reads signalled. For the backlog, which asks it
/// only of cells of a command in hand or given and not known finished,
/// whose guard keeps them alive.
fn word_signalled(cell: CellRef) -> bool {
    // SAFETY: the backlog's contract above: the cell's command is alive.
    unsafe { cell.cell() }.is_signaled()
}

/// The stream operations a command takes at most: its waits, its action's
/// calls, and one write (its signal, or a progress checkpoint).
fn operations(command: &Command, shared: &Shared) -> u64 {
    let action = match &command.action {
        Action::Nothing | Action::WriteTimestamp { .. } => 0,
        Action::Copy { destination, source, size } => {
            shared.copy_pieces(*destination, *source, *size, |_, _, _| Ok::<(), ()>(())).unwrap_or(1)
        }
        Action::ResetEvent(_) => 1,
        // One 3-D copy, or one 2-D copy per slice.
        Action::CopyRegion(copy) => copy.depth.max(1) as u64,
        // One memset, or one per pattern byte and then the doublings.
        Action::Fill { size, pattern, .. } => {
            let first = pattern.len().min(*size).max(1);
            first as u64 + u64::from((size / first).max(1).ilog2()) + 1
        }
    };
    command.waits.len() as u64 + action + 1
}

/// The feeder thread: while commands are kept on the host, gives each
/// queue's to its stream as soon as the stream can take them, so that they
/// run even when the application calls nothing more (it may be waiting on
/// an event's word, or on memory the commands write).
fn feed(shared: &Arc<Shared>) {
    const SHORTEST: Duration = Duration::from_micros(10);
    const LONGEST: Duration = Duration::from_micros(200);
    let mut pause = SHORTEST;
    let mut rounds = 0u32;
    loop {
        {
            let mut started = shared.feeder.lock();
            while shared.held.load(Ordering::Acquire) == 0 {
                shared.feeder_wake.wait(&mut started);
            }
        }
        let before = shared.held.load(Ordering::Acquire);
        rounds = rounds.wrapping_add(1);
        let queues = shared.live_queues();
        for queue in &queues {
            if queue.state.lock().backlog.holding() {
                // Idle streams tell of commands that write nothing.
                queue.pump(rounds.is_multiple_of(16));
            }
        }
        drop(queues);
        pause = if shared.held.load(Ordering::Acquire) < before { SHORTEST } else { (pause * 2).min(LONGEST) };
        std::thread::sleep(pause);
    }
}

/// What a host fill's callback needs, boxed until it runs.
struct HostFill {
    destination: usize,
    size: usize,
    pattern: Arc<[u8]>,
}

/// Runs on CUDA's callback thread once the stream reached the fill.
unsafe extern "C" fn run_host_fill(data: *mut c_void) {
    // SAFETY: the box `enqueue_host_fill` handed over, taken back once.
    let fill = unsafe { Box::from_raw(data.cast::<HostFill>()) };
    // A panic must not unwind into libcuda; fill_bytes has none, but be sure.
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: the front checked the range non-NULL; the caller keeps it
        // valid until the command ran (Level Zero contract); the pattern is ours.
        unsafe { super::fill_bytes(fill.destination as *mut u8, fill.size, &fill.pattern) }
    });
}

/// A 32-bit write op of a `cuStreamBatchMemOp` batch.
fn write_value(address: CUdeviceptr, value: u32) -> CUstreamBatchMemOpParams {
    CUstreamBatchMemOpParams {
        writeValue: CUstreamBatchMemOpParams_union_CUstreamMemOpWriteValueParams_st {
            operation: CUstreamBatchMemOpType::CU_STREAM_MEM_OP_WRITE_VALUE_32,
            address,
            __bindgen_anon_1: CUstreamBatchMemOpParams_union_CUstreamMemOpWriteValueParams_st__bindgen_ty_1 { value },
            flags: 0,
            alias: 0,
        },
    }
}

fn finish_all(guards: impl IntoIterator<Item = UseGuard>) {
    for mut guard in guards {
        guard.finished();
    }
}

impl Queue for QueueHandle {
    fn submit(&self, command: Command) -> Result<(), ze_result_t> {
        self.0.submit(command)
    }

    fn wait_idle(&self, deadline: Option<Instant>) -> bool {
        self.0.wait_idle(deadline)
    }

    fn finish(&self) {
        let queue = &self.0;
        queue.state.lock().flight.closed = true;
        queue.synchronize();
        let mut state = queue.state.lock();
        state.destroyed = true;
        if queue.shared.enter(queue.device).is_ok() {
            // SAFETY: our stream, drained; marked destroyed under the lane,
            // so never used again.
            unsafe { (queue.shared.cuda.stream_destroy)(queue.stream) };
        }
    }
}
