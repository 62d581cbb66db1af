#!/usr/bin/env bash
# run-scenarios.sh RESULT_FILE GROUP SCRIPT... — run scenario scripts one by
# one (each a test case: exit 0 pass, 77 skipped with a stated reason, any
# other failure), and write "GROUP: P passed, F failed, S skipped".
set -u
res=$1 group=$2; shift 2
mkdir -p "$(dirname "$res")"
passed=0 failed=0 skipped=0 failures=()
for t in "$@"; do
	name=${t#tests/}
	start=$(date +%s)
	log=$(mktemp)
	bash "$t" >"$log" 2>&1; rc=$?
	took=$(( $(date +%s) - start ))
	case $rc in
	0)  passed=$((passed + 1)); echo "ok    $name (${took}s)";;
	77) skipped=$((skipped + 1)); echo "SKIP  $name: $(tail -1 "$log")";;
	*)  failed=$((failed + 1)); failures+=("$name"); echo "FAIL  $name (exit $rc)"; sed 's/^/      | /' "$log" | tail -40;;
	esac
	rm -f "$log"
done
echo "$group: $passed passed, $failed failed, $skipped skipped" | tee "$res"
[ "$failed" -eq 0 ]
