# lan-server-kept — the site's own server is never quarantined by default
# (firewall quarantine-lan no): 千代田区's CS sends seven frames with a bad
# check digit, more than the quarantine threshold (5 within 60 s); each is
# denied and audited, yet the CS is not quarantined and its next valid frame
# is relayed and answered. A LAN source outside lan-allow still counts.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_up chiyoda tokyo
for i in 1 2 3 4 5 6 7; do
	e2e_send_refused chiyoda --to 130001 --type honnin-tsuchi --bad check-digit >/dev/null
done
n=$(ns_audit chiyoda | jq -c 'select(.event == "message" and .verdict == "deny" and .reason == "bad-value")' | wc -l)
[ "$n" -ge 7 ] || fail "only $n bad-value denies audited at 千代田区"
e2e_send_ok chiyoda --to 130001 --type honnin-tsuchi --records 2 >/dev/null
if ns_audit chiyoda | jq -e -s 'map(select(.event == "quarantine" and .action == "add")) | length > 0' >/dev/null; then
	fail "千代田区's own server was quarantined"
fi
ip netns exec "$(ns_gw chiyoda)" nft list set inet jgw quarantine4 | grep -q "$(ns_lan_srv chiyoda)" &&
	fail "千代田区's server is in the kernel's quarantine set"
echo "7 denied frames from 千代田区's CS: audited, the CS not quarantined, its next frame answered"
