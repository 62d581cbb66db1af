#!/usr/bin/env bash
# run.sh [NAME...] — the kept mutants (make mutants; docs/testing.md).
#
# Each tests/mutants/NAME.patch is a small unified diff against the product
# tree (applied with patch -p1) that breaks one promise. Its header says
# which, and names the test that must fail with it:
#
#   # Promise: what the product promises (and where)
#   # Breaks:  what the patch changes
#   # Test:    MAKE-TARGET CASE [CMOCKA-TEST]
#
# CASE is the name the group's runner prints on its "ok"/"FAIL" line
# (e2e/stranger-blocked.sh, test_inspect, replay/memory/basic, ...; a shell
# pattern is allowed); CMOCKA-TEST, for a cmocka binary, the test function
# that must be among the failed ones.
#
# The tree (every file git knows or would add, as it is in the working
# copy) is copied to build/mutants/base and built there; each named test
# must pass on that unmutated copy (else the test proves nothing). Then
# each mutant gets its own copy of base, the patch is applied, and
# `make CI=true JGW_ONLY=CASE MAKE-TARGET` rebuilds what changed and runs
# only that test. A mutant is caught when that test fails (a skip is not a
# failure). A patch that no longer applies is stale, and fails the run as
# much as a mutant that was not caught.
#
# One line per mutant, then "mutants: N of M caught". Exit 0 only when
# every mutant was caught. NAME... runs only those mutants.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=$top/tests/mutants
work=$top/build/mutants
jobs=${MUTANTS_JOBS:-2}

mutants=()
if [ $# -gt 0 ]; then
	for n in "$@"; do
		[ -f "$dir/$n.patch" ] || { echo "mutants: no tests/mutants/$n.patch" >&2; exit 2; }
		mutants+=("$dir/$n.patch")
	done
else
	mutants=("$dir"/*.patch)
fi
[ -e "${mutants[0]}" ] || { echo "mutants: none in tests/mutants/" >&2; exit 2; }

# field FILE KEY: the header line "# KEY: value" of a mutant, value only.
field() { sed -n "s/^# $2:[[:space:]]*//p" "$1" | head -1; }

# ran LOG CASE STATE: the runner printed STATE ("ok" or "FAIL") for a case
# matching CASE (not counting a FAIL that is a skip under CI).
ran() {
	local log=$1 pat=$2 want=$3 state name rest
	while read -r state name rest; do
		name=${name%:}
		# shellcheck disable=SC2053  # CASE is a pattern
		[[ $name == $pat ]] || continue
		[ "$state" = "$want" ] || continue
		[ "$state" = FAIL ] && [[ $rest == *"skipped under CI"* ]] && continue
		return 0
	done < <(grep -E '^(ok|FAIL) ' "$log")
	return 1
}

# run_test TREE TARGET CASE LOG: build what TARGET needs and run CASE only.
run_test() {
	JGW_ONLY=$3 make -C "$1" --no-print-directory -j"$jobs" CI=true "$2" >"$4" 2>&1
}

rm -rf "$work"
mkdir -p "$work/base"
# The tree as the working copy has it: tracked and new (not ignored) files;
# outside a git checkout, everything but the build trees.
tree_files() {
	if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$top" ls-files -z --cached --others --exclude-standard
	else
		(cd "$top" && find . -path ./build -prune -o -path './build-*' -prune -o \
			-path ./.git -prune -o -type f -printf '%P\0')
	fi
}
(cd "$top" && tree_files | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -cf -) | tar -xf - -C "$work/base" ||
	{ echo "mutants: cannot copy the tree" >&2; exit 2; }

# Baseline: every named test passes on the unmutated copy.
declare -A base_ok=()
for m in "${mutants[@]}"; do
	read -r target case fn < <(field "$m" Test)
	[ -n "$target" ] && [ -n "$case" ] || continue
	key="$target $case"
	[ -n "${base_ok[$key]+x}" ] && continue
	log=$work/base-$(echo "$target-$case" | tr -c 'A-Za-z0-9._-' '_').log
	if run_test "$work/base" "$target" "$case" "$log" && ran "$log" "$case" ok && ! ran "$log" "$case" FAIL; then
		base_ok[$key]=1
	else
		base_ok[$key]=0
		echo "baseline: $case ($target) does not pass without a mutant; see ${log#"$top"/}"
	fi
done

caught=0 total=0
for m in "${mutants[@]}"; do
	name=$(basename "$m" .patch)
	total=$((total + 1))
	read -r target case fn < <(field "$m" Test)
	if [ -z "$target" ] || [ -z "$case" ] || [ -z "$(field "$m" Promise)" ]; then
		echo "BAD         $name: the header needs Promise: and Test: TARGET CASE"
		continue
	fi
	if [ "${base_ok["$target $case"]}" != 1 ]; then
		echo "NOT CAUGHT  $name: $case fails without the mutant too"
		continue
	fi
	tree=$work/$name
	log=$work/$name.log
	[ -d "$work/base/build" ] || { echo "mutants: $work/base/build is gone (build/ removed during the run?)"; exit 2; }
	cp -a "$work/base" "$tree" || { echo "mutants: cannot copy $work/base"; exit 2; }
	if ! patch -d "$tree" -p1 --dry-run -s <"$m" >"$log" 2>&1; then
		echo "STALE       $name: the patch no longer applies ($(head -1 "$log"))"
		rm -rf "$tree"
		continue
	fi
	patch -d "$tree" -p1 -s <"$m" >/dev/null
	start=$(date +%s)
	run_test "$tree" "$target" "$case" "$log"; rc=$?
	took=$(( $(date +%s) - start ))
	if [ "$rc" != 0 ] && ran "$log" "$case" FAIL &&
	   { [ -z "$fn" ] || grep -Eq "^\[  (FAILED  |ERROR   )\] $fn\$" "$log"; }; then
		caught=$((caught + 1))
		echo "caught      $name: $case${fn:+ $fn} fails (${took}s)"
		rm -rf "$tree"
	elif grep -q '^make.*Error' "$log" && ! grep -Eq '^(ok|FAIL) ' "$log"; then
		echo "NOT CAUGHT  $name: the mutated tree does not build; see ${log#"$top"/}"
	else
		echo "NOT CAUGHT  $name: $case${fn:+ $fn} passes with the mutant; see ${log#"$top"/}"
	fi
done
echo "mutants: $caught of $total caught"
[ "$caught" = "$total" ]
