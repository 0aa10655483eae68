/* What learning that a small copy finished costs on a GPU: 1000 host->device
 * copies of 64 B on one stream, then a synchronize, in raw CUDA for each way
 * a completion can be learned (nothing, a stream write after every copy or
 * every k-th, a CUDA event recorded per copy, a host function per copy), and
 * the same 1000 through swze's Level Zero face (appends with no signal
 * event, then a barrier signalling an event and a host synchronize), in one
 * process.
 *
 * Per case and round: issue = host time per copy spent in the calls (what
 * the host pays), completion = wall time from the first call until the
 * synchronize returned, per copy (what the GPU pays, once the host keeps
 * ahead). Cases alternate within each round; the figures are medians over
 * the rounds, ratios the medians of paired ratios to copy-only.
 *
 * libcuda is opened at run time, as swze's cuda backend opens it (the same
 * SWZE_CUDA_LIBRARY, default libcuda.so.1), with declarations of the calls
 * used (types as in cuda.h), so the program builds without CUDA's headers
 * and runs on the CUDA model too (driver/cuda_model/, a smoke run in
 * `make cuda-model-check`). GPU_SIGNALS_ROUNDS sets the rounds (default 21).
 * A benchmark: prints figures, asserts only that every call succeeded and
 * every completion was seen. Run by `make bench-gpu` on the GPU machine. */
#define _GNU_SOURCE
#include <dlfcn.h>

#include "harness/ze.h"

#define COPIES 1000
#define BYTES 64
#define MAX_ROUNDS 101

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef void (*CUhostFn)(void *);

enum { CUDA_SUCCESS = 0, CUDA_ERROR_NOT_READY = 600 };
enum { CU_STREAM_NON_BLOCKING = 1, CU_EVENT_DISABLE_TIMING = 2 };
enum { CU_MEMHOSTALLOC_PORTABLE = 1, CU_MEMHOSTALLOC_DEVICEMAP = 2 };

/* The CUDA calls used, by their exported names. */
static struct {
	CUresult (*init)(unsigned);
	CUresult (*device_get)(CUdevice *, int);
	CUresult (*primary_ctx_retain)(CUcontext *, CUdevice);
	CUresult (*ctx_set_current)(CUcontext);
	CUresult (*stream_create)(CUstream *, unsigned);
	CUresult (*stream_synchronize)(CUstream);
	CUresult (*mem_host_alloc)(void **, size_t, unsigned);
	CUresult (*mem_alloc)(CUdeviceptr *, size_t);
	CUresult (*mem_host_get_device_pointer)(CUdeviceptr *, void *, unsigned);
	CUresult (*memcpy_htod_async)(CUdeviceptr, const void *, size_t, CUstream);
	CUresult (*memcpy_async)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
	CUresult (*write_value32)(CUstream, CUdeviceptr, uint32_t, unsigned);
	CUresult (*write_value64)(CUstream, CUdeviceptr, uint64_t, unsigned);
	CUresult (*event_create)(CUevent *, unsigned);
	CUresult (*event_record)(CUevent, CUstream);
	CUresult (*event_query)(CUevent);
	CUresult (*event_synchronize)(CUevent);
	CUresult (*launch_host_func)(CUstream, CUhostFn, void *);
} cu;

static void resolve(void *library, void *field, size_t size, const char *name)
{
	void *symbol = dlsym(library, name);
	if (!symbol) {
		fprintf(stderr, "gpu_signals: the CUDA library lacks %s\n", name);
		exit(1);
	}
	memcpy(field, &symbol, size);
}

#define RESOLVE(field, name) resolve(library, &cu.field, sizeof cu.field, name)

static void open_cuda(void)
{
	const char *path = getenv("SWZE_CUDA_LIBRARY");
	if (!path || !*path)
		path = "libcuda.so.1";
	void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!library) {
		fprintf(stderr, "gpu_signals: cannot open %s: %s\n", path, dlerror());
		exit(1);
	}
	RESOLVE(init, "cuInit");
	RESOLVE(device_get, "cuDeviceGet");
	RESOLVE(primary_ctx_retain, "cuDevicePrimaryCtxRetain");
	RESOLVE(ctx_set_current, "cuCtxSetCurrent");
	RESOLVE(stream_create, "cuStreamCreate");
	RESOLVE(stream_synchronize, "cuStreamSynchronize");
	RESOLVE(mem_host_alloc, "cuMemHostAlloc");
	RESOLVE(mem_alloc, "cuMemAlloc_v2");
	RESOLVE(mem_host_get_device_pointer, "cuMemHostGetDevicePointer_v2");
	RESOLVE(memcpy_htod_async, "cuMemcpyHtoDAsync_v2");
	RESOLVE(memcpy_async, "cuMemcpyAsync");
	RESOLVE(write_value32, "cuStreamWriteValue32_v2");
	RESOLVE(write_value64, "cuStreamWriteValue64_v2");
	RESOLVE(event_create, "cuEventCreate");
	RESOLVE(event_record, "cuEventRecord");
	RESOLVE(event_query, "cuEventQuery");
	RESOLVE(event_synchronize, "cuEventSynchronize");
	RESOLVE(launch_host_func, "cuLaunchHostFunc");
}

