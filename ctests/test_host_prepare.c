/* aml_dma_ze_host_prepare / _release / _imports: bad inputs and overlaps
 * refused with -AML_EINVAL, USM accepted without an import, the driver's
 * import and release seen through its own host-pointer functions, copies
 * through prepared malloc'd ranges from several threads at once (prepare,
 * copy, release in every order) compared byte for byte with a model, and a
 * destroy with ranges still prepared releasing them in the driver. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/dma/ze.h>

#include "check.h"
#include "driver_ctl.h"
#include "pattern.h"
#include "ze_env.h"

#define THREADS 4
#define REGION ((size_t)256 << 10)
#define ROUNDS 60

typedef ze_result_t (*base_address_fn)(ze_driver_handle_t, void *, void **);

static struct ze_env env;
static base_address_fn base_address;

/* Whether the driver has an import holding `ptr` (its own view, through
 * zexDriverGetHostPointerBaseAddress). */
static int driver_imported(void *ptr)
{
	void *base = NULL;
	return base_address(env.driver, ptr, &base) == ZE_RESULT_SUCCESS;
}

static int copy(struct aml_dma *dma, void *dst, void *src, size_t size)
{
	struct aml_dma_request *req = NULL;
	int rc = aml_dma_ze_request_create(dma->data, &req, (struct aml_layout *)dst,
	                                   (struct aml_layout *)src, aml_dma_ze_memcpy_op,
	                                   (void *)size);
	if (rc != AML_SUCCESS)
		return rc;
	return aml_dma_ze_request_wait(dma->data, &req);
}

static void bad_inputs(struct aml_dma *dma, struct aml_dma *other)
{
	uint8_t *buffer = malloc(4 * 4096);
	struct aml_dma foreign = {.ops = NULL, .data = NULL};
	CHECK(buffer != NULL);

	CHECK_INT(aml_dma_ze_host_prepare(NULL, buffer, 4096), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_host_prepare(&foreign, buffer, 4096), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_host_prepare(dma, NULL, 4096), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_host_prepare(dma, buffer, 0), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_host_prepare(dma, buffer, SIZE_MAX), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_host_release(NULL, buffer), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_host_release(dma, NULL), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_host_release(dma, buffer), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_host_imports(NULL), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_host_imports(&foreign), -AML_EINVAL);

	/* [4096, 8192) prepared; every range sharing a byte with it is refused,
	 * through this dma or another. */
	CHECK_INT(aml_dma_ze_host_prepare(dma, buffer + 4096, 4096), AML_SUCCESS);
	CHECK(driver_imported(buffer + 4096));
	CHECK(driver_imported(buffer + 8191));
	CHECK(!driver_imported(buffer + 8192));
	CHECK_INT(aml_dma_ze_host_prepare(dma, buffer + 4096, 4096), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_host_prepare(other, buffer + 4096, 4096), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_host_prepare(dma, buffer + 4096, 1), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_host_prepare(dma, buffer + 5000, 100), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_host_prepare(dma, buffer, 4097), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_host_prepare(dma, buffer + 8191, 4096), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_host_prepare(dma, buffer, 4 * 4096), -AML_EINVAL);
	/* Touching ranges share no byte. */
	CHECK_INT(aml_dma_ze_host_prepare(dma, buffer, 4096), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_host_prepare(other, buffer + 8192, 4096), AML_SUCCESS);

	/* Release: only the start, only through the dma that prepared it, once. */
	CHECK_INT(aml_dma_ze_host_release(dma, buffer + 4097), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_host_release(other, buffer + 4096), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_host_release(dma, buffer + 8192), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_host_release(dma, buffer + 4096), AML_SUCCESS);
	CHECK(!driver_imported(buffer + 4096));
	CHECK(driver_imported(buffer));
	CHECK_INT(aml_dma_ze_host_release(dma, buffer + 4096), -AML_EINVAL);
	CHECK_INT(aml_dma_ze_host_release(dma, buffer), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_host_release(other, buffer + 8192), AML_SUCCESS);
	CHECK(!driver_imported(buffer) && !driver_imported(buffer + 8192));
	free(buffer);
}

/* USM memory is known to the driver: prepared without an import, released
 * without a call, copied as before. */
