/* Workload sizes. Under valgrind the runner sets AML_CTEST_REDUCED=1 so that
 * the heaviest cases shrink to a size valgrind finishes in minutes; every case
 * still runs, only its volume changes. */
#ifndef CTEST_SCALE_H
#define CTEST_SCALE_H

#include <stddef.h>

/* full when AML_CTEST_REDUCED is unset or "0", reduced otherwise. */
size_t ctest_scaled(size_t full, size_t reduced);

#endif
