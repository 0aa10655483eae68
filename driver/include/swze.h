/* swze.h: the control API of libswze.so, the software Level Zero driver.
 *
 * For tests and benchmarks only: a Level Zero program never needs it. All
 * state is process-global. Names of entry points are their C names
 * ("zeEventCreate"); object kinds are "context", "command_list",
 * "event_pool", "event", "allocation", "command_queue", "fence",
 * "physical_mem", "virtual_reservation".
 *
 * Programs that link libswze.so directly can call the functions; programs
 * that only link libze_loader use swze_api_load() after zeInit(). */
#ifndef SWZE_H
#define SWZE_H

#include <level_zero/ze_api.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Calls of a ze entry point since the last reset, failing ones included;
 * 0 for unknown names. */
uint64_t swze_call_count(const char *function);
/* Zero all call counters; peaks restart from the current live counts. */
void swze_counters_reset(void);
/* Live objects of a kind. */
uint64_t swze_live_count(const char *kind);
/* Highest live count of a kind since the last reset. */
uint64_t swze_peak_count(const char *kind);
/* The nth call (1 = the next one) of `function` from now returns `result`
 * without doing anything; fires once. 0, or -1 for an unknown function name
 * or nth == 0. */
int swze_fault_inject(const char *function, uint64_t nth, ze_result_t result);
/* Disarm all faults. */
void swze_fault_clear(void);
/* The cap of every copy engine; 0 = uncapped (or, under the bandwidth
 * model, the model's engine rate); applies to copies executed from now. */
void swze_set_copy_bandwidth(uint64_t bytes_per_second);
/* 1: copies from now are held to the device model's engines, host links,
 * host and stack-to-stack paths (SWZE_BANDWIDTH_MODEL); 0: the engine cap
 * alone. */
void swze_set_bandwidth_model(int on);
/* 1: command lists created from now execute at append time on the caller's
 * thread; 0: asynchronous lists get an engine thread again. */
void swze_set_inline(int on);
/* The backend running the devices: "cpu" or "cuda" (SWZE_BACKEND); NULL
 * before the first successful zeInit. The bandwidth cap and inline mode act
 * on "cpu" only. */
const char *swze_backend(void);
/* The device model (SWZE_DEVICE_MODEL): "max1550" or "flex170"; NULL
 * before the first successful zeInit. */
const char *swze_device_model(void);
/* The rate the bandwidth model gives a part, bytes per second (the model's
 * figure divided by SWZE_BANDWIDTH_SCALE): "engine", "link_to_device",
 * "link_from_device", "link_both", "host_to_device", "host_from_device",
 * "host_both", "stack_to_stack", "stack_to_stack_both", "stack_memory_copy"
 * (a copy kernel within a stack), "host_pointer_pin" (pinning malloc'd
 * memory for one copy); 0 if unknown. */
double swze_model_rate(const char *part);
/* A published measurement the model is scaled from, GB/s: "one_stack_to_device",
 * "one_stack_from_device", "one_stack_both", "node_to_device",
 * "node_from_device", "node_both", "stack_to_stack", "stack_to_stack_both",
 * "one_stack_triad";
 * "node_cards" the cards of that node; 0 if unknown. */
double swze_model_measured(const char *name);
/* 1: lists and queues created from now get what Intel's driver does with
 * copies (the default: the main copy engine's split, copy kernels on
 * compute lists, CPU copies of small ones, per-copy pinning of malloc'd
 * memory under the bandwidth model); 0: every copy on its list's own
 * engine (SWZE_INTEL_POLICIES=0). */
void swze_set_intel_policies(int on);
/* Copies routed a way since the last counter reset: "engine", "kernel"
 * (a copy kernel on a compute list), "kernel_local" (one within a stack's
 * memory), "split" (over link copy engines), "cpu" (by the appending
 * thread); "host_pointer": copies whose malloc'd side was pinned for them.
 * 0 for an unknown name. */
