#!/usr/bin/env bash
# ha-failover.sh — make bench-ha: the pair's failover measured HA_RUNS times
# (default 5) by tests/e2e/ha-pair-failover.sh (real keepalived and jgwd in
# namespaces): per kind of failure (the active jgwd killed, its LAN link
# down) the time without an answer at the CS, median and worst, and the
# exchanges refused meanwhile (each resent until answered).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
runs=${HA_RUNS:-5}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for i in $(seq "$runs"); do
	JGW_BUILD=${JGW_BUILD:-$top/build} bash "$top/tests/e2e/ha-pair-failover.sh" >"$out.$i" 2>&1 ||
		{ tail -5 "$out.$i"; echo "bench-ha: run $i failed"; rm -f "$out".*; exit 1; }
	grep '^HA-FAILOVER ' "$out.$i" >>"$out"
	rm -f "$out.$i"
done
stat() {   # stat FIELD: median and worst of the runs
	sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$out" | sort -n |
		awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
			printf "median %s, worst %s", m, v[NR] }'
}
echo "bench-ha: $runs runs"
echo "  active jgwd killed: $(stat kill_ms) ms without an answer; refused $(stat kill_refused)"
echo "  active LAN link down: $(stat link_ms) ms without an answer; refused $(stat link_refused)"
