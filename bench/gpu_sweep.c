/*
 * The raw CUDA rows of the bandwidth sweep (bench/sweep.c has the Level Zero
 * ones): 64 B to 256 MiB, host->device with cuMemcpyHtoDAsync on one stream,
 * device->host with cuMemcpyDtoHAsync on another, each followed by
 * cuStreamSynchronize; both ways at once issue one copy on each stream, then
 * synchronize both. Host memory is pinned (cuMemHostAlloc), as swze's cuda
 * backend gives zeMemAllocHost; each way has its own buffers, as in sweep.c.
 * The same sizes, timing and CSV (bench/sweep.h), implementation `raw_cuda`,
 * backend `cuda` unless --backend says otherwise.
 *
 *   gpu_sweep [--csv FILE] [--backend NAME] [--target-ms MS] [--max-bytes N]
 *
 * A benchmark: prints figures, asserts only that calls succeed and that a
 * round trip through each stream brings the bytes back. Built and run by
 * `make bench-gpu` on the GPU machine.
 */
#include "harness/cuda_context.h"
#include "harness/sweep.h"

/* Side 0 moves host->device, side 1 device->host, each on its own stream. */
static CUstream streams[2];
static unsigned char *host[2];
static CUdeviceptr device[2];

static void start(int side, size_t bytes)
{
	if (side == 0)
		CU(cuMemcpyHtoDAsync(device[0], host[0], bytes, streams[0]));
	else
		CU(cuMemcpyDtoHAsync(host[1], device[1], bytes, streams[1]));
}

static void cuda_copy(void *state, enum sweep_direction d, size_t bytes)
{
	(void)state;
	for (int i = 0; i < 2; i++)
		if (d == SWEEP_BOTH || (int)d == i)
			start(i, bytes);
	for (int i = 0; i < 2; i++)
		if (d == SWEEP_BOTH || (int)d == i)
			CU(cuStreamSynchronize(streams[i]));
}

/* Host buffer -> device buffer -> the host buffer's other half, on the side's stream. */
static void round_trip_check(int side, size_t half)
{
	for (size_t i = 0; i < half; i++)
		host[side][i] = (unsigned char)(i * 7 + 1);
	memset(host[side] + half, 0, half);
	CU(cuMemcpyHtoDAsync(device[side], host[side], half, streams[side]));
	CU(cuMemcpyDtoHAsync(host[side] + half, device[side], half, streams[side]));
	CU(cuStreamSynchronize(streams[side]));
	if (memcmp(host[side], host[side] + half, half) != 0) {
		fprintf(stderr, "gpu_sweep: round trip of %zu bytes came back different\n", half);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct sweep_options o = {.backend = "cuda", .target_s = 0.03, .max_bytes = SWEEP_MAX_BYTES};
	if (sweep_parse(argc, argv, 1, &o) != argc || o.max_bytes < SWEEP_MIN_BYTES || o.target_s <= 0) {
		fprintf(stderr, "usage: gpu_sweep [--csv FILE] [--backend NAME] [--target-ms MS] [--max-bytes N]\n");
		return 2;
	}
	size_t top = sweep_top(&o);

	/* The primary context, as swze's cuda backend uses. */
	CUcontext context;
	CUdevice cu_device = bench_cuda_open(&context);
	for (int i = 0; i < 2; i++) {
		streams[i] = bench_cuda_stream();
		void *p;
		CU(cuMemHostAlloc(&p, top, CU_MEMHOSTALLOC_PORTABLE));
		host[i] = p;
		CU(cuMemAlloc(&device[i], top));
		round_trip_check(i, top / 2);
	}
	printf("gpu_sweep: raw_cuda, %.0f ms per point; round trips of %zu bytes verified\n", o.target_s * 1e3, top / 2);

	struct sweep_impl impl = {"raw_cuda", cuda_copy, NULL};
	sweep_run(&o, &impl, 1);

	for (int i = 0; i < 2; i++) {
		CU(cuMemFreeHost(host[i]));
		CU(cuMemFree(device[i]));
		CU(cuStreamDestroy(streams[i]));
	}
	CU(cuDevicePrimaryCtxRelease(cu_device));
	return 0;
}
