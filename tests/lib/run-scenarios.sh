#!/usr/bin/env bash
# run-scenarios.sh RESULT_FILE GROUP SCRIPT... — run scenario scripts one by
# one (each a test case: exit 0 pass, 77 skipped with a stated reason, any
# other failure), and write "GROUP: P passed, F failed, S skipped".
#
# Each case prints one line, "ok    NAME", "SKIP  NAME: reason" or
# "FAIL  NAME (exit N)", NAME being the script's path below tests/.
#
# CI (the CI variable set, as `make check CI=true` and .ci/run do): a skip
# is a failure unless the script is on the allow-list tests/skips.allowed
# (one line per script with its reason); the skipped names of a group go to
# RESULT_FILE's .skips sibling, which tests/lib/tally.sh checks again.
#
# JGW_ONLY=GLOB runs only the cases whose NAME matches the shell pattern
# GLOB (make mutants runs one named test this way); a group with no match
# runs nothing and passes.
set -u
res=$1 group=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
allow=$here/../skips.allowed
mkdir -p "$(dirname "$res")"
: >"${res%.res}.skips"

# skip_allowed NAME: the allow-list names tests/NAME.
skip_allowed() {
	[ -f "$allow" ] && awk -v n="tests/$1" '$1 == n { found = 1 } END { exit !found }' "$allow"
}

passed=0 failed=0 skipped=0
for t in "$@"; do
	name=${t#tests/}
	# shellcheck disable=SC2053  # JGW_ONLY is a pattern
	[ -n "${JGW_ONLY:-}" ] && [[ $name != $JGW_ONLY ]] && continue
	start=$(date +%s)
	log=$(mktemp)
	bash "$t" >"$log" 2>&1; rc=$?
	took=$(( $(date +%s) - start ))
	case $rc in
	0)  passed=$((passed + 1)); echo "ok    $name (${took}s)";;
	77) if [ -n "${CI:-}" ] && ! skip_allowed "$name"; then
		failed=$((failed + 1))
		echo "FAIL  $name (skipped under CI, not in tests/skips.allowed): $(tail -1 "$log")"
	    else
		skipped=$((skipped + 1))
		echo "$name" >>"${res%.res}.skips"
		echo "SKIP  $name: $(tail -1 "$log")"
	    fi;;
	*)  failed=$((failed + 1)); echo "FAIL  $name (exit $rc)"; sed 's/^/      | /' "$log" | tail -40;;
	esac
	rm -f "$log"
done
echo "$group: $passed passed, $failed failed, $skipped skipped" | tee "$res"
[ "$failed" -eq 0 ]
