/* Byte patterns that differ per buffer and per offset, so that a copy landing
 * at the wrong place, a short copy or a stale buffer is detected. */
#ifndef CTEST_PATTERN_H
#define CTEST_PATTERN_H

#include <stddef.h>
#include <stdint.h>

void pattern_fill(void *buf, size_t size, uint32_t seed);
/* Returns the offset of the first wrong byte, or size if all match. */
size_t pattern_first_mismatch(const void *buf, size_t size, uint32_t seed);

#endif
