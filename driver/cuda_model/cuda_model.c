/* A CPU model of the part of the CUDA driver API that swze's cuda backend
 * uses, so that the backend's own logic (streams, event words written and
 * waited on by streams, tagged signals, retirement, the fallback without
 * 64-bit stream writes) runs in CI, where no GPU is. Loaded by the backend in
 * place of libcuda (SWZE_CUDA_LIBRARY=.../libcudamodel.so); never a stand-in
 * for performance, and it checks nothing of the arguments CUDA would. It
 * also has the few calls more that bench/gpu_signals.c makes (CUDA
 * events, cuMemcpyHtoDAsync), so that a smoke run catches the benchmark's
 * mistakes before it reaches a GPU.
 *
 * CUDA_MODEL_DEVICES devices (default 1, at most 8), each with one primary
 * context; "device" memory is host memory (the backend never reads it from
 * the host), owned by the device whose context was current when it was
 * allocated, and the model knows its own allocations, so memsets of `malloc`
 * memory fail as CUDA's do while copies of it work; a stream is a thread
 * running its operations in order, and belongs to the context current at
 * its creation; it holds at most CUDA_MODEL_QUEUE_DEPTH queued operations
 * (default 1024, 0: unbounded) and an enqueue that finds it full waits, as
 * one into a full pushbuffer does; a copy between host memories or with
 * `malloc` memory on a side returns only once the stream ran it (the worst
 * case CUDA's synchronization rules allow); stream writes are release
 * stores after a fence, as a device write with a memory barrier before it.
 *
 * Several devices, as CUDA has them: cuDeviceCanAccessPeer says yes for
 * every pair of distinct devices unless CUDA_MODEL_NO_PEER=1;
 * cuCtxEnablePeerAccess from the current context to a peer's answers
 * CUDA_ERROR_PEER_ACCESS_UNSUPPORTED where access is refused and
 * CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED the second time. A copy whose source
 * or destination is another device's memory, on a stream whose context has
 * no peer access to that device, works (CUDA stages it through the host) but
 * is counted as staged, so a test can tell that peer access was enabled
 * first; a stream memory operation on such memory fails, as would a device
 * reading memory it cannot reach; pinned memory is device-mapped in every
 * context only when allocated CU_MEMHOSTALLOC_PORTABLE (else only in the
 * allocating one: cuMemHostGetDevicePointer and stream memory operations
 * elsewhere fail). cuCtxSynchronize drains the current context's streams.
 *
 * Environment: CUDA_MODEL_NO_WRITE64=1 makes
 * 64-bit stream writes fail with CUDA_ERROR_NOT_SUPPORTED, as on a device or
 * driver without them; CUDA_MODEL_REPORT=FILE writes at exit how many 64-bit
 * writes, batches of several operations and stream writes of any width
 * the streams ran ("write64 N", "batches M", "writes W"), how many copies
 * were staged ("staged S") and peer accesses enabled ("peers P"), so a test
 * can tell which way of signalling was chosen, how often it wrote and that
 * peer copies went device to device, and how many host ranges were
 * registered ("registered R": cuMemHostRegister, which makes `malloc`
 * memory pinned host memory until cuMemHostUnregister). Types and values are those of cuda.h (checked against
 * CUDA 12.9's header when this was written). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct stream *CUstream;
typedef void *CUcontext;

enum {
	CUDA_SUCCESS = 0,
	CUDA_ERROR_INVALID_VALUE = 1,
	CUDA_ERROR_OUT_OF_MEMORY = 2,
	CUDA_ERROR_INVALID_DEVICE = 101,
	CUDA_ERROR_INVALID_CONTEXT = 201,
	CUDA_ERROR_PEER_ACCESS_UNSUPPORTED = 217,
	CUDA_ERROR_NOT_READY = 600,
	CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED = 704,
	CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED = 712,
	CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED = 713,
	CUDA_ERROR_NOT_SUPPORTED = 801,
};
enum { MEMHOSTALLOC_PORTABLE = 1, MEMHOSTALLOC_DEVICEMAP = 2 };
enum { MAX_DEVICES = 8 };
enum { ATTRIBUTE_UNIFIED_ADDRESSING = 41 };
enum { MEMORYTYPE_HOST = 1 };
enum { WAIT_GEQ = 0, WAIT_EQ = 1, WAIT_AND = 2, WAIT_NOR = 3 };
enum { OP_WAIT_32 = 1, OP_WRITE_32 = 2, OP_WRITE_64 = 5 };

typedef struct {
	size_t srcXInBytes, srcY;
	int srcMemoryType;
	const void *srcHost;
	CUdeviceptr srcDevice;
	void *srcArray;
	size_t srcPitch;
	size_t dstXInBytes, dstY;
	int dstMemoryType;
	void *dstHost;
	CUdeviceptr dstDevice;
	void *dstArray;
	size_t dstPitch;
	size_t WidthInBytes, Height;
} CUDA_MEMCPY2D;

typedef struct {
	size_t srcXInBytes, srcY, srcZ, srcLOD;
	int srcMemoryType;
	const void *srcHost;
	CUdeviceptr srcDevice;
	void *srcArray;
	void *reserved0;
	size_t srcPitch, srcHeight;
	size_t dstXInBytes, dstY, dstZ, dstLOD;
	int dstMemoryType;
	void *dstHost;
	CUdeviceptr dstDevice;
	void *dstArray;
	void *reserved1;
	size_t dstPitch, dstHeight;
	size_t WidthInBytes, Height, Depth;
} CUDA_MEMCPY3D;

typedef union {
	int operation;
	struct {
		int operation;
		CUdeviceptr address;
		union {
			uint32_t value;
			uint64_t value64;
		};
		unsigned int flags;
		CUdeviceptr alias;
	} value_op; /* waitValue and writeValue share this shape */
	uint64_t pad[6];
} CUstreamBatchMemOpParams;

