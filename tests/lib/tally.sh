#!/usr/bin/env bash
# tally.sh RESULT_DIR — sum every group's result line into the closing line.
#
# Under CI (the CI variable set) a skip fails the run unless it is allowed:
# every name in a group's .skips file (written by run-scenarios.sh) must be
# on tests/skips.allowed, and a group that reports skips without naming
# them (a runner that has no allow-list) fails too.
set -u
here=$(cd "$(dirname "$0")" && pwd)
allow=$here/../skips.allowed
p=0 f=0 s=0 bad=()
for r in "$1"/*.res; do
	[ -e "$r" ] || continue
	read -r _ pp _ ff _ ss _ < <(sed 's/,//g' "$r")
	p=$((p + pp)); f=$((f + ff)); s=$((s + ss))
	[ -n "${CI:-}" ] && [ "$ss" -gt 0 ] || continue
	skips=${r%.res}.skips
	named=0
	if [ -f "$skips" ]; then
		while IFS= read -r name; do
			[ -n "$name" ] || continue
			named=$((named + 1))
			awk -v n="tests/$name" '$1 == n { found = 1 } END { exit !found }' "$allow" 2>/dev/null ||
				bad+=("tests/$name")
		done <"$skips"
	fi
	[ "$named" = "$ss" ] || bad+=("$(basename "$r" .res): $ss skipped, $named named")
done
echo "groups:"; cat "$1"/*.res 2>/dev/null | sed 's/^/  /'
echo "check: $p passed, $f failed, $s skipped"
if [ "${#bad[@]}" -gt 0 ]; then
	echo "check: skips not allowed under CI (tests/skips.allowed):"
	printf '  %s\n' "${bad[@]}"
	exit 1
fi
[ "$f" -eq 0 ] && [ "$p" -gt 0 ]
