/* Bulk cases of the bench (bench.c runs them): 5 host->device bandwidth
 * against memcpy; 6 100000 requests outstanding; 7 a 2-D tile through one
 * copy_nd request; 8 prepared malloc'd host memory (threaded mode only). */
#define _GNU_SOURCE
#include <inttypes.h>

#include "bench_common.h"

/* AML's dense layouts (struct aml_layout_dense, aml_layout_row_ops...) as the
 * C suite's stand-in libaml defines them; the bench is linked -rdynamic so
 * the library finds their ops with dlsym, as it would find libaml's. */
#include "../ctests/standin/layout_dense.h"

#define OUTSTANDING 100000
#define POOL_SIZE 256 /* the library's event pool chunk, from its design */

/* The dma's bandwidth (pipelined requests, then a barrier) and memcpy's
 * over the same bytes, GB/s. */
static double dma_gbps(struct aml_dma *dma, char *dst, char *src, size_t size, uint64_t reps)
{
	uint64_t t0 = bench_now_ns();
	/* pipelined: what a bulk copier does, and the only way a 4 KiB copy
	 * measures bandwidth and not latency */
	for (uint64_t j = 0; j < reps; j++)
		ff_once(dma, dst, src, size);
	AML(dma->ops->barrier(dma->data));
	return (double)(size * reps) / (double)(bench_now_ns() - t0);
}

static double memcpy_gbps(char *dst, char *src, size_t size, uint64_t reps)
{
	uint64_t t0 = bench_now_ns();
	for (uint64_t j = 0; j < reps; j++) {
		memcpy(dst, src, size);
		/* keep the copies from being merged or dropped */
		__asm__ volatile("" : : "r"(dst) : "memory");
	}
	return (double)(size * reps) / (double)(bench_now_ns() - t0);
}

/* Case 5: bandwidth host -> device, interleaved with memcpy of the same buffers. */
void case_bandwidth(struct mode *m)
{
	static const size_t sizes[] = {4096, 1u << 20, 64u << 20};
	static const char *const names[] = {"4k", "1m", "64m"};
	size_t max = sizes[2];
	size_t per_sample = g_quick ? (4u << 20) : (64u << 20);
	char *bsrc = host_alloc(m->ctx, max);
	char *bdst = device_alloc(m->ctx, max);
	/* memcpy into device memory is only possible when the driver keeps it in
	 * host memory (our cpu backend does); elsewhere memcpy gets a host buffer. */
	int host_device_memory = bench_swze_cpu(&swze);
	char *mdst = host_device_memory ? bdst : bench_malloc(max);
	memset(bsrc, 0x33, max);
	memset(mdst, 0, max);
	/* A fast copy that moves nothing must not pass for a fast copy. The
	 * device buffer is host memory only under our cpu backend. */
	if (host_device_memory) {
		sync_once(m->dma, bdst, bsrc, sizes[1]);
		int same = memcmp(bdst, bsrc, sizes[1]) == 0;
		printf("    1 MiB copy %s\n", same ? "verified" : "WRONG DATA");
		figure("copy_verified", m->sfx, "%.0f", same);
	}
	for (int z = 0; z < 3; z++) {
		size_t size = sizes[z];
		uint64_t reps = per_sample / size ? per_sample / size : 1;
		struct bench_series sd = {.n = 0}, sm = {.n = 0}, sr = {.n = 0};
		for (int i = -1; i < g_runs; i++) {
			double gd = 0, gm = 0;
			/* alternate who goes first so neither always gets the warmer cache */
			for (int k = 0; k < 2; k++) {
				if ((k == 0) == (i % 2 == 0))
					gd = dma_gbps(m->dma, bdst, bsrc, size, reps);
				else
					gm = memcpy_gbps(mdst, bsrc, size, reps);
			}
			if (i < 0)
				continue; /* first pass faults pages in */
			bench_series_add(&sd, gd);
			bench_series_add(&sm, gm);
			bench_series_add(&sr, gd / gm);
		}
		char label[64];
		snprintf(label, sizeof label, "5 bandwidth %s dma", names[z]);
		row(label, m->name, &sd, "GB/s");
		snprintf(label, sizeof label, "5 bandwidth %s memcpy", names[z]);
		row(label, m->name, &sm, "GB/s");
		printf("    dma/memcpy (median of paired runs): %.3f (min %.3f max %.3f)\n", bench_series_median(&sr),
		       bench_series_min(&sr), bench_series_max(&sr));
		char fname[64];
		snprintf(fname, sizeof fname, "bw%s_ratio_vs_memcpy", names[z]);
		figure(fname, m->sfx, "%.3f", bench_series_median(&sr));
		snprintf(fname, sizeof fname, "bw%s_dma_gbps", names[z]);
		figure(fname, m->sfx, "%.2f", bench_series_median(&sd));
	}
	if (!host_device_memory)
		free(mdst);
	ZE(zeMemFree(m->ctx, bsrc));
	ZE(zeMemFree(m->ctx, bdst));
}

