/* The benchmark harness: the Level Zero session. zeInit, the first driver
 * and its devices, a context, USM host and device memory, an immediate list
 * and a host-visible event: what each benchmark opened by hand before. Every
 * failing call ends the program (harness.h). */
#ifndef BENCH_HARNESS_ZE_H
#define BENCH_HARNESS_ZE_H

#include "harness.h"

#include <level_zero/ze_api.h>

#define BENCH_ZE_MAX_DEVICES 16

struct bench_ze {
	ze_driver_handle_t driver;
	ze_device_handle_t device; /* the first */
	ze_device_handle_t devices[BENCH_ZE_MAX_DEVICES];
	uint32_t device_count;
	ze_context_handle_t context; /* NULL unless asked for */
};

/* zeInit, the first driver, its devices (up to BENCH_ZE_MAX_DEVICES) and,
 * with `with_context`, a context of its own. */
static inline void bench_ze_open(struct bench_ze *ze, int with_context)
{
	uint32_t n = 1;
	memset(ze, 0, sizeof *ze);
	ZE(zeInit(0));
	ZE(zeDriverGet(&n, &ze->driver));
	if (n < 1) {
		fprintf(stderr, "bench: no Level Zero driver\n");
		exit(1);
	}
	ze->device_count = BENCH_ZE_MAX_DEVICES;
	ZE(zeDeviceGet(ze->driver, &ze->device_count, ze->devices));
	if (ze->device_count < 1) {
		fprintf(stderr, "bench: no Level Zero device\n");
		exit(1);
	}
	ze->device = ze->devices[0];
	if (with_context) {
		ze_context_desc_t desc = {.stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC};
		ZE(zeContextCreate(ze->driver, &desc, &ze->context));
	}
}

static inline void bench_ze_close(struct bench_ze *ze)
{
	if (ze->context)
		ZE(zeContextDestroy(ze->context));
	ze->context = NULL;
}

static inline void *bench_host_alloc(ze_context_handle_t context, size_t size, size_t alignment)
{
	ze_host_mem_alloc_desc_t desc = {.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC};
	void *p = NULL;
	ZE(zeMemAllocHost(context, &desc, size, alignment, &p));
	return p;
}

static inline void *bench_device_alloc(ze_context_handle_t context, ze_device_handle_t device, size_t size,
                                       size_t alignment)
{
	ze_device_mem_alloc_desc_t desc = {.stype = ZE_STRUCTURE_TYPE_DEVICE_MEM_ALLOC_DESC};
	void *p = NULL;
	ZE(zeMemAllocDevice(context, &desc, size, alignment, device, &p));
	return p;
}

/* An asynchronous immediate list on queue (ordinal, index) with `flags`
 * (aml_dma_ze_create's lists: ZE_COMMAND_QUEUE_FLAG_EXPLICIT_ONLY, normal
 * priority, so that a floor differs from the dma by the request path alone). */
static inline ze_command_list_handle_t bench_immediate_list(ze_context_handle_t context, ze_device_handle_t device,
                                                            uint32_t ordinal, uint32_t index,
                                                            ze_command_queue_flags_t flags)
{
	ze_command_queue_desc_t desc = {
		.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
		.ordinal = ordinal,
		.index = index,
		.flags = flags,
		.mode = ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS,
		.priority = ZE_COMMAND_QUEUE_PRIORITY_NORMAL,
	};
	ze_command_list_handle_t list = NULL;
	ZE(zeCommandListCreateImmediate(context, device, &desc, &list));
	return list;
}

/* The scope upstream picks for its events (host, and the device or the
 * sub-device), so that a floor signals as the dma does. */
static inline ze_event_scope_flags_t bench_upstream_scope(ze_device_handle_t device)
{
	ze_device_properties_t props = {.stype = ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES};
	ZE(zeDeviceGetProperties(device, &props));
	return ZE_EVENT_SCOPE_FLAG_HOST | ((props.flags & ZE_DEVICE_PROPERTY_FLAG_SUBDEVICE)
	                                           ? ZE_EVENT_SCOPE_FLAG_SUBDEVICE
	                                           : ZE_EVENT_SCOPE_FLAG_DEVICE);
}

/* A host-visible pool of one event, and that event, signalled and waited on
 * with `scope`. */
struct bench_event {
	ze_event_pool_handle_t pool;
	ze_event_handle_t event;
};

static inline void bench_event_open(struct bench_event *e, ze_context_handle_t context, ze_device_handle_t device,
                                    ze_event_scope_flags_t scope)
{
	ze_event_pool_desc_t pd = {
		.stype = ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
		.flags = ZE_EVENT_POOL_FLAG_HOST_VISIBLE,
		.count = 1,
	};
	ZE(zeEventPoolCreate(context, &pd, 1, &device, &e->pool));
	ze_event_desc_t ed = {.stype = ZE_STRUCTURE_TYPE_EVENT_DESC, .index = 0, .signal = scope, .wait = scope};
	ZE(zeEventCreate(e->pool, &ed, &e->event));
}

/* Intel's fast path, as the library takes it where a driver offers it: an
 * in-order list (ZE_COMMAND_QUEUE_FLAG_IN_ORDER, API 1.7) and a
 * counter-based event (ZE_experimental_event_pool_counter_based: the pool
 * descriptor's pNext, stype ZE_STRUCTURE_TYPE_COUNTER_BASED_EVENT_POOL_EXP_DESC,
 * flag IMMEDIATE), with the values of oneapi-src/level-zero's ze_api.h:
 * this machine's headers are API 1.4, whose loader passes flags and pNext
 * through. Names of our own, so that newer headers do not clash. */
#define BENCH_QUEUE_FLAG_IN_ORDER ((ze_command_queue_flags_t)(1u << 1))
#define BENCH_STYPE_COUNTER_BASED_POOL ((ze_structure_type_t)0x00020014)
#define BENCH_COUNTER_BASED_IMMEDIATE 1u

/* A counter-based pool of one event, and that event (never reset: it
 * completes when its list's counter passes its latest append). */
static inline void bench_counter_event_open(struct bench_event *e, ze_context_handle_t context,
                                            ze_device_handle_t device, ze_event_scope_flags_t scope)
{
	struct {
		ze_structure_type_t stype;
		const void *pNext;
		uint32_t flags;
	} counter = {.stype = BENCH_STYPE_COUNTER_BASED_POOL, .flags = BENCH_COUNTER_BASED_IMMEDIATE};
	ze_event_pool_desc_t pd = {
		.stype = ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
		.pNext = &counter,
		.flags = ZE_EVENT_POOL_FLAG_HOST_VISIBLE,
		.count = 1,
	};
	ZE(zeEventPoolCreate(context, &pd, 1, &device, &e->pool));
	ze_event_desc_t ed = {.stype = ZE_STRUCTURE_TYPE_EVENT_DESC, .index = 0, .signal = scope, .wait = scope};
	ZE(zeEventCreate(e->pool, &ed, &e->event));
}

static inline void bench_event_close(struct bench_event *e)
{
	ZE(zeEventDestroy(e->event));
	ZE(zeEventPoolDestroy(e->pool));
}

#endif
