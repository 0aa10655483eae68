//! Event cells: a pool's words in pinned, device-mapped host memory, which
//! streams of every device write and wait on at their host address and the
//! host reads, signals and resets.

use std::ffi::c_void;
use std::ptr::{self, NonNull};
use std::sync::Arc;

use cudarc::driver::sys::{CUdeviceptr, CU_MEMHOSTALLOC_DEVICEMAP, CU_MEMHOSTALLOC_PORTABLE};
use ze_sys::*;

use super::super::{CellRef, EventCell, EventMemory, RESET, SIGNALED};
use super::error::check;
use super::Shared;

/// The 64-bit value a signalling command writes to its event's cell: the
/// word [`SIGNALED`], then the command's tag (the cell is little-endian
/// memory of two `u32`, on the host and the device alike).
pub fn tagged_signal(tag: u32) -> u64 {
    u64::from(tag) << 32 | u64::from(SIGNALED)
}

/// The address a stream writes or waits on for `cell`'s word: its host
/// address (pinned memory, mapped there in every context).
pub fn word_address(cell: &EventCell) -> CUdeviceptr {
    cell.value.as_ptr() as CUdeviceptr
}

/// Whether a cell's word reads signalled. For the backlog, which asks it
/// only of cells of a command in hand or given and not known finished,
/// whose guard keeps them alive.
pub fn word_signalled(cell: CellRef) -> bool {
    // SAFETY: the backlog's contract above: the cell's command is alive.
    unsafe { cell.cell() }.is_signaled()
}

/// One pool's cells, in pinned, device-mapped host memory.
pub struct PinnedCells {
    shared: Arc<Shared>,
    base: NonNull<EventCell>,
    count: usize,
}

// SAFETY: the cells are atomics in memory owned by this object.
unsafe impl Send for PinnedCells {}
// SAFETY: as above.
unsafe impl Sync for PinnedCells {}

/// `count` reset cells in pinned, device-mapped memory.
pub fn pinned_cells(shared: &Arc<Shared>, count: usize) -> Result<PinnedCells, ze_result_t> {
    shared.enter(0)?;
    let bytes = count.checked_mul(size_of::<EventCell>()).ok_or(ZE_RESULT_ERROR_UNSUPPORTED_SIZE)?;
    let mut pointer: *mut c_void = ptr::null_mut();
    let flags = CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP;
    // SAFETY: valid out-pointer.
    check("cuMemHostAlloc", unsafe { (shared.cuda.mem_host_alloc)(&mut pointer, bytes, flags) })
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
        // SAFETY: allocated by cuMemHostAlloc in `pinned_cells`; the front
        // drops a pool only once no command names its cells.
        unsafe { (self.shared.cuda.mem_free_host)(self.base.as_ptr().cast()) };
    }
}

/// Event words are addressed by every device at their host address (a
/// pool's words are signalled on one GPU and waited on by another): make
/// sure pinned memory is mapped that way (portable, unified addressing)
/// in every device's context before use.
pub fn check_mapped_host_memory(shared: &Arc<Shared>) -> Result<(), String> {
    let memory = pinned_cells(shared, 1).map_err(|error| format!("pinned event memory: {error:#x}"))?;
    let host = memory.cells().as_ptr() as *mut c_void;
    for gpu in 0..shared.gpus.len() {
        shared.enter(gpu).map_err(|error| format!("CUDA device {gpu}'s context: {error:#x}"))?;
        let mut device: CUdeviceptr = 0;
        // SAFETY: `host` is a live pinned allocation of ours.
        check("cuMemHostGetDevicePointer", unsafe { (shared.cuda.mem_host_get_device_pointer)(&mut device, host, 0) })?;
        if device != host as CUdeviceptr {
            return Err(format!("pinned memory is not mapped at its host address on CUDA device {gpu}"));
        }
    }
    Ok(())
}
