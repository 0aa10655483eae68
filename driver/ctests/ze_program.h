/* What the driver's C programs share: a failure count, checks that count a
 * failure and leave the function (returning -1), the opening (zeInit, the
 * first driver, its first device), and a watchdog: each program names its
 * stages as they start (ze_stage: a line on stderr, unbuffered), and a stage
 * that runs longer than ZE_PROGRAM_STAGE_SECONDS (default 120; 0: no limit)
 * ends the program with status 1 and the stage's name on stderr, so a run
 * that hangs (on a GPU, where no debugger may attach) still says where.
 * Public API only. A program defines _POSIX_C_SOURCE (or _GNU_SOURCE) before
 * its first include: the watchdog needs alarm() and sigaction(). */
#ifndef ZE_PROGRAM_H
#define ZE_PROGRAM_H

#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#error "define _POSIX_C_SOURCE 200809L (or _GNU_SOURCE) before the first include"
#endif

#include <level_zero/ze_api.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;

/* What the watchdog says: the program's name, the stage running now. */
static const char *ze_program_name = "ze_program";
static const char *volatile ze_program_stage_now = "start";
static unsigned ze_program_stage_seconds = 120;

/* write(2) of a whole string; async-signal-safe (strlen and write are). */
static void ze_program_say(const char *text)
{
	size_t left = strlen(text);
	while (left > 0) {
		ssize_t written = write(STDERR_FILENO, text, left);
		if (written <= 0)
			return;
		text += written;
		left -= (size_t)written;
	}
}

static void ze_program_watchdog(int signal_number)
{
	(void)signal_number;
	char seconds[24];
	char *digit = seconds + sizeof seconds - 1;
	unsigned value = ze_program_stage_seconds;
	*digit = 0;
	do
		*--digit = (char)('0' + value % 10);
	while ((value /= 10) != 0);
	ze_program_say(ze_program_name);
	ze_program_say(": watchdog: stage '");
	ze_program_say(ze_program_stage_now);
	ze_program_say("' still running after ");
	ze_program_say(digit);
	ze_program_say(" s (ZE_PROGRAM_STAGE_SECONDS); giving up\n");
	_exit(1);
}

/* The stage starting now: named on stderr, and the watchdog restarted. */
static inline void ze_stage(const char *stage)
{
	ze_program_stage_now = stage;
	fprintf(stderr, "%s: %s\n", ze_program_name, stage);
	alarm(ze_program_stage_seconds);
}

/* Names the program in the watchdog's lines and arms it. */
static inline void ze_program_start(const char *name)
{
	ze_program_name = name;
	const char *limit = getenv("ZE_PROGRAM_STAGE_SECONDS");
	if (limit != NULL && *limit != 0)
		ze_program_stage_seconds = (unsigned)strtoul(limit, NULL, 10);
	struct sigaction action;
	memset(&action, 0, sizeof action);
	action.sa_handler = ze_program_watchdog;
	sigemptyset(&action.sa_mask);
	sigaction(SIGALRM, &action, NULL);
	ze_stage("start");
}

/* An asynchronous immediate list on the device's first queue. */
static inline ze_result_t immediate_list(ze_context_handle_t context, ze_device_handle_t device,
                                         ze_command_list_handle_t *list)
{
	ze_command_queue_desc_t desc = {.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
		.mode = ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS};
	return zeCommandListCreateImmediate(context, device, &desc, list);
}

/* Event `index` of `pool`, signalled and waited on with host scope. */
static inline ze_result_t host_event(ze_event_pool_handle_t pool, uint32_t index, ze_event_handle_t *event)
{
	ze_event_desc_t desc = {.stype = ZE_STRUCTURE_TYPE_EVENT_DESC, .index = index,
		.signal = ZE_EVENT_SCOPE_FLAG_HOST, .wait = ZE_EVENT_SCOPE_FLAG_HOST};
	return zeEventCreate(pool, &desc, event);
}

/* What API 1.7 and 1.8 added that the programs use, with the values of the
 * public headers (oneapi-src/level-zero include/ze_api.h; compute-runtime
 * level_zero/include/level_zero/driver_experimental/zex_common.h): Debian's
 * headers are API 1.4. Names of our own, so that newer headers, which
 * define them as enumerators, do not clash. */
