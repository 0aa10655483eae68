/* The dma on a modelled Intel machine (swze's device models and bandwidth
 * model, cpu backend): one run per model, every figure a median of paired
 * rounds, printed as ratios, GB/s as this machine moves them and [scaled
 * back] to the product's. Asserts only that every call succeeded and
 * that the bytes arrived.
 *
 * Every run (device 0, dmas on ordinal 1, the main copy engine):
 *   one stack, host -> device, device -> host, both ways at once, through
 *   the one-queue dma (index 0, no variable: upstream's one list) and the
 *   dma over every copy engine (AML_DMA_ZE_QUEUES=all): each as a ratio to
 *   the modelled link cap, and every queue against one queue.
 * --node (Max 1550, FLAT, 6 cards: 12 root devices, stacks 2c and 2c+1 on
 *   card c): one dma per stack, one thread each, all at once, as a ratio to
 *   one stack alone, beside the published table's ratio; and stack 1 to
 *   stack 0 of a card, one way (one dma) and both ways (a dma per stack),
 *   as ratios to the modelled caps.
 * --csv FILE appends one row per figure (a header row first if the file
 *   is empty): model,figure,published_gbps,modelled_gbps,one_queue_gbps,
 *   the last two scaled back by the model's scale (one_queue: the one-queue
 *   dma on the main copy engine, 0 where not measured). The lines printed
 *   give the modelled GB/s this machine moves and, in brackets, the same
 *   scaled back to the product's. */
#define _GNU_SOURCE
#include <pthread.h>

#include <aml/dma/ze.h>

#include "harness/counters.h"
#include "harness/ze.h"

#define MiB ((size_t)1 << 20)
#define ROUNDS 5
#define MAX_STACKS BENCH_ZE_MAX_DEVICES

static struct bench_ze ze;
static struct bench_swze swze;
static const char *model;
static FILE *csv;


/* A modelled rate in GB/s as the model scales it (what this machine moves). */
static double cap(const char *part)
{
	return swze.api.model_rate(part) / 1e9;
}

/* The model's scale: a published figure over the rate it becomes. */
static double scale(void)
{
	return swze.api.model_measured("one_stack_to_device") / cap("link_to_device");
}

static void figure(const char *name, double value)
{
	printf("figure topology_%s_%s %.2f\n", model, name, value);
}

/* `one_queue` 0: not measured for this figure. */
static void row(const char *name, double published, double modelled, double one_queue)
{
	if (csv)
		fprintf(csv, "%s,%s,%.1f,%.1f,%.1f\n", model, name, published, modelled * scale(), one_queue * scale());
}

/* One dma on ordinal 1 of `device`: every copy engine, or index 0 alone. */
static struct aml_dma *make_dma(ze_device_handle_t device, int every_engine)
{
	struct aml_dma *dma = NULL;
	if (every_engine)
		setenv("AML_DMA_ZE_QUEUES", "all", 1);
	AML(aml_dma_ze_create(&dma, device, 1, 0));
	unsetenv("AML_DMA_ZE_QUEUES");
	return dma;
}

/* One stack's buffers: host memory each way, device memory each way. */
struct buffers {
	size_t size;
	void *host_out, *host_in;
	void *device_in, *device_out;
};

static void *host_alloc(size_t size)
{
	return bench_host_alloc(ze.context, size, 64);
}

static void *device_alloc(ze_device_handle_t device, size_t size)
{
	return bench_device_alloc(ze.context, device, size, 64);
}

static struct buffers buffers_on(ze_device_handle_t device, size_t size)
{
	struct buffers b = {.size = size, .host_out = host_alloc(size), .host_in = host_alloc(size)};
	b.device_in = device_alloc(device, size);
	b.device_out = device_alloc(device, size);
	memset(b.host_out, 0x5a, size);
	return b;
}

static void buffers_free(struct buffers *b)
{
	ZE(zeMemFree(ze.context, b->host_out));
	ZE(zeMemFree(ze.context, b->host_in));
	ZE(zeMemFree(ze.context, b->device_in));
	ZE(zeMemFree(ze.context, b->device_out));
}

