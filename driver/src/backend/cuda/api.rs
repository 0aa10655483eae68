//! `libcuda.so.1`, opened at run time: one table of typed entry points,
//! resolved once when the backend starts. A missing library or symbol is an
//! error value, never a panic. Argument types come from `cudarc`'s driver
//! bindings; results are read as plain integers, since a driver newer than the
//! bindings may return a code the bindings' enum does not have.

use std::ffi::{c_char, c_int, c_uint, c_void};

use cudarc::driver::sys::{
    cudaError_enum, CUcontext, CUdevice, CUdeviceptr, CUhostFn, CUstream, CUstreamBatchMemOpParams, CUuuid, CUDA_MEMCPY2D, CUDA_MEMCPY3D,
};
use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};

/// A `CUresult` as the library returns it.
pub type CuResult = c_uint;
pub const CUDA_SUCCESS: CuResult = cudaError_enum::CUDA_SUCCESS as CuResult;
pub const CUDA_ERROR_INVALID_VALUE: CuResult = cudaError_enum::CUDA_ERROR_INVALID_VALUE as CuResult;
pub const CUDA_ERROR_OUT_OF_MEMORY: CuResult = cudaError_enum::CUDA_ERROR_OUT_OF_MEMORY as CuResult;
pub const CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED: CuResult =
    cudaError_enum::CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED as CuResult;
pub const CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED: CuResult =
    cudaError_enum::CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED as CuResult;

macro_rules! cuda_api {
    ($($field:ident = $symbol:literal: fn($($arg:ty),*);)*) => {
        pub struct Cuda {
            /// Keeps the library mapped while the table is in use (for the process).
            _library: Library,
            $(pub $field: unsafe extern "C" fn($($arg),*) -> CuResult,)*
        }

        impl Cuda {
            /// Opens `path` (normally `libcuda.so.1`) and resolves every entry point.
            pub fn open(path: &str) -> Result<Cuda, String> {
                // SAFETY: loading the NVIDIA driver library runs its initialisers only.
                let library = unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }
                    .map_err(|error| format!("cannot load {path}: {error}"))?;
                $(
                    // SAFETY: the symbol is the CUDA driver API function of that
                    // name, whose C signature is the one declared here.
                    let $field = unsafe {
                        *library
                            .get::<unsafe extern "C" fn($($arg),*) -> CuResult>(concat!($symbol, "\0").as_bytes())
                            .map_err(|error| format!("{path} lacks {}: {error}", $symbol))?
                    };
                )*
                Ok(Cuda { _library: library, $($field,)* })
            }
        }
    };
}

cuda_api! {
    init = "cuInit": fn(c_uint);
    device_get_count = "cuDeviceGetCount": fn(*mut c_int);
    device_get = "cuDeviceGet": fn(*mut CUdevice, c_int);
    device_get_name = "cuDeviceGetName": fn(*mut c_char, c_int, CUdevice);
    device_get_uuid = "cuDeviceGetUuid_v2": fn(*mut CUuuid, CUdevice);
    device_total_mem = "cuDeviceTotalMem_v2": fn(*mut usize, CUdevice);
    device_get_attribute = "cuDeviceGetAttribute": fn(*mut c_int, c_int, CUdevice);
    primary_context_retain = "cuDevicePrimaryCtxRetain": fn(*mut CUcontext, CUdevice);
    device_can_access_peer = "cuDeviceCanAccessPeer": fn(*mut c_int, CUdevice, CUdevice);
    context_enable_peer_access = "cuCtxEnablePeerAccess": fn(CUcontext, c_uint);
    context_get_current = "cuCtxGetCurrent": fn(*mut CUcontext);
    context_set_current = "cuCtxSetCurrent": fn(CUcontext);
    context_synchronize = "cuCtxSynchronize": fn();
    mem_alloc = "cuMemAlloc_v2": fn(*mut CUdeviceptr, usize);
    mem_free = "cuMemFree_v2": fn(CUdeviceptr);
    mem_host_alloc = "cuMemHostAlloc": fn(*mut *mut c_void, usize, c_uint);
    mem_free_host = "cuMemFreeHost": fn(*mut c_void);
    mem_alloc_managed = "cuMemAllocManaged": fn(*mut CUdeviceptr, usize, c_uint);
    mem_host_get_device_pointer = "cuMemHostGetDevicePointer_v2": fn(*mut CUdeviceptr, *mut c_void, c_uint);
    mem_host_register = "cuMemHostRegister_v2": fn(*mut c_void, usize, c_uint);
    mem_host_unregister = "cuMemHostUnregister": fn(*mut c_void);
    stream_create = "cuStreamCreate": fn(*mut CUstream, c_uint);
    stream_destroy = "cuStreamDestroy_v2": fn(CUstream);
    stream_synchronize = "cuStreamSynchronize": fn(CUstream);
    stream_query = "cuStreamQuery": fn(CUstream);
    launch_host_func = "cuLaunchHostFunc": fn(CUstream, CUhostFn, *mut c_void);
    pointer_get_attribute = "cuPointerGetAttribute": fn(*mut c_void, c_int, CUdeviceptr);
    memcpy_async = "cuMemcpyAsync": fn(CUdeviceptr, CUdeviceptr, usize, CUstream);
    memcpy_2d_async = "cuMemcpy2DAsync_v2": fn(*const CUDA_MEMCPY2D, CUstream);
    memcpy_3d_async = "cuMemcpy3DAsync_v2": fn(*const CUDA_MEMCPY3D, CUstream);
    memset_d8_async = "cuMemsetD8Async": fn(CUdeviceptr, u8, usize, CUstream);
    memset_d16_async = "cuMemsetD16Async": fn(CUdeviceptr, u16, usize, CUstream);
    memset_d32_async = "cuMemsetD32Async": fn(CUdeviceptr, u32, usize, CUstream);
    stream_write_value32 = "cuStreamWriteValue32_v2": fn(CUstream, CUdeviceptr, u32, c_uint);
    stream_write_value64 = "cuStreamWriteValue64_v2": fn(CUstream, CUdeviceptr, u64, c_uint);
    stream_wait_value32 = "cuStreamWaitValue32_v2": fn(CUstream, CUdeviceptr, u32, c_uint);
    stream_batch_mem_op = "cuStreamBatchMemOp_v2": fn(CUstream, c_uint, *mut CUstreamBatchMemOpParams, c_uint);
}
