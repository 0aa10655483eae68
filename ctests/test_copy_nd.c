/* aml_dma_ze_copy_nd (and op == NULL) on AML's dense layouts, from the
 * stand-in's layout_dense.c: 2-D and 3-D tiles sliced out of larger arrays,
 * row- and column-major, host -> device -> host and device -> device, each
 * verified element by element, with every byte outside the tile untouched,
 * against a host reference copy; edge shapes, element sizes 1, 8 and 24, an
 * innermost stride, pitch equal to dims, 4-D and 5-D, row- to column-major,
 * refusals, fire-and-forget copies seen by a barrier. The driver's call
 * counters check what each request appends: a 2-D or 3-D tile is one
 * region. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/dma/ze.h>

#include "check.h"
#include "dense_layout.h"
#include "driver_ctl.h"
#include "layout_dense.h"
#include "pattern.h"
#include "ze_env.h"

#define MAXD 5

static struct ze_env env;
static struct aml_dma *dma;

/* An array in host or device memory and its dense layout. */
struct array {
	uint8_t *buf;
	size_t bytes;
	int device;
	struct aml_layout *layout;
};

static void array_new(struct array *a, int device, int order, size_t elem,
                      size_t ndims, const size_t *dims)
{
	a->bytes = elem;
	for (size_t i = 0; i < ndims; i++)
		a->bytes *= dims[i];
	a->device = device;
	a->buf = device ? ze_env_device_alloc(&env, a->bytes) : calloc(1, a->bytes);
	CHECK(a->buf != NULL);
	CHECK_INT(aml_layout_dense_create(&a->layout, a->buf, order, elem, ndims,
	                                  dims, NULL, NULL),
	          AML_SUCCESS);
}

static void array_free(struct array *a)
{
	aml_layout_destroy(&a->layout);
	if (a->device)
		ze_env_device_free(&env, a->buf);
	else
		free(a->buf);
}

static void memcpy_sync(void *dst, void *src, size_t size)
{
	struct aml_dma_request *req = NULL;

	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, dst, src,
	                                    aml_dma_ze_memcpy_op, (void *)size),
	          AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
}

struct counts {
	uint64_t region, copy, barrier;
};

static struct counts counts_now(void)
{
	struct counts c = {driver_calls("zeCommandListAppendMemoryCopyRegion"),
	                   driver_calls("zeCommandListAppendMemoryCopy"),
	                   driver_calls("zeCommandListAppendBarrier")};
	return c;
}

/* One synchronous copy_nd request; returns what it appended. */
static struct counts copy_nd(struct aml_layout *dst, struct aml_layout *src,
                             int by_null)
{
	struct aml_dma_request *req = NULL;
	struct counts before = counts_now(), after;

	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, dst, src,
	                                    by_null ? NULL : aml_dma_ze_copy_nd,
	                                    NULL),
	          AML_SUCCESS);
	after = counts_now();
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	after.region -= before.region;
	after.copy -= before.copy;
	after.barrier -= before.barrier;
	return after;
}

static size_t layout_dims(const struct aml_layout *l, size_t *dims)
{
	size_t n = l->ops->ndims(l->data);

	CHECK(n <= MAXD);
	CHECK_INT(l->ops->dims(l->data, dims), AML_SUCCESS);
	return n;
}

/* The host reference: every element of src (host) into dst (host), one
 * memcpy per element, by logical coordinates. */
static void reference_copy(struct aml_layout *dst, struct aml_layout *src)
{
	size_t dims[MAXD], c[MAXD] = {0};
	size_t n = layout_dims(src, dims), elem = src->ops->element_size(src->data);

	for (size_t i = 0; i < n; i++)
		if (dims[i] == 0)
			return;
	for (;;) {
		memcpy(aml_layout_deref(dst, c), aml_layout_deref(src, c), elem);
		size_t level = n;
		while (level-- > 0) {
			if (++c[level] < dims[level])
				break;
			c[level] = 0;
		}
		if (level == (size_t)-1)
			return;
	}
}

static void check_bytes(const uint8_t *got, const uint8_t *want, size_t bytes)
{
	for (size_t i = 0; i < bytes; i++)
		if (got[i] != want[i]) {
			fprintf(stderr, "byte %zu: %u instead of %u\n", i,
			        got[i], want[i]);
			CHECK(got[i] == want[i]);
		}
}

/* A tile: `dims` at `offsets` (strides `strides`, NULL = 1) of a parent of
 * `pdims`, moved host parent -> packed device tile -> second host parent
 * (at `offsets2`) and packed device -> device parent -> host. Every request
 * appends `want_regions` regions and nothing else (0: one plain copy). */
