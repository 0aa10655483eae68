/* Two devices of one driver (SWZE_DEVICES=2 on the software driver; two
 * GPUs through its cuda backend): a dma on device A moves data between A's
 * memory, B's memory and the host, both ways; a copy_nd tile goes from an
 * array on A to an array on B; a dma over every copy engine of A
 * splits copies to B and back, and a dependent chain host -> A -> B -> host
 * made before any wait comes out right; a dma on B reads A's memory. Every
 * byte is checked. Skips (77) with fewer than two devices, or where the
 * driver says A cannot reach B's memory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/dma/ze.h>

#include "check.h"
#include "layout_dense.h"
#include "pattern.h"
#include "ze_env.h"

#define MiB ((size_t)1 << 20)

static struct ze_env env;

static void *alloc_on(ze_device_handle_t device, size_t size)
{
	ze_device_mem_alloc_desc_t desc = {.stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC};
	void *p = NULL;
	CHECK_INT(zeMemAllocDevice(env.context, &desc, size, 64, device, &p), ZE_RESULT_SUCCESS);
	return p;
}

static int copy(struct aml_dma *dma, struct aml_dma_request **req, void *dst, const void *src, size_t size)
{
	return aml_dma_ze_request_create(dma->data, req, (struct aml_layout *)dst, (struct aml_layout *)src,
	                                 aml_dma_ze_memcpy_op, (void *)size);
}

/* host -> first -> second -> back through `dma`, only the last with a
 * handle, made before it is waited: each copy follows the one before. */
static void chain(struct aml_dma *dma, void *first, void *second, size_t size, uint32_t seed)
{
	uint8_t *src = malloc(size), *back = malloc(size);
	struct aml_dma_request *req = NULL;

	CHECK(src != NULL && back != NULL);
	pattern_fill(src, size, seed);
	memset(back, 0, size);
	CHECK_INT(copy(dma, NULL, first, src, size), AML_SUCCESS);
	CHECK_INT(copy(dma, NULL, second, first, size), AML_SUCCESS);
	CHECK_INT(copy(dma, &req, back, second, size), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	CHECK_INT(pattern_first_mismatch(back, size, seed), size);
	free(src);
	free(back);
}

/* Both ways between the devices at once: A -> B and B -> A on other
 * buffers, then each read back. */
static void both_ways(struct aml_dma *dma, uint8_t *a, uint8_t *b, size_t size, uint32_t seed)
{
	uint8_t *src = malloc(2 * size), *back = malloc(2 * size);
	struct aml_dma_request *req[2] = {NULL, NULL};

	CHECK(src != NULL && back != NULL);
	pattern_fill(src, size, seed);
	pattern_fill(src + size, size, seed + 1);
	CHECK_INT(copy(dma, NULL, a, src, size), AML_SUCCESS);
	CHECK_INT(copy(dma, NULL, b + size, src + size, size), AML_SUCCESS);
	CHECK_INT(copy(dma, &req[0], b, a, size), AML_SUCCESS);
	CHECK_INT(copy(dma, &req[1], a + size, b + size, size), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req[0]), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req[1]), AML_SUCCESS);
	CHECK_INT(copy(dma, NULL, back, b, size), AML_SUCCESS);
	CHECK_INT(copy(dma, NULL, back + size, a + size, size), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	CHECK_INT(pattern_first_mismatch(back, size, seed), size);
	CHECK_INT(pattern_first_mismatch(back + size, size, seed + 1), size);
	free(src);
	free(back);
}

/* A 2-D tile of 37 x 300 doubles out of a 64 x 512 array on A, into a
 * 40 x 301 array on B at an offset, compared with a host reference. */
