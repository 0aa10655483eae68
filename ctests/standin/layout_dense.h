/* AML's dense layouts for the suite, with AML's names: struct
 * aml_layout_dense, the ops tables aml_layout_row_ops and
 * aml_layout_column_ops, a create and a slice with the arguments of AML's
 * (facts from aml/layout/dense.h, docs/abi.md). The stand-in libaml and
 * libamldense.so export them, so the library under test finds the ops with
 * dlsym as it would find libaml's. */
#ifndef CTEST_LAYOUT_DENSE_H
#define CTEST_LAYOUT_DENSE_H

#include <stddef.h>
#include <aml/dma/ze.h>

#define AML_LAYOUT_ORDER_COLUMN_MAJOR 0
#define AML_LAYOUT_ORDER_ROW_MAJOR 1

/* Arrays in native order: index 0 varies fastest, whatever the order. */
struct aml_layout_dense {
	void *ptr;
	size_t ndims;
	size_t *dims;
	size_t *stride;
	size_t *cpitch;
};

extern struct aml_layout_ops aml_layout_row_ops;
extern struct aml_layout_ops aml_layout_column_ops;

/* dims, stride (NULL: 1) and pitch (NULL: dims) in the caller's order. */
int aml_layout_dense_create(struct aml_layout **layout, void *ptr, int order,
                            size_t element_size, size_t ndims,
                            const size_t *dims, const size_t *stride,
                            const size_t *pitch);
/* A view: offsets, dims and strides (NULL: 1) in the layout's order. */
int aml_layout_slice(const struct aml_layout *layout,
                     struct aml_layout **reshaped, const size_t *offsets,
                     const size_t *dims, const size_t *strides);
void *aml_layout_deref(const struct aml_layout *layout, const size_t *coords);
void aml_layout_destroy(struct aml_layout **layout);

#endif
