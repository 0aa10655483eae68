/* aml_dma_ze_copy_1D driven by a dense 1-D layout written in C: element sizes
 * 1, 8 and 24 copy every byte; a 2-D layout and layouts of different byte
 * sizes are refused with -AML_EINVAL and leave the destination untouched.
 * op == NULL (copy_nd) refuses the same pairs: the 2-D one with -AML_ENOTSUP,
 * as a layout of a kind it cannot read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/dma/ze.h>

#include "check.h"
#include "dense_layout.h"
#include "dispatch.h"
#include "pattern.h"
#include "ze_env.h"

#define ELEMENTS 4099

static void round_trip(struct aml_dma *dma, struct ze_env *env,
                       size_t element_size)
{
	const size_t bytes = element_size * ELEMENTS;
	uint8_t *src = malloc(bytes);
	uint8_t *dst = calloc(1, bytes + 1);
	void *device = ze_env_device_alloc(env, bytes);
	struct dense_layout src_l, dst_l, device_l;
	struct aml_dma_request *req = NULL;

	CHECK(src != NULL && dst != NULL);
	pattern_fill(src, bytes, (uint32_t)element_size);
	dense_layout_1d(&src_l, src, element_size, ELEMENTS);
	dense_layout_1d(&dst_l, dst, element_size, ELEMENTS);
	dense_layout_1d(&device_l, device, element_size, ELEMENTS);

	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, &device_l.layout,
	                                    &src_l.layout, aml_dma_ze_copy_1D,
	                                    NULL),
	          AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	CHECK_INT(generic_dma_copy_custom(dma, &dst_l.layout, &device_l.layout,
	                                  NULL, NULL),
	          AML_SUCCESS);
	CHECK_INT(pattern_first_mismatch(dst, bytes, (uint32_t)element_size),
	          bytes);
	CHECK_INT(dst[bytes], 0);

	ze_env_device_free(env, device);
	free(src);
	free(dst);
}

/* The copy must be refused before anything reaches the destination, with
 * and without a request. */
static void expect_refused(struct aml_dma *dma, struct aml_layout *dst,
                           struct aml_layout *src, const uint8_t *dst_bytes,
                           size_t dst_size, int by_null)
{
	struct aml_dma_request *req = NULL;

	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, dst, src, NULL,
	                                    NULL),
	          by_null);
	CHECK(req == NULL);
	CHECK_INT(aml_dma_ze_request_create(dma->data, NULL, dst, src,
	                                    aml_dma_ze_copy_1D, NULL),
	          -AML_EINVAL);
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	for (size_t i = 0; i < dst_size; i++)
		CHECK_INT(dst_bytes[i], 0);
}

static void refusals(struct aml_dma *dma)
{
	enum { N = 64 };
	uint64_t src[N * N], dst[N * N];
	struct dense_layout src_l, dst_l;

	pattern_fill(src, sizeof(src), 77);
	memset(dst, 0, sizeof(dst));

	/* 2-D on either side. */
	const size_t dims_2d[2] = {N, N};
	dense_layout_init(&src_l, src, sizeof(uint64_t), 2, dims_2d);
	dense_layout_1d(&dst_l, dst, sizeof(uint64_t), N * N);
	expect_refused(dma, &dst_l.layout, &src_l.layout, (uint8_t *)dst,
	               sizeof(dst), -AML_ENOTSUP);
	dense_layout_1d(&src_l, src, sizeof(uint64_t), N * N);
	dense_layout_init(&dst_l, dst, sizeof(uint64_t), 2, dims_2d);
	expect_refused(dma, &dst_l.layout, &src_l.layout, (uint8_t *)dst,
	               sizeof(dst), -AML_ENOTSUP);

	/* Destination smaller than the source (would overflow it). */
	dense_layout_1d(&src_l, src, sizeof(uint64_t), N * N);
	dense_layout_1d(&dst_l, dst, sizeof(uint64_t), N * N - 1);
	expect_refused(dma, &dst_l.layout, &src_l.layout, (uint8_t *)dst,
	               sizeof(dst), -AML_EINVAL);
	/* Destination larger than the source. */
	dense_layout_1d(&src_l, src, sizeof(uint64_t), N * N - 1);
	dense_layout_1d(&dst_l, dst, sizeof(uint64_t), N * N);
	expect_refused(dma, &dst_l.layout, &src_l.layout, (uint8_t *)dst,
	               sizeof(dst), -AML_EINVAL);
	/* Same element count, different element size. */
	dense_layout_1d(&src_l, src, sizeof(uint64_t), N);
	dense_layout_1d(&dst_l, dst, sizeof(uint32_t), N);
	expect_refused(dma, &dst_l.layout, &src_l.layout, (uint8_t *)dst,
	               sizeof(dst), -AML_EINVAL);
}

int main(void)
{
	struct ze_env env;
	struct aml_dma *dma = NULL;

	ze_env_open(&env);
	CHECK_INT(aml_dma_ze_create(&dma, env.device, ze_env_ordinal(), 0), AML_SUCCESS);
	round_trip(dma, &env, 1);
	round_trip(dma, &env, 8);
	round_trip(dma, &env, 24);
	refusals(dma);
	/* Still working after the refusals. */
	round_trip(dma, &env, 8);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	ze_env_close(&env);
	return CTEST_EXIT_PASS;
}
