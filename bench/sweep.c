/*
 * Bandwidth against transfer size through Level Zero: the dma (one request
 * per copy, then wait) beside the raw Level Zero floor on the same driver
 * (an immediate list, append copy signalling an event, host synchronize,
 * reset), 64 B to 256 MiB, host->device, device->host and both at once.
 *
 * Only the public ABI of the dma is called, so the same binary measures any
 * implementation put under it with LD_PRELOAD; `--implementation NAME
 * --no-raw` then labels its rows and leaves out the floor, which the run
 * without the preload already has.
 *
 * Each way has its own copy engine, for the dma and the floor alike: a dma on
 * (1, 0) (the main copy engine of Intel's data-center GPUs) moves
 * host->device, one on the next copy engine device->host ((1, 1) where
 * ordinal 1 has several queues, else the first queue of the next copy-only
 * group: (2, 0), a link copy engine, on a Max GPU), and the floor's two lists
 * sit on the same two queues in the dmas' contexts, on the very same
 * buffers. "Both" makes one request on each dma (one append on each list),
 * then waits for both.
 *
 *   sweep [--implementation NAME] [--no-raw] [--pin CPU]
 *         [--csv FILE] [--backend NAME] [--target-ms MS] [--max-bytes N]
 *
 * A benchmark: prints figures, asserts only that calls succeed and that a
 * round trip through each queue brings the bytes back. Built and run by
 * `make sweep` (cpu backend) and `make bench-gpu` (cuda backend).
 */
#define _GNU_SOURCE
#include <aml/dma/ze.h>

#include "harness/counters.h"
#include "harness/sweep.h"
#include "harness/ze.h"

/* The main copy engine's group on Intel's data-center GPUs and on swze. */
#define COPY_ORDINAL 1

/* Side 0's queue is (COPY_ORDINAL, 0); side 1's the next copy engine. */
static void side_queue(ze_device_handle_t device, int side, uint32_t *ordinal, uint32_t *index)
{
	ze_command_queue_group_properties_t groups[16];
	uint32_t count = 0;
	*ordinal = COPY_ORDINAL, *index = 0;
	if (side == 0)
		return;
	ZE(zeDeviceGetCommandQueueGroupProperties(device, &count, NULL));
	count = count < 16 ? count : 16;
	for (uint32_t i = 0; i < count; i++)
		groups[i] = (ze_command_queue_group_properties_t){.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_GROUP_PROPERTIES};
	ZE(zeDeviceGetCommandQueueGroupProperties(device, &count, groups));
	if (COPY_ORDINAL < count && groups[COPY_ORDINAL].numQueues >= 2) {
		*index = 1;
		return;
	}
	for (uint32_t o = COPY_ORDINAL + 1; o < count; o++)
		if (!(groups[o].flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE) &&
		    (groups[o].flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY)) {
			*ordinal = o;
			return;
		}
	fprintf(stderr, "sweep: the device has a single copy engine; both ways share it\n");
}

/* One way's queue: side 0 moves host->device, side 1 device->host. */
struct side {
	struct aml_dma *dma;
	ze_context_handle_t context;
	ze_command_list_handle_t list; /* the floor's, on the dma's queue */
	struct bench_event event;
	void *src, *dst;
};

static struct side sides[2];

static void dma_start(struct side *s, struct aml_dma_request **req, void *dst, void *src, size_t bytes)
{
	AML(s->dma->ops->create_request(s->dma->data, req, (struct aml_layout *)dst, (struct aml_layout *)src,
	                                aml_dma_ze_memcpy_op, (void *)bytes));
}

static void dma_wait(struct side *s, struct aml_dma_request **req)
{
	/* wait_request also destroys the request, as AML's aml_dma_wait expects. */
	AML(s->dma->ops->wait_request(s->dma->data, req));
}

static void raw_start(struct side *s, void *dst, void *src, size_t bytes)
{
	ZE(zeCommandListAppendMemoryCopy(s->list, dst, src, bytes, s->event.event, 0, NULL));
}

static void raw_wait(struct side *s)
{
	ZE(zeEventHostSynchronize(s->event.event, UINT64_MAX));
	ZE(zeEventHostReset(s->event.event));
}

static void dma_copy(void *state, enum sweep_direction d, size_t bytes)
{
	(void)state;
	struct aml_dma_request *req[2] = {NULL, NULL};
	for (int i = 0; i < 2; i++)
		if (d == SWEEP_BOTH || (int)d == i)
			dma_start(&sides[i], &req[i], sides[i].dst, sides[i].src, bytes);
	for (int i = 0; i < 2; i++)
		if (req[i])
			dma_wait(&sides[i], &req[i]);
}

static void raw_copy(void *state, enum sweep_direction d, size_t bytes)
{
	(void)state;
	for (int i = 0; i < 2; i++)
		if (d == SWEEP_BOTH || (int)d == i)
			raw_start(&sides[i], sides[i].dst, sides[i].src, bytes);
	for (int i = 0; i < 2; i++)
		if (d == SWEEP_BOTH || (int)d == i)
			raw_wait(&sides[i]);
}

