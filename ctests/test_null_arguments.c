/* NULL at every pointer argument of every entry point: an error code, never
 * a crash, and the dma keeps working afterwards. */
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

#define SIZE ((size_t)4096)

static void create_and_destroy(struct ze_env *env)
{
	struct aml_dma *dma = NULL;

	CHECK_INT(aml_dma_ze_create(NULL, env->device, 0, 0), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_create(&dma, NULL, 0, 0), -AML_EINVAL);
	CHECK(dma == NULL);
	CHECK_INT(aml_dma_ze_destroy(NULL), -AML_EINVAL);
	/* *dma == NULL: nothing to destroy, as upstream. */
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_barrier(NULL), -AML_EINVAL);
}

static void requests(struct aml_dma *dma)
{
	uint8_t src[SIZE], dst[SIZE];
	struct dense_layout src_l, dst_l;
	struct aml_dma_request *req = NULL;
	struct aml_dma_ze_copy_args args = {
	        .ze_data = (struct aml_dma_ze_data *)dma->data,
	        .ze_req = NULL,
	        .arg = (void *)SIZE,
	};

	dense_layout_1d(&src_l, src, 1, SIZE);
	dense_layout_1d(&dst_l, dst, 1, SIZE);

	/* request_create: data, dest, src (req NULL is fire-and-forget). */
	CHECK_INT(aml_dma_ze_request_create(NULL, &req, &dst_l.layout,
	                                    &src_l.layout, NULL, NULL),
	          -AML_EINVAL);
	CHECK(req == NULL);
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, NULL,
	                                    &src_l.layout, NULL, NULL),
	          -AML_EINVAL);
	CHECK(req == NULL);
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, &dst_l.layout,
	                                    NULL, NULL, NULL),
	          -AML_EINVAL);
	CHECK(req == NULL);
	CHECK_INT(aml_dma_ze_request_create(dma->data, NULL, NULL, NULL,
	                                    aml_dma_ze_memcpy_op,
	                                    (void *)SIZE),
	          -AML_EINVAL);

	/* request_wait / request_destroy: data, req, *req. */
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, &dst_l.layout,
	                                    &src_l.layout, NULL, NULL),
	          AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(NULL, &req), -AML_EINVAL);
	CHECK(req != NULL);
	CHECK_INT(aml_dma_ze_request_destroy(NULL, &req), -AML_EINVAL);
	CHECK(req != NULL);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, NULL), -AML_EINVAL);
	/* No request to destroy: a no-op, as upstream. */
	CHECK_INT(aml_dma_ze_request_destroy(dma->data, NULL), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	CHECK(req == NULL);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), -AML_EINVAL);
	/* Destroying a NULL request is a no-op, like free(NULL). */
	CHECK_INT(aml_dma_ze_request_destroy(dma->data, &req), AML_SUCCESS);

	/* The operators, called the way a custom operator would chain them. */
	CHECK_INT(aml_dma_ze_copy_1D(NULL, &src_l.layout, &args), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_copy_1D(&dst_l.layout, NULL, &args), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_copy_1D(&dst_l.layout, &src_l.layout, NULL),
	          -AML_EINVAL);
	CHECK_INT(aml_dma_ze_memcpy_op(NULL, (struct aml_layout *)src, &args),
	          -AML_EINVAL);
	CHECK_INT(aml_dma_ze_memcpy_op((struct aml_layout *)dst, NULL, &args),
	          -AML_EINVAL);
	CHECK_INT(aml_dma_ze_memcpy_op((struct aml_layout *)dst,
	                               (struct aml_layout *)src, NULL),
	          -AML_EINVAL);

	/* A layout whose ops table is NULL, or whose rawptr is NULL. */
	struct aml_layout no_ops = {.ops = NULL, .data = NULL};
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, &dst_l.layout,
	                                    &no_ops, NULL, NULL),
	          -AML_EINVAL);
	CHECK(req == NULL);
	struct dense_layout null_ptr;
	dense_layout_1d(&null_ptr, NULL, 1, SIZE);
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, &null_ptr.layout,
	                                    &src_l.layout, NULL, NULL),
	          -AML_EINVAL);
	CHECK(req == NULL);
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
}

/* The vtable's fprintf (AML's aml_dma_fprintf passes "" for a NULL prefix,
 * but a direct caller may not). */
static void print(struct aml_dma *dma)
{
	char *text = NULL;
	size_t length = 0;
	FILE *stream = open_memstream(&text, &length);

	CHECK(stream != NULL);
	CHECK(aml_dma_ze_ops.fprintf != NULL);
	CHECK_INT(aml_dma_ze_ops.fprintf(NULL, stream, ""), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_ops.fprintf(dma->data, NULL, ""), -AML_EINVAL);
	CHECK(aml_dma_ze_ops.fprintf(dma->data, stream, NULL) > 0);
	CHECK_INT(fclose(stream), 0);
	CHECK(length > 0);
	free(text);
}

int main(void)
{
	struct ze_env env;
	struct aml_dma *dma = NULL;

	ze_env_open(&env);
	create_and_destroy(&env);
	CHECK_INT(aml_dma_ze_create(&dma, env.device, ze_env_ordinal(), 0), AML_SUCCESS);
	requests(dma);
	print(dma);
	check_sync_copy(dma, SIZE, 9);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	ze_env_close(&env);
	return CTEST_EXIT_PASS;
}