#define ZE_PROGRAM_QUEUE_FLAG_IN_ORDER ((ze_command_queue_flags_t)(1u << 1)) /* ZE_COMMAND_QUEUE_FLAG_IN_ORDER */
#define ZE_PROGRAM_LIST_FLAG_IN_ORDER ((ze_command_list_flags_t)(1u << 3)) /* ZE_COMMAND_LIST_FLAG_IN_ORDER */
#define ZE_PROGRAM_STYPE_COUNTER_BASED_POOL ((ze_structure_type_t)0x00020014) /* ..._COUNTER_BASED_EVENT_POOL_EXP_DESC */
#define ZE_PROGRAM_COUNTER_BASED_IMMEDIATE 1u /* ZE_EVENT_POOL_COUNTER_BASED_EXP_FLAG_IMMEDIATE */
#define ZE_PROGRAM_COUNTER_BASED_NON_IMMEDIATE 2u /* ..._NON_IMMEDIATE */
#define ZE_PROGRAM_COUNTER_BASED_POOL_NAME "ZE_experimental_event_pool_counter_based"
#define ZE_PROGRAM_COUNTER_BASED_EVENT_NAME "ZEX_counter_based_event"

/* ze_event_pool_counter_based_exp_desc_t */
typedef struct {
	ze_structure_type_t stype;
	const void *pNext;
	uint32_t flags;
} ze_program_counter_based_pool_desc_t;

/* zex_counter_based_event_desc_t (stype ZEX_STRUCTURE_COUNTER_BASED_EVENT_DESC) */
#define ZE_PROGRAM_STYPE_ZEX_COUNTER_BASED_EVENT ((ze_structure_type_t)0x0003001C)
typedef struct {
	ze_structure_type_t stype;
	const void *pNext;
	uint32_t flags;
	ze_event_scope_flags_t signalScope;
	ze_event_scope_flags_t waitScope;
} ze_program_zex_counter_based_event_desc_t;

/* An immediate list on queue (ordinal, index), in order if `in_order`. */
static inline ze_result_t immediate_list_on(ze_context_handle_t context, ze_device_handle_t device,
                                            uint32_t ordinal, uint32_t index, int in_order,
                                            ze_command_list_handle_t *list)
{
	ze_command_queue_desc_t desc = {.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC, .ordinal = ordinal,
		.index = index, .mode = ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS,
		.flags = in_order ? ZE_PROGRAM_QUEUE_FLAG_IN_ORDER : 0};
	return zeCommandListCreateImmediate(context, device, &desc, list);
}

/* Whether the driver reports extension `name` at version 1.0 or later. */
static inline int has_extension(ze_driver_handle_t driver, const char *name)
{
	uint32_t count = 0;
	if (zeDriverGetExtensionProperties(driver, &count, NULL) != ZE_RESULT_SUCCESS || count == 0)
		return 0;
	ze_driver_extension_properties_t *properties = calloc(count, sizeof *properties);
	if (properties == NULL)
		return 0;
	int found = 0;
	if (zeDriverGetExtensionProperties(driver, &count, properties) == ZE_RESULT_SUCCESS)
		for (uint32_t i = 0; i < count; i++)
			if (strcmp(properties[i].name, name) == 0 && properties[i].version >= ZE_MAKE_VERSION(1, 0))
				found = 1;
	free(properties);
	return found;
}

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
	ze_stage("zeInit, the first driver and device");
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

/* A program's main: the watchdog armed for `name`, `body` on the first
 * device, then "name: done" (a line for stdout) if every check held; the
 * exit status says whether they all did. */
static inline int run_on_first_device(int (*body)(ze_driver_handle_t, ze_device_handle_t), const char *name,
                                      const char *done)
{
	ze_program_start(name);
	ze_driver_handle_t driver;
	ze_device_handle_t device;
	if (first_device(&driver, &device) != 0)
		return 1;
	body(driver, device);
	ze_stage("end");
	alarm(0);
	if (failures == 0)
		printf("%s: %s\n", name, done);
	return failures == 0 ? 0 : 1;
}

#endif
