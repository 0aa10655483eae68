/* The library beside raw CUDA on one GPU, in one process (SWZE_BACKEND=cuda):
 *   - 64 MiB host->device and device->host through one dma request, from
 *     zeMemAllocHost memory and from malloc memory, against cuMemcpyAsync +
 *     cuStreamSynchronize on the same kind of buffer (cuMemHostAlloc pinned
 *     memory; the same malloc buffer);
 *   - 64 MiB each way through the dma from and to malloc memory left as it
 *     is, malloc memory prepared with aml_dma_ze_host_prepare (on the cuda
 *     backend: cuMemHostRegister'd) and zeMemAllocHost memory, the three
 *     taking turns in each round: rates, and the medians of the paired
 *     ratios prepared / pinned and prepared / unprepared, with the time
 *     prepare and release take; then the prepared buffers through the dma
 *     against raw CUDA on the same (registered) buffers (`registered64m`);
 *   - a synchronous 64 B request against a raw CUDA round trip (async copy,
 *     cuStreamWriteValue32 to a pinned word, host poll);
 *   - 1000 requests of 64 B without a handle, then a barrier, against raw
 *     CUDA's copy-only loop: 1000 cuMemcpyHtoDAsync, then one synchronize
 *     (the rate at which the copy engine takes small copies);
 *   - the same two latency cases through the library's fast path (in-order
 *     lists, counter-based events: the dma of every other case) against its
 *     path for drivers without them (a second dma made with
 *     AML_DMA_ZE_COUNTER_EVENTS=0), paired rounds in turn.
 * Runs of the two sides alternate; a figure is the median of paired ratios
 * (bandwidth: ours / CUDA, latency: ours / CUDA). The request against the raw
 * Level Zero floor on the same driver is the main bench's sync64 case.
 * A benchmark: prints figures, asserts only that calls succeed and one copy
 * of each kind arrives intact. Built and run by `make bench-gpu`. */
#include <aml/dma/ze.h>

#include "harness/cuda_context.h"
#include "harness/ze.h"

#define ROUNDS 11
#define BIG ((size_t)64 << 20)
#define SMALL 64
#define SMALL_PER_RUN 2000
#define BATCH 1000
#define BATCH_ROUNDS 21

/* Paired rounds of a latency case: ns per operation, ours and theirs, and
 * ours / theirs, a round at a time. */
struct paired {
	double ours[BATCH_ROUNDS], theirs[BATCH_ROUNDS], ratio[BATCH_ROUNDS];
	int n;
};

static void paired_add(struct paired *p, double ours_s, double theirs_s)
{
	p->ours[p->n] = ours_s * 1e9;
	p->theirs[p->n] = theirs_s * 1e9;
	p->ratio[p->n] = ours_s / theirs_s;
	p->n++;
}

static struct aml_dma *dma;
static CUstream stream;

static void dma_copy_on(struct aml_dma *on, void *dst, void *src, size_t size)
{
	struct aml_dma_request *req = NULL;
	AML(on->ops->create_request(on->data, &req, (struct aml_layout *)dst, (struct aml_layout *)src,
	                            aml_dma_ze_memcpy_op, (void *)size));
	AML(on->ops->wait_request(on->data, &req));
}

static void dma_copy(void *dst, void *src, size_t size)
{
	dma_copy_on(dma, dst, src, size);
}

static void cuda_copy(void *dst, const void *src, size_t size)
{
	CU(cuMemcpyAsync((CUdeviceptr)dst, (CUdeviceptr)src, size, stream));
	CU(cuStreamSynchronize(stream));
}

static double seconds_dma(void *dst, void *src, size_t size)
{
	double start = bench_now();
	dma_copy(dst, src, size);
	return bench_now() - start;
}

static double seconds_cuda(void *dst, void *src, size_t size)
{
	double start = bench_now();
	cuda_copy(dst, src, size);
	return bench_now() - start;
}

/* 64 MiB one way through the dma from (to_device) or to host memory of three
 * kinds, in turns within each round (the first kind moving each round):
 * malloc'd unprepared, malloc'd prepared, pinned. Rates and paired ratios. */
