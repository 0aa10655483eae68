/* The test's own Level Zero session, through the real loader (-lze_loader):
 * the device handed to aml_dma_ze_create and device memory for the copies,
 * obtained the way an AML program would get them, independently of the
 * library under test. */
#ifndef CTEST_ZE_ENV_H
#define CTEST_ZE_ENV_H

#include <stddef.h>
#include <level_zero/ze_api.h>

struct ze_env {
	ze_driver_handle_t driver;
	ze_device_handle_t device;
	ze_context_handle_t context;
	/* ze_env_counter_events, found at open. */
	int counter_events;
};

/* zeInit, first driver, first device, a context; fails the test on error. */
void ze_env_open(struct ze_env *env);
void ze_env_close(struct ze_env *env);
/* Device memory of the first device; size 0 allocates one byte so that a
 * zero-size copy still has a valid device pointer. */
void *ze_env_device_alloc(struct ze_env *env, size_t size);
void ze_env_device_free(struct ze_env *env, void *ptr);
/* The queue group the tests create their dma on: CTEST_ORDINAL, default 0.
 * The multi-queue pass of the suite sets 1 (the main copy engine of Intel's
 * data-center GPUs and of swze's default model) with AML_DMA_ZE_QUEUES=all:
 * every copy engine of the device. */
int ze_env_ordinal(void);
/* Whether a dma of this driver takes the library's fast path (in-order
 * lists, counter-based events; README, "Ordering"): the driver lists
 * ZE_experimental_event_pool_counter_based, takes an in-order list, and
 * AML_DMA_ZE_COUNTER_EVENTS is not 0. Asked of the driver directly at
 * ze_env_open, as the library asks it at each create. */
int ze_env_counter_events(const struct ze_env *env);

#endif
