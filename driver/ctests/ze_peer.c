/* Two devices of one driver, as a program on a multi-GPU node uses them:
 * zeDeviceCanAccessPeer and zeDeviceGetP2PProperties both ways; copies
 * between device A's and device B's memory on A's list and on B's list;
 * host -> B on A's list; an event of a pool made for both devices signalled
 * on A's list and waited on by B's list, which then reads what A wrote;
 * lists destroyed while peer copies may still run, then their bytes
 * checked. Where the driver says the devices cannot reach each other (the
 * cuda backend where CUDA refuses peer access), the P2P properties lack
 * ACCESS, every append of a copy naming the other device's memory is
 * refused with ZE_RESULT_ERROR_INVALID_ARGUMENT (on immediate and regular
 * lists alike) and queues nothing, and the cross-device event wait is
 * checked through host memory instead. With one device the same steps run
 * between two of its allocations. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ze_program.h"

#define SIZE ((size_t)(1 << 20) + 4093)

struct pair {
	ze_context_handle_t context;
	ze_device_handle_t device[2];
	ze_command_list_handle_t list[2];
	unsigned char *memory[2], *host, *back;
};

static int new_list(struct pair *p, int on, ze_command_list_handle_t *list)
{
	CHECK_ZE(immediate_list(p->context, p->device[on], list));
	return 0;
}

static void fill(unsigned char *bytes, size_t size, unsigned seed)
{
	for (size_t i = 0; i < size; i++)
		bytes[i] = (unsigned char)(i * 31 + seed * 7 + (i >> 12));
}

static int holds(const unsigned char *bytes, size_t size, unsigned seed)
{
	for (size_t i = 0; i < size; i++)
		if (bytes[i] != (unsigned char)(i * 31 + seed * 7 + (i >> 12))) {
			fprintf(stderr, "byte %zu is 0x%02x, expected 0x%02x\n", i, bytes[i],
			        (unsigned char)(i * 31 + seed * 7 + (i >> 12)));
			return 0;
		}
	return 1;
}

/* host -> memory[from] -> memory[to] -> back, all on list[on], in order,
 * the last signalling `done`. */
static int through_peer(struct pair *p, int on, int from, int to, ze_event_handle_t done, unsigned seed)
{
	fill(p->host, SIZE, seed);
	memset(p->back, 0, SIZE);
	ze_command_list_handle_t list = p->list[on];
	CHECK_ZE(zeCommandListAppendMemoryCopy(list, p->memory[from], p->host, SIZE, NULL, 0, NULL));
	CHECK_ZE(zeCommandListAppendBarrier(list, NULL, 0, NULL));
	CHECK_ZE(zeCommandListAppendMemoryCopy(list, p->memory[to], p->memory[from], SIZE, NULL, 0, NULL));
	CHECK_ZE(zeCommandListAppendBarrier(list, NULL, 0, NULL));
	CHECK_ZE(zeCommandListAppendMemoryCopy(list, p->back, p->memory[to], SIZE, done, 0, NULL));
	CHECK_ZE(zeEventHostSynchronize(done, UINT64_MAX));
	CHECK_ZE(zeEventHostReset(done));
	CHECK(holds(p->back, SIZE, seed));
	return 0;
}

/* Devices that cannot reach each other: every copy naming the other
 * device's memory is refused at append (immediate and regular lists), an
 * event signalled on A's list still releases B's list (through host
 * memory), and everything is torn down. */