/* Host buffer of the side -> its device buffer -> the host buffer's other
 * half, by the dma and by the floor: a fast path that moves nothing must not
 * pass for a fast one. Works on any driver: the host reads host memory only. */
static void round_trip_check(struct side *s, unsigned char *host, void *device, size_t half, int with_raw)
{
	for (int k = 0; k < (with_raw ? 2 : 1); k++) {
		for (size_t i = 0; i < half; i++)
			host[i] = (unsigned char)(i * 7 + 1 + k);
		memset(host + half, 0, half);
		if (k == 0) {
			struct aml_dma_request *req = NULL;
			dma_start(s, &req, device, host, half);
			dma_wait(s, &req);
			dma_start(s, &req, host + half, device, half);
			dma_wait(s, &req);
		} else {
			raw_start(s, device, host, half);
			raw_wait(s);
			raw_start(s, host + half, device, half);
			raw_wait(s);
		}
		if (memcmp(host, host + half, half) != 0) {
			fprintf(stderr, "sweep: %s round trip of %zu bytes came back different\n",
			        k == 0 ? "dma" : "raw", half);
			exit(1);
		}
	}
}

static void side_open(struct side *s, ze_device_handle_t device, int side, size_t bytes, int with_raw)
{
	uint32_t ordinal, index;
	side_queue(device, side, &ordinal, &index);
	AML(aml_dma_ze_create(&s->dma, device, (int)ordinal, (int)index));
	/* Buffers from the dma's own context: on a real GPU they must be. */
	s->context = ((struct aml_dma_ze_data *)(void *)s->dma->data)->context;
	void *host = bench_host_alloc(s->context, bytes, 4096);
	void *dev = bench_device_alloc(s->context, device, bytes, 4096);
	s->src = side == 0 ? host : dev;
	s->dst = side == 0 ? dev : host;
	if (with_raw) {
		/* The queue and event scope of the dma: only the request path differs. */
		s->list = bench_immediate_list(s->context, device, ordinal, index, ZE_COMMAND_QUEUE_FLAG_EXPLICIT_ONLY);
		bench_event_open(&s->event, s->context, device, bench_upstream_scope(device));
	}
	round_trip_check(s, host, dev, bytes / 2, with_raw);
}

static void side_close(struct side *s)
{
	if (s->list) {
		bench_event_close(&s->event);
		ZE(zeCommandListDestroy(s->list));
	}
	ze_context_handle_t context = s->context;
	ZE(zeMemFree(context, s->src));
	ZE(zeMemFree(context, s->dst));
	/* Destroys the context too: the buffers went first. */
	AML(aml_dma_ze_destroy(&s->dma));
}

static void usage(void)
{
	fprintf(stderr, "usage: sweep [--implementation NAME] [--no-raw] [--pin CPU]\n"
	                "             [--csv FILE] [--backend NAME] [--target-ms MS] [--max-bytes N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sweep_options o = {.target_s = 0.03, .max_bytes = SWEEP_MAX_BYTES};
	const char *implementation = "ours";
	int with_raw = 1, pin = -1;
	for (int i = 1; i < argc; i++) {
		i = sweep_parse(argc, argv, i, &o);
		if (i >= argc)
			break;
		if (!strcmp(argv[i], "--implementation") && i + 1 < argc)
			implementation = argv[++i];
		else if (!strcmp(argv[i], "--no-raw"))
			with_raw = 0;
		else if (!strcmp(argv[i], "--pin") && i + 1 < argc)
			pin = atoi(argv[++i]);
		else
			usage();
	}
	if (o.max_bytes < SWEEP_MIN_BYTES || o.target_s <= 0)
		usage();

	/* Before any thread exists, so that the driver's engine threads inherit it. */
	bench_pin(pin, "sweep");
	struct bench_ze ze;
	struct bench_swze swze;
	bench_ze_open(&ze, 0);
	if (!o.backend)
		o.backend = bench_swze_load(&swze) && bench_swze_backend(&swze) ? bench_swze_backend(&swze) : "unknown";
	size_t top = sweep_top(&o);
	for (int i = 0; i < 2; i++)
		side_open(&sides[i], ze.device, i, top, with_raw);
	printf("sweep: %s on the %s backend, %.0f ms per point, %s; round trips of %zu bytes verified\n", implementation,
	       o.backend, o.target_s * 1e3, pin >= 0 ? "all threads on one CPU" : "unpinned", top / 2);

	struct sweep_impl impls[2] = {{implementation, dma_copy, NULL}, {"raw_level_zero", raw_copy, NULL}};
	sweep_run(&o, impls, with_raw ? 2 : 1);

	for (int i = 0; i < 2; i++)
		side_close(&sides[i]);
	return 0;
}
