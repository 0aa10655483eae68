/* The request path's latency, cases 1-4 of the bench (bench.c runs them):
 * 1 the raw floor beside 2 the synchronous request, their runs interleaved;
 * 3 1000 fire-and-forget requests and a barrier; 4 cases 2 and 3 from two
 * threads on one dma; then the creates counted through cases 2-4. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>

#include "bench_common.h"

#define FF_BATCH 1000

void raw_open(struct raw *r)
{
	ze_context_desc_t cd = {.stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC};
	ZE(zeContextCreate(session.driver, &cd, &r->ctx));
	/* The queue descriptor aml_dma_ze_create uses, so only the request path differs. */
	r->list = bench_immediate_list(r->ctx, session.device, 0, 0, ZE_COMMAND_QUEUE_FLAG_EXPLICIT_ONLY);
	bench_event_open(&r->ev, r->ctx, session.device, floor_scope);
	r->src = host_alloc(r->ctx, 4096);
	r->dst = device_alloc(r->ctx, 4096);
	memset(r->src, 0x5a, 4096);
}

void raw_close(struct raw *r)
{
	ZE(zeMemFree(r->ctx, r->src));
	ZE(zeMemFree(r->ctx, r->dst));
	bench_event_close(&r->ev);
	ZE(zeCommandListDestroy(r->list));
	ZE(zeContextDestroy(r->ctx));
}

uint64_t calibrate(uint64_t warm_iters, uint64_t warm_ns)
{
	double per = warm_ns / (double)(warm_iters ? warm_iters : 1);
	uint64_t n = per > 0 ? (uint64_t)(g_target_ns / per) : 100000;
	if (n < 200)
		n = 200;
	if (n > 2000000)
		n = 2000000;
	return n;
}

/* What cases 2-4 created while timed: no pool, no event in a steady state. */
static void count_steady(struct mode *m, const struct bench_calls *c, uint64_t requests)
{
	m->steady_pools += bench_calls_of(c, "zeEventPoolCreate");
	m->steady_events += bench_calls_of(c, "zeEventCreate");
	m->steady_reqs += requests;
}

/* The ns per request of `n` of them, the driver's calls read into `c`. */
static double timed_raw(struct raw *r, uint64_t n, struct bench_calls *c)
{
	bench_calls_reset(&swze);
	uint64_t t0 = bench_now_ns();
	raw_loop(r, n);
	uint64_t t1 = bench_now_ns();
	bench_calls_read(&swze, c);
	return (t1 - t0) / (double)n;
}

static double timed_sync(struct mode *m, uint64_t n, struct bench_calls *c)
{
	bench_calls_reset(&swze);
	uint64_t t0 = bench_now_ns();
	sync_loop(m->dma, m->dst, m->src, n);
	uint64_t t1 = bench_now_ns();
	bench_calls_read(&swze, c);
	count_steady(m, c, n);
	return (t1 - t0) / (double)n;
}

/* Cases 1 and 2, their runs interleaved so that both see the same machine:
 * the other processes on these cores come and go. */
