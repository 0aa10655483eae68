/* The benchmark harness, its core: what every C benchmark and driver
 * benchmark program shares, in plain C and libc alone (it builds on the GPU
 * machine and against the CUDA model): failing calls, the clock, the
 * statistics of rounds, CPU pinning. The rest of the harness sits beside it,
 * one concern a header, each including this one:
 *   ze.h        the Level Zero session (driver, devices, context, memory,
 *               an immediate list, a host-visible event)
 *   counters.h  the software driver's counters (call counts, live objects)
 *   cuda.h      the CUDA primary context (with CUDA's own cuda.h)
 *   sweep.h     the bandwidth sweep: sizes, timing of a point, table, CSV
 * Header-only (static inline): a program includes what it uses, and its make
 * rule stays one command. A program defines _GNU_SOURCE before its first
 * include (pinning needs sched_setaffinity). */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE before the first include"
#endif

#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- failing calls: every benchmark asserts that its calls succeed ---- */

static inline void bench_call_failed(const char *call, long long result, const char *file, int line)
{
	fprintf(stderr, "%s:%d: %s failed: %lld (%#llx)\n", file, line, call, result, (unsigned long long)result);
	exit(1);
}

/* `call` returns 0 on success (ze_result_t, AML's codes, CUresult), else the
 * program ends, naming the call and its result. */
#define BENCH_CALL(call)                                                                                               \
	do {                                                                                                           \
		__typeof__(call) bench_r_ = (call); /* its own type: no widening in a measured loop */              \
		if (bench_r_ != 0)                                                                                     \
			bench_call_failed(#call, (long long)bench_r_, __FILE__, __LINE__);                             \
	} while (0)
#define ZE(call) BENCH_CALL(call)
#define AML(call) BENCH_CALL(call)
#define CU(call) BENCH_CALL(call)

/* malloc that ends the program when memory is short. */
static inline void *bench_malloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p) {
		fprintf(stderr, "bench: out of memory (%zu bytes)\n", size);
		exit(1);
	}
	return p;
}

/* ---- the clock ---- */

/* Nanoseconds on the monotonic clock. */
static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Seconds on the monotonic clock. */
static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- statistics of rounds ---- */

static inline int bench_by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The median of `n` figures, which stay in their order (an even count: the
 * mean of the middle two); 0 for none. */
static inline double bench_median(const double *values, int n)
{
	if (n <= 0)
		return 0;
	double *v = bench_malloc((size_t)n * sizeof *v);
	memcpy(v, values, (size_t)n * sizeof *v);
	qsort(v, (size_t)n, sizeof *v, bench_by_value);
	double m = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	free(v);
	return m;
}

static inline double bench_min(const double *v, int n)
{
	double m = n ? v[0] : 0;
	for (int i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static inline double bench_max(const double *v, int n)
{
	double m = n ? v[0] : 0;
	for (int i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

/* The figures of a case's runs, in the order taken. */
#define BENCH_MAX_RUNS 64
struct bench_series {
	double v[BENCH_MAX_RUNS];
	int n;
};

static inline void bench_series_add(struct bench_series *s, double v)
{
	if (s->n < BENCH_MAX_RUNS)
		s->v[s->n++] = v;
}

static inline double bench_series_median(const struct bench_series *s)
{
	return bench_median(s->v, s->n);
}

static inline double bench_series_min(const struct bench_series *s)
{
	return bench_min(s->v, s->n);
}

static inline double bench_series_max(const struct bench_series *s)
{
	return bench_max(s->v, s->n);
}

/* ---- CPU pinning ---- */

/* Every thread of the process on CPU `cpu` (none if negative). Called before
 * any thread exists, so that the driver's engine threads inherit it: with
 * every thread on one CPU, the floor and the dma see the same hand-off
 * between threads, instead of whatever placement the scheduler picked for
 * each list's engine on a shared machine. */
static inline void bench_pin(int cpu, const char *program)
{
	if (cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set)) {
		fprintf(stderr, "%s: ", program);
		perror("sched_setaffinity");
		exit(1);
	}
}

/* The one-minute load average, -1 where /proc/loadavg cannot be read. */
static inline double bench_load_average(void)
{
	double load = -1;
	FILE *la = fopen("/proc/loadavg", "r");
	if (la) {
		if (fscanf(la, "%lf", &load) != 1)
			load = -1;
		fclose(la);
	}
	return load;
}

#endif
