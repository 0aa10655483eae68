/* Commands appended behind an event that is signalled only after the appends
 * returned, so that a driver whose appends could block until the device
 * moves (a full queue of work stopped at a wait) deadlocks here; Level Zero
 * promises appends that return, and Intel's driver keeps them so:
 *   1. four immediate lists, each 1000 64 B copies behind one gate and a
 *      signalled copy back; the host signals the gate, then only waits on
 *      the events (nothing else asks the driver to move);
 *   2. as 1 on one list, the gate signalled by a command appended to
 *      another list after the 1000;
 *   3. copies into malloc'd memory (from the device, and from host memory)
 *      behind a gate the host signals afterwards;
 *   4. a regular list of 1000 copies behind a gate, executed on a queue
 *      with a fence, the gate signalled after the execute returned, then a
 *      fence synchronize;
 * every byte checked, every event destroyed once its commands ran; where the
 * driver is swze, no object is left alive. Exit status 0 only if every
 * check held. Public Level Zero API only. */
#define _POSIX_C_SOURCE 200809L
#include <level_zero/ze_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/swze.h"
#include "ze_program.h"

#define RUN 1000
#define CHUNK 64
#define SIZE ((size_t)RUN * CHUNK)
#define LISTS 4

struct session {
	ze_context_handle_t context;
	ze_device_handle_t device;
	ze_event_pool_handle_t pool;
	unsigned char *source, *back[LISTS], *device_buffer[LISTS];
};

static void fill_source(struct session *s, unsigned round)
{
	for (size_t i = 0; i < SIZE; i++)
		s->source[i] = (unsigned char)(i * 11 + round * 29 + 3);
}

static int new_event(struct session *s, uint32_t index, ze_event_handle_t *event)
{
	CHECK_ZE(host_event(s->pool, index, event));
	return 0;
}

static int new_list(struct session *s, ze_command_list_handle_t *list)
{
	CHECK_ZE(immediate_list(s->context, s->device, list));
	return 0;
}

/* RUN copies of CHUNK bytes, source -> device buffer `which`, then the
 * whole buffer back, signalling `done`; all behind `gate`. */
static int append_gated_run(struct session *s, ze_command_list_handle_t list, int which, ze_event_handle_t gate,
                            ze_event_handle_t done)
{
	for (size_t i = 0; i < RUN; i++)
		CHECK_ZE(zeCommandListAppendMemoryCopy(list, s->device_buffer[which] + i * CHUNK, s->source + i * CHUNK,
		                                       CHUNK, NULL, 1, &gate));
	memset(s->back[which], 0, SIZE);
	CHECK_ZE(zeCommandListAppendMemoryCopy(list, s->back[which], s->device_buffer[which], SIZE, done, 1, &gate));
	return 0;
}

static int many_lists_behind_one_gate(struct session *s)
{
	ze_stage("many_lists_behind_one_gate: 4 x 1000 appends behind an unsignalled gate");
	ze_command_list_handle_t lists[LISTS];
	ze_event_handle_t gate, done[LISTS];
	CHECK(new_event(s, 0, &gate) == 0);
	fill_source(s, 1);
	for (int i = 0; i < LISTS; i++) {
		CHECK(new_list(s, &lists[i]) == 0);
		CHECK(new_event(s, (uint32_t)(1 + i), &done[i]) == 0);
		CHECK(append_gated_run(s, lists[i], i, gate, done[i]) == 0);
	}
	ze_stage("many_lists_behind_one_gate: gate signalled, host waits on the events alone");
	CHECK_ZE(zeEventHostSignal(gate));
	for (int i = 0; i < LISTS; i++) {
		CHECK_ZE(zeEventHostSynchronize(done[i], UINT64_MAX));
		CHECK(memcmp(s->back[i], s->source, SIZE) == 0);
	}
	ze_stage("many_lists_behind_one_gate: events and lists destroyed");
	for (int i = 0; i < LISTS; i++) {
		CHECK_ZE(zeEventDestroy(done[i]));
		CHECK_ZE(zeCommandListDestroy(lists[i]));
	}
	CHECK_ZE(zeEventDestroy(gate));
	return 0;
}