static int refused(struct pair *p, ze_event_pool_handle_t pool, ze_event_handle_t done, ze_event_handle_t written)
{
	for (int on = 0; on < 2; on++) {
		unsigned char *other = p->memory[1 - on];
		CHECK(zeCommandListAppendMemoryCopy(p->list[on], other, p->memory[on], SIZE, NULL, 0, NULL)
		      == ZE_RESULT_ERROR_INVALID_ARGUMENT);
		CHECK(zeCommandListAppendMemoryCopy(p->list[on], p->memory[on], other, SIZE, done, 0, NULL)
		      == ZE_RESULT_ERROR_INVALID_ARGUMENT);
		CHECK(zeCommandListAppendMemoryCopy(p->list[on], other, p->host, SIZE, NULL, 0, NULL)
		      == ZE_RESULT_ERROR_INVALID_ARGUMENT);
		CHECK(zeCommandListAppendMemoryFill(p->list[on], other, "\x5a", 1, SIZE, NULL, 0, NULL)
		      == ZE_RESULT_ERROR_INVALID_ARGUMENT);
		ze_command_list_handle_t regular;
		ze_command_list_desc_t list_desc = {.stype = ZE_STRUCTURE_TYPE_COMMAND_LIST_DESC};
		CHECK_ZE(zeCommandListCreate(p->context, p->device[on], &list_desc, &regular));
		CHECK(zeCommandListAppendMemoryCopy(regular, p->back, other, SIZE, NULL, 0, NULL)
		      == ZE_RESULT_ERROR_INVALID_ARGUMENT);
		CHECK_ZE(zeCommandListDestroy(regular));
	}
	/* The refused appends queued nothing: `done` was never signalled. */
	CHECK(zeEventQueryStatus(done) == ZE_RESULT_NOT_READY);

	/* host -> A -> mid on A's list, signalling `written`; B's list waits
	 * for it, then copies mid -> back. */
	unsigned char *mid;
	ze_host_mem_alloc_desc_t host_desc = {.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC};
	CHECK_ZE(zeMemAllocHost(p->context, &host_desc, SIZE, 64, (void **)&mid));
	fill(p->host, SIZE, 7);
	memset(mid, 0, SIZE);
	memset(p->back, 0, SIZE);
	CHECK_ZE(zeCommandListAppendMemoryCopy(p->list[0], p->memory[0], p->host, SIZE, NULL, 0, NULL));
	CHECK_ZE(zeCommandListAppendBarrier(p->list[0], NULL, 0, NULL));
	CHECK_ZE(zeCommandListAppendMemoryCopy(p->list[0], mid, p->memory[0], SIZE, written, 0, NULL));
	CHECK_ZE(zeCommandListAppendMemoryCopy(p->list[1], p->back, mid, SIZE, done, 1, &written));
	CHECK_ZE(zeEventHostSynchronize(done, UINT64_MAX));
	CHECK(holds(p->back, SIZE, 7));

	for (int d = 0; d < 2; d++)
		CHECK_ZE(zeCommandListDestroy(p->list[d]));
	CHECK_ZE(zeEventDestroy(done));
	CHECK_ZE(zeEventDestroy(written));
	CHECK_ZE(zeEventPoolDestroy(pool));
	for (int d = 0; d < 2; d++)
		CHECK_ZE(zeMemFree(p->context, p->memory[d]));
	CHECK_ZE(zeMemFree(p->context, mid));
	CHECK_ZE(zeMemFree(p->context, p->host));
	CHECK_ZE(zeMemFree(p->context, p->back));
	CHECK_ZE(zeContextDestroy(p->context));
	return 0;
}