_Static_assert(sizeof(CUDA_MEMCPY2D) == 128, "CUDA_MEMCPY2D as in cuda.h");
_Static_assert(sizeof(CUDA_MEMCPY3D) == 200, "CUDA_MEMCPY3D as in cuda.h");
_Static_assert(sizeof(CUstreamBatchMemOpParams) == 48, "batch op as in cuda.h");

/* ---- operations and streams ---- */

enum kind { COPY, COPY_3D, MEMSET, MEM_OPS, HOST_FUNC, EVENT_RECORD };

/* A CUDA event: done once the stream reached its latest record. */
struct event {
	unsigned long recorded, reached;
};

struct op {
	enum kind kind;
	struct op *next;
	union {
		struct { void *dst; const void *src; size_t size; } copy;
		CUDA_MEMCPY3D copy_3d; /* a 2-D copy is one of depth 1 */
		struct { unsigned char *dst; uint32_t value; unsigned width; size_t count; } memset;
		struct { unsigned count; CUstreamBatchMemOpParams *ops; } mem_ops;
		struct { void (*fn)(void *); void *data; } host_func;
		struct { struct event *event; unsigned long generation; } record;
	};
};

struct stream {
	int device; /* of the context current at its creation */
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct op *head, *tail;
	/* Operations queued and not yet started (the pushbuffer's fill). */
	unsigned long queued;
	/* Operations ever enqueued, and ever finished: an operation's ticket
	 * is its number in the first count, and it ran once the second reached it. */
	unsigned long enqueued, completed;
	int running, stopping;
	pthread_t thread;
	struct stream *next_stream;
};

static pthread_mutex_t streams_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stream *streams;
/* A primary context: its device, and which devices' memory it may reach
 * directly (peer access enabled from it). */
struct context {
	int device;
	int peer[MAX_DEVICES];
};
static struct context contexts[MAX_DEVICES];
static int device_count = 1;
static __thread struct context *current;
static unsigned long write64_ran, batches_ran, writes_ran, staged_ran, peers_enabled, host_registered;

static int flag(const char *name)
{
	const char *v = getenv(name);
	return v && strcmp(v, "1") == 0;
}

__attribute__((constructor)) static void configure(void)
{
	const char *v = getenv("CUDA_MODEL_DEVICES");
	int n = v ? atoi(v) : 1;
	device_count = n < 1 ? 1 : n > MAX_DEVICES ? MAX_DEVICES : n;
	for (int d = 0; d < MAX_DEVICES; d++)
		contexts[d].device = d;
}

__attribute__((destructor)) static void report(void)
{
	const char *path = getenv("CUDA_MODEL_REPORT");
	FILE *file = path ? fopen(path, "w") : NULL;
	if (!file)
		return;
	fprintf(file, "write64 %lu\nbatches %lu\nwrites %lu\nstaged %lu\npeers %lu\nregistered %lu\n",
	        __atomic_load_n(&write64_ran, __ATOMIC_RELAXED), __atomic_load_n(&batches_ran, __ATOMIC_RELAXED),
	        __atomic_load_n(&writes_ran, __ATOMIC_RELAXED), __atomic_load_n(&staged_ran, __ATOMIC_RELAXED),
	        __atomic_load_n(&peers_enabled, __ATOMIC_RELAXED), __atomic_load_n(&host_registered, __ATOMIC_RELAXED));
	fclose(file);
}

static void pause_briefly(unsigned *spins)
{
	if (++*spins < 1000) {
		sched_yield();
	} else {
		struct timespec t = {0, 20000};
		nanosleep(&t, NULL);
	}
}

