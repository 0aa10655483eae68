# Build, test, demo, install and bench for libaml_dma_ze.
#   make            the library and the software driver (release)
#   make demo       run examples/demo.c on the software driver
#   make prepared-host  run examples/prepared_host.c (malloc'd memory, prepared or not)
#   make check      everything CI runs (see the check target)
#   make install PREFIX=/usr/local
#   make dist       the release archive, vendored crates included (docs/install.md)
#   make bench / make bench-instructions
#   make check-loader LOADER_DIR=...  the suites against another Level Zero loader (README)
# Rust builds go through cargo into target/; C outputs go under build/.

CARGO ?= cargo
CC ?= cc
PREFIX ?= /usr/local
DESTDIR ?=

VERSION := 0.1.0
SONAME_MAJOR := 0
# RELEASE_DIR=... with NO_CARGO=1 uses libraries built elsewhere (the GPU
# machine has no cargo: gpu/gpu.mk).
RELEASE_DIR ?= target/release
NO_CARGO ?=
LIB := $(RELEASE_DIR)/libaml_dma_ze.so
LIB_SONAME := $(RELEASE_DIR)/libaml_dma_ze.so.$(SONAME_MAJOR)
DRIVER := $(RELEASE_DIR)/libswze.so
HEADER := include/aml/dma/ze.h
BUILD := build
CTEST_BIN := $(BUILD)/ctests

# Every program of the suite and the demo runs on the software driver through
# the real loader; the path must be absolute.
ZE_ALT_ENV := ZE_ENABLE_ALT_DRIVERS=$(abspath $(DRIVER))

# make V=1 shows the full compiler command lines.
V ?= 0
QUIET_CC = $(if $(filter 1,$(V)),,@echo "  CC      $@";)

C_WARNINGS := -std=c11 -Wall -Wextra -Werror
C_COMMON := $(C_WARNINGS) -O2 -g -D_GNU_SOURCE -fPIE -Iinclude -Idriver/include
C_LINK_LIB := -pie -L$(RELEASE_DIR) -Wl,-rpath,$(abspath $(RELEASE_DIR))

.PHONY: all demo prepared-host readme-example check install uninstall clean bench bench-instructions \
        bindings-check header-check cargo-test loom-check ctest ctest-plain \
        install-check install-driver FORCE

all: $(LIB_SONAME) $(DRIVER)

-include driver/driver.mk
-include bench/bench.mk
include ctests/ctests.mk
include gpu/gpu.mk
include tools/check-loader.mk

# cargo decides what is stale; the files' timestamps only move when cargo
# relinks, so C programs relink only then.
ifeq ($(NO_CARGO),1)
$(LIB) $(DRIVER):
	@test -f $@ || { echo "$@ is missing (NO_CARGO=1: built elsewhere)"; exit 1; }
else
$(LIB) $(DRIVER) &: FORCE
	$(CARGO) build --release -p aml-dma-ze -p swze
endif

# The library's soname is libaml_dma_ze.so.0; programs linked with
# -laml_dma_ze need that name at run time.
$(LIB_SONAME): $(LIB)
	ln -sf libaml_dma_ze.so $@

#--- demo -------------------------------------------------------------------

$(BUILD)/demo: examples/demo.c $(LIB_SONAME)
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(C_COMMON) -o $@ $< $(C_LINK_LIB) -laml_dma_ze -lze_loader

demo: $(BUILD)/demo $(DRIVER)
	$(ZE_ALT_ENV) ./$(BUILD)/demo

# examples/prepared_host.c: a malloc'd buffer moved before and after
# aml_dma_ze_host_prepare, rates printed, bytes verified (16 MiB in make check).
$(BUILD)/prepared_host: examples/prepared_host.c $(LIB_SONAME)
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(C_COMMON) -o $@ $< $(C_LINK_LIB) -laml_dma_ze -lze_loader

prepared-host: $(BUILD)/prepared_host $(DRIVER)
	$(ZE_ALT_ENV) ./$(BUILD)/prepared_host $(PREPARED_HOST_MIB)

PREPARED_HOST_MIB ?= 16

