#!/usr/bin/env bash
# relay.sh — make bench-relay: the same JMSG stream through three mutually
# authenticated TLS 1.3 relay pairs between a municipality (千代田区) and its
# prefecture (東京都), in one run, on the same namespaces and certificates:
#
#   jgw      jgwd → jgwd, every frame inspected and audited, nftables on,
#            RELAY_WORKERS workers each (default 2)
#   jgw1     the same with one worker each, for the workers' gain
#   stunnel  stunnel4 client → stunnel4 server (no inspection)
#   haproxy  haproxy (ssl to server) → haproxy (ssl bind)   (no inspection)
#
# Measured per pair with jgw-node load: frames/s and MB/s (pipelined, realistic
# mix, RELAY_CONNS connections), the CPU both relay processes spent per GB
# relayed in that run (user + system, requests and answers counted), the
# latency of one frame at a time (one connection, window 1: p50 and p99 from
# queueing the frame to reading its answer), new tunnels/s (connect, one
# frame, answer, close: the handshake included), full handshakes/s at the
# server end (openssl s_time -new), and memory per idle tunnel (RSS of both
# relay processes with RELAY_IDLE idle tunnels, minus before, divided by N).
# Results: a table on stdout and $B/bench/relay.{txt,json}. RELAY_PERF=DIR
# also records a perf profile of each pair during its throughput run;
# RELAY_BASE=DIR also measures the jgwd of another build tree (an earlier
# commit's) as the pair "base", first, for a before/after in one run.
#
# RELAY_COLLECTOR=1: 東京都's jgwd also mirrors its audit records to an
# rsyslog collector (imrelp over TLS) in its own namespace, and the bench
# reports the mirror's lag during and after jgw's throughput run: whether
# the mirror keeps up with a relay at full load. The collector then shares
# this machine's cores with the relay (on an appliance it is another host),
# so jgw's figures of such a run are not the ones to compare.
#
# The bench raises the firewall's per-source rate and connection limits of
# the example configuration (20/s, 64) — they would otherwise be what is
# measured — and keeps everything else as shipped.
SECONDS_RUN=${RELAY_SECONDS:-5}
CONNS=${RELAY_CONNS:-4}
IDLE=${RELAY_IDLE:-200}
MIX=${RELAY_MIX:-realistic}     # or one type name, e.g. tenshutsu-kakutei
BENCH=relay
# shellcheck source=tests/bench/pair.sh
source "$(dirname "${BASH_SOURCE[0]}")/pair.sh"
STUNNEL=$(command -v stunnel4 || command -v stunnel) || die "stunnel4 is not installed (make deps)"
command -v jq >/dev/null || die "jq is not installed (make deps)"
pair_up "$(pair_policy_sed 60000)" 's/per-peer 256;/per-peer 1024;/'

LOAD=(ip netns exec "$SRV_C" "$B/jgw-node" load --from 131016 --to 130001)

# RELAY_COLLECTOR=1: the collector in 東京都's gateway namespace, and
# 東京都's audit mirrored to it.
COLLECTOR_PID=
# Records in flight that the mirror does not count as acknowledged.
INFLIGHT=$(( $(sed -n 's/^#define AUDIT_MIRROR_WINDOW *//p' gateway/audit/audit.h) * \
	$(sed -n 's/^#define AUDIT_MIRROR_BATCH *//p' gateway/audit/audit.h) ))
if [ -n "${RELAY_COLLECTOR:-}" ]; then
	C=$NS_WORK/collector
	ns_collector_start tokyo || die "the collector did not start"
	COLLECTOR_PID=$NS_COLLECTOR_PID
	PIDS+=("$COLLECTOR_PID")
	ns_collector_conf "$P" 130001 >>"$(ns_conf tokyo)"
	"$B/jgwctl" check "$(ns_conf tokyo)" >/dev/null || die "東京都's configuration with a collector refused"
fi

# The last durable audit seq of a site's jgwd, and 東京都's mirror lag.
audit_seq() {
	"$B/jgwctl" -c "$(ns_conf "$1")" status | awk '$1 == "audit_last_seq" { print $2 }'
}
mirror_lag() {
	"$B/jgwctl" -c "$(ns_conf tokyo)" status | awk '$1 == "audit_mirror_lag" { print $2 }'
}
# Sampled every 0.2 s until killed: the largest lag seen, into FILE.
lag_sampler() {
	local max=0 l
	while :; do
		l=$(mirror_lag); [ "${l:-0}" -le "$max" ] || { max=$l; echo "$max" >"$1"; }
		sleep 0.2
	done
}

