/* Every entry point, called directly and through the aml_dma_ops vtable the
 * way libaml's generic dma API dispatches, each moving real bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml/dma/ze.h>

#include "check.h"
#include "dense_layout.h"
#include "dispatch.h"
#include "pattern.h"
#include "ze_env.h"

#define COPY_SIZE ((size_t)65536 + 7)

struct buffers {
	uint8_t *host_src;
	uint8_t *host_dst;
	void *device;
};

static void buffers_reset(struct buffers *b, uint32_t seed)
{
	pattern_fill(b->host_src, COPY_SIZE, seed);
	memset(b->host_dst, 0, COPY_SIZE);
}

static void buffers_check(const struct buffers *b, uint32_t seed)
{
	CHECK_INT(pattern_first_mismatch(b->host_dst, COPY_SIZE, seed),
	          COPY_SIZE);
}

/* aml_dma_ze_request_create / _wait with aml_dma_ze_memcpy_op, by name. */
static void direct_memcpy_op(struct aml_dma *dma, struct buffers *b)
{
	struct aml_dma_request *req = NULL;

	buffers_reset(b, 1);
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req,
	                                    (struct aml_layout *)b->device,
	                                    (struct aml_layout *)b->host_src,
	                                    aml_dma_ze_memcpy_op,
	                                    (void *)COPY_SIZE),
	          AML_SUCCESS);
	CHECK(req != NULL);
	struct aml_dma_ze_request *ze_req = (struct aml_dma_ze_request *)req;
	CHECK(ze_req->event != NULL);
	CHECK(ze_req->flags == AML_DMA_ZE_REQUEST_FLAGS_PENDING ||
	      ze_req->flags == AML_DMA_ZE_REQUEST_FLAGS_DONE);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	CHECK(req == NULL);

	CHECK_INT(aml_dma_ze_request_create(dma->data, &req,
	                                    (struct aml_layout *)b->host_dst,
	                                    (struct aml_layout *)b->device,
	                                    aml_dma_ze_memcpy_op,
	                                    (void *)COPY_SIZE),
	          AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	CHECK(req == NULL);
	buffers_check(b, 1);
}

/* aml_dma_ze_copy_1D named explicitly and as the default (op == NULL), with
 * aml_dma_ze_barrier and aml_dma_ze_request_destroy completing the requests. */
static void direct_copy_1d(struct aml_dma *dma, struct buffers *b)
{
	struct dense_layout host_src, host_dst, device;
	struct aml_dma_request *req = NULL;

	buffers_reset(b, 2);
	dense_layout_1d(&host_src, b->host_src, 1, COPY_SIZE);
	dense_layout_1d(&host_dst, b->host_dst, 1, COPY_SIZE);
	dense_layout_1d(&device, b->device, 1, COPY_SIZE);

	size_t calls_before = dense_layout_op_calls();
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, &device.layout,
	                                    &host_src.layout,
	                                    aml_dma_ze_copy_1D, NULL),
	          AML_SUCCESS);
	CHECK(dense_layout_op_calls() > calls_before);
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	/* Destroying a request that already completed is its normal end. */
	CHECK_INT(aml_dma_ze_request_destroy(dma->data, &req), AML_SUCCESS);
	CHECK(req == NULL);

	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, &host_dst.layout,
	                                    &device.layout, NULL, NULL),
	          AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	buffers_check(b, 2);
}

