#!/usr/bin/env bash
# Runs the C suite: every test of the manifest once per requested pass, and
# prints one closing line "N passed, N failed[, N skipped]". Exit status is
# non-zero if any test failed. Test programs exit 0 (pass), 77 (skip) or
# anything else (fail), the automake convention AML uses.
#
# usage: run.sh MANIFEST BIN_DIR LIB_DIR PASS...
#   PASS: plain | validation | valgrind
# Manifest lines: "name command words...". In the command, leading VAR=value
# words are set in the test's environment, @BIN@ is BIN_DIR and @LIB@ is
# LIB_DIR. Lines starting with # and blank lines are ignored.
set -uo pipefail

manifest=$1 bin_dir=$2 lib_dir=$3
shift 3
passes=("$@")
here=$(cd "$(dirname "$0")" && pwd)
# CTEST_TAG names a run of the whole suite under another environment
# (the multi-queue run): its logs and lines carry it.
tag=${CTEST_TAG:+$CTEST_TAG/}
log_dir=$bin_dir/logs${CTEST_TAG:+/$CTEST_TAG}
mkdir -p "$log_dir"

# One test may not hang the suite; valgrind runs get more room.
timeout_plain=${CTEST_TIMEOUT:-600}
timeout_valgrind=${CTEST_TIMEOUT_VALGRIND:-1800}

passed=0 failed=0 skipped=0
failures=()

run_one() { # pass name words...
	local pass=$1 name=$2
	shift 2
	local env_words=() words=() word wrapper=() limit=$timeout_plain
	for word in "$@"; do
		word=${word//@BIN@/$bin_dir}
		word=${word//@LIB@/$lib_dir}
		if [[ ${#words[@]} -eq 0 && $word =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then
			env_words+=("$word")
		else
			words+=("$word")
		fi
	done
	case $pass in
	plain) ;;
	validation)
		env_words+=(ZE_ENABLE_VALIDATION_LAYER=1 ZE_ENABLE_PARAMETER_VALIDATION=1)
		;;
	valgrind)
		# Tests that scale their work down under valgrind look for it.
		env_words+=(CTEST_VALGRIND=1)
		wrapper=(valgrind -q --error-exitcode=1 --leak-check=full
			--errors-for-leak-kinds=definite --show-leak-kinds=definite
			--suppressions="$here/valgrind.supp")
		limit=$timeout_valgrind
		;;
	*)
		echo "run.sh: unknown pass $pass" >&2
		exit 2
		;;
	esac

	local log=$log_dir/$pass.$name.log start end status
	start=$(date +%s.%N)
	env "${env_words[@]}" timeout "$limit" "${wrapper[@]}" "${words[@]}" >"$log" 2>&1
	status=$?
	end=$(date +%s.%N)
	local seconds
	seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
	case $status in
	0)
		passed=$((passed + 1))
		printf 'PASS %-34s %6ss\n' "$tag$pass/$name" "$seconds"
		;;
	77)
		skipped=$((skipped + 1))
		printf 'SKIP %-34s %6ss  %s\n' "$tag$pass/$name" "$seconds" "$(tail -n 1 "$log")"
		;;
	*)
		failed=$((failed + 1))
		failures+=("$tag$pass/$name")
		printf 'FAIL %-34s %6ss  exit %d, log %s\n' "$tag$pass/$name" "$seconds" "$status" "$log"
		sed 's/^/    | /' "$log" | tail -n 40
		;;
	esac
}

for pass in "${passes[@]}"; do
	while read -r name rest; do
		[[ -z $name || $name == \#* ]] && continue
		# shellcheck disable=SC2086 # the command is split into words on purpose
		run_one "$pass" "$name" $rest
	done <"$manifest"
done

if ((${#failures[@]})); then
	echo "failed: ${failures[*]}"
fi
if ((skipped)); then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
((failed == 0))