/* Nanoseconds, as a double for the sums of a round. */
static double now_ns(void)
{
	return (double)bench_now_ns();
}

/* ---- raw CUDA ---- */

struct cuda_side {
	CUstream stream;
	unsigned char *host;
	CUdeviceptr device;
	volatile uint64_t *word; /* pinned, device-mapped */
	CUdeviceptr word_device;
	uint64_t written;
	CUevent events[COPIES];
};

static struct cuda_side raw;
static volatile unsigned long host_functions_ran;

static void count_host_function(void *data)
{
	(void)data;
	__atomic_fetch_add(&host_functions_ran, 1, __ATOMIC_RELEASE);
}

static void cuda_setup(void)
{
	CUdevice device;
	CUcontext context;
	CU(cu.init(0));
	CU(cu.device_get(&device, 0));
	CU(cu.primary_ctx_retain(&context, device));
	CU(cu.ctx_set_current(context));
	CU(cu.stream_create(&raw.stream, CU_STREAM_NON_BLOCKING));
	void *host, *word;
	CU(cu.mem_host_alloc(&host, COPIES * BYTES, CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP));
	CU(cu.mem_host_alloc(&word, 64, CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP));
	raw.host = host;
	raw.word = word;
	*raw.word = 0;
	CU(cu.mem_host_get_device_pointer(&raw.word_device, word, 0));
	CU(cu.mem_alloc(&raw.device, COPIES * BYTES));
	for (int i = 0; i < COPIES; i++)
		CU(cu.event_create(&raw.events[i], CU_EVENT_DISABLE_TIMING));
	memset(raw.host, 0x5a, COPIES * BYTES);
}

enum cuda_case {
	COPY_ONLY,
	UNIFIED_COPY_ONLY,
	WRITE64_EACH,
	WRITE32_EACH,
	WRITE64_EVERY_8,
	WRITE64_EVERY_64,
	EVENT_EACH,
	HOST_FUNCTION_EACH,
	CUDA_CASES
};

static const char *const cuda_case_names[CUDA_CASES] = {"copy_only", "unified_copy_only", "write64_each",
	"write32_each", "write64_every_8", "write64_every_64", "event_each", "host_function_each"};

static const char *const cuda_case_meaning[CUDA_CASES] = {
	"cuMemcpyHtoDAsync only",
	"cuMemcpyAsync on unified addresses only (swze's copy call)",
	"a 64-bit stream write after every copy (swze's signal shape)",
	"a 32-bit stream write after every copy (swze's old progress word)",
	"a 64-bit stream write after every 8th copy",
	"a 64-bit stream write after every 64th copy",
	"cuEventRecord after every copy, cuEventQuery of each at the end",
	"cuLaunchHostFunc after every copy",
};

/* Every how many copies the case writes the word (0: never). */
static int write_interval(enum cuda_case which)
{
	switch (which) {
	case WRITE64_EACH: case WRITE32_EACH: return 1;
	case WRITE64_EVERY_8: return 8;
	case WRITE64_EVERY_64: return 64;
	default: return 0;
	}
}

/* One round of one case: issue and completion time per copy. */
static void cuda_round(enum cuda_case which, double *issue_ns, double *completion_ns)
{
	unsigned long functions_before = host_functions_ran;
	double start = now_ns();
	for (int i = 0; i < COPIES; i++) {
		CUdeviceptr to = raw.device + (CUdeviceptr)i * BYTES;
		unsigned char *from = raw.host + (size_t)i * BYTES;
		if (which == UNIFIED_COPY_ONLY)
			CU(cu.memcpy_async(to, (CUdeviceptr)(uintptr_t)from, BYTES, raw.stream));
		else
			CU(cu.memcpy_htod_async(to, from, BYTES, raw.stream));
		int every = write_interval(which);
		if (every && (i + 1) % every == 0) {
			raw.written++;
			if (which == WRITE32_EACH)
				CU(cu.write_value32(raw.stream, raw.word_device, (uint32_t)raw.written, 0));
			else
				CU(cu.write_value64(raw.stream, raw.word_device, raw.written, 0));
		}
		if (which == EVENT_EACH)
			CU(cu.event_record(raw.events[i], raw.stream));
		if (which == HOST_FUNCTION_EACH)
			CU(cu.launch_host_func(raw.stream, count_host_function, NULL));
	}
	double issued = now_ns();
	CU(cu.stream_synchronize(raw.stream));
	if (which == EVENT_EACH) {
		CU(cu.event_synchronize(raw.events[COPIES - 1]));
		for (int i = 0; i < COPIES; i++)
			CU(cu.event_query(raw.events[i]));
	}
	double done = now_ns();
	/* A 32-bit write sets the low half of the (little-endian) word. */
	uint64_t mask = which == WRITE32_EACH ? UINT32_MAX : UINT64_MAX;
	if (write_interval(which) && (*raw.word & mask) != (raw.written & mask)) {
		fprintf(stderr, "gpu_signals: %s: the last stream write is not seen after the synchronize\n",
		        cuda_case_names[which]);
		exit(1);
	}
	if (which == HOST_FUNCTION_EACH &&
	    __atomic_load_n(&host_functions_ran, __ATOMIC_ACQUIRE) - functions_before != COPIES) {
		fprintf(stderr, "gpu_signals: not every host function ran before the synchronize returned\n");
		exit(1);
	}
	*issue_ns = (issued - start) / COPIES;
	*completion_ns = (done - start) / COPIES;
}

