# interop-openssl — third-party TLS clients speak to the WAN listener:
# openssl s_client and stunnel4 (client mode) with a valid certificate are
# accepted and their frame is delivered and answered; with a certificate of
# an unknown CA they are refused.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_topology chiyoda tokyo
e2e_start tokyo
gw=$(ns_gw chiyoda)

# openssl s_client, valid: the answer is a JMSG ack for our frame.
"$B/jgw-node" frame --from 131016 --to 130001 --type tenshutsu-kakutei --count 2 >"$NS_WORK/f.bin"
E2E_ANSWERS=2 e2e_tls_send "$gw" 10.77.0.13:7443 "$NS_WORK/f.bin" "$NS_WORK/answer.bin" \
	-cert "$NS_WORK/pki/131016.crt" -key "$NS_WORK/pki/131016.key"
head -c 2 "$NS_WORK/answer.bin" | grep -q JK || fail "s_client got no JMSG answer ($(wc -c <"$NS_WORK/answer.bin") bytes)"
[ "$(od -An -tu1 -j3 -N1 "$NS_WORK/answer.bin" | tr -d ' ')" = 1 ] || fail "the answer is not a response"
[ "$(e2e_server_count tokyo juki '.sender == "131016"')" = 2 ] || fail "東京都 server did not get both frames"
echo "s_client valid: accepted, $(wc -c <"$NS_WORK/answer.bin") answer bytes"

# openssl s_client, unknown CA: refused.
got=$(e2e_fake_peer "$gw" 10.77.0.13:7443 -cert "$NS_WORK/pki/bad/unknown-ca.crt" -key "$NS_WORK/pki/bad/unknown-ca.key")
[ "$got" = 0 ] || fail "s_client with an unknown CA got $got bytes"
echo "s_client unknown CA: refused"

# stunnel4 as the client side of a tunnel: plain TCP in, TLS 1.3 out.
command -v stunnel4 >/dev/null || command -v stunnel >/dev/null || skip "stunnel4 is not installed"
st=$(command -v stunnel4 || command -v stunnel)
run_stunnel() {
	local cert=$1 key=$2 port=$3
	cat >"$NS_WORK/st-$port.conf" <<EOC
foreground = yes
pid =
debug = 4
[jgw]
client = yes
accept = 127.0.0.1:$port
connect = 10.77.0.13:7443
cert = $cert
key = $key
CAfile = $NS_WORK/pki/ca.crt
verifyChain = yes
sslVersionMin = TLSv1.3
EOC
	ip netns exec "$gw" "$st" "$NS_WORK/st-$port.conf" >"$NS_WORK/st-$port.log" 2>&1 &
	ns_wait_tcp "$gw" 127.0.0.1 "$port" 5 || fail "stunnel did not listen"
}
run_stunnel "$NS_WORK/pki/131016.crt" "$NS_WORK/pki/131016.key" 24101
ip netns exec "$gw" "$B/jgw-node" send --connect 127.0.0.1:24101 --from 131016 --to 130001 \
	--type honnin-tsuchi --records 20 --count 3 || fail "jgw-node through stunnel (valid) was not answered"
run_stunnel "$NS_WORK/pki/bad/expired.crt" "$NS_WORK/pki/bad/expired.key" 24102
ip netns exec "$gw" "$B/jgw-node" send --connect 127.0.0.1:24102 --from 131016 --to 130001 \
	--type honnin-tsuchi --expect close || fail "jgw-node through stunnel (expired) was not refused"
e2e_audit_wait tokyo '.event == "tunnel" and .state == "reject" and .reason == "cert-expired"' >/dev/null ||
	fail "the expired stunnel client was not audited"
echo "stunnel valid: accepted; expired: refused"
