/* A malloc'd buffer moved to the device and back, before and after
 * aml_dma_ze_host_prepare: the driver copies a prepared range as it copies
 * its own host allocations (at the link's rate) instead of pinning the
 * memory for every copy. Prepare buffers you copy again and again; release
 * them before you free them.
 *
 *   make prepared-host                 (this program on the software driver)
 *   ./build/prepared_host [MiB]        (64 MiB by default)
 *
 * On the software driver's cpu backend every host memory moves at one rate
 * unless its bandwidth model is on (SWZE_BANDWIDTH_MODEL=1), which charges
 * malloc'd memory what Intel's driver costs it; on a GPU the difference is
 * the real one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <aml/dma/ze.h>
#include <level_zero/ze_api.h>

#define ROUNDS 5

#define ZE_OR_DIE(call)                                                      \
	do {                                                                 \
		ze_result_t r_ = (call);                                     \
		if (r_ != ZE_RESULT_SUCCESS) {                               \
			fprintf(stderr, "%s failed: 0x%x\n", #call,          \
			        (unsigned)r_);                               \
			exit(1);                                             \
		}                                                            \
	} while (0)

#define AML_OR_DIE(call)                                                     \
	do {                                                                 \
		int e_ = (call);                                             \
		if (e_ != AML_SUCCESS) {                                     \
			fprintf(stderr, "%s failed: %d\n", #call, e_);       \
			exit(1);                                             \
		}                                                            \
	} while (0)

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One synchronous copy of `size` bytes; returns seconds. */
static double copy(struct aml_dma *dma, void *dst, void *src, size_t size)
{
	struct aml_dma_request *req = NULL;
	double start = now_seconds();
	AML_OR_DIE(aml_dma_ze_request_create(dma->data, &req, (struct aml_layout *)dst,
	                                     (struct aml_layout *)src, aml_dma_ze_memcpy_op,
	                                     (void *)size));
	AML_OR_DIE(aml_dma_ze_request_wait(dma->data, &req));
	return now_seconds() - start;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

struct rates {
	double to_device, from_device; /* GB/s, medians of ROUNDS */
};

/* ROUNDS round trips host -> device -> back, every byte checked each time;
 * the median rate of each way. */
static struct rates measure(struct aml_dma *dma, uint8_t *device, uint8_t *host,
                            uint8_t *back, size_t size)
{
	double to[ROUNDS], from[ROUNDS];
	for (int round = 0; round < ROUNDS; round++) {
		for (size_t i = 0; i < size; i += 4096)
			host[i] = (uint8_t)(round * 31 + (i >> 12));
		memset(back, 0, size);
		to[round] = copy(dma, device, host, size);
		from[round] = copy(dma, back, device, size);
		if (memcmp(host, back, size) != 0) {
			fprintf(stderr, "round %d: the bytes that came back differ\n", round);
			exit(1);
		}
	}
	qsort(to, ROUNDS, sizeof(double), by_value);
	qsort(from, ROUNDS, sizeof(double), by_value);
	return (struct rates){(double)size / to[ROUNDS / 2] / 1e9, (double)size / from[ROUNDS / 2] / 1e9};
}

int main(int argc, char **argv)
{
	size_t size = (size_t)(argc > 1 ? strtoul(argv[1], NULL, 0) : 64) << 20;
	ze_driver_handle_t driver;
	ze_device_handle_t device;
	ze_context_handle_t context;
	uint32_t count = 1;

	if (size == 0) {
		fprintf(stderr, "usage: %s [MiB, at least 1]\n", argv[0]);
		return 1;
	}
	ZE_OR_DIE(zeInit(0));
	ZE_OR_DIE(zeDriverGet(&count, &driver));
	count = 1;
	ZE_OR_DIE(zeDeviceGet(driver, &count, &device));
	ze_context_desc_t context_desc = {.stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC};
	ZE_OR_DIE(zeContextCreate(driver, &context_desc, &context));
	ze_device_mem_alloc_desc_t mem_desc = {.stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC};
	void *device_buffer;
	ZE_OR_DIE(zeMemAllocDevice(context, &mem_desc, size, 64, device, &device_buffer));

	/* Plain malloc'd memory, as an application has it. */
	uint8_t *host = malloc(size), *back = malloc(size);
	if (host == NULL || back == NULL) {
		fprintf(stderr, "out of host memory\n");
		return 1;
	}
	memset(host, 1, size);

	struct aml_dma *dma;
	AML_OR_DIE(aml_dma_ze_create(&dma, device, 0, 0));
	int imports = aml_dma_ze_host_imports(dma);
	printf("aml_dma_ze prepared host ranges, %zu MiB, medians of %d round trips\n", size >> 20,
	       ROUNDS);
	printf("  the driver %s\n", imports == 1 ? "imports host ranges (prepare pins them once)"
	                                         : "has no host-pointer import (prepare does nothing)");

	struct rates plain = measure(dma, device_buffer, host, back, size);

	/* Prepare both buffers once; every later copy of them uses the import. */
	double start = now_seconds();
	AML_OR_DIE(aml_dma_ze_host_prepare(dma, host, size));
	AML_OR_DIE(aml_dma_ze_host_prepare(dma, back, size));
	double prepare_seconds = now_seconds() - start;

	struct rates prepared = measure(dma, device_buffer, host, back, size);

	/* Release before freeing (destroy would release them too). */
	start = now_seconds();
	AML_OR_DIE(aml_dma_ze_host_release(dma, host));
	AML_OR_DIE(aml_dma_ze_host_release(dma, back));
	double release_seconds = now_seconds() - start;

	printf("  %-15s malloc'd %8.2f GB/s   prepared %8.2f GB/s   %5.2fx\n", "host -> device",
	       plain.to_device, prepared.to_device, prepared.to_device / plain.to_device);
	printf("  %-15s malloc'd %8.2f GB/s   prepared %8.2f GB/s   %5.2fx\n", "device -> host",
	       plain.from_device, prepared.from_device, prepared.from_device / plain.from_device);
	printf("  prepare of both buffers %.3f ms, release %.3f ms\n", prepare_seconds * 1e3,
	       release_seconds * 1e3);
	printf("  verified %d x 2 x %zu bytes: identical\n", 2 * ROUNDS, size);

	AML_OR_DIE(aml_dma_ze_destroy(&dma));
	ZE_OR_DIE(zeMemFree(context, device_buffer));
	ZE_OR_DIE(zeContextDestroy(context));
	free(host);
	free(back);
	return 0;
}
