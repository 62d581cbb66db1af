# refused-unsolicited — a response that answers no request on the
# connection is refused (unsolicited-response), on the LAN side and when a
# peer gateway's server sends one through the tunnel.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_up chiyoda tokyo

e2e_send_refused chiyoda --to 130001 --type tenshutsu-kakutei --bad unsolicited
# After two answered notices, an ack with a ref that was never sent.
e2e_send_refused chiyoda --to 130001 --type tenshutsu-kakutei --count 3 --bad unsolicited >/dev/null
got=$(e2e_server_count tokyo juki '.type_name == "ack"')
[ "$got" = 0 ] || fail "an unsolicited ack reached 東京都's server"
n=$(ns_audit chiyoda | jq -c 'select(.event == "message" and .reason == "unsolicited-response")' | wc -l)
[ "$n" = 2 ] || fail "chiyoda audited $n unsolicited-response denies, expected 2"
echo "unsolicited responses refused"
