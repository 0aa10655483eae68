/* A copy_nd of several pieces that fails part way, then a small request
 * over the bytes its first piece writes, on a list kept in order by barriers
 * (AML_DMA_ZE_COUNTER_EVENTS=0: the path of drivers without counter-based
 * events). README, "Ordering": a failed request's destination bytes are
 * unspecified; later requests still come after whatever of it was appended.
 *
 * A 4-D tile from USM host memory to device memory is one region per point
 * of its outer dimension (2 here), then a barrier that signals the request.
 * The driver fails the 2nd region append: the request returns -AML_ENOMEM
 * with its 1st region appended and running on an engine slowed down so that
 * it still runs for a while. A 64-byte request from USM host memory onto the
 * last bytes that region writes comes next. On Intel's driver (and swze,
 * which models it) such a small copy on an immediate list that has never
 * seen a barrier is done by the CPU at the append, without waiting for the
 * list's earlier copies: unless the library puts a barrier before it, the
 * still-running region overwrites it afterwards. The model: after a
 * barrier, those 64 bytes are the later request's. Then the dma must still
 * work: the whole tile again, byte for byte.
 *
 * Before b86ed37 the library told the list's fence only of a failed custom
 * operator's commands, not of a failed copy_nd's pieces: no barrier went
 * before the small request, and this test saw the region's bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/dma/ze.h>
#include <swze.h>

#include "check.h"
#include "driver_ctl.h"
#include "layout_dense.h"
#include "pattern.h"
#include "ze_env.h"

#define ROW AML_LAYOUT_ORDER_ROW_MAJOR
#define NDIMS 4
#define ELEM 8
/* The main copy engine of the modelled products (Max 1550, Flex 170). */
#define ORDINAL 1
/* The tile: 2 x 16 x 16 x 32 elements of 8 bytes out of a parent 2 x 17 x
 * 17 x 40 (row-major: dims[0] slowest). No two dims merge, so the plan is
 * regions of 256-byte rows, 16 high, 16 deep, looped twice: 2 pieces of
 * 64 KiB of the packed device tile each. */
static const size_t parent_dims[NDIMS] = {2, 17, 17, 40};
static const size_t tile_dims[NDIMS] = {2, 16, 16, 32};
static const size_t tile_offsets[NDIMS] = {0, 1, 1, 4};
#define PIECES 2
#define TILE_BYTES ((size_t)2 * 16 * 16 * 32 * ELEM)
#define PIECE_BYTES (TILE_BYTES / PIECES)
/* The small request: the last bytes the 1st piece writes (rows land in
 * order, so these are written last). 64 bytes of USM host memory to the
 * device: under Intel's 50 KiB threshold for a CPU copy. */
#define SMALL 64
#define SMALL_OFFSET (PIECE_BYTES - SMALL)
/* The engine's speed while the 1st piece runs: 64 KiB in half a second,
 * ample time for the small request to be appended while it runs. */
#define SLOW_BANDWIDTH ((uint64_t)128 << 10)

static struct ze_env env;
static struct swze_api api;

static void *host_alloc(size_t size)
{
	ze_host_mem_alloc_desc_t desc = {.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC};
	void *ptr = NULL;

	CHECK_INT(zeMemAllocHost(env.context, &desc, size, 64, &ptr), ZE_RESULT_SUCCESS);
	CHECK(ptr != NULL);
	return ptr;
}

static void host_free(void *ptr)
{
	CHECK_INT(zeMemFree(env.context, ptr), ZE_RESULT_SUCCESS);
}

/* The host reference of the tile: every element by logical coordinates. */
static void reference_copy(struct aml_layout *dst, struct aml_layout *src)
{
	size_t c[NDIMS] = {0};

	for (;;) {
		memcpy(aml_layout_deref(dst, c), aml_layout_deref(src, c), ELEM);
		size_t level = NDIMS;
		while (level-- > 0) {
			if (++c[level] < tile_dims[level])
				break;
			c[level] = 0;
		}
		if (level == (size_t)-1)
			return;
	}
}

static int memcpy_request(struct aml_dma *dma, struct aml_dma_request **req,
                          void *dst, const void *src, size_t size)
{
	return aml_dma_ze_request_create(dma->data, req, (struct aml_layout *)dst,
	                                 (struct aml_layout *)src,
	                                 aml_dma_ze_memcpy_op, (void *)size);
}

static void check_bytes(const char *what, const uint8_t *got,
                        const uint8_t *want, size_t bytes)
{
	for (size_t i = 0; i < bytes; i++)
		if (got[i] != want[i]) {
			fprintf(stderr, "%s: byte %zu is %u, expected %u\n", what,
			        i, got[i], want[i]);
			CHECK(got[i] == want[i]);
		}
}

static uint64_t engine_bytes(void)
{
	return api.engine_bytes(0, ORDINAL, 0);
}