static void prepared_case(const char *way, int to_device, void *device, void *unprepared, void *prepared,
                          void *pinned)
{
	void *hosts[3] = {unprepared, prepared, pinned};
	double rate[3][ROUNDS], vs_pinned[ROUNDS], vs_unprepared[ROUNDS];
	for (int r = -1; r < ROUNDS; r++) {
		double seconds[3];
		for (int k = 0; k < 3; k++) {
			int kind = (k + (r < 0 ? 0 : r)) % 3;
			void *host = hosts[kind];
			seconds[kind] = to_device ? seconds_dma(device, host, BIG) : seconds_dma(host, device, BIG);
		}
		if (r < 0)
			continue; /* warm-up */
		for (int kind = 0; kind < 3; kind++)
			rate[kind][r] = BIG / seconds[kind] / 1e9;
		vs_pinned[r] = seconds[2] / seconds[1];
		vs_unprepared[r] = seconds[0] / seconds[1];
	}
	printf("figure gpu_%s_unprepared64m_dma_gbps %.2f\n", way, bench_median(rate[0], ROUNDS));
	printf("figure gpu_%s_prepared64m_dma_gbps %.2f\n", way, bench_median(rate[1], ROUNDS));
	printf("figure gpu_%s_pinned64m_dma_gbps %.2f\n", way, bench_median(rate[2], ROUNDS));
	printf("figure gpu_%s_prepared_vs_pinned %.3f   (target >= 0.95; median of %d paired rounds)\n", way,
	       bench_median(vs_pinned, ROUNDS), ROUNDS);
	printf("figure gpu_%s_prepared_vs_unprepared %.2f   (target >= 3; median of %d paired rounds)\n", way,
	       bench_median(vs_unprepared, ROUNDS), ROUNDS);
}

/* One bandwidth case: ROUNDS paired runs, figures in GB/s and the ratio. */
static void bandwidth_case(const char *name, void *dma_dst, void *dma_src, void *cuda_dst, void *cuda_src)
{
	double ours[ROUNDS], theirs[ROUNDS], ratio[ROUNDS];
	seconds_dma(dma_dst, dma_src, BIG);
	seconds_cuda(cuda_dst, cuda_src, BIG);
	for (int r = 0; r < ROUNDS; r++) {
		double a = seconds_dma(dma_dst, dma_src, BIG);
		double b = seconds_cuda(cuda_dst, cuda_src, BIG);
		ours[r] = BIG / a / 1e9;
		theirs[r] = BIG / b / 1e9;
		ratio[r] = b / a;
	}
	printf("figure gpu_%s_dma_gbps %.2f\n", name, bench_median(ours, ROUNDS));
	printf("figure gpu_%s_cuda_gbps %.2f\n", name, bench_median(theirs, ROUNDS));
	printf("figure gpu_%s_ratio_vs_cuda %.3f\n", name, bench_median(ratio, ROUNDS));
}

static void check_bytes(const char *what, const unsigned char *a, const unsigned char *b, size_t size)
{
	if (memcmp(a, b, size) != 0) {
		fprintf(stderr, "gpu_bench: %s: bytes differ\n", what);
		exit(1);
	}
}

/* 64 B round trips: one sync request against raw CUDA copy + word + poll. */
static void sync64_case(void *ze_device, void *ze_host, CUdeviceptr cu_device_memory, void *cu_host)
{
	void *word;
	CU(cuMemHostAlloc(&word, 64, CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP));
	volatile uint32_t *flag = word;
	*flag = 0;
	CUdeviceptr word_device;
	CU(cuMemHostGetDevicePointer(&word_device, word, 0));
	uint32_t sequence = 0;
	struct paired p = {.n = 0};
	for (int r = -1; r < ROUNDS; r++) {
		double start = bench_now();
		for (int i = 0; i < SMALL_PER_RUN; i++)
			dma_copy(ze_device, ze_host, SMALL);
		double a = (bench_now() - start) / SMALL_PER_RUN;
		start = bench_now();
		for (int i = 0; i < SMALL_PER_RUN; i++) {
			uint32_t target = ++sequence;
			CU(cuMemcpyHtoDAsync(cu_device_memory, cu_host, SMALL, stream));
			CU(cuStreamWriteValue32(stream, word_device, target, 0));
			while (*flag != target)
				;
		}
		double b = (bench_now() - start) / SMALL_PER_RUN;
		if (r >= 0) /* else warm-up */
			paired_add(&p, a, b);
	}
	printf("figure gpu_sync64_dma_ns %.0f\n", bench_median(p.ours, ROUNDS));
	printf("figure gpu_sync64_cuda_ns %.0f\n", bench_median(p.theirs, ROUNDS));
	printf("figure gpu_sync64_ratio_vs_cuda %.3f\n", bench_median(p.ratio, ROUNDS));
}

/* Small copies back to back: nothing signals until the barrier. The two
 * sides take turns going first so neither always finds the engine idle. */
