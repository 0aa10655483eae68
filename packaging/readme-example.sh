#!/usr/bin/env bash
# Writes README.md's first program and its build lines out as files, so that
# the checks compile and run what README shows, word for word:
#   OUTDIR/example.c  the block after <!-- readme-example: example.c -->
#   OUTDIR/build.sh   the block after <!-- readme-example: build -->
# Usage: readme-example.sh README OUTDIR
set -euo pipefail
readme=$1 out=$2
mkdir -p "$out"

# block NAME: the lines of the fenced block that follows the marker NAME.
block() {
	awk -v marker="<!-- readme-example: $1 " '
		index($0, marker) == 1 { armed = 1; next }
		armed == 1 && /^```/ { armed = 2; next }
		armed == 2 && /^```/ { exit }
		armed == 2 { print }
	' "$readme"
}

for name in example.c build; do
	file=$out/$name
	[ "$name" = build ] && file=$out/build.sh
	block "$name" >"$file.new"
	if [ ! -s "$file.new" ]; then
		rm -f "$file.new"
		echo "readme-example.sh: no block after <!-- readme-example: $name --> in $readme" >&2
		exit 1
	fi
	# Rewritten only when changed, so that make rebuilds only then.
	if cmp -s "$file.new" "$file"; then rm -f "$file.new"; else mv "$file.new" "$file"; fi
done
