/* What Intel's SYCL runtime (its Level Zero adapters) calls besides copies,
 * checked against Intel's driver's answers: residency of a range
 * (zeContextMakeMemoryResident / zeContextEvictMemory: inside one
 * allocation of the driver, else INVALID_ARGUMENT), zeMemFreeExt under each
 * policy after work that uses the memory, zeDeviceGetModuleProperties; and
 * where the loader exports them (a loader of API 1.6 and later; Debian's
 * 1.8 is API 1.4), zeCommandListHostSynchronize, zeDeviceGetRootDevice and
 * zeInitDrivers. Public API only; every byte copied is checked. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <level_zero/ze_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ze_program.h"

#define SIZE ((size_t)65536 + 7)

/* From the public headers of API 1.6 to 1.10 (oneapi-src/level-zero
 * include/ze_api.h), which Debian's lack; our own names. */
typedef struct {
	ze_structure_type_t stype;
	const void *pNext;
	uint32_t flags;
} ze_program_init_driver_type_desc_t;
#define ZE_PROGRAM_STYPE_INIT_DRIVER_TYPE_DESC ((ze_structure_type_t)0x00020021)
#define ZE_PROGRAM_INIT_DRIVER_TYPE_FLAG_GPU 1u
typedef ze_result_t (*host_synchronize_fn)(ze_command_list_handle_t, uint64_t);
typedef ze_result_t (*root_device_fn)(ze_device_handle_t, ze_device_handle_t *);
typedef ze_result_t (*init_drivers_fn)(uint32_t *, ze_driver_handle_t *, ze_program_init_driver_type_desc_t *);

/* The loader's export of `name`, NULL where it has none. */
static void *loader_function(const char *name)
{
	return dlsym(RTLD_DEFAULT, name);
}

static int residency(ze_context_handle_t context, ze_device_handle_t device)
{
	ze_stage("residency of ranges inside and outside allocations");
	ze_device_mem_alloc_desc_t device_desc = {.stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC};
	ze_host_mem_alloc_desc_t host_desc = {.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC};
	void *memory[3] = {NULL, NULL, NULL};
	CHECK_ZE(zeMemAllocDevice(context, &device_desc, SIZE, 64, device, &memory[0]));
	CHECK_ZE(zeMemAllocHost(context, &host_desc, SIZE, 64, &memory[1]));
	CHECK_ZE(zeMemAllocShared(context, &device_desc, &host_desc, SIZE, 64, device, &memory[2]));
	for (int i = 0; i < 3; i++) {
		char *base = memory[i];
		CHECK_ZE(zeContextMakeMemoryResident(context, device, base, SIZE));
		CHECK_ZE(zeContextMakeMemoryResident(context, device, base + 100, 1000));
		CHECK_ZE(zeContextMakeMemoryResident(context, device, base + SIZE - 1, 1));
		CHECK(zeContextMakeMemoryResident(context, device, base, SIZE + 1) == ZE_RESULT_ERROR_INVALID_ARGUMENT);
		CHECK_ZE(zeContextEvictMemory(context, device, base, SIZE));
		CHECK_ZE(zeContextEvictMemory(context, device, base + 64, 64));
		CHECK(zeContextEvictMemory(context, device, base + 1, SIZE) == ZE_RESULT_ERROR_INVALID_ARGUMENT);
	}
	/* Memory the driver does not know, as on Intel's driver. */
	char *plain = malloc(4096);
	CHECK(plain != NULL);
	ze_result_t result = zeContextMakeMemoryResident(context, device, plain, 4096);
	ze_result_t evicted = zeContextEvictMemory(context, device, plain, 4096);
	free(plain);
	CHECK(result == ZE_RESULT_ERROR_INVALID_ARGUMENT);
	CHECK(evicted == ZE_RESULT_ERROR_INVALID_ARGUMENT);
	for (int i = 0; i < 3; i++)
		CHECK_ZE(zeMemFree(context, memory[i]));
	return 0;
}

/* A copy into device memory appended, then the memory freed under
 * `policy` (0, BLOCKING_FREE, DEFER_FREE) without waiting first: the free
 * may not pull the memory from under the copy. Then the bytes, copied
 * into a fresh allocation before the free, are checked. */