static void ff64_case(void *ze_device, void *ze_host, CUdeviceptr cu_device_memory, void *cu_host)
{
	struct paired p = {.n = 0};
	for (int r = -1; r < BATCH_ROUNDS; r++) {
		double a = 0, b = 0;
		for (int side = 0; side < 2; side++) {
			double start = bench_now();
			if ((side == 0) == (r % 2 == 0)) {
				for (int i = 0; i < BATCH; i++)
					AML(dma->ops->create_request(dma->data, NULL, (struct aml_layout *)ze_device,
					                             (struct aml_layout *)ze_host, aml_dma_ze_memcpy_op,
					                             (void *)(uintptr_t)SMALL));
				AML(dma->ops->barrier(dma->data));
				a = (bench_now() - start) / BATCH;
			} else {
				for (int i = 0; i < BATCH; i++)
					CU(cuMemcpyHtoDAsync(cu_device_memory, cu_host, SMALL, stream));
				CU(cuStreamSynchronize(stream));
				b = (bench_now() - start) / BATCH;
			}
		}
		if (r >= 0) /* else warm-up */
			paired_add(&p, a, b);
	}
	printf("figure gpu_ff64_dma_ns %.0f\n", bench_median(p.ours, BATCH_ROUNDS));
	printf("figure gpu_ff64_cuda_copy_only_ns %.0f\n", bench_median(p.theirs, BATCH_ROUNDS));
	printf("figure gpu_ff64_ratio_vs_cuda_copy_only %.3f   (target <= 1.15; median of %d paired rounds of %d)\n",
	       bench_median(p.ratio, BATCH_ROUNDS), BATCH_ROUNDS, BATCH);
}

/* Seconds per request of SMALL_PER_RUN synchronous requests, or of BATCH
 * requests without a handle and a barrier, on `on`. */
static double small_requests(struct aml_dma *on, int synchronous, void *ze_device, void *ze_host)
{
	double start = bench_now();
	if (synchronous) {
		for (int i = 0; i < SMALL_PER_RUN; i++)
			dma_copy_on(on, ze_device, ze_host, SMALL);
		return (bench_now() - start) / SMALL_PER_RUN;
	}
	for (int i = 0; i < BATCH; i++)
		AML(on->ops->create_request(on->data, NULL, (struct aml_layout *)ze_device, (struct aml_layout *)ze_host,
		                            aml_dma_ze_memcpy_op, (void *)(uintptr_t)SMALL));
	AML(on->ops->barrier(on->data));
	return (bench_now() - start) / BATCH;
}

/* The fast path (`dma`) against the path for drivers without counter-based
 * events (`fenced`), each latency case in paired rounds, taking turns first. */
static void fast_path_cases(struct aml_dma *fenced, void *ze_device, void *ze_host)
{
	static const char *const names[2] = {"ff64", "sync64"};
	for (int synchronous = 0; synchronous < 2; synchronous++) {
		struct paired p = {.n = 0};
		for (int r = -1; r < BATCH_ROUNDS; r++) {
			double fast = 0, slow = 0;
			for (int side = 0; side < 2; side++) {
				if ((side == 0) == (r % 2 == 0))
					fast = small_requests(dma, synchronous, ze_device, ze_host);
				else
					slow = small_requests(fenced, synchronous, ze_device, ze_host);
			}
			if (r >= 0) /* else warm-up */
				paired_add(&p, fast, slow);
		}
		printf("figure gpu_%s_fast_path_ns %.0f\n", names[synchronous], bench_median(p.ours, BATCH_ROUNDS));
		printf("figure gpu_%s_fenced_path_ns %.0f\n", names[synchronous], bench_median(p.theirs, BATCH_ROUNDS));
		printf("figure gpu_%s_fast_vs_fenced %.3f   (target <= 1.0; median of %d paired rounds)\n", names[synchronous],
		       bench_median(p.ratio, BATCH_ROUNDS), BATCH_ROUNDS);
	}
}

/* Malloc'd memory prepared with aml_dma_ze_host_prepare beside malloc'd
 * memory as it is and pinned memory, through the dma alone, then the
 * prepared buffers through raw CUDA; the time prepare and release take.
 * Its own buffers: `plain` stays unprepared. */