static void tile_across(struct aml_dma *dma, ze_device_handle_t a, ze_device_handle_t b, uint32_t seed)
{
	const size_t elem = 8, src_dims[2] = {64, 512}, dst_dims[2] = {40, 301};
	const size_t tile_dims[2] = {37, 300}, src_at[2] = {5, 100}, dst_at[2] = {2, 1};
	const size_t src_bytes = elem * src_dims[0] * src_dims[1], dst_bytes = elem * dst_dims[0] * dst_dims[1];
	uint8_t *host = malloc(src_bytes), *ref = calloc(1, dst_bytes), *back = malloc(dst_bytes);
	uint8_t *on_a = alloc_on(a, src_bytes), *on_b = alloc_on(b, dst_bytes);
	struct aml_layout *src_layout, *dst_layout, *src_tile, *dst_tile;
	struct aml_dma_request *req = NULL;

	CHECK(host != NULL && ref != NULL && back != NULL);
	pattern_fill(host, src_bytes, seed);
	CHECK_INT(copy(dma, NULL, on_a, host, src_bytes), AML_SUCCESS);
	CHECK_INT(copy(dma, NULL, on_b, ref, dst_bytes), AML_SUCCESS);
	CHECK_INT(aml_layout_dense_create(&src_layout, on_a, AML_LAYOUT_ORDER_ROW_MAJOR, elem, 2, src_dims, NULL, NULL),
	          AML_SUCCESS);
	CHECK_INT(aml_layout_dense_create(&dst_layout, on_b, AML_LAYOUT_ORDER_ROW_MAJOR, elem, 2, dst_dims, NULL, NULL),
	          AML_SUCCESS);
	CHECK_INT(aml_layout_slice(src_layout, &src_tile, src_at, tile_dims, NULL), AML_SUCCESS);
	CHECK_INT(aml_layout_slice(dst_layout, &dst_tile, dst_at, tile_dims, NULL), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, dst_tile, src_tile, aml_dma_ze_copy_nd, NULL),
	          AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	CHECK_INT(copy(dma, &req, back, on_b, dst_bytes), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	for (size_t row = 0; row < tile_dims[0]; row++)
		memcpy(ref + elem * ((dst_at[0] + row) * dst_dims[1] + dst_at[1]),
		       host + elem * ((src_at[0] + row) * src_dims[1] + src_at[1]), elem * tile_dims[1]);
	for (size_t i = 0; i < dst_bytes; i++)
		if (back[i] != ref[i]) {
			fprintf(stderr, "tile on B differs at byte %zu: 0x%02x, expected 0x%02x\n", i, back[i], ref[i]);
			exit(CTEST_EXIT_FAIL);
		}
	aml_layout_destroy(&src_tile);
	aml_layout_destroy(&dst_tile);
	aml_layout_destroy(&src_layout);
	aml_layout_destroy(&dst_layout);
	CHECK_INT(zeMemFree(env.context, on_a), ZE_RESULT_SUCCESS);
	CHECK_INT(zeMemFree(env.context, on_b), ZE_RESULT_SUCCESS);
	free(host);
	free(ref);
	free(back);
}

/* The group with the most queues: where a dma over every queue spreads. */
static int widest_group(ze_device_handle_t device)
{
	ze_command_queue_group_properties_t groups[8];
	uint32_t count = 8;
	int best = 0;

	for (uint32_t i = 0; i < count; i++)
		groups[i] = (ze_command_queue_group_properties_t){.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_GROUP_PROPERTIES};
	CHECK_INT(zeDeviceGetCommandQueueGroupProperties(device, &count, groups), ZE_RESULT_SUCCESS);
	for (uint32_t i = 1; i < count; i++)
		if (groups[i].numQueues > groups[best].numQueues)
			best = (int)i;
	return best;
}

int main(void)
{
	ze_device_handle_t roots[2];
	uint32_t count = 2;
	ze_bool_t reach = 0;
	/* Small enough for valgrind, large enough to split at a 64 KiB threshold. */
	const size_t size = 3 * MiB + 4099;

	setenv("AML_DMA_ZE_SPLIT_BYTES", "64K", 0);
	ze_env_open(&env);
	CHECK_INT(zeDeviceGet(env.driver, &count, roots), ZE_RESULT_SUCCESS);
	if (count < 2)
		SKIP("needs two devices (set SWZE_DEVICES=2)");
	CHECK_INT(zeDeviceCanAccessPeer(roots[0], roots[1], &reach), ZE_RESULT_SUCCESS);
	if (!reach)
		SKIP("the driver says device 0 cannot reach device 1's memory");
	uint8_t *a = alloc_on(roots[0], 2 * size), *b = alloc_on(roots[1], 2 * size);

	struct aml_dma *on_a = NULL, *spread = NULL, *on_b = NULL;
	CHECK_INT(aml_dma_ze_create(&on_a, roots[0], ze_env_ordinal(), 0), AML_SUCCESS);
	chain(on_a, a, b, size, 1);
	chain(on_a, b, a, size, 2);
	both_ways(on_a, a, b, size, 3);
	tile_across(on_a, roots[0], roots[1], 4);

	CHECK_INT(aml_dma_ze_create(&spread, roots[0], widest_group(roots[0]), -1), AML_SUCCESS);
	chain(spread, a, b, size, 11);
	chain(spread, b, a, size, 12);
	both_ways(spread, a, b, size, 13);
	tile_across(spread, roots[0], roots[1], 14);

	/* B's dma reads what A's wrote: the memory is B's peer's. */
	CHECK_INT(aml_dma_ze_create(&on_b, roots[1], ze_env_ordinal(), 0), AML_SUCCESS);
	chain(on_b, a, a + size, size, 21);
	chain(on_b, b, a, size, 22);

	CHECK_INT(aml_dma_ze_destroy(&on_a), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_destroy(&spread), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_destroy(&on_b), AML_SUCCESS);
	CHECK_INT(zeMemFree(env.context, a), ZE_RESULT_SUCCESS);
	CHECK_INT(zeMemFree(env.context, b), ZE_RESULT_SUCCESS);
	ze_env_close(&env);
	return CTEST_EXIT_PASS;
}