# measure NAME ADDR:PORT WAN-ADDR:PORT PID...  — the measurements of one pair.
declare -A R
measure() {
	local name=$1 target=$2 wan=$3; shift 3
	local pids=("$@") j before after c0 c1
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
	local a0c a0t t0 t1 sampler=
	[ "$name" != jgw ] || { a0c=$(audit_seq chiyoda); a0t=$(audit_seq tokyo); t0=$(date +%s%N); }
	if [ "$name" = jgw ] && [ -n "$COLLECTOR_PID" ]; then
		echo 0 >"$NS_WORK/lag.max"; lag_sampler "$NS_WORK/lag.max" & sampler=$!
	fi
	c0=$(cpu_ticks "${pids[@]}")
	j=$("${LOAD[@]}" --connect "$target" --duration "$SECONDS_RUN" --mix "$MIX" \
		--conns "$CONNS" --window 64 --timeout 10) || die "$name: throughput run failed: $j"
	c1=$(cpu_ticks "${pids[@]}")
	if [ "$name" = jgw ]; then   # audit records written at each gateway meanwhile
		t1=$(date +%s%N)
		R[jgw.rec_c]=$(( ($(audit_seq chiyoda) - a0c) * 1000000000 / (t1 - t0) ))
		R[jgw.rec_t]=$(( ($(audit_seq tokyo) - a0t) * 1000000000 / (t1 - t0) ))
	fi
	if [ -n "$sampler" ]; then   # the mirror's lag: its peak, at the end, and until caught up
		kill "$sampler"; wait "$sampler" 2>/dev/null
		R[lag.max]=$(cat "$NS_WORK/lag.max"); R[lag.end]=$(mirror_lag)
		for _ in $(seq 1 600); do [ "$(mirror_lag)" -le "$INFLIGHT" ] && break; sleep 0.1; done
		R[lag.caught]="$(( ($(date +%s%N) - t1) / 1000000 )) ms after the run"
		[ "$(mirror_lag)" -le "$INFLIGHT" ] || R[lag.caught]="not within 60 s of the run"
	fi
	[ -z "$perf_pid" ] || wait "$perf_pid"
	echo "$j" >&2
	R[$name.fps]=$(jq -r .frames_per_s <<<"$j")
	R[$name.mbps]=$(jq -r .mb_per_s <<<"$j")
	R[$name.cpu_gb]=$(echo "scale=2; ($c1 - $c0) / $HZ / (($(jq -r '.bytes_sent + .bytes_received' <<<"$j")) / 1000000000)" | bc)
	echo "CPU of both relay processes: $(( (c1 - c0) * 1000 / HZ )) ms = ${R[$name.cpu_gb]} s per GB relayed" >&2
	j=$("${LOAD[@]}" --connect "$target" --duration "$SECONDS_RUN" --mix "$MIX" \
		--conns 1 --window 1 --timeout 10) || die "$name: latency run failed: $j"
	echo "$j" >&2
	R[$name.p50]=$(jq -r .latency_p50_us <<<"$j")
	R[$name.p99]=$(jq -r .latency_p99_us <<<"$j")
	j=$("${LOAD[@]}" --connect "$target" --duration "$SECONDS_RUN" --connect-only \
		--mix tenshutsu-kakutei --timeout 10) || die "$name: connection run failed: $j"
	echo "$j" >&2
	R[$name.cps]=$(jq -r .connections_per_s <<<"$j")
	read -r "R[$name.hs]" "R[$name.hs_ms]" <<<"$(full_handshakes "$wan" "$SECONDS_RUN" "${pids[@]}")"
	echo "full handshakes/s at $wan: ${R[$name.hs]}, ${R[$name.hs_ms]} ms of relay CPU each" >&2
	sleep 1
	before=$(rss_kb "${pids[@]}")
	"${LOAD[@]}" --connect "$target" --idle "$IDLE" --hold 600 --mix tenshutsu-kakutei \
		--timeout 10 >"$NS_WORK/idle.out" 2>&1 &
	local idle_pid=$!
	for _ in $(seq 600); do grep -q '"mode":"idle"' "$NS_WORK/idle.out" && break; sleep 0.1; done
	if grep -q "\"up\":$IDLE" "$NS_WORK/idle.out"; then
		sleep 1
		after=$(rss_kb "${pids[@]}")
		R[$name.idle_kb]=$(echo "scale=1; ($after - $before) / $IDLE" | bc)
		echo "RSS $before kB -> $after kB with $IDLE idle tunnels" >&2
	else
		# Reported as not measured ("-"), not a reason to lose the run.
		R[$name.idle_kb]=-
		echo "bench-relay: $name: $IDLE idle tunnels did not all come up within 60 s:" \
			"$(cat "$NS_WORK/idle.out")" >&2
	fi
	kill "$idle_pid"; wait "$idle_pid" 2>/dev/null
	sleep 1
}

