#!/usr/bin/env bash
# run-cmocka.sh RESULT_FILE GROUP BINARY... — run cmocka test binaries, print
# their output, and write "GROUP: P passed, F failed, S skipped" to RESULT_FILE.
# Exits non-zero when any test failed or any binary crashed. After each
# binary's output one line says "ok    NAME" or "FAIL  NAME", NAME being the
# binary's file name.
#
# JGW_ONLY=GLOB runs only the binaries whose NAME matches (make mutants).
# Under CI a skipped unit test is a failure: a unit test has no environment
# to miss (tests/skips.allowed is for scenario scripts).
set -u
res=$1 group=$2; shift 2
mkdir -p "$(dirname "$res")"
: >"${res%.res}.skips"
passed=0 failed=0 skipped=0 status=0
for bin in "$@"; do
	name=$(basename "$bin")
	# shellcheck disable=SC2053  # JGW_ONLY is a pattern
	[ -n "${JGW_ONLY:-}" ] && [[ $name != $JGW_ONLY ]] && continue
	out=$(CMOCKA_MESSAGE_OUTPUT=stdout "$bin" 2>&1); rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	s=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | tail -1)
	passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		echo "$bin: exited $rc without a cmocka summary" >&2
		failed=$((failed + 1))
	fi
	if [ "${s:-0}" -gt 0 ] && [ -n "${CI:-}" ]; then
		echo "$bin: $s test(s) skipped under CI" >&2
		failed=$((failed + s))
		rc=1
	else
		skipped=$((skipped + ${s:-0}))
	fi
	if [ "$rc" -ne 0 ]; then
		status=1
		echo "FAIL  $name"
	else
		echo "ok    $name"
	fi
done
echo "$group: $passed passed, $failed failed, $skipped skipped" | tee "$res"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