static int gate_signalled_by_a_later_list(struct session *s)
{
	ze_stage("gate_signalled_by_a_later_list: 1000 appends behind a gate, its signal on another list");
	ze_command_list_handle_t gated, signaller;
	ze_event_handle_t gate, done;
	CHECK(new_list(s, &gated) == 0);
	CHECK(new_list(s, &signaller) == 0);
	CHECK(new_event(s, 0, &gate) == 0);
	CHECK(new_event(s, 1, &done) == 0);
	fill_source(s, 2);
	CHECK(append_gated_run(s, gated, 0, gate, done) == 0);
	CHECK_ZE(zeCommandListAppendSignalEvent(signaller, gate));
	ze_stage("gate_signalled_by_a_later_list: host waits on the last copy's event");
	CHECK_ZE(zeEventHostSynchronize(done, UINT64_MAX));
	CHECK(memcmp(s->back[0], s->source, SIZE) == 0);
	ze_stage("gate_signalled_by_a_later_list: lists and events destroyed");
	CHECK_ZE(zeCommandListDestroy(signaller));
	CHECK_ZE(zeCommandListDestroy(gated));
	CHECK_ZE(zeEventDestroy(done));
	CHECK_ZE(zeEventDestroy(gate));
	return 0;
}

static int pageable_behind_a_gate(struct session *s)
{
	ze_stage("pageable_behind_a_gate: copies into malloc'd memory behind a gate");
	unsigned char *plain[2] = {malloc(SIZE), malloc(SIZE)};
	CHECK(plain[0] != NULL && plain[1] != NULL);
	memset(plain[0], 0, SIZE);
	memset(plain[1], 0, SIZE);
	ze_command_list_handle_t list;
	ze_event_handle_t gate, done;
	CHECK(new_list(s, &list) == 0);
	CHECK(new_event(s, 0, &gate) == 0);
	CHECK(new_event(s, 1, &done) == 0);
	fill_source(s, 3);
	CHECK_ZE(zeCommandListAppendMemoryCopy(list, s->device_buffer[0], s->source, SIZE, NULL, 0, NULL));
	/* Device -> malloc'd memory, then host memory -> malloc'd memory. */
	CHECK_ZE(zeCommandListAppendMemoryCopy(list, plain[0], s->device_buffer[0], SIZE, NULL, 1, &gate));
	CHECK_ZE(zeCommandListAppendMemoryCopy(list, plain[1], s->source, SIZE, done, 1, &gate));
	ze_stage("pageable_behind_a_gate: gate signalled, host synchronize");
	CHECK_ZE(zeEventHostSignal(gate));
	CHECK_ZE(zeEventHostSynchronize(done, UINT64_MAX));
	CHECK(memcmp(plain[0], s->source, SIZE) == 0);
	CHECK(memcmp(plain[1], s->source, SIZE) == 0);
	ze_stage("pageable_behind_a_gate: list and events destroyed");
	CHECK_ZE(zeCommandListDestroy(list));
	CHECK_ZE(zeEventDestroy(done));
	CHECK_ZE(zeEventDestroy(gate));
	free(plain[0]);
	free(plain[1]);
	return 0;
}

