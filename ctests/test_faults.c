/* Failure paths: for one Level Zero function the library calls (argv[1]),
 * make the driver fail exactly that call and check the library returns the
 * documented -AML_* code, does not crash, leaks nothing it created, and that
 * a dma works afterwards. One process per function, so that each case meets
 * the library in a known state (e.g. zeInit is only called on first use).
 * Usage: test_faults ze<Function>    (test_faults --list prints them all) */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <aml/dma/ze.h>

#include "check.h"
#include "driver_ctl.h"
#include "layout_dense.h"
#include "pattern.h"
#include "ze_env.h"

#define SIZE ((size_t)8192 + 5)

/* Where the library makes the call. */
enum scenario {
	ON_CREATE,           /* aml_dma_ze_create on the root device */
	ON_CREATE_SUBDEVICE, /* aml_dma_ze_create on a subdevice */
	ON_FIRST_REQUEST,    /* first request of a fresh dma: events made */
	ON_REQUEST_CREATE,   /* a request of a warm dma: the append */
	ON_REGION_REQUEST,   /* a copy_nd request of a 2-D tile: the region append */
	ON_WAIT,             /* aml_dma_ze_request_wait */
	ON_REQUEST_DESTROY,  /* aml_dma_ze_request_destroy, copy in flight */
	ON_BARRIER,          /* aml_dma_ze_barrier */
	ON_DESTROY,          /* aml_dma_ze_destroy: failures are not reported */
};

struct fault_case {
	const char *function;
	enum scenario scenario;
	ze_result_t injected;
	int expected;
};

/* Injected results vary so that every row of the ze_result_t -> AML table
 * of abi.md is met at least once. */
static const struct fault_case cases[] = {
        /* A failing zeInit means Level Zero is unusable now: -AML_ENOTSUP.
         * Two cases (main, on_failed_first_init, on_later_init):
         * - the process's first zeInit fails (the library calls it first):
         *   every loader then keeps the failure for the process (loaders
         *   1.8 and 1.32 both drop a driver whose first zeInit fails), and
         *   the library must keep answering -AML_ENOTSUP, nothing more;
         * - a zeInit after the program's own succeeded fails: only where
         *   the loader calls the driver again (loader 1.8.12 does; from
         *   1.10 on, zeInit runs once per process and later calls return
         *   its result, source/lib/ze_libapi.cpp), and there a later
         *   zeInit succeeds and the driver works again, so a transient
         *   failure must not disable the library for the whole process. */
        {"zeInit", ON_CREATE, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY,
         -AML_ENOTSUP},
        {"zeDriverGet", ON_CREATE, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY,
         -AML_ENOMEM},
        {"zeDeviceGet", ON_CREATE, ZE_RESULT_ERROR_DEVICE_LOST, -AML_FAILURE},
        {"zeDeviceGetSubDevices", ON_CREATE_SUBDEVICE,
         ZE_RESULT_ERROR_INSUFFICIENT_PERMISSIONS, -AML_EPERM},
        {"zeDeviceGetProperties", ON_CREATE,
         ZE_RESULT_ERROR_UNSUPPORTED_FEATURE, -AML_ENOTSUP},
        {"zeDeviceGetCommandQueueGroupProperties", ON_CREATE,
         ZE_RESULT_ERROR_INVALID_ARGUMENT, -AML_EINVAL},
        {"zeContextCreate", ON_CREATE, ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY,
         -AML_ENOMEM},
        {"zeCommandListCreateImmediate", ON_CREATE,
         ZE_RESULT_ERROR_UNSUPPORTED_ENUMERATION, -AML_ENOTSUP},
        {"zeEventPoolCreate", ON_FIRST_REQUEST,
         ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY, -AML_ENOMEM},
        {"zeEventCreate", ON_FIRST_REQUEST,
         ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE, -AML_EBUSY},
        {"zeCommandListAppendMemoryCopy", ON_REQUEST_CREATE,
         ZE_RESULT_ERROR_OVERLAPPING_REGIONS, -AML_EDOM},
        {"zeCommandListAppendMemoryCopyRegion", ON_REGION_REQUEST,
         ZE_RESULT_ERROR_UNSUPPORTED_SIZE, -AML_ENOTSUP},
        {"zeCommandListAppendBarrier", ON_BARRIER, ZE_RESULT_ERROR_DEVICE_LOST,
         -AML_FAILURE},
        /* An EINVAL-class code on purpose: wait must still free the request
         * and clear *req, as it documents. */
        {"zeEventHostSynchronize", ON_WAIT,
         ZE_RESULT_ERROR_INVALID_NULL_HANDLE, -AML_EINVAL},
        {"zeEventHostReset", ON_WAIT, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY,
         -AML_ENOMEM},
        {"zeEventQueryStatus", ON_REQUEST_DESTROY, ZE_RESULT_ERROR_DEVICE_LOST,
         -AML_FAILURE},
        /* Teardown: like upstream, destroy cannot report what it could not
         * release; it must still finish and set *dma to NULL. */
        {"zeEventDestroy", ON_DESTROY, ZE_RESULT_ERROR_INVALID_NULL_HANDLE,
         AML_SUCCESS},
        {"zeEventPoolDestroy", ON_DESTROY, ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE,
         AML_SUCCESS},
        {"zeCommandListDestroy", ON_DESTROY, ZE_RESULT_ERROR_DEVICE_LOST,
         AML_SUCCESS},
        {"zeContextDestroy", ON_DESTROY, ZE_RESULT_ERROR_UNKNOWN, AML_SUCCESS},
};

