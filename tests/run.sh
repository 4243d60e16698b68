#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs ember's tests and ends with one line: "N passed, N failed".
#
#   tests/run.sh [--bin EMBER] [--unit DIR] [--fuzz DIR] [--fuzz-seconds N]
#                [--cross QEMU] [--unit-only|--integration-only|--fuzz-only]
#                [--filter REGEX] [--tags EXPR] [--configs BUILD_DIR]
# --unit may be given several times (e.g. the ASan build and the musl build).
# --tags is bats' --filter-tags: '!slow' leaves out the files tagged slow
# (`# bats file_tags=slow`), which make check-qemu runs.
#
# Unit tests are cmocka binaries (TAP output), integration tests are bats
# files driving the real binary, fuzz harnesses run briefly over their corpus;
# tests/lint.sh checks the tree (tests that assert nothing, include rules).
set -u
cd "$(dirname "$0")/.."

bin= fuzz= fuzz_seconds=10 cross= only= filter= tags= configs=
units=()
while [ $# -gt 0 ]; do
	case "$1" in
	--bin) bin=$2; shift ;;
	--unit) units+=("$2"); shift ;;
	--configs) configs=$2; shift ;;
	--fuzz) fuzz=$2; shift ;;
	--fuzz-seconds) fuzz_seconds=$2; shift ;;
	--cross) cross=$2; shift ;;
	--filter) filter=$2; shift ;;
	--tags) tags=$2; shift ;;
	--unit-only) only=unit ;;
	--integration-only) only=integration ;;
	--fuzz-only) only=fuzz ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

passed=0 failed=0 skipped=0
failures=()
log=$(mktemp -d /tmp/ember-tests.XXXXXX)
trap 'rm -rf "$log"' EXIT

# Count TAP lines from a file; remember the names of failures.
count_tap() {
	local file=$1 suite=$2 line
	while IFS= read -r line; do
		case "$line" in
		# A skip is neither (cmocka says "not ok N # SKIP", bats "ok N ... # skip").
		*" # SKIP"* | *" # skip"*) skipped=$((skipped + 1)) ;;
		"ok "*) passed=$((passed + 1)) ;;
		"not ok "*) failed=$((failed + 1)); failures+=("$suite: ${line#not ok }") ;;
		esac
	done <"$file"
}

run_unit() {
	local unit=$1 t name out rc
	for t in "$unit"/test-*; do
		[ -x "$t" ] || continue
		name="$(basename "$t") ($unit)"
		out=$log/$(basename "$t").tap
		if [ -n "$cross" ]; then
			CMOCKA_MESSAGE_OUTPUT=TAP "$cross" "$t" >"$out" 2>&1
		else
			CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$out" 2>&1
		fi
		rc=$?
		cat "$out"
		count_tap "$out" "$name"
		# A crash (sanitizer, signal) may print no "not ok" line at all.
		if [ $rc -ne 0 ] && ! grep -v ' # SKIP' "$out" | grep -q '^not ok'; then
			failed=$((failed + 1)); failures+=("$name: exited with status $rc")
		fi
	done
}

run_cross_version() {
	if "$cross" "$bin" version >"$log/version" 2>&1 && grep -q '^ember ' "$log/version"; then
		echo "ok - ember version under $cross"; passed=$((passed + 1))
	else
		echo "not ok - ember version under $cross"; cat "$log/version"
		failed=$((failed + 1)); failures+=("cross: ember version")
	fi
}

run_fuzz() {
	local f name corpus work rc
	for f in "$fuzz"/fuzz-*; do
		[ -x "$f" ] || continue
		name=$(basename "$f"); corpus=tests/fuzz/corpus/${name#fuzz-}
		work=$log/corpus-$name
		mkdir -p "$work"
		[ -d "$corpus" ] && cp -r "$corpus/." "$work/"
		# New inputs go to a scratch copy; crashes are kept for the report.
		"$f" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
			-artifact_prefix="$log/$name-" "$work" >"$log/$name.out" 2>&1
		rc=$?
		if [ $rc -eq 0 ]; then
			echo "ok - $name ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$log/$name.out" | grep -o '[0-9]*$' || echo '?') runs, ${fuzz_seconds}s)"
			passed=$((passed + 1))
		else
			echo "not ok - $name (exit $rc)"; tail -40 "$log/$name.out"
			ls "$log/$name-"* 2>/dev/null | while read -r a; do
				mkdir -p tests/fuzz/crashes && cp "$a" tests/fuzz/crashes/ && echo "  kept $a in tests/fuzz/crashes/"
			done
			failed=$((failed + 1)); failures+=("$name: exit $rc")
		fi
	done
}

run_integration() {
	local out=$log/bats.tap args=()
	[ -n "$filter" ] && args+=(--filter "$filter")
	[ -n "$tags" ] && args+=(--filter-tags "$tags")
	# Each test has its own timeout; a hung test fails instead of hanging CI.
	EMBER_BIN=$bin BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-120} \
		bats --tap "${args[@]}" tests/integration/*.bats 2>&1 | tee "$out"
	count_tap "$out" integration
	if ! grep -q '^1\.\.' "$out"; then
		failed=$((failed + 1)); failures+=("integration: bats did not run")
	fi
}

if [ -z "$only" ]; then
	echo "# the tree itself (tests/lint.sh)"
	tests/lint.sh | tee "$log/lint.tap"
	count_tap "$log/lint.tap" lint
fi
if [ -z "$only" ] || [ "$only" = unit ]; then
	for u in "${units[@]}"; do
		echo "# unit tests ($u)"
		run_unit "$u"
	done
fi
if [ -n "$configs" ] && [ -z "$only" ]; then
	echo "# Kconfig configurations ($configs)"
	tests/configs.sh "$configs" | tee "$log/configs.tap"
	count_tap "$log/configs.tap" configs
fi
if [ -n "$cross" ] && [ -n "$bin" ]; then
	run_cross_version
fi
if [ -n "$fuzz" ] && { [ -z "$only" ] || [ "$only" = fuzz ]; }; then
	echo "# fuzzing, ${fuzz_seconds}s per harness ($fuzz)"
	run_fuzz
fi
if [ -n "$bin" ] && [ -z "$cross" ] && { [ -z "$only" ] || [ "$only" = integration ]; }; then
	echo "# integration tests ($bin)"
	run_integration
fi

if [ ${#failures[@]} -gt 0 ]; then
	echo "# failures:"
	printf '#   %s\n' "${failures[@]}"
fi
[ "$skipped" -eq 0 ] || echo "# $skipped skipped (listed above)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
