#!/usr/bin/env bash
# bench.sh BUILD_DIR — replay throughput (MB/s of capture) of jgw-replay on a
# generated ~200 MB capture (BENCH_REPLAY_MB), against `tshark -r FILE -q`
# reading the same file in the same run. Best of BENCH_RUNS (default 3).
set -eu
B=$1
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
mb=${BENCH_REPLAY_MB:-200}
runs=${BENCH_RUNS:-3}
tmp=$(mktemp -d /tmp/jgw-replay-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$here/mkconf.sh" "$tmp/conf" "$top/$B"
pcap=$top/$B/bench/replay-$mb.pcap
mkdir -p "$(dirname "$pcap")"
[ -s "$pcap" ] || "$top/$B/tests/mkcorpus" -b "$pcap" "$mb"
size=$(stat -c %s "$pcap")
cat "$pcap" >/dev/null    # into the page cache, for both tools alike

best() {   # best wall time in seconds of "$@" over $runs runs
	local b="" t0 t1 t
	for _ in $(seq "$runs"); do
		t0=$(date +%s.%N)
		"$@" >/dev/null 2>&1 || [ $? -eq 1 ]
		t1=$(date +%s.%N)
		t=$(echo "$t1 - $t0" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}

"$top/$B/jgw-replay" -q -c "$tmp/conf/chiyoda.conf" -r "$pcap" >"$tmp/summary.json" || true
frames=$(jq '.frames.allow + .frames.deny' "$tmp/summary.json")
denied=$(jq '.frames.deny' "$tmp/summary.json")
jr=$(best "$top/$B/jgw-replay" -q -c "$tmp/conf/chiyoda.conf" -r "$pcap")
printf 'bench-replay: capture %.1f MB, %s frames (%s denied)\n' "$(echo "$size / 1048576" | bc -l)" "$frames" "$denied"
printf 'bench-replay: jgw-replay  %6.2f s  %7.1f MB/s  %9.0f frames/s\n' "$jr" \
	"$(echo "$size / 1048576 / $jr" | bc -l)" "$(echo "$frames / $jr" | bc -l)"
if command -v tshark >/dev/null; then
	ts=$(best tshark -n -r "$pcap" -q)
	printf 'bench-replay: tshark -q   %6.2f s  %7.1f MB/s\n' "$ts" "$(echo "$size / 1048576 / $ts" | bc -l)"
	printf 'bench-replay: jgw-replay is %.2fx the speed of tshark -r -q\n' "$(echo "$ts / $jr" | bc -l)"
else
	echo "bench-replay: tshark not installed (make deps): no comparison"
fi
