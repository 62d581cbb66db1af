# stranger-blocked — the kernel firewall jgwd programs: a host on the WAN that
# is in no peer directory cannot reach the WAN listener (its SYN is dropped,
# the connect times out), a site server cannot reach the WAN at all (the
# gateway does not route), a peer's address gets through, and the drops are
# summarised into `drop` audit records (NFLOG).
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_conf_hook() { e2e_set "$1" common/policy.conf 's/drop-interval 60s;/drop-interval 1s;/'; }
e2e_up chiyoda tokyo

ip netns exec "$(ns_gw tokyo)" nft list table inet jgw >/dev/null 2>&1 || fail "no jgw table in tokyo's namespace"
ip netns exec "$(ns_stranger)" "$B/jgw-node" send --connect 10.77.0.13:7443 --from 131016 --to 130001 \
	--type tenshutsu-kakutei --expect refused --timeout 2 || fail "the stranger reached the WAN listener"
ip netns exec "$(ns_stranger)" "$B/jgw-node" send --connect "[fd00:77::13]:7443" --from 131016 --to 130001 \
	--type tenshutsu-kakutei --expect refused --timeout 2 || fail "the stranger reached the WAN listener over IPv6"
# The stranger cannot reach the LAN listener either (wrong interface, wrong source).
ip netns exec "$(ns_stranger)" "$B/jgw-node" send --connect 10.77.0.13:7000 --from 131016 --to 130001 \
	--type tenshutsu-kakutei --expect refused --timeout 2 || fail "the stranger reached port 7000"
# A site server has no way onto the WAN but its gateway's listener.
ip netns exec "$(ns_srv chiyoda)" "$B/jgw-node" send --connect 10.77.0.13:7443 --from 131016 --to 130001 \
	--type tenshutsu-kakutei --expect refused --timeout 2 || fail "a site server reached the WAN directly"
# A peer's address gets through (the rule is selective, not a dead port).
e2e_send_ok chiyoda --to 130001 --type tenshutsu-kakutei >/dev/null
rec=$(e2e_audit_wait tokyo '.event == "drop" and (.src // "" | test("^(10\\.77\\.0\\.66|fd00:77::66)"))') ||
	fail "no drop record for the stranger at tokyo"
echo "stranger dropped: $(head -1 <<<"$rec" | jq -r '"\(.src) port \(.dst_port) \(.packets) packets, rule \(.rule)"')"
