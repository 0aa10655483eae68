/* A dense, contiguous layout written in C with its own aml_layout_ops: what a
 * program without libaml's layout code hands to aml_dma_ze_copy_1D. Only the
 * ops the copy needs are filled (rawptr, order, dims, dims_native, ndims,
 * element_size); the others stay NULL, so a library that calls anything else
 * crashes the test instead of passing by accident. */
#ifndef CTEST_DENSE_LAYOUT_H
#define CTEST_DENSE_LAYOUT_H

#include <stddef.h>
#include <aml/dma/ze.h>

#define DENSE_LAYOUT_MAX_DIMS 4

struct dense_layout_data {
	void *ptr;
	size_t element_size;
	size_t ndims;
	size_t dims[DENSE_LAYOUT_MAX_DIMS];
};

struct dense_layout {
	struct aml_layout layout;
	struct dense_layout_data data;
};

/* Returns &dl->layout, ready to pass to the dma. */
struct aml_layout *dense_layout_init(struct dense_layout *dl, void *ptr,
                                     size_t element_size, size_t ndims,
                                     const size_t *dims);
struct aml_layout *dense_layout_1d(struct dense_layout *dl, void *ptr,
                                   size_t element_size, size_t count);
/* How many times the library called each op on any dense layout. */
size_t dense_layout_op_calls(void);

#endif
