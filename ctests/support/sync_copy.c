#include "sync_copy.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pattern.h"

void sync_memcpy(struct aml_dma *dma, void *dst, const void *src, size_t size)
{
	struct aml_dma_request *req = NULL;

	CHECK_INT(aml_dma_ze_request_create(dma->data, &req,
	                                    (struct aml_layout *)dst,
	                                    (struct aml_layout *)src,
	                                    aml_dma_ze_memcpy_op, (void *)size),
	          AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	CHECK(req == NULL);
}

void check_sync_copy(struct aml_dma *dma, size_t size, uint32_t seed)
{
	uint8_t *src = malloc(size), *dst = malloc(size);

	CHECK(src != NULL && dst != NULL);
	pattern_fill(src, size, seed);
	memset(dst, 0, size);
	sync_memcpy(dma, dst, src, size);
	CHECK_INT(pattern_first_mismatch(dst, size, seed), size);
	free(src);
	free(dst);
}
