/* One dma over several queues (issue 11) against the single-queue dma, in
 * one run. Prints figures, asserts only that every call succeeded.
 *
 * cpu backend (default): a per-engine bandwidth cap B (swze_set_copy_bandwidth),
 *   dmas over k = 1 (index 0, today's dma), 2 and 4 queues of the copy group:
 *   64 MiB one way (ratio to k*B), and 16 requests of 8 MiB, half each way,
 *   in flight together (ratio to the single-queue dma); then, uncapped, the
 *   split threshold scan that chose AML_DMA_ZE_SPLIT_BYTES's default.
 * cuda backend (SWZE_BACKEND=cuda, `make bench-gpu`): 2 x 256 MiB at once,
 *   one each way, through the single-queue dma, a dma over 2 queues (split
 *   threshold as default and off), and raw CUDA on two streams (libcuda
 *   opened at run time); 64 MiB one way through the single-queue dma and a
 *   dma over 2 queues that only ever copies one way. Paired rounds. */
#define _GNU_SOURCE
#include <dlfcn.h>

#include <aml/dma/ze.h>

#include "harness/counters.h"
#include "harness/ze.h"

#define MiB ((size_t)1 << 20)
#define RUNS 5

static struct bench_ze ze;
static struct bench_swze swze;


/* A dma over `queues` queues of group `ordinal` (1: index 0 alone, as today). */
static struct aml_dma *make_dma(int ordinal, int queues, const char *split)
{
	struct aml_dma *dma = NULL;
	char n[16];
	snprintf(n, sizeof n, "%d", queues);
	if (queues > 1)
		setenv("AML_DMA_ZE_QUEUES", n, 1);
	if (split)
		setenv("AML_DMA_ZE_SPLIT_BYTES", split, 1);
	AML(aml_dma_ze_create(&dma, ze.device, ordinal, 0));
	unsetenv("AML_DMA_ZE_QUEUES");
	unsetenv("AML_DMA_ZE_SPLIT_BYTES");
	return dma;
}

/* Host memory of the session's context, its bytes set. */
static void *host_alloc(size_t size)
{
	void *p = bench_host_alloc(ze.context, size, 64);
	memset(p, 1, size);
	return p;
}

static void *device_alloc(size_t size)
{
	return bench_device_alloc(ze.context, ze.device, size, 64);
}

#define GPU_ROUNDS 9

/* `count` copies of `size` bytes, copy i from src[i % 2] to dst[i % 2]
 * (so alternating directions when the two pairs are opposite), each pair
 * `step` bytes further into the buffers than the one before (so that, with
 * `step` >= `size`, no copy touches another's bytes and none has to wait
 * for another), all in flight, then all waited. Returns GB/s (decimal) of
 * the whole. */
static double transfer_stepped(struct aml_dma *dma, int count, size_t size, size_t step, void *dst[2], void *src[2])
{
	struct aml_dma_request *req[64];
	double start = bench_now();
	for (int i = 0; i < count; i++)
		AML(aml_dma_ze_request_create(dma->data, &req[i], (void *)((char *)dst[i % 2] + (size_t)(i / 2) * step),
		                              (void *)((char *)src[i % 2] + (size_t)(i / 2) * step), aml_dma_ze_memcpy_op,
		                              (void *)size));
	for (int i = 0; i < count; i++)
		AML(aml_dma_ze_request_wait(dma->data, &req[i]));
	return (double)count * (double)size / (bench_now() - start) / 1e9;
}

/* A dependent pair: `size` bytes host -> device, then that device buffer
 * back to another host buffer, both made before either is waited on. The
 * bytes are checked (outside the timing): the second copy must see the
 * first's. Returns GB/s of both copies. */
static double dependent_pair(struct aml_dma *dma, size_t size, uint8_t *src, void *dev, uint8_t *back, uint8_t tag)
{
	struct aml_dma_request *first = NULL, *second = NULL;
	memset(src, tag, size);
	memset(back, (uint8_t)~tag, size);
	double start = bench_now();
	AML(aml_dma_ze_request_create(dma->data, &first, dev, (void *)src, aml_dma_ze_memcpy_op, (void *)size));
	AML(aml_dma_ze_request_create(dma->data, &second, (void *)back, dev, aml_dma_ze_memcpy_op, (void *)size));
	AML(aml_dma_ze_request_wait(dma->data, &first));
	AML(aml_dma_ze_request_wait(dma->data, &second));
	double rate = 2.0 * (double)size / (bench_now() - start) / 1e9;
	if (memcmp(src, back, size) != 0) {
		fprintf(stderr, "bench_queues: the dependent copy did not see the first one's bytes\n");
		exit(1);
	}
	return rate;
}