static struct ze_env env;
static uint8_t host_src[SIZE], host_dst[SIZE];

static void round_trip(struct aml_dma *dma, uint32_t seed)
{
	struct aml_dma_request *req = NULL;
	void *device = ze_env_device_alloc(&env, SIZE);

	pattern_fill(host_src, SIZE, seed);
	memset(host_dst, 0, SIZE);
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req,
	                                    (struct aml_layout *)device,
	                                    (struct aml_layout *)host_src,
	                                    aml_dma_ze_memcpy_op, (void *)SIZE),
	          AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_create(dma->data, NULL,
	                                    (struct aml_layout *)host_dst,
	                                    (struct aml_layout *)device,
	                                    aml_dma_ze_memcpy_op, (void *)SIZE),
	          AML_SUCCESS);
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	CHECK_INT(pattern_first_mismatch(host_dst, SIZE, seed), SIZE);
	ze_env_device_free(&env, device);
}

static struct aml_dma *new_dma(void)
{
	struct aml_dma *dma = NULL;

	CHECK_INT(aml_dma_ze_create(&dma, env.device, ze_env_ordinal(), 0), AML_SUCCESS);
	CHECK(dma != NULL);
	return dma;
}

/* The fault must have been consumed by a call of the library, not left
 * pending: the function was called during the operation. */
static uint64_t calls_before;
static void arm(const struct fault_case *c)
{
	calls_before = driver_calls(c->function);
	driver_fault(c->function, 1, c->injected);
}

static void disarm(const struct fault_case *c)
{
	CHECK(driver_calls(c->function) > calls_before);
	driver_fault_clear();
}

static ze_device_handle_t first_subdevice(void)
{
	uint32_t count = 1;
	ze_device_handle_t sub = NULL;

	CHECK_INT(zeDeviceGetSubDevices(env.device, &count, &sub),
	          ZE_RESULT_SUCCESS);
	if (count == 0)
		SKIP("the device has no subdevice (a device of several stacks has them under ZE_FLAT_DEVICE_HIERARCHY=COMPOSITE)");
	return sub;
}

