//! A CUDA stream of one device, destroyed when dropped, and the stream
//! operations the backend enqueues on it, each a checked CUDA call. The
//! device's context must be current on the calling thread (`Shared::enter`).

use std::ffi::{c_uint, c_void};
use std::ptr;
use std::sync::Arc;

use cudarc::driver::sys::{
    CUdeviceptr, CUstream, CUstreamBatchMemOpParams, CUstreamBatchMemOpParams_union_CUstreamMemOpWriteValueParams_st,
    CUstreamBatchMemOpParams_union_CUstreamMemOpWriteValueParams_st__bindgen_ty_1, CUstreamBatchMemOpType,
    CUstreamWaitValue_flags, CUstream_flags, CUDA_MEMCPY2D, CUDA_MEMCPY3D,
};

use super::api::CUDA_SUCCESS;
use super::error::{check, CudaError};
use super::Shared;

/// A non-blocking stream of `device`; destroyed on drop (CUDA lets work
/// already queued on it finish).
pub struct Stream {
    shared: Arc<Shared>,
    device: usize,
    raw: CUstream,
}

// SAFETY: a stream may be used from any thread with its context current.
unsafe impl Send for Stream {}
// SAFETY: as above.
unsafe impl Sync for Stream {}

impl Drop for Stream {
    fn drop(&mut self) {
        if self.shared.enter(self.device).is_ok() {
            // SAFETY: our stream, used by no one once its owner is dropped.
            unsafe { (self.shared.cuda.stream_destroy)(self.raw) };
        }
    }
}

impl Stream {
    /// A new non-blocking stream; `device`'s context is current.
    pub fn create(shared: &Arc<Shared>, device: usize) -> Result<Stream, CudaError> {
        let mut raw: CUstream = ptr::null_mut();
        let flags = CUstream_flags::CU_STREAM_NON_BLOCKING as c_uint;
        // SAFETY: valid out-pointer; the device's context is current.
        check("cuStreamCreate", unsafe { (shared.cuda.stream_create)(&mut raw, flags) })?;
        Ok(Stream { shared: Arc::clone(shared), device, raw })
    }

    /// Waits until everything enqueued so far has run.
    pub fn synchronize(&self) -> Result<(), CudaError> {
        // SAFETY: our stream, its context current.
        check("cuStreamSynchronize", unsafe { (self.shared.cuda.stream_synchronize)(self.raw) })
    }

    /// Whether everything enqueued so far has run.
    pub fn is_idle(&self) -> bool {
        // SAFETY: our stream, its context current.
        unsafe { (self.shared.cuda.stream_query)(self.raw) == CUDA_SUCCESS }
    }

    /// Stops the stream until the 32-bit word at `word` equals `value`.
    pub fn wait_value32(&self, word: CUdeviceptr, value: u32) -> Result<(), CudaError> {
        let flags = CUstreamWaitValue_flags::CU_STREAM_WAIT_VALUE_EQ as c_uint;
        // SAFETY: a mapped pinned word the caller keeps alive until the
        // stream passed the wait; our stream.
        check("cuStreamWaitValue32", unsafe { (self.shared.cuda.stream_wait_value32)(self.raw, word, value, flags) })
    }

    /// Writes `value` to the 32-bit word at `word` after the work before it
    /// (flags 0: a memory barrier first).
    pub fn write_value32(&self, word: CUdeviceptr, value: u32) -> Result<(), CudaError> {
        // SAFETY: a mapped pinned word the caller keeps alive until the
        // stream wrote it; our stream.
        check("cuStreamWriteValue32", unsafe { (self.shared.cuda.stream_write_value32)(self.raw, word, value, 0) })
    }

    /// Writes `value` to the 8-aligned 64-bit word at `word`, as above.
    pub fn write_value64(&self, word: CUdeviceptr, value: u64) -> Result<(), CudaError> {
        // SAFETY: as for `write_value32`; the word is 8-aligned.
        check("cuStreamWriteValue64", unsafe { (self.shared.cuda.stream_write_value64)(self.raw, word, value, 0) })
    }

    /// Writes each `(word, value)` in order, each after a memory barrier,
    /// as one batch.
    pub fn write_values32(&self, writes: [(CUdeviceptr, u32); 2]) -> Result<(), CudaError> {
        let mut operations = writes.map(|(address, value)| write_value(address, value));
        let count = operations.len() as c_uint;
        // SAFETY: valid write ops on mapped pinned words the caller keeps
        // alive; the array outlives the call, which copies it.
        check("cuStreamBatchMemOp", unsafe {
            (self.shared.cuda.stream_batch_mem_op)(self.raw, count, operations.as_mut_ptr(), 0)
        })
    }