void case_sync_vs_raw(struct mode *m)
{
	struct raw r;
	raw_open(&r);
	uint64_t t0 = bench_now_ns();
	raw_loop(&r, 500);
	uint64_t n_raw = calibrate(500, bench_now_ns() - t0);
	t0 = bench_now_ns();
	sync_loop(m->dma, m->dst, m->src, 500);
	uint64_t n_sync = calibrate(500, bench_now_ns() - t0);
	struct bench_series s_raw = {.n = 0}, s_sync = {.n = 0}, s_ratio = {.n = 0};
	struct bench_calls c_raw, c_sync;
	for (int i = 0; i < g_runs; i++) {
		double ns_raw = 0, ns_sync = 0;
		for (int k = 0; k < 2; k++) {
			if ((k == 0) == (i % 2 == 0))
				ns_raw = timed_raw(&r, n_raw, &c_raw);
			else
				ns_sync = timed_sync(m, n_sync, &c_sync);
		}
		bench_series_add(&s_raw, ns_raw);
		bench_series_add(&s_sync, ns_sync);
		bench_series_add(&s_ratio, ns_sync / ns_raw);
	}
	raw_close(&r);
	row("1 raw floor 64B", m->name, &s_raw, "ns/req");
	bench_calls_print(&swze, "driver calls/req", &c_raw, (double)n_raw);
	row("2 sync request 64B", m->name, &s_sync, "ns/req");
	bench_calls_print(&swze, "driver calls/req", &c_sync, (double)n_sync);
	double raw_med = bench_series_median(&s_raw), sync_med = bench_series_median(&s_sync);
	printf("    case 2 / case 1: %.3f (median of paired runs; min %.3f max %.3f; ratio of medians %.3f)\n",
	       bench_series_median(&s_ratio), bench_series_min(&s_ratio), bench_series_max(&s_ratio),
	       sync_med / raw_med);
	figure("raw64_ns", m->sfx, "%.1f", raw_med);
	figure("sync64_ns", m->sfx, "%.1f", sync_med);
	figure("sync64_ratio_vs_raw", m->sfx, "%.3f", bench_series_median(&s_ratio));
	if (swze.present)
		figure("sync64_driver_calls", m->sfx, "%.2f", (double)bench_calls_total(&c_sync) / (double)n_sync);
	else
		figure_na("sync64_driver_calls", m->sfx);
}

/* Case 3: the barrier's own calls are read apart from the requests'. */
void case_fire_and_forget(struct mode *m)
{
	struct bench_series s = {.n = 0};
	struct bench_calls c, cb;
	ff_loop(m->dma, m->dst, m->src, FF_BATCH);
	AML(m->dma->ops->barrier(m->dma->data));
	for (int i = 0; i < g_runs; i++) {
		bench_calls_reset(&swze);
		uint64_t t0 = bench_now_ns();
		ff_loop(m->dma, m->dst, m->src, FF_BATCH);
		uint64_t t1 = bench_now_ns();
		bench_calls_read(&swze, &c);
		uint64_t t2 = bench_now_ns();
		AML(m->dma->ops->barrier(m->dma->data));
		uint64_t t3 = bench_now_ns();
		bench_calls_read(&swze, &cb);
		bench_calls_sub(&cb, &c);
		bench_series_add(&s, ((t1 - t0) + (t3 - t2)) / (double)FF_BATCH);
		count_steady(m, &c, FF_BATCH);
		count_steady(m, &cb, 0);
	}
	row("3 fire-and-forget 1000 + barrier", m->name, &s, "ns/req");
	bench_calls_print(&swze, "driver calls/req (requests)", &c, FF_BATCH);
	bench_calls_print(&swze, "driver calls/barrier", &cb, 1);
	figure("ff64_ns", m->sfx, "%.1f", bench_series_median(&s));
	if (swze.present)
		figure("barrier_driver_calls", m->sfx, "%.0f", (double)bench_calls_total(&cb));
	else
		figure_na("barrier_driver_calls", m->sfx);
}

struct thread_arg {
	struct aml_dma *dma;
	void *dst, *src;
	uint64_t n;
	int ff;
	pthread_barrier_t *start;
	uint64_t t_start, t_end;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	pthread_barrier_wait(a->start);
	a->t_start = bench_now_ns();
	if (a->ff) {
		ff_loop(a->dma, a->dst, a->src, a->n);
		AML(a->dma->ops->barrier(a->dma->data));
	} else {
		sync_loop(a->dma, a->dst, a->src, a->n);
	}
	a->t_end = bench_now_ns();
	return NULL;
}

/* Both threads hold a request at once: the most the timed runs of case 4
 * can ever hold, so an implementation that grows lazily has grown before
 * the steady-state counts begin. */
static void *warm_thread(void *p)
{
	struct thread_arg *a = p;
	struct aml_dma_request *req = NULL;
	AML(a->dma->ops->create_request(a->dma->data, &req, (struct aml_layout *)a->dst, (struct aml_layout *)a->src,
	                                aml_dma_ze_memcpy_op, (void *)(size_t)64));
	pthread_barrier_wait(a->start);
	AML(a->dma->ops->wait_request(a->dma->data, &req));
	return NULL;
}