static void on_create(const struct fault_case *c, ze_device_handle_t device)
{
	struct aml_dma *dma = NULL;
	uint64_t contexts = driver_live("context");
	uint64_t lists = driver_live("command_list");

	arm(c);
	CHECK_INT(aml_dma_ze_create(&dma, device, ze_env_ordinal(), 0), c->expected);
	disarm(c);
	CHECK(dma == NULL);
	/* A failed create releases what it made. */
	CHECK_INT(driver_live("context"), contexts);
	CHECK_INT(driver_live("command_list"), lists);

	CHECK_INT(aml_dma_ze_create(&dma, device, ze_env_ordinal(), 0), AML_SUCCESS);
	round_trip(dma, 1);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
}

static void on_request(const struct fault_case *c, int warm)
{
	struct aml_dma *dma = new_dma();
	struct aml_dma_request *req = NULL;

	if (warm)
		round_trip(dma, 2);
	arm(c);
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req,
	                                    (struct aml_layout *)host_dst,
	                                    (struct aml_layout *)host_src,
	                                    aml_dma_ze_memcpy_op, (void *)SIZE),
	          c->expected);
	disarm(c);
	CHECK(req == NULL);
	if (warm) {
		/* Fire-and-forget requests fail the same way. */
		arm(c);
		CHECK_INT(aml_dma_ze_request_create(
		                  dma->data, NULL, (struct aml_layout *)host_dst,
		                  (struct aml_layout *)host_src,
		                  aml_dma_ze_memcpy_op, (void *)SIZE),
		          c->expected);
		disarm(c);
	}
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	round_trip(dma, 3);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
}

/* A 2-D tile (16 rows of 64 of 128 bytes) of host_src to a packed device
 * array and back into host_dst, with the tile's bytes verified. */
#define TILE_ROWS 16
#define TILE_COLUMNS 64
#define ROW_BYTES 128

static void make_tile_layouts(void *device, struct aml_layout **tile,
                              struct aml_layout **packed,
                              struct aml_layout **back)
{
	struct aml_layout *array = NULL, *array_back = NULL;
	const size_t dims[2] = {TILE_ROWS + 4, ROW_BYTES};
	const size_t offsets[2] = {2, 32};
	const size_t tile_dims[2] = {TILE_ROWS, TILE_COLUMNS};

	CHECK((TILE_ROWS + 4) * ROW_BYTES <= SIZE);
	CHECK_INT(aml_layout_dense_create(&array, host_src, AML_LAYOUT_ORDER_ROW_MAJOR,
	                                  1, 2, dims, NULL, NULL), AML_SUCCESS);
	CHECK_INT(aml_layout_slice(array, tile, offsets, tile_dims, NULL), AML_SUCCESS);
	CHECK_INT(aml_layout_dense_create(&array_back, host_dst, AML_LAYOUT_ORDER_ROW_MAJOR,
	                                  1, 2, dims, NULL, NULL), AML_SUCCESS);
	CHECK_INT(aml_layout_slice(array_back, back, offsets, tile_dims, NULL), AML_SUCCESS);
	CHECK_INT(aml_layout_dense_create(packed, device, AML_LAYOUT_ORDER_ROW_MAJOR,
	                                  1, 2, tile_dims, NULL, NULL), AML_SUCCESS);
	aml_layout_destroy(&array);
	aml_layout_destroy(&array_back);
}

