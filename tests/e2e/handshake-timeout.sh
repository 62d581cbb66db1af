# handshake-timeout — a client that opens TCP to the WAN listener and never
# finishes the TLS handshake is cut off after `timeouts { handshake }`, and
# the reject is audited as handshake-timeout.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_conf_hook() { e2e_set "$1" common/policy.conf 's/handshake 10s;/handshake 2s;/'; }
e2e_topology chiyoda tokyo
e2e_start tokyo

# From 千代田区's WAN address (admitted by the firewall): connect, say nothing,
# and report after how long the gateway closed (read returns at EOF).
start=$(date +%s.%N)
ip netns exec "$(ns_gw chiyoda)" timeout 15 bash -c \
	'exec 3<>/dev/tcp/10.77.0.13/7443 || exit 3; cat <&3 >/dev/null' ||
	fail "the silent client was not closed within 15 s (or could not connect)"
took=$(echo "$(date +%s.%N) - $start" | bc)
echo "closed after ${took}s"
rec=$(e2e_audit_wait tokyo '.event == "tunnel" and .state == "reject" and .reason == "handshake-timeout"') ||
	fail "no handshake-timeout reject audited"
echo "audited: $(head -1 <<<"$rec" | jq -r '"\(.peer_addr) \(.reason)"')"