/* Case 6: 100000 outstanding requests, then all waited. */
void case_outstanding(struct mode *m)
{
	struct aml_dma_request **reqs = bench_malloc(OUTSTANDING * sizeof *reqs);
	memset(reqs, 0, OUTSTANDING * sizeof *reqs);
	char *osrc = host_alloc(m->ctx, 4096);
	char *odst = device_alloc(m->ctx, 4096);
	int runs = g_runs < 5 ? g_runs : 5;
	uint64_t pools_peak = 0, events_peak = 0;
	struct bench_series s = {.n = 0};
	struct bench_calls c;
	/* An implementation with a pool per request can take minutes here:
	 * one run is then enough to show it. */
	uint64_t spent = 0;
	for (int i = 0; i < runs && spent < 5000000000u; i++) {
		bench_calls_reset(&swze);
		uint64_t t0 = bench_now_ns();
		for (int j = 0; j < OUTSTANDING; j++)
			AML(m->dma->ops->create_request(m->dma->data, &reqs[j], (struct aml_layout *)odst,
			                                (struct aml_layout *)osrc, aml_dma_ze_memcpy_op, (void *)(size_t)64));
		for (int j = 0; j < OUTSTANDING; j++)
			AML(m->dma->ops->wait_request(m->dma->data, &reqs[j]));
		uint64_t t1 = bench_now_ns();
		spent += t1 - t0;
		bench_calls_read(&swze, &c);
		bench_series_add(&s, (t1 - t0) / (double)OUTSTANDING);
		if (swze.present) {
			uint64_t p = swze.api.peak_count("event_pool"), e = swze.api.peak_count("event");
			pools_peak = p > pools_peak ? p : pools_peak;
			events_peak = e > events_peak ? e : events_peak;
		}
	}
	row("6 outstanding 100k create+wait", m->name, &s, "ns/req");
	bench_calls_print(&swze, "driver calls/req", &c, OUTSTANDING);
	figure("outstanding100k_ns", m->sfx, "%.1f", bench_series_median(&s));
	if (swze.present) {
		/* Pools are whole: at most floor(100000/256) + 1 of them. */
		uint64_t bound = OUTSTANDING / POOL_SIZE + 1;
		printf("    peak alive: %" PRIu64 " event pools, %" PRIu64 " events (%.1f events/pool); "
		       "bound for %d-event pools: %" PRIu64 "\n",
		       pools_peak, events_peak, pools_peak ? (double)events_peak / (double)pools_peak : 0.0, POOL_SIZE,
		       bound);
		figure("outstanding100k_pools_peak", m->sfx, "%.0f", (double)pools_peak);
		figure("outstanding100k_events_peak", m->sfx, "%.0f", (double)events_peak);
		figure("outstanding100k_pools_bound", m->sfx, "%.0f", (double)bound);
	} else {
		figure_na("outstanding100k_pools_peak", m->sfx);
	}
	ZE(zeMemFree(m->ctx, osrc));
	ZE(zeMemFree(m->ctx, odst));
	free(reqs);
}

/* Case 7's tile: 2048 rows x 8 KiB out of rows of 64 KiB. */
enum { ROWS = 2048, WIDTH = 8192, PITCH = 65536 };
#define TILE_BYTES ((size_t)ROWS * WIDTH)

/* GB/s of the tile as one N-D request (op == NULL: copy_nd); its region
 * appends counted into `appends`. */
static double tile_nd_gbps(struct aml_dma *dma, struct aml_layout *packed, struct aml_layout *tile,
                           uint64_t *appends)
{
	struct aml_dma_request *req = NULL;
	struct bench_calls c0, c1;
	bench_calls_read(&swze, &c0);
	uint64_t t0 = bench_now_ns();
	AML(dma->ops->create_request(dma->data, &req, packed, tile, NULL, NULL));
	AML(dma->ops->wait_request(dma->data, &req));
	uint64_t t1 = bench_now_ns();
	bench_calls_read(&swze, &c1);
	bench_calls_sub(&c1, &c0);
	*appends = bench_calls_of(&c1, "zeCommandListAppendMemoryCopyRegion");
	return (double)TILE_BYTES / (double)(t1 - t0);
}