/* ---- the Level Zero face ---- */

struct ze_side {
	ze_command_list_handle_t list;
	ze_event_handle_t done;
	unsigned char *host, *device;
};

static struct ze_side face;

static void ze_setup(void)
{
	struct bench_ze ze;
	bench_ze_open(&ze, 1);
	face.list = bench_immediate_list(ze.context, ze.device, 1, 0, 0);
	face.host = bench_host_alloc(ze.context, COPIES * BYTES, 0);
	face.device = bench_device_alloc(ze.context, ze.device, COPIES * BYTES, 0);
	memset(face.host, 0xa5, COPIES * BYTES);
	struct bench_event e;
	bench_event_open(&e, ze.context, ze.device, ZE_EVENT_SCOPE_FLAG_HOST);
	face.done = e.event;
}

static void ze_round(double *issue_ns, double *completion_ns)
{
	double start = now_ns();
	for (int i = 0; i < COPIES; i++)
		ZE(zeCommandListAppendMemoryCopy(face.list, face.device + (size_t)i * BYTES, face.host + (size_t)i * BYTES,
		                                 BYTES, NULL, 0, NULL));
	ZE(zeCommandListAppendBarrier(face.list, face.done, 0, NULL));
	double issued = now_ns();
	ZE(zeEventHostSynchronize(face.done, UINT64_MAX));
	double done = now_ns();
	ZE(zeEventHostReset(face.done));
	*issue_ns = (issued - start) / COPIES;
	*completion_ns = (done - start) / COPIES;
}

int main(void)
{
	int rounds = 21;
	const char *asked = getenv("GPU_SIGNALS_ROUNDS");
	if (asked && atoi(asked) > 0)
		rounds = atoi(asked) < MAX_ROUNDS ? atoi(asked) : MAX_ROUNDS;
	open_cuda();
	ze_setup();
	cuda_setup();
	double issue[CUDA_CASES + 1][MAX_ROUNDS], completion[CUDA_CASES + 1][MAX_ROUNDS];
	double issue_ratio[CUDA_CASES + 1][MAX_ROUNDS], completion_ratio[CUDA_CASES + 1][MAX_ROUNDS];
	const int ze_case = CUDA_CASES;
	/* A warm-up round of every case, then the measured ones. */
	for (int round = -1; round < rounds; round++) {
		double round_issue[CUDA_CASES + 1], round_completion[CUDA_CASES + 1];
		for (int which = 0; which < CUDA_CASES; which++)
			cuda_round(which, &round_issue[which], &round_completion[which]);
		ze_round(&round_issue[ze_case], &round_completion[ze_case]);
		if (round < 0)
			continue;
		for (int which = 0; which <= ze_case; which++) {
			issue[which][round] = round_issue[which];
			completion[which][round] = round_completion[which];
			issue_ratio[which][round] = round_issue[which] / round_issue[COPY_ONLY];
			completion_ratio[which][round] = round_completion[which] / round_completion[COPY_ONLY];
		}
	}
	printf("%d copies of %d B host->device on one stream, then a synchronize; medians of %d rounds\n", COPIES, BYTES,
	       rounds);
	printf("issue: host time per copy in the calls; completion: wall time per copy until the synchronize returned\n");
	for (int which = 0; which <= ze_case; which++) {
		const char *name = which == ze_case ? "ze_face" : cuda_case_names[which];
		printf("figure gpu_small_%s_completion_ns %.0f   issue_ns %.0f   (/ copy_only: completion %.2f, issue %.2f)"
		       "   %s\n",
		       name, bench_median(completion[which], rounds), bench_median(issue[which], rounds),
		       bench_median(completion_ratio[which], rounds), bench_median(issue_ratio[which], rounds),
		       which == ze_case ? "swze: appends without a signal event, a barrier with one, host synchronize"
		                        : cuda_case_meaning[which]);
	}
	return 0;
}
