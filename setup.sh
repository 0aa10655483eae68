#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test the project,
# and nothing when it is all there already. Used by the README's two commands
# and by CI (.ci/run). Needs root or sudo for apt-get; Rust (cargo) must come
# with the machine or from rustup, as Debian's is too old for the workspace.
#   ./setup.sh --plots   only what `make plots` needs (matplotlib), nothing else:
#                        building and testing never need it.
set -euo pipefail

plots=0
case "${1:-}" in
--plots) plots=1 ;;
"") ;;
*) echo "usage: setup.sh [--plots]" >&2; exit 2 ;;
esac

# libze1/libze-dev: the Level Zero loader and headers; valgrind: the
# memory-checked passes; clang/libclang-dev: bindgen for the bindings check;
# pkg-config, cmake: the install tests (pkg-config and find_package);
# python3: the Spack package's check and make dist (packaging/trim-vendor.py).
packages=(libze1 libze-dev valgrind pkg-config gcc make clang libclang-dev cmake python3)
# bench/plot.py draws with matplotlib's Agg backend: no display needed.
[ "$plots" -eq 0 ] || packages=(python3 python3-matplotlib)

missing=()
for package in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -eq 0 ]; then as_root=(); else as_root=(sudo); fi
	export DEBIAN_FRONTEND=noninteractive
	"${as_root[@]}" apt-get update
	"${as_root[@]}" apt-get install -y "${missing[@]}"
fi

if [ "$plots" -eq 0 ] && ! command -v "${CARGO:-cargo}" >/dev/null; then
	echo "setup.sh: cargo not found; install Rust (rustup) first" >&2
	exit 1
fi
