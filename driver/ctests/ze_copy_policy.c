/* What the driver does with each copy, seen from a Level Zero program: on an
 * immediate list on the main copy engine (ordinal 1, index 0) a large copy
 * and a copy appended right after it that reads what it wrote, without an
 * event between them: the list's order must hold, whatever the driver does
 * with the first (Intel's driver splits it over link copy engines). The
 * same on a compute list (copies as kernels), for small copies (which
 * Intel's driver may do with the CPU), and with the driver's policies off.
 * Every byte is compared with what was sent.
 *
 * Where the driver is swze on the cpu backend, its control API also says
 * which way each copy went and which engines moved the bytes, checked
 * against what Intel's driver does on the device model: a split on a Max
 * (a stack, or a COMPOSITE root over its first stack's engines), none on a
 * Flex; host to device over BCS1 and BCS3 (link queues 0 and 2), device to
 * host over BCS5 and BCS7 (queues 4 and 6); CPU copies on a Max stack, not
 * on a COMPOSITE root (its memory spans both stacks). */
#define _POSIX_C_SOURCE 200809L
#include <level_zero/ze_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/swze.h"

#include "ze_program.h"

#define MiB ((size_t)1 << 20)
#define LARGE (8 * MiB)

static struct swze_api swze;
static int counted; /* the cpu backend: routes and engine bytes are counted */
static int splits; /* a Max 1550: the main copy engine splits */
static int cpu_copies; /* a Max 1550 stack: small copies may go through the CPU */

static ze_context_handle_t context;
static ze_device_handle_t device;

static uint64_t route(const char *name)
{
	return counted ? swze.copy_route_count(name) : 0;
}

static ze_command_list_handle_t list_on(uint32_t ordinal, uint32_t index)
{
	ze_command_queue_desc_t desc = {.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC, .ordinal = ordinal,
		.index = index, .mode = ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS};
	ze_command_list_handle_t list = NULL;
	if (zeCommandListCreateImmediate(context, device, &desc, &list) != ZE_RESULT_SUCCESS)
		return NULL;
	return list;
}

static void fill(unsigned char *bytes, size_t size, unsigned seed)
{
	for (size_t i = 0; i < size; i++)
		bytes[i] = (unsigned char)(i * 31 + seed + (i >> 12));
}

/* host -> device (`size` bytes), then at once device -> host on the same
 * list, then an event after both: the host buffer back must equal what was
 * sent. */
static int there_and_back(ze_command_list_handle_t list, void *host_out, void *host_in, void *device_buffer,
                          size_t size, unsigned seed, ze_event_handle_t done)
{
	fill(host_out, size, seed);
	memset(host_in, 0, size);
	CHECK_ZE(zeCommandListAppendMemoryCopy(list, device_buffer, host_out, size, NULL, 0, NULL));
	CHECK_ZE(zeCommandListAppendMemoryCopy(list, host_in, device_buffer, size, done, 0, NULL));
	CHECK_ZE(zeEventHostSynchronize(done, UINT64_MAX));
	CHECK_ZE(zeEventHostReset(done));
	CHECK(memcmp(host_in, host_out, size) == 0);
	return 0;
}

