#!/usr/bin/env bash
# packaging/dist-check.sh ARCHIVE VERSION (make dist-check): ARCHIVE, made by
# make dist from HEAD, is what a site without internet needs:
#   - a second make dist of the commit gives the same bytes;
#   - it holds .cargo/config.toml and vendor/, and not the Spack package;
#   - unpacked outside any checkout, it builds with the network off and an
#     empty CARGO_HOME (a crate missing from vendor/ fails here), and the demo
#     runs on the software driver.
set -euo pipefail
archive=$(realpath "$1")
version=$2
make=${MAKE:-make}
name=aml-dma-ze-$version

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

packaging/dist.sh "$version" "$work/again" >/dev/null
cmp "$archive" "$work/again/$name.tar.gz" || {
	echo "dist-check: two archives of one commit differ"
	exit 1
}
echo "dist-check: a second archive of the commit is identical"

tar -xzf "$archive" -C "$work"
tree=$work/$name
for path in .cargo/config.toml vendor Cargo.lock include/aml/dma/ze.h ze-sys/src/bindings.rs; do
	[ -e "$tree/$path" ] || { echo "dist-check: $path is missing from the archive"; exit 1; }
done
[ ! -e "$tree/packaging/spack" ] || { echo "dist-check: packaging/spack is in the archive"; exit 1; }

mkdir "$work/cargo-home"
cd "$tree"
export CARGO_HOME=$work/cargo-home CARGO_NET_OFFLINE=true
"$make" --no-print-directory
"$make" --no-print-directory demo | tee "$work/demo.out"
grep -q "verified 268435456 bytes: identical" "$work/demo.out" || {
	echo "dist-check: the demo of the unpacked archive did not verify its bytes"
	exit 1
}
echo "dist-check: $name builds offline from its vendored crates and the demo runs"
