# Checks of the installed trees, and the Spack package's check. Included by
# the top-level Makefile (after its install section), which defines VERSION,
# SONAME_MAJOR, LIB, DRIVER, HEADER, BUILD, CC, C_WARNINGS, PREFIX, DESTDIR,
# INSTALL_PREFIX, STAGE and ZE_ALT_ENV.
#   make installcheck PREFIX=...  the demo built against an installed PREFIX
#                                 (pkg-config only), run on the software driver
#   make install-cmake-check      find_package(aml-dma-ze) against a scratch
#                                 install: version semantics, build, run
#   make destdir-check            DESTDIR install: every path, mode, link and
#                                 unstaged path; CMake from the staged tree;
#                                 make uninstall leaves nothing
#   make spack-check              the Spack package against this Makefile and
#                                 the project's version, under a stand-in Spack

.PHONY: installcheck install-cmake-check destdir-check spack-check

# The installed driver when install-driver ran, else the build's.
INSTALLED_DRIVER = $(firstword $(wildcard $(STAGE)/lib/libswze.so) $(abspath $(DRIVER)))

installcheck:
	@test -f $(STAGE)/lib/pkgconfig/aml-dma-ze.pc || { \
		echo "installcheck: nothing installed under $(STAGE)"; exit 1; }
	@test -f $(INSTALLED_DRIVER) || { \
		echo "installcheck: no software driver: run make install-driver (or make)"; exit 1; }
	@mkdir -p $(BUILD)
	PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig$${PKG_CONFIG_PATH:+:$$PKG_CONFIG_PATH}; \
	export PKG_CONFIG_PATH; \
	$(CC) $(C_WARNINGS) -O2 -D_GNU_SOURCE -o $(BUILD)/installed_demo examples/demo.c \
		$$(pkg-config --cflags --libs aml-dma-ze level-zero) \
		-Wl,-rpath,$$(pkg-config --variable=libdir aml-dma-ze)
	ZE_ENABLE_ALT_DRIVERS=$(INSTALLED_DRIVER) ./$(BUILD)/installed_demo

CMAKE_CHECK_PREFIX := $(abspath $(BUILD)/cmake-prefix)
install-cmake-check: $(LIB) $(DRIVER)
	rm -rf $(CMAKE_CHECK_PREFIX)
	$(MAKE) --no-print-directory install PREFIX=$(CMAKE_CHECK_PREFIX)
	packaging/check-cmake.sh $(CMAKE_CHECK_PREFIX) $(VERSION) $(abspath $(DRIVER)) \
		$(abspath $(BUILD)/cmake-check)

DESTDIR_CHECK_STAGE := $(abspath $(BUILD)/destdir)
destdir-check: $(LIB) $(DRIVER)
	rm -rf $(DESTDIR_CHECK_STAGE)
	packaging/check-destdir.sh $(DESTDIR_CHECK_STAGE) $(VERSION) $(SONAME_MAJOR) \
		$(abspath $(DRIVER)) $(abspath $(BUILD)/destdir-cmake)

spack-check:
	python3 packaging/spack/check_package.py
