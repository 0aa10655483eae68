/*
 * A model of upstream AML's request strategy, for comparison only: one event
 * pool and one event created per request and per barrier, destroyed on wait
 * (the behaviour issue 5 describes: 6 driver calls per synchronous copy).
 * Written from that description, not from upstream's source; it exports the
 * same ABI, so `make bench-upstream-model` LD_PRELOADs it under the same
 * bench binary. It is not shipped and not tested beyond that use.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <level_zero/ze_api.h>

#define M_SUCCESS 0
#define M_ENOMEM 2
#define M_EINVAL 3
#define M_FAILURE 1

struct aml_dma_data;
struct aml_dma_request;
struct aml_layout;
typedef int (*aml_dma_operator)(struct aml_layout *dst, const struct aml_layout *src, void *arg);
struct aml_dma_ops {
	int (*create_request)(struct aml_dma_data *, struct aml_dma_request **, struct aml_layout *,
	                      struct aml_layout *, aml_dma_operator, void *);
	int (*destroy_request)(struct aml_dma_data *, struct aml_dma_request **);
	int (*wait_request)(struct aml_dma_data *, struct aml_dma_request **);
	int (*barrier)(struct aml_dma_data *);
	int (*fprintf)(const struct aml_dma_data *, FILE *, const char *);
};
struct aml_dma {
	struct aml_dma_ops *ops;
	struct aml_dma_data *data;
};
struct model_data { /* the aml_dma_ze_data layout */
	ze_context_handle_t context;
	ze_device_handle_t device;
	ze_command_list_handle_t list;
	ze_event_scope_flags_t event_flags;
	pthread_mutex_t lock;
};
struct model_req { /* the aml_dma_ze_request layout */
	ze_event_handle_t event;
	ze_event_pool_handle_t pool;
	int flags;
};
struct model_args {
	struct model_data *data;
	struct model_req *req;
	void *arg;
};

static int err_of(ze_result_t r)
{
	return r == ZE_RESULT_SUCCESS ? M_SUCCESS : -M_FAILURE;
}

/* One pool of one event: the per-request cost being modelled. */
static int one_event(struct model_data *d, ze_event_pool_handle_t *pool, ze_event_handle_t *ev)
{
	ze_event_pool_desc_t pd = {.stype = ZE_STRUCTURE_TYPE_EVENT_POOL_DESC,
	                           .flags = ZE_EVENT_POOL_FLAG_HOST_VISIBLE,
	                           .count = 1};
	ze_event_desc_t ed = {.stype = ZE_STRUCTURE_TYPE_EVENT_DESC, .index = 0, .wait = d->event_flags};
	if (zeEventPoolCreate(d->context, &pd, 1, &d->device, pool) != ZE_RESULT_SUCCESS)
		return -M_FAILURE;
	if (zeEventCreate(*pool, &ed, ev) != ZE_RESULT_SUCCESS) {
		zeEventPoolDestroy(*pool);
		return -M_FAILURE;
	}
	return M_SUCCESS;
}

int aml_dma_ze_memcpy_op(struct aml_layout *dst, const struct aml_layout *src, void *arg)
{
	struct model_args *a = arg;
	return err_of(zeCommandListAppendMemoryCopy(a->data->list, dst, src, (size_t)a->arg,
	                                            a->req ? a->req->event : NULL, 0, NULL));
}

static int model_request_create(struct aml_dma_data *data, struct aml_dma_request **req, struct aml_layout *dst,
                                struct aml_layout *src, aml_dma_operator op, void *op_arg)
{
	struct model_data *d = (struct model_data *)data;
	struct model_req *r = NULL;
	if (!op)
		return -M_EINVAL;
	if (req) {
		r = calloc(1, sizeof *r);
		if (!r)
			return -M_ENOMEM;
		if (one_event(d, &r->pool, &r->event)) {
			free(r);
			return -M_FAILURE;
		}
	}
	struct model_args a = {d, r, op_arg};
	pthread_mutex_lock(&d->lock);
	int err = op(dst, src, &a);
	pthread_mutex_unlock(&d->lock);
	if (err) {
		if (r) {
			zeEventDestroy(r->event);
			zeEventPoolDestroy(r->pool);
			free(r);
		}
		return err;
	}
	if (req)
		*req = (struct aml_dma_request *)r;
	return M_SUCCESS;
}

