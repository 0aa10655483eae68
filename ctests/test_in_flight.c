/* Copies still running when their request is destroyed or their dma is
 * destroyed. The driver's copy engine is slowed down so that "in flight" is
 * a fact, not a race the test might lose. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <aml/dma/ze.h>

#include "check.h"
#include "driver_ctl.h"
#include "pattern.h"
#include "ze_env.h"

#define SIZE ((size_t)16 << 20)
/* SIZE takes half a second at this speed. */
#define SLOW_BANDWIDTH ((uint64_t)32 << 20)
#define COPY_SECONDS 0.5

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The copy engines among the `lists` lists of a dma on `ordinal`: a dma
 * over every copy engine of a copy group also has a compute list, which
 * takes copies within the device only. */
static uint64_t copy_lists(struct ze_env *env, uint64_t lists)
{
	ze_command_queue_group_properties_t groups[8];
	uint32_t count = 8;
	for (uint32_t i = 0; i < count; i++)
		groups[i] = (ze_command_queue_group_properties_t){
		        .stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_GROUP_PROPERTIES};
	if (lists < 2 || zeDeviceGetCommandQueueGroupProperties(env->device, &count, groups) != ZE_RESULT_SUCCESS)
		return lists;
	int asked_compute = (groups[ze_env_ordinal()].flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE) != 0;
	for (uint32_t i = 0; i < count && !asked_compute; i++)
		if (groups[i].flags & ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE)
			return lists - 1;
	return lists;
}

static int copy(struct aml_dma *dma, struct aml_dma_request **req, void *dst,
                void *src, size_t size)
{
	return aml_dma_ze_request_create(dma->data, req,
	                                 (struct aml_layout *)dst,
	                                 (struct aml_layout *)src,
	                                 aml_dma_ze_memcpy_op, (void *)size);
}

/* request_destroy does not wait; the event it held is not reused before its
 * copy completes, and is reused (not replaced) once a barrier saw it done. */
static void destroy_request_in_flight(struct ze_env *env, uint8_t *src,
                                      uint8_t *dst)
{
	struct aml_dma *dma = NULL;
	struct aml_dma_request *req = NULL;
	void *device = ze_env_device_alloc(env, SIZE);
	uint64_t lists_before = driver_live("command_list");

	CHECK_INT(aml_dma_ze_create(&dma, env->device, ze_env_ordinal(), 0), AML_SUCCESS);
	/* Over several queues (AML_DMA_ZE_QUEUES), the copy is split over them
	 * and the next request overtakes it on an idle queue. */
	uint64_t lists = copy_lists(env, driver_live("command_list") - lists_before);
	CHECK_INT(copy(dma, &req, dst, src, 1), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);

	pattern_fill(src, SIZE, 21);
	driver_set_copy_bandwidth(SLOW_BANDWIDTH);
	double start = now_seconds();
	CHECK_INT(copy(dma, &req, device, src, SIZE), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_destroy(dma->data, &req), AML_SUCCESS);
	double destroy_seconds = now_seconds() - start;
	CHECK(req == NULL);
	CHECK(destroy_seconds < COPY_SECONDS / 2);

	/* While the first copy runs, more requests need other events. */
	uint64_t events_before = driver_calls("zeEventCreate");
	CHECK_INT(copy(dma, &req, dst, src, 1), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	if (lists == 1)
		CHECK(now_seconds() - start >= COPY_SECONDS * 0.9);
	else
		CHECK(now_seconds() - start < COPY_SECONDS * 0.6);
	driver_set_copy_bandwidth(0);

	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	memset(dst, 0, SIZE);
	CHECK_INT(copy(dma, &req, dst, device, SIZE), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	CHECK_INT(pattern_first_mismatch(dst, SIZE, 21), SIZE);

	/* Steady state again: no new events for sequential requests. */
	uint64_t events_mid = driver_calls("zeEventCreate");
	CHECK(events_mid - events_before <= 2 * lists);
	for (int i = 0; i < 20; i++) {
		CHECK_INT(copy(dma, &req, dst, src, 4096), AML_SUCCESS);
		CHECK_INT(aml_dma_ze_request_wait(dma->data, &req),
		          AML_SUCCESS);
	}
	CHECK_INT(driver_calls("zeEventCreate"), events_mid);

	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	ze_env_device_free(env, device);
}

/* aml_dma_ze_destroy with copies in flight (fire-and-forget ones and ones
 * whose request was destroyed): it waits for them, then releases every
 * Level Zero object the dma made. */
static void destroy_dma_in_flight(struct ze_env *env, uint8_t *src,
                                  uint8_t *dst)
{
	struct aml_dma *dma = NULL;
	struct aml_dma_request *req = NULL;
	const size_t chunk = SIZE / 8;
	uint64_t contexts = driver_live("context");
	uint64_t lists = driver_live("command_list");
	uint64_t pools = driver_live("event_pool");
	uint64_t events = driver_live("event");

	CHECK_INT(aml_dma_ze_create(&dma, env->device, ze_env_ordinal(), 0), AML_SUCCESS);
	CHECK_INT(driver_live("context"), contexts + 1);
	uint64_t dma_lists = copy_lists(env, driver_live("command_list") - lists);
	pattern_fill(src, SIZE, 22);
	memset(dst, 0, SIZE);
	driver_set_copy_bandwidth(SLOW_BANDWIDTH);
	double start = now_seconds();
	for (size_t i = 0; i < 8; i++) {
		if (i % 2 == 0) {
			CHECK_INT(copy(dma, NULL, dst + i * chunk,
			               src + i * chunk, chunk),
			          AML_SUCCESS);
		} else {
			CHECK_INT(copy(dma, &req, dst + i * chunk,
			               src + i * chunk, chunk),
			          AML_SUCCESS);
			CHECK_INT(aml_dma_ze_request_destroy(dma->data, &req),
			          AML_SUCCESS);
		}
	}
	CHECK(now_seconds() - start < COPY_SECONDS / 2);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	CHECK(dma == NULL);
	/* Destroy waited for the copies (over several queues, at least one
	 * chunk's time) ... */
	CHECK(now_seconds() - start >=
	      (dma_lists == 1 ? COPY_SECONDS : COPY_SECONDS / 8) * 0.9);
	CHECK_INT(pattern_first_mismatch(dst, SIZE, 22), SIZE);
	driver_set_copy_bandwidth(0);
	/* ... and left nothing alive. */
	CHECK_INT(driver_live("context"), contexts);
	CHECK_INT(driver_live("command_list"), lists);
	CHECK_INT(driver_live("event_pool"), pools);
	CHECK_INT(driver_live("event"), events);
}

int main(void)
{
	struct ze_env env;
	uint8_t *src = malloc(SIZE), *dst = malloc(SIZE);

	CHECK(src != NULL && dst != NULL);
	ze_env_open(&env);
	driver_ctl_load();
	/* On a GPU a copy's duration is the hardware's: nothing to slow down. */
	if (!driver_has_bandwidth_cap())
		SKIP("needs the cpu backend's copy bandwidth cap");
	destroy_request_in_flight(&env, src, dst);
	destroy_dma_in_flight(&env, src, dst);
	ze_env_close(&env);
	free(src);
	free(dst);
	return CTEST_EXIT_PASS;
}
