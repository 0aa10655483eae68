/* Swap-in: a PIE program built against the stand-in libaml. Run with our
 * library preloaded or linked ahead of the stand-in, libaml's own init must
 * create aml_dma_ze_default with our ops and real data must move; run with
 * the stand-in alone ("standin" argument), the sentinel shows the stand-in's
 * code ran, which proves the other runs can tell the difference.
 * Usage: test_swapin ours|standin */
#include <dlfcn.h>
#include <stdint.h>
#include <string.h>

#include <aml/dma/ze.h>

#include "check.h"
#include "dispatch.h"
#include "pattern.h"
#include "standin.h"

#define SIZE ((size_t)1 << 20)

static void expect_ours(void)
{
	static uint8_t src[SIZE], dst[SIZE];
	struct aml_dma_request *req = NULL;

	CHECK_INT(standin_aml_init(), AML_SUCCESS);
	/* The program's copy of the variable and the library's view agree. */
	CHECK(aml_dma_ze_default != NULL);
	CHECK(standin_default_dma() == aml_dma_ze_default);
	CHECK(aml_dma_ze_default->ops == &aml_dma_ze_ops);
	CHECK(standin_ops_address() == &aml_dma_ze_ops);
	CHECK(aml_dma_ze_ops.create_request != NULL);
	/* The functions the vtable holds are ours, not the stand-in's. */
	Dl_info where;
	CHECK(dladdr((void *)aml_dma_ze_default->ops->create_request, &where));
	CHECK(strstr(where.dli_fname, "libaml_dma_ze.so") != NULL);
	CHECK(dladdr((void *)aml_dma_ze_create, &where));
	CHECK(strstr(where.dli_fname, "libaml_dma_ze.so") != NULL);

	pattern_fill(src, SIZE, 11);
	/* Through the vtable, like libaml's generic API ... */
	CHECK_INT(generic_dma_copy_custom(aml_dma_ze_default,
	                                  (struct aml_layout *)dst,
	                                  (struct aml_layout *)src,
	                                  aml_dma_ze_memcpy_op, (void *)SIZE),
	          AML_SUCCESS);
	CHECK_INT(pattern_first_mismatch(dst, SIZE, 11), SIZE);
	/* ... and by name. */
	pattern_fill(src, SIZE, 12);
	CHECK_INT(aml_dma_ze_request_create(aml_dma_ze_default->data, &req,
	                                    (struct aml_layout *)dst,
	                                    (struct aml_layout *)src,
	                                    aml_dma_ze_memcpy_op, (void *)SIZE),
	          AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(aml_dma_ze_default->data, &req),
	          AML_SUCCESS);
	CHECK_INT(aml_dma_ze_barrier(aml_dma_ze_default->data), AML_SUCCESS);
	CHECK_INT(pattern_first_mismatch(dst, SIZE, 12), SIZE);

	CHECK_INT(standin_aml_finalize(), AML_SUCCESS);
	CHECK(aml_dma_ze_default == NULL);
}

static void expect_standin(void)
{
	CHECK_INT(standin_aml_init(), STANDIN_SENTINEL);
	CHECK(aml_dma_ze_default == NULL);
	CHECK_INT(aml_dma_ze_barrier(NULL), STANDIN_SENTINEL);
	CHECK(aml_dma_ze_ops.create_request == aml_dma_ze_request_create);
}

int main(int argc, char **argv)
{
	CHECK(argc == 2);
	if (strcmp(argv[1], "ours") == 0)
		expect_ours();
	else if (strcmp(argv[1], "standin") == 0)
		expect_standin();
	else
		CHECK(!"argument must be ours or standin");
	return CTEST_EXIT_PASS;
}