/* The same through dma->ops, as aml_dma_copy_custom & co. do it. */
static void through_vtable(struct aml_dma *dma, struct buffers *b)
{
	struct dense_layout host_src, host_dst, device;
	struct aml_dma_request *req = NULL;

	dense_layout_1d(&host_src, b->host_src, 8, COPY_SIZE / 8);
	dense_layout_1d(&host_dst, b->host_dst, 8, COPY_SIZE / 8);
	dense_layout_1d(&device, b->device, 8, COPY_SIZE / 8);
	const size_t copied = COPY_SIZE / 8 * 8;

	/* aml_dma_copy_custom: create + wait, default operator. */
	buffers_reset(b, 3);
	CHECK_INT(generic_dma_copy_custom(dma, &device.layout, &host_src.layout,
	                                  NULL, NULL),
	          AML_SUCCESS);
	/* aml_dma_async_copy_custom + aml_dma_wait */
	CHECK_INT(generic_dma_async_copy_custom(dma, &req, &host_dst.layout,
	                                        &device.layout,
	                                        aml_dma_ze_copy_1D, NULL),
	          AML_SUCCESS);
	CHECK(req != NULL);
	CHECK_INT(generic_dma_wait(dma, &req), AML_SUCCESS);
	CHECK(req == NULL);
	CHECK_INT(pattern_first_mismatch(b->host_dst, copied, 3), copied);
	CHECK_INT(b->host_dst[copied], 0);

	/* aml_dma_async_copy_custom (memcpy op) + aml_dma_barrier +
	 * aml_dma_cancel on the completed request. */
	buffers_reset(b, 4);
	CHECK_INT(generic_dma_async_copy_custom(
	                  dma, &req, (struct aml_layout *)b->device,
	                  (struct aml_layout *)b->host_src,
	                  aml_dma_ze_memcpy_op, (void *)COPY_SIZE),
	          AML_SUCCESS);
	CHECK_INT(generic_dma_barrier(dma), AML_SUCCESS);
	CHECK_INT(generic_dma_cancel(dma, &req), AML_SUCCESS);
	CHECK(req == NULL);
	/* fire-and-forget back, completed by the barrier */
	CHECK_INT(generic_dma_async_copy_custom(
	                  dma, NULL, (struct aml_layout *)b->host_dst,
	                  (struct aml_layout *)b->device,
	                  aml_dma_ze_memcpy_op, (void *)COPY_SIZE),
	          AML_SUCCESS);
	CHECK_INT(generic_dma_barrier(dma), AML_SUCCESS);
	buffers_check(b, 4);
}

/* aml_dma_fprintf: upstream leaves ops.fprintf NULL (AML would assert); if
 * the library fills it, it must print under the prefix. */
static void through_fprintf(struct aml_dma *dma)
{
	char *text = NULL;
	size_t length = 0;
	FILE *stream = open_memstream(&text, &length);

	CHECK(stream != NULL);
	int err = generic_dma_fprintf(stream, "ctest-prefix", dma);
	CHECK_INT(fclose(stream), 0);
	if (aml_dma_ze_ops.fprintf == NULL) {
		CHECK_INT(err, -AML_ENOTSUP);
		CHECK_INT(length, 0);
	} else {
		CHECK(err >= 0);
		CHECK(length > 0);
		CHECK(strstr(text, "ctest-prefix") != NULL);
	}
	free(text);
}

int main(void)
{
	struct ze_env env;
	struct aml_dma *dma = NULL;
	struct buffers b;

	ze_env_open(&env);
	b.host_src = malloc(COPY_SIZE + 1);
	b.host_dst = malloc(COPY_SIZE + 1);
	CHECK(b.host_src != NULL && b.host_dst != NULL);
	b.device = ze_env_device_alloc(&env, COPY_SIZE);

	CHECK_INT(aml_dma_ze_create(&dma, env.device, ze_env_ordinal(), 0), AML_SUCCESS);
	CHECK(dma->ops == &aml_dma_ze_ops);

	direct_memcpy_op(dma, &b);
	direct_copy_1d(dma, &b);
	through_vtable(dma, &b);
	through_fprintf(dma);

	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	CHECK(dma == NULL);
	/* Destroying an already destroyed (NULL) dma is a no-op, as upstream. */
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);

	ze_env_device_free(&env, b.device);
	free(b.host_src);
	free(b.host_dst);
	ze_env_close(&env);
	return CTEST_EXIT_PASS;
}
