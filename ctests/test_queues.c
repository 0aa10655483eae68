/* One dma over every copy engine of the device (index -1 on the copy group:
 * on the Max 1550 model the main copy engine and the 7 link copy engines):
 * split copies at and around the split threshold and across part
 * boundaries, each way keeping to its half of the lists while copies go
 * both ways, a barrier over every list, request_destroy of a split request
 * in flight, a fault in the second part of a split, and 8 threads of random
 * mixed-direction copies, every byte verified. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <aml/dma/ze.h>

#include "check.h"
#include "driver_ctl.h"
#include "pattern.h"
#include "sync_copy.h"
#include "ze_env.h"

/* Small, so that valgrind runs stay short; parts start on 4 KiB pages. */
#define SPLIT ((size_t)64 << 10)
#define COPY_GROUP 1 /* Intel's main copy engine on a Max GPU */

static struct ze_env env;
/* The lists a dma over every copy engine has, from the device's groups. */
static uint64_t lanes;

static int copy(struct aml_dma *dma, struct aml_dma_request **req, void *dst,
                const void *src, size_t size)
{
	return aml_dma_ze_request_create(dma->data, req,
	                                 (struct aml_layout *)dst,
	                                 (struct aml_layout *)src,
	                                 aml_dma_ze_memcpy_op, (void *)size);
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The parts a split over `lists` idle lists makes: page-aligned parts of
 * at least size / lists, as many as the size fills. */
static uint64_t parts_over(size_t size, size_t lists)
{
	size_t chunk = (size + lists - 1) / lists;
	chunk = (chunk + 4095) / 4096 * 4096;
	return (size + chunk - 1) / chunk;
}

/* The lists a large copy splits over: every copy engine but the main one
 * (the dmas here are made on it), which Intel's driver would split again. */
static uint64_t split_lanes;

static uint64_t parts_of(size_t size)
{
	return parts_over(size, split_lanes);
}

/* The queues of COPY_GROUP, then of every other copy-only group. */
/* 1 if the device has a compute group: a dma over every copy engine then
 * also makes a list on its first queue, for copies within the device. */
static uint64_t compute_lane;

static uint64_t copy_engines(void)
{
	ze_command_queue_group_properties_t groups[8];
	uint32_t count = 8;
	uint64_t total = 0;

	for (uint32_t i = 0; i < count; i++)
		groups[i] = (ze_command_queue_group_properties_t){
		        .stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_GROUP_PROPERTIES};
	CHECK_INT(zeDeviceGetCommandQueueGroupProperties(env.device, &count, groups),
	          ZE_RESULT_SUCCESS);
	CHECK(count > COPY_GROUP);
	for (uint32_t i = 0; i < count; i++) {
		ze_command_queue_group_property_flags_t flags = groups[i].flags;
		if (i == COPY_GROUP || ((flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY) &&
		                        !(flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE)))
			total += groups[i].numQueues;
		if (flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE)
			compute_lane = 1;
	}
	return total;
}

/* A single-queue dma for the way back, so that a spread dma under test sees
 * copies one way only unless a test says otherwise. */
static struct aml_dma *way_back;

static struct aml_dma *spread_dma(uint64_t *lists)
{
	struct aml_dma *dma = NULL;
	uint64_t before = driver_live("command_list");

	CHECK_INT(aml_dma_ze_create(&dma, env.device, COPY_GROUP, -1),
	          AML_SUCCESS);
	*lists = driver_live("command_list") - before;
	return dma;
}

/* Host -> device -> host through the dma, verified; returns the copy
 * appends the first leg made. */
static uint64_t round_trip(struct aml_dma *dma, size_t size, uint32_t seed)
{
	uint8_t *src = malloc(size + 1), *back = malloc(size + 1);
	void *device = ze_env_device_alloc(&env, size);

	CHECK(src != NULL && back != NULL);
	pattern_fill(src, size, seed);
	memset(back, 0, size + 1);
	driver_counters_reset();
	sync_memcpy(dma, device, src, size);
	uint64_t appends = driver_calls("zeCommandListAppendMemoryCopy");
	sync_memcpy(way_back, back, device, size);
	CHECK_INT(pattern_first_mismatch(back, size, seed), size);
	CHECK_INT(back[size], 0); /* nothing written past the end */
	ze_env_device_free(&env, device);
	free(src);
	free(back);
	return appends;
}

static void split_sizes(void)
{
	uint64_t lists;
	struct aml_dma *dma = spread_dma(&lists);
	CHECK_INT(lists, lanes + compute_lane);
	/* Below the threshold: one copy on one list. */
	CHECK_INT(round_trip(dma, SPLIT - 1, 1), 1);
	CHECK_INT(round_trip(dma, 1, 2), 1);
	CHECK_INT(round_trip(dma, 0, 3), 1);
	/* At and above: one part per idle list but the main copy engine's, as
	 * many as the size fills. */
	CHECK_INT(round_trip(dma, SPLIT, 4), parts_of(SPLIT));
	CHECK_INT(round_trip(dma, SPLIT + 1, 5), parts_of(SPLIT + 1));
	CHECK(parts_of(SPLIT) >= 2);
	/* Part boundaries: a part of 3 pages exactly per list, one byte short
	 * (the last part one byte shorter) or one over (4 pages per part, the
	 * last one shorter); sizes leaving fewer parts than lists. */
	CHECK_INT(round_trip(dma, split_lanes * 3 * 4096, 6), split_lanes);
	CHECK_INT(round_trip(dma, split_lanes * 3 * 4096 - 1, 6), split_lanes);
	CHECK_INT(round_trip(dma, split_lanes * 3 * 4096 + 1, 7), parts_of(split_lanes * 3 * 4096 + 1));
	CHECK_INT(round_trip(dma, (size_t)1 << 20, 8), split_lanes);
	CHECK_INT(round_trip(dma, ((size_t)1 << 20) + 4093, 9), split_lanes);
	for (size_t size = SPLIT; size < 4 * SPLIT; size += 12289)
		CHECK_INT(round_trip(dma, size, (uint32_t)size), parts_of(size));
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);

	/* A threshold larger than the copy: never split. */
	setenv("AML_DMA_ZE_SPLIT_BYTES", "1M", 1);
	dma = spread_dma(&lists);
	CHECK_INT(round_trip(dma, ((size_t)1 << 20) - 1, 10), 1);
	CHECK_INT(round_trip(dma, (size_t)1 << 20, 11), parts_of((size_t)1 << 20));
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	setenv("AML_DMA_ZE_SPLIT_BYTES", "64K", 1);
}