    /// Copies `size` bytes between unified addresses, in stream order.
    ///
    /// # Safety
    /// Both ranges stay valid until the stream ran the copy.
    pub unsafe fn copy(&self, destination: CUdeviceptr, source: CUdeviceptr, size: usize) -> Result<(), CudaError> {
        // SAFETY: the caller's contract; our stream.
        check("cuMemcpyAsync", unsafe { (self.shared.cuda.memcpy_async)(destination, source, size, self.raw) })
    }

    /// # Safety
    /// Every range the parameters name stays valid until the stream ran it.
    pub unsafe fn copy_2d(&self, parameters: &CUDA_MEMCPY2D) -> Result<(), CudaError> {
        // SAFETY: the caller's contract; CUDA copies the parameters.
        check("cuMemcpy2DAsync", unsafe { (self.shared.cuda.memcpy_2d_async)(parameters, self.raw) })
    }

    /// # Safety
    /// As for [`Stream::copy_2d`].
    pub unsafe fn copy_3d(&self, parameters: &CUDA_MEMCPY3D) -> Result<(), CudaError> {
        // SAFETY: the caller's contract; CUDA copies the parameters.
        check("cuMemcpy3DAsync", unsafe { (self.shared.cuda.memcpy_3d_async)(parameters, self.raw) })
    }

    /// Sets `count` bytes from `destination` to `value`.
    ///
    /// # Safety
    /// The range stays valid and device-accessible until the stream ran it.
    pub unsafe fn memset_d8(&self, destination: CUdeviceptr, value: u8, count: usize) -> Result<(), CudaError> {
        // SAFETY: the caller's contract; our stream.
        check("cuMemsetD8Async", unsafe { (self.shared.cuda.memset_d8_async)(destination, value, count, self.raw) })
    }

    /// Sets `count` aligned `u16` from `destination` to `value`.
    ///
    /// # Safety
    /// As for [`Stream::memset_d8`].
    pub unsafe fn memset_d16(&self, destination: CUdeviceptr, value: u16, count: usize) -> Result<(), CudaError> {
        // SAFETY: the caller's contract; our stream.
        check("cuMemsetD16Async", unsafe { (self.shared.cuda.memset_d16_async)(destination, value, count, self.raw) })
    }

    /// Sets `count` aligned `u32` from `destination` to `value`.
    ///
    /// # Safety
    /// As for [`Stream::memset_d8`].
    pub unsafe fn memset_d32(&self, destination: CUdeviceptr, value: u32, count: usize) -> Result<(), CudaError> {
        // SAFETY: the caller's contract; our stream.
        check("cuMemsetD32Async", unsafe { (self.shared.cuda.memset_d32_async)(destination, value, count, self.raw) })
    }

    /// A fill of memory CUDA does not know, done by the host in stream
    /// order (`cuLaunchHostFunc`).
    ///
    /// # Safety
    /// The range stays valid until the stream ran the fill.
    pub unsafe fn host_fill(&self, destination: usize, size: usize, pattern: &Arc<[u8]>) -> Result<(), CudaError> {
        let fill = Box::into_raw(Box::new(HostFill { destination, size, pattern: Arc::clone(pattern) }));
        // SAFETY: our stream; `fill` is a live box the callback takes back.
        let launched = check("cuLaunchHostFunc", unsafe {
            (self.shared.cuda.launch_host_func)(self.raw, Some(run_host_fill), fill.cast())
        });
        if launched.is_err() {
            // SAFETY: not handed to CUDA, so still ours alone.
            drop(unsafe { Box::from_raw(fill) });
        }
        launched
    }
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

/// What a host fill's callback needs, boxed until it runs.
struct HostFill {
    destination: usize,
    size: usize,
    pattern: Arc<[u8]>,
}

/// Runs on CUDA's callback thread once the stream reached the fill.
unsafe extern "C" fn run_host_fill(data: *mut c_void) {
    // SAFETY: the box `Stream::host_fill` handed over, taken back once.
    let fill = unsafe { Box::from_raw(data.cast::<HostFill>()) };
    // A panic must not unwind into libcuda; fill_bytes has none, but be sure.
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: the front checked the range non-NULL; the caller keeps it
        // valid until the command ran (Level Zero contract); the pattern is ours.
        unsafe { super::super::fill_bytes(fill.destination as *mut u8, fill.size, &fill.pattern) }
    });
}
