# Who reaches what: a peer gateway reaches the WAN port (IPv4 and IPv6) and
# nothing else; a stranger reaches nothing (a connect sweep and nmap see
# every port filtered); the LAN port only from the site server; counters
# move. The LAN port answers only on the LAN listener's address.
source "$(dirname "$0")/lib.sh"
topology
serve 7443 7000 22 8080 7101
ip netns exec "$GW" "$TOOL" apply $(policy) || fail "apply"

expect_open "$PEER" 10.77.0.16 7443
expect_open "$PEER" fd00:77::16 7443
expect_filtered "$PEER" 10.77.0.16 7000
expect_filtered "$PEER" 10.77.0.16 22
expect_filtered "$PEER" fd00:77::16 8080

expect_open "$SRV" 10.16.0.1 7000
# The LAN port only on the LAN listener's address: the gateway's WAN
# address (routed to through lan0) does not answer on it, not even a reset.
expect_filtered "$SRV" 10.77.0.16 7000
expect_filtered "$SRV" 10.16.0.1 7443
expect_filtered "$SRV" 10.16.0.1 22      # not the management network

# The stranger: a connect sweep of the listening ports and some others.
REACH_MS=300
for port in 7443 7000 22 8080 7101 1 443; do
	expect_filtered "$STRANGER" 10.77.0.16 $port
done
expect_filtered "$STRANGER" fd00:77::16 7443

# nmap's view (SYN scan) from the stranger: nothing open, nothing closed.
if command -v nmap >/dev/null; then
	ip netns exec "$STRANGER" nmap -Pn -n -sS -p 1-1024,7000,7101,7443,8080 \
		--max-retries 0 --host-timeout 60s -T5 10.77.0.16 >"$WORK/nmap" 2>&1 ||
		fail "nmap: $(cat "$WORK/nmap")"
	grep -Eq '(open|closed) ' "$WORK/nmap" && { cat "$WORK/nmap"; fail "nmap sees a port"; }
	grep -q 'filtered' "$WORK/nmap" || { cat "$WORK/nmap"; fail "nmap output not understood"; }
	echo "ok: nmap from the stranger: $(grep -o 'All [0-9]* scanned ports.*' "$WORK/nmap")"
fi

# The gateway itself may dial only what the policy lists.
ip netns exec "$PEER" "$TOOL" serve 60 7443 9000 >/dev/null 2>&1 &
BG_PIDS+=($!)
ns_wait_tcp "$PEER" 10.77.0.13 9000 5 || fail "peer listener"
expect_open "$GW" 10.77.0.13 7443
expect_filtered "$GW" 10.77.0.13 9000

# Counters moved.
for c in accept_wan accept_lan drop_input accept_out drop_output; do
	v=$(counter $c)
	[ -n "$v" ] && [ "$v" -gt 0 ] || fail "counter $c did not move ($v)"
	echo "ok: counter $c = $v"
done
exit 0
