/* Compiled and run by tests/header.rs: a C program that links only the
 * loader reaches the driver's control API through swze_api_load(). */
#include <swze.h>

#include <stdio.h>
#include <string.h>

#define EXPECT(condition)                                                  \
	do {                                                               \
		if (!(condition)) {                                        \
			fprintf(stderr, "line %d: %s\n", __LINE__, #condition); \
			return 1;                                          \
		}                                                          \
	} while (0)

int main(void)
{
	struct swze_api api;
	EXPECT(swze_api_load(&api) == -1); /* before zeInit the driver is not loaded */
	EXPECT(zeInit(0) == ZE_RESULT_SUCCESS);
	EXPECT(swze_api_load(&api) == 0);
	EXPECT(api.backend() != NULL && strcmp(api.backend(), "cpu") == 0);

	api.counters_reset();
	uint32_t count = 0;
	EXPECT(zeDriverGet(&count, NULL) == ZE_RESULT_SUCCESS && count == 1);
	EXPECT(zeDriverGet(NULL, NULL) == ZE_RESULT_ERROR_INVALID_NULL_POINTER);
	EXPECT(api.call_count("zeDriverGet") == 2);

	ze_driver_handle_t driver;
	EXPECT(zeDriverGet(&count, &driver) == ZE_RESULT_SUCCESS);
	ze_context_desc_t desc = {.stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC};
	ze_context_handle_t context;
	EXPECT(api.fault_inject("zeContextCreate", 1, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY) == 0);
	EXPECT(api.fault_inject("zeNotAFunction", 1, ZE_RESULT_ERROR_UNKNOWN) == -1);
	EXPECT(zeContextCreate(driver, &desc, &context) == ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY);
	EXPECT(api.live_count("context") == 0);
	EXPECT(zeContextCreate(driver, &desc, &context) == ZE_RESULT_SUCCESS);
	EXPECT(api.live_count("context") == 1 && api.peak_count("context") == 1);
	EXPECT(zeContextDestroy(context) == ZE_RESULT_SUCCESS);
	EXPECT(api.live_count("context") == 0 && api.peak_count("context") == 1);
	api.fault_clear();
	api.set_copy_bandwidth(0);
	api.set_inline(0);
	puts("swze.h: ok");
	return 0;
}