enum way { TO_DEVICE, FROM_DEVICE, BOTH_WAYS };
static const char *const way_names[] = {"to_device", "from_device", "both"};
static const char *const link_caps[] = {"link_to_device", "link_from_device", "link_both"};
static const char *const measured_one[] = {"one_stack_to_device", "one_stack_from_device", "one_stack_both"};
static const char *const measured_node[] = {"node_to_device", "node_from_device", "node_both"};

/* The copies of one way (or both, one request each way, in flight
 * together), then their waits. Returns the bytes moved. */
static size_t move(struct aml_dma *dma, struct buffers *b, enum way way)
{
	struct aml_dma_request *req[2] = {NULL, NULL};
	int n = 0;
	if (way != FROM_DEVICE)
		AML(aml_dma_ze_request_create(dma->data, &req[n++], b->device_in, b->host_out, aml_dma_ze_memcpy_op,
		                              (void *)b->size));
	if (way != TO_DEVICE)
		AML(aml_dma_ze_request_create(dma->data, &req[n++], b->host_in, b->device_out, aml_dma_ze_memcpy_op,
		                              (void *)b->size));
	for (int i = 0; i < n; i++)
		AML(aml_dma_ze_request_wait(dma->data, &req[i]));
	return (size_t)n * b->size;
}

static double rate_of(struct aml_dma *dma, struct buffers *b, enum way way)
{
	double start = bench_now();
	size_t bytes = move(dma, b, way);
	return (double)bytes / (bench_now() - start) / 1e9;
}

/* The bytes arrived: the device buffer copied in, copied back out, equals
 * what was sent (outside any timing). */
static void check_bytes(struct aml_dma *dma, struct buffers *b)
{
	struct aml_dma_request *req = NULL;
	AML(aml_dma_ze_request_create(dma->data, &req, b->device_in, b->host_out, aml_dma_ze_memcpy_op, (void *)b->size));
	AML(aml_dma_ze_request_wait(dma->data, &req));
	memset(b->host_in, 0, b->size);
	AML(aml_dma_ze_request_create(dma->data, &req, b->host_in, b->device_in, aml_dma_ze_memcpy_op, (void *)b->size));
	AML(aml_dma_ze_request_wait(dma->data, &req));
	if (memcmp(b->host_in, b->host_out, b->size) != 0) {
		fprintf(stderr, "bench_topology: the bytes did not arrive\n");
		exit(1);
	}
}

/* One stack alone, each way and both: the dma over every copy engine
 * against the modelled link cap and against the one-queue dma, paired
 * rounds (one round first, not counted). Returns every engine's medians. */
static void one_stack(size_t size, double every_out[3])
{
	struct buffers b = buffers_on(ze.devices[0], size);
	struct aml_dma *one = make_dma(ze.devices[0], 0), *every = make_dma(ze.devices[0], 1);
	check_bytes(every, &b);
	printf("%s: one stack, %zu MiB a copy, dmas on ordinal 1; medians of %d paired rounds\n", model, size / MiB,
	       ROUNDS);
	for (enum way way = TO_DEVICE; way <= BOTH_WAYS; way++) {
		double r1[ROUNDS], re[ROUNDS], gain[ROUNDS];
		for (int round = -1; round < ROUNDS; round++) {
			double a = rate_of(one, &b, way), e = rate_of(every, &b, way);
			if (round >= 0)
				r1[round] = a, re[round] = e, gain[round] = e / a;
		}
		double link = cap(link_caps[way]), m1 = bench_median(r1, ROUNDS), me = bench_median(re, ROUNDS);
		every_out[way] = me;
		printf("  %-11s one queue %.3f GB/s [%.1f], every copy engine %.3f GB/s [%.1f], link cap %.3f GB/s [%.1f]: "
		       "%.2f of the cap, %.2fx one queue\n",
		       way_names[way], m1, m1 * scale(), me, me * scale(), link, link * scale(), me / link,
		       bench_median(gain, ROUNDS));
		char name[64];
		snprintf(name, sizeof name, "one_stack_%s_ratio_vs_link_cap", way_names[way]);
		figure(name, me / link);
		snprintf(name, sizeof name, "one_stack_%s_ratio_vs_one_queue", way_names[way]);
		figure(name, bench_median(gain, ROUNDS));
		snprintf(name, sizeof name, "one_stack_%s", way_names[way]);
		row(name, swze.api.model_measured(measured_one[way]), me, m1);
	}
	AML(aml_dma_ze_destroy(&one));
	AML(aml_dma_ze_destroy(&every));
	buffers_free(&b);
}

