/* A stand-in for libaml built by the suite: it defines the same
 * aml_dma_ze_* symbols as libaml (each returning STANDIN_SENTINEL) and an init
 * that calls aml_dma_ze_create(&aml_dma_ze_default, first_device, 0, 0) the
 * way libaml's aml_backend_ze_init does. Whichever definition the dynamic
 * linker binds first is the one that runs, here as in libaml. */
#include "standin.h"

#include <level_zero/ze_api.h>

int aml_dma_ze_create(struct aml_dma **dma, ze_device_handle_t device,
                      int ordinal, int index)
{
	(void)dma;
	(void)device;
	(void)ordinal;
	(void)index;
	return STANDIN_SENTINEL;
}

int aml_dma_ze_destroy(struct aml_dma **dma)
{
	(void)dma;
	return STANDIN_SENTINEL;
}

int aml_dma_ze_barrier(struct aml_dma_data *data)
{
	(void)data;
	return STANDIN_SENTINEL;
}

int aml_dma_ze_request_create(struct aml_dma_data *data,
                              struct aml_dma_request **req,
                              struct aml_layout *dest, struct aml_layout *src,
                              aml_dma_operator op, void *op_arg)
{
	(void)data;
	(void)req;
	(void)dest;
	(void)src;
	(void)op;
	(void)op_arg;
	return STANDIN_SENTINEL;
}

int aml_dma_ze_request_wait(struct aml_dma_data *data,
                            struct aml_dma_request **req)
{
	(void)data;
	(void)req;
	return STANDIN_SENTINEL;
}

int aml_dma_ze_request_destroy(struct aml_dma_data *data,
                               struct aml_dma_request **req)
{
	(void)data;
	(void)req;
	return STANDIN_SENTINEL;
}

int aml_dma_ze_copy_1D(struct aml_layout *dst, const struct aml_layout *src,
                       void *arg)
{
	(void)dst;
	(void)src;
	(void)arg;
	return STANDIN_SENTINEL;
}

int aml_dma_ze_memcpy_op(struct aml_layout *dst, const struct aml_layout *src,
                         void *arg)
{
	(void)dst;
	(void)src;
	(void)arg;
	return STANDIN_SENTINEL;
}

struct aml_dma_ops aml_dma_ze_ops = {
        .create_request = aml_dma_ze_request_create,
        .destroy_request = aml_dma_ze_request_destroy,
        .wait_request = aml_dma_ze_request_wait,
        .barrier = aml_dma_ze_barrier,
        .fprintf = NULL,
};

struct aml_dma *aml_dma_ze_default = NULL;

/* libaml's aml_backend_ze_init, reduced to the dma part. */
static int standin_backend_ze_init(void)
{
	ze_driver_handle_t driver;
	ze_device_handle_t device;
	uint32_t count = 1;

	if (zeInit(0) != ZE_RESULT_SUCCESS)
		return -AML_ENOTSUP;
	if (zeDriverGet(&count, &driver) != ZE_RESULT_SUCCESS || count == 0)
		return -AML_ENOTSUP;
	count = 1;
	if (zeDeviceGet(driver, &count, &device) != ZE_RESULT_SUCCESS ||
	    count == 0)
		return -AML_ENOTSUP;
	return aml_dma_ze_create(&aml_dma_ze_default, device, 0, 0);
}

int standin_aml_init(void)
{
	return standin_backend_ze_init();
}

int standin_aml_finalize(void)
{
	return aml_dma_ze_destroy(&aml_dma_ze_default);
}

struct aml_dma *standin_default_dma(void)
{
	return aml_dma_ze_default;
}

struct aml_dma_ops *standin_ops_address(void)
{
	return &aml_dma_ze_ops;
}
