# The release archive. Included by the top-level Makefile, which defines
# VERSION, BUILD, CARGO and MAKE.
#   make dist         build/aml-dma-ze-VERSION.tar.gz (+ .sha256) from git's
#                     HEAD with every crate vendored: builds with no network
#   make dist-check   the archive is reproducible and builds offline (in
#                     make check)
# Both need a git checkout; in an unpacked archive dist fails and dist-check
# says it has nothing to check.

.PHONY: dist dist-check

DIST_ARCHIVE := $(BUILD)/aml-dma-ze-$(VERSION).tar.gz
# A checkout's own top level, not an unpacked archive inside someone's
# repository.
IN_GIT_CHECKOUT := $(shell [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$(realpath $(CURDIR))" ] && echo yes)

ifeq ($(IN_GIT_CHECKOUT),yes)
dist:
	CARGO=$(CARGO) packaging/dist.sh $(VERSION) $(BUILD)

dist-check: dist
	CARGO=$(CARGO) MAKE=$(MAKE) packaging/dist-check.sh $(DIST_ARCHIVE) $(VERSION)
else
dist:
	@echo "make dist: not a git checkout: the archive is made from git's HEAD"; exit 1

dist-check:
	@echo "dist-check: not a git checkout, no archive to check"
endif