/* The copy appends one synchronous copy makes. */
static uint64_t appends_of(struct aml_dma *dma, void *dst, const void *src,
                           size_t size)
{
	driver_counters_reset();
	sync_memcpy(dma, dst, src, size);
	return driver_calls("zeCommandListAppendMemoryCopy");
}

/* Copies both ways through one dma over its lists: once the other way has
 * been seen, host->device copies split over the first half of the lists
 * (rounded up) and device->host over the rest, so neither queues behind a
 * split of the other; after 8 large copies one way only, a copy uses every
 * list again. Copies
 * whose way the driver cannot tell (a failing zeMemGetAllocProperties) are
 * placed as one way only, and still arrive. */
static void both_ways_keep_to_their_halves(void)
{
	uint64_t lists;
	struct aml_dma *dma = spread_dma(&lists);
	const size_t size = lanes * 4 * 4096 - 5;
	/* The first half (to the device) holds the main copy engine, which
	 * takes no part. */
	const uint64_t to_device = lanes - lanes / 2 - 1, from_device = lanes / 2;
	uint8_t *src = malloc(size), *back = malloc(size);
	void *device = ze_env_device_alloc(&env, size);

	CHECK(src != NULL && back != NULL);
	pattern_fill(src, size, 81);
	CHECK_INT(appends_of(dma, device, src, size), parts_of(size));
	CHECK(parts_of(size) == split_lanes && parts_over(size, to_device) == to_device &&
	      parts_over(size, from_device) == from_device);
	memset(back, 0, size);
	CHECK_INT(appends_of(dma, back, device, size), from_device);
	CHECK_INT(pattern_first_mismatch(back, size, 81), size);
	CHECK_INT(appends_of(dma, device, src, size), to_device);
	CHECK_INT(appends_of(dma, back, device, size), from_device);
	/* Small copies are placed as before, whatever the way. */
	CHECK_INT(appends_of(dma, back, device, SPLIT - 1), 1);
	/* The way is asked of the driver for large copies only. */
	driver_counters_reset();
	sync_memcpy(dma, device, src, SPLIT - 1);
	CHECK_INT(driver_calls("zeMemGetAllocProperties"), 0);
	sync_memcpy(dma, device, src, SPLIT);
	CHECK_INT(driver_calls("zeMemGetAllocProperties"), 2);
	/* A failed lookup: the copy goes over every list and arrives. */
	memset(back, 0, size);
	driver_fault("zeMemGetAllocProperties", 1, ZE_RESULT_ERROR_DEVICE_LOST);
	CHECK_INT(appends_of(dma, back, device, size), split_lanes);
	driver_fault_clear();
	CHECK_INT(pattern_first_mismatch(back, size, 81), size);
	/* One way only for a while: all lists again. */
	for (int i = 0; i < 8; i++)
		CHECK_INT(appends_of(dma, device, src, size), i < 7 ? to_device : split_lanes);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	ze_env_device_free(&env, device);
	free(src);
	free(back);
}

