# tests/metrics/lib.sh — the daemon scenarios' world (tests/daemon/lib.sh:
# a temporary directory, configurations on loopback, jgwd started and
# stopped, everything removed on exit), and reading an exposition.
# shellcheck source=tests/daemon/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../daemon/lib.sh"

# metric FILE NAME [LABELS]: the value of the sample NAME{LABELS}, LABELS as
# the exposition writes them ('verdict="allow"'); empty when there is none.
metric() {
	local key=$2
	[ -n "${3:-}" ] && key="$2{$3}"
	awk -v k="$key" '$1 == k { print $2; found = 1; exit } END { exit !found }' "$1"
}

# metric_is FILE NAME LABELS VALUE: the sample is there with that value.
metric_is() {
	local v
	v=$(metric "$1" "$2" "$3") || fail "$(basename "$1"): no sample $2{$3}"
	[ "$v" = "$4" ] || fail "$(basename "$1"): $2{$3} is $v, want $4"
}

# stat_of NAME KEY: a line of `jgwctl stats`.
stat_of() { ctl "$1" stats | awk -v k="$2" '$1 == k { print $2 }'; }

# promtool_ok FILE: Prometheus's own parser and linter accept it.
promtool_ok() {
	promtool check metrics <"$1" >"$1.promtool" 2>&1 || {
		cat "$1.promtool"; fail "promtool check metrics refused $(basename "$1")"; }
}
