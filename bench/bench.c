/*
 * Benchmark of the aml_dma_ze request path against the raw Level Zero floor.
 *
 * Only the public ABI is called (aml_dma_ze_create/_destroy, the ops vtable,
 * aml_dma_ze_memcpy_op), so the same binary measures any implementation of
 * the ABI put under it with LD_PRELOAD (e.g. upstream libaml).
 *
 * The software driver's controls (counters, inline mode) are reached with
 * swze_api_load() on the driver the loader already opened, never linked:
 * on a real GPU driver they are absent and the bench still prints times.
 *
 *   bench [--runs N] [--quick] [--mode inline|threaded|both] [--pin CPU]
 *   bench --instr raw|sync|rawff|ff|spread0|spread64 [--iters N]   (run under callgrind, see instructions.sh)
 *
 * When the implementation under the bench is a whole libaml (it provides
 * aml_init), the bench calls aml_init() once before creating any dma and
 * aml_finalize() at the end: upstream's aml_dma_ze_create takes its driver
 * from the state aml_init() sets up and crashes without it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <level_zero/ze_api.h>

#include <aml/dma/ze.h>
#include <swze.h>

/* AML's dense layouts (struct aml_layout_dense, aml_layout_row_ops...) as the
 * C suite's stand-in libaml defines them; the bench is linked -rdynamic so
 * the library finds their ops with dlsym, as it would find libaml's. */
#include "../ctests/standin/layout_dense.h"

/* ------------------------------------------------------------------ */
/* errors                                                              */

static void die_ze(const char *what, ze_result_t r, int line)
{
	fprintf(stderr, "bench:%d: %s failed: ze_result_t 0x%x\n", line, what, (unsigned)r);
	exit(1);
}

static void die_aml(const char *what, int r, int line)
{
	fprintf(stderr, "bench:%d: %s failed: aml error %d\n", line, what, r);
	exit(1);
}