/* Fire-and-forget copies (split ones too) spread over every list, one
 * barrier: every byte in place when it returns. */
static void barrier_over_queues(void)
{
	uint64_t lists;
	struct aml_dma *dma = spread_dma(&lists);
	const size_t chunk = SPLIT + 4097, count = 24, size = chunk * count;
	uint8_t *src = malloc(size), *dst = malloc(size);

	CHECK(src != NULL && dst != NULL);
	pattern_fill(src, size, 31);
	memset(dst, 0, size);
	driver_set_copy_bandwidth((uint64_t)64 << 20);
	for (size_t i = 0; i < count; i++) {
		size_t len = i % 3 == 0 ? chunk : 1000 + i;
		CHECK_INT(copy(dma, NULL, dst + i * chunk, src + i * chunk, len),
		          AML_SUCCESS);
		if (len < chunk)
			CHECK_INT(copy(dma, NULL, dst + i * chunk + len,
			               src + i * chunk + len, chunk - len),
			          AML_SUCCESS);
	}
	driver_counters_reset();
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	CHECK_INT(driver_calls("zeCommandListAppendBarrier"), lists);
	CHECK_INT(pattern_first_mismatch(dst, size, 31), size);
	driver_set_copy_bandwidth(0);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	free(src);
	free(dst);
}

/* request_destroy of a split request still running: returns at once, the
 * part events stay out of circulation until the barrier saw them done, and
 * are reused afterwards (no new event in steady state). */
static void destroy_split_in_flight(void)
{
	uint64_t lists;
	struct aml_dma *dma = spread_dma(&lists);
	const size_t size = (size_t)1 << 20;
	uint8_t *src = malloc(size), *dst = malloc(size);
	struct aml_dma_request *req = NULL;

	CHECK(src != NULL && dst != NULL);
	uint64_t events = 0;
	for (int round = 0; round < 4; round++) {
		pattern_fill(src, size, 41 + round);
		memset(dst, 0, size);
		/* 1 MiB over 8 engines at 1 MiB/s: ~125 ms. */
		driver_set_copy_bandwidth((uint64_t)1 << 20);
		double start = now_seconds();
		CHECK_INT(copy(dma, &req, dst, src, size), AML_SUCCESS);
		CHECK_INT(aml_dma_ze_request_destroy(dma->data, &req),
		          AML_SUCCESS);
		CHECK(req == NULL);
		CHECK(now_seconds() - start < 0.07);
		/* Its events (one per list) are retired: the barrier needs as
		 * many others. */
		if (round == 0)
			events = driver_live("event");
		CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
		driver_set_copy_bandwidth(0);
		CHECK_INT(pattern_first_mismatch(dst, size, 41 + round), size);
	}
	/* Rounds after the first made no event: the retired ones came back. */
	CHECK_INT(driver_live("event"), events + lanes + compute_lane);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	free(src);
	free(dst);
}

