#!/bin/sh
# Instructions per request of case 1 (raw floor), case 2 (sync request) and
# case 3's requests without a handle beside the append without an event,
# inline mode, under callgrind: counts are stable where times are not.
# usage: instructions.sh BENCH_BINARY ITERATIONS OUTDIR   (env: ZE_ENABLE_ALT_DRIVERS, LD_LIBRARY_PATH)
set -eu
bin=$1 iters=$2 out=$3
command -v valgrind >/dev/null || { echo "bench-instructions: valgrind not found" >&2; exit 1; }
mkdir -p "$out"

instr() {
    kind=$1
    file=$out/callgrind.$kind.out
    rm -f "$file"
    # Only the function holding the measured loop is collected; the warm-up
    # before it (lazy binding, first pools) is not.
    SWZE_INLINE=1 valgrind --tool=callgrind --callgrind-out-file="$file" \
        --toggle-collect="bench_instr_loop_${kind%%[0-9]*}" \
        "$bin" --instr "$kind" --iters "$iters" >"$out/callgrind.$kind.log" 2>&1 || {
        cat "$out/callgrind.$kind.log" >&2
        exit 1
    }
    total=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$file")
    [ -n "$total" ] || total=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$file")
    [ -n "$total" ] && [ "$total" -gt 0 ] || { echo "bench-instructions: no instructions collected for $kind" >&2; exit 1; }
    echo "$total"
}

raw=$(instr raw)
sync=$(instr sync)
# Requests without a handle (case 3's), against the append without an event.
rawff=$(instr rawff)
ff=$(instr ff)
# A dma over every copy engine (index -1 on ordinal 1): with nothing else outstanding,
# and with 64 independent requests outstanding (the ordering table's scan).
# Index -1 is this library's extension: not measured under another
# implementation preloaded (0 prints as n/a).
if [ -z "${LD_PRELOAD:-}" ]; then
    spread0=$(instr spread0)
    spread64=$(instr spread64)
else
    spread0=0 spread64=0
fi
awk -v raw="$raw" -v sync="$sync" -v rawff="$rawff" -v ff="$ff" -v s0="$spread0" -v s64="$spread64" -v n="$iters" 'BEGIN {
    printf "%-24s %14s %14s\n", "case (inline mode)", "instructions", "instr/request"
    printf "%-24s %14d %14.1f\n", "1 raw floor 64B", raw, raw / n
    printf "%-24s %14d %14.1f\n", "2 sync request 64B", sync, sync / n
    printf "%-24s %14d %14.1f\n", "3 append, no event", rawff, rawff / n
    printf "%-24s %14d %14.1f\n", "3 request, no handle", ff, ff / n
    if (s0 > 0) {
        printf "%-24s %14d %14.1f\n", "2 every engine, 0 out", s0, s0 / n
        printf "%-24s %14d %14.1f\n", "2 every engine, 64 out", s64, s64 / n
    } else {
        printf "%-24s %14s %14s\n", "2 every engine", "n/a", "n/a"
    }
    printf "ratio sync/raw: %.3f (the library adds %.0f instructions a request to the driver'"'"'s %.0f)\n", sync / raw, (sync - raw) / n, raw / n
    printf "figure raw64_instr_per_req %.1f\n", raw / n
    printf "figure sync64_instr_per_req %.1f\n", sync / n
    printf "figure sync64_instr_ratio_vs_raw %.3f\n", sync / raw
    printf "figure ff64_raw_instr_per_req %.1f\n", rawff / n
    printf "figure ff64_instr_per_req %.1f\n", ff / n
    printf "figure ff64_instr_ratio_vs_raw %.3f\n", ff / rawff
    if (s0 > 0) {
        printf "figure spread_sync64_instr_per_req_0_outstanding %.1f\n", s0 / n
        printf "figure spread_sync64_instr_per_req_64_outstanding %.1f\n", s64 / n
    }
}'
