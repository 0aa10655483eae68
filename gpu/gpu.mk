# Running everything on a real GPU through swze's CUDA backend. Included by
# the top-level Makefile.
#   make gpu-bundle   here (needs cargo): gather in $(GPU_BUNDLE)/ what the GPU
#                     machine lacks: our stripped libraries, Debian's Level Zero
#                     loader and validation layer, the Level Zero headers
#   make check-gpu    there (no cargo, no Level Zero installed): build the C
#                     programs against the bundle and run, with SWZE_BACKEND=cuda,
#                     the driver's round trip, the whole C suite plain and under
#                     the validation layer, the demo and the benchmark
#   make bench-gpu    there: the benchmark (ours, then the upstream model), the
#                     library beside raw CUDA (bench/gpu_bench.c), the driver's
#                     Level Zero face beside raw CUDA (bench/gpu_roundtrip.c)
#                     the cost of each way to learn that small copies finished
#                     (bench/gpu_signals.c), and the bandwidth sweep
#                     (bench/sweep.c, bench/gpu_sweep.c) into $(GPU_SWEEP_CSV),
#                     copied into $(GPU_LOGS)
# The bundle travels with the checkout (`carry: ["gpu-bundle"]`); logs go to
# $(GPU_LOGS) ($OUT on the device machine when set). GPU_BACKEND=cpu runs the
# same flow from the bundle on any machine (a rehearsal of the GPU run).

GPU_BUNDLE ?= gpu-bundle
GPU_BUNDLE_ABS = $(abspath $(GPU_BUNDLE))
GPU_LOGS ?= $(if $(OUT),$(OUT),build/gpu-logs)
CUDA_HOME ?= /usr/local/cuda
# The sweep's CSV: ours, raw Level Zero, the upstream model, raw CUDA.
GPU_SWEEP_CSV ?= $(BUILD)/bench/gpu-sweep.csv
GPU_SWEEP_ARGS ?=
# CHECK_GPU_BENCH=0: check-gpu without the benchmarks (bench-gpu on its own
# then), so that each fits one command's time on the GPU machine.
CHECK_GPU_BENCH ?= 1
ZE_LIB_DIR := $(shell dpkg -L libze1 2>/dev/null | grep -m1 '/libze_loader.so.1$$' | xargs -r dirname)

.PHONY: gpu-bundle check-gpu bench-gpu gpu-programs

gpu-bundle: $(LIB_SONAME) $(DRIVER)
	@test -n "$(ZE_LIB_DIR)" || { echo "gpu-bundle: Debian's libze1 is not installed (./setup.sh)"; exit 1; }
	rm -rf $(GPU_BUNDLE)
	mkdir -p $(GPU_BUNDLE)/lib $(GPU_BUNDLE)/include
	strip --strip-debug -o $(GPU_BUNDLE)/lib/libaml_dma_ze.so $(LIB)
	strip --strip-debug -o $(GPU_BUNDLE)/lib/libswze.so $(DRIVER)
	ln -s libaml_dma_ze.so $(GPU_BUNDLE)/lib/libaml_dma_ze.so.$(SONAME_MAJOR)
	cp -L $(ZE_LIB_DIR)/libze_loader.so.1 $(ZE_LIB_DIR)/libze_validation_layer.so.1 $(GPU_BUNDLE)/lib/
	ln -s libze_loader.so.1 $(GPU_BUNDLE)/lib/libze_loader.so
	cp -r /usr/include/level_zero $(GPU_BUNDLE)/include/
	@du -sh $(GPU_BUNDLE)

# What the programs see on the GPU machine: gcc finds the bundle's headers and
# libraries through CPATH/LIBRARY_PATH, the dynamic linker through
# LD_LIBRARY_PATH, the loader our driver through ZE_ENABLE_ALT_DRIVERS.
GPU_BUILD_ENV = CPATH=$(GPU_BUNDLE_ABS)/include LIBRARY_PATH=$(GPU_BUNDLE_ABS)/lib
GPU_BACKEND ?= cuda
GPU_RUN_ENV = $(GPU_BUILD_ENV) LD_LIBRARY_PATH=$(GPU_BUNDLE_ABS)/lib SWZE_BACKEND=$(GPU_BACKEND) \
	ZE_ENABLE_ALT_DRIVERS=$(GPU_BUNDLE_ABS)/lib/libswze.so
GPU_MAKE = $(MAKE) --no-print-directory NO_CARGO=1 RELEASE_DIR=$(GPU_BUNDLE)/lib

gpu-programs:
	@test -f $(GPU_BUNDLE)/lib/libswze.so || { echo "no $(GPU_BUNDLE)/: run make gpu-bundle where cargo is"; exit 1; }
	$(GPU_BUILD_ENV) $(GPU_MAKE) ctest-build driver-ctest-build $(BUILD)/demo $(BENCH_BIN) $(BENCH_QUEUES) $(BENCH_MODEL) \
		$(BENCH_SWEEP) $(if $(filter cuda,$(GPU_BACKEND)),$(BUILD)/gpu_roundtrip $(BUILD)/gpu_signals $(BUILD)/gpu_bench $(BUILD)/gpu_sweep)