/* The second part's append fails: the error comes back mapped, the part
 * already submitted is retired (not reused before it completes), nothing is
 * leaked, and the dma still works. The same for the barrier that joins the
 * parts, and for a barrier over the lists failing on the second list. */
static void fault_in_second_part(void)
{
	uint64_t contexts = driver_live("context");
	uint64_t all_lists = driver_live("command_list");
	uint64_t pools = driver_live("event_pool");
	uint64_t events = driver_live("event");
	uint64_t lists;
	struct aml_dma *dma = spread_dma(&lists);
	const size_t size = 4 * SPLIT;
	uint8_t *src = malloc(size), *dst = malloc(size);
	struct aml_dma_request *req = NULL;

	CHECK(src != NULL && dst != NULL);
	pattern_fill(src, size, 51);
	struct {
		const char *function;
		uint64_t nth;
	} faults[] = {
		{"zeCommandListAppendMemoryCopy", 2},
		{"zeCommandListAppendMemoryCopy", parts_of(size)},
		{"zeCommandListAppendBarrier", 1},
	};
	for (size_t f = 0; f < sizeof faults / sizeof faults[0]; f++) {
		memset(dst, 0, size);
		driver_fault(faults[f].function, faults[f].nth,
		             ZE_RESULT_ERROR_DEVICE_LOST);
		int rc = copy(dma, &req, dst, src, size);
		driver_fault_clear();
		CHECK(rc < 0);
		CHECK(req == NULL);
		/* Fire-and-forget split too, after a barrier: otherwise it would
		 * follow the failed request's parts, through markers (barriers). */
		CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
		driver_fault(faults[f].function, faults[f].nth,
		             ZE_RESULT_ERROR_DEVICE_LOST);
		rc = copy(dma, NULL, dst, src, size);
		driver_fault_clear();
		CHECK(f == 2 ? rc == 0 : rc < 0); /* no joining barrier */
		CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
		check_sync_copy(dma, size, 52 + (uint32_t)f);
	}
	driver_fault("zeCommandListAppendBarrier", 2, ZE_RESULT_ERROR_DEVICE_LOST);
	CHECK(aml_dma_ze_barrier(dma->data) < 0);
	driver_fault_clear();
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	check_sync_copy(dma, size, 60);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	CHECK_INT(driver_live("context"), contexts);
	CHECK_INT(driver_live("command_list"), all_lists);
	CHECK_INT(driver_live("event_pool"), pools);
	CHECK_INT(driver_live("event"), events);
	free(src);
	free(dst);
}

static uint64_t barriers_appended(void)
{
	return driver_calls("zeCommandListAppendBarrier");
}

/* The test's own operator: one copy of `args->arg` bytes on the list it is
 * handed, signalling the request's event. Its footprint is unknown to the
 * library. */
static int custom_copy(struct aml_layout *dst, const struct aml_layout *src, void *arg)
{
	struct aml_dma_ze_copy_args *args = arg;
	ze_event_handle_t event = args->ze_req ? args->ze_req->event : NULL;
	return zeCommandListAppendMemoryCopy(args->ze_data->command_list, dst, src, (size_t)args->arg, event, 0,
	                                     NULL) == ZE_RESULT_SUCCESS
	               ? AML_SUCCESS
	               : -AML_FAILURE;
}

/* Dependent requests through one dma over its lists: a request that reads
 * what a split wrote goes behind it on one of its lists, behind a barrier
 * there (the list holds a part it has not seen complete), and waits for the
 * others through one marker (a barrier) each; one that depends on work
 * on its own list alone, and one that depends on nothing, append no marker;
 * a custom operator follows everything outstanding (markers, then a
 * barrier on the first list). A fault in a marker fails the request
 * cleanly. 200 outstanding requests (more than the 128 tracked) still come
 * out right. Nothing is leaked. Bytes are checked every time, with the
 * engines capped so that a request that did not wait would be caught. */
