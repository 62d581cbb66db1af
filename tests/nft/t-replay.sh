# A crafted pcap replayed into the gateway's WAN with tcpreplay: spoofed
# sources, a port scan, IPv6 strangers, and a SYN flood under a peer's
# address. Every drop is counted and shows up in the NFLOG summaries with
# its rule; the flood hits the per-source rate and connection limits.
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
	10.77.0.66,10.77.0.16,1-200 \
	2001:db8::1+10,fd00:77::16,7443 \
	10.77.0.13,10.77.0.16,7000,3 \
	10.77.0.100,10.77.0.16,7443,60) || fail "nft-pcap"
[ "$n" = 293 ] || fail "pcap has $n packets"

ip netns exec "$GW" "$TOOL" log $GROUP 60 >"$WORK/log" 2>&1 &
logpid=$!
BG_PIDS+=($logpid)
wait_for 5 grep -q listening "$WORK/log" || fail "NFLOG listener: $(cat "$WORK/log")"

ip netns exec "$STRANGER" tcpreplay -q -i wan0 --topspeed "$WORK/t.pcap" >"$WORK/replay" 2>&1 ||
	fail "tcpreplay: $(cat "$WORK/replay")"
# All 293 frames are in when the counters say so (poll, then stop the log).
seen() {
	local s=0 c
	for c in drop_input drop_wan_rate drop_wan_conn accept_wan drop_invalid; do
		s=$((s + $(counter $c)))
	done
	[ "$s" -ge 293 ]
}
wait_for 10 seen || fail "not every replayed frame was counted"
# The kernel batches log messages for up to 10 ms; wait until the listener
# has them all (the sum of its summary is printed only at its end, so poll
# on the counters above, then give the batching time and stop it).
sleep 0.2
in=$(counter drop_input)   # read before the listener stops: all of it was logged
kill -TERM $logpid 2>/dev/null
wait $logpid 2>/dev/null
grep -q '^overruns ' "$WORK/log" || fail "listener output: $(cat "$WORK/log")"
sed 's/^/  | /' "$WORK/log" | head -12
echo "  | ... $(grep -c '^drop ' "$WORK/log") summary lines"

sum() {   # sum of packets over summary lines matching the awk condition
	awk "/^drop / { for (i = 2; i <= NF; i++) { split(\$i, kv, \"=\"); f[kv[1]] = kv[2] }
	     if ($1) s += f[\"packets\"] } END { print s + 0 }" "$WORK/log"
}

# The port scan: one summary per port, each one packet, rule input.
v=$(sum 'f["rule"] == "input" && f["src"] == "10.77.0.66"')
[ "$v" = 200 ] || fail "port scan: $v packets summarised, want 200"
v=$(awk '/^drop rule=input src=10.77.0.66 /' "$WORK/log" | wc -l)
[ "$v" = 200 ] || fail "port scan: $v summary lines, want 200 (one per port)"
echo "ok: port scan summarised (200 ports)"

# Spoofed sources, IPv4 and IPv6, each its own summary.
for i in $(seq 20); do
	grep -q "^drop rule=input src=198.51.100.$i proto=6 dport=7443 packets=1 bytes=40\$" \
		"$WORK/log" || fail "no summary for 198.51.100.$i"
done
for i in $(seq 10); do
	grep -q "^drop rule=input src=2001:db8::$(printf %x $i) proto=6 dport=7443 packets=1 bytes=60\$" \
		"$WORK/log" || fail "no summary for 2001:db8::$i"
done
echo "ok: spoofed sources summarised (20 IPv4, 10 IPv6)"

# A peer's address on the LAN port: dropped, 3 packets in one summary.
grep -q "^drop rule=input src=10.77.0.13 proto=6 dport=7000 packets=3 " "$WORK/log" ||
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
[ "$logged" -ge "$in" ] && [ "$in" -ge 233 ] || fail "drop_input $in but $logged summarised"
echo "ok: every input drop summarised ($in counted, $logged logged), no overruns"
exit 0
