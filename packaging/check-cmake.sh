#!/usr/bin/env bash
# make install-cmake-check: a CMake project (ctests/install/cmake) finds the
# package installed at PREFIX with find_package(aml-dma-ze), builds
# ctests/install/installed_program.c against aml::dma_ze and runs it on the
# software driver; the version file answers as SameMajorVersion should.
# Usage: check-cmake.sh PREFIX VERSION DRIVER WORKDIR
set -euo pipefail
prefix=$1 version=$2 driver=$3 work=$4
project=$(cd "$(dirname "$0")/../ctests/install/cmake" && pwd)
major=${version%%.*}
rm -rf "$work"
mkdir -p "$work"

fail() { echo "install-cmake-check: $*" >&2; exit 1; }

# configure NAME ARGS...: a fresh build tree per case, its output kept.
configure() {
	local name=$1; shift
	cmake -S "$project" -B "$work/$name" -DCMAKE_PREFIX_PATH="$prefix" \
		-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF "$@" >"$work/$name.log" 2>&1
}

# Accepted: nothing asked, an older or equal version of the same major, a
# range holding this version.
for want in "" "$major" "$version" "$major.0" "$major.0...<$((major + 1))" "$version...$version"; do
	configure "accept-${want:-none}" -DFIND_ONLY=ON -DAML_DMA_ZE_WANT="$want" \
		-DEXPECT_VERSION="$version" ||
		{ cat "$work/accept-${want:-none}.log"; fail "find_package(aml-dma-ze $want) refused $version"; }
	echo "accepted: find_package(aml-dma-ze ${want:-<any>})"
done
# Refused: a newer version, another major, a range above this version. The
# failure must be the version's, not some other error.
IFS=. read -r _ minor _ <<<"$version"
for want in "$major.$((minor + 1))" "$((major + 1))" "$((major + 1)).0...$((major + 2)).0" \
	"$major.0...<$version"; do
	if configure "refuse-$want" -DFIND_ONLY=ON -DAML_DMA_ZE_WANT="$want"; then
		fail "find_package(aml-dma-ze $want) accepted $version"
	fi
	grep -q 'compatible with requested version' "$work/refuse-$want.log" ||
		{ cat "$work/refuse-$want.log"; fail "find_package(aml-dma-ze $want) failed for another reason"; }
	echo "refused:  find_package(aml-dma-ze $want), as it must be"
done

# Build and run the program against the target, and README's first program
# with nothing but README's two lines (find_package, aml::dma_ze), which
# must bring the Level Zero loader it calls.
"$(dirname "$0")/readme-example.sh" "$(dirname "$0")/../README.md" "$work/readme"
configure build -DAML_DMA_ZE_WANT="$major.0" -DEXPECT_VERSION="$version" \
	-DEXAMPLE_SOURCE="$work/readme/example.c" ||
	{ cat "$work/build.log"; fail "configure failed"; }
cmake --build "$work/build" ||
	fail "build failed"
ZE_ENABLE_ALT_DRIVERS=$driver "$work/build/installed_program" "$prefix/lib"
ZE_ENABLE_ALT_DRIVERS=$driver "$work/build/example" ||
	fail "README's first program, built with CMake, failed"
echo "install-cmake-check: passed"