static void dependents_follow_through_markers(void)
{
	/* An in-order list (the library's fast path) needs no barrier of its
	 * own before a command: only markers remain. */
	const int own_barrier = ze_env_counter_events(&env) ? 0 : 1;
	uint64_t events = driver_live("event");
	uint64_t lists;
	struct aml_dma *dma = spread_dma(&lists);
	const size_t size = lanes * SPLIT;
	uint8_t *src = malloc(size), *back = malloc(size), *other = malloc(size);
	uint8_t *device = ze_env_device_alloc(&env, size);
	struct aml_dma_request *req = NULL;

	CHECK(src != NULL && back != NULL && other != NULL);
	driver_set_copy_bandwidth((uint64_t)64 << 20);
	for (int with_handle = 0; with_handle < 2; with_handle++) {
		pattern_fill(src, size, 90 + (uint32_t)with_handle);
		memset(back, 0, size);
		driver_counters_reset();
		/* A split without a handle sits on every list but the main copy
		 * engine's. */
		CHECK_INT(copy(dma, with_handle ? &req : NULL, device, src, size), AML_SUCCESS);
		CHECK_INT(driver_calls("zeCommandListAppendMemoryCopy"), split_lanes);
		uint64_t barriers = barriers_appended();
		struct aml_dma_request *second = NULL;
		CHECK_INT(copy(dma, &second, back, device, size), AML_SUCCESS);
		/* Joined on its last list (with a handle, whose join is a
		 * barrier): nothing more; else a marker on each of the other
		 * lists and, on a list not in-order, a barrier on its own. */
		CHECK_INT(barriers_appended() - barriers,
		          with_handle ? 0 : split_lanes - 1 + own_barrier);
		CHECK_INT(driver_calls("zeCommandListAppendMemoryCopy"), split_lanes + 1);
		CHECK_INT(aml_dma_ze_request_wait(dma->data, &second), AML_SUCCESS);
		CHECK_INT(pattern_first_mismatch(back, size, 90 + (uint32_t)with_handle), size);
		if (with_handle)
			CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
		/* Lists idle again (a copy without a handle counts as
		 * outstanding until a barrier), so the next copy splits. */
		CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	}
	/* Small copies: a dependent goes behind its one list, after a barrier
	 * there (the copy it follows is not seen complete), an independent one
	 * anywhere (an idle list: no barrier); neither needs a marker. */
	pattern_fill(src, 4096, 93);
	driver_counters_reset();
	CHECK_INT(copy(dma, NULL, device, src, 4096), AML_SUCCESS);
	CHECK_INT(copy(dma, NULL, other, src + 4096, 4096), AML_SUCCESS);
	CHECK_INT(copy(dma, &req, back, device, 4096), AML_SUCCESS);
	CHECK_INT(barriers_appended(), own_barrier);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	CHECK_INT(pattern_first_mismatch(back, 4096, 93), 4096);
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);

	/* A marker that cannot be appended fails the dependent request; the
	 * dma stays usable and the request, made again, sees the bytes. */
	pattern_fill(src, size, 94);
	CHECK_INT(copy(dma, NULL, device, src, size), AML_SUCCESS);
	driver_fault("zeCommandListAppendBarrier", 3, ZE_RESULT_ERROR_DEVICE_LOST);
	CHECK(copy(dma, &req, back, device, size) < 0);
	driver_fault_clear();
	CHECK(req == NULL);
	memset(back, 0, size);
	CHECK_INT(copy(dma, &req, back, device, size), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	CHECK_INT(pattern_first_mismatch(back, size, 94), size);

	/* A custom operator after a split without a handle: a marker on every
	 * other list and the first list's barrier, then its copy sees the split's bytes; the
	 * copy after it follows it. */
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	pattern_fill(src, size, 95);
	memset(back, 0, size);
	CHECK_INT(copy(dma, NULL, device, src, size), AML_SUCCESS);
	driver_counters_reset();
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, (struct aml_layout *)other,
	                                    (struct aml_layout *)device, custom_copy, (void *)size),
	          AML_SUCCESS);
	CHECK_INT(barriers_appended(), lanes);
	struct aml_dma_request *after = NULL;
	CHECK_INT(copy(dma, &after, back, other, size), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &after), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	CHECK_INT(pattern_first_mismatch(back, size, 95), size);
	CHECK_INT(pattern_first_mismatch(other, size, 95), size);

	/* 200 small copies without handles, each to its own bytes, then one
	 * that reads them all: the table joins when full and order holds. */
	driver_set_copy_bandwidth(0);
	pattern_fill(src, 200 * 64, 96);
	for (size_t i = 0; i < 200; i++)
		CHECK_INT(copy(dma, NULL, device + i * 64, src + i * 64, 64), AML_SUCCESS);
	memset(back, 0, 200 * 64);
	CHECK_INT(copy(dma, &req, back, device, 200 * 64), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	CHECK_INT(pattern_first_mismatch(back, 200 * 64, 96), 200 * 64);

	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	CHECK_INT(driver_live("event"), events);
	ze_env_device_free(&env, device);
	free(src);
	free(back);
	free(other);
}

