#!/usr/bin/env bash
# relay.sh — make bench-relay: the same JMSG stream through three mutually
# authenticated TLS 1.3 relay pairs between a municipality (千代田区) and its
# prefecture (東京都), in one run, on the same namespaces and certificates:
#
#   jgw      jgwd → jgwd, every frame inspected and audited, nftables on
#   stunnel  stunnel4 client → stunnel4 server (no inspection)
#   haproxy  haproxy (ssl to server) → haproxy (ssl bind)   (no inspection)
#
# Measured per pair with jgw-node load: frames/s and MB/s (pipelined, realistic
# mix, RELAY_CONNS connections), new tunnels/s (connect, one frame, answer,
# close: the handshake included), full handshakes/s at the server end
# (openssl s_time -new), and memory per idle tunnel (RSS of both
# relay processes with RELAY_IDLE idle tunnels, minus before, divided by N).
# Results: a table on stdout and $B/bench/relay.{txt,json}. RELAY_PERF=DIR
# also records a perf profile of each pair during its throughput run.
#
# The bench raises the firewall's per-source rate and connection limits of
# the example configuration (20/s, 64) — they would otherwise be what is
# measured — and keeps everything else as shipped.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=$(cd "${JGW_BUILD:-$ROOT/build}" && pwd)
SECONDS_RUN=${RELAY_SECONDS:-5}
CONNS=${RELAY_CONNS:-4}
IDLE=${RELAY_IDLE:-200}
MIX=${RELAY_MIX:-realistic}     # or one type name, e.g. tenshutsu-kakutei
NS_ROOT=$ROOT
NS_PREFIX=je-b$$-
NS_WORK=$(mktemp -d /tmp/jgw-bench.XXXXXX)
OUT=$B/bench
# shellcheck source=tests/lib/netns.sh
source "$ROOT/tests/lib/netns.sh"

PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	ns_jgwd_stop chiyoda; ns_jgwd_stop tokyo
	ns_down
	rm -rf "$NS_WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "bench-relay: $*" >&2; exit 1; }
skip() { echo "bench-relay: skipped: $*"; exit 0; }

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, nftables)"
for bin in jgwd jgwctl jgw-node; do [ -x "$B/$bin" ] || die "$B/$bin is not built"; done
STUNNEL=$(command -v stunnel4 || command -v stunnel) || die "stunnel4 is not installed (make deps)"
HAPROXY=$(command -v haproxy) || die "haproxy is not installed (make deps)"
command -v jq >/dev/null || die "jq is not installed (make deps)"
mkdir -p "$OUT"

GW_C=$(ns_gw chiyoda); GW_T=$(ns_gw tokyo); SRV_C=$(ns_srv chiyoda); SRV_T=$(ns_srv tokyo)
ns_up chiyoda tokyo || die "cannot build the namespaces"
ns_pki || die "cannot make the PKI"
for s in chiyoda tokyo; do
	ns_site_conf "$s" || die "no configuration for $s"
	sed -i -e 's/rate 20;/rate 100000;/' -e 's/burst 40;/burst 100000;/' \
		-e 's/conn-limit 64;/conn-limit 60000;/' "$NS_WORK/$s/etc/common/policy.conf"
	sed -i -e 's/per-peer 256;/per-peer 1024;/' "$(ns_conf "$s")"
	"$B/jgwctl" check "$(ns_conf "$s")" >/dev/null || die "bench configuration of $s refused"
done

# The prefecture's server: answers everything, logs nothing per frame.
ip netns exec "$SRV_T" "$B/jgw-node" serve --listen 10.13.0.10:7101 --node 130001 --quiet &
PIDS+=($!)
ns_wait_tcp "$SRV_T" 10.13.0.10 7101 5 || die "server did not start"

LOAD=(ip netns exec "$SRV_C" "$B/jgw-node" load --from 131016 --to 130001)

