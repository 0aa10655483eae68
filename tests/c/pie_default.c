/* A PIE program that names aml_dma_ze_default and aml_dma_ze_ops: it owns
 * copy-relocated copies of both, and must see what the library writes. */
#include <aml/dma/ze.h>
#include <string.h>

int main(void)
{
	char src[4096], dst[4096];
	struct aml_dma_request *req = NULL;
	struct aml_dma *dma;

	if (aml_dma_ze_default != NULL)
		return 10;
	if (aml_dma_ze_default_setup() != AML_SUCCESS)
		return 11;
	dma = aml_dma_ze_default;
	if (dma == NULL)
		return 12; /* the library wrote its own copy, not ours */
	if (dma->ops != &aml_dma_ze_ops)
		return 13;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (char)(i * 7 + 3);
	memset(dst, 0, sizeof(dst));
	if (dma->ops->create_request(dma->data, &req, (struct aml_layout *)dst,
	                             (struct aml_layout *)src,
	                             aml_dma_ze_memcpy_op,
	                             (void *)sizeof(src)) != AML_SUCCESS)
		return 14;
	if (dma->ops->wait_request(dma->data, &req) != AML_SUCCESS || req != NULL)
		return 15;
	if (memcmp(src, dst, sizeof(src)) != 0)
		return 16;
	if (aml_dma_ze_default_teardown() != AML_SUCCESS)
		return 17;
	if (aml_dma_ze_default != NULL)
		return 18;
	return 0;
}