# ---- jgw ----
WORKERS=${RELAY_WORKERS:-2}
# jgw_workers N: both sites' configuration runs N workers ("-": no
# statement, the build's own default).
jgw_workers() {
	local s
	for s in chiyoda tokyo; do
		sed -i '/^workers [0-9]*;$/d' "$(ns_conf "$s")"
		[ "$1" = - ] || echo "workers $1;" >>"$(ns_conf "$s")"
	done
}
# jgw_pair NAME BUILD WORKERS: jgwd of that build tree at both ends, with
# that many workers, measured as NAME.
jgw_pair() {
	local name=$1
	jgw_workers "$3"
	B=$2 pair_jgwd_start
	measure "$name" 10.16.0.1:7000 10.77.0.13:7443 "$(cat "$NS_WORK/chiyoda/jgwd.pid")" \
		"$(cat "$NS_WORK/tokyo/jgwd.pid")"
	pair_jgwd_stop
}
# RELAY_BASE=DIR: also measure the jgwd of another build tree (an earlier
# commit's), first, as the pair "base": a before/after in one run.
PAIRS=(jgw1 jgw stunnel haproxy)
if [ -n "${RELAY_BASE:-}" ]; then
	[ -x "$RELAY_BASE/jgwd" ] || die "$RELAY_BASE/jgwd is not built"
	PAIRS=(base jgw1 jgw stunnel haproxy)
	# An earlier build may not know `workers`: its own default then.
	jgw_workers "$WORKERS"
	base_workers=$WORKERS
	"$RELAY_BASE/jgwctl" check "$(ns_conf tokyo)" >/dev/null 2>&1 || base_workers=-
	jgw_pair base "$(cd "$RELAY_BASE" && pwd)" "$base_workers"
fi
jgw_pair jgw1 "$B" 1
jgw_pair jgw "$B" "$WORKERS"
resumed=$(ns_audit tokyo | jq -r 'select(.event == "tunnel" and .state == "open") | .resumed' | sort | uniq -c |
	awk '{printf "%s%s=%s", sep, $2, $1; sep=" "}')

# ---- stunnel4 ----
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
pair_haproxy_start 7200 7445 4000 10m
measure haproxy 10.16.0.1:7200 10.77.0.13:7445 "$HA_C" "$HA_S"
pair_haproxy_stop