/* GB/s of the tile as one memcpy_op request per row, all outstanding, then waited. */
static double tile_rows_gbps(struct aml_dma *dma, char *tdst, char *tsrc, struct aml_dma_request **reqs)
{
	uint64_t t0 = bench_now_ns();
	for (size_t r = 0; r < ROWS; r++)
		AML(dma->ops->create_request(dma->data, &reqs[r], (struct aml_layout *)(tdst + r * WIDTH),
		                             (struct aml_layout *)(tsrc + 4096 + r * PITCH), aml_dma_ze_memcpy_op,
		                             (void *)(size_t)WIDTH));
	for (size_t r = 0; r < ROWS; r++)
		AML(dma->ops->wait_request(dma->data, &reqs[r]));
	return (double)TILE_BYTES / (double)(bench_now_ns() - t0);
}

/* Case 7: a 2-D tile host -> device: one N-D request against one memcpy_op
 * request per row and against one contiguous copy of the same 16 MiB. */
void case_tile(struct mode *m)
{
	/* The bench links our library, so copy_nd always resolves; it is the
	 * implementation under test's only if it comes from the same object
	 * as the aml_dma_ze_create in use (not so under BENCH_PRELOAD). */
	if (own_extension("aml_dma_ze_copy_nd") == NULL) {
		printf("    7 tile: aml_dma_ze_copy_nd absent in this implementation\n");
		figure_na("tile_nd_gbps", m->sfx);
		return;
	}
	char *tsrc = host_alloc(m->ctx, (size_t)ROWS * PITCH);
	char *tdst = device_alloc(m->ctx, TILE_BYTES);
	char *csrc = host_alloc(m->ctx, TILE_BYTES);
	struct aml_dma_request **reqs = bench_malloc(ROWS * sizeof *reqs);
	memset(reqs, 0, ROWS * sizeof *reqs);
	struct aml_layout *parent, *tile, *packed;
	size_t pdims[2] = {ROWS, PITCH}, tdims[2] = {ROWS, WIDTH}, off[2] = {0, 4096};
	struct bench_series snd = {.n = 0}, srow = {.n = 0}, scon = {.n = 0};
	int runs = g_quick ? 3 : (g_runs < 7 ? g_runs : 7);
	memset(tsrc, 0x5a, (size_t)ROWS * PITCH);
	memset(csrc, 0x5a, TILE_BYTES);
	AML(aml_layout_dense_create(&parent, tsrc, AML_LAYOUT_ORDER_ROW_MAJOR, 1, 2, pdims, NULL, NULL));
	AML(aml_layout_slice(parent, &tile, off, tdims, NULL));
	AML(aml_layout_dense_create(&packed, tdst, AML_LAYOUT_ORDER_ROW_MAJOR, 1, 2, tdims, NULL, NULL));
	uint64_t nd_calls = 0;
	for (int i = -1; i < runs; i++) {
		double gnd = tile_nd_gbps(m->dma, packed, tile, &nd_calls);
		double grow = tile_rows_gbps(m->dma, tdst, tsrc, reqs);
		uint64_t t0 = bench_now_ns();
		sync_once(m->dma, tdst, csrc, TILE_BYTES);
		double gcon = (double)TILE_BYTES / (double)(bench_now_ns() - t0);
		if (i < 0)
			continue; /* first pass faults pages in */
		bench_series_add(&snd, gnd);
		bench_series_add(&srow, grow);
		bench_series_add(&scon, gcon);
	}
	if (bench_swze_cpu(&swze)) { /* the device buffer is host memory there */
		int same = 1;
		for (size_t r = 0; r < ROWS && same; r++)
			same = memcmp(tdst + r * WIDTH, tsrc + 4096 + r * PITCH, WIDTH) == 0;
		figure("tile_verified", m->sfx, "%.0f", same);
	}
	row("7 tile 2048x8KiB one copy_nd", m->name, &snd, "GB/s");
	row("7 tile 2048x8KiB memcpy_op/row", m->name, &srow, "GB/s");
	row("7 tile 16MiB contiguous", m->name, &scon, "GB/s");
	double nd = bench_series_median(&snd), rows = bench_series_median(&srow), con = bench_series_median(&scon);
	figure("tile_nd_gbps", m->sfx, "%.2f", nd);
	figure("tile_rows_gbps", m->sfx, "%.2f", rows);
	figure("tile_contig_gbps", m->sfx, "%.2f", con);
	figure("tile_nd_vs_contig", m->sfx, "%.3f", nd / con);
	figure("tile_nd_vs_rows", m->sfx, "%.2f", nd / rows);
	if (swze.present)
		figure("tile_nd_region_appends", m->sfx, "%.0f", (double)nd_calls);
	aml_layout_destroy(&packed);
	aml_layout_destroy(&tile);
	aml_layout_destroy(&parent);
	free(reqs);
	ZE(zeMemFree(m->ctx, tsrc));
	ZE(zeMemFree(m->ctx, tdst));
	ZE(zeMemFree(m->ctx, csrc));
}

