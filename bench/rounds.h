/* What the benchmarks that time rounds share: the clock and the median of
 * a round's figures. */
#ifndef BENCH_ROUNDS_H
#define BENCH_ROUNDS_H

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds on the monotonic clock. */
static inline double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int rounds_by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The median of `n` figures (at most 64), which stay in their order. */
static inline double median(const double *values, int n)
{
	double v[64];
	memcpy(v, values, (size_t)n * sizeof *v);
	qsort(v, (size_t)n, sizeof *v, rounds_by_value);
	return v[n / 2];
}

#endif
