/* Events a driver must account for right, in a Level Zero program that knows
 * nothing about the driver it runs on:
 *   1. two immediate lists, on two queues of one group, each copy into a
 *      buffer of their own and signal the same event (no reset between):
 *      once the host saw it signalled and both copies ran, the event can be
 *      destroyed (retried, at most 10 s, while a copy may still be running)
 *      and both copies arrived;
 *   2. one event signalled by a copy, waited for and reset 1000 times on one
 *      list, then destroyed right after the last wait: a host that saw the
 *      signal of the last command using an event may destroy it at once.
 * Exit status 0 only if every check held. Public API only. */
#define _POSIX_C_SOURCE 200809L
#include <level_zero/ze_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ze_program.h"

#define SIZE ((size_t)1 << 20)
#define ROUNDS 1000

static double seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The group with the most queues (two lists must be on two queues). */
static uint32_t widest_group(ze_device_handle_t device, uint32_t *queues)
{
	ze_command_queue_group_properties_t groups[8];
	uint32_t count = 8, best = 0;
	for (uint32_t i = 0; i < count; i++)
		groups[i] = (ze_command_queue_group_properties_t){.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_GROUP_PROPERTIES};
	if (zeDeviceGetCommandQueueGroupProperties(device, &count, groups) != ZE_RESULT_SUCCESS)
		count = 0;
	*queues = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (groups[i].numQueues > *queues) {
			*queues = groups[i].numQueues;
			best = i;
		}
	}
	return best;
}

static int two_lists_one_event(ze_context_handle_t context, ze_device_handle_t device,
                               ze_event_pool_handle_t pool, unsigned char *source,
                               unsigned char *back[2], unsigned char *device_buffer[2])
{
	uint32_t queues;
	uint32_t ordinal = widest_group(device, &queues);
	CHECK(queues >= 2);
	ze_command_list_handle_t lists[2];
	for (uint32_t i = 0; i < 2; i++) {
		ze_command_queue_desc_t desc = {.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
			.ordinal = ordinal, .index = i, .mode = ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS};
		CHECK_ZE(zeCommandListCreateImmediate(context, device, &desc, &lists[i]));
	}
	ze_event_desc_t event_desc = {.stype = ZE_STRUCTURE_TYPE_EVENT_DESC, .index = 0,
		.signal = ZE_EVENT_SCOPE_FLAG_HOST, .wait = ZE_EVENT_SCOPE_FLAG_HOST};
	ze_event_handle_t shared, done[2];
	CHECK_ZE(zeEventCreate(pool, &event_desc, &shared));
	for (uint32_t i = 0; i < 2; i++) {
		event_desc.index = 1 + i;
		CHECK_ZE(zeEventCreate(pool, &event_desc, &done[i]));
	}
	for (uint32_t i = 0; i < 2; i++) {
		memset(back[i], 0, SIZE);
		CHECK_ZE(zeCommandListAppendMemoryCopy(lists[i], device_buffer[i], source, SIZE, shared, 0, NULL));
	}
	CHECK_ZE(zeEventHostSynchronize(shared, UINT64_MAX));
	/* Destroy is refused while a copy may still signal it; once both ran it
	 * must succeed, though no later command of either list says so. */
	ze_result_t destroyed;
	double deadline = seconds() + 10;
	while ((destroyed = zeEventDestroy(shared)) == ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE && seconds() < deadline) {
		struct timespec pause = {0, 1000000};
		nanosleep(&pause, NULL);
	}
	CHECK_ZE(destroyed);
	/* Both copies ran: read each device buffer back and compare. */
	for (uint32_t i = 0; i < 2; i++)
		CHECK_ZE(zeCommandListAppendMemoryCopy(lists[i], back[i], device_buffer[i], SIZE, done[i], 0, NULL));
	for (uint32_t i = 0; i < 2; i++) {
		CHECK_ZE(zeEventHostSynchronize(done[i], UINT64_MAX));
		CHECK(memcmp(back[i], source, SIZE) == 0);
		CHECK_ZE(zeEventDestroy(done[i]));
		CHECK_ZE(zeCommandListDestroy(lists[i]));
	}
	return 0;
}

