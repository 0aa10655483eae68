/* Every device and subdevice the driver reports (run with SWZE_DEVICES=2
 * ZE_FLAT_DEVICE_HIERARCHY=COMPOSITE): a dma on each moves data, its event
 * scope follows upstream's rule (HOST|SUBDEVICE on a subdevice, HOST|DEVICE
 * on a root device), every queue (ordinal, index) the device has is accepted
 * while the first one past the end is refused, and index -1 spans every
 * queue of its group and every other copy engine of the device. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml/dma/ze.h>

#include "check.h"
#include "driver_ctl.h"
#include "pattern.h"
#include "sync_copy.h"
#include "ze_env.h"

#define MAX_DEVICES 16
#define MAX_GROUPS 8
#define SIZE ((size_t)70001)

/* The lists a dma over every copy engine makes when created on `ordinal`:
 * its group's queues, then those of every other copy-only group, then,
 * from a copy group, a compute queue for copies within the device. */
static uint32_t every_copy_engine(const ze_command_queue_group_properties_t *groups,
                                  uint32_t count, uint32_t ordinal)
{
	uint32_t lists = groups[ordinal].numQueues, compute = 0;
	for (uint32_t other = 0; other < count; other++) {
		ze_command_queue_group_property_flags_t flags = groups[other].flags;
		if (other != ordinal && (flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY) &&
		    !(flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE))
			lists += groups[other].numQueues;
		if (flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE)
			compute = 1;
	}
	/* From a copy group: and a compute queue, for copies within the device. */
	if (!(groups[ordinal].flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE))
		lists += compute;
	return lists;
}

static void check_device(ze_device_handle_t device, int is_subdevice,
                         uint32_t seed)
{
	struct aml_dma *dma = NULL;
	ze_command_queue_group_properties_t groups[MAX_GROUPS];
	uint32_t count = MAX_GROUPS;

	CHECK_INT(aml_dma_ze_create(&dma, device, 0, 0), AML_SUCCESS);
	struct aml_dma_ze_data *data = (struct aml_dma_ze_data *)dma->data;
	CHECK(data->device == device);
	CHECK_INT(data->event_flags,
	          ZE_EVENT_SCOPE_FLAG_HOST |
	                  (is_subdevice ? ZE_EVENT_SCOPE_FLAG_SUBDEVICE
	                                : ZE_EVENT_SCOPE_FLAG_DEVICE));
	check_sync_copy(dma, SIZE, seed);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);

	for (uint32_t i = 0; i < MAX_GROUPS; i++)
		groups[i] = (ze_command_queue_group_properties_t){
		        .stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_GROUP_PROPERTIES};
	CHECK_INT(zeDeviceGetCommandQueueGroupProperties(device, &count,
	                                                 groups),
	          ZE_RESULT_SUCCESS);
	CHECK(count >= 1);
	for (uint32_t ordinal = 0; ordinal < count; ordinal++) {
		int last = (int)groups[ordinal].numQueues - 1;
		CHECK(last >= 0);
		CHECK_INT(aml_dma_ze_create(&dma, device, (int)ordinal, last),
		          AML_SUCCESS);
		check_sync_copy(dma, SIZE, seed + ordinal + 1);
		CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
		CHECK_INT(aml_dma_ze_create(&dma, device, (int)ordinal,
		                            last + 1),
		          -AML_EINVAL);
		CHECK(dma == NULL);
	}
	CHECK_INT(aml_dma_ze_create(&dma, device, (int)count, 0), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_create(&dma, device, -1, 0), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_create(&dma, device, 0, -2), -AML_EINVAL);
	/* -1, our extension: every queue of the group, then every other copy
	 * engine (and a compute queue). */
	for (uint32_t ordinal = 0; ordinal < count; ordinal++) {
		uint64_t lists = driver_live("command_list");
		CHECK_INT(aml_dma_ze_create(&dma, device, (int)ordinal, -1),
		          AML_SUCCESS);
		CHECK_INT(driver_live("command_list") - lists,
		          every_copy_engine(groups, count, ordinal));
		check_sync_copy(dma, SIZE, seed + ordinal + 11);
		CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
		CHECK_INT(driver_live("command_list"), lists);
	}
	CHECK(dma == NULL);
}

int main(void)
{
	struct ze_env env;
	ze_device_handle_t roots[MAX_DEVICES];
	uint32_t root_count = MAX_DEVICES, checked_subdevices = 0;

	ze_env_open(&env);
	driver_ctl_load();
	CHECK_INT(zeDeviceGet(env.driver, &root_count, roots),
	          ZE_RESULT_SUCCESS);
	if (root_count < 2)
		SKIP("needs two devices (set SWZE_DEVICES=2)");
	for (uint32_t r = 0; r < root_count; r++) {
		ze_device_handle_t subs[MAX_DEVICES];
		uint32_t sub_count = MAX_DEVICES;

		check_device(roots[r], 0, 100 * r);
		CHECK_INT(zeDeviceGetSubDevices(roots[r], &sub_count, subs),
		          ZE_RESULT_SUCCESS);
		for (uint32_t s = 0; s < sub_count; s++)
			check_device(subs[s], 1, 100 * r + 10 * s + 50);
		checked_subdevices += sub_count;
	}
	/* Devices without subdevices (FLAT, one-stack models, the cuda
	 * backend's) still had every root device checked; the COMPOSITE runs
	 * of a model of several stacks cover subdevices. */
	if (checked_subdevices == 0)
		printf("test_devices: %u root devices, no subdevices\n", root_count);
	ze_env_close(&env);
	return CTEST_EXIT_PASS;
}