static int model_request_destroy(struct aml_dma_data *data, struct aml_dma_request **req)
{
	(void)data;
	if (req && *req) {
		struct model_req *r = (struct model_req *)*req;
		zeEventDestroy(r->event);
		zeEventPoolDestroy(r->pool);
		free(r);
		*req = NULL;
	}
	return M_SUCCESS;
}

static int model_request_wait(struct aml_dma_data *data, struct aml_dma_request **req)
{
	if (!req || !*req)
		return -M_EINVAL;
	struct model_req *r = (struct model_req *)*req;
	int err = err_of(zeEventHostSynchronize(r->event, UINT64_MAX));
	model_request_destroy(data, req);
	return err;
}

static int model_barrier(struct aml_dma_data *data)
{
	struct model_data *d = (struct model_data *)data;
	ze_event_pool_handle_t pool;
	ze_event_handle_t ev;
	if (one_event(d, &pool, &ev))
		return -M_FAILURE;
	pthread_mutex_lock(&d->lock);
	int err = err_of(zeCommandListAppendBarrier(d->list, ev, 0, NULL));
	pthread_mutex_unlock(&d->lock);
	if (!err)
		err = err_of(zeEventHostSynchronize(ev, UINT64_MAX));
	zeEventDestroy(ev);
	zeEventPoolDestroy(pool);
	return err;
}

struct aml_dma_ops aml_dma_ze_ops = {
	.create_request = model_request_create,
	.destroy_request = model_request_destroy,
	.wait_request = model_request_wait,
	.barrier = model_barrier,
	.fprintf = NULL,
};

int aml_dma_ze_create(struct aml_dma **dma, ze_device_handle_t device, int ordinal, int index)
{
	if (!dma)
		return -M_EINVAL;
	struct aml_dma *out = calloc(1, sizeof *out + sizeof(struct model_data));
	if (!out)
		return -M_ENOMEM;
	struct model_data *d = (struct model_data *)(out + 1);
	out->ops = &aml_dma_ze_ops;
	out->data = (struct aml_dma_data *)d;
	d->device = device;
	pthread_mutex_init(&d->lock, NULL);
	ze_driver_handle_t drv;
	uint32_t n = 1;
	ze_context_desc_t cd = {.stype = ZE_STRUCTURE_TYPE_CONTEXT_DESC};
	ze_command_queue_desc_t qd = {.stype = ZE_STRUCTURE_TYPE_COMMAND_QUEUE_DESC,
	                              .ordinal = (uint32_t)ordinal,
	                              .index = (uint32_t)index,
	                              .flags = ZE_COMMAND_QUEUE_FLAG_EXPLICIT_ONLY,
	                              .mode = ZE_COMMAND_QUEUE_MODE_ASYNCHRONOUS,
	                              .priority = ZE_COMMAND_QUEUE_PRIORITY_NORMAL};
	ze_device_properties_t props = {.stype = ZE_STRUCTURE_TYPE_DEVICE_PROPERTIES};
	if (zeInit(0) || zeDriverGet(&n, &drv) || zeContextCreate(drv, &cd, &d->context))
		goto fail;
	if (zeCommandListCreateImmediate(d->context, device, &qd, &d->list)) {
		zeContextDestroy(d->context);
		goto fail;
	}
	d->event_flags = ZE_EVENT_SCOPE_FLAG_HOST;
	if (zeDeviceGetProperties(device, &props) == ZE_RESULT_SUCCESS &&
	    (props.flags & ZE_DEVICE_PROPERTY_FLAG_SUBDEVICE))
		d->event_flags |= ZE_EVENT_SCOPE_FLAG_SUBDEVICE;
	else
		d->event_flags |= ZE_EVENT_SCOPE_FLAG_DEVICE;
	*dma = out;
	return M_SUCCESS;
fail:
	pthread_mutex_destroy(&d->lock);
	free(out);
	return -M_FAILURE;
}

int aml_dma_ze_destroy(struct aml_dma **dma)
{
	if (!dma)
		return -M_EINVAL;
	if (!*dma)
		return M_SUCCESS;
	struct model_data *d = (struct model_data *)(*dma)->data;
	model_barrier((*dma)->data);
	zeCommandListDestroy(d->list);
	zeContextDestroy(d->context);
	pthread_mutex_destroy(&d->lock);
	free(*dma);
	*dma = NULL;
	return M_SUCCESS;
}
