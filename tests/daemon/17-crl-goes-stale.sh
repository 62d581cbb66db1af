# Under the fail-closed CRL policy, a CRL that goes stale while jgwd runs
# ends the live tunnels too (audited crl-stale, found by the periodic stats
# timer), not only the handshakes that come after it; under fail-open the
# tunnels stay.
. "$(dirname "$0")/lib.sh"
: "${JGW_NODE:?}"

# A CRL whose nextUpdate is a few seconds away, from a copy of the CA. The
# tunnel must come up while it is fresh (the CRL's own life bounds that
# wait); the close is waited for with a generous deadline.
cp -a "$JGW_TEST_PKI" "$T/pki"
sed -i "s|$JGW_TEST_PKI|$T/pki|g" "$T/pki/ca/openssl.cnf"
end=$(date -u -d '+12 sec' +%s)
soon=$(date -u -d "@$end" +%y%m%d%H%M%SZ)
openssl ca -config "$T/pki/ca/openssl.cnf" -gencrl -crl_nextupdate "$soon" -out "$T/soon.pem" \
	>/dev/null 2>&1 || fail "openssl ca -gencrl -crl_nextupdate failed"

write_conf chiyoda 131016 22871 22872 22873 130001 22882
write_conf tokyo   130001 22881 22882 22883 131016 22872 130001 \
	"tls { crl \"$T/soon.pem\"; crl-policy fail-closed; }"
start_jgwd chiyoda
start_jgwd tokyo
"$JGW_NODE" serve --listen 127.0.0.1:22883 --node 130001 >"$T/juki.log" 2>&1 &
JG_PIDS+=($!)
wait_for 50 bash -c "exec 3<>/dev/tcp/127.0.0.1/22883" || fail "site server did not start"

"$JGW_NODE" send --connect 127.0.0.1:22871 --from 131016 --to 130001 \
	--type honnin-tsuchi --expect ack --hold 30 --timeout 40 >"$T/held.log" 2>&1 &
JG_PIDS+=($!)
held_up() { "$JGWCTL" -s "$T/tokyo/control.sock" peers | grep -q '^tunnel .* peer 131016 .* frames_in [1-9]'; }
until held_up; do
	[ "$(date -u +%s)" -lt "$end" ] || fail "held tunnel did not come up while the CRL was fresh"
	sleep 0.1
done
wait_for 300 audit_has tokyo '"event":"tunnel".*"state":"close".*"peer":"131016".*"reason":"crl-stale"' \
	|| fail "the live tunnel was not closed (crl-stale) when its CRL went stale"
wait_for 30 bash -c "! '$JGWCTL' -s '$T/tokyo/control.sock' peers | grep -q '^tunnel '" \
	|| fail "a tunnel is still listed after the CRL went stale"
grep -q 'CRL stale (fail-closed): 1 tunnel closed' "$T/tokyo/jgwd.log" || fail "no log line for the close"
"$JGW_NODE" send --connect 127.0.0.1:22871 --from 131016 --to 130001 \
	--type honnin-tsuchi --expect close --timeout 10 >/dev/null 2>&1 \
	|| fail "a new tunnel got through with a stale CRL"

# fail-open: the same stale CRL leaves the tunnels alone.
sed -i 's/crl-policy fail-closed;/crl-policy fail-open;/' "$T/tokyo/jgw.conf"
ctl tokyo reload >/dev/null || fail "reload to fail-open rejected"
"$JGW_NODE" send --connect 127.0.0.1:22871 --from 131016 --to 130001 \
	--type honnin-tsuchi --expect ack --hold 3 --timeout 10 >"$T/open.log" 2>&1 \
	|| fail "fail-open: the tunnel did not live through its hold"
grep -q 'hold: still open' "$T/open.log" || fail "fail-open: the tunnel was closed during its hold"
stop_jgwd chiyoda || fail "chiyoda exited non-zero"
stop_jgwd tokyo || fail "tokyo exited non-zero"
exit 0
