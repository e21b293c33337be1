#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs every libFuzzer target of a build for SECONDS each, one after the
# other, on a copy of its seed corpus (the corpus in the repository is never
# written to), and prints one summary line per fuzzer.
#
#   tests/fuzz/run-fuzzers.sh BUILD_DIR SECONDS
#
# BUILD_DIR is a build configured with clang and
#   -Dfuzzers=true -Db_sanitize=address,undefined -Db_lundef=false
# Exits 1 if any fuzzer found a crash, leak, timeout or out-of-memory input;
# its reproducers and log are then copied to $FUZZ_CRASH_DIR (default
# /tmp/fuzz-crashes/FUZZER-TIMESTAMP/).  Replay one with `FUZZER FILE`.
set -eu

usage() {
	echo "usage: $0 BUILD_DIR SECONDS" >&2
	exit 2
}
[ $# -eq 2 ] || usage
build=$1
duration=$2
case $duration in
''|0|*[!0-9]*) usage ;;
esac

src=$(cd "$(dirname "$0")" && pwd)
crash_root=${FUZZ_CRASH_DIR:-/tmp/fuzz-crashes}

# UBSan only reports by default; make it stop so libFuzzer keeps the input.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}

# name:corpus-and-dictionary
fuzzers="fuzz-policy-parser:policy fuzz-policy-keyfile:keyfile fuzz-wire:wire fuzz-filecopy:filecopy fuzz-rpc-request:rpc-request fuzz-gui-decode:gui-decode fuzz-gui-host-decode:gui-host-decode fuzz-template-manifest:template-manifest fuzz-template-tar:template-tar fuzz-prompt-question:prompt-question"
failed=0

for entry in $fuzzers; do
	name=${entry%%:*}
	kind=${entry#*:}
	exe=$build/tests/fuzz/$name
	if [ ! -x "$exe" ]; then
		echo "$name: MISSING ($exe not built; configure with -Dfuzzers=true)"
		failed=1
		continue
	fi

	work=$(mktemp -d "${TMPDIR:-/tmp}/qmgr-$name.XXXXXX")
	mkdir "$work/corpus" "$work/artifacts"
	cp "$src/corpus/$kind/"* "$work/corpus/"
	seeds=$(ls "$work/corpus" | wc -l)

	rc=0
	dict=()
	[ -f "$src/$kind.dict" ] && dict=(-dict="$src/$kind.dict")
	"$exe" -max_total_time="$duration" -max_len=65536 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		"${dict[@]}" -artifact_prefix="$work/artifacts/" \
		"$work/corpus" >"$work/log" 2>&1 || rc=$?

	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$work/log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -n 1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$work/log" | tail -n 1 | cut -d' ' -f2)
	inputs=$(ls "$work/corpus" | wc -l)
	runs=${runs:-0}
	rate=$((runs / duration))

	if [ "$rc" -eq 0 ] && [ -z "$(ls "$work/artifacts")" ]; then
		echo "$name: OK, $runs runs in ${duration} s (~$rate/s), cov ${cov:-?} ft ${ft:-?}, corpus $seeds -> $inputs inputs, peak RSS ${rss:-?} MB"
		rm -rf "$work"
		continue
	fi

	failed=1
	keep=$crash_root/$name-$(date +%Y%m%d-%H%M%S)
	mkdir -p "$keep"
	cp "$work/log" "$keep/log"
	cp "$work/artifacts/"* "$keep/" 2>/dev/null || true
	reproducers=$(cd "$keep" && ls | grep -v '^log$' | tr '\n' ' ')
	echo "$name: FAILED (exit $rc) after $runs runs; reproducers in $keep: ${reproducers:-none}; log $keep/log"
	# The sanitizer's or the invariant's own words, and the top of the stack.
	grep -m 3 -E 'ERROR: |SUMMARY: |invariant violated|runtime error|rule text|decides' "$keep/log" | sed 's/^/    /' || true
	grep -m 6 -E '^ +#[0-9]+ ' "$keep/log" | sed 's/^/    /' || true
	rm -rf "$work"
done

exit $failed
