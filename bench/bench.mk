# Benchmark targets, included by the top-level Makefile (which defines CARGO).
# `make bench`: the table and `figure` lines; `make bench-instructions`: the
# callgrind instruction counts of cases 1 and 2.

CARGO ?= cargo
BENCH_CC ?= $(CC)
BENCH_OUT := build/bench
BENCH_BIN := $(BENCH_OUT)/bench
BENCH_LIB := $(abspath target/release)
BENCH_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -pthread -I include -I driver/include
BENCH_LDFLAGS := -L$(BENCH_LIB) -Wl,-rpath,$(BENCH_LIB) -laml_dma_ze -lze_loader -ldl -pthread
# The real loader loads only our software driver; LD_LIBRARY_PATH too, so an
# LD_PRELOADed implementation can still find its dependencies next to ours.
BENCH_ENV := ZE_ENABLE_ALT_DRIVERS=$(BENCH_LIB)/libswze.so LD_LIBRARY_PATH=$(BENCH_LIB)$${LD_LIBRARY_PATH:+:$$LD_LIBRARY_PATH}
BENCH_ARGS ?=
BENCH_INSTR_ITERS ?= 10000

.PHONY: bench bench-instructions bench-libs

# Always asks cargo: it is the one that knows whether the Rust side is stale.
bench-libs:
	$(CARGO) build --release
	@test -e target/release/libaml_dma_ze.so.0 || ln -sf libaml_dma_ze.so target/release/libaml_dma_ze.so.0

$(BENCH_BIN): bench/bench.c $(wildcard include/aml/dma/ze.h driver/include/swze.h) | bench-libs
	@mkdir -p $(BENCH_OUT)
	$(BENCH_CC) $(BENCH_CFLAGS) -o $@ bench/bench.c $(BENCH_LDFLAGS)

bench: bench-libs $(BENCH_BIN)
	$(BENCH_ENV) $(BENCH_BIN) $(BENCH_ARGS)

bench-instructions: bench-libs $(BENCH_BIN)
	$(BENCH_ENV) sh bench/instructions.sh $(BENCH_BIN) $(BENCH_INSTR_ITERS) $(BENCH_OUT)
