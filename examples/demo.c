/* What a new user writes: find a Level Zero device, make an aml_dma_ze on
 * it, and move 256 MiB host -> device -> host in chunks with asynchronous
 * requests and a barrier, then check every byte came back.
 *
 *   make demo     (builds everything and runs this on the software driver)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <aml/dma/ze.h>
#include <level_zero/ze_api.h>

#define TOTAL ((size_t)256 << 20)
#define CHUNK ((size_t)8 << 20)
#define CHUNKS (TOTAL / CHUNK)

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

/* Queue every chunk as its own asynchronous request, then one barrier waits
 * for all of them; the requests are released afterwards. Returns seconds. */
static double move(struct aml_dma *dma, uint8_t *dst, uint8_t *src)
{
	struct aml_dma_request *requests[CHUNKS];
	double start = now_seconds();

	for (size_t i = 0; i < CHUNKS; i++)
		AML_OR_DIE(aml_dma_ze_request_create(
		        dma->data, &requests[i],
		        (struct aml_layout *)(dst + i * CHUNK),
		        (struct aml_layout *)(src + i * CHUNK),
		        aml_dma_ze_memcpy_op, (void *)CHUNK));
	AML_OR_DIE(aml_dma_ze_barrier(dma->data));
	double seconds = now_seconds() - start;
	for (size_t i = 0; i < CHUNKS; i++)
		AML_OR_DIE(aml_dma_ze_request_destroy(dma->data, &requests[i]));
	return seconds;
}

static void report(const char *direction, double seconds)
{
	printf("  %-15s %4zu MiB in %zu chunks of %zu MiB: %7.3f s, %6.2f GB/s\n",
	       direction, TOTAL >> 20, CHUNKS, CHUNK >> 20, seconds,
	       (double)TOTAL / seconds / 1e9);
}

int main(void)
{
	/* 1. Discover the first device of the first driver. */
	ze_driver_handle_t driver;
	ze_device_handle_t device;
	ze_context_handle_t context;
	uint32_t count = 1;

	ZE_OR_DIE(zeInit(0));
	ZE_OR_DIE(zeDriverGet(&count, &driver));
	count = 1;
	ZE_OR_DIE(zeDeviceGet(driver, &count, &device));
	ze_device_properties_t props = {
	        .stype = ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES};
	ZE_OR_DIE(zeDeviceGetProperties(device, &props));

	/* 2. Device memory, and host buffers to move through it. */
	ze_context_desc_t context_desc = {.stype =
	                                          ZE_STRUCTURE_TYPE_CONTEXT_DESC};
	ZE_OR_DIE(zeContextCreate(driver, &context_desc, &context));
	ze_device_mem_alloc_desc_t mem_desc = {
	        .stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC};
	void *device_buffer;
	ZE_OR_DIE(zeMemAllocDevice(context, &mem_desc, TOTAL, 64, device,
	                           &device_buffer));
	uint8_t *host_src = malloc(TOTAL);
	uint8_t *host_dst = malloc(TOTAL);
	if (host_src == NULL || host_dst == NULL) {
		fprintf(stderr, "out of host memory\n");
		return 1;
	}
	for (size_t i = 0; i < TOTAL; i++)
		host_src[i] = (uint8_t)(i * 131 + (i >> 20));
	memset(host_dst, 0, TOTAL);

	/* 3. The dma, on the device's first copy engine. */
	struct aml_dma *dma;
	AML_OR_DIE(aml_dma_ze_create(&dma, device, 0, 0));

	double to_device = move(dma, device_buffer, host_src);
	double to_host = move(dma, host_dst, device_buffer);
	int same = memcmp(host_src, host_dst, TOTAL) == 0;

	printf("aml_dma_ze demo on \"%s\"\n", props.name);
	report("host -> device", to_device);
	report("device -> host", to_host);
	printf("  verified %zu bytes: %s\n", TOTAL,
	       same ? "identical" : "MISMATCH");

	AML_OR_DIE(aml_dma_ze_destroy(&dma));
	ZE_OR_DIE(zeMemFree(context, device_buffer));
	ZE_OR_DIE(zeContextDestroy(context));
	free(host_src);
	free(host_dst);
	return same ? 0 : 1;
}
