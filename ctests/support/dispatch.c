#include "dispatch.h"

int generic_dma_copy_custom(struct aml_dma *dma, struct aml_layout *dest,
                            struct aml_layout *src, aml_dma_operator op,
                            void *op_arg)
{
	struct aml_dma_request *req = NULL;
	int err;

	if (dma == NULL || dest == NULL || src == NULL)
		return -AML_EINVAL;
	err = dma->ops->create_request(dma->data, &req, dest, src, op, op_arg);
	if (err != AML_SUCCESS)
		return err;
	return dma->ops->wait_request(dma->data, &req);
}

int generic_dma_async_copy_custom(struct aml_dma *dma,
                                  struct aml_dma_request **req,
                                  struct aml_layout *dest,
                                  struct aml_layout *src,
                                  aml_dma_operator op, void *op_arg)
{
	if (dma == NULL || dest == NULL || src == NULL)
		return -AML_EINVAL;
	return dma->ops->create_request(dma->data, req, dest, src, op, op_arg);
}

int generic_dma_wait(struct aml_dma *dma, struct aml_dma_request **req)
{
	if (dma == NULL || req == NULL)
		return -AML_EINVAL;
	return dma->ops->wait_request(dma->data, req);
}

int generic_dma_cancel(struct aml_dma *dma, struct aml_dma_request **req)
{
	if (dma == NULL || req == NULL)
		return -AML_EINVAL;
	return dma->ops->destroy_request(dma->data, req);
}

int generic_dma_barrier(struct aml_dma *dma)
{
	if (dma == NULL)
		return -AML_EINVAL;
	return dma->ops->barrier(dma->data);
}

int generic_dma_fprintf(FILE *stream, const char *prefix,
                        const struct aml_dma *dma)
{
	if (dma == NULL || dma->ops == NULL || stream == NULL)
		return -AML_EINVAL;
	if (dma->ops->fprintf == NULL)
		return -AML_ENOTSUP;
	return dma->ops->fprintf(dma->data, stream,
	                         prefix == NULL ? "" : prefix);
}
