/* The header's layouts and constants against the numbers measured from AML's
 * own headers (docs/abi.md), and the live state of a created dma. */
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include <aml/dma/ze.h>

#include "check.h"
#include "ze_env.h"

#define ABI_SIZE(type, bytes) \
	_Static_assert(sizeof(type) == (bytes), "sizeof " #type)
#define ABI_FIELD(type, field, offset, bytes)                                 \
	_Static_assert(offsetof(type, field) == (offset),                     \
	               "offsetof " #type "." #field);                         \
	_Static_assert(sizeof(((type *)0)->field) == (bytes),                 \
	               "sizeof " #type "." #field)

ABI_SIZE(struct aml_dma_ze_data, 72);
_Static_assert(_Alignof(struct aml_dma_ze_data) == 8, "align ze_data");
ABI_FIELD(struct aml_dma_ze_data, context, 0, 8);
ABI_FIELD(struct aml_dma_ze_data, device, 8, 8);
ABI_FIELD(struct aml_dma_ze_data, command_list, 16, 8);
ABI_FIELD(struct aml_dma_ze_data, event_flags, 24, 4);
ABI_FIELD(struct aml_dma_ze_data, lock, 32, 40);
_Static_assert(sizeof(pthread_mutex_t) == 40, "glibc x86-64 mutex");

ABI_SIZE(struct aml_dma_ze_request, 24);
ABI_FIELD(struct aml_dma_ze_request, event, 0, 8);
ABI_FIELD(struct aml_dma_ze_request, pool, 8, 8);
ABI_FIELD(struct aml_dma_ze_request, flags, 16, 4);

ABI_SIZE(struct aml_dma_ze_copy_args, 24);
ABI_FIELD(struct aml_dma_ze_copy_args, ze_data, 0, 8);
ABI_FIELD(struct aml_dma_ze_copy_args, ze_req, 8, 8);
ABI_FIELD(struct aml_dma_ze_copy_args, arg, 16, 8);

ABI_SIZE(struct aml_dma, 16);
ABI_FIELD(struct aml_dma, ops, 0, 8);
ABI_FIELD(struct aml_dma, data, 8, 8);

ABI_SIZE(struct aml_dma_ops, 40);
ABI_FIELD(struct aml_dma_ops, create_request, 0, 8);
ABI_FIELD(struct aml_dma_ops, destroy_request, 8, 8);
ABI_FIELD(struct aml_dma_ops, wait_request, 16, 8);
ABI_FIELD(struct aml_dma_ops, barrier, 24, 8);
ABI_FIELD(struct aml_dma_ops, fprintf, 32, 8);

ABI_SIZE(struct aml_layout, 16);
ABI_FIELD(struct aml_layout, ops, 0, 8);
ABI_FIELD(struct aml_layout, data, 8, 8);

ABI_SIZE(struct aml_layout_ops, 112);
ABI_FIELD(struct aml_layout_ops, deref, 0, 8);
ABI_FIELD(struct aml_layout_ops, deref_native, 8, 8);
ABI_FIELD(struct aml_layout_ops, rawptr, 16, 8);
ABI_FIELD(struct aml_layout_ops, order, 24, 8);
ABI_FIELD(struct aml_layout_ops, dims, 32, 8);
ABI_FIELD(struct aml_layout_ops, dims_native, 40, 8);
ABI_FIELD(struct aml_layout_ops, ndims, 48, 8);
ABI_FIELD(struct aml_layout_ops, element_size, 56, 8);
ABI_FIELD(struct aml_layout_ops, reshape, 64, 8);
ABI_FIELD(struct aml_layout_ops, slice, 72, 8);
ABI_FIELD(struct aml_layout_ops, slice_native, 80, 8);
ABI_FIELD(struct aml_layout_ops, fprintf, 88, 8);
ABI_FIELD(struct aml_layout_ops, duplicate, 96, 8);
ABI_FIELD(struct aml_layout_ops, destroy, 104, 8);

_Static_assert(AML_DMA_ZE_REQUEST_FLAGS_PENDING == 0, "PENDING");
_Static_assert(AML_DMA_ZE_REQUEST_FLAGS_DONE == 1, "DONE");
_Static_assert(AML_SUCCESS == 0, "AML_SUCCESS");
_Static_assert(AML_FAILURE == 1, "AML_FAILURE");
_Static_assert(AML_ENOMEM == 2, "AML_ENOMEM");
_Static_assert(AML_EINVAL == 3, "AML_EINVAL");
_Static_assert(AML_EDOM == 4, "AML_EDOM");
_Static_assert(AML_ENOTSUP == 5, "AML_ENOTSUP");
_Static_assert(AML_EBUSY == 6, "AML_EBUSY");
_Static_assert(AML_EPERM == 7, "AML_EPERM");
_Static_assert(AML_ERROR_MAX == 8, "AML_ERROR_MAX");

/* The signatures of the seed document: assigning to these pointer types fails
 * to compile if the header declares anything else. */
static int (*const create_fn)(struct aml_dma **, ze_device_handle_t, int,
                              int) = aml_dma_ze_create;
static int (*const destroy_fn)(struct aml_dma **) = aml_dma_ze_destroy;
static int (*const barrier_fn)(struct aml_dma_data *) = aml_dma_ze_barrier;
static int (*const request_create_fn)(struct aml_dma_data *,
                                      struct aml_dma_request **,
                                      struct aml_layout *, struct aml_layout *,
                                      aml_dma_operator,
                                      void *) = aml_dma_ze_request_create;
static int (*const request_wait_fn)(struct aml_dma_data *,
                                    struct aml_dma_request **) =
        aml_dma_ze_request_wait;
static int (*const request_destroy_fn)(struct aml_dma_data *,
                                       struct aml_dma_request **) =
        aml_dma_ze_request_destroy;
static const aml_dma_operator copy_1d_fn = aml_dma_ze_copy_1D;
static const aml_dma_operator memcpy_op_fn = aml_dma_ze_memcpy_op;
static struct aml_dma **const default_dma_var = &aml_dma_ze_default;
static struct aml_dma_ops *const ops_var = &aml_dma_ze_ops;

static void check_ops_table(void)
{
	CHECK(ops_var->create_request == request_create_fn);
	CHECK(ops_var->destroy_request == request_destroy_fn);
	CHECK(ops_var->wait_request == request_wait_fn);
	CHECK(ops_var->barrier == barrier_fn);
	CHECK(copy_1d_fn != memcpy_op_fn);
}

static void check_created_dma(struct ze_env *env)
{
	struct aml_dma *dma = NULL;

	CHECK(*default_dma_var == NULL);
	CHECK_INT(create_fn(&dma, env->device, 0, 0), AML_SUCCESS);
	CHECK(dma != NULL);
	CHECK(dma->ops == &aml_dma_ze_ops);
	CHECK(dma->data != NULL);

	struct aml_dma_ze_data *data = (struct aml_dma_ze_data *)dma->data;
	CHECK(data->device == env->device);
	CHECK(data->context != NULL);
	CHECK(data->command_list != NULL);

	/* The context is live: the driver creates an event pool in it. */
	ze_event_pool_desc_t pool_desc = {
	        .stype = ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
	        .flags = ZE_EVENT_POOL_FLAG_HOST_VISIBLE,
	        .count = 1,
	};
	ze_event_pool_handle_t pool = NULL;
	CHECK_INT(zeEventPoolCreate(data->context, &pool_desc, 1, &data->device,
	                            &pool),
	          ZE_RESULT_SUCCESS);
	CHECK_INT(zeEventPoolDestroy(pool), ZE_RESULT_SUCCESS);

	/* Our device is a root device: upstream picks HOST|DEVICE scope. */
	ze_device_properties_t props = {
	        .stype = ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES};
	CHECK_INT(zeDeviceGetProperties(env->device, &props),
	          ZE_RESULT_SUCCESS);
	ze_event_scope_flags_t expected =
	        ZE_EVENT_SCOPE_FLAG_HOST |
	        ((props.flags & ZE_DEVICE_PROPERTY_FLAG_SUBDEVICE)
	                 ? ZE_EVENT_SCOPE_FLAG_SUBDEVICE
	                 : ZE_EVENT_SCOPE_FLAG_DEVICE);
	CHECK_INT(data->event_flags, expected);

	/* lock is the initialised mutex that serialises appends. */
	CHECK_INT(pthread_mutex_trylock(&data->lock), 0);
	CHECK_INT(pthread_mutex_unlock(&data->lock), 0);

	CHECK_INT(destroy_fn(&dma), AML_SUCCESS);
	CHECK(dma == NULL);
}

int main(void)
{
	struct ze_env env;

	check_ops_table();
	ze_env_open(&env);
	check_created_dma(&env);
	ze_env_close(&env);
	return CTEST_EXIT_PASS;
}
