/* A custom aml_dma_operator written in C: it receives the dma's
 * aml_dma_ze_copy_args, appends its own copy on ze_data->command_list
 * signalling ze_req->event, and the library's wait/barrier complete it. It
 * also runs under ze_data->lock, which the library holds around operators.
 * Another chains to aml_dma_ze_memcpy_op / aml_dma_ze_copy_1D directly. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <aml/dma/ze.h>

#include "check.h"
#include "dense_layout.h"
#include "pattern.h"
#include "ze_env.h"

#define SIZE ((size_t)300001)

struct split_copy {
	size_t size;
	size_t calls;
	struct aml_dma_ze_data *seen_data;
	int lock_was_held;
};

/* Copies in two appends: the first half unsignalled, the second signalling
 * the request's event; in-order execution of the immediate list makes the
 * event mean both are done. */
static int split_copy_op(struct aml_layout *dst, const struct aml_layout *src,
                         void *arg)
{
	struct aml_dma_ze_copy_args *args = arg;
	struct split_copy *self = args->arg;
	size_t half = self->size / 2;

	self->calls++;
	self->seen_data = args->ze_data;
	/* trylock on a mutex this thread holds fails with EBUSY; on a free
	 * (or foreign-held) one it succeeds, which we then undo. */
	int lock = pthread_mutex_trylock(&args->ze_data->lock);
	self->lock_was_held = lock != 0;
	if (lock == 0)
		pthread_mutex_unlock(&args->ze_data->lock);

	ze_event_handle_t signal =
	        args->ze_req != NULL ? args->ze_req->event : NULL;
	ze_result_t r = zeCommandListAppendMemoryCopy(
	        args->ze_data->command_list, dst, src, half, NULL, 0, NULL);
	if (r != ZE_RESULT_SUCCESS)
		return -AML_FAILURE;
	r = zeCommandListAppendMemoryCopy(args->ze_data->command_list,
	                                  (uint8_t *)dst + half,
	                                  (const uint8_t *)src + half,
	                                  self->size - half, signal, 0, NULL);
	return r == ZE_RESULT_SUCCESS ? AML_SUCCESS : -AML_FAILURE;
}

/* An operator that counts and hands over to the library's own operators,
 * called directly with the copy_args it was given. */
static size_t chained_calls;
static int chaining_op(struct aml_layout *dst, const struct aml_layout *src,
                       void *arg)
{
	struct aml_dma_ze_copy_args *args = arg;

	chained_calls++;
	if (args->arg == NULL)
		return aml_dma_ze_copy_1D(dst, src, arg);
	return aml_dma_ze_memcpy_op(dst, src, arg);
}

static int refusing_op(struct aml_layout *dst, const struct aml_layout *src,
                       void *arg)
{
	(void)dst;
	(void)src;
	(void)arg;
	return -AML_EDOM;
}

int main(void)
{
	struct ze_env env;
	struct aml_dma *dma = NULL;
	struct aml_dma_request *req = NULL;
	struct split_copy op = {.size = SIZE};
	uint8_t *src = malloc(SIZE), *dst = calloc(1, SIZE);

	CHECK(src != NULL && dst != NULL);
	ze_env_open(&env);
	void *device = ze_env_device_alloc(&env, SIZE);
	CHECK_INT(aml_dma_ze_create(&dma, env.device, ze_env_ordinal(), 0), AML_SUCCESS);
	pattern_fill(src, SIZE, 5);

	CHECK_INT(aml_dma_ze_request_create(dma->data, &req,
	                                    (struct aml_layout *)device,
	                                    (struct aml_layout *)src,
	                                    split_copy_op, &op),
	          AML_SUCCESS);
	CHECK_INT(op.calls, 1);
	CHECK(op.seen_data == (struct aml_dma_ze_data *)dma->data);
	CHECK(op.lock_was_held);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);

	/* Back with a NULL request: the operator sees ze_req non-NULL with a
	 * NULL event (fire-and-forget), and the barrier completes it. */
	CHECK_INT(aml_dma_ze_request_create(dma->data, NULL,
	                                    (struct aml_layout *)dst,
	                                    (struct aml_layout *)device,
	                                    split_copy_op, &op),
	          AML_SUCCESS);
	CHECK_INT(op.calls, 2);
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	CHECK_INT(pattern_first_mismatch(dst, SIZE, 5), SIZE);

	/* Chaining to aml_dma_ze_memcpy_op (op_arg = size) ... */
	memset(dst, 0, SIZE);
	pattern_fill(src, SIZE, 6);
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req,
	                                    (struct aml_layout *)dst,
	                                    (struct aml_layout *)src,
	                                    chaining_op, (void *)SIZE),
	          AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	CHECK_INT(pattern_first_mismatch(dst, SIZE, 6), SIZE);
	/* ... and to aml_dma_ze_copy_1D (op_arg NULL, dense layouts). */
	struct dense_layout dst_l, src_l;
	memset(dst, 0, SIZE);
	dense_layout_1d(&dst_l, dst, 1, SIZE);
	dense_layout_1d(&src_l, src, 1, SIZE);
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, &dst_l.layout,
	                                    &src_l.layout, chaining_op, NULL),
	          AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	CHECK_INT(pattern_first_mismatch(dst, SIZE, 6), SIZE);
	CHECK_INT(chained_calls, 2);

	/* An operator's error comes back unchanged and leaves no request. */
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req,
	                                    (struct aml_layout *)dst,
	                                    (struct aml_layout *)src,
	                                    refusing_op, NULL),
	          -AML_EDOM);
	CHECK(req == NULL);
	CHECK_INT(aml_dma_ze_request_create(dma->data, NULL,
	                                    (struct aml_layout *)dst,
	                                    (struct aml_layout *)src,
	                                    refusing_op, NULL),
	          -AML_EDOM);
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);

	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	ze_env_device_free(&env, device);
	ze_env_close(&env);
	free(src);
	free(dst);
	return CTEST_EXIT_PASS;
}
