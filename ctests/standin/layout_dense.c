/* The stand-in's dense layouts: see layout_dense.h. */
#include "layout_dense.h"

#include <stdint.h>
#include <stdlib.h>

static struct aml_layout_dense *dense(const struct aml_layout_data *data)
{
	return (struct aml_layout_dense *)data;
}

static int is_row_major(const struct aml_layout *layout)
{
	return layout->ops == &aml_layout_row_ops;
}

/* One block: the layout, its dense data, then dims, stride, cpitch. */
static struct aml_layout *dense_alloc(size_t ndims, struct aml_layout_ops *ops)
{
	struct aml_layout *l = calloc(1, sizeof(*l) + sizeof(struct aml_layout_dense) +
	                                         3 * ndims * sizeof(size_t));
	if (l == NULL)
		return NULL;
	struct aml_layout_dense *d = (struct aml_layout_dense *)(l + 1);
	size_t *arrays = (size_t *)(d + 1);

	d->ndims = ndims;
	d->dims = arrays;
	d->stride = arrays + ndims;
	d->cpitch = arrays + 2 * ndims;
	l->ops = ops;
	l->data = (struct aml_layout_data *)d;
	return l;
}

/* The caller's index i in native order. */
static size_t native(int row_major, size_t ndims, size_t i)
{
	return row_major ? ndims - 1 - i : i;
}

int aml_layout_dense_create(struct aml_layout **layout, void *ptr, int order,
                            size_t element_size, size_t ndims,
                            const size_t *dims, const size_t *stride,
                            const size_t *pitch)
{
	if (layout == NULL || dims == NULL || ndims == 0 || element_size == 0)
		return -AML_EINVAL;
	int row = (order & 1) == AML_LAYOUT_ORDER_ROW_MAJOR;
	struct aml_layout *l =
	        dense_alloc(ndims, row ? &aml_layout_row_ops : &aml_layout_column_ops);
	if (l == NULL)
		return -AML_ENOMEM;
	struct aml_layout_dense *d = dense(l->data);

	d->ptr = ptr;
	for (size_t i = 0; i < ndims; i++) {
		size_t n = native(row, ndims, i);
		d->dims[n] = dims[i];
		d->stride[n] = stride ? stride[i] : 1;
	}
	d->cpitch[0] = element_size;
	for (size_t n = 1; n < ndims; n++) {
		size_t p = pitch ? pitch[native(row, ndims, n - 1)] : d->dims[n - 1];
		d->cpitch[n] = d->cpitch[n - 1] * p;
	}
	*layout = l;
	return AML_SUCCESS;
}

static void *deref_native(const struct aml_layout_data *data, const size_t *c)
{
	const struct aml_layout_dense *d = dense(data);
	uintptr_t p = (uintptr_t)d->ptr;

	for (size_t i = 0; i < d->ndims; i++)
		p += c[i] * d->stride[i] * d->cpitch[i];
	return (void *)p;
}

void *aml_layout_deref(const struct aml_layout *layout, const size_t *coords)
{
	const struct aml_layout_dense *d = dense(layout->data);
	size_t c[16];

	if (d->ndims > 16)
		return NULL;
	for (size_t i = 0; i < d->ndims; i++)
		c[native(is_row_major(layout), d->ndims, i)] = coords[i];
	return deref_native(layout->data, c);
}

int aml_layout_slice(const struct aml_layout *layout,
                     struct aml_layout **reshaped, const size_t *offsets,
                     const size_t *dims, const size_t *strides)
{
	if (layout == NULL || reshaped == NULL || offsets == NULL || dims == NULL)
		return -AML_EINVAL;
	const struct aml_layout_dense *d = dense(layout->data);
	int row = is_row_major(layout);
	struct aml_layout *l = dense_alloc(d->ndims, layout->ops);
	if (l == NULL)
		return -AML_ENOMEM;
	struct aml_layout_dense *s = dense(l->data);

	s->ptr = aml_layout_deref(layout, offsets);
	for (size_t i = 0; i < d->ndims; i++) {
		size_t n = native(row, d->ndims, i);
		s->dims[n] = dims[i];
		s->stride[n] = d->stride[n] * (strides ? strides[i] : 1);
		s->cpitch[n] = d->cpitch[n];
	}
	*reshaped = l;
	return AML_SUCCESS;
}

void aml_layout_destroy(struct aml_layout **layout)
{
	if (layout != NULL) {
		free(*layout);
		*layout = NULL;
	}
}

static void *dense_rawptr(const struct aml_layout_data *data)
{
	return dense(data)->ptr;
}

static int dense_dims_native(const struct aml_layout_data *data, size_t *dims)
{
	for (size_t i = 0; i < dense(data)->ndims; i++)
		dims[i] = dense(data)->dims[i];
	return AML_SUCCESS;
}

static int dense_dims_reversed(const struct aml_layout_data *data, size_t *dims)
{
	size_t n = dense(data)->ndims;

	for (size_t i = 0; i < n; i++)
		dims[i] = dense(data)->dims[n - 1 - i];
	return AML_SUCCESS;
}

static size_t dense_ndims(const struct aml_layout_data *data)
{
	return dense(data)->ndims;
}

static size_t dense_element_size(const struct aml_layout_data *data)
{
	return dense(data)->cpitch[0];
}

static int order_row(const struct aml_layout_data *data)
{
	(void)data;
	return AML_LAYOUT_ORDER_ROW_MAJOR;
}

static int order_column(const struct aml_layout_data *data)
{
	(void)data;
	return AML_LAYOUT_ORDER_COLUMN_MAJOR;
}

struct aml_layout_ops aml_layout_row_ops = {
        .deref_native = deref_native,
        .rawptr = dense_rawptr,
        .order = order_row,
        .dims = dense_dims_reversed,
        .dims_native = dense_dims_native,
        .ndims = dense_ndims,
        .element_size = dense_element_size,
};

struct aml_layout_ops aml_layout_column_ops = {
        .deref_native = deref_native,
        .rawptr = dense_rawptr,
        .order = order_column,
        .dims = dense_dims_native,
        .dims_native = dense_dims_native,
        .ndims = dense_ndims,
        .element_size = dense_element_size,
};