static void on_region_request(const struct fault_case *c)
{
	struct aml_dma *dma = new_dma();
	struct aml_dma_request *req = NULL;
	struct aml_layout *tile, *packed, *back;
	void *device = ze_env_device_alloc(&env, TILE_ROWS * TILE_COLUMNS);
	uint64_t events = driver_live("event");

	make_tile_layouts(device, &tile, &packed, &back);
	round_trip(dma, 2);
	arm(c);
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, packed, tile,
	                                    aml_dma_ze_copy_nd, NULL),
	          c->expected);
	disarm(c);
	CHECK(req == NULL);
	arm(c);
	CHECK_INT(aml_dma_ze_request_create(dma->data, NULL, packed, tile, NULL, NULL),
	          c->expected);
	disarm(c);
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	/* The failed requests took no event for good. */
	CHECK(driver_live("event") <= events + 256);
	/* The dma still copies tiles. */
	pattern_fill(host_src, SIZE, 9);
	memset(host_dst, 0, SIZE);
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, packed, tile,
	                                    aml_dma_ze_copy_nd, NULL), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req, back, packed,
	                                    aml_dma_ze_copy_nd, NULL), AML_SUCCESS);
	CHECK_INT(aml_dma_ze_request_wait(dma->data, &req), AML_SUCCESS);
	for (size_t row = 0; row < TILE_ROWS; row++) {
		size_t at = (2 + row) * ROW_BYTES + 32;
		CHECK(memcmp(host_dst + at, host_src + at, TILE_COLUMNS) == 0);
	}
	aml_layout_destroy(&tile);
	aml_layout_destroy(&packed);
	aml_layout_destroy(&back);
	ze_env_device_free(&env, device);
	round_trip(dma, 3);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	CHECK_INT(driver_live("event"), events);
}

static void on_completion(const struct fault_case *c)
{
	struct aml_dma *dma = new_dma();
	struct aml_dma_request *req = NULL;

	round_trip(dma, 4);
	CHECK_INT(aml_dma_ze_request_create(dma->data, &req,
	                                    (struct aml_layout *)host_dst,
	                                    (struct aml_layout *)host_src,
	                                    aml_dma_ze_memcpy_op, (void *)SIZE),
	          AML_SUCCESS);
	arm(c);
	if (c->scenario == ON_WAIT)
		CHECK_INT(aml_dma_ze_request_wait(dma->data, &req),
		          c->expected);
	else
		CHECK_INT(aml_dma_ze_request_destroy(dma->data, &req),
		          c->expected);
	disarm(c);
	/* The request is gone whatever the outcome. */
	CHECK(req == NULL);
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	/* Enough requests to need every recycled event again. */
	for (uint32_t i = 0; i < 70; i++)
		round_trip(dma, 10 + i);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
}

static void on_barrier(const struct fault_case *c)
{
	struct aml_dma *dma = new_dma();

	round_trip(dma, 5);
	CHECK_INT(aml_dma_ze_request_create(dma->data, NULL,
	                                    (struct aml_layout *)host_dst,
	                                    (struct aml_layout *)host_src,
	                                    aml_dma_ze_memcpy_op, (void *)SIZE),
	          AML_SUCCESS);
	arm(c);
	CHECK_INT(aml_dma_ze_barrier(dma->data), c->expected);
	disarm(c);
	CHECK_INT(aml_dma_ze_barrier(dma->data), AML_SUCCESS);
	round_trip(dma, 6);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
}

static void on_destroy(const struct fault_case *c)
{
	struct aml_dma *dma = new_dma();

	round_trip(dma, 7);
	arm(c);
	CHECK_INT(aml_dma_ze_destroy(&dma), c->expected);
	disarm(c);
	CHECK(dma == NULL);
	dma = new_dma();
	round_trip(dma, 8);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
}

/* The process's first zeInit fails: the driver is opened before any zeInit
 * (the loader opens the same copy later), the fault armed on its very first
 * zeInit, and the library is the first to call zeInit. Run in a child of
 * its own, a process where Level Zero was never started. */
