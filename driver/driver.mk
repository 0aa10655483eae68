# The software Level Zero driver (libswze.so): its C check and its benchmark.
# Included by the top-level Makefile, which defines CARGO (and CC).
#   make driver-check   the C program on {1,2} devices x {0,2} subdevices x
#                       {plain, loader validation layer}, then once under valgrind
#   make bench-driver   cost per 64 B round trip (inline, threaded) and 64 MiB
#                       copy bandwidth next to memcpy

CARGO ?= cargo
DRIVER_OUT := build/driver
DRIVER_SO := $(abspath $(or $(RELEASE_DIR),target/release)/libswze.so)
DRIVER_CTEST_SOURCES := $(wildcard driver/ctests/*.c)
DRIVER_CTESTS := $(patsubst driver/ctests/%.c,$(DRIVER_OUT)/%,$(DRIVER_CTEST_SOURCES))
# The C programs know nothing of the driver: public Level Zero API only.
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

$(DRIVER_OUT)/%: driver/ctests/%.c
	@mkdir -p $(@D)
	$(CC) $(DRIVER_CFLAGS) -o $@ $< -lze_loader

driver-check: driver-lib driver-ctest-build
	@passed=0; failed=0; \
	for program in $(DRIVER_CTESTS); do \
	  for devices in 1 2; do for subdevices in 0 2; do for layer in plain validation; do \
	    label="$$(basename $$program) devices=$$devices subdevices=$$subdevices $$layer"; \
	    if [ $$layer = validation ]; then extra="$(DRIVER_VALIDATION)"; else extra=""; fi; \
	    if env ZE_ENABLE_ALT_DRIVERS=$(DRIVER_SO) SWZE_DEVICES=$$devices SWZE_SUBDEVICES=$$subdevices \
	         $$extra ./$$program > $(DRIVER_OUT)/last.log 2>&1; then \
	      passed=$$((passed + 1)); echo "PASS $$label"; \
	    else \
	      failed=$$((failed + 1)); echo "FAIL $$label"; cat $(DRIVER_OUT)/last.log; \
	    fi; \
	  done; done; done; \
	  label="$$(basename $$program) devices=2 subdevices=2 valgrind"; \
	  if env ZE_ENABLE_ALT_DRIVERS=$(DRIVER_SO) SWZE_DEVICES=2 SWZE_SUBDEVICES=2 \
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
