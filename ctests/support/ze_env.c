#include "ze_env.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

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
