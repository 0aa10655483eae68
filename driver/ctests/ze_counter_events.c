/* Counter-based events (ZE_experimental_event_pool_counter_based, and
 * Intel's zexCounterBasedEventCreate2), as compute-runtime defines them
 * (level_zero/doc/experimental_extensions/COUNTER_BASED_EVENTS.md): complete
 * until an append signals one; not ready from that append until its command
 * (and everything before it on its in-order list) ran; reused by the next
 * append without a reset; waited on, it names its latest append, and an
 * earlier append still in flight never completes a later one. What the
 * host may not do is refused with Intel's codes: zeEventHostReset and
 * zeEventHostSignal UNSUPPORTED_FEATURE; an append that resets one, signals
 * one on a list that is not in order (or of the kind its flags leave out),
 * or waits on one never signalled, INVALID_ARGUMENT; a counter-based IPC
 * pool UNSUPPORTED_FEATURE. Bytes are checked after every round.
 *
 * A driver that does not report the extension is told so and passes. The
 * validation layer of loader 1.8 (API 1.4) refuses the in-order flags
 * (INVALID_ENUMERATION, before any driver sees them): then only what needs
 * no in-order list is checked. */
#define _POSIX_C_SOURCE 200809L
#include <level_zero/ze_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/swze.h"

#include "ze_program.h"

#define SIZE 4096
#define ROUNDS 1000

static struct swze_api swze;
static int is_swze;

static ze_context_handle_t context;
static ze_device_handle_t device;

typedef ze_result_t (*create2_fn)(ze_context_handle_t, ze_device_handle_t,
                                  const ze_program_zex_counter_based_event_desc_t *, ze_event_handle_t *);

static void fill(unsigned char *bytes, size_t size, unsigned seed)
{
	for (size_t i = 0; i < size; i++)
		bytes[i] = (unsigned char)(i * 7 + seed * 13 + (i >> 8));
}

static ze_result_t counter_pool(uint32_t pool_flags, uint32_t counter_flags, uint32_t count,
                                ze_event_pool_handle_t *pool)
{
	ze_program_counter_based_pool_desc_t counter = {.stype = ZE_PROGRAM_STYPE_COUNTER_BASED_POOL,
		.flags = counter_flags};
	ze_event_pool_desc_t desc = {.stype = ZE_STRUCTURE_TYPE_EVENT_POOL_DESC, .pNext = &counter,
		.flags = pool_flags, .count = count};
	return zeEventPoolCreate(context, &desc, 1, &device, pool);
}

/* Host -> device -> host on `list`, the last copy signalling `event`, then a
 * host synchronize (never a reset): the bytes back are those sent. */
static int round_trip(ze_command_list_handle_t list, ze_event_handle_t event, unsigned char *out,
                      unsigned char *in, void *device_buffer, unsigned seed)
{
	fill(out, SIZE, seed);
	memset(in, 0, SIZE);
	CHECK_ZE(zeCommandListAppendMemoryCopy(list, device_buffer, out, SIZE, NULL, 0, NULL));
	CHECK_ZE(zeCommandListAppendMemoryCopy(list, in, device_buffer, SIZE, event, 0, NULL));
	CHECK_ZE(zeEventHostSynchronize(event, UINT64_MAX));
	CHECK(zeEventQueryStatus(event) == ZE_RESULT_SUCCESS);
	CHECK(memcmp(in, out, SIZE) == 0);
	return 0;
}