static int one_event_reused(ze_context_handle_t context, ze_device_handle_t device,
                            ze_event_pool_handle_t pool, unsigned char *source,
                            unsigned char *back, unsigned char *device_buffer)
{
	ze_command_queue_desc_t desc = {.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
		.mode = ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS};
	ze_command_list_handle_t list;
	CHECK_ZE(zeCommandListCreateImmediate(context, device, &desc, &list));
	ze_event_desc_t event_desc = {.stype = ZE_STRUCTURE_TYPE_EVENT_DESC, .index = 3,
		.signal = ZE_EVENT_SCOPE_FLAG_HOST, .wait = ZE_EVENT_SCOPE_FLAG_HOST};
	ze_event_handle_t event;
	CHECK_ZE(zeEventCreate(pool, &event_desc, &event));
	for (unsigned round = 0; round < ROUNDS; round++) {
		source[round % SIZE] = (unsigned char)round;
		CHECK_ZE(zeCommandListAppendMemoryCopy(list, device_buffer, source, 4096, NULL, 0, NULL));
		CHECK_ZE(zeCommandListAppendMemoryCopy(list, back, device_buffer, 4096, event, 0, NULL));
		CHECK_ZE(zeEventHostSynchronize(event, UINT64_MAX));
		CHECK(memcmp(back, source, 4096) == 0);
		if (round + 1 < ROUNDS)
			CHECK_ZE(zeEventHostReset(event));
	}
	CHECK_ZE(zeEventDestroy(event));
	CHECK_ZE(zeCommandListDestroy(list));
	return 0;
}

static int run(ze_driver_handle_t driver, ze_device_handle_t device)
{
	ze_stage("set up");
	ze_context_desc_t context_desc = {.stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC};
	ze_context_handle_t context;
	CHECK_ZE(zeContextCreate(driver, &context_desc, &context));
	ze_host_mem_alloc_desc_t host_desc = {.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC};
	ze_device_mem_alloc_desc_t device_desc = {.stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC};
	unsigned char *source, *back[2], *device_buffer[2];
	CHECK_ZE(zeMemAllocHost(context, &host_desc, SIZE, 64, (void **)&source));
	for (int i = 0; i < 2; i++) {
		CHECK_ZE(zeMemAllocHost(context, &host_desc, SIZE, 64, (void **)&back[i]));
		CHECK_ZE(zeMemAllocDevice(context, &device_desc, SIZE, 64, device, (void **)&device_buffer[i]));
	}
	for (size_t i = 0; i < SIZE; i++)
		source[i] = (unsigned char)(i * 13 + 5);
	ze_event_pool_desc_t pool_desc = {.stype = ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
		.flags = ZE_EVENT_POOL_FLAG_HOST_VISIBLE, .count = 4};
	ze_event_pool_handle_t pool;
	CHECK_ZE(zeEventPoolCreate(context, &pool_desc, 1, &device, &pool));
	ze_stage("two_lists_one_event: two copies signal one event, destroy retried");
	two_lists_one_event(context, device, pool, source, back, device_buffer);
	ze_stage("one_event_reused: " ZE_PROGRAM_STRING(ROUNDS) " signals, waits and resets of one event");
	one_event_reused(context, device, pool, source, back[0], device_buffer[0]);
	ze_stage("teardown");
	CHECK_ZE(zeEventPoolDestroy(pool));
	CHECK_ZE(zeMemFree(context, source));
	for (int i = 0; i < 2; i++) {
		CHECK_ZE(zeMemFree(context, back[i]));
		CHECK_ZE(zeMemFree(context, device_buffer[i]));
	}
	CHECK_ZE(zeContextDestroy(context));
	return 0;
}

int main(void)
{
	return run_on_first_device(run, "ze_shared_signal", "shared signal and " ZE_PROGRAM_STRING(ROUNDS) " reuses verified");
}
