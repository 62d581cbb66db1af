#!/usr/bin/env bash
# farm.sh — make bench-farm: 機構 as a farm of 1, 2 and 3 active members
# behind the kernel's own distributor (nftables DNAT, numgen map;
# tests/lib/farm.sh), all in network namespaces of this machine. 東京都's
# CS pipelines the realistic mix to 機構 over FARM_CONNS connections (each a
# tunnel, spread round robin over the members) for FARM_SECONDS; the
# frames answered per second are reported, and their ratio to one member.
#
# What it measures on a small machine: every namespace shares the same
# cores — the load generator, 東京都's gateway (which carries every tunnel
# alone), the distributor and the members — so the ratio says how much the
# farm costs or gains here, not what it gains on separate boxes, where each
# member has its own cores. The figures go to build/bench/farm.txt.
source "$(dirname "$0")/../e2e/lib.sh"
source "$ROOT/tests/lib/farm.sh"
e2e_need
secs=${FARM_SECONDS:-5} conns=${FARM_CONNS:-6}
mkdir -p "$B/bench"
out=$B/bench/farm.txt
: >"$out"

farm_up 3 || fail "cannot build the farm's namespaces"
e2e_start tokyo
ip netns exec "$(ns_srv jlis)" "$B/jgw-node" serve --listen 10.100.0.10:7101 --node 000000 --quiet \
	>"$NS_WORK/jlis/juki.log" 2>&1 &
ns_wait_tcp "$(ns_srv jlis)" 10.100.0.10 7101 5 || fail "機構's server did not start"
for i in 1 2 3; do farm_start "$i" || fail "member $i did not start"; done

one=
for n in 1 2 3; do
	farm_balance $(seq "$n") || fail "the distributor's map"
	r=$(ip netns exec "$(ns_srv tokyo)" "$B/jgw-node" load --connect "$(ns_lan_gw tokyo):7000" \
		--from 130001 --to 000000 --mix honnin-tsuchi-kiko --conns "$conns" --duration "$secs") ||
		fail "load through $n members failed"
	fps=$(jq -r '.frames_per_s' <<<"$r")
	p99=$(jq -r '.latency_p99_us' <<<"$r")
	[ -n "$one" ] || one=$fps
	line=$(awk -v n="$n" -v f="$fps" -v o="$one" -v p="$p99" \
		'BEGIN { printf "members %d: %.0f frames/s (%.2f x one member), p99 %d us", n, f, f / o, p }')
	echo "$line" | tee -a "$out"
done
echo "bench-farm: $conns connections, $secs s each, $(nproc) cores shared by all namespaces" | tee -a "$out"
