#include "ze_env.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static int probe_counter_events(const struct ze_env *env);

/* The validation pass is only worth its name if the loader really put the
 * layer between us and the driver. */
static void check_validation_layer_if_asked(void)
{
	const char *asked = getenv("ZE_ENABLE_VALIDATION_LAYER");
	void *layer;

	if (asked == NULL || strcmp(asked, "1") != 0)
		return;
	layer = dlopen("libze_validation_layer.so.1", RTLD_NOW | RTLD_NOLOAD);
	CHECK(layer != NULL);
	dlclose(layer);
}

void ze_env_open(struct ze_env *env)
{
	uint32_t count = 1;

	CHECK_INT(zeInit(0), ZE_RESULT_SUCCESS);
	CHECK_INT(zeDriverGet(&count, &env->driver), ZE_RESULT_SUCCESS);
	CHECK(count >= 1);
	check_validation_layer_if_asked();
	count = 1;
	CHECK_INT(zeDeviceGet(env->driver, &count, &env->device),
	          ZE_RESULT_SUCCESS);
	CHECK(count >= 1);

	ze_context_desc_t desc = {
	        .stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC,
	        .pNext = NULL,
	        .flags = 0,
	};
	CHECK_INT(zeContextCreate(env->driver, &desc, &env->context),
	          ZE_RESULT_SUCCESS);
	env->counter_events = probe_counter_events(env);
}

void ze_env_close(struct ze_env *env)
{
	CHECK_INT(zeContextDestroy(env->context), ZE_RESULT_SUCCESS);
	env->context = NULL;
}

void *ze_env_device_alloc(struct ze_env *env, size_t size)
{
	ze_device_mem_alloc_desc_t desc = {
	        .stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC,
	        .pNext = NULL,
	        .flags = 0,
	        .ordinal = 0,
	};
	void *ptr = NULL;

	CHECK_INT(zeMemAllocDevice(env->context, &desc, size ? size : 1, 64,
	                           env->device, &ptr),
	          ZE_RESULT_SUCCESS);
	CHECK(ptr != NULL);
	return ptr;
}

void ze_env_device_free(struct ze_env *env, void *ptr)
{
	CHECK_INT(zeMemFree(env->context, ptr), ZE_RESULT_SUCCESS);
}

int ze_env_ordinal(void)
{
	const char *value = getenv("CTEST_ORDINAL");
	return value ? atoi(value) : 0;
}

/* The library's choice, made the same way (src/in_order.rs): the driver
 * lists the extension, and an in-order immediate list can be created (a
 * layer that does not know the flag refuses it: the library then takes the
 * path of drivers without the extension). */
static int probe_counter_events(const struct ze_env *env)
{
	const char *off = getenv("AML_DMA_ZE_COUNTER_EVENTS");
	if (off && strcmp(off, "0") == 0)
		return 0;
	uint32_t count = 0;
	if (zeDriverGetExtensionProperties(env->driver, &count, NULL) != ZE_RESULT_SUCCESS || count == 0)
		return 0;
	ze_driver_extension_properties_t *extensions = calloc(count, sizeof(*extensions));
	CHECK(extensions != NULL);
	int found = 0;
	if (zeDriverGetExtensionProperties(env->driver, &count, extensions) == ZE_RESULT_SUCCESS)
		for (uint32_t i = 0; i < count && !found; i++)
			found = strcmp(extensions[i].name, "ZE_experimental_event_pool_counter_based") == 0;
	free(extensions);
	if (!found)
		return 0;
	ze_command_queue_desc_t desc = {
	        .stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
	        .ordinal = 0,
	        .index = 0,
	        .flags = ZE_COMMAND_QUEUE_FLAG_EXPLICIT_ONLY | (1u << 1) /* ZE_COMMAND_QUEUE_FLAG_IN_ORDER, API 1.7 */,
	        .mode = ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS,
	        .priority = ZE_COMMAND_QUEUE_PRIORITY_NORMAL,
	};
	ze_command_list_handle_t list = NULL;
	if (zeCommandListCreateImmediate(env->context, env->device, &desc, &list) != ZE_RESULT_SUCCESS)
		return 0;
	CHECK_INT(zeCommandListDestroy(list), ZE_RESULT_SUCCESS);
	return 1;
}

int ze_env_counter_events(const struct ze_env *env)
{
	return env->counter_events;
}
