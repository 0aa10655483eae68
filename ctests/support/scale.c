#include "scale.h"

#include <stdlib.h>
#include <string.h>

size_t ctest_scaled(size_t full, size_t reduced)
{
	const char *flag = getenv("AML_CTEST_REDUCED");

	if (flag == NULL || *flag == '\0' || strcmp(flag, "0") == 0)
		return full;
	return reduced;
}
