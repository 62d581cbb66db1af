# A reload whose CRL revokes the certificate of a live tunnel's peer closes
# that tunnel (audited cert-revoked); the next handshake of that peer is
# refused; an unrelated reload leaves live tunnels alone.
. "$(dirname "$0")/lib.sh"
: "${JGW_NODE:?}"

# 千代田区 presents bad/revoked (identity 131016, listed in crl.pem).
write_conf chiyoda 131016 22301 22302 22303 130001 22312 bad/revoked
write_conf tokyo   130001 22311 22312 22313 131016 22302
cp "$T/tokyo/jgw.conf" "$T/tokyo/nocrl.conf"
start_jgwd chiyoda
start_jgwd tokyo
"$JGW_NODE" serve --listen 127.0.0.1:22313 --node 130001 >"$T/juki.log" 2>&1 &
JG_PIDS+=($!)
wait_for 50 bash -c "exec 3<>/dev/tcp/127.0.0.1/22313" || fail "site server did not start"

"$JGW_NODE" send --connect 127.0.0.1:22301 --from 131016 --to 130001 \
	--type honnin-tsuchi --expect ack --hold 30 --timeout 40 >"$T/held.log" 2>&1 &
held=$!
JG_PIDS+=($held)
wait_for 100 bash -c "'$JGWCTL' -s '$T/tokyo/control.sock' peers | grep -q '^tunnel .* peer 131016 .* frames_in [1-9]'" \
	|| fail "held tunnel did not come up"

ctl tokyo reload >/dev/null || fail "plain reload failed"
ctl tokyo peers | grep -q '^tunnel .* peer 131016 .*generation 1 ' \
	|| fail "an unrelated reload closed the live tunnel (or changed its generation)"

echo "tls { crl \"$JGW_TEST_PKI/crl.pem\"; }" >>"$T/tokyo/jgw.conf"
ctl tokyo reload >/dev/null || fail "reload with the CRL failed"
wait_for 50 bash -c "! '$JGWCTL' -s '$T/tokyo/control.sock' peers | grep -q '^tunnel '" \
	|| fail "tunnel of the revoked peer still open"
wait_for 30 audit_has tokyo '"event":"tunnel".*"state":"close".*"reason":"cert-revoked"' \
	|| fail "no close record with reason cert-revoked"
"$JGW_NODE" send --connect 127.0.0.1:22301 --from 131016 --to 130001 \
	--type honnin-tsuchi --expect close --timeout 10 >/dev/null 2>&1 \
	|| fail "the revoked peer got through after the reload"
wait_for 30 audit_has tokyo '"event":"tunnel".*"state":"reject".*"reason":"cert-revoked"' \
	|| fail "no reject record for the revoked peer's new handshake"
exit 0
