#!/usr/bin/env bash
# packaging/dist.sh VERSION OUT_DIR (make dist): the release archive
# OUT_DIR/aml-dma-ze-VERSION.tar.gz and its .sha256, built offline anywhere:
# git's HEAD (never the working tree: uncommitted changes, target/, build/
# stay out), every crate of the lock file vendored under vendor/, and a
# .cargo/config.toml that makes cargo use them instead of crates.io.
# Reproducible: the same commit gives the same bytes.
set -euo pipefail
version=$1
out=$2
cargo=${CARGO:-cargo}
name=aml-dma-ze-$version

# The Spack package holds the archive's sha256, so it cannot be inside:
# .gitattributes marks it export-ignore. Its commits must not move the
# archive's timestamps either, so they do not count for the epoch.
not_archived=packaging/spack

cd "$(git rev-parse --show-toplevel)"
if ! git diff --quiet HEAD -- . ":(exclude)$not_archived"; then
	echo "make dist: uncommitted changes are not in the archive, it is HEAD ($(git rev-parse --short HEAD))"
fi
epoch=$(git log -1 --format=%ct HEAD -- . ":(exclude)$not_archived")

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
git archive --prefix="$name/" HEAD | tar -x -C "$stage"
tree=$stage/$name

# The whole workspace's lock file, dev-dependencies included (make check
# runs the Rust tests), for every platform.
(cd "$tree" && "$cargo" vendor --locked --quiet vendor >/dev/null)
mkdir "$tree/.cargo"
cat >"$tree/.cargo/config.toml" <<'EOF'
# The release archive builds from the crates in vendor/, never from crates.io.
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "vendor"
EOF
CARGO=$cargo python3 packaging/trim-vendor.py "$tree"

# Fixed order, times, owners and modes (755 where anything is executable,
# else 644), no hard links, no name or time in the gzip header.
mkdir -p "$out"
LC_ALL=C tar -C "$stage" --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
	--mode='a+rX,u+w,go-w' --hard-dereference --format=gnu -cf - "$name" |
	gzip -n -9 >"$out/$name.tar.gz.part"
mv "$out/$name.tar.gz.part" "$out/$name.tar.gz"
(cd "$out" && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")
size=$(stat -c %s "$out/$name.tar.gz")
echo "make dist: $out/$name.tar.gz ($((size / 1024)) KiB, $(du -sk "$tree" | cut -f1) KiB unpacked) of $(git rev-parse --short HEAD)"
cat "$out/$name.tar.gz.sha256"