/* The dependent pair through a dma over every queue of the copy group and
 * through the single-queue dma, in paired rounds: being ordered must not
 * make the spread dma slower. */
static void dependent_pairs(size_t size, int rounds)
{
	uint8_t *src = host_alloc(size), *back = host_alloc(size);
	void *dev = device_alloc(size);
	struct aml_dma *single = make_dma(1, 1, NULL), *every = make_dma(1, 64, NULL);
	double s[GPU_ROUNDS], e[GPU_ROUNDS], ratio[GPU_ROUNDS];
	for (int round = -1; round < rounds; round++) {
		double a = dependent_pair(single, size, src, dev, back, (uint8_t)(2 * round + 3));
		double b = dependent_pair(every, size, src, dev, back, (uint8_t)(2 * round + 4));
		if (round < 0)
			continue;
		s[round] = a, e[round] = b, ratio[round] = b / a;
	}
	printf("  dependent pair, %zu MiB host -> device -> host, both in flight: single-queue %.3f GB/s, every queue %.3f GB/s\n",
	       size / MiB, bench_median(s, rounds), bench_median(e, rounds));
	printf("figure queues_dependent_pair_ratio_vs_single %.2f\n", bench_median(ratio, rounds));
	AML(aml_dma_ze_destroy(&single));
	AML(aml_dma_ze_destroy(&every));
	ZE(zeMemFree(ze.context, src));
	ZE(zeMemFree(ze.context, back));
	ZE(zeMemFree(ze.context, dev));
}

/* Copies that all touch the same bytes: one at a time is their meaning. */
static double transfer(struct aml_dma *dma, int count, size_t size, void *dst[2], void *src[2])
{
	return transfer_stepped(dma, count, size, 0, dst, src);
}

static double best_of(struct aml_dma *dma, int count, size_t size, size_t step, void *dst[2], void *src[2])
{
	double v[RUNS];
	transfer(dma, 1, size < MiB ? size : MiB, dst, src); /* warm: events exist */
	for (int r = 0; r < RUNS; r++)
		v[r] = transfer_stepped(dma, count, size, step, dst, src);
	return bench_median(v, RUNS);
}

static void cpu_cases(void)
{
	const uint64_t cap = (uint64_t)256 << 20; /* B, per engine */
	const double b = (double)cap / 1e9;
	size_t big = 64 * MiB;
	void *host = host_alloc(big), *dev = device_alloc(big);
	void *host_back = host_alloc(big), *dev_out = device_alloc(big);
	void *h2d_dst[2] = {dev, dev}, *h2d_src[2] = {host, host};
	/* Each way its own buffers, each copy its own 8 MiB of them: independent. */
	void *mix_dst[2] = {dev, host_back}, *mix_src[2] = {host, dev_out};
	double one_way[5] = {0}, mixed[5] = {0};

	printf("cpu backend, per-engine cap B = %.3f GB/s, copy group (ordinal 1)\n", b);
	swze.api.set_copy_bandwidth(cap);
	for (int k = 1; k <= 4; k *= 2) {
		struct aml_dma *dma = make_dma(1, k, NULL);
		one_way[k] = best_of(dma, 1, big, 0, h2d_dst, h2d_src);
		mixed[k] = best_of(dma, 16, 8 * MiB, 8 * MiB, mix_dst, mix_src);
		AML(aml_dma_ze_destroy(&dma));
		printf("  k=%d queues: 64 MiB one way %.3f GB/s (%.2f k*B)   16 x 8 MiB half each way %.3f GB/s (%.2fx single-queue)\n",
		       k, one_way[k], one_way[k] / (k * b), mixed[k], mixed[k] / mixed[1]);
	}
	for (int k = 2; k <= 4; k *= 2) {
		printf("figure queues_cpu_oneway64m_ratio_vs_kB_k%d %.2f\n", k, one_way[k] / (k * b));
		printf("figure queues_cpu_mixed_ratio_vs_single_k%d %.2f\n", k, mixed[k] / mixed[1]);
	}
	swze.api.set_copy_bandwidth(0);

	/* The threshold: a copy split over 7 idle engines against the same
	 * copy whole on one of them, uncapped (the split's own cost shows) and
	 * capped (what separate engines gain). */
	printf("split threshold scan, one copy at a time, 7 queues: time split / time whole (< 1: splitting pays)\n");
	for (int capped = 0; capped < 2; capped++) {
		swze.api.set_copy_bandwidth(capped ? cap : 0);
		printf("  %s:", capped ? "capped" : "uncapped");
		for (size_t size = 64 << 10; size <= (capped ? 4 * MiB : 64 * MiB); size *= 4) {
			struct aml_dma *split = make_dma(1, 7, "1"), *whole = make_dma(1, 7, "0");
			double s = best_of(split, 1, size, 0, h2d_dst, h2d_src);
			double w = best_of(whole, 1, size, 0, h2d_dst, h2d_src);
			printf(" %zuK %.2f", size >> 10, w / s);
			AML(aml_dma_ze_destroy(&split));
			AML(aml_dma_ze_destroy(&whole));
		}
		printf("\n");
	}
	swze.api.set_copy_bandwidth(0);
	ZE(zeMemFree(ze.context, host));
	ZE(zeMemFree(ze.context, dev));
	ZE(zeMemFree(ze.context, host_back));
	ZE(zeMemFree(ze.context, dev_out));
	swze.api.set_copy_bandwidth(cap);
	dependent_pairs(16 * MiB, 5);
	swze.api.set_copy_bandwidth(0);
}