static void driver_memory(struct aml_dma *dma, void *device)
{
	ze_host_mem_alloc_desc_t desc = {.stype = ZE_STRUCTURE_TYPE_HOST_MEM_ALLOC_DESC};
	void *host = NULL;
	CHECK_INT(zeMemAllocHost(env.context, &desc, 65536, 64, &host), ZE_RESULT_SUCCESS);
	uint64_t imports = driver_calls("zexDriverImportExternalPointer");
	CHECK_INT(aml_dma_ze_host_prepare(dma, host, 65536), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_host_prepare(dma, device, 65536), AML_SUCCESS);
	CHECK_INT(driver_calls("zexDriverImportExternalPointer"), imports);
	CHECK(!driver_imported(host));
	CHECK_INT(aml_dma_ze_host_prepare(dma, host, 65536), -AML_EINVAL);
	pattern_fill(host, 65536, 11);
	CHECK_INT(copy(dma, device, host, 65536), AML_SUCCESS);
	memset(host, 0, 65536);
	CHECK_INT(copy(dma, host, device, 65536), AML_SUCCESS);
	CHECK_INT(pattern_first_mismatch(host, 65536, 11), 65536);
	uint64_t releases = driver_calls("zexDriverReleaseImportedPointer");
	CHECK_INT(aml_dma_ze_host_release(dma, host), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_host_release(dma, device), AML_SUCCESS);
	CHECK_INT(driver_calls("zexDriverReleaseImportedPointer"), releases);
	CHECK_INT(zeMemFree(env.context, host), ZE_RESULT_SUCCESS);
}

struct worker {
	struct aml_dma *dma;
	uint32_t id;
	uint8_t *host;   /* REGION bytes of malloc'd memory */
	uint8_t *model;  /* what `host` must hold */
	uint8_t *device; /* REGION bytes of device memory */
	int failed_line;
};

#define WORKER_CHECK(w, cond)                                                \
	do {                                                                 \
		if (!(cond)) {                                               \
			(w)->failed_line = __LINE__;                         \
			return NULL;                                         \
		}                                                            \
	} while (0)

static uint32_t next_random(uint32_t *state)
{
	uint32_t x = *state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

/* Each round: maybe prepare a random part of the thread's region, copy a
 * random slice host -> device -> another place of the host, update the
 * model, compare the whole region with it, maybe release. */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uint32_t random = 0x2545F491u ^ (w->id * 2654435761u + 1);
	size_t prepared_at = 0, prepared_size = 0;

	for (int round = 0; round < ROUNDS; round++) {
		if (prepared_size == 0 && next_random(&random) % 2) {
			prepared_at = next_random(&random) % (REGION / 2);
			prepared_size = 1 + next_random(&random) % (REGION - prepared_at);
			WORKER_CHECK(w, aml_dma_ze_host_prepare(w->dma, w->host + prepared_at,
			                                        prepared_size) == AML_SUCCESS);
			WORKER_CHECK(w, aml_dma_ze_host_prepare(w->dma, w->host + prepared_at,
			                                        prepared_size) == -AML_EINVAL);
		}
		size_t size = 1 + next_random(&random) % (REGION / 2);
		size_t from = next_random(&random) % (REGION - size + 1);
		size_t to = next_random(&random) % (REGION - size + 1);
		pattern_fill(w->host + from, size, w->id * 1000u + (uint32_t)round);
		memcpy(w->model + from, w->host + from, size);
		WORKER_CHECK(w, copy(w->dma, w->device, w->host + from, size) == AML_SUCCESS);
		WORKER_CHECK(w, copy(w->dma, w->host + to, w->device, size) == AML_SUCCESS);
		memcpy(w->model + to, w->model + from, size);
		WORKER_CHECK(w, memcmp(w->host, w->model, REGION) == 0);
		if (prepared_size != 0 && next_random(&random) % 3 == 0) {
			WORKER_CHECK(w, aml_dma_ze_host_release(w->dma, w->host + prepared_at) ==
			                        AML_SUCCESS);
			WORKER_CHECK(w, aml_dma_ze_host_release(w->dma, w->host + prepared_at) ==
			                        -AML_EINVAL);
			prepared_size = 0;
		}
	}
	if (prepared_size != 0)
		WORKER_CHECK(w, aml_dma_ze_host_release(w->dma, w->host + prepared_at) == AML_SUCCESS);
	return NULL;
}

