# shellcheck shell=bash
# pair.sh — shared by the relay benches (bench-relay, bench-tunnels; sourced
# by bash): 千代田区 and 東京都 in network namespaces of this machine, the
# test PKI, the example configurations with the limits a bench would
# otherwise measure raised, 東京都's server, and what every bench of a pair
# measures the same way (RSS, CPU ticks, full handshakes at a server end).
# The script sets BENCH (its name) before sourcing; PIDS collects what the
# cleanup kills.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=$(cd "${JGW_BUILD:-$ROOT/build}" && pwd)
NS_ROOT=$ROOT
NS_PREFIX=je-${BENCH:0:1}$$-
NS_WORK=$(mktemp -d "/tmp/jgw-$BENCH.XXXXXX")
OUT=$B/bench
# shellcheck source=tests/lib/netns.sh
source "$ROOT/tests/lib/netns.sh"

PIDS=()
pair_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	ns_jgwd_stop chiyoda; ns_jgwd_stop tokyo
	ns_down
	rm -rf "$NS_WORK"
}
trap pair_cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "bench-$BENCH: $*" >&2; exit 1; }
skip() { echo "bench-$BENCH: skipped: $*"; exit 0; }

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, nftables)"
for bin in jgwd jgwctl jgw-node; do [ -x "$B/$bin" ] || die "$B/$bin is not built"; done
HAPROXY=$(command -v haproxy) || die "haproxy is not installed (make deps)"
mkdir -p "$OUT"

GW_C=$(ns_gw chiyoda); GW_T=$(ns_gw tokyo); SRV_C=$(ns_srv chiyoda); SRV_T=$(ns_srv tokyo)
P=$NS_WORK/pki

# pair_up POLICY-SED CONF-SED: the namespaces, the PKI and both sites'
# configurations, each changed by the sed expressions given (the shared
# policy, the site's file) and checked; then 東京都's server, which answers
# everything and logs nothing per frame.
pair_up() {
	local s
	ns_up chiyoda tokyo || die "cannot build the namespaces"
	ns_pki || die "cannot make the PKI"
	for s in chiyoda tokyo; do
		ns_site_conf "$s" || die "no configuration for $s"
		sed -i "$1" "$NS_WORK/$s/etc/common/policy.conf"
		sed -i "$2" "$(ns_conf "$s")"
		"$B/jgwctl" check "$(ns_conf "$s")" >/dev/null || die "bench configuration of $s refused"
	done
	ip netns exec "$SRV_T" "$B/jgw-node" serve --listen 10.13.0.10:7101 --node 130001 --quiet &
	PIDS+=($!)
	ns_wait_tcp "$SRV_T" 10.13.0.10 7101 5 || die "server did not start"
	cat "$P/131016.crt" "$P/131016.key" >"$NS_WORK/131016.pem"
	cat "$P/130001.crt" "$P/130001.key" >"$NS_WORK/130001.pem"
}

# The firewall's per-source limits of the example policy (20/s, burst 40,
# 64 at once): raised, since they would otherwise be what is measured.
pair_policy_sed() { # CONN-LIMIT [more sed expressions]
	local limit=$1; shift
	printf 's/rate 20;/rate 100000;/; s/burst 40;/burst 100000;/; s/conn-limit 64;/conn-limit %s;/%s' \
		"$limit" "${1:+; $1}"
}

# jgwd at both ends (the build tree B), tokyo first.
pair_jgwd_start() {
	ns_jgwd_start tokyo || die "jgwd tokyo did not start"
	ns_jgwd_start chiyoda || die "jgwd chiyoda did not start"
}
# Both stopped; keep-on-stop leaves jgw's table in force, which the other
# pairs run without.
pair_jgwd_stop() {
	ns_jgwd_stop chiyoda; ns_jgwd_stop tokyo
	ip netns exec "$GW_C" nft delete table inet jgw 2>/dev/null
	ip netns exec "$GW_T" nft delete table inet jgw 2>/dev/null
}

