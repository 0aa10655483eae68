/* The cost of swze's Level Zero face on a GPU: a synchronous 64 B
 * host->device round trip through Level Zero (append copy signalling an
 * event, zeEventHostSynchronize, zeEventHostReset, all through the loader,
 * SWZE_BACKEND=cuda) against the same work in raw CUDA in the same process
 * (cuMemcpyHtoDAsync, cuStreamWriteValue32 to a pinned word, host poll).
 * Batches of the two alternate; the figure is the median of paired ratios.
 * Beside it, the same round trip on Intel's fast path (an in-order list, a
 * counter-based event, no reset) against the face's plain path: what the
 * driver alone makes of the two paths the library chooses between. 
 * A benchmark: prints figures, asserts only that every call succeeded. Built
 * and run by `make bench-gpu` on the GPU machine (needs cuda.h and libcuda). */
#include "harness/cuda_context.h"
#include "harness/ze.h"

#define BATCHES 11
#define PER_BATCH 2000
#define BYTES 64

/* Nanoseconds, as a double for the sums of a batch. */
static double now_ns(void)
{
	return (double)bench_now_ns();
}

struct ze_side {
	ze_command_list_handle_t list, in_order_list;
	ze_event_handle_t event, counter_event;
	void *host, *device;
};

static void ze_setup(struct ze_side *z)
{
	struct bench_ze ze;
	bench_ze_open(&ze, 1);
	z->list = bench_immediate_list(ze.context, ze.device, 1, 0, 0);
	z->host = bench_host_alloc(ze.context, BYTES, 0);
	z->device = bench_device_alloc(ze.context, ze.device, BYTES, 0);
	struct bench_event e;
	bench_event_open(&e, ze.context, ze.device, ZE_EVENT_SCOPE_FLAG_HOST);
	z->event = e.event;
	z->in_order_list = bench_immediate_list(ze.context, ze.device, 1, 0, BENCH_QUEUE_FLAG_IN_ORDER);
	bench_counter_event_open(&e, ze.context, ze.device, ZE_EVENT_SCOPE_FLAG_HOST);
	z->counter_event = e.event;
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

/* The same round trip on the fast path: no reset. */
static double ze_fast_batch(struct ze_side *z)
{
	double start = now_ns();
	for (int i = 0; i < PER_BATCH; i++) {
		ZE(zeCommandListAppendMemoryCopy(z->in_order_list, z->device, z->host, BYTES, z->counter_event, 0, NULL));
		ZE(zeEventHostSynchronize(z->counter_event, UINT64_MAX));
	}
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
	CUcontext context;
	bench_cuda_open(&context);
	c->stream = bench_cuda_stream();
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
	ze_fast_batch(&z);
	for (int shape = 0; shape < CUDA_SHAPES; shape++)
		cuda_batch(&c, shape);
	double ze_ns[BATCHES], cuda_ns[CUDA_SHAPES][BATCHES], ratio[CUDA_SHAPES][BATCHES];
	double ze_handover[BATCHES], cuda_handover[CUDA_SHAPES][BATCHES];
	double fast_ns[BATCHES], fast_ratio[BATCHES];
	for (int b = 0; b < BATCHES; b++) {
		/* The two Level Zero paths take turns going first. */
		if (b % 2)
			fast_ns[b] = ze_fast_batch(&z);
		ze_ns[b] = ze_batch(&z);
		ze_handover[b] = handover_ns;
		if (!(b % 2))
			fast_ns[b] = ze_fast_batch(&z);
		fast_ratio[b] = fast_ns[b] / ze_ns[b];
		for (int shape = 0; shape < CUDA_SHAPES; shape++) {
			cuda_ns[shape][b] = cuda_batch(&c, shape);
			cuda_handover[shape][b] = handover_ns;
			ratio[shape][b] = ze_ns[b] / cuda_ns[shape][b];
		}
	}
	printf("figure gpu_ze_roundtrip64_ns %.0f\n", bench_median(ze_ns, BATCHES));
	printf("figure gpu_cuda_roundtrip64_ns %.0f\n", bench_median(cuda_ns[CUDA_PLAIN], BATCHES));
	printf("figure gpu_ze_face_ratio_vs_cuda %.3f   (target <= 1.05; median of %d paired batches of %d)\n",
	       bench_median(ratio[CUDA_PLAIN], BATCHES), BATCHES, PER_BATCH);
	for (int shape = 1; shape < CUDA_SHAPES; shape++) {
		printf("figure gpu_cuda_%s_roundtrip64_ns %.0f   (ze / this %.3f)\n", shape_names[shape],
		       bench_median(cuda_ns[shape], BATCHES), bench_median(ratio[shape], BATCHES));
	}
	printf("figure gpu_ze_fast_path_roundtrip64_ns %.0f\n", bench_median(fast_ns, BATCHES));
	printf("figure gpu_ze_fast_path_vs_plain %.3f   (in-order list and counter-based event against "
	       "append, synchronize, reset; median of %d paired batches of %d)\n",
	       bench_median(fast_ratio, BATCHES), BATCHES, PER_BATCH);
	printf("figure gpu_ze_handover_ns %.0f   (host time in the append)\n", bench_median(ze_handover, BATCHES));
	for (int shape = 0; shape < CUDA_SHAPES; shape++) {
		printf("figure gpu_cuda_%s_handover_ns %.0f\n", shape_names[shape], bench_median(cuda_handover[shape], BATCHES));
	}
	return 0;
}
