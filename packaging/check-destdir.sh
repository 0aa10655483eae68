#!/usr/bin/env bash
# make destdir-check: `make install install-driver DESTDIR=STAGE PREFIX=/usr`
# writes exactly the expected files, modes and links under STAGE, each saying
# /usr (never STAGE); the staged CMake package works from where it lies; then
# `make uninstall` removes all of it and nothing else.
# Usage: check-destdir.sh STAGE VERSION SONAME_MAJOR DRIVER CMAKE_WORKDIR
set -euo pipefail
stage=$1 version=$2 major=$3 driver=$4 work=$5
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
lib=target/release/libaml_dma_ze.so

fail() { echo "destdir-check: $*" >&2; exit 1; }

# One line per path: type, mode (files only), path, link target (links only).
listing() {
	(cd "$stage" && find . -mindepth 1 -printf '%y %m %P %l\n' | sort -k3) |
		awk '$1 == "d" { print "d", $3; next } $1 == "l" { print "l", $3, "->", $4; next } { print $1, $2, $3 }'
}

make --no-print-directory install install-driver DESTDIR="$stage" PREFIX=/usr >/dev/null

diff -u - <(listing) <<LIST || fail "the staged tree is not what install must write"
d usr
d usr/include
d usr/include/aml
d usr/include/aml/dma
f 644 usr/include/aml/dma/ze.h
f 644 usr/include/swze.h
d usr/lib
d usr/lib/cmake
d usr/lib/cmake/aml-dma-ze
f 644 usr/lib/cmake/aml-dma-ze/aml-dma-ze-config-version.cmake
f 644 usr/lib/cmake/aml-dma-ze/aml-dma-ze-config.cmake
l usr/lib/libaml_dma_ze.so -> libaml_dma_ze.so.$major
l usr/lib/libaml_dma_ze.so.$major -> libaml_dma_ze.so.$version
f 755 usr/lib/libaml_dma_ze.so.$version
f 755 usr/lib/libswze.so
d usr/lib/pkgconfig
f 644 usr/lib/pkgconfig/aml-dma-ze.pc
LIST
echo "staged tree: every path, mode and link as expected"

# The installed bytes are the built ones.
cmp "$lib" "$stage/usr/lib/libaml_dma_ze.so.$version"
cmp "$driver" "$stage/usr/lib/libswze.so"
cmp include/aml/dma/ze.h "$stage/usr/include/aml/dma/ze.h"
cmp driver/include/swze.h "$stage/usr/include/swze.h"
# The soname the dynamic linker looks for is the name of the soname link.
soname=$(readelf -d "$stage/usr/lib/libaml_dma_ze.so.$version" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libaml_dma_ze.so.$major" ] || fail "soname is '$soname', not libaml_dma_ze.so.$major"
for link in libaml_dma_ze.so libaml_dma_ze.so.$major; do
	[ -f "$stage/usr/lib/$link" ] || fail "$link does not resolve inside the staged lib/"
done
echo "bytes, soname and links: as built"

# No file, binaries included, names the stage.
if grep -rlF "$stage" "$stage"; then fail "the files above name the stage $stage"; fi
# pkg-config reads /usr from the staged file, as it will once unstaged.
for variable in prefix:/usr libdir:/usr/lib includedir:/usr/include; do
	got=$(PKG_CONFIG_PATH="$stage/usr/lib/pkgconfig" pkg-config --variable="${variable%%:*}" aml-dma-ze)
	[ "$got" = "${variable#*:}" ] || fail "pkg-config ${variable%%:*} is '$got', not ${variable#*:}"
done
[ "$(PKG_CONFIG_PATH="$stage/usr/lib/pkgconfig" pkg-config --modversion aml-dma-ze)" = "$version" ] ||
	fail "pkg-config --modversion is not $version"
echo "no staged path in any file; pkg-config says prefix=/usr, version $version"

# The CMake package computes its paths from where it lies: used from the
# stage, it must give the staged library and header.
rm -rf "$work"
cmake -S ctests/install/cmake -B "$work" -DCMAKE_PREFIX_PATH="$stage/usr" \
	-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DEXPECT_VERSION="$version" >"$work.log" 2>&1 ||
	{ cat "$work.log"; fail "the staged CMake package does not configure"; }
cmake --build "$work" >>"$work.log" 2>&1 || { cat "$work.log"; fail "build against the stage failed"; }
ZE_ENABLE_ALT_DRIVERS="$stage/usr/lib/libswze.so" "$work/installed_program" "$stage/usr/lib"

# Uninstall removes all it wrote and leaves another package's file (and its
# directory) alone.
echo '/* libaml */' >"$stage/usr/include/aml/aml.h"
make --no-print-directory uninstall DESTDIR="$stage" PREFIX=/usr >/dev/null
diff -u - <(listing) <<LIST || fail "make uninstall left the tree above"
d usr
d usr/include
d usr/include/aml
f 644 usr/include/aml/aml.h
d usr/lib
d usr/lib/cmake
d usr/lib/pkgconfig
LIST
rm "$stage/usr/include/aml/aml.h"
make --no-print-directory uninstall DESTDIR="$stage" PREFIX=/usr >/dev/null
diff -u - <(listing) <<LIST || fail "make uninstall left the tree above"
d usr
d usr/include
d usr/lib
d usr/lib/cmake
d usr/lib/pkgconfig
LIST
echo "make uninstall: removed what install wrote, kept another package's header"
echo "destdir-check: passed"
