#include "dense_layout.h"

#include <stdatomic.h>

#include "check.h"

/* AML_LAYOUT_ORDER_FORTRAN in aml.h: dims are stored last dimension first. */
#define DENSE_LAYOUT_ORDER_FORTRAN 1

static atomic_size_t op_calls;

static const struct dense_layout_data *
dense_data(const struct aml_layout_data *data)
{
	atomic_fetch_add(&op_calls, 1);
	return (const struct dense_layout_data *)data;
}

static void *dense_rawptr(const struct aml_layout_data *data)
{
	return dense_data(data)->ptr;
}

static int dense_order(const struct aml_layout_data *data)
{
	(void)dense_data(data);
	return DENSE_LAYOUT_ORDER_FORTRAN;
}

static int dense_dims(const struct aml_layout_data *data, size_t *dims)
{
	const struct dense_layout_data *d = dense_data(data);

	for (size_t i = 0; i < d->ndims; i++)
		dims[i] = d->dims[i];
	return AML_SUCCESS;
}

static size_t dense_ndims(const struct aml_layout_data *data)
{
	return dense_data(data)->ndims;
}

static size_t dense_element_size(const struct aml_layout_data *data)
{
	return dense_data(data)->element_size;
}

static struct aml_layout_ops dense_layout_ops = {
        .deref = NULL,
        .deref_native = NULL,
        .rawptr = dense_rawptr,
        .order = dense_order,
        .dims = dense_dims,
        .dims_native = dense_dims,
        .ndims = dense_ndims,
        .element_size = dense_element_size,
        .reshape = NULL,
        .slice = NULL,
        .slice_native = NULL,
        .fprintf = NULL,
        .duplicate = NULL,
        .destroy = NULL,
};

struct aml_layout *dense_layout_init(struct dense_layout *dl, void *ptr,
                                     size_t element_size, size_t ndims,
                                     const size_t *dims)
{
	CHECK(ndims >= 1 && ndims <= DENSE_LAYOUT_MAX_DIMS);
	dl->data.ptr = ptr;
	dl->data.element_size = element_size;
	dl->data.ndims = ndims;
	for (size_t i = 0; i < ndims; i++)
		dl->data.dims[i] = dims[i];
	dl->layout.ops = &dense_layout_ops;
	dl->layout.data = (struct aml_layout_data *)&dl->data;
	return &dl->layout;
}

struct aml_layout *dense_layout_1d(struct dense_layout *dl, void *ptr,
                                   size_t element_size, size_t count)
{
	return dense_layout_init(dl, ptr, element_size, 1, &count);
}

size_t dense_layout_op_calls(void)
{
	return atomic_load(&op_calls);
}
