/* The generic AML dma API, as libaml's src/dma/dma.c dispatches it: every
 * call goes through dma->ops, so these prove the vtable the library exports
 * works for code that never names an aml_dma_ze_* function. Prefixed
 * generic_ so they can never be mistaken for libaml's own symbols. */
#ifndef CTEST_DISPATCH_H
#define CTEST_DISPATCH_H

#include <stdio.h>
#include <aml/dma/ze.h>

int generic_dma_copy_custom(struct aml_dma *dma, struct aml_layout *dest,
                            struct aml_layout *src, aml_dma_operator op,
                            void *op_arg);
int generic_dma_async_copy_custom(struct aml_dma *dma,
                                  struct aml_dma_request **req,
                                  struct aml_layout *dest,
                                  struct aml_layout *src,
                                  aml_dma_operator op, void *op_arg);
int generic_dma_wait(struct aml_dma *dma, struct aml_dma_request **req);
int generic_dma_cancel(struct aml_dma *dma, struct aml_dma_request **req);
int generic_dma_barrier(struct aml_dma *dma);
/* AML asserts ops->fprintf exists; upstream's ze ops leave it NULL, so this
 * returns -AML_ENOTSUP for a NULL entry instead of crashing. */
int generic_dma_fprintf(FILE *stream, const char *prefix,
                        const struct aml_dma *dma);

#endif
