# refused-spoofed-sender — a site server that claims to be another node is
# refused by its own gateway (bad-sender), before anything is dialled.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_up chiyoda tokyo

e2e_send_refused chiyoda --to 130001 --type tenshutsu-kakutei --bad sender --spoof 131024
e2e_send_refused chiyoda --to 130001 --type tenshutsu-kakutei --bad sender --spoof 130001
[ "$(e2e_server_count tokyo juki true)" = 0 ] || fail "a spoofed frame reached 東京都's server"
e2e_audit_wait chiyoda '.event == "message" and .verdict == "deny" and .reason == "bad-sender"' >/dev/null ||
	fail "no bad-sender deny audited at chiyoda"
# No tunnel was opened for them.
[ -z "$(ns_audit tokyo | jq -c 'select(.event == "tunnel" and .state == "open")')" ] ||
	fail "tokyo saw a tunnel for a spoofed sender"
echo "spoofed sender refused at the LAN side"
