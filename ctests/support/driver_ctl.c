#include "driver_ctl.h"

#include <swze.h>

#include <string.h>

#include "check.h"

static struct swze_api api;
static int loaded;

void driver_ctl_load(void)
{
	if (swze_api_load(&api) != 0) {
		fprintf(stderr, "the software driver's control API is not "
		                "reachable: is ZE_ENABLE_ALT_DRIVERS set to "
		                "libswze.so and zeInit called?\n");
		exit(CTEST_EXIT_FAIL);
	}
	loaded = 1;
}

uint64_t driver_calls(const char *function)
{
	CHECK(loaded);
	return api.call_count(function);
}

void driver_counters_reset(void)
{
	CHECK(loaded);
	api.counters_reset();
}

uint64_t driver_live(const char *kind)
{
	CHECK(loaded);
	return api.live_count(kind);
}

void driver_fault(const char *function, uint64_t nth, ze_result_t result)
{
	CHECK(loaded);
	CHECK_INT(api.fault_inject(function, nth, result), 0);
}

void driver_fault_clear(void)
{
	CHECK(loaded);
	api.fault_clear();
}

int driver_has_bandwidth_cap(void)
{
	CHECK(loaded);
	const char *backend = api.backend();
	return backend != NULL && strcmp(backend, "cpu") == 0;
}

void driver_set_copy_bandwidth(uint64_t bytes_per_second)
{
	CHECK(loaded);
	api.set_copy_bandwidth(bytes_per_second);
}
