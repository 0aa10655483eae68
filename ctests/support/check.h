/* Assertions for the C suite: a failed check names the file, line and both
 * values, then exits 1 so the runner counts the program as failed. Unlike
 * assert(), they stay active whatever NDEBUG says. */
#ifndef CTEST_CHECK_H
#define CTEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

/* The automake convention AML's own suite follows. */
#define CTEST_EXIT_PASS 0
#define CTEST_EXIT_FAIL 1
#define CTEST_EXIT_SKIP 77

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: %s: check failed: %s\n",     \
			        __FILE__, __LINE__, __func__, #cond);        \
			exit(CTEST_EXIT_FAIL);                               \
		}                                                            \
	} while (0)

#define CHECK_INT(got_expr, want_expr)                                       \
	do {                                                                 \
		long long got_ = (long long)(got_expr);                      \
		long long want_ = (long long)(want_expr);                    \
		if (got_ != want_) {                                         \
			fprintf(stderr,                                      \
			        "%s:%d: %s: %s is %lld, expected %s = %lld\n", \
			        __FILE__, __LINE__, __func__, #got_expr,     \
			        got_, #want_expr, want_);                    \
			exit(CTEST_EXIT_FAIL);                               \
		}                                                            \
	} while (0)

#define SKIP(reason)                                                         \
	do {                                                                 \
		fprintf(stderr, "skipped: %s\n", reason);                    \
		exit(CTEST_EXIT_SKIP);                                       \
	} while (0)

#endif
