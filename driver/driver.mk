# The software Level Zero driver (libswze.so): its C check and its benchmark.
# Included by the top-level Makefile, which defines CARGO (and CC).
#   make driver-check   the C programs on every device model x {FLAT, COMPOSITE}
#                       x {1,2} cards x {plain, loader validation layer}, then
#                       once under valgrind
#   make cuda-model-check  the cuda backend on a CPU model of CUDA (no GPU needed)
#   make bench-driver   cost per 64 B round trip (inline, threaded) and 64 MiB
#                       copy bandwidth next to memcpy

CARGO ?= cargo
DRIVER_OUT := build/driver
DRIVER_SO := $(abspath $(or $(RELEASE_DIR),target/release)/libswze.so)
DRIVER_CTEST_SOURCES := $(wildcard driver/ctests/*.c)
DRIVER_CTESTS := $(patsubst driver/ctests/%.c,$(DRIVER_OUT)/%,$(DRIVER_CTEST_SOURCES))
# The C programs know nothing of the driver: public Level Zero API only (and
# swze.h's control API where they find it, for checks only swze can answer).
DRIVER_CFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -g
DRIVER_VALIDATION := ZE_ENABLE_VALIDATION_LAYER=1 ZE_ENABLE_PARAMETER_VALIDATION=1
DRIVER_VALGRIND := valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	--suppressions=driver/valgrind.supp

.PHONY: driver-lib driver-check driver-ctest-build bench-driver

# Always asks cargo, which knows whether the driver is stale.
driver-lib:
ifneq ($(NO_CARGO),1)
	$(CARGO) build --release -p swze
endif

driver-ctest-build: $(DRIVER_CTESTS)

$(DRIVER_OUT)/%: driver/ctests/%.c driver/ctests/ze_program.h driver/include/swze.h
	@mkdir -p $(@D)
	$(CC) $(DRIVER_CFLAGS) -o $@ $< -lze_loader

# The device models, each under both hierarchies, as model:hierarchy (the
# same list drives the C suite's runs per model: ctests/ctests.mk).
DEVICE_MODEL_RUNS ?= max1550:FLAT max1550:COMPOSITE max1550:COMBINED flex170:FLAT flex170:COMPOSITE

driver-check: driver-lib driver-ctest-build
	@passed=0; failed=0; \
	for program in $(DRIVER_CTESTS); do \
	  for run in $(DEVICE_MODEL_RUNS); do for devices in 1 2; do for layer in plain validation; do \
	    model=$${run%%:*}; hierarchy=$${run#*:}; \
	    label="$$(basename $$program) $$model $$hierarchy devices=$$devices $$layer"; \
	    if [ $$layer = validation ]; then extra="$(DRIVER_VALIDATION)"; else extra=""; fi; \
	    if env ZE_ENABLE_ALT_DRIVERS=$(DRIVER_SO) SWZE_DEVICE_MODEL=$$model ZE_FLAT_DEVICE_HIERARCHY=$$hierarchy \
	         SWZE_DEVICES=$$devices $$extra ./$$program > $(DRIVER_OUT)/last.log 2>&1; then \
	      passed=$$((passed + 1)); echo "PASS $$label"; \
	    else \
	      failed=$$((failed + 1)); echo "FAIL $$label"; cat $(DRIVER_OUT)/last.log; \
	    fi; \
	  done; done; done; \
	  label="$$(basename $$program) max1550 COMPOSITE devices=2 valgrind"; \
	  if env ZE_ENABLE_ALT_DRIVERS=$(DRIVER_SO) SWZE_DEVICES=2 ZE_FLAT_DEVICE_HIERARCHY=COMPOSITE \
	       $(DRIVER_VALGRIND) ./$$program > $(DRIVER_OUT)/last.log 2>&1; then \
	    passed=$$((passed + 1)); echo "PASS $$label"; \
	  else \
	    failed=$$((failed + 1)); echo "FAIL $$label"; cat $(DRIVER_OUT)/last.log; \
	  fi; \
	done; \
	echo "driver-check: $$passed passed, $$failed failed"; \
	test $$failed -eq 0

# A benchmark, not a test: prints figures, asserts nothing but that it ran.
bench-driver: driver-lib
	SWZE_LIB=$(DRIVER_SO) $(CARGO) bench -p swze --bench driver_bench

# The cuda backend on a CPU model of the CUDA driver API (driver/cuda_model/),
# where no GPU is: the driver's C programs with 64-bit stream writes (plain
# and validation layer) and without (the batched fallback), a check that the
# probe chose each way of signalling and, for a program that prints "stream
# writes at most N", that the streams wrote no more, a smoke run of
# bench/gpu_signals.c and of bench/gpu_bench.c (built against the
# model's cuda.h), two modelled GPUs (CUDA_MODEL_PEER_RUNS), the
# library's prepared host ranges registered with CUDA (test_host_prepare), then
# the library's C suite, plain, as written, with every dma over every copy
# engine, and on two modelled GPUs.
CUDA_MODEL := $(DRIVER_OUT)/libcudamodel.so
CUDA_MODEL_ENV := ZE_ENABLE_ALT_DRIVERS=$(DRIVER_SO) SWZE_BACKEND=cuda SWZE_CUDA_LIBRARY=$(abspath $(CUDA_MODEL))

$(CUDA_MODEL): driver/cuda_model/cuda_model.c
	@mkdir -p $(@D)
	$(CC) $(DRIVER_CFLAGS) -fPIC -shared -pthread -o $@ $<

# The GPU benchmark of signalling shapes, built here too (it opens libcuda at
# run time), run once on the model so that its mistakes show before a GPU run.
GPU_SIGNALS_SMOKE := $(DRIVER_OUT)/gpu_signals

$(GPU_SIGNALS_SMOKE): bench/gpu_signals.c $(wildcard bench/harness/*.h)
	@mkdir -p $(@D)
	$(CC) $(DRIVER_CFLAGS) -o $@ $< -lze_loader -ldl

# The library's GPU benchmark (bench/gpu_bench.c) built against the model's
# own cuda.h and libcudamodel.so, run once on the model: a smoke run, its
# figures meaningless.
GPU_BENCH_SMOKE := $(DRIVER_OUT)/gpu_bench

$(GPU_BENCH_SMOKE): bench/gpu_bench.c $(wildcard bench/harness/*.h) driver/cuda_model/cuda.h $(CUDA_MODEL) $(LIB_SONAME)
	@mkdir -p $(@D)
	$(CC) $(DRIVER_CFLAGS) -D_GNU_SOURCE -Iinclude -Idriver/cuda_model -o $@ $< -L$(RELEASE_DIR) \
		-Wl,-rpath,$(abspath $(RELEASE_DIR)) -laml_dma_ze $(abspath $(CUDA_MODEL)) -lze_loader

# Two modelled GPUs (CUDA_MODEL_DEVICES=2), as name:mode:program:expect:env
# (env words joined by commas): ze_peer and the library's test_peer with
# peer access (every peer copy direct: no copy staged, each ordered pair's
# access enabled once), and with CUDA refusing it (ze_peer sees the devices
# unable to reach each other and every peer append refused; test_peer
# skips, as the driver tells it to).
CUDA_MODEL_EMPTY :=
CUDA_MODEL_COMMA := ,
CUDA_MODEL_VALIDATION := $(subst $(CUDA_MODEL_EMPTY) $(CUDA_MODEL_EMPTY),$(CUDA_MODEL_COMMA),$(DRIVER_VALIDATION))
CUDA_MODEL_PEER_RUNS := \
	ze_peer:tagged:$(abspath $(DRIVER_OUT)/ze_peer):peer: \
	ze_peer:tagged-validation:$(abspath $(DRIVER_OUT)/ze_peer):peer:$(CUDA_MODEL_VALIDATION) \
	ze_peer:batched:$(abspath $(DRIVER_OUT)/ze_peer):peer:CUDA_MODEL_NO_WRITE64=1 \
	ze_peer:peer-refused:$(abspath $(DRIVER_OUT)/ze_peer):refused:CUDA_MODEL_NO_PEER=1 \
	test_peer:plain:$(abspath $(CTEST_BIN)/test_peer):peer: \
	test_peer:every-queue:$(abspath $(CTEST_BIN)/test_peer):peer:AML_DMA_ZE_QUEUES=all,CTEST_ORDINAL=1 \
	test_peer:peer-refused:$(abspath $(CTEST_BIN)/test_peer):skip:CUDA_MODEL_NO_PEER=1

.PHONY: cuda-model-check
cuda-model-check: driver-lib driver-ctest-build $(CUDA_MODEL) $(GPU_SIGNALS_SMOKE) $(GPU_BENCH_SMOKE) ctest-build
	@passed=0; failed=0; \
	for program in $(DRIVER_CTESTS); do \
	  for mode in tagged tagged-validation batched; do \
	    case $$mode in \
	      tagged) extra="";; tagged-validation) extra="$(DRIVER_VALIDATION)";; batched) extra="CUDA_MODEL_NO_WRITE64=1";; \
	    esac; \
	    label="$$(basename $$program) cuda-model $$mode"; \
	    if env $(CUDA_MODEL_ENV) $$extra CUDA_MODEL_REPORT=$(DRIVER_OUT)/model-report timeout 120 ./$$program \
	         > $(DRIVER_OUT)/last.log 2>&1; then \
	      if [ $$mode = batched ]; then zero=write64; used=batches; else zero=batches; used=write64; fi; \
	      budget=$$(sed -n 's/^stream writes at most \([0-9]*\).*/\1/p' $(DRIVER_OUT)/last.log); \
	      writes=$$(sed -n 's/^writes //p' $(DRIVER_OUT)/model-report); \
	      if ! grep -qx "$$zero 0" $(DRIVER_OUT)/model-report || grep -qx "$$used 0" $(DRIVER_OUT)/model-report; then \
	        failed=$$((failed + 1)); echo "FAIL $$label: signalled the wrong way"; cat $(DRIVER_OUT)/model-report; \
	      elif [ -n "$$budget" ] && [ "$$writes" -gt "$$budget" ]; then \
	        failed=$$((failed + 1)); echo "FAIL $$label: $$writes stream writes, at most $$budget expected"; \
	      else \
	        passed=$$((passed + 1)); echo "PASS $$label"; \
	      fi; \
	    else \
	      failed=$$((failed + 1)); echo "FAIL $$label"; cat $(DRIVER_OUT)/last.log; \
	    fi; \
	  done; \
	done; \
	label="gpu_signals cuda-model smoke run"; \
	if env $(CUDA_MODEL_ENV) GPU_SIGNALS_ROUNDS=1 timeout 120 ./$(GPU_SIGNALS_SMOKE) > $(DRIVER_OUT)/last.log 2>&1 \
	     && grep -q '^figure gpu_small_ze_face_completion_ns' $(DRIVER_OUT)/last.log; then \
	  passed=$$((passed + 1)); echo "PASS $$label"; \
	else \
	  failed=$$((failed + 1)); echo "FAIL $$label"; cat $(DRIVER_OUT)/last.log; \
	fi; \
	for run in $(CUDA_MODEL_PEER_RUNS); do \
	  label="$$(echo $$run | cut -d: -f1) cuda-model devices=2 $$(echo $$run | cut -d: -f2)"; \
	  program=$$(echo $$run | cut -d: -f3); expect=$$(echo $$run | cut -d: -f4); \
	  extra=$$(echo $$run | cut -d: -f5 | tr , ' '); \
	  env $(CUDA_MODEL_ENV) CUDA_MODEL_DEVICES=2 $$extra CUDA_MODEL_REPORT=$(DRIVER_OUT)/model-report \
	    timeout 300 $$program > $(DRIVER_OUT)/last.log 2>&1; status=$$?; \
	  if [ $$expect = refused ]; then peers=0; code=0; elif [ $$expect = skip ]; then peers=0; code=77; else peers=2; code=0; fi; \
	  if [ $$status -ne $$code ]; then \
	    failed=$$((failed + 1)); echo "FAIL $$label: exit $$status, $$code expected"; cat $(DRIVER_OUT)/last.log; \
	  elif [ $$expect = refused ] && ! grep -q 'cannot reach each other' $(DRIVER_OUT)/last.log; then \
	    failed=$$((failed + 1)); echo "FAIL $$label: the devices reached each other"; \
	  elif ! grep -qx "staged 0" $(DRIVER_OUT)/model-report || ! grep -qx "peers $$peers" $(DRIVER_OUT)/model-report; then \
	    failed=$$((failed + 1)); echo "FAIL $$label: staged copies or peer access not as expected ($$peers)"; \
	    cat $(DRIVER_OUT)/model-report; \
	  else \
	    passed=$$((passed + 1)); echo "PASS $$label"; \
	  fi; \
	done; \
	label="gpu_bench cuda-model smoke run"; \
	if env $(CUDA_MODEL_ENV) timeout 300 ./$(GPU_BENCH_SMOKE) > $(DRIVER_OUT)/last.log 2>&1 \
	     && grep -q '^figure gpu_d2h_prepared_vs_pinned' $(DRIVER_OUT)/last.log \
	     && grep -q '^figure gpu_sync64_fast_vs_fenced' $(DRIVER_OUT)/last.log; then \
	  passed=$$((passed + 1)); echo "PASS $$label"; \
	else \
	  failed=$$((failed + 1)); echo "FAIL $$label"; cat $(DRIVER_OUT)/last.log; \
	fi; \
	label="test_host_prepare cuda-model: prepared ranges cuMemHostRegister'd"; \
	if env $(CUDA_MODEL_ENV) CUDA_MODEL_REPORT=$(DRIVER_OUT)/model-report timeout 300 $(abspath $(CTEST_BIN))/test_host_prepare \
	     > $(DRIVER_OUT)/last.log 2>&1 && ! grep -qx "registered 0" $(DRIVER_OUT)/model-report \
	     && grep -q "^registered " $(DRIVER_OUT)/model-report; then \
	  passed=$$((passed + 1)); echo "PASS $$label"; \
	else \
	  failed=$$((failed + 1)); echo "FAIL $$label"; cat $(DRIVER_OUT)/last.log $(DRIVER_OUT)/model-report; \
	fi; \
	echo "cuda-model-check: $$passed passed, $$failed failed"; \
	test $$failed -eq 0
	$(CUDA_MODEL_ENV) CTEST_TAG=cuda-model ctests/run.sh ctests/tests.list $(abspath $(CTEST_BIN)) \
		$(abspath $(RELEASE_DIR)) plain
	$(CUDA_MODEL_ENV) CTEST_TAG=cuda-model-queues AML_DMA_ZE_QUEUES=all CTEST_ORDINAL=1 \
		ctests/run.sh ctests/tests.list $(abspath $(CTEST_BIN)) $(abspath $(RELEASE_DIR)) plain
	$(CUDA_MODEL_ENV) CTEST_TAG=cuda-model-2gpu CUDA_MODEL_DEVICES=2 \
		ctests/run.sh ctests/tests.list $(abspath $(CTEST_BIN)) $(abspath $(RELEASE_DIR)) plain
