/* A Level Zero program that knows nothing about the driver it runs on: it
 * records one regular command list of copies, fills and barriers (host ->
 * device, a fill over part of the device buffer, device -> host, a fill of
 * malloc'd system memory with a 3-byte pattern), closes it, then executes it
 * on a command queue with a fence 1000 times, changing the input each time
 * and verifying every byte after the fence is signalled. Exit status 0 only
 * if every check held. Public API only. */
#define _POSIX_C_SOURCE 200809L
#include <level_zero/ze_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ze_program.h"

#define ROUNDS 1000
#define SIZE (16u << 10)
#define FILLED_FROM 4096u
#define FILLED_SIZE 1000u


/* Expected contents of the copied-back buffer in one round. */
static unsigned char expected_back(unsigned round, size_t i)
{
	if (i >= FILLED_FROM && i < FILLED_FROM + FILLED_SIZE)
		return (unsigned char)(0xa0 + (round & 0xf));
	return (unsigned char)(i * 7 + round);
}

static int replay(ze_driver_handle_t driver, ze_device_handle_t device)
{
	ze_stage("set up: buffers, the recorded list, a queue and a fence");
	ze_context_desc_t context_desc = {.stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC};
	ze_context_handle_t context;
	CHECK_ZE(zeContextCreate(driver, &context_desc, &context));

	ze_host_mem_alloc_desc_t host_desc = {.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC};
	ze_device_mem_alloc_desc_t device_desc = {.stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC};
	unsigned char *source, *device_buffer, *back, *patterned;
	CHECK_ZE(zeMemAllocHost(context, &host_desc, SIZE, 64, (void **)&source));
	CHECK_ZE(zeMemAllocDevice(context, &device_desc, SIZE, 64, device, (void **)&device_buffer));
	CHECK_ZE(zeMemAllocHost(context, &host_desc, SIZE, 64, (void **)&back));
	/* System memory (malloc), which Intel's driver fills as it copies it. */
	patterned = malloc(SIZE);
	if (!patterned) {
		failures++;
		return -1;
	}

	/* The fill value changes per round through host memory the list reads
	 * at execution: the list's fill pattern is copied at append, so the
	 * changing part is a one-byte copy into the device buffer instead. */
	unsigned char *fill_value;
	CHECK_ZE(zeMemAllocHost(context, &host_desc, 64, 64, (void **)&fill_value));

	/* Ordinal 0: the compute engine, which takes fill patterns of any size. */
	ze_command_list_desc_t list_desc = {.stype = ZE_STRUCTURE_TYPE_COMMAND_LIST_DESC,
	                                    .commandQueueGroupOrdinal = 0};
	ze_command_list_handle_t list;
	CHECK_ZE(zeCommandListCreate(context, device, &list_desc, &list));
	const unsigned char zero = 0;
	const unsigned char three[3] = {1, 2, 3};
	CHECK_ZE(zeCommandListAppendMemoryFill(list, device_buffer, &zero, 1, SIZE, NULL, 0, NULL));
	CHECK_ZE(zeCommandListAppendBarrier(list, NULL, 0, NULL));
	CHECK_ZE(zeCommandListAppendMemoryCopy(list, device_buffer, source, SIZE, NULL, 0, NULL));
	CHECK_ZE(zeCommandListAppendBarrier(list, NULL, 0, NULL));
	/* Spread the round's byte over the filled range: a copy of one byte,
	 * then doubling copies, all recorded. */
	CHECK_ZE(zeCommandListAppendMemoryCopy(list, device_buffer + FILLED_FROM, fill_value, 1, NULL, 0, NULL));
	for (size_t done = 1; done < FILLED_SIZE; done *= 2) {
		size_t length = done < FILLED_SIZE - done ? done : FILLED_SIZE - done;
		CHECK_ZE(zeCommandListAppendMemoryCopy(list, device_buffer + FILLED_FROM + done,
		                                       device_buffer + FILLED_FROM, length, NULL, 0, NULL));
	}
	CHECK_ZE(zeCommandListAppendBarrier(list, NULL, 0, NULL));
	CHECK_ZE(zeCommandListAppendMemoryCopy(list, back, device_buffer, SIZE, NULL, 0, NULL));
	CHECK_ZE(zeCommandListAppendMemoryFill(list, patterned, three, sizeof(three), SIZE - 1, NULL, 0, NULL));
	CHECK_ZE(zeCommandListClose(list));

	ze_command_queue_desc_t queue_desc = {.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
	                                      .ordinal = 0,
	                                      .index = 0,
	                                      .mode = ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS};
	ze_command_queue_handle_t queue;
	CHECK_ZE(zeCommandQueueCreate(context, device, &queue_desc, &queue));
	ze_fence_desc_t fence_desc = {.stype = ZE_STRUCTURE_TYPE_FENCE_DESC};
	ze_fence_handle_t fence;
	CHECK_ZE(zeFenceCreate(queue, &fence_desc, &fence));

	ze_stage(ZE_PROGRAM_STRING(ROUNDS) " rounds: execute with the fence, fence synchronize, verify");
	for (unsigned round = 0; round < ROUNDS; round++) {
		for (size_t i = 0; i < SIZE; i++)
			source[i] = (unsigned char)(i * 7 + round);
		*fill_value = (unsigned char)(0xa0 + (round & 0xf));
		memset(back, 0, SIZE);
		memset(patterned, 0xee, SIZE);
		CHECK_ZE(zeCommandQueueExecuteCommandLists(queue, 1, &list, fence));
		CHECK_ZE(zeFenceHostSynchronize(fence, UINT64_MAX));
		for (size_t i = 0; i < SIZE; i++) {
			if (back[i] != expected_back(round, i)) {
				fprintf(stderr, "round %u: back[%zu] = %u, expected %u\n", round, i, back[i],
				        expected_back(round, i));
				failures++;
				return -1;
			}
			unsigned char want = i == SIZE - 1 ? 0xee : three[i % 3];
			if (patterned[i] != want) {
				fprintf(stderr, "round %u: patterned[%zu] = %u, expected %u\n", round, i,
				        patterned[i], want);
				failures++;
				return -1;
			}
		}
		CHECK_ZE(zeFenceReset(fence));
	}
	ze_stage("queue synchronize, teardown");
	CHECK_ZE(zeCommandQueueSynchronize(queue, UINT64_MAX));

	CHECK_ZE(zeFenceDestroy(fence));
	CHECK_ZE(zeCommandQueueDestroy(queue));
	CHECK_ZE(zeCommandListDestroy(list));
	CHECK_ZE(zeMemFree(context, fill_value));
	free(patterned);
	CHECK_ZE(zeMemFree(context, back));
	CHECK_ZE(zeMemFree(context, device_buffer));
	CHECK_ZE(zeMemFree(context, source));
	CHECK_ZE(zeContextDestroy(context));
	return 0;
}

int main(void)
{
	return run_on_first_device(replay, "ze_queue_replay", ZE_PROGRAM_STRING(ROUNDS) " rounds verified");
}
