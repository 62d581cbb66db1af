# A crafted pcap replayed into the gateway's WAN with tcpreplay: spoofed
# sources, a port scan, IPv6 strangers, and a SYN flood under a peer's
# address. Every drop is counted and shows up in the NFLOG summaries with
# its rule, aggregated by source prefix with the ports as a range; the
# flood hits the per-source rate and connection limits.
source "$(dirname "$0")/lib.sh"
command -v tcpreplay >/dev/null || skip "tcpreplay not installed"
[ -x "$PCAPTOOL" ] || fail "no $PCAPTOOL"
topology
serve 7443
RATE=10/20 CONNS=8
ip netns exec "$GW" "$TOOL" apply $(policy) || fail "apply"

gw_mac=$(ip -n "$GW" -br link show wan0 | awk '{print $3}')
my_mac=$(ip -n "$STRANGER" -br link show wan0 | awk '{print $3}')
# 10.77.0.100 is a peer (jlis) that is not up: its SYN-ACKs go nowhere, so
# its half-open connections stay counted.
n=$("$PCAPTOOL" "$WORK/t.pcap" "$gw_mac" "$my_mac" \
	198.51.100.1+20,10.77.0.16,7443 \
	203.0.113.66,10.77.0.16,1-200 \
	2001:db8::1+10,fd00:77::16,7443 \
	10.77.0.13,10.77.0.16,7000,3 \
	10.77.0.100,10.77.0.16,7443,60) || fail "nft-pcap"
[ "$n" = 293 ] || fail "pcap has $n packets"

log_start
ip netns exec "$STRANGER" tcpreplay -q -i wan0 --topspeed "$WORK/t.pcap" >"$WORK/replay" 2>&1 ||
	fail "tcpreplay: $(cat "$WORK/replay")"
# All 293 frames are in when the counters say so; then every drop counted
# is in the listener's interval (log_stop polls on it).
seen() {
	local s=0 c
	for c in drop_input drop_wan_rate drop_wan_conn accept_wan drop_invalid; do
		s=$((s + $(counter $c)))
	done
	[ "$s" -ge 293 ]
}
wait_for 10 seen || fail "not every replayed frame was counted"
in=$(counter drop_input)
log_stop
grep -v '^read ' "$WORK/log" | sed 's/^/  | /' | head -12
lines=$(grep -c '^drop ' "$WORK/log")
echo "  | ... $lines summary lines"
[ "$lines" -le 33 ] || fail "$lines summaries, more than NFT_LOG_TOP + 1"

sum() {   # sum of packets over summary lines matching the awk condition
	awk "/^drop / { for (i = 2; i <= NF; i++) { split(\$i, kv, \"=\"); f[kv[1]] = kv[2] }
	     if ($1) s += f[\"packets\"] } END { print s + 0 }" "$WORK/log"
}
# summary 'FIELD=VALUE ...' — the one summary line with all these fields.
summary() {
	local line n=0
	while read -r line; do
		local ok=1 want
		for want in "$@"; do
			case " $line " in *" $want "*) ;; *) ok=0;; esac
		done
		[ $ok = 1 ] && n=$((n + 1))
	done < <(grep '^drop ' "$WORK/log")
	[ $n = 1 ]
}

# The port scan: one summary, its ports as a range with their count.
summary rule=input src=203.0.113.66 proto=6 dport=1 dport_max=200 ports=200 sources=1 packets=200 ||
	fail "port scan not one summary of 200 ports"
echo "ok: port scan summarised (one line: ports 1-200, 200 ports)"

# Spoofed sources, IPv4 and IPv6: one summary per /24 and /64.
summary rule=input src=198.51.100.0/24 proto=6 dport=7443 dport_max=7443 ports=1 sources=20 \
	packets=20 bytes=800 || fail "no summary for 198.51.100.0/24 with 20 sources"
summary rule=input src=2001:db8::/64 proto=6 dport=7443 ports=1 sources=10 packets=10 bytes=600 ||
	fail "no summary for 2001:db8::/64 with 10 sources"
echo "ok: spoofed sources summarised (20 IPv4 in one /24, 10 IPv6 in one /64)"

# A peer's address on the LAN port: dropped, 3 packets in one summary.
summary rule=input src=10.77.0.13 proto=6 dport=7000 ports=1 packets=3 ||
	fail "peer to the LAN port not summarised"
echo "ok: a peer address on the LAN port dropped"

# The flood: rate limit first (burst 20), then the count limit (8).
acc=$(counter accept_wan); rate=$(counter drop_wan_rate); conn=$(counter drop_wan_conn)
echo "flood of 60: accepted $acc, wan-rate drops $rate, wan-conn drops $conn"
[ $((acc + rate + conn)) = 60 ] || fail "flood packets do not add up"
[ "$acc" -le 8 ] || fail "more than 8 concurrent connections accepted"
[ "$rate" -ge 30 ] || fail "rate limit did not drop ($rate)"
[ "$conn" -ge 1 ] || fail "connection limit did not drop ($conn)"
[ "$(sum 'f["rule"] == "wan-rate"')" = "$rate" ] || fail "wan-rate summary != counter"
[ "$(sum 'f["rule"] == "wan-conn"')" = "$conn" ] || fail "wan-conn summary != counter"
echo "ok: per-source rate and connection limits, summaries match counters"

# Nothing lost between kernel and listener.
grep -q '^overruns 0$' "$WORK/log" || fail "NFLOG overruns: $(grep overruns "$WORK/log")"
logged=$(sum 'f["rule"] == "input"')
[ "$logged" = "$in" ] && [ "$in" -ge 233 ] || fail "drop_input $in but $logged summarised"
echo "ok: every input drop summarised ($in counted, $logged logged), no overruns"
exit 0
