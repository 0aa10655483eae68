/* host -> device -> host at sizes 0, 1, 4095, 1 MiB + 3 and 64 MiB, verified
 * byte for byte, each size once with aml_dma_ze_memcpy_op and once with
 * aml_dma_ze_copy_1D over dense layouts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml/dma/ze.h>

#include "check.h"
#include "dense_layout.h"
#include "pattern.h"
#include "sync_copy.h"
#include "ze_env.h"

static void copy_1d(struct aml_dma *dma, void *dst, void *src, size_t size)
{
	struct dense_layout dst_l, src_l;
	struct aml_dma_request *req = NULL;

	dense_layout_1d(&dst_l, dst, 1, size);
	dense_layout_1d(&src_l, src, 1, size);
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, &dst_l.layout,
	                                    &src_l.layout, NULL, NULL),
	          AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
}

static void round_trip(struct aml_dma *dma, struct ze_env *env, size_t size,
                       uint32_t seed)
{
	/* One guard byte past the end catches an overlong copy. */
	uint8_t *src = malloc(size + 1);
	uint8_t *dst = malloc(size + 1);
	void *device = ze_env_device_alloc(env, size);

	CHECK(src != NULL && dst != NULL);
	pattern_fill(src, size + 1, seed);
	memset(dst, 0xA5, size + 1);

	sync_memcpy(dma, device, src, size);
	sync_memcpy(dma, dst, device, size);
	CHECK_INT(pattern_first_mismatch(dst, size, seed), size);
	CHECK_INT(dst[size], 0xA5);

	pattern_fill(src, size + 1, seed + 1000);
	memset(dst, 0x5A, size + 1);
	copy_1d(dma, device, src, size);
	copy_1d(dma, dst, device, size);
	CHECK_INT(pattern_first_mismatch(dst, size, seed + 1000), size);
	CHECK_INT(dst[size], 0x5A);

	ze_env_device_free(env, device);
	free(src);
	free(dst);
}

int main(void)
{
	const size_t sizes[] = {
	        0,
	        1,
	        4095,
	        ((size_t)1 << 20) + 3,
	        (size_t)64 << 20,
	};
	struct ze_env env;
	struct aml_dma *dma = NULL;

	ze_env_open(&env);
	CHECK_INT(aml_dma_ze_create(&dma, env.device, ze_env_ordinal(), 0), AML_SUCCESS);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		round_trip(dma, &env, sizes[i], (uint32_t)i + 1);
		printf("size %zu: ok\n", sizes[i]);
	}
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	ze_env_close(&env);
	return CTEST_EXIT_PASS;
}