# The raw CUDA floor beside the Level Zero face, in one process.
$(BUILD)/gpu_roundtrip: bench/gpu_roundtrip.c $(wildcard bench/harness/*.h)
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -Wall -Wextra -D_GNU_SOURCE -I$(CUDA_HOME)/include -o $@ $< \
		-L$(CUDA_HOME)/lib64/stubs -lcuda -lze_loader

# What learning that a small copy finished costs, raw CUDA beside the face;
# libcuda opened at run time, so no CUDA header is needed.
$(BUILD)/gpu_signals: bench/gpu_signals.c $(wildcard bench/harness/*.h)
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -Wall -Wextra -o $@ $< -lze_loader -ldl

# The library beside raw CUDA (64 MiB both ways, pinned and malloc; 64 B round trips).
$(BUILD)/gpu_bench: bench/gpu_bench.c $(HEADER) $(wildcard bench/harness/*.h)
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -Wall -Wextra -D_GNU_SOURCE -Iinclude -I$(CUDA_HOME)/include -o $@ $< \
		-L$(RELEASE_DIR) -laml_dma_ze -L$(CUDA_HOME)/lib64/stubs -lcuda -lze_loader

# The raw CUDA rows of the sweep (bench/harness/sweep.h: the same sizes, timing, CSV).
$(BUILD)/gpu_sweep: bench/gpu_sweep.c $(wildcard bench/harness/*.h)
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -Wall -Wextra -D_GNU_SOURCE -I$(CUDA_HOME)/include -o $@ $< \
		-L$(CUDA_HOME)/lib64/stubs -lcuda

# $(call logged,NAME,COMMAND): runs COMMAND in the GPU environment, keeps its
# output in $(GPU_LOGS)/NAME.log, shows it, and fails as COMMAND failed.
logged = env $(GPU_RUN_ENV) $(2) > $(GPU_LOGS)/$(1).log 2>&1; status=$$?; cat $(GPU_LOGS)/$(1).log; test $$status -eq 0
GPU_VALIDATION := ZE_ENABLE_VALIDATION_LAYER=1 ZE_ENABLE_PARAMETER_VALIDATION=1

check-gpu: gpu-programs
	@mkdir -p $(GPU_LOGS)
	@status=0; \
	for program in $(notdir $(DRIVER_CTESTS)); do \
	  $(call logged,$$program-plain,./$(DRIVER_OUT)/$$program) && echo "PASS $$program plain" || { echo "FAIL $$program plain"; status=1; }; \
	  $(call logged,$$program-validation,$(GPU_VALIDATION) ./$(DRIVER_OUT)/$$program) && echo "PASS $$program validation" || { echo "FAIL $$program validation"; status=1; }; \
	done; \
	$(call logged,ctests,ctests/run.sh ctests/tests.list $(abspath $(CTEST_BIN)) $(GPU_BUNDLE_ABS)/lib plain validation) || status=1; \
	$(call logged,ctests-queues,$(CTEST_QUEUES_ENV) ctests/run.sh ctests/tests.list $(abspath $(CTEST_BIN)) $(GPU_BUNDLE_ABS)/lib plain validation) || status=1; \
	$(call logged,demo,./$(BUILD)/demo) && echo "PASS demo plain" || { echo "FAIL demo plain"; status=1; }; \
	$(call logged,demo-validation,$(GPU_VALIDATION) ./$(BUILD)/demo) && echo "PASS demo validation" || { echo "FAIL demo validation"; status=1; }; \
	$(if $(filter 1,$(CHECK_GPU_BENCH)),$(MAKE) --no-print-directory bench-gpu || status=1;) \
	if [ $$status -eq 0 ]; then echo "check-gpu: all passed"; else echo "check-gpu: FAILED"; exit 1; fi

bench-gpu: gpu-programs
	@mkdir -p $(GPU_LOGS)
	@$(call logged,bench,./$(BENCH_BIN))
	@$(call logged,bench-upstream-model,LD_PRELOAD=$(abspath $(BENCH_MODEL)) ./$(BENCH_BIN))
	@$(call logged,bench-queues,./$(BENCH_QUEUES))
ifeq ($(GPU_BACKEND),cuda)
	@$(call logged,gpu_bench,./$(BUILD)/gpu_bench)
	@$(call logged,gpu_roundtrip,./$(BUILD)/gpu_roundtrip)
	@$(call logged,gpu_signals,./$(BUILD)/gpu_signals)
endif
	@mkdir -p $(dir $(GPU_SWEEP_CSV))
	@rm -f $(GPU_SWEEP_CSV)
	@$(call logged,sweep,./$(BENCH_SWEEP) --csv $(GPU_SWEEP_CSV) $(GPU_SWEEP_ARGS))
	@$(call logged,sweep-upstream-model,LD_PRELOAD=$(abspath $(BENCH_MODEL)) ./$(BENCH_SWEEP) --csv $(GPU_SWEEP_CSV) \
		--implementation upstream_model --no-raw $(GPU_SWEEP_ARGS))
ifeq ($(GPU_BACKEND),cuda)
	@$(call logged,gpu_sweep,./$(BUILD)/gpu_sweep --csv $(GPU_SWEEP_CSV) $(GPU_SWEEP_ARGS))
endif
	@[ "$(abspath $(GPU_SWEEP_CSV))" = "$(abspath $(GPU_LOGS))/gpu-sweep.csv" ] || cp $(GPU_SWEEP_CSV) $(GPU_LOGS)/gpu-sweep.csv
	@echo "bench-gpu: sweep CSV in $(GPU_SWEEP_CSV) and $(GPU_LOGS)/gpu-sweep.csv (docs/performance.md: commit it as docs/data/gpu-sweep.csv)"
