# A reload checks every live tunnel's peer again, fully, against the new
# TLS context (tls_conn_recheck), not only the directory and the CRL serial:
# a new CA file that no longer anchors the peer's chain closes its tunnel
# (unknown-ca); a stale CRL closes it under fail-closed (crl-stale) and
# leaves it under fail-open; a peer certificate that expired since the
# handshake closes it at the next reload (cert-expired). Each close is
# audited with its reason.
. "$(dirname "$0")/lib.sh"
: "${JGW_NODE:?}"

write_conf chiyoda 131016 22851 22852 22853 130001 22862
write_conf tokyo   130001 22861 22862 22863 131016 22852
cp "$T/tokyo/jgw.conf" "$T/tokyo/good.conf"
start_jgwd chiyoda
start_jgwd tokyo
"$JGW_NODE" serve --listen 127.0.0.1:22863 --node 130001 >"$T/juki.log" 2>&1 &
JG_PIDS+=($!)
wait_for 50 bash -c "exec 3<>/dev/tcp/127.0.0.1/22863" || fail "site server did not start"

tunnels() { "$JGWCTL" -s "$T/tokyo/control.sock" peers | grep -c '^tunnel .* peer 131016 '; }

# hold: one tunnel 131016 → 130001 held open (answered once); waits for it.
hold() {
	"$JGW_NODE" send --connect 127.0.0.1:22851 --from 131016 --to 130001 \
		--type honnin-tsuchi --expect ack --hold 30 --timeout 40 >>"$T/held.log" 2>&1 &
	JG_PIDS+=($!)
	wait_for 100 bash -c "'$JGWCTL' -s '$T/tokyo/control.sock' peers | grep -q '^tunnel .* peer 131016 .* frames_in [1-9]'" \
		|| fail "held tunnel did not come up"
}

# closed_with REASON: the held tunnel is gone, audited with REASON.
closed_with() {
	wait_for 50 bash -c "! '$JGWCTL' -s '$T/tokyo/control.sock' peers | grep -q '^tunnel '" \
		|| fail "the tunnel is still open after a reload that refuses its peer ($1)"
	wait_for 30 audit_has tokyo "\"event\":\"tunnel\".*\"state\":\"close\".*\"peer\":\"131016\".*\"reason\":\"$1\"" \
		|| fail "no close record with reason $1"
}

# 1. The CA file is replaced by another CA's (on the egress side, with an
# own certificate of that CA: a CA that does not anchor the site's own
# certificate is refused by the check before any tunnel is looked at).
hold
cp "$T/chiyoda/jgw.conf" "$T/chiyoda/good.conf"
sed -i -e "s|\"$JGW_TEST_PKI/ca.crt\"|\"$JGW_TEST_PKI/bad/unknown-ca-ca.crt\"|" \
	-e "s|\"$JGW_TEST_PKI/131016.crt\"|\"$JGW_TEST_PKI/bad/unknown-ca.crt\"|" \
	-e "s|\"$JGW_TEST_PKI/131016.key\"|\"$JGW_TEST_PKI/bad/unknown-ca.key\"|" "$T/chiyoda/jgw.conf"
grep -q unknown-ca-ca.crt "$T/chiyoda/jgw.conf" || fail "CA line not replaced"
ctl chiyoda reload >/dev/null || fail "reload with another CA rejected"
wait_for 50 bash -c "! '$JGWCTL' -s '$T/chiyoda/control.sock' peers | grep -q '^tunnel '" \
	|| fail "the tunnel is still open after a reload whose CA does not anchor its peer"
wait_for 30 audit_has chiyoda '"event":"tunnel".*"state":"close".*"peer":"130001".*"reason":"unknown-ca"' \
	|| fail "no close record with reason unknown-ca"
grep -q 'closed by the new configuration: unknown-ca' "$T/chiyoda/jgwd.log" || fail "no log line for the close"
cp "$T/chiyoda/good.conf" "$T/chiyoda/jgw.conf"
ctl chiyoda reload >/dev/null || fail "reload back to the good CA rejected"
wait_for 50 bash -c "! '$JGWCTL' -s '$T/tokyo/control.sock' peers | grep -q '^tunnel '" \
	|| fail "tokyo still holds the tunnel chiyoda closed"

