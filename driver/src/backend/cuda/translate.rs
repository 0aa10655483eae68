//! Translation: a command becomes the list of stream operations that carry
//! it out, in order: its waits, its action's calls, then its one write (a
//! signal, or a progress checkpoint when one is due). The backlog counts a
//! command as that list's length, so what it counts is what is enqueued.

use std::ptr;
use std::sync::Arc;

use cudarc::driver::sys::{CUdeviceptr, CUmemorytype, CUDA_MEMCPY2D, CUDA_MEMCPY3D};
use ze_sys::*;

use super::super::region::RegionCopy;
use super::super::{Action, CellRef, Command, RESET, SIGNALED};
use super::cells::word_address;
use super::error::CudaError;
use super::stream::Stream;
use super::Shared;

/// One operation on a stream.
pub enum Operation {
    /// Stop until the event word at this address reads signalled.
    Wait(CUdeviceptr),
    Copy { destination: CUdeviceptr, source: CUdeviceptr, size: usize },
    /// A region in one 3-D copy (both slice pitches whole numbers of rows).
    Region(RegionCopy),
    /// One slice of a region, as a 2-D copy.
    RegionSlice(RegionCopy, usize),
    Memset8 { destination: CUdeviceptr, value: u8, count: usize },
    Memset16 { destination: CUdeviceptr, value: u16, count: usize },
    Memset32 { destination: CUdeviceptr, value: u32, count: usize },
    /// A fill of memory CUDA does not know, by the host in stream order.
    HostFill { destination: usize, size: usize, pattern: Arc<[u8]> },
    /// Write the event word at this address reset.
    Reset(CUdeviceptr),
    /// The command's one write, always last: its signal, or, when it signals
    /// nothing, a progress checkpoint if one is due (else nothing); whether
    /// the command holds event uses decides when one is due.
    Close { signal: Option<CellRef>, holds_uses: bool },
}

/// The operations that carry `command` out. A timestamp is refused: a
/// stream has no operation that stores a clock, and a host callback could
/// not write device memory.
pub fn translate(command: &Command, shared: &Shared) -> Result<Vec<Operation>, ze_result_t> {
    let mut operations = Vec::with_capacity(command.waits.len() + 2);
    for waited in &command.waits {
        // SAFETY: the command's guard keeps the cell alive until retired.
        operations.push(Operation::Wait(word_address(unsafe { waited.cell() })));
    }
    match command.action {
        Action::Nothing => {}
        Action::Copy { destination, source, size } => shared.copy_pieces(destination, source, size, |to, from, length| {
            operations.push(Operation::Copy { destination: to as CUdeviceptr, source: from as CUdeviceptr, size: length })
        }),
        Action::CopyRegion(ref copy) => region(copy, &mut operations),
        Action::Fill { destination, size, ref pattern } => fill(shared, destination, size, pattern, &mut operations),
        Action::WriteTimestamp { .. } => return Err(ZE_RESULT_ERROR_UNSUPPORTED_FEATURE),
        // SAFETY: as for the waits.
        Action::ResetEvent(target) => operations.push(Operation::Reset(word_address(unsafe { target.cell() }))),
    }
    operations.push(Operation::Close { signal: command.signal, holds_uses: !command.guard.holds_nothing() });
    Ok(operations)
}

/// One 3-D copy when both slice pitches are whole numbers of rows (what
/// CUDA's 3-D copy can express), else one 2-D copy per slice.
fn region(copy: &RegionCopy, operations: &mut Vec<Operation>) {
    let whole_rows = copy.source_slice_pitch.is_multiple_of(copy.source_pitch)
        && copy.destination_slice_pitch.is_multiple_of(copy.destination_pitch);
    if copy.depth > 1 && whole_rows {
        operations.push(Operation::Region(*copy));
    } else {
        operations.extend((0..copy.depth).map(|slice| Operation::RegionSlice(*copy, slice)));
    }
}