static void prepared_cases(void *ze_device, void *ze_host, void *ze_back, unsigned char *plain,
                           unsigned char *plain_back, void *cu_dev)
{
	unsigned char *ready = bench_malloc(BIG), *ready_back = bench_malloc(BIG);
	memcpy(ready, plain, BIG);
	memset(ready_back, 0, BIG);
	double prepare_start = bench_now();
	AML(aml_dma_ze_host_prepare(dma, ready, BIG));
	double prepare_ms = (bench_now() - prepare_start) * 1e3;
	AML(aml_dma_ze_host_prepare(dma, ready_back, BIG));
	dma_copy(ze_device, ready, BIG);
	dma_copy(ready_back, ze_device, BIG);
	check_bytes("prepared round trip", ready, ready_back, BIG);
	printf("gpu_bench: prepared 64 MiB round trip verified; the driver %s\n",
	       aml_dma_ze_host_imports(dma) == 1 ? "imports host ranges" : "has no host-pointer import");
	prepared_case("h2d", 1, ze_device, plain, ready, ze_host);
	prepared_case("d2h", 0, ze_device, plain_back, ready_back, ze_back);
	/* The same prepared buffers through raw CUDA: swze registered them in
	 * the primary context, which this program shares. */
	bandwidth_case("h2d_registered64m", ze_device, ready, cu_dev, ready);
	bandwidth_case("d2h_registered64m", ready_back, ze_device, ready_back, cu_dev);
	double release_start = bench_now();
	AML(aml_dma_ze_host_release(dma, ready));
	double release_ms = (bench_now() - release_start) * 1e3;
	AML(aml_dma_ze_host_release(dma, ready_back));
	printf("figure gpu_host_prepare64m_ms %.3f\n", prepare_ms);
	printf("figure gpu_host_release64m_ms %.3f\n", release_ms);
	free(ready);
	free(ready_back);
}

int main(void)
{
	struct bench_ze ze;
	bench_ze_open(&ze, 1);
	AML(aml_dma_ze_create(&dma, ze.device, 1, 0));

	void *ze_host = bench_host_alloc(ze.context, BIG, 0);
	void *ze_back = bench_host_alloc(ze.context, BIG, 0);
	void *ze_device = bench_device_alloc(ze.context, ze.device, BIG, 0);
	unsigned char *plain = bench_malloc(BIG), *plain_back = bench_malloc(BIG);
	for (size_t i = 0; i < BIG; i++)
		plain[i] = ((unsigned char *)ze_host)[i] = (unsigned char)(i * 7 + 1);

	CUcontext cu_context;
	bench_cuda_open(&cu_context);
	stream = bench_cuda_stream();
	void *cu_host, *cu_back;
	CUdeviceptr cu_device_memory;
	CU(cuMemHostAlloc(&cu_host, BIG, CU_MEMHOSTALLOC_PORTABLE));
	CU(cuMemHostAlloc(&cu_back, BIG, CU_MEMHOSTALLOC_PORTABLE));
	CU(cuMemAlloc(&cu_device_memory, BIG));
	void *cu_dev = (void *)cu_device_memory;

	/* One verified round trip of each kind before timing. */
	dma_copy(ze_device, ze_host, BIG);
	dma_copy(ze_back, ze_device, BIG);
	check_bytes("pinned round trip", ze_host, ze_back, BIG);
	dma_copy(ze_device, plain, BIG);
	dma_copy(plain_back, ze_device, BIG);
	check_bytes("malloc round trip", plain, plain_back, BIG);
	printf("gpu_bench: 64 MiB round trips verified (zeMemAllocHost and malloc)\n");

	bandwidth_case("h2d_pinned64m", ze_device, ze_host, cu_dev, cu_host);
	bandwidth_case("d2h_pinned64m", ze_back, ze_device, cu_back, cu_dev);
	bandwidth_case("h2d_malloc64m", ze_device, plain, cu_dev, plain);
	bandwidth_case("d2h_malloc64m", plain_back, ze_device, plain_back, cu_dev);
	prepared_cases(ze_device, ze_host, ze_back, plain, plain_back, cu_dev);
	sync64_case(ze_device, ze_host, cu_device_memory, cu_host);
	ff64_case(ze_device, ze_host, cu_device_memory, cu_host);

	/* The variable is read at each create: this dma alone takes the path of
	 * drivers without counter-based events. */
	struct aml_dma *fenced = NULL;
	setenv("AML_DMA_ZE_COUNTER_EVENTS", "0", 1);
	AML(aml_dma_ze_create(&fenced, ze.device, 1, 0));
	unsetenv("AML_DMA_ZE_COUNTER_EVENTS");
	fast_path_cases(fenced, ze_device, ze_host);
	AML(aml_dma_ze_destroy(&fenced));

	AML(aml_dma_ze_destroy(&dma));
	ZE(zeMemFree(ze.context, ze_host));
	ZE(zeMemFree(ze.context, ze_back));
	ZE(zeMemFree(ze.context, ze_device));
	bench_ze_close(&ze);
	return 0;
}
