#!/usr/bin/env bash
# tunnels.sh — make bench-tunnels: many idle tunnels held at once. 千代田区's
# CS opens TUNNELS_N (10,000) connections through its gateway, each a
# mutually authenticated TLS 1.3 tunnel to 東京都 answered once, and keeps
# them open. Measured for a jgw pair and, on the same namespaces and
# certificates, a haproxy pair (no inspection):
#
#   - memory per idle tunnel at each end: the relay process's RSS with the
#     tunnels held, minus before, divided by the tunnels that came up;
#   - how long opening them took (one after another: a connect, a frame, its
#     answer, each a full handshake);
#   - full TLS handshakes/s at 東京都's end (openssl s_time -new, as in
#     bench-relay) before the tunnels and while they are held.
#
# jgwd runs with the shipped policy except what would otherwise be measured:
# the firewall's per-source rate and connection limits, the tunnel limits
# and the idle timeout are raised. Results: a table on stdout and
# $B/bench/tunnels.txt. TUNNELS_PERF=DIR also records a perf profile of each
# pair's server end during the handshakes while the tunnels are held.
N=${TUNNELS_N:-10000}
LIMITED=
HS_SECONDS=${TUNNELS_HS_SECONDS:-5}
BENCH=tunnels
# shellcheck source=tests/bench/pair.sh
source "$(dirname "${BASH_SOURCE[0]}")/pair.sh"

# Two descriptors per tunnel in each relay process (LAN and WAN side), and
# jgwd keeps 64 in reserve; the processes started below inherit the limit.
# Raising the hard limit needs CAP_SYS_RESOURCE: without it the bench holds
# as many tunnels as the machine's hard limit allows, and says so.
need=$((2 * N + 1024))
ulimit -Hn "$need" 2>/dev/null || true
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
	N=$(( (hard - 1024) / 2 ))
	LIMITED="the descriptor limit here is $hard (raising it needs CAP_SYS_RESOURCE): $N tunnels"
	need=$hard
fi
ulimit -n "$need" || die "cannot set the descriptor limit to $need"
lim=$((N + 1024))
pair_up "$(pair_policy_sed $((2 * lim)) 's/idle 5min;/idle 30min;/')" \
	"s/tunnels [0-9]*;/tunnels $lim; per-source $lim;/; s/per-peer [0-9]*;/per-peer $lim;/"

