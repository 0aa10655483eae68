/* The cost of swze's Level Zero face on a GPU: a synchronous 64 B
 * host->device round trip through Level Zero (append copy signalling an
 * event, zeEventHostSynchronize, zeEventHostReset, all through the loader,
 * SWZE_BACKEND=cuda) against the same work in raw CUDA in the same process
 * (cuMemcpyHtoDAsync, cuStreamWriteValue32 to a pinned word, host poll).
 * Batches of the two alternate; the figure is the median of paired ratios.
 * A benchmark: prints figures, asserts only that every call succeeded. Built
 * and run by `make bench-gpu` on the GPU machine (needs cuda.h and libcuda). */
#include <cuda.h>
#include <level_zero/ze_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BATCHES 11
#define PER_BATCH 2000
#define BYTES 64

#define ZE(call) do { ze_result_t r_ = (call); if (r_ != ZE_RESULT_SUCCESS) { \
	fprintf(stderr, "%s failed: 0x%x\n", #call, r_); exit(1); } } while (0)
#define CU(call) do { CUresult r_ = (call); if (r_ != CUDA_SUCCESS) { \
	fprintf(stderr, "%s failed: %d\n", #call, r_); exit(1); } } while (0)

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof *v, compare);
	return v[n / 2];
}

struct ze_side {
	ze_command_list_handle_t list;
	ze_event_handle_t event;
	void *host, *device;
};

static void ze_setup(struct ze_side *z)
{
	ZE(zeInit(0));
	uint32_t n = 1;
	ze_driver_handle_t driver;
	ZE(zeDriverGet(&n, &driver));
	ze_device_handle_t device;
	n = 1;
	ZE(zeDeviceGet(driver, &n, &device));
	ze_context_desc_t cdesc = {.stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC};
	ze_context_handle_t context;
	ZE(zeContextCreate(driver, &cdesc, &context));
	ze_command_queue_desc_t qdesc = {.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
		.ordinal = 1, .mode = ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS};
	ZE(zeCommandListCreateImmediate(context, device, &qdesc, &z->list));
	ze_host_mem_alloc_desc_t hdesc = {.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC};
	ze_device_mem_alloc_desc_t ddesc = {.stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC};
	ZE(zeMemAllocHost(context, &hdesc, BYTES, 0, &z->host));
	ZE(zeMemAllocDevice(context, &ddesc, BYTES, 0, device, &z->device));
	ze_event_pool_desc_t pdesc = {.stype = ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
		.flags = ZE_EVENT_POOL_FLAG_HOST_VISIBLE, .count = 1};
	ze_event_pool_handle_t pool;
	ZE(zeEventPoolCreate(context, &pdesc, 1, &device, &pool));
	ze_event_desc_t edesc = {.stype = ZE_STRUCTURE_TYPE_EVENT_DESC,
		.signal = ZE_EVENT_SCOPE_FLAG_HOST, .wait = ZE_EVENT_SCOPE_FLAG_HOST};
	ZE(zeEventCreate(pool, &edesc, &z->event));
}

/* Host time spent handing work over (the append; the copy and the write),
 * per round trip, of the latest batch: the part of the round trip the host
 * pays before the device can start. */
static double handover_ns;

static double ze_batch(struct ze_side *z)
{
	double start = now_ns(), handover = 0;
	for (int i = 0; i < PER_BATCH; i++) {
		double before = now_ns();
		ZE(zeCommandListAppendMemoryCopy(z->list, z->device, z->host, BYTES, z->event, 0, NULL));
		handover += now_ns() - before;
		ZE(zeEventHostSynchronize(z->event, UINT64_MAX));
		ZE(zeEventHostReset(z->event));
	}
	handover_ns = handover / PER_BATCH;
	return (now_ns() - start) / PER_BATCH;
}

/* The raw CUDA side, in the plain shape (explicit direction, one 32-bit
 * write) and in the shapes of swze's choices, so the face's cost splits into
 * its parts: a unified cuMemcpyAsync (swze does not name the direction), the
 * one 64-bit write of a tagged signal, both (swze's stream work, with none of
 * its host bookkeeping), and the batch of two writes (progress word, then
 * the event) that swze made before tagged signals. */
enum cuda_shape { CUDA_PLAIN, CUDA_UNIFIED, CUDA_WRITE64, CUDA_AS_SWZE, CUDA_BATCH, CUDA_SHAPES };
static const char *const shape_names[CUDA_SHAPES] = {"plain", "unified_copy", "write64", "as_swze",
	"batch_of_two"};

struct cuda_side {
	CUstream stream;
	void *host;
	volatile uint32_t *word;
	CUdeviceptr device, word_device;
	uint32_t sequence;
};