/// A fill, entirely on the stream (nothing on the host to keep alive):
/// patterns of 1, 2 or 4 bytes that tile the range evenly at an aligned
/// address are one `cuMemsetD8/D16/D32Async`; any other pattern is
/// written byte by byte (`cuMemsetD8Async` of length 1, at most one
/// pattern's worth), then the filled prefix is doubled by device-side
/// copies from itself (`[0, n)` onto `[n, 2n)`, stream-ordered), so a
/// partial last repetition is the pattern's prefix as Level Zero asks.
/// Memory CUDA does not know (`malloc` memory, which Intel's driver fills
/// as it copies it, and CUDA's memsets refuse) is filled by the host.
fn fill(shared: &Shared, destination: usize, size: usize, pattern: &Arc<[u8]>, operations: &mut Vec<Operation>) {
    if !shared.is_cuda_memory(destination) {
        operations.push(Operation::HostFill { destination, size, pattern: Arc::clone(pattern) });
        return;
    }
    let base = destination as CUdeviceptr;
    let tiles = |width: usize| pattern.len() == width && size.is_multiple_of(width) && destination.is_multiple_of(width);
    if pattern.len() == 1 {
        operations.push(Operation::Memset8 { destination: base, value: pattern[0], count: size });
        return;
    }
    if tiles(2) {
        let value = u16::from_ne_bytes([pattern[0], pattern[1]]);
        operations.push(Operation::Memset16 { destination: base, value, count: size / 2 });
        return;
    }
    if tiles(4) {
        let value = u32::from_ne_bytes([pattern[0], pattern[1], pattern[2], pattern[3]]);
        operations.push(Operation::Memset32 { destination: base, value, count: size / 4 });
        return;
    }
    let first = pattern.len().min(size);
    for (offset, &byte) in pattern.iter().take(first).enumerate() {
        operations.push(Operation::Memset8 { destination: base + offset as CUdeviceptr, value: byte, count: 1 });
    }
    let mut filled = first;
    while filled < size {
        let length = filled.min(size - filled);
        // [0, length) onto [filled, filled + length): disjoint (length <= filled).
        operations.push(Operation::Copy { destination: base + filled as CUdeviceptr, source: base, size: length });
        filled += length;
    }
}

impl Operation {
    /// Enqueues this operation on `stream` (its context current). `Close`
    /// is the queue's to carry out, which knows what is due: nothing here.
    ///
    /// # Safety
    /// Every range and word the operation names stays valid until the
    /// stream ran it (the Level Zero contract, and the command's guard for
    /// event words).
    pub unsafe fn enqueue(&self, stream: &Stream) -> Result<(), CudaError> {
        // SAFETY (every call below): the contract above.
        unsafe {
            match *self {
                Operation::Wait(word) => stream.wait_value32(word, SIGNALED),
                Operation::Copy { destination, source, size } => stream.copy(destination, source, size),
                Operation::Region(ref copy) => stream.copy_3d(&region_3d(copy)),
                Operation::RegionSlice(ref copy, slice) => stream.copy_2d(&region_slice(copy, slice)),
                Operation::Memset8 { destination, value, count } => stream.memset_d8(destination, value, count),
                Operation::Memset16 { destination, value, count } => stream.memset_d16(destination, value, count),
                Operation::Memset32 { destination, value, count } => stream.memset_d32(destination, value, count),
                Operation::HostFill { destination, size, ref pattern } => stream.host_fill(destination, size, pattern),
                Operation::Reset(word) => stream.write_value32(word, RESET),
                Operation::Close { .. } => Ok(()),
            }
        }
    }
}

/// CUDA's 3-D copy of a region whose slice pitches are whole rows.
fn region_3d(copy: &RegionCopy) -> CUDA_MEMCPY3D {
    CUDA_MEMCPY3D {
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
    }
}

/// CUDA's 2-D copy of one slice of a region.
fn region_slice(copy: &RegionCopy, slice: usize) -> CUDA_MEMCPY2D {
    CUDA_MEMCPY2D {
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
    }
}