/* Two threads each running `body` on one dma, each on its own 64 B of dst;
 * `parties` 3: main passes the start line too. */
static void two_threads_run(struct thread_arg a[2], void *(*body)(void *), struct aml_dma *dma, void *dst,
                            void *src, uint64_t n, int ff, int parties)
{
	pthread_barrier_t start;
	pthread_t t[2];
	pthread_barrier_init(&start, NULL, (unsigned)parties);
	for (int i = 0; i < 2; i++) {
		a[i] = (struct thread_arg){dma, (char *)dst + 64 * i, src, n, ff, &start, 0, 0};
		if (pthread_create(&t[i], NULL, body, &a[i])) {
			fprintf(stderr, "bench: pthread_create failed\n");
			exit(1);
		}
	}
	if (parties == 3)
		pthread_barrier_wait(&start);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
}

/* Wall time of 2 threads each running its loop on one dma. The workers take
 * the times: main may not run again until they are done (2 cores). */
static uint64_t two_threads(struct aml_dma *dma, void *dst, void *src, uint64_t n, int ff)
{
	struct thread_arg a[2];
	two_threads_run(a, thread_main, dma, dst, src, n, ff, 3);
	uint64_t t0 = a[0].t_start < a[1].t_start ? a[0].t_start : a[1].t_start;
	uint64_t t1 = a[0].t_end > a[1].t_end ? a[0].t_end : a[1].t_end;
	return t1 - t0;
}

/* The timed runs of one half of case 4: ns per request. */
static void two_threads_runs(struct mode *m, uint64_t n, int ff, struct bench_series *s, struct bench_calls *c)
{
	for (int i = 0; i < g_runs; i++) {
		bench_calls_reset(&swze);
		uint64_t t = two_threads(m->dma, m->dst, m->src, n, ff);
		bench_calls_read(&swze, c);
		bench_series_add(s, t / (2.0 * (double)n));
		count_steady(m, c, 2 * n);
	}
}

/* Case 4: two threads on one dma, sync then fire-and-forget. */
void case_two_threads(struct mode *m)
{
	struct thread_arg a[2];
	struct bench_series s = {.n = 0};
	struct bench_calls c;
	two_threads_run(a, warm_thread, m->dma, m->dst, m->src, 1, 0, 2);
	uint64_t t0 = bench_now_ns();
	two_threads(m->dma, m->dst, m->src, 500, 0);
	uint64_t n = calibrate(1000, bench_now_ns() - t0) / 2; /* per thread */
	two_threads_runs(m, n, 0, &s, &c);
	row("4a 2 threads sync 64B", m->name, &s, "ns/req");
	bench_calls_print(&swze, "driver calls/req", &c, 2.0 * (double)n);
	figure("sync64_2threads_ns", m->sfx, "%.1f", bench_series_median(&s));
	s.n = 0;
	two_threads_runs(m, FF_BATCH, 1, &s, &c);
	row("4b 2 threads ff 1000 + barrier", m->name, &s, "ns/req");
	bench_calls_print(&swze, "driver calls/req (incl. barriers)", &c, 2.0 * FF_BATCH);
	figure("ff64_2threads_ns", m->sfx, "%.1f", bench_series_median(&s));
}

void end_small_cases(struct mode *m)
{
	if (swze.present) {
		printf("    steady state, cases 2-4: %" PRIu64 " pool creates, %" PRIu64 " event creates in %" PRIu64
		       " requests\n",
		       m->steady_pools, m->steady_events, m->steady_reqs);
		figure("steady_pool_creates", m->sfx, "%.0f", (double)m->steady_pools);
		figure("steady_event_creates", m->sfx, "%.0f", (double)m->steady_events);
	} else {
		figure_na("steady_pool_creates", m->sfx);
		figure_na("steady_event_creates", m->sfx);
	}
	ZE(zeMemFree(m->ctx, m->src));
	ZE(zeMemFree(m->ctx, m->dst));
	m->src = m->dst = NULL;
}
