/* The shape the driver reports, against the shape Intel's driver reports
 * for the product swze models (SWZE_DEVICE_MODEL), under the hierarchy
 * asked (ZE_FLAT_DEVICE_HIERARCHY, FLAT by default) with SWZE_DEVICES cards:
 *   - FLAT: every stack a root device without subdevices; COMPOSITE: every
 *     card of several stacks one root device, its stacks its subdevices
 *     (SUBDEVICE flag, subdeviceId in order), a card of one stack a root;
 *     COMBINED: as FLAT, each stack of a card of several flagged a
 *     subdevice with its id on the card;
 *   - the queue groups of a stack and of a composite root, in ordinal
 *     order, with Intel's flags, queue counts and fill pattern sizes;
 *   - every (ordinal, index) of every group takes an immediate list that
 *     copies (bytes checked, completion seen through an event), an ordinal
 *     or an index past them is refused;
 *   - every device's UUID differs from every other's; the stacks of a card
 *     reach each other's memory.
 * The expected shapes are written here from Intel's documents and
 * compute-runtime, not taken from swze's own tables. Public API and swze's
 * control API (for the model's name) only. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ze_program.h"
#include "../include/swze.h"

#define MAX_GROUPS 4
#define MAX_DEVICES 64

/* Compute engines copy and run cooperative kernels too (METRICS only on a
 * render-compute engine, which neither product's compute group is). */
#define COMPUTE_FLAGS (ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE | ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY | \
	ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COOPERATIVE_KERNELS)
#define COPY_FLAGS ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY

struct group {
	ze_command_queue_group_property_flags_t flags;
	uint32_t queues;
};

struct shape {
	const char *model;
	uint32_t stacks;
	/* What a copy group reports as its largest fill pattern; a compute
	 * group reports any size (SIZE_MAX). */
	size_t copy_fill;
	uint32_t stack_group_count;
	struct group stack_groups[MAX_GROUPS];
	/* A COMPOSITE root of several stacks (implicit scaling): one queue of
	 * compute, the copy groups of its first stack. */
	uint32_t composite_group_count;
	struct group composite_groups[MAX_GROUPS];
};

static const struct shape shapes[] = {
	/* Data Center GPU Max 1550: 2 stacks; a stack has 4 compute engines
	 * (CCS), the main copy engine (BCS0) and 7 link copy engines. */
	{"max1550", 2, 1, 3, {{COMPUTE_FLAGS, 4}, {COPY_FLAGS, 1}, {COPY_FLAGS, 7}},
	 3, {{COMPUTE_FLAGS, 1}, {COPY_FLAGS, 1}, {COPY_FLAGS, 7}}},
	/* Data Center GPU Flex 170 (DG2): 1 stack, 4 compute engines, 1 copy
	 * engine. */
	{"flex170", 1, 16, 2, {{COMPUTE_FLAGS, 4}, {COPY_FLAGS, 1}}, 2, {{COMPUTE_FLAGS, 4}, {COPY_FLAGS, 1}}},
};

static ze_context_handle_t context;

#define COPY_BYTES 4096

/* A copy on `list` signalling an event, waited for, its bytes checked. */
static int copy_through(ze_device_handle_t device, ze_command_list_handle_t list, unsigned seed)
{
	ze_host_mem_alloc_desc_t host_desc = {.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC};
	unsigned char *source = NULL, *destination = NULL;
	CHECK_ZE(zeMemAllocHost(context, &host_desc, COPY_BYTES, 64, (void **)&source));
	CHECK_ZE(zeMemAllocHost(context, &host_desc, COPY_BYTES, 64, (void **)&destination));
	for (size_t i = 0; i < COPY_BYTES; i++)
		source[i] = (unsigned char)(i * 7 + seed), destination[i] = 0;
	ze_event_pool_desc_t pool_desc = {.stype = ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
		.flags = ZE_EVENT_POOL_FLAG_HOST_VISIBLE, .count = 1};
	ze_event_pool_handle_t pool = NULL;
	ze_event_handle_t done = NULL;
	CHECK_ZE(zeEventPoolCreate(context, &pool_desc, 1, &device, &pool));
	CHECK_ZE(host_event(pool, 0, &done));
	CHECK_ZE(zeCommandListAppendMemoryCopy(list, destination, source, COPY_BYTES, done, 0, NULL));
	CHECK_ZE(zeEventHostSynchronize(done, UINT64_MAX));
	CHECK(memcmp(source, destination, COPY_BYTES) == 0);
	CHECK_ZE(zeEventDestroy(done));
	CHECK_ZE(zeEventPoolDestroy(pool));
	CHECK_ZE(zeMemFree(context, source));
	CHECK_ZE(zeMemFree(context, destination));
	return 0;
}

