# The project's suites against another Level Zero loader than the system's
# (Debian's 1.8 / API 1.4): a current loader, built by hand (README, "Another
# Level Zero loader"). Included by the top-level Makefile; outside CI and
# outside make check, like the GPU targets.
#   make check-loader LOADER_DIR=<directory holding libze_loader.so.1>
# Programs are built (and linked) as usual; at run time LD_LIBRARY_PATH puts
# LOADER_DIR first, so every program, the library's dlopen of
# libze_loader.so.1, the Rust tests' and the loader's own layers
# (libze_validation_layer.so.1) come from there. Runs the driver's C
# programs (driver-check), the C suite in both runs (ctest; CTEST_PASSES
# as there) and again without Intel's copy policies, without its split and
# on the library's path for drivers without counter-based events
# (ctest-policies, plain), README's example and the prepared-host example,
# and the Rust tests (cargo-test; CHECK_LOADER_CARGO=0 leaves them out).

LOADER_DIR ?=
CHECK_LOADER_CARGO ?= 1
CHECK_LOADER_DIR = $(abspath $(LOADER_DIR))
CHECK_LOADER_TARGETS := driver-check ctest ctest-policies readme-example prepared-host \
	$(if $(filter 1,$(CHECK_LOADER_CARGO)),cargo-test)

.PHONY: check-loader

check-loader:
	@test -n "$(LOADER_DIR)" || { echo "check-loader: LOADER_DIR=<directory holding libze_loader.so.1> is required"; exit 1; }
	@for library in libze_loader.so.1 libze_validation_layer.so.1; do \
	  test -e "$(CHECK_LOADER_DIR)/$$library" || { \
	    echo "check-loader: $(CHECK_LOADER_DIR)/$$library is missing (the loader's own validation layer must lie beside it)"; exit 1; }; \
	done
	$(MAKE) --no-print-directory ctest-build driver-ctest-build
	@found=$$(LD_LIBRARY_PATH=$(CHECK_LOADER_DIR) ldd $(CTEST_BIN)/test_abi | awk '/libze_loader.so.1 / { print $$3 }'); \
	real=$$(readlink -f "$$found"); \
	echo "check-loader: libze_loader.so.1 is $$real"; \
	case "$$real" in "$$(readlink -f $(CHECK_LOADER_DIR))"/*) ;; \
	  *) echo "check-loader: programs do not reach the loader of $(CHECK_LOADER_DIR)"; exit 1;; esac
	LD_LIBRARY_PATH=$(CHECK_LOADER_DIR)$${LD_LIBRARY_PATH:+:$$LD_LIBRARY_PATH} \
		$(MAKE) --no-print-directory -k $(CHECK_LOADER_TARGETS)
	@echo "make check-loader: all passed with the loader of $(CHECK_LOADER_DIR)"