# 2. A stale CRL: fail-open keeps the tunnel; under fail-closed the reload
# itself is refused (the check names the stale CRL), and the generation in
# force, its tunnel with it, stays. (A CRL that goes stale while in force
# ends the tunnels: 17-crl-goes-stale.)
hold
cp "$T/tokyo/good.conf" "$T/tokyo/jgw.conf"
echo "tls { crl \"$JGW_TEST_PKI/bad/crl-stale.pem\"; crl-policy fail-open; }" >>"$T/tokyo/jgw.conf"
# The reload answers after it has re-checked (and closed) the live tunnels.
ctl tokyo reload >/dev/null || fail "reload with a stale CRL (fail-open) rejected"
[ "$(tunnels)" = 1 ] || fail "fail-open: the live tunnel was closed by a stale CRL"
sed -i 's/crl-policy fail-open;/crl-policy fail-closed;/' "$T/tokyo/jgw.conf"
out=$(ctl tokyo reload 2>&1) && fail "reload with a stale CRL (fail-closed) accepted"
grep -q "went stale .*fail-closed" <<<"$out" || fail "the refusal does not name the stale CRL: $out"
[ "$(tunnels)" = 1 ] || fail "a refused reload closed the live tunnel"
"$JGWCTL" -s "$T/tokyo/control.sock" peers | grep -q '^tunnel .* generation [0-9]* ' || fail "peers"
cp "$T/tokyo/good.conf" "$T/tokyo/jgw.conf"
ctl tokyo reload >/dev/null || fail "reload back to the good configuration rejected"
# One tunnel ended by hand: `tunnel close ID` (the ID as peers shows it).
id=$("$JGWCTL" -s "$T/tokyo/control.sock" peers | awk '$1 == "tunnel" && / peer 131016 / { print $2; exit }')
[ -n "$id" ] || fail "no tunnel id in peers"
out=$(ctl tokyo tunnel close 12345 2>&1) && fail "closing a tunnel that does not exist succeeded"
grep -q "no tunnel 12345" <<<"$out" || fail "tunnel close of an unknown id: $out"
ctl tokyo tunnel close "$id" --comment "test: one tunnel by hand" || fail "tunnel close $id"
closed_with operator-closed
wait_for 30 audit_has tokyo "\"event\":\"admin\",\"epoch\":[0-9]*,\"action\":\"tunnel close\",\"operator\":\"$(id -un)\",\"uid\":$(id -u).*\"comment\":\"test: one tunnel by hand\",\"outcome\":\"ok\"" \
	|| fail "no admin record of the tunnel close with its operator and comment: $(cat "$T"/tokyo/spool/* | grep -o "\"event\":\"admin\"[^}]*")"

# 3. The peer's certificate expired since its handshake: a reload that
# changes nothing closes the tunnel. A second 千代田区 gateway gets a
# certificate of the same CA that expires a few seconds from now; the
# tunnel must come up while it is valid (the certificate's own life bounds
# that wait), and the reload comes once it has expired.
cp "$T/tokyo/good.conf" "$T/tokyo/jgw.conf"
ctl tokyo reload >/dev/null || fail "reload back to no CRL rejected"
cp -a "$JGW_TEST_PKI" "$T/pki"
sed -i "s|$JGW_TEST_PKI|$T/pki|g" "$T/pki/ca/openssl.cnf"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/pki/soon.key" 2>/dev/null
openssl req -config "$T/pki/ca/openssl.cnf" -new -key "$T/pki/soon.key" -subj "/O=jgw test/CN=131016" \
	-out "$T/pki/soon.csr" || fail "request"
end=$(date -u -d '+12 sec' +%s)
SAN=URI:urn:jgw:node:131016 openssl ca -config "$T/pki/ca/openssl.cnf" -batch -notext \
	-in "$T/pki/soon.csr" -out "$T/pki/soon.crt" -enddate "$(date -u -d "@$end" +%y%m%d%H%M%SZ)" \
	>/dev/null 2>&1 || fail "openssl ca -enddate failed"
write_conf chiyoda2 131016 22891 22892 22893 130001 22862
sed -i -e "s|\"$JGW_TEST_PKI/131016.crt\"|\"$T/pki/soon.crt\"|" \
	-e "s|\"$JGW_TEST_PKI/131016.key\"|\"$T/pki/soon.key\"|" "$T/chiyoda2/jgw.conf"
grep -q soon.crt "$T/chiyoda2/jgw.conf" || fail "certificate line not replaced"
start_jgwd chiyoda2
"$JGW_NODE" send --connect 127.0.0.1:22891 --from 131016 --to 130001 \
	--type honnin-tsuchi --expect ack --hold 30 --timeout 40 >>"$T/held.log" 2>&1 &
JG_PIDS+=($!)
held_up() { "$JGWCTL" -s "$T/tokyo/control.sock" peers | grep -q '^tunnel .* peer 131016 .* frames_in [1-9]'; }
past() { [ "$(date -u +%s)" -gt "$1" ]; }
until held_up; do
	past "$end" && fail "the tunnel with the short-lived certificate did not come up while it was valid"
	sleep 0.1
done
wait_for 300 past $((end + 1)) || fail "the clock did not pass the certificate's end"
[ "$(tunnels)" = 1 ] || fail "the tunnel ended by itself before the reload"
ctl tokyo reload >/dev/null || fail "plain reload rejected"
closed_with cert-expired
stop_jgwd chiyoda || fail "chiyoda exited non-zero"
stop_jgwd chiyoda2 || fail "chiyoda2 exited non-zero"
stop_jgwd tokyo || fail "tokyo exited non-zero"
exit 0
