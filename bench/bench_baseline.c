/* The dma against the baselines a Max GPU user has, on swze's device model
 * with what Intel's driver does with each copy (the main copy engine's
 * split, copy kernels on compute lists, CPU copies of small ones; or none
 * of it under SWZE_INTEL_POLICIES=0). Device 0, USM host memory, every
 * figure a median of paired rounds, printed as a ratio. Asserts only that
 * every call succeeded and that the bytes arrived.
 *
 * The dmas:
 *   main      one queue, ordinal 1 index 0: upstream's one list on the main
 *             copy engine, the ordinal the seed names as the default
 *   link      one queue, ordinal 2 index 0: one link copy engine
 *   default   one queue, ordinal 0 index 0: AML's default dma (aml_init
 *             makes aml_dma_ze_default so), a compute list
 *   ours      every copy engine of the device (ordinal 1, index -1)
 *
 * The faithful baseline: main against the link cap each way and against
 * link; default within a stack's memory against the memory cap. Then ours
 * against main and against default, row by row: one copy of SIZE each way,
 * a stream of 1 MiB chunks one way (all in flight, then waited), both ways
 * at once, synchronous 64 B requests, one copy within the device. */
#define _GNU_SOURCE
#include <aml/dma/ze.h>

#include "harness/counters.h"
#include "harness/ze.h"

#define MiB ((size_t)1 << 20)
#define SIZE (16 * MiB)
#define CHUNK MiB
#define SMALL 64
#define SMALL_REQUESTS 2000
#define ROUNDS 5

static struct bench_ze ze;
static struct bench_swze swze;
static const char *label;

static double cap(const char *part)
{
	return swze.api.model_rate(part) / 1e9;
}

static void figure(const char *name, double value)
{
	printf("figure baseline_%s_%s %.2f\n", label, name, value);
}

enum dma_kind { MAIN, LINK, DEFAULT, OURS, DMAS };
static const char *const dma_names[DMAS] = {"main", "link", "default", "ours"};
static struct aml_dma *dmas[DMAS];

/* The buffers: host out and in, device in and out. */
static void *host_out, *host_in, *device_in, *device_out;

/* `count` copies of `size` bytes, the next one `size` bytes further on
 * each side, all in flight, then waited. */
static void copies(struct aml_dma *dma, void *to, void *from, size_t size, size_t count)
{
	struct aml_dma_request *req[64];
	for (size_t i = 0; i < count; i++)
		AML(aml_dma_ze_request_create(dma->data, &req[i], (struct aml_layout *)((char *)to + i * size),
		                              (struct aml_layout *)((char *)from + i * size), aml_dma_ze_memcpy_op,
		                              (void *)size));
	for (size_t i = 0; i < count; i++)
		AML(aml_dma_ze_request_wait(dma->data, &req[i]));
}

enum measure { TO_DEVICE, FROM_DEVICE, CHUNKS, BOTH_WAYS, SYNC_SMALL, LOCAL, MEASURES };
static const char *const measure_names[MEASURES] = {"to_device", "from_device", "chunks_1mib", "both_ways",
	"sync_64b", "device_local"};

/* One measure on one dma, GB/s (for synchronous 64 B requests: requests
 * per microsecond, so that a ratio reads the same way). */
static double run(enum measure m, struct aml_dma *dma)
{
	double start = bench_now();
	size_t bytes = SIZE;
	switch (m) {
	case TO_DEVICE:
		copies(dma, device_in, host_out, SIZE, 1);
		break;
	case FROM_DEVICE:
		copies(dma, host_in, device_out, SIZE, 1);
		break;
	case CHUNKS:
		copies(dma, device_in, host_out, CHUNK, SIZE / CHUNK);
		break;
	case BOTH_WAYS: {
		struct aml_dma_request *req[2];
		AML(aml_dma_ze_request_create(dma->data, &req[0], (struct aml_layout *)device_in,
		                              (struct aml_layout *)host_out, aml_dma_ze_memcpy_op, (void *)SIZE));
		AML(aml_dma_ze_request_create(dma->data, &req[1], (struct aml_layout *)host_in,
		                              (struct aml_layout *)device_out, aml_dma_ze_memcpy_op, (void *)SIZE));
		AML(aml_dma_ze_request_wait(dma->data, &req[0]));
		AML(aml_dma_ze_request_wait(dma->data, &req[1]));
		bytes = 2 * SIZE;
		break;
	}
	case SYNC_SMALL:
		for (int i = 0; i < SMALL_REQUESTS; i++)
			copies(dma, (char *)device_in + (i % 2) * SMALL, (char *)host_out + i * SMALL, SMALL, 1);
		return SMALL_REQUESTS / ((bench_now() - start) * 1e6);
	case LOCAL:
		copies(dma, device_in, device_out, SIZE, 1);
		break;
	case MEASURES:
		break;
	}
	return (double)bytes / (bench_now() - start) / 1e9;
}

/* Medians of paired rounds: every dma measured once per round, one round
 * first not counted. */
