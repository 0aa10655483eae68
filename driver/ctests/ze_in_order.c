/* In-order lists (ZE_COMMAND_QUEUE_FLAG_IN_ORDER, API 1.7): every command
 * waits for the one before it, without events or barriers. A long chain of
 * dependent copies between host, device and malloc'd memory, of sizes from
 * 1 byte to 8 MiB at varying offsets, each reading what an earlier one
 * wrote, on one in-order immediate list of the main copy engine (where
 * Intel's driver copies small amounts with the CPU at append, having waited
 * for the list's earlier work, and splits large ones over link engines) and
 * of a compute engine; the same chain on an in-order regular list executed
 * on a queue. A model of the four buffers, updated by memcpy in the same
 * order, is compared byte for byte with what came back.
 *
 * Where the driver is swze on the cpu backend on a Max 1550 stack, its
 * control API also says the chain went through the CPU and over split
 * copies. The validation layer of loader 1.8 (API 1.4) refuses the
 * in-order flags (INVALID_ENUMERATION) before any driver sees them: the
 * program says so and passes. */
#define _POSIX_C_SOURCE 200809L
#include <level_zero/ze_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/swze.h"

#include "ze_program.h"

#define MiB ((size_t)1 << 20)
#define BUFFER (8 * MiB)
#define STEPS 200
#define BUFFERS 4 /* host, device, device, malloc */

static struct swze_api swze;
static int counted;

static ze_context_handle_t context;
static ze_device_handle_t device;
static unsigned char *buffers[BUFFERS];
static unsigned char *model[BUFFERS];
static int is_device[BUFFERS] = {0, 1, 1, 0};

static uint64_t next_random(uint64_t *state)
{
	*state = *state * 6364136223846793005u + 1442695040888963407u;
	return *state >> 33;
}

static uint64_t route(const char *name)
{
	return counted ? swze.copy_route_count(name) : 0;
}

/* Appends STEPS dependent copies to `list` (no event, no barrier), the
 * model following; then every buffer's bytes back to host memory through
 * the list, the last copy signalling `done`. */
static int chain(ze_command_list_handle_t list, uint64_t seed, ze_event_handle_t done, unsigned char *readback,
                 int immediate, ze_command_queue_handle_t queue)
{
	uint64_t state = seed;
	for (int b = 0; b < BUFFERS; b++)
		if (!is_device[b]) {
			for (size_t i = 0; i < BUFFER; i++)
				buffers[b][i] = (unsigned char)(i * 131 + b * 17 + seed);
		}
	for (int b = 0; b < BUFFERS; b++)
		if (!is_device[b])
			memcpy(model[b], buffers[b], BUFFER);
	/* Device buffers start as copies of the host ones. */
	CHECK_ZE(zeCommandListAppendMemoryCopy(list, buffers[1], buffers[0], BUFFER, NULL, 0, NULL));
	memcpy(model[1], model[0], BUFFER);
	CHECK_ZE(zeCommandListAppendMemoryCopy(list, buffers[2], buffers[3], BUFFER, NULL, 0, NULL));
	memcpy(model[2], model[3], BUFFER);
	/* Mostly small (Intel's CPU copies: up to 50 KiB in, 128 B out), some
	 * large (its split: from 4 MiB on the main copy engine). */
	static const size_t sizes[] = {1, 64, 100, 128, 4096, 50 * 1024, 64 * 1024, 256 * 1024,
	                               1, 64, 128, 4096, MiB, 4 * MiB, 8 * MiB};
	for (int step = 0; step < STEPS; step++) {
		int from = (int)(next_random(&state) % BUFFERS);
		int to = (int)((from + 1 + next_random(&state) % (BUFFERS - 1)) % BUFFERS);
		/* Host to host is nobody's interest here: one side on the device. */
		if (!is_device[from] && !is_device[to])
			to = 1 + (int)(next_random(&state) % 2);
		size_t size = sizes[next_random(&state) % (sizeof sizes / sizeof sizes[0])];
		size_t from_offset = (size_t)next_random(&state) % (BUFFER - size + 1);
		size_t to_offset = (size_t)next_random(&state) % (BUFFER - size + 1);
		if (size >= MiB)
			from_offset &= ~(size_t)63, to_offset &= ~(size_t)63;
		CHECK_ZE(zeCommandListAppendMemoryCopy(list, buffers[to] + to_offset, buffers[from] + from_offset, size,
		                                       NULL, 0, NULL));
		memcpy(model[to] + to_offset, model[from] + from_offset, size);
	}
	/* Everything back: the host buffers as they are, the device ones copied out. */
	CHECK_ZE(zeCommandListAppendMemoryCopy(list, readback, buffers[1], BUFFER, NULL, 0, NULL));
	CHECK_ZE(zeCommandListAppendMemoryCopy(list, readback + BUFFER, buffers[2], BUFFER, done, 0, NULL));
	if (!immediate) {
		CHECK_ZE(zeCommandListClose(list));
		CHECK_ZE(zeCommandQueueExecuteCommandLists(queue, 1, &list, NULL));
	}
	CHECK_ZE(zeEventHostSynchronize(done, UINT64_MAX));
	CHECK_ZE(zeEventHostReset(done));
	CHECK(memcmp(buffers[0], model[0], BUFFER) == 0);
	CHECK(memcmp(buffers[3], model[3], BUFFER) == 0);
	CHECK(memcmp(readback, model[1], BUFFER) == 0);
	CHECK(memcmp(readback + BUFFER, model[2], BUFFER) == 0);
	return 0;
}