static int check_groups(ze_device_handle_t device, const struct group *expected, uint32_t count, size_t copy_fill,
                        const char *what)
{
	ze_command_queue_group_properties_t groups[MAX_GROUPS + 1];
	uint32_t n = 0;
	CHECK_ZE(zeDeviceGetCommandQueueGroupProperties(device, &n, NULL));
	if (n != count) {
		fprintf(stderr, "%s: %u queue groups, expected %u\n", what, n, count);
		failures++;
		return -1;
	}
	for (uint32_t i = 0; i < n; i++)
		groups[i] = (ze_command_queue_group_properties_t){.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_GROUP_PROPERTIES};
	CHECK_ZE(zeDeviceGetCommandQueueGroupProperties(device, &n, groups));
	for (uint32_t ordinal = 0; ordinal < n; ordinal++) {
		const ze_command_queue_group_properties_t *g = &groups[ordinal];
		if (g->flags != expected[ordinal].flags || g->numQueues != expected[ordinal].queues) {
			fprintf(stderr, "%s: ordinal %u has flags %#x and %u queues, expected %#x and %u\n", what, ordinal,
			        (unsigned)g->flags, g->numQueues, (unsigned)expected[ordinal].flags,
			        expected[ordinal].queues);
			failures++;
			return -1;
		}
		if (g->flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE)
			CHECK(g->maxMemoryFillPatternSize == SIZE_MAX);
		else
			CHECK(g->maxMemoryFillPatternSize == copy_fill);
		for (uint32_t index = 0; index <= g->numQueues; index++) {
			ze_command_queue_desc_t desc = {.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC, .ordinal = ordinal,
				.index = index, .mode = ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS};
			ze_command_list_handle_t list = NULL;
			ze_result_t result = zeCommandListCreateImmediate(context, device, &desc, &list);
			if (index < g->numQueues) {
				CHECK_ZE(result);
				if (copy_through(device, list, ordinal * 16 + index) != 0)
					return -1;
				CHECK_ZE(zeCommandListDestroy(list));
			} else {
				CHECK(result != ZE_RESULT_SUCCESS);
			}
		}
	}
	ze_command_queue_desc_t past = {.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC, .ordinal = n,
		.mode = ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS};
	ze_command_list_handle_t list = NULL;
	CHECK(zeCommandListCreateImmediate(context, device, &past, &list) != ZE_RESULT_SUCCESS);
	return 0;
}

static ze_device_handle_t every_device[MAX_DEVICES];
static uint32_t every_count;

static int note_device(ze_device_handle_t device, int subdevice, uint32_t subdevice_id)
{
	ze_device_properties_t p = {.stype = ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES};
	CHECK_ZE(zeDeviceGetProperties(device, &p));
	CHECK(p.type == ZE_DEVICE_TYPE_GPU);
	CHECK(!!(p.flags & ZE_DEVICE_PROPERTY_FLAG_SUBDEVICE) == subdevice);
	if (subdevice)
		CHECK(p.subdeviceId == subdevice_id);
	CHECK(every_count < MAX_DEVICES);
	for (uint32_t i = 0; i < every_count; i++) {
		ze_device_properties_t q = {.stype = ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES};
		CHECK_ZE(zeDeviceGetProperties(every_device[i], &q));
		CHECK(memcmp(p.uuid.id, q.uuid.id, sizeof p.uuid.id) != 0);
	}
	every_device[every_count++] = device;
	return 0;
}

static int stacks_reach_each_other(ze_device_handle_t a, ze_device_handle_t b)
{
	ze_bool_t reach = 0;
	CHECK_ZE(zeDeviceCanAccessPeer(a, b, &reach));
	CHECK(reach);
	CHECK_ZE(zeDeviceCanAccessPeer(b, a, &reach));
	CHECK(reach);
	return 0;
}

/* `stacks`: per card (the cuda backend makes every GPU one stack);
 * `cards` 0: as many as the driver has. */
enum hierarchy { FLAT, COMPOSITE, COMBINED };
static const char *const hierarchy_names[] = {"FLAT", "COMPOSITE", "COMBINED"};

