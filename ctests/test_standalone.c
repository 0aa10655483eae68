/* A PIE program without libaml uses the library's own default dma:
 * aml_dma_ze_default_setup() must make aml_dma_ze_default visible to the
 * program, although a PIE program owns that variable (copy relocation) and a
 * library writing its own copy would leave the program's NULL. */
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>

#include <aml/dma/ze.h>

#include "check.h"
#include "pattern.h"

#define SIZE ((size_t)100003)

int main(void)
{
	static uint8_t src[SIZE], dst[SIZE];
	struct aml_dma_request *req = NULL;

	/* The hard case this test is about: the live variable is the
	 * program's copy, not the library's. */
	CHECK(dlsym(RTLD_DEFAULT, "aml_dma_ze_default") ==
	      (void *)&aml_dma_ze_default);
	Dl_info where;
	CHECK(dladdr((void *)&aml_dma_ze_default, &where));
	CHECK(strstr(where.dli_fname, "libaml_dma_ze.so") == NULL);

	CHECK(aml_dma_ze_default == NULL);
	CHECK_INT(aml_dma_ze_default_setup(), AML_SUCCESS);
	struct aml_dma *first = aml_dma_ze_default;
	CHECK(first != NULL);
	CHECK(first->ops == &aml_dma_ze_ops);
	/* Idempotent: the same dma again. */
	CHECK_INT(aml_dma_ze_default_setup(), AML_SUCCESS);
	CHECK(aml_dma_ze_default == first);

	pattern_fill(src, SIZE, 31);
	CHECK_INT(aml_dma_ze_default->ops->create_request(
	                  aml_dma_ze_default->data, &req,
	                  (struct aml_layout *)dst, (struct aml_layout *)src,
	                  aml_dma_ze_memcpy_op, (void *)SIZE),
	          AML_SUCCESS);
	CHECK_INT(aml_dma_ze_default->ops->wait_request(
	                  aml_dma_ze_default->data, &req),
	          AML_SUCCESS);
	CHECK_INT(pattern_first_mismatch(dst, SIZE, 31), SIZE);

	CHECK_INT(aml_dma_ze_default_teardown(), AML_SUCCESS);
	CHECK(aml_dma_ze_default == NULL);
	/* And again, after a teardown. */
	CHECK_INT(aml_dma_ze_default_setup(), AML_SUCCESS);
	CHECK(aml_dma_ze_default != NULL);
	CHECK_INT(aml_dma_ze_default_teardown(), AML_SUCCESS);
	CHECK(aml_dma_ze_default == NULL);
	return CTEST_EXIT_PASS;
}
