/* The benchmark harness: the software driver's counters. swze's control API
 * (driver/include/swze.h) is reached with swze_api_load() on the driver the
 * loader already opened, never linked: on another driver it is absent, and
 * a benchmark that can still print times does (`present` 0). */
#ifndef BENCH_HARNESS_COUNTERS_H
#define BENCH_HARNESS_COUNTERS_H

#include "harness.h"

#include <swze.h>

struct bench_swze {
	struct swze_api api;
	int present;
};

/* After zeInit only: the loader has then opened the driver, and the helper
 * finds that very instance (its counters) rather than a second copy. */
static inline int bench_swze_load(struct bench_swze *s)
{
	s->present = swze_api_load(&s->api) == 0;
	return s->present;
}

/* For the programs that only make sense on swze (its models, its caps). */
static inline void bench_swze_require(struct bench_swze *s, const char *program)
{
	if (!bench_swze_load(s)) {
		fprintf(stderr, "%s: needs the software driver's control API (swze)\n", program);
		exit(1);
	}
}

/* The backend swze runs on ("cpu", "cuda"), or NULL on another driver. */
static inline const char *bench_swze_backend(const struct bench_swze *s)
{
	return s->present ? s->api.backend() : NULL;
}

/* Inline and threaded modes, the bandwidth model: the cpu backend's. */
static inline int bench_swze_cpu(const struct bench_swze *s)
{
	const char *backend = bench_swze_backend(s);
	return backend != NULL && strcmp(backend, "cpu") == 0;
}

/* Every entry point a request path could plausibly use: the per-function
 * figures are only as complete as this list, so it errs on the long side. */
#define BENCH_CALL_NAMES 44
static inline const char *bench_call_name(size_t i)
{
	static const char *const names[BENCH_CALL_NAMES] = {
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
	return names[i];
}

/* Driver calls by entry point (all 0 without swze). */
struct bench_calls {
	uint64_t n[BENCH_CALL_NAMES];
};

static inline void bench_calls_reset(const struct bench_swze *s)
{
	if (s->present)
		s->api.counters_reset();
}

static inline void bench_calls_read(const struct bench_swze *s, struct bench_calls *c)
{
	for (size_t i = 0; i < BENCH_CALL_NAMES; i++)
		c->n[i] = s->present ? s->api.call_count(bench_call_name(i)) : 0;
}

/* a -= b */
static inline void bench_calls_sub(struct bench_calls *a, const struct bench_calls *b)
{
	for (size_t i = 0; i < BENCH_CALL_NAMES; i++)
		a->n[i] -= b->n[i];
}

static inline uint64_t bench_calls_total(const struct bench_calls *c)
{
	uint64_t t = 0;
	for (size_t i = 0; i < BENCH_CALL_NAMES; i++)
		t += c->n[i];
	return t;
}

static inline uint64_t bench_calls_of(const struct bench_calls *c, const char *name)
{
	for (size_t i = 0; i < BENCH_CALL_NAMES; i++)
		if (!strcmp(bench_call_name(i), name))
			return c->n[i];
	return 0;
}

/* A line of per-request driver calls: the total, then each entry point
 * called (its name without "ze"), divided by `per`. */
static inline void bench_calls_print(const struct bench_swze *s, const char *label, const struct bench_calls *c,
                                     double per)
{
	if (!s->present) {
		printf("    %s: driver counters unavailable\n", label);
		return;
	}
	printf("    %s: %.2f total", label, (double)bench_calls_total(c) / per);
	for (size_t i = 0; i < BENCH_CALL_NAMES; i++)
		if (c->n[i])
			printf(", %s %.*f", bench_call_name(i) + 2, (double)c->n[i] / per < 0.1 ? 4 : 2,
			       (double)c->n[i] / per);
	printf("\n");
	fflush(stdout);
}

/* Live driver objects of every kind a dma makes. */
static inline uint64_t bench_live_total(const struct bench_swze *s)
{
	static const char *const kinds[] = {"context", "command_list", "event_pool", "event", "allocation"};
	uint64_t t = 0;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		t += s->api.live_count(kinds[i]);
	return t;
}

#endif