# ---- report ----
ratio() {   # A B: A / B to two places; "-" when either was not measured
	case "$1 $2" in *-*|" "*|*" ") echo "-" ;; *) echo "scale=2; $1 / $2" | bc 2>/dev/null || echo "-" ;; esac
}
{
	echo "bench-relay: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, ${SECONDS_RUN}s per run," \
		"jgw with $WORKERS workers, jgw1 with 1," \
		"$CONNS connections x window 64, mix $MIX (realistic: R batches of 1-100 records + T notices)," \
		"$IDLE idle tunnels"
	printf '%-8s %12s %8s %10s %8s %8s %11s %13s %10s %14s\n' pair frames/s MB/s CPU-s/GB \
		p50-us p99-us tunnels/s handshakes/s CPU-ms/hs kB/idle-tunnel
	for n in "${PAIRS[@]}"; do
		printf '%-8s %12s %8s %10s %8s %8s %11s %13s %10s %14s\n' "$n" "${R[$n.fps]}" \
			"${R[$n.mbps]}" "${R[$n.cpu_gb]}" "${R[$n.p50]}" "${R[$n.p99]}" "${R[$n.cps]}" \
			"${R[$n.hs]}" "${R[$n.hs_ms]}" "${R[$n.idle_kb]}"
	done
	echo "ratios jgw/stunnel: frames $(ratio "${R[jgw.fps]}" "${R[stunnel.fps]}")," \
		"CPU per GB $(ratio "${R[jgw.cpu_gb]}" "${R[stunnel.cpu_gb]}")," \
		"tunnels $(ratio "${R[jgw.cps]}" "${R[stunnel.cps]}")," \
		"full handshakes $(ratio "${R[jgw.hs]}" "${R[stunnel.hs]}")," \
		"memory $(ratio "${R[jgw.idle_kb]}" "${R[stunnel.idle_kb]}")"
	echo "ratios jgw/jgw1 ($WORKERS workers / 1): frames $(ratio "${R[jgw.fps]}" "${R[jgw1.fps]}")," \
		"CPU per GB $(ratio "${R[jgw.cpu_gb]}" "${R[jgw1.cpu_gb]}")," \
		"tunnels $(ratio "${R[jgw.cps]}" "${R[jgw1.cps]}")," \
		"full handshakes $(ratio "${R[jgw.hs]}" "${R[jgw1.hs]}")," \
		"memory $(ratio "${R[jgw.idle_kb]}" "${R[jgw1.idle_kb]}")"
	echo "added latency per frame, jgw - stunnel: p50 $((R[jgw.p50] - R[stunnel.p50])) us," \
		"p99 $((R[jgw.p99] - R[stunnel.p99])) us"
	echo "ratios jgw/haproxy: frames $(ratio "${R[jgw.fps]}" "${R[haproxy.fps]}")," \
		"CPU per GB $(ratio "${R[jgw.cpu_gb]}" "${R[haproxy.cpu_gb]}")," \
		"tunnels $(ratio "${R[jgw.cps]}" "${R[haproxy.cps]}")," \
		"full handshakes $(ratio "${R[jgw.hs]}" "${R[haproxy.hs]}")," \
		"CPU per full handshake $(ratio "${R[jgw.hs_ms]}" "${R[haproxy.hs_ms]}")," \
		"memory $(ratio "${R[jgw.idle_kb]}" "${R[haproxy.idle_kb]}")"
	[ -z "${RELAY_BASE:-}" ] || echo "ratios jgw/base ($RELAY_BASE):" \
		"frames $(ratio "${R[jgw.fps]}" "${R[base.fps]}")," \
		"CPU per GB $(ratio "${R[jgw.cpu_gb]}" "${R[base.cpu_gb]}")," \
		"p50 $(ratio "${R[jgw.p50]}" "${R[base.p50]}"), p99 $(ratio "${R[jgw.p99]}" "${R[base.p99]}")," \
		"full handshakes $(ratio "${R[jgw.hs]}" "${R[base.hs]}")," \
		"CPU per full handshake $(ratio "${R[jgw.hs_ms]}" "${R[base.hs_ms]}")"
	echo "jgw tunnels opened at tokyo, by resumed: ${resumed:-none}"
	# What the mirror must keep up with: the records a gateway writes at full
	# load, against the mirror's rate in bench-audit (the same make bench,
	# when it ran before this).
	mirror=$(sed -n 's/^mirror: .* = \([0-9]*\) records\/s.*/\1/p' "$B/results/bench-audit.txt" 2>/dev/null)
	busier=$(( R[jgw.rec_c] > R[jgw.rec_t] ? R[jgw.rec_c] : R[jgw.rec_t] ))
	echo "audit records/s during jgw's throughput run: 千代田区 ${R[jgw.rec_c]}, 東京都 ${R[jgw.rec_t]};" \
		"mirror ${mirror:--} records/s (bench-audit $(sed -n '1s/^bench-audit  \([^ ]*\).*/\1/p' \
		"$B/results/bench-audit.txt" 2>/dev/null)): ratio mirror/records $(ratio "${mirror:--}" "$busier")"
	[ -z "$COLLECTOR_PID" ] || echo "mirror at 東京都 during jgw's throughput run (RELP/TLS to rsyslog" \
		"in its namespace, on the same cores): lag at most ${R[lag.max]} records, ${R[lag.end]} at" \
		"its end, back within the window ($INFLIGHT) ${R[lag.caught]}"
	echo "tunnels/s: relayed connections (connect, frame, answer, close), session resumption as each pair does it"
	echo "handshakes/s: full mutual-TLS 1.3 handshakes at the pair's server end (openssl s_time -new)"
	echo "CPU-ms/hs: user + system milliseconds of the pair's relay processes per full handshake during that run"
	echo "memory: RSS of both relay processes of a pair (both ends), per idle tunnel"
	echo "CPU-s/GB: user + system seconds of both relay processes during the throughput run, per GB relayed (frames and answers)"
	echo "p50/p99-us: one connection, one frame at a time: from queueing a frame to reading its answer"
} | tee "$OUT/relay.txt"
pair_json() {   # NAME: one pair's figures as a JSON object
	jq -n --arg f "${R[$1.fps]}" --arg m "${R[$1.mbps]}" --arg g "${R[$1.cpu_gb]}" \
		--arg p50 "${R[$1.p50]}" --arg p99 "${R[$1.p99]}" --arg c "${R[$1.cps]}" \
		--arg h "${R[$1.hs]}" --arg hm "${R[$1.hs_ms]}" --arg i "${R[$1.idle_kb]}" \
		'def num: if . == "-" or . == "" then null else tonumber end;
		 {frames_per_s: ($f|num), mb_per_s: ($m|num), cpu_s_per_gb: ($g|num),
		  latency_p50_us: ($p50|num), latency_p99_us: ($p99|num),
		  tunnels_per_s: ($c|num), full_handshakes_per_s: ($h|num),
		  cpu_ms_per_full_handshake: ($hm|num),
		  kb_per_idle_tunnel: ($i|num)}'
}
{
	echo "{\"seconds\": $SECONDS_RUN, \"workers\": $WORKERS"
	for n in "${PAIRS[@]}"; do echo ", \"$n\": $(pair_json "$n")"; done
	echo "}"
} | jq . >"$OUT/relay.json"