static void cuda_setup(struct cuda_side *c)
{
	CUdevice device;
	CUcontext context;
	CU(cuInit(0));
	CU(cuDeviceGet(&device, 0));
	CU(cuDevicePrimaryCtxRetain(&context, device));
	CU(cuCtxSetCurrent(context));
	CU(cuStreamCreate(&c->stream, CU_STREAM_NON_BLOCKING));
	CU(cuMemHostAlloc(&c->host, BYTES, CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP));
	void *word;
	CU(cuMemHostAlloc(&word, 64, CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP));
	c->word = word;
	c->word[0] = c->word[1] = 0;
	CU(cuMemHostGetDevicePointer(&c->word_device, word, 0));
	CU(cuMemAlloc(&c->device, BYTES));
	c->sequence = 0;
}

static CUstreamBatchMemOpParams write_op(CUdeviceptr address, uint32_t value)
{
	CUstreamBatchMemOpParams op = {0};
	op.writeValue.operation = CU_STREAM_MEM_OP_WRITE_VALUE_32;
	op.writeValue.address = address;
	op.writeValue.value = value;
	return op;
}

static double cuda_batch(struct cuda_side *c, enum cuda_shape shape)
{
	int unified = shape == CUDA_UNIFIED || shape == CUDA_AS_SWZE;
	int batched = shape == CUDA_BATCH;
	int wide = shape == CUDA_WRITE64 || shape == CUDA_AS_SWZE;
	double start = now_ns(), handover = 0;
	for (int i = 0; i < PER_BATCH; i++) {
		uint32_t target = ++c->sequence;
		double before = now_ns();
		if (unified)
			CU(cuMemcpyAsync(c->device, (CUdeviceptr)c->host, BYTES, c->stream));
		else
			CU(cuMemcpyHtoDAsync(c->device, c->host, BYTES, c->stream));
		if (batched) {
			CUstreamBatchMemOpParams ops[2] = {write_op(c->word_device + 4, target),
				write_op(c->word_device, target)};
			CU(cuStreamBatchMemOp(c->stream, 2, ops, 0));
		} else if (wide) {
			CU(cuStreamWriteValue64(c->stream, c->word_device, (uint64_t)target << 32 | target, 0));
		} else {
			CU(cuStreamWriteValue32(c->stream, c->word_device, target, 0));
		}
		handover += now_ns() - before;
		while (c->word[0] != target)
			;
	}
	handover_ns = handover / PER_BATCH;
	return (now_ns() - start) / PER_BATCH;
}

int main(void)
{
	struct ze_side z;
	struct cuda_side c;
	ze_setup(&z);
	cuda_setup(&c);
	ze_batch(&z); /* warm every path */
	for (int shape = 0; shape < CUDA_SHAPES; shape++)
		cuda_batch(&c, shape);
	double ze_ns[BATCHES], cuda_ns[CUDA_SHAPES][BATCHES], ratio[CUDA_SHAPES][BATCHES];
	double ze_handover[BATCHES], cuda_handover[CUDA_SHAPES][BATCHES];
	for (int b = 0; b < BATCHES; b++) {
		ze_ns[b] = ze_batch(&z);
		ze_handover[b] = handover_ns;
		for (int shape = 0; shape < CUDA_SHAPES; shape++) {
			cuda_ns[shape][b] = cuda_batch(&c, shape);
			cuda_handover[shape][b] = handover_ns;
			ratio[shape][b] = ze_ns[b] / cuda_ns[shape][b];
		}
	}
	printf("figure gpu_ze_roundtrip64_ns %.0f\n", median(ze_ns, BATCHES));
	printf("figure gpu_cuda_roundtrip64_ns %.0f\n", median(cuda_ns[CUDA_PLAIN], BATCHES));
	printf("figure gpu_ze_face_ratio_vs_cuda %.3f   (target <= 1.05; median of %d paired batches of %d)\n",
	       median(ratio[CUDA_PLAIN], BATCHES), BATCHES, PER_BATCH);
	for (int shape = 1; shape < CUDA_SHAPES; shape++) {
		printf("figure gpu_cuda_%s_roundtrip64_ns %.0f   (ze / this %.3f)\n", shape_names[shape],
		       median(cuda_ns[shape], BATCHES), median(ratio[shape], BATCHES));
	}
	printf("figure gpu_ze_handover_ns %.0f   (host time in the append)\n", median(ze_handover, BATCHES));
	for (int shape = 0; shape < CUDA_SHAPES; shape++) {
		printf("figure gpu_cuda_%s_handover_ns %.0f\n", shape_names[shape], median(cuda_handover[shape], BATCHES));
	}
	return 0;
}