/* The node: one thread per stack, each with its own dma, released together
 * by a barrier each round; a round's rate is every byte over the time from
 * the release to the last thread's end. */
struct stack_run {
	pthread_t thread;
	struct aml_dma *dma;
	struct buffers b;
	enum way way;
	double end;
};

static pthread_barrier_t start_line, finish_line;
static double released;

static void *stack_thread(void *arg)
{
	struct stack_run *run = arg;
	for (int round = -1; round < ROUNDS; round++) {
		pthread_barrier_wait(&start_line);
		move(run->dma, &run->b, run->way);
		run->end = bench_now();
		pthread_barrier_wait(&finish_line);
		pthread_barrier_wait(&start_line); /* the main thread has read the ends */
	}
	return NULL;
}

static double whole_node(struct stack_run *runs, uint32_t stacks, enum way way)
{
	double rates[ROUNDS];
	pthread_barrier_init(&start_line, NULL, stacks + 1);
	pthread_barrier_init(&finish_line, NULL, stacks + 1);
	for (uint32_t s = 0; s < stacks; s++) {
		runs[s].way = way;
		if (pthread_create(&runs[s].thread, NULL, stack_thread, &runs[s]) != 0) {
			fprintf(stderr, "bench_topology: pthread_create\n");
			exit(1);
		}
	}
	for (int round = -1; round < ROUNDS; round++) {
		released = bench_now();
		pthread_barrier_wait(&start_line);
		pthread_barrier_wait(&finish_line);
		double last = released;
		size_t bytes = 0;
		for (uint32_t s = 0; s < stacks; s++) {
			last = runs[s].end > last ? runs[s].end : last;
			bytes += (way == BOTH_WAYS ? 2 : 1) * runs[s].b.size;
		}
		if (round >= 0)
			rates[round] = (double)bytes / (last - released) / 1e9;
		pthread_barrier_wait(&start_line);
	}
	for (uint32_t s = 0; s < stacks; s++)
		pthread_join(runs[s].thread, NULL);
	pthread_barrier_destroy(&start_line);
	pthread_barrier_destroy(&finish_line);
	return bench_median(rates, ROUNDS);
}

static void node(size_t size, const double one[3])
{
	uint32_t stacks = (uint32_t)swze.api.model_measured("node_cards") * 2;
	if (ze.device_count < stacks) {
		fprintf(stderr, "bench_topology --node: %u root devices, the node has %u stacks (SWZE_DEVICES, FLAT)\n",
		        ze.device_count, stacks);
		exit(1);
	}
	struct stack_run runs[MAX_STACKS];
	for (uint32_t s = 0; s < stacks; s++) {
		runs[s].dma = make_dma(ze.devices[s], 1);
		runs[s].b = buffers_on(ze.devices[s], size);
	}
	printf("%s: the node, %u stacks, one dma (every copy engine) and one thread each, %zu MiB a copy\n", model,
	       stacks, size / MiB);
	for (enum way way = TO_DEVICE; way <= BOTH_WAYS; way++) {
		double all = whole_node(runs, stacks, way);
		double published = swze.api.model_measured(measured_node[way]) / swze.api.model_measured(measured_one[way]);
		double shape = all / one[way] / published;
		printf("  %-11s %.3f GB/s [%.1f], %.2fx one stack (published %.2fx): %.2f of the published scaling\n",
		       way_names[way], all, all * scale(), all / one[way], published, shape);
		char name[64];
		snprintf(name, sizeof name, "node_%s_scaling_vs_published", way_names[way]);
		figure(name, shape);
		snprintf(name, sizeof name, "node_%s", way_names[way]);
		row(name, swze.api.model_measured(measured_node[way]), all, 0);
	}
	for (uint32_t s = 0; s < stacks; s++) {
		AML(aml_dma_ze_destroy(&runs[s].dma));
		buffers_free(&runs[s].b);
	}
}

