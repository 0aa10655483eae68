/* The suite's proof that a dma moves data: one synchronous request between
 * two host buffers, verified byte for byte. Tests call it after an error path
 * to show the dma still works. */
#ifndef CTEST_SYNC_COPY_H
#define CTEST_SYNC_COPY_H

#include <stddef.h>
#include <stdint.h>

#include <aml/dma/ze.h>

/* One synchronous request through aml_dma_ze_memcpy_op, checked to succeed. */
void sync_memcpy(struct aml_dma *dma, void *dst, const void *src, size_t size);

void check_sync_copy(struct aml_dma *dma, size_t size, uint32_t seed);

#endif