int main(void)
{
	/* The path of lists kept in order by barriers, on one queue, whatever
	 * the run's environment (the multi-queue pass sets AML_DMA_ZE_QUEUES). */
	CHECK_INT(setenv("AML_DMA_ZE_COUNTER_EVENTS", "0", 1), 0);
	CHECK_INT(unsetenv("AML_DMA_ZE_QUEUES"), 0);
	ze_env_open(&env);
	driver_ctl_load();
	CHECK_INT(swze_api_load(&api), 0);

	uint32_t groups = 0;
	CHECK_INT(zeDeviceGetCommandQueueGroupProperties(env.device, &groups, NULL),
	          ZE_RESULT_SUCCESS);
	if (groups <= ORDINAL)
		SKIP("the device has no queue group of ordinal 1");

	struct aml_layout *src_parent, *src_tile, *device_layout, *ref_layout;
	uint8_t *src = host_alloc(ELEM * 2 * 17 * 17 * 40);
	uint8_t *small = host_alloc(SMALL);
	uint8_t *device = ze_env_device_alloc(&env, TILE_BYTES);
	uint8_t *ref = calloc(1, TILE_BYTES), *back = calloc(1, TILE_BYTES);
	CHECK(ref != NULL && back != NULL);

	pattern_fill(src, ELEM * 2 * 17 * 17 * 40, 1);
	pattern_fill(small, SMALL, 2);
	CHECK_INT(aml_layout_dense_create(&src_parent, src, ROW, ELEM, NDIMS,
	                                  parent_dims, NULL, NULL),
	          AML_SUCCESS);
	CHECK_INT(aml_layout_slice(src_parent, &src_tile, tile_offsets, tile_dims, NULL),
	          AML_SUCCESS);
	CHECK_INT(aml_layout_dense_create(&device_layout, device, ROW, ELEM, NDIMS,
	                                  tile_dims, NULL, NULL),
	          AML_SUCCESS);
	CHECK_INT(aml_layout_dense_create(&ref_layout, ref, ROW, ELEM, NDIMS,
	                                  tile_dims, NULL, NULL),
	          AML_SUCCESS);
	reference_copy(ref_layout, src_tile);
	/* The two requests disagree on the bytes checked. */
	CHECK(memcmp(ref + SMALL_OFFSET, small, SMALL) != 0);

	/* A fresh dma: its list has never seen a barrier, and nothing else in
	 * this process appends to its queue. */
	struct aml_dma *dma = NULL;
	struct aml_dma_request *req = NULL;
	CHECK_INT(aml_dma_ze_create(&dma, env.device, ORDINAL, 0), AML_SUCCESS);

	/* The tile, its 2nd region refused by the driver. */
	uint64_t regions = driver_calls("zeCommandListAppendMemoryCopyRegion");
	uint64_t engine_before = engine_bytes();
	driver_set_copy_bandwidth(SLOW_BANDWIDTH);
	driver_fault("zeCommandListAppendMemoryCopyRegion", 2,
	             ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY);
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, device_layout,
	                                    src_tile, aml_dma_ze_copy_nd, NULL),
	          -AML_ENOMEM);
	CHECK(req == NULL);
	driver_fault_clear();
	CHECK_INT(driver_calls("zeCommandListAppendMemoryCopyRegion") - regions, PIECES);

	/* Right after: the small request over the last bytes of the 1st piece. */
	uint64_t barriers = driver_calls("zeCommandListAppendBarrier");
	uint64_t cpu = api.copy_route_count("cpu");
	uint64_t engine_at_small = engine_bytes() - engine_before;
	CHECK_INT(memcpy_request(dma, &req, device + SMALL_OFFSET, small, SMALL),
	          AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	fprintf(stderr,
	        "small request: %llu of the 1st piece's %zu bytes copied when it "
	        "was appended; %llu barrier(s) appended before it; %s\n",
	        (unsigned long long)engine_at_small, (size_t)PIECE_BYTES,
	        (unsigned long long)(driver_calls("zeCommandListAppendBarrier") - barriers),
	        api.copy_route_count("cpu") > cpu ? "copied by the CPU at the append"
	                                           : "copied by an engine");
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	driver_set_copy_bandwidth(0);

	/* The model: the later request's bytes win. */
	CHECK_INT(memcpy_request(dma, &req, back, device, TILE_BYTES), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	check_bytes("the small request's bytes after the failed tile",
	            back + SMALL_OFFSET, small, SMALL);

	/* The dma still works: the whole tile, byte for byte. */
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, device_layout,
	                                    src_tile, aml_dma_ze_copy_nd, NULL),
	          AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	memset(back, 0, TILE_BYTES);
	CHECK_INT(memcpy_request(dma, NULL, back, device, TILE_BYTES), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	check_bytes("the tile copied again", back, ref, TILE_BYTES);

	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	aml_layout_destroy(&src_tile);
	aml_layout_destroy(&src_parent);
	aml_layout_destroy(&device_layout);
	aml_layout_destroy(&ref_layout);
	free(ref);
	free(back);
	ze_env_device_free(&env, device);
	host_free(small);
	host_free(src);
	ze_env_close(&env);
	return CTEST_EXIT_PASS;
}