static void measure_all(enum measure m, double out[DMAS])
{
	double rates[DMAS][ROUNDS];
	for (int round = -1; round < ROUNDS; round++)
		for (int d = 0; d < DMAS; d++) {
			double rate = run(m, dmas[d]);
			if (round >= 0)
				rates[d][round] = rate;
		}
	for (int d = 0; d < DMAS; d++)
		out[d] = bench_median(rates[d], ROUNDS);
}

static void check_bytes(void)
{
	for (size_t i = 0; i < SIZE; i++)
		((unsigned char *)host_out)[i] = (unsigned char)(i * 7 + (i >> 16));
	for (int d = 0; d < DMAS; d++) {
		memset(host_in, 0, SIZE);
		copies(dmas[d], device_in, host_out, SIZE, 1);
		copies(dmas[d], device_out, device_in, SIZE, 1);
		copies(dmas[d], host_in, device_out, SIZE, 1);
		if (memcmp(host_in, host_out, SIZE) != 0) {
			fprintf(stderr, "bench_baseline: the bytes did not arrive through %s\n", dma_names[d]);
			exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	label = argc > 1 ? argv[1] : NULL;
	bench_ze_open(&ze, 1);
	bench_swze_require(&swze, "bench_baseline");
	swze.api.set_bandwidth_model(1);
	if (label == NULL)
		label = swze.api.device_model();
	host_out = bench_host_alloc(ze.context, SIZE, 64);
	host_in = bench_host_alloc(ze.context, SIZE, 64);
	device_in = bench_device_alloc(ze.context, ze.device, SIZE, 64);
	device_out = bench_device_alloc(ze.context, ze.device, SIZE, 64);

	/* A Flex has no link copy engine: its "link" dma is the main one. */
	uint32_t groups = 0;
	ZE(zeDeviceGetCommandQueueGroupProperties(ze.device, &groups, NULL));
	AML(aml_dma_ze_create(&dmas[MAIN], ze.device, 1, 0));
	AML(aml_dma_ze_create(&dmas[LINK], ze.device, groups > 2 ? 2 : 1, 0));
	AML(aml_dma_ze_create(&dmas[DEFAULT], ze.device, 0, 0));
	AML(aml_dma_ze_create(&dmas[OURS], ze.device, 1, -1));
	check_bytes();

	double r[MEASURES][DMAS];
	for (enum measure m = 0; m < MEASURES; m++)
		measure_all(m, r[m]);

	printf("%s: %zu MiB copies, USM host memory, medians of %d paired rounds (GB/s; sync_64b: requests/us)\n",
	       label, SIZE / MiB, ROUNDS);
	printf("  %-13s %9s %9s %9s %9s   ours/main ours/default\n", "", "main", "link", "default", "ours");
	for (enum measure m = 0; m < MEASURES; m++)
		printf("  %-13s %9.3f %9.3f %9.3f %9.3f   %9.2f %12.2f\n", measure_names[m], r[m][MAIN], r[m][LINK],
		       r[m][DEFAULT], r[m][OURS], r[m][OURS] / r[m][MAIN], r[m][OURS] / r[m][DEFAULT]);
	printf("  the baseline: main %.2f / %.2f of the link cap (to / from the device), %.2fx / %.2fx one link engine;"
	       " default within the device %.2f of the memory cap\n",
	       r[TO_DEVICE][MAIN] / cap("link_to_device"), r[FROM_DEVICE][MAIN] / cap("link_from_device"),
	       r[TO_DEVICE][MAIN] / r[TO_DEVICE][LINK], r[FROM_DEVICE][MAIN] / r[FROM_DEVICE][LINK],
	       r[LOCAL][DEFAULT] / cap("stack_memory_copy"));
	figure("main_to_device_ratio_vs_link_cap", r[TO_DEVICE][MAIN] / cap("link_to_device"));
	figure("main_from_device_ratio_vs_link_cap", r[FROM_DEVICE][MAIN] / cap("link_from_device"));
	figure("main_to_device_ratio_vs_link_engine", r[TO_DEVICE][MAIN] / r[TO_DEVICE][LINK]);
	figure("main_from_device_ratio_vs_link_engine", r[FROM_DEVICE][MAIN] / r[FROM_DEVICE][LINK]);
	figure("default_device_local_ratio_vs_memory_cap", r[LOCAL][DEFAULT] / cap("stack_memory_copy"));
	for (enum measure m = 0; m < MEASURES; m++) {
		char name[96];
		snprintf(name, sizeof name, "ours_%s_ratio_vs_main", measure_names[m]);
		figure(name, r[m][OURS] / r[m][MAIN]);
		snprintf(name, sizeof name, "ours_%s_ratio_vs_default", measure_names[m]);
		figure(name, r[m][OURS] / r[m][DEFAULT]);
	}

	for (int d = 0; d < DMAS; d++)
		AML(aml_dma_ze_destroy(&dmas[d]));
	ZE(zeMemFree(ze.context, host_out));
	ZE(zeMemFree(ze.context, host_in));
	ZE(zeMemFree(ze.context, device_in));
	ZE(zeMemFree(ze.context, device_out));
	bench_ze_close(&ze);
	return 0;
}
