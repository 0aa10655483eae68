/* A Level Zero program that knows nothing about the driver it runs on: for
 * every device and subdevice it copies host -> device -> host through
 * asynchronous immediate command lists chained by events, and verifies every
 * byte. Exit status 0 only if every check held. Public API only. */
#define _POSIX_C_SOURCE 200809L
#include <level_zero/ze_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ze_program.h"


#define EXPECT(condition)                                                             \
	do {                                                                          \
		if (!(condition)) {                                                   \
			fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, \
			        #condition);                                          \
			failures++;                                                   \
		}                                                                     \
	} while (0)

/* The first queue group that can copy, preferring a copy-only one (what a DMA
 * engine would pick on a data-center GPU). */
static int pick_copy_ordinal(ze_device_handle_t device, uint32_t *ordinal)
{
	uint32_t count = 0;
	CHECK_ZE(zeDeviceGetCommandQueueGroupProperties(device, &count, NULL));
	ze_command_queue_group_properties_t *groups = calloc(count, sizeof(*groups));
	if (groups == NULL)
		return -1;
	for (uint32_t i = 0; i < count; i++)
		groups[i].stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_GROUP_PROPERTIES;
	ze_result_t result = zeDeviceGetCommandQueueGroupProperties(device, &count, groups);
	int found = -1;
	for (uint32_t i = 0; result == ZE_RESULT_SUCCESS && i < count; i++) {
		ze_command_queue_group_property_flags_t flags = groups[i].flags;
		if ((flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY) == 0)
			continue;
		if (found < 0 || (flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE) == 0)
			found = (int)i;
	}
	free(groups);
	CHECK_ZE(result);
	EXPECT(found >= 0);
	*ordinal = found < 0 ? 0 : (uint32_t)found;
	return found < 0 ? -1 : 0;
}

static int roundtrip(ze_driver_handle_t driver, ze_device_handle_t device, size_t size)
{
	ze_device_properties_t properties = {.stype = ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES};
	CHECK_ZE(zeDeviceGetProperties(device, &properties));
	uint32_t ordinal;
	if (pick_copy_ordinal(device, &ordinal) != 0)
		return -1;

	ze_context_desc_t context_desc = {.stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC};
	ze_context_handle_t context;
	CHECK_ZE(zeContextCreate(driver, &context_desc, &context));

	ze_host_mem_alloc_desc_t host_desc = {.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC};
	ze_device_mem_alloc_desc_t device_desc = {.stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC};
	unsigned char *source, *device_buffer;
	unsigned char *back = malloc(size); /* plain malloc: copies accept it */
	EXPECT(back != NULL);
	CHECK_ZE(zeMemAllocHost(context, &host_desc, size, 4096, (void **)&source));
	CHECK_ZE(zeMemAllocDevice(context, &device_desc, size, 256, device, (void **)&device_buffer));
	EXPECT(((uintptr_t)source & 4095) == 0);
	EXPECT(((uintptr_t)device_buffer & 255) == 0);

	ze_memory_allocation_properties_t allocation = {.stype = ZE_STRUCTURE_TYPE_MEMORY_ALLOCATION_PROPERTIES};
	ze_device_handle_t owner = NULL;
	CHECK_ZE(zeMemGetAllocProperties(context, device_buffer + size / 2, &allocation, &owner));
	EXPECT(allocation.type == ZE_MEMORY_TYPE_DEVICE);
	EXPECT(owner == device);
	CHECK_ZE(zeMemGetAllocProperties(context, source, &allocation, NULL));
	EXPECT(allocation.type == ZE_MEMORY_TYPE_HOST);
	CHECK_ZE(zeMemGetAllocProperties(context, back, &allocation, NULL));
	EXPECT(allocation.type == ZE_MEMORY_TYPE_UNKNOWN);

	for (size_t i = 0; i < size; i++) {
		source[i] = (unsigned char)(i * 131 + 7);
		back[i] = 0;
	}

	ze_command_queue_desc_t queue_desc = {
		.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
		.ordinal = ordinal,
		.index = 0,
		.flags = ZE_COMMAND_QUEUE_FLAG_EXPLICIT_ONLY,
		.mode = ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS,
		.priority = ZE_COMMAND_QUEUE_PRIORITY_NORMAL,
	};
	ze_command_list_handle_t upload, download;
	CHECK_ZE(zeCommandListCreateImmediate(context, device, &queue_desc, &upload));
	CHECK_ZE(zeCommandListCreateImmediate(context, device, &queue_desc, &download));

	ze_event_scope_flags_t scope = ZE_EVENT_SCOPE_FLAG_HOST |
		((properties.flags & ZE_DEVICE_PROPERTY_FLAG_SUBDEVICE) ? ZE_EVENT_SCOPE_FLAG_SUBDEVICE
		                                                         : ZE_EVENT_SCOPE_FLAG_DEVICE);
	ze_event_pool_desc_t pool_desc = {
		.stype = ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
		.flags = ZE_EVENT_POOL_FLAG_HOST_VISIBLE,
		.count = 3,
	};
	ze_event_pool_handle_t pool;
	CHECK_ZE(zeEventPoolCreate(context, &pool_desc, 1, &device, &pool));
	ze_event_handle_t uploaded, downloaded, fenced;
	ze_event_desc_t event_desc = {.stype = ZE_STRUCTURE_TYPE_EVENT_DESC, .signal = scope, .wait = scope};
	event_desc.index = 0;
	CHECK_ZE(zeEventCreate(pool, &event_desc, &uploaded));
	event_desc.index = 1;
	CHECK_ZE(zeEventCreate(pool, &event_desc, &downloaded));
	event_desc.index = 2;
	CHECK_ZE(zeEventCreate(pool, &event_desc, &fenced));
	EXPECT(zeEventQueryStatus(downloaded) == ZE_RESULT_NOT_READY);

	/* host -> device on one list, device -> host on another that waits. */
	CHECK_ZE(zeCommandListAppendMemoryCopy(upload, device_buffer, source, size, uploaded, 0, NULL));
	CHECK_ZE(zeCommandListAppendMemoryCopy(download, back, device_buffer, size, downloaded, 1, &uploaded));
	CHECK_ZE(zeEventHostSynchronize(downloaded, UINT64_MAX));
	EXPECT(zeEventQueryStatus(uploaded) == ZE_RESULT_SUCCESS);
	EXPECT(memcmp(source, back, size) == 0);

	/* A barrier after everything, then reset and reuse every event. */
	CHECK_ZE(zeCommandListAppendBarrier(download, fenced, 0, NULL));
	CHECK_ZE(zeEventHostSynchronize(fenced, UINT64_MAX));
	CHECK_ZE(zeEventHostReset(uploaded));
	CHECK_ZE(zeEventHostReset(downloaded));
	EXPECT(zeEventQueryStatus(uploaded) == ZE_RESULT_NOT_READY);
	memset(back, 0, size);
	CHECK_ZE(zeCommandListAppendMemoryCopy(upload, device_buffer, back, size / 2, uploaded, 0, NULL));
	CHECK_ZE(zeCommandListAppendMemoryCopy(download, back + size / 2, device_buffer, size / 2, downloaded, 1,
	                                       &uploaded));
	CHECK_ZE(zeEventHostSynchronize(downloaded, UINT64_MAX));
	for (size_t i = 0; i < size / 2; i++)
		if (back[size / 2 + i] != 0) {
			EXPECT(back[size / 2 + i] == 0);
			break;
		}

	CHECK_ZE(zeEventDestroy(uploaded));
	CHECK_ZE(zeEventDestroy(downloaded));
	CHECK_ZE(zeEventDestroy(fenced));
	CHECK_ZE(zeEventPoolDestroy(pool));
	CHECK_ZE(zeCommandListDestroy(upload));
	CHECK_ZE(zeCommandListDestroy(download));
	CHECK_ZE(zeMemFree(context, device_buffer));
	CHECK_ZE(zeMemFree(context, source));
	CHECK_ZE(zeContextDestroy(context));
	free(back);
	printf("  %s: %zu bytes host -> device -> host verified\n", properties.name, size);
	return 0;
}