# haproxy at both ends (nbthread 1, mode tcp, TLS 1.3 with mutual
# authentication and the CRL, as jgw): 千代田区 on LAN-PORT, 東京都 on
# WAN-PORT; sets HA_C and HA_S to their pids.
pair_haproxy_conf() { # BIND SERVER MAXCONN TIMEOUT
	printf 'global\n\tmaxconn %s\n\tnbthread 1\ndefaults\n\tmode tcp\n\ttimeout connect 5s\n' "$3"
	printf '\ttimeout client %s\n\ttimeout server %s\nfrontend f\n\tbind %s\n' "$4" "$4" "$1"
	printf '\tdefault_backend b\nbackend b\n\tserver s %s\n' "$2"
}
pair_haproxy_start() { # LAN-PORT WAN-PORT MAXCONN TIMEOUT
	pair_haproxy_conf "10.77.0.13:$2 ssl crt $NS_WORK/130001.pem ca-file $P/ca.crt crl-file $P/crl.pem verify required ssl-min-ver TLSv1.3" \
		"10.13.0.10:7101" "$3" "$4" >"$NS_WORK/ha-s.cfg"
	pair_haproxy_conf "10.16.0.1:$1" \
		"10.77.0.13:$2 ssl crt $NS_WORK/131016.pem ca-file $P/ca.crt verify required ssl-min-ver TLSv1.3" \
		"$3" "$4" >"$NS_WORK/ha-c.cfg"
	ip netns exec "$GW_T" "$HAPROXY" -db -f "$NS_WORK/ha-s.cfg" >"$NS_WORK/ha-s.log" 2>&1 & HA_S=$!
	ip netns exec "$GW_C" "$HAPROXY" -db -f "$NS_WORK/ha-c.cfg" >"$NS_WORK/ha-c.log" 2>&1 & HA_C=$!
	PIDS+=("$HA_S" "$HA_C")
	ns_wait_tcp "$GW_T" 10.77.0.13 "$2" 5 && ns_wait_tcp "$GW_C" 10.16.0.1 "$1" 5 ||
		{ cat "$NS_WORK"/ha-*.log >&2; die "haproxy did not start"; }
}
pair_haproxy_stop() { kill "$HA_C" "$HA_S"; wait "$HA_C" "$HA_S" 2>/dev/null; }

rss_kb() {   # sum of VmRSS of the given pids
	local p t=0 v
	for p in "$@"; do
		v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

cpu_ticks() {   # user + system clock ticks of the given pids, all their threads
	local p t=0 v
	for p in "$@"; do
		# Fields after the command's closing parenthesis: utime is the 12th, stime the 13th.
		v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}')
		t=$((t + ${v:-0}))
	done
	echo "$t"
}
HZ=$(getconf CLK_TCK)

# Full TLS 1.3 handshakes per second at a server end ADDR:PORT, from
# 千代田区's WAN address: openssl s_time -new (no session reuse), mutual
# authentication, for SECONDS. With PIDs (the relay processes of the pair)
# also the CPU milliseconds they spent per handshake: steadier than the
# rate, which the s_time client sharing the cores sets as much as the
# server does.
full_handshakes() { # ADDR:PORT SECONDS [PID...]
	local addr=$1 secs=$2 out t0 t1 n c0 c1
	shift 2
	c0=$(cpu_ticks "$@")
	t0=$(date +%s.%N)
	out=$(ip netns exec "$GW_C" timeout $((secs + 20)) openssl s_time -connect "$addr" -new \
		-time "$secs" -cert "$P/131016.crt" -key "$P/131016.key" -CAfile "$P/ca.crt" 2>/dev/null)
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "$@")
	n=$(sed -n 's/^\([0-9]*\) connections in [0-9.]* real seconds.*/\1/p' <<<"$out" | tail -1)
	[ -n "$n" ] && [ "$n" -gt 0 ] || { echo "0${1:+ -}"; return; }
	local rate
	rate=$(echo "scale=1; $n / ($t1 - $t0)" | bc)
	if [ $# -gt 0 ]; then
		echo "$rate $(echo "scale=2; ($c1 - $c0) * 1000 / $HZ / $n" | bc)"
	else
		echo "$rate"
	fi
}
