# Benchmark targets, included by the top-level Makefile (which defines CARGO).
#   make bench                  the table and `figure` lines (BENCH_ARGS=--quick for a short run)
#   make bench-instructions     callgrind instructions per request, cases 1-3
#   make bench-upstream-model   the same bench over a model of upstream's per-request pools
#   make bench-topology         the dma on the device models (Max 1550 node, FLAT and
#                               COMPOSITE; Flex 170), ratios to the modelled caps
#   make sweep                  bandwidth against size, ours, the raw floor and the upstream model, as CSV
# BENCH_PRELOAD=/path/to/libaml.so runs either against another implementation of the ABI.

CARGO ?= cargo
BENCH_CC ?= $(CC)
BENCH_OUT := build/bench
BENCH_BIN := $(BENCH_OUT)/bench
BENCH_MODEL := $(BENCH_OUT)/libupstream_model.so
BENCH_QUEUES := $(BENCH_OUT)/bench_queues
BENCH_SWEEP := $(BENCH_OUT)/sweep
BENCH_TOPOLOGY := $(BENCH_OUT)/bench_topology
BENCH_BASELINE := $(BENCH_OUT)/bench_baseline
BENCH_LIB := $(abspath $(or $(RELEASE_DIR),target/release))
BENCH_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -pthread -I include -I driver/include
BENCH_LDFLAGS := -rdynamic -L$(BENCH_LIB) -Wl,-rpath,$(BENCH_LIB) -laml_dma_ze -lze_loader -ldl -pthread
# AML's dense layouts for the tile case (case 7), as the C suite's stand-in has them.
BENCH_DENSE := ctests/standin/layout_dense.c
BENCH_PRELOAD ?=
# The real loader then loads only our software driver.
BENCH_DRIVER_ENV = ZE_ENABLE_ALT_DRIVERS=$(BENCH_LIB)/libswze.so \
	LD_LIBRARY_PATH=$(BENCH_LIB)$${LD_LIBRARY_PATH:+:$$LD_LIBRARY_PATH}
BENCH_ENV = $(BENCH_DRIVER_ENV) $(if $(BENCH_PRELOAD),LD_PRELOAD=$(abspath $(BENCH_PRELOAD)))
# Pinned by default: on a shared 2-core machine the scheduler otherwise places
# each list's engine thread differently and the floor-vs-dma ratio swings
# 1x-30x between processes. BENCH_ARGS= runs unpinned.
BENCH_ARGS ?= --pin 0
BENCH_INSTR_ITERS ?= 10000

# The sweep's CSV (bench/README.md): rewritten by every run. Pinned like the
# bench, for the same reason; both ways at once then share that one CPU.
SWEEP_CSV ?= $(BENCH_OUT)/cpu-sweep.csv
SWEEP_ARGS ?= --pin 0

.PHONY: bench bench-topology bench-queues bench-instructions bench-upstream-model bench-libs sweep

# Always asks cargo: it is the one that knows whether the Rust side is stale.
# Both packages by name: from the workspace root a bare build makes only the root one.
bench-libs:
ifneq ($(NO_CARGO),1)
	$(CARGO) build --release -p aml-dma-ze -p swze
	@test -e target/release/libaml_dma_ze.so.0 || ln -sf libaml_dma_ze.so target/release/libaml_dma_ze.so.0
endif