#define ZE(call)                                                                                                       \
	do {                                                                                                           \
		ze_result_t ze_r_ = (call);                                                                            \
		if (ze_r_ != ZE_RESULT_SUCCESS)                                                                        \
			die_ze(#call, ze_r_, __LINE__);                                                                \
	} while (0)

#define AML(call)                                                                                                      \
	do {                                                                                                           \
		int aml_r_ = (call);                                                                                   \
		if (aml_r_ != AML_SUCCESS)                                                                             \
			die_aml(#call, aml_r_, __LINE__);                                                              \
	} while (0)

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* libaml's initialisation, if the implementation under us is libaml   */

typedef int (*aml_init_fn)(int *argc, char ***argv);
typedef int (*aml_finalize_fn)(void);
static aml_finalize_fn aml_lib_finalize_fn;

/* Looked up, never linked: this library alone has no aml_init, and then
 * nothing is called. */
static void aml_lib_init(int *argc, char ***argv)
{
	aml_init_fn init = (aml_init_fn)dlsym(RTLD_DEFAULT, "aml_init");
	if (!init)
		return;
	AML(init(argc, argv));
	aml_lib_finalize_fn = (aml_finalize_fn)dlsym(RTLD_DEFAULT, "aml_finalize");
}

static void aml_lib_finalize(void)
{
	if (aml_lib_finalize_fn)
		aml_lib_finalize_fn();
}

/* ------------------------------------------------------------------ */
/* the software driver's controls, if that is the driver in use        */

static struct swze_api swze;
static int have_swze;

/* After zeInit only: the loader has then opened the driver, and the helper
 * finds that very instance (its counters) rather than a second copy. */
static void drv_load(void)
{
	have_swze = swze_api_load(&swze) == 0;
}

/* Every entry point a request path could plausibly use: the per-function
 * figures are only as complete as this list, so it errs on the long side. */
static const char *const fn_names[] = {
	"zeCommandListAppendMemoryCopy",
	"zeCommandListAppendMemoryCopyRegion",
	"zeEventHostSynchronize",
	"zeEventHostReset",
	"zeEventQueryStatus",
	"zeEventHostSignal",
	"zeEventCreate",
	"zeEventDestroy",
	"zeEventPoolCreate",
	"zeEventPoolDestroy",
	"zeCommandListAppendBarrier",
	"zeCommandListAppendSignalEvent",
	"zeCommandListAppendWaitOnEvents",
	"zeCommandListAppendEventReset",
	"zeCommandListHostSynchronize",
	"zeCommandListCreateImmediate",
	"zeCommandListCreate",
	"zeCommandListClose",
	"zeCommandListReset",
	"zeCommandListDestroy",
	"zeCommandQueueCreate",
	"zeCommandQueueExecuteCommandLists",
	"zeCommandQueueSynchronize",
	"zeCommandQueueDestroy",
	"zeFenceCreate",
	"zeFenceHostSynchronize",
	"zeFenceReset",
	"zeFenceDestroy",
	"zeContextCreate",
	"zeContextDestroy",
	"zeContextSystemBarrier",
	"zeDriverGet",
	"zeDriverGetProperties",
	"zeDeviceGet",
	"zeDeviceGetProperties",
	"zeDeviceGetSubDevices",
	"zeDeviceGetCommandQueueGroupProperties",
	"zeDeviceGetMemoryProperties",
	"zeMemGetAllocProperties",
	"zeMemGetAddressRange",
	"zeMemAllocHost",
	"zeMemAllocDevice",
	"zeMemAllocShared",
	"zeMemFree",
};
#define NFN (sizeof fn_names / sizeof fn_names[0])

struct calls {
	uint64_t n[NFN];
};

static void calls_reset(void)
{
	if (have_swze)
		swze.counters_reset();
}

static void calls_read(struct calls *c)
{
	for (size_t i = 0; i < NFN; i++)
		c->n[i] = have_swze ? swze.call_count(fn_names[i]) : 0;
}

static void calls_sub(struct calls *a, const struct calls *b)
{
	for (size_t i = 0; i < NFN; i++)
		a->n[i] -= b->n[i];
}

static uint64_t calls_total(const struct calls *c)
{
	uint64_t t = 0;
	for (size_t i = 0; i < NFN; i++)
		t += c->n[i];
	return t;
}

static uint64_t calls_of(const struct calls *c, const char *name)
{
	for (size_t i = 0; i < NFN; i++)
		if (!strcmp(fn_names[i], name))
			return c->n[i];
	return 0;
}

/* ------------------------------------------------------------------ */
/* statistics and output                                               */

#define MAXRUNS 64

struct series {
	double v[MAXRUNS];
	int n;
};

static void series_add(struct series *s, double v)
{
	if (s->n < MAXRUNS)
		s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double series_median(const struct series *s)
{
	double t[MAXRUNS];
	if (!s->n)
		return 0;
	memcpy(t, s->v, sizeof(double) * (size_t)s->n);
	qsort(t, (size_t)s->n, sizeof(double), cmp_double);
	return s->n % 2 ? t[s->n / 2] : (t[s->n / 2 - 1] + t[s->n / 2]) / 2;
}

static double series_min(const struct series *s)
{
	double m = s->n ? s->v[0] : 0;
	for (int i = 1; i < s->n; i++)
		m = s->v[i] < m ? s->v[i] : m;
	return m;
}

static double series_max(const struct series *s)
{
	double m = s->n ? s->v[0] : 0;
	for (int i = 1; i < s->n; i++)
		m = s->v[i] > m ? s->v[i] : m;
	return m;
}

/* Figures are printed together at the end so a reader finds them in one block. */
#define MAXFIG 128
static struct {
	char name[96];
	char value[64];
} figs[MAXFIG];
static int nfigs;

static void figure(const char *name, const char *suffix, const char *fmt, double v)
{
	if (nfigs >= MAXFIG)
		return;
	snprintf(figs[nfigs].name, sizeof figs[nfigs].name, "%s%s", name, suffix);
	snprintf(figs[nfigs].value, sizeof figs[nfigs].value, fmt, v);
	nfigs++;
}

static void figure_na(const char *name, const char *suffix)
{
	if (nfigs >= MAXFIG)
		return;
	snprintf(figs[nfigs].name, sizeof figs[nfigs].name, "%s%s", name, suffix);
	snprintf(figs[nfigs].value, sizeof figs[nfigs].value, "unavailable");
	nfigs++;
}

static void row(const char *kase, const char *mode, const struct series *s, const char *unit)
{
	printf("%-34s %-8s %12.1f %12.1f %12.1f  %s\n", kase, mode, series_median(s), series_min(s), series_max(s),
	       unit);
	fflush(stdout);
}

/* Per-request driver calls of one case, by function, non-zero ones only. */
static void row_calls(const char *label, const struct calls *c, double per)
{
	if (!have_swze) {
		printf("    %s: driver counters unavailable\n", label);
		return;
	}
	printf("    %s: %.2f total", label, (double)calls_total(c) / per);
	for (size_t i = 0; i < NFN; i++)
		if (c->n[i])
			printf(", %s %.*f", fn_names[i] + 2, (double)c->n[i] / per < 0.1 ? 4 : 2,
			       (double)c->n[i] / per);
	printf("\n");
	fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* Level Zero set-up                                                   */

static ze_driver_handle_t g_driver;
static ze_device_handle_t g_device;
static ze_event_scope_flags_t g_event_scope;

static void ze_setup(void)
{
	uint32_t n = 1;
	ZE(zeInit(0));
	ZE(zeDriverGet(&n, &g_driver));
	if (n < 1) {
		fprintf(stderr, "bench: no Level Zero driver\n");
		exit(1);
	}
	n = 1;
	ZE(zeDeviceGet(g_driver, &n, &g_device));
	if (n < 1) {
		fprintf(stderr, "bench: no Level Zero device\n");
		exit(1);
	}
	/* The scope upstream picks for its events, so the floor signals alike. */
	ze_device_properties_t props = {.stype = ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES};
	ZE(zeDeviceGetProperties(g_device, &props));
	g_event_scope = ZE_EVENT_SCOPE_FLAG_HOST | ((props.flags & ZE_DEVICE_PROPERTY_FLAG_SUBDEVICE)
	                                                    ? ZE_EVENT_SCOPE_FLAG_SUBDEVICE
	                                                    : ZE_EVENT_SCOPE_FLAG_DEVICE);
	drv_load();
}

static void *host_alloc(ze_context_handle_t ctx, size_t size)
{
	ze_host_mem_alloc_desc_t d = {.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC};
	void *p = NULL;
	ZE(zeMemAllocHost(ctx, &d, size, 64, &p));
	return p;
}

static void *device_alloc(ze_context_handle_t ctx, size_t size)
{
	ze_device_mem_alloc_desc_t d = {.stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC};
	void *p = NULL;
	ZE(zeMemAllocDevice(ctx, &d, size, 64, g_device, &p));
	return p;
}

/* ------------------------------------------------------------------ */
/* case 1: the raw floor                                               */

struct raw {
	ze_context_handle_t ctx;
	ze_command_list_handle_t list;
	ze_event_pool_handle_t pool;
	ze_event_handle_t ev;
	void *src, *dst;
};

static void raw_open(struct raw *r)
{
	ze_context_desc_t cd = {.stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC};
	ZE(zeContextCreate(g_driver, &cd, &r->ctx));
	/* The queue descriptor aml_dma_ze_create uses, so only the request path differs. */
	ze_command_queue_desc_t qd = {
		.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
		.ordinal = 0,
		.index = 0,
		.flags = ZE_COMMAND_QUEUE_FLAG_EXPLICIT_ONLY,
		.mode = ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS,
		.priority = ZE_COMMAND_QUEUE_PRIORITY_NORMAL,
	};
	ZE(zeCommandListCreateImmediate(r->ctx, g_device, &qd, &r->list));
	ze_event_pool_desc_t pd = {
		.stype = ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
		.flags = ZE_EVENT_POOL_FLAG_HOST_VISIBLE,
		.count = 1,
	};
	ZE(zeEventPoolCreate(r->ctx, &pd, 1, &g_device, &r->pool));
	ze_event_desc_t ed = {
		.stype = ZE_STRUCTURE_TYPE_EVENT_DESC,
		.index = 0,
		.signal = g_event_scope,
		.wait = g_event_scope,
	};
	ZE(zeEventCreate(r->pool, &ed, &r->ev));
	r->src = host_alloc(r->ctx, 4096);
	r->dst = device_alloc(r->ctx, 4096);
	memset(r->src, 0x5a, 4096);
}

static void raw_close(struct raw *r)
{
	ZE(zeMemFree(r->ctx, r->src));
	ZE(zeMemFree(r->ctx, r->dst));
	ZE(zeEventDestroy(r->ev));
	ZE(zeEventPoolDestroy(r->pool));
	ZE(zeCommandListDestroy(r->list));
	ZE(zeContextDestroy(r->ctx));
}

static inline void raw_once(struct raw *r)
{
	ZE(zeCommandListAppendMemoryCopy(r->list, r->dst, r->src, 64, r->ev, 0, NULL));
	ZE(zeEventHostSynchronize(r->ev, UINT64_MAX));
	ZE(zeEventHostReset(r->ev));
}

static void raw_loop(struct raw *r, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		raw_once(r);
}

/* The floor of a request without a handle: the append alone, no event. */
static void raw_unsignalled_loop(struct raw *r, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		ZE(zeCommandListAppendMemoryCopy(r->list, r->dst, r->src, 64, NULL, 0, NULL));
}

/* ------------------------------------------------------------------ */
/* cases 2-6: the dma                                                  */

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

static void sync_loop(struct aml_dma *dma, void *dst, void *src, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		sync_once(dma, dst, src, 64);
}

static void ff_loop(struct aml_dma *dma, void *dst, void *src, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		ff_once(dma, dst, src, 64);
}

/* The context the dma copies in: buffers must come from it on a real GPU. */
static ze_context_handle_t dma_context(struct aml_dma *dma)
{
	return ((struct aml_dma_ze_data *)(void *)dma->data)->context;
}

/* ------------------------------------------------------------------ */
/* the measured run                                                    */

static int g_runs = 11;
static int g_quick;
static uint64_t g_target_ns = 100000000; /* per timed run of cases 1, 2, 4 */

/* Iterations giving about g_target_ns per run, from a timed warm-up. */
static uint64_t calibrate(uint64_t warm_iters, uint64_t warm_ns)
{
	double per = warm_ns / (double)(warm_iters ? warm_iters : 1);
	uint64_t n = per > 0 ? (uint64_t)(g_target_ns / per) : 100000;
	if (n < 200)
		n = 200;
	if (n > 2000000)
		n = 2000000;
	return n;
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
	a->t_start = now_ns();
	if (a->ff) {
		ff_loop(a->dma, a->dst, a->src, a->n);
		AML(a->dma->ops->barrier(a->dma->data));
	} else {
		sync_loop(a->dma, a->dst, a->src, a->n);
	}
	a->t_end = now_ns();
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

static void warm_two_outstanding(struct aml_dma *dma, void *dst, void *src)
{
	pthread_barrier_t both;
	pthread_t t[2];
	struct thread_arg a[2];
	pthread_barrier_init(&both, NULL, 2);
	for (int i = 0; i < 2; i++) {
		a[i] = (struct thread_arg){dma, (char *)dst + 64 * i, src, 1, 0, &both, 0, 0};
		if (pthread_create(&t[i], NULL, warm_thread, &a[i])) {
			fprintf(stderr, "bench: pthread_create failed\n");
			exit(1);
		}
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&both);
}

/* Wall time of 2 threads each running its loop on one dma. The workers take
 * the times: main may not run again until they are done (2 cores). */
static uint64_t two_threads(struct aml_dma *dma, void *dst, void *src, uint64_t n, int ff)
{
	pthread_barrier_t start;
	pthread_t t[2];
	struct thread_arg a[2];
	pthread_barrier_init(&start, NULL, 3);
	for (int i = 0; i < 2; i++) {
		a[i] = (struct thread_arg){dma, (char *)dst + 64 * i, src, n, ff, &start, 0, 0};
		if (pthread_create(&t[i], NULL, thread_main, &a[i])) {
			fprintf(stderr, "bench: pthread_create failed\n");
			exit(1);
		}
	}
	pthread_barrier_wait(&start);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	uint64_t t0 = a[0].t_start < a[1].t_start ? a[0].t_start : a[1].t_start;
	uint64_t t1 = a[0].t_end > a[1].t_end ? a[0].t_end : a[1].t_end;
	return t1 - t0;
}

static uint64_t live_total(void)
{
	static const char *const kinds[] = {"context", "command_list", "event_pool", "event", "allocation"};
	uint64_t t = 0;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		t += swze.live_count(kinds[i]);
	return t;
}

#define FF_BATCH 1000
#define OUTSTANDING 100000
#define POOL_SIZE 256 /* the library's event pool chunk, from its design */

/* Inline and threaded modes are the cpu backend's; on a GPU there is one. */
static int cpu_backend(void)
{
	const char *backend = have_swze ? swze.backend() : NULL;
	return backend != NULL && strcmp(backend, "cpu") == 0;
}

typedef int (*host_prepare_fn)(struct aml_dma *, void *, size_t);
typedef int (*host_release_fn)(struct aml_dma *, void *);

/* The implementation's own function `name` (an extension), or NULL: absent,
 * or from another object than the aml_dma_ze_create in use (BENCH_PRELOAD). */
static void *own_extension(const char *name)
{
	void *found = dlsym(RTLD_DEFAULT, name), *create = dlsym(RTLD_DEFAULT, "aml_dma_ze_create");
	Dl_info found_home, create_home;
	if (found == NULL || create == NULL || !dladdr(found, &found_home) || !dladdr(create, &create_home) ||
	    strcmp(found_home.dli_fname, create_home.dli_fname) != 0)
		return NULL;
	return found;
}

/* case 8: malloc'd host memory as it is beside malloc'd memory prepared with
 * aml_dma_ze_host_prepare, each way, the two in turns within each run. On
 * the cpu backend under its bandwidth model (switched on for this case if
 * SWZE_BANDWIDTH_MODEL did not already), which charges malloc'd memory what
 * Intel's driver costs it and runs prepared memory at the pinned rate; its
 * rates are the model's, scaled down (SWZE_BANDWIDTH_SCALE). */
static void prepared_case(struct aml_dma *dma, ze_context_handle_t ctx, const char *mode, const char *sfx)
{
	host_prepare_fn prepare = (host_prepare_fn)own_extension("aml_dma_ze_host_prepare");
	host_release_fn release = (host_release_fn)own_extension("aml_dma_ze_host_release");
	if (prepare == NULL || release == NULL) {
		printf("    8 prepared host: aml_dma_ze_host_prepare absent in this implementation\n");
		figure_na("host_prepared_h2d_ratio_vs_malloc", sfx);
		figure_na("host_prepared_d2h_ratio_vs_malloc", sfx);
		return;
	}
	const char *model_env = getenv("SWZE_BANDWIDTH_MODEL");
	int model_was_on = model_env != NULL && strcmp(model_env, "1") == 0;
	int modelled = cpu_backend();
	if (modelled && !model_was_on)
		swze.set_bandwidth_model(1);
	/* Under the model a copy runs at a few hundred MB/s: smaller copies. */
	size_t size = modelled ? (g_quick ? (2u << 20) : (16u << 20)) : (64u << 20);
	int runs = g_quick ? 3 : g_runs;
	char *device = device_alloc(ctx, size);
	char *plain = malloc(size), *ready = malloc(size);
	if (!plain || !ready) {
		fprintf(stderr, "bench: out of memory\n");
		exit(1);
	}
	memset(plain, 0x21, size);
	memset(ready, 0x21, size);
	AML(prepare(dma, ready, size));
	static const char *const ways[] = {"h2d", "d2h"};
	for (int way = 0; way < 2; way++) {
		struct series sm, sp, sr;
		memset(&sm, 0, sizeof sm);
		memset(&sp, 0, sizeof sp);
		memset(&sr, 0, sizeof sr);
		for (int i = -1; i < runs; i++) {
			double g[2] = {0, 0};
			for (int k = 0; k < 2; k++) {
				int kind = (k + (i < 0 ? 0 : i)) % 2; /* 0: malloc'd, 1: prepared */
				char *host = kind ? ready : plain;
				uint64_t t0 = now_ns();
				if (way == 0)
					sync_once(dma, device, host, size);
				else
					sync_once(dma, host, device, size);
				g[kind] = (double)size / (double)(now_ns() - t0);
			}
			if (i < 0)
				continue; /* first pass faults pages in */
			series_add(&sm, g[0] * 1e3); /* MB/s: the model's rates are small */
			series_add(&sp, g[1] * 1e3);
			series_add(&sr, g[1] / g[0]);
		}
		char label[64], fname[64];
		snprintf(label, sizeof label, "8 %s %zu MiB malloc'd", ways[way], size >> 20);
		row(label, mode, &sm, "MB/s");
		snprintf(label, sizeof label, "8 %s %zu MiB prepared", ways[way], size >> 20);
		row(label, mode, &sp, "MB/s");
		printf("    prepared/malloc'd %s (median of paired runs%s): %.3f (min %.3f max %.3f)\n", ways[way],
		       modelled ? ", bandwidth model" : "", series_median(&sr), series_min(&sr), series_max(&sr));
		snprintf(fname, sizeof fname, "host_malloc_%s_gbps", ways[way]);
		figure(fname, sfx, "%.3f", series_median(&sm) / 1e3);
		snprintf(fname, sizeof fname, "host_prepared_%s_gbps", ways[way]);
		figure(fname, sfx, "%.3f", series_median(&sp) / 1e3);
		snprintf(fname, sizeof fname, "host_prepared_%s_ratio_vs_malloc", ways[way]);
		figure(fname, sfx, "%.3f", series_median(&sr));
	}
	AML(release(dma, ready));
	if (modelled && !model_was_on)
		swze.set_bandwidth_model(0);
	free(plain);
	free(ready);
	ZE(zeMemFree(ctx, device));
}

static void run_mode(int inline_mode)
{
	const char *mode = !have_swze ? "driver" : !cpu_backend() ? swze.backend() : inline_mode ? "inline" : "threaded";
	/* Threaded mode keeps the required figure names: it is the one closer to a GPU. */
	const char *sfx = inline_mode ? "_inline" : "";
	struct series s;
	struct calls c;
	uint64_t t0, t1, n;

	if (have_swze)
		swze.set_inline(inline_mode);
	uint64_t live_before = have_swze ? live_total() : 0;

	/* cases 1 and 2, their runs interleaved so that both see the same
	 * machine: the other processes on these cores come and go */
	struct raw r;
	raw_open(&r);
	struct aml_dma *dma = NULL; /* cases 2-6 share one dma per mode, made after the mode switch */
	AML(aml_dma_ze_create(&dma, g_device, 0, 0));
	ze_context_handle_t ctx = dma_context(dma);
	void *src = host_alloc(ctx, 4096);
	void *dst = device_alloc(ctx, 4096);
	memset(src, 0x5a, 4096);
	uint64_t steady_pools = 0, steady_events = 0, steady_reqs = 0;

	t0 = now_ns();
	raw_loop(&r, 500);
	uint64_t n_raw = calibrate(500, now_ns() - t0);
	t0 = now_ns();
	sync_loop(dma, dst, src, 500);
	uint64_t n_sync = calibrate(500, now_ns() - t0);
	struct series s_raw, s_sync, s_ratio;
	struct calls c_raw, c_sync;
	memset(&s_raw, 0, sizeof s_raw);
	memset(&s_sync, 0, sizeof s_sync);
	memset(&s_ratio, 0, sizeof s_ratio);
	for (int i = 0; i < g_runs; i++) {
		double ns_raw = 0, ns_sync = 0;
		for (int k = 0; k < 2; k++) {
			if ((k == 0) == (i % 2 == 0)) {
				calls_reset();
				t0 = now_ns();
				raw_loop(&r, n_raw);
				t1 = now_ns();
				calls_read(&c_raw);
				ns_raw = (t1 - t0) / (double)n_raw;
			} else {
				calls_reset();
				t0 = now_ns();
				sync_loop(dma, dst, src, n_sync);
				t1 = now_ns();
				calls_read(&c_sync);
				ns_sync = (t1 - t0) / (double)n_sync;
				steady_pools += calls_of(&c_sync, "zeEventPoolCreate");
				steady_events += calls_of(&c_sync, "zeEventCreate");
				steady_reqs += n_sync;
			}
		}
		series_add(&s_raw, ns_raw);
		series_add(&s_sync, ns_sync);
		series_add(&s_ratio, ns_sync / ns_raw);
	}
	raw_close(&r);
	row("1 raw floor 64B", mode, &s_raw, "ns/req");
	row_calls("driver calls/req", &c_raw, (double)n_raw);
	row("2 sync request 64B", mode, &s_sync, "ns/req");
	row_calls("driver calls/req", &c_sync, (double)n_sync);
	double raw_med = series_median(&s_raw), sync_med = series_median(&s_sync);
	printf("    case 2 / case 1: %.3f (median of paired runs; min %.3f max %.3f; ratio of medians %.3f)\n",
	       series_median(&s_ratio), series_min(&s_ratio), series_max(&s_ratio), sync_med / raw_med);
	figure("raw64_ns", sfx, "%.1f", raw_med);
	figure("sync64_ns", sfx, "%.1f", sync_med);
	figure("sync64_ratio_vs_raw", sfx, "%.3f", series_median(&s_ratio));
	if (have_swze)
		figure("sync64_driver_calls", sfx, "%.2f", (double)calls_total(&c_sync) / (double)n_sync);
	else
		figure_na("sync64_driver_calls", sfx);

	/* case 3: the barrier's own calls are read apart from the requests' */
	ff_loop(dma, dst, src, FF_BATCH);
	AML(dma->ops->barrier(dma->data));
	memset(&s, 0, sizeof s);
	struct calls cb;
	for (int i = 0; i < g_runs; i++) {
		calls_reset();
		t0 = now_ns();
		ff_loop(dma, dst, src, FF_BATCH);
		t1 = now_ns();
		calls_read(&c);
		uint64_t t2 = now_ns();
		AML(dma->ops->barrier(dma->data));
		uint64_t t3 = now_ns();
		calls_read(&cb);
		calls_sub(&cb, &c);
		series_add(&s, ((t1 - t0) + (t3 - t2)) / (double)FF_BATCH);
		steady_pools += calls_of(&c, "zeEventPoolCreate") + calls_of(&cb, "zeEventPoolCreate");
		steady_events += calls_of(&c, "zeEventCreate") + calls_of(&cb, "zeEventCreate");
		steady_reqs += FF_BATCH;
	}
	row("3 fire-and-forget 1000 + barrier", mode, &s, "ns/req");
	row_calls("driver calls/req (requests)", &c, FF_BATCH);
	row_calls("driver calls/barrier", &cb, 1);
	figure("ff64_ns", sfx, "%.1f", series_median(&s));
	if (have_swze)
		figure("barrier_driver_calls", sfx, "%.0f", (double)calls_total(&cb));
	else
		figure_na("barrier_driver_calls", sfx);

	/* case 4: two threads on one dma, sync then fire-and-forget */
	warm_two_outstanding(dma, dst, src);
	t0 = now_ns();
	two_threads(dma, dst, src, 500, 0);
	n = calibrate(1000, now_ns() - t0) / 2; /* per thread */
	memset(&s, 0, sizeof s);
	for (int i = 0; i < g_runs; i++) {
		calls_reset();
		uint64_t t = two_threads(dma, dst, src, n, 0);
		calls_read(&c);
		series_add(&s, t / (2.0 * (double)n));
		steady_pools += calls_of(&c, "zeEventPoolCreate");
		steady_events += calls_of(&c, "zeEventCreate");
		steady_reqs += 2 * n;
	}
	row("4a 2 threads sync 64B", mode, &s, "ns/req");
	row_calls("driver calls/req", &c, 2.0 * (double)n);
	figure("sync64_2threads_ns", sfx, "%.1f", series_median(&s));
	memset(&s, 0, sizeof s);
	for (int i = 0; i < g_runs; i++) {
		calls_reset();
		uint64_t t = two_threads(dma, dst, src, FF_BATCH, 1);
		calls_read(&c);
		series_add(&s, t / (2.0 * FF_BATCH));
		steady_pools += calls_of(&c, "zeEventPoolCreate");
		steady_events += calls_of(&c, "zeEventCreate");
		steady_reqs += 2 * FF_BATCH;
	}
	row("4b 2 threads ff 1000 + barrier", mode, &s, "ns/req");
	row_calls("driver calls/req (incl. barriers)", &c, 2.0 * FF_BATCH);
	figure("ff64_2threads_ns", sfx, "%.1f", series_median(&s));

	if (have_swze) {
		printf("    steady state, cases 2-4: %" PRIu64 " pool creates, %" PRIu64 " event creates in %" PRIu64
		       " requests\n",
		       steady_pools, steady_events, steady_reqs);
		figure("steady_pool_creates", sfx, "%.0f", (double)steady_pools);
		figure("steady_event_creates", sfx, "%.0f", (double)steady_events);
	} else {
		figure_na("steady_pool_creates", sfx);
		figure_na("steady_event_creates", sfx);
	}
	ZE(zeMemFree(ctx, src));
	ZE(zeMemFree(ctx, dst));

	/* case 5: bandwidth host -> device, interleaved with memcpy of the same buffers */
	{
		static const size_t sizes[] = {4096, 1u << 20, 64u << 20};
		static const char *const names[] = {"4k", "1m", "64m"};
		size_t max = sizes[2];
		size_t per_sample = g_quick ? (4u << 20) : (64u << 20);
		char *bsrc = host_alloc(ctx, max);
		char *bdst = device_alloc(ctx, max);
		/* memcpy into device memory is only possible when the driver keeps it in
		 * host memory (our cpu backend does); elsewhere memcpy gets a host buffer. */
		int host_device_memory = cpu_backend();
		char *mdst = host_device_memory ? bdst : malloc(max);
		if (!mdst) {
			fprintf(stderr, "bench: out of memory\n");
			exit(1);
		}
		memset(bsrc, 0x33, max);
		memset(mdst, 0, max);
		/* A fast copy that moves nothing must not pass for a fast copy. The
		 * device buffer is host memory only under our cpu backend. */
		if (host_device_memory) {
			sync_once(dma, bdst, bsrc, sizes[1]);
			int same = memcmp(bdst, bsrc, sizes[1]) == 0;
			printf("    1 MiB copy %s\n", same ? "verified" : "WRONG DATA");
			figure("copy_verified", sfx, "%.0f", same);
		}
		for (int z = 0; z < 3; z++) {
			size_t size = sizes[z];
			uint64_t reps = per_sample / size ? per_sample / size : 1;
			struct series sd, sm, sr;
			memset(&sd, 0, sizeof sd);
			memset(&sm, 0, sizeof sm);
			memset(&sr, 0, sizeof sr);
			for (int i = -1; i < g_runs; i++) {
				double gd = 0, gm = 0;
				/* alternate who goes first so neither always gets the warmer cache */
				for (int k = 0; k < 2; k++) {
					if ((k == 0) == (i % 2 == 0)) {
						t0 = now_ns();
						/* pipelined: what a bulk copier does, and the only way
						 * a 4 KiB copy measures bandwidth and not latency */
						for (uint64_t j = 0; j < reps; j++)
							ff_once(dma, bdst, bsrc, size);
						AML(dma->ops->barrier(dma->data));
						t1 = now_ns();
						gd = (double)(size * reps) / (double)(t1 - t0);
					} else {
						t0 = now_ns();
						for (uint64_t j = 0; j < reps; j++) {
							memcpy(mdst, bsrc, size);
							/* keep the copies from being merged or dropped */
							__asm__ volatile("" : : "r"(mdst) : "memory");
						}
						t1 = now_ns();
						gm = (double)(size * reps) / (double)(t1 - t0);
					}
				}
				if (i < 0)
					continue; /* first pass faults pages in */
				series_add(&sd, gd);
				series_add(&sm, gm);
				series_add(&sr, gd / gm);
			}
			char label[64];
			snprintf(label, sizeof label, "5 bandwidth %s dma", names[z]);
			row(label, mode, &sd, "GB/s");
			snprintf(label, sizeof label, "5 bandwidth %s memcpy", names[z]);
			row(label, mode, &sm, "GB/s");
			printf("    dma/memcpy (median of paired runs): %.3f (min %.3f max %.3f)\n", series_median(&sr),
			       series_min(&sr), series_max(&sr));
			char fname[64];
			snprintf(fname, sizeof fname, "bw%s_ratio_vs_memcpy", names[z]);
			figure(fname, sfx, "%.3f", series_median(&sr));
			snprintf(fname, sizeof fname, "bw%s_dma_gbps", names[z]);
			figure(fname, sfx, "%.2f", series_median(&sd));
		}
		if (!host_device_memory)
			free(mdst);
		ZE(zeMemFree(ctx, bsrc));
		ZE(zeMemFree(ctx, bdst));
	}

	/* case 6: 100000 outstanding requests, then all waited */
	{
		struct aml_dma_request **reqs = calloc(OUTSTANDING, sizeof *reqs);
		char *osrc = host_alloc(ctx, 4096);
		char *odst = device_alloc(ctx, 4096);
		if (!reqs) {
			fprintf(stderr, "bench: out of memory\n");
			exit(1);
		}
		int runs = g_runs < 5 ? g_runs : 5;
		uint64_t pools_peak = 0, events_peak = 0;
		memset(&s, 0, sizeof s);
		/* An implementation with a pool per request can take minutes here:
		 * one run is then enough to show it. */
		uint64_t spent = 0;
		for (int i = 0; i < runs && spent < 5000000000u; i++) {
			calls_reset();
			t0 = now_ns();
			for (int j = 0; j < OUTSTANDING; j++)
				AML(dma->ops->create_request(dma->data, &reqs[j], (struct aml_layout *)odst,
				                             (struct aml_layout *)osrc, aml_dma_ze_memcpy_op,
				                             (void *)(size_t)64));
			for (int j = 0; j < OUTSTANDING; j++)
				AML(dma->ops->wait_request(dma->data, &reqs[j]));
			t1 = now_ns();
			spent += t1 - t0;
			calls_read(&c);
			series_add(&s, (t1 - t0) / (double)OUTSTANDING);
			if (have_swze) {
				uint64_t p = swze.peak_count("event_pool"), e = swze.peak_count("event");
				pools_peak = p > pools_peak ? p : pools_peak;
				events_peak = e > events_peak ? e : events_peak;
			}
		}
		row("6 outstanding 100k create+wait", mode, &s, "ns/req");
		row_calls("driver calls/req", &c, OUTSTANDING);
		figure("outstanding100k_ns", sfx, "%.1f", series_median(&s));
		if (have_swze) {
			/* Pools are whole: at most floor(100000/256) + 1 of them. */
			uint64_t bound = OUTSTANDING / POOL_SIZE + 1;
			printf("    peak alive: %" PRIu64 " event pools, %" PRIu64 " events (%.1f events/pool); "
			       "bound for %d-event pools: %" PRIu64 "\n",
			       pools_peak, events_peak, pools_peak ? (double)events_peak / (double)pools_peak : 0.0,
			       POOL_SIZE, bound);
			figure("outstanding100k_pools_peak", sfx, "%.0f", (double)pools_peak);
			figure("outstanding100k_events_peak", sfx, "%.0f", (double)events_peak);
			figure("outstanding100k_pools_bound", sfx, "%.0f", (double)bound);
		} else {
			figure_na("outstanding100k_pools_peak", sfx);
		}
		ZE(zeMemFree(ctx, osrc));
		ZE(zeMemFree(ctx, odst));
		free(reqs);
	}

	/* case 7: a 2-D tile of 2048 rows x 8 KiB out of rows of 64 KiB, host ->
	 * device: one N-D request (op == NULL: copy_nd) against one memcpy_op
	 * request per row (all outstanding, then waited) and against one
	 * contiguous copy of the same 16 MiB. */
	{
		enum { ROWS = 2048, WIDTH = 8192, PITCH = 65536 };
		const size_t bytes = (size_t)ROWS * WIDTH;
		int (*copy_nd)(struct aml_layout *, const struct aml_layout *, void *) =
		        (int (*)(struct aml_layout *, const struct aml_layout *, void *))dlsym(RTLD_DEFAULT,
		                                                                              "aml_dma_ze_copy_nd");
		/* The bench links our library, so copy_nd always resolves; it is the
		 * implementation under test's only if it comes from the same object
		 * as the aml_dma_ze_create in use (not so under BENCH_PRELOAD). */
		Dl_info nd_home, create_home;
		void *create = dlsym(RTLD_DEFAULT, "aml_dma_ze_create");
		if (copy_nd != NULL && create != NULL && dladdr((void *)copy_nd, &nd_home) && dladdr(create, &create_home) &&
		    strcmp(nd_home.dli_fname, create_home.dli_fname) != 0)
			copy_nd = NULL;
		if (copy_nd == NULL) {
			printf("    7 tile: aml_dma_ze_copy_nd absent in this implementation\n");
			figure_na("tile_nd_gbps", sfx);
		} else {
			char *tsrc = host_alloc(ctx, (size_t)ROWS * PITCH);
			char *tdst = device_alloc(ctx, bytes);
			char *csrc = host_alloc(ctx, bytes);
			struct aml_dma_request **reqs = calloc(ROWS, sizeof *reqs);
			struct aml_layout *parent, *tile, *packed;
			size_t pdims[2] = {ROWS, PITCH}, tdims[2] = {ROWS, WIDTH}, off[2] = {0, 4096};
			struct series snd, srow, scon;
			int runs = g_quick ? 3 : (g_runs < 7 ? g_runs : 7);
			if (!reqs) {
				fprintf(stderr, "bench: out of memory\n");
				exit(1);
			}
			memset(tsrc, 0x5a, (size_t)ROWS * PITCH);
			memset(csrc, 0x5a, bytes);
			AML(aml_layout_dense_create(&parent, tsrc, AML_LAYOUT_ORDER_ROW_MAJOR, 1, 2, pdims, NULL, NULL));
			AML(aml_layout_slice(parent, &tile, off, tdims, NULL));
			AML(aml_layout_dense_create(&packed, tdst, AML_LAYOUT_ORDER_ROW_MAJOR, 1, 2, tdims, NULL, NULL));
			memset(&snd, 0, sizeof snd);
			memset(&srow, 0, sizeof srow);
			memset(&scon, 0, sizeof scon);
			uint64_t nd_calls = 0;
			for (int i = -1; i < runs; i++) {
				struct aml_dma_request *req = NULL;
				struct calls c0, c1;
				calls_read(&c0);
				t0 = now_ns();
				AML(dma->ops->create_request(dma->data, &req, packed, tile, NULL, NULL));
				AML(dma->ops->wait_request(dma->data, &req));
				t1 = now_ns();
				calls_read(&c1);
				calls_sub(&c1, &c0);
				nd_calls = calls_of(&c1, "zeCommandListAppendMemoryCopyRegion");
				double gnd = (double)bytes / (double)(t1 - t0);
				t0 = now_ns();
				for (size_t r = 0; r < ROWS; r++)
					AML(dma->ops->create_request(dma->data, &reqs[r], (struct aml_layout *)(tdst + r * WIDTH),
					                             (struct aml_layout *)(tsrc + 4096 + r * PITCH),
					                             aml_dma_ze_memcpy_op, (void *)(size_t)WIDTH));
				for (size_t r = 0; r < ROWS; r++)
					AML(dma->ops->wait_request(dma->data, &reqs[r]));
				t1 = now_ns();
				double grow = (double)bytes / (double)(t1 - t0);
				t0 = now_ns();
				sync_once(dma, tdst, csrc, bytes);
				t1 = now_ns();
				double gcon = (double)bytes / (double)(t1 - t0);
				if (i < 0)
					continue; /* first pass faults pages in */
				series_add(&snd, gnd);
				series_add(&srow, grow);
				series_add(&scon, gcon);
			}
			if (cpu_backend()) { /* the device buffer is host memory there */
				int same = 1;
				for (size_t r = 0; r < ROWS && same; r++)
					same = memcmp(tdst + r * WIDTH, tsrc + 4096 + r * PITCH, WIDTH) == 0;
				figure("tile_verified", sfx, "%.0f", same);
			}
			row("7 tile 2048x8KiB one copy_nd", mode, &snd, "GB/s");
			row("7 tile 2048x8KiB memcpy_op/row", mode, &srow, "GB/s");
			row("7 tile 16MiB contiguous", mode, &scon, "GB/s");
			figure("tile_nd_gbps", sfx, "%.2f", series_median(&snd));
			figure("tile_rows_gbps", sfx, "%.2f", series_median(&srow));
			figure("tile_contig_gbps", sfx, "%.2f", series_median(&scon));
			figure("tile_nd_vs_contig", sfx, "%.3f", series_median(&snd) / series_median(&scon));
			figure("tile_nd_vs_rows", sfx, "%.2f", series_median(&snd) / series_median(&srow));
			if (have_swze)
				figure("tile_nd_region_appends", sfx, "%.0f", (double)nd_calls);
			aml_layout_destroy(&packed);
			aml_layout_destroy(&tile);
			aml_layout_destroy(&parent);
			free(reqs);
			ZE(zeMemFree(ctx, tsrc));
			ZE(zeMemFree(ctx, tdst));
			ZE(zeMemFree(ctx, csrc));
		}
	}

	/* case 8 in threaded mode only (the one closer to a GPU): it is slow
	 * under the bandwidth model. */
	if (!inline_mode)
		prepared_case(dma, ctx, mode, sfx);

	AML(aml_dma_ze_destroy(&dma));
	if (have_swze) {
		/* A destroyed dma must leave no Level Zero object behind. */
		uint64_t live_after = live_total();
		printf("    objects alive after destroy vs before the mode: %+" PRId64 "\n",
		       (int64_t)(live_after - live_before));
		figure("objects_leaked_after_destroy", sfx, "%.0f", (double)(int64_t)(live_after - live_before));
	}
	fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* callgrind mode: only this function is collected (--toggle-collect)  */

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

/* Case 2 through a dma over every copy engine of the device, with `pending`
 * requests on other buffers left outstanding around the loop: the cost of
 * placement and of the ordering checks against what is in flight. */
static void instr_spread(uint64_t iters, unsigned pending)
{
	struct aml_dma *dma = NULL;
	struct aml_dma_request *held[64];
	AML(aml_dma_ze_create(&dma, g_device, 1, -1));
	ze_context_handle_t ctx = dma_context(dma);
	void *src = host_alloc(ctx, 4096);
	void *dst = device_alloc(ctx, 4096);
	char *other_src = host_alloc(ctx, 64 * 4096);
	char *other_dst = device_alloc(ctx, 64 * 4096);
	sync_loop(dma, dst, src, 1000);
	for (unsigned i = 0; i < pending && i < 64; i++)
		AML(aml_dma_ze_request_create(dma->data, &held[i], (struct aml_layout *)(other_dst + i * 4096),
		                              (struct aml_layout *)(other_src + i * 4096), aml_dma_ze_memcpy_op,
		                              (void *)(uintptr_t)64));
	bench_instr_loop_spread(dma, dst, src, iters);
	for (unsigned i = 0; i < pending && i < 64; i++)
		AML(aml_dma_ze_request_wait(dma->data, &held[i]));
	ZE(zeMemFree(ctx, src));
	ZE(zeMemFree(ctx, dst));
	ZE(zeMemFree(ctx, other_src));
	ZE(zeMemFree(ctx, other_dst));
	AML(aml_dma_ze_destroy(&dma));
}

/* Case 2's requests, or case 3's (no handle, a barrier after them), on a
 * dma over one queue; a warm-up of 1000 outside the collected function. */
static void instr_one_list(uint64_t iters, int without_handle)
{
	struct aml_dma *dma = NULL;
	AML(aml_dma_ze_create(&dma, g_device, 0, 0));
	ze_context_handle_t ctx = dma_context(dma);
	void *src = host_alloc(ctx, 4096);
	void *dst = device_alloc(ctx, 4096);
	if (without_handle) {
		ff_loop(dma, dst, src, 1000);
		AML(dma->ops->barrier(dma->data));
		bench_instr_loop_ff(dma, dst, src, iters);
		AML(dma->ops->barrier(dma->data));
	} else {
		sync_loop(dma, dst, src, 1000);
		bench_instr_loop_sync(dma, dst, src, iters);
	}
	ZE(zeMemFree(ctx, src));
	ZE(zeMemFree(ctx, dst));
	AML(aml_dma_ze_destroy(&dma));
}

static int instr_mode(const char *kind, uint64_t iters)
{
	/* Inline mode: the copy runs on this thread, so callgrind sees all of it. */
	if (have_swze)
		swze.set_inline(1);
	/* Warm-up outside the collected function: lazy binding, first pool, caches. */
	if (!strcmp(kind, "raw")) {
		struct raw r;
		raw_open(&r);
		raw_loop(&r, 1000);
		bench_instr_loop_raw(&r, iters);
		raw_close(&r);
	} else if (!strcmp(kind, "sync")) {
		instr_one_list(iters, 0);
	} else if (!strcmp(kind, "rawff")) {
		struct raw r;
		raw_open(&r);
		raw_unsignalled_loop(&r, 1000);
		bench_instr_loop_rawff(&r, iters);
		raw_once(&r); /* in order: its signal comes after every append above */
		raw_close(&r);
	} else if (!strcmp(kind, "ff")) {
		instr_one_list(iters, 1);
	} else if (!strcmp(kind, "spread0")) {
		instr_spread(iters, 0);
	} else if (!strcmp(kind, "spread64")) {
		instr_spread(iters, 64);
	} else {
		fprintf(stderr, "bench: --instr wants raw, sync, rawff, ff, spread0 or spread64\n");
		return 2;
	}
	printf("instr %s iterations %" PRIu64 " inline %s\n", kind, iters, have_swze ? "yes" : "unknown");
	return 0;
}

/* ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: bench [--runs N] [--quick] [--mode inline|threaded|both] [--pin CPU]\n"
	                "       bench --instr raw|sync|rawff|ff|spread0|spread64 [--iters N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *instr = NULL, *modes = "both";
	int pin = -1;
	uint64_t iters = 10000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
			g_runs = atoi(argv[++i]);
			if (g_runs < 1 || g_runs > MAXRUNS)
				usage();
		} else if (!strcmp(argv[i], "--quick")) {
			g_quick = 1;
			g_runs = 3;
			g_target_ns = 5000000;
		} else if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
			modes = argv[++i];
		} else if (!strcmp(argv[i], "--pin") && i + 1 < argc) {
			pin = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--instr") && i + 1 < argc) {
			instr = argv[++i];
		} else if (!strcmp(argv[i], "--iters") && i + 1 < argc) {
			iters = strtoull(argv[++i], NULL, 10);
		} else {
			usage();
		}
	}

	/* Before any thread exists, so the driver's engine threads inherit it:
	 * with every thread on one CPU, the floor and the dma see the same
	 * hand-off between threads, instead of whatever placement the scheduler
	 * picked for each list's engine on a shared machine. */
	if (pin >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(pin, &set);
		if (sched_setaffinity(0, sizeof set, &set)) {
			perror("bench: sched_setaffinity");
			return 1;
		}
	}
	aml_lib_init(&argc, &argv);
	ze_setup();
	if (instr) {
		int rc = instr_mode(instr, iters);
		aml_lib_finalize();
		return rc;
	}

	double load = -1;
	FILE *la = fopen("/proc/loadavg", "r");
	if (la) {
		if (fscanf(la, "%lf", &load) != 1)
			load = -1;
		fclose(la);
	}
	char where[32] = "unpinned";
	if (pin >= 0)
		snprintf(where, sizeof where, "all threads on CPU %d", pin);
	printf("aml_dma_ze bench: %d runs per case; %s; load average %.2f; driver counters %s\n", g_runs, where, load,
	       have_swze ? "available (libswze)" : "unavailable: driver-call figures not measured, one mode only");
	printf("%-34s %-8s %12s %12s %12s  %s\n", "case", "mode", "median", "min", "max", "unit");
	int do_inline = strcmp(modes, "threaded") != 0;
	int do_threaded = strcmp(modes, "inline") != 0;
	if (!have_swze || !cpu_backend()) {
		run_mode(0);
	} else {
		if (do_inline)
			run_mode(1);
		if (do_threaded)
			run_mode(0);
	}
	printf("\n");
	for (int i = 0; i < nfigs; i++)
		printf("figure %s %s\n", figs[i].name, figs[i].value);
	aml_lib_finalize();
	return 0;
}
