/* 8 threads share one dma and each makes 2000 round trips of random size
 * through its own disjoint host and device regions, completing the outbound
 * copy by wait, by request destroy + barrier, or fire-and-forget + barrier in
 * turn; every round trip is verified. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/dma/ze.h>

#include "check.h"
#include "pattern.h"
#include "ze_env.h"

#define THREADS 8
#define REGION ((size_t)64 << 10)

struct worker {
	struct aml_dma *dma;
	uint32_t id;
	size_t iterations;
	uint8_t *src;
	uint8_t *dst;
	uint8_t *device;
	int failed_line;
};

/* xorshift: reproducible per thread, no shared state. */
static uint32_t next_random(uint32_t *state)
{
	uint32_t x = *state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

#define WORKER_CHECK(w, cond)                                                \
	do {                                                                 \
		if (!(cond)) {                                               \
			(w)->failed_line = __LINE__;                         \
			return NULL;                                         \
		}                                                            \
	} while (0)

static int copy(struct aml_dma *dma, struct aml_dma_request **req, void *dst,
                void *src, size_t size)
{
	return aml_dma_ze_request_create(dma->data, req,
	                                 (struct aml_layout *)dst,
	                                 (struct aml_layout *)src,
	                                 aml_dma_ze_memcpy_op, (void *)size);
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct aml_dma_data *data = w->dma->data;
	uint32_t random_state = 0x9E3779B9u ^ (w->id * 7919u + 1);

	for (size_t i = 0; i < w->iterations; i++) {
		size_t size = 1 + next_random(&random_state) % REGION;
		uint32_t seed = w->id * 1000003u + (uint32_t)i;
		struct aml_dma_request *req = NULL;

		pattern_fill(w->src, size, seed);
		switch (i % 3) {
		case 0:
			WORKER_CHECK(w, copy(w->dma, &req, w->device, w->src,
			                     size) == AML_SUCCESS);
			WORKER_CHECK(w, aml_dma_ze_request_wait(data, &req) ==
			                        AML_SUCCESS);
			break;
		case 1:
			/* Destroying a request does not wait; the barrier
			 * does. */
			WORKER_CHECK(w, copy(w->dma, &req, w->device, w->src,
			                     size) == AML_SUCCESS);
			WORKER_CHECK(w, aml_dma_ze_request_destroy(data, &req) ==
			                        AML_SUCCESS);
			WORKER_CHECK(w, req == NULL);
			WORKER_CHECK(w, aml_dma_ze_barrier(data) == AML_SUCCESS);
			break;
		default:
			WORKER_CHECK(w, copy(w->dma, NULL, w->device, w->src,
			                     size) == AML_SUCCESS);
			WORKER_CHECK(w, aml_dma_ze_barrier(data) == AML_SUCCESS);
			break;
		}
		memset(w->dst, 0, size);
		WORKER_CHECK(w, copy(w->dma, &req, w->dst, w->device, size) ==
		                        AML_SUCCESS);
		WORKER_CHECK(w, aml_dma_ze_request_wait(data, &req) ==
		                        AML_SUCCESS);
		WORKER_CHECK(w, pattern_first_mismatch(w->dst, size, seed) ==
		                        size);
	}
	return NULL;
}

int main(void)
{
	struct ze_env env;
	struct aml_dma *dma = NULL;
	struct worker workers[THREADS];
	pthread_t threads[THREADS];
	const size_t iterations = 2000;

	ze_env_open(&env);
	CHECK_INT(aml_dma_ze_create(&dma, env.device, ze_env_ordinal(), 0), AML_SUCCESS);
	uint8_t *src = malloc(THREADS * REGION);
	uint8_t *dst = malloc(THREADS * REGION);
	uint8_t *device = ze_env_device_alloc(&env, THREADS * REGION);
	CHECK(src != NULL && dst != NULL);

	for (uint32_t t = 0; t < THREADS; t++) {
		workers[t] = (struct worker){
		        .dma = dma,
		        .id = t,
		        .iterations = iterations,
		        .src = src + t * REGION,
		        .dst = dst + t * REGION,
		        .device = device + t * REGION,
		};
		CHECK_INT(pthread_create(&threads[t], NULL, worker_run,
		                         &workers[t]),
		          0);
	}
	for (uint32_t t = 0; t < THREADS; t++) {
		CHECK_INT(pthread_join(threads[t], NULL), 0);
		if (workers[t].failed_line != 0)
			fprintf(stderr, "thread %u failed at line %d\n", t,
			        workers[t].failed_line);
		CHECK_INT(workers[t].failed_line, 0);
	}

	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	ze_env_device_free(&env, device);
	ze_env_close(&env);
	free(src);
	free(dst);
	return CTEST_EXIT_PASS;
}
