# stranger-blocked — the kernel firewall jgwd programs: a host on the WAN that
# is in no peer directory cannot reach the WAN listener (its SYN is dropped,
# the connect times out), a site server cannot reach the WAN at all (the
# gateway does not route), a peer's address gets through, and the drops are
# summarised into `drop` audit records (NFLOG). The table's base chains
# drop whatever no rule accepts (policy drop).
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_conf_hook() { e2e_set "$1" common/policy.conf 's/drop-interval 60s;/drop-interval 1s;/'; }
e2e_up chiyoda tokyo

ip netns exec "$(ns_gw tokyo)" nft list table inet jgw >/dev/null 2>&1 || fail "no jgw table in tokyo's namespace"
# What no rule accepts is dropped: the input, forward and output chains of
# the kernel's table have policy drop.
for chain in input forward output; do
	ip netns exec "$(ns_gw tokyo)" nft list chain inet jgw "$chain" 2>/dev/null | grep -q 'policy drop;' ||
		fail "chain $chain of tokyo's table does not have policy drop"
done
# --expect dropped: the SYN went unanswered (the firewall dropped it). A
# connection the gateway accepts and then closes (the stranger speaks no
# TLS) fails it, and so does a reset.
stranger_send() {
	ip netns exec "$(ns_stranger)" "$B/jgw-node" send --connect "$1" --from 131016 --to 130001 \
		--type tenshutsu-kakutei --expect dropped --timeout 2
}
stranger_send 10.77.0.13:7443 || fail "the stranger's connection to the WAN listener was not dropped"
stranger_send "[fd00:77::13]:7443" || fail "the stranger's IPv6 connection to the WAN listener was not dropped"
# The stranger cannot reach the LAN listener either (wrong interface, wrong
# source): nothing listens on the WAN address at 7000, so without the
# firewall the connection would be reset; it is dropped.
stranger_send 10.77.0.13:7000 || fail "the stranger's connection to port 7000 was not dropped"
# A site server has no way onto the WAN but its gateway's listener (the
# gateway does not route): its connection is never established.
ip netns exec "$(ns_srv chiyoda)" "$B/jgw-node" send --connect 10.77.0.13:7443 --from 131016 --to 130001 \
	--type tenshutsu-kakutei --expect refused --timeout 2 || fail "a site server reached the WAN directly"
# A peer's address gets through (the rule is selective, not a dead port).
e2e_send_ok chiyoda --to 130001 --type tenshutsu-kakutei >/dev/null
rec=$(e2e_audit_wait tokyo '.event == "drop" and (.src // "" | test("^(10\\.77\\.0\\.66|fd00:77::66)"))') ||
	fail "no drop record for the stranger at tokyo"
echo "stranger dropped: $(head -1 <<<"$rec" | jq -r '"\(.src) port \(.dst_port) \(.packets) packets, rule \(.rule)"')"