static int free_policies(ze_context_handle_t context, ze_device_handle_t device)
{
	ze_stage("zeMemFreeExt under each policy, work in flight");
	const ze_driver_memory_free_policy_ext_flags_t policies[] = {
		0, ZE_DRIVER_MEMORY_FREE_POLICY_EXT_FLAG_BLOCKING_FREE, ZE_DRIVER_MEMORY_FREE_POLICY_EXT_FLAG_DEFER_FREE};
	ze_command_list_handle_t list;
	CHECK_ZE(immediate_list(context, device, &list));
	ze_device_mem_alloc_desc_t device_desc = {.stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC};
	ze_host_mem_alloc_desc_t host_desc = {.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC};
	unsigned char *source = NULL, *back = NULL;
	CHECK_ZE(zeMemAllocHost(context, &host_desc, SIZE, 64, (void **)&source));
	CHECK_ZE(zeMemAllocHost(context, &host_desc, SIZE, 64, (void **)&back));
	for (size_t i = 0; i < SIZE; i++)
		source[i] = (unsigned char)(i * 7 + 3);
	/* The copy back signals an event: the free's wait and the signal both
	 * come through the device's stream. */
	ze_event_pool_desc_t pool_desc = {.stype = ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
		.flags = ZE_EVENT_POOL_FLAG_HOST_VISIBLE, .count = 1};
	ze_event_pool_handle_t pool;
	ze_event_handle_t copied;
	CHECK_ZE(zeEventPoolCreate(context, &pool_desc, 1, &device, &pool));
	CHECK_ZE(host_event(pool, 0, &copied));
	for (size_t p = 0; p < sizeof policies / sizeof policies[0]; p++) {
		void *staging = NULL;
		CHECK_ZE(zeMemAllocDevice(context, &device_desc, SIZE, 64, device, &staging));
		memset(back, 0, SIZE);
		CHECK_ZE(zeCommandListAppendMemoryCopy(list, staging, source, SIZE, NULL, 0, NULL));
		CHECK_ZE(zeCommandListAppendBarrier(list, NULL, 0, NULL));
		CHECK_ZE(zeCommandListAppendMemoryCopy(list, back, staging, SIZE, copied, 0, NULL));
		ze_memory_free_ext_desc_t desc = {.stype = ZE_STRUCTURE_TYPE_MEMORY_FREE_EXT_DESC,
			.freePolicy = policies[p]};
		CHECK_ZE(zeMemFreeExt(context, &desc, staging));
		ze_memory_allocation_properties_t properties = {.stype = ZE_STRUCTURE_TYPE_MEMORY_ALLOCATION_PROPERTIES};
		CHECK_ZE(zeMemGetAllocProperties(context, staging, &properties, NULL));
		CHECK(properties.type == ZE_MEMORY_TYPE_UNKNOWN);
		/* Every policy waited for the copies that use the memory. */
		CHECK(memcmp(back, source, SIZE) == 0);
		CHECK(zeMemFreeExt(context, &desc, staging) == ZE_RESULT_ERROR_INVALID_ARGUMENT);
		CHECK_ZE(zeEventHostSynchronize(copied, UINT64_MAX));
		CHECK_ZE(zeEventHostReset(copied));
	}
	CHECK_ZE(zeEventDestroy(copied));
	CHECK_ZE(zeEventPoolDestroy(pool));
	CHECK_ZE(zeCommandListDestroy(list));
	CHECK_ZE(zeMemFree(context, source));
	CHECK_ZE(zeMemFree(context, back));
	return 0;
}

static int module_properties(ze_device_handle_t device)
{
	ze_stage("zeDeviceGetModuleProperties: no module is taken");
	ze_device_module_properties_t properties = {.stype = ZE_STRUCTURE_TYPE_DEVICE_MODULE_PROPERTIES,
		.spirvVersionSupported = 99, .flags = 0xff, .maxArgumentsSize = 99};
	CHECK_ZE(zeDeviceGetModuleProperties(device, &properties));
	CHECK(properties.spirvVersionSupported == 0);
	CHECK(properties.flags == 0 && properties.maxArgumentsSize == 0);
	return 0;
}