/* Raw CUDA, opened at run time so that this file builds without CUDA. */
typedef int (*cu_fn)();
static cu_fn cu(void *lib, const char *name)
{
	cu_fn f = (cu_fn)dlsym(lib, name);
	if (!f) {
		fprintf(stderr, "bench_queues: no %s in libcuda\n", name);
		exit(1);
	}
	return f;
}

/* Raw CUDA both ways at once: one stream each way, on pinned device-mapped
 * buffers like zeMemAllocHost's, set up once. */
struct raw_cuda {
	void *lib;
	void *stream[2], *host[2];
	unsigned long long device[2];
	size_t size;
};

static int raw_cuda_open(struct raw_cuda *c, size_t size)
{
	c->lib = dlopen("libcuda.so.1", RTLD_NOW);
	if (!c->lib)
		return 0;
	int dev = 0;
	void *ctx = NULL;
	c->size = size;
	CU(cu(c->lib, "cuInit")(0));
	CU(cu(c->lib, "cuDeviceGet")(&dev, 0));
	CU(cu(c->lib, "cuDevicePrimaryCtxRetain")(&ctx, dev));
	CU(cu(c->lib, "cuCtxSetCurrent")(ctx));
	for (int i = 0; i < 2; i++) {
		CU(cu(c->lib, "cuStreamCreate")(&c->stream[i], 1u /* non-blocking */));
		CU(cu(c->lib, "cuMemHostAlloc")(&c->host[i], size, 1u | 2u /* portable, device-mapped */));
		CU(cu(c->lib, "cuMemAlloc_v2")(&c->device[i], size));
	}
	return 1;
}

static double raw_cuda_both_ways(struct raw_cuda *c)
{
	double start = bench_now();
	CU(cu(c->lib, "cuMemcpyHtoDAsync_v2")(c->device[0], c->host[0], c->size, c->stream[0]));
	CU(cu(c->lib, "cuMemcpyDtoHAsync_v2")(c->host[1], c->device[1], c->size, c->stream[1]));
	CU(cu(c->lib, "cuStreamSynchronize")(c->stream[0]));
	CU(cu(c->lib, "cuStreamSynchronize")(c->stream[1]));
	return 2.0 * (double)c->size / (bench_now() - start) / 1e9;
}

static void raw_cuda_close(struct raw_cuda *c)
{
	for (int i = 0; i < 2; i++) {
		CU(cu(c->lib, "cuMemFree_v2")(c->device[i]));
		CU(cu(c->lib, "cuMemFreeHost")(c->host[i]));
		CU(cu(c->lib, "cuStreamDestroy_v2")(c->stream[i]));
	}
}

/* Every figure a median of GPU_ROUNDS rounds, each round measuring every
 * side once in a row (paired ratios), after one round not counted (warm:
 * events made, and each dma has seen copies both ways). */