static int topology(ze_driver_handle_t driver, const struct shape *shape, uint32_t stacks, enum hierarchy hierarchy,
                    uint32_t cards)
{
	ze_stage("roots");
	ze_context_desc_t desc = {.stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC};
	CHECK_ZE(zeContextCreate(driver, &desc, &context));
	int stacks_are_subdevices = hierarchy == COMPOSITE && stacks > 1;
	int stacks_flagged = hierarchy == COMBINED && stacks > 1;
	uint32_t expected_roots = stacks_are_subdevices ? cards : cards * stacks;
	ze_device_handle_t roots[MAX_DEVICES];
	uint32_t count = 0;
	CHECK_ZE(zeDeviceGet(driver, &count, NULL));
	CHECK((cards == 0 || count == expected_roots) && count <= MAX_DEVICES);
	CHECK_ZE(zeDeviceGet(driver, &count, roots));
	for (uint32_t r = 0; r < count; r++) {
		char what[64];
		snprintf(what, sizeof what, "root device %u", r);
		ze_stage("a root's groups and subdevices");
		if (note_device(roots[r], stacks_flagged, stacks_flagged ? r % stacks : 0) != 0)
			return -1;
		uint32_t subs = 0;
		CHECK_ZE(zeDeviceGetSubDevices(roots[r], &subs, NULL));
		if (!stacks_are_subdevices) {
			CHECK(subs == 0);
			if (check_groups(roots[r], shape->stack_groups, shape->stack_group_count, shape->copy_fill, what) != 0)
				return -1;
			/* FLAT: root devices 2c and 2c+1 are the stacks of card c. */
			if (stacks > 1 && r % stacks == 1 && stacks_reach_each_other(roots[r - 1], roots[r]) != 0)
				return -1;
			continue;
		}
		if (check_groups(roots[r], shape->composite_groups, shape->composite_group_count, shape->copy_fill,
		                 what) != 0)
			return -1;
		CHECK(subs == stacks && subs <= MAX_GROUPS);
		ze_device_handle_t sub[MAX_GROUPS];
		CHECK_ZE(zeDeviceGetSubDevices(roots[r], &subs, sub));
		for (uint32_t s = 0; s < subs; s++) {
			snprintf(what, sizeof what, "root device %u, subdevice %u", r, s);
			if (note_device(sub[s], 1, s) != 0 ||
			    check_groups(sub[s], shape->stack_groups, shape->stack_group_count, shape->copy_fill, what) != 0)
				return -1;
			uint32_t nested = 0;
			CHECK_ZE(zeDeviceGetSubDevices(sub[s], &nested, NULL));
			CHECK(nested == 0);
		}
		if (stacks_reach_each_other(sub[0], sub[1]) != 0)
			return -1;
	}
	CHECK_ZE(zeContextDestroy(context));
	return 0;
}

int main(void)
{
	ze_program_start("ze_topology");
	ze_driver_handle_t driver;
	ze_device_handle_t device;
	if (first_device(&driver, &device) != 0)
		return 1;
	struct swze_api swze;
	if (swze_api_load(&swze) != 0) {
		fprintf(stderr, "ze_topology: not the software driver: no model to check against\n");
		return 77;
	}
	const char *model = swze.device_model();
	const struct shape *shape = NULL;
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
		if (model && strcmp(shapes[i].model, model) == 0)
			shape = &shapes[i];
	if (!shape) {
		fprintf(stderr, "ze_topology: no expected shape for model %s\n", model ? model : "(none)");
		return 1;
	}
	const char *hierarchy = getenv("ZE_FLAT_DEVICE_HIERARCHY");
	enum hierarchy asked = FLAT;
	if (hierarchy && strcmp(hierarchy, "COMPOSITE") == 0)
		asked = COMPOSITE;
	else if (hierarchy && strcmp(hierarchy, "COMBINED") == 0)
		asked = COMBINED;
	const char *devices = getenv("SWZE_DEVICES");
	uint32_t cards = devices && *devices ? (uint32_t)strtoul(devices, NULL, 10) : 1, stacks = shape->stacks;
	const char *backend = swze.backend();
	if (backend && strcmp(backend, "cuda") == 0)
		stacks = 1, cards = 0; /* every CUDA GPU one stack of the model */
	topology(driver, shape, stacks, asked, cards);
	ze_stage("end");
	alarm(0);
	if (failures == 0)
		printf("ze_topology: %s %s, %u devices: the shape Intel's driver reports\n", model,
		       hierarchy_names[asked], every_count);
	return failures == 0 ? 0 : 1;
}
