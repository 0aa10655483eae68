/* The cost contract: once warm, a synchronous request makes 3 driver calls
 * (append, synchronize, reset) and a barrier 3 (append barrier, synchronize,
 * reset), with no event or pool created; and a dma's Level Zero objects
 * exist exactly while it does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/dma/ze.h>

#include "check.h"
#include "driver_ctl.h"
#include "pattern.h"
#include "ze_env.h"

#define ROUNDS 200
#define SIZE ((size_t)4096)

/* Every Level Zero function the library calls. */
static const char *const library_calls[] = {
        "zeInit",
        "zeDriverGet",
        "zeDeviceGet",
        "zeDeviceGetSubDevices",
        "zeDeviceGetProperties",
        "zeDeviceGetCommandQueueGroupProperties",
        "zeContextCreate",
        "zeContextDestroy",
        "zeCommandListCreateImmediate",
        "zeCommandListDestroy",
        "zeEventPoolCreate",
        "zeEventPoolDestroy",
        "zeEventCreate",
        "zeEventDestroy",
        "zeCommandListAppendMemoryCopy",
        "zeCommandListAppendBarrier",
        "zeEventHostSynchronize",
        "zeEventHostReset",
        "zeEventQueryStatus",
};

static uint64_t all_library_calls(void)
{
	uint64_t total = 0;

	for (size_t i = 0; i < sizeof(library_calls) / sizeof(*library_calls);
	     i++)
		total += driver_calls(library_calls[i]);
	return total;
}

int main(void)
{
	struct ze_env env;
	struct aml_dma *dma = NULL;
	struct aml_dma_request *req = NULL;
	uint8_t src[SIZE], dst[SIZE];

	ze_env_open(&env);
	driver_ctl_load();
	uint64_t contexts = driver_live("context");
	uint64_t lists = driver_live("command_list");

	CHECK_INT(aml_dma_ze_create(&dma, env.device, ze_env_ordinal(), 0), AML_SUCCESS);
	CHECK_INT(driver_live("context"), contexts + 1);
	/* One list, or one per queue under AML_DMA_ZE_QUEUES. */
	uint64_t dma_lists = driver_live("command_list") - lists;
	CHECK(dma_lists >= 1);
	if (!getenv("AML_DMA_ZE_QUEUES"))
		CHECK_INT(dma_lists, 1);
	pattern_fill(src, SIZE, 41);
	/* Warm up: the first request and barrier make the events. */
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req,
	                                    (struct aml_layout *)dst,
	                                    (struct aml_layout *)src,
	                                    aml_dma_ze_memcpy_op, (void *)SIZE),
	          AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);

	driver_counters_reset();
	CHECK_INT(all_library_calls(), 0);
	for (int i = 0; i < ROUNDS; i++) {
		CHECK_INT(aml_dma_ze_request_create(
		                  dma->data, &req, (struct aml_layout *)dst,
		                  (struct aml_layout *)src, aml_dma_ze_memcpy_op,
		                  (void *)SIZE),
		          AML_SUCCESS);
		CHECK_INT(aml_dma_ze_request_wait(dma->data, &req),
		          AML_SUCCESS);
	}
	CHECK_INT(driver_calls("zeCommandListAppendMemoryCopy"), ROUNDS);
	CHECK_INT(driver_calls("zeEventHostSynchronize"), ROUNDS);
	/* On the fast path (in-order lists, counter-based events) the host
	 * resets nothing: 2 calls a request; else append, synchronize, reset. */
	int counter = ze_env_counter_events(&env);
	CHECK_INT(driver_calls("zeEventHostReset"), counter ? 0 : ROUNDS);
	CHECK_INT(all_library_calls(), (counter ? 2 : 3) * ROUNDS);

	driver_counters_reset();
	for (int i = 0; i < ROUNDS; i++)
		CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	/* A barrier appends one barrier per list and resets one event per
	 * list (none on the fast path); the host waits on one. */
	CHECK_INT(driver_calls("zeCommandListAppendBarrier"), dma_lists * ROUNDS);
	CHECK_INT(driver_calls("zeEventHostReset"), counter ? 0 : dma_lists * ROUNDS);
	CHECK_INT(all_library_calls(), ((counter ? 1 : 2) * dma_lists + 1) * ROUNDS);
	CHECK_INT(pattern_first_mismatch(dst, SIZE, 41), SIZE);

	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	CHECK_INT(driver_live("context"), contexts);
	CHECK_INT(driver_live("command_list"), lists);
	ze_env_close(&env);
	return CTEST_EXIT_PASS;
}
