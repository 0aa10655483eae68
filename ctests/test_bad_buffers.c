/* A copy the device cannot perform is an error of the request, never a
 * signal: a never-mapped address (0xdead0000), a freed device allocation,
 * and 1 MiB through a 4 KiB device allocation, each as the source and as the
 * destination, with and without a request handle. On Intel's driver (and
 * swze, which does as it does) the append fails with
 * ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY: a range not wholly inside one known
 * allocation is taken for host memory, whose import fails; the library
 * returns -AML_ENOMEM from aml_dma_ze_request_create, leaves *req alone,
 * queues nothing, and the dma goes on working (README, "Behaviour"). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aml/dma/ze.h>

#include "check.h"
#include "pattern.h"
#include "sync_copy.h"
#include "ze_env.h"

#define COPY ((size_t)1 << 20)
/* Larger than any threshold under which the allocator keeps freed memory
 * mapped (glibc's largest dynamic mmap threshold is 32 MiB): once freed,
 * its pages go back to the system. */
#define FREED ((size_t)64 << 20)

static const char *expected_name = "-AML_ENOMEM";

/* Both ways a request can be made: with a handle and without one. */
static void expect_refused(struct aml_dma *dma, void *dst, const void *src,
                           const char *what)
{
	struct aml_dma_request *req = (struct aml_dma_request *)&req;
	struct aml_dma_request *untouched = req;

	int rc = aml_dma_ze_request_create(dma->data, &req, (struct aml_layout *)dst,
	                                   (struct aml_layout *)src,
	                                   aml_dma_ze_memcpy_op, (void *)COPY);
	if (rc != -AML_ENOMEM) {
		fprintf(stderr, "%s: request_create returned %d, expected %s\n",
		        what, rc, expected_name);
		exit(CTEST_EXIT_FAIL);
	}
	CHECK(req == untouched);
	rc = aml_dma_ze_request_create(dma->data, NULL, (struct aml_layout *)dst,
	                               (struct aml_layout *)src,
	                               aml_dma_ze_memcpy_op, (void *)COPY);
	if (rc != -AML_ENOMEM) {
		fprintf(stderr, "%s (no handle): request_create returned %d, expected %s\n",
		        what, rc, expected_name);
		exit(CTEST_EXIT_FAIL);
	}
	/* Nothing was queued that could fail later, and the dma still works. */
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	check_sync_copy(dma, 4096, 7);
	printf("%s: %s, the dma still works\n", what, expected_name);
}

int main(void)
{
	struct ze_env env;
	struct aml_dma *dma = NULL;
	uint8_t *host = malloc(COPY);
	void *unmapped = (void *)(uintptr_t)0xdead0000u;

	CHECK(host != NULL);
	pattern_fill(host, COPY, 3);
	ze_env_open(&env);
	CHECK_INT(aml_dma_ze_create(&dma, env.device, ze_env_ordinal(), 0), AML_SUCCESS);

	void *small = ze_env_device_alloc(&env, 4096);
	/* Every thread and pool the copies need exists before the freed
	 * allocation's pages go back to the system: a new mapping (a thread's
	 * malloc arena is 64 MiB) could take their place, and a copy into
	 * mapped memory is a copy, on Intel's driver as here. */
	check_sync_copy(dma, 4096, 5);
	sync_memcpy(dma, small, host, 4096);
	void *freed = ze_env_device_alloc(&env, FREED);
	ze_env_device_free(&env, freed);

	if (getenv("CTEST_VALGRIND") == NULL) {
		expect_refused(dma, host, freed, "freed allocation -> host");
		expect_refused(dma, freed, host, "host -> freed allocation");
	} else {
		/* valgrind keeps freed blocks mapped (and reports the copy). */
		printf("freed allocation: not run under valgrind, which keeps freed memory mapped\n");
	}
	expect_refused(dma, small, unmapped, "unmapped source -> device");
	expect_refused(dma, unmapped, small, "device -> unmapped destination");
	expect_refused(dma, host, small, "1 MiB from a 4 KiB allocation -> host");
	expect_refused(dma, small, host, "host -> 1 MiB into a 4 KiB allocation");

	/* Inside the allocation, the same pointers copy as ever. */
	sync_memcpy(dma, small, host, 4096);
	memset(host, 0, 4096);
	sync_memcpy(dma, host, small, 4096);
	CHECK_INT(pattern_first_mismatch(host, 4096, 3), 4096);

	ze_env_device_free(&env, small);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	ze_env_close(&env);
	free(host);
	return CTEST_EXIT_PASS;
}