# README's first program, written out from README's own text
# (packaging/readme-example.sh), compiled with the project's warnings and run
# on the software driver: the README cannot go stale.
README_EXAMPLE := $(BUILD)/readme
$(README_EXAMPLE)/example.c: README.md packaging/readme-example.sh
	packaging/readme-example.sh README.md $(README_EXAMPLE)

$(README_EXAMPLE)/example: $(README_EXAMPLE)/example.c $(LIB_SONAME)
	$(QUIET_CC)$(CC) $(C_COMMON) -o $@ $< $(C_LINK_LIB) -laml_dma_ze -lze_loader

readme-example: $(README_EXAMPLE)/example $(DRIVER)
	$(ZE_ALT_ENV) ./$(README_EXAMPLE)/example

#--- check ------------------------------------------------------------------

check: bindings-check header-check cargo-test loom-check driver-check cuda-model-check readme-example prepared-host ctest ctest-models ctest-policies install-check \
       install-cmake-check destdir-check spack-check dist-check
	@echo "make check: all passed"

# ze-sys/src/bindings.rs must be exactly what bindgen makes of the installed
# Level Zero headers.
bindings-check:
	@mkdir -p $(BUILD)
	$(CARGO) run -q --release -p ze-bindgen -- $(BUILD)/bindings.rs
	diff -u ze-sys/src/bindings.rs $(BUILD)/bindings.rs

# The committed header must be what the build generates from the sources.
header-check: $(LIB)
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git diff --exit-code -- include/ || { \
			echo "include/ is stale: commit the regenerated header"; exit 1; }; \
	else \
		echo "header-check: not a git checkout, nothing to compare"; \
	fi

# The tests load the release driver just built rather than building a debug one.
cargo-test: $(DRIVER)
	SWZE_LIB=$(abspath $(DRIVER)) $(CARGO) test --workspace --release

# The loom checks under every interleaving: the free stack (src/free_stack.rs)
# and the lanes' real code on the fake driver (src/lanes_loom.rs, bounded to
# 2 preemptions unless LOOM_MAX_PREEMPTIONS says). --cfg loom gets a target
# dir of its own so that it does not invalidate target/release. They finish
# in about a minute; the run (not the first build, which compiles loom) is
# cut off after LOOM_TIMEOUT seconds.
LOOM_TIMEOUT ?= 300
LOOM_CARGO := env RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom $(CARGO) test --release -p aml-dma-ze --lib
loom-check:
	$(LOOM_CARGO) --no-run
	timeout $(LOOM_TIMEOUT) $(LOOM_CARGO) -- loom_model lanes_loom

#--- install ----------------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=stage]: the library and its soname
# links, the header, the pkg-config file and the CMake package
# (lib/cmake/aml-dma-ze/, imported target aml::dma_ze). With DESTDIR every
# file goes under it, and what the files say (pkg-config prefix, CMake paths,
# links) is right for PREFIX once the tree is unstaged.
# make install-driver: the software driver (lib/libswze.so, include/swze.h).
# make uninstall: removes what both wrote (same PREFIX and DESTDIR).
# packaging/packaging.mk holds the checks of all this, the installcheck target
# and the Spack package's check.

INSTALL_PREFIX = $(abspath $(PREFIX))
STAGE = $(DESTDIR)$(INSTALL_PREFIX)
VERSION_MAJOR := $(firstword $(subst ., ,$(VERSION)))
CMAKE_PACKAGE_DIR := lib/cmake/aml-dma-ze
INSTALL_GEN := $(BUILD)/install
INSTALL_SUBST = sed -e 's|@PREFIX@|$(INSTALL_PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' \
	-e 's|@VERSION_MAJOR@|$(VERSION_MAJOR)|g' -e 's|@SONAME_MAJOR@|$(SONAME_MAJOR)|g'