static int in_order(ze_driver_handle_t driver, ze_device_handle_t first)
{
	device = first;
	ze_context_desc_t context_desc = {.stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC};
	CHECK_ZE(zeContextCreate(driver, &context_desc, &context));
	int is_swze = swze_api_load(&swze) == 0;
	counted = is_swze && swze.backend() != NULL && strcmp(swze.backend(), "cpu") == 0;
	uint32_t subdevices = 0, groups = 0;
	CHECK_ZE(zeDeviceGetSubDevices(device, &subdevices, NULL));
	CHECK_ZE(zeDeviceGetCommandQueueGroupProperties(device, &groups, NULL));
	/* A Max 1550 stack: its main copy engine copies small amounts with the
	 * CPU and splits large ones. */
	int max_stack = counted && strcmp(swze.device_model(), "max1550") == 0 && subdevices == 0;

	ze_stage("an in-order immediate list");
	uint32_t copy_ordinal = groups > 1 ? 1 : 0;
	uint64_t creates = is_swze ? swze.call_count("zeCommandListCreateImmediate") : 0;
	ze_command_list_handle_t copy_list = NULL;
	ze_result_t made = immediate_list_on(context, device, copy_ordinal, 0, 1, &copy_list);
	if (made == ZE_RESULT_ERROR_INVALID_ENUMERATION) {
		CHECK(!is_swze || swze.call_count("zeCommandListCreateImmediate") == creates);
		printf("ze_in_order: the loader refuses in-order lists (validation layer of API 1.4): nothing to check\n");
		CHECK_ZE(zeContextDestroy(context));
		return 0;
	}
	CHECK_ZE(made);

	ze_host_mem_alloc_desc_t host_desc = {.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC};
	ze_device_mem_alloc_desc_t device_desc = {.stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC};
	unsigned char *readback;
	CHECK_ZE(zeMemAllocHost(context, &host_desc, BUFFER, 64, (void **)&buffers[0]));
	CHECK_ZE(zeMemAllocDevice(context, &device_desc, BUFFER, 64, device, (void **)&buffers[1]));
	CHECK_ZE(zeMemAllocDevice(context, &device_desc, BUFFER, 64, device, (void **)&buffers[2]));
	buffers[3] = malloc(BUFFER);
	CHECK(buffers[3] != NULL);
	CHECK_ZE(zeMemAllocHost(context, &host_desc, 2 * BUFFER, 64, (void **)&readback));
	for (int b = 0; b < BUFFERS; b++) {
		model[b] = malloc(BUFFER);
		CHECK(model[b] != NULL);
	}
	ze_event_pool_desc_t pool_desc = {.stype = ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
		.flags = ZE_EVENT_POOL_FLAG_HOST_VISIBLE, .count = 1};
	ze_event_pool_handle_t pool;
	ze_event_handle_t done;
	CHECK_ZE(zeEventPoolCreate(context, &pool_desc, 1, &device, &pool));
	CHECK_ZE(host_event(pool, 0, &done));

	ze_stage("200 dependent copies on the in-order copy list");
	if (counted)
		swze.counters_reset();
	if (chain(copy_list, 1, done, readback, 1, NULL) != 0)
		return -1;
	if (max_stack) {
		CHECK(route("cpu") > 0);
		CHECK(route("split") > 0);
	}
	ze_stage("again, from other bytes");
	if (chain(copy_list, 2, done, readback, 1, NULL) != 0)
		return -1;

	ze_stage("200 dependent copies on an in-order compute list");
	ze_command_list_handle_t compute_list;
	CHECK_ZE(immediate_list_on(context, device, 0, 0, 1, &compute_list));
	if (chain(compute_list, 3, done, readback, 1, NULL) != 0)
		return -1;

	ze_stage("200 dependent copies on an in-order regular list");
	ze_command_list_desc_t list_desc = {.stype = ZE_STRUCTURE_TYPE_COMMAND_LIST_DESC,
		.commandQueueGroupOrdinal = copy_ordinal, .flags = ZE_PROGRAM_LIST_FLAG_IN_ORDER};
	ze_command_list_handle_t regular;
	CHECK_ZE(zeCommandListCreate(context, device, &list_desc, &regular));
	ze_command_queue_desc_t queue_desc = {.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
		.ordinal = copy_ordinal, .mode = ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS};
	ze_command_queue_handle_t queue;
	CHECK_ZE(zeCommandQueueCreate(context, device, &queue_desc, &queue));
	if (chain(regular, 4, done, readback, 0, queue) != 0)
		return -1;
	CHECK_ZE(zeCommandQueueSynchronize(queue, UINT64_MAX));

	ze_stage("clean up");
	CHECK_ZE(zeCommandQueueDestroy(queue));
	CHECK_ZE(zeCommandListDestroy(regular));
	CHECK_ZE(zeCommandListDestroy(compute_list));
	CHECK_ZE(zeCommandListDestroy(copy_list));
	CHECK_ZE(zeEventDestroy(done));
	CHECK_ZE(zeEventPoolDestroy(pool));
	CHECK_ZE(zeMemFree(context, buffers[0]));
	CHECK_ZE(zeMemFree(context, buffers[1]));
	CHECK_ZE(zeMemFree(context, buffers[2]));
	CHECK_ZE(zeMemFree(context, readback));
	free(buffers[3]);
	for (int b = 0; b < BUFFERS; b++)
		free(model[b]);
	CHECK_ZE(zeContextDestroy(context));
	return 0;
}

int main(void)
{
	return run_on_first_device(in_order, "ze_in_order", "every copy followed the one before it");
}