struct tile_case {
	int order;
	size_t elem, ndims;
	size_t pdims[MAXD], offsets[MAXD], dims[MAXD], strides[MAXD], offsets2[MAXD];
	uint64_t want_regions;
};

static void tile(const struct tile_case *t, uint32_t seed)
{
	struct array src_parent, dst_parent, ref_parent, device_tile, device_parent;
	struct aml_layout *src_tile, *dst_tile, *ref_tile, *dev_tile;
	const size_t *strides = t->strides[0] ? t->strides : NULL;

	array_new(&src_parent, 0, t->order, t->elem, t->ndims, t->pdims);
	array_new(&dst_parent, 0, t->order, t->elem, t->ndims, t->pdims);
	array_new(&ref_parent, 0, t->order, t->elem, t->ndims, t->pdims);
	array_new(&device_tile, 1, t->order, t->elem, t->ndims, t->dims);
	array_new(&device_parent, 1, t->order, t->elem, t->ndims, t->pdims);
	pattern_fill(src_parent.buf, src_parent.bytes, seed);
	pattern_fill(dst_parent.buf, dst_parent.bytes, seed + 1000);
	memcpy(ref_parent.buf, dst_parent.buf, dst_parent.bytes);
	CHECK_INT(aml_layout_slice(src_parent.layout, &src_tile, t->offsets,
	                           t->dims, strides),
	          AML_SUCCESS);
	CHECK_INT(aml_layout_slice(dst_parent.layout, &dst_tile, t->offsets2,
	                           t->dims, NULL),
	          AML_SUCCESS);
	CHECK_INT(aml_layout_slice(ref_parent.layout, &ref_tile, t->offsets2,
	                           t->dims, NULL),
	          AML_SUCCESS);
	CHECK_INT(aml_layout_slice(device_parent.layout, &dev_tile, t->offsets2,
	                           t->dims, NULL),
	          AML_SUCCESS);
	reference_copy(ref_tile, src_tile);

	/* host -> device -> host */
	struct counts c = copy_nd(device_tile.layout, src_tile, 1);
	CHECK_INT(c.region, t->want_regions);
	CHECK_INT(c.copy, t->want_regions ? 0 : 1);
	CHECK_INT(c.barrier, 0);
	c = copy_nd(dst_tile, device_tile.layout, 0);
	CHECK_INT(c.region + c.copy, 1);
	check_bytes(dst_parent.buf, ref_parent.buf, dst_parent.bytes);

	/* device -> device, then the whole device parent back to the host */
	pattern_fill(ref_parent.buf, ref_parent.bytes, seed + 2000);
	memcpy_sync(device_parent.buf, ref_parent.buf, ref_parent.bytes);
	reference_copy(ref_tile, src_tile);
	c = copy_nd(dev_tile, device_tile.layout, 1);
	CHECK_INT(c.region + c.copy, 1);
	memcpy_sync(dst_parent.buf, device_parent.buf, dst_parent.bytes);
	check_bytes(dst_parent.buf, ref_parent.buf, dst_parent.bytes);

	aml_layout_destroy(&src_tile);
	aml_layout_destroy(&dst_tile);
	aml_layout_destroy(&ref_tile);
	aml_layout_destroy(&dev_tile);
	array_free(&src_parent);
	array_free(&dst_parent);
	array_free(&ref_parent);
	array_free(&device_tile);
	array_free(&device_parent);
}

#define ROW AML_LAYOUT_ORDER_ROW_MAJOR
#define COL AML_LAYOUT_ORDER_COLUMN_MAJOR

static const struct tile_case tiles[] = {
        /* 2-D tiles, row- and column-major, element sizes 1, 8, 24 */
        {ROW, 1, 2, {40, 64}, {3, 5}, {17, 29}, {0}, {10, 20}, 1},
        {ROW, 8, 2, {40, 64}, {3, 5}, {17, 29}, {0}, {1, 0}, 1},
        {ROW, 24, 2, {21, 13}, {2, 1}, {9, 7}, {0}, {11, 5}, 1},
        {COL, 8, 2, {40, 64}, {3, 5}, {17, 29}, {0}, {20, 30}, 1},
        {COL, 24, 2, {13, 21}, {1, 2}, {7, 9}, {0}, {5, 11}, 1},
        /* 3-D blocks */
        {ROW, 8, 3, {9, 10, 11}, {1, 2, 3}, {4, 5, 6}, {0}, {5, 4, 2}, 1},
        {COL, 1, 3, {9, 10, 11}, {1, 2, 3}, {4, 5, 6}, {0}, {0, 0, 0}, 1},
        {ROW, 24, 3, {5, 6, 7}, {0, 1, 1}, {3, 4, 5}, {0}, {1, 2, 2}, 1},
        /* edge shapes: 1 x N, N x 1, 1 x 1 */
        {ROW, 8, 2, {16, 32}, {3, 4}, {1, 20}, {0}, {9, 0}, 0},
        {ROW, 8, 2, {16, 32}, {3, 4}, {12, 1}, {0}, {1, 30}, 1},
        {ROW, 24, 2, {16, 32}, {3, 4}, {1, 1}, {0}, {15, 31}, 0},
        /* a stride of 2 in the innermost dimension (and in both) */
        {ROW, 8, 2, {16, 32}, {1, 1}, {6, 12}, {1, 2}, {2, 3}, 1},
        {COL, 1, 2, {32, 16}, {1, 1}, {12, 6}, {2, 2}, {0, 3}, 1},
        /* pitch equal to dims: the whole array is one plain copy */
        {ROW, 8, 2, {16, 32}, {0, 0}, {16, 32}, {0}, {0, 0}, 0},
        {COL, 8, 3, {4, 5, 6}, {0, 0, 0}, {4, 5, 6}, {0}, {0, 0, 0}, 0},
};

