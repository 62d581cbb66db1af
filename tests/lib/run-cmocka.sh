#!/usr/bin/env bash
# run-cmocka.sh RESULT_FILE GROUP BINARY... — run cmocka test binaries, print
# their output, and write "GROUP: P passed, F failed, S skipped" to RESULT_FILE.
# Exits non-zero when any test failed or any binary crashed.
set -u
res=$1 group=$2; shift 2
mkdir -p "$(dirname "$res")"
passed=0 failed=0 skipped=0 status=0
for bin in "$@"; do
	out=$(CMOCKA_MESSAGE_OUTPUT=stdout "$bin" 2>&1); rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	s=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | tail -1)
	passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
	if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
		echo "$bin: exited $rc without a cmocka summary" >&2
		failed=$((failed + 1))
	fi
	[ "$rc" -ne 0 ] && status=1
done
echo "$group: $passed passed, $failed failed, $skipped skipped" | tee "$res"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