#define THREADS 8
#define ROUNDS 40

struct worker {
	struct aml_dma *dma;
	uint32_t seed;
	pthread_t thread;
};

static uint32_t next_random(uint32_t *state)
{
	*state = *state * 1664525u + 1013904223u;
	return *state >> 8;
}

/* Random sizes around the threshold, random direction, synchronous or
 * asynchronous-then-wait, each copy verified byte for byte. */
static void *work(void *arg)
{
	struct worker *w = arg;
	const size_t max = 3 * SPLIT;
	uint8_t *host = malloc(max), *back = malloc(max);
	void *device = ze_env_device_alloc(&env, max);
	uint32_t state = w->seed;

	CHECK(host != NULL && back != NULL);
	for (int round = 0; round < ROUNDS; round++) {
		size_t size = next_random(&state) % max;
		uint32_t seed = w->seed * 1000 + (uint32_t)round;
		struct aml_dma_request *req = NULL;
		pattern_fill(host, size, seed);
		CHECK_INT(copy(w->dma, &req, device, host, size), AML_SUCCESS);
		CHECK_INT(aml_dma_ze_request_wait(w->dma->data, &req),
		          AML_SUCCESS);
		memset(back, 0, size);
		if (next_random(&state) % 2) {
			sync_memcpy(w->dma, back, device, size);
		} else {
			CHECK_INT(copy(w->dma, &req, back, device, size),
			          AML_SUCCESS);
			CHECK_INT(aml_dma_ze_request_wait(w->dma->data, &req),
			          AML_SUCCESS);
		}
		CHECK_INT(pattern_first_mismatch(back, size, seed), size);
	}
	ze_env_device_free(&env, device);
	free(host);
	free(back);
	return NULL;
}

static void threads_mixed_directions(void)
{
	uint64_t lists;
	struct aml_dma *dma = spread_dma(&lists);
	struct worker workers[THREADS];

	for (int i = 0; i < THREADS; i++) {
		workers[i] = (struct worker){.dma = dma, .seed = 70 + (uint32_t)i};
		CHECK_INT(pthread_create(&workers[i].thread, NULL, work,
		                         &workers[i]),
		          0);
	}
	for (int i = 0; i < THREADS; i++)
		CHECK_INT(pthread_join(workers[i].thread, NULL), 0);
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
}

int main(void)
{
	setenv("AML_DMA_ZE_SPLIT_BYTES", "64K", 1);
	ze_env_open(&env);
	driver_ctl_load();
	/* In-flight timings need the cpu backend's engine cap; part counts
	 * several copy engines (a client GPU's model has one). */
	if (!driver_has_bandwidth_cap())
		SKIP("needs the cpu backend's copy engines and bandwidth cap");
	lanes = copy_engines();
	split_lanes = lanes - 1;
	if (lanes < 3)
		SKIP("needs a device with three copy engines or more");
	CHECK_INT(aml_dma_ze_create(&way_back, env.device, COPY_GROUP, 0),
	          AML_SUCCESS);
	split_sizes();
	both_ways_keep_to_their_halves();
	barrier_over_queues();
	destroy_split_in_flight();
	fault_in_second_part();
	dependents_follow_through_markers();
	threads_mixed_directions();
	CHECK_INT(aml_dma_ze_destroy(&way_back), AML_SUCCESS);
	ze_env_close(&env);
	return CTEST_EXIT_PASS;
}