static int counter_events(ze_driver_handle_t driver, ze_device_handle_t first)
{
	device = first;
	is_swze = swze_api_load(&swze) == 0;
	ze_context_desc_t context_desc = {.stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC};
	CHECK_ZE(zeContextCreate(driver, &context_desc, &context));

	ze_stage("the extensions reported");
	int pools = has_extension(driver, ZE_PROGRAM_COUNTER_BASED_POOL_NAME);
	int create2 = has_extension(driver, ZE_PROGRAM_COUNTER_BASED_EVENT_NAME);
	const char *switched = getenv("SWZE_COUNTER_EVENTS");
	if (is_swze && !(switched != NULL && strcmp(switched, "0") == 0))
		CHECK(pools && create2);
	if (!pools) {
		printf("ze_counter_events: the driver reports no counter-based events: nothing to check\n");
		CHECK_ZE(zeContextDestroy(context));
		return 0;
	}

	ze_host_mem_alloc_desc_t host_desc = {.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC};
	ze_device_mem_alloc_desc_t device_desc = {.stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC};
	unsigned char *out, *in, *in_other;
	void *device_buffer, *device_other;
	CHECK_ZE(zeMemAllocHost(context, &host_desc, SIZE, 64, (void **)&out));
	CHECK_ZE(zeMemAllocHost(context, &host_desc, SIZE, 64, (void **)&in));
	CHECK_ZE(zeMemAllocHost(context, &host_desc, SIZE, 64, (void **)&in_other));
	CHECK_ZE(zeMemAllocDevice(context, &device_desc, SIZE, 64, device, &device_buffer));
	CHECK_ZE(zeMemAllocDevice(context, &device_desc, SIZE, 64, device, &device_other));

	ze_stage("pools: what compute-runtime refuses");
	ze_event_pool_handle_t refused = NULL;
	CHECK(counter_pool(ZE_EVENT_POOL_FLAG_HOST_VISIBLE | ZE_EVENT_POOL_FLAG_IPC, 0, 1, &refused) ==
	      ZE_RESULT_ERROR_UNSUPPORTED_FEATURE);
	CHECK(counter_pool(ZE_EVENT_POOL_FLAG_HOST_VISIBLE, 4, 1, &refused) == ZE_RESULT_ERROR_INVALID_ARGUMENT);

	ze_event_pool_handle_t pool, regular_pool, later_pool;
	CHECK_ZE(counter_pool(ZE_EVENT_POOL_FLAG_HOST_VISIBLE, 0, 4, &pool)); /* 0: IMMEDIATE */
	CHECK_ZE(counter_pool(ZE_EVENT_POOL_FLAG_HOST_VISIBLE, ZE_PROGRAM_COUNTER_BASED_NON_IMMEDIATE, 1, &later_pool));
	ze_event_pool_desc_t regular_desc = {.stype = ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
		.flags = ZE_EVENT_POOL_FLAG_HOST_VISIBLE, .count = 4};
	CHECK_ZE(zeEventPoolCreate(context, &regular_desc, 1, &device, &regular_pool));
	ze_event_handle_t event, other, doomed, recorded, gate, gate_other, done;
	CHECK_ZE(host_event(pool, 0, &event));
	CHECK_ZE(host_event(pool, 1, &other));
	CHECK_ZE(host_event(pool, 2, &doomed));
	CHECK_ZE(host_event(later_pool, 0, &recorded));
	CHECK_ZE(host_event(regular_pool, 0, &gate));
	CHECK_ZE(host_event(regular_pool, 1, &gate_other));
	CHECK_ZE(host_event(regular_pool, 2, &done));

	ze_stage("before any append: complete; the host neither resets nor signals it");
	CHECK(zeEventQueryStatus(event) == ZE_RESULT_SUCCESS);
	CHECK(zeEventHostSynchronize(event, 0) == ZE_RESULT_SUCCESS);
	CHECK(zeEventHostReset(event) == ZE_RESULT_ERROR_UNSUPPORTED_FEATURE);
	CHECK(zeEventHostSignal(event) == ZE_RESULT_ERROR_UNSUPPORTED_FEATURE);

	ze_stage("lists that are not in order: no signal, no reset, no wait on one never signalled");
	ze_command_list_handle_t plain;
	CHECK_ZE(immediate_list_on(context, device, 0, 0, 0, &plain));
	CHECK(zeCommandListAppendMemoryCopy(plain, device_buffer, out, SIZE, event, 0, NULL) ==
	      ZE_RESULT_ERROR_INVALID_ARGUMENT);
	CHECK(zeCommandListAppendSignalEvent(plain, event) == ZE_RESULT_ERROR_INVALID_ARGUMENT);
	CHECK(zeCommandListAppendEventReset(plain, event) == ZE_RESULT_ERROR_INVALID_ARGUMENT);
	CHECK(zeCommandListAppendMemoryCopy(plain, device_buffer, out, SIZE, NULL, 1, &event) ==
	      ZE_RESULT_ERROR_INVALID_ARGUMENT);
	CHECK(zeCommandListAppendWaitOnEvents(plain, 1, &event) == ZE_RESULT_ERROR_INVALID_ARGUMENT);
	CHECK(zeEventQueryStatus(event) == ZE_RESULT_SUCCESS);

	ze_stage("an in-order immediate list");
	uint64_t creates = is_swze ? swze.call_count("zeCommandListCreateImmediate") : 0;
	ze_command_list_handle_t list = NULL, second = NULL;
	ze_result_t made = immediate_list_on(context, device, 0, 0, 1, &list);
	if (made == ZE_RESULT_ERROR_INVALID_ENUMERATION) {
		/* Loader 1.8's validation layer knows API 1.4's flags only. */
		CHECK(!is_swze || swze.call_count("zeCommandListCreateImmediate") == creates);
		printf("ze_counter_events: the loader refuses in-order lists (validation layer of API 1.4): "
		       "host rules only\n");
	} else {
		CHECK_ZE(made);
		CHECK_ZE(immediate_list_on(context, device, 0, 0, 1, &second));

		ze_stage("an immediate list may not signal a NON_IMMEDIATE event");
		CHECK(zeCommandListAppendMemoryCopy(list, device_buffer, out, SIZE, recorded, 0, NULL) ==
		      ZE_RESULT_ERROR_INVALID_ARGUMENT);

		ze_stage("1000 round trips on one event, never reset");
		for (unsigned round = 0; round < ROUNDS; round++)
			if (round_trip(list, event, out, in, device_buffer, round) != 0)
				return -1;
		CHECK(zeEventHostReset(event) == ZE_RESULT_ERROR_UNSUPPORTED_FEATURE);

		ze_stage("not ready from its append until its command ran, again without a reset");
		for (unsigned round = 0; round < 3; round++) {
			fill(out, SIZE, 100 + round);
			memset(in, 0, SIZE);
			CHECK_ZE(zeCommandListAppendMemoryCopy(list, device_buffer, out, SIZE, NULL, 1, &gate));
			CHECK_ZE(zeCommandListAppendMemoryCopy(list, in, device_buffer, SIZE, event, 0, NULL));
			CHECK(zeEventQueryStatus(event) == ZE_RESULT_NOT_READY);
			CHECK(zeEventHostSynchronize(event, 1000000) == ZE_RESULT_NOT_READY);
			CHECK_ZE(zeEventHostSignal(gate));
			CHECK_ZE(zeEventHostSynchronize(event, UINT64_MAX));
			CHECK_ZE(zeEventHostReset(gate));
			CHECK(memcmp(in, out, SIZE) == 0);
		}

		ze_stage("waited on by another list: the append it followed");
		fill(out, SIZE, 200);
		memset(in, 0, SIZE);
		memset(in_other, 0, SIZE);
		CHECK_ZE(zeCommandListAppendMemoryCopy(list, device_buffer, out, SIZE, event, 1, &gate));
		/* `plain` copies what `list` wrote once `event` (that append) is complete. */
		CHECK_ZE(zeCommandListAppendMemoryCopy(plain, in_other, device_buffer, SIZE, done, 1, &event));
		/* A later append of the event on another list, complete at once:
		 * the wait above still names the gated one. */
		CHECK_ZE(zeCommandListAppendMemoryCopy(second, device_other, out, SIZE, event, 0, NULL));
		CHECK_ZE(zeEventHostSynchronize(event, UINT64_MAX));
		CHECK(zeEventQueryStatus(done) == ZE_RESULT_NOT_READY);
		CHECK_ZE(zeEventHostSignal(gate));
		CHECK_ZE(zeEventHostSynchronize(done, UINT64_MAX));
		CHECK(memcmp(in_other, out, SIZE) == 0);
		CHECK_ZE(zeEventHostReset(gate));
		CHECK_ZE(zeEventHostReset(done));

		ze_stage("an earlier append in flight never completes a later one");
		CHECK_ZE(zeCommandListAppendSignalEvent(list, event)); /* settle on `list` */
		CHECK_ZE(zeEventHostSynchronize(event, UINT64_MAX));
		CHECK_ZE(zeCommandListAppendMemoryCopy(list, device_buffer, out, SIZE, event, 1, &gate));
		CHECK_ZE(zeCommandListAppendMemoryCopy(second, device_other, out, SIZE, event, 1, &gate_other));
		CHECK_ZE(zeEventHostSignal(gate));
		CHECK_ZE(zeCommandListAppendSignalEvent(list, other)); /* `list`'s gated copy has run */
		CHECK_ZE(zeEventHostSynchronize(other, UINT64_MAX));
		CHECK(zeEventQueryStatus(event) == ZE_RESULT_NOT_READY);
		CHECK(zeEventHostSynchronize(event, 1000000) == ZE_RESULT_NOT_READY);
		CHECK_ZE(zeEventHostSignal(gate_other));
		CHECK_ZE(zeEventHostSynchronize(event, UINT64_MAX));
		CHECK_ZE(zeEventHostReset(gate));
		CHECK_ZE(zeEventHostReset(gate_other));

		ze_stage("destroyed with its append in flight");
		CHECK_ZE(zeCommandListAppendMemoryCopy(list, device_buffer, out, SIZE, doomed, 1, &gate));
		CHECK_ZE(zeEventDestroy(doomed));
		doomed = NULL;
		CHECK_ZE(zeCommandListAppendSignalEvent(list, other));
		CHECK(zeEventQueryStatus(other) == ZE_RESULT_NOT_READY);
		CHECK_ZE(zeEventHostSignal(gate));
		CHECK_ZE(zeEventHostSynchronize(other, UINT64_MAX));
		CHECK_ZE(zeEventHostReset(gate));

		ze_stage("Intel's zexCounterBasedEventCreate2");
		create2_fn create = NULL;
		if (create2)
			CHECK_ZE(zeDriverGetExtensionFunctionAddress(driver, "zexCounterBasedEventCreate2",
			                                             (void **)&create));
		if (create != NULL) {
			ze_program_zex_counter_based_event_desc_t desc = {.stype = ZE_PROGRAM_STYPE_ZEX_COUNTER_BASED_EVENT,
				.flags = ZE_PROGRAM_COUNTER_BASED_IMMEDIATE, .signalScope = ZE_EVENT_SCOPE_FLAG_HOST,
				.waitScope = ZE_EVENT_SCOPE_FLAG_HOST};
			ze_event_handle_t standalone = NULL;
			CHECK(create(context, device, NULL, &standalone) == ZE_RESULT_ERROR_INVALID_ARGUMENT);
			CHECK(create(context, NULL, &desc, &standalone) == ZE_RESULT_ERROR_INVALID_ARGUMENT);
			CHECK_ZE(create(context, device, &desc, &standalone));
			CHECK(zeEventQueryStatus(standalone) == ZE_RESULT_SUCCESS);
			CHECK(zeEventHostReset(standalone) == ZE_RESULT_ERROR_UNSUPPORTED_FEATURE);
			for (unsigned round = 0; round < 100; round++)
				if (round_trip(list, standalone, out, in, device_buffer, 300 + round) != 0)
					return -1;
			CHECK_ZE(zeEventDestroy(standalone));
		}

		ze_stage("an in-order regular list: each execution makes its event not ready again");
		ze_command_list_desc_t list_desc = {.stype = ZE_STRUCTURE_TYPE_COMMAND_LIST_DESC,
			.flags = ZE_PROGRAM_LIST_FLAG_IN_ORDER};
		ze_command_list_handle_t regular, not_in_order;
		CHECK_ZE(zeCommandListCreate(context, device, &list_desc, &regular));
		list_desc.flags = 0;
		CHECK_ZE(zeCommandListCreate(context, device, &list_desc, &not_in_order));
		CHECK(zeCommandListAppendMemoryCopy(not_in_order, in, device_buffer, SIZE, recorded, 0, NULL) ==
		      ZE_RESULT_ERROR_INVALID_ARGUMENT);
		CHECK(zeCommandListAppendMemoryCopy(regular, in, device_buffer, SIZE, event, 0, NULL) ==
		      ZE_RESULT_ERROR_INVALID_ARGUMENT); /* IMMEDIATE only */
		CHECK_ZE(zeCommandListAppendMemoryCopy(regular, device_buffer, out, SIZE, NULL, 1, &gate));
		CHECK_ZE(zeCommandListAppendMemoryCopy(regular, in, device_buffer, SIZE, recorded, 0, NULL));
		CHECK_ZE(zeCommandListClose(regular));
		ze_command_queue_desc_t queue_desc = {.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
			.mode = ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS};
		ze_command_queue_handle_t queue;
		CHECK_ZE(zeCommandQueueCreate(context, device, &queue_desc, &queue));
		for (unsigned round = 0; round < 3; round++) {
			fill(out, SIZE, 400 + round);
			memset(in, 0, SIZE);
			CHECK_ZE(zeCommandQueueExecuteCommandLists(queue, 1, &regular, NULL));
			CHECK(zeEventQueryStatus(recorded) == ZE_RESULT_NOT_READY);
			CHECK_ZE(zeEventHostSignal(gate));
			CHECK_ZE(zeEventHostSynchronize(recorded, UINT64_MAX));
			CHECK(memcmp(in, out, SIZE) == 0);
			CHECK_ZE(zeEventHostReset(gate));
		}
		CHECK_ZE(zeCommandQueueSynchronize(queue, UINT64_MAX));
		CHECK_ZE(zeCommandQueueDestroy(queue));
		CHECK_ZE(zeCommandListDestroy(regular));
		CHECK_ZE(zeCommandListDestroy(not_in_order));
		CHECK_ZE(zeCommandListDestroy(second));
		CHECK_ZE(zeCommandListDestroy(list));
	}

	ze_stage("clean up");
	CHECK_ZE(zeCommandListDestroy(plain));
	if (doomed != NULL)
		CHECK_ZE(zeEventDestroy(doomed));
	ze_event_handle_t events[] = {event, other, recorded, gate, gate_other, done};
	for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
		CHECK_ZE(zeEventDestroy(events[i]));
	CHECK_ZE(zeEventPoolDestroy(pool));
	CHECK_ZE(zeEventPoolDestroy(later_pool));
	CHECK_ZE(zeEventPoolDestroy(regular_pool));
	CHECK_ZE(zeMemFree(context, out));
	CHECK_ZE(zeMemFree(context, in));
	CHECK_ZE(zeMemFree(context, in_other));
	CHECK_ZE(zeMemFree(context, device_buffer));
	CHECK_ZE(zeMemFree(context, device_other));
	CHECK_ZE(zeContextDestroy(context));
	if (is_swze) {
		CHECK(swze.live_count("event") == 0);
		CHECK(swze.live_count("event_pool") == 0);
		CHECK(swze.live_count("command_list") == 0);
	}
	return 0;
}

int main(void)
{
	return run_on_first_device(counter_events, "ze_counter_events", "counter-based events behave as Intel's");
}
