/* The bench's callgrind mode (`bench --instr KIND`, driven by
 * bench/instructions.sh): for each kind, a warm-up outside the collected
 * function, then the measured loop in a function of its own,
 * bench_instr_loop_<kind without its trailing digits>, which callgrind
 * collects alone (--toggle-collect). Those functions hold the loop and
 * nothing else. A new kind is a row of `instr_cases` (and a line of
 * instructions.sh). Inline mode: the copy runs on this thread, so callgrind
 * sees all of it. */
#define _GNU_SOURCE
#include <inttypes.h>

#include "bench_common.h"

/* ---- the collected loops: only these are counted ---- */

__attribute__((noinline)) void bench_instr_loop_raw(struct raw *r, uint64_t n)
{
	raw_loop(r, n);
}

__attribute__((noinline)) void bench_instr_loop_sync(struct aml_dma *dma, void *dst, void *src, uint64_t n)
{
	sync_loop(dma, dst, src, n);
}

__attribute__((noinline)) void bench_instr_loop_rawff(struct raw *r, uint64_t n)
{
	raw_unsignalled_loop(r, n);
}

__attribute__((noinline)) void bench_instr_loop_ff(struct aml_dma *dma, void *dst, void *src, uint64_t n)
{
	ff_loop(dma, dst, src, n);
}

__attribute__((noinline)) void bench_instr_loop_spread(struct aml_dma *dma, void *dst, void *src, uint64_t n)
{
	sync_loop(dma, dst, src, n);
}

/* ---- the kinds ---- */

/* Case 1: append + host sync + reset on the raw floor. */
static void instr_raw(uint64_t iters)
{
	struct raw r;
	raw_open(&r);
	raw_loop(&r, 1000);
	bench_instr_loop_raw(&r, iters);
	raw_close(&r);
}

/* Case 3's floor: appends without an event. */
static void instr_rawff(uint64_t iters)
{
	struct raw r;
	raw_open(&r);
	raw_unsignalled_loop(&r, 1000);
	bench_instr_loop_rawff(&r, iters);
	raw_once(&r); /* in order: its signal comes after every append above */
	raw_close(&r);
}

/* A dma on queue (ordinal, index) and 4 KiB each of host and device
 * memory of its context. */
struct instr_dma {
	struct aml_dma *dma;
	ze_context_handle_t ctx;
	void *src, *dst;
};

static void instr_dma_open(struct instr_dma *d, int ordinal, int index)
{
	d->dma = NULL;
	AML(aml_dma_ze_create(&d->dma, session.device, ordinal, index));
	d->ctx = dma_context(d->dma);
	d->src = host_alloc(d->ctx, 4096);
	d->dst = device_alloc(d->ctx, 4096);
}

static void instr_dma_close(struct instr_dma *d)
{
	ZE(zeMemFree(d->ctx, d->src));
	ZE(zeMemFree(d->ctx, d->dst));
	AML(aml_dma_ze_destroy(&d->dma));
}

/* Case 2's requests on a dma over one queue; a warm-up of 1000 outside the
 * collected function. */
static void instr_sync(uint64_t iters)
{
	struct instr_dma d;
	instr_dma_open(&d, 0, 0);
	sync_loop(d.dma, d.dst, d.src, 1000);
	bench_instr_loop_sync(d.dma, d.dst, d.src, iters);
	instr_dma_close(&d);
}

/* Case 3's requests (no handle, a barrier after them), likewise. */
static void instr_ff(uint64_t iters)
{
	struct instr_dma d;
	instr_dma_open(&d, 0, 0);
	ff_loop(d.dma, d.dst, d.src, 1000);
	AML(d.dma->ops->barrier(d.dma->data));
	bench_instr_loop_ff(d.dma, d.dst, d.src, iters);
	AML(d.dma->ops->barrier(d.dma->data));
	instr_dma_close(&d);
}

/* Case 2 through a dma over every copy engine of the device, with `pending`
 * requests on other buffers left outstanding around the loop: the cost of
 * placement and of the ordering checks against what is in flight. */
static void instr_spread(uint64_t iters, unsigned pending)
{
	struct instr_dma d;
	struct aml_dma_request *held[64];
	instr_dma_open(&d, 1, -1);
	char *other_src = host_alloc(d.ctx, 64 * 4096);
	char *other_dst = device_alloc(d.ctx, 64 * 4096);
	sync_loop(d.dma, d.dst, d.src, 1000);
	for (unsigned i = 0; i < pending && i < 64; i++)
		AML(aml_dma_ze_request_create(d.dma->data, &held[i], (struct aml_layout *)(other_dst + i * 4096),
		                              (struct aml_layout *)(other_src + i * 4096), aml_dma_ze_memcpy_op,
		                              (void *)(uintptr_t)64));
	bench_instr_loop_spread(d.dma, d.dst, d.src, iters);
	for (unsigned i = 0; i < pending && i < 64; i++)
		AML(aml_dma_ze_request_wait(d.dma->data, &held[i]));
	ZE(zeMemFree(d.ctx, other_src));
	ZE(zeMemFree(d.ctx, other_dst));
	instr_dma_close(&d);
}

static void instr_spread0(uint64_t iters)
{
	instr_spread(iters, 0);
}

static void instr_spread64(uint64_t iters)
{
	instr_spread(iters, 64);
}

/* Every kind `--instr` takes, in the order instructions.sh runs them. */
static const struct instr_case {
	const char *kind;
	void (*run)(uint64_t iters);
} instr_cases[] = {
	{"raw", instr_raw},
	{"sync", instr_sync},
	{"rawff", instr_rawff},
	{"ff", instr_ff},
	{"spread0", instr_spread0},
	{"spread64", instr_spread64},
};
#define INSTR_CASES (sizeof instr_cases / sizeof instr_cases[0])

const char *instr_kinds(void)
{
	static char kinds[256];
	if (!kinds[0])
		for (size_t i = 0; i < INSTR_CASES; i++)
			snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds), "%s%s", i ? "|" : "",
			         instr_cases[i].kind);
	return kinds;
}

int instr_mode(const char *kind, uint64_t iters)
{
	if (swze.present)
		swze.api.set_inline(1);
	for (size_t i = 0; i < INSTR_CASES; i++) {
		if (strcmp(kind, instr_cases[i].kind) == 0) {
			instr_cases[i].run(iters);
			printf("instr %s iterations %" PRIu64 " inline %s\n", kind, iters, swze.present ? "yes" : "unknown");
			return 0;
		}
	}
	fprintf(stderr, "bench: --instr wants one of %s\n", instr_kinds());
	return 2;
}