# The harness (bench/harness/, header-only) and the public headers: every
# program below is rebuilt when one changes.
BENCH_HEADERS := $(wildcard bench/harness/*.h include/aml/dma/ze.h driver/include/swze.h)
# The request-path bench: options and modes, cases 1-4, cases 5-8, the callgrind mode.
BENCH_SOURCES := bench/bench.c bench/bench_common.c bench/bench_latency.c bench/bench_bulk.c bench/bench_instr.c

$(BENCH_BIN): $(BENCH_SOURCES) bench/bench_common.h $(BENCH_DENSE) $(BENCH_HEADERS) | bench-libs
	@mkdir -p $(BENCH_OUT)
	$(BENCH_CC) $(BENCH_CFLAGS) -o $@ $(BENCH_SOURCES) $(BENCH_DENSE) $(BENCH_LDFLAGS)

# One program a source file: bench_queues (one dma over several queues
# against the single-queue dma, issue 11), sweep (bandwidth against transfer
# size, issue 18, public ABI and Level Zero only), bench_topology and
# bench_baseline (the dma on swze's device models, issue 23).
$(BENCH_QUEUES) $(BENCH_SWEEP) $(BENCH_TOPOLOGY) $(BENCH_BASELINE): $(BENCH_OUT)/%: bench/%.c $(BENCH_HEADERS) | bench-libs
	@mkdir -p $(BENCH_OUT)
	$(BENCH_CC) $(BENCH_CFLAGS) -o $@ $< $(BENCH_LDFLAGS)

$(BENCH_MODEL): bench/upstream_model.c
	@mkdir -p $(BENCH_OUT)
	$(BENCH_CC) -std=c11 -O2 -g -Wall -Wextra -Werror -fPIC -shared -pthread -o $@ $< -lze_loader

# Two runs of one program: ours beside the raw floor, then the upstream
# model's rows (the floor is not measured twice).
define SWEEP_RUN
@mkdir -p $(dir $(SWEEP_CSV))
rm -f $(SWEEP_CSV)
$(BENCH_DRIVER_ENV) $(BENCH_SWEEP) --csv $(SWEEP_CSV) $(SWEEP_ARGS)
$(BENCH_DRIVER_ENV) LD_PRELOAD=$(abspath $(BENCH_MODEL)) $(BENCH_SWEEP) --csv $(SWEEP_CSV) \
	--implementation upstream_model --no-raw $(SWEEP_ARGS)
@echo "sweep: CSV in $(SWEEP_CSV)"
endef

bench: bench-libs $(BENCH_BIN) $(BENCH_QUEUES) $(BENCH_SWEEP) $(BENCH_MODEL)
	$(BENCH_ENV) $(BENCH_BIN) $(BENCH_ARGS)
	$(if $(BENCH_PRELOAD),,$(BENCH_ENV) $(BENCH_QUEUES))
	$(if $(BENCH_PRELOAD),,$(SWEEP_RUN))

sweep: bench-libs $(BENCH_SWEEP) $(BENCH_MODEL)
	$(SWEEP_RUN)

bench-queues: bench-libs $(BENCH_QUEUES)
	$(BENCH_ENV) $(BENCH_QUEUES)

# One process per model, each over the bandwidth model: the Max 1550 node
# (6 cards, FLAT: 12 root devices), one Max 1550 card under COMPOSITE (the
# dma on the card's root device), a Max 1550 whose copy engine alone fills
# the link (the dma must then gain nothing and lose nothing), a Flex 170.
# Unpinned: a node's 12 dmas need both CPUs. The CSV (model, figure,
# published GB/s, modelled GB/s scaled back) feeds docs/topology.png.
TOPOLOGY_CSV ?= $(BENCH_OUT)/topology.csv
TOPOLOGY_ENV = $(BENCH_DRIVER_ENV) SWZE_BANDWIDTH_MODEL=1
bench-topology: bench-libs $(BENCH_TOPOLOGY) $(BENCH_BASELINE)
	$(TOPOLOGY_ENV) SWZE_DEVICE_MODEL=max1550 SWZE_DEVICES=1 $(BENCH_BASELINE) max1550
	$(TOPOLOGY_ENV) SWZE_DEVICE_MODEL=max1550 SWZE_DEVICES=1 SWZE_INTEL_POLICIES=0 $(BENCH_BASELINE) max1550_policies_off
	$(TOPOLOGY_ENV) SWZE_DEVICE_MODEL=flex170 SWZE_DEVICES=1 $(BENCH_BASELINE) flex170
	rm -f $(TOPOLOGY_CSV)
	$(TOPOLOGY_ENV) SWZE_DEVICE_MODEL=max1550 ZE_FLAT_DEVICE_HIERARCHY=FLAT SWZE_DEVICES=6 \
		$(BENCH_TOPOLOGY) --node --csv $(TOPOLOGY_CSV)
	$(TOPOLOGY_ENV) SWZE_DEVICE_MODEL=max1550 ZE_FLAT_DEVICE_HIERARCHY=COMPOSITE SWZE_DEVICES=1 \
		$(BENCH_TOPOLOGY) --label max1550_composite
	$(TOPOLOGY_ENV) SWZE_DEVICE_MODEL=max1550 SWZE_COPY_BANDWIDTH=300000000 SWZE_DEVICES=1 \
		$(BENCH_TOPOLOGY) --label max1550_engine_fills_link
	$(TOPOLOGY_ENV) SWZE_DEVICE_MODEL=flex170 SWZE_DEVICES=1 $(BENCH_TOPOLOGY) --csv $(TOPOLOGY_CSV)
	@echo "bench-topology: CSV in $(TOPOLOGY_CSV)"

bench-instructions: bench-libs $(BENCH_BIN)
	$(BENCH_ENV) sh bench/instructions.sh $(BENCH_BIN) $(BENCH_INSTR_ITERS) $(BENCH_OUT)

bench-upstream-model: bench-libs $(BENCH_BIN) $(BENCH_MODEL)
	$(MAKE) --no-print-directory bench bench-instructions BENCH_PRELOAD=$(BENCH_MODEL) BENCH_ARGS="$(BENCH_ARGS)"

include bench/plots.mk
