/* AML's own test_dma_barrier: 128 fire-and-forget copies (NULL request) of
 * 1 KiB each to separate device buffers, one barrier, 128 back, one barrier,
 * every buffer verified; once by name and once through the vtable. No
 * event is created for the copies themselves. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/dma/ze.h>

#include "check.h"
#include "dispatch.h"
#include "driver_ctl.h"
#include "pattern.h"
#include "ze_env.h"

#define COPIES 128
#define SIZE ((size_t)1 << 10)

typedef int (*async_copy_fn)(struct aml_dma *dma, void *dst, void *src);
typedef int (*barrier_fn)(struct aml_dma *dma);

static int async_by_name(struct aml_dma *dma, void *dst, void *src)
{
	return aml_dma_ze_request_create(dma->data, NULL,
	                                 (struct aml_layout *)dst,
	                                 (struct aml_layout *)src,
	                                 aml_dma_ze_memcpy_op, (void *)SIZE);
}

static int async_by_vtable(struct aml_dma *dma, void *dst, void *src)
{
	return generic_dma_async_copy_custom(dma, NULL,
	                                     (struct aml_layout *)dst,
	                                     (struct aml_layout *)src,
	                                     aml_dma_ze_memcpy_op,
	                                     (void *)SIZE);
}

static int barrier_by_name(struct aml_dma *dma)
{
	return aml_dma_ze_barrier(dma->data);
}

static void run(struct aml_dma *dma, struct ze_env *env, async_copy_fn copy,
                barrier_fn barrier, uint32_t seed)
{
	uint8_t *src = malloc(SIZE * COPIES);
	uint8_t *dst = calloc(COPIES, SIZE);
	void *device[COPIES];

	CHECK(src != NULL && dst != NULL);
	for (size_t i = 0; i < COPIES; i++) {
		pattern_fill(src + i * SIZE, SIZE, seed + (uint32_t)i);
		device[i] = ze_env_device_alloc(env, SIZE);
	}
	for (size_t i = 0; i < COPIES; i++)
		CHECK_INT(copy(dma, device[i], src + i * SIZE), AML_SUCCESS);
	CHECK_INT(barrier(dma), AML_SUCCESS);
	for (size_t i = 0; i < COPIES; i++)
		CHECK_INT(copy(dma, dst + i * SIZE, device[i]), AML_SUCCESS);
	CHECK_INT(barrier(dma), AML_SUCCESS);
	for (size_t i = 0; i < COPIES; i++) {
		CHECK_INT(pattern_first_mismatch(dst + i * SIZE, SIZE,
		                                 seed + (uint32_t)i),
		          SIZE);
		ze_env_device_free(env, device[i]);
	}
	free(src);
	free(dst);
}

int main(void)
{
	struct ze_env env;
	struct aml_dma *dma = NULL;

	ze_env_open(&env);
	driver_ctl_load();
	uint64_t lists_before = driver_live("command_list");
	CHECK_INT(aml_dma_ze_create(&dma, env.device, ze_env_ordinal(), 0), AML_SUCCESS);
	uint64_t lists = driver_live("command_list") - lists_before;
	uint64_t events_before = driver_calls("zeEventCreate");
	run(dma, &env, async_by_name, barrier_by_name, 100);
	/* Fire-and-forget copies take no event; only the barrier needs one
	 * per list, made once and reused. */
	uint64_t events_after_first = driver_calls("zeEventCreate");
	CHECK(events_after_first - events_before <= lists);
	run(dma, &env, async_by_vtable, generic_dma_barrier, 1000);
	CHECK_INT(driver_calls("zeEventCreate"), events_after_first);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	ze_env_close(&env);
	return CTEST_EXIT_PASS;
}