/* The stage's name, kept for the watchdog (which may read it at any time). */
static char stage_name[128];

int main(void)
{
	ze_program_start("ze_roundtrip");
	ze_stage("zeInit, drivers and devices");
	if (zeInit(0) != ZE_RESULT_SUCCESS) {
		fprintf(stderr, "zeInit failed\n");
		return 1;
	}
	uint32_t driver_count = 0;
	if (zeDriverGet(&driver_count, NULL) != ZE_RESULT_SUCCESS || driver_count == 0) {
		fprintf(stderr, "no Level Zero driver\n");
		return 1;
	}
	ze_driver_handle_t driver;
	driver_count = 1;
	if (zeDriverGet(&driver_count, &driver) != ZE_RESULT_SUCCESS)
		return 1;
	ze_api_version_t version;
	if (zeDriverGetApiVersion(driver, &version) != ZE_RESULT_SUCCESS)
		return 1;

	uint32_t device_count = 0;
	if (zeDeviceGet(driver, &device_count, NULL) != ZE_RESULT_SUCCESS || device_count == 0) {
		fprintf(stderr, "no device\n");
		return 1;
	}
	ze_device_handle_t *devices = calloc(device_count, sizeof(*devices));
	if (devices == NULL || zeDeviceGet(driver, &device_count, devices) != ZE_RESULT_SUCCESS)
		return 1;
	unsigned tested = 0;
	for (uint32_t d = 0; d < device_count; d++) {
		snprintf(stage_name, sizeof stage_name, "roundtrip of 1 MiB, device %u", (unsigned)d);
		ze_stage(stage_name);
		roundtrip(driver, devices[d], (size_t)1 << 20);
		tested++;
		uint32_t sub_count = 0;
		if (zeDeviceGetSubDevices(devices[d], &sub_count, NULL) != ZE_RESULT_SUCCESS) {
			failures++;
			continue;
		}
		ze_device_handle_t *subs = calloc(sub_count ? sub_count : 1, sizeof(*subs));
		if (subs == NULL || zeDeviceGetSubDevices(devices[d], &sub_count, subs) != ZE_RESULT_SUCCESS) {
			failures++;
			free(subs);
			continue;
		}
		for (uint32_t s = 0; s < sub_count; s++) {
			ze_device_properties_t properties = {.stype = ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES};
			if (zeDeviceGetProperties(subs[s], &properties) != ZE_RESULT_SUCCESS ||
			    !(properties.flags & ZE_DEVICE_PROPERTY_FLAG_SUBDEVICE)) {
				fprintf(stderr, "subdevice %u of device %u not flagged as a subdevice\n", s, d);
				failures++;
			}
			snprintf(stage_name, sizeof stage_name, "roundtrip of 4113 bytes, device %u subdevice %u",
			         (unsigned)d, (unsigned)s);
			ze_stage(stage_name);
			roundtrip(driver, subs[s], 4096 + 17);
			tested++;
		}
		free(subs);
	}
	free(devices);
	ze_stage("end");
	alarm(0);
	printf("%u device(s) tested, %d failure(s)\n", tested, failures);
	return failures == 0 ? 0 : 1;
}
