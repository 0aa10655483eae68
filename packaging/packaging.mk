# Checks of the installed trees, and the Spack package's check. Included by
# the top-level Makefile (after its install section), which defines VERSION,
# SONAME_MAJOR, LIB, DRIVER, HEADER, BUILD, CC, C_WARNINGS, PREFIX, DESTDIR,
# INSTALL_PREFIX, STAGE and ZE_ALT_ENV, and after packaging/dist.mk
# (IN_GIT_CHECKOUT, DIST_ARCHIVE, dist).
#   make installcheck PREFIX=...  README's first program, built and run
#                                 against an installed PREFIX by README's own
#                                 lines, and the demo built with the same
#                                 pkg-config line; both on the software driver
#   make install-cmake-check      find_package(aml-dma-ze) against a scratch
#                                 install: version semantics, build, run
#   make destdir-check            DESTDIR install: every path, mode, link and
#                                 unstaged path; CMake from the staged tree;
#                                 make uninstall leaves nothing
#   make spack-check              the Spack package against this Makefile,
#                                 the project's version and (in a git
#                                 checkout) make dist's sha256, under a
#                                 stand-in Spack
#   make spack-sha                writes make dist's sha256 into the package
# The archive changes with every commit that changes what it holds (anything
# but packaging/spack), and so does its sha256: after such a commit, run make
# spack-sha and commit package.py (packaging/spack/README.md). The archive
# cannot hold the package that holds its checksum, so packaging/spack is left
# out of it (.gitattributes) and spack-check has nothing to check there.

.PHONY: installcheck install-cmake-check destdir-check spack-check spack-sha

# The installed driver when install-driver ran, else the build's.
INSTALLED_DRIVER = $(firstword $(wildcard $(STAGE)/lib/libswze.so) $(abspath $(DRIVER)))

installcheck:
	@test -f $(STAGE)/lib/pkgconfig/aml-dma-ze.pc || { \
		echo "installcheck: nothing installed under $(STAGE)"; exit 1; }
	@test -f $(INSTALLED_DRIVER) || { \
		echo "installcheck: no software driver: run make install-driver (or make)"; exit 1; }
	@mkdir -p $(BUILD)
	rm -rf $(BUILD)/installcheck
	packaging/readme-example.sh README.md $(BUILD)/installcheck
	cd $(BUILD)/installcheck && PREFIX=$(STAGE) ZE_ENABLE_ALT_DRIVERS=$(INSTALLED_DRIVER) \
		bash -ex build.sh >output || { cat output; exit 1; }
	cat $(BUILD)/installcheck/output
	grep -qx '1048576 bytes host -> device -> host: identical' $(BUILD)/installcheck/output
	PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig$${PKG_CONFIG_PATH:+:$$PKG_CONFIG_PATH}; \
	export PKG_CONFIG_PATH; \
	$(CC) $(C_WARNINGS) -O2 -D_GNU_SOURCE -o $(BUILD)/installed_demo examples/demo.c \
		$$(pkg-config --cflags --libs aml-dma-ze) \
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

SPACK_PACKAGE := packaging/spack/packages/aml-dma-ze/package.py

ifeq ($(wildcard $(SPACK_PACKAGE)),)
spack-check spack-sha:
	@echo "$@: no Spack package here (the release archive leaves packaging/spack out)"
else ifeq ($(IN_GIT_CHECKOUT),yes)
spack-check: dist
	python3 packaging/spack/check_package.py $(DIST_ARCHIVE)

spack-sha: dist
	sha=$$(cut -d' ' -f1 $(DIST_ARCHIVE).sha256) && \
	sed -i -E "s/^( *version\(\"$(VERSION)\", sha256=\")[0-9a-f]{64}\"/\1$$sha\"/" $(SPACK_PACKAGE) && \
	grep -q "sha256=\"$$sha\"" $(SPACK_PACKAGE) || { \
		echo "spack-sha: no version(\"$(VERSION)\", sha256=...) in $(SPACK_PACKAGE) took the sha256"; exit 1; }
else
spack-check:
	python3 packaging/spack/check_package.py

spack-sha:
	@echo "spack-sha: not a git checkout: the archive is made from git's HEAD"; exit 1
endif