/* 4-D and 5-D tiles: regions loop over the outer dimensions, and a barrier
 * signals the request. */
static void high_dimensional(int ndims, uint32_t seed)
{
	size_t pdims[MAXD] = {3, 4, 5, 6, 7}, dims[MAXD] = {2, 3, 4, 2, 5},
	       offsets[MAXD] = {1, 1, 1, 2, 1};
	struct array src, dst, ref, device;
	struct aml_layout *src_tile;
	size_t loops = ndims == 4 ? 2 : 2 * 3;

	if (ndims == 4) {
		/* drop the first dimension */
		memmove(pdims, pdims + 1, 4 * sizeof(size_t));
		memmove(dims, dims + 1, 4 * sizeof(size_t));
		memmove(offsets, offsets + 1, 4 * sizeof(size_t));
		loops = 3;
	}
	array_new(&src, 0, ROW, 8, ndims, pdims);
	array_new(&device, 1, ROW, 8, ndims, dims);
	array_new(&dst, 0, ROW, 8, ndims, dims);
	array_new(&ref, 0, ROW, 8, ndims, dims);
	pattern_fill(src.buf, src.bytes, seed);
	CHECK_INT(aml_layout_slice(src.layout, &src_tile, offsets, dims, NULL),
	          AML_SUCCESS);
	reference_copy(ref.layout, src_tile);
	struct counts c = copy_nd(device.layout, src_tile, 1);
	CHECK_INT(c.region, loops);
	CHECK_INT(c.barrier, 1);
	CHECK_INT(c.copy, 0);
	c = copy_nd(dst.layout, device.layout, 1);
	CHECK_INT(c.region + c.copy, 1);
	check_bytes(dst.buf, ref.buf, dst.bytes);
	aml_layout_destroy(&src_tile);
	array_free(&src);
	array_free(&dst);
	array_free(&ref);
	array_free(&device);
}

/* Row-major to column-major of the same shape: a transpose in memory. */
static void transpose(void)
{
	size_t dims[2] = {33, 17};
	struct array src, device, dst, ref;

	array_new(&src, 0, ROW, 8, 2, dims);
	array_new(&device, 1, COL, 8, 2, dims);
	array_new(&dst, 0, ROW, 8, 2, dims);
	array_new(&ref, 0, COL, 8, 2, dims);
	pattern_fill(src.buf, src.bytes, 9);
	reference_copy(ref.layout, src.layout);
	copy_nd(device.layout, src.layout, 1);
	/* back to row-major through the device column-major copy */
	copy_nd(dst.layout, device.layout, 0);
	check_bytes(dst.buf, src.buf, src.bytes);
	/* and the column-major bytes themselves */
	memcpy_sync(dst.buf, device.buf, device.bytes);
	check_bytes(dst.buf, ref.buf, ref.bytes);
	array_free(&src);
	array_free(&device);
	array_free(&dst);
	array_free(&ref);
}

static void expect_refused(struct aml_layout *dst, struct aml_layout *src,
                           int expected, const uint8_t *dst_bytes,
                           const uint8_t *before, size_t size)
{
	struct aml_dma_request *req = NULL;
	struct counts c0 = counts_now(), c1;

	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, dst, src, NULL,
	                                    NULL),
	          expected);
	CHECK(req == NULL);
	CHECK_INT(aml_dma_ze_request_create(dma->data, NULL, dst, src,
	                                    aml_dma_ze_copy_nd, NULL),
	          expected);
	c1 = counts_now();
	CHECK_INT(c1.region - c0.region, 0);
	CHECK_INT(c1.copy - c0.copy, 0);
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	check_bytes(dst_bytes, before, size);
}

