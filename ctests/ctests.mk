# The C suite, included by the top-level Makefile (which defines CC, C_COMMON,
# C_LINK_LIB, LIB, LIB_SONAME, DRIVER, ZE_ALT_ENV, RELEASE_DIR, CTEST_BIN).
#   make ctest                  all passes: plain, validation layer, valgrind
#   make ctest CTEST_PASSES=plain
#   make ctest-models           both runs, plain, on every other device model
#   make ctest-policies         both runs, plain, without Intel's copy policies, without its split, and
#                               without the library's use of counter-based events and in-order lists

CTEST_PASSES ?= plain validation valgrind

CTEST_SUPPORT_SRC := $(wildcard ctests/support/*.c)
CTEST_SUPPORT_HDR := $(wildcard ctests/support/*.h)
CTEST_SUPPORT_OBJ := $(patsubst ctests/support/%.c,$(CTEST_BIN)/support/%.o,$(CTEST_SUPPORT_SRC))
CTEST_CFLAGS := $(C_COMMON) -Ictests/support -Ictests/standin

# Programs linked directly against libaml_dma_ze (and the test's own loader).
CTEST_DIRECT := test_abi test_entry_points test_layouts test_custom_operator \
	test_data_sizes test_async_barrier test_threads test_null_arguments \
	test_loader_absent test_standalone test_in_flight test_steady_state \
	test_devices test_queues test_bad_buffers test_host_prepare
# Programs that also use AML's dense layouts (libamldense.so, as libaml's).
CTEST_DENSE := test_copy_nd test_faults test_ordering test_peer test_failed_pieces
CTEST_PROGRAMS := $(addprefix $(CTEST_BIN)/,$(CTEST_DIRECT)) \
	$(CTEST_BIN)/libamlstandin.so $(CTEST_BIN)/libamldense.so $(addprefix $(CTEST_BIN)/,$(CTEST_DENSE)) \
	$(CTEST_BIN)/test_swapin_standin $(CTEST_BIN)/test_swapin_ahead

$(CTEST_BIN)/support/%.o: ctests/support/%.c $(CTEST_SUPPORT_HDR) $(LIB_SONAME)
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(CTEST_CFLAGS) -c -o $@ $<

$(addprefix $(CTEST_BIN)/,$(CTEST_DIRECT)): $(CTEST_BIN)/%: ctests/%.c $(CTEST_SUPPORT_OBJ) $(CTEST_SUPPORT_HDR) $(LIB_SONAME)
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(CTEST_CFLAGS) -o $@ $< $(CTEST_SUPPORT_OBJ) $(C_LINK_LIB) \
		-laml_dma_ze -lze_loader -lpthread -ldl

# The stand-in libaml: PIC, exported symbols reached through its own GOT/PLT
# (no -Bsymbolic), linked to the loader as libaml is.
# It carries AML's dense layouts too (layout_dense.c), under AML's names.
$(CTEST_BIN)/libamlstandin.so: ctests/standin/standin.c ctests/standin/standin.h \
		ctests/standin/layout_dense.c ctests/standin/layout_dense.h $(LIB_SONAME)
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(C_WARNINGS) -O2 -g -D_GNU_SOURCE -Iinclude -fPIC -shared \
		-Wl,-soname,libamlstandin.so -o $@ ctests/standin/standin.c \
		ctests/standin/layout_dense.c -lze_loader

# AML's dense layouts alone, for programs that link our library directly:
# they export aml_layout_row_ops/aml_layout_column_ops as libaml would.
$(CTEST_BIN)/libamldense.so: ctests/standin/layout_dense.c ctests/standin/layout_dense.h $(LIB_SONAME)
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(C_WARNINGS) -O2 -g -D_GNU_SOURCE -Iinclude -fPIC -shared \
		-Wl,-soname,libamldense.so -o $@ $<

$(addprefix $(CTEST_BIN)/,$(CTEST_DENSE)): $(CTEST_BIN)/%: ctests/%.c $(CTEST_SUPPORT_OBJ) $(CTEST_SUPPORT_HDR) \
		$(CTEST_BIN)/libamldense.so $(LIB_SONAME)
	$(QUIET_CC)$(CC) $(CTEST_CFLAGS) -o $@ $< $(CTEST_SUPPORT_OBJ) $(C_LINK_LIB) \
		-L$(CTEST_BIN) -Wl,-rpath,$(abspath $(CTEST_BIN)) \
		-Wl,--no-as-needed -lamldense -laml_dma_ze -lze_loader -lpthread -ldl

# (a) linked against the stand-in only; our library comes by LD_PRELOAD.
$(CTEST_BIN)/test_swapin_standin: ctests/test_swapin.c $(CTEST_BIN)/libamlstandin.so $(CTEST_SUPPORT_OBJ)
	$(QUIET_CC)$(CC) $(CTEST_CFLAGS) -o $@ $< $(CTEST_SUPPORT_OBJ) -pie \
		-L$(CTEST_BIN) -Wl,-rpath,$(abspath $(CTEST_BIN)) \
		-Wl,--no-as-needed -lamlstandin -lze_loader -lpthread -ldl

# (b) our library linked ahead of the stand-in.
$(CTEST_BIN)/test_swapin_ahead: ctests/test_swapin.c $(CTEST_BIN)/libamlstandin.so $(CTEST_SUPPORT_OBJ) $(LIB_SONAME)
	$(QUIET_CC)$(CC) $(CTEST_CFLAGS) -o $@ $< $(CTEST_SUPPORT_OBJ) $(C_LINK_LIB) \
		-L$(CTEST_BIN) -Wl,-rpath,$(abspath $(CTEST_BIN)) \
		-Wl,--no-as-needed -laml_dma_ze -lamlstandin -lze_loader -lpthread -ldl

ctest-build: $(CTEST_PROGRAMS) $(DRIVER)

# The whole suite twice: as written (one queue per dma), then with every
# dma spread over every copy engine of its device (AML_DMA_ZE_QUEUES=all,
# CTEST_ORDINAL=1: on the default Max 1550 model the main copy engine and
# the 7 link copy engines), where requests are placed over lists and large
# copies split.
CTEST_QUEUES_ENV := CTEST_TAG=queues AML_DMA_ZE_QUEUES=all CTEST_ORDINAL=1

ctest: ctest-build
	$(ZE_ALT_ENV) ctests/run.sh ctests/tests.list $(abspath $(CTEST_BIN)) \
		$(abspath $(RELEASE_DIR)) $(CTEST_PASSES)
	$(ZE_ALT_ENV) $(CTEST_QUEUES_ENV) ctests/run.sh ctests/tests.list \
		$(abspath $(CTEST_BIN)) $(abspath $(RELEASE_DIR)) $(CTEST_PASSES)

ctest-queues: ctest-build
	$(ZE_ALT_ENV) $(CTEST_QUEUES_ENV) ctests/run.sh ctests/tests.list \
		$(abspath $(CTEST_BIN)) $(abspath $(RELEASE_DIR)) $(CTEST_PASSES)

# Both runs of the suite (plain pass) on every other device model and
# hierarchy of DEVICE_MODEL_RUNS (driver/driver.mk); ctest covers the
# default (max1550 FLAT) with every pass. A test line's own variables (a
# fault test's COMPOSITE) still win.
CTEST_MODEL_RUNS := $(filter-out max1550:FLAT,$(DEVICE_MODEL_RUNS))

ctest-models: ctest-build
	@set -e; for run in $(CTEST_MODEL_RUNS); do \
	  model=$${run%%:*}; hierarchy=$${run#*:}; \
	  echo "ctest-models: $$model $$hierarchy"; \
	  $(ZE_ALT_ENV) SWZE_DEVICE_MODEL=$$model ZE_FLAT_DEVICE_HIERARCHY=$$hierarchy CTEST_TAG=$$model-$$hierarchy \
	    ctests/run.sh ctests/tests.list $(abspath $(CTEST_BIN)) $(abspath $(RELEASE_DIR)) plain; \
	  $(ZE_ALT_ENV) SWZE_DEVICE_MODEL=$$model ZE_FLAT_DEVICE_HIERARCHY=$$hierarchy $(CTEST_QUEUES_ENV) \
	    CTEST_TAG=$$model-$$hierarchy-queues \
	    ctests/run.sh ctests/tests.list $(abspath $(CTEST_BIN)) $(abspath $(RELEASE_DIR)) plain; \
	done

# Both runs of the suite (plain pass) without what Intel's driver does with
# copies (SWZE_INTEL_POLICIES=0: each copy on its list's engine), and with
# the driver's split of the main copy engine off as Intel's debug key turns
# it off (CPU copies still on): the library must be right whether or not
# the driver splits or copies with the CPU. ctest covers the default (every
# policy on). The last run takes the library's path for drivers without
# counter-based events (lists kept in order by barriers, events reset by the
# host) on a driver that offers them: both paths keep the same promises.
CTEST_POLICY_RUNS := policies-off:SWZE_INTEL_POLICIES=0 split-off:NEOReadDebugKeys=1:SplitBcsCopy=0 \
	counter-events-off:AML_DMA_ZE_COUNTER_EVENTS=0

ctest-policies: ctest-build
	@set -e; for run in $(CTEST_POLICY_RUNS); do \
	  tag=$${run%%:*}; vars=$$(echo $${run#*:} | tr ':' ' '); \
	  echo "ctest-policies: $$tag ($$vars)"; \
	  env $(ZE_ALT_ENV) $$vars CTEST_TAG=$$tag \
	    ctests/run.sh ctests/tests.list $(abspath $(CTEST_BIN)) $(abspath $(RELEASE_DIR)) plain; \
	  env $(ZE_ALT_ENV) $$vars $(CTEST_QUEUES_ENV) CTEST_TAG=$$tag-queues \
	    ctests/run.sh ctests/tests.list $(abspath $(CTEST_BIN)) $(abspath $(RELEASE_DIR)) plain; \
	done

ctest-plain:
	$(MAKE) --no-print-directory ctest CTEST_PASSES=plain

.PHONY: ctest-build ctest-queues ctest-models ctest-policies
