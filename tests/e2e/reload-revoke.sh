# reload-revoke — the CA revokes 千代田区's certificate; a reload of 東京都
# with the new CRL closes 千代田区's live tunnel (audited) and refuses it
# from then on, while 中央区 is unaffected.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_up chiyoda chuo tokyo

ns_send chiyoda --to 130001 --type tenshutsu-kakutei --hold 8 >"$NS_WORK/live.out" 2>&1 &
live=$!
ns_send chuo --to 130001 --type tenshutsu-kakutei --hold 8 >"$NS_WORK/other.out" 2>&1 &
other=$!
# Both tunnels are up once their notice has reached 東京都's server.
both_up() { [ "$(e2e_server_count tokyo juki '.sender == "131016" or .sender == "131024"')" = 2 ]; }
wait_for 100 both_up || fail "the two held tunnels did not come up"
cnf=$NS_WORK/pki/ca/openssl.cnf
openssl ca -config "$cnf" -revoke "$NS_WORK/pki/131016.crt" -crl_reason keyCompromise >/dev/null 2>&1 ||
	fail "openssl ca -revoke failed"
openssl ca -config "$cnf" -gencrl -crldays 30 -out "$NS_WORK/pki/crl.pem" >/dev/null 2>&1 ||
	fail "openssl ca -gencrl failed"
kill -HUP "$(cat "$NS_WORK/tokyo/jgwd.pid")"
e2e_audit_wait tokyo '.event == "config" and .action == "reload"' >/dev/null || fail "reload not audited"
wait "$live"
cat "$NS_WORK/live.out"
grep -q 'hold: peer closed' "$NS_WORK/live.out" || fail "千代田区's live tunnel was not closed by the revocation"
rec=$(e2e_audit_wait tokyo '.event == "tunnel" and .state == "close" and .peer == "131016"') ||
	fail "the closed tunnel was not audited at tokyo"
# 千代田区 is still in the directory: the reason is the revocation itself.
reason=$(head -1 <<<"$rec" | jq -r .reason)
[ "$reason" = cert-revoked ] || fail "the closed tunnel was audited with reason '$reason', not cert-revoked"
wait "$other"
grep -q 'hold: still open' "$NS_WORK/other.out" || { cat "$NS_WORK/other.out"; fail "中央区's tunnel was closed too"; }
# From now on 千代田区 is refused at the handshake.
ns_send chiyoda --to 130001 --type tenshutsu-kakutei --expect close >/dev/null 2>&1 || fail "千代田区 still gets through"
e2e_audit_wait tokyo '.event == "tunnel" and .state == "reject" and .reason == "cert-revoked"' >/dev/null ||
	fail "the new attempt was not rejected as cert-revoked"
echo "revoked peer's live tunnel closed ($(head -1 <<<"$rec" | jq -r .reason)) and refused afterwards"