/* Stack to stack within card 0 (root devices 0 and 1): stack 1's memory
 * to stack 0's through stack 0's dma; both ways, each stack's dma pulling
 * the other's memory, in flight together. */
static void stack_to_stack(size_t size)
{
	void *on[2][2];
	for (int s = 0; s < 2; s++)
		for (int i = 0; i < 2; i++)
			on[s][i] = device_alloc(ze.devices[s], size);
	struct aml_dma *dma[2] = {make_dma(ze.devices[0], 1), make_dma(ze.devices[1], 1)};
	double one_way[ROUNDS], both[ROUNDS];
	for (int round = -1; round < ROUNDS; round++) {
		struct aml_dma_request *req[2] = {NULL, NULL};
		double start = bench_now();
		AML(aml_dma_ze_request_create(dma[0]->data, &req[0], on[0][0], on[1][0], aml_dma_ze_memcpy_op, (void *)size));
		AML(aml_dma_ze_request_wait(dma[0]->data, &req[0]));
		double middle = bench_now();
		for (int s = 0; s < 2; s++)
			AML(aml_dma_ze_request_create(dma[s]->data, &req[s], on[s][1], on[1 - s][1], aml_dma_ze_memcpy_op,
			                              (void *)size));
		for (int s = 0; s < 2; s++)
			AML(aml_dma_ze_request_wait(dma[s]->data, &req[s]));
		if (round >= 0) {
			one_way[round] = (double)size / (middle - start) / 1e9;
			both[round] = 2.0 * (double)size / (bench_now() - middle) / 1e9;
		}
	}
	double o = bench_median(one_way, ROUNDS), b = bench_median(both, ROUNDS);
	printf("%s: stack 1 -> stack 0 of a card, %zu MiB: one way %.3f GB/s [%.1f] (%.2f of the cap %.3f), "
	       "both ways %.3f GB/s [%.1f] (%.2f of the cap %.3f)\n",
	       model, size / MiB, o, o * scale(), o / cap("stack_to_stack"), cap("stack_to_stack"), b, b * scale(),
	       b / cap("stack_to_stack_both"), cap("stack_to_stack_both"));
	figure("stack_to_stack_ratio_vs_cap", o / cap("stack_to_stack"));
	figure("stack_to_stack_both_ratio_vs_cap", b / cap("stack_to_stack_both"));
	row("stack_to_stack", swze.api.model_measured("stack_to_stack"), o, 0);
	row("stack_to_stack_both", swze.api.model_measured("stack_to_stack_both"), b, 0);
	for (int s = 0; s < 2; s++) {
		AML(aml_dma_ze_destroy(&dma[s]));
		for (int i = 0; i < 2; i++)
			ZE(zeMemFree(ze.context, on[s][i]));
	}
}

int main(int argc, char **argv)
{
	int whole = 0;
	size_t size = 32 * MiB;
	const char *label = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--node") == 0)
			whole = 1;
		else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc) {
			csv = fopen(argv[++i], "a");
			if (csv && ftell(csv) == 0)
				fprintf(csv, "model,figure,published_gbps,modelled_gbps,one_queue_gbps\n");
		}
		else if (strcmp(argv[i], "--label") == 0 && i + 1 < argc)
			label = argv[++i];
		else if (strcmp(argv[i], "--mib") == 0 && i + 1 < argc)
			size = (size_t)atoi(argv[++i]) * MiB;
		else {
			fprintf(stderr, "usage: bench_topology [--node] [--label NAME] [--mib N] [--csv FILE]\n");
			return 2;
		}
	}
	bench_ze_open(&ze, 1);
	bench_swze_require(&swze, "bench_topology");
	swze.api.set_bandwidth_model(1);
	model = label ? label : swze.api.device_model();
	double one[3];
	one_stack(size, one);
	if (whole) {
		node(size / 2, one);
		stack_to_stack(size);
	}
	if (csv)
		fclose(csv);
	bench_ze_close(&ze);
	return 0;
}