static void refusals(void)
{
	size_t d88[2] = {8, 8}, d84[2] = {8, 4}, d888[3] = {8, 8, 1};
	struct array a, b, c, e, f;
	uint8_t zero[8 * 8 * 8] = {0};

	array_new(&a, 0, ROW, 8, 2, d88);
	array_new(&b, 0, ROW, 8, 2, d84);
	array_new(&c, 0, ROW, 4, 2, d88);
	array_new(&e, 0, ROW, 8, 3, d888);
	array_new(&f, 0, COL, 8, 2, d88);
	pattern_fill(a.buf, a.bytes, 5);
	/* shapes, element sizes, dimension counts that differ */
	expect_refused(b.layout, a.layout, -AML_EINVAL, b.buf, zero, b.bytes);
	expect_refused(c.layout, a.layout, -AML_EINVAL, c.buf, zero, c.bytes);
	expect_refused(e.layout, a.layout, -AML_EINVAL, e.buf, zero, e.bytes);
	/* a layout of an unknown kind that is not 1-D */
	struct dense_layout custom;
	dense_layout_init(&custom, f.buf, 8, 2, d88);
	expect_refused(&custom.layout, a.layout, -AML_ENOTSUP, f.buf, zero,
	               f.bytes);
	uint8_t before[8 * 8 * 8];
	memcpy(before, a.buf, a.bytes);
	expect_refused(a.layout, &custom.layout, -AML_ENOTSUP, a.buf, before,
	               a.bytes);
	/* overlapping tiles of one array */
	struct aml_layout *t1, *t2;
	size_t o1[2] = {0, 0}, o2[2] = {1, 1}, td[2] = {4, 4};
	CHECK_INT(aml_layout_slice(a.layout, &t1, o1, td, NULL), AML_SUCCESS);
	CHECK_INT(aml_layout_slice(a.layout, &t2, o2, td, NULL), AML_SUCCESS);
	expect_refused(t2, t1, -AML_EDOM, a.buf, before, a.bytes);
	aml_layout_destroy(&t1);
	aml_layout_destroy(&t2);
	/* NULL layouts */
	expect_refused(NULL, a.layout, -AML_EINVAL, f.buf, zero, f.bytes);
	/* a 1-D layout of another kind still copies (today's path) */
	size_t n = 64, d1[1] = {64};
	struct array g;
	array_new(&g, 0, ROW, 8, 1, d1);
	dense_layout_1d(&custom, f.buf, 8, n);
	struct counts k = copy_nd(g.layout, &custom.layout, 1);
	CHECK_INT(k.copy, 1);
	array_free(&g);
	array_free(&a);
	array_free(&b);
	array_free(&c);
	array_free(&e);
	array_free(&f);
}

/* Fire-and-forget N-D copies, observed by one barrier. */
static void fire_and_forget(void)
{
	enum { N = 16 };
	size_t pdims[2] = {64, 96}, tdims[2] = {20, 30};
	struct array src, dst[N];
	struct aml_layout *tiles_[N];

	array_new(&src, 0, ROW, 8, 2, pdims);
	pattern_fill(src.buf, src.bytes, 77);
	for (size_t i = 0; i < N; i++) {
		size_t off[2] = {i * 2, i * 3};
		array_new(&dst[i], 1, ROW, 8, 2, tdims);
		CHECK_INT(aml_layout_slice(src.layout, &tiles_[i], off, tdims,
		                           NULL),
		          AML_SUCCESS);
		CHECK_INT(aml_dma_ze_request_create(dma->data, NULL,
		                                    dst[i].layout, tiles_[i],
		                                    NULL, NULL),
		          AML_SUCCESS);
	}
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	for (size_t i = 0; i < N; i++) {
		struct array host, ref;
		array_new(&host, 0, ROW, 8, 2, tdims);
		array_new(&ref, 0, ROW, 8, 2, tdims);
		reference_copy(ref.layout, tiles_[i]);
		memcpy_sync(host.buf, dst[i].buf, host.bytes);
		check_bytes(host.buf, ref.buf, ref.bytes);
		array_free(&host);
		array_free(&ref);
		aml_layout_destroy(&tiles_[i]);
		array_free(&dst[i]);
	}
	array_free(&src);
}

int main(void)
{
	ze_env_open(&env);
	driver_ctl_load();
	CHECK_INT(aml_dma_ze_create(&dma, env.device, 0, 0), AML_SUCCESS);
	for (size_t i = 0; i < sizeof(tiles) / sizeof(tiles[0]); i++)
		tile(&tiles[i], (uint32_t)i + 1);
	high_dimensional(4, 41);
	high_dimensional(5, 51);
	transpose();
	refusals();
	fire_and_forget();
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	ze_env_close(&env);
	return CTEST_EXIT_PASS;
}