static void gpu_cases(void)
{
	size_t size = 256 * MiB;
	void *host[2] = {host_alloc(size), host_alloc(size)};
	void *dev[2] = {device_alloc(size), device_alloc(size)};
	void *both_dst[2] = {dev[0], host[1]}, *both_src[2] = {host[0], dev[1]};
	void *h2d_dst[2] = {dev[0], dev[0]}, *h2d_src[2] = {host[0], host[0]};
	struct raw_cuda raw;
	int have_raw = raw_cuda_open(&raw, size);

	printf("cuda backend: 2 x 256 MiB at once, one each way; 64 MiB one way; medians of %d paired rounds\n",
	       GPU_ROUNDS);
	struct aml_dma *single = make_dma(1, 1, NULL), *two = make_dma(1, 2, NULL), *two_whole = make_dma(1, 2, "0");
	struct aml_dma *one_way = make_dma(1, 2, NULL);
	double s[GPU_ROUNDS], t[GPU_ROUNDS], tw[GPU_ROUNDS], r[GPU_ROUNDS];
	double vs_single[GPU_ROUNDS], whole_vs_single[GPU_ROUNDS], vs_raw[GPU_ROUNDS];
	double s64[GPU_ROUNDS], t64[GPU_ROUNDS], one_way_ratio[GPU_ROUNDS];
	for (int round = -1; round < GPU_ROUNDS; round++) {
		double a = transfer(single, 2, size, both_dst, both_src);
		double b = transfer(two, 2, size, both_dst, both_src);
		double c = transfer(two_whole, 2, size, both_dst, both_src);
		double d = have_raw ? raw_cuda_both_ways(&raw) : 0;
		double e = transfer(single, 1, 64 * MiB, h2d_dst, h2d_src);
		double f = transfer(one_way, 1, 64 * MiB, h2d_dst, h2d_src);
		if (round < 0)
			continue;
		s[round] = a, t[round] = b, tw[round] = c, r[round] = d, s64[round] = e, t64[round] = f;
		vs_single[round] = b / a, whole_vs_single[round] = c / a, vs_raw[round] = d > 0 ? b / d : 0;
		one_way_ratio[round] = f / e;
	}
	printf("  both ways: single-queue %.2f GB/s, 2 queues %.2f GB/s (split off: %.2f), raw CUDA 2 streams %.2f GB/s\n",
	       bench_median(s, GPU_ROUNDS), bench_median(t, GPU_ROUNDS), bench_median(tw, GPU_ROUNDS), bench_median(r, GPU_ROUNDS));
	printf("  64 MiB one way: single-queue %.2f GB/s, 2 queues %.2f GB/s\n", bench_median(s64, GPU_ROUNDS),
	       bench_median(t64, GPU_ROUNDS));
	printf("figure queues_gpu_bothways_ratio_vs_single %.2f\n", bench_median(vs_single, GPU_ROUNDS));
	printf("figure queues_gpu_bothways_nosplit_ratio_vs_single %.2f\n", bench_median(whole_vs_single, GPU_ROUNDS));
	printf("figure queues_gpu_bothways_ratio_vs_raw_cuda %.2f\n", bench_median(vs_raw, GPU_ROUNDS));
	printf("figure queues_gpu_oneway64m_ratio_vs_single %.2f\n", bench_median(one_way_ratio, GPU_ROUNDS));
	AML(aml_dma_ze_destroy(&single));
	AML(aml_dma_ze_destroy(&two));
	AML(aml_dma_ze_destroy(&two_whole));
	AML(aml_dma_ze_destroy(&one_way));
	dependent_pairs(64 * MiB, GPU_ROUNDS);

	/* The threshold on the GPU: one copy one way, split over the 4 queues
	 * of the copy group against the same copy whole, paired rounds. */
	printf("split threshold scan, one copy one way, 4 queues: time split / time whole (< 1: splitting pays)\n ");
	struct aml_dma *split = make_dma(1, 4, "1"), *whole = make_dma(1, 4, "0");
	for (size_t bytes = 256 << 10; bytes <= 64 * MiB; bytes *= 4) {
		double ratio[GPU_ROUNDS];
		for (int round = -1; round < GPU_ROUNDS; round++) {
			double a = transfer(split, 1, bytes, h2d_dst, h2d_src);
			double b = transfer(whole, 1, bytes, h2d_dst, h2d_src);
			if (round >= 0)
				ratio[round] = b / a;
		}
		printf(" %zuK %.2f", bytes >> 10, bench_median(ratio, GPU_ROUNDS));
	}
	printf("\n");
	AML(aml_dma_ze_destroy(&split));
	AML(aml_dma_ze_destroy(&whole));
	if (have_raw)
		raw_cuda_close(&raw);
	for (int i = 0; i < 2; i++) {
		ZE(zeMemFree(ze.context, host[i]));
		ZE(zeMemFree(ze.context, dev[i]));
	}
}

int main(void)
{
	bench_ze_open(&ze, 1);
	bench_swze_require(&swze, "bench_queues");
	const char *backend = getenv("SWZE_BACKEND");
	if (backend && strcmp(backend, "cuda") == 0)
		gpu_cases();
	else
		cpu_cases();
	bench_ze_close(&ze);
	return 0;
}