static int host_synchronize(ze_context_handle_t context, ze_device_handle_t device, host_synchronize_fn sync)
{
	ze_stage("zeCommandListHostSynchronize: an immediate list's work, a regular list refused");
	ze_command_list_handle_t list;
	CHECK_ZE(immediate_list(context, device, &list));
	ze_host_mem_alloc_desc_t host_desc = {.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC};
	ze_device_mem_alloc_desc_t device_desc = {.stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC};
	unsigned char *source = NULL, *back = NULL;
	void *staging = NULL;
	CHECK_ZE(zeMemAllocHost(context, &host_desc, SIZE, 64, (void **)&source));
	CHECK_ZE(zeMemAllocHost(context, &host_desc, SIZE, 64, (void **)&back));
	CHECK_ZE(zeMemAllocDevice(context, &device_desc, SIZE, 64, device, &staging));
	for (int round = 0; round < 20; round++) {
		for (size_t i = 0; i < SIZE; i++)
			source[i] = (unsigned char)(i + (size_t)round * 13);
		memset(back, 0, SIZE);
		CHECK_ZE(zeCommandListAppendMemoryCopy(list, staging, source, SIZE, NULL, 0, NULL));
		CHECK_ZE(zeCommandListAppendBarrier(list, NULL, 0, NULL));
		CHECK_ZE(zeCommandListAppendMemoryCopy(list, back, staging, SIZE, NULL, 0, NULL));
		CHECK_ZE(sync(list, UINT64_MAX));
		CHECK(memcmp(back, source, SIZE) == 0);
	}
	CHECK_ZE(sync(list, 0));
	ze_command_list_desc_t regular_desc = {.stype = ZE_STRUCTURE_TYPE_COMMAND_LIST_DESC};
	ze_command_list_handle_t regular;
	CHECK_ZE(zeCommandListCreate(context, device, &regular_desc, &regular));
	CHECK(sync(regular, UINT64_MAX) == ZE_RESULT_ERROR_INVALID_ARGUMENT);
	CHECK_ZE(zeCommandListDestroy(regular));
	CHECK_ZE(zeCommandListDestroy(list));
	CHECK_ZE(zeMemFree(context, staging));
	CHECK_ZE(zeMemFree(context, source));
	CHECK_ZE(zeMemFree(context, back));
	return 0;
}

/* Every device's root: NULL for a root device (and under FLAT for every
 * device), the parent for a subdevice. */
static int root_devices(ze_driver_handle_t driver, root_device_fn root_device)
{
	ze_stage("zeDeviceGetRootDevice of every device and subdevice");
	uint32_t count = 0;
	CHECK_ZE(zeDeviceGet(driver, &count, NULL));
	ze_device_handle_t roots[64];
	CHECK(count > 0 && count <= 64);
	CHECK_ZE(zeDeviceGet(driver, &count, roots));
	for (uint32_t i = 0; i < count; i++) {
		ze_device_handle_t found = (ze_device_handle_t)(uintptr_t)1;
		CHECK_ZE(root_device(roots[i], &found));
		CHECK(found == NULL);
		uint32_t subcount = 0;
		CHECK_ZE(zeDeviceGetSubDevices(roots[i], &subcount, NULL));
		ze_device_handle_t subdevices[16];
		CHECK(subcount <= 16);
		CHECK_ZE(zeDeviceGetSubDevices(roots[i], &subcount, subdevices));
		for (uint32_t j = 0; j < subcount; j++) {
			CHECK_ZE(root_device(subdevices[j], &found));
			CHECK(found == roots[i]);
		}
	}
	return 0;
}

static int init_drivers(ze_driver_handle_t driver, init_drivers_fn init)
{
	ze_stage("zeInitDrivers for GPU drivers");
	ze_program_init_driver_type_desc_t desc = {.stype = ZE_PROGRAM_STYPE_INIT_DRIVER_TYPE_DESC,
		.flags = ZE_PROGRAM_INIT_DRIVER_TYPE_FLAG_GPU};
	uint32_t count = 0;
	CHECK_ZE(init(&count, NULL, &desc));
	CHECK(count >= 1);
	ze_driver_handle_t drivers[8];
	if (count > 8)
		count = 8;
	CHECK_ZE(init(&count, drivers, &desc));
	int found = 0;
	for (uint32_t i = 0; i < count; i++)
		found |= drivers[i] == driver;
	CHECK(found);
	return 0;
}

static int entries(ze_driver_handle_t driver, ze_device_handle_t device)
{
	ze_context_desc_t context_desc = {.stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC};
	ze_context_handle_t context;
	CHECK_ZE(zeContextCreate(driver, &context_desc, &context));
	residency(context, device);
	free_policies(context, device);
	module_properties(device);

	host_synchronize_fn sync = (host_synchronize_fn)loader_function("zeCommandListHostSynchronize");
	root_device_fn root = (root_device_fn)loader_function("zeDeviceGetRootDevice");
	init_drivers_fn init = (init_drivers_fn)loader_function("zeInitDrivers");
	if (sync != NULL)
		host_synchronize(context, device, sync);
	if (root != NULL)
		root_devices(driver, root);
	if (init != NULL)
		init_drivers(driver, init);
	printf("ze_sycl_entries: the loader exports%s%s%s%s\n", sync ? " zeCommandListHostSynchronize" : "",
	       root ? " zeDeviceGetRootDevice" : "", init ? " zeInitDrivers" : "",
	       sync || root || init ? "" : " none of the entries after API 1.4");
	CHECK_ZE(zeContextDestroy(context));
	return 0;
}

int main(void)
{
	return run_on_first_device(entries, "ze_sycl_entries", "every check held");
}
