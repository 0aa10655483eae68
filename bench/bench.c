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
 * The cases, each its own function, are in bench_latency.c (1-4) and
 * bench_bulk.c (5-8), the callgrind mode in bench_instr.c, what they share
 * (state, figures, rows) in bench_common.c; the clock,
 * statistics, Level Zero session, driver counters and pinning are the
 * harness's (bench/harness/).
 *
 * When the implementation under the bench is a whole libaml (it provides
 * aml_init), the bench calls aml_init() once before creating any dma and
 * aml_finalize() at the end: upstream's aml_dma_ze_create takes its driver
 * from the state aml_init() sets up and crashes without it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <inttypes.h>

#include "bench_common.h"

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
/* the measured run                                                    */

/* The cases of a mode, in the order they run and print. */
static const struct bench_case cases[] = {
	{"1-2 raw floor and sync request", case_sync_vs_raw, 0},
	{"3 fire-and-forget + barrier", case_fire_and_forget, 0},
	{"4 two threads", case_two_threads, 0},
	{"steady state of cases 2-4", end_small_cases, 0},
	{"5 bandwidth", case_bandwidth, 0},
	{"6 outstanding", case_outstanding, 0},
	{"7 tile", case_tile, 0},
	/* threaded mode only (the one closer to a GPU): slow under the bandwidth model */
	{"8 prepared host", case_prepared_host, 1},
};

static void run_mode(int inline_mode)
{
	struct mode m = {
		.name = !swze.present ? "driver"
		        : !bench_swze_cpu(&swze) ? swze.api.backend()
		        : inline_mode ? "inline"
		        : "threaded",
		/* Threaded mode keeps the required figure names: it is the one closer to a GPU. */
		.sfx = inline_mode ? "_inline" : "",
		.inline_mode = inline_mode,
	};
	if (swze.present)
		swze.api.set_inline(inline_mode);
	uint64_t live_before = swze.present ? bench_live_total(&swze) : 0;
	AML(aml_dma_ze_create(&m.dma, session.device, 0, 0));
	m.ctx = dma_context(m.dma);
	m.src = host_alloc(m.ctx, 4096);
	m.dst = device_alloc(m.ctx, 4096);
	memset(m.src, 0x5a, 4096);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (cases[i].threaded_only && inline_mode)
			continue;
		cases[i].run(&m);
	}
	AML(aml_dma_ze_destroy(&m.dma));
	if (swze.present) {
		/* A destroyed dma must leave no Level Zero object behind. */
		uint64_t live_after = bench_live_total(&swze);
		printf("    objects alive after destroy vs before the mode: %+" PRId64 "\n",
		       (int64_t)(live_after - live_before));
		figure("objects_leaked_after_destroy", m.sfx, "%.0f", (double)(int64_t)(live_after - live_before));
	}
	fflush(stdout);
}

/* ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
	        "usage: bench [--runs N] [--quick] [--mode inline|threaded|both] [--pin CPU]\n"
	        "       bench --instr %s [--iters N]\n",
	        instr_kinds());
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
			if (g_runs < 1 || g_runs > BENCH_MAX_RUNS)
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

	/* Before any thread exists, so the driver's engine threads inherit it. */
	bench_pin(pin, "bench");
	aml_lib_init(&argc, &argv);
	bench_ze_open(&session, 0);
	floor_scope = bench_upstream_scope(session.device);
	bench_swze_load(&swze);
	if (instr) {
		int rc = instr_mode(instr, iters);
		aml_lib_finalize();
		return rc;
	}

	double load = bench_load_average();
	char where[32] = "unpinned";
	if (pin >= 0)
		snprintf(where, sizeof where, "all threads on CPU %d", pin);
	printf("aml_dma_ze bench: %d runs per case; %s; load average %.2f; driver counters %s\n", g_runs, where, load,
	       swze.present ? "available (libswze)" : "unavailable: driver-call figures not measured, one mode only");
	printf("%-34s %-8s %12s %12s %12s  %s\n", "case", "mode", "median", "min", "max", "unit");
	int do_inline = strcmp(modes, "threaded") != 0;
	int do_threaded = strcmp(modes, "inline") != 0;
	if (!swze.present || !bench_swze_cpu(&swze)) {
		run_mode(0);
	} else {
		if (do_inline)
			run_mode(1);
		if (do_threaded)
			run_mode(0);
	}
	printf("\n");
	print_figures();
	aml_lib_finalize();
	return 0;
}