static int policies(ze_driver_handle_t driver, ze_device_handle_t first)
{
	(void)driver;
	device = first;
	ze_context_desc_t context_desc = {.stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC};
	CHECK_ZE(zeContextCreate(driver, &context_desc, &context));

	counted = swze_api_load(&swze) == 0 && swze.backend() != NULL && strcmp(swze.backend(), "cpu") == 0;
	uint32_t subdevices = 0;
	CHECK_ZE(zeDeviceGetSubDevices(device, &subdevices, NULL));
	splits = counted && strcmp(swze.device_model(), "max1550") == 0;
	cpu_copies = splits && subdevices == 0;

	ze_host_mem_alloc_desc_t host_desc = {.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC};
	ze_device_mem_alloc_desc_t device_desc = {.stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC};
	void *host_out, *host_in, *device_buffer, *device_other;
	CHECK_ZE(zeMemAllocHost(context, &host_desc, LARGE, 64, &host_out));
	CHECK_ZE(zeMemAllocHost(context, &host_desc, LARGE, 64, &host_in));
	CHECK_ZE(zeMemAllocDevice(context, &device_desc, LARGE, 64, device, &device_buffer));
	CHECK_ZE(zeMemAllocDevice(context, &device_desc, LARGE, 64, device, &device_other));
	unsigned char *malloc_out = malloc(LARGE), *malloc_in = malloc(LARGE);
	CHECK(malloc_out != NULL && malloc_in != NULL);

	ze_event_pool_desc_t pool_desc = {.stype = ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
		.flags = ZE_EVENT_POOL_FLAG_HOST_VISIBLE, .count = 2};
	ze_event_pool_handle_t pool;
	ze_event_handle_t done, gate;
	CHECK_ZE(zeEventPoolCreate(context, &pool_desc, 1, &device, &pool));
	CHECK_ZE(host_event(pool, 0, &done));
	CHECK_ZE(host_event(pool, 1, &gate));

	ze_stage("a large copy on the main copy engine, then one that reads it");
	ze_command_list_handle_t main_engine = list_on(1, 0);
	CHECK(main_engine != NULL);
	if (counted)
		swze.counters_reset();
	uint64_t link_to[4], link_from[4];
	for (uint32_t q = 0; q < 4 && counted; q++) {
		link_to[q] = swze.engine_bytes(0, 2, 2 * q);
		link_from[q] = swze.engine_bytes(0, 2, 2 * q);
	}
	uint64_t main_before = counted ? swze.engine_bytes(0, 1, 0) : 0;
	if (there_and_back(main_engine, host_out, host_in, device_buffer, LARGE, 1, done) != 0)
		return -1;
	if (splits) {
		/* Each way split in two: BCS1, BCS3 in, BCS5, BCS7 out. */
		CHECK(route("split") == 2);
		CHECK(swze.engine_bytes(0, 1, 0) == main_before);
		CHECK(swze.engine_bytes(0, 2, 0) - link_to[0] == LARGE / 2);
		CHECK(swze.engine_bytes(0, 2, 2) - link_to[1] == LARGE / 2);
		CHECK(swze.engine_bytes(0, 2, 4) - link_from[2] == LARGE / 2);
		CHECK(swze.engine_bytes(0, 2, 6) - link_from[3] == LARGE / 2);
	} else if (counted) {
		CHECK(route("split") == 0);
	}

	ze_stage("malloc'd memory, split and in order");
	if (there_and_back(main_engine, malloc_out, malloc_in, device_buffer, LARGE, 2, done) != 0)
		return -1;
	CHECK(!splits || route("split") == 4);

	ze_stage("a split copy behind an event the host signals later");
	fill(host_out, LARGE, 3);
	memset(host_in, 0, LARGE);
	CHECK_ZE(zeCommandListAppendMemoryCopy(main_engine, device_buffer, host_out, LARGE, NULL, 1, &gate));
	CHECK_ZE(zeCommandListAppendMemoryCopy(main_engine, host_in, device_buffer, LARGE, done, 0, NULL));
	CHECK(zeEventQueryStatus(done) == ZE_RESULT_NOT_READY);
	CHECK_ZE(zeEventHostSignal(gate));
	CHECK_ZE(zeEventHostSynchronize(done, UINT64_MAX));
	CHECK_ZE(zeEventHostReset(done));
	CHECK_ZE(zeEventHostReset(gate));
	CHECK(memcmp(host_in, host_out, LARGE) == 0);

	ze_stage("small copies, which the driver may do with the CPU");
	uint64_t cpu_before = route("cpu");
	for (unsigned seed = 0; seed < 8; seed++)
		if (there_and_back(main_engine, host_out, host_in, device_buffer, 64, 10 + seed, done) != 0)
			return -1;
	/* 64 B each way is under PVC's thresholds (50 KiB in, 128 B out) and
	 * no barrier was ever appended to this list: both go through the CPU,
	 * at append, one after the other. */
	CHECK(!cpu_copies || route("cpu") > cpu_before);

	ze_stage("a compute list: copy kernels, device-local and over the link");
	ze_command_list_handle_t compute = list_on(0, 0);
	CHECK(compute != NULL);
	uint64_t kernels = route("kernel"), local = route("kernel_local");
	fill(host_out, LARGE, 4);
	memset(host_in, 0, LARGE);
	CHECK_ZE(zeCommandListAppendMemoryCopy(compute, device_buffer, host_out, LARGE, NULL, 0, NULL));
	CHECK_ZE(zeCommandListAppendMemoryCopy(compute, device_other, device_buffer, LARGE, NULL, 0, NULL));
	CHECK_ZE(zeCommandListAppendMemoryCopy(compute, host_in, device_other, LARGE, done, 0, NULL));
	CHECK_ZE(zeEventHostSynchronize(done, UINT64_MAX));
	CHECK_ZE(zeEventHostReset(done));
	CHECK(memcmp(host_in, host_out, LARGE) == 0);
	CHECK(!counted || (route("kernel") - kernels == 2 && route("kernel_local") - local == 1));

	if (counted) {
		ze_stage("the driver's policies off: every copy on its list's engine");
		swze.set_intel_policies(0);
		ze_command_list_handle_t plain = list_on(1, 0);
		CHECK(plain != NULL);
		uint64_t splits = route("split"), engine = route("engine");
		uint64_t main_bytes = swze.engine_bytes(0, 1, 0);
		if (there_and_back(plain, host_out, host_in, device_buffer, LARGE, 5, done) != 0)
			return -1;
		CHECK(route("split") == splits && route("engine") - engine == 2);
		CHECK(swze.engine_bytes(0, 1, 0) - main_bytes == 2 * LARGE);
		swze.set_intel_policies(1);
		CHECK_ZE(zeCommandListDestroy(plain));
	}

	ze_stage("clean up");
	CHECK_ZE(zeCommandListDestroy(main_engine));
	CHECK_ZE(zeCommandListDestroy(compute));
	CHECK_ZE(zeEventDestroy(done));
	CHECK_ZE(zeEventDestroy(gate));
	CHECK_ZE(zeEventPoolDestroy(pool));
	CHECK_ZE(zeMemFree(context, host_out));
	CHECK_ZE(zeMemFree(context, host_in));
	CHECK_ZE(zeMemFree(context, device_buffer));
	CHECK_ZE(zeMemFree(context, device_other));
	free(malloc_out);
	free(malloc_in);
	CHECK_ZE(zeContextDestroy(context));
	return 0;
}

int main(void)
{
	return run_on_first_device(policies, "ze_copy_policy", "every copy arrived in order");
}
