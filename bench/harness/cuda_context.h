/* The benchmark harness: CUDA's side, for the programs built with CUDA's own
 * cuda.h (the real one on the GPU machine, driver/cuda_model/cuda.h on the
 * model): the primary context of device 0, current on this thread, as
 * swze's cuda backend uses it, and a non-blocking stream. */
#ifndef BENCH_HARNESS_CUDA_CONTEXT_H
#define BENCH_HARNESS_CUDA_CONTEXT_H

#include "harness.h"

#include <cuda.h>

static inline CUdevice bench_cuda_open(CUcontext *context)
{
	CUdevice device;
	CU(cuInit(0));
	CU(cuDeviceGet(&device, 0));
	CU(cuDevicePrimaryCtxRetain(context, device));
	CU(cuCtxSetCurrent(*context));
	return device;
}

static inline CUstream bench_cuda_stream(void)
{
	CUstream stream;
	CU(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));
	return stream;
}

#endif