install: $(LIB)
	@mkdir -p $(INSTALL_GEN)
	$(INSTALL_SUBST) aml-dma-ze.pc.in >$(INSTALL_GEN)/aml-dma-ze.pc
	$(INSTALL_SUBST) packaging/cmake/aml-dma-ze-config.cmake.in \
		>$(INSTALL_GEN)/aml-dma-ze-config.cmake
	$(INSTALL_SUBST) packaging/cmake/aml-dma-ze-config-version.cmake.in \
		>$(INSTALL_GEN)/aml-dma-ze-config-version.cmake
	install -d $(STAGE)/lib/pkgconfig $(STAGE)/$(CMAKE_PACKAGE_DIR) \
		$(STAGE)/include/aml/dma
	install -m 755 $(LIB) $(STAGE)/lib/libaml_dma_ze.so.$(VERSION)
	ln -sfn libaml_dma_ze.so.$(VERSION) $(STAGE)/lib/libaml_dma_ze.so.$(SONAME_MAJOR)
	ln -sfn libaml_dma_ze.so.$(SONAME_MAJOR) $(STAGE)/lib/libaml_dma_ze.so
	install -m 644 $(HEADER) $(STAGE)/include/aml/dma/ze.h
	install -m 644 $(INSTALL_GEN)/aml-dma-ze.pc $(STAGE)/lib/pkgconfig/aml-dma-ze.pc
	install -m 644 $(INSTALL_GEN)/aml-dma-ze-config.cmake \
		$(INSTALL_GEN)/aml-dma-ze-config-version.cmake $(STAGE)/$(CMAKE_PACKAGE_DIR)

install-driver: $(DRIVER)
	install -d $(STAGE)/lib $(STAGE)/include
	install -m 755 $(DRIVER) $(STAGE)/lib/libswze.so
	install -m 644 driver/include/swze.h $(STAGE)/include/swze.h

# Directories are removed only when empty: include/aml may hold libaml's own
# headers.
uninstall:
	rm -f $(STAGE)/lib/libaml_dma_ze.so $(STAGE)/lib/libaml_dma_ze.so.$(SONAME_MAJOR) \
		$(STAGE)/lib/libaml_dma_ze.so.$(VERSION) \
		$(STAGE)/include/aml/dma/ze.h \
		$(STAGE)/lib/pkgconfig/aml-dma-ze.pc \
		$(STAGE)/$(CMAKE_PACKAGE_DIR)/aml-dma-ze-config.cmake \
		$(STAGE)/$(CMAKE_PACKAGE_DIR)/aml-dma-ze-config-version.cmake \
		$(STAGE)/lib/libswze.so $(STAGE)/include/swze.h
	for dir in $(STAGE)/$(CMAKE_PACKAGE_DIR) $(STAGE)/include/aml/dma $(STAGE)/include/aml; do \
		[ ! -d $$dir ] || rmdir --ignore-fail-on-non-empty $$dir || exit 1; \
	done

# Install into a scratch prefix, build a program with nothing but
# pkg-config's flags, and run it; then installcheck there: README's first
# program built and run with README's own lines, and the demo.
INSTALL_TEST_PREFIX := $(abspath $(BUILD)/prefix)
install-check: $(DRIVER)
	rm -rf $(INSTALL_TEST_PREFIX)
	$(MAKE) --no-print-directory install install-driver PREFIX=$(INSTALL_TEST_PREFIX)
	PKG_CONFIG_PATH=$(INSTALL_TEST_PREFIX)/lib/pkgconfig; export PKG_CONFIG_PATH; \
	$(CC) $(C_WARNINGS) -o $(BUILD)/installed_program ctests/install/installed_program.c \
		$$(pkg-config --cflags --libs aml-dma-ze) \
		-Wl,-rpath,$$(pkg-config --variable=libdir aml-dma-ze)
	$(ZE_ALT_ENV) ./$(BUILD)/installed_program $(INSTALL_TEST_PREFIX)/lib
	$(MAKE) --no-print-directory installcheck PREFIX=$(INSTALL_TEST_PREFIX)

include packaging/dist.mk
include packaging/packaging.mk

#--- bench (bench/ provides bench.mk) ----------------------------------------

ifeq ($(wildcard bench/bench.mk),)
bench bench-instructions:
	@echo "bench/bench.mk is missing: no benchmark in this checkout"; exit 1
endif

#--- driver (driver/driver.mk provides driver-check) --------------------------

ifeq ($(wildcard driver/driver.mk),)
driver-check:
	@echo "driver/driver.mk is missing: driver-check not available"; exit 1
endif

clean:
	rm -rf $(BUILD)
	$(CARGO) clean
