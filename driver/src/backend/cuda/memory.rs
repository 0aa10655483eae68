//! Memory: device (`cuMemAlloc`), host (pinned, device-mapped, portable)
//! and shared (managed) allocations, the tables kept beside them (each
//! device allocation's owner with several GPUs, realigned bases, imported
//! host ranges registered with CUDA), and what they tell of an address: its
//! CUDA memory type, its owner, and where a copy must be cut.

use std::ffi::{c_int, c_uint, c_void};
use std::ptr::{self, NonNull};

use cudarc::driver::sys::{
    CUdeviceptr, CUmemAttach_flags, CUmemorytype, CUpointer_attribute, CU_MEMHOSTALLOC_DEVICEMAP, CU_MEMHOSTALLOC_PORTABLE,
    CU_MEMHOSTREGISTER_PORTABLE,
};
use ze_sys::*;

use super::super::{Action, MemoryKind};
use super::api::{CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED, CUDA_SUCCESS};
use super::error::check;
use super::Shared;

/// What every allocation of CUDA is aligned to at least.
const NATURAL_ALIGNMENT: usize = 256;

impl Shared {
    /// Calls `piece` for each part of a copy of `size` bytes, cut where
    /// a host range this backend registered starts or ends inside either
    /// side: CUDA takes a copy that starts in registered memory for pinned
    /// memory throughout and refuses one that runs out of it, while Intel's
    /// driver copies a range partly imported as `malloc`'d memory.
    pub fn copy_pieces(&self, destination: usize, source: usize, size: usize, mut piece: impl FnMut(usize, usize, usize)) {
        let registered = self.registered.lock();
        if registered.is_empty() || size == 0 {
            drop(registered);
            piece(destination, source, size);
            return;
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
            piece(destination + pair[0], source + pair[0], pair[1] - pair[0]);
        }
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
    pub fn is_cuda_memory(&self, address: usize) -> bool {
        self.memory_type(address) != 0
    }

    /// Whether enqueueing `action` may return only once the stream ran it:
    /// an asynchronous copy from host memory to host memory is synchronous,
    /// one with pageable (`malloc`) memory on either side may be (CUDA's
    /// "API synchronization behavior"), so behind a wait that may stop the
    /// stream it would block its caller.
    pub fn enqueue_returns_after_run(&self, action: &Action) -> bool {
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
    pub fn owner(&self, address: usize) -> Option<usize> {
        let owners = self.owners.lock();
        let (_, &(end, device)) = owners.range(..=address).next_back()?;
        (address < end).then_some(device)
    }

    /// An imported range is page-locked for every context
    /// (`cuMemHostRegister`, portable), so copies from and to it run at
    /// pinned memory's rate; a range CUDA already had registered (by the
    /// application) counts as imported and is not unregistered at release.
    pub fn import_host(&self, base: usize, size: usize) -> Result<(), ze_result_t> {
        self.enter(0)?;
        // SAFETY: the application's memory, `size` bytes from `base` (the
        // import's contract); CUDA only pins its pages.
        let code = unsafe { (self.cuda.mem_host_register)(base as *mut c_void, size, CU_MEMHOSTREGISTER_PORTABLE) };
        match code {
            CUDA_SUCCESS => {
                self.registered.lock().insert(base, size);
                Ok(())
            }
            CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED => Ok(()),
            // What Intel's driver answers when it cannot make the range a graphics allocation.
            _ => Err(ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY),
        }
    }

    pub fn release_host(&self, base: usize) {
        if self.registered.lock().remove(&base).is_none() {
            return;
        }
        let _ = self.enter(0);
        // SAFETY: registered by `import_host`; the front waited for every copy.
        let _ = unsafe { (self.cuda.mem_host_unregister)(base as *mut c_void) };
    }

    pub fn allocate(&self, kind: MemoryKind, device: usize, size: usize, alignment: usize)
        -> Result<NonNull<u8>, ze_result_t> {
        self.enter(device)?;
        let padding = if alignment > NATURAL_ALIGNMENT { alignment } else { 0 };
        let length = size.checked_add(padding).ok_or(ZE_RESULT_ERROR_UNSUPPORTED_SIZE)?;
        let raw = match kind {
            MemoryKind::Device => {
                let mut pointer: CUdeviceptr = 0;
                // SAFETY: valid out-pointer; the device's context is current.
                check("cuMemAlloc", unsafe { (self.cuda.mem_alloc)(&mut pointer, length) })?;
                pointer as usize
            }
            MemoryKind::Host => {
                let mut pointer: *mut c_void = ptr::null_mut();
                let flags = CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP;
                // SAFETY: as above.
                check("cuMemHostAlloc", unsafe { (self.cuda.mem_host_alloc)(&mut pointer, length, flags) })
                    .map_err(|_| ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY)?;
                pointer as usize
            }
            MemoryKind::Shared => {
                let mut pointer: CUdeviceptr = 0;
                let flags = CUmemAttach_flags::CU_MEM_ATTACH_GLOBAL as c_uint;
                // SAFETY: as above.
                check("cuMemAllocManaged", unsafe { (self.cuda.mem_alloc_managed)(&mut pointer, length, flags) })?;
                pointer as usize
            }
        };
        if kind == MemoryKind::Device && self.gpus.len() > 1 {
            self.owners.lock().insert(raw, (raw + length.max(1), device));
        }
        let base = if padding == 0 { raw } else { raw.next_multiple_of(alignment) };
        if base != raw {
            self.realigned.lock().insert(base, raw);
        }
        NonNull::new(base as *mut u8).ok_or(ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY)
    }

    /// # Safety
    /// `base` is a live allocation of `kind` that `allocate` returned.
    pub unsafe fn free(&self, kind: MemoryKind, base: NonNull<u8>) {
        let base = base.as_ptr() as usize;
        let raw = self.realigned.lock().remove(&base).unwrap_or(base);
        // Device memory is freed in its device's context; the rest in any.
        let owner = self.owners.lock().remove(&raw).map_or(0, |(_, device)| device);
        let _ = self.enter(owner);
        // SAFETY: `raw` is what CUDA returned for this live allocation.
        unsafe {
            match kind {
                MemoryKind::Host => (self.cuda.mem_free_host)(raw as *mut c_void),
                MemoryKind::Device | MemoryKind::Shared => (self.cuda.mem_free)(raw as CUdeviceptr),
            };
        }
    }
}