static void threads_at_once(struct aml_dma *dma)
{
	struct worker workers[THREADS];
	pthread_t threads[THREADS];
	uint8_t *host = malloc(THREADS * REGION);
	uint8_t *model = malloc(THREADS * REGION);
	uint8_t *device = ze_env_device_alloc(&env, THREADS * REGION);
	CHECK(host != NULL && model != NULL);
	memset(host, 0, THREADS * REGION);
	memset(model, 0, THREADS * REGION);

	for (uint32_t t = 0; t < THREADS; t++) {
		workers[t] = (struct worker){
		        .dma = dma,
		        .id = t,
		        .host = host + t * REGION,
		        .model = model + t * REGION,
		        .device = device + t * REGION,
		};
		CHECK_INT(pthread_create(&threads[t], NULL, worker_run, &workers[t]), 0);
	}
	for (uint32_t t = 0; t < THREADS; t++) {
		CHECK_INT(pthread_join(threads[t], NULL), 0);
		if (workers[t].failed_line != 0)
			fprintf(stderr, "thread %u failed at line %d\n", t, workers[t].failed_line);
		CHECK_INT(workers[t].failed_line, 0);
	}
	CHECK(!driver_imported(host) && !driver_imported(host + THREADS * REGION - 1));
	ze_env_device_free(&env, device);
	free(model);
	free(host);
}

/* A dma destroyed with ranges still prepared releases them in the driver;
 * the ranges may then be prepared again through another dma. */
static void destroy_with_ranges_prepared(struct aml_dma *survivor)
{
	struct aml_dma *dma = NULL;
	uint8_t *a = malloc(65536), *b = malloc(65536);
	void *device = ze_env_device_alloc(&env, 65536);
	CHECK(a != NULL && b != NULL);
	CHECK_INT(aml_dma_ze_create(&dma, env.device, ze_env_ordinal(), 0), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_host_prepare(dma, a, 65536), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_host_prepare(dma, b, 4096), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_host_prepare(survivor, b + 4096, 4096), AML_SUCCESS);
	pattern_fill(a, 65536, 5);
	CHECK_INT(copy(dma, device, a, 65536), AML_SUCCESS);
	/* Fire and forget: destroy waits for it, then releases. */
	CHECK_INT(aml_dma_ze_request_create(dma->data, NULL, (struct aml_layout *)b,
	                                    (struct aml_layout *)device, aml_dma_ze_memcpy_op,
	                                    (void *)(size_t)4096),
	          AML_SUCCESS);
	uint64_t releases = driver_calls("zexDriverReleaseImportedPointer");
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	CHECK(dma == NULL);
	CHECK_INT(driver_calls("zexDriverReleaseImportedPointer"), releases + 2);
	CHECK(!driver_imported(a) && !driver_imported(b));
	CHECK(driver_imported(b + 4096));
	CHECK_INT(pattern_first_mismatch(b, 4096, 5), 4096);
	CHECK_INT(aml_dma_ze_host_prepare(survivor, a, 65536), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_host_release(survivor, a), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_host_release(survivor, b + 4096), AML_SUCCESS);
	ze_env_device_free(&env, device);
	free(b);
	free(a);
}

int main(void)
{
	struct aml_dma *dma = NULL, *other = NULL;

	ze_env_open(&env);
	driver_ctl_load();
	CHECK_INT(aml_dma_ze_create(&dma, env.device, ze_env_ordinal(), 0), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_create(&other, env.device, ze_env_ordinal(), 0), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_host_imports(dma), 1);
	CHECK_INT(zeDriverGetExtensionFunctionAddress(env.driver, "zexDriverGetHostPointerBaseAddress",
	                                              (void **)&base_address),
	          ZE_RESULT_SUCCESS);
	void *device = ze_env_device_alloc(&env, 65536);

	bad_inputs(dma, other);
	driver_memory(dma, device);
	threads_at_once(dma);
	destroy_with_ranges_prepared(other);

	/* The last: both dmas destroyed with a range prepared on each. */
	uint8_t *left = malloc(8192);
	CHECK(left != NULL);
	CHECK_INT(aml_dma_ze_host_prepare(dma, left, 4096), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_host_prepare(other, left + 4096, 4096), AML_SUCCESS);
	ze_env_device_free(&env, device);
	CHECK_INT(aml_dma_ze_destroy(&other), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	CHECK(!driver_imported(left) && !driver_imported(left + 4096));
	free(left);
	ze_env_close(&env);
	return CTEST_EXIT_PASS;
}
