/* With the Level Zero loader missing (AML_DMA_ZE_LOADER points at a file that
 * does not exist) every way to create a dma answers -AML_ENOTSUP and nothing
 * crashes. The device handle comes from the test's own loader, as a program
 * would hold one; the library must not use it. */
#include <stdlib.h>

#include <aml/dma/ze.h>

#include "check.h"
#include "ze_env.h"

int main(void)
{
	struct ze_env env;
	struct aml_dma *dma = NULL;

	/* Read by the library on its first create, so set before it. */
	CHECK_INT(setenv("AML_DMA_ZE_LOADER", "/nonexistent/libze_loader.so.1",
	                 1),
	          0);
	ze_env_open(&env);

	CHECK_INT(aml_dma_ze_create(&dma, env.device, 0, 0), -AML_ENOTSUP);
	CHECK(dma == NULL);
	/* Asking again gives the same answer (no half-initialised state). */
	CHECK_INT(aml_dma_ze_create(&dma, env.device, 0, 0), -AML_ENOTSUP);
	CHECK(dma == NULL);
	CHECK_INT(aml_dma_ze_default_setup(), -AML_ENOTSUP);
	CHECK(aml_dma_ze_default == NULL);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);

	ze_env_close(&env);
	return CTEST_EXIT_PASS;
}