rss_kb() {   # sum of VmRSS of the given pids
	local p t=0 v
	for p in "$@"; do
		v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

# Full TLS 1.3 handshakes per second at a pair's server end, from 千代田区's
# WAN address: openssl s_time -new (no session reuse), mutual auth.
full_handshakes() {
	local target=$1 out t0 t1 n
	t0=$(date +%s.%N)
	out=$(ip netns exec "$GW_C" timeout $((SECONDS_RUN + 20)) openssl s_time -connect "$target" -new \
		-time "$SECONDS_RUN" -cert "$NS_WORK/pki/131016.crt" -key "$NS_WORK/pki/131016.key" \
		-CAfile "$NS_WORK/pki/ca.crt" 2>/dev/null)
	t1=$(date +%s.%N)
	n=$(sed -n 's/^\([0-9]*\) connections in [0-9.]* real seconds.*/\1/p' <<<"$out" | tail -1)
	[ -n "$n" ] || { echo 0; return; }
	echo "scale=1; $n / ($t1 - $t0)" | bc
}

# measure NAME ADDR:PORT WAN-ADDR:PORT PID...  — the measurements of one pair.
declare -A R
measure() {
	local name=$1 target=$2 wan=$3; shift 3
	local pids=("$@") j before after
	echo "--- $name ($target)" >&2
	"${LOAD[@]}" --connect "$target" --frames 200 --mix "$MIX" --timeout 10 >/dev/null ||
		die "$name: warm-up failed"
	# RELAY_PERF=DIR: profile the relay processes during the throughput run
	# (perf record -g), one perf.data per pair in DIR.
	local perf_pid=
	if [ -n "${RELAY_PERF:-}" ] && command -v perf >/dev/null; then
		mkdir -p "$RELAY_PERF"
		perf record -q -g -o "$RELAY_PERF/$name.perf.data" -p "$(IFS=,; echo "${pids[*]}")" \
			-- sleep "$SECONDS_RUN" >/dev/null 2>&1 & perf_pid=$!
	fi
	j=$("${LOAD[@]}" --connect "$target" --duration "$SECONDS_RUN" --mix "$MIX" \
		--conns "$CONNS" --window 64 --timeout 10) || die "$name: throughput run failed: $j"
	[ -z "$perf_pid" ] || wait "$perf_pid"
	echo "$j" >&2
	R[$name.fps]=$(jq -r .frames_per_s <<<"$j")
	R[$name.mbps]=$(jq -r .mb_per_s <<<"$j")
	j=$("${LOAD[@]}" --connect "$target" --duration "$SECONDS_RUN" --connect-only \
		--mix tenshutsu-kakutei --timeout 10) || die "$name: connection run failed: $j"
	echo "$j" >&2
	R[$name.cps]=$(jq -r .connections_per_s <<<"$j")
	R[$name.hs]=$(full_handshakes "$wan")
	echo "full handshakes/s at $wan: ${R[$name.hs]}" >&2
	sleep 1
	before=$(rss_kb "${pids[@]}")
	"${LOAD[@]}" --connect "$target" --idle "$IDLE" --hold 600 --mix tenshutsu-kakutei \
		--timeout 10 >"$NS_WORK/idle.out" 2>&1 &
	local idle_pid=$!
	for _ in $(seq 600); do grep -q '"mode":"idle"' "$NS_WORK/idle.out" && break; sleep 0.1; done
	grep -q "\"up\":$IDLE" "$NS_WORK/idle.out" || { cat "$NS_WORK/idle.out" >&2; die "$name: idle tunnels did not all come up"; }
	sleep 1
	after=$(rss_kb "${pids[@]}")
	kill "$idle_pid"; wait "$idle_pid" 2>/dev/null
	R[$name.idle_kb]=$(echo "scale=1; ($after - $before) / $IDLE" | bc)
	echo "RSS $before kB -> $after kB with $IDLE idle tunnels" >&2
	sleep 1
}

# ---- jgw ----
ns_jgwd_start tokyo || die "jgwd tokyo did not start"
ns_jgwd_start chiyoda || die "jgwd chiyoda did not start"
measure jgw 10.16.0.1:7000 10.77.0.13:7443 "$(cat "$NS_WORK/chiyoda/jgwd.pid")" "$(cat "$NS_WORK/tokyo/jgwd.pid")"
resumed=$(ns_audit tokyo | jq -r 'select(.event == "tunnel" and .state == "open") | .resumed' | sort | uniq -c |
	awk '{printf "%s%s=%s", sep, $2, $1; sep=" "}')
ns_jgwd_stop chiyoda; ns_jgwd_stop tokyo
# keep-on-stop leaves jgw's table in force; the other pairs run without it.
ip netns exec "$GW_C" nft delete table inet jgw 2>/dev/null
ip netns exec "$GW_T" nft delete table inet jgw 2>/dev/null

# ---- stunnel4 ----
P=$NS_WORK/pki
cat >"$NS_WORK/st-c.conf" <<EOF
foreground = yes
pid =
[jmsg]
client = yes
accept = 10.16.0.1:7100
connect = 10.77.0.13:7444
cert = $P/131016.crt
key = $P/131016.key
CAfile = $P/ca.crt
verifyChain = yes
sslVersionMin = TLSv1.3
EOF
cat >"$NS_WORK/st-s.conf" <<EOF
foreground = yes
pid =
[jmsg]
accept = 10.77.0.13:7444
connect = 10.13.0.10:7101
cert = $P/130001.crt
key = $P/130001.key
CAfile = $P/ca.crt
CRLfile = $P/crl.pem
verifyChain = yes
requireCert = yes
sslVersionMin = TLSv1.3
EOF
ip netns exec "$GW_T" "$STUNNEL" "$NS_WORK/st-s.conf" >"$NS_WORK/st-s.log" 2>&1 & st_s=$!
ip netns exec "$GW_C" "$STUNNEL" "$NS_WORK/st-c.conf" >"$NS_WORK/st-c.log" 2>&1 & st_c=$!
PIDS+=("$st_s" "$st_c")
ns_wait_tcp "$GW_T" 10.77.0.13 7444 5 && ns_wait_tcp "$GW_C" 10.16.0.1 7100 5 || die "stunnel did not start"
measure stunnel 10.16.0.1:7100 10.77.0.13:7444 "$st_c" "$st_s"
kill "$st_c" "$st_s"; wait "$st_c" "$st_s" 2>/dev/null

# ---- haproxy ----
cat "$P/131016.crt" "$P/131016.key" >"$NS_WORK/131016.pem"
cat "$P/130001.crt" "$P/130001.key" >"$NS_WORK/130001.pem"
cat >"$NS_WORK/ha-c.cfg" <<EOF
global
	maxconn 4000
	nbthread 1
defaults
	mode tcp
	timeout connect 5s
	timeout client 10m
	timeout server 10m
frontend lan
	bind 10.16.0.1:7200
	default_backend tokyo
backend tokyo
	server t 10.77.0.13:7445 ssl crt $NS_WORK/131016.pem ca-file $P/ca.crt verify required ssl-min-ver TLSv1.3
EOF
cat >"$NS_WORK/ha-s.cfg" <<EOF
global
	maxconn 4000
	nbthread 1
defaults
	mode tcp
	timeout connect 5s
	timeout client 10m
	timeout server 10m
frontend wan
	bind 10.77.0.13:7445 ssl crt $NS_WORK/130001.pem ca-file $P/ca.crt crl-file $P/crl.pem verify required ssl-min-ver TLSv1.3
	default_backend juki
backend juki
	server j 10.13.0.10:7101
EOF
ip netns exec "$GW_T" "$HAPROXY" -db -f "$NS_WORK/ha-s.cfg" >"$NS_WORK/ha-s.log" 2>&1 & ha_s=$!
ip netns exec "$GW_C" "$HAPROXY" -db -f "$NS_WORK/ha-c.cfg" >"$NS_WORK/ha-c.log" 2>&1 & ha_c=$!
PIDS+=("$ha_s" "$ha_c")
ns_wait_tcp "$GW_T" 10.77.0.13 7445 5 && ns_wait_tcp "$GW_C" 10.16.0.1 7200 5 ||
	{ cat "$NS_WORK"/ha-*.log >&2; die "haproxy did not start"; }
measure haproxy 10.16.0.1:7200 10.77.0.13:7445 "$ha_c" "$ha_s"
kill "$ha_c" "$ha_s"; wait "$ha_c" "$ha_s" 2>/dev/null

# ---- report ----
ratio() { echo "scale=2; $1 / $2" | bc 2>/dev/null || echo "-"; }
{
	echo "bench-relay: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, ${SECONDS_RUN}s per run," \
		"$CONNS connections x window 64, mix $MIX (realistic: R batches of 1-100 records + T notices)," \
		"$IDLE idle tunnels"
	printf '%-8s %12s %10s %14s %14s %16s\n' pair frames/s MB/s tunnels/s handshakes/s kB/idle-tunnel
	for n in jgw stunnel haproxy; do
		printf '%-8s %12s %10s %14s %14s %16s\n' "$n" "${R[$n.fps]}" "${R[$n.mbps]}" "${R[$n.cps]}" \
			"${R[$n.hs]}" "${R[$n.idle_kb]}"
	done
	echo "ratios jgw/stunnel: frames $(ratio "${R[jgw.fps]}" "${R[stunnel.fps]}")," \
		"tunnels $(ratio "${R[jgw.cps]}" "${R[stunnel.cps]}")," \
		"full handshakes $(ratio "${R[jgw.hs]}" "${R[stunnel.hs]}")," \
		"memory $(ratio "${R[jgw.idle_kb]}" "${R[stunnel.idle_kb]}")"
	echo "ratios jgw/haproxy: frames $(ratio "${R[jgw.fps]}" "${R[haproxy.fps]}")," \
		"tunnels $(ratio "${R[jgw.cps]}" "${R[haproxy.cps]}")," \
		"full handshakes $(ratio "${R[jgw.hs]}" "${R[haproxy.hs]}")," \
		"memory $(ratio "${R[jgw.idle_kb]}" "${R[haproxy.idle_kb]}")"
	echo "jgw tunnels opened at tokyo, by resumed: ${resumed:-none}"
	echo "tunnels/s: relayed connections (connect, frame, answer, close), session resumption as each pair does it"
	echo "handshakes/s: full mutual-TLS 1.3 handshakes at the pair's server end (openssl s_time -new)"
	echo "memory: RSS of both relay processes of a pair (both ends), per idle tunnel"
} | tee "$OUT/relay.txt"
jq -n --arg s "$SECONDS_RUN" \
	--arg jf "${R[jgw.fps]}" --arg jm "${R[jgw.mbps]}" --arg jc "${R[jgw.cps]}" --arg ji "${R[jgw.idle_kb]}" \
	--arg sf "${R[stunnel.fps]}" --arg sm "${R[stunnel.mbps]}" --arg sc "${R[stunnel.cps]}" --arg si "${R[stunnel.idle_kb]}" \
	--arg hf "${R[haproxy.fps]}" --arg hm "${R[haproxy.mbps]}" --arg hc "${R[haproxy.cps]}" --arg hi "${R[haproxy.idle_kb]}" \
	--arg jh "${R[jgw.hs]}" --arg sh "${R[stunnel.hs]}" --arg hh "${R[haproxy.hs]}" \
	'{seconds: ($s|tonumber),
	  jgw: {frames_per_s: ($jf|tonumber), mb_per_s: ($jm|tonumber), tunnels_per_s: ($jc|tonumber), full_handshakes_per_s: ($jh|tonumber), kb_per_idle_tunnel: ($ji|tonumber)},
	  stunnel: {frames_per_s: ($sf|tonumber), mb_per_s: ($sm|tonumber), tunnels_per_s: ($sc|tonumber), full_handshakes_per_s: ($sh|tonumber), kb_per_idle_tunnel: ($si|tonumber)},
	  haproxy: {frames_per_s: ($hf|tonumber), mb_per_s: ($hm|tonumber), tunnels_per_s: ($hc|tonumber), full_handshakes_per_s: ($hh|tonumber), kb_per_idle_tunnel: ($hi|tonumber)}}' \
	>"$OUT/relay.json"
