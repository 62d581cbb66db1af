# refused-unsolicited — a response that answers no request on the
# connection is refused (unsolicited-response): on the LAN side, from a site
# server, and on the WAN side, when the peer's end of a tunnel sends one
# (a peer gateway that lets it through: openssl s_client from 中央区's WAN
# address with 中央区's certificate, so only 千代田区's own inspection can
# stop it).
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_topology chiyoda tokyo chuo
e2e_start chiyoda tokyo

e2e_send_refused chiyoda --to 130001 --type tenshutsu-kakutei --bad unsolicited
# After two answered notices, an ack with a ref that was never sent.
e2e_send_refused chiyoda --to 130001 --type tenshutsu-kakutei --count 3 --bad unsolicited >/dev/null
got=$(e2e_server_count tokyo juki '.type_name == "ack"')
[ "$got" = 0 ] || fail "an unsolicited ack reached 東京都's server"
n=$(ns_audit chiyoda | jq -c 'select(.event == "message" and .reason == "unsolicited-response")' | wc -l)
[ "$n" = 2 ] || fail "chiyoda audited $n unsolicited-response denies, expected 2"

# WAN side: a tunnel from 中央区 into 千代田区 whose first frame is an ack
# (ref 999999) to a request 千代田区 never sent.
wan_send() {
	e2e_tls_send "$(ns_gw chuo)" "$(ns_wan4 chiyoda):7443" "$1" "$NS_WORK/wan-answer.bin" \
		-cert "$NS_WORK/pki/131024.crt" -key "$NS_WORK/pki/131024.key"
}
"$B/jgw-node" frame --from 131024 --to 131016 --type tennyu-tsuchi --bad unsolicited \
	>"$NS_WORK/unsolicited.bin" || fail "jgw-node frame"
wan_send "$NS_WORK/unsolicited.bin"
[ "$(stat -c %s "$NS_WORK/wan-answer.bin")" = 0 ] || fail "the peer's unsolicited ack got an answer"
rec=$(e2e_audit_wait chiyoda '.event == "message" and .dir == "in" and .reason == "unsolicited-response"') ||
	fail "chiyoda did not refuse the unsolicited ack from the WAN side"
[ "$(head -1 <<<"$rec" | jq -r '.verdict + " " + .sender')" = "deny 131024" ] ||
	fail "the WAN-side record is not a deny of 131024's frame: $rec"
for srv in juki fuhyo; do
	[ "$(e2e_server_count chiyoda "$srv" true)" = 0 ] || fail "a frame reached 千代田区's $srv server"
done
# The same client with a valid notice is let in and answered (so the WAN
# case fails for its frame, not for the tunnel).
"$B/jgw-node" frame --from 131024 --to 131016 --type tennyu-tsuchi >"$NS_WORK/valid.bin" || fail "jgw-node frame"
wan_send "$NS_WORK/valid.bin"
[ "$(jmsg_frames "$NS_WORK/wan-answer.bin")" -ge 1 ] || fail "the valid notice from 中央区 got no answer"
[ "$(e2e_server_count chiyoda juki '.sender == "131024"')" = 1 ] || fail "the valid notice did not reach 千代田区's server"
echo "unsolicited responses refused on the LAN and on the WAN side"