static int wait_done(const uint32_t *word, uint32_t value, unsigned flags)
{
	uint32_t now = __atomic_load_n(word, __ATOMIC_ACQUIRE);
	switch (flags & 3u) {
	case WAIT_GEQ: return (int32_t)(now - value) >= 0;
	case WAIT_EQ: return now == value;
	case WAIT_AND: return (now & value) != 0;
	default: return ~(now | value) != 0;
	}
}

static void run_mem_op(const CUstreamBatchMemOpParams *op)
{
	void *address = (void *)(uintptr_t)op->value_op.address;
	unsigned spins = 0;
	switch (op->operation) {
	case OP_WAIT_32:
		while (!wait_done(address, op->value_op.value, op->value_op.flags))
			pause_briefly(&spins);
		break;
	case OP_WRITE_32:
		__atomic_fetch_add(&writes_ran, 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		__atomic_store_n((uint32_t *)address, op->value_op.value, __ATOMIC_RELEASE);
		break;
	case OP_WRITE_64:
		__atomic_fetch_add(&write64_ran, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&writes_ran, 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		__atomic_store_n((uint64_t *)address, op->value_op.value64, __ATOMIC_RELEASE);
		break;
	}
}

static const unsigned char *source_of(const CUDA_MEMCPY3D *p)
{
	return p->srcMemoryType == MEMORYTYPE_HOST ? p->srcHost : (const void *)(uintptr_t)p->srcDevice;
}

static unsigned char *destination_of(const CUDA_MEMCPY3D *p)
{
	return p->dstMemoryType == MEMORYTYPE_HOST ? p->dstHost : (void *)(uintptr_t)p->dstDevice;
}

static void run(struct op *op)
{
	switch (op->kind) {
	case COPY:
		memcpy(op->copy.dst, op->copy.src, op->copy.size);
		break;
	case COPY_3D: {
		const CUDA_MEMCPY3D *p = &op->copy_3d;
		const unsigned char *src = source_of(p);
		unsigned char *dst = destination_of(p);
		for (size_t z = 0; z < p->Depth; z++)
			for (size_t y = 0; y < p->Height; y++)
				memcpy(dst + p->dstXInBytes + ((p->dstZ + z) * p->dstHeight + p->dstY + y) * p->dstPitch,
				       src + p->srcXInBytes + ((p->srcZ + z) * p->srcHeight + p->srcY + y) * p->srcPitch,
				       p->WidthInBytes);
		break;
	}
	case MEMSET:
		for (size_t i = 0; i < op->memset.count; i++)
			memcpy(op->memset.dst + i * op->memset.width, &op->memset.value, op->memset.width);
		break;
	case HOST_FUNC:
		op->host_func.fn(op->host_func.data);
		break;
	case EVENT_RECORD:
		__atomic_store_n(&op->record.event->reached, op->record.generation, __ATOMIC_RELEASE);
		break;
	case MEM_OPS:
		if (op->mem_ops.count > 1)
			__atomic_fetch_add(&batches_ran, 1, __ATOMIC_RELAXED);
		for (unsigned i = 0; i < op->mem_ops.count; i++)
			run_mem_op(&op->mem_ops.ops[i]);
		free(op->mem_ops.ops);
		break;
	}
}

static void *stream_main(void *arg)
{
	struct stream *s = arg;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->head && !s->stopping)
			pthread_cond_wait(&s->changed, &s->lock);
		if (!s->head)
			break;
		struct op *op = s->head;
		s->head = op->next;
		if (!s->head)
			s->tail = NULL;
		s->queued--;
		s->running = 1;
		pthread_cond_broadcast(&s->changed);
		pthread_mutex_unlock(&s->lock);
		run(op);
		free(op);
		pthread_mutex_lock(&s->lock);
		s->running = 0;
		s->completed++;
		pthread_cond_broadcast(&s->changed);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* How many operations a stream holds before an enqueue blocks: CUDA's
 * pushbuffer is finite, and a host call that finds it full waits until the
 * device has consumed some, however long that takes (forever, behind a
 * stream wait that only this host would satisfy). Its size is not
 * documented; about a thousand small operations per stream is what is seen
 * on GPUs. CUDA_MODEL_QUEUE_DEPTH=N sets it (0: unbounded). */
static unsigned long queue_depth(void)
{
	static unsigned long depth = (unsigned long)-1;
	unsigned long known = __atomic_load_n(&depth, __ATOMIC_RELAXED);
	if (known != (unsigned long)-1)
		return known;
	const char *v = getenv("CUDA_MODEL_QUEUE_DEPTH");
	known = v && *v ? strtoul(v, NULL, 10) : 1024;
	__atomic_store_n(&depth, known, __ATOMIC_RELAXED);
	return known;
}

/* Queues `op` on the stream; its ticket (see struct stream) in *ticket. */
static CUresult enqueue_ticket(struct stream *s, struct op *op, unsigned long *ticket)
{
	if (!s)
		return CUDA_ERROR_INVALID_VALUE;
	op->next = NULL;
	unsigned long depth = queue_depth();
	pthread_mutex_lock(&s->lock);
	while (depth != 0 && s->queued >= depth)
		pthread_cond_wait(&s->changed, &s->lock);
	s->queued++;
	*ticket = ++s->enqueued;
	if (s->tail)
		s->tail->next = op;
	else
		s->head = op;
	s->tail = op;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
	return CUDA_SUCCESS;
}

static CUresult enqueue(struct stream *s, struct op *op)
{
	unsigned long ticket;
	return enqueue_ticket(s, op, &ticket);
}

static struct op *new_op(enum kind kind)
{
	struct op *op = calloc(1, sizeof *op);
	if (op)
		op->kind = kind;
	return op;
}

static void drain(struct stream *s)
{
	pthread_mutex_lock(&s->lock);
	while (s->head || s->running)
		pthread_cond_wait(&s->changed, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

/* ---- the entry points ---- */

CUresult cuInit(unsigned flags) { (void)flags; return CUDA_SUCCESS; }
CUresult cuDeviceGetCount(int *count) { *count = device_count; return CUDA_SUCCESS; }

static int valid_device(CUdevice device) { return device >= 0 && device < device_count; }

CUresult cuDeviceGet(CUdevice *device, int ordinal)
{
	if (!valid_device(ordinal))
		return CUDA_ERROR_INVALID_DEVICE;
	*device = ordinal;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char *name, int length, CUdevice device)
{
	if (!valid_device(device))
		return CUDA_ERROR_INVALID_DEVICE;
	if (device == 0)
		snprintf(name, (size_t)length, "CUDA model (CPU)");
	else
		snprintf(name, (size_t)length, "CUDA model (CPU) %d", device);
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetUuid_v2(unsigned char uuid[16], CUdevice device)
{
	if (!valid_device(device))
		return CUDA_ERROR_INVALID_DEVICE;
	for (int i = 0; i < 16; i++)
		uuid[i] = (unsigned char)(0xc0 + i);
	uuid[15] ^= (unsigned char)device;
	return CUDA_SUCCESS;
}

CUresult cuDeviceCanAccessPeer(int *can, CUdevice device, CUdevice peer)
{
	if (!valid_device(device) || !valid_device(peer))
		return CUDA_ERROR_INVALID_DEVICE;
	*can = device != peer && !flag("CUDA_MODEL_NO_PEER");
	return CUDA_SUCCESS;
}

CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice device)
{
	(void)device;
	*bytes = (size_t)16 << 30;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int *value, int attribute, CUdevice device)
{
	(void)device;
	*value = attribute == ATTRIBUTE_UNIFIED_ADDRESSING;
	return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext *context, CUdevice device)
{
	if (!valid_device(device))
		return CUDA_ERROR_INVALID_DEVICE;
	*context = &contexts[device];
	return CUDA_SUCCESS;
}

static struct context *context_of(CUcontext context)
{
	for (int d = 0; d < device_count; d++)
		if (context == &contexts[d])
			return &contexts[d];
	return NULL;
}

CUresult cuCtxGetCurrent(CUcontext *context) { *context = current; return CUDA_SUCCESS; }

CUresult cuCtxSetCurrent(CUcontext context)
{
	if (context && !context_of(context))
		return CUDA_ERROR_INVALID_CONTEXT;
	current = context;
	return CUDA_SUCCESS;
}

/* From the current context to `peer`'s, as CUDA: refused where the devices
 * cannot reach each other, an error the second time. */
CUresult cuCtxEnablePeerAccess(CUcontext peer, unsigned flags)
{
	struct context *other = context_of(peer);
	if (!current || !other)
		return CUDA_ERROR_INVALID_CONTEXT;
	if (flags != 0)
		return CUDA_ERROR_INVALID_VALUE;
	int can = 0;
	cuDeviceCanAccessPeer(&can, current->device, other->device);
	if (!can)
		return CUDA_ERROR_PEER_ACCESS_UNSUPPORTED;
	if (__atomic_exchange_n(&current->peer[other->device], 1, __ATOMIC_ACQ_REL))
		return CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED;
	__atomic_fetch_add(&peers_enabled, 1, __ATOMIC_RELAXED);
	return CUDA_SUCCESS;
}

CUresult cuCtxSynchronize(void)
{
	if (!current)
		return CUDA_ERROR_INVALID_CONTEXT;
	pthread_mutex_lock(&streams_lock);
	for (struct stream *s = streams; s; s = s->next_stream)
		if (s->device == current->device)
			drain(s);
	pthread_mutex_unlock(&streams_lock);
	return CUDA_SUCCESS;
}

/* Every allocation made here, so that cuPointerGetAttribute tells CUDA
 * memory from `malloc` memory, as CUDA does. */
struct allocation {
	uintptr_t base;
	size_t size;
	int memory_type;
	int device;   /* whose context allocated it */
	int anywhere; /* reachable from every context: portable pinned or managed memory */
	int mapped;   /* pinned memory with a device address */
	int registered; /* the application's memory, registered: never freed here */
	struct allocation *next;
};
static pthread_mutex_t allocations_lock = PTHREAD_MUTEX_INITIALIZER;
static struct allocation *allocations;

static CUresult allocate(void **pointer, size_t alignment, size_t size, int memory_type, int anywhere, int mapped)
{
	if (!current)
		return CUDA_ERROR_INVALID_CONTEXT;
	size_t rounded = (size + alignment - 1) / alignment * alignment;
	struct allocation *a = malloc(sizeof *a);
	*pointer = aligned_alloc(alignment, rounded ? rounded : alignment);
	if (!*pointer || !a) {
		free(*pointer);
		free(a);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	*a = (struct allocation){(uintptr_t)*pointer, rounded ? rounded : alignment, memory_type, current->device,
	                         anywhere, mapped, 0, NULL};
	pthread_mutex_lock(&allocations_lock);
	a->next = allocations;
	allocations = a;
	pthread_mutex_unlock(&allocations_lock);
	return CUDA_SUCCESS;
}

static void release(void *pointer)
{
	pthread_mutex_lock(&allocations_lock);
	for (struct allocation **link = &allocations; *link; link = &(*link)->next) {
		if ((*link)->base == (uintptr_t)pointer) {
			struct allocation *gone = *link;
			*link = gone->next;
			free(gone);
			break;
		}
	}
	pthread_mutex_unlock(&allocations_lock);
	free(pointer);
}

enum { ATTRIBUTE_MEMORY_TYPE = 2, MEMORYTYPE_DEVICE = 2 };

/* What the model knows of the allocation holding `address`: 0 if none. */
static int find(uintptr_t address, struct allocation *out)
{
	int found = 0;
	pthread_mutex_lock(&allocations_lock);
	for (struct allocation *a = allocations; a; a = a->next) {
		if (address >= a->base && address - a->base < a->size) {
			*out = *a;
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&allocations_lock);
	return found;
}

/* Whether a device whose context is `from` reaches `address` directly:
 * its own memory, memory of every context, `malloc` memory (copies take
 * it), or a peer's device memory once peer access to it is enabled. */
static int reaches(int from, uintptr_t address)
{
	struct allocation a;
	if (!find(address, &a) || a.anywhere || a.device == from)
		return 1;
	return __atomic_load_n(&contexts[from].peer[a.device], __ATOMIC_ACQUIRE);
}

/* A copy that a stream's device cannot do directly is staged by CUDA
 * through the host: it works, and the model counts it. */
static void note_copy(const struct stream *s, uintptr_t dst, uintptr_t src)
{
	if (s && (!reaches(s->device, dst) || !reaches(s->device, src)))
		__atomic_fetch_add(&staged_ran, 1, __ATOMIC_RELAXED);
}

CUresult cuPointerGetAttribute(void *data, int attribute, CUdeviceptr pointer)
{
	int found = 0;
	pthread_mutex_lock(&allocations_lock);
	for (struct allocation *a = allocations; a; a = a->next) {
		if (pointer >= a->base && pointer - a->base < a->size) {
			found = a->memory_type;
			break;
		}
	}
	pthread_mutex_unlock(&allocations_lock);
	if (!found || attribute != ATTRIBUTE_MEMORY_TYPE)
		return CUDA_ERROR_INVALID_VALUE;
	*(unsigned *)data = (unsigned)found;
	return CUDA_SUCCESS;
}

/* The memory type of the allocation holding `address`; 0 if none (`malloc`). */
static int memory_type_of(uintptr_t address)
{
	unsigned type;
	return cuPointerGetAttribute(&type, ATTRIBUTE_MEMORY_TYPE, address) == CUDA_SUCCESS ? (int)type : 0;
}

CUresult cuLaunchHostFunc(CUstream s, void (*fn)(void *), void *data)
{
	struct op *op = new_op(HOST_FUNC);
	if (!op)
		return CUDA_ERROR_OUT_OF_MEMORY;
	op->host_func.fn = fn;
	op->host_func.data = data;
	return enqueue(s, op);
}

CUresult cuMemAlloc_v2(CUdeviceptr *pointer, size_t size)
{
	void *p;
	CUresult r = allocate(&p, 256, size, MEMORYTYPE_DEVICE, 0, 0);
	*pointer = (CUdeviceptr)(uintptr_t)p;
	return r;
}

CUresult cuMemAllocManaged(CUdeviceptr *pointer, size_t size, unsigned flags)
{
	(void)flags;
	void *p;
	CUresult r = allocate(&p, 256, size, MEMORYTYPE_DEVICE, 1, 0);
	*pointer = (CUdeviceptr)(uintptr_t)p;
	return r;
}

CUresult cuMemHostAlloc(void **pointer, size_t size, unsigned flags)
{
	return allocate(pointer, 4096, size, MEMORYTYPE_HOST, (flags & MEMHOSTALLOC_PORTABLE) != 0,
	                (flags & MEMHOSTALLOC_DEVICEMAP) != 0);
}

CUresult cuMemFree_v2(CUdeviceptr pointer) { release((void *)(uintptr_t)pointer); return CUDA_SUCCESS; }
CUresult cuMemFreeHost(void *pointer) { release(pointer); return CUDA_SUCCESS; }

/* The application's memory, page-locked: from now on pinned host memory to
 * cuPointerGetAttribute and to copies (asynchronous), mapped in every
 * context when portable. A range overlapping a registered one is refused
 * with CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED, as CUDA refuses it. */
CUresult cuMemHostRegister_v2(void *pointer, size_t size, unsigned flags)
{
	if (!current)
		return CUDA_ERROR_INVALID_CONTEXT;
	if (!pointer || size == 0)
		return CUDA_ERROR_INVALID_VALUE;
	uintptr_t base = (uintptr_t)pointer;
	struct allocation *a = malloc(sizeof *a);
	if (!a)
		return CUDA_ERROR_OUT_OF_MEMORY;
	pthread_mutex_lock(&allocations_lock);
	for (struct allocation *b = allocations; b; b = b->next) {
		if (base < b->base + b->size && b->base < base + size) {
			pthread_mutex_unlock(&allocations_lock);
			free(a);
			return b->registered ? CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED : CUDA_ERROR_INVALID_VALUE;
		}
	}
	*a = (struct allocation){base, size, MEMORYTYPE_HOST, current->device, (flags & MEMHOSTALLOC_PORTABLE) != 0,
	                         1, 1, allocations};
	allocations = a;
	pthread_mutex_unlock(&allocations_lock);
	__atomic_fetch_add(&host_registered, 1, __ATOMIC_RELAXED);
	return CUDA_SUCCESS;
}

/* Unpins a range registered at exactly `pointer`; the memory stays the application's. */
CUresult cuMemHostUnregister(void *pointer)
{
	CUresult result = CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
	pthread_mutex_lock(&allocations_lock);
	for (struct allocation **link = &allocations; *link; link = &(*link)->next) {
		if ((*link)->base == (uintptr_t)pointer && (*link)->registered) {
			struct allocation *gone = *link;
			*link = gone->next;
			free(gone);
			result = CUDA_SUCCESS;
			break;
		}
	}
	pthread_mutex_unlock(&allocations_lock);
	return result;
}

/* Pinned memory has a device address in the allocating context, and in
 * every context if it is portable; unified addressing makes it the host's. */
CUresult cuMemHostGetDevicePointer_v2(CUdeviceptr *device, void *host, unsigned flags)
{
	struct allocation a;
	if (!current)
		return CUDA_ERROR_INVALID_CONTEXT;
	if (flags != 0 || !find((uintptr_t)host, &a) || a.memory_type != MEMORYTYPE_HOST || !a.mapped
	    || (!a.anywhere && a.device != current->device))
		return CUDA_ERROR_INVALID_VALUE;
	*device = (CUdeviceptr)(uintptr_t)host;
	return CUDA_SUCCESS;
}

CUresult cuStreamCreate(CUstream *out, unsigned flags)
{
	(void)flags;
	if (!current)
		return CUDA_ERROR_INVALID_CONTEXT;
	struct stream *s = calloc(1, sizeof *s);
	if (!s)
		return CUDA_ERROR_OUT_OF_MEMORY;
	s->device = current->device;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->changed, NULL);
	if (pthread_create(&s->thread, NULL, stream_main, s) != 0) {
		free(s);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	pthread_mutex_lock(&streams_lock);
	s->next_stream = streams;
	streams = s;
	pthread_mutex_unlock(&streams_lock);
	*out = s;
	return CUDA_SUCCESS;
}

CUresult cuStreamDestroy_v2(CUstream s)
{
	pthread_mutex_lock(&streams_lock);
	for (struct stream **link = &streams; *link; link = &(*link)->next_stream) {
		if (*link == s) {
			*link = s->next_stream;
			break;
		}
	}
	pthread_mutex_unlock(&streams_lock);
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->changed);
	free(s);
	return CUDA_SUCCESS;
}

CUresult cuStreamSynchronize(CUstream s) { drain(s); return CUDA_SUCCESS; }

CUresult cuStreamQuery(CUstream s)
{
	pthread_mutex_lock(&s->lock);
	int idle = !s->head && !s->running;
	pthread_mutex_unlock(&s->lock);
	return idle ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY;
}

/* What CUDA's "API synchronization behavior" allows an asynchronous copy:
 * between host memory and host memory it is fully synchronous, and with
 * pageable (`malloc`) memory on either side it may be; the model takes the
 * worst case, so such a copy returns only once the stream ran it. */
static int copy_waits_for_stream(uintptr_t destination, uintptr_t source)
{
	int to = memory_type_of(destination), from = memory_type_of(source);
	int host_to = to == 0 || to == MEMORYTYPE_HOST, host_from = from == 0 || from == MEMORYTYPE_HOST;
	return to == 0 || from == 0 || (host_to && host_from);
}

/* Queues a copy; returns once it ran where CUDA may do so. */
static CUresult enqueue_copy(struct stream *s, struct op *op, uintptr_t destination, uintptr_t source)
{
	unsigned long ticket;
	CUresult result = enqueue_ticket(s, op, &ticket);
	if (result != CUDA_SUCCESS || !copy_waits_for_stream(destination, source))
		return result;
	pthread_mutex_lock(&s->lock);
	while (s->completed < ticket)
		pthread_cond_wait(&s->changed, &s->lock);
	pthread_mutex_unlock(&s->lock);
	return CUDA_SUCCESS;
}

/* 1 if `size` bytes from `address` start in a registered range and run
 * past its end: CUDA takes such a copy for one of pinned memory throughout
 * and refuses it (CUDA_ERROR_INVALID_VALUE), as seen on an H100. */
static int overruns_registered(uintptr_t address, size_t size)
{
	int overruns = 0;
	pthread_mutex_lock(&allocations_lock);
	for (struct allocation *b = allocations; b; b = b->next)
		if (b->registered && address >= b->base && address < b->base + b->size)
			overruns = address + size > b->base + b->size;
	pthread_mutex_unlock(&allocations_lock);
	return overruns;
}

CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t size, CUstream s)
{
	if (overruns_registered((uintptr_t)dst, size) || overruns_registered((uintptr_t)src, size))
		return CUDA_ERROR_INVALID_VALUE;
	struct op *op = new_op(COPY);
	if (!op)
		return CUDA_ERROR_OUT_OF_MEMORY;
	op->copy.dst = (void *)(uintptr_t)dst;
	op->copy.src = (const void *)(uintptr_t)src;
	op->copy.size = size;
	note_copy(s, (uintptr_t)dst, (uintptr_t)src);
	return enqueue_copy(s, op, (uintptr_t)dst, (uintptr_t)src);
}

CUresult cuMemcpy3DAsync_v2(const CUDA_MEMCPY3D *p, CUstream s)
{
	struct op *op = new_op(COPY_3D);
	if (!op)
		return CUDA_ERROR_OUT_OF_MEMORY;
	op->copy_3d = *p;
	note_copy(s, (uintptr_t)destination_of(p), (uintptr_t)source_of(p));
	return enqueue_copy(s, op, (uintptr_t)destination_of(p), (uintptr_t)source_of(p));
}

CUresult cuMemcpy2DAsync_v2(const CUDA_MEMCPY2D *p, CUstream s)
{
	CUDA_MEMCPY3D whole = {
		.srcXInBytes = p->srcXInBytes, .srcY = p->srcY, .srcMemoryType = p->srcMemoryType,
		.srcHost = p->srcHost, .srcDevice = p->srcDevice, .srcPitch = p->srcPitch, .srcHeight = p->Height,
		.dstXInBytes = p->dstXInBytes, .dstY = p->dstY, .dstMemoryType = p->dstMemoryType,
		.dstHost = p->dstHost, .dstDevice = p->dstDevice, .dstPitch = p->dstPitch, .dstHeight = p->Height,
		.WidthInBytes = p->WidthInBytes, .Height = p->Height, .Depth = 1,
	};
	return cuMemcpy3DAsync_v2(&whole, s);
}

static CUresult memset_async(CUdeviceptr dst, uint32_t value, unsigned width, size_t count, CUstream s)
{
	unsigned memory_type;
	/* As CUDA: a memset needs memory CUDA knows, not `malloc` memory. */
	if (cuPointerGetAttribute(&memory_type, ATTRIBUTE_MEMORY_TYPE, dst) != CUDA_SUCCESS)
		return CUDA_ERROR_INVALID_VALUE;
	/* A device writes a peer's memory only once peer access is enabled. */
	if (s && !reaches(s->device, (uintptr_t)dst))
		return CUDA_ERROR_INVALID_VALUE;
	struct op *op = new_op(MEMSET);
	if (!op)
		return CUDA_ERROR_OUT_OF_MEMORY;
	op->memset.dst = (unsigned char *)(uintptr_t)dst;
	op->memset.value = value;
	op->memset.width = width;
	op->memset.count = count;
	return enqueue(s, op);
}

CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, CUstream s) { return memset_async(d, v, 1, n, s); }
CUresult cuMemsetD16Async(CUdeviceptr d, unsigned short v, size_t n, CUstream s) { return memset_async(d, v, 2, n, s); }
CUresult cuMemsetD32Async(CUdeviceptr d, unsigned v, size_t n, CUstream s) { return memset_async(d, v, 4, n, s); }

static int write64_refused(void) { return flag("CUDA_MODEL_NO_WRITE64"); }

/* A word a stream's device waits on or writes must be device-mapped in its
 * context: pinned memory mapped there, or memory of a device it reaches. */
static int word_reachable(const struct stream *s, uintptr_t address)
{
	struct allocation a;
	if (!find(address, &a))
		return 0;
	if (a.memory_type == MEMORYTYPE_HOST)
		return a.mapped && (a.anywhere || a.device == s->device);
	return reaches(s->device, address);
}

CUresult cuStreamBatchMemOp_v2(CUstream s, unsigned count, CUstreamBatchMemOpParams *params, unsigned flags)
{
	(void)flags;
	for (unsigned i = 0; i < count; i++) {
		int kind = params[i].operation;
		if (kind != OP_WAIT_32 && kind != OP_WRITE_32 && kind != OP_WRITE_64)
			return CUDA_ERROR_NOT_SUPPORTED;
		if (kind == OP_WRITE_64 && write64_refused())
			return CUDA_ERROR_NOT_SUPPORTED;
		if (s && !word_reachable(s, (uintptr_t)params[i].value_op.address))
			return CUDA_ERROR_INVALID_VALUE;
	}
	struct op *op = new_op(MEM_OPS);
	CUstreamBatchMemOpParams *copy = malloc(count * sizeof *copy);
	if (!op || !copy) {
		free(op);
		free(copy);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	memcpy(copy, params, count * sizeof *copy);
	op->mem_ops.count = count;
	op->mem_ops.ops = copy;
	return enqueue(s, op);
}

static CUresult one_mem_op(CUstream s, int kind, CUdeviceptr address, uint64_t value, unsigned flags)
{
	CUstreamBatchMemOpParams op = {0};
	op.value_op.operation = kind;
	op.value_op.address = address;
	if (kind == OP_WRITE_64)
		op.value_op.value64 = value;
	else
		op.value_op.value = (uint32_t)value;
	op.value_op.flags = flags;
	return cuStreamBatchMemOp_v2(s, 1, &op, 0);
}

CUresult cuStreamWriteValue32_v2(CUstream s, CUdeviceptr a, uint32_t v, unsigned f) { return one_mem_op(s, OP_WRITE_32, a, v, f); }
CUresult cuStreamWriteValue64_v2(CUstream s, CUdeviceptr a, uint64_t v, unsigned f) { return one_mem_op(s, OP_WRITE_64, a, v, f); }
CUresult cuStreamWaitValue32_v2(CUstream s, CUdeviceptr a, uint32_t v, unsigned f) { return one_mem_op(s, OP_WAIT_32, a, v, f); }

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t size, CUstream s)
{
	return cuMemcpyAsync(dst, (CUdeviceptr)(uintptr_t)src, size, s);
}

typedef struct event *CUevent;

CUresult cuEventCreate(CUevent *out, unsigned flags)
{
	(void)flags;
	*out = calloc(1, sizeof **out);
	return *out ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

CUresult cuEventDestroy_v2(CUevent event) { free(event); return CUDA_SUCCESS; }

CUresult cuEventRecord(CUevent event, CUstream s)
{
	struct op *op = new_op(EVENT_RECORD);
	if (!op)
		return CUDA_ERROR_OUT_OF_MEMORY;
	op->record.event = event;
	op->record.generation = ++event->recorded;
	return enqueue(s, op);
}

CUresult cuEventQuery(CUevent event)
{
	return __atomic_load_n(&event->reached, __ATOMIC_ACQUIRE) == event->recorded ? CUDA_SUCCESS : CUDA_ERROR_NOT_READY;
}

CUresult cuEventSynchronize(CUevent event)
{
	unsigned spins = 0;
	while (cuEventQuery(event) != CUDA_SUCCESS)
		pause_briefly(&spins);
	return CUDA_SUCCESS;
}