# measure NAME LAN-TARGET WAN-TARGET CLIENT-PID SERVER-PID
declare -A R
measure() {
	local name=$1 target=$2 wan=$3 cpid=$4 spid=$5 c0 s0 t0 up idle_pid
	echo "--- $name" >&2
	ip netns exec "$SRV_C" "$B/jgw-node" load --from 131016 --to 130001 --connect "$target" \
		--frames 20 --mix tenshutsu-kakutei --timeout 10 >/dev/null || die "$name: warm-up failed"
	R[$name.hs0]=$(full_handshakes "$wan" "$HS_SECONDS")
	c0=$(rss_kb "$cpid"); s0=$(rss_kb "$spid"); t0=$(date +%s.%N)
	ip netns exec "$SRV_C" "$B/jgw-node" load --from 131016 --to 130001 --connect "$target" \
		--idle "$N" --hold 3600 --mix tenshutsu-kakutei --timeout 20 >"$NS_WORK/$name.idle" 2>&1 &
	idle_pid=$!
	for _ in $(seq 6000); do
		grep -q '"mode":"idle"' "$NS_WORK/$name.idle" && break
		kill -0 "$idle_pid" 2>/dev/null || break
		sleep 0.1
	done
	up=$(sed -n 's/.*"mode":"idle".*"up":\([0-9]*\).*/\1/p' "$NS_WORK/$name.idle")
	[ -n "$up" ] && [ "$up" -gt 0 ] || { cat "$NS_WORK/$name.idle" >&2; die "$name: no tunnel came up"; }
	R[$name.up]=$up
	R[$name.open_s]=$(printf "%.1f" "$(echo "$(date +%s.%N) - $t0" | bc)")
	sleep 2   # let the last handshakes' transient buffers go
	R[$name.c_kb]=$(echo "scale=1; ($(rss_kb "$cpid") - $c0) / $up" | bc)
	R[$name.s_kb]=$(echo "scale=1; ($(rss_kb "$spid") - $s0) / $up" | bc)
	R[$name.c_mb]=$(( $(rss_kb "$cpid") / 1024 )); R[$name.s_mb]=$(( $(rss_kb "$spid") / 1024 ))
	# TUNNELS_PERF=DIR: profile the server end during the handshakes while
	# the tunnels are held (perf record -g), one perf.data per pair.
	local perf_pid=
	if [ -n "${TUNNELS_PERF:-}" ] && command -v perf >/dev/null; then
		mkdir -p "$TUNNELS_PERF"
		perf record -q -g -o "$TUNNELS_PERF/$name.perf.data" -p "$spid" -- sleep "$HS_SECONDS" \
			>/dev/null 2>&1 & perf_pid=$!
	fi
	R[$name.hs1]=$(full_handshakes "$wan" "$HS_SECONDS")
	[ -z "$perf_pid" ] || wait "$perf_pid"
	[ "$name" != jgw ] || R[jgw.open]=$(ip netns exec "$GW_T" "$B/jgwctl" \
		-s "$NS_WORK/tokyo/run/control.sock" status 2>/dev/null | sed -n 's/^tunnels //p')
	echo "$(head -1 "$NS_WORK/$name.idle"); RSS $c0 -> $(rss_kb "$cpid") kB (client end)," \
		"$s0 -> $(rss_kb "$spid") kB (server end)" >&2
	kill "$idle_pid"; wait "$idle_pid" 2>/dev/null
}

# ---- jgw ----
pair_jgwd_start
measure jgw 10.16.0.1:7000 10.77.0.13:7443 "$(cat "$NS_WORK/chiyoda/jgwd.pid")" \
	"$(cat "$NS_WORK/tokyo/jgwd.pid")"
pair_jgwd_stop

# ---- haproxy ----
pair_haproxy_start 7200 7445 $((N + 64)) 30m
measure haproxy 10.16.0.1:7200 10.77.0.13:7445 "$HA_C" "$HA_S"
pair_haproxy_stop

# ---- report ----
ratio() { echo "scale=2; $1 / $2" | bc 2>/dev/null || echo "-"; }
{
	echo "bench-tunnels: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $N idle tunnels asked${LIMITED:+ ($LIMITED)}" \
		"(jgw's 東京都 counted ${R[jgw.open]:-?} open while they were held)"
	printf '%-8s %8s %8s %12s %12s %9s %9s %12s %12s\n' pair up open-s "kB/t client" "kB/t server" \
		"client MB" "server MB" "hs/s before" "hs/s held"
	for n in jgw haproxy; do
		printf '%-8s %8s %8s %12s %12s %9s %9s %12s %12s\n' "$n" "${R[$n.up]}" "${R[$n.open_s]}" \
			"${R[$n.c_kb]}" "${R[$n.s_kb]}" "${R[$n.c_mb]}" "${R[$n.s_mb]}" "${R[$n.hs0]}" "${R[$n.hs1]}"
	done
	echo "jgw/haproxy: memory per tunnel client end $(ratio "${R[jgw.c_kb]}" "${R[haproxy.c_kb]}")," \
		"server end $(ratio "${R[jgw.s_kb]}" "${R[haproxy.s_kb]}"); handshakes/s while held" \
		"$(ratio "${R[jgw.hs1]}" "${R[haproxy.hs1]}")"
	echo "kB/t: RSS growth of the relay process per idle tunnel (1 kB = 1024 bytes); hs/s: full" \
		"TLS 1.3 handshakes/s at 東京都's end (openssl s_time -new, ${HS_SECONDS}s)"
} | tee "$OUT/tunnels.txt"