static int queue_behind_a_gate(struct session *s)
{
	ze_stage("queue_behind_a_gate: 1000 copies behind a gate recorded, executed with a fence");
	ze_command_queue_desc_t queue_desc = {.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
		.mode = ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS};
	ze_command_queue_handle_t queue;
	CHECK_ZE(zeCommandQueueCreate(s->context, s->device, &queue_desc, &queue));
	ze_command_list_desc_t list_desc = {.stype = ZE_STRUCTURE_TYPE_COMMAND_LIST_DESC};
	ze_command_list_handle_t recorded;
	CHECK_ZE(zeCommandListCreate(s->context, s->device, &list_desc, &recorded));
	ze_event_handle_t gate, done;
	CHECK(new_event(s, 0, &gate) == 0);
	CHECK(new_event(s, 1, &done) == 0);
	CHECK(append_gated_run(s, recorded, 0, gate, done) == 0);
	CHECK_ZE(zeCommandListClose(recorded));
	ze_fence_desc_t fence_desc = {.stype = ZE_STRUCTURE_TYPE_FENCE_DESC};
	ze_fence_handle_t fence;
	CHECK_ZE(zeFenceCreate(queue, &fence_desc, &fence));
	fill_source(s, 4);
	memset(s->back[0], 0, SIZE);
	CHECK_ZE(zeCommandQueueExecuteCommandLists(queue, 1, &recorded, fence));
	ze_stage("queue_behind_a_gate: gate signalled, fence synchronize");
	CHECK_ZE(zeEventHostSignal(gate));
	CHECK_ZE(zeFenceHostSynchronize(fence, UINT64_MAX));
	CHECK(zeEventQueryStatus(done) == ZE_RESULT_SUCCESS);
	CHECK(memcmp(s->back[0], s->source, SIZE) == 0);
	ze_stage("queue_behind_a_gate: everything destroyed");
	CHECK_ZE(zeCommandListDestroy(recorded));
	CHECK_ZE(zeFenceDestroy(fence));
	CHECK_ZE(zeCommandQueueDestroy(queue));
	CHECK_ZE(zeEventDestroy(done));
	CHECK_ZE(zeEventDestroy(gate));
	return 0;
}

static const char *const kinds[] = {"event", "event_pool", "command_list", "command_queue", "fence", "allocation",
	"context"};

static int run(ze_driver_handle_t driver, ze_device_handle_t device)
{
	ze_stage("set up");
	struct session s = {.device = device};
	struct swze_api swze;
	int is_swze = swze_api_load(&swze) == 0;
	ze_context_desc_t context_desc = {.stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC};
	CHECK_ZE(zeContextCreate(driver, &context_desc, &s.context));
	ze_host_mem_alloc_desc_t host_desc = {.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC};
	ze_device_mem_alloc_desc_t device_desc = {.stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC};
	CHECK_ZE(zeMemAllocHost(s.context, &host_desc, SIZE, 64, (void **)&s.source));
	for (int i = 0; i < LISTS; i++) {
		CHECK_ZE(zeMemAllocHost(s.context, &host_desc, SIZE, 64, (void **)&s.back[i]));
		CHECK_ZE(zeMemAllocDevice(s.context, &device_desc, SIZE, 64, device, (void **)&s.device_buffer[i]));
	}
	ze_event_pool_desc_t pool_desc = {.stype = ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
		.flags = ZE_EVENT_POOL_FLAG_HOST_VISIBLE, .count = 1 + LISTS};
	CHECK_ZE(zeEventPoolCreate(s.context, &pool_desc, 1, &device, &s.pool));

	CHECK(many_lists_behind_one_gate(&s) == 0);
	CHECK(gate_signalled_by_a_later_list(&s) == 0);
	CHECK(pageable_behind_a_gate(&s) == 0);
	CHECK(queue_behind_a_gate(&s) == 0);

	ze_stage("teardown");
	CHECK_ZE(zeEventPoolDestroy(s.pool));
	CHECK_ZE(zeMemFree(s.context, s.source));
	for (int i = 0; i < LISTS; i++) {
		CHECK_ZE(zeMemFree(s.context, s.back[i]));
		CHECK_ZE(zeMemFree(s.context, s.device_buffer[i]));
	}
	CHECK_ZE(zeContextDestroy(s.context));
	if (is_swze) {
		for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
			uint64_t live = swze.live_count(kinds[i]);
			if (live != 0)
				fprintf(stderr, "%s: %llu left alive\n", kinds[i], (unsigned long long)live);
			CHECK(live == 0);
		}
	}
	return 0;
}

int main(void)
{
	return run_on_first_device(run, "ze_gated_appends", "every append returned, every byte verified");
}
