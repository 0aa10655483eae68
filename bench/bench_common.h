/* What the files of the request-path bench share (bench.c: options, modes
 * and the table of cases; bench_common.c: the state and figures below;
 * bench_latency.c: cases 1-4; bench_bulk.c: cases 5-8; bench_instr.c: the
 * callgrind mode): the session, the options, the
 * output, the raw floor and the dma's request loops. The loops are inline
 * here so that a measured loop holds them whole (bench_instr_loop_*). */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <aml/dma/ze.h>

#include "harness/counters.h"
#include "harness/ze.h"

/* ---- the session and the options (bench.c) ---- */

extern struct bench_ze session;              /* zeInit'd: the first driver and device */
extern ze_event_scope_flags_t floor_scope;   /* upstream's event scope on that device */
extern struct bench_swze swze;               /* swze's controls and counters, if present */
extern int g_runs;                           /* runs per case (--runs; --quick: 3) */
extern int g_quick;                          /* --quick: short loops, small copies */
extern uint64_t g_target_ns;                 /* per timed run of cases 1, 2, 4 */

/* ---- output (bench.c) ---- */

/* A table line: the case, the mode, median, min and max of its runs. */
void row(const char *kase, const char *mode, const struct bench_series *s, const char *unit);
/* A `figure` line, printed with the others at the end. */
void figure(const char *name, const char *suffix, const char *fmt, double v);
void figure_na(const char *name, const char *suffix);
void print_figures(void);                    /* every figure, one block, at the end */

/* ---- one mode's run: what its cases share ---- */

struct mode {
	const char *name;   /* the table's mode column */
	const char *sfx;    /* the figures' suffix: "_inline", or none (threaded) */
	int inline_mode;
	struct aml_dma *dma; /* cases 2-8 share one dma per mode, made after the mode switch */
	ze_context_handle_t ctx;
	void *src, *dst;    /* 4 KiB, host and device: cases 2-4 */
	/* creates during the timed runs of cases 2-4 (after warm-up) */
	uint64_t steady_pools, steady_events, steady_reqs;
};

/* A case of the table: its rows, figures and lines, on one mode. */
struct bench_case {
	const char *name;
	void (*run)(struct mode *m);
	int threaded_only;
};

/* bench_latency.c */
void case_sync_vs_raw(struct mode *m);      /* cases 1 and 2, runs interleaved */
void case_fire_and_forget(struct mode *m);  /* case 3 */
void case_two_threads(struct mode *m);      /* case 4 */
void end_small_cases(struct mode *m);       /* creates in cases 2-4; their buffers freed */
/* bench_bulk.c */
void case_bandwidth(struct mode *m);        /* case 5 */
void case_outstanding(struct mode *m);      /* case 6 */
void case_tile(struct mode *m);             /* case 7 */
void case_prepared_host(struct mode *m);    /* case 8 */

/* Iterations giving about g_target_ns per run, from a timed warm-up. */
uint64_t calibrate(uint64_t warm_iters, uint64_t warm_ns);

/* The implementation's own function `name` (an extension), or NULL: absent,
 * or from another object than the aml_dma_ze_create in use (BENCH_PRELOAD). */
void *own_extension(const char *name);

/* ---- memory of a context, on the session's device ---- */

static inline void *host_alloc(ze_context_handle_t ctx, size_t size)
{
	return bench_host_alloc(ctx, size, 64);
}

static inline void *device_alloc(ze_context_handle_t ctx, size_t size)
{
	return bench_device_alloc(ctx, session.device, size, 64);
}

/* The context the dma copies in: buffers must come from it on a real GPU. */
static inline ze_context_handle_t dma_context(struct aml_dma *dma)
{
	return ((struct aml_dma_ze_data *)(void *)dma->data)->context;
}

/* ---- case 1: the raw floor (bench_latency.c opens and closes it) ---- */

struct raw {
	ze_context_handle_t ctx;
	ze_command_list_handle_t list;
	struct bench_event ev;
	void *src, *dst;
};

void raw_open(struct raw *r);
void raw_close(struct raw *r);

/* Append + host sync + host reset on one event, 64 B. */
static inline void raw_once(struct raw *r)
{
	ZE(zeCommandListAppendMemoryCopy(r->list, r->dst, r->src, 64, r->ev.event, 0, NULL));
	ZE(zeEventHostSynchronize(r->ev.event, UINT64_MAX));
	ZE(zeEventHostReset(r->ev.event));
}

static inline void raw_loop(struct raw *r, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		raw_once(r);
}

/* The floor of a request without a handle: the append alone, no event. */
static inline void raw_unsignalled_loop(struct raw *r, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		ZE(zeCommandListAppendMemoryCopy(r->list, r->dst, r->src, 64, NULL, 0, NULL));
}

/* ---- cases 2-8: the dma's requests ---- */

static inline void sync_once(struct aml_dma *dma, void *dst, void *src, size_t size)
{
	struct aml_dma_request *req = NULL;
	AML(dma->ops->create_request(dma->data, &req, (struct aml_layout *)dst, (struct aml_layout *)src,
	                             aml_dma_ze_memcpy_op, (void *)size));
	/* wait_request also destroys the request, as AML's aml_dma_wait expects. */
	AML(dma->ops->wait_request(dma->data, &req));
}

static inline void ff_once(struct aml_dma *dma, void *dst, void *src, size_t size)
{
	AML(dma->ops->create_request(dma->data, NULL, (struct aml_layout *)dst, (struct aml_layout *)src,
	                             aml_dma_ze_memcpy_op, (void *)size));
}

static inline void sync_loop(struct aml_dma *dma, void *dst, void *src, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		sync_once(dma, dst, src, 64);
}

static inline void ff_loop(struct aml_dma *dma, void *dst, void *src, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		ff_once(dma, dst, src, 64);
}

/* bench_instr.c: `bench --instr KIND`; 2 for an unknown kind. */
int instr_mode(const char *kind, uint64_t iters);
/* The kinds it knows, for usage lines: "raw|sync|...". */
const char *instr_kinds(void);

#endif
