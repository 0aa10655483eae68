/* The part of CUDA's cuda.h that bench/gpu_bench.c uses, with cuda.h's types
 * and values, so that cuda-model-check builds the GPU benchmark against the
 * CUDA model (driver/cuda_model/cuda_model.c, which defines these calls) and
 * runs it once: its mistakes show before a GPU run. Never used where CUDA is
 * installed: gpu/gpu.mk builds gpu_bench against CUDA's own header. */
#ifndef SWZE_CUDA_MODEL_CUDA_H
#define SWZE_CUDA_MODEL_CUDA_H

#include <stddef.h>

typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef struct CUstream_st *CUstream;
typedef unsigned long long CUdeviceptr;

#define CUDA_SUCCESS 0
#define CU_STREAM_NON_BLOCKING 0x1
#define CU_MEMHOSTALLOC_PORTABLE 0x01
#define CU_MEMHOSTALLOC_DEVICEMAP 0x02

/* cuda.h names the versioned entry points so. */
#define cuMemAlloc cuMemAlloc_v2
#define cuMemHostGetDevicePointer cuMemHostGetDevicePointer_v2
#define cuMemcpyHtoDAsync cuMemcpyHtoDAsync_v2
#define cuStreamWriteValue32 cuStreamWriteValue32_v2

CUresult cuInit(unsigned int flags);
CUresult cuDeviceGet(CUdevice *device, int ordinal);
CUresult cuDevicePrimaryCtxRetain(CUcontext *context, CUdevice device);
CUresult cuCtxSetCurrent(CUcontext context);
CUresult cuStreamCreate(CUstream *stream, unsigned int flags);
CUresult cuStreamSynchronize(CUstream stream);
CUresult cuMemHostAlloc(void **pointer, size_t size, unsigned int flags);
CUresult cuMemAlloc(CUdeviceptr *pointer, size_t size);
CUresult cuMemHostGetDevicePointer(CUdeviceptr *device, void *host, unsigned int flags);
CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t size, CUstream stream);
CUresult cuMemcpyHtoDAsync(CUdeviceptr dst, const void *src, size_t size, CUstream stream);
CUresult cuStreamWriteValue32(CUstream stream, CUdeviceptr address, unsigned int value, unsigned int flags);

#endif