typedef int (*host_prepare_fn)(struct aml_dma *, void *, size_t);
typedef int (*host_release_fn)(struct aml_dma *, void *);

/* One way of case 8: malloc'd and prepared in turns within each run. */
static void prepared_way(struct mode *m, int way, char *device, char *plain, char *ready, size_t size, int runs,
                         int modelled)
{
	static const char *const ways[] = {"h2d", "d2h"};
	struct bench_series sm = {.n = 0}, sp = {.n = 0}, sr = {.n = 0};
	for (int i = -1; i < runs; i++) {
		double g[2] = {0, 0};
		for (int k = 0; k < 2; k++) {
			int kind = (k + (i < 0 ? 0 : i)) % 2; /* 0: malloc'd, 1: prepared */
			char *host = kind ? ready : plain;
			uint64_t t0 = bench_now_ns();
			if (way == 0)
				sync_once(m->dma, device, host, size);
			else
				sync_once(m->dma, host, device, size);
			g[kind] = (double)size / (double)(bench_now_ns() - t0);
		}
		if (i < 0)
			continue; /* first pass faults pages in */
		bench_series_add(&sm, g[0] * 1e3); /* MB/s: the model's rates are small */
		bench_series_add(&sp, g[1] * 1e3);
		bench_series_add(&sr, g[1] / g[0]);
	}
	char label[64], fname[64];
	snprintf(label, sizeof label, "8 %s %zu MiB malloc'd", ways[way], size >> 20);
	row(label, m->name, &sm, "MB/s");
	snprintf(label, sizeof label, "8 %s %zu MiB prepared", ways[way], size >> 20);
	row(label, m->name, &sp, "MB/s");
	printf("    prepared/malloc'd %s (median of paired runs%s): %.3f (min %.3f max %.3f)\n", ways[way],
	       modelled ? ", bandwidth model" : "", bench_series_median(&sr), bench_series_min(&sr),
	       bench_series_max(&sr));
	snprintf(fname, sizeof fname, "host_malloc_%s_gbps", ways[way]);
	figure(fname, m->sfx, "%.3f", bench_series_median(&sm) / 1e3);
	snprintf(fname, sizeof fname, "host_prepared_%s_gbps", ways[way]);
	figure(fname, m->sfx, "%.3f", bench_series_median(&sp) / 1e3);
	snprintf(fname, sizeof fname, "host_prepared_%s_ratio_vs_malloc", ways[way]);
	figure(fname, m->sfx, "%.3f", bench_series_median(&sr));
}

/* Case 8: malloc'd host memory as it is beside malloc'd memory prepared with
 * aml_dma_ze_host_prepare, each way, the two in turns within each run. On
 * the cpu backend under its bandwidth model (switched on for this case if
 * SWZE_BANDWIDTH_MODEL did not already), which charges malloc'd memory what
 * Intel's driver costs it and runs prepared memory at the pinned rate; its
 * rates are the model's, scaled down (SWZE_BANDWIDTH_SCALE). */
void case_prepared_host(struct mode *m)
{
	host_prepare_fn prepare = (host_prepare_fn)own_extension("aml_dma_ze_host_prepare");
	host_release_fn release = (host_release_fn)own_extension("aml_dma_ze_host_release");
	if (prepare == NULL || release == NULL) {
		printf("    8 prepared host: aml_dma_ze_host_prepare absent in this implementation\n");
		figure_na("host_prepared_h2d_ratio_vs_malloc", m->sfx);
		figure_na("host_prepared_d2h_ratio_vs_malloc", m->sfx);
		return;
	}
	const char *model_env = getenv("SWZE_BANDWIDTH_MODEL");
	int model_was_on = model_env != NULL && strcmp(model_env, "1") == 0;
	int modelled = bench_swze_cpu(&swze);
	if (modelled && !model_was_on)
		swze.api.set_bandwidth_model(1);
	/* Under the model a copy runs at a few hundred MB/s: smaller copies. */
	size_t size = modelled ? (g_quick ? (2u << 20) : (16u << 20)) : (64u << 20);
	int runs = g_quick ? 3 : g_runs;
	char *device = device_alloc(m->ctx, size);
	char *plain = bench_malloc(size), *ready = bench_malloc(size);
	memset(plain, 0x21, size);
	memset(ready, 0x21, size);
	AML(prepare(m->dma, ready, size));
	for (int way = 0; way < 2; way++)
		prepared_way(m, way, device, plain, ready, size, runs, modelled);
	AML(release(m->dma, ready));
	if (modelled && !model_was_on)
		swze.api.set_bandwidth_model(0);
	free(plain);
	free(ready);
	ZE(zeMemFree(m->ctx, device));
}