static int run(ze_driver_handle_t driver, ze_device_handle_t first)
{
	struct pair p = {0};
	uint32_t count = 2;
	CHECK_ZE(zeDeviceGet(driver, &count, p.device));
	CHECK(p.device[0] == first);
	/* With one device the same steps run between two allocations of it, so
	 * that the program still moves and checks bytes on every backend. */
	const uint32_t devices = count < 2 ? 1 : 2;
	ze_bool_t reach[2] = {1, 1};
	if (devices == 1) {
		puts("ze_peer: one device, its allocations stand for both");
		p.device[1] = p.device[0];
	}
	for (uint32_t a = 0; devices == 2 && a < 2; a++) {
		ze_bool_t self = 0;
		ze_device_p2p_properties_t properties = {.stype = ZE_STRUCTURE_TYPE_DEVICE_P2P_PROPERTIES};
		CHECK_ZE(zeDeviceCanAccessPeer(p.device[a], p.device[1 - a], &reach[a]));
		CHECK_ZE(zeDeviceCanAccessPeer(p.device[a], p.device[a], &self));
		CHECK(self);
		CHECK_ZE(zeDeviceGetP2PProperties(p.device[a], p.device[1 - a], &properties));
		CHECK(!(properties.flags & ZE_DEVICE_P2P_PROPERTY_FLAG_ACCESS) == !reach[a]);
	}
	CHECK(!reach[0] == !reach[1]);
	ze_context_desc_t context_desc = {.stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC};
	CHECK_ZE(zeContextCreate(driver, &context_desc, &p.context));
	ze_host_mem_alloc_desc_t host_desc = {.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC};
	ze_device_mem_alloc_desc_t device_desc = {.stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC};
	CHECK_ZE(zeMemAllocHost(p.context, &host_desc, SIZE, 64, (void **)&p.host));
	CHECK_ZE(zeMemAllocHost(p.context, &host_desc, SIZE, 64, (void **)&p.back));
	for (int d = 0; d < 2; d++) {
		CHECK_ZE(zeMemAllocDevice(p.context, &device_desc, SIZE, 64, p.device[d], (void **)&p.memory[d]));
		CHECK(new_list(&p, d, &p.list[d]) == 0);
	}
	/* A pool both devices' lists may use. */
	ze_event_pool_handle_t pool;
	ze_event_pool_desc_t pool_desc = {.stype = ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
		.flags = ZE_EVENT_POOL_FLAG_HOST_VISIBLE, .count = 4};
	CHECK_ZE(zeEventPoolCreate(p.context, &pool_desc, devices, p.device, &pool));
	ze_event_handle_t done, written;
	ze_event_desc_t event_desc = {.stype = ZE_STRUCTURE_TYPE_EVENT_DESC, .index = 0,
		.wait = ZE_EVENT_SCOPE_FLAG_HOST | ZE_EVENT_SCOPE_FLAG_DEVICE};
	CHECK_ZE(zeEventCreate(pool, &event_desc, &done));
	event_desc.index = 1;
	CHECK_ZE(zeEventCreate(pool, &event_desc, &written));

	if (!reach[0]) {
		ze_stage("peer copies refused");
		CHECK(refused(&p, pool, done, written) == 0);
		puts("ze_peer: the devices cannot reach each other: peer copies refused at append, "
		     "cross-device waits verified");
		return 0;
	}

	/* Peer copies both ways, on either device's list. */
	ze_stage("peer copies both ways on either device's list");
	CHECK(through_peer(&p, 0, 0, 1, done, 1) == 0);
	CHECK(through_peer(&p, 0, 1, 0, done, 2) == 0);
	CHECK(through_peer(&p, 1, 0, 1, done, 3) == 0);
	CHECK(through_peer(&p, 1, 1, 0, done, 4) == 0);

	/* A's list writes B's memory and signals; B's list waits, then reads it. */
	ze_stage("an event signalled on A's list, waited on by B's");
	fill(p.host, SIZE, 5);
	memset(p.back, 0, SIZE);
	CHECK_ZE(zeCommandListAppendMemoryCopy(p.list[0], p.memory[1], p.host, SIZE, written, 0, NULL));
	CHECK_ZE(zeCommandListAppendMemoryCopy(p.list[1], p.back, p.memory[1], SIZE, done, 1, &written));
	CHECK_ZE(zeEventHostSynchronize(done, UINT64_MAX));
	CHECK(holds(p.back, SIZE, 5));
	CHECK_ZE(zeEventHostReset(done));
	CHECK_ZE(zeEventHostReset(written));

	ze_stage("lists destroyed with peer copies queued");
	/* Peer copies still queued when their lists go: destroying a list
	 * lets its work finish first. */
	fill(p.host, SIZE, 6);
	CHECK_ZE(zeCommandListAppendMemoryCopy(p.list[0], p.memory[0], p.host, SIZE, NULL, 0, NULL));
	CHECK_ZE(zeCommandListAppendBarrier(p.list[0], NULL, 0, NULL));
	CHECK_ZE(zeCommandListAppendMemoryCopy(p.list[0], p.memory[1], p.memory[0], SIZE, written, 0, NULL));
	CHECK_ZE(zeCommandListAppendMemoryCopy(p.list[1], p.memory[0], p.memory[1], 0, NULL, 1, &written));
	for (int d = 0; d < 2; d++)
		CHECK_ZE(zeCommandListDestroy(p.list[d]));
	CHECK(new_list(&p, 1, &p.list[1]) == 0);
	memset(p.back, 0, SIZE);
	CHECK_ZE(zeCommandListAppendMemoryCopy(p.list[1], p.back, p.memory[1], SIZE, done, 0, NULL));
	CHECK_ZE(zeEventHostSynchronize(done, UINT64_MAX));
	CHECK(holds(p.back, SIZE, 6));
	CHECK_ZE(zeCommandListDestroy(p.list[1]));

	CHECK_ZE(zeEventDestroy(done));
	CHECK_ZE(zeEventDestroy(written));
	CHECK_ZE(zeEventPoolDestroy(pool));
	for (int d = 0; d < 2; d++)
		CHECK_ZE(zeMemFree(p.context, p.memory[d]));
	CHECK_ZE(zeMemFree(p.context, p.host));
	CHECK_ZE(zeMemFree(p.context, p.back));
	CHECK_ZE(zeContextDestroy(p.context));
	return 0;
}

int main(void)
{
	return run_on_first_device(run, "ze_peer", "peer copies, cross-device waits and teardown verified");
}