uint64_t swze_copy_route_count(const char *route);
/* Bytes copied by the engine of queue (ordinal, index) of backend unit
 * `unit` (a stack, in zeDeviceGet order under FLAT), over the process's
 * life; the cpu backend only (0 elsewhere). */
uint64_t swze_engine_bytes(uint32_t unit, uint32_t ordinal, uint32_t index);

/* The same functions, found at run time in the copy of libswze.so that the
 * Level Zero loader loaded. */
struct swze_api {
	uint64_t (*call_count)(const char *function);
	void (*counters_reset)(void);
	uint64_t (*live_count)(const char *kind);
	uint64_t (*peak_count)(const char *kind);
	int (*fault_inject)(const char *function, uint64_t nth, ze_result_t result);
	void (*fault_clear)(void);
	void (*set_copy_bandwidth)(uint64_t bytes_per_second);
	void (*set_inline)(int on);
	const char *(*backend)(void);
	void (*set_bandwidth_model)(int on);
	const char *(*device_model)(void);
	double (*model_rate)(const char *part);
	double (*model_measured)(const char *name);
	void (*set_intel_policies)(int on);
	uint64_t (*copy_route_count)(const char *route);
	uint64_t (*engine_bytes)(uint32_t unit, uint32_t ordinal, uint32_t index);
};

#ifndef SWZE_NO_LOADER_HELPER
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

/* Fills `api` from the driver named by the first entry of
 * ZE_ENABLE_ALT_DRIVERS, which must already be loaded (call zeInit first).
 * Returns 0, or -1 if the variable is unset or the driver or a symbol is not
 * found. Needs <dlfcn.h> (link with -ldl on glibc older than 2.34). */
static inline int swze_api_load(struct swze_api *api)
{
	const char *drivers = getenv("ZE_ENABLE_ALT_DRIVERS");
	char path[4096];
	size_t length;
	void *library;
	int missing = 0;

	if (api == NULL || drivers == NULL)
		return -1;
	length = strcspn(drivers, ",");
	if (length == 0 || length >= sizeof(path))
		return -1;
	memcpy(path, drivers, length);
	path[length] = '\0';
	library = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
	if (library == NULL)
		return -1;

#define SWZE_API_SYMBOL_(field, name)                                              \
	do {                                                                      \
		void *symbol_ = dlsym(library, name);                             \
		if (symbol_ == NULL)                                              \
			missing = 1;                                              \
		memcpy(&api->field, &symbol_, sizeof(symbol_));                   \
	} while (0)
	SWZE_API_SYMBOL_(call_count, "swze_call_count");
	SWZE_API_SYMBOL_(counters_reset, "swze_counters_reset");
	SWZE_API_SYMBOL_(live_count, "swze_live_count");
	SWZE_API_SYMBOL_(peak_count, "swze_peak_count");
	SWZE_API_SYMBOL_(fault_inject, "swze_fault_inject");
	SWZE_API_SYMBOL_(fault_clear, "swze_fault_clear");
	SWZE_API_SYMBOL_(set_copy_bandwidth, "swze_set_copy_bandwidth");
	SWZE_API_SYMBOL_(set_inline, "swze_set_inline");
	SWZE_API_SYMBOL_(backend, "swze_backend");
	SWZE_API_SYMBOL_(set_bandwidth_model, "swze_set_bandwidth_model");
	SWZE_API_SYMBOL_(device_model, "swze_device_model");
	SWZE_API_SYMBOL_(model_rate, "swze_model_rate");
	SWZE_API_SYMBOL_(model_measured, "swze_model_measured");
	SWZE_API_SYMBOL_(set_intel_policies, "swze_set_intel_policies");
	SWZE_API_SYMBOL_(copy_route_count, "swze_copy_route_count");
	SWZE_API_SYMBOL_(engine_bytes, "swze_engine_bytes");
#undef SWZE_API_SYMBOL_
	/* The loader keeps its own reference, so the functions stay loaded. */
	dlclose(library);
	return missing ? -1 : 0;
}
#endif /* SWZE_NO_LOADER_HELPER */

#ifdef __cplusplus
}
#endif

#endif /* SWZE_H */
