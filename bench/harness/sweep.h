/* The benchmark harness: the bandwidth sweep. What the sweeps share
 * (bench/sweep.c through Level Zero, bench/gpu_sweep.c through raw CUDA): the sizes, the timing of one point,
 * the table on stdout and the CSV rows, so that rows of both programs can be
 * plotted side by side (bench/plot.py).
 *
 * A point is one (direction, size): each implementation runs one copy (or
 * one each way) and waits for it, timed one at a time, for the point's time
 * target, in SWEEP_ROUNDS blocks taken in turn with the other
 * implementations: a burst of other load on a shared machine then falls on
 * all of them rather than on one. The figure is the median, of at least
 * SWEEP_ROUNDS copies. Turns go by blocks, not copy by copy: alternating
 * copies would wake a different list's engine each time and slow every one
 * of them down, unlike an implementation measured alone in its own process
 * (the upstream model under LD_PRELOAD). */
#ifndef BENCH_HARNESS_SWEEP_H
#define BENCH_HARNESS_SWEEP_H

#include "harness.h"

/* 64 B to 256 MiB in steps of 4. */
#define SWEEP_MIN_BYTES ((size_t)64)
#define SWEEP_MAX_BYTES ((size_t)256 << 20)
#define SWEEP_ROUNDS 5
/* Below this, a block starts with an untimed copy, so that its first timed
 * one does not wake an engine gone to sleep; above, the copy itself is what
 * takes the time, and a warm-up would only double the point's cost. */
#define SWEEP_WARM_BELOW ((size_t)1 << 20)
#define SWEEP_MAX_SAMPLES 4000
#define SWEEP_MAX_IMPLS 4

enum sweep_direction { SWEEP_H2D, SWEEP_D2H, SWEEP_BOTH, SWEEP_DIRECTIONS };
static const char *const sweep_direction_names[SWEEP_DIRECTIONS] = {"h2d", "d2h", "both"};

/* One copy (both: one each way, at once) of `bytes`, returned once complete. */
typedef void (*sweep_copy_fn)(void *state, enum sweep_direction direction, size_t bytes);

struct sweep_impl {
	const char *name; /* the CSV's implementation column */
	sweep_copy_fn copy;
	void *state;
};

struct sweep_options {
	const char *csv;     /* appended to; header written when the file is new or empty */
	const char *backend; /* the CSV's backend column */
	double target_s;     /* per point and implementation */
	size_t max_bytes;
};

/* "64 B", "4 KiB", "256 MiB": every size of the sweep is a power of two. */
static inline const char *sweep_size_label(size_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB"};
	int u = 0;
	while (bytes >= 1024 && bytes % 1024 == 0 && u < 3) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, len, "%zu %s", bytes, units[u]);
	return buf;
}

/* Parses the options every sweep takes; returns the index of the first
 * argument it does not know, or argc. */
static inline int sweep_parse(int argc, char **argv, int first, struct sweep_options *o)
{
	int i = first;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--csv") && i + 1 < argc)
			o->csv = argv[++i];
		else if (!strcmp(argv[i], "--backend") && i + 1 < argc)
			o->backend = argv[++i];
		else if (!strcmp(argv[i], "--target-ms") && i + 1 < argc)
			o->target_s = atof(argv[++i]) / 1e3;
		else if (!strcmp(argv[i], "--max-bytes") && i + 1 < argc)
			o->max_bytes = strtoull(argv[++i], NULL, 0);
		else
			break;
	}
	return i;
}

/* The largest size the sweep reaches, a power-of-4 multiple of the first,
 * made the options' max_bytes. */
static inline size_t sweep_top(struct sweep_options *o)
{
	size_t top = SWEEP_MIN_BYTES;
	while (top * 4 <= o->max_bytes)
		top *= 4;
	o->max_bytes = top;
	return top;
}

static inline FILE *sweep_csv_open(const char *path)
{
	if (!path)
		return NULL;
	FILE *f = fopen(path, "a");
	if (!f) {
		perror(path);
		exit(1);
	}
	if (ftell(f) == 0)
		fprintf(f, "backend,implementation,direction,bytes,gbps,median_us\n");
	return f;
}

/* Every direction and size for the implementations given, a table line per
 * point on stdout and a CSV row per implementation and point. */
static inline void sweep_run(const struct sweep_options *o, const struct sweep_impl *impls, int nimpls)
{
	static double samples[SWEEP_MAX_IMPLS][SWEEP_MAX_SAMPLES];
	FILE *csv = sweep_csv_open(o->csv);
	char label[32];
	printf("%-5s %9s", "way", "bytes");
	for (int k = 0; k < nimpls; k++)
		printf("  %16s GB/s %10s %5s", impls[k].name, "median us", "runs");
	printf("\n");
	for (int d = 0; d < SWEEP_DIRECTIONS; d++) {
		for (size_t bytes = SWEEP_MIN_BYTES; bytes <= o->max_bytes; bytes *= 4) {
			/* Both ways move one buffer each way: bandwidth counts both. */
			double moved = (double)bytes * (d == SWEEP_BOTH ? 2 : 1);
			int n[SWEEP_MAX_IMPLS] = {0};
			for (int round = 0; round < SWEEP_ROUNDS; round++) {
				for (int k = 0; k < nimpls; k++) {
					/* the first also faults pages in and does any lazy set-up */
					if (round == 0 || bytes < SWEEP_WARM_BELOW)
						impls[k].copy(impls[k].state, (enum sweep_direction)d, bytes);
					double start = bench_now();
					for (int first = 1; n[k] < SWEEP_MAX_SAMPLES &&
					                    (first || bench_now() - start < o->target_s / SWEEP_ROUNDS);
					     first = 0) {
						double t0 = bench_now();
						impls[k].copy(impls[k].state, (enum sweep_direction)d, bytes);
						samples[k][n[k]++] = bench_now() - t0;
					}
				}
			}
			printf("%-5s %9s", sweep_direction_names[d], sweep_size_label(bytes, label, sizeof label));
			for (int k = 0; k < nimpls; k++) {
				double median_s = bench_median(samples[k], n[k]);
				double gbps = moved / median_s / 1e9;
				printf("  %21.3f %10.2f %5d", gbps, median_s * 1e6, n[k]);
				if (csv)
					fprintf(csv, "%s,%s,%s,%zu,%.4f,%.3f\n", o->backend, impls[k].name,
					        sweep_direction_names[d], bytes, gbps, median_s * 1e6);
			}
			printf("\n");
			fflush(stdout);
		}
	}
	if (csv && fclose(csv)) {
		perror(o->csv);
		exit(1);
	}
}

#endif
