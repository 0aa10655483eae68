#include "pattern.h"

static uint8_t pattern_byte(size_t offset, uint32_t seed)
{
	/* A multiplicative hash: neighbouring offsets and neighbouring seeds
	 * give unrelated bytes, and no byte value is favoured. */
	uint64_t x = ((uint64_t)offset + 1) * 0x9E3779B97F4A7C15ull ^
	             ((uint64_t)seed << 32 | seed);
	x ^= x >> 29;
	return (uint8_t)(x * 0xBF58476D1CE4E5B9ull >> 56);
}

void pattern_fill(void *buf, size_t size, uint32_t seed)
{
	uint8_t *bytes = buf;

	for (size_t i = 0; i < size; i++)
		bytes[i] = pattern_byte(i, seed);
}

size_t pattern_first_mismatch(const void *buf, size_t size, uint32_t seed)
{
	const uint8_t *bytes = buf;

	for (size_t i = 0; i < size; i++)
		if (bytes[i] != pattern_byte(i, seed))
			return i;
	return size;
}
