/* Built by `make install-check` with nothing but
 * `pkg-config --cflags --libs aml-dma-ze` against the installed tree: the
 * header and library must be usable from there alone, and the library that
 * runs must be the installed one. Usage: installed_program LIBDIR */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml/dma/ze.h>

#define SIZE ((size_t)1 << 16)

static int fail(const char *what)
{
	fprintf(stderr, "installed_program: %s\n", what);
	return 1;
}

int main(int argc, char **argv)
{
	static unsigned char src[SIZE], dst[SIZE];
	struct aml_dma_request *req = NULL;
	Dl_info info;

	if (argc != 2)
		return fail("usage: installed_program LIBDIR");
	if (dladdr((void *)aml_dma_ze_create, &info) == 0 ||
	    strncmp(info.dli_fname, argv[1], strlen(argv[1])) != 0)
		return fail("aml_dma_ze_create does not come from LIBDIR");

	if (aml_dma_ze_default_setup() != AML_SUCCESS ||
	    aml_dma_ze_default == NULL)
		return fail("aml_dma_ze_default_setup failed");
	for (size_t i = 0; i < SIZE; i++)
		src[i] = (unsigned char)(i * 7 + 3);
	if (aml_dma_ze_request_create(aml_dma_ze_default->data, &req,
	                              (struct aml_layout *)dst,
	                              (struct aml_layout *)src,
	                              aml_dma_ze_memcpy_op,
	                              (void *)SIZE) != AML_SUCCESS ||
	    aml_dma_ze_request_wait(aml_dma_ze_default->data, &req) !=
	            AML_SUCCESS)
		return fail("copy failed");
	if (memcmp(src, dst, SIZE) != 0)
		return fail("copied bytes differ");
	if (aml_dma_ze_default_teardown() != AML_SUCCESS)
		return fail("teardown failed");
	printf("installed library %s: %zu bytes copied and verified\n",
	       info.dli_fname, SIZE);
	return 0;
}