static void on_failed_first_init(void)
{
	const char *drivers = getenv("ZE_ENABLE_ALT_DRIVERS");
	char path[4096];

	CHECK(drivers != NULL);
	size_t length = strcspn(drivers, ",");
	CHECK(length > 0 && length < sizeof(path));
	memcpy(path, drivers, length);
	path[length] = '\0';
	CHECK(dlopen(path, RTLD_NOW) != NULL);
	driver_ctl_load();
	driver_fault("zeInit", 1, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY);

	CHECK_INT(aml_dma_ze_default_setup(), -AML_ENOTSUP);
	CHECK(aml_dma_ze_default == NULL);
	CHECK(driver_calls("zeInit") >= 1);
	/* Nothing was made after the failed zeInit. */
	CHECK_INT(driver_calls("zeContextCreate"), 0);
	CHECK_INT(driver_live("context"), 0);

	/* Whether the failure lasts is the loader's to say: the library must
	 * agree with what zeInit now answers. */
	if (zeInit(0) == ZE_RESULT_SUCCESS) {
		CHECK_INT(aml_dma_ze_default_setup(), AML_SUCCESS);
		CHECK(aml_dma_ze_default != NULL);
	} else {
		CHECK_INT(aml_dma_ze_default_setup(), -AML_ENOTSUP);
		CHECK(aml_dma_ze_default == NULL);
		CHECK_INT(driver_live("context"), 0);
	}
	CHECK_INT(aml_dma_ze_default_teardown(), AML_SUCCESS);
	CHECK(aml_dma_ze_default == NULL);
	printf("zeInit: a failing first zeInit handled\n");
}

static void in_child(void (*run)(void))
{
	fflush(NULL);
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		run();
		fflush(NULL);
		_exit(CTEST_EXIT_PASS);
	}
	int status = 0;
	CHECK(waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status));
	CHECK_INT(WEXITSTATUS(status), CTEST_EXIT_PASS);
}

/* A zeInit after the program's own succeeded (ze_env_open) fails. Only a
 * loader that calls the driver's zeInit again can fail it; on one that
 * answers every later zeInit with the first one's result, the library's
 * zeInit never reaches the driver, and its dma must simply work. */
static void on_later_init(const struct fault_case *c)
{
	uint64_t before = driver_calls("zeInit");

	CHECK_INT(zeInit(0), ZE_RESULT_SUCCESS);
	if (driver_calls("zeInit") > before) {
		on_create(c, env.device);
		return;
	}
	struct aml_dma *dma = NULL;

	before = driver_calls("zeInit");
	driver_fault(c->function, 1, c->injected);
	CHECK_INT(aml_dma_ze_create(&dma, env.device, ze_env_ordinal(), 0), AML_SUCCESS);
	CHECK_INT(driver_calls("zeInit"), before);
	driver_fault_clear();
	round_trip(dma, 1);
	CHECK_INT(aml_dma_ze_destroy(&dma), AML_SUCCESS);
	printf("zeInit: this loader calls the driver's zeInit once per process: "
	       "a later zeInit cannot fail\n");
}

int main(int argc, char **argv)
{
	const size_t n = sizeof(cases) / sizeof(cases[0]);

	CHECK(argc == 2);
	if (strcmp(argv[1], "--list") == 0) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", cases[i].function);
		return CTEST_EXIT_PASS;
	}
	const struct fault_case *c = NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(argv[1], cases[i].function) == 0)
			c = &cases[i];
	CHECK(c != NULL);

	if (strcmp(c->function, "zeInit") == 0)
		in_child(on_failed_first_init);
	ze_env_open(&env);
	driver_ctl_load();
	switch (c->scenario) {
	case ON_CREATE:
		if (strcmp(c->function, "zeInit") == 0)
			on_later_init(c);
		else
			on_create(c, env.device);
		break;
	case ON_CREATE_SUBDEVICE:
		on_create(c, first_subdevice());
		break;
	case ON_FIRST_REQUEST:
		on_request(c, 0);
		break;
	case ON_REQUEST_CREATE:
		on_request(c, 1);
		break;
	case ON_REGION_REQUEST:
		on_region_request(c);
		break;
	case ON_WAIT:
	case ON_REQUEST_DESTROY:
		on_completion(c);
		break;
	case ON_BARRIER:
		on_barrier(c);
		break;
	case ON_DESTROY:
		on_destroy(c);
		break;
	}
	ze_env_close(&env);
	printf("%s: fault handled\n", c->function);
	return CTEST_EXIT_PASS;
}
