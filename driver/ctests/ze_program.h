/* What the driver's C programs share: a failure count, checks that count a
 * failure and leave the function (returning -1), and the opening (zeInit,
 * the first driver, its first device). Public API only. */
#ifndef ZE_PROGRAM_H
#define ZE_PROGRAM_H

#include <level_zero/ze_api.h>
#include <stdio.h>

static int failures;

#define CHECK_ZE(call)                                                              \
	do {                                                                        \
		ze_result_t check_result_ = (call);                                 \
		if (check_result_ != ZE_RESULT_SUCCESS) {                           \
			fprintf(stderr, "%s:%d: %s -> 0x%x\n", __FILE__, __LINE__, \
			        #call, (unsigned)check_result_);                    \
			failures++;                                                 \
			return -1;                                                  \
		}                                                                   \
	} while (0)

#define CHECK(condition)                                                            \
	do {                                                                        \
		if (!(condition)) {                                                 \
			fprintf(stderr, "%s:%d: %s does not hold\n", __FILE__,      \
			        __LINE__, #condition);                              \
			failures++;                                                 \
			return -1;                                                  \
		}                                                                   \
	} while (0)

/* 0 and the handles, or 1 with the reason on stderr. */
static inline int first_device(ze_driver_handle_t *driver, ze_device_handle_t *device)
{
	if (zeInit(0) != ZE_RESULT_SUCCESS) {
		fprintf(stderr, "zeInit failed\n");
		return 1;
	}
	uint32_t count = 1;
	if (zeDriverGet(&count, driver) != ZE_RESULT_SUCCESS || count == 0) {
		fprintf(stderr, "no driver\n");
		return 1;
	}
	count = 1;
	if (zeDeviceGet(*driver, &count, device) != ZE_RESULT_SUCCESS || count == 0) {
		fprintf(stderr, "no device\n");
		return 1;
	}
	return 0;
}

#define ZE_PROGRAM_STRING_(x) #x
#define ZE_PROGRAM_STRING(x) ZE_PROGRAM_STRING_(x)

/* A program's main: `body` on the first device, then `done` (a line for
 * stdout) if every check held; the exit status says whether they all did. */
static inline int run_on_first_device(int (*body)(ze_driver_handle_t, ze_device_handle_t), const char *done)
{
	ze_driver_handle_t driver;
	ze_device_handle_t device;
	if (first_device(&driver, &device) != 0)
		return 1;
	body(driver, device);
	if (failures == 0)
		puts(done);
	return failures == 0 ? 0 : 1;
}

#endif
